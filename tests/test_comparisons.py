"""Comparisons (intervention versus comparator): the contrasts table, comparative analyses,
and the dependence policies applied to proportions and comparisons (evidence.contrasts,
evidence.pooling). The numbers are checked against the library functions, which
tests/test_effects.py, test_multilevel.py and test_glmm.py pin to metafor, and against
metafor's own values for Rodriguez 2013 (shared reference README)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.patches import Polygon

import evidence
from evidence import charts
from evidence.analysis import Analysis
from evidence.cli import main
from evidence.effects import effect_from_ci, effect_sizes, mean_sd_from_median, sd_from_ci
from evidence.multilevel import aggregate_effects, pool_multilevel
from evidence.pooling import leave_one_out_table, pool_evidence
from evidence.stats import escalc, pool_effects, pool_proportions

from .conftest import DATA, ROOT

PROTOCOL = """
[agents]
drug = { role = "intervention" }
placebo = { role = "comparator" }
sham = { role = "comparator" }

[scales]
GOOD = { direction = "higher-is-better" }
BAD = { direction = "higher-is-worse" }
"""

MULTI_ARM = """@article{three2020,
  author = {Three, T.}, title = {Two doses and placebo}, journal = {J}, year = {2020},
  design = {rct-parallel}, conditions = {a},
  arms = {drug-low; drug-high; placebo},
  outcomes = {
    arm=drug-low; domain=d; measure=BAD; responders=6; n=20; time=4 weeks
    arm=drug-high; domain=d; measure=BAD; responders=9; n=20; time=4 weeks
    arm=placebo; domain=d; measure=BAD; responders=3; n=20; time=4 weeks
    arm=drug-low; domain=c; measure=BAD; mean=10; sd=4; n=20; time=4 weeks
    arm=drug-high; domain=c; measure=BAD; mean=8; se=1; n=20; time=4 weeks
    arm=placebo; domain=c; measure=BAD; mean=13; ci=11..15; n=20; time=4 weeks
  },
}

@article{two2021,
  author = {Two, T.}, title = {Drug and sham}, journal = {J}, year = {2021},
  design = {rct-crossover}, conditions = {b},
  arms = {drug; sham},
  outcomes = {
    arm=drug; domain=d; measure=BAD; responders=12; n=25; time=4 weeks; analysis=first-phase
    arm=sham; domain=d; measure=BAD; responders=5; n=24; time=4 weeks; analysis=first-phase
    arm=drug; domain=c; measure=GOOD; median=20; q1=15; q3=26; n=25; time=4 weeks
    arm=sham; domain=c; measure=GOOD; median=16; q1=12; q3=21; n=24; time=4 weeks
  },
}

@article{one2022,
  author = {One, O.}, title = {Reported only}, journal = {J}, year = {2022},
  design = {rct-parallel}, conditions = {a},
  arms = {drug; placebo},
  effects = {
    effect=OR; estimate=2.5; ci=1.1..5.7; intervention=drug; comparator=placebo; domain=d; \
measure=BAD; time=4 weeks
    effect=SMD; estimate=-0.6; se=0.25; intervention=drug; comparator=placebo; domain=c; \
measure=BAD; time=4 weeks
  },
}

@article{review2023,
  author = {Review, R.}, title = {A review}, journal = {J}, year = {2023},
  design = {meta-analysis},
  effects = {
    effect=OR; estimate=3.1; ci=1.5..6.4; intervention=drug; comparator=placebo; domain=d
  },
}
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> evidence.EvidenceBase:
    folder = tmp_path_factory.mktemp("comparisons")
    (folder / "evidence.toml").write_text(PROTOCOL, encoding="utf-8")
    (folder / "studies.bib").write_text(MULTI_ARM, encoding="utf-8")
    loaded = evidence.load(folder / "studies.bib")
    assert not loaded.errors, [str(p) for p in loaded.errors]
    return loaded


@pytest.fixture(scope="module")
def bundled() -> evidence.EvidenceBase:
    return evidence.load(ROOT / "studies.bib")


# ------------------------------------------------------------------------- the table


