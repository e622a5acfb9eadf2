"""Build test installers for the simulated Mac (never real, proprietary ones).

* :func:`fabriquer_fusion`: a VMware Fusion installer, as a DMG (volume
  "VMware Fusion" holding ``VMware Fusion.pkg``), a flat package, or a ZIP
  of ``VMware Fusion.app``. The payload installs ``/Applications/VMware
  Fusion.app`` with a real XML ``Contents/Info.plist`` (bundle id
  ``com.vmware.fusion``, ``CFBundleShortVersionString``) and the Fusion
  stand-ins in ``Contents/Library`` (``vmrun``, ``vmware-vdiskmanager``,
  ``Initialize VMware Fusion.tool``), linked from ``Contents/Public``;
  before 13.6.2 (still licensed), ``Contents/Library/Deploy VMware
  Fusion.mpkg``, the mass deployment package and its ``Deploy.ini``.
* :func:`fabriquer_paquet`: any flat package (token middleware, DSQ tools...).
* :func:`fabriquer_iso`: a small file standing for a Windows ISO.
* :func:`sha256`: the checksum the inventory gives for each installer.

The formats are those of ``outils/macos_formats.py`` (the same code the
stand-ins read them with): UDIF trailer for DMGs, xar header plus zip for
packages.
"""

from __future__ import annotations

import hashlib
import io
import plistlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from types import ModuleType

from .construction import OUTILS, OUTILS_FUSION, module_outils

IDENTIFIANT_FUSION = "com.vmware.fusion"
APP_FUSION = "VMware Fusion.app"
VOLUME_FUSION = "VMware Fusion"
PAQUET_DANS_DMG = "VMware Fusion.pkg"
# Fusion version -> build number, as on VMware's download names.
BUILDS_FUSION = {"13.6.2": "24409261", "13.6.1": "24319021", "13.6.0": "24238079",
                 "13.5.2": "23775688", "13.5.1": "23298085", "12.2.5": "20904517"}
FORMATS = ("dmg", "pkg", "zip")
# Developer ID team of VMware, Inc., that signs VMware Fusion.
EQUIPE_VMWARE = ("EG7KH642X6", "VMware, Inc.")


def _formats() -> ModuleType:
    return module_outils("macos_formats")


def build_fusion(version: str) -> str:
    """Build number of a Fusion version (VMware's when known, derived otherwise)."""
    if version in BUILDS_FUSION:
        return BUILDS_FUSION[version]
    return str(20000000 + int(hashlib.sha256(version.encode()).hexdigest()[:6], 16) % 9999999)


def _application_fusion(dossier: Path, version: str) -> Path:
    """Write ``VMware Fusion.app`` into ``dossier``; return its path."""
    app = dossier / APP_FUSION
    contenu = app / "Contents"
    (contenu / "MacOS").mkdir(parents=True)
    (contenu / "Library").mkdir()
    (contenu / "Public").mkdir()
    (contenu / "Resources").mkdir()
    with open(contenu / "Info.plist", "wb") as flux:
        plistlib.dump({
            "CFBundleDevelopmentRegion": "English",
            "CFBundleDisplayName": "VMware Fusion",
            "CFBundleExecutable": "VMware Fusion",
            "CFBundleIdentifier": IDENTIFIANT_FUSION,
            "CFBundleInfoDictionaryVersion": "6.0",
            "CFBundleName": "VMware Fusion",
            "CFBundlePackageType": "APPL",
            "CFBundleShortVersionString": version,
            "CFBundleVersion": build_fusion(version),
            "LSMinimumSystemVersion": "12.0",
            "NSHumanReadableCopyright": "Copyright (c) 1998-2024 Broadcom. All Rights Reserved.",
        }, flux)
    executable = contenu / "MacOS" / "VMware Fusion"
    executable.write_text("#!/bin/sh\n# Application VMware Fusion (Mac simulé) : pas d'interface.\n"
                          "exit 0\n")
    executable.chmod(0o755)
    (contenu / "PkgInfo").write_text("APPLVMWF")
    for nom in OUTILS_FUSION:
        shutil.copy2(OUTILS / nom, contenu / "Library" / nom)
        (contenu / "Library" / nom).chmod(0o755)
    for nom in ("vmrun", "vmware-vdiskmanager"):
        (contenu / "Public" / nom).symlink_to(f"../Library/{nom}")
    fusion = module_outils("fusion_simule")
    if fusion.a_une_licence(fusion.version(version)):
        # the mass deployment package Fusion ships while it takes a licence key (KB 2058680)
        paquet = contenu / "Library" / fusion.PAQUET_DEPLOIEMENT
        (paquet / fusion.ELEMENTS_DEPLOIEMENT).mkdir(parents=True)
        with open(paquet / "Contents" / "Info.plist", "wb") as flux:
            plistlib.dump({"CFBundleIdentifier": "com.vmware.fusion.deploy",
                           "CFBundleShortVersionString": version, "IFMajorVersion": 1}, flux)
        (paquet / fusion.ELEMENTS_DEPLOIEMENT / "Deploy.ini").write_text(fusion.DEPLOY_INI)
    # VMware Tools for Windows guests, one image per guest architecture, as Fusion ships them
    for architecture in ("x86_x64", "arm64"):
        image = contenu / "Library" / "isoimages" / architecture / "windows.iso"
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_bytes(f"VMware Tools {version} pour Windows {architecture} (Mac simulé)\n".encode() * 64)
    return app


