"""Stand-ins of the workstation checks (FileVault, Gatekeeper, DNS and HTTP), added to a simulated Mac.

``outils/fdesetup``, ``outils/spctl`` and ``outils/curl`` are copied into the Mac's
``/opt/telesante-macos/bin`` (first in its PATH) by :func:`installer_complements`, which the
provisioning tests call on each Mac they build; the state they read is set by
:func:`regler_filevault` and :func:`regler_dns`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .construction import OUTILS

COMPLEMENTS = ("fdesetup", "spctl", "curl")
ETATS_FILEVAULT = ("actif", "inactif", "chiffrement", "dechiffrement")


def installer_complements(mac) -> None:
    """Copy the workstation-check stand-ins into ``mac`` (idempotent)."""
    for nom in COMPLEMENTS:
        cible = mac.chemin(f"/opt/telesante-macos/bin/{nom}")
        shutil.copy2(OUTILS / nom, cible)
        cible.chmod(0o755)


def _ecrire_etat(mac, nom: str, donnees) -> None:
    chemin = Path(mac.chemin(f"/private/var/telesante-etat/{nom}.json"))
    chemin.write_text(json.dumps(donnees, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    chemin.chmod(0o666)


def regler_filevault(mac, etat: str, pourcentage: float = 42.0) -> None:
    """FileVault as ``fdesetup status`` reports it: actif, inactif, chiffrement, dechiffrement."""
    if etat not in ETATS_FILEVAULT:
        raise ValueError(f"état de FileVault inconnu : {etat!r} ({', '.join(ETATS_FILEVAULT)})")
    _ecrire_etat(mac, "filevault", {"etat": etat, "pourcentage": pourcentage})


def regler_dns(mac, noms: dict[str, str]) -> None:
    """The Mac's resolver: name -> IPv4 (other names are not resolved, curl exits 6)."""
    _ecrire_etat(mac, "dns", {nom.lower().rstrip("."): adresse for nom, adresse in noms.items()})
