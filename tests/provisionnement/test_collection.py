"""The sante_quebec.telesante collection as the ecosystem installs it: ansible-galaxy build, install,
then playbooks run from the installed collection, far from the repository (no ansible.cfg, no
.collections/ link): what an AWX execution environment gets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from telesante.mac import mac_vm_du_numero_serie

from .aide import RACINE, dossier_controle_ssh, lire_recap
from .test_convergence import installateurs, preparer, verifier_poste  # noqa: F401 (fixture)

VENV_BIN = Path(sys.executable).parent
ROLES = ("amorcage", "fusion", "vm_windows", "preparation_invite", "jeton_gemalto",
         "applications_cliniques", "controles_poste", "serveur_audit")


def _env(tmp: Path, collections: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(tmp / "absent.cfg"),  # never the repository's ansible.cfg
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_HOME": str(tmp / "ansible_home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible_home" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "LC_ALL": "C.UTF-8",
    })
    return env


def _lancer(commande, tmp, collections, **options):
    return subprocess.run([str(c) for c in commande], cwd=tmp, env=_env(tmp, collections),
                          capture_output=True, text=True, timeout=options.pop("timeout", 600), **options)


@pytest.fixture(scope="module")
def collection_installee(tmp_path_factory):
    """(archive, collections path, working folder outside the repository) after build and install."""
    tmp = tmp_path_factory.mktemp("collection")
    collections = tmp / "collections"
    build = _lancer([VENV_BIN / "ansible-galaxy", "collection", "build", RACINE, "--output-path", tmp / "build"],
                    tmp, collections)
    assert build.returncode == 0, build.stdout + build.stderr
    archive = next((tmp / "build").glob("sante_quebec-telesante-*.tar.gz"))
    install = _lancer([VENV_BIN / "ansible-galaxy", "collection", "install", archive, "-p", collections],
                      tmp, collections)
    assert install.returncode == 0, install.stdout + install.stderr
    racine = collections / "ansible_collections" / "sante_quebec" / "telesante"
    assert racine.is_dir() and not racine.is_symlink(), install.stdout
    return archive, collections, tmp


def test_archive_porte_la_collection_et_rien_du_reste_du_depot(collection_installee):
    archive, _, _ = collection_installee
    with tarfile.open(archive) as tar:
        noms = set(tar.getnames())
    for attendu in ("MANIFEST.json", "meta/runtime.yml", "plugins/modules/telesante_vmx.py",
                    "plugins/module_utils/vmx.py", "plugins/module_utils/poste.py",
                    "plugins/filter/telesante.py", "playbooks/poste_dsq.yml", "changelogs/changelog.yaml"):
        assert attendu in noms, attendu
    for role in ROLES:
        assert f"roles/{role}/meta/argument_specs.yml" in noms, role
        assert f"roles/{role}/README.md" in noms, f"README du rôle {role} absent de l'archive"
    # De tests/, seules les exceptions d'ansible-test sanity (tests/sanity/ignore-X.Y.txt) entrent.
    sanity = {"tests", "tests/sanity", "tests/sanity/ignore-2.19.txt"}
    assert sanity <= noms, sorted(sanity - noms)
    fuites = sorted(n for n in noms - sanity if n.split("/")[0] in
                    {"src", "tests", "verifications", "inventaires", "benchmarks", ".collections", ".venv",
                     ".git", "scripts", "ansible.cfg", "pyproject.toml"})
    assert fuites == [], fuites
    manifeste = json.loads(tarfile.open(archive).extractfile("MANIFEST.json").read())
    assert manifeste["collection_info"]["namespace"] == "sante_quebec"
    assert manifeste["collection_info"]["name"] == "telesante"


def test_module_et_filtres_depuis_la_collection_installee(collection_installee):
    """A playbook outside the repository: FQCN module and filters resolve from the installed copy."""
    _, collections, tmp = collection_installee
    vmx = tmp / "vm" / "DSQ.vmx"
    vmx.parent.mkdir(exist_ok=True)
    playbook = tmp / "essai.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Essai de la collection installée",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Écrire un .vmx", "sante_quebec.telesante.telesante_vmx": {
                "path": str(vmx), "create": True,
                "settings": {"config.version": "8", "virtualHW.version": "21",
                             "ethernet0.address": "{{ ('C02ZK1ABMD6R' | "
                                                  "sante_quebec.telesante.telesante_mac_vm_poste).mac }}"}}},
            {"name": "Profil d'un Mac Apple Silicon", "ansible.builtin.assert": {"that": [
                "('auto' | sante_quebec.telesante.telesante_profil_vm('arm64', 'windows11_x64')) == 'windows11_arm64'",
                "('26.1' | sante_quebec.telesante.telesante_type_usb) == 'SPUSBHostDataType'"]}},
        ],
    }], allow_unicode=True))
    jeu = _lancer([VENV_BIN / "ansible-playbook", "-c", "local", "-i", "localhost,", playbook,
                   "-e", f"ansible_python_interpreter={sys.executable}"], tmp, collections)
    assert jeu.returncode == 0, jeu.stdout + jeu.stderr
    assert f'ethernet0.address = "{mac_vm_du_numero_serie("C02ZK1ABMD6R")}"' in vmx.read_text()
    assert RACINE not in playbook.parents


def test_playbook_de_la_collection_par_son_fqcn(collection_installee):
    """ansible-playbook sante_quebec.telesante.poste_dsq: the collection's own playbook, its roles by FQCN."""
    _, collections, tmp = collection_installee
    inventaire = tmp / "hosts.yml"
    inventaire.write_text("all:\n  children:\n    postes_dsq:\n      hosts:\n        mac-essai:\n")
    syntaxe = _lancer([VENV_BIN / "ansible-playbook", "-i", inventaire, "--syntax-check",
                       "sante_quebec.telesante.poste_dsq"], tmp, collections)
    assert syntaxe.returncode == 0, syntaxe.stdout + syntaxe.stderr
    doc = _lancer([VENV_BIN / "ansible-doc", "sante_quebec.telesante.telesante_vmx"], tmp, collections)
    assert doc.returncode == 0 and "telesante_vmx" in doc.stdout, doc.stderr


@pytest.mark.racine
def test_poste_converge_depuis_la_collection_installee(collection_installee, fabrique_mac_simule, tmp_path,
                                                       installateurs):  # noqa: F811
    """A simulated Mac provisioned by the installed collection's playbook, run outside the repository."""
    _, collections, tmp = collection_installee
    mac = fabrique_mac_simule(architecture="arm64", numero_serie="FVFXK2LLQ05Q")
    inventaire = preparer(mac, installateurs, tmp_path)
    env = _env(tmp, collections)
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = str(dossier_controle_ssh(inventaire))
    jeu = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventaire),
                          "sante_quebec.telesante.poste_dsq"],
                         cwd=tmp, env=env, capture_output=True, text=True, timeout=1200)
    recap = lire_recap(jeu.stdout)
    assert jeu.returncode == 0 and recap[mac.nom]["failed"] == 0, jeu.stdout[-6000:] + jeu.stderr[-3000:]
    verifier_poste(mac, "arm64", "FVFXK2LLQ05Q")
