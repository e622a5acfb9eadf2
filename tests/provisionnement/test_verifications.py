"""The verifications/poste_dsq suite (pytest-testinfra), proven against a simulated Mac.

One simulated Mac is converged once by playbooks/poste_dsq.yml; the suite then runs in a
subprocess exactly as an admin's CI runs it (``--hosts='ansible://postes_dsq'
--ansible-inventory=<hosts.yml>``, over SSH). It must pass on the provisioned Mac, and
fail, naming the broken thing, once the Mac is tampered with.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.sante_quebec.telesante.plugins.module_utils.vmx import parse_vmx
from telesante.mac import mac_vm_du_numero_serie

from tests.mac_simule.complements import regler_dns, regler_filevault

from .aide import APPLICATION, RACINE, VMX, dossier_controle_ssh, environnement, installer_outils, jouer
from .conftest import _enregistrer_formats
from .test_convergence import VERSION_CHROME, VERSION_FUSION, VERSION_ZOOM, ZOOM_MINIMAL, preparer

pytestmark = pytest.mark.racine

SUITE = RACINE / "verifications" / "poste_dsq"
SERIAL = "FVFXK2LLQ05Q"
OTHER_SERIAL = "C02ZK1ABMD6R"
PLIST = f"{APPLICATION}/Contents/Info.plist"
ZOOM_PLIST = "/Applications/zoom.us.app/Contents/Info.plist"
ZOOM_CONFIG = "/Library/Preferences/us.zoom.config.plist"
DOMAIN = "reacts.sante.quebec"
ALL_TESTS = {
    "test_fusion_installe_a_la_version_attendue",
    "test_fusion_hors_quarantaine",
    "test_paquet_de_la_vm_present",
    "test_disque_de_la_vm_present",
    "test_systeme_invite_du_profil",
    "test_mac_statique_derivee_du_numero_de_serie",
    "test_numero_de_serie_de_l_inventaire_est_celui_du_mac",
    "test_isolation_de_la_vm",
    "test_jeton_connecte_a_la_vm",
    "test_jeton_branche_sur_le_mac",
    "test_application_clinique_installee_a_la_version_minimale",
    "test_mises_a_jour_automatiques_actives",
    "test_filevault_actif",
    "test_domaines_du_reseau_de_la_sante_joignables",
}


@dataclass
class SuiteRun:
    """One run of verifications/poste_dsq: exit status, output and outcome of each test."""

    code: int
    output: str
    duration: float
    outcomes: dict[str, tuple[str, str]]  # test id -> (passed|failed|error|skipped, message)

    def with_outcome(self, outcome: str) -> dict[str, str]:
        return {name: message for name, (result, message) in self.outcomes.items() if result == outcome}

    def functions(self, outcome: str) -> set[str]:
        return {name.split("[", 1)[0] for name in self.with_outcome(outcome)}


def run_suite(inventory: Path | None, folder: Path, *options: str) -> SuiteRun:
    """py.test on verifications/poste_dsq in a subprocess, from the repository root, as a CI would."""
    folder.mkdir(parents=True, exist_ok=True)
    junit = folder / "verifications-junit.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfEs",
               f"--junitxml={junit}", *options]
    if inventory is not None:
        command += ["--hosts=ansible://postes_dsq", f"--ansible-inventory={inventory}"]
    if "-k" not in options:  # the guest part needs an installed Windows: test_installation_windows.py
        command += ["-k", "not test_invite"]
    command.append(str(SUITE.relative_to(RACINE)))
    env = environnement()
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # nothing written into verifications/
    if inventory is not None:
        # one SSH master connection per Mac (ansible.cfg asks for ControlMaster; testinfra
        # takes the socket path from ANSIBLE_SSH_EXTRA_ARGS): about half the run time here
        env["ANSIBLE_SSH_EXTRA_ARGS"] = f"-o ControlPath={dossier_controle_ssh(inventory)}/%C"
    start = time.monotonic()
    result = subprocess.run(command, cwd=RACINE, env=env, capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - start
    outcomes: dict[str, tuple[str, str]] = {}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            outcome, message = "passed", ""
            for child in case:
                if child.tag in ("failure", "error", "skipped"):
                    outcome = {"failure": "failed"}.get(child.tag, child.tag)
                    message = f"{child.get('message', '')}\n{child.text or ''}"
            outcomes[case.get("name")] = (outcome, message)
    return SuiteRun(result.returncode, result.stdout + result.stderr, duration, outcomes)


@pytest.fixture(scope="module")
def provisioned(fabrique_mac_simule_module, tmp_path_factory):
    """One Apple Silicon simulated Mac, converged once by playbooks/poste_dsq.yml: (mac, inventory)."""
    from tests.mac_simule import construction, fabrication

    _enregistrer_formats(construction)
    folder = tmp_path_factory.mktemp("verifications")
    installers = {
        "fusion": {"dmg": fabrication.fabriquer_fusion(folder / "dmg", VERSION_FUSION, format="dmg")},
        "iso": fabrication.fabriquer_iso(folder, "Win11_Simule.iso"),
        "applications": {"chrome": fabrication.fabriquer_application(folder / "chrome", "chrome", VERSION_CHROME),
                         "zoom": fabrication.fabriquer_application(folder / "zoom", "zoom", VERSION_ZOOM)},
        "sha256": fabrication.sha256,
    }
    mac = fabrique_mac_simule_module(architecture="arm64", numero_serie=SERIAL)
    # the health network's domain, answered by an HTTP server on the host (the Mac's only reach)
    www = folder / "www"
    www.mkdir()
    server = http.server.ThreadingHTTPServer(
        (mac.adresse_hote, 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www)))
    server.RequestHandlerClass.log_message = lambda *args: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    installer_outils(mac)
    regler_dns(mac, {DOMAIN: mac.adresse_hote})
    domains = [{"nom": DOMAIN, "url": f"http://{DOMAIN}:{server.server_address[1]}/"}]
    inventory = preparer(mac, installers, folder / "inventaire", controles_poste_domaines=domains)
    converge = jouer(inventory)
    assert converge.code == 0, converge.sortie
    yield mac, inventory, installers
    server.shutdown()
    server.server_close()
    # created before the per-test cleanup (conftest._sockets_ssh_retires) took its snapshot
    shutil.rmtree(dossier_controle_ssh(inventory), ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def restored(provisioned):
    """The provisioned Mac, put back as the playbook left it after the test tampers with it."""
    mac, inventory, _ = provisioned
    saved = {path: mac.chemin(path).read_bytes() for path in (VMX, PLIST, ZOOM_PLIST)}
    yield mac, inventory
    for path, content in saved.items():
        mac.chemin(path).write_bytes(content)
    regler_filevault(mac, "actif")
    mac.chemin(ZOOM_CONFIG).unlink(missing_ok=True)
    mac.executer(["xattr", "-dr", "com.apple.quarantine", APPLICATION])
    mac.brancher_jeton()


def set_vmx(mac, **settings: str) -> None:
    """Rewrite keys of the VM's .vmx with the project's parser (the rest kept byte for byte)."""
    path = mac.chemin(VMX)
    document = parse_vmx(path.read_bytes())
    for key, value in settings.items():
        document.set(key, value)
    path.write_bytes(document.to_bytes())


def test_verifications_passent_sur_un_poste_provisionne(provisioned, tmp_path):
    mac, inventory, _ = provisioned
    run = run_suite(inventory, tmp_path)
    assert run.code == 0, run.output
    assert run.functions("passed") == ALL_TESTS, run.output
    assert not run.with_outcome("skipped") and not run.with_outcome("failed"), run.output
    # seven isolation keys, two applications for two tests
    assert len(run.with_outcome("passed")) == len(ALL_TESTS) - 3 + 7 + 2 + 2
    assert f"ansible://{mac.nom}" in next(iter(run.outcomes)), run.outcomes
    assert "aucun jeton Gemalto" not in run.output, run.output


def test_verifications_echouent_en_nommant_ce_qui_est_altere(restored, tmp_path):
    mac, inventory = restored
    rogue_mac = "00:50:56:00:00:01"
    set_vmx(mac, **{"ethernet0.address": rogue_mac, "isolation.tools.copy.disable": "FALSE"})
    assert mac.executer(["xattr", "-w", "com.apple.quarantine",
                         "0083;6650a1b2;Safari;2F4B5C2E-1D3A-4E5F-8A9B-0C1D2E3F4A5B", APPLICATION]).returncode == 0
    assert mac.executer(["defaults", "write", PLIST, "CFBundleShortVersionString",
                         "-string", "13.5.1"]).returncode == 0
    mac.debrancher_jeton()
    # an old Zoom whose updates a managed preference turned off, and FileVault off
    assert mac.executer(["defaults", "write", ZOOM_PLIST, "CFBundleShortVersionString",
                         "-string", "5.17.11 (31580)"]).returncode == 0
    assert mac.executer(["defaults", "write", ZOOM_CONFIG, "ZAutoUpdate", "-bool", "false"]).returncode == 0
    regler_filevault(mac, "inactif")

    run = run_suite(inventory, tmp_path)
    assert run.code == 1, run.output
    failed = run.with_outcome("failed")
    assert run.functions("failed") == {
        "test_fusion_installe_a_la_version_attendue",
        "test_fusion_hors_quarantaine",
        "test_mac_statique_derivee_du_numero_de_serie",
        "test_isolation_de_la_vm",
        "test_application_clinique_installee_a_la_version_minimale",
        "test_mises_a_jour_automatiques_actives",
        "test_filevault_actif",
    }, run.output
    assert sorted(name for name in failed if "zoom" in name or "chrome" in name) == [
        f"test_application_clinique_installee_a_la_version_minimale[ansible://{mac.nom}-zoom]",
        f"test_mises_a_jour_automatiques_actives[ansible://{mac.nom}-zoom]"], run.output
    message = "\n".join(failed.values())
    assert f"VMware Fusion 13.5.1 installé, l'inventaire attend {VERSION_FUSION}" in message
    assert f"VMware Fusion est en quarantaine (com.apple.quarantine sur {APPLICATION})" in message
    assert (f"ethernet0.address de la VM « Windows DSQ » vaut « {rogue_mac} », attendu "
            f"« {mac_vm_du_numero_serie(SERIAL)} » (MAC dérivée du numéro de série {SERIAL}") in message
    isolation = [name for name in failed if name.startswith("test_isolation_de_la_vm")]
    assert isolation == [f"test_isolation_de_la_vm[ansible://{mac.nom}-copier-coupe]"], run.output
    assert "isolation.tools.copy.disable de la VM « Windows DSQ » vaut « FALSE », attendu « TRUE »" in message
    assert f"Zoom 5.17.11 (31580) est sous la version minimale {ZOOM_MINIMAL}" in message
    assert ":ZAutoUpdate = « false » dans /Library/Preferences/us.zoom.config.plist coupe" in message
    assert "FileVault n'est pas actif (fdesetup status : « FileVault is Off. »" in message
    # the unplugged token is a warning, as in the jeton_gemalto role, never a failure
    assert run.outcomes[f"test_jeton_branche_sur_le_mac[ansible://{mac.nom}]"][0] == "passed"
    assert "TokenMissingWarning: AVERTISSEMENT : aucun jeton Gemalto (USB 08e6:3438)" in run.output, run.output


def test_vm_chiffree_cles_illisibles_sautees_avec_la_raison(restored, tmp_path):
    """Fusion encrypts Windows 11 VMs (vTPM): keys moved into encryption.data are skipped, never passed."""
    mac, inventory = restored
    hidden = ("ethernet0.address", "ethernet0.addressType", "isolation.tools.copy.disable",
              "usb.autoConnect.device0")
    set_vmx(mac, **{key: None for key in hidden},
            **{"encryption.keySafe": "vmware:key/list/(pair/(phrase/simule/",
               "encryption.data": "U2ltdWxlIDogZG9ubsOpZXMgY2hpZmZyw6llcw=="})

    run = run_suite(inventory, tmp_path)
    assert run.code == 0, run.output
    assert not run.with_outcome("failed"), run.output
    skipped = run.with_outcome("skipped")
    assert {name.split("[", 1)[0] for name in skipped} == {
        "test_mac_statique_derivee_du_numero_de_serie",
        "test_isolation_de_la_vm",
        "test_jeton_connecte_a_la_vm",
    }, run.output
    assert [name for name in skipped if name.startswith("test_isolation")] == [
        f"test_isolation_de_la_vm[ansible://{mac.nom}-copier-coupe]"]
    for message in skipped.values():
        assert "est chiffrée par VMware Fusion" in message and "encryption.data" in message, message
    assert "ethernet0.addressType est dans encryption.data" in "\n".join(skipped.values())


def test_verifications_suivent_l_inventaire(provisioned, tmp_path):
    """The same Mac against an inventory that asks for something else: exclusive token, another serial."""
    mac, _, installers = provisioned
    inventory = preparer(mac, installers, tmp_path / "inventaire", jeton_gemalto_mode="exclusif")
    text = inventory.read_text(encoding="utf-8").replace(SERIAL, OTHER_SERIAL)
    inventory.write_text(text, encoding="utf-8")

    run = run_suite(inventory, tmp_path)
    assert run.code == 1, run.output
    assert run.functions("failed") == {
        "test_jeton_connecte_a_la_vm",
        "test_mac_statique_derivee_du_numero_de_serie",
        "test_numero_de_serie_de_l_inventaire_est_celui_du_mac",
    }, run.output
    message = "\n".join(run.with_outcome("failed").values())
    assert ("usb.autoConnect.device0 de la VM « Windows DSQ » vaut « deviceType:virtual-smartcard », "
            "attendu « vid:08e6 pid:3438 » (jeton_gemalto_mode: exclusif") in message
    assert f"l'inventaire donne le numéro de série {OTHER_SERIAL}, le Mac répond {SERIAL}" in message
    assert f"attendu « {mac_vm_du_numero_serie(OTHER_SERIAL)} »" in message


def test_verifications_refusent_de_partir_sans_poste(tmp_path):
    """Without --hosts, testinfra would check the local machine: the suite refuses (usage error)."""
    run = run_suite(None, tmp_path)
    assert run.code == 4, run.output  # pytest's ExitCode.USAGE_ERROR
    assert "aucun poste désigné" in run.output
    assert "--hosts='ansible://postes_dsq'" in run.output
