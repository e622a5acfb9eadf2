"""The registry of platforms: one entry per `telesante_plateforme`, which says everything of it.

An entry (`telesante.collecte.contrat.Plateforme`) gives the platform's reads (commands or
files, their capture file names and parsers), the netmiko device_type of a vendor CLI, the
formats that prove a vendor output whole (header, footer, count, last column: data checked by
`telesante.collecte.completude`), the default file of a server, or a live reader of its own
(SNMP...). The inventory, the offline path and the live path read nothing else: adding a
platform is adding an entry (see « Ajouter une plateforme » in README.md).
"""

from __future__ import annotations

from functools import partial

from telesante.collecte import baux_dhcp, isolement, linux, mdns, snmp_analyse, snmp_capture
from telesante.collecte.completude import FINIT_PAR_UN_CHIFFRE, Format
from telesante.collecte.contrat import Lecture, Plateforme
from telesante.collecte.sorties_cli import SortieCli, numeros_vlan_junos, table_arp, table_mac

# The formats below are checked against every real capture of ../shared/fixtures
# (tests/unitaires/test_sorties_equipements.py). Where there is no footer, a cut in the last column
# is seen only when it leaves an impossible value ("E", "Po", "Te1/1/", nothing); "Te3/2" for "Te3/20"
# cannot be told from a whole name.

# Junos (ELS) prints VLAN names in its MAC table: `show vlans`, read with it, gives their tags.
_JUNOS_VLANS = SortieCli("juniper_junos", "show vlans", (Format(
    en_tete=r"^Routing\s+instance\s+VLAN\s+name\s+Tag\s+Interfaces",
    # No footer. A VLAN's member interfaces follow it, one a line, each with its unit (ae0.0*,
    # vtep.32769); a VLAN may have none: there, a cut in its tag cannot be seen here
    # (see sorties_cli._VlansJunos.tag).
    derniere_colonne=("interfaces", r"|\S+\.\d+\*?"),
),))

# Platform names of vendor CLIs are netmiko's device_type names (and ntc-templates' platforms);
# DHCP servers, the mDNS sensor and the isolation probe are platforms of their own. `{chemin}` is
# the file the inventory names (telesante_fichier), or the platform's default one.
def _lire_snmp(equipement, parametres):
    """The SNMP reader, imported when an SNMP agent is read: pysnmp stays out of every other run."""
    from telesante.collecte.snmp import lire_snmp

    return lire_snmp(equipement, parametres)


