"""Every real vendor output of ../shared/fixtures yields the observations its .yml describes.

Adding a fixture (a .raw with its .yml) under a supported platform adds a test case.
"""

from __future__ import annotations

import pytest
import yaml
from netaddr import EUI

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.plateformes import PLATEFORMES
from tests.conftest import FIXTURES

RAWS = sorted((FIXTURES / "sorties-equipements").glob("*/*/*.raw"))


def _lecture(platform: str, command_folder: str):
    """The registered read for this fixture: ARP-like or MAC-table-like."""
    wanted_arp = "arp" in command_folder or "neigh" in command_folder
    for lecture in PLATEFORMES[platform]:
        if ("arp" in lecture.commande or "neigh" in lecture.commande) == wanted_arp and "-j" not in lecture.commande:
            return lecture
    raise AssertionError(f"aucune lecture pour {platform} {command_folder}")


def _expected_mac(row: dict) -> str | None:
    text = row.get("mac_address") or row.get("destination_address")
    try:
        mac = EUI(text)
    except Exception:
        return None  # "incomplete" ARP entries
    if int(mac) >> 40 & 1:  # multicast / group address: not a device
        return None
    return str(mac).replace("-", ":").lower()


def _expected_port(row: dict) -> str | None:
    for key in ("destination_port", "ports", "port", "logical_interface"):
        value = row.get(key)
        if value:
            return ",".join(value) if isinstance(value, list) else value
    return None


def _expected_vlan(row: dict) -> int | None:
    text = str(row.get("vlan_id", ""))
    digits = text.removeprefix("Vlan").removeprefix("vlan")
    return int(digits) if digits.isdigit() else None


def test_les_fixtures_sont_presentes():
    assert len(RAWS) >= 17, f"fixtures attendues sous {FIXTURES}"


@pytest.mark.parametrize("raw", RAWS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_sortie_reelle_donne_les_observations_du_yml(raw):
    platform, command_folder = raw.parts[-3], raw.parts[-2]
    expected_rows = yaml.safe_load(raw.with_suffix(".yml").read_text())["parsed_sample"]
    lecture = _lecture(platform, command_folder)
    observations = lecture.analyser(raw.read_text(), "equipement-test", "source-test")

    expected = [row for row in expected_rows if _expected_mac(row)]
    assert len(observations) == len(expected)
    for observation, row in zip(observations, expected):
        assert observation.mac == _expected_mac(row)
        assert observation.equipement == "equipement-test"
        if "ip_address" in row:
            assert observation.ip == row["ip_address"]
            assert observation.port is None  # a router interface is not the device's access port
        else:
            assert observation.port == _expected_port(row)
            assert observation.vlan == _expected_vlan(row)


@pytest.mark.parametrize("raw", RAWS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_sortie_coupee_au_milieu_d_une_entree_est_refusee(raw):
    """Cut inside the MAC address of the last entry: never silently accepted."""
    platform, command_folder = raw.parts[-3], raw.parts[-2]
    text = raw.read_text()
    rows = [row for row in yaml.safe_load(raw.with_suffix(".yml").read_text())["parsed_sample"] if _expected_mac(row)]
    lecture = _lecture(platform, command_folder)
    last_mac = rows[-1].get("mac_address") or rows[-1].get("destination_address")
    cut = text.rindex(last_mac) + len(last_mac) // 2
    with pytest.raises(SortieIllisible):
        lecture.analyser(text[:cut], "eq", "src")


@pytest.mark.parametrize("platform", sorted(p for p in PLATEFORMES if p not in ("dnsmasq", "isc_dhcpd", "capteur_mdns", "linux")))
@pytest.mark.parametrize("text", ["", "   \n", "% Invalid input detected at '^' marker.\n", "garbage\x00\x01 line\n"])
def test_sortie_vide_ou_etrangere_est_illisible(platform, text):
    for lecture in PLATEFORMES[platform]:
        with pytest.raises(SortieIllisible):
            lecture.analyser(text, "eq", "src")


def test_message_d_erreur_nomme_la_ligne():
    lecture = _lecture("cisco_ios", "show_mac-address-table")
    text = (FIXTURES / "sorties-equipements/cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table.raw").read_text()
    lines = text.splitlines()
    lines.insert(10, "this is not what a Catalyst prints")
    with pytest.raises(SortieIllisible) as error:
        lecture.analyser("\n".join(lines) + "\n", "eq", "src")
    assert error.value.ligne == 11
    assert "captures/sw/x.txt, ligne 11" in error.value.decrire("captures/sw/x.txt")
