"""The registry of report formats: name (as `-f` takes it) -> file -> function.

Adding a format is a module that renders the report document (rapports/document.py) and one
entry here; the command's `-f` choices, its help and the writing of the reports read nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from telesante.rapports import formats, html, terminal


@dataclass(frozen=True)
class FormatRapport:
    """One report format."""

    nom: str
    # File written in the reports folder (-o); None: shown on the terminal, no file.
    fichier: str | None
    # The report: the file's bytes, from the document; for the terminal, prints it and returns None.
    produire: Callable[[dict], bytes | None]


FORMATS_RAPPORT: dict[str, FormatRapport] = {f.nom: f for f in (
    FormatRapport("terminal", None, terminal.afficher),
    FormatRapport("json", "rapport.json", lambda document: formats.en_json(document).encode("utf-8")),
    FormatRapport("csv", "rapport.csv", formats.en_csv),
    FormatRapport("junit", "rapport-junit.xml", formats.en_junit),
    FormatRapport("html", "rapport.html", html.en_html),
)}