def test_arm_pairs_and_reported_results(base) -> None:
    c = base.contrasts
    assert list(zip(c["key"], c["contrast"], c["source"], c["type"], strict=True)) == [
        ("three2020", "drug-low vs placebo", "arms", "binary"),
        ("three2020", "drug-high vs placebo", "arms", "binary"),
        ("three2020", "drug-low vs placebo", "arms", "continuous"),
        ("three2020", "drug-high vs placebo", "arms", "continuous"),
        ("two2021", "drug vs sham", "arms", "binary"),
        ("two2021", "drug vs sham", "arms", "continuous"),
        ("one2022", "drug vs placebo", "reported", "reported"),
        ("one2022", "drug vs placebo", "reported", "reported"),
        ("review2023", "drug vs placebo", "reported", "reported"),
    ]
    assert c["shared_comparator"].tolist()[:4] == [2, 2, 2, 2]
    assert c["crossover"].tolist()[4:6] == [True, True]
    assert c["level"].tolist()[-1] == "review"
    binary = c.iloc[0]
    assert (binary["events_i"], binary["n_i"], binary["events_c"], binary["n_c"]) == (6, 20, 3, 20)
    assert binary["rows"] == "outcomes 1+3"


def test_continuous_arms_take_sd_from_se_ci_or_median(base) -> None:
    c = base.contrasts
    high = c.iloc[3]
    assert (high["mean_i"], high["sd_i"], high["sd_from_i"]) == (8.0, 1.0 * math.sqrt(20), "SE")
    expected_sd = sd_from_ci([11.0], [15.0], [20])[0]
    assert high["sd_c"] == pytest.approx(expected_sd) and high["sd_from_c"] == "95% CI"
    low = c.iloc[2]
    assert (low["sd_i"], low["sd_from_i"]) == (4.0, "reported")
    median = c.iloc[5]
    converted = mean_sd_from_median([20.0], [25], q1=[15.0], q3=[26.0])
    assert median["mean_i"] == pytest.approx(converted["mean"][0])
    assert median["sd_i"] == pytest.approx(converted["sd"][0])
    assert median["sd_from_i"].startswith("converted from the median (Luo 2018 / Wan 2014")


def test_bundled_contrasts(bundled) -> None:
    c = bundled.contrasts.set_index(["key", "source", "effect"], drop=False)
    rod = bundled.contrasts[bundled.contrasts["key"].eq("rodriguez2013")].iloc[0]
    assert (rod["events_i"], rod["n_i"], rod["events_c"], rod["n_c"]) == (4, 8, 0, 7)
    taylor = bundled.contrasts[bundled.contrasts["key"].eq("taylor2018")]
    assert taylor["events_i"].isna().all() and taylor["percent_i"].tolist() == [33.33, 88.89]
    feder = c.loc[("feder2021", "reported", "MD")]
    assert (feder["estimate"], feder["se"]) == (-11.88, 3.96)
    whittaker = bundled.contrasts[bundled.contrasts["key"].eq("whittaker2021")]
    assert whittaker["level"].tolist() == ["review", "review"]
    assert whittaker["condition"].tolist() == ["SAD", "PTSD"]


# ---------------------------------------------------------------------- analyses


@pytest.mark.parametrize(
    ("effect", "model", "method", "expected"),
    [
        # metafor 3.8-1 (shared reference README): rodriguez2013
        pytest.param("RR", "inverse-variance", "REML", (8.0, 0.5052, 126.67), id="rr"),
        pytest.param("OR", "inverse-variance", "REML", (15.0, 0.6448, 348.93), id="or"),
        pytest.param("RD", "inverse-variance", "REML", (0.4375, 0.0703, 0.8047), id="rd"),
        pytest.param("OR", "peto", "FE", (10.874, 1.186, 99.73), id="peto"),
        pytest.param("RD", "mantel-haenszel", "FE", (0.5, 0.1535, 0.8465), id="mh-rd"),
    ],
)
def test_bundled_rodriguez_equals_metafor(bundled, effect, model, method, expected) -> None:
    analysis = Analysis(
        name="x", effect=effect, model=model, method=method, domain="obsessive-compulsive"
    )
    report = analysis.run(bundled)
    o = report.overall
    assert (
        round(o.estimate, 4),
        round(o.ci_low, 4),
        round(o.ci_high, 4 if o.ci_high < 1 else 2),
    ) == (
        pytest.approx(expected[0], abs=1e-3),
        pytest.approx(expected[1], abs=1e-3),
        pytest.approx(expected[2], rel=1e-3),
    )
    assert any("crossover trials analysed as parallel groups" in w for w in report.warnings)
    assert "rodriguez2013 (first-period data)" in report.warnings[-1]


