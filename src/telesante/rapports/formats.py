"""File reports: JSON, CSV for French-locale Excel, JUnit XML for CI."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

from markupsafe import escape

from telesante.inerte import document_inerte, inerte

CSV_COLONNES = [
    ("gravite", "Gravité"), ("statut", "Statut"), ("reseau", "Réseau"), ("site", "Site"),
    ("mac", "MAC"), ("fabricant", "Fabricant"), ("signature", "Identification"), ("categorie", "Catégorie"),
    ("ips", "IP"), ("vlans", "VLAN"), ("emplacements", "Équipement et port"), ("noms_hote", "Noms d'hôte"),
    ("mdns", "Services mDNS"), ("sources", "Sources"), ("message", "Constat"), ("derogation", "Dérogation"),
    ("changement", "Changement"), ("premiere_vue", "Première vue"), ("nuits", "Nuits"),
]
# « Changement » column: the finding compared with the previous run of the history (empty without history).
_CHANGEMENTS = {"nouveau": "nouveau", "persistant": "persistant", "disparu": "disparu"}

_DEMI_CARACTERE = re.compile("[\ud800-\udfff]")


def en_json(document: dict) -> str:
    """The report document as indented JSON, every string exact.

    Control characters are escaped by JSON itself; a lone UTF-16 half (which UTF-8
    cannot write) is written as its JSON escape, read back as the same string.
    """
    texte = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    return _DEMI_CARACTERE.sub(lambda m: f"\\u{ord(m.group()):04x}", texte)


def _cellule(value: str) -> str:
    # Device-provided strings (host names...) must not be taken for spreadsheet formulas
    # (a leading tab or carriage return is already written \t, \r by document_inerte).
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _emplacements(constat: dict) -> str:
    return ", ".join(
        f"{e['equipement']} {e['port']}" + (f" (VLAN {e['vlan']})" if e["vlan"] is not None else "")
        for e in constat["emplacements"]
    )


def en_csv(document: dict) -> bytes:
    """Findings as CSV that Excel in a French locale opens as is: UTF-8 with BOM, ';' separator.

    With a history, each finding says whether it is new or since when it persists, and the
    findings gone since the previous run follow, marked « disparu ».
    """
    from telesante.changements import DISPARU, cle_constat

    document = document_inerte(document)  # no control character: one line per finding, nothing acts in a viewer
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([title for _key, title in CSV_COLONNES])
    suivis = (document.get("changements") or {}).get("constats", [])
    par_cle = {cle_constat(c): c for c in suivis if c["etat"] != DISPARU}
    for constat in document["constats"] + [c for c in suivis if c["etat"] == DISPARU]:
        derogation = constat["derogation"]
        suivi = constat if "etat" in constat else par_cle.get(cle_constat(constat), {}) if par_cle else {}
        values = {
            "changement": _CHANGEMENTS.get(suivi.get("etat"), ""),
            "premiere_vue": suivi.get("premiere_vue", ""),
            "nuits": suivi.get("nuits", ""),
            **constat,
            "signature": constat["identification"]["signature"] or "",
            "categorie": constat["identification"]["categorie"] or "",
            "ips": ", ".join(constat["ips"]),
            "vlans": ", ".join(str(v) for v in constat["vlans"]),
            "emplacements": _emplacements(constat),
            "noms_hote": ", ".join(constat["noms_hote"]),
            "mdns": ", ".join(
                m["service"] + (f" ({m['modele']})" if m["modele"] else "") for m in constat["services_mdns"]
            ),
            "sources": ", ".join(constat["sources"]),
            "derogation": (
                f"{'expirée' if derogation['expiree'] else 'jusqu’au'} {derogation['expiration']} : "
                f"{derogation['justification']}" if derogation else ""
            ),
        }
        writer.writerow([_cellule(str(values.get(key) or "")) for key, _title in CSV_COLONNES])
    return buffer.getvalue().encode("utf-8-sig")


def en_junit(document: dict) -> bytes:
    """JUnit XML: one suite per mission network, one failing case per active finding.

    A network whose site could not be fully read gets an error case: CI must not
    take an unread network for a compliant one.
    """
    document = document_inerte(document)  # ElementTree writes what XML 1.0 forbids (NUL, ESC, U+FFFE...)
    suites = ET.Element("testsuites", name="telesante audit")
    incomplete = [e for e in document["equipements"] if e["statut"] == "incomplet"]
    for reseau in (r for r in document["reseaux"] if r["type"] == "mission"):
        suite = ET.SubElement(suites, "testsuite", name=f"{reseau['site']} / {reseau['nom']}")
        findings = [c for c in document["constats"] if c["reseau"] == reseau["nom"]]
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for constat in findings:
            case = ET.SubElement(
                suite, "testcase", classname=reseau["nom"],
                name=f"{constat['mac'] or constat['ips'][0]} {constat['identification']['signature'] or ''}".strip(),
            )
            counts["tests"] += 1
            if constat["statut"] != "actif":
                ET.SubElement(case, "skipped", message=f"levé par dérogation : {constat['derogation']['justification']}")
                counts["skipped"] += 1
                continue
            failure = ET.SubElement(case, "failure", type=constat["gravite"], message=constat["message"])
            failure.text = "\n".join([
                f"IP : {', '.join(constat['ips'])}",
                f"Emplacements : {_emplacements(constat)}",
                f"Fabricant : {constat['fabricant'] or 'inconnu'}",
                f"Noms d'hôte : {', '.join(constat['noms_hote'])}",
                "Services mDNS : " + ", ".join(
                    s["service"] + (f" (modèle « {s['modele']} »)" if s["modele"] else "") for s in constat["services_mdns"]),
                f"VLAN : {', '.join(str(v) for v in constat['vlans'])}",
                f"Sources : {', '.join(constat['sources'])}",
            ])
            counts["failures"] += 1
        case = ET.SubElement(suite, "testcase", classname=reseau["nom"], name="collecte complète du site")
        counts["tests"] += 1
        site_incomplete = [e for e in incomplete if e["site"] == reseau["site"]]
        if reseau["statut"] == "incomplet":
            error = ET.SubElement(case, "error", type="incomplet", message="réseau non entièrement vu")
            error.text = ("\n".join(p for e in site_incomplete for p in e["problemes"]) or reseau.get("motif")
                          or "aucun équipement lu sur ce site")
            counts["errors"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
    _junit_isolement(suites, document)
    _junit_non_declares(suites, document)
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True)


def preuve_isolement(constat: dict) -> str:
    """One line of evidence of an isolation finding: from where, to where, how, how fast."""
    port = f", port {constat['port']}" if constat["port"] is not None else ""
    nom = f" ({constat['nom']})" if constat["nom"] else ""
    detail = f" ; {constat['detail']}" if constat["detail"] else ""
    return (f"depuis {constat['depuis']} (sonde {constat['sonde']}) vers {constat['cible']}{nom}{port} "
            f"({constat['vers']}) par {constat['methode']}, en {constat['delai_ms']:g} ms{detail}")


def _junit_isolement(suites: ET.Element, document: dict) -> None:
    """One suite per site: one case per pair (off-mission -> mission); failure if not separate, error if
    a declared probe could not verify it, skipped when no probe is declared there."""
    isolement = document.get("isolement") or {"paires": [], "constats": []}
    for site in dict.fromkeys(p["site"] for p in isolement["paires"]):
        suite = ET.SubElement(suites, "testsuite", name=f"{site} / isolement des réseaux")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for paire in (p for p in isolement["paires"] if p["site"] == site):
            case = ET.SubElement(suite, "testcase", classname=f"isolement.{site}",
                                 name=f"{paire['depuis']} → {paire['vers']}")
            counts["tests"] += 1
            if paire["statut"] == "non_separe":
                preuves = [c for c in isolement["constats"] if (c["depuis"], c["vers"]) == (paire["depuis"], paire["vers"])
                           and c["statut"] == "actif"]
                failure = ET.SubElement(case, "failure", type="critique",
                                        message=f"réseaux non séparés : {paire['vers']} joint depuis {paire['depuis']}")
                failure.text = "\n".join(preuve_isolement(c) for c in preuves)
                counts["failures"] += 1
            elif paire["statut"] == "non_verifie" and paire["sondes"]:
                error = ET.SubElement(case, "error", type="incomplet", message="isolement non vérifié")
                error.text = "\n".join(p for e in document["equipements"] if e["nom"] in paire["sondes"]
                                       for p in e["problemes"]) or "rien de ce réseau de mission essayé par les sondes"
                counts["errors"] += 1
            elif paire["statut"] == "non_verifie":
                ET.SubElement(case, "skipped", message="aucune sonde d'isolement dans ce réseau hors mission")
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))


def lieu_non_declare(entree: dict) -> str:
    """« VLAN 110 », « 10.9.9.0/24 », « sans VLAN ni IP » : where undeclared sightings were."""
    if entree["vlan"] is not None:
        return f"VLAN {entree['vlan']}"
    return entree["sous_reseau"] or "sans VLAN ni IP"


def _junit_non_declares(suites: ET.Element, document: dict) -> None:
    """One suite per site with VLANs or ranges seen but declared in no network: one case each,
    an error if some of its devices are on no network at all (the site is incomplete), a
    failure if devices of a forbidden category were seen there."""
    by_site: dict[str, list[dict]] = {}
    for entree in document.get("non_declares", ()):
        by_site.setdefault(entree["site"], []).append(entree)
    for site, entrees in by_site.items():
        suite = ET.SubElement(suites, "testsuite", name=f"{site} / VLAN et plages non déclarés")
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for entree in entrees:
            lieu = lieu_non_declare(entree)
            case = ET.SubElement(suite, "testcase", classname=f"{site}.non_declares", name=lieu)
            counts["tests"] += 1
            details = "\n".join([
                f"Appareils : {entree['appareils']} (dont {entree['interdits']} d'une catégorie interdite, "
                f"{entree['non_places']} sur aucun réseau déclaré)",
                f"Équipements : {', '.join(entree['equipements'])}",
                "À déclarer dans telesante_reseaux (type mission ou hors_mission)" if entree["vlan"] is not None
                or entree["sous_reseau"] else "Entrées sans VLAN ni IP : telesante_vlan_par_defaut de l'équipement",
            ])
            if entree["non_places"]:
                error = ET.SubElement(case, "error", type="incomplet", message=f"{lieu} : appareils sur aucun réseau déclaré")
                error.text = details
                counts["errors"] += 1
            elif entree["interdits"]:
                failure = ET.SubElement(case, "failure", type="à vérifier",
                                        message=f"{lieu} : appareils interdits hors des réseaux déclarés")
                failure.text = details
                counts["failures"] += 1
            else:
                ET.SubElement(case, "system-out").text = details
        for key, value in counts.items():
            suite.set(key, str(value))


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
