"""playbooks/serveur_audit.yml converged over SSH on a Debian test host (tests/serveur_audit/hote.py).

The playbook runs twice (second run: changed=0), then in check mode; the installed
units pass ``systemd-analyze verify`` inside the host's mount namespace (where
ExecStart exists); the account, the modes of every file and the service's
ExecStart are checked, the latter run by hand under the service account with
the unit's environment (no systemd runs here: the real execution by systemd is
not tested, the README says so).
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.provisionnement.aide import Passage, dossier_controle_ssh, environnement, lire_recap

from .conftest import DUREES, RACINE

pytestmark = pytest.mark.racine

PLAYBOOK = RACINE / "playbooks" / "serveur_audit.yml"
EXEMPLE = RACINE / "inventaires" / "exemple"
MOT_DE_PASSE_VAULT = "Vault-de-test \"guillemets\" $HOME %d"
COMPTE = "telesante"
SERVICE = "/etc/systemd/system/telesante-audit.service"
TIMER = "/etc/systemd/system/telesante-audit.timer"
LIEN = "/etc/systemd/system/timers.target.wants/telesante-audit.timer"
ETAT = "/var/lib/telesante"


def jouer(inventaire: Path, *options: str, timeout: int = 600) -> Passage:
    """Run playbooks/serveur_audit.yml with the project's .venv ansible-playbook; never raises."""
    commande = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventaire), str(PLAYBOOK),
                *options]
    env = environnement()
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(dossier_controle_ssh(inventaire))
    debut = time.monotonic()
    resultat = subprocess.run(commande, cwd=RACINE, env=env, capture_output=True, text=True, timeout=timeout)
    return Passage(resultat.returncode, resultat.stdout + resultat.stderr, time.monotonic() - debut,
                   lire_recap(resultat.stdout))


def _inventaire_audit(dossier: Path) -> Path:
    """The demo inventory plus a file encrypted by Ansible Vault (the audit needs the password)."""
    inventaire = dossier / "inventaire-audit"
    shutil.copytree(EXEMPLE, inventaire)
    fichier_mdp = dossier / "mdp"
    fichier_mdp.write_text(MOT_DE_PASSE_VAULT)
    secret = inventaire / "group_vars" / "all" / "secret.yml"
    secret.write_text("---\ntelesante_secret_de_test: valeur chiffree\n")
    resultat = subprocess.run([str(Path(sys.executable).parent / "ansible-vault"), "encrypt",
                               "--vault-password-file", str(fichier_mdp), str(secret)],
                              capture_output=True, text=True, timeout=120)
    assert resultat.returncode == 0, resultat.stderr
    fichier_mdp.unlink()
    return inventaire


@dataclass
class Deploiement:
    inventaire: Path
    premier: Passage
    second: Passage


def _variables(dossier: Path, roues: Path) -> dict:
    """The role's variables for the test: demo inventory with a Vault file, replayed captures."""
    hotes_connus = dossier / "hotes_connus"
    hotes_connus.write_text("192.0.2.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBtt0XhDUdSnhmIqjZ08jXoUETsAkJMUJCF7RJHfGyHh\n")
    return {
        "serveur_audit_roues": str(roues),
        "serveur_audit_inventaire": str(_inventaire_audit(dossier)),
        "serveur_audit_hotes_connus": str(hotes_connus),
        "serveur_audit_mot_de_passe_vault": MOT_DE_PASSE_VAULT,
        "serveur_audit_source": "captures",
        "serveur_audit_conserver_nuits": 30,
    }


