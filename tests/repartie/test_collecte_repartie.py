"""Distributed collection: `telesante collecter` slices, then the final node's offline audit.

Slices are cut as AWX cuts them (awx/main/models/inventory.py, `get_sliced_hosts`: the
inventory's hosts ordered by name, slice k holds hosts[k-1::n]; AWX documentation « Job
Slicing »: each slice runs ansible-playbook on « a pared-down version of the original
inventory that only contains the hosts in that particular slice »), here given to
`telesante collecter --limite`. The demo inventory's captures are the source (offline,
no root): what matters here is the bookkeeping between slices and the final node.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from telesante.cli import main

HOTES_EXEMPLE = sorted(["sw-nord-01", "dhcp-nord", "sonde-nord", "mac-urg-01", "sw-sud-01", "sw-sud-02", "dhcp-sud",
                        "mac-sud-01", "sonde-patients-nord"])
EQUIPEMENTS = ["sw-nord-01", "dhcp-nord", "sonde-nord", "sw-sud-01", "sw-sud-02", "dhcp-sud", "sonde-patients-nord"]


def tranches_awx(hotes: list[str], n: int) -> list[list[str]]:
    """AWX's cut: hosts ordered by name, slice k (1..n) = hosts[k-1::n]."""
    ordre = sorted(hotes)
    return [ordre[k::n] for k in range(n)]


def collecter(inventaire: Path, dossier: Path, *options: str, passage: str = "nuit-1") -> int:
    return main(["collecter", "-i", str(inventaire), "--dossier", str(dossier), "--passage", passage,
                 "--source", "captures", *options])


def auditer(inventaire: Path, sortie: Path, *options: str) -> tuple[int, dict]:
    code = main(["audit", "-i", str(inventaire), "-f", "json", "-o", str(sortie), *options])
    return code, json.loads((sortie / "rapport.json").read_text(encoding="utf-8"))


def final(inventaire: Path, dossier: Path, sortie: Path, *options: str, passage: str = "nuit-1") -> tuple[int, dict]:
    return auditer(inventaire, sortie, "--collecte-repartie", str(dossier), "--passage", passage, *options)


def quatre_tranches(inventaire: Path, dossier: Path, passage: str = "nuit-1", sauf: int | None = None) -> None:
    for k, hotes in enumerate(tranches_awx(HOTES_EXEMPLE, 4), start=1):
        if k != sauf:
            assert collecter(inventaire, dossier, "--limite", ",".join(hotes), "--tranches", "4",
                             passage=passage) in (0, 2)


def resume(rapport: dict) -> dict:
    """What a distributed run must reproduce exactly: verdict, findings, networks, who is incomplete."""
    return {"verdict": rapport["verdict"], "constats": rapport["constats"], "reseaux": rapport["reseaux"],
            "isolement": rapport["isolement"], "non_declares": rapport["non_declares"],
            "equipements": [(e["nom"], e["statut"]) for e in rapport["equipements"]]}


def problemes(rapport: dict, nom: str) -> list[str]:
    return next(e["problemes"] for e in rapport["equipements"] if e["nom"] == nom)


@pytest.fixture
def inventaire_conforme(exemple) -> Path:
    """The demo made whole: sw-sud-02's cut table repaired, so a slice loss is the only thing that can go wrong."""
    capture = exemple.parent / "captures" / "sw-sud-02" / "show_mac-address.txt"
    lignes = capture.read_text(encoding="utf-8").splitlines()
    assert lignes[-1].strip() == "842859-0a0b0c     Tr"  # the demo's cut line
    capture.write_text("\n".join(lignes[:-1]) + "\n", encoding="utf-8")
    return exemple


