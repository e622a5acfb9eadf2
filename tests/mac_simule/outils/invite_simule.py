"""The simulated Windows guest of a VM, as vmrun's guest operations see it.

Installed on each simulated Mac as ``/opt/telesante-macos/lib/invite_simule.py``
and used by the ``vmrun`` stand-in. Standard library only.

What is modelled (everything else is absent, never faked as success):

* The firmware (``firmware`` of the .vmx, ``bios`` when absent, as VMware): at
  ``vmrun start`` it boots the first CD whose El Torito catalogue (El Torito
  specification 1.0: boot record at sector 17, validation entry, default entry,
  section headers 0x90/0x91) has an entry for its platform (0xEF for UEFI, 0
  for BIOS). Windows media boot UEFI through efisys.bin, whose cdboot.efi asks
  « Press any key to boot from CD or DVD » and, with nobody at the keyboard,
  gives up after a few seconds (the firmware then tries the disk); an image
  made from efisys_noprompt.bin (cdboot_noprompt.efi) boots without asking
  (Microsoft media, efi/microsoft/boot/; W. Lam, « How to create a Windows 2016
  ISO supporting EFI boot w/o prompting to press a key »). BIOS media boot
  through etfsboot.com, which only asks when the disk already holds a system.
  The simulated boot images are texts naming their loader (fabrication.py,
  image_efi); an unknown image does not boot. ``invite`` in the guest state
  records the prompt that nobody answered.
* Windows Setup: a VM that booted an installation CD, with an ISO carrying
  ``autounattend.xml`` at its root (Windows Setup reads it there, Microsoft,
  "Answer files (unattend.xml)", implicit search paths), "installs" Windows:
  the guest reaches the desktop ``secondes_installation`` seconds later. ``WillWipeDisk`` on a disk that already carries Windows wipes
  it (counted in ``reinstallations``: the role must never let that happen).
  Without an answer file (Setup waits for someone), without a bootable CD on a
  blank disk, or with ``bureau_jamais_atteint``, the guest never reaches the
  desktop.
* First logon: the answer file's AutoLogon account logs on once and the
  FirstLogonCommands run the preparation script if one of the CDs carries
  ``telesante/preparation.ps1`` and ``telesante/manifeste.json``; the manifest
  is played as the PowerShell script plays it (sha256 of each file, detection
  before installation, journal JSON in ``C:\\ProgramData\\Telesante``).
* VMware Tools: ``running`` once a manifest step of type ``vmware_tools`` is
  installed (the Tools come from the preparation), ``unknown`` before.
* Guest credentials: the answer file's local account and password.

Test options, ``/private/var/telesante-etat/invite-simule.json``:
``secondes_installation`` (default 1), ``bureau_jamais_atteint`` (false),
``etapes_en_echec`` (step names whose installer returns 1603).
The guest lives under ``/private/var/telesante-etat/invites/<id>/`` (``etat.json``
and ``C/``, the guest's drive C:).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath

import macos_etat as etat

NS = "{urn:schemas-microsoft-com:unattend}"
SECTEUR = 2048
JOURNAL = r"C:\ProgramData\Telesante\preparation.json"
ERREUR = 255


# -- ISO 9660 / Joliet, read-only --------------------------------------------

def lire_iso(chemin: Path) -> dict[str, bytes]:
    """Files of an ISO image (path with / -> content), Joliet names when present."""
    try:
        image = chemin.read_bytes()
    except OSError:
        return {}
    if image[16 * SECTEUR + 1:16 * SECTEUR + 6] != b"CD001":
        return {}
    choisi, secteur = None, 16
    while (16 + 64) > secteur:
        vd = image[secteur * SECTEUR:(secteur + 1) * SECTEUR]
        if vd[1:6] != b"CD001" or vd[0] == 255:
            break
        if vd[0] == 1 and choisi is None:
            choisi = (vd, "ascii")
        if vd[0] == 2 and vd[88:91] in (b"%/@", b"%/C", b"%/E"):
            choisi = (vd, "utf-16-be")
        secteur += 1
    if choisi is None:
        return {}
    vd, codage = choisi
    sortie: dict[str, bytes] = {}

    def parcourir(etendue: int, taille: int, prefixe: str) -> None:
        donnees = image[etendue * SECTEUR:etendue * SECTEUR + taille]
        pos = 0
        while pos < len(donnees):
            longueur = donnees[pos]
            if longueur == 0:
                pos = (pos // SECTEUR + 1) * SECTEUR
                continue
            enreg = donnees[pos:pos + longueur]
            pos += longueur
            ident = enreg[33:33 + enreg[32]]
            if ident in (b"\x00", b"\x01"):
                continue
            nom = ident.decode(codage).split(";", 1)[0]
            ext = int.from_bytes(enreg[2:6], "little")
            tai = int.from_bytes(enreg[10:14], "little")
            if enreg[25] & 0x02:
                parcourir(ext, tai, f"{prefixe}{nom}/")
            else:
                sortie[(prefixe + nom).lower()] = image[ext * SECTEUR:ext * SECTEUR + tai]

    racine = vd[156:190]
    try:
        parcourir(int.from_bytes(racine[2:6], "little"), int.from_bytes(racine[10:14], "little"), "")
    except (IndexError, UnicodeDecodeError, RecursionError):
        return {}  # not a readable ISO: the guest sees an empty CD
    return sortie


def lire_el_torito(image: bytes) -> list[tuple[int, bytes]]:
    """Bootable no-emulation entries of an ISO's El Torito catalogue: (platform ID, boot image)."""
    catalogue = None
    for secteur in range(17, 32):
        vd = image[secteur * SECTEUR:(secteur + 1) * SECTEUR]
        if len(vd) < SECTEUR or vd[1:6] != b"CD001" or vd[0] == 255:
            break
        if vd[0] == 0 and vd[7:30] == b"EL TORITO SPECIFICATION":
            catalogue = int.from_bytes(vd[71:75], "little")
            break
    if catalogue is None:
        return []
    donnees = image[catalogue * SECTEUR:(catalogue + 1) * SECTEUR]
    if len(donnees) < 64 or donnees[0] != 1 or donnees[30:32] != b"\x55\xaa" or sum(
            int.from_bytes(donnees[i:i + 2], "little") for i in range(0, 32, 2)) & 0xFFFF:
        return []  # no valid validation entry: the firmware ignores the catalogue

    def image_de(entree: bytes) -> bytes:
        compte = max(int.from_bytes(entree[6:8], "little"), 1)
        debut = int.from_bytes(entree[8:12], "little") * SECTEUR
        return image[debut:debut + compte * 512]

    entrees = []
    if donnees[32] == 0x88:
        entrees.append((donnees[1], image_de(donnees[32:64])))
    pos = 64
    while pos + 32 <= len(donnees) and donnees[pos] in (0x90, 0x91):
        plateforme, nombre, dernier = donnees[pos + 1], int.from_bytes(donnees[pos + 2:pos + 4], "little"), donnees[pos] == 0x91
        pos += 32
        for _ in range(nombre):
            if pos + 32 <= len(donnees) and donnees[pos] == 0x88:
                entrees.append((plateforme, image_de(donnees[pos:pos + 32])))
            pos += 32
        if dernier:
            break
    return entrees


