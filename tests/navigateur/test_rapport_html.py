"""The HTML report opened in a real browser (Debian's headless Chromium).

What a manager depends on: the verdict and the night's changes first, dates in French in the
establishment's zone, no horizontal scrolling on a desktop (1280 px) nor on a phone (390 px) even
with very long hostile names, evidence folded, a clean print on letter paper, the 30-night trend
drawn without any external resource, and nothing a device names itself ever run.
"""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest

from telesante.inerte import inerte
from telesante.rapports.html import en_html
from tests.navigateur.chromium import CHROMIUM
from tests.navigateur.conftest import (EQUIPEMENT_HOSTILE, HOSTILE, PORT_HOSTILE, RESEAU_HOSTILE, TELESANTE,
                                       document_de_la_nuit, exiger_chromium)
from tests.navigateur.png import lire_png, pixels_sombres

# Where the page puts more than the window can show: the document wider than the window, any text
# or element past its right edge, or an element that cuts its own content. Run with the evidence
# folded and unfolded.
DEBORDEMENTS = """(() => {
  const fenetre = window.innerWidth, hors = [];
  const marcheur = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = marcheur.nextNode(); n; n = marcheur.nextNode()) {
    const r = document.createRange(); r.selectNodeContents(n);
    for (const b of r.getClientRects())
      if (b.right > fenetre + 0.5 || b.left < -0.5) hors.push('texte : ' + n.textContent.slice(0, 50));
  }
  for (const e of document.body.querySelectorAll('*')) {
    const b = e.getBoundingClientRect(), s = getComputedStyle(e);
    if (b.width && b.right > fenetre + 0.5) hors.push('élément : ' + e.tagName + '.' + e.getAttribute('class'));
    if (['hidden', 'clip', 'auto', 'scroll'].includes(s.overflowX) && e.scrollWidth > e.clientWidth + 1)
      hors.push('coupé : ' + e.tagName + '.' + e.getAttribute('class'));
  }
  return {document: document.documentElement.scrollWidth, fenetre: fenetre, hors: hors};
})()"""
DEPLIER = "document.querySelectorAll('details').forEach(d => d.open = true)"


