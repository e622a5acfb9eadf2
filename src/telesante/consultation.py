"""`telesante historique FICHIER --comparer AVANT APRES` and `--mac MAC`: the difference between
two runs, and the life of one MAC across the runs. Strictly read-only (telesante.historique)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from telesante import changements, historique
from telesante.inerte import document_inerte, inerte
from telesante.rapports.terminal import pluriel

_STATUTS = {"conforme": "conforme", "non_conforme": "non conforme", "incomplet": "incomplet", None: "absent"}


def _erreur(exc: Exception) -> int:
    from telesante.codes import ERREUR_CONFIGURATION

    Console(stderr=True, soft_wrap=True, highlight=False).print(inerte(str(exc)), style="bold red", markup=False)
    return ERREUR_CONFIGURATION


def afficher_ecart(fichier, avant: str, apres: str, console: Console | None = None) -> int:
    """Print what changed between two runs (numbers or nights); 0, or 3 with a French message."""
    console = console or Console()
    try:
        passage_avant, passage_apres = historique.comparer(fichier, avant, apres)
    except historique.ErreurHistorique as exc:
        return _erreur(exc)
    ecart = document_inerte(changements.ecart(passage_avant, passage_apres))
    console.print(Text(f"Passage n° {passage_apres.passage} (nuit du {passage_apres.nuit}) comparé au passage "
                       f"n° {passage_avant.passage} (nuit du {passage_avant.nuit})", style="bold"))
    entrees = ecart["constats"] + ecart["constats_isolement"]
    comptes = {etat: sum(1 for e in entrees if e["etat"] == etat) for etat in ("nouveau", "persistant", "disparu")}
    console.print(Text(f"Constats : {comptes['nouveau']} nouveau{'x' if comptes['nouveau'] > 1 else ''}, "
                       f"{comptes['persistant']} persistant{'s' if comptes['persistant'] > 1 else ''}, "
                       f"{pluriel(comptes['disparu'], 'disparu')}"))
    if entrees:
        table = Table(expand=False)
        for titre in ("Changement", "Gravité", "Statut", "Réseau", "Appareil", "Type", "Constat", "Vu depuis"):
            table.add_column(titre, overflow="fold")
        ordre = {"nouveau": 0, "disparu": 1, "persistant": 2}
        for e in sorted(entrees, key=lambda e: ordre[e["etat"]]):
            reseau = e.get("reseau") or f"{e.get('depuis')} → {e.get('vers')}"
            appareil = e.get("mac") or e.get("cible") or ", ".join(e.get("ips", ())) or "-"
            table.add_row(*(Text(str(v)) for v in (
                e["etat"], e["gravite"], e["statut"], reseau, appareil, e["type"], e["message"],
                f"{e['premiere_vue']} ({pluriel(e['nuits'], 'nuit')})")))
        console.print(table)
    for e in ecart["equipements"]:
        console.print(Text(f"Équipement {e['equipement']} : "
                           f"{'devenu illisible' if e['etat'] == 'devenu_illisible' else 'redevenu lisible'}"))
    for r in ecart["reseaux"]:
        console.print(Text(f"Réseau de mission {r['reseau']} : {_STATUTS.get(r['avant'], r['avant'])} → "
                           f"{_STATUTS.get(r['apres'], r['apres'])}"))
    return 0


def afficher_vie_mac(fichier, texte_mac: str, console: Console | None = None) -> int:
    """Print the life of one MAC across the stored runs: when and where it was a finding, and its gaps."""
    from telesante.mac import MacInvalide, normaliser_mac

    console = console or Console()
    try:
        mac = normaliser_mac(texte_mac)
    except MacInvalide:
        return _erreur(ValueError(f"--mac : adresse MAC invalide « {inerte(texte_mac)[:41]} » "
                                  "(attendu : aa:bb:cc:dd:ee:ff)"))
    try:
        passages, constats = historique.vie_mac(fichier, mac)
    except historique.ErreurHistorique as exc:
        return _erreur(exc)
    if not constats:
        console.print(Text(f"{mac} : aucun constat dans les {pluriel(len(passages), 'passage')} de l'historique "
                           "(jamais vue sur un réseau de mission, ou autorisée)"))
        return 0
    nuits = dict(passages)
    par_passage: dict[int, list[dict]] = {}
    for constat in constats:
        par_passage.setdefault(constat["passage"], []).append(constat)
    # Periods: consecutive runs where the MAC had the same findings (network, type, severity, status).
    periodes: list[dict] = []
    for numero, _nuit in passages:
        etat = tuple(sorted((c["reseau"], c["type"], c["gravite"], c["statut"]) for c in par_passage.get(numero, ())))
        if periodes and periodes[-1]["etat"] == etat:
            periodes[-1]["fin"] = numero
            periodes[-1]["passages"] += 1
        else:
            periodes.append({"etat": etat, "debut": numero, "fin": numero, "passages": 1})
    premiers = [n for n, _ in passages if n in par_passage]
    console.print(Text(f"{mac} : constat dans {pluriel(len(premiers), 'passage')} sur {len(passages)}, "
                       f"première fois nuit du {nuits[premiers[0]]} (passage n° {premiers[0]}), dernière fois nuit du "
                       f"{nuits[premiers[-1]]} (passage n° {premiers[-1]})", style="bold"))
    table = Table(expand=False)
    for titre in ("Du", "Au", "Passages", "Réseau", "Type", "Gravité", "Statut", "Dernières preuves"):
        table.add_column(titre, overflow="fold")
    for periode in periodes:
        du, au = f"{nuits[periode['debut']]} (n° {periode['debut']})", f"{nuits[periode['fin']]} (n° {periode['fin']})"
        if not periode["etat"]:
            table.add_row(Text(du), Text(au), str(periode["passages"]), Text("absente", style="dim"), *([Text("")] * 4))
            continue
        for constat in (c for c in par_passage[periode["fin"]]):
            preuves = constat["preuves"]
            lieux = ", ".join(f"{e.get('equipement')} {e.get('port')}" for e in preuves.get("emplacements", []))
            table.add_row(*(Text(inerte(str(v))) for v in (
                du, au, periode["passages"], constat["reseau"], constat["type"], constat["gravite"], constat["statut"],
                "; ".join(x for x in (", ".join(preuves.get("ips", [])), lieux) if x))))
    console.print(table)
    return 0
