"""Inventory read by ansible-core and validated before any work (errors name file, line, key)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from telesante.audit import auditer
from telesante.cli import main
from telesante.collecte.captures import collecter_captures
from telesante.inventaire import ErreurConfiguration, charger_configuration
from telesante.mac import mac_vm_du_numero_serie
from tests.conftest import EXEMPLE


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} absent de {path}"
    path.write_text(text.replace(old, new, 1))


def _erreurs(hosts: Path) -> list[str]:
    with pytest.raises(ErreurConfiguration) as error:
        charger_configuration(hosts)
    return error.value.erreurs


def test_inventaire_exemple_charge(exemple):
    config = charger_configuration(exemple)
    assert {r.nom for r in config.reseaux} == {"mission-nord", "patients-nord", "mission-sud", "invites-sud"}
    sites = {e.nom: e.site for e in config.equipements}
    assert sites["sw-nord-01"] == "hopital_nord"  # set by group_vars/site_hopital_nord.yml
    assert sites["sw-sud-02"] == "clinique_sud"
    assert config.autorises[mac_vm_du_numero_serie("C02ZK1ABMD6R")].type == "VM DSQ"
    assert config.autorises["60:fd:a6:10:20:30"].nom == "mac-urg-01"
    assert config.derogations["24:29:34:88:19:0c"].expiration == date(2026, 3, 31)
    sw = next(e for e in config.equipements if e.nom == "sw-nord-01")
    assert sw.captures == exemple.parent / "captures" / "sw-nord-01"
    assert sw.ports_liaison == {"Gi1/0/48"}


@pytest.mark.parametrize(
    "fichier, ancien, nouveau, ligne, cle, extrait",
    [
        ("group_vars/all/reseaux.yml", "[10.20.110.0/24]", "[10.20.110.300/24]", 8, "telesante_reseaux[0].sous_reseaux[0]", "CIDR invalide"),
        ("group_vars/all/reseaux.yml", "[10.20.110.0/24]", "[10.20.110.5/24]", 8, "telesante_reseaux[0].sous_reseaux[0]", "bits d'hôte"),
        ("group_vars/all/reseaux.yml", "vlans: [110]", "vlans: [5000]", 9, "telesante_reseaux[0].vlans[0]", "VLAN invalide"),
        ("group_vars/all/reseaux.yml", "type: mission", "type: clinique", 7, "telesante_reseaux[0].type", "inconnu"),
        ("group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", "mac: 64:4e:d7:aa:01", 10, "telesante_equipements_autorises[2].mac", "adresse MAC invalide"),
        ("group_vars/all/derogations.yml", "expiration: 2030-06-30", "expiration: 30/06/2030", 6, "telesante_derogations[0].expiration", "date invalide"),
        ("hosts.yml", "telesante_plateforme: hp_procurve", "telesante_plateforme: hp_comware9", 31, "telesante_plateforme", "plateforme « hp_comware9 » inconnue"),
    ],
)
def test_valeur_invalide_nomme_fichier_ligne_et_cle(exemple, fichier, ancien, nouveau, ligne, cle, extrait):
    _replace(exemple.parent / fichier, ancien, nouveau)
    erreurs = _erreurs(exemple)
    assert len(erreurs) == 1, erreurs
    assert erreurs[0].startswith(f"{exemple.parent / fichier}, ligne {ligne} : clé « {cle} »"), erreurs[0]
    assert extrait in erreurs[0]


def test_sous_reseau_a_la_fois_mission_et_hors_mission(exemple):
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "[10.20.120.0/24]", "[10.20.110.128/25]")
    [erreur] = _erreurs(exemple)
    assert erreur.startswith(f"{exemple.parent / 'group_vars/all/reseaux.yml'}, ligne 13 : "
                             "clé « telesante_reseaux[1].sous_reseaux »"), erreur
    assert "« patients-nord » : sous-réseau commun avec le réseau de mission « mission-nord »" in erreur
    assert "10.20.110.128/25" in erreur


def test_vlan_a_la_fois_mission_et_hors_mission_sur_un_site(exemple):
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "vlans: [120]", "vlans: [110]")
    [erreur] = _erreurs(exemple)
    assert erreur.startswith(f"{exemple.parent / 'group_vars/all/reseaux.yml'}, ligne 14 : "
                             "clé « telesante_reseaux[1].vlans »"), erreur
    assert "VLAN commun avec le réseau de mission « mission-nord » (110, site hopital_nord)" in erreur


def test_reseau_de_mission_sur_un_site_sans_equipement(exemple):
    """A typo in a network's site would leave it unaudited, yet « conforme »: refused."""
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "site: clinique_sud\n    type: mission",
             "site: clinique_su\n    type: mission")
    [erreur] = _erreurs(exemple)
    assert erreur.startswith(f"{exemple.parent / 'group_vars/all/reseaux.yml'}, ligne 16 : "
                             "clé « telesante_reseaux[2].site »"), erreur
    assert "« mission-sud » sur le site « clinique_su », où aucun équipement n'est déclaré" in erreur


