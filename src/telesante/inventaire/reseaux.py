"""telesante_reseaux: mission and off-mission networks, their subnets, VLANs and isolation targets."""

from __future__ import annotations

from netaddr import AddrFormatError, IPNetwork, IPSet

from telesante.configuration import CibleIsolement, Equipement, Reseau
from telesante.inventaire.validation import Validation, adresse_ipv4, liste_fusionnee
from telesante.origine import origine


TYPES_RESEAU = {"mission": True, "hors_mission": False}
# The keys each entry of a list variable may have: a typo (« vlan: », « sous_reseau: ») would
# otherwise silently drop what it declares.
CLES_RESEAU = ("nom", "site", "type", "sous_reseaux", "vlans", "vide_attendu", "cibles_isolement")
CLES_CIBLE_ISOLEMENT = ("adresse", "ports", "nom", "resolveur")


def lire_reseaux(check: Validation, per_host: dict) -> tuple[list[Reseau], dict[str, tuple[dict, str]]]:
    """The declared networks, and where each was declared (name -> its YAML item, its key)."""
    reseaux = []
    declarations: dict[str, tuple[dict, str]] = {}
    for index, item in enumerate(liste_fusionnee(check, per_host, "telesante_reseaux", "nom")):
        where = f"telesante_reseaux[{index}]"
        check.cles_connues(item, where, CLES_RESEAU)
        nom = check.texte(item, "nom", where)
        site = check.texte(item, "site", where)
        type_ = check.texte(item, "type", where)
        if type_ is not None and type_ not in TYPES_RESEAU:
            check.erreur(item["type"], f"{where}.type", f"« {type_} » inconnu (attendu : mission ou hors_mission)")
        subnets = []
        for j, cidr in enumerate(check.liste(item.get("sous_reseaux"), f"{where}.sous_reseaux")):
            try:
                network = IPNetwork(str(cidr), flags=0)
            except (AddrFormatError, ValueError):
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » (attendu : adresse/longueur, ex. 10.20.110.0/24)")
                continue
            if "/" not in str(cidr):
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » : longueur de préfixe manquante (ex. {network.ip}/24)")
            elif network.network != network.ip:
                check.erreur(cidr, f"{where}.sous_reseaux[{j}]",
                             f"CIDR invalide « {cidr} » : bits d'hôte non nuls (voulu : {network.cidr} ?)")
            elif network not in subnets:
                subnets.append(network)
        vlans = set()
        for j, vlan in enumerate(check.liste(item.get("vlans"), f"{where}.vlans")):
            if isinstance(vlan, bool) or not isinstance(vlan, int) or not 1 <= vlan <= 4094:
                check.erreur(vlan, f"{where}.vlans[{j}]", f"VLAN invalide « {vlan} » (entier de 1 à 4094)")
            else:
                vlans.add(vlan)
        if not subnets and not vlans:
            check.erreur(item, where, "un réseau doit déclarer des sous_reseaux ou des vlans")
        vide_attendu = item.get("vide_attendu", False)
        if not isinstance(vide_attendu, bool):
            check.erreur(vide_attendu, f"{where}.vide_attendu", f"« {vide_attendu} » : true ou false attendu")
        cibles = _cibles_isolement(check, item, where, subnets, type_)
        if nom and site and type_ in TYPES_RESEAU:
            reseaux.append(Reseau(nom, site, TYPES_RESEAU[type_], tuple(subnets), frozenset(vlans),
                                  vide_attendu=vide_attendu is True, cibles_isolement=cibles))
            declarations[nom] = (item, where)
    _memes_sous_reseaux(check, reseaux, declarations)
    _chevauchements(check, reseaux, declarations)
    return reseaux, declarations


