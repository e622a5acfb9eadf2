"""The audit reads the isolation probes: a mission address reached is critical, a probe not whole is incomplete."""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from pathlib import Path

from telesante.audit import auditer
from telesante.codes import CONFORME, INCOMPLET, NON_CONFORME
from telesante.collecte.captures import collecter_captures
from telesante.inventaire import charger_configuration
from tests.unitaires.test_audit_exemple import _retirer_hotes, _retirer_lignes
from tests.unitaires.test_isolement_collecte import document
from tests.unitaires.test_isolement_inventaire import SONDE, _inventaire

NUIT = date(2026, 11, 21)


def _conforme(hosts: Path) -> None:
    """The demo inventory made « conforme » (as test_audit_exemple.test_code_0_conforme does)."""
    _retirer_hotes(hosts, "sw-sud-02", "sonde-nord")
    offenders = ["84:28:59:3a:7c:21", "60:70:6c:12:ab:34", "24:29:34:88:19:0c", "6a:3f:91:0c:55:e2", "d0:43:1e:5b:77:10"]
    captures = hosts.parent / "captures"
    for path in [*(captures / "sw-nord-01").iterdir(), captures / "dhcp-nord/dnsmasq.leases"]:
        _retirer_lignes(path, offenders + [f"{m[:4]}.{m[4:8]}.{m[8:]}" for m in (o.replace(":", "") for o in offenders)])


def _audit(hosts: Path, contenu: dict | None, derogations: str = "telesante_derogations_isolement: []\n"):
    """Audit the demo inventory, made « conforme », with one more probe, sonde-patients-test, whose file is
    `contenu` (None: none)."""
    _conforme(hosts)
    _inventaire(hosts, sonde=SONDE, derogations=derogations)
    if contenu is not None:
        dossier = hosts.parent / "captures" / "sonde-patients-test"
        dossier.mkdir(parents=True)
        (dossier / "isolement.json").write_text(json.dumps({**contenu, "sonde": "sonde-patients-test"}))
    config = charger_configuration(hosts)
    return auditer(config, partial(collecter_captures, racine=config.racine), mode="captures", aujourd_hui=NUIT)


def _sans_fuite() -> dict:
    essais = [dict(e, resultat="sans_reponse") for e in document()["essais"]]
    return document(essais=essais)


def _paire(resultat, depuis: str, vers: str):
    return next(e for e in resultat.isolement if (e.depuis.nom, e.vers.nom) == (depuis, vers))


def test_fuite_critique_reseau_de_mission_non_conforme(exemple):
    resultat = _audit(exemple, document())
    fuite = [c for c in resultat.constats_isolement if c.essai.sonde == "sonde-patients-test"]
    assert [(c.gravite, c.statut, c.depuis.nom, c.vers.nom, c.essai.cible, c.essai.port, c.essai.methode)
            for c in fuite] == [("critique", "actif", "patients-nord", "mission-nord", "10.20.110.10", 443, "tcp")]
    assert _paire(resultat, "patients-nord", "mission-nord").statut == "non_separe"
    mission = next(e for e in resultat.reseaux if e.reseau.nom == "mission-nord")
    assert mission.statut == "non_conforme" and mission.constats_actifs >= 1
    assert resultat.code_sortie == NON_CONFORME




def test_sans_fuite_paire_separee(exemple):
    resultat = _audit(exemple, _sans_fuite())
    assert _paire(resultat, "patients-nord", "mission-nord").statut == "separe"
    assert not [c for c in resultat.constats_isolement if c.essai.sonde == "sonde-patients-test"]
    assert resultat.code_sortie == CONFORME
    # The other site has no probe: its pair is not verified, which alone does not make it incomplete.
    assert _paire(resultat, "invites-sud", "mission-sud").statut == "non_verifie"


def test_derogation_en_vigueur_leve_la_fuite(exemple):
    derogations = ("telesante_derogations_isolement:\n  - depuis: patients-nord\n    cible: 10.20.110.10\n"
                   "    port: 443\n    justification: portail des patients\n    expiration: 2026-12-31\n")
    resultat = _audit(exemple, document(), derogations)
    fuite = next(c for c in resultat.constats_isolement if c.essai.sonde == "sonde-patients-test")
    assert fuite.statut == "levé par dérogation"
    assert _paire(resultat, "patients-nord", "mission-nord").statut == "separe"
    assert resultat.code_sortie == CONFORME


def test_sonde_absente_incomplete(exemple):
    resultat = _audit(exemple, None)
    assert resultat.code_sortie == INCOMPLET
    assert _paire(resultat, "patients-nord", "mission-nord").statut == "non_verifie"
    assert next(e for e in resultat.reseaux if e.reseau.nom == "mission-nord").statut == "incomplet"


def test_sonde_arretee_avec_fuite_incomplet_l_emporte(exemple):
    resultat = _audit(exemple, document(complet=False, arret="durée maximale de 60 s atteinte"))
    assert resultat.code_sortie == INCOMPLET
    assert _paire(resultat, "patients-nord", "mission-nord").statut == "non_separe"
    assert any(c.essai.sonde == "sonde-patients-test" for c in resultat.constats_isolement_actifs)