def amorcage(amorces: list[list[tuple[int, bytes]]], micrologiciel: str, systeme_sur_disque: bool) -> str | None:
    """What the firmware does with the CDs: "cd" (boots one), "invite" (prompt nobody answers), None."""
    plateforme = 0xEF if micrologiciel == "efi" else 0x00
    for entrees in amorces:
        for code, contenu in entrees:
            if code != plateforme:
                continue
            if plateforme == 0xEF and b"cdboot_noprompt.efi" in contenu:
                return "cd"
            if plateforme == 0xEF and b"cdboot.efi" in contenu:
                return "invite"
            if plateforme == 0x00 and b"ETFSBOOT" in contenu:
                return "invite" if systeme_sur_disque else "cd"
    return None


# -- the guest on disk ---------------------------------------------------------

def _dossier(vmx: Path) -> Path:
    return etat.dans("/private/var/telesante-etat/invites") / hashlib.sha256(str(vmx).encode()).hexdigest()[:16]


def _options() -> dict:
    return etat.lire("invite-simule", {})


def _lire(vmx: Path) -> dict:
    fichier = _dossier(vmx) / "etat.json"
    try:
        return json.loads(fichier.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"windows": False, "phase": "eteint", "produits": {}, "registre": {},
                "reinstallations": 0, "preparations": 0}


