"""The whole offline audit through the real `telesante` command, on the demo inventory."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from telesante.audit import auditer
from telesante.codes import INCOMPLET
from telesante.collecte.captures import collecter_captures
from telesante.inventaire import charger_configuration
from telesante.configuration import Derogation

TELESANTE = Path(sys.executable).with_name("telesante")


def _audit(hosts: Path, sortie: Path, *extra: str, colonnes: int = 200) -> subprocess.CompletedProcess:
    return subprocess.run(
        [TELESANTE, "audit", "-i", hosts, "-f", "terminal,json,csv,junit", "-o", sortie, "--date", "2026-11-21", *extra],
        capture_output=True, text=True, timeout=120, env={"COLUMNS": str(colonnes), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def rapport(exemple, tmp_path):
    result = _audit(exemple, tmp_path / "rapports")
    document = json.loads((tmp_path / "rapports" / "rapport.json").read_text())
    return result, document, tmp_path / "rapports"


def _actifs(document):
    return {(c["mac"], c["gravite"]) for c in document["constats"] if c["statut"] == "actif"}


def test_exemple_incomplet_code_2_avec_les_constats_attendus(rapport):
    result, document, _ = rapport
    assert result.returncode == 2, result.stderr
    assert document["verdict"]["statut"] == "incomplet"
    assert _actifs(document) == {
        ("84:28:59:3a:7c:21", "critique"),  # Echo Show (mDNS md=Echo Show 8; DHCP name amazon-...)
        ("60:70:6c:12:ab:34", "critique"),  # Nest Hub (mDNS md=Google Nest Hub, joined by IP)
        ("24:29:34:88:19:0c", "critique"),  # Chromecast whose dérogation expired
        ("6a:3f:91:0c:55:e2", "à vérifier"),  # randomized MAC
        ("d0:43:1e:5b:77:10", "à vérifier"),  # unknown laptop
    }
    leves = [c for c in document["constats"] if c["statut"] != "actif"]
    assert [(c["mac"], c["derogation"]["expiree"]) for c in leves] == [("34:5e:08:91:2c:4d", False)]
    expired = next(c for c in document["constats"] if c["mac"] == "24:29:34:88:19:0c")
    assert expired["derogation"]["expiree"] is True and "dérogation expirée le 2026-03-31" in expired["message"]


def test_echo_show_identifie_par_son_modele_mdns(rapport):
    _, document, _ = rapport
    echo = next(c for c in document["constats"] if c["mac"] == "84:28:59:3a:7c:21")
    assert (echo["identification"]["signature"], echo["identification"]["categorie"]) == (
        "Amazon Echo Show", "écran intelligent")
    assert "mDNS _amzn-wplay._tcp modèle « Echo Show 8 »" in echo["identification"]["motifs"]


def test_preuves_du_nest_hub(rapport):
    _, document, _ = rapport
    nest = next(c for c in document["constats"] if c["mac"] == "60:70:6c:12:ab:34")
    assert nest["identification"]["signature"] == "Google Nest Hub"
    assert nest["emplacements"] == [{"equipement": "sw-nord-01", "port": "Gi1/0/7", "vlan": 110}]
    assert nest["ips"] == ["10.20.110.42"]
    assert nest["fabricant"] == "Google, Inc."
    assert {"service": "_googlecast._tcp", "modele": "Google Nest Hub"} in nest["services_mdns"]
    assert {s.split(" : ")[0] for s in nest["sources"]} == {"sw-nord-01", "dhcp-nord", "sonde-nord"}


def test_postes_autorises_et_reseau_patients_sans_constat(rapport):
    _, document, _ = rapport
    flagged = {c["mac"] for c in document["constats"]}
    assert not flagged & {"60:fd:a6:10:20:30", "00:50:56:27:50:7a", "80:a9:97:40:50:60", "00:50:56:36:45:60"}
    assert not flagged & {"28:73:f6:44:21:90", "10:59:32:3b:7a:01", "f0:f6:c1:a2:33:b4", "34:5e:08:12:9f:0e"}
    statuts = {r["nom"]: r["statut"] for r in document["reseaux"]}
    assert statuts == {"mission-nord": "non_conforme", "patients-nord": "conforme",
                       "mission-sud": "incomplet", "invites-sud": "incomplet"}


def test_equipement_casse_nomme_avec_fichier_et_ligne(rapport):
    result, document, _ = rapport
    [broken] = [e for e in document["equipements"] if e["statut"] == "incomplet"]
    assert broken["nom"] == "sw-sud-02"
    assert "captures/sw-sud-02/show_mac-address.txt, ligne 8" in broken["problemes"][0]
    assert "sw-sud-02" in result.stdout and "show_mac-address.txt, ligne 8" in result.stdout


def test_terminal_large_un_tableau_des_constats(rapport):
    result, document, _ = rapport
    header = next(line for line in result.stdout.splitlines() if "Gravité" in line)
    assert all(title in header for title in ("Réseau", "MAC", "IP", "Équipement / port", "Constat"))
    for c in document["constats"]:
        row = next(line for line in result.stdout.splitlines() if c["mac"] in line)
        assert c["reseau"] in row and c["ips"][0] in row and c["emplacements"][0]["port"] in row


def test_terminal_80_colonnes_une_fiche_par_constat_sans_couper_mac_ni_ip(exemple, tmp_path):
    """A CI log or a mail is 80 columns wide: each finding is a block, whose MAC, address
    and port are whole on their line, ready to be copied."""
    result = _audit(exemple, tmp_path / "r", colonnes=80)
    document = json.loads((tmp_path / "r/rapport.json").read_text())
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert not any("Gravité" in line for line in lines)  # no folded table
    for c in document["constats"]:
        start = next(i for i, line in enumerate(lines) if c["mac"] in line)
        assert lines[start].startswith(c["gravite"].upper()) and c["reseau"] in lines[start]
        block = lines[start:start + 8]
        assert any(line.strip() == f"IP : {c['ips'][0]}" for line in block)
        place = c["emplacements"][0]
        assert any(line.strip() == f"emplacement : {place['equipement']} {place['port']}" for line in block)
    for network in document["reseaux"]:
        assert any(network["site"] in line and network["nom"] in line for line in lines)
    assert "7 équipements (dont 1 incomplet), 19 appareils ; 3 critiques, 2 à vérifier, 1 levé par dérogation." \
        in " ".join(line.strip() for line in lines)


def test_rapport_json_conforme_au_schema(rapport):
    _, document, _ = rapport
    schema = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(document))
    assert errors == []


def test_csv_pour_excel_francais(rapport):
    _, document, folder = rapport
    raw = (folder / "rapport.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["Gravité", "Statut", "Réseau"]
    assert len(rows) == 1 + len(document["constats"])
    echo = next(r for r in rows if r[4] == "84:28:59:3a:7c:21")
    assert "sw-nord-01 Gi1/0/5 (VLAN 110)" in echo


def test_junit_une_suite_par_reseau_de_mission(rapport):
    _, _, folder = rapport
    suites = ET.parse(folder / "rapport-junit.xml").getroot().findall("testsuite")
    by_name = {s.get("name"): s for s in suites}
    assert set(by_name) == {"hopital_nord / mission-nord", "clinique_sud / mission-sud",
                            "hopital_nord / isolement des réseaux", "clinique_sud / isolement des réseaux"}
    nord = by_name["hopital_nord / mission-nord"]
    assert (nord.get("failures"), nord.get("skipped"), nord.get("errors")) == ("5", "1", "0")
    sud = by_name["clinique_sud / mission-sud"]
    assert sud.get("errors") == "1"
    assert "show_mac-address.txt" in sud.find("testcase/error").text
    nest = next(case for case in nord.findall("testcase") if case.get("name").startswith("60:70:6c:12:ab:34"))
    evidence = nest.find("failure").text
    for line in ("IP : 10.20.110.42", "Emplacements : sw-nord-01 Gi1/0/7 (VLAN 110)", "VLAN : 110",
                 "Services mDNS : _googlecast._tcp (modèle « Google Nest Hub »)"):
        assert line in evidence.splitlines(), evidence


def test_code_1_quand_tout_est_lu(exemple, tmp_path):
    (exemple.parent / "captures/sw-sud-02/show_mac-address.txt").write_text(
        "\n Status and Counters - Port Address Table\n\n  MAC Address       Port                            VLAN\n"
        "  ----------------- ------------------------------- ----\n  fc59c0-000001     Trk1                            210\n"
    )
    result = _audit(exemple, tmp_path / "r")
    assert result.returncode == 1, result.stdout


def _retirer_hotes(hosts: Path, *names: str) -> None:
    inventory = yaml.safe_load(hosts.read_text())
    for group in inventory["all"]["children"].values():
        for name in names:
            group.get("hosts", {}).pop(name, None)
    hosts.write_text(yaml.safe_dump(inventory))


def _retirer_lignes(path: Path, needles: list[str]) -> None:
    path.write_text("".join(line for line in path.read_text().splitlines(True) if not any(n in line for n in needles)))


def test_code_0_conforme(exemple, tmp_path):
    _retirer_hotes(exemple, "sw-sud-02", "sonde-nord")
    offenders = ["84:28:59:3a:7c:21", "60:70:6c:12:ab:34", "24:29:34:88:19:0c", "6a:3f:91:0c:55:e2", "d0:43:1e:5b:77:10"]
    captures = exemple.parent / "captures"
    for path in [*(captures / "sw-nord-01").iterdir(), captures / "dhcp-nord/dnsmasq.leases"]:
        _retirer_lignes(path, offenders + [f"{m[:4]}.{m[4:8]}.{m[8:]}" for m in (o.replace(":", "") for o in offenders)])
    result = _audit(exemple, tmp_path / "r")
    document = json.loads((tmp_path / "r/rapport.json").read_text())
    assert result.returncode == 0, result.stdout
    assert document["verdict"]["statut"] == "conforme"
    assert [c["statut"] for c in document["constats"]] == ["levé par dérogation"]


def test_nom_d_hote_hostile_echappe(exemple, tmp_path):
    """Device-provided names are data: no rich markup, no spreadsheet formula."""
    leases = exemple.parent / "captures/dhcp-nord/dnsmasq.leases"
    leases.write_text(leases.read_text().replace("PORTABLE-PERSO", "=HYPERLINK(\"x\")[bold]pwn[/bold]"))
    result = _audit(exemple, tmp_path / "r")
    assert "[bold]pwn[/bold]" in result.stdout
    rows = (tmp_path / "r/rapport.csv").read_bytes().decode("utf-8-sig")
    assert "'=HYPERLINK" in rows


def test_aide_documente_les_codes_de_sortie():
    result = subprocess.run([TELESANTE, "audit", "--help"], capture_output=True, text=True, check=True)
    for line in ("0  conforme", "1  non-conformités", "2  incomplet", "3  erreur de configuration",
                 "4  erreur interne"):
        assert line in result.stdout


@pytest.mark.parametrize("commande", [[], ["audit"], ["historique"], ["cles-hotes"], ["capteur", "mdns"]])
def test_aide_entierement_en_francais(commande):
    aide = subprocess.run([TELESANTE, *commande, "--help"], capture_output=True, text=True, check=True).stdout
    assert aide.startswith("utilisation : telesante")
    for anglais in ("usage:", "show ", "positional arguments", "optional arguments", " and exit", "default:"):
        assert anglais not in aide, (anglais, aide)


def test_dossier_des_rapports_qui_est_un_fichier_code_3(exemple, tmp_path):
    (tmp_path / "un-fichier").write_text("déjà là")
    result = _audit(exemple, tmp_path / "un-fichier")
    assert result.returncode == 3, result.stderr
    assert "Dossier des rapports" in result.stderr and "un fichier porte déjà ce nom" in result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "un-fichier").read_text() == "déjà là"


def test_rapport_impossible_a_ecrire_les_autres_le_sont_et_le_code_le_dit(exemple, tmp_path):
    _retirer_hotes(exemple, "sw-sud-02")  # the rest of the demo: non-conformités, code 1
    (tmp_path / "r/rapport.json").mkdir(parents=True)  # a folder where the JSON report goes
    result = _audit(exemple, tmp_path / "r")
    assert result.returncode == 2, result.stderr
    assert "Rapport json non écrit" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "r/rapport.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not list((tmp_path / "r").glob("*.tmp"))


def test_erreur_imprevue_code_4_jamais_1(exemple, monkeypatch, capsys):
    """A bug must not exit 1, which a scheduler reads as « non-conformités »."""
    import telesante.audit

    def broken(*args, **kwargs):
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(telesante.audit, "auditer", broken)
    from telesante.cli import main

    assert main(["audit", "-i", str(exemple), "-f", "json", "-o", str(exemple.parent / "r")]) == 4
    stderr = capsys.readouterr().err
    assert "RuntimeError: panne simulée" in stderr and "Erreur interne de telesante" in stderr


@pytest.mark.parametrize("argv, extrait", [
    (["audit"], "arguments obligatoires manquants : -i/--inventaire"),
    (["audit", "-i", "x.yml", "-f", "pdf"], "format inconnu ['pdf']"),
    (["audit", "-i", "x.yml", "--parallele", "0"], "entier de 1 à 256 attendu, reçu « 0 »"),
    (["audit", "-i", "x.yml", "--parallele", "inf"], "entier de 1 à 256 attendu, reçu « inf »"),
    (["audit", "-i", "x.yml", "--parallele", "nan"], "entier de 1 à 256 attendu"),
    (["audit", "-i", "x.yml", "--parallele", "-0"], "entier de 1 à 256 attendu"),
    (["audit", "-i", "x.yml", "--parallele", "1e400"], "entier de 1 à 256 attendu"),
    (["audit", "-i", "x.yml", "--parallele", str(10**100)], "entier de 1 à 256 attendu"),
    (["audit", "-i", "x.yml", "--parallele", ""], "entier de 1 à 256 attendu, reçu «  »"),
    (["audit", "-i", "x.yml", "--parallele", "\x1b[2J"], "reçu « \\x1b[2J »"),
    (["audit", "-i", "x.yml", "--tentatives", "1e400"], "entier de 1 à 10 attendu"),
    (["audit", "-i", "x.yml", "--tentatives", str(10**100)], "entier de 1 à 10 attendu"),
    (["audit", "-i", "x.yml", "--tentatives", "9" * 5000], "entier de 1 à 10 attendu"),
    (["audit", "-i", "x.yml", "--delai-connexion", "nan"], "nombre de secondes entre 0 (exclu) et 3600"),
    (["audit", "-i", "x.yml", "--delai-connexion", "inf"], "nombre de secondes entre 0 (exclu) et 3600"),
    (["audit", "-i", "x.yml", "--delai-commande", "1e400"], "nombre de secondes entre 0 (exclu) et 3600"),
    (["audit", "-i", "x.yml", "--delai-commande", "-0"], "nombre de secondes entre 0 (exclu) et 3600"),
    (["audit", "-i", "x.yml", "--delai-commande", "1e-400"], "nombre de secondes entre 0 (exclu) et 3600"),
    (["audit", "-i", "x.yml", "--delai-commande", ""], "nombre de secondes attendu"),
    (["historique", "h.sqlite", "-n", "1e400"], "entier de 1 à 1000000 attendu"),
    (["historique", "h.sqlite", "-n", str(10**100)], "entier de 1 à 1000000 attendu"),
    (["capteur", "mdns", "--interface", "lo", "--sortie", "m.json", "--duree", "nan"], "et 86400 attendu"),
    (["capteur", "mdns", "--interface", "lo", "--sortie", "m.json", "--duree", "inf"], "et 86400 attendu"),
])
def test_mauvaise_utilisation_code_3_en_francais(argv, extrait):
    """A usage error must not exit 2, which means "incomplete audit" to schedulers."""
    result = subprocess.run([TELESANTE, *argv], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert f"utilisation : telesante {argv[0]}" in result.stderr and "erreur :" in result.stderr
    assert extrait in result.stderr and "Traceback" not in result.stderr
    assert "\x1b" not in result.stderr


def test_reseau_de_mission_vu_par_aucun_equipement_jamais_conforme(exemple):
    """Fail closed: with none of clinique_sud's equipment queried and every finding of
    hopital_nord waived, the audit is still incomplete, never « conforme »."""
    config = charger_configuration(exemple)
    config = replace(config, equipements=[e for e in config.equipements if e.site == "hopital_nord"])
    today = date(2026, 11, 21)
    found = auditer(config, collecter_captures, mode="captures", aujourd_hui=today)
    waived = {c.appareil.mac: Derogation(c.appareil.mac, "essai", date(2099, 1, 1)) for c in found.constats}
    resultat = auditer(replace(config, derogations=waived), collecter_captures, mode="captures", aujourd_hui=today)
    assert not resultat.constats_actifs and all(c.complet for c in resultat.collectes)
    assert {e.reseau.nom: e.statut for e in resultat.reseaux}["mission-sud"] == "incomplet"
    assert resultat.code_sortie == INCOMPLET
    assert any("« mission-sud »" in note and "pas audité" in note for note in resultat.notes)
