"""GRADE certainty (evidence.grade): each draft rule at its boundaries, the start levels, the
optimal information sizes and absolute effects against hand-computed values, the protocol's
judgements (shown beside the draft) and their errors, the summary of findings, `evidence
grade`."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from click.testing import CliRunner

import evidence
from evidence.analysis import Analysis
from evidence.cli import main
from evidence.grade import (
    DOMAINS,
    SOF_COLUMNS,
    absolute_effect_text,
    absolute_risk,
    grade,
    level_after,
    ois_binary,
    ois_continuous,
    ois_proportion,
    rate_imprecision,
    rate_inconsistency,
    rate_publication_bias,
    rate_risk_of_bias,
    read_grade,
    start_level,
    summary_of_findings,
)
from evidence.pooling import run_analysis
from evidence.protocol import parse_protocol

from .conftest import ROOT

# z quantiles written out (R: qnorm(0.975), qnorm(0.8), qnorm(0.995), qnorm(0.9)), so the OIS
# values below are computed by hand, not by the function under test.
Z975, Z80, Z995, Z90 = 1.959963984540054, 0.8416212335729143, 2.5758293035489, 1.2815515655446004


# ------------------------------------------------------------------------------ start


@pytest.mark.parametrize(
    ("effect", "designs", "tools", "level", "says"),
    [
        pytest.param("OR", ["rct-parallel", "rct-crossover"], ["RoB2", "RoB2"], "high", "2 of 2",
                     id="rcts"),
        pytest.param("SMD", ["ascending-dose"], ["RoB2"], "high", "1 of 1", id="rob2-tool"),
        pytest.param("OR", ["rct-parallel", "cohort"], ["RoB2", "ROBINS-I"], "low",
                     "1 of 2 comparisons not randomised", id="mixed"),
        pytest.param("proportion", ["rct-parallel"], ["RoB2"], "low",
                     "even where the arms come from randomised trials", id="single-arm-of-rct"),
        pytest.param("RR", ["cohort"], [None], "low", "observational", id="cohort"),
    ],
)  # fmt: skip
def test_start_level(effect, designs, tools, level: str, says: str) -> None:
    start, reason = start_level(effect, designs, tools)
    assert start == level
    assert says in reason


@pytest.mark.parametrize(
    ("start", "ratings", "level"),
    [
        pytest.param("high", [0, 0, 0, 0, 0], "high", id="none"),
        pytest.param("high", [-1, 0, 0, 0, 0], "moderate", id="one"),
        pytest.param("high", [-1, -2, 0, 0, 0], "very low", id="three"),
        pytest.param("high", [-2, -2, -2, 0, 0], "very low", id="floor"),
        pytest.param("low", [-1, 0, 0, 0, 0], "very low", id="low-one"),
        pytest.param("low", [0, 0, 0, 0, 0], "low", id="low-none"),
    ],
)
def test_level_after_never_below_very_low(start: str, ratings: list[int], level: str) -> None:
    assert level_after(start, ratings) == level


# ------------------------------------------------------------------------------ risk of bias


def _weighted(high: float, unclear: float, low: float, *, critical: float = 0.0):
    """Results with these weights: at high (RoB 2), unknown, low and critical (ROBINS-I) risk."""
    return [
        ("h", "high", "RoB2", high),
        ("u", "no information", "RoB2", unclear),
        ("l", "low", "RoB2", low),
        ("c", "critical", "ROBINS-I", critical),
    ]


@pytest.mark.parametrize(
    ("weights", "rating", "rule"),
    [
        pytest.param(_weighted(49.9, 0, 50.1), 0, "less than 50%", id="high-just-below"),
        pytest.param(_weighted(50, 0, 50), -1, "at least 50% of the weight at high risk",
                     id="high-at"),
        pytest.param(_weighted(50.1, 0, 49.9), -1, "at high risk: serious", id="high-above"),
        pytest.param(_weighted(20, 29.9, 50.1), 0, "less than 50%", id="unknown-just-below"),
        pytest.param(_weighted(20, 30, 50), -1, "high or unknown risk", id="unknown-at"),
        pytest.param(_weighted(0, 100, 0), -1, "high or unknown risk", id="all-unknown"),
        pytest.param(_weighted(0, 0, 50.1, critical=49.9), 0, "less than 50%",
                     id="critical-just-below"),
        pytest.param(_weighted(0, 0, 50, critical=50), -2, "critical risk", id="critical-at"),
        pytest.param(_weighted(10, 0, 0, critical=90), -2, "very serious", id="critical-most"),
    ],
)  # fmt: skip
def test_risk_of_bias_rule(weights, rating: int, rule: str) -> None:
    rated = rate_risk_of_bias(weights)
    assert (rated.domain, rated.draft, rated.judged, rated.declared) == (
        "risk_of_bias",
        rating,
        rating,
        False,
    )
    assert rule in rated.rule


def test_risk_of_bias_trigger_names_the_shares_and_the_studies() -> None:
    rated = rate_risk_of_bias(
        [
            ("a", "high", "RoB2", 31.0),
            ("b", "serious", "ROBINS-I", 31.0),
            ("c", None, "none", 20.0),
            ("d", None, None, 18.0),
        ]
    )
    assert rated.trigger == (
        "62% of the weight at high risk of bias (a: high; b: serious), 38% at a risk that "
        "cannot be judged (c: no tool applies; d: not assessed)"
    )
    assert rated.draft == -1


def test_risk_of_bias_trigger_names_at_most_named_max_per_level() -> None:
    from evidence.grade import NAMED_MAX

    many = [(f"s{i}", None, "none", 1.0) for i in range(NAMED_MAX + 3)]
    rated = rate_risk_of_bias([("h", "high", "RoB2", 1.0), *many])
    shown = "; ".join(f"s{i}: no tool applies" for i in range(NAMED_MAX))
    assert rated.trigger.endswith(f"cannot be judged ({shown}; and 3 more)")
    assert "(h: high)" in rated.trigger
    exact = rate_risk_of_bias(many[:NAMED_MAX])
    assert exact.trigger.endswith(f"({shown})")


def test_risk_of_bias_without_weights_counts_studies_equally() -> None:
    rated = rate_risk_of_bias([("a", "high", "RoB2", math.nan), ("b", "low", "RoB2", math.nan)])
    assert rated.trigger.startswith("50% of the studies (equal weights: no weights known)")
    assert rated.draft == -1


# ------------------------------------------------------------------------------ inconsistency


@pytest.mark.parametrize(
    ("k", "i2", "pi", "threshold", "rating", "rule"),
    [
        pytest.param(1, 0.0, (None, None), 1.0, 0, "not assessable with one study", id="k1"),
        pytest.param(2, 49.9, (0.5, 2.0), 1.0, 0, "I² below 50%", id="i2-just-below-50"),
        pytest.param(2, 50.0, (0.5, 2.0), 1.0, -1, "I² at least 50%", id="i2-at-50"),
        pytest.param(2, 74.9, (0.5, 2.0), 1.0, -1, "I² at least 50%", id="i2-just-below-75"),
        pytest.param(3, 75.0, (0.5, 2.0), 1.0, -2, "contains the threshold", id="i2-at-75-pi"),
        pytest.param(3, 90.0, (1.2, 3.0), 1.0, -1, "does not contain the threshold",
                     id="pi-clear"),
        pytest.param(3, 90.0, (1.0, 3.0), 1.0, -1, "does not contain the threshold",
                     id="pi-touches"),
        pytest.param(3, 90.0, (0.2, 0.9), None, -1, "no threshold declared", id="no-threshold"),
        pytest.param(3, 90.0, (None, None), 0.0, -1, "no prediction interval", id="no-pi"),
    ],
)  # fmt: skip
def test_inconsistency_rule(k, i2, pi, threshold, rating: int, rule: str) -> None:
    rated = rate_inconsistency(k, i2, pi, threshold)
    assert rated.draft == rating
    assert rule in rated.rule


def test_inconsistency_trigger_gives_i2_and_the_prediction_interval() -> None:
    rated = rate_inconsistency(4, 81.24, (0.4, 3.5), 1.0)
    assert rated.trigger == "I² = 81%; prediction interval 0.4 to 3.5 contains the threshold 1"


# ------------------------------------------------------------------------------ imprecision


def test_ois_binary_against_hand_computed_values() -> None:
    # p_c 0.2, RRR 25%: p_i 0.15; n = (z + z)^2 (0.16 + 0.1275) / 0.05^2 = 902.62 -> 903
    n = (Z975 + Z80) ** 2 * (0.2 * 0.8 + 0.15 * 0.85) / 0.05**2
    assert math.ceil(n) == 903
    assert ois_binary(0.2, 0.25) == 2 * 903 == 1806
    # p_c 0.4, RRR 50%, alpha 0.01, power 0.9: p_i 0.2
    n = (Z995 + Z90) ** 2 * (0.4 * 0.6 + 0.2 * 0.8) / 0.2**2
    assert ois_binary(0.4, 0.5, alpha=0.01, power=0.9) == 2 * math.ceil(n) == 2 * 149


def test_ois_continuous_against_hand_computed_values() -> None:
    # SD 10, difference 5: n = 2 (z + z)^2 100 / 25 = 62.79 -> 63 per group
    assert ois_continuous(10.0, 5.0) == 2 * math.ceil(2 * (Z975 + Z80) ** 2 * 4) == 126
    # SMD 0.2 (sd 1): 392.44 -> 393 per group
    assert ois_continuous(1.0, 0.2) == 786
    assert ois_continuous(1.0, 0.5, alpha=0.01, power=0.9) == 2 * math.ceil(
        2 * (Z995 + Z90) ** 2 / 0.25
    )


def test_ois_proportion_against_hand_computed_values() -> None:
    # z^2 p (1 - p) / d^2: 3.8415 x 0.25 / 0.01 = 96.04 -> 97
    assert ois_proportion(0.5, 0.1) == 97
    assert ois_proportion(0.9, 0.05) == math.ceil(Z975**2 * 0.09 / 0.0025) == 139
    assert ois_proportion(0.2, 0.1, alpha=0.01) == math.ceil(Z995**2 * 0.16 / 0.01) == 107


@pytest.mark.parametrize(
    ("ci", "threshold", "n", "ois", "rating", "rule"),
    [
        pytest.param((0.5, 2.0), 1.0, 500, 400, -1, "the CI contains the threshold",
                     id="ci-contains"),
        pytest.param((1.0, 2.0), 1.0, 500, 400, 0, "neither", id="ci-touches"),
        pytest.param((1.01, 2.0), 1.0, 500, 400, 0, "neither", id="ci-clear"),
        pytest.param((1.2, 2.0), 1.0, 399, 400, -1, "fewer participants", id="n-just-below"),
        pytest.param((1.2, 2.0), 1.0, 400, 400, 0, "neither", id="n-at-ois"),
        pytest.param((0.5, 2.0), 1.0, 10, 400, -2, "CI contains the threshold and fewer",
                     id="both"),
        pytest.param((0.5, 0.9), None, 10, 400, -1, "fewer participants", id="no-threshold"),
        pytest.param((0.5, 2.0), 1.0, None, 400, -1, "the CI contains", id="n-unknown"),
        pytest.param((0.5, 2.0), 1.0, 10, None, -1, "the CI contains", id="ois-unknown"),
    ],
)  # fmt: skip
def test_imprecision_rule(ci, threshold, n, ois, rating: int, rule: str) -> None:
    rated = rate_imprecision(ci, threshold, n, ois, ois_note="assumptions")
    assert rated.draft == rating
    assert rule in rated.rule


def test_imprecision_trigger_names_the_ci_n_and_ois() -> None:
    rated = rate_imprecision((0.5, 2.0), 1.0, 30, 786, ois_note="SMD 0.2", n_note="enrolled")
    assert rated.trigger == (
        "95% CI 0.5 to 2 contains the threshold 1; N = 30 (enrolled) < OIS 786 (SMD 0.2)"
    )


# ------------------------------------------------------------------------------ publication bias


@pytest.mark.parametrize(
    ("k", "rule"),
    [
        pytest.param(9, "cannot be assessed (k < 10)", id="k9"),
        pytest.param(10, "not drafted from the numbers", id="k10"),
        pytest.param(11, "not drafted from the numbers", id="k11"),
    ],
)
def test_publication_bias_rule(k: int, rule: str) -> None:
    rated = rate_publication_bias(k)
    assert rated.draft == 0 and rated.rule.startswith(rule)
    assert rated.trigger == f"k = {k}"


# ------------------------------------------------------------------------------ absolute effects


@pytest.mark.parametrize(
    ("effect", "value", "risk", "expected"),
    [
        pytest.param("RR", 0.5, 0.2, 0.1, id="rr"),
        pytest.param("RR", 3.0, 0.5, 1.0, id="rr-clipped"),
        pytest.param("OR", 2.0, 0.2, 0.4 / 1.2, id="or"),  # 2 x 0.2 / (0.8 + 0.4)
        pytest.param("OR", 15.0, 0.1, 1.5 / 2.4, id="or-large"),  # 1.5 / (0.9 + 1.5)
        pytest.param("OR", 1.0, 0.3, 0.3, id="or-null"),
        pytest.param("RD", -0.05, 0.2, 0.15, id="rd"),
    ],
)
def test_absolute_risk_against_hand_computed_values(effect, value, risk, expected) -> None:
    assert absolute_risk(effect, value, risk) == pytest.approx(expected, rel=1e-12)


def test_absolute_effect_text_per_1000() -> None:
    # OR 1.5 at 0.2: 0.3 / 1.1 = 0.2727 -> 273; 0.9: 0.18 / 0.98 -> 184; 2.5: 0.5 / 1.3 -> 385
    assert absolute_effect_text("OR", (1.5, 0.9, 2.5), 0.2) == (
        "73 more per 1,000 (from 16 fewer to 185 more), at a comparator risk of 200 per 1,000 "
        "(declared)"
    )
    # RR 0.5 (0.25 to 1.0) at 0.3: 150, 75, 300 per 1,000
    assert absolute_effect_text("RR", (0.5, 0.25, 1.0), 0.3, "observed") == (
        "150 fewer per 1,000 (from 225 fewer to 0 more), at a comparator risk of 300 per 1,000 "
        "(observed)"
    )


def test_absolute_risk_refuses_what_it_cannot_do() -> None:
    with pytest.raises(ValueError, match="no absolute risk for 'SMD'"):
        absolute_risk("SMD", 0.5, 0.2)
    with pytest.raises(ValueError, match="not a proportion"):
        absolute_risk("OR", 2.0, 1.5)


# ------------------------------------------------------------------------------ a constructed base


def _rob(overall: str, *, extra: str = "") -> str:
    """RoB 2 rows with every domain at ``overall`` (low or high)."""
    rows = "\n".join(
        f"    domain=D{i}; judgement={overall}; support={{stated in the paper}}"
        for i in range(1, 6)
    )
    return f"{rows}\n    domain=overall; judgement={overall}\n{extra}"


def _trial(key: str, design: str, drug: tuple[int, int], placebo: tuple[int, int], rob: str) -> str:
    return f"""@article{{{key},
  author = {{Doe, Jane}}, title = {{Trial {key}}}, journal = {{J}}, year = {{2020}},
  design = {{{design}}}, blinding = {{double-blind}}, arms = {{drug; placebo}},
  n_enrolled = {{{drug[1] + placebo[1]}}},
  outcomes = {{
    arm=drug; domain=resp; measure=S; responders={drug[0]}; n={drug[1]}; time=1 week
    arm=placebo; domain=resp; measure=S; responders={placebo[0]}; n={placebo[1]}; time=1 week
  }},
  rob_tool = {{RoB2}},
  rob = {{
{rob}  }},
}}
"""


OVERRIDE = (
    "    outcome=1; domain=D4; judgement=high; support={self-rated by unblinded participants}\n"
    "    outcome=1; domain=overall; judgement=high\n"
)
TRIALS = {
    "t1": _trial("t1", "rct-parallel", (8, 20), (4, 20), _rob("low")),
    "t2": _trial("t2", "rct-parallel", (12, 30), (6, 30), _rob("low")),
    "t3": _trial("t3", "rct-parallel", (15, 25), (5, 25), _rob("high")),
    # the study is at low risk, its drug arm's result (outcome row 1) at high risk
    "t4": _trial("t4", "rct-crossover", (9, 18), (3, 18), _rob("low", extra=OVERRIDE)),
}
SINGLE_ARM = """@article{s5,
  author = {Roe, Rick}, title = {Open trial}, journal = {J}, year = {2021},
  design = {single-arm}, arms = {drug}, n_enrolled = {10},
  outcomes = {
    arm=drug; domain=resp; measure=S; responders=7; n=10; time=1 week
  },
  rob_tool = {none},
}
"""
PROTOCOL = {
    "analyses": {
        "resp": {"title": "Response rate", "headline": True, "domain": "resp"},
        "resp-or": {"title": "Responders, odds ratio", "headline": True, "effect": "OR"},
        "resp-md": {"title": "Not headline", "effect": "MD"},
    },
    "grade": {
        "alpha": 0.05,
        "resp": {"precision": 0.05},
        "resp-or": {
            "comparator_risk": 0.3,
            "imprecision": {"rating": -2, "reason": "few events in small trials"},
            "indirectness": {"rating": 0, "reason": "the question's population"},
        },
    },
}


def _base(keys=("t1", "t2", "t3", "t4"), *, single_arm: bool = True, protocol=PROTOCOL):
    text = "".join(TRIALS[k] for k in keys) + (SINGLE_ARM if single_arm else "")
    loaded = evidence.loads(text, "trials.bib", protocol=parse_protocol(protocol, "proto.toml"))
    assert loaded.errors == [], [str(p) for p in loaded.errors]
    return loaded


@pytest.fixture(scope="module")
def trials():
    return _base()


# ------------------------------------------------------------------------------ low risk only


def test_low_risk_only_pools_exactly_the_low_risk_results(trials) -> None:
    analysis = trials.protocol.analysis("resp")
    low = run_analysis(trials, analysis.replace(risk_of_bias="low"))
    assert list(low.pooled["key"]) == ["t1", "t2"]  # t3 high, t4's drug row high, s5 no tool
    alone = run_analysis(_base(("t1", "t2"), single_arm=False), analysis)
    assert low.overall.k == alone.overall.k == 2
    assert low.overall.estimate == pytest.approx(alone.overall.estimate, rel=1e-12)
    assert low.overall.ci_low == pytest.approx(alone.overall.ci_low, rel=1e-12)
    assert low.overall.ci_high == pytest.approx(alone.overall.ci_high, rel=1e-12)
    reasons = dict(
        zip(low.selection.excluded["key"], low.selection.excluded["reason"], strict=True)
    )
    assert reasons["t3"] == (
        "overall risk of bias 'high'; the analysis keeps results at low risk of bias only"
    )
    assert reasons["t4"].startswith("overall risk of bias 'high'")
    assert reasons["s5"].startswith("no risk-of-bias tool applies (rob_tool none)")
    full = run_analysis(trials, analysis)
    assert full.overall.k == 5 and full.analysis.risk_of_bias == "any"


def test_low_risk_only_comparisons_use_their_results_judgement(trials) -> None:
    analysis = trials.protocol.analysis("resp-or")
    low = run_analysis(trials, analysis.replace(risk_of_bias="low"))
    alone = run_analysis(_base(("t1", "t2"), single_arm=False), analysis)
    assert list(low.pooled["key"]) == ["t1", "t2"]
    assert low.overall.estimate == pytest.approx(alone.overall.estimate, rel=1e-12)
    assert low.overall.se == pytest.approx(alone.overall.se, rel=1e-12)
    assert list(trials.contrasts["rob_overall"].astype(str)) == ["low", "low", "high", "high"]


def test_risk_of_bias_is_a_recorded_setting() -> None:
    assert Analysis().risk_of_bias == "any"
    assert Analysis(risk_of_bias="LOW").to_dict()["risk_of_bias"] == "low"
    with pytest.raises(evidence.AnalysisError, match=r"risk_of_bias: unknown value 'some'"):
        Analysis(risk_of_bias="some")


def test_low_risk_sensitivity_table(trials, base) -> None:
    from evidence.pooling import analyses_in_force, risk_of_bias_sensitivity

    reports = [a.run(trials) for a in analyses_in_force(trials)]
    table = risk_of_bias_sensitivity(trials, reports)
    row = table.set_index("analysis").loc["resp"]
    assert (row["k"], row["n_total"]) == (2, 50)
    assert row["note"] == "2 of the 5 rows pooled by the analysis are at low risk of bias"
    bundled = risk_of_bias_sensitivity(base, [a.run(base) for a in analyses_in_force(base)])
    anxiety = bundled.set_index("analysis").loc["anxiety"]
    assert anxiety["k"] == 0 and pd.isna(anxiety["estimate"]) and pd.isna(anxiety["n_total"])
    assert anxiety["note"] == (
        "no estimate: none of the 2 studies pooled by the analysis is at low risk of bias "
        "(glue2017: no risk-of-bias tool applies (rob_tool none); irwin2013: no risk-of-bias "
        "tool applies (rob_tool none))"
    )
    ptsd = bundled.set_index("analysis").loc["ptsd-vs-control"]
    assert ptsd["note"] == (
        "no estimate: the one study pooled by the analysis is not at low risk of bias "
        "(feder2021: overall risk of bias 'no information')"
    )


def test_low_risk_reruns_once_per_base_and_analysis(monkeypatch) -> None:
    from evidence import pooling

    trials = _base(single_arm=False)  # a base of its own: no runs kept from other tests
    reports = [a.run(trials) for a in pooling.analyses_in_force(trials)]
    runs = []
    run = pooling.run_analysis
    monkeypatch.setattr(pooling, "run_analysis", lambda b, a: runs.append(a) or run(b, a))
    first = pooling.risk_of_bias_sensitivity(trials, reports)
    assert len(runs) == len(reports)  # the workbook's table
    again = pooling.risk_of_bias_sensitivity(trials, reports[:1])  # the report, one by one
    assert len(runs) == len(reports)
    pd.testing.assert_frame_equal(again, first.iloc[:1])
    other = _base(("t1", "t2", "t3"), single_arm=False)  # another base: its own runs
    other_reports = [a.run(other) for a in pooling.analyses_in_force(other)]
    pooling.risk_of_bias_sensitivity(other, other_reports)
    assert len(runs) > len(reports)


def test_pool_low_risk_only_on_the_bundled_base_says_why_nothing_is_pooled() -> None:
    result = CliRunner().invoke(main, ["pool", str(ROOT / "studies.bib"), "--low-risk-only"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "results at low risk of bias only" in lines[1]
    assert "(no rows to pool)" in lines
    assert (
        "  glue2017 row 1: no risk-of-bias tool applies (rob_tool none); the analysis keeps "
        "results at low risk of bias only"
    ) in lines
    assert "nan" not in result.stdout.lower()
    data = json.loads(
        CliRunner()
        .invoke(main, ["pool", str(ROOT / "studies.bib"), "--low-risk-only", "--format", "json"])
        .stdout
    )
    assert data["analysis"]["risk_of_bias"] == "low" and data["pooled"] is None


# ------------------------------------------------------------------------------ grade()


def test_grade_of_a_comparison_with_judgements(trials) -> None:
    report = trials.protocol.analysis("resp-or").run(trials)
    certainty = grade(report, trials)
    assert (certainty.start, certainty.start_reason) == ("high", "randomised comparisons: 4 of 4")
    assert [d.domain for d in certainty.domains] == list(DOMAINS)
    weights = dict(zip(report.per_study["key"], report.per_study["weight"], strict=True))
    high = weights["t3"] + weights["t4"]
    rob = certainty.domain("risk_of_bias")
    assert rob.trigger.startswith(f"{high:.0f}% of the weight at high risk of bias (t3: high; t4:")
    assert rob.draft == (-1 if high >= 50 else 0)
    imprecision = certainty.domain("imprecision")
    assert (imprecision.draft, imprecision.judged, imprecision.declared) == (-1, -2, True)
    assert imprecision.overridden and imprecision.reason == "few events in small trials"
    assert "comparator risk 30% (declared), RRR 25%" in imprecision.trigger
    indirect = certainty.domain("indirectness")
    assert indirect.declared and not indirect.overridden
    drafts = [d.draft for d in certainty.domains]
    judged = [d.judged for d in certainty.domains]
    assert certainty.draft_level == level_after("high", drafts)
    assert certainty.level == level_after("high", judged)
    assert certainty.level != certainty.draft_level
    assert (
        certainty.symbols
        == {"moderate": "⊕⊕⊕◯", "low": "⊕⊕◯◯", "very low": "⊕◯◯◯"}[certainty.level]
    )


def test_grade_of_a_proportion_starts_low_and_uses_the_ois_of_a_rate(trials) -> None:
    report = trials.protocol.analysis("resp").run(trials)
    certainty = grade(report, trials)
    assert certainty.start == "low"
    rated = certainty.domain("imprecision")
    expected = ois_proportion(report.overall.estimate, 0.05)
    assert f"N = {report.overall.n_total} < OIS {expected}" in rated.trigger
    assert "no decision threshold declared" in rated.trigger
    assert "(the pooled rate) ± 5%" in rated.trigger
    assert rated.draft == -1


def test_grade_of_nothing_pooled(base) -> None:
    report = base.protocol.analysis("anxiety-vs-control").run(base)
    certainty = grade(report, base)
    assert (certainty.start, certainty.level, certainty.domains) == (None, None, ())
    assert certainty.symbols == ""


def test_grade_on_the_bundled_base(base) -> None:
    ocd = grade(base.protocol.analysis("obsessive-compulsive-vs-control").run(base), base)
    assert (ocd.start, ocd.draft_level, ocd.level) == ("high", "low", "very low")
    imprecision = ocd.domain("imprecision")
    assert (imprecision.draft, imprecision.judged) == (-1, -2)
    assert "contains the threshold 1.00" in imprecision.trigger
    assert "comparator risk 0% (observed): declare comparator_risk" in imprecision.trigger
    ptsd = grade(base.protocol.analysis("ptsd-vs-control").run(base), base)
    assert ptsd.domain("imprecision").trigger.endswith(
        "N = 30 (enrolled in the studies) < OIS 786 (SMD 0.2 (default), α 0.05, power 80%)"
    )
    mood = grade(base.protocol.analysis("mood").run(base), base)
    assert mood.domain("indirectness").judged == -1
    assert mood.domain("indirectness").reason.startswith("Population: all 7 were previous")


# ------------------------------------------------------------------------------ protocol errors


@pytest.mark.parametrize(
    ("grade_table", "message"),
    [
        pytest.param({"resp": {"indirect": {"rating": -1, "reason": "x"}}},
                     r"grade\.resp\.indirect: unknown key \(allowed: threshold, comparator_risk, "
                     r".*risk_of_bias, inconsistency, indirectness, imprecision, "
                     r"publication_bias\)", id="unknown-domain"),
        pytest.param({"resp": {"imprecision": {"rating": -3, "reason": "x"}}},
                     r"grade\.resp\.imprecision\.rating: -3 is not a rating "
                     r"\(allowed: 0, -1, -2\)", id="rating-3"),
        pytest.param({"resp": {"imprecision": {"rating": 1, "reason": "x"}}},
                     r"grade\.resp\.imprecision\.rating: 1 is not a rating", id="rating-up"),
        pytest.param({"resp": {"imprecision": {"rating": True, "reason": "x"}}},
                     r"grade\.resp\.imprecision\.rating: True is not a rating", id="rating-bool"),
        pytest.param({"resp": {"imprecision": {"reason": "x"}}},
                     r"grade\.resp\.imprecision\.rating: a judgement needs a rating",
                     id="rating-missing"),
        pytest.param({"resp": {"imprecision": {"rating": -1}}},
                     r"grade\.resp\.imprecision\.reason: a judgement needs its reason",
                     id="reason-missing"),
        pytest.param({"resp": {"imprecision": {"rating": -1, "reason": "  "}}},
                     r"grade\.resp\.imprecision\.reason: a judgement needs its reason",
                     id="reason-empty"),
        pytest.param({"resp": {"imprecision": {"rating": -1, "reason": "x", "why": "y"}}},
                     r"grade\.resp\.imprecision\.why: unknown key \(allowed: rating, reason\)",
                     id="judgement-key"),
        pytest.param({"resp": {"imprecision": -1}},
                     r"grade\.resp\.imprecision: expected a table", id="judgement-scalar"),
        pytest.param({"other": {"threshold": 0.5}},
                     r"grade\.other: no such analysis in the protocol \(allowed: resp, resp-or, "
                     r"resp-md\)", id="analysis"),
        pytest.param({"resp": {"threshold": 2}},
                     r"grade\.resp\.threshold: 2 is not a proportion", id="threshold-rate"),
        pytest.param({"resp-or": {"threshold": 0}},
                     r"grade\.resp-or\.threshold: 0 is not a ratio \(the analysis pools OR\)",
                     id="threshold-ratio"),
        pytest.param({"resp-or": {"comparator_risk": 1.5}},
                     r"grade\.resp-or\.comparator_risk: 1\.5 is not strictly between 0 and 1",
                     id="risk"),
        pytest.param({"resp-md": {"sd": 10}},
                     r"grade\.resp-md\.difference: sd and difference go together", id="sd-alone"),
        pytest.param({"alpha": 0}, r"grade\.alpha: 0 is not strictly between 0 and 1",
                     id="alpha"),
        pytest.param({"beta": 0.2}, r"grade\.beta: unknown key \(allowed: alpha, power, or a "
                     r"table named after an analysis\)", id="top-key"),
    ],
)  # fmt: skip
def test_grade_protocol_errors_are_one_line_and_name_the_key_path(grade_table, message) -> None:
    data = {**PROTOCOL, "grade": grade_table}
    with pytest.raises(evidence.ProtocolError, match=r"^proto\.toml: " + message) as caught:
        parse_protocol(data, "proto.toml")
    assert "\n" not in str(caught.value)


def test_grade_protocol_in_a_pyproject(tmp_path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.evidence.analyses.main]\nheadline = true\n"
        "[tool.evidence.grade.main]\nimprecision = { rating = 2, reason = 'x' }\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["grade", "--config", str(tmp_path / "pyproject.toml")])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'pyproject.toml'}: tool.evidence.grade.main.imprecision.rating: "
        "2 is not a rating (allowed: 0, -1, -2)\n"
    )


def test_the_readme_example_of_a_judgement_without_reason(tmp_path) -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index('indirectness = { rating = -1, reason = "Population: all 7')
    end = text.index("\n", start)
    (tmp_path / "pyproject.toml").write_text(
        text[:start] + "indirectness = { rating = -1 }" + text[end:], encoding="utf-8"
    )
    result = CliRunner().invoke(main, ["grade", "--config", str(tmp_path / "pyproject.toml")])
    shown = result.stderr.replace(str(tmp_path / "pyproject.toml"), "pyproject.toml")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert result.exit_code == 1 and shown.rstrip("\n") in readme
    assert shown == (
        "Error: pyproject.toml: tool.evidence.grade.mood.indirectness.reason: a judgement needs "
        "its reason (the facts it rests on) (allowed: text)\n"
    )


def test_read_grade_without_declared_analyses_accepts_any_name() -> None:
    plans = read_grade({"power": 0.9, "sleep": {"precision": 0.05}})
    assert plans.plan("sleep").value("precision") == 0.05
    assert plans.plan("sleep").value("power") == 0.9
    assert plans.plan("other").value("alpha") == 0.05


# ------------------------------------------------------------------------------ summary of findings


def test_summary_of_findings_of_a_binary_comparison(trials) -> None:
    reports = [a.run(trials) for a in trials.protocol.analyses]
    frame = summary_of_findings(trials, reports)
    assert tuple(frame.columns) == SOF_COLUMNS
    assert list(frame["analysis"]) == ["resp", "resp-or"]  # headlines only
    row = frame.set_index("analysis").loc["resp-or"]
    res = reports[1].overall
    # declared comparator risk 0.3: p_i = OR p / (1 - p + OR p), per 1,000
    per = [round(1000 * x * 0.3 / (0.7 + x * 0.3)) for x in (res.estimate, res.ci_low, res.ci_high)]
    assert row["comparator_per_1000"] == 300
    assert [
        row["intervention_per_1000"],
        row["intervention_low_per_1000"],
        row["intervention_high_per_1000"],
    ] == per
    diff = [p - 300 for p in per]
    assert row["absolute_effect"] == (
        f"{diff[0]} more per 1,000 (from {abs(diff[1])} "
        f"{'fewer' if diff[1] < 0 else 'more'} to {diff[2]} more), at a comparator risk of 300 "
        "per 1,000 (declared)"
    )
    assert row["participants"] == 20 + 20 + 30 + 30 + 25 + 25 + 18 + 18
    assert row["relative_effect"].startswith(f"OR {res.estimate:.2f} (95% CI ")
    assert (row["certainty"], row["draft_certainty"]) == (
        grade(reports[1], trials).level,
        grade(reports[1], trials).draft_level,
    )
    notes = row["footnotes"].splitlines()
    marks = row["footnote_marks"].split(",")
    assert [n.split(".")[0] for n in notes] == marks
    imprecision = grade(reports[1], trials).domain("imprecision")
    assert imprecision.rule == "fewer participants than the optimal information size"
    assert (
        f"{marks[-1]}. Imprecision, rated down two levels by the analyst (draft: rated down one "
        f"level): few events in small trials. Draft ({imprecision.rule}): {imprecision.trigger}."
    ) in notes
    # letters run on across the table: the first row's come first
    first = frame.set_index("analysis").loc["resp", "footnote_marks"].split(",")
    assert first[0] == "a" and marks[0] == chr(ord(first[-1]) + 1)


def test_summary_of_findings_observed_comparator_risk_per_1000(trials) -> None:
    protocol = {**PROTOCOL, "grade": {}}
    loaded = _base(protocol=protocol)
    report = loaded.protocol.analysis("resp-or").run(loaded)
    row = summary_of_findings(loaded, [report]).iloc[0]
    risk = (4 + 6 + 5 + 3) / (20 + 30 + 25 + 18)
    assert row["comparator_risk"] == pytest.approx(risk)
    assert row["comparator_per_1000"] == round(1000 * risk) == 194
    assert row["intervention_per_1000"] == round(
        1000 * absolute_risk("OR", report.overall.estimate, risk)
    )
    assert row["absolute_effect"].endswith("at a comparator risk of 194 per 1,000 (observed)")


def test_summary_of_findings_of_the_bundled_base(base) -> None:
    from evidence.pooling import headline_analyses

    frame = summary_of_findings(base, [a.run(base) for a in headline_analyses(base)])
    rows = frame.set_index("analysis")
    assert list(rows.index) == [a.name for a in headline_analyses(base)]
    anxiety = rows.loc["anxiety"]
    assert (anxiety["k"], anxiety["participants"]) == (2, 20)
    assert anxiety["relative_effect"] == "rate 86.8% (95% CI 63.2% to 96.2%)"
    assert anxiety["absolute_effect"] == "868 per 1,000 (632 to 962)"
    assert (anxiety["symbols"], anxiety["certainty"]) == ("⊕◯◯◯", "very low")
    ocd = rows.loc["obsessive-compulsive-vs-control"]
    assert (ocd["certainty"], ocd["draft_certainty"]) == ("very low", "low")
    assert ocd["absolute_effect"].startswith("not estimable: the comparator risk is 0 per 1,000")
    nothing = rows.loc["anxiety-vs-control"]
    assert nothing["relative_effect"] == "no pooled result"
    assert nothing["footnotes"].endswith("Nothing was pooled: no certainty to rate (see the rows "
                                         "not pooled).")  # fmt: skip


# ------------------------------------------------------------------------------ evidence grade


def test_cli_grade_text() -> None:
    result = CliRunner().invoke(main, ["grade", str(ROOT / "studies.bib")])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Certainty of the evidence (GRADE): ratings drafted from the")
    at = lines.index(
        "obsessive-compulsive-vs-control: Responders, ketamine versus control, "
        "obsessive-compulsive outcomes (odds ratio)"
    )
    block = lines[at : lines.index("", at)]
    assert block[1] == "  k = 1, N = 15; OR 15.00 (95% CI 0.64 to 348.9)"
    assert block[3] == "  start: high (randomised comparisons: 1 of 1)"
    assert block[-1] == "  certainty: ⊕◯◯◯ very low (draft: ⊕⊕◯◯ low)"
    assert any(
        line.startswith("  imprecision: -2, judged by the analyst (draft -1): One crossover")
        for line in block
    )
    assert "  publication bias: 0 (draft; cannot be assessed (k < 10)): k = 1" in block
    assert lines[-1] == "  nothing was pooled: no certainty to rate"


def test_cli_grade_json() -> None:
    result = CliRunner().invoke(main, ["grade", str(ROOT / "studies.bib"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["protocol"] == "pyproject.toml [tool.evidence]"
    names = [item["analysis"]["name"] for item in data["analyses"]]
    assert names[:2] == ["anxiety", "obsessive-compulsive"] and len(names) == 8
    ocd = next(i for i in data["analyses"] if i["analysis"]["name"].endswith("-vs-control"))
    assert ocd["analysis"]["risk_of_bias"] == "any"
    assert ocd["certainty"]["level"] == "very low"
    assert ocd["certainty"]["draft_level"] == "low"
    imprecision = next(d for d in ocd["certainty"]["domains"] if d["domain"] == "imprecision")
    assert (imprecision["draft"], imprecision["judged"], imprecision["declared"]) == (-1, -2, True)
    assert ocd["summary"]["symbols"] == "⊕◯◯◯" and ocd["summary"]["k"] == 1
    last = data["analyses"][-1]
    assert last["certainty"]["level"] is None and last["summary"]["estimate"] is None


def test_cli_grade_refuses_a_base_with_errors(tmp_bib) -> None:
    path = tmp_bib("@article{x, author={A}, title={T}, journal={J}, year={1066}}\n")
    result = CliRunner().invoke(main, ["grade", str(path)])
    assert result.exit_code == 1 and "year" in result.stderr


def test_protocol_prints_the_grade_judgements() -> None:
    result = CliRunner().invoke(main, ["protocol", str(ROOT / "studies.bib")])
    lines = result.stdout.splitlines()
    at = lines.index("GRADE (judgements and assumptions; OIS α 0.05, power 0.8)")
    assert lines[at + 3].startswith(
        "  obsessive-compulsive-vs-control: imprecision -2: One crossover trial"
    )
    data = json.loads(
        CliRunner().invoke(main, ["protocol", str(ROOT / "studies.bib"), "--format", "json"]).stdout
    )
    assert data["grade"]["analyses"]["mood"]["indirectness"]["rating"] == -1
