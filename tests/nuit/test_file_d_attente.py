"""The queue of alerts kept in the history, against a real HTTP receiver: queued in the run's own
transaction, retried until it leaves, never sent twice, given up when its channel is removed;
the same night run twice alerts once; an unwritable history queues nothing."""

from __future__ import annotations

import io
import sqlite3

import pytest
from rich.console import Console

from telesante.alertes.configuration import ConfigurationAlertes, Webhook
from telesante.alertes.envoi import envoyer_en_attente
from telesante.alertes.evenements import evenements
from telesante.historique import ErreurHistorique, enregistrer_nuit


def _document(nuit: str, statut: str, macs: list[str]) -> dict:
    return {"debut": f"{nuit}T02:00:00+00:00", "fin": f"{nuit}T02:01:00+00:00", "date_reference": nuit,
            "inventaire": "i", "mode": "captures", "resume": {}, "equipements": [],
            "verdict": {"code_sortie": 1, "statut": statut, "signification": "s", "interrompu": False},
            "reseaux": [{"nom": "mission-nord", "site": "nord", "type": "mission", "statut": statut, "appareils": 3,
                         "constats_actifs": len(macs), "motif": None}],
            "constats": [{"gravite": "critique", "type": "categorie_interdite", "statut": "actif", "message": "Echo",
                          "reseau": "mission-nord", "site": "nord", "mac": mac, "fabricant": None,
                          "identification": {"signature": None, "categorie": None, "motifs": []}, "ips": [],
                          "vlans": [], "emplacements": [], "noms_hote": [], "services_mdns": [], "sources": [],
                          "vu_le": None, "derogation": None} for mac in macs],
            "isolement": {"paires": [], "constats": []}}


def _nuit(base, document, configuration):
    enregistrement = enregistrer_nuit(base, document, [], evenements, configuration.canaux())
    console = Console(file=io.StringIO(), width=200)
    bilan = envoyer_en_attente(base, configuration, b"<html></html>", document["date_reference"], console)
    return enregistrement, bilan, console.file.getvalue()


def test_file_retentee_jamais_en_double_puis_abandonnee(tmp_path, http):
    base = tmp_path / "h.sqlite"
    configuration = ConfigurationAlertes(webhook=Webhook(f"http://127.0.0.1:{http.port}/x", "json", 5.0))
    http.statut = 500
    _, bilan, sortie = _nuit(base, _document("2026-11-21", "non_conforme", ["02:00:00:00:00:01"]), configuration)
    assert [e["erreur"] for e in bilan["en_echec"]] == [f"webhook http://127.0.0.1:{http.port} : réponse HTTP 500"]
    assert "retentée au passage suivant" in sortie
    http.statut = 200
    # same night again (a timer that fires twice): nothing new, only the queued alert leaves
    _, bilan, _ = _nuit(base, _document("2026-11-21", "non_conforme", ["02:00:00:00:00:01"]), configuration)
    assert [(e["passage"], e["tentatives"]) for e in bilan["envoyees"]] == [(1, 2)]
    _, bilan, _ = _nuit(base, _document("2026-11-22", "non_conforme", ["02:00:00:00:00:01"]), configuration)
    assert bilan["envoyees"] == [] and bilan["en_echec"] == []
    assert [r["corps"]["nuit"] for r in http.requetes if r["statut"] == 200] == ["2026-11-21"]
    # a new critical finding, while the channel is being removed from the inventory
    enregistrer_nuit(base, _document("2026-11-23", "non_conforme", ["02:00:00:00:00:01", "02:00:00:00:00:02"]),
                     [], evenements, ("webhook",))
    _, bilan, sortie = _nuit(base, _document("2026-11-24", "non_conforme", ["02:00:00:00:00:01", "02:00:00:00:00:02"]),
                             ConfigurationAlertes())
    assert "retiré de l'inventaire : alerte abandonnée" in bilan["en_echec"][0]["erreur"]
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT passage_id, etat, tentatives FROM alertes ORDER BY id").fetchall() == [
            (1, "envoyee", 2), (4, "abandonnee", 0)]


def test_historique_non_ecrit_aucune_alerte_en_file(tmp_path):
    base = tmp_path / "h.sqlite"
    base.write_bytes(b"pas une base" * 10)
    with pytest.raises(ErreurHistorique):
        enregistrer_nuit(base, _document("2026-11-21", "non_conforme", ["02:00:00:00:00:01"]), [], evenements,
                         ("webhook",))
    assert base.read_bytes() == b"pas une base" * 10


def test_alerteur_qui_echoue_rien_n_est_ecrit(tmp_path):
    """All or nothing: a failure while the alert is prepared leaves neither the run nor the alert."""
    base = tmp_path / "h.sqlite"
    enregistrer_nuit(base, _document("2026-11-21", "conforme", []))

    def alerteur(document, precedent):
        raise RuntimeError("panne")

    with pytest.raises(RuntimeError):
        enregistrer_nuit(base, _document("2026-11-22", "non_conforme", ["02:00:00:00:00:01"]), [], alerteur,
                         ("webhook",))
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT COUNT(*) FROM passages").fetchone() == (1,)
        assert db.execute("SELECT COUNT(*) FROM alertes").fetchone() == (0,)


def test_constat_revenu_apres_une_nuit_incomplete_ni_nouveau_ni_realerte(tmp_path):
    """Night 2: the switch could not be read, the Echo is not seen (perhaps still there); night 3 it is
    seen again: it persists since night 1, and no « nouveau critique » is alerted a second time."""
    base = tmp_path / "h.sqlite"
    echo = "84:28:59:3a:7c:21"
    contenus = []
    for nuit, statut, macs in (("2026-11-21", "non_conforme", [echo]), ("2026-11-22", "incomplet", []),
                               ("2026-11-23", "incomplet", []), ("2026-11-24", "non_conforme", [echo])):
        def alerteur(document, precedent):
            contenu = evenements(document, precedent)
            contenus.append([(e["type"], e.get("mac")) for e in contenu["evenements"]] if contenu else [])
            return contenu
        enregistrement = enregistrer_nuit(base, _document(nuit, statut, macs), [], alerteur, ("webhook",))
        if nuit in ("2026-11-22", "2026-11-23"):
            [parti] = enregistrement.changements["constats"]
            assert (parti["etat"], parti["reseau_incomplet"], parti["premiere_vue"]) == ("disparu", True, "2026-11-21")
    [revenu] = enregistrement.changements["constats"]
    assert (revenu["etat"], revenu["premiere_vue"], revenu["nuits"]) == ("persistant", "2026-11-21", 2)
    assert contenus == [[("nouveau_critique", echo), ("reseau_non_conforme", None)], [("reseau_incomplet", None)], [],
                        [("reseau_non_conforme", None)]]
