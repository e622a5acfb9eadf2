# -*- coding: utf-8 -*-
"""What a DSQ workstation should be, decided once for the roles and the verifications.

The roles call these functions through the collection's filters (plugins/filter/telesante.py);
the testinfra suites (verifications/poste_dsq) import them from here. Neither computes the
profile, the VM MAC or the USB report type on its own.

The VM MAC is telesante.mac.mac_vm_du_numero_serie, the network audit's own function (Python
package ``telesante`` on the controller): the provisioning, the verifications and the audit
can never disagree on the address of a poste's VM.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

try:
    from telesante.mac import MacInvalide, est_plage_manuelle_vmware, normaliser_mac, mac_vm_du_numero_serie
except ImportError as exc:  # the collection without the audit's package (see README, « La collection »)
    ERREUR_IMPORT_TELESANTE = exc
else:
    ERREUR_IMPORT_TELESANTE = None

PROFIL_APPLE_SILICON = "windows11_arm64"
# macOS 26 (Tahoe) dropped system_profiler SPUSBDataType (empty array) for SPUSBHostDataType.
VERSION_MACOS_USB_HOTE = 26


class ErreurPoste(ValueError):
    """A value from the inventory or from the Mac that the workstation logic refuses."""


def _telesante():
    if ERREUR_IMPORT_TELESANTE is not None:
        raise ErreurPoste(
            "le paquet Python telesante (fonction de l'audit réseau qui dérive la MAC de la VM) "
            "manque sur le contrôleur : pip install <dépôt telesante> (%s)" % ERREUR_IMPORT_TELESANTE)


def architecture_du_mac(uname_m, hw_optional_arm64=""):
    """'arm64' or 'x86_64' from `uname -m` and `sysctl -n hw.optional.arm64` (1 under Rosetta too)."""
    machine = (uname_m or "").strip()
    if machine not in ("arm64", "x86_64"):
        raise ErreurPoste("architecture du Mac inconnue (uname -m : %r)" % (machine,))
    return "arm64" if machine == "arm64" or (hw_optional_arm64 or "").strip() == "1" else "x86_64"


def profil_vm(profil, architecture, profil_intel):
    """Name of the VM profile: the inventory's choice, or for 'auto' the one that fits the processor."""
    if profil != "auto":
        return profil
    if architecture == "arm64":
        return PROFIL_APPLE_SILICON
    if architecture == "x86_64":
        return profil_intel
    raise ErreurPoste("architecture du Mac inconnue : %r" % (architecture,))


