"""Offline collection: one capture folder per equipment, one file per command."""

from __future__ import annotations

from telesante.collecte.plateformes import lectures
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
        try:
            texte = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            resultat.problemes.append(f"{path} : capture illisible ({exc})")
            continue
        resultat.analyser(lecture, texte, str(path))
    return resultat
