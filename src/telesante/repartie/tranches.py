"""Distributed collection (AWX job slicing): `telesante collecter`, and the final node's reader.

Each slice collects its equipment (the hosts of an Ansible pattern, `--limite`, resolved by
Ansible's own `InventoryManager.subset`, as `ansible --limit`) into a shared folder:

    DOSSIER/captures/<équipement>/...     the offline capture layout (`--enregistrer-captures`)
    DOSSIER/manifestes/<tranche>.json     what the slice had to collect, and what it collected

The manifest is written first « en_cours » (the equipment it must collect), then, last,
« termine » (or « interrompu ») with the sha256 of every capture file it wrote. The final
node (`telesante audit --collecte-repartie DOSSIER --passage P`) compares the manifests of
its passage with the whole inventory: equipment that no slice collected, a slice missing,
unfinished or of another passage, a capture that is not the one its slice wrote, an
equipment claimed by two slices, all make that equipment *incomplet*, never « conforme ».

Slices are numbered as AWX cuts them (awx/main/models/inventory.py, `get_sliced_hosts`:
the inventory's hosts ordered by name, slice k holds `hosts[k-1::n]`).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import cache, partial
from importlib import resources
from pathlib import Path

from telesante.collecte.captures import FICHIER_DATE, collecter_captures
from telesante.collecte.contrat import fichier_capture
from telesante.collecte.plateformes import lectures
from telesante.collecte.resultat import ResultatCollecte
from telesante.inerte import citer, inerte
from telesante.configuration import Configuration, Equipement

CAPTURES, MANIFESTES = "captures", "manifestes"
SCHEMA = "manifeste-tranche-v1.schema.json"
TAILLE_MAX_MANIFESTE = 64 * 1024 * 1024  # 100 000 equipment with their files: a few Mio


class ErreurRepartie(Exception):
    """A command-line or inventory problem of the distributed collection (exit code 3)."""


# ---------------------------------------------------------------------------------------------
# Slices: which hosts, which number
# ---------------------------------------------------------------------------------------------


def hotes_limites(inventaire: Path, fichier_vault: Path | None, motif: str | None) -> tuple[list[str], list[str]]:
    """(every host of the inventory, the hosts `motif` selects), as `ansible --limit` selects them.

    `motif` is an Ansible host pattern (`sw-*:!sw-sud-02`, `site_nord,dhcp-*`, `@fichier` with
    one host per line); None selects every host.
    """
    from ansible.errors import AnsibleError

    from telesante.inventaire.lecture_ansible import inventaire_ansible

    _loader, inventory, _variables = inventaire_ansible(Path(inventaire), fichier_vault)
    tous = [h.name for h in inventory.get_hosts("all")]
    if motif is None:
        return tous, tous
    try:
        inventory.subset(motif)
        choisis = [h.name for h in inventory.get_hosts("all")]
    except AnsibleError as exc:
        raise ErreurRepartie(f"--limite « {citer(motif, 80)} » : {' '.join(exc.message.split())}") from exc
    if not choisis:
        raise ErreurRepartie(f"--limite « {citer(motif, 80)} » ne désigne aucun hôte de l'inventaire {inventaire}")
    return tous, choisis


def tranche_awx(tous: list[str], choisis: list[str], tranches: int) -> int | None:
    """The number k (1..tranches) of the AWX slice that holds exactly `choisis`, or None."""
    ordre = sorted(tous)
    voulus = set(choisis)
    for k in range(1, tranches + 1):
        if set(ordre[k - 1::tranches]) == voulus:
            return k
    return None


def nom_tranche(tranche: int | None, tranches: int | None, choisis: list[str], motif: str | None) -> str:
    """File name (without .json) of a slice's manifest: `tranche-2-sur-4`, `entier`, or `limite-<digest>`."""
    if tranche is not None:
        return f"tranche-{tranche}-sur-{tranches}"
    if motif is None:
        return "entier"
    return "limite-" + hashlib.sha256("\n".join(sorted(choisis)).encode("utf-8")).hexdigest()[:16]


def decrire_tranche(manifeste: dict) -> str:
    """« tranche 2 sur 4 » or « tranche limite-… » for messages."""
    if manifeste.get("tranche") is not None:
        return f"tranche {manifeste['tranche']} sur {manifeste['tranches']}"
    return f"tranche « {manifeste.get('nom', '?')} »"


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def fichiers_de(equipement: Equipement) -> list[str]:
    """Every capture file name a collection of this equipment may write (reads, annexes, date)."""
    noms = []
    for lecture in lectures(equipement.plateforme):
        noms.append(lecture.fichier)
        noms.extend(fichier_capture(c) for c in lecture.annexes)
    return list(dict.fromkeys([*noms, FICHIER_DATE]))


