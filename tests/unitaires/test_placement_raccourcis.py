"""The shortcuts of the hot path give what a plain reading of each sighting gives: placer()
looks an address up once when a sighting repeats the previous one's, and builds its list of
differing placements only when there is one; the record of what was seen outside the
declared networks reuses the previous sighting's address range key the same way."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from telesante.configuration import Equipement, Reseau
from telesante.correlation import correler
from telesante.identification import charger_identificateur
from telesante.observation import Observation
from telesante.placement import CarteReseaux
from telesante.politique import evaluer

RESEAUX = [
    Reseau("mission", "nord", True, (IPNetwork("10.1.0.0/24"), IPNetwork("fd00:1::/64")), frozenset({10})),
    Reseau("meme-cidr", "nord", True, (IPNetwork("10.1.0.0/24"),), frozenset()),
    Reseau("patients", "nord", False, (IPNetwork("10.2.0.0/16"), IPNetwork("10.1.0.128/25")), frozenset({20})),
    Reseau("sud", "sud", True, (IPNetwork("10.3.0.0/24"),), frozenset({10, 30})),
]
SITES = {"sw-nord": "nord", "sw-sud": "sud", "dhcp": "nord"}
ADRESSES = ["10.1.0.5", "10.1.0.200", "10.2.7.1", "10.3.0.9", "10.9.9.9", "10.9.8.1", "fd00:1::5", "fd00:9::1",
            "10.1.0.256", "010.1.0.5", "fe80::1%eth0", "pas une adresse", ""]
observation = st.builds(
    lambda equipement, ip, vlan: Observation(mac="00:00:00:00:00:01", source=f"{equipement} : test",
                                             equipement=equipement, ip=ip, vlan=vlan),
    st.sampled_from([*SITES, "inconnu"]), st.none() | st.sampled_from(ADRESSES),
    st.none() | st.sampled_from([10, 20, 30, 99]))


def _placement_lu_observation_par_observation(carte: CarteReseaux, observations: list[Observation]):
    """(names of the networks in order of first sight, some sighting on no network)."""
    noms: dict[str, None] = {}
    manque = False
    for obs in observations:
        vus = []
        if obs.ip:
            vus.append(carte.reseaux_d_ip(obs.ip))
        if obs.vlan is not None:
            vus.append(carte.reseaux_de_vlan(SITES.get(obs.equipement), obs.vlan))
        for reseaux in vus:
            manque = manque or not reseaux
            noms.update(dict.fromkeys(reseau.nom for reseau in reseaux))
    return tuple(noms), manque or not noms


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(observation, max_size=6), min_size=1, max_size=6))
def test_placer_comme_une_lecture_de_chaque_observation(appareils):
    carte = CarteReseaux(RESEAUX)  # one map for several devices: its caches fill as in an audit
    for observations in appareils:
        placement = carte.placer(observations, SITES)
        attendu = _placement_lu_observation_par_observation(CarteReseaux(RESEAUX), observations)
        assert (tuple(r.nom for r in placement.reseaux), placement.manques) == attendu
        assert placement.mission == tuple(r for r in placement.reseaux if r.mission)


def test_appareil_vu_a_deux_adresses_non_declarees_de_suite_liste_dans_les_deux_plages():
    """Two sightings in a row at two undeclared addresses: each lands in its own range."""
    equipements = {"dhcp": Equipement("dhcp", "dnsmasq", "nord")}
    mac = "00:50:b6:1c:2d:3e"
    observations = [Observation(mac=mac, source="dhcp : test", equipement="dhcp", ip=ip)
                    for ip in ("10.9.9.9", "10.9.9.9", "10.9.8.1", "10.1.0.5", "10.9.7.1")]
    _constats, _comptes, non_declares = evaluer(correler(observations, equipements), CarteReseaux(RESEAUX),
                                                charger_identificateur(), {}, {}, date(2026, 6, 1))
    assert [(e.sous_reseau, e.appareils) for e in non_declares.entrees] == [
        ("10.9.7.0/24", {mac}), ("10.9.8.0/24", {mac}), ("10.9.9.0/24", {mac})]
