"""Capture folders an attacker, a full disk or a careless copy could leave: links out of the
inventory, FIFOs, folders, untraversable folders, binary or huge files, stale or corrupt dates.

Each makes its equipment incomplete with a French message that names the file and quotes
nothing of it; the other equipment are still audited.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from telesante.collecte import en_direct, ssh
from telesante.collecte.contrat import ParametresCollecte
from telesante.collecte.captures import FICHIER_DATE, collecter_captures
from telesante.collecte.plateformes import PLATEFORMES
from telesante.collecte.resultat import TAILLE_MAX_CAPTURE, ResultatCollecte, decrire_duree
from telesante.configuration import Equipement
from tests.conftest import EXEMPLE

SECRET = "root:$6$secret-qui-ne-doit-jamais-sortir:19000:0:99999:7:::\n"
TELESANTE = Path(sys.executable).with_name("telesante")


@pytest.fixture
def inventaire(tmp_path) -> Path:
    """A copy of the demo inventory; returns its folder."""
    copy = tmp_path / "inventaire"
    shutil.copytree(EXEMPLE, copy)
    return copy


def _nord(inventaire: Path, **changes) -> Equipement:
    changes.setdefault("captures", inventaire / "captures" / "sw-nord-01")
    return Equipement(nom="sw-nord-01", plateforme="cisco_ios", site="hopital_nord", **changes)


def _capture(inventaire: Path) -> Path:
    return inventaire / "captures" / "sw-nord-01" / "show_ip_arp.txt"


def test_lien_vers_un_fichier_hors_de_l_inventaire_refuse_sans_rien_en_citer(inventaire, tmp_path):
    """The issue's /etc/shadow: its first line was copied into every report."""
    outside = tmp_path / "shadow"
    outside.write_text(SECRET)
    _capture(inventaire).unlink()
    _capture(inventaire).symlink_to(outside)
    resultat = collecter_captures(_nord(inventaire), racine=inventaire)
    assert resultat.problemes == [
        f"{_capture(inventaire)} : capture hors du dossier de l'inventaire (lien symbolique ?) : refusée, rien n'en est lu"]
    assert "secret" not in repr(resultat)


def test_lien_vers_etc_shadow_refuse(inventaire):
    _capture(inventaire).unlink()
    _capture(inventaire).symlink_to("/etc/shadow")
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert "hors du dossier de l'inventaire" in probleme and "root:" not in probleme


def test_lien_a_l_interieur_de_l_inventaire_accepte(inventaire):
    """A link that stays inside the inventory (a capture shared by two names) is read as usual."""
    kept = inventaire / "archives" / "arp.txt"
    kept.parent.mkdir()
    _capture(inventaire).rename(kept)
    _capture(inventaire).symlink_to(Path("../../archives/arp.txt"))
    resultat = collecter_captures(_nord(inventaire), racine=inventaire)
    assert resultat.complet, resultat.problemes
    assert "show ip arp" in resultat.lectures_reussies


def test_dossier_de_captures_lien_hors_de_l_inventaire_refuse(inventaire, tmp_path):
    elsewhere = tmp_path / "ailleurs"
    shutil.move(inventaire / "captures" / "sw-nord-01", elsewhere)
    (inventaire / "captures" / "sw-nord-01").symlink_to(elsewhere)
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert probleme.endswith("dossier de captures hors du dossier de l'inventaire (lien symbolique ?) : refusé")


def test_dossier_telesante_captures_donne_hors_de_l_inventaire_accepte(inventaire, tmp_path):
    """telesante_captures may name a folder outside the inventory: captures are read under it."""
    elsewhere = tmp_path / "captures-partagees" / "sw-nord-01"
    shutil.copytree(inventaire / "captures" / "sw-nord-01", elsewhere)
    resultat = collecter_captures(_nord(inventaire, captures=elsewhere), racine=inventaire)
    assert resultat.complet, resultat.problemes


