"""Benchmark: the build's workbook and figures in the given order against longest first.

A build hands its pieces (the workbook, each figure) to forked workers longest first, by the
times the last build kept in the cache folder (:mod:`evidence.schedule`); with no times kept
it hands them out in the order the build lists them (in two batches: the figures of the base
alone while the analyses run, then the workbook and the other figures, with the report
written beside the workbook). This builds the bundled ``studies.bib``
(or ``--bib FILE``) once to keep its references and times, then ``--rounds`` times each way,
interleaved, each build in a fresh process with the references kept: once without the times
(the given order), once with the times the first build kept (longest first). It prints what
each build took after its references (the stages "figures", "report" and "workbook"), the
medians and their ratio. The outputs are the
same either way. Run from the repository root::

    python benchmarks/bench_schedule.py
    python benchmarks/bench_schedule.py --bib other/studies.bib --rounds 6
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

_CHILD = """
import sys, tempfile
from evidence.export import build_reports
with tempfile.TemporaryDirectory() as out:
    result = build_reports(sys.argv[1], out)
print(sum(result.timings[stage] for stage in ("figures", "report", "workbook")))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bib", type=Path, default=HERE.parent / "studies.bib")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "EVIDENCE_CACHE_DIR": cache}

        def build() -> float:
            proc = subprocess.run(
                [sys.executable, "-c", _CHILD, str(args.bib)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return float(proc.stdout.split()[-1])

        build()  # keeps the references and the pieces' times
        (kept,) = Path(cache).glob("durations-*.json")
        times = kept.read_bytes()
        stage: dict[str, list[float]] = {"given order": [], "longest first": []}
        for _ in range(args.rounds):  # interleaved, so that the machine's load weighs alike
            kept.unlink()
            stage["given order"].append(build())
            kept.write_bytes(times)  # the first build's, not the one just made
            stage["longest first"].append(build())

    print(f"{args.bib.name}: after the references, {args.rounds} builds each way")
    for way, seconds in stage.items():
        shown = " ".join(f"{s:.2f}" for s in seconds)
        print(f"  {way:<15} {shown}  median {statistics.median(seconds):.2f} s")
    ratio = statistics.median(stage["longest first"]) / statistics.median(stage["given order"])
    print(f"  longest first / given order = {ratio:.2f}x (medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
