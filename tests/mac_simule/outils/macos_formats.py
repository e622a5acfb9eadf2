"""File formats of the simulated Mac: disk images, flat packages, zip archives.

Installed on each simulated Mac as ``/opt/telesante-macos/lib/macos_formats.py``
(used by ``hdiutil``, ``installer``, ``pkgutil``, ``ditto``) and imported on the
host by ``tests/mac_simule/fabrication.py`` to build test installers, so that
writer and reader are the same code. Standard library only.

Disk image (``.dmg``, UDIF) stand-in::

    [data fork: zip of the volume][XML property list][512-byte "koly" trailer]

The trailer is the real UDIF one, big-endian, at the last 512 bytes of the
file (layout from Jonathan Levin, "Demystifying the DMG File Format",
newosxbook.com/DMG.html, and libyal's UDIF format notes): signature ``koly``,
version 4, header size 512, flags 1 (flattened), data fork offset/length,
CRC32 data checksum (type 2, 32 bits), XML plist offset/length, image variant
1, sector count. Simplifications: the data fork is a zip archive, not a
partition map with an HFS+/APFS volume, and the plist's ``blkx`` table is
empty; the plist carries the volume name and the UDIF format name (UDZO...).

Flat package (``.pkg``) stand-in: a real flat package is a xar archive (magic
``xar!``, 28-byte header, zlib-compressed XML table of contents, heap) holding
``PackageInfo``, ``Bom`` and ``Payload`` (gzip cpio). The stand-in keeps the
real 28-byte xar header (with an empty table of contents) followed by a zip
holding ``PackageInfo`` (the real XML: ``<pkg-info identifier= version=
install-location=...>``) and ``Payload/<files relative to install-location>``.
"""

from __future__ import annotations

import io
import os
import plistlib
import stat
import struct
import uuid
import xml.etree.ElementTree as ET
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class FormatInvalide(ValueError):
    """A file is not in the format the stand-in expects."""


# ---------------------------------------------------------------------------
# Zip archives that keep Unix modes and symbolic links
# ---------------------------------------------------------------------------


def ajouter_arbre(archive: zipfile.ZipFile, source: Path, prefixe: str = "") -> None:
    """Add ``source`` (a file or a folder's content) to ``archive`` under ``prefixe``."""
    elements = [source] if not source.is_dir() or source.is_symlink() else []
    if source.is_dir() and not source.is_symlink():
        if prefixe.endswith("/"):
            elements.append(source)  # the folder itself, under the prefix
        for dossier, sous_dossiers, fichiers in os.walk(source):
            sous_dossiers.sort()
            for nom in sorted(sous_dossiers) + sorted(fichiers):
                elements.append(Path(dossier) / nom)
        base = source
    else:
        base = source.parent
    for element in elements:
        if element == source and source.is_dir():
            nom = prefixe.rstrip("/")
        else:
            nom = prefixe + element.relative_to(base).as_posix()
        info_fs = os.lstat(element)
        if stat.S_ISDIR(info_fs.st_mode):
            nom += "/"
        info = zipfile.ZipInfo(nom, date_time=(2024, 1, 1, 0, 0, 0))
        info.create_system = 3  # Unix: external_attr carries st_mode
        info.external_attr = (info_fs.st_mode & 0xFFFF) << 16
        if stat.S_ISLNK(info_fs.st_mode):
            archive.writestr(info, os.readlink(element))
        elif stat.S_ISDIR(info_fs.st_mode):
            info.external_attr |= 0x10  # MS-DOS directory bit
            archive.writestr(info, b"")
        else:
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, element.read_bytes())


def _nom_sur(nom: str) -> PurePosixPath:
    chemin = PurePosixPath(nom)
    if chemin.is_absolute() or ".." in chemin.parts or not chemin.parts:
        raise FormatInvalide(f"chemin d'archive dangereux : {nom!r}")
    return chemin


