"""DHCP lease files (real dnsmasq and ISC dhcpd files), iproute2 JSON and the mDNS sensor file."""

from __future__ import annotations

import json

import pytest

from telesante.collecte.baux_dhcp import observations_dnsmasq, observations_isc
from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.vlan import vlan_depuis_nom
from telesante.collecte.linux import observations_fdb, observations_voisins
from telesante.collecte.mdns import observations_mdns


def test_dnsmasq_reel_une_observation_par_bail(fixtures):
    text = (fixtures / "baux-dhcp/dnsmasq-maison.leases").read_text()
    observations = observations_dnsmasq(text, "dhcp", "dhcp : baux")
    assert len(observations) == len([line for line in text.splitlines() if line.strip()])
    by_mac = {o.mac: o for o in observations}
    nest = by_mac["f8:0f:f9:8f:bd:9e"]
    assert (nest.ip, nest.nom_hote) == ("192.168.215.182", "Google-Nest-Mini")
    assert by_mac["bc:d0:74:60:84:0b"].nom_hote is None  # '*' means no host name
    assert by_mac["bc:d0:74:60:84:0b"].vu_le.year == 2024


def test_isc_reel_ignore_les_baux_abandonnes_et_garde_le_dernier_par_ip(fixtures):
    observations = observations_isc((fixtures / "baux-dhcp/isc-dhcpd.leases").read_text(), "dhcp", "src")
    by_ip = {}
    for o in observations:
        by_ip.setdefault(o.ip, []).append(o)
    assert all(len(v) == 1 for v in by_ip.values())
    assert "192.168.0.100" not in by_ip  # abandoned, no hardware address
    assert by_ip["192.168.0.105"][0].nom_hote == "pines"
    assert by_ip["127.0.0.1"][0].mac == "ac:aa:24:d8:4b:de"  # the later of two leases wins


def test_isc_tronque_nomme_la_ligne_du_bail_ouvert(fixtures):
    text = (fixtures / "baux-dhcp/isc-dhcpd.leases").read_text()
    cut = text[: text.rindex("hardware ethernet")]
    with pytest.raises(SortieIllisible) as error:
        observations_isc(cut, "dhcp", "src")
    assert error.value.ligne == cut.count("\n", 0, cut.rindex("lease ")) + 1
    assert "tronqué" in error.value.message


def test_isc_ignore_les_baux_liberes():
    text = """lease 10.0.0.5 {
  starts 1 2026/11/16 10:00:00;
  binding state free;
  hardware ethernet 00:11:22:33:44:55;
}
lease 10.0.0.6 {
  binding state active;
  hardware ethernet 00:11:22:33:44:66;
  client-hostname "a;b { c }";
}
"""
    observations = observations_isc(text, "dhcp", "src")
    assert [(o.ip, o.nom_hote) for o in observations] == [("10.0.0.6", "a;b { c }")]


@pytest.mark.parametrize("line", [
    "garbage",
    "123 not-a-mac 10.0.0.1 x *",
    "abc 00:11:22:33:44:55 10.0.0.1",
    "\u00b9795305600 00:11:22:33:44:55 10.0.0.1 x *",  # a superscript digit: isdigit() but not int()
    "99999999999999999999 00:11:22:33:44:55 10.0.0.1 x *",  # expiry beyond any date
])
def test_dnsmasq_ligne_illisible(line):
    text = "1795305600 00:11:22:33:44:55 10.0.0.2 a *\n" + line + "\n"
    with pytest.raises(SortieIllisible) as error:
        observations_dnsmasq(text, "dhcp", "src")
    assert error.value.ligne == 2


def test_dnsmasq_section_ipv6_sans_mac():
    text = "1795305600 00:11:22:33:44:55 10.0.0.2 a *\nduid 00:01:00:01:2c:5e\n1795305600 1234 fd00::2 b 00:01\n"
    assert [o.mac for o in observations_dnsmasq(text, "d", "s")] == ["00:11:22:33:44:55"]


FDB = json.dumps([
    {"mac": "33:33:00:00:00:01", "ifname": "br0", "flags": ["self"], "state": "permanent"},
    {"mac": "8e:1f:00:00:00:01", "ifname": "swp1", "vlan": 1, "master": "br0", "state": "permanent"},
    {"mac": "84:28:59:3a:7c:21", "ifname": "swp1", "vlan": 110, "master": "br0", "flags": []},
    {"mac": "60:fd:a6:10:20:30", "ifname": "swp3", "vlan": 110, "master": "br0", "state": "stale"},
    {"mac": "28:73:f6:44:21:90", "ifname": "swp6", "master": "br120"},
    {"mac": "28:73:f6:44:21:91", "ifname": "tap1", "master": "vmbr0v130"},
    {"mac": "28:73:f6:44:21:92", "ifname": "swp7", "master": "br0"},
])
NEIGH = json.dumps([
    {"dst": "172.31.110.41", "dev": "gw.110", "lladdr": "84:28:59:3a:7c:21", "state": ["REACHABLE"]},
    {"dst": "172.31.110.99", "dev": "gw.110", "state": ["FAILED"]},
    {"dst": "fe80::1", "dev": "gw.120", "lladdr": "28:73:f6:44:21:90", "router": None, "state": ["STALE"]},
])


