"""Equipment: the hosts that define telesante_plateforme, their access and their capture folder."""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

from telesante.collecte.plan_isolement import PlanInvalide, lire_plan, plan_de_l_inventaire, texte_du_plan
from telesante.collecte.plateformes import PLATEFORMES
from telesante.collecte.snmp_parametres import lire_parametres_snmp
from telesante.configuration import Equipement, LancementSonde, Reseau
from telesante.inventaire.validation import Validation, texte_ou_absent, type_yaml


# A device's variables that must be texts when present (a list there would become a path « ['a'] »).
TEXTES_EQUIPEMENT = ("telesante_site", "telesante_captures", "telesante_fichier", "telesante_reseau", "ansible_host",
                     "ansible_user", "ansible_ssh_private_key_file")


def lire_equipement(check: Validation, nom: str, values: dict, racine: Path) -> Equipement | None:
    plateforme = values["telesante_plateforme"]
    if not isinstance(plateforme, str) or plateforme not in PLATEFORMES:
        decrite = f"« {plateforme} » inconnue" if isinstance(plateforme, str) else f"attendue en texte, pas {type_yaml(plateforme)},"
        check.erreur(
            plateforme,
            "telesante_plateforme",
            f"plateforme {decrite} pour {nom} (connues : {', '.join(sorted(PLATEFORMES))})",
            hote=nom,
        )
        return None
    site = values.get("telesante_site")
    if site is None or (isinstance(site, str) and not site.strip()):
        check.erreur(plateforme, "telesante_site", f"site manquant pour {nom}", hote=nom)
        return None
    if not all([texte_ou_absent(check, values.get(cle), cle, nom) for cle in TEXTES_EQUIPEMENT]):
        return None
    texte = {cle: None if values.get(cle) is None else str(values[cle]).strip() for cle in TEXTES_EQUIPEMENT}
    port = values.get("ansible_port", 22)
    if isinstance(port, str) and port.strip().isdigit():
        port = int(port)
    port = check.entier(port, "ansible_port", 1, 65535, hote=nom) or 22
    return Equipement(
        nom=nom,
        plateforme=plateforme,
        site=texte["telesante_site"],
        adresse=texte["ansible_host"],
        port_ssh=port,
        utilisateur=texte["ansible_user"],
        cle_privee=texte["ansible_ssh_private_key_file"],
        mot_de_passe=values.get("ansible_password"),
        captures=racine / (texte["telesante_captures"] or f"captures/{nom}"),
        chemin_fichier=texte["telesante_fichier"] or PLATEFORMES[plateforme].chemin_par_defaut,
        ports_liaison=frozenset(str(p) for p in check.liste(values.get("telesante_ports_liaison"), "telesante_ports_liaison")),
        vlan_par_defaut=None if values.get("telesante_vlan_par_defaut") is None else check.entier(
            values["telesante_vlan_par_defaut"], "telesante_vlan_par_defaut", 1, 4094, hote=nom),
        reseau=texte["telesante_reseau"],
        snmp=lire_parametres_snmp(check, nom, values) if plateforme == "snmp" else None,
    )


def verifier_sondes_isolement(check: Validation, equipements: list[Equipement], reseaux: list[Reseau],
                      per_host: dict) -> None:
    """An isolation probe names (telesante_reseau) an off-mission network of its site; no other equipment does."""
    for equipement in equipements:
        valeur = per_host[equipement.nom].get("telesante_reseau")
        if equipement.plateforme != "sonde_isolement":
            if equipement.reseau is not None:
                check.erreur(valeur, "telesante_reseau", f"réservée aux sondes d'isolement (plateforme sonde_isolement), "
                                                         f"pas à {equipement.nom} ({equipement.plateforme})", hote=equipement.nom)
            continue
        permis = sorted(r.nom for r in reseaux if not r.mission and r.site == equipement.site)
        if equipement.reseau is None:
            check.erreur(per_host[equipement.nom].get("telesante_plateforme"), "telesante_reseau",
                         f"réseau hors mission de la sonde {equipement.nom} manquant (réseaux hors mission du site "
                         f"« {equipement.site} » : {', '.join(permis) or 'aucun'})", hote=equipement.nom)
        elif equipement.reseau not in permis:
            check.erreur(valeur, "telesante_reseau",
                         f"« {equipement.reseau} » n'est pas un réseau hors mission du site « {equipement.site} » de la "
                         f"sonde {equipement.nom} (réseaux hors mission de ce site : {', '.join(permis) or 'aucun'})",
                         hote=equipement.nom)


