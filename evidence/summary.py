"""What the evidence base holds and what its analyses found, as tables every output shows.

The workbook (Summary and Risk of bias sheets) and the HTML report show the same overview,
counts, headline results, warnings, rows not pooled and risk-of-bias judgements. They are made
here, once, from the evidence base and the pool reports, so the two outputs cannot disagree;
each output only lays them out.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evidence.schema import REVIEW_DESIGNS

if TYPE_CHECKING:  # pragma: no cover
    from evidence.base import EvidenceBase
    from evidence.pooling import PoolReport
    from evidence.stats import PooledResult

__all__ = [
    "counts",
    "headline_table",
    "not_pooled",
    "overview",
    "report_warnings",
    "risk_of_bias_by_study",
    "source",
    "written",
]

NOT_STATED = "(not stated)"

#: Significant digits of a computed number as the outputs write it (the workbook's cells, the
#: report's machine-readable values). The last bits of a result differ between processors:
#: numpy computes ``exp`` and ``log`` with vectorised code chosen for the processor it runs on
#: (AVX2, AVX-512), whose results may differ in the last place, so a heterogeneity estimate
#: came out as ``3.33693938928164`` on one machine and ``3.3369393892816395`` on another, and
#: the committed reports changed with the machine that built them. Ten digits keep every
#: figure any reader compares (metafor prints four) and drop those bits; a value that falls
#: within a few units in the last place of a rounding boundary may still differ, about one
#: value in a hundred thousand.
DIGITS = 10


def written(value: float) -> float:
    """``value`` to :data:`DIGITS` significant digits, as the outputs write it.

    >>> written(3.3369393892816395), written(3.33693938928164), written(0.0)
    (3.336939389, 3.336939389, 0.0)
    """
    return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else value


def _value(value: Any) -> Any:
    """``None`` for a missing value (``None``, ``pd.NA``, NaN), a Python scalar otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item") and not isinstance(value, (bool, int, float, str)):
        value = value.item()  # numpy scalar
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def source(base: EvidenceBase) -> tuple[str, str, str]:
    """The source's file name, its SHA-256, and what was hashed (the file's bytes, or the
    parsed text for a base made from a string)."""
    path = Path(base.path)
    try:
        data = path.read_bytes()
        what = "SHA-256 of the file's bytes"
    except OSError:  # parsed from a string (evidence.loads)
        data = base.document.text.encode("utf-8")
        what = "SHA-256 of the parsed text (UTF-8)"
    return path.name, hashlib.sha256(data).hexdigest(), what


def overview(base: EvidenceBase) -> pd.DataFrame:
    """What the base holds: entries, primary studies, reviews, documents making claims and
    their claims, outcome rows, participants and validation problems (columns ``evidence
    base``, ``value``)."""
    studies = base.studies
    review = studies["design"].astype("string").isin(REVIEW_DESIGNS).fillna(False)
    n_enrolled = studies["n_enrolled"]
    documents = base.documents
    return pd.DataFrame(
        [
            ("entries", len(base.records)),
            ("primary studies", int((~review).sum())),
            ("reviews and meta-analyses", int(review.sum())),
            ("documents making claims", len(documents)),
            ("claims", sum(len(doc.claims) for doc in documents)),
            ("entries with outcome rows", int(studies["n_outcomes"].gt(0).sum())),
            ("outcome rows", len(base.outcomes)),
            ("participants (sum of n_enrolled)", int(n_enrolled.sum(skipna=True))),
            ("entries without n_enrolled", int(n_enrolled.isna().sum())),
            ("validation errors", len(base.errors)),
            ("validation warnings", len(base.warnings)),
        ],
        columns=["evidence base", "value"],
    )


def _items(value: Any) -> list[str]:
    """The items of a ``;``-separated list field (``(not stated)`` for none)."""
    value = _value(value)
    if value is None:
        return [NOT_STATED]
    items = [item.strip() for item in str(value).split(";") if item.strip()]
    return items or [NOT_STATED]


def counts(
    studies: pd.DataFrame, column: str, label: str, order: tuple[str, ...] | None = None
) -> pd.DataFrame:
    """Entries and participants (sum of ``n_enrolled``; empty when none reports it) per value
    of ``column``; an entry listing several values counts in each. Values in ``order`` (a
    vocabulary's) first, then the others alphabetically, then ``(not stated)``."""
    entries: dict[str, int] = {}
    people: dict[str, int | None] = {}
    for value, n in zip(studies[column], studies["n_enrolled"], strict=True):
        n = _value(n)
        for item in dict.fromkeys(_items(value)):
            entries[item] = entries.get(item, 0) + 1
            known = people.get(item)
            people[item] = known if n is None else (known or 0) + n
    first = [c for c in order or () if c in entries]
    other = sorted((c for c in entries if c not in first and c != NOT_STATED), key=str.lower)
    names = first + other + ([NOT_STATED] if NOT_STATED in entries else [])
    return pd.DataFrame(
        {
            label: names,
            "entries": [entries[c] for c in names],
            "participants": [people[c] for c in names],
        }
    )


