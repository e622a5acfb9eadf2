"""Changes of the night, with the real command on a copy of the demo: in the JSON (against its
schema), the terminal and the CSV; `telesante historique --comparer` and `--mac`; an audit
without history or on its first run; an older history; the alert variables of the inventory."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from telesante import changements
from telesante.historique import SCHEMA, enregistrer_nuit

TELESANTE = Path(sys.executable).with_name("telesante")
EXEMPLE = Path(__file__).resolve().parents[2] / "inventaires" / "exemple"
ECHO, NEST, CHROMECAST = "84:28:59:3a:7c:21", "60:70:6c:12:ab:34", "24:29:34:88:19:0c"
SCHEMA_RAPPORT = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())


def _audit(hosts: Path, sortie: Path, nuit: str, *options, colonnes: int = 200) -> subprocess.CompletedProcess:
    return subprocess.run([TELESANTE, "audit", "-i", hosts, "--date", nuit, "-f", "terminal,json,csv", "-o", sortie,
                           *map(str, options)], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": str(colonnes)})


def _valide(document: dict) -> None:
    erreurs = [f"{list(e.path)} : {e.message[:200]}" for e in
               Draft202012Validator(SCHEMA_RAPPORT, format_checker=FormatChecker()).iter_errors(document)]
    assert erreurs == []


def _copie(dossier: Path) -> Path:
    copie = dossier / "inventaire"
    shutil.copytree(EXEMPLE, copie)
    (copie / "group_vars/all/age.yml").write_text("telesante_age_max_sources_heures: 400\n")
    return copie / "hosts.yml"


@pytest.fixture(scope="module")
def trois_nuits(tmp_path_factory):
    """Nights 21, 22, 23 of November: the Nest Hub leaves on the 23rd, the cut south switch is read whole
    on the 22nd and cut again on the 23rd; the Roku's waiver ends on the 27th."""
    dossier = tmp_path_factory.mktemp("trois-nuits")
    hosts = _copie(dossier)
    captures = hosts.parent / "captures"
    derogations = hosts.parent / "group_vars/all/derogations.yml"
    derogations.write_text(derogations.read_text().replace("expiration: 2030-06-30", "expiration: 2026-11-27"))
    hp = captures / "sw-sud-02/show_mac-address.txt"
    coupe = hp.read_text()
    historique = dossier / "historique.sqlite"
    resultats = []
    for nuit in ("2026-11-21", "2026-11-22", "2026-11-23"):
        if nuit == "2026-11-22":
            hp.write_text("".join(l for l in coupe.splitlines(True) if "842859-0a0b0c" not in l))
        if nuit == "2026-11-23":
            hp.write_text(coupe)
            for fichier, motif in (("sw-nord-01/show_mac_address-table.txt", "6070.6c12.ab34"),
                                   ("sw-nord-01/show_ip_arp.txt", "6070.6c12.ab34"),
                                   ("dhcp-nord/dnsmasq.leases", "60:70:6c:12:ab:34")):
                texte = (captures / fichier).read_text()
                (captures / fichier).write_text("".join(l for l in texte.splitlines(True) if motif not in l)
                                                .replace("criterion: 16", "criterion: 15"))
            mdns = captures / "sonde-nord/mdns.json"
            annonces = json.loads(mdns.read_text())
            annonces["annonces"] = [a for a in annonces["annonces"] if a["ip"] != "10.20.110.42"]
            mdns.write_text(json.dumps(annonces))
        resultat = _audit(hosts, dossier / nuit, nuit, "--historique", historique)
        resultats.append((resultat, json.loads((dossier / nuit / "rapport.json").read_text())))
    return historique, resultats, dossier


def test_premier_passage_dit_et_tout_est_nouveau(trois_nuits):
    _, resultats, _ = trois_nuits
    resultat, document = resultats[0]
    _valide(document)
    assert document["changements"]["precedent"] is None and document["changements"]["historique"] is True
    assert "premier passage" in document["changements"]["note"]
    assert {c["etat"] for c in document["changements"]["constats"]} == {"nouveau"}
    assert {(c["premiere_vue"], c["nuits"]) for c in document["changements"]["constats"]} == {("2026-11-21", 1)}
    assert "premier passage, rien à comparer" in resultat.stderr


