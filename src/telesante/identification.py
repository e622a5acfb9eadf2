"""Identification: vendor from the IEEE registry, category from the signatures (telesante.signatures)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import NamedTuple

import netaddr

from telesante.signatures import Categorie, Signature, lire_signatures

# Weight of each kind of evidence: the most specific match wins.
FORCE_FABRICANT, FORCE_NOM_HOTE, FORCE_MDNS, FORCE_MDNS_MODELE = 1, 2, 3, 4


class RegistreOui:
    """The IEEE MA-L registry shipped with netaddr, held in memory as {"aa:bb:cc": vendor}.

    Keyed by the first 8 characters of a canonical MAC, so a lookup is one slice and
    one dictionary access.
    """

    def __init__(self, chemin: Path):
        table: dict[str, str] = {}
        with open(chemin, encoding="utf-8", errors="replace") as registry:
            for line in registry:
                if "(base 16)" in line:
                    prefix, _, vendor = line.partition("(base 16)")
                    digits = prefix.strip().lower()
                    table[f"{digits[0:2]}:{digits[2:4]}:{digits[4:6]}"] = vendor.strip()
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def items(self):
        """(OUI as a 24-bit integer, vendor) pairs."""
        return ((int(prefix.replace(":", ""), 16), vendor) for prefix, vendor in self._table.items())

    def fabricant(self, mac: str) -> str | None:
        """Registered vendor of a canonical MAC (aa:bb:cc:...), or None."""
        return self._table.get(mac[:8])


@cache
def registre_ieee() -> RegistreOui:
    """The registry, loaded once per process."""
    return RegistreOui(Path(netaddr.__file__).parent / "eui" / "oui.txt")


class Identification(NamedTuple):
    """What a device is thought to be, and why (immutable: answers are shared between
    devices; a named tuple, cheap to create by the tens of thousands)."""

    fabricant: str | None
    signature: str | None = None
    categorie: Categorie | None = None
    motifs: tuple[str, ...] = ()


def _anchored_at_start(expression: str) -> bool:
    """True when a regular expression can only match at the start of a text: it begins
    with ^ and has no alternation outside parentheses. Conservative: any (?...) group
    other than (?:...) (inline flags, lookarounds) gives False."""
    if not expression.startswith("^") or "(?" in expression.replace("(?:", ""):
        return False
    depth, i, in_class = 0, 1, False
    while i < len(expression):
        char = expression[i]
        if char == "\\":
            i += 2  # an escaped character, in a class or not
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            i += 1
            if expression.startswith("^", i):
                i += 1
            if expression.startswith("]", i):
                i += 1  # a ] right after [ or [^ is a literal
            continue
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return False
        i += 1
    return True


_IMPOSSIBLE = ""  # what _ascii_word answers for an expression that no ASCII text can match


def _ascii_word(expression: str) -> str | None:
    """For ASCII texts: the longest run of characters, lower-cased, that every match of a
    regular expression (ignoring case) contains, taken at its top level (outside groups,
    classes and repeats); _IMPOSSIBLE if it requires a character that no ASCII character
    matches (« télé ») ; None if there is no such run or the expression cannot be read."""
    try:  # private modules of re: any surprise only costs the shortcut
        items, literal = re._parser.parse(expression, re.IGNORECASE).data, re._constants.LITERAL
    except Exception:
        return None
    best, run = "", []
    for op, value in [*items, (None, None)]:
        if op is literal:
            if value < 128:
                run.append(chr(value).lower())
                continue
            pattern = re.compile(re.escape(chr(value)), re.IGNORECASE)
            if not any(pattern.fullmatch(chr(code)) for code in range(128)):
                return _IMPOSSIBLE
        if len(run) > len(best):
            best = "".join(run)
        run = []
    return best or None


def _ascii_prefix(expression: str) -> str:
    """For ASCII texts: the characters, lower-cased, that every match (ignoring case) of an
    expression anchored at the start begins with: its literal characters right after « ^ »,
    up to anything else or to a character outside ASCII; "" if none or it cannot be read."""
    try:  # private modules of re: any surprise only costs the shortcut
        items = re._parser.parse(expression, re.IGNORECASE).data
        constants = re._constants
    except Exception:
        return ""
    if not items or tuple(items[0]) != (constants.AT, constants.AT_BEGINNING):
        return ""
    prefix = []
    for op, value in items[1:]:
        if op is not constants.LITERAL or value >= 128:
            break
        prefix.append(chr(value).lower())
    return "".join(prefix)


def _union(expressions: list[str]) -> re.Pattern | None:
    """One expression (ignoring case) matching where any of these does; None for none."""
    return re.compile("|".join(f"(?:{e})" for e in expressions), re.IGNORECASE) if expressions else None


def _words_search(floating: list[str]):
    """The search of a union of the words that every expression of `floating` contains (see
    _ascii_word), for lower-cased ASCII texts; None if one of them has no such word."""
    words = {_ascii_word(e) for e in floating} - {_IMPOSSIBLE}
    if not floating or None in words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) or "(?!)").search


# A numbered back-reference (\1 to \99): joining expressions would change its number.
_BACK_REFERENCE = re.compile(r"\\[1-9]")


class _FirstOf:
    """The first of several lists of regular expressions (ignoring case), in their order,
    with an expression that matches a text: its index, or None. The same answer as searching
    each list's expressions, one list after another, in one or two searches for most texts.

    The expressions anchored at the start (see _anchored_at_start) are only tried there,
    those of every list at once: one expression whose alternatives keep the lists' order,
    each list's followed by an empty group that names it (the last group a match closes,
    `lastindex`); and not at all for an ASCII text that begins with none of their literal
    prefixes (« amazon- », « esp_ »...). The other expressions, searched anywhere, need only
    be tried in the lists before the one found that way. Each of them contains a word
    (« chromecast », « tv »): an ASCII text that holds none of these words is answered
    without searching them (for ASCII, ignoring case is lower-casing), in one scan of a
    union of plain words.
    """

    def __init__(self, lists: list[list[str]]):
        self._count = len(lists)
        anchored: list[tuple[int, list[str]]] = []
        self._searches: list[tuple[int, Callable]] = []  # (index, search of the list's other expressions)
        floating_all: list[str] = []
        for index, expressions in enumerate(lists):
            at_start = [e for e in expressions if _anchored_at_start(e)]
            floating = [e for e in expressions if not _anchored_at_start(e)]
            if at_start:
                anchored.append((index, at_start))
            if floating:
                self._searches.append((index, _union(floating).search))
                floating_all += floating
        self._words = _words_search(floating_all)
        self._list_of_group: dict[int, int] = {}
        self._at_start = self._joined(anchored)
        # What an ASCII text must begin with (lower-cased) for an anchored expression to match
        # it; "" (any text) for one that begins with no literal character.
        self._prefixes = tuple(_ascii_prefix(e) for _index, at_start in anchored for e in at_start)
        # Without the joined expression: the anchored expressions of each list, in order.
        self._at_start_each = [] if self._at_start else [
            (index, _union(at_start).match) for index, at_start in anchored]

    def _joined(self, anchored: list[tuple[int, list[str]]]) -> Callable | None:
        """The match of one expression for the anchored expressions of all the lists; None
        if there are none, or a back-reference after the first list (its number would change)."""
        if not anchored or any(_BACK_REFERENCE.search(e) for _index, expressions in anchored[1:] for e in expressions):
            return None
        parts, groups = [], 0
        for index, expressions in anchored:
            groups += _union(expressions).groups + 1  # the list's own groups, then its empty one
            self._list_of_group[groups] = index
            parts.append(f"(?:{'|'.join(f'(?:{e})' for e in expressions)})()")
        try:
            return re.compile("|".join(parts), re.IGNORECASE).match
        except re.error:  # whatever joining them breaks: one list at a time
            return None

    def first(self, text: str) -> int | None:
        """The index of the first list with an expression that matches `text`, or None."""
        found = self._count  # none yet
        lower = text.lower() if text.isascii() else None  # for ASCII, ignoring case is lower-casing
        if self._at_start is not None:
            if lower is None or lower.startswith(self._prefixes):
                match = self._at_start(text)
                if match is not None:
                    found = self._list_of_group[match.lastindex]
        else:
            found = next((index for index, match in self._at_start_each if match(text)), found)
        if self._searches and (self._words is None or lower is None or self._words(lower)):
            for index, search in self._searches:
                if index >= found:
                    break
                if search(text):
                    return index
        return found if found < self._count else None


# What the identifier keeps per OUI (see Identificateur._by_oui).
_EntreeOui = tuple[str | None, Signature | None, Identification, tuple[tuple[re.Pattern, Signature], ...]]


class Identificateur:
    """Matches devices against signatures; caches per-OUI results for speed.

    The signatures are fixed at construction: the lookup tables below derive from them.
    """

    def __init__(self, signatures: list[Signature], categories: dict[str, Categorie], registre: RegistreOui):
        self.signatures = signatures
        self.categories = categories
        self.registre = registre
        # Per OUI ("aa:bb:cc", None for no MAC): (vendor, its signature, the answer for a
        # device known by its vendor alone, the host names known under this OUI only).
        # Filled on first sight; answers are immutable.
        self._by_oui: dict[str | None, _EntreeOui] = {}
        self._no_vendor: _EntreeOui = (None, None, Identification(None), ())
        # The first signature whose vendor or host name expressions match: one or two
        # searches for all of them (see _FirstOf), most vendors and names matching none.
        self._vendor_signatures = [s for s in signatures if s.fabricants]
        self._first_vendor = _FirstOf([list(s.motifs_fabricants) for s in self._vendor_signatures])
        self._hostname_signatures = [s for s in signatures if s.noms_hote]
        self._first_hostname = _FirstOf([list(s.motifs_noms_hote) for s in self._hostname_signatures])
        self._names_under_oui: dict[str, tuple[tuple[re.Pattern, Signature], ...]] = {}
        for signature in signatures:
            for oui, pattern in signature.ouis_noms_hote:
                self._names_under_oui[oui] = (*self._names_under_oui.get(oui, ()), (pattern, signature))
        self._mdns_rules: dict[str, list[tuple[re.Pattern | None, Signature]]] = {}
        for signature in signatures:
            for rule_service, rule_model in signature.mdns:
                self._mdns_rules.setdefault(rule_service, []).append((rule_model, signature))

    def _oui(self, prefix: str | None) -> _EntreeOui:
        vendor = self.registre.fabricant(prefix) if prefix else None
        if vendor is None:  # not cached: randomized MACs would fill the cache with their prefixes
            under_oui = self._names_under_oui.get(prefix, ()) if prefix else ()
            return (None, None, self._no_vendor[2], under_oui) if under_oui else self._no_vendor
        index = self._first_vendor.first(vendor)
        signature = None if index is None else self._vendor_signatures[index]
        if signature is None:
            answer = Identification(vendor)
        else:
            answer = Identification(vendor, signature.nom, signature.categorie, (f"fabricant « {vendor} »",))
        entry = self._by_oui[prefix] = (vendor, signature, answer, self._names_under_oui.get(prefix, ()))
        return entry

    def _by_hostname(self, name: str) -> Signature | None:
        """The first signature whose host name expressions match this name, or None."""
        index = self._first_hostname.first(name)
        return None if index is None else self._hostname_signatures[index]

    def identifier(
        self, mac: str | None, noms_hote: Iterable[str] = (), mdns: Iterable[tuple[str, str | None]] = ()
    ) -> Identification:
        """Identify one device from its MAC, its host names and its mDNS (service, model) pairs.

        The most specific evidence wins: mDNS model, then mDNS service, then host name, then vendor.
        """
        prefix = mac[:8] if mac else None
        entry = self._by_oui.get(prefix)
        if entry is None:
            entry = self._oui(prefix)
        vendor, best, vendor_only, under_oui = entry
        if not noms_hote and not mdns:
            return vendor_only
        best_force = FORCE_FABRICANT if best else 0
        motifs: list[str] = []
        # The first host name that matches a signature wins (the first matching signature);
        # a name known under this device's OUI only comes before names known everywhere.
        # Sets: sorted (when there is a choice), or the winner would change with the hash seed.
        for name in sorted(noms_hote) if len(noms_hote) > 1 else noms_hote:
            found = next((s for pattern, s in under_oui if pattern.search(name)), None) if under_oui else None
            if found is not None:
                best_force, best = FORCE_NOM_HOTE, found
                motifs.append(f"nom d'hôte « {name} » sous l'OUI {prefix}")
                break
            found = self._by_hostname(name)
            if found is not None:
                best_force, best = FORCE_NOM_HOTE, found
                motifs.append(f"nom d'hôte « {name} »")
                break
        for service, model in sorted(mdns, key=_ordre_mdns) if len(mdns) > 1 else mdns:
            for rule_model, signature in self._mdns_rules.get(service, ()):
                force = FORCE_MDNS_MODELE if rule_model else FORCE_MDNS
                if force > best_force and (rule_model is None or (model and rule_model.search(model))):
                    best_force, best = force, signature
                    motifs.append(f"mDNS {service}" + (f" modèle « {model} »" if rule_model else ""))
        if not motifs:  # names and services that match nothing: the vendor's answer
            return vendor_only
        return Identification(vendor, best.nom, best.categorie, vendor_only.motifs + tuple(motifs))


def charger_identificateur(
    locales: list[dict] | None = None, categories_interdites: Iterable[str] | None = None
) -> Identificateur:
    """An identifier of the shipped signatures plus the inventory's own (first); raise SignaturesInvalides."""
    return Identificateur(*lire_signatures(locales, categories_interdites), registre_ieee())


def _ordre_mdns(paire: tuple[str, str | None]) -> tuple[str, str]:
    """The order of (service, model) pairs, a model-less pair first."""
    return paire[0], paire[1] or ""