def fabriquer_paquet(dossier: Path | str, nom: str, identifiant: str, version: str,
                     charge: Path | str, emplacement: str = "/Applications") -> Path:
    """Write flat package ``<dossier>/<nom>`` whose payload is folder ``charge``.

    The payload's content lands under ``emplacement`` (install-location).
    """
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    sortie = dossier / nom
    charge = Path(charge)
    bundles = []
    for app in sorted(charge.glob("*.app")):
        info = app / "Contents" / "Info.plist"
        if info.is_file():
            with open(info, "rb") as flux:
                donnees = plistlib.load(flux)
            bundles.append((app.name, donnees.get("CFBundleIdentifier", identifiant),
                            donnees.get("CFBundleShortVersionString", version)))
    _formats().ecrire_paquet(sortie, identifiant, version, emplacement, charge, bundles)
    return sortie


def fabriquer_dmg(dossier: Path | str, nom: str, volume: str, contenu: Path | str,
                  format_udif: str = "UDZO") -> Path:
    """Write disk image ``<dossier>/<nom>`` whose volume ``volume`` holds folder ``contenu``."""
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    sortie = dossier / nom
    _formats().ecrire_image(Path(contenu), sortie, volume, format_udif)
    return sortie


def signer(app: Path, equipe: tuple[str, str] = EQUIPE_VMWARE, notarisee: bool = True) -> None:
    """Seal ``app`` as the simulated codesign reads it (outils/codesign): CodeResources plist.

    ``notarisee``: Apple's notarization ticket, which the simulated spctl (Gatekeeper) requires.
    """
    contenu = app / "Contents"
    fichiers = {}
    for chemin in sorted(contenu.rglob("*")):
        relatif = str(chemin.relative_to(contenu))
        if chemin.is_symlink():
            fichiers[relatif] = {"hash2": hashlib.sha256(str(chemin.readlink()).encode()).digest()}
        elif chemin.is_file():
            fichiers[relatif] = {"hash2": hashlib.sha256(chemin.read_bytes()).digest()}
    (contenu / "_CodeSignature").mkdir()
    with open(contenu / "_CodeSignature" / "CodeResources", "wb") as flux:
        plistlib.dump({"files": {}, "files2": fichiers, "rules": {}, "rules2": {},
                       "telesante-signature": {"TeamIdentifier": equipe[0], "NomEquipe": equipe[1],
                                               "Notarisee": notarisee}}, flux)


def fabriquer_fusion(dossier: Path | str, version: str = "13.6.2", format: str = "dmg",
                     equipe: tuple[str, str] | None = EQUIPE_VMWARE, notarisee: bool = True) -> Path:
    """Write a test installer of VMware Fusion ``version`` into ``dossier``.

    ``format``: ``dmg`` (volume "VMware Fusion" with ``VMware Fusion.pkg``),
    ``pkg`` (flat package, identifier com.vmware.fusion, installs into
    /Applications) or ``zip`` (``VMware Fusion.app`` at the archive's top).
    File name: ``VMware-Fusion-<version>-<build>_universal.<format>``.
    ``equipe``: (Team ID, name) that signs the app (outils/codesign), None: unsigned.
    ``notarisee``: whether Apple notarized it (outils/spctl, Gatekeeper, rejects it otherwise).
    """
    if format not in FORMATS:
        raise ValueError(f"Format d'installateur inconnu : {format!r} ({', '.join(FORMATS)})")
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    sortie = dossier / f"VMware-Fusion-{version}-{build_fusion(version)}_universal.{format}"
    with tempfile.TemporaryDirectory(prefix="fusion-") as brouillon:
        charge = Path(brouillon) / "charge"
        charge.mkdir()
        app = _application_fusion(charge, version)
        if equipe is not None:
            signer(app, equipe, notarisee)
        if format == "zip":
            with zipfile.ZipFile(sortie, "w") as archive:
                _formats().ajouter_arbre(archive, app, f"{APP_FUSION}/")
            return sortie
        if format == "pkg":
            return fabriquer_paquet(dossier, sortie.name, IDENTIFIANT_FUSION, version, charge)
        volume = Path(brouillon) / "volume"
        volume.mkdir()
        fabriquer_paquet(volume, PAQUET_DANS_DMG, IDENTIFIANT_FUSION, version, charge)
        return fabriquer_dmg(dossier, sortie.name, VOLUME_FUSION, volume)


