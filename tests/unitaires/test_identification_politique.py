"""Identification (IEEE registry, signatures) and policy (findings, dérogations)."""

from __future__ import annotations

import gc
from datetime import date

import pytest
import yaml
from netaddr import EUI

from telesante.correlation import correler
from telesante.placement import CarteReseaux
from telesante.ramasse_miettes import gc_paused
from telesante.identification import charger_identificateur, registre_ieee
from telesante import signatures
from telesante.signatures import SignaturesInvalides
from telesante.mac import est_administree_localement, est_plage_manuelle_vmware, mac_vm_du_numero_serie
from telesante.configuration import Autorise, Derogation, Equipement, Reseau
from telesante.observation import Observation
from telesante.politique import A_VERIFIER, ACTIF, CRITIQUE, LEVE, evaluer
from netaddr import IPNetwork


@pytest.fixture(scope="module")
def identificateur():
    return charger_identificateur()


@pytest.mark.parametrize("mac", ["84:28:59:00:00:01", "60:70:6c:00:00:01", "60:fd:a6:00:00:01", "34:5e:08:00:00:01"])
def test_registre_en_memoire_concorde_avec_netaddr(mac):
    assert registre_ieee().fabricant(mac) == EUI(mac).oui.registration().org


def test_signatures_livrees_lues_par_libyaml_comme_par_pyyaml_seul():
    """The shipped file is read with libyaml (faster): it must give the same values."""
    texte = signatures._texte_livre()
    assert signatures._LECTEUR is yaml.CSafeLoader
    assert yaml.load(texte, Loader=yaml.CSafeLoader) == yaml.load(texte, Loader=yaml.SafeLoader)


def test_registre_charge_une_seule_fois():
    assert registre_ieee() is registre_ieee()
    assert len(registre_ieee()) > 30000


@pytest.mark.parametrize(
    "mac, noms, mdns, signature, categorie",
    [
        ("84:28:59:3a:7c:21", ["amazon-5c1e9a03f"], [], "Amazon Echo", "assistant vocal"),
        ("84:28:59:3a:7c:21", ["EchoShow-Cuisine"], [], "Amazon Echo Show", "écran intelligent"),
        ("84:28:59:3a:7c:21", [], [], "Appareil Amazon (Echo, Fire TV, Kindle...)", "appareil grand public"),
        ("60:70:6c:12:ab:34", ["fuchsia-6070"], [("_googlecast._tcp", "Google Nest Hub")], "Google Nest Hub", "écran intelligent"),
        ("60:70:6c:12:ab:35", [], [("_googlecast._tcp", "Chromecast")], "Google Chromecast", "diffusion multimédia"),
        ("f0:f6:c1:a2:33:b4", [], [], "Sonos", "haut-parleur connecté"),
        ("34:5e:08:91:2c:4d", [], [], "Roku", "diffusion multimédia"),
        ("60:fd:a6:10:20:31", [], [("_airplay._tcp", "AppleTV6,2")], "Apple TV", "diffusion multimédia"),
        ("60:fd:a6:10:20:32", [], [("_airplay._tcp", "AudioAccessory5,1")], "Apple HomePod", "assistant vocal"),
        ("60:fd:a6:10:20:33", ["Portal-TV-salon"], [], "Meta Portal", "écran intelligent"),
    ],
)
def test_signatures_livrees(identificateur, mac, noms, mdns, signature, categorie):
    result = identificateur.identifier(mac, noms, mdns)
    assert (result.signature, result.categorie.libelle) == (signature, categorie)
    assert result.motifs


def test_echographe_sonosite_n_est_pas_un_haut_parleur_sonos(identificateur):
    """SonoSite makes ultrasound scanners: clinical equipment must not be taken for a Sonos."""
    scanner = identificateur.identifier("00:08:fb:12:34:56")
    assert scanner.fabricant == "SonoSite, Inc." and scanner.signature is None
    assert identificateur.identifier("00:04:3c:12:34:56").signature == "Sonos"  # SONOS Co., Ltd.


def test_un_mac_apple_seul_n_est_pas_un_appareil_grand_public(identificateur):
    result = identificateur.identifier("60:fd:a6:10:20:30", ["MAC-URG-01"], [])
    assert result.fabricant == "Apple, Inc."
    assert result.signature is None


def test_nom_sous_un_oui_seulement():
    """A name that identifies a device only under one OUI: neither the OUI alone nor the name
    under another OUI is enough."""
    local = [{"nom": "Cadre Nixplay", "categorie": "ecran_intelligent",
              "oui_et_nom_hote": [{"oui": "0C:AE:7D", "nom_hote": ["^cadre"]}]}]
    identificateur = charger_identificateur(local)
    result = identificateur.identifier("0c:ae:7d:00:00:01", ["Cadre-salon"], [])
    assert result.signature == "Cadre Nixplay"
    assert result.motifs == ("nom d'hôte « Cadre-salon » sous l'OUI 0c:ae:7d",)
    assert identificateur.identifier("0c:ae:7d:00:00:01").signature is None
    assert identificateur.identifier("d0:43:1e:00:00:01", ["Cadre-salon"], []).signature is None
    assert identificateur.identifier(None, ["Cadre-salon"], []).signature is None



