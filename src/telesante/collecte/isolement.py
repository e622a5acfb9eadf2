"""Result file of the isolation probe (`telesante capteur isolement`), read as one more source.

Format: src/telesante/donnees/sonde-isolement-v1.schema.json. The file must name the probe
the inventory expects (« sonde ») and the off-mission network it declares for it
(`telesante_reseau`): a file copied from another probe proves nothing here.
"""

from __future__ import annotations

from datetime import datetime

from telesante.collecte.document_sonde import date_iso, lire_document
from telesante.collecte.erreurs import SortieIllisible
from telesante.isolement import EssaiIsolement

FORMAT = "telesante-sonde-isolement"
VERSION = 1


def _document(texte: str) -> dict:
    return lire_document(texte, "fichier de la sonde d'isolement", "sonde-isolement-v1.schema.json", VERSION)


def date_essais(texte: str) -> datetime:
    """When a (valid) probe file was taken: the end of its run (« fin »)."""
    return date_iso(_document(texte)["fin"], "champ « fin »")


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
