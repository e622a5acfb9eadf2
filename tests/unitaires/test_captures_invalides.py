"""Captures that are cut, or that are another platform's output, are never read as whole ones.

Every real capture of ../shared/fixtures is fed to every other parser, and cut at every line
boundary and at several places inside each line (exhaustively, not by sampling).
"""

from __future__ import annotations

import re

import pytest

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.plateformes import PLATEFORMES
from tests.conftest import FIXTURES
from tests.unitaires.test_sorties_equipements import RAWS, _lecture, _texte

LEASES = {"dnsmasq": FIXTURES / "baux-dhcp/dnsmasq-maison.leases", "isc_dhcpd": FIXTURES / "baux-dhcp/isc-dhcpd.leases"}
CAPTURES = [(raw, raw.parts[-3], _lecture(raw.parts[-3], raw.parts[-2])) for raw in RAWS]
CAPTURES += [(path, platform, PLATEFORMES[platform].lectures[0]) for platform, path in LEASES.items()]
READS = [(platform, lecture) for platform, entree in PLATEFORMES.items() for lecture in entree.lectures]


def _name(capture) -> str:
    return f"{capture[1]}/{capture[0].name}"


@pytest.mark.parametrize("capture", CAPTURES, ids=_name)
def test_capture_donnee_a_un_autre_analyseur_refusee(capture):
    """No two platforms (or commands) print the same thing: each capture is read by its own parser only.

    Arista's MAC table has the header of a Catalyst's (cisco_ios layout 4) but not its rows: Arista's
    template skips Catalyst rows ("All" VLAN, Te1/1/3), which the count of lines holding a MAC
    address catches; the Cisco template refuses Arista's multicast table.
    """
    path, platform, own = capture
    text = _texte(path)
    for other_platform, lecture in READS:
        if lecture is own:
            continue
        with pytest.raises(SortieIllisible):
            lecture.analyser(text, "eq", "src")
            pytest.fail(f"sortie de {platform} acceptée par {other_platform} « {lecture.commande} »")


# The formats whose footer must end a whole output (for Arista, the total after the multicast
# table): a cut capture is always refused, unless the cut only took what follows that footer: a
# rule, blank lines, the Junos prompt.
WITH_FOOTER = {("arista_eos", "show mac address-table"), ("aruba_aoscx", "show arp all-vrfs"),
               ("juniper_junos", "show arp no-resolve")}

# The formats where a cut in the last column of the last row can leave a value that looks whole
# ("Te3/2" for "Te3/20", VLAN "5" for "50", "eth1.1" for "eth1.10"): the format gives no way to see
# it (the formats of the platform registry, collecte/plateformes.py). There, and only there, the last
# observation may hold a cut value.
UNDETECTABLE = {
    ("cisco_ios", "show mac address-table"), ("cisco_ios", "show ip arp"), ("cisco_nxos", "show mac address-table"),
    ("cisco_nxos", "show ip arp"), ("aruba_aoscx", "show mac-address-table"), ("hp_procurve", "show mac-address"),
    ("hp_procurve", "show arp"), ("linux", "arp -a"),
}


def _cuts(text: str) -> list[int]:
    """Every line boundary, and in each line: after 1 and 2 characters, the middle, and every place
    in and just before the last word (where a cut value can still look whole)."""
    cuts = set()
    start = 0
    for line in text.splitlines(True):
        content = line.rstrip("\r\n")
        last_word = len(content.rstrip()) - len(content.rstrip().split()[-1]) if content.strip() else 0
        for offset in {1, 2, len(content) // 2, *range(max(last_word - 1, 0), len(content) + 1)}:
            if offset <= len(content):
                cuts.add(start + offset)
        start += len(line)
        cuts.add(start)
    cuts.discard(len(text))
    return sorted(cuts)


def _fields(observation) -> dict[str, str]:
    values = {"port": observation.port, "vlan": observation.vlan, "nom_hote": observation.nom_hote}
    values |= dict(observation.attributs)
    return {key: "" if value is None else str(value) for key, value in values.items()}


def _same_or_cut(cut_observation, whole_observation) -> bool:
    """Same device; each field equal to the whole one, or a beginning of it (a cut value)."""
    if (cut_observation.mac, cut_observation.ip) != (whole_observation.mac, whole_observation.ip):
        return False
    cut_fields, whole_fields = _fields(cut_observation), _fields(whole_observation)
    return all(whole_fields.get(key, "").startswith(value) for key, value in cut_fields.items()) and all(
        key in cut_fields or not value for key, value in whole_fields.items()
    )


def _isc_whole_blocks(text: str) -> str:
    """The text up to its last closing brace: what a cut between two leases still holds whole."""
    return text[: text.rfind("}") + 1]


@pytest.mark.parametrize("capture", CAPTURES, ids=_name)
def test_capture_coupee_refusee_ou_debut_exact_de_la_capture_entiere(capture):
    path, platform, lecture = capture
    text = _texte(path)
    whole = lecture.analyser(text, "eq", "src")
    kind = (platform, lecture.commande)
    for cut in _cuts(text):
        part = text[:cut]
        try:
            observations = lecture.analyser(part, "eq", "src")
        except SortieIllisible as error:
            assert error.message and (error.ligne is None or 1 <= error.ligne <= part.count("\n") + 1)
            continue
        where = f"{path.name} coupé au caractère {cut} ({part[-40:]!r})"
        if kind in WITH_FOOTER:
            significant = [line for line in part.splitlines() if line.strip(" -") and line != "{master:0}"]
            assert significant[-1].lower().startswith("total "), where
            assert observations == whole[: len(observations)], where
        elif platform == "isc_dhcpd":
            # The last lease of an address wins: a cut between leases gives the file as it was then.
            blocks = _isc_whole_blocks(part)
            assert not re.sub(r"#[^\n]*", "", part[len(blocks):]).strip(), where
            assert observations == (lecture.analyser(blocks, "eq", "src") if blocks else []), where
        elif observations:
            count = len(observations)
            assert observations[:-1] == whole[: count - 1], where
            if observations[-1] != whole[count - 1]:
                assert kind in UNDETECTABLE and _same_or_cut(observations[-1], whole[count - 1]), where