def test_fdb_garde_les_entrees_apprises_seulement():
    observations = observations_fdb(FDB, "sw", "src")
    assert [(o.mac, o.port, o.vlan) for o in observations] == [
        ("84:28:59:3a:7c:21", "swp1", 110),
        ("60:fd:a6:10:20:30", "swp3", 110),
        ("28:73:f6:44:21:90", "swp6", 120),  # bridge per VLAN
        ("28:73:f6:44:21:91", "tap1", 130),
        ("28:73:f6:44:21:92", "swp7", None),
    ]


def test_fdb_pont_sans_vlan_prend_le_vlan_par_defaut():
    """A bridge without VLAN filtering, whose name tells no VLAN (br0): telesante_vlan_par_defaut."""
    observations = observations_fdb(FDB, "sw", "src", vlan_par_defaut=130)
    assert [(o.mac, o.vlan) for o in observations][-1] == ("28:73:f6:44:21:92", 130)
    assert [o.vlan for o in observations][:4] == [110, 110, 120, 130]  # the VLAN the entry tells wins


def test_voisins_ip_et_vlan_de_l_interface():
    observations = observations_voisins(NEIGH, "gw", "src")
    assert [(o.mac, o.ip, o.vlan) for o in observations] == [
        ("84:28:59:3a:7c:21", "172.31.110.41", 110),
        ("28:73:f6:44:21:90", "fe80::1", 120),
    ]


@pytest.mark.parametrize("name, vlan", [
    ("110", 110), ("Vlan110", 110), ("eth1.100", 100), ("vmbr0v110", 110),
    ("0", None), ("4095", None), ("\u00b9", None), ("\u0661\u0662", None), ("Port-Channel2", None),
])
def test_vlan_depuis_nom(name, vlan):
    assert vlan_depuis_nom(name) == vlan


