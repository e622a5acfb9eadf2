"""Convergence of playbooks/poste_dsq.yml against simulated Macs (tests/mac_simule).

Each simulated Mac is a real SSH host (its own network and mount namespaces,
its own sshd) whose macOS and Fusion commands are stand-ins that keep their
state on disk. Ansible converges it, converges it again (no change), and runs
in check mode; then the fault cases, one per test.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from telesante.mac import vm_mac_from_serial

from .aide import (APPLICATION, ISO_MAC, VMDK, VMX, differences, empreinte, installer_outils,
                   instantane, jouer, lire_vmx)
from .iso import lire_iso

pytestmark = pytest.mark.racine

VERSION_FUSION = "13.6.2"
LICENCE = "ABCDE-12345-FGHIJ-67890-KLMNO"
MOT_DE_PASSE_ADMIN = "Mot-de-passe-de-test-42"

PROFILS = {
    "arm64": {"systeme": "arm-windows11-64", "serie": "FVFXK2LLQ05Q", "bus": "nvme0",
              "microcode": "efi", "arch_windows": "arm64"},
    "x86_64": {"systeme": "windows11-64", "serie": "C02ZK1ABMD6R", "bus": "nvme0",
               "microcode": "efi", "arch_windows": "amd64"},
}


@pytest.fixture
def installateurs(tmp_path_factory, fabrication):
    """Fusion installers (one per format) and a Windows ISO, built once per test."""
    dossier = tmp_path_factory.mktemp("installateurs")
    fusion = {fmt: fabrication.fabriquer_fusion(dossier / fmt, VERSION_FUSION, format=fmt)
              for fmt in ("dmg", "pkg", "zip")}
    iso = fabrication.fabriquer_iso(dossier, "Win11_Simule.iso")
    return {"fusion": fusion, "iso": iso, "sha256": fabrication.sha256}


def preparer(mac, installateurs, dossier, format_fusion="dmg", **variables):
    """Put the ISO on the Mac, add our stand-ins, write the inventory; return its path."""
    installer_outils(mac)
    iso_sur_mac = mac.chemin(ISO_MAC)
    iso_sur_mac.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(installateurs["iso"], iso_sur_mac)
    source = installateurs["fusion"][format_fusion]
    valeurs = {
        "fusion_version": VERSION_FUSION,
        "fusion_source": str(source),
        "fusion_sha256": installateurs["sha256"](source),
        "fusion_numero_licence": LICENCE,
        "vm_windows_iso_chemin": ISO_MAC,
        "vm_windows_iso_sha256": installateurs["sha256"](installateurs["iso"]),
        "vm_windows_mot_de_passe_admin": MOT_DE_PASSE_ADMIN,
        # these tests check the VM as created; test_installation_windows.py starts it
        "vm_windows_installation_automatique": False,
    }
    valeurs.update(variables)
    return mac.ecrire_inventaire(dossier, **valeurs)


def verifier_poste(mac, architecture, serie, mode_jeton="partage"):
    """What a clinician needs on the Mac: Fusion, the VM, the token wired to it."""
    profil = PROFILS[architecture]
    # Fusion, in the expected version, initialised, out of quarantine
    version = mac.executer(["defaults", "read", f"{APPLICATION}/Contents/Info.plist",
                            "CFBundleShortVersionString"])
    assert version.returncode == 0 and version.stdout.strip() == VERSION_FUSION
    quarantaine = mac.executer(["xattr", "-p", "com.apple.quarantine", APPLICATION])
    assert quarantaine.returncode != 0, "l'attribut de quarantaine est resté sur Fusion"
    # the VM
    vmx = lire_vmx(mac.chemin(VMX))
    assert vmx["guestos"] == profil["systeme"]
    assert vmx["firmware"] == profil["microcode"]
    mac_attendue = vm_mac_from_serial(serie)
    assert vmx["ethernet0.addresstype"] == "static"
    assert vmx["ethernet0.address"] == mac_attendue
    assert "ethernet0.generatedaddress" not in vmx
    for cle in ("copy", "paste", "dnd", "hgfs"):
        assert vmx[f"isolation.tools.{cle}.disable"] == "TRUE", cle
    assert vmx["sharedfolder.maxnum"] == "0"
    assert vmx[f"{profil['bus']}:0.filename"] == "Windows DSQ.vmdk"
    assert mac.chemin(VMDK).is_file() and mac.chemin(VMDK).stat().st_size > 0
    assert vmx["sata0:1.filename"] == ISO_MAC
    assert vmx["sata0:1.devicetype"] == "cdrom-image"
    # the answer file, burned on the second CD
    iso_reponses = vmx["sata0:2.filename"]
    reponses = lire_iso(mac.chemin(iso_reponses))["autounattend.xml"].decode("utf-8")
    assert f'processorArchitecture="{profil["arch_windows"]}"' in reponses
    assert MOT_DE_PASSE_ADMIN in reponses
    if architecture == "arm64":
        assert vmx["managedvm.autoaddvtpm"] == "software"
        assert vmx["uefi.secureboot.enabled"] == "TRUE"
    # the token
    assert vmx["usb.present"] == "TRUE"
    if mode_jeton == "partage":
        assert vmx["usb.autoconnect.device0"] == "deviceType:virtual-smartcard"
        assert "usb.generic.allowccid" not in vmx
    else:
        assert vmx["usb.autoconnect.device0"] == "vid:08e6 pid:3438"
        assert vmx["usb.generic.allowccid"] == "TRUE"
    return vmx


@pytest.mark.parametrize("architecture", ["x86_64", "arm64"])
def test_premier_passage_converge_puis_aucun_changement(fabrique_mac_simule, installateurs, tmp_path, architecture):
    serie = PROFILS[architecture]["serie"]
    mac = fabrique_mac_simule(architecture=architecture, numero_serie=serie,
                              outils_cli_installes=(architecture == "x86_64"))
    inventaire = preparer(mac, installateurs, tmp_path, format_fusion="dmg" if architecture == "arm64" else "pkg")

    premier = jouer(inventaire)
    assert premier.code == 0, premier.sortie
    assert premier.changes() > 0
    verifier_poste(mac, architecture, serie)
    assert f"MAC statique {vm_mac_from_serial(serie)}" in premier.sortie
    assert LICENCE not in premier.sortie, "le numéro de série de Fusion apparaît dans la sortie"
    assert MOT_DE_PASSE_ADMIN not in premier.sortie, "le mot de passe Windows apparaît dans la sortie"
    if architecture == "arm64":  # the Mac had no Command Line Tools: amorcage installed them
        assert mac.executer(["xcode-select", "-p"]).returncode == 0

    second = jouer(inventaire)
    assert second.code == 0, second.sortie
    assert second.changes() == 0, f"le second passage change encore des choses :\n{second.sortie}"

    # a role run alone (tags) detects the Mac by itself and changes nothing either
    seuls = jouer(inventaire, "--tags", "vm_windows,jeton_gemalto")
    assert seuls.code == 0 and seuls.changes() == 0, seuls.sortie
    assert "Détecter macOS et l'architecture du processeur" in seuls.sortie
    assert f"MAC statique {vm_mac_from_serial(serie)}" in seuls.sortie


def test_mode_exclusif_du_jeton_puis_retour_au_partage(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, format_fusion="zip")
    assert jouer(inventaire).code == 0
    exclusif = jouer(inventaire, "-e", "jeton_gemalto_mode=exclusif")
    assert exclusif.code == 0, exclusif.sortie
    assert exclusif.changes() == 1, exclusif.sortie
    verifier_poste(mac, "arm64", "FVFXK2LLQ05Q", mode_jeton="exclusif")
    partage = jouer(inventaire)
    assert partage.code == 0 and partage.changes() == 1, partage.sortie
    verifier_poste(mac, "arm64", "FVFXK2LLQ05Q", mode_jeton="partage")


def test_mode_verification_sur_un_mac_neuf_ne_change_rien(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    avant = instantane(mac)
    verification = jouer(inventaire, "--check", "--diff")
    assert verification.code == 0, verification.sortie
    assert verification.changes() > 0, "le mode vérification devrait annoncer l'installation"
    apres = instantane(mac)
    assert differences(avant, apres) == []
    assert not mac.chemin(APPLICATION).exists()
    assert LICENCE not in verification.sortie
    assert MOT_DE_PASSE_ADMIN not in verification.sortie  # --diff of the answer file stays hidden


def test_somme_sha256_incorrecte_arrete_avant_d_installer(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path, fusion_sha256="0" * 64)
    passage = jouer(inventaire)
    assert passage.code != 0
    assert "Installateur de VMware Fusion refusé" in passage.sortie
    assert "Rien n'a été copié ni installé" in passage.sortie
    assert not mac.chemin(APPLICATION).exists()
    assert not mac.chemin(VMX).exists()


@pytest.fixture
def serveur_http():
    """serveur_http(dossier, adresse) -> base URL: files served over HTTP on one address only."""
    serveurs = []

    def servir(dossier, adresse):
        gestionnaire = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(dossier))
        gestionnaire.log_message = lambda *args: None
        serveur = http.server.ThreadingHTTPServer((adresse, 0), gestionnaire)
        threading.Thread(target=serveur.serve_forever, daemon=True).start()
        serveurs.append(serveur)
        return f"http://{adresse}:{serveur.server_address[1]}"

    yield servir
    for serveur in serveurs:
        serveur.shutdown()
        serveur.server_close()


def test_installateur_depuis_une_url_interne(fabrique_mac_simule, installateurs, tmp_path, serveur_http):
    """get_url on the Mac, then the sha256 checked there before anything is installed."""
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    source = installateurs["fusion"]["zip"]
    base = serveur_http(source.parent, mac.adresse_hote)
    inventaire = preparer(mac, installateurs, tmp_path, format_fusion="zip",
                          fusion_source=f"{base}/{source.name}")
    passage = jouer(inventaire, "--tags", "amorcage,fusion")
    assert passage.code == 0, passage.sortie
    version = mac.executer(["defaults", "read", f"{APPLICATION}/Contents/Info.plist",
                            "CFBundleShortVersionString"])
    assert version.stdout.strip() == VERSION_FUSION
    assert mac.executer(["xattr", "-p", "com.apple.quarantine", APPLICATION]).returncode != 0
    assert not mac.chemin("/private/var/tmp/telesante-fusion").exists(), "dossier de travail resté"

    faux = preparer(mac, installateurs, tmp_path / "faux", format_fusion="zip",
                    fusion_source=f"{base}/{source.name}", fusion_sha256="a" * 64, fusion_version="13.6.1")
    refus = jouer(faux, "--tags", "fusion")
    assert refus.code != 0
    assert "Fichier tronqué ou altéré" in refus.sortie
    assert mac.executer(["defaults", "read", f"{APPLICATION}/Contents/Info.plist",
                         "CFBundleShortVersionString"]).stdout.strip() == VERSION_FUSION


def test_installateur_altere_sur_le_poste_refuse(fabrique_mac_simule, installateurs, tmp_path):
    """Source already on the Mac: the checksum is verified there, before hdiutil attach."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    source = installateurs["fusion"]["dmg"]
    sur_mac = mac.chemin("/Users/Shared/Installateurs/VMware-Fusion.dmg")
    sur_mac.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, sur_mac)
    with open(sur_mac, "r+b") as image:  # one flipped byte in the middle
        image.seek(sur_mac.stat().st_size // 2)
        octet = image.read(1)
        image.seek(-1, 1)
        image.write(bytes([octet[0] ^ 0xFF]))
    inventaire = preparer(mac, installateurs, tmp_path, fusion_source_sur_poste=True,
                          fusion_source="/Users/Shared/Installateurs/VMware-Fusion.dmg",
                          fusion_sha256=installateurs["sha256"](source))
    passage = jouer(inventaire)
    assert passage.code != 0
    assert "Fichier tronqué ou altéré" in passage.sortie
    assert not mac.chemin(APPLICATION).exists()


def test_media_windows_altere_refuse(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, vm_windows_iso_sha256="f" * 64)
    passage = jouer(inventaire)
    assert passage.code != 0
    assert "Média d'installation de Windows refusé" in passage.sortie
    assert "Il n'est pas attaché à la VM" in passage.sortie
    assert not mac.chemin(VMX).exists()


def test_espace_disque_insuffisant_donne_les_chiffres(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q", espace_libre_gio=20)
    inventaire = preparer(mac, installateurs, tmp_path)
    passage = jouer(inventaire)
    assert passage.code != 0
    assert "Espace disque insuffisant pour créer la VM" in passage.sortie
    # disk 64 Gio + memory 4 Gio + margin 10 Gio, against what df reports
    assert "78,0 Gio nécessaires (disque 64 Gio + mémoire 4 Gio + marge 10 Gio)" in passage.sortie
    assert "20,0 Gio disponibles" in passage.sortie
    assert not mac.chemin(VMDK).exists()


def test_vm_existante_disque_jamais_ecrase(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path)
    assert jouer(inventaire).code == 0
    disque = mac.chemin(VMDK)
    with open(disque, "ab") as fichier:  # Windows installed, the clinician's data on the disk
        fichier.write(b"donnees-cliniques" * 4096)
    empreinte_disque = empreinte(disque)
    vmx = mac.chemin(VMX)
    with open(vmx, "a", encoding="utf-8") as fichier:
        fichier.write('annotation = "Poste de l|22urgence"\n')
    mac.regler_espace_libre(5)  # no room for a new disk: the existing one must not need it

    passage = jouer(inventaire, "-e", "vm_windows_memoire_mio=6144")
    assert passage.code == 0, passage.sortie
    assert empreinte(disque) == empreinte_disque
    valeurs = lire_vmx(vmx)
    assert valeurs["memsize"] == "6144"
    assert valeurs["annotation"] == 'Poste de l"urgence'
    assert "Espace disque insuffisant" not in passage.sortie


def test_vm_existante_d_un_autre_disque_et_d_un_autre_systeme(fabrique_mac_simule, installateurs, tmp_path):
    """A VM created by hand keeps its own disk; its guest system is never changed."""
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    paquet = mac.chemin(VMX).parent
    paquet.mkdir(parents=True)
    (paquet / "Virtual Disk.vmdk").write_bytes(b"# Disk DescriptorFile\n" + b"x" * 1000)
    mac.chemin(VMX).write_text(
        '.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "19"\n'
        'guestOS = "windows9-64"\nsata0.present = "TRUE"\nsata0:0.present = "TRUE"\n'
        'sata0:0.fileName = "Virtual Disk.vmdk"\n', encoding="utf-8")
    avant = mac.chemin(VMX).read_bytes()
    inventaire = preparer(mac, installateurs, tmp_path)

    refus = jouer(inventaire)
    assert refus.code != 0
    assert "ne change jamais le système d'une VM existante" in refus.sortie
    assert mac.chemin(VMX).read_bytes() == avant

    passage = jouer(inventaire, "-e", "vm_windows_profil=windows10_x64")
    assert passage.code == 0, passage.sortie
    valeurs = lire_vmx(mac.chemin(VMX))
    assert valeurs["sata0:0.filename"] == "Virtual Disk.vmdk"
    assert "nvme0:0.filename" not in valeurs
    assert not mac.chemin(VMDK).exists(), "un second disque a été créé à côté du disque existant"


def test_vm_en_marche_jamais_modifiee_sauf_arret_demande(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    assert jouer(inventaire).code == 0
    vmrun = f"{APPLICATION}/Contents/Library/vmrun"
    demarrage = mac.executer([vmrun, "-T", "fusion", "start", VMX, "nogui"])
    assert demarrage.returncode == 0, demarrage.stdout + demarrage.stderr
    avant = mac.chemin(VMX).read_bytes()

    passage = jouer(inventaire, "-e", "vm_windows_memoire_mio=8192")
    assert passage.code == 0, passage.sortie
    assert "est en cours d'exécution (verrou" in passage.sortie
    assert mac.chemin(VMX).read_bytes() == avant

    arret = jouer(inventaire, "-e", "vm_windows_memoire_mio=8192", "-e", "vm_windows_arreter_si_en_marche=true")
    assert arret.code == 0, arret.sortie
    assert lire_vmx(mac.chemin(VMX))["memsize"] == "8192"
    liste = mac.executer([vmrun, "-T", "fusion", "list"])
    assert "Total running VMs: 0" in liste.stdout


def test_jeton_absent_avertit_sans_echouer(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q", jeton_branche=False)
    inventaire = preparer(mac, installateurs, tmp_path)
    passage = jouer(inventaire)
    assert passage.code == 0, passage.sortie
    assert "AVERTISSEMENT : aucun jeton Gemalto (USB 08e6:3438)" in passage.sortie
    verifier_poste(mac, "arm64", "FVFXK2LLQ05Q")
    mac.brancher_jeton()
    # the serial read by system_profiler (none given) derives the same MAC: nothing changes
    branche = jouer(inventaire, "-e", "vm_windows_numero_serie=")
    assert branche.code == 0 and branche.changes() == 0, branche.sortie
    assert "Jeton Gemalto branché" in branche.sortie
    assert f"MAC statique {vm_mac_from_serial('FVFXK2LLQ05Q')}" in branche.sortie


def test_profil_arm_force_sur_un_mac_intel_refuse(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path, vm_windows_profil="windows11_arm64")
    passage = jouer(inventaire)
    assert passage.code != 0
    assert "ne peut pas tourner sur" in passage.sortie
    assert "un Mac Intel (x86_64)" in passage.sortie
    assert not mac.chemin(VMX).exists()


def test_amorcage_installe_rosetta_sur_apple_silicon_seulement(fabrique_mac_simule, installateurs, tmp_path):
    rosetta = "/Library/Apple/usr/share/rosetta/rosetta"
    arm = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q", outils_cli_installes=False)
    inventaire = preparer(arm, installateurs, tmp_path / "arm", amorcage_rosetta=True)
    premier = jouer(inventaire, "--tags", "amorcage")
    assert premier.code == 0, premier.sortie
    assert arm.chemin(rosetta).is_file()
    assert arm.executer(["xcode-select", "-p"]).stdout.strip() == "/Library/Developer/CommandLineTools"
    assert not arm.chemin("/private/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress").exists()
    second = jouer(inventaire, "--tags", "amorcage")
    assert second.code == 0 and second.changes() == 0, second.sortie

    intel = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    passage = jouer(preparer(intel, installateurs, tmp_path / "intel", amorcage_rosetta=True), "--tags", "amorcage")
    assert passage.code == 0 and passage.changes() == 0, passage.sortie
    assert not intel.chemin(rosetta).exists()


def test_macos_trop_ancien_refuse_avant_tout(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R", version_macos="11.7.10")
    passage = jouer(preparer(mac, installateurs, tmp_path))
    assert passage.code != 0
    assert "macOS 11.7.10 ; le provisionnement exige macOS 12.0 ou plus récent" in passage.sortie
    assert not mac.chemin(APPLICATION).exists()
