"""Policy: which devices on mission networks are findings, and how serious."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from telesante.correlation import Appareil, Correlation
from telesante.placement import CarteReseaux, Placement, est_ipv4
from telesante.ramasse_miettes import gc_paused
from telesante.identification import Identificateur, Identification
from telesante.inerte import citer
from telesante.mac import est_administree_localement
from telesante.configuration import Autorise, Derogation, Reseau
from telesante.observation import Observation

CRITIQUE = "critique"
A_VERIFIER = "à vérifier"

CATEGORIE_INTERDITE = "categorie_interdite"
USURPATION_POSSIBLE = "usurpation_possible"
MAC_ALEATOIRE = "mac_aleatoire"
NON_AUTORISE = "non_autorise"
RESEAU_NON_DECLARE = "reseau_non_declare"

# The network of a finding about a device seen only outside every declared network of a
# site (one per site): not a network of the inventory, it has neither subnet nor VLAN.
HORS_RESEAUX = "hors des réseaux déclarés"

ACTIF = "actif"
LEVE = "levé par dérogation"


class Constat(NamedTuple):
    """A finding on one mission network, with its evidence (immutable; a named tuple,
    cheap to create by the tens of thousands)."""

    gravite: str
    type: str
    message: str
    reseau: Reseau
    appareil: Appareil
    identification: Identification
    statut: str = ACTIF
    derogation: Derogation | None = None
    derogation_expiree: bool = False


def _finding(mac: str | None, identification: Identification, autorise: Autorise | None) -> tuple[str, str, str]:
    """(severity, type, message) for a device on a mission network that does not belong there:
    not authorized, or authorized but presenting itself as a forbidden device."""
    categorie = identification.categorie
    if categorie is not None and categorie.interdite:
        what = f"{identification.signature} ({categorie.libelle})"
        if autorise is not None:
            return (CRITIQUE, USURPATION_POSSIBLE,
                    f"MAC déclarée autorisée (« {autorise.nom} ») mais l'appareil se présente comme {what}")
        return CRITIQUE, CATEGORIE_INTERDITE, f"appareil grand public interdit : {what}"
    if mac is None:
        return A_VERIFIER, NON_AUTORISE, "appareil annoncé en mDNS dont la MAC est inconnue"
    if est_administree_localement(mac):
        return A_VERIFIER, MAC_ALEATOIRE, "MAC aléatoire (administrée localement) : appareil impossible à identifier"
    known = f" ({identification.signature})" if identification.signature else ""
    return A_VERIFIER, NON_AUTORISE, f"appareil non autorisé{known}"


def evaluer(
    correlation: Correlation,
    carte: CarteReseaux,
    identificateur: Identificateur,
    autorises: dict[str, Autorise],
    derogations: dict[str, Derogation],
    aujourd_hui: date,
) -> tuple[list[Constat], dict[str, int], NonDeclares]:
    """Findings for every device seen on a mission network, device counts per network, and
    what was seen on no declared network (VLANs, address ranges, sightings with neither)."""
    with gc_paused():  # hundreds of thousands of identifications: no cycles among them
        constats: list[Constat] = []
        devices: dict[Placement, int] = {}  # devices per distinct placement
        sites = {name: equipement.site for name, equipement in correlation.equipements.items()}
        placer = carte.placer
        # devices with a sighting on no declared network, with their identification if it is known
        suspects: list[tuple[str, Placement, Identification | None]] = []
        for cle, observations in correlation.groupes.items():
            placement = placer(observations, sites)
            devices[placement] = devices.get(placement, 0) + 1
            mission = placement.mission
            if not mission:
                if placement.manques:
                    suspects.append((cle, placement, None))
                continue  # off-mission networks (patients, guests): consumer devices are allowed there
            mac = None if cle.startswith("ip:") else cle
            noms, mdns = _noms_et_mdns(observations)
            identification = identificateur.identifier(mac, noms, mdns)
            if placement.manques:
                suspects.append((cle, placement, identification))
            autorise = autorises.get(cle)
            categorie = identification.categorie
            if autorise is not None and (categorie is None or not categorie.interdite):
                continue  # authorized, and not presenting itself as a forbidden device
            gravite, type_, message = _finding(mac, identification, autorise)
            statut, derogation, expired, message = _derogation(derogations.get(cle), aujourd_hui, message)
            appareil = correlation.appareil(cle)  # the evidence, built only for what is reported
            for reseau in mission:
                constats.append(Constat(gravite, type_, message, reseau, appareil, identification, statut,
                                        derogation, expired))
        counts: dict[str, int] = {}
        for placement, number in devices.items():
            for reseau in placement.reseaux:
                counts[reseau.nom] = counts.get(reseau.nom, 0) + number
        non_declares = _non_declares(correlation, carte, suspects, identificateur, derogations, aujourd_hui,
                                     constats)
    return constats, counts, non_declares


def _derogation(derogation: Derogation | None, aujourd_hui: date,
                message: str) -> tuple[str, Derogation | None, bool, str]:
    """(status, waiver, expired, message) of a finding on a MAC that may have a waiver."""
    if derogation is None:
        return ACTIF, None, False, message
    if aujourd_hui <= derogation.expiration:
        return LEVE, derogation, False, message
    return (ACTIF, derogation, True,
            message + f" ; dérogation expirée le {derogation.expiration.isoformat()} ({derogation.justification})")


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


def _non_declares(correlation: Correlation, carte: CarteReseaux,
                  suspects: list[tuple[str, Placement, Identification | None]],
                  identificateur: Identificateur, derogations: dict[str, Derogation], aujourd_hui: date,
                  constats: list[Constat]) -> NonDeclares:
    """Look again, sighting by sighting, at the devices with a sighting on no declared network.

    Appends to `constats` one finding *à vérifier* per device of a forbidden category seen
    outside the declared networks of a site that has mission networks (its mission status
    is unknown until the admin declares that VLAN or range).
    """
    mission_sites = {reseau.site for reseau in carte.reseaux if reseau.mission}
    lieux = {nom: (e.site, e.ports_liaison) for nom, e in correlation.equipements.items()}
    entrees: dict[tuple[str, int | None, str | None], NonDeclare] = {}
    # (equipment, entry) -> (devices placed on no network, the first such sighting)
    unplaced: dict[tuple[str, NonDeclare], tuple[set[str], Observation]] = {}

    def entry(key: tuple[str, int | None, str | None]) -> NonDeclare:
        found = entrees.get(key)
        if found is None:
            found = entrees[key] = NonDeclare(*key)
        return found

    def classer(equipement: str, site: str, vlan: int | None, ip: str | None, nowhere: bool) -> tuple[NonDeclare, ...]:
        """The entries of one sighting: its undeclared VLAN, its undeclared range, or neither."""
        found: list[NonDeclare] = []
        if vlan is not None and not carte.reseaux_de_vlan(site, vlan):
            found.append(entry((site, vlan, None)))
        if ip and not carte.reseaux_d_ip(ip):
            found.append(entry((site, None, _plage(ip))))
        elif nowhere and vlan is None and not ip:
            found.append(entry((site, None, None)))
        for item in found:
            item.equipements.add(equipement)
        return tuple(found)

    # The entries of a sighting depend on its equipment, VLAN and address range only: they
    # are computed once per (equipment, VLAN, /24 that lies in one interval, no network).
    par_lieu: dict[tuple, tuple[NonDeclare, ...]] = {}
    for cle, placement, identification in suspects:
        nowhere = not placement.reseaux
        own: dict[NonDeclare, None] = {}  # this device's entries, in order
        for obs in correlation.groupes[cle]:
            equipement, vlan, ip = obs.equipement, obs.vlan, obs.ip
            site, uplinks = lieux.get(equipement, _NULLE_PART)
            key = (equipement, vlan, carte.plage_uniforme(ip) if ip else ip, nowhere)
            found_all = par_lieu.get(key)
            if found_all is None:
                found_all = par_lieu[key] = classer(equipement, site, vlan, ip, nowhere)
            if not found_all:
                continue
            # A device behind an uplink is seen on its access port: an uplink sighting is
            # listed, but makes no equipment incomplete.
            placed_nowhere = nowhere and not (obs.port is not None and obs.port in uplinks)
            for found in found_all:
                found.appareils.add(cle)
                own[found] = None
                if placed_nowhere:
                    seen = unplaced.get((equipement, found))
                    if seen is None:
                        seen = unplaced[equipement, found] = (set(), obs)
                    seen[0].add(cle)
        if not own:
            continue
        if identification is None:  # not identified yet: the device has no sighting on a mission network
            mac = None if cle.startswith("ip:") else cle
            noms, mdns = _noms_et_mdns(correlation.groupes[cle])
            identification = identificateur.identifier(mac, noms, mdns)
        categorie = identification.categorie
        if categorie is None or not categorie.interdite:
            continue
        for found in own:
            found.interdits.add(cle)
        for site in dict.fromkeys(found.site for found in own):
            if site not in mission_sites:
                continue
            remedies = " ; ".join(_remede(found) for found in own if found.site == site)
            message = (f"appareil grand public interdit ({identification.signature}, {categorie.libelle}) vu hors "
                       f"des réseaux déclarés du site « {site} », qui a des réseaux de mission : {remedies}")
            statut, derogation, expired, message = _derogation(derogations.get(cle), aujourd_hui, message)
            constats.append(Constat(A_VERIFIER, RESEAU_NON_DECLARE, message, _hors_reseaux(site),
                                    correlation.appareil(cle), identification, statut, derogation, expired))
    problemes: dict[str, list[str]] = {}
    for (_equipement, found), (devices, _obs) in unplaced.items():
        found.non_places |= devices
    for (equipement, found), (devices, obs) in sorted(unplaced.items(), key=lambda i: (i[0][0], _ordre(i[0][1]))):
        problemes.setdefault(equipement, []).append(_probleme(found, len(devices), obs))
    return NonDeclares(sorted(entrees.values(), key=_ordre), problemes)


_NULLE_PART: tuple[str, frozenset[str]] = ("", frozenset())  # site and uplinks of an unknown equipment


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


def _hors_reseaux(site: str) -> Reseau:
    """The pseudo-network of the findings outside the declared networks of a site."""
    return Reseau(HORS_RESEAUX, site, False, (), frozenset())


def _noms_et_mdns(observations: list[Observation]) -> tuple[set[str], set[tuple[str, str | None]]]:
    """Host names and mDNS (service, model) pairs of a device; empty sets are shared, not built."""
    noms = mdns = _EMPTY
    for obs in observations:
        if obs.nom_hote:
            if noms is _EMPTY:
                noms = set()
            noms.add(obs.nom_hote)
        if obs.services_mdns:
            if mdns is _EMPTY:
                mdns = set()
            mdns.update((service, obs.modele_mdns) for service in obs.services_mdns)
    return noms, mdns


_EMPTY: frozenset = frozenset()