@pytest.mark.parametrize("fichier, ancien, nouveau", [
    ("group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", "mac: '01:00:5e:00:00:01'"),
    ("group_vars/all/derogations.yml", "mac: 24:29:34:88:19:0c", "mac: 'ff:ff:ff:ff:ff:ff'"),
])
def test_mac_de_groupe_refusee(exemple, fichier, ancien, nouveau):
    _replace(exemple.parent / fichier, ancien, nouveau)
    [erreur] = _erreurs(exemple)
    assert "adresse de groupe (multicast), pas celle d'un appareil" in erreur and fichier in erreur


def test_erreur_de_group_vars_dite_une_seule_fois(exemple):
    """group_vars/all reaches every host: its errors are not repeated once per host."""
    _replace(exemple.parent / "group_vars/all/derogations.yml", "mac: 24:29:34:88:19:0c", "mac: 34:5e:08:91:2c:4d")
    erreurs = _erreurs(exemple)
    assert len(erreurs) == len(set(erreurs)) == 1, erreurs


def test_une_mac_deux_identites(exemple):
    _replace(exemple.parent / "group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", "mac: 60:FD:A6:10:20:30")
    [erreur] = _erreurs(exemple)
    assert "60:fd:a6:10:20:30 est déclarée deux fois" in erreur
    assert "imprimante-urgence" in erreur and "mac-urg-01" in erreur


def test_mac_sans_lettres_lue_comme_nombre_par_yaml(exemple):
    _replace(exemple.parent / "group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", "mac: 10:59:32:33:44:55")
    [erreur] = _erreurs(exemple)
    assert "autorises.yml, ligne 10" in erreur and "entre guillemets" in erreur


def test_toutes_les_erreurs_a_la_fois(exemple):
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "vlans: [110]", "vlans: [0]")
    _replace(exemple.parent / "group_vars/all/derogations.yml", "expiration: 2030-06-30", "expiration: demain")
    assert len(_erreurs(exemple)) == 2


def test_inventaire_introuvable(tmp_path):
    assert "introuvable" in _erreurs(tmp_path / "absent.yml")[0]


def test_code_de_sortie_3_et_message_en_francais(exemple, capsys):
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "[10.20.110.0/24]", "[10.20.110.300/24]")
    assert main(["audit", "-i", str(exemple)]) == 3
    err = capsys.readouterr().err
    assert "Erreur de configuration" in err
    assert "reseaux.yml, ligne 8" in err
    assert "Code de sortie 3" in err


def test_signature_locale_invalide(exemple):
    (exemple.parent / "group_vars/all/signatures.yml").write_text(
        "telesante_signatures:\n  - nom: Cadre photo\n    categorie: inexistante\n    noms_hote: ['^frame']\n"
    )
    [erreur] = _erreurs(exemple)
    assert "telesante_signatures[0]" in erreur and "catégorie « inexistante » inconnue" in erreur


