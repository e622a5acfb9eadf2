"""Errors raised by parsers when a capture cannot be trusted."""

from __future__ import annotations


class SortieIllisible(Exception):
    """The text read from a source is empty, truncated or not what the platform prints.

    Carries the line number (1-based) when one line is to blame; the caller adds
    the file or command name, unless the text to blame is another one (an annex
    read with it), named by `origine`.
    """

    def __init__(self, message: str, ligne: int | None = None, origine: str | None = None):
        super().__init__(message)
        self.message = message
        self.ligne = ligne
        self.origine = origine

    def decrire(self, origine: str) -> str:
        """French message naming the origin (file or command) and the line if known."""
        origine = self.origine or origine
        where = f"{origine}, ligne {self.ligne}" if self.ligne else origine
        return f"{where} : {self.message}"