@pytest.mark.parametrize("text", ["", NEIGH[: len(NEIGH) // 2], '{"not": "a list"}', '[1, 2]', '[{"lladdr": 5}]'])
def test_json_iproute2_illisible(text):
    with pytest.raises(SortieIllisible):
        observations_voisins(text, "gw", "src")


def _mdns(**override):
    document = {
        "format": "telesante-capteur-mdns", "version": 1, "capteur": "sonde", "interface": "eth0",
        "debut": "2026-11-21T02:00:00+00:00", "fin": "2026-11-21T02:00:30+00:00",
        "annonces": [{
            "mac": None, "ip": "10.20.110.42", "nom": "Google-Nest-Hub-6f2e._googlecast._tcp.local.",
            "service": "_googlecast._tcp.local.", "txt": {"md": "Google Nest Hub"},
        }],
    }
    document.update(override)
    return json.dumps(document)


def test_mdns_annonce_devient_observation():
    [observation] = observations_mdns(_mdns(), "sonde", "src")
    assert observation.mac is None
    assert observation.ip == "10.20.110.42"
    assert observation.nom_hote == "Google-Nest-Hub-6f2e"
    assert observation.services_mdns == ("_googlecast._tcp",)
    assert observation.modele_mdns == "Google Nest Hub"


@pytest.mark.parametrize("override", [{"version": 2}, {"annonces": [{"ip": "1.2.3.4"}]}, {"format": "autre"}])
def test_mdns_format_inconnu_refuse(override):
    with pytest.raises(SortieIllisible) as error:
        observations_mdns(_mdns(**override), "sonde", "src")
    assert "format v1" in error.value.message


@pytest.mark.parametrize("path, value, where", [
    (("annonces", 0, "vu_le"), "hier", "annonce n° 1, champ « vu_le »"),
    (("annonces", 0, "vu_le"), "2026-11-21T02:00:07", "annonce n° 1, champ « vu_le »"),  # no time zone
    (("debut",), "2026-11-21T02:00:00", "champ « debut »"),
    (("fin",), "demain", "champ « fin »"),
], ids=["vu_le-pas-une-date", "vu_le-sans-fuseau", "debut-sans-fuseau", "fin-pas-une-date"])
def test_mdns_date_illisible_ou_sans_fuseau_refusee(path, value, where):
    document = json.loads(_mdns())
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(SortieIllisible) as error:
        observations_mdns(json.dumps(document), "sonde", "src")
    assert error.value.message.startswith(where)
    assert "date" in error.value.message


def test_mdns_dates_avec_fuseau_acceptees():
    document = json.loads(_mdns(debut="2026-11-21T02:00:00Z"))
    document["annonces"][0]["vu_le"] = "2026-11-21T03:00:07-05:00"
    [observation] = observations_mdns(json.dumps(document), "sonde", "src")
    assert observation.vu_le.utcoffset() is not None
    assert observation.vu_le.isoformat() == "2026-11-21T03:00:07-05:00"


@pytest.mark.parametrize("text, line", [
    ("cat: /var/lib/dhcp/dhcpd.leases: Permission denied\n", 1),
    ("# The format of this file is documented in the dhcpd.leases(5) manual page.\n\nbash: cat: not found\n", 3),
    ("Protocol  Address          Age (min)  Hardware Addr   Type   Interface\n"
     "Internet  10.0.0.1                -   0011.2233.4455  ARPA   Vlan110\n", 1),
    ("1795305600 00:11:22:33:44:55 10.0.0.2 a *\n", 1),  # a dnsmasq lease file
    ("{ hardware ethernet 00:11:22:33:44:55; }\n", 1),
    ("lease 10.0.0.5 {\n  hardware ethernet 00:11:22:33:44:55;\n}\nlease 10.0.0.6", 4),  # cut after a lease
], ids=["erreur-cat", "erreur-apres-en-tete", "sortie-cisco", "baux-dnsmasq", "bloc-sans-declaration", "coupe"])
def test_isc_texte_qui_n_est_pas_un_fichier_de_baux(text, line):
    with pytest.raises(SortieIllisible) as error:
        observations_isc(text, "dhcp", "src")
    assert error.value.ligne == line


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_isc_capture_vide_illisible(text):
    with pytest.raises(SortieIllisible) as error:
        observations_isc(text, "dhcp", "src")
    assert "capture vide" in error.value.message


def test_isc_declarations_documentees_acceptees():
    text = """# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3
# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;
server-duid "\\000\\001\\000\\001";
failover peer "pair" state {
  my state normal at 3 2026/11/18 14:00:00;
  partner state normal at 3 2026/11/18 14:00:00;
}
host imprimante {
  dynamic;
  hardware ethernet 00:11:22:33:44:77;
  fixed-address 10.0.0.9;
}
group "labo" {
  dynamic;
}
subclass "voip" 1:00:11:22:33:44:88 {
}
lease 10.0.0.6 {
  binding state active;
  hardware ethernet 00:11:22:33:44:66;
}
"""
    assert [o.ip for o in observations_isc(text, "dhcp", "src")] == ["10.0.0.6"]


def test_isc_en_tete_sans_aucun_bail_refuse():
    """dhcpd writes its header first: a copy cut (or taken) right after it holds no lease, like this."""
    with pytest.raises(SortieIllisible) as error:
        observations_isc("# The format of this file is documented in the dhcpd.leases(5) manual page.\n"
                         "authoring-byte-order little-endian;\n", "dhcp", "src")
    assert error.value.message.startswith("aucun bail : fichier vide ou coupé ?")


def test_isc_baux_tous_liberes_acceptes_sans_appareil():
    """Lease declarations, none active: the file is whole and says nobody holds a lease now."""
    text = "lease 10.0.0.5 {\n  binding state free;\n  hardware ethernet 00:11:22:33:44:55;\n}\n"
    assert observations_isc(text, "dhcp", "src") == []


@pytest.mark.parametrize("text", ["", "\n\n", "duid 00:01:00:01:2c:5e\n1795305600 1234 fd00::2 b 00:01\n"],
                         ids=["0-octet", "lignes-vides", "ipv6-seulement"])
def test_dnsmasq_sans_bail_ipv4_refuse(text):
    """A dnsmasq.leases of 0 bytes was read as « 0 appareil »: it proves nothing, the source is incomplete."""
    with pytest.raises(SortieIllisible) as error:
        observations_dnsmasq(text, "dhcp", "src")
    assert error.value.message.startswith("aucun bail IPv4 : fichier vide ou coupé ?")


def test_dnsmasq_erreur_du_shell_refusee():
    with pytest.raises(SortieIllisible) as error:
        observations_dnsmasq("cat: /var/lib/misc/dnsmasq.leases: Permission denied\n", "dhcp", "src")
    assert error.value.ligne == 1


def test_dnsmasq_ligne_coupee_dans_le_nom_refusee():
    text = "1795305600 00:11:22:33:44:55 10.0.0.2 poste-soins 01:00:11:22:33:44:55\n1795305600 00:11:22:33:44:66 10.0.0.3 impri"
    with pytest.raises(SortieIllisible) as error:
        observations_dnsmasq(text, "dhcp", "src")
    assert error.value.ligne == 2


@pytest.mark.parametrize("text, message", [
    ('{"format": "telesante-capteur-mdns", "annonces": [', "JSON invalide (colonne 51 : le texte s'arrête avant la fin "
     "du document : fichier tronqué ?)"),
    ('{"format": x}', "JSON invalide (colonne 12 : caractère inattendu : fichier tronqué ?)"),
])
def test_json_illisible_dit_en_francais_ou_il_s_arrete(text, message):
    """json's own message (« Expecting value ») is English: the admin reads where, in French."""
    with pytest.raises(SortieIllisible) as error:
        observations_mdns(text, "sonde", "src")
    assert (error.value.message, error.value.ligne) == (message, 1)
