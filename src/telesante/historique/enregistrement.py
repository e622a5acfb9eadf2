"""Writing one run (one night) to the history: one transaction, its changes, trend and queued alerts."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telesante import changements, retention
from telesante.historique.stockage import (
    COLONNES_CONSTAT, DELAI_ATTENTE, PREUVES, SCHEMA, ErreurHistorique, _completer_schema, _entete, _raison,
    _raison_systeme, _tables, _verifier_schema, _verrouille,
)
from telesante.historique.passages import _passage, _tendance


@dataclass
class Enregistrement:
    """One run written to the history: its number, what changed since the previous run, the
    trend of the last nights (tonight included), and the alerts it queued."""

    passage: int
    changements: dict
    tendance: list[dict]
    alertes: list[int] = field(default_factory=list)


# Called inside the write transaction with the report document (changes and trend added) and
# the previous run: the content of the alert to queue, or None when nothing calls for one.
Alerteur = Callable[[dict, "Precedent | None"], "dict | None"]


def enregistrer(fichier: Path, document: dict, delai: float = DELAI_ATTENTE) -> int:
    """Store one run (the report document) in a single transaction; return its id.

    A history locked by another process is waited for up to `delai` seconds, its
    creation included; an existing base that is not a telesante history is left untouched.
    """
    return enregistrer_nuit(fichier, document, delai=delai).passage


def enregistrer_nuit(fichier: Path, document: dict, derogations: list[dict] | None = None,
                     alerteur: Alerteur | None = None, canaux: tuple[str, ...] = (),
                     delai: float = DELAI_ATTENTE) -> Enregistrement:
    """Store one run and compute, in the same transaction, its changes since the previous run
    and the trend; queue one alert per channel of `canaux` when `alerteur` asks for one.

    All or nothing: a run that cannot be written leaves no change, no alert and no trace.
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
            return _ecrire(fichier, document, max(0.0, fin - time.monotonic()), derogations or [], alerteur, canaux)
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


def _ecrire(fichier: Path, document: dict, restant: float, derogations: list[dict], alerteur: Alerteur | None,
            canaux: tuple[str, ...]) -> Enregistrement:
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
            _completer_schema(connection)
            enregistrement = _inserer(connection, document, derogations, alerteur, canaux)
            connection.execute("COMMIT")
            return enregistrement
        finally:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
    finally:
        connection.close()


def _inserer(connection: sqlite3.Connection, document: dict, derogations: list[dict], alerteur: Alerteur | None,
             canaux: tuple[str, ...]) -> Enregistrement:
    precedent = _precedent(connection)
    nuit = changements.nuit_du_document(document)
    nuit_precedente = precedent.nuit if precedent else None
    cles = [changements.cle_constat(c) for c in document["constats"]]
    du_document: dict[str, dict] = {}
    for cle, constat in zip(cles, document["constats"]):
        du_document.setdefault(cle, constat)
    suivis = changements.suivre(du_document, precedent.constats if precedent else {}, nuit, nuit_precedente)
    suivis_isolement = changements.suivre(changements.isolement_du_document(document),
                                          precedent.isolement if precedent else {}, nuit, nuit_precedente)
    cursor = connection.execute(
        "INSERT INTO passages (debut, fin, inventaire, mode, code_sortie, statut, interrompu, resume)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (document["debut"], document["fin"], document["inventaire"], document["mode"],
         document["verdict"]["code_sortie"], document["verdict"]["statut"],
         int(document["verdict"]["interrompu"]), json.dumps(document["resume"])),
    )
    run = cursor.lastrowid
    lignes = []
    for cle, c in zip(cles, document["constats"]):
        suivi = suivis[cle]
        complement = {k: v for k, v in c.items() if k not in COLONNES_CONSTAT and k not in PREUVES}
        lignes.append((run, c["reseau"], c["site"], c["mac"], c["gravite"], c["type"], c["statut"], c["message"],
                       json.dumps({k: c[k] for k in PREUVES}, ensure_ascii=False), cle, suivi.premiere_vue,
                       suivi.nuits, json.dumps(complement, ensure_ascii=False)))
    connection.executemany(
        "INSERT INTO constats (passage_id, reseau, site, mac, gravite, type, statut, message, preuves, cle,"
        " premiere_vue, nuits, complement) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", lignes)
    connection.executemany(
        "INSERT INTO constats_isolement VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run, cle, s.premiere_vue, s.nuits, s.constat["gravite"], s.constat["statut"],
          json.dumps(s.constat, ensure_ascii=False)) for cle, s in suivis_isolement.items()])
    connection.executemany(
        "INSERT INTO equipements VALUES (?, ?, ?, ?)",
        [(run, e["nom"], e["statut"], json.dumps(e["problemes"], ensure_ascii=False))
         for e in document["equipements"]],
    )
    point = changements.tendance_du_document(document)
    connection.execute("INSERT INTO nuits VALUES (?, ?, ?)", (run, nuit, point["equipements_non_lus"]))
    comptes = point["reseaux"]
    connection.executemany(
        "INSERT INTO reseaux VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(run, r["nom"], r["site"], int(r["type"] == "mission"), r["statut"],
          comptes.get(r["nom"], {}).get("critiques", 0), comptes.get(r["nom"], {}).get("a_verifier", 0))
         for r in document.get("reseaux", ())])
    enregistrement = Enregistrement(
        run, changements.calculer(document, precedent, suivis, suivis_isolement, derogations),
        _tendance(connection, changements.NUITS_TENDANCE))
    if precedent is not None:
        latents = [(cle, ancien) for cle, ancien in precedent.constats.items() if cle not in suivis
                   and ancien.constat["reseau"] in changements.reseaux_incomplets(document)]
        connection.executemany(
            "INSERT INTO constats_latents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run, cle, a.premiere_vue, a.nuits, a.gravite, a.statut, json.dumps(a.constat, ensure_ascii=False))
             for cle, a in latents])
    if alerteur is not None and canaux:
        contenu = alerteur({**document, "changements": enregistrement.changements,
                            "tendance": enregistrement.tendance}, precedent)
        if contenu is not None:
            texte = json.dumps(contenu, ensure_ascii=False)
            for canal in canaux:
                enregistrement.alertes.append(connection.execute(
                    "INSERT INTO alertes (passage_id, canal, contenu, etat) VALUES (?, ?, ?, 'en_attente')",
                    (run, canal, texte)).lastrowid)
    return enregistrement


def _precedent(connection: sqlite3.Connection) -> changements.Precedent | None:
    row = connection.execute("SELECT MAX(id) FROM passages").fetchone()
    return None if row[0] is None else _passage(connection, row[0], latents=True)


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
