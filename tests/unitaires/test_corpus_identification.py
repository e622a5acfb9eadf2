"""Corpus of real device names: clinical and office equipment is never forbidden, consumer
devices (including hand-named ones) land in their category. Data: tests/corpus_identification/."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from netaddr import IPNetwork

from telesante.collecte.baux_dhcp import observations_dnsmasq
from telesante.correlation import correler
from telesante.placement import CarteReseaux
from telesante.identification import charger_identificateur, registre_ieee
from telesante.configuration import Autorise, Equipement, Reseau
from telesante.observation import Observation
from telesante.politique import CRITIQUE, evaluer

CORPUS = Path(__file__).resolve().parents[1] / "corpus_identification"
CLINIQUES = yaml.safe_load((CORPUS / "cliniques.yml").read_text("utf-8"))["familles"]
GRAND_PUBLIC = yaml.safe_load((CORPUS / "grand_public.yml").read_text("utf-8"))["appareils"]


IDENTIFICATEUR = charger_identificateur()


@pytest.fixture(scope="module")
def identificateur():
    return IDENTIFICATEUR


def _interdite(identification) -> bool:
    return identification.categorie is not None and identification.categorie.interdite


def _mdns(famille) -> list[tuple[str, str | None]]:
    return [tuple(pair) for pair in famille.get("mdns", [])]


def test_corpus_clinique_assez_grand_et_ouis_verifies_dans_le_registre():
    """The corpus holds hundreds of names, each family under an OUI the IEEE registry gives to
    the vendor it claims (no guessed OUI)."""
    assert sum(len(f["noms"]) for f in CLINIQUES) >= 300
    for famille in CLINIQUES:
        assert registre_ieee().fabricant(famille["oui"]) == famille["fabricant"], famille["nom"]


@pytest.mark.parametrize("famille", CLINIQUES, ids=[f["nom"] for f in CLINIQUES])
def test_appareils_cliniques_et_bureautiques_jamais_interdits(identificateur, famille):
    """Each name alone, with its vendor's MAC, and with the family's mDNS announcements."""
    mac = famille["oui"] + ":5a:00:01"
    assert not _interdite(identificateur.identifier(mac)), famille["fabricant"]
    fautifs = []
    for nom in famille["noms"]:
        for essai in (identificateur.identifier(mac, [nom], _mdns(famille)), identificateur.identifier(None, [nom])):
            if _interdite(essai):
                fautifs.append(f"{nom} → {essai.signature} ({', '.join(essai.motifs)})")
    assert not fautifs


def test_corpus_clinique_sur_le_reseau_de_mission_jamais_critique():
    """The whole corpus on a mission VLAN, through the real policy: unknown devices are « à
    vérifier », inventoried ones silent; none is critical (neither forbidden nor usurping)."""
    mission = Reseau("mission", "site", True, (IPNetwork("10.0.110.0/24"),), frozenset({110}))
    switch = Equipement("sw", "cisco_ios", "site")
    observations, autorises = [], {}
    for i, (famille, nom) in enumerate((f, n) for f in CLINIQUES for n in f["noms"]):
        mac = f"{famille['oui']}:{i >> 8 & 255:02x}:{i & 255:02x}:01"
        observations.append(Observation(mac=mac, source="sw : test", equipement="sw", vlan=110, port=f"Gi0/{i}",
                                        nom_hote=nom, services_mdns=tuple(s for s, _ in _mdns(famille)[:1]),
                                        modele_mdns=next((m for _, m in _mdns(famille)[:1]), None)))
        if i % 2:
            autorises[mac] = Autorise(mac, nom, "clinique", "corpus")
    constats, comptes, _ = evaluer(correler(observations, {"sw": switch}), CarteReseaux([mission]), IDENTIFICATEUR,
                                autorises, {}, date(2026, 12, 1))
    assert comptes == {"mission": len(observations)}
    assert [c.appareil.mac for c in constats if c.gravite == CRITIQUE] == []
    assert len(constats) == len(observations) - len(autorises)  # the others are « à vérifier »


def _id_grand_public(entree) -> str:
    return " + ".join([entree.get("mac") or ""] + entree.get("noms", []) +
                      [f"{s} {m}" for s, m in entree.get("mdns", [])]).strip(" +")


@pytest.mark.parametrize("entree", GRAND_PUBLIC, ids=[_id_grand_public(e) for e in GRAND_PUBLIC])
def test_appareils_grand_public_dans_leur_categorie(identificateur, entree):
    mac = entree.get("mac")
    if mac:
        assert registre_ieee().fabricant(mac) is not None  # a registered OUI, never a guessed one
    resultat = identificateur.identifier(mac, entree.get("noms", []), [tuple(p) for p in entree.get("mdns", [])])
    assert resultat.categorie is not None, "non identifié"
    assert resultat.categorie.cle == entree["categorie"], resultat.signature
    assert resultat.motifs


NOMS_CLINIQUES = [nom for famille in CLINIQUES for nom in famille["noms"]]


@st.composite
def nom_clinique_bruite(draw):
    """A clinical name as people and tools alter it: case, separators, numeric or unit suffixes."""
    nom = draw(st.sampled_from(NOMS_CLINIQUES))
    casse = draw(st.sampled_from([str.lower, str.upper, str.title, str.swapcase, lambda s: s]))
    separateur = draw(st.sampled_from(["-", "_", " ", ".", ""]))
    nom = casse(nom).replace("-", separateur) if draw(st.booleans()) else casse(nom)
    suffixe = draw(st.sampled_from(["", "{s}{n}", "{s}{n:02d}", "{s}{n:03d}", "{n}", "{s}urg{s}{n}", "{s}4e{s}{n}"]))
    prefixe = draw(st.sampled_from(["", "chuq{s}", "hsj{s}", "ciusss{s}", "{n}{s}", "vm{s}"]))
    n = draw(st.integers(min_value=0, max_value=999))
    return prefixe.format(s=separateur, n=n) + nom + suffixe.format(s=separateur, n=n)


@settings(max_examples=400, deadline=None)
@given(nom_clinique_bruite())
def test_noms_cliniques_bruites_jamais_interdits(nom):
    resultat = IDENTIFICATEUR.identifier(None, [nom])
    assert not _interdite(resultat), f"{nom!r} → {resultat.signature} ({', '.join(resultat.motifs)})"



# Real leases of a home network (danapsimer/dnsmasq-gui, see ../shared/fixtures/baux-dhcp/PROVENANCE.md),
# read by telesante's own parser: exactly these devices are forbidden, whatever else is there
# (Macs, a Dell, an MSI desktop, WiZ bulbs and ESP modules, phones with randomized MACs).
INTERDITS_BAUX_MAISON = {
    "64:12:69:57:00:15": "diffusion_multimedia",  # DIRECTV-HR54-69570013
    "3c:9b:d6:81:5b:9c": "diffusion_multimedia",  # viziocastdisplay
    "f8:0f:f9:8f:bd:9e": "assistant_vocal",  # Google-Nest-Mini
    "3c:e4:41:07:89:3c": "grand_public",  # Amazon Technologies Inc., no name
    "78:6c:84:74:d0:24": "grand_public",
    "44:42:01:30:f5:30": "grand_public",
    "64:16:66:1f:3e:de": "grand_public",  # Nest Labs (thermostats, Nest Hello)
    "64:16:66:1e:c8:bc": "grand_public",
    "64:16:66:6c:2a:12": "grand_public",
    "70:48:f7:d5:a9:91": "grand_public",  # Nintendo Co.,Ltd, no name: a game console
}


def test_baux_reels_d_un_reseau_domestique(identificateur, fixtures):
    texte = (fixtures / "baux-dhcp" / "dnsmasq-maison.leases").read_text("utf-8")
    trouves = {}
    for obs in observations_dnsmasq(texte, "dhcp", "dnsmasq-maison.leases"):
        resultat = identificateur.identifier(obs.mac, [obs.nom_hote] if obs.nom_hote else [])
        if _interdite(resultat):
            trouves[obs.mac] = resultat.categorie.cle
    assert trouves == INTERDITS_BAUX_MAISON
