"""The `telesante` command: what each command does (its arguments: telesante.arguments), signals, exit codes."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from telesante.arguments import construire_analyseur
from telesante.console import configuration_de, console_erreurs, dire_code, fichier_hotes_connus
from telesante.ecriture import ecrire_atomiquement, raison
from telesante.inerte import inerte


def _audit(args) -> int:
    from functools import partial

    from telesante.collecte.parallele import Arret, collecter_en_parallele

    # Before the (slow) inventory load: a stop then still gives a partial report. From here
    # on a signal only asks the collection to stop: reports and history are written whole.
    arret = Arret()
    arret.installer()
    if _SIGNAUX_RECUS:  # a stop noted while the command started
        arret(signal.Signals[_SIGNAUX_RECUS[0]], None)

    from telesante.audit import auditer
    from telesante.codes import ERREUR_CONFIGURATION
    from telesante.publication import fichiers_demandes, publier
    from telesante.rapports import document as doc

    config = configuration_de(args)
    if config is None:
        return ERREUR_CONFIGURATION
    erreurs = console_erreurs()
    if fichiers_demandes(args.formats):  # checked before collecting: a live collection can take minutes
        try:
            args.sortie.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            erreurs.print(f"Dossier des rapports « {args.sortie} » inutilisable : {raison(exc)}", style="bold red",
                         markup=False)
            dire_code(erreurs, ERREUR_CONFIGURATION)
            return ERREUR_CONFIGURATION
    if args.source == "captures" or args.collecte_repartie is not None:
        from telesante.repartie import collecteur_audit

        collecter = collecteur_audit(args, config, erreurs)  # the inventory's captures, or the slices' (--collecte-repartie)
        if collecter is None:
            dire_code(erreurs, ERREUR_CONFIGURATION)
            return ERREUR_CONFIGURATION
        # One worker thread, as in direct mode: a stop is obeyed at once, even within a huge capture.
        resultat = auditer(
            config, collecter, mode="captures", aujourd_hui=args.date,
            executer=lambda collecter, equipements: collecter_en_parallele(
                collecter, equipements, 1, erreurs, arret, afficher=False),
        )
    else:
        from telesante.collecte.contrat import ParametresCollecte
        from telesante.collecte.en_direct import collecter_en_direct

        if args.historique is not None and any(e.lancement is not None for e in config.equipements):
            config = _avec_adresses_vues(config, args.historique, erreurs)
        parametres = ParametresCollecte(
            hotes_connus=fichier_hotes_connus(args, config), delai_connexion=args.delai_connexion,
            delai_commande=args.delai_commande, tentatives=args.tentatives,
            dossier_captures=args.enregistrer_captures,
        )
        resultat = auditer(
            config, partial(collecter_en_direct, parametres=parametres), mode="direct", aujourd_hui=args.date,
            executer=lambda collecter, equipements: collecter_en_parallele(
                collecter, equipements, args.parallele, erreurs, arret),
        )
    return publier(doc.construire(resultat), resultat.code_sortie, config, args.formats, args.sortie, args.historique,
                   erreurs)


def _avec_adresses_vues(config, historique: Path, erreurs):
    """The configuration whose launched probes also try addresses seen by the last run (none on the first night)."""
    from telesante.collecte.plan_isolement import ECHANTILLON
    from telesante.collecte.sonde_lancee import avec_adresses_vues
    from telesante.historique import ErreurHistorique, adresses_vues

    if not historique.exists():
        return config
    try:
        return avec_adresses_vues(config, adresses_vues(historique, 4 * ECHANTILLON))
    except ErreurHistorique as exc:
        erreurs.print(f"Historique : {inerte(str(exc))} ; la sonde lancée par l'audit n'essaie que les passerelles "
                      "présumées et les cibles déclarées.", markup=False)
        return config


def _retention(args) -> int:
    """`telesante historique FICHIER --conserver-nuits N`: drop older nights, then VACUUM."""
    from telesante.codes import ERREUR_CONFIGURATION
    from telesante.retention import ErreurRetention, appliquer_retention

    try:
        bilan = appliquer_retention(args.fichier, args.conserver_nuits)
    except ErreurRetention as exc:
        console_erreurs().print(inerte(str(exc)), style="bold red", markup=False)
        return ERREUR_CONFIGURATION
    depuis = f", depuis le {bilan.premiere_nuit_conservee}" if bilan.premiere_nuit_conservee else ""
    print(f"Historique {inerte(str(args.fichier))} : {bilan.passages_supprimes} passage(s) supprimé(s), "
          f"{bilan.passages_conserves} conservé(s) sur {bilan.nuits_conservees} nuit(s){depuis} ; "
          f"taille {bilan.taille_avant} → {bilan.taille_apres} octets")
    return 0


def _historique(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from telesante.codes import ERREUR_CONFIGURATION
    from telesante.historique import ErreurHistorique, derniers_passages

    if args.conserver_nuits is not None:
        return _retention(args)
    if args.comparer is not None or args.mac is not None:
        from telesante import consultation

        if args.comparer is not None and args.mac is not None:
            console_erreurs().print("--comparer et --mac ne vont pas ensemble.", markup=False)
            return ERREUR_CONFIGURATION
        if args.mac is not None:
            return consultation.afficher_vie_mac(args.fichier, args.mac)
        return consultation.afficher_ecart(args.fichier, *args.comparer)
    try:
        runs = derniers_passages(args.fichier, args.nombre)
    except ErreurHistorique as exc:
        console_erreurs().print(inerte(str(exc)), style="bold red", markup=False)
        return ERREUR_CONFIGURATION
    table = Table(title=Text(f"Derniers passages ({inerte(str(args.fichier))})"))
    for title in ("N°", "Début", "Mode", "Code", "Statut", "Constats actifs", "Équipements incomplets"):
        table.add_column(title)
    for run in runs:
        statut = f"{run['statut']}{' (interrompu)' if run['interrompu'] else ''}"
        cells = (run["id"], run["debut"], run["mode"], run["code_sortie"], statut, run["constats_actifs"],
                 run["equipements_incomplets"])
        table.add_row(*(Text(inerte(str(cell))) for cell in cells))  # never read as rich markup
    if not runs:
        console_erreurs().print(f"{inerte(str(args.fichier))} : aucun passage enregistré.", markup=False)
    Console().print(table)
    return 0


def _capteur_mdns(args) -> int:
    from telesante.collecte import capteur_mdns

    try:
        document = capteur_mdns.ecouter(args.interface, args.duree, args.nom)
    except (ValueError, OSError) as exc:
        console_erreurs().print(f"Capteur mDNS : {exc}", markup=False)
        return 1
    capteur_mdns.ecrire(document, args.sortie)
    print(f"{len(document['annonces'])} annonces mDNS écrites dans {args.sortie}")
    return 0


def _capteur_isolement(args) -> int:
    import dataclasses
    import json

    from telesante.collecte import capteur_isolement, plan_isolement
    from telesante.codes import ERREUR_CONFIGURATION, INCOMPLET

    erreurs = console_erreurs()
    if args.plan is not None:
        if args.sonde is not None or args.historique is not None:
            erreurs.print("--sonde et --historique vont avec -i (inventaire), pas avec --plan.", markup=False)
            return ERREUR_CONFIGURATION
        try:
            # « - » : the plan on standard input (the audit sends it over SSH, see collecte/sonde_lancee.py).
            texte = sys.stdin.buffer.read().decode("utf-8") if str(args.plan) == "-" else args.plan.read_text("utf-8")
            plan = plan_isolement.lire_plan(texte)
        except (OSError, UnicodeDecodeError) as exc:
            erreurs.print(f"Plan « {inerte(str(args.plan))} » illisible : "
                         f"{raison(exc) if isinstance(exc, OSError) else 'ce n’est pas du texte UTF-8'}", markup=False)
            return ERREUR_CONFIGURATION
        except plan_isolement.PlanInvalide as exc:
            erreurs.print(f"Plan « {inerte(str(args.plan))} » refusé : {inerte(str(exc))}", markup=False)
            return ERREUR_CONFIGURATION
    else:
        if args.sonde is None:
            erreurs.print("Avec -i, --sonde NOM est obligatoire (la sonde de l'inventaire à planifier).", markup=False)
            return ERREUR_CONFIGURATION
        config = configuration_de(args)
        if config is None:
            return ERREUR_CONFIGURATION
        sonde = next((e for e in config.equipements if e.nom == args.sonde), None)
        if sonde is None or sonde.plateforme != "sonde_isolement":
            sondes = ", ".join(e.nom for e in config.equipements if e.plateforme == "sonde_isolement") or "aucune"
            erreurs.print(f"« {inerte(args.sonde)} » n'est pas une sonde d'isolement de l'inventaire {args.inventaire} "
                         f"(sondes déclarées : {sondes}).", markup=False)
            return ERREUR_CONFIGURATION
        vues: list[str] = []
        if args.historique is not None:
            from telesante.historique import ErreurHistorique, adresses_vues

            try:
                vues = adresses_vues(args.historique, 4 * args.echantillon)
            except ErreurHistorique as exc:
                erreurs.print(f"Historique : {inerte(str(exc))}", markup=False)
                return ERREUR_CONFIGURATION
        plan = plan_isolement.plan_de_l_inventaire(config.reseaux, sonde, vues, args.echantillon)
    bornes = {cle: valeur for cle, valeur in (("paquets_max", args.paquets_max), ("debit_max", args.debit_max),
                                              ("duree_max", args.duree_max)) if valeur is not None}
    plan = dataclasses.replace(plan, bornes=dataclasses.replace(plan.bornes, **bornes),
                               interface=args.interface or plan.interface)
    try:
        document = capteur_isolement.sonder(plan)
    except (OSError, ValueError) as exc:  # ValueError: an interface name the kernel cannot take
        import errno

        cause = ("interface inconnue" if getattr(exc, "errno", None) in (errno.ENODEV, errno.ENXIO)
                 else raison(exc) if isinstance(exc, OSError) else "interface invalide")
        erreurs.print(f"Sonde d'isolement arrêtée : {cause} (interface « {inerte(str(plan.interface))} », "
                     "droits CAP_NET_RAW ?) : rien n'est écrit (code 2).", markup=False)
        return INCOMPLET
    try:
        ecrire_atomiquement(args.sortie, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        erreurs.print(f"Résultat non écrit ({inerte(str(args.sortie))}) : {raison(exc)} (code 2).", markup=False)
        return INCOMPLET
    joints = sum(1 for e in document["essais"] if e["resultat"] == "joint")
    print(f"{len(document['essais'])} essais, {document['paquets_envoyes']} paquets, {joints} cibles de mission jointes"
          f"{'' if document['complet'] else ' (arrêt : ' + document['arret'] + ')'} : {args.sortie}")
    return 0


class Interruption(BaseException):
    """SIGINT or SIGTERM in a command other than the audit (a BaseException, as
    KeyboardInterrupt: no library's `except Exception` may swallow it)."""


_SIGNAUX_RECUS: list[str] = []  # SIGINT/SIGTERM noted while the command starts


def _noter(signum, _frame) -> None:
    _SIGNAUX_RECUS.append(signal.Signals(signum).name)


def _interrompre(signum, _frame) -> None:
    raise Interruption(signal.Signals(signum).name)


def _capter(handler) -> None:
    """Route SIGINT and SIGTERM to `handler`, except a signal ignored from the start (nohup...)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `telesante` console script.

    SIGINT and SIGTERM never give a trace: while the command starts (imports, arguments),
    they are only noted, and acted on at once after; the audit then turns them into a
    partial report (code 2), the other commands stop with a message (code 2).
    """
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    _SIGNAUX_RECUS.clear()
    _capter(_noter)
    import tempfile

    from rich.console import Console  # noqa: F401 -- loaded whole now, for the messages of a stop

    from telesante.codes import ERREUR_INTERNE, INCOMPLET

    try:
        # Ansible creates its controller temporary folder on load, by default in ~/.ansible/tmp:
        # a service account whose HOME does not exist (or cannot be written) would stop there.
        os.environ.setdefault("ANSIBLE_LOCAL_TEMP", tempfile.gettempdir())
        args = construire_analyseur().parse_args(argv)
        if args.commande == "audit":
            return _audit(args)
        if args.commande == "collecter":
            from telesante.repartie import commande_collecter

            return commande_collecter(args, _SIGNAUX_RECUS)
        if _SIGNAUX_RECUS:
            raise Interruption(_SIGNAUX_RECUS[0])
        _capter(_interrompre)
        if args.commande == "cles-hotes":
            from telesante.collecte.cles_hotes import commande_cles_hotes

            return commande_cles_hotes(args)
        commands = {"historique": _historique}
        if args.commande == "capteur":
            return {"mdns": _capteur_mdns, "isolement": _capteur_isolement}[args.capteur](args)
        return commands[args.commande](args)
    except (Interruption, KeyboardInterrupt) as exc:
        _capter(signal.SIG_IGN)  # stopping already: a second signal must not cut the message
        console = console_erreurs()
        console.print(f"Arrêt demandé ({exc or 'SIGINT'}) : commande interrompue.", style="bold red", markup=False)
        dire_code(console, INCOMPLET)
        return INCOMPLET
    except Exception:  # noqa: BLE001 -- a bug must not exit 1, which means « non-conformités »
        import traceback

        traceback.print_exc()
        console_erreurs().print("Erreur interne de telesante (trace ci-dessus, à joindre au signalement).",
                                 style="bold red", markup=False)
        dire_code(console_erreurs(), ERREUR_INTERNE)
        return ERREUR_INTERNE
    finally:
        if argv is None:  # the console script: the code is decided, a late signal must not change it
            _capter(signal.SIG_IGN)  # (Python restores the default action while it shuts down)
        else:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
