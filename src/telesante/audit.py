"""The audit: collection, correlation, identification, policy, verdict, from the inventory's configuration."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from telesante.codes import CONFORME, INCOMPLET, NON_CONFORME
from telesante.collecte.resultat import ResultatCollecte
from telesante.correlation import correler
from telesante.identification import Identificateur, registre_ieee
from telesante.placement import CarteReseaux
from telesante.isolement import NON_VERIFIE, ConstatIsolement, EtatIsolement, SondeLue, evaluer_isolement
from telesante.configuration import Configuration, Equipement, Reseau
from telesante.politique import ACTIF, Constat, NonDeclare, evaluer

Collecteur = Callable[[Equipement], ResultatCollecte]


@dataclass(frozen=True)
class EtatReseau:
    reseau: Reseau
    statut: str  # conforme | non_conforme | incomplet
    appareils: int
    constats_actifs: int
    motif: str | None = None  # why an incomplete mission network is incomplete
    # Active device findings by severity (as the report's « resume »; isolation findings apart).
    constats_critiques: int = 0
    constats_a_verifier: int = 0


@dataclass
class ResultatAudit:
    """Everything one run found; the reports are views of this."""

    configuration: Configuration
    debut: datetime
    fin: datetime
    date_reference: date
    mode: str
    collectes: list[ResultatCollecte]
    constats: list[Constat]
    reseaux: list[EtatReseau]
    nombre_appareils: int
    interrompu: bool = False
    notes: list[str] = field(default_factory=list)
    non_declares: list[NonDeclare] = field(default_factory=list)  # seen, but on no declared network
    constats_isolement: list[ConstatIsolement] = field(default_factory=list)  # mission reached from off-mission
    isolement: list[EtatIsolement] = field(default_factory=list)  # every pair (off-mission -> mission) of every site

    @property
    def constats_actifs(self) -> list[Constat]:
        return [c for c in self.constats if c.statut == ACTIF]

    @property
    def code_sortie(self) -> int:
        # Fail closed: a mission network that no equipment has fully seen is never « conforme ».
        if (self.interrompu or any(not c.complet for c in self.collectes)
                or any(e.reseau.mission and e.statut == "incomplet" for e in self.reseaux)):
            return INCOMPLET
        return NON_CONFORME if self.constats_actifs or self.constats_isolement_actifs else CONFORME

    @property
    def constats_isolement_actifs(self) -> list[ConstatIsolement]:
        return [c for c in self.constats_isolement if c.statut == ACTIF]


def _etats_reseaux(config: Configuration, collectes, constats, counts,
                   constats_isolement: list[ConstatIsolement], isolement: list[EtatIsolement]) -> list[EtatReseau]:
    complete_sites = {c.equipement.site for c in collectes if c.complet}
    incomplete_sites = {c.equipement.site for c in collectes if not c.complet}
    etats = []
    for reseau in config.reseaux:
        active = sum(1 for c in constats if c.reseau == reseau and c.statut == ACTIF)
        active += sum(1 for c in constats_isolement if c.vers == reseau and c.statut == ACTIF)
        appareils = counts.get(reseau.nom, 0)
        motif = None
        if reseau.site not in complete_sites and reseau.site not in incomplete_sites:
            motif = f"aucun équipement du site « {reseau.site} » n'a été lu"
        elif reseau.site in incomplete_sites:
            motif = f"un équipement du site « {reseau.site} » est incomplet"
        elif reseau.mission and not appareils and not reseau.vide_attendu:
            motif = _VIDE
        elif muettes := [e for e in isolement if e.vers == reseau and e.statut == NON_VERIFIE and e.sondes]:
            # Whole, fresh probes that tried nothing of this network (a plan that forgot it): not « séparé ».
            motif = "; ".join(f"{_ISOLEMENT_NON_VERIFIE} depuis « {e.depuis.nom} » : les sondes ({', '.join(e.sondes)}) "
                              "n'ont essayé aucune adresse de ce réseau" for e in muettes)
        statut = "incomplet" if motif else "non_conforme" if active else "conforme"
        critiques = sum(1 for c in constats if c.reseau == reseau and c.statut == ACTIF and c.gravite == "critique")
        a_verifier = sum(1 for c in constats if c.reseau == reseau and c.statut == ACTIF and c.gravite != "critique")
        etats.append(EtatReseau(reseau, statut, appareils, active, motif if reseau.mission else None,
                                critiques, a_verifier))
    return etats


_ISOLEMENT_NON_VERIFIE = "isolement non vérifié"
_VIDE = ("aucun appareil vu : capture coupée ? (un réseau vide exprès se déclare avec « vide_attendu: true » "
         "dans telesante_reseaux)")


def auditer(
    config: Configuration,
    collecter: Collecteur,
    mode: str,
    aujourd_hui: date | None = None,
    executer: Callable[[Collecteur, Iterable[Equipement]], tuple[list[ResultatCollecte], bool]] | None = None,
) -> ResultatAudit:
    """Run the whole audit; `executer` may collect in parallel and report an interruption.

    Sources that carry their own date are judged at the end of the day `aujourd_hui` (local
    time) when it is given (--date), else now.
    """
    debut = datetime.now(timezone.utc)
    reference = debut if aujourd_hui is None else datetime.combine(aujourd_hui, time.max).astimezone()
    aujourd_hui = aujourd_hui or date.today()
    if executer is None:
        collectes, interrompu = [collecter(e) for e in config.equipements], False
    else:
        collectes, interrompu = executer(collecter, config.equipements)
    for collecte in collectes:
        collecte.verifier_age(reference, config.age_max_sources)
    equipements = {e.nom: e for e in config.equipements}
    appareils = correler((o for c in collectes for o in c.observations), equipements)
    identificateur = Identificateur(config.signatures, config.categories, registre_ieee())
    constats, counts, non_declares = evaluer(
        appareils, CarteReseaux(config.reseaux), identificateur, config.autorises, config.derogations, aujourd_hui
    )
    # Nothing an equipment saw disappears: a sighting placed on no declared network makes
    # its equipment incomplete, with the way to fix the inventory.
    for collecte in collectes:
        collecte.problemes.extend(non_declares.problemes.get(collecte.equipement.nom, ()))
    sondes = [SondeLue(c.equipement.nom, c.equipement.site, c.equipement.reseau or "", c.complet,
                       tuple(c.essais_isolement))
              for c in collectes if c.equipement.plateforme == "sonde_isolement"]
    constats_isolement, isolement = evaluer_isolement(config.reseaux, sondes, config.derogations_isolement,
                                                      aujourd_hui)
    notes: list[str] = []
    read_sites = {c.equipement.site for c in collectes}
    for reseau in config.reseaux:
        if reseau.mission and reseau.site not in read_sites:
            notes.append(f"réseau de mission « {reseau.nom} » : aucun équipement du site « {reseau.site} » "
                         "n'a été interrogé, il n'est pas audité")
        elif reseau.mission and not counts.get(reseau.nom) and not reseau.vide_attendu:
            notes.append(f"réseau de mission « {reseau.nom} » (site « {reseau.site} ») : {_VIDE}")
    if interrompu:
        notes.append("audit interrompu avant la fin de la collecte")
        read = {c.equipement.nom for c in collectes}
        collectes += [
            ResultatCollecte(e, problemes=["non lu : audit interrompu"]) for e in config.equipements if e.nom not in read
        ]
    etats = _etats_reseaux(config, collectes, constats, counts, constats_isolement, isolement)
    notes += [f"réseau de mission « {e.reseau.nom} » : {e.motif}" for e in etats
              if e.motif and e.motif.startswith(_ISOLEMENT_NON_VERIFIE)]
    return ResultatAudit(
        configuration=config,
        debut=debut,
        fin=datetime.now(timezone.utc),
        date_reference=aujourd_hui,
        mode=mode,
        collectes=collectes,
        constats=sorted(constats, key=lambda c: (c.statut != ACTIF, c.gravite != "critique", c.reseau.nom, c.appareil.cle)),
        reseaux=etats,
        nombre_appareils=len(appareils),
        interrompu=interrompu,
        notes=notes,
        non_declares=non_declares.entrees,
        constats_isolement=sorted(constats_isolement, key=lambda c: (c.statut != ACTIF, c.depuis.nom, c.vers.nom)),
        isolement=isolement,
    )
