"""Every real vendor output of ../shared/fixtures yields the observations its .yml describes.

Adding a fixture (a .raw with its .yml) under a supported platform adds a test case.
"""

from __future__ import annotations

import re

import pytest
import yaml
from netaddr import EUI

from telesante.collecte import en_direct, ssh
from telesante.collecte.contrat import ParametresCollecte
from telesante.collecte.captures import collecter_captures
from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.contrat import Annexe
from telesante.collecte.plateformes import PLATEFORMES
from telesante.collecte.completude import MAC_ENTIERE
from telesante.mac import est_multicast, normaliser_mac
from telesante.configuration import Equipement
from tests.conftest import FIXTURES

RAWS = sorted((FIXTURES / "sorties-equipements").glob("*/*/*.raw"))


def _lecture(platform: str, command_folder: str):
    """The registered read for this fixture: ARP-like or MAC-table-like."""
    wanted_arp = "arp" in command_folder or "neigh" in command_folder
    for lecture in PLATEFORMES[platform].lectures:
        if ("arp" in lecture.commande or "neigh" in lecture.commande) == wanted_arp and "-j" not in lecture.commande:
            return lecture
    raise AssertionError(f"aucune lecture pour {platform} {command_folder}")


# ntc-templates' Arista capture holds one MAC anonymized by hand into letters no switch prints: read
# as it is, the table is refused (« adresse MAC illisible », see test_mac_illisible_refusee_pas_ignoree);
# the tests on real outputs read it with that MAC made hexadecimal again.
ANONYMISEES = {"jenn.3057.8423": "0e00.3057.8423"}


def _texte(raw) -> str:
    """A real output, its anonymized MACs made hexadecimal again."""
    text = raw.read_text()
    for anonymized, mac in ANONYMISEES.items():
        text = text.replace(anonymized, mac)
    return text


def _expected_mac(row: dict) -> str | None:
    text = row.get("mac_address") or row.get("destination_address")
    text = ANONYMISEES.get(text, text)
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
    observations = lecture.analyser(_texte(raw), "equipement-test", "source-test")

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
    text = _texte(raw)
    rows = [row for row in yaml.safe_load(raw.with_suffix(".yml").read_text())["parsed_sample"] if _expected_mac(row)]
    lecture = _lecture(platform, command_folder)
    last_mac = rows[-1].get("mac_address") or rows[-1].get("destination_address")
    cut = text.rindex(last_mac) + len(last_mac) // 2
    with pytest.raises(SortieIllisible):
        lecture.analyser(text[:cut], "eq", "src")


@pytest.mark.parametrize("platform", sorted(p for p in PLATEFORMES if p not in ("dnsmasq", "isc_dhcpd", "capteur_mdns", "linux")))
@pytest.mark.parametrize("text", ["", "   \n", "% Invalid input detected at '^' marker.\n", "garbage\x00\x01 line\n"])
def test_sortie_vide_ou_etrangere_est_illisible(platform, text):
    for lecture in PLATEFORMES[platform].lectures:
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


def _raw(relative: str) -> str:
    return _texte(FIXTURES / "sorties-equipements" / relative)


def test_sortie_d_une_autre_plateforme_refusee():
    """Arista's "show ip arp" fits Aruba's loose template (one row, MAC "N/A"): not Aruba's output."""
    lecture = _lecture("aruba_aoscx", "show_arp_all-vrfs")
    with pytest.raises(SortieIllisible) as error:
        lecture.analyser(_raw("arista_eos/show_ip_arp/arista_eos_show_ip_arp.raw"), "eq", "src")
    assert error.value.message.startswith("sortie non reconnue pour aruba_aoscx (show arp all-vrfs)")


def test_table_catalyst_lue_par_le_gabarit_arista_refusee():
    """Arista's template reads a Catalyst table (same header) as empty: its rows are not skipped silently."""
    catalyst = _raw("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table4.raw")
    catalyst += "\nTotal Mac Addresses for this criterion: 12\n"  # what a Catalyst prints last
    assert len(_lecture("cisco_ios", "show_mac-address-table").analyser(catalyst, "eq", "src")) == 12
    with pytest.raises(SortieIllisible, match="sortie non reconnue pour arista_eos"):
        _lecture("arista_eos", "show_mac_address-table").analyser(catalyst, "eq", "src")


