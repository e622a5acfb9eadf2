"""History of audit runs in SQLite: every run, its verdict, its findings and unread equipment.

One transaction per run: an interrupted or failing write never damages the runs
already stored (SQLite's atomic commit, WAL journal).
"""

from __future__ import annotations

import json
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


class ErreurHistorique(Exception):
    """The history file cannot be opened or written (message in French)."""


def _ouvrir(fichier: Path) -> sqlite3.Connection:
    try:
        fichier.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(fichier, timeout=10)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.executescript(SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise ErreurHistorique(f"{fichier} : historique illisible ({exc})") from exc
    return connection


def enregistrer(fichier: Path, document: dict) -> int:
    """Store one run (the report document) in a single transaction; return its id."""
    connection = _ouvrir(fichier)
    try:
        with connection:
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
    except sqlite3.DatabaseError as exc:
        raise ErreurHistorique(f"{fichier} : écriture impossible ({exc}) ; les passages déjà enregistrés sont intacts") from exc
    finally:
        connection.close()


def derniers_passages(fichier: Path, nombre: int = 10) -> list[dict]:
    """The last runs, newest first, with their counts of active findings."""
    if not fichier.exists():
        raise ErreurHistorique(f"{fichier} : historique introuvable")
    connection = _ouvrir(fichier)
    try:
        rows = connection.execute(
            "SELECT p.id, p.debut, p.mode, p.code_sortie, p.statut, p.interrompu,"
            " (SELECT COUNT(*) FROM constats c WHERE c.passage_id = p.id AND c.statut = 'actif'),"
            " (SELECT COUNT(*) FROM equipements e WHERE e.passage_id = p.id AND e.statut = 'incomplet')"
            " FROM passages p ORDER BY p.id DESC LIMIT ?", (nombre,),
        ).fetchall()
    finally:
        connection.close()
    keys = ("id", "debut", "mode", "code_sortie", "statut", "interrompu", "constats_actifs", "equipements_incomplets")
    return [dict(zip(keys, row)) for row in rows]
