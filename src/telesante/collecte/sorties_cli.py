"""Vendor CLI outputs (MAC and ARP tables) parsed with ntc-templates."""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ntc_templates.parse import _get_template_dir
from textfsm import TextFSM, TextFSMError
from textfsm.clitable import CliTable, CliTableError

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.interpretation import vlan_depuis_nom
from telesante.mac import InvalidMac, is_multicast, normalize_mac
from telesante.observation import Observation

if TYPE_CHECKING:
    from telesante.collecte.plateformes import Annexe

# Our own templates (src/telesante/donnees/gabarits), where ntc-templates' one refuses real outputs;
# each says where it comes from and what changed.
_GABARITS = {
    # ntc's reads only VLANs named VlanNNN of the default-switch instance.
    ("juniper_junos", "show ethernet-switching table"): "juniper_junos_show_ethernet-switching_table.textfsm",
}

# Field names differ between templates; the first one present wins.
_MAC_FIELDS = ("mac_address", "destination_address")
_PORT_FIELDS = ("destination_port", "ports", "port", "logical_interface")
_IP_FIELDS = ("ip_address",)


def _first(record: dict, names: Iterable[str]):
    for name in names:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


def _port_text(value) -> str | None:
    if isinstance(value, list):
        return ",".join(v for v in value if v) or None
    return value or None


@dataclass(frozen=True)
class _Format:
    """What a platform prints around its table: to recognise its output and to see it is whole."""

    en_tete: str | None  # header line of the table; None: the command prints none
    pied: str | None = None  # how a whole output ends (footer); group "n": entries it announces
    pied_texte: str = ""  # that footer as printed, for the message
    compte: str | None = None  # count printed before the table (group "n"): about that many rows
    # End of a whole row: (fields, separated by spaces, what their values joined by a space look
    # like once whole); checked on the last row only, the one a cut capture leaves half written.
    derniere_colonne: tuple[str, str] | None = None


_ENDS_WITH_NUMBER = r".*\d"  # Gi1/0/1, Po140, lag100, 1/1/30, Vlan10, 25...