@pytest.mark.parametrize("kind, expected", [("fifo", "tube nommé"), ("dossier", "dossier")])
def test_capture_qui_n_est_pas_un_fichier_ordinaire_refusee(inventaire, kind, expected):
    """A FIFO would block the audit forever (nobody writes to it); a folder is no capture."""
    path = _capture(inventaire)
    path.unlink()
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert probleme == f"{path} : capture refusée, ce n'est pas un fichier ordinaire ({expected})"


def test_lien_vers_un_peripherique_refuse(inventaire):
    _capture(inventaire).unlink()
    _capture(inventaire).symlink_to("/dev/zero")
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert "hors du dossier de l'inventaire" in probleme


def test_lien_casse_refuse_pas_pris_pour_une_capture_manquante(inventaire):
    """A link to nothing is not « capture manquante » of an optional read: it is refused."""
    arp = inventaire / "captures" / "sw-nord-01" / "arp_-a.txt"
    arp.symlink_to(inventaire / "nulle-part")
    equipement = Equipement(nom="gw", plateforme="linux", site="hopital_nord", captures=arp.parent)
    problemes = collecter_captures(equipement, racine=inventaire).problemes
    assert f"{arp} : lien symbolique vers un fichier absent : capture refusée" in problemes


def test_capture_binaire_refusee_sans_rien_en_citer(inventaire):
    _capture(inventaire).write_bytes(b"Protocol  Address\n\xff\xfe\x00" + SECRET.encode())
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert probleme == (f"{_capture(inventaire)}, ligne 2 : capture illisible, ce n'est pas du texte UTF-8 "
                        "(fichier binaire ou autre encodage ?)")


def test_capture_en_utf16_refusee(inventaire):
    """A capture saved by a Windows tool in UTF-16: not read as an empty or foreign table."""
    path = _capture(inventaire)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert "ce n'est pas du texte UTF-8" in probleme


def test_capture_trop_grande_refusee_avant_d_etre_lue(inventaire):
    """The threshold is checked on the file's size: a sparse file over it is never read (no memory)."""
    path = _capture(inventaire)
    with path.open("r+b") as file:
        file.truncate(TAILLE_MAX_CAPTURE + 1)
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert probleme == f"{path} : capture trop grande (32.0 Mio, au-delà de 32 Mio) : refusée sans être analysée"


def test_sortie_trop_grande_en_direct_refusee_sans_analyse():
    """The same threshold holds for a live output (the SSH path has it in memory already)."""
    resultat = ResultatCollecte(Equipement(nom="sw", plateforme="cisco_ios", site="s"))
    lecture = PLATEFORMES["cisco_ios"].lectures[0]
    resultat.analyser(lecture, "x" * (TAILLE_MAX_CAPTURE + 1), "sw : show mac address-table")
    assert resultat.problemes == ["sw : show mac address-table : capture trop grande (32.0 Mio, au-delà de 32 Mio) : "
                                  "refusée sans être analysée"]


@pytest.mark.parametrize("valeur, attendu", [
    ("2023-11-21T02:00:30+00:00", "vieille de 3 ans"), ("2026-11-10T02:00:30+00:00", "vieille de 11 jours"),
    ("2026-11-20T00:00:00+00:00", "vieille de 48 heures"),
])
def test_capteur_mdns_perime_incomplet_avec_son_age_observations_gardees(tmp_path, valeur, attendu):
    folder = tmp_path / "sonde"
    folder.mkdir()
    document = json.loads((EXEMPLE / "captures/sonde-nord/mdns.json").read_text())
    document["fin"] = valeur
    (folder / "mdns.json").write_text(json.dumps(document))
    resultat = collecter_captures(Equipement(nom="sonde", plateforme="capteur_mdns", site="s", captures=folder))
    assert resultat.complet  # the age is judged by the audit, against its reference moment
    resultat.verifier_age(datetime(2026, 11, 22, tzinfo=timezone.utc), timedelta(hours=36))
    [probleme] = resultat.problemes
    assert probleme.startswith(f"{folder / 'mdns.json'} : capture du capteur mDNS {attendu} (prise le {valeur} ; "
                               "âge maximal : 36 heures, telesante_age_max_sources_heures) : source périmée")
    assert len(resultat.observations) == len(document["annonces"])  # still reported


