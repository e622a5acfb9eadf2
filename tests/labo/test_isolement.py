"""The isolation probe in the network lab: a patients' VLAN and a mission VLAN behind a Linux gateway.

The separated case (the gateway routes, its firewall blocks patients -> mission) gives no
evidence; then each leak, one per test and undone after it: a broadened firewall rule, a route
with no filter, a cable that bridges the two VLANs, a mission host with a leg in the patients'
VLAN. Each leak must give exactly the expected evidence, by the right method. The probe's bounds
are measured on the gateway (iptables counters), not taken from what the probe says of itself.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from .conftest import _exiger_hote_laboratoire
from .topologie import (HOTES_PAR_DEFAUT, PASSERELLE, VLAN_MISSION, VLAN_PATIENTS, COMMUTATEUR, MODE_VLAN_DOT1Q, VLANS_PAR_DEFAUT,
                        DescriptionHote, Topologie, construire_laboratoire)

pytestmark = pytest.mark.racine

PORT = 8443
NEST = next(h for h in HOTES_PAR_DEFAUT if h.nom == "nest-hub")
TOPOLOGIE = Topologie(
    vlans=VLANS_PAR_DEFAUT,
    hotes=(DescriptionHote("poste-mission", "d0:43:1e:aa:00:01", VLAN_MISSION, "POSTE-01"), NEST,
           DescriptionHote("sonde-patients", "d0:43:1e:aa:00:02", VLAN_PATIENTS, "SONDE-PATIENTS")),
    sonde="sonde-patients",
)
MISSION = VLANS_PAR_DEFAUT[0]
SCHEMA = Draft202012Validator(json.loads(
    resources.files("telesante").joinpath("donnees/sonde-isolement-v1.schema.json").read_text(encoding="utf-8")),
    format_checker=FormatChecker())

SONDE = """
import json, sys
from telesante.collecte.capteur_isolement import sonder
from telesante.collecte.plan_isolement import Bornes, Cible, Plan
p = json.loads(sys.argv[1])
plan = Plan(sonde="sonde-patients", reseau="patients", interface="eth0",
            cibles=tuple(Cible(**c) for c in p["cibles"]), sous_reseaux_mission={"mission": (p["mission"],)},
            methodes=tuple(p.get("methodes", ("icmp", "tcp", "dns", "arp", "mdns"))), bornes=Bornes(**p["bornes"]))
print(json.dumps(sonder(plan)))
"""


def _separer_par_le_pare_feu(laboratoire) -> dict[str, str]:
    """The gateway routes between the VLANs, and its firewall keeps the patients' VLAN away from the
    mission network; returns the gateway's interface of each (« patients », « mission »)."""
    patients = _interface_passerelle(laboratoire, VLAN_PATIENTS)
    mission = _interface_passerelle(laboratoire, VLAN_MISSION)
    laboratoire.executer_dans(PASSERELLE, ["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"], check=True)
    _iptables(laboratoire, "-P", "FORWARD", "DROP")
    _iptables(laboratoire, "-A", "FORWARD", "-m", "state", "--state", "ESTABLISHED,RELATED", "-j", "ACCEPT")
    _iptables(laboratoire, "-A", "INPUT", "-i", patients, "-d", MISSION.reseau, "-j", "DROP")
    return {"patients": patients, "mission": mission}