@pytest.fixture(scope="module")
def deploiement(hote, roues, tmp_path_factory):
    """The playbook converged twice on the test host."""
    dossier = tmp_path_factory.mktemp("serveur-audit")
    inventaire = hote.ecrire_inventaire(dossier, **_variables(dossier, roues))
    # left by an earlier deployment: an equipment since removed from the inventory
    hote.executer(["install", "-D", "-m", "0640", "/dev/null", "/etc/telesante/inventaire/host_vars/sw-retire.yml"])
    try:
        premier = jouer(inventaire)
        DUREES["premier passage du playbook"] = premier.duree
        second = jouer(inventaire) if premier.code == 0 else premier
        DUREES["second passage du playbook"] = second.duree
        yield Deploiement(inventaire, premier, second)
    finally:
        shutil.rmtree(dossier_controle_ssh(inventaire), ignore_errors=True)


def _stat(hote, chemin: str) -> str:
    resultat = hote.executer(["stat", "-c", "%U:%G %a %F", chemin])
    assert resultat.returncode == 0, resultat.stderr
    return resultat.stdout.strip()


def _empreinte(hote, chemin: str) -> str:
    return hashlib.sha256(hote.lire(chemin).encode()).hexdigest()


# -- convergence -------------------------------------------------------------------------


def test_premier_passage_converge(deploiement):
    assert deploiement.premier.code == 0, deploiement.premier.sortie[-6000:]
    assert deploiement.premier.changes() > 0


def test_second_passage_ne_change_rien(deploiement):
    assert deploiement.second.code == 0, deploiement.second.sortie[-6000:]
    assert deploiement.second.changes() == 0, deploiement.second.sortie[-6000:]


def test_mode_check_sans_effet(hote, deploiement):
    timer_avant = _empreinte(hote, TIMER)
    meme = jouer(deploiement.inventaire, "--check", "--diff")
    assert meme.code == 0 and meme.changes() == 0, meme.sortie[-4000:]
    autre_heure = jouer(deploiement.inventaire, "--check", "--diff", "-e", "serveur_audit_heure=03:15")
    assert autre_heure.code == 0, autre_heure.sortie[-4000:]
    assert autre_heure.changes() == 1, autre_heure.sortie[-4000:]
    assert "+OnCalendar=*-*-* 03:15:00" in autre_heure.sortie
    assert _empreinte(hote, TIMER) == timer_avant  # announced, not done


def test_mode_check_sur_un_serveur_neuf_ne_cree_rien(hote_neuf, roues, tmp_path):
    inventaire = hote_neuf.ecrire_inventaire(tmp_path, **_variables(tmp_path, roues))
    try:
        passage = jouer(inventaire, "--check")
    finally:
        shutil.rmtree(dossier_controle_ssh(inventaire), ignore_errors=True)
    DUREES["--check sur un serveur neuf"] = passage.duree
    assert passage.code == 0, passage.sortie[-4000:]
    assert passage.changes() > 0
    existants = hote_neuf.executer(["ls", "-d", "/etc/telesante", "/opt/telesante", ETAT, SERVICE, TIMER, LIEN])
    assert existants.stdout == "", existants.stdout
    assert hote_neuf.executer(["getent", "passwd", COMPTE]).returncode == 2


def test_heure_invalide_refusee_avant_tout_changement(hote, deploiement):
    passage = jouer(deploiement.inventaire, "-e", "serveur_audit_heure=25:00")
    assert passage.code != 0
    assert "serveur_audit_heure au format HH:MM" in passage.sortie and "25:00" in passage.sortie
    assert "OnCalendar=*-*-* 02:00:00" in hote.lire(TIMER)


# -- what is installed -------------------------------------------------------------------


def test_unites_valides_pour_systemd(hote, deploiement):
    verification = hote.executer(["systemd-analyze", "verify", SERVICE, TIMER])
    assert verification.returncode == 0, verification.stdout + verification.stderr
    assert verification.stderr.strip() == "", verification.stderr
    # the same check catches a unit whose program is missing (this test can fail)
    casse = hote.lire(SERVICE).replace("/opt/telesante/venv/bin/telesante", "/opt/telesante/absent/telesante")
    hote.executer(["sh", "-c", 'cat > /tmp/telesante-casse.service'], entree=casse)
    verification = hote.executer(["systemd-analyze", "verify", "/tmp/telesante-casse.service"])
    assert verification.returncode != 0 and "/opt/telesante/absent/telesante" in verification.stderr
    calendrier = hote.executer(["systemd-analyze", "calendar", "*-*-* 02:00:00"])
    assert calendrier.returncode == 0 and "Normalized form: *-*-* 02:00:00" in calendrier.stdout


