"""Convergence of playbooks/poste_dsq.yml against simulated Macs (tests/mac_simule).

Each simulated Mac is a real SSH host (its own network and mount namespaces,
its own sshd) whose macOS and Fusion commands are stand-ins that keep their
state on disk. Ansible converges it, converges it again (no change), and runs
in check mode; then the fault cases, one per test.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading

import pytest

from telesante.mac import mac_vm_du_numero_serie

from ..mac_simule.construction import CLINICIEN
from .aide import (APPLICATION, ISO_MAC, VMDK, VMX, VMX_REELS, differences,
                   ecarts_avec_fusion, empreinte, installer_outils, instantane, jouer, lire_vmx,
                   macs_attendues_par_l_audit)
from .iso import lire_iso

pytestmark = pytest.mark.racine

VERSION_FUSION = "13.6.2"
LICENCE = "ABCDE-12345-FGHIJ-67890-KLMNO"
MOT_DE_PASSE_ADMIN = "Mot-de-passe-de-test-42"
VERSION_CHROME = "131.0.6778.86"
VERSION_ZOOM = "6.2.11 (43613)"  # CFBundleShortVersionString as Zoom writes it
ZOOM_MINIMAL = "6.2.0"

PROFILS = {
    "arm64": {"systeme": "arm-windows11-64", "serie": "FVFXK2LLQ05Q", "bus": "nvme0",
              "microcode": "efi", "arch_windows": "arm64"},
    "x86_64": {"systeme": "windows11-64", "serie": "C02ZK1ABMD6R", "bus": "nvme0",
               "microcode": "efi", "arch_windows": "amd64"},
}


# Inventory of each simulated Mac (by name), written by preparer() for the test under way.
INVENTAIRES = {}


@pytest.fixture
def installateurs(tmp_path_factory, fabrication):
    """Fusion installers (one per format) and a Windows ISO, built once per test."""
    dossier = tmp_path_factory.mktemp("installateurs")
    fusion = {fmt: fabrication.fabriquer_fusion(dossier / fmt, VERSION_FUSION, format=fmt)
              for fmt in ("dmg", "pkg", "zip")}
    iso = fabrication.fabriquer_iso(dossier, "Win11_Simule.iso")
    applications = {"chrome": fabrication.fabriquer_application(dossier / "chrome", "chrome", VERSION_CHROME),
                    "zoom": fabrication.fabriquer_application(dossier / "zoom", "zoom", VERSION_ZOOM)}
    return {"fusion": fusion, "iso": iso, "applications": applications, "sha256": fabrication.sha256,
            "fabrication": fabrication}


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
        # Fusion 13.6.2 has no licence key (test_licence_de_fusion_par_fichier_jamais_en_argument)
        "fusion_numero_licence": "",
        "vm_windows_iso_chemin": ISO_MAC,
        "vm_windows_iso_sha256": installateurs["sha256"](installateurs["iso"]),
        "vm_windows_mot_de_passe_admin": MOT_DE_PASSE_ADMIN,
        "vm_windows_proprietaire": CLINICIEN,
        # these tests check the VM as created; test_installation_windows.py starts it
        "vm_windows_installation_automatique": False,
        "applications_cliniques_chrome": {"source": str(installateurs["applications"]["chrome"]),
                                          "sha256": installateurs["sha256"](installateurs["applications"]["chrome"])},
        "applications_cliniques_zoom": {"source": str(installateurs["applications"]["zoom"]),
                                        "sha256": installateurs["sha256"](installateurs["applications"]["zoom"])},
        "applications_cliniques_zoom_version_minimale": ZOOM_MINIMAL,
    }
    valeurs.update(variables)
    INVENTAIRES[mac.nom] = mac.ecrire_inventaire(dossier, **valeurs)
    return INVENTAIRES[mac.nom]


def verifier_poste(mac, architecture, serie, mode_jeton="partage"):
    """What a clinician needs on the Mac: Fusion, the VM, the token wired to it."""
    profil = PROFILS[architecture]
    # Fusion, in the expected version, initialised, out of quarantine
    version = mac.executer(["defaults", "read", f"{APPLICATION}/Contents/Info.plist",
                            "CFBundleShortVersionString"])
    assert version.returncode == 0 and version.stdout.strip() == VERSION_FUSION
    quarantaine = mac.executer(["xattr", "-p", "com.apple.quarantine", APPLICATION])
    assert quarantaine.returncode != 0, "l'attribut de quarantaine est resté sur Fusion"
    # Chrome (Reacts) and Zoom, from the internal packages
    for app, attendue in (("Google Chrome.app", VERSION_CHROME), ("zoom.us.app", VERSION_ZOOM)):
        lue = mac.executer(["defaults", "read", f"/Applications/{app}/Contents/Info.plist",
                            "CFBundleShortVersionString"])
        assert (lue.returncode, lue.stdout.strip()) == (0, attendue), (app, lue)
    assert mac.executer(["pkgutil", "--pkg-info", "us.zoom.pkg.videomeeting"]).returncode == 0
    # the VM
    vmx = lire_vmx(mac.chemin(VMX))
    # what Fusion itself writes for a new VM (PCIe bridges, VMCI, HPET...), compared to real .vmx
    assert len(VMX_REELS) >= 3
    assert ecarts_avec_fusion(vmx) == []
    assert vmx["usb_xhci.present"] == "TRUE"
    assert vmx["guestos"] == profil["systeme"]
    assert vmx["firmware"] == profil["microcode"]
    # the clinician owns the VM, other accounts have no access; the answer file stays root's
    uid = 501  # the simulated Mac's clinician account (tests/mac_simule/construction.py)
    paquet = mac.chemin(VMX).parent
    for chemin in [paquet, mac.chemin(VMX), mac.chemin(VMDK)]:
        info = chemin.stat()
        assert info.st_uid == uid, f"{chemin} appartient à l'uid {info.st_uid}"
        assert info.st_mode & 0o007 == 0, f"{chemin} : mode {oct(info.st_mode)}"
        assert info.st_mode & 0o600 == 0o600
    # the answer folder stays root's; its CD is read by Fusion as the VM's owner, read-only, no one else
    if (paquet / "autounattend").exists():
        assert (paquet / "autounattend").stat().st_uid == 0
    for chemin in paquet.glob("autounattend.iso"):
        assert (chemin.stat().st_uid, chemin.stat().st_mode & 0o777) == (uid, 0o400), chemin
    mac_attendue = mac_vm_du_numero_serie(serie)
    assert vmx["ethernet0.addresstype"] == "static"
    assert vmx["ethernet0.address"] == mac_attendue
    assert "ethernet0.generatedaddress" not in vmx
    # bridged on the wired interface: the static MAC is the one the switch sees, and the one the
    # audit reads from the same inventory (its own code) as this Mac's VM
    assert vmx["ethernet0.connectiontype"] == "bridged" and vmx["ethernet0.bsdname"] == "en0"
    inventaire = INVENTAIRES[mac.nom]
    assert macs_attendues_par_l_audit(inventaire).get(vmx["ethernet0.address"]) == f"{mac.nom} (VM Windows)"
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
    assert f"MAC statique {mac_vm_du_numero_serie(serie)}" in premier.sortie
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
    assert f"MAC statique {mac_vm_du_numero_serie(serie)}" in seuls.sortie


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
                    fusion_source=f"{base}/{source.name}", fusion_sha256="a" * 64, fusion_version="13.7.0")  # an update: a downgrade stops earlier
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
    # the clinician starts the VM in their session: the role's vmrun runs as them (become_user)
    demarrage = mac.executer(["sudo", "-u", CLINICIEN, vmrun, "-T", "fusion", "start", VMX, "nogui"])
    assert demarrage.returncode == 0, demarrage.stdout + demarrage.stderr
    avant = mac.chemin(VMX).read_bytes()

    passage = jouer(inventaire, "-e", "vm_windows_memoire_mio=8192", "-e", "jeton_gemalto_mode=exclusif")
    assert passage.code == 0, passage.sortie
    assert "est en cours d'exécution (verrou" in passage.sortie
    # AWX sees it in the run's statistics, not only in a warning lost in the output
    assert "telesante_vm_pas_a_l_etat_voulu" in passage.sortie
    assert "VM en cours d'exécution, .vmx non modifié (memsize)" in passage.sortie
    assert "connexion du jeton non écrite" in passage.sortie
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
    assert f"MAC statique {mac_vm_du_numero_serie('FVFXK2LLQ05Q')}" in branche.sortie


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


VMX_CHIFFRE = (
    b'.encoding = "UTF-8"\n'
    b'displayName = "Windows DSQ"\n'
    b'encryption.keySafe = "vmware:key/list/(pair/(phrase/abc%2f/pass2key%3dPBKDF2-HMAC-SHA-1)"\n'
    b'encryption.data = "U2ltdWxlIDogZG9ubsOpZXMgY2hpZmZyw6llcw=="\n'
)


def test_vm_chiffree_jamais_modifiee_et_l_hote_echoue(fabrique_mac_simule, installateurs, tmp_path):
    """A VM encrypted by Fusion (vTPM) is never edited, by vm_windows or by jeton_gemalto alone."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    vmx = mac.chemin(VMX)
    vmx.parent.mkdir(parents=True)
    vmx.write_bytes(VMX_CHIFFRE)

    passage = jouer(inventaire)
    assert passage.code != 0 and passage.echecs() == 1, passage.sortie
    assert "est chiffrée par VMware" in passage.sortie and "pas à l'état voulu" in passage.sortie
    assert vmx.read_bytes() == VMX_CHIFFRE
    assert not mac.chemin(VMDK).exists(), "un disque a été créé à côté d'une VM chiffrée"

    # the token role alone goes through the module, whose refusal is never turned into a warning
    jeton = jouer(inventaire, "--tags", "jeton_gemalto")
    assert jeton.code != 0 and jeton.echecs() == 1, jeton.sortie
    assert "est chiffrée par VMware (encryption.keySafe, encryption.data)" in jeton.sortie
    assert "usb.autoConnect.device0" in jeton.sortie
    assert vmx.read_bytes() == VMX_CHIFFRE
    assert list(vmx.parent.glob("*.vmx.*~")) == []