def test_mantel_haenszel_or_that_metafor_cannot_estimate_is_reported(bundled) -> None:
    report = Analysis(
        name="x", effect="OR", model="mantel-haenszel", method="FE", domain="obsessive-compulsive"
    ).run(bundled)
    assert math.isnan(report.overall.estimate)
    assert any("not estimable" in w for w in report.overall.warnings)


def test_multi_arm_split_halves_the_shared_comparator(base) -> None:
    report = Analysis(name="x", effect="RR", domain="d", method="FE").run(base)
    three = report.pooled[report.pooled["key"].eq("three2020")]
    assert three["n_c"].tolist() == [10, 10] and three["events_c"].tolist() == [1.5, 1.5]
    expected = effect_sizes("RR", ai=[6, 9], n1i=[20, 20], ci=[1.5, 1.5], n2i=[10, 10])
    got = report.per_study[report.per_study["key"].eq("three2020")]
    np.testing.assert_allclose(got["yi"], expected["yi"], rtol=1e-12)
    assert any("its participants are split between them" in w for w in report.warnings)


def test_multi_arm_combine_merges_the_intervention_arms(base) -> None:
    binary = Analysis(name="x", effect="OR", domain="d", method="FE", multi_arm="combine").run(base)
    three = binary.pooled[binary.pooled["key"].eq("three2020")]
    assert len(three) == 1 and (three["events_i"].iloc[0], three["n_i"].iloc[0]) == (15, 40)
    assert three["arm"].iloc[0] == "drug-low + drug-high vs placebo"
    combined = binary.decisions[binary.decisions["key"].eq("three2020")]
    assert set(combined["action"]) == {"combined"}
    continuous = Analysis(name="y", effect="MD", domain="c", method="FE", multi_arm="combine")
    row = continuous.run(base).pooled
    row = row[row["key"].eq("three2020")].iloc[0]
    sd_high = math.sqrt(20)
    # Cochrane Handbook Table 6.5.a: combining two groups
    var = (19 * 4**2 + 19 * sd_high**2 + 20 * 20 / 40 * (10 - 8) ** 2) / 39
    assert (row["n_i"], row["mean_i"]) == (40, 9.0)
    assert row["sd_i"] == pytest.approx(math.sqrt(var))


def test_reported_results_enter_as_generic_inverse_variance(base) -> None:
    report = Analysis(name="x", effect="OR", domain="d", method="DL").run(base)
    reported = report.per_study[report.per_study["key"].eq("one2022")].iloc[0]
    expected = effect_from_ci([2.5], [1.1], [5.7], measure="OR")
    assert reported["yi"] == pytest.approx(expected["yi"][0])
    assert reported["vi"] == pytest.approx(expected["vi"][0])
    smd = Analysis(name="y", effect="SMD", domain="c", method="DL").run(base)
    row = smd.per_study[smd.per_study["key"].eq("one2022")].iloc[0]
    assert (row["yi"], row["vi"]) == (pytest.approx(-0.6), pytest.approx(0.0625))


def test_a_review_is_shown_beside_and_never_pooled(base) -> None:
    report = Analysis(name="x", effect="OR", domain="d", method="DL").run(base)
    assert "review2023" not in set(report.pooled["key"])
    assert report.beside["key"].tolist() == ["review2023"]
    reason = report.selection.excluded.set_index("key").loc["review2023", "reason"]
    assert reason.startswith("a review's pooled result: shown beside the primary studies")
    fig = charts.forest_plot(base, report=report)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Reviews' pooled results (shown, not pooled)" in texts


