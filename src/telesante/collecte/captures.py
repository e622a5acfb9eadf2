"""Offline collection: one capture folder per equipment, one file per command."""

from __future__ import annotations

from pathlib import Path

from telesante.collecte.plateformes import Annexe, fichier_capture, lectures
from telesante.collecte.resultat import ResultatCollecte
from telesante.modele import Equipement


def collecter_captures(equipement: Equipement) -> ResultatCollecte:
    """Read and parse every capture file of an equipment."""
    resultat = ResultatCollecte(equipement)
    folder = equipement.captures
    if folder is None or not folder.is_dir():
        resultat.problemes.append(f"{folder} : dossier de captures introuvable")
        return resultat
    for lecture in lectures(equipement.plateforme):
        path = folder / lecture.fichier
        if not path.is_file():
            if not lecture.capture_seulement:
                resultat.problemes.append(f"{path} : capture manquante (« {lecture.commande} »)")
            continue
        texte = _lire(path, resultat)
        if texte is None:
            continue
        # An annex's capture may be missing: its parser says whether the read needs it.
        annexes = {}
        for commande in lecture.annexes:
            annex_path = folder / fichier_capture(commande)
            annexes[commande] = Annexe(_lire(annex_path, resultat), str(annex_path))
        resultat.analyser(lecture, texte, str(path), annexes)
    return resultat


def _lire(path: Path, resultat: ResultatCollecte) -> str | None:
    """A capture's text; None if it is missing, or unreadable (a problem, then)."""
    if not path.is_file():
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        resultat.problemes.append(f"{path} : capture illisible ({exc})")
        return None