def test_source_datee_apres_le_moment_de_reference_incomplete():
    resultat = ResultatCollecte(Equipement(nom="sonde", plateforme="capteur_mdns", site="s"))
    resultat.dater(datetime(2026, 11, 23, tzinfo=timezone.utc), "capture du capteur mDNS", "mdns.json")
    resultat.verifier_age(datetime(2026, 11, 22, tzinfo=timezone.utc), timedelta(hours=36))
    assert "après le moment de référence de l'audit" in resultat.problemes[0]
    fresh = ResultatCollecte(Equipement(nom="sonde", plateforme="capteur_mdns", site="s"))
    fresh.dater(datetime(2026, 11, 22, 0, 4, tzinfo=timezone.utc), "capture du capteur mDNS", "mdns.json")
    fresh.verifier_age(datetime(2026, 11, 22, tzinfo=timezone.utc), timedelta(hours=36))
    assert fresh.complet  # a clock a few minutes ahead is tolerated


@pytest.mark.parametrize("duree, texte", [
    (timedelta(days=1096), "3 ans"), (timedelta(days=400), "1 an"), (timedelta(days=75), "2 mois"),
    (timedelta(days=11, hours=3), "11 jours"), (timedelta(hours=47), "47 heures"), (timedelta(hours=1), "1 heure"),
    (timedelta(minutes=3), "3 minutes"),
])
def test_age_dit_en_francais(duree, texte):
    assert decrire_duree(duree) == texte


def _collecte_directe(tmp_path, monkeypatch) -> Path:
    outputs = {"show mac address-table": (EXEMPLE / "captures/sw-nord-01/show_mac_address-table.txt").read_text(),
               "show ip arp": (EXEMPLE / "captures/sw-nord-01/show_ip_arp.txt").read_text()}
    monkeypatch.setattr(ssh, "_session", lambda equipement, parametres: (outputs.__getitem__, lambda: None))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    equipement = Equipement(nom="sw-nord-01", plateforme="cisco_ios", site="nord", adresse="127.0.0.1")
    live = en_direct.collecter_en_direct(equipement, ParametresCollecte(known_hosts, dossier_captures=tmp_path / "cap"))
    assert live.complet, live.problemes
    return tmp_path / "cap" / "sw-nord-01"


def test_enregistrer_captures_ecrit_la_date_de_collecte_relue_hors_ligne(tmp_path, monkeypatch):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    folder = _collecte_directe(tmp_path, monkeypatch)
    moment = datetime.fromisoformat((folder / FICHIER_DATE).read_text().strip())
    assert before <= moment <= datetime.now(timezone.utc)
    replayed = collecter_captures(Equipement(nom="sw-nord-01", plateforme="cisco_ios", site="nord", captures=folder))
    assert [(m, n) for m, n, _ in replayed.dates] == [(moment, "collecte enregistrée")]
    replayed.verifier_age(moment + timedelta(days=3), timedelta(hours=36))
    assert "collecte enregistrée vieille de 3 jours" in replayed.problemes[0]


@pytest.mark.parametrize("contenu", ["hier\n", "2026-11-21T02:00:00\n", ""])
def test_date_de_collecte_illisible_ou_sans_fuseau_incomplet(tmp_path, monkeypatch, contenu):
    folder = _collecte_directe(tmp_path, monkeypatch)
    (folder / FICHIER_DATE).write_text(contenu)
    resultat = collecter_captures(Equipement(nom="sw-nord-01", plateforme="cisco_ios", site="nord", captures=folder))
    assert resultat.problemes == [
        f"{folder / FICHIER_DATE} : date de collecte illisible (attendu : une date ISO 8601 avec fuseau)"]


