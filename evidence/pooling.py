"""Running an :class:`~evidence.analysis.Analysis` on an evidence base: which outcome rows are
pooled (and why not), what happens to a study's several rows, and the fits.

Three steps, each explicit in the :class:`PoolReport`:

1. **selection** (:func:`select_rows`): the rows of the analysis's arms, domain, scale,
   response definition and timepoint window; rows that match but cannot be pooled (no counts,
   only a percentage; outside the window) and studies without outcome rows are listed with a
   reason, never dropped silently;
2. **dependence** (:func:`apply_dependence`): when a study arm has several selected rows (several
   scales, timepoints or analysis populations of the same participants), the analysis's
   policy decides: ``one-per-study`` keeps one by a declared preference, ``aggregate``
   combines them, ``multilevel`` models them, ``none`` pools them as if independent (warned).
   Every candidate row gets an ``action`` (used, dropped, combined) and a reason;
3. **fitting** (:func:`run_analysis`): the pooled result, subgroups, and per-row intervals.
"""

from __future__ import annotations

import math
import weakref
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evidence.analysis import NOT_STATED, Analysis
from evidence.base import EvidenceBase
from evidence.columns import STUDY_CONTEXT
from evidence.errors import AnalysisError
from evidence.protocol import undeclared_settings
from evidence.schema import parse_timepoint, parse_window
from evidence.stats import PooledResult, SubgroupResult, pool_proportions, proportion_ci
from evidence.stats import subgroup_analysis as _subgroups
from evidence.text import letters_suffix

__all__ = [
    "PoolReport",
    "Selection",
    "analyses_in_force",
    "analysis_table",
    "apply_dependence",
    "headline_analyses",
    "leave_one_out_table",
    "pool_evidence",
    "risk_of_bias_sensitivity",
    "run_analysis",
    "select_rows",
]

_DECISION_COLUMNS = ["key", "row", "arm", "domain", "measure", "time", "action", "reason"]


@dataclass(frozen=True)
class Selection:
    """Rows an analysis selects: ``candidates`` (match and can be pooled) and ``excluded``
    (with the reason: key, row, arm, measure, reason)."""

    candidates: pd.DataFrame
    excluded: pd.DataFrame


@dataclass(frozen=True)
class PoolReport:
    """The result of one analysis.

    Attributes
    ----------
    analysis : Analysis
        What was pooled and how (its ``to_dict()`` is what every output records).
    selection : Selection
        Candidate rows and the rows left out, with reasons.
    decisions : pandas.DataFrame
        One row per candidate: ``key, row, arm, domain, measure, time, action, reason`` with
        ``action`` one of ``used``, ``dropped``, ``combined`` (the dependence policy's work).
    pooled : pandas.DataFrame
        The units that were pooled (rows, or one combined row per study arm under
        ``aggregate``), with the study context columns.
    per_study : pandas.DataFrame
        Per pooled unit: key, study, arm, domain, measure, time, responders, n, rate, CI,
        weight (percent of the overall fit).
    overall : PooledResult or None
        The pooled result (``None`` when nothing could be pooled).
    group_fits, subgroups, subgroup_note
        Separate fits per ``analysis.by`` group, the subgroup tests, or why there are none.
    sensitivity : pandas.DataFrame or None
        Under ``aggregate``: the estimate for correlations 0, 0.5 and 0.8.
    warnings : tuple of str
        What a reader should know (mixed definitions, rows pooled as independent, ...).
    beside : pandas.DataFrame or None
        Comparisons: reviews' pooled results on the same effect measure, shown beside the
        primary studies and never pooled with them (their trials would count twice).
    flipped : bool
        Comparisons on scales of both directions: the signs of the higher-is-better ones were
        reversed so that every effect points the same way (lower favours the intervention).
    """

    analysis: Analysis
    selection: Selection
    decisions: pd.DataFrame
    pooled: pd.DataFrame
    per_study: pd.DataFrame
    overall: PooledResult | None
    group_fits: dict[str, PooledResult] | None = None
    subgroups: SubgroupResult | None = None
    subgroup_note: str = ""
    sensitivity: pd.DataFrame | None = None
    warnings: tuple[str, ...] = ()
    beside: pd.DataFrame | None = None
    flipped: bool = False

    @property
    def comparative(self) -> bool:
        """Whether the analysis pools comparisons (an effect measure) rather than proportions."""
        return self.analysis.effect != "proportion"

    @property
    def by(self) -> str | None:
        """The subgroup column."""
        return self.analysis.by

    @property
    def ci_method(self) -> str:
        """The per-row CI method."""
        return self.analysis.ci_method

    def groups(self) -> list[str]:
        """The subgroup of each pooled unit (``(missing)`` where the column is empty)."""
        if self.by is None:
            return []
        return self.pooled[self.by].astype("string").fillna("(missing)").tolist()


# ------------------------------------------------------------------------------ the table


def analysis_table(base: EvidenceBase) -> pd.DataFrame:
    """The outcomes table with the study-level columns of :data:`STUDY_CONTEXT` joined on;
    ``rob_overall`` is each row's result's overall risk of bias (its own judgement where the
    row has one, else its study's: :func:`evidence.tables.outcome_risk_of_bias`). Columns
    :data:`evidence.columns.ANALYSIS_COLUMNS`."""
    from evidence.tables import outcome_risk_of_bias

    context = base.studies[["key", *STUDY_CONTEXT]]
    frame = base.outcomes.merge(context, on="key", how="left", validate="many_to_one")
    own = outcome_risk_of_bias(base.risk_of_bias, base.outcomes)
    frame["rob_overall"] = own["overall"].to_numpy()
    frame["study"] = frame["key"].map(_study_labels(base.studies)).astype("string")
    return frame


def _risk_of_bias_reasons(rows: pd.DataFrame, analysis: Analysis) -> pd.Series:
    """Why each row is left out by ``analysis.risk_of_bias`` (empty: kept). Under ``low`` a
    row is kept only when its result's overall judgement is low; rows of studies without a
    tool (``rob_tool`` none: reviews, uncontrolled studies) or not assessed are left out too.
    """
    if analysis.risk_of_bias == "any":
        return pd.Series("", index=rows.index, dtype="string")
    overall = rows["rob_overall"].astype("string").fillna("").tolist()
    tool = rows["rob_tool"].astype("string").fillna("").tolist()
    reasons = [
        ""
        if level == "low"
        else f"{_risk_of_bias_text(level, used)}; the analysis keeps results at low risk of "
        "bias only"
        for level, used in zip(overall, tool, strict=True)
    ]
    return pd.Series(reasons, index=rows.index, dtype="string")


def _risk_of_bias_text(level: str, tool: str) -> str:
    """A result's overall risk of bias in words: its judgement, or why it has none."""
    if level:
        return f"overall risk of bias {level!r}"
    if tool == "none":
        return "no risk-of-bias tool applies (rob_tool none)"
    return "risk of bias not assessed (no rob_tool)"