def _ecrire(vmx: Path, donnees: dict) -> None:
    dossier = _dossier(vmx)
    dossier.mkdir(parents=True, exist_ok=True)
    (dossier / "etat.json").write_text(json.dumps(donnees, indent=2, ensure_ascii=False), encoding="utf-8")


def chemin_invite(vmx: Path, chemin: str) -> Path | None:
    """Host path of a guest path on C: (None for another drive or a path leaving C:)."""
    windows = PureWindowsPath(chemin)
    if windows.drive.upper() != "C:" or not windows.root:
        return None
    parties = [p for p in windows.parts[1:]]
    if any(p in ("..", ".") for p in parties):
        return None
    return _dossier(vmx).joinpath("C", *parties)


def _cd(vmx_valeurs: dict[str, str], vmx: Path) -> list[tuple[dict[str, bytes], list[tuple[int, bytes]]]]:
    """Files and El Torito entries of the ISO images connected at power-on, in .vmx order."""
    images = []
    for cle, valeur in vmx_valeurs.items():
        trouve = re.match(r"^((?:sata|ide|scsi)\d+:\d+)\.filename$", cle)
        if not trouve:
            continue
        appareil = trouve.group(1)
        if vmx_valeurs.get(f"{appareil}.present", "FALSE").upper() != "TRUE":
            continue
        if vmx_valeurs.get(f"{appareil}.devicetype", "") != "cdrom-image":
            continue
        if vmx_valeurs.get(f"{appareil}.startconnected", "TRUE").upper() != "TRUE":
            continue
        chemin = Path(valeur) if valeur.startswith("/") else vmx.parent / valeur
        try:
            brut = chemin.read_bytes()
        except OSError:
            images.append(({}, []))
            continue
        images.append((lire_iso(chemin), lire_el_torito(brut)))
    return images


def _reponses(xml: bytes) -> dict:
    """What the simulated Setup takes from an answer file."""
    racine = ET.fromstring(xml)

    def texte(chemin: str) -> str | None:
        element = racine.find(chemin)
        return element.text if element is not None else None

    compte = racine.find(f".//{NS}LocalAccount")
    return {
        "efface": texte(f".//{NS}WillWipeDisk") == "true",
        "nom_ordinateur": texte(f".//{NS}ComputerName"),
        "compte": compte.findtext(f"{NS}Name") if compte is not None else None,
        "mot_de_passe": compte.findtext(f"{NS}Password/{NS}Value") if compte is not None else None,
        "autologon": racine.find(f".//{NS}AutoLogon") is not None,
        "premiere_ouverture": [c.text or "" for c in racine.iter(f"{NS}CommandLine")],
    }


def demarrer(vmx: Path, valeurs: dict[str, str]) -> None:
    """Power-on: boot from the CDs (Windows Setup with its answer file) or from the disk."""
    donnees = _lire(vmx)
    images = _cd(valeurs, vmx)
    fichiers = [img for img, _ in images]
    reponses = next((img["autounattend.xml"] for img in fichiers if "autounattend.xml" in img), None)
    amorce = amorcage([entrees for _, entrees in images], valeurs.get("firmware", "bios").lower(),
                      bool(donnees["windows"]))
    donnees["medias"] = [sorted(img) for img in fichiers]
    donnees.pop("invite", None)
    if amorce == "invite":  # nobody presses a key: the firmware goes on to the disk
        donnees["invite"] = "Press any key to boot from CD or DVD"
    if amorce == "cd" and reponses is None:
        donnees["phase"] = "installation_sans_reponses"  # Setup waits for someone
    elif amorce == "cd":
        lu = _reponses(reponses)
        if donnees["windows"]:
            if not lu["efface"]:  # Setup stops at the disk page: nothing happens
                donnees["phase"] = "installation_bloquee"
                _ecrire(vmx, donnees)
                return
            donnees["reinstallations"] += 1
            shutil.rmtree(_dossier(vmx) / "C", ignore_errors=True)
            donnees.update(produits={}, registre={}, tools=False)
        donnees.update(windows=True, reponses=lu, phase="installation",
                       bureau_a=time.time() + float(_options().get("secondes_installation", 1)),
                       premiere_ouverture_faite=False)
    elif donnees["windows"]:
        donnees.update(phase="demarrage", bureau_a=time.time())
    else:
        donnees["phase"] = "pas_de_systeme"
    _ecrire(vmx, donnees)


