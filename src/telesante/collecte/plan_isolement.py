"""The plan of the isolation probe: which mission addresses it tries, by which methods, within which bounds.

Given as a file (format: src/telesante/donnees/plan-sonde-isolement-v1.schema.json) or built from
the inventory; a target outside the subnets of its mission network is refused: never a sweep.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

METHODES = ("icmp", "tcp", "dns", "arp", "mdns")


@dataclass(frozen=True)
class Cible:
    """One mission address to try, with the TCP ports declared for it."""

    adresse: str
    reseau: str  # the mission network it belongs to
    ports: tuple[int, ...] = ()
    nom: str = ""
    resolveur: bool = False  # a mission DNS resolver: also asked a DNS query


@dataclass(frozen=True)
class Bornes:
    """Hard limits of one run; the defaults are prudent for a clinical network."""

    paquets_max: int = 200
    debit_max: float = 20.0  # packets per second
    duree_max: float = 60.0  # seconds, whole run
    delai: float = 1.0  # seconds to wait for each reply
    ecoute_mdns: float = 3.0  # seconds


@dataclass(frozen=True)
class Plan:
    """What one run tries: from which network, towards which targets, by which methods."""

    sonde: str
    reseau: str  # the off-mission network the probe sits in
    cibles: tuple[Cible, ...]
    sous_reseaux_mission: dict[str, tuple[str, ...]] = field(default_factory=dict)  # network -> CIDRs (mDNS)
    interface: str | None = None  # needed for ARP and mDNS
    methodes: tuple[str, ...] = METHODES
    bornes: Bornes = Bornes()
    passage: str = ""  # the run that launched it (32 hex digits), copied into the result; "": none


class PlanInvalide(ValueError):
    """A plan the probe must not run; the message says why, in French."""


def _valider_cibles(plan: Plan) -> None:
    """Every target is an IPv4 address inside a declared subnet of its mission network: nothing is sent elsewhere."""
    try:
        reseaux = {nom: [ipaddress.IPv4Network(c) for c in cidrs] for nom, cidrs in plan.sous_reseaux_mission.items()}
    except ValueError as exc:
        raise PlanInvalide(f"sous_reseaux_mission : CIDR IPv4 invalide ({exc})") from None
    for index, cible in enumerate(plan.cibles):
        try:
            adresse = ipaddress.IPv4Address(cible.adresse)
        except ValueError:
            raise PlanInvalide(f"cibles[{index}] : adresse IPv4 invalide « {cible.adresse} »") from None
        if cible.reseau not in reseaux:
            raise PlanInvalide(f"cibles[{index}] : réseau « {cible.reseau} » absent de sous_reseaux_mission")
        if not any(adresse in reseau for reseau in reseaux[cible.reseau]):
            raise PlanInvalide(f"cibles[{index}] : {adresse} hors des sous-réseaux de « {cible.reseau} » "
                               f"({', '.join(map(str, reseaux[cible.reseau]))}) : refusée")


def lire_plan(texte: str) -> Plan:
    """A plan from its JSON text (schema plan-sonde-isolement-v1), or PlanInvalide."""
    import json
    from importlib import resources

    from jsonschema import Draft202012Validator

    try:
        data = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise PlanInvalide(f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno})") from None
    schema = json.loads(resources.files("telesante.donnees").joinpath("plan-sonde-isolement-v1.schema.json")
                        .read_text("utf-8"))
    erreur = next(iter(sorted(Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path))), None)
    if erreur is not None:
        ou = "/".join(str(p) for p in erreur.absolute_path) or "racine"
        raise PlanInvalide(f"plan non conforme au format v1 ({ou} : {erreur.message})")
    plan = Plan(
        sonde=data["sonde"], reseau=data["reseau"], interface=data.get("interface"),
        cibles=tuple(Cible(c["adresse"], c["reseau"], tuple(c.get("ports", ())), c.get("nom", ""),
                           c.get("resolveur", False)) for c in data["cibles"]),
        sous_reseaux_mission={nom: tuple(cidrs) for nom, cidrs in data["sous_reseaux_mission"].items()},
        methodes=tuple(data.get("methodes", METHODES)), bornes=Bornes(**data.get("bornes", {})),
        passage=data.get("passage", ""))
    _valider_cibles(plan)
    return plan


# How many addresses seen by the last run a plan tries at most (`--echantillon` of the probe's timer).
ECHANTILLON = 16


def plan_de_l_inventaire(reseaux, sonde, adresses_vues=(), echantillon: int = ECHANTILLON) -> Plan:
    """The plan of an inventory's probe (`sonde`: its Equipement): for every mission network of its site,
    the first address of each subnet (presumed gateway), the declared `cibles_isolement`, then at most
    `echantillon` addresses seen by the audit (`adresses_vues`) inside those subnets."""
    missions = [r for r in reseaux if r.mission and r.site == sonde.site]
    cibles: dict[str, Cible] = {}

    def ajouter(cible: Cible) -> None:
        deja = cibles.get(cible.adresse)
        if deja is None:
            cibles[cible.adresse] = cible
        else:  # one address, one target: ports, name and resolver role joined
            cibles[cible.adresse] = Cible(deja.adresse, deja.reseau, tuple(dict.fromkeys(deja.ports + cible.ports)),
                                          deja.nom or cible.nom, deja.resolveur or cible.resolveur)

    for reseau in missions:
        for sous_reseau in reseau.sous_reseaux:
            if sous_reseau.version == 4 and sous_reseau.size > 2:
                ajouter(Cible(str(sous_reseau.network + 1), reseau.nom, nom="passerelle présumée"))
        for cible in reseau.cibles_isolement:
            ajouter(Cible(cible.adresse, reseau.nom, cible.ports, cible.nom, cible.resolveur))
    vues = 0
    for adresse in adresses_vues:
        if vues >= echantillon:
            break
        try:
            ip = ipaddress.IPv4Address(adresse)
        except ValueError:
            continue
        reseau = next((r for r in missions for s in r.sous_reseaux if s.version == 4 and ip in ipaddress.ip_network(str(s))),
                      None)
        if reseau is not None and str(ip) not in cibles:
            ajouter(Cible(str(ip), reseau.nom, nom="vue par l'audit"))
            vues += 1
    return Plan(sonde=sonde.nom, reseau=sonde.reseau or "", cibles=tuple(cibles.values()),
                sous_reseaux_mission={r.nom: tuple(str(s) for s in r.sous_reseaux if s.version == 4) for r in missions})


def texte_du_plan(plan: Plan) -> str:
    """The plan as JSON text (schema plan-sonde-isolement-v1), as `lire_plan` reads it back."""
    import dataclasses
    import json

    data = {"sonde": plan.sonde, "reseau": plan.reseau,
            "cibles": [{"adresse": c.adresse, "reseau": c.reseau, "ports": list(c.ports), "resolveur": c.resolveur,
                        **({"nom": c.nom} if c.nom else {})} for c in plan.cibles],
            "sous_reseaux_mission": {nom: list(cidrs) for nom, cidrs in plan.sous_reseaux_mission.items()},
            "methodes": list(plan.methodes), "bornes": dataclasses.asdict(plan.bornes)}
    if plan.interface:
        data["interface"] = plan.interface
    if plan.passage:
        data["passage"] = plan.passage
    return json.dumps(data, ensure_ascii=False)
