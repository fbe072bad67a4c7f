"""Process tuning for batch commands that build millions of small, acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for the block, restoring its previous state.

    Planning a million accounts allocates millions of objects without reference cycles; the
    collector's generation scans then cost about a quarter of the run and free nothing.
    Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
