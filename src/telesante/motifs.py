"""The signatures' regular expressions, matched fast: which signature, first in order, has an
expression (ignoring case) that matches a vendor or a host name (`FirstOf`), in one or two
searches for most texts instead of one per signature."""

from __future__ import annotations

import re
from collections.abc import Callable


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


class FirstOf:
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
