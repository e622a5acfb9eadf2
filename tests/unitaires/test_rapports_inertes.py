"""Whatever a device names itself, no report acts on a terminal, breaks the JUnit XML or the CSV.

Device-chosen strings (mDNS instance names, TXT models, DHCP host names, port names, capture
lines quoted in errors) are arbitrary Unicode: controls, lone UTF-16 halves, bidi controls.
The terminal, CSV, JUnit and HTML reports show them visible and inert; JSON keeps them exact.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from telesante.audit import auditer
from telesante.collecte.captures import collecter_captures
from telesante.collecte.erreurs import SortieIllisible
from telesante.inventaire import charger_configuration
from telesante.rapports import document as doc
from telesante.rapports import formats, terminal
from telesante.rapports.html import en_html
from telesante.inerte import citer, inerte
from tests.conftest import EXEMPLE

# What must never reach a terminal, a CSV cell or an XML file raw: C0 (but the line feeds the
# report writes itself), DEL, C1, lone UTF-16 halves, line separators, bidi controls, noncharacters.
INTERDITS = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ufdd0-\ufdef\ufffe\uffff]"
)
# XML 1.0 Char production (https://www.w3.org/TR/xml/#charsets).
HORS_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

HOSTILES = ["\x1b[2J", "\x1b]0;pwn\x07", "\x1b[1A\x1b[2K", "\x1b]8;;https://pirate.example/\x1b\\", "\x00", "\x9b2J",
            "\x85", "\u2028", "\u202e", "\u2066", "\ud800", "\udfff", "\ufffe", "\uffff", "\r\n", "\n", "\t", "\x7f",
            "</script>", "]]>", "&#0;", "=cmd|' /C calc'!A0", "+1", "@SUM(1)", '"', ";", "'", "[bold]", "é", "🦜"]
textes = st.lists(st.one_of(st.sampled_from(HOSTILES), st.text(st.characters(exclude_categories=()), max_size=8)),
                  max_size=6).map("".join)


@pytest.fixture(scope="module")
def inventaire(tmp_path_factory):
    """A private copy of the demo inventory (loaded once: Ansible is slow), and its configuration."""
    copie = tmp_path_factory.mktemp("inertes") / "exemple"
    shutil.copytree(EXEMPLE, copie)
    return copie, charger_configuration(copie / "hosts.yml")


def _document(inventaire, nom: str, modele: str, hote: str) -> dict:
    """The report of the demo audit where the Echo Show announces `nom`, the Chromecast the model
    `modele` (mDNS), and the unknown laptop asks DHCP for `hote`."""
    copie, configuration = inventaire
    mdns = json.loads((EXEMPLE / "captures/sonde-nord/mdns.json").read_text(encoding="utf-8"))
    echo, chromecast = mdns["annonces"][1], mdns["annonces"][2]
    assert echo["nom"].startswith("amazon-") and chromecast["nom"].startswith("Chromecast-")
    echo["nom"] = nom + "._amzn-wplay._tcp.local."
    chromecast["txt"]["md"] = modele
    # ASCII JSON: a lone UTF-16 half travels as \ud800, as a sensor could write it.
    (copie / "captures/sonde-nord/mdns.json").write_text(json.dumps(mdns), encoding="ascii")
    baux = (EXEMPLE / "captures/dhcp-nord/dnsmasq.leases").read_text(encoding="utf-8")
    (copie / "captures/dhcp-nord/dnsmasq.leases").write_text(baux.replace("PORTABLE-PERSO", hote), encoding="utf-8")
    return doc.construire(auditer(configuration, collecter_captures, mode="captures", aujourd_hui=date(2026, 11, 21)))


def _terminal(document: dict, largeur: int) -> str:
    sortie = io.StringIO()
    terminal.afficher(document, Console(file=sortie, width=largeur, color_system=None))
    return sortie.getvalue()


def _verifier_junit(document: dict) -> None:
    brut = formats.en_junit(document)
    racine = ET.fromstring(brut)  # expat
    texte = brut.decode("utf-8")  # strict: no lone UTF-16 half written as bytes
    assert not HORS_XML.search(texte), f"caractère interdit en XML 1.0 : {HORS_XML.search(texte).group()!r}"
    for reference in re.findall(r"&#(x[0-9a-fA-F]+|[0-9]+);", texte):
        point = int(reference[1:], 16) if reference.startswith("x") else int(reference)
        assert not HORS_XML.match(chr(point)), f"référence à un caractère interdit : &#{reference};"
    actifs = [c for c in document["constats"] if c["statut"] == "actif"]
    assert len(racine.findall(".//failure")) == len(actifs)


def _verifier_csv(document: dict) -> None:
    texte = formats.en_csv(document).decode("utf-8-sig")
    attendues = len(document["constats"]) + 1
    assert texte.endswith("\r\n") and len(texte.split("\r\n")) - 1 == attendues
    assert len(texte.splitlines()) == attendues  # no other line break (\x0b, \x1c, \x85, U+2028...)
    lignes = list(csv.reader(io.StringIO(texte, newline=""), delimiter=";"))
    assert len(lignes) == attendues and {len(ligne) for ligne in lignes} == {len(formats.CSV_COLONNES)}
    assert not INTERDITS.search(texte.replace("\r\n", ""))
    assert not [cellule for ligne in lignes for cellule in ligne if cellule[:1] in ("=", "+", "-", "@")]


class _Balises(HTMLParser):
    def __init__(self):
        super().__init__()
        self.balises: set[str] = set()
        self.attributs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.balises.add(tag)
        self.attributs.update(name for name, _value in attrs)


def _verifier_html(document: dict) -> None:
    texte = en_html(document).decode("utf-8")
    assert not INTERDITS.search(texte.replace("\n", ""))
    balises = _Balises()
    balises.feed(texte)
    assert balises.balises <= {"html", "head", "meta", "title", "style", "body", "header", "section", "article",
                               "footer", "div", "h1", "h2", "h3", "p", "code", "strong", "span", "small", "ul", "li",
                               "dl", "dt", "dd", "details", "summary", "table", "thead", "tbody", "tr", "th", "td",
                               "figure", "figcaption",
                               # the trend (rapports/tendance.py): inline SVG, no link, no script
                               "svg", "defs", "pattern", "path", "g", "line", "polyline", "rect", "circle", "text"}
    assert balises.attributs <= {"lang", "charset", "name", "http-equiv", "content", "class", "id", "colspan",
                                 "data-etiquette", "data-etat", "data-date", "data-valeur", "data-serie",
                                 "data-reseau", "viewbox", "role", "aria-label", "patternunits", "width", "height",
                                 "d", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "points", "text-anchor",
                                 "transform", "stroke-dasharray"}


def _paires_jointes(valeur):
    """The document as JSON can say it: two lone UTF-16 halves side by side (high then low) are,
    in JSON's \\u escapes, the one character they pair into; nothing else changes."""
    if isinstance(valeur, str):
        return valeur.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    if isinstance(valeur, dict):
        return {cle: _paires_jointes(v) for cle, v in valeur.items()}
    if isinstance(valeur, list):
        return [_paires_jointes(v) for v in valeur]
    return valeur


