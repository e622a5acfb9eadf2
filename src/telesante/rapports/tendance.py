"""The last 30 nights as inline SVG charts: findings per mission network, unread equipment.

Readable in black and white: critical findings are a solid line with filled squares, findings to
verify a dashed line with hollow circles, unread equipment hatched bars; every chart has its
legend in words. Every value is in the DOM (``data-`` attributes and a ``<title>`` per point).
Names are made inert then escaped (markupsafe): a network name cannot add an element. No
``xmlns``: inline SVG in HTML needs none, and the page holds no URL at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup

from telesante.inerte import inerte
from telesante.rapports.dates import Dates

NUITS_MAX = 30

# Geometry of one chart (viewBox units, about CSS pixels at the width of a phone).
LARGEUR, HAUTEUR = 340, 180
GAUCHE, DROITE, HAUT, BAS = 30, 10, 30, 28
MARGE = 7  # between the y axis labels and the first night

SERIES = {
    # serie: (label, line style, marker)
    "critiques": ("critiques", "", "carre"),
    "a_verifier": ("à vérifier", "6 4", "rond"),
}
SINGULIERS = {"critiques": "critique", "à vérifier": "à vérifier", "équipements non lus": "équipement non lu"}


def _nombre(valeur: int, libelle: str) -> str:
    """« 0 critique », « 1 critique », « 2 critiques » (French: singular below 2)."""
    return f"{valeur} {SINGULIERS[libelle] if valeur < 2 else libelle}"


@dataclass
class Nuit:
    """One night of the trend, validated."""

    date: date
    reseaux: dict[str, dict[str, int]]
    equipements_non_lus: int


def _entier(valeur: object) -> int | None:
    return valeur if isinstance(valeur, int) and not isinstance(valeur, bool) and valeur >= 0 else None


def _nuit(entree: object) -> Nuit | None:
    """A night as the document gives it, or None if anything in it is not what the schema says."""
    if not isinstance(entree, dict) or not isinstance(entree.get("date"), str) or len(entree["date"]) != 10:
        return None
    try:
        jour = date.fromisoformat(entree["date"])
    except ValueError:
        return None
    reseaux = entree.get("reseaux")
    non_lus = _entier(entree.get("equipements_non_lus"))
    if not isinstance(reseaux, dict) or non_lus is None:
        return None
    propres: dict[str, dict[str, int]] = {}
    for nom, valeurs in reseaux.items():
        if not isinstance(nom, str) or not isinstance(valeurs, dict):
            return None
        compte = {serie: _entier(valeurs.get(serie)) for serie in SERIES}
        if None in compte.values():
            return None
        propres[nom] = compte
    return Nuit(jour, propres, non_lus)


@dataclass
class Tendance:
    """What the report shows of the trend: the nights kept, the networks, the charts."""

    nuits: list[Nuit]
    reseaux: list[str]
    ignorees: int
    graphiques: list[tuple[str, Markup]]  # (network name or "" for unread equipment, svg)


def preparer(tendance: object, reseaux_mission: list[str], dates: Dates) -> Tendance:
    """Validate the document's `tendance` (unreadable or duplicate nights are counted, not drawn),
    keep the last 30 nights, oldest first, and draw one chart per network plus unread equipment.

    Networks come in the report's order, then any other network of the history by name.
    """
    entrees = tendance if isinstance(tendance, list) else []
    par_date: dict[date, Nuit] = {}
    ignorees = 0 if isinstance(tendance, list) else 1
    for entree in entrees:
        nuit = _nuit(entree)
        if nuit is None or nuit.date in par_date:
            ignorees += 1
            continue
        par_date[nuit.date] = nuit
    nuits = sorted(par_date.values(), key=lambda n: n.date)[-NUITS_MAX:]
    vus = {nom for n in nuits for nom in n.reseaux}
    reseaux = [nom for nom in reseaux_mission if nom in vus] + sorted(vus - set(reseaux_mission))
    graphiques = [(nom, _graphique_reseau(nuits, nom, dates)) for nom in reseaux]
    if nuits:
        graphiques.append(("", _graphique_non_lus(nuits, dates)))
    return Tendance(nuits, reseaux, ignorees, graphiques)


class _Repere:
    """Coordinates: dates along x (a missing night is a gap), integers along y."""

    def __init__(self, nuits: list[Nuit], maximum: int):
        self.premier, self.dernier = nuits[0].date, nuits[-1].date
        self.jours = max((self.dernier - self.premier).days, 1)
        self.pas = max(1, math.ceil(max(maximum, 1) / 4))
        self.haut = self.pas * math.ceil(max(maximum, 1) / self.pas)

    def x(self, jour: date) -> float:
        utile = LARGEUR - GAUCHE - DROITE - 2 * MARGE
        if self.premier == self.dernier:
            return GAUCHE + MARGE + utile / 2
        return round(GAUCHE + MARGE + (jour - self.premier).days / self.jours * utile, 1)

    def y(self, valeur: int) -> float:
        return round(HAUTEUR - BAS - valeur / self.haut * (HAUTEUR - HAUT - BAS), 1)


def _axes(repere: _Repere, nuits: list[Nuit], dates: Dates) -> Markup:
    parties = []
    for valeur in range(0, repere.haut + 1, repere.pas):
        y = repere.y(valeur)
        parties.append(Markup('<line class="grille" x1="{}" y1="{}" x2="{}" y2="{}"/>'
                              '<text class="graduation" x="{}" y="{}" text-anchor="end">{}</text>')
                       .format(GAUCHE, y, LARGEUR - DROITE, y, GAUCHE - 4, y + 4, valeur))
    etiquettes = {nuits[0].date: "start", nuits[-1].date: "end"}
    for jour, ancre in etiquettes.items():
        parties.append(Markup('<text class="graduation" x="{}" y="{}" text-anchor="{}">{}</text>').format(
            repere.x(jour), HAUTEUR - BAS + 16, ancre if len(etiquettes) > 1 else "middle", dates.jour_court(jour.isoformat())))
    return Markup("").join(parties)


def _legende(elements: list[tuple[str, Markup]]) -> Markup:
    parties, x = [], GAUCHE
    for libelle, echantillon in elements:
        parties.append(Markup('<g class="legende" transform="translate({},12)">{}<text x="26" y="4">{}</text></g>')
                       .format(x, echantillon, libelle))
        x += 40 + 7 * len(libelle)
    return Markup("").join(parties)


def _marqueur(forme: str, x: float, y: float, titre: str, attributs: Markup) -> Markup:
    if forme == "carre":
        return Markup('<rect class="point" x="{}" y="{}" width="6" height="6" {}><title>{}</title></rect>').format(
            round(x - 3, 1), round(y - 3, 1), attributs, titre)
    return Markup('<circle class="point" cx="{}" cy="{}" r="3.2" {}><title>{}</title></circle>').format(
        x, y, attributs, titre)


def _troncons(nuits: list[Nuit], reseau: str) -> list[list[Nuit]]:
    """Runs of consecutive nights where the network was audited: a line never bridges a gap."""
    troncons: list[list[Nuit]] = []
    for nuit in nuits:
        if reseau not in nuit.reseaux:
            troncons.append([])
            continue
        if not troncons or not troncons[-1] or (nuit.date - troncons[-1][-1].date).days != 1:
            troncons.append([])
        troncons[-1].append(nuit)
    return [t for t in troncons if t]


def _graphique_reseau(nuits: list[Nuit], reseau: str, dates: Dates) -> Markup:
    nom = inerte(reseau)
    valeurs = [n.reseaux[reseau][serie] for n in nuits if reseau in n.reseaux for serie in SERIES]
    repere = _Repere(nuits, max(valeurs, default=0))
    series = []
    for serie, (libelle, tirets, forme) in SERIES.items():
        traits, points = [], []
        for troncon in _troncons(nuits, reseau):
            coordonnees = " ".join(f"{repere.x(n.date)},{repere.y(n.reseaux[reseau][serie])}" for n in troncon)
            traits.append(Markup('<polyline class="trait" points="{}"/>').format(coordonnees))
            for n in troncon:
                valeur = n.reseaux[reseau][serie]
                titre = f"{nom}, {dates.jour_court(n.date.isoformat())} : {_nombre(valeur, libelle)}"
                attributs = Markup('data-date="{}" data-valeur="{}"').format(n.date.isoformat(), valeur)
                points.append(_marqueur(forme, repere.x(n.date), repere.y(valeur), titre, attributs))
        series.append(Markup('<g class="serie {}" data-serie="{}" data-reseau="{}" stroke-dasharray="{}">{}{}</g>').format(
            serie, serie, nom, tirets or "none", Markup("").join(traits), Markup("").join(points)))
    legende = _legende([
        (libelle, Markup('<g class="serie {}" stroke-dasharray="{}"><line class="trait" x1="0" y1="0" x2="20" y2="0"/>{}</g>')
         .format(serie, tirets or "none", _marqueur(forme, 10, 0, libelle, Markup(""))))
        for serie, (libelle, tirets, forme) in SERIES.items()
    ])
    return Markup('<svg class="tendance" viewBox="0 0 {} {}" role="img" aria-label="{}" data-reseau="{}">'
                  '<title>{}</title>{}{}{}</svg>').format(
        LARGEUR, HAUTEUR, f"Constats actifs par nuit, réseau {nom}", nom,
        f"Constats actifs par nuit, réseau {nom}", legende, _axes(repere, nuits, dates), Markup("").join(series))


def _graphique_non_lus(nuits: list[Nuit], dates: Dates) -> Markup:
    repere = _Repere(nuits, max(n.equipements_non_lus for n in nuits))
    largeur = max(2.0, min(8.0, (LARGEUR - GAUCHE - DROITE - 2 * MARGE) / (repere.jours + 1) * 0.7))
    barres = []
    for n in nuits:
        y = repere.y(n.equipements_non_lus)
        titre = f"{dates.jour_court(n.date.isoformat())} : {_nombre(n.equipements_non_lus, 'équipements non lus')}"
        barres.append(Markup('<rect class="barre" x="{}" y="{}" width="{}" height="{}" data-date="{}" data-valeur="{}">'
                             '<title>{}</title></rect>').format(
            round(repere.x(n.date) - largeur / 2, 1), y, round(largeur, 1), round(HAUTEUR - BAS - y, 1),
            n.date.isoformat(), n.equipements_non_lus, titre))
    motif = Markup('<defs><pattern id="tendance-hachures" patternUnits="userSpaceOnUse" width="4" height="4">'
                   '<path d="M0,4 L4,0" class="hachure"/></pattern></defs>')
    legende = _legende([("équipements non lus", Markup('<rect class="barre" x="4" y="-6" width="12" height="10"/>'))])
    return Markup('<svg class="tendance" viewBox="0 0 {} {}" role="img" aria-label="Équipements non lus par nuit" '
                  'data-serie="equipements_non_lus"><title>Équipements non lus par nuit</title>{}{}{}'
                  '<g class="serie equipements_non_lus" data-serie="equipements_non_lus">{}</g></svg>').format(
        LARGEUR, HAUTEUR, motif, legende, _axes(repere, nuits, dates), Markup("").join(barres))
