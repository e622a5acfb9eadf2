"""What one equipment's collection produced: observations, or why it is incomplete."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from telesante.collecte.erreurs import SortieIllisible
from telesante.collecte.contrat import Annexe, Lecture
from telesante.isolement import EssaiIsolement
from telesante.configuration import Equipement
from telesante.observation import Observation


# Largest text parsed from one capture or command (files: refused before they are read). A MAC table
# of 100,000 entries is about 5 Mio; this one (about 700,000 IOS rows) parses within 1 Gio.
TAILLE_MAX_CAPTURE = 32 * 1024 * 1024

# A source dated later than the reference moment by more than this is not trusted (clock off?).
AVANCE_TOLEREE = timedelta(minutes=5)


def decrire_taille(taille: int) -> str:
    """Message for a capture over TAILLE_MAX_CAPTURE."""
    return (f"capture trop grande ({taille / 2**20:.1f} Mio, au-delà de {TAILLE_MAX_CAPTURE // 2**20} Mio) : "
            "refusée sans être analysée")


def decrire_duree(duree: timedelta) -> str:
    """A duration in French words, rounded down to its largest unit: « 3 ans », « 11 jours », « 40 heures »."""
    days = duree.days
    # Years from one, months from two, days from three (« 48 heures » says more, near a 36-hour limit).
    for unit, minimum, singular, plural in ((365, 365, "an", "ans"), (30, 60, "mois", "mois"), (1, 3, "jour", "jours")):
        if days >= minimum:
            count = days // unit
            return f"{count} {singular if count == 1 else plural}"
    hours = int(duree.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} heure{'s' if hours > 1 else ''}"
    minutes = int(duree.total_seconds() // 60)
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


@dataclass
class ResultatCollecte:
    """Outcome of reading one equipment. Any problem makes it incomplete (fail closed)."""

    equipement: Equipement
    observations: list[Observation] = field(default_factory=list)
    problemes: list[str] = field(default_factory=list)
    lectures_reussies: list[str] = field(default_factory=list)
    # Sources that carry their own date: (when it was taken, what it is, where it comes from).
    dates: list[tuple[datetime, str, str]] = field(default_factory=list)
    # What an isolation probe tried (platform sonde_isolement): evidence, not observations.
    essais_isolement: list[EssaiIsolement] = field(default_factory=list)

    @property
    def complet(self) -> bool:
        return not self.problemes

    def analyser(self, lecture: Lecture, texte: str, origine: str, annexes: Mapping[str, Annexe] | None = None) -> None:
        """Parse one read's text with the platform's parser, recording a problem on failure.

        `annexes`: the texts of the read's annex commands (`Lecture.annexes`), by command.
        """
        if len(texte) > TAILLE_MAX_CAPTURE:
            self.problemes.append(f"{origine} : {decrire_taille(len(texte))}")
            return
        texte = texte.removeprefix("\ufeff")  # byte order mark of a file saved by a Windows editor: no content
        nul = texte.find("\x00")
        if nul >= 0:  # no CLI, lease file or sensor writes one: a binary or corrupt file, never parsed
            self.problemes.append(f"{origine}, ligne {texte.count(chr(10), 0, nul) + 1} : caractère NUL : "
                                  "fichier binaire ou corrompu ?")
            return
        source = f"{self.equipement.nom} : {lecture.commande.format(chemin=self.equipement.chemin_fichier or '')}"
        extra = {"annexes": dict(annexes or {})} if lecture.annexes else {}
        if lecture.table_mac:
            extra["vlan_par_defaut"] = self.equipement.vlan_par_defaut
        try:
            if lecture.isolement:
                essais, arret = lecture.analyser(texte, self.equipement.nom, reseau=self.equipement.reseau)
                # A run cut short still proves what it reached; what it did not try stays unverified.
                self.essais_isolement.extend(essais)
                if arret is not None:
                    self.problemes.append(f"{origine} : la sonde s'est arrêtée avant la fin de son plan (arret : "
                                          f"« {arret} ») : l'isolement n'est pas entièrement vérifié")
            else:
                self.observations.extend(lecture.analyser(texte, self.equipement.nom, source, **extra))
        except SortieIllisible as exc:
            self.problemes.append(exc.decrire(origine))
        else:
            self.lectures_reussies.append(lecture.commande)
            if lecture.date_source is not None:
                self.dater(lecture.date_source(texte), lecture.nature, origine)

    def dater(self, moment: datetime, nature: str, origine: str) -> None:
        """Record that a source (`nature`: « capture du capteur mDNS »...) was taken at `moment`."""
        self.dates.append((moment, nature, origine))

    def verifier_age(self, reference: datetime, age_max: timedelta) -> None:
        """Every dated source older than `age_max` at `reference` (or dated after it) makes this incomplete.

        Its observations stay: what a stale source saw is still reported, the verdict is not « conforme ».
        """
        for moment, nature, origine in self.dates:
            age = reference - moment
            if age > age_max:
                self.problemes.append(
                    f"{origine} : {nature} vieille de {decrire_duree(age)} (prise le {moment.isoformat()} ; âge "
                    f"maximal : {decrire_duree(age_max)}, telesante_age_max_sources_heures) : source périmée")
            elif age < -AVANCE_TOLEREE:
                self.problemes.append(
                    f"{origine} : {nature} datée du {moment.isoformat()}, après le moment de référence de l'audit "
                    f"({reference.isoformat(timespec='seconds')}) : horloge de la source ou --date erronée ?")
