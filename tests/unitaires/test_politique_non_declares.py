"""Fail closed in the policy: a mission network where nothing was seen, and sightings that
fall on no declared network, never give « conforme » (issue 10, B, C and F)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from netaddr import IPNetwork
from rich.console import Console

from telesante.audit import auditer
from telesante.codes import CONFORME, INCOMPLET, NON_CONFORME
from telesante.collecte.resultat import ResultatCollecte
from telesante.correlation import correler
from telesante.placement import CarteReseaux
from telesante.identification import charger_identificateur
from telesante.configuration import Autorise, Configuration, Equipement, Reseau
from telesante.observation import Observation
from telesante.politique import A_VERIFIER, HORS_RESEAUX, RESEAU_NON_DECLARE, evaluer
from telesante.rapports import document as rapport
from telesante.rapports import formats, terminal
from telesante.rapports.html import en_html

MISSION = Reseau("mission-nord", "nord", True, (IPNetwork("10.20.110.0/24"),), frozenset({110}))
PATIENTS = Reseau("patients-nord", "nord", False, (IPNetwork("10.20.120.0/24"),), frozenset({120}))
SW = Equipement("sw-nord", "cisco_ios", "nord", ports_liaison=frozenset({"Gi1/0/48"}))
HP = Equipement("sw-hp", "hp_procurve", "nord", ports_liaison=frozenset({"Trk1"}))
DHCP = Equipement("dhcp-nord", "dnsmasq", "nord")
ECHO, ECHO_2, POSTE = "84:28:59:3a:7c:21", "84:28:59:0a:0b:0c", "60:fd:a6:10:20:30"


@pytest.fixture(scope="module")
def identificateur():
    return charger_identificateur()


def _obs(equipement, mac, vlan=None, ip=None, port=None, name=None):
    return Observation(mac=mac, source=f"{equipement.nom} : test", equipement=equipement.nom, vlan=vlan, ip=ip,
                       port=port, nom_hote=name)


def _auditer(identificateur, reseaux, sightings: dict[Equipement, list[Observation]], autorises=None):
    config = Configuration(Path("."), list(reseaux), list(sightings), autorises or {}, {}, identificateur.signatures,
                           identificateur.categories)

    def collecter(equipement):
        return ResultatCollecte(equipement, observations=list(sightings[equipement]))

    return auditer(config, collecter, "captures", date(2026, 11, 21))


def _rapports(resultat) -> tuple[dict, str, ET.Element, str]:
    document = rapport.construire(resultat)
    schema = json.loads(resources.files("telesante").joinpath("donnees/rapport-audit-v1.schema.json").read_text())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(document)
    console = Console(width=200, record=True, file=open("/dev/null", "w"))
    terminal.afficher(document, console)
    return document, console.export_text(), ET.fromstring(formats.en_junit(document)), en_html(document).decode()


# -- B. a mission network where no device was seen -----------------------------------------

def test_reseau_de_mission_sans_aucun_appareil_incomplet_avec_une_note(identificateur):
    resultat = _auditer(identificateur, [MISSION, PATIENTS],
                        {DHCP: [_obs(DHCP, "28:73:f6:44:21:90", ip="10.20.120.35")]})
    assert resultat.code_sortie == INCOMPLET
    [mission, patients] = resultat.reseaux
    assert (mission.statut, mission.appareils) == ("incomplet", 0)
    assert "aucun appareil vu : capture coupée ?" in mission.motif and "vide_attendu" in mission.motif
    assert patients.statut == "conforme" and patients.motif is None  # off-mission: not audited
    assert any("mission-nord" in note and "capture coupée" in note for note in resultat.notes)
    document, texte, junit, _ = _rapports(resultat)
    assert document["reseaux"][0]["motif"] == mission.motif
    assert "capture coupée ?" in texte
    [erreur] = junit.findall(".//testsuite[@name='nord / mission-nord']//error")
    assert "capture coupée" in erreur.text  # not « aucun équipement lu » : the site was read


def test_reseau_de_mission_vide_attendu_reste_conforme(identificateur):
    vide = Reseau("mission-nord", "nord", True, MISSION.sous_reseaux, MISSION.vlans, vide_attendu=True)
    resultat = _auditer(identificateur, [vide, PATIENTS], {DHCP: [_obs(DHCP, "28:73:f6:44:21:90", ip="10.20.120.35")]})
    assert resultat.code_sortie == CONFORME
    assert resultat.reseaux[0].statut == "conforme" and not resultat.notes


# -- C. sightings on no declared network ---------------------------------------------------

def test_table_sans_colonne_vlan_rend_l_equipement_incomplet_sans_rien_perdre(identificateur):
    """HP ProCurve table without VLAN column: two Amazon MACs on port 5 were dropped (code 0)."""
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        HP: [_obs(HP, ECHO, port="5"), _obs(HP, ECHO_2, port="5"), _obs(HP, POSTE, port="3"),
             _obs(HP, "e8:0a:b9:00:00:01", ip="10.20.110.1", port="Trk1")],
    })
    assert resultat.code_sortie == INCOMPLET
    [collecte] = resultat.collectes
    [probleme] = collecte.problemes
    assert probleme.startswith("3 appareils sur aucun réseau déclaré : vus sans VLAN ni IP (ex. port ")
    assert "telesante_vlan_par_defaut" in probleme
    [entree] = resultat.non_declares
    assert (entree.site, entree.vlan, entree.sous_reseau) == ("nord", None, None)
    assert (len(entree.appareils), len(entree.interdits), len(entree.non_places)) == (3, 2, 3)
    constats = [c for c in resultat.constats if c.type == RESEAU_NON_DECLARE]
    assert {c.appareil.cle for c in constats} == {ECHO, ECHO_2}
    assert all(c.gravite == A_VERIFIER and c.reseau.nom == HORS_RESEAUX for c in constats)
    assert all("telesante_vlan_par_defaut" in c.message for c in constats)


def test_vlan_vu_non_declare_liste_et_constat_a_verifier(identificateur):
    """Declared VLAN 111 while the switch sees VLAN 110: nothing was placed, code 0."""
    mission_111 = Reseau("mission-nord", "nord", True, (IPNetwork("10.20.111.0/24"),), frozenset({111}))
    resultat = _auditer(identificateur, [mission_111, PATIENTS], {
        SW: [_obs(SW, ECHO, vlan=110, port="Gi1/0/5"), _obs(SW, POSTE, vlan=110, port="Gi1/0/3"),
             _obs(SW, "28:73:f6:44:21:90", vlan=120, port="Gi1/0/30"),
             _obs(SW, "a8:00:00:00:00:01", vlan=110, port="Gi1/0/48")],  # behind an uplink
    })
    assert resultat.code_sortie == INCOMPLET
    [probleme] = resultat.collectes[0].problemes
    assert "2 appareils sur aucun réseau déclaré : vus sur le VLAN 110" in probleme
    assert "déclarez le VLAN 110 dans telesante_reseaux" in probleme
    [entree] = resultat.non_declares
    assert (entree.vlan, len(entree.appareils), len(entree.interdits), len(entree.non_places)) == (110, 3, 1, 2)
    assert entree.equipements == {"sw-nord"}
    [constat] = [c for c in resultat.constats if c.type == RESEAU_NON_DECLARE]
    assert constat.appareil.cle == ECHO and "le VLAN 110 est à déclarer" in constat.message
    document, texte, junit, html = _rapports(resultat)
    assert document["non_declares"] == [{"site": "nord", "vlan": 110, "sous_reseau": None, "appareils": 3,
                                          "equipements": ["sw-nord"], "interdits": 1, "non_places": 2}]
    assert "VLAN et plages vus mais non déclarés" in texte
    ligne = next(line for line in texte.splitlines() if "VLAN 110" in line and "sw-nord" in line)
    assert [cell.strip() for cell in ligne.split("│")[1:-1]] == ["nord", "VLAN 110", "3", "1", "2", "sw-nord"]
    [suite] = junit.findall("testsuite[@name='nord / VLAN et plages non déclarés']")
    [case] = suite.findall("testcase")
    assert case.get("name") == "VLAN 110" and case.find("error").get("type") == "incomplet"
    assert 'id="non-declares"' in html and "VLAN 110" in html


def test_appareil_place_par_son_ip_mais_vu_sur_un_vlan_non_declare(identificateur):
    """Placed by its address, the device is audited: the undeclared VLAN is listed, not an
    incompleteness; a forbidden device there is still a finding to check."""
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        SW: [_obs(SW, ECHO, vlan=130, port="Gi1/0/5"), _obs(SW, POSTE, vlan=110, port="Gi1/0/3")],
        DHCP: [_obs(DHCP, ECHO, ip="10.20.120.41", name="amazon-1")],
    })
    assert all(c.complet for c in resultat.collectes)
    [entree] = resultat.non_declares
    assert (entree.vlan, len(entree.interdits), len(entree.non_places)) == (130, 1, 0)
    [constat] = [c for c in resultat.constats_actifs if c.type == RESEAU_NON_DECLARE]
    assert constat.appareil.cle == ECHO
    assert resultat.code_sortie == NON_CONFORME
    junit = ET.fromstring(formats.en_junit(rapport.construire(resultat)))
    assert junit.find(".//testsuite[@name='nord / VLAN et plages non déclarés']/testcase/failure") is not None


def test_adresse_hors_de_tout_sous_reseau_declare(identificateur):
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        SW: [_obs(SW, POSTE, vlan=110, port="Gi1/0/3")],
        DHCP: [_obs(DHCP, "00:50:b6:1c:2d:3e", ip="10.99.7.12"), _obs(DHCP, "00:50:b6:1c:2d:3f", ip="10.99.7.13")],
    })
    assert resultat.code_sortie == INCOMPLET
    [probleme] = resultat.collectes[1].problemes
    assert "2 appareils" in probleme and "10.99.7.0/24" in probleme and "telesante_reseaux" in probleme
    [entree] = resultat.non_declares
    assert (entree.vlan, entree.sous_reseau, len(entree.appareils)) == (None, "10.99.7.0/24", 2)


def test_appareil_interdit_hors_reseaux_d_un_site_sans_mission_liste_sans_constat(identificateur):
    invites = Reseau("invites-est", "est", False, (IPNetwork("10.40.0.0/24"),), frozenset({400}))
    sw_est = Equipement("sw-est", "cisco_ios", "est")
    resultat = _auditer(identificateur, [MISSION, invites], {
        SW: [_obs(SW, POSTE, vlan=110, port="Gi1/0/3")],
        sw_est: [_obs(sw_est, ECHO, vlan=401, port="Gi1/0/5")],
    })
    [entree] = resultat.non_declares
    assert (entree.site, entree.vlan, len(entree.interdits)) == ("est", 401, 1)
    assert not [c for c in resultat.constats if c.type == RESEAU_NON_DECLARE]
    assert resultat.code_sortie == INCOMPLET  # sw-est saw a device on no declared network


def test_ports_de_liaison_seuls_listes_sans_rendre_incomplet(identificateur):
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        SW: [_obs(SW, POSTE, vlan=110, port="Gi1/0/3"), _obs(SW, "00:50:b6:1c:2d:3e", vlan=999, port="Gi1/0/48")],
    }, autorises={POSTE: Autorise(POSTE, "mac-urg-01", "poste", "test")})
    assert resultat.code_sortie == CONFORME
    [entree] = resultat.non_declares
    assert (entree.vlan, len(entree.appareils), len(entree.non_places)) == (999, 1, 0)


def test_tout_place_aucune_liste(identificateur):
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        SW: [_obs(SW, POSTE, vlan=110, port="Gi1/0/3"), _obs(SW, POSTE, vlan=110, ip="10.20.110.21")],
        DHCP: [_obs(DHCP, POSTE, ip="10.20.110.21")],
    })
    assert resultat.code_sortie == NON_CONFORME and resultat.non_declares == []
    assert "non_declares" in rapport.construire(resultat)


# -- F. two networks with the same CIDR ----------------------------------------------------

def test_deux_reseaux_de_meme_cidr_ne_plantent_pas_le_placement(identificateur):
    double = Reseau("mission-bis", "nord", True, MISSION.sous_reseaux, frozenset())
    carte = CarteReseaux([MISSION, double, PATIENTS])
    appareils = correler([_obs(DHCP, ECHO, ip="10.20.110.41")], {"dhcp-nord": DHCP})
    constats, counts, _ = evaluer(appareils, carte, identificateur, {}, {}, date(2026, 11, 21))
    assert counts == {"mission-nord": 1, "mission-bis": 1}
    assert {c.reseau.nom for c in constats} == {"mission-nord", "mission-bis"}


def test_chaines_d_appareil_citees_inertes_dans_les_problemes(identificateur):
    """A port name or an address text comes from the equipment: quoted in a problem, its
    control characters are visible and inert, never written raw to the admin's terminal."""
    hostile = "5\x1b[2J\x1b]0;pirate\x07" + "x" * 200
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        HP: [_obs(HP, ECHO, port=hostile)],
        DHCP: [_obs(DHCP, ECHO_2, ip="10.99.7.12\x1b[1A")],
    })
    problemes = [p for c in resultat.collectes for p in c.problemes]
    assert len(problemes) == 2
    assert not any(ch in p for p in problemes for ch in "\x1b\x07")
    assert "\\x1b[2J" in problemes[0] and "…" in problemes[0] and len(problemes[0]) < 300
    assert not any("\x1b" in (e.sous_reseau or "") for e in resultat.non_declares)


def test_terminal_80_colonnes_une_ligne_par_entree_sans_couper_les_noms(identificateur):
    sw = Equipement("commutateur-pavillon-est-etage-3", "cisco_ios", "nord")
    resultat = _auditer(identificateur, [MISSION, PATIENTS], {
        sw: [_obs(sw, POSTE, vlan=110, port="Gi1/0/3"), _obs(sw, ECHO, vlan=3999, port="Gi1/0/5")],
    })
    console = Console(width=80, record=True, file=open("/dev/null", "w"))
    terminal.afficher(rapport.construire(resultat), console)
    lignes = console.export_text().splitlines()
    assert max(len(line.rstrip()) for line in lignes) <= 80
    debut = next(i for i, line in enumerate(lignes) if line.startswith("  - nord  VLAN 3999 : "))
    entree = " ".join(line.strip() for line in lignes[debut:debut + 3])
    assert "1 appareil, dont 1 d'une catégorie interdite, 1 sur aucun réseau ; vus par" in entree
    assert "commutateur-pavillon-est-etage-3" in entree  # whole, never cut
