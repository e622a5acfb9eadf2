"""What one equipment's collection produced: observations, or why it is incomplete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.plateformes import Annexe, Lecture
from telesante.modele import Equipement
from telesante.observation import Observation


@dataclass
class ResultatCollecte:
    """Outcome of reading one equipment. Any problem makes it incomplete (fail closed)."""

    equipement: Equipement
    observations: list[Observation] = field(default_factory=list)
    problemes: list[str] = field(default_factory=list)
    lectures_reussies: list[str] = field(default_factory=list)

    @property
    def complet(self) -> bool:
        return not self.problemes

    def analyser(self, lecture: Lecture, texte: str, origine: str, annexes: Mapping[str, Annexe] | None = None) -> None:
        """Parse one read's text with the platform's parser, recording a problem on failure.

        `annexes`: the texts of the read's annex commands (`Lecture.annexes`), by command.
        """
        source = f"{self.equipement.nom} : {lecture.commande.format(chemin=self.equipement.chemin_fichier or '')}"
        extra = {"annexes": dict(annexes or {})} if lecture.annexes else {}
        if lecture.table_mac:
            extra["vlan_par_defaut"] = self.equipement.vlan_par_defaut
        try:
            self.observations.extend(lecture.analyser(texte, self.equipement.nom, source, **extra))
        except SortieIllisible as exc:
            self.problemes.append(exc.decrire(origine))
        else:
            self.lectures_reussies.append(lecture.commande)
