"""The audit over real SSH against the lab: expected findings, and each fault as a test."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .inventaire_labo import ecrire_inventaire
from .topologie import PASSERELLE, COMMUTATEUR

TELESANTE = str(Path(sys.executable).with_name("telesante"))
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "200"}

pytestmark = pytest.mark.racine


def _audit(hosts: Path, sortie: Path, *extra: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run(
        [TELESANTE, "audit", "-i", str(hosts), "--source", "direct", "-f", "terminal,json", "-o", str(sortie), *extra],
        capture_output=True, text=True, timeout=timeout, env=ENV,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result, json.loads((sortie / "rapport.json").read_text())


def _actifs(document) -> dict[str, tuple[str, str]]:
    return {c["mac"]: (c["gravite"], c["type"]) for c in document["constats"] if c["statut"] == "actif"}


def _equipements(document) -> dict[str, dict]:
    return {e["nom"]: e for e in document["equipements"]}


@pytest.fixture(scope="module")
def mdns(laboratoire, tmp_path_factory) -> Path:
    """The mDNS sensor, run for real inside the probe's namespace on the mission VLAN."""
    sortie = tmp_path_factory.mktemp("capteur") / "mdns.json"
    result = laboratoire.executer_dans(laboratoire.topologie.sonde, [TELESANTE, "capteur", "mdns", "--interface", "eth0",
                                            "--duree", "4", "--sortie", str(sortie), "--nom", "sonde-labo"], timeout=30)
    assert result.returncode == 0, result.stderr
    return sortie


def test_capteur_mdns_voit_le_nest_hub(laboratoire, mdns):
    document = json.loads(mdns.read_text())
    nest = laboratoire.hote("nest-hub")
    [annonce] = [a for a in document["annonces"] if a["service"] == "_googlecast._tcp.local."]
    assert annonce["ip"] == nest.ip
    assert annonce["txt"]["md"] == "Google Nest Hub"


def test_audit_direct_constats_attendus_avec_port_et_vlan(laboratoire, mdns, tmp_path):
    laboratoire.rafraichir_trafic()
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", mdns)
    result, document = _audit(hosts, tmp_path / "r", "--enregistrer-captures", str(tmp_path / "captures"))
    assert result.returncode == 1, result.stdout + result.stderr
    echo, nest, phone = laboratoire.hote("echo-show"), laboratoire.hote("nest-hub"), laboratoire.hote("telephone")
    assert _actifs(document) == {
        echo.mac: ("critique", "categorie_interdite"),
        nest.mac: ("critique", "categorie_interdite"),
        phone.mac: ("à vérifier", "mac_aleatoire"),
    }
    by_mac = {c["mac"]: c for c in document["constats"]}
    for host in (echo, nest, phone):
        assert by_mac[host.mac]["emplacements"] == [{"equipement": COMMUTATEUR, "port": host.port_commutateur, "vlan": 110}]
        assert by_mac[host.mac]["ips"] == [host.ip]
    assert by_mac[echo.mac]["noms_hote"] == [echo.nom_dhcp]
    assert by_mac[nest.mac]["identification"]["signature"] == "Google Nest Hub"
    assert any(s.startswith("sonde-labo") for s in by_mac[nest.mac]["sources"])
    reseaux = {r["nom"]: r for r in document["reseaux"]}
    assert reseaux["mission-labo"]["statut"] == "non_conforme"
    assert reseaux["patients-labo"]["statut"] == "conforme" and reseaux["patients-labo"]["appareils"] >= 1
    assert all(e["statut"] == "complet" for e in document["equipements"])

    # The same run, replayed offline from what it recorded, gives the same verdict.
    shutil.copytree(tmp_path / "captures", hosts.parent / "captures")
    replay = subprocess.run([TELESANTE, "audit", "-i", str(hosts), "-f", "json", "-o", str(tmp_path / "rejeu")],
                            capture_output=True, text=True, timeout=60, env=ENV)
    assert replay.returncode == 1, replay.stderr
    assert _actifs(json.loads((tmp_path / "rejeu/rapport.json").read_text())) == _actifs(document)


def test_sshd_arrete_equipement_incomplet_les_autres_audites(laboratoire, tmp_path):
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    laboratoire.arreter_sshd(COMMUTATEUR)
    try:
        result, document = _audit(hosts, tmp_path / "r", "--tentatives", "2", "--delai-connexion", "2")
    finally:
        laboratoire.demarrer_sshd(COMMUTATEUR)
    assert result.returncode == 2
    equipements = _equipements(document)
    assert equipements[COMMUTATEUR]["statut"] == "incomplet"
    assert "connexion refusée" in equipements[COMMUTATEUR]["problemes"][0]
    assert "après 2 tentatives" in equipements[COMMUTATEUR]["problemes"][0]
    assert equipements[PASSERELLE]["statut"] == equipements["dhcp-labo"]["statut"] == "complet"
    assert COMMUTATEUR in result.stdout
    # What the other equipment saw is still judged: the Echo is found through the gateway and DHCP.
    assert laboratoire.hote("echo-show").mac in _actifs(document)
    assert {r["nom"]: r["statut"] for r in document["reseaux"]}["mission-labo"] == "incomplet"


