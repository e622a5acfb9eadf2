"""The real .vmx the role's output is compared to (aide.ecarts_avec_fusion): the comparison bites."""

from __future__ import annotations

from .aide import VMX_REELS, ecarts_avec_fusion, lire_vmx


def test_vmx_reels_presents_dont_un_de_fusion_sur_apple_silicon():
    noms = [chemin.name for chemin in VMX_REELS]
    assert len(noms) >= 3 and "fusion-arm64-ubuntu-vmmanager.vmx" in noms
    assert lire_vmx(VMX_REELS[-1])["guestos"].startswith("arm-")


def test_un_vmx_maigre_est_refuse():
    """What the role wrote before: no PCIe bridges, no VMCI, no HPET, no NVRAM."""
    maigre = {"config.version": "8", "virtualhw.version": "20", "displayname": "Windows DSQ",
              "guestos": "windows11-64", "memsize": "4096", "ethernet0.present": "TRUE"}
    ecarts = "\n".join(ecarts_avec_fusion(maigre))
    for cle in ("pcibridge4.virtualdev", "pcibridge7.functions", "vmci0.present", "hpet0.present",
                "nvram", "extendedconfigfile", "virtualhw.productcompatibility", "tools.synctime"):
        assert cle in ecarts, cle


def test_chaque_vmx_reel_est_conforme_a_lui_meme():
    for chemin in VMX_REELS:
        assert ecarts_avec_fusion(lire_vmx(chemin)) == [], chemin.name
