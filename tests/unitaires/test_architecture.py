"""The package's import graph has no loop: each stage imports only the stages before it.

Every import of a telesante module counts, wherever it is written (module level, inside a
function, under TYPE_CHECKING): a loop hidden in a function is still a loop to whoever reads
the code. `python -m tests.unitaires.test_architecture` prints the graph's loops (none).
"""

from __future__ import annotations

import ast
from pathlib import Path

import telesante

PAQUET = Path(telesante.__file__).parent


def _module(chemin: Path) -> str:
    parties = chemin.relative_to(PAQUET.parent).with_suffix("").parts
    return ".".join(parties[:-1] if parties[-1] == "__init__" else parties)


def graphe_des_imports() -> dict[str, set[str]]:
    """Module -> the telesante modules it imports (`from telesante.x import y` counts y when y is a module)."""
    chemins = {_module(chemin): chemin for chemin in PAQUET.rglob("*.py")}
    graphe: dict[str, set[str]] = {module: set() for module in chemins}
    for module, chemin in chemins.items():
        for noeud in ast.walk(ast.parse(chemin.read_text(encoding="utf-8"))):
            if isinstance(noeud, ast.Import):
                cibles = [alias.name for alias in noeud.names]
            elif isinstance(noeud, ast.ImportFrom) and noeud.module and noeud.level == 0:
                cibles = [f"{noeud.module}.{alias.name}" if f"{noeud.module}.{alias.name}" in chemins else noeud.module
                          for alias in noeud.names]
            else:
                continue
            graphe[module] |= {cible for cible in cibles if cible in chemins and cible != module}
    return graphe


def boucles(graphe: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan): each is an import loop."""
    index: dict[str, int] = {}
    bas: dict[str, int] = {}
    pile: list[str] = []
    composantes: list[list[str]] = []

    def visiter(module: str) -> None:
        index[module] = bas[module] = len(index)
        pile.append(module)
        for suivant in sorted(graphe[module]):
            if suivant not in index:
                visiter(suivant)
                bas[module] = min(bas[module], bas[suivant])
            elif suivant in pile:
                bas[module] = min(bas[module], index[suivant])
        if bas[module] == index[module]:
            composante = []
            while True:
                membre = pile.pop()
                composante.append(membre)
                if membre == module:
                    break
            if len(composante) > 1:
                composantes.append(sorted(composante))

    for module in sorted(graphe):
        if module not in index:
            visiter(module)
    return composantes


def test_aucune_boucle_d_imports():
    graphe = graphe_des_imports()
    assert "telesante.collecte.plateformes" in graphe["telesante.collecte.captures"]  # the graph sees imports
    assert boucles(graphe) == []


def test_une_boucle_est_vue():
    assert boucles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


if __name__ == "__main__":  # pragma: no cover
    graphe = graphe_des_imports()
    print(f"{len(graphe)} modules, {sum(map(len, graphe.values()))} imports internes, "
          f"boucles : {boucles(graphe) or 'aucune'}")
