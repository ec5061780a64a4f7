"""Benchmark: formatting every entry of a synthetic evidence base in a citation style.

Generates the same realistic file as ``bench_load.py`` (seeded), loads it once, then times
:func:`evidence.citations.references` per style (the style file is parsed before timing, as a
build that formats twice would have it cached). citeproc-py renders in pure Python, so this is
the cost the workbook's References sheet adds to ``evidence build``.

Run from the repository root::

    python benchmarks/bench_cite.py                        # 1,000 entries, vancouver and apa
    python benchmarks/bench_cite.py --entries 200 --style nature
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)

    import evidence
    from evidence.citations import references

    with tempfile.TemporaryDirectory() as folder:
        bib = Path(folder) / "bench.bib"
        generate(bib, args.entries, args.seed)
        base = evidence.load(bib)
    first = [base.records[0].key]
    for style in args.style or ["vancouver", "apa"]:
        references(base, first, style=style)  # parse the style before timing
        start = time.perf_counter()
        refs = references(base, style=style)
        seconds = time.perf_counter() - start
        print(
            f"{style}: {len(refs)} entries in {seconds:.1f} s "
            f"({1000 * seconds / max(len(refs), 1):.1f} ms per entry)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