def test_vault_comme_pour_les_playbooks(exemple, tmp_path):
    """A Vault-encrypted group_vars file is decrypted with the password file, as ansible-playbook does."""
    password = tmp_path / "mdp-vault"
    password.write_text("secret-de-test\n")
    secrets = exemple.parent / "group_vars" / "commutateurs.yml"
    secrets.write_text("ansible_password: MotDePasseDuCommutateur\n")
    vault = Path(sys.executable).with_name("ansible-vault")
    subprocess.run([vault, "encrypt", "--vault-password-file", password, secrets], check=True, capture_output=True)
    assert "$ANSIBLE_VAULT" in secrets.read_text()

    config = charger_configuration(exemple, password)
    sw = next(e for e in config.equipements if e.nom == "sw-nord-01")
    assert sw.mot_de_passe == "MotDePasseDuCommutateur"
    assert "MotDePasseDuCommutateur" not in repr(sw)

    [erreur] = _erreurs(exemple)  # no password: a clean French error, no traceback
    assert "variables illisibles" in erreur and "vault" in erreur.lower()

    # The password file Ansible's configuration names (here its environment variable) is
    # used as ansible-playbook uses it: the demo audit then gives its usual verdict.
    commande = [Path(sys.executable).with_name("telesante"), "audit", "-i", exemple, "-f", "json", "-o", tmp_path / "r"]
    environnement = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_VAULT")}
    sans = subprocess.run(commande, capture_output=True, text=True, env=environnement)
    avec = subprocess.run(commande, capture_output=True, text=True,
                          env={**environnement, "ANSIBLE_VAULT_PASSWORD_FILE": str(password)})
    absent = subprocess.run(commande, capture_output=True, text=True,
                            env={**environnement, "ANSIBLE_VAULT_PASSWORD_FILE": str(tmp_path / "absent")})
    assert sans.returncode == 3 and "ANSIBLE_VAULT_PASSWORD_FILE" in sans.stderr
    assert absent.returncode == 3 and "mot de passe Ansible Vault illisible" in absent.stderr, absent.stderr
    assert "Traceback" not in absent.stderr
    assert avec.returncode == 2, avec.stderr
    assert "MotDePasseDuCommutateur" not in avec.stdout + avec.stderr


def test_yaml_illisible(exemple):
    _replace(exemple.parent / "group_vars/all/derogations.yml", "expiration: 2030-06-30", "expiration: 2030-02-30")
    [erreur] = _erreurs(exemple)
    assert "YAML illisible" in erreur and "derogations.yml" in erreur
    assert "date impossible" in erreur


def test_date_impossible_entre_guillemets_nomme_la_cle(exemple):
    _replace(exemple.parent / "group_vars/all/derogations.yml", "expiration: 2030-06-30", "expiration: '2030-13-01'")
    [erreur] = _erreurs(exemple)
    assert "clé « telesante_derogations[0].expiration » : date invalide « 2030-13-01 »" in erreur


def test_cles_nouvelles_lues(exemple):
    """vide_attendu, telesante_vlan_par_defaut and telesante_age_max_sources_heures reach the model."""
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "    vlans: [210]\n", "    vlans: [210]\n    vide_attendu: true\n")
    _replace(exemple, "telesante_plateforme: hp_procurve\n", "telesante_plateforme: hp_procurve\n          telesante_vlan_par_defaut: 210\n")
    (exemple.parent / "group_vars/all/sources.yml").write_text("telesante_age_max_sources_heures: 12\n")
    config = charger_configuration(exemple)
    vides = {r.nom: r.vide_attendu for r in config.reseaux}
    assert vides == {"mission-nord": False, "patients-nord": False, "mission-sud": True, "invites-sud": False}
    vlans = {e.nom: e.vlan_par_defaut for e in config.equipements}
    assert vlans["sw-sud-02"] == 210 and vlans["sw-nord-01"] is None
    assert config.age_max_sources == timedelta(hours=12)


