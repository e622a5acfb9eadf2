"""Pytest fixtures of the network lab.

* ``lab`` (session scope): the reference ward (:data:`DEFAULT_TOPOLOGY`),
  built once, torn down at the end of the session. Tests must leave it as
  they found it (``retablir`` after ``ralentir``, ``demarrer_sshd`` after
  ``arreter_sshd``...).
* ``lab_factory`` (function scope): ``lab_factory(topology=None) -> Lab``
  builds private labs for destructive fault tests; all of them are torn down
  when the test ends.
* ``lab_prerequisites``: only the skip, for tests that manage namespaces
  themselves.

Both skip (with the reason) when the machine cannot host the lab: not root,
``ip netns``, sshd, dnsmasq, busybox... missing.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from .topologie import DEFAULT_TOPOLOGY, Lab, Topology, build_lab, missing_prerequisites, nettoyer_restes

SKIP_PREFIX = "Le laboratoire réseau exige root (espaces de noms réseau) : "


def _require_lab_host() -> None:
    reasons = missing_prerequisites()
    if reasons:
        pytest.skip(SKIP_PREFIX + " ; ".join(reasons))


@pytest.fixture
def lab_prerequisites() -> None:
    """Skip the test unless this machine can host a lab (for tests building none)."""
    _require_lab_host()


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The reference lab, shared by the whole session."""
    _require_lab_host()
    nettoyer_restes()
    built = build_lab(DEFAULT_TOPOLOGY)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def lab_factory() -> Iterator[Callable[..., Lab]]:
    """Build private labs (``lab_factory(topology)``), torn down after the test."""
    _require_lab_host()
    built: list[Lab] = []

    def factory(topology: Topology | None = None) -> Lab:
        new_lab = build_lab(topology)
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
