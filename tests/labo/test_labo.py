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
    DEFAULT_TOPOLOGY,
    DEFAULT_VLANS,
    GATEWAY,
    MISSION_VLAN,
    PATIENTS_VLAN,
    SWITCH,
    VLAN_MODE_BRIDGE_PER_VLAN,
    VLAN_MODE_DOT1Q,
    HostSpec,
    Lab,
    LabError,
    ManagedNode,
    Topology,
    build_lab,
    nettoyer_restes,
    probe_kernel_features,
)

racine = pytest.mark.racine

# Small labs for destructive or lifecycle tests: quicker than the full ward.
EMPTY_TOPOLOGY = Topology(vlans=DEFAULT_VLANS, hosts=(), probe=None)
ONE_HOST_TOPOLOGY = DEFAULT_TOPOLOGY.without_hosts(
    *(h.name for h in DEFAULT_TOPOLOGY.hosts if h.name != "echo-show"))
# With the mDNS announcer, so that teardown has every kind of process to stop.
SMALL_TOPOLOGY = DEFAULT_TOPOLOGY.without_hosts(
    *(h.name for h in DEFAULT_TOPOLOGY.hosts if h.name not in ("echo-show", "nest-hub")))


# -- helpers -------------------------------------------------------------------


def ssh_connect(node: ManagedNode, known_hosts: Path, timeout: float = 5.0) -> paramiko.SSHClient:
    """Connect like the audit: key auth, host key checked against known_hosts."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(node.mgmt_ip, port=node.ssh_port, username=node.user,
                       key_filename=str(node.key_path), look_for_keys=False, allow_agent=False,
                       timeout=timeout, banner_timeout=timeout, auth_timeout=timeout)
    except BaseException:
        client.close()
        raise
    return client


def ssh_run(node: ManagedNode, known_hosts: Path, command: str) -> str:
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


def lab_links(lab: Lab) -> list[str]:
    out = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    names = {link["ifname"] for link in json.loads(out)}
    return sorted(names & {node.root_interface for node in lab.nodes.values()})


def lab_namespaces(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return [ns["name"] for ns in json.loads(out or "[]") if ns["name"].startswith(prefix)]


# -- topology description (no root needed) --------------------------------------------


def test_default_macs_match_the_described_vendors():
    vendors = {h.name: EUI(h.mac) for h in DEFAULT_TOPOLOGY.hosts}
    assert "Amazon" in vendors["echo-show"].oui.registration().org
    assert "Google" in vendors["nest-hub"].oui.registration().org
    assert "Apple" in vendors["mac-poste"].oui.registration().org
    assert "Amazon" in vendors["tv-patients"].oui.registration().org
    assert "Dell" in vendors["sonde"].oui.registration().org
    vm = vendors["vm-poste"]
    assert vm.words[:3] == (0x00, 0x50, 0x56) and vm.words[3] <= 0x3F  # VMware manual range
    first = vendors["telephone"].words[0]
    assert first & 0x02 and not first & 0x01  # locally administered unicast
    assert {h.vlan for h in DEFAULT_TOPOLOGY.hosts if h.name != "tv-patients"} == {MISSION_VLAN}
    assert next(h for h in DEFAULT_TOPOLOGY.hosts if h.name == "tv-patients").vlan == PATIENTS_VLAN


def test_topology_rejects_inconsistent_descriptions():
    host = DEFAULT_TOPOLOGY.hosts[0]
    with pytest.raises(ValueError):
        DEFAULT_TOPOLOGY.with_hosts(host)  # same name twice
    with pytest.raises(ValueError):
        HostSpec("autre", host.mac.upper(), MISSION_VLAN, None)
    with pytest.raises(ValueError):
        Topology(vlans=DEFAULT_VLANS, hosts=(HostSpec("x", "02:00:00:00:00:01", 999, None),), probe=None)
    with pytest.raises(ValueError):
        HostSpec(SWITCH, "02:00:00:00:00:01", MISSION_VLAN, None)
    assert DEFAULT_TOPOLOGY.without_hosts("sonde").probe is None


# -- the reference lab ------------------------------------------------------------


@racine
def test_lab_shape(lab):
    assert set(lab.hosts) == {h.name for h in DEFAULT_TOPOLOGY.hosts}
    assert lab.probe is lab.hosts["sonde"]
    assert all(ns.startswith(lab.prefix) for ns in lab.namespaces)
    assert lab.switch.namespace == lab.prefix + SWITCH
    assert lab.gateway.namespace == lab.prefix + GATEWAY
    assert lab.mgmt_network.prefixlen == 29
    ports = [h.switch_port for h in lab.hosts.values()]
    assert ports == [f"swp{i}" for i in range(1, len(ports) + 1)]
    assert all(len(node.root_interface) <= 15 for node in lab.nodes.values())
    features = probe_kernel_features(lab.switch.namespace)
    assert lab.vlan_mode == (VLAN_MODE_DOT1Q if features.dot1q else VLAN_MODE_BRIDGE_PER_VLAN)
    assert lab.build_seconds < 30


@racine
def test_switch_fdb_over_ssh_has_each_host_on_its_port_and_vlan(lab):
    entries = json.loads(ssh_run(lab.switch, lab.known_hosts, "bridge -j fdb show"))
    vlan_of_bridge = {bridge: vid for vid, bridge in lab.switch_bridges.items()}
    for host in lab.hosts.values():
        learned = [e for e in entries if e["mac"] == host.mac and e.get("master")]
        assert learned, f"{host.name} ({host.mac}) absent de la FDB"
        entry = learned[0]
        assert entry["ifname"] == host.switch_port
        if lab.vlan_mode == VLAN_MODE_DOT1Q:
            assert entry["vlan"] == host.vlan
        else:
            assert vlan_of_bridge[entry["master"]] == host.vlan


@racine
def test_switch_bridges_forward_multicast(lab):
    for bridge in set(lab.switch_bridges.values()):
        out = lab.run_in(SWITCH, ["ip", "-j", "-d", "link", "show", bridge], check=True).stdout
        assert json.loads(out)[0]["linkinfo"]["info_data"]["mcast_snooping"] == 0


@racine
def test_gateway_neighbours_over_ssh_map_macs_to_leased_ips(lab):
    neighbours = json.loads(ssh_run(lab.gateway, lab.known_hosts, "ip -j neigh show"))
    by_mac = {n.get("lladdr"): n["dst"] for n in neighbours}
    for host in lab.hosts.values():
        assert by_mac.get(host.mac) == host.ip, f"{host.name} absent de la table de voisinage"
        subnet = DEFAULT_TOPOLOGY.vlan(host.vlan).ip_network
        assert host.ip in [str(a) for a in subnet.hosts()]


@racine
def test_lease_file_read_over_ssh_has_the_dhcp_hostnames(lab):
    text = ssh_run(lab.gateway, lab.known_hosts, f"cat {lab.lease_file}")
    leases = {}
    for line in text.splitlines():
        _, mac, ip, hostname, *_ = line.split()
        leases[mac] = (ip, hostname)
    for host in lab.hosts.values():
        assert leases[host.mac] == (host.ip, host.dhcp_hostname)


@racine
def test_nest_hub_visible_over_mdns_from_the_probe(lab):
    started = time.monotonic()
    services = lab.browse_mdns(lab.probe.name, "_googlecast._tcp.local.", timeout=5.0)
    assert time.monotonic() - started < 20
    hubs = [s for s in services if s["txt"].get("md") == "Google Nest Hub"]
    assert hubs, f"Nest Hub introuvable en mDNS : {services}"
    assert hubs[0]["txt"]["fn"] == "Salle 3"
    assert hubs[0]["addresses"] == [lab.hosts["nest-hub"].ip]


@racine
def test_patients_vlan_cannot_reach_mission_vlan(lab):
    tv, echo, probe = lab.hosts["tv-patients"], lab.hosts["echo-show"], lab.probe
    # Control: same VLAN works, so the failures below are not vacuous.
    assert lab.run_in(probe.name, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode == 0
    # Routed attempt: the gateway does not forward between VLANs.
    assert lab.run_in(tv.name, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode != 0
    # L2 attempt: pretend echo-show is on-link, ARP must stay unanswered.
    lab.run_in(tv.name, ["ip", "route", "add", f"{echo.ip}/32", "dev", "eth0"], check=True)
    try:
        assert lab.run_in(tv.name, ["ping", "-n", "-c", "1", "-W", "1", echo.ip]).returncode != 0
        neigh = json.loads(lab.run_in(tv.name, ["ip", "-j", "neigh", "show", echo.ip]).stdout or "[]")
        assert all(n.get("lladdr") != echo.mac for n in neigh)
    finally:
        lab.run_in(tv.name, ["ip", "route", "del", f"{echo.ip}/32", "dev", "eth0"])
    entries = json.loads(lab.run_in(SWITCH, ["bridge", "-j", "fdb", "show"], check=True).stdout)
    ports = {e["ifname"] for e in entries if e["mac"] == echo.mac and e.get("master")}
    assert ports == {echo.switch_port}


@racine
def test_ralentir_delays_the_switch_management_link(lab):
    baseline = ping_rtt_ms(lab.switch.mgmt_ip)
    assert baseline is not None and baseline < 100
    lab.ralentir(SWITCH, 400)
    try:
        slowed = ping_rtt_ms(lab.switch.mgmt_ip)
        assert slowed is not None and slowed >= 390, slowed
        with pytest.raises(TimeoutError):  # the SYN-ACK comes back 400 ms late
            ssh_connect(lab.switch, lab.known_hosts, timeout=0.2).close()
        # Slow but within a generous timeout: still works.
        assert "bridge" in ssh_run(lab.switch, lab.known_hosts, "echo bridge")
    finally:
        lab.retablir(SWITCH)
    restored = ping_rtt_ms(lab.switch.mgmt_ip)
    assert restored is not None and restored < 100


@racine
def test_arreter_sshd_refuses_connections_until_restarted(lab):
    lab.arreter_sshd(SWITCH)
    try:
        with pytest.raises(paramiko.ssh_exception.NoValidConnectionsError):
            ssh_connect(lab.switch, lab.known_hosts, timeout=2)
        assert ssh_run(lab.gateway, lab.known_hosts, "echo ok").strip() == "ok"
    finally:
        lab.demarrer_sshd(SWITCH)
    assert ssh_run(lab.switch, lab.known_hosts, "echo ok").strip() == "ok"


# -- private labs (lifecycle and destructive faults) -----------------------------------


@racine
def test_changed_host_key_is_rejected(lab_factory):
    lab = lab_factory(ONE_HOST_TOPOLOGY)
    assert ssh_run(lab.switch, lab.known_hosts, "echo ok").strip() == "ok"
    lab.changer_cle_hote(SWITCH)
    with pytest.raises(paramiko.BadHostKeyException):
        ssh_connect(lab.switch, lab.known_hosts)
    # The gateway's key did not change.
    assert ssh_run(lab.gateway, lab.known_hosts, "echo ok").strip() == "ok"
    lab.refresh_known_hosts()
    assert ssh_run(lab.switch, lab.known_hosts, "echo ok").strip() == "ok"


@racine
def test_unknown_host_key_is_rejected(lab_factory, tmp_path):
    lab = lab_factory(EMPTY_TOPOLOGY)
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    with pytest.raises(paramiko.SSHException):
        ssh_connect(lab.switch, empty)


@racine
def test_parallel_labs_do_not_collide(lab_factory):
    first, second = lab_factory(EMPTY_TOPOLOGY), lab_factory(EMPTY_TOPOLOGY)
    assert first.prefix != second.prefix
    assert not set(first.namespaces) & set(second.namespaces)
    assert not first.mgmt_network.overlaps(second.mgmt_network)
    for one in (first, second):
        for node in one.nodes.values():
            assert ssh_run(node, one.known_hosts, "echo ok").strip() == "ok"


@racine
def test_teardown_leaves_no_namespace_process_link_or_file(lab_factory):
    lab = lab_factory(SMALL_TOPOLOGY)
    try:
        lab.ralentir(GATEWAY, 10)  # one more helper process to kill
        session = ssh_connect(lab.switch, lab.known_hosts)  # an sshd child not started by the lab
        pids = set(lab.pids())
        for ns in lab.namespaces:
            out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout
            pids.update(int(p) for p in out.split())
        assert len(pids) > len(lab.pids())
        links, tmpdir = lab_links(lab), lab.tmpdir
        assert links and tmpdir.is_dir() and lab_namespaces(lab.prefix)
    finally:
        lab.close()
    session.close()
    assert lab_namespaces(lab.prefix) == []
    assert lab_links(lab) == []
    assert not tmpdir.exists()
    # An orphaned sshd session child may linger briefly as a zombie until
    # PID 1 reaps it: dead, holding nothing, so it does not count.
    alive = [p for p in pids if _running(p)]
    assert alive == [], f"processus encore vivants : {alive}"
    lab.close()  # idempotent


@racine
def test_failed_build_cleans_up_everything(lab_prerequisites, monkeypatch):
    seen = {}

    def broken_step(self):
        seen["lab"], seen["pids"] = self, self.pids()  # sshd, dnsmasq, udhcpc already started
        raise LabError("panne simulée")

    monkeypatch.setattr(Lab, "_start_mdns_announcers", broken_step)
    with pytest.raises(LabError, match="panne simulée"):
        build_lab(ONE_HOST_TOPOLOGY)
    lab = seen["lab"]
    assert len(seen["pids"]) >= 3
    assert lab_namespaces(lab.prefix) == []
    assert lab_links(lab) == []
    assert not lab.tmpdir.exists()
    assert not any(_running(p) for p in seen["pids"])


@racine
def test_forced_dot1q_mode_builds_real_vlans_or_fails_cleanly(lab_prerequisites):
    topology = dataclasses.replace(ONE_HOST_TOPOLOGY, vlan_mode=VLAN_MODE_DOT1Q)
    namespaces_before = set(lab_namespaces("ts-"))
    try:
        context = Lab.build(topology)
        lab = context.__enter__()
    except LabError as exc:  # kernel without CONFIG_VLAN_8021Q (the project's machines)
        assert "802.1Q" in str(exc)
        assert set(lab_namespaces("ts-")) == namespaces_before
        return
    try:
        assert lab.vlan_mode == VLAN_MODE_DOT1Q and set(lab.switch_bridges.values()) == {"br0"}
        entries = json.loads(ssh_run(lab.switch, lab.known_hosts, "bridge -j fdb show"))
        echo = lab.hosts["echo-show"]
        assert any(e["mac"] == echo.mac and e.get("vlan") == MISSION_VLAN for e in entries)
    finally:
        context.__exit__(None, None, None)


@racine
def test_nettoyer_restes_removes_leftovers_of_dead_runs(lab_prerequisites):
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
