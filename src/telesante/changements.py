"""What changed since the previous run: findings new, persisting (since when) or gone,
equipment that became unreadable (or readable again), waivers about to expire, and the
trend of the last nights.

Pure functions over the report document and what the history kept of the previous run
(`Precedent`); the history (telesante.historique) reads and writes, this module decides.

A finding is the same finding from one night to the next when its key is the same:
the network, the device (its MAC, or « ip:<address> » for a device known only by its
address) and the type of finding (categorie_interdite, non_autorise...). Its severity,
message or evidence may change (a new port, a new IP): it is still the same finding.
An isolation finding's key is its pair of networks, its probe, target, port and method.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

JOURS_DEROGATION = 7  # a waiver that expires within this many days is told
NUITS_TENDANCE = 30

NOUVEAU, PERSISTANT, DISPARU = "nouveau", "persistant", "disparu"
DEVENU_ILLISIBLE, REDEVENU_LISIBLE = "devenu_illisible", "redevenu_lisible"


def nuit_du_document(document: dict) -> str:
    """The night of a run (AAAA-MM-JJ): its reference date (--date, or the day it ran)."""
    if document.get("date_reference"):
        return document["date_reference"]
    return datetime.fromisoformat(document["debut"]).date().isoformat()


def appareil_du_constat(constat: dict) -> str:
    """The device of a finding as the audit keys it: its MAC, else « ip:<address> »."""
    if constat.get("mac"):
        return constat["mac"]
    ips = constat.get("ips") or []
    return f"ip:{ips[0]}" if ips else "ip:?"


def cle_constat(constat: dict) -> str:
    """Stable key of a finding on a mission network: network, device, type (JSON text)."""
    return json.dumps([constat["reseau"], appareil_du_constat(constat), constat["type"]], ensure_ascii=False)


def cle_isolement(constat: dict) -> str:
    """Stable key of an isolation finding: from, to, probe, target, port, method (JSON text)."""
    return json.dumps([constat["depuis"], constat["vers"], constat["sonde"], constat["cible"], constat["port"],
                       constat["methode"]], ensure_ascii=False)


class Suivi:
    """A finding as the history kept it: since which night, for how many nights, its severity and
    status, and the finding itself (rebuilt from its stored row only when asked: a night compares
    tens of thousands of findings and shows whole only those that are gone)."""

    __slots__ = ("premiere_vue", "nuits", "gravite", "statut", "_constat", "_fabrique")

    def __init__(self, premiere_vue: str, nuits: int, constat: dict | None = None, gravite: str | None = None,
                 statut: str | None = None, fabrique: Callable[[], dict] | None = None):
        self.premiere_vue, self.nuits, self._constat, self._fabrique = premiere_vue, nuits, constat, fabrique
        self.gravite = gravite if constat is None else constat["gravite"]
        self.statut = statut if constat is None else constat["statut"]

    @property
    def constat(self) -> dict:
        if self._constat is None:
            self._constat = self._fabrique()
        return self._constat


@dataclass
class Precedent:
    """What the history holds of the previous run."""

    passage: int
    debut: str  # ISO 8601 with offset
    nuit: str  # AAAA-MM-JJ: the run's reference date (--date), or the date of its start for older histories
    constats: dict[str, Suivi] = field(default_factory=dict)
    isolement: dict[str, Suivi] = field(default_factory=dict)
    equipements: dict[str, str] = field(default_factory=dict)  # name -> complet | incomplet
    reseaux: dict[str, str] | None = None  # mission network -> statut; None: not kept by that history


def suivre(cles: dict[str, dict], anciens: dict[str, Suivi], nuit: str, nuit_precedente: str | None) -> dict[str, Suivi]:
    """Tonight's findings (key -> finding) with their first night and count of nights.

    A finding seen by the previous run keeps its first night; its count grows by one when
    tonight is another night (two runs of one night count once).
    """
    suivis = {}
    for cle, constat in cles.items():
        ancien = anciens.get(cle)
        if ancien is None:
            suivis[cle] = Suivi(nuit, 1, constat)
        else:
            suivis[cle] = Suivi(ancien.premiere_vue, ancien.nuits + (nuit != nuit_precedente), constat)
    return suivis


def _entrees(suivis: dict[str, Suivi], anciens: dict[str, Suivi], avec_precedent: bool,
             incomplets: set[str] = frozenset(), champ_reseau: str = "reseau") -> list[dict]:
    """Findings new or persisting, then those gone; a gone finding says whether its network was
    incomplete tonight (then it may well still be there: fail closed, never taken for good news)."""
    entrees = []
    for cle, suivi in suivis.items():
        etat = PERSISTANT if avec_precedent and cle in anciens else NOUVEAU
        entrees.append({**suivi.constat, "etat": etat, "premiere_vue": suivi.premiere_vue, "nuits": suivi.nuits})
    for cle, ancien in anciens.items():
        if cle not in suivis:
            constat = ancien.constat
            entrees.append({**constat, "etat": DISPARU, "premiere_vue": ancien.premiere_vue, "nuits": ancien.nuits,
                            "reseau_incomplet": constat[champ_reseau] in incomplets})
    return entrees


def constats_du_document(document: dict) -> dict[str, dict]:
    """Tonight's findings on mission networks, by key (the first of two with one key wins)."""
    cles: dict[str, dict] = {}
    for constat in document["constats"]:
        cles.setdefault(cle_constat(constat), constat)
    return cles


def isolement_du_document(document: dict) -> dict[str, dict]:
    """Tonight's isolation findings, by key."""
    cles: dict[str, dict] = {}
    for constat in (document.get("isolement") or {}).get("constats", ()):
        cles.setdefault(cle_isolement(constat), constat)
    return cles


