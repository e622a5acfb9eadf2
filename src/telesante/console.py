"""What every command shares: the console of messages, the inventory loaded or its errors told, exit codes told."""

from __future__ import annotations

from pathlib import Path


def console_erreurs():
    """The console of messages: stderr, never read as rich markup by the callers (markup=False)."""
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False)


def configuration_de(args):
    """Load the inventory, or print the French errors and return None (exit code 3)."""
    from telesante.codes import ERREUR_CONFIGURATION
    from telesante.inventaire import ErreurConfiguration, charger_configuration

    try:
        return charger_configuration(args.inventaire, args.fichier_mot_de_passe_vault)
    except ErreurConfiguration as exc:
        erreurs = console_erreurs()
        erreurs.print(f"Erreur de configuration dans l'inventaire {args.inventaire} :", style="bold red", markup=False)
        for erreur in exc.erreurs:
            erreurs.print(f"  - {erreur}", markup=False)
        dire_code(erreurs, ERREUR_CONFIGURATION)
        return None


def dire_code(console, code: int) -> None:
    """Print an exit code and its meaning (stderr console)."""
    from telesante.codes import SIGNIFICATION

    console.print(f"Code de sortie {code} : {SIGNIFICATION[code]}", markup=False)


def fichier_hotes_connus(args, config) -> Path:
    """--hotes-connus, else the inventory's telesante_hotes_connus, else hotes_connus beside the inventory."""
    return args.hotes_connus or config.fichier_hotes_connus or config.racine / "hotes_connus"
