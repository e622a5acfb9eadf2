"""Signatures: what identifies a consumer device (vendor, DHCP host name, mDNS service), read and validated.

The shipped file (src/telesante/donnees/signatures.yml) and the inventory's own signatures
(telesante_signatures) give categories (assistant vocal, écran intelligent...), some forbidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources

import yaml


@dataclass(frozen=True)
class Categorie:
    cle: str
    libelle: str
    interdite: bool


@dataclass(frozen=True)
class Signature:
    nom: str
    categorie: Categorie
    fabricants: re.Pattern | None
    noms_hote: re.Pattern | None
    mdns: tuple[tuple[str, re.Pattern | None], ...]
    # The expressions behind fabricants and noms_hote, as written.
    motifs_fabricants: tuple[str, ...] = ()
    motifs_noms_hote: tuple[str, ...] = ()
    # Host names that identify a device only under one OUI ("aa:bb:cc"): a module maker's
    # OUI, shared with other products, with a name too common to stand alone.
    ouis_noms_hote: tuple[tuple[str, re.Pattern], ...] = ()


class SignaturesInvalides(ValueError):
    """A signatures file or inventory entry is malformed; carries French messages."""

    def __init__(self, erreurs: list[str]):
        super().__init__("\n".join(erreurs))
        self.erreurs = erreurs


def _as_list(patterns) -> list[str] | None:
    """A signature criterion as a list of expressions; None if it is not one."""
    if isinstance(patterns, str):
        return [patterns]
    if isinstance(patterns, list) and all(isinstance(p, str) for p in patterns):
        return patterns
    return None


def _pattern(patterns, where: str, erreurs: list[str]) -> re.Pattern | None:
    if patterns is None:
        return None
    patterns = _as_list(patterns)
    if patterns is None:
        erreurs.append(f"{where} : liste d'expressions régulières attendue")
        return None
    try:
        return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None
    except re.error as exc:
        erreurs.append(f"{where} : expression régulière invalide ({exc})")
        return None


# libyaml's reader when PyYAML has it: ten times faster on the shipped file (about 1 ms
# instead of 13 per audit), same values (a test compares both readers on it).
_LECTEUR = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _texte_livre() -> str:
    """The shipped signatures file (src/telesante/donnees/signatures.yml)."""
    return resources.files("telesante.donnees").joinpath("signatures.yml").read_text("utf-8")


_OUI = re.compile(r"[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}", re.IGNORECASE)


def _signature(item, where: str, categories: dict[str, Categorie], erreurs: list[str]) -> Signature | None:
    if not isinstance(item, dict) or not isinstance(item.get("nom"), str):
        erreurs.append(f"{where} : une signature est un dictionnaire avec au moins « nom »")
        return None
    categorie = categories.get(item.get("categorie"))
    if categorie is None:
        erreurs.append(f"{where} (« {item['nom']} ») : catégorie « {item.get('categorie')} » inconnue "
                       f"(connues : {', '.join(sorted(categories))})")
        return None
    mdns = []
    for j, rule in enumerate(item.get("mdns") or []):
        if not isinstance(rule, dict) or not isinstance(rule.get("service"), str):
            erreurs.append(f"{where}.mdns[{j}] : « service » attendu (ex. _googlecast._tcp)")
            continue
        model = rule.get("modele")
        mdns.append((rule["service"].removesuffix(".").removesuffix(".local"),
                     _pattern(model, f"{where}.mdns[{j}].modele", erreurs) if model else None))
    ouis_names = []
    for j, rule in enumerate(item.get("oui_et_nom_hote") or []):
        oui = rule.get("oui") if isinstance(rule, dict) else None
        if not isinstance(oui, str) or not _OUI.fullmatch(oui) or not rule.get("nom_hote"):
            erreurs.append(f"{where}.oui_et_nom_hote[{j}] : « oui » (aa:bb:cc) et « nom_hote » attendus "
                           "(ex. {oui: '0c:ae:7d', nom_hote: '^ring'})")
            continue
        name = _pattern(rule["nom_hote"], f"{where}.oui_et_nom_hote[{j}].nom_hote", erreurs)
        if name is not None:
            ouis_names.append((oui.lower(), name))
    signature = Signature(
        nom=item["nom"],
        categorie=categorie,
        fabricants=_pattern(item.get("fabricants"), f"{where}.fabricants", erreurs),
        noms_hote=_pattern(item.get("noms_hote"), f"{where}.noms_hote", erreurs),
        mdns=tuple(mdns),
        motifs_fabricants=tuple(_as_list(item.get("fabricants")) or ()),
        motifs_noms_hote=tuple(_as_list(item.get("noms_hote")) or ()),
        ouis_noms_hote=tuple(ouis_names),
    )
    if not (signature.fabricants or signature.noms_hote or signature.mdns or signature.ouis_noms_hote):
        erreurs.append(f"{where} (« {item['nom']} ») : aucun critère (fabricants, noms_hote, oui_et_nom_hote ou mdns)")
        return None
    return signature


def lire_signatures(
    locales: list[dict] | None = None, categories_interdites: Iterable[str] | None = None
) -> tuple[list[Signature], dict[str, Categorie]]:
    """Shipped signatures plus the inventory's own (first), and the categories, validated; raise SignaturesInvalides."""
    shipped = yaml.load(_texte_livre(), Loader=_LECTEUR)
    erreurs: list[str] = []
    categories = {
        key: Categorie(key, value["libelle"], bool(value["interdite"])) for key, value in shipped["categories"].items()
    }
    if categories_interdites is not None:
        unknown = set(categories_interdites) - set(categories)
        if unknown:
            erreurs.append(f"telesante_categories_interdites : catégories inconnues {sorted(unknown)}")
        categories = {k: Categorie(k, c.libelle, k in categories_interdites) for k, c in categories.items()}
    signatures = [
        _signature(item, f"telesante_signatures[{i}]", categories, erreurs) for i, item in enumerate(locales or [])
    ] + [_signature(item, f"signatures.yml[{i}]", categories, erreurs) for i, item in enumerate(shipped["signatures"])]
    if erreurs:
        raise SignaturesInvalides(erreurs)
    return [s for s in signatures if s], categories