def extraire(archive: zipfile.ZipFile, destination: Path, prefixe: str = "") -> list[Path]:
    """Extract the members under ``prefixe`` into ``destination``.

    Modes and symbolic links are restored. Returns the created paths, in
    archive order. Members with absolute or ``..`` paths are refused.
    """
    crees: list[Path] = []
    for info in archive.infolist():
        if not info.filename.startswith(prefixe) or info.filename == prefixe:
            continue
        relatif = _nom_sur(info.filename[len(prefixe):])
        cible = destination.joinpath(*relatif.parts)
        # Folders the archive implies without listing them are created too.
        for parent in reversed(relatif.parents[:-1]):
            dossier = destination.joinpath(*parent.parts)
            if not dossier.exists():
                dossier.mkdir(parents=True)
                crees.append(dossier)
        mode = info.external_attr >> 16
        if info.is_dir():
            cible.mkdir(parents=True, exist_ok=True)
            if mode:
                cible.chmod(stat.S_IMODE(mode) | 0o700)
        elif mode and stat.S_ISLNK(mode):
            cible.parent.mkdir(parents=True, exist_ok=True)
            if cible.is_symlink() or cible.exists():
                cible.unlink()
            cible.symlink_to(archive.read(info).decode())
        else:
            cible.parent.mkdir(parents=True, exist_ok=True)
            if cible.is_symlink():
                cible.unlink()
            cible.write_bytes(archive.read(info))
            if mode:
                cible.chmod(stat.S_IMODE(mode))
        crees.append(cible)
    return crees


def ouvrir_zip(donnees: bytes) -> zipfile.ZipFile:
    """Open zip data held in memory; FormatInvalide if it is not a zip."""
    try:
        return zipfile.ZipFile(io.BytesIO(donnees))
    except zipfile.BadZipFile as exc:
        raise FormatInvalide(str(exc)) from exc


# ---------------------------------------------------------------------------
# UDIF disk images
# ---------------------------------------------------------------------------

# Field order of the UDIF trailer (UDIFResourceFile), big-endian, 512 bytes.
KOLY = struct.Struct(">4sIIIQQQQQII16sII128sQQ120sII128sIQ12s")
assert KOLY.size == 512
KOLY_SIGNATURE = b"koly"
CHECKSUM_CRC32 = 2
FORMATS_UDIF = ("UDZO", "UDRO", "UDBZ", "ULFO", "ULMO", "UDRW")


@dataclass
class ImageDisque:
    """A parsed disk image: its volume name, UDIF format and data fork."""

    volume: str
    format: str
    donnees: bytes
    crc32: int


def _somme_crc32(crc: int) -> bytes:
    return struct.pack(">I", crc) + b"\0" * 124


def ecrire_image(source: Path, sortie: Path, volume: str, format_udif: str = "UDZO") -> None:
    """Write a disk image of folder ``source`` (its content is the volume's root)."""
    if format_udif not in FORMATS_UDIF:
        raise FormatInvalide(f"format UDIF inconnu : {format_udif}")
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        ajouter_arbre(archive, source)
    fourche = tampon.getvalue()
    plist = plistlib.dumps({
        "resource-fork": {"blkx": []},
        "telesante-volume": volume,
        "telesante-format": format_udif,
    })
    crc = zlib.crc32(fourche)
    trailer = KOLY.pack(
        KOLY_SIGNATURE, 4, 512, 1,
        0, 0, len(fourche), 0, 0,
        1, 1, uuid.uuid4().bytes,
        CHECKSUM_CRC32, 32, _somme_crc32(crc),
        len(fourche), len(plist), b"\0" * 120,
        CHECKSUM_CRC32, 32, _somme_crc32(crc),
        1, (len(fourche) + 511) // 512, b"\0" * 12,
    )
    sortie.write_bytes(fourche + plist + trailer)


# ISO 9660 primary volume descriptor at sector 16 (ECMA-119 8.4); volume identifier at 40..72.
ISO_DESCRIPTEUR = 16 * 2048


