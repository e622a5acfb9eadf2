"""Self-tests of the network lab: it must really behave like the ward network.

Everything the future audit relies on is checked through the same channels
the audit will use (SSH with host key verification, JSON from iproute2, the
dnsmasq lease file, mDNS from the probe's namespace).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import subprocess
import time
from pathlib import Path

import paramiko
import pytest
from netaddr import EUI

from .topologie import (
    TOPOLOGIE_PAR_DEFAUT,
    VLANS_PAR_DEFAUT,
    PASSERELLE,
    VLAN_MISSION,
    VLAN_PATIENTS,
    COMMUTATEUR,
    MODE_VLAN_PONT_PAR_VLAN,
    MODE_VLAN_DOT1Q,
    DescriptionHote,
    Laboratoire,
    ErreurLaboratoire,
    NoeudGere,
    Topologie,
    construire_laboratoire,
    nettoyer_restes,
    sonder_noyau,
)

racine = pytest.mark.racine

# Small labs for destructive or lifecycle tests: quicker than the full ward.
EMPTY_TOPOLOGY = Topologie(vlans=VLANS_PAR_DEFAUT, hotes=(), sonde=None)
TOPOLOGIE_UN_HOTE = TOPOLOGIE_PAR_DEFAUT.sans_hotes(
    *(h.nom for h in TOPOLOGIE_PAR_DEFAUT.hotes if h.nom != "echo-show"))
# With the mDNS announcer, so that teardown has every kind of process to stop.
PETITE_TOPOLOGIE = TOPOLOGIE_PAR_DEFAUT.sans_hotes(
    *(h.nom for h in TOPOLOGIE_PAR_DEFAUT.hotes if h.nom not in ("echo-show", "nest-hub")))


# -- helpers -------------------------------------------------------------------


def ssh_connect(node: NoeudGere, known_hosts: Path, timeout: float = 5.0) -> paramiko.SSHClient:
    """Connect like the audit: key auth, host key checked against known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(node.ip_gestion, port=node.port_ssh, username=node.utilisateur,
                       key_filename=str(node.chemin_cle), look_for_keys=False, allow_agent=False,
                       timeout=timeout, banner_timeout=timeout, auth_timeout=timeout)
    except BaseException:
        client.close()
        raise
    return client


def ssh_run(node: NoeudGere, known_hosts: Path, command: str) -> str:
    """Run one command over SSH, assert it succeeded, return its stdout."""
    with contextlib.closing(ssh_connect(node, known_hosts)) as client:
        _, stdout, stderr = client.exec_command(command, timeout=10)
        out = stdout.read().decode()
        status = stdout.channel.recv_exit_status()
        assert status == 0, f"{command!r} a échoué ({status}) : {stderr.read().decode()}"
    return out


