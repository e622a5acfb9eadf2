"""The SNMP driver against agents on the loopback that answer right, wrong, or not at all (no root needed)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pysnmp.proto import rfc1902

from telesante.collecte.captures import collecter_captures
from telesante.collecte.snmp_parametres import ParametresSnmp
from telesante.configuration import Equipement

from .agent_hostile import AgentHostile
from .outils import auditer, collecter_snmp, constats, ecrire_inventaire

AMAZON = "fc:a1:83:00:00:01"  # « Amazon Technologies Inc. » in the IEEE registry netaddr ships
PORTABLE = "00:50:56:00:00:10"
NOM_HOSTILE = "\x1b]0;pirate\x07\x1b[2J\u202eGi1/0/2"


def _octets(mac: str) -> rfc1902.OctetString:
    return rfc1902.OctetString(bytes.fromhex(mac.replace(":", "")))


def _arcs(mac: str) -> str:
    return ".".join(str(int(x, 16)) for x in mac.split(":"))


def commutateur(mac_amazon: rfc1902.OctetString | None = None) -> list[tuple[str, object]]:
    """A small Q-BRIDGE switch: port 1 (Gi1/0/1) carries a laptop on VLAN 110, port 2 (hostile name) an Echo."""
    donnees = [
        ("1.3.6.1.2.1.2.2.1.2.1", rfc1902.OctetString(b"GigabitEthernet1/0/1")),
        ("1.3.6.1.2.1.2.2.1.2.2", rfc1902.OctetString(b"GigabitEthernet1/0/2")),
        ("1.3.6.1.2.1.2.2.1.2.110", rfc1902.OctetString(b"Vlan110")),
        ("1.3.6.1.2.1.31.1.1.1.1.1", rfc1902.OctetString(b"Gi1/0/1")),
        ("1.3.6.1.2.1.31.1.1.1.1.2", rfc1902.OctetString(NOM_HOSTILE.encode())),
        ("1.3.6.1.2.1.31.1.1.1.1.110", rfc1902.OctetString(b"Vl110")),
        ("1.3.6.1.2.1.17.1.4.1.2.1", rfc1902.Integer32(1)),
        ("1.3.6.1.2.1.17.1.4.1.2.2", rfc1902.Integer32(2)),
        ("1.3.6.1.2.1.17.7.1.4.2.1.3.0.110", rfc1902.Unsigned32(7)),
    ]
    for mac, port in ((PORTABLE, 1), (AMAZON, 2)):
        donnees += [(f"1.3.6.1.2.1.17.4.3.1.1.{_arcs(mac)}", _octets(mac)),
                    (f"1.3.6.1.2.1.17.4.3.1.2.{_arcs(mac)}", rfc1902.Integer32(port)),
                    (f"1.3.6.1.2.1.17.4.3.1.3.{_arcs(mac)}", rfc1902.Integer32(3)),
                    (f"1.3.6.1.2.1.17.7.1.2.2.1.2.7.{_arcs(mac)}", rfc1902.Integer32(port)),
                    (f"1.3.6.1.2.1.17.7.1.2.2.1.3.7.{_arcs(mac)}", rfc1902.Integer32(3))]
    donnees += [("1.3.6.1.2.1.4.22.1.2.110.10.20.110.50", mac_amazon or _octets(AMAZON)),
                ("1.3.6.1.2.1.4.22.1.4.110.10.20.110.50", rfc1902.Integer32(3))]
    return donnees


def _equipement(port: int, **reglages) -> Equipement:
    parametres = ParametresSnmp(version="2c", communaute="public", port=port, delai=reglages.pop("delai", 0.3),
                                tentatives=1, **reglages)
    return Equipement(nom="sw-snmp-01", plateforme="snmp", site="hopital_nord", adresse="127.0.0.1", snmp=parametres)


def test_agent_fidele_macs_vlan_du_q_bridge_ports_nommes_et_arp():
    with AgentHostile(commutateur()) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
    assert resultat.problemes == []
    vues = [(o.mac, o.vlan, o.port, o.ip or "") for o in resultat.observations]
    # FDB 7 is VLAN 110 (dot1qVlanFdbId); the ARP entry's VLAN comes from its interface « Vl110 ».
    assert vues == [(PORTABLE, 110, "Gi1/0/1", ""), (AMAZON, 110, NOM_HOSTILE, ""), (AMAZON, 110, "Vl110", "10.20.110.50")]


def test_toutes_les_tables_dans_une_seule_requete_getbulk():
    """One GETBULK reads every table of a small switch: a column per table (the CPU of the collection at scale)."""
    with AgentHostile(commutateur()) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
        requetes = agent.requetes
    assert resultat.problemes == [] and len(resultat.observations) == 3
    assert requetes == 1


def test_reponse_tronquee_par_l_agent_lue_jusqu_au_bout():
    """An agent that drops bindings from the end of its answers (a row and a half): every table read whole anyway."""
    with AgentHostile(commutateur()) as agent:
        attendu = collecter_snmp(_equipement(agent.port))
    with AgentHostile(commutateur(), mode="tronque") as agent:
        resultat = collecter_snmp(_equipement(agent.port))
        requetes = agent.requetes
    assert resultat.problemes == [] and resultat.observations == attendu.observations
    assert requetes > 1  # truncated: read again from where each table stopped


@pytest.mark.parametrize("mode, attendu", [
    ("muet", "table vtpVlanState (CISCO-VTP-MIB) : parcours interrompu (délai dépassé : aucune réponse de 127.0.0.1"),
    ("recule", "table vtpVlanState (CISCO-VTP-MIB) : parcours interrompu (OID 1.3.6.1.4.1.9.9.46.1.3.1.1.1 après "
               "1.3.6.1.4.1.9.9.46.1.3.1.1.2 (l'OID recule ou ne croît pas) : réponse incohérente)"),
    ("trop_grand", "table vtpVlanState (CISCO-VTP-MIB) : parcours interrompu (réponse trop grande (tooBig) même pour "
                   "une seule entrée)"),
])
def test_agent_muet_ou_faux_equipement_incomplet_nomme(mode, attendu):
    with AgentHostile(commutateur(), mode=mode) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
        requetes = agent.requetes
    assert resultat.observations == []
    assert len(resultat.problemes) == 1 and "équipement sw-snmp-01 : " in resultat.problemes[0]
    assert attendu in resultat.problemes[0]
    assert "jamais prise pour complète" in resultat.problemes[0]
    if mode == "trop_grand":
        assert requetes == 5  # max-repetitions 25, 12, 6, 3, 1: then given up


@pytest.mark.parametrize("mode", ["illisible", "autre_communaute"])
def test_reponse_illisible_ou_d_une_autre_communaute_ecartee_equipement_incomplet(caplog, mode):
    """A datagram that is no SNMP message, or a response with another community than its request's, is dropped
    as a silence (no traceback on the audit's terminal): the equipment is incomplete, never read from it."""
    with AgentHostile(commutateur(), mode=mode) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
        requetes = agent.requetes
    assert requetes == 1 and resultat.observations == []
    assert "délai dépassé : aucune réponse de 127.0.0.1" in resultat.problemes[0]
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_table_qui_ne_finit_pas_bornee():
    with AgentHostile(commutateur(), mode="sans_fin", racine_sans_fin="1.3.6.1.2.1.17.4.3") as agent:
        resultat = collecter_snmp(_equipement(agent.port, entrees_max=300))
    assert resultat.observations == []
    assert ("table dot1dTpFdbTable (BRIDGE-MIB) : parcours interrompu (table qui ne finit pas : plus de 300 valeurs "
            "(telesante_snmp_entrees_max))") in resultat.problemes[0]


def test_mauvaise_communaute_silence_donc_incomplet():
    with AgentHostile(commutateur(), communaute="autre") as agent:
        resultat = collecter_snmp(_equipement(agent.port))
    assert "délai dépassé" in resultat.problemes[0] and "public" not in resultat.problemes[0]


@pytest.mark.parametrize("valeur, attendu", [
    (rfc1902.OctetString(bytes.fromhex("fca1830000")), "MAC de longueur fausse (5 octets au lieu de 6, adresse physique "
                                                        "de 10.20.110.50)"),
    (rfc1902.OctetString(bytes.fromhex("fca183000001ff")), "MAC de longueur fausse (7 octets au lieu de 6"),
])
def test_mac_de_longueur_fausse_equipement_incomplet(valeur, attendu):
    with AgentHostile(commutateur(mac_amazon=valeur)) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
    assert resultat.observations == []
    assert "table ipNetToMediaTable (IP-MIB)" in resultat.problemes[0] and attendu in resultat.problemes[0]


def test_index_de_mac_trop_court_dans_q_bridge():
    donnees = commutateur() + [("1.3.6.1.2.1.17.7.1.2.2.1.2.7.1.2.3.4.5", rfc1902.Integer32(1))]
    with AgentHostile(donnees) as agent:
        resultat = collecter_snmp(_equipement(agent.port))
    assert "table dot1qTpFdbTable (Q-BRIDGE-MIB) : MAC de longueur fausse dans l'index 7.1.2.3.4.5" \
        in resultat.problemes[0]


@pytest.mark.parametrize("mode", ["normal", "muet"])
def test_capture_enregistree_relue_hors_ligne_donne_le_meme_resultat(tmp_path: Path, mode: str):
    with AgentHostile(commutateur(), mode=mode) as agent:
        direct = collecter_snmp(_equipement(agent.port), tmp_path / "captures")
    fichier = tmp_path / "captures" / "sw-snmp-01" / "snmp.json"
    document = json.loads(fichier.read_text(encoding="utf-8"))
    assert document["format"] == "capture-snmp-v1" and "public" not in fichier.read_text(encoding="utf-8")
    equipement = Equipement(nom="sw-snmp-01", plateforme="snmp", site="hopital_nord",
                            captures=tmp_path / "captures" / "sw-snmp-01")
    hors_ligne = collecter_captures(equipement, tmp_path)
    assert hors_ligne.observations == direct.observations
    assert hors_ligne.problemes == direct.problemes
    assert bool(direct.problemes) == (mode == "muet")


@pytest.mark.parametrize("alteration, attendu", [
    (lambda d: d["parcours"][4]["varbinds"].reverse(), "table dot1dTpFdbTable (BRIDGE-MIB) : OID"),
    (lambda d: d["parcours"].pop(), "table ipNetToPhysicalTable (IP-MIB) : absente de la capture"),
    (lambda d: d["parcours"][1].update(complet=False, erreur="coupé"), "table ifName (IF-MIB) : parcours interrompu"),
])
def test_capture_alteree_refusee(tmp_path: Path, alteration, attendu):
    with AgentHostile(commutateur()) as agent:
        collecter_snmp(_equipement(agent.port), tmp_path / "captures")
    fichier = tmp_path / "captures" / "sw-snmp-01" / "snmp.json"
    document = json.loads(fichier.read_text(encoding="utf-8"))
    alteration(document)
    fichier.write_text(json.dumps(document), encoding="utf-8")
    equipement = Equipement(nom="sw-snmp-01", plateforme="snmp", site="hopital_nord", captures=fichier.parent)
    resultat = collecter_captures(equipement, tmp_path)
    assert resultat.observations == [] and attendu in resultat.problemes[0], resultat.problemes


def test_audit_direct_puis_hors_ligne_meme_verdict_et_noms_hostiles_inertes(tmp_path: Path):
    with AgentHostile(commutateur()) as agent:
        inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-snmp-01": {
            "ansible_host": "127.0.0.1", "telesante_snmp_version": "2c", "telesante_snmp_communaute": "public",
            "telesante_snmp_port": agent.port, "telesante_snmp_delai": 1, "telesante_snmp_tentatives": 1}})
        direct, rapport_direct = auditer(inventaire, tmp_path / "direct", "--source", "direct",
                                         "--enregistrer-captures", str(tmp_path / "captures"))
    assert direct.returncode == 1, direct.stdout + direct.stderr
    assert [c[:4] for c in constats(rapport_direct) if c[1] == "critique"] == [(AMAZON, "critique", "mission-nord", "actif")]
    assert "\x1b" not in direct.stdout and "\\x1b]0;pirate\\x07\\x1b[2J\\u202eGi1/0/2" in direct.stdout
    # Offline, from what --enregistrer-captures wrote: the same verdict and the same findings.
    hors_ligne_inventaire = ecrire_inventaire(tmp_path / "inventaire", {"sw-snmp-01": {
        "ansible_host": "127.0.0.1", "telesante_snmp_version": "2c", "telesante_snmp_communaute": "public",
        "telesante_captures": str(tmp_path / "captures" / "sw-snmp-01")}})
    hors_ligne, rapport_hors_ligne = auditer(hors_ligne_inventaire, tmp_path / "hors_ligne")
    assert hors_ligne.returncode == 1, hors_ligne.stdout + hors_ligne.stderr
    assert constats(rapport_hors_ligne) == constats(rapport_direct)