def test_section_multicast_d_ios_ignoree():
    """IOS ends its table with "Multicast Entries" (group addresses), where the template stops."""
    text = _raw("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table3.raw")
    multicast = (
        "\nMulticast Entries\n vlan    mac address     type    ports\n"
        "-------+---------------+-------+-------------------------------------------\n"
        "   1    ffff.ffff.ffff   system Gi1/1,Gi1/2\n"
    )
    lecture = _lecture("cisco_ios", "show_mac-address-table")
    assert lecture.analyser(text + multicast, "eq", "src") == lecture.analyser(text, "eq", "src")


def _data_values(raw) -> list[str]:
    rows = yaml.safe_load(raw.with_suffix(".yml").read_text())["parsed_sample"]
    values = [row.get("mac_address") or row.get("destination_address") for row in rows]
    return [ANONYMISEES.get(value, value) for value in values]


def test_mac_illisible_refusee_pas_ignoree():
    """A row the template takes whose MAC is no MAC (altered output) was dropped in silence."""
    raw = FIXTURES / "sorties-equipements/arista_eos/show_mac_address-table/arista_eos_show_mac_address-table.raw"
    text = raw.read_text()
    with pytest.raises(SortieIllisible) as error:
        _lecture("arista_eos", "show_mac_address-table").analyser(text, "eq", "src")
    assert error.value.message == "adresse MAC illisible : sortie tronquée ou altérée ?"
    assert error.value.ligne == next(n for n, line in enumerate(text.splitlines(), 1) if "jenn.3057.8423" in line)
    arp = _raw("cisco_ios/show_ip_arp/cisco_ios_show_ip_arp.raw")
    mac = MAC_ENTIERE.search(arp.splitlines()[1])[0]
    with pytest.raises(SortieIllisible) as error:
        _lecture("cisco_ios", "show_ip_arp").analyser(arp.replace(mac, mac[:-2] + "zz", 1), "eq", "src")
    assert error.value.message == "adresse MAC illisible : sortie tronquée ou altérée ?"


def _sans_entrees(raw) -> str:
    """The real output with its rows removed and its counts at 0, as an empty table prints."""
    macs = _data_values(raw)
    lines = [line for line in _texte(raw).splitlines() if not any(mac in line for mac in macs)]
    counts = re.compile(r"^(Total|Dynamic Addresses Count|Number of MAC|Ethernet switching table)(\D*)\d+(.*)$")
    return "\n".join(counts.sub(r"\g<1>\g<2>0\g<3>", line) for line in lines)


# Only these print a footer or a count that proves an empty table (the others may be cut after the header).
ARP_PIED_PROUVE_ZERO = {"aruba_aoscx/show_arp_all-vrfs.raw", "cisco_nxos/cisco_nxos_show_ip_arp.raw",
                        "juniper_junos/juniper_junos_show_arp_no-resolve.raw"}
ARP_RAWS = [r for r in RAWS if r.parts[-3] != "linux" and "arp" in r.parts[-2]]
MAC_RAWS = [r for r in RAWS if r.parts[-3] != "linux" and "arp" not in r.parts[-2]]


