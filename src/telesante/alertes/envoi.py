"""Sending the queued alerts (the history keeps the queue): each queued alert is tried once per
run until it leaves; once it has left it is never sent again. A failure is told (stderr and
the report) and never changes the verdict or the exit code."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from telesante import historique
from telesante.alertes import ErreurEnvoi
from telesante.alertes.configuration import ConfigurationAlertes
from telesante.inerte import inerte


def _expedier(configuration: ConfigurationAlertes, canal: str, contenu: dict, rapport_html: bytes | None,
              nuit: str) -> None:
    if canal == "courriel":
        from telesante.alertes import courriel

        courriel.envoyer(configuration.courriel, contenu, rapport_html, nuit)
    elif canal == "syslog":
        from telesante.alertes import syslog

        syslog.envoyer(configuration.syslog, contenu)
    else:
        from telesante.alertes import webhook

        webhook.envoyer(configuration.webhook, contenu)


def envoyer_en_attente(fichier: Path, configuration: ConfigurationAlertes, rapport_html: bytes | None, nuit: str,
                       console) -> dict:
    """Try every queued alert whose channel is declared; return document["alertes"]."""
    bilan = {"canaux": list(configuration.canaux()), "envoyees": [], "en_echec": [], "note": None}
    try:
        attente = historique.alertes_en_attente(fichier)
    except historique.ErreurHistorique as exc:
        bilan["note"] = f"alertes non envoyées : {exc} ; elles restent en attente pour le passage suivant"
        console.print(f"Alertes : {inerte(bilan['note'])}", style="bold red", markup=False)
        return bilan
    for alerte in attente:
        canal, contenu = alerte["canal"], alerte["contenu"]
        entree = {"canal": canal, "passage": alerte["passage"], "nuit": contenu["nuit"],
                  "evenements": len(contenu["evenements"]), "tentatives": alerte["tentatives"] + 1}
        if getattr(configuration, canal, None) is None:
            entree["erreur"] = f"canal « {canal} » retiré de l'inventaire : alerte abandonnée"
            bilan["en_echec"].append(entree)
            console.print(f"Alerte {canal} de la nuit du {contenu['nuit']} abandonnée : canal retiré de l'inventaire",
                          style="bold red", markup=False)
            try:
                historique.noter_envoi(fichier, alerte["id"], entree["erreur"], "", abandon=True)
            except historique.ErreurHistorique as exc:
                console.print(f"Alertes : {inerte(str(exc))}", style="bold red", markup=False)
            continue
        try:
            _expedier(configuration, canal, contenu, rapport_html, nuit)
            erreur = None
        except ErreurEnvoi as exc:
            erreur = str(exc)
        except Exception as exc:  # noqa: BLE001 -- an alert that fails never takes the verdict with it
            erreur = f"erreur interne de telesante ({type(exc).__name__})"
        try:
            historique.noter_envoi(fichier, alerte["id"], erreur, datetime.now(timezone.utc).isoformat())
        except historique.ErreurHistorique as exc:
            console.print(f"Alertes : {inerte(str(exc))}", style="bold red", markup=False)
        if erreur is None:
            bilan["envoyees"].append(entree)
            console.print(f"Alerte {canal} envoyée (nuit du {contenu['nuit']}, "
                          f"{entree['evenements']} changement(s))", markup=False)
        else:
            entree["erreur"] = erreur
            bilan["en_echec"].append(entree)
            console.print(f"Alerte {canal} NON envoyée (nuit du {contenu['nuit']}) : {inerte(erreur)} ; "
                          "elle sera retentée au passage suivant", style="bold red", markup=False)
    return bilan
