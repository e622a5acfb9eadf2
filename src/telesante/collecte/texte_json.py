"""Helpers of the parsers that read JSON (iproute2, the probes' files): French errors, lone UTF-16 halves."""

from __future__ import annotations

import json
import re

from telesante.collecte.erreurs import SortieIllisible

# \uD800-\uDFFF escaped alone: a high half not followed by a low one, or a low half not preceded by a high one.
_DEMI_CARACTERE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def erreur_json(exc: json.JSONDecodeError) -> str:
    """French words for where and why a JSON text stops being JSON (json's own message is English)."""
    where = f"colonne {exc.colno}"
    if exc.pos >= len(exc.doc.rstrip()):
        return f"{where} : le texte s'arrête avant la fin du document"
    return f"{where} : caractère inattendu"


def refuser_demi_caracteres(document, texte: str) -> None:
    """SortieIllisible if a decoded JSON document holds half of a UTF-16 pair (`"\\ud800"`).

    JSON may escape one alone; the string it gives is no text: no report could be written with it.
    """
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        line = next((number for number, content in enumerate(texte.splitlines(), start=1)
                     if _DEMI_CARACTERE.search(content)), None)
        raise SortieIllisible("demi-caractère UTF-16 isolé (\\uD800-\\uDFFF) : fichier corrompu ?", line) from None
