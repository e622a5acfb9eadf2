"""Helpers of the provisioning tests: run the playbook, read its recap, snapshot a Mac."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ansible_collections.sante_quebec.telesante.plugins.module_utils.vmx import parse_vmx

RACINE = Path(__file__).resolve().parents[2]
PLAYBOOK = RACINE / "playbooks" / "poste_dsq.yml"
OUTILS = Path(__file__).resolve().parent / "outils"
BIN_MAC = "/opt/telesante-macos/bin"
APPLICATION = "/Applications/VMware Fusion.app"
DOSSIER_VM = "/Users/Shared/Virtual Machines"
NOM_VM = "Windows DSQ"
VMX = f"{DOSSIER_VM}/{NOM_VM}.vmwarevm/{NOM_VM}.vmx"
VMDK = f"{DOSSIER_VM}/{NOM_VM}.vmwarevm/{NOM_VM}.vmdk"
ISO_MAC = "/Users/Shared/Installateurs/windows.iso"

# What a provisioning run may touch on a Mac: compared before and after a --check run.
ZONES_SURVEILLEES = (
    "/Applications",
    "/Users/Shared",
    "/Library/Preferences",
    "/private/var/tmp",
    "/private/var/telesante-etat",
    "/private/tmp",
)

_RECAP = re.compile(
    r"^(?P<hote>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)")


@dataclass
class Passage:
    """One ansible-playbook run."""

    code: int
    sortie: str
    duree: float
    recap: dict[str, dict[str, int]]

    def changes(self, hote: str | None = None) -> int:
        if hote is not None:
            return self.recap[hote]["changed"]
        return sum(h["changed"] for h in self.recap.values())

    def echecs(self) -> int:
        return sum(h["failed"] + h["unreachable"] for h in self.recap.values())


def lire_recap(sortie: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines: host -> {ok, changed, unreachable, failed}."""
    recap: dict[str, dict[str, int]] = {}
    dans_recap = False
    for ligne in sortie.splitlines():
        if ligne.startswith("PLAY RECAP"):
            dans_recap = True
            continue
        if dans_recap:
            trouve = _RECAP.match(ligne.strip())
            if trouve:
                recap[trouve["hote"]] = {k: int(v) for k, v in trouve.groupdict().items() if k != "hote"}
    return recap


def environnement() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(RACINE / "ansible.cfg")
    env["ANSIBLE_NOCOLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    env["ANSIBLE_RETRY_FILES_ENABLED"] = "False"
    env["ANSIBLE_STDOUT_CALLBACK"] = "default"
    env.setdefault("ANSIBLE_LOCAL_TEMP", "/tmp/telesante-ansible-local")
    return env


# The ControlMaster folders this process created, and only those: another run of the
# tests on the same machine has its own, which must survive our cleanup.
_DOSSIERS_CONTROLE_CREES: set[Path] = set()


def dossier_controle_ssh(inventaire: Path) -> Path:
    """SSH ControlMaster sockets of one inventory (short path: a socket path is limited to 104 bytes).

    Simulated Macs reuse addresses from one test to the next: a master connection kept
    alive for an earlier Mac must never serve the next one.
    """
    empreinte_inventaire = hashlib.sha256(str(Path(inventaire).resolve()).encode()).hexdigest()[:12]
    dossier = Path(tempfile.gettempdir()) / f"telesante-ssh-{empreinte_inventaire}"
    try:
        dossier.mkdir(mode=0o700)
    except FileExistsError:
        pass
    else:
        _DOSSIERS_CONTROLE_CREES.add(dossier)
    return dossier


@contextlib.contextmanager
def dossiers_controle_ssh_retires() -> Iterator[None]:
    """On exit, remove the ControlMaster folders this process created (never another run's)."""
    try:
        yield
    finally:
        while _DOSSIERS_CONTROLE_CREES:
            shutil.rmtree(_DOSSIERS_CONTROLE_CREES.pop(), ignore_errors=True)


def jouer(inventaire: Path, *options: str, forks: int | None = None, timeout: int = 900) -> Passage:
    """Run playbooks/poste_dsq.yml against an inventory; never raises on failure."""
    commande = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventaire),
                str(PLAYBOOK), *options]
    if forks is not None:
        commande += ["--forks", str(forks)]
    env = environnement()
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(dossier_controle_ssh(inventaire))
    debut = time.monotonic()
    resultat = subprocess.run(commande, cwd=RACINE, env=env, capture_output=True,
                              text=True, timeout=timeout)
    duree = time.monotonic() - debut
    sortie = resultat.stdout + resultat.stderr
    return Passage(resultat.returncode, sortie, duree, lire_recap(resultat.stdout))


def macs_attendues_par_l_audit(inventaire: Path) -> dict[str, str]:
    """MAC -> name of what the network audit allows, read from the same inventory by the audit's code."""
    from telesante.inventaire.autorisations import lire_autorises
    from telesante.inventaire.lecture_ansible import inventaire_ansible, variables_hote
    from telesante.inventaire.validation import Validation

    loader, inventory, variables = inventaire_ansible(Path(inventaire), None)
    par_hote = {hote.name: variables_hote(loader, variables, hote) for hote in inventory.get_hosts()}
    validation = Validation(Path(inventaire))
    autorises = lire_autorises(validation, par_hote)
    assert validation.erreurs == [], validation.erreurs
    return {mac: autorise.nom for mac, autorise in autorises.items()}


