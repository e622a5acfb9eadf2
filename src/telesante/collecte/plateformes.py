"""What is read on each platform, and which parser turns it into observations.

The offline path (capture files) and the live path (SSH) go through the same
`Lecture.analyser`, so a capture replays exactly what a live run parsed. A read may
need the text of other commands to make sense of its own (Junos: `show vlans` gives
the 802.1Q tag of the VLAN names its MAC table prints): its `annexes`, read and
recorded alongside it, and handed to its parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from telesante.collecte import baux_dhcp, isolement, linux, mdns, snmp_analyse, snmp_capture, sorties_cli
from telesante.observation import Observation

# (text, equipment, source); a read with annexes also takes them: annexes={command: Annexe}.
Parser = Callable[..., list[Observation]]


def fichier_capture(commande: str) -> str:
    """Name of a command's capture file: the command with spaces as underscores, ".txt"."""
    return commande.replace(" ", "_") + ".txt"


@dataclass(frozen=True)
class Annexe:
    """The text of an annex command, and where it comes from (capture file or command)."""

    texte: str | None  # None: not read (its capture is missing)
    origine: str


@dataclass(frozen=True)
class Lecture:
    """One command (or file) read on an equipment."""

    commande: str
    analyser: Parser
    fichier_capture: str = ""
    capture_seulement: bool = False  # parsed when a capture holds it, never run live
    # Commands read with this one (live: run and recorded; offline: their captures, if present)
    # and passed to its parser; a missing one is the parser's to judge.
    annexes: tuple[str, ...] = ()
    # A MAC table: its parser also takes vlan_par_defaut=, the equipment's telesante_vlan_par_defaut.
    table_mac: bool = False
    # A source that carries its own date: when it was taken, read from its (parsed) text, and what it is.
    date_source: Callable[[str], datetime] | None = None
    nature: str = ""
    # The isolation probe's file: its parser takes reseau= (the equipment's telesante_reseau) and
    # gives (attempts, why it stopped early), kept apart from observations.
    isolement: bool = False

    @property
    def fichier(self) -> str:
        """Name of the capture file: the command with spaces as underscores, ".txt"."""
        return self.fichier_capture or fichier_capture(self.commande)


def _cli(plateforme: str, mac_command: str, arp_command: str) -> tuple[Lecture, ...]:
    return (
        Lecture(mac_command, partial(sorties_cli.observations_table_mac, plateforme, mac_command), table_mac=True),
        Lecture(arp_command, partial(sorties_cli.observations_table_arp, plateforme, arp_command)),
    )


# Platform names are netmiko's device_type names; DHCP servers, the mDNS sensor and the
# isolation probe are platforms of their own. `{chemin}` is the lease file path from the inventory.
PLATEFORMES: dict[str, tuple[Lecture, ...]] = {
    "cisco_ios": _cli("cisco_ios", "show mac address-table", "show ip arp"),
    "cisco_nxos": _cli("cisco_nxos", "show mac address-table", "show ip arp"),
    "arista_eos": _cli("arista_eos", "show mac address-table", "show ip arp"),
    "aruba_aoscx": _cli("aruba_aoscx", "show mac-address-table", "show arp all-vrfs"),
    "hp_procurve": _cli("hp_procurve", "show mac-address", "show arp"),
    # ELS prints VLAN names in its MAC table: `show vlans` gives their tags.
    "juniper_junos": (
        Lecture("show ethernet-switching table",
                partial(sorties_cli.observations_table_mac, "juniper_junos", "show ethernet-switching table"),
                annexes=("show vlans",), table_mac=True),
        Lecture("show arp no-resolve", partial(sorties_cli.observations_table_arp, "juniper_junos", "show arp no-resolve")),
    ),
    "linux": (
        Lecture("bridge -j fdb show", linux.observations_fdb, table_mac=True),
        Lecture("ip -j neigh show", linux.observations_voisins),
        Lecture("arp -a", partial(sorties_cli.observations_table_arp, "linux", "arp -a"), capture_seulement=True),
    ),
    "dnsmasq": (Lecture("cat {chemin}", baux_dhcp.observations_dnsmasq, "dnsmasq.leases"),),
    "isc_dhcpd": (Lecture("cat {chemin}", baux_dhcp.observations_isc, "dhcpd.leases"),),
    "capteur_mdns": (Lecture("cat {chemin}", mdns.observations_mdns, "mdns.json",
                             date_source=mdns.date_capture, nature="capture du capteur mDNS"),),
    "sonde_isolement": (Lecture("cat {chemin}", isolement.essais_isolement, "isolement.json", isolement=True,
                                date_source=isolement.date_essais, nature="résultat de la sonde d'isolement"),),
    # Read by SNMP (collecte/snmp.py), not by a command: every walk in one capture-snmp-v1 document.
    "snmp": (Lecture("lecture SNMP", snmp_analyse.observations_snmp, snmp_capture.FICHIER, table_mac=True,
                     date_source=snmp_capture.date_capture, nature="capture SNMP"),),
}

# Default lease/observation file paths on the servers, when the inventory names none.
CHEMINS_PAR_DEFAUT = {
    "dnsmasq": "/var/lib/misc/dnsmasq.leases",
    "isc_dhcpd": "/var/lib/dhcp/dhcpd.leases",
    "capteur_mdns": "/var/lib/telesante/mdns.json",
    "sonde_isolement": "/var/lib/telesante/isolement.json",
}


def lectures(plateforme: str) -> tuple[Lecture, ...]:
    """The reads of a platform (KeyError for an unknown platform)."""
    return PLATEFORMES[plateforme]
