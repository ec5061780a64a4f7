"""Benchmark: ``evidence duplicates`` on a large file, and how duplicate search scales.

What it measures
----------------
1. Generates (seeded, the generator of ``bench_load.py``) a file of ``--entries`` entries
   (default 24,000, about 25 MB) and times, as fresh subprocesses interleaved over
   ``--repeat`` rounds, ``evidence duplicates FILE`` against the baseline ``python -c
   "import bibtexparser; bibtexparser.parse_file(FILE)"`` (bibtexparser's bare parse of the
   same file). Prints medians, minimums and the ratio; the target is at most 5 s.
2. The quadratic corner of issue 13: the same generator with every ``author``, ``editor``
   and ``year`` line removed, at ``--scaling`` sizes (default 4,000, 8,000, 16,000). The
   identities are built once, then ``find_duplicates`` alone is timed in this process
   (median of ``--repeat``) and the growth factor from one size to the next is printed
   (about 2 when the time grows linearly with a doubling, 4 when quadratically).

How to run
----------
From the repository root, with the dev environment::

    python benchmarks/bench_duplicates.py
    python benchmarks/bench_duplicates.py --entries 24000 --repeat 3 --scaling 4000 8000
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET_S = 5.0
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_ENV)
    return time.perf_counter() - t0


def _without_author_and_year(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^  (author|editor|year) = .*\n", "", text, flags=re.M)
    path.write_text(text, encoding="utf-8", newline="\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=24_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument("--scaling", type=int, nargs="*", default=[4000, 8000, 16000])
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    import bibtexparser
    from bench_load import generate

    from evidence.duplicates import find_duplicates, identity

    script = Path(sys.executable).parent / "evidence"
    evidence = [str(script)] if script.exists() else [sys.executable, "-m", "evidence"]
    with tempfile.TemporaryDirectory(prefix="evidence-bench-") as tmp:
        bib = Path(tmp) / "big.bib"
        gen = generate(bib, args.entries, args.seed)
        print(f"{gen.entries:,} entries, {gen.size / 1e6:.1f} MB")
        commands = {
            "bibtexparser.parse_file (baseline)": [
                sys.executable,
                "-c",
                f"import bibtexparser; bibtexparser.parse_file({str(bib)!r})",
            ],
            "evidence duplicates": [*evidence, "duplicates", str(bib)],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for rnd in range(args.repeat):
            order = list(commands.items())
            for name, command in order if rnd % 2 == 0 else order[::-1]:
                times[name].append(_wall(command))
        base = statistics.median(times["bibtexparser.parse_file (baseline)"])
        print(f"{'':38}{'median s':>10}{'min s':>10}{'x baseline':>12}")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"{name:38}{med:>10.2f}{min(values):>10.2f}{med / base:>12.2f}")
        dup = statistics.median(times["evidence duplicates"])
        verdict = "meets" if dup <= TARGET_S else "MISSES"
        print(f"evidence duplicates: median {dup:.2f} s -> {verdict} the target of <= {TARGET_S} s")

        if args.scaling:
            print("\nentries without author, editor and year: find_duplicates alone")
            print(f"{'entries':>10}{'duplicates':>12}{'median s':>10}{'growth':>8}")
        previous = None
        for n in args.scaling:
            path = Path(tmp) / f"bare-{n}.bib"
            generate(path, n, args.seed + 1)
            _without_author_and_year(path)
            library = bibtexparser.parse_file(str(path))
            idents = [
                identity(e.key, {f.key.lower(): str(f.value) for f in e.fields})
                for e in library.entries
            ]
            runs = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                found = find_duplicates(idents)
                runs.append(time.perf_counter() - t0)
            med = statistics.median(runs)
            growth = f"{med / previous:.2f}x" if previous else ""
            print(f"{n:>10,}{len(found):>12,}{med:>10.3f}{growth:>8}")
            previous = med
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
