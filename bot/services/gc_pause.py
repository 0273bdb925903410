"""Holding off Python's cyclic garbage collector while a process builds large, long-lived structures."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def no_cyclic_collection() -> Iterator[None]:
    """The cyclic collector off for the block (and back on after, if it was on).

    Loading a registry or building the matching job's index makes millions of containers, and every full
    collection their allocations set off walks all those built so far again: the cost grows with what is
    already built, and came to two thirds of the registry index's load. Reference counting still frees
    everything that is not in a cycle meanwhile; the cycles wait for the next collection after the block.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
