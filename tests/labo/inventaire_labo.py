"""Write an Ansible inventory that describes a built lab, as an admin would for real gear."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from .topologie import PASSERELLE, COMMUTATEUR, Laboratoire


def macs_passerelle(laboratoire: Laboratoire) -> list[str]:
    """MACs of the gateway's interfaces on the VLANs (seen by the switch: authorized equipment)."""
    links = json.loads(subprocess.run(
        ["ip", "-n", laboratoire.passerelle.espace, "-j", "link", "show"], capture_output=True, text=True, check=True
    ).stdout)
    return sorted({link["address"] for link in links
                   if link.get("link_type") == "ether" and link["ifname"] != laboratoire.passerelle.interface})


def ecrire_inventaire(laboratoire: Laboratoire, dossier: Path, fichier_mdns: Path | None = None, **surcharges) -> Path:
    """hosts.yml + group_vars for the lab; `surcharges` override host variables by host name."""
    dossier.mkdir(parents=True, exist_ok=True)

    def acces(node) -> dict:
        return {"ansible_host": node.ip_gestion, "ansible_port": node.port_ssh, "ansible_user": node.utilisateur,
                "ansible_ssh_private_key_file": str(node.chemin_cle)}

    equipements = {
        COMMUTATEUR: {**acces(laboratoire.commutateur), "telesante_plateforme": "linux",
                 "telesante_ports_liaison": sorted({"swp-gw", *(f"swp-gw{v}" for v in laboratoire.ponts_commutateur)})},
        PASSERELLE: {**acces(laboratoire.passerelle), "telesante_plateforme": "linux"},
        "dhcp-labo": {**acces(laboratoire.passerelle), "telesante_plateforme": "dnsmasq", "telesante_fichier": str(laboratoire.fichier_baux)},
    }
    if fichier_mdns is not None:
        equipements["sonde-labo"] = {**acces(laboratoire.passerelle), "telesante_plateforme": "capteur_mdns",
                                     "telesante_fichier": str(fichier_mdns)}
    for name, values in surcharges.items():
        equipements[name] = {**equipements[name], **values}
    poste, vm = laboratoire.hote("mac-poste"), laboratoire.hote("vm-poste")
    inventory = {"all": {"children": {
        "equipements_labo": {"hosts": equipements, "vars": {"telesante_site": "labo"}},
        "postes_dsq": {"hosts": {"mac-poste": {"telesante_site": "labo", "telesante_macs_poste": [poste.mac],
                                               "telesante_mac_vm": vm.mac}}},
    }}}
    (dossier / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    group_vars = dossier / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    mission, patients = (laboratoire.topologie.vlans[0], laboratoire.topologie.vlans[1])
    (group_vars / "labo.yml").write_text(yaml.safe_dump({
        "telesante_fichier_hotes_connus": str(laboratoire.hotes_connus),
        "telesante_reseaux": [
            {"nom": "mission-labo", "site": "labo", "type": "mission",
             "sous_reseaux": [mission.reseau], "vlans": [mission.vid]},
            {"nom": "patients-labo", "site": "labo", "type": "hors_mission",
             "sous_reseaux": [patients.reseau], "vlans": [patients.vid]},
            # The management links (SSH of the audit): the gateway and the switch see the
            # controller there; what is seen on no declared network makes them incomplete.
            {"nom": "gestion-labo", "site": "labo", "type": "hors_mission",
             "sous_reseaux": [str(laboratoire.reseau_gestion)]},
        ],
        "telesante_equipements_autorises": [
            {"mac": laboratoire.hote(laboratoire.topologie.sonde).mac, "nom": "sonde mDNS", "type": "sonde"},
            *({"mac": mac, "nom": f"passerelle {mac}", "type": "reseau"} for mac in macs_passerelle(laboratoire)),
        ],
    }, sort_keys=False, allow_unicode=True))
    return dossier / "hosts.yml"
