"""Benchmark: formatting every entry of a synthetic evidence base in a citation style.

Generates the same realistic file as ``bench_load.py`` (seeded), loads it once, then times the
formatter of :func:`evidence.citations.references` per style (the style file is parsed before
timing, as a build that formats twice would have it cached), in one process and in the default
number (one per core, for :data:`~evidence.citations.PARALLEL_MIN` entries or more, where the
platform forks), interleaved, and prints the medians and their ratio. citeproc-py renders in
pure Python, so this is the cost the References sheet and the report add to ``evidence build``.

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

    import evidence
    from evidence import citations

    with tempfile.TemporaryDirectory() as folder:
        bib = Path(folder) / "bench.bib"
        generate(bib, args.entries, args.seed)
        base = evidence.load(bib)
    records = list(base.records)
    default = citations._processes(len(records))
    for name in args.style or ["vancouver", "apa"]:
        style = citations.find_style(name)
        citations._render(records[:1], style, processes=1)  # parse the style before timing
        times: dict[int, list[float]] = {1: [], default: []}
        for _ in range(args.repeat):
            for processes in times:
                start = time.perf_counter()
                refs = citations._render(records, style, processes=processes)
                times[processes].append(time.perf_counter() - start)
        one = statistics.median(times[1])
        print(f"{name}: {len(refs)} entries, median of {args.repeat} rounds")
        print(f"  1 process:   {one:.1f} s ({1000 * one / max(len(refs), 1):.1f} ms per entry)")
        if default > 1:
            many = statistics.median(times[default])
            print(
                f"  {default} processes: {many:.1f} s ({1000 * many / max(len(refs), 1):.1f} ms "
                f"per entry), {one / many:.2f}x faster"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
