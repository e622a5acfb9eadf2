"""Errors raised by parsers when a capture cannot be trusted."""

from __future__ import annotations

import re

from telesante.inerte import citer, inerte

# A message quotes what it read between « and »: a value, a field, an end of line.
_CITATION = re.compile("« (.*?) »", re.DOTALL)
LONGUEUR_CITATION = 120
# A value quoted without « » (a number, an exception's text) is bounded with the whole message.
LONGUEUR_MESSAGE = 500


class SortieIllisible(Exception):
    """The text read from a source is empty, truncated or not what the platform prints.

    Carries the line number (1-based) when one line is to blame; the caller adds
    the file or command name, unless the text to blame is another one (an annex
    read with it), named by `origine`. What the message quotes from the capture (between
    « and ») is made inert and cut to LONGUEUR_CITATION characters, the whole message to
    LONGUEUR_MESSAGE: a device or a corrupted capture chooses it, and it is shown on
    terminals and written in every report.
    """

    def __init__(self, message: str, ligne: int | None = None, origine: str | None = None):
        message = citer(_CITATION.sub(lambda m: f"« {citer(m.group(1), LONGUEUR_CITATION)} »", message),
                        LONGUEUR_MESSAGE)
        super().__init__(message)
        self.message = message
        self.ligne = ligne
        self.origine = origine

    def decrire(self, origine: str) -> str:
        """French message naming the origin (file or command) and the line if known."""
        origine = self.origine or origine
        where = f"{origine}, ligne {self.ligne}" if self.ligne else origine
        return inerte(f"{where} : {self.message}")
