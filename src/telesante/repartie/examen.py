"""The final node of a distributed collection: `telesante audit --collecte-repartie DOSSIER --passage P`."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from telesante.collecte.captures import collecter_captures
from telesante.collecte.resultat import ResultatCollecte
from telesante.configuration import Configuration, Equipement
from telesante.inerte import inerte
from telesante.repartie.manifestes import CAPTURES, MANIFESTES, fichiers_de, lire_manifeste, nom_de_dossier, sha256
from telesante.repartie.tranches import decrire_tranche


@dataclass
class BilanReparti:
    """What the final node made of the shared folder, before reading any capture."""

    problemes: dict[str, list[str]]  # equipment -> why it is incomplete whatever its captures say
    a_lire: dict[str, tuple[dict, dict]]  # equipment -> (its slice's manifest, its entry)
    messages: list[str]  # one line per manifest and per slice problem, for the operator


def examiner(config: Configuration, hotes: list[str], dossier: Path, passage: str, tranches: int | None) -> BilanReparti:
    """Compare the manifests of `passage` in `dossier` with the whole inventory (`hotes`: all its hosts, as AWX slices them)."""
    messages: list[str] = []
    retenus: list[dict] = []
    rejets: list[str] = []
    dossier_manifestes = dossier / MANIFESTES
    try:
        chemins = sorted(p for p in dossier_manifestes.iterdir() if p.suffix == ".json" and not p.name.startswith("."))
    except OSError as exc:
        chemins = []
        messages.append(f"{dossier_manifestes} : dossier des manifestes illisible "
                        f"({exc.strerror or type(exc).__name__}) : aucune tranche lue")
    for chemin in chemins:
        try:
            manifeste = lire_manifeste(chemin)
        except ValueError as exc:
            rejets.append(f"{chemin.name} illisible")
            messages.append(f"{chemin} : manifeste {exc} : ignoré")
            continue
        if manifeste["passage"] != passage:
            rejets.append(f"{chemin.name} d'un autre passage")
            messages.append(f"{chemin} : manifeste du passage « {inerte(manifeste['passage'])} », pas de "
                            f"« {inerte(passage)} » : ignoré (tranche d'une autre nuit ?)")
            continue
        if tranches is not None and manifeste["tranches"] not in (None, tranches):
            rejets.append(f"{chemin.name} d'un découpage en {manifeste['tranches']}")
            messages.append(f"{chemin} : {decrire_tranche(manifeste)}, alors que le passage est découpé en "
                            f"{tranches} tranches : ignoré")
            continue
        if manifeste["nom"] != chemin.stem:
            rejets.append(f"{chemin.name} renommé")
            messages.append(f"{chemin} : manifeste nommé « {manifeste['nom']} » dans son contenu : ignoré "
                            "(copié ou renommé ?)")
            continue
        retenus.append(manifeste)
    decoupages = {m["tranches"] for m in retenus if m["tranches"] is not None}
    if tranches is None and len(decoupages) == 1:
        tranches = decoupages.pop()
    elif tranches is None and len(decoupages) > 1:
        messages.append(f"manifestes de découpages différents ({', '.join(map(str, sorted(decoupages)))} tranches) "
                        "dans le même passage : ceux d'un autre découpage comptent quand même, vérifiez le dossier")
    par_equipement: dict[str, list[dict]] = {}
    for manifeste in retenus:
        for nom in manifeste["equipements"]:
            par_equipement.setdefault(nom, []).append(manifeste)
        etat = {"termine": "terminée", "en_cours": "INACHEVÉE", "interrompu": "INTERROMPUE"}[manifeste["etat"]]
        collectes = sum(1 for e in manifeste["equipements"].values() if e["statut"] == "collecte")
        messages.append(f"{decrire_tranche(manifeste)} : {etat}, {collectes} équipement(s) collecté(s) sur "
                        f"{len(manifeste['equipements'])}")
    inventaire = {e.nom for e in config.equipements}
    inconnus = sorted(set(par_equipement) - inventaire)
    if inconnus:
        messages.append(f"équipements collectés mais absents de l'inventaire : {', '.join(map(inerte, inconnus))} "
                        "(les tranches ont lu un autre inventaire ?)")
    manquantes = _tranches_manquantes(config, hotes, retenus, tranches)
    for numero, noms in manquantes.items():
        messages.append(f"tranche {numero} sur {tranches} MANQUANTE (aucun manifeste de ce passage) : "
                        f"{', '.join(noms) or 'aucun équipement'} non collecté(s)")
    bilan = BilanReparti({}, {}, messages)
    rejet = f" ; manifestes ignorés : {', '.join(rejets)}" if rejets else ""
    for equipement in config.equipements:
        porteurs = par_equipement.get(equipement.nom, [])
        if not porteurs:
            numero = next((n for n, noms in manquantes.items() if equipement.nom in noms), None)
            quelle = (f"tranche {numero} sur {tranches} manquante" if numero is not None
                      else "aucun manifeste de ce passage ne le nomme")
            bilan.problemes[equipement.nom] = [
                f"non collecté : {quelle} ({dossier_manifestes}, passage « {inerte(passage)} »{rejet})"]
        elif len(porteurs) > 1:
            bilan.problemes[equipement.nom] = [
                f"collecté par plusieurs tranches du même passage ({', '.join(decrire_tranche(m) for m in porteurs)}) : "
                "découpage incohérent, ses captures peuvent venir de l'une ou de l'autre : non retenu"]
        else:
            manifeste = porteurs[0]
            entree = manifeste["equipements"][equipement.nom]
            if entree["statut"] == "a_collecter":
                etat = {"interrompu": "interrompue", "en_cours": "inachevée"}.get(manifeste["etat"], "incohérente")
                bilan.problemes[equipement.nom] = [
                    f"{decrire_tranche(manifeste)} {etat} (manifeste « {manifeste['etat']} », commencé le "
                    f"{manifeste['debut']}, équipement encore « à collecter ») : tranche arrêtée avant la fin, ou "
                    "encore en cours"]
            elif entree["statut"] == "incomplet" and not entree["fichiers"]:
                bilan.problemes[equipement.nom] = [f"{decrire_tranche(manifeste)} : {p}" for p in entree["problemes"]] \
                    or [f"{decrire_tranche(manifeste)} : non collecté"]
            else:
                bilan.a_lire[equipement.nom] = (manifeste, entree)
    return bilan


def _tranches_manquantes(config: Configuration, hotes: list[str], retenus: list[dict],
                         tranches: int | None) -> dict[int, list[str]]:
    """AWX slice numbers with no manifest, and the equipment each held that no other manifest covers.

    AWX's cut: the inventory's hosts ordered by name, slice k = hosts[k-1::n]. A slice whose
    equipment another manifest covers (a whole collection, another cut) is not missing.
    """
    if tranches is None:
        return {}
    presentes = {m["tranche"] for m in retenus if m["tranche"] is not None}
    couverts = {nom for m in retenus for nom in m["equipements"]}
    equipements = {e.nom for e in config.equipements}
    ordre = sorted(hotes)
    manquantes = {}
    for k in range(1, tranches + 1):
        siens = [n for n in ordre[k - 1::tranches] if n in equipements]
        perdus = [n for n in siens if n not in couverts]
        if k not in presentes and (perdus or not siens):
            manquantes[k] = perdus
    return manquantes


def collecter_reparti(equipement: Equipement, bilan: BilanReparti, dossier: Path) -> ResultatCollecte:
    """The final node's reading of one equipment: its slice's verdict, then its captures, checked against the manifest."""
    if equipement.nom in bilan.problemes:
        return ResultatCollecte(equipement, problemes=list(bilan.problemes[equipement.nom]))
    if not nom_de_dossier(equipement.nom):
        return ResultatCollecte(equipement, problemes=["nom inutilisable comme nom de dossier de captures : non lu"])
    manifeste, entree = bilan.a_lire[equipement.nom]
    dossier_captures = dossier / CAPTURES / equipement.nom
    problemes = []
    for nom in fichiers_de(equipement):
        attendu, present = entree["fichiers"].get(nom), sha256(dossier_captures / nom)
        if attendu != present:
            etat = ("absente" if present is None else "présente alors que la tranche ne l'a pas écrite"
                    if attendu is None else "différente de celle qu'a écrite la tranche")
            problemes.append(f"{dossier_captures / nom} : capture {etat} ({decrire_tranche(manifeste)}, manifeste du "
                             f"{manifeste['fin']}) : d'un autre passage, modifiée ou coupée ?")
    if problemes:
        return ResultatCollecte(equipement, problemes=problemes)
    resultat = collecter_captures(replace(equipement, captures=dossier_captures), racine=dossier)
    if entree["statut"] == "incomplet" and resultat.complet:
        # The slice saw something go wrong that its files do not show (a read refused, a session cut): it stands.
        resultat.problemes.extend([f"{decrire_tranche(manifeste)} : {p}" for p in entree["problemes"]]
                                  or [f"{decrire_tranche(manifeste)} : non collecté"])
    return resultat