# Checked against every real capture of ../shared/fixtures (tests/unitaires/test_sorties_equipements.py).
# Where there is no footer, a cut in the last column is seen only when it leaves an impossible value
# ("E", "Po", "Te1/1/", nothing); "Te3/2" for "Te3/20" cannot be told from a whole name.
_FORMATS = {
    ("cisco_ios", "show mac address-table"): _Format(
        # The template's four layouts. Catalysts print "Total Mac Addresses for this criterion" after
        # the fourth, but not every IOS does (real capture without it): no footer required.
        en_tete=r"^(?:Destination\s+Address\s+Address\s+Type\s+VLAN\s+Destination\s+Port"
        r"|\s+vlan\s+mac address\s+type\s+(?:learn|protocols)|Vlan\s+Mac Address\s+Type\s+Ports)",
        compte=r"^Dynamic Addresses Count:\s*(?P<n>\d+)",  # first layout only; secure ones are listed too
        # A static entry may have no port at all (Cat6500: IGMP groups and some unicast ones):
        # there, a cut right after the type cannot be told from it.
        derniere_colonne=("type destination_port", r"(?i:\S+ (?:.*\d|CPU|Router|.*Switch|Drop)|static )"),
    ),
    ("cisco_ios", "show ip arp"): _Format(
        en_tete=r"^Protocol\s+Address\s+Age",  # no footer in IOS
        # An ARPA entry names its interface, unless it is Incomplete (not resolved yet); the real
        # capture has an "SRP-A" one without: the interface may be missing, unless the type is
        # ARPA or a cut of it.
        derniere_colonne=("mac_address type interface",
                          r"\S+ \S+ .*\d|Incomplete ARPA |\S+ (?!A(?:R(?:PA?)?)? )\S+ "),
    ),
    ("cisco_nxos", "show mac address-table"): _Format(
        # Some NX-OS print "Total MAC Addresses: N" first, not all (real capture without): not required.
        en_tete=r"^\s*VLAN\s+MAC\s+Address\s+Type\s+age\s+Secure\s+NTFY\s+Ports",
        # Po10, sup-eth1(R), nve1(10.0.0.1), "vPC Peer-Link", Router
        derniere_colonne=("ports", r".*[\d)]|Drop|vPC|Router"),
    ),
    ("cisco_nxos", "show ip arp"): _Format(
        en_tete=r"^Address\s+Age\s+MAC Address\s+Interface",
        # Real capture: 23 rows for "Total number of entries: 22" (INCOMPLETE not counted?): only a
        # clear shortfall is a cut.
        compte=r"^Total number of entries:\s*(?P<n>\d+)",
        derniere_colonne=("interface", _ENDS_WITH_NUMBER),
    ),
    ("arista_eos", "show mac address-table"): _Format(
        en_tete=r"^\s*Vlan\s+[Mm]ac\s+Address\s+Type\s+Ports",  # "mac" in the real capture
        # Each table (unicast, then multicast: group addresses, not devices) ends with its total, even
        # 0. The totals of the real capture do not match its rows (24 for 19): only their presence is
        # checked ("mac" in the real capture: matched ignoring case).
        pied=r"^\s*Multicast Mac Address Table(?s:.*)^Total Mac Addresses for this criterion: \d+\s*\Z",
        pied_texte="Total Mac Addresses for this criterion: N, après le tableau multicast",
    ),
    ("arista_eos", "show ip arp"): _Format(
        en_tete=r"^Address\s+Age\b.*\bHardware Addr\s+Interface",  # no footer in EOS
        # "Ethernet1"; on a VLAN, EOS adds the port: "Vlan101, Port-Channel2", "Vlan1, not learned".
        derniere_colonne=("interface", r"(?!Vlan).*\d|Vlan\d+, (?:.*\d|not learned|(?i:cpu|router))"),
    ),
    ("aruba_aoscx", "show mac-address-table"): _Format(
        en_tete=r"^MAC\s+Address\s+VLAN\s+Type\s+Port",
        # Real capture: 6 rows for "Number of MAC addresses : 5": only a clear shortfall is a cut.
        compte=r"^Number of MAC addresses\s*:\s*(?P<n>\d+)",
        derniere_colonne=("port", r"\d+/\d+/\d+(?::\d+)?|\D.*[\d)]"),  # 1/1/30, lag100, vxlan1(10.0.0.2)
    ),
    ("aruba_aoscx", "show arp all-vrfs"): _Format(
        en_tete=r"^IPv4\s+Address\s+MAC\s+Port\s+Physical\s+Port\s+State",
        pied=r"^Total Number Of ARP Entries Listed\s*-\s*(?P<n>\d+)\.?\s*\Z",
        pied_texte="Total Number Of ARP Entries Listed- N.",
    ),
    # No footer: a cut in the last column (VLAN "50" -> "5", port "25" -> "2") cannot be seen.
    ("hp_procurve", "show mac-address"): (
        _Format(en_tete=r"^\s*MAC Address\s+Port\s+VLAN", derniere_colonne=("vlan_id", r"\d+")),
        # Without the VLAN column (older firmware, or the table of one VLAN): port 10, Trk1.
        _Format(en_tete=r"^\s*MAC Address\s+Port\s*$", derniere_colonne=("port", r".*\d")),
    ),
    ("hp_procurve", "show arp"): _Format(
        # No footer: a cut in the last column (port, "25" -> "2") cannot be seen; the template
        # takes rows without a port, so an empty one is let through.
        en_tete=r"^\s*IP Address\s+MAC Address\s+Type\s+Port", derniere_colonne=("port", r"|.*\d"),
    ),
    ("juniper_junos", "show ethernet-switching table"): _Format(
        en_tete=r"^\s*Vlan\s+MAC\s+MAC\s+Age\s+Logical",
        compte=r"^Ethernet switching table\s*:\s*(?P<n>\d+) entries",
        # A logical interface always has its unit: ae3.0, xe-0/0/51:0.0 (NH and RTR columns unused).
        derniere_colonne=("logical_interface", r"\S+\.\d+"),
    ),
    ("juniper_junos", "show vlans"): _Format(
        en_tete=r"^Routing\s+instance\s+VLAN\s+name\s+Tag\s+Interfaces",
        # No footer. A VLAN's member interfaces follow it, one a line, each with its unit (ae0.0*,
        # vtep.32769); a VLAN may have none: there, a cut in its tag cannot be seen here
        # (see _VlansJunos.tag).
        derniere_colonne=("interfaces", r"|\S+\.\d+\*?"),
    ),
    ("juniper_junos", "show arp no-resolve"): _Format(
        en_tete=r"^MAC\s+Address\s+Address\s+Interface\s+Flags",
        pied=r"^Total entries: (?P<n>\d+)\s*\Z",
        pied_texte="Total entries: N",
    ),
    # No header, no footer, and any name is a Linux interface name (br-lan, eth1.1): a cut in the
    # last column cannot be seen.
    ("linux", "arp -a"): _Format(en_tete=None),
}