def test_nouveau_persistant_disparu_avec_premiere_vue_et_nuits(trois_nuits):
    _, resultats, _ = trois_nuits
    _, document = resultats[2]
    _valide(document)
    changes = document["changements"]
    assert changes["precedent"]["nuit"] == "2026-11-22" and changes["precedent"]["passage"] == 2
    par_mac = {(c["mac"], c["etat"]): c for c in changes["constats"]}
    echo = par_mac[(ECHO, "persistant")]
    assert (echo["premiere_vue"], echo["nuits"]) == ("2026-11-21", 3)
    nest = par_mac[(NEST, "disparu")]  # gone tonight: shown whole, as the previous run saw it
    assert nest["identification"]["signature"] == "Google Nest Hub" and nest["ips"] == ["10.20.110.42"]
    assert nest["emplacements"] == [{"equipement": "sw-nord-01", "port": "Gi1/0/7", "vlan": 110}]
    assert (nest["premiere_vue"], nest["nuits"], nest["reseau_incomplet"]) == ("2026-11-21", 2, False)
    assert par_mac[("00:50:b6:1c:2d:3e", "disparu")]["reseau_incomplet"] is True
    # every finding of tonight is there once, with the fields of document["constats"]
    actuels = [c for c in changes["constats"] if c["etat"] != "disparu"]
    assert sorted(changements.cle_constat(c) for c in actuels) == sorted(
        changements.cle_constat(c) for c in document["constats"])
    suivi = {"etat", "premiere_vue", "nuits"}
    assert all(set(c) == set(document["constats"][0]) | suivi | ({"reseau_incomplet"} if c["etat"] == "disparu" else set())
               for c in changes["constats"])


def test_equipement_devenu_illisible_puis_redevenu_lisible(trois_nuits):
    _, resultats, _ = trois_nuits
    assert resultats[1][1]["changements"]["equipements"] == [{"equipement": "sw-sud-02", "etat": "redevenu_lisible"}]
    assert resultats[2][1]["changements"]["equipements"] == [{"equipement": "sw-sud-02", "etat": "devenu_illisible"}]


def test_derogation_qui_expire_dans_les_sept_jours(trois_nuits):
    _, resultats, _ = trois_nuits
    roku = {"mac": "34:5e:08:91:2c:4d", "reseau": "mission-nord", "expire": "2026-11-27", "type": "appareil",
            "justification": "Écran Roku de la salle de télésanté, retrait prévu au remplacement (billet 4821)"}
    assert resultats[0][1]["changements"]["derogations_expirant"] == [{**roku, "jours": 6}]
    assert resultats[2][1]["changements"]["derogations_expirant"] == [{**roku, "jours": 4}]
    assert "Dérogation qui expire dans 4 jours (2026-11-27) : 34:5e:08:91:2c:4d sur mission-nord" in resultats[2][0].stdout


def test_tendance_des_nuits_la_plus_ancienne_d_abord(trois_nuits):
    _, resultats, _ = trois_nuits
    tendance = resultats[2][1]["tendance"]
    assert [p["date"] for p in tendance] == ["2026-11-21", "2026-11-22", "2026-11-23"]
    assert [p["reseaux"]["mission-nord"] for p in tendance] == [{"critiques": 3, "a_verifier": 2}] * 2 + [
        {"critiques": 2, "a_verifier": 2}]
    assert [p["equipements_non_lus"] for p in tendance] == [1, 0, 1]


def test_terminal_montre_les_changements(trois_nuits):
    _, resultats, _ = trois_nuits
    sortie = resultats[2][0].stdout
    assert "Changements depuis le passage précédent (nuit du 2026-11-22, passage n° 2)" in sortie
    assert "0 constat nouveau, 5 persistants, 3 disparus" in sortie
    assert f"DISPARU  critique  mission-nord  {NEST}" in sortie
    # gone from a network that was not fully seen tonight: said so, never taken for good news
    assert "DISPARU  à vérifier  mission-sud  00:50:b6:1c:2d:3e  appareil non autorisé (disparu (vu 1 nuit depuis " \
           "le 2026-11-22) ; réseau incomplet cette nuit : peut-être toujours là)" in sortie
    assert "Équipement sw-sud-02 : devenu illisible" in sortie
    assert "depuis 3 nuits (le 2026-11-21)" in sortie  # the « Depuis » column of the wide table