def test_quatre_tranches_donnent_exactement_l_audit_d_un_seul_tenant(exemple, tmp_path, capsys):
    code_direct, direct = auditer(exemple, tmp_path / "direct", "--date", "2026-11-21")
    assert collecter(exemple, tmp_path / "entier") == 2  # sw-sud-02's capture is cut in the demo
    code_entier, entier = final(exemple, tmp_path / "entier", tmp_path / "r-entier", "--date", "2026-11-21")
    quatre_tranches(exemple, tmp_path / "partage")
    assert sorted(p.name for p in (tmp_path / "partage" / "manifestes").iterdir()) == [
        f"tranche-{k}-sur-4.json" for k in range(1, 5)]
    code_reparti, reparti = final(exemple, tmp_path / "partage", tmp_path / "r-reparti", "--date", "2026-11-21")
    assert code_direct == code_entier == code_reparti
    assert resume(reparti) == resume(entier) == resume(direct)
    assert len(direct["constats"]) >= 5  # the demo's findings, not an empty comparison
    # A whole collection read by a final node that expects 4 slices: every equipment covered, no slice missing.
    capsys.readouterr()
    code, rapport = final(exemple, tmp_path / "entier", tmp_path / "r-entier-4", "--date", "2026-11-21",
                          "--tranches", "4")
    assert code == code_direct and resume(rapport) == resume(direct)
    assert "MANQUANTE" not in capsys.readouterr().err


def test_tranche_manquante_nommee_et_audit_incomplet(inventaire_conforme, tmp_path, capsys):
    quatre_tranches(inventaire_conforme, tmp_path / "complet")
    code, _ = final(inventaire_conforme, tmp_path / "complet", tmp_path / "r1", "--date", "2026-11-21")
    assert code == 1  # whole: the demo's findings (non-compliant), the baseline of the next run
    quatre_tranches(inventaire_conforme, tmp_path / "partage", sauf=3)
    capsys.readouterr()
    code, rapport = final(inventaire_conforme, tmp_path / "partage", tmp_path / "r2", "--date", "2026-11-21")
    sortie = capsys.readouterr().err
    assert code == 2 and rapport["verdict"]["statut"] == "incomplet"
    perdus = [n for n in tranches_awx(HOTES_EXEMPLE, 4)[2] if n in EQUIPEMENTS]
    assert perdus == ["sw-nord-01"]
    assert "tranche 3 sur 4 MANQUANTE" in sortie and "sw-nord-01 non collecté" in " ".join(sortie.split())
    assert any("tranche 3 sur 4 manquante" in p for p in problemes(rapport, "sw-nord-01"))
    # Even when no slice at all wrote anything, --tranches names them.
    (tmp_path / "vide").mkdir()
    code, rapport = final(inventaire_conforme, tmp_path / "vide", tmp_path / "r3", "--tranches", "4")
    assert code == 2
    assert all(e["statut"] == "incomplet" for e in rapport["equipements"])
    assert any("tranche 1 sur 4 manquante" in p for p in problemes(rapport, "dhcp-nord"))


