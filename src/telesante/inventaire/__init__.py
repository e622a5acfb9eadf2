"""Read the audit's configuration through ansible-core's own inventory machinery.

group_vars, host_vars, Vault and templating behave exactly as for playbooks. Every
value is validated before any work; all problems are reported at once, in French,
naming the file, the line and the key. One module per notion: lecture_ansible (the files),
validation (values and messages), reseaux, equipements, autorisations.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from telesante.configuration import Configuration
from telesante.alertes.configuration import lire_alertes
from telesante.inventaire.autorisations import (lire_age_max_sources, lire_autorises, lire_derogations,
                                                lire_derogations_isolement, lire_fuseau_horaire, lire_globales)
from telesante.inventaire.equipements import lire_equipement, planifier_sondes_lancees, verifier_sondes_isolement
from telesante.inventaire.lecture_ansible import (examiner_fichiers, fichiers_de_variables, inventaire_ansible,
                                                  sources_inventaire, variables_hote)
from telesante.inventaire.reseaux import lire_reseaux, sites_sans_equipement
from telesante.inventaire.validation import ErreurConfiguration, Validation
from telesante.origine import chemin_affiche
from telesante.signatures import SignaturesInvalides, lire_signatures

__all__ = ["ErreurConfiguration", "charger_configuration"]


def charger_configuration(chemin: Path, fichier_vault: Path | None = None) -> Configuration:
    """Read and validate an inventory folder or file; raise ErreurConfiguration if invalid."""
    chemin = Path(chemin)
    if not chemin.exists():
        raise ErreurConfiguration([f"{chemin} : inventaire introuvable"])
    loader, inventory, variables = inventaire_ansible(chemin, fichier_vault)
    hosts = inventory.get_hosts()
    if not hosts:
        raise ErreurConfiguration([f"{chemin} : l'inventaire ne déclare aucun hôte (ou n'a pas pu être lu)"])
    racine = chemin if chemin.is_dir() else chemin.parent
    par_entite, ignores = fichiers_de_variables(loader, inventory, racine)
    fichiers_lus = list(dict.fromkeys(f for trouves in par_entite.values() for f in trouves))
    examiner_fichiers(loader, fichiers_lus, par_entite, ignores=ignores)
    fichiers_lus[:0] = sources_inventaire(chemin)
    check = Validation(chemin)
    per_host = {host.name: variables_hote(loader, variables, host) for host in hosts}

    reseaux, declarations = lire_reseaux(check, per_host)
    if not any(r.mission for r in reseaux) and not check.erreurs:
        check.erreurs.append(
            f"{chemin} : aucun réseau de mission déclaré (variable « telesante_reseaux », entrées « type: mission ») : "
            f"rien ne serait audité. Fichiers lus : {', '.join(chemin_affiche(f) for f in fichiers_lus)}")
    declared = [name for name, values in per_host.items() if "telesante_plateforme" in values]
    equipements = [e for e in (lire_equipement(check, name, per_host[name], racine) for name in declared) if e is not None]
    if not declared:
        check.erreurs.append(f"{chemin} : aucun équipement (aucun hôte ne définit « telesante_plateforme »)")
    else:
        sites_sans_equipement(check, reseaux, declarations, equipements)
        if reseaux:  # without any, « aucun réseau de mission » says it all
            verifier_sondes_isolement(check, equipements, reseaux, per_host)
            equipements = planifier_sondes_lancees(check, equipements, reseaux, per_host)
    autorises = lire_autorises(check, per_host)
    derogations = lire_derogations(check, per_host)
    derogations_isolement = lire_derogations_isolement(check, per_host, reseaux)
    signatures, interdites, hotes_connus = lire_globales(check, per_host, racine)
    age_max = lire_age_max_sources(check, per_host)
    fuseau = lire_fuseau_horaire(check, per_host)
    alertes = lire_alertes(check, per_host, racine)
    try:
        signatures_lues, categories = lire_signatures(signatures, interdites)
    except SignaturesInvalides as exc:
        check.erreurs.extend(exc.erreurs)
    if check.erreurs:
        # group_vars give the same list to every host: each problem is told once.
        raise ErreurConfiguration(list(dict.fromkeys(check.erreurs)))
    return Configuration(
        racine=racine,
        reseaux=reseaux,
        equipements=equipements,
        autorises=autorises,
        derogations=derogations,
        signatures=signatures_lues,
        categories=categories,
        fichier_hotes_connus=hotes_connus,
        age_max_sources=dt.timedelta(hours=age_max),
        fuseau_horaire=fuseau,
        derogations_isolement=derogations_isolement,
        alertes=alertes,
    )