def test_macos_26_jeton_lu_dans_spusbhostdatatype(fabrique_mac_simule, installateurs, tmp_path):
    """macOS 26 (Tahoe) reports an empty SPUSBDataType: the token is found in SPUSBHostDataType."""
    mac = fabrique_mac_simule(architecture="arm64", version_macos="26.1", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    passage = jouer(inventaire)
    assert passage.code == 0, passage.sortie
    assert "system_profiler SPUSBHostDataType" in passage.sortie
    assert "Jeton Gemalto branché sur mac-" in passage.sortie and "AVERTISSEMENT : aucun jeton" not in passage.sortie
    verifier_poste(mac, "arm64", "FVFXK2LLQ05Q")
    mac.debrancher_jeton()
    seul = jouer(inventaire, "--tags", "jeton_gemalto")
    assert seul.code == 0 and seul.changes() == 0, seul.sortie
    assert "AVERTISSEMENT : aucun jeton Gemalto (USB 08e6:3438) n'est branché sur mac-" in seul.sortie


@pytest.mark.parametrize("proprietaire, message", [
    ("", "vm_windows_proprietaire est vide"),
    ("root", "est un compte système (uid 0)"),
    ("compte-absent-dsq", "n'est pas un compte de mac-"),
])
def test_proprietaire_de_la_vm_exige_et_valide(fabrique_mac_simule, installateurs, tmp_path, proprietaire, message):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, vm_windows_proprietaire=proprietaire)
    refus = jouer(inventaire, "--tags", "vm_windows")
    assert refus.code != 0 and refus.echecs() == 1, refus.sortie
    assert message in refus.sortie and "compte du clinicien qui l'ouvre" in refus.sortie
    assert not mac.chemin(VMX).parent.exists()


