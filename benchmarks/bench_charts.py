"""Benchmark: drawing and saving every figure of a build, figure by figure.

For the bundled ``studies.bib`` (or ``--bib FILE``, or ``--entries N`` for a generated base as
``bench_load.py`` makes), it runs the build's analyses once, then for each figure of a build
(:func:`evidence.export.figures`) times, in ``--rounds`` interleaved rounds:

- ``draw``: making the figure (the chart function, with its own measuring of notes);
- ``save``: :func:`evidence.charts.save_figure`, the PNG (200 dpi) and the SVG a build writes,
  laid out once;
- ``baseline``: the same figure drawn again and saved by matplotlib's own ``savefig`` to the
  same two formats with the same settings, each laying the figure out afresh (what
  ``save_figure`` did before it kept the PNG's layout for the SVG).

It prints each figure's medians and, over all figures, the total and ``save / baseline``
(the median of the rounds' ratios). Writing is to memory-backed temporary files. Run from the
repository root::

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

        def baseline(fig, stem: Path) -> None:
            with matplotlib.rc_context(charts._SVG_SETTINGS):
                fig.savefig(f"{stem}.png", format="png", dpi=200, metadata={"Software": None})
                fig.savefig(f"{stem}.svg", format="svg", metadata={"Date": None})

        times: dict[str, dict[str, list[float]]] = {
            name: {"draw": [], "save": [], "baseline": []} for name, _ in drawn
        }
        for _ in range(args.rounds):  # interleaved, so that the machine's load weighs alike
            for name, draw in drawn:
                t0 = time.perf_counter()
                fig = draw()
                t1 = time.perf_counter()
                charts.save_figure(fig, out / name)
                t2 = time.perf_counter()
                times[name]["draw"].append(t1 - t0)
                times[name]["save"].append(t2 - t1)
                fig = draw()
                t3 = time.perf_counter()
                baseline(fig, out / f"{name}-baseline")
                times[name]["baseline"].append(time.perf_counter() - t3)

    print(f"{bib.name}: {len(base.records)} entries, {len(drawn)} figures, {args.rounds} rounds")
    print(f"  {'figure':<44}{'draw s':>8}{'save s':>8}{'baseline s':>12}")
    for name, kinds in times.items():
        draw_s, save_s, base_s = (statistics.median(kinds[k]) for k in ("draw", "save", "baseline"))
        print(f"  {name:<44}{draw_s:>8.3f}{save_s:>8.3f}{base_s:>12.3f}")
    totals = {
        kind: [sum(kinds[kind][r] for kinds in times.values()) for r in range(args.rounds)]
        for kind in ("draw", "save", "baseline")
    }
    pairs = zip(totals["save"], totals["baseline"], strict=True)
    ratio = statistics.median(save / baseline for save, baseline in pairs)
    print(
        f"  all figures: draw {statistics.median(totals['draw']):.2f} s, save "
        f"{statistics.median(totals['save']):.2f} s, baseline "
        f"{statistics.median(totals['baseline']):.2f} s; save / baseline = {ratio:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
