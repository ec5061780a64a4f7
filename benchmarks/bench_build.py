"""Benchmark: ``evidence build`` stage by stage on synthetic evidence bases.

For each size (default 1,000 and 10,000 entries) it generates the same realistic file as
``bench_load.py`` (seeded), then runs the build in a fresh subprocess and prints the time per
stage (load = parse, then the analysis libraries imported and the tables made, while forked
workers format every entry's reference with citeproc-py, :mod:`evidence.citations`;
statistics = the analyses and their low-risk re-runs, while a forked worker draws the figures
of the base alone; references = the wait for the references after that; figures = the wait
for the others, drawn by forked
workers beside the one writing the workbook; report = the HTML, while the workbook is
written; workbook = the wait for it after the report), and the peak resident memory of that
process (``ru_maxrss``) and of the largest process it forked (formatting references, writing
the workbook or drawing; resident pages it shares with the build count in both). A fresh
process per size keeps the memory figure honest. It also prints the processor time the build
and its workers used (user and system, from the build's start): divided by the cores, that is
the shortest any order of the same work could take, so it tells a slow schedule from work that
does not fit.

The workbook's floor: after the build (and after its peak memory is read), the same process
reads the workbook back (untimed) and writes the same cell values, unstyled, with openpyxl's
write-only mode; then it writes the workbook again from the same base and analyses, as the
build did; then XlsxWriter (the workbook's writer) writes the same values unstyled. These three
are timed in ``--rounds`` interleaved rounds, so that the machine's load weighs on each alike,
and ``workbook / floor`` is the median of the rounds' ratios (the target is at most 1.3x). The
writer's own ratio to the floor is what XlsxWriter costs; the rest of ``workbook / floor`` is
the workbook's styles, links, sizing and tables.

The references are kept between builds (:mod:`evidence.refcache`): each run builds first with
an empty cache folder (a first build, every reference formatted), then edits the titles of
:data:`EDITED` entries spread through the file and builds again with the cache the first build
left, and with the time each piece (the workbook, each figure) took in the first build, by which
the rebuild hands them out longest first (:mod:`evidence.schedule`): what an analyst's rebuild
after an edit costs. Both are printed. ``--bib FILE`` builds a copy of that file, with the
protocol in force for it, instead of generated ones. ``--baseline DIR`` (a checkout of another
commit, ``git worktree add DIR REV``) builds each run with that commit's ``evidence`` first,
then with this one's, and prints the ratios: on a shared machine whose speed drifts through the
day, only builds made one after the other compare.

Run from the repository root::

    python benchmarks/bench_build.py                 # 1,000 and 10,000 entries
    python benchmarks/bench_build.py --entries 1000 --repeat 3
    python benchmarks/bench_build.py --bib studies.bib   # the bundled base
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Entries whose titles are edited between a first build and the rebuild.
EDITED = 10

_CHILD = """
import io, json, os, resource, statistics, sys, tempfile, time
from pathlib import Path
from evidence.export import WORKBOOK, _load, build_reports

bib, out, rounds, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] or None
before = resource.getrusage(resource.RUSAGE_SELF)  # the interpreter's start and imports
t0 = time.perf_counter()
base = _load(bib, config)  # what the build does first; kept to re-time the workbook below
parsed = time.perf_counter() - t0
result = build_reports(bib, out, base=base)
total = time.perf_counter() - t0
result.timings["load"] += parsed
own, forked = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
peak_kib = own.ru_maxrss
# the processes it forked (references, workbook, figures), sharing its pages until they write
workers_kib = forked.ru_maxrss
# processor time of the build and every process it forked (each has ended and been waited for)
cpu = sum(u.ru_utime + u.ru_stime for u in (own, forked)) - before.ru_utime - before.ru_stime
measured = {"timings": result.timings, "total": total, "peak_mib": peak_kib / 1024,
            "workers_mib": workers_kib / 1024, "cpu_s": cpu, "cores": len(os.sched_getaffinity(0))}
if not rounds:  # a rebuild: the workbook is timed against its floor after the first build
    print(json.dumps(measured))
    sys.exit(0)

import openpyxl
import xlsxwriter
from evidence.pooling import analyses_in_force, risk_of_bias_sensitivity
from evidence.workbook import write_workbook

