"""The clinician's workstation beyond the VM (bulletin 7): Chrome for Reacts, Zoom at a minimum
version, FileVault on, the health network's .quebec domains resolved and answering.

Against simulated Macs: fdesetup, curl (the real one, behind the Mac's resolver) and the
packages come from tests/mac_simule (complements.py, fabrication.py).
"""

from __future__ import annotations

import functools
import http.server
import threading

import pytest

from tests.mac_simule.complements import regler_dns, regler_filevault

from .aide import jouer
from .test_convergence import VERSION_ZOOM, installateurs, preparer  # noqa: F401 (fixture)

pytestmark = pytest.mark.racine

ZOOM = "/Applications/zoom.us.app"
CHROME = "/Applications/Google Chrome.app"


def version(mac, application):
    lue = mac.executer(["defaults", "read", f"{application}/Contents/Info.plist", "CFBundleShortVersionString"])
    return lue.stdout.strip() if lue.returncode == 0 else None


@pytest.fixture
def serveur_web(tmp_path):
    """serveur_web(adresse) -> port: an HTTP server answering 200 on one address, stopped after the test."""
    serveurs = []

    def servir(adresse):
        (tmp_path / "www").mkdir(exist_ok=True)
        gestionnaire = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
        gestionnaire.log_message = lambda *args: None
        serveur = http.server.ThreadingHTTPServer((adresse, 0), gestionnaire)
        threading.Thread(target=serveur.serve_forever, daemon=True).start()
        serveurs.append(serveur)
        return serveur.server_address[1]

    yield servir
    for serveur in serveurs:
        serveur.shutdown()
        serveur.server_close()


