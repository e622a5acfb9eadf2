"""The SNMP capture (`snmp.json`, format capture-snmp-v1): every walk the driver made, replayable offline.

One JSON document per equipment, written by the live path (and by `--enregistrer-captures`)
and parsed by the very same code (`snmp_analyse`) on both paths:

    {"format": "capture-snmp-v1", "equipement": "sw-nord-01", "agent": "192.0.2.10:161",
     "version_snmp": "2c", "debut": "2026-11-21T02:00:01+00:00", "fin": "2026-11-21T02:00:02+00:00",
     "parcours": [{"table": "dot1dTpFdbTable", "racine": "1.3.6.1.2.1.17.4.3", "vlan": null,
                   "complet": true, "varbinds": ["1.3.6.1.2.1.17.4.3.1.1.0.17.33.231.241.23|4x|001121e7f117", ...]},
                  {"table": "ipNetToMediaTable", "racine": "1.3.6.1.2.1.4.22", "vlan": null,
                   "complet": false, "erreur": "délai dépassé (2 s, 2 tentatives)"}]}

Each varbind is one line of snmpsim's `.snmprec` format (`OID|type|valeur`, types of RFC 2578 by
their BER tag: 2 Integer32, 4 OCTET STRING, 6 OBJECT IDENTIFIER, 64 IpAddress, 65 Counter32,
66 Gauge32, 67 TimeTicks, 68 Opaque, 70 Counter64; an `x` after the tag: value in hexadecimal,
as every OCTET STRING is written here). `vlan` is the Cisco VLAN context the walk was made in
(`communauté@vlan` in v2c, context `vlan-N` in v3), null for the default context. A walk that did
not end (`complet: false`) carries why; it is never taken for a whole table. No credential is
ever written (community, user, keys): only the agent's address and the SNMP version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.texte_json import erreur_json, refuser_demi_caracteres

FORMAT = "capture-snmp-v1"
FICHIER = "snmp.json"
LECTURE = "lecture SNMP"  # the read of the platform snmp (the text of every walk), by its name in the registry

# The tables read, by their documented OIDs.
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2"  # SNMPv2-MIB sysObjectID (RFC 3418)
IF_DESCR = "1.3.6.1.2.1.2.2.1.2"  # IF-MIB ifDescr (RFC 2863)
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"  # IF-MIB ifName (RFC 2863)
DOT1D_BASE_PORT_IF_INDEX = "1.3.6.1.2.1.17.1.4.1.2"  # BRIDGE-MIB dot1dBasePortIfIndex (RFC 4188)
DOT1D_TP_FDB_TABLE = "1.3.6.1.2.1.17.4.3"  # BRIDGE-MIB dot1dTpFdbTable: Address .1, Port .2, Status .3 (RFC 4188)
DOT1Q_TP_FDB_TABLE = "1.3.6.1.2.1.17.7.1.2.2"  # Q-BRIDGE-MIB dot1qTpFdbTable: Port .2, Status .3 (RFC 4363)
DOT1Q_VLAN_FDB_ID = "1.3.6.1.2.1.17.7.1.4.2.1.3"  # Q-BRIDGE-MIB dot1qVlanFdbId (RFC 4363)
IP_NET_TO_MEDIA_TABLE = "1.3.6.1.2.1.4.22"  # IP-MIB ipNetToMediaTable, IPv4 (RFC 4293)
IP_NET_TO_PHYSICAL_TABLE = "1.3.6.1.2.1.4.35"  # IP-MIB ipNetToPhysicalTable, IPv4 and IPv6 (RFC 4293)
VTP_VLAN_STATE = "1.3.6.1.4.1.9.9.46.1.3.1.1.2"  # CISCO-VTP-MIB vtpVlanState: Cisco's VLAN list

# Walked in the default context, in this order; then, on a Cisco switch (vtpVlanState lists VLANs),
# TABLES_PAR_VLAN in each VLAN's context.
TABLES = {
    "vtpVlanState": VTP_VLAN_STATE,
    "ifName": IF_NAME,
    "ifDescr": IF_DESCR,
    "dot1dBasePortIfIndex": DOT1D_BASE_PORT_IF_INDEX,
    "dot1dTpFdbTable": DOT1D_TP_FDB_TABLE,
    "dot1qVlanFdbId": DOT1Q_VLAN_FDB_ID,
    "dot1qTpFdbTable": DOT1Q_TP_FDB_TABLE,
    "ipNetToMediaTable": IP_NET_TO_MEDIA_TABLE,
    "ipNetToPhysicalTable": IP_NET_TO_PHYSICAL_TABLE,
}
TABLES_PAR_VLAN = ("dot1dBasePortIfIndex", "dot1dTpFdbTable")
MIB = {"vtpVlanState": "CISCO-VTP-MIB", "ifName": "IF-MIB", "ifDescr": "IF-MIB",
       "dot1dBasePortIfIndex": "BRIDGE-MIB", "dot1dTpFdbTable": "BRIDGE-MIB", "dot1qVlanFdbId": "Q-BRIDGE-MIB",
       "dot1qTpFdbTable": "Q-BRIDGE-MIB", "ipNetToMediaTable": "IP-MIB", "ipNetToPhysicalTable": "IP-MIB"}

# VLANs 1002-1005 (FDDI and Token Ring defaults) have no bridge context on Cisco IOS.
VLANS_SANS_CONTEXTE = frozenset(range(1002, 1006))

_TYPES = {"2": "Integer32", "4": "OCTET STRING", "6": "OBJECT IDENTIFIER", "64": "IpAddress", "65": "Counter32",
          "66": "Gauge32", "67": "TimeTicks", "68": "Opaque", "70": "Counter64"}
_ENTIERS = {"2", "65", "66", "67", "70"}


def nommer_table(table: str, vlan: int | None) -> str:
    """« table dot1dTpFdbTable (BRIDGE-MIB) », and its VLAN context if any: for messages."""
    contexte = f", contexte du VLAN {vlan}" if vlan is not None else ""
    return f"table {table} ({MIB.get(table, '?')}){contexte}"


@dataclass(frozen=True)
class Parcours:
    """One walk of one table (in one VLAN context): its varbinds, or why it did not end."""

    table: str
    vlan: int | None
    lignes: tuple[tuple[tuple[int, ...], str, object], ...]  # (OID, type tag, int | bytes | OID tuple)
    complet: bool
    erreur: str | None = None


@dataclass(frozen=True)
class CaptureSnmp:
    """A parsed capture-snmp-v1 document."""

    equipement: str
    agent: str
    version: str
    debut: datetime
    fin: datetime
    parcours: tuple[Parcours, ...]


def oid_texte(oid: tuple[int, ...]) -> str:
    return ".".join(map(str, oid))


def oid_tuple(texte: str) -> tuple[int, ...]:
    """An OID in dotted form; ValueError unless it is one (at least two arcs, no sign, no blank)."""
    parts = texte.split(".")
    if len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(texte)
    return tuple(int(p) for p in parts)


def ligne_varbind(oid: tuple[int, ...], tag: str, valeur) -> str:
    """One `.snmprec` line: OCTET STRING, IpAddress and Opaque in hexadecimal, the others in decimal or dotted form."""
    if tag in ("4", "64", "68"):
        return f"{oid_texte(oid)}|{tag}x|{bytes(valeur).hex()}"
    if tag == "6":
        return f"{oid_texte(oid)}|6|{oid_texte(valeur)}"
    return f"{oid_texte(oid)}|{tag}|{int(valeur)}"


def _lire_ligne(ligne, table: str, vlan: int | None, numero: int):
    where = f"{nommer_table(table, vlan)}, varbind n° {numero}"
    if not isinstance(ligne, str) or ligne.count("|") != 2:
        raise SortieIllisible(f"{where} : « {ligne} » n'est pas une ligne OID|type|valeur")
    oid, tag, valeur = ligne.split("|")
    hexa = tag.endswith("x")
    tag = tag.removesuffix("x")
    try:
        oid = oid_tuple(oid)
        if tag not in _TYPES or hexa != (tag in ("4", "64", "68")):
            raise ValueError
        if hexa:
            return oid, tag, bytes.fromhex(valeur)
        if tag == "6":
            return oid, tag, oid_tuple(valeur)
        if not (valeur.isascii() and valeur.lstrip("-").isdigit()):
            raise ValueError
        return oid, tag, int(valeur)
    except ValueError:
        raise SortieIllisible(f"{where} : « {ligne} » illisible (OID, type ou valeur)") from None


def _date(document: dict, cle: str) -> datetime:
    valeur = document.get(cle)
    try:
        moment = datetime.fromisoformat(valeur) if isinstance(valeur, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise SortieIllisible(f"champ « {cle} » : date ISO 8601 avec fuseau attendue")
    return moment


def lire_capture(texte: str) -> CaptureSnmp:
    """Parse and check a capture-snmp-v1 document (SortieIllisible if it is not one)."""
    if not texte.strip():
        raise SortieIllisible("capture SNMP vide")
    try:
        document = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise SortieIllisible(f"JSON invalide ({erreur_json(exc)} : capture coupée ?)", exc.lineno) from None
    refuser_demi_caracteres(document, texte)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SortieIllisible(f"ce n'est pas une capture SNMP (champ « format » : {FORMAT} attendu)")
    textes = {cle: document.get(cle) for cle in ("equipement", "agent", "version_snmp")}
    for cle, valeur in textes.items():
        if not isinstance(valeur, str):
            raise SortieIllisible(f"champ « {cle} » : texte attendu")
    brut = document.get("parcours")
    if not isinstance(brut, list):
        raise SortieIllisible("champ « parcours » : liste attendue")
    parcours = []
    for index, item in enumerate(brut, start=1):
        if not isinstance(item, dict) or item.get("table") not in TABLES:
            raise SortieIllisible(f"parcours n° {index} : table inconnue ou absente (connues : {', '.join(TABLES)})")
        table, vlan, complet = item["table"], item.get("vlan"), item.get("complet")
        if vlan is not None and (isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094):
            raise SortieIllisible(f"parcours n° {index} ({table}) : VLAN invalide")
        if item.get("racine") != TABLES[table] or not isinstance(complet, bool):
            raise SortieIllisible(f"parcours n° {index} : {nommer_table(table, vlan)} : racine ou champ « complet » invalide")
        erreur = item.get("erreur")
        if not complet and not isinstance(erreur, str):
            raise SortieIllisible(f"parcours n° {index} : {nommer_table(table, vlan)} : parcours incomplet sans cause")
        varbinds = item.get("varbinds", [])
        if not isinstance(varbinds, list):
            raise SortieIllisible(f"parcours n° {index} : {nommer_table(table, vlan)} : « varbinds » : liste attendue")
        lignes = tuple(_lire_ligne(ligne, table, vlan, numero) for numero, ligne in enumerate(varbinds, start=1))
        parcours.append(Parcours(table, vlan, lignes, complet, erreur if not complet else None))
    return CaptureSnmp(textes["equipement"], textes["agent"], textes["version_snmp"], _date(document, "debut"),
                       _date(document, "fin"), tuple(parcours))


def ecrire_capture(equipement: str, agent: str, version: str, debut: datetime, fin: datetime,
                   parcours: list[Parcours]) -> str:
    """The capture-snmp-v1 text of what was walked (what the live path parses, and records)."""
    document = {
        "format": FORMAT, "equipement": equipement, "agent": agent, "version_snmp": version,
        "debut": debut.isoformat(timespec="seconds"), "fin": fin.isoformat(timespec="seconds"),
        "parcours": [
            {"table": p.table, "racine": TABLES[p.table], "vlan": p.vlan, "complet": p.complet,
             **({} if p.complet else {"erreur": p.erreur}),
             "varbinds": [ligne_varbind(*ligne) for ligne in p.lignes]}
            for p in parcours
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"


def date_capture(texte: str) -> datetime:
    """When the walks ended (`fin`): the capture's own date, for its age."""
    return lire_capture(texte).fin