def installer_outils(mac) -> None:
    """Add the provisioning's own stand-ins (hdiutil makehybrid) and the workstation checks'
    (fdesetup, spctl, curl: tests/mac_simule/complements.py) to a simulated Mac."""
    from tests.mac_simule.complements import installer_complements

    installer_complements(mac)
    bin_mac = mac.chemin(BIN_MAC)
    origine = bin_mac / "hdiutil"
    base = bin_mac / ".hdiutil-mac-simule"
    if not base.exists():
        origine.rename(base)
    shutil.copy2(OUTILS / "hdiutil", origine)
    origine.chmod(origine.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def lire_vmx(chemin: Path) -> dict[str, str]:
    """Keys of a .vmx (lower-cased) -> value, as VMware reads them (last occurrence wins)."""
    document = parse_vmx(Path(chemin).read_bytes())
    return {cle.lower(): valeur for cle, valeur in document.items()}


# Real .vmx written by VMware: Workstation 16/17 (shared fixtures, read in place) and Fusion
# on Apple Silicon (vmx_reels/, source and licence in vmx_reels/PROVENANCE.md).
VMX_REELS = sorted((RACINE.parent / "shared" / "fixtures" / "vmx").glob("*.vmx")) + sorted(
    (Path(__file__).resolve().parent / "vmx_reels").glob("*.vmx"))
# Written by VMware itself when the VM powers on (never by whoever creates the VM).
_ECRITES_AU_DEMARRAGE = re.compile(
    r"(\.pcislotnumber$|^ethernet0\.generatedaddress|^vmci0\.id$|^uuid\.|^numa\.|^monitor\.|"
    r"^svga\.vramsize$|^vmotion\.|^vmxstats\.)")
# Deliberate choices of the role, where it differs from what the Fusion wizard writes.
CHOIX_DU_ROLE = {
    "ethernet0.addresstype": "static : la MAC dérivée du numéro de série, attendue par l'audit",
    "ethernet0.connectiontype": "pont sur l'interface filaire (la MAC doit sortir sur le réseau)",
    "memsize": "taille choisie par l'inventaire",
}


def ecarts_avec_fusion(vmx: dict[str, str]) -> list[str]:
    """Keys that every real .vmx has (same value when they all agree) and vmx lacks or changes."""
    reels = [lire_vmx(chemin) for chemin in VMX_REELS]
    ecarts = []
    for cle, valeur in sorted(reels[0].items()):
        if cle in CHOIX_DU_ROLE or _ECRITES_AU_DEMARRAGE.search(cle):
            continue
        if not all(cle in reel for reel in reels[1:]):
            continue
        if cle not in vmx:
            ecarts.append(f"{cle} absente (présente dans tous les .vmx réels)")
        elif all(reel[cle] == valeur for reel in reels[1:]) and vmx[cle] != valeur:
            ecarts.append(f"{cle} = {vmx[cle]!r}, tous les .vmx réels ont {valeur!r}")
    return ecarts


def empreinte(chemin: Path) -> str:
    sha = hashlib.sha256()
    with open(chemin, "rb") as fichier:
        for bloc in iter(lambda: fichier.read(1 << 20), b""):
            sha.update(bloc)
    return sha.hexdigest()


def instantane(mac, zones: tuple[str, ...] = ZONES_SURVEILLEES) -> dict[str, tuple]:
    """Every file and folder under the zones: type, mode, size and content hash."""
    etat: dict[str, tuple] = {}
    for zone in zones:
        racine = mac.chemin(zone)
        if not racine.exists():
            continue
        for dossier, sous_dossiers, fichiers in os.walk(racine):
            sous_dossiers.sort()
            for nom in sous_dossiers + sorted(fichiers):
                chemin = Path(dossier) / nom
                relatif = zone + "/" + str(chemin.relative_to(racine))
                info = chemin.lstat()
                if stat.S_ISLNK(info.st_mode):
                    etat[relatif] = ("lien", os.readlink(chemin))
                elif stat.S_ISDIR(info.st_mode):
                    etat[relatif] = ("dossier", stat.S_IMODE(info.st_mode))
                else:
                    etat[relatif] = ("fichier", stat.S_IMODE(info.st_mode), info.st_size, empreinte(chemin))
    return etat


def differences(avant: dict[str, tuple], apres: dict[str, tuple]) -> list[str]:
    lignes = []
    for chemin in sorted(set(avant) | set(apres)):
        if chemin not in avant:
            lignes.append(f"+ {chemin}")
        elif chemin not in apres:
            lignes.append(f"- {chemin}")
        elif avant[chemin] != apres[chemin]:
            lignes.append(f"~ {chemin} : {avant[chemin]} -> {apres[chemin]}")
    return lignes
