"""Fixtures of the provisioning tests.

``fabrique_mac_simule`` comes from tests/mac_simule/fixtures.py (declared for every test
folder by tests/conftest.py): simulated Macs, torn down after each test, skipped with the
reason when the machine cannot host them (not root...).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import pytest


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
def fabrication(mac_simule_prerequis):
    """tests/mac_simule/fabrication.py: test installers of Fusion and a Windows ISO."""
    from tests.mac_simule import construction, fabrication as module

    _enregistrer_formats(construction)
    return module


@pytest.fixture(autouse=True)
def _sockets_ssh_retires():
    """Remove the SSH ControlMaster folders this test created (aide.dossier_controle_ssh), and only those.

    Autouse fixtures are torn down last: the simulated Macs are gone by then, and the
    master connections with them. Another run of the tests on the same machine keeps its own.
    """
    from .aide import dossiers_controle_ssh_retires

    with dossiers_controle_ssh_retires():
        yield
