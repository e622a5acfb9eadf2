# -*- coding: utf-8 -*-
"""Jinja filters of the DSQ workstation roles.

Each filter calls the collection's module_utils/poste.py, which the verifications
(verifications/poste_dsq) import too: one definition of the VM profile, the VM MAC (the
network audit's telesante.mac.mac_vm_du_numero_serie) and the USB report type.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.sante_quebec.telesante.plugins.module_utils import poste


def _filtre(nom, fonction):
    def appel(*args, **kwargs):
        try:
            return fonction(*args, **kwargs)
        except poste.ErreurPoste as exc:
            raise AnsibleFilterError("%s : %s" % (nom, exc))
    appel.__name__ = nom
    appel.__doc__ = fonction.__doc__
    return appel


def _mac_vm_poste(numero_serie_inventaire="", numero_serie_mac="", mac_inventaire=None):
    """{mac, origine} of the poste's VM (telesante_mac_vm, else the inventory's serial, else the Mac's)."""
    mac, origine = poste.mac_vm(mac_inventaire, numero_serie_inventaire, numero_serie_mac)
    return {"mac": mac, "origine": origine}


def _essai_domaine(essai):
    """Why one curl try of controles_poste (a loop result: item.nom, rc, stdout, stderr) failed; '' if it answered."""
    if not isinstance(essai, dict) or not isinstance(essai.get("item"), dict):
        raise poste.ErreurPoste("résultat d'un essai curl de controles_poste attendu")
    return poste.diagnostic_domaine(essai["item"].get("nom"), essai.get("rc"), essai.get("stdout"), essai.get("stderr"))


FILTRES = {
    "telesante_mac_vm": poste.mac_depuis_numero_serie,
    "telesante_mac_vm_poste": _mac_vm_poste,
    "telesante_mac_normalisee": poste.mac_normalisee,
    "telesante_mac_plage_vmware": poste.mac_plage_vmware,
    "telesante_usb_appareils": poste.appareils_usb,
    "telesante_type_usb": poste.type_usb_system_profiler,
    "telesante_architecture": poste.architecture_du_mac,
    "telesante_profil_vm": poste.profil_vm,
    "telesante_numero_serie_materiel": poste.numero_serie_materiel,
    "telesante_version_numerique": poste.version_numerique,
    "telesante_version_suffisante": poste.version_suffisante,
    "telesante_filevault_actif": poste.filevault_actif,
    "telesante_diagnostic_domaine": poste.diagnostic_domaine,
    "telesante_essai_domaine": _essai_domaine,
}


class FilterModule(object):
    """Filters of sante_quebec.telesante."""

    def filters(self):
        return {nom: _filtre(nom, fonction) for nom, fonction in FILTRES.items()}
