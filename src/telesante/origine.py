"""Where an inventory value was written (file and line), for error messages.

ansible-core 2.19 tags every value it loads with its origin; this is the one place
that reads those tags, so a change of that internal API touches only this module.
"""

from __future__ import annotations

from pathlib import Path

try:  # ansible-core >= 2.19
    from ansible._internal._datatag._tags import Origin
except ImportError:  # pragma: no cover - older ansible-core: no line numbers
    Origin = None


def origine(valeur, racine: Path | None = None) -> str | None:
    """« fichier, ligne N » for a value loaded by Ansible, or None when unknown.

    The path is shown relative to the inventory's parent folder when possible.
    """
    if Origin is None:
        return None
    tag = Origin.get_tag(valeur)
    if tag is None or not tag.path:
        return None
    path = tag.path
    if racine is not None:
        try:
            path = str(Path(path).resolve().relative_to(Path(racine).resolve().parent))
        except ValueError:
            pass
    return f"{path}, ligne {tag.line_num}" if tag.line_num else path