def test_age_max_des_sources_par_defaut(exemple):
    assert charger_configuration(exemple).age_max_sources == timedelta(hours=36)


@pytest.mark.parametrize("fichier, ancien, nouveau, cle, extrait", [
    ("group_vars/all/reseaux.yml", "    vlans: [210]\n", "    vlans: [210]\n    vide_attendu: oui\n",
     "telesante_reseaux[2].vide_attendu", "true ou false attendu"),
    ("group_vars/all/reseaux.yml", "    vlans: [210]\n", "    vlans: [210]\n    vide_attendu: 1\n",
     "telesante_reseaux[2].vide_attendu", "true ou false attendu"),
    ("hosts.yml", "telesante_plateforme: hp_procurve\n", "telesante_plateforme: hp_procurve\n          telesante_vlan_par_defaut: 0\n",
     "telesante_vlan_par_defaut", "entier de 1 à 4094"),
    ("hosts.yml", "telesante_plateforme: hp_procurve\n", "telesante_plateforme: hp_procurve\n          telesante_vlan_par_defaut: 4095\n",
     "telesante_vlan_par_defaut", "entier de 1 à 4094"),
    ("hosts.yml", "telesante_plateforme: hp_procurve\n", "telesante_plateforme: hp_procurve\n          telesante_vlan_par_defaut: '210'\n",
     "telesante_vlan_par_defaut", "entier de 1 à 4094"),
    ("hosts.yml", "telesante_plateforme: hp_procurve\n", "telesante_plateforme: hp_procurve\n          telesante_vlan_par_defaut: true\n",
     "telesante_vlan_par_defaut", "entier de 1 à 4094"),
    ("group_vars/all/sources.yml", "", "telesante_age_max_sources_heures: 0\n", "telesante_age_max_sources_heures", "entier supérieur"),
    ("group_vars/all/sources.yml", "", "telesante_age_max_sources_heures: 1.5\n", "telesante_age_max_sources_heures", "entier supérieur"),
    ("group_vars/all/sources.yml", "", "telesante_age_max_sources_heures: '36'\n", "telesante_age_max_sources_heures", "entier supérieur"),
    ("group_vars/all/sources.yml", "", "telesante_age_max_sources_heures: [36]\n", "telesante_age_max_sources_heures", "entier supérieur"),
])
def test_cles_nouvelles_de_mauvais_type(exemple, fichier, ancien, nouveau, cle, extrait):
    chemin = exemple.parent / fichier
    if ancien:
        _replace(chemin, ancien, nouveau)
    else:
        chemin.write_text(nouveau)
    erreurs = _erreurs(exemple)
    assert len(erreurs) == 1, erreurs
    # Ansible cannot tag a boolean with its origin: the host is named instead of the line.
    ou = "hôte sw-sud-02 :" if nouveau.endswith(": true\n") else f"{chemin}, ligne"
    assert ou in erreurs[0] and f"clé « {cle} »" in erreurs[0] and extrait in erreurs[0], erreurs[0]


def test_age_max_des_sources_different_selon_les_hotes(exemple):
    (exemple.parent / "group_vars/all/sources.yml").write_text("telesante_age_max_sources_heures: 36\n")
    (exemple.parent / "group_vars/site_clinique_sud.yml").write_text(
        "telesante_site: clinique_sud\ntelesante_age_max_sources_heures: 100\n")
    [erreur] = _erreurs(exemple)
    assert "telesante_age_max_sources_heures" in erreur and "valeurs différentes selon les hôtes" in erreur
    assert "« 36 » pour " in erreur and "« 100 » pour sw-sud-0" in erreur


