"""Benchmark: the audit's hot path before and after a change, measured in one run.

Issue 10 (the audit fails closed) added work to the hot path: devices seen outside every
declared network are identified too, and what was seen there is listed. It also asks
that the hot path "ne doit pas régresser : montrez-le avant/après". This script shows it.

It extracts the package of an earlier revision (`git archive <revision> src/telesante`,
default AVANT: the last commit before issue 10's work), loads both versions of
`telesante` in this process, and times each on the same synthetic observations
(`benchmarks/identification_politique.generer`, same seed): the path measured there,

    charger_identificateur() + correler() + evaluer() + gc.collect(1)

Each version runs with its own modules in sys.modules (`en_place`): what it looks up by
module name at run time, its signatures above all (`importlib.resources`), is its own.

The two versions and the netaddr baseline of identification_politique.py take turns,
run after run (a busy moment of the machine then weighs on all three), best of the runs
for each. Each version's ratio to the baseline is therefore from the same run, and so is
the ratio between them: machines here are too noisy for figures from two runs to compare.

The current version's findings are checked against the generator's expectations, as in
identification_politique.py; the earlier version's are only counted (it made no finding
for a device outside every declared network, it had no such check).

Usage: python benchmarks/avant_apres.py [--avant REVISION] [--observations N] [--essais K]
Exit code: 0 the current version is at most TOLERANCE slower than the earlier one and at
least 20x faster than the baseline (best times); 1 a goal missed; 2 the current version's
findings are wrong; 3 the revision cannot be read (not a git checkout, shallow clone...).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import io
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

RACINE = Path(__file__).resolve().parent.parent
if str(RACINE) not in sys.path:  # run as a script: the project root holds the benchmarks package
    sys.path.insert(0, str(RACINE))

from benchmarks import identification_politique as banc  # noqa: E402  (after the path above)

AVANT = "08df71725c7a7eee0fd53fa4fbbb8d244cad4ea6"  # the last commit before issue 10's work
ESSAIS = 7
ECHANTILLON = 30_000
TOLERANCE = 0.05  # the current version may be this much slower (best times) and still pass
OBJECTIF_RAPPORT = banc.GOAL_RATIO


class RevisionIlisible(Exception):
    """The earlier revision's package cannot be extracted."""


