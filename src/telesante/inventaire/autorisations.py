"""What the inventory allows: authorized equipment (postes DSQ and their VM), waivers, signatures, the age of sources."""

from __future__ import annotations

from pathlib import Path

from telesante.configuration import FUSEAU_HORAIRE, Autorise, Derogation, DerogationIsolement, Reseau
from telesante.inventaire.validation import (Validation, adresse_ipv4, date_aaaa_mm_jj, liste_fusionnee, texte_ou_absent,
                                             type_yaml)
from telesante.inerte import inerte
from telesante.isolement import NOMS_METHODES
from telesante.mac import mac_vm_du_numero_serie


CLES_AUTORISE = ("mac", "nom", "type")
CLES_DEROGATION = ("mac", "justification", "expiration")
CLES_DEROGATION_ISOLEMENT = ("depuis", "cible", "port", "methode", "justification", "expiration")
AGE_MAX_SOURCES_HEURES = 36


def lire_autorises(check: Validation, per_host: dict) -> dict[str, Autorise]:
    declared: list[tuple[object, str, Autorise]] = []
    for index, item in enumerate(liste_fusionnee(check, per_host, "telesante_equipements_autorises", "mac")):
        where = f"telesante_equipements_autorises[{index}]"
        check.cles_connues(item, where, CLES_AUTORISE)
        mac = check.mac(item.get("mac"), f"{where}.mac", item)
        nom = check.texte(item, "nom", where)
        type_ = check.texte(item, "type", where, obligatoire=False) or "autre"
        if mac and nom:
            declared.append((item.get("mac"), f"{where}.mac", Autorise(mac, nom, type_, "liste des équipements autorisés")))
    for host, values in per_host.items():
        if "telesante_numero_serie" not in values and "telesante_macs_poste" not in values:
            continue
        for j, raw in enumerate(check.liste(values.get("telesante_macs_poste"), "telesante_macs_poste")):
            mac = check.mac(raw, f"telesante_macs_poste[{j}]", hote=host)
            if mac:
                declared.append((raw, "telesante_macs_poste", Autorise(mac, host, "poste DSQ", f"poste {host}")))
        vm_mac = values.get("telesante_mac_vm")
        serial = values.get("telesante_numero_serie")
        if vm_mac is not None:
            mac = check.mac(vm_mac, "telesante_mac_vm", hote=host)
        elif isinstance(serial, str) and serial.strip():
            mac = mac_vm_du_numero_serie(serial)
        else:
            check.erreur(serial, "telesante_numero_serie", f"numéro de série manquant pour le poste {host}", hote=host)
            mac = None
        if mac:
            declared.append((vm_mac or serial, "telesante_mac_vm", Autorise(mac, f"{host} (VM Windows)", "VM DSQ", f"poste {host}")))
    autorises: dict[str, Autorise] = {}
    for raw, cle, autorise in declared:
        previous = autorises.get(autorise.mac)
        if previous and (previous.nom, previous.type) != (autorise.nom, autorise.type):
            check.erreur(
                raw, cle,
                f"la MAC {autorise.mac} est déclarée deux fois : « {previous.nom} » ({previous.origine}) "
                f"et « {autorise.nom} » ({autorise.origine})",
            )
            continue
        autorises[autorise.mac] = autorise
    return autorises


def lire_derogations(check: Validation, per_host: dict) -> dict[str, Derogation]:
    derogations = {}
    for index, item in enumerate(liste_fusionnee(check, per_host, "telesante_derogations", "mac")):
        where = f"telesante_derogations[{index}]"
        check.cles_connues(item, where, CLES_DEROGATION)
        mac = check.mac(item.get("mac"), f"{where}.mac", item)
        justification = check.texte(item, "justification", where)
        if "expiration" not in item:
            check.erreur(item, f"{where}.expiration", "date d'expiration obligatoire (AAAA-MM-JJ)")
            continue
        expiration = date_aaaa_mm_jj(check, item["expiration"], f"{where}.expiration")
        if mac and justification and expiration:
            derogations[mac] = Derogation(mac, justification, expiration)
    return derogations


