"""Benchmark: `evidence add` of many records whose citation keys clash.

What it measures
----------------
For each size N (default 2,000, 4,000 and 8,000) it writes, in a temporary folder, a copy of the
bundled ``studies.bib`` and a CSL-JSON export of N records that all have the same first author,
year and first title word (so every proposed key is ``clash2020ketamine`` and all but the first
need a suffix: ``...a``, ``...b``, … ``...aa``, …). It then times
``evidence.editing.add_entries(bib, [export], on_duplicate="add", dry_run=True)`` -- the whole
import: reading the export, choosing keys, the duplicate check, rendering the entries and
validating the new file, everything but the write -- ``--repeat`` times per size
(``gc.collect()`` before each run, ``time.perf_counter``), and prints the median and min per size
and the growth ratio median(2N) / median(N). Linear work gives a ratio near 2; the quadratic key
search it guards against gave about 4.

The titles are identical, so the duplicate check (which compares titles only within one first
author and year) finds each record's duplicate at its first comparison and stays linear; with
``on_duplicate="add"`` they are added anyway, as ``evidence add --force`` would.

How to run
----------
From the repository root, with the dev environment::

    python benchmarks/bench_add.py                       # 2k, 4k, 8k records, 3 rounds
    python benchmarks/bench_add.py --sizes 1000 2000 --repeat 5

The generated references are fictional.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from evidence.editing import add_entries

ROOT = Path(__file__).resolve().parent.parent


def write_export(path: Path, n: int) -> None:
    """A CSL-JSON file of ``n`` records with one author, year and first title word."""
    items = [
        {
            "id": f"item{i}",
            "type": "article-journal",
            "title": "Ketamine for anxiety: a clash of keys",
            "author": [{"family": "Clash", "given": "Carla"}],
            "container-title": "Journal of Benchmarks",
            "issued": {"date-parts": [[2020]]},
            "volume": str(i),
        }
        for i in range(n)
    ]
    path.write_text(json.dumps(items), encoding="utf-8")


def time_add(folder: Path, n: int, repeat: int) -> list[float]:
    bib = folder / "studies.bib"
    shutil.copy(ROOT / "studies.bib", bib)
    export = folder / f"export-{n}.json"
    write_export(export, n)
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = add_entries(bib, [export], on_duplicate="add", dry_run=True)
        times.append(time.perf_counter() - start)
        assert len(result.added) == n and len({k for k, _ in result.added}) == n
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 4000, 8000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    medians = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            times = time_add(Path(tmp), n, args.repeat)
            medians[n] = statistics.median(times)
            print(f"{n:>6} records: median {medians[n]:.2f} s, min {min(times):.2f} s")
    sizes = sorted(medians)
    for small, large in itertools.pairwise(sizes):
        ratio = medians[large] / medians[small]
        print(f"growth {small} -> {large} ({large / small:g}x input): {ratio:.2f}x time")


if __name__ == "__main__":
    main()