def extraire(revision: str, destination: Path) -> Path:
    """`src/telesante` of a git revision, extracted under destination; its parent is returned."""
    try:
        archive = subprocess.run(["git", "-C", str(RACINE), "archive", "--format=tar", revision, "src/telesante"],
                                 capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as erreur:
        detail = getattr(erreur, "stderr", b"") or b""
        raise RevisionIlisible(f"révision {revision} illisible : {detail.decode(errors='replace').strip() or erreur}")
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # Our own repository's files; the "data" filter (Python 3.11.4 and later) refuses any
        # link or path that would leave the destination all the same.
        tar.extractall(destination, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return destination / "src"


def _modules_telesante() -> dict[str, ModuleType]:
    """The `telesante` modules in sys.modules."""
    return {nom: module for nom, module in sys.modules.items() if nom == "telesante" or nom.startswith("telesante.")}


def _remplacer_modules(modules: dict[str, ModuleType]) -> dict[str, ModuleType]:
    """Put these `telesante` modules in sys.modules instead of those there; return those."""
    retires = _modules_telesante()
    for nom in retires:
        del sys.modules[nom]
    sys.modules.update(modules)
    return retires


@contextmanager
def en_place(version: dict[str, object]) -> Iterator[None]:
    """The version's own `telesante` modules in sys.modules while it runs, then the ones
    that were there. What a version looks up at run time by module name (its signatures,
    read by `importlib.resources` from `telesante.donnees`) is then its own."""
    avant = _remplacer_modules(version["modules"])
    try:
        yield
    finally:
        _remplacer_modules(avant)


def charger_version(chemin: Path | None) -> dict[str, object]:
    """The hot path's functions of the package under `chemin` (None: the current one). An
    earlier version is loaded apart: the `telesante` modules already loaded are set aside
    while it is imported, then put back, so that the process is left as it was."""
    if chemin is not None:
        deja = _remplacer_modules({})
        sys.path.insert(0, str(chemin))
    try:
        # telesante.donnees too: the version's signatures are read from it at run time
        modules: dict[str, ModuleType] = {nom: importlib.import_module(f"telesante.{nom}")
                                          for nom in ("correlation", "identification", "politique", "donnees")}
        try:  # CarteReseaux moved from correlation to placement during issue 10
            carte = importlib.import_module("telesante.placement").CarteReseaux
        except ImportError:
            carte = modules["correlation"].CarteReseaux
        propres = _modules_telesante()
    finally:
        if chemin is not None:
            sys.path.remove(str(chemin))
            _remplacer_modules(deja)
    version = {"correler": modules["correlation"].correler, "evaluer": modules["politique"].evaluer,
               "charger_identificateur": modules["identification"].charger_identificateur,
               "CarteReseaux": carte, "modules": propres}
    with en_place(version):
        modules["identification"].registre_ieee()  # once per process, before the measure, as in a real audit
    return version


def chemin_chaud(version: dict[str, object], jeu: banc.JeuSynthetique):
    """The measured path of one version: (correlation, findings, device counts per network)."""
    with en_place(version):
        identificateur = version["charger_identificateur"]()
        appareils = version["correler"](jeu.observations, jeu.equipements)
        resultat = version["evaluer"](appareils, version["CarteReseaux"](jeu.reseaux), identificateur,
                                      jeu.autorises, jeu.derogations, banc.TODAY)
    return appareils, resultat[0], resultat[1]  # the current evaluer also returns what was undeclared


@dataclass
class Mesures:
    revision: str
    observations: int
    echantillon: int
    avant_s: list[float]
    apres_s: list[float]
    reference_s: list[float]
    constats_avant: Counter
    constats_apres: Counter
    problemes: list[str]

    @property
    def reference_extrapolee_s(self) -> float:
        return min(self.reference_s) * self.observations / self.echantillon

    @property
    def rapport_apres_avant(self) -> float:
        return min(self.apres_s) / min(self.avant_s)

    @property
    def objectifs(self) -> list[tuple[bool, str]]:
        apres = self.reference_extrapolee_s / min(self.apres_s)
        return [
            (self.rapport_apres_avant <= 1 + TOLERANCE,
             f"après / avant ≤ {banc._f(1 + TOLERANCE, 2)} (meilleurs temps) : {banc._f(self.rapport_apres_avant, 3)}"),
            (apres >= OBJECTIF_RAPPORT, f"après : au moins {banc._f(OBJECTIF_RAPPORT, 0)}× plus rapide que la "
                                        f"référence : {banc._f(apres, 1)}×"),
            (not self.problemes, "après : constats identiques aux attendus du générateur, à chaque essai"),
        ]

    @property
    def code_sortie(self) -> int:
        if self.problemes:
            return 2
        return 0 if all(ok for ok, _ in self.objectifs) else 1


def mesurer(revision: str, n: int, essais: int, echantillon: int,
            progression=lambda _texte: None) -> Mesures:
    """Both versions and the baseline, in turns, `essais` times each, on the same n observations."""
    with tempfile.TemporaryDirectory(prefix="telesante-avant-") as dossier:
        avant = charger_version(extraire(revision, Path(dossier)))
        apres = charger_version(None)
        progression(f"génération de {banc._n(n)} observations (graine {banc.SEED})...")
        jeu = banc.generer(n)
        echantillon_obs = random.Random(banc.SEED + 1).sample(jeu.observations, min(echantillon, n))
        banc.fabricant_netaddr("00:1b:63:00:00:01")  # netaddr's index loaded before the measure
        temps: dict[str, list[float]] = {"avant": [], "apres": []}
        constats: dict[str, Counter] = {}
        reference: list[float] = []
        problemes: list[str] = []
        for essai in range(essais):
            progression(f"essai {essai + 1}/{essais}...")
            ordre = (("avant", avant), ("apres", apres)) if essai % 2 == 0 else (("apres", apres), ("avant", avant))
            for nom, version in ordre:
                gc.collect()
                debut = time.perf_counter()
                appareils, trouves, comptes = chemin_chaud(version, jeu)
                gc.collect(1)  # the young-generation work the paused collector left owed, as in the benchmark
                temps[nom].append(time.perf_counter() - debut)
                constats[nom] = Counter((c.gravite, c.type, c.statut) for c in trouves)
                if nom == "apres":
                    problemes += [p for p in banc.verifier(jeu, appareils, trouves, comptes) if p not in problemes]
                del appareils, trouves, comptes
            debut = time.perf_counter()
            for obs in echantillon_obs:
                banc.fabricant_netaddr(obs.mac)
            reference.append(time.perf_counter() - debut)
    return Mesures(revision, n, len(echantillon_obs), temps["avant"], temps["apres"], reference,
                   constats["avant"], constats["apres"], problemes)


def rapport(m: Mesures) -> str:
    """The French report."""
    def ligne(nom: str, valeurs: list[float]) -> str:
        meilleur = min(valeurs)
        return (f"  {nom:<6} meilleur {banc._f(meilleur, 2)} s, médiane {banc._f(statistics.median(valeurs), 2)} s ; "
                f"{banc._f(m.reference_extrapolee_s / meilleur, 1)}× plus rapide que la référence")

    def constats(compte: Counter) -> str:
        return ", ".join(f"{banc._n(v)} {g} / {t}" for (g, t, statut), v in sorted(compte.items()) if statut == "actif")

    lignes = [
        "Chemin chaud avant / après, mesurés dans la même exécution",
        "",
        f"Avant : révision {m.revision[:12]} ; après : la copie de travail.",
        f"{banc._n(m.observations)} observations synthétiques (graine {banc.SEED}) ; charger_identificateur() + "
        "correler() + evaluer() + gc.collect(1) ;",
        f"les deux versions et la référence netaddr ({banc._n(m.echantillon)} observations, extrapolée : "
        f"{banc._f(m.reference_extrapolee_s, 1)} s) à tour de rôle, {len(m.apres_s)} essais chacune :",
        ligne("avant", m.avant_s),
        ligne("après", m.apres_s),
        f"  après / avant : {banc._f(m.rapport_apres_avant, 3)} (meilleurs temps), "
        f"{banc._f(statistics.median(m.apres_s) / statistics.median(m.avant_s), 3)} (médianes)",
        "",
        f"Constats actifs avant : {constats(m.constats_avant)}",
        f"Constats actifs après : {constats(m.constats_apres)}",
        "  (après, en plus : les appareils vus hors des réseaux déclarés sont identifiés, et ce qui n'est",
        "  pas déclaré est relevé)",
    ]
    if m.problemes:
        lignes.append("ÉCARTS de la version actuelle avec les attendus du générateur :")
        lignes += [f"  - {p}" for p in m.problemes]
    lignes += ["", "Objectifs :"]
    lignes += [f"  {'PASS ' if ok else 'ÉCHEC'}  {texte}" for ok, texte in m.objectifs]
    return "\n".join(lignes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Compare le chemin chaud (corrélation + identification + politique) d'une révision antérieure "
                    "et de la copie de travail, dans la même exécution, sur les mêmes observations synthétiques.")
    parser.add_argument("--avant", default=AVANT, metavar="REVISION",
                        help=f"révision git de la version antérieure (défaut : {AVANT[:12]}, avant l'issue 10)")
    parser.add_argument("--observations", type=int, default=banc.REFERENCE_OBSERVATIONS, metavar="N",
                        help=f"nombre d'observations synthétiques (défaut : {banc.REFERENCE_OBSERVATIONS})")
    parser.add_argument("--essais", type=int, default=ESSAIS, metavar="K",
                        help=f"essais de chaque version (défaut : {ESSAIS})")
    parser.add_argument("--echantillon", type=int, default=ECHANTILLON, metavar="N",
                        help=f"taille de l'échantillon de la référence netaddr (défaut : {ECHANTILLON})")
    args = parser.parse_args(argv)
    if min(args.observations, args.essais, args.echantillon) < 1:
        parser.error("--observations, --essais et --echantillon doivent être positifs")
    try:
        mesures = mesurer(args.avant, args.observations, args.essais, args.echantillon,
                          progression=lambda texte: print(f"… {texte}", file=sys.stderr, flush=True))
    except RevisionIlisible as erreur:
        print(f"Erreur : {erreur} (il faut un clone git complet du dépôt)", file=sys.stderr)
        return 3
    print(rapport(mesures))
    return mesures.code_sortie


if __name__ == "__main__":
    sys.exit(main())
