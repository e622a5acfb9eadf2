"""One slice of a distributed collection: which hosts (Ansible pattern, AWX slice number), and `telesante collecter`'s reading of them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from telesante.collecte.captures import collecter_captures
from telesante.collecte.resultat import ResultatCollecte
from telesante.configuration import Configuration, Equipement
from telesante.inerte import citer
from telesante.repartie.manifestes import CAPTURES, MANIFESTES, ecrire_json, fichiers_de, maintenant, nom_de_dossier, sha256


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
# The slice: telesante collecter
# ---------------------------------------------------------------------------------------------


def copier_captures(equipement: Equipement, racine: Path, dossier: Path) -> ResultatCollecte:
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
        somme = sha256(dossier / equipement.nom / nom)
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
    debut = maintenant()
    a_collecter = {e.nom: {"statut": "a_collecter", "problemes": [], "fichiers": {}} for e in tranche.equipements}
    ecrire_json(chemin, _manifeste(tranche, debut, "en_cours", a_collecter, None))

    def un(equipement: Equipement) -> ResultatCollecte:
        _nettoyer(captures, equipement)
        return collecter(equipement, captures)

    resultats, interrompu = executer(un, tranche.equipements)
    lus = {r.equipement.nom for r in resultats}
    resultats += [ResultatCollecte(e, problemes=["non lu : collecte interrompue"])
                  for e in tranche.equipements if e.nom not in lus]
    entrees = {r.equipement.nom: _entree(r, captures) for r in sorted(resultats, key=lambda r: r.equipement.nom)}
    manifeste = _manifeste(tranche, debut, "interrompu" if interrompu else "termine", entrees, maintenant())
    ecrire_json(chemin, manifeste)  # last: a slice cut before this line stays « en_cours »
    return manifeste, resultats
