"""The one record type that flows between the audit's stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Observation:
    """One sighting of a MAC address by one source.

    Every driver (switch MAC table, ARP/neighbour table, DHCP leases, mDNS sensor)
    returns these, whatever the platform.
    """

    mac: str | None  # canonical aa:bb:cc:dd:ee:ff; None for an mDNS sighting known by IP only
    source: str  # "<equipment> : <command or file>"
    equipement: str
    ip: str | None = None
    vlan: int | None = None
    port: str | None = None
    nom_hote: str | None = None
    services_mdns: tuple[str, ...] = ()
    modele_mdns: str | None = None
    vu_le: datetime | None = None
    attributs: tuple[tuple[str, str], ...] = field(default=())
