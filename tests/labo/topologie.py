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
and a small userspace delayer (``auxiliaires.py delay-queue``).

Traffic rules: the lab only ever sends packets to addresses that live in
its own namespaces; every wait loop is bounded in count and time; the only
change to the root namespace is adding (then removing) its own management
veth ends with their /30 addresses.

Namespaces, management veths (their /29 taken under the lab lock
``/run/lock/telesante-labo.lock``), sshd, bounded waits and teardown come
from the shared tool ``tests/espaces_de_noms.py``, as for the simulated Macs.
The helper processes run inside namespaces (mDNS announcer and browser, delay
queue) live in ``auxiliaires.py``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import ipaddress
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from .. import espaces_de_noms
from ..espaces_de_noms import (OPTIONS_SSHD, ConstructionErreur, attendre, attendre_ecoute, base36,
                               bloc_gestion_libre, chercher_outil, creer_espace, creer_lien_gestion,
                               dans_espace, demarrer_processus, ecoute_tcp, fin_du_journal, generer_cle_ssh,
                               lancer, ligne_hotes_connus, outil, supprimer_espace, supprimer_lien,
                               verrou_gestion)
from .auxiliaires import DUREE_MAXIMALE

AUXILIAIRES = Path(__file__).resolve().parent / "auxiliaires.py"

# ---------------------------------------------------------------------------
# Topologie description
# ---------------------------------------------------------------------------

COMMUTATEUR = "commutateur"
PASSERELLE = "passerelle"
VLAN_MISSION = 110
VLAN_PATIENTS = 120

MODE_VLAN_AUTO = "auto"
MODE_VLAN_DOT1Q = "dot1q"
MODE_VLAN_PONT_PAR_VLAN = "bridge-per-vlan"

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


@dataclass(frozen=True)
class DescriptionVlan:
    """A VLAN: its 802.1Q id, a label and the IPv4 subnet served by DHCP.

    The gateway takes the first address of the subnet; DHCP hands out
    addresses from ``.100`` to ``.199`` (for a /24).
    """

    vid: int
    libelle: str
    reseau: str

    def __post_init__(self) -> None:
        if not 1 <= self.vid <= 4094:
            raise ValueError(f"VLAN invalide : {self.vid}")
        net = ipaddress.IPv4Network(self.reseau)
        if net.num_addresses < 256:
            raise ValueError(f"Sous-réseau trop petit pour le VLAN {self.vid} : {net}")

    @property
    def reseau_ip(self) -> ipaddress.IPv4Network:
        """The VLAN subnet as an ``IPv4Network``."""
        return ipaddress.IPv4Network(self.reseau)

    @property
    def ip_passerelle(self) -> str:
        """Address of the gateway on this VLAN (first host address)."""
        return str(self.reseau_ip.network_address + 1)

    @property
    def plage_dhcp(self) -> tuple[str, str]:
        """First and last address handed out by DHCP."""
        base = self.reseau_ip.network_address
        return str(base + 100), str(base + 199)


@dataclass(frozen=True)
class ServiceMdns:
    """A DNS-SD service a host announces over multicast DNS (python-zeroconf)."""

    type_service: str
    instance: str
    port: int
    txt: tuple[tuple[str, str], ...] = ()
    serveur: str | None = None  # defaults to "<instance>.local."


@dataclass(frozen=True)
class DescriptionHote:
    """A device plugged into an access port of the switch.

    ``nom_dhcp`` is sent as DHCP option 12 (None: no hostname sent).
    """

    nom: str
    mac: str
    vlan: int
    nom_dhcp: str | None
    mdns: ServiceMdns | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.nom) or self.nom in (COMMUTATEUR, PASSERELLE):
            raise ValueError(f"Nom d'hôte de laboratoire invalide : {self.nom!r}")
        if not _MAC_RE.match(self.mac):
            raise ValueError(f"Adresse MAC invalide (attendu aa:bb:cc:dd:ee:ff en minuscules) : {self.mac!r}")
        if int(self.mac[:2], 16) & 0x01:
            raise ValueError(f"Adresse MAC de groupe interdite pour un hôte : {self.mac}")


