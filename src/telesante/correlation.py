"""Correlation: observations from every source grouped into devices (one MAC, or one IP for an mDNS sighting)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from telesante.configuration import Equipement
from telesante.observation import Observation
from telesante.ramasse_miettes import gc_paused


@dataclass(slots=True)
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


@dataclass(frozen=True)
class Correlation:
    """Observations grouped by device: key = MAC, or "ip:<address>" for an mDNS sighting
    whose MAC is unknown. Full evidence (`Appareil`) is built only where it is reported."""

    groupes: dict[str, list[Observation]]
    equipements: dict[str, Equipement]

    def __len__(self) -> int:
        return len(self.groupes)

    def appareil(self, cle: str) -> Appareil:
        """Everything known of one device, merged from all its observations."""
        # Gathered in local sets, the device built once at the end (no attribute per addition).
        ips: set[str] = set()
        vlans: set[tuple[str, int]] = set()
        emplacements: set[tuple[str, str, int | None]] = set()
        noms: set[str] = set()
        mdns: set[tuple[str, str | None]] = set()
        sources: set[str] = set()
        vu_le = None
        equipements = self.equipements
        for obs in self.groupes[cle]:
            sources.add(obs.source)
            if obs.ip:
                ips.add(obs.ip)
            vlan, port = obs.vlan, obs.port
            equipement = equipements.get(obs.equipement)
            if vlan is not None and equipement is not None:
                vlans.add((equipement.site, vlan))
            if port and (equipement is None or port not in equipement.ports_liaison):
                emplacements.add((obs.equipement, port, vlan))
            if obs.nom_hote:
                noms.add(obs.nom_hote)
            for service in obs.services_mdns:
                mdns.add((service, obs.modele_mdns))
            if obs.vu_le is not None and (vu_le is None or obs.vu_le > vu_le):
                vu_le = obs.vu_le
        return Appareil(cle, None if cle.startswith("ip:") else cle, ips, vlans, emplacements, noms, mdns, sources,
                        vu_le)


def correler(observations: Iterable[Observation], equipements: dict[str, Equipement]) -> Correlation:
    """Group observations by device (MAC); mDNS sightings join a device by IP when possible."""
    observations = observations if isinstance(observations, (list, tuple)) else list(observations)
    with gc_paused():  # one list per device, hundreds of thousands of them: no cycles among them
        # One lookup per observation; sightings without MAC gather under None.
        groups: dict[str | None, list[Observation]] = {}
        for obs in observations:
            mac = obs.mac
            group = groups.get(mac)
            if group is None:
                groups[mac] = [obs]
            else:
                group.append(obs)
        without_mac = groups.pop(None, ())
        if without_mac:
            # The MAC behind each address that a sighting without MAC gives (the last one
            # seen wins). Only these addresses are indexed: indexing every address of every
            # observation cost as much as the grouping itself.
            wanted = {obs.ip for obs in without_mac if obs.ip}
            mac_of_ip: dict[str, str] = {}
            for obs in observations:
                if obs.ip in wanted and obs.mac is not None:
                    mac_of_ip[obs.ip] = obs.mac
            for obs in without_mac:
                groups.setdefault(mac_of_ip.get(obs.ip or "", f"ip:{obs.ip}"), []).append(obs)
    return Correlation(groups, equipements)
