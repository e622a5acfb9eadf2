"""The `telesante` command: argument parsing (in French) and dispatch."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from datetime import date
from pathlib import Path

from telesante import __version__
from telesante.francais import AnalyseurFrancais
from telesante.inerte import citer, inerte

FORMATS = ("terminal", "json", "csv", "junit", "html")
# The process umask, read once before any thread starts (os.umask can only be read by setting it).
_MASQUE = os.umask(0o022)
os.umask(_MASQUE)
FICHIERS = {"json": "rapport.json", "csv": "rapport.csv", "junit": "rapport-junit.xml", "html": "rapport.html"}


def _formats(texte: str) -> list[str]:
    formats = [f.strip() for f in texte.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"format inconnu {unknown} (possibles : {', '.join(FORMATS)})")
    return formats


def _date(texte: str) -> date:
    try:
        return date.fromisoformat(texte)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"date invalide « {_cite(texte)} » (attendu : AAAA-MM-JJ)") from exc


def _cite(texte: str) -> str:
    """A value typed by the user, quoted inert and short in an error message."""
    return citer(texte, 41)


def _duree(maximum: float):
    """Argument type: a finite number of seconds in ]0, maximum] (nan, inf, 1e400 refused)."""

    def duree(texte: str) -> float:
        try:
            value = float(texte)
        except ValueError:
            raise argparse.ArgumentTypeError(f"nombre de secondes attendu, reçu « {_cite(texte)} »") from None
        if not 0 < value <= maximum:  # also false for nan; inf and 1e400 exceed the maximum
            raise argparse.ArgumentTypeError(
                f"nombre de secondes entre 0 (exclu) et {maximum:g} attendu, reçu « {_cite(texte)} »")
        return value

    return duree


def _nombre(maximum: float, unite: str):
    """Argument type: a finite number in ]0, maximum] (nan, inf, 1e400 refused)."""

    def nombre(texte: str) -> float:
        try:
            value = float(texte)
        except ValueError:
            value = float("nan")
        if not 0 < value <= maximum:  # also false for nan; inf and 1e400 exceed the maximum
            raise argparse.ArgumentTypeError(
                f"nombre de {unite} entre 0 (exclu) et {maximum:g} attendu, reçu « {_cite(texte)} »")
        return value

    return nombre


def _entier(maximum: int):
    """Argument type: a whole number written in digits, from 1 to maximum."""

    def entier(texte: str) -> int:
        try:
            value = int(texte)
        except ValueError:  # « 1e400 », « inf », « 2.5 », « » and over 4300 digits alike
            raise argparse.ArgumentTypeError(f"entier de 1 à {maximum} attendu, reçu « {_cite(texte)} »") from None
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"entier de 1 à {maximum} attendu, reçu « {_cite(texte)} »")
        return value

    return entier


# Bounds of the numeric options: beyond them a value is a typo, and some would overflow
# (an attempt count doubles a float wait; socket timeouts must fit in a C timeval).
PARALLELE_MAX, TENTATIVES_MAX, DELAI_MAX, DUREE_CAPTEUR_MAX, PASSAGES_MAX = 256, 10, 3600, 86400, 1_000_000
# The isolation probe's bounds (as its plan's schema): a clinical network is never flooded by a typo.
PAQUETS_SONDE_MAX, DEBIT_SONDE_MAX, DUREE_SONDE_MAX, ECHANTILLON_MAX = 10_000, 1000, 3600, 256


def _inventaire(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventaire", type=Path, required=True, help="inventaire Ansible (fichier d'hôtes)")
    parser.add_argument("--fichier-mot-de-passe-vault", type=Path, default=None, metavar="FICHIER",
                        help="fichier du mot de passe Ansible Vault de l'inventaire")


def construire_analyseur() -> argparse.ArgumentParser:
    """The argument parser, in French."""
    from telesante.audit import SIGNIFICATION

    codes = "\n".join(f"  {code}  {texte}" for code, texte in SIGNIFICATION.items())
    parser = AnalyseurFrancais(
        prog="telesante",
        description="Audit de conformité des réseaux de mission et provisionnement des postes DSQ.",
    )
    parser.add_argument("--version", action="version", version=f"telesante {__version__}",
                        help="affiche la version et quitte")
    commands = parser.add_subparsers(dest="commande", required=True, metavar="COMMANDE", parser_class=AnalyseurFrancais)

    audit = commands.add_parser(
        "audit",
        help="vérifie qu'aucun appareil interdit ou non autorisé n'est sur un réseau de mission",
        description="Collecte qui est présent sur chaque réseau de mission de l'inventaire, identifie "
        "les appareils grand public et non autorisés, et rend un verdict avec les preuves.",
        epilog=f"Codes de sortie :\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _inventaire(audit)
    audit.add_argument("--source", choices=("captures", "direct"), default="captures",
                       help="captures : fichiers de captures de chaque équipement (hors ligne, défaut) ; "
                       "direct : collecte par SSH auprès des équipements")
    audit.add_argument("-f", "--format", type=_formats, default=["terminal"], dest="formats",
                       help="formats du rapport, séparés par des virgules : terminal, json, csv, junit, html (défaut : terminal)")
    audit.add_argument("-o", "--sortie", type=Path, default=Path("rapports"),
                       help="dossier des rapports fichiers (défaut : ./rapports)")
    audit.add_argument("--historique", type=Path, default=None, metavar="FICHIER",
                       help="base SQLite où chaque passage est ajouté (verdict, constats, équipements non lus)")
    audit.add_argument("--date", type=_date, default=None,
                       help="date de référence pour l'expiration des dérogations et l'âge des sources datées, jugé "
                       "à la fin de ce jour (AAAA-MM-JJ, défaut : aujourd'hui, maintenant)")
    direct = audit.add_argument_group("collecte directe (--source direct)")
    direct.add_argument("--parallele", type=_entier(PARALLELE_MAX), default=8, metavar="N",
                        help=f"équipements lus en même temps (1 à {PARALLELE_MAX}, défaut : 8)")
    direct.add_argument("--delai-connexion", type=_duree(DELAI_MAX), default=10.0, metavar="S",
                        help=f"délai de connexion SSH en secondes (au plus {DELAI_MAX}, défaut : 10)")
    direct.add_argument("--delai-commande", type=_duree(DELAI_MAX), default=30.0, metavar="S",
                        help=f"délai d'une commande en secondes (au plus {DELAI_MAX}, défaut : 30)")
    direct.add_argument("--tentatives", type=_entier(TENTATIVES_MAX), default=3, metavar="N",
                        help="tentatives par équipement pour les pannes passagères, avec attente doublée "
                        f"(1 à {TENTATIVES_MAX}, défaut : 3)")
    direct.add_argument("--hotes-connus", type=Path, default=None, metavar="FICHIER",
                        help="fichier known_hosts (défaut : telesante_fichier_hotes_connus de l'inventaire, "
                        "sinon hotes_connus à côté de l'inventaire)")
    direct.add_argument("--enregistrer-captures", type=Path, default=None, metavar="DOSSIER",
                        help="écrit ce qui a été lu au format des captures hors ligne (rejouable avec --source captures), "
                        "avec la date de la collecte dans date_collecte.txt (ISO 8601, UTC)")

    history = commands.add_parser("historique", help="affiche les derniers passages enregistrés",
                                  description="Affiche les derniers passages d'audit enregistrés avec --historique.")
    history.add_argument("fichier", type=Path, help="base SQLite de l'historique")
    history.add_argument("-n", "--nombre", type=_entier(PASSAGES_MAX), default=10, metavar="N",
                         help=f"passages affichés (1 à {PASSAGES_MAX}, défaut : 10)")
    history.add_argument("--conserver-nuits", type=_entier(PASSAGES_MAX), default=None, metavar="N",
                         help="ne garde que les N dernières nuits où l'audit a tourné, puis compacte la base "
                              "(VACUUM) ; rien d'autre n'est affiché")

    keys = commands.add_parser("cles-hotes", help="gère les clés d'hôtes SSH épinglées des équipements",
                               description="Les clés d'hôtes ne sont jamais acceptées d'office : les épingler "
                               "est un geste explicite de l'administrateur.")
    key_commands = keys.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=AnalyseurFrancais)
    for name, help_text in (("lister", "affiche l'état de la clé de chaque équipement"),
                            ("epingler", "lit la clé présentée par un équipement et l'épingle"),
                            ("retirer", "retire la clé épinglée d'un équipement")):
        action = key_commands.add_parser(name, help=help_text, description=help_text)
        _inventaire(action)
        action.add_argument("--hotes-connus", type=Path, default=None, metavar="FICHIER", help="fichier known_hosts")
        if name != "lister":
            action.add_argument("equipement", help="nom de l'équipement dans l'inventaire")
        if name == "epingler":
            action.add_argument("--empreinte", default=None, metavar="SHA256:...",
                                help="empreinte attendue, vérifiée avant d'épingler (obligatoire hors terminal)")

    sensor = commands.add_parser("capteur", help="capteurs réseau")
    sensor_commands = sensor.add_subparsers(dest="capteur", required=True, metavar="CAPTEUR",
                                            parser_class=AnalyseurFrancais)
    mdns = sensor_commands.add_parser("mdns", help="écoute les annonces mDNS et écrit le fichier d'observations",
                                      description="Écoute mDNS sur une interface pendant une durée bornée et écrit "
                                      "le fichier d'observations que l'audit lit (plateforme capteur_mdns).")
    mdns.add_argument("--interface", required=True, help="interface d'écoute (sur un VLAN de mission)")
    mdns.add_argument("--duree", type=_duree(DUREE_CAPTEUR_MAX), default=30.0, metavar="S",
                      help=f"durée d'écoute en secondes (au plus {DUREE_CAPTEUR_MAX}, défaut : 30)")
    mdns.add_argument("--sortie", type=Path, required=True, metavar="FICHIER", help="fichier d'observations à écrire")
    mdns.add_argument("--nom", default="", help="nom du capteur (défaut : nom d'hôte)")
    _capteur_isolement_options(sensor_commands)
    return parser


def _capteur_isolement_options(sensor_commands) -> None:
    from telesante.capteur_isolement import Bornes

    defauts = Bornes()
    isolement = sensor_commands.add_parser(
        "isolement", help="essaie, dans des bornes strictes, de joindre le réseau de mission depuis un réseau hors mission",
        description="Sonde d'isolement (bulletin 13) : depuis un réseau hors mission, essaie de joindre les "
        "adresses de mission (écho ICMP, connexion TCP aux ports déclarés, requête DNS aux résolveurs, ARP direct, "
        "écoute mDNS) et écrit le fichier que l'audit lit (plateforme sonde_isolement). Le plan vient d'un fichier "
        "(--plan, format : src/telesante/donnees/plan-sonde-isolement-v1.schema.json) ou de l'inventaire (-i et --sonde).",
        epilog="Codes de sortie : 0 résultat écrit (l'audit en juge) ; 2 sonde arrêtée ou impossible à lancer, "
        "rien d'écrit ; 3 plan, inventaire ou options invalides.")
    source = isolement.add_mutually_exclusive_group(required=True)
    source.add_argument("--plan", type=Path, default=None, metavar="FICHIER", help="plan de la sonde (JSON)")
    source.add_argument("-i", "--inventaire", type=Path, default=None,
                        help="inventaire Ansible : le plan est construit pour la sonde --sonde")
    isolement.add_argument("--fichier-mot-de-passe-vault", type=Path, default=None, metavar="FICHIER",
                           help="fichier du mot de passe Ansible Vault de l'inventaire")
    isolement.add_argument("--sonde", default=None, metavar="NOM", help="nom de la sonde dans l'inventaire (avec -i)")
    isolement.add_argument("--historique", type=Path, default=None, metavar="FICHIER",
                           help="historique des audits : adresses de mission vues au dernier passage, essayées aussi (avec -i)")
    isolement.add_argument("--echantillon", type=_entier(ECHANTILLON_MAX), default=16, metavar="N",
                           help=f"au plus N adresses lues dans --historique (au plus {ECHANTILLON_MAX}, défaut : 16)")
    isolement.add_argument("--interface", default=None,
                           help="interface de la sonde dans son réseau (nécessaire à ARP et mDNS ; l'emporte sur le plan)")
    isolement.add_argument("--paquets-max", type=_entier(PAQUETS_SONDE_MAX), default=None, metavar="N",
                           help=f"paquets envoyés au plus (au plus {PAQUETS_SONDE_MAX}, défaut : {defauts.paquets_max})")
    isolement.add_argument("--debit-max", type=_nombre(DEBIT_SONDE_MAX, "paquets par seconde"), default=None,
                           metavar="N", help=f"paquets par seconde au plus (au plus {DEBIT_SONDE_MAX}, défaut : "
                           f"{defauts.debit_max:g})")
    isolement.add_argument("--duree-max", type=_duree(DUREE_SONDE_MAX), default=None, metavar="S",
                           help=f"durée totale en secondes (au plus {DUREE_SONDE_MAX}, défaut : {defauts.duree_max:g})")
    isolement.add_argument("--sortie", type=Path, required=True, metavar="FICHIER",
                           help="fichier du résultat (écrit en entier ou pas du tout)")


def _console_erreurs():
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def _configuration(args):
    """Load the inventory, or print the French errors and return None (exit code 3)."""
    from telesante.audit import ERREUR_CONFIGURATION
    from telesante.inventaire import ErreurConfiguration, charger_configuration

    try:
        return charger_configuration(args.inventaire, args.fichier_mot_de_passe_vault)
    except ErreurConfiguration as exc:
        errors = _console_erreurs()
        errors.print(f"Erreur de configuration dans l'inventaire {args.inventaire} :", style="bold red", markup=False)
        for erreur in exc.erreurs:
            errors.print(f"  - {erreur}", markup=False)
        _dire_code(errors, ERREUR_CONFIGURATION)
        return None


def _dire_code(console, code: int) -> None:
    """Print an exit code and its meaning (stderr console)."""
    from telesante.audit import SIGNIFICATION

    console.print(f"Code de sortie {code} : {SIGNIFICATION[code]}", markup=False)


def _hotes_connus(args, config) -> Path:
    return args.hotes_connus or config.fichier_hotes_connus or config.racine / "hotes_connus"


def _audit(args) -> int:
    from functools import partial

    from telesante.collecte.parallele import Arret, collecter_en_parallele

    # Before the (slow) inventory load: a stop then still gives a partial report. From here
    # on a signal only asks the collection to stop: reports and history are written whole.
    arret = Arret()
    arret.installer()
    if _SIGNAUX_RECUS:  # a stop noted while the command started
        arret(signal.Signals[_SIGNAUX_RECUS[0]], None)

    from telesante.audit import ERREUR_CONFIGURATION, INCOMPLET, auditer
    from telesante.collecte.captures import collecter_captures
    from telesante.rapports import document as doc
    from telesante.rapports import formats, terminal

    config = _configuration(args)
    if config is None:
        return ERREUR_CONFIGURATION
    errors = _console_erreurs()
    files = [f for f in args.formats if f in FICHIERS]
    if files:  # checked before collecting: a live collection can take minutes
        try:
            args.sortie.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            errors.print(f"Dossier des rapports « {args.sortie} » inutilisable : {_raison(exc)}", style="bold red",
                         markup=False)
            _dire_code(errors, ERREUR_CONFIGURATION)
            return ERREUR_CONFIGURATION
    if args.source == "captures":
        # One worker thread, as in direct mode: a stop is obeyed at once, even within a huge capture.
        resultat = auditer(
            config, partial(collecter_captures, racine=config.racine), mode="captures", aujourd_hui=args.date,
            executer=lambda collecter, equipements: collecter_en_parallele(
                collecter, equipements, 1, errors, arret, afficher=False),
        )
    else:
        from telesante.collecte.direct import ParametresSSH, collecter_ssh

        parametres = ParametresSSH(
            hotes_connus=_hotes_connus(args, config), delai_connexion=args.delai_connexion,
            delai_commande=args.delai_commande, tentatives=args.tentatives,
            dossier_captures=args.enregistrer_captures,
        )
        resultat = auditer(
            config, partial(collecter_ssh, parametres=parametres), mode="direct", aujourd_hui=args.date,
            executer=lambda collecter, equipements: collecter_en_parallele(
                collecter, equipements, args.parallele, errors, arret),
        )
    document = doc.construire(resultat)
    if "terminal" in args.formats:
        terminal.afficher(document)
    writers = {"json": lambda d: formats.en_json(d).encode("utf-8"), "csv": formats.en_csv,
               "junit": formats.en_junit, "html": lambda d: formats.en_html(d, fuseau=config.fuseau_horaire)}
    code = resultat.code_sortie
    for name in files:
        path = args.sortie / FICHIERS[name]
        try:
            _ecrire_atomiquement(path, writers[name](document))
        except OSError as exc:
            errors.print(f"Rapport {name} non écrit ({path}) : {_raison(exc)}", style="bold red", markup=False)
            code = max(code, INCOMPLET)  # the verdict stands, but a report the scheduler expects is missing
            continue
        errors.print(f"Rapport {name} : {path}", markup=False)
    if args.historique is not None:
        from telesante.historique import ErreurHistorique, enregistrer

        try:
            run = enregistrer(args.historique, document)
            errors.print(f"Passage n° {run} ajouté à l'historique {args.historique}", markup=False)
        except ErreurHistorique as exc:
            errors.print(f"Historique : {inerte(str(exc))}", style="bold red", markup=False)
            return max(code, INCOMPLET)
    return code


def _ecrire_atomiquement(path: Path, contenu: bytes) -> None:
    """Write `path` whole or not at all: a temporary file of its own (a name no one else
    uses, so a leftover file or folder cannot get in the way), synced, then renamed."""
    import tempfile

    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(contenu)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_MASQUE)  # mkstemp's 0600 would hide the report from its usual readers
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def _raison(exc: OSError) -> str:
    """French reason of a file system error."""
    reasons = {
        FileExistsError: "un fichier porte déjà ce nom (un dossier est attendu)",
        NotADirectoryError: "un élément du chemin est un fichier, pas un dossier",
        PermissionError: "permission refusée",
        IsADirectoryError: "un dossier porte déjà ce nom",
    }
    for kind, reason in reasons.items():
        if isinstance(exc, kind):
            return reason
    return exc.strerror or type(exc).__name__


def _retention(args) -> int:
    """`telesante historique FICHIER --conserver-nuits N`: drop older nights, then VACUUM."""
    from telesante.audit import ERREUR_CONFIGURATION
    from telesante.retention import ErreurRetention, appliquer_retention

    try:
        bilan = appliquer_retention(args.fichier, args.conserver_nuits)
    except ErreurRetention as exc:
        _console_erreurs().print(inerte(str(exc)), style="bold red", markup=False)
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

    from telesante.audit import ERREUR_CONFIGURATION
    from telesante.historique import ErreurHistorique, derniers_passages

    if args.conserver_nuits is not None:
        return _retention(args)
    try:
        runs = derniers_passages(args.fichier, args.nombre)
    except ErreurHistorique as exc:
        _console_erreurs().print(inerte(str(exc)), style="bold red", markup=False)
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
        _console_erreurs().print(f"{inerte(str(args.fichier))} : aucun passage enregistré.", markup=False)
    Console().print(table)
    return 0


def _cles_hotes(args) -> int:
    from telesante import cles_hotes
    from telesante.audit import ERREUR_CONFIGURATION

    config = _configuration(args)
    if config is None:
        return ERREUR_CONFIGURATION
    fichier = _hotes_connus(args, config)
    out = _console_erreurs()
    if args.action == "lister":
        for equipement in config.equipements:
            keys = cles_hotes.cles_connues(fichier, equipement)
            state = ", ".join(f"{k.get_name()} {k.fingerprint}" for k in keys) or "aucune clé épinglée"
            print(f"{equipement.nom} ({cles_hotes.nom_known_hosts(equipement)}) : {state}")
        return 0
    equipement = next((e for e in config.equipements if e.nom == args.equipement), None)
    if equipement is None:
        out.print(f"Équipement « {args.equipement} » absent de l'inventaire {args.inventaire}.", markup=False)
        return ERREUR_CONFIGURATION
    if args.action == "retirer":
        removed = cles_hotes.retirer(fichier, equipement)
        print(f"{equipement.nom} : clé retirée de {fichier}" if removed else f"{equipement.nom} : aucune clé épinglée")
        return 0
    try:
        cle = cles_hotes.lire_cle_distante(equipement)
    except cles_hotes.ErreurCleHote as exc:
        out.print(str(exc), markup=False)
        return 1
    print(f"{equipement.nom} ({cles_hotes.nom_known_hosts(equipement)}) présente la clé {cle.get_name()} {cle.fingerprint}")
    if args.empreinte is not None:
        if args.empreinte.strip() != cle.fingerprint:
            out.print(f"Empreinte différente de celle attendue ({args.empreinte}) : clé NON épinglée.", markup=False)
            return 1
    elif not sys.stdin.isatty():
        out.print("Hors terminal, --empreinte est obligatoire : clé NON épinglée.", markup=False)
        return 1
    elif input("Épingler cette clé ? Vérifiez l'empreinte sur la console de l'équipement [o/N] ").strip().lower() not in ("o", "oui"):
        print("Clé NON épinglée.")
        return 1
    cles_hotes.epingler(fichier, equipement, cle)
    print(f"Clé épinglée dans {fichier}.")
    return 0


def _capteur_mdns(args) -> int:
    from telesante import capteur_mdns

    try:
        document = capteur_mdns.ecouter(args.interface, args.duree, args.nom)
    except (ValueError, OSError) as exc:
        _console_erreurs().print(f"Capteur mDNS : {exc}", markup=False)
        return 1
    capteur_mdns.ecrire(document, args.sortie)
    print(f"{len(document['annonces'])} annonces mDNS écrites dans {args.sortie}")
    return 0


def _capteur_isolement(args) -> int:
    import dataclasses
    import json

    from telesante import capteur_isolement
    from telesante.audit import ERREUR_CONFIGURATION, INCOMPLET

    errors = _console_erreurs()
    if args.plan is not None:
        if args.sonde is not None or args.historique is not None:
            errors.print("--sonde et --historique vont avec -i (inventaire), pas avec --plan.", markup=False)
            return ERREUR_CONFIGURATION
        try:
            plan = capteur_isolement.lire_plan(args.plan.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            errors.print(f"Plan « {inerte(str(args.plan))} » illisible : "
                         f"{_raison(exc) if isinstance(exc, OSError) else 'ce n’est pas du texte UTF-8'}", markup=False)
            return ERREUR_CONFIGURATION
        except capteur_isolement.PlanInvalide as exc:
            errors.print(f"Plan « {inerte(str(args.plan))} » refusé : {inerte(str(exc))}", markup=False)
            return ERREUR_CONFIGURATION
    else:
        if args.sonde is None:
            errors.print("Avec -i, --sonde NOM est obligatoire (la sonde de l'inventaire à planifier).", markup=False)
            return ERREUR_CONFIGURATION
        config = _configuration(args)
        if config is None:
            return ERREUR_CONFIGURATION
        sonde = next((e for e in config.equipements if e.nom == args.sonde), None)
        if sonde is None or sonde.plateforme != "sonde_isolement":
            sondes = ", ".join(e.nom for e in config.equipements if e.plateforme == "sonde_isolement") or "aucune"
            errors.print(f"« {inerte(args.sonde)} » n'est pas une sonde d'isolement de l'inventaire {args.inventaire} "
                         f"(sondes déclarées : {sondes}).", markup=False)
            return ERREUR_CONFIGURATION
        vues: list[str] = []
        if args.historique is not None:
            from telesante.historique import ErreurHistorique, adresses_vues

            try:
                vues = adresses_vues(args.historique, 4 * args.echantillon)
            except ErreurHistorique as exc:
                errors.print(f"Historique : {inerte(str(exc))}", markup=False)
                return ERREUR_CONFIGURATION
        plan = capteur_isolement.plan_de_l_inventaire(config.reseaux, sonde, vues, args.echantillon)
    bornes = {cle: valeur for cle, valeur in (("paquets_max", args.paquets_max), ("debit_max", args.debit_max),
                                              ("duree_max", args.duree_max)) if valeur is not None}
    plan = dataclasses.replace(plan, bornes=dataclasses.replace(plan.bornes, **bornes),
                               interface=args.interface or plan.interface)
    try:
        document = capteur_isolement.sonder(plan)
    except (OSError, ValueError) as exc:  # ValueError: an interface name the kernel cannot take
        import errno

        raison = ("interface inconnue" if getattr(exc, "errno", None) in (errno.ENODEV, errno.ENXIO)
                  else _raison(exc) if isinstance(exc, OSError) else "interface invalide")
        errors.print(f"Sonde d'isolement arrêtée : {raison} (interface « {inerte(str(plan.interface))} », "
                     "droits CAP_NET_RAW ?) : rien n'est écrit (code 2).", markup=False)
        return INCOMPLET
    try:
        _ecrire_atomiquement(args.sortie, (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
    except OSError as exc:
        errors.print(f"Résultat non écrit ({inerte(str(args.sortie))}) : {_raison(exc)} (code 2).", markup=False)
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

    from telesante.audit import ERREUR_INTERNE, INCOMPLET

    try:
        # Ansible creates its controller temporary folder on load, by default in ~/.ansible/tmp:
        # a service account whose HOME does not exist (or cannot be written) would stop there.
        os.environ.setdefault("ANSIBLE_LOCAL_TEMP", tempfile.gettempdir())
        args = construire_analyseur().parse_args(argv)
        if args.commande == "audit":
            return _audit(args)
        if _SIGNAUX_RECUS:
            raise Interruption(_SIGNAUX_RECUS[0])
        _capter(_interrompre)
        commands = {"cles-hotes": _cles_hotes, "historique": _historique}
        if args.commande == "capteur":
            return {"mdns": _capteur_mdns, "isolement": _capteur_isolement}[args.capteur](args)
        return commands[args.commande](args)
    except (Interruption, KeyboardInterrupt) as exc:
        _capter(signal.SIG_IGN)  # stopping already: a second signal must not cut the message
        console = _console_erreurs()
        console.print(f"Arrêt demandé ({exc or 'SIGINT'}) : commande interrompue.", style="bold red", markup=False)
        _dire_code(console, INCOMPLET)
        return INCOMPLET
    except Exception:  # noqa: BLE001 -- a bug must not exit 1, which means « non-conformités »
        import traceback

        traceback.print_exc()
        _console_erreurs().print("Erreur interne de telesante (trace ci-dessus, à joindre au signalement).",
                                 style="bold red", markup=False)
        _dire_code(_console_erreurs(), ERREUR_INTERNE)
        return ERREUR_INTERNE
    finally:
        if argv is None:  # the console script: the code is decided, a late signal must not change it
            _capter(signal.SIG_IGN)  # (Python restores the default action while it shuts down)
        else:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
