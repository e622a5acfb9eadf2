"""No « Press any key to boot from CD or DVD » in an unattended installation (UEFI profiles).

The simulated firmware (tests/mac_simule/outils/invite_simule.py) boots the Windows medium's El
Torito UEFI image: efisys.bin prompts and, nobody pressing a key, falls back to the empty disk;
a copy remastered with the medium's efisys_noprompt.bin boots straight into Setup. Whether a
real Fusion firmware and a real hdiutil makehybrid behave the same is not proven here (README,
« Windows dans la VM »).
"""

from __future__ import annotations

import json

import pytest

from .aide import ISO_MAC, VMDK, VMX, jouer, lire_vmx
from .test_convergence import installateurs, preparer  # noqa: F401 (fixture)
from .test_installation_windows import PAQUET, invite, poser_installateurs, variables_preparation

pytestmark = pytest.mark.racine


def test_media_attache_tel_quel_reste_sur_l_invite_et_le_role_le_dit(
        fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    sommes = poser_installateurs(mac, fabrication)
    passage = jouer(preparer(mac, installateurs, tmp_path, **variables_preparation(
        sommes, vm_windows_iso_sans_invite=False, vm_windows_delai_installation_secondes=3)))
    assert passage.code != 0
    assert "délai dépassé" in passage.sortie and "Press any key to boot from CD or DVD" in passage.sortie, passage.sortie
    etat, _ = invite(mac)
    assert etat["invite"] == "Press any key to boot from CD or DVD" and not etat["windows"]
    # the medium of the inventory was attached as is, no copy made
    assert lire_vmx(mac.chemin(VMX))["sata0:1.filename"] == "/Users/Shared/Installateurs/windows.iso"
    assert not list(mac.chemin(PAQUET).glob("installation-sans-invite-*.iso"))
    assert json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text())["etat"] == "a_installer"


def test_windows_7_garde_ce_qu_il_peut_sans_installation_ni_preparation(
        fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    sommes = poser_installateurs(mac, fabrication)
    passage = jouer(preparer(mac, installateurs, tmp_path, **variables_preparation(
        sommes, vm_windows_profil_intel="windows7_x64")))
    assert passage.code == 0, passage.sortie
    sortie = " ".join(passage.sortie.split())
    assert "n'est plus pris en charge par Microsoft depuis le 14 janvier 2020" in sortie
    assert "le rôle ne démarre pas l'installation et ne prépare pas l'invité" in sortie
    assert "Internet Explorer 11 (pas d'Edge)" in sortie and "EnterpriseMode, valeur SiteList" in sortie
    vmx = lire_vmx(mac.chemin(VMX))
    assert vmx["usb_xhci.present"] == "FALSE" and vmx["firmware"] == "bios"
    # BIOS boot: the medium attached as is (no prompt on a blank disk), never started by the role
    assert vmx["sata0:1.filename"] == "/Users/Shared/Installateurs/windows.iso"
    assert not list(mac.chemin(PAQUET).glob("installation-sans-invite-*.iso"))
    assert not mac.chemin(f"{PAQUET}/preparation.iso").exists()
    assert not mac.chemin("/private/var/telesante-etat/invites").exists(), "la VM a été démarrée"


def test_media_sans_image_efi_sans_invite_refuse_avant_tout(
        fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    sommes = poser_installateurs(mac, fabrication)
    # the same medium, its efisys_noprompt.bin renamed (same length: the zip stays valid)
    brut = installateurs["iso"].read_bytes()
    assert brut.count(b"efisys_noprompt.bin") == 2  # local header and central directory
    sans = tmp_path / "sans-noprompt.iso"
    sans.write_bytes(brut.replace(b"efisys_noprompt.bin", b"efisys_noprompt.old"))
    inventaire = preparer(mac, installateurs, tmp_path, **variables_preparation(
        sommes, vm_windows_iso_sha256=fabrication.sha256(sans)))
    mac.chemin(ISO_MAC).write_bytes(sans.read_bytes())
    passage = jouer(inventaire)
    assert passage.code != 0
    sortie = " ".join(passage.sortie.split())
    assert "n'a pas efi/microsoft/boot/efisys_noprompt.bin" in sortie and "Rien n'a été créé" in sortie, sortie
    assert not mac.chemin(VMDK).exists()
    assert not mac.chemin("/private/var/telesante-etat/invites").exists()
