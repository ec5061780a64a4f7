"""The outcome schema as data (evidence.schema)."""

from __future__ import annotations

import pandas as pd
import pytest

from evidence.protocol import parse_protocol
from evidence.schema import (
    CLAIM_FIELDS,
    EFFECT_FIELDS,
    OUTCOME_FIELDS,
    OUTCOME_SPECS,
    ROB_FIELDS,
    STUDY_FIELDS,
    STUDY_SPECS,
    arm_agent,
    coerce,
    data_dictionary,
    dtype,
    parse_outcome_rows,
    parse_timepoint,
)

#: A small protocol: declared agents and scales (the vocabulary checks below need one).
PROTOCOL = parse_protocol(
    {
        "agents": {
            "ketamine": {"role": "intervention"},
            "placebo": {"role": "comparator"},
            "active-control": {"role": "comparator"},
        },
        "scales": {"Y-BOCS": {"synonyms": ["ybocs"], "direction": "higher-is-worse"}},
    },
    "test.toml",
)
DECLARED_STUDY = PROTOCOL.study_specs
DECLARED_OUTCOME = PROTOCOL.outcome_specs


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        pytest.param("1 h", 1.0, id="1h"),
        pytest.param("24 h", 24.0, id="24h"),
        pytest.param("90 min", 1.5, id="minutes"),
        pytest.param("1 week", 168.0, id="week"),
        pytest.param("2 weeks", 336.0, id="weeks"),
        pytest.param("day 28", 672.0, id="day-ordinal"),
        pytest.param("Week 2", 336.0, id="week-ordinal"),
        pytest.param("96 h", 96.0, id="96h"),
        pytest.param("1-3 days", 72.0, id="range-upper-end"),
        pytest.param("1–3 days", 72.0, id="en-dash-range"),
        pytest.param("3 months", 2160.0, id="months"),
        pytest.param("0.5 h", 0.5, id="decimal"),
    ],
)
def test_parse_timepoint(text: str, hours: float) -> None:
    assert parse_timepoint(text) == hours


@pytest.mark.parametrize("text", ["soonish", "1 fortnight", "", "week", "h 3"])
def test_parse_timepoint_rejects(text: str) -> None:
    assert parse_timepoint(text) is None


@pytest.mark.parametrize(
    ("field", "text", "value", "message"),
    [
        pytest.param("route", "IV; SC", ["IV", "SC"], None, id="route-list"),
        pytest.param(
            "route",
            "intravenous",
            None,
            "unknown value 'intravenous'; did you mean 'IV'?",
            id="route-synonym-hint",
        ),
        pytest.param(
            "design",
            "rct-paralel",
            None,
            "unknown value 'rct-paralel'; did you mean 'rct-parallel'?",
            id="design-typo-hint",
        ),
        pytest.param("design", "zzz", None, "unknown value 'zzz'", id="no-hint"),
        pytest.param("n_enrolled", "12", 12, None, id="int"),
        pytest.param("n_enrolled", "twelve", None, "'twelve' is not an integer", id="int-word"),
        pytest.param("n_enrolled", "-3", None, "-3 is below the minimum 0", id="negative"),
        pytest.param("arms", "placebo; ketamine-0.5", ["placebo", "ketamine-0.5"], None, id="arms"),
        pytest.param(
            "arms",
            "ketamin",
            None,
            "arm 'ketamin' does not start with a known agent; did you mean 'ketamine'?",
            id="arms-typo",
        ),
        pytest.param(
            "arms",
            "active-control-low; placebo",
            ["active-control-low", "placebo"],
            None,
            id="arms-hyphenated-agent",
        ),
        pytest.param("registry", "NCT01349231", ["NCT01349231"], None, id="registry"),
        pytest.param("registry", "NCT123", None, "'NCT123' is not a recognised id", id="bad-reg"),
    ],
)
def test_coerce_study_fields(field: str, text: str, value, message) -> None:
    assert coerce(DECLARED_STUDY[field], text) == (value, message)


