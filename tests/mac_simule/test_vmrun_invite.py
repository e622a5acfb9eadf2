"""vmrun's guest operations on the simulated Mac (outils/vmrun + outils/invite_simule.py).

Syntax: VMware, "Using vmrun to Control Virtual Machines" (VIX), guest operating system
commands and checkToolsState, as cited at the top of outils/vmrun.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .fabrication import fabriquer_fusion, fabriquer_iso, image_efi

pytestmark = pytest.mark.racine

FUSION = "/Applications/VMware Fusion.app"
VMRUN = f"{FUSION}/Contents/Library/vmrun"
VM = "/Users/Shared/VM/Essai.vmwarevm"
VMX = f"{VM}/Essai.vmx"
HDIUTIL = Path(__file__).resolve().parents[1] / "provisionnement" / "outils" / "hdiutil"
REPONSES = """<?xml version="1.0" encoding="utf-8"?>
<unattend xmlns="urn:schemas-microsoft-com:unattend" xmlns:wcm="http://schemas.microsoft.com/WMIConfig/2002/State">
  <settings pass="windowsPE"><component name="Microsoft-Windows-Setup"><DiskConfiguration><Disk>
    <WillWipeDisk>true</WillWipeDisk></Disk></DiskConfiguration></component></settings>
  <settings pass="oobeSystem"><component name="Microsoft-Windows-Shell-Setup">
    <UserAccounts><LocalAccounts><LocalAccount wcm:action="add"><Name>dsqadmin</Name>
      <Password><Value>Secret-42</Value><PlainText>true</PlainText></Password></LocalAccount></LocalAccounts></UserAccounts>
    <AutoLogon><Enabled>true</Enabled><LogonCount>1</LogonCount></AutoLogon>
    <FirstLogonCommands><SynchronousCommand><CommandLine>cmd.exe /c reg.exe add "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon" /v AutoAdminLogon /t REG_SZ /d 0 /f</CommandLine></SynchronousCommand>
    <SynchronousCommand><CommandLine>powershell.exe -File D:\\telesante\\preparation.ps1</CommandLine></SynchronousCommand></FirstLogonCommands>
  </component></settings>