def test_tranche_a_moitie_ecrite(inventaire_conforme, tmp_path):
    quatre_tranches(inventaire_conforme, tmp_path / "partage")
    manifestes = tmp_path / "partage" / "manifestes"
    # Slice 1 stopped mid-way: its manifest still says « en_cours » (written first, rewritten last).
    un = json.loads((manifestes / "tranche-1-sur-4.json").read_text())
    un["etat"], un["fin"] = "en_cours", None
    un["equipements"] = {nom: {"statut": "a_collecter", "problemes": [], "fichiers": {}} for nom in un["equipements"]}
    (manifestes / "tranche-1-sur-4.json").write_text(json.dumps(un))
    # Slice 2's manifest cut in the middle of its writing (copied by hand, disk full...).
    deux = (manifestes / "tranche-2-sur-4.json").read_text()
    (manifestes / "tranche-2-sur-4.json").write_text(deux[: len(deux) // 2])
    # Slice 4's capture cut after the manifest was written.
    capture = tmp_path / "partage" / "captures" / "sw-sud-01" / "show_mac_address-table.txt"
    capture.write_text(capture.read_text()[:200])
    code, rapport = final(inventaire_conforme, tmp_path / "partage", tmp_path / "r", "--date", "2026-11-21")
    assert code == 2
    assert any("tranche 1 sur 4 inachevée" in p for p in problemes(rapport, "dhcp-nord"))
    assert any("tranche 2 sur 4 manquante" in p and "tranche-2-sur-4.json illisible" in p
               for p in problemes(rapport, "dhcp-sud"))
    assert any("show_mac_address-table.txt : capture différente de celle qu'a écrite la tranche" in p
               for p in problemes(rapport, "sw-sud-01"))
    assert [e["nom"] for e in rapport["equipements"] if e["statut"] == "complet"] == ["sw-nord-01"]


def test_capture_et_manifeste_d_un_autre_jour(inventaire_conforme, tmp_path, capsys):
    partage = tmp_path / "partage"
    quatre_tranches(inventaire_conforme, partage, passage="nuit-1")
    # The next night, slice 3 never ran: yesterday's manifest and captures are still there.
    for k, hotes in enumerate(tranches_awx(HOTES_EXEMPLE, 4), start=1):
        if k != 3:
            collecter(inventaire_conforme, partage, "--limite", ",".join(hotes), "--tranches", "4", passage="nuit-2")
    capsys.readouterr()
    code, rapport = final(inventaire_conforme, partage, tmp_path / "r", "--date", "2026-11-21", passage="nuit-2")
    assert code == 2
    assert "manifeste du passage « nuit-1 », pas de « nuit-2 » : ignoré" in " ".join(capsys.readouterr().err.split())
    assert any("tranche 3 sur 4 manquante" in p for p in problemes(rapport, "sw-nord-01"))
    # A capture of another day put back in place of today's (same name, older content).
    ancienne = inventaire_conforme.parent / "captures" / "dhcp-nord" / "dnsmasq.leases"
    aujourd_hui = partage / "captures" / "dhcp-nord" / "dnsmasq.leases"
    aujourd_hui.write_text(ancienne.read_text() + "1795305600 84:28:59:3a:40:02 10.20.110.99 amazon-x *\n")
    code, rapport = final(inventaire_conforme, partage, tmp_path / "r2", "--date", "2026-11-21", passage="nuit-2")
    assert code == 2
    assert any("capture différente de celle qu'a écrite la tranche" in p for p in problemes(rapport, "dhcp-nord"))


def test_equipement_dans_deux_tranches(inventaire_conforme, tmp_path):
    partage = tmp_path / "partage"
    quatre_tranches(inventaire_conforme, partage)
    assert collecter(inventaire_conforme, partage, "--limite", "sw-nord-01,dhcp-nord") == 0  # a second, overlapping
    code, rapport = final(inventaire_conforme, partage, tmp_path / "r", "--date", "2026-11-21")
    assert code == 2
    assert any("collecté par plusieurs tranches" in p for p in problemes(rapport, "sw-nord-01"))
    assert any("collecté par plusieurs tranches" in p for p in problemes(rapport, "dhcp-nord"))


def test_limite_a_la_semantique_d_ansible(exemple, tmp_path, capsys):
    partage = tmp_path / "partage"
    assert collecter(exemple, partage, "--limite", "site_*:!sw-sud-*:!sonde-*") == 0
    manifeste = json.loads(next((partage / "manifestes").iterdir()).read_text())
    assert sorted(manifeste["equipements"]) == ["dhcp-nord", "dhcp-sud", "sw-nord-01"]
    fichier = tmp_path / "limite.txt"
    fichier.write_text("sw-sud-01\ndhcp-sud\n")
    assert collecter(exemple, tmp_path / "p2", "--limite", f"@{fichier}") == 0
    manifeste = json.loads(next((tmp_path / "p2" / "manifestes").iterdir()).read_text())
    assert sorted(manifeste["equipements"]) == ["dhcp-sud", "sw-sud-01"]
    capsys.readouterr()
    assert collecter(exemple, tmp_path / "p3", "--limite", "aucun-hote-*") == 3
    assert "ne désigne aucun hôte" in capsys.readouterr().err
    assert collecter(exemple, tmp_path / "p4", "--limite", f"@{tmp_path / 'absent.txt'}") == 3
    assert not (tmp_path / "p4" / "manifestes").exists()
    # A limit that is not one of AWX's slices is collected, but said so.
    assert collecter(exemple, tmp_path / "p5", "--limite", "sw-nord-01", "--tranches", "4") == 0
    assert "ne désigne pas une des 4 tranches" in capsys.readouterr().err
    assert next((tmp_path / "p5" / "manifestes").iterdir()).name.startswith("limite-")


def test_noeud_final_sans_passage_refuse(exemple, tmp_path, capsys):
    code = main(["audit", "-i", str(exemple), "--collecte-repartie", str(tmp_path), "-o", str(tmp_path / "r")])
    assert code == 3
    assert "exige --passage" in capsys.readouterr().err
    assert collecter(exemple, tmp_path / "p", passage="\x1b[2J") == 3
    assert main(["audit", "-i", str(exemple), "--collecte-repartie", str(tmp_path), "--passage", "p", "--source",
                 "direct", "-o", str(tmp_path / "r")]) == 3
    assert main(["audit", "-i", str(exemple), "--passage", "p", "-o", str(tmp_path / "r")]) == 3
    assert "vont avec --collecte-repartie" in capsys.readouterr().err


def test_manifestes_hostiles(inventaire_conforme, tmp_path):
    partage = tmp_path / "partage"
    quatre_tranches(inventaire_conforme, partage)
    manifestes = partage / "manifestes"
    # A link to a manifest elsewhere, a binary file, a manifest renamed: none is taken.
    ailleurs = tmp_path / "ailleurs.json"
    (manifestes / "tranche-1-sur-4.json").rename(ailleurs)
    (manifestes / "tranche-1-sur-4.json").symlink_to(ailleurs)
    (manifestes / "tranche-2-sur-4.json").write_bytes(b"\x00\xff" * 10)
    (manifestes / "tranche-4-sur-4.json").rename(manifestes / "tranche-3-sur-4-bis.json")
    code, rapport = final(inventaire_conforme, partage, tmp_path / "r", "--date", "2026-11-21")
    assert code == 2
    assert [e["nom"] for e in rapport["equipements"] if e["statut"] == "complet"] == ["sw-nord-01"]


@pytest.mark.parametrize("modification", ["version", "fichier", "date", "equipement"])
def test_manifeste_hors_format(inventaire_conforme, tmp_path, modification):
    partage = tmp_path / "partage"
    quatre_tranches(inventaire_conforme, partage)
    chemin = partage / "manifestes" / "tranche-3-sur-4.json"
    document = json.loads(chemin.read_text())
    if modification == "version":
        document["version"] = 2
    elif modification == "fichier":
        document["equipements"]["sw-nord-01"]["fichiers"]["show_ip_arp.txt"] = "pas une somme"
    elif modification == "date":
        document["fin"] = "\x1b[2Jhier"
    else:
        document["equipements"]["sw-nord-01"]["statut"] = "perdu"
    chemin.write_text(json.dumps(document))
    code, rapport = final(inventaire_conforme, partage, tmp_path / "r", "--date", "2026-11-21")
    assert code == 2
    assert any("tranche-3-sur-4.json illisible" in p for p in problemes(rapport, "sw-nord-01"))


def test_inventaire_exemple_inchange_par_la_collecte(exemple, tmp_path):
    """Collecting from captures copies them: the inventory's own folder is never written."""
    avant = {p: p.read_bytes() for p in exemple.parent.rglob("*") if p.is_file()}
    collecter(exemple, tmp_path / "partage")
    assert {p: p.read_bytes() for p in exemple.parent.rglob("*") if p.is_file()} == avant
    assert yaml.safe_load(exemple.read_text())


def test_nom_d_hote_qui_sortirait_du_dossier_partage(exemple, tmp_path, capsys):
    """A host named « ../x » would have its captures written (and old ones removed) outside the shared folder."""
    hotes = exemple.read_text(encoding="utf-8").replace("        sw-sud-01:\n          ansible_host",
                                                        "        ../sw-sud-01:\n          ansible_host")
    exemple.write_text(hotes.replace("        sw-sud-01:\n        sw-sud-02:", "        ../sw-sud-01:\n        sw-sud-02:"),
                       encoding="utf-8")
    temoin = tmp_path / "partage" / "sw-sud-01" / "show_ip_arp.txt"  # partage/captures/../sw-sud-01
    temoin.parent.mkdir(parents=True)
    temoin.write_text("à garder")
    capsys.readouterr()
    assert collecter(exemple, tmp_path / "partage") == 3
    assert "« ../sw-sud-01 »" in capsys.readouterr().err
    assert temoin.read_text() == "à garder"