def test_durcissement_de_l_unite(hote, deploiement):
    service = hote.lire(SERVICE)
    for ligne in ("Type=oneshot", f"User={COMPTE}", "SuccessExitStatus=1", "NoNewPrivileges=yes",
                  "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
                  "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6", "SystemCallFilter=@system-service",
                  "CapabilityBoundingSet=\n", "StateDirectory=telesante", "UMask=0027",
                  "StandardOutput=journal", "LoadCredential=vault:/etc/telesante/mot-de-passe-vault",
                  "Environment=ANSIBLE_VAULT_PASSWORD_FILE=%d/vault",
                  '--hotes-connus "/etc/telesante/hotes_connus"',
                  '--historique "/var/lib/telesante/historique.sqlite"'):
        assert ligne in service, ligne
    assert MOT_DE_PASSE_VAULT not in service
    # systemd's own exposure score of the unit (0 = locked down, 10 = unprotected)
    securite = hote.executer(["systemd-analyze", "security", "--offline=true", "--no-pager", SERVICE])
    assert securite.returncode == 0, securite.stdout + securite.stderr
    niveau = securite.stdout.strip().splitlines()[-1]
    score = float(niveau.split("exposure level for")[1].split(":")[1].split()[0])
    assert score <= 2.5, niveau
    timer = hote.lire(TIMER)
    for ligne in ("OnCalendar=*-*-* 02:00:00", "RandomizedDelaySec=30min", "Persistent=true",
                  "WantedBy=timers.target"):
        assert ligne in timer, ligne


def test_minuteur_active_par_son_lien(hote, deploiement):
    lien = hote.executer(["readlink", LIEN])
    assert lien.returncode == 0 and lien.stdout.strip() == TIMER


def test_compte_de_service_sans_shell_ni_mot_de_passe(hote, deploiement):
    entree = hote.executer(["getent", "passwd", COMPTE]).stdout.strip().split(":")
    assert entree[0] == COMPTE
    assert int(entree[2]) < 1000  # system account
    assert entree[5] == ETAT
    assert entree[6] == "/usr/sbin/nologin"
    assert hote.executer(["getent", "shadow", COMPTE]).stdout.split(":")[1] in ("!", "*", "!*")
    assert hote.executer(["id", "-Gn", COMPTE]).stdout.split() == [COMPTE]  # no other group (no sudo...)
    connexion = hote.executer(["su", "-", COMPTE, "-c", "id"])
    assert connexion.returncode != 0


