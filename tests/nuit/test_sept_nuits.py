"""Seven nights replayed with the real command (`telesante audit --date`) on a copy of the demo
inventory whose captures change from night to night, the three alert channels declared in
the inventory (the SMTP password in a Vault file) and real receivers on 127.0.0.1: exactly
the expected alerts arrive, none twice; an alert that could not leave (SMTP server down,
webhook answering 500) leaves the verdict alone and arrives the next night, once."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


from tests.nuit.recepteurs import MOT_DE_PASSE, UTILISATEUR, CollecteurSyslog, ServeurHttp, ServeurSmtp

TELESANTE = Path(sys.executable).with_name("telesante")
ANSIBLE_VAULT = Path(sys.executable).with_name("ansible-vault")
EXEMPLE = Path(__file__).resolve().parents[2] / "inventaires" / "exemple"
NORD, SUD = "mission-nord", "mission-sud"
ECHO, NEST, CHROMECAST, AMAZON_SUD = "84:28:59:3a:7c:21", "60:70:6c:12:ab:34", "24:29:34:88:19:0c", "84:28:59:0a:0b:0c"


def _inventaire(dossier: Path, ca: Path, smtp: int, http: int, syslog: int) -> tuple[Path, Path]:
    copie = dossier / "inventaire"
    shutil.copytree(EXEMPLE, copie)
    (copie / "pki").mkdir()
    shutil.copy(ca, copie / "pki" / "ca.pem")
    (copie / "group_vars/all/age.yml").write_text("telesante_age_max_sources_heures: 400\n")
    (copie / "group_vars/all/alertes.yml").write_text(f"""\
telesante_alertes_courriel:
  serveur: 127.0.0.1
  port: {smtp}
  expediteur: telesante@hopital.example
  destinataires: [reseau@hopital.example]
  utilisateur: {UTILISATEUR}
  mot_de_passe: "{{{{ vault_smtp_mot_de_passe }}}}"
  autorite_certification: pki/ca.pem
  delai_secondes: 5
telesante_alertes_syslog:
  serveur: 127.0.0.1
  port: {syslog}
  transport: tcp
telesante_alertes_webhook:
  url: http://127.0.0.1:{http}/crochet/JETON-SECRET
  format: json
