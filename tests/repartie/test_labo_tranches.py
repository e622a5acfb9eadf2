"""Distributed collection over real SSH against the network lab (root): four slices as AWX cuts them.

The lab's inventory has four hosts (commutateur, dhcp-labo, mac-poste, passerelle): AWX's cut in
four (hosts ordered by name, hosts[k-1::4]) gives one host per slice, and slice 3 (mac-poste, a
Mac, no equipment) collects nothing, as AWX would give it. Each slice is `telesante collecter
--source direct` (sshd, host keys, paramiko); the final node's verdict and findings are those of
one collection of the whole inventory taken just before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.labo.inventaire_labo import ecrire_inventaire
from tests.labo.topologie import PASSERELLE, COMMUTATEUR

TELESANTE = str(Path(sys.executable).with_name("telesante"))
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "200"}

pytestmark = pytest.mark.racine


def telesante(*argv: str) -> subprocess.CompletedProcess:
    fini = subprocess.run([TELESANTE, *argv], capture_output=True, text=True, timeout=120, env=ENV)
    assert "Traceback" not in fini.stderr, fini.stderr
    return fini


def constats(rapport: Path) -> tuple[int, dict]:
    document = json.loads(rapport.read_text())
    return document["verdict"]["code_sortie"], {
        (c["mac"], c["reseau"]): (c["gravite"], c["type"], c["statut"], json.dumps(c["emplacements"]))
        for c in document["constats"]}


def test_quatre_tranches_par_ssh_puis_noeud_final(laboratoire, tmp_path):
    laboratoire.rafraichir_trafic()
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    tous = sorted([COMMUTATEUR, PASSERELLE, "dhcp-labo", "mac-poste"])
    assert telesante("collecter", "-i", str(hosts), "--dossier", str(tmp_path / "entier"), "--passage", "p1",
                     "--tentatives", "3", "--delai-connexion", "30").returncode == 0
    for k in range(4):
        fini = telesante("collecter", "-i", str(hosts), "--dossier", str(tmp_path / "partage"), "--passage", "p1",
                         "--limite", ",".join(tous[k::4]), "--tranches", "4", "--tentatives", "3",
                         "--delai-connexion", "30")
        assert fini.returncode == 0, fini.stderr
    manifestes = tmp_path / "partage" / "manifestes"
    assert json.loads((manifestes / "tranche-3-sur-4.json").read_text())["equipements"] == {}  # mac-poste only
    assert (tmp_path / "partage" / "captures" / COMMUTATEUR / "bridge_-j_fdb_show.txt").is_file()
    for nom in ("entier", "partage"):
        telesante("audit", "-i", str(hosts), "--collecte-repartie", str(tmp_path / nom), "--passage", "p1",
                  "-f", "json", "-o", str(tmp_path / f"r-{nom}"))
    code_entier, entier = constats(tmp_path / "r-entier" / "rapport.json")
    code_reparti, reparti = constats(tmp_path / "r-partage" / "rapport.json")
    assert code_entier == code_reparti == 1
    assert reparti == entier and any(t == "categorie_interdite" for _g, t, _s, _e in reparti.values())
    # The gateway's slice lost: its two equipment are named, the audit is incomplete.
    (manifestes / "tranche-4-sur-4.json").unlink()
    fini = telesante("audit", "-i", str(hosts), "--collecte-repartie", str(tmp_path / "partage"), "--passage", "p1",
                     "-f", "json", "-o", str(tmp_path / "r-perte"))
    assert fini.returncode == 2
    assert f"tranche 4 sur 4 MANQUANTE (aucun manifeste de ce passage) : {PASSERELLE} non collecté" in " ".join(
        fini.stderr.split())


def test_tranche_dont_l_equipement_ne_repond_pas(laboratoire, tmp_path):
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    laboratoire.arreter_sshd(COMMUTATEUR)
    try:
        fini = telesante("collecter", "-i", str(hosts), "--dossier", str(tmp_path / "p"), "--passage", "p1",
                         "--limite", COMMUTATEUR, "--tentatives", "1")
    finally:
        laboratoire.demarrer_sshd(COMMUTATEUR)
    assert fini.returncode == 2 and "connexion refusée" in fini.stderr
    manifeste = json.loads(next((tmp_path / "p" / "manifestes").iterdir()).read_text())
    assert manifeste["etat"] == "termine" and manifeste["equipements"][COMMUTATEUR]["statut"] == "incomplet"
    fini = telesante("audit", "-i", str(hosts), "--collecte-repartie", str(tmp_path / "p"), "--passage", "p1",
                     "-f", "json", "-o", str(tmp_path / "r"))
    assert fini.returncode == 2
    equipements = {e["nom"]: e for e in json.loads((tmp_path / "r" / "rapport.json").read_text())["equipements"]}
    assert any("connexion refusée" in p for p in equipements[COMMUTATEUR]["problemes"])
    assert any("aucun manifeste de ce passage ne le nomme" in p for p in equipements[PASSERELLE]["problemes"])