def test_droits_des_fichiers(hote, deploiement):
    attendus = {
        "/etc/telesante": "root:telesante 750 directory",
        "/etc/telesante/inventaire": "root:telesante 750 directory",
        "/etc/telesante/inventaire/hosts.yml": "root:telesante 640 regular file",
        "/etc/telesante/inventaire/group_vars/all/secret.yml": "root:telesante 640 regular file",
        "/etc/telesante/hotes_connus": "root:telesante 640 regular file",
        "/etc/telesante/mot-de-passe-vault": "root:root 600 regular file",
        ETAT: "telesante:telesante 750 directory",
        "/opt/telesante/venv": "root:root 755 directory",
        SERVICE: "root:root 644 regular file",
        TIMER: "root:root 644 regular file",
    }
    assert {chemin: _stat(hote, chemin) for chemin in attendus} == attendus
    assert hote.lire("/etc/telesante/mot-de-passe-vault") == MOT_DE_PASSE_VAULT + "\n"
    # a file no longer in the inventory does not stay on the server
    assert hote.executer(["ls", "/etc/telesante/inventaire/host_vars/sw-retire.yml"]).returncode != 0
    # Vault files travel encrypted: never a decrypted copy on the server
    assert hote.lire("/etc/telesante/inventaire/group_vars/all/secret.yml").startswith("$ANSIBLE_VAULT;")
    # nothing else in the configuration is readable or writable by others
    autres = hote.executer(["find", "/etc/telesante", "-perm", "/o=rwx"])
    assert autres.returncode == 0 and autres.stdout == ""
    # what the accounts can really do
    for compte, groupe, chemin in (("nobody", "nogroup", "/etc/telesante/inventaire/hosts.yml"),
                                   ("nobody", "nogroup", "/etc/telesante/hotes_connus"),
                                   (COMPTE, COMPTE, "/etc/telesante/mot-de-passe-vault")):
        lecture = hote.executer(["setpriv", f"--reuid={compte}", f"--regid={groupe}", "--init-groups",
                                 "cat", chemin])
        assert lecture.returncode != 0 and "Permission denied" in lecture.stderr, (compte, chemin)
    lecture = hote.executer(["setpriv", f"--reuid={COMPTE}", f"--regid={COMPTE}", "--init-groups",
                             "cat", "/etc/telesante/inventaire/hosts.yml"])
    assert lecture.returncode == 0
    for chemin in ("/opt/telesante/venv/bin/telesante", "/etc/telesante/inventaire/hosts.yml"):
        ecriture = hote.executer(["setpriv", f"--reuid={COMPTE}", f"--regid={COMPTE}", "--init-groups",
                                  "sh", "-c", f': >> "{chemin}"'])
        assert ecriture.returncode != 0, chemin


def test_installe_sans_internet_depuis_les_roues(hote, deploiement, roues):
    version = hote.executer(["/opt/telesante/venv/bin/telesante", "--version"])
    assert version.returncode == 0 and version.stdout.strip() == "telesante 0.1.0"
    installees = hote.executer(["ls", "/opt/telesante/roues"]).stdout.split()
    assert sorted(installees) == sorted(p.name for p in roues.iterdir())
    # the host sees neither the machine's /opt (local wheels, package index) nor any network
    assert hote.executer(["ls", "/opt"]).stdout.split() == ["telesante"]
    routes = hote.executer(["ip", "-4", "route", "show", "default"])
    assert routes.stdout.strip() == ""


# -- the service's command, run by hand ---------------------------------------------------


def _unite(texte: str) -> dict[str, list[str]]:
    """Directives of a unit file (continuation lines joined), name -> values in order."""
    directives: dict[str, list[str]] = {}
    ligne_courante = ""
    for ligne in texte.splitlines():
        if ligne.startswith(("#", ";")) and not ligne_courante:
            continue
        if ligne.endswith("\\"):
            ligne_courante += ligne[:-1] + " "
            continue
        ligne = ligne_courante + ligne
        ligne_courante = ""
        if "=" in ligne and not ligne.startswith("["):
            cle, valeur = ligne.split("=", 1)
            directives.setdefault(cle.strip(), []).append(valeur.strip())
    return directives


def _argv(commande: str, credentials: str) -> list[str]:
    """A systemd command line as systemd would run it (quotes, %d, %% and $$)."""
    return [mot.replace("%d", credentials).replace("%%", "%").replace("$$", "$")
            for mot in shlex.split(commande)]