def _equipements(avant: dict[str, str], apres: dict[str, str]) -> list[dict]:
    equipements = []
    for nom, statut in apres.items():
        if avant.get(nom) == "complet" and statut == "incomplet":
            equipements.append({"equipement": nom, "etat": DEVENU_ILLISIBLE})
        elif avant.get(nom) == "incomplet" and statut == "complet":
            equipements.append({"equipement": nom, "etat": REDEVENU_LISIBLE})
    return equipements


def ecart(avant: Precedent, apres: Precedent) -> dict:
    """The difference between two stored runs (`telesante historique --comparer`): findings new,
    persisting or gone, equipment readable or not, mission networks whose status changed."""
    reseaux = []
    if avant.reseaux is not None and apres.reseaux is not None:
        reseaux = [{"reseau": nom, "avant": avant.reseaux.get(nom), "apres": statut}
                   for nom, statut in apres.reseaux.items() if avant.reseaux.get(nom) != statut]
    incomplets = {nom for nom, statut in (apres.reseaux or {}).items() if statut == "incomplet"}
    return {"constats": _entrees(apres.constats, avant.constats, True, incomplets),
            "constats_isolement": _entrees(apres.isolement, avant.isolement, True, incomplets, "vers"),
            "equipements": _equipements(avant.equipements, apres.equipements), "reseaux": reseaux}


def reseaux_incomplets(document: dict) -> set[str]:
    """Names of tonight's incomplete networks."""
    return {r["nom"] for r in document.get("reseaux", ()) if r["statut"] == "incomplet"}


def calculer(document: dict, precedent: Precedent | None, suivis: dict[str, Suivi],
             suivis_isolement: dict[str, Suivi], derogations: list[dict]) -> dict:
    """document["changements"] for a run recorded in a history (precedent None: its first run)."""
    avec = precedent is not None
    incomplets = reseaux_incomplets(document)
    anciens = precedent.constats if avec else {}
    anciens_isolement = precedent.isolement if avec else {}
    equipements = _equipements(precedent.equipements, {e["nom"]: e["statut"] for e in document["equipements"]}) if avec else []
    return {
        "precedent": {"date": precedent.debut, "nuit": precedent.nuit, "passage": precedent.passage} if avec else None,
        "historique": True,
        "note": None if avec else "premier passage de l'historique : chaque constat y est nouveau",
        "constats": _entrees(suivis, anciens, avec, incomplets),
        "constats_isolement": _entrees(suivis_isolement, anciens_isolement, avec, incomplets, "vers"),
        "equipements": equipements,
        "derogations_expirant": derogations,
    }


def sans_historique(derogations: list[dict]) -> dict:
    """document["changements"] of a run with no history (--historique absent): nothing to compare with."""
    return {"precedent": None, "historique": False,
            "note": "audit sans --historique : changements depuis le passage précédent non calculés",
            "constats": [], "constats_isolement": [], "equipements": [], "derogations_expirant": derogations}


def derogations_expirant(configuration, document: dict, jours: int = JOURS_DEROGATION) -> list[dict]:
    """Waivers (MAC and isolation) that are still in force and expire within `jours` days of the
    run's reference date, soonest first. A MAC waiver names the networks where that MAC has a
    finding tonight (one entry each), or none (reseau null) when it was not seen."""
    reference = date.fromisoformat(document["date_reference"])
    reseaux_par_mac: dict[str, list[str]] = {}
    for constat in document["constats"]:
        if constat.get("mac"):
            reseaux_par_mac.setdefault(constat["mac"], [])
            if constat["reseau"] not in reseaux_par_mac[constat["mac"]]:
                reseaux_par_mac[constat["mac"]].append(constat["reseau"])
    entrees = []
    for derogation in configuration.derogations.values():
        reste = (derogation.expiration - reference).days
        if 0 <= reste <= jours:
            for reseau in reseaux_par_mac.get(derogation.mac) or [None]:
                entrees.append({"mac": derogation.mac, "reseau": reseau, "expire": derogation.expiration.isoformat(),
                                "jours": reste, "justification": derogation.justification, "type": "appareil"})
    for derogation in configuration.derogations_isolement:
        reste = (derogation.expiration - reference).days
        if 0 <= reste <= jours:
            entrees.append({"mac": None, "reseau": derogation.depuis, "expire": derogation.expiration.isoformat(),
                            "jours": reste, "justification": derogation.justification, "type": "isolement",
                            "cible": derogation.cible, "port": derogation.port, "methode": derogation.methode})
    return sorted(entrees, key=lambda e: (e["jours"], e["mac"] or "", e["reseau"] or ""))


def tendance_du_document(document: dict) -> dict:
    """Tonight's point of the trend: active critical and to-check findings per mission network, unread equipment."""
    reseaux = {r["nom"]: {"critiques": 0, "a_verifier": 0} for r in document.get("reseaux", ()) if r["type"] == "mission"}
    actifs = [(c["vers"], c["gravite"]) for c in (document.get("isolement") or {}).get("constats", ())
              if c["statut"] == "actif"]
    actifs += [(c["reseau"], c["gravite"]) for c in document["constats"] if c["statut"] == "actif"]
    for reseau, gravite in actifs:
        if reseau in reseaux:
            reseaux[reseau]["critiques" if gravite == "critique" else "a_verifier"] += 1
    return {"date": nuit_du_document(document), "reseaux": reseaux,
            "equipements_non_lus": sum(1 for e in document["equipements"] if e["statut"] == "incomplet")}
