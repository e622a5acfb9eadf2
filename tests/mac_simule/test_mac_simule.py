"""Self-tests of the simulated Mac: it must behave as the contract (CONTRAT.md) says.

Everything a role relies on is checked through the channel the roles use:
SSH with key authentication and the host key checked against the Mac's
known_hosts (paramiko, RejectPolicy), then Ansible itself over SSH.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import plistlib
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import paramiko
import pytest
import yaml

from . import construction
from .construction import (
    ConfigurationMac,
    MacSimule,
    MacSimuleErreur,
    construire_mac,
    ecrire_inventaire,
)
from .fabrication import fabriquer_fusion, fabriquer_iso, sha256

racine = pytest.mark.racine

FUSION = "/Applications/VMware Fusion.app"
OUTILS_VMWARE = f"{FUSION}/Contents/Library"
MARQUEUR_CLT = "/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress"


# -- helpers -------------------------------------------------------------------


@dataclass
class Resultat:
    """What one command returned over SSH."""

    code: int
    sortie: str
    erreurs: str


class Session:
    """An SSH session to a simulated Mac, as the roles will open one."""

    def __init__(self, mac: MacSimule) -> None:
        self.mac = mac
        self.client = connecter(mac)

    def lancer(self, *argv: str, entree: str | None = None) -> Resultat:
        """Run one command (argv, quoted for the remote shell)."""
        stdin, stdout, stderr = self.client.exec_command(shlex.join(argv), timeout=30)
        if entree is not None:
            stdin.write(entree)
            stdin.channel.shutdown_write()
        sortie = stdout.read().decode()
        erreurs = stderr.read().decode()
        return Resultat(stdout.channel.recv_exit_status(), sortie, erreurs)

    def reussir(self, *argv: str) -> str:
        """Run one command, assert it succeeded, return its stdout."""
        resultat = self.lancer(*argv)
        assert resultat.code == 0, f"{argv} a échoué ({resultat.code}) : {resultat.erreurs}"
        return resultat.sortie

    def close(self) -> None:
        self.client.close()


def connecter(mac: MacSimule, hotes_connus: Path | None = None) -> paramiko.SSHClient:
    """Key authentication, host key checked against known_hosts (RejectPolicy)."""
    client = paramiko.SSHClient()
    client.load_host_keys(str(hotes_connus or mac.hotes_connus))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(mac.adresse, port=mac.port, username=mac.utilisateur,
                       key_filename=str(mac.cle_privee), look_for_keys=False, allow_agent=False,
                       timeout=5, banner_timeout=5, auth_timeout=5)
    except BaseException:
        client.close()
        raise
    return client


@contextlib.contextmanager
def session(mac: MacSimule) -> Iterator[Session]:
    ouverte = Session(mac)
    try:
        yield ouverte
    finally:
        ouverte.close()


def installateur(mac: MacSimule, format: str = "pkg", version: str = "13.6.2") -> str:
    """Put a Fusion installer in the Mac's /private/tmp; return its path on the Mac."""
    chemin = fabriquer_fusion(mac.chemin("/private/tmp/installateurs"), version, format=format)
    return f"/private/tmp/installateurs/{chemin.name}"


# -- shared Macs (tests that do not mutate them) --------------------------------


@pytest.fixture(scope="module")
def mac_arm(fabrique_mac_simule_module: Callable[..., MacSimule]) -> MacSimule:
    return fabrique_mac_simule_module(nom="mac-arm")


@pytest.fixture(scope="module")
def mac_intel(fabrique_mac_simule_module: Callable[..., MacSimule]) -> MacSimule:
    return fabrique_mac_simule_module(architecture="x86_64", version_macos="13.6.9",
                                      numero_serie="C07XK2LMJYVX", memoire_gio=32,
                                      jeton_branche=False, nom="mac-intel")


@pytest.fixture(scope="module")
def ssh_arm(mac_arm: MacSimule) -> Iterator[Session]:
    with session(mac_arm) as ouverte:
        yield ouverte


@pytest.fixture(scope="module")
def ssh_intel(mac_intel: MacSimule) -> Iterator[Session]:
    with session(mac_intel) as ouverte:
        yield ouverte


# -- construction, SSH, isolation ------------------------------------------------


def test_outils_tous_places() -> None:
    places = [o for outils in construction.EMPLACEMENTS_MACOS.values() for o in outils]
    assert sorted(places) == sorted(construction.OUTILS_MACOS)
    for nom in (*construction.OUTILS_MACOS, *construction.OUTILS_FUSION):
        outil = construction.OUTILS / nom
        assert outil.read_text().startswith("#!/usr/bin/python3\n"), nom
        assert os.access(outil, os.X_OK), nom


def test_configuration_invalide_refusee() -> None:
    with pytest.raises(ValueError, match="Architecture"):
        ConfigurationMac(architecture="ppc")
    with pytest.raises(ValueError, match="Version"):
        ConfigurationMac(version_macos="quatorze")
    with pytest.raises(ValueError, match="série"):
        ConfigurationMac(numero_serie="abc")
    with pytest.raises(ValueError, match="espace"):
        ConfigurationMac(espace_libre_gio=-1)