@pytest.mark.parametrize("raw", [r for r in ARP_RAWS if f"{r.parts[-3]}/{r.name}" in ARP_PIED_PROUVE_ZERO],
                         ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_table_arp_vide_dont_le_pied_prouve_le_zero_acceptee(raw):
    assert _lecture(raw.parts[-3], raw.parts[-2]).analyser(_sans_entrees(raw), "eq", "src") == []


@pytest.mark.parametrize("raw", [r for r in ARP_RAWS if f"{r.parts[-3]}/{r.name}" not in ARP_PIED_PROUVE_ZERO],
                         ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_table_arp_vide_sans_pied_refusee(raw):
    """IOS, EOS, ProCurve print no footer: a capture cut right after the header looks just the same."""
    text = _sans_entrees(raw)
    with pytest.raises(SortieIllisible) as error:
        _lecture(raw.parts[-3], raw.parts[-2]).analyser(text, "eq", "src")
    assert error.value.message == "table vide : capture coupée ?"
    assert error.value.ligne == len(text.rstrip().splitlines())


@pytest.mark.parametrize("raw", MAC_RAWS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_table_mac_vide_refusee_meme_avec_un_pied(raw):
    """A switch always learns the MAC addresses behind its uplinks: an empty MAC table is a failed read."""
    with pytest.raises(SortieIllisible) as error:
        _lecture(raw.parts[-3], raw.parts[-2]).analyser(_sans_entrees(raw), "eq", "src")
    assert error.value.message in ("table vide : capture coupée ?",
                                   "table MAC vide (un commutateur voit au moins ses liaisons) : capture coupée ?")


def test_table_mac_ios_coupee_juste_apres_l_en_tete_refusee():
    """The issue's case: `show mac address-table` cut after its header line, read as « 0 appareil »."""
    text = "          Mac Address Table\n-------------------------------------------\n\nVlan    Mac Address       Type        Ports\n----    -----------       --------    -----\n"
    with pytest.raises(SortieIllisible) as error:
        _lecture("cisco_ios", "show_mac-address-table").analyser(text, "eq", "src")
    assert error.value.message == "table vide : capture coupée ?"


def test_table_mac_sans_adresse_d_appareil_refusee():
    """Only the switch's own group addresses (CPU entries): no device learned, no uplink: a cut."""
    text = ("          Mac Address Table\n-------------------------------------------\n\n"
            "Vlan    Mac Address       Type        Ports\n----    -----------       --------    -----\n"
            " All    0100.0ccc.cccc    STATIC      CPU\n All    0180.c200.0000    STATIC      CPU\n")
    with pytest.raises(SortieIllisible) as error:
        _lecture("cisco_ios", "show_mac-address-table").analyser(text, "eq", "src")
    assert error.value.message.startswith("table MAC vide")


AOSCX_ARP = "aruba_aoscx/show_arp_all-vrfs/show_arp_all-vrfs.raw"


def test_pied_de_tableau_absent_refuse():
    text = _raw(AOSCX_ARP)
    cut = text[: text.index("Total Number")]
    with pytest.raises(SortieIllisible) as error:
        _lecture("aruba_aoscx", "show_arp_all-vrfs").analyser(cut, "eq", "src")
    assert error.value.message == "sortie tronquée ? (pied de tableau « Total Number Of ARP Entries Listed- N. » absent)"
    assert error.value.ligne == len(cut.splitlines())


def test_pied_de_tableau_qui_annonce_bien_plus_que_les_lignes_lues_refuse():
    text = _raw(AOSCX_ARP).replace("Listed- 2.", "Listed- 6.")
    with pytest.raises(SortieIllisible) as error:
        _lecture("aruba_aoscx", "show_arp_all-vrfs").analyser(text, "eq", "src")
    assert "lues : 2, annoncées par le pied de tableau : 6" in error.value.message


@pytest.mark.parametrize("relative, old, new", [
    (AOSCX_ARP, "Listed- 2.", "Listed- 3."),  # footer: one entry aged out while the table printed
    ("aruba_aoscx/show_mac-address-table/show_mac-address-table.raw", "addresses : 5", "addresses : 7"),  # count first
])
def test_table_vivante_une_ou_deux_entrees_d_ecart_acceptee(relative, old, new):
    """A count and its table are not one snapshot: a few entries apart is a busy switch, not a cut."""
    text = _raw(relative)
    assert old in text
    platform, folder = relative.split("/")[:2]
    assert _lecture(platform, folder).analyser(text.replace(old, new), "eq", "src")


# Rows that may well end a whole table: seen in ntc-templates' own test captures (IOS Incomplete
# ARP entry, Cat6500 static entries without port, Stby-Switch), or as NX-OS and AOS-CX print them
# (Router, an EVPN entry learned over VXLAN).
@pytest.mark.parametrize("relative, last_line", [
    # IOS sorts its ARP table by address: an unresolved highest address has no interface.
    ("cisco_ios/show_ip_arp/cisco_ios_show_ip_arp.raw", "Internet  172.16.168.255          0   Incomplete      ARPA"),
    # Cat6500: static entries (IGMP group, unicast) without a port; a standby supervisor.
    ("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table2.raw",
     "*  800  0100.5e7f.fffa    static  Yes          -      "),
    ("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table2.raw",
     "*      728 0000.0000.0003   static  Yes       -    "),
    ("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table2.raw",
     "   10  0000.0c07.ac0a   static  Yes          -   Stby-Switch"),
    ("cisco_nxos/show_mac_address-table/cisco_nxos_show_mac_address-table.raw",
     "G    100      0000.0c9f.f064     static     -        F      F    Router"),
    ("aruba_aoscx/show_mac-address-table/show_mac-address-table.raw",
     "00:50:56:aa:bb:cc    3590     evpn                      vxlan1(10.0.0.2)"),
])
def test_derniere_ligne_entiere_qui_ressemble_a_une_coupe_acceptee(relative, last_line):
    text = _raw(relative).rstrip("\n") + "\n" + last_line + "\n"
    if "Number of MAC addresses" in text:
        text = re.sub(r"(Number of MAC addresses\s*:\s*)(\d+)", lambda m: m[1] + str(int(m[2]) + 1), text)
    platform, folder = relative.split("/")[:2]
    lecture = _lecture(platform, folder)
    before = lecture.analyser(_raw(relative), "eq", "src")
    observations = lecture.analyser(text, "eq", "src")  # not « sortie tronquée ? »
    assert observations[: len(before)] == before
    mac = normaliser_mac(MAC_ENTIERE.search(last_line)[0]) if MAC_ENTIERE.search(last_line) else None
    if mac and not est_multicast(mac):  # an Incomplete entry or a group address is no device
        assert observations[-1].mac == mac, observations[-1]


def test_hp_sans_colonne_vlan_lue():
    """Older ProCurve firmware, or the table of one VLAN: no VLAN column."""
    text = (" Status and Counters - Port Address Table\n\n  MAC Address   Port\n  ------------- -----\n"
            "  00000d-600000 10\n  5c0e8b-97d9db Trk1\n")
    observations = _lecture("hp_procurve", "show_mac-address").analyser(text, "eq", "src")
    assert [(o.mac, o.port, o.vlan) for o in observations] == [
        ("00:00:0d:60:00:00", "10", None), ("5c:0e:8b:97:d9:db", "Trk1", None)]


HP_SANS_VLAN = (" Status and Counters - Port Address Table\n\n  MAC Address   Port\n  ------------- -----\n"
                "  842859-0a0b0c 5\n  842859-0a0b0d 5\n  5c0e8b-97d9db Trk1\n")
HP_ARP = (" IP ARP table\n\n  IP Address      MAC Address       Type    Port\n"
          "  --------------- ----------------- ------- ----\n  10.30.210.1     fc59c0-000001     dynamic Trk1\n")


def _procurve(tmp_path, vlan_par_defaut):
    folder = tmp_path / "captures" / "sw-hp"
    folder.mkdir(parents=True)
    (folder / "show_mac-address.txt").write_text(HP_SANS_VLAN)
    (folder / "show_arp.txt").write_text(HP_ARP)
    return Equipement(nom="sw-hp", plateforme="hp_procurve", site="sud", captures=folder,
                      vlan_par_defaut=vlan_par_defaut)


def test_hp_sans_colonne_vlan_prend_le_vlan_par_defaut_de_l_equipement(tmp_path):
    """Two Amazon MACs on port 5 of a table without VLAN column: placed on telesante_vlan_par_defaut."""
    resultat = collecter_captures(_procurve(tmp_path, 210))
    assert resultat.complet, resultat.problemes
    assert [(o.mac, o.port, o.vlan) for o in resultat.observations if o.port] == [
        ("84:28:59:0a:0b:0c", "5", 210), ("84:28:59:0a:0b:0d", "5", 210), ("5c:0e:8b:97:d9:db", "Trk1", 210)]


def test_hp_sans_colonne_vlan_ni_vlan_par_defaut_garde_toutes_les_entrees_sans_vlan(tmp_path):
    """Nothing is dropped: every entry stays, VLAN unknown (the policy makes them « incomplet »)."""
    resultat = collecter_captures(_procurve(tmp_path, None))
    assert [(o.mac, o.vlan) for o in resultat.observations if o.port] == [
        ("84:28:59:0a:0b:0c", None), ("84:28:59:0a:0b:0d", None), ("5c:0e:8b:97:d9:db", None)]


def test_vlan_par_defaut_jamais_applique_a_une_table_qui_imprime_ses_vlan(tmp_path):
    folder = tmp_path / "captures" / "sw-hp"
    folder.mkdir(parents=True)
    (folder / "show_mac-address.txt").write_text(_raw("hp_procurve/show_mac-address/hp_procurve_show_mac-address.raw"))
    (folder / "show_arp.txt").write_text(HP_ARP)
    resultat = collecter_captures(Equipement(nom="sw-hp", plateforme="hp_procurve", site="sud", captures=folder,
                                             vlan_par_defaut=999))
    assert resultat.complet, resultat.problemes
    assert 999 not in {o.vlan for o in resultat.observations}


def test_invite_laissee_apres_le_pied_de_tableau_acceptee():
    text = _raw(AOSCX_ARP).rstrip("\n") + "\nsw-coeur-01# \n"
    assert len(_lecture("aruba_aoscx", "show_arp_all-vrfs").analyser(text, "eq", "src")) == 2


def test_compte_annonce_avant_le_tableau_non_atteint_refuse():
    text = _raw("cisco_nxos/show_ip_arp/cisco_nxos_show_ip_arp.raw")
    cut = "\n".join(text.splitlines()[:20])
    with pytest.raises(SortieIllisible) as error:
        _lecture("cisco_nxos", "show_ip_arp").analyser(cut, "eq", "src")
    assert error.value.message == "sortie tronquée ? (entrées lues : 11, annoncées avant le tableau : 22)"


@pytest.mark.parametrize("relative, end", [
    ("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table4.raw", "DYNAMIC     P"),
    ("cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table2.raw", "Te3/"),
    ("aruba_aoscx/show_mac-address-table/show_mac-address-table.raw", "security      1/1"),
    ("arista_eos/show_ip_arp/arista_eos_show_ip_arp.raw", "Vlan10"),  # "Vlan101, Port-Channel2"
    ("cisco_ios/show_ip_arp/cisco_ios_show_ip_arp.raw", "ARPA"),  # interface lost
    ("juniper_junos/show_ethernet-switching_table/juniper_junos_show_ethernet-switching_table.raw", "ae100"),
])
def test_derniere_ligne_coupee_dans_la_derniere_colonne_refusee(relative, end):
    text = _raw(relative)
    cut = text[: text.index(end) + len(end)]
    platform, folder = relative.split("/")[:2]
    with pytest.raises(SortieIllisible) as error:
        _lecture(platform, folder).analyser(cut, "eq", "src")
    assert "sortie tronquée ?" in error.value.message
    assert error.value.ligne == len(cut.splitlines())


JUNOS_MAC = "juniper_junos/show_ethernet-switching_table/juniper_junos_show_ethernet-switching_table.raw"
JUNOS_ARP = "juniper_junos/show_arp_no-resolve/juniper_junos_show_arp_no-resolve.raw"
# Format of ntc-templates' test capture tests/juniper_junos/show_vlans (Junos ELS): a VLAN, then its
# member interfaces, one a line ("*": active).
JUNOS_VLANS = """Routing instance        VLAN name             Tag          Interfaces
default-switch          MEDICAL               110
                                                           ae3.0*
default-switch          Vlan100               100
                                                           xe-0/0/51:0.0*
default-switch          default               1
                                                           ae100.0*
                                                           ge-0/0/7.0

{master:0}
"""


def _junos_nomme(**names: str) -> str:
    """The real Junos MAC table, with its VlanNNN names replaced (same column width)."""
    text = _raw(JUNOS_MAC)
    for old, new in names.items():
        text = text.replace(f"    {old:<20}", f"    {new:<20}")
    return text


def _dossier_junos(tmp_path, mac_table: str, show_vlans: str | None) -> Equipement:
    folder = tmp_path / "captures" / "sw-junos"
    folder.mkdir(parents=True)
    (folder / "show_ethernet-switching_table.txt").write_text(mac_table)
    (folder / "show_arp_no-resolve.txt").write_text(_raw(JUNOS_ARP))
    if show_vlans is not None:
        (folder / "show_vlans.txt").write_text(show_vlans)
    return Equipement(nom="sw-junos", plateforme="juniper_junos", site="nord", captures=folder)


def _emplacements(resultat) -> list[tuple[str, int | None, str | None]]:
    return [(o.mac, o.vlan, dict(o.attributs).get("vlan_nom")) for o in resultat.observations if o.port]


def test_junos_vlan_nomme_sans_show_vlans_equipement_incomplet():
    """A name that is not its own number (« MEDICAL ») and no `show vlans`: its entries are not dropped
    silently (a device on that VLAN would never be placed), the equipment is incomplete instead."""
    text = _junos_nomme(Vlan2="MEDICAL")
    with pytest.raises(SortieIllisible) as error:
        _lecture("juniper_junos", "show_ethernet-switching_table").analyser(text, "eq", "src")
    assert error.value.message == "VLAN « MEDICAL » : numéro inconnu (show vlans non lu)"
    assert error.value.ligne == next(i for i, line in enumerate(text.splitlines(), 1) if "MEDICAL" in line)


def test_junos_vlan_nomme_resolu_par_show_vlans():
    text = _junos_nomme(Vlan2="MEDICAL", Vlan1011="default")
    observations = _lecture("juniper_junos", "show_ethernet-switching_table").analyser(
        text, "eq", "src", annexes={"show vlans": Annexe(JUNOS_VLANS, "captures/sw/show_vlans.txt")})
    assert [(o.mac, o.vlan, dict(o.attributs)["vlan_nom"]) for o in observations] == [
        ("bc:ac:0a:ca:ca:30", 110, "MEDICAL"), ("2c:5a:0f:bc:a3:cd", 100, "Vlan100"), ("ca:fe:ca:fe:00:07", 1, "default")]


def test_junos_vlans_nommes_lus_dans_show_vlans_du_dossier_de_captures(tmp_path):
    equipement = _dossier_junos(tmp_path, _junos_nomme(Vlan2="MEDICAL", Vlan1011="default"), JUNOS_VLANS)
    resultat = collecter_captures(equipement)
    assert resultat.problemes == []
    assert _emplacements(resultat) == [
        ("bc:ac:0a:ca:ca:30", 110, "MEDICAL"), ("2c:5a:0f:bc:a3:cd", 100, "Vlan100"), ("ca:fe:ca:fe:00:07", 1, "default")]


def test_junos_vlan_absent_de_show_vlans_equipement_incomplet_avec_fichier_et_ligne(tmp_path):
    text = _junos_nomme(Vlan2="MEDICAL", Vlan100="IMAGERIE")
    resultat = collecter_captures(_dossier_junos(tmp_path, text, JUNOS_VLANS))
    line = next(i for i, line in enumerate(text.splitlines(), 1) if "IMAGERIE" in line)
    path = tmp_path / "captures/sw-junos/show_ethernet-switching_table.txt"
    assert resultat.problemes == [f"{path}, ligne {line} : VLAN « IMAGERIE » : numéro inconnu (absent de show vlans)"]
    assert not resultat.complet


def test_junos_capture_show_vlans_absente_erreur_seulement_si_un_nom_l_exige(tmp_path):
    resultat = collecter_captures(_dossier_junos(tmp_path / "a", _junos_nomme(Vlan2="MEDICAL"), None))
    path = tmp_path / "a/captures/sw-junos"
    assert resultat.problemes == [
        f"{path / 'show_ethernet-switching_table.txt'}, ligne 10 : VLAN « MEDICAL » : numéro inconnu "
        f"(capture de « show vlans » absente : {path / 'show_vlans.txt'})"]
    # VlanNNN names are their own numbers, whatever the routing instance: no show vlans needed.
    text = _raw(JUNOS_MAC).replace("Routing instance : default-switch", "Routing instance : vs-medical")
    resultat = collecter_captures(_dossier_junos(tmp_path / "b", text, None))
    assert resultat.problemes == []
    assert _emplacements(resultat) == [
        ("bc:ac:0a:ca:ca:30", 2, "Vlan2"), ("2c:5a:0f:bc:a3:cd", 100, "Vlan100"), ("ca:fe:ca:fe:00:07", 1011, "Vlan1011")]


def test_junos_nom_pris_dans_l_instance_de_routage_de_la_table():
    """VLAN names are unique per routing instance only: the tag comes from the table's own instance."""
    text = _junos_nomme(Vlan2="MEDICAL").replace("Routing instance : default-switch", "Routing instance : vs-medical")
    vlans = JUNOS_VLANS.replace("{master:0}\n", "").rstrip("\n") + (
        "\nvs-medical              MEDICAL               210\n                                                           ae3.0*\n")
    lecture = _lecture("juniper_junos", "show_ethernet-switching_table")
    observations = lecture.analyser(text, "eq", "src", annexes={"show vlans": Annexe(vlans, "show_vlans.txt")})
    assert observations[0].vlan == 210
    with pytest.raises(SortieIllisible, match="« MEDICAL » : numéro inconnu \\(absent de show vlans\\)"):
        lecture.analyser(text, "eq", "src", annexes={"show vlans": Annexe(JUNOS_VLANS, "show_vlans.txt")})


@pytest.mark.parametrize("show_vlans, ligne, message", [
    ("garbage\n", None, "sortie non reconnue pour juniper_junos (show vlans) : en-tête du tableau absent"),
    (JUNOS_VLANS.replace("ae100.0*", "ae100.0* ???"), 7, "sortie non reconnue pour juniper_junos (show vlans)"),
    (JUNOS_VLANS[: JUNOS_VLANS.index("ge-0/0/7.0") + len("ge-0/0/")], 8, "dernière entrée incomplète"),
    # Cut in the tag of the last VLAN, which lists no interface: « 1 » might have been « 1005 ».
    (JUNOS_VLANS[: JUNOS_VLANS.index("ae100.0*") - 60], 6,
     "VLAN « default » : dernière entrée, sans interface : sortie tronquée ?"),
])
def test_junos_show_vlans_illisible_nomme_son_propre_fichier(tmp_path, show_vlans, ligne, message):
    text = _junos_nomme(Vlan1011="default")
    resultat = collecter_captures(_dossier_junos(tmp_path, text, show_vlans))
    where = f"{tmp_path / 'captures/sw-junos/show_vlans.txt'}" + (f", ligne {ligne}" if ligne else "")
    assert len(resultat.problemes) == 1 and resultat.problemes[0].startswith(f"{where} : {message}"), resultat.problemes


def test_show_vlans_donne_comme_une_autre_sortie_refuse():
    for platform, entree in PLATEFORMES.items():
        for lecture in entree.lectures:
            with pytest.raises(SortieIllisible):
                lecture.analyser(JUNOS_VLANS, "eq", "src")


def test_junos_en_direct_show_vlans_lu_enregistre_et_rejoue(tmp_path, monkeypatch):
    """The live path runs `show vlans` with the MAC table, records it with the captures, and the
    recorded folder replays to the same observations (no network: the CLI session is simulated)."""
    outputs = {"show ethernet-switching table": _junos_nomme(Vlan2="MEDICAL"),
               "show arp no-resolve": _raw(JUNOS_ARP), "show vlans": JUNOS_VLANS}
    run = []
    monkeypatch.setattr(ssh, "_session", lambda equipement, parametres: (
        lambda commande: run.append(commande) or outputs[commande], lambda: None))
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    equipement = Equipement(nom="sw-junos", plateforme="juniper_junos", site="nord", adresse="127.0.0.1")
    live = en_direct.collecter_en_direct(equipement, ParametresCollecte(known_hosts, dossier_captures=tmp_path / "cap"))
    assert live.problemes == []
    assert sorted(run) == sorted(outputs)
    assert (tmp_path / "cap/sw-junos/show_vlans.txt").read_text() == JUNOS_VLANS
    assert live.observations[0].vlan == 110
    replayed = collecter_captures(Equipement(nom="sw-junos", plateforme="juniper_junos", site="nord",
                                             captures=tmp_path / "cap/sw-junos"))
    assert replayed.problemes == [] and replayed.observations == live.observations
