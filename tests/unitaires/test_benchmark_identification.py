"""Smoke test of benchmarks/identification_politique.py on a small data set.

No timing assertion here (the figures belong to the benchmark itself): the test checks
that the benchmark runs, reports every goal, and that the audit's findings on the
synthetic data are exactly those the generator planted.
"""

from collections import Counter

import pytest

from telesante.correlation import correler
from telesante.placement import CarteReseaux
from telesante.identification import charger_identificateur
from telesante.politique import (ACTIF, CATEGORIE_INTERDITE, CRITIQUE, LEVE, RESEAU_NON_DECLARE,
                                 USURPATION_POSSIBLE, evaluer)

N = 20_000


@pytest.fixture(scope="module")
def banc():
    """benchmarks/identification_politique.py, imported (the project root is on sys.path)."""
    from benchmarks import identification_politique

    return identification_politique


@pytest.fixture(scope="module")
def jeu(banc):
    return banc.generer(N)


def test_main_runs_and_reports_every_goal(banc, capsys):
    code = banc.main(["--observations", str(N), "--echantillon", "500"])
    sortie = capsys.readouterr().out
    assert code in (0, 1), sortie  # 2 would mean wrong findings; 1 only a (scaled) timing goal
    assert f"{N:,}".replace(",", "\u202f") + " observations" in sortie
    assert "EUI(mac).oui.registration().org" in sortie
    assert "meilleur de 5 essais" in sortie
    assert "ru_maxrss" in sortie
    objectifs = [line.split() for line in sortie.split("Objectifs :")[1].strip().splitlines()]
    assert len(objectifs) == 4 and all(words[0] in ("PASS", "ÉCHEC") for words in objectifs)
    assert objectifs[-1][:3] == ["PASS", "résultats", "identiques"], sortie


def test_generator_is_exact_and_deterministic(banc, jeu):
    assert len(jeu.observations) == N
    again = banc.generer(N)
    assert [o.mac for o in again.observations[:500]] == [o.mac for o in jeu.observations[:500]]
    assert jeu.constats_attendus() == again.constats_attendus()
    kinds = set(jeu.composition)
    assert {banc.AUTHORIZED, banc.RANDOMIZED, banc.AMAZON, banc.ROKU, banc.SONOS} <= kinds
    assert any(o.mac is None for o in jeu.observations)  # mDNS sightings known by IP only
    assert any(o.nom_hote and o.nom_hote.startswith("amazon-") for o in jeu.observations)


def test_findings_are_exactly_the_planted_ones(banc, jeu):
    appareils = correler(jeu.observations, jeu.equipements)
    constats, counts, non_declares = evaluer(appareils, CarteReseaux(jeu.reseaux), charger_identificateur(),
                                             jeu.autorises, jeu.derogations, banc.TODAY)
    assert banc.verifier(jeu, appareils, constats, counts) == []

    # The consumer devices planted on mission networks are all critical findings...
    expected_critical = sum(1 for a in jeu.attendus.values() if a.constat and a.constat[0] == CRITIQUE)
    assert expected_critical > 100
    critical = [c for c in constats if c.gravite == CRITIQUE]
    assert len(critical) == expected_critical
    assert {c.type for c in critical} == {CATEGORIE_INTERDITE, USURPATION_POSSIBLE}
    # Consumer devices on the undeclared range (VLAN 999) are findings to check, never lost.
    assert all(c.reseau.mission or c.type == RESEAU_NON_DECLARE for c in constats)
    undeclared = {(e.site, e.vlan) for e in non_declares.entrees if e.vlan is not None}
    assert undeclared == {(site, 999) for site in ("hopital_nord", "clinique_sud", "chsld_est")}
    assert sum(1 for c in constats if c.type == RESEAU_NON_DECLARE) == sum(
        1 for a in jeu.attendus.values() if a.constat and a.constat[1] == RESEAU_NON_DECLARE) > 0
    # ...the waivers in force lift theirs, the expired ones bring them back.
    statuses = Counter((c.statut, c.derogation_expiree) for c in constats if c.derogation is not None)
    planted = Counter((a.constat[2], a.constat[3]) for a in jeu.attendus.values()
                      if a.constat and a.constat[2:] != (ACTIF, False))
    assert statuses[(LEVE, False)] == planted[(LEVE, False)] > 0
    assert statuses[(ACTIF, True)] == planted[(ACTIF, True)] > 0
    # Off-mission networks are counted, never reported.
    assert counts == dict(jeu.appareils_par_reseau())
    assert any(not r.mission and counts.get(r.nom) for r in jeu.reseaux)