def _lire_iso(contenu: bytes) -> ImageDisque:
    """A Windows ISO as hdiutil attaches it: its UDF file tree, here a zip after the descriptors.

    Simplification: the UDF volume of a Windows medium is represented by a zip
    appended after the ISO 9660 descriptors (fabrication.fabriquer_iso); an ISO
    without it has no files to show.
    """
    volume = contenu[ISO_DESCRIPTEUR + 40:ISO_DESCRIPTEUR + 72].decode("ascii", "replace").strip()
    debut = contenu.find(b"PK\x03\x04", ISO_DESCRIPTEUR + 2 * 2048)
    if debut == -1:
        raise FormatInvalide("no mountable file systems")
    return ImageDisque(volume=volume or "CDROM", format="ISO", donnees=contenu[debut:], crc32=0)


def lire_image(chemin: Path, verifier: bool = True) -> ImageDisque:
    """Parse a disk image; FormatInvalide("image not recognized") when it is not UDIF.

    With ``verifier``, the CRC32 of the data fork must match the trailer
    (FormatInvalide("corrupt image") otherwise), as ``hdiutil attach`` checks.
    """
    contenu = chemin.read_bytes()
    if contenu[ISO_DESCRIPTEUR + 1:ISO_DESCRIPTEUR + 6] == b"CD001" and contenu[ISO_DESCRIPTEUR] == 1:
        return _lire_iso(contenu)
    if len(contenu) < KOLY.size:
        raise FormatInvalide("image not recognized")
    champs = KOLY.unpack(contenu[-KOLY.size:])
    (signature, version, taille_entete, _drapeaux, _courant, debut_donnees, longueur_donnees,
     _rsrc_debut, _rsrc_longueur, _segment, _segments, _id, type_somme, _taille_somme, somme,
     debut_xml, longueur_xml, *_reste) = champs
    if signature != KOLY_SIGNATURE or version != 4 or taille_entete != 512:
        raise FormatInvalide("image not recognized")
    if (debut_donnees != 0 or debut_xml != longueur_donnees
            or longueur_donnees + longueur_xml + KOLY.size != len(contenu)):
        raise FormatInvalide("image not recognized")
    fourche = contenu[:longueur_donnees]
    crc_attendu = struct.unpack(">I", somme[:4])[0]
    if verifier and type_somme == CHECKSUM_CRC32 and zlib.crc32(fourche) != crc_attendu:
        raise FormatInvalide("corrupt image")
    try:
        plist = plistlib.loads(contenu[debut_xml:debut_xml + longueur_xml])
    except Exception as exc:  # noqa: BLE001 - any parse error means "not an image"
        raise FormatInvalide("image not recognized") from exc
    return ImageDisque(volume=str(plist.get("telesante-volume", "Untitled")),
                       format=str(plist.get("telesante-format", "UDZO")),
                       donnees=fourche, crc32=crc_attendu)


# ---------------------------------------------------------------------------
# Flat packages
# ---------------------------------------------------------------------------

# xar header: magic, header size, version, TOC compressed/uncompressed length,
# checksum algorithm (xar/include/xar.h.in).
XAR_ENTETE = struct.Struct(">4sHHQQI")
XAR_MAGIQUE = b"xar!"


@dataclass
class Paquet:
    """A parsed flat package: PackageInfo attributes and payload archive."""

    identifiant: str
    version: str
    emplacement: str  # install-location, absolute ("/Applications")
    archive: zipfile.ZipFile
    ko_installes: int

    def membres_charge(self) -> list[str]:
        """Payload members, relative to the install location."""
        return [i.filename[len("Payload/"):].rstrip("/") for i in self.archive.infolist()
                if i.filename.startswith("Payload/") and i.filename != "Payload/"]


def package_info(identifiant: str, version: str, emplacement: str, fichiers: int,
                 ko: int, bundles: list[tuple[str, str, str]]) -> bytes:
    """The PackageInfo XML as pkgbuild writes it.

    ``bundles``: (relative path, bundle id, CFBundleShortVersionString).
    """
    racine = ET.Element("pkg-info", {
        "overwrite-permissions": "true", "relocatable": "false", "identifier": identifiant,
        "postinstall-action": "none", "version": version, "format-version": "2",
        "generator-version": "InstallCmds-834 (23G93)", "install-location": emplacement,
        "auth": "root"})
    ET.SubElement(racine, "payload", {"numberOfFiles": str(fichiers), "installKBytes": str(ko)})
    for chemin, ident, version_bundle in bundles:
        ET.SubElement(racine, "bundle", {"path": f"./{chemin}", "id": ident,
                                         "CFBundleShortVersionString": version_bundle})
    for balise in ("bundle-version", "upgrade-bundle", "update-bundle", "atomic-update-bundle",
                   "strict-identifier", "relocate"):
        element = ET.SubElement(racine, balise)
        if balise in ("bundle-version", "upgrade-bundle", "strict-identifier"):
            for _chemin, ident, _v in bundles:
                ET.SubElement(element, "bundle", {"id": ident})
    ET.indent(racine)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(racine) + b"\n"


