# -*- coding: utf-8 -*-
"""Jinja filters of the telesante provisioning.

The VM MAC is derived by the very function the network audit uses
(telesante.mac.mac_vm_du_numero_serie): the provisioning and the audit can never
disagree on the address of a poste's Windows VM.
"""

from __future__ import annotations

import os
import sys

from ansible.errors import AnsibleFilterError

try:
    from telesante.mac import MacInvalide, est_plage_manuelle_vmware, normaliser_mac, mac_vm_du_numero_serie
except ImportError:  # ansible-playbook run from a Python without the package installed
    _SRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    if _SRC not in sys.path:
        sys.path.insert(0, _SRC)
    from telesante.mac import MacInvalide, est_plage_manuelle_vmware, normaliser_mac, mac_vm_du_numero_serie


def telesante_mac_vm(numero_serie):
    """MAC of the Windows VM of the Mac with this serial number (VMware manual range)."""
    if not isinstance(numero_serie, str) or not numero_serie.strip():
        raise AnsibleFilterError(
            "telesante_mac_vm : numéro de série du Mac attendu (texte non vide), reçu %r" % (numero_serie,))
    try:
        return mac_vm_du_numero_serie(numero_serie)
    except ValueError as exc:
        raise AnsibleFilterError("telesante_mac_vm : %s" % exc) from exc


def telesante_mac_normalisee(mac):
    """Canonical lowercase colon form of a MAC address (as the audit writes it)."""
    try:
        return normaliser_mac(mac)
    except MacInvalide as exc:
        raise AnsibleFilterError("telesante_mac_normalisee : %s" % exc) from exc


def telesante_mac_plage_vmware(mac):
    """True when the MAC lies in VMware's manual range (00:50:56:00:00:00-00:50:56:3F:FF:FF)."""
    try:
        return est_plage_manuelle_vmware(normaliser_mac(mac))
    except MacInvalide:
        return False


def _hex_id(value):
    """Integer of a system_profiler USB id ('0x08e6  (Gemalto)', '0x3438', 8934)."""
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    token = value.strip().split()[0]
    try:
        return int(token, 16)  # system_profiler writes ids in hex, with or without 0x
    except ValueError:
        return None


def _walk_usb(items):
    for item in items or []:
        if isinstance(item, dict):
            yield item
            yield from _walk_usb(item.get("_items"))


# Device keys of system_profiler: SPUSBDataType (up to macOS 15), SPUSBHostDataType (macOS 26).
_CLES_USB = {
    "SPUSBDataType": ("vendor_id", "product_id"),
    "SPUSBHostDataType": ("USBDeviceKeyVendorID", "USBDeviceKeyProductID"),
}


def telesante_usb_appareils(donnees, vendor_id, product_id):
    """Devices of `system_profiler SPUSBDataType|SPUSBHostDataType -json` matching vendor_id/product_id.

    The tree is walked at any depth (hubs nest their devices in `_items`).
    Returns the list of matching device names (empty when the device is absent);
    an output holding neither data type is an error, never "absent".
    """
    if not isinstance(donnees, dict) or not any(cle in donnees for cle in _CLES_USB):
        raise AnsibleFilterError("telesante_usb_appareils : sortie JSON de system_profiler "
                                 "SPUSBDataType ou SPUSBHostDataType attendue")
    wanted = (_hex_id(vendor_id), _hex_id(product_id))
    found = []
    for type_usb, (cle_vendor, cle_produit) in _CLES_USB.items():
        for bus in donnees.get(type_usb, []) or []:
            for device in _walk_usb([bus]):
                if (_hex_id(device.get(cle_vendor)), _hex_id(device.get(cle_produit))) == wanted:
                    found.append(device.get("_name", "?"))
    return found


class FilterModule(object):
    """telesante filters."""

    def filters(self):
        return {
            "telesante_mac_vm": telesante_mac_vm,
            "telesante_mac_normalisee": telesante_mac_normalisee,
            "telesante_mac_plage_vmware": telesante_mac_plage_vmware,
            "telesante_usb_appareils": telesante_usb_appareils,
        }