_LABEL_COLUMNS = ("key", "first_author", "year")


def _study_labels(studies: pd.DataFrame) -> dict[str, str]:
    """``Author Year`` per key, with a/b suffixes where two studies share one (Glue 2020a);
    after ``z`` come ``aa``, ``ab``… (:func:`evidence.text.letters_suffix`)."""
    base_labels = {}
    columns = (studies[c].to_numpy(dtype=object, na_value=None) for c in _LABEL_COLUMNS)
    for key, author, year in zip(*columns, strict=True):
        text = " ".join(str(x) for x in (author, year) if x is not None)
        base_labels[key] = text or key
    counts = Counter(base_labels.values())
    seen: dict[str, int] = {}
    labels = {}
    for key, label in base_labels.items():
        if counts[label] > 1:
            seen[label] = seen.get(label, 0) + 1
            labels[key] = label + letters_suffix(seen[label])
        else:
            labels[key] = label
    return labels


# ------------------------------------------------------------------------------ selection


def _matches(series: pd.Series, wanted: str | None) -> pd.Series:
    if wanted is None:
        return pd.Series(True, index=series.index)
    text = series.astype("string")
    if wanted == NOT_STATED:
        return text.isna()
    return text.str.lower().eq(wanted.lower()).fillna(False)


def _arm_mask(frame: pd.DataFrame, arm: str) -> pd.Series:
    if arm == "all":
        return pd.Series(True, index=frame.index)
    if arm in ("intervention", "comparator"):
        return frame["role"].astype("string").eq(arm).fillna(False)
    return _matches(frame["arm"], arm) | _matches(frame["agent"], arm)


def select_rows(base: EvidenceBase, analysis: Analysis) -> Selection:
    """The rows ``analysis`` selects from ``base``, and the ones left out with the reason."""
    frame = analysis_table(base)
    chosen = frame[
        _arm_mask(frame, analysis.arm)
        & _matches(frame["domain"], analysis.domain)
        & _matches(frame["measure"], analysis.scale)
        & _matches(frame["response"], analysis.response)
    ]
    reasons = pd.Series("", index=chosen.index, dtype="string")
    if analysis.timepoint is not None:
        low, high = parse_window(analysis.timepoint)
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
    biased = _risk_of_bias_reasons(chosen, analysis)
    reasons = reasons.where(reasons.ne("") | biased.eq(""), biased)
    keep = reasons.eq("")
    candidates = chosen[keep].reset_index(drop=True)
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
    return Selection(candidates, excluded.reset_index(drop=True))


def mix_warnings(rows: pd.DataFrame) -> list[str]:
    """Warnings naming the studies when pooled ``rows`` differ in arm role, agent, response
    definition, rating scale or outcome domain."""
    return _mixed(
        rows,
        "rows",
        (
            ("role", "arm roles (intervention and comparator arms together)"),
            ("agent", "agents"),
            ("response", "response definitions"),
            ("measure", "rating scales"),
            ("domain", "outcome domains"),
        ),
    )


def _mixed(rows: pd.DataFrame, what: str, columns: tuple[tuple[str, str], ...]) -> list[str]:
    """One warning per column of ``columns`` (name, label) in which the pooled ``rows`` differ,
    naming the studies of each value."""
    out = []
    for column, label in columns:
        values = rows[column].astype("string").fillna(NOT_STATED)
        if values.nunique() > 1:
            groups = {
                value: ", ".join(dict.fromkeys(rows.loc[values == value, "key"]))
                for value in dict.fromkeys(values)
            }
            listed = "; ".join(f"{v!r}: {keys}" for v, keys in groups.items())
            out.append(f"pooling {what} with different {label}: {listed}")
    return out


# ------------------------------------------------------------------------------ dependence


