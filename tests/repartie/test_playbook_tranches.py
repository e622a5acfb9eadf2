"""playbooks/audit_reseau.yml as AWX runs it sliced: four slice jobs, then the workflow's final node.

AWX (« Job Slicing », awx/main/models/inventory.py `get_sliced_hosts`) runs each slice with the
inventory's hosts ordered by name, slice k = hosts[k-1::n]; here each slice is the real
ansible-playbook with `--limit` on those hosts (the play of mode « tranche » targets the play's
hosts, so a pared-down inventory and a --limit give it the same hosts). The final node is the
same playbook in mode « final », with the artifacts the slices published (passage, folder).
Offline (the demo's captures), no root.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.provisionnement.aide import environnement

from .test_collecte_repartie import HOTES_EXEMPLE, resume, tranches_awx

RACINE = Path(__file__).resolve().parents[2]
PLAYBOOK = RACINE / "playbooks" / "audit_reseau.yml"
RAPPELS = RACINE / "tests" / "provisionnement" / "rappels"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"


def jouer(travail: Path, nom: str, inventaire: Path, *options: str) -> tuple[int, str, dict]:
    """One ansible-playbook run; (code, output, set_stats artifacts as AWX reads them)."""
    artefacts = travail / f"{nom}.artefacts.json"
    env = environnement()
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
    env.update({"ANSIBLE_CALLBACK_PLUGINS": str(RAPPELS), "ANSIBLE_CALLBACKS_ENABLED": "artefacts_awx",
                "ANSIBLE_CALLBACK_RESULT_FORMAT": "json", "ANSIBLE_LOCAL_TEMP": str(travail / "tmp-ansible"),
                "TELESANTE_ARTEFACTS": str(artefacts)})
    fini = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inventaire), str(PLAYBOOK), *options], cwd=RACINE,
                          env=env, capture_output=True, text=True, timeout=180)
    sortie = fini.stdout + fini.stderr
    return fini.returncode, sortie, json.loads(artefacts.read_text()) if artefacts.exists() else {}


def test_quatre_tranches_puis_noeud_final_comme_un_flux_awx(exemple, tmp_path):
    partage, date = tmp_path / "partage", ["-e", "telesante_audit_options='--date 2026-11-21'"]
    commun = ["-e", f"telesante_collecte_dossier={partage}", "-e", "telesante_collecte_tranches=4",
              "-e", "telesante_audit_source=captures"]
    artefacts_tranches = {}
    for k, hotes in enumerate(tranches_awx(HOTES_EXEMPLE, 4), start=1):
        code, sortie, artefacts = jouer(tmp_path, f"tranche{k}", exemple, "--limit", ",".join(hotes),
                                        "-e", "telesante_audit_mode=tranche", "-e", "telesante_collecte_passage=nuit-7",
                                        *commun)
        # Slice 1 holds sw-sud-02, whose demo capture is cut: that slice fails and says why.
        assert code == (2 if k == 1 else 0), sortie
        assert "Auditer les réseaux" not in sortie.split("PLAY [")[-1] or "skipping: no hosts matched" in sortie
        artefacts_tranches.update(artefacts)  # AWX merges the slices' artifacts for the next node
    assert artefacts_tranches == {"telesante_collecte_passage": "nuit-7", "telesante_collecte_dossier": str(partage)}
    assert sorted(p.name for p in (partage / "manifestes").iterdir()) == [f"tranche-{k}-sur-4.json" for k in range(1, 5)]
    # The final node, with the artifacts as extra vars (what AWX does for the next node of a workflow).
    code, sortie, artefacts = jouer(
        tmp_path, "final", exemple, "-e", "telesante_audit_mode=final", "-e", json.dumps(artefacts_tranches),
        "-e", "telesante_collecte_tranches=4", "-e", f"telesante_audit_dossier={tmp_path / 'rapports-final'}", *date)
    assert artefacts["telesante_audit_code"] == 2, sortie
    reparti = json.loads((tmp_path / "rapports-final" / "rapport.json").read_text())
    # The same audit in one piece (the playbook's ordinary mode).
    jouer(tmp_path, "entier", exemple, "-e", f"telesante_audit_dossier={tmp_path / 'rapports-entier'}", *date)
    entier = json.loads((tmp_path / "rapports-entier" / "rapport.json").read_text())
    assert resume(reparti) == resume(entier)
    # A slice lost: the final node says which, and the job fails « incomplet ».
    (partage / "manifestes" / "tranche-3-sur-4.json").unlink()
    code, sortie, artefacts = jouer(
        tmp_path, "final2", exemple, "-e", "telesante_audit_mode=final", "-e", json.dumps(artefacts_tranches),
        "-e", "telesante_collecte_tranches=4", "-e", f"telesante_audit_dossier={tmp_path / 'rapports-final2'}", *date)
    assert code != 0 and artefacts["telesante_audit_code"] == 2
    assert "sw-nord-01" in artefacts["telesante_audit_equipements_incomplets"]
    assert "tranche 3 sur 4 manquante" in sortie


@pytest.mark.parametrize("manque", ["passage", "dossier"])
def test_noeud_final_sans_artefacts_des_tranches(exemple, tmp_path, manque):
    options = {"passage": ["-e", f"telesante_collecte_dossier={tmp_path}"],
               "dossier": ["-e", "telesante_collecte_passage=nuit-7"]}[manque]
    code, sortie, artefacts = jouer(tmp_path, "final", exemple, "-e", "telesante_audit_mode=final", *options)
    assert code != 0
    assert artefacts == {"telesante_audit_code": 2, "telesante_audit_verdict": "incomplet"}
    assert f"sans telesante_collecte_{manque}" in sortie


def test_tranche_sans_passage_ni_flux_awx(exemple, tmp_path):
    code, sortie, _ = jouer(tmp_path, "tranche", exemple, "--limit", "sw-nord-01", "-e", "telesante_audit_mode=tranche",
                            "-e", f"telesante_collecte_dossier={tmp_path / 'p'}")
    assert code != 0 and "l'identifiant du passage est inconnu" in sortie
    assert not (tmp_path / "p").exists()


def test_meme_verdict_et_memes_constats_d_un_processus_a_l_autre(tmp_path):
    """The final node runs in another process than the slices: a finding must not depend on the hash seed
    (a device with two host names was identified by whichever its set gave first)."""
    rapports = []
    for graine in ("1", "2", "3", "4"):
        env = {**environnement(), "PYTHONHASHSEED": graine}
        subprocess.run([str(ANSIBLE_PLAYBOOK.with_name("telesante")), "audit", "-i",
                        str(RACINE / "inventaires" / "exemple" / "hosts.yml"), "--date", "2026-11-21", "-f", "json",
                        "-o", str(tmp_path / graine)], env=env, capture_output=True, timeout=120)
        rapports.append(json.loads((tmp_path / graine / "rapport.json").read_text(encoding="utf-8")))
    assert all(r["constats"] == rapports[0]["constats"] for r in rapports)
