"""Static checks of the provisioning content: ansible-lint (production profile) and syntax."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RACINE = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PLAYBOOKS = sorted((RACINE / "playbooks").glob("*.yml"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_LINT_NODEPS"] = "1"  # no Galaxy: the machine may be offline
    env["ANSIBLE_CONFIG"] = str(RACINE / "ansible.cfg")
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    return env


def test_ansible_lint_profil_production_sans_aucune_violation():
    lint = VENV_BIN / "ansible-lint"
    if not lint.exists():
        pytest.fail(f"ansible-lint absent de l'environnement ({lint}) : make test l'installe")
    resultat = subprocess.run(
        [str(lint), "--profile", "production", "--offline", "--nocolor"],
        cwd=RACINE, env=_env(), capture_output=True, text=True, timeout=900,
    )
    assert resultat.returncode == 0, (
        f"ansible-lint (profil production) a échoué, code {resultat.returncode} :\n"
        f"{resultat.stdout}\n{resultat.stderr}")


def test_il_y_a_des_playbooks():
    assert any(p.name == "poste_dsq.yml" for p in PLAYBOOKS), PLAYBOOKS


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_syntaxe_des_playbooks(playbook):
    resultat = subprocess.run(
        [str(VENV_BIN / "ansible-playbook"), "--syntax-check",
         "-i", str(RACINE / "inventaires" / "exemple" / "hosts.yml"), str(playbook)],
        cwd=RACINE, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert resultat.returncode == 0, f"{playbook.name} :\n{resultat.stdout}\n{resultat.stderr}"


def test_chaque_role_a_ses_specifications_d_arguments_et_ses_defauts():
    roles = sorted(p for p in (RACINE / "roles").iterdir() if p.is_dir())
    assert {r.name for r in roles} >= {"amorcage", "fusion", "vm_windows", "jeton_gemalto"}
    import yaml

    for role in roles:
        specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
        options = specs["argument_specs"]["main"]["options"]
        defauts = yaml.safe_load((role / "defaults" / "main.yml").read_text(encoding="utf-8")) or {}
        # every default is documented, every documented option is prefixed by the role name
        assert set(defauts) <= set(options), (role.name, set(defauts) - set(options))
        for nom, option in options.items():
            assert nom.startswith(role.name + "_"), (role.name, nom)
            assert nom.isascii(), nom
            assert option.get("description"), (role.name, nom)
            if not option.get("required"):
                assert nom in defauts, f"{role.name} : {nom} documentée sans valeur par défaut"


def _taches(racine: Path):
    """Every task of the roles (blocks flattened), with its file."""
    import yaml

    def parcourir(taches, fichier):
        for tache in taches or []:
            if isinstance(tache, dict):
                yield fichier, tache
                for cle in ("block", "rescue", "always"):
                    yield from parcourir(tache.get(cle), fichier)

    for fichier in sorted(racine.glob("roles/*/tasks/*.yml")):
        yield from parcourir(yaml.safe_load(fichier.read_text()), fichier)


COMMANDES = ("ansible.builtin.command", "command", "ansible.builtin.shell", "shell",
             "ansible.builtin.raw", "raw", "ansible.builtin.script", "script")


def test_aucun_secret_en_argument_de_processus():
    """vmrun -vp is never used; no command line carries the Fusion serial (it goes through
    Deploy.ini of Fusion's mass deployment package, roles/fusion/tasks/licence.yml)."""
    for fichier, tache in _taches(RACINE):
        texte = str({k: v for k, v in tache.items() if k not in ("block", "rescue", "always")})
        assert "'-vp'" not in texte and '"-vp"' not in texte, f"{fichier} : {tache.get('name')}"
        for module in COMMANDES:
            if module in tache:
                assert "fusion_numero_licence" not in str(tache[module]), (
                    f"{fichier} : {tache.get('name')} met le numéro de série en argument de processus")
