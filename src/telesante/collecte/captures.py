"""Offline collection: one capture folder per equipment, one file per command.

A capture is read only if it is a regular file whose real path (links resolved) lies under
the inventory's folder, or under the folder `telesante_captures` names when that one lies
outside the inventory: a link to /etc/shadow, a FIFO, a folder or a device makes the
equipment incomplete, and nothing of it is read or quoted. A capture larger than
`TAILLE_MAX_CAPTURE` is refused before it is read.
"""

from __future__ import annotations

import errno
import os
import stat
from datetime import datetime
from pathlib import Path

from telesante.collecte.contrat import Annexe, fichier_capture
from telesante.collecte.plateformes import lectures
from telesante.collecte.resultat import TAILLE_MAX_CAPTURE, ResultatCollecte, decrire_taille
from telesante.configuration import Equipement

# Written by `telesante audit --source direct --enregistrer-captures` beside the outputs of an
# equipment: one line, the moment its outputs were read (ISO 8601 with time zone, UTC).
FICHIER_DATE = "date_collecte.txt"


class _CaptureRefusee(Exception):
    """A capture that must not be read; the message names its path, never its content."""


def collecter_captures(equipement: Equipement, racine: Path | None = None) -> ResultatCollecte:
    """Read and parse every capture file of an equipment.

    `racine`: the inventory's folder, under which captures must lie (unless the equipment's
    capture folder was given outside it); without it, under the capture folder itself.
    """
    resultat = ResultatCollecte(equipement)
    folder = equipement.captures
    if folder is None:
        resultat.problemes.append("dossier de captures introuvable")
        return resultat
    try:
        root = _racine_permise(folder, racine)
        if not stat.S_ISDIR(os.stat(folder).st_mode):
            raise _CaptureRefusee(f"{folder} : dossier de captures attendu, ce n'est pas un dossier")
        _sous(folder, root)
        os.stat(os.path.join(folder, "."))  # may it be traversed?
    except FileNotFoundError:
        resultat.problemes.append(f"{folder} : dossier de captures introuvable")
        return resultat
    except PermissionError:
        resultat.problemes.append(f"{folder} : dossier de captures illisible (permission refusée)")
        return resultat
    except (OSError, _CaptureRefusee) as exc:
        resultat.problemes.append(_message(folder, exc))
        return resultat
    for lecture in lectures(equipement.plateforme):
        path = folder / lecture.fichier
        try:
            texte = _lire(path, root)
            if texte is None:
                if not lecture.capture_seulement:
                    resultat.problemes.append(f"{path} : capture manquante (« {lecture.commande} »)")
                continue
            # An annex's capture may be missing: its parser says whether the read needs it.
            annexes = {}
            for commande in lecture.annexes:
                annex_path = folder / fichier_capture(commande)
                annexes[commande] = Annexe(_lire(annex_path, root), str(annex_path))
        except (OSError, _CaptureRefusee) as exc:
            resultat.problemes.append(_message(path, exc))
            continue
        resultat.analyser(lecture, texte, str(path), annexes)
    _lire_date(folder, root, resultat)
    return resultat


def _lire_date(folder: Path, root: str, resultat: ResultatCollecte) -> None:
    """The collection date recorded with the captures (FICHIER_DATE), if there is one."""
    path = folder / FICHIER_DATE
    try:
        texte = _lire(path, root)
    except (OSError, _CaptureRefusee) as exc:
        resultat.problemes.append(_message(path, exc))
        return
    if texte is None:
        return
    try:
        moment = datetime.fromisoformat(texte.strip())
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        resultat.problemes.append(f"{path} : date de collecte illisible (attendu : une date ISO 8601 avec fuseau)")
        return
    resultat.dater(moment, "collecte enregistrée", str(path))


def _racine_permise(folder: Path, racine: Path | None) -> str:
    """Real path of the folder captures must lie under."""
    if racine is not None:
        inventory = os.path.abspath(racine)
        if os.path.commonpath([inventory, os.path.abspath(folder)]) == inventory:
            return os.path.realpath(racine)
    return os.path.realpath(folder)


def _sous(folder: Path, root: str) -> None:
    if os.path.commonpath([root, os.path.realpath(folder)]) != root:
        raise _CaptureRefusee(f"{folder} : dossier de captures hors du dossier de l'inventaire (lien symbolique ?) : "
                              "refusé")


def _lire(path: Path, root: str) -> str | None:
    """A capture's text; None if it does not exist. OSError or _CaptureRefusee if it must not be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(path):  # a link to nothing: not a missing capture
            raise _CaptureRefusee(f"{path} : lien symbolique vers un fichier absent : capture refusée") from None
        return None
    try:
        info = os.fstat(fd)
        # The file actually opened, whatever its path became since (links resolved by the kernel).
        real = os.readlink(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else os.path.realpath(path)
        if os.path.commonpath([root, real]) != root:
            raise _CaptureRefusee(f"{path} : capture hors du dossier de l'inventaire (lien symbolique ?) : refusée, "
                                  "rien n'en est lu")
        if not stat.S_ISREG(info.st_mode):
            raise _CaptureRefusee(f"{path} : capture refusée, ce n'est pas un fichier ordinaire ({_genre(info.st_mode)})")
        if info.st_size > TAILLE_MAX_CAPTURE:
            raise _CaptureRefusee(f"{path} : {decrire_taille(info.st_size)}")
        chunks, size = [], 0
        while size <= TAILLE_MAX_CAPTURE and (chunk := os.read(fd, TAILLE_MAX_CAPTURE + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        data = b"".join(chunks)
    finally:
        os.close(fd)
    if len(data) > TAILLE_MAX_CAPTURE:  # grew while it was read
        raise _CaptureRefusee(f"{path} : {decrire_taille(len(data))}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _CaptureRefusee(f"{path}, ligne {line} : capture illisible, ce n'est pas du texte UTF-8 "
                              "(fichier binaire ou autre encodage ?)") from None


def _genre(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "dossier"), (stat.S_ISFIFO, "tube nommé"), (stat.S_ISSOCK, "socket"),
             (stat.S_ISCHR, "périphérique"), (stat.S_ISBLK, "périphérique"))
    return next((name for test, name in kinds if test(mode)), "fichier spécial")


def _message(path: Path, exc: BaseException) -> str:
    """French message for a capture that could not be read."""
    if isinstance(exc, _CaptureRefusee):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"{path} : capture illisible (permission refusée)"
    if getattr(exc, "errno", None) == errno.ELOOP:
        return f"{path} : capture illisible (boucle de liens symboliques)"
    return f"{path} : capture illisible ({getattr(exc, 'strerror', None) or type(exc).__name__})"
