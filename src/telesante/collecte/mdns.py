"""Observations file written by the mDNS sensor (`telesante capteur mdns`)."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from importlib import resources

from jsonschema import Draft202012Validator

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.interpretation import erreur_json, refuser_demi_caracteres
from telesante.mac import InvalidMac, normalize_mac
from telesante.observation import Observation

FORMAT = "telesante-capteur-mdns"
VERSION = 1


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(
        resources.files("telesante.donnees").joinpath("capteur-mdns-v1.schema.json").read_text("utf-8")
    )
    return Draft202012Validator(schema)


def normaliser_service(service: str) -> str:
    """`_googlecast._tcp.local.` -> `_googlecast._tcp`."""
    return service.removesuffix(".").removesuffix(".local")


def _date(value: str, where: str) -> datetime:
    """An ISO 8601 date with its time zone (the sensor writes UTC), or SortieIllisible.

    A date without a time zone cannot be compared with the audit's dates: refused too.
    """
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SortieIllisible(f"{where} : date ISO 8601 attendue, lu « {value} »") from exc
    if moment.utcoffset() is None:
        raise SortieIllisible(f"{where} : date sans fuseau horaire (« {value} »)")
    return moment


def _document(texte: str):
    """The decoded JSON document, or SortieIllisible."""
    if not texte.strip():
        raise SortieIllisible("fichier du capteur mDNS vide")
    try:
        data = json.loads(texte)
    except json.JSONDecodeError as exc:
        raise SortieIllisible(f"JSON invalide ({erreur_json(exc)} : fichier tronqué ?)", exc.lineno) from exc
    refuser_demi_caracteres(data, texte)
    return data


def date_capture(texte: str) -> datetime:
    """When a (valid) sensor file was taken: the end of its listening (« fin »)."""
    return _date(_document(texte)["fin"], "champ « fin »")


def observations_mdns(texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from a sensor file; one per announced service instance."""
    data = _document(texte)
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "racine"
        raise SortieIllisible(f"fichier du capteur mDNS non conforme au format v{VERSION} ({where} : {error.message})")
    for field in ("debut", "fin"):
        _date(data[field], f"champ « {field} »")
    observations = []
    for index, annonce in enumerate(data["annonces"]):
        mac = None
        if annonce.get("mac"):
            try:
                mac = normalize_mac(annonce["mac"])
            except InvalidMac as exc:
                raise SortieIllisible(f"annonce n° {index + 1} : {exc}") from exc
        txt = annonce.get("txt") or {}
        service = normaliser_service(annonce["service"])
        instance = annonce["nom"].removesuffix(".").removesuffix(".local").removesuffix("." + service)
        seen = annonce.get("vu_le")
        if seen is not None:
            seen = _date(seen, f"annonce n° {index + 1}, champ « vu_le »")
        observations.append(
            Observation(
                mac=mac,
                source=source,
                equipement=equipement,
                ip=annonce["ip"],
                nom_hote=instance or None,
                services_mdns=(service,),
                modele_mdns=txt.get("md") or txt.get("model") or None,
                vu_le=seen,
            )
        )
    return observations
