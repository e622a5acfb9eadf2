"""Rotation of the history (telesante.retention): last N nights kept, then VACUUM."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from telesante.historique import derniers_passages, enregistrer
from telesante.retention import ErreurRetention, appliquer_retention, passages_hors_retention

TELESANTE = Path(sys.executable).with_name("telesante")


# -- the pure function ------------------------------------------------------


def test_garde_les_n_dernieres_nuits_avec_passage():
    passages = [(1, "2026-11-01T07:00:00+00:00"), (2, "2026-11-02T07:00:00+00:00"),
                (3, "2026-11-02T09:30:00+00:00"),  # a second run the same night
                (4, "2026-11-20T07:00:00+00:00")]  # 18 nights without a run: they do not count
    assert passages_hors_retention(passages, 2) == [1]
    assert passages_hors_retention(passages, 1) == [1, 2, 3]
    assert passages_hors_retention(passages, 3) == []
    assert passages_hors_retention([], 1) == []


def test_passage_sans_date_lisible_jamais_supprime():
    passages = [(1, "pas une date"), (2, ""), (3, "2026-11-01T07:00:00+00:00"),
                (4, "2026-11-02T07:00:00+00:00")]
    assert passages_hors_retention(passages, 1) == [3]


def test_la_nuit_est_la_date_dans_le_fuseau_enregistre():
    # 23:30 in Montréal is the next day in UTC: the recorded offset decides.
    passages = [(1, "2026-11-01T23:30:00-05:00"), (2, "2026-11-02T04:45:00+00:00")]
    assert passages_hors_retention(passages, 1) == [1]


@pytest.mark.parametrize("valeur", [0, -3, True, 1.5, "3", None])
def test_nombre_de_nuits_invalide_refuse(valeur):
    with pytest.raises(ValueError, match="nuits à conserver invalide"):
        passages_hors_retention([(1, "2026-11-01T07:00:00+00:00")], valeur)


@given(jours=st.lists(st.integers(min_value=0, max_value=60), max_size=40),
       conserver=st.integers(min_value=1, max_value=70))
def test_propriete_nuits_recentes_gardees(jours, conserver):
    origine = date(2026, 1, 1)
    passages = [(i, f"{origine + timedelta(days=j)}T07:00:00+00:00") for i, j in enumerate(jours)]
    supprimes = set(passages_hors_retention(passages, conserver))
    gardes = [j for i, j in enumerate(jours) if i not in supprimes]
    partis = [j for i, j in enumerate(jours) if i in supprimes]
    assert len(set(gardes)) == min(conserver, len(set(jours)))
    assert not partis or max(partis) < min(gardes)


# -- a real history base ------------------------------------------------------


@pytest.fixture(scope="module")
def document(tmp_path_factory) -> dict:
    """The JSON report of a real audit of the demo inventory (what the history stores)."""
    dossier = tmp_path_factory.mktemp("retention")
    hosts = Path(__file__).resolve().parents[2] / "inventaires" / "exemple" / "hosts.yml"
    resultat = subprocess.run([TELESANTE, "audit", "-i", hosts, "-f", "json", "-o", dossier,
                               "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert resultat.returncode == 2, resultat.stderr
    return json.loads((dossier / "rapport.json").read_text(encoding="utf-8"))


def _remplir(base: Path, document: dict, debuts: list[str]) -> None:
    for debut in debuts:
        enregistrer(base, {**document, "debut": debut, "fin": debut})


def test_rotation_supprime_passages_et_lignes_dependantes(document, tmp_path):
    base = tmp_path / "historique.sqlite"
    debuts = [f"2026-11-{j:02d}T07:00:00+00:00" for j in range(1, 11)] + ["2026-11-10T08:00:00+00:00"]
    _remplir(base, document, debuts)
    with sqlite3.connect(base) as db:
        # the tables added later (queued alerts...) that reference the runs are purged too
        db.executemany("INSERT INTO alertes (passage_id, canal, contenu, etat) VALUES (?, 'courriel', '{}', "
                       "'en_attente')", [(i,) for i in range(1, 12)])
        constats_par_passage = db.execute("SELECT COUNT(*) FROM constats WHERE passage_id = 1").fetchone()[0]
    assert constats_par_passage > 0

    bilan = appliquer_retention(base, 3)

    assert (bilan.passages_supprimes, bilan.passages_conserves, bilan.nuits_conservees) == (7, 4, 3)
    assert bilan.premiere_nuit_conservee == date(2026, 11, 8)
    with sqlite3.connect(base) as db:
        assert [i for (i,) in db.execute("SELECT id FROM passages ORDER BY id")] == [8, 9, 10, 11]
        for table in ("constats", "equipements", "alertes"):
            restants = {i for (i,) in db.execute(f"SELECT DISTINCT passage_id FROM {table}")}
            assert restants == {8, 9, 10, 11}, table
        assert db.execute("SELECT COUNT(*) FROM constats").fetchone()[0] == 4 * constats_par_passage
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    # the history stays usable by the product, and a new run still gets recorded
    assert [p["id"] for p in derniers_passages(base, 10)] == [11, 10, 9, 8]
    assert enregistrer(base, {**document, "debut": "2026-11-10T09:00:00+00:00"}) == 12
    # a second rotation with nothing to delete changes nothing
    assert appliquer_retention(base, 3).passages_supprimes == 0
    # a new night pushes the oldest kept night out
    enregistrer(base, {**document, "debut": "2026-11-11T07:00:00+00:00"})
    assert appliquer_retention(base, 3).passages_supprimes == 1


def test_vacuum_rend_la_place(document, tmp_path):
    base = tmp_path / "historique.sqlite"
    gros = {**document, "constats": document["constats"] * 200}
    _remplir(base, gros, [f"2026-10-{j:02d}T07:00:00+00:00" for j in range(1, 31)])
    bilan = appliquer_retention(base, 2)
    assert bilan.passages_supprimes == 28
    assert bilan.taille_apres < bilan.taille_avant / 5
    assert base.stat().st_size == bilan.taille_apres  # WAL journal truncated


def test_fichier_absent(tmp_path):
    with pytest.raises(ErreurRetention, match="historique introuvable"):
        appliquer_retention(tmp_path / "absent.sqlite", 3)
    assert not (tmp_path / "absent.sqlite").exists()  # never created


def test_fichier_qui_n_est_pas_une_base(tmp_path):
    base = tmp_path / "historique.sqlite"
    base.write_bytes(b"\x1b[31mpas une base\x00" * 300)
    with pytest.raises(ErreurRetention, match="historique.sqlite"):
        appliquer_retention(base, 3)


def test_base_sqlite_etrangere_refusee(tmp_path):
    base = tmp_path / "autre.sqlite"
    with sqlite3.connect(base) as db:
        db.execute("CREATE TABLE clients (id INTEGER)")
    with pytest.raises(ErreurRetention, match="pas un historique telesante"):
        appliquer_retention(base, 3)
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("clients",)]


def test_echec_au_milieu_ne_supprime_rien(document, tmp_path):
    base = tmp_path / "historique.sqlite"
    _remplir(base, document, [f"2026-11-{j:02d}T07:00:00+00:00" for j in range(1, 6)])
    with sqlite3.connect(base) as db:
        # a dependent table that refuses deletions: the whole rotation must roll back
        db.execute("CREATE TABLE verrou (passage_id INTEGER REFERENCES passages(id))")
        db.execute("INSERT INTO verrou VALUES (1)")
        db.execute("CREATE TRIGGER refus BEFORE DELETE ON verrou BEGIN SELECT RAISE(ABORT, 'refus'); END")
    with pytest.raises(ErreurRetention, match="aucun passage supprimé"):
        appliquer_retention(base, 1)
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT COUNT(*) FROM passages").fetchone() == (5,)
        assert db.execute("SELECT COUNT(DISTINCT passage_id) FROM constats").fetchone() == (5,)



def test_commande_conserver_nuits(document, tmp_path):
    """`telesante historique FICHIER --conserver-nuits N` through the real command: the older
    nights go, the answer says what was kept; a file that is no history: code 3."""
    base = tmp_path / "historique.sqlite"
    _remplir(base, document, ["2026-11-01T07:00:00+00:00", "2026-11-02T07:00:00+00:00", "2026-11-03T07:00:00+00:00"])
    resultat = subprocess.run([TELESANTE, "historique", base, "--conserver-nuits", "2"],
                              capture_output=True, text=True, timeout=60)
    assert resultat.returncode == 0, resultat.stderr
    assert "1 passage(s) supprimé(s), 2 conservé(s) sur 2 nuit(s), depuis le 2026-11-02" in resultat.stdout
    assert len(derniers_passages(base, 10)) == 2
    (tmp_path / "texte").write_text("pas une base")
    refus = subprocess.run([TELESANTE, "historique", tmp_path / "texte", "--conserver-nuits", "2"],
                           capture_output=True, text=True, timeout=60)
    assert refus.returncode == 3 and "texte" in refus.stderr