_ENTREES = (
    Plateforme("cisco_ios", netmiko="cisco_ios", lectures=(
        table_mac(SortieCli("cisco_ios", "show mac address-table", (Format(
            # The template's four layouts. Catalysts print "Total Mac Addresses for this criterion" after
            # the fourth, but not every IOS does (real capture without it): no footer required.
            en_tete=r"^(?:Destination\s+Address\s+Address\s+Type\s+VLAN\s+Destination\s+Port"
            r"|\s+vlan\s+mac address\s+type\s+(?:learn|protocols)|Vlan\s+Mac Address\s+Type\s+Ports)",
            compte=r"^Dynamic Addresses Count:\s*(?P<n>\d+)",  # first layout only; secure ones are listed too
            # A static entry may have no port at all (Cat6500: IGMP groups and some unicast ones):
            # there, a cut right after the type cannot be told from it.
            derniere_colonne=("type destination_port", r"(?i:\S+ (?:.*\d|CPU|Router|.*Switch|Drop)|static )"),
        ),))),
        table_arp(SortieCli("cisco_ios", "show ip arp", (Format(
            en_tete=r"^Protocol\s+Address\s+Age",  # no footer in IOS
            # An ARPA entry names its interface, unless it is Incomplete (not resolved yet); the real
            # capture has an "SRP-A" one without: the interface may be missing, unless the type is
            # ARPA or a cut of it.
            derniere_colonne=("mac_address type interface",
                              r"\S+ \S+ .*\d|Incomplete ARPA |\S+ (?!A(?:R(?:PA?)?)? )\S+ "),
        ),))),
    )),
    Plateforme("cisco_nxos", netmiko="cisco_nxos", lectures=(
        table_mac(SortieCli("cisco_nxos", "show mac address-table", (Format(
            # Some NX-OS print "Total MAC Addresses: N" first, not all (real capture without): not required.
            en_tete=r"^\s*VLAN\s+MAC\s+Address\s+Type\s+age\s+Secure\s+NTFY\s+Ports",
            # Po10, sup-eth1(R), nve1(10.0.0.1), "vPC Peer-Link", Router
            derniere_colonne=("ports", r".*[\d)]|Drop|vPC|Router"),
        ),))),
        table_arp(SortieCli("cisco_nxos", "show ip arp", (Format(
            en_tete=r"^Address\s+Age\s+MAC Address\s+Interface",
            # Real capture: 23 rows for "Total number of entries: 22" (INCOMPLETE not counted?): only a
            # clear shortfall is a cut.
            compte=r"^Total number of entries:\s*(?P<n>\d+)",
            derniere_colonne=("interface", FINIT_PAR_UN_CHIFFRE),
        ),))),
    )),
    Plateforme("arista_eos", netmiko="arista_eos", lectures=(
        table_mac(SortieCli("arista_eos", "show mac address-table", (Format(
            en_tete=r"^\s*Vlan\s+[Mm]ac\s+Address\s+Type\s+Ports",  # "mac" in the real capture
            # Each table (unicast, then multicast: group addresses, not devices) ends with its total, even
            # 0. The totals of the real capture do not match its rows (24 for 19): only their presence is
            # checked ("mac" in the real capture: matched ignoring case).
            pied=r"^\s*Multicast Mac Address Table(?s:.*)^Total Mac Addresses for this criterion: \d+\s*\Z",
            pied_texte="Total Mac Addresses for this criterion: N, après le tableau multicast",
        ),))),
        table_arp(SortieCli("arista_eos", "show ip arp", (Format(
            en_tete=r"^Address\s+Age\b.*\bHardware Addr\s+Interface",  # no footer in EOS
            # "Ethernet1"; on a VLAN, EOS adds the port: "Vlan101, Port-Channel2", "Vlan1, not learned".
            derniere_colonne=("interface", r"(?!Vlan).*\d|Vlan\d+, (?:.*\d|not learned|(?i:cpu|router))"),
        ),))),
    )),
    Plateforme("aruba_aoscx", netmiko="aruba_aoscx", lectures=(
        table_mac(SortieCli("aruba_aoscx", "show mac-address-table", (Format(
            en_tete=r"^MAC\s+Address\s+VLAN\s+Type\s+Port",
            # Real capture: 6 rows for "Number of MAC addresses : 5": only a clear shortfall is a cut.
            compte=r"^Number of MAC addresses\s*:\s*(?P<n>\d+)",
            derniere_colonne=("port", r"\d+/\d+/\d+(?::\d+)?|\D.*[\d)]"),  # 1/1/30, lag100, vxlan1(10.0.0.2)
        ),))),
        table_arp(SortieCli("aruba_aoscx", "show arp all-vrfs", (Format(
            en_tete=r"^IPv4\s+Address\s+MAC\s+Port\s+Physical\s+Port\s+State",
            pied=r"^Total Number Of ARP Entries Listed\s*-\s*(?P<n>\d+)\.?\s*\Z",
            pied_texte="Total Number Of ARP Entries Listed- N.",
        ),))),
    )),
    Plateforme("hp_procurve", netmiko="hp_procurve", lectures=(
        # No footer: a cut in the last column (VLAN "50" -> "5", port "25" -> "2") cannot be seen.
        table_mac(SortieCli("hp_procurve", "show mac-address", (
            Format(en_tete=r"^\s*MAC Address\s+Port\s+VLAN", derniere_colonne=("vlan_id", r"\d+")),
            # Without the VLAN column (older firmware, or the table of one VLAN): port 10, Trk1.
            Format(en_tete=r"^\s*MAC Address\s+Port\s*$", derniere_colonne=("port", r".*\d")),
        ))),
        table_arp(SortieCli("hp_procurve", "show arp", (Format(
            # No footer: a cut in the last column (port, "25" -> "2") cannot be seen; the template
            # takes rows without a port, so an empty one is let through.
            en_tete=r"^\s*IP Address\s+MAC Address\s+Type\s+Port", derniere_colonne=("port", r"|.*\d"),
        ),))),
    )),
    Plateforme("juniper_junos", netmiko="juniper_junos", lectures=(
        table_mac(SortieCli("juniper_junos", "show ethernet-switching table", (Format(
            en_tete=r"^\s*Vlan\s+MAC\s+MAC\s+Age\s+Logical",
            compte=r"^Ethernet switching table\s*:\s*(?P<n>\d+) entries",
            # A logical interface always has its unit: ae3.0, xe-0/0/51:0.0 (NH and RTR columns unused).
            derniere_colonne=("logical_interface", r"\S+\.\d+"),
        ),),
            # ntc's template reads only VLANs named VlanNNN of the default-switch instance.
            gabarit="juniper_junos_show_ethernet-switching_table.textfsm"),
            numeros_vlan=partial(numeros_vlan_junos, _JUNOS_VLANS), annexes=(_JUNOS_VLANS.commande,)),
        table_arp(SortieCli("juniper_junos", "show arp no-resolve", (Format(
            en_tete=r"^MAC\s+Address\s+Address\s+Interface\s+Flags",
            pied=r"^Total entries: (?P<n>\d+)\s*\Z",
            pied_texte="Total entries: N",
        ),))),
    )),
    Plateforme("linux", lectures=(
        Lecture("bridge -j fdb show", linux.observations_fdb, table_mac=True),
        Lecture("ip -j neigh show", linux.observations_voisins),
        # No header, no footer, and any name is a Linux interface name (br-lan, eth1.1): a cut in the
        # last column cannot be seen.
        table_arp(SortieCli("linux", "arp -a"), capture_seulement=True),
    )),
    Plateforme("dnsmasq", chemin_par_defaut="/var/lib/misc/dnsmasq.leases", lectures=(
        Lecture("cat {chemin}", baux_dhcp.observations_dnsmasq, "dnsmasq.leases"),
    )),
    Plateforme("isc_dhcpd", chemin_par_defaut="/var/lib/dhcp/dhcpd.leases", lectures=(
        Lecture("cat {chemin}", baux_dhcp.observations_isc, "dhcpd.leases"),
    )),
    Plateforme("capteur_mdns", chemin_par_defaut="/var/lib/telesante/mdns.json", lectures=(
        Lecture("cat {chemin}", mdns.observations_mdns, "mdns.json",
                date_source=mdns.date_capture, nature="capture du capteur mDNS"),
    )),
    Plateforme("sonde_isolement", chemin_par_defaut="/var/lib/telesante/isolement.json", lectures=(
        Lecture("cat {chemin}", isolement.essais_isolement, "isolement.json", isolement=True,
                date_source=isolement.date_essais, nature="résultat de la sonde d'isolement"),
    )),
    # Read by SNMP walks (collecte/snmp.py), not by commands: every table in one capture-snmp-v1 document.
    Plateforme("snmp", lecteur=_lire_snmp, lectures=(
        Lecture(snmp_capture.LECTURE, snmp_analyse.observations_snmp, snmp_capture.FICHIER, table_mac=True,
                date_source=snmp_capture.date_capture, nature="capture SNMP"),
    )),
)

PLATEFORMES: dict[str, Plateforme] = {plateforme.nom: plateforme for plateforme in _ENTREES}


def plateforme(nom: str) -> Plateforme:
    """The registry's entry of a platform (KeyError for an unknown platform)."""
    return PLATEFORMES[nom]


def lectures(nom: str) -> tuple[Lecture, ...]:
    """The reads of a platform (KeyError for an unknown platform)."""
    return PLATEFORMES[nom].lectures