_WHOLE_MAC = re.compile(
    r"\b(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{6}-[0-9a-f]{6})\b", re.I
)
# Lines that may follow a footer: blank lines, rules, the Junos "{master:0}" line, a prompt
# ("switch#", "user@host>") left in a capture saved by hand.
_DECORATION = re.compile(r"^\s*(?:-+|\{master:\d+\}|[\w.@:()/-]+[#>])?\s*$")


def _manque_trop(lues: int, annoncees: int) -> bool:
    """Whether fewer entries were read than announced, beyond what a live table explains.

    A count and its table are not one snapshot (real captures list one entry more, or one
    less, than they announce): entries age out while the table prints. Only a shortfall
    of more than 2 entries and more than 1 % is taken for a cut.
    """
    return annoncees - lues > max(2, annoncees // 100)


def analyser_ntc(plateforme: str, commande: str, texte: str) -> list[dict]:
    """Parse a vendor output with its ntc-templates template, or raise SortieIllisible."""
    if not texte.strip():
        raise SortieIllisible("sortie vide")
    unknown = f"sortie non reconnue pour {plateforme} ({commande})"
    try:
        records = _parse(plateforme, commande, texte)
    except TextFSMError as exc:
        raise SortieIllisible(unknown, _failing_line(texte, str(exc))) from exc
    except CliTableError as exc:
        raise SortieIllisible(f"aucun gabarit ntc-templates pour {plateforme} « {commande} »") from exc
    # Another platform's or command's output may fit a loose template (an Arista ARP line is a
    # valid Aruba one); the table header tells them apart. A header without rows is an empty table.
    form = _format(plateforme, commande, texte)
    if form is None:
        raise SortieIllisible(f"{unknown} : en-tête du tableau absent")
    if not records and not form.en_tete:
        raise SortieIllisible(unknown)
    # Some templates skip what they do not match (Arista's reads a Catalyst table as an empty one):
    # every line holding a MAC address must have given an entry, up to IOS's "Multicast Entries"
    # (group addresses), where the Cisco template stops.
    read = re.split(r"^Multicast\s+Entries", texte, maxsplit=1, flags=re.MULTILINE | re.IGNORECASE)[0]
    mac_lines = [number for number, line in enumerate(read.splitlines(), start=1) if _WHOLE_MAC.search(line)]
    if len(mac_lines) > len(records):
        raise SortieIllisible(
            f"{unknown} (lignes portant une adresse MAC : {len(mac_lines)}, entrées lues : {len(records)})",
            None if records else mac_lines[0],
        )
    announced = _verifier_pied_et_compte(form, records, texte)
    if not records and announced != 0:
        # Only a footer or a count that says 0 proves an empty table; otherwise the capture
        # may well have been cut right after its header.
        raise SortieIllisible("table vide : capture coupée ?", len(texte.rstrip().splitlines()))
    if records:
        _verifier_fin(records, read)
        if form.derniere_colonne is None:
            _verifier_derniere_entree(records, texte)
        else:  # knows, format by format, which rows legitimately lack a field (IOS Incomplete...)
            _verifier_derniere_colonne(form, records, texte)
    return records


def _parse(plateforme: str, commande: str, texte: str) -> list[dict]:
    """TextFSM records, as ntc-templates' parse_output gives them (Value names in lower case).

    The template is the one ntc-templates' index names, run by TextFSM directly: parse_output
    goes through clitable, which deep-copies every row (100,000 MAC entries: 6 s of 8, and most
    of the memory).
    """
    fsm = TextFSM(io.StringIO(_gabarit(plateforme, commande)))
    header = [value.lower() for value in fsm.header]
    return [dict(zip(header, row)) for row in fsm.ParseText(texte)]


@cache
def _gabarit(plateforme: str, commande: str) -> str:
    """Text of the template for this command: ours (_GABARITS) or the one ntc-templates' index names."""
    name = _GABARITS.get((plateforme, commande))
    if name is not None:
        return resources.files("telesante.donnees").joinpath("gabarits").joinpath(name).read_text(encoding="utf-8")
    directory = _get_template_dir()
    index = CliTable("index", directory).index
    row = index.GetRowMatch({"Platform": plateforme, "Command": commande})
    if not row:
        raise CliTableError(f"no template for {plateforme} {commande}")
    [template] = index.index[row]["Template"].split(":")  # one template per read, never a merge
    return (Path(directory) / template).read_text(encoding="utf-8")


def _format(plateforme: str, commande: str, texte: str) -> _Format | None:
    """The layout of this output (the first whose header it has), or None if it has none of them."""
    layouts = _FORMATS.get((plateforme, commande), _Format(en_tete=None))
    for layout in layouts if isinstance(layouts, tuple) else (layouts,):
        if layout.en_tete is None or re.search(layout.en_tete, texte, re.MULTILINE):
            return layout
    return None


def _verifier_pied_et_compte(form: _Format, records: list[dict], texte: str) -> int | None:
    """The footer the platform always prints must end the output; announced counts must hold.

    Returns the number of entries the footer or count announces, if the output prints one.
    """
    announced = None
    lines = texte.splitlines()
    if form.pied:
        end = len(lines)
        while end and _DECORATION.match(lines[end - 1]):
            end -= 1
        footer = re.search(form.pied, "\n".join(lines[:end]), re.MULTILINE | re.IGNORECASE)
        if footer is None:
            raise SortieIllisible(f"sortie tronquée ? (pied de tableau « {form.pied_texte} » absent)", len(lines))
        if footer.groupdict().get("n") is not None:
            announced = int(footer.group("n"))
            if _manque_trop(len(records), announced):
                raise SortieIllisible(
                    f"sortie tronquée ? (entrées lues : {len(records)}, annoncées par le pied de tableau : {announced})",
                    end,
                )
    if form.compte:
        count = re.search(form.compte, texte, re.MULTILINE)
        if count:
            announced = int(count.group("n"))
            if _manque_trop(len(records), announced):
                raise SortieIllisible(
                    f"sortie tronquée ? (entrées lues : {len(records)}, annoncées avant le tableau : {announced})",
                    len(lines),
                )
    return announced


def _verifier_derniere_colonne(form: _Format, records: list[dict], texte: str) -> None:
    """The last row's last column must be whole: a capture cut there leaves "E" for "Et7", or nothing."""
    if form.derniere_colonne is None:
        return
    fields, whole = form.derniere_colonne
    values = []
    for field in fields.split():
        value = records[-1].get(field) or ""
        if isinstance(value, list):  # several ports: the last one is at the end of the line
            value = value[-1] if value else ""
        values.append(value)
    if not re.fullmatch(whole, " ".join(values)):
        raise SortieIllisible(
            f"dernière entrée incomplète (fin de ligne « {' '.join(values).strip() or 'vide'} ») : sortie tronquée ?",
            len(texte.rstrip().splitlines()),
        )


# Start of a MAC address in any vendor notation: 0011.22.., 00:11:22.., 001122-33...
_MAC_FRAGMENT = re.compile(
    r"\b(?:[0-9a-f]{4}\.[0-9a-f]{1,4}|[0-9a-f]{2}[:-][0-9a-f]{2}[:-][0-9a-f]{1,2}|[0-9a-f]{6}-[0-9a-f]{1,6})", re.I
)


def _verifier_fin(records: list[dict], texte: str) -> None:
    """After the line of the last parsed entry, nothing may look like another entry.

    Templates skip a half-written last line silently; a cut-off capture must not pass.
    """
    raw_mac = _first(records[-1], _MAC_FIELDS)
    position = texte.rfind(raw_mac) if raw_mac else -1
    if position < 0:
        return
    end_of_line = texte.find("\n", position)
    if end_of_line < 0:
        return
    match = _MAC_FRAGMENT.search(texte, end_of_line)
    if match:
        line = texte.count("\n", 0, match.start()) + 1
        raise SortieIllisible("entrée non reconnue après la dernière entrée lue : sortie tronquée ?", line)


_KEY_FIELDS = _MAC_FIELDS + _PORT_FIELDS + _IP_FIELDS + ("vlan_id",)


def _verifier_derniere_entree(records: list[dict], texte: str) -> None:
    """A last record lacking a key field that every other record has means a cut-off output."""
    if len(records) < 2:
        return
    last, others = records[-1], records[:-1]
    missing = [
        name for name in _KEY_FIELDS
        if name in last and not last[name] and all(other.get(name) for other in others)
    ]
    if missing:
        lines = texte.rstrip().splitlines()
        raise SortieIllisible(
            f"dernière entrée incomplète ({', '.join(missing)} manquant) : sortie tronquée ?", len(lines)
        )


def _failing_line(texte: str, error: str) -> int | None:
    """Line number of the input line that textfsm names in its error, if any."""
    marker = "Input Line: "
    if marker not in error:
        return None
    bad = error.split(marker, 1)[1].strip()
    for number, line in enumerate(texte.splitlines(), start=1):
        if line.strip() == bad:
            return number
    return None


def observations_table_mac(
    plateforme: str, commande: str, texte: str, equipement: str, source: str,
    annexes: Mapping[str, Annexe] | None = None, vlan_par_defaut: int | None = None,
) -> list[Observation]:
    """Observations from a switch's MAC address table (`annexes`: see `_NUMEROS_VLAN`).

    A table that prints no VLAN at all (ProCurve's older firmware, the table of one VLAN) puts its
    entries on `vlan_par_defaut` (telesante_vlan_par_defaut), or on no VLAN without it.
    """
    devices = [(mac, record) for record in analyser_ntc(plateforme, commande, texte)
               if (mac := _unicast_mac(_first(record, _MAC_FIELDS), texte))]
    if not devices:
        # A switch always learns at least the MAC addresses behind its uplinks.
        raise SortieIllisible("table MAC vide (un commutateur voit au moins ses liaisons) : capture coupée ?",
                              len(texte.rstrip().splitlines()))
    records = [record for _, record in devices]
    if any(_vlan_name(record) for record in records):
        numbers = _NUMEROS_VLAN.get(plateforme, _numeros_par_nom)(records, texte, annexes or {})
    else:
        numbers = [vlan_par_defaut] * len(records)
    observations = []
    for (mac, record), vlan in zip(devices, numbers, strict=True):
        vlan_name = _vlan_name(record)
        attributes = (("vlan_nom", vlan_name),) if vlan_name and not vlan_name.isdigit() else ()
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                vlan=vlan,
                port=_port_text(_first(record, _PORT_FIELDS)),
                attributs=attributes,
            )
        )
    return observations


