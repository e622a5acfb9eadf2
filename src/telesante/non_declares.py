"""What equipment saw outside every declared network: the VLANs and address ranges of each
site to declare, and the sightings placed on no network at all."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from telesante.correlation import Correlation
from telesante.identification import Identification
from telesante.inerte import citer
from telesante.observation import Observation
from telesante.placement import CarteReseaux, Placement, est_ipv4


@dataclass(eq=False)  # compared by identity: one object per site and VLAN or range
class NonDeclare:
    """A VLAN or an address range of one site where devices were seen, that no declared
    network holds; or (vlan and sous_reseau both None) sightings with neither VLAN nor IP."""

    site: str
    vlan: int | None = None
    sous_reseau: str | None = None  # the IPv4 /24 (IPv6 /64) of the addresses seen
    appareils: set[str] = field(default_factory=set)
    equipements: set[str] = field(default_factory=set)
    interdits: set[str] = field(default_factory=set)  # devices of a forbidden category
    non_places: set[str] = field(default_factory=set)  # devices on no declared network at all

    @property
    def libelle(self) -> str:
        """« le VLAN 110 », « la plage 10.9.9.0/24 », « une table sans VLAN ni IP »."""
        if self.vlan is not None:
            return f"le VLAN {self.vlan}"
        if self.sous_reseau is not None:
            return f"la plage {self.sous_reseau}"
        return "des entrées sans VLAN ni IP"


@dataclass
class NonDeclares:
    """What equipment saw outside every declared network: the list for the reports, and,
    per equipment, the sightings that could be placed on no network at all (each one
    makes its equipment incomplete), with how to fix the inventory."""

    entrees: list[NonDeclare] = field(default_factory=list)
    problemes: dict[str, list[str]] = field(default_factory=dict)


class InterditHorsReseaux(NamedTuple):
    """A device of a forbidden category seen outside the declared networks of a site that
    has mission networks: its mission status is unknown until the admin declares them."""

    cle: str
    site: str
    identification: Identification
    message: str


# Where sightings were made: (equipment, VLAN, address range key, port, device on no
# network at all). The range key is the /24 prefix when that whole /24 is on the same
# declared networks (CarteReseaux.plage_uniforme), else the address, None without one.
_Lieu = tuple[str, int | None, str | None, str | None, bool]


class Releve:
    """Notes, device by device, the sightings of the devices with some sighting on no
    declared network, then sorts them into the NonDeclare entries of each site.

    A sighting only costs a key (where it was made) and a list append: what a place
    holds (its entries, uplink or not) is worked out once per place, at the end.
    """

    def __init__(self, correlation: Correlation, carte: CarteReseaux):
        self._carte = carte
        self._lieux = {nom: (e.site, e.ports_liaison) for nom, e in correlation.equipements.items()}
        self._vus: dict[_Lieu, tuple[list[str], Observation]] = {}  # devices seen there, the first sighting
        self._interdits: list[tuple[str, Identification, list[_Lieu]]] = []

    def noter(self, cle: str, observations: Sequence[Observation], placement: Placement,
              identification: Identification) -> None:
        """Note the sightings of one device whose placement has `manques`."""
        nowhere = not placement.reseaux
        plage = self._carte.plage_uniforme
        vus = self._vus
        lieux: list[_Lieu] = []
        last_ip = range_key = None  # the last address's range key: a device's sightings repeat it
        for obs in observations:
            ip = obs.ip
            if ip and ip != last_ip:
                last_ip, range_key = ip, plage(ip)
            lieu = (obs.equipement, obs.vlan, range_key if ip else None, obs.port, nowhere)
            lieux.append(lieu)
            seen = vus.get(lieu)
            if seen is None:
                vus[lieu] = ([cle], obs)
            else:
                seen[0].append(cle)
        categorie = identification.categorie
        if categorie is not None and categorie.interdite:
            self._interdits.append((cle, identification, lieux))

    def resultat(self) -> tuple[NonDeclares, list[InterditHorsReseaux]]:
        """The entries (per site: VLANs, then ranges, then sightings with neither), the
        problems of each equipment, and the devices of a forbidden category seen there."""
        entrees: dict[tuple[str, int | None, str | None], NonDeclare] = {}
        par_lieu: dict[_Lieu, tuple[NonDeclare, ...]] = {}
        # (equipment, entry) -> (devices placed on no network, the first such sighting)
        unplaced: dict[tuple[str, NonDeclare], tuple[set[str], Observation]] = {}
        for lieu, (devices, obs) in self._vus.items():  # in the order of their first sighting
            equipement, vlan, _range, port, nowhere = lieu
            site, uplinks = self._lieux.get(equipement, _NULLE_PART)
            found_all = par_lieu[lieu] = self._classer(entrees, site, vlan, obs.ip, nowhere)
            # A device behind an uplink is seen on its access port: an uplink sighting is
            # listed, but makes no equipment incomplete.
            placed_nowhere = nowhere and not (port is not None and port in uplinks)
            for found in found_all:
                found.equipements.add(equipement)
                found.appareils.update(devices)
                if placed_nowhere:
                    seen = unplaced.get((equipement, found))
                    if seen is None:
                        seen = unplaced[equipement, found] = (set(), obs)
                    seen[0].update(devices)
        mission_sites = {reseau.site for reseau in self._carte.reseaux if reseau.mission}
        interdits: list[InterditHorsReseaux] = []
        for cle, identification, lieux in self._interdits:
            own = dict.fromkeys(found for lieu in lieux for found in par_lieu[lieu])  # in order
            for found in own:
                found.interdits.add(cle)
            categorie = identification.categorie
            for site in dict.fromkeys(found.site for found in own):
                if site not in mission_sites:
                    continue
                remedies = " ; ".join(_remede(found) for found in own if found.site == site)
                interdits.append(InterditHorsReseaux(cle, site, identification, (
                    f"appareil grand public interdit ({identification.signature}, {categorie.libelle}) vu hors "
                    f"des réseaux déclarés du site « {site} », qui a des réseaux de mission : {remedies}")))
        problemes: dict[str, list[str]] = {}
        for (_equipement, found), (devices, _obs) in unplaced.items():
            found.non_places |= devices
        for (equipement, found), (devices, obs) in sorted(unplaced.items(), key=lambda i: (i[0][0], _ordre(i[0][1]))):
            problemes.setdefault(equipement, []).append(_probleme(found, len(devices), obs))
        return NonDeclares(sorted(entrees.values(), key=_ordre), problemes), interdits

    def _classer(self, entrees: dict[tuple[str, int | None, str | None], NonDeclare], site: str,
                 vlan: int | None, ip: str | None, nowhere: bool) -> tuple[NonDeclare, ...]:
        """The entries of a place: its undeclared VLAN, its undeclared range, or neither."""
        keys: list[tuple[str, int | None, str | None]] = []
        if vlan is not None and not self._carte.reseaux_de_vlan(site, vlan):
            keys.append((site, vlan, None))
        if ip and not self._carte.reseaux_d_ip(ip):
            keys.append((site, None, _plage(ip)))
        elif nowhere and vlan is None and not ip:
            keys.append((site, None, None))
        found = []
        for key in keys:
            entry = entrees.get(key)
            if entry is None:
                entry = entrees[key] = NonDeclare(*key)
            found.append(entry)
        return tuple(found)


_NULLE_PART: tuple[str, frozenset[str]] = ("", frozenset())  # site and uplinks of an unknown equipment


def _cite(texte: str) -> str:
    """A device-provided string quoted in a message: inert, cut to a reasonable length."""
    return citer(texte, 60)


def _plage(ip: str) -> str:
    """The /24 (IPv4) or /64 (IPv6) that holds an address, to group undeclared addresses;
    the text itself if it is no address."""
    if est_ipv4(ip):
        return ip.rpartition(".")[0] + ".0/24"
    try:
        address = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return _cite(ip)
    return str(ipaddress.ip_network(f"{address}/{24 if address.version == 4 else 64}", strict=False))


def _ordre(entree: NonDeclare) -> tuple:
    """Per site: VLANs by number, then address ranges, then sightings with neither."""
    return (entree.site, entree.vlan is None, entree.vlan or 0, entree.sous_reseau is None,
            entree.sous_reseau or "")


def _remede(entree: NonDeclare) -> str:
    if entree.vlan is None and entree.sous_reseau is None:
        return "vu sans VLAN ni IP, donnez à son équipement telesante_vlan_par_defaut"
    return f"{entree.libelle} est à déclarer dans telesante_reseaux (type mission ou hors_mission)"


def _probleme(entree: NonDeclare, devices: int, obs: Observation) -> str:
    """How to fix the inventory so that these sightings land on a declared network."""
    seen = f"{devices} appareil{'s' if devices > 1 else ''} sur aucun réseau déclaré"
    if entree.vlan is not None:
        example = _cite(f"port {obs.port}" if obs.port else f"source {obs.source}")
        return (f"{seen} : vus sur le VLAN {entree.vlan} (ex. {example}), qu'aucun réseau du site « {entree.site} » "
                f"ne déclare ; déclarez le VLAN {entree.vlan} dans telesante_reseaux (type mission ou hors_mission)")
    if entree.sous_reseau is not None:
        return (f"{seen} : vus à une adresse hors de tout sous-réseau déclaré (ex. {_cite(obs.ip or '')}, plage "
                f"{entree.sous_reseau}) ; déclarez son sous-réseau dans telesante_reseaux (type mission ou hors_mission)")
    example = _cite(f"port {obs.port}" if obs.port else f"source {obs.source}")
    return (f"{seen} : vus sans VLAN ni IP (ex. {example}) ; si cette table n'imprime pas de VLAN, "
            "donnez-le à l'équipement avec telesante_vlan_par_defaut")
