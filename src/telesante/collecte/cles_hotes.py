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