@racine
def test_construction_rapide_et_ssh_verifie(mac_arm: MacSimule, ssh_arm: Session,
                                             tmp_path: Path) -> None:
    duree = mac_arm.duree_construction
    assert duree < 5, f"construction trop lente : {duree:.2f} s"
    assert ssh_arm.reussir("hostname").strip() == "mac-arm"
    chemin = ssh_arm.reussir("sh", "-c", "echo $PATH").strip()
    assert chemin == construction.CHEMIN_MAC
    assert ssh_arm.reussir("sh", "-c", "for c in sysctl uname df; do command -v $c; done").split() == [
        "/opt/telesante-macos/bin/sysctl", "/opt/telesante-macos/bin/uname",
        "/opt/telesante-macos/bin/df"]
    # The stand-ins are also at their macOS paths; the host keeps its own commands.
    assert ssh_arm.reussir("/usr/bin/uname", "-m") == "arm64\n"
    assert ssh_arm.reussir("/usr/sbin/sysctl", "-n", "hw.optional.arm64") == "1\n"
    assert ssh_arm.reussir("/bin/df", "-k", "/").startswith("Filesystem ")
    assert ssh_arm.reussir("/usr/bin/sw_vers", "-productVersion") == "14.6.1\n"
    for dossier, outils in construction.EMPLACEMENTS_MACOS.items():
        for outil in outils:
            assert ssh_arm.reussir("head", "-1", f"{dossier}/{outil}") == "#!/usr/bin/python3\n"
            assert not Path(dossier, outil).exists() or outil in ("arch", "df", "uname", "sysctl")
    assert subprocess.run(["uname", "-s"], capture_output=True, text=True).stdout == "Linux\n"
    # The SSH session and executer() see the same Mac.
    assert mac_arm.executer(["uname", "-m"]).stdout == ssh_arm.reussir("uname", "-m")
    # Another host key: RejectPolicy refuses the connection.
    faux = tmp_path / "known_hosts"
    autre = paramiko.Ed25519Key.from_private_key_file(str(mac_arm.cle_privee))
    faux.write_text(f"{mac_arm.adresse} ssh-ed25519 {autre.get_base64()}\n")
    with pytest.raises(paramiko.SSHException):
        connecter(mac_arm, faux).close()


@racine
def test_fichiers_isoles_entre_macs_et_hote(mac_arm: MacSimule, mac_intel: MacSimule,
                                            ssh_arm: Session, ssh_intel: Session) -> None:
    nom = f"isolation-{os.getpid()}.txt"
    for dossier in ("/Applications", "/Library", "/Users/Shared", "/private/tmp", "/tmp"):
        ssh_arm.reussir("sh", "-c", f"echo arm > '{dossier}/{nom}'")
        assert ssh_intel.lancer("test", "-e", f"{dossier}/{nom}").code == 1, dossier
        assert not Path(dossier, nom).exists(), f"{dossier}/{nom} visible sur l'hôte"
    assert mac_arm.chemin(f"/tmp/{nom}").read_text() == "arm\n"
    assert ssh_arm.reussir("cat", f"/private/tmp/{nom}") == "arm\n"  # /tmp is /private/tmp
    # The host's /tmp (where the Macs' folders live) is not visible from a Mac.
    assert ssh_arm.lancer("test", "-e", str(mac_intel.racine)).code == 1
    assert ssh_arm.reussir("/usr/libexec/PlistBuddy", "-h").startswith("Usage: PlistBuddy")
    assert not Path("/usr/libexec/PlistBuddy").exists()


@racine
def test_sftp_depose_dans_le_mac(mac_arm: MacSimule, tmp_path: Path) -> None:
    iso = fabriquer_iso(tmp_path, "Win11_24H2_French_Arm64.iso")
    client = connecter(mac_arm)
    try:
        with client.open_sftp() as sftp:
            sftp.put(str(iso), "/private/tmp/windows.iso")
    finally:
        client.close()
    assert sha256(mac_arm.chemin("/private/tmp/windows.iso")) == sha256(iso)
    assert not Path("/private/tmp/windows.iso").exists()


# -- system identification ----------------------------------------------------------


@racine
def test_sw_vers(ssh_arm: Session, ssh_intel: Session) -> None:
    assert ssh_arm.reussir("sw_vers") == ("ProductName:\t\tmacOS\nProductVersion:\t\t14.6.1\n"
                                          "BuildVersion:\t\t23G93\n")
    assert ssh_arm.reussir("sw_vers", "-productVersion") == "14.6.1\n"
    assert ssh_intel.reussir("sw_vers", "--productVersion") == "13.6.9\n"
    assert ssh_intel.reussir("sw_vers", "-buildVersion") == "22G830\n"
    refus = ssh_arm.lancer("sw_vers", "-productversion")
    assert refus.code == 1 and refus.erreurs.startswith("Usage: sw_vers")


@racine
def test_uname_et_sysctl_apple_silicon(ssh_arm: Session) -> None:
    assert ssh_arm.reussir("uname", "-m") == "arm64\n"
    assert ssh_arm.reussir("uname") == "Darwin\n"
    assert ssh_arm.reussir("uname", "-sr") == "Darwin 23.6.0\n"
    assert ssh_arm.reussir("sysctl", "-n", "hw.optional.arm64") == "1\n"
    assert ssh_arm.reussir("sysctl", "-n", "machdep.cpu.brand_string") == "Apple M2\n"
    assert ssh_arm.reussir("sysctl", "-n", "hw.memsize") == f"{16 * 1024 ** 3}\n"
    assert ssh_arm.reussir("sysctl", "hw.ncpu") == "hw.ncpu: 8\n"
    assert ssh_arm.reussir("arch") == "arm64\n"


@racine
def test_uname_et_sysctl_intel(ssh_intel: Session) -> None:
    assert ssh_intel.reussir("uname", "-m") == "x86_64\n"
    refus = ssh_intel.lancer("sysctl", "-n", "hw.optional.arm64")
    assert (refus.code, refus.sortie, refus.erreurs) == (
        1, "", "sysctl: unknown oid 'hw.optional.arm64'\n")
    assert ssh_intel.reussir("sysctl", "-n", "machdep.cpu.brand_string") == \
        "Intel(R) Core(TM) i7-8700B CPU @ 3.20GHz\n"
    assert ssh_intel.reussir("sysctl", "-n", "hw.memsize") == f"{32 * 1024 ** 3}\n"
    assert ssh_intel.reussir("sysctl", "-n", "hw.ncpu") == "12\n"
    assert ssh_intel.reussir("arch") == "i386\n"


