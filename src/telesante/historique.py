"""History of audit runs in SQLite: every run, its verdict, its findings and unread equipment.

Writing (`telesante audit --historique`): one transaction per run, taken before any read
(BEGIN IMMEDIATE), WAL journal; an interrupted or failing write never damages the runs
already stored. SQLite answers « database is locked » at once, without waiting, in a few
races between processes that create the same file (switch to WAL, a read turned into a
write): the whole opening and writing is then tried again, up to DELAI_ATTENTE.

Reading (`telesante historique`): strictly read-only, nothing is created or modified, not
even beside the file; a file that is not a telesante history is refused.
"""

from __future__ import annotations

import errno
import json
import os
import random
import sqlite3
import time
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    debut TEXT NOT NULL,
    fin TEXT NOT NULL,
    inventaire TEXT NOT NULL,
    mode TEXT NOT NULL,
    code_sortie INTEGER NOT NULL,
    statut TEXT NOT NULL,
    interrompu INTEGER NOT NULL,
    resume TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS constats (
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    reseau TEXT NOT NULL,
    site TEXT NOT NULL,
    mac TEXT,
    gravite TEXT NOT NULL,
    type TEXT NOT NULL,
    statut TEXT NOT NULL,
    message TEXT NOT NULL,
    preuves TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS equipements (
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    nom TEXT NOT NULL,
    statut TEXT NOT NULL,
    problemes TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS constats_par_mac ON constats(mac);
"""


# What the reader and the writer need: a base without these is not a telesante history.
COLONNES = {
    "passages": {"id", "debut", "fin", "inventaire", "mode", "code_sortie", "statut", "interrompu", "resume"},
    "constats": {"passage_id", "reseau", "site", "mac", "gravite", "type", "statut", "message", "preuves"},
    "equipements": {"passage_id", "nom", "statut", "problemes"},
}
DELAI_ATTENTE = 30.0  # seconds a locked history is waited for, creation included
ENTETE_SQLITE = b"SQLite format 3\x00"  # https://www.sqlite.org/fileformat.html, 1.3
_OCCUPE, _VERROUILLE = 5, 6  # SQLITE_BUSY, SQLITE_LOCKED (primary result codes)
_RAISONS = {3: "permission refusée", 8: "fichier en lecture seule", 10: "erreur d'entrée-sortie",
            11: "base endommagée", 13: "disque plein", 14: "fichier impossible à ouvrir",
            26: "ce n'est pas une base SQLite"}


_RAISONS_SYSTEME = {errno.ENOENT: "chemin introuvable", errno.EACCES: "permission refusée",
                    errno.EPERM: "permission refusée", errno.ENOTDIR: "un élément du chemin est un fichier",
                    errno.EROFS: "système de fichiers en lecture seule", errno.ENOSPC: "disque plein"}


class ErreurHistorique(Exception):
    """The history file cannot be opened or written (message in French)."""


def _verrouille(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF in (_OCCUPE, _VERROUILLE)


def _raison_systeme(exc: OSError) -> str:
    return _RAISONS_SYSTEME.get(exc.errno, exc.strerror or str(exc))


def _raison(exc: sqlite3.Error) -> str:
    return _RAISONS.get((getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF, str(exc))


def _entete(fichier: Path) -> bytes:
    """The first 100 bytes (SQLite's header), or ErreurHistorique saying why they cannot be read."""
    try:
        with open(fichier, "rb") as file:
            head = file.read(100)
    except FileNotFoundError:
        raise ErreurHistorique(f"{fichier} : historique introuvable (telesante audit --historique "
                               "le crée au premier passage)") from None
    except IsADirectoryError:
        raise ErreurHistorique(f"{fichier} : c'est un dossier, pas un historique") from None
    except OSError as exc:
        raise ErreurHistorique(f"{fichier} : historique illisible ({_raison_systeme(exc)})") from None
    if head and not head.startswith(ENTETE_SQLITE):
        raise ErreurHistorique(f"{fichier} : historique illisible : ce n'est pas une base SQLite")
    return head


def _verifier_schema(connection: sqlite3.Connection, fichier: Path) -> None:
    for table, colonnes in COLONNES.items():
        trouvees = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if not colonnes <= trouvees:
            raise ErreurHistorique(f"{fichier} : base SQLite qui n'est pas un historique telesante "
                                   f"(table « {table} » {'incomplète' if trouvees else 'absente'}) ; "
                                   "elle n'a pas été modifiée")


def enregistrer(fichier: Path, document: dict, delai: float = DELAI_ATTENTE) -> int:
    """Store one run (the report document) in a single transaction; return its id.

    A history locked by another process is waited for up to `delai` seconds, its
    creation included; an existing base that is not a telesante history is left untouched.
    """
    try:
        fichier.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ErreurHistorique(f"{fichier} : dossier de l'historique impossible à créer "
                               f"({_raison_systeme(exc)})") from None
    if fichier.exists():
        _entete(fichier)
    fin = time.monotonic() + delai
    attente = 0.01
    while True:
        try:
            return _ecrire(fichier, document, max(0.0, fin - time.monotonic()))
        except sqlite3.Error as exc:
            if _verrouille(exc) and time.monotonic() < fin:
                time.sleep(min(attente * random.uniform(0.5, 1.5), max(0.0, fin - time.monotonic())))
                attente = min(attente * 2, 0.5)
                continue
            if _verrouille(exc):
                raise ErreurHistorique(f"{fichier} : historique verrouillé par un autre processus depuis plus de "
                                       f"{delai:g} s : passage non enregistré ; les passages déjà enregistrés "
                                       "sont intacts") from exc
            raise ErreurHistorique(f"{fichier} : écriture impossible ({_raison(exc)}) ; les passages déjà "
                                   "enregistrés sont intacts") from exc


def _ecrire(fichier: Path, document: dict, restant: float) -> int:
    connection = sqlite3.connect(fichier, timeout=restant, isolation_level=None)
    try:
        if connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
            _verifier_schema(connection, fichier)  # before the switch to WAL, which writes the header
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("BEGIN IMMEDIATE")  # the write lock first: the busy timeout applies
        try:
            if connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    connection.execute(statement)
            else:
                _verifier_schema(connection, fichier)
            run = _inserer(connection, document)
            connection.execute("COMMIT")
            return run
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
    finally:
        connection.close()


def _inserer(connection: sqlite3.Connection, document: dict) -> int:
    cursor = connection.execute(
        "INSERT INTO passages (debut, fin, inventaire, mode, code_sortie, statut, interrompu, resume)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (document["debut"], document["fin"], document["inventaire"], document["mode"],
         document["verdict"]["code_sortie"], document["verdict"]["statut"],
         int(document["verdict"]["interrompu"]), json.dumps(document["resume"])),
    )
    run = cursor.lastrowid
    connection.executemany(
        "INSERT INTO constats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(run, c["reseau"], c["site"], c["mac"], c["gravite"], c["type"], c["statut"], c["message"],
          json.dumps({k: c[k] for k in ("ips", "vlans", "emplacements", "noms_hote", "sources")},
                     ensure_ascii=False)) for c in document["constats"]],
    )
    connection.executemany(
        "INSERT INTO equipements VALUES (?, ?, ?, ?)",
        [(run, e["nom"], e["statut"], json.dumps(e["problemes"], ensure_ascii=False))
         for e in document["equipements"]],
    )
    return run


