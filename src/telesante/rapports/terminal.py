"""Terminal report with rich. Device-provided strings are shown as plain Text, never as markup,
and inert (control characters written `\\x1b`...: see telesante.inerte).

On a wide terminal the findings are one table; on a narrow one (80 columns, a CI log, a
mail from the scheduler) each finding is a short block instead, so that a MAC or an
address is never cut across lines and can be copied as is.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from telesante.rapports.formats import lieu_non_declare, preuve_isolement
from telesante.inerte import document_inerte

_STYLES = {"conforme": "green", "non_conforme": "bold red", "incomplet": "yellow"}
_LIBELLES = {"conforme": "conforme", "non_conforme": "NON CONFORME", "incomplet": "INCOMPLET"}

# Below this width the findings table would fold MACs and addresses: blocks instead.
LARGEUR_TABLEAU = 150
# Below this width the table of undeclared VLANs would cut equipment names: one line each.
LARGEUR_NON_DECLARES = 110
# Below this, the isolation pairs are one line each (a probe's name is never cut: it is copied into commands).
LARGEUR_ISOLEMENT = 100


def pluriel(nombre: int, singulier: str, pluriel_: str | None = None) -> str:
    """"1 appareil", "2 appareils" (French: 0 and 1 take the singular)."""
    return f"{nombre} {singulier if nombre < 2 else (pluriel_ or singulier + 's')}"


def _style(constat: dict) -> str:
    if constat["statut"] != "actif":
        return "dim"
    return "bold red" if constat["gravite"] == "critique" else "yellow"


def _gravite(constat: dict) -> str:
    return constat["gravite"] if constat["statut"] == "actif" else f"{constat['gravite']} (levé)"


def _identification(constat: dict) -> str:
    return constat["identification"]["signature"] or constat["fabricant"] or "inconnu"


def _emplacements(constat: dict) -> str:
    return ", ".join(f"{e['equipement']} {e['port']}" for e in constat["emplacements"])


def _tableau_constats(document: dict) -> Table:
    from telesante.changements import cle_constat

    suivis = _suivis(document)
    table = Table(title="Constats sur les réseaux de mission", expand=True)
    colonnes = [("Gravité", True), ("Réseau", True), ("MAC", True), ("Identification", False),
                ("IP", True), ("Équipement / port", False), ("Nom d'hôte", False), ("Constat", False)]
    if suivis:
        colonnes.append(("Depuis", False))
    for title, no_wrap in colonnes:
        table.add_column(title, no_wrap=no_wrap, overflow="fold")
    for c in document["constats"]:
        cells = [Text(_gravite(c), style=_style(c)), Text(c["reseau"]), Text(c["mac"] or "-"), Text(_identification(c)),
                 Text("\n".join(c["ips"])), Text(_emplacements(c)), Text("\n".join(c["noms_hote"])), Text(c["message"])]
        if suivis:
            cells.append(Text(suivi(suivis.get(cle_constat(c)))))
        table.add_row(*cells)
    return table


def _fiche(constat: dict, depuis: str = "") -> Group:
    """One finding as a few lines: headline, message, then the evidence to go and unplug it."""
    title = Text()
    title.append(_gravite(constat).upper(), style=_style(constat))
    title.append(f"  {constat['reseau']}  {constat['mac'] or 'MAC inconnue'}  ")
    title.append(_identification(constat), style="bold")
    lines = [title, Padding(Text(constat["message"]), (0, 0, 0, 2), expand=False)]
    evidence = [
        ("IP", ", ".join(constat["ips"])),
        ("emplacement", _emplacements(constat)),
        ("nom d'hôte", ", ".join(constat["noms_hote"])),
        ("mDNS", ", ".join(s["service"] + (f" ({s['modele']})" if s["modele"] else "") for s in constat["services_mdns"])),
        ("suivi", depuis),
    ]
    for label, value in evidence:
        if value:
            lines.append(Padding(Text(f"{label} : {value}"), (0, 0, 0, 2), expand=False))
    return Group(*lines, Text(""))


def _reseaux(document: dict) -> Table:
    table = Table(title="Résumé par réseau",
                  caption="hors mission : appareils grand public permis, réseau non audité")
    table.add_column("Site", overflow="fold")
    table.add_column("Réseau", overflow="fold")
    table.add_column("Appareils", justify="right")
    table.add_column("Constats actifs", justify="right")
    table.add_column("Statut", no_wrap=True)
    for r in document["reseaux"]:
        if r["type"] == "mission":
            statut = Text(_LIBELLES[r["statut"]], style=_STYLES[r["statut"]])
        else:
            statut = Text("hors mission", style="dim")
        table.add_row(Text(r["site"]), Text(r["nom"]), str(r["appareils"]), str(r["constats_actifs"]), statut)
    return table


_ISOLEMENT = {"separe": ("séparé", "green"), "non_separe": ("NON SÉPARÉ", "bold red"),
              "non_verifie": ("non vérifié", "yellow")}


def _isolement(document: dict) -> Table:
    table = Table(title="Isolement des réseaux", caption="depuis chaque réseau hors mission, par ses sondes d'isolement")
    table.add_column("Site", overflow="fold")
    table.add_column("Depuis", overflow="fold")
    table.add_column("Vers", overflow="fold")
    table.add_column("Statut", no_wrap=True)
    table.add_column("Sondes", no_wrap=True)
    for p in document["isolement"]["paires"]:
        libelle, style = _ISOLEMENT[p["statut"]]
        table.add_row(Text(p["site"]), Text(p["depuis"]), Text(p["vers"]), Text(libelle, style=style),
                      Text("\n".join(p["sondes"]) or "aucune"))
    return table


def _non_declares(document: dict) -> Table:
    table = Table(title="VLAN et plages vus mais non déclarés",
                  caption="à déclarer dans telesante_reseaux (type mission ou hors_mission) ; "
                          "sans VLAN ni IP : telesante_vlan_par_defaut de l'équipement")
    table.add_column("Site", no_wrap=True)
    table.add_column("VLAN / plage", no_wrap=True)
    table.add_column("Appareils", justify="right")
    table.add_column("Interdits", justify="right")
    table.add_column("Sans réseau", justify="right")
    table.add_column("Équipements", overflow="fold")
    for e in document.get("non_declares", ()):
        table.add_row(Text(e["site"]), Text(lieu_non_declare(e)), str(e["appareils"]),
                      Text(str(e["interdits"]), style="bold red" if e["interdits"] else ""),
                      Text(str(e["non_places"]), style="yellow" if e["non_places"] else ""),
                      Text(", ".join(e["equipements"])))
    return table


def _ligne_non_declare(entree: dict) -> Text:
    """One undeclared VLAN or range on a narrow terminal: whole names, nothing cut."""
    line = Text(f"- {entree['site']}  ")
    line.append(lieu_non_declare(entree), style="bold")
    line.append(f" : {pluriel(entree['appareils'], 'appareil')}, dont ")
    line.append(f"{entree['interdits']} d'une catégorie interdite", style="bold red" if entree["interdits"] else "")
    line.append(", ")
    line.append(f"{entree['non_places']} sur aucun réseau", style="yellow" if entree["non_places"] else "")
    line.append(f" ; vus par {', '.join(entree['equipements'])}")
    return line


def _resume(resume: dict) -> str:
    return (
        f"{pluriel(resume['equipements'], 'équipement')} "
        f"(dont {pluriel(resume['equipements_incomplets'], 'incomplet')}), "
        f"{pluriel(resume['appareils'], 'appareil')} ; {pluriel(resume['constats_critiques'], 'critique')}, "
        f"{resume['constats_a_verifier']} à vérifier, "
        f"{pluriel(resume['constats_leves'], 'levé', 'levés')} par dérogation."
    )


# Beyond this many new or gone findings, the terminal gives the count and points at the files.
CHANGEMENTS_AFFICHES = 20


def suivi(entree: dict | None) -> str:
    """« nouveau », « depuis 12 nuits (2026-11-10) », « disparu » : a finding against the previous run."""
    if not entree:
        return ""
    if entree["etat"] == "nouveau":
        return "nouveau"
    if entree["etat"] == "disparu":
        return f"disparu (vu {pluriel(entree['nuits'], 'nuit')} depuis le {entree['premiere_vue']})"
    return f"depuis {pluriel(entree['nuits'], 'nuit')} (le {entree['premiere_vue']})"


def _suivis(document: dict) -> dict[str, dict]:
    from telesante.changements import DISPARU, cle_constat

    return {cle_constat(c): c for c in (document.get("changements") or {}).get("constats", ()) if c["etat"] != DISPARU}


def _ligne_changement(entree: dict) -> Text:
    ligne = Text()
    etat = entree["etat"]
    ligne.append(etat.upper(), style="bold red" if etat == "nouveau" and entree["gravite"] == "critique"
                 and entree["statut"] == "actif" else "bold" if etat == "nouveau" else "green")
    quoi = entree.get("mac") or entree.get("cible") or ", ".join(entree.get("ips", ())) or "?"
    reseau = entree.get("reseau") or f"{entree.get('depuis')} → {entree.get('vers')}"
    ligne.append(f"  {_gravite(entree)}  {reseau}  {quoi}  {entree['message']}")
    if etat == "disparu":
        ligne.append(f" ({suivi(entree)}", style="dim")
        if entree.get("reseau_incomplet"):
            ligne.append(" ; réseau incomplet cette nuit : peut-être toujours là", style="yellow")
        ligne.append(")", style="dim")
    return ligne


def _changements(document: dict, console: Console) -> None:
    """What changed since the previous run: new and gone findings, equipment, waivers, alerts."""
    changements = document.get("changements")
    if changements is None:
        return
    precedent = changements["precedent"]
    if precedent is not None:
        titre = f"Changements depuis le passage précédent (nuit du {precedent['nuit']}, passage n° {precedent['passage']})"
    else:
        titre = "Changements depuis le passage précédent"
    console.print(Text(titre, style="bold"))
    entrees = changements["constats"] + changements["constats_isolement"]
    if changements["note"]:
        console.print(Padding(Text(changements["note"], style="yellow"), (0, 0, 0, 2), expand=False))
    if precedent is not None:
        comptes = {etat: sum(1 for e in entrees if e["etat"] == etat) for etat in ("nouveau", "persistant", "disparu")}
        console.print(Padding(Text(f"{pluriel(comptes['nouveau'], 'constat nouveau', 'constats nouveaux')}, "
                                   f"{comptes['persistant']} persistant{'s' if comptes['persistant'] > 1 else ''}, "
                                   f"{pluriel(comptes['disparu'], 'disparu')}"), (0, 0, 0, 2), expand=False))
        montres = [e for e in entrees if e["etat"] != "persistant"]
        for entree in montres[:CHANGEMENTS_AFFICHES]:
            console.print(Padding(_ligne_changement(entree), (0, 0, 0, 2), expand=False))
        if len(montres) > CHANGEMENTS_AFFICHES:
            console.print(Padding(Text(f"… et {len(montres) - CHANGEMENTS_AFFICHES} autres (rapport.json, "
                                       "rapport.csv : colonne « Changement »)"), (0, 0, 0, 2), expand=False))
    for entree in changements["equipements"]:
        texte = ("devenu illisible (lu au passage précédent)" if entree["etat"] == "devenu_illisible"
                 else "redevenu lisible")
        console.print(Padding(Text(f"Équipement {entree['equipement']} : {texte}",
                                   style="yellow" if entree["etat"] == "devenu_illisible" else "green"),
                              (0, 0, 0, 2), expand=False))
    for entree in changements["derogations_expirant"]:
        quoi = entree["mac"] or f"isolement depuis {entree['reseau']} vers {entree.get('cible')}"
        ou = f" sur {entree['reseau']}" if entree["mac"] and entree["reseau"] else ""
        quand = "ce soir" if entree["jours"] == 0 else f"dans {pluriel(entree['jours'], 'jour')}"
        console.print(Padding(Text(f"Dérogation qui expire {quand} ({entree['expire']}) : {quoi}{ou} : "
                                   f"{entree['justification']}", style="yellow"), (0, 0, 0, 2), expand=False))
    alertes = document.get("alertes")
    if alertes:
        if alertes["note"]:
            console.print(Text(f"Alertes : {alertes['note']}", style="bold red"))
        for entree in alertes["envoyees"]:
            console.print(Text(f"Alerte {entree['canal']} envoyée (nuit du {entree['nuit']})", style="green"))
        for entree in alertes["en_echec"]:
            console.print(Text(f"Alerte {entree['canal']} NON envoyée (nuit du {entree['nuit']}, essai "
                               f"{entree['tentatives']}) : {entree['erreur']} ; retentée au passage suivant",
                               style="bold red"))


def afficher(document: dict, console: Console | None = None) -> None:
    """Print the findings, the per-network summary, unread equipment and the verdict."""
    console = console or Console()
    document = document_inerte(document)  # device-chosen strings: no control character reaches the terminal
    if document["constats"]:
        if console.width >= LARGEUR_TABLEAU:
            console.print(_tableau_constats(document))
        else:
            console.print(Text("Constats sur les réseaux de mission", style="bold"), justify="center")
            console.print()
            from telesante.changements import cle_constat

            suivis = _suivis(document)
            for constat in document["constats"]:
                console.print(_fiche(constat, suivi(suivis.get(cle_constat(constat))) if suivis else ""))
    console.print(_reseaux(document))
    if document.get("isolement", {}).get("paires"):
        if console.width >= LARGEUR_ISOLEMENT:
            console.print(_isolement(document))
        else:
            console.print(Text("Isolement des réseaux (depuis chaque réseau hors mission, par ses sondes)", style="bold"))
            for p in document["isolement"]["paires"]:
                libelle, style = _ISOLEMENT[p["statut"]]
                ligne = Text(f"{p['site']} : {p['depuis']} → {p['vers']} : ")
                ligne.append(libelle, style=style)
                ligne.append(f" (sondes : {', '.join(p['sondes']) or 'aucune'})")
                console.print(Padding(ligne, (0, 0, 0, 2), expand=False))
        for constat in document["isolement"]["constats"]:
            leve = constat["statut"] != "actif"
            console.print(Text(f"{'Levé' if leve else 'CRITIQUE'} : {constat['message']}",
                               style="dim" if leve else "bold red"))
            console.print(Padding(Text(f"- {preuve_isolement(constat)}"), (0, 0, 0, 2), expand=False))
    if document.get("non_declares"):
        if console.width >= LARGEUR_NON_DECLARES:
            console.print(_non_declares(document))
        else:
            console.print(Text("VLAN et plages vus mais non déclarés (à déclarer dans telesante_reseaux, type "
                               "mission ou hors_mission ; sans VLAN ni IP : telesante_vlan_par_defaut de "
                               "l'équipement)", style="bold"))
            for entree in document["non_declares"]:
                console.print(Padding(_ligne_non_declare(entree), (0, 0, 0, 2), expand=False))
    for e in document["equipements"]:
        if e["statut"] == "incomplet":
            console.print(Text(f"Équipement incomplet : {e['nom']} ({e['plateforme']}, site {e['site']})", style="yellow"))
            for probleme in e["problemes"]:
                console.print(Padding(Text(f"- {probleme}"), (0, 0, 0, 2), expand=False))
    for note in document["notes"]:
        console.print(Text(f"Note : {note}", style="yellow"))
    _changements(document, console)
    console.print(Text(_resume(document["resume"])))
    verdict = document["verdict"]
    console.print(
        Text(f"Verdict : {verdict['signification']} (code {verdict['code_sortie']})",
             style=_STYLES.get(verdict["statut"], "bold"))
    )
