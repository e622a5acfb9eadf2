"""The history's storage: SQLite schema, header and schema checks, lock and French reasons of a failure."""

from __future__ import annotations

import errno
import sqlite3
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

# Added with the changes of the night (issue 16). `constats_latents`: findings of the previous run not
# seen tonight on a network that is incomplete tonight (perhaps still there): carried to the next run,
# so that a finding back after a night its switch could not be read is not « nouveau » (nor alerted) again. Created in every write when missing, so an
# older history keeps its runs and gains these; every table refers to passages(id), so the
# rotation (telesante.retention) deletes their rows with their run.
SCHEMA_NUIT = """
CREATE TABLE IF NOT EXISTS nuits (
    passage_id INTEGER PRIMARY KEY REFERENCES passages(id),
    nuit TEXT NOT NULL,
    equipements_non_lus INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reseaux (
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    nom TEXT NOT NULL,
    site TEXT NOT NULL,
    mission INTEGER NOT NULL,
    statut TEXT NOT NULL,
    critiques INTEGER NOT NULL,
    a_verifier INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS constats_isolement (
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    cle TEXT NOT NULL,
    premiere_vue TEXT NOT NULL,
    nuits INTEGER NOT NULL,
    gravite TEXT NOT NULL,
    statut TEXT NOT NULL,
    constat TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alertes (
    id INTEGER PRIMARY KEY,
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    canal TEXT NOT NULL,
    contenu TEXT NOT NULL,
    etat TEXT NOT NULL,
    tentatives INTEGER NOT NULL DEFAULT 0,
    derniere_erreur TEXT,
    envoyee TEXT
);
CREATE TABLE IF NOT EXISTS constats_latents (
    passage_id INTEGER NOT NULL REFERENCES passages(id),
    cle TEXT NOT NULL,
    premiere_vue TEXT NOT NULL,
    nuits INTEGER NOT NULL,
    gravite TEXT NOT NULL,
    statut TEXT NOT NULL,
    constat TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS constats_par_passage ON constats(passage_id);
CREATE INDEX IF NOT EXISTS latents_par_passage ON constats_latents(passage_id);
CREATE INDEX IF NOT EXISTS reseaux_par_passage ON reseaux(passage_id);
CREATE INDEX IF NOT EXISTS isolement_par_passage ON constats_isolement(passage_id);
CREATE INDEX IF NOT EXISTS alertes_en_attente ON alertes(etat);
"""
# Columns added to constats: the finding's stable key, its first night and count of nights, and
# the rest of the finding (fabricant, identification...) so that a finding gone tomorrow can be
# shown whole.
COLONNES_SUIVI = (("cle", "TEXT"), ("premiere_vue", "TEXT"), ("nuits", "INTEGER"), ("complement", "TEXT"))
PREUVES = ("ips", "vlans", "emplacements", "noms_hote", "sources")
COLONNES_CONSTAT = ("gravite", "type", "statut", "message", "reseau", "site", "mac")


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


def _completer_schema(connection: sqlite3.Connection) -> None:
    """Add what an older history lacks (tables of the night, columns of a finding's follow-up)."""
    for statement in filter(str.strip, SCHEMA_NUIT.split(";")):
        connection.execute(statement)
    presentes = {row[1] for row in connection.execute("PRAGMA table_info(constats)")}
    for colonne, type_ in COLONNES_SUIVI:
        if colonne not in presentes:
            connection.execute(f"ALTER TABLE constats ADD COLUMN {colonne} {type_}")


def _tables(connection: sqlite3.Connection) -> set[str]:
    return {nom for (nom,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
