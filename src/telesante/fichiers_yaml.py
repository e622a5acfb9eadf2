"""Checks on an inventory's YAML files before ansible-core builds their values.

Ansible keeps the last of two duplicate keys (with an English warning), lets a later file of
group_vars/all/ silently replace a variable of an earlier one, and expands YAML aliases
without limit when it templates a value (an « alias bomb » of a few hundred bytes grows
without end). Here the files are only composed (PyYAML's node tree, aliases not expanded),
so these mistakes are found cheaply, named by file and line, before Ansible reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

# Values that aliases may add to a file (beyond the values written in it): far above any
# real inventory's reuse, far below what would slow the audit down.
LIMITE_ALIAS = 100_000
PREFIXE = "telesante_"
FUSION = "tag:yaml.org,2002:merge"

try:
    _Composeur = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Composeur = yaml.SafeLoader


@dataclass
class FichierYaml:
    """One file as composed: its top-level keys (with their lines) and the problems found."""

    chemin: str
    cles: dict[str, int] = field(default_factory=dict)
    erreurs: list[str] = field(default_factory=list)


def examiner(chemin: str, texte: str, variables: bool = True) -> FichierYaml:
    """Compose one YAML file and report alias bombs and duplicate keys.

    Duplicate keys are refused under a telesante_* key, at any depth (the audit reads those:
    group_vars write them at the top, the inventory file under its groups and hosts); alias
    bombs are refused anywhere. A file of variables (group_vars, host_vars) must be a mapping
    of variables, or empty. A file PyYAML cannot compose is left to Ansible, which reports it.
    """
    fichier = FichierYaml(chemin)
    try:
        racine = yaml.compose(texte, Loader=_Composeur)
    except (yaml.YAMLError, RecursionError, ValueError):
        return fichier
    if not isinstance(racine, yaml.MappingNode):
        if variables and racine is not None and not (isinstance(racine, yaml.ScalarNode) and racine.value == ""):
            fichier.erreurs.append(
                f"{chemin}, ligne {racine.start_mark.line + 1} : un fichier de variables doit être un "
                "dictionnaire (nom_de_variable: valeur), pas une liste ni un texte seul")
        return fichier
    for noeud_cle, _ in racine.value:
        if isinstance(noeud_cle, yaml.ScalarNode):
            fichier.cles.setdefault(noeud_cle.value, noeud_cle.start_mark.line + 1)
    ecrites, deployees = _compter(racine)
    if deployees - ecrites > LIMITE_ALIAS:
        limite = f"{LIMITE_ALIAS:,}".replace(",", " ")
        fichier.erreurs.append(
            f"{chemin}, ligne {_premier_alias(racine)} : alias YAML qui se déploient en plus de "
            f"{limite} valeurs (« bombe » d'alias ?) : fichier refusé")
        return fichier
    _parcourir(fichier, racine, "", False, set())
    if not variables:
        _hotes_et_groupes(fichier, racine)
    return fichier


def _enfants(noeud: yaml.Node) -> list[yaml.Node]:
    if isinstance(noeud, yaml.SequenceNode):
        return list(noeud.value)
    if isinstance(noeud, yaml.MappingNode):
        return [n for paire in noeud.value for n in paire]
    return []


def _compter(racine: yaml.Node) -> tuple[int, int]:
    """(values written, values once aliases are expanded); a recursive alias counts as endless."""
    tailles: dict[int, int] = {}
    en_cours: set[int] = set()
    pile = [(racine, False)]
    while pile:
        noeud, fini = pile.pop()
        if id(noeud) in tailles:
            continue
        enfants = _enfants(noeud)
        if fini:
            en_cours.discard(id(noeud))
            tailles[id(noeud)] = 1 + sum(tailles[id(e)] for e in enfants)
            continue
        if id(noeud) in en_cours:
            continue
        en_cours.add(id(noeud))
        pile.append((noeud, True))
        for enfant in enfants:
            if id(enfant) in en_cours:  # an alias to its own ancestor: endless once expanded
                return len(en_cours), LIMITE_ALIAS * 10 + len(en_cours)
            if id(enfant) not in tailles:
                pile.append((enfant, False))
    return len(tailles), tailles[id(racine)]


def _premier_alias(racine: yaml.Node) -> int:
    """Line of the first node reached twice (an alias): where the bomb starts."""
    vus: set[int] = set()
    lignes = [racine.start_mark.line + 1]
    pile = [racine]
    while pile:
        for enfant in _enfants(pile.pop()):
            if id(enfant) in vus:
                lignes.append(enfant.start_mark.line + 1)
            else:
                vus.add(id(enfant))
                pile.append(enfant)
    return min(lignes[1:] or lignes)


def _parcourir(fichier: FichierYaml, noeud: yaml.Node, chemin: str, surveille: bool, vus: set[int]) -> None:
    """Duplicate keys named telesante_* or under such a key (surveille), each node once."""
    if id(noeud) in vus:
        return
    vus.add(id(noeud))
    if isinstance(noeud, yaml.SequenceNode):
        for index, enfant in enumerate(noeud.value):
            _parcourir(fichier, enfant, f"{chemin}[{index}]", surveille, vus)
    elif isinstance(noeud, yaml.MappingNode):
        premieres: dict[tuple[str, str], int] = {}
        for noeud_cle, noeud_valeur in noeud.value:
            if not isinstance(noeud_cle, yaml.ScalarNode) or noeud_cle.tag == FUSION:
                continue
            nom = f"{chemin}.{noeud_cle.value}" if chemin else noeud_cle.value
            ligne = noeud_cle.start_mark.line + 1
            identite = (noeud_cle.tag, noeud_cle.value)
            sous_surveillance = surveille or str(noeud_cle.value).startswith(PREFIXE)
            if identite in premieres and sous_surveillance:
                fichier.erreurs.append(
                    f"{fichier.chemin}, ligne {ligne} : clé « {nom} » écrite deux fois (aussi ligne "
                    f"{premieres[identite]}) : Ansible ne garderait que la dernière ; n'en gardez qu'une")
            premieres.setdefault(identite, ligne)
            _parcourir(fichier, noeud_valeur, nom, sous_surveillance, vus)


def _hotes_et_groupes(fichier: FichierYaml, racine: yaml.MappingNode) -> None:
    """In a YAML inventory, a telesante_* variable of one host (or group) set in two places.

    A host listed under two groups, each time with its variables, gets the last one Ansible
    reads, without a word.
    """
    endroits: dict[tuple[str, str, str], set[int]] = {}

    def noter(sorte: str, nom: str, variables: yaml.Node) -> None:
        if isinstance(variables, yaml.MappingNode):
            premieres: dict[str, int] = {}  # a key twice in one mapping is told by _parcourir
            for noeud_cle, _ in variables.value:
                if isinstance(noeud_cle, yaml.ScalarNode) and noeud_cle.value.startswith(PREFIXE):
                    premieres.setdefault(noeud_cle.value, noeud_cle.start_mark.line + 1)
            for cle, ligne in premieres.items():
                endroits.setdefault((sorte, nom, cle), set()).add(ligne)

    vus: set[int] = set()
    pile = [(n.value, v) for n, v in racine.value if isinstance(n, yaml.ScalarNode)]
    while pile:
        groupe, noeud = pile.pop()
        if not isinstance(noeud, yaml.MappingNode) or id(noeud) in vus:
            continue
        vus.add(id(noeud))
        for noeud_cle, valeur in noeud.value:
            if not isinstance(noeud_cle, yaml.ScalarNode) or not isinstance(valeur, yaml.MappingNode):
                continue
            if noeud_cle.value == "vars":
                noter("le groupe", groupe, valeur)
            elif noeud_cle.value in ("hosts", "children"):
                for nom, sous_noeud in valeur.value:
                    if isinstance(nom, yaml.ScalarNode):
                        if noeud_cle.value == "hosts":
                            noter("l'hôte", nom.value, sous_noeud)
                        else:
                            pile.append((nom.value, sous_noeud))
    for (sorte, nom, cle), lignes in endroits.items():
        if len(lignes) > 1:
            fichier.erreurs.append(
                f"{fichier.chemin}, ligne {max(lignes)} : clé « {cle} » : définie plusieurs fois pour {sorte} "
                f"« {nom} » (lignes {', '.join(map(str, sorted(lignes)))}) : Ansible ne garderait que la dernière "
                "lue ; n'en gardez qu'une")
