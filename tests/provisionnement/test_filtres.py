"""The filter plugin: the VM MAC comes from the audit's own function."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from ansible_collections.sante_quebec.telesante.plugins.filter.telesante import FilterModule
from telesante.mac import is_vmware_manual, vm_mac_from_serial

FILTRES = FilterModule().filters()


@pytest.mark.parametrize("serie", ["C02ZK1ABMD6R", "FVFXK2LLQ05Q", "  c02zk1abmd6r "])
def test_mac_vm_est_celle_de_l_audit(serie):
    assert FILTRES["telesante_mac_vm"](serie) == vm_mac_from_serial(serie)


@given(st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=8, max_size=14))
def test_mac_vm_toujours_dans_la_plage_manuelle_de_vmware(serie):
    mac = FILTRES["telesante_mac_vm"](serie)
    assert is_vmware_manual(mac)
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
