"""The exit codes are defined once (telesante.codes); the command's help and the Makefile read them there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from telesante.codes import SIGNIFICATION, STATUTS

RACINE = Path(__file__).resolve().parents[2]


def _codes(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "telesante.codes", *arguments], capture_output=True, text=True,
                          timeout=60)


def test_sens_d_un_code_lu_par_la_commande():
    for code, sens in SIGNIFICATION.items():
        result = _codes(str(code))
        assert (result.returncode, result.stdout) == (0, sens + "\n")


def test_tous_les_codes_et_leur_statut():
    lignes = _codes().stdout.splitlines()
    assert [ligne.split("\t")[:2] for ligne in lignes] == [
        ["0", "conforme"], ["1", "non_conforme"], ["2", "incomplet"], ["3", "erreur_configuration"],
        ["4", "erreur_interne"]]
    assert set(STATUTS) == {0, 1, 2, 3}


def test_code_inconnu_refuse():
    for arguments in (["5"], ["deux"], ["-1"], ["1", "2"], ["٣"]):
        result = _codes(*arguments)
        assert result.returncode == 3 and result.stdout == "" and "code de sortie inconnu" in result.stderr


def test_aide_de_l_audit_et_makefile_lisent_les_memes_codes():
    aide = subprocess.run([Path(sys.executable).with_name("telesante"), "audit", "--help"], capture_output=True,
                          text=True, timeout=60, env={"COLUMNS": "400", "PATH": "/usr/bin:/bin"}).stdout
    assert all(f"  {code}  {sens}" in aide for code, sens in SIGNIFICATION.items())
    makefile = (RACINE / "Makefile").read_text(encoding="utf-8")
    assert "-m telesante.codes $$code" in makefile and "non-conformités" not in makefile
