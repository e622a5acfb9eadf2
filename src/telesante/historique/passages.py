"""A stored run read back as the changes need it (`changements.Precedent`), and the trend of the last nights."""

from __future__ import annotations

import json
import sqlite3

from telesante import changements, retention
from telesante.historique.stockage import COLONNES_CONSTAT, _tables


def _constat_de_ligne(colonnes: tuple, preuves: str, complement: str | None) -> dict:
    """A finding rebuilt as the report document writes it, from its row."""
    gravite, type_, statut, message, reseau, site, mac = colonnes
    suite = json.loads(complement) if complement else {}
    evidence = json.loads(preuves)
    return {"gravite": gravite, "type": type_, "statut": statut, "message": message, "reseau": reseau, "site": site,
            "mac": mac, "fabricant": suite.get("fabricant"),
            "identification": suite.get("identification", {"signature": None, "categorie": None, "motifs": []}),
            "ips": evidence.get("ips", []), "vlans": evidence.get("vlans", []),
            "emplacements": evidence.get("emplacements", []), "noms_hote": evidence.get("noms_hote", []),
            "services_mdns": suite.get("services_mdns", []), "sources": evidence.get("sources", []),
            "vu_le": suite.get("vu_le"), "derogation": suite.get("derogation")}


def _passage(connection: sqlite3.Connection, passage: int, latents: bool = False) -> changements.Precedent | None:
    """One stored run, as the changes need it; None if there is no such run. With `latents`, the
    findings it carried (not seen that night on an incomplete network) count as still there."""
    row = connection.execute("SELECT id, debut FROM passages WHERE id = ?", (passage,)).fetchone()
    if row is None:
        return None
    tables = _tables(connection)
    nuit_row = (connection.execute("SELECT nuit FROM nuits WHERE passage_id = ?", (passage,)).fetchone()
                if "nuits" in tables else None)
    date_passage = retention.nuit(row[1])
    nuit = nuit_row[0] if nuit_row else (date_passage.isoformat() if date_passage else "")
    colonnes = {r[1] for r in connection.execute("PRAGMA table_info(constats)")}
    suivi = ", cle, premiere_vue, nuits, complement" if "cle" in colonnes else ", NULL, NULL, NULL, NULL"
    constats: dict[str, changements.Suivi] = {}
    for ligne in connection.execute(f"SELECT {', '.join(COLONNES_CONSTAT)}, preuves{suivi} FROM constats "
                                    "WHERE passage_id = ?", (passage,)):
        if ligne[8] is None:  # written before findings were keyed: rebuilt now, to compute its key
            constat = _constat_de_ligne(ligne[:7], ligne[7], ligne[11])
            constats.setdefault(changements.cle_constat(constat), changements.Suivi(nuit, 1, constat))
        elif ligne[8] not in constats:
            constats[ligne[8]] = changements.Suivi(
                ligne[9], ligne[10], gravite=ligne[0], statut=ligne[2],
                fabrique=lambda ligne=ligne: _constat_de_ligne(ligne[:7], ligne[7], ligne[11]))
    isolement: dict[str, changements.Suivi] = {}
    if "constats_isolement" in tables:
        for cle, premiere_vue, nuits, texte in connection.execute(
                "SELECT cle, premiere_vue, nuits, constat FROM constats_isolement WHERE passage_id = ?", (passage,)):
            isolement[cle] = changements.Suivi(premiere_vue, nuits, json.loads(texte))
    if latents and "constats_latents" in tables:
        for cle, premiere_vue, nuits, texte in connection.execute(
                "SELECT cle, premiere_vue, nuits, constat FROM constats_latents WHERE passage_id = ?", (passage,)):
            constats.setdefault(cle, changements.Suivi(premiere_vue, nuits, json.loads(texte)))
    equipements = dict(connection.execute("SELECT nom, statut FROM equipements WHERE passage_id = ?", (passage,)))
    reseaux = None
    if nuit_row is not None:
        reseaux = dict(connection.execute("SELECT nom, statut FROM reseaux WHERE passage_id = ? AND mission = 1",
                                          (passage,)))
    return changements.Precedent(passage, row[1], nuit, constats, isolement, equipements, reseaux)


def _tendance(connection: sqlite3.Connection, nombre: int) -> list[dict]:
    """The last `nombre` nights with a run, oldest first: each night's last run, its active findings
    per mission network and its unread equipment."""
    tables = _tables(connection)
    jointure = "LEFT JOIN nuits n ON n.passage_id = p.id" if "nuits" in tables else ""
    colonnes = "n.nuit, n.equipements_non_lus" if "nuits" in tables else "NULL, NULL"
    derniers: dict[str, tuple] = {}
    for passage, debut, nuit, non_lus in connection.execute(
            f"SELECT p.id, p.debut, {colonnes} FROM passages p {jointure} ORDER BY p.id"):
        if nuit is None:
            date_passage = retention.nuit(debut)
            if date_passage is None:
                continue  # undatable: not placed on the trend
            nuit = date_passage.isoformat()
        derniers[nuit] = (passage, non_lus)
    points = []
    for nuit in sorted(derniers)[-nombre:]:
        passage, non_lus = derniers[nuit]
        if non_lus is not None:
            reseaux = {nom: {"critiques": critiques, "a_verifier": a_verifier} for nom, critiques, a_verifier in
                       connection.execute("SELECT nom, critiques, a_verifier FROM reseaux WHERE passage_id = ? "
                                          "AND mission = 1", (passage,))}
        else:  # a run written before the trend was kept: counted from its findings
            reseaux = {}
            for nom, gravite, nombre_ in connection.execute(
                    "SELECT reseau, gravite, COUNT(*) FROM constats WHERE passage_id = ? AND statut = 'actif' "
                    "GROUP BY reseau, gravite", (passage,)):
                compte = reseaux.setdefault(nom, {"critiques": 0, "a_verifier": 0})
                compte["critiques" if gravite == "critique" else "a_verifier"] += nombre_
            non_lus = connection.execute("SELECT COUNT(*) FROM equipements WHERE passage_id = ? AND "
                                         "statut = 'incomplet'", (passage,)).fetchone()[0]
        points.append({"date": nuit, "reseaux": reseaux, "equipements_non_lus": non_lus})
    return points
