"""The Windows answer file (roles/vm_windows/templates/autounattend.xml.j2), without a Mac.

Every component, pass and setting the template writes is checked against a list taken from
Microsoft's public "Unattended Windows Setup Reference"
(https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/), one page
per component, each cited below with the passes it lists as valid ("Valid configuration
passes") and its settings' parent hierarchy:

- Microsoft-Windows-International-Core-WinPE
  .../unattend/microsoft-windows-international-core-winpe
- Microsoft-Windows-Setup
  .../unattend/microsoft-windows-setup (DiskConfiguration, ImageInstall, UserData)
- Microsoft-Windows-International-Core
  .../unattend/microsoft-windows-international-core
- Microsoft-Windows-Shell-Setup
  .../unattend/microsoft-windows-shell-setup (ComputerName: specialize; TimeZone: specialize,
  oobeSystem; AutoLogon: specialize, oobeSystem, auditSystem — LogonCount "must be specified
  if AutoLogon is used"; FirstLogonCommands, OOBE, UserAccounts: oobeSystem)
- Microsoft-Windows-Deployment
  .../unattend/microsoft-windows-deployment (RunSynchronous: specialize, auditUser)

The component attributes (processorArchitecture x86/amd64/arm64, publicKeyToken
31bf3856ad364e35, language neutral, versionScope nonSxS) are those of
.../unattend/components (Component settings, "Supported architectures"; arm64 since
Windows 10, version 1709, .../unattend/microsoft-windows-setup "Applies to").
HideLocalAccountScreen, HideOEMRegistrationScreen and HideOnlineAccountScreens apply to
Windows 8 and later (.../unattend/microsoft-windows-shell-setup-oobe-...): never on Windows 7.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

RACINE = Path(__file__).resolve().parents[2]
ROLE = RACINE / "roles" / "vm_windows"
NS = "{urn:schemas-microsoft-com:unattend}"
WCM = "{http://schemas.microsoft.com/WMIConfig/2002/State}"

# component -> setting path -> passes where Microsoft documents it as valid.
REFERENCE: dict[str, dict[str, set[str]]] = {
    "Microsoft-Windows-International-Core-WinPE": {
        p: {"windowsPE"} for p in (
            "SetupUILanguage", "SetupUILanguage/UILanguage", "SetupUILanguage/WillShowUI",
            "InputLocale", "SystemLocale", "UILanguage", "UILanguageFallback", "UserLocale",
            "LayeredDriver")
    },
    "Microsoft-Windows-Setup": {
        p: {"windowsPE"} for p in (
            "DiskConfiguration", "DiskConfiguration/WillShowUI", "DiskConfiguration/Disk",
            "DiskConfiguration/Disk/DiskID", "DiskConfiguration/Disk/WillWipeDisk",
            "DiskConfiguration/Disk/CreatePartitions",
            "DiskConfiguration/Disk/CreatePartitions/CreatePartition",
            *(f"DiskConfiguration/Disk/CreatePartitions/CreatePartition/{s}"
              for s in ("Order", "Type", "Size", "Extend")),
            "DiskConfiguration/Disk/ModifyPartitions",
            "DiskConfiguration/Disk/ModifyPartitions/ModifyPartition",
            *(f"DiskConfiguration/Disk/ModifyPartitions/ModifyPartition/{s}"
              for s in ("Order", "PartitionID", "Format", "Label", "Letter", "Active", "Extend",
                        "TypeID")),
            "ImageInstall", "ImageInstall/OSImage", "ImageInstall/OSImage/InstallFrom",
            "ImageInstall/OSImage/InstallFrom/Path", "ImageInstall/OSImage/InstallFrom/MetaData",
            "ImageInstall/OSImage/InstallFrom/MetaData/Key",
            "ImageInstall/OSImage/InstallFrom/MetaData/Value",
            "ImageInstall/OSImage/InstallTo", "ImageInstall/OSImage/InstallTo/DiskID",
            "ImageInstall/OSImage/InstallTo/PartitionID",
            "ImageInstall/OSImage/InstallToAvailablePartition", "ImageInstall/OSImage/WillShowUI",
            "UserData", "UserData/AcceptEula", "UserData/FullName", "UserData/Organization",
            "UserData/ProductKey", "UserData/ProductKey/Key", "UserData/ProductKey/WillShowUI")
    },
    "Microsoft-Windows-International-Core": {
        p: {"specialize", "oobeSystem"} for p in ("InputLocale", "SystemLocale", "UILanguage",
                                                   "UILanguageFallback", "UserLocale")
    },
    "Microsoft-Windows-Shell-Setup": {
        "ComputerName": {"specialize"},
        "TimeZone": {"specialize", "oobeSystem", "auditSystem"},
        **{p: {"specialize", "oobeSystem", "auditSystem"} for p in (
            "AutoLogon", "AutoLogon/Enabled", "AutoLogon/LogonCount", "AutoLogon/Username",
            "AutoLogon/Domain", "AutoLogon/Password", "AutoLogon/Password/Value",
            "AutoLogon/Password/PlainText")},
        **{p: {"oobeSystem"} for p in (
            "FirstLogonCommands", "FirstLogonCommands/SynchronousCommand",
            *(f"FirstLogonCommands/SynchronousCommand/{s}"
              for s in ("Order", "CommandLine", "Description", "RequiresUserInput")),
            "OOBE", *(f"OOBE/{s}" for s in (
                "HideEULAPage", "HideLocalAccountScreen", "HideOEMRegistrationScreen",
                "HideOnlineAccountScreens", "HideWirelessSetupInOOBE", "NetworkLocation",
                "ProtectYourPC", "SkipMachineOOBE", "SkipUserOOBE", "UnattendEnableRetailDemo")))},
        **{p: {"oobeSystem", "auditSystem"} for p in (
            "UserAccounts", "UserAccounts/LocalAccounts", "UserAccounts/LocalAccounts/LocalAccount",
            *(f"UserAccounts/LocalAccounts/LocalAccount/{s}"
              for s in ("Name", "Group", "DisplayName", "Description", "Password",
                        "Password/Value", "Password/PlainText")))},
    },
    "Microsoft-Windows-Deployment": {
        p: {"specialize", "auditUser"} for p in (
            "RunSynchronous", "RunSynchronous/RunSynchronousCommand",
            *(f"RunSynchronous/RunSynchronousCommand/{s}"
              for s in ("Order", "Path", "Description", "WillReboot", "Credentials")))
    },
}
WINDOWS_8_ET_PLUS = {"OOBE/HideLocalAccountScreen", "OOBE/HideOEMRegistrationScreen",
                     "OOBE/HideOnlineAccountScreens"}
ARCHITECTURES = {"windows11_arm64": "arm64", "windows11_x64": "amd64", "windows10_x64": "amd64",
                 "windows7_x64": "amd64"}
MOT_DE_PASSE = 'Pa<ss>&"\'wörd-42'


def rendre(profil: str, **variables) -> str:
    """Render the template as the role does (ansible's templar, role defaults and vars)."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    valeurs = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    valeurs.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text(encoding="utf-8")))
    valeurs.update({"inventory_hostname": "poste-dsq-urgence-042.chum.example",
                    "ansible_managed": "Géré par Ansible", "vm_windows_profil_retenu": profil,
                    "vm_windows_mot_de_passe_admin": MOT_DE_PASSE,
                    "vm_windows_disque_a_installer": True})
    valeurs.update(variables)
    # the role's files are trusted templates, as when ansible loads them
    valeurs = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in valeurs.items()}
    texte = trust_as_template((ROLE / "templates" / "autounattend.xml.j2").read_text(encoding="utf-8"))
    templar = Templar(loader=DataLoader(), variables=valeurs)
    return str(templar.template(texte, escape_backslashes=False))


