"""Shared test helpers: where the real outputs of ../shared/fixtures live."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The simulated Mac's fixtures (fabrique_mac_simule...) for every test folder.
pytest_plugins = ["tests.mac_simule.fixtures"]

RACINE = Path(__file__).resolve().parents[1]
FIXTURES = RACINE.parent / "shared" / "fixtures"
EXEMPLE = RACINE / "inventaires" / "exemple"


@pytest.fixture
def fixtures() -> Path:
    """The real captured outputs shared by the team (never copied into the project)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"dossier des fixtures partagées introuvable : {FIXTURES}")
    return FIXTURES


@pytest.fixture
def exemple(tmp_path) -> Path:
    """A private copy of the demo inventory, free to modify; returns its hosts.yml."""
    copy = tmp_path / "exemple"
    shutil.copytree(EXEMPLE, copy)
    return copy / "hosts.yml"