def test_pooled_or_equals_the_array_functions(base) -> None:
    report = Analysis(name="x", effect="OR", domain="d", method="REML").run(base)
    yi = report.per_study["yi"].to_numpy(dtype=float)
    vi = report.per_study["vi"].to_numpy(dtype=float)
    direct = pool_effects(yi, vi, measure="OR", method="REML")
    assert report.overall.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert report.overall.k == 4  # two arms of three2020 (split), two2021, one2022


def test_scales_of_both_directions_are_aligned(base) -> None:
    report = Analysis(name="x", effect="SMD", domain="c", method="DL").run(base)
    assert report.flipped
    two = report.per_study[report.per_study["key"].eq("two2021")].iloc[0]
    row = report.pooled[report.pooled["key"].eq("two2021")].iloc[0]
    raw = effect_sizes(
        "SMD",
        m1i=[row["mean_i"]],
        sd1i=[row["sd_i"]],
        n1i=[row["n_i"]],
        m2i=[row["mean_c"]],
        sd2i=[row["sd_c"]],
        n2i=[row["n_c"]],
    )
    assert two["yi"] == pytest.approx(-raw["yi"][0])  # higher-is-better, so its sign reversed
    assert any(
        "signs of results on higher-is-better scales were reversed" in w for w in report.warnings
    )


def test_effect_from_the_wrong_data_is_left_out_with_the_reason(base) -> None:
    report = Analysis(name="x", effect="MD", domain="d").run(base)
    reasons = set(report.selection.excluded["reason"])
    assert "binary data (the analysis pools MD, from continuous data)" in reasons
    assert "a reported OR (the analysis pools MD)" in reasons
    assert report.overall is None


def test_comparison_subgroups_and_leave_one_out(base) -> None:
    report = Analysis(name="x", effect="OR", domain="d", method="DL", by="conditions").run(base)
    assert set(report.group_fits) == {"a", "b"}
    assert report.subgroups is not None
    table = leave_one_out_table(report)
    assert len(table) == len(report.pooled)
    mh = Analysis(
        name="y", effect="OR", domain="d", model="mantel-haenszel", method="FE", by="conditions"
    ).run(base)
    assert (
        mh.subgroup_note == ""
        or mh.subgroup_note.startswith("no test")
        or "Q of" in mh.subgroup_note
    )


# --------------------------------------------------------------- dependence policies


LIGHT = DATA / "example-light" / "studies.bib"


@pytest.fixture(scope="module")
def light() -> evidence.EvidenceBase:
    return evidence.load(LIGHT)


def test_aggregate_equals_metafor_aggregate_then_rma(light) -> None:
    report = pool_evidence(light, "depression", dependence="aggregate", by=None)
    rows = pool_evidence(light, "depression", dependence="none", by=None).pooled
    yi, vi = escalc(rows["responders"].astype(int), rows["n"].astype(int), "PLO")
    cluster = (rows["key"] + "|" + rows["arm"]).tolist()
    combined = aggregate_effects(yi, vi, cluster, rho=0.5)
    direct = pool_effects(combined["yi"], combined["vi"], measure="PLO", method="REML")
    assert report.overall.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert report.overall.k == 4
    assert report.sensitivity["rho"].tolist() == [0.0, 0.5, 0.8]
    assert report.sensitivity.loc[1, "estimate"] == pytest.approx(report.overall.estimate)
    combined_rows = report.decisions[report.decisions["action"].eq("combined")]
    assert combined_rows["key"].tolist() == [
        "aurora2016",
        "aurora2016",
        "solstice2018",
        "solstice2018",
    ]


def test_multilevel_equals_rma_mv(light) -> None:
    report = pool_evidence(light, "depression", dependence="multilevel", robust="CR1", by=None)
    rows = report.pooled
    yi, vi = escalc(rows["responders"].astype(int), rows["n"].astype(int), "PLO")
    direct = pool_multilevel(yi, vi, rows["key"].tolist(), robust=True)
    assert report.overall.estimate_t == pytest.approx(direct.estimate, rel=1e-12)
    assert report.overall.sigma2_study == direct.sigma2_study
    assert report.overall.sigma2_row == direct.sigma2_row
    assert report.overall.robust == "CR1" and report.overall.k == 6
    text = (
        CliRunner()
        .invoke(main, ["pool", str(LIGHT), "--dependence", "multilevel", "--by", "none"])
        .stdout
    )
    assert "sigma² between studies = " in text and "(4 studies)" in text