def _vlan_name(record: dict) -> str:
    return record.get("vlan_id") or record.get("vlan") or ""


def _numeros_par_nom(records: list[dict], texte: str, annexes: Mapping[str, Annexe]) -> list[int | None]:
    """VLAN numbers as the table prints them: "110", "Vlan110"."""
    return [vlan_depuis_nom(_vlan_name(record)) for record in records]


# A Junos VLAN name that is its own number; any other name ("default", "MEDICAL", "v110",
# "srv10") is looked up in `show vlans`, never guessed from its digits.
_JUNOS_NUMBERED_NAME = re.compile(r"(?:vlan)?(\d{1,4})", re.IGNORECASE)


def _numeros_vlan_junos(records: list[dict], texte: str, annexes: Mapping[str, Annexe]) -> list[int | None]:
    """802.1Q tags of the VLAN names of a Junos MAC table, or SortieIllisible.

    "Vlan110" and "110" are VLAN 110 (the naming convention ntc-templates relies on too); any
    other name takes its tag from `show vlans` (read only then), in the same routing instance.
    A name found nowhere makes the table unusable: its devices could not be placed.
    """
    vlans: _VlansJunos | None = None
    numbers = []
    for record in records:
        name, instance = _vlan_name(record), record.get("routing_instance") or ""
        own = _JUNOS_NUMBERED_NAME.fullmatch(name)
        if own and 1 <= int(own.group(1)) <= 4094:
            numbers.append(int(own.group(1)))
            continue
        line = _line_starting(texte, name, with_mac=True)
        annexe = annexes.get("show vlans")
        if annexe is None or annexe.texte is None:
            why = f"capture de « show vlans » absente : {annexe.origine}" if annexe else "show vlans non lu"
            raise SortieIllisible(f"VLAN « {name} » : numéro inconnu ({why})", line)
        if vlans is None:
            vlans = _VlansJunos(annexe)
        numbers.append(vlans.tag(instance, name, line))
    return numbers


