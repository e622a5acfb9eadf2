"""Write an Ansible inventory that describes a built lab, as an admin would for real gear."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from .topologie import GATEWAY, SWITCH, Lab


def macs_passerelle(lab: Lab) -> list[str]:
    """MACs of the gateway's interfaces on the VLANs (seen by the switch: authorized equipment)."""
    links = json.loads(subprocess.run(
        ["ip", "-n", lab.gateway.namespace, "-j", "link", "show"], capture_output=True, text=True, check=True
    ).stdout)
    return sorted({link["address"] for link in links
                   if link.get("link_type") == "ether" and link["ifname"] != lab.gateway.interface})


def ecrire_inventaire(lab: Lab, dossier: Path, fichier_mdns: Path | None = None, **surcharges) -> Path:
    """hosts.yml + group_vars for the lab; `surcharges` override host variables by host name."""
    dossier.mkdir(parents=True, exist_ok=True)

    def acces(node) -> dict:
        return {"ansible_host": node.mgmt_ip, "ansible_port": node.ssh_port, "ansible_user": node.user,
                "ansible_ssh_private_key_file": str(node.key_path)}

    equipements = {
        SWITCH: {**acces(lab.switch), "telesante_plateforme": "linux",
                 "telesante_ports_liaison": sorted({"swp-gw", *(f"swp-gw{v}" for v in lab.switch_bridges)})},
        GATEWAY: {**acces(lab.gateway), "telesante_plateforme": "linux"},
        "dhcp-labo": {**acces(lab.gateway), "telesante_plateforme": "dnsmasq", "telesante_fichier": str(lab.lease_file)},
    }
    if fichier_mdns is not None:
        equipements["sonde-labo"] = {**acces(lab.gateway), "telesante_plateforme": "capteur_mdns",
                                     "telesante_fichier": str(fichier_mdns)}
    for name, values in surcharges.items():
        equipements[name] = {**equipements[name], **values}
    poste, vm = lab.host("mac-poste"), lab.host("vm-poste")
    inventory = {"all": {"children": {
        "equipements_labo": {"hosts": equipements, "vars": {"telesante_site": "labo"}},
        "postes_dsq": {"hosts": {"mac-poste": {"telesante_site": "labo", "telesante_macs_poste": [poste.mac],
                                               "telesante_mac_vm": vm.mac}}},
    }}}
    (dossier / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    group_vars = dossier / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    mission, patients = (lab.topology.vlans[0], lab.topology.vlans[1])
    (group_vars / "labo.yml").write_text(yaml.safe_dump({
        "telesante_fichier_hotes_connus": str(lab.known_hosts),
        "telesante_reseaux": [
            {"nom": "mission-labo", "site": "labo", "type": "mission",
             "sous_reseaux": [mission.network], "vlans": [mission.vid]},
            {"nom": "patients-labo", "site": "labo", "type": "hors_mission",
             "sous_reseaux": [patients.network], "vlans": [patients.vid]},
            # The management links (SSH of the audit): the gateway and the switch see the
            # controller there; what is seen on no declared network makes them incomplete.
            {"nom": "gestion-labo", "site": "labo", "type": "hors_mission",
             "sous_reseaux": [str(lab.mgmt_network)]},
        ],
        "telesante_equipements_autorises": [
            {"mac": lab.host(lab.topology.probe).mac, "nom": "sonde mDNS", "type": "sonde"},
            *({"mac": mac, "nom": f"passerelle {mac}", "type": "reseau"} for mac in macs_passerelle(lab)),
        ],
    }, sort_keys=False, allow_unicode=True))
    return dossier / "hosts.yml"
