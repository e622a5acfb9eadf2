"""Explicit management of the SSH host keys the audit trusts (a known_hosts file)."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

import paramiko

from telesante.configuration import Equipement
from telesante.ecriture import ecrire_atomiquement


class ErreurCleHote(Exception):
    """A host key could not be fetched or does not match what the admin expects."""


def nom_known_hosts(equipement: Equipement) -> str:
    """The name under which OpenSSH stores this equipment's key ("[host]:port" off port 22)."""
    host = str(equipement.adresse)
    return host if equipement.port_ssh == 22 else f"[{host}]:{equipement.port_ssh}"


def lire_cle_distante(equipement: Equipement, delai: float = 10.0) -> paramiko.PKey:
    """Fetch the host key the equipment presents (no authentication, nothing trusted yet)."""
    try:
        sock = socket.create_connection((equipement.adresse, equipement.port_ssh), timeout=delai)
    except OSError as exc:
        raise ErreurCleHote(f"{equipement.nom} ({equipement.adresse}:{equipement.port_ssh}) injoignable : {exc}") from exc
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = delai
        transport.start_client(timeout=delai)
        return transport.get_remote_server_key()
    except paramiko.SSHException as exc:
        raise ErreurCleHote(f"{equipement.nom} : échange SSH impossible ({exc})") from exc
    finally:
        transport.close()


def _charger(fichier: Path) -> paramiko.HostKeys:
    keys = paramiko.HostKeys()
    if fichier.exists():
        keys.load(str(fichier))
    return keys


def cles_connues(fichier: Path, equipement: Equipement) -> list[paramiko.PKey]:
    """The keys pinned for this equipment."""
    entry = _charger(fichier).lookup(nom_known_hosts(equipement))
    return list(entry.values()) if entry else []


def epingler(fichier: Path, equipement: Equipement, cle: paramiko.PKey) -> None:
    """Pin this key for the equipment, replacing any key of the same type (atomic write)."""
    keys = _charger(fichier)
    keys.add(nom_known_hosts(equipement), cle.get_name(), cle)
    _ecrire(fichier, keys)


def retirer(fichier: Path, equipement: Equipement) -> bool:
    """Remove every pinned key of the equipment; False if there was none."""
    keys = _charger(fichier)
    name = nom_known_hosts(equipement)
    if keys.lookup(name) is None:
        return False
    del keys[name]
    _ecrire(fichier, keys)
    return True


def _ecrire(fichier: Path, keys: paramiko.HostKeys) -> None:
    fichier.parent.mkdir(parents=True, exist_ok=True)
    # paramiko writes host keys only to a named file: in a private folder first, then atomically in place.
    with tempfile.TemporaryDirectory() as dossier:
        keys.save(os.path.join(dossier, "hotes_connus"))
        contenu = Path(dossier, "hotes_connus").read_bytes()
    ecrire_atomiquement(fichier, contenu)


def commande_cles_hotes(args) -> int:
    """`telesante cles-hotes lister|epingler|retirer`: the host keys the audit trusts, pinned explicitly."""
    import sys

    from telesante.codes import ERREUR_CONFIGURATION
    from telesante.console import configuration_de, console_erreurs, fichier_hotes_connus

    config = configuration_de(args)
    if config is None:
        return ERREUR_CONFIGURATION
    fichier = fichier_hotes_connus(args, config)
    out = console_erreurs()
    if args.action == "lister":
        for equipement in config.equipements:
            keys = cles_connues(fichier, equipement)
            state = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in keys) or "aucune clé épinglée"
            print(f"{equipement.nom} ({nom_known_hosts(equipement)}) : {state}")
        return 0
    equipement = next((e for e in config.equipements if e.nom == args.equipement), None)
    if equipement is None:
        out.print(f"Équipement « {args.equipement} » absent de l'inventaire {args.inventaire}.", markup=False)
        return ERREUR_CONFIGURATION
    if args.action == "retirer":
        removed = retirer(fichier, equipement)
        print(f"{equipement.nom} : clé retirée de {fichier}" if removed else f"{equipement.nom} : aucune clé épinglée")
        return 0
    try:
        cle = lire_cle_distante(equipement)
    except ErreurCleHote as exc:
        out.print(str(exc), markup=False)
        return 1
    print(f"{equipement.nom} ({nom_known_hosts(equipement)}) présente la clé {cle.get_name()} {cle.fingerprint}")
    if args.empreinte is not None:
        if args.empreinte.strip() != cle.fingerprint:
            out.print(f"Empreinte différente de celle attendue ({args.empreinte}) : clé NON épinglée.", markup=False)
            return 1
    elif not sys.stdin.isatty():
        out.print("Hors terminal, --empreinte est obligatoire : clé NON épinglée.", markup=False)
        return 1
    elif input("Épingler cette clé ? Vérifiez l'empreinte sur la console de l'équipement [o/N] ").strip().lower() not in ("o", "oui"):
        print("Clé NON épinglée.")
        return 1
    epingler(fichier, equipement, cle)
    print(f"Clé épinglée dans {fichier}.")
    return 0
