"""Fixtures of the audit server tests: the wheelhouse (once per session) and the test host.

Durations (wheelhouse, host, each playbook run) are printed at the end of the session.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from .hote import HoteServeur, construire_hote, prerequis_hote

RACINE = Path(__file__).resolve().parents[2]
DUREES: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter) -> None:
    """Say how long the expensive steps took."""
    if DUREES:
        terminalreporter.write_sep("-", "serveur d'audit : durées")
        for etape, duree in DUREES.items():
            terminalreporter.write_line(f"{etape} : {duree:.1f} s")


@pytest.fixture(scope="session")
def roues(tmp_path_factory) -> Path:
    """A wheelhouse of telesante and its dependencies, as an admin builds it (pip wheel).

    Built from a copy of the sources (no build/ nor egg-info left in the work tree);
    pip takes the dependencies from its local cache.
    """
    source = tmp_path_factory.mktemp("source-telesante")
    shutil.copy2(RACINE / "pyproject.toml", source)
    shutil.copy2(RACINE / "README.md", source)
    shutil.copytree(RACINE / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dossier = tmp_path_factory.mktemp("roues")
    debut = time.monotonic()
    resultat = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(dossier),
                               str(source)], capture_output=True, text=True, timeout=600)
    DUREES["dossier de roues (pip wheel)"] = time.monotonic() - debut
    if resultat.returncode != 0:
        pytest.fail(f"pip wheel a échoué (code {resultat.returncode}) :\n{resultat.stderr[-3000:]}")
    if not list(dossier.glob("telesante-*.whl")):
        pytest.fail(f"aucune roue de telesante dans {dossier}")
    return dossier


def _hote(nom: str) -> Iterator[HoteServeur]:
    raisons = prerequis_hote()
    if raisons:
        pytest.skip("L'hôte de test exige root (espaces de noms réseau et de montage) : " + " ; ".join(raisons))
    from tests.mac_simule.construction import nettoyer_restes

    nettoyer_restes()
    debut = time.monotonic()
    serveur = construire_hote(nom)
    DUREES[f"construction de l'hôte de test {nom}"] = time.monotonic() - debut
    try:
        yield serveur
    finally:
        serveur.close()


@pytest.fixture(scope="module")
def hote() -> Iterator[HoteServeur]:
    """A Debian test host (network and mount namespaces, sshd), torn down at the end of the module."""
    yield from _hote("serveur-audit")


@pytest.fixture
def hote_neuf() -> Iterator[HoteServeur]:
    """Another, untouched test host, torn down at the end of the test."""
    yield from _hote("serveur-neuf")
