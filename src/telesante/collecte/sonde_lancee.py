"""The isolation probe launched by the audit itself over SSH (`telesante_sonde_lancee_par_audit: true`).

The audit sends the plan it built from the inventory on the standard input of
`timeout -k 5 DELAI telesante capteur isolement --plan - --sortie FICHIER > /dev/null && cat FICHIER`,
then reads the result of that very run: the plan carries a random `passage` that the probe copies into
its result, and a result without it (a file of another night, of another plan) is refused. The
command's delay is the probe's longest run (its `duree_max`) plus the usual command delay; `timeout`
stops the probe on its host one second after the audit stops waiting. With --historique, the plan
also tries a sample of the mission addresses seen by the last run, as the timer's plan does. The
text read is recorded and parsed as the file the probe's timer writes (platform `sonde_isolement`):
a live run replays offline.
"""

from __future__ import annotations

import dataclasses
import json
import math
import secrets
import shlex

from telesante.collecte import ssh
from telesante.collecte.contrat import EchecDefinitif, EchecPassager, LectureRefusee, ParametresCollecte
from telesante.collecte.plan_isolement import ECHANTILLON, plan_de_l_inventaire, texte_du_plan
from telesante.collecte.plateformes import lectures
from telesante.configuration import Configuration, Equipement
from telesante.inerte import citer

# What the exit codes of `telesante capteur isolement`, of `timeout` and of the shell say.
_CODES = {2: "sonde arrêtée ou impossible à lancer (droits CAP_NET_RAW, interface)",
          3: "plan ou options refusés par la sonde", 124: "sonde arrêtée sur la sonde après son délai (timeout)",
          126: "commande non exécutable (telesante_sonde_commande)",
          127: "commande introuvable (telesante_sonde_commande, ou timeout de coreutils)",
          137: "sonde tuée sur la sonde après son délai (timeout)"}
# Seconds `timeout` waits after its SIGTERM before it sends SIGKILL to a probe that outlived its delay.
_DELAI_KILL = 5


def avec_adresses_vues(config: Configuration, adresses_vues: list[str]) -> Configuration:
    """The configuration whose launched probes also try at most ECHANTILLON of `adresses_vues` (the mission
    addresses of the last run's findings), as the plan of the probe's timer does with --historique."""
    equipements = []
    for equipement in config.equipements:
        if equipement.lancement is not None:
            ancien = equipement.lancement.plan
            plan = dataclasses.replace(plan_de_l_inventaire(config.reseaux, equipement, adresses_vues, ECHANTILLON),
                                       bornes=ancien.bornes, interface=ancien.interface)
            equipement = dataclasses.replace(equipement, lancement=dataclasses.replace(equipement.lancement, plan=plan))
        equipements.append(equipement)
    return dataclasses.replace(config, equipements=equipements)


def commande_sonde(equipement: Equipement, delai: float) -> str:
    """The shell command run on the probe: the probe, bounded there by `timeout` (coreutils) one second after the
    audit stops waiting (`delai`), so that a probe the audit gave up on never keeps running; then its result,
    only if it wrote one."""
    chemin = shlex.quote(equipement.chemin_fichier or "")
    borne = math.ceil(delai) + 1
    # Its summary line (stdout) is dropped: only the file it wrote is read, and only if it wrote one.
    return (f"timeout -k {_DELAI_KILL} {borne} {shlex.join(equipement.lancement.commande)} capteur isolement "
            f"--plan - --sortie {chemin} > /dev/null && cat {chemin}")


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
        statut, sortie, erreurs = ssh.executer(equipement, parametres, commande_sonde(equipement, delai),
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