# EFI loader of a Windows medium, by architecture (efi/boot/ of the UDF volume).
CHARGEURS_EFI = {"arm64": "bootaa64.efi", "x86_64": "bootx64.efi"}

# El Torito boot images of a Windows medium. Microsoft's media boot UEFI from
# efi/microsoft/boot/efisys.bin (a FAT image whose loader is cdboot.efi: it asks
# « Press any key to boot from CD or DVD »); the same folder carries
# efisys_noprompt.bin (cdboot_noprompt.efi, no prompt), which oscdimg uses to
# remaster a medium without the prompt (W. Lam, « How to create a Windows 2016
# ISO supporting EFI boot w/o prompting to press a key »). BIOS media boot from
# boot/etfsboot.com, which only prompts when the disk already holds a system.
# Here each image is a short text naming its loader, read by the simulated firmware
# (outils/invite_simule.py).
SECTEUR_CD = 2048
PLATEFORME_BIOS, PLATEFORME_EFI = 0x00, 0xEF


def image_efi(architecture: str, invite: bool) -> bytes:
    """Stand-in of efisys.bin (``invite``) or efisys_noprompt.bin for one architecture."""
    chargeur = "cdboot.efi" if invite else "cdboot_noprompt.efi"
    return (f"FAT12 simule : EFI/BOOT/{CHARGEURS_EFI[architecture].upper()} = {chargeur}\n").encode("ascii")


def _catalogue_el_torito(entrees: list[tuple[int, int, int]]) -> bytes:
    """El Torito boot catalogue: validation entry, default entry, then one section per other entry.

    ``entrees``: (platform ID, load RBA, sector count of 512 bytes), the first being the
    default entry (El Torito specification 1.0, section 2: validation entry with its
    checksum and 55 AA, entries 0x88 no-emulation, section headers 0x90/0x91).
    """
    validation = bytearray(32)
    validation[0], validation[1] = 1, entrees[0][0]
    validation[4:28] = b"Microsoft Corporation".ljust(24, b"\0")
    validation[30:32] = b"\x55\xaa"
    somme = sum(int.from_bytes(validation[i:i + 2], "little") for i in range(0, 32, 2))
    validation[28:30] = ((-somme) & 0xFFFF).to_bytes(2, "little")

    def entree(rba: int, compte: int) -> bytes:
        return (bytes([0x88, 0]) + (0).to_bytes(2, "little") + bytes([0, 0])
                + compte.to_bytes(2, "little") + rba.to_bytes(4, "little")).ljust(32, b"\0")

    catalogue = bytes(validation) + entree(*entrees[0][1:])
    autres = entrees[1:]
    for rang, (plateforme, rba, compte) in enumerate(autres):
        entete = 0x91 if rang == len(autres) - 1 else 0x90
        catalogue += bytes([entete, plateforme]) + (1).to_bytes(2, "little") + bytes(28)
        catalogue += entree(rba, compte)
    return catalogue.ljust(SECTEUR_CD, b"\0")


