"""The night of an audit, after the verdict: the run recorded in the history, its changes since
the previous run and the trend added to the report document, then the alerts sent.

Order: the history first (changes computed and alerts queued in the run's own transaction),
then the alerts, then the reports (so that they tell which alert did not leave). Nothing
here changes the verdict; a history that cannot be written makes the run incomplete
(code 2, as before), and its alerts are not sent: the next run, compared with the same
previous run, finds the same changes and sends them then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from telesante import changements
from telesante.inerte import inerte


def passer_la_nuit(document: dict, configuration, fichier: Path | None, console,
                   rendre_html: Callable[[dict], bytes]) -> int:
    """Add document["changements"], ["tendance"] and ["alertes"]; record the run; send the alerts.

    Returns the least exit code the run deserves from here (2 when the history could not be written).
    """
    from telesante.codes import INCOMPLET

    derogations = changements.derogations_expirant(configuration, document)
    alertes = configuration.alertes
    canaux = alertes.canaux()
    if fichier is None:
        document["changements"] = changements.sans_historique(derogations)
        document["tendance"] = [changements.tendance_du_document(document)]
        if canaux:
            _sans_alertes(document, canaux, console, "alertes non envoyées : elles demandent --historique (sans lui, "
                          "rien ne dit ce qui a changé, et chaque nuit répéterait les mêmes alertes)")
        return 0
    from telesante.alertes.evenements import evenements
    from telesante.historique import ErreurHistorique, enregistrer_nuit

    try:
        enregistrement = enregistrer_nuit(fichier, document, derogations, evenements, canaux)
    except ErreurHistorique as exc:
        console.print(f"Historique : {inerte(str(exc))}", style="bold red", markup=False)
        document["changements"] = changements.sans_historique(derogations)
        document["changements"]["note"] = "historique non enregistré : changements non calculés"
        document["tendance"] = [changements.tendance_du_document(document)]
        if canaux:
            _sans_alertes(document, canaux, console, "alertes non envoyées : l'historique n'a pas pu être écrit ; "
                          "le passage suivant retrouvera les mêmes changements et les enverra")
        return INCOMPLET
    console.print(f"Passage n° {enregistrement.passage} ajouté à l'historique {inerte(str(fichier))}", markup=False)
    document["changements"] = enregistrement.changements
    document["tendance"] = enregistrement.tendance
    if enregistrement.changements["precedent"] is None:
        console.print(f"Historique {inerte(str(fichier))} : premier passage, rien à comparer (chaque constat y est "
                      "nouveau)", markup=False)
    if canaux:
        from telesante.alertes.envoi import envoyer_en_attente

        document["alertes"] = {"canaux": list(canaux), "envoyees": [], "en_echec": [], "note": None}
        try:
            html = rendre_html(document)
        except Exception as exc:  # noqa: BLE001 -- the alert leaves without its attachment rather than not at all
            html = None
            console.print(f"Alertes : rapport HTML non joint ({type(exc).__name__})", style="bold red", markup=False)
        document["alertes"] = envoyer_en_attente(fichier, alertes, html, changements.nuit_du_document(document),
                                                 console)
    return 0


def _sans_alertes(document: dict, canaux: tuple[str, ...], console, note: str) -> None:
    document["alertes"] = {"canaux": list(canaux), "envoyees": [], "en_echec": [], "note": note}
    console.print(f"Alertes : {note}", style="bold red", markup=False)
