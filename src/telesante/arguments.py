"""The `telesante` command's arguments, in French: commands, options, their types and bounds."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from telesante import __version__
from telesante.collecte.plan_isolement import ECHANTILLON
from telesante.francais import AnalyseurFrancais
from telesante.inerte import citer


def _formats(texte: str) -> list[str]:
    from telesante.rapports.registre import FORMATS_RAPPORT

    formats = [f.strip() for f in texte.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS_RAPPORT]
    if unknown or not formats:
        raise argparse.ArgumentTypeError(f"format inconnu {unknown} (possibles : {', '.join(FORMATS_RAPPORT)})")
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
    from telesante.codes import SIGNIFICATION
    from telesante.rapports.registre import FORMATS_RAPPORT

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
                       help=f"formats du rapport, séparés par des virgules : {', '.join(FORMATS_RAPPORT)} (défaut : terminal)")
    audit.add_argument("-o", "--sortie", type=Path, default=Path("rapports"),
                       help="dossier des rapports fichiers (défaut : ./rapports)")
    audit.add_argument("--historique", type=Path, default=None, metavar="FICHIER",
                       help="base SQLite où chaque passage est ajouté (verdict, constats, équipements non lus) ; "
                       f"une sonde lancée par l'audit essaie aussi {ECHANTILLON} adresses de mission vues au passage "
                       "précédent")
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
    history.add_argument("--comparer", nargs=2, default=None, metavar=("AVANT", "APRES"),
                         help="ce qui a changé entre deux passages (numéro de passage, ou nuit AAAA-MM-JJ : son dernier "
                              "passage) : constats nouveaux, persistants, disparus ; équipements ; réseaux de mission")
    history.add_argument("--mac", default=None, metavar="MAC",
                         help="la vie d'une MAC dans l'historique : nuits, réseaux et constats où elle a paru")

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
    _collecte_repartie_options(commands, audit)  # telesante collecter, and audit --collecte-repartie
    return parser


def _capteur_isolement_options(sensor_commands) -> None:
    from telesante.collecte.plan_isolement import Bornes

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
    source.add_argument("--plan", type=Path, default=None, metavar="FICHIER", help="plan de la sonde (JSON ; « - » : l'entrée standard)")
    source.add_argument("-i", "--inventaire", type=Path, default=None,
                        help="inventaire Ansible : le plan est construit pour la sonde --sonde")
    isolement.add_argument("--fichier-mot-de-passe-vault", type=Path, default=None, metavar="FICHIER",
                           help="fichier du mot de passe Ansible Vault de l'inventaire")
    isolement.add_argument("--sonde", default=None, metavar="NOM", help="nom de la sonde dans l'inventaire (avec -i)")
    isolement.add_argument("--historique", type=Path, default=None, metavar="FICHIER",
                           help="historique des audits : adresses de mission vues au dernier passage, essayées aussi (avec -i)")
    isolement.add_argument("--echantillon", type=_entier(ECHANTILLON_MAX), default=ECHANTILLON, metavar="N",
                           help=f"au plus N adresses lues dans --historique (au plus {ECHANTILLON_MAX}, "
                                f"défaut : {ECHANTILLON})")
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


def _collecte_repartie_options(commandes, audit) -> None:
    """Declare `telesante collecter`, and the final node's options of `telesante audit`."""
    audit_repartie = audit.add_argument_group("collecte répartie (nœud final d'un flux de travail AWX)")
    audit_repartie.add_argument("--collecte-repartie", type=Path, default=None, metavar="DOSSIER",
                                help="audite les captures que les tranches de `telesante collecter` ont écrites dans "
                                "DOSSIER, comparées à l'inventaire entier (avec --source captures)")
    audit_repartie.add_argument("--passage", default=None, metavar="ID",
                                help="identifiant du passage, celui donné aux tranches (avec --collecte-repartie)")
    audit_repartie.add_argument("--tranches", type=_entier(10_000), default=None, metavar="N",
                                help="nombre de tranches attendu (job_slice_count d'AWX) : une tranche absente est "
                                "nommée même si aucune n'a écrit (défaut : lu dans les manifestes)")
    collecte = commandes.add_parser(
        "collecter", help="collecte seule (une tranche), vers des captures et un manifeste",
        description="Collecte les équipements que désigne --limite (motif d'hôtes Ansible, comme ansible --limit) "
        "et les écrit dans DOSSIER/captures/<équipement>/ avec le manifeste de la tranche dans DOSSIER/manifestes/. "
        "Le nœud final les audite : telesante audit -i INVENTAIRE --collecte-repartie DOSSIER --passage ID.",
        epilog="Codes de sortie : 0 tout collecté ; 2 au moins un équipement non collecté (nommé dans le manifeste) "
        "ou collecte interrompue ; 3 inventaire, motif ou options invalides, rien n'est collecté.")
    _inventaire(collecte)
    collecte.add_argument("--dossier", type=Path, required=True, help="dossier partagé de la collecte répartie")
    collecte.add_argument("--passage", required=True, metavar="ID",
                          help="identifiant du passage (le même pour toutes les tranches et le nœud final)")
    collecte.add_argument("--limite", default=None, metavar="MOTIF",
                          help="motif d'hôtes Ansible, sémantique de ansible --limit (sw-*:!sw-sud-02, site_nord, "
                          "@fichier) ; défaut : tout l'inventaire")
    collecte.add_argument("--tranches", type=_entier(10_000), default=None, metavar="N",
                          help="nombre de tranches du découpage d'AWX (job_slice_count) : nomme la tranche par son "
                          "numéro")
    collecte.add_argument("--source", choices=("direct", "captures"), default="direct",
                          help="direct : par SSH (défaut) ; captures : recopie les captures de l'inventaire, vérifiées")
    collecte.add_argument("--parallele", type=_entier(PARALLELE_MAX), default=8, metavar="N",
                          help=f"équipements lus en même temps (1 à {PARALLELE_MAX}, défaut : 8)")
    collecte.add_argument("--delai-connexion", type=_duree(DELAI_MAX), default=10.0, metavar="S",
                          help="délai de connexion SSH en secondes (défaut : 10)")
    collecte.add_argument("--delai-commande", type=_duree(DELAI_MAX), default=30.0, metavar="S",
                          help="délai d'une commande en secondes (défaut : 30)")
    collecte.add_argument("--tentatives", type=_entier(TENTATIVES_MAX), default=3, metavar="N",
                          help=f"tentatives par équipement pour les pannes passagères (1 à {TENTATIVES_MAX}, défaut : 3)")
    collecte.add_argument("--hotes-connus", type=Path, default=None, metavar="FICHIER",
                          help="fichier known_hosts (défaut : celui de l'inventaire)")
