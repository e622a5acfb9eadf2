"""The `telesante` command."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from telesante import __version__
from telesante.audit import ERREUR_CONFIGURATION, SIGNIFICATION

CODES_SORTIE = "\n".join(f"  {code}  {texte}" for code, texte in SIGNIFICATION.items())
FORMATS = ("terminal", "json", "csv", "junit")
FICHIERS = {"json": "rapport.json", "csv": "rapport.csv", "junit": "rapport-junit.xml"}


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
        raise argparse.ArgumentTypeError(f"date invalide « {texte} » (attendu : AAAA-MM-JJ)") from exc


def construire_analyseur() -> argparse.ArgumentParser:
    """The argument parser, in French."""
    parser = argparse.ArgumentParser(
        prog="telesante",
        description="Audit de conformité des réseaux de mission et provisionnement des postes DSQ.",
    )
    parser.add_argument("--version", action="version", version=f"telesante {__version__}")
    commands = parser.add_subparsers(dest="commande", required=True, metavar="COMMANDE")
    audit = commands.add_parser(
        "audit",
        help="vérifie qu'aucun appareil interdit ou non autorisé n'est sur un réseau de mission",
        description="Collecte qui est présent sur chaque réseau de mission de l'inventaire, identifie "
        "les appareils grand public et non autorisés, et rend un verdict avec les preuves.",
        epilog=f"Codes de sortie :\n{CODES_SORTIE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    audit.add_argument("-i", "--inventaire", type=Path, required=True, help="inventaire Ansible (dossier ou fichier)")
    audit.add_argument(
        "--source", choices=("captures",), default="captures",
        help="captures : lit les fichiers de captures de chaque équipement (hors ligne)",
    )
    audit.add_argument(
        "-f", "--format", type=_formats, default=["terminal"], dest="formats",
        help="formats du rapport, séparés par des virgules : terminal, json, csv, junit (défaut : terminal)",
    )
    audit.add_argument("-o", "--sortie", type=Path, default=Path("rapports"),
                       help="dossier des rapports fichiers (défaut : ./rapports)")
    audit.add_argument("--date", type=_date, default=None,
                       help="date de référence pour l'expiration des dérogations (AAAA-MM-JJ, défaut : aujourd'hui)")
    audit.add_argument("--fichier-mot-de-passe-vault", type=Path, default=None,
                       help="fichier du mot de passe Ansible Vault de l'inventaire")
    return parser


def _audit(args) -> int:
    from rich.console import Console

    from telesante.audit import auditer
    from telesante.collecte.captures import collecter_captures
    from telesante.inventaire import ErreurConfiguration, charger_configuration
    from telesante.rapports import document as doc
    from telesante.rapports import formats, terminal

    errors = Console(stderr=True, soft_wrap=True)
    try:
        config = charger_configuration(args.inventaire, args.fichier_mot_de_passe_vault)
    except ErreurConfiguration as exc:
        errors.print(f"Erreur de configuration dans l'inventaire {args.inventaire} :", style="bold red", markup=False)
        for erreur in exc.erreurs:
            errors.print(f"  - {erreur}", markup=False, highlight=False)
        errors.print(f"Code de sortie {ERREUR_CONFIGURATION} : {SIGNIFICATION[ERREUR_CONFIGURATION]}", markup=False)
        return ERREUR_CONFIGURATION
    resultat = auditer(config, collecter_captures, mode=args.source, aujourd_hui=args.date)
    document = doc.construire(resultat)
    if "terminal" in args.formats:
        terminal.afficher(document)
    writers = {"json": lambda d: formats.en_json(d).encode("utf-8"), "csv": formats.en_csv, "junit": formats.en_junit}
    files = [f for f in args.formats if f in writers]
    if files:
        args.sortie.mkdir(parents=True, exist_ok=True)
    for name in files:
        path = args.sortie / FICHIERS[name]
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_bytes(writers[name](document))
        temporary.replace(path)
        errors.print(f"Rapport {name} : {path}", markup=False, highlight=False)
    return resultat.code_sortie


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `telesante` console script."""
    args = construire_analyseur().parse_args(argv)
    if args.commande == "audit":
        return _audit(args)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