def test_nom_sous_un_oui_absent_du_registre():
    """An OUI the IEEE registry does not list (not cached, no vendor) still carries its names."""
    assert registre_ieee().fabricant("a0:00:00:00:00:01") is None
    local = [{"nom": "Sonde maison", "categorie": "objet_connecte",
              "oui_et_nom_hote": [{"oui": "a0:00:00", "nom_hote": "^sonde"}]}]
    identificateur = charger_identificateur(local)
    assert identificateur.identifier("a0:00:00:00:00:01", ["sonde-3"], []).signature == "Sonde maison"
    assert identificateur.identifier("a0:00:00:00:00:01", ["poste-3"], []).signature is None
    assert identificateur.identifier("a0:00:00:00:00:01").signature is None


def test_signature_locale_prioritaire():
    local = [{"nom": "Cadre photo Nixplay", "categorie": "ecran_intelligent", "noms_hote": ["^nixplay"]}]
    result = charger_identificateur(local).identifier("00:11:22:33:44:55", ["nixplay-w10"], [])
    assert result.signature == "Cadre photo Nixplay"


@pytest.mark.parametrize(
    "local, extrait",
    [
        ([{"nom": "x", "categorie": "ecran_intelligent", "noms_hote": ["(unclosed"]}], "expression régulière invalide"),
        ([{"nom": "x", "categorie": "ecran_intelligent"}], "aucun critère"),
        ([{"categorie": "ecran_intelligent"}], "au moins « nom »"),
        ([{"nom": "x", "categorie": "ecran_intelligent", "mdns": [{"modele": "y"}]}], "« service » attendu"),
        ([{"nom": "x", "categorie": "grand_public", "oui_et_nom_hote": [{"oui": "0c:ae", "nom_hote": "^a"}]}],
         "« oui » (aa:bb:cc) et « nom_hote » attendus"),
        ([{"nom": "x", "categorie": "grand_public", "oui_et_nom_hote": [{"oui": "0c:ae:7d"}]}],
         "« oui » (aa:bb:cc) et « nom_hote » attendus"),
        ([{"nom": "x", "categorie": "grand_public", "oui_et_nom_hote": ["0c:ae:7d"]}],
         "« oui » (aa:bb:cc) et « nom_hote » attendus"),
        ([{"nom": "x", "categorie": "grand_public", "oui_et_nom_hote": [{"oui": "0c:ae:7d", "nom_hote": "(x"}]}],
         "expression régulière invalide"),
    ],
)
def test_signature_locale_invalide(local, extrait):
    with pytest.raises(SignaturesInvalides) as error:
        charger_identificateur(local)
    assert extrait in error.value.erreurs[0]


def test_mac_vm_deterministe_dans_la_plage_manuelle_vmware():
    mac = mac_vm_du_numero_serie("C02ZK1ABMD6R")
    assert mac == mac_vm_du_numero_serie(" c02zk1abmd6r ")
    assert est_plage_manuelle_vmware(mac)
    assert mac != mac_vm_du_numero_serie("C02ZK1ABMD6S")
    assert not est_administree_localement(mac)


MISSION = Reseau("mission", "site", True, (IPNetwork("10.0.110.0/24"),), frozenset({110}))
PATIENTS = Reseau("patients", "site", False, (IPNetwork("10.0.120.0/24"),), frozenset({120}))
SWITCH = Equipement("sw", "cisco_ios", "site", ports_liaison=frozenset({"Gi0/48"}))


def _evaluer(observations, autorises=None, derogations=None, today=date(2026, 11, 21)):
    appareils = correler(observations, {"sw": SWITCH})
    constats, counts, _non_declares = evaluer(appareils, CarteReseaux([MISSION, PATIENTS]), charger_identificateur(),
                                              autorises or {}, derogations or {}, today)
    return constats, counts


def _obs(mac, vlan=110, ip=None, name=None, port="Gi0/1", **kw):
    return Observation(mac=mac, source="sw : test", equipement="sw", vlan=vlan, ip=ip, nom_hote=name, port=port, **kw)