book = openpyxl.load_workbook(Path(out) / WORKBOOK, read_only=True)
sheets = {ws.title: [list(row) for row in ws.iter_rows(values_only=True)] for ws in book}
book.close()
cells = sum(v is not None for rows in sheets.values() for row in rows for v in row)
# what the workbook is given in a build, made again untimed (the references are kept by base)
reports = [analysis.run(base) for analysis in analyses_in_force(base)]
risk_of_bias_sensitivity(base, reports)

def workbook():
    with tempfile.TemporaryDirectory() as tmp:
        write_workbook(base, Path(tmp) / WORKBOOK, reports=reports)

def floor():  # the same values, unstyled, through openpyxl's write-only mode
    book = openpyxl.Workbook(write_only=True)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(io.BytesIO())

def bare():  # the writer the workbook uses, the same values unstyled: what XlsxWriter costs
    book = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True, "strings_to_numbers": False,
                                              "strings_to_formulas": False,
                                              "strings_to_urls": False})
    for title, rows in sheets.items():
        ws = book.add_worksheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    ws.write_string(r, c, value)
                elif isinstance(value, bool):
                    ws.write_boolean(r, c, value)
                elif value is not None:
                    ws.write_number(r, c, value)
    book.close()

times = {"workbook": [], "floor": [], "bare": []}
for _ in range(rounds):  # interleaved, so that the machine's load weighs on each alike
    for name, write in (("floor", floor), ("workbook", workbook), ("bare", bare)):
        t0 = time.perf_counter()
        write()
        times[name].append(time.perf_counter() - t0)
print(json.dumps({**measured, "cells": cells,
                  "floor": statistics.median(times["floor"]),
                  "ratio": statistics.median(w / f for w, f in zip(times["workbook"],
                                                                   times["floor"])),
                  "bare": statistics.median(b / f for b, f in zip(times["bare"],
                                                                  times["floor"]))}))
