"""Reports show isolation per site: every pair, and each finding with its evidence; probe strings made inert."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from importlib import resources

from jsonschema import Draft202012Validator
from rich.console import Console

from telesante.rapports import document as doc
from telesante.rapports import formats, terminal
from telesante.rapports.html import en_html
from tests.unitaires.test_isolement_audit import _audit
from tests.unitaires.test_isolement_collecte import document

HOSTILE = "\x1b]0;pirate\x07\x1b[2J<script>alert(1)</script>"


def _fuite() -> dict:
    data = document()
    data["essais"][1]["detail"] = "connexion TCP établie " + HOSTILE
    data["essais"][1]["nom"] = "serveur-dsq" + HOSTILE
    return data


def _document(exemple) -> dict:
    return doc.construire(_audit(exemple, _fuite()))


def test_json_paires_et_preuves_conformes_au_schema(exemple):
    rapport = _document(exemple)
    schema = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(json.loads(formats.en_json(rapport)))) == []
    paire = next(p for p in rapport["isolement"]["paires"] if p["depuis"] == "patients-nord")
    assert {**paire, "sondes": sorted(paire["sondes"])} == {
        "site": "hopital_nord", "depuis": "patients-nord", "vers": "mission-nord", "statut": "non_separe",
        "sondes": ["sonde-patients-nord", "sonde-patients-test"], "constats_actifs": 1}
    [constat] = [c for c in rapport["isolement"]["constats"] if c["sonde"] == "sonde-patients-test"]
    assert {k: constat[k] for k in ("gravite", "statut", "depuis", "vers", "cible", "port", "methode", "delai_ms")} == {
        "gravite": "critique", "statut": "actif", "depuis": "patients-nord", "vers": "mission-nord",
        "cible": "10.20.110.10", "port": 443, "methode": "tcp", "delai_ms": 1.4}
    assert next(r for r in rapport["reseaux"] if r["nom"] == "mission-nord")["statut"] == "non_conforme"


def test_terminal_80_colonnes(exemple):
    sortie = io.StringIO()
    terminal.afficher(_document(exemple), Console(file=sortie, width=80, color_system=None))
    texte = sortie.getvalue()
    assert "Isolement des réseaux" in texte
    assert "NON SÉPARÉ" in texte and "non vérifié" in texte
    assert "depuis patients-nord (sonde sonde-patients-test) vers 10.20.110.10" in texte
    assert "\x1b" not in texte and "\\x1b" in texte
    assert max(len(ligne) for ligne in texte.splitlines()) <= 80


def test_junit_une_suite_par_site(exemple):
    racine = ET.fromstring(formats.en_junit(_document(exemple)))
    nord = next(s for s in racine.iter("testsuite") if s.get("name") == "hopital_nord / isolement des réseaux")
    [cas] = nord.findall("testcase")
    assert cas.get("name") == "patients-nord → mission-nord"
    echec = cas.find("failure")
    assert echec.get("type") == "critique"
    assert "vers 10.20.110.10 (serveur-dsq\\x1b]0;pirate\\x07" in echec.text and "port 443" in echec.text
    sud = next(s for s in racine.iter("testsuite") if s.get("name") == "clinique_sud / isolement des réseaux")
    assert sud.find("testcase/skipped") is not None and sud.get("skipped") == "1"


def test_junit_erreur_si_sonde_declaree_sans_resultat(exemple):
    racine = ET.fromstring(formats.en_junit(doc.construire(_audit(exemple, None))))
    nord = next(s for s in racine.iter("testsuite") if s.get("name") == "hopital_nord / isolement des réseaux")
    erreur = nord.find("testcase/error")
    assert erreur is not None and "sonde-patients-test : dossier de captures introuvable" in erreur.text
    assert nord.get("errors") == "1"


def test_html_section_echappee(exemple):
    html = en_html(_document(exemple)).decode("utf-8")
    assert "<h2>Isolement des réseaux</h2>" in html
    assert "NON SÉPARÉ" in html and "10.20.110.10" in html
    assert "<script>alert(1)</script>" not in html and "\x1b" not in html


def test_demonstration_montre_la_paire_separee(tmp_path):
    """The demo inventory (make demo): sonde-patients-nord proves patients-nord → mission-nord separate."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import EXEMPLE

    resultat = subprocess.run(
        [Path(sys.executable).with_name("telesante"), "audit", "-i", EXEMPLE / "hosts.yml", "--date", "2026-11-21",
         "-f", "terminal,json", "-o", tmp_path], capture_output=True, text=True, timeout=120,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert resultat.returncode == 2, resultat.stderr  # sw-sud-02's capture is cut, as before
    assert "│ hopital_nord │ patients-nord │ mission-nord │ séparé      │ sonde-patients-nord │" in resultat.stdout
    rapport = json.loads((tmp_path / "rapport.json").read_text())
    assert [(p["depuis"], p["statut"], p["sondes"]) for p in rapport["isolement"]["paires"]] == [
        ("patients-nord", "separe", ["sonde-patients-nord"]), ("invites-sud", "non_verifie", [])]
    assert rapport["isolement"]["constats"] == []
    sonde = next(e for e in rapport["equipements"] if e["nom"] == "sonde-patients-nord")
    assert (sonde["statut"], sonde["lectures"]) == ("complet", ["cat {chemin}"])
