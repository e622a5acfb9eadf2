"""Validation of inventory values: French messages that name the file, the line and the key, gathered before any work."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from netaddr import AddrFormatError, IPAddress

from telesante.inerte import citer, inerte
from telesante.mac import MacInvalide, est_multicast, normaliser_mac
from telesante.origine import origine


# Variables whose value is a secret: an error never quotes them, not even in part.
SECRET = re.compile(r"pass|mot_de_passe|secret|cle|key|communaute|community|token|jeton", re.IGNORECASE)
# Notations of a complete MAC address accepted in the inventory (netaddr alone would pad
# « aa:bb:cc:dd:ee:f » into …:0f, and accept mixed separators).
MAC_COMPLETE = re.compile(
    r"[0-9a-f]{2}(:[0-9a-f]{2}){5}|[0-9a-f]{2}(-[0-9a-f]{2}){5}|[0-9a-f]{4}(\.[0-9a-f]{4}){2}"
    r"|[0-9a-f]{6}-[0-9a-f]{6}|[0-9a-f]{12}", re.IGNORECASE)


class ErreurConfiguration(Exception):
    """The inventory is not usable; carries every problem found (control characters made visible)."""

    def __init__(self, erreurs: list[str]):
        erreurs = [inerte(e) for e in erreurs]
        super().__init__("\n".join(erreurs))
        self.erreurs = erreurs


class Validation:
    """Accumulates French error messages that name where each value was written."""

    def __init__(self, racine: Path):
        self.racine = racine
        self.erreurs: list[str] = []

    def erreur(self, valeur, cle: str, message: str, hote: str | None = None) -> None:
        where = origine(valeur) or (f"hôte {hote}" if hote else str(self.racine))
        self.erreurs.append(f"{where} : clé « {cle} » : {message}")

    def valeur_unique(self, cle: str, vues: list[tuple[str, object]], defaut):
        """The one value a key for the whole inventory took (`vues`: (host, value) pairs, values already
        validated), else `defaut`; different values on different hosts are an error that names them."""
        differentes: list[tuple[object, str]] = []  # each distinct value, with the first host that gave it
        for hote, valeur in vues:
            if not any(valeur == deja for deja, _ in differentes):
                differentes.append((valeur, hote))
        if len(differentes) > 1:
            [_, (seconde, hote_seconde), *_] = differentes
            self.erreur(seconde, cle, "valeurs différentes selon les hôtes ("
                        + ", ".join(f"« {citer(str(valeur), 40)} » pour {hote}" for valeur, hote in differentes[:5])
                        + ") : une seule valeur attendue, en général dans group_vars/all/", hote=hote_seconde)
            return defaut
        return vues[0][1] if vues else defaut

    def texte(self, conteneur: dict, cle: str, chemin: str, obligatoire: bool = True) -> str | None:
        valeur = conteneur.get(cle)
        if valeur is None or (isinstance(valeur, str) and not valeur.strip()):
            if obligatoire:
                self.erreur(conteneur, f"{chemin}.{cle}", "valeur obligatoire manquante")
            return None
        if not isinstance(valeur, (str, int)) or isinstance(valeur, bool):
            self.erreur(valeur, f"{chemin}.{cle}", "texte attendu")
            return None
        return str(valeur).strip()

    def mac(self, valeur, cle: str, conteneur=None, hote: str | None = None) -> str | None:
        """A complete unicast MAC address, in canonical form; None (and an error) otherwise."""
        if valeur is None:
            self.erreur(conteneur, cle, "adresse MAC obligatoire manquante", hote=hote)
            return None
        if isinstance(valeur, int) and not isinstance(valeur, bool):
            # YAML 1.1 reads 10:59:32:33:44:55 as a base-60 number.
            self.erreur(valeur, cle, "MAC lue comme un nombre par YAML : mettez-la entre guillemets")
            return None
        if not isinstance(valeur, str):
            self.erreur(valeur, cle, f"adresse MAC attendue (texte), pas {type_yaml(valeur)}", hote=hote)
            return None
        if not MAC_COMPLETE.fullmatch(valeur):
            self.erreur(valeur, cle, f"adresse MAC invalide « {valeur} » (attendu : six octets complets, "
                                     "ex. aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff ou aabb.ccdd.eeff)")
            return None
        try:
            mac = normaliser_mac(valeur)
        except MacInvalide as exc:
            self.erreur(valeur, cle, str(exc))
            return None
        if est_multicast(mac):
            self.erreur(valeur, cle, f"{mac} est une adresse de groupe (multicast), pas celle d'un appareil")
            return None
        return mac

    def liste(self, valeur, cle: str) -> list:
        if valeur is None:
            return []
        if not isinstance(valeur, list):
            self.erreur(valeur, cle, "liste attendue")
            return []
        return valeur

    def cles_connues(self, item: dict, chemin: str, connues: tuple[str, ...]) -> None:
        """Refuse keys an entry does not know (a typo would silently drop a value)."""
        for cle in item:
            if cle not in connues:
                self.erreur(item, f"{chemin}.{cle}", f"clé inconnue (connues : {', '.join(connues)})")

    def entier(self, valeur, cle: str, minimum: int, maximum: int | None = None, hote: str | None = None) -> int | None:
        """An integer within bounds (booleans and texts refused)."""
        borne = f"entier de {minimum} à {maximum}" if maximum is not None else f"entier supérieur ou égal à {minimum}"
        if isinstance(valeur, bool) or not isinstance(valeur, int) or valeur < minimum or (
                maximum is not None and valeur > maximum):
            ecrite = str(valeur).lower() if isinstance(valeur, bool) else valeur  # as YAML writes it
            self.erreur(valeur, cle, f"valeur invalide « {ecrite} » ({borne})", hote=hote)
            return None
        return valeur

    def dictionnaire(self, valeur, cle: str) -> dict | None:
        if not isinstance(valeur, dict):
            self.erreur(valeur, cle, "dictionnaire attendu (clé: valeur)")
            return None
        return valeur


def liste_fusionnee(check: Validation, per_host: dict, cle: str, identifiant: str | None) -> list[dict]:
    """Union of a list variable over all hosts (group_vars apply to many), by identifier (None: whole entry)."""
    seen: dict[str, dict] = {}
    for values in per_host.values():
        for index, item in enumerate(check.liste(values.get(cle), cle)):
            item = check.dictionnaire(item, f"{cle}[{index}]")
            if item is None:
                continue
            key = str(item.get(identifiant, f"#{index}")) if identifiant else repr(sorted(item.items(), key=str))
            if key in seen and seen[key] != item:
                check.erreur(item, f"{cle}[{index}]", f"« {key} » est défini deux fois différemment")
                continue
            seen.setdefault(key, item)
    return list(seen.values())


def texte_ou_absent(check: Validation, valeur, cle: str, hote: str) -> bool:
    """True when an optional text variable is absent or a text (a number is taken as its text)."""
    if valeur is not None and (isinstance(valeur, bool) or not isinstance(valeur, (str, int))):
        check.erreur(valeur, cle, f"texte attendu, pas {type_yaml(valeur)}", hote=hote)
        return False
    return True


def type_yaml(valeur) -> str:
    """The YAML name of a value's type, for messages."""
    if valeur is None:
        return "une valeur vide"
    if isinstance(valeur, dict):
        return "un dictionnaire"
    if isinstance(valeur, list):
        return "une liste"
    if isinstance(valeur, bool):
        return "un booléen"
    return "un nombre" if isinstance(valeur, (int, float)) else "une valeur de type " + type(valeur).__name__


def date_aaaa_mm_jj(check: Validation, valeur, cle: str) -> dt.date | None:
    """An AAAA-MM-JJ date: a YAML date, or a text of exactly that form (not 2026-W52, 20261231, an hour)."""
    if isinstance(valeur, dt.date) and not isinstance(valeur, dt.datetime):
        return valeur
    if isinstance(valeur, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", valeur):
        try:
            return dt.date.fromisoformat(valeur)
        except ValueError:
            pass
    check.erreur(valeur, cle, f"date invalide « {valeur} » (attendu : AAAA-MM-JJ)")
    return None


def adresse_ipv4(check: Validation, valeur, cle: str) -> IPAddress | None:
    """An IPv4 address written alone (no prefix), or None and an error."""
    try:
        if not isinstance(valeur, str) or "/" in valeur:
            raise ValueError
        adresse = IPAddress(valeur.strip(), flags=0)
        if adresse.version != 4:
            raise ValueError
        return adresse
    except (AddrFormatError, ValueError, TypeError):
        check.erreur(valeur, cle, f"adresse IPv4 invalide « {valeur} » (ex. 10.20.110.10)")
        return None
