"""Vendor CLI outputs (MAC and ARP tables) parsed with ntc-templates, and turned into observations.

What a whole output looks like (header, footer, count) is the platform's data (`SortieCli.formats`,
given in the registry, `telesante.collecte.plateformes`); `telesante.collecte.completude` checks it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from importlib import resources
from pathlib import Path

from ntc_templates.parse import _get_template_dir
from textfsm import TextFSM, TextFSMError
from textfsm.clitable import CliTable, CliTableError

from telesante.collecte.completude import (CHAMPS_IP, CHAMPS_MAC, CHAMPS_PORT, MAC_ENTIERE, Format, premier_champ,
                                          verifier)
from telesante.collecte.contrat import Annexe, Lecture
from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.vlan import vlan_depuis_nom
from telesante.mac import MacInvalide, est_multicast, normaliser_mac
from telesante.observation import Observation


@dataclass(frozen=True)
class SortieCli:
    """One vendor command's output: the template that parses it, and how a whole one looks."""

    plateforme: str  # ntc-templates' platform name (netmiko's)
    commande: str
    # Its layouts (the first whose header the output has is used); one without header by default.
    formats: tuple[Format, ...] = (Format(en_tete=None),)
    # Our own template (src/telesante/donnees/gabarits), where ntc-templates' one refuses real outputs;
    # None: the one ntc-templates' index names.
    gabarit: str | None = None


# How a MAC table names VLANs: (records, text, annexes) -> VLAN numbers, one per record.
NumerosVlan = Callable[[list[dict], str, Mapping[str, Annexe]], list[int | None]]


def table_mac(sortie: SortieCli, numeros_vlan: NumerosVlan | None = None, annexes: tuple[str, ...] = ()) -> Lecture:
    """The read of a switch's MAC address table (VLAN names are their numbers unless `numeros_vlan` says)."""
    return Lecture(sortie.commande, partial(observations_table_mac, sortie, numeros_vlan or _numeros_par_nom),
                   annexes=annexes, table_mac=True)


def table_arp(sortie: SortieCli, capture_seulement: bool = False) -> Lecture:
    """The read of a router's ARP table."""
    return Lecture(sortie.commande, partial(observations_table_arp, sortie), capture_seulement=capture_seulement)


def _port_text(value) -> str | None:
    if isinstance(value, list):
        return ",".join(v for v in value if v) or None
    return value or None


def analyser_ntc(sortie: SortieCli, texte: str) -> list[dict]:
    """Parse a vendor output with its ntc-templates template and check it is whole, or raise SortieIllisible."""
    plateforme, commande = sortie.plateforme, sortie.commande
    if not texte.strip():
        raise SortieIllisible("sortie vide")
    unknown = f"sortie non reconnue pour {plateforme} ({commande})"
    try:
        records = _parse(plateforme, commande, sortie.gabarit, texte)
    except TextFSMError as exc:
        raise SortieIllisible(unknown, _failing_line(texte, str(exc))) from exc
    except CliTableError as exc:
        raise SortieIllisible(f"aucun gabarit ntc-templates pour {plateforme} « {commande} »") from exc
    verifier(sortie.formats, records, texte, unknown)
    return records


def _parse(plateforme: str, commande: str, gabarit: str | None, texte: str) -> list[dict]:
    """TextFSM records, as ntc-templates' parse_output gives them (Value names in lower case).

    The template is the one ntc-templates' index names, run by TextFSM directly: parse_output
    goes through clitable, which deep-copies every row (100,000 MAC entries: 6 s of 8, and most
    of the memory).
    """
    fsm = TextFSM(io.StringIO(_gabarit(plateforme, commande, gabarit)))
    header = [value.lower() for value in fsm.header]
    return [dict(zip(header, row)) for row in fsm.ParseText(texte)]


