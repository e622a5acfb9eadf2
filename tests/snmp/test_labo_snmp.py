"""The SNMP driver against recordings of real switches (snmpsim-data) served by snmpsim in the lab (root).

Expected MAC tables, ports, VLANs and ARP entries are computed here from the `.snmprec` files,
without the driver's code. Derived recordings (written in the lab's temporary folder) put an
Amazon and a Nest MAC on a mission VLAN: the whole audit must give the critical findings, code 1,
in SNMPv2c (Cisco: `communauté@vlan`) and in SNMPv3 authPriv SHA/AES (Cisco: context `vlan-N`),
with credentials encrypted by Ansible Vault.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from telesante.collecte.snmp_parametres import ParametresSnmp
from telesante.configuration import Equipement

from ..labo.topologie import prerequis_manquants, nettoyer_restes
from .labo_snmp import LaboSnmp, enregistrement
from .outils import auditer, collecter_snmp, constats, ecrire_inventaire

pytestmark = pytest.mark.racine

AMAZON = "fc:a1:83:00:00:01"  # Amazon Technologies Inc. (IEEE registry shipped with netaddr)
NEST = "18:b4:30:00:00:01"  # Nest Labs Inc.
# Recordings of real switches from snmpsim-data: name (the v2c community) -> file.
REELS = {
    "procurve": "network/switch/hpe-procurve-516733-b21",
    "s5720": "network/router/huawei-s5720",
    "des3200": "network/switch/dlink-des3200",
    "icx6430": "network/switch/brocade-icx6430-24",
    "dcrs5980": "network/switch/dcrs-5980-28t-dc",
    "sm4200": "network/switch/maipu-sm4200-16gef8ge-ac",
    "s5750": "network/switch/ruijie-s5750-24gt12sfp",
    "c3750": "network/switch/cisco-c3750",
}
V3 = ("auditeur", "authentification-labo", "chiffrement-labo")
VAULT = "mot-de-passe-vault-du-labo"


# -- expected tables, read from the recordings without the driver -------------------------------

def _varbinds(texte: str) -> dict[tuple[int, ...], tuple[str, str]]:
    valeurs = {}
    for ligne in texte.splitlines():
        if ligne.startswith("#") or ligne.count("|") < 2:
            continue
        oid, tag, valeur = ligne.split("|", 2)
        valeurs[tuple(int(a) for a in oid.split("."))] = (tag.split(":")[0], valeur)
    return valeurs


def _sous(valeurs, racine: str) -> dict[tuple[int, ...], tuple[str, str]]:
    r = tuple(int(a) for a in racine.split("."))
    return {oid[len(r):]: v for oid, v in valeurs.items() if oid[:len(r)] == r}


def _octets(valeur: tuple[str, str]) -> bytes:
    return bytes.fromhex(valeur[1]) if valeur[0].endswith("x") else valeur[1].encode("utf-8", "surrogateescape")


def _mac(octets) -> str:
    return ":".join(f"{o:02x}" for o in octets)


def attendu(texte: str) -> tuple[set, set]:
    """({(MAC, VLAN, port)} of the MAC table, {(MAC, IP)} of ARP), as the RFCs define the tables."""
    v = _varbinds(texte)
    noms = {}
    for racine in ("1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.31.1.1.1.1"):  # ifDescr, then ifName
        noms.update({i[0]: _octets(x).decode("utf-8", "replace") for i, x in _sous(v, racine).items()
                     if _octets(x).decode("utf-8", "replace").strip()})
    ports = {i[0]: noms.get(int(x[1]), f"ifIndex {x[1]}") for i, x in _sous(v, "1.3.6.1.2.1.17.1.4.1.2").items()}

    def port(p: int):
        return ports.get(p, f"port de pont {p}") if p else None

    fdb_vlans: dict[int, set] = {}
    for i, x in _sous(v, "1.3.6.1.2.1.17.7.1.4.2.1.3").items():
        fdb_vlans.setdefault(int(x[1]), set()).add(i[1])
    mac_table = set()
    # A row may lack its port (a recording made while the table changed): the device is still seen, port unknown.
    statuts, numeros = _sous(v, "1.3.6.1.2.1.17.7.1.2.2.1.3"), _sous(v, "1.3.6.1.2.1.17.7.1.2.2.1.2")
    for i in statuts.keys() | numeros.keys():
        if int(statuts.get(i, ("2", "3"))[1]) in (2, 4) or i[1] & 1:
            continue
        vlans = fdb_vlans.get(i[0], set())
        vlan = (next(iter(vlans)) if len(vlans) == 1 else None) if fdb_vlans else i[0]
        mac_table.add((_mac(i[1:]), vlan, port(int(numeros.get(i, ("2", "0"))[1]))))
    if not mac_table:
        statuts, numeros = _sous(v, "1.3.6.1.2.1.17.4.3.1.3"), _sous(v, "1.3.6.1.2.1.17.4.3.1.2")
        for i in statuts.keys() | numeros.keys():
            if int(statuts.get(i, ("2", "3"))[1]) not in (2, 4) and not i[0] & 1:
                mac_table.add((_mac(i), None, port(int(numeros.get(i, ("2", "0"))[1]))))
    arp = set()
    genres = _sous(v, "1.3.6.1.2.1.4.22.1.4")
    for i, x in _sous(v, "1.3.6.1.2.1.4.22.1.2").items():
        m = _octets(x)
        if m and int(genres.get(i, ("2", "3"))[1]) != 2 and not m[0] & 1:
            arp.add((_mac(m), ".".join(map(str, i[1:]))))
    genres = _sous(v, "1.3.6.1.2.1.4.35.1.6")
    for i, x in _sous(v, "1.3.6.1.2.1.4.35.1.4").items():
        m = _octets(x)
        if m and i[1] in (1, 2) and int(genres.get(i, ("2", "3"))[1]) != 2 and not m[0] & 1:
            arp.add((_mac(m), str(ipaddress.ip_address(bytes(i[3:])))))  # InetAddressType ipv4(1), ipv6(2)
    return mac_table, arp


# -- derived recordings --------------------------------------------------------------------------

def _arcs(mac: str) -> str:
    return ".".join(str(int(x, 16)) for x in mac.split(":"))


def _trier(lignes: list[str]) -> str:
    def cle(ligne):
        return tuple(int(a) for a in ligne.split("|")[0].split("."))
    return "\n".join(sorted((ligne for ligne in lignes if ligne and not ligne.startswith("#")), key=cle)) + "\n"


def brocade_avec_intrus() -> str:
    """Brocade ICX6430 recording, plus an Amazon (port 5) and a Nest (port 6) on VLAN 110 (FDB 110)."""
    lignes = enregistrement(REELS["icx6430"]).splitlines()
    lignes.append("1.3.6.1.2.1.17.7.1.4.2.1.3.0.110|66|110")
    for mac, port in ((AMAZON, 5), (NEST, 6)):
        lignes += [f"1.3.6.1.2.1.17.7.1.2.2.1.2.110.{_arcs(mac)}|2|{port}",
                   f"1.3.6.1.2.1.17.7.1.2.2.1.3.110.{_arcs(mac)}|2|3"]
    return _trier(lignes)


def cisco_par_vlan() -> tuple[str, dict[int, str]]:
    """Cisco C3750 recording with VLANs 1, 100 and 910 (and 1002-1005), and the BRIDGE-MIB of each VLAN context.

    VLAN 1 holds what the recording read in the default context; VLAN 100 an Amazon (Gi1/0/3) and a
    Nest (Gi1/0/4); VLAN 910 an empty table.
    """
    lignes = enregistrement(REELS["c3750"]).splitlines()
    vtp = re.compile(r"^1\.3\.6\.1\.4\.1\.9\.9\.46\.1\.3\.1\.1\.\d+\.1\.(\d+)\|")
    gardees = [l for l in lignes if not (m := vtp.match(l)) or int(m.group(1)) in (1, 100, 910, 1002, 1003, 1004, 1005)]
    ports = [l for l in lignes if l.startswith("1.3.6.1.2.1.17.1.4.1.2.")]
    fdb = [l for l in lignes if l.startswith("1.3.6.1.2.1.17.4.3.1.")]
    intrus = []
    for mac, port in ((AMAZON, 3), (NEST, 4)):
        intrus += [f"1.3.6.1.2.1.17.4.3.1.1.{_arcs(mac)}|4x|{mac.replace(':', '')}",
                   f"1.3.6.1.2.1.17.4.3.1.2.{_arcs(mac)}|2|{port}", f"1.3.6.1.2.1.17.4.3.1.3.{_arcs(mac)}|2|3"]
    return _trier(gardees), {1: _trier(ports + fdb), 100: _trier(ports + intrus), 910: _trier(ports)}


# -- the lab -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def labo():
    raisons = prerequis_manquants()
    if raisons:
        pytest.skip("Le laboratoire réseau exige root (espaces de noms réseau) : " + " ; ".join(raisons))
    nettoyer_restes()
    labo = LaboSnmp()
    try:
        cisco, contextes = cisco_par_vlan()
        fichiers = {nom: enregistrement(chemin) for nom, chemin in REELS.items()}
        fichiers["c3750amz"] = cisco
        fichiers.update({f"c3750amz@{vlan}": texte for vlan, texte in contextes.items()})
        labo.v2c = labo.demarrer(fichiers)
        labo.v3_brocade = labo.demarrer({"self": brocade_avec_intrus()}, v3=V3)
        labo.v3_cisco = labo.demarrer({"self": cisco, **{f"vlan-{v}": t for v, t in contextes.items()}}, v3=V3)
        yield labo
    finally:
        labo.close()


def _lire(adresse: str, **parametres) -> object:
    reglages = {"delai": 10.0, "tentatives": 2, **parametres}
    equipement = Equipement(nom="sw-labo", plateforme="snmp", site="hopital_nord", adresse=adresse,
                            snmp=ParametresSnmp(**reglages))
    return collecter_snmp(equipement)


@pytest.mark.parametrize("nom", [n for n in REELS if n != "c3750"])
def test_enregistrement_reel_tables_mac_ports_vlan_et_arp_attendus(labo, nom):
    resultat = _lire(labo.v2c, version="2c", communaute=nom)
    assert resultat.problemes == []
    table_mac, arp = attendu(enregistrement(REELS[nom]))
    assert table_mac, "enregistrement sans table MAC : il n'éprouve rien"
    assert {(o.mac, o.vlan, o.port) for o in resultat.observations if o.ip is None} == table_mac
    assert {(o.mac, o.ip) for o in resultat.observations if o.ip} == arp


def test_cisco_reel_sans_contexte_de_vlan_enregistre_incomplet(labo):
    # The recording lists 278 VLANs (vtpVlanState) but holds no « c3750@1 » context: never « conforme ».
    resultat = _lire(labo.v2c, version="2c", communaute="c3750", delai=2.0, tentatives=1)
    assert resultat.observations == []
    assert ("équipement sw-labo : table dot1dBasePortIfIndex (BRIDGE-MIB), contexte du VLAN 1 : parcours interrompu "
            "(délai dépassé") in resultat.problemes[0]


def test_cisco_communaute_par_vlan_intrus_critiques_puis_meme_audit_hors_ligne(labo, tmp_path: Path):
    inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-c3750": {
        "ansible_host": labo.v2c, "telesante_snmp_version": "2c", "telesante_snmp_communaute": "c3750amz",
        "telesante_snmp_delai": 10}}, reseaux=[
        {"nom": "mission-nord", "site": "hopital_nord", "type": "mission", "sous_reseaux": ["172.25.2.0/24"],
         "vlans": [100]},
        {"nom": "gestion-nord", "site": "hopital_nord", "type": "hors_mission", "sous_reseaux": ["192.168.11.0/24"],
         "vlans": [1, 910]}])
    direct, rapport = auditer(inventaire, tmp_path / "direct", "--source", "direct", "--enregistrer-captures",
                              str(tmp_path / "captures"))
    assert direct.returncode == 1, direct.stdout + direct.stderr
    critiques = [c for c in constats(rapport) if c[1] == "critique"]
    assert critiques == sorted([
        (NEST, "critique", "mission-nord", "actif", (("sw-c3750", "Gi1/0/4", 100),)),
        (AMAZON, "critique", "mission-nord", "actif", (("sw-c3750", "Gi1/0/3", 100),))])
    assert "c3750amz" not in (tmp_path / "captures" / "sw-c3750" / "snmp.json").read_text(encoding="utf-8")
    hors_ligne_inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-c3750": {
        "ansible_host": labo.v2c, "telesante_snmp_version": "2c", "telesante_snmp_communaute": "c3750amz",
        "telesante_captures": str(tmp_path / "captures" / "sw-c3750")}},
        reseaux=[{"nom": "mission-nord", "site": "hopital_nord", "type": "mission", "sous_reseaux": ["172.25.2.0/24"],
                  "vlans": [100]},
                 {"nom": "gestion-nord", "site": "hopital_nord", "type": "hors_mission",
                  "sous_reseaux": ["192.168.11.0/24"], "vlans": [1, 910]}])
    hors_ligne, rapport_hors_ligne = auditer(hors_ligne_inventaire, tmp_path / "hors_ligne")
    assert hors_ligne.returncode == 1, hors_ligne.stdout + hors_ligne.stderr
    assert constats(rapport_hors_ligne) == constats(rapport)


def _chiffrer(secret: str) -> str:
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(VAULT.encode()))]).encrypt(secret).decode()


@pytest.mark.parametrize("cas", ["brocade", "cisco"])
def test_snmpv3_authpriv_sha_aes_identifiants_vault_intrus_critiques(labo, tmp_path: Path, cas: str):
    adresse = labo.v3_brocade if cas == "brocade" else labo.v3_cisco
    (tmp_path / "vault").write_text(VAULT + "\n")
    equipement = {"ansible_host": adresse, "telesante_snmp_version": "3", "telesante_snmp_utilisateur": V3[0],
                  "telesante_snmp_mot_de_passe_auth": "@@AUTH@@", "telesante_snmp_mot_de_passe_chiffrement": "@@PRIV@@",
                  "telesante_snmp_delai": 10}
    if cas == "brocade":
        reseaux = [{"nom": "mission-nord", "site": "hopital_nord", "type": "mission", "vlans": [110]},
                   {"nom": "gestion-nord", "site": "hopital_nord", "type": "hors_mission",
                    "sous_reseaux": ["192.168.1.0/24"], "vlans": [1, 4091]}]
        places = {AMAZON: (("sw-v3", "ethernet1/1/5", 110),), NEST: (("sw-v3", "ethernet1/1/6", 110),)}
    else:
        reseaux = [{"nom": "mission-nord", "site": "hopital_nord", "type": "mission", "sous_reseaux": ["172.25.2.0/24"],
                    "vlans": [100]},
                   {"nom": "gestion-nord", "site": "hopital_nord", "type": "hors_mission",
                    "sous_reseaux": ["192.168.11.0/24"], "vlans": [1, 910]}]
        places = {AMAZON: (("sw-v3", "Gi1/0/3", 100),), NEST: (("sw-v3", "Gi1/0/4", 100),)}
    inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-v3": equipement}, reseaux=reseaux)
    texte = inventaire.read_text(encoding="utf-8")
    for marque, secret in (("'@@AUTH@@'", V3[1]), ("'@@PRIV@@'", V3[2])):
        chiffre = _chiffrer(secret).replace("\n", "\n        ")
        texte = texte.replace(marque, "!vault |\n        " + chiffre).replace(marque.strip("'"), "!vault |\n        "
                                                                                               + chiffre)
    inventaire.write_text(texte, encoding="utf-8")
    assert V3[1] not in inventaire.read_text()
    resultat, rapport = auditer(inventaire, tmp_path / "rapports", "--source", "direct",
                                "--fichier-mot-de-passe-vault", str(tmp_path / "vault"))
    assert resultat.returncode == 1, resultat.stdout + resultat.stderr
    assert [c for c in constats(rapport) if c[1] == "critique"] == sorted(
        (mac, "critique", "mission-nord", "actif", place) for mac, place in places.items())
    assert V3[1] not in resultat.stdout + resultat.stderr and V3[2] not in resultat.stdout + resultat.stderr


def test_snmpv3_mauvais_mot_de_passe_incomplet_sans_le_citer(labo):
    resultat = _lire(labo.v3_brocade, version="3", utilisateur=V3[0], cle_auth="pas-le-bon-mot", cle_chiffrement=V3[2],
                     delai=2.0, tentatives=1)
    assert resultat.observations == [] and "SNMPv3" in resultat.problemes[0], resultat.problemes
    assert "pas-le-bon-mot" not in resultat.problemes[0]
