"""A slice stopped by SIGTERM (AWX cancels a job that way): its manifest says so, the final node says incomplete.

The « switch » is a local TCP socket that accepts and never speaks (loopback only): the session waits
for its SSH banner when the signal comes.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

TELESANTE = str(Path(sys.executable).with_name("telesante"))


def test_tranche_arretee_par_sigterm(tmp_path):
    muet = socket.socket()
    muet.bind(("127.0.0.1", 0))
    muet.listen(8)
    port = muet.getsockname()[1]
    inventaire = tmp_path / "inv" / "hosts.yml"
    inventaire.parent.mkdir()
    inventaire.write_text(yaml.safe_dump({"all": {
        "vars": {"telesante_reseaux": [{"nom": "mission", "site": "s", "type": "mission",
                                        "sous_reseaux": ["10.9.0.0/24"]}]},
        "hosts": {f"sw-{i}": {"ansible_host": "127.0.0.1", "ansible_port": port, "telesante_plateforme": "linux",
                              "telesante_site": "s", "ansible_user": "audit"} for i in range(3)}}}))
    (tmp_path / "inv" / "hotes_connus").write_text("")
    processus = subprocess.Popen(
        [TELESANTE, "collecter", "-i", str(inventaire), "--dossier", str(tmp_path / "p"), "--passage", "p1",
         "--parallele", "1", "--tentatives", "1", "--delai-connexion", "60"], stderr=subprocess.PIPE, text=True)
    try:
        manifeste = tmp_path / "p" / "manifestes" / "entier.json"
        limite = time.monotonic() + 60
        while not manifeste.exists() and time.monotonic() < limite:
            time.sleep(0.1)
        time.sleep(0.5)
        processus.send_signal(signal.SIGTERM)
        _sortie, erreurs = processus.communicate(timeout=60)
    finally:
        processus.kill()
        muet.close()
    assert processus.returncode == 2, erreurs
    assert "Traceback" not in erreurs
    document = json.loads(manifeste.read_text())
    assert document["etat"] == "interrompu"
    assert all(e["statut"] == "incomplet" for e in document["equipements"].values())
    assert any("collecte interrompue" in p for e in document["equipements"].values() for p in e["problemes"])
    fini = subprocess.run([TELESANTE, "audit", "-i", str(inventaire), "--collecte-repartie", str(tmp_path / "p"),
                           "--passage", "p1", "-f", "json", "-o", str(tmp_path / "r")], capture_output=True, text=True,
                          timeout=120)
    assert fini.returncode == 2, fini.stderr
    assert "INTERROMPUE" in fini.stderr