@racine
def test_system_profiler_materiel(ssh_arm: Session, ssh_intel: Session) -> None:
    arm = json.loads(ssh_arm.reussir("system_profiler", "SPHardwareDataType", "-json"))
    (apercu,) = arm["SPHardwareDataType"]
    assert apercu["chip_type"] == "Apple M2" and "cpu_type" not in apercu
    assert apercu["serial_number"] == "C02ZK1ABMD6R"
    assert apercu["physical_memory"] == "16 GB"
    assert apercu["machine_model"] == "Mac14,3"
    intel = json.loads(ssh_intel.reussir("system_profiler", "-json", "SPHardwareDataType"))
    (apercu,) = intel["SPHardwareDataType"]
    assert apercu["cpu_type"] == "6-Core Intel Core i7" and "chip_type" not in apercu
    assert (apercu["serial_number"], apercu["physical_memory"]) == ("C07XK2LMJYVX", "32 GB")
    texte = ssh_arm.reussir("system_profiler", "SPHardwareDataType")
    assert "      Serial Number (system): C02ZK1ABMD6R\n" in texte
    refus = ssh_arm.lancer("system_profiler", "SPFrobDataType")
    assert refus.code != 0 and "non pris en charge" in refus.erreurs


@racine
def test_system_profiler_usb_jeton(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule(jeton_branche=True)

    def jetons() -> list[dict]:
        donnees = json.loads(mac.executer(["system_profiler", "SPUSBDataType", "-json"]).stdout)
        return [appareil for bus in donnees["SPUSBDataType"] for appareil in bus.get("_items", [])]

    (jeton,) = jetons()
    assert jeton["_name"] == "USB Shell Token V2"
    assert jeton["vendor_id"].startswith("0x08e6  (Gemalto")
    assert jeton["product_id"] == "0x3438"
    mac.debrancher_jeton()
    assert jetons() == []
    assert "USB Shell Token V2" not in mac.executer(["system_profiler", "SPUSBDataType"]).stdout
    mac.brancher_jeton()
    assert [j["product_id"] for j in jetons()] == ["0x3438"]


def test_system_profiler_usb_macos_26(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    """macOS 26 (Tahoe): SPUSBDataType is empty and unlisted, the token is in SPUSBHostDataType.

    Shape of macOS 26 (keys USBDeviceKey*, ids without the vendor name): real
    captures quoted in Neradoc/discotool#14 and in the README (« macOS 26 »).
    """
    mac = fabrique_mac_simule(version_macos="26.1", jeton_branche=True)
    assert mac.executer(["uname", "-r"]).stdout.strip() == "25.1.0"
    assert mac.executer(["sw_vers", "-buildVersion"]).stdout.strip().startswith("25")
    ancien = mac.executer(["system_profiler", "SPUSBDataType", "-json"])
    assert ancien.returncode == 0 and json.loads(ancien.stdout) == {"SPUSBDataType": []}
    types = mac.executer(["system_profiler", "-listDataTypes"]).stdout.split()
    assert "SPUSBHostDataType" in types and "SPUSBDataType" not in types

    def jetons() -> list[dict]:
        donnees = json.loads(mac.executer(["system_profiler", "SPUSBHostDataType", "-json"]).stdout)
        return [appareil for bus in donnees["SPUSBHostDataType"] for appareil in bus.get("_items", [])]

    (jeton,) = jetons()
    assert jeton["_name"] == "USB Shell Token V2"
    assert jeton["USBDeviceKeyVendorID"] == "0x08e6" and jeton["USBDeviceKeyProductID"] == "0x3438"
    assert jeton["USBDeviceKeyVendorName"] == "Gemalto" and "vendor_id" not in jeton
    assert "USB Vendor ID: 0x08e6" in mac.executer(["system_profiler", "SPUSBHostDataType"]).stdout
    mac.debrancher_jeton()
    assert jetons() == []


def test_system_profiler_usb_host_absent_avant_macos_26(ssh_arm: Session) -> None:
    resultat = ssh_arm.lancer("system_profiler", "SPUSBHostDataType", "-json")
    assert resultat.code != 0
    assert "SPUSBHostDataType" not in ssh_arm.reussir("system_profiler", "-listDataTypes")


# -- Command Line Tools and Rosetta ------------------------------------------------


@racine
def test_outils_en_ligne_de_commande(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule(outils_cli_installes=False)
    with session(mac) as s:
        absent = s.lancer("xcode-select", "-p")
        assert absent.code == 2
        assert absent.erreurs.startswith("xcode-select: error: unable to get active developer "
                                         "directory")
        liste = s.lancer("softwareupdate", "--list")
        assert liste.code == 0 and "Command Line Tools" not in liste.sortie
        assert "No new software available." in liste.erreurs
        s.reussir("touch", MARQUEUR_CLT)
        liste = s.reussir("softwareupdate", "-l")
        etiquettes = re.findall(r"^\* Label: (.+)$", liste, re.MULTILINE)
        assert etiquettes == ["Command Line Tools for Xcode-15.3"]
        inconnue = s.lancer("softwareupdate", "--install", "Safari18.1")
        assert inconnue.code != 0 and "No such update" in inconnue.erreurs
        s.reussir("softwareupdate", "--install", etiquettes[0], "--verbose")
        assert s.reussir("xcode-select", "-p") == "/Library/Developer/CommandLineTools\n"
        assert s.reussir("/Library/Developer/CommandLineTools/usr/bin/git", "--version")
        assert "package-id: com.apple.pkg.CLTools_Executables" in \
            s.reussir("pkgutil", "--pkg-info=com.apple.pkg.CLTools_Executables")
        # Installed: no longer offered, even with the marker.
        assert "Command Line Tools" not in s.reussir("softwareupdate", "--list")


@racine
def test_rosetta(fabrique_mac_simule: Callable[..., MacSimule], ssh_intel: Session) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        avant = s.lancer("arch", "-x86_64", "/usr/bin/true")
        assert avant.code == 1 and "Bad CPU type in executable" in avant.erreurs
        refus = s.lancer("softwareupdate", "--install-rosetta", entree="non\n")
        assert refus.code == 1
        sortie = s.reussir("softwareupdate", "--install-rosetta", "--agree-to-license")
        assert "Install of Rosetta 2 finished successfully" in sortie
        s.reussir("pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto")
        s.reussir("arch", "-x86_64", "/usr/bin/true")
    intel = ssh_intel.lancer("softwareupdate", "--install-rosetta", "--agree-to-license")
    assert intel.code == 1 and "not supported" in intel.erreurs


# -- disk images, packages, archives ----------------------------------------------------


@racine
def test_hdiutil_attach_detach(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        dmg = installateur(mac, "dmg")
        sortie = s.reussir("hdiutil", "attach", dmg, "-nobrowse", "-readonly", "-noverify",
                           "-mountpoint", "/Volumes/fusion")
        assert re.search(r"^/dev/disk\d+s1\s+\tApple_HFS\s+\t/Volumes/fusion$", sortie, re.MULTILINE)
        assert s.reussir("ls", "/Volumes/fusion") == "VMware Fusion.pkg\n"
        assert "/Volumes/fusion" in s.reussir("hdiutil", "info")
        assert s.reussir("df", "-k", "/Volumes/fusion").splitlines()[1].endswith("/Volumes/fusion")
        # Attaching the same image again reports the existing attachment.
        encore = plistlib.loads(s.reussir("hdiutil", "attach", "-plist", "-nobrowse", dmg).encode())
        points = [e.get("mount-point") for e in encore["system-entities"]]
        assert "/Volumes/fusion" in points
        assert s.reussir("hdiutil", "detach", "/Volumes/fusion") == '"disk4" ejected.\n'
        assert s.lancer("test", "-e", "/Volumes/fusion").code == 1
        absent = s.lancer("hdiutil", "detach", "/Volumes/fusion")
        assert absent.code == 1 and "detach failed" in absent.erreurs
        # Default mount point: /Volumes/<volume name>; verification by default.
        sortie = s.reussir("hdiutil", "attach", "-nobrowse", dmg)
        assert "verified   CRC32 $" in sortie and sortie.rstrip().endswith("/Volumes/VMware Fusion")
        disque = re.search(r"^(/dev/disk\d+)\s", sortie, re.MULTILINE).group(1)
        s.reussir("hdiutil", "detach", disque)
        assert s.reussir("ls", "/Volumes") == ""


@racine
def test_hdiutil_refuse_ce_qui_n_est_pas_udif(fabrique_mac_simule: Callable[..., MacSimule]
                                              ) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        zip_ = installateur(mac, "zip")
        refus = s.lancer("hdiutil", "attach", "-nobrowse", zip_)
        assert (refus.code, refus.erreurs) == (1, "hdiutil: attach failed - image not recognized\n")
        dmg = mac.chemin(installateur(mac, "dmg"))
        abime = bytearray(dmg.read_bytes())
        abime[100] ^= 0xFF
        dmg.with_name("abime.dmg").write_bytes(bytes(abime))
        corrompue = s.lancer("hdiutil", "attach", "/private/tmp/installateurs/abime.dmg")
        assert corrompue.code == 1 and "corrupt image" in corrompue.erreurs
        assert s.lancer("hdiutil", "attach", "-frob", zip_).code == 1
        assert s.lancer("hdiutil", "frobnicate").code == 1
        source = "/private/tmp/source"
        s.reussir("mkdir", "-p", f"{source}/Dossier")
        s.reussir("sh", "-c", f"echo contenu > {source}/Dossier/fichier.txt")
        cree = s.reussir("hdiutil", "create", "-srcfolder", source, "-format", "UDZO",
                         "-volname", "Essai", "/private/tmp/essai")
        assert cree == "created: /private/tmp/essai.dmg\n"
        deja = s.lancer("hdiutil", "create", "-srcfolder", source, "/private/tmp/essai.dmg")
        assert deja.code == 1 and "File exists" in deja.erreurs
        assert mac.chemin("/private/tmp/essai.dmg").read_bytes()[-512:][:4] == b"koly"
        s.reussir("hdiutil", "attach", "-nobrowse", "/private/tmp/essai.dmg")
        assert s.reussir("cat", "/Volumes/Essai/Dossier/fichier.txt") == "contenu\n"


@racine
def test_installer_et_recu_pkgutil(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        pkg = installateur(mac, "pkg")
        sortie = s.reussir("installer", "-pkg", pkg, "-target", "/")
        assert sortie.splitlines()[-1] == "installer: The install was successful."
        assert "installer: Installing at base path /" in sortie
        assert s.reussir("pkgutil", "--pkgs").splitlines().count("com.vmware.fusion") == 1
        info = s.reussir("pkgutil", "--pkg-info", "com.vmware.fusion")
        assert re.fullmatch(r"package-id: com\.vmware\.fusion\nversion: 13\.6\.2\nvolume: /\n"
                            r"location: Applications\ninstall-time: \d{10}\n", info), info
        assert "VMware Fusion.app/Contents/Info.plist" in \
            s.reussir("pkgutil", "--files", "com.vmware.fusion").splitlines()
        assert s.reussir("defaults", "read", f"{FUSION}/Contents/Info.plist",
                         "CFBundleShortVersionString") == "13.6.2\n"
        with open(mac.chemin(f"{FUSION}/Contents/Info.plist"), "rb") as flux:
            assert plistlib.load(flux)["CFBundleIdentifier"] == "com.vmware.fusion"
        assert s.reussir("xattr", "-p", "com.apple.quarantine", FUSION).startswith("0083;")
        assert "Upgrading at base path /" in s.reussir("installer", "-pkg", pkg, "-target", "/")
        absent = s.lancer("pkgutil", "--pkg-info", "com.vmware.horizon")
        assert (absent.code, absent.erreurs) == (
            1, "No receipt for 'com.vmware.horizon' found at '/'.\n")
        for faux in (installateur(mac, "zip"), installateur(mac, "dmg"), "/nulle/part.pkg"):
            refus = s.lancer("installer", "-pkg", faux, "-target", "/")
            assert refus.code == 1 and "the package path specified was invalid" in refus.erreurs
        assert s.lancer("installer", "-pkg", pkg, "-target", "/Volumes/Autre").code == 1
        assert s.lancer("installer", "-pkg", pkg).code == 1
        mac.regler_espace_libre(0)
        plein = s.lancer("installer", "-pkg", pkg, "-target", "/")
        assert plein.code == 1 and "not enough space" in plein.erreurs


@racine
def test_ditto_et_quarantaine(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        archive = installateur(mac, "zip")
        s.reussir("ditto", "-x", "-k", archive, "/Applications")
        info = f"{FUSION}/Contents/Info.plist"
        assert s.reussir("/usr/libexec/PlistBuddy", "-c", "Print :CFBundleShortVersionString",
                         info) == "13.6.2\n"
        assert s.reussir("test", "-x", f"{OUTILS_VMWARE}/vmrun") == ""
        assert s.reussir("readlink", f"{FUSION}/Contents/Public/vmrun") == "../Library/vmrun\n"
        liste = s.reussir("xattr", "-l", FUSION)
        assert liste.startswith("com.apple.quarantine: 0083;")
        assert s.reussir("xattr", FUSION) == "com.apple.quarantine\n"
        s.reussir("xattr", "-dr", "com.apple.quarantine", FUSION)
        absent = s.lancer("xattr", "-p", "com.apple.quarantine", FUSION)
        assert (absent.code, absent.erreurs) == (
            1, f"xattr: {FUSION}: No such xattr: com.apple.quarantine\n")
        supprime = s.lancer("xattr", "-d", "com.apple.quarantine", FUSION)
        assert (supprime.code, supprime.erreurs) == (
            1, f"xattr: {FUSION}: No such xattr: com.apple.quarantine\n")
        assert s.lancer("xattr", "-dr", "com.apple.quarantine", FUSION).code == 0
        s.reussir("xattr", "-w", "com.example.note", "bonjour", info)
        assert s.reussir("xattr", "-p", "com.example.note", info) == "bonjour\n"
        assert s.lancer("xattr", "-p", "x", "/nulle/part").erreurs == \
            "xattr: No such file: /nulle/part\n"
        s.reussir("ditto", "-x", "-k", "--noqtn", archive, "/private/tmp/sans")
        assert s.reussir("xattr", "/private/tmp/sans/VMware Fusion.app") == ""
        dmg = installateur(mac, "dmg")
        refus = s.lancer("ditto", "-x", "-k", dmg, "/private/tmp/x")
        assert (refus.code, refus.erreurs) == (1, f"ditto: Couldn't read PKZip signature from {dmg}\n")
        s.reussir("ditto", "-c", "-k", "--keepParent", FUSION, "/private/tmp/refait.zip")
        s.reussir("ditto", "-x", "-k", "/private/tmp/refait.zip", "/private/tmp/refait")
        s.reussir("test", "-f", "/private/tmp/refait/VMware Fusion.app/Contents/Info.plist")


@racine
def test_defaults_et_plistbuddy(ssh_arm: Session) -> None:
    domaine = "/Library/Preferences/com.vmware.fusion"
    ssh_arm.reussir("defaults", "write", domaine, "NoTelemetry", "-bool", "true")
    ssh_arm.reussir("defaults", "write", domaine, "dataCollectionEnabled", "-int", "0")
    ssh_arm.reussir("defaults", "write", domaine, "licenseMode", "-string", "site")
    assert ssh_arm.reussir("defaults", "read", domaine, "NoTelemetry") == "1\n"
    assert ssh_arm.reussir("defaults", "read-type", domaine, "NoTelemetry") == "Type is boolean\n"
    assert ssh_arm.reussir("defaults", "read", domaine, "dataCollectionEnabled") == "0\n"
    assert ssh_arm.reussir("defaults", "read", f"{domaine}.plist", "licenseMode") == "site\n"
    assert "    NoTelemetry = 1;\n" in ssh_arm.reussir("defaults", "read", domaine)
    absente = ssh_arm.lancer("defaults", "read", domaine, "inconnue")
    assert absente.code == 1 and absente.erreurs.rstrip().endswith(
        f"The domain/default pair of ({domaine}, inconnue) does not exist")
    assert ssh_arm.lancer("defaults", "read", "com.example.absent").code == 1
    assert ssh_arm.lancer("defaults", "write", domaine, "x", "-bool", "peut-etre").code == 1
    assert ssh_arm.lancer("defaults", "write", domaine, "x", "-frob", "1").code == 1
    ssh_arm.reussir("defaults", "write", "com.vmware.fusion", "hideTips", "-bool", "yes")
    utilisateur = ssh_arm.mac.chemin("/private/var/root/Library/Preferences/com.vmware.fusion.plist")
    with open(utilisateur, "rb") as flux:
        assert plistlib.load(flux) == {"hideTips": True}
    with open(ssh_arm.mac.chemin(f"{domaine}.plist"), "rb") as flux:
        assert plistlib.load(flux)["NoTelemetry"] is True
    assert ssh_arm.reussir("/usr/libexec/PlistBuddy", "-c", "Print :licenseMode",
                           f"{domaine}.plist") == "site\n"
    absente = ssh_arm.lancer("/usr/libexec/PlistBuddy", "-c", "Print :Absente", f"{domaine}.plist")
    assert (absente.code, absente.erreurs) == (1, 'Print: Entry, ":Absente", Does Not Exist\n')
    ssh_arm.reussir("defaults", "delete", domaine, "licenseMode")
    assert ssh_arm.lancer("defaults", "read", domaine, "licenseMode").code == 1


# -- VMware Fusion --------------------------------------------------------------------


# A made-up serial in VMware's format (5 groups of 5), never a real key.
NUMERO_FUSION = "ABCDE-12345-FGHIJ-67890-KLMNO"


@racine
def test_fusion_licence_selon_la_version(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    """Before 13.6.2: serial by Initialize VMware Fusion.tool or by the mass deployment package
    (Deploy.ini, KB 2058680); from 13.6.2 (free, no key): no serial, no deployment package."""
    mac = fabrique_mac_simule()
    outil = f"{OUTILS_VMWARE}/Initialize VMware Fusion.tool"
    paquet_app = f"{OUTILS_VMWARE}/Deploy VMware Fusion.mpkg"
    licence = mac.chemin("/Library/Preferences/VMware Fusion/license-fusion-130-e1-202208")
    with session(mac) as s:
        s.reussir("installer", "-pkg", installateur(mac, "pkg", "13.5.2"), "-target", "/")
        resultat = s.lancer(outil, "set", "", "", NUMERO_FUSION)
        assert resultat.code == 0 and NUMERO_FUSION not in resultat.sortie + resultat.erreurs
        empreinte = hashlib.sha256(NUMERO_FUSION.encode()).hexdigest()
        assert mac.etat("vmware")["licence"]["sha256"] == empreinte
        assert NUMERO_FUSION not in json.dumps(mac.etat("vmware"))
        assert licence.stat().st_mode & 0o777 == 0o600
        mauvais = s.lancer(outil, "set", "", "", "ABCDE-12345-FGHIJ")
        assert mauvais.code == 1 and "ABCDE" not in mauvais.sortie + mauvais.erreurs
        s.reussir(outil, "set")  # initialisation only, as Homebrew's cask does

        # the mass deployment package, as KB 2058680 says to prepare it
        licence.unlink()
        sans_licence = mac.etat("vmware")
        sans_licence.pop("licence")
        mac.chemin("/private/var/telesante-etat/vmware.json").write_text(json.dumps(sans_licence))
        s.reussir("ditto", paquet_app, "/private/tmp/Deploy VMware Fusion.mpkg")
        elements = "/private/tmp/Deploy VMware Fusion.mpkg/Contents/00Fusion_Deployment_Items"
        ini = mac.chemin(f"{elements}/Deploy.ini")
        assert "# key = XXXXX-XXXXX-XXXXX-XXXXX-XXXXX" in ini.read_text()
        sans_app = s.lancer("installer", "-pkg", "/private/tmp/Deploy VMware Fusion.mpkg", "-target", "/")
        assert sans_app.code == 1 and "VMware Fusion.app is missing" in sans_app.sortie + sans_app.erreurs
        s.reussir("ditto", "/Applications/VMware Fusion.app", f"{elements}/VMware Fusion.app")
        ini.write_text(ini.read_text().replace("# key = XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", "key = ABCDE-12345"))
        faux = s.lancer("installer", "-pkg", "/private/tmp/Deploy VMware Fusion.mpkg", "-target", "/")
        assert faux.code == 1 and "invalid volume license key" in faux.sortie + faux.erreurs
        assert "ABCDE" not in faux.sortie + faux.erreurs and not licence.exists()
        ini.write_text(ini.read_text().replace("key = ABCDE-12345", f"key = {NUMERO_FUSION}"))
        deploye = s.lancer("installer", "-pkg", "/private/tmp/Deploy VMware Fusion.mpkg", "-target", "/")
        assert deploye.code == 0, deploye
        assert "The upgrade was successful." in deploye.sortie and NUMERO_FUSION not in deploye.sortie
        assert mac.etat("vmware")["licence"]["sha256"] == empreinte
        assert licence.stat().st_mode & 0o777 == 0o600
        autre = mac.chemin("/private/tmp/Autre.mpkg/Contents")
        autre.mkdir(parents=True)
        refus = s.lancer("installer", "-pkg", "/private/tmp/Autre.mpkg", "-target", "/")
        assert refus.code == 1 and "non pris en charge par le Mac simulé" in refus.erreurs

        # Fusion 13.6.2: free, no licence key, no deployment package
        s.reussir("installer", "-pkg", installateur(mac, "pkg", "13.6.2"), "-target", "/")
        assert s.lancer("test", "-e", paquet_app).code == 1
        sans_cle = s.lancer(outil, "set", "", "", NUMERO_FUSION)
        assert sans_cle.code == 1 and "Fusion 13.6.2 ou plus" in sans_cle.erreurs
        assert NUMERO_FUSION not in sans_cle.sortie + sans_cle.erreurs
        s.reussir(outil, "set")


@racine
def test_journal_des_argv(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    """journal_argv=True: every process started over SSH is journaled with its exact argv."""
    mac = fabrique_mac_simule(journal_argv=True)
    hostile = 'a b\t"c\'\x1b[2J\u00e9'
    with session(mac) as s:
        s.reussir("/bin/echo", hostile, "deux")
    lances = mac.arguments_lances()
    assert ["/bin/echo", hostile, "deux"] in lances, lances
    # the session's shell too (sshd runs "<shell> -c <command>")
    assert any(argv[1:2] == ["-c"] and "deux" in argv[2] for argv in lances if len(argv) == 3), lances
    sans = fabrique_mac_simule()
    with pytest.raises(MacSimuleErreur, match="ne journalise pas"):
        sans.arguments_lances()


@racine
def test_fusion_disque_et_vm(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule()
    with session(mac) as s:
        assert s.lancer("test", "-e", f"{OUTILS_VMWARE}/vmrun").code == 1  # not before install
        s.reussir("installer", "-pkg", installateur(mac, "pkg"), "-target", "/")

        vm = "/Users/Shared/Machines virtuelles/Windows 11.vmwarevm"
        s.reussir("mkdir", "-p", vm)
        vdisk = f"{OUTILS_VMWARE}/vmware-vdiskmanager"
        cree = s.reussir(vdisk, "-c", "-s", "80GB", "-a", "lsilogic", "-t", "0", f"{vm}/Windows 11.vmdk")
        assert cree.splitlines()[-1] == "Virtual disk creation successful."
        disque = mac.chemin(f"{vm}/Windows 11.vmdk").read_bytes()
        assert disque[:4] == b"KDMV" and b'createType="monolithicSparse"' in disque
        assert b"RW 167772160 SPARSE" in disque
        double = s.lancer(vdisk, "-c", "-s", "80GB", "-a", "lsilogic", "-t", "0", f"{vm}/Windows 11.vmdk")
        assert double.code != 0 and "Failed to create disk: The file already exists" in double.erreurs
        # the real tool's help: "(ide, buslogic, lsilogic). Pass lsilogic for other adapter types."
        for autre in ("floppy", "nvme", "sata", "pvscsi"):
            refus = s.lancer(vdisk, "-c", "-s", "80GB", "-a", autre, "-t", "0", f"{vm}/b.vmdk")
            assert refus.code != 0 and f"Invalid adapter type: {autre}" in refus.erreurs, autre
            assert not mac.chemin(f"{vm}/b.vmdk").exists()
        s.reussir(vdisk, "-c", "-s", "6GB", "-a", "lsilogic", "-t", "1", f"{vm}/partage.vmdk")
        descripteur = mac.chemin(f"{vm}/partage.vmdk").read_text()
        assert 'createType="twoGbMaxExtentSparse"' in descripteur
        assert descripteur.count(" SPARSE ") == 4
        mac.regler_espace_libre(20)
        plein = s.lancer(vdisk, "-c", "-s", "80GB", "-a", "lsilogic", "-t", "0", f"{vm}/plein.vmdk")
        assert plein.code != 0 and "not enough space" in plein.erreurs

        vmx = f"{vm}/Windows 11.vmx"
        mac.chemin(vmx).write_text('.encoding = "UTF-8"\nconfig.version = "8"\n'
                                   'virtualHW.version = "21"\nnvme0.present = "TRUE"\n'
                                   'nvme0:0.fileName = "Windows 11.vmdk"\nnvme0:0.present = "TRUE"\n')
        vmrun = f"{OUTILS_VMWARE}/vmrun"
        assert s.reussir(vmrun, "-T", "fusion", "list") == "Total running VMs: 0\n"
        s.reussir(vmrun, "-T", "fusion", "start", vmx, "nogui")
        assert mac.chemin(f"{vmx}.lck").is_dir()
        assert s.reussir(vmrun, "-T", "fusion", "list") == f"Total running VMs: 1\n{vmx}\n"
        s.reussir(vmrun, "-T", "fusion", "stop", vmx, "soft")
        assert not mac.chemin(f"{vmx}.lck").exists()
        arretee = s.lancer(vmrun, "-T", "fusion", "stop", vmx, "hard")
        assert (arretee.code, arretee.sortie) == (
            255, f"Error: The virtual machine is not powered on: {vmx}\n")
        mac.chemin(vmx).write_text(mac.chemin(vmx).read_text().replace("Windows 11.vmdk", "absent.vmdk"))
        sans_disque = s.lancer(vmrun, "-T", "fusion", "start", vmx, "nogui")
        assert sans_disque.code == 255 and "Cannot open the disk" in sans_disque.sortie
        introuvable = s.lancer(vmrun, "start", "/nulle/part.vmx", "nogui")
        assert introuvable.code == 255 and introuvable.sortie.startswith("Error: Cannot open VM")


@racine
def test_df_espace_libre_configurable(fabrique_mac_simule: Callable[..., MacSimule]) -> None:
    mac = fabrique_mac_simule(espace_libre_gio=42)
    with session(mac) as s:
        lignes = s.reussir("df", "-k", "/Users").splitlines()
        assert lignes[0].split() == ["Filesystem", "1024-blocks", "Used", "Available", "Capacity",
                                     "iused", "ifree", "%iused", "Mounted", "on"]
        colonnes = lignes[1].split()
        assert colonnes[0] == "/dev/disk3s5" and colonnes[-1] == "/System/Volumes/Data"
        assert int(colonnes[3]) == 42 * 1024 * 1024
        mac.regler_espace_libre(7.5)
        assert int(s.reussir("df", "-k", "/").splitlines()[1].split()[3]) == int(7.5 * 1024 * 1024)
        assert s.reussir("df", "-P", "/").splitlines()[0].split()[-2:] == ["Mounted", "on"]
        absent = s.lancer("df", "-k", "/nulle/part")
        assert absent.code == 1 and "No such file or directory" in absent.erreurs


@racine
@pytest.mark.parametrize("argv", [
    ["sw_vers", "-frob"], ["uname", "-z"], ["sysctl", "-z", "hw.ncpu"], ["arch", "-frob", "x"],
    ["system_profiler", "-frob"], ["xcode-select", "--frob"], ["softwareupdate", "--frob"],
    ["hdiutil", "frobnicate"], ["hdiutil", "attach", "-frob", "x.dmg"], ["installer", "-frob"],
    ["pkgutil", "--frob"], ["ditto", "-q", "a", "b"], ["xattr", "-z", "/"], ["defaults", "frob"],
    ["/usr/libexec/PlistBuddy", "-z", "x"], ["df", "-z"],
], ids=lambda argv: " ".join(argv))
def test_options_inconnues_refusees(ssh_arm: Session, argv: list[str]) -> None:
    refus = ssh_arm.lancer(*argv)
    assert refus.code != 0 and refus.erreurs.strip(), refus


@pytest.fixture(scope="module")
def mac_fusion(fabrique_mac_simule_module: Callable[..., MacSimule]) -> MacSimule:
    """A Mac with Fusion installed (from the test package)."""
    mac = fabrique_mac_simule_module(nom="mac-fusion")
    pkg = installateur(mac, "pkg")
    assert mac.executer(["installer", "-pkg", pkg, "-target", "/"]).returncode == 0
    return mac


@racine
@pytest.mark.parametrize("argv", [
    ["vmrun", "frobnicate"], ["vmrun", "-T", "parallels", "list"], ["vmrun", "stop"],
    ["vmware-vdiskmanager", "-z", "x.vmdk"], ["vmware-vdiskmanager", "-c", "x.vmdk"],
    ["Initialize VMware Fusion.tool", "get"],
], ids=lambda argv: " ".join(argv))
def test_options_inconnues_refusees_fusion(mac_fusion: MacSimule, argv: list[str]) -> None:
    refus = mac_fusion.executer([f"{OUTILS_VMWARE}/{argv[0]}", *argv[1:]])
    assert refus.returncode != 0 and (refus.stdout + refus.stderr).strip()


# -- Ansible ----------------------------------------------------------------------------


@racine
def test_ansible_sur_deux_macs(mac_arm: MacSimule, mac_intel: MacSimule, tmp_path: Path) -> None:
    inventaire = ecrire_inventaire([mac_arm, mac_intel], tmp_path / "inventaire",
                                   telesante_fusion_version="13.6.2")
    donnees = yaml.safe_load(inventaire.read_text())
    hote = donnees["all"]["children"]["postes_dsq"]["hosts"]["mac-intel"]
    assert hote["ansible_ssh_common_args"] == (f"-o UserKnownHostsFile={mac_intel.hotes_connus} "
                                               "-o StrictHostKeyChecking=yes")
    assert hote["telesante_numero_serie"] == "C07XK2LMJYVX"
    assert donnees["all"]["children"]["postes_dsq"]["vars"] == {"telesante_fusion_version": "13.6.2"}
    livre = tmp_path / "essai.yml"
    livre.write_text(yaml.safe_dump([{
        "name": "Essai du Mac simulé",
        "hosts": "postes_dsq",
        "gather_facts": False,
        "become": True,  # roles written for real Macs become root through sudo
        "tasks": [
            {"name": "Joindre le Mac", "ansible.builtin.ping": {}},
            {"name": "Lire la version de macOS",
             "ansible.builtin.command": "sw_vers -productVersion",
             "register": "version", "changed_when": False},
            {"name": "Montrer la version", "ansible.builtin.debug": {"var": "version.stdout"}},
        ],
    }], allow_unicode=True, sort_keys=False))
    env = {**os.environ, "ANSIBLE_LOCAL_TEMP": str(tmp_path / "local"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp"), "ANSIBLE_STDOUT_CALLBACK": "default"}
    env.pop("ANSIBLE_CONFIG", None)
    resultat = subprocess.run([str(Path(sys.executable).with_name("ansible-playbook")), "-i",
                               str(inventaire), str(livre)], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=180)
    assert resultat.returncode == 0, resultat.stdout + resultat.stderr
    sortie = resultat.stdout
    assert re.search(r"^mac-arm\s+: ok=3\s+changed=0\s+unreachable=0\s+failed=0", sortie, re.MULTILINE)
    assert re.search(r"^mac-intel\s+: ok=3\s+changed=0\s+unreachable=0\s+failed=0", sortie,
                     re.MULTILINE)
    assert re.search(r'ok: \[mac-arm\] => \{\n\s+"version.stdout": "14.6.1"', sortie)
    assert re.search(r'ok: \[mac-intel\] => \{\n\s+"version.stdout": "13.6.9"', sortie)


# -- teardown -----------------------------------------------------------------------------


def _espaces_de_noms() -> set[str]:
    sortie = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True).stdout
    return {e["name"] for e in json.loads(sortie or "[]")}


def _liens() -> set[str]:
    sortie = subprocess.run(["ip", "-j", "link", "show"], capture_output=True, text=True).stdout
    return {lien["ifname"] for lien in json.loads(sortie or "[]")}


def _vivant(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@racine
def test_demontage_complet(mac_simule_prerequis: None) -> None:
    mac = construire_mac()
    client = connecter(mac)
    try:
        _, sortie, _ = client.exec_command("sleep 30", timeout=5)  # a session left running
        pids = mac.pids()
        assert len(pids) >= 3, pids  # listener, session, sleep
        espace, lien, dossier = mac.espace_de_noms, mac.interface_hote, mac.dossier
        assert espace in _espaces_de_noms() and lien in _liens() and dossier.is_dir()
        mac.close()
        assert not any(_vivant(p) for p in pids)
        assert espace not in _espaces_de_noms() and lien not in _liens()
        assert not dossier.exists()
        mac.close()  # idempotent
        with pytest.raises(MacSimuleErreur, match="pas démarré"):
            mac.executer(["true"])
    finally:
        client.close()
        mac.close()


@racine
def test_echec_de_construction_ne_laisse_rien(mac_simule_prerequis: None,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    prefixe = f"{construction.PREFIXE}{os.getpid()}-"
    prefixe_lien = f"tm{construction.base36(os.getpid())}-"
    avant_ns = {n for n in _espaces_de_noms() if n.startswith(prefixe)}
    avant_liens = {n for n in _liens() if n.startswith(prefixe_lien)}
    avant_dossiers = set(Path("/tmp").glob(f"{prefixe}*"))
    monkeypatch.setattr(construction, "_DEMARRAGE", "echo 'démarrage impossible' >&2; exit 3")
    with pytest.raises(MacSimuleErreur, match="s'est arrêté"):
        construire_mac()
    assert {n for n in _espaces_de_noms() if n.startswith(prefixe)} == avant_ns
    assert set(Path("/tmp").glob(f"{prefixe}*")) == avant_dossiers
    assert {n for n in _liens() if n.startswith(prefixe_lien)} == avant_liens


@racine
def test_codesign_sceau_et_equipe(fabrique_mac_simule: Callable[..., MacSimule], tmp_path: Path) -> None:
    """codesign: valid seal and VMware's Team ID; a changed file breaks the seal; unsigned app refused."""
    from .fabrication import fabriquer_fusion

    mac = fabrique_mac_simule()
    installateur = fabriquer_fusion(tmp_path / "signe", format="zip")
    depot = mac.chemin("/private/tmp/fusion.zip")
    shutil.copy2(installateur, depot)
    assert mac.executer(["ditto", "-x", "-k", "/private/tmp/fusion.zip", "/Applications"]).returncode == 0
    app = "/Applications/VMware Fusion.app"
    valide = mac.executer(["codesign", "--verify", "--deep", "--strict", "--verbose=2", app])
    assert valide.returncode == 0 and valide.stdout == "", valide.stderr
    assert f"{app}: valid on disk" in valide.stderr
    identite = mac.executer(["codesign", "-dv", "--verbose=4", app])
    assert identite.returncode == 0 and "TeamIdentifier=EG7KH642X6" in identite.stderr
    assert "Authority=Developer ID Application: VMware, Inc. (EG7KH642X6)" in identite.stderr
    vmrun = mac.chemin(f"{app}/Contents/Library/vmrun")
    vmrun.write_text(vmrun.read_text() + "\n# modifié\n")
    altere = mac.executer(["codesign", "--verify", "--deep", "--strict", app])
    assert altere.returncode == 1 and "a sealed resource is missing or invalid" in altere.stderr
    shutil.rmtree(mac.chemin(f"{app}/Contents/_CodeSignature"))
    nue = mac.executer(["codesign", "-dv", app])
    assert nue.returncode == 1 and "code object is not signed at all" in nue.stderr
    assert mac.executer(["codesign", "-s", "-", app]).returncode != 0