def test_alertes_differentes_selon_les_hotes_nomme_le_fichier(exemple):
    """One alert destination for the whole inventory: a group that sets another one is named, with its line."""
    (exemple.parent / "group_vars/all/alertes.yml").write_text(
        "telesante_alertes_syslog: {serveur: 127.0.0.1, port: 514}\n")
    (exemple.parent / "group_vars/site_clinique_sud.yml").write_text(
        "telesante_site: clinique_sud\ntelesante_alertes_syslog: {serveur: 127.0.0.1, port: 1514}\n")
    [erreur] = _erreurs(exemple)
    assert f"{exemple.parent / 'group_vars/site_clinique_sud.yml'}, ligne 2" in erreur, erreur
    assert "clé « telesante_alertes_syslog » : valeurs différentes selon les hôtes (« {'serveur': '127.0.0.1', " in erreur
    assert "1514} » pour sw-sud-0" in erreur and "une seule valeur attendue" in erreur


@pytest.mark.parametrize("mac", ["64:4E:D7:AA:01:02", "64-4e-d7-aa-01-02", "644e.d7aa.0102", "644ed7-aa0102", "644ed7aa0102"])
def test_mac_notations_completes_acceptees(exemple, mac):
    _replace(exemple.parent / "group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", f"mac: '{mac}'")
    assert charger_configuration(exemple).autorises["64:4e:d7:aa:01:02"].nom == "imprimante-urgence"


@pytest.mark.parametrize("mac", [
    "64:4e:d7:aa:01:2", "4:4e:d7:aa:01:02", "64:4e:d7:aa:01", "64:4e-d7:aa:01:02", "64:4e:d7:aa:01:02 ",
    " 64:4e:d7:aa:01:02", "64 4e d7 aa 01 02", "64:4e:d7:aa:01:02:03", "644e.d7aa.010", "64:4e:d7:aa:01:0g",
    "64::4e:d7:aa:01:02", "64:4e:d7:aa:01:02\x00", "644ed7aa010",
])
def test_mac_tordue_refusee(exemple, mac):
    """netaddr pads « 64:4e:d7:aa:01:2 » into …:02 and takes odd separators: the inventory wants six full bytes."""
    _replace(exemple.parent / "group_vars/all/autorises.yml", "mac: 64:4e:d7:aa:01:02", f"mac: {json.dumps(mac)}")
    [erreur] = _erreurs(exemple)
    assert "telesante_equipements_autorises[2].mac" in erreur and "adresse MAC invalide" in erreur, erreur


@pytest.mark.parametrize("date_", ["2026-W52", "20261231", "'20261231'", "2026-W52-1", "2026-365", "'2026-12-31T00:00'",
                                   "2026-12-31 00:00:00", "'2026-12-31 '", "'２０２６-１２-３１'"])
def test_date_autre_que_aaaa_mm_jj_refusee(exemple, date_):
    _replace(exemple.parent / "group_vars/all/derogations.yml", "expiration: 2030-06-30", f"expiration: {date_}")
    [erreur] = _erreurs(exemple)
    assert "telesante_derogations[0].expiration" in erreur and "date invalide" in erreur, erreur


def test_bombe_d_alias_refusee_en_moins_d_une_seconde(exemple):
    """A few hundred bytes of nested aliases grew Ansible without end (1,5 Go in 3,5 min)."""
    lignes = ['telesante_signatures_locales:', '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for precedent, lettre in zip("abcdefgh", "bcdefghi"):
        lignes.append(f"  {lettre}: &{lettre} [" + ", ".join([f"*{precedent}"] * 9) + "]")
    bombe = exemple.parent / "group_vars/all/bombe.yml"
    bombe.write_text("\n".join(lignes) + "\n")
    assert bombe.stat().st_size < 700
    charger_configuration(EXEMPLE / "hosts.yml")  # ansible-core imported and warm: only the refusal is timed
    debut = time.monotonic()
    [erreur] = _erreurs(exemple)
    assert time.monotonic() - debut < 1.0
    assert f"{bombe}, ligne 2 : alias YAML qui se déploient en plus de 100 000 valeurs" in erreur


def test_alias_recursif_refuse(exemple):
    (exemple.parent / "group_vars/all/boucle.yml").write_text("telesante_signatures: &boucle [*boucle]\n")
    [erreur] = _erreurs(exemple)
    assert "boucle.yml" in erreur and "alias YAML" in erreur


def test_alias_raisonnables_acceptes(exemple):
    """Reusing a block with an alias is ordinary YAML: a few reuses are not a bomb."""
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "  - nom: mission-sud\n    site: clinique_sud\n",
             "  - nom: mission-sud\n    site: &sud clinique_sud\n")
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "  - nom: invites-sud\n    site: clinique_sud\n",
             "  - nom: invites-sud\n    site: *sud\n")
    assert {r.site for r in charger_configuration(exemple).reseaux} == {"hopital_nord", "clinique_sud"}


