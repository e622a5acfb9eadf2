"""Isolation policy (bulletin 13): is each mission network out of reach from its site's off-mission networks?

For every pair (off-mission network -> mission network) of a site, the probes placed in the
off-mission network say: « séparé » (a whole, fresh run reached nothing), « non séparé » (a
mission address answered: a critical finding with its evidence) or « non vérifié » (no probe
there, or its run is incomplete, stale or unreadable: the collection already made it incomplete).
"""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from netaddr import IPAddress, AddrFormatError

from telesante.configuration import DerogationIsolement, Reseau

CRITIQUE = "critique"
RESEAUX_NON_SEPARES = "reseaux_non_separes"
ACTIF = "actif"
LEVE = "levé par dérogation"

SEPARE, NON_SEPARE, NON_VERIFIE = "separe", "non_separe", "non_verifie"

NOMS_METHODES = {"icmp": "écho ICMP", "tcp": "connexion TCP", "dns": "requête DNS", "arp": "ARP direct (VLAN ponté)",
                 "mdns": "annonce mDNS reçue"}


class EssaiIsolement(NamedTuple):
    """One attempt of a probe towards a mission address, as its result file tells it."""

    sonde: str  # the probe equipment
    methode: str
    cible: str
    resultat: str  # joint | sans_reponse | refuse | passerelle_locale
    delai_ms: float
    port: int | None = None
    nom: str = ""
    detail: str = ""


class SondeLue(NamedTuple):
    """What the audit knows of one isolation probe: where it sits and whether its run counts."""

    nom: str
    site: str
    reseau: str  # the off-mission network it sits in
    complet: bool  # whole, fresh and readable run
    essais: tuple[EssaiIsolement, ...]


class ConstatIsolement(NamedTuple):
    """A mission address reached from an off-mission network, with its evidence."""

    gravite: str
    type: str
    message: str
    depuis: Reseau
    vers: Reseau
    essai: EssaiIsolement
    statut: str = ACTIF
    derogation: DerogationIsolement | None = None
    derogation_expiree: bool = False


class EtatIsolement(NamedTuple):
    """The verdict of one pair (off-mission network -> mission network)."""

    depuis: Reseau
    vers: Reseau
    statut: str  # separe | non_separe | non_verifie
    sondes: tuple[str, ...]
    constats_actifs: int


def _reseau_de(adresse: str, missions: list[Reseau]) -> Reseau | None:
    try:
        ip = IPAddress(adresse)
    except (AddrFormatError, ValueError, TypeError):
        return None
    return next((r for r in missions if any(ip in sous_reseau for sous_reseau in r.sous_reseaux)), None)


def _derogation(essai: EssaiIsolement, depuis: Reseau,
                derogations: list[DerogationIsolement]) -> DerogationIsolement | None:
    """The most specific dérogation matching this attempt (address, then port and method if given)."""
    candidates = [d for d in derogations
                  if d.depuis == depuis.nom and d.cible == essai.cible
                  and d.port in (None, essai.port) and d.methode in (None, essai.methode)]
    return max(candidates, key=lambda d: (d.port is not None, d.methode is not None), default=None)


def _message(essai: EssaiIsolement, depuis: Reseau, vers: Reseau) -> str:
    port = f", port {essai.port}" if essai.port else ""
    return (f"réseaux non séparés : {essai.cible}{port} (« {vers.nom} ») joint depuis « {depuis.nom} » "
            f"par {NOMS_METHODES.get(essai.methode, essai.methode)} (sonde {essai.sonde})")


def evaluer_isolement(reseaux: list[Reseau], sondes: list[SondeLue], derogations: list[DerogationIsolement],
                      aujourd_hui: date) -> tuple[list[ConstatIsolement], list[EtatIsolement]]:
    """Findings for every mission address reached, and the state of every pair of every site."""
    par_nom = {r.nom: r for r in reseaux}
    constats: list[ConstatIsolement] = []
    etats: list[EtatIsolement] = []
    for depuis in (r for r in reseaux if not r.mission):
        missions = [r for r in reseaux if r.mission and r.site == depuis.site]
        ici = [s for s in sondes if s.reseau == depuis.nom and par_nom.get(s.reseau) is depuis]
        atteints: dict[str, int] = {}
        essayes: set[str] = set()  # mission networks the probes actually tried
        for sonde in ici:
            for essai in sonde.essais:
                vers = _reseau_de(essai.cible, missions)
                if vers is None:
                    continue  # not a mission address of this site (whatever the file says): no evidence here
                essayes.add(vers.nom)
                if essai.resultat != "joint":
                    continue
                derogation = _derogation(essai, depuis, derogations)
                expiree = derogation is not None and derogation.expiration < aujourd_hui
                statut = LEVE if derogation is not None and not expiree else ACTIF
                message = _message(essai, depuis, vers)
                if expiree:
                    message += f" (dérogation expirée le {derogation.expiration.isoformat()})"
                constats.append(ConstatIsolement(CRITIQUE, RESEAUX_NON_SEPARES, message, depuis, vers, essai,
                                                 statut, derogation, expiree))
                if statut == ACTIF:
                    atteints[vers.nom] = atteints.get(vers.nom, 0) + 1
        for vers in missions:
            if atteints.get(vers.nom):
                statut = NON_SEPARE
            elif ici and all(s.complet for s in ici) and vers.nom in essayes:
                statut = SEPARE
            else:
                statut = NON_VERIFIE
            etats.append(EtatIsolement(depuis, vers, statut, tuple(s.nom for s in ici), atteints.get(vers.nom, 0)))
    return constats, etats
