"""Fixtures of the provisioning tests: simulated Macs (tests/mac_simule), torn down after each test."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Callable, Iterator

import pytest

SAUT = "Les tests de convergence exigent root (Mac simulé : espaces de noms, sshd) : "


def _construction():
    if os.geteuid() != 0:
        pytest.skip(SAUT + "relancer en root (sudo make test).")
    try:
        construction = importlib.import_module("tests.mac_simule.construction")
    except ImportError as exc:
        pytest.skip(SAUT + f"le Mac simulé est introuvable ({exc}).")
    raisons = construction.prerequis_manquants()
    if raisons:
        pytest.skip(SAUT + " ; ".join(raisons))
    return construction


def _enregistrer_formats(construction) -> None:
    """Register outils/macos_formats.py in sys.modules before fabrication.py loads it.

    fabrication.py executes macos_formats.py from its path without registering
    it in sys.modules; once ansible is imported in the same process (the vmx
    parser, the filter tests), ansible's dataclasses patch looks the module up
    there and fails. Registering it first under the same name avoids that.
    """
    nom = "telesante_macos_formats"
    if nom in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(nom, construction.OUTILS / "macos_formats.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[nom] = module
    spec.loader.exec_module(module)


@pytest.fixture
def fabrication():
    """tests/mac_simule/fabrication.py: fake Fusion installers and Windows ISOs."""
    construction = _construction()
    try:
        module = importlib.import_module("tests.mac_simule.fabrication")
    except ImportError as exc:
        pytest.skip(SAUT + f"tests/mac_simule/fabrication.py est introuvable ({exc}).")
    _enregistrer_formats(construction)
    return module


@pytest.fixture
def fabrique_mac_simule() -> Iterator[Callable[..., object]]:
    """fabrique_mac_simule(architecture=..., numero_serie=..., ...) -> a running simulated Mac."""
    construction = _construction()
    construits = []

    def fabrique(**options):
        mac = construction.construire_mac(**options)
        construits.append(mac)
        return mac

    try:
        yield fabrique
    finally:
        erreurs = []
        for mac in construits:
            try:
                mac.close()
            except Exception as exc:  # noqa: BLE001 - tear every Mac down
                erreurs.append(str(exc))
        if erreurs:
            pytest.fail("Démontage des Mac simulés : " + " ; ".join(erreurs))
