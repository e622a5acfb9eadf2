"""Observations file written by the mDNS sensor (`telesante capteur mdns`)."""

from __future__ import annotations

from datetime import datetime

from telesante.collecte.document_sonde import date_iso, lire_document
from telesante.collecte.erreurs import SortieIllisible
from telesante.mac import MacInvalide, normaliser_mac
from telesante.observation import Observation

FORMAT = "telesante-capteur-mdns"
VERSION = 1


def normaliser_service(service: str) -> str:
    """`_googlecast._tcp.local.` -> `_googlecast._tcp`."""
    return service.removesuffix(".").removesuffix(".local")


def _document(texte: str) -> dict:
    return lire_document(texte, "fichier du capteur mDNS", "capteur-mdns-v1.schema.json", VERSION)


def date_capture(texte: str) -> datetime:
    """When a (valid) sensor file was taken: the end of its listening (« fin »)."""
    return date_iso(_document(texte)["fin"], "champ « fin »")


def observations_mdns(texte: str, equipement: str, source: str) -> list[Observation]:
    """Observations from a sensor file; one per announced service instance."""
    data = _document(texte)
    observations = []
    for index, annonce in enumerate(data["annonces"]):
        mac = None
        if annonce.get("mac"):
            try:
                mac = normaliser_mac(annonce["mac"])
            except MacInvalide as exc:
                raise SortieIllisible(f"annonce n° {index + 1} : {exc}") from exc
        txt = annonce.get("txt") or {}
        service = normaliser_service(annonce["service"])
        instance = annonce["nom"].removesuffix(".").removesuffix(".local").removesuffix("." + service)
        seen = annonce.get("vu_le")
        if seen is not None:
            seen = date_iso(seen, f"annonce n° {index + 1}, champ « vu_le »")
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
