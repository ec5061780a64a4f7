"""Independent pieces of work shared out among forked processes, one per core.

What a build spends most of its time on is pure Python or single-threaded C: citeproc-py
formatting references (a few milliseconds an entry), XlsxWriter writing the workbook, and
matplotlib rendering text (most of a chart's second). :func:`run` gives such pieces to worker
processes *forked* from this one, so a worker starts with everything the parent has loaded (the
evidence base, the parsed style, the analyses' results) and nothing is pickled on the way in;
only each piece's result comes back. Where the platform cannot fork (Windows; macOS, where
forking a process that has loaded system frameworks is unsafe), where there is one core, or
where this process runs other threads (a Jupyter kernel: a forked child could wait forever on a
lock one of them held), the pieces run here, one after another. Either way the results are the
same, in the order of the pieces.

>>> run([lambda: 1 + 1, lambda: 2 + 2], processes=1)
[2, 4]
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["cores", "processes_for", "run"]

T = TypeVar("T")

# The pieces a forked worker runs (set in the parent just before the fork, read by the children).
_TASKS: Sequence[Callable[[], object]] = ()


def cores() -> int:
    """Cores this process may run on; ``1`` where the platform cannot fork."""
    if not sys.platform.startswith("linux"):
        return 1
    return len(os.sched_getaffinity(0))


def processes_for(pieces: int, per_process: int = 1) -> int:
    """How many processes to share ``pieces`` among: one per core, each given at least
    ``per_process`` pieces (forking costs tens of milliseconds)."""
    return max(1, min(cores(), pieces // max(per_process, 1)))


def run(tasks: Sequence[Callable[[], T]], processes: int) -> list[T]:
    """The result of each of ``tasks`` (functions of no argument), in order.

    With ``processes`` > 1 (and no other thread running) they run in that many forked workers;
    an exception raised by a task is raised here, as it was raised there (it must pickle: the
    project's errors do). If no worker can be forked (``EAGAIN``, out of memory) or one dies,
    every task runs here instead.
    """
    if processes <= 1 or len(tasks) <= 1 or threading.active_count() > 1:
        return [task() for task in tasks]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _TASKS
    _TASKS = tasks  # the children inherit it when they are forked, below
    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(min(processes, len(tasks)), mp_context=context) as pool:
            outcomes = list(pool.map(_run, range(len(tasks))))
    except (OSError, BrokenProcessPool):  # no worker could be forked, or one died
        return [task() for task in tasks]
    finally:
        _TASKS = ()
    for outcome in outcomes:
        if isinstance(outcome, _Raised):
            raise outcome.error
    return outcomes  # type: ignore[return-value]


class _Raised:
    """What a task raised in a worker, sent back to be raised in the parent."""

    def __init__(self, error: Exception):
        self.error = error


def _run(index: int) -> object:
    """In a worker: the task ``index`` of those it was forked with."""
    try:
        return _TASKS[index]()
    except Exception as exc:  # raised again in the parent (see run)
        return _Raised(exc)
