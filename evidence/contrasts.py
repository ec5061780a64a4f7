"""Comparisons within studies: the contrasts table (``base.contrasts``).

``evidence`` builds the comparisons from the arms already recorded, as metafor's ``escalc``
expects them, so an analyst never re-types arm data per comparison (RevMan makes them):

- **from arms**: within each study, the outcome rows that share an outcome definition
  (domain, rating scale, response definition, timepoint, analysis population, kind of data and
  score) are paired: each intervention arm with each comparator arm (arm roles come from the
  protocol's agents). A binary pair carries the events and totals of both arms; a continuous
  pair the mean, SD and n of both, the SD taken as printed, or from an SE (``sd = se·√n``) or
  a CI of the mean (Cochrane Handbook §6.5.2.2), and a median converted to a mean and SD (Luo
  et al. 2018; Wan et al. 2014), each marked (``sd_from_*``). A comparator shared by several
  intervention arms of one outcome (a multi-arm trial) is counted in ``shared_comparator``, so
  the analysis can split it or combine the arms;
- **reported**: every row of an entry's ``effects`` field (an OR with its CI, an MD with its
  SE…), on the study level, or on the review level when the entry is a review (a review's
  pooled result is shown beside the primary studies and never pooled with them).

One row per comparison, columns :data:`CONTRAST_COLUMNS`. ``rob_overall`` is the overall
risk-of-bias judgement of the comparison's result: for a pair of outcome rows, the judgement of
their results (an outcome row's own where it has one, else the study's; the more severe when
the two differ), for a reported result the study's; missing without a tool.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from evidence.columns import CONTRAST_COLUMNS
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.rob import LEVELS, TOOLS
from evidence.schema import REVIEW_DESIGNS
from evidence.validation import OutcomeRecord, StudyRecord

__all__ = ["CONTRAST_COLUMNS", "contrast_effects", "contrasts_table"]

_DEFINITION = ("domain", "measure", "response", "time_text", "analysis", "type", "score")


def _continuous_arm(v: dict[str, Any], label: str) -> tuple[float | None, float | None, str]:
    """Mean, SD and how the SD (and mean) were obtained, for one continuous arm row."""
    from evidence.effects import mean_sd_from_median, sd_from_ci, sd_from_se

    n = v.get("n")
    if v.get("mean") is not None:
        mean = float(v["mean"])
        if v.get("sd") is not None:
            return mean, float(v["sd"]), "reported"
        if n is None or n < 2:
            return mean, None, ""
        if v.get("se") is not None:
            return mean, float(sd_from_se([v["se"]], [n], labels=[label])[0]), "SE"
        if v.get("ci") is not None:
            level = (v.get("ci_level") or 95.0) / 100.0
            low, high = v["ci"]
            sd = float(sd_from_ci([low], [high], [n], level=level, labels=[label])[0])
            return mean, sd, f"{100 * level:g}% CI"
        return mean, None, ""
    if v.get("median") is not None and n is not None and n >= 2:
        frame = mean_sd_from_median(
            [v["median"]],
            [n],
            q1=[v.get("q1")] if v.get("q1") is not None else None,
            q3=[v.get("q3")] if v.get("q3") is not None else None,
            minimum=[v.get("min")] if v.get("min") is not None else None,
            maximum=[v.get("max")] if v.get("max") is not None else None,
            labels=[label],
        )
        row = frame.iloc[0]
        return (
            float(row["mean"]),
            float(row["sd"]),
            f"converted from the median (Luo 2018 / Wan 2014, {row['scenario']})",
        )
    return None, None, ""


def _arm_columns(v: dict[str, Any], suffix: str, label: str) -> dict[str, Any]:
    if v.get("type") == "continuous":
        mean, sd, how = _continuous_arm(v, label)
        return {
            f"mean_{suffix}": mean,
            f"sd_{suffix}": sd,
            f"sd_from_{suffix}": how or None,
            f"n_{suffix}": v.get("n"),
        }
    return {
        f"events_{suffix}": v.get("responders"),
        f"n_{suffix}": v.get("n"),
        f"percent_{suffix}": v.get("percent"),
    }


def _rob_levels(rec: StudyRecord) -> tuple[dict[int | None, str], tuple[str, ...]]:
    """Overall risk-of-bias judgement per result of ``rec`` (``None``: the study's) and its
    tool's levels, least to most severe (empty without a tool)."""
    results = {a.outcome_row: a.overall.level for a in rec.assessments()}
    tool = TOOLS.get(str(rec.values.get("rob_tool")))
    return results, tool.levels if tool is not None and results else ()


def _pair_level(results: dict[int | None, str], levels: tuple[str, ...], *rows: int) -> Any:
    """The overall judgement of a comparison of outcome ``rows``: theirs, the more severe
    (later in the tool's ``levels``, ``no information`` last) when they differ."""
    if not levels:
        return None
    found = [results.get(row, results.get(None)) for row in rows]
    return max((x for x in found if x is not None), key=levels.index, default=None)


def _arm_contrasts(rec: StudyRecord) -> Iterable[dict[str, Any]]:
    results, levels = _rob_levels(rec)
    groups: dict[tuple[Any, ...], list[tuple[int, OutcomeRecord]]] = {}
    for number, row in enumerate(rec.outcomes, start=1):
        v = row.values
        if "arm" not in v or v.get("role") is None or v.get("type") is None:
            continue
        definition = tuple(v.get(name) for name in _DEFINITION)
        groups.setdefault(definition, []).append((number, row))
    design = rec.values.get("design")
    for rows in groups.values():
        interventions = [(n, r) for n, r in rows if r.values["role"] == "intervention"]
        comparators = [(n, r) for n, r in rows if r.values["role"] == "comparator"]
        for cn, comparator in comparators:
            for i_n, intervention in interventions:
                iv, cv = intervention.values, comparator.values
                label = f"{rec.key} {iv['arm']}"
                out = {
                    "key": rec.key,
                    "contrast": f"{iv['arm']} vs {cv['arm']}",
                    "source": "arms",
                    "level": "study",
                    "type": iv["type"],
                    "intervention": iv["arm"],
                    "comparator": cv["arm"],
                    "intervention_agent": iv.get("agent"),
                    "comparator_agent": cv.get("agent"),
                    "domain": iv.get("domain"),
                    "measure": iv.get("measure"),
                    "response": iv.get("response"),
                    "time": iv.get("time_text"),
                    "time_hours": iv.get("time"),
                    "analysis": iv.get("analysis"),
                    "score": iv.get("score")
                    or ("endpoint" if iv["type"] == "continuous" else None),
                    "shared_comparator": len(interventions),
                    "crossover": design == "rct-crossover",
                    "design": design,
                    "rows": f"outcomes {i_n}+{cn}",
                    "rob_overall": _pair_level(results, levels, i_n, cn),
                    "line": intervention.line,
                }
                out.update(_arm_columns(iv, "i", label))
                out.update(_arm_columns(cv, "c", f"{rec.key} {cv['arm']}"))
                yield out


def _reported(rec: StudyRecord) -> Iterable[dict[str, Any]]:
    design = rec.values.get("design")
    level = "review" if design in REVIEW_DESIGNS else "study"
    results, _ = _rob_levels(rec)
    for number, row in enumerate(rec.effects, start=1):
        v = row.values
        if v.get("effect") is None or v.get("estimate") is None:
            continue
        ci = v.get("ci")
        intervention, comparator = v.get("intervention"), v.get("comparator")
        yield {
            "key": rec.key,
            "contrast": " vs ".join(x for x in (intervention, comparator) if x) or "(not stated)",
            "source": "reported",
            "level": level,
            "type": "reported",
            "intervention": intervention,
            "comparator": comparator,
            "intervention_agent": v.get("intervention_agent"),
            "comparator_agent": v.get("comparator_agent"),
            "domain": v.get("domain"),
            "measure": v.get("measure"),
            "condition": v.get("condition"),
            "time": v.get("time_text"),
            "time_hours": v.get("time"),
            "analysis": v.get("analysis"),
            "effect": v["effect"],
            "estimate": v["estimate"],
            "ci_low": ci[0] if ci else None,
            "ci_high": ci[1] if ci else None,
            "ci_level": v.get("ci_level") or (95.0 if ci else None),
            "se": v.get("se"),
            "p": v.get("p"),
            "k": v.get("k"),
            "n_i": v.get("n"),
            "shared_comparator": 1,
            "crossover": design == "rct-crossover",
            "design": design,
            "rows": f"effects {number}",
            "rob_overall": results.get(None),
            "line": row.line,
        }


_TYPES = {
    "time_hours": "Float64",
    "events_i": "Int64",
    "n_i": "Int64",
    "events_c": "Int64",
    "n_c": "Int64",
    "percent_i": "Float64",
    "percent_c": "Float64",
    "mean_i": "Float64",
    "sd_i": "Float64",
    "mean_c": "Float64",
    "sd_c": "Float64",
    "estimate": "Float64",
    "ci_low": "Float64",
    "ci_high": "Float64",
    "ci_level": "Float64",
    "se": "Float64",
    "p": "Float64",
    "k": "Int64",
    "shared_comparator": "Int64",
    "crossover": "boolean",
    "line": "Int64",
}


def contrasts_table(records: list[StudyRecord], protocol: Protocol = NO_PROTOCOL) -> pd.DataFrame:
    """One row per comparison in ``records``: arm pairs, then reported results, in file order.

    ``protocol`` gave the arms their roles when the records were checked; it is accepted
    for symmetry with the other table builders.
    """
    rows: list[dict[str, Any]] = []
    for rec in records:
        rows.extend(_arm_contrasts(rec))
        rows.extend(_reported(rec))
    frame = pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in CONTRAST_COLUMNS}
    types.update(_TYPES)
    types["rob_overall"] = pd.CategoricalDtype(list(LEVELS), ordered=False)
    frame = frame.astype(types)
    return frame


