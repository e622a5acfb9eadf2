"""`telesante capteur isolement`: plan from a file or the inventory, bounds, atomic output (loopback only)."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from telesante.collecte.plan_isolement import Cible, plan_de_l_inventaire
from telesante.cli import main
from telesante.inventaire import charger_configuration
from tests.unitaires.test_isolement_inventaire import _inventaire

TELESANTE = Path(sys.executable).with_name("telesante")
RESULTAT = Draft202012Validator(json.loads(
    resources.files("telesante.donnees").joinpath("sonde-isolement-v1.schema.json").read_text("utf-8")))


@pytest.fixture
def service():
    """A TCP service listening on the loopback: the « mission » server the probe must not reach."""
    with socket.socket() as serveur:
        serveur.bind(("127.0.0.1", 0))
        serveur.listen(8)
        yield serveur.getsockname()[1]


def _plan(tmp_path: Path, port: int, **changes) -> Path:
    plan = {"sonde": "sonde-boucle", "reseau": "patients", "cibles": [
                {"adresse": "127.0.0.1", "reseau": "mission", "ports": [port], "nom": "serveur"}],
            "sous_reseaux_mission": {"mission": ["127.0.0.0/8"]}, "methodes": ["tcp"]}
    plan.update(changes)
    chemin = tmp_path / "plan.json"
    chemin.write_text(json.dumps(plan))
    return chemin


def _lancer(*arguments) -> subprocess.CompletedProcess:
    return subprocess.run([TELESANTE, "capteur", "isolement", *map(str, arguments)], capture_output=True, text=True,
                          timeout=60)


def test_plan_fichier_fuite_ecrite(tmp_path, service):
    sortie = tmp_path / "isolement.json"
    resultat = _lancer("--plan", _plan(tmp_path, service), "--sortie", sortie)
    assert resultat.returncode == 0, resultat.stderr
    document = json.loads(sortie.read_text())
    assert list(RESULTAT.iter_errors(document)) == []
    assert [(e["methode"], e["cible"], e["port"], e["resultat"]) for e in document["essais"]] == [
        ("tcp", "127.0.0.1", service, "joint")]
    assert document["complet"] is True and document["paquets_envoyes"] == 1
    assert "1 cibles de mission jointes" in resultat.stdout


def test_bornes_de_la_commande_l_emportent(tmp_path, service):
    sortie = tmp_path / "isolement.json"
    plan = _plan(tmp_path, service, cibles=[{"adresse": "127.0.0.1", "reseau": "mission", "ports": [service, 1, 2]}])
    assert _lancer("--plan", plan, "--sortie", sortie, "--paquets-max", 2, "--debit-max", 50,
                   "--duree-max", 5).returncode == 0
    document = json.loads(sortie.read_text())
    assert document["paquets_envoyes"] == 2 and len(document["essais"]) == 2
    assert document["complet"] is False and document["arret"] == "budget de 2 paquets atteint"
    assert document["bornes"] == {"paquets_max": 2, "debit_max": 50.0, "duree_max": 5.0, "delai": 1.0}


@pytest.mark.parametrize("option, valeur", [("--paquets-max", 0), ("--paquets-max", 10001), ("--paquets-max", "1e400"),
                                            ("--debit-max", "nan"), ("--debit-max", "inf"), ("--debit-max", 0),
                                            ("--duree-max", 3601), ("--duree-max", -1), ("--echantillon", 257)])
def test_bornes_hors_limites_refusees(tmp_path, service, option, valeur):
    sortie = tmp_path / "isolement.json"
    resultat = _lancer("--plan", _plan(tmp_path, service), "--sortie", sortie, option, valeur)
    assert resultat.returncode == 3 and "attendu" in resultat.stderr
    assert not sortie.exists()


@pytest.mark.parametrize("changes, extrait", [
    ({"cibles": [{"adresse": "192.0.2.1", "reseau": "mission"}]}, "192.0.2.1 hors des sous-réseaux de « mission »"),
    ({"cibles": [{"adresse": "127.0.0.1", "reseau": "autre"}]}, "réseau « autre » absent de sous_reseaux_mission"),
    ({"cibles": [{"adresse": "localhost", "reseau": "mission"}]}, "adresse IPv4 invalide « localhost »"),
    ({"sous_reseaux_mission": {"mission": ["127.0.0.1/8"]}}, "CIDR IPv4 invalide"),
    ({"bornes": {"paquets_max": 1e9}}, "plan non conforme au format v1 (bornes/paquets_max"),
    ({"balayage": "10.0.0.0/8"}, "plan non conforme au format v1 (racine : Additional properties"),
    ({"methodes": ["udp"]}, "methodes/0"),
])
def test_plan_invalide_code_3_rien_envoye(tmp_path, service, changes, extrait):
    sortie = tmp_path / "isolement.json"
    resultat = _lancer("--plan", _plan(tmp_path, service, **changes), "--sortie", sortie)
    assert resultat.returncode == 3, resultat.stderr
    assert extrait in resultat.stderr
    assert not sortie.exists()


def test_plan_illisible(tmp_path):
    plan = tmp_path / "plan.json"
    plan.write_bytes(b'{"sonde": "\xff')
    assert _lancer("--plan", plan, "--sortie", tmp_path / "s.json").returncode == 3
    plan.write_text('{"sonde": ')
    resultat = _lancer("--plan", plan, "--sortie", tmp_path / "s.json")
    assert resultat.returncode == 3 and "JSON invalide (ligne 1" in resultat.stderr
    assert _lancer("--plan", tmp_path / "absent.json", "--sortie", tmp_path / "s.json").returncode == 3


def test_sortie_impossible_rien_d_ecrit_code_2(tmp_path, service):
    resultat = _lancer("--plan", _plan(tmp_path, service), "--sortie", tmp_path / "absent" / "isolement.json")
    assert resultat.returncode == 2 and "Résultat non écrit" in resultat.stderr


def test_plan_construit_depuis_l_inventaire(exemple):
    config = charger_configuration(_inventaire(exemple))
    sonde = next(e for e in config.equipements if e.nom == "sonde-patients-test")
    plan = plan_de_l_inventaire(config.reseaux, sonde, ["10.20.110.42", "10.20.110.10", "10.30.210.5", "10.20.120.9",
                                                        "pas-une-ip", "10.20.110.41", "10.20.110.43"], echantillon=2)
    assert (plan.sonde, plan.reseau, plan.sous_reseaux_mission) == (
        "sonde-patients-test", "patients-nord", {"mission-nord": ("10.20.110.0/24",)})
    assert plan.cibles == (
        Cible("10.20.110.1", "mission-nord", nom="passerelle présumée"),
        Cible("10.20.110.10", "mission-nord", (443, 3389), "serveur-dsq"),
        Cible("10.20.110.53", "mission-nord", (), "", True),
        Cible("10.20.110.42", "mission-nord", nom="vue par l'audit"),
        Cible("10.20.110.41", "mission-nord", nom="vue par l'audit"),
    )


def test_commande_depuis_l_inventaire_et_l_historique(exemple, tmp_path, service):
    """Mission network moved onto the loopback: the plan the command builds is run there, and nowhere else."""
    hosts = _inventaire(exemple, cibles=f"    cibles_isolement:\n      - adresse: 127.0.0.10\n"
                                        f"        ports: [{service}]\n", derogations="")
    reseaux = hosts.parent / "group_vars/all/reseaux.yml"
    reseaux.write_text(reseaux.read_text().replace("[10.20.110.0/24]", "[127.0.0.0/24]"))
    historique = tmp_path / "historique.sqlite"
    assert main(["audit", "-i", str(hosts), "-f", "json", "-o", str(tmp_path / "r"), "--historique", str(historique),
                 "--date", "2026-11-21"]) in (1, 2)
    with sqlite3.connect(historique) as base:  # an address the last run saw on the mission network
        base.execute("UPDATE constats SET preuves = ? WHERE rowid = (SELECT MIN(rowid) FROM constats)",
                     (json.dumps({"ips": ["127.0.0.20", "10.30.210.7"]}),))
    sortie = tmp_path / "isolement.json"
    resultat = _lancer("-i", hosts, "--sonde", "sonde-patients-test", "--historique", historique,
                       "--sortie", sortie, "--duree-max", 20)
    assert resultat.returncode == 0, resultat.stderr
    document = json.loads(sortie.read_text())
    assert (document["sonde"], document["reseau"]) == ("sonde-patients-test", "patients-nord")
    essayes = {(e["methode"], e["cible"], e.get("port")) for e in document["essais"]}
    assert ("tcp", "127.0.0.10", service) in essayes
    assert {c for _, c, _ in essayes} == {"127.0.0.1", "127.0.0.10", "127.0.0.20"}


@pytest.mark.parametrize("arguments, extrait", [
    (["--sonde", "sw-nord-01"], "« sw-nord-01 » n'est pas une sonde d'isolement"),
    ([], "--sonde NOM est obligatoire"),
])
def test_sonde_inconnue_code_3(exemple, tmp_path, arguments, extrait):
    resultat = _lancer("-i", _inventaire(exemple), *arguments, "--sortie", tmp_path / "s.json")
    assert resultat.returncode == 3 and extrait in resultat.stderr


def test_interface_inconnue_code_2_rien_d_ecrit(tmp_path, service):
    sortie = tmp_path / "isolement.json"
    resultat = _lancer("--plan", _plan(tmp_path, service, methodes=["arp"]), "--interface", "sans-telle\x1b[2J",
                       "--sortie", sortie)
    assert resultat.returncode == 2
    assert "interface inconnue (interface « sans-telle\\x1b[2J »" in resultat.stderr
    assert not sortie.exists()