class _Dom(HTMLParser):
    """Elements and text of the DOM that the browser serialized."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def _chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=90,
    )


@pytest.fixture
def rapport_html(exemple, tmp_path) -> Path:
    """The report that the `telesante audit` command writes, a DHCP host name hostile."""
    exiger_chromium()
    leases = exemple.parent / "captures/dhcp-nord/dnsmasq.leases"
    leases.write_text(leases.read_text().replace("PORTABLE-PERSO", HOSTILE))
    result = subprocess.run([TELESANTE, "audit", "-i", exemple, "-f", "html,json", "-o", tmp_path / "r",
                             "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    return tmp_path / "r" / "rapport.html"


@pytest.fixture
def document_nuit(json_reel) -> dict:
    return document_de_la_nuit(json_reel)


@pytest.fixture
def rapport_nuit(document_nuit, tmp_path) -> Path:
    """The report of a night with history: changes, trend, hostile names far wider than a phone."""
    page = tmp_path / "rapport.html"
    page.write_bytes(en_html(document_nuit))
    return page


def test_le_navigateur_affiche_verdict_et_constats(rapport_html, tmp_path):
    result = _chromium("--dump-dom", rapport_html.as_uri(), profile=tmp_path / "profil")
    assert result.returncode == 0, result.stderr
    dom = _Dom()
    dom.feed(result.stdout)
    text = " ".join(" ".join(dom.text).split())
    assert "Incomplet Code 2 : incomplet" in text
    fiches = [attrs for tag, attrs in dom.tags if tag == "article" and "constat" in attrs.get("class", "")]
    assert len(fiches) == 6  # 5 active findings and the one silenced by a dérogation (folded)
    assert sum("critique" in f["class"] for f in fiches) == 4
    assert sum("leve" in f["class"] for f in fiches) == 1
    assert "Google Nest Hub" in text and "sw-nord-01 Gi1/0/7 (VLAN 110)" in text
    assert "3 critiques 2 à vérifier 1 équipement non lu sur 7 1 levé par dérogation 19 appareils" in text
    assert "Non lu : sw-sud-02" in text
    assert "Audit du samedi 21 novembre 2026" in text
    # Without --historique: the page says so, soberly, instead of claiming that nothing changed.
    assert "Pas d'historique pour cet audit : les changements depuis la nuit précédente ne sont pas calculés." in text
    assert "Pas d'historique pour cet audit : aucune tendance à tracer." in text
    assert not any(tag == "svg" for tag, _attrs in dom.tags)


def test_nom_d_hote_hostile_reste_du_texte(rapport_html, tmp_path):
    result = _chromium("--dump-dom", rapport_html.as_uri(), profile=tmp_path / "profil")
    dom = _Dom()
    dom.feed(result.stdout)
    assert not any(tag in ("script", "img") for tag, _attrs in dom.tags)
    assert any("<script>" in chunk for chunk in dom.text)  # shown as text, never run
    assert "<title>Audit telesante" in result.stdout


def test_controles_d_un_nom_mdns_visibles_dans_le_navigateur(exemple, tmp_path):
    """ESC, NUL and U+202E in an mDNS name: the page is written, the browser shows each as its
    escape (nothing hidden, nothing reordered), and `javascript:` stays text. (A lone UTF-16 half
    makes the sensor's file corrupt: tests/cas/captures-mdns-demi-caractere-utf16.)"""
    exiger_chromium()
    mdns = exemple.parent / "captures/sonde-nord/mdns.json"
    hostile = "amazon\\u001b]0;pwn\\u0007\\u0000\\u202etxt.exe<a href=javascript:alert(1)>x</a>"
    mdns.write_text(mdns.read_text().replace("amazon-5c1e9a03f._amzn", hostile + "._amzn"))
    result = subprocess.run([TELESANTE, "audit", "-i", exemple, "-f", "html", "-o", tmp_path / "r",
                             "--date", "2026-11-21"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    dump = _chromium("--dump-dom", (tmp_path / "r" / "rapport.html").as_uri(), profile=tmp_path / "profil")
    assert dump.returncode == 0, dump.stderr
    dom = _Dom()
    dom.feed(dump.stdout)
    assert not any(tag == "a" for tag, _attrs in dom.tags)
    assert "amazon\\x1b]0;pwn\\x07\\x00\\u202etxt.exe<a href=javascript:alert(1)>x</a>" in " ".join(dom.text)


@pytest.mark.parametrize(("largeur", "telephone"), [(1280, False), (390, True)], ids=["bureau-1280", "telephone-390"])
def test_aucun_defilement_horizontal(rapport_nuit, navigateur, tmp_path, largeur, telephone):
    """At 1280 px and on a 390 px phone (mobile viewport rules), evidence folded then unfolded: the
    document is no wider than the window, no text or element passes its right edge, nothing is cut.
    The full-page screenshots are as wide as the window and show the verdict in the first screen."""
    navigateur.ouvrir(rapport_nuit, largeur, telephone=telephone)
    hauteurs = {}
    for etat in ("replie", "deplie"):
        if etat == "deplie":
            navigateur.evaluer(DEPLIER)
        mesure = navigateur.evaluer(DEBORDEMENTS)
        assert mesure["fenetre"] == largeur
        assert mesure["document"] <= mesure["fenetre"], mesure
        assert mesure["hors"] == [], mesure["hors"][:10]
        image = tmp_path / f"rapport-{largeur}-{etat}.png"
        largeur_png, hauteur_png, lignes = lire_png(navigateur.capture(image))
        assert (largeur_png, image.exists()) == (largeur, True)
        assert pixels_sombres(lignes[:300]) > 2000  # the title and the verdict are drawn at the top
        hauteurs[etat] = hauteur_png
    assert 1000 < hauteurs["replie"] < hauteurs["deplie"]  # unfolding showed the evidence


def test_verdict_et_changements_en_tete(rapport_nuit, navigateur):
    """In reading order: the verdict, then what changed tonight (new, gone, persisting since N nights,
    equipment that became unreadable, dérogations about to expire), before the trend and the lists;
    dates and times in French, in Montréal's zone, never an ISO timestamp."""
    navigateur.ouvrir(rapport_nuit, 1280)
    texte = " ".join(navigateur.evaluer("document.body.innerText").split())
    assert texte.index("Incomplet Code 2") < texte.index("Cette nuit")
    assert navigateur.evaluer("[...document.querySelectorAll('h2')].map(h => h.textContent)") == [
        "Cette nuit", "Tendance des 30 dernières nuits", "Réseaux", "Isolement des réseaux", "Constats", "Équipements"]
    assert "Passage hors ligne (captures) du samedi 21 novembre 2026 à 2 h 02 HNE, fin à 2 h 03 HNE." in texte
    assert "Depuis le passage précédent, du vendredi 20 novembre 2026 à 2 h 01 HNE :" in texte
    assert "1 nouveau constat 1 disparu 4 persistants 2 équipements changés 1 dérogation expire bientôt" in texte
    assert "sw-sud-02 : lisible au passage précédent, illisible cette nuit" in texte
    assert "34:5e:08:91:2c:4d (mission-nord) : expire le mercredi 25 novembre 2026, dans 4 jours" in texte
    assert "vu 19 nuits depuis le 2 nov. 2026" in texte  # the finding that is gone
    # Each finding of tonight says since when it is there.
    etats = navigateur.evaluer("[...document.querySelectorAll('#constats article')].map(a => a.dataset.etat)")
    assert etats == ["nouveau", "persistant", "persistant", "persistant", "persistant"]
    assert texte.count("Persistant depuis 12 nuits (vu d'abord le 10 nov. 2026)") == 4
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:|\d\d:\d\d:\d\d\.\d{6}", texte)
    # Evidence is folded: sources are in the DOM, not on the screen until asked for.
    assert navigateur.evaluer("document.querySelectorAll('#constats details:not([open])').length") == 5
    assert "show mac address-table" not in texte


def test_impression_sur_papier_lettre(rapport_nuit, navigateur, tmp_path):
    """Printed by Chromium as a user would (the page's @page): letter pages (8.5 × 11 in), and nothing cut
    on the right: the very long names are in the PDF in full, every line starts on the page, and the
    print layout is no wider than the paper."""
    from pypdf import PdfReader

    navigateur.ouvrir(rapport_nuit, 1280)
    navigateur.evaluer(DEPLIER)
    pdf = PdfReader(BytesIO(navigateur.imprimer(tmp_path / "rapport.pdf")))
    assert len(pdf.pages) >= 2
    assert {(float(p.mediabox.width), float(p.mediabox.height)) for p in pdf.pages} == {(612.0, 792.0)}
    departs: list[float] = []
    texte = "".join(p.extract_text(visitor_text=lambda t, cm, tm, _f, _s: departs.append(
        tm[4] * cm[0] + tm[5] * cm[2] + cm[4]) if t.strip() else None) for p in pdf.pages)
    compact = "".join(texte.split())
    for nom in ("commutateur" * 14 + "\\u202e", PORT_HOSTILE, inerte(RESEAU_HOSTILE).replace(" ", "")):
        assert nom in compact
    assert "Audit du samedi 21 novembre 2026" in texte
    assert departs and 0 <= min(departs) and max(departs) < 612
    # The print layout itself: the paper's width between the margins (8.5 in - 2 × 0.5 in = 720 px).
    navigateur.medias("print")
    navigateur.ouvrir(rapport_nuit, 720)
    navigateur.evaluer(DEPLIER)
    mesure = navigateur.evaluer(DEBORDEMENTS)
    assert mesure["document"] <= 720 and mesure["hors"] == [], mesure


def test_graphique_de_tendance(rapport_nuit, document_nuit, navigateur, tmp_path):
    """One chart per mission network (and the former, hostile one), one for unread equipment: the last
    30 nights, every value in the DOM, black-and-white styles, and pixels actually drawn."""
    navigateur.ouvrir(rapport_nuit, 1280)
    graphiques = navigateur.evaluer("""[...document.querySelectorAll('svg.tendance')].map(s => ({
        reseau: s.dataset.reseau || null, serie: s.dataset.serie || null,
        titre: s.querySelector('title').textContent,
        points: [...s.querySelectorAll('[data-valeur]')].map(p => [p.closest('g[data-serie]').dataset.serie,
                 p.dataset.date, Number(p.dataset.valeur), p.querySelector('title').textContent]),
        traits: Object.fromEntries([...s.querySelectorAll('g[data-serie]')].map(g => [g.dataset.serie,
                 [g.querySelectorAll('polyline').length, getComputedStyle(g.querySelector('polyline, rect')).strokeDasharray,
                  g.querySelector('[data-valeur]').tagName, getComputedStyle(g.querySelector('[data-valeur]')).fill]])),
        zone: (r => ({x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height}))(s.getBoundingClientRect()),
    }))""")
    assert [g["reseau"] for g in graphiques] == ["mission-nord", "mission-sud", inerte(RESEAU_HOSTILE), None]
    assert graphiques[-1]["serie"] == "equipements_non_lus"
    nuits = sorted(document_nuit["tendance"], key=lambda n: n["date"])[-30:]
    assert len(document_nuit["tendance"]) == 31 and len(nuits) == 30  # the oldest night is left out
    nord = graphiques[0]
    for serie in ("critiques", "a_verifier"):
        attendu = [(n["date"], n["reseaux"]["mission-nord"][serie]) for n in nuits]
        assert [(p[1], p[2]) for p in nord["points"] if p[0] == serie] == attendu
    assert nord["points"][29] == ["critiques", "2026-11-21", 1, "mission-nord, 21 nov. 2026 : 1 critique"]
    assert [(p[1], p[2]) for p in graphiques[-1]["points"]] == [(n["date"], n["equipements_non_lus"]) for n in nuits]
    # A night without audit (10 nov.) is a gap: two lines, not one bridged over it; mission-sud not audited
    # on two more nights: no point there (not a zero).
    assert nord["traits"]["critiques"][0] == 2
    assert len([p for p in graphiques[1]["points"] if p[0] == "critiques"]) == sum(
        "mission-sud" in n["reseaux"] for n in nuits) < 30
    # Black and white: solid line and filled squares, dashed line and hollow circles, hatched bars.
    assert nord["traits"]["critiques"][1:] == ["none", "rect", "rgb(155, 16, 32)"]
    assert nord["traits"]["a_verifier"][1] not in ("none", "") and nord["traits"]["a_verifier"][2:] == [
        "circle", "rgb(255, 255, 255)"]
    assert graphiques[-1]["traits"]["equipements_non_lus"][3].startswith("url(") and "tendance-hachures" in \
        graphiques[-1]["traits"]["equipements_non_lus"][3]
    # The hostile network name is text in the chart, never an element.
    assert graphiques[2]["titre"] == f"Constats actifs par nuit, réseau {inerte(RESEAU_HOSTILE)}"
    assert navigateur.evaluer("document.scripts.length + document.querySelectorAll('svg script, foreignObject, "
                              "[onload], a, image, use').length") == 0
    # Drawn: each chart has ink (lines, markers, bars), captured by the test.
    for i, graphique in enumerate(graphiques):
        image = tmp_path / f"tendance-{i}.png"
        largeur, hauteur, lignes = lire_png(navigateur.capture(image, zone=graphique["zone"]))
        assert largeur == round(graphique["zone"]["width"]) and hauteur > 100
        assert pixels_sombres(lignes) > 400, image


def test_aucune_ressource_externe(rapport_nuit, navigateur):
    """The page asks for nothing but itself: no URL in the HTML (inline SVG needs no xmlns), no
    attribute that loads or links, and the browser makes no other request."""
    html = rapport_nuit.read_text(encoding="utf-8")
    assert not re.search(r"https?:|//[a-z]", html, re.IGNORECASE)
    assert "default-src 'none'" in html
    navigateur.ouvrir(rapport_nuit, 1280)
    assert navigateur.requetes() == [rapport_nuit.as_uri()]
    assert navigateur.evaluer("[...document.querySelectorAll('*')].flatMap(e => e.getAttributeNames())"
                              ".filter(n => /^(src|srcset|href|xlink:href|action|poster|on)/.test(n))") == []


def test_noms_hostiles_du_document_inertes(rapport_nuit, navigateur):
    """Equipment, port and network names of the history reach the page as text, escapes visible."""
    navigateur.ouvrir(rapport_nuit, 390, telephone=True)
    navigateur.evaluer(DEPLIER)
    texte = navigateur.evaluer("document.body.innerText")
    assert inerte(EQUIPEMENT_HOSTILE) in texte and "\u202e" not in texte
    assert inerte(RESEAU_HOSTILE) in texte
    assert navigateur.evaluer("document.querySelectorAll('img, script, svg svg, [onload], [onerror]').length") == 0
