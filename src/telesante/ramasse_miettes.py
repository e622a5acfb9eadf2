"""The cyclic garbage collector paused while the audit builds many acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many acyclic objects.

    Whenever the surviving new objects reach a quarter of the old ones, the collector
    walks the whole heap, the input observations included: building hundreds of thousands
    of per-device lists triggers that again and again, to find nothing, since these
    objects hold no reference cycles; reference counting frees them as usual.

    On exit, every object the collector tracks is moved to the oldest generation at once
    (`gc.freeze()` then `gc.unfreeze()`: a list splice, no object is visited), as if it
    had survived the young collections. Otherwise the first young collection after the
    pause would walk each new object, and their promotion would count towards the next
    full collection, which walks the whole heap (about 1 s for a million observations).
    Here they only wait for the next full collection the interpreter makes for its own
    reasons, like any long-lived data. This acts on the whole process: objects frozen
    by someone else are unfrozen too (telesante freezes nothing else). The collector's
    previous state (enabled or not) is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
