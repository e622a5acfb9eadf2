"""Commands of the distributed collection: `telesante collecter` (one slice) and the final node's collector of `telesante audit`."""

from __future__ import annotations

import signal
from functools import partial

from telesante.collecte.captures import collecter_captures
from telesante.configuration import Configuration
from telesante.inerte import inerte
from telesante.repartie.examen import collecter_reparti, examiner
from telesante.repartie.manifestes import CAPTURES, MANIFESTES
from telesante.repartie.tranches import (ErreurRepartie, collecter_tranche, copier_captures, decrire_tranche,
                                         hotes_limites, preparer_tranche)


# ---------------------------------------------------------------------------------------------
# Commands (their arguments: telesante.arguments)
# ---------------------------------------------------------------------------------------------


def commande_collecter(args, signaux_recus: list[str]) -> int:
    """`telesante collecter`: one slice of a distributed collection."""
    from telesante.codes import ERREUR_CONFIGURATION, INCOMPLET
    from telesante.console import configuration_de, console_erreurs, dire_code, fichier_hotes_connus
    from telesante.ecriture import raison
    from telesante.collecte.parallele import Arret, collecter_en_parallele

    arret = Arret()
    arret.installer()
    if signaux_recus:
        arret(signal.Signals[signaux_recus[0]], None)
    erreurs = console_erreurs()
    config = configuration_de(args)
    if config is None:
        return ERREUR_CONFIGURATION
    try:
        tranche, avertissements = preparer_tranche(config, args.inventaire, args.fichier_mot_de_passe_vault,
                                                   args.passage, args.limite, args.tranches)
        (args.dossier / CAPTURES).mkdir(parents=True, exist_ok=True)
    except ErreurRepartie as exc:
        erreurs.print(inerte(str(exc)), style="bold red", markup=False)
        dire_code(erreurs, ERREUR_CONFIGURATION)
        return ERREUR_CONFIGURATION
    except OSError as exc:
        erreurs.print(f"Dossier de la collecte « {inerte(str(args.dossier))} » inutilisable : {raison(exc)}",
                      style="bold red", markup=False)
        dire_code(erreurs, ERREUR_CONFIGURATION)
        return ERREUR_CONFIGURATION
    for avertissement in avertissements:
        erreurs.print(f"Avertissement : {avertissement}", style="yellow", markup=False)
    if args.source == "captures":
        def collecter(equipement, dossier):
            return copier_captures(equipement, config.racine, dossier)
        parallele = 1
    else:
        from telesante.collecte.contrat import ParametresCollecte
        from telesante.collecte.en_direct import collecter_en_direct

        def collecter(equipement, dossier):
            parametres = ParametresCollecte(hotes_connus=fichier_hotes_connus(args, config), delai_connexion=args.delai_connexion,
                                       delai_commande=args.delai_commande, tentatives=args.tentatives,
                                       dossier_captures=dossier)
            return collecter_en_direct(equipement, parametres)
        parallele = args.parallele
    erreurs.print(f"{decrire_tranche({'tranche': tranche.numero, 'tranches': tranche.tranches, 'nom': tranche.nom})}"
                  f" du passage « {inerte(tranche.passage)} » : {len(tranche.equipements)} équipement(s) à collecter",
                  markup=False)
    manifeste, resultats = collecter_tranche(
        tranche, args.dossier, collecter,
        lambda un, equipements: collecter_en_parallele(un, equipements, parallele, erreurs, arret,
                                                       afficher=args.source == "direct"))
    non_lus = [r for r in resultats if not r.complet]
    chemin = args.dossier / MANIFESTES / f"{tranche.nom}.json"
    erreurs.print(f"Manifeste : {inerte(str(chemin))} ({len(resultats) - len(non_lus)} collecté(s), "
                  f"{len(non_lus)} non collecté(s))", markup=False)
    for resultat in non_lus:
        erreurs.print(f"  ✗ {inerte(resultat.equipement.nom)} : {inerte('; '.join(resultat.problemes))}", markup=False)
    if non_lus or manifeste["etat"] != "termine":
        dire_code(erreurs, INCOMPLET)
        return INCOMPLET
    return 0


def collecteur_audit(args, config: Configuration, console):
    """The final node's collector for `telesante audit --collecte-repartie`, or None (options invalid: code 3)."""
    if args.collecte_repartie is None:
        if args.passage is not None or args.tranches is not None:
            console.print("--passage et --tranches vont avec --collecte-repartie DOSSIER.", markup=False)
            return None
        return partial(collecter_captures, racine=config.racine)
    if args.source != "captures":
        console.print("--collecte-repartie audite des captures : elle ne va pas avec --source direct.", markup=False)
        return None
    if not args.passage or not args.passage.strip():
        console.print("--collecte-repartie exige --passage ID (celui donné aux tranches) : sans lui, une tranche "
                      "d'une autre nuit passerait pour celle-ci.", markup=False)
        return None
    hotes, _ = hotes_limites(args.inventaire, args.fichier_mot_de_passe_vault, None)
    bilan = examiner(config, hotes, args.collecte_repartie, args.passage, args.tranches)
    console.print(f"Collecte répartie {inerte(str(args.collecte_repartie))}, passage « {inerte(args.passage)} » :",
                  markup=False)
    for message in bilan.messages:
        console.print(f"  {inerte(message)}", markup=False)
    return partial(collecter_reparti, bilan=bilan, dossier=args.collecte_repartie)
