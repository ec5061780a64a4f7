"""Which outcome rows are pooled, and pooling them: the evidence base → :mod:`evidence.stats`.

What is pooled is explicit: the caller chooses the arm, domain, measure, response definition
and timepoint window; rows that match but cannot be pooled (no counts, only a percentage) and
studies without outcome rows (reviews) are listed with a reason, never dropped silently; and
pooling rows that differ in response definition, measure or domain, or several rows of one
study, produces a warning naming them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evidence.base import EvidenceBase
from evidence.schema import parse_timepoint
from evidence.stats import PooledResult, SubgroupResult, pool_proportions, proportion_ci
from evidence.stats import subgroup_analysis as _subgroups
from evidence.text import letters_suffix

__all__ = [
    "PoolReport",
    "Selection",
    "analysis_table",
    "leave_one_out_table",
    "parse_window",
    "pool_evidence",
    "select_outcomes",
]

#: Study-table columns joined onto each outcome row (for subgroups and labels).
STUDY_CONTEXT = (
    "first_author",
    "year",
    "design",
    "conditions",
    "route",
    "blinding",
    "verification",
)


@dataclass(frozen=True)
class Selection:
    """Outcome rows chosen for pooling, the ones left out with their reason, and warnings."""

    included: pd.DataFrame
    excluded: pd.DataFrame  # key, row, arm, measure, reason
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class PoolReport:
    """Per-study rates with CIs, the pooled result, and subgroups if asked for."""

    selection: Selection
    per_study: pd.DataFrame
    overall: PooledResult | None
    by: str | None = None
    subgroups: SubgroupResult | None = None
    ci_method: str = "wilson"
    group_fits: dict[str, PooledResult] | None = None
    subgroup_note: str = ""


def analysis_table(base: EvidenceBase) -> pd.DataFrame:
    """The outcomes table with the study-level columns of :data:`STUDY_CONTEXT` joined on."""
    context = base.studies[["key", *STUDY_CONTEXT]]
    frame = base.outcomes.merge(context, on="key", how="left", validate="many_to_one")
    frame["study"] = frame["key"].map(_study_labels(base.studies)).astype("string")
    return frame


def _study_labels(studies: pd.DataFrame) -> dict[str, str]:
    """``Author Year`` per key, with a/b suffixes where two studies share one (Glue 2020a);
    after ``z`` come ``aa``, ``ab``… (:func:`evidence.text.letters_suffix`)."""
    base_labels = {}
    for key, author, year in zip(
        studies["key"], studies["first_author"], studies["year"], strict=True
    ):
        text = " ".join(str(x) for x in (author, year) if x is not None and x is not pd.NA)
        base_labels[key] = text or key
    counts = pd.Series(list(base_labels.values())).value_counts()
    seen: dict[str, int] = {}
    labels = {}
    for key, label in base_labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[key] = label + letters_suffix(seen[label])
        else:
            labels[key] = label
    return labels


def parse_window(text: str) -> tuple[float, float]:
    """Hours ``(low, high)`` of a timepoint window: ``1 week``, ``24 h..2 weeks``, ``..1 week``.

    Raises
    ------
    ValueError
        If a bound is not a timepoint.
    """
    low_text, sep, high_text = text.partition("..")
    if not sep:
        high_text = low_text
    bounds = []
    for part, default in ((low_text, 0.0), (high_text, float("inf"))):
        if not part.strip():
            bounds.append(default)
            continue
        hours = parse_timepoint(part)
        if hours is None:
            raise ValueError(
                f"timepoint window {text!r}: cannot read {part.strip()!r} "
                "(allowed: a timepoint such as '1 week', or a range '24 h..2 weeks')"
            )
        bounds.append(hours)
    return bounds[0], bounds[1]


def _matches(series: pd.Series, wanted: str | None) -> pd.Series:
    if wanted is None:
        return pd.Series(True, index=series.index)
    return series.astype("string").str.lower().eq(wanted.lower()).fillna(False)


def select_outcomes(
    base: EvidenceBase,
    *,
    arm: str | None = "ketamine",
    domain: str | None = None,
    measure: str | None = None,
    response: str | None = None,
    timepoint: str | None = None,
) -> Selection:
    """Choose the outcome rows to pool.

    ``arm`` matches an arm label or its agent (``ketamine`` selects ``ketamine-0.5`` too;
    ``None`` selects every arm); ``domain``, ``measure`` and ``response`` match exactly
    (case-insensitive); ``timepoint`` is a window for :func:`parse_window` (rows without a
    timepoint are then left out, with that reason).
    """
    frame = analysis_table(base)
    arm_ok = (
        _matches(frame["arm"], arm) | _matches(frame["agent"], arm)
        if arm is not None
        else pd.Series(True, index=frame.index)
    )
    chosen = frame[
        arm_ok
        & _matches(frame["domain"], domain)
        & _matches(frame["measure"], measure)
        & _matches(frame["response"], response)
    ]
    reasons = pd.Series("", index=chosen.index, dtype="string")
    if timepoint is not None:
        low, high = parse_window(timepoint)
        hours = chosen["time_hours"]
        reasons[hours.isna()] = "no timepoint (a timepoint window was asked for)"
        outside = hours.notna() & ~hours.between(low, high)
        reasons[outside.fillna(False)] = "outside the timepoint window"
    no_counts = chosen["responders"].isna() | chosen["n"].isna() | chosen["n"].eq(0)
    percent_only = no_counts & chosen["percent"].notna()
    for i in chosen.index[percent_only.fillna(False)]:
        if not reasons[i]:
            reasons[i] = f"no responder counts (only {chosen.at[i, 'percent']:g}% reported)"
    for i in chosen.index[(no_counts & ~percent_only).fillna(False)]:
        if not reasons[i]:
            reasons[i] = "no responders/n"
    keep = reasons.eq("")
    included = chosen[keep].reset_index(drop=True)
    columns = ["key", "row", "arm", "measure", "reason"]
    excluded = chosen[~keep].assign(reason=reasons[~keep])[columns]
    without_rows = base.studies[base.studies["n_outcomes"].eq(0)]
    if len(without_rows):
        design = without_rows["design"].astype("string").fillna("plain reference")
        extra = pd.DataFrame(
            {
                "key": without_rows["key"],
                "row": pd.array([pd.NA] * len(without_rows), dtype="Int64"),
                "arm": pd.array([pd.NA] * len(without_rows), dtype="string"),
                "measure": pd.array([pd.NA] * len(without_rows), dtype="string"),
                "reason": ("no outcome rows (" + design + ")").astype("string"),
            }
        )
        excluded = pd.concat([excluded.astype({"measure": "string"}), extra], ignore_index=True)
    return Selection(included, excluded.reset_index(drop=True), tuple(_warnings(included)))


def _warnings(rows: pd.DataFrame) -> list[str]:
    out = []
    for column, label in (
        ("agent", "agents (ketamine and comparator arms together)"),
        ("response", "response definitions"),
        ("measure", "measures"),
        ("domain", "outcome domains"),
    ):
        values = rows[column].astype("string").fillna("(not stated)")
        if values.nunique() > 1:
            groups = {
                value: ", ".join(dict.fromkeys(rows.loc[values == value, "key"]))
                for value in dict.fromkeys(values)
            }
            listed = "; ".join(f"{v!r}: {keys}" for v, keys in groups.items())
            out.append(f"pooling rows with different {label}: {listed}")
    repeated = rows.groupby(["key", "arm"], sort=False).size()
    repeated = repeated[repeated > 1]
    if len(repeated):
        keys = ", ".join(f"{k} {arm} ({n} rows)" for (k, arm), n in repeated.items())
        out.append(
            f"some studies contribute more than one row, so their participants count "
            f"more than once: {keys}"
        )
    return out


def pool_evidence(
    base: EvidenceBase,
    *,
    by: str | None = None,
    measure: str = "PLO",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    ci_method: str = "wilson",
    selection: Selection | None = None,
) -> PoolReport:
    """Per-study response rates and the pooled rate of the selected rows (default selection:
    every ketamine arm with counts), optionally by subgroup column ``by``.

    Raises
    ------
    ValueError
        For an unknown ``by`` column or invalid statistical arguments (from
        :mod:`evidence.stats`, naming the argument and what is allowed).
    """
    sel = selection if selection is not None else select_outcomes(base)
    rows = sel.included
    if by is not None and by not in rows.columns:
        allowed = ", ".join(c for c in rows.columns if c not in ("row", "line"))
        raise ValueError(
            f"by must be a column of the outcomes or studies table; got {by!r} (allowed: {allowed})"
        )
    events = rows["responders"].astype(int).to_numpy()
    totals = rows["n"].astype(int).to_numpy()
    labels = [f"{s} · {a}" for s, a in zip(rows["study"], rows["arm"], strict=True)]
    if len(rows) == 0:
        return PoolReport(sel, _per_study(rows, None, level, ci_method), None, by, None, ci_method)
    overall = pool_proportions(events, totals, measure, method, test, level, labels)
    per_study = _per_study(rows, overall, level, ci_method)
    subgroups = None
    group_fits = None
    note = ""
    if by is not None:
        groups = rows[by].astype("string").fillna("(missing)").tolist()
        group_fits = {}
        for group in dict.fromkeys(groups):
            idx = [i for i, g in enumerate(groups) if g == group]
            group_fits[group] = pool_proportions(
                events[idx], totals[idx], measure, method, test, level, [labels[i] for i in idx]
            )
        if len(group_fits) < 2:
            note = f"no test for subgroup differences: only one {by} group"
        else:
            try:
                subgroups = _subgroups(events, totals, groups, measure, method, test, level, labels)
            except ValueError as exc:
                note = f"no test for subgroup differences: {exc}"
    return PoolReport(sel, per_study, overall, by, subgroups, ci_method, group_fits, note)


def leave_one_out_table(report: PoolReport) -> pd.DataFrame:
    """The pooled result with each pooled row left out in turn (metafor's ``leave1out``).

    Raises
    ------
    ValueError
        With fewer than two pooled rows.
    """
    from evidence.stats import leave_one_out

    rows, fit = report.selection.included, report.overall
    if fit is None or len(rows) < 2:
        raise ValueError(f"leave-one-out needs at least 2 pooled rows; got {len(rows)}")
    labels = [
        f"{s} · {a} · {d}"
        for s, a, d in zip(
            rows["study"], rows["arm"], rows["domain"].astype("string").fillna(""), strict=True
        )
    ]
    return leave_one_out(
        rows["responders"].astype(int).to_numpy(),
        rows["n"].astype(int).to_numpy(),
        fit.measure,
        fit.method,
        fit.test,
        fit.level,
        labels,
    )


def _per_study(
    rows: pd.DataFrame, overall: PooledResult | None, level: float, ci_method: str
) -> pd.DataFrame:
    columns = ["key", "study", "arm", "domain", "measure", "time", "responders", "n"]
    frame = rows[columns].copy()
    if len(rows):
        ci = proportion_ci(
            rows["responders"].astype(int).to_numpy(),
            rows["n"].astype(int).to_numpy(),
            method=ci_method,
            level=level,
        )
        frame["rate"] = ci["proportion"].to_numpy()
        frame["ci_low"] = ci["ci_low"].to_numpy()
        frame["ci_high"] = ci["ci_high"].to_numpy()
    else:
        frame["rate"] = frame["ci_low"] = frame["ci_high"] = pd.Series(dtype="Float64")
    frame["weight"] = list(overall.weights) if overall is not None else [None] * len(frame)
    return frame.astype(
        {"rate": "Float64", "ci_low": "Float64", "ci_high": "Float64", "weight": "Float64"}
    )
