"""Writing a file whole or not at all: the one function every writer of telesante goes through.

Reports, recorded captures, the mDNS sensor's and the isolation probe's results, the pinned host
keys: a reader (the audit, a scheduler, an admin) never finds one half written, and a previous
version stays until the new one is complete.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# The process umask, read once on import, before any thread starts (os.umask can only be read by
# setting it): imported by the command's module, in the main thread.
_MASQUE = os.umask(0o022)
os.umask(_MASQUE)


def ecrire_atomiquement(path: Path, contenu: bytes) -> None:
    """Write `path` whole or not at all: a temporary file of its own (a name no one else
    uses, so a leftover file or folder cannot get in the way), synced, then renamed."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(contenu)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_MASQUE)  # mkstemp's 0600 would hide the report from its usual readers
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def raison(exc: OSError) -> str:
    """French reason of a file system error."""
    reasons = {
        FileExistsError: "un fichier porte déjà ce nom (un dossier est attendu)",
        NotADirectoryError: "un élément du chemin est un fichier, pas un dossier",
        PermissionError: "permission refusée",
        IsADirectoryError: "un dossier porte déjà ce nom",
    }
    for kind, reason in reasons.items():
        if isinstance(exc, kind):
            return reason
    return exc.strerror or type(exc).__name__
