"""Isolation policy: pairs (off-mission -> mission) judged from the probes' attempts."""

from __future__ import annotations

from datetime import date

from netaddr import IPNetwork

from telesante.isolement import (ACTIF, LEVE, NON_SEPARE, NON_VERIFIE, SEPARE, EssaiIsolement, SondeLue,
                                 evaluer_isolement)
from telesante.configuration import DerogationIsolement, Reseau

MISSION = Reseau("mission-nord", "nord", True, (IPNetwork("10.20.110.0/24"),), frozenset({110}))
IMAGERIE = Reseau("imagerie-nord", "nord", True, (IPNetwork("10.20.130.0/24"),), frozenset({130}))
PATIENTS = Reseau("patients-nord", "nord", False, (IPNetwork("10.20.120.0/24"),), frozenset({120}))
MISSION_SUD = Reseau("mission-sud", "sud", True, (IPNetwork("10.30.110.0/24"),), frozenset({210}))
RESEAUX = [MISSION, IMAGERIE, PATIENTS, MISSION_SUD]
AUJOURD_HUI = date(2026, 11, 21)


def _essai(cible, resultat="sans_reponse", methode="icmp", port=None):
    return EssaiIsolement("sonde-patients", methode, cible, resultat, 1.0, port)


def _etats(etats):
    return {(e.depuis.nom, e.vers.nom): e.statut for e in etats}


def test_separe_seulement_si_chaque_reseau_de_mission_a_ete_essaye():
    sonde = SondeLue("sonde-patients", "nord", "patients-nord", True, (_essai("10.20.110.1"),))
    constats, etats = evaluer_isolement(RESEAUX, [sonde], [], AUJOURD_HUI)
    assert constats == []
    # imagerie-nord had no target in the plan: not verified; another site's network is never paired.
    assert _etats(etats) == {("patients-nord", "mission-nord"): SEPARE, ("patients-nord", "imagerie-nord"): NON_VERIFIE}


def test_cible_jointe_constat_critique_avec_ses_preuves():
    essai = _essai("10.20.110.42", "joint", "tcp", 443)
    sonde = SondeLue("sonde-patients", "nord", "patients-nord", True, (essai, _essai("10.20.130.1")))
    constats, etats = evaluer_isolement(RESEAUX, [sonde], [], AUJOURD_HUI)
    [constat] = constats
    assert (constat.gravite, constat.type, constat.statut) == ("critique", "reseaux_non_separes", ACTIF)
    assert constat.message == ("réseaux non séparés : 10.20.110.42, port 443 (« mission-nord ») joint depuis "
                               "« patients-nord » par connexion TCP (sonde sonde-patients)")
    assert _etats(etats) == {("patients-nord", "mission-nord"): NON_SEPARE, ("patients-nord", "imagerie-nord"): SEPARE}


def test_sonde_incomplete_jamais_separe_mais_la_fuite_reste_un_constat():
    sonde = SondeLue("sonde-patients", "nord", "patients-nord", False,
                     (_essai("10.20.110.1", "joint"), _essai("10.20.130.1")))
    constats, etats = evaluer_isolement(RESEAUX, [sonde], [], AUJOURD_HUI)
    assert len(constats) == 1
    assert _etats(etats) == {("patients-nord", "mission-nord"): NON_SEPARE,
                             ("patients-nord", "imagerie-nord"): NON_VERIFIE}


def test_sans_sonde_non_verifie():
    _, etats = evaluer_isolement(RESEAUX, [], [], AUJOURD_HUI)
    assert set(_etats(etats).values()) == {NON_VERIFIE}


def test_adresse_hors_des_reseaux_de_mission_du_site_ignoree():
    sonde = SondeLue("sonde-patients", "nord", "patients-nord", True,
                     (_essai("10.30.110.5", "joint"), _essai("8.8.8.8", "joint"), _essai("pas une ip", "joint")))
    constats, etats = evaluer_isolement(RESEAUX, [sonde], [], AUJOURD_HUI)
    assert constats == [] and set(_etats(etats).values()) == {NON_VERIFIE}


def test_derogation_en_vigueur_puis_expiree():
    portail = _essai("10.20.110.80", "joint", "tcp", 443)
    sonde = SondeLue("sonde-patients", "nord", "patients-nord", True, (portail, _essai("10.20.130.1")))
    ouverte = DerogationIsolement("patients-nord", "10.20.110.80", "portail d'accueil des patients",
                                  date(2026, 12, 31), port=443)
    constats, etats = evaluer_isolement(RESEAUX, [sonde], [ouverte], AUJOURD_HUI)
    assert [c.statut for c in constats] == [LEVE]
    assert _etats(etats)[("patients-nord", "mission-nord")] == SEPARE
    autre_port = DerogationIsolement("patients-nord", "10.20.110.80", "x", date(2026, 12, 31), port=80)
    assert [c.statut for c in evaluer_isolement(RESEAUX, [sonde], [autre_port], AUJOURD_HUI)[0]] == [ACTIF]
    constats, _ = evaluer_isolement(RESEAUX, [sonde], [ouverte], date(2027, 1, 1))
    assert constats[0].statut == ACTIF and "dérogation expirée le 2026-12-31" in constats[0].message