def test_zoom_et_chrome_installes_puis_jamais_retrogrades(fabrique_mac_simule, installateurs, tmp_path):
    """Installed from the packages; a newer Zoom (its own auto-update) is left alone, never reinstalled."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    premier = jouer(inventaire, "--tags", "applications_cliniques")
    assert premier.code == 0, premier.sortie
    assert version(mac, ZOOM) == VERSION_ZOOM and version(mac, CHROME)
    # Zoom updated itself to a newer version: the role keeps it
    mac.executer(["defaults", "write", f"{ZOOM}/Contents/Info.plist", "CFBundleShortVersionString",
                  "-string", "6.4.0 (50000)"])
    second = jouer(inventaire, "--tags", "applications_cliniques")
    assert second.code == 0 and second.changes() == 0, second.sortie
    assert version(mac, ZOOM) == "6.4.0 (50000)"
    assert "AVERTISSEMENT" not in second.sortie


def test_zoom_trop_ancien_mis_a_jour_et_paquet_trop_ancien_refuse(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path)
    assert jouer(inventaire, "--tags", "applications_cliniques").code == 0
    # an older Zoom on the Mac: the package brings it to the minimum
    mac.executer(["defaults", "write", f"{ZOOM}/Contents/Info.plist", "CFBundleShortVersionString",
                  "-string", "5.17.11 (31580)"])
    mise_a_jour = jouer(inventaire, "--tags", "applications_cliniques")
    assert mise_a_jour.code == 0 and mise_a_jour.changes() > 0, mise_a_jour.sortie
    assert version(mac, ZOOM) == VERSION_ZOOM
    # a minimum above what the hospital's package holds: the role fails and says what to do
    refus = jouer(inventaire, "--tags", "applications_cliniques",
                  "-e", "applications_cliniques_zoom_version_minimale=6.3.0")
    assert refus.code != 0
    assert "sous la version minimale 6.3.0" in refus.sortie, refus.sortie
    assert "applications_cliniques_zoom" in refus.sortie


def test_paquet_altere_refuse_avant_installation(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    source = installateurs["applications"]["zoom"]
    inventaire = preparer(mac, installateurs, tmp_path,
                          applications_cliniques_zoom={"source": str(source), "sha256": "0" * 64})
    refus = jouer(inventaire, "--tags", "applications_cliniques")
    assert refus.code != 0
    assert "Paquet de Zoom refusé" in refus.sortie and "Rien n'a été copié ni installé" in refus.sortie
    assert version(mac, ZOOM) is None
    assert mac.executer(["pkgutil", "--pkg-info", "us.zoom.pkg.videomeeting"]).returncode == 1


def test_mises_a_jour_automatiques_coupees_signalees(fabrique_mac_simule, installateurs, tmp_path):
    """The role never disables updates; a managed preference that does is reported to AWX."""
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    assert jouer(inventaire, "--tags", "applications_cliniques").code == 0
    assert mac.executer(["defaults", "read", "/Library/Preferences/us.zoom.config", "ZAutoUpdate"]).returncode == 1
    mac.executer(["defaults", "write", "/Library/Preferences/us.zoom.config", "ZAutoUpdate", "-bool", "false"])
    passage = jouer(inventaire, "--tags", "applications_cliniques")
    assert passage.code == 0 and passage.changes() == 0, passage.sortie
    assert "coupe ou limite les mises à jour automatiques de Zoom" in passage.sortie
    assert "telesante_poste_pas_a_l_etat_voulu" in passage.sortie  # show_custom_stats: AWX sees it


@pytest.mark.parametrize(("etat", "attendu"), [
    ("inactif", "FileVault is Off."),
    ("chiffrement", "Encryption in progress"),
])
def test_filevault_inactif_arrete_sans_rien_activer(fabrique_mac_simule, installateurs, tmp_path, etat, attendu):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    regler_filevault(mac, etat)
    passage = jouer(inventaire, "--tags", "controles_poste")
    assert passage.code != 0
    assert "FileVault n'est pas actif" in passage.sortie and attendu in passage.sortie, passage.sortie
    assert "Le provisionnement ne l'active pas" in passage.sortie
    # nothing was enabled: the state is the one the test set
    assert mac.etat("filevault")["etat"] == etat
    # the site may accept it knowingly: a warning and set_stats, never a silent success
    tolere = jouer(inventaire, "--tags", "controles_poste", "-e", "controles_poste_filevault_exige=false")
    assert tolere.code == 0, tolere.sortie
    assert "AVERTISSEMENT : FileVault n'est pas actif" in tolere.sortie
    assert "telesante_poste_pas_a_l_etat_voulu" in tolere.sortie


def test_domaines_quebec_resolus_et_joints_depuis_le_poste(fabrique_mac_simule, installateurs, tmp_path,
                                                          serveur_web):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    port = serveur_web(mac.adresse_hote)
    regler_dns(mac, {"reacts.sante.quebec": mac.adresse_hote, "ferme.sante.quebec": mac.adresse_hote})
    bons = [{"nom": "reacts.sante.quebec", "url": f"http://reacts.sante.quebec:{port}/"}]
    inventaire = preparer(mac, installateurs, tmp_path, controles_poste_domaines=bons)
    passage = jouer(inventaire, "--tags", "controles_poste")
    assert passage.code == 0 and passage.changes() == 0, passage.sortie

    # unresolved name, then resolved but nothing listening: each named, with curl's reason
    mauvais = bons + [{"nom": "absent.sante.quebec"},
                      {"nom": "ferme.sante.quebec", "url": f"http://ferme.sante.quebec:{port + 1}/"}]
    inventaire = preparer(mac, installateurs, tmp_path, controles_poste_domaines=mauvais)
    refus = jouer(inventaire, "--tags", "controles_poste")
    assert refus.code != 0
    assert "absent.sante.quebec n'est pas résolu (DNS : curl: (6) Could not resolve host" in refus.sortie, refus.sortie
    assert "ferme.sante.quebec est résolu mais ne répond pas (curl, code 7" in refus.sortie
    assert "reacts.sante.quebec n'est pas résolu" not in refus.sortie
    assert "reacts.sante.quebec est résolu mais ne répond pas" not in refus.sortie


def test_liste_de_domaines_vide_avertit(fabrique_mac_simule, installateurs, tmp_path):
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    inventaire = preparer(mac, installateurs, tmp_path)
    passage = jouer(inventaire, "--tags", "controles_poste")
    assert passage.code == 0, passage.sortie
    assert "AVERTISSEMENT : controles_poste_domaines est vide" in passage.sortie
    assert "telesante_poste_pas_a_l_etat_voulu" in passage.sortie
