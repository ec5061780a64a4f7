"""Running analyses: selecting outcome rows, the dependence policies, pooling (evidence.pooling,
`evidence pool`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import evidence
from evidence.analysis import Analysis
from evidence.cli import main
from evidence.columns import ANALYSIS_COLUMNS, COMPARISON_COLUMNS
from evidence.pooling import (
    analysis_table,
    apply_dependence,
    comparison_table,
    headline_analyses,
    leave_one_out_table,
    mix_warnings,
    pool_evidence,
    select_rows,
)
from evidence.schema import parse_window
from evidence.stats import pool_proportions

from .conftest import DATA, ROOT

ALL_ROWS = Analysis(name="all-rows", dependence="none")


@pytest.fixture(scope="module")
def base():
    return evidence.load(ROOT / "studies.bib")


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return list(zip(frame["key"], frame["row"], frame["responders"], frame["n"], strict=True))


def test_intervention_arms_with_counts_are_candidates(base) -> None:
    sel = select_rows(base, ALL_ROWS)
    assert [(k, r) for k, r, *_ in _rows(sel.candidates)] == [
        ("glue2017", 1),
        ("irwin2013", 1),
        ("irwin2013", 2),
        ("rodriguez2013", 1),
        ("glue2018", 1),
        ("glue2020ertablets", 1),
        ("bloch2012", 1),
        ("bloch2012", 2),
    ]
    assert set(sel.candidates["role"]) == {"intervention"}


def test_unpoolable_rows_and_reviews_are_listed_with_reasons(base) -> None:
    excluded = select_rows(base, ALL_ROWS).excluded
    reasons = dict(
        zip(
            excluded["key"] + ":" + excluded["row"].astype("string").fillna("-"),
            excluded["reason"],
            strict=True,
        )
    )
    assert reasons["taylor2018:1"] == "no responder counts (only 33.33% reported)"
    assert reasons["feder2021:1"] == "no responder counts (only 67% reported)"
    assert reasons["whittaker2021:-"] == "no outcome rows (meta-analysis)"
    assert reasons["tully2022:-"] == "no outcome rows (systematic-review)"
    assert len(excluded) == 11


def test_mixed_definitions_warn_with_names(base) -> None:
    warnings = mix_warnings(select_rows(base, ALL_ROWS).candidates)
    assert any(
        w.startswith("pooling rows with different response definitions: ")
        and "'>=35% Y-BOCS reduction': rodriguez2013" in w
        for w in warnings
    )
    assert any(w.startswith("pooling rows with different outcome domains") for w in warnings)


def test_filters_narrow_the_selection(base) -> None:
    sel = select_rows(base, Analysis(arm="all", scale="Y-BOCS"))
    assert list(zip(sel.candidates["arm"], sel.candidates["responders"], strict=True)) == [
        ("ketamine", 4),
        ("placebo", 0),
    ]
    assert mix_warnings(sel.candidates)[0] == (
        "pooling rows with different arm roles (intervention and comparator arms together): "
        "'intervention': rodriguez2013; 'comparator': rodriguez2013"
    )
    comparator = select_rows(base, Analysis(arm="comparator"))
    assert list(comparator.candidates["key"]) == ["rodriguez2013"]
    week = select_rows(base, Analysis(timepoint="24 h..2 weeks"))
    assert list(week.candidates["key"]) == [
        "rodriguez2013",
        "glue2020ertablets",
        "bloch2012",
        "bloch2012",
    ]
    assert "no timepoint (a timepoint window was asked for)" in set(week.excluded["reason"])
    no_scale = select_rows(base, Analysis(domain="anxiety", scale="(not stated)"))
    assert list(no_scale.candidates["key"]) == ["glue2017"]


@pytest.mark.parametrize(
    ("text", "window"),
    [
        pytest.param("1 week", (168.0, 168.0), id="exact"),
        pytest.param("24 h..2 weeks", (24.0, 336.0), id="range"),
        pytest.param("..1 week", (0.0, 168.0), id="open-low"),
        pytest.param("1 week..", (168.0, float("inf")), id="open-high"),
    ],
)
def test_parse_window(text: str, window: tuple[float, float]) -> None:
    assert parse_window(text) == window


def test_parse_window_rejects() -> None:
    with pytest.raises(ValueError, match="cannot read 'soon'"):
        parse_window("soon..1 week")


# --------------------------------------------------------------------------- dependence


def _candidates(**columns) -> pd.DataFrame:
    n = len(columns["key"])
    frame = pd.DataFrame(
        {
            "key": columns["key"],
            "row": columns.get("row", list(range(1, n + 1))),
            "arm": columns.get("arm", ["drug"] * n),
            "domain": columns.get("domain", ["d"] * n),
            "measure": pd.array(columns.get("measure", [None] * n), dtype="string"),
            "time": pd.array(columns.get("time", [None] * n), dtype="string"),
            "time_hours": pd.array(columns.get("time_hours", [None] * n), dtype="Float64"),
            "analysis": pd.array(columns.get("analysis", [None] * n), dtype="string"),
            "responders": columns.get("responders", [1] * n),
            "n": columns.get("n", [10] * n),
        }
    )
    return frame


def test_one_per_study_prefers_the_declared_scale_then_time_then_population() -> None:
    rows = _candidates(
        key=["a", "a", "a", "b", "b", "c", "c"],
        row=[1, 2, 3, 1, 2, 1, 2],
        measure=["S2", "S1", "S3", "S1", "S1", "S1", "S1"],
        time=["1 week", "1 week", "1 week", "24 h", "1 week", "1 week", "1 week"],
        time_hours=[168, 168, 168, 24, 168, 168, 168],
        analysis=["itt", "itt", "itt", "itt", "itt", "completers", "itt"],
    )
    analysis = Analysis(prefer_scales=("S1", "S2"), target_time="1 week")
    kept, decisions, warnings = apply_dependence(rows, analysis)
    assert list(zip(kept["key"], kept["row"], strict=True)) == [("a", 2), ("b", 2), ("c", 2)]
    where = zip(decisions["key"], decisions["row"], strict=True)
    reasons = dict(zip(where, decisions["reason"], strict=True))
    assert decisions["action"].tolist() == [
        "dropped",
        "used",
        "dropped",
        "dropped",
        "used",
        "dropped",
        "used",
    ]
    assert reasons[("a", 1)] == "one row per study arm: row 2 is used (scale S1 is preferred to S2)"
    assert reasons[("a", 3)] == "one row per study arm: row 2 is used (scale S1 is preferred to S3)"
    assert reasons[("b", 1)] == (
        "one row per study arm: row 2 is used (timepoint 1 week is nearer 1 week than 24 h)"
    )
    assert reasons[("c", 1)] == (
        "one row per study arm: row 2 is used (population itt is preferred to completers)"
    )
    assert reasons[("a", 2)] == "preferred row of its study arm"
    assert warnings == []


def test_one_per_study_keeps_different_arms_and_falls_back_to_file_order() -> None:
    rows = _candidates(key=["a", "a", "a"], arm=["drug-1", "drug-2", "drug-1"])
    kept, decisions, _ = apply_dependence(rows, Analysis())
    assert list(zip(kept["arm"], kept["row"], strict=True)) == [("drug-1", 1), ("drug-2", 2)]
    assert decisions["reason"].iloc[2] == (
        "one row per study arm: row 1 is used (an earlier row is kept (file order))"
    )


def test_dependence_none_pools_every_row_and_warns() -> None:
    rows = _candidates(key=["a", "a", "b"])
    kept, decisions, warnings = apply_dependence(rows, Analysis(dependence="none"))
    assert len(kept) == 3 and set(decisions["action"]) == {"used"}
    assert warnings == [
        "some study arms contribute more than one row and are pooled as if independent "
        "(dependence = 'none'), so their participants count more than once: a drug (2 rows)"
    ]


def test_warnings_describe_the_rows_pooled_not_the_rows_dropped() -> None:
    light = evidence.load(DATA / "example-light" / "studies.bib")
    report = pool_evidence(light)
    dropped = report.decisions[report.decisions["action"] == "dropped"]
    assert list(zip(dropped["key"], dropped["row"], strict=True)) == [
        ("aurora2016", 2),
        ("solstice2018", 1),
    ]
    assert report.warnings == (
        "pooling rows with different rating scales: 'SIGH-SAD': aurora2016, solstice2018, "
        "dawn2022; 'BDI-II': lumen2020",
    )


def test_headline_analyses_never_count_a_study_twice(base) -> None:
    for analysis in headline_analyses(base):
        report = analysis.run(base)
        pooled = report.pooled
        assert not pooled.duplicated(["key", "arm"]).any(), analysis.name
        assert pooled["domain"].nunique() <= 1, analysis.name


def test_bundled_headlines_are_one_per_domain_anxiety_first(base) -> None:
    names = [a.name for a in headline_analyses(base) if a.effect == "proportion"]
    assert names == ["anxiety", "obsessive-compulsive", "depression", "functioning", "mood"]
    anxiety = pool_evidence(base)
    assert anxiety.analysis.name == "anxiety" and anxiety.by == "conditions"
    assert _rows(anxiety.pooled) == [("glue2017", 1, 10, 12), ("irwin2013", 1, 8, 8)]
    assert round(anxiety.overall.estimate, 4) == 0.8676


# --------------------------------------------------------------------------- fitting


def test_pooled_equals_the_array_function(base) -> None:
    report = pool_evidence(base, ALL_ROWS, method="DL", measure="PFT")
    rows = report.pooled
    direct = pool_proportions(rows["responders"].astype(int), rows["n"].astype(int), "PFT", "DL")
    assert report.overall.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert report.overall.k == 8 and report.overall.n_total == 80
    assert report.per_study["weight"].sum() == pytest.approx(100.0)
    rod = report.per_study[report.per_study["key"] == "rodriguez2013"].iloc[0]
    assert (rod["rate"], round(rod["ci_low"], 4), round(rod["ci_high"], 4)) == (0.5, 0.2152, 0.7848)


def test_subgroups_by_a_study_column(base) -> None:
    report = pool_evidence(base, ALL_ROWS, by="conditions")
    assert list(report.group_fits) == [
        "GAD; SAD",
        "depression; anxiety",
        "OCD",
        "TRD; anxiety",
        "OCD; depression",
    ]
    assert report.group_fits["GAD; SAD"].k == 2
    tests = report.subgroups.tests_frame()
    assert list(tests["test"]) == ["between (separate fits)", "moderator (QM)"]
    assert tests["df1"].tolist() == [4, 4]


def test_subgroup_test_that_cannot_be_fitted_is_explained(base) -> None:
    report = pool_evidence(base, "anxiety", by="design", method="DL")
    assert set(report.group_fits) == {"ascending-dose", "single-arm"}
    assert report.subgroups is None
    assert report.subgroup_note.startswith("no test for subgroup differences: too few studies")


def test_unknown_by_column_names_the_allowed_ones(base) -> None:
    with pytest.raises(
        evidence.AnalysisError,
        match=r"analysis 'anxiety': by: unknown column 'nope'; did you mean 'note'\? "
        r"\(allowed: key, arm",
    ):
        pool_evidence(base, by="nope")


@pytest.mark.parametrize(
    "bib",
    [
        pytest.param(ROOT / "studies.bib", id="bundled"),
        pytest.param(DATA / "example-light" / "studies.bib", id="example-light"),
    ],
)
def test_the_tables_analyses_select_from_have_the_declared_columns(bib) -> None:
    # evidence.columns declares them without pandas (for checking an analysis early).
    loaded = evidence.load(bib)
    assert tuple(analysis_table(loaded).columns) == ANALYSIS_COLUMNS
    assert tuple(comparison_table(loaded).columns) == COMPARISON_COLUMNS
    empty = evidence.loads("")
    assert tuple(analysis_table(empty).columns) == ANALYSIS_COLUMNS
    assert tuple(comparison_table(empty).columns) == COMPARISON_COLUMNS


def test_pool_does_not_mutate_tables(base) -> None:
    studies, outcomes = base.studies.copy(), base.outcomes.copy()
    pool_evidence(base, by="route")
    pd.testing.assert_frame_equal(base.studies, studies)
    pd.testing.assert_frame_equal(base.outcomes, outcomes)


def test_cli_pool_runs_the_first_headline_analysis() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["pool", str(ROOT / "studies.bib")])
    assert text.exit_code == 0, text.output
    assert text.stdout.startswith("Analysis 'anxiety': Response rate, anxiety outcomes\n")
    assert "Pooled (PLO, REML, z): 86.8% [63.2% to 96.2%]" in text.stdout
    assert "  taylor2018 row 1: no responder counts (only 33.33% reported)" in text.stdout
    assert text.stderr.startswith("warning: pooling rows with different rating scales")


def test_cli_pool_json_records_the_analysis_once() -> None:
    out = CliRunner().invoke(
        main,
        [
            "pool",
            str(ROOT / "studies.bib"),
            "--analysis",
            "depression",
            "--format",
            "json",
            "--method",
            "fe",
        ],
    )
    data = json.loads(out.stdout)
    assert data["analysis"]["name"] == "depression" and data["analysis"]["method"] == "FE"
    assert data["pooled"]["method"] == "FE" and data["pooled"]["pi_low"] is None
    assert len(data["per_study"]) == 2 and {r["action"] for r in data["rows"]} == {"used"}
    assert out.stdout.count('"prefer_scales"') == 1


def test_cli_pool_overrides_the_analysis_dependence() -> None:
    out = CliRunner().invoke(
        main,
        [
            "pool",
            str(ROOT / "studies.bib"),
            "--domain",
            "(not stated)",
            "--arm",
            "all",
            "--dependence",
            "none",
            "--format",
            "json",
        ],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["analysis"]["dependence"] == "none"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--by", "nope"], "by: unknown column 'nope'", id="by"),
        pytest.param(["--timepoint", "soon"], "cannot read timepoint window 'soon'", id="time"),
        pytest.param(["--level", "1.5"], "level: 1.5 is not a number strictly between", id="lvl"),
        pytest.param(["--method", "XX"], "Invalid value for '--method'", id="method"),
        pytest.param(["--analysis", "nope"], "no such analysis in the protocol", id="name"),
        pytest.param(["--method", "ML"], "'ML' is for multilevel models", id="ml"),
        pytest.param(["--robust", "CR1"], "needs dependence = 'multilevel'", id="robust"),
    ],
)
def test_cli_pool_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["pool", str(ROOT / "studies.bib"), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_pool_refuses_invalid_file(tmp_bib) -> None:
    path = tmp_bib("@article{k,\n  title = {T},\n  year = 2020,\n  n_enrolled = {x},\n}\n")
    result = CliRunner().invoke(main, ["pool", str(path)])
    assert result.exit_code == 1
    assert "n_enrolled: 'x' is not an integer" in result.stderr


def test_leave_one_out_refits_without_each_row(base) -> None:
    report = pool_evidence(base, ALL_ROWS)
    table = leave_one_out_table(report)
    rows = report.pooled
    without_bloch_ocd = pool_proportions(
        rows["responders"].drop(index=6).astype(int), rows["n"].drop(index=6).astype(int)
    )
    assert table.loc[6, "omitted"] == "Bloch 2012 · ketamine · obsessive-compulsive"
    assert table.loc[6, "estimate"] == pytest.approx(without_bloch_ocd.estimate, rel=1e-9)
    out = CliRunner().invoke(
        main, ["pool", str(ROOT / "studies.bib"), "--leave-one-out", "--format", "json"]
    )
    data = json.loads(out.stdout)
    assert len(data["leave_one_out"]) == 2
    one = CliRunner().invoke(
        main, ["pool", str(ROOT / "studies.bib"), "--analysis", "mood", "--leave-one-out"]
    )
    assert one.exit_code == 2 and "needs at least 2 pooled rows; got 1" in one.stderr


def _same_author_year(n: int) -> str:
    return "\n".join(
        f"@article{{glue{i},\n  author = {{Glue, Paul}},\n  title = {{Study {i}}},\n"
        f"  journal = {{J}},\n  year = {{2017}},\n  arms = {{ketamine}},\n"
        f"  outcomes = {{\n    arm=ketamine; responders={i % 5}; n=10\n  }},\n}}\n"
        for i in range(n)
    )


def test_study_labels_stay_unique_past_z() -> None:
    base = evidence.loads(_same_author_year(30))
    assert not base.errors
    report = pool_evidence(base)
    labels = report.per_study["study"].tolist()
    assert len(labels) == 30 and len(set(labels)) == 30
    assert labels[:2] == ["Glue 2017a", "Glue 2017b"]
    assert labels[25:] == ["Glue 2017z", "Glue 2017aa", "Glue 2017ab", "Glue 2017ac", "Glue 2017ad"]


def test_cli_pool_with_many_studies_of_one_author_and_year(tmp_path) -> None:
    path = tmp_path / "many.bib"
    path.write_text(_same_author_year(28), encoding="utf-8")
    result = CliRunner().invoke(main, ["pool", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    studies = [row["study"] for row in json.loads(result.stdout)["per_study"]]
    assert studies[-2:] == ["Glue 2017aa", "Glue 2017ab"]
