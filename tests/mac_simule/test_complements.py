"""The workstation-check stand-ins of the simulated Mac: fdesetup, spctl, curl (complements.py).

Each accepts only what the real tool accepts and answers in its words (sources in each file).
"""

from __future__ import annotations

import pytest

from .complements import installer_complements, regler_dns, regler_filevault

pytestmark = pytest.mark.racine


@pytest.fixture(scope="module")
def mac(fabrique_mac_simule_module):
    mac = fabrique_mac_simule_module(architecture="arm64")
    installer_complements(mac)
    return mac


def test_fdesetup_status_suit_l_etat_et_ne_change_rien(mac):
    assert mac.executer(["fdesetup", "status"]).stdout == "FileVault is On.\n"
    assert mac.executer(["fdesetup", "isactive"]).stdout == "true\n"
    regler_filevault(mac, "inactif")
    try:
        off = mac.executer(["fdesetup", "status"])
        assert (off.returncode, off.stdout) == (0, "FileVault is Off.\n")
        inactif = mac.executer(["fdesetup", "isactive"])
        assert (inactif.returncode, inactif.stdout) == (1, "false\n")
        regler_filevault(mac, "chiffrement", 12.5)
        assert mac.executer(["fdesetup", "status"]).stdout == "Encryption in progress: Percent completed = 12.5\n"
        # what changes FileVault is never done by the provisioning: refused, state untouched
        activer = mac.executer(["fdesetup", "enable"])
        assert activer.returncode == 1 and "non pris en charge par le Mac simulé" in activer.stderr
        inconnu = mac.executer(["fdesetup", "statut"])
        assert inconnu.returncode == 2 and "Unknown verb 'statut'" in inconnu.stderr
        assert mac.etat("filevault")["etat"] == "chiffrement"
    finally:
        regler_filevault(mac, "actif")


def test_spctl_accepte_une_application_notarisee_et_nomme_l_equipe(mac, tmp_path):
    from . import fabrication

    paquet = fabrication.fabriquer_application(tmp_path, "zoom", "6.2.11 (43613)")
    mac.chemin("/private/tmp/zoom.pkg").write_bytes(paquet.read_bytes())
    installe = mac.executer(["installer", "-pkg", "/private/tmp/zoom.pkg", "-target", "/"], delai=60)
    assert installe.returncode == 0, installe.stderr
    app = "/Applications/zoom.us.app"
    accepte = mac.executer(["spctl", "-a", "-vv", app])
    assert accepte.returncode == 0, accepte.stderr
    assert accepte.stderr.splitlines() == [
        f"{app}: accepted", "source=Notarized Developer ID",
        "origin=Developer ID Application: Zoom Video Communications, Inc. (BJ4HAAB9B3)"]
    # a file of the bundle changed: the seal is broken, Gatekeeper denies (exit 3)
    info = mac.chemin(f"{app}/Contents/MacOS/zoom.us")
    info.write_text("#!/bin/sh\nexit 1\n")
    refuse = mac.executer(["spctl", "--assess", "--type", "execute", "-v", app])
    assert (refuse.returncode, refuse.stderr.strip()) == (3, f"{app}: a sealed resource is missing or invalid")
    assert mac.executer(["spctl", "--master-disable"]).returncode == 1
    assert mac.executer(["spctl", app]).returncode == 2  # no operation: usage, as the real tool


def test_curl_resout_par_le_dns_du_mac_puis_lance_le_vrai_curl(mac):
    absent = mac.executer(["curl", "-sS", "-o", "/dev/null", "https://reacts.sante.quebec/"])
    assert (absent.returncode, absent.stderr.strip()) == (6, "curl: (6) Could not resolve host: reacts.sante.quebec")
    regler_dns(mac, {"reacts.sante.quebec": mac.adresse_hote})
    # resolved to the host, where nothing listens on that port: the real curl's "failed to connect"
    ferme = mac.executer(["curl", "-sS", "-o", "/dev/null", "--connect-timeout", "5", "-w", "%{http_code}",
                          "http://reacts.sante.quebec:9/"])
    assert ferme.returncode == 7, ferme.stderr
    assert ferme.stdout == "000" and "Failed to connect to reacts.sante.quebec port 9" in ferme.stderr
    assert mac.executer(["curl", "--insecure", "https://reacts.sante.quebec/"]).returncode == 1
    assert mac.executer(["curl", "-sS"]).returncode == 2  # no URL, as the real one