#: Effects computed for every comparison from arms (metafor ``escalc`` defaults).
ARM_EFFECTS = {"binary": ("RR", "OR", "RD"), "continuous": ("MD", "SMD")}


def contrast_effects(contrasts: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Each arm-based comparison's effects with their CIs, as metafor's ``escalc`` computes
    them with its defaults: ``RR``, ``OR``, ``RD`` for binary pairs, ``MD``, ``SMD`` (Hedges'
    g) for continuous ones (columns ``RR``, ``RR_low``, ``RR_high``, …; empty where the data
    are missing or the pair is of the other kind)."""
    from evidence.effects import effect_sizes

    columns = [
        f"{m}{suffix}"
        for ms in ARM_EFFECTS.values()
        for m in ms
        for suffix in ("", "_low", "_high")
    ]
    out = pd.DataFrame(index=contrasts.index, columns=columns, dtype="Float64")
    for kind, measures in ARM_EFFECTS.items():
        if kind == "binary":
            needed = ["events_i", "n_i", "events_c", "n_c"]
        else:
            needed = ["mean_i", "sd_i", "n_i", "mean_c", "sd_c", "n_c"]
        rows = contrasts[contrasts["type"].eq(kind).fillna(False)]
        rows = rows[rows[needed].notna().all(axis=1)]
        if rows.empty:
            continue
        data = {c: rows[c].astype(float).to_numpy() for c in needed}
        for measure in measures:
            if kind == "binary":
                es = effect_sizes(
                    measure,
                    ai=data["events_i"],
                    n1i=data["n_i"],
                    ci=data["events_c"],
                    n2i=data["n_c"],
                    level=level,
                )
            else:
                es = effect_sizes(
                    measure,
                    m1i=data["mean_i"],
                    sd1i=data["sd_i"],
                    n1i=data["n_i"],
                    m2i=data["mean_c"],
                    sd2i=data["sd_c"],
                    n2i=data["n_c"],
                    level=level,
                )
            out.loc[rows.index, measure] = es["estimate"].to_numpy()
            out.loc[rows.index, f"{measure}_low"] = es["ci_low"].to_numpy()
            out.loc[rows.index, f"{measure}_high"] = es["ci_high"].to_numpy()
    return out