def _capture_valide(tmp_path: Path) -> dict:
    with AgentHostile(commutateur()) as agent:
        collecter_snmp(_equipement(agent.port), tmp_path / "captures")
    return json.loads((tmp_path / "captures" / "sw-snmp-01" / "snmp.json").read_text(encoding="utf-8"))


def test_valeurs_quelconques_dans_une_capture_observations_ou_erreur_propre(tmp_path: Path):
    """Any index or value under any table (a hostile agent chooses them): observations or SortieIllisible."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from telesante.collecte.erreurs import SortieIllisible
    from telesante.collecte.snmp_analyse import observations_snmp
    from telesante.collecte.snmp_capture import oid_tuple

    base = _capture_valide(tmp_path)
    # An entry (1), a column, then an index of small arcs mostly (lengths, octets), sometimes past 255 or 2**31.
    arc = st.one_of(st.integers(0, 6), st.integers(0, 300), st.integers(0, 2**32))
    arcs = st.tuples(st.integers(0, 8), st.lists(arc, max_size=20)).map(lambda t: [1, t[0], *t[1]])
    valeurs = st.one_of(st.tuples(st.just("2"), st.integers(-2**31, 2**32).map(str)),
                        st.tuples(st.just("4x"), st.binary(max_size=20).map(bytes.hex)),
                        st.tuples(st.just("6"), st.lists(st.integers(0, 99), min_size=2, max_size=5).map(
                            lambda a: ".".join(map(str, a)))))

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.integers(0, len(base["parcours"]) - 1), st.lists(st.tuples(arcs, valeurs), max_size=6))
    def essai(index, ajouts):
        document = json.loads(json.dumps(base))
        parcours = document["parcours"][index]
        lignes = {oid_tuple(l.split("|")[0]): l for l in parcours["varbinds"]}
        for suite, (tag, valeur) in ajouts:
            oid = oid_tuple(parcours["racine"]) + tuple(suite)
            lignes[oid] = f"{'.'.join(map(str, oid))}|{tag}|{valeur}"
        parcours["varbinds"] = [lignes[o] for o in sorted(lignes)]
        try:
            observations_snmp(json.dumps(document), "sw", "src")
        except SortieIllisible as erreur:
            assert erreur.message

    essai()