@dataclass(frozen=True)
class Topologie:
    """What to build: VLANs, hosts (in switch port order) and the probe host."""

    vlans: tuple[DescriptionVlan, ...]
    hotes: tuple[DescriptionHote, ...]
    sonde: str | None = "sonde"
    mode_vlan: str = MODE_VLAN_AUTO

    def __post_init__(self) -> None:
        vids = [v.vid for v in self.vlans]
        if len(set(vids)) != len(vids):
            raise ValueError("VLAN déclaré deux fois")
        names = [h.nom for h in self.hotes]
        if len(set(names)) != len(names):
            raise ValueError("Nom d'hôte déclaré deux fois")
        macs = [h.mac for h in self.hotes]
        if len(set(macs)) != len(macs):
            raise ValueError("Adresse MAC déclarée deux fois")
        for host in self.hotes:
            if host.vlan not in vids:
                raise ValueError(f"{host.nom} : VLAN {host.vlan} non déclaré")
        if self.sonde is not None and self.sonde not in names:
            raise ValueError(f"Sonde {self.sonde!r} absente des hôtes")
        if self.mode_vlan not in (MODE_VLAN_AUTO, MODE_VLAN_DOT1Q, MODE_VLAN_PONT_PAR_VLAN):
            raise ValueError(f"Mode VLAN inconnu : {self.mode_vlan!r}")

    def vlan(self, vid: int) -> DescriptionVlan:
        """The VLAN with this id."""
        return next(v for v in self.vlans if v.vid == vid)

    def avec_hotes(self, *hosts: DescriptionHote) -> Topologie:
        """A copy with extra hosts appended (new switch ports)."""
        return dataclasses.replace(self, hotes=self.hotes + tuple(hosts))

    def sans_hotes(self, *names: str) -> Topologie:
        """A copy without the named hosts (the probe is dropped if removed)."""
        probe = None if self.sonde in names else self.sonde
        kept = tuple(h for h in self.hotes if h.nom not in names)
        return dataclasses.replace(self, hotes=kept, sonde=probe)


VLANS_PAR_DEFAUT = (
    DescriptionVlan(VLAN_MISSION, "mission", "172.31.110.0/24"),
    DescriptionVlan(VLAN_PATIENTS, "patients", "172.31.120.0/24"),
)

# MAC prefixes are real registrations (netaddr's OUI registry): 84:28:59
# Amazon Technologies, f4:f5:d8 Google, f0:ee:7a Apple, 00:50:56 VMware
# (manual range 00:50:56:00:00:00-3f:ff:ff), e0:cb:1d Amazon Technologies,
# d0:43:1e Dell. 6a:... is locally administered (randomized private MAC).
HOTES_PAR_DEFAUT = (
    DescriptionHote("echo-show", "84:28:59:3f:9a:1c", VLAN_MISSION, "amazon-3f9a1c2b7",
             description="Amazon Echo Show (appareil grand public)"),
    DescriptionHote("nest-hub", "f4:f5:d8:4e:57:21", VLAN_MISSION, "Google-Nest-Hub",
             mdns=ServiceMdns(
                 type_service="_googlecast._tcp.local.",
                 instance="Google-Nest-Hub-4e5721d0c3a8b9f2",
                 port=8009,
                 txt=(("id", "4e5721d0c3a8b9f2"), ("md", "Google Nest Hub"),
                      ("fn", "Salle 3"), ("ve", "05")),
                 serveur="4e5721d0-c3a8-b9f2.local.",
             ),
             description="Google Nest Hub (appareil grand public, annonce mDNS)"),
    DescriptionHote("mac-poste", "f0:ee:7a:10:20:30", VLAN_MISSION, "MAC-URG-01",
             description="Mac autorisé du poste DSQ"),
    DescriptionHote("vm-poste", "00:50:56:1a:2b:3c", VLAN_MISSION, "DSQ-URG-01",
             description="Machine virtuelle Windows du Mac (VMware)"),
    DescriptionHote("telephone", "6a:1f:4c:82:9d:05", VLAN_MISSION, "iPhone",
             description="Téléphone, MAC aléatoire (administrée localement)"),
    DescriptionHote("tv-patients", "e0:cb:1d:6b:30:a2", VLAN_PATIENTS, "amazon-patient-tv",
             description="Téléviseur grand public du VLAN patients"),
    DescriptionHote("sonde", "d0:43:1e:5e:00:01", VLAN_MISSION, "SONDE-URG-01",
             description="Sonde du VLAN de mission (capteur mDNS)"),
)

TOPOLOGIE_PAR_DEFAUT = Topologie(vlans=VLANS_PAR_DEFAUT, hotes=HOTES_PAR_DEFAUT, sonde="sonde")


def topologie_par_defaut() -> Topologie:
    """The reference ward: five mission devices, a patients TV and the probe."""
    return TOPOLOGIE_PAR_DEFAUT


# ---------------------------------------------------------------------------
# What the built lab exposes
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NoeudGere:
    """A node the audit reaches over SSH (switch or gateway)."""

    nom: str
    espace: str
    ip_gestion: str
    port_ssh: int
    utilisateur: str
    chemin_cle: Path
    chemin_cle_hote: Path
    interface: str  # management interface inside the namespace
    interface_racine: str  # veth end in the root namespace
    ip_racine: str  # address of that veth end


@dataclass(frozen=True)
class HoteLaboratoire:
    """A host as built: where it is plugged and what DHCP gave it."""

    nom: str
    espace: str
    mac: str
    vlan: int
    port_commutateur: str
    nom_dhcp: str | None
    ip: str


@dataclass(frozen=True)
class Bail:
    """One line of the dnsmasq lease file."""

    expiration: int
    mac: str
    ip: str
    nom_hote: str | None
    id_client: str | None


class ErreurLaboratoire(ConstructionErreur):
    """The lab could not be built or operated (message in French)."""


# ---------------------------------------------------------------------------
# Prerequisites and kernel features
# ---------------------------------------------------------------------------