def test_mauvais_identifiants(laboratoire, tmp_path):
    other_key = tmp_path / "autre_cle"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other_key)], check=True)
    secret = "MotDePasse-Secret-42"
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", **{
        COMMUTATEUR: {"ansible_ssh_private_key_file": str(other_key), "ansible_password": secret}})
    result, document = _audit(hosts, tmp_path / "r")
    assert result.returncode == 2
    [probleme] = _equipements(document)[COMMUTATEUR]["problemes"]
    assert "authentification refusée" in probleme and "tentatives" not in probleme  # not retried
    assert secret not in result.stdout + result.stderr + (tmp_path / "r/rapport.json").read_text()


def test_cle_d_hote_changee_refusee_puis_epinglee_explicitement(laboratoire, tmp_path):
    old_known_hosts = tmp_path / "hotes_connus"
    shutil.copy(laboratoire.hotes_connus, old_known_hosts)
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    laboratoire.changer_cle_hote(COMMUTATEUR)
    try:
        result, document = _audit(hosts, tmp_path / "r", "--hotes-connus", str(old_known_hosts))
        assert result.returncode == 2
        [probleme] = _equipements(document)[COMMUTATEUR]["problemes"]
        assert "CHANGÉE" in probleme and "telesante cles-hotes epingler commutateur" in probleme
        assert _equipements(document)[PASSERELLE]["statut"] == "complet"

        # Pinning needs the expected fingerprint when not at a terminal: nothing is pinned blindly.
        pin = [TELESANTE, "cles-hotes", "epingler", "-i", str(hosts), "--hotes-connus", str(old_known_hosts), COMMUTATEUR]
        refused = subprocess.run(pin, capture_output=True, text=True, timeout=30, env=ENV, stdin=subprocess.DEVNULL)
        assert refused.returncode == 1 and "--empreinte est obligatoire" in refused.stderr
        fingerprint = refused.stdout.split()[-1]
        wrong = subprocess.run(pin + ["--empreinte", "SHA256:faux"], capture_output=True, text=True, timeout=30, env=ENV)
        assert wrong.returncode == 1 and "NON épinglée" in wrong.stderr
        pinned = subprocess.run(pin + ["--empreinte", fingerprint], capture_output=True, text=True, timeout=30, env=ENV)
        assert pinned.returncode == 0, pinned.stderr
        result, document = _audit(hosts, tmp_path / "r2", "--hotes-connus", str(old_known_hosts))
        assert _equipements(document)[COMMUTATEUR]["statut"] == "complet"
    finally:
        laboratoire.rafraichir_hotes_connus()


def test_cle_d_hote_inconnue_refusee(laboratoire, tmp_path):
    empty = tmp_path / "vide"
    empty.write_text("")
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    result, document = _audit(hosts, tmp_path / "r", "--hotes-connus", str(empty))
    assert result.returncode == 2
    assert all("inconnue" in e["problemes"][0] for e in document["equipements"])


def test_lien_lent_delai_depasse_et_duree_bornee(laboratoire, tmp_path):
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    laboratoire.ralentir(COMMUTATEUR, 2500)
    try:
        start = time.monotonic()
        result, document = _audit(hosts, tmp_path / "r", "--delai-connexion", "1", "--tentatives", "2")
        elapsed = time.monotonic() - start
    finally:
        laboratoire.retablir(COMMUTATEUR)
    assert result.returncode == 2
    assert "délai dépassé" in _equipements(document)[COMMUTATEUR]["problemes"][0]
    assert _equipements(document)[PASSERELLE]["statut"] == "complet"
    assert elapsed < 20, f"audit trop long malgré les délais : {elapsed:.1f} s"


def test_commande_en_echec_et_sortie_etrangere(laboratoire, tmp_path):
    hosts = ecrire_inventaire(
        laboratoire, tmp_path / "inv", tmp_path / "absent.json",
        **{"dhcp-labo": {"telesante_fichier": "/etc/hostname"},
           PASSERELLE: {"telesante_plateforme": "cisco_nxos"}},
    )
    result, document = _audit(hosts, tmp_path / "r", "--delai-commande", "5", "--tentatives", "1")
    assert result.returncode == 2
    equipements = _equipements(document)
    assert "bail dnsmasq illisible" in equipements["dhcp-labo"]["problemes"][0]
    assert "« cat" in equipements["sonde-labo"]["problemes"][0] and "a échoué" in equipements["sonde-labo"]["problemes"][0]
    assert equipements[PASSERELLE]["statut"] == "incomplet"  # a Linux shell is not an NX-OS CLI
    assert equipements[COMMUTATEUR]["statut"] == "complet"


