"""The shared folder of a distributed collection: its layout, its files, its manifests (schema manifeste-tranche-v1)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from pathlib import Path

from telesante.collecte.captures import FICHIER_DATE
from telesante.collecte.contrat import fichier_capture
from telesante.collecte.plateformes import lectures
from telesante.inerte import citer
from telesante.configuration import Equipement

CAPTURES, MANIFESTES = "captures", "manifestes"
SCHEMA = "manifeste-tranche-v1.schema.json"
TAILLE_MAX_MANIFESTE = 64 * 1024 * 1024  # 100 000 equipment with their files: a few Mio


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def fichiers_de(equipement: Equipement) -> list[str]:
    """Every capture file name a collection of this equipment may write (reads, annexes, date)."""
    noms = []
    for lecture in lectures(equipement.plateforme):
        noms.append(lecture.fichier)
        noms.extend(fichier_capture(c) for c in lecture.annexes)
    return list(dict.fromkeys([*noms, FICHIER_DATE]))


def nom_de_dossier(nom: str) -> bool:
    """True when an equipment name is one harmless path component (its capture folder under the shared folder)."""
    return nom not in ("", ".", "..") and "/" not in nom and not any(ord(c) < 32 or c == "\x7f" for c in nom)


def sha256(chemin: Path) -> str | None:
    """sha256 of a regular file (not followed through a link), None if absent or not a regular file."""
    try:
        fd = os.open(chemin, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, OSError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        somme = hashlib.sha256()
        while bloc := os.read(fd, 1 << 20):
            somme.update(bloc)
        return somme.hexdigest()
    finally:
        os.close(fd)


def ecrire_json(chemin: Path, document: dict) -> None:
    """Write a JSON file whole or not at all (temporary file of its own, synced, renamed)."""
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(dir=chemin.parent, prefix=f".{chemin.name}.", suffix=".tmp")
    try:
        with os.fdopen(descripteur, "w", encoding="utf-8") as fichier:
            json.dump(document, fichier, ensure_ascii=False, indent=1)
            fichier.write("\n")
            fichier.flush()
            os.fsync(fichier.fileno())
        os.chmod(temporaire, 0o644)
        os.replace(temporaire, chemin)
    except BaseException:
        os.unlink(temporaire)
        raise


def maintenant() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")



@cache
def _validateur():
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(resources.files("telesante.donnees").joinpath(SCHEMA).read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def lire_manifeste(chemin: Path) -> dict:
    """A manifest, validated against its schema; ValueError with a French reason otherwise."""
    try:
        fd = os.open(chemin, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(f"illisible ({exc.strerror or type(exc).__name__} ; lien symbolique ?)") from None
    with os.fdopen(fd, "rb") as fichier:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("ce n'est pas un fichier ordinaire")
        octets = fichier.read(TAILLE_MAX_MANIFESTE + 1)
    if len(octets) > TAILLE_MAX_MANIFESTE:
        raise ValueError(f"plus de {TAILLE_MAX_MANIFESTE // 2**20} Mio : refusé")
    try:
        document = json.loads(octets.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("ce n'est pas du texte UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON illisible, ligne {exc.lineno} ({exc.msg}) : manifeste coupé ?") from None
    erreur = next(iter(sorted(_validateur().iter_errors(document), key=lambda e: list(e.path))), None)
    if erreur is not None:
        ou = "/".join(str(p) for p in erreur.path) or "racine"
        raise ValueError(f"hors du format manifeste-tranche-v1 ({ou} : {citer(erreur.message, 160)})")
    for champ in ("debut", "fin"):  # jsonschema checks « date-time » only with an extra package: checked here
        if document[champ] is not None and not _date_avec_fuseau(document[champ]):
            raise ValueError(f"hors du format manifeste-tranche-v1 ({champ} : date ISO 8601 avec fuseau attendue, "
                             f"lu « {citer(document[champ], 40)} »)")
    return document


def _date_avec_fuseau(texte: str) -> bool:
    try:
        return datetime.fromisoformat(texte).utcoffset() is not None
    except ValueError:
        return False