"""


def run_once(
    bib: Path,
    out: Path,
    rounds: int,
    cache: Path,
    config: str | None = None,
    checkout: Path | None = None,
) -> dict:
    """Build ``bib`` into ``out`` in a fresh interpreter (with the protocol in ``config``, else
    the one found for it; with the ``evidence`` of ``checkout``, else the one installed),
    keeping references in ``cache``; return its timings, its peak memory and (``rounds`` > 0)
    the workbook's cost over the floor (``rounds`` interleaved rounds)."""
    env = {**os.environ, "EVIDENCE_CACHE_DIR": str(cache)}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bib), str(out), str(rounds), config or ""],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=out.parent,  # not this folder, which "python -c" would put before PYTHONPATH
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def edit_titles(bib: Path, count: int) -> None:
    """Change the titles of ``count`` entries spread evenly through ``bib``."""
    text = bib.read_text(encoding="utf-8")
    starts = [m.end() for m in re.finditer(r"^  title = \{", text, re.M)]
    chosen = set(starts[:: max(1, len(starts) // count)][:count])
    pieces, last = [], 0
    for start in sorted(chosen):
        pieces += [text[last:start], "Revised: "]
        last = start
    bib.write_text("".join([*pieces, text[last:]]), encoding="utf-8")


def report(runs: list[dict], title: str) -> None:
    """Each stage's median and fastest time, the total, and the peak memory."""
    print(f"  {title}")
    print(f"  {'stage':<20}{'median s':>10}{'min s':>10}")
    for stage in [*runs[0]["timings"], "total"]:
        values = [r["timings"][stage] if stage != "total" else r["total"] for r in runs]
        print(f"  {stage:<20}{statistics.median(values):>10.3f}{min(values):>10.3f}")
    peak = statistics.median(r["peak_mib"] for r in runs)
    workers = statistics.median(r["workers_mib"] for r in runs)
    print(
        f"  peak memory (median of runs): {peak:.0f} MiB; of its largest forked process: "
        f"{workers:.0f} MiB (it shares the build's pages)"
    )
    cpu = statistics.median(r["cpu_s"] for r in runs)
    cores = runs[0]["cores"]
    print(
        f"  processor time (median of runs; the build and its workers): {cpu:.1f} core-s, so "
        f"on {cores} core{'s' if cores > 1 else ''} no order of the work ends before "
        f"{cpu / cores:.1f} s"
    )


def compare(
    baseline: list[tuple[dict, dict]], runs: list[dict], rebuilds: list[dict], checkout: Path
) -> None:
    """The baseline's first builds and rebuilds against these (medians; the ratio is the
    median of each run's own, the two builds of a run having been made one after the other)."""
    print(f"  against {checkout} (built just before each run, the same way)")
    for name, index, ours in (("first build", 0, runs), ("rebuild", 1, rebuilds)):
        theirs = [pair[index] for pair in baseline]
        for what in ("total", "cpu_s", "peak_mib"):
            before = statistics.median(r[what] for r in theirs)
            after = statistics.median(r[what] for r in ours)
            ratio = statistics.median(b[what] / a[what] for a, b in zip(theirs, ours, strict=True))
            unit = {"total": "s", "cpu_s": "core-s", "peak_mib": "MiB"}[what]
            print(f"  {name:<12} {what:<9} {before:8.1f} -> {after:8.1f} {unit:<7} ({ratio:.3f}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--bib", type=Path, help="build this file instead of generated ones")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--rounds", type=int, default=3, help="workbook / floor rounds after each build"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a checkout of another commit (git worktree add DIR REV): each run builds with its "
        "evidence first, then with this one's, and the ratios are printed",
    )
    args = parser.parse_args(argv)
    here = HERE.parent if args.baseline else None  # this checkout's, named as the other's

    sys.path.insert(0, str(HERE))
    from bench_load import generate  # the same generator as the load benchmark

    import evidence
    from evidence.protocol import find_protocol

    with tempfile.TemporaryDirectory() as tmp:
        for n in [0] if args.bib else args.entries:
            generated = Path(tmp) / f"generated-{n}.bib"
            config = None
            if args.bib:  # a copy, with the protocol in force for the file itself
                generated.write_bytes(args.bib.read_bytes())
                n = len(evidence.load(args.bib).records)
                config = find_protocol(args.bib).source
            else:
                generate(generated, n, args.seed)
            bib = Path(tmp) / f"bench-{n}.bib"
            runs, rebuilds, baseline = [], [], []
            for i in range(args.repeat):
                if args.baseline:  # the same first build and rebuild, just before
                    bib.write_bytes(generated.read_bytes())
                    cache = Path(tmp) / f"baseline-cache-{n}-{i}"
                    first = run_once(bib, Path(tmp) / f"b-{n}-{i}", 0, cache, config, args.baseline)
                    edit_titles(bib, EDITED)
                    again = run_once(
                        bib, Path(tmp) / f"br-{n}-{i}", 0, cache, config, args.baseline
                    )
                    baseline.append((first, again))
                bib.write_bytes(generated.read_bytes())
                cache = Path(tmp) / f"cache-{n}-{i}"
                out = Path(tmp) / f"reports-{n}-{i}"
                runs.append(run_once(bib, out, args.rounds, cache, config, here))
                edit_titles(bib, EDITED)
                rebuilt = Path(tmp) / f"rebuilt-{n}-{i}"
                rebuilds.append(run_once(bib, rebuilt, 0, cache, config, here))
            print(f"\n{n:,} entries ({bib.stat().st_size / 1e6:.1f} MB), {args.repeat} runs")
            report(runs, "first build (no references kept)")
            report(rebuilds, f"rebuild after editing {EDITED} titles (the rest kept)")
            floor = statistics.median(r["floor"] for r in runs)
            ratio = statistics.median(r["ratio"] for r in runs)
            bare = statistics.median(r["bare"] for r in runs)
            print(
                f"  workbook floor (openpyxl write-only, same {runs[0]['cells']:,} values, "
                f"unstyled): {floor:.3f} s; workbook / floor = {ratio:.2f}x (target <= 1.3x; "
                f"median of {args.rounds} interleaved rounds per run)"
            )
            print(
                f"  XlsxWriter (the workbook's writer), the same values unstyled: "
                f"{bare:.2f}x the floor"
            )
            if baseline:
                compare(baseline, runs, rebuilds, args.baseline)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
