"""Result file of the isolation probe (`telesante capteur isolement`), read as one more source.

Format: src/telesante/donnees/sonde-isolement-v1.schema.json. The file must name the probe
the inventory expects (« sonde ») and the off-mission network it declares for it
(`telesante_reseau`): a file copied from another probe proves nothing here.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources

from jsonschema import Draft202012Validator

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.interpretation import erreur_json, refuser_demi_caracteres
from telesante.isolement import EssaiIsolement

FORMAT = "telesante-sonde-isolement"
VERSION = 1


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(
        resources.files("telesante.donnees").joinpath("sonde-isolement-v1.schema.json").read_text("utf-8"))
    return Draft202012Validator(schema)


def _date(value: str, where: str) -> datetime:
    """An ISO 8601 date with its time zone, or SortieIllisible."""
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise SortieIllisible(f"{where} : date ISO 8601 attendue, lu « {value} »") from exc
    if moment.utcoffset() is None:
        raise SortieIllisible(f"{where} : date sans fuseau horaire (« {value} »)")
    return moment


def _document(texte: str) -> dict:
    """The decoded, schema-valid document, or SortieIllisible."""
    if not texte.strip():
        raise SortieIllisible("fichier de la sonde d'isolement vide")
    try:
        data = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise SortieIllisible(f"JSON invalide ({erreur_json(exc)} : fichier tronqué ?)", exc.lineno) from exc
    refuser_demi_caracteres(data, texte)
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "racine"
        raise SortieIllisible(
            f"fichier de la sonde d'isolement non conforme au format v{VERSION} ({where} : {error.message})")
    for field in ("debut", "fin"):
        _date(data[field], f"champ « {field} »")
    return data


def date_essais(texte: str) -> datetime:
    """When a (valid) probe file was taken: the end of its run (« fin »)."""
    return _date(_document(texte)["fin"], "champ « fin »")


def essais_isolement(texte: str, equipement: str, reseau: str | None) -> tuple[list[EssaiIsolement], str | None]:
    """The attempts of a probe file, and why the run stopped early (None: it ran its whole plan).

    SortieIllisible if the file is not the one of this probe (`equipement`) in its network (`reseau`).
    """
    data = _document(texte)
    if data["sonde"] != equipement:
        raise SortieIllisible(f"fichier d'une autre sonde (« sonde » : « {data['sonde']} », attendu « {equipement} »)")
    if data["reseau"] != reseau:
        raise SortieIllisible(f"sonde placée dans un autre réseau (« reseau » : « {data['reseau']} », attendu "
                              f"« {reseau} », telesante_reseau de l'inventaire)")
    essais = [EssaiIsolement(equipement, e["methode"], e["cible"], e["resultat"], float(e["delai_ms"]), e.get("port"),
                             e.get("nom", ""), e.get("detail", "")) for e in data["essais"]]
    arret = None
    if not data["complet"]:
        arret = data.get("arret") or "raison non dite"
    return essais, arret
