"""Placement: the declared networks a device is on, found by its addresses and by the VLANs where it was seen."""

from __future__ import annotations

import bisect
import ipaddress
import re
import socket
from collections.abc import Iterable

from telesante.configuration import Reseau
from telesante.observation import Observation


# A dotted-quad IPv4 address exactly as ipaddress accepts one: ASCII digits, 0-255,
# no leading zero. Anything else (IPv6, typos) goes through ipaddress itself.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_IPV4_PREFIX_24 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}")
_LAST_OCTETS = frozenset(str(n) for n in range(256))
_STRADDLES = object()  # marker: this /24 is not in a single interval (or is no IPv4 prefix)


def est_ipv4(ip: str) -> bool:
    """True for a dotted-quad IPv4 address as ipaddress accepts one."""
    return _IPV4.fullmatch(ip) is not None


def _parse_ip(ip: str) -> tuple[int, int] | None:
    """(version, integer value) of an address, as ipaddress.ip_address reads it; None if invalid."""
    if "%" in ip:
        ip = ip.split("%", 1)[0]
    if _IPV4.fullmatch(ip):
        return 4, int.from_bytes(socket.inet_aton(ip), "big")  # fast path, same value
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    return address.version, int(address)


class Placement:
    """The declared networks a device is on, and those of them that are mission networks.

    Interned by CarteReseaux (one object per distinct set of networks), so that the hot
    path compares placements by identity and counts devices per placement. `manques` is
    true when some sighting of the device fell on no declared network (an undeclared VLAN
    or address), or when the device is on none at all: only those devices are looked at
    again, sighting by sighting, to list what was seen but not declared.
    """

    __slots__ = ("reseaux", "mission", "manques")

    def __init__(self, reseaux: tuple[Reseau, ...], manques: bool = False):
        self.reseaux = reseaux
        self.mission = tuple(reseau for reseau in reseaux if reseau.mission)
        self.manques = manques or not reseaux


