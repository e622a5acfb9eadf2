"""Live collection of one equipment: its platform's reader (SSH by default), retries, recording, parsing.

What is read goes through the very parsers of the offline path (`ResultatCollecte.analyser`),
and `--enregistrer-captures` writes it in the offline layout, so any live run replays.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from telesante.collecte import ssh
from telesante.collecte.sonde_lancee import lire_sonde_lancee
from telesante.collecte.captures import FICHIER_DATE
from telesante.collecte.contrat import (Annexe, EchecDefinitif, EchecPassager, LectureRefusee, ParametresCollecte,
                                        Plateforme, fichier_capture)
from telesante.collecte.plateformes import plateforme
from telesante.collecte.resultat import ResultatCollecte
from telesante.configuration import Equipement
from telesante.ecriture import ecrire_atomiquement


def _echec(exc: Exception, lue: Plateforme, equipement: Equipement, parametres: ParametresCollecte) -> Exception:
    """The failure an exception of a live read stands for (EchecDefinitif or EchecPassager).

    A reader of its own says its failures in these terms; anything else it raises is its own bug,
    raised again (an internal error of its collection), never taken for a network failure.
    """
    if isinstance(exc, (EchecDefinitif, EchecPassager)):
        return exc
    if lue.lecteur is not None:
        raise exc
    return ssh.message_ssh(exc, equipement, parametres)


def collecter_en_direct(equipement: Equipement, parametres: ParametresCollecte) -> ResultatCollecte:
    """Read every command of an equipment live, with bounded retries and backoff."""
    lue = plateforme(equipement.plateforme)
    resultat = ResultatCollecte(equipement)
    if not equipement.adresse:
        resultat.problemes.append("aucune adresse de gestion (ansible_host) dans l'inventaire")
        return resultat
    if lue.lecteur is None and not parametres.hotes_connus.is_file():
        resultat.problemes.append(f"fichier des clés d'hôtes introuvable : {parametres.hotes_connus}")
        return resultat
    # An isolation probe the audit launches itself: SSH too (telesante_sonde_lancee_par_audit).
    lire = lue.lecteur or (lire_sonde_lancee if equipement.lancement is not None else ssh.lire_ssh)
    delay = parametres.attente_initiale
    for attempt in range(1, parametres.tentatives + 1):
        try:
            textes = dict(lire(equipement, parametres))
            break
        except LectureRefusee as exc:
            resultat.problemes.append(str(exc))
            return resultat
        except Exception as exc:  # noqa: BLE001 - every SSH/socket failure is classified by _echec
            failure = _echec(exc, lue, equipement, parametres)
            if isinstance(failure, EchecDefinitif) or attempt == parametres.tentatives:
                suffix = f" (après {attempt} tentatives)" if attempt > 1 else ""
                resultat.problemes.append(f"{failure}{suffix}")
                return resultat
            time.sleep(delay)
            delay *= 2
    read_at = datetime.now(timezone.utc)
    if parametres.dossier_captures is not None:
        # Removed first, written last: a recording cut half-way never carries a date that is not its own.
        (parametres.dossier_captures / equipement.nom / FICHIER_DATE).unlink(missing_ok=True)
    lectures = [lecture for lecture in lue.lectures if not lecture.capture_seulement]
    annexes = {}
    for commande in dict.fromkeys(commande for lecture in lectures for commande in lecture.annexes):
        if commande not in textes:
            resultat.problemes.append(f"{equipement.nom} : « {commande} » non lue")
            continue
        origine = f"{equipement.nom} : {commande}"
        if parametres.dossier_captures is not None:
            origine = str(_enregistrer(parametres.dossier_captures, equipement, fichier_capture(commande),
                                      textes[commande]))
        annexes[commande] = Annexe(textes[commande], origine)
    for lecture in lectures:
        if lecture.commande not in textes:
            resultat.problemes.append(f"{equipement.nom} : « {lecture.commande} » non lue")
            continue
        text = textes[lecture.commande]
        origine = f"{equipement.nom} : {ssh.commande(lecture, equipement)}"
        if parametres.dossier_captures is not None:
            origine = str(_enregistrer(parametres.dossier_captures, equipement, lecture.fichier, text))
        resultat.analyser(lecture, text, origine,
                          {commande: annexes[commande] for commande in lecture.annexes if commande in annexes})
    if parametres.dossier_captures is not None:
        _enregistrer(parametres.dossier_captures, equipement, FICHIER_DATE, read_at.isoformat(timespec="seconds") + "\n")
    return resultat


def _enregistrer(dossier: Path, equipement: Equipement, fichier: str, texte: str) -> Path:
    """Write one output in the offline capture layout (atomically), so the run can be replayed."""
    folder = dossier / equipement.nom
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fichier
    ecrire_atomiquement(path, texte.encode("utf-8"))
    return path