def _demarrer_service_tcp(laboratoire) -> subprocess.Popen:
    """An HTTP server on the mission post, port PORT, returned once it listens (the caller stops it)."""
    poste = laboratoire.hote("poste-mission")
    serveur = subprocess.Popen(["ip", "netns", "exec", poste.espace, sys.executable, "-m", "http.server",
                                str(PORT), "--bind", poste.ip], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    limite = time.monotonic() + 10
    while f"{poste.ip}:{PORT}" not in laboratoire.executer_dans("poste-mission", ["ss", "-Hltn"]).stdout:
        if time.monotonic() >= limite or serveur.poll() is not None:
            serveur.kill()
            serveur.wait(timeout=5)
            raise AssertionError("service TCP du poste non démarré")
        time.sleep(0.1)
    return serveur


def _interface_passerelle(laboratoire, vid: int) -> str:
    return f"trunk0.{vid}" if laboratoire.mode_vlan == MODE_VLAN_DOT1Q else f"vlan{vid}"


def _iptables(laboratoire, *regle: str) -> None:
    laboratoire.executer_dans(PASSERELLE, ["iptables", "-w", "5", *regle], check=True)


def _brancher(laboratoire, extremite: str, vid: int) -> None:
    """Plug a switch-side veth end into a VLAN's access (untagged) membership."""
    sw = laboratoire.espace_de(COMMUTATEUR)
    subprocess.run(["ip", "-n", sw, "link", "set", extremite, "master", laboratoire.ponts_commutateur[vid]], check=True)
    if laboratoire.mode_vlan == MODE_VLAN_DOT1Q:
        subprocess.run(["ip", "netns", "exec", sw, "bridge", "vlan", "add", "dev", extremite, "vid", str(vid),
                        "pvid", "untagged"], check=True)
    subprocess.run(["ip", "-n", sw, "link", "set", extremite, "up"], check=True)


@pytest.fixture(scope="module")
def labo():
    """The ward, the gateway routing but its firewall separating patients from mission, a TCP service."""
    _exiger_hote_laboratoire()
    laboratoire = construire_laboratoire(TOPOLOGIE)
    serveur = resolveur = None
    try:
        interfaces = _separer_par_le_pare_feu(laboratoire)
        patients = interfaces["patients"]
        # Counts every IPv4 packet the probe sends that reaches the gateway (the bound, measured).
        _iptables(laboratoire, "-t", "mangle", "-A", "PREROUTING", "-i", patients, "-s", laboratoire.hote("sonde-patients").ip)
        poste = laboratoire.hote("poste-mission")
        serveur = _demarrer_service_tcp(laboratoire)
        limite = time.monotonic() + 10
        resolveur = subprocess.Popen(
            ["ip", "netns", "exec", poste.espace, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
             "--no-resolv", "--no-hosts", "--bind-interfaces", f"--listen-address={poste.ip}", "--user=root",
             "--group=root", f"--pid-file={laboratoire.dossier / 'resolveur.pid'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while f"{poste.ip}:53" not in laboratoire.executer_dans("poste-mission", ["ss", "-Hlun"]).stdout:
            assert time.monotonic() < limite + 10 and resolveur.poll() is None, "résolveur du poste non démarré"
            time.sleep(0.1)
        laboratoire.interfaces = interfaces
        yield laboratoire
    finally:
        for processus in (serveur, resolveur):
            if processus is not None:
                processus.kill()
                processus.wait(timeout=5)
        laboratoire.close()


def _sonder(laboratoire, methodes=None, **bornes) -> dict:
    poste, nest = laboratoire.hote("poste-mission"), laboratoire.hote("nest-hub")
    plan = {"mission": MISSION.reseau,
            "bornes": {"paquets_max": 50, "debit_max": 50.0, "duree_max": 20.0, "delai": 0.5, "ecoute_mdns": 2.0,
                       **bornes},
            "cibles": [{"adresse": MISSION.ip_passerelle, "reseau": "mission", "nom": "passerelle"},
                       {"adresse": poste.ip, "reseau": "mission", "ports": [PORT], "nom": "poste", "resolveur": True},
                       {"adresse": nest.ip, "reseau": "mission"}]}
    if methodes:
        plan["methodes"] = methodes
    sortie = laboratoire.executer_dans("sonde-patients", [sys.executable, "-c", SONDE, json.dumps(plan)], timeout=60, check=True)
    document = json.loads(sortie.stdout)
    SCHEMA.validate(document)
    return document


def _fuites(document: dict) -> set[tuple]:
    return {(e["methode"], e["cible"], e.get("port")) for e in document["essais"] if e["resultat"] == "joint"}


def _paquets_comptes(laboratoire) -> int:
    """Packets counted by the probe's accounting rule (first column of its row)."""
    sortie = laboratoire.executer_dans(PASSERELLE, ["iptables", "-w", "5", "-t", "mangle", "-nvxL", "PREROUTING"], check=True).stdout
    sonde = laboratoire.hote("sonde-patients").ip
    [ligne] = [ligne for ligne in sortie.splitlines() if re.search(rf"\s{re.escape(sonde)}\s", ligne)]
    return int(ligne.split()[0])


def _remettre_compteur(laboratoire) -> None:
    _iptables(laboratoire, "-t", "mangle", "-Z", "PREROUTING")


def test_bornes_tenues_et_mesurees_sur_la_passerelle(labo):
    _remettre_compteur(labo)
    debut = time.monotonic()
    document = _sonder(labo, methodes=["icmp", "tcp"], paquets_max=3, debit_max=5.0)
    duree = time.monotonic() - debut
    assert document["complet"] is False and "3 paquets" in document["arret"]
    assert document["paquets_envoyes"] == 3
    # What reached the gateway: the 3 probe packets (+ the TCP SYN retransmissions the kernel may add: none
    # here, the SYN is dropped within 0.5 s), never more.
    assert _paquets_comptes(labo) == 3
    assert duree >= 2 / 5.0  # 3 packets at 5 per second: at least 0.4 s between the first and the last


def test_duree_maximale_tenue(labo):
    debut = time.monotonic()
    document = _sonder(labo, methodes=["icmp"], duree_max=1.0, delai=0.8, debit_max=1.0)
    assert time.monotonic() - debut < 1.0 + 0.8 + 3.0  # the bound, one reply wait, process start-up
    assert document["complet"] is False and "durée maximale" in document["arret"]


def test_reseaux_separes_aucune_preuve(labo):
    document = _sonder(labo)
    assert document["complet"] is True
    assert _fuites(document) == set()
    methodes = {e["methode"] for e in document["essais"]}
    assert {"icmp", "tcp", "dns", "arp"} <= methodes  # mDNS gives an essay only when something is heard


def test_regle_de_pare_feu_elargie_au_port_du_poste(labo):
    regle = ["FORWARD", "-i", labo.interfaces["patients"], "-o", labo.interfaces["mission"], "-p", "tcp",
             "--dport", str(PORT), "-j", "ACCEPT"]
    _iptables(labo, "-I", *regle)
    try:
        document = _sonder(labo)
    finally:
        _iptables(labo, "-D", *regle)
    assert _fuites(document) == {("tcp", labo.hote("poste-mission").ip, PORT)}


def test_route_sans_filtre_entre_les_deux_vlan(labo):
    regle = ["FORWARD", "-i", labo.interfaces["patients"], "-o", labo.interfaces["mission"], "-j", "ACCEPT"]
    _iptables(labo, "-I", *regle)
    try:
        document = _sonder(labo)
    finally:
        _iptables(labo, "-D", *regle)
    poste, nest = labo.hote("poste-mission").ip, labo.hote("nest-hub").ip
    assert _fuites(document) == {("icmp", poste, None), ("tcp", poste, PORT), ("dns", poste, 53), ("icmp", nest, None)}


def test_cable_qui_ponte_les_deux_vlan(labo):
    sw = labo.espace_de(COMMUTATEUR)
    subprocess.run(["ip", "-n", sw, "link", "add", "pont-m", "type", "veth", "peer", "name", "pont-p"], check=True)
    try:
        _brancher(labo, "pont-m", VLAN_MISSION)
        _brancher(labo, "pont-p", VLAN_PATIENTS)
        document = _sonder(labo)
    finally:
        subprocess.run(["ip", "-n", sw, "link", "del", "pont-m"], check=False)
    poste, nest = labo.hote("poste-mission").ip, labo.hote("nest-hub").ip
    fuites = _fuites(document)
    # One broadcast domain: the mission addresses answer ARP, the mission's mDNS reaches the probe.
    assert {("arp", MISSION.ip_passerelle, None), ("arp", poste, None), ("arp", nest, None)} <= fuites
    assert ("mdns", nest, None) in fuites
    # Routing is still filtered; only the gateway's own mission address may answer a ping: its ARP
    # replies now come from both its interfaces, and the probe may have learned the mission one.
    assert fuites - {("icmp", MISSION.ip_passerelle, None)} == {(m, c, p) for m, c, p in fuites if m in ("arp", "mdns")}
    arp = next(e for e in document["essais"] if e["methode"] == "arp" and e["cible"] == nest)
    assert arp["detail"] == f"réponse ARP de {NEST.mac}"


def test_poste_de_mission_a_deux_pattes(labo):
    sw = labo.espace_de(COMMUTATEUR)
    poste = labo.hote("poste-mission")
    subprocess.run(["ip", "-n", sw, "link", "add", "jambe-p", "type", "veth", "peer", "name", "eth1",
                    "netns", poste.espace], check=True)
    try:
        _brancher(labo, "jambe-p", VLAN_PATIENTS)
        subprocess.run(["ip", "-n", poste.espace, "addr", "add", "172.31.120.250/24", "dev", "eth1"], check=True)
        subprocess.run(["ip", "-n", poste.espace, "link", "set", "eth1", "up"], check=True)
        document = _sonder(labo)
    finally:
        subprocess.run(["ip", "-n", sw, "link", "del", "jambe-p"], check=False)
    assert _fuites(document) == {("arp", poste.ip, None)}


def test_commande_reelle_puis_audit_hors_ligne_fuite_code_1(labo, tmp_path):
    """The real `telesante capteur isolement --plan` in the probe's namespace, then the audit reads its file
    offline: the broadened rule gives code 1 and the critical finding, with its evidence."""
    poste = labo.hote("poste-mission")
    patients = next(v for v in VLANS_PAR_DEFAUT if v.vid == VLAN_PATIENTS)
    telesante = Path(sys.executable).with_name("telesante")
    inventaire = tmp_path / "inventaire"
    sortie = inventaire / "captures" / "sonde-patients" / "isolement.json"
    sortie.parent.mkdir(parents=True)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({
        "sonde": "sonde-patients", "reseau": "patients",
        "cibles": [{"adresse": MISSION.ip_passerelle, "reseau": "mission", "nom": "passerelle"},
                   {"adresse": poste.ip, "reseau": "mission", "ports": [PORT], "nom": "poste"}],
        "sous_reseaux_mission": {"mission": [MISSION.reseau]},
        "bornes": {"delai": 0.5, "ecoute_mdns": 2.0}}))
    regle = ["FORWARD", "-i", labo.interfaces["patients"], "-o", labo.interfaces["mission"], "-p", "tcp",
             "--dport", str(PORT), "-j", "ACCEPT"]
    _iptables(labo, "-I", *regle)
    try:
        sonde = labo.executer_dans("sonde-patients", [str(telesante), "capteur", "isolement", "--plan", str(plan),
                                               "--interface", "eth0", "--paquets-max", "20", "--duree-max", "20",
                                               "--sortie", str(sortie)], timeout=60)
    finally:
        _iptables(labo, "-D", *regle)
    assert sonde.returncode == 0, sonde.stderr
    document = json.loads(sortie.read_text())
    SCHEMA.validate(document)
    assert document["bornes"]["paquets_max"] == 20 and document["paquets_envoyes"] <= 20
    assert _fuites(document) == {("tcp", poste.ip, PORT)}
    # An offline inventory: the probe, and a DHCP server whose lease puts the (authorized) post on mission.
    (inventaire / "hosts.yml").write_text(
        "all:\n  hosts:\n"
        "    sonde-patients:\n      telesante_plateforme: sonde_isolement\n      telesante_site: labo\n"
        "      telesante_reseau: patients\n"
        "    dhcp-labo:\n      telesante_plateforme: dnsmasq\n      telesante_site: labo\n"
        "  vars:\n    telesante_reseaux:\n"
        f"      - {{nom: mission, site: labo, type: mission, sous_reseaux: [{MISSION.reseau}]}}\n"
        f"      - {{nom: patients, site: labo, type: hors_mission, sous_reseaux: [{patients.reseau}]}}\n"
        f"    telesante_equipements_autorises:\n      - {{mac: \"{poste.mac}\", nom: poste-mission, type: poste}}\n")
    (inventaire / "captures" / "dhcp-labo").mkdir()
    (inventaire / "captures" / "dhcp-labo" / "dnsmasq.leases").write_text(
        f"{int(time.time()) + 3600} {poste.mac} {poste.ip} POSTE-01 *\n")
    audit = subprocess.run([str(telesante), "audit", "-i", str(inventaire / "hosts.yml"), "-f", "terminal,json",
                            "-o", str(tmp_path / "rapports")], capture_output=True, text=True, timeout=120,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COLUMNS": "200"})
    assert audit.returncode == 1, audit.stdout + audit.stderr
    rapport = json.loads((tmp_path / "rapports" / "rapport.json").read_text())
    assert rapport["isolement"]["paires"] == [{"site": "labo", "depuis": "patients", "vers": "mission",
                                               "statut": "non_separe", "sondes": ["sonde-patients"],
                                               "constats_actifs": 1}]
    [constat] = rapport["isolement"]["constats"]
    assert (constat["gravite"], constat["statut"], constat["sonde"], constat["cible"], constat["port"],
            constat["methode"]) == ("critique", "actif", "sonde-patients", poste.ip, PORT, "tcp")
    assert constat["delai_ms"] < 500
    assert rapport["constats"] == []  # the post is authorized: the leak alone makes the code 1