def _preference(rows: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """Sort keys of one-per-study choice: scale rank, time distance, population rank, order."""
    scales = {s.lower(): i for i, s in enumerate(analysis.prefer_scales)}
    populations = {p.lower(): i for i, p in enumerate(analysis.prefer_populations)}
    measure = rows["measure"].astype("string").str.lower()
    scale_rank = [
        scales.get(m, len(scales)) if isinstance(m, str) else len(scales) + 1 for m in measure
    ]
    target = parse_timepoint(analysis.target_time) if analysis.target_time else None
    hours = rows["time_hours"].astype("Float64")
    if target is None:
        distance = [0.0] * len(rows)
    else:
        distance = [
            math.inf
            if pd.isna(h)
            else abs(math.log(h / target))
            if h > 0 and target > 0
            else abs(h - target)
            for h in hours
        ]
    population = rows["analysis"].astype("string").str.lower()
    pop_rank = [
        populations.get(p, len(populations)) if isinstance(p, str) else len(populations) + 1
        for p in population
    ]
    source = (
        [0 if s == "arms" else 1 for s in rows["source"]]
        if "source" in rows.columns
        else [0] * len(rows)
    )
    return pd.DataFrame(
        {
            "source": source,
            "scale": scale_rank,
            "time": distance,
            "population": pop_rank,
            "order": range(len(rows)),
        },
        index=rows.index,
    )


def _why_kept(kept: Mapping[str, Any], other: Mapping[str, Any], analysis: Analysis) -> str:
    """Why the kept row won over ``other`` (the first difference in the preference order)."""
    if kept["_source"] != other["_source"]:
        return "a comparison computed from the arms' data is preferred to a reported result"
    if kept["_scale"] != other["_scale"]:
        return f"scale {_shown(kept['measure'])} is preferred to {_shown(other['measure'])}"
    if kept["_time"] != other["_time"]:
        return (
            f"timepoint {_shown(kept['time'])} is nearer {analysis.target_time} than "
            f"{_shown(other['time'])}"
        )
    if kept["_population"] != other["_population"]:
        return f"population {_shown(kept['analysis'])} is preferred to {_shown(other['analysis'])}"
    return "an earlier row is kept (file order)"


def _shown(value: Any) -> str:
    return NOT_STATED if value is None or value is pd.NA or value != value else str(value)


def apply_dependence(
    candidates: pd.DataFrame, analysis: Analysis
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Apply ``analysis.dependence`` to the candidate rows.

    Returns the rows to fit (all candidates, or one per study arm under ``one-per-study``),
    the decisions (one row per candidate: :data:`_DECISION_COLUMNS`) and warnings. A study
    arm is a (citation key, arm) pair: different arms are different participants, so they
    are never combined. For comparisons, ``arm`` holds the comparison (``drug vs placebo``):
    one result per comparison is kept.
    """
    unit = "comparison" if "source" in candidates.columns else "study arm"
    decisions = candidates[["key", "row", "arm", "domain", "measure", "time"]].copy()
    decisions["action"] = "used"
    decisions["reason"] = ""
    warnings: list[str] = []
    sizes = candidates.groupby(["key", "arm"], sort=False)["row"].transform("size")
    repeated = sizes.gt(1)
    policy = analysis.dependence
    if not repeated.any():
        return candidates, _decision_frame(decisions), warnings
    listed = ", ".join(
        f"{k} {a} ({n} rows)"
        for (k, a), n in candidates[repeated].groupby(["key", "arm"], sort=False).size().items()
    )
    if policy == "none":
        decisions.loc[repeated, "reason"] = "pooled as independent (dependence = 'none')"
        warnings.append(
            f"some {unit}s contribute more than one row and are pooled as if independent "
            f"(dependence = 'none'), so their participants count more than once: {listed}"
        )
        return candidates, _decision_frame(decisions), warnings
    if policy in ("aggregate", "multilevel"):
        what = (
            f"combined with the arm's other rows (compound symmetry, rho = {analysis.rho:g})"
            if policy == "aggregate"
            else "modelled as a row within its study (multilevel model)"
        )
        decisions.loc[repeated, "action"] = "combined" if policy == "aggregate" else "used"
        decisions.loc[repeated, "reason"] = what
        return candidates, _decision_frame(decisions), warnings
    # one-per-study
    ranks = _preference(candidates, analysis)
    ranked = candidates.assign(
        _source=ranks["source"],
        _scale=ranks["scale"],
        _time=ranks["time"],
        _population=ranks["population"],
        _order=ranks["order"],
    )
    # one stable sort of every row by preference: within each (key, arm) the first row is
    # the preferred one (sorting each group on its own is the same order, one sort per group)
    ordered = ranked.sort_values(
        ["_source", "_scale", "_time", "_population", "_order"], kind="stable"
    )
    grouped = ordered.groupby(["key", "arm"], sort=False)
    keep_index = list(grouped.head(1).index)
    several = ordered[grouped["row"].transform("size").gt(1)]
    # each arm's rows in preference order, read as plain records (a pandas row per access
    # costs about a millisecond: seconds at 10,000 entries)
    groups: dict[tuple[Any, Any], list[tuple[Any, dict[str, Any]]]] = {}
    for index, row in zip(several.index, several.to_dict("records"), strict=True):
        groups.setdefault((row["key"], row["arm"]), []).append((index, row))
    dropped, reasons = [], []
    for (_, best), *others in groups.values():
        dropped += [index for index, _ in others]
        reasons.append(f"preferred row of its {unit}")
        reasons += [
            f"one row per {unit}: row {best['row']} is used ({_why_kept(best, row, analysis)})"
            for _, row in others
        ]
    decisions.loc[dropped, "action"] = "dropped"
    decisions.loc[[i for rows in groups.values() for i, _ in rows], "reason"] = reasons
    kept = candidates.loc[sorted(keep_index)]
    return kept.reset_index(drop=True), _decision_frame(decisions), warnings


def _decision_frame(decisions: pd.DataFrame) -> pd.DataFrame:
    out = decisions[_DECISION_COLUMNS].reset_index(drop=True)
    return out.astype({"action": "string", "reason": "string"})


# ------------------------------------------------------------------------------ fitting


def _labels(rows: pd.DataFrame) -> list[str]:
    return [f"{s} · {a}" for s, a in zip(rows["study"], rows["arm"], strict=True)]


def _measure(analysis: Analysis) -> str:
    """The measure of ``yi`` in ``analysis``: the proportions' transformation or the effect."""
    return analysis.measure if analysis.effect == "proportion" else analysis.effect


def _sizes(rows: pd.DataFrame) -> tuple[np.ndarray, int | None]:
    """Participants per unit (for the PFT back-transform) and in all (``n_total``)."""
    if "n_c" in rows.columns:
        n = rows["n_i"].astype("Float64").fillna(0) + rows["n_c"].astype("Float64").fillna(0)
    else:
        n = rows["n"].astype("Float64").fillna(0)
    sizes = n.to_numpy(dtype=float)
    total = float(sizes.sum())
    return np.where(sizes > 0, sizes, 1.0), (round(total) if total > 0 else None)


def unit_values(rows: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """Each unit's ``yi`` and ``vi`` on the analysis scale (metafor ``escalc`` defaults): the
    transformed proportion of a row, or the effect of a comparison."""
    if analysis.effect != "proportion":
        return _effect_values(rows, analysis)[["yi", "vi"]]
    from evidence.stats import escalc

    yi, vi = escalc(
        rows["responders"].astype(int).to_numpy(),
        rows["n"].astype(int).to_numpy(),
        analysis.measure,
    )
    return pd.DataFrame({"yi": yi, "vi": vi}, index=rows.index)


def _aggregate(candidates: pd.DataFrame, analysis: Analysis, rho: float) -> pd.DataFrame:
    """One row per study arm (or comparison): its rows combined (metafor ``aggregate()``,
    compound symmetry with correlation ``rho``), carrying ``yi``, ``vi`` and the largest n."""
    from evidence.multilevel import aggregate_effects

    if not len(candidates):
        return candidates.assign(yi=pd.Series(dtype=float), vi=pd.Series(dtype=float))
    values = unit_values(candidates, analysis)
    cluster = (candidates["key"].astype(str) + "\x1f" + candidates["arm"].astype(str)).tolist()
    combined = aggregate_effects(values["yi"].to_numpy(), values["vi"].to_numpy(), cluster, rho=rho)
    first = candidates.assign(_cluster=cluster).drop_duplicates("_cluster").set_index("_cluster")
    out = first.loc[combined["study"]].reset_index(drop=True)
    out["yi"] = combined["yi"].to_numpy()
    out["vi"] = combined["vi"].to_numpy()
    out["combined"] = combined["n_rows"].to_numpy()
    groups = candidates.assign(_cluster=cluster).groupby("_cluster", sort=False)
    for column in ("n", "n_i", "n_c"):
        if column in candidates.columns:
            largest = groups[column].max()
            out[column] = largest.loc[combined["study"]].to_numpy()
    if "responders" in out.columns:
        out.loc[out["combined"] > 1, "responders"] = pd.NA
    return out


def _fitter(analysis: Analysis) -> Callable[[pd.DataFrame], PooledResult]:
    """The function that pools a set of units (rows or comparisons) the way ``analysis``
    says: by its model for one row per unit (or every row, as independent), from the
    combined ``yi``/``vi`` under ``aggregate``, by a three-level model under ``multilevel``."""
    from evidence.stats import pool_effects

    comparative = analysis.effect != "proportion"

    def fit(rows: pd.DataFrame) -> PooledResult:
        labels = _comparison_labels(rows) if comparative else _labels(rows)
        sizes, total = _sizes(rows)
        if analysis.dependence == "aggregate":
            return pool_effects(
                rows["yi"].to_numpy(dtype=float),
                rows["vi"].to_numpy(dtype=float),
                measure=_measure(analysis),
                method=analysis.method,
                test=analysis.test,
                level=analysis.level,
                labels=labels,
                n_total=total,
                ni=sizes,
            )
        if analysis.dependence == "multilevel":
            from evidence.multilevel import as_pooled, pool_multilevel

            values = unit_values(rows, analysis)
            res = pool_multilevel(
                values["yi"].to_numpy(),
                values["vi"].to_numpy(),
                rows["key"].astype(str).tolist(),
                method=analysis.method,
                test=analysis.test,
                level=analysis.level,
                robust=analysis.robust or False,
                labels=labels,
            )
            return as_pooled(res, _measure(analysis), n_total=total, ni=sizes)
        if comparative:
            return _comparison_fitter(analysis)(rows)
        return pool_proportions(
            rows["responders"].astype(int).to_numpy(),
            rows["n"].astype(int).to_numpy(),
            analysis.measure,
            analysis.method,
            analysis.test,
            analysis.level,
            labels,
        )

    return fit


def _sensitivity(candidates: pd.DataFrame, analysis: Analysis) -> pd.DataFrame | None:
    """Under ``aggregate``: the pooled estimate for correlations 0, 0.5, 0.8 (and the
    analysis's own)."""
    if analysis.dependence != "aggregate" or not len(candidates):
        return None
    fit = _fitter(analysis)
    rows = []
    for rho in sorted({0.0, 0.5, 0.8, analysis.rho}):
        try:
            res = fit(_aggregate(candidates, analysis, rho))
        except ValueError as exc:
            rows.append({"rho": rho, "note": str(exc)})
            continue
        rows.append(
            {
                "rho": rho,
                "estimate": res.estimate,
                "ci_low": res.ci_low,
                "ci_high": res.ci_high,
                "tau2": res.tau2,
                "i2": res.i2,
                "note": "",
            }
        )
    columns = ["rho", "estimate", "ci_low", "ci_high", "tau2", "i2", "note"]
    return pd.DataFrame(rows, columns=columns)


def _subgroup_fits(
    rows: pd.DataFrame, analysis: Analysis, fit: Callable[[pd.DataFrame], PooledResult]
) -> tuple[dict[str, PooledResult], SubgroupResult | None, str]:
    by = analysis.by
    assert by is not None
    groups = rows[by].astype("string").fillna("(missing)").tolist()
    fits = {}
    failed = []
    for group in dict.fromkeys(groups):
        part = rows[[g == group for g in groups]]
        try:
            fits[group] = fit(part)
        except ValueError as exc:
            failed.append(f"{group}: not fitted ({exc})")
    if failed:
        return fits, None, "no test for subgroup differences; " + "; ".join(failed)
    if len(fits) < 2:
        return fits, None, f"no test for subgroup differences: only one {by} group"
    if analysis.method == "GLMM" or analysis.dependence not in ("one-per-study", "none"):
        return fits, None, "no moderator test for this model; see the separate group fits"
    try:
        sub = _subgroups(
            rows["responders"].astype(int).to_numpy(),
            rows["n"].astype(int).to_numpy(),
            groups,
            analysis.measure,
            analysis.method,
            analysis.test,
            analysis.level,
            _labels(rows),
        )
    except ValueError as exc:
        return fits, None, f"no test for subgroup differences: {exc}"
    return fits, sub, ""


def run_analysis(base: EvidenceBase, analysis: Analysis) -> PoolReport:
    """Run ``analysis`` on ``base``: select, apply the dependence policy, fit.

    Raises
    ------
    ValueError
        For statistical arguments the statistics refuse (naming the argument).
    """
    if analysis.effect != "proportion":
        return _run_comparison(base, analysis)
    selection = select_rows(base, analysis)
    rows = selection.candidates
    pooled, decisions, dep_warnings = apply_dependence(rows, analysis)
    warnings = [*mix_warnings(pooled), *dep_warnings]
    pooled, overall, group_fits, subgroups, note = _fit(pooled, analysis, _subgroup_fits, warnings)
    return PoolReport(
        analysis,
        selection,
        decisions,
        pooled,
        _per_study(pooled, overall, analysis),
        overall,
        group_fits,
        subgroups,
        note,
        _sensitivity(rows, analysis),
        tuple(warnings),
    )


_SubgroupFits = Callable[
    [pd.DataFrame, Analysis, Callable[[pd.DataFrame], PooledResult]],
    tuple[dict[str, PooledResult], SubgroupResult | None, str],
]


def _fit(
    pooled: pd.DataFrame, analysis: Analysis, subgroup_fits: _SubgroupFits, warnings: list[str]
) -> tuple[
    pd.DataFrame,
    PooledResult | None,
    dict[str, PooledResult] | None,
    SubgroupResult | None,
    str,
]:
    """The fits of an analysis, of rates or of comparisons: the units combined first under
    ``aggregate``, then the overall fit (why it failed appended to ``warnings``) and, with a
    subgroup column, ``subgroup_fits``. Returns the units fitted, the overall fit, the fit per
    subgroup, the subgroup test and a note on it."""
    if analysis.dependence == "aggregate":
        pooled = _aggregate(pooled, analysis, analysis.rho)
    fit = _fitter(analysis)
    overall, failure = _overall(pooled, fit)
    if failure:
        warnings.append(failure)
    if overall is None or analysis.by is None:
        return pooled, overall, None, None, ""
    group_fits, subgroups, note = subgroup_fits(pooled, analysis, fit)
    return pooled, overall, group_fits, subgroups, note


def _overall(
    pooled: pd.DataFrame, fit: Callable[[pd.DataFrame], PooledResult]
) -> tuple[PooledResult | None, str]:
    """The overall fit, or ``None`` and why the model could not be fitted (too few studies
    for it, no separately identifiable variance components…)."""
    if not len(pooled):
        return None, ""
    try:
        return fit(pooled), ""
    except ValueError as exc:
        return None, f"the model could not be fitted: {exc}"


def pool_evidence(
    base: EvidenceBase, analysis: Analysis | str | None = None, **changes: Any
) -> PoolReport:
    """Run an analysis of ``base``: ``analysis`` itself, the protocol's analysis of that name,
    or (``None``) the first headline analysis in force, with ``changes`` applied
    (:meth:`Analysis.replace`: ``by="route"``, ``method="DL"``, …).
    """
    if isinstance(analysis, Analysis):
        chosen = analysis
    elif isinstance(analysis, str):
        chosen = base.protocol.analysis(analysis)
    else:
        chosen = headline_analyses(base)[0]
    if changes:  # checked as the protocol's own analyses are (a typo would pool nothing)
        chosen = chosen.replace(**changes)
        for setting, detail, allowed in undeclared_settings(base.protocol, chosen):
            if setting in changes:
                raise AnalysisError(chosen.name, setting, detail, allowed)
    return run_analysis(base, chosen)


def analyses_in_force(base: EvidenceBase) -> tuple[Analysis, ...]:
    """The protocol's analyses, or its documented defaults for ``base``'s data."""
    domains = [
        row.values.get("domain")
        for rec in base.records
        for row in rec.outcomes
        if row.values.get("responders") is not None and row.values.get("n")
    ]
    return base.protocol.analyses_for(domains) or (
        Analysis(name="all", title="Response rate", headline=True),
    )


def headline_analyses(base: EvidenceBase) -> tuple[Analysis, ...]:
    """The headline analyses in force (the first analysis if none is marked headline)."""
    analyses = analyses_in_force(base)
    return tuple(a for a in analyses if a.headline) or analyses[:1]


#: Columns of :func:`risk_of_bias_sensitivity`.
SENSITIVITY_COLUMNS = ("analysis", "sensitivity", "k", "n_total", "estimate", "ci_low", "ci_high")


def risk_of_bias_sensitivity(
    base: EvidenceBase, reports: list[PoolReport] | tuple[PoolReport, ...]
) -> pd.DataFrame:
    """Each analysis re-run on results at low risk of bias only (``risk_of_bias = "low"``):
    the sensitivity analysis of Cochrane Handbook 10.14.

    One row per report: ``analysis``, ``sensitivity`` (``low risk of bias only``), ``k``,
    ``n_total``, ``estimate``, ``ci_low``, ``ci_high`` (empty when nothing could be pooled)
    and ``note``: how many of the units pooled by the analysis are at low risk, or why there
    is no estimate (every pooled study named with its judgement). A report already restricted
    to low risk is shown as it is.
    """
    rows = []
    for report in reports:
        analysis = report.analysis
        low = report if analysis.risk_of_bias == "low" else _low_risk_run(base, analysis)
        fit = low.overall
        total = len(report.pooled)
        unit = "row" if analysis.effect == "proportion" else "comparison"
        kept = len(low.pooled)
        if fit is not None:
            note = f"{kept} of the {total} {unit}s pooled by the analysis are at low risk of bias"
        elif total == 0:
            note = "no estimate: the analysis itself pools nothing"
        else:
            n_keys = report.pooled["key"].nunique()
            which = "the one study" if n_keys == 1 else f"none of the {n_keys} studies"
            verb = "is not" if n_keys == 1 else "is"
            note = (
                f"no estimate: {which} pooled by the analysis {verb} at low risk of bias "
                f"({_low_risk_reasons(report.pooled)})"
            )
            if kept:
                note = f"no estimate: the model could not be fitted to the {kept} {unit}s kept"
        rows.append(
            {
                "analysis": analysis.name,
                "sensitivity": "low risk of bias only",
                "k": fit.k if fit is not None else 0,
                "n_total": fit.n_total if fit is not None else None,
                "estimate": fit.estimate if fit is not None else None,
                "ci_low": fit.ci_low if fit is not None else None,
                "ci_high": fit.ci_high if fit is not None else None,
                "note": note,
            }
        )
    frame = pd.DataFrame(rows, columns=[*SENSITIVITY_COLUMNS, "note"])
    return frame.astype(
        {"k": "Int64", "n_total": "Int64", "estimate": "Float64", "ci_low": "Float64"}
        | {"ci_high": "Float64", "note": "string"}
    )


# The low-risk re-runs of each base, kept while the base lives: a build shows them twice (the
# workbook's Pooled sheet and the report), and they are read, never changed.
_LOW_RISK: weakref.WeakKeyDictionary[EvidenceBase, dict[Analysis, PoolReport]] = (
    weakref.WeakKeyDictionary()
)


def _low_risk_run(base: EvidenceBase, analysis: Analysis) -> PoolReport:
    runs = _LOW_RISK.setdefault(base, {})
    low = analysis.replace(risk_of_bias="low")
    if low not in runs:
        runs[low] = run_analysis(base, low)
    return runs[low]


def _low_risk_reasons(pooled: pd.DataFrame) -> str:
    """``key: judgement`` for each study among the ``pooled`` units (its results' overall
    risk of bias, or why it has none), in order."""
    out: dict[str, list[str]] = {}
    levels = pooled["rob_overall"].astype("string").fillna("")
    tools = pooled["rob_tool"].astype("string").fillna("")
    for key, level, tool in zip(pooled["key"], levels, tools, strict=True):
        text = _risk_of_bias_text(level, tool)
        if text not in out.setdefault(key, []):
            out[key].append(text)
    return "; ".join(f"{key}: {', '.join(texts)}" for key, texts in out.items())


def leave_one_out_table(report: PoolReport) -> pd.DataFrame:
    """The pooled result with each pooled unit left out in turn (metafor's ``leave1out``).

    Raises
    ------
    ValueError
        With fewer than two pooled units.
    """
    rows, fit = report.pooled, report.overall
    if fit is None or len(rows) < 2:
        raise ValueError(f"leave-one-out needs at least 2 pooled rows; got {len(rows)}")
    refit = _fitter(report.analysis)
    if report.comparative:
        labels = _comparison_labels(rows)
    else:
        labels = [
            f"{s} · {a} · {d}"
            for s, a, d in zip(
                rows["study"], rows["arm"], rows["domain"].astype("string").fillna(""), strict=True
            )
        ]
    out = []
    for i in range(len(rows)):
        res = refit(rows.drop(index=rows.index[i]))
        row: dict[str, Any] = {"omitted": labels[i]}
        row.update({k: (math.nan if v is None else v) for k, v in res.to_dict().items()})
        out.append(row)
    columns = [
        "omitted",
        "k",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "estimate_t",
        "se",
        "ci_low_t",
        "ci_high_t",
        "pi_low_t",
        "pi_high_t",
        "stat",
        "df",
        "pvalue",
        "q",
        "q_df",
        "q_pvalue",
        "tau2",
        "i2",
        "h2",
        "warnings",
    ]
    return pd.DataFrame(out)[columns]


def _per_study(
    rows: pd.DataFrame, overall: PooledResult | None, analysis: Analysis
) -> pd.DataFrame:
    columns = ["key", "study", "arm", "domain", "measure", "time", "responders", "n"]
    frame = rows[columns].copy()
    if len(rows) and "yi" in rows.columns:  # combined rows (aggregate): their own interval
        from scipy import stats as sps

        from evidence.stats import _bt

        z = float(sps.norm.isf((1 - analysis.level) / 2))
        yi = rows["yi"].to_numpy(dtype=float)
        half = z * np.sqrt(rows["vi"].to_numpy(dtype=float))
        ni = rows["n"].to_numpy(dtype=float)
        bt = [
            [_bt(float(v), analysis.measure, ni[i : i + 1]) for i, v in enumerate(values)]
            for values in (yi, yi - half, yi + half)
        ]
        frame["rate"], frame["ci_low"], frame["ci_high"] = bt
        frame["combined"] = rows["combined"].to_numpy()
    elif len(rows):
        ci = proportion_ci(
            rows["responders"].astype(int).to_numpy(),
            rows["n"].astype(int).to_numpy(),
            method=analysis.ci_method,
            level=analysis.level,
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


# ------------------------------------------------------------------------------ comparisons

_BINARY = ("RR", "OR", "RD")
#: Kind of data each effect measure is computed from.
_ARM_EFFECTS = {
    **{m: "binary" for m in ("RR", "OR", "RD")},
    **{m: "continuous" for m in ("MD", "SMD", "SMDH", "ROM")},
}


def comparison_table(base: EvidenceBase) -> pd.DataFrame:
    """The contrasts table with the study context and labels joined on, one row per
    comparison; ``arm`` is the comparison's label and ``row`` the outcome rows it pairs.
    Columns :data:`evidence.columns.COMPARISON_COLUMNS`."""
    context = base.studies[["key", *STUDY_CONTEXT]].drop(columns=["design", "rob_overall"])
    frame = base.contrasts.merge(context, on="key", how="left", validate="many_to_one")
    frame["study"] = frame["key"].map(_study_labels(base.studies)).astype("string")
    frame["arm"] = frame["contrast"]
    frame["row"] = frame["rows"]
    frame["direction"] = pd.array(
        [base.protocol.direction(m) if isinstance(m, str) else None for m in frame["measure"]],
        dtype="string",
    )
    frame["flip"] = False
    return frame


def _side_mask(frame: pd.DataFrame, wanted: str, side: str) -> pd.Series:
    if wanted == side or wanted == "all":
        return pd.Series(True, index=frame.index)
    return _matches(frame[side], wanted) | _matches(frame[f"{side}_agent"], wanted)


def _pct_pair(a: Any, b: Any) -> str:
    return " vs ".join("–" if pd.isna(x) else f"{x:g}%" for x in (a, b))


def select_comparisons(base: EvidenceBase, analysis: Analysis) -> tuple[Selection, pd.DataFrame]:
    """The comparisons ``analysis`` selects, the ones left out (with the reason), and the
    reviews' results shown beside (never pooled)."""
    frame = comparison_table(base)
    chosen = frame[
        _side_mask(frame, analysis.arm, "intervention")
        & _side_mask(frame, analysis.comparator, "comparator")
        & _matches(frame["domain"], analysis.domain)
        & _matches(frame["measure"], analysis.scale)
        & _matches(frame["response"], analysis.response)
    ]
    if analysis.timepoint is not None:
        low, high = parse_window(analysis.timepoint)
    effect = analysis.effect
    kind = _ARM_EFFECTS.get(effect)
    reasons = pd.Series("", index=chosen.index, dtype="string")
    for i, row in chosen.iterrows():
        if row["type"] == "reported":
            if row["effect"] != effect:
                reasons[i] = f"a reported {row['effect']} (the analysis pools {effect})"
            elif row["level"] == "review":
                reasons[i] = (
                    "a review's pooled result: shown beside the primary studies, never pooled "
                    "with them (its trials would count twice)"
                )
            elif pd.isna(row["ci_low"]) and pd.isna(row["se"]) and pd.isna(row["p"]):
                reasons[i] = "no CI, SE or p-value to weigh it"
        elif kind is None:
            reasons[i] = f"{row['type']} arm data ({effect} comes from reported results only)"
        elif row["type"] != kind:
            reasons[i] = f"{row['type']} data (the analysis pools {effect}, from {kind} data)"
        elif kind == "binary" and (
            pd.isna(row["events_i"])
            or pd.isna(row["events_c"])
            or pd.isna(row["n_i"])
            or pd.isna(row["n_c"])
        ):
            shown = _pct_pair(row["percent_i"], row["percent_c"])
            reasons[i] = f"no responder counts (only {shown} reported)"
        elif kind == "continuous" and (
            pd.isna(row["mean_i"])
            or pd.isna(row["sd_i"])
            or pd.isna(row["mean_c"])
            or pd.isna(row["sd_c"])
            or pd.isna(row["n_i"])
            or pd.isna(row["n_c"])
        ):
            reasons[i] = "no mean, SD and n in both arms"
        if not reasons[i] and analysis.timepoint is not None:
            hours = row["time_hours"]
            if pd.isna(hours):
                reasons[i] = "no timepoint (a timepoint window was asked for)"
            elif not low <= hours <= high:
                reasons[i] = "outside the timepoint window"
    biased = _risk_of_bias_reasons(chosen, analysis)
    reasons = reasons.where(reasons.ne("") | biased.eq(""), biased)
    keep = reasons.eq("")
    review = chosen["level"].eq("review") & chosen["effect"].astype("string").eq(effect).fillna(
        False
    )
    beside = chosen[review.fillna(False)].reset_index(drop=True)
    candidates = chosen[keep].reset_index(drop=True)
    columns = ["key", "row", "arm", "measure", "reason"]
    excluded = chosen[~keep].assign(reason=reasons[~keep])[columns]
    with_comparison = set(frame["key"])
    without = base.studies[~base.studies["key"].isin(with_comparison)]
    if len(without):
        design = without["design"].astype("string").fillna("plain reference")
        extra = pd.DataFrame(
            {
                "key": without["key"],
                "row": pd.array([pd.NA] * len(without), dtype="string"),
                "arm": pd.array([pd.NA] * len(without), dtype="string"),
                "measure": pd.array([pd.NA] * len(without), dtype="string"),
                "reason": ("no comparison recorded (" + design + ")").astype("string"),
            }
        )
        excluded = pd.concat([excluded.astype({"measure": "string"}), extra], ignore_index=True)
    return Selection(candidates, excluded.reset_index(drop=True)), beside


def _multi_arm(
    pooled: pd.DataFrame, decisions: pd.DataFrame, analysis: Analysis
) -> tuple[pd.DataFrame, list[str]]:
    """A comparator shared by several kept comparisons of one study: split its participants
    between them, or combine the intervention arms (Cochrane Handbook 23.3.4)."""
    warnings: list[str] = []
    arms = pooled[pooled["source"].eq("arms")]
    shared = arms.groupby(["key", "comparator", "domain", "measure", "time"], dropna=False)
    counts = ["events_i", "n_i", "events_c", "n_c", "mean_i", "sd_i"]
    out = pooled.astype({c: "Float64" for c in counts})  # a split count need not be whole
    drop: list[int] = []
    for _, group in shared:
        if len(group) < 2:
            continue
        k = len(group)
        names = ", ".join(group["intervention"])
        study = group["key"].iloc[0]
        if analysis.multi_arm == "split":
            for i in group.index:
                if group.at[i, "type"] == "binary":
                    out.at[i, "events_c"] = group.at[i, "events_c"] / k
                out.at[i, "n_c"] = group.at[i, "n_c"] / k
            warnings.append(
                f"{study}: the comparator {group['comparator'].iloc[0]} is shared by {k} "
                f"comparisons ({names}); its participants are split between them (Cochrane "
                "Handbook 23.3.4)"
            )
            continue
        first = group.index[0]
        if group.at[first, "type"] == "binary":
            out.at[first, "events_i"] = group["events_i"].sum()
            out.at[first, "n_i"] = group["n_i"].sum()
        else:
            n = group["n_i"].astype(float).to_numpy()
            m = group["mean_i"].astype(float).to_numpy()
            sd = group["sd_i"].astype(float).to_numpy()
            n1, m1, s1 = n[0], m[0], sd[0]
            for n2, m2, s2 in zip(n[1:], m[1:], sd[1:], strict=True):
                # Cochrane Handbook Table 6.5.a: combining two groups
                total = n1 + n2
                mean = (n1 * m1 + n2 * m2) / total
                var = ((n1 - 1) * s1**2 + (n2 - 1) * s2**2 + n1 * n2 / total * (m1 - m2) ** 2) / (
                    total - 1
                )
                n1, m1, s1 = total, mean, math.sqrt(var)
            out.at[first, "n_i"], out.at[first, "mean_i"], out.at[first, "sd_i"] = n1, m1, s1
        combined = " + ".join(group["intervention"])
        out.at[first, "intervention"] = combined
        out.at[first, "arm"] = f"{combined} vs {group.at[first, 'comparator']}"
        drop.extend(group.index[1:])
        for i in group.index:
            match = decisions["key"].eq(study) & decisions["row"].eq(group.at[i, "row"])
            decisions.loc[match, "action"] = "combined"
            decisions.loc[match, "reason"] = (
                f"intervention arms {names} combined against their shared comparator "
                "(Cochrane Handbook 23.3.4)"
            )
        warnings.append(
            f"{study}: intervention arms {names} share one comparator and are combined (Cochrane "
            "Handbook 23.3.4)"
        )
    return out.drop(index=drop).reset_index(drop=True), warnings


def _effect_values(rows: pd.DataFrame, analysis: Analysis) -> pd.DataFrame:
    """Each comparison's ``yi``, ``vi`` (analysis scale, metafor ``escalc`` defaults) and its
    estimate and CI on the natural scale."""
    from scipy import stats as sps

    from evidence.effects import effect_from_ci, effect_sizes
    from evidence.measures import RATIO_MEASURES

    effect = analysis.effect
    z = float(sps.norm.isf((1 - analysis.level) / 2))
    yi = pd.Series(math.nan, index=rows.index, dtype=float)
    vi = pd.Series(math.nan, index=rows.index, dtype=float)
    arms = rows[rows["source"].eq("arms")]
    if len(arms):
        f = lambda c: arms[c].astype(float).to_numpy()  # noqa: E731
        if _ARM_EFFECTS[effect] == "binary":
            es = effect_sizes(
                effect, ai=f("events_i"), n1i=f("n_i"), ci=f("events_c"), n2i=f("n_c")
            )
        else:
            es = effect_sizes(
                effect,
                m1i=f("mean_i"),
                sd1i=f("sd_i"),
                n1i=f("n_i"),
                m2i=f("mean_c"),
                sd2i=f("sd_c"),
                n2i=f("n_c"),
            )
        yi[arms.index] = es["yi"].to_numpy()
        vi[arms.index] = es["vi"].to_numpy()
    ratio = effect in RATIO_MEASURES
    for i, row in rows[rows["source"].eq("reported")].iterrows():
        estimate = float(row["estimate"])
        if not pd.isna(row["ci_low"]):
            level = float(row["ci_level"]) / 100 if not pd.isna(row["ci_level"]) else 0.95
            got = effect_from_ci(
                [estimate],
                [float(row["ci_low"])],
                [float(row["ci_high"])],
                measure=effect,
                level=level,
                labels=[row["key"]],
            )
            yi[i], vi[i] = float(got["yi"].iloc[0]), float(got["vi"].iloc[0])
        else:
            y = math.log(estimate) if ratio else estimate
            if not pd.isna(row["se"]):
                se = float(row["se"])
            else:  # from the p-value (Altman & Bland 2011): z = Phi^-1(1 - p/2), se = |y| / z
                se = abs(y) / float(sps.norm.isf(float(row["p"]) / 2))
            yi[i], vi[i] = y, se**2
    if "flip" in rows.columns:
        yi[rows["flip"].to_numpy(dtype=bool)] *= -1
    back = (lambda t: math.exp(t)) if ratio else (lambda t: t)
    half = z * vi.pow(0.5)
    return pd.DataFrame(
        {
            "yi": yi,
            "vi": vi,
            "estimate": [back(y) for y in yi],
            "ci_low": [back(y) for y in yi - half],
            "ci_high": [back(y) for y in yi + half],
        },
        index=rows.index,
    )


def _comparison_labels(rows: pd.DataFrame) -> list[str]:
    return [f"{s} · {a}" for s, a in zip(rows["study"], rows["arm"], strict=True)]


def _participants(rows: pd.DataFrame) -> int | None:
    n = rows["n_i"].astype("Float64").fillna(0) + rows["n_c"].astype("Float64").fillna(0)
    total = float(n.sum())
    return round(total) if total > 0 else None


def _comparison_fitter(analysis: Analysis) -> Callable[[pd.DataFrame], PooledResult]:
    """The function that pools a set of comparisons the way ``analysis`` says."""
    from evidence.mantelhaenszel import pool_mantel_haenszel, pool_peto
    from evidence.stats import pool_effects

    def fit(rows: pd.DataFrame) -> PooledResult:
        labels = _comparison_labels(rows)
        if analysis.model == "inverse-variance":
            values = _effect_values(rows, analysis)
            return pool_effects(
                values["yi"].to_numpy(),
                values["vi"].to_numpy(),
                measure=analysis.effect,
                method=analysis.method,
                test=analysis.test,
                level=analysis.level,
                labels=labels,
                n_total=_participants(rows),
            )
        cells = {
            "ai": rows["events_i"].astype(float).to_numpy(),
            "bi": (rows["n_i"].astype(float) - rows["events_i"].astype(float)).to_numpy(),
            "ci": rows["events_c"].astype(float).to_numpy(),
            "di": (rows["n_c"].astype(float) - rows["events_c"].astype(float)).to_numpy(),
        }
        if analysis.model == "peto":
            return pool_peto(**cells, level=analysis.level, labels=labels)
        return pool_mantel_haenszel(
            **cells, measure=analysis.effect, level=analysis.level, labels=labels
        )

    return fit


def _between_groups(fits: dict[str, PooledResult]) -> tuple[float, int, float] | None:
    """Cochran's Q of the group estimates (the RevMan test for subgroup differences)."""
    from scipy import stats as sps

    est = [f.estimate_t for f in fits.values()]
    se = [f.se for f in fits.values()]
    if any(not (x > 0 and math.isfinite(x)) for x in se) or any(not math.isfinite(e) for e in est):
        return None
    w = [1 / x**2 for x in se]
    mean = sum(wi * e for wi, e in zip(w, est, strict=True)) / sum(w)
    q = sum(wi * (e - mean) ** 2 for wi, e in zip(w, est, strict=True))
    df = len(fits) - 1
    return q, df, float(sps.chi2.sf(q, df))


def _comparison_subgroups(
    rows: pd.DataFrame, analysis: Analysis, fit: Callable[[pd.DataFrame], PooledResult]
) -> tuple[dict[str, PooledResult], SubgroupResult | None, str]:
    from evidence.stats import subgroup_effects

    by = analysis.by
    assert by is not None
    groups = rows[by].astype("string").fillna("(missing)").tolist()
    fits: dict[str, PooledResult] = {}
    notes = []
    for group in dict.fromkeys(groups):
        part = rows[[g == group for g in groups]]
        try:
            fits[group] = fit(part)
        except ValueError as exc:
            notes.append(f"{group}: {exc}")
    if len(fits) < 2:
        return fits, None, f"no test for subgroup differences: only one {by} group"
    if analysis.model != "inverse-variance" or analysis.dependence not in ("one-per-study", "none"):
        between = _between_groups(fits)
        if between is None:
            return fits, None, "no test for subgroup differences: a group has no standard error"
        q, df, p = between
        return (
            fits,
            None,
            f"test for subgroup differences (Q of the group estimates): Q = {q:.4g} "
            f"(df = {df}, p = {p:.3g})",
        )
    values = _effect_values(rows, analysis)
    try:
        sub = subgroup_effects(
            values["yi"].to_numpy(),
            values["vi"].to_numpy(),
            groups,
            measure=analysis.effect,
            method=analysis.method,
            test=analysis.test,
            level=analysis.level,
            labels=_comparison_labels(rows),
        )
    except ValueError as exc:
        return fits, None, f"no test for subgroup differences: {exc}"
    return fits, sub, "; ".join(notes)


def _comparison_per_study(
    rows: pd.DataFrame, overall: PooledResult | None, analysis: Analysis
) -> pd.DataFrame:
    columns = ["key", "study", "arm", "domain", "measure", "time", "source"]
    frame = rows[columns].rename(columns={"arm": "comparison"}).copy()
    frame["data"] = [_data_text(row) for _, row in rows.iterrows()]
    if len(rows):
        values = _effect_values(rows, analysis)
        if "yi" in rows.columns:  # combined (aggregate): the combined effect and its interval
            from scipy import stats as sps

            from evidence.measures import RATIO_MEASURES

            z = float(sps.norm.isf((1 - analysis.level) / 2))
            yi, vi = rows["yi"].to_numpy(dtype=float), rows["vi"].to_numpy(dtype=float)
            back = np.exp if analysis.effect in RATIO_MEASURES else (lambda t: t)
            values = pd.DataFrame(
                {
                    "yi": yi,
                    "vi": vi,
                    "estimate": back(yi),
                    "ci_low": back(yi - z * np.sqrt(vi)),
                    "ci_high": back(yi + z * np.sqrt(vi)),
                },
                index=rows.index,
            )
        for name in ("estimate", "ci_low", "ci_high", "yi", "vi"):
            frame[name] = values[name].to_numpy()
    else:
        for name in ("estimate", "ci_low", "ci_high", "yi", "vi"):
            frame[name] = pd.Series(dtype="Float64")
    frame["weight"] = list(overall.weights) if overall is not None else [None] * len(frame)
    return frame.astype(
        {c: "Float64" for c in ("estimate", "ci_low", "ci_high", "yi", "vi", "weight")}
    )


def _number(x: Any) -> str:
    value = float(x)
    return f"{value:g}" if value == int(value) else f"{value:.1f}"


def _data_text(row: pd.Series) -> str:
    """The arms' data as a reader checks them: ``4/8 vs 0/7``, ``12.1 (3.2), n=20 vs …``."""
    if row["source"] == "reported":
        interval = (
            f" [{row['ci_low']:g}, {row['ci_high']:g}]"
            if not pd.isna(row["ci_low"])
            else (f", SE {row['se']:g}" if not pd.isna(row["se"]) else f", p = {row['p']:g}")
        )
        return f"reported {row['effect']} {row['estimate']:g}{interval}"
    if row["type"] == "binary":
        return (
            f"{_number(row['events_i'])}/{_number(row['n_i'])} vs "
            f"{_number(row['events_c'])}/{_number(row['n_c'])}"
        )
    return (
        f"{row['mean_i']:.3g} ({row['sd_i']:.3g}), n={_number(row['n_i'])} vs "
        f"{row['mean_c']:.3g} ({row['sd_c']:.3g}), n={_number(row['n_c'])}"
    )


def _run_comparison(base: EvidenceBase, analysis: Analysis) -> PoolReport:
    selection, beside = select_comparisons(base, analysis)
    rows = selection.candidates
    pooled, decisions, warnings = apply_dependence(rows, analysis)
    pooled, arm_warnings = _multi_arm(pooled, decisions, analysis)
    warnings = [*mix_warnings_comparisons(pooled), *warnings, *arm_warnings]
    directions = set(pooled["direction"].dropna()) if len(pooled) else set()
    flipped = analysis.effect not in _BINARY and directions == {
        "higher-is-worse",
        "higher-is-better",
    }
    if flipped:
        better = pooled["direction"].eq("higher-is-better").fillna(False)
        pooled = pooled.assign(flip=better.to_numpy())
        warnings.append(
            "the signs of results on higher-is-better scales were reversed so that every "
            "result points the same way, lower favouring the intervention (Cochrane Handbook "
            "6.5.1.2): " + ", ".join(dict.fromkeys(pooled.loc[better, "key"]))
        )
    crossover = pooled[pooled["crossover"].fillna(False)]
    if len(crossover):
        first = crossover["analysis"].astype("string").eq("first-phase").fillna(False)
        listed = ", ".join(
            dict.fromkeys(
                f"{k}" + (" (first-period data)" if f else "")
                for k, f in zip(crossover["key"], first, strict=True)
            )
        )
        warnings.append(
            "crossover trials analysed as parallel groups, without paired data (Cochrane "
            f"Handbook 23.2.6): {listed}"
        )
    pooled, overall, group_fits, subgroups, note = _fit(
        pooled, analysis, _comparison_subgroups, warnings
    )
    return PoolReport(
        analysis,
        selection,
        decisions,
        pooled,
        _comparison_per_study(pooled, overall, analysis),
        overall,
        group_fits,
        subgroups,
        note,
        _sensitivity(rows, analysis),
        tuple(warnings),
        beside,
        flipped,
    )


def mix_warnings_comparisons(rows: pd.DataFrame) -> list[str]:
    """Warnings naming the studies when pooled comparisons differ in comparator agent,
    response definition, rating scale or outcome domain."""
    return _mixed(
        rows,
        "comparisons",
        (
            ("comparator_agent", "comparators"),
            ("response", "response definitions"),
            ("measure", "rating scales"),
            ("domain", "outcome domains"),
        ),
    )