def test_sigterm_pendant_la_collecte_rapport_partiel(laboratoire, tmp_path):
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv")
    sortie = tmp_path / "r"
    base = tmp_path / "historique.sqlite"
    _audit(hosts, sortie, "--historique", str(base))  # an earlier complete run
    earlier = (sortie / "rapport.json").read_text()
    laboratoire.ralentir(COMMUTATEUR, 3000)
    try:
        process = subprocess.Popen(
            [TELESANTE, "audit", "-i", str(hosts), "--source", "direct", "-f", "json", "-o", str(sortie),
             "--parallele", "1", "--delai-connexion", "10", "--historique", str(base)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
        )
        time.sleep(2.0)
        process.send_signal(signal.SIGTERM)
        start = time.monotonic()
        stdout, stderr = process.communicate(timeout=30)
        stop_seconds = time.monotonic() - start
    finally:
        laboratoire.retablir(COMMUTATEUR)
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr
    assert "Arrêt demandé (SIGTERM)" in stderr
    assert stop_seconds < 5
    document = json.loads((sortie / "rapport.json").read_text())
    assert document["verdict"]["interrompu"] is True and document["verdict"]["statut"] == "incomplet"
    assert any("interrompu" in p for e in document["equipements"] for p in e["problemes"])
    assert json.loads(earlier)["verdict"]["interrompu"] is False  # the earlier report was whole, never half-written
    with sqlite3.connect(base) as db:  # the earlier run is kept, the interrupted one is added
        assert db.execute("SELECT id, interrompu FROM passages ORDER BY id").fetchall() == [(1, 0), (2, 1)]


@contextlib.contextmanager
def _cle_cli_ios(laboratoire, dossier: Path, *options: str):
    """A key whose sessions on the lab switch get the IOS CLI stand-in (forced command, with these options)."""
    key = dossier / "cle_ios"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    before = laboratoire.cles_autorisees.read_text()
    script = " ".join([str(Path(__file__).with_name("cli_ios_simulee.py")), *options])
    laboratoire.cles_autorisees.write_text(before + f'command="{script}" {key.with_suffix(".pub").read_text()}')
    try:
        yield key
    finally:
        laboratoire.cles_autorisees.write_text(before)


@pytest.fixture
def acces_ios(laboratoire, tmp_path):
    """A key whose sessions on the lab switch get the IOS CLI stand-in (forced command)."""
    with _cle_cli_ios(laboratoire, tmp_path) as key:
        yield key


def test_cli_constructeur_par_netmiko_et_ntc_templates(laboratoire, mdns, tmp_path, acces_ios):
    """The vendor path end to end: netmiko's cisco_ios driver, then ntc-templates, over real SSH."""
    laboratoire.rafraichir_trafic()
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", mdns, **{
        COMMUTATEUR: {"telesante_plateforme": "cisco_ios", "ansible_ssh_private_key_file": str(acces_ios)}})
    result, document = _audit(hosts, tmp_path / "r", "--enregistrer-captures", str(tmp_path / "captures"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert _equipements(document)[COMMUTATEUR]["lectures"] == ["show mac address-table", "show ip arp"]
    echo = laboratoire.hote("echo-show")
    [constat] = [c for c in document["constats"] if c["mac"] == echo.mac]
    assert constat["emplacements"] == [{"equipement": COMMUTATEUR, "port": echo.port_commutateur, "vlan": 110}]
    assert (tmp_path / "captures" / COMMUTATEUR / "show_mac_address-table.txt").read_text().startswith("          Mac Address Table")


def test_commande_inconnue_de_l_equipement(laboratoire, tmp_path, acces_ios):
    """An IOS that rejects a command ('% Invalid input') makes the equipment incomplete, named."""
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", **{
        COMMUTATEUR: {"telesante_plateforme": "aruba_aoscx", "ansible_ssh_private_key_file": str(acces_ios)}})
    result, document = _audit(hosts, tmp_path / "r", "--tentatives", "1", "--delai-commande", "10")
    [probleme] = _equipements(document)[COMMUTATEUR]["problemes"]
    assert result.returncode == 2
    assert probleme.startswith("« show mac-address-table » refusée par l'équipement : % Invalid input"), probleme


