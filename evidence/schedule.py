"""A build's pieces handed out longest first, by how long each took the last time.

The workbook and the figures of a build are written side by side by forked workers
(:func:`evidence.parallel.run`), which take the pieces in the order they are given. The longest
piece given last leaves the other workers idle while it ends: on the bundled base the summary
of findings (a page of text) took a third of that stage and came last. Handing pieces out
longest first (LPT, the longest-processing-time rule: R. L. Graham, "Bounds on
multiprocessing timing anomalies", *SIAM J. Appl. Math.* 17(2), 1969, within 4/3 of the best
order) needs their lengths, known only once they are done. So, as build tools keep a log of
how long each step took (ninja's ``.ninja_log``), each build records how long each piece took
in its cache folder (:func:`evidence.refcache.default_folder`; none with ``--no-cache``), one
file per ``.bib``, and the next build orders by those times. Pieces never timed go first (they
may be long), in the order given. The order changes no output, only how long the stage takes.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evidence import refcache
from evidence.files import write_atomically

__all__ = ["longest_first", "read", "timed", "write"]

# Bumped when the file layout changes.
_FORMAT = 1


def longest_first(names: Sequence[str], last: Mapping[str, float]) -> list[int]:
    """The indices of ``names`` in the order to hand them out: the names without a time in
    ``last`` first, then the others by their time, longest first; ties in the given order."""
    return sorted(range(len(names)), key=lambda i: -last.get(names[i], math.inf))


def timed(task: Callable[[], object]) -> float:
    """Run ``task``; the seconds it took (wall clock)."""
    start = time.perf_counter()
    task()
    return time.perf_counter() - start


def _file(folder: Path, bib_name: str) -> Path:
    digest = hashlib.sha256(bib_name.encode("utf-8", "surrogatepass")).hexdigest()
    return folder / f"durations-{digest[:16]}.json"


def read(folder: Path, bib_name: str) -> dict[str, float]:
    """The seconds each piece took in the last build of the ``.bib`` named ``bib_name``, as
    :func:`write` kept them in ``folder`` (``{}`` if none; a damaged file, or a damaged
    time, is left out)."""
    try:
        data = json.loads(_file(folder, bib_name).read_bytes())
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    if data.get("bib") != bib_name or not isinstance(data.get("seconds"), dict):
        return {}
    kept = {name: _seconds(value) for name, value in data["seconds"].items()}
    return {name: seconds for name, seconds in kept.items() if seconds is not None}


def _seconds(value: object) -> float | None:
    """``value`` as a time in seconds, or ``None`` if it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def write(folder: Path, bib_name: str, seconds: Mapping[str, float]) -> bool:
    """Keep how long each piece of a build of ``bib_name`` took, replacing what was kept;
    whether it was kept (a folder that cannot be written is not an error)."""
    payload = {
        "format": _FORMAT,
        "bib": bib_name,
        "seconds": {name: round(value, 3) for name, value in sorted(seconds.items())},
    }
    try:
        refcache.prepare(folder)
        write_atomically(_file(folder, bib_name), json.dumps(payload, indent=1).encode())
    except OSError:
        return False
    return True
