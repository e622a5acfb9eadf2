"""File reports: JSON, CSV for French-locale Excel, JUnit XML for CI."""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET

from telesante.inerte import document_inerte

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
