"""The audit launches the isolation probe itself over SSH (`telesante_sonde_lancee_par_audit: true`).

A patients' VLAN and a mission VLAN behind a Linux gateway whose firewall separates them; the
probe's namespace gets an sshd on a management link, as the switch and the gateway have. The audit
`--source direct` reads the gateway's DHCP leases and launches the real probe with the plan it
built from the inventory: separated → code 0; one broadened firewall rule → code 1 and the critical
finding; a probe that fails, or that gives nothing within its delay → the probe *incomplet* (code 2).
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import _exiger_hote_laboratoire
from .topologie import (VLAN_MISSION, VLAN_PATIENTS, VLANS_PAR_DEFAUT, DescriptionHote, Topologie,
                        construire_laboratoire)
from .test_isolement import PORT, _demarrer_service_tcp, _iptables, _separer_par_le_pare_feu

pytestmark = pytest.mark.racine

TOPOLOGIE = Topologie(
    vlans=VLANS_PAR_DEFAUT,
    hotes=(DescriptionHote("poste-mission", "d0:43:1e:aa:00:01", VLAN_MISSION, "POSTE-01"),
           DescriptionHote("sonde-patients", "d0:43:1e:aa:00:02", VLAN_PATIENTS, "SONDE-PATIENTS")),
    sonde="sonde-patients",
)
MISSION, PATIENTS = VLANS_PAR_DEFAUT
TELESANTE = Path(sys.executable).with_name("telesante")


@pytest.fixture(scope="module")
def labo():
    """The ward separated by the gateway's firewall, a TCP service on the post, an sshd on the probe."""
    _exiger_hote_laboratoire()
    lab = construire_laboratoire(TOPOLOGIE)
    serveur = None
    try:
        interfaces = _separer_par_le_pare_feu(lab)
        serveur = _demarrer_service_tcp(lab)
        lab.gerer_par_ssh("sonde-patients")
        lab.interfaces = interfaces
        yield lab
    finally:
        if serveur is not None:
            serveur.kill()
            serveur.wait(timeout=5)
        lab.close()


def _inventaire(lab, dossier: Path, **sonde) -> Path:
    """The lab's inventory: the gateway's DHCP server and the probe, launched by the audit."""
    noeud, poste = lab.noeuds["sonde-patients"], lab.hote("poste-mission")
    variables = {"ansible_host": noeud.ip_gestion, "ansible_user": "root",
                 "ansible_ssh_private_key_file": str(lab.cle_client), "telesante_plateforme": "sonde_isolement",
                 "telesante_site": "labo", "telesante_reseau": "patients", "telesante_sonde_lancee_par_audit": True,
                 "telesante_sonde_commande": str(TELESANTE), "telesante_sonde_interface": "eth0",
                 "telesante_sonde_duree_max": 20, "telesante_fichier": str(dossier / "isolement.json"), **sonde}
    inventaire = {"all": {
        "hosts": {
            "dhcp-labo": {"ansible_host": lab.passerelle.ip_gestion, "ansible_user": "root",
                          "ansible_ssh_private_key_file": str(lab.cle_client), "telesante_plateforme": "dnsmasq",
                          "telesante_site": "labo", "telesante_fichier": str(lab.fichier_baux)},
            "sonde-patients": variables},
        "vars": {
            "telesante_fichier_hotes_connus": str(lab.hotes_connus),
            "telesante_reseaux": [
                {"nom": "mission", "site": "labo", "type": "mission", "sous_reseaux": [MISSION.reseau],
                 "cibles_isolement": [{"adresse": poste.ip, "ports": [PORT], "nom": "poste"}]},
                {"nom": "patients", "site": "labo", "type": "hors_mission", "sous_reseaux": [PATIENTS.reseau]}],
            "telesante_equipements_autorises": [{"mac": poste.mac, "nom": "poste-mission", "type": "poste"}]}}}
    dossier.mkdir(parents=True, exist_ok=True)
    chemin = dossier / "hosts.yml"
    chemin.write_text(json.dumps(inventaire))  # JSON is YAML
    return chemin


def _auditer(inventaire: Path, dossier: Path, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    audit = subprocess.run([str(TELESANTE), "audit", "-i", str(inventaire), "--source", "direct", "-f", "json",
                            "-o", str(dossier / "rapports"), "--tentatives", "1", *options],
                           capture_output=True, text=True, timeout=180,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(dossier), "COLUMNS": "200"})
    rapport = dossier / "rapports" / "rapport.json"
    return audit, json.loads(rapport.read_text()) if rapport.exists() else {}


