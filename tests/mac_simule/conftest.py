"""Fixtures of the simulated Mac for the tests of this folder.

They are defined in ``fixtures.py`` so that the rest of the project can load
them as a plugin (``pytest_plugins = ["tests.mac_simule.fixtures"]`` in the
root ``tests/conftest.py``); a non-root conftest may not declare
``pytest_plugins``, hence this re-export.
"""

from .fixtures import (  # noqa: F401 - fixtures are found by name
    fabrique_mac_simule,
    fabrique_mac_simule_module,
    mac_simule_prerequis,
)