def test_terminal_etroit_ligne_de_suivi(trois_nuits, tmp_path):
    historique, _, dossier = trois_nuits
    base = tmp_path / "h.sqlite"
    shutil.copy(historique, base)
    resultat = _audit(dossier / "inventaire/hosts.yml", tmp_path / "r", "2026-11-23", "--historique", base,
                      colonnes=80)
    assert "  suivi : depuis 3 nuits (le 2026-11-21)" in resultat.stdout
    assert max(len(l) for l in resultat.stdout.splitlines()) <= 80


def test_csv_colonnes_de_changement_et_disparus_en_fin(trois_nuits):
    _, resultats, dossier = trois_nuits
    lignes = list(csv.reader(io.StringIO((dossier / "2026-11-23/rapport.csv").read_bytes().decode("utf-8-sig")),
                             delimiter=";"))
    assert lignes[0][-3:] == ["Changement", "Première vue", "Nuits"]
    document = resultats[2][1]
    assert len(lignes) == 1 + len(document["constats"]) + 3
    assert [(l[4], l[-3]) for l in lignes[-3:]] == [(NEST, "disparu"), ("00:50:b6:1c:2d:3e", "disparu"),
                                                     ("80:a9:97:40:50:61", "disparu")]
    assert lignes[-3][-2:] == ["2026-11-21", "2"]
    echo = next(l for l in lignes if l[4] == ECHO)
    assert echo[-3:] == ["persistant", "2026-11-21", "3"]


def test_historique_comparer_et_mac_en_lecture_seule(trois_nuits):
    historique, _, _ = trois_nuits
    avant = historique.read_bytes()
    env = {**os.environ, "COLUMNS": "200"}
    ecart = subprocess.run([TELESANTE, "historique", historique, "--comparer", "1", "2026-11-23"],
                           capture_output=True, text=True, env=env)
    assert ecart.returncode == 0, ecart.stderr
    assert "Passage n° 3 (nuit du 2026-11-23) comparé au passage n° 1 (nuit du 2026-11-21)" in ecart.stdout
    assert "Constats : 0 nouveau, 5 persistants, 1 disparu" in ecart.stdout
    assert "Réseau de mission mission-sud" not in ecart.stdout  # incomplete on both nights
    vie = subprocess.run([TELESANTE, "historique", historique, "--mac", NEST.upper().replace(":", "-")],
                         capture_output=True, text=True, env=env)
    assert vie.returncode == 0, vie.stderr
    assert f"{NEST} : constat dans 2 passages sur 3, première fois nuit du 2026-11-21 (passage n° 1), dernière " \
           "fois nuit du 2026-11-22 (passage n° 2)" in vie.stdout
    assert "absente" in vie.stdout and "10.20.110.42; sw-nord-01 Gi1/0/7" in vie.stdout
    for options, message in ((["--comparer", "1", "9"], "aucun passage « 9 »"),
                             (["--comparer", "1", "2026-12-01"], "aucun passage « 2026-12-01 »"),
                             (["--mac", "\x1b[2Jzz"], "adresse MAC invalide « \\x1b[2Jzz »"),
                             (["--mac", NEST, "--comparer", "1", "2"], "ne vont pas ensemble")):
        refus = subprocess.run([TELESANTE, "historique", historique, *options], capture_output=True, text=True)
        assert refus.returncode == 3 and message in refus.stderr and "Traceback" not in refus.stderr
    assert historique.read_bytes() == avant and not Path(f"{historique}-wal").exists()


def test_sans_historique_rien_ne_casse_et_le_dit(tmp_path):
    hosts = _copie(tmp_path)
    (hosts.parent / "group_vars/all/alertes.yml").write_text(
        "telesante_alertes_syslog: {serveur: 127.0.0.1, port: 9, transport: tcp}\n")
    resultat = _audit(hosts, tmp_path / "r", "2026-11-21")
    assert resultat.returncode == 2, resultat.stderr
    document = json.loads((tmp_path / "r/rapport.json").read_text())
    _valide(document)
    assert document["changements"]["historique"] is False and document["changements"]["precedent"] is None
    assert "sans --historique" in document["changements"]["note"]
    assert document["changements"]["constats"] == [] and len(document["tendance"]) == 1
    assert "alertes non envoyées : elles demandent --historique" in document["alertes"]["note"]
    assert "Alertes : alertes non envoyées" in resultat.stderr
    assert "audit sans --historique" in resultat.stdout


