"""Policy: which devices on mission networks are findings, and how serious."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from telesante.correlation import Appareil, CarteReseaux, gc_paused
from telesante.identification import Identificateur, Identification
from telesante.mac import is_locally_administered
from telesante.modele import Autorise, Derogation, Reseau

CRITIQUE = "critique"
A_VERIFIER = "à vérifier"

CATEGORIE_INTERDITE = "categorie_interdite"
USURPATION_POSSIBLE = "usurpation_possible"
MAC_ALEATOIRE = "mac_aleatoire"
NON_AUTORISE = "non_autorise"

ACTIF = "actif"
LEVE = "levé par dérogation"


@dataclass(frozen=True)
class Constat:
    """A finding on one mission network, with its evidence."""

    gravite: str
    type: str
    message: str
    reseau: Reseau
    appareil: Appareil
    identification: Identification
    statut: str = ACTIF
    derogation: Derogation | None = None
    derogation_expiree: bool = False


def _finding(
    appareil: Appareil, identification: Identification, autorise: Autorise | None
) -> tuple[str, str, str] | None:
    """(severity, type, message) for a device on a mission network, or None if it belongs there."""
    categorie = identification.categorie
    if categorie is not None and categorie.interdite:
        what = f"{identification.signature} ({categorie.libelle})"
        if autorise is not None:
            return (CRITIQUE, USURPATION_POSSIBLE,
                    f"MAC déclarée autorisée (« {autorise.nom} ») mais l'appareil se présente comme {what}")
        return CRITIQUE, CATEGORIE_INTERDITE, f"appareil grand public interdit : {what}"
    if autorise is not None:
        return None
    if appareil.mac is None:
        return A_VERIFIER, NON_AUTORISE, "appareil annoncé en mDNS dont la MAC est inconnue"
    if is_locally_administered(appareil.mac):
        return A_VERIFIER, MAC_ALEATOIRE, "MAC aléatoire (administrée localement) : appareil impossible à identifier"
    known = f" ({identification.signature})" if identification.signature else ""
    return A_VERIFIER, NON_AUTORISE, f"appareil non autorisé{known}"


def evaluer(
    appareils: dict[str, Appareil],
    carte: CarteReseaux,
    identificateur: Identificateur,
    autorises: dict[str, Autorise],
    derogations: dict[str, Derogation],
    aujourd_hui: date,
) -> tuple[list[Constat], dict[str, int]]:
    """Findings for every device seen on a mission network, and device counts per network."""
    with gc_paused():  # hundreds of thousands of findings and identifications: no cycles among them
        return _evaluer(appareils, carte, identificateur, autorises, derogations, aujourd_hui)


def _evaluer(
    appareils: dict[str, Appareil],
    carte: CarteReseaux,
    identificateur: Identificateur,
    autorises: dict[str, Autorise],
    derogations: dict[str, Derogation],
    aujourd_hui: date,
) -> tuple[list[Constat], dict[str, int]]:
    constats: list[Constat] = []
    counts: dict[str, int] = {}
    for appareil in appareils.values():
        reseaux = carte.reseaux_de(appareil)
        if not reseaux:
            continue
        for reseau in reseaux:
            counts[reseau.nom] = counts.get(reseau.nom, 0) + 1
        mission = [r for r in reseaux if r.mission]
        if not mission:
            continue  # off-mission networks (patients, guests): consumer devices are allowed there
        identification = identificateur.identifier(appareil.mac, appareil.noms_hote, appareil.mdns)
        finding = _finding(appareil, identification, autorises.get(appareil.mac or ""))
        if finding is None:
            continue
        gravite, type_, message = finding
        derogation = derogations.get(appareil.mac or "")
        statut, expired = ACTIF, False
        if derogation is not None:
            if aujourd_hui <= derogation.expiration:
                statut = LEVE
            else:
                expired = True
                message += f" ; dérogation expirée le {derogation.expiration.isoformat()} ({derogation.justification})"
        for reseau in mission:
            constats.append(Constat(gravite, type_, message, reseau, appareil, identification, statut,
                                    derogation, expired))
    return constats, counts