def ping_rtt_ms(target: str) -> float | None:
    """One bounded ping from the root namespace; RTT in ms or None."""
    result = subprocess.run(["ping", "-n", "-c", "1", "-W", "3", target],
                            capture_output=True, text=True, timeout=10)
    match = re.search(r"time=([\d.]+) ms", result.stdout)
    return float(match.group(1)) if match else None


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def lab_links(laboratoire: Laboratoire) -> list[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    names = {link["ifname"] for link in json.loads(out)}
    return sorted(names & {node.interface_racine for node in laboratoire.noeuds.values()})


def lab_namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return [ns["name"] for ns in json.loads(out or "[]") if ns["name"].startswith(prefix)]


# -- topology description (no root needed) --------------------------------------------


def test_default_macs_match_the_described_vendors():
    vendors = {h.nom: EUI(h.mac) for h in TOPOLOGIE_PAR_DEFAUT.hotes}
    assert "Amazon" in vendors["echo-show"].oui.registration().org
    assert "Google" in vendors["nest-hub"].oui.registration().org
    assert "Apple" in vendors["mac-poste"].oui.registration().org
    assert "Amazon" in vendors["tv-patients"].oui.registration().org
    assert "Dell" in vendors["sonde"].oui.registration().org
    vm = vendors["vm-poste"]
    assert vm.words[:3] == (0x00, 0x50, 0x56) and vm.words[3] <= 0x3F  # VMware manual range
    first = vendors["telephone"].words[0]
    assert first & 0x02 and not first & 0x01  # locally administered unicast
    assert {h.vlan for h in TOPOLOGIE_PAR_DEFAUT.hotes if h.nom != "tv-patients"} == {VLAN_MISSION}
    assert next(h for h in TOPOLOGIE_PAR_DEFAUT.hotes if h.nom == "tv-patients").vlan == VLAN_PATIENTS


def test_topology_rejects_inconsistent_descriptions():
    host = TOPOLOGIE_PAR_DEFAUT.hotes[0]
    with pytest.raises(ValueError):
        TOPOLOGIE_PAR_DEFAUT.avec_hotes(host)  # same name twice
    with pytest.raises(ValueError):
        DescriptionHote("autre", host.mac.upper(), VLAN_MISSION, None)
    with pytest.raises(ValueError):
        Topologie(vlans=VLANS_PAR_DEFAUT, hotes=(DescriptionHote("x", "02:00:00:00:00:01", 999, None),), sonde=None)
    with pytest.raises(ValueError):
        DescriptionHote(COMMUTATEUR, "02:00:00:00:00:01", VLAN_MISSION, None)
    assert TOPOLOGIE_PAR_DEFAUT.sans_hotes("sonde").sonde is None


# -- the reference lab ------------------------------------------------------------


@racine
def test_lab_shape(laboratoire):
    assert set(laboratoire.hotes) == {h.nom for h in TOPOLOGIE_PAR_DEFAUT.hotes}
    assert laboratoire.sonde is laboratoire.hotes["sonde"]
    assert all(ns.startswith(laboratoire.prefixe) for ns in laboratoire.espaces)
    assert laboratoire.commutateur.espace == laboratoire.prefixe + COMMUTATEUR
    assert laboratoire.passerelle.espace == laboratoire.prefixe + PASSERELLE
    assert laboratoire.reseau_gestion.prefixlen == 29
    ports = [h.port_commutateur for h in laboratoire.hotes.values()]
    assert ports == [f"swp{i}" for i in range(1, len(ports) + 1)]
    assert all(len(node.interface_racine) <= 15 for node in laboratoire.noeuds.values())
    features = sonder_noyau(laboratoire.commutateur.espace)
    assert laboratoire.mode_vlan == (MODE_VLAN_DOT1Q if features.dot1q else MODE_VLAN_PONT_PAR_VLAN)
    assert laboratoire.duree_construction < 30


@racine
def test_switch_fdb_over_ssh_has_each_host_on_its_port_and_vlan(laboratoire):
    entries = json.loads(ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "bridge -j fdb show"))
    vlan_of_bridge = {bridge: vid for vid, bridge in laboratoire.ponts_commutateur.items()}
    for host in laboratoire.hotes.values():
        learned = [e for e in entries if e["mac"] == host.mac and e.get("master")]
        assert learned, f"{host.nom} ({host.mac}) absent de la FDB"
        entry = learned[0]
        assert entry["ifname"] == host.port_commutateur
        if laboratoire.mode_vlan == MODE_VLAN_DOT1Q:
            assert entry["vlan"] == host.vlan
        else:
            assert vlan_of_bridge[entry["master"]] == host.vlan


@racine
def test_switch_bridges_forward_multicast(laboratoire):
    for bridge in set(laboratoire.ponts_commutateur.values()):
        out = laboratoire.executer_dans(COMMUTATEUR, ["ip", "-j", "-d", "link", "show", bridge], check=True).stdout
        assert json.loads(out)[0]["linkinfo"]["info_data"]["mcast_snooping"] == 0


@racine
def test_gateway_neighbours_over_ssh_map_macs_to_leased_ips(laboratoire):
    neighbours = json.loads(ssh_run(laboratoire.passerelle, laboratoire.hotes_connus, "ip -j neigh show"))
    by_mac = {n.get("lladdr"): n["dst"] for n in neighbours}
    for host in laboratoire.hotes.values():
        assert by_mac.get(host.mac) == host.ip, f"{host.nom} absent de la table de voisinage"
        subnet = TOPOLOGIE_PAR_DEFAUT.vlan(host.vlan).reseau_ip
        assert host.ip in [str(a) for a in subnet.hosts()]


@racine
def test_lease_file_read_over_ssh_has_the_dhcp_hostnames(laboratoire):
    text = ssh_run(laboratoire.passerelle, laboratoire.hotes_connus, f"cat {laboratoire.fichier_baux}")
    leases = {}
    for line in text.splitlines():
        _, mac, ip, hostname, *_ = line.split()
        leases[mac] = (ip, hostname)
    for host in laboratoire.hotes.values():
        assert leases[host.mac] == (host.ip, host.nom_dhcp)