def test_historique_ancien_complete_et_compare(tmp_path):
    """A history written before the changes (old schema, no key column): still read, compared, completed."""
    base = tmp_path / "ancien.sqlite"
    hosts = _copie(tmp_path)
    premier = _audit(hosts, tmp_path / "r1", "2026-11-21")
    document = json.loads((tmp_path / "r1/rapport.json").read_text())
    with sqlite3.connect(base) as db:
        db.executescript(SCHEMA)
        run = db.execute("INSERT INTO passages (debut, fin, inventaire, mode, code_sortie, statut, interrompu, resume) "
                         "VALUES (?, ?, ?, ?, 2, 'incomplet', 0, '{}')",
                         (document["debut"], document["fin"], document["inventaire"], document["mode"])).lastrowid
        db.executemany("INSERT INTO constats VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
            (run, c["reseau"], c["site"], c["mac"], c["gravite"], c["type"], c["statut"], c["message"],
             json.dumps({k: c[k] for k in ("ips", "vlans", "emplacements", "noms_hote", "sources")}))
            for c in document["constats"]])
    assert premier.returncode == 2
    resultat = _audit(hosts, tmp_path / "r2", "2026-11-22", "--historique", base)
    assert resultat.returncode == 2, resultat.stderr
    changes = json.loads((tmp_path / "r2/rapport.json").read_text())["changements"]
    assert {c["etat"] for c in changes["constats"]} == {"persistant"}
    assert changes["precedent"]["nuit"] == document["debut"][:10]  # an old run's night: the date of its start
    with sqlite3.connect(base) as db:
        assert {r[1] for r in db.execute("PRAGMA table_info(constats)")} >= {"cle", "premiere_vue", "nuits"}
        assert db.execute("SELECT COUNT(*) FROM nuits").fetchone() == (1,)


def _document(nuit: str, critiques: int, isolement: list[dict] | None = None) -> dict:
    constat = {"gravite": "critique", "type": "categorie_interdite", "statut": "actif", "message": "m",
               "reseau": "mission-nord", "site": "nord", "fabricant": None,
               "identification": {"signature": None, "categorie": None, "motifs": []}, "vlans": [],
               "emplacements": [], "noms_hote": [], "services_mdns": [], "sources": [], "vu_le": None, "derogation": None}
    return {"debut": f"{nuit}T02:00:00+00:00", "fin": f"{nuit}T02:01:00+00:00", "date_reference": nuit,
            "inventaire": "i", "mode": "captures", "resume": {},
            "verdict": {"code_sortie": 1, "statut": "non_conforme", "interrompu": False}, "equipements": [],
            "reseaux": [{"nom": "mission-nord", "site": "nord", "type": "mission", "statut": "non_conforme",
                         "appareils": 1, "constats_actifs": critiques, "motif": None}],
            "constats": [{**constat, "mac": f"02:00:00:00:00:{i:02x}", "ips": []} for i in range(critiques)],
            "isolement": {"paires": [], "constats": isolement or []}}


def test_tendance_trente_nuits_et_constats_d_isolement(tmp_path):
    base = tmp_path / "h.sqlite"
    fuite = {"gravite": "critique", "type": "reseaux_non_separes", "statut": "actif", "message": "fuite",
             "site": "nord", "depuis": "patients-nord", "sonde": "sonde-1", "vers": "mission-nord",
             "cible": "10.20.110.1", "port": 443, "nom": None, "methode": "tcp", "delai_ms": 1.5, "detail": None,
             "derogation": None}
    for jour in range(1, 33):
        enregistrement = enregistrer_nuit(base, _document(f"2026-10-{jour:02d}" if jour <= 31 else "2026-11-01",
                                                          jour % 4, [fuite] if jour >= 30 else []))
    assert [p["date"] for p in enregistrement.tendance] == [f"2026-10-{j:02d}" for j in range(3, 32)] + ["2026-11-01"]
    assert enregistrement.tendance[-1] == {"date": "2026-11-01", "reseaux": {"mission-nord": {"critiques": 1,
                                                                                                "a_verifier": 0}},
                                           "equipements_non_lus": 0}
    [isolement] = enregistrement.changements["constats_isolement"]
    assert (isolement["etat"], isolement["premiere_vue"], isolement["nuits"]) == ("persistant", "2026-10-30", 3)
    with sqlite3.connect(base) as db:
        assert db.execute("SELECT COUNT(*) FROM constats_isolement").fetchone() == (3,)