def test_vm_en_nat_avertit_que_l_audit_ne_la_verra_pas(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, vm_windows_reseau="nat")
    passage = jouer(inventaire)
    assert passage.code == 0, passage.sortie
    vmx = lire_vmx(mac.chemin(VMX))
    assert vmx["ethernet0.connectiontype"] == "nat" and "ethernet0.bsdname" not in vmx
    assert "l'audit réseau ne la verra pas sur le commutateur" in passage.sortie
    assert "MAC de la VM invisible de l'audit" in passage.sortie  # set_stats, seen by AWX


def _fusion(installateurs, dossier, version, **options):
    """Inventory values for another Fusion installer (another version, or another signer)."""
    source = installateurs["fabrication"].fabriquer_fusion(dossier, version, format="pkg", **options)
    return {"fusion_version": version, "fusion_source": str(source),
            "fusion_sha256": installateurs["sha256"](source)}


def test_mise_a_jour_de_fusion_refusee_vm_en_marche_et_retrogradation(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    premier = jouer(inventaire)
    assert premier.code == 0, premier.sortie
    vmrun = f"{APPLICATION}/Contents/Library/vmrun"
    assert mac.executer(["sudo", "-u", CLINICIEN, vmrun, "-T", "fusion", "start", VMX, "nogui"]).returncode == 0

    plus_recente = preparer(mac, installateurs, tmp_path / "maj", **_fusion(installateurs, tmp_path / "i1", "13.7.0"))
    refus = jouer(plus_recente, "--tags", "fusion")
    assert refus.code != 0, refus.sortie
    assert "des VM sont en cours d'exécution (/Users/Shared/Virtual Machines/Windows DSQ.vmwarevm)" in refus.sortie, \
        refus.sortie[-1500:]
    assert mac.executer(["defaults", "read", f"{APPLICATION}/Contents/Info.plist",
                         "CFBundleShortVersionString"]).stdout.strip() == VERSION_FUSION
    assert mac.executer(["sudo", "-u", CLINICIEN, vmrun, "-T", "fusion", "stop", VMX, "soft"]).returncode == 0
    assert jouer(plus_recente, "--tags", "fusion").code == 0

    ancienne = preparer(mac, installateurs, tmp_path / "retro", **_fusion(installateurs, tmp_path / "i2", "13.6.2"))
    retro = jouer(ancienne, "--tags", "fusion")
    assert retro.code != 0 and "ce serait une rétrogradation" in retro.sortie, retro.sortie
    voulue = jouer(ancienne, "--tags", "fusion", "-e", "fusion_retrogradation_permise=true")
    assert voulue.code == 0, voulue.sortie


@pytest.mark.parametrize("equipe, message", [
    (("ABCDE12345", "Quelqu'un d'autre"), "est signé par l'équipe « ABCDE12345 » et non « EG7KH642X6 »"),
    (None, "a un sceau de signature invalide (/Applications/VMware Fusion.app: code object is not signed at all)"),
    ("non notarisee", "est refusé par Gatekeeper (spctl --assess : /Applications/VMware Fusion.app: rejected "
                      "source=Unnotarized Developer ID"),
])
def test_fusion_signe_par_une_autre_equipe_refuse_et_retire(fabrique_mac_simule, installateurs, tmp_path, equipe, message):
    """codesign (seal, Team ID) then spctl (Gatekeeper: notarized), as AutoPkg's CodeSignatureVerifier and Munki."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    options = ({"equipe": ("EG7KH642X6", "VMware, Inc."), "notarisee": False} if equipe == "non notarisee"
               else {"equipe": equipe})
    inventaire = preparer(mac, installateurs, tmp_path, **_fusion(installateurs, tmp_path / "i", "13.6.2", **options))
    refus = jouer(inventaire, "--tags", "fusion")
    assert refus.code != 0 and message in refus.sortie, refus.sortie
    assert not mac.chemin(APPLICATION).exists(), "l'application refusée est restée installée"


def test_licence_de_fusion_par_fichier_jamais_en_argument(fabrique_mac_simule, installateurs, tmp_path):
    """Fusion 13.5.2 (still licensed): the serial (from Vault) goes through Deploy.ini of the mass
    deployment package (KB VMware 2058680), never in the argv of a process on the Mac (strace
    journal of every process started over SSH), nor in ansible-playbook's output."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q", journal_argv=True)
    inventaire = preparer(mac, installateurs, tmp_path, fusion_numero_licence=LICENCE,
                          **_fusion(installateurs, tmp_path / "i", "13.5.2"))
    premier = jouer(inventaire, "--tags", "fusion", "-v")
    assert premier.code == 0, premier.sortie
    second = jouer(inventaire, "--tags", "fusion", "-v")
    assert second.code == 0 and second.changes() == 0, second.sortie

    lances = mac.arguments_lances()
    assert len(lances) > 50, lances  # the journal did see the run (sessions, modules, commands)
    fuites = [argv for argv in lances if any(LICENCE in arg or LICENCE.replace("-", "") in arg for arg in argv)]
    assert fuites == [], f"le numéro de série est en argument de processus : {fuites}"
    assert any(argv[:2] == ["installer", "-pkg"] and argv[2].endswith("/Deploy VMware Fusion.mpkg")
               for argv in lances), "la licence n'est pas passée par le paquet de déploiement"
    for passage in (premier, second):
        assert LICENCE not in passage.sortie, "le numéro de série de Fusion apparaît dans la sortie"
    assert mac.etat("vmware")["licence"]["sha256"] == hashlib.sha256(LICENCE.encode()).hexdigest()
    fichier = mac.chemin("/Library/Preferences/VMware Fusion/license-fusion-130-e1-202208")
    assert fichier.stat().st_mode & 0o777 == 0o600
    # nothing left on the Mac that holds the serial, but the licence Fusion itself keeps
    restes = [chemin for chemin in mac.racine.rglob("*") if chemin.is_file() and not chemin.is_symlink()
              and chemin != fichier and LICENCE.encode() in chemin.read_bytes()]
    assert restes == [], restes


def test_licence_refusee_par_fusion_sans_cle(fabrique_mac_simule, installateurs, tmp_path):
    """Fusion 13.6.2 and later have no licence key: a serial in the inventory stops the role
    before anything is installed, with a message that says what to do (and not the serial)."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, fusion_numero_licence=LICENCE)
    refus = jouer(inventaire, "--tags", "fusion")
    assert refus.code != 0 and refus.echecs() == 1, refus.sortie
    assert "VMware Fusion 13.6.2 n'a plus de clé de licence" in refus.sortie, refus.sortie
    assert "retirer fusion_numero_licence" in refus.sortie
    assert LICENCE not in refus.sortie
    assert not mac.chemin(APPLICATION).exists()


def test_numero_de_serie_mal_forme_refuse_sans_etre_montre(fabrique_mac_simule, installateurs, tmp_path):
    """A hostile or mistyped serial (quotes, escape, newline) stops the role before anything is
    installed; the message names the variable and the expected form, never the value."""
    hostile = 'ABCDE-12345-FGHIJ-67890-KLMN"; touch /tmp/pwn #\x1b[2J\nsuite'
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q", journal_argv=True)
    inventaire = preparer(mac, installateurs, tmp_path, fusion_numero_licence=hostile,
                          **_fusion(installateurs, tmp_path / "i", "13.5.2"))
    refus = jouer(inventaire, "--tags", "fusion", "-v")
    assert refus.code != 0 and refus.echecs() == 1, refus.sortie
    assert "n'a pas la forme d'un numéro de série de VMware Fusion (XXXXX-XXXXX" in refus.sortie
    assert "ABCDE-12345-FGHIJ-67890-KLMN" not in refus.sortie and "pwn" not in refus.sortie
    assert not mac.chemin(APPLICATION).exists() and not mac.chemin("/tmp/pwn").exists()
    assert not any("pwn" in arg for argv in mac.arguments_lances() for arg in argv)


def test_fusion_sans_licence(fabrique_mac_simule, installateurs, tmp_path):
    """Fusion is free: no serial number, no licence file, the run succeeds."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path, fusion_numero_licence="")
    passage = jouer(inventaire, "--tags", "fusion")
    assert passage.code == 0, passage.sortie
    assert not list(mac.chemin("/Library/Preferences/VMware Fusion").glob("license-*"))


def test_windows_7_sans_usb_3_et_avertissement_de_fin_de_support(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path, format_fusion="pkg", vm_windows_profil_intel="windows7_x64")
    passage = jouer(inventaire)
    assert passage.code == 0, passage.sortie
    assert "AVERTISSEMENT : Windows 7 x64 (profil patrimonial) n'est plus pris en charge par Microsoft" in passage.sortie
    assert "hors support depuis le 14 janvier 2020" in passage.sortie  # set_stats, seen by AWX
    vmx = lire_vmx(mac.chemin(VMX))
    assert vmx["guestos"] == "windows7-64"
    # Windows 7 has no USB 3 driver: the token must hang on the USB 2 controller
    assert vmx["usb_xhci.present"] == "FALSE" and vmx["ehci.present"] == "TRUE"
    assert vmx["usb.autoconnect.device0"] == "deviceType:virtual-smartcard"
    assert jouer(inventaire).changes() == 0


def test_media_d_une_autre_architecture_refuse_avant_tout(fabrique_mac_simule, installateurs, tmp_path):
    """An x64 Windows medium on an Apple Silicon Mac: refused from its EFI loader, nothing created."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    iso_x64 = installateurs["fabrication"].fabriquer_iso(tmp_path / "media", "Win11_x64.iso", architectures=("x86_64",))
    inventaire = preparer(mac, installateurs, tmp_path, vm_windows_iso_sha256=installateurs["sha256"](iso_x64))
    shutil.copy2(iso_x64, mac.chemin(ISO_MAC))  # in place of the default medium preparer put there
    refus = jouer(inventaire)
    assert refus.code != 0 and refus.echecs() == 1, refus.sortie
    assert "démarre par bootx64.efi, pas par bootaa64.efi" in refus.sortie
    assert not mac.chemin(VMDK).exists() and not mac.chemin(VMX).exists()
    assert mac.executer(["hdiutil", "info"]).stdout.count("/dev/disk") == 0, "le média est resté attaché"
