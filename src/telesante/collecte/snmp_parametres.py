"""How to read an equipment of platform `snmp`: its inventory variables, checked (no pysnmp import here).

| variable | sens |
|---|---|
| `telesante_snmp_version` | `2c` ou `3` (obligatoire) |
| `telesante_snmp_communaute` | v2c : communauté (secret, Vault) |
| `telesante_snmp_utilisateur` | v3 : utilisateur USM |
| `telesante_snmp_mot_de_passe_auth`, `telesante_snmp_mot_de_passe_chiffrement` | v3 authPriv (secrets, Vault ; 8 caractères au moins, RFC 3414) |
| `telesante_snmp_protocole_auth` | `SHA` (défaut), `SHA-224`, `SHA-256`, `SHA-384`, `SHA-512` |
| `telesante_snmp_protocole_chiffrement` | `AES` (défaut, AES-128), `AES-192`, `AES-256` |
| `telesante_snmp_port` | port UDP de l'agent (161) |
| `telesante_snmp_delai` | secondes d'attente d'une réponse (2 ; au plus 60) |
| `telesante_snmp_tentatives` | envois d'une même requête (2 ; 1 à 10) |
| `telesante_snmp_repetitions` | max-repetitions des GETBULK (25 ; 1 à 200) |
| `telesante_snmp_entrees_max` | borne d'une table (500 000 varbinds) : au-delà, elle « ne finit pas » |
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROTOCOLES_AUTH = ("SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PROTOCOLES_CHIFFREMENT = ("AES", "AES-192", "AES-256")
VERSIONS = ("2c", "3")
LONGUEUR_MIN_CLE = 8  # RFC 3414, 11.2: a USM passphrase has at least 8 characters


@dataclass(frozen=True)
class ParametresSnmp:
    """Credentials and bounds of one SNMP agent; secrets never printed."""

    version: str
    communaute: str | None = field(default=None, repr=False)
    utilisateur: str | None = None
    cle_auth: str | None = field(default=None, repr=False)
    cle_chiffrement: str | None = field(default=None, repr=False)
    protocole_auth: str = "SHA"
    protocole_chiffrement: str = "AES"
    port: int = 161
    delai: float = 2.0
    tentatives: int = 2
    repetitions: int = 25
    entrees_max: int = 500_000


def _secret(check, values: dict, cle: str, nom: str) -> str | None:
    """A secret text (possibly from Vault); errors name the key, never the value."""
    valeur = values.get(cle)
    if valeur is None:
        check.erreur(values.get("telesante_plateforme"), cle, f"obligatoire pour {nom} (plateforme snmp)", hote=nom)
        return None
    if isinstance(valeur, (bool, int, float, list, dict)):
        check.erreur(valeur, cle, "texte attendu (valeur non citée : secret)", hote=nom)
        return None
    texte = str(valeur)  # a Vault value is decrypted here
    if not texte or any(ord(c) < 32 or ord(c) == 127 for c in texte):
        check.erreur(valeur, cle, "vide ou avec un caractère de contrôle (valeur non citée : secret)", hote=nom)
        return None
    return texte


def _choix(check, values: dict, cle: str, permis: tuple[str, ...], defaut: str | None, nom: str) -> str | None:
    valeur = values.get(cle, defaut)
    if valeur is None:
        check.erreur(values.get("telesante_plateforme"), cle, f"obligatoire pour {nom} (plateforme snmp : "
                                                              f"{' ou '.join(permis)})", hote=nom)
        return None
    texte = str(valeur).strip().upper() if not isinstance(valeur, bool) else ""
    par_forme = {p.upper(): p for p in permis}
    if texte not in par_forme:
        check.erreur(valeur, cle, f"« {valeur} » inconnu (permis : {', '.join(permis)})", hote=nom)
        return None
    return par_forme[texte]


def lire_parametres_snmp(check, nom: str, values: dict) -> ParametresSnmp | None:
    """The SNMP settings of equipment `nom` from its variables; errors go to `check` (inventory validation)."""
    version = _choix(check, values, "telesante_snmp_version", VERSIONS, None, nom)
    bornes = {}
    for cle, attribut, minimum, maximum, defaut in (
            ("telesante_snmp_port", "port", 1, 65535, 161),
            ("telesante_snmp_tentatives", "tentatives", 1, 10, 2),
            ("telesante_snmp_repetitions", "repetitions", 1, 200, 25),
            ("telesante_snmp_entrees_max", "entrees_max", 1, 10_000_000, 500_000)):
        bornes[attribut] = check.entier(values.get(cle, defaut), cle, minimum, maximum, hote=nom)
    delai = values.get("telesante_snmp_delai", 2)
    if isinstance(delai, bool) or not isinstance(delai, (int, float)) or not 0 < delai <= 60:
        check.erreur(delai, "telesante_snmp_delai", f"valeur invalide « {delai} » (secondes, plus de 0 et au plus 60)",
                     hote=nom)
        delai = None
    if version == "2c":
        secrets = {"communaute": _secret(check, values, "telesante_snmp_communaute", nom)}
        valide = secrets["communaute"] is not None
    elif version == "3":
        utilisateur = values.get("telesante_snmp_utilisateur")
        if not isinstance(utilisateur, str) or not utilisateur.strip():
            check.erreur(utilisateur, "telesante_snmp_utilisateur", f"utilisateur SNMPv3 (texte) obligatoire pour {nom}",
                         hote=nom)
            utilisateur = None
        secrets = {"utilisateur": utilisateur,
                   "cle_auth": _secret(check, values, "telesante_snmp_mot_de_passe_auth", nom),
                   "cle_chiffrement": _secret(check, values, "telesante_snmp_mot_de_passe_chiffrement", nom),
                   "protocole_auth": _choix(check, values, "telesante_snmp_protocole_auth", PROTOCOLES_AUTH, "SHA", nom),
                   "protocole_chiffrement": _choix(check, values, "telesante_snmp_protocole_chiffrement",
                                                   PROTOCOLES_CHIFFREMENT, "AES", nom)}
        for cle, attribut in (("telesante_snmp_mot_de_passe_auth", "cle_auth"),
                              ("telesante_snmp_mot_de_passe_chiffrement", "cle_chiffrement")):
            if secrets[attribut] is not None and len(secrets[attribut]) < LONGUEUR_MIN_CLE:
                check.erreur(values.get(cle), cle, f"trop court : {LONGUEUR_MIN_CLE} caractères au moins (RFC 3414) ; "
                                                   "valeur non citée : secret", hote=nom)
                secrets[attribut] = None
        valide = all(v is not None for v in secrets.values())
    else:
        return None
    if not valide or delai is None or None in bornes.values():
        return None
    return ParametresSnmp(version=version, delai=float(delai), **bornes, **secrets)