def test_cle_en_double_dans_le_fichier_d_hotes(exemple, capsys):
    """A host's telesante_* variable written twice in hosts.yml: refused before Ansible warns in English."""
    _replace(exemple, "telesante_plateforme: hp_procurve\n",
             "telesante_plateforme: hp_procurve\n          telesante_plateforme: cisco_ios\n")
    [erreur] = _erreurs(exemple)
    assert erreur.startswith(f"{exemple}, ligne 32 : clé « all.children.commutateurs.hosts.sw-sud-02.telesante_plateforme » "
                             "écrite deux fois (aussi ligne 31)"), erreur
    assert "duplicate" not in capsys.readouterr().err.lower()


@pytest.mark.parametrize("ancien, nouveau, cle, extrait", [
    ("ansible_host: 192.0.2.21", "telesante_captures: [a, b]", "telesante_captures", "texte attendu, pas une liste"),
    ("ansible_host: 192.0.2.21", "ansible_host: {ip: 192.0.2.21}", "ansible_host", "texte attendu, pas un dictionnaire"),
    ("ansible_host: 192.0.2.12", "telesante_fichier: [/var/lib/misc/dnsmasq.leases]", "telesante_fichier", "texte attendu"),
    ("ansible_host: 192.0.2.21", "ansible_port: 70000", "ansible_port", "entier de 1 à 65535"),
    ("ansible_host: 192.0.2.21", "ansible_port: 0", "ansible_port", "entier de 1 à 65535"),
    ("telesante_plateforme: hp_procurve", "telesante_plateforme:", "telesante_plateforme", "pas une valeur vide"),
    ('telesante_macs_poste: ["60:fd:a6:10:20:30"]', "telesante_macs_poste: [null]", "telesante_macs_poste[0]",
     "adresse MAC obligatoire manquante"),
])
def test_variable_d_equipement_de_mauvais_type(exemple, ancien, nouveau, cle, extrait):
    """A list or a number where a text is expected became a path « ['a', 'b'] » or a port out of range."""
    _replace(exemple, ancien, nouveau)
    [erreur] = _erreurs(exemple)
    assert f"clé « {cle} »" in erreur and extrait in erreur, erreur


def test_variable_globale_de_mauvais_type(exemple):
    (exemple.parent / "group_vars/all/locaux.yml").write_text(
        "telesante_fichier_hotes_connus: [a]\ntelesante_categories_interdites: [{a: 1}]\n")
    erreurs = _erreurs(exemple)
    assert len(erreurs) == 2, erreurs  # said once, not once per host
    texte = "\n".join(erreurs)
    assert "locaux.yml, ligne 1 : clé « telesante_fichier_hotes_connus » : texte attendu, pas une liste" in texte
    assert "locaux.yml, ligne 2 : clé « telesante_categories_interdites[0] » : nom de catégorie attendu" in texte


def test_fichier_de_variables_vide_accepte(exemple):
    """An empty group_vars file (or one with only comments) is ordinary: nothing to refuse."""
    (exemple.parent / "group_vars/all/vide.yml").write_text("---\n# à remplir\n")
    (exemple.parent / "group_vars/all/rien.yml").write_bytes(b"")
    assert len(charger_configuration(exemple).reseaux) == 4


# Every line that writes a telesante_* variable, or a key of an entry of one.
LIGNE_DE_CLE = re.compile(
    r"(\s*(?:-\s+)?)(telesante_\w+|nom|site|type|sous_reseaux|vlans|vide_attendu|mac|justification|expiration)(:.*)", re.S)


