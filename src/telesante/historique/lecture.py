"""Reading the history: last runs, addresses seen, two runs compared, one MAC's life.

Reading (`telesante historique`): strictly read-only, nothing is created or modified, not
even beside the file; a file that is not a telesante history is refused.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from telesante import changements, retention
from telesante.historique.stockage import ErreurHistorique, _entete, _raison, _tables, _verifier_schema, _verrouille
from telesante.historique.passages import _passage


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


def _resoudre(connection: sqlite3.Connection, reference: str) -> int | None:
    """A run given by its number, or by its night (AAAA-MM-JJ: the last run of that night)."""
    if reference.isdigit():
        return int(reference)
    nuits: dict[str, int] = {}
    jointure = "LEFT JOIN nuits n ON n.passage_id = p.id" if "nuits" in _tables(connection) else ""
    colonne = "n.nuit" if jointure else "NULL"
    for passage, debut, nuit in connection.execute(f"SELECT p.id, p.debut, {colonne} FROM passages p {jointure} "
                                                   "ORDER BY p.id"):
        date_passage = retention.nuit(debut)
        nuits[nuit or (date_passage.isoformat() if date_passage else "")] = passage
    return nuits.get(reference)


def comparer(fichier: Path, avant: str, apres: str) -> tuple[changements.Precedent, changements.Precedent]:
    """Two stored runs (by number or night), strictly read-only; ErreurHistorique if one is missing."""
    def requete(uri: str, fichier_: Path, _nombre: int):
        connection = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            _verifier_schema(connection, fichier_)
            passages = []
            for reference in (avant, apres):
                numero = _resoudre(connection, reference)
                passage = None if numero is None else _passage(connection, numero)
                if passage is None:
                    raise ErreurHistorique(f"{fichier_} : aucun passage « {reference} » (numéro de passage, ou nuit "
                                           "AAAA-MM-JJ ; telesante historique les liste)")
                passages.append(passage)
            return tuple(passages)
        finally:
            connection.close()
    return _lire_protege(fichier, 0, requete)


def vie_mac(fichier: Path, mac: str) -> tuple[list[tuple[int, str]], list[dict]]:
    """Every stored run (number, night) and every finding of one MAC, oldest first (strictly read-only)."""
    def requete(uri: str, fichier_: Path, _nombre: int):
        connection = sqlite3.connect(uri, uri=True, timeout=10)
        try:
            _verifier_schema(connection, fichier_)
            avec_nuits = "nuits" in _tables(connection)
            jointure = "LEFT JOIN nuits n ON n.passage_id = p.id" if avec_nuits else ""
            colonne = "n.nuit" if avec_nuits else "NULL"
            passages = []
            for passage, debut, nuit in connection.execute(
                    f"SELECT p.id, p.debut, {colonne} FROM passages p {jointure} ORDER BY p.id"):
                date_passage = retention.nuit(debut)
                passages.append((passage, nuit or (date_passage.isoformat() if date_passage else "?")))
            colonnes = {r[1] for r in connection.execute("PRAGMA table_info(constats)")}
            suivi = "premiere_vue, nuits" if "premiere_vue" in colonnes else "NULL, NULL"
            constats = [dict(zip(("passage", "reseau", "site", "gravite", "type", "statut", "message", "preuves",
                                  "premiere_vue", "nuits"), ligne))
                        for ligne in connection.execute(
                            f"SELECT passage_id, reseau, site, gravite, type, statut, message, preuves, {suivi} "
                            "FROM constats WHERE mac = ? ORDER BY passage_id", (mac,))]
            for constat in constats:
                try:
                    constat["preuves"] = json.loads(constat["preuves"])
                except ValueError:
                    constat["preuves"] = {}
            return passages, constats
        finally:
            connection.close()
    return _lire_protege(fichier, 0, requete)
