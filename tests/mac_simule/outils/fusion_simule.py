"""VMware Fusion licensing on the simulated Mac, shared by its stand-ins.

Two documented ways put a serial number on a Mac, and the simulated Mac
models both, by Fusion version:

* ``"Initialize VMware Fusion.tool" set "<user>" "<company>" "<serial>"``:
  the serial on the command line (usages: Homebrew cask ``vmware-fusion``,
  postflight ``args: ["set"]``; Chef resource ``vmware_fusion``,
  ``set '' '' '<license>'`` with ``sensitive true``). Visible to ``ps``.
* the mass deployment package that Fusion ships inside its bundle,
  ``Contents/Library/Deploy VMware Fusion.mpkg`` (VMware KB 2058680,
  « Mass deploying VMware Fusion »): copy the package, put
  ``VMware Fusion.app`` into ``Contents/00Fusion_Deployment_Items/``, and in
  ``Deploy.ini`` of that folder, under ``[Volume License]``, remove the ``#``
  of the dummy line ``# key = XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`` and put the
  volume licence key there; then ``installer -pkg "Deploy VMware
  Fusion.mpkg" -target /``. The serial is read from a file. Steps as quoted
  by public deployment write-ups (github.com/mrmstevenson/Scripts README,
  Fusion 5 to 7; the aquarium-fish README, Fusion 13.0.1). How the package
  applies the key internally is not documented; the simulated Mac models the
  documented effect (the application installed, the licence stored).

Broadcom made Fusion Pro free for all uses on 11 November 2024
(blogs.vmware.com/cloud-foundation/2024/11/11/vmware-fusion-and-workstation-
are-now-free-for-all-users/). The project treats 13.6.2, the first release
after that announcement, as the first without a licence key
(``VERSION_SANS_LICENCE``; its release notes were not found in the sources
consulted: to check on a real Mac). Nothing documents what these versions do
with a serial: the simulated Mac refuses it, and builds no deployment package
for them.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import plistlib
import re
import time
from pathlib import Path

IDENTIFIANT = "com.vmware.fusion"
# First Fusion version without any licence key (see the module docstring).
VERSION_SANS_LICENCE = (13, 6, 2)
NUMERO = re.compile(r"^[A-Z0-9]{5}(-[A-Z0-9]{5}){4}$")
PREFERENCES = Path("/Library/Preferences/VMware Fusion")
LICENCE = PREFERENCES / "license-fusion-130-e1-202208"
RESEAU = """VERSION=1,0
answer VNET_1_DHCP yes
answer VNET_1_HOSTONLY_NETMASK 255.255.255.0
answer VNET_1_HOSTONLY_SUBNET 172.16.94.0
answer VNET_1_VIRTUAL_ADAPTER yes
answer VNET_8_DHCP yes
answer VNET_8_HOSTONLY_NETMASK 255.255.255.0
answer VNET_8_HOSTONLY_SUBNET 192.168.225.0
answer VNET_8_NAT yes
answer VNET_8_VIRTUAL_ADAPTER yes
"""
# Mass deployment package: its folder of items and the section of Deploy.ini with the key.
PAQUET_DEPLOIEMENT = "Deploy VMware Fusion.mpkg"
ELEMENTS_DEPLOIEMENT = Path("Contents/00Fusion_Deployment_Items")
SECTION_LICENCE = "Volume License"
# Deploy.ini as the package ships it: the key line commented out (KB 2058680). The other
# settings of the real file are not modelled.
DEPLOY_INI = f"""# Deploy.ini : déploiement de masse de VMware Fusion (Mac simulé, KB VMware 2058680).
# Seule la section de la clé de licence en volume est modélisée.
[{SECTION_LICENCE}]
# key = XXXXX-XXXXX-XXXXX-XXXXX-XXXXX
"""


class LicenceInvalide(Exception):
    """A serial number the tool refuses (the message never contains it)."""


def version_application(app: Path) -> tuple[int, ...]:
    """CFBundleShortVersionString of a Fusion bundle, as a tuple (() if unreadable)."""
    try:
        with open(app / "Contents" / "Info.plist", "rb") as flux:
            return version(str(plistlib.load(flux).get("CFBundleShortVersionString", "")))
    except (OSError, ValueError):
        return ()


def version(texte: str) -> tuple[int, ...]:
    """``13.5.2`` -> (13, 5, 2); () if it is not a dotted version."""
    if not re.fullmatch(r"\d+(\.\d+)*", texte):
        return ()
    return tuple(int(partie) for partie in texte.split("."))


def a_une_licence(version: tuple[int, ...]) -> bool:
    """Whether this Fusion version still takes a licence key."""
    return bool(version) and version < VERSION_SANS_LICENCE


def initialiser() -> None:
    """What ``Initialize VMware Fusion.tool set`` does: the host's networking configuration."""
    import macos_etat as etat  # inside the Mac only (the harness loads this module on the host)

    PREFERENCES.mkdir(parents=True, exist_ok=True)
    reseau = PREFERENCES / "networking"
    if not reseau.exists():
        reseau.write_text(RESEAU)
    with etat.modifier("vmware", {}) as donnees:
        donnees["initialise"] = True


def appliquer_licence(numero: str, nom: str = "", societe: str = "") -> None:
    """Store a serial number (file 0600, sha256 in vmware.json); LicenceInvalide if malformed."""
    import macos_etat as etat  # inside the Mac only (the harness loads this module on the host)

    numero = numero.strip().upper()
    if not NUMERO.match(numero):
        raise LicenceInvalide("invalid serial number (expected XXXXX-XXXXX-XXXXX-XXXXX-XXXXX)")
    PREFERENCES.mkdir(parents=True, exist_ok=True)
    descripteur = os.open(LICENCE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descripteur, "w") as sortie:
        sortie.write(f"# VMware Fusion licence (Mac simulé)\nSerial = {numero}\n"
                     f"Name = {nom}\nCompany = {societe}\n")
    with etat.modifier("vmware", {}) as donnees:
        donnees["licence"] = {"sha256": hashlib.sha256(numero.encode()).hexdigest(),
                              "date": int(time.time())}


def cle_deploiement(deploy_ini: Path) -> str | None:
    """The ``key`` of section [Volume License] of a Deploy.ini (None: still commented out)."""
    lecteur = configparser.ConfigParser(comment_prefixes=("#", ";"), inline_comment_prefixes=None,
                                        interpolation=None, strict=False)
    lecteur.read_string(deploy_ini.read_text(encoding="utf-8"))
    if not lecteur.has_section(SECTION_LICENCE):
        return None
    cle = lecteur.get(SECTION_LICENCE, "key", fallback="").strip()
    return cle or None


def est_paquet_deploiement(paquet: Path) -> bool:
    """Whether ``paquet`` is Fusion's mass deployment package (a bundle with Deploy.ini)."""
    return paquet.is_dir() and (paquet / ELEMENTS_DEPLOIEMENT / "Deploy.ini").is_file()
