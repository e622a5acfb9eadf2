"""Static checks of the serveur_audit role (no root needed)."""

from __future__ import annotations

import tomllib

import yaml

from .conftest import RACINE

ROLE = RACINE / "roles" / "serveur_audit"


def test_version_par_defaut_est_celle_du_projet():
    # the role installs telesante==serveur_audit_version from the wheelhouse that pip wheel builds
    projet = tomllib.loads((RACINE / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    defauts = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    assert defauts["serveur_audit_version"] == projet
    assert specs["argument_specs"]["main"]["options"]["serveur_audit_version"]["default"] == projet


def test_mot_de_passe_vault_jamais_journalise():
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text(encoding="utf-8"))
    assert specs["argument_specs"]["main"]["options"]["serveur_audit_mot_de_passe_vault"]["no_log"] is True
    taches = yaml.safe_load((ROLE / "tasks" / "configuration.yml").read_text(encoding="utf-8"))
    ecriture = [t for t in taches if "serveur_audit_mot_de_passe_vault" in str(t.get("ansible.builtin.copy", ""))]
    assert ecriture and all(t.get("no_log") is True for t in ecriture)
