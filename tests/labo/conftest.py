"""Pytest fixtures of the network lab.

* ``laboratoire`` (session scope): the reference ward (:data:`TOPOLOGIE_PAR_DEFAUT`),
  built once, torn down at the end of the session. Tests must leave it as
  they found it (``retablir`` after ``ralentir``, ``demarrer_sshd`` after
  ``arreter_sshd``...).
* ``fabrique_laboratoire`` (function scope): ``fabrique_laboratoire(topology=None) -> Laboratoire``
  builds private labs for destructive fault tests; all of them are torn down
  when the test ends.
* ``laboratoire_prerequis``: only the skip, for tests that manage namespaces
  themselves.

Both skip (with the reason) when the machine cannot host the lab: not root,
``ip netns``, sshd, dnsmasq, busybox... missing.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from .topologie import TOPOLOGIE_PAR_DEFAUT, Laboratoire, Topologie, construire_laboratoire, prerequis_manquants, nettoyer_restes

SKIP_PREFIX = "Le laboratoire réseau exige root (espaces de noms réseau) : "


def _exiger_hote_laboratoire() -> None:
    reasons = prerequis_manquants()
    if reasons:
        pytest.skip(SKIP_PREFIX + " ; ".join(reasons))


@pytest.fixture
def laboratoire_prerequis() -> None:
    """Skip the test unless this machine can host a lab (for tests building none)."""
    _exiger_hote_laboratoire()


@pytest.fixture(scope="session")
def laboratoire() -> Iterator[Laboratoire]:
    """The reference lab, shared by the whole session."""
    _exiger_hote_laboratoire()
    nettoyer_restes()
    built = construire_laboratoire(TOPOLOGIE_PAR_DEFAUT)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def fabrique_laboratoire() -> Iterator[Callable[..., Laboratoire]]:
    """Build private labs (``fabrique_laboratoire(topology)``), torn down after the test."""
    _exiger_hote_laboratoire()
    built: list[Laboratoire] = []

    def factory(topology: Topologie | None = None) -> Laboratoire:
        new_lab = construire_laboratoire(topology)
        built.append(new_lab)
        return new_lab

    try:
        yield factory
    finally:
        errors = []
        for one in reversed(built):
            try:
                one.close()
            except Exception as exc:  # noqa: BLE001 - close the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]
