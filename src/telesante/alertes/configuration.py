"""The alert channels, read from the inventory (`telesante_alertes_courriel`,
`telesante_alertes_syslog`, `telesante_alertes_webhook`, usually in group_vars/all/).

Validated with the rest of the inventory: a wrong value is an error that names the file,
the line and the key (exit code 3). Secrets (the SMTP password, a webhook address whose
path carries a token) are never quoted in a message, nor shown by repr().
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.errors import HeaderParseError
from pathlib import Path
from urllib.parse import urlsplit

VARIABLES = ("telesante_alertes_courriel", "telesante_alertes_syslog", "telesante_alertes_webhook")
CLES_COURRIEL = ("serveur", "port", "expediteur", "destinataires", "utilisateur", "mot_de_passe", "delai_secondes",
                 "autorite_certification")
CLES_SYSLOG = ("serveur", "port", "transport", "facilite", "delai_secondes")
CLES_WEBHOOK = ("url", "format", "delai_secondes")
FORMATS_WEBHOOK = ("json", "teams", "slack")
TRANSPORTS_SYSLOG = ("udp", "tcp")
# RFC 5424, 6.2.1: facility numbers.
FACILITES = {"user": 1, "daemon": 3, "auth": 4, **{f"local{n}": 16 + n for n in range(8)}}
DELAI_MAX = 300
_NOM_HOTE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,252}[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?")


@dataclass(frozen=True)
class Courriel:
    """SMTP with STARTTLS (always) and authentication (always)."""

    serveur: str
    port: int
    expediteur: str
    destinataires: tuple[str, ...]
    utilisateur: str
    mot_de_passe: str = field(repr=False)
    delai: float = 30.0
    autorite: Path | None = None  # CA file that signs the server's certificate; None: the system's


@dataclass(frozen=True)
class Syslog:
    """RFC 5424 messages to a SIEM collector, over UDP (RFC 5426) or TCP (RFC 6587, octet counting)."""

    serveur: str
    port: int = 514
    transport: str = "udp"
    facilite: str = "local0"
    delai: float = 10.0


@dataclass(frozen=True)
class Webhook:
    """A JSON POST: Microsoft Teams (workflow), Slack (incoming webhook) or any HTTP receiver."""

    url: str = field(repr=False)  # its path often carries a token: never shown
    format: str = "json"
    delai: float = 10.0

    @property
    def destination(self) -> str:
        """Scheme and host only: what a message may say of the address."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


@dataclass(frozen=True)
class ConfigurationAlertes:
    """The channels declared by the inventory (None: not declared)."""

    courriel: Courriel | None = None
    syslog: Syslog | None = None
    webhook: Webhook | None = None

    def canaux(self) -> tuple[str, ...]:
        """Names of the declared channels, in a fixed order."""
        return tuple(nom for nom in ("courriel", "syslog", "webhook") if getattr(self, nom) is not None)


def lire_alertes(check, per_host: dict, racine: Path) -> ConfigurationAlertes:
    """Read and validate the alert variables (one value for the whole inventory); errors go to `check`."""
    valeurs = {}
    for variable in VARIABLES:
        vues = [(host, values[variable]) for host, values in per_host.items() if values.get(variable) is not None]
        valeur = check.valeur_unique(variable, vues, None)
        if valeur is not None and check.dictionnaire(valeur, variable) is not None:
            valeurs[variable] = valeur
    return ConfigurationAlertes(
        courriel=_courriel(check, valeurs["telesante_alertes_courriel"], racine)
        if "telesante_alertes_courriel" in valeurs else None,
        syslog=_syslog(check, valeurs["telesante_alertes_syslog"]) if "telesante_alertes_syslog" in valeurs else None,
        webhook=_webhook(check, valeurs["telesante_alertes_webhook"]) if "telesante_alertes_webhook" in valeurs else None,
    )


def _serveur(check, item: dict, chemin: str) -> str | None:
    serveur = check.texte(item, "serveur", chemin)
    if serveur is not None and not _NOM_HOTE.fullmatch(serveur):
        check.erreur(item["serveur"], f"{chemin}.serveur", f"nom d'hôte ou adresse invalide « {serveur} »")
        return None
    return serveur.strip("[]") if serveur else None


def _port(check, item: dict, chemin: str, defaut: int) -> int | None:
    return defaut if item.get("port") is None else check.entier(item["port"], f"{chemin}.port", 1, 65535)


def _delai(check, item: dict, chemin: str, defaut: float) -> float | None:
    if item.get("delai_secondes") is None:
        return defaut
    valeur = check.entier(item["delai_secondes"], f"{chemin}.delai_secondes", 1, DELAI_MAX)
    return None if valeur is None else float(valeur)