@racine
def test_nest_hub_visible_over_mdns_from_the_probe(laboratoire):
    started = time.monotonic()
    services = laboratoire.parcourir_mdns(laboratoire.sonde.nom, "_googlecast._tcp.local.", timeout=5.0)
    assert time.monotonic() - started < 20
    hubs = [s for s in services if s["txt"].get("md") == "Google Nest Hub"]
    assert hubs, f"Nest Hub introuvable en mDNS : {services}"
    assert hubs[0]["txt"]["fn"] == "Salle 3"
    assert hubs[0]["addresses"] == [laboratoire.hotes["nest-hub"].ip]


@racine
def test_patients_vlan_cannot_reach_mission_vlan(laboratoire):
    tv, echo, sonde = laboratoire.hotes["tv-patients"], laboratoire.hotes["echo-show"], laboratoire.sonde
    # Control: same VLAN works, so the failures below are not vacuous.
    assert laboratoire.executer_dans(sonde.nom, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode == 0
    # Routed attempt: the gateway does not forward between VLANs.
    assert laboratoire.executer_dans(tv.nom, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode != 0
    # L2 attempt: pretend echo-show is on-link, ARP must stay unanswered.
    laboratoire.executer_dans(tv.nom, ["ip", "route", "add", f"{echo.ip}/32", "dev", "eth0"], check=True)
    try:
        assert laboratoire.executer_dans(tv.nom, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode != 0
        neigh = json.loads(laboratoire.executer_dans(tv.nom, ["ip", "-j", "neigh", "show", echo.ip]).stdout or "[]")
        assert all(n.get("lladdr") != echo.mac for n in neigh)
    finally:
        laboratoire.executer_dans(tv.nom, ["ip", "route", "del", f"{echo.ip}/32", "dev", "eth0"])
    entries = json.loads(laboratoire.executer_dans(COMMUTATEUR, ["bridge", "-j", "fdb", "show"], check=True).stdout)
    ports = {e["ifname"] for e in entries if e["mac"] == echo.mac and e.get("master")}
    assert ports == {echo.port_commutateur}


@racine
def test_ralentir_delays_the_switch_management_link(laboratoire):
    baseline = ping_rtt_ms(laboratoire.commutateur.ip_gestion)
    assert baseline is not None and baseline < 100
    laboratoire.ralentir(COMMUTATEUR, 400)
    try:
        slowed = ping_rtt_ms(laboratoire.commutateur.ip_gestion)
        assert slowed is not None and slowed >= 390, slowed
        with pytest.raises(TimeoutError):  # the SYN-ACK comes back 400 ms late
            ssh_connect(laboratoire.commutateur, laboratoire.hotes_connus, timeout=0.2).close()
        # Slow but within a generous timeout: still works.
        assert "bridge" in ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "echo bridge")
    finally:
        laboratoire.retablir(COMMUTATEUR)
    restored = ping_rtt_ms(laboratoire.commutateur.ip_gestion)
    assert restored is not None and restored < 100


@racine
def test_arreter_sshd_refuses_connections_until_restarted(laboratoire):
    laboratoire.arreter_sshd(COMMUTATEUR)
    try:
        with pytest.raises(paramiko.ssh_exception.NoValidConnectionsError):
            ssh_connect(laboratoire.commutateur, laboratoire.hotes_connus, timeout=2)
        assert ssh_run(laboratoire.passerelle, laboratoire.hotes_connus, "echo ok").strip() == "ok"
    finally:
        laboratoire.demarrer_sshd(COMMUTATEUR)
    assert ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "echo ok").strip() == "ok"


# -- private labs (lifecycle and destructive faults) -----------------------------------


@racine
def test_changed_host_key_is_rejected(fabrique_laboratoire):
    laboratoire = fabrique_laboratoire(TOPOLOGIE_UN_HOTE)
    assert ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "echo ok").strip() == "ok"
    laboratoire.changer_cle_hote(COMMUTATEUR)
    with pytest.raises(paramiko.BadHostKeyException):
        ssh_connect(laboratoire.commutateur, laboratoire.hotes_connus)
    # The gateway's key did not change.
    assert ssh_run(laboratoire.passerelle, laboratoire.hotes_connus, "echo ok").strip() == "ok"
    laboratoire.rafraichir_hotes_connus()
    assert ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "echo ok").strip() == "ok"


@racine
def test_unknown_host_key_is_rejected(fabrique_laboratoire, tmp_path):
    laboratoire = fabrique_laboratoire(EMPTY_TOPOLOGY)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException):
        ssh_connect(laboratoire.commutateur, empty)


