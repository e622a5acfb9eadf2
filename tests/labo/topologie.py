"""Build a real network lab out of Linux network namespaces.

The lab reproduces a hospital ward network that the nightly audit inspects
over SSH:

* a switch namespace (``commutateur``) with Linux bridges, one access port
  (``swp1``, ``swp2``...) per host and an uplink towards the gateway;
* a gateway namespace (``passerelle``) with one interface per VLAN and a
  ``dnsmasq`` DHCP server;
* one namespace per host (``eth0`` with a chosen MAC address) that obtains
  its address through a real DHCP exchange, sending a chosen hostname;
* SSH daemons on the switch and the gateway, reachable from the root
  namespace over dedicated management veths.

Two VLAN implementations exist, chosen from what the kernel supports:

* ``dot1q``: one bridge ``br0`` with ``vlan_filtering 1``, access ports
  untagged in their VLAN, a tagged trunk ``swp-gw`` and 802.1Q
  subinterfaces (``trunk0.110``) on the gateway;
* ``bridge-per-vlan``: one plain bridge per VLAN (``br110``, ``br120``) and
  one uplink per VLAN (``swp-gw110`` <-> ``vlan110``). Used on kernels built
  without 802.1Q support (``CONFIG_VLAN_8021Q`` unset), as on the project's
  machines. Each VLAN is still its own broadcast domain.

Delay injection uses ``tc netem`` when available, otherwise an NFQUEUE rule
and a small userspace delayer (see ``_run_delay_queue``).

Traffic rules: the lab only ever sends packets to addresses that live in
its own namespaces; every wait loop is bounded in count and time; the only
change to the root namespace is adding (then removing) its own management
veth ends with their /30 addresses.

This file is also executed as a script inside namespaces (mDNS announcer,
mDNS browser, delay queue): it must only import the standard library at
module level.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

# ---------------------------------------------------------------------------
# Topology description
# ---------------------------------------------------------------------------

SWITCH = "commutateur"
GATEWAY = "passerelle"
MISSION_VLAN = 110
PATIENTS_VLAN = 120

VLAN_MODE_AUTO = "auto"
VLAN_MODE_DOT1Q = "dot1q"
VLAN_MODE_BRIDGE_PER_VLAN = "bridge-per-vlan"

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class VlanSpec:
    """A VLAN: its 802.1Q id, a label and the IPv4 subnet served by DHCP.

    The gateway takes the first address of the subnet; DHCP hands out
    addresses from ``.100`` to ``.199`` (for a /24).
    """

    vid: int
    label: str
    network: str

    def __post_init__(self) -> None:
        if not 1 <= self.vid <= 4094:
            raise ValueError(f"VLAN invalide : {self.vid}")
        net = ipaddress.IPv4Network(self.network)
        if net.num_addresses < 256:
            raise ValueError(f"Sous-réseau trop petit pour le VLAN {self.vid} : {net}")

    @property
    def ip_network(self) -> ipaddress.IPv4Network:
        """The VLAN subnet as an ``IPv4Network``."""
        return ipaddress.IPv4Network(self.network)

    @property
    def gateway_ip(self) -> str:
        """Address of the gateway on this VLAN (first host address)."""
        return str(self.ip_network.network_address + 1)

    @property
    def dhcp_range(self) -> tuple[str, str]:
        """First and last address handed out by DHCP."""
        base = self.ip_network.network_address
        return str(base + 100), str(base + 199)


@dataclass(frozen=True)
class MdnsService:
    """A DNS-SD service a host announces over multicast DNS (python-zeroconf)."""

    service_type: str
    instance: str
    port: int
    txt: tuple[tuple[str, str], ...] = ()
    server: str | None = None  # defaults to "<instance>.local."


@dataclass(frozen=True)
class HostSpec:
    """A device plugged into an access port of the switch.

    ``dhcp_hostname`` is sent as DHCP option 12 (None: no hostname sent).
    """

    name: str
    mac: str
    vlan: int
    dhcp_hostname: str | None
    mdns: MdnsService | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name) or self.name in (SWITCH, GATEWAY):
            raise ValueError(f"Nom d'hôte de laboratoire invalide : {self.name!r}")
        if not _MAC_RE.match(self.mac):
            raise ValueError(f"Adresse MAC invalide (attendu aa:bb:cc:dd:ee:ff en minuscules) : {self.mac!r}")
        if int(self.mac[:2], 16) & 0x01:
            raise ValueError(f"Adresse MAC de groupe interdite pour un hôte : {self.mac}")


@dataclass(frozen=True)
class Topology:
    """What to build: VLANs, hosts (in switch port order) and the probe host."""

    vlans: tuple[VlanSpec, ...]
    hosts: tuple[HostSpec, ...]
    probe: str | None = "sonde"
    vlan_mode: str = VLAN_MODE_AUTO

    def __post_init__(self) -> None:
        vids = [v.vid for v in self.vlans]
        if len(set(vids)) != len(vids):
            raise ValueError("VLAN déclaré deux fois")
        names = [h.name for h in self.hosts]
        if len(set(names)) != len(names):
            raise ValueError("Nom d'hôte déclaré deux fois")
        macs = [h.mac for h in self.hosts]
        if len(set(macs)) != len(macs):
            raise ValueError("Adresse MAC déclarée deux fois")
        for host in self.hosts:
            if host.vlan not in vids:
                raise ValueError(f"{host.name} : VLAN {host.vlan} non déclaré")
        if self.probe is not None and self.probe not in names:
            raise ValueError(f"Sonde {self.probe!r} absente des hôtes")
        if self.vlan_mode not in (VLAN_MODE_AUTO, VLAN_MODE_DOT1Q, VLAN_MODE_BRIDGE_PER_VLAN):
            raise ValueError(f"Mode VLAN inconnu : {self.vlan_mode!r}")

    def vlan(self, vid: int) -> VlanSpec:
        """The VLAN with this id."""
        return next(v for v in self.vlans if v.vid == vid)

    def with_hosts(self, *hosts: HostSpec) -> Topology:
        """A copy with extra hosts appended (new switch ports)."""
        return dataclasses.replace(self, hosts=self.hosts + tuple(hosts))

    def without_hosts(self, *names: str) -> Topology:
        """A copy without the named hosts (the probe is dropped if removed)."""
        probe = None if self.probe in names else self.probe
        kept = tuple(h for h in self.hosts if h.name not in names)
        return dataclasses.replace(self, hosts=kept, probe=probe)


DEFAULT_VLANS = (
    VlanSpec(MISSION_VLAN, "mission", "172.31.110.0/24"),
    VlanSpec(PATIENTS_VLAN, "patients", "172.31.120.0/24"),
)

# MAC prefixes are real registrations (netaddr's OUI registry): 84:28:59
# Amazon Technologies, f4:f5:d8 Google, f0:ee:7a Apple, 00:50:56 VMware
# (manual range 00:50:56:00:00:00-3f:ff:ff), e0:cb:1d Amazon Technologies,
# d0:43:1e Dell. 6a:... is locally administered (randomized private MAC).
DEFAULT_HOSTS = (
    HostSpec("echo-show", "84:28:59:3f:9a:1c", MISSION_VLAN, "amazon-3f9a1c2b7",
             description="Amazon Echo Show (appareil grand public)"),
    HostSpec("nest-hub", "f4:f5:d8:4e:57:21", MISSION_VLAN, "Google-Nest-Hub",
             mdns=MdnsService(
                 service_type="_googlecast._tcp.local.",
                 instance="Google-Nest-Hub-4e5721d0c3a8b9f2",
                 port=8009,
                 txt=(("id", "4e5721d0c3a8b9f2"), ("md", "Google Nest Hub"),
                      ("fn", "Salle 3"), ("ve", "05")),
                 server="4e5721d0-c3a8-b9f2.local.",
             ),
             description="Google Nest Hub (appareil grand public, annonce mDNS)"),
    HostSpec("mac-poste", "f0:ee:7a:10:20:30", MISSION_VLAN, "MAC-URG-01",
             description="Mac autorisé du poste DSQ"),
    HostSpec("vm-poste", "00:50:56:1a:2b:3c", MISSION_VLAN, "DSQ-URG-01",
             description="Machine virtuelle Windows du Mac (VMware)"),
    HostSpec("telephone", "6a:1f:4c:82:9d:05", MISSION_VLAN, "iPhone",
             description="Téléphone, MAC aléatoire (administrée localement)"),
    HostSpec("tv-patients", "e0:cb:1d:6b:30:a2", PATIENTS_VLAN, "amazon-patient-tv",
             description="Téléviseur grand public du VLAN patients"),
    HostSpec("sonde", "d0:43:1e:5e:00:01", MISSION_VLAN, "SONDE-URG-01",
             description="Sonde du VLAN de mission (capteur mDNS)"),
)

DEFAULT_TOPOLOGY = Topology(vlans=DEFAULT_VLANS, hosts=DEFAULT_HOSTS, probe="sonde")


def default_topology() -> Topology:
    """The reference ward: five mission devices, a patients TV and the probe."""
    return DEFAULT_TOPOLOGY


# ---------------------------------------------------------------------------
# What the built lab exposes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ManagedNode:
    """A node the audit reaches over SSH (switch or gateway)."""

    name: str
    namespace: str
    mgmt_ip: str
    ssh_port: int
    user: str
    key_path: Path
    host_key_path: Path
    interface: str  # management interface inside the namespace
    root_interface: str  # veth end in the root namespace
    root_ip: str  # address of that veth end


@dataclass(frozen=True)
class LabHost:
    """A host as built: where it is plugged and what DHCP gave it."""

    name: str
    namespace: str
    mac: str
    vlan: int
    switch_port: str
    dhcp_hostname: str | None
    ip: str


@dataclass(frozen=True)
class Lease:
    """One line of the dnsmasq lease file."""

    expiry: int
    mac: str
    ip: str
    hostname: str | None
    client_id: str | None


class LabError(RuntimeError):
    """The lab could not be built or operated (message in French)."""


# ---------------------------------------------------------------------------
# Prerequisites and kernel features
# ---------------------------------------------------------------------------

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "bridge": "iproute2",
    "tc": "iproute2",
    "ss": "iproute2",
    "sshd": "openssh-server",
    "ssh-keygen": "openssh-client",
    "dnsmasq": "dnsmasq-base",
    "busybox": "busybox",
    "ping": "iputils-ping",
    "sysctl": "procps",
    "iptables": "iptables",
}

_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _which(tool: str) -> str | None:
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":" + _SBIN_PATH)


def missing_prerequisites() -> list[str]:
    """Reasons (in French) why the lab cannot be built here; empty if it can."""
    reasons: list[str] = []
    if os.geteuid() != 0:
        reasons.append("pas root")
    missing = sorted({pkg for tool, pkg in REQUIRED_TOOLS.items() if _which(tool) is None})
    if missing:
        reasons.append("paquets manquants : " + ", ".join(missing)
                       + " (lancez scripts/installer-paquets-systeme)")
    try:
        import zeroconf  # noqa: F401
    except ImportError:
        reasons.append("module python zeroconf absent")
    if not reasons:
        probe = subprocess.run([_tool("ip"), "netns", "list"], capture_output=True, text=True)
        if probe.returncode != 0:
            reasons.append("« ip netns » indisponible : " + probe.stderr.strip())
    return reasons


@dataclass(frozen=True)
class KernelFeatures:
    """What the running kernel can do for the lab."""

    bridge_vlan_filtering: bool
    vlan_8021q: bool
    netem: bool

    @property
    def dot1q(self) -> bool:
        """True when real 802.1Q VLANs (filtering bridge + subinterfaces) work."""
        return self.bridge_vlan_filtering and self.vlan_8021q


_features_cache: KernelFeatures | None = None


def probe_kernel_features(namespace: str) -> KernelFeatures:
    """Try VLAN filtering, 802.1Q and netem in a scratch corner of ``namespace``.

    The result is cached for the process: the kernel does not change.
    """
    global _features_cache
    if _features_cache is not None:
        return _features_cache
    ip = _tool("ip")

    def works(*argv: str) -> bool:
        return subprocess.run(argv, capture_output=True).returncode == 0

    _run([ip, "-n", namespace, "link", "add", "tsprobe0", "type", "veth", "peer", "name", "tsprobe1"])
    try:
        filtering = works(ip, "-n", namespace, "link", "add", "tsprobebr", "type", "bridge",
                          "vlan_filtering", "1")
        dot1q = works(ip, "-n", namespace, "link", "add", "link", "tsprobe0", "name", "tsprobe0.9",
                      "type", "vlan", "id", "9")
        netem = works(ip, "netns", "exec", namespace, _tool("tc"), "qdisc", "add", "dev", "tsprobe0",
                      "root", "netem", "delay", "1ms")
    finally:
        for link in ("tsprobebr", "tsprobe0.9", "tsprobe0"):
            works(ip, "-n", namespace, "link", "del", link)
    _features_cache = KernelFeatures(filtering, dot1q, netem)
    return _features_cache


# ---------------------------------------------------------------------------
# Small process helpers
# ---------------------------------------------------------------------------


def _tool(name: str) -> str:
    path = _which(name)
    if path is None:
        raise LabError(f"Outil introuvable : {name} (lancez scripts/installer-paquets-systeme)")
    return path


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = 15,
         input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, capture its output, raise LabError on failure."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                                input=input_text, env=_child_env())
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"Commande trop longue (> {timeout} s) : {' '.join(argv)}") from exc
    if check and result.returncode != 0:
        raise LabError(f"Échec de « {' '.join(argv)} » (code {result.returncode}) : "
                       f"{result.stderr.strip() or result.stdout.strip()}")
    return result


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = env.get("PATH", "") + ":" + _SBIN_PATH
    env["LC_ALL"] = "C"
    return env


def _in_ns(namespace: str, argv: Sequence[str]) -> list[str]:
    return [_tool("ip"), "netns", "exec", namespace, *argv]


def _wait_until(predicate: Callable[[], bool], what: str, timeout: float = 10.0,
                interval: float = 0.1) -> None:
    """Poll ``predicate`` until true; bounded in count and in time."""
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / interval) + 1):
        if predicate():
            return
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if predicate():
        return
    raise LabError(f"Délai dépassé ({timeout:g} s) en attendant {what}")


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _namespace_pids(namespace: str) -> list[int]:
    result = subprocess.run([_tool("ip"), "netns", "pids", namespace], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split() if p.isdigit()]


def _kill_namespace_processes(namespace: str) -> None:
    """Backstop: SIGKILL whatever still runs in the namespace, bounded wait."""
    for _ in range(3):
        pids = [p for p in _namespace_pids(namespace) if p != os.getpid()]
        if not pids:
            return
        for pid in pids:
            _kill_pid(pid)
        with contextlib.suppress(LabError):
            _wait_until(lambda: not any(_pid_alive(p) for p in pids),
                        f"la fin des processus de {namespace}", timeout=2.0, interval=0.05)


class _Process:
    """A background process started by the lab, logged to a file."""

    def __init__(self, label: str, argv: Sequence[str], log_path: Path) -> None:
        self.label = label
        self.log_path = log_path
        with open(log_path, "ab") as log:
            # cwd: the lab's temporary directory, so nothing lands in the work tree.
            self.popen = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=subprocess.STDOUT, env=_child_env(),
                                          cwd=log_path.parent, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, bounded wait, then SIGKILL; always reaps the child."""
        if self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)