@pytest.mark.parametrize(
    ("field", "text", "value", "message"),
    [
        pytest.param("percent", "33.33", 33.33, None, id="percent"),
        pytest.param("percent", "140", None, "140 exceeds the maximum 100", id="percent-over"),
        pytest.param("percent", "nan", None, "'nan' is not a number", id="percent-nan"),
        pytest.param("percent", "33.3%", 33.3, None, id="percent-sign"),
        pytest.param("n", "1_0", None, "'1_0' is not an integer", id="underscore"),
        pytest.param("responders", "+3", None, "'+3' is not an integer", id="plus-sign"),
        pytest.param("derived", "yes", True, None, id="bool-yes"),
        pytest.param("derived", "maybe", None, "'maybe' is not yes or no", id="bool-bad"),
        pytest.param("time", "day 28", 672.0, None, id="time"),
        pytest.param("time", "soonish", None, "cannot read timepoint 'soonish'", id="time-bad"),
        pytest.param(
            "measure",
            "ybocs",
            None,
            "unknown value 'ybocs'; did you mean 'Y-BOCS'?",
            id="measure-hint",
        ),
    ],
)
def test_coerce_outcome_fields(field: str, text: str, value, message) -> None:
    assert coerce(DECLARED_OUTCOME[field], text) == (value, message)


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        pytest.param("arms", "psilocybin-25mg; placebo", ["psilocybin-25mg", "placebo"], id="arms"),
        pytest.param("conditions", "MDD; anything", ["MDD", "anything"], id="conditions"),
    ],
)
def test_undeclared_vocabularies_accept_any_label(field: str, text: str, value) -> None:
    assert STUDY_SPECS[field].choices is None
    assert coerce(STUDY_SPECS[field], text) == (value, None)
    assert coerce(OUTCOME_SPECS["measure"], "QIDS-SR-16") == ("QIDS-SR-16", None)


def test_agent_of_an_arm_without_declared_agents() -> None:
    assert arm_agent("psilocybin-25mg") == "psilocybin"
    assert arm_agent("active-control-low") == "active-control"
    assert arm_agent("waitlist") == "waitlist"
    assert arm_agent("ketamine-0.5", ("ketamine", "placebo")) == "ketamine"
    assert arm_agent("ketamine-0.5", ("placebo",)) is None


def test_outcome_rows_syntax() -> None:
    text = (
        "\n    arm=ketamine; response={>=35%; any time}; responders=4; n=8\n\n"
        "    arm=placebo; n=7; oops\n  "
    )
    rows = parse_outcome_rows(text)
    assert [r.line_offset for r in rows] == [1, 3]
    assert rows[0].pairs == {
        "arm": "ketamine",
        "response": ">=35%; any time",
        "responders": "4",
        "n": "8",
    }
    assert rows[1].problems == (("outcomes.syntax", "expected key=value, found 'oops'"),)


def test_dtypes_follow_the_schema() -> None:
    assert dtype(STUDY_SPECS["design"]) == pd.CategoricalDtype(list(STUDY_SPECS["design"].choices))
    assert dtype(DECLARED_OUTCOME["measure"]) == pd.CategoricalDtype(["Y-BOCS"])
    assert dtype(OUTCOME_SPECS["measure"]) == "string"  # no vocabulary: free labels
    assert dtype(STUDY_SPECS["n_enrolled"]) == "Int64"
    assert dtype(OUTCOME_SPECS["percent"]) == "Float64"
    assert dtype(OUTCOME_SPECS["derived"]) == "boolean"


def test_data_dictionary_lists_every_field_once() -> None:
    dd = data_dictionary()
    assert list(dd.columns) == ["level", "field", "type", "allowed", "unit", "description"]
    fields = (*STUDY_FIELDS, *OUTCOME_FIELDS, *EFFECT_FIELDS, *ROB_FIELDS, *CLAIM_FIELDS)
    assert list(dd["field"]) == [s.name for s in fields]
    assert list(dict.fromkeys(dd["level"])) == ["study", "outcome", "effect", "rob", "claim"]
    route = dd[dd["field"] == "route"].iloc[0]
    assert route["allowed"] == "';'-separated list of IV, IM, SC, oral, sublingual, intranasal"