def arreter(vmx: Path) -> None:
    donnees = _lire(vmx)
    if donnees["phase"] != "eteint":
        donnees["phase"] = "eteint"
        _ecrire(vmx, donnees)


def _avancer(vmx: Path) -> dict:
    """Let simulated time pass: desktop, first logon, preparation."""
    donnees = _lire(vmx)
    if donnees["phase"] in ("installation", "demarrage") and not _options().get("bureau_jamais_atteint"):
        if time.time() >= donnees.get("bureau_a", 0):
            donnees["phase"] = "bureau"
            if not donnees.get("premiere_ouverture_faite") and donnees.get("reponses", {}).get("autologon"):
                donnees["premiere_ouverture_faite"] = True
                commandes = " ".join(donnees["reponses"]["premiere_ouverture"])
                donnees["registre"]["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoAdminLogon"] = (
                    "0" if "AutoAdminLogon /t REG_SZ /d 0" in commandes else "1")
                media = _media_preparation(vmx)
                if media is not None and "preparation.ps1" in commandes:
                    _preparer(vmx, donnees, media)
            _ecrire(vmx, donnees)
    return donnees


def _media_preparation(vmx: Path) -> dict[str, bytes] | None:
    valeurs = {}
    for ligne in vmx.read_text(encoding="utf-8", errors="replace").splitlines():
        trouve = re.match(r'^\s*([A-Za-z0-9_.:\-]+)\s*=\s*"(.*)"\s*$', ligne)
        if trouve:
            valeurs[trouve.group(1).lower()] = trouve.group(2)
    for image, _ in _cd(valeurs, vmx):
        if "telesante/preparation.ps1" in image and "telesante/manifeste.json" in image:
            return image
    return None


