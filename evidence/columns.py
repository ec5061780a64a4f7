"""The columns of the tables, declared once, in order, without pandas.

:mod:`evidence.tables` builds the studies and outcomes tables with :data:`STUDY_COLUMNS` and
:data:`OUTCOME_COLUMNS`, :mod:`evidence.contrasts` the contrasts table with
:data:`CONTRAST_COLUMNS`, and :mod:`evidence.pooling` joins the study context
(:data:`STUDY_CONTEXT`) onto them to select an analysis's rows: :data:`ANALYSIS_COLUMNS` (single
arms) and :data:`COMPARISON_COLUMNS` (comparisons). Naming them here, in a module that loads no
pandas, lets an analysis check the column it names (``by``) when it is made, so a protocol
naming a column no table has is refused when it is read, by ``evidence validate`` too.
"""

from __future__ import annotations

from evidence.schema import STUDY_FIELDS

__all__ = [
    "ANALYSIS_COLUMNS",
    "COMPARISON_COLUMNS",
    "CONTRAST_COLUMNS",
    "OUTCOME_COLUMNS",
    "STUDY_COLUMNS",
    "STUDY_CONTEXT",
    "STUDY_FIELD_COLUMNS",
]

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

#: The schema's study fields that are columns of the studies table (all but the lists of rows).
STUDY_FIELD_COLUMNS: tuple[str, ...] = tuple(s.name for s in STUDY_FIELDS if s.kind != "rows")

#: Columns of :func:`evidence.tables.studies_table`, in order.
STUDY_COLUMNS: tuple[str, ...] = (
    "key",
    "entry_type",
    *_BIB_COLUMNS,
    *STUDY_FIELD_COLUMNS,
    "rob_overall",
    "n_outcomes",
    "n_effects",
    "line",
)

#: Columns of :func:`evidence.tables.outcomes_table`, in order.
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

#: Columns of :func:`evidence.contrasts.contrasts_table`, in order.
CONTRAST_COLUMNS: tuple[str, ...] = (
    "key",
    "contrast",
    "source",
    "level",
    "type",
    "intervention",
    "comparator",
    "intervention_agent",
    "comparator_agent",
    "domain",
    "measure",
    "response",
    "condition",
    "time",
    "time_hours",
    "analysis",
    "score",
    "events_i",
    "n_i",
    "events_c",
    "n_c",
    "percent_i",
    "percent_c",
    "mean_i",
    "sd_i",
    "mean_c",
    "sd_c",
    "sd_from_i",
    "sd_from_c",
    "effect",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "se",
    "p",
    "k",
    "shared_comparator",
    "crossover",
    "design",
    "rows",
    "rob_overall",
    "line",
)

#: Study-table columns joined onto each outcome row and comparison (for subgroups and labels).
STUDY_CONTEXT: tuple[str, ...] = (
    "first_author",
    "year",
    "design",
    "conditions",
    "route",
    "blinding",
    "verification",
    "rob_tool",
    "rob_overall",
)

#: Columns of :func:`evidence.pooling.analysis_table`, from which single-arm analyses select:
#: the outcomes with the study context and the study's label.
ANALYSIS_COLUMNS: tuple[str, ...] = (*OUTCOME_COLUMNS, *STUDY_CONTEXT, "study")

#: Columns of :func:`evidence.pooling.comparison_table`, from which comparisons select: the
#: contrasts with the study context they lack, the study's label, the comparison as ``arm``, the
#: outcome rows it pairs as ``row``, the scale's ``direction`` and whether its sign is flipped.
COMPARISON_COLUMNS: tuple[str, ...] = (
    *CONTRAST_COLUMNS,
    *(c for c in STUDY_CONTEXT if c not in CONTRAST_COLUMNS),
    "study",
    "arm",
    "row",
    "direction",
    "flip",
)