def _adresse_courriel(check, valeur, cle: str) -> str | None:
    """One mail address (« nom@domaine »), no display name, no line break (header injection)."""
    if not isinstance(valeur, str) or not valeur.strip():
        check.erreur(valeur, cle, "adresse de courriel attendue (texte « nom@domaine »)")
        return None
    texte = valeur.strip()
    try:
        adresse = Address(addr_spec=texte)
    except (HeaderParseError, ValueError, IndexError):
        adresse = None
    if adresse is None or not adresse.username or "." not in adresse.domain or any(c in texte for c in "\r\n<>,"):
        check.erreur(valeur, cle, f"adresse de courriel invalide « {texte} » (attendu : nom@domaine)")
        return None
    return texte


def _courriel(check, item: dict, racine: Path) -> Courriel | None:
    chemin = "telesante_alertes_courriel"
    check.cles_connues(item, chemin, CLES_COURRIEL)
    serveur = _serveur(check, item, chemin)
    port = _port(check, item, chemin, 587)
    expediteur = _adresse_courriel(check, item.get("expediteur"), f"{chemin}.expediteur")
    destinataires = []
    brutes = item.get("destinataires")
    if isinstance(brutes, str):
        brutes = [brutes]
    if not isinstance(brutes, list) or not brutes:
        check.erreur(item.get("destinataires", item), f"{chemin}.destinataires",
                     "liste d'adresses de courriel attendue (au moins une)")
        brutes = []
    for j, brute in enumerate(brutes):
        destinataires.append(_adresse_courriel(check, brute, f"{chemin}.destinataires[{j}]"))
    utilisateur = check.texte(item, "utilisateur", chemin)
    mot_de_passe = item.get("mot_de_passe")
    if not isinstance(mot_de_passe, str) or not mot_de_passe:
        # Never quoted: a secret, usually « {{ vault_... }} » from a Vault file.
        check.erreur(item, f"{chemin}.mot_de_passe", "mot de passe SMTP obligatoire (texte, depuis Ansible Vault : "
                     "mot_de_passe: \"{{ vault_smtp_mot_de_passe }}\")")
        mot_de_passe = None
    elif any(c in mot_de_passe for c in "\r\n\x00"):
        check.erreur(item, f"{chemin}.mot_de_passe", "mot de passe SMTP invalide (saut de ligne ou NUL ; non cité)")
        mot_de_passe = None
    autorite = None
    if item.get("autorite_certification") is not None:
        texte = check.texte(item, "autorite_certification", chemin)
        if texte:
            autorite = racine / texte
            if not autorite.is_file():
                check.erreur(item["autorite_certification"], f"{chemin}.autorite_certification",
                             f"fichier introuvable : {autorite}")
                autorite = None
    delai = _delai(check, item, chemin, 30.0)
    if None in (serveur, port, expediteur, utilisateur, mot_de_passe, delai) or None in destinataires or not destinataires:
        return None
    if item.get("autorite_certification") is not None and autorite is None:
        return None
    return Courriel(serveur, port, expediteur, tuple(destinataires), utilisateur, mot_de_passe, delai, autorite)


def _syslog(check, item: dict) -> Syslog | None:
    chemin = "telesante_alertes_syslog"
    check.cles_connues(item, chemin, CLES_SYSLOG)
    serveur = _serveur(check, item, chemin)
    port = _port(check, item, chemin, 514)
    transport = item.get("transport", "udp")
    if transport not in TRANSPORTS_SYSLOG:
        check.erreur(transport, f"{chemin}.transport", f"« {transport} » inconnu (attendu : udp ou tcp)")
        transport = None
    facilite = item.get("facilite", "local0")
    if facilite not in FACILITES:
        check.erreur(facilite, f"{chemin}.facilite", f"« {facilite} » inconnue (connues : {', '.join(FACILITES)})")
        facilite = None
    delai = _delai(check, item, chemin, 10.0)
    if None in (serveur, port, transport, facilite, delai):
        return None
    return Syslog(serveur, port, transport, facilite, delai)


def _webhook(check, item: dict) -> Webhook | None:
    chemin = "telesante_alertes_webhook"
    check.cles_connues(item, chemin, CLES_WEBHOOK)
    url = item.get("url")
    valide = False
    if isinstance(url, str):
        try:
            parts = urlsplit(url.strip())
            valide = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(
                c in url for c in "\r\n\x00 ") and (parts.port is None or parts.port > 0)
        except ValueError:
            valide = False
    if not valide:
        # The address is not quoted: a Teams or Slack webhook carries its token in it.
        check.erreur(item.get("url", item), f"{chemin}.url",
                     "adresse http:// ou https:// attendue (non citée : elle peut porter un jeton)")
    format_ = item.get("format", "json")
    if format_ not in FORMATS_WEBHOOK:
        check.erreur(format_, f"{chemin}.format", f"« {format_} » inconnu (attendu : {', '.join(FORMATS_WEBHOOK)})")
        format_ = None
    delai = _delai(check, item, chemin, 10.0)
    if not valide or None in (format_, delai):
        return None
    return Webhook(url.strip(), format_, delai)
