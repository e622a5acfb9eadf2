"""Vendor CLI outputs (MAC and ARP tables) parsed with ntc-templates."""

from __future__ import annotations

import re
from collections.abc import Iterable

from ntc_templates.parse import parse_output
from textfsm import TextFSMError
from textfsm.clitable import CliTableError

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.interpretation import vlan_depuis_nom
from telesante.mac import InvalidMac, is_multicast, normalize_mac
from telesante.observation import Observation

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


def analyser_ntc(plateforme: str, commande: str, texte: str) -> list[dict]:
    """Parse a vendor output with its ntc-templates template, or raise SortieIllisible."""
    if not texte.strip():
        raise SortieIllisible("sortie vide")
    try:
        records = parse_output(platform=plateforme, command=commande, data=texte)
    except TextFSMError as exc:
        raise SortieIllisible(
            f"sortie non reconnue pour {plateforme} « {commande} »", _failing_line(texte, str(exc))
        ) from exc
    except CliTableError as exc:
        raise SortieIllisible(f"aucun gabarit ntc-templates pour {plateforme} « {commande} »") from exc
    if not records:
        raise SortieIllisible(f"aucune entrée reconnue dans la sortie de « {commande} »")
    _verifier_derniere_entree(records, texte)
    _verifier_fin(records, texte)
    return records


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
    plateforme: str, commande: str, texte: str, equipement: str, source: str
) -> list[Observation]:
    """Observations from a switch's MAC address table."""
    observations = []
    for record in analyser_ntc(plateforme, commande, texte):
        mac = _unicast_mac(_first(record, _MAC_FIELDS))
        if mac is None:
            continue
        vlan_name = record.get("vlan_id") or record.get("vlan") or ""
        attributes = (("vlan_nom", vlan_name),) if vlan_name and not vlan_name.isdigit() else ()
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                vlan=vlan_depuis_nom(vlan_name),
                port=_port_text(_first(record, _PORT_FIELDS)),
                attributs=attributes,
            )
        )
    return observations


def observations_table_arp(
    plateforme: str, commande: str, texte: str, equipement: str, source: str
) -> list[Observation]:
    """Observations from a router's ARP table (IP to MAC, VLAN from the interface)."""
    observations = []
    for record in analyser_ntc(plateforme, commande, texte):
        mac = _unicast_mac(_first(record, _MAC_FIELDS))
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


def _unicast_mac(text: str | None) -> str | None:
    """Canonical MAC, or None for incomplete entries and group (multicast) addresses."""
    if not text:
        return None
    try:
        mac = normalize_mac(text)
    except InvalidMac:
        return None
    return None if is_multicast(mac) else mac
