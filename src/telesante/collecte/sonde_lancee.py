"""The isolation probe launched by the audit itself over SSH (`telesante_sonde_lancee_par_audit: true`).

The audit sends the plan it built from the inventory on the standard input of
`telesante capteur isolement --plan - --sortie FICHIER > /dev/null && cat FICHIER`, then reads the result of
that very run: the plan carries a random `passage` that the probe copies into its result, and a
result without it (a file of another night, of another plan) is refused. The command's delay is the
probe's longest run (its `duree_max`) plus the usual command delay. The text read is recorded and
parsed as the file the probe's timer writes (platform `sonde_isolement`): a live run replays offline.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shlex

from telesante.collecte import ssh
from telesante.collecte.contrat import EchecDefinitif, EchecPassager, LectureRefusee, ParametresCollecte
from telesante.collecte.plan_isolement import texte_du_plan
from telesante.collecte.plateformes import lectures
from telesante.configuration import Equipement
from telesante.inerte import citer

# What the exit codes of `telesante capteur isolement` (and of the shell) say.
_CODES = {2: "sonde arrêtée ou impossible à lancer (droits CAP_NET_RAW, interface)",
          3: "plan ou options refusés par la sonde", 126: "commande non exécutable (telesante_sonde_commande)",
          127: "commande introuvable (telesante_sonde_commande)"}


def commande_sonde(equipement: Equipement) -> str:
    """The shell command run on the probe: the probe, then its result, only if it wrote one."""
    chemin = shlex.quote(equipement.chemin_fichier or "")
    # Its summary line (stdout) is dropped: only the file it wrote is read, and only if it wrote one.
    return (f"{shlex.join(equipement.lancement.commande)} capteur isolement --plan - --sortie {chemin} > /dev/null"
            f" && cat {chemin}")


def delai_sonde(equipement: Equipement, parametres: ParametresCollecte) -> float:
    """How long the audit waits for the probe's result: its longest run plus the command delay."""
    return equipement.lancement.plan.bornes.duree_max + parametres.delai_commande


def lire_sonde_lancee(equipement: Equipement, parametres: ParametresCollecte) -> dict[str, str]:
    """Launch the probe with a plan of this run, and return its result (key: the read of its file).

    EchecDefinitif when it gives nothing within its delay, EchecPassager when the session ends first,
    LectureRefusee when it fails or gives the result of another run; SSH failures are raised as they
    come (classified by the caller).
    """
    passage = secrets.token_hex(16)
    plan = dataclasses.replace(equipement.lancement.plan, passage=passage)
    delai = delai_sonde(equipement, parametres)
    try:
        statut, sortie, erreurs = ssh.executer(equipement, parametres, commande_sonde(equipement),
                                               texte_du_plan(plan).encode("utf-8"), delai)
    except ssh.DelaiDepasse:
        raise EchecDefinitif(
            f"sonde lancée par l'audit sans résultat après {delai:g} s (durée maximale de son plan "
            f"{plan.bornes.duree_max:g} s + délai de commande {parametres.delai_commande:g} s) : bloquée ou "
            "injoignable en cours de route ; résultat non lu") from None
    if statut == -1:  # paramiko: no exit status, the session ended first
        raise EchecPassager("session SSH coupée avant la fin de la sonde lancée par l'audit : aucun résultat lu")
    if statut != 0:
        cause = " ".join(erreurs.split())
        raise LectureRefusee(f"sonde lancée par l'audit en échec (code {statut}"
                             f"{' : ' + _CODES[statut] if statut in _CODES else ''})"
                             f"{' : ' + citer(cause, 300) if cause else ''} ; aucun résultat de ce passage")
    try:
        lu = json.loads(sortie).get("passage")
    except (ValueError, AttributeError):
        raise LectureRefusee("sonde lancée par l'audit : résultat illisible (pas un document JSON)") from None
    if lu != passage:
        trouve = f"« {citer(str(lu))} »" if lu is not None else "aucun"
        raise LectureRefusee(f"sonde lancée par l'audit : le résultat lu n'est pas celui de ce passage (identifiant "
                             f"{trouve}, attendu « {passage} ») : fichier d'un autre passage ou d'un autre plan, refusé")
    [lecture] = lectures("sonde_isolement")
    return {lecture.commande: sortie}
