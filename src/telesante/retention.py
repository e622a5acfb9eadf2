"""Rotation of the audit history (SQLite): keep the last N nights, then VACUUM.

A *night* is the calendar date of a run's start (``passages.debut``, ISO 8601,
in the offset it was recorded with). Retention counts nights **that have a
run**: a server stopped for a month keeps its history, and a clock set wrong
cannot empty the base in one pass. A run whose date cannot be read is kept
(fail closed: nothing is deleted that cannot be dated).

Every table that references ``passages(id)`` by a foreign key (constats,
equipements, and any table added later the same way) loses the rows of the
deleted runs, in the same transaction as the runs themselves; ``VACUUM``
then gives the space back to the file system.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Iterable


class ErreurRetention(Exception):
    """The history cannot be rotated (message in French, names the file)."""


@dataclass(frozen=True)
class BilanRetention:
    """What one rotation did (sizes in bytes, base file plus its WAL journal)."""

    passages_supprimes: int
    passages_conserves: int
    nuits_conservees: int
    premiere_nuit_conservee: date | None
    taille_avant: int
    taille_apres: int


def nuit(debut: str) -> date | None:
    """The night of a run: the date of its ISO 8601 start, or None if unreadable."""
    try:
        return datetime.fromisoformat(debut).date()
    except (TypeError, ValueError):
        return None


def passages_hors_retention(passages: Iterable[tuple[int, str]], conserver_nuits: int) -> list[int]:
    """Ids of the runs to delete so that only the last ``conserver_nuits`` nights with a run remain.

    ``passages`` holds ``(id, debut)`` pairs. Runs whose start cannot be dated are
    never selected. ``conserver_nuits`` must be a positive integer.
    """
    if isinstance(conserver_nuits, bool) or not isinstance(conserver_nuits, int) or conserver_nuits < 1:
        raise ValueError(f"nombre de nuits à conserver invalide : {conserver_nuits!r} (entier ≥ 1 attendu)")
    dates = [(identifiant, nuit(debut)) for identifiant, debut in passages]
    nuits = sorted({n for _, n in dates if n is not None}, reverse=True)
    if len(nuits) <= conserver_nuits:
        return []
    limite = nuits[conserver_nuits - 1]
    return sorted(identifiant for identifiant, n in dates if n is not None and n < limite)


def _taille(fichier: Path) -> int:
    total = 0
    for chemin in (fichier, fichier.with_name(fichier.name + "-wal")):
        try:
            total += chemin.stat().st_size
        except FileNotFoundError:
            pass
    return total


def _tables_dependantes(connexion: sqlite3.Connection) -> list[tuple[str, str]]:
    """(table, column) pairs holding a foreign key to passages(id)."""
    tables = [nom for (nom,) in connexion.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    dependantes = []
    for table in tables:
        for cle in connexion.execute("SELECT \"table\", \"from\" FROM pragma_foreign_key_list(?)", (table,)):
            if cle[0] == "passages":
                dependantes.append((table, cle[1]))
    return dependantes


def _identifiant_sql(nom: str) -> str:
    return '"' + nom.replace('"', '""') + '"'


def appliquer_retention(fichier: Path, conserver_nuits: int) -> BilanRetention:
    """Delete the runs older than the last ``conserver_nuits`` nights, then VACUUM the base.

    The deletion is one transaction (all or nothing). Raises ErreurRetention if
    the file is missing, is not a telesante history, or cannot be written.
    """
    fichier = Path(fichier)
    if not fichier.is_file():
        raise ErreurRetention(f"{fichier} : historique introuvable")
    taille_avant = _taille(fichier)
    try:
        connexion = sqlite3.connect(f"{fichier.resolve().as_uri()}?mode=rw", uri=True, timeout=30,
                                    isolation_level=None)
    except sqlite3.Error as exc:
        raise ErreurRetention(f"{fichier} : historique illisible ({exc})") from exc
    try:
        try:
            if connexion.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'passages'"
                                 ).fetchone() is None:
                raise ErreurRetention(f"{fichier} : ce n'est pas un historique telesante (table passages absente)")
            passages = connexion.execute("SELECT id, debut FROM passages").fetchall()
            a_supprimer = passages_hors_retention(passages, conserver_nuits)
            if a_supprimer:
                connexion.execute("BEGIN IMMEDIATE")
                try:
                    connexion.execute("CREATE TEMP TABLE retention_a_supprimer (id INTEGER PRIMARY KEY)")
                    connexion.executemany("INSERT INTO retention_a_supprimer VALUES (?)",
                                          [(i,) for i in a_supprimer])
                    for table, colonne in _tables_dependantes(connexion):
                        connexion.execute(f"DELETE FROM {_identifiant_sql(table)} WHERE "
                                          f"{_identifiant_sql(colonne)} IN (SELECT id FROM retention_a_supprimer)")
                    connexion.execute("DELETE FROM passages WHERE id IN (SELECT id FROM retention_a_supprimer)")
                    connexion.execute("DROP TABLE retention_a_supprimer")
                    connexion.execute("COMMIT")
                except BaseException:
                    connexion.execute("ROLLBACK")
                    raise
            supprimes = set(a_supprimer)
            conserves = [nuit(debut) for identifiant, debut in passages if identifiant not in supprimes]
        except sqlite3.DatabaseError as exc:
            raise ErreurRetention(f"{fichier} : rotation impossible ({exc}) ; aucun passage supprimé") from exc
        try:
            connexion.execute("VACUUM")
            connexion.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.DatabaseError as exc:
            raise ErreurRetention(f"{fichier} : {len(a_supprimer)} passage(s) supprimé(s), mais VACUUM "
                                  f"impossible ({exc}) ; la place sera rendue au prochain VACUUM") from exc
    finally:
        connexion.close()
    nuits_conservees = {n for n in conserves if n is not None}
    return BilanRetention(
        passages_supprimes=len(a_supprimer),
        passages_conserves=len(conserves),
        nuits_conservees=len(nuits_conservees),
        premiere_nuit_conservee=min(nuits_conservees) if nuits_conservees else None,
        taille_avant=taille_avant,
        taille_apres=_taille(fichier),
    )
