"""Unattended Windows installation and guest preparation, against simulated Macs.

The simulated guest (tests/mac_simule/outils/invite_simule.py, behind the vmrun stand-in)
installs Windows from the answer CD, logs on once, plays the preparation manifest from the
preparation CD and writes its journal, as described in tests/mac_simule/CONTRAT.md. Nothing
here proves that a real Windows does the same: see README, « Windows dans la VM ».
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from .aide import APPLICATION, VMX, jouer, lire_vmx
from .test_convergence import MOT_DE_PASSE_ADMIN, installateurs, preparer  # noqa: F401 (fixture)

pytestmark = pytest.mark.racine

VMRUN = f"{APPLICATION}/Contents/Library/vmrun"
PAQUET = VMX.rsplit("/", 1)[0]
SAFENET = "/Users/Shared/Installateurs/SafeNetAuthenticationClient-x64-10.8.msi"
OUTIL = "/Users/Shared/Installateurs/VisualiseurDSQ-Composant.exe"


def poser_installateurs(mac, fabrication):
    """Internal installers on the Mac; their sha256 as the inventory gives them."""
    sommes = {}
    for chemin, contenu in ((SAFENET, b"MSI SafeNet (test)\n" * 100), (OUTIL, b"EXE DSQ (test)\n" * 50)):
        cible = mac.chemin(chemin)
        cible.parent.mkdir(parents=True, exist_ok=True)
        cible.write_bytes(contenu)
        sommes[chemin] = fabrication.sha256(cible)
    return sommes


def variables_preparation(sommes, **changements):
    valeurs = {
        "vm_windows_installation_automatique": True,
        "vm_windows_intervalle_sondage_secondes": 1,
        "vm_windows_delai_installation_secondes": 30,
        "vm_windows_delai_preparation_secondes": 10,
        "preparation_invite_safenet": {
            "nom": "SafeNet Authentication Client", "fichier": SAFENET, "sha256": sommes[SAFENET],
            "arguments": "/qn /norestart",
            "detection": {"type": "cle_desinstallation", "nom_affiche": "SafeNet Authentication Client",
                          "version": "10.8.1130.0"}},
        "preparation_invite_outils_dsq": [{
            "nom": "Composant du Visualiseur DSQ", "fichier": OUTIL, "sha256": sommes[OUTIL],
            "arguments": "/S",
            "detection": {"type": "version_fichier", "chemin": r"C:\Program Files\DSQ\composant.exe",
                          "version": "4.2.0.1"}}],
        "preparation_invite_adresses_dsq": ["https://visualiseur.dsq.sante.quebec/portail",
                                            "https://www.dsq.sante.quebec"],
    }
    valeurs.update(changements)
    return valeurs


def invite(mac):
    """The simulated guest of the VM (state and drive C:)."""
    dossiers = list(mac.chemin("/private/var/telesante-etat/invites").iterdir())
    assert len(dossiers) == 1, dossiers
    return json.loads((dossiers[0] / "etat.json").read_text(encoding="utf-8")), dossiers[0] / "C"


def options_invite(mac, **options):
    mac.chemin("/private/var/telesante-etat/invite-simule.json").write_text(json.dumps(options))


def vm_en_marche(mac) -> int:
    sortie = mac.executer([VMRUN, "-T", "fusion", "list"]).stdout
    return int(sortie.splitlines()[0].rsplit(" ", 1)[1])


def test_installation_sans_personne_puis_second_passage_sans_changement(
        fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    sommes = poser_installateurs(mac, fabrication)
    inventaire = preparer(mac, installateurs, tmp_path, **variables_preparation(sommes))

    premier = jouer(inventaire)
    assert premier.code == 0, premier.sortie
    assert MOT_DE_PASSE_ADMIN not in premier.sortie
    # the guest: installed once, prepared from the manifest, autologon switched off
    etat, disque_c = invite(mac)
    assert etat["windows"] and etat["reinstallations"] == 0 and etat["preparations"] == 1
    # UEFI booted the copy remastered with efisys_noprompt.bin: no « Press any key » prompt
    assert "invite" not in etat, etat.get("invite")
    assert not list(mac.chemin(PAQUET).glob("installation-sans-invite-*.iso")), "copie sans invite restée"
    assert mac.chemin("/Users/Shared/Installateurs/windows.iso").is_file()
    assert etat["reponses"]["nom_ordinateur"] == mac.nom.upper()[:15]
    cles = etat["registre"]
    assert cles["HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Winlogon\\AutoAdminLogon"] == "0"
    assert cles["HKLM\\SOFTWARE\\Policies\\Microsoft\\Edge\\InternetExplorerIntegrationLevel"] == 1
    assert cles["HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\DataCollection\\AllowTelemetry"] == 1
    assert cles["HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\WindowsUpdate\\AU\\NoAutoUpdate"] == 0
    sites = ET.fromstring((disque_c / "ProgramData/Telesante/sites-ie.xml").read_bytes())
    assert [s.get("url") for s in sites.iter("site")] == ["visualiseur.dsq.sante.quebec/portail",
                                                          "www.dsq.sante.quebec"]
    # the journal came back to the Mac, in the manifest's order
    journal = json.loads(mac.chemin(f"{PAQUET}/journal-preparation.json").read_text(encoding="utf-8"))
    assert journal["resultat"] == "reussi"
    assert [e["nom"] for e in journal["etapes"]][:3] == [
        "VMware Tools", "SafeNet Authentication Client", "Composant du Visualiseur DSQ"]
    assert {e["resultat"] for e in journal["etapes"]} <= {"installe", "applique", "verifie"}
    # the VM is off, without its installation CDs; answer file and media are gone
    assert vm_en_marche(mac) == 0
    vmx = lire_vmx(mac.chemin(VMX))
    for appareil in ("sata0:1", "sata0:2", "sata0:3"):
        assert vmx.get(f"{appareil}.present", "FALSE") == "FALSE", appareil
        assert f"{appareil}.filename" not in vmx, appareil
    for reste in ("autounattend", "autounattend.iso", "preparation.iso", "preparation/media"):
        assert not mac.chemin(f"{PAQUET}/{reste}").exists(), reste
    assert json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text())["etat"] == "installe"

    # the site list is the documented v.2 format (Microsoft, "Enterprise Mode schema v.2 guidance":
    # <site-list version=N>, <created-by>, <site url> with <compat-mode> and <open-in>)
    assert sites.tag == "site-list" and sites.get("version").isdigit()
    assert [e.tag for e in sites] == ["created-by", "site", "site"]
    for site in sites.iter("site"):
        assert [e.tag for e in site] == ["compat-mode", "open-in"]
        assert site.findtext("compat-mode") in {"Default", "IE8Enterprise", "IE7Enterprise", "IE7", "IE8",
                                                "IE9", "IE10", "IE11"}
        assert site.findtext("open-in") in {"None", "IE11", "MSEdge"}

    second = jouer(inventaire)
    assert second.code == 0, second.sortie
    assert second.changes() == 0, second.sortie
    assert invite(mac)[0]["reinstallations"] == 0 and vm_en_marche(mac) == 0

    # verifications/poste_dsq, guest part: through vmrun's guest operations, in JUnit
    from .test_verifications import run_suite
    suite = run_suite(inventaire, tmp_path / "verifications", "-k", "test_invite")
    assert suite.code == 0, suite.output
    assert suite.functions("passed") == {"test_invite_preparation_reussie",
                                         "test_invite_logiciels_de_l_inventaire_presents",
                                         "test_invite_liste_de_sites_du_mode_entreprise",
                                         "test_invite_jeton_vu_par_l_intergiciel"}, suite.output
    assert MOT_DE_PASSE_ADMIN not in suite.output
    assert vm_en_marche(mac) == 0, "les vérifications ont laissé la VM allumée"
    # the guest altered: a tool gone from the journal is named
    journal_invite = invite(mac)[1] / "ProgramData/Telesante/preparation.json"
    modifie = json.loads(journal_invite.read_text(encoding="utf-8"))
    modifie["etapes"] = [e for e in modifie["etapes"] if e["nom"] != "Composant du Visualiseur DSQ"]
    journal_invite.write_text(json.dumps(modifie), encoding="utf-8")
    altere = run_suite(inventaire, tmp_path / "verifications-altere", "-k", "test_invite")
    assert altere.code != 0
    assert altere.functions("failed") == {"test_invite_logiciels_de_l_inventaire_presents"}, altere.output
    assert "Composant du Visualiseur DSQ (absent du journal)" in " ".join(altere.with_outcome("failed").values())
    # the token: SafeNet gone from the guest, the card is no longer recognised (certutil -scinfo)
    etat_invite = invite(mac)[1].parent / "etat.json"
    donnees = json.loads(etat_invite.read_text(encoding="utf-8"))
    donnees["produits"] = {cle: nom for cle, nom in donnees["produits"].items() if "SafeNet" not in cle}
    etat_invite.write_text(json.dumps(donnees), encoding="utf-8")
    sans_safenet = run_suite(inventaire, tmp_path / "verifications-jeton", "-k", "test_invite_jeton")
    assert sans_safenet.functions("failed") == {"test_invite_jeton_vu_par_l_intergiciel"}, sans_safenet.output
    assert "aucune carte reconnue par un intergiciel" in " ".join(sans_safenet.with_outcome("failed").values())
    # unplugged from the Mac: nothing to see in the guest, skipped with the reason (the Mac side warns)
    mac.debrancher_jeton()
    debranche = run_suite(inventaire, tmp_path / "verifications-debranche", "-k", "test_invite_jeton")
    assert debranche.functions("skipped") == {"test_invite_jeton_vu_par_l_intergiciel"}, debranche.output
    assert MOT_DE_PASSE_ADMIN not in sans_safenet.output + debranche.output


@pytest.mark.parametrize("cas", ["somme_fausse", "fichier_absent", "doublon"])
def test_fichier_refuse_avant_la_gravure(fabrique_mac_simule, installateurs, fabrication, tmp_path, cas):  # noqa: F811
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    sommes = poser_installateurs(mac, fabrication)
    valeurs = variables_preparation(sommes)
    outil = valeurs["preparation_invite_outils_dsq"][0]
    if cas == "somme_fausse":
        outil["sha256"] = "ab" * 32
        attendu = "Fichier de « Composant du Visualiseur DSQ » refusé"
    elif cas == "fichier_absent":
        outil["fichier"] = "/Users/Shared/Installateurs/absent.exe"
        attendu = "absent.exe est introuvable"
    else:
        valeurs["preparation_invite_outils_dsq"].append(dict(outil, nom="composant du visualiseur dsq"))
        attendu = "Logiciel en double"
    passage = jouer(preparer(mac, installateurs, tmp_path, **valeurs))
    assert passage.code != 0
    assert attendu in passage.sortie, passage.sortie
    assert not mac.chemin(f"{PAQUET}/preparation.iso").exists()
    assert vm_en_marche(mac) == 0
    assert not mac.chemin("/private/var/telesante-etat/invites").exists()


def test_etape_en_echec_nommee_et_publiee(fabrique_mac_simule, installateurs, fabrication, tmp_path,  # noqa: F811
                                         monkeypatch):
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    sommes = poser_installateurs(mac, fabrication)
    options_invite(mac, etapes_en_echec=["SafeNet Authentication Client"])
    # set_stats read as AWX reads its artifacts (tests/provisionnement/rappels/artefacts_awx.py)
    artefacts = tmp_path / "artefacts.json"
    monkeypatch.setenv("ANSIBLE_CALLBACK_PLUGINS", str(Path(__file__).resolve().parent / "rappels"))
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "artefacts_awx")
    monkeypatch.setenv("TELESANTE_ARTEFACTS", str(artefacts))
    passage = jouer(preparer(mac, installateurs, tmp_path, **variables_preparation(sommes)))
    publie = json.loads(artefacts.read_text(encoding="utf-8"))["preparation_invite"][mac.nom]
    assert publie == {"resultat": "echec", "etapes": ["VMware Tools : installe",
                                                      "SafeNet Authentication Client : echec"]}
    assert passage.code != 0
    assert ("Préparation de l'invité échouée sur " + mac.nom + " à l'étape « SafeNet Authentication Client »"
            " : l'installateur a rendu le code 1603 (code 1603)") in passage.sortie, passage.sortie
    assert MOT_DE_PASSE_ADMIN not in passage.sortie
    journal = json.loads(mac.chemin(f"{PAQUET}/journal-preparation.json").read_text(encoding="utf-8"))
    assert [e["resultat"] for e in journal["etapes"]] == ["installe", "echec"]
    # Windows is on the disk: no later run boots the answer CD again
    assert json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text()) == {
        "etat": "installe", "preparation": "non_terminee"}


def test_invite_qui_n_atteint_jamais_le_bureau(fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    sommes = poser_installateurs(mac, fabrication)
    options_invite(mac, bureau_jamais_atteint=True)
    passage = jouer(preparer(mac, installateurs, tmp_path, **variables_preparation(
        sommes, vm_windows_delai_installation_secondes=3)))
    assert passage.code != 0
    assert f"Installation de Windows sur {mac.nom} : délai dépassé. 3 s" in passage.sortie, passage.sortie
    assert "« unknown »" in passage.sortie
    assert json.loads(mac.chemin(f"{PAQUET}/telesante-installation.json").read_text())["etat"] == "a_installer"


def test_disque_qui_porte_deja_windows_jamais_reinstalle(fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    """A VM made by hand (disk present, no installation state): never started, never wiped."""
    mac = fabrique_mac_simule(architecture="x86_64", numero_serie="C02ZK1ABMD6R")
    sommes = poser_installateurs(mac, fabrication)
    paquet = mac.chemin(PAQUET)
    paquet.mkdir(parents=True)
    (paquet / "Windows DSQ.vmdk").write_bytes(b"# Disk DescriptorFile\n" + b"w" * 4096)
    passage = jouer(preparer(mac, installateurs, tmp_path, **variables_preparation(sommes)))
    assert passage.code == 0, passage.sortie
    assert vm_en_marche(mac) == 0
    assert not mac.chemin("/private/var/telesante-etat/invites").exists(), "la VM a été démarrée"
    from .iso import lire_iso
    reponses = lire_iso(mac.chemin(f"{PAQUET}/autounattend.iso"))["autounattend.xml"].decode()
    assert "WillWipeDisk" not in reponses and "<InstallTo>" not in reponses


def test_cd_de_reponses_lisible_par_root_et_le_proprietaire_seulement(
        fabrique_mac_simule, installateurs, fabrication, tmp_path):  # noqa: F811
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    passage = jouer(preparer(mac, installateurs, tmp_path))  # installation left for later
    assert passage.code == 0, passage.sortie
    # Fusion reads the CD as the VM's owner (uid 501, who starts it): his, read-only, no one else's;
    # the folder and the XML it is burnt from stay root's
    for chemin, mode, uid in ((f"{PAQUET}/autounattend.iso", 0o400, 501), (f"{PAQUET}/autounattend", 0o700, 0),
                              (f"{PAQUET}/autounattend/autounattend.xml", 0o600, 0)):
        info = mac.chemin(chemin).stat()
        assert info.st_mode & 0o777 == mode, (chemin, oct(info.st_mode))
        assert info.st_uid == uid, (chemin, info.st_uid)
    assert MOT_DE_PASSE_ADMIN.encode() in mac.chemin(f"{PAQUET}/autounattend.iso").read_bytes()