def nom_de_dossier(nom: str) -> bool:
    """True when an equipment name is one harmless path component (its capture folder under the shared folder)."""
    return nom not in ("", ".", "..") and "/" not in nom and not any(ord(c) < 32 or c == "\x7f" for c in nom)


def _sha256(chemin: Path) -> str | None:
    """sha256 of a regular file (not followed through a link), None if absent or not a regular file."""
    try:
        fd = os.open(chemin, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except (FileNotFoundError, OSError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        somme = hashlib.sha256()
        while bloc := os.read(fd, 1 << 20):
            somme.update(bloc)
        return somme.hexdigest()
    finally:
        os.close(fd)


def _ecrire_json(chemin: Path, document: dict) -> None:
    """Write a JSON file whole or not at all (temporary file of its own, synced, renamed)."""
    chemin.parent.mkdir(parents=True, exist_ok=True)
    descripteur, temporaire = tempfile.mkstemp(dir=chemin.parent, prefix=f".{chemin.name}.", suffix=".tmp")
    try:
        with os.fdopen(descripteur, "w", encoding="utf-8") as fichier:
            json.dump(document, fichier, ensure_ascii=False, indent=1)
            fichier.write("\n")
            fichier.flush()
            os.fsync(fichier.fileno())
        os.chmod(temporaire, 0o644)
        os.replace(temporaire, chemin)
    except BaseException:
        os.unlink(temporaire)
        raise


def _maintenant() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------------------------
# The slice: telesante collecter
# ---------------------------------------------------------------------------------------------


def _copier_captures(equipement: Equipement, racine: Path, dossier: Path) -> ResultatCollecte:
    """Offline source: parse the inventory's captures (same checks as the audit), then copy them as they are.

    Only what the audit would read is copied (regular files under the inventory, UTF-8, not too large):
    a refused capture stays out, and the final node finds it missing, as the audit would.
    """
    from telesante.collecte.captures import _lire, _racine_permise

    resultat = collecter_captures(equipement, racine=racine)
    if equipement.captures is None:
        return resultat
    cible = dossier / equipement.nom
    for nom in fichiers_de(equipement):
        try:
            texte = _lire(equipement.captures / nom, _racine_permise(equipement.captures, racine))
        except Exception:  # noqa: BLE001 -- refused or unreadable: the audit says why, in `resultat`
            continue
        if texte is not None:
            cible.mkdir(parents=True, exist_ok=True)
            (cible / nom).write_text(texte, encoding="utf-8")
    return resultat


def _nettoyer(dossier: Path, equipement: Equipement) -> None:
    """Remove what an earlier collection left for this equipment: nothing stale can pass for today's."""
    for nom in fichiers_de(equipement):
        (dossier / equipement.nom / nom).unlink(missing_ok=True)


def _entree(resultat: ResultatCollecte, dossier: Path) -> dict:
    """The manifest's entry of one equipment: its outcome, and the sum of every capture file written for it."""
    equipement = resultat.equipement
    fichiers = {}
    for nom in fichiers_de(equipement):  # cleaned before its collection: what is there, this run wrote
        somme = _sha256(dossier / equipement.nom / nom)
        if somme is not None:
            fichiers[nom] = somme
    return {"statut": "collecte" if resultat.complet else "incomplet", "problemes": list(resultat.problemes),
            "fichiers": fichiers}


@dataclass(frozen=True)
class Tranche:
    """What one run of `telesante collecter` must collect, and under which name."""

    passage: str
    nom: str
    numero: int | None
    tranches: int | None
    limite: str | None
    equipements: tuple[Equipement, ...]


def preparer_tranche(config: Configuration, inventaire: Path, fichier_vault: Path | None, passage: str,
                     limite: str | None, tranches: int | None) -> tuple[Tranche, list[str]]:
    """The slice to collect, and warnings to show (a limit that is not one of the AWX slices)."""
    if not passage.strip() or any(ord(c) < 32 for c in passage) or len(passage) > 200:
        raise ErreurRepartie("--passage : identifiant non vide attendu (200 caractères au plus, sans caractère de "
                             "contrôle), le même pour toutes les tranches et le nœud final")
    tous, choisis = hotes_limites(inventaire, fichier_vault, limite)
    avertissements = []
    numero = None
    if tranches is not None:
        numero = tranche_awx(tous, choisis, tranches)
        if numero is None:
            avertissements.append(
                f"--limite ne désigne pas une des {tranches} tranches d'AWX (hôtes triés par nom, la tranche k "
                "prend hosts[k-1::n]) : le manifeste est nommé d'après ses équipements, le nœud final ne pourra pas "
                "nommer par son numéro une tranche manquante")
    voulus = set(choisis)
    equipements = tuple(e for e in config.equipements if e.nom in voulus)
    dangereux = [e.nom for e in equipements if not nom_de_dossier(e.nom)]
    if dangereux:
        raise ErreurRepartie(f"nom d'équipement inutilisable comme nom de dossier de captures : "
                             f"{', '.join('« ' + citer(n, 60) + ' »' for n in dangereux)} (« / », « .. » ou "
                             "caractère de contrôle) : renommez l'hôte dans l'inventaire")
    return Tranche(passage, nom_tranche(numero, tranches, choisis, limite), numero, tranches, limite,
                   equipements), avertissements


def _manifeste(tranche: Tranche, debut: str, etat: str, entrees: dict[str, dict], fin: str | None) -> dict:
    return {"version": 1, "passage": tranche.passage, "nom": tranche.nom, "tranche": tranche.numero,
            "tranches": tranche.tranches, "limite": tranche.limite, "debut": debut, "fin": fin, "etat": etat,
            "equipements": entrees}


def collecter_tranche(tranche: Tranche, dossier: Path, collecter, executer) -> tuple[dict, list[ResultatCollecte]]:
    """Collect a slice into `dossier`; returns its final manifest (already written) and the results.

    `collecter(equipement, dossier_captures)` reads one equipment and records its captures;
    `executer(collecter, equipements)` runs it (in parallel) and says whether it was interrupted.
    """
    captures = dossier / CAPTURES
    chemin = dossier / MANIFESTES / f"{tranche.nom}.json"
    debut = _maintenant()
    a_collecter = {e.nom: {"statut": "a_collecter", "problemes": [], "fichiers": {}} for e in tranche.equipements}
    _ecrire_json(chemin, _manifeste(tranche, debut, "en_cours", a_collecter, None))

    def un(equipement: Equipement) -> ResultatCollecte:
        _nettoyer(captures, equipement)
        return collecter(equipement, captures)

    resultats, interrompu = executer(un, tranche.equipements)
    lus = {r.equipement.nom for r in resultats}
    resultats += [ResultatCollecte(e, problemes=["non lu : collecte interrompue"])
                  for e in tranche.equipements if e.nom not in lus]
    entrees = {r.equipement.nom: _entree(r, captures) for r in sorted(resultats, key=lambda r: r.equipement.nom)}
    manifeste = _manifeste(tranche, debut, "interrompu" if interrompu else "termine", entrees, _maintenant())
    _ecrire_json(chemin, manifeste)  # last: a slice cut before this line stays « en_cours »
    return manifeste, resultats


# ---------------------------------------------------------------------------------------------
# The final node: telesante audit --collecte-repartie DOSSIER --passage P
# ---------------------------------------------------------------------------------------------


@cache
def _validateur():
    from jsonschema import Draft202012Validator, FormatChecker

    schema = json.loads(resources.files("telesante.donnees").joinpath(SCHEMA).read_text("utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def lire_manifeste(chemin: Path) -> dict:
    """A manifest, validated against its schema; ValueError with a French reason otherwise."""
    try:
        fd = os.open(chemin, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ValueError(f"illisible ({exc.strerror or type(exc).__name__} ; lien symbolique ?)") from None
    with os.fdopen(fd, "rb") as fichier:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("ce n'est pas un fichier ordinaire")
        octets = fichier.read(TAILLE_MAX_MANIFESTE + 1)
    if len(octets) > TAILLE_MAX_MANIFESTE:
        raise ValueError(f"plus de {TAILLE_MAX_MANIFESTE // 2**20} Mio : refusé")
    try:
        document = json.loads(octets.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("ce n'est pas du texte UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"JSON illisible, ligne {exc.lineno} ({exc.msg}) : manifeste coupé ?") from None
    erreur = next(iter(sorted(_validateur().iter_errors(document), key=lambda e: list(e.path))), None)
    if erreur is not None:
        ou = "/".join(str(p) for p in erreur.path) or "racine"
        raise ValueError(f"hors du format manifeste-tranche-v1 ({ou} : {citer(erreur.message, 160)})")
    for champ in ("debut", "fin"):  # jsonschema checks « date-time » only with an extra package: checked here
        if document[champ] is not None and not _date_avec_fuseau(document[champ]):
            raise ValueError(f"hors du format manifeste-tranche-v1 ({champ} : date ISO 8601 avec fuseau attendue, "
                             f"lu « {citer(document[champ], 40)} »)")
    return document


def _date_avec_fuseau(texte: str) -> bool:
    try:
        return datetime.fromisoformat(texte).utcoffset() is not None
    except ValueError:
        return False


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
        attendu, present = entree["fichiers"].get(nom), _sha256(dossier_captures / nom)
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


# ---------------------------------------------------------------------------------------------
# Commands (their arguments: telesante.arguments)
# ---------------------------------------------------------------------------------------------


def commande_collecter(args, signaux_recus: list[str]) -> int:
    """`telesante collecter`: one slice of a distributed collection."""
    from telesante.codes import ERREUR_CONFIGURATION, INCOMPLET
    from telesante.console import configuration_de, console_erreurs, dire_code, fichier_hotes_connus
    from telesante.ecriture import raison
    from telesante.collecte.parallele import Arret, collecter_en_parallele

    arret = Arret()
    arret.installer()
    if signaux_recus:
        arret(signal.Signals[signaux_recus[0]], None)
    erreurs = console_erreurs()
    config = configuration_de(args)
    if config is None:
        return ERREUR_CONFIGURATION
    try:
        tranche, avertissements = preparer_tranche(config, args.inventaire, args.fichier_mot_de_passe_vault,
                                                   args.passage, args.limite, args.tranches)
        (args.dossier / CAPTURES).mkdir(parents=True, exist_ok=True)
    except ErreurRepartie as exc:
        erreurs.print(inerte(str(exc)), style="bold red", markup=False)
        dire_code(erreurs, ERREUR_CONFIGURATION)
        return ERREUR_CONFIGURATION
    except OSError as exc:
        erreurs.print(f"Dossier de la collecte « {inerte(str(args.dossier))} » inutilisable : {raison(exc)}",
                      style="bold red", markup=False)
        dire_code(erreurs, ERREUR_CONFIGURATION)
        return ERREUR_CONFIGURATION
    for avertissement in avertissements:
        erreurs.print(f"Avertissement : {avertissement}", style="yellow", markup=False)
    if args.source == "captures":
        def collecter(equipement, dossier):
            return _copier_captures(equipement, config.racine, dossier)
        parallele = 1
    else:
        from telesante.collecte.contrat import ParametresCollecte
        from telesante.collecte.en_direct import collecter_en_direct

        def collecter(equipement, dossier):
            parametres = ParametresCollecte(hotes_connus=fichier_hotes_connus(args, config), delai_connexion=args.delai_connexion,
                                       delai_commande=args.delai_commande, tentatives=args.tentatives,
                                       dossier_captures=dossier)
            return collecter_en_direct(equipement, parametres)
        parallele = args.parallele
    erreurs.print(f"{decrire_tranche({'tranche': tranche.numero, 'tranches': tranche.tranches, 'nom': tranche.nom})}"
                  f" du passage « {inerte(tranche.passage)} » : {len(tranche.equipements)} équipement(s) à collecter",
                  markup=False)
    manifeste, resultats = collecter_tranche(
        tranche, args.dossier, collecter,
        lambda un, equipements: collecter_en_parallele(un, equipements, parallele, erreurs, arret,
                                                       afficher=args.source == "direct"))
    non_lus = [r for r in resultats if not r.complet]
    chemin = args.dossier / MANIFESTES / f"{tranche.nom}.json"
    erreurs.print(f"Manifeste : {inerte(str(chemin))} ({len(resultats) - len(non_lus)} collecté(s), "
                  f"{len(non_lus)} non collecté(s))", markup=False)
    for resultat in non_lus:
        erreurs.print(f"  ✗ {inerte(resultat.equipement.nom)} : {inerte('; '.join(resultat.problemes))}", markup=False)
    if non_lus or manifeste["etat"] != "termine":
        dire_code(erreurs, INCOMPLET)
        return INCOMPLET
    return 0


def collecteur_audit(args, config: Configuration, console):
    """The final node's collector for `telesante audit --collecte-repartie`, or None (options invalid: code 3)."""
    if args.collecte_repartie is None:
        if args.passage is not None or args.tranches is not None:
            console.print("--passage et --tranches vont avec --collecte-repartie DOSSIER.", markup=False)
            return None
        return partial(collecter_captures, racine=config.racine)
    if args.source != "captures":
        console.print("--collecte-repartie audite des captures : elle ne va pas avec --source direct.", markup=False)
        return None
    if not args.passage or not args.passage.strip():
        console.print("--collecte-repartie exige --passage ID (celui donné aux tranches) : sans lui, une tranche "
                      "d'une autre nuit passerait pour celle-ci.", markup=False)
        return None
    hotes, _ = hotes_limites(args.inventaire, args.fichier_mot_de_passe_vault, None)
    bilan = examiner(config, hotes, args.collecte_repartie, args.passage, args.tranches)
    console.print(f"Collecte répartie {inerte(str(args.collecte_repartie))}, passage « {inerte(args.passage)} » :",
                  markup=False)
    for message in bilan.messages:
        console.print(f"  {inerte(message)}", markup=False)
    return partial(collecter_reparti, bilan=bilan, dossier=args.collecte_repartie)