def _cibles_isolement(check: Validation, item: dict, where: str, subnets: list[IPNetwork],
                      type_: str | None) -> tuple[CibleIsolement, ...]:
    """`cibles_isolement` of a mission network: addresses (in its subnets) and ports the probes try."""
    if "cibles_isolement" not in item:
        return ()
    cle = f"{where}.cibles_isolement"
    if type_ != "mission":
        check.erreur(item["cibles_isolement"], cle, "réservée aux réseaux de mission (ce que les sondes essaient de joindre)")
        return ()
    cibles = []
    for j, brute in enumerate(check.liste(item["cibles_isolement"], cle)):
        ici = f"{cle}[{j}]"
        if check.dictionnaire(brute, ici) is None:
            continue
        check.cles_connues(brute, ici, CLES_CIBLE_ISOLEMENT)
        if "adresse" not in brute:
            check.erreur(brute, f"{ici}.adresse", "valeur obligatoire manquante")
            continue
        adresse = adresse_ipv4(check, brute["adresse"], f"{ici}.adresse")
        if adresse is not None and not any(adresse in s for s in subnets):
            check.erreur(brute["adresse"], f"{ici}.adresse",
                         f"{adresse} hors des sous_reseaux de ce réseau ({', '.join(str(s) for s in subnets) or 'aucun'})")
            adresse = None
        ports = [check.entier(p, f"{ici}.ports[{k}]", 1, 65535) for k, p in
                 enumerate(check.liste(brute.get("ports"), f"{ici}.ports"))]
        nom = check.texte(brute, "nom", ici, obligatoire=False) or ""
        resolveur = brute.get("resolveur", False)
        if not isinstance(resolveur, bool):
            check.erreur(resolveur, f"{ici}.resolveur", f"« {resolveur} » : true ou false attendu")
        if adresse is not None and None not in ports:
            cibles.append(CibleIsolement(str(adresse), tuple(dict.fromkeys(ports)), nom, resolveur is True))
    return tuple(cibles)


def _memes_sous_reseaux(check: Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]]) -> None:
    """One subnet declared by two networks: an address could not be placed on one of them."""
    premiers: dict[IPNetwork, tuple[Reseau, str]] = {}
    for reseau in reseaux:
        item, where = declarations[reseau.nom]
        for network in reseau.sous_reseaux:
            if network in premiers:
                autre, ou = premiers[network]
                check.erreur(
                    item.get("sous_reseaux"), f"{where}.sous_reseaux",
                    f"sous-réseau {network} déclaré par deux réseaux : « {reseau.nom} » et « {autre.nom} » ({ou})")
            else:
                premiers[network] = (reseau, origine(item.get("sous_reseaux")) or where)


def _chevauchements(check: Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]]) -> None:
    """A subnet or a site's VLAN may not be both mission and off-mission."""
    mission = [r for r in reseaux if r.mission]
    for other in (r for r in reseaux if not r.mission):
        item, where = declarations[other.nom]
        for network in mission:
            common = IPSet(network.sous_reseaux) & IPSet(other.sous_reseaux)
            if common:
                check.erreur(
                    item.get("sous_reseaux"), f"{where}.sous_reseaux",
                    f"réseau hors mission « {other.nom} » : sous-réseau commun avec le réseau de mission "
                    f"« {network.nom} » ({', '.join(str(c) for c in common.iter_cidrs())})",
                )
            if network.site == other.site and network.vlans & other.vlans:
                check.erreur(
                    item.get("vlans"), f"{where}.vlans",
                    f"réseau hors mission « {other.nom} » : VLAN commun avec le réseau de mission "
                    f"« {network.nom} » ({', '.join(map(str, sorted(network.vlans & other.vlans)))}, site {network.site})",
                )


def sites_sans_equipement(check: Validation, reseaux: list[Reseau], declarations: dict[str, tuple[dict, str]],
                           equipements: list[Equipement]) -> None:
    """A mission network whose site has no equipment could never be audited (a typo in « site »?)."""
    sites = {e.site for e in equipements}
    for reseau in reseaux:
        if reseau.mission and reseau.site not in sites:
            item, where = declarations[reseau.nom]
            check.erreur(
                item.get("site"), f"{where}.site",
                f"réseau de mission « {reseau.nom} » sur le site « {reseau.site} », où aucun équipement n'est "
                f"déclaré : il ne pourrait pas être audité (sites des équipements : {', '.join(sorted(sites))})",
            )