def fabriquer_iso(dossier: Path | str, nom: str,
                  architectures: tuple[str, ...] = ("arm64", "x86_64")) -> Path:
    """Write a small file standing for a Windows ISO: ISO 9660 descriptors, El Torito, then its files.

    The files (``efi/boot/<chargeur>`` for each architecture,
    ``efi/microsoft/boot/efisys.bin`` and ``efisys_noprompt.bin``, ``boot/etfsboot.com``
    for x64, ``sources/``) are a zip after the descriptors, which the simulated
    ``hdiutil attach`` mounts (macos_formats._lire_iso). As on Microsoft's media, the
    El Torito catalogue boots BIOS from etfsboot.com (x64 media) and UEFI from
    efisys.bin, the image with the prompt. A real medium holds one architecture; the
    default holds both, for tests that do not care. The content depends on the
    arguments only, so its sha256 is stable.
    """
    dossier = Path(dossier)
    dossier.mkdir(parents=True, exist_ok=True)
    sortie = dossier / nom
    etiquette = Path(nom).stem.upper().replace(" ", "_")[:32].ljust(32).encode("ascii", "replace")
    descripteur = (b"\x01CD001\x01\x00" + b"WIN32".ljust(32) + etiquette).ljust(SECTEUR_CD, b"\0")
    terminateur = b"\xffCD001\x01".ljust(SECTEUR_CD, b"\0")
    # sectors: 16 PVD, 17 boot record, 18 terminator, 19 catalogue, then one sector per image
    images = []
    if "x86_64" in architectures:
        images.append((PLATEFORME_BIOS, b"ETFSBOOT simule (invite seulement si le disque porte un systeme)\n"))
    premiere = architectures[0]
    images.append((PLATEFORME_EFI, image_efi(premiere, invite=True)))
    entrees = [(plateforme, 20 + rang, 4) for rang, (plateforme, _) in enumerate(images)]
    amorce = (b"\x00CD001\x01" + b"EL TORITO SPECIFICATION".ljust(32, b"\0") + bytes(32)
              + (19).to_bytes(4, "little")).ljust(SECTEUR_CD, b"\0")
    secteurs = amorce + terminateur + _catalogue_el_torito(entrees)
    secteurs += b"".join(contenu.ljust(SECTEUR_CD, b"\0") for _, contenu in images)
    fichiers = io.BytesIO()
    with zipfile.ZipFile(fichiers, "w") as archive:
        def ecrire(chemin: str, contenu: bytes | str) -> None:
            archive.writestr(zipfile.ZipInfo(chemin, date_time=(2024, 10, 1, 0, 0, 0)), contenu)

        for architecture in architectures:
            ecrire(f"efi/boot/{CHARGEURS_EFI[architecture]}", f"chargeur EFI {architecture} de test\n")
        ecrire("efi/microsoft/boot/efisys.bin", image_efi(premiere, invite=True))
        ecrire("efi/microsoft/boot/efisys_noprompt.bin", image_efi(premiere, invite=False))
        if "x86_64" in architectures:
            ecrire("boot/etfsboot.com", images[0][1])
        ecrire("sources/lisezmoi.txt", f"Image Windows de test ({nom}) : aucun système dedans.\n")
    sortie.write_bytes(b"\0" * 16 * SECTEUR_CD + descripteur + secteurs + fichiers.getvalue())
    return sortie


def sha256(chemin: Path | str) -> str:
    """Hex sha256 of a file."""
    somme = hashlib.sha256()
    with open(chemin, "rb") as flux:
        for bloc in iter(lambda: flux.read(1 << 20), b""):
            somme.update(bloc)
    return somme.hexdigest()


# The clinicians' applications (bulletin 7: Reacts runs in Chrome; Zoom): bundle, package id, team.
APPLICATIONS_POSTE = {
    "chrome": {"app": "Google Chrome.app", "bundle": "com.google.Chrome", "paquet": "com.google.Chrome",
               "executable": "Google Chrome", "equipe": ("EQHXZ8M8AV", "Google LLC")},
    "zoom": {"app": "zoom.us.app", "bundle": "us.zoom.xos", "paquet": "us.zoom.pkg.videomeeting",
             "executable": "zoom.us", "equipe": ("BJ4HAAB9B3", "Zoom Video Communications, Inc.")},
}


def fabriquer_application(dossier: Path | str, cle: str, version: str) -> Path:
    """Write the flat package of ``cle`` (chrome or zoom) installing its app at ``version``.

    ``version`` is CFBundleShortVersionString as the vendor writes it (Zoom: ``6.2.11 (43613)``);
    the package version is its numeric start. File name: ``<cle>-<version>.pkg``.
    """
    modele = APPLICATIONS_POSTE[cle]
    numerique = version.split(" ")[0]
    with tempfile.TemporaryDirectory(prefix=f"{cle}-") as brouillon:
        charge = Path(brouillon)
        contenu = charge / modele["app"] / "Contents"
        (contenu / "MacOS").mkdir(parents=True)
        executable = contenu / "MacOS" / modele["executable"]
        executable.write_text("#!/bin/sh\nexit 0\n")
        executable.chmod(0o755)
        with open(contenu / "Info.plist", "wb") as flux:
            plistlib.dump({"CFBundleIdentifier": modele["bundle"], "CFBundleShortVersionString": version,
                           "CFBundleVersion": numerique, "CFBundleExecutable": modele["executable"],
                           "CFBundleName": modele["app"][:-4]}, flux)
        signer(charge / modele["app"], modele["equipe"])
        return fabriquer_paquet(dossier, f"{cle}-{numerique}.pkg", modele["paquet"], numerique, charge)