def test_appareil_grand_public_sur_mission_critique_avec_preuves():
    constats, counts = _evaluer([_obs("84:28:59:3a:7c:21", port="Gi0/5"), _obs("84:28:59:3a:7c:21", ip="10.0.110.41", name="amazon-1", port=None)])
    [constat] = constats
    assert (constat.gravite, constat.statut, constat.reseau.nom) == (CRITIQUE, ACTIF, "mission")
    assert constat.appareil.emplacements == {("sw", "Gi0/5", 110)}
    assert constat.appareil.ips == {"10.0.110.41"}
    assert counts == {"mission": 1}


def test_hors_mission_aucun_constat_pour_les_appareils_grand_public():
    constats, counts = _evaluer([_obs("84:28:59:3a:7c:21", vlan=120), _obs("6a:00:00:00:00:01", vlan=120)])
    assert constats == []
    assert counts == {"patients": 2}


def test_mac_aleatoire_est_un_constat_distinct():
    [constat] = _evaluer([_obs("6a:3f:91:0c:55:e2")])[0]
    assert (constat.gravite, constat.type) == (A_VERIFIER, "mac_aleatoire")


def test_inconnu_non_autorise_a_verifier_et_autorise_silencieux():
    autorises = {"d0:43:1e:5b:77:10": Autorise("d0:43:1e:5b:77:10", "pc", "poste", "test")}
    constats, _ = _evaluer([_obs("d0:43:1e:5b:77:10"), _obs("d0:43:1e:5b:77:11")], autorises)
    assert [(c.appareil.mac, c.gravite) for c in constats] == [("d0:43:1e:5b:77:11", A_VERIFIER)]


def test_mac_autorisee_qui_se_presente_comme_echo_est_critique():
    autorises = {"d0:43:1e:5b:77:10": Autorise("d0:43:1e:5b:77:10", "pc", "poste", "test")}
    [constat] = _evaluer([_obs("d0:43:1e:5b:77:10", name="amazon-0a1b2c")], autorises)[0]
    assert (constat.gravite, constat.type) == (CRITIQUE, "usurpation_possible")


@pytest.mark.parametrize("today, statut, expiree", [
    (date(2026, 12, 30), LEVE, False),
    (date(2026, 12, 31), LEVE, False),  # the expiry day is still covered
    (date(2027, 1, 1), ACTIF, True),
])
def test_derogation_jusqu_a_son_expiration(today, statut, expiree):
    mac = "34:5e:08:91:2c:4d"
    derogations = {mac: Derogation(mac, "salle de télésanté", date(2026, 12, 31))}
    [constat] = _evaluer([_obs(mac)], derogations=derogations, today=today)[0]
    assert (constat.statut, constat.derogation_expiree) == (statut, expiree)
    assert ("dérogation expirée le 2026-12-31" in constat.message) == expiree


def test_port_de_liaison_n_est_pas_un_emplacement():
    [constat] = _evaluer([_obs("d0:43:1e:5b:77:11", port="Gi0/48")])[0]
    assert constat.appareil.emplacements == set()


def test_annonce_mdns_sans_mac_rattachee_par_ip():
    observations = [
        _obs("60:70:6c:12:ab:34", ip="10.0.110.42", port=None),
        Observation(mac=None, source="sonde : mdns", equipement="sonde", ip="10.0.110.42",
                    services_mdns=("_googlecast._tcp",), modele_mdns="Google Nest Hub"),
    ]
    [constat] = _evaluer(observations)[0]
    assert constat.appareil.mac == "60:70:6c:12:ab:34"
    assert constat.identification.signature == "Google Nest Hub"
    assert constat.appareil.sources == {"sw : test", "sonde : mdns"}


def test_annonce_mdns_rattachee_a_la_derniere_mac_vue_a_son_ip_sinon_par_ip():
    mdns = Observation(mac=None, source="sonde : mdns", equipement="sonde", ip="10.0.110.42",
                       services_mdns=("_googlecast._tcp",))
    orphan = Observation(mac=None, source="sonde : mdns", equipement="sonde", ip="10.0.110.77",
                         services_mdns=("_sonos._tcp",))
    correlation = correler([
        _obs("60:70:6c:12:ab:34", ip="10.0.110.42"),
        mdns,
        _obs("60:70:6c:12:ab:35", ip="10.0.110.42"),  # the address was handed to another device
        orphan,
    ], {})
    assert correlation.groupes["60:70:6c:12:ab:35"][-1] is mdns
    assert correlation.groupes["ip:10.0.110.77"] == [orphan]
    assert len(correlation) == 3


@pytest.mark.parametrize("enabled", [True, False])
def test_ramasse_miettes_suspendu_puis_objets_promus(enabled):
    was_enabled = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with gc_paused():
            assert not gc.isenabled()
            made = [[] for _ in range(10)]
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == 0
        oldest = {id(o) for o in gc.get_objects(generation=2)}
        assert all(id(o) in oldest for o in made)
    finally:
        (gc.enable if was_enabled else gc.disable)()
