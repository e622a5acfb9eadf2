"""Where an inventory value was written (file and line), for error messages.

ansible-core 2.19 tags every value it loads with its origin; this is the one place
that reads those tags, so a change of that internal API touches only this module.
"""

from __future__ import annotations

from pathlib import Path

from ansible._internal._datatag._tags import Origin  # ansible-core >= 2.19: where each value was read


def origine(valeur) -> str | None:
    """« fichier, ligne N » for a value loaded by Ansible, or None when unknown.

    The path is shown relative to the current folder when it lies below it.
    """
    tag = Origin.get_tag(valeur)
    if tag is None or not tag.path:
        return None
    path = chemin_affiche(tag.path)
    return f"{path}, ligne {tag.line_num}" if tag.line_num else path


def chemin_affiche(chemin) -> str:
    """A path as messages show it: relative to the current folder when it lies below it."""
    try:
        return str(Path(chemin).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(chemin)


def origine_erreur(exc: BaseException) -> str | None:
    """The file (and line) that an Ansible loading error points at, searching its causes."""
    current: BaseException | None = exc
    while current is not None:
        obj = getattr(current, "obj", None)
        if obj is not None:
            where = origine(obj)
            if where is None and Origin is not None and isinstance(obj, Origin):
                where = f"{obj.path}, ligne {obj.line_num}" if obj.line_num else obj.path
            if where:
                return where
        current = current.__cause__ or current.__context__
    return None