def executer_comme_le_service(hote, commande: str, *, avec_credential: bool = True):
    """Run one Exec line of the installed unit under its account, environment, umask and directory.

    systemd is emulated for what this test can emulate: User=/Group=, Environment=,
    WorkingDirectory=, UMask=, NoNewPrivileges=, an empty capability set, and
    LoadCredential= (a copy of the file in /run/credentials/<unit>/, owned by the
    account). The sandbox itself (ProtectSystem=, SystemCallFilter=...) is not.
    """
    unite = _unite(hote.lire(SERVICE))
    compte = unite["User"][0]
    credentials = "/run/credentials/telesante-audit.service"
    hote.executer(["rm", "-rf", credentials])
    hote.executer(["install", "-d", "-m", "0500", "-o", compte, credentials])
    if avec_credential:
        nom, source = unite["LoadCredential"][0].split(":", 1)
        copie = hote.executer(["install", "-m", "0400", "-o", compte, source, f"{credentials}/{nom}"])
        assert copie.returncode == 0, copie.stderr
    environnement = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"USER={compte}",
                     f"LOGNAME={compte}", "SHELL=/usr/sbin/nologin", f"STATE_DIRECTORY={ETAT}",
                     f"CREDENTIALS_DIRECTORY={credentials}"]
    environnement += [v.replace("%d", credentials) for v in unite.get("Environment", [])]
    argv = ["setpriv", f"--reuid={compte}", f"--regid={unite['Group'][0]}", "--init-groups", "--no-new-privs",
            "--inh-caps=-all", "--bounding-set=-all", "--", "/usr/bin/env", "-i", *environnement,
            "/bin/sh", "-c", 'umask "$1" && cd "$2" && shift 2 && exec "$@"', "sh",
            unite["UMask"][0], unite["WorkingDirectory"][0], *_argv(commande, credentials)]
    return hote.executer(argv, delai=300)


def test_execstart_audite_et_ecrit_dans_le_dossier_d_etat(hote, deploiement):
    unite = _unite(hote.lire(SERVICE))
    debut = time.monotonic()
    audit = executer_comme_le_service(hote, unite["ExecStart"][0])
    DUREES["audit de démonstration sous le compte de service"] = time.monotonic() - debut
    # the demo is incomplete by construction (sw-sud-02's capture is truncated)
    assert audit.returncode == 2, audit.stdout[-3000:] + audit.stderr[-3000:]
    assert "sw-sud-02" in audit.stdout + audit.stderr
    fichiers = {nom: _stat(hote, f"{ETAT}/rapports/{nom}")
                for nom in ("rapport.json", "rapport.csv", "rapport-junit.xml", "rapport.html")}
    assert set(fichiers.values()) == {"telesante:telesante 640 regular file"}, fichiers
    rapport = json.loads(hote.lire(f"{ETAT}/rapports/rapport.json"))
    assert rapport["verdict"]["code_sortie"] == 2
    assert _stat(hote, f"{ETAT}/historique.sqlite") == "telesante:telesante 640 regular file"
    compte = hote.executer(["python3", "-c", "import sqlite3, sys; print(sqlite3.connect(sys.argv[1])"
                            ".execute('SELECT COUNT(*), MAX(code_sortie) FROM passages').fetchone())",
                            f"{ETAT}/historique.sqlite"])
    assert compte.stdout.strip() == "(1, 2)", compte.stderr
    # the Vault password reached the audit through the credential only
    assert MOT_DE_PASSE_VAULT not in audit.stdout + audit.stderr


def test_sans_le_mot_de_passe_vault_erreur_de_configuration(hote, deploiement):
    unite = _unite(hote.lire(SERVICE))
    audit = executer_comme_le_service(hote, unite["ExecStart"][0], avec_credential=False)
    assert audit.returncode == 3, audit.stdout[-2000:] + audit.stderr[-2000:]


def test_execstoppost_fait_tourner_l_historique(hote, deploiement):
    unite = _unite(hote.lire(SERVICE))
    assert _argv(unite["ExecStopPost"][0], "")[1:] == ["historique", f"{ETAT}/historique.sqlite",
                                                      "--conserver-nuits", "30"]
    executer_comme_le_service(hote, unite["ExecStart"][0])
    rotation = executer_comme_le_service(hote, unite["ExecStopPost"][0])
    assert rotation.returncode == 0, rotation.stdout + rotation.stderr
