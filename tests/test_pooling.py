"""Selecting outcome rows and pooling them (evidence.pooling, `evidence pool`)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import evidence
from evidence.cli import main
from evidence.pooling import parse_window, pool_evidence, select_outcomes
from evidence.stats import pool_proportions

from .conftest import ROOT


def test_default_selection_is_ketamine_arms_with_counts(base) -> None:
    sel = select_outcomes(base)
    got = list(zip(sel.included["key"], sel.included["responders"], sel.included["n"], strict=True))
    assert got == [
        ("glue2017", 10, 12),
        ("irwin2013", 8, 8),
        ("irwin2013", 8, 8),
        ("rodriguez2013", 4, 8),
        ("glue2018", 18, 20),
        ("glue2020ertablets", 7, 7),
        ("bloch2012", 0, 10),
        ("bloch2012", 4, 7),
    ]
    assert set(sel.included["agent"]) == {"ketamine"}


def test_unpoolable_rows_and_reviews_are_listed_with_reasons(base) -> None:
    excluded = select_outcomes(base).excluded
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
    warnings = select_outcomes(base).warnings
    assert warnings[0].startswith("pooling rows with different response definitions: ")
    assert "'>=35% Y-BOCS reduction': rodriguez2013" in warnings[0]
    assert any("irwin2013 ketamine (2 rows), bloch2012 ketamine (2 rows)" in w for w in warnings)


def test_filters_narrow_the_selection(base) -> None:
    sel = select_outcomes(base, arm=None, measure="Y-BOCS")
    assert list(zip(sel.included["arm"], sel.included["responders"], strict=True)) == [
        ("ketamine", 4),
        ("placebo", 0),
    ]
    assert sel.warnings == (
        "pooling rows with different agents (ketamine and comparator arms together): "
        "'ketamine': rodriguez2013; 'placebo': rodriguez2013",
    )
    week = select_outcomes(base, timepoint="24 h..2 weeks")
    assert list(week.included["key"]) == [
        "rodriguez2013",
        "glue2020ertablets",
        "bloch2012",
        "bloch2012",
    ]
    reasons = set(week.excluded["reason"])
    assert "no timepoint (a timepoint window was asked for)" in reasons


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


def test_pooled_equals_the_array_function(base) -> None:
    report = pool_evidence(base, method="DL", measure="PFT")
    rows = report.selection.included
    direct = pool_proportions(rows["responders"].astype(int), rows["n"].astype(int), "PFT", "DL")
    assert report.overall.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert report.overall.k == 8 and report.overall.n_total == 80
    assert report.per_study["weight"].sum() == pytest.approx(100.0)
    rod = report.per_study[report.per_study["key"] == "rodriguez2013"].iloc[0]
    assert (rod["rate"], round(rod["ci_low"], 4), round(rod["ci_high"], 4)) == (0.5, 0.2152, 0.7848)


def test_subgroups_by_a_study_column(base) -> None:
    report = pool_evidence(base, by="conditions")
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
    sel = select_outcomes(base, domain="anxiety")
    report = pool_evidence(base, by="design", method="DL", selection=sel)
    assert set(report.group_fits) == {"ascending-dose", "single-arm"}
    assert report.subgroups is None
    assert report.subgroup_note.startswith("no test for subgroup differences: too few studies")


def test_unknown_by_column_names_the_allowed_ones(base) -> None:
    with pytest.raises(ValueError, match=r"by must be a column .* got 'nope' \(allowed: key, arm"):
        pool_evidence(base, by="nope")


def test_pool_does_not_mutate_tables(base) -> None:
    studies, outcomes = base.studies.copy(), base.outcomes.copy()
    pool_evidence(base, by="route")
    pd.testing.assert_frame_equal(base.studies, studies)
    pd.testing.assert_frame_equal(base.outcomes, outcomes)


def test_cli_pool_text_and_json() -> None:
    runner = CliRunner()
    text = runner.invoke(main, ["pool", str(ROOT / "studies.bib"), "--by", "conditions"])
    assert text.exit_code == 0
    assert "Pooled (PLO, REML, z): 75.6% [49.1% to 90.9%]" in text.stdout
    assert "  taylor2018 row 1: no responder counts (only 33.33% reported)" in text.stdout
    assert text.stderr.startswith("warning: pooling rows with different response definitions")
    out = runner.invoke(
        main, ["pool", str(ROOT / "studies.bib"), "--format", "json", "--method", "fe"]
    )
    data = json.loads(out.stdout)
    assert data["pooled"]["method"] == "FE" and data["pooled"]["pi_low"] is None
    assert len(data["per_study"]) == 8 and len(data["excluded"]) == 11


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--by", "nope"], "by must be a column", id="by"),
        pytest.param(["--timepoint", "soon"], "cannot read 'soon'", id="timepoint"),
        pytest.param(
            ["--level", "1.5"], "level must be a number strictly between 0 and 1", id="level"
        ),
        pytest.param(["--method", "XX"], "Invalid value for '--method'", id="method"),
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


def test_leave_one_out_from_the_cli_matches_the_library(base) -> None:
    from evidence.pooling import leave_one_out_table
    from evidence.stats import pool_proportions

    report = pool_evidence(base)
    table = leave_one_out_table(report)
    rows = report.selection.included
    without_bloch_ocd = pool_proportions(
        rows["responders"].drop(index=6).astype(int), rows["n"].drop(index=6).astype(int)
    )
    assert table.loc[6, "omitted"] == "Bloch 2012 · ketamine · obsessive-compulsive"
    assert table.loc[6, "estimate"] == pytest.approx(without_bloch_ocd.estimate, rel=1e-9)
    out = CliRunner().invoke(
        main, ["pool", str(ROOT / "studies.bib"), "--leave-one-out", "--format", "json"]
    )
    data = json.loads(out.stdout)
    assert len(data["leave_one_out"]) == 8
    assert data["leave_one_out"][6]["estimate"] == pytest.approx(without_bloch_ocd.estimate)
    one = CliRunner().invoke(
        main, ["pool", str(ROOT / "studies.bib"), "--scale", "Y-BOCS", "--leave-one-out"]
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
