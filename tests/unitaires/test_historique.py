"""History of runs in a real SQLite database."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


# --- Ten audits at once, read-only reading, files that are not a history ---------------------------

DOCUMENT = {"debut": "2026-11-21T02:00:00+00:00", "fin": "2026-11-21T02:01:00+00:00", "inventaire": "hosts.yml",
            "mode": "captures", "resume": {}, "constats": [], "equipements": [],
            "verdict": {"code_sortie": 0, "statut": "conforme", "interrompu": False}}
PROCESSUS, TOURS = 10, 100


def _enregistrer_en_meme_temps(dossier: str, barriere, erreurs) -> None:
    from telesante.historique import ErreurHistorique, enregistrer

    for tour in range(TOURS):
        barriere.wait()  # the ten processes are released together on a history that does not exist yet
        try:
            enregistrer(Path(dossier) / f"h{tour}.sqlite", DOCUMENT)
        except ErreurHistorique as exc:
            erreurs.put(str(exc))


def test_dix_processus_creent_le_meme_historique_aucun_passage_perdu(tmp_path):
    """Ten real processes, a hundred new histories each created by all ten at the same instant
    (before the fix: « historique illisible (database is locked) » within a few ms, about a
    third of the rounds lost a run)."""
    import multiprocessing

    contexte = multiprocessing.get_context("spawn")
    barriere, erreurs = contexte.Barrier(PROCESSUS), contexte.Queue()
    processus = [contexte.Process(target=_enregistrer_en_meme_temps, args=(str(tmp_path), barriere, erreurs))
                 for _ in range(PROCESSUS)]
    for p in processus:
        p.start()
    for p in processus:
        p.join(timeout=300)
    perdus = []
    while not erreurs.empty():
        perdus.append(erreurs.get())
    assert perdus == []
    assert all(p.exitcode == 0 for p in processus)
    for tour in range(TOURS):
        with sqlite3.connect(tmp_path / f"h{tour}.sqlite") as db:
            assert db.execute("SELECT id FROM passages ORDER BY id").fetchall() == [(i,) for i in range(1, 11)]


def test_historique_verrouille_est_dit_verrouille_apres_le_delai(tmp_path):
    from telesante.historique import ErreurHistorique, enregistrer

    base = tmp_path / "historique.sqlite"
    enregistrer(base, DOCUMENT)
    autre = sqlite3.connect(base, isolation_level=None)
    autre.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        debut = time.monotonic()
        with pytest.raises(ErreurHistorique) as erreur:
            enregistrer(base, DOCUMENT, delai=1.0)
        assert time.monotonic() - debut >= 1.0
    finally:
        autre.execute("ROLLBACK")
        autre.close()
    assert "verrouillé" in str(erreur.value) and "illisible" not in str(erreur.value)
    assert str(base) in str(erreur.value)
    assert enregistrer(base, DOCUMENT) == 2  # the lock gone, the next run goes in


def _contenu(dossier: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(dossier.iterdir())}


def _historique(base: Path, *extra: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*kwargs.pop("avant", []), TELESANTE, "historique", base, *extra], capture_output=True,
                          text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"}, timeout=60, **kwargs)


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_lecture_seule_stricte_aucun_octet_change_aucun_fichier_cree(tmp_path, journal):
    """Even a history in rollback mode (a copy, a restore) is not switched to WAL by a reading."""
    from telesante.historique import enregistrer

    base = tmp_path / "h" / "historique.sqlite"
    enregistrer(base, DOCUMENT)
    enregistrer(base, {**DOCUMENT, "verdict": {**DOCUMENT["verdict"], "interrompu": True}})
    if journal == "delete":
        with sqlite3.connect(base) as db:
            db.execute("PRAGMA journal_mode=DELETE")
    avant = _contenu(base.parent)
    result = _historique(base, "-n", "5")
    assert result.returncode == 0, result.stderr
    assert "conforme (interrompu)" in result.stdout
    assert _contenu(base.parent) == avant


def _sans_droits_d_ecriture() -> list[str]:
    """Prefix that runs a command without root's power to ignore file modes (or nothing when
    not root); skips the test when it cannot be had."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("root passe outre les droits et setpriv (util-linux) est absent : lecture seule non vérifiable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def test_lit_un_historique_dans_un_dossier_en_lecture_seule(tmp_path):
    from telesante.historique import enregistrer

    dossier = tmp_path / "archives"
    enregistrer(dossier / "historique.sqlite", DOCUMENT)
    (dossier / "historique.sqlite").chmod(0o444)
    dossier.chmod(0o555)
    try:
        avant = _contenu(dossier)
        result = _historique(dossier / "historique.sqlite", avant=_sans_droits_d_ecriture())
        assert _contenu(dossier) == avant
    finally:
        dossier.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert "conforme" in result.stdout


def _autre_schema(base: Path) -> None:
    with sqlite3.connect(base) as db:
        db.execute("CREATE TABLE clients (nom TEXT)")


def _schema_incomplet(base: Path) -> None:
    with sqlite3.connect(base) as db:
        db.execute("CREATE TABLE passages (id INTEGER PRIMARY KEY, debut TEXT)")


@pytest.mark.parametrize("preparer, extrait", [
    (_autre_schema, "base SQLite qui n'est pas un historique telesante (table « passages » absente)"),
    (_schema_incomplet, "base SQLite qui n'est pas un historique telesante (table « passages » incomplète)"),
    (lambda base: base.write_text("ceci n'est pas une base SQLite\n"), "ce n'est pas une base SQLite"),
    (lambda base: base.write_bytes(b""), "fichier vide, ce n'est pas un historique telesante"),
], ids=["autre-schema", "schema-incomplet", "texte", "vide"])
def test_base_qui_n_est_pas_un_historique_refusee_intacte(tmp_path, preparer, extrait):
    base = tmp_path / "donnees.sqlite"
    preparer(base)
    avant = _contenu(tmp_path)
    result = _historique(base)
    assert result.returncode == 3, result.stdout
    assert str(base) in result.stderr and extrait in result.stderr and "Traceback" not in result.stderr
    assert _contenu(tmp_path) == avant


def test_audit_ne_modifie_pas_une_base_qui_n_est_pas_un_historique(exemple, tmp_path):
    base = tmp_path / "donnees.sqlite"
    _autre_schema(base)
    avant = base.read_bytes()
    result = _audit(exemple, tmp_path, base)
    assert result.returncode == 2
    assert "n'est pas un historique telesante" in result.stderr and str(base) in result.stderr
    assert base.read_bytes() == avant and sorted(p.name for p in tmp_path.iterdir()) == ["donnees.sqlite", "exemple",
                                                                                        "r"]
    assert (tmp_path / "r/rapport.json").exists()


def test_historique_absent_message_clair_rien_cree(tmp_path):
    result = _historique(tmp_path / "nulle-part" / "historique.sqlite")
    assert result.returncode == 3
    assert "historique introuvable" in result.stderr and "nulle-part/historique.sqlite" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_contenu_hostile_de_l_historique_affiche_inerte(tmp_path):
    """A history is a file anyone with write access can craft: its text is never read as
    rich markup (« [/] » crashed the listing) nor sent raw to the terminal."""
    from telesante.historique import enregistrer

    base = tmp_path / "historique.sqlite"
    enregistrer(base, {**DOCUMENT, "mode": "[/]\x1b]0;titre\x07", "verdict": {**DOCUMENT["verdict"],
                                                                             "statut": "[bold red]\x1b[2J"}})
    result = _historique(base)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\\x1b]0;titre\\x07" in result.stdout.replace("\n", "")