class CarteReseaux:
    """Finds the declared networks an IP or a (site, VLAN) belongs to."""

    def __init__(self, reseaux: list[Reseau]):
        self.reseaux = tuple(reseaux)
        self._interned: dict[tuple[str, ...], Placement] = {}
        self._with_misses: dict[Placement, Placement] = {}  # same networks, some sightings on none
        self.aucun = self._intern(())  # no declared network
        # The declaration index breaks ties: two networks may share a subnet (same CIDR),
        # and Reseau objects are not ordered.
        ranges = [
            (first, last, version, reseau)
            for first, last, version, _index, reseau in sorted(
                ((int(net.first), int(net.last), net.version, index, reseau)
                 for index, reseau in enumerate(reseaux)
                 for net in reseau.sous_reseaux),
                key=lambda r: r[:4],
            )
        ]
        # Per IP version, the range boundaries cut the address space into intervals that
        # each lie in a fixed set of subnets: their networks are computed once, innermost
        # (last in sort order) first, so a lookup is a single bisection.
        self._intervals: dict[int, tuple[list[int], list[Placement]]] = {}
        for version in {r[2] for r in ranges}:
            own = [r for r in ranges if r[2] == version]
            bounds = sorted({r[0] for r in own} | {r[1] + 1 for r in own})
            self._intervals[version] = (
                bounds,
                [self._intern(tuple(reseau for first, last, _, reseau in reversed(own) if first <= start <= last))
                 for start in bounds],
            )
        # Networks of the IPv4 /24 prefixes seen so far ("10.20.5" -> placement), when the
        # whole /24 lies in one interval: most addresses then need no parsing at all.
        self._by_prefix_24: dict[str, Placement | object] = {}
        by_vlan: dict[tuple[str, int], list[Reseau]] = {}
        for reseau in reseaux:
            for vlan in reseau.vlans:
                by_vlan.setdefault((reseau.site, vlan), []).append(reseau)
        self._by_vlan = {key: self._intern(tuple(networks)) for key, networks in by_vlan.items()}
        # Networks of a sighting in a VLAN, per equipment then VLAN (two lookups cost less
        # than building and hashing a key tuple), filled as sightings come.
        self._by_sighting: dict[str, dict[int, Placement]] = {}

    def _intern(self, reseaux: tuple[Reseau, ...]) -> Placement:
        key = tuple(reseau.nom for reseau in reseaux)
        placement = self._interned.get(key)
        if placement is None:
            placement = self._interned[key] = Placement(reseaux)
        return placement

    def _with_missed_sightings(self, placement: Placement) -> Placement:
        variant = self._with_misses.get(placement)
        if variant is None:
            variant = self._with_misses[placement] = Placement(placement.reseaux, manques=True)
        return variant

    def reseaux_de_vlan(self, site: str | None, vlan: int) -> tuple[Reseau, ...]:
        """Declared networks of this VLAN on this site."""
        placement = self._by_vlan.get((site, vlan))
        return placement.reseaux if placement is not None else ()

    def reseaux_d_ip(self, ip: str) -> tuple[Reseau, ...]:
        """Declared networks whose subnets hold this address (none for an invalid one)."""
        return self._networks_of_ip(ip).reseaux

    def plage_uniforme(self, ip: str) -> str:
        """The /24 prefix of an IPv4 address when every address of that /24 is on the same
        declared networks (a key shared by the whole range), else the address itself."""
        prefix, _, last = ip.rpartition(".")
        if last in _LAST_OCTETS and self._networks_of_24(prefix) is not _STRADDLES:
            return prefix
        return ip

    def _networks_of_24(self, prefix: str) -> Placement | object:
        """The networks of a /24 (cached), or _STRADDLES when its addresses differ or it is no IPv4 prefix."""
        networks = self._by_prefix_24.get(prefix)
        if networks is None:
            networks = self._by_prefix_24[prefix] = self._networks_of_prefix_24(prefix)
        return networks

    def _networks_of_ip(self, ip: str) -> Placement:
        prefix, _, last = ip.rpartition(".")
        if last in _LAST_OCTETS:  # looks like a dotted-quad IPv4 address: try its /24 first
            networks = self._networks_of_24(prefix)
            if networks is not _STRADDLES:
                return networks
        parsed = _parse_ip(ip)
        if parsed is None:
            return self.aucun
        bounds, networks = self._intervals.get(parsed[0], ([], []))
        index = bisect.bisect_right(bounds, parsed[1]) - 1
        return networks[index] if index >= 0 else self.aucun

    def _networks_of_prefix_24(self, prefix: str) -> Placement | object:
        """Networks of every address from prefix.0 to prefix.255, or _STRADDLES if they differ."""
        if not _IPV4_PREFIX_24.fullmatch(prefix):
            return _STRADDLES
        first = int.from_bytes(socket.inet_aton(prefix + ".0"), "big")
        bounds, networks = self._intervals.get(4, ([], []))
        index = bisect.bisect_right(bounds, first) - 1
        if bisect.bisect_right(bounds, first + 255) - 1 != index:
            return _STRADDLES
        return networks[index] if index >= 0 else self.aucun

    def placer(self, observations: Iterable[Observation], sites: dict[str, str]) -> Placement:
        """Every declared network where a device was seen (see placer_tous)."""
        return self.placer_tous((observations,), sites)[0]

    def placer_tous(self, appareils: Iterable[Iterable[Observation]], sites: dict[str, str]) -> list[Placement]:
        """For each device (its observations), every declared network where it was seen:
        by its IPs, and by the VLANs in which equipment (whose site is given by `sites`)
        saw it; `manques` set when a sighting's VLAN or address is on no declared network,
        or when none was found."""
        # The hot path of the audit (once per device, all devices in one call: the set-up
        # is paid once): lookups are inlined and return interned placements; a device's
        # sightings usually all give the same one, so a sighting costs one comparison, and
        # merging (where a miss, `none`, is noticed among hits) is only needed when they differ.
        none = self.aucun
        by_prefix = self._by_prefix_24
        by_sighting = self._by_sighting
        by_vlan_of_site = self._by_vlan
        networks_of_ip = self._networks_of_ip
        placements: list[Placement] = []
        append = placements.append
        for observations in appareils:
            first = None  # the placement of the first sighting with a VLAN or an IP, `none` included
            others: list[Placement] | None = None  # those of later sightings, when they differ (rarely)
            last_ip = ip_networks = None  # the last address looked up: a device's sightings repeat it (ARP, DHCP)
            for obs in observations:
                ip = obs.ip
                if ip:
                    if ip != last_ip:
                        last_ip = ip
                        # A subscript costs less than a call to get(); a /24 is missing once.
                        prefix, _, last = ip.rpartition(".")
                        try:
                            ip_networks = by_prefix[prefix]
                        except KeyError:
                            ip_networks = _STRADDLES
                        if ip_networks is _STRADDLES or last not in _LAST_OCTETS:
                            ip_networks = networks_of_ip(ip)
                    if ip_networks is not first:
                        if first is None:
                            first = ip_networks
                        elif others is None:
                            others = [ip_networks]
                        else:
                            others.append(ip_networks)
                vlan = obs.vlan
                if vlan is not None:
                    try:
                        networks = by_sighting[obs.equipement][vlan]
                    except KeyError:  # first sighting in this VLAN by this equipment
                        networks = by_sighting.setdefault(obs.equipement, {})[vlan] = by_vlan_of_site.get(
                            (sites.get(obs.equipement), vlan), none)
                    if networks is not first:
                        if first is None:
                            first = networks
                        elif others is None:
                            others = [networks]
                        else:
                            others.append(networks)
            if others is None:
                append(none if first is None else first)  # `none` when every sighting missed: its `manques` is set
            else:
                append(self._merged(first, others))
        return placements

    def _merged(self, first: Placement, others: list[Placement]) -> Placement:
        """The placement of a device whose sightings gave several placements."""
        found = {reseau.nom: reseau for reseau in first.reseaux}
        for networks in others:
            for reseau in networks.reseaux:
                found.setdefault(reseau.nom, reseau)
        placement = self._intern(tuple(found.values()))
        if first is self.aucun or self.aucun in others:
            return self._with_missed_sightings(placement)
        return placement