def derniers_passages(fichier: Path, nombre: int = 10) -> list[dict]:
    """The last runs, newest first, with their counts of active findings (strictly read-only)."""
    rows = _lire_protege(fichier, nombre, _requete)
    keys = ("id", "debut", "mode", "code_sortie", "statut", "interrompu", "constats_actifs", "equipements_incomplets")
    return [dict(zip(keys, row)) for row in rows]


def adresses_vues(fichier: Path, nombre: int) -> list[str]:
    """The IP addresses of the findings of the last run, at most `nombre`, in the order stored (read-only)."""
    adresses: list[str] = []
    for (preuves,) in _lire_protege(fichier, nombre, _requete_preuves):
        try:
            ips = json.loads(preuves).get("ips", [])
        except (ValueError, AttributeError):
            continue
        adresses.extend(ip for ip in ips if isinstance(ip, str) and ip not in adresses)
    return adresses[:nombre]


def _lire_protege(fichier: Path, nombre: int, requete) -> list[tuple]:
    """The rows of `requete`, read strictly read-only; ErreurHistorique with a French reason."""
    head = _entete(fichier)
    if not head:
        raise ErreurHistorique(f"{fichier} : fichier vide, ce n'est pas un historique telesante")
    try:
        return _lire(fichier, nombre, wal=head[18:20] == b"\x02\x02", requete=requete)
    except sqlite3.Error as exc:
        if _verrouille(exc):
            raise ErreurHistorique(f"{fichier} : historique verrouillé par un autre processus, "
                                   "réessayez dans un instant") from exc
        raise ErreurHistorique(f"{fichier} : historique illisible ({_raison(exc)})") from exc


def _lire(fichier: Path, nombre: int, wal: bool, requete) -> list[tuple]:
    """Read without writing anything. `mode=ro` alone is not enough for a WAL base: it
    creates (and leaves) the -wal and -shm files beside it, and fails in a read-only folder.
    With no -wal file there is no writer: the file is read as immutable, then read again in
    mode=ro if it changed meanwhile (a writer came)."""
    uri = fichier.resolve().as_uri()
    journal = Path(f"{fichier}-wal")
    if wal and not journal.exists():
        before = _etat(fichier)
        rows = requete(f"{uri}?immutable=1", fichier, nombre)
        if not journal.exists() and _etat(fichier) == before:
            return rows
    return requete(f"{uri}?mode=ro", fichier, nombre)


def _etat(fichier: Path) -> tuple:
    stat = os.stat(fichier)
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _requete(uri: str, fichier: Path, nombre: int) -> list[tuple]:
    connection = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        _verifier_schema(connection, fichier)
        return connection.execute(
            "SELECT p.id, p.debut, p.mode, p.code_sortie, p.statut, p.interrompu,"
            " (SELECT COUNT(*) FROM constats c WHERE c.passage_id = p.id AND c.statut = 'actif'),"
            " (SELECT COUNT(*) FROM equipements e WHERE e.passage_id = p.id AND e.statut = 'incomplet')"
            " FROM passages p ORDER BY p.id DESC LIMIT ?", (nombre,),
        ).fetchall()
    finally:
        connection.close()


def _requete_preuves(uri: str, fichier: Path, nombre: int) -> list[tuple]:
    connection = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        _verifier_schema(connection, fichier)
        return connection.execute(
            "SELECT preuves FROM constats WHERE passage_id = (SELECT MAX(id) FROM passages) LIMIT ?", (nombre,),
        ).fetchall()
    finally:
        connection.close()
