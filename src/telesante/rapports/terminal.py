"""Terminal report with rich. Device-provided strings are shown as plain Text, never as markup."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

_STYLES = {"conforme": "green", "non_conforme": "bold red", "incomplet": "yellow"}
_LIBELLES = {"conforme": "conforme", "non_conforme": "NON CONFORME", "incomplet": "INCOMPLET"}


def _constats(document: dict) -> Table:
    table = Table(title="Constats sur les réseaux de mission", show_lines=False, expand=True)
    for title in ("Gravité", "Réseau", "MAC", "Identification", "IP", "Équipement / port", "Nom d'hôte", "Constat"):
        table.add_column(title, overflow="fold")
    for c in document["constats"]:
        style = "dim" if c["statut"] != "actif" else ("bold red" if c["gravite"] == "critique" else "yellow")
        gravite = c["gravite"] if c["statut"] == "actif" else f"{c['gravite']} (levé)"
        ident = c["identification"]["signature"] or c["fabricant"] or "inconnu"
        table.add_row(
            Text(gravite, style=style),
            Text(c["reseau"]),
            Text(c["mac"] or "-"),
            Text(ident),
            Text(", ".join(c["ips"])),
            Text(", ".join(f"{e['equipement']} {e['port']}" for e in c["emplacements"])),
            Text(", ".join(c["noms_hote"])),
            Text(c["message"]),
        )
    return table


def _reseaux(document: dict) -> Table:
    table = Table(title="Résumé par réseau")
    for title in ("Site", "Réseau", "Type", "Appareils", "Constats actifs", "Statut"):
        table.add_column(title)
    for r in document["reseaux"]:
        statut = Text(_LIBELLES[r["statut"]], style=_STYLES[r["statut"]])
        if r["type"] != "mission":
            statut = Text("non audité (hors mission)", style="dim")
        table.add_row(Text(r["site"]), Text(r["nom"]), Text(r["type"].replace("_", " ")),
                      str(r["appareils"]), str(r["constats_actifs"]), statut)
    return table


def afficher(document: dict, console: Console | None = None) -> None:
    """Print the findings, the per-network summary, unread equipment and the verdict."""
    console = console or Console()
    if document["constats"]:
        console.print(_constats(document))
    console.print(_reseaux(document))
    for e in document["equipements"]:
        if e["statut"] == "incomplet":
            console.print(Text(f"Équipement incomplet : {e['nom']} ({e['plateforme']}, site {e['site']})", style="yellow"))
            for probleme in e["problemes"]:
                console.print(Text(f"  - {probleme}"))
    for note in document["notes"]:
        console.print(Text(f"Note : {note}", style="yellow"))
    resume = document["resume"]
    verdict = document["verdict"]
    console.print(
        Text(
            f"{resume['equipements']} équipements ({resume['equipements_incomplets']} incomplets), "
            f"{resume['appareils']} appareils ; {resume['constats_critiques']} critiques, "
            f"{resume['constats_a_verifier']} à vérifier, {resume['constats_leves']} levés par dérogation."
        )
    )
    console.print(
        Text(f"Verdict : {verdict['signification']} (code {verdict['code_sortie']})",
             style=_STYLES.get(verdict["statut"], "bold"))
    )
