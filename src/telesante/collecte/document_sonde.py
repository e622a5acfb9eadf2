"""The JSON files that telesante's own probes write (mDNS sensor, isolation probe): one reader."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources

from jsonschema import Draft202012Validator

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.texte_json import erreur_json, refuser_demi_caracteres


@cache
def _validateur(schema: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(resources.files("telesante.donnees").joinpath(schema).read_text("utf-8")))


def date_iso(valeur, ou: str) -> datetime:
    """An ISO 8601 date with its time zone (the probes write UTC), or SortieIllisible.

    A date without a time zone cannot be compared with the audit's dates: refused too.
    """
    try:
        moment = datetime.fromisoformat(valeur)
    except (TypeError, ValueError) as exc:
        raise SortieIllisible(f"{ou} : date ISO 8601 attendue, lu « {valeur} »") from exc
    if moment.utcoffset() is None:
        raise SortieIllisible(f"{ou} : date sans fuseau horaire (« {valeur} »)")
    return moment


def lire_document(texte: str, quoi: str, schema: str, version: int) -> dict:
    """The decoded document, valid against its schema, with dated « debut » and « fin »; or SortieIllisible.

    `quoi` names the file in messages (« fichier du capteur mDNS »).
    """
    if not texte.strip():
        raise SortieIllisible(f"{quoi} vide")
    try:
        document = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise SortieIllisible(f"JSON invalide ({erreur_json(exc)} : fichier tronqué ?)", exc.lineno) from exc
    refuser_demi_caracteres(document, texte)
    erreur = next(iter(sorted(_validateur(schema).iter_errors(document), key=lambda e: list(e.path))), None)
    if erreur is not None:
        ou = "/".join(str(partie) for partie in erreur.absolute_path) or "racine"
        raise SortieIllisible(f"{quoi} non conforme au format v{version} ({ou} : {erreur.message})")
    for champ in ("debut", "fin"):
        date_iso(document[champ], f"champ « {champ} »")
    return document
