"""The audit's one promise, as an invariant: on a site with findings, no damage to a source or to
a `telesante_*` variable ever yields code 0 « conforme »."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesante.cli import main
from tests.conftest import EXEMPLE

# The demo inventory made fully readable (code 1): sw-sud-02's broken table replaced by a whole one.
TABLE_SUD_02 = ("\n Status and Counters - Port Address Table\n\n  MAC Address       Port                            VLAN\n"
                "  ----------------- ------------------------------- ----\n  fc59c0-000001     Trk1                            210\n")
CAPTURES = sorted(p.relative_to(EXEMPLE) for p in (EXEMPLE / "captures").rglob("*") if p.is_file())
VARIABLE = re.compile(r"^(\s*)(telesante_\w+)(\s*:)", re.MULTILINE)
FICHIERS_YAML = sorted(p.relative_to(EXEMPLE) for p in EXEMPLE.rglob("*.yml"))
OCCURRENCES = [(f, m.start(2), m.group(2)) for f in FICHIERS_YAML
               for m in VARIABLE.finditer((EXEMPLE / f).read_text(encoding="utf-8"))]


@contextlib.contextmanager
def _inventaire_non_conforme():
    with tempfile.TemporaryDirectory() as dossier:
        copie = Path(dossier) / "inv"
        shutil.copytree(EXEMPLE, copie)
        (copie / "captures/sw-sud-02/show_mac-address.txt").write_text(TABLE_SUD_02)
        yield copie


def _code(inventaire: Path) -> int:
    sortie = inventaire.parent / "rapports"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return main(["audit", "-i", str(inventaire / "hosts.yml"), "-f", "json,junit", "-o", str(sortie),
                     "--date", "2026-11-21"])


def test_la_base_est_non_conforme():
    with _inventaire_non_conforme() as inventaire:
        assert _code(inventaire) == 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(capture=st.sampled_from(CAPTURES), degat=st.sampled_from(["retirer", "vider", "tronquer", "tronquer_a_la_ligne"]),
       coupe=st.floats(min_value=0, max_value=1, exclude_max=True))
def test_aucune_source_abimee_ne_rend_conforme(capture, degat, coupe):
    with _inventaire_non_conforme() as inventaire:
        fichier = inventaire / capture
        contenu = fichier.read_bytes()
        lignes = contenu.splitlines(keepends=True)
        if degat == "retirer":
            fichier.unlink()
        elif degat == "vider":
            fichier.write_bytes(b"")
        elif degat == "tronquer":
            fichier.write_bytes(contenu[:int(len(contenu) * coupe)])
        else:  # a whole-line cut, the hardest to see: after the header, before the last line...
            fichier.write_bytes(b"".join(lignes[:int(len(lignes) * coupe)]))
        assert _code(inventaire) != 0


@pytest.mark.parametrize("occurrence", OCCURRENCES, ids=lambda o: f"{o[0]}:{o[2]}")
@pytest.mark.parametrize("degat", ["renommer", "retirer"])
def test_aucune_variable_touchee_ne_rend_conforme(occurrence, degat):
    fichier, debut, nom = occurrence
    with _inventaire_non_conforme() as inventaire:
        chemin = inventaire / fichier
        texte = chemin.read_text(encoding="utf-8")
        if degat == "renommer":
            texte = texte[:debut] + nom + "_x" + texte[debut + len(nom):]
        else:  # the key and its block: every following line more indented than the key
            ligne = texte.rfind("\n", 0, debut) + 1
            retrait = debut - ligne
            fin = ligne
            for m in re.finditer(r".*\n?", texte[ligne:]):
                if fin > ligne and m.group().strip() and len(m.group()) - len(m.group().lstrip()) <= retrait:
                    break
                fin += len(m.group())
                if not m.group():
                    break
            texte = texte[:ligne] + texte[fin:]
        chemin.write_text(texte, encoding="utf-8")
        assert _code(inventaire) != 0
