"""The trend charts and the French dates of the HTML report, without a browser: what the history may
give (nothing, a first run, bad values, gaps, too many nights) and the establishment's time zone."""

from __future__ import annotations

import copy
import re
import subprocess
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telesante.inerte import inerte
from telesante.rapports.html import en_html
from telesante.rapports.dates import Dates
from telesante.rapports.tendance import preparer
from tests.navigateur.conftest import RESEAU_HOSTILE, TELESANTE, document_de_la_nuit, tendance
from tests.unitaires.test_rapports_inertes import INTERDITS

SVG = {"svg", "title", "defs", "pattern", "path", "g", "line", "polyline", "rect", "circle", "text"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.texte: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texte.append(data)


def _lire(html: str) -> _Elements:
    lu = _Elements()
    lu.feed(html)
    return lu


def _texte(document: dict, **options) -> str:
    return " ".join(" ".join(_lire(en_html(document, **options).decode("utf-8")).texte).split())


def test_graphiques_valeurs_et_noms_inertes():
    resultat = preparer(tendance(), ["mission-sud", "mission-nord"], Dates())
    assert [n for n, _svg in resultat.graphiques] == ["mission-sud", "mission-nord", RESEAU_HOSTILE, ""]
    assert len(resultat.nuits) == 30 and resultat.ignorees == 0
    for _nom, svg in resultat.graphiques:
        elements = _lire(str(svg)).elements
        assert {tag for tag, _a in elements} <= SVG
        assert not [a for _t, attrs in elements for a in attrs if a.startswith("on") or "href" in a]
        assert "http" not in str(svg) and "<script" not in str(svg)
    hostile = _lire(str(resultat.graphiques[2][1]))
    assert hostile.elements[0][1]["data-reseau"] == RESEAU_HOSTILE  # exact, as text in an attribute
    assert "Constats actifs par nuit, réseau " + RESEAU_HOSTILE in hostile.texte


@pytest.mark.parametrize("mauvaise", [
    {"date": "2026-11-30", "reseaux": {"mission-nord": {"critiques": True, "a_verifier": 0}}, "equipements_non_lus": 0},
    {"date": "2026-11-30", "reseaux": {"mission-nord": {"critiques": -1, "a_verifier": 0}}, "equipements_non_lus": 0},
    {"date": "2026-11-30", "reseaux": {"mission-nord": {"critiques": "3", "a_verifier": 0}}, "equipements_non_lus": 0},
    {"date": "2026-11-30", "reseaux": {"mission-nord": {"critiques": 1}}, "equipements_non_lus": 0},
    {"date": "2026-11-30", "reseaux": [], "equipements_non_lus": 0},
    {"date": "2026-11-30", "reseaux": {}, "equipements_non_lus": 1.5},
    {"date": "2026-11-30T02:00:00+00:00", "reseaux": {}, "equipements_non_lus": 0},
    {"date": "2026-02-30", "reseaux": {}, "equipements_non_lus": 0},
    {"date": None, "reseaux": {}, "equipements_non_lus": 0},
    "2026-11-30", None,
])
def test_nuit_illisible_comptee_jamais_tracee(mauvaise):
    """A night that is not what the schema says is left out and counted (the page says how many):
    never drawn as zero, never a crash of the report."""
    resultat = preparer(tendance(5) + [mauvaise], ["mission-nord"], Dates())
    assert resultat.ignorees == 1
    assert [n.date.isoformat() for n in resultat.nuits][-1] == "2026-11-21"
    assert "2026-11-30" not in "".join(str(svg) for _n, svg in resultat.graphiques)


def test_nuit_en_double_et_desordre():
    nuits = tendance(6, trou=None)
    resultat = preparer(list(reversed(nuits)) + [nuits[2]], ["mission-nord"], Dates())
    assert [n.date.isoformat() for n in resultat.nuits] == [n["date"] for n in nuits]
    assert resultat.ignorees == 1


def test_trou_et_reseau_non_audite():
    """A missing night splits the line; a night where a network was not audited has no point there."""
    nuits = tendance(10, trou=None)
    del nuits[4]
    del nuits[6]["reseaux"]["mission-nord"]
    svg = str(dict(preparer(nuits, ["mission-nord"], Dates()).graphiques)["mission-nord"])
    critiques = svg[svg.index('data-serie="critiques"'):svg.index('data-serie="a_verifier"')]
    assert critiques.count("<polyline") == 3
    assert critiques.count("data-valeur=") == 8


def test_une_seule_nuit():
    resultat = preparer(tendance(1, trou=None), ["mission-nord"], Dates())
    assert len(resultat.nuits) == 1 and "data-valeur" in str(resultat.graphiques[0][1])


def test_sans_historique_le_rapport_le_dit(json_reel):
    """Audit without history (keys absent), first run (no previous one), a night with no change."""
    texte = _texte(json_reel)
    assert "Pas d'historique pour cet audit : les changements depuis la nuit précédente ne sont pas calculés." in texte
    assert "Pas d'historique pour cet audit : aucune tendance à tracer." in texte
    premier = copy.deepcopy(json_reel)
    premier["changements"] = {"precedent": None, "constats": [], "equipements": [], "derogations_expirant": []}
    premier["tendance"] = []
    texte = _texte(premier)
    assert "Premier passage de l'historique : rien à comparer." in texte
    assert "Pas d'historique pour cet audit : aucune tendance à tracer." in texte
    calme = document_de_la_nuit(json_reel)
    calme["changements"].update(constats=[{**c, "etat": "persistant", "premiere_vue": "2026-11-01", "nuits": 21}
                                          for c in json_reel["constats"] if c["statut"] == "actif"],
                                equipements=[], derogations_expirant=[])
    texte = _texte(calme)
    assert "Aucun changement depuis le passage précédent." in texte
    assert "0 nouveau constat 0 disparu 5 persistants" in texte
    # A key the history did not give is not taken for « nothing changed ».
    partiel = copy.deepcopy(calme)
    del partiel["changements"]["derogations_expirant"]
    assert "Aucun changement" not in _texte(partiel)


def test_trend_illisible_dit_combien(json_reel):
    document = document_de_la_nuit(json_reel)
    document["tendance"] = tendance(5) + [{"date": "hier"}, 42]
    assert "2 nuits illisibles ignorées dans l'historique." in _texte(document)
    document["tendance"] = "pas une liste"
    assert "Pas d'historique pour cet audit : aucune tendance à tracer." in _texte(document)


@pytest.mark.parametrize(("fuseau", "debut", "attendu"), [
    (None, "2026-11-21T07:02:11.123456+00:00", "du samedi 21 novembre 2026 à 2 h 02 HNE"),
    (None, "2026-07-01T06:02:11+00:00", "du mercredi 1er juillet 2026 à 2 h 02 HAE"),  # summer time
    ("America/Vancouver", "2026-11-21T07:02:11+00:00", "du vendredi 20 novembre 2026 à 23 h 02 HNP"),
    ("America/Halifax", "2026-11-21T07:02:11+00:00", "du samedi 21 novembre 2026 à 3 h 02 HNA"),
])
def test_dates_en_francais_dans_le_fuseau(json_reel, fuseau, debut, attendu):
    document = copy.deepcopy(json_reel)
    document["debut"] = document["fin"] = debut
    texte = _texte(document, fuseau=fuseau)
    assert attendu in texte
    assert not re.search(r"\d{4}-\d\d-\d\dT|\.\d{6}", texte)


def test_date_illisible_montree_telle_quelle():
    dates = Dates()
    assert dates.moment("pas une date") == "pas une date"
    assert dates.jour("2026-11-01") == "dimanche 1er novembre 2026"
    assert dates.heure("2026-11-01") == ""


def test_fuseau_de_l_inventaire_dans_le_rapport_de_la_commande(exemple, tmp_path):
    """telesante_fuseau_horaire (group_vars/all) sets the zone of the report that `telesante audit` writes."""
    (exemple.parent / "group_vars/all/fuseau.yml").write_text("telesante_fuseau_horaire: America/Vancouver\n")
    resultat = subprocess.run([TELESANTE, "audit", "-i", exemple, "-f", "html", "-o", tmp_path / "r",
                               "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert resultat.returncode == 2, resultat.stderr
    html = (tmp_path / "r" / "rapport.html").read_text(encoding="utf-8")
    assert re.search(r"Passage hors ligne \(captures\) du \w+ \d+(er)? \w+ \d{4} à \d+ h \d\d H[NA]P", html)  # winter or summer time
    assert "heures du fuseau America/Vancouver" in html


@settings(max_examples=100, deadline=None)
@given(nom=st.text(st.characters(exclude_categories=()), max_size=40))
def test_nom_de_reseau_quelconque_inerte(nom):
    """Whatever a network of the history is called: text in the chart, shown as its escapes, never markup."""
    nuits = [{"date": "2026-11-21", "reseaux": {nom: {"critiques": 1, "a_verifier": 2}}, "equipements_non_lus": 0}]
    svg = str(preparer(nuits, [], Dates()).graphiques[0][1])
    lu = _lire(svg)
    assert {tag for tag, _a in lu.elements} <= SVG
    assert lu.elements[0][1]["data-reseau"] == inerte(nom)
    assert not INTERDITS.search(svg)


def test_changements_incomplets_montres_jamais_fatals(json_reel):
    """An entry of the history without some field: shown with « ? », the report is still written."""
    document = copy.deepcopy(json_reel)
    document["changements"] = {"precedent": {"date": "hier"}, "constats": [{"etat": "nouveau"}, "pas un constat",
                                                                               {"etat": "persistant", "nuits": None}],
                               "equipements": [{"etat": "devenu_illisible"}], "derogations_expirant": [{}]}
    texte = _texte(document)
    assert "Depuis le passage précédent, du hier :" in texte
    assert "1 nouveau constat" in texte and "1 constat persistant, le plus ancien depuis 0 nuit" in texte
    assert "? : lisible au passage précédent, illisible cette nuit" in texte


def test_sans_historique_les_derogations_qui_expirent_sont_dites(json_reel):
    """An audit without --historique (the night's changes as telesante.nuit writes them): no changes, no
    trend, but the waivers that expire within 7 days are still listed (they need no history)."""
    document = {**json_reel,
                "changements": {"precedent": None, "historique": False,
                                "note": "audit sans --historique : changements depuis le passage précédent non calculés",
                                "constats": [], "constats_isolement": [], "equipements": [],
                                "derogations_expirant": [{"mac": "aa:bb:cc:00:11:22", "reseau": "mission-nord",
                                                          "expire": "2026-11-24", "jours": 3}]},
                "tendance": [{"date": "2026-11-21", "reseaux": {"mission-nord": {"critiques": 1, "a_verifier": 0}},
                              "equipements_non_lus": 0}]}
    texte = _texte(document)
    assert "Pas d'historique pour cet audit : les changements depuis la nuit précédente ne sont pas calculés." in texte
    assert "Pas d'historique pour cet audit : aucune tendance à tracer." in texte
    assert "aa:bb:cc:00:11:22 (mission-nord) : expire le" in texte and "dans 3 jours" in texte
    assert "Premier passage" not in texte and "Aucun changement" not in texte
