"""Benchmark: drawing and saving every figure of a build, figure by figure.

For the bundled ``studies.bib`` (or ``--bib FILE``, or ``--entries N`` for a generated base as
``bench_load.py`` makes), it runs the build's analyses once, then for each figure of a build
(:func:`evidence.export.figures`) times, in ``--rounds`` interleaved rounds:

- ``draw``: making the figure (the chart function; notes and labels are placed by laying the
  figure out, :func:`evidence.charts._lay_out`);
- ``baseline``: making it with a full unrendered draw (``Figure.draw_without_rendering``) in
  place of that layout, as the charts measured before;
- ``png`` and ``svg``: :func:`evidence.charts.save_figure`'s two files, timed apart (each is
  laid out for its own renderer, then drawn).

It prints each figure's medians and, over all figures, the totals and ``draw / baseline``
(the median of the rounds' ratios). Run from the repository root::

    python benchmarks/bench_charts.py
    python benchmarks/bench_charts.py --entries 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("draw", "baseline", "png", "svg")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bib", type=Path, default=HERE.parent / "studies.bib")
    parser.add_argument("--entries", type=int, help="a generated base of this many entries")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)

    import matplotlib

    from evidence import charts
    from evidence.export import _load, figures
    from evidence.pooling import analyses_in_force, risk_of_bias_sensitivity

    with tempfile.TemporaryDirectory() as tmp:
        bib = args.bib
        if args.entries:
            sys.path.insert(0, str(HERE))
            from bench_load import generate  # the same generator as the load benchmark

            bib = Path(tmp) / f"generated-{args.entries}.bib"
            generate(bib, args.entries, args.seed)
        base = _load(bib, None)
        reports = [analysis.run(base) for analysis in analyses_in_force(base)]
        risk_of_bias_sensitivity(base, reports)
        drawn = list(figures(base, reports))
        out = Path(tmp)
        lay_out = charts._lay_out

        def by_drawing(fig) -> None:  # the baseline's measuring
            fig.draw_without_rendering()

        times = {name: {kind: [] for kind in KINDS} for name, _ in drawn}
        for _ in range(args.rounds):  # interleaved, so that the machine's load weighs alike
            for name, draw in drawn:
                charts._lay_out = by_drawing
                try:
                    t0 = time.perf_counter()
                    draw()
                    times[name]["baseline"].append(time.perf_counter() - t0)
                finally:
                    charts._lay_out = lay_out
                t0 = time.perf_counter()
                fig = draw()
                t1 = time.perf_counter()
                with matplotlib.rc_context(charts._SVG_SETTINGS):
                    fig.savefig(out / f"{name}.png", dpi=200, metadata={"Software": None})
                    t2 = time.perf_counter()
                    fig.savefig(out / f"{name}.svg", metadata={"Date": None})
                t3 = time.perf_counter()
                times[name]["draw"].append(t1 - t0)
                times[name]["png"].append(t2 - t1)
                times[name]["svg"].append(t3 - t2)

    print(f"{bib.name}: {len(base.records)} entries, {len(drawn)} figures, {args.rounds} rounds")
    print(f"  {'figure (median s)':<44}" + "".join(f"{kind:>10}" for kind in KINDS))
    for name, kinds in times.items():
        print(f"  {name:<44}" + "".join(f"{statistics.median(kinds[k]):>10.3f}" for k in KINDS))
    totals = {
        kind: [sum(kinds[kind][r] for kinds in times.values()) for r in range(args.rounds)]
        for kind in KINDS
    }
    pairs = zip(totals["draw"], totals["baseline"], strict=True)
    ratio = statistics.median(draw / baseline for draw, baseline in pairs)
    print(
        "  all figures: "
        + ", ".join(f"{kind} {statistics.median(totals[kind]):.2f} s" for kind in KINDS)
        + f"; draw / baseline = {ratio:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
