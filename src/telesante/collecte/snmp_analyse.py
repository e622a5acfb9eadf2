"""Observations from an SNMP capture (capture-snmp-v1): the same code for the live and the offline path.

MAC table, in this order of preference:

- Cisco (CISCO-VTP-MIB vtpVlanState lists VLANs): dot1dTpFdbTable of each VLAN's context, which
  is that VLAN (Cisco indexes BRIDGE-MIB by VLAN: `communauté@vlan`, context `vlan-N`);
- else Q-BRIDGE-MIB dot1qTpFdbTable (RFC 4363), its FDB id turned into the VLAN by dot1qVlanFdbId
  (without that table, the FDB id is taken as the VLAN, as NetDisco does; an FDB id shared by
  several VLANs places its entries on no VLAN);
- else BRIDGE-MIB dot1dTpFdbTable (RFC 4188), which prints no VLAN: `telesante_vlan_par_defaut`.

Entries whose status is invalid(2) or self(4) are not devices. The bridge port becomes an
interface by dot1dBasePortIfIndex, named by ifName (else ifDescr, IF-MIB RFC 2863). ARP and
neighbours: ipNetToMediaTable and ipNetToPhysicalTable (IP-MIB RFC 4293, IPv4 and IPv6), the
VLAN taken from the name of the routed interface (« Vlan110 », « Vlanif110 »).

Fail closed: a walk that did not end, an OID out of order or outside its table, an index or a
MAC of the wrong length, a missing table: SortieIllisible naming the equipment and the table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from netaddr import EUI, AddrFormatError, IPAddress, mac_unix_expanded

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.vlan import vlan_depuis_nom
from telesante.collecte.snmp_capture import (TABLES, VLANS_SANS_CONTEXTE, CaptureSnmp, Parcours,
                                             lire_capture, nommer_table, oid_tuple, oid_texte)
from telesante.mac import est_multicast
from telesante.observation import Observation

# FDB entry status (dot1dTpFdbStatus, dot1qTpFdbStatus): invalid(2) and self(4) are no device.
_STATUTS_ECARTES = {2, 4}
# ipNetToMediaType / ipNetToPhysicalType: invalid(2).
_ARP_INVALIDE = 2
# ifName of VLAN interfaces: « Vl110 » (Cisco), « Vlanif110 » (Huawei), « Vlan-interface110 » (H3C).
_VLANIF = re.compile(r"^v(?:l|lanif|lan-interface)\s*(\d{1,4})$", re.IGNORECASE)
_RACINES = {table: oid_tuple(oid) for table, oid in TABLES.items()}


class _Tables:
    """The walks of a capture by (table, VLAN context), each checked in order and within its table."""

    def __init__(self, capture: CaptureSnmp, equipement: str):
        self.equipement = equipement
        self.par_cle: dict[tuple[str, int | None], Parcours] = {}
        for parcours in capture.parcours:
            where = self.ou(parcours.table, parcours.vlan)
            if not parcours.complet:
                raise SortieIllisible(f"{where} : parcours interrompu ({parcours.erreur}) : table partielle, "
                                      "jamais prise pour complète")
            if (parcours.table, parcours.vlan) in self.par_cle:
                raise SortieIllisible(f"{where} : parcourue deux fois dans la capture")
            racine, precedent = _RACINES[parcours.table], None
            for oid, _tag, _valeur in parcours.lignes:
                if oid[:len(racine)] != racine or len(oid) == len(racine):
                    raise SortieIllisible(f"{where} : OID {oid_texte(oid)} hors de la table : réponse incohérente")
                if precedent is not None and oid <= precedent:
                    raise SortieIllisible(f"{where} : OID {oid_texte(oid)} après {oid_texte(precedent)} (l'OID recule "
                                          "ou ne croît pas) : réponse incohérente")
                precedent = oid
            self.par_cle[(parcours.table, parcours.vlan)] = parcours

    def ou(self, table: str, vlan: int | None = None) -> str:
        return f"équipement {self.equipement} : {nommer_table(table, vlan)}"

    def lignes(self, table: str, vlan: int | None = None) -> Iterator[tuple[tuple[int, ...], str, object]]:
        """(index after the table's OID, type tag, value) of each varbind; the table must have been walked."""
        parcours = self.par_cle.get((table, vlan))
        if parcours is None:
            raise SortieIllisible(f"{self.ou(table, vlan)} : absente de la capture (lecture coupée ?)")
        longueur = len(_RACINES[table])
        for oid, tag, valeur in parcours.lignes:
            yield oid[longueur:], tag, valeur

    def entier(self, table: str, vlan: int | None, index: tuple[int, ...], tag: str, valeur) -> int:
        if not isinstance(valeur, int) or tag in ("4", "6", "64", "68"):
            raise SortieIllisible(f"{self.ou(table, vlan)} : valeur non entière à l'index {oid_texte(index)}")
        return valeur

    def mac(self, table: str, vlan: int | None, octets, origine: str) -> str:
        """A MAC address from six octets (index arcs or an OCTET STRING); SortieIllisible otherwise."""
        if isinstance(octets, tuple):
            if any(arc > 255 for arc in octets):
                raise SortieIllisible(f"{self.ou(table, vlan)} : index {oid_texte(octets)} : ce n'est pas une MAC")
            octets = bytes(octets)
        if not isinstance(octets, bytes) or len(octets) != 6:
            longueur = len(octets) if isinstance(octets, (bytes, tuple)) else "?"
            raise SortieIllisible(f"{self.ou(table, vlan)} : MAC de longueur fausse ({longueur} octets au lieu de 6, "
                                  f"{origine})")
        return str(EUI(int.from_bytes(octets, "big"), version=48, dialect=mac_unix_expanded))


def observations_snmp(texte: str, equipement: str, source: str, vlan_par_defaut: int | None = None) -> list[Observation]:
    """Observations (MAC table, ARP and neighbours) from a capture-snmp-v1 text."""
    tables = _Tables(lire_capture(texte), equipement)
    noms = _noms_interfaces(tables)
    vlans_cisco = _vlans_cisco(tables)
    observations: list[Observation] = []
    if vlans_cisco:
        for vlan in vlans_cisco:
            observations += _fdb_bridge(tables, equipement, source, noms, vlan, vlan)
    else:
        observations += _fdb_q_bridge(tables, equipement, source, noms)
        if not observations:
            observations += _fdb_bridge(tables, equipement, source, noms, None, vlan_par_defaut)
    if not observations:
        # A switch sees at least its links: an empty table proves nothing (agent without BRIDGE-MIB, view too narrow).
        raise SortieIllisible(f"équipement {equipement} : tables MAC (BRIDGE-MIB, Q-BRIDGE-MIB) sans aucune adresse "
                              "d'appareil : table vide ou vue SNMP trop étroite ?")
    observations += _arp(tables, equipement, source, noms)
    return observations


def _texte(valeur) -> str:
    return valeur.decode("utf-8", errors="replace") if isinstance(valeur, bytes) else str(valeur)


def _noms_interfaces(tables: _Tables) -> dict[int, str]:
    """ifIndex -> ifName, else ifDescr."""
    noms: dict[int, str] = {}
    for table in ("ifDescr", "ifName"):  # ifName wins
        for index, _tag, valeur in tables.lignes(table):
            if len(index) != 1:
                raise SortieIllisible(f"{tables.ou(table)} : index {oid_texte(index)} illisible (ifIndex attendu)")
            if _texte(valeur).strip():
                noms[index[0]] = _texte(valeur)
    return noms


def _vlans_cisco(tables: _Tables) -> list[int]:
    return vlans_cisco(tables.par_cle.get(("vtpVlanState", None)), tables.equipement)


def vlans_cisco(parcours: Parcours | None, equipement: str) -> list[int]:
    """Operational VLANs that have a bridge context, from a walk of vtpVlanState (none on other vendors)."""
    tables = _Tables(CaptureSnmp(equipement, "", "", None, None, (parcours,) if parcours else ()), equipement)
    vlans = set()
    for index, tag, valeur in tables.lignes("vtpVlanState"):
        if len(index) != 2 or not 1 <= index[1] <= 4094:
            raise SortieIllisible(f"{tables.ou('vtpVlanState')} : index {oid_texte(index)} illisible")
        if tables.entier("vtpVlanState", None, index, tag, valeur) == 1 and index[1] not in VLANS_SANS_CONTEXTE:
            vlans.add(index[1])
    return sorted(vlans)


def _ports(tables: _Tables, vlan: int | None, noms: dict[int, str]) -> dict[int, str]:
    """Bridge port -> interface name (dot1dBasePortIfIndex, then ifName)."""
    ports = {}
    for index, tag, valeur in tables.lignes("dot1dBasePortIfIndex", vlan):
        if len(index) != 1:
            raise SortieIllisible(f"{tables.ou('dot1dBasePortIfIndex', vlan)} : index {oid_texte(index)} illisible")
        if_index = tables.entier("dot1dBasePortIfIndex", vlan, index, tag, valeur)
        ports[index[0]] = noms.get(if_index, f"ifIndex {if_index}")
    return ports


def _port(ports: dict[int, str], port: int | None) -> str | None:
    if not port:  # 0: the bridge knows the address but not its port
        return None
    return ports.get(port, f"port de pont {port}")


def _fdb_bridge(tables: _Tables, equipement: str, source: str, noms: dict[int, str], contexte: int | None,
                vlan: int | None) -> list[Observation]:
    """dot1dTpFdbTable (in a Cisco VLAN context, or the default one): Address .1, Port .2, Status .3."""
    table = "dot1dTpFdbTable"
    ports = _ports(tables, contexte, noms)
    entrees: dict[tuple[int, ...], dict[int, object]] = {}
    for index, tag, valeur in tables.lignes(table, contexte):
        if len(index) < 2 or index[0] != 1 or index[1] not in (1, 2, 3):
            continue  # a column this driver does not read
        if len(index) != 8:
            raise SortieIllisible(f"{tables.ou(table, contexte)} : MAC de longueur fausse dans l'index "
                                  f"{oid_texte(index[2:])} ({len(index) - 2} octets au lieu de 6)")
        colonne, cle = index[1], index[2:]
        entrees.setdefault(cle, {})[colonne] = (tag, valeur)
    observations = []
    for cle, colonnes in entrees.items():
        mac = tables.mac(table, contexte, cle, "index")
        if 1 in colonnes and tables.mac(table, contexte, colonnes[1][1], f"dot1dTpFdbAddress {mac}") != mac:
            raise SortieIllisible(f"{tables.ou(table, contexte)} : dot1dTpFdbAddress différente de l'index {mac}")
        statut = tables.entier(table, contexte, cle, *colonnes[3]) if 3 in colonnes else None
        if statut in _STATUTS_ECARTES or est_multicast(mac):
            continue
        port = tables.entier(table, contexte, cle, *colonnes[2]) if 2 in colonnes else None
        observations.append(Observation(mac=mac, source=source, equipement=equipement, vlan=vlan,
                                        port=_port(ports, port)))
    return observations


def _fdb_q_bridge(tables: _Tables, equipement: str, source: str, noms: dict[int, str]) -> list[Observation]:
    """dot1qTpFdbTable: index (FDB id, MAC), Port .2, Status .3; the VLAN from dot1qVlanFdbId."""
    table = "dot1qTpFdbTable"
    vlans_par_fdb: dict[int, set[int]] = {}
    for index, tag, valeur in tables.lignes("dot1qVlanFdbId"):
        if len(index) != 2 or not 1 <= index[1] <= 4094:
            raise SortieIllisible(f"{tables.ou('dot1qVlanFdbId')} : index {oid_texte(index)} illisible")
        vlans_par_fdb.setdefault(tables.entier("dot1qVlanFdbId", None, index, tag, valeur), set()).add(index[1])
    ports = _ports(tables, None, noms)
    entrees: dict[tuple[int, ...], dict[int, object]] = {}
    for index, tag, valeur in tables.lignes(table):
        if len(index) < 2 or index[0] != 1 or index[1] not in (2, 3):
            continue
        if len(index) != 9:
            raise SortieIllisible(f"{tables.ou(table)} : MAC de longueur fausse dans l'index {oid_texte(index[2:])} "
                                  f"({len(index) - 3} octets au lieu de 6 après l'identifiant de FDB)")
        entrees.setdefault(index[2:], {})[index[1]] = (tag, valeur)
    observations = []
    for cle, colonnes in entrees.items():
        fdb, mac = cle[0], tables.mac(table, None, cle[1:], "index")
        statut = tables.entier(table, None, cle, *colonnes[3]) if 3 in colonnes else None
        if statut in _STATUTS_ECARTES or est_multicast(mac):
            continue
        if vlans_par_fdb:
            vlans = vlans_par_fdb.get(fdb, set())
            vlan = next(iter(vlans)) if len(vlans) == 1 else None
        else:
            vlan = fdb if 1 <= fdb <= 4094 else None
        port = tables.entier(table, None, cle, *colonnes[2]) if 2 in colonnes else None
        observations.append(Observation(mac=mac, source=source, equipement=equipement, vlan=vlan,
                                        port=_port(ports, port)))
    return observations


def _vlan_interface(nom: str | None) -> int | None:
    if nom is None:
        return None
    match = _VLANIF.match(nom.strip())
    return int(match.group(1)) if match and 1 <= int(match.group(1)) <= 4094 else vlan_depuis_nom(nom)


def _arp(tables: _Tables, equipement: str, source: str, noms: dict[int, str]) -> list[Observation]:
    """ipNetToMediaTable (index ifIndex.a.b.c.d) and ipNetToPhysicalTable (ifIndex.type.longueur.adresse)."""
    lignes: dict[tuple[int, str], dict[int, object]] = {}
    for table, colonne_mac, colonne_type in (("ipNetToMediaTable", 2, 4), ("ipNetToPhysicalTable", 4, 6)):
        for index, tag, valeur in tables.lignes(table):
            if len(index) < 2 or index[0] != 1 or index[1] not in (colonne_mac, colonne_type):
                continue
            if_index, ip = _index_arp(tables, table, index[2:])
            if ip is None:
                continue  # an address family that is neither IPv4 nor IPv6 (DNS names...)
            cle = (if_index, ip)
            colonne = "mac" if index[1] == colonne_mac else "type"
            lignes.setdefault(cle, {}).setdefault(table, {})[colonne] = (tag, valeur)
    observations = []
    for (if_index, ip), par_table in lignes.items():
        for table, colonnes in par_table.items():
            if "type" in colonnes and tables.entier(table, None, (if_index,), *colonnes["type"]) == _ARP_INVALIDE:
                continue
            if "mac" not in colonnes or colonnes["mac"][1] == b"":
                continue  # incomplete entry: no link-layer address yet
            mac = tables.mac(table, None, colonnes["mac"][1], f"adresse physique de {ip}")
            if est_multicast(mac):
                continue
            interface = noms.get(if_index)
            observations.append(Observation(mac=mac, source=source, equipement=equipement, ip=ip,
                                            vlan=_vlan_interface(interface), port=interface))
            break  # the same neighbour in both tables: once
    return observations


def _index_arp(tables: _Tables, table: str, index: tuple[int, ...]) -> tuple[int, str | None]:
    """(ifIndex, IP address) of an ARP or neighbour row; SortieIllisible when the index cannot be one."""
    try:
        if table == "ipNetToMediaTable":
            if len(index) != 5:
                raise ValueError
            return index[0], str(IPAddress(".".join(map(str, index[1:])), 4))
        if_index, genre, longueur, adresse = index[0], index[1], index[2], index[3:]
        if len(adresse) != longueur or any(arc > 255 for arc in adresse):
            raise ValueError
        if genre == 1 and longueur == 4:  # InetAddressType ipv4(1), RFC 4001
            return if_index, str(IPAddress(int.from_bytes(bytes(adresse), "big"), 4))
        if genre == 2 and longueur == 16:  # ipv6(2)
            return if_index, str(IPAddress(int.from_bytes(bytes(adresse), "big"), 6))
        if genre in (1, 2):  # an IPv4 or IPv6 address of the wrong length
            raise ValueError
        return if_index, None  # with a zone (ipv4z, ipv6z) or a DNS name: not placed by its address
    except (AddrFormatError, ValueError, IndexError):
        raise SortieIllisible(f"{tables.ou(table)} : index {oid_texte(index)} illisible (ifIndex et adresse IP "
                              "attendus)") from None