""")
    mot_de_passe_vault = dossier / "vault.txt"
    mot_de_passe_vault.write_text("mot-de-passe-du-coffre\n")
    secret = copie / "group_vars/all/vault.yml"
    secret.write_text(f"vault_smtp_mot_de_passe: {MOT_DE_PASSE}\n")
    subprocess.run([ANSIBLE_VAULT, "encrypt", "--vault-password-file", mot_de_passe_vault, secret], check=True,
                   capture_output=True)
    return copie / "hosts.yml", mot_de_passe_vault


def _remplacer(fichier: Path, avant: str, apres: str) -> None:
    texte = fichier.read_text()
    assert avant in texte, (fichier, avant)
    fichier.write_text(texte.replace(avant, apres))


def _retirer_lignes(fichier: Path, *motifs: str) -> None:
    fichier.write_text("".join(l for l in fichier.read_text().splitlines(True) if not any(m in l for m in motifs)))


def _changer_captures(captures: Path, nuit: int) -> None:
    """What happens on the network before each night (1: the demo as it is)."""
    hp = captures / "sw-sud-02/show_mac-address.txt"
    ios = captures / "sw-nord-01/show_mac_address-table.txt"
    if nuit == 3:  # the cut HP capture is taken again whole: the south site is read
        _retirer_lignes(hp, "842859-0a0b0c")
    elif nuit == 4:  # an Amazon device is plugged on the south mission VLAN; the Nest Hub leaves the north
        hp.write_text(hp.read_text() + "  842859-0a0b0c     9                               210\n")
        _retirer_lignes(ios, "6070.6c12.ab34")
        _remplacer(ios, "criterion: 16", "criterion: 15")
        _retirer_lignes(captures / "sw-nord-01/show_ip_arp.txt", "6070.6c12.ab34")
        _retirer_lignes(captures / "dhcp-nord/dnsmasq.leases", "60:70:6c:12:ab:34")
        mdns = captures / "sonde-nord/mdns.json"
        annonces = json.loads(mdns.read_text())
        annonces["annonces"] = [a for a in annonces["annonces"] if a["ip"] != "10.20.110.42"]
        mdns.write_text(json.dumps(annonces))
    elif nuit == 5:  # the north switch's capture comes back cut
        sauvegarde = ios.with_suffix(".entier")
        shutil.copy(ios, sauvegarde)
        ios.write_text(ios.read_text().split(" 120    2873")[0] + " 120    2873.f644")
    elif nuit == 6:  # and whole again; the Amazon device leaves the south, whose two unknown devices are declared
        shutil.move(ios.with_suffix(".entier"), ios)
        _retirer_lignes(hp, "842859-0a0b0c")
        autorises = captures.parent / "group_vars/all/autorises.yml"
        autorises.write_text(autorises.read_text() + "  - {mac: '00:50:b6:1c:2d:3e', nom: moniteur-sud, type: biomedical}\n"
                             "  - {mac: '80:a9:97:40:50:61', nom: mac-sud-01 (2e interface), type: poste}\n")


def _attendre(condition, delai: float = 5.0) -> None:
    fin = time.monotonic() + delai
    while not condition() and time.monotonic() < fin:
        time.sleep(0.05)


def test_sept_nuits_alertes_exactes_aucune_en_double(tmp_path, certificats):
    ca, certificat, cle = certificats
    with ServeurHttp() as http, CollecteurSyslog("tcp") as syslog:
        smtp = ServeurSmtp(certificat, cle)
        hosts, vault = _inventaire(tmp_path, ca, smtp.port, http.port, syslog.port)
        historique = tmp_path / "historique.sqlite"
        recus = []  # per night: (mail subjects, webhook events, syslog msgids, exit code, document)
        smtp.__enter__()
        try:
            for nuit in range(1, 8):
                _changer_captures(hosts.parent / "captures", nuit)
                if nuit == 5:
                    smtp.__exit__(None, None, None)  # the mail server is down this night
                    http.statut = 500  # and the webhook receiver fails
                if nuit == 6:
                    smtp = ServeurSmtp(certificat, cle, port=smtp.port)
                    smtp.__enter__()
                    http.statut = 200
                avant = (len(smtp.messages), len(http.requetes), len(syslog.messages))
                resultat = subprocess.run(
                    [TELESANTE, "audit", "-i", hosts, "--fichier-mot-de-passe-vault", vault, "--date",
                     f"2026-11-{20 + nuit}", "-f", "terminal,json,html", "-o", tmp_path / f"nuit{nuit}",
                     "--historique", historique], capture_output=True, text=True, timeout=300,
                    env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
                assert resultat.returncode in (1, 2), resultat.stderr
                assert MOT_DE_PASSE not in resultat.stdout + resultat.stderr
                assert "JETON-SECRET" not in resultat.stdout + resultat.stderr
                _attendre(lambda: len(syslog.messages) >= avant[2] + 1, 1.0)
                document = json.loads((tmp_path / f"nuit{nuit}/rapport.json").read_text())
                recus.append(([m["message"]["Subject"] for m in smtp.messages[avant[0]:]],
                              [(r["corps"]["nuit"], [(e["type"], e["reseau"], e.get("mac")) for e in r["corps"]["evenements"]])
                               for r in http.requetes[avant[1]:] if r["statut"] == 200],
                              [(m["msgid"], m["donnees"]["telesante@32473"]["reseau"]) for m in syslog.messages[avant[2]:]],
                              resultat.returncode, document, resultat.stderr))
        finally:
            smtp.__exit__(None, None, None)
    assert syslog.erreurs == []
    from tests.nuit.test_changements import _valide

    for recu in recus:
        _valide(recu[4])  # every night's report, its alerts sent and failed included, against the schema
    sujets, crochets, trames, codes = ([r[i] for r in recus] for i in range(4))
    assert codes == [2, 2, 1, 1, 2, 1, 1]
    n1 = [("nouveau_critique", NORD, CHROMECAST), ("nouveau_critique", NORD, NEST), ("nouveau_critique", NORD, ECHO),
          ("reseau_non_conforme", NORD, None), ("reseau_incomplet", SUD, None)]
    assert crochets == [
        [("2026-11-21", n1)], [], [("2026-11-23", [("reseau_non_conforme", SUD, None)])],
        [("2026-11-24", [("nouveau_critique", SUD, AMAZON_SUD)])], [],  # night 5: the receiver answers 500
        [("2026-11-25", [("reseau_incomplet", NORD, None)]),  # night 5's alert, sent the next night
         ("2026-11-26", [("reseau_non_conforme", NORD, None), ("retour_conformite", SUD, None)])], []]
    assert trames == [[(t, r) for t, r, _ in n1], [], [("reseau_non_conforme", SUD)], [("nouveau_critique", SUD)],
                      [("reseau_incomplet", NORD)], [("reseau_non_conforme", NORD), ("retour_conformite", SUD)], []]
    assert sujets == [
        ["[telesante] Audit de la nuit du 2026-11-21 : 3 nouveaux constats critiques, 1 réseau devenu non conforme, "
         "1 réseau devenu incomplet"], [], ["[telesante] Audit de la nuit du 2026-11-23 : 1 réseau devenu non conforme"],
        ["[telesante] Audit de la nuit du 2026-11-24 : 1 nouveau constat critique"], [],
        ["[telesante] Audit de la nuit du 2026-11-25 : 1 réseau devenu incomplet",
         "[telesante] Audit de la nuit du 2026-11-26 : 1 réseau devenu non conforme, 1 réseau revenu à la conformité"],
        []]
    # the failed night: verdict kept (code 2 for the cut capture), failures told in the report and on stderr
    cinq = recus[4][4]
    assert cinq["verdict"]["code_sortie"] == 2
    assert [(a["canal"], a["erreur"].split(" : ")[-1]) for a in cinq["alertes"]["en_echec"]] == [
        ("courriel", "connexion refusée"), ("webhook", "réponse HTTP 500")]
    assert "Alerte webhook NON envoyée (nuit du 2026-11-25)" in recus[4][5]
    assert "elle sera retentée au passage suivant" in recus[4][5]
    # the mail of night 5, sent on night 6, says so and carries night 6's report
    renvoi = smtp.messages[-2]["message"]
    assert "n'avait pas pu partir après l'audit de la nuit du 2026-11-25" in renvoi.get_body(("plain",)).get_content()
    [piece] = list(renvoi.iter_attachments())
    assert piece.get_filename() == "rapport-2026-11-26.html" and b"<html" in piece.get_payload(decode=True)
    # the queue: every alert of every channel sent once, nothing left waiting
    with sqlite3.connect(historique) as base:
        file = base.execute("SELECT passage_id, canal, etat, tentatives FROM alertes ORDER BY id").fetchall()
    assert file == [(p, c, "envoyee", 2 if (p, c) in ((5, "courriel"), (5, "webhook")) else 1)
                    for p in (1, 3, 4, 5, 6) for c in ("courriel", "syslog", "webhook")]