def ecrire_paquet(sortie: Path, identifiant: str, version: str, emplacement: str,
                  charge: Path, bundles: list[tuple[str, str, str]] | None = None) -> None:
    """Write a flat package whose payload is the content of folder ``charge``."""
    fichiers = 0
    octets = 0
    for dossier, sous_dossiers, noms in os.walk(charge):
        fichiers += len(sous_dossiers) + len(noms)
        octets += sum(os.lstat(Path(dossier) / n).st_size for n in noms)
    tampon = io.BytesIO()
    with zipfile.ZipFile(tampon, "w") as archive:
        archive.writestr("PackageInfo", package_info(identifiant, version, emplacement, fichiers,
                                                     (octets + 1023) // 1024, bundles or []))
        archive.writestr("Bom", b"BOMStore (Mac simule : nomenclature non modelisee)\n")
        ajouter_arbre(archive, charge, "Payload/")
    entete = XAR_ENTETE.pack(XAR_MAGIQUE, 28, 1, 0, 0, 1)
    sortie.write_bytes(entete + tampon.getvalue())


def lire_paquet(chemin: Path) -> Paquet:
    """Parse a flat package stand-in; FormatInvalide if it is anything else."""
    contenu = chemin.read_bytes()
    if len(contenu) < XAR_ENTETE.size or not contenu.startswith(XAR_MAGIQUE):
        raise FormatInvalide("not a xar archive")
    _magique, taille, _version, _toc, _toc_brut, _algo = XAR_ENTETE.unpack_from(contenu)
    archive = ouvrir_zip(contenu[taille:])
    noms = archive.namelist()
    if "PackageInfo" not in noms:
        raise FormatInvalide("PackageInfo missing")
    inconnus = [n for n in noms if n not in ("PackageInfo", "Bom") and not n.startswith("Payload/")]
    if inconnus:
        raise FormatInvalide(f"unexpected members: {', '.join(inconnus)}")
    try:
        info = ET.fromstring(archive.read("PackageInfo"))
    except ET.ParseError as exc:
        raise FormatInvalide(f"PackageInfo: {exc}") from exc
    if info.tag != "pkg-info" or not info.get("identifier") or not info.get("version"):
        raise FormatInvalide("PackageInfo without pkg-info identifier/version")
    charge = info.find("payload")
    ko = int(charge.get("installKBytes", "0")) if charge is not None else 0
    return Paquet(identifiant=info.get("identifier", ""), version=info.get("version", ""),
                  emplacement=info.get("install-location", "/") or "/", archive=archive,
                  ko_installes=ko)


def verifier_zip(chemin: Path) -> None:
    """FormatInvalide unless ``chemin`` is a plain PKZip file, as ditto reads them.

    The local header signature must open the file and the end-of-central-
    directory record must close it: Python's zipfile alone would also accept
    the disk image and package stand-ins, which hold a zip with data around it.
    """
    taille = chemin.stat().st_size
    with open(chemin, "rb") as flux:
        debut = flux.read(4)
        flux.seek(max(0, taille - 22 - 65535))
        fin = flux.read()
    if debut not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise FormatInvalide("no PKZip signature")
    position = fin.rfind(b"PK\x05\x06")
    if position < 0 or len(fin) < position + 22:
        raise FormatInvalide("no PKZip end of central directory")
    longueur_commentaire = struct.unpack("<H", fin[position + 20:position + 22])[0]
    if position + 22 + longueur_commentaire != len(fin):
        raise FormatInvalide("data after the PKZip end of central directory")
