"""The SSH ControlMaster folders (/tmp/telesante-ssh-*): a test removes its own, never another run's.

Two runs of the tests on the same machine (two work trees, CI and a developer) each keep
master connections in their folders; removing the other run's folder while its
ansible-playbook runs makes it fail (``unix_listener: cannot bind to path
/tmp/telesante-ssh-…: No such file or directory``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .aide import RACINE, dossier_controle_ssh, dossiers_controle_ssh_retires

# Another run of the tests: another process that creates its folder the same way.
_AUTRE_EXECUTION = ("import sys\nfrom pathlib import Path\n"
                    "from tests.provisionnement.aide import dossier_controle_ssh\n"
                    "print(dossier_controle_ssh(Path(sys.argv[1])))\n")


def _dossier_d_une_autre_execution(inventaire: Path) -> Path:
    # As pytest imports them (pyproject.toml, pythonpath): the tests, and the collection in the repository.
    chemins = os.pathsep.join([str(RACINE), str(RACINE / ".collections")])
    autre = subprocess.run([sys.executable, "-c", _AUTRE_EXECUTION, str(inventaire)], cwd=RACINE,
                           capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": chemins})
    assert autre.returncode == 0, autre.stderr
    dossier = Path(autre.stdout.strip())
    assert dossier.name.startswith("telesante-ssh-") and dossier.is_dir()
    return dossier


def test_le_dossier_d_une_autre_execution_survit_au_nettoyage(tmp_path: Path) -> None:
    l_autre = None
    try:
        with dossiers_controle_ssh_retires():
            le_notre = dossier_controle_ssh(tmp_path / "notre" / "hosts.yml")
            (le_notre / "maitre").write_bytes(b"")
            # created while our test runs, by another run: the old cleanup removed it too
            l_autre = _dossier_d_une_autre_execution(tmp_path / "autre" / "hosts.yml")
            (l_autre / "maitre").write_bytes(b"")
            assert le_notre.is_dir() and l_autre != le_notre
        assert not le_notre.exists()
        assert (l_autre / "maitre").exists()
    finally:
        if l_autre is not None:
            shutil.rmtree(l_autre, ignore_errors=True)


def test_un_dossier_deja_la_n_est_pas_le_notre(tmp_path: Path) -> None:
    """A folder another run made for the same inventory is used, and left in place."""
    inventaire = tmp_path / "hosts.yml"
    deja_la = _dossier_d_une_autre_execution(inventaire)
    try:
        with dossiers_controle_ssh_retires():
            assert dossier_controle_ssh(inventaire) == deja_la
        assert deja_la.is_dir()
    finally:
        shutil.rmtree(deja_la, ignore_errors=True)