# ---------------------------------------------------------------------------
# Management addressing (root namespace side)
# ---------------------------------------------------------------------------

# Pools of /29 blocks for management links; each lab takes one block: the
# first /30 for the switch, the second for the gateway.
_MGMT_POOLS = (ipaddress.IPv4Network("10.255.0.0/16"), ipaddress.IPv4Network("172.31.248.0/21"))
_LOCK_PATH = Path("/run/lock/telesante-labo.lock")


@contextlib.contextmanager
def _mgmt_lock() -> Iterator[None]:
    """Serialise management subnet allocation between concurrent lab builds."""
    path = _LOCK_PATH if _LOCK_PATH.parent.is_dir() else Path(tempfile.gettempdir()) / _LOCK_PATH.name
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _root_networks_in_use() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network configured or routed in the root namespace."""
    used: list[ipaddress.IPv4Network] = []
    addrs = json.loads(_run([_tool("ip"), "-j", "-4", "addr", "show"]).stdout or "[]")
    for link in addrs:
        for info in link.get("addr_info", []):
            used.append(ipaddress.IPv4Network(f"{info['local']}/{info['prefixlen']}", strict=False))
    routes = json.loads(_run([_tool("ip"), "-j", "-4", "route", "show", "table", "all"]).stdout or "[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst in ("", "default", "0.0.0.0/0"):
            continue
        with contextlib.suppress(ValueError):
            used.append(ipaddress.IPv4Network(dst, strict=False))
    return used


def _free_mgmt_block(avoid: Sequence[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """First /29 of the pools overlapping nothing in the root namespace nor ``avoid``."""
    used = _root_networks_in_use() + list(avoid)
    for pool in _MGMT_POOLS:
        for block in pool.subnets(new_prefix=29):
            if not any(block.overlaps(u) for u in used):
                return block
    raise LabError("Aucun sous-réseau de gestion libre dans 10.255.0.0/16 ni 172.31.248.0/21")


# ---------------------------------------------------------------------------
# Scripts written into the lab's temporary directory
# ---------------------------------------------------------------------------

_UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc event script of the telesante lab: configures the interface only
# (never /etc/resolv.conf: the namespace shares the host's filesystem).
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-$subnet}" dev "$interface"
        if [ -n "$router" ]; then
            set -- $router
            ip route replace default via "$1" dev "$interface"
        fi
        ;;
esac
exit 0
"""