def headline_table(report: PoolReport) -> pd.DataFrame:
    """One row per subgroup fit and one for the overall fit: k, N, the estimate (``rate`` for
    proportions, else the effect measure's name), its CI and PI, and I² as a fraction (0..1).
    The first column is named after the subgroup column (``group`` without one)."""
    rows = []
    fits: list[tuple[str, PooledResult]] = list((report.group_fits or {}).items())
    if report.overall is not None:
        fits.append(("overall", report.overall))
    centre = report.analysis.effect if report.comparative else "rate"
    for name, res in fits:
        i2 = _value(res.i2)
        rows.append(
            {
                "group": name,
                "k": res.k,
                "N": res.n_total,
                centre: res.estimate,
                "CI low": res.ci_low,
                "CI high": res.ci_high,
                "PI low": res.pi_low,
                "PI high": res.pi_high,
                "I²": None if i2 is None else i2 / 100,
            }
        )
    columns = ["group", "k", "N", centre, "CI low", "CI high", "PI low", "PI high", "I²"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.rename(columns={"group": report.by}) if report.by else frame


def report_warnings(report: PoolReport) -> list[str]:
    """Everything a reader of one analysis should be warned about: the analysis's own warnings,
    each fit's (overall, then each subgroup's, prefixed), and why subgroups were not tested."""
    warnings = list(report.warnings)
    if report.overall is not None:
        warnings += [f"overall fit: {w}" for w in report.overall.warnings]
    for group, fit in (report.group_fits or {}).items():
        warnings += [f"{group}: {w}" for w in fit.warnings]
    if report.subgroup_note:
        warnings.append(report.subgroup_note)
    return warnings


NOT_POOLED_COLUMNS = ["analysis", "key", "row", "arm", "measure", "reason"]


def not_pooled(reports: list[PoolReport]) -> pd.DataFrame:
    """Rows the analyses left out, with the analysis and the reason; entries without outcome
    rows once, for every analysis (``analysis`` = ``(every analysis)``)."""
    frames = []
    studies = None
    for r in reports:
        excluded = r.selection.excluded
        no_rows = excluded["row"].isna()
        frames.append(excluded[~no_rows].assign(analysis=r.analysis.name)[NOT_POOLED_COLUMNS])
        if studies is None:
            studies = excluded[no_rows].assign(analysis="(every analysis)")[NOT_POOLED_COLUMNS]
    if studies is not None:
        frames.append(studies)
    if not frames:
        return pd.DataFrame(columns=NOT_POOLED_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def risk_of_bias_by_study(base: EvidenceBase) -> pd.DataFrame:
    """One row per study (and per outcome row judged separately): ``key``, ``outcome_row``,
    ``tool``, ``D1`` … ``D7``, ``overall``, ``algorithm`` (the tool's), ``reason`` and
    ``support`` (``D1: …`` per line); entries without judgements show their tool only."""
    from evidence.rob import OVERALL, TOOLS

    codes = list(dict.fromkeys(c for tool in TOOLS.values() for c in tool.codes))
    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    for rec in base.risk_of_bias.itertuples(index=False):
        row = None if pd.isna(rec.outcome_row) else int(rec.outcome_row)
        out = rows.setdefault(
            (rec.key, row), {"key": rec.key, "outcome_row": row, "tool": rec.tool, "support": []}
        )
        name = "overall" if rec.domain == OVERALL else rec.domain
        out[name] = rec.judgement
        if rec.domain == OVERALL:
            out["algorithm"], out["reason"] = rec.algorithm, _value(rec.reason)
        if _value(rec.support) and rec.source != "study":
            label = "Overall" if rec.domain == OVERALL else rec.domain
            out["support"].append(f"{label}: {rec.support}")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for (key, _), result in rows.items():
        by_key.setdefault(key, []).append(result)
    records = []
    for key, tool in zip(base.studies["key"], base.studies["rob_tool"], strict=True):
        records += by_key.get(key) or [{"key": key, "outcome_row": None, "tool": _value(tool)}]
    columns = ["key", "outcome_row", "tool", *codes, "overall", "algorithm", "reason", "support"]
    frame = pd.DataFrame(records, columns=columns)
    frame["support"] = [
        "\n".join(s) if isinstance(s, list) and s else None for s in frame["support"]
    ]
    return frame
