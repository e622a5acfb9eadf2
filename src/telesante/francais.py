"""French for the messages argparse prints (usage, errors, help headings).

argparse looks its messages up through gettext; Python ships no French catalogue for
them, so the ones a user meets are given here.
"""

from __future__ import annotations

import argparse

MESSAGES = {
    "usage: ": "utilisation : ",
    "positional arguments": "arguments",
    "options": "options",
    "show this help message and exit": "affiche cette aide et quitte",
    "show program's version number and exit": "affiche la version et quitte",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "arguments obligatoires manquants : %s",
    "unrecognized arguments: %s": "arguments non reconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix invalide : %(value)r (possibles : %(choices)s)",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur attendue",
    "expected at least one argument": "au moins une valeur attendue",
    "expected at most one argument": "au plus une valeur attendue",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "invalid %(type)s value: %(value)r": "valeur invalide : %(value)r",
    "unknown parser %(parser_name)r (choices: %(choices)s)": "commande inconnue %(parser_name)r (possibles : %(choices)s)",
    "one of the arguments %s is required": "un des arguments %s est obligatoire",
    "not allowed with argument %s": "incompatible avec l'argument %s",
}


def traduire(message: str) -> str:
    """The French text of an argparse message (unchanged when unknown)."""
    return MESSAGES.get(message, message)


class AnalyseurFrancais(argparse.ArgumentParser):
    """ArgumentParser speaking French, whose usage errors exit with a chosen code.

    argparse exits with 2 on a usage error, which telesante's exit codes reserve for an
    incomplete audit: a scheduler must not read a typo as "some equipment unread".
    """

    code_erreur = 3

    def error(self, message: str):
        self.print_usage(argparse._sys.stderr)
        self.exit(self.code_erreur, traduire("%(prog)s: error: %(message)s\n") % {"prog": self.prog, "message": message})


argparse._ = traduire  # argparse's module-level gettext alias
