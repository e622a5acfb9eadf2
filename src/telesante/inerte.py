"""Device-chosen strings made visible and inert before they reach a terminal, a CSV or XML.

A device picks its mDNS name, its DHCP host name, its TXT records; a switch prints port
names and error lines we quote. Written raw, `ESC[1A ESC[2K` erases lines of the report,
`ESC]0;` retitles the terminal, OSC 8 makes links, NUL or ESC makes the JUnit XML
unreadable. Each character below is written instead as its escape, as Python's repr
writes it (`\\x1b`, `\\n`, `\\u202e`, `\\U0010fffe`), so the admin sees what the device sent
and nothing acts on the display:

- controls (Unicode category Cc): C0 U+0000-U+001F (tab and line feed too: a line feed
  in a name would forge a line of the report), DEL U+007F, C1 U+0080-U+009F (U+009B is
  CSI and U+009D OSC for many terminals);
- lone UTF-16 halves U+D800-U+DFFF (no encoding can write them: UTF-8 output fails);
- line and paragraph separators U+2028, U+2029 (line breaks for some terminals and tools);
- bidirectional controls U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069 (invisible,
  they reorder what follows on display: "Trojan Source", CVE-2021-42574);
- noncharacters U+FDD0-U+FDEF and U+xFFFE/U+xFFFF of every plane (XML 1.0 forbids U+FFFE
  and U+FFFF; none is text).

Every other character is kept, zero-width joiners included (emoji sequences in names
are legitimate and harmless to a terminal). A backslash is kept as is: the JSON
report holds the exact string when an escape must be told from a typed backslash.
"""

from __future__ import annotations

import re

_A_ECHAPPER = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufdd0-\ufdef"
    + "".join(f"{chr(plan << 16 | 0xFFFE)}{chr(plan << 16 | 0xFFFF)}" for plan in range(17))
    + "]"
)


_COURTS = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _echappement(caractere: str) -> str:
    point = ord(caractere)
    if caractere in _COURTS:
        return _COURTS[caractere]
    if point < 0x100:
        return f"\\x{point:02x}"
    return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def inerte(texte: str) -> str:
    """The text with every character that could act on a display written as its visible escape."""
    return _A_ECHAPPER.sub(lambda m: _echappement(m.group()), texte)


def citer(texte: str, longueur: int = 120) -> str:
    """Inert text of at most `longueur` characters, ending with "…" when cut (a capture line quoted)."""
    rendu = inerte(texte)
    if len(rendu) <= longueur:
        return rendu
    coupe, taille = [], 0
    for morceau in _morceaux(texte):
        if taille + len(morceau) > longueur - 1:
            break
        coupe.append(morceau)
        taille += len(morceau)
    return "".join(coupe) + "…"


def _morceaux(texte: str):
    """The inert text piece by piece: a character, or one whole escape (never cut in two)."""
    for caractere in texte:
        yield _echappement(caractere) if _A_ECHAPPER.match(caractere) else caractere


def document_inerte(valeur):
    """A copy of a report document (dicts, lists, strings) with every string made inert."""
    if isinstance(valeur, str):
        return inerte(valeur)
    if isinstance(valeur, dict):
        return {cle: document_inerte(v) for cle, v in valeur.items()}
    if isinstance(valeur, (list, tuple)):
        return [document_inerte(v) for v in valeur]
    return valeur
