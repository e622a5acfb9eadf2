"""Adding a platform is one entry of the registry: nothing else to touch.

A fictitious platform, registered here in one entry (and in no other file), is accepted by the
inventory, read from its captures and audited end to end by the `telesante` command; a platform
read live by a function of its own (as an SNMP driver) goes through the live collection with
retries and recording, and its recorded captures replay offline to the same observations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from telesante.cli import main
from telesante.collecte import en_direct, plateformes
from telesante.collecte.captures import collecter_captures
from telesante.collecte.contrat import EchecPassager, Lecture, ParametresCollecte, Plateforme
from telesante.collecte.erreurs import SortieIllisible
from telesante.configuration import Equipement
from telesante.observation import Observation

ECHO = "84:28:59:3a:7c:21"  # Amazon Technologies: an Echo, critical on a mission network
TABLE = f"FICTIF-OS table des adresses\n{ECHO} 110 port7\n60:fd:a6:10:20:30 110 port8\nfin : 2 entrees\n"


def observations_fictives(texte: str, equipement: str, source: str) -> list[Observation]:
    """The contract's parser signature: (text, equipment, source) -> observations, or SortieIllisible."""
    lignes = texte.splitlines()
    if not lignes or lignes[0] != "FICTIF-OS table des adresses":
        raise SortieIllisible("en-tête FICTIF-OS absent", 1)
    if lignes[-1] != f"fin : {len(lignes) - 2} entrees":
        raise SortieIllisible("sortie tronquée ? (pied de tableau absent)", len(lignes))
    observations = []
    for mac, vlan, port in (ligne.split() for ligne in lignes[1:-1]):
        observations.append(Observation(mac=mac, source=source, equipement=equipement, vlan=int(vlan), port=port))
    return observations


# The one entry: its reads (command, capture file, parser) and its netmiko device_type.
FICTIVE = Plateforme("fictif_os", netmiko="cisco_ios", lectures=(
    Lecture("show table fictive", observations_fictives),
))


@pytest.fixture
def enregistree(monkeypatch):
    monkeypatch.setitem(plateformes.PLATEFORMES, FICTIVE.nom, FICTIVE)


def _inventaire(tmp_path: Path, plateforme: str, capture: str | None) -> Path:
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "group_vars/all/reseaux.yml").write_text(
        "telesante_reseaux:\n  - {nom: mission-nord, site: nord, type: mission, vlans: [110]}\n")
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    sw-fictif:\n      ansible_host: 192.0.2.9\n"
        f"      telesante_plateforme: {plateforme}\n      telesante_site: nord\n")
    if capture is not None:
        (tmp_path / "captures/sw-fictif").mkdir(parents=True)
        (tmp_path / "captures/sw-fictif/show_table_fictive.txt").write_text(capture)
    return tmp_path / "hosts.yml"


def test_plateforme_fictive_auditee_de_bout_en_bout(enregistree, tmp_path, capsys):
    hosts = _inventaire(tmp_path, "fictif_os", TABLE)
    code = main(["audit", "-i", str(hosts), "-f", "json", "-o", str(tmp_path / "rapports")])
    rapport = json.loads((tmp_path / "rapports/rapport.json").read_text())
    assert code == 1, capsys.readouterr()
    assert rapport["equipements"][0]["problemes"] == []
    assert rapport["equipements"][0]["lectures"] == ["show table fictive"]
    [constat] = [c for c in rapport["constats"] if c["statut"] == "actif" and c["gravite"] == "critique"]
    assert constat["mac"] == ECHO and constat["emplacements"] == [{"equipement": "sw-fictif", "port": "port7",
                                                                  "vlan": 110}]


def test_plateforme_fictive_coupee_rend_l_audit_incomplet(enregistree, tmp_path):
    hosts = _inventaire(tmp_path, "fictif_os", TABLE.rsplit("fin", 1)[0])
    assert main(["audit", "-i", str(hosts), "-f", "json", "-o", str(tmp_path / "rapports")]) == 2
    rapport = json.loads((tmp_path / "rapports/rapport.json").read_text())
    assert "pied de tableau absent" in rapport["equipements"][0]["problemes"][0]


def test_sans_son_entree_la_plateforme_est_inconnue(tmp_path, capsys):
    hosts = _inventaire(tmp_path, "fictif_os", TABLE)
    assert main(["audit", "-i", str(hosts), "-o", str(tmp_path / "rapports")]) == 3
    assert "plateforme « fictif_os » inconnue" in capsys.readouterr().err


def _lecteur_snmp(appels: list, echecs: int):
    """A live reader of its own (as an SNMP driver): the text of each read, by command."""
    def lire(equipement: Equipement, parametres: ParametresCollecte) -> dict[str, str]:
        appels.append(equipement.nom)
        if len(appels) <= echecs:
            raise EchecPassager(f"délai SNMP dépassé avec {equipement.adresse}")
        return {"show table fictive": TABLE}
    return lire


def test_plateforme_a_lecteur_propre_collectee_en_direct_puis_rejouee(monkeypatch, tmp_path):
    appels: list[str] = []
    monkeypatch.setitem(plateformes.PLATEFORMES, "fictif_snmp", Plateforme(
        "fictif_snmp", lectures=FICTIVE.lectures, lecteur=_lecteur_snmp(appels, echecs=1)))
    equipement = Equipement("sw-fictif", "fictif_snmp", "nord", adresse="192.0.2.9")
    parametres = ParametresCollecte(tmp_path / "absent", attente_initiale=0, dossier_captures=tmp_path / "cap")
    live = en_direct.collecter_en_direct(equipement, parametres)
    assert live.problemes == [] and appels == ["sw-fictif", "sw-fictif"]  # one transient failure, retried
    assert [o.mac for o in live.observations] == [ECHO, "60:fd:a6:10:20:30"]
    assert (tmp_path / "cap/sw-fictif/date_collecte.txt").is_file()
    replayed = collecter_captures(Equipement("sw-fictif", "fictif_snmp", "nord", captures=tmp_path / "cap/sw-fictif"))
    assert replayed.problemes == [] and replayed.observations == live.observations


def test_lecteur_propre_en_echec_nomme_et_jamais_pris_pour_conforme(monkeypatch, tmp_path):
    appels: list[str] = []
    monkeypatch.setitem(plateformes.PLATEFORMES, "fictif_snmp", Plateforme(
        "fictif_snmp", lectures=FICTIVE.lectures, lecteur=_lecteur_snmp(appels, echecs=5)))
    equipement = Equipement("sw-fictif", "fictif_snmp", "nord", adresse="192.0.2.9")
    resultat = en_direct.collecter_en_direct(equipement, ParametresCollecte(tmp_path, tentatives=2,
                                                                            attente_initiale=0))
    assert resultat.problemes == ["délai SNMP dépassé avec 192.0.2.9 (après 2 tentatives)"]


def test_bogue_d_un_lecteur_propre_jamais_pris_pour_une_panne_reseau(monkeypatch, tmp_path):
    def bogue(equipement, parametres):
        raise KeyError("oid")

    monkeypatch.setitem(plateformes.PLATEFORMES, "fictif_snmp", Plateforme(
        "fictif_snmp", lectures=FICTIVE.lectures, lecteur=bogue))
    with pytest.raises(KeyError):  # the parallel collection reports it as « erreur interne de collecte »
        en_direct.collecter_en_direct(Equipement("sw-fictif", "fictif_snmp", "nord", adresse="192.0.2.9"),
                                      ParametresCollecte(tmp_path, attente_initiale=0))
