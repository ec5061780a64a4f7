"""Benchmark: formatting every entry of a synthetic evidence base in a citation style.

Generates the same realistic file as ``bench_load.py`` (seeded), loads it once, then times the
formatter of :func:`evidence.citations.references` per style (the style file is parsed before
timing, as a build that formats twice would have it cached), in one process and in the default
number (one per core, for :data:`~evidence.citations.PARALLEL_MIN` entries or more, where the
platform forks), and in one process without :mod:`evidence.csllookup` (citeproc-py working out every
lookup in the style afresh, as it does on its own), interleaved, and prints the medians and their
ratios. citeproc-py renders in pure Python, so this is the cost the References sheet and the
report add to ``evidence build``.

Run from the repository root::

    python benchmarks/bench_cite.py                        # 1,000 entries, vancouver and apa
    python benchmarks/bench_cite.py --entries 200 --style nature --repeat 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000, help="entries to generate")
    parser.add_argument("--seed", type=int, default=20240611, help="generator seed")
    parser.add_argument(
        "--style", action="append", help="style(s) to time (default: vancouver and apa)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds (medians are printed)")
    args = parser.parse_args(argv)

    import contextlib

    import evidence
    from evidence import citations, csllookup

    with tempfile.TemporaryDirectory() as folder:
        bib = Path(folder) / "bench.bib"
        generate(bib, args.entries, args.seed)
        base = evidence.load(bib)
    records = list(base.records)
    default = citations._processes(len(records))
    remembered = csllookup.remembered
    for name in args.style or ["vancouver", "apa"]:
        style = citations.find_style(name)
        citations._render(records[:1], style, processes=1)  # parse the style before timing
        modes = {"own": (1, contextlib.nullcontext), 1: (1, remembered)}
        modes[default] = (default, remembered)
        times: dict[object, list[float]] = {mode: [] for mode in modes}
        for _ in range(args.repeat):
            for mode, (processes, lookups) in modes.items():
                csllookup.remembered = lookups  # type: ignore[assignment]
                start = time.perf_counter()
                refs = citations._render(records, style, processes=processes)
                times[mode].append(time.perf_counter() - start)
        csllookup.remembered = remembered
        median = {mode: statistics.median(found) for mode, found in times.items()}
        count = len(refs)

        def line(label: str, seconds: float, count: int = count) -> str:
            return f"  {label} {seconds:.1f} s ({1000 * seconds / max(count, 1):.1f} ms per entry)"

        print(f"{name}: {count} entries, median of {args.repeat} rounds")
        print(line("1 process, citeproc-py's own lookups:", median["own"]))
        print(line("1 process, lookups remembered:      ", median[1]), end="")
        print(f", {median['own'] / median[1]:.2f}x faster")
        if default > 1:
            print(line(f"{default} processes, lookups remembered:    ", median[default]), end="")
            print(f", {median[1] / median[default]:.2f}x faster than 1")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
