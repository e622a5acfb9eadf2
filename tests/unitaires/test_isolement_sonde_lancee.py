"""The isolation probe launched by the audit over SSH: inventory, plan on standard input, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import netaddr
import pytest

from telesante.collecte import en_direct, sonde_lancee, ssh
from telesante.collecte.contrat import EchecPassager, LectureRefusee, ParametresCollecte
from telesante.collecte.plan_isolement import lire_plan
from telesante.inventaire import charger_configuration
from tests.unitaires.test_isolement_inventaire import CIBLES, SONDE, _erreurs, _inventaire

TELESANTE = Path(sys.executable).with_name("telesante")
LANCEE = SONDE + """          telesante_sonde_lancee_par_audit: true
          telesante_sonde_commande: sudo -n /opt/telesante/.venv/bin/telesante
          telesante_sonde_interface: eth0
          telesante_sonde_duree_max: 30
"""


def _sonde(hosts: Path, sonde: str = LANCEE):
    config = charger_configuration(_inventaire(hosts, sonde=sonde))
    return next(e for e in config.equipements if e.nom == "sonde-patients-test")


def test_sonde_lancee_par_audit_plan_de_l_inventaire(exemple):
    sonde = _sonde(exemple)
    assert sonde.lancement.commande == ("sudo", "-n", "/opt/telesante/.venv/bin/telesante")
    plan = sonde.lancement.plan
    assert (plan.sonde, plan.reseau, plan.interface, plan.bornes.duree_max) == (
        "sonde-patients-test", "patients-nord", "eth0", 30.0)
    assert {c.adresse for c in plan.cibles} >= {"10.20.110.10", "10.20.110.53"}
    assert plan.passage == ""  # given by each run, never by the inventory


def test_par_defaut_le_fichier_du_minuteur_est_lu(exemple):
    assert _sonde(exemple, SONDE).lancement is None


@pytest.mark.parametrize("ajout, extrait", [
    ("telesante_sonde_lancee_par_audit: oui", "telesante_sonde_lancee_par_audit » : true ou false attendu, pas « oui »"),
    ("telesante_sonde_interface: eth0", "sans effet : la sonde sonde-patients-test n'est pas lancée par l'audit"),
    ("telesante_sonde_lancee_par_audit: true\n          telesante_sonde_commande: \"sudo 'telesante\"",
     "telesante_sonde_commande » : commande qui lance telesante"),
    ("telesante_sonde_lancee_par_audit: true\n          telesante_sonde_interface: une-interface-trop-longue",
     "nom d'interface Linux attendu"),
    ("telesante_sonde_lancee_par_audit: true\n          telesante_sonde_duree_max: 7200",
     "telesante_sonde_duree_max » : valeur invalide « 7200 » (entier de 1 à 3600)"),
])
def test_variables_de_lancement_invalides(exemple, ajout, extrait):
    assert extrait in _erreurs(_inventaire(exemple, sonde=SONDE + f"          {ajout}\n"))


def test_variables_de_lancement_reservees_aux_sondes(exemple):
    texte = exemple.read_text()
    exemple.write_text(texte.replace("telesante_plateforme: dnsmasq",
                                     "telesante_plateforme: dnsmasq\n          telesante_sonde_lancee_par_audit: true", 1))
    assert "réservée aux sondes d'isolement (plateforme sonde_isolement)" in _erreurs(_inventaire(exemple, cibles=CIBLES))


def test_plan_sur_l_entree_standard_passage_recopie(tmp_path):
    plan = {"sonde": "sonde-boucle", "reseau": "patients", "passage": "0123456789abcdef0123456789abcdef",
            "cibles": [{"adresse": "127.0.0.1", "reseau": "mission"}], "sous_reseaux_mission": {"mission": ["127.0.0.0/8"]},
            "methodes": ["tcp"]}
    sortie = tmp_path / "isolement.json"
    fini = subprocess.run([TELESANTE, "capteur", "isolement", "--plan", "-", "--sortie", sortie], input=json.dumps(plan),
                          capture_output=True, text=True, timeout=60)
    assert fini.returncode == 0, fini.stderr
    assert json.loads(sortie.read_text())["passage"] == plan["passage"]
    plan["passage"] = "pas-un-identifiant"
    refuse = subprocess.run([TELESANTE, "capteur", "isolement", "--plan", "-", "--sortie", tmp_path / "autre.json"],
                            input=json.dumps(plan), capture_output=True, text=True, timeout=60)
    assert refuse.returncode == 3 and "passage" in refuse.stderr and not (tmp_path / "autre.json").exists()


@pytest.fixture
def sonde(exemple):
    return _sonde(exemple)


def _executer_simule(monkeypatch, reponse):
    """ssh.executer replaced: records what the audit sends, answers `reponse(plan)` (status, output, errors)."""
    envoye = {}

    def executer(equipement, parametres, commande, entree, delai):
        envoye.update(commande=commande, plan=lire_plan(entree.decode()), delai=delai)
        return reponse(envoye["plan"])

    monkeypatch.setattr(ssh, "executer", executer)
    return envoye


def _resultat(plan, passage=None):
    return json.dumps({"sonde": plan.sonde, "reseau": plan.reseau, "passage": passage or plan.passage})


def test_commande_plan_et_resultat_de_ce_passage(monkeypatch, sonde):
    envoye = _executer_simule(monkeypatch, lambda plan: (0, _resultat(plan), ""))
    textes = sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null"), delai_commande=20))
    # Bounded on the probe one second after the audit stops waiting (SIGKILL 5 s after SIGTERM).
    assert envoye["commande"] == ("timeout -k 5 51 sudo -n /opt/telesante/.venv/bin/telesante capteur isolement "
                                  "--plan - --sortie /var/lib/telesante/isolement.json > /dev/null "
                                  "&& cat /var/lib/telesante/isolement.json")
    assert envoye["delai"] == 50  # duree_max 30 s + command delay 20 s
    assert len(envoye["plan"].passage) == 32 and envoye["plan"].interface == "eth0"
    assert list(textes) == ["cat {chemin}"] and json.loads(textes["cat {chemin}"])["passage"] == envoye["plan"].passage


def test_chaque_passage_a_son_identifiant(monkeypatch, sonde):
    envoye = _executer_simule(monkeypatch, lambda plan: (0, _resultat(plan), ""))
    passages = set()
    for _ in range(3):
        sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null")))
        passages.add(envoye["plan"].passage)
    assert len(passages) == 3


@pytest.mark.parametrize("reponse, extrait", [
    ((3, "", "Plan « - » refusé : cibles[0] : 10.0.0.1 hors des\nsous-réseaux de « mission » : refusée\n"),
     "sonde lancée par l'audit en échec (code 3 : plan ou options refusés par la sonde) : Plan « - » refusé : "
     "cibles[0] : 10.0.0.1 hors des sous-réseaux de « mission » : refusée ; aucun résultat de ce passage"),
    ((2, "", "Sonde d'isolement arrêtée : permission refusée\n"), "code 2 : sonde arrêtée ou impossible à lancer"),
    ((127, "", "sh: 1: /opt/telesante/.venv/bin/telesante: not found\n"), "code 127 : commande introuvable"),
    ((124, "", ""), "code 124 : sonde arrêtée sur la sonde après son délai (timeout)"),
    ((1, "", "\x1b[31msudo: a password is required\x07"), "(code 1) : "),
    ((0, "{\"sonde\": \"sonde-patients-test\"", ""), "résultat illisible (pas un document JSON)"),
    ((0, "[]", ""), "résultat illisible (pas un document JSON)"),
    ((0, json.dumps({"sonde": "sonde-patients-test"}), ""), "identifiant aucun, attendu"),
])
def test_sonde_en_echec_ou_resultat_d_un_autre_passage(monkeypatch, sonde, reponse, extrait):
    _executer_simule(monkeypatch, lambda plan: reponse)
    with pytest.raises(LectureRefusee) as refus:
        sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null")))
    assert extrait in str(refus.value)
    assert "\x1b" not in str(refus.value) and "\x07" not in str(refus.value)


def test_resultat_d_une_autre_nuit_refuse(monkeypatch, sonde):
    _executer_simule(monkeypatch, lambda plan: (0, _resultat(plan, "f" * 32), ""))
    with pytest.raises(LectureRefusee, match=f"identifiant « {'f' * 32} », attendu « [0-9a-f]{{32}} »\\) : fichier "
                                             "d'un autre passage ou d'un autre plan, refusé"):
        sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null")))


def test_sonde_muette_incomplet_sans_nouvel_essai(monkeypatch, sonde, tmp_path):
    appels = []

    def executer(equipement, parametres, commande, entree, delai):
        appels.append(delai)
        raise ssh.DelaiDepasse(commande)

    monkeypatch.setattr(ssh, "executer", executer)
    hotes = tmp_path / "known_hosts"
    hotes.write_text("")
    resultat = en_direct.collecter_en_direct(sonde, ParametresCollecte(hotes, delai_commande=5, tentatives=3,
                                                                       attente_initiale=0))
    assert appels == [35]  # a stuck probe is not launched again
    assert resultat.problemes == ["sonde lancée par l'audit sans résultat après 35 s (durée maximale de son plan 30 s "
                                  "+ délai de commande 5 s) : bloquée ou injoignable en cours de route ; résultat non lu"]


def test_session_coupee_avant_la_fin_panne_passagere(monkeypatch, sonde):
    _executer_simule(monkeypatch, lambda plan: (-1, "", ""))
    with pytest.raises(EchecPassager, match="session SSH coupée avant la fin de la sonde lancée par l'audit"):
        sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null")))


def test_adresses_vues_au_passage_precedent_essayees(monkeypatch, exemple, tmp_path):
    """With --historique, the launched probe also tries (at most 16) mission addresses of the last run's findings,
    as the timer's plan does; on the first night (no history yet), only the gateways and the declared targets."""
    from telesante import cli
    from telesante.console import console_erreurs

    hosts = _inventaire(exemple, sonde=LANCEE)
    historique = tmp_path / "historique.sqlite"
    config = charger_configuration(hosts)
    assert cli._avec_adresses_vues(config, historique, console_erreurs()) is config  # first night
    nuit = subprocess.run([TELESANTE, "audit", "-i", hosts, "--date", "2026-11-21", "--historique", historique,
                           "-f", "json", "-o", tmp_path / "rapports"], capture_output=True, text=True, timeout=120)
    assert nuit.returncode in (1, 2), nuit.stderr
    rapport = json.loads((tmp_path / "rapports" / "rapport.json").read_text())
    mission = [r for r in config.reseaux if r.mission and r.site == "hopital_nord"]
    vues = {ip for c in rapport["constats"] for ip in c.get("ips", [])
            if any(netaddr.IPAddress(ip) in s for r in mission for s in r.sous_reseaux)}
    assert vues  # the demo's findings on the mission network have addresses

    sonde = next(e for e in cli._avec_adresses_vues(config, historique, console_erreurs()).equipements
                 if e.nom == "sonde-patients-test")
    envoye = _executer_simule(monkeypatch, lambda plan: (0, _resultat(plan), ""))
    sonde_lancee.lire_sonde_lancee(sonde, ParametresCollecte(Path("/dev/null")))
    essayees = {c.adresse for c in envoye["plan"].cibles if c.nom == "vue par l'audit"}
    assert essayees and essayees <= vues and len(essayees) == min(len(vues - {"10.20.110.1", "10.20.110.10",
                                                                            "10.20.110.53"}), 16)
    assert {"10.20.110.10", "10.20.110.53"} <= {c.adresse for c in envoye["plan"].cibles}  # declared ones kept
    assert envoye["plan"].bornes.duree_max == 30 and envoye["plan"].interface == "eth0"  # inventory's bounds kept
