"""Pausing Python's cyclic garbage collector while building objects that all survive.

CPython runs a collection each time allocations outnumber deallocations by 700, and every
tenth one of those a deeper one, over ever more of the heap. Parsing a large ``.bib`` file
and checking its entries allocate millions of objects and free almost none, so those
collections traverse the growing heap again and again and find nothing: about a third of
the time of a 25 MB file. :func:`no_collection` pauses the collector for such a step and
restores it afterwards; garbage with reference cycles made meanwhile (there is little) is
collected by the next collection after it.

At exit the interpreter collects again while it tears its modules down, over everything a
command still holds: about a second after reading a 25 MB file, for objects about to be freed
anyway. :func:`no_collection_at_exit` (the command line calls it) freezes them first
(:func:`gc.freeze`): they are still freed, only not traversed.

>>> import gc
>>> with no_collection():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["no_collection", "no_collection_at_exit"]


@contextmanager
def no_collection() -> Iterator[None]:
    """Disable the cyclic garbage collector in the block; re-enable it after, if it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_at_exit: list[bool] = []


def no_collection_at_exit() -> None:
    """Have the objects alive at exit frozen (:func:`gc.freeze`) before the interpreter tears
    down, so its last collections skip them. Once per process, however often called."""
    if not _at_exit:
        _at_exit.append(True)
        atexit.register(gc.freeze)