class _VlansJunos:
    """Junos `show vlans`: (routing instance, VLAN name) -> 802.1Q tag. Errors name its origin."""

    def __init__(self, annexe: Annexe):
        self.annexe = annexe
        try:
            self.records = analyser_ntc("juniper_junos", "show vlans", annexe.texte or "")
        except SortieIllisible as exc:
            raise SortieIllisible(exc.message, exc.ligne, annexe.origine) from exc

    def tag(self, instance: str, name: str, line: int | None) -> int:
        """The tag of a name of the MAC table (at `line`), or SortieIllisible."""
        # Without a "Routing instance :" line in the MAC table, the name must be in one instance only.
        found = [r for r in self.records
                 if r["vlan_name"] == name and (not instance or r["routing_instance"] == instance)]
        if len(found) != 1:
            why = "absent de show vlans" if not found else "dans plusieurs instances de show vlans"
            raise SortieIllisible(f"VLAN « {name} » : numéro inconnu ({why})", line)
        [record] = found
        where = _line_starting(self.annexe.texte or "", record["routing_instance"], name)
        # The last VLAN, listed without member interfaces, ends the output on its tag: a cut there
        # ("1005" -> "10") would look whole. A MAC is learned on a member interface.
        if record is self.records[-1] and not record["interfaces"]:
            raise SortieIllisible(
                f"VLAN « {name} » : dernière entrée, sans interface : sortie tronquée ?", where, self.annexe.origine
            )
        tag = int(record["tag"])
        if not 1 <= tag <= 4094:
            raise SortieIllisible(f"VLAN « {name} » : étiquette {tag} hors de 1-4094", where, self.annexe.origine)
        return tag