@racine
def test_parallel_labs_do_not_collide(fabrique_laboratoire):
    first, second = fabrique_laboratoire(EMPTY_TOPOLOGY), fabrique_laboratoire(EMPTY_TOPOLOGY)
    assert first.prefixe != second.prefixe
    assert not set(first.espaces) & set(second.espaces)
    assert not first.reseau_gestion.overlaps(second.reseau_gestion)
    for one in (first, second):
        for node in one.noeuds.values():
            assert ssh_run(node, one.hotes_connus, "echo ok").strip() == "ok"


@racine
def test_teardown_leaves_no_namespace_process_link_or_file(fabrique_laboratoire):
    laboratoire = fabrique_laboratoire(PETITE_TOPOLOGIE)
    try:
        laboratoire.ralentir(PASSERELLE, 10)  # one more helper process to kill
        session = ssh_connect(laboratoire.commutateur, laboratoire.hotes_connus)  # an sshd child not started by the lab
        pids = set(laboratoire.pids())
        for ns in laboratoire.espaces:
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
            pids.update(int(p) for p in out.split())
        assert len(pids) > len(laboratoire.pids())
        links, tmpdir = lab_links(laboratoire), laboratoire.dossier
        assert links and tmpdir.is_dir() and lab_namespaces(laboratoire.prefixe)
    finally:
        laboratoire.close()
    session.close()
    assert lab_namespaces(laboratoire.prefixe) == []
    assert lab_links(laboratoire) == []
    assert not tmpdir.exists()
    # An orphaned sshd session child may linger briefly as a zombie until
    # PID 1 reaps it: dead, holding nothing, so it does not count.
    alive = [p for p in pids if _running(p)]
    assert alive == [], f"processus encore vivants : {alive}"
    laboratoire.close()  # idempotent


@racine
def test_failed_build_cleans_up_everything(laboratoire_prerequis, monkeypatch):
    seen = {}

    def broken_step(self):
        seen["lab"], seen["pids"] = self, self.pids()  # sshd, dnsmasq, udhcpc already started
        raise ErreurLaboratoire("panne simulée")

    monkeypatch.setattr(Laboratoire, "_start_mdns_announcers", broken_step)
    with pytest.raises(ErreurLaboratoire, match="panne simulée"):
        construire_laboratoire(TOPOLOGIE_UN_HOTE)
    laboratoire = seen["lab"]
    assert len(seen["pids"]) >= 3
    assert lab_namespaces(laboratoire.prefixe) == []
    assert lab_links(laboratoire) == []
    assert not laboratoire.dossier.exists()
    assert not any(_running(p) for p in seen["pids"])


@racine
def test_forced_dot1q_mode_builds_real_vlans_or_fails_cleanly(laboratoire_prerequis):
    topology = dataclasses.replace(TOPOLOGIE_UN_HOTE, mode_vlan=MODE_VLAN_DOT1Q)
    namespaces_before = set(lab_namespaces("ts-"))
    try:
        context = Laboratoire.construire(topology)
        laboratoire = context.__enter__()
    except ErreurLaboratoire as exc:  # kernel without CONFIG_VLAN_8021Q (the project's machines)
        assert "802.1Q" in str(exc)
        assert set(lab_namespaces("ts-")) == namespaces_before
        return
    try:
        assert laboratoire.mode_vlan == MODE_VLAN_DOT1Q and set(laboratoire.ponts_commutateur.values()) == {"br0"}
        entries = json.loads(ssh_run(laboratoire.commutateur, laboratoire.hotes_connus, "bridge -j fdb show"))
        echo = laboratoire.hotes["echo-show"]
        assert any(e["mac"] == echo.mac and e.get("vlan") == VLAN_MISSION for e in entries)
    finally:
        context.__exit__(None, None, None)


@racine
def test_nettoyer_restes_removes_leftovers_of_dead_runs(laboratoire_prerequis):
    dead = subprocess.Popen(["true"])
    dead.wait()
    ns = f"ts-{dead.pid}-0-commutateur"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "30"])
    try:
        mine = f"ts-{os.getpid()}-999-commutateur"  # owner alive: must be kept
        subprocess.run(["ip", "netns", "add", mine], check=True)
        try:
            removed = nettoyer_restes()
            assert f"netns {ns}" in removed
            assert lab_namespaces(ns) == []
            assert lab_namespaces(mine) == [mine]
            assert sleeper.wait(timeout=5) != 0
        finally:
            subprocess.run(["ip", "netns", "del", mine])
    finally:
        sleeper.kill()
        sleeper.wait()
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