def parametres(composant: ET.Element, prefixe: str = ""):
    """Setting paths of a component (element names joined by /), leaves and containers."""
    for enfant in composant:
        nom = enfant.tag.removeprefix(NS)
        chemin = f"{prefixe}{nom}"
        yield chemin, enfant
        yield from parametres(enfant, chemin + "/")


@pytest.mark.parametrize("profil", sorted(ARCHITECTURES))
def test_chaque_composant_passe_et_parametre_est_dans_la_reference(profil):
    racine = ET.fromstring(rendre(profil).encode("utf-8"))
    assert racine.tag == f"{NS}unattend"
    vus = set()
    for settings in racine.findall(f"{NS}settings"):
        passe = settings.get("pass")
        for composant in settings.findall(f"{NS}component"):
            nom = composant.get("name")
            assert nom in REFERENCE, f"composant inconnu de la référence : {nom}"
            assert composant.get("processorArchitecture") == ARCHITECTURES[profil], (profil, nom)
            assert composant.get("publicKeyToken") == "31bf3856ad364e35"
            assert composant.get("language") == "neutral"
            assert composant.get("versionScope") == "nonSxS"
            for chemin, _ in parametres(composant):
                assert chemin in REFERENCE[nom], f"{nom} : paramètre hors référence {chemin}"
                assert passe in REFERENCE[nom][chemin], f"{nom}/{chemin} invalide en passe {passe}"
                if profil.startswith("windows7"):
                    assert chemin not in WINDOWS_8_ET_PLUS, f"{chemin} n'existe pas sous Windows 7"
                vus.add((passe, nom, chemin))
    # what the role relies on is there, in the right pass
    for attendu in (("specialize", "Microsoft-Windows-Shell-Setup", "ComputerName"),
                    ("specialize", "Microsoft-Windows-Shell-Setup", "TimeZone"),
                    ("oobeSystem", "Microsoft-Windows-Shell-Setup", "AutoLogon/LogonCount"),
                    ("oobeSystem", "Microsoft-Windows-Shell-Setup",
                     "UserAccounts/LocalAccounts/LocalAccount/Password/Value"),
                    ("windowsPE", "Microsoft-Windows-Setup", "DiskConfiguration/Disk/WillWipeDisk")):
        assert attendu in vus, attendu