def test_commutateur_lent_mais_vivant_lu_en_entier(laboratoire, tmp_path):
    """A switch that takes 2 s to answer each line (busy CPU) is read whole within --delai-commande.

    netmiko's defaults made it incomplete whatever the delay: before each command it looked for the
    prompt again, sending Enter once more each time nothing came back yet (five or six here), and the
    switch answered every one before echoing the command; netmiko waits 10 s for that echo, fixed.
    """
    laboratoire.rafraichir_trafic()
    with _cle_cli_ios(laboratoire, tmp_path, "--lenteur", "2") as cle:
        hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", **{
            COMMUTATEUR: {"telesante_plateforme": "cisco_ios", "ansible_ssh_private_key_file": str(cle)}})
        result, document = _audit(hosts, tmp_path / "r", "--tentatives", "1", "--delai-commande", "30",
                                  "--enregistrer-captures", str(tmp_path / "captures"))
    commutateur = _equipements(document)[COMMUTATEUR]
    assert commutateur["statut"] == "complet", commutateur["problemes"]
    assert commutateur["lectures"] == ["show mac address-table", "show ip arp"]
    # Only the answers, read after their echo: no prompt owed for an earlier Enter, no echo.
    table = (tmp_path / "captures" / COMMUTATEUR / "show_mac_address-table.txt").read_text()
    assert table.startswith("          Mac Address Table") and "commutateur-ios#" not in table
    echo = laboratoire.hote("echo-show")
    [constat] = [c for c in document["constats"] if c["mac"] == echo.mac]
    assert {"equipement": COMMUTATEUR, "port": echo.port_commutateur, "vlan": 110} in constat["emplacements"]
    assert result.returncode == 1, result.stdout + result.stderr


def test_commutateur_muet_incomplet_apres_le_delai(laboratoire, tmp_path):
    """A CLI that never answers makes its switch incomplete once --delai-commande has passed, never complete."""
    with _cle_cli_ios(laboratoire, tmp_path, "--lenteur", "600") as cle:
        hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", **{
            COMMUTATEUR: {"telesante_plateforme": "cisco_ios", "ansible_ssh_private_key_file": str(cle)}})
        debut = time.monotonic()
        result, document = _audit(hosts, tmp_path / "r", "--tentatives", "1", "--delai-commande", "3")
        duree = time.monotonic() - debut
    [probleme] = _equipements(document)[COMMUTATEUR]["problemes"]
    assert result.returncode == 2
    assert "délai dépassé" in probleme and "en 3 s (--delai-commande)" in probleme, probleme
    assert duree < 30, f"audit trop long malgré le délai : {duree:.1f} s"


def test_sonde_d_isolement_rapatriee_par_ssh(laboratoire, mdns, tmp_path):
    """The isolation probe's file, read over SSH like every source (host keys, delays) and recorded by
    --enregistrer-captures: its leak is a critical finding, and the recorded run replays offline."""
    import yaml

    laboratoire.rafraichir_trafic()
    poste = laboratoire.hote("mac-poste")
    resultat = tmp_path / "sonde" / "isolement.json"
    resultat.parent.mkdir()
    resultat.write_text(json.dumps({
        "format": "telesante-sonde-isolement", "version": 1, "sonde": "sonde-isolement-labo", "reseau": "patients-labo",
        "debut": "2026-01-01T00:00:00+00:00", "fin": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        "bornes": {"paquets_max": 200, "debit_max": 20.0, "duree_max": 60.0, "delai": 1.0}, "paquets_envoyes": 1,
        "methodes": ["icmp"], "complet": True,
        "essais": [{"methode": "icmp", "cible": poste.ip, "reseau_cible": "mission-labo", "resultat": "joint",
                    "delai_ms": 0.9, "detail": "réponse d'écho ICMP"}]}))
    resultat.parent.chmod(0o755)
    resultat.chmod(0o644)
    hosts = ecrire_inventaire(laboratoire, tmp_path / "inv", mdns)
    inventaire = yaml.safe_load(hosts.read_text())
    inventaire["all"]["children"]["equipements_labo"]["hosts"]["sonde-isolement-labo"] = {
        "ansible_host": laboratoire.passerelle.ip_gestion, "ansible_port": laboratoire.passerelle.port_ssh, "ansible_user": laboratoire.passerelle.utilisateur,
        "ansible_ssh_private_key_file": str(laboratoire.passerelle.chemin_cle), "telesante_plateforme": "sonde_isolement",
        "telesante_reseau": "patients-labo", "telesante_fichier": str(resultat)}
    hosts.write_text(yaml.safe_dump(inventaire, sort_keys=False))
    result, document = _audit(hosts, tmp_path / "r", "--enregistrer-captures", str(tmp_path / "captures"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert _equipements(document)["sonde-isolement-labo"]["statut"] == "complet"
    [constat] = document["isolement"]["constats"]
    assert (constat["sonde"], constat["cible"], constat["methode"], constat["vers"]) == (
        "sonde-isolement-labo", poste.ip, "icmp", "mission-labo")
    assert document["isolement"]["paires"][0]["statut"] == "non_separe"
    assert (tmp_path / "captures" / "sonde-isolement-labo" / "isolement.json").read_text() == resultat.read_text()