def _verifier_tout(document: dict) -> None:
    for largeur in (100, 200):  # blocks, then the findings table
        sortie = _terminal(document, largeur)
        sortie.encode("utf-8")
        assert not INTERDITS.search(sortie), f"{INTERDITS.search(sortie).group()!r} écrit au terminal"
    _verifier_junit(document)
    _verifier_csv(document)
    _verifier_html(document)
    exact = formats.en_json(document).encode("utf-8")
    assert json.loads(exact) == _paires_jointes(document)  # JSON keeps the exact strings


# A lone UTF-16 half in the sensor's file makes it corrupt (the sensor never writes one): tested in
# tests/cas/captures-mdns-demi-caractere-utf16; here, names that reach the findings.
sans_demi = textes.map(lambda t: "".join(c for c in t if not 0xD800 <= ord(c) <= 0xDFFF))


@settings(max_examples=60, deadline=None)
@given(nom=sans_demi, modele=sans_demi,
       # A NUL in a lease file makes it unreadable (tested in test_captures_hostiles): none in `hote`.
       hote=textes.map(lambda t: "".join(c for c in t if not c.isspace() and c != "\0"
                                         and not 0xD800 <= ord(c) <= 0xDFFF)))
def test_noms_choisis_par_les_appareils_inertes_partout(inventaire, nom, modele, hote):
    hote = "x" + hote  # dnsmasq writes "*" for no name
    document = _document(inventaire, nom, modele, hote)
    noms = {n for c in document["constats"] for n in c["noms_hote"]}
    assert hote in noms and (nom in noms or not nom)  # the hostile strings did reach the findings
    _verifier_tout(document)