def _texte(racine, chemin):
    return [e.text for e in racine.iter(f"{NS}{chemin}")]


def test_nom_d_ordinateur_fuseau_et_compte_tires_de_l_inventaire():
    racine = ET.fromstring(rendre("windows11_arm64").encode("utf-8"))
    nom = _texte(racine, "ComputerName")
    assert nom == ["POSTE-DSQ-URGEN"]  # inventory name without domain, NetBIOS 15 characters
    assert re.fullmatch(r"[A-Z0-9-]{1,15}", nom[0])
    assert _texte(racine, "TimeZone") == ["Eastern Standard Time"] * 2
    # the password survives XML escaping intact, in both places it is needed
    assert _texte(racine, "Value")[-2:] == [MOT_DE_PASSE, MOT_DE_PASSE]
    assert _texte(racine, "LogonCount") == ["1"]


def test_ouverture_automatique_desactivee_par_la_premiere_commande_puis_preparation():
    racine = ET.fromstring(rendre("windows11_x64").encode("utf-8"))
    commandes = sorted(racine.iter(f"{NS}SynchronousCommand"),
                       key=lambda c: int(c.find(f"{NS}Order").text))
    lignes = [c.find(f"{NS}CommandLine").text for c in commandes]
    assert "AutoAdminLogon /t REG_SZ /d 0" in lignes[0] and "DefaultPassword" in lignes[0]
    assert r"telesante\preparation.ps1" in lignes[1] and "powershell.exe" in lignes[1]
    assert [c.get(f"{WCM}action") for c in commandes] == ["add", "add"]


def test_contournement_de_l_exigence_reseau_seulement_pour_windows_11():
    for profil in ("windows11_arm64", "windows11_x64"):
        racine = ET.fromstring(rendre(profil).encode("utf-8"))
        chemins = _texte(racine, "Path")
        assert any("\\OOBE\" /v BypassNRO /t REG_DWORD /d 1" in c for c in chemins), profil
        assert _texte(racine, "HideOnlineAccountScreens") == ["true"]
    for profil in ("windows10_x64", "windows7_x64"):
        assert "BypassNRO" not in rendre(profil)


def test_disque_efface_seulement_s_il_vient_d_etre_cree():
    neuf = ET.fromstring(rendre("windows11_x64").encode("utf-8"))
    assert _texte(neuf, "WillWipeDisk") == ["true"]
    existant = ET.fromstring(rendre("windows11_x64", vm_windows_disque_a_installer=False).encode("utf-8"))
    assert not list(existant.iter(f"{NS}DiskConfiguration"))
    assert not list(existant.iter(f"{NS}InstallTo")), "InstallTo sans partitionnement viserait le disque existant"
    assert "WillWipeDisk" not in rendre("windows7_x64", vm_windows_disque_a_installer=False)


@pytest.mark.parametrize("profil,partition,format_systeme",
                         [("windows11_arm64", "3", "FAT32"), ("windows10_x64", "3", "FAT32"),
                          ("windows7_x64", "2", "NTFS")])
def test_partitions_selon_le_micrologiciel(profil, partition, format_systeme):
    racine = ET.fromstring(rendre(profil).encode("utf-8"))
    assert _texte(racine, "PartitionID")[-1] == partition
    assert _texte(racine, "Format")[0] == format_systeme