def _code_d_audit(hosts: Path) -> int:
    try:
        config = charger_configuration(hosts)
    except ErreurConfiguration:
        return 3
    return auditer(config, collecter_captures, mode="captures", aujourd_hui=date(2026, 11, 21)).code_sortie


def test_aucune_faute_d_inventaire_ne_rend_conforme(tmp_path):
    """Removing or misspelling any one telesante_* key, or removing any vars file, never gives code 0.

    The base is the demo inventory without its incomplete switch: its audit finds consumer
    devices on a mission network (code 1), so a mutation that lost them would show.
    """
    reference = tmp_path / "reference"
    shutil.copytree(EXEMPLE, reference)
    hosts = reference / "hosts.yml"
    _replace(hosts, "        sw-sud-02:\n          ansible_host: 192.0.2.22\n          telesante_plateforme: hp_procurve\n"
                    "          telesante_ports_liaison: [Trk1]\n", "")
    _replace(hosts, "        sw-sud-02:\n", "")
    assert _code_d_audit(hosts) == 1

    mutations = []
    for fichier in sorted(reference.rglob("*.yml")):
        relatif = fichier.relative_to(reference)
        if relatif.parts[0] == "group_vars":
            mutations.append((f"{relatif} retiré", relatif, None))
        lignes = fichier.read_text().splitlines(keepends=True)
        for i, ligne in enumerate(lignes):
            if (trouve := LIGNE_DE_CLE.fullmatch(ligne)):
                debut, cle, fin = trouve.groups()
                mutations.append((f"{relatif}:{i + 1} retirée", relatif, lignes[:i] + lignes[i + 1:]))
                mutations.append((f"{relatif}:{i + 1} « {cle} » mal écrite", relatif,
                                  lignes[:i] + [debut + cle[:-1] + fin] + lignes[i + 1:]))
    assert len(mutations) > 100
    conformes = []
    for n, (nom, relatif, lignes) in enumerate(mutations):
        copie = tmp_path / f"m{n}"
        shutil.copytree(reference, copie)
        if lignes is None:
            (copie / relatif).unlink()
        else:
            (copie / relatif).write_text("".join(lignes))
        if _code_d_audit(copie / "hosts.yml") == 0:
            conformes.append(nom)
        shutil.rmtree(copie)
    assert not conformes, f"code 0 (conforme) après : {conformes}"


def test_caracteres_de_controle_d_une_valeur_rendus_inertes(exemple):
    """A value quoted in an error cannot clear the admin's screen or rewrite the terminal's title."""
    _replace(exemple.parent / "group_vars/all/reseaux.yml", "type: mission", 'type: "\\e[2J\\e]0;pirate\\amission\\u202e"')
    [erreur] = _erreurs(exemple)
    assert "« \\x1b[2J\\x1b]0;pirate\\x07mission\\u202e » inconnu" in erreur, erreur
    assert not any(ord(c) < 0x20 or c == "\u202e" for c in erreur)


def test_inventaire_donne_par_son_dossier(exemple):
    """-i on the folder: its hosts file is examined too (a bomb there is refused), and named among the files read."""
    assert {r.nom for r in charger_configuration(exemple.parent).reseaux} == {
        "mission-nord", "patients-nord", "mission-sud", "invites-sud"}
    _replace(exemple, "telesante_plateforme: hp_procurve\n",
             "telesante_plateforme: hp_procurve\n          telesante_plateforme: cisco_ios\n")
    [erreur] = _erreurs(exemple.parent)
    assert "hosts.yml, ligne 32" in erreur and "écrite deux fois" in erreur
    shutil.copy(EXEMPLE / "hosts.yml", exemple)
    (exemple.parent / "group_vars/all/reseaux.yml").write_text("")
    [erreur] = _erreurs(exemple.parent)
    assert "aucun réseau de mission" in erreur and "Fichiers lus : " + str(exemple) in erreur, erreur
