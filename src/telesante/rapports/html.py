"""The HTML report: a self-contained page a manager reads in a minute (template donnees/rapport.html.j2;
the findings' cards are written here, in Python, fast at 30,000 findings)."""

from __future__ import annotations

from markupsafe import escape

from telesante.inerte import inerte


def en_html(document: dict, fuseau: str | None = None) -> bytes:
    """A self-contained HTML page (no external resource, no URL) that a manager reads in a minute:
    verdict and the night's changes first, the 30-night trend as inline SVG, evidence folded.

    Dates and times are in French, in `fuseau` (the establishment's zone, ``America/Montreal`` by
    default). Every value is escaped and inert: host names and mDNS names come from devices.
    `changements` and `tendance` may be absent (no history): the page says so.
    """
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    from telesante.rapports.dates import Dates
    from telesante.rapports.tendance import preparer

    environment = Environment(
        loader=PackageLoader("telesante", "donnees"), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
        # What a browser would hide or cannot show (ESC, NUL, bidi controls, lone UTF-16 halves) is shown
        # as its escape; every other character is exact. Markup is the template's own, already final.
        finalize=lambda v: inerte(v) if isinstance(v, str) and not isinstance(v, Markup) else v,
    )
    dates = Dates(fuseau or document.get("fuseau_horaire"))
    html = _Html(dates)
    changements = _changements_lisibles(document.get("changements"))
    suivi = None
    etats = {}  # a finding of tonight -> its entry in the night's changes (new, or persisting for N nights)
    if changements is not None and not changements.get("sans_historique") and changements.get("constats") is not None:
        par_etat: dict[str, list[dict]] = {"nouveau": [], "disparu": [], "persistant": []}
        for entree in changements["constats"]:
            par_etat.get(entree["etat"], []).append(entree)
            if entree["etat"] in ("nouveau", "persistant"):
                etats[_cle_constat(entree)] = entree
        suivi = {
            "nouveaux": len(par_etat["nouveau"]), "disparus": len(par_etat["disparu"]),
            "persistants": len(par_etat["persistant"]),
            "changes": len(changements["constats"]) - len(par_etat["persistant"]),  # entries of unknown state too
            "plus_ancien": max((e["nuits"] for e in par_etat["persistant"]), default=0),
            "liste_nouveaux": Markup("".join(html.changement(e) for e in par_etat["nouveau"])),
            "liste_disparus": Markup("".join(html.changement(e) for e in par_etat["disparu"])),
        }
    actifs, leves = [], []
    for constat in document["constats"]:
        fiche = html.fiche(constat, etats.get(_cle_constat(constat)))
        (actifs if constat["statut"] == "actif" else leves).append(fiche)
    mission = [r["nom"] for r in document["reseaux"] if r["type"] == "mission"]
    # Without history, the trend is tonight alone: nothing to draw, the page says why.
    sans_historique = changements is not None and changements.get("sans_historique")
    tendance = preparer(document["tendance"], mission, dates) if "tendance" in document and not sans_historique else None
    return environment.get_template("rapport.html.j2").render(
        d=document, dates=dates, changements=changements, suivi=suivi, tendance=tendance,
        fiches_actives=Markup("".join(actifs)), fiches_levees=Markup("".join(leves)), leves=len(leves),
    ).encode("utf-8")


def _nombre(n: int, mot: str, pluriel: str | None = None) -> str:
    """« 1 nuit », « 2 nuits » (French: singular below 2)."""
    return f"{n} {mot if n < 2 else (pluriel or mot + 's')}"


