"""Inventory of the isolation probe: platform sonde_isolement, cibles_isolement, telesante_derogations_isolement."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from telesante.cli import main
from telesante.inventaire import ErreurConfiguration, charger_configuration
from telesante.configuration import CibleIsolement, DerogationIsolement

SONDE = """
    sondes_isolement_essai:
      hosts:
        sonde-patients-test:
          ansible_host: 192.0.2.15
          telesante_plateforme: sonde_isolement
          telesante_site: hopital_nord
          telesante_reseau: patients-nord
"""

CIBLES = """    cibles_isolement:
      - adresse: 10.20.110.10
        ports: [443, 3389]
        nom: serveur-dsq
      - adresse: 10.20.110.53
        resolveur: true
"""

DEROGATIONS = """telesante_derogations_isolement:
  - depuis: patients-nord
    cible: 10.20.110.10
    port: 443
    methode: tcp
    justification: portail d'accès volontairement ouvert aux patients (billet 5120)
    expiration: 2027-01-31
"""


def _inventaire(hosts: Path, sonde: str = SONDE, cibles: str = CIBLES, derogations: str = DEROGATIONS) -> Path:
    racine = hosts.parent
    texte = hosts.read_text()
    hosts.write_text(texte.replace("\n    postes_dsq:", sonde + "\n    postes_dsq:", 1))
    reseaux = racine / "group_vars/all/reseaux.yml"
    reseaux.write_text(reseaux.read_text().replace("    vlans: [110]\n", "    vlans: [110]\n" + cibles, 1))
    (racine / "group_vars/all/derogations_isolement.yml").write_text(derogations)
    return hosts


def _erreurs(hosts: Path) -> str:
    with pytest.raises(ErreurConfiguration) as error:
        charger_configuration(hosts)
    return "\n".join(error.value.erreurs)


def test_sonde_cibles_et_derogations_lues(exemple):
    config = charger_configuration(_inventaire(exemple))
    sonde = next(e for e in config.equipements if e.nom == "sonde-patients-test")
    assert (sonde.plateforme, sonde.reseau, sonde.chemin_fichier) == (
        "sonde_isolement", "patients-nord", "/var/lib/telesante/isolement.json")
    mission = next(r for r in config.reseaux if r.nom == "mission-nord")
    assert mission.cibles_isolement == (CibleIsolement("10.20.110.10", (443, 3389), "serveur-dsq"),
                                        CibleIsolement("10.20.110.53", (), "", True))
    assert config.derogations_isolement == [DerogationIsolement(
        "patients-nord", "10.20.110.10", "portail d'accès volontairement ouvert aux patients (billet 5120)",
        date(2027, 1, 31), 443, "tcp")]


@pytest.mark.parametrize("sonde, extrait", [
    (SONDE.replace("          telesante_reseau: patients-nord\n", ""),
     "réseau hors mission de la sonde sonde-patients-test manquant (réseaux hors mission du site « hopital_nord » : "
     "patients-nord)"),
    (SONDE.replace("telesante_reseau: patients-nord", "telesante_reseau: mission-nord"),
     "« mission-nord » n'est pas un réseau hors mission du site « hopital_nord »"),
    (SONDE.replace("telesante_reseau: patients-nord", "telesante_reseau: invites-sud"),
     "« invites-sud » n'est pas un réseau hors mission du site « hopital_nord »"),
    (SONDE.replace("telesante_reseau: patients-nord", "telesante_reseau: [patients-nord]"),
     "clé « telesante_reseau » : texte attendu, pas une liste"),
    (SONDE.replace("telesante_plateforme: sonde_isolement", "telesante_plateforme: dnsmasq"),
     "clé « telesante_reseau » : réservée aux sondes d'isolement"),
])
def test_reseau_de_la_sonde_refuse(exemple, sonde, extrait):
    erreurs = _erreurs(_inventaire(exemple, sonde=sonde))
    assert extrait in erreurs
    assert "hosts.yml" in erreurs or "hôte sonde-patients-test" in erreurs


@pytest.mark.parametrize("ancien, nouveau, extrait", [
    ("adresse: 10.20.110.10", "adresse: 10.20.120.10",
     "cibles_isolement[0].adresse » : 10.20.120.10 hors des sous_reseaux de ce réseau (10.20.110.0/24)"),
    ("adresse: 10.20.110.10", "adresse: 10.20.110.0/24", "adresse IPv4 invalide « 10.20.110.0/24 »"),
    ("adresse: 10.20.110.10", "adresse: serveur", "adresse IPv4 invalide « serveur »"),
    ("ports: [443, 3389]", "ports: [443, 70000]", "cibles_isolement[0].ports[1] » : valeur invalide « 70000 »"),
    ("ports: [443, 3389]", "ports: ['443']", "cibles_isolement[0].ports[0] » : valeur invalide « 443 »"),
    ("ports: [443, 3389]", "ports: 443", "cibles_isolement[0].ports » : liste attendue"),
    ("resolveur: true", "resolveur: oui-da", "cibles_isolement[1].resolveur » : « oui-da » : true ou false attendu"),
    ("nom: serveur-dsq", "nom: serveur-dsq\n        protocole: tcp",
     "cibles_isolement[0].protocole » : clé inconnue (connues : adresse, ports, nom, resolveur)"),
])
def test_cible_d_isolement_refusee(exemple, ancien, nouveau, extrait):
    erreurs = _erreurs(_inventaire(exemple, cibles=CIBLES.replace(ancien, nouveau)))
    assert extrait in erreurs
    assert "reseaux.yml" in erreurs


def test_cibles_sur_un_reseau_hors_mission_refusees(exemple):
    hosts = _inventaire(exemple)
    reseaux = hosts.parent / "group_vars/all/reseaux.yml"
    reseaux.write_text(reseaux.read_text().replace("    vlans: [120]\n", "    vlans: [120]\n    cibles_isolement: []\n"))
    assert "cibles_isolement: []" in reseaux.read_text()
    assert "cibles_isolement » : réservée aux réseaux de mission" in _erreurs(hosts)


@pytest.mark.parametrize("ancien, nouveau, extrait", [
    ("depuis: patients-nord", "depuis: mission-nord", "« mission-nord » n'est pas un réseau hors mission déclaré"),
    ("cible: 10.20.110.10", "cible: 10.30.210.10", "10.30.210.10 n'est dans aucun réseau de mission du site « hopital_nord »"),
    ("cible: 10.20.110.10", "cible: portail", "adresse IPv4 invalide « portail »"),
    ("port: 443", "port: 0", "port » : valeur invalide « 0 »"),
    ("methode: tcp", "methode: udp", "méthode inconnue « udp » (connues : icmp, tcp, dns, arp, mdns)"),
    ("expiration: 2027-01-31", "expiration: 2027-W05", "date invalide « 2027-W05 »"),
    ("    expiration: 2027-01-31\n", "", "date d'expiration obligatoire"),
    ("    justification: portail d'accès volontairement ouvert aux patients (billet 5120)\n", "",
     "justification » : valeur obligatoire manquante"),
    ("    methode: tcp\n", "    methode: tcp\n    raison: portail\n", "raison » : clé inconnue"),
])
def test_derogation_d_isolement_refusee(exemple, ancien, nouveau, extrait):
    erreurs = _erreurs(_inventaire(exemple, derogations=DEROGATIONS.replace(ancien, nouveau)))
    assert extrait in erreurs
    assert "telesante_derogations_isolement[0]" in erreurs


def test_erreur_d_isolement_code_3(exemple, capsys):
    hosts = _inventaire(exemple, derogations=DEROGATIONS.replace("methode: tcp", "methode: udp"))
    assert main(["audit", "-i", str(hosts), "-f", "terminal"]) == 3
    assert "méthode inconnue « udp »" in capsys.readouterr().err
