"""What an audit leaves behind: its reports (one per format asked, written whole) and its history entry.

A report or a history entry that could not be written leaves the verdict as it is, but raises the
exit code to incomplete at least: the scheduler does not have everything it expects.
"""

from __future__ import annotations

from pathlib import Path

from telesante.codes import INCOMPLET
from telesante.ecriture import ecrire_atomiquement, raison
from telesante.inerte import inerte
from telesante.rapports.registre import FORMATS_RAPPORT


def fichiers_demandes(noms: list[str]) -> list[str]:
    """The formats asked for that are files (the terminal is shown, not written)."""
    return [nom for nom in noms if FORMATS_RAPPORT[nom].fichier is not None]


def publier(document: dict, code: int, noms: list[str], dossier: Path, historique: Path | None, erreurs) -> int:
    """Show and write the reports `noms` of a run whose verdict is `code`, then add it to `historique`.

    Returns the exit code: `code`, or incomplete (at least) when a report or the history entry was not
    written. `erreurs`: the console of messages (stderr).
    """
    if "terminal" in noms:
        FORMATS_RAPPORT["terminal"].produire(document)
    for name in fichiers_demandes(noms):
        path = dossier / FORMATS_RAPPORT[name].fichier
        try:
            ecrire_atomiquement(path, FORMATS_RAPPORT[name].produire(document))
        except OSError as exc:
            erreurs.print(f"Rapport {name} non écrit ({path}) : {raison(exc)}", style="bold red", markup=False)
            code = max(code, INCOMPLET)  # the verdict stands, but a report the scheduler expects is missing
            continue
        erreurs.print(f"Rapport {name} : {path}", markup=False)
    if historique is not None:
        from telesante.historique import ErreurHistorique, enregistrer

        try:
            run = enregistrer(historique, document)
            erreurs.print(f"Passage n° {run} ajouté à l'historique {historique}", markup=False)
        except ErreurHistorique as exc:
            erreurs.print(f"Historique : {inerte(str(exc))}", style="bold red", markup=False)
            return max(code, INCOMPLET)
    return code
