"""Shared helpers of the SNMP tests: an inventory for SNMP agents, the real `telesante audit` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

TELESANTE = Path(sys.executable).with_name("telesante")


def collecter_snmp(equipement, dossier_captures: Path | None = None):
    """Read one SNMP equipment live as the audit does (the registry's reader, then the collection's
    recording under `dossier_captures` and parsing): its ResultatCollecte."""
    from telesante.collecte.contrat import ParametresCollecte
    from telesante.collecte.en_direct import collecter_en_direct

    # No SSH: the known_hosts file is not read for a platform with its own reader.
    parametres = ParametresCollecte(hotes_connus=Path("/dev/null"), tentatives=1, dossier_captures=dossier_captures)
    return collecter_en_direct(equipement, parametres)

RESEAUX = [
    {"nom": "mission-nord", "site": "hopital_nord", "type": "mission", "sous_reseaux": ["10.20.110.0/24"],
     "vlans": [110]},
    {"nom": "patients-nord", "site": "hopital_nord", "type": "hors_mission", "sous_reseaux": ["10.20.120.0/24"],
     "vlans": [120]},
]


def ecrire_inventaire(dossier: Path, equipements: dict[str, dict], reseaux: list[dict] | None = None,
                      autres: dict | None = None) -> Path:
    """hosts.yml with these SNMP equipment (site hopital_nord) and these networks; its path."""
    dossier.mkdir(parents=True, exist_ok=True)
    hotes = {nom: {"telesante_plateforme": "snmp", "telesante_site": "hopital_nord", **variables}
             for nom, variables in equipements.items()}
    document = {"all": {"hosts": hotes, "vars": {"telesante_reseaux": reseaux or RESEAUX, **(autres or {})}}}
    chemin = dossier / "hosts.yml"
    chemin.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return chemin


def auditer(inventaire: Path, rapports: Path, *arguments: str, prefixe: tuple[str, ...] = (),
            timeout: float = 300) -> tuple[subprocess.CompletedProcess, dict]:
    """`telesante audit` (terminal and JSON reports); the process and the JSON report."""
    resultat = subprocess.run(
        [*prefixe, str(TELESANTE), "audit", "-i", str(inventaire), "-f", "terminal,json", "-o", str(rapports),
         *arguments],
        capture_output=True, text=True, timeout=timeout, cwd=rapports.parent,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": str(rapports.parent)})
    document = json.loads((rapports / "rapport.json").read_text(encoding="utf-8")) \
        if (rapports / "rapport.json").is_file() else {}
    return resultat, document


def constats(document: dict) -> list[tuple]:
    """(MAC, gravity, network, status, places) of each finding of a JSON report, sorted."""
    return sorted((c["mac"], c["gravite"], c["reseau"], c["statut"],
                   tuple(sorted((e["equipement"], e["port"] or "", e["vlan"] or 0) for e in c["emplacements"])))
                  for c in document.get("constats", []))
