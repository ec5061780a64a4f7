"""Benchmark: wall time of the light commands (``evidence validate`` and friends) as subprocesses.

What it measures
----------------
Each command is run as a fresh process (``subprocess.run``, output discarded), interleaved
over ``--repeat`` rounds so that machine noise hits every command alike, and the median and
minimum wall time of each are printed, with the ratio to the baseline ``python -c pass`` run in
the same rounds:

* ``python -c pass`` -- the interpreter's own start-up (the floor);
* ``python -c "import pandas"`` -- for scale: what importing pandas alone costs;
* ``evidence validate BIB`` -- the target: at most 0.15 s wall (issue 13);
* ``evidence fmt --check --bib BIB`` and ``evidence set KEY note=... --dry-run --bib BIB``.

``BIB`` is the repository's ``studies.bib`` unless ``--bib`` is given. The ``evidence``
console script beside ``sys.executable`` is used (``python -m evidence`` if there is none).
The children run without ``PYTHONDONTWRITEBYTECODE`` (an untimed warm-up run of each writes
the ``.pyc`` files), as an installed package runs: compiling the sources on every start would
cost more than the imports themselves.

How to run
----------
From the repository root, with the dev environment::

    python benchmarks/bench_validate.py                 # 21 rounds
    python benchmarks/bench_validate.py --repeat 51 --bib other.bib
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.15


def _evidence() -> list[str]:
    script = shutil.which("evidence", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "evidence"]


_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=_ENV
    )
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=21, help="interleaved rounds")
    parser.add_argument("--bib", type=Path, default=ROOT / "studies.bib")
    args = parser.parse_args(argv)

    bib = str(args.bib)
    evidence = _evidence()
    key = "glue2017"
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        'python -c "import pandas"': [sys.executable, "-c", "import pandas"],
        "evidence validate BIB": [*evidence, "validate", bib],
        "evidence fmt --check": [*evidence, "fmt", "--check", "--bib", bib],
        "evidence set --dry-run": [*evidence, "set", key, "note=x", "--dry-run", "--bib", bib],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv_ in commands.values():  # warm the file cache and the .pyc files first
        _wall(argv_)
    for rnd in range(args.repeat):
        order = list(commands.items())
        if rnd % 2:
            order.reverse()
        for name, argv_ in order:
            times[name].append(_wall(argv_))

    base = statistics.median(times["python -c pass (baseline)"])
    print(f"python {sys.version.split()[0]}; {args.repeat} interleaved rounds; BIB = {bib}")
    print(f"{'command':34}{'median s':>10}{'min s':>10}{'x baseline':>12}")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"{name:34}{med:>10.3f}{min(values):>10.3f}{med / base:>12.1f}")
    validate = statistics.median(times["evidence validate BIB"])
    pandas = statistics.median(times['python -c "import pandas"'])
    print(f"evidence validate / import pandas = {validate / pandas:.2f} (machine-independent)")
    verdict = "meets" if validate <= TARGET_S else "MISSES"
    print(f"evidence validate: median {validate:.3f} s -> {verdict} the target of <= {TARGET_S} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
