"""The queue of alerts stored in the history: the alerts not yet sent, and each attempt noted."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from telesante.historique.stockage import DELAI_ATTENTE, ErreurHistorique, _raison, _tables, _verrouille


def _modifier(fichier: Path, fonction, delai: float = DELAI_ATTENTE):
    """Run `fonction(connection)` in one write transaction of an existing history, waiting for a lock."""
    fin = time.monotonic() + delai
    while True:
        try:
            connection = sqlite3.connect(f"{fichier.resolve().as_uri()}?mode=rw", uri=True,
                                         timeout=max(0.0, fin - time.monotonic()), isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    resultat = fonction(connection)
                    connection.execute("COMMIT")
                    return resultat
                finally:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
            finally:
                connection.close()
        except sqlite3.Error as exc:
            if _verrouille(exc) and time.monotonic() < fin:
                time.sleep(0.05)
                continue
            raise ErreurHistorique(f"{fichier} : file des alertes inaccessible ({_raison(exc)})") from exc


def alertes_en_attente(fichier: Path) -> list[dict]:
    """The queued alerts not yet sent, oldest first (id, passage, canal, contenu, tentatives)."""
    def lire(connection):
        if "alertes" not in _tables(connection):
            return []
        return [{"id": i, "passage": p, "canal": c, "contenu": json.loads(t), "tentatives": n}
                for i, p, c, t, n in connection.execute(
                    "SELECT id, passage_id, canal, contenu, tentatives FROM alertes WHERE etat = 'en_attente' "
                    "ORDER BY id")]
    return _modifier(fichier, lire)


def noter_envoi(fichier: Path, identifiant: int, erreur: str | None, quand: str, abandon: bool = False) -> None:
    """Mark a queued alert sent (erreur None: never sent again), failed once more (kept for the next
    run), or given up (abandon: its channel is no longer declared)."""
    def noter(connection):
        if abandon:
            connection.execute("UPDATE alertes SET etat = 'abandonnee', derniere_erreur = ? WHERE id = ?",
                               (erreur, identifiant))
        elif erreur is None:
            connection.execute("UPDATE alertes SET etat = 'envoyee', envoyee = ?, tentatives = tentatives + 1, "
                               "derniere_erreur = NULL WHERE id = ?", (quand, identifiant))
        else:
            connection.execute("UPDATE alertes SET tentatives = tentatives + 1, derniere_erreur = ? WHERE id = ?",
                               (erreur, identifiant))
    _modifier(fichier, noter)