def lire_globales(check: Validation, per_host: dict, racine: Path):
    signatures = liste_fusionnee(check, per_host, "telesante_signatures", "nom")
    interdites = None
    hotes_connus = None
    for host, values in per_host.items():
        if "telesante_categories_interdites" in values:
            raw = check.liste(values["telesante_categories_interdites"], "telesante_categories_interdites")
            for j, categorie in enumerate(raw):
                if not isinstance(categorie, str):
                    check.erreur(categorie, f"telesante_categories_interdites[{j}]",
                                 f"nom de catégorie attendu (texte), pas {type_yaml(categorie)}", hote=host)
            interdites = frozenset(c for c in raw if isinstance(c, str))
        fichier = values.get("telesante_fichier_hotes_connus")
        if fichier and texte_ou_absent(check, fichier, "telesante_fichier_hotes_connus", host):
            hotes_connus = racine / str(fichier).strip()
    return signatures, interdites, hotes_connus


def lire_age_max_sources(check: Validation, per_host: dict) -> int:
    """telesante_age_max_sources_heures: hours after which a dated source is stale (one value for all)."""
    valeurs: list[tuple[str, int]] = []
    for host, values in per_host.items():
        if "telesante_age_max_sources_heures" in values:
            heures = check.entier(values["telesante_age_max_sources_heures"], "telesante_age_max_sources_heures", 1,
                                  hote=host)
            if heures is not None:
                valeurs.append((host, heures))
    return check.valeur_unique("telesante_age_max_sources_heures", valeurs, AGE_MAX_SOURCES_HEURES)


def lire_derogations_isolement(check: Validation, per_host: dict, reseaux: list[Reseau]) -> list[DerogationIsolement]:
    """telesante_derogations_isolement: declared openings from an off-mission network to a mission address."""
    par_nom = {r.nom: r for r in reseaux}
    derogations = []
    for index, item in enumerate(liste_fusionnee(check, per_host, "telesante_derogations_isolement", None)):
        where = f"telesante_derogations_isolement[{index}]"
        check.cles_connues(item, where, CLES_DEROGATION_ISOLEMENT)
        depuis = check.texte(item, "depuis", where)
        reseau = par_nom.get(depuis) if depuis else None
        if depuis and (reseau is None or reseau.mission):
            hors = ", ".join(sorted(r.nom for r in reseaux if not r.mission)) or "aucun"
            check.erreur(item["depuis"], f"{where}.depuis",
                         f"« {depuis} » n'est pas un réseau hors mission déclaré (réseaux hors mission : {hors})")
            reseau = None
        cible = None
        if "cible" not in item:
            check.erreur(item, f"{where}.cible", "valeur obligatoire manquante")
        else:
            cible = adresse_ipv4(check, item["cible"], f"{where}.cible")
        if cible is not None and reseau is not None and not any(
                cible in s for r in reseaux if r.mission and r.site == reseau.site for s in r.sous_reseaux):
            check.erreur(item["cible"], f"{where}.cible",
                         f"{cible} n'est dans aucun réseau de mission du site « {reseau.site} »")
            cible = None
        port = None if item.get("port") is None else check.entier(item["port"], f"{where}.port", 1, 65535)
        methode = item.get("methode")
        if methode is not None and methode not in NOMS_METHODES:
            check.erreur(methode, f"{where}.methode",
                         f"méthode inconnue « {methode} » (connues : {', '.join(NOMS_METHODES)})")
        justification = check.texte(item, "justification", where)
        if "expiration" not in item:
            check.erreur(item, f"{where}.expiration", "date d'expiration obligatoire (AAAA-MM-JJ)")
            continue
        expiration = date_aaaa_mm_jj(check, item["expiration"], f"{where}.expiration")
        if reseau and cible is not None and justification and expiration and (
                item.get("port") is None or port is not None) and (methode is None or methode in NOMS_METHODES):
            derogations.append(DerogationIsolement(reseau.nom, str(cible), justification, expiration, port, methode))
    return derogations


def lire_fuseau_horaire(check: Validation, per_host: dict) -> str:
    """telesante_fuseau_horaire: the establishment's IANA time zone (America/Montreal by default), one for all."""
    from zoneinfo import available_timezones

    valeurs: list[tuple[str, str]] = []
    for host, values in per_host.items():
        if "telesante_fuseau_horaire" in values:
            valeur = values["telesante_fuseau_horaire"]
            if not isinstance(valeur, str) or valeur not in available_timezones():
                check.erreur(valeur, "telesante_fuseau_horaire", f"fuseau horaire inconnu « {inerte(str(valeur))} » "
                             "(nom IANA attendu : America/Montreal, America/Toronto...)", hote=host)
                continue
            valeurs.append((host, valeur))
    return check.valeur_unique("telesante_fuseau_horaire", valeurs, FUSEAU_HORAIRE)
