"""The report's summary per network (reseaux[]) carries its active findings by severity, as
`resume` counts them for the whole run: playbooks/audit_reseau.yml publishes it as it is."""

from __future__ import annotations

import json
from datetime import date
from functools import partial
from importlib import resources

from jsonschema import Draft202012Validator

from telesante.audit import auditer
from telesante.collecte.captures import collecter_captures
from telesante.inventaire import charger_configuration
from telesante.rapports import document as rapport


def test_resume_par_reseau_compte_les_constats_actifs_par_gravite(exemple):
    config = charger_configuration(exemple)
    document = rapport.construire(auditer(config, partial(collecter_captures, racine=config.racine), "captures",
                                          date(2026, 11, 21)))
    schema = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())
    Draft202012Validator(schema).validate(document)
    actifs = [c for c in document["constats"] if c["statut"] == "actif"]
    resume = {r["nom"]: (r["constats_critiques"], r["constats_a_verifier"]) for r in document["reseaux"]}
    assert resume == {r["nom"]: (sum(1 for c in actifs if c["reseau"] == r["nom"] and c["gravite"] == "critique"),
                                 sum(1 for c in actifs if c["reseau"] == r["nom"] and c["gravite"] != "critique"))
                      for r in document["reseaux"]}
    assert resume["mission-nord"] == (3, 2)  # the demo: Echo Show, Nest Hub, Chromecast; two to check
    assert sum(c for c, _ in resume.values()) == document["resume"]["constats_critiques"]
    assert sum(v for _, v in resume.values()) == document["resume"]["constats_a_verifier"]


def test_rapport_plus_ancien_sans_le_resume_par_reseau_reste_valide():
    schema = json.loads(resources.files("telesante.donnees").joinpath("rapport-audit-v1.schema.json").read_text())
    reseau = schema["properties"]["reseaux"]["items"]
    assert not {"constats_critiques", "constats_a_verifier"} & set(reseau["required"])
