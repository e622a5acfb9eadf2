"""Every folder of tests/cas/: an inventory, the audit run by the real command, the expected outcome."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

RACINE = Path(__file__).resolve().parents[2]
CAS = RACINE / "tests" / "cas"
EXEMPLE = RACINE / "inventaires" / "exemple"
TELESANTE = Path(sys.executable).with_name("telesante")
CLES = {"description", "base", "retirer", "preparer", "arguments", "attendu"}


def _dossiers() -> list[Path]:
    return sorted(p for p in CAS.iterdir() if (p / "cas.yml").is_file())


def _valeur(document, chemin: str):
    """`reseaux[0].statut` style lookup in the JSON report."""
    for morceau in re.findall(r"[^.\[\]]+|\[\d+\]", chemin):
        document = document[int(morceau[1:-1])] if morceau.startswith("[") else document[morceau]
    return document


def _preparer(dossier: Path, cas: dict, tmp_path: Path) -> Path:
    inventaire = tmp_path / "inventaire"
    if cas.get("base", "exemple") == "exemple":
        shutil.copytree(EXEMPLE, inventaire, symlinks=True)
    else:
        inventaire.mkdir()
    if (dossier / "inventaire").is_dir():
        shutil.copytree(dossier / "inventaire", inventaire, dirs_exist_ok=True, symlinks=True)
    for chemin in cas.get("retirer", []):
        cible = inventaire / chemin
        shutil.rmtree(cible) if cible.is_dir() and not cible.is_symlink() else cible.unlink()
    if cas.get("preparer"):
        exec(compile(cas["preparer"], str(dossier / "cas.yml"), "exec"), {"inventaire": inventaire, "Path": Path})
    return inventaire


@pytest.mark.parametrize("dossier", _dossiers(), ids=lambda p: p.name)
def test_cas(dossier: Path, tmp_path: Path) -> None:
    cas = yaml.safe_load((dossier / "cas.yml").read_text(encoding="utf-8"))
    assert set(cas) <= CLES, f"clés inconnues dans {dossier.name}/cas.yml : {set(cas) - CLES}"
    attendu = cas["attendu"]
    inventaire = _preparer(dossier, cas, tmp_path)
    rapports = tmp_path / "rapports"
    resultat = subprocess.run(
        [TELESANTE, "audit", "-i", inventaire / "hosts.yml", "-f", "terminal,json,junit", "-o", rapports,
         "--date", "2026-11-21", *cas.get("arguments", [])],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        # Wide enough that no line wraps, whatever the length of the temporary folder in the messages.
        env={"COLUMNS": "1000", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    trace = f"code {resultat.returncode}\n--- sortie\n{resultat.stdout}\n--- erreur\n{resultat.stderr}"
    assert resultat.returncode == attendu["code"], trace
    for motif in attendu.get("sortie", []):
        assert re.search(motif, resultat.stdout), f"« {motif} » absent de la sortie\n{trace}"
    for motif in attendu.get("erreur", []):
        assert re.search(motif, resultat.stderr), f"« {motif} » absent de la sortie d'erreur\n{trace}"
    for motif in attendu.get("absent", []):
        assert not re.search(motif, resultat.stdout + resultat.stderr), f"« {motif} » ne doit pas paraître\n{trace}"
    if attendu.get("rapport"):
        document = json.loads((rapports / "rapport.json").read_text(encoding="utf-8"))
        for chemin, valeur in attendu["rapport"].items():
            assert _valeur(document, chemin) == valeur, f"{chemin} : {_valeur(document, chemin)!r} ≠ {valeur!r}"
