"""Report documents for the browser tests: the real JSON of the demo audit, plus the night's changes
and the trend in the schema agreed for issue 16, with hostile, very long names without spaces."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import EXEMPLE
from tests.navigateur.chromium import CHROMIUM, Navigateur

TELESANTE = Path(sys.executable).with_name("telesante")
# A DHCP host name (no spaces: one lease field) that would run if it were not escaped.
HOSTILE = '<script>document.title="pirate"</script><img/src=x/onerror=alert(1)>'
# Names far wider than a phone, with no place to break: an equipment, a port, a network of the history.
EQUIPEMENT_HOSTILE = "sw-nord-01<svg/onload=alert(1)>" + "Ｗ" * 12 + "commutateur" * 14 + "\u202e🦜"
PORT_HOSTILE = "GigabitEthernet1/0/7" + "x" * 90
RESEAU_HOSTILE = "mission-<script>alert(1)</script>-" + "ancien" * 20
NUIT = date(2026, 11, 21)


def exiger_chromium() -> None:
    if CHROMIUM is None:
        pytest.skip("Chromium absent : scripts/installer-paquets-systeme l'installe (root)")


@pytest.fixture(scope="session")
def json_reel(tmp_path_factory) -> dict:
    """The JSON report of the demo audit (`telesante audit --date 2026-11-21 -f json`), with a hostile
    DHCP host name in place of PORTABLE-PERSO."""
    copie = tmp_path_factory.mktemp("reel") / "exemple"
    shutil.copytree(EXEMPLE, copie)
    baux = copie / "captures/dhcp-nord/dnsmasq.leases"
    baux.write_text(baux.read_text().replace("PORTABLE-PERSO", HOSTILE))
    sortie = copie.parent / "r"
    resultat = subprocess.run([TELESANTE, "audit", "-i", copie / "hosts.yml", "-f", "json", "-o", sortie,
                               "--date", NUIT.isoformat()], capture_output=True, text=True, timeout=120)
    assert resultat.returncode == 2, resultat.stderr
    return json.loads((sortie / "rapport.json").read_text(encoding="utf-8"))


def tendance(nuits: int = 32, trou: date | None = NUIT - timedelta(days=11)) -> list[dict]:
    """`nuits` nights ending on NUIT (one missing: `trou`), oldest first; mission-sud is not audited
    on two nights, and a former network with a hostile name only at the start."""
    entrees = []
    for i in range(nuits):
        jour = NUIT - timedelta(days=nuits - 1 - i)
        if jour == trou:
            continue
        reseaux = {"mission-nord": {"critiques": i % 5, "a_verifier": (i * 3) % 4}}
        if i % 9 != 4:
            reseaux["mission-sud"] = {"critiques": 0, "a_verifier": i % 2}
        if i < 8:
            reseaux[RESEAU_HOSTILE] = {"critiques": 7, "a_verifier": 1}
        entrees.append({"date": jour.isoformat(), "reseaux": reseaux, "equipements_non_lus": i % 3})
    return entrees


def document_de_la_nuit(json_reel: dict) -> dict:
    """The real document with a very long hostile equipment and port name, and the night's changes and
    trend as the history would give them."""
    texte = json.dumps(json_reel, ensure_ascii=False)
    texte = texte.replace('"sw-nord-01', json.dumps(EQUIPEMENT_HOSTILE, ensure_ascii=False)[:-1])
    texte = texte.replace('"Gi1/0/7"', json.dumps(PORT_HOSTILE))
    document = json.loads(texte)
    document["debut"], document["fin"] = "2026-11-21T07:02:11.123456+00:00", "2026-11-21T07:03:59.987654+00:00"
    actifs = [c for c in document["constats"] if c["statut"] == "actif"]
    disparu = copy.deepcopy(actifs[0])
    disparu.update(mac="84:28:59:00:00:01", noms_hote=[HOSTILE + "disparu"], etat="disparu",
                   premiere_vue="2026-11-02", nuits=19)
    document["changements"] = {
        "precedent": {"date": "2026-11-20T07:01:02.345678+00:00"},
        "constats": [{**actifs[0], "etat": "nouveau", "premiere_vue": NUIT.isoformat(), "nuits": 1}]
        + [{**c, "etat": "persistant", "premiere_vue": "2026-11-10", "nuits": 12} for c in actifs[1:]]
        + [disparu],
        "equipements": [{"equipement": "sw-sud-02", "etat": "devenu_illisible"},
                        {"equipement": EQUIPEMENT_HOSTILE, "etat": "redevenu_lisible"}],
        "derogations_expirant": [{"mac": "34:5e:08:91:2c:4d", "reseau": "mission-nord", "expire": "2026-11-25",
                                  "jours": 4}],
    }
    document["tendance"] = tendance()
    return document


@pytest.fixture
def navigateur(tmp_path):
    exiger_chromium()
    with Navigateur(tmp_path / "profil") as ouvert:
        yield ouvert