</unattend>
"""


def graver(source: Path, image: Path) -> None:
    subprocess.run([sys.executable, str(HDIUTIL), "makehybrid", "-iso", "-joliet", "-o", str(image),
                    str(source)], check=True, capture_output=True)


@pytest.fixture
def mac_vm(fabrique_mac_simule, tmp_path):
    """A Mac with Fusion and a VM carrying an install ISO, the answer CD and a preparation CD."""
    mac = fabrique_mac_simule(architecture="arm64")
    pkg = fabriquer_fusion(tmp_path / "fusion", format="pkg")
    shutil.copy2(pkg, mac.chemin("/private/tmp") / pkg.name)
    assert mac.executer(["installer", "-pkg", f"/private/tmp/{pkg.name}", "-target", "/"]).returncode == 0
    paquet = mac.chemin(VM)
    paquet.mkdir(parents=True)
    (paquet / "Essai.vmdk").write_text("# Disk DescriptorFile\n")
    shutil.copy2(fabriquer_iso(tmp_path, "win.iso"), paquet / "win.iso")
    (tmp_path / "rep").mkdir()
    (tmp_path / "rep" / "autounattend.xml").write_text(REPONSES, encoding="utf-8")
    graver(tmp_path / "rep", paquet / "reponses.iso")
    fichiers = tmp_path / "prep" / "telesante" / "fichiers"
    fichiers.mkdir(parents=True)
    (fichiers / "windows.iso").write_bytes(b"tools")
    (tmp_path / "prep" / "telesante" / "preparation.ps1").write_text("# script\n")
    manifeste = {"etapes": [{"nom": "VMware Tools", "type": "vmware_tools", "fichier": "windows.iso",
                             "sha256": hashlib.sha256(b"tools").hexdigest(),
                             "detection": {"type": "cle_desinstallation", "nom_affiche": "VMware Tools"}}]}
    (tmp_path / "prep" / "telesante" / "manifeste.json").write_text(json.dumps(manifeste))
    graver(tmp_path / "prep", paquet / "prep.iso")
    lignes = ['config.version = "8"', 'virtualHW.version = "21"', 'nvme0.present = "TRUE"',
              'nvme0:0.present = "TRUE"', 'nvme0:0.fileName = "Essai.vmdk"']
    for numero, image in ((1, "win.iso"), (2, "reponses.iso"), (3, "prep.iso")):
        lignes += [f'sata0:{numero}.present = "TRUE"', f'sata0:{numero}.deviceType = "cdrom-image"',
                   f'sata0:{numero}.fileName = "{VM}/{image}"', f'sata0:{numero}.startConnected = "TRUE"']
    mac.chemin(VMX).write_text("\n".join(lignes) + "\n")
    return mac


def vmrun(mac, *args, en_tant_que=None):
    argv = [VMRUN, "-T", "fusion", *args]
    if en_tant_que:
        argv = ["runuser", "-u", en_tant_que, "--", *argv]
    return mac.executer(argv)


def invite(mac, *args):
    return vmrun(mac, "-gu", "dsqadmin", "-gp", "Secret-42", *args)


def test_outils_invite_apres_installation_et_premiere_ouverture(mac_vm, tmp_path):
    journal = r"C:\ProgramData\Telesante\preparation.json"
    assert vmrun(mac_vm, "checkToolsState", VMX).stdout == "unknown\n"  # VM off
    eteinte = invite(mac_vm, "fileExistsInGuest", VMX, journal)
    assert (eteinte.returncode, eteinte.stdout) == (255, f"Error: The virtual machine is not powered on: {VMX}\n")

    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    avant = invite(mac_vm, "fileExistsInGuest", VMX, journal)
    assert avant.returncode == 255 and "The VMware Tools are not running" in avant.stdout
    for _ in range(50):
        if vmrun(mac_vm, "checkToolsState", VMX).stdout == "running\n":
            break
        time.sleep(0.1)
    else:
        pytest.fail("les VMware Tools ne tournent jamais")
    for identifiants in ([], ["-gu", "dsqadmin"], ["-gu", "dsqadmin", "-gp", "faux"]):
        refus = vmrun(mac_vm, *identifiants, "fileExistsInGuest", VMX, journal)
        assert (refus.returncode, refus.stdout) == (255, "Error: Invalid user name or password for the guest OS\n")
    assert invite(mac_vm, "fileExistsInGuest", VMX, journal).stdout == "The file exists.\n"
    assert invite(mac_vm, "directoryExistsInGuest", VMX, r"C:\ProgramData\Telesante").returncode == 0
    for ailleurs in (r"C:\ProgramData\..\..\etc\passwd", r"D:\telesante\manifeste.json", "/etc/passwd"):
        absent = invite(mac_vm, "fileExistsInGuest", VMX, ailleurs)
        assert absent.stdout == "The file does not exist.\n", ailleurs
    copie = invite(mac_vm, "copyFileFromGuestToHost", VMX, journal, "/private/tmp/journal.json")
    assert copie.returncode == 0, copie.stdout
    contenu = json.loads(mac_vm.chemin("/private/tmp/journal.json").read_text(encoding="utf-8"))
    assert contenu["resultat"] == "reussi" and contenu["etapes"][0]["resultat"] == "installe"
    etat = json.loads(next(mac_vm.chemin("/private/var/telesante-etat/invites").iterdir()).joinpath(
        "etat.json").read_text())
    assert etat["registre"]["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoAdminLogon"] == "0"


def test_programme_invite_et_refus(mac_vm):
    vmrun(mac_vm, "start", VMX, "nogui")
    for _ in range(50):
        if vmrun(mac_vm, "checkToolsState", VMX).stdout == "running\n":
            break
        time.sleep(0.1)
    # the preparation again, from C: (manifest copied by copyFileFromHostToGuest): nothing reinstalled
    mac_vm.chemin("/private/tmp/preparation.ps1").write_text("# script\n")
    assert invite(mac_vm, "copyFileFromHostToGuest", VMX, "/private/tmp/preparation.ps1",
                  r"C:\ProgramData\Telesante\preparation.ps1").returncode == 0
    assert invite(mac_vm, "copyFileFromHostToGuest", VMX, "/private/tmp/absent",
                  r"C:\ProgramData\Telesante\x").returncode == 255
    assert invite(mac_vm, "copyFileFromHostToGuest", VMX, "/private/tmp/preparation.ps1",
                  r"C:\Nulle\Part\x.ps1").returncode == 255
    powershell = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"
    relance = invite(mac_vm, "runProgramInGuest", VMX, powershell, "-NoProfile", "-File",
                     r"C:\ProgramData\Telesante\preparation.ps1")
    # no manifest beside the copied script: the run fails and says so, like a real guest program
    assert relance.returncode == 255 and "non-zero exit code" in relance.stdout
    autre = invite(mac_vm, "runProgramInGuest", VMX, r"C:\Windows\System32\cmd.exe", "/c", "dir")
    assert autre.returncode != 0 and "non pris en charge par le Mac simulé" in autre.stderr
    for commande in ("listProcessesInGuest", "typeKeystrokesInGuest", "captureScreen"):
        refus = invite(mac_vm, commande, VMX)
        assert refus.returncode != 0 and "non pris en charge" in refus.stderr, commande


def test_une_vm_n_est_visible_qu_a_l_utilisateur_qui_l_a_demarree(mac_vm):
    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    assert vmrun(mac_vm, "list").stdout == f"Total running VMs: 1\n{VMX}\n"
    autre = vmrun(mac_vm, "list", en_tant_que="nobody")
    assert autre.stdout == "Total running VMs: 0\n", autre.stdout + autre.stderr
    arret = vmrun(mac_vm, "stop", VMX, "soft", en_tant_que="nobody")
    assert arret.returncode == 255 and "is not powered on" in arret.stdout
    assert vmrun(mac_vm, "checkToolsState", VMX, en_tant_que="nobody").stdout == "unknown\n"


def _etat_invite(mac):
    dossier = next(mac.chemin("/private/var/telesante-etat/invites").iterdir())
    return json.loads((dossier / "etat.json").read_text())


def _attendre_tools(mac, fois=30):
    for _ in range(fois):
        if vmrun(mac, "checkToolsState", VMX).stdout == "running\n":
            return True
        time.sleep(0.1)
    return False


def test_invite_press_any_key_sur_uefi_puis_media_refait_sans_invite(mac_vm, tmp_path):
    """UEFI boots the Windows medium through efisys.bin: nobody presses a key, nothing installs."""
    vmx = mac_vm.chemin(VMX)
    vmx.write_text(vmx.read_text() + 'firmware = "efi"\n')
    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    assert not _attendre_tools(mac_vm)
    etat = _etat_invite(mac_vm)
    assert etat["invite"] == "Press any key to boot from CD or DVD"
    assert etat["phase"] == "pas_de_systeme" and not etat["windows"]
    assert vmrun(mac_vm, "stop", VMX, "hard").returncode == 0
    # the medium remastered with its efisys_noprompt.bin (hdiutil makehybrid stand-in): it installs
    source = tmp_path / "volume"
    (source / "efi" / "microsoft" / "boot").mkdir(parents=True)
    (source / "sources").mkdir()
    (source / "sources" / "lisezmoi.txt").write_text("test\n")
    image = image_efi("arm64", invite=False)
    (source / "efi" / "microsoft" / "boot" / "efisys_noprompt.bin").write_bytes(image)
    subprocess.run([sys.executable, str(HDIUTIL), "makehybrid", "-iso", "-udf", "-o", str(tmp_path / "refait.iso"),
                    "-eltorito-boot", "efi/microsoft/boot/efisys_noprompt.bin", "-no-emul-boot",
                    "-boot-load-size", "1", "-eltorito-platform", "239", str(source)],
                   check=True, capture_output=True)
    shutil.copy2(tmp_path / "refait.iso", mac_vm.chemin(f"{VM}/win.iso"))
    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    assert _attendre_tools(mac_vm, 50)
    etat = _etat_invite(mac_vm)
    assert "invite" not in etat and etat["windows"] and etat["reinstallations"] == 0


def test_bios_sans_invite_sur_disque_vide_mais_invite_sur_disque_installe(mac_vm):
    """etfsboot.com only asks when the disk holds a system: a second boot goes to the disk."""
    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    assert _attendre_tools(mac_vm, 50)
    assert "invite" not in _etat_invite(mac_vm)
    assert vmrun(mac_vm, "stop", VMX, "soft").returncode == 0
    assert vmrun(mac_vm, "start", VMX, "nogui").returncode == 0
    etat = _etat_invite(mac_vm)
    assert etat["invite"] == "Press any key to boot from CD or DVD"
    assert etat["phase"] == "demarrage" and etat["reinstallations"] == 0

