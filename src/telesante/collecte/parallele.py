"""Collect from many equipment at once: bounded pool, progress bar, clean stop on Ctrl-C/SIGTERM.

Workers are daemon threads: after a stop, a session stuck in a network wait can
never hold the process back (each still has its own connect and command timeouts).
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable, Iterable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from telesante.collecte.resultat import ResultatCollecte
from telesante.inerte import inerte
from telesante.configuration import Equipement


class Arret:
    """Set by SIGINT/SIGTERM: collection stops taking new equipment and returns what it has.

    Installed as early as the command starts, so a stop that comes while the inventory
    is still being read also ends in a partial report rather than a killed process.
    """

    def __init__(self):
        self.evenement = threading.Event()
        self.signal: str | None = None

    def __call__(self, signum, _frame) -> None:
        self.signal = signal.Signals(signum).name
        self.evenement.set()

    def installer(self) -> None:
        """Catch SIGINT and SIGTERM from now on (main thread only); an ignored signal stays ignored."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                signal.signal(sig, self)


def _travailleur(collecter, todo: queue.Queue, done: queue.Queue, arret: Arret) -> None:
    while not arret.evenement.is_set():
        try:
            equipement = todo.get_nowait()
        except queue.Empty:
            return
        start = time.monotonic()
        try:
            resultat = collecter(equipement)
        except Exception as exc:  # noqa: BLE001 - a driver bug must not lose the other equipment
            resultat = ResultatCollecte(equipement, problemes=[f"erreur interne de collecte : {exc!r}"])
        done.put((resultat, time.monotonic() - start))


def collecter_en_parallele(
    collecter: Callable[[Equipement], ResultatCollecte],
    equipements: Iterable[Equipement],
    parallele: int,
    console: Console | None = None,
    arret: Arret | None = None,
    afficher: bool = True,
) -> tuple[list[ResultatCollecte], bool]:
    """Run `collecter` on every equipment with at most `parallele` at once.

    Returns the results and whether the run was interrupted. On SIGINT or SIGTERM
    (caught by `arret`, installed here if the caller has not), no new equipment is
    started and the results so far are returned at once (the caller marks the rest
    as unread). `afficher=False` leaves out the progress bar and the line per equipment
    (reading captures: over in an instant), not the stop message.
    """
    equipements = list(equipements)
    console = console or Console(stderr=True)
    previous = {}
    if arret is None:
        arret = Arret()
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            arret.installer()
    todo: queue.Queue = queue.Queue()
    for equipement in equipements:
        todo.put(equipement)
    done: queue.Queue = queue.Queue()
    for index in range(max(1, min(parallele, len(equipements)))):
        threading.Thread(target=_travailleur, args=(collecter, todo, done, arret),
                         name=f"collecte-{index}", daemon=True).start()
    results: list[ResultatCollecte] = []
    progress = Progress(TextColumn("Collecte"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=console, transient=True, disable=not afficher)
    try:
        with progress:
            task = progress.add_task("collecte", total=len(equipements))
            while len(results) < len(equipements) and not arret.evenement.is_set():
                try:
                    resultat, seconds = done.get(timeout=0.2)
                except queue.Empty:
                    continue
                results.append(resultat)
                progress.advance(task)
                if afficher:
                    progress.console.print(_ligne(resultat, seconds))
        if arret.evenement.is_set():
            console.print(Text(f"Arrêt demandé ({arret.signal}) : collecte interrompue, rapport partiel.",
                               style="yellow"))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return results, arret.evenement.is_set()


def _ligne(resultat: ResultatCollecte, seconds: float) -> Text:
    name = resultat.equipement.nom
    if resultat.complet:
        return Text(f"  ✓ {name} : {len(resultat.observations)} observations ({seconds:.1f} s)", style="green")
    return Text(f"  ✗ {name} : {inerte('; '.join(resultat.problemes))} ({seconds:.1f} s)", style="yellow")
