"""The exit codes of `telesante audit` and what they mean: the one place that defines them.

The command's help, the reports (`verdict` of the JSON) and the Makefile read them here;
`python -m telesante.codes [CODE]` prints them (code, status, meaning; tab-separated) for scripts.
"""

from __future__ import annotations

import sys

CONFORME, NON_CONFORME, INCOMPLET, ERREUR_CONFIGURATION, ERREUR_INTERNE = 0, 1, 2, 3, 4

# The verdict's « statut » in the reports (an internal error gives no report).
STATUTS = {CONFORME: "conforme", NON_CONFORME: "non_conforme", INCOMPLET: "incomplet",
           ERREUR_CONFIGURATION: "erreur_configuration"}

SIGNIFICATION = {
    CONFORME: "conforme : aucun appareil interdit ni non autorisé sur les réseaux de mission",
    NON_CONFORME: "non-conformités : des appareils interdits ou non autorisés sont sur un réseau de mission, "
                  "ou un réseau de mission est joignable depuis un réseau hors mission",
    INCOMPLET: "incomplet : au moins un équipement n'a pas pu être lu ou a vu des appareils sur aucun réseau "
               "déclaré, ou un réseau de mission n'a été vu par aucun équipement ou sans aucun appareil "
               "(le verdict ne couvre pas tout)",
    ERREUR_CONFIGURATION: "erreur de configuration : inventaire invalide ou commande mal formée, rien n'a été audité",
    ERREUR_INTERNE: "erreur interne : problème imprévu de telesante (détail sur la sortie d'erreur), aucun verdict",
}


def principal(arguments: list[str]) -> int:
    """`python -m telesante.codes [CODE]`: the meaning of one code, or a line per code (code, status, meaning)."""
    if not arguments:
        for code, sens in SIGNIFICATION.items():
            print(f"{code}\t{STATUTS.get(code, 'erreur_interne')}\t{sens}")
        return 0
    if len(arguments) == 1 and arguments[0].isascii() and arguments[0].isdigit() and int(arguments[0]) in SIGNIFICATION:
        print(SIGNIFICATION[int(arguments[0])])
        return 0
    print(f"code de sortie inconnu : {' '.join(arguments)} (connus : {', '.join(map(str, SIGNIFICATION))})",
          file=sys.stderr)
    return ERREUR_CONFIGURATION


if __name__ == "__main__":  # pragma: no cover
    sys.exit(principal(sys.argv[1:]))
