"""What an audit leaves behind: its history entry and alerts, then its reports (one per format asked, written whole).

A report or a history entry that could not be written leaves the verdict as it is, but raises the
exit code to incomplete at least: the scheduler does not have everything it expects.
"""

from __future__ import annotations

from pathlib import Path

from telesante.codes import INCOMPLET
from telesante.ecriture import ecrire_atomiquement, raison
from telesante.rapports.registre import FORMATS_RAPPORT


def fichiers_demandes(noms: list[str]) -> list[str]:
    """The formats asked for that are files (the terminal is shown, not written)."""
    return [nom for nom in noms if FORMATS_RAPPORT[nom].fichier is not None]


def publier(document: dict, code: int, configuration, noms: list[str], dossier: Path, historique: Path | None,
            erreurs) -> int:
    """Add a run whose verdict is `code` to `historique` (changes, trend, alerts), then show and write its
    reports `noms`, which tell those changes and alerts.

    Returns the exit code: `code`, or incomplete (at least) when a report or the history entry was not
    written. `erreurs`: the console of messages (stderr).
    """
    from telesante.nuit import passer_la_nuit

    document["fuseau_horaire"] = configuration.fuseau_horaire  # the dates of the HTML report and of the alerts
    code = max(code, passer_la_nuit(document, configuration, historique, erreurs, FORMATS_RAPPORT["html"].produire))
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
    return code
