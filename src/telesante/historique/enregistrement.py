"""Writing one run (one night) to the history: its changes, trend and queued alerts.

Writing (`telesante audit --historique`): one transaction per run, taken before any read
(BEGIN IMMEDIATE), WAL journal; an interrupted or failing write never damages the runs
already stored. SQLite answers « database is locked » at once, without waiting, in a few
races between processes that create the same file (switch to WAL, a read turned into a
write): the whole opening and writing is then tried again, up to DELAI_ATTENTE.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from telesante import changements
from telesante.historique.stockage import (
    COLONNES_CONSTAT, DELAI_ATTENTE, PREUVES, SCHEMA, ErreurHistorique, _completer_schema, _entete, _raison,
    _raison_systeme, _verifier_schema, _verrouille,
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