def _line_starting(texte: str, *words: str, with_mac: bool = False) -> int | None:
    """Line of the first row that starts with these words (and holds a MAC address, if asked)."""
    for number, line in enumerate(texte.splitlines(), start=1):
        if line.split()[: len(words)] == list(words) and (not with_mac or _WHOLE_MAC.search(line)):
            return number
    return None


# How a platform's MAC table names VLANs, when its names are not their numbers.
_NUMEROS_VLAN = {"juniper_junos": _numeros_vlan_junos}


def observations_table_arp(
    plateforme: str, commande: str, texte: str, equipement: str, source: str
) -> list[Observation]:
    """Observations from a router's ARP table (IP to MAC, VLAN from the interface)."""
    observations = []
    for record in analyser_ntc(plateforme, commande, texte):
        mac = _unicast_mac(_first(record, _MAC_FIELDS), texte)
        if mac is None:
            continue
        interface = record.get("interface") or record.get("port_id") or ""
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                ip=_first(record, _IP_FIELDS),
                vlan=vlan_depuis_nom(interface),
                attributs=(("interface", interface),) if interface else (),
            )
        )
    return observations


# What tables print instead of a MAC address for an unresolved entry (IOS, NX-OS, Linux arp -a).
_NON_RESOLUE = re.compile(r"\(?<?incomplete>?\)?", re.IGNORECASE)


def _unicast_mac(text: str | None, texte: str) -> str | None:
    """Canonical MAC, or None for unresolved entries and group (multicast) addresses.

    Anything else that is no MAC address is SortieIllisible, never an entry dropped in silence.
    """
    if not text or _NON_RESOLUE.fullmatch(text):
        return None
    try:
        mac = normalize_mac(text)
    except InvalidMac:
        line = next((n for n, content in enumerate(texte.splitlines(), start=1) if text in content.split()), None)
        raise SortieIllisible("adresse MAC illisible : sortie tronquée ou altérée ?", line) from None
    return None if is_multicast(mac) else mac