class _Html:
    """The repeated parts of the HTML report (one finding card, one line of the night's changes), written
    in Python: at 30,000 findings, Jinja macro calls and per-value filters cost seconds.

    Every value of the document goes through `texte` (made inert, then escaped by markupsafe); a value
    met again (sources, vendors, networks, dates) is escaped once.
    """

    def __init__(self, dates):
        self.dates = dates
        self._textes: dict[str, str] = {}
        self._dates: dict[tuple[str, object], str] = {}

    def texte(self, valeur: object) -> str:
        """The value as inert, escaped HTML text."""
        if not isinstance(valeur, str):  # a number; anything else the document should not hold is text too
            return str(valeur) if isinstance(valeur, int) else self.texte(str(valeur))
        rendu = self._textes.get(valeur)
        if rendu is None:
            rendu = self._textes[valeur] = str(escape(inerte(valeur)))
        return rendu

    def date(self, forme: str, valeur: object) -> str:
        """A date of the document in French (Dates.jour, jour_court or moment), as escaped text."""
        cle = (forme, valeur)
        try:
            return self._dates[cle]
        except KeyError:
            rendu = self._dates[cle] = self.texte(getattr(self.dates, forme)(valeur))
        except TypeError:  # not hashable: not a date either, shown as text
            rendu = self.texte(getattr(self.dates, forme)(valeur))
        return rendu

    def appareil(self, c: dict) -> str:
        identification = c["identification"]
        nom = self.texte(identification["signature"] or c["fabricant"] or "appareil inconnu")
        categorie = identification["categorie"]
        return f"{nom} <small>({self.texte(categorie)})</small>" if categorie else nom

    def emplacements(self, c: dict) -> str:
        t = self.texte
        return ", ".join(f"{t(e['equipement'])} {t(e['port'])}" + (f" (VLAN {t(e['vlan'])})" if e["vlan"] is not None else "")
                         for e in c["emplacements"])

    def ou(self, c: dict) -> str:
        """Network · equipment and port · MAC · IP."""
        parties = [self.texte(c["reseau"])]
        if c["emplacements"]:
            parties.append(self.emplacements(c))
        if c["mac"]:
            parties.append(f'<span class="mac">{self.texte(c["mac"])}</span>')
        if c["ips"]:
            parties.append(", ".join(map(self.texte, c["ips"])))
        return " · ".join(parties)

    def depuis(self, entree: dict) -> str:
        if entree["etat"] == "nouveau":
            return "Nouveau cette nuit"
        vue = f" (vu d'abord le {self.date('jour_court', entree['premiere_vue'])})" if entree["premiere_vue"] else ""
        return f"Persistant depuis {_nombre(entree['nuits'], 'nuit')}{vue}"

    def changement(self, e: dict) -> str:
        """One line of « Nouveaux » or « Disparus »."""
        vu = ""
        if e["etat"] == "disparu" and e["premiere_vue"]:
            vu = f" (vu {_nombre(e['nuits'], 'nuit')} depuis le {self.date('jour_court', e['premiere_vue'])})"
        return (f'<li><span class="gravite">{self.texte(e["gravite"])}</span> {self.appareil(e)} — '
                f"{self.ou(c=e)}{vu}</li>\n")

    def fiche(self, c: dict, etat: dict | None) -> str:
        """One finding: what, where, since when, and its evidence folded."""
        t = self.texte
        leve = c["statut"] != "actif"
        parties = [
            f'<article class="constat {"critique" if c["gravite"] == "critique" else "a-verifier"}{" leve" if leve else ""}"',
            f' data-etat="{t(etat["etat"])}">\n' if etat else ">\n",
            f'<h3><span class="gravite">{t(c["gravite"])}</span>', '<span class="gravite">levé</span>' if leve else "",
            f" {self.appareil(c)}</h3>\n<p class=\"ou\">{self.ou(c)}</p>\n",
        ]
        if etat:
            parties.append(f'<p class="etat {t(etat["etat"])}">{self.depuis(etat)}</p>\n')
        parties.append(f"<p>{t(c['message'])}</p>\n<details><summary>Preuves</summary>\n<dl class=\"preuves\">\n"
                       f'<dt>MAC</dt><dd><span class="mac">{t(c["mac"] or "-")}</span></dd>\n'
                       f"<dt>Fabricant</dt><dd>{t(c['fabricant'] or 'inconnu')}</dd>\n")
        motifs = c["identification"].get("motifs")
        if motifs:
            parties.append(f"<dt>Reconnu par</dt><dd>{' ; '.join(map(t, motifs))}</dd>\n")
        mdns = ", ".join(t(m["service"]) + (f" ({t(m['modele'])})" if m["modele"] else "") for m in c["services_mdns"])
        parties.append(
            f"<dt>IP</dt><dd>{', '.join(map(t, c['ips'])) or '-'}</dd>\n"
            f"<dt>Équipement et port</dt><dd>{self.emplacements(c) or '-'}</dd>\n"
            f"<dt>VLAN</dt><dd>{', '.join(map(t, c['vlans'])) or '-'}</dd>\n"
            f"<dt>Noms d'hôte</dt><dd class=\"noms\">{', '.join(map(t, c['noms_hote'])) or '-'}</dd>\n"
            f"<dt>mDNS</dt><dd>{mdns or '-'}</dd>\n"
            f"<dt>Sources</dt><dd><ul class=\"sources\">{''.join(f'<li>{t(s)}</li>' for s in c['sources'])}</ul></dd>\n")
        if c.get("vu_le"):
            parties.append(f"<dt>Vu le</dt><dd>{self.date('moment', c['vu_le'])}</dd>\n")
        derogation = c["derogation"]
        if derogation:
            jusqu = "expirée le" if derogation["expiree"] else "jusqu'au"
            parties.append(f"<dt>Dérogation</dt><dd>{t(derogation['justification'])} "
                           f"({jusqu} {self.date('jour', derogation['expiration'])})</dd>\n")
        parties.append("</dl>\n</details>\n</article>\n")
        return "".join(parties)


