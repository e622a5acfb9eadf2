"""A changed manifest (new DSQ tool) is played again in the installed guest, never reinstalling Windows.

Against the simulated guest (tests/mac_simule/outils/invite_simule.py): the preparation folder is
copied by vmrun copyFileFromHostToGuest and run by runProgramInGuest, as on a real Fusion; that
a real Windows runs it the same way is not proven here (README, « Windows dans la VM »).
"""

from __future__ import annotations

import json

import pytest

from .aide import jouer
from .test_convergence import MOT_DE_PASSE_ADMIN, installateurs, preparer  # noqa: F401 (fixture)
from .test_installation_windows import PAQUET, invite, poser_installateurs, variables_preparation, vm_en_marche

pytestmark = pytest.mark.racine

NOUVEL_OUTIL = "/Users/Shared/Installateurs/VisualiseurDSQ-Extension.msi"


def test_nouvel_outil_dsq_rejoue_sans_reinstaller_puis_rien(fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    sommes = poser_installateurs(mac, fabrication)
    valeurs = variables_preparation(sommes, vm_windows_profil_intel="windows10_x64")
    premier = jouer(preparer(mac, installateurs, tmp_path / "1", **valeurs))
    assert premier.code == 0, premier.sortie
    applique = json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text())["manifeste_sha256"]

    cible = mac.chemin(NOUVEL_OUTIL)
    cible.write_bytes(b"MSI extension DSQ (test)\n" * 40)
    valeurs["preparation_invite_outils_dsq"].append({
        "nom": "Extension du Visualiseur DSQ", "fichier": NOUVEL_OUTIL, "sha256": fabrication.sha256(cible),
        "arguments": "/qn", "detection": {"type": "cle_desinstallation", "nom_affiche": "Extension DSQ",
                                          "version": "1.0.0"}})
    second = jouer(preparer(mac, installateurs, tmp_path / "2", **valeurs))
    assert second.code == 0, second.sortie
    assert second.changes() > 0
    assert MOT_DE_PASSE_ADMIN not in second.sortie
    etat, _ = invite(mac)
    assert etat["reinstallations"] == 0 and etat["preparations"] == 2
    journal = json.loads(mac.chemin(f"{PAQUET}/journal-preparation.json").read_text(encoding="utf-8"))
    resultats = {e["nom"]: e["resultat"] for e in journal["etapes"]}
    assert resultats["Extension du Visualiseur DSQ"] == "installe"
    assert resultats["VMware Tools"] == resultats["Composant du Visualiseur DSQ"] == "deja_present"
    marque = json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text())
    assert marque["manifeste_sha256"] != applique and marque["manifeste_sha256"] == journal["manifeste_sha256"]
    assert vm_en_marche(mac) == 0, "la VM démarrée pour la préparation est restée allumée"

    troisieme = jouer(preparer(mac, installateurs, tmp_path / "3", **valeurs))
    assert troisieme.code == 0, troisieme.sortie
    assert troisieme.changes() == 0, troisieme.sortie
    assert invite(mac)[0]["preparations"] == 2
