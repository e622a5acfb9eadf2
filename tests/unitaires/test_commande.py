"""The `telesante` command on possible inputs: each ends in a documented code and a French
message, never a trace (service account without HOME, leftovers in the reports folder,
Ctrl-C and SIGTERM at any moment)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

TELESANTE = Path(sys.executable).with_name("telesante")
ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}
CAPTURE_COMPLETE_SW_SUD_02 = (
    "\n Status and Counters - Port Address Table\n\n  MAC Address       Port                            VLAN\n"
    "  ----------------- ------------------------------- ----\n  fc59c0-000001     Trk1                            210\n"
)


def _audit(hosts: Path, sortie: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TELESANTE, "audit", "-i", hosts, "-f", "json,csv", "-o", sortie, "--date", "2026-11-21", *extra],
        capture_output=True, text=True, timeout=120, env=env or ENV,
    )


def _sans_trace(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr


def test_bornes_des_options_numeriques_acceptees(exemple, tmp_path):
    result = _audit(exemple, tmp_path / "r", "--parallele", "256", "--tentatives", "10",
                    "--delai-connexion", "3600", "--delai-commande", "0.5")
    assert result.returncode == 2, result.stderr


@pytest.mark.parametrize("home", ["absent", "fichier/absent", "vide"])
def test_home_inexistant_ou_inutilisable(exemple, tmp_path, home):
    """A service account's HOME may not exist (/nonexistent) or not be writable: even root
    cannot create a folder under a regular file. Nothing is ever created in HOME."""
    (tmp_path / "fichier").write_text("un fichier, pas un dossier")
    (tmp_path / "vide").mkdir()
    result = _audit(exemple, tmp_path / "r", env={**ENV, "HOME": str(tmp_path / home)})
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    assert json.loads((tmp_path / "r/rapport.json").read_text())["verdict"]["code_sortie"] == 2
    assert not (tmp_path / "absent").exists()
    assert list((tmp_path / "vide").iterdir()) == []


def test_home_inutilisable_en_collecte_directe(exemple, tmp_path):
    """netmiko, paramiko and Ansible run without HOME too (equipment on a closed loopback port)."""
    hosts = exemple.read_text()
    for adresse in {ligne.split()[-1] for ligne in hosts.splitlines() if "ansible_host:" in ligne}:
        hosts = hosts.replace(f"ansible_host: {adresse}", "ansible_host: 127.0.0.1\n          ansible_port: 9")
    exemple.write_text(hosts)
    (exemple.parent / "hotes_connus").write_text("")
    (tmp_path / "fichier").write_text("un fichier, pas un dossier")
    result = _audit(exemple, tmp_path / "r", "--source", "direct", "--tentatives", "1", "--delai-connexion", "2",
                    env={**ENV, "HOME": str(tmp_path / "fichier/absent")})
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    document = json.loads((tmp_path / "r/rapport.json").read_text())
    assert {e["statut"] for e in document["equipements"]} == {"incomplet"}
    assert all("127.0.0.1:9" in e["problemes"][0] for e in document["equipements"])


def test_dossier_nomme_comme_le_fichier_temporaire_d_un_rapport(exemple, tmp_path):
    """A leftover folder « rapport.json.tmp » (or anything at any fixed temporary name)
    cannot stop the reports: each write has a temporary file of its own."""
    sortie = tmp_path / "r"
    (sortie / "rapport.json.tmp").mkdir(parents=True)
    (sortie / "rapport.csv.tmp").mkdir()
    result = _audit(exemple, sortie)
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    assert json.loads((sortie / "rapport.json").read_text())["verdict"]["statut"] == "incomplet"
    assert (sortie / "rapport.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert sorted(p.name for p in sortie.iterdir()) == ["rapport.csv", "rapport.csv.tmp", "rapport.json",
                                                         "rapport.json.tmp"]


def test_rapport_dont_le_nom_est_pris_par_un_dossier(exemple, tmp_path):
    sortie = tmp_path / "r"
    (sortie / "rapport.json").mkdir(parents=True)
    result = _audit(exemple, sortie)
    assert result.returncode == 2
    _sans_trace(result)
    assert "Rapport json non écrit" in result.stderr and "un dossier porte déjà ce nom" in result.stderr
    assert sorted(p.name for p in sortie.iterdir()) == ["rapport.csv", "rapport.json"]  # no temporary left


def test_rapport_ecrit_avec_les_droits_du_umask(exemple, tmp_path):
    result = subprocess.run(["sh", "-c", 'umask 027 && exec "$@"', "sh", TELESANTE, "audit", "-i", exemple,
                             "-f", "json", "-o", tmp_path / "r"], capture_output=True, text=True, env=ENV)
    assert result.returncode == 2, result.stderr
    assert (tmp_path / "r/rapport.json").stat().st_mode & 0o777 == 0o640


# Signals sent by the process to itself at a chosen point: deterministic, unlike a timer.
LANCEUR = """
import os, signal, sys, time
import {module} as cible
original = cible.{fonction}
def avec_signal(*args, **kwargs):
    if {condition}:
        os.kill(os.getpid(), signal.{signal})
        time.sleep(0.5)  # the main thread runs the handler meanwhile
    return original(*args, **kwargs)
