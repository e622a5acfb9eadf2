"""Dates and times as a Québec reader writes them, in the establishment's time zone (CLDR data via Babel)."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from telesante.configuration import FUSEAU_HORAIRE

LOCALE = "fr_CA"


def _jour(d: date) -> str:
    # « 1er novembre », « 2 novembre » (usage français ; CLDR n'écrit que le chiffre).
    return "'1er'" if d.day == 1 else "d"


def lire(valeur: object) -> date | datetime | None:
    """An ISO 8601 date or date-time from a report document; None when it is not one."""
    if not isinstance(valeur, str):
        return None
    try:
        if len(valeur) == 10:
            return date.fromisoformat(valeur)
        return datetime.fromisoformat(valeur)
    except ValueError:
        return None


class Dates:
    """Formats the report's ISO dates in French, in one time zone (``America/Montreal`` by default)."""

    def __init__(self, fuseau: str | None = None):
        self.fuseau = ZoneInfo(fuseau or FUSEAU_HORAIRE)

    def jour(self, valeur: object) -> str:
        """« samedi 21 novembre 2026 » (a date-time gives its local day); the text as is if unreadable."""
        return _formater(valeur, self.fuseau.key, "jour") if isinstance(valeur, str) else str(valeur)

    def jour_court(self, valeur: object) -> str:
        """« 21 nov. 2026 »."""
        return _formater(valeur, self.fuseau.key, "jour_court") if isinstance(valeur, str) else str(valeur)

    def heure(self, valeur: object) -> str:
        """« 2 h 36 HNE » (a date alone gives nothing)."""
        return _formater(valeur, self.fuseau.key, "heure") if isinstance(valeur, str) else ""

    def moment(self, valeur: object) -> str:
        """« samedi 21 novembre 2026 à 2 h 36 HNE », or the day alone for a date."""
        if not isinstance(lire(valeur), datetime):
            return self.jour(valeur)
        return f"{self.jour(valeur)} à {self.heure(valeur)}"

    def aujourd_hui_local(self, valeur: object) -> date | None:
        """The local calendar day of an ISO date-time (or the date itself)."""
        lu = lire(valeur)
        if isinstance(lu, datetime):
            return _local(lu, self.fuseau).date()
        return lu


def _local(moment: datetime, fuseau: ZoneInfo) -> datetime:
    # A naive time is taken as already local.
    return moment.astimezone(fuseau) if moment.tzinfo else moment.replace(tzinfo=fuseau)


@lru_cache(maxsize=4096)  # a report repeats the same few dates (first seen, seen at) thousands of times
def _formater(valeur: str, fuseau: str, forme: str) -> str:
    lu = lire(valeur)
    if forme == "heure":
        if not isinstance(lu, datetime):
            return ""
        return format_datetime(_local(lu, ZoneInfo(fuseau)), "H 'h' mm z" if lu.tzinfo else "H 'h' mm",
                               locale=LOCALE)
    if lu is None:
        return valeur
    if isinstance(lu, datetime):
        lu = _local(lu, ZoneInfo(fuseau)).date()
    if forme == "jour":
        return format_date(lu, f"EEEE {_jour(lu)} MMMM y", locale=LOCALE)
    return format_date(lu, f"{_jour(lu)} MMM y", locale=LOCALE)