@settings(max_examples=60, deadline=None)
@given(st.lists(textes, min_size=6, max_size=6))
def test_ports_messages_problemes_inertes_partout(inventaire, valeurs):
    document = copy.deepcopy(_document(inventaire, "Echo", "Chromecast", "PORTABLE-PERSO"))
    port, message, probleme, note, fabricant, service = valeurs
    for constat in document["constats"]:
        constat["emplacements"][0]["port"] = port
        constat["message"], constat["fabricant"] = message, fabricant
        constat["services_mdns"].append({"service": service, "modele": None})
    document["equipements"][0]["statut"] = "incomplet"
    document["equipements"][0]["problemes"].append(probleme)
    document["notes"].append(note)
    _verifier_tout(document)


def test_echo_show_qui_efface_son_propre_constat():
    """ESC[1A ESC[2K repeated in a name erased the finding's own block: shown as text now."""
    efface = "\x1b[1A\x1b[2K" * 8
    document = {"constats": [], "reseaux": [], "equipements": [], "notes": [],
                "resume": {"equipements": 0, "equipements_incomplets": 0, "appareils": 1, "constats_critiques": 1,
                           "constats_a_verifier": 0, "constats_leves": 0},
                "verdict": {"statut": "non_conforme", "signification": "non-conformités", "code_sortie": 1}}
    document["constats"].append({
        "gravite": "critique", "statut": "actif", "reseau": "mission-nord", "mac": "84:28:59:3a:7c:21",
        "fabricant": "Amazon", "identification": {"signature": "Amazon Echo Show"}, "ips": ["10.20.110.41"],
        "emplacements": [{"equipement": "sw-nord-01", "port": "Gi1/0/5", "vlan": 110}],
        "noms_hote": ["amazon" + efface], "services_mdns": [{"service": "_amzn-wplay._tcp", "modele": efface}],
        "message": "appareil grand public interdit [bold red]faux[/]",
    })
    sortie = _terminal(document, 149)  # blocks, one line each
    assert "\x1b" not in sortie
    assert "nom d'hôte : amazon" + "\\x1b[1A\\x1b[2K" * 8 in sortie
    assert "[bold red]faux[/]" in sortie  # rich markup is text too
    assert "CRITIQUE  mission-nord  84:28:59:3a:7c:21  Amazon Echo Show" in sortie


@pytest.mark.parametrize(("texte", "rendu"), [
    ("Roku\x1b]0;pwn\x07", "Roku\\x1b]0;pwn\\x07"),
    ("a\x00b\x7fc\x9bd", "a\\x00b\\x7fc\\x9bd"),
    ("nom\u202eélif\u2066", "nom\\u202eélif\\u2066"),
    ("ligne\u2028deux\r\n", "ligne\\u2028deux\\r\\n"),
    ("\ud800\ufffe\U0010ffff", "\\ud800\\ufffe\\U0010ffff"),
    ("Salon 👨\u200d👩 é \\x1b", "Salon 👨\u200d👩 é \\x1b"),  # kept: joiner, accents, a typed backslash
])
def test_inerte(texte, rendu):
    assert inerte(texte) == rendu
    assert inerte(rendu) == rendu


def test_citation_coupee_sans_couper_un_echappement():
    assert citer("é" * 200) == "é" * 119 + "…"
    assert citer("\x1b" * 200) == "\\x1b" * 29 + "…"
    assert citer("court\x1b") == "court\\x1b"


def test_ligne_de_capture_citee_inerte_et_coupee():
    erreur = SortieIllisible("adresse MAC invalide « " + "\x1b]0;pwn\x07" * 500 + " » : bail ignoré", 12)
    message = erreur.decrire("dnsmasq.leases")
    assert message.startswith("dnsmasq.leases, ligne 12 : adresse MAC invalide « \\x1b]0;pwn\\x07")
    assert message.endswith("… » : bail ignoré") and len(message) < 200
    assert not INTERDITS.search(message)
    sans_citation = SortieIllisible("date hors limites (" + "9" * 5000 + ")").decrire("f")
    assert len(sans_citation) <= 505 and sans_citation.endswith("…")