# An isolation probe the audit launches itself over SSH (README, « La sonde d'isolement »).
VARIABLES_LANCEMENT = ("telesante_sonde_lancee_par_audit", "telesante_sonde_commande", "telesante_sonde_interface",
                       "telesante_sonde_duree_max")
DUREE_SONDE_MAX = 3600  # seconds, as `telesante capteur isolement --duree-max`


def planifier_sondes_lancees(check: Validation, equipements: list[Equipement], reseaux: list[Reseau],
                             per_host: dict) -> list[Equipement]:
    """The equipment, each isolation probe with `telesante_sonde_lancee_par_audit: true` given its launch:
    the command that runs `telesante` there, and the plan built from the inventory (checked as the probe will)."""
    resultat = []
    for equipement in equipements:
        values = per_host[equipement.nom]
        presentes = [cle for cle in VARIABLES_LANCEMENT if values.get(cle) is not None]
        lancee = values.get("telesante_sonde_lancee_par_audit", False)
        if equipement.plateforme != "sonde_isolement" or lancee is not True:
            if equipement.plateforme != "sonde_isolement":
                pourquoi = f"réservée aux sondes d'isolement (plateforme sonde_isolement), pas à {equipement.nom}"
            elif lancee is not False:
                lue = f"« {lancee} »" if isinstance(lancee, str) else type_yaml(lancee)
                pourquoi = f"true ou false attendu, pas {lue}"
                presentes = ["telesante_sonde_lancee_par_audit"]
            else:
                pourquoi = f"sans effet : la sonde {equipement.nom} n'est pas lancée par l'audit " \
                           "(telesante_sonde_lancee_par_audit: true)"
                presentes = [cle for cle in presentes if cle != "telesante_sonde_lancee_par_audit"]
            for cle in presentes:
                check.erreur(values[cle], cle, pourquoi, hote=equipement.nom)
            resultat.append(equipement)
            continue
        lancement = _lancement(check, equipement, values, reseaux)
        resultat.append(equipement if lancement is None else dataclasses.replace(equipement, lancement=lancement))
    return resultat


def _lancement(check: Validation, sonde: Equipement, values: dict, reseaux: list[Reseau]) -> LancementSonde | None:
    commande = values.get("telesante_sonde_commande", "telesante")
    try:
        mots = tuple(shlex.split(commande)) if isinstance(commande, str) and "\0" not in commande else ()
    except ValueError:
        mots = ()
    if not mots or any(c in commande for c in "\n\r"):
        check.erreur(commande, "telesante_sonde_commande", "commande qui lance telesante sur la sonde attendue "
                     "(par exemple « sudo -n /opt/telesante/.venv/bin/telesante »), sur une ligne", hote=sonde.nom)
        return None
    interface = values.get("telesante_sonde_interface")
    if interface is not None and (not isinstance(interface, str) or not 0 < len(interface) <= 15
                                  or any(c.isspace() or c == "/" for c in interface)):
        check.erreur(interface, "telesante_sonde_interface", "nom d'interface Linux attendu (15 caractères au plus, "
                     "sans espace ni « / »)", hote=sonde.nom)
        return None
    plan = plan_de_l_inventaire(reseaux, sonde)
    if values.get("telesante_sonde_duree_max") is not None:
        duree = check.entier(values["telesante_sonde_duree_max"], "telesante_sonde_duree_max", 1, DUREE_SONDE_MAX,
                             hote=sonde.nom)
        if duree is None:
            return None
        plan = dataclasses.replace(plan, bornes=dataclasses.replace(plan.bornes, duree_max=float(duree)))
    plan = dataclasses.replace(plan, interface=interface)
    try:
        lire_plan(texte_du_plan(plan))
    except PlanInvalide as exc:
        check.erreur(values["telesante_sonde_lancee_par_audit"], "telesante_sonde_lancee_par_audit",
                     f"plan de la sonde {sonde.nom} refusé : {exc}", hote=sonde.nom)
        return None
    return LancementSonde(mots, plan)
