"""Smoke test of benchmarks/historique_nuits.py on a small history (no timing assertion here: the
figures belong to the benchmark): it runs, its own check of the changes holds (120 nights of a
sliding window give exactly the expected new, persisting and gone findings), it reports every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "historique_nuits.py"


def test_banc_historique_petit():
    resultat = subprocess.run([sys.executable, SCRIPT, "--nuits", "120", "--constats", "500"], capture_output=True,
                              text=True, timeout=600)
    assert resultat.returncode in (0, 1), resultat.stderr  # 2 would be wrong results
    sortie = resultat.stdout
    assert "Historique de 120 nuits × 500 constats" in sortie
    assert "résultat : 5 nouveaux, 495 persistants, 5 disparus ; plus ancien persistant vu depuis le 2025-11-22" in sortie
    assert "tendance de 30 nuits" in sortie
    for mesure in ("changements de la nuit 121 : CPU", "taille de la base :", "VACUUM :", "rapport CPU"):
        assert mesure in sortie
