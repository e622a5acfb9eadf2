"""Pytest fixtures of the simulated Mac, usable from any test of the project.

* ``fabrique_mac_simule`` (function scope): ``fabrique_mac_simule(architecture=
  "arm64", version_macos="14.6.1", numero_serie="C02ZK1ABMD6R",
  espace_libre_gio=500, memoire_gio=16, jeton_branche=True,
  outils_cli_installes=True, nom=None) -> MacSimule``; every Mac it built is
  torn down when the test ends.
* ``fabrique_mac_simule_module`` (module scope): the same factory, its Macs
  torn down at the end of the test module (for tests that do not mutate them).
* ``mac_simule_prerequis``: only the skip, for tests that build nothing.

All skip, with the reason in French, when the machine cannot host simulated
Macs (not root, sshd, nsenter... missing). To use them outside
``tests/mac_simule``, the root ``tests/conftest.py`` declares
``pytest_plugins = ["tests.mac_simule.fixtures"]`` (or a test module imports
the fixture functions it needs from this module).
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from .construction import MacSimule, construire_mac, nettoyer_restes, prerequis_manquants

RAISON_SAUT = "Le Mac simulé exige root (espaces de noms réseau et de montage) : "
_restes_nettoyes = False


def exiger_hote_mac_simule() -> None:
    """Skip the current test unless simulated Macs can be built here."""
    global _restes_nettoyes
    raisons = prerequis_manquants()
    if raisons:
        pytest.skip(RAISON_SAUT + " ; ".join(raisons))
    if not _restes_nettoyes:
        nettoyer_restes()
        _restes_nettoyes = True


def _fabrique() -> Iterator[Callable[..., MacSimule]]:
    exiger_hote_mac_simule()
    construits: list[MacSimule] = []

    def fabrique(**options: object) -> MacSimule:
        mac = construire_mac(**options)  # type: ignore[arg-type]
        construits.append(mac)
        return mac

    try:
        yield fabrique
    finally:
        erreurs = []
        for mac in reversed(construits):
            try:
                mac.close()
            except Exception as exc:  # noqa: BLE001 - close the others anyway
                erreurs.append(exc)
        if erreurs:
            raise erreurs[0]


@pytest.fixture
def fabrique_mac_simule() -> Iterator[Callable[..., MacSimule]]:
    """Build simulated Macs for one test; all torn down when it ends."""
    yield from _fabrique()


@pytest.fixture(scope="module")
def fabrique_mac_simule_module() -> Iterator[Callable[..., MacSimule]]:
    """Build simulated Macs shared by a test module; torn down at its end."""
    yield from _fabrique()


@pytest.fixture
def mac_simule_prerequis() -> None:
    """Skip the test unless simulated Macs can be built here."""
    exiger_hote_mac_simule()