def numero_serie_materiel(sortie_json):
    """Serial number in `system_profiler SPHardwareDataType -json`."""
    try:
        serie = json.loads(sortie_json)["SPHardwareDataType"][0]["serial_number"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ErreurPoste("numéro de série illisible dans la sortie de "
                          "« system_profiler SPHardwareDataType -json »")
    if not isinstance(serie, str) or not serie.strip():
        raise ErreurPoste("numéro de série vide dans « system_profiler SPHardwareDataType -json »")
    return serie.strip()


def mac_normalisee(mac):
    """Canonical lowercase colon form of a MAC address, as the audit writes it."""
    _telesante()
    try:
        return normaliser_mac(mac)
    except MacInvalide as exc:
        raise ErreurPoste(str(exc))


def mac_plage_vmware(mac):
    """True when the MAC lies in VMware's manual range (00:50:56:00:00:00-00:50:56:3F:FF:FF)."""
    _telesante()
    try:
        return est_plage_manuelle_vmware(normaliser_mac(mac))
    except MacInvalide:
        return False


def mac_depuis_numero_serie(numero_serie):
    """MAC of the VM of the Mac with this serial number (the audit's derivation)."""
    _telesante()
    if not isinstance(numero_serie, str) or not numero_serie.strip():
        raise ErreurPoste("numéro de série du Mac attendu (texte non vide), reçu %r" % (numero_serie,))
    return mac_vm_du_numero_serie(numero_serie)


def mac_vm(mac_inventaire=None, numero_serie_inventaire="", numero_serie_mac=""):
    """(MAC of the poste's VM, where it comes from), in the roles' order of precedence.

    telesante_mac_vm from the inventory wins; else the MAC is derived from the inventory's
    serial number, else from the serial number the Mac reports.
    """
    if mac_inventaire is not None and str(mac_inventaire).strip():
        return mac_normalisee(str(mac_inventaire)), "telesante_mac_vm de l'inventaire"
    serie = str(numero_serie_inventaire or "").strip()
    if serie:
        return mac_depuis_numero_serie(serie), "dérivée du numéro de série %s de l'inventaire" % serie
    serie = str(numero_serie_mac or "").strip()
    if serie:
        return mac_depuis_numero_serie(serie), "dérivée du numéro de série %s lu sur le Mac" % serie
    raise ErreurPoste("ni telesante_mac_vm ni numéro de série (inventaire ou Mac) : MAC de la VM inconnue")


def type_usb_system_profiler(version_macos):
    """SPUSBDataType up to macOS 15, SPUSBHostDataType from macOS 26 (Tahoe)."""
    trouve = re.match(r"^\s*(\d+)(\.\d+)*\s*$", str(version_macos or ""))
    if not trouve:
        raise ErreurPoste("version de macOS illisible : %r" % (version_macos,))
    return "SPUSBHostDataType" if int(trouve.group(1)) >= VERSION_MACOS_USB_HOTE else "SPUSBDataType"


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


def appareils_usb(donnees, vendor_id, product_id):
    """Devices of `system_profiler SPUSBDataType|SPUSBHostDataType -json` matching vendor_id/product_id.

    The tree is walked at any depth (hubs nest their devices in `_items`).
    Returns the list of matching device names (empty when the device is absent);
    an output holding neither data type is an error, never "absent".
    """
    if not isinstance(donnees, dict) or not any(cle in donnees for cle in _CLES_USB):
        raise ErreurPoste("sortie JSON de system_profiler SPUSBDataType ou SPUSBHostDataType attendue")
    wanted = (_hex_id(vendor_id), _hex_id(product_id))
    found = []
    for type_usb, (cle_vendor, cle_produit) in _CLES_USB.items():
        for bus in donnees.get(type_usb, []) or []:
            for device in _walk_usb([bus]):
                if (_hex_id(device.get(cle_vendor)), _hex_id(device.get(cle_produit))) == wanted:
                    found.append(device.get("_name", "?"))
    return found


def version_numerique(texte):
    """Numeric start of a CFBundleShortVersionString ('6.2.11 (43613)' -> '6.2.11'; '' if none)."""
    trouve = re.match(r"^\s*(\d+(?:\.\d+)*)", str(texte or ""))
    return trouve.group(1) if trouve else ""


def version_suffisante(version_lue, version_minimale):
    """True when the installed version (as the app writes it) is at least the minimum ('' = no minimum)."""
    minimale = version_numerique(version_minimale)
    if str(version_minimale or "").strip() and not minimale:
        raise ErreurPoste("version minimale illisible : %r" % (version_minimale,))
    lue = version_numerique(version_lue)
    if not lue:
        return False
    if not minimale:
        return True
    return [int(x) for x in lue.split(".")] >= [int(x) for x in minimale.split(".")]


def filevault_actif(sortie_status):
    """True only for `fdesetup status` saying 'FileVault is On.' with no conversion in progress."""
    lignes = [ligne.strip() for ligne in str(sortie_status or "").splitlines()]
    return "FileVault is On." in lignes and not any("in progress" in ligne for ligne in lignes)


# Exit codes of curl (man curl, EXIT CODES) that mean the name did not resolve.
CURL_NOM_NON_RESOLU = 6


def diagnostic_domaine(nom, code, sortie, erreur):
    """'' when `curl --write-out '%{http_code} ...'` got any HTTP answer from `nom`, else why not (French)."""
    erreur = " ".join(str(erreur or "").split())
    if code == CURL_NOM_NON_RESOLU:
        return "%s n'est pas résolu (DNS : %s)" % (nom, erreur)
    statut = (str(sortie or "").split() or [""])[0]
    if code != 0 or statut in ("", "000"):
        return "%s est résolu mais ne répond pas (curl, code %s : %s)" % (nom, code, erreur)
    return ""