OUTILS_REQUIS = {
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

def prerequis_manquants() -> list[str]:
    """Reasons (in French) why the lab cannot be built here; empty if it can."""
    reasons: list[str] = []
    if os.geteuid() != 0:
        reasons.append("pas root")
    missing = sorted({pkg for tool, pkg in OUTILS_REQUIS.items() if chercher_outil(tool) is None})
    if missing:
        reasons.append("paquets manquants : " + ", ".join(missing)
                       + " (lancez scripts/installer-paquets-systeme)")
    try:
        import zeroconf  # noqa: F401
    except ImportError:
        reasons.append("module python zeroconf absent")
    if not reasons:
        probe = subprocess.run([_outil("ip"), "netns", "list"], capture_output=True, text=True)
        if probe.returncode != 0:
            reasons.append("« ip netns » indisponible : " + probe.stderr.strip())
    return reasons


@dataclass(frozen=True)
class FonctionsNoyau:
    """What the running kernel can do for the lab."""

    bridge_vlan_filtering: bool
    vlan_8021q: bool
    netem: bool

    @property
    def dot1q(self) -> bool:
        """True when real 802.1Q VLANs (filtering bridge + subinterfaces) work."""
        return self.bridge_vlan_filtering and self.vlan_8021q


_features_cache: FonctionsNoyau | None = None


def sonder_noyau(namespace: str) -> FonctionsNoyau:
    """Try VLAN filtering, 802.1Q and netem in a scratch corner of ``namespace``.

    The result is cached for the process: the kernel does not change.
    """
    global _features_cache
    if _features_cache is not None:
        return _features_cache
    ip = _outil("ip")

    def works(*argv: str) -> bool:
        return subprocess.run(argv, capture_output=True).returncode == 0

    _lancer([ip, "-n", namespace, "link", "add", "tsprobe0", "type", "veth", "peer", "name", "tsprobe1"])
    try:
        filtering = works(ip, "-n", namespace, "link", "add", "tsprobebr", "type", "bridge",
                          "vlan_filtering", "1")
        dot1q = works(ip, "-n", namespace, "link", "add", "link", "tsprobe0", "name", "tsprobe0.9",
                      "type", "vlan", "id", "9")
        netem = works(ip, "netns", "exec", namespace, _outil("tc"), "qdisc", "add", "dev", "tsprobe0",
                      "root", "netem", "delay", "1ms")
    finally:
        for link in ("tsprobebr", "tsprobe0.9", "tsprobe0"):
            works(ip, "-n", namespace, "link", "del", link)
    _features_cache = FonctionsNoyau(filtering, dot1q, netem)
    return _features_cache


# ---------------------------------------------------------------------------
# Small process helpers
# ---------------------------------------------------------------------------


# The shared namespace tools (tests/espaces_de_noms.py), raising ErreurLaboratoire for the lab.
_outil = functools.partial(outil, erreur=ErreurLaboratoire)
_lancer = functools.partial(lancer, erreur=ErreurLaboratoire)
_attendre = functools.partial(attendre, erreur=ErreurLaboratoire)


class _Processus:
    """A background process started by the lab, logged to a file."""

    def __init__(self, label: str, argv: Sequence[str], log_path: Path) -> None:
        self.label = label
        self.log_path = log_path
        # cwd: the lab's temporary directory, so nothing lands in the work tree.
        self.popen = demarrer_processus(argv, log_path, dossier=log_path.parent)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        return fin_du_journal(self.log_path, lines)

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

# Each lab takes one /29 block of the shared pools (tests/espaces_de_noms.py): the
# first /30 for the switch, the second for the gateway.


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

_SSHD_CONFIG = """# sshd of the telesante lab ({node}), generated
ListenAddress {ip}
Port {port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
""" + OPTIONS_SSHD

# ---------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------

_compteur_laboratoires = itertools.count()


class Laboratoire:
    """A running lab. Build it with :func:`construire_laboratoire` (or ``with Laboratoire.construire()``).

    Public attributes (read-only by convention):

    * ``prefixe``: namespace prefix of this instance (``ts-<pid>-<n>-``);
    * ``topologie``: the :class:`Topologie` built;
    * ``dossier``: temporary directory (keys, configs, logs, leases);
    * ``mode_vlan``: ``"dot1q"`` or ``"bridge-per-vlan"``;
    * ``methode_retard``: ``"netem"`` or ``"nfqueue"`` (see :meth:`ralentir`);
    * ``commutateur``, ``passerelle``: :class:`NoeudGere`; ``noeuds`` maps their names;
    * ``hotes``: name -> :class:`HoteLaboratoire` (switch port order); ``sonde``: the probe host;
    * ``ponts_commutateur``: VLAN id -> bridge name in the switch namespace;
    * ``hotes_connus``: OpenSSH known_hosts with both nodes' host keys;
    * ``cle_client``: private key (ed25519) accepted by both nodes for ``root``;
    * ``fichier_baux``: dnsmasq lease file (same path seen from the gateway);
    * ``reseau_gestion``: the /29 holding both management links;
    * ``duree_construction``: how long the build took.
    """

    def __init__(self, topology: Topologie) -> None:
        self.topologie = topology
        index = next(_compteur_laboratoires)
        self.prefixe = f"ts-{os.getpid()}-{index}-"
        # Root-namespace veth ends: "ts<pid base 36>-<index>" + c|p, at most 15 chars.
        self._root_prefix = f"ts{base36(os.getpid())}-{index}"
        self.dossier = Path(tempfile.mkdtemp(prefix=self.prefixe))
        os.chmod(self.dossier, 0o700)
        self.mode_vlan = ""
        self.methode_retard = ""
        self.commutateur: NoeudGere | None = None
        self.passerelle: NoeudGere | None = None
        self.noeuds: dict[str, NoeudGere] = {}
        self.hotes: dict[str, HoteLaboratoire] = {}
        self.sonde: HoteLaboratoire | None = None
        self.ponts_commutateur: dict[int, str] = {}
        self.hotes_connus = self.dossier / "known_hosts"
        self.cle_client = self.dossier / "id_ed25519"
        self.cles_autorisees = self.dossier / "authorized_keys"
        self.fichier_baux = self.dossier / "dnsmasq.leases"
        self.reseau_gestion: ipaddress.IPv4Network | None = None
        self.duree_construction = 0.0
        self.espaces: list[str] = []
        self._root_links: list[str] = []
        self._sshd: dict[str, _Processus] = {}
        self._delays: dict[tuple[str, str], tuple[str, _Processus | None, int]] = {}
        self._all_processes: list[_Processus] = []
        self._gateway_ifaces: dict[int, str] = {}
        self._ports: dict[str, str] = {}
        self._queue_numbers = itertools.count(1)
        self._closed = False

    # -- construction -----------------------------------------------------

    @classmethod
    @contextlib.contextmanager
    def construire(cls, topology: Topologie | None = None) -> Iterator[Laboratoire]:
        """Context manager: build the lab, yield it, always tear it down."""
        laboratoire = construire_laboratoire(topology)
        try:
            yield laboratoire
        finally:
            laboratoire.close()

    def _build(self) -> None:
        started = time.monotonic()
        topo = self.topologie
        self._create_namespace(COMMUTATEUR)
        self._create_namespace(PASSERELLE)
        for host in topo.hotes:
            self._create_namespace(host.nom)
        self._choose_modes()
        self._build_switch()
        self._build_gateway()
        self._plug_hosts()
        self._build_mgmt_links()
        self._prepare_ssh()
        for node in (COMMUTATEUR, PASSERELLE):
            self._start_sshd(node)
        self._start_dnsmasq()
        self._run_dhcp_clients()
        announcers = self._start_mdns_announcers()
        self.rafraichir_trafic()
        for node in (COMMUTATEUR, PASSERELLE):
            self._wait_sshd(node)
        for host_name, proc, ready in announcers:
            _attendre(lambda: ready.exists() or not proc.running(),
                      f"l'annonce mDNS de {host_name}", delai=10)
            if not ready.exists():
                raise ErreurLaboratoire(f"Annonce mDNS de {host_name} en échec :\n{proc.log_tail()}")
        self.duree_construction = time.monotonic() - started

    def _ns(self, name: str) -> str:
        return self.prefixe + name

    def _create_namespace(self, name: str) -> None:
        ns = self._ns(name)
        self.espaces.append(ns)  # before creation: torn down even if a later step fails
        creer_espace(ns, erreur=ErreurLaboratoire, sans_routage=True)

    def _ip(self, ns: str, *args: str) -> None:
        _lancer([_outil("ip"), "-n", ns, *args])

    def _choose_modes(self) -> None:
        features = sonder_noyau(self._ns(COMMUTATEUR))
        wanted = self.topologie.mode_vlan
        if wanted == MODE_VLAN_DOT1Q and not features.dot1q:
            raise ErreurLaboratoire("Le noyau ne gère pas les VLAN 802.1Q (CONFIG_VLAN_8021Q / "
                           "CONFIG_BRIDGE_VLAN_FILTERING) : mode dot1q impossible")
        if wanted == MODE_VLAN_AUTO:
            wanted = MODE_VLAN_DOT1Q if features.dot1q else MODE_VLAN_PONT_PAR_VLAN
        self.mode_vlan = wanted
        self.methode_retard = "netem" if features.netem else "nfqueue"

    def _build_switch(self) -> None:
        sw = self._ns(COMMUTATEUR)
        gw = self._ns(PASSERELLE)
        vids = [v.vid for v in self.topologie.vlans]
        # Bridges: multicast snooping off so mDNS floods to every port.
        # FDB ageing 24 h: learned entries stay for the whole test session.
        common = ["mcast_snooping", "0", "ageing_time", "8640000", "stp_state", "0"]
        if self.mode_vlan == MODE_VLAN_DOT1Q:
            self._ip(sw, "link", "add", "br0", "type", "bridge", "vlan_filtering", "1",
                     "vlan_default_pvid", "0", *common)
            self._ip(sw, "link", "set", "br0", "up")
            self.ponts_commutateur = {vid: "br0" for vid in vids}
            self._ip(sw, "link", "add", "swp-gw", "type", "veth", "peer", "name", "trunk0", "netns", gw)
            self._ip(sw, "link", "set", "swp-gw", "master", "br0", "up")
            for vid in vids:
                _lancer(dans_espace(sw, [_outil("bridge"), "vlan", "add", "dev", "swp-gw", "vid", str(vid)]))
        else:
            for vid in vids:
                bridge = f"br{vid}"
                self._ip(sw, "link", "add", bridge, "type", "bridge", *common)
                self._ip(sw, "link", "set", bridge, "up")
                self.ponts_commutateur[vid] = bridge
                uplink = f"swp-gw{vid}"
                self._ip(sw, "link", "add", uplink, "type", "veth", "peer", "name", f"vlan{vid}",
                         "netns", gw)
                self._ip(sw, "link", "set", uplink, "master", bridge, "up")

    def _build_gateway(self) -> None:
        gw = self._ns(PASSERELLE)
        if self.mode_vlan == MODE_VLAN_DOT1Q:
            self._ip(gw, "link", "set", "trunk0", "up")
        for vlan in self.topologie.vlans:
            if self.mode_vlan == MODE_VLAN_DOT1Q:
                iface = f"trunk0.{vlan.vid}"
                self._ip(gw, "link", "add", "link", "trunk0", "name", iface, "type", "vlan",
                         "id", str(vlan.vid))
            else:
                iface = f"vlan{vlan.vid}"
            self._ip(gw, "addr", "add", f"{vlan.ip_passerelle}/{vlan.reseau_ip.prefixlen}", "dev", iface)
            self._ip(gw, "link", "set", iface, "up")
            self._gateway_ifaces[vlan.vid] = iface

    def _plug_hosts(self) -> None:
        sw = self._ns(COMMUTATEUR)
        for index, host in enumerate(self.topologie.hotes, start=1):
            port = f"swp{index}"
            hns = self._ns(host.nom)
            self._ip(sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", hns)
            self._ip(hns, "link", "set", "eth0", "address", host.mac)
            bridge = self.ponts_commutateur[host.vlan]
            self._ip(sw, "link", "set", port, "master", bridge)
            if self.mode_vlan == MODE_VLAN_DOT1Q:
                _lancer(dans_espace(sw, [_outil("bridge"), "vlan", "add", "dev", port, "vid", str(host.vlan),
                                         "pvid", "untagged"]))
            self._ip(sw, "link", "set", port, "up")
            self._ip(hns, "link", "set", "eth0", "up")
            self._ports[host.nom] = port

    def _build_mgmt_links(self) -> None:
        with verrou_gestion():
            block = bloc_gestion_libre([v.reseau_ip for v in self.topologie.vlans], erreur=ErreurLaboratoire)
            self.reseau_gestion = block
            links = list(block.subnets(new_prefix=30))
            for node, suffix, link in ((COMMUTATEUR, "c", links[0]), (PASSERELLE, "p", links[1])):
                root_if = f"{self._root_prefix}{suffix}"
                ns = self._ns(node)
                self._root_links.append(root_if)  # before creation: removed even if a later step fails
                ip_racine, node_ip = creer_lien_gestion(root_if, ns, "mgmt0", link, erreur=ErreurLaboratoire)
                node_dir = self.dossier / node
                node_dir.mkdir()
                self.noeuds[node] = NoeudGere(
                    nom=node, espace=ns, ip_gestion=node_ip, port_ssh=22, utilisateur="root",
                    chemin_cle=self.cle_client, chemin_cle_hote=node_dir / "ssh_host_ed25519_key",
                    interface="mgmt0", interface_racine=root_if, ip_racine=ip_racine)
        self.commutateur = self.noeuds[COMMUTATEUR]
        self.passerelle = self.noeuds[PASSERELLE]

    # -- SSH ---------------------------------------------------------------

    def _prepare_ssh(self) -> None:
        generer_cle_ssh(self.cle_client, f"labo-{self.prefixe}", ErreurLaboratoire)
        shutil.copyfile(f"{self.cle_client}.pub", self.cles_autorisees)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation dir
        for node in self.noeuds.values():
            self._generate_host_key(node)
            config = self.dossier / node.nom / "sshd_config"
            config.write_text(_SSHD_CONFIG.format(
                node=node.nom, ip=node.ip_gestion, port=node.port_ssh, host_key=node.chemin_cle_hote,
                pid_file=self.dossier / node.nom / "sshd.pid", authorized_keys=self.cles_autorisees))
        self.rafraichir_hotes_connus()

    def _generate_host_key(self, node: NoeudGere) -> None:
        generer_cle_ssh(node.chemin_cle_hote, f"{node.nom}@labo", ErreurLaboratoire)

    def rafraichir_hotes_connus(self) -> None:
        """Rewrite ``known_hosts`` from the nodes' current host keys."""
        self.hotes_connus.write_text("".join(
            ligne_hotes_connus(node.ip_gestion, node.port_ssh, Path(f"{node.chemin_cle_hote}.pub"))
            for node in self.noeuds.values()))

    def _start_sshd(self, name: str) -> None:
        node = self.noeuds[name]
        config = self.dossier / name / "sshd_config"
        proc = _Processus(f"sshd {name}", dans_espace(node.espace, [_outil("sshd"), "-D", "-e", "-f",
                                                                     str(config)]),
                        self.dossier / name / "sshd.log")
        self._sshd[name] = proc
        self._all_processes.append(proc)

    def _wait_sshd(self, name: str) -> None:
        node = self.noeuds[name]
        proc = self._sshd[name]
        attendre_ecoute(proc.popen, node.espace, node.ip_gestion, node.port_ssh, f"le sshd de {name}",
                        journal=proc.log_path, erreur=ErreurLaboratoire)

    def arreter_sshd(self, node: str = COMMUTATEUR) -> None:
        """Stop the node's sshd (open sessions stay, new connections are refused)."""
        proc = self._sshd.get(node)
        if proc is not None:
            proc.stop()
        n = self.noeuds[node]
        _attendre(lambda: not ecoute_tcp(n.espace, n.ip_gestion, n.port_ssh), f"l'arrêt du sshd de {node}",
                  delai=5)

    def demarrer_sshd(self, node: str = COMMUTATEUR) -> None:
        """(Re)start the node's sshd and wait until it listens."""
        proc = self._sshd.get(node)
        if proc is not None and proc.running():
            return
        self._start_sshd(node)
        self._wait_sshd(node)

    def changer_cle_hote(self, node: str = COMMUTATEUR) -> None:
        """Give the node a new host key and restart its sshd.

        ``known_hosts`` is left untouched, so it no longer matches (call
        :meth:`rafraichir_hotes_connus` to accept the new key).
        """
        self.arreter_sshd(node)
        self._generate_host_key(self.noeuds[node])
        self.demarrer_sshd(node)

    def gerer_par_ssh(self, name: str) -> NoeudGere:
        """Give host ``name`` a management link from the root namespace and an sshd on it, as the
        switch and the gateway have (the audit's way to an isolation probe). The node joins ``noeuds``
        and ``hotes_connus``; everything goes with :meth:`close`."""
        host = self.hotes[name]
        root_if = f"ts{base36(os.getpid())}-{next(_compteur_laboratoires)}"  # a leftover nettoyer_restes recognizes
        with verrou_gestion():
            block = bloc_gestion_libre([v.reseau_ip for v in self.topologie.vlans], erreur=ErreurLaboratoire)
            self._root_links.append(root_if)  # before creation: removed even if a later step fails
            root_ip, node_ip = creer_lien_gestion(root_if, host.espace, "mgmt0",
                                                  next(block.subnets(new_prefix=30)), erreur=ErreurLaboratoire)
        node_dir = self.dossier / name
        node_dir.mkdir()
        node = NoeudGere(nom=name, espace=host.espace, ip_gestion=node_ip, port_ssh=22, utilisateur="root",
                         chemin_cle=self.cle_client, chemin_cle_hote=node_dir / "ssh_host_ed25519_key",
                         interface="mgmt0", interface_racine=root_if, ip_racine=root_ip)
        self.noeuds[name] = node
        self._generate_host_key(node)
        (node_dir / "sshd_config").write_text(_SSHD_CONFIG.format(
            node=name, ip=node_ip, port=node.port_ssh, host_key=node.chemin_cle_hote,
            pid_file=node_dir / "sshd.pid", authorized_keys=self.cles_autorisees))
        self.rafraichir_hotes_connus()
        self._start_sshd(name)
        self._wait_sshd(name)
        return node

    # -- DHCP ----------------------------------------------------------------

    def _start_dnsmasq(self) -> None:
        gw = self._ns(PASSERELLE)
        argv = [_outil("dnsmasq"), "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--no-resolv", "--no-hosts", "--bind-interfaces", "--except-interface=lo",
                "--user=root", "--group=root", "--no-ping", "--dhcp-authoritative", "--log-dhcp",
                f"--log-facility={self.dossier / 'dnsmasq.log'}",
                f"--pid-file={self.dossier / 'dnsmasq.pid'}",
                f"--dhcp-leasefile={self.fichier_baux}"]
        for vlan in self.topologie.vlans:
            first, last = vlan.plage_dhcp
            argv.append(f"--interface={self._gateway_ifaces[vlan.vid]}")
            argv.append(f"--dhcp-range={first},{last},{vlan.reseau_ip.netmask},12h")
        proc = _Processus("dnsmasq", dans_espace(gw, argv), self.dossier / "dnsmasq.out")
        self._all_processes.append(proc)

        def listening() -> bool:
            return ":67 " in _lancer(dans_espace(gw, [_outil("ss"), "-Hlun"]), verifier=False).stdout

        _attendre(lambda: listening() or not proc.running(), "dnsmasq", delai=10)
        if not proc.running():
            raise ErreurLaboratoire(f"dnsmasq s'est arrêté :\n{proc.log_tail()}")

    def _run_dhcp_clients(self) -> None:
        """Real DHCP exchange for every host, all in parallel, bounded."""
        if not self.topologie.hotes:
            return
        script = self.dossier / "udhcpc.sh"
        script.write_text(_UDHCPC_SCRIPT)
        script.chmod(0o755)
        clients: list[tuple[DescriptionHote, _Processus]] = []
        for host in self.topologie.hotes:
            argv = [_outil("busybox"), "udhcpc", "-f", "-q", "-n", "-i", "eth0", "-t", "5", "-T", "1",
                    "-s", str(script)]
            if host.nom_dhcp:
                argv += ["-x", f"hostname:{host.nom_dhcp}"]
            proc = _Processus(f"udhcpc {host.nom}", dans_espace(self._ns(host.nom), argv),
                            self.dossier / f"udhcpc-{host.nom}.log")
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
                failures.append(f"{host.nom} :\n{proc.log_tail()}")
        if failures:
            raise ErreurLaboratoire("Échec DHCP pour " + "\n".join(failures))
        macs = {h.mac for h in self.topologie.hotes}
        _attendre(lambda: macs <= {lease.mac for lease in self.baux()},
                  "l'écriture des baux DHCP par dnsmasq", delai=5)
        by_mac = {lease.mac: lease for lease in self.baux()}
        for host in self.topologie.hotes:
            self.hotes[host.nom] = HoteLaboratoire(
                nom=host.nom, espace=self._ns(host.nom), mac=host.mac, vlan=host.vlan,
                port_commutateur=self._ports[host.nom], nom_dhcp=host.nom_dhcp,
                ip=by_mac[host.mac].ip)
        if self.topologie.sonde is not None:
            self.sonde = self.hotes[self.topologie.sonde]

    def baux(self) -> list[Bail]:
        """Parse the dnsmasq lease file (``expiry mac ip hostname client-id``)."""
        try:
            text = self.fichier_baux.read_text()
        except FileNotFoundError:
            return []
        leases = []
        for line in text.splitlines():
            parts = line.split()
            if len(parts) < 4 or parts[0] == "duid":
                continue
            leases.append(Bail(
                expiration=int(parts[0]), mac=parts[1].lower(), ip=parts[2],
                nom_hote=None if parts[3] == "*" else parts[3],
                id_client=None if len(parts) < 5 or parts[4] == "*" else parts[4]))
        return leases

    # -- traffic and mDNS ----------------------------------------------------------

    def rafraichir_trafic(self) -> None:
        """Every host pings its gateway once (fills the FDB and the neighbour table)."""
        pings = []
        for host in self.hotes.values():
            target = self.topologie.vlan(host.vlan).ip_passerelle
            argv = dans_espace(host.espace, [_outil("ping"), "-n", "-q", "-c", "1", "-W", "1", target])
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
                failures.append(host.nom)
        if failures:
            raise ErreurLaboratoire("Passerelle injoignable depuis : " + ", ".join(failures))

    def _start_mdns_announcers(self) -> list[tuple[str, _Processus, Path]]:
        started = []
        for spec in self.topologie.hotes:
            if spec.mdns is None:
                continue
            host = self.hotes[spec.nom]
            ready = self.dossier / f"mdns-{spec.nom}.pret"
            service = spec.mdns
            argv = [sys.executable, str(AUXILIAIRES), "mdns-announce",
                    "--ip", host.ip, "--type", service.type_service, "--instance", service.instance,
                    "--port", str(service.port), "--ready", str(ready),
                    "--max-seconds", str(DUREE_MAXIMALE)]
            if service.serveur:
                argv += ["--server", service.serveur]
            for key, value in service.txt:
                argv += ["--txt", f"{key}={value}"]
            proc = _Processus(f"mdns {spec.nom}", dans_espace(host.espace, argv),
                            self.dossier / f"mdns-{spec.nom}.log")
            self._all_processes.append(proc)
            started.append((spec.nom, proc, ready))
        return started

    def parcourir_mdns(self, from_host: str, type_service: str, timeout: float = 5.0,
                    min_results: int = 1) -> list[dict]:
        """Browse DNS-SD ``type_service`` from a host's namespace (python-zeroconf).

        Returns ``[{"name", "addresses", "port", "server", "txt"}]``; stops as soon
        as ``min_results`` services are resolved, or after ``timeout`` seconds.
        """
        host = self.hotes[from_host]
        argv = [sys.executable, str(AUXILIAIRES), "mdns-browse", "--ip", host.ip,
                "--type", type_service, "--seconds", str(timeout), "--min", str(min_results)]
        result = _lancer(dans_espace(host.espace, argv), delai=timeout + 15)
        return json.loads(result.stdout)

    def executer_dans(self, name: str, argv: Sequence[str], timeout: float = 10,
               check: bool = False) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace of a host or node (``ip netns exec``)."""
        return _lancer(dans_espace(self.espace_de(name), argv), delai=timeout, verifier=check)

    def espace_de(self, name: str) -> str:
        """Namespace of ``commutateur``, ``passerelle`` or a host."""
        if name in self.noeuds:
            return self.noeuds[name].espace
        if name in self.hotes:
            return self.hotes[name].espace
        raise KeyError(f"Inconnu dans le laboratoire : {name}")

    def hote(self, name: str) -> HoteLaboratoire:
        """The built host named ``name``."""
        return self.hotes[name]

    # -- delay injection ------------------------------------------------------------

    def _default_interface(self, name: str) -> str:
        return self.noeuds[name].interface if name in self.noeuds else "eth0"

    def ralentir(self, node: str = COMMUTATEUR, delay_ms: int = 500, interface: str | None = None) -> None:
        """Delay every IPv4 packet leaving ``interface`` of ``node`` by ``delay_ms``.

        Default interface: the management interface of a node (so SSH from the
        root namespace gets an extra round-trip of ``delay_ms``), ``eth0`` for a
        host. Uses ``tc netem`` when the kernel has it, otherwise an NFQUEUE rule
        (iptables, mangle/POSTROUTING) served by a userspace delay queue.
        """
        if delay_ms < 0:
            raise ValueError("délai négatif")
        iface = interface or self._default_interface(node)
        ns = self.espace_de(node)
        self.retablir(node, iface)
        if self.methode_retard == "netem":
            _lancer(dans_espace(ns, [_outil("tc"), "qdisc", "replace", "dev", iface, "root", "netem",
                                     "delay", f"{int(delay_ms)}ms"]))
            self._delays[(ns, iface)] = ("netem", None, 0)
            return
        queue = next(self._queue_numbers)
        ready = self.dossier / f"retard-{node}-{iface}-{queue}.pret"
        argv = [sys.executable, str(AUXILIAIRES), "delay-queue", "--queue", str(queue),
                "--delay-ms", str(int(delay_ms)), "--ready", str(ready),
                "--max-seconds", str(DUREE_MAXIMALE)]
        proc = _Processus(f"retard {node}/{iface}", dans_espace(ns, argv),
                        self.dossier / f"retard-{node}-{iface}.log")
        self._all_processes.append(proc)
        self._delays[(ns, iface)] = ("nfqueue", proc, queue)
        _attendre(lambda: ready.exists() or not proc.running(), "la file de retard", delai=10)
        if not ready.exists():
            raise ErreurLaboratoire(f"File de retard en échec :\n{proc.log_tail()}")
        _lancer(dans_espace(ns, self._iptables_rule("-A", iface, queue)))

    def retablir(self, node: str = COMMUTATEUR, interface: str | None = None) -> None:
        """Remove the delay set by :meth:`ralentir` (no-op when there is none)."""
        iface = interface or self._default_interface(node)
        ns = self.espace_de(node)
        entry = self._delays.pop((ns, iface), None)
        if entry is None:
            return
        method, proc, queue = entry
        if method == "netem":
            _lancer(dans_espace(ns, [_outil("tc"), "qdisc", "del", "dev", iface, "root"]), verifier=False)
            return
        _lancer(dans_espace(ns, self._iptables_rule("-D", iface, queue)), verifier=False)
        if proc is not None:
            proc.stop()  # releases the packets still held

    @staticmethod
    def _iptables_rule(action: str, iface: str, queue: int) -> list[str]:
        return [_outil("iptables"), "-w", "5", "-t", "mangle", action, "POSTROUTING", "-o", iface,
                "-j", "NFQUEUE", "--queue-num", str(queue), "--queue-bypass"]

    # -- teardown -----------------------------------------------------------------

    def pids(self) -> list[int]:
        """PIDs of every process the lab started (running or not)."""
        return [p.pid for p in self._all_processes]

    def close(self) -> None:
        """Tear everything down: processes, namespaces, root veth ends, temp dir.

        Idempotent; keeps going after individual failures and raises ErreurLaboratoire
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
        for ns in reversed(self.espaces):
            problem = supprimer_espace(ns)
            if problem:
                problems.append(problem)
        for link in self._root_links:
            problem = supprimer_lien(link)
            if problem:
                problems.append(problem)
        shutil.rmtree(self.dossier, ignore_errors=True)
        if problems:
            raise ErreurLaboratoire("Démontage incomplet du laboratoire : " + "; ".join(problems))

    def __enter__(self) -> Laboratoire:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def construire_laboratoire(topology: Topologie | None = None) -> Laboratoire:
    """Build a lab from ``topology`` (default: :data:`TOPOLOGIE_PAR_DEFAUT`).

    On any failure, everything already created is torn down before the
    error propagates. The caller must call :meth:`Laboratoire.close`.
    """
    reasons = prerequis_manquants()
    if reasons:
        raise ErreurLaboratoire("Le laboratoire réseau exige root (espaces de noms réseau) : "
                       + " ; ".join(reasons))
    laboratoire = Laboratoire(topology or TOPOLOGIE_PAR_DEFAUT)
    try:
        laboratoire._build()
    except BaseException:
        with contextlib.suppress(Exception):
            laboratoire.close()
        raise
    return laboratoire


# ---------------------------------------------------------------------------
# Leftovers of crashed runs
# ---------------------------------------------------------------------------



def nettoyer_restes() -> list[str]:
    """Remove what crashed lab runs left behind (creator PID dead); return what was removed.

    Namespaces ``ts-<pid>-<n>-*`` (processes inside are killed first), root
    veth ends ``ts<pid base 36>-<n>[cp]`` and temporary directories.
    """
    return espaces_de_noms.nettoyer_restes("ts")