def _preparer(vmx: Path, donnees: dict, media: dict[str, bytes]) -> int:
    """Play the manifest as telesante\\preparation.ps1 does; write the journal in the guest."""
    donnees["preparations"] += 1
    try:
        manifeste = json.loads(media["telesante/manifeste.json"])
        manifeste["etapes"][0]  # noqa: B018 (a manifest has steps)
    except (ValueError, KeyError, IndexError, TypeError):
        manifeste = {"etapes": [{"nom": "Manifeste", "type": "manifeste_illisible"}]}
    en_echec = set(_options().get("etapes_en_echec", []))
    journal = {"version": 1, "manifeste_sha256": hashlib.sha256(media["telesante/manifeste.json"]).hexdigest(),
               "etapes": [], "resultat": "reussi"}
    for etape in manifeste["etapes"]:
        entree = {"nom": etape["nom"], "type": etape["type"]}
        journal["etapes"].append(entree)
        if etape["type"] in ("installateur", "vmware_tools"):
            contenu = media.get(f"telesante/fichiers/{etape['fichier']}".lower())
            if contenu is None:
                entree.update(resultat="echec", message=f"fichier absent du média : {etape['fichier']}")
            elif hashlib.sha256(contenu).hexdigest() != etape["sha256"]:
                entree.update(resultat="echec", message="somme sha256 différente de celle du manifeste")
            else:
                cle = json.dumps(etape["detection"], sort_keys=True)
                if cle in donnees["produits"]:
                    entree["resultat"] = "deja_present"
                elif etape["nom"] in en_echec:
                    entree.update(resultat="echec", code=1603, message="l'installateur a rendu le code 1603")
                else:
                    donnees["produits"][cle] = etape["nom"]
                    entree["resultat"] = "installe"
                if etape["type"] == "vmware_tools" and entree["resultat"] != "echec":
                    donnees["tools"] = True
        elif etape["type"] == "registre":
            cle = f"{etape['cle']}\\{etape['valeur']}"
            if donnees["registre"].get(cle) == etape["donnee"]:
                entree["resultat"] = "deja_applique"
            else:
                donnees["registre"][cle] = etape["donnee"]
                entree["resultat"] = "applique"
        elif etape["type"] == "fichier":
            cible = chemin_invite(vmx, etape["destination"])
            contenu = media.get(f"telesante/fichiers/{etape['fichier']}".lower())
            if cible is None or contenu is None:
                entree.update(resultat="echec", message="fichier ou destination invalide")
            elif cible.is_file() and cible.read_bytes() == contenu:
                entree["resultat"] = "deja_applique"
            else:
                cible.parent.mkdir(parents=True, exist_ok=True)
                cible.write_bytes(contenu)
                entree["resultat"] = "applique"
        elif etape["type"] == "resolution_dns":
            entree["resultat"] = "verifie"  # the simulated guest resolves every name
        else:
            entree.update(resultat="echec", message=f"type d'étape inconnu : {etape['type']}")
        if entree["resultat"] == "echec":
            journal["resultat"] = "echec"
            break
    cible = chemin_invite(vmx, JOURNAL)
    cible.parent.mkdir(parents=True, exist_ok=True)
    cible.write_text(json.dumps(journal, indent=2, ensure_ascii=False), encoding="utf-8")
    return 0 if journal["resultat"] == "reussi" else 1


def etat_des_tools(vmx: Path) -> str:
    """checkToolsState: running once the Tools are installed and the guest is at its desktop."""
    donnees = _avancer(vmx)
    tools = donnees.get("tools", False)
    if donnees["phase"] == "bureau" and tools:
        return "running"
    return "installed" if tools else "unknown"


def authentifier(vmx: Path, utilisateur: str, mot_de_passe: str) -> bool:
    reponses = _lire(vmx).get("reponses", {})
    return bool(reponses.get("compte")) and (utilisateur, mot_de_passe) == (
        reponses["compte"], reponses["mot_de_passe"])


def existe(vmx: Path, chemin: str, dossier: bool) -> bool:
    cible = chemin_invite(vmx, chemin)
    return cible is not None and (cible.is_dir() if dossier else cible.is_file())


def creer_dossier(vmx: Path, chemin: str) -> int:
    """createDirectoryInGuest: one level, in an existing parent (simplification: no parents created)."""
    cible = chemin_invite(vmx, chemin)
    if cible is None or not cible.parent.is_dir():
        print("Error: A file was not found")
        return ERREUR
    if cible.exists():
        print("Error: The file already exists")
        return ERREUR
    cible.mkdir()
    return 0


def copier_vers_hote(vmx: Path, chemin: str, hote: Path) -> int:
    cible = chemin_invite(vmx, chemin)
    if cible is None or not cible.is_file():
        print("Error: A file was not found")
        return ERREUR
    shutil.copyfile(cible, hote)
    return 0


def copier_vers_invite(vmx: Path, hote: Path, chemin: str) -> int:
    cible = chemin_invite(vmx, chemin)
    if not hote.is_file():
        print("Error: A file was not found")
        return ERREUR
    if cible is None or not cible.parent.is_dir():
        print("Error: The specified guest directory does not exist")
        return ERREUR
    shutil.copyfile(hote, cible)
    return 0


LECTEUR_PARTAGE = "VMware Virtual USB CCID 0"  # name simulated, not taken from a real guest
LECTEUR_EXCLUSIF = "Gemalto USB Shell Token V2 0"  # name simulated, not taken from a real guest


