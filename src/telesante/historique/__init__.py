"""History of audit runs in SQLite: every run, its verdict, its findings and unread equipment.

Cut by notion: `stockage` (schema, header, lock, reasons), `passages` (a stored run read back,
the trend), `enregistrement` (one run written), `file_alertes` (the queue of alerts) and
`lecture` (strictly read-only queries). The public names are imported from here:
`from telesante.historique import enregistrer_nuit`.
"""

from __future__ import annotations

from telesante.historique.stockage import (
    COLONNES, COLONNES_CONSTAT, COLONNES_SUIVI, DELAI_ATTENTE, ENTETE_SQLITE, PREUVES, SCHEMA, SCHEMA_NUIT,
    ErreurHistorique,
)
from telesante.historique.enregistrement import Alerteur, Enregistrement, enregistrer, enregistrer_nuit
from telesante.historique.file_alertes import alertes_en_attente, noter_envoi
from telesante.historique.lecture import adresses_vues, comparer, derniers_passages, vie_mac

__all__ = [
    "COLONNES", "COLONNES_CONSTAT", "COLONNES_SUIVI", "DELAI_ATTENTE", "ENTETE_SQLITE", "PREUVES", "SCHEMA",
    "SCHEMA_NUIT", "Alerteur", "Enregistrement", "ErreurHistorique", "adresses_vues", "alertes_en_attente",
    "comparer", "derniers_passages", "enregistrer", "enregistrer_nuit", "noter_envoi", "vie_mac",
]
