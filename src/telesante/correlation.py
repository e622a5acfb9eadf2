"""Correlation: observations from every source merged into devices, placed on networks."""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from telesante.modele import Equipement, Reseau
from telesante.observation import Observation


@dataclass
class Appareil:
    """Everything known of one device (one MAC, or one IP for an mDNS-only sighting)."""

    cle: str
    mac: str | None
    ips: set[str] = field(default_factory=set)
    vlans: set[tuple[str, int]] = field(default_factory=set)  # (site, VLAN)
    emplacements: set[tuple[str, str, int | None]] = field(default_factory=set)  # (equipment, port, VLAN)
    noms_hote: set[str] = field(default_factory=set)
    mdns: set[tuple[str, str | None]] = field(default_factory=set)  # (service, model)
    sources: set[str] = field(default_factory=set)
    vu_le: datetime | None = None


class CarteReseaux:
    """Finds the declared networks an IP or a (site, VLAN) belongs to."""

    def __init__(self, reseaux: list[Reseau]):
        ranges = sorted(
            (int(net.first), int(net.last), net.version, reseau)
            for reseau in reseaux
            for net in reseau.sous_reseaux
        )
        self._starts = [r[0] for r in ranges]
        self._ranges = ranges
        self._by_vlan: dict[tuple[str, int], list[Reseau]] = {}
        for reseau in reseaux:
            for vlan in reseau.vlans:
                self._by_vlan.setdefault((reseau.site, vlan), []).append(reseau)

    def par_ip(self, ip: str) -> list[Reseau]:
        """Networks whose subnets hold this address (declared subnets may nest)."""
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return []
        value = int(address)
        found = []
        index = bisect.bisect_right(self._starts, value)
        for first, last, version, reseau in reversed(self._ranges[:index]):
            if version == address.version and first <= value <= last:
                found.append(reseau)
        return found

    def par_vlan(self, site: str, vlan: int) -> list[Reseau]:
        return self._by_vlan.get((site, vlan), [])

    def reseaux_de(self, appareil: Appareil) -> list[Reseau]:
        """Every declared network where this device was seen, in declaration order."""
        found: dict[str, Reseau] = {}
        for ip in appareil.ips:
            for reseau in self.par_ip(ip):
                found.setdefault(reseau.nom, reseau)
        for site, vlan in appareil.vlans:
            for reseau in self.par_vlan(site, vlan):
                found.setdefault(reseau.nom, reseau)
        return list(found.values())


def correler(observations: Iterable[Observation], equipements: dict[str, Equipement]) -> dict[str, Appareil]:
    """Merge observations into devices keyed by MAC; mDNS sightings join by IP when possible."""
    appareils: dict[str, Appareil] = {}
    by_ip: dict[str, str] = {}
    without_mac: list[Observation] = []
    for obs in observations:
        if obs.mac is None:
            without_mac.append(obs)
            continue
        appareil = appareils.get(obs.mac)
        if appareil is None:
            appareil = appareils[obs.mac] = Appareil(obs.mac, obs.mac)
        _ajouter(appareil, obs, equipements.get(obs.equipement))
        if obs.ip:
            by_ip[obs.ip] = obs.mac
    for obs in without_mac:
        key = by_ip.get(obs.ip or "", f"ip:{obs.ip}")
        appareil = appareils.get(key)
        if appareil is None:
            appareil = appareils[key] = Appareil(key, None)
        _ajouter(appareil, obs, equipements.get(obs.equipement))
    return appareils


def _ajouter(appareil: Appareil, obs: Observation, equipement: Equipement | None) -> None:
    appareil.sources.add(obs.source)
    if obs.ip:
        appareil.ips.add(obs.ip)
    if obs.vlan is not None and equipement is not None:
        appareil.vlans.add((equipement.site, obs.vlan))
    if obs.port and (equipement is None or obs.port not in equipement.ports_liaison):
        appareil.emplacements.add((obs.equipement, obs.port, obs.vlan))
    if obs.nom_hote:
        appareil.noms_hote.add(obs.nom_hote)
    for service in obs.services_mdns:
        appareil.mdns.add((service, obs.modele_mdns))
    if obs.vu_le is not None and (appareil.vu_le is None or obs.vu_le > appareil.vu_le):
        appareil.vu_le = obs.vu_le