_CONSTAT_VIDE = {"gravite": "?", "reseau": "?", "type": None, "mac": None, "ips": [], "fabricant": None,
                 "identification": {"signature": None, "categorie": None}, "emplacements": [], "etat": "?",
                 "premiere_vue": None, "nuits": 0}
_LISTES_VIDES = {"equipements": {"equipement": "?", "etat": "?"},
                 "derogations_expirant": {"mac": "?", "reseau": "?", "expire": "?", "jours": 0}}


def _changements_lisibles(changements: object) -> dict | None:
    """The night's changes with every field the page shows (an entry the history gave incomplete is shown
    with « ? », never a report that cannot be written); None when there is no history."""
    if not isinstance(changements, dict):
        return None
    propres = {}
    if changements.get("historique") is False:  # an audit without history, or whose history was not written
        propres["sans_historique"] = True
        if isinstance(changements.get("note"), str):
            propres["note"] = changements["note"]
        if isinstance(changements.get("derogations_expirant"), list):
            vide = _LISTES_VIDES["derogations_expirant"]
            propres["derogations_expirant"] = [{**vide, **e} for e in changements["derogations_expirant"]
                                               if isinstance(e, dict)]
        return propres
    if "precedent" in changements:
        precedent = changements["precedent"]
        propres["precedent"] = precedent if isinstance(precedent, dict) and "date" in precedent else None
    if isinstance(changements.get("constats"), list):
        propres["constats"] = [
            {**_CONSTAT_VIDE, **e, "identification": {**_CONSTAT_VIDE["identification"], **(e.get("identification") or {})},
             "nuits": e["nuits"] if isinstance(e.get("nuits"), int) and not isinstance(e["nuits"], bool) else 0}
            for e in changements["constats"] if isinstance(e, dict)]
    for cle, vide in _LISTES_VIDES.items():
        if isinstance(changements.get(cle), list):
            propres[cle] = [{**vide, **e} for e in changements[cle] if isinstance(e, dict)]
    return propres


def _cle_constat(constat: dict) -> tuple:
    """What identifies a finding from one night to the next: network, kind, device (MAC, else its IPs)."""
    return (constat.get("reseau"), constat.get("type"), constat.get("mac") or tuple(constat.get("ips") or ()))
