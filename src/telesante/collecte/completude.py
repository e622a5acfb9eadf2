"""Whether a vendor CLI output is whole: its layout (header, footer, count) and the checks that tell a cut.

A capture cut in the middle of a table parses without error: ntc-templates' templates skip what
they do not match. What each platform prints around its table is described as data (`Format`,
given per read in the platform registry, `telesante.collecte.plateformes`); the checks here turn
a missing header, a missing footer, a shortfall against an announced count or a half-written last
row into SortieIllisible, after the template has parsed the text and before any observation is made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from telesante.collecte.erreurs import SortieIllisible

# Field names differ between templates; the first one present wins.
CHAMPS_MAC = ("mac_address", "destination_address")
CHAMPS_PORT = ("destination_port", "ports", "port", "logical_interface")
CHAMPS_IP = ("ip_address",)


def premier_champ(record: dict, names: Iterable[str]):
    """The value of the first of these fields that the record fills, or None."""
    for name in names:
        value = record.get(name)
        if value not in (None, "", []):
            return value
    return None


@dataclass(frozen=True)
class Format:
    """What a platform prints around its table: to recognise its output and to see it is whole."""

    en_tete: str | None  # header line of the table; None: the command prints none
    pied: str | None = None  # how a whole output ends (footer); group "n": entries it announces
    pied_texte: str = ""  # that footer as printed, for the message
    compte: str | None = None  # count printed before the table (group "n"): about that many rows
    # End of a whole row: (fields, separated by spaces, what their values joined by a space look
    # like once whole); checked on the last row only, the one a cut capture leaves half written.
    derniere_colonne: tuple[str, str] | None = None


# A last column that ends on a number when whole: Gi1/0/1, Po140, lag100, 1/1/30, Vlan10, 25...
FINIT_PAR_UN_CHIFFRE = r".*\d"

# A whole MAC address in any vendor notation.
MAC_ENTIERE = re.compile(
    r"\b(?:[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5}|[0-9a-f]{6}-[0-9a-f]{6})\b", re.I
)
# Lines that may follow a footer: blank lines, rules, the Junos "{master:0}" line, a prompt
# ("switch#", "user@host>") left in a capture saved by hand.
_DECORATION = re.compile(r"^\s*(?:-+|\{master:\d+\}|[\w.@:()/-]+[#>])?\s*$")


def _manque_trop(lues: int, annoncees: int) -> bool:
    """Whether fewer entries were read than announced, beyond what a live table explains.

    A count and its table are not one snapshot (real captures list one entry more, or one
    less, than they announce): entries age out while the table prints. Only a shortfall
    of more than 2 entries and more than 1 % is taken for a cut.
    """
    return annoncees - lues > max(2, annoncees // 100)


def verifier(formats: tuple[Format, ...], records: list[dict], texte: str, inconnu: str) -> None:
    """SortieIllisible unless `texte`, parsed into `records`, is a whole output in one of `formats`.

    `inconnu` is the message for an output that is not this platform's and command's.
    """
    # Another platform's or command's output may fit a loose template (an Arista ARP line is a
    # valid Aruba one); the table header tells them apart. A header without rows is an empty table.
    form = _format(formats, texte)
    if form is None:
        raise SortieIllisible(f"{inconnu} : en-tête du tableau absent")
    if not records and not form.en_tete:
        raise SortieIllisible(inconnu)
    # Some templates skip what they do not match (Arista's reads a Catalyst table as an empty one):
    # every line holding a MAC address must have given an entry, up to IOS's "Multicast Entries"
    # (group addresses), where the Cisco template stops.
    read = re.split(r"^Multicast\s+Entries", texte, maxsplit=1, flags=re.MULTILINE | re.IGNORECASE)[0]
    mac_lines = [number for number, line in enumerate(read.splitlines(), start=1) if MAC_ENTIERE.search(line)]
    if len(mac_lines) > len(records):
        raise SortieIllisible(
            f"{inconnu} (lignes portant une adresse MAC : {len(mac_lines)}, entrées lues : {len(records)})",
            None if records else mac_lines[0],
        )
    announced = _verifier_pied_et_compte(form, records, texte)
    if not records and announced != 0:
        # Only a footer or a count that says 0 proves an empty table; otherwise the capture
        # may well have been cut right after its header.
        raise SortieIllisible("table vide : capture coupée ?", len(texte.rstrip().splitlines()))
    if records:
        _verifier_fin(records, read)
        if form.derniere_colonne is None:
            _verifier_derniere_entree(records, texte)
        else:  # knows, format by format, which rows legitimately lack a field (IOS Incomplete...)
            _verifier_derniere_colonne(form, records, texte)


def _format(layouts: tuple[Format, ...], texte: str) -> Format | None:
    """The layout of this output (the first whose header it has), or None if it has none of them."""
    for layout in layouts:
        if layout.en_tete is None or re.search(layout.en_tete, texte, re.MULTILINE):
            return layout
    return None



def _verifier_pied_et_compte(form: Format, records: list[dict], texte: str) -> int | None:
    """The footer the platform always prints must end the output; announced counts must hold.

    Returns the number of entries the footer or count announces, if the output prints one.
    """
    announced = None
    lines = texte.splitlines()
    if form.pied:
        end = len(lines)
        while end and _DECORATION.match(lines[end - 1]):
            end -= 1
        footer = re.search(form.pied, "\n".join(lines[:end]), re.MULTILINE | re.IGNORECASE)
        if footer is None:
            raise SortieIllisible(f"sortie tronquée ? (pied de tableau « {form.pied_texte} » absent)", len(lines))
        if footer.groupdict().get("n") is not None:
            announced = int(footer.group("n"))
            if _manque_trop(len(records), announced):
                raise SortieIllisible(
                    f"sortie tronquée ? (entrées lues : {len(records)}, annoncées par le pied de tableau : {announced})",
                    end,
                )
    if form.compte:
        count = re.search(form.compte, texte, re.MULTILINE)
        if count:
            announced = int(count.group("n"))
            if _manque_trop(len(records), announced):
                raise SortieIllisible(
                    f"sortie tronquée ? (entrées lues : {len(records)}, annoncées avant le tableau : {announced})",
                    len(lines),
                )
    return announced


def _verifier_derniere_colonne(form: Format, records: list[dict], texte: str) -> None:
    """The last row's last column must be whole: a capture cut there leaves "E" for "Et7", or nothing."""
    if form.derniere_colonne is None:
        return
    fields, whole = form.derniere_colonne
    values = []
    for field in fields.split():
        value = records[-1].get(field) or ""
        if isinstance(value, list):  # several ports: the last one is at the end of the line
            value = value[-1] if value else ""
        values.append(value)
    if not re.fullmatch(whole, " ".join(values)):
        raise SortieIllisible(
            f"dernière entrée incomplète (fin de ligne « {' '.join(values).strip() or 'vide'} ») : sortie tronquée ?",
            len(texte.rstrip().splitlines()),
        )


