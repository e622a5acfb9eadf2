"""History of runs in a real SQLite database."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

TELESANTE = Path(sys.executable).with_name("telesante")


def _audit(hosts: Path, tmp_path: Path, base: Path) -> subprocess.CompletedProcess:
    return subprocess.run([TELESANTE, "audit", "-i", hosts, "-f", "json", "-o", tmp_path / "r", "--historique", base,
                           "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)


def test_chaque_passage_ajoute_sans_perdre_les_precedents(exemple, tmp_path):
    base = tmp_path / "historique.sqlite"
    for _ in range(2):
        assert _audit(exemple, tmp_path, base).returncode == 2
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT id, code_sortie, statut FROM passages ORDER BY id").fetchall() == [
            (1, 2, "incomplet"), (2, 2, "incomplet")]
        assert db.execute("SELECT COUNT(*) FROM constats WHERE passage_id = 2 AND statut = 'actif'").fetchone() == (5,)
        assert db.execute("SELECT nom FROM equipements WHERE statut = 'incomplet' AND passage_id = 1").fetchall() == [
            ("sw-sud-02",)]
    listing = subprocess.run([TELESANTE, "historique", base], capture_output=True, text=True, env={"COLUMNS": "200"})
    assert listing.returncode == 0 and "incomplet" in listing.stdout


def test_historique_illisible_erreur_claire(exemple, tmp_path):
    base = tmp_path / "historique.sqlite"
    base.write_bytes(b"ceci n'est pas une base SQLite" * 100)
    result = _audit(exemple, tmp_path, base)
    assert result.returncode == 2
    assert "historique illisible" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "r/rapport.json").exists()  # the report itself was written
