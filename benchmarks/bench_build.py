"""Benchmark: ``evidence build`` stage by stage on synthetic evidence bases.

For each size (default 1,000 and 10,000 entries) it generates the same realistic file as
``bench_load.py`` (seeded), then runs the build in a fresh subprocess and prints the time per
stage (load = parse + tables, statistics, workbook, charts) and the peak resident memory of that
process (``ru_maxrss``). A fresh process per size keeps the memory figure honest.

Run from the repository root::

    python benchmarks/bench_build.py                 # 1,000 and 10,000 entries
    python benchmarks/bench_build.py --entries 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import json, resource, sys, time
from evidence.export import build_reports
t0 = time.perf_counter()
result = build_reports(sys.argv[1], sys.argv[2])
total = time.perf_counter() - t0
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"timings": result.timings, "total": total, "peak_mib": peak_kib / 1024}))
"""


def run_once(bib: Path, out: Path) -> dict:
    """Build ``bib`` into ``out`` in a fresh interpreter; return its timings and peak memory."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bib), str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(HERE))
    from bench_load import generate  # the same generator as the load benchmark

    with tempfile.TemporaryDirectory() as tmp:
        for n in args.entries:
            bib = Path(tmp) / f"bench-{n}.bib"
            generate(bib, n, args.seed)
            runs = [run_once(bib, Path(tmp) / f"reports-{n}-{i}") for i in range(args.repeat)]
            stages = list(runs[0]["timings"])
            print(f"\n{n:,} entries ({bib.stat().st_size / 1e6:.1f} MB), {args.repeat} runs")
            print(f"  {'stage':<12}{'median s':>10}{'min s':>10}")
            for stage in [*stages, "total"]:
                values = [r["timings"][stage] if stage != "total" else r["total"] for r in runs]
                print(f"  {stage:<12}{statistics.median(values):>10.3f}{min(values):>10.3f}")
            peak = statistics.median(r["peak_mib"] for r in runs)
            print(f"  peak memory (median of runs): {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