# Start of a MAC address in any vendor notation: 0011.22.., 00:11:22.., 001122-33...
_MAC_FRAGMENT = re.compile(
    r"\b(?:[0-9a-f]{4}\.[0-9a-f]{1,4}|[0-9a-f]{2}[:-][0-9a-f]{2}[:-][0-9a-f]{1,2}|[0-9a-f]{6}-[0-9a-f]{1,6})", re.I
)


def _verifier_fin(records: list[dict], texte: str) -> None:
    """After the line of the last parsed entry, nothing may look like another entry.

    Templates skip a half-written last line silently; a cut-off capture must not pass.
    """
    raw_mac = premier_champ(records[-1], CHAMPS_MAC)
    position = texte.rfind(raw_mac) if raw_mac else -1
    if position < 0:
        return
    end_of_line = texte.find("\n", position)
    if end_of_line < 0:
        return
    match = _MAC_FRAGMENT.search(texte, end_of_line)
    if match:
        line = texte.count("\n", 0, match.start()) + 1
        raise SortieIllisible("entrée non reconnue après la dernière entrée lue : sortie tronquée ?", line)


_KEY_FIELDS = CHAMPS_MAC + CHAMPS_PORT + CHAMPS_IP + ("vlan_id",)


def _verifier_derniere_entree(records: list[dict], texte: str) -> None:
    """A last record lacking a key field that every other record has means a cut-off output."""
    if len(records) < 2:
        return
    last, others = records[-1], records[:-1]
    missing = [
        name for name in _KEY_FIELDS
        if name in last and not last[name] and all(other.get(name) for other in others)
    ]
    if missing:
        lines = texte.rstrip().splitlines()
        raise SortieIllisible(
            f"dernière entrée incomplète ({', '.join(missing)} manquant) : sortie tronquée ?", len(lines)
        )