def test_glmm_in_an_analysis_equals_rma_glmm(light) -> None:
    report = pool_evidence(light, "depression", method="GLMM", by=None)
    rows = report.pooled
    direct = pool_proportions(rows["responders"].astype(int), rows["n"].astype(int), method="GLMM")
    assert report.overall.estimate == pytest.approx(direct.estimate, rel=1e-12)
    assert type(report.overall).__name__ == "GLMMResult"


def test_a_model_that_cannot_be_fitted_is_a_warning_not_a_crash(light) -> None:
    report = pool_evidence(light, "sleep", method="GLMM", domain="sleep")
    assert report.overall is not None  # two studies: fitted
    one = pool_evidence(light, "depression", method="GLMM", arm="light-dawn", by=None)
    assert one.overall is None
    assert one.warnings[-1].startswith("the model could not be fitted: the GLMM needs at least 2")


def test_comparison_dependence_policies(base) -> None:
    for policy in ("aggregate", "multilevel", "none"):
        report = Analysis(name=f"x-{policy}", effect="OR", domain="d", dependence=policy).run(base)
        assert report.overall is not None or report.warnings


# ------------------------------------------------------------------------- outputs


def test_forest_plot_of_a_ratio_is_on_a_log_axis_with_a_null_line(bundled) -> None:
    fig = charts.forest_plot(bundled, "obsessive-compulsive-vs-control")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [line.get_xdata()[0] for line in ax.get_lines() if line.get_gid() == "no-effect"] == [
        1.0
    ]
    favours = [a.get_text() for a in ax.texts if a.get_gid() == "favours"]
    assert favours == ["← Favours placebo", "Favours ketamine →"]
    assert ax.get_xlabel() == "Odds ratio (OR, log scale)"
    assert any(isinstance(p, Polygon) and p.get_gid() == "pooled:overall" for p in ax.patches)


def test_forest_plot_of_a_difference_favours_by_the_scale_direction(bundled) -> None:
    fig = charts.forest_plot(bundled, "ptsd-vs-control")
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    favours = [a.get_text() for a in ax.texts if a.get_gid() == "favours"]
    assert favours == ["← Favours ketamine", "Favours midazolam →"]  # CAPS-5: higher is worse


def test_cli_contrasts_table_and_json(bundled) -> None:
    runner = CliRunner()
    table = runner.invoke(
        main, ["table", str(ROOT / "studies.bib"), "--contrasts", "--format", "json"]
    )
    rows = json.loads(table.stdout)
    assert len(rows) == len(bundled.contrasts)
    pooled = runner.invoke(
        main,
        ["pool", str(ROOT / "studies.bib"), "--analysis", "anxiety-vs-control", "--format", "json"],
    )
    data = json.loads(pooled.stdout)
    assert data["pooled"] is None and [r["key"] for r in data["beside"]] == ["hartland2023"] * 3
    assert data["analysis"]["effect"] == "SMD"


def test_workbook_contrasts_sheet(bundled, tmp_path) -> None:
    import openpyxl

    from evidence.workbook import write_workbook

    path = write_workbook(bundled, tmp_path / "c.xlsx")
    ws = openpyxl.load_workbook(path)["Contrasts"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=False)) for r in ws.iter_rows(min_row=2, values_only=True)]
    rod = next(r for r in rows if r["key"] == "rodriguez2013")
    assert (rod["events_i"], rod["n_i"], rod["events_c"], rod["n_c"]) == (4, 8, 0, 7)
    assert rod["OR"] == pytest.approx(15.0) and rod["RR"] == pytest.approx(8.0)
    assert rod["RD"] == pytest.approx(0.4375)
    assert header[0] == "key" and len(rows) == len(bundled.contrasts)
    feder = [r for r in rows if r["key"] == "feder2021" and r["effect"] == "SMD"]
    assert feder[0]["estimate"] == pytest.approx(-1.13)
    assert pd.isna(feder[0]["OR"]) or feder[0]["OR"] is None