ALERTES_INVALIDES = """\
telesante_alertes_courriel:
  serveur: "smtp exemple"
  port: 70000
  expediteur: "pas-une-adresse"
  destinataires: ["equipe@hopital.example", "x\\nBcc: pirate@example.com"]
  utilisateur: alertes
  mot_de_passe: "secret-du-coffre\\nsuite"
  cle_inconnue: 1
telesante_alertes_syslog: {serveur: 127.0.0.1, transport: sctp, facilite: local9}
telesante_alertes_webhook: {url: "ftp://hooks.example/JETON-SECRET", format: discord, delai_secondes: 0}
"""


def test_variables_d_alertes_invalides_code_3_sans_citer_les_secrets(tmp_path):
    hosts = _copie(tmp_path)
    (hosts.parent / "group_vars/all/alertes.yml").write_text(ALERTES_INVALIDES)
    resultat = _audit(hosts, tmp_path / "r", "2026-11-21")
    assert resultat.returncode == 3
    erreurs = resultat.stderr
    fichier = "group_vars/all/alertes.yml, ligne"
    for attendu in ("clé « telesante_alertes_courriel.serveur » : nom d'hôte ou adresse invalide « smtp exemple »",
                    "clé « telesante_alertes_courriel.port » : valeur invalide « 70000 » (entier de 1 à 65535)",
                    "clé « telesante_alertes_courriel.expediteur » : adresse de courriel invalide « pas-une-adresse »",
                    "clé « telesante_alertes_courriel.destinataires[1] » : adresse de courriel invalide",
                    "clé « telesante_alertes_courriel.mot_de_passe » : mot de passe SMTP invalide",
                    "clé « telesante_alertes_courriel.cle_inconnue » : clé inconnue",
                    "clé « telesante_alertes_syslog.transport » : « sctp » inconnu (attendu : udp ou tcp)",
                    "clé « telesante_alertes_syslog.facilite » : « local9 » inconnue",
                    "clé « telesante_alertes_webhook.url » : adresse http:// ou https:// attendue (non citée",
                    "clé « telesante_alertes_webhook.format » : « discord » inconnu",
                    "clé « telesante_alertes_webhook.delai_secondes » : valeur invalide « 0 » (entier de 1 à 300)"):
        assert attendu in erreurs, attendu
        ligne = next(l for l in erreurs.splitlines() if attendu[:40] in l)
        assert fichier in ligne, ligne
    assert "secret-du-coffre" not in erreurs and "JETON-SECRET" not in erreurs
    assert "\nBcc" not in erreurs  # a line break in a value is shown, never written


def test_variables_d_alertes_valides_lues(tmp_path):
    from telesante.inventaire import charger_configuration

    hosts = _copie(tmp_path)
    (hosts.parent / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (hosts.parent / "group_vars/all/alertes.yml").write_text("""\
telesante_alertes_courriel:
  serveur: smtp.hopital.example
  expediteur: telesante@hopital.example
  destinataires: equipe-reseau@hopital.example
  utilisateur: telesante
  mot_de_passe: "{{ vault_mot_de_passe_smtp }}"
  autorite_certification: ca.pem
vault_mot_de_passe_smtp: "le-secret"
telesante_alertes_webhook: {url: "https://hooks.slack.example/services/T0/B0/JETON", format: slack}
""")
    alertes = charger_configuration(hosts).alertes
    assert alertes.canaux() == ("courriel", "webhook")
    assert alertes.courriel.port == 587 and alertes.courriel.mot_de_passe == "le-secret"
    assert alertes.courriel.destinataires == ("equipe-reseau@hopital.example",)
    assert alertes.courriel.autorite == hosts.parent / "ca.pem" and alertes.webhook.delai == 10.0
    assert "le-secret" not in repr(alertes) and "JETON" not in repr(alertes)
    assert alertes.webhook.destination == "https://hooks.slack.example"
