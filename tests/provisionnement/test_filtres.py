"""The filter plugin: the VM MAC comes from the audit's own function."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.sante_quebec.telesante.plugins.filter.telesante import FilterModule
from telesante.mac import est_plage_manuelle_vmware, mac_vm_du_numero_serie

FILTRES = FilterModule().filters()


@pytest.mark.parametrize("serie", ["C02ZK1ABMD6R", "FVFXK2LLQ05Q", "  c02zk1abmd6r "])
def test_mac_vm_est_celle_de_l_audit(serie):
    assert FILTRES["telesante_mac_vm"](serie) == mac_vm_du_numero_serie(serie)


@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=8, max_size=14))
def test_mac_vm_toujours_dans_la_plage_manuelle_de_vmware(serie):
    mac = FILTRES["telesante_mac_vm"](serie)
    assert est_plage_manuelle_vmware(mac)
    assert FILTRES["telesante_mac_plage_vmware"](mac)


def test_numero_de_serie_vide_refuse_en_francais():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="numéro de série"):
        FILTRES["telesante_mac_vm"]("  ")


def test_plage_vmware():
    assert FILTRES["telesante_mac_plage_vmware"]("00:50:56:3F:FF:FF")
    assert not FILTRES["telesante_mac_plage_vmware"]("00:50:56:40:00:00")
    assert not FILTRES["telesante_mac_plage_vmware"]("00:0c:29:12:34:56")
    assert not FILTRES["telesante_mac_plage_vmware"]("pas une mac")
    assert FILTRES["telesante_mac_normalisee"]("0050.5612.3456") == "00:50:56:12:34:56"


USB = {
    "SPUSBDataType": [
        {"_name": "USB31Bus", "host_controller": "AppleT8112USBXHCI", "_items": [
            {"_name": "USB2.0 Hub", "vendor_id": "0x05e3  (Genesys Logic, Inc.)", "product_id": "0x0610",
             "_items": [
                 {"_name": "USB Shell Token V2", "vendor_id": "0x08e6  (Gemalto)",
                  "product_id": "0x3438", "serial_num": "1234"},
             ]},
        ]},
        {"_name": "USB30Bus"},
    ]
}


def test_jeton_trouve_derriere_un_concentrateur():
    assert FILTRES["telesante_usb_appareils"](USB, "08e6", "3438") == ["USB Shell Token V2"]
    assert FILTRES["telesante_usb_appareils"](USB, "0x08E6", "0x3438") == ["USB Shell Token V2"]


def test_jeton_absent():
    assert FILTRES["telesante_usb_appareils"](USB, "08e6", "3437") == []
    assert FILTRES["telesante_usb_appareils"]({"SPUSBDataType": []}, "08e6", "3438") == []


# macOS 26 (Tahoe): SPUSBHostDataType, keys USBDeviceKey* (shape of real macOS 26 captures).
USB_HOTE = {
    "SPUSBHostDataType": [
        {"_name": "USB 4.0 Bus", "Driver": "AppleT6050USBXHCIAUSS", "USBKeyHardwareType": "Built-in"},
        {"_name": "USB 3.1 Bus", "Driver": "AppleT8142USBXHCI", "USBKeyHardwareType": "Built-in", "_items": [
            {"_name": "USB3.1 Hub", "USBDeviceKeyVendorID": "0x2109", "USBDeviceKeyVendorName": "Anker",
             "_items": [
                 {"_name": "USB Shell Token V2", "USBDeviceKeyVendorID": "0x08e6",
                  "USBDeviceKeyProductID": "0x3438", "USBDeviceKeyVendorName": "Gemalto",
                  "USBKeyHardwareType": "Removable"},
             ]},
        ]},
    ]
}


def test_jeton_trouve_dans_spusbhostdatatype_de_macos_26():
    assert FILTRES["telesante_usb_appareils"](USB_HOTE, "08e6", "3438") == ["USB Shell Token V2"]
    assert FILTRES["telesante_usb_appareils"](USB_HOTE, "08e6", "3437") == []


def test_sortie_usb_sans_type_connu_refusee():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="SPUSBDataType ou SPUSBHostDataType"):
        FILTRES["telesante_usb_appareils"]({"SPHardwareDataType": []}, "08e6", "3438")


# -- module_utils/poste.py: one decision for the roles (through these filters) and the verifications

def test_profil_et_architecture():
    assert FILTRES["telesante_architecture"]("arm64", "1") == "arm64"
    assert FILTRES["telesante_architecture"]("x86_64\n", "1") == "arm64"  # under Rosetta: hw.optional.arm64
    assert FILTRES["telesante_architecture"]("x86_64", "") == "x86_64"
    assert FILTRES["telesante_profil_vm"]("auto", "arm64", "windows10_x64") == "windows11_arm64"
    assert FILTRES["telesante_profil_vm"]("auto", "x86_64", "windows10_x64") == "windows10_x64"
    assert FILTRES["telesante_profil_vm"]("windows7_x64", "x86_64", "windows11_x64") == "windows7_x64"
    from ansible.errors import AnsibleFilterError

    for machine in ("", "i386", "arm64\x1b[31m", None):
        with pytest.raises(AnsibleFilterError, match="architecture du Mac inconnue"):
            FILTRES["telesante_architecture"](machine, "0")


def test_mac_vm_poste_ordre_de_preseance():
    mac = FILTRES["telesante_mac_vm_poste"]
    assert mac("C02ZK1ABMD6R", "FVFXK2LLQ05Q", "00:50:56:0A:0B:0C") == {
        "mac": "00:50:56:0a:0b:0c", "origine": "telesante_mac_vm de l'inventaire"}
    assert mac("C02ZK1ABMD6R", "FVFXK2LLQ05Q")["mac"] == mac_vm_du_numero_serie("C02ZK1ABMD6R")
    assert mac("", "FVFXK2LLQ05Q") == {"mac": mac_vm_du_numero_serie("FVFXK2LLQ05Q"),
                                       "origine": "dérivée du numéro de série FVFXK2LLQ05Q lu sur le Mac"}
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="MAC de la VM inconnue"):
        mac("", "  ")
    with pytest.raises(AnsibleFilterError, match="telesante_mac_vm_poste"):
        mac("", "", "pas-une-mac")


@pytest.mark.parametrize(("lue", "minimale", "attendu"), [
    ("6.2.11 (43613)", "6.2.0", True),
    ("6.2.0", "6.2", True),
    ("6.10.0", "6.9.9", True),           # numeric, not lexicographic
    ("5.17.11 (31580)", "6.2.0", False),
    ("", "6.2.0", False),                 # absent is never enough
    ("131.0.6778.86", "", True),
    ("abc", "", False),
    ("6.2.11\x00evil", "6.2.0", True),    # only the numeric start counts
])
def test_version_suffisante(lue, minimale, attendu):
    assert FILTRES["telesante_version_suffisante"](lue, minimale) is attendu


def test_version_minimale_illisible_refusee():
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="version minimale illisible"):
        FILTRES["telesante_version_suffisante"]("6.2.0", "dernière")


@pytest.mark.parametrize(("sortie", "actif"), [
    ("FileVault is On.\n", True),
    ("FileVault is Off.\n", False),
    ("Encryption in progress: Percent completed = 42.0\n", False),
    ("FileVault is On.\nEncryption in progress: Percent completed = 3\n", False),
    ("FileVault is On. (pas vraiment)\n", False),
    ("", False),
    (None, False),
])
def test_filevault_actif(sortie, actif):
    assert FILTRES["telesante_filevault_actif"](sortie) is actif


def test_diagnostic_des_domaines():
    diagnostic = FILTRES["telesante_diagnostic_domaine"]
    assert diagnostic("reacts.sante.quebec", 0, "200 10.0.0.1", "") == ""
    assert diagnostic("reacts.sante.quebec", 0, "403 10.0.0.1", "") == ""  # any HTTP answer
    assert diagnostic("a.quebec", 6, "000 ", "curl: (6) Could not resolve host: a.quebec\n") == (
        "a.quebec n'est pas résolu (DNS : curl: (6) Could not resolve host: a.quebec)")
    assert diagnostic("a.quebec", 28, "000 ", "curl: (28) Connection timed out").startswith(
        "a.quebec est résolu mais ne répond pas (curl, code 28")
    assert diagnostic("a.quebec", 0, "", "") != ""  # no status written: never "answered"
    essai = {"item": {"nom": "a.quebec"}, "rc": 7, "stdout": "000 ", "stderr": "curl: (7) Failed\nto connect"}
    assert FILTRES["telesante_essai_domaine"](essai) == (
        "a.quebec est résolu mais ne répond pas (curl, code 7 : curl: (7) Failed to connect)")


@pytest.mark.parametrize(("version", "type_usb"), [
    ("14.6.1", "SPUSBDataType"), ("15.7", "SPUSBDataType"), ("26.1", "SPUSBHostDataType"), ("27", "SPUSBHostDataType"),
])
def test_type_usb_selon_macos(version, type_usb):
    assert FILTRES["telesante_type_usb"](version) == type_usb


def test_version_macos_illisible_refusee():
    from ansible.errors import AnsibleFilterError

    for version in ("", "Tahoe", "26.1\n27", None):
        with pytest.raises(AnsibleFilterError, match="version de macOS illisible"):
            FILTRES["telesante_type_usb"](version)