def _sans_droits_de_root(command: list) -> list:
    """Run as root without the capabilities that let root traverse and read anything."""
    if os.geteuid() != 0:
        return command
    if shutil.which("setpriv") is None:
        pytest.fail("setpriv (util-linux) introuvable : impossible d'abandonner les droits de root")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *map(str, command)]


def test_dossier_de_captures_sans_droit_de_traverser_equipement_incomplet_les_autres_audites(inventaire, tmp_path):
    """The issue's case: the whole audit stopped with no report. Root traverses everything: the audit
    runs without the capabilities that allow it (as a service account would)."""
    folder = inventaire / "captures" / "sw-nord-01"
    folder.chmod(0o600)
    try:
        resultat = subprocess.run(
            _sans_droits_de_root([TELESANTE, "audit", "-i", inventaire / "hosts.yml", "-f", "json",
                                  "-o", tmp_path / "rapports", "--date", "2026-11-21"]),
            capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    finally:
        folder.chmod(0o755)
    assert resultat.returncode == 2, resultat.stderr
    document = json.loads((tmp_path / "rapports" / "rapport.json").read_text())
    by_name = {e["nom"]: e for e in document["equipements"]}
    assert by_name["sw-nord-01"]["problemes"] == [f"{folder} : dossier de captures illisible (permission refusée)"]
    assert by_name["dhcp-nord"]["statut"] == "complet" and by_name["sw-sud-01"]["statut"] == "complet"


def test_capture_sans_droit_de_lecture_equipement_incomplet(inventaire, tmp_path):
    _capture(inventaire).chmod(0)
    resultat = subprocess.run(
        _sans_droits_de_root([TELESANTE, "audit", "-i", inventaire / "hosts.yml", "-f", "json",
                              "-o", tmp_path / "rapports", "--date", "2026-11-21"]),
        capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert resultat.returncode == 2, resultat.stderr
    document = json.loads((tmp_path / "rapports" / "rapport.json").read_text())
    assert document["equipements"][0]["problemes"] == [f"{_capture(inventaire)} : capture illisible (permission refusée)"]


@pytest.mark.parametrize("equipement, fichier, plateforme", [
    ("sw-nord-01", "show_ip_arp.txt", "cisco_ios"), ("sw-sud-01", "show_mac_address-table.txt", "arista_eos"),
    ("dhcp-sud", "dhcpd.leases", "isc_dhcpd"), ("sonde-nord", "mdns.json", "capteur_mdns"),
])
def test_capture_enregistree_avec_marque_d_ordre_des_octets_lue_comme_sans(inventaire, equipement, fichier, plateforme):
    """A capture saved by a Windows editor starts with a UTF-8 BOM: read as the same text (was refused,
    or worse for JSON: an English message)."""
    path = inventaire / "captures" / equipement / fichier
    eq = Equipement(nom=equipement, plateforme=plateforme, site="s", captures=path.parent)
    before = collecter_captures(eq, racine=inventaire)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    after = collecter_captures(eq, racine=inventaire)
    assert after.problemes == before.problemes and after.observations == before.observations


def test_caractere_nul_dans_une_capture_refuse_avec_sa_ligne(inventaire):
    """A NUL at the end of an IOS ARP line was read as a whole entry whose interface, « Vlan110\\0 »,
    gave no VLAN: the observation changed silently. No output holds one: the file is refused."""
    path = _capture(inventaire)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("\n", "\x00\n")
    path.write_text("".join(lines))
    [probleme] = collecter_captures(_nord(inventaire), racine=inventaire).problemes
    assert probleme == f"{path}, ligne 3 : caractère NUL : fichier binaire ou corrompu ?"
