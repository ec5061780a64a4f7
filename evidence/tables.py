"""Typed records → the studies and outcomes tables (pandas DataFrames).

Column order is fixed and documented in the README: :data:`STUDY_COLUMNS` and
:data:`OUTCOME_COLUMNS` (declared in :mod:`evidence.columns`). Vocabularies are categoricals,
counts nullable integers, text ``string``; BibTeX values are LaTeX-decoded for display (only
those that contain LaTeX).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evidence.columns import OUTCOME_COLUMNS, STUDY_COLUMNS, STUDY_FIELD_COLUMNS
from evidence.latex import decode
from evidence.names import family_name, split_names
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.rob import LEVELS, OVERALL, TOOLS
from evidence.schema import dtype
from evidence.validation import StudyRecord

__all__ = [
    "OUTCOME_COLUMNS",
    "RISK_OF_BIAS_COLUMNS",
    "STUDY_COLUMNS",
    "outcome_risk_of_bias",
    "outcomes_table",
    "risk_of_bias_table",
    "studies_table",
]

#: Outcome columns copied from the typed row values as they are.
_ROW_VALUES = (
    "arm",
    "agent",
    "role",
    "domain",
    "measure",
    "response",
    "type",
    "responders",
    "n",
    "percent",
    "score",
    "mean",
    "sd",
    "se",
    "ci_level",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "analysis",
    "derived",
    "note",
)


def _display_authors(authors: str) -> tuple[str, str]:
    names = split_names(authors)
    shown = [decode(n) or "" for n in names]
    if names and names[-1].lower() == "others":
        shown[-1] = "et al."
    return "; ".join(shown), decode(family_name(names[0])) if names else ""


def studies_table(records: list[StudyRecord], protocol: Protocol = NO_PROTOCOL) -> pd.DataFrame:
    """One row per entry, columns :data:`STUDY_COLUMNS` (vocabularies from ``protocol``)."""
    cols: dict[str, list[Any]] = {c: [] for c in STUDY_COLUMNS}
    for rec in records:
        bib = rec.bib
        values = rec.values
        cols["key"].append(rec.key)
        cols["entry_type"].append(rec.entry_type)
        authors = bib.get("author") or bib.get("editor")
        shown, first = _display_authors(authors) if authors else (None, None)
        cols["authors"].append(shown)
        cols["first_author"].append(first)
        cols["year"].append(values.get("year"))
        cols["title"].append(decode(bib.get("title")))
        cols["journal"].append(decode(bib.get("journal") or bib.get("journaltitle")))
        cols["volume"].append(bib.get("volume"))
        cols["number"].append(bib.get("number") or bib.get("issue"))
        cols["pages"].append(decode(bib.get("pages")))
        cols["doi"].append(values.get("doi"))
        cols["pmid"].append(bib.get("pmid"))
        cols["pmcid"].append(bib.get("pmcid"))
        for name in STUDY_FIELD_COLUMNS:
            value = values.get(name)
            if isinstance(value, list):
                value = "; ".join(value)
            elif value is not None and name not in ("n_enrolled", "n_analysed", "k_studies"):
                value = decode(value) if isinstance(value, str) else value
            cols[name].append(value)
        results = rec.assessments()
        cols["rob_overall"].append(results[0].overall.level if results else None)
        cols["n_outcomes"].append(len(rec.outcomes))
        cols["n_effects"].append(len(rec.effects))
        cols["line"].append(rec.line)
    frame = pd.DataFrame(cols, columns=list(STUDY_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in STUDY_COLUMNS}
    types.update(
        year="Int64", n_outcomes="Int64", n_effects="Int64", line="Int64", rob_overall=_LEVEL_DTYPE
    )
    for spec in protocol.study_specs.values():
        if spec.kind != "rows":
            types[spec.name] = dtype(spec)
    return frame.astype(types)


def outcomes_table(records: list[StudyRecord], protocol: Protocol = NO_PROTOCOL) -> pd.DataFrame:
    """One row per study × arm × measure × timepoint, columns :data:`OUTCOME_COLUMNS`.

    ``rate`` is responders / n where both are known, otherwise the reported percent / 100.
    ``agent`` is the arm's agent and ``role`` its role (``intervention`` or ``comparator``,
    from the protocol).
    """
    cols: dict[str, list[Any]] = {c: [] for c in OUTCOME_COLUMNS}
    for rec in records:
        for i, row in enumerate(rec.outcomes, start=1):
            v = row.values
            cols["key"].append(rec.key)
            cols["row"].append(i)
            cols["line"].append(row.line)
            r, n, p = v.get("responders"), v.get("n"), v.get("percent")
            if r is not None and n:
                rate = r / n
            elif p is not None:
                rate = p / 100
            else:
                rate = None
            cols["rate"].append(rate)
            cols["time"].append(v.get("time_text"))
            cols["time_hours"].append(v.get("time"))
            ci = v.get("ci")
            cols["mean_ci_low"].append(ci[0] if ci else None)
            cols["mean_ci_high"].append(ci[1] if ci else None)
            for name in _ROW_VALUES:
                cols[name].append(v.get(name))
    frame = pd.DataFrame(cols, columns=list(OUTCOME_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in OUTCOME_COLUMNS}
    for name, spec in protocol.outcome_specs.items():
        if name in types and name != "time":
            types[name] = dtype(spec)
    types.update(
        row="Int64",
        line="Int64",
        rate="Float64",
        time_hours="Float64",
        time="string",
        mean_ci_low="Float64",
        mean_ci_high="Float64",
    )
    frame = frame.astype(types)
    frame["response"] = frame["response"].map(decode, na_action="ignore").astype("string")
    return frame


_LEVEL_DTYPE = pd.CategoricalDtype(list(LEVELS), ordered=False)

#: Columns of :func:`risk_of_bias_table`, in order.
RISK_OF_BIAS_COLUMNS: tuple[str, ...] = (
    "key",
    "outcome_row",
    "tool",
    "domain",
    "domain_name",
    "judgement",
    "support",
    "source",
    "overall",
    "algorithm",
    "reason",
    "line",
)


def risk_of_bias_table(records: list[StudyRecord]) -> pd.DataFrame:
    """One row per result × domain, plus one for the result's overall judgement; columns
    :data:`RISK_OF_BIAS_COLUMNS`.

    A *result* is a study (``outcome_row`` missing) or one of its outcome rows that has
    judgements of its own (``outcome_row`` = its ``row``), which then lists every domain:
    its own (``source`` ``stated``) and the study's (``source`` ``study``). ``overall`` is
    the result's overall judgement on every row (stated, or the tool's algorithm's when none
    is stated: ``source`` ``algorithm`` on the overall row); ``algorithm`` and ``reason`` are
    on the overall row. Studies without a tool (``rob_tool`` absent or ``none``) have no
    rows; a domain without a judgement (an error) has no row.
    """
    cols: dict[str, list[Any]] = {c: [] for c in RISK_OF_BIAS_COLUMNS}
    for rec in records:
        for result in rec.assessments():
            tool = TOOLS[result.tool]
            for judged in (*result.domains, result.overall):
                is_overall = judged.domain == OVERALL
                domain = tool.domain(judged.domain)
                cols["key"].append(rec.key)
                cols["outcome_row"].append(result.outcome_row)
                cols["tool"].append(result.tool)
                cols["domain"].append(judged.domain)
                cols["domain_name"].append(
                    "Overall risk of bias" if domain is None else domain.name
                )
                cols["judgement"].append(judged.level)
                cols["support"].append(decode(judged.support) or None)
                cols["source"].append(judged.source)
                cols["overall"].append(result.overall.level)
                cols["algorithm"].append(result.algorithm if is_overall else None)
                cols["reason"].append((decode(judged.reason) or None) if is_overall else None)
                cols["line"].append(judged.line)
    frame = pd.DataFrame(cols, columns=list(RISK_OF_BIAS_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in RISK_OF_BIAS_COLUMNS}
    types.update(
        outcome_row="Int64",
        line="Int64",
        tool=pd.CategoricalDtype(list(TOOLS)),
        judgement=_LEVEL_DTYPE,
        overall=_LEVEL_DTYPE,
        algorithm=_LEVEL_DTYPE,
    )
    return frame.astype(types)


def outcome_risk_of_bias(rob: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The overall risk of bias of every outcome row: its own result's if it has judgements
    of its own, else its study's; columns ``key``, ``row``, ``tool``, ``overall`` (missing for
    studies without a tool).

    Parameters
    ----------
    rob : pandas.DataFrame
        :func:`risk_of_bias_table` (``base.risk_of_bias``).
    outcomes : pandas.DataFrame
        :func:`outcomes_table` (``base.outcomes``), or any frame with ``key`` and ``row``.
    """
    overall = rob.loc[rob["domain"] == OVERALL, ["key", "outcome_row", "tool", "overall"]]
    study = overall[overall["outcome_row"].isna()].drop(columns="outcome_row")
    own = overall[overall["outcome_row"].notna()].rename(columns={"outcome_row": "row"})
    out = outcomes[["key", "row"]].reset_index(drop=True)
    out = out.merge(own, on=["key", "row"], how="left", validate="many_to_one")
    out = out.merge(study, on="key", how="left", suffixes=("", "_study"), validate="many_to_one")
    for name in ("tool", "overall"):
        out[name] = out[name].where(out[name].notna(), out.pop(f"{name}_study"))
    return out.astype({"tool": pd.CategoricalDtype(list(TOOLS)), "overall": _LEVEL_DTYPE})