# Key-only root login, nothing else: shared by every test sshd (lab nodes, simulated Macs).
SSHD_OPTIONS_COMMUNES = """PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowTcpForwarding no
MaxStartups 50:30:100
LogLevel VERBOSE
Subsystem sftp internal-sftp
"""

_SSHD_CONFIG = """# sshd of the telesante lab ({node}), generated
ListenAddress {ip}
Port {port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
""" + SSHD_OPTIONS_COMMUNES

# ---------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------

_lab_counter = itertools.count()
_SERVICE_MAX_SECONDS = 4 * 3600  # helper processes stop by themselves after this


def _base36(value: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        value, rem = divmod(value, 36)
        out = digits[rem] + out
        if value == 0:
            return out


class Lab:
    """A running lab. Build it with :func:`build_lab` (or ``with Lab.build()``).

    Public attributes (read-only by convention):

    * ``prefix``: namespace prefix of this instance (``ts-<pid>-<n>-``);
    * ``topology``: the :class:`Topology` built;
    * ``tmpdir``: temporary directory (keys, configs, logs, leases);
    * ``vlan_mode``: ``"dot1q"`` or ``"bridge-per-vlan"``;
    * ``delay_method``: ``"netem"`` or ``"nfqueue"`` (see :meth:`ralentir`);
    * ``switch``, ``gateway``: :class:`ManagedNode`; ``nodes`` maps their names;
    * ``hosts``: name -> :class:`LabHost` (switch port order); ``probe``: the probe host;
    * ``switch_bridges``: VLAN id -> bridge name in the switch namespace;
    * ``known_hosts``: OpenSSH known_hosts with both nodes' host keys;
    * ``client_key``: private key (ed25519) accepted by both nodes for ``root``;
    * ``lease_file``: dnsmasq lease file (same path seen from the gateway);
    * ``mgmt_network``: the /29 holding both management links;
    * ``build_seconds``: how long the build took.
    """

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        index = next(_lab_counter)
        self.prefix = f"ts-{os.getpid()}-{index}-"
        # Root-namespace veth ends: "ts<pid base 36>-<index>" + c|p, at most 15 chars.
        self._root_prefix = f"ts{_base36(os.getpid())}-{index}"
        self.tmpdir = Path(tempfile.mkdtemp(prefix=self.prefix))
        os.chmod(self.tmpdir, 0o700)
        self.vlan_mode = ""
        self.delay_method = ""
        self.switch: ManagedNode | None = None
        self.gateway: ManagedNode | None = None
        self.nodes: dict[str, ManagedNode] = {}
        self.hosts: dict[str, LabHost] = {}
        self.probe: LabHost | None = None
        self.switch_bridges: dict[int, str] = {}
        self.known_hosts = self.tmpdir / "known_hosts"
        self.client_key = self.tmpdir / "id_ed25519"
        self.authorized_keys = self.tmpdir / "authorized_keys"
        self.lease_file = self.tmpdir / "dnsmasq.leases"
        self.mgmt_network: ipaddress.IPv4Network | None = None
        self.build_seconds = 0.0
        self.namespaces: list[str] = []
        self._root_links: list[str] = []
        self._sshd: dict[str, _Process] = {}
        self._delays: dict[tuple[str, str], tuple[str, _Process | None, int]] = {}
        self._all_processes: list[_Process] = []
        self._gateway_ifaces: dict[int, str] = {}
        self._ports: dict[str, str] = {}
        self._queue_numbers = itertools.count(1)
        self._closed = False

    # -- construction -----------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def build(cls, topology: Topology | None = None) -> Iterator[Lab]:
        """Context manager: build the lab, yield it, always tear it down."""
        lab = build_lab(topology)
        try:
            yield lab
        finally:
            lab.close()

    def _build(self) -> None:
        started = time.monotonic()
        topo = self.topology
        self._create_namespace(SWITCH)
        self._create_namespace(GATEWAY)
        for host in topo.hosts:
            self._create_namespace(host.name)
        self._choose_modes()
        self._build_switch()
        self._build_gateway()
        self._plug_hosts()
        self._build_mgmt_links()
        self._prepare_ssh()
        for node in (SWITCH, GATEWAY):
            self._start_sshd(node)
        self._start_dnsmasq()
        self._run_dhcp_clients()
        announcers = self._start_mdns_announcers()
        self.refresh_traffic()
        for node in (SWITCH, GATEWAY):
            self._wait_sshd(node)
        for host_name, proc, ready in announcers:
            _wait_until(lambda: ready.exists() or not proc.running(),
                        f"l'annonce mDNS de {host_name}", timeout=10)
            if not ready.exists():
                raise LabError(f"Annonce mDNS de {host_name} en échec :\n{proc.log_tail()}")
        self.build_seconds = time.monotonic() - started

    def _ns(self, name: str) -> str:
        return self.prefix + name

    def _create_namespace(self, name: str) -> None:
        ns = self._ns(name)
        _run([_tool("ip"), "netns", "add", ns])
        self.namespaces.append(ns)
        # IPv6 off: deterministic tables, and no traffic beyond what the lab sends.
        _run(_in_ns(ns, [_tool("sysctl"), "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1", "net.ipv4.ip_forward=0"]))
        self._ip(ns, "link", "set", "lo", "up")

    def _ip(self, ns: str, *args: str) -> None:
        _run([_tool("ip"), "-n", ns, *args])

    def _choose_modes(self) -> None:
        features = probe_kernel_features(self._ns(SWITCH))
        wanted = self.topology.vlan_mode
        if wanted == VLAN_MODE_DOT1Q and not features.dot1q:
            raise LabError("Le noyau ne gère pas les VLAN 802.1Q (CONFIG_VLAN_8021Q / "
                           "CONFIG_BRIDGE_VLAN_FILTERING) : mode dot1q impossible")
        if wanted == VLAN_MODE_AUTO:
            wanted = VLAN_MODE_DOT1Q if features.dot1q else VLAN_MODE_BRIDGE_PER_VLAN
        self.vlan_mode = wanted
        self.delay_method = "netem" if features.netem else "nfqueue"

    def _build_switch(self) -> None:
        sw = self._ns(SWITCH)
        gw = self._ns(GATEWAY)
        vids = [v.vid for v in self.topology.vlans]
        # Bridges: multicast snooping off so mDNS floods to every port.
        # FDB ageing 24 h: learned entries stay for the whole test session.
        common = ["mcast_snooping", "0", "ageing_time", "8640000", "stp_state", "0"]
        if self.vlan_mode == VLAN_MODE_DOT1Q:
            self._ip(sw, "link", "add", "br0", "type", "bridge", "vlan_filtering", "1",
                     "vlan_default_pvid", "0", *common)
            self._ip(sw, "link", "set", "br0", "up")
            self.switch_bridges = {vid: "br0" for vid in vids}
            self._ip(sw, "link", "add", "swp-gw", "type", "veth", "peer", "name", "trunk0", "netns", gw)
            self._ip(sw, "link", "set", "swp-gw", "master", "br0", "up")
            for vid in vids:
                _run(_in_ns(sw, [_tool("bridge"), "vlan", "add", "dev", "swp-gw", "vid", str(vid)]))
        else:
            for vid in vids:
                bridge = f"br{vid}"
                self._ip(sw, "link", "add", bridge, "type", "bridge", *common)
                self._ip(sw, "link", "set", bridge, "up")
                self.switch_bridges[vid] = bridge
                uplink = f"swp-gw{vid}"
                self._ip(sw, "link", "add", uplink, "type", "veth", "peer", "name", f"vlan{vid}",
                         "netns", gw)
                self._ip(sw, "link", "set", uplink, "master", bridge, "up")

    def _build_gateway(self) -> None:
        gw = self._ns(GATEWAY)
        if self.vlan_mode == VLAN_MODE_DOT1Q:
            self._ip(gw, "link", "set", "trunk0", "up")
        for vlan in self.topology.vlans:
            if self.vlan_mode == VLAN_MODE_DOT1Q:
                iface = f"trunk0.{vlan.vid}"
                self._ip(gw, "link", "add", "link", "trunk0", "name", iface, "type", "vlan",
                         "id", str(vlan.vid))
            else:
                iface = f"vlan{vlan.vid}"
            self._ip(gw, "addr", "add", f"{vlan.gateway_ip}/{vlan.ip_network.prefixlen}", "dev", iface)
            self._ip(gw, "link", "set", iface, "up")
            self._gateway_ifaces[vlan.vid] = iface

    def _plug_hosts(self) -> None:
        sw = self._ns(SWITCH)
        for index, host in enumerate(self.topology.hosts, start=1):
            port = f"swp{index}"
            hns = self._ns(host.name)
            self._ip(sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", hns)
            self._ip(hns, "link", "set", "eth0", "address", host.mac)
            bridge = self.switch_bridges[host.vlan]
            self._ip(sw, "link", "set", port, "master", bridge)
            if self.vlan_mode == VLAN_MODE_DOT1Q:
                _run(_in_ns(sw, [_tool("bridge"), "vlan", "add", "dev", port, "vid", str(host.vlan),
                                 "pvid", "untagged"]))
            self._ip(sw, "link", "set", port, "up")
            self._ip(hns, "link", "set", "eth0", "up")
            self._ports[host.name] = port

    def _build_mgmt_links(self) -> None:
        ip = _tool("ip")
        with _mgmt_lock():
            block = _free_mgmt_block([v.ip_network for v in self.topology.vlans])
            self.mgmt_network = block
            links = list(block.subnets(new_prefix=30))
            for node, suffix, link in ((SWITCH, "c", links[0]), (GATEWAY, "p", links[1])):
                root_if = f"{self._root_prefix}{suffix}"
                root_ip, node_ip = (str(a) for a in link.hosts())
                ns = self._ns(node)
                _run([ip, "link", "add", root_if, "type", "veth", "peer", "name", "mgmt0", "netns", ns])
                self._root_links.append(root_if)
                _run([_tool("sysctl"), "-q", "-w", f"net.ipv6.conf.{root_if}.disable_ipv6=1"])
                _run([ip, "addr", "add", f"{root_ip}/30", "dev", root_if])
                _run([ip, "link", "set", root_if, "up"])
                self._ip(ns, "addr", "add", f"{node_ip}/30", "dev", "mgmt0")
                self._ip(ns, "link", "set", "mgmt0", "up")
                node_dir = self.tmpdir / node
                node_dir.mkdir()
                self.nodes[node] = ManagedNode(
                    name=node, namespace=ns, mgmt_ip=node_ip, ssh_port=22, user="root",
                    key_path=self.client_key, host_key_path=node_dir / "ssh_host_ed25519_key",
                    interface="mgmt0", root_interface=root_if, root_ip=root_ip)
        self.switch = self.nodes[SWITCH]
        self.gateway = self.nodes[GATEWAY]

    # -- SSH ---------------------------------------------------------------

    def _prepare_ssh(self) -> None:
        keygen = _tool("ssh-keygen")
        _run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", f"labo-{self.prefix}", "-f",
              str(self.client_key)])
        shutil.copyfile(f"{self.client_key}.pub", self.authorized_keys)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        for node in self.nodes.values():
            self._generate_host_key(node)
            config = self.tmpdir / node.name / "sshd_config"
            config.write_text(_SSHD_CONFIG.format(
                node=node.name, ip=node.mgmt_ip, port=node.ssh_port, host_key=node.host_key_path,
                pid_file=self.tmpdir / node.name / "sshd.pid", authorized_keys=self.authorized_keys))
        self.refresh_known_hosts()

    def _generate_host_key(self, node: ManagedNode) -> None:
        for path in (node.host_key_path, Path(f"{node.host_key_path}.pub")):
            path.unlink(missing_ok=True)
        _run([_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", f"{node.name}@labo",
              "-f", str(node.host_key_path)])

    def refresh_known_hosts(self) -> None:
        """Rewrite ``known_hosts`` from the nodes' current host keys."""
        lines = []
        for node in self.nodes.values():
            key_type, key_b64 = Path(f"{node.host_key_path}.pub").read_text().split()[:2]
            host = node.mgmt_ip if node.ssh_port == 22 else f"[{node.mgmt_ip}]:{node.ssh_port}"
            lines.append(f"{host} {key_type} {key_b64}\n")
        self.known_hosts.write_text("".join(lines))

    def _start_sshd(self, name: str) -> None:
        node = self.nodes[name]
        config = self.tmpdir / name / "sshd_config"
        proc = _Process(f"sshd {name}", _in_ns(node.namespace, [_tool("sshd"), "-D", "-e", "-f",
                                                                str(config)]),
                        self.tmpdir / name / "sshd.log")
        self._sshd[name] = proc
        self._all_processes.append(proc)

    def _sshd_listening(self, node: ManagedNode) -> bool:
        out = _run(_in_ns(node.namespace, [_tool("ss"), "-Hltn"]), check=False).stdout
        return f"{node.mgmt_ip}:{node.ssh_port} " in out

    def _wait_sshd(self, name: str) -> None:
        node = self.nodes[name]
        proc = self._sshd[name]
        _wait_until(lambda: self._sshd_listening(node) or not proc.running(),
                    f"le sshd de {name}", timeout=10)
        if not proc.running():
            raise LabError(f"Le sshd de {name} s'est arrêté :\n{proc.log_tail()}")

    def arreter_sshd(self, node: str = SWITCH) -> None:
        """Stop the node's sshd (open sessions stay, new connections are refused)."""
        proc = self._sshd.get(node)
        if proc is not None:
            proc.stop()
        n = self.nodes[node]
        _wait_until(lambda: not self._sshd_listening(n), f"l'arrêt du sshd de {node}", timeout=5)

    def demarrer_sshd(self, node: str = SWITCH) -> None:
        """(Re)start the node's sshd and wait until it listens."""
        proc = self._sshd.get(node)
        if proc is not None and proc.running():
            return
        self._start_sshd(node)
        self._wait_sshd(node)

    def changer_cle_hote(self, node: str = SWITCH) -> None:
        """Give the node a new host key and restart its sshd.

        ``known_hosts`` is left untouched, so it no longer matches (call
        :meth:`refresh_known_hosts` to accept the new key).
        """
        self.arreter_sshd(node)
        self._generate_host_key(self.nodes[node])
        self.demarrer_sshd(node)

    # -- DHCP ----------------------------------------------------------------

    def _start_dnsmasq(self) -> None:
        gw = self._ns(GATEWAY)
        argv = [_tool("dnsmasq"), "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--no-resolv", "--no-hosts", "--bind-interfaces", "--except-interface=lo",
                "--user=root", "--group=root", "--no-ping", "--dhcp-authoritative", "--log-dhcp",
                f"--log-facility={self.tmpdir / 'dnsmasq.log'}",
                f"--pid-file={self.tmpdir / 'dnsmasq.pid'}",
                f"--dhcp-leasefile={self.lease_file}"]
        for vlan in self.topology.vlans:
            first, last = vlan.dhcp_range
            argv.append(f"--interface={self._gateway_ifaces[vlan.vid]}")
            argv.append(f"--dhcp-range={first},{last},{vlan.ip_network.netmask},12h")
        proc = _Process("dnsmasq", _in_ns(gw, argv), self.tmpdir / "dnsmasq.out")
        self._all_processes.append(proc)

        def listening() -> bool:
            return ":67 " in _run(_in_ns(gw, [_tool("ss"), "-Hlun"]), check=False).stdout

        _wait_until(lambda: listening() or not proc.running(), "dnsmasq", timeout=10)
        if not proc.running():
            raise LabError(f"dnsmasq s'est arrêté :\n{proc.log_tail()}")

    def _run_dhcp_clients(self) -> None:
        """Real DHCP exchange for every host, all in parallel, bounded."""
        if not self.topology.hosts:
            return
        script = self.tmpdir / "udhcpc.sh"
        script.write_text(_UDHCPC_SCRIPT)
        script.chmod(0o755)
        clients: list[tuple[HostSpec, _Process]] = []
        for host in self.topology.hosts:
            argv = [_tool("busybox"), "udhcpc", "-f", "-q", "-n", "-i", "eth0", "-t", "5", "-T", "1",
                    "-s", str(script)]
            if host.dhcp_hostname:
                argv += ["-x", f"hostname:{host.dhcp_hostname}"]
            proc = _Process(f"udhcpc {host.name}", _in_ns(self._ns(host.name), argv),
                            self.tmpdir / f"udhcpc-{host.name}.log")
            clients.append((host, proc))
            self._all_processes.append(proc)
        deadline = time.monotonic() + 12
        failures = []
        for host, proc in clients:
            try:
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.stop()
            if proc.popen.returncode != 0:
                failures.append(f"{host.name} :\n{proc.log_tail()}")
        if failures:
            raise LabError("Échec DHCP pour " + "\n".join(failures))
        macs = {h.mac for h in self.topology.hosts}
        _wait_until(lambda: macs <= {lease.mac for lease in self.leases()},
                    "l'écriture des baux DHCP par dnsmasq", timeout=5)
        by_mac = {lease.mac: lease for lease in self.leases()}
        for host in self.topology.hosts:
            self.hosts[host.name] = LabHost(
                name=host.name, namespace=self._ns(host.name), mac=host.mac, vlan=host.vlan,
                switch_port=self._ports[host.name], dhcp_hostname=host.dhcp_hostname,
                ip=by_mac[host.mac].ip)
        if self.topology.probe is not None:
            self.probe = self.hosts[self.topology.probe]

    def leases(self) -> list[Lease]:
        """Parse the dnsmasq lease file (``expiry mac ip hostname client-id``)."""
        try:
            text = self.lease_file.read_text()
        except FileNotFoundError:
            return []
        leases = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4 or parts[0] == "duid":
                continue
            leases.append(Lease(
                expiry=int(parts[0]), mac=parts[1].lower(), ip=parts[2],
                hostname=None if parts[3] == "*" else parts[3],
                client_id=None if len(parts) < 5 or parts[4] == "*" else parts[4]))
        return leases

    # -- traffic and mDNS ----------------------------------------------------------

    def refresh_traffic(self) -> None:
        """Every host pings its gateway once (fills the FDB and the neighbour table)."""
        pings = []
        for host in self.hosts.values():
            target = self.topology.vlan(host.vlan).gateway_ip
            argv = _in_ns(host.namespace, [_tool("ping"), "-n", "-q", "-c", "1", "-W", "1", target])
            pings.append((host, subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                                 stderr=subprocess.DEVNULL)))
        failures = []
        for host, popen in pings:
            try:
                code = popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait(timeout=5)
                code = -1
            if code != 0:
                failures.append(host.name)
        if failures:
            raise LabError("Passerelle injoignable depuis : " + ", ".join(failures))

    def _start_mdns_announcers(self) -> list[tuple[str, _Process, Path]]:
        started = []
        for spec in self.topology.hosts:
            if spec.mdns is None:
                continue
            host = self.hosts[spec.name]
            ready = self.tmpdir / f"mdns-{spec.name}.pret"
            service = spec.mdns
            argv = [sys.executable, str(Path(__file__).resolve()), "mdns-announce",
                    "--ip", host.ip, "--type", service.service_type, "--instance", service.instance,
                    "--port", str(service.port), "--ready", str(ready),
                    "--max-seconds", str(_SERVICE_MAX_SECONDS)]
            if service.server:
                argv += ["--server", service.server]
            for key, value in service.txt:
                argv += ["--txt", f"{key}={value}"]
            proc = _Process(f"mdns {spec.name}", _in_ns(host.namespace, argv),
                            self.tmpdir / f"mdns-{spec.name}.log")
            self._all_processes.append(proc)
            started.append((spec.name, proc, ready))
        return started

    def browse_mdns(self, from_host: str, service_type: str, timeout: float = 5.0,
                    min_results: int = 1) -> list[dict]:
        """Browse DNS-SD ``service_type`` from a host's namespace (python-zeroconf).

        Returns ``[{"name", "addresses", "port", "server", "txt"}]``; stops as soon
        as ``min_results`` services are resolved, or after ``timeout`` seconds.
        """
        host = self.hosts[from_host]
        argv = [sys.executable, str(Path(__file__).resolve()), "mdns-browse", "--ip", host.ip,
                "--type", service_type, "--seconds", str(timeout), "--min", str(min_results)]
        result = _run(_in_ns(host.namespace, argv), timeout=timeout + 15)
        return json.loads(result.stdout)

    def run_in(self, name: str, argv: Sequence[str], timeout: float = 10,
               check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace of a host or node (``ip netns exec``)."""
        return _run(_in_ns(self.namespace_of(name), argv), timeout=timeout, check=check)

    def namespace_of(self, name: str) -> str:
        """Namespace of ``commutateur``, ``passerelle`` or a host."""
        if name in self.nodes:
            return self.nodes[name].namespace
        if name in self.hosts:
            return self.hosts[name].namespace
        raise KeyError(f"Inconnu dans le laboratoire : {name}")

    def host(self, name: str) -> LabHost:
        """The built host named ``name``."""
        return self.hosts[name]

    # -- delay injection ------------------------------------------------------------

    def _default_interface(self, name: str) -> str:
        return self.nodes[name].interface if name in self.nodes else "eth0"

    def ralentir(self, node: str = SWITCH, delay_ms: int = 500, interface: str | None = None) -> None:
        """Delay every IPv4 packet leaving ``interface`` of ``node`` by ``delay_ms``.

        Default interface: the management interface of a node (so SSH from the
        root namespace gets an extra round-trip of ``delay_ms``), ``eth0`` for a
        host. Uses ``tc netem`` when the kernel has it, otherwise an NFQUEUE rule
        (iptables, mangle/POSTROUTING) served by a userspace delay queue.
        """
        if delay_ms < 0:
            raise ValueError("délai négatif")
        iface = interface or self._default_interface(node)
        ns = self.namespace_of(node)
        self.retablir(node, iface)
        if self.delay_method == "netem":
            _run(_in_ns(ns, [_tool("tc"), "qdisc", "replace", "dev", iface, "root", "netem",
                             "delay", f"{int(delay_ms)}ms"]))
            self._delays[(ns, iface)] = ("netem", None, 0)
            return
        queue = next(self._queue_numbers)
        ready = self.tmpdir / f"retard-{node}-{iface}-{queue}.pret"
        argv = [sys.executable, str(Path(__file__).resolve()), "delay-queue", "--queue", str(queue),
                "--delay-ms", str(int(delay_ms)), "--ready", str(ready),
                "--max-seconds", str(_SERVICE_MAX_SECONDS)]
        proc = _Process(f"retard {node}/{iface}", _in_ns(ns, argv),
                        self.tmpdir / f"retard-{node}-{iface}.log")
        self._all_processes.append(proc)
        self._delays[(ns, iface)] = ("nfqueue", proc, queue)
        _wait_until(lambda: ready.exists() or not proc.running(), "la file de retard", timeout=10)
        if not ready.exists():
            raise LabError(f"File de retard en échec :\n{proc.log_tail()}")
        _run(_in_ns(ns, self._iptables_rule("-A", iface, queue)))

    def retablir(self, node: str = SWITCH, interface: str | None = None) -> None:
        """Remove the delay set by :meth:`ralentir` (no-op when there is none)."""
        iface = interface or self._default_interface(node)
        ns = self.namespace_of(node)
        entry = self._delays.pop((ns, iface), None)
        if entry is None:
            return
        method, proc, queue = entry
        if method == "netem":
            _run(_in_ns(ns, [_tool("tc"), "qdisc", "del", "dev", iface, "root"]), check=False)
            return
        _run(_in_ns(ns, self._iptables_rule("-D", iface, queue)), check=False)
        if proc is not None:
            proc.stop()  # releases the packets still held

    @staticmethod
    def _iptables_rule(action: str, iface: str, queue: int) -> list[str]:
        return [_tool("iptables"), "-w", "5", "-t", "mangle", action, "POSTROUTING", "-o", iface,
                "-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]

    # -- teardown -----------------------------------------------------------------

    def pids(self) -> list[int]:
        """PIDs of every process the lab started (running or not)."""
        return [p.pid for p in self._all_processes]

    def close(self) -> None:
        """Tear everything down: processes, namespaces, root veth ends, temp dir.

        Idempotent; keeps going after individual failures and raises LabError
        at the end if something could not be removed.
        """
        if self._closed:
            return
        self._closed = True
        problems: list[str] = []
        for proc in reversed(self._all_processes):
            try:
                proc.stop(grace=1.0)
            except Exception as exc:  # noqa: BLE001 - teardown must go on
                problems.append(f"{proc.label} : {exc}")
        ip = _tool("ip")
        for ns in reversed(self.namespaces):
            _kill_namespace_processes(ns)
            result = subprocess.run([ip, "netns", "del", ns], capture_output=True, text=True)
            if result.returncode != 0:
                problems.append(f"netns {ns} : {result.stderr.strip()}")
        for link in self._root_links:
            if subprocess.run([ip, "link", "show", link], capture_output=True).returncode == 0:
                result = subprocess.run([ip, "link", "del", link], capture_output=True, text=True)
                # Deleting a namespace removes its veth peers asynchronously: gone is fine.
                if result.returncode != 0 and "Cannot find device" not in result.stderr:
                    problems.append(f"lien {link} : {result.stderr.strip()}")
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        if problems:
            raise LabError("Démontage incomplet du laboratoire : " + "; ".join(problems))

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def build_lab(topology: Topology | None = None) -> Lab:
    """Build a lab from ``topology`` (default: :data:`DEFAULT_TOPOLOGY`).

    On any failure, everything already created is torn down before the
    error propagates. The caller must call :meth:`Lab.close`.
    """
    reasons = missing_prerequisites()
    if reasons:
        raise LabError("Le laboratoire réseau exige root (espaces de noms réseau) : "
                       + " ; ".join(reasons))
    lab = Lab(topology or DEFAULT_TOPOLOGY)
    try:
        lab._build()
    except BaseException:
        with contextlib.suppress(Exception):
            lab.close()
        raise
    return lab


# ---------------------------------------------------------------------------
# Leftovers of crashed runs
# ---------------------------------------------------------------------------


def nettoyer_restes(prefix: str = "ts-") -> list[str]:
    """Remove what crashed lab runs left behind; return what was removed.

    Only objects whose creator PID no longer exists are touched: namespaces
    ``<prefix><pid>-<n>-*`` (processes inside are killed first), root veth
    ends ``ts<pid base 36>-<n>[cp]`` and temporary directories.
    """
    removed: list[str] = []
    ip = _tool("ip")
    ns_re = re.compile(rf"^{re.escape(prefix)}(\d+)-\d+-")
    listing = subprocess.run([ip, "-j", "netns", "list"], capture_output=True, text=True).stdout
    for entry in json.loads(listing or "[]"):
        name = entry.get("name", "")
        match = ns_re.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _kill_namespace_processes(name)
            subprocess.run([ip, "netns", "del", name], capture_output=True)
            removed.append(f"netns {name}")
    link_re = re.compile(r"^ts([0-9a-z]{1,6})-\d+[cp]$")
    links = subprocess.run([ip, "-j", "link", "show"], capture_output=True, text=True).stdout
    for link in json.loads(links or "[]"):
        name = link.get("ifname", "")
        match = link_re.match(name)
        if match and not _pid_alive(int(match.group(1), 36)):
            subprocess.run([ip, "link", "del", name], capture_output=True)
            removed.append(f"lien {name}")
    for path in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        match = ns_re.match(path.name)
        if match and path.is_dir() and not _pid_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(f"dossier {path}")
    return removed


# ---------------------------------------------------------------------------
# Helper processes run inside namespaces (``python topologie.py <role>``)
# ---------------------------------------------------------------------------


def _exit_on_sigterm() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _run_mdns_announce(args: argparse.Namespace) -> None:
    """Announce one DNS-SD service on ``args.ip`` until SIGTERM or max lifetime."""
    from zeroconf import IPVersion, ServiceInfo, Zeroconf

    _exit_on_sigterm()
    txt = dict(item.split("=", 1) for item in args.txt)
    info = ServiceInfo(args.type, f"{args.instance}.{args.type}",
                       addresses=[socket.inet_aton(args.ip)], port=args.port, properties=txt,
                       server=args.server or f"{args.instance}.local.")
    zc = Zeroconf(interfaces=[args.ip], ip_version=IPVersion.V4Only)
    try:
        zc.register_service(info)
        Path(args.ready).write_text(str(os.getpid()))
        time.sleep(args.max_seconds)
    finally:
        with contextlib.suppress(Exception):
            zc.unregister_service(info)
        zc.close()


def _run_mdns_browse(args: argparse.Namespace) -> None:
    """Browse ``args.type`` for at most ``args.seconds``; print JSON on stdout."""
    from zeroconf import IPVersion, ServiceBrowser, Zeroconf

    names: set[str] = set()

    class Listener:
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            names.add(name)

        def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            names.add(name)

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            pass

    found: dict[str, dict] = {}
    zc = Zeroconf(interfaces=[args.ip], ip_version=IPVersion.V4Only)
    try:
        ServiceBrowser(zc, args.type, Listener())
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline and len(found) < args.min:
            for name in sorted(names - found.keys()):
                remaining_ms = int(max(0.1, deadline - time.monotonic()) * 1000)
                info = zc.get_service_info(args.type, name, timeout=min(1000, remaining_ms))
                if info is None:
                    continue
                found[name] = {
                    "name": name,
                    "addresses": info.parsed_addresses(),
                    "port": info.port,
                    "server": info.server,
                    "txt": {k.decode(errors="replace"): (v.decode(errors="replace") if v is not None
                                                         else None)
                            for k, v in info.properties.items()},
                }
            time.sleep(0.1)
    finally:
        zc.close()
    print(json.dumps(list(found.values()), ensure_ascii=False))


# Netfilter queue protocol (linux/netfilter/nfnetlink_queue.h).
_NETLINK_NETFILTER = 12
_NFNL_SUBSYS_QUEUE = 3
_NFQNL_MSG_PACKET = (_NFNL_SUBSYS_QUEUE << 8) | 0
_NFQNL_MSG_VERDICT = (_NFNL_SUBSYS_QUEUE << 8) | 1
_NFQNL_MSG_CONFIG = (_NFNL_SUBSYS_QUEUE << 8) | 2
_NLMSG_ERROR = 2
_NLM_F_REQUEST, _NLM_F_ACK = 1, 4
_NFQA_PACKET_HDR, _NFQA_VERDICT_HDR = 1, 2
_NFQA_CFG_CMD, _NFQA_CFG_PARAMS = 1, 2
_NFQNL_CFG_CMD_BIND, _NFQNL_COPY_META, _NF_ACCEPT = 1, 1, 1


def _nl_attr(attr_type: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, attr_type) + data + b"\0" * (-length % 4)


def _nfq_message(msg_type: int, flags: int, queue: int, attrs: bytes, seq: int = 0) -> bytes:
    payload = struct.pack("=BB", socket.AF_UNSPEC, 0) + struct.pack("!H", queue) + attrs
    return struct.pack("=IHHII", 16 + len(payload), msg_type, flags, seq, 0) + payload


def _nfq_expect_ack(sock: socket.socket) -> None:
    data = sock.recv(8192)
    length, msg_type = struct.unpack_from("=IH", data)
    if msg_type != _NLMSG_ERROR or struct.unpack_from("=i", data, 16)[0] != 0:
        raise SystemExit(f"nfqueue : configuration refusée par le noyau ({data[16:20].hex()})")


def _run_delay_queue(args: argparse.Namespace) -> None:
    """Hold every packet of NFQUEUE ``args.queue`` for ``args.delay_ms``, then accept it.

    A constant delay keeps packets in order. On SIGTERM, held packets are
    accepted at once. Stops by itself after ``args.max_seconds``.
    """
    _exit_on_sigterm()
    delay = args.delay_ms / 1000
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((0, 0))
    sock.send(_nfq_message(_NFQNL_MSG_CONFIG, _NLM_F_REQUEST | _NLM_F_ACK, args.queue,
                           _nl_attr(_NFQA_CFG_CMD, struct.pack("!BxH", _NFQNL_CFG_CMD_BIND, 0)), 1))
    _nfq_expect_ack(sock)
    sock.send(_nfq_message(_NFQNL_MSG_CONFIG, _NLM_F_REQUEST | _NLM_F_ACK, args.queue,
                           _nl_attr(_NFQA_CFG_PARAMS, struct.pack("!IB", 0, _NFQNL_COPY_META)), 2))
    _nfq_expect_ack(sock)
    Path(args.ready).write_text(str(os.getpid()))

    held: list[tuple[float, int]] = []  # (release time, packet id), FIFO

    def release(packet_id: int) -> None:
        verdict = _nl_attr(_NFQA_VERDICT_HDR, struct.pack("!II", _NF_ACCEPT, packet_id))
        sock.send(_nfq_message(_NFQNL_MSG_VERDICT, _NLM_F_REQUEST, args.queue, verdict))

    import select

    end = time.monotonic() + args.max_seconds
    try:
        while time.monotonic() < end:
            wait = held[0][0] - time.monotonic() if held else 1.0
            readable, _, _ = select.select([sock], [], [], max(0.0, min(wait, 1.0)))
            if readable:
                try:
                    data = sock.recv(1 << 16)
                except OSError:  # ENOBUFS: the kernel dropped some queue messages
                    data = b""
                now = time.monotonic()
                offset = 0
                while offset + 16 <= len(data):
                    length, msg_type = struct.unpack_from("=IH", data, offset)
                    if length < 16:
                        break
                    if msg_type == _NFQNL_MSG_PACKET:
                        attr = offset + 20
                        while attr + 4 <= offset + length:
                            attr_len, attr_type = struct.unpack_from("=HH", data, attr)
                            if attr_len < 4:
                                break
                            if attr_type & 0x3FFF == _NFQA_PACKET_HDR:
                                held.append((now + delay, struct.unpack_from("!I", data, attr + 4)[0]))
                            attr += (attr_len + 3) & ~3
                    offset += (length + 3) & ~3
            now = time.monotonic()
            while held and held[0][0] <= now:
                release(held.pop(0)[1])
    finally:
        for _, packet_id in held:
            with contextlib.suppress(OSError):
                release(packet_id)
        sock.close()


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Rôles auxiliaires du laboratoire réseau")
    roles = parser.add_subparsers(dest="role", required=True)

    announce = roles.add_parser("mdns-announce", help="annonce un service DNS-SD")
    announce.add_argument("--ip", required=True)
    announce.add_argument("--type", required=True)
    announce.add_argument("--instance", required=True)
    announce.add_argument("--port", type=int, required=True)
    announce.add_argument("--server")
    announce.add_argument("--txt", action="append", default=[])
    announce.add_argument("--ready", required=True)
    announce.add_argument("--max-seconds", type=float, default=_SERVICE_MAX_SECONDS)

    browse = roles.add_parser("mdns-browse", help="parcourt un type de service DNS-SD")
    browse.add_argument("--ip", required=True)
    browse.add_argument("--type", required=True)
    browse.add_argument("--seconds", type=float, default=5.0)
    browse.add_argument("--min", type=int, default=1)

    queue = roles.add_parser("delay-queue", help="retarde les paquets d'une file NFQUEUE")
    queue.add_argument("--queue", type=int, required=True)
    queue.add_argument("--delay-ms", type=int, required=True)
    queue.add_argument("--ready", required=True)
    queue.add_argument("--max-seconds", type=float, default=_SERVICE_MAX_SECONDS)

    args = parser.parse_args(argv)
    {"mdns-announce": _run_mdns_announce, "mdns-browse": _run_mdns_browse,
     "delay-queue": _run_delay_queue}[args.role](args)


if __name__ == "__main__":
    _main()
