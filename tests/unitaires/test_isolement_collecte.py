"""Collection of the isolation probe's file: schema, dates, probe and network names, stopped run, age."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from telesante.collecte.captures import collecter_captures
from telesante.isolement import EssaiIsolement
from telesante.configuration import Equipement

FIN = "2026-11-21T02:10:04+00:00"


def document(**changes) -> dict:
    """A valid probe file of sonde-patients-nord, one leak (TCP 443) and one silence (ICMP)."""
    data = {
        "format": "telesante-sonde-isolement", "version": 1, "sonde": "sonde-patients-nord",
        "reseau": "patients-nord", "debut": "2026-11-21T02:10:00+00:00", "fin": FIN,
        "bornes": {"paquets_max": 200, "debit_max": 20.0, "duree_max": 60.0, "delai": 1.0},
        "paquets_envoyes": 2, "methodes": ["icmp", "tcp"], "complet": True,
        "essais": [
            {"methode": "icmp", "cible": "10.20.110.1", "reseau_cible": "mission-nord", "resultat": "sans_reponse",
             "delai_ms": 1000.2},
            {"methode": "tcp", "cible": "10.20.110.10", "reseau_cible": "mission-nord", "resultat": "joint",
             "delai_ms": 1.4, "port": 443, "nom": "serveur-dsq", "detail": "connexion TCP établie"},
        ],
    }
    data.update(changes)
    return data


def _collecter(tmp_path: Path, texte: str, reseau: str | None = "patients-nord"):
    dossier = tmp_path / "captures" / "sonde-patients-nord"
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / "isolement.json").write_text(texte, encoding="utf-8")
    equipement = Equipement("sonde-patients-nord", "sonde_isolement", "hopital_nord", captures=dossier,
                            chemin_fichier="/var/lib/telesante/isolement.json", reseau=reseau)
    return collecter_captures(equipement, tmp_path)


def test_essais_lus_a_part_des_observations(tmp_path):
    resultat = _collecter(tmp_path, json.dumps(document()))
    assert resultat.complet, resultat.problemes
    assert resultat.observations == []
    assert resultat.essais_isolement == [
        EssaiIsolement("sonde-patients-nord", "icmp", "10.20.110.1", "sans_reponse", 1000.2),
        EssaiIsolement("sonde-patients-nord", "tcp", "10.20.110.10", "joint", 1.4, 443, "serveur-dsq",
                       "connexion TCP établie")]
    assert resultat.dates == [(datetime(2026, 11, 21, 2, 10, 4, tzinfo=timezone.utc),
                               "résultat de la sonde d'isolement", str(tmp_path / "captures/sonde-patients-nord/isolement.json"))]


def test_arret_avant_la_fin_incomplet_mais_essais_gardes(tmp_path):
    resultat = _collecter(tmp_path, json.dumps(document(complet=False, arret="budget de 2 paquets atteint")))
    assert not resultat.complet
    assert "arret : « budget de 2 paquets atteint »" in resultat.problemes[0]
    assert [e.resultat for e in resultat.essais_isolement] == ["sans_reponse", "joint"]


@pytest.mark.parametrize("texte, extrait", [
    ("", "fichier de la sonde d'isolement vide"),
    ('{"format": "telesante-sonde-isolement", "ver', "JSON invalide"),
    (json.dumps(document(version=2)), "non conforme au format v1 (version : 1 was expected)"),
    (json.dumps(document(essais=[{"methode": "udp", "cible": "10.20.110.1", "reseau_cible": "m",
                                  "resultat": "joint", "delai_ms": 1}])), "non conforme au format v1 (essais/0/methode"),
    (json.dumps(document(fin="2026-11-21T02:10:04")), "champ « fin » : date sans fuseau horaire"),
    (json.dumps(document(debut="hier")), "champ « debut » : date ISO 8601 attendue, lu « hier »"),
    (json.dumps(document(sonde="sonde-invites-sud")),
     "fichier d'une autre sonde (« sonde » : « sonde-invites-sud », attendu « sonde-patients-nord »)"),
    (json.dumps(document(reseau="invites-nord")),
     "sonde placée dans un autre réseau (« reseau » : « invites-nord », attendu « patients-nord »"),
    (json.dumps(document(nom="\ud800")), "demi-caractère UTF-16"),
])
def test_fichier_illisible_rend_incomplet_sans_essai(tmp_path, texte, extrait):
    resultat = _collecter(tmp_path, texte)
    assert not resultat.complet
    assert extrait in resultat.problemes[0], resultat.problemes
    assert resultat.essais_isolement == []


def test_fichier_absent_incomplet(tmp_path):
    dossier = tmp_path / "captures" / "sonde-patients-nord"
    dossier.mkdir(parents=True)
    resultat = collecter_captures(Equipement("sonde-patients-nord", "sonde_isolement", "hopital_nord",
                                             captures=dossier, reseau="patients-nord"), tmp_path)
    assert resultat.problemes == [f"{dossier / 'isolement.json'} : capture manquante (« cat {{chemin}} »)"]


def test_resultat_perime_incomplet(tmp_path):
    resultat = _collecter(tmp_path, json.dumps(document()))
    resultat.verifier_age(datetime(2026, 11, 23, 23, 59, tzinfo=timezone.utc), timedelta(hours=36))
    assert not resultat.complet
    assert "résultat de la sonde d'isolement vieille de 69 heures" in resultat.problemes[0]
    assert "source périmée" in resultat.problemes[0]
