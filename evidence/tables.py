"""Typed records → the studies and outcomes tables (pandas DataFrames).

Column order is fixed and documented in the README: :data:`STUDY_COLUMNS` and
:data:`OUTCOME_COLUMNS`. Vocabularies are categoricals, counts nullable integers, text
``string``; BibTeX values are LaTeX-decoded for display (only those that contain LaTeX).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from evidence.latex import decode
from evidence.names import family_name, split_names
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.schema import STUDY_FIELDS, dtype
from evidence.validation import StudyRecord

__all__ = ["OUTCOME_COLUMNS", "STUDY_COLUMNS", "outcomes_table", "studies_table"]

_BIB_COLUMNS = (
    "authors",
    "first_author",
    "year",
    "title",
    "journal",
    "volume",
    "number",
    "pages",
    "doi",
    "pmid",
    "pmcid",
)
_SCHEMA_COLUMNS = tuple(s.name for s in STUDY_FIELDS if s.kind != "rows")

#: Columns of :func:`studies_table`, in order.
STUDY_COLUMNS: tuple[str, ...] = (
    "key",
    "entry_type",
    *_BIB_COLUMNS,
    *_SCHEMA_COLUMNS,
    "n_outcomes",
    "n_effects",
    "line",
)

#: Columns of :func:`outcomes_table`, in order.
OUTCOME_COLUMNS: tuple[str, ...] = (
    "key",
    "row",
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
    "rate",
    "score",
    "mean",
    "sd",
    "se",
    "mean_ci_low",
    "mean_ci_high",
    "ci_level",
    "median",
    "q1",
    "q3",
    "min",
    "max",
    "time",
    "time_hours",
    "analysis",
    "derived",
    "note",
    "line",
)


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
        if authors:
            shown, first = _display_authors(authors)
        else:
            shown = first = None
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
        for name in _SCHEMA_COLUMNS:
            value = values.get(name)
            if isinstance(value, list):
                value = "; ".join(value)
            elif value is not None and name not in ("n_enrolled", "n_analysed", "k_studies"):
                value = decode(value) if isinstance(value, str) else value
            cols[name].append(value)
        cols["n_outcomes"].append(len(rec.outcomes))
        cols["n_effects"].append(len(rec.effects))
        cols["line"].append(rec.line)
    frame = pd.DataFrame(cols, columns=list(STUDY_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in STUDY_COLUMNS}
    types.update(year="Int64", n_outcomes="Int64", n_effects="Int64", line="Int64")
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