def _scinfo(vmx: Path, donnees: dict) -> str:
    """``certutil -scinfo -silent`` as a guest would print it (Microsoft, certutil; layout of real
    outputs such as gist RufusJWB/a6052bbc...: ``--- Reader:``, ``--- Status:``, ``--- Card:``).

    A reader appears when the token is plugged into the Mac and the .vmx connects it (shared
    virtual smart-card reader or CCID passthrough); the card is named only when the SafeNet
    middleware is installed (its minidriver registers the card), else ``--- Card:`` is empty.
    """
    valeurs = {}
    for ligne in vmx.read_text(encoding="utf-8", errors="replace").splitlines():
        trouve = re.match(r'^\s*([A-Za-z0-9_.:\-]+)\s*=\s*"(.*)"\s*$', ligne)
        if trouve:
            valeurs[trouve.group(1).lower()] = trouve.group(2)
    connexion = valeurs.get("usb.autoconnect.device0", "")
    lecteur = None
    if etat.machine().get("jeton_branche"):
        if connexion == "deviceType:virtual-smartcard":
            lecteur = LECTEUR_PARTAGE
        elif connexion == "vid:08e6 pid:3438" and valeurs.get("usb.generic.allowccid", "").upper() == "TRUE":
            lecteur = LECTEUR_EXCLUSIF
    safenet = any("SafeNet Authentication Client" in cle for cle in donnees.get("produits", {}))
    lignes = ["The Microsoft Smart Card Resource Manager is running.", "Current reader/card status:",
              f"Readers: {1 if lecteur else 0}"]
    if lecteur:
        lignes += [f"  0: {lecteur}", f"--- Reader: {lecteur}", "--- Status: SCARD_STATE_PRESENT",
                   "--- Status: The card is available for use.",
                   f"--- Card: {'Gemalto USB Shell Token V2 (carte simulee)' if safenet else ''}",
                   "--- ATR:", "    3b 7f 96 00 00 80 31 80 65 b0 85 03 00 ef 12 0f  ;.....1.e.......",
                   "    fe 82 90 00                                       ;...."]
    lignes.append("CertUtil: -SCInfo command completed successfully.")
    return "\r\n".join(lignes) + "\r\n"


def lancer_programme(vmx: Path, programme: str, arguments: list[str], options: list[str]) -> int:
    """PowerShell running the preparation script from C:, and cmd.exe writing certutil -scinfo to a file."""
    nom = PureWindowsPath(programme).name.lower()
    if nom == "cmd.exe":
        commande = " ".join(arguments)
        trouve = re.fullmatch(r"/c certutil(?:\.exe)? -scinfo -silent > (\S+) 2>&1", commande)
        cible = chemin_invite(vmx, trouve.group(1)) if trouve else None
        if trouve is None:
            etat.non_simule("vmrun", f"programme invité {programme} {commande}")
        if cible is None or not cible.parent.is_dir():
            print("Guest program exited with non-zero exit code: 1")
            return ERREUR
        cible.write_text(_scinfo(vmx, _lire(vmx)), encoding="utf-8")
        return 0
    if nom != "powershell.exe" or "-File" not in arguments:
        etat.non_simule("vmrun", f"programme invité {programme}")
    script = arguments[arguments.index("-File") + 1] if arguments.index("-File") + 1 < len(arguments) else ""
    cible = chemin_invite(vmx, script)
    if cible is None or not cible.is_file():
        print("Error: A file was not found")
        return ERREUR
    manifeste = cible.with_name("manifeste.json")
    media = {"telesante/preparation.ps1": cible.read_bytes(),
             "telesante/manifeste.json": manifeste.read_bytes() if manifeste.is_file() else b"{}"}
    fichiers = cible.parent / "fichiers"
    if fichiers.is_dir():
        for fichier in fichiers.iterdir():
            media[f"telesante/fichiers/{fichier.name}".lower()] = fichier.read_bytes()
    donnees = _lire(vmx)
    code = _preparer(vmx, donnees, media)
    _ecrire(vmx, donnees)
    if code != 0 and "-noWait" not in options:
        print(f"Guest program exited with non-zero exit code: {code}")
        return ERREUR
    return 0


if __name__ == "__main__":
    sys.exit("invite_simule.py est un module du remplaçant vmrun")
