"""Policy: which devices on mission networks are findings, and how serious."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import NamedTuple

from telesante.correlation import Appareil, Correlation
from telesante.placement import CarteReseaux
from telesante.ramasse_miettes import gc_paused
from telesante.identification import Identificateur, Identification
from telesante.mac import est_administree_localement
from telesante.configuration import Autorise, Derogation, Reseau
from telesante.non_declares import NonDeclare, NonDeclares, Releve  # NonDeclare: imported from here by the reports

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

_EMPTY: frozenset = frozenset()  # the host names or mDNS pairs of a device that has none


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
        sites = {name: equipement.site for name, equipement in correlation.equipements.items()}
        releve = Releve(correlation, carte)  # devices with a sighting on no declared network
        groupes = correlation.groupes
        placements = carte.placer_tous(groupes.values(), sites)
        # Keys, values and placements zipped: no (key, value) pair is built per device.
        for cle, observations, placement in zip(groupes, groupes.values(), placements):
            mission = placement.mission
            if not mission and not placement.manques:
                continue  # off-mission networks (patients, guests): consumer devices are allowed there
            mac = None if cle[0] == "i" else cle  # "ip:<address>"; a canonical MAC begins with a hex digit
            # Host names and mDNS (service, model) pairs of the device, gathered here (a call
            # per device cost 2 % of the whole path); empty sets are shared, not built.
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
            identification = identificateur.identifier(mac, noms, mdns)
            if placement.manques:  # some sighting on no declared network
                releve.noter(cle, observations, placement, identification)
                if not mission:
                    continue
            autorise = autorises.get(cle)
            categorie = identification.categorie
            if autorise is not None and (categorie is None or not categorie.interdite):
                continue  # authorized, and not presenting itself as a forbidden device
            gravite, type_, message = _finding(mac, identification, autorise)
            statut, derogation, expired, message = _derogation(derogations.get(cle), aujourd_hui, message)
            appareil = correlation.appareil(cle)  # the evidence, built only for what is reported
            for reseau in mission:  # tuple.__new__ with every field: see Identificateur._oui
                constats.append(tuple.__new__(Constat, (gravite, type_, message, reseau, appareil, identification,
                                                        statut, derogation, expired)))
        counts: dict[str, int] = {}
        for placement, number in Counter(placements).items():  # devices per distinct placement
            for reseau in placement.reseaux:
                counts[reseau.nom] = counts.get(reseau.nom, 0) + number
        non_declares, interdits = releve.resultat()
        for cle, site, identification, message in interdits:
            statut, derogation, expired, message = _derogation(derogations.get(cle), aujourd_hui, message)
            constats.append(Constat(A_VERIFIER, RESEAU_NON_DECLARE, message, _hors_reseaux(site),
                                    correlation.appareil(cle), identification, statut, derogation, expired))
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


def _hors_reseaux(site: str) -> Reseau:
    """The pseudo-network of the findings outside the declared networks of a site."""
    return Reseau(HORS_RESEAUX, site, False, (), frozenset())