def test_reseaux_separes_code_0_resultat_de_ce_passage(labo, tmp_path):
    audit, rapport = _auditer(_inventaire(labo, tmp_path), tmp_path, "--enregistrer-captures", str(tmp_path / "cap"))
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert rapport["isolement"]["paires"] == [{"site": "labo", "depuis": "patients", "vers": "mission",
                                               "statut": "separe", "sondes": ["sonde-patients"],
                                               "constats_actifs": 0}]
    capture = json.loads((tmp_path / "cap" / "sonde-patients" / "isolement.json").read_text())
    lu_sur_la_sonde = json.loads((tmp_path / "isolement.json").read_text())
    assert capture == lu_sur_la_sonde and len(capture["passage"]) == 32
    assert {e["methode"] for e in capture["essais"]} >= {"icmp", "tcp", "arp"}  # interface from the inventory


def test_regle_de_pare_feu_elargie_non_conforme(labo, tmp_path):
    poste = labo.hote("poste-mission")
    regle = ["FORWARD", "-i", labo.interfaces["patients"], "-o", labo.interfaces["mission"], "-p", "tcp",
             "--dport", str(PORT), "-j", "ACCEPT"]
    _iptables(labo, "-I", *regle)
    try:
        audit, rapport = _auditer(_inventaire(labo, tmp_path), tmp_path)
    finally:
        _iptables(labo, "-D", *regle)
    assert audit.returncode == 1, audit.stdout + audit.stderr
    assert [p["statut"] for p in rapport["isolement"]["paires"]] == ["non_separe"]
    [constat] = rapport["isolement"]["constats"]
    assert (constat["gravite"], constat["sonde"], constat["cible"], constat["port"], constat["methode"]) == (
        "critique", "sonde-patients", poste.ip, PORT, "tcp")


def test_sonde_en_echec_le_fichier_d_une_autre_nuit_n_est_pas_lu(labo, tmp_path):
    """The probe fails (unknown interface, code 2): the result an earlier run left in its file is not read."""
    audit, _ = _auditer(_inventaire(labo, tmp_path), tmp_path)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert (tmp_path / "isolement.json").exists()  # last night's result, still there
    audit, rapport = _auditer(_inventaire(labo, tmp_path, telesante_sonde_interface="absente0"), tmp_path)
    assert audit.returncode == 2, audit.stdout + audit.stderr
    texte = " ".join((audit.stdout + audit.stderr).split())
    assert "sonde lancée par l'audit en échec (code 2 : sonde arrêtée ou impossible à lancer" in texte
    assert "interface inconnue" in texte
    assert [p["statut"] for p in rapport["isolement"]["paires"]] == ["non_verifie"]


def test_sonde_muette_incomplet(labo, tmp_path):
    """A probe stuck (here: a stand-in that reads the plan, then never answers) → incomplet after its delay,
    and the probe abandoned by the audit is stopped on its host (by `timeout`) instead of running on."""
    bloquee = tmp_path / "telesante-bloquee"
    attente = f"60.{secrets.randbelow(10**9):09d}"  # a `sleep` of its own, found among the machine's processes
    bloquee.write_text(f"#!/bin/sh\ncat > /dev/null\nsleep {attente}\n")
    bloquee.chmod(0o755)
    debut = time.monotonic()
    audit, rapport = _auditer(_inventaire(labo, tmp_path, telesante_sonde_commande=str(bloquee),
                                          telesante_sonde_duree_max=2), tmp_path, "--delai-commande", "3")
    assert time.monotonic() - debut < 25
    assert audit.returncode == 2, audit.stdout + audit.stderr
    assert "sonde lancée par l'audit sans résultat après 5 s" in audit.stdout + audit.stderr
    assert [p["statut"] for p in rapport["isolement"]["paires"]] == ["non_verifie"]
    # The stand-in (a shell and its `sleep`) is gone from the probe within its bound (6 s) + SIGTERM.
    limite = time.monotonic() + 15
    while subprocess.run(["pgrep", "-f", str(bloquee)], capture_output=True).returncode == 0:
        assert time.monotonic() < limite, "sonde abandonnée par l'audit toujours en cours sur la sonde"
        time.sleep(0.2)
    assert subprocess.run(["pgrep", "-x", "-f", f"sleep {attente}"], capture_output=True).returncode == 1