@cache
def _gabarit(plateforme: str, commande: str, gabarit: str | None) -> str:
    """Text of the template for this command: ours (`gabarit`) or the one ntc-templates' index names."""
    if gabarit is not None:
        return resources.files("telesante.donnees").joinpath("gabarits").joinpath(gabarit).read_text(encoding="utf-8")
    directory = _get_template_dir()
    index = CliTable("index", directory).index
    row = index.GetRowMatch({"Platform": plateforme, "Command": commande})
    if not row:
        raise CliTableError(f"no template for {plateforme} {commande}")
    [template] = index.index[row]["Template"].split(":")  # one template per read, never a merge
    return (Path(directory) / template).read_text(encoding="utf-8")


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
    sortie: SortieCli, numeros_vlan: NumerosVlan, texte: str, equipement: str, source: str,
    annexes: Mapping[str, Annexe] | None = None, vlan_par_defaut: int | None = None,
) -> list[Observation]:
    """Observations from a switch's MAC address table (`annexes`: those `numeros_vlan` reads).

    A table that prints no VLAN at all (ProCurve's older firmware, the table of one VLAN) puts its
    entries on `vlan_par_defaut` (telesante_vlan_par_defaut), or on no VLAN without it.
    """
    devices = [(mac, record) for record in analyser_ntc(sortie, texte)
               if (mac := _unicast_mac(premier_champ(record, CHAMPS_MAC), texte))]
    if not devices:
        # A switch always learns at least the MAC addresses behind its uplinks.
        raise SortieIllisible("table MAC vide (un commutateur voit au moins ses liaisons) : capture coupée ?",
                              len(texte.rstrip().splitlines()))
    records = [record for _, record in devices]
    if any(_vlan_name(record) for record in records):
        numbers = numeros_vlan(records, texte, annexes or {})
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
                port=_port_text(premier_champ(record, CHAMPS_PORT)),
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


def numeros_vlan_junos(sortie_vlans: SortieCli, records: list[dict], texte: str,
                       annexes: Mapping[str, Annexe]) -> list[int | None]:
    """802.1Q tags of the VLAN names of a Junos MAC table, or SortieIllisible.

    "Vlan110" and "110" are VLAN 110 (the naming convention ntc-templates relies on too); any
    other name takes its tag from `show vlans` (`sortie_vlans`, an annex of the read, parsed only
    then), in the same routing instance.
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
        annexe = annexes.get(sortie_vlans.commande)
        if annexe is None or annexe.texte is None:
            why = f"capture de « show vlans » absente : {annexe.origine}" if annexe else "show vlans non lu"
            raise SortieIllisible(f"VLAN « {name} » : numéro inconnu ({why})", line)
        if vlans is None:
            vlans = _VlansJunos(sortie_vlans, annexe)
        numbers.append(vlans.tag(instance, name, line))
    return numbers


class _VlansJunos:
    """Junos `show vlans`: (routing instance, VLAN name) -> 802.1Q tag. Errors name its origin."""

    def __init__(self, sortie: SortieCli, annexe: Annexe):
        self.annexe = annexe
        try:
            self.records = analyser_ntc(sortie, annexe.texte or "")
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
        if line.split()[: len(words)] == list(words) and (not with_mac or MAC_ENTIERE.search(line)):
            return number
    return None


def observations_table_arp(sortie: SortieCli, texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from a router's ARP table (IP to MAC, VLAN from the interface)."""
    observations = []
    for record in analyser_ntc(sortie, texte):
        mac = _unicast_mac(premier_champ(record, CHAMPS_MAC), texte)
        if mac is None:
            continue
        interface = record.get("interface") or record.get("port_id") or ""
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                ip=premier_champ(record, CHAMPS_IP),
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
        mac = normaliser_mac(text)
    except MacInvalide:
        line = next((n for n, content in enumerate(texte.splitlines(), start=1) if text in content.split()), None)
        raise SortieIllisible("adresse MAC illisible : sortie tronquée ou altérée ?", line) from None
    return None if est_multicast(mac) else mac