cible.{fonction} = avec_signal
from telesante.cli import main
sys.argv = ["telesante", *sys.argv[1:]]
sys.exit(main())
"""


def _signaux_par_defaut() -> None:
    """In the child: SIGINT and SIGTERM back to their default action. A test suite started in the
    background by a non-interactive shell (`make test &`, nohup) ignores SIGINT, and telesante
    rightly leaves an ignored signal ignored: the stop under test would never come."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _lancer(module: str, fonction: str, sig: str, *argv, condition: str = "True") -> subprocess.CompletedProcess:
    code = LANCEUR.format(module=module, fonction=fonction, signal=sig, condition=condition)
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True,
                          timeout=120, env=ENV, preexec_fn=_signaux_par_defaut)


def _passages(base: Path) -> list[tuple]:
    with sqlite3.connect(f"file:{base}?mode=ro", uri=True) as db:
        return db.execute("SELECT id, code_sortie, interrompu FROM passages ORDER BY id").fetchall()


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_arret_pendant_la_collecte_des_captures_rapport_partiel(exemple, tmp_path, sig):
    """As in direct mode: the collection stops, the equipment not read yet are named in a
    partial report (code 2), the history gets the run marked interrupted, no trace."""
    base = tmp_path / "historique.sqlite"
    assert _audit(exemple, tmp_path / "avant", "--historique", base).returncode == 2
    result = _lancer("telesante.collecte.captures", "collecter_captures", sig,
                     "audit", "-i", exemple, "-f", "json", "-o", tmp_path / "r", "--historique", base,
                     condition="args[0].nom == 'sonde-nord'")
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    assert f"Arrêt demandé ({sig}) : collecte interrompue, rapport partiel." in result.stderr
    document = json.loads((tmp_path / "r/rapport.json").read_text())
    assert document["verdict"]["interrompu"] is True
    unread = {e["nom"] for e in document["equipements"] if e["problemes"] == ["non lu : audit interrompu"]}
    assert {"sw-sud-01", "sw-sud-02", "dhcp-sud"} <= unread and "sw-nord-01" not in unread
    assert _passages(base) == [(1, 2, 0), (2, 2, 1)]


def test_arret_pendant_l_ecriture_des_rapports_rapports_entiers_verdict_inchange(exemple, tmp_path):
    """After the collection a signal changes nothing: every report is written whole, the
    history gets the run, and the verdict (here 1, non-conformités) stands."""
    (exemple.parent / "captures/sw-sud-02/show_mac-address.txt").write_text(CAPTURE_COMPLETE_SW_SUD_02)
    base = tmp_path / "historique.sqlite"
    result = _lancer("telesante.rapports.formats", "en_json", "SIGTERM",
                     "audit", "-i", exemple, "-f", "json,csv", "-o", tmp_path / "r", "--historique", base,
                     "--date", "2026-11-21")  # the night of the demo's captures (dated sources)
    assert result.returncode == 1, result.stderr
    _sans_trace(result)
    assert json.loads((tmp_path / "r/rapport.json").read_text())["verdict"]["code_sortie"] == 1
    assert (tmp_path / "r/rapport.csv").exists()
    assert _passages(base) == [(1, 1, 0)]


def test_arret_pendant_l_ecriture_de_l_historique_passage_entier(exemple, tmp_path):
    base = tmp_path / "historique.sqlite"
    assert _audit(exemple, tmp_path / "avant", "--historique", base).returncode == 2
    envoye = tmp_path / "signal-envoye"  # proves the signal came while the history was being written
    result = _lancer("telesante.historique", "enregistrer_nuit", "SIGINT",
                     "audit", "-i", exemple, "-f", "json", "-o", tmp_path / "r", "--historique", base,
                     condition=f"open({str(envoye)!r}, 'w').close() is None")
    assert envoye.exists(), "l'écriture de l'historique n'a pas été interceptée : le signal n'est jamais parti"
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    assert _passages(base) == [(1, 2, 0), (2, 2, 0)]


def test_arret_de_la_commande_historique(exemple, tmp_path):
    base = tmp_path / "historique.sqlite"
    assert _audit(exemple, tmp_path / "r", "--historique", base).returncode == 2
    result = _lancer("telesante.historique", "derniers_passages", "SIGINT", "historique", base)
    assert result.returncode == 2, result.stderr
    _sans_trace(result)
    assert "Arrêt demandé (SIGINT) : commande interrompue." in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_arret_a_n_importe_quel_moment(exemple, tmp_path, sig):
    """Real signals at moments spread over a run (past Python's own start, which no program
    can cover): always code 2 and a French message, never a trace, never half a report,
    never a damaged history."""
    base = tmp_path / "historique.sqlite"
    for essai, delai in enumerate((0.4, 0.9, 1.4, 2.0, 2.8)):
        sortie = tmp_path / f"r{essai}"
        process = subprocess.Popen([TELESANTE, "audit", "-i", exemple, "-f", "json", "-o", sortie,
                                    "--historique", base], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, env=ENV, preexec_fn=_signaux_par_defaut)
        time.sleep(delai)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 2, f"{delai} s : {stderr}"
        assert "Traceback" not in stderr, stderr
        if (sortie / "rapport.json").exists():
            json.loads((sortie / "rapport.json").read_text())
            assert [p.name for p in sortie.iterdir()] == ["rapport.json"]
        else:
            assert "Arrêt demandé" in stderr, stderr
    passages = _passages(base) if base.exists() else []
    assert [p[0] for p in passages] == list(range(1, len(passages) + 1))
