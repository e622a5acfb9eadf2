"""playbooks/audit_reseau.yml: the network audit as an AWX/AAP job, run offline, no root.

Each case runs the real ansible-playbook of the venv against an inventory (the demo, or a
tiny one built here) and reads three things: the job's outcome (return code and the French
message of the failing task), the reports written, and the set_stats artifacts as AWX
reads them (tests/provisionnement/rappels/artefacts_awx.py writes stats.custom['_run'],
the dictionary ansible-runner turns into the job's artifacts).

The runs are independent and mostly CPU-bound start-up: they are all started at once
(module fixture) and each test waits for its own.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator, FormatChecker

from .aide import environnement, lire_recap

RACINE = Path(__file__).resolve().parents[2]
PLAYBOOK = RACINE / "playbooks" / "audit_reseau.yml"
RAPPELS = Path(__file__).resolve().parent / "rappels"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
EXEMPLE = RACINE / "inventaires" / "exemple" / "hosts.yml"
RAPPORTS = ("rapport.json", "rapport.csv", "rapport-junit.xml", "rapport.html")
MOT_DE_PASSE_VAULT = "mot-de-passe-de-test-vault"
SECRET = "secret-du-serveur-dhcp"
_ECHEC = re.compile(r"^fatal: \[localhost\]: FAILED! => (\{.*\})$", re.MULTILINE)


@dataclass
class Passage:
    """One finished ansible-playbook run of audit_reseau.yml."""

    code: int
    sortie: str
    inventaire: Path
    dossier: Path
    artefacts: dict | None

    @property
    def echec(self) -> list[str]:
        """Lines of the message of the task that failed the job (empty if none failed)."""
        trouve = _ECHEC.search(self.sortie)
        if trouve is None:
            return []
        message = json.loads(trouve[1])["msg"]
        return message if isinstance(message, list) else [message]

    @property
    def recap(self) -> dict[str, int]:
        return lire_recap(self.sortie)["localhost"]

    def rapport(self) -> dict:
        return json.loads((self.dossier / "rapport.json").read_text(encoding="utf-8"))


class _EnCours:
    def __init__(self, processus: subprocess.Popen, inventaire: Path, dossier: Path, artefacts: Path):
        self.processus, self.inventaire, self.dossier, self.artefacts = processus, inventaire, dossier, artefacts
        self._fini: Passage | None = None

    def attendre(self) -> Passage:
        if self._fini is None:
            sortie, _ = self.processus.communicate(timeout=120)
            artefacts = json.loads(self.artefacts.read_text()) if self.artefacts.exists() else None
            self._fini = Passage(self.processus.returncode, sortie, self.inventaire, self.dossier, artefacts)
        return self._fini


def _lancer(racine: Path, nom: str, inventaire: Path, *options: str, env: dict | None = None) -> _EnCours:
    travail = racine / nom
    travail.mkdir()
    dossier, artefacts = travail / "rapports", travail / "artefacts.json"
    environ = environnement()
    environ.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    environ.update({
        "ANSIBLE_CALLBACK_PLUGINS": str(RAPPELS),
        "ANSIBLE_CALLBACKS_ENABLED": "artefacts_awx",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCAL_TEMP": str(travail / "tmp-ansible"),
        "TELESANTE_ARTEFACTS": str(artefacts),
        **(env or {}),
    })
    commande = [str(ANSIBLE_PLAYBOOK), "-i", str(inventaire), str(PLAYBOOK),
                "-e", f"telesante_audit_dossier={dossier}", *options]
    processus = subprocess.Popen(commande, cwd=RACINE, env=environ, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
    return _EnCours(processus, inventaire, dossier, artefacts)


def _inventaire_minimal(dossier: Path, *, baux: str, cidr: str = "10.40.1.0/24") -> Path:
    """One site, one mission network, one DHCP server whose lease file is the capture."""
    (dossier / "group_vars").mkdir(parents=True)
    (dossier / "captures" / "dhcp-mini").mkdir(parents=True)
    (dossier / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"serveurs_dhcp": {"hosts": {
        "dhcp-mini": {"ansible_host": "192.0.2.40", "telesante_plateforme": "dnsmasq",
                      "telesante_site": "clinique_mini"}}}}}}), encoding="utf-8")
    (dossier / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "telesante_reseaux": [{"nom": "mission-mini", "site": "clinique_mini", "type": "mission",
                               "sous_reseaux": [cidr], "vlans": [140]}],
        "telesante_equipements_autorises": [{"mac": "64:4e:d7:aa:40:01", "nom": "imprimante-mini",
                                             "type": "imprimante"}],
    }), encoding="utf-8")
    (dossier / "captures" / "dhcp-mini" / "dnsmasq.leases").write_text(baux, encoding="utf-8")
    return dossier / "hosts.yml"


BAIL_IMPRIMANTE = "1795305600 64:4e:d7:aa:40:01 10.40.1.10 IMPRIMANTE-MINI 01:64:4e:d7:aa:40:01\n"
BAIL_ECHO = "1795305600 84:28:59:3a:40:02 10.40.1.41 amazon-4a1b2c3d4 01:84:28:59:3a:40:02\n"


def _chiffrer(fichier: Path, mot_de_passe: Path) -> None:
    environ = environnement()
    environ.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    subprocess.run([str(ANSIBLE_PLAYBOOK.with_name("ansible-vault")), "encrypt", "--vault-password-file",
                    str(mot_de_passe), str(fichier)], check=True, capture_output=True, env=environ)


@pytest.fixture(scope="module")
def passages(tmp_path_factory):
    """Every case, started at once."""
    racine = tmp_path_factory.mktemp("audit-playbook")
    conforme = _inventaire_minimal(racine / "inv-conforme", baux=BAIL_IMPRIMANTE)
    invalide = _inventaire_minimal(racine / "inv-invalide", baux=BAIL_IMPRIMANTE, cidr="10.40.1.300/24")
    # An Echo on the mission network, and the secret of a device (its SSH password) in a vaulted
    # host_vars file, as a site would keep it: the non-compliant case is also the Vault case.
    chiffre = _inventaire_minimal(racine / "inv-vault", baux=BAIL_IMPRIMANTE + BAIL_ECHO)
    (chiffre.parent / "host_vars").mkdir()
    secret = chiffre.parent / "host_vars" / "dhcp-mini.yml"
    secret.write_text(yaml.safe_dump({"ansible_password": SECRET}), encoding="utf-8")
    mot_de_passe = racine / "mot-de-passe-vault"
    mot_de_passe.write_text(MOT_DE_PASSE_VAULT + "\n", encoding="utf-8")
    _chiffrer(secret, mot_de_passe)

    en_cours = {
        # the night the demo's captures were taken: its mDNS sensor file is dated (36 h at most)
        "exemple": _lancer(racine, "exemple", EXEMPLE, "-e", "telesante_audit_options='--date 2026-11-21'"),
        "conforme": _lancer(racine, "conforme", conforme),
        "invalide": _lancer(racine, "invalide", invalide),
        "vault_sans_mot_de_passe": _lancer(racine, "vault_sans", chiffre),
        "non_conforme_vault": _lancer(racine, "non_conforme_vault", chiffre,
                                      env={"ANSIBLE_VAULT_PASSWORD_FILE": str(mot_de_passe)}),
    }
    yield en_cours
    for passage in en_cours.values():
        if passage.processus.poll() is None:
            passage.processus.kill()
            passage.processus.wait()


def _actifs_par_reseau(rapport: dict) -> dict:
    """Per mission network, counted from rapport.json independently of the playbook."""
    resultat = {}
    for reseau in rapport["reseaux"]:
        if reseau["type"] != "mission":
            continue
        actifs = [c for c in rapport["constats"] if c["reseau"] == reseau["nom"] and c["statut"] == "actif"]
        resultat[reseau["nom"]] = {
            "site": reseau["site"], "statut": reseau["statut"],
            "critique": sum(1 for c in actifs if c["gravite"] == "critique"),
            "a_verifier": sum(1 for c in actifs if c["gravite"] != "critique"),
        }
    return resultat


def test_exemple_echoue_incomplet_en_nommant_sw_sud_02(passages):
    passage = passages["exemple"].attendre()
    assert passage.code != 0, passage.sortie
    assert passage.recap["failed"] == 1, passage.sortie
    echec = passage.echec
    assert echec, passage.sortie
    assert echec[0].startswith("Audit incomplet (code 2) : 1 équipement(s) non lu(s) (sw-sud-02)"), echec
    assert any(ligne.startswith("sw-sud-02 : ") and "show_mac-address.txt, ligne 8" in ligne for ligne in echec), echec
    # The findings on what could be read are listed too, critical ones first.
    critiques = [ligne for ligne in echec if ligne.startswith("[critique] mission-nord : ")]
    assert len(critiques) == 3, echec
    assert any("84:28:59:3a:7c:21" in ligne and "Amazon Echo" in ligne and "sw-nord-01 Gi1/0/5" in ligne
               for ligne in critiques), critiques


def test_exemple_rapports_ecrits_et_json_conforme_au_schema(passages):
    passage = passages["exemple"].attendre()
    for nom in RAPPORTS:
        assert (passage.dossier / nom).stat().st_size > 0, nom
    schema = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())
    erreurs = list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(passage.rapport()))
    assert erreurs == []


def test_exemple_artefacts_recoupes_avec_rapport_json(passages):
    passage = passages["exemple"].attendre()
    rapport, artefacts = passage.rapport(), passage.artefacts
    assert artefacts is not None, passage.sortie
    assert artefacts["telesante_audit_code"] == 2 == rapport["verdict"]["code_sortie"]
    assert artefacts["telesante_audit_verdict"] == "incomplet" == rapport["verdict"]["statut"]
    assert artefacts["telesante_audit_dossier"] == str(passage.dossier)
    assert artefacts["telesante_audit_inventaire"] == str(EXEMPLE)
    assert artefacts["telesante_audit_constats_critiques"] == rapport["resume"]["constats_critiques"] == 3
    assert artefacts["telesante_audit_constats_a_verifier"] == rapport["resume"]["constats_a_verifier"] == 2
    assert artefacts["telesante_audit_constats_leves"] == rapport["resume"]["constats_leves"] == 1
    assert artefacts["telesante_audit_equipements_incomplets"] == ["sw-sud-02"]
    assert artefacts["telesante_audit_reseaux_mission"] == _actifs_par_reseau(rapport) == {
        "mission-nord": {"site": "hopital_nord", "statut": "non_conforme", "critique": 3, "a_verifier": 2},
        "mission-sud": {"site": "clinique_sud", "statut": "incomplet", "critique": 0, "a_verifier": 0},
    }


def test_inventaire_conforme_la_tache_reussit(passages):
    passage = passages["conforme"].attendre()
    assert passage.code == 0, passage.sortie
    assert passage.recap["failed"] == 0 and not passage.echec
    assert "Code 0 : conforme" in passage.sortie
    assert passage.rapport()["verdict"]["statut"] == "conforme"
    assert all((passage.dossier / nom).exists() for nom in RAPPORTS)
    assert passage.artefacts == {
        "telesante_audit_code": 0, "telesante_audit_verdict": "conforme",
        "telesante_audit_inventaire": str(passage.inventaire),
        "telesante_audit_dossier": str(passage.dossier),
        "telesante_audit_constats_critiques": 0, "telesante_audit_constats_a_verifier": 0,
        "telesante_audit_constats_leves": 0, "telesante_audit_equipements_incomplets": [],
        "telesante_audit_reseaux_mission": {
            "mission-mini": {"site": "clinique_mini", "statut": "conforme", "critique": 0, "a_verifier": 0}},
    }


def test_non_conformite_echoue_en_listant_le_constat_critique(passages):
    passage = passages["non_conforme_vault"].attendre()
    assert passage.code != 0 and passage.recap["failed"] == 1, passage.sortie
    echec = passage.echec
    assert echec[0].startswith("Non-conformités (code 1) : 1 constat(s) critique(s) et 0 à vérifier"), echec
    assert echec[1:] == [
        "[critique] mission-mini : 84:28:59:3a:40:02 — appareil grand public interdit : Amazon Echo "
        "(assistant vocal) — IP 10.40.1.41"], echec
    assert passage.artefacts["telesante_audit_code"] == 1
    assert passage.artefacts["telesante_audit_reseaux_mission"] == _actifs_par_reseau(passage.rapport())


def test_inventaire_invalide_echoue_avec_le_message_de_configuration(passages):
    passage = passages["invalide"].attendre()
    assert passage.code != 0 and passage.recap["failed"] == 1, passage.sortie
    echec = passage.echec
    assert echec[0].startswith("Erreur de configuration (code 3) : rien n'a été audité."), echec
    texte = "\n".join(echec)
    assert "group_vars/all.yml, ligne" in texte and "telesante_reseaux[0].sous_reseaux[0]" in texte, texte
    assert "CIDR invalide" in texte
    assert not (passage.dossier / "rapport.json").exists()
    assert passage.artefacts == {
        "telesante_audit_code": 3, "telesante_audit_verdict": "erreur_configuration",
        "telesante_audit_inventaire": str(passage.inventaire),
        "telesante_audit_dossier": str(passage.dossier),
    }


def test_vault_sans_mot_de_passe_erreur_de_configuration_qui_dit_quoi_faire(passages):
    passage = passages["vault_sans_mot_de_passe"].attendre()
    echec = passage.echec
    assert echec and echec[0].startswith("Erreur de configuration (code 3)"), passage.sortie
    assert "ANSIBLE_VAULT_PASSWORD_FILE" in echec[-1] and "telesante_audit_fichier_vault" in echec[-1]
    assert SECRET not in passage.sortie


def test_vault_mot_de_passe_transmis_par_fichier_jamais_en_clair(passages):
    """ANSIBLE_VAULT_PASSWORD_FILE reaches the telesante command (else: code 3, not 1)."""
    passage = passages["non_conforme_vault"].attendre()
    assert passage.artefacts["telesante_audit_code"] == 1, passage.sortie
    assert "--fichier-mot-de-passe-vault" not in passage.sortie  # the command's argv stays out of the log
    assert SECRET not in passage.sortie and MOT_DE_PASSE_VAULT not in passage.sortie
    for nom in RAPPORTS:
        assert SECRET not in (passage.dossier / nom).read_text(encoding="utf-8", errors="replace"), nom


def test_le_playbook_est_verifie_par_le_test_statique():
    """test_statique.py lints and syntax-checks every playbooks/*.yml: this one included."""
    from .test_statique import PLAYBOOKS

    assert PLAYBOOK in PLAYBOOKS

