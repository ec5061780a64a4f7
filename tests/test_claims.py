"""The claims ledger (evidence.claims): each check at its boundaries, the verdict rules,
overrides, claims without sources or citing two studies, the table, and the bundled article's
claims against the fact sheet's claim-check lines."""

from __future__ import annotations

import dataclasses
import json

import pytest

import evidence
from evidence.claims import (
    CLAIM_COLUMNS,
    Check,
    Claim,
    check_claims,
    claim_verdict,
    claims_table,
)
from evidence.protocol import parse_protocol
from evidence.schema import CLAIM_VERDICTS, QUANTIFIERS

from .conftest import DATA

#: Agents with roles, scales with directions, conditions and domains (for the checks).
PROTOCOL = parse_protocol(
    {
        "agents": {"drug": {"role": "intervention"}, "placebo": {"role": "comparator"}},
        "scales": {
            "WORSE-UP": {"direction": "higher-is-worse"},
            "BETTER-UP": {"direction": "higher-is-better"},
            "PLAIN": "a scale without a declared direction",
        },
        "conditions": {"C1": "one", "C2": "two", "C3": "three"},
        "domains": {"mood": "mood", "sleep": "sleep"},
    },
    "test.toml",
)

TRIAL = """@article{trial,
  author = {Berg, Ada},
  title = {A trial},
  journal = {J},
  year = {2019},
  conditions = {C1; C2},
  route = {IV},
  arms = {drug; placebo},
  n_enrolled = {4000},
  n_analysed = {3800},
  outcomes = {
%s
  },
}
"""
DEFAULT_ROWS = """    arm=drug; domain=mood; responders=33; n=40; time=1 week
    arm=placebo; domain=mood; responders=10; n=40; time=1 week"""


def _base(claim_rows: str, *studies: str) -> evidence.EvidenceBase:
    document = "@online{doc,\n  title = {A page},\n  claims = {\n" + claim_rows + "\n  },\n}\n"
    base = evidence.loads(document + "\n".join(studies), protocol=PROTOCOL)
    assert [str(p) for p in base.errors] == []
    return base


def _claim(row: str, *studies: str) -> Claim:
    """The one claim ``row`` (keys after ``text=x; cites=trial;``) checked against
    ``studies`` (default: TRIAL with DEFAULT_ROWS)."""
    (claim,) = check_claims(_base(f"    text=x; {row}", *(studies or (TRIAL % DEFAULT_ROWS,))))
    return claim


def _trial(rows: str, **fields: str) -> str:
    text = TRIAL % rows
    for name, value in fields.items():
        if value is None:
            text = "\n".join(line for line in text.splitlines() if f"  {name} = " not in line)
        else:
            text = text.replace("  arms = ", f"  {name} = {{{value}}},\n  arms = ", 1)
    return text + "\n"


def _checks(claim: Claim, attribute: str) -> list[tuple[str, str]]:
    return [(c.found, c.verdict) for c in claim.checks if c.attribute == attribute]


# ------------------------------------------------------------------------------ percent


@pytest.mark.parametrize(
    ("responders", "n", "asserted", "verdict"),
    [
        pytest.param(33, 40, "83", "supported", id="82.5%-rounds-up-to-83"),
        pytest.param(33, 40, "82", "supported", id="82.5%-rounds-down-to-82"),
        pytest.param(33, 40, "84", "contradicted", id="82.5%-is-not-84"),
        pytest.param(167, 200, "83", "supported", id="83.5%-is-83"),
        pytest.param(167, 200, "84", "supported", id="83.5%-is-84"),
        pytest.param(1671, 2000, "83", "contradicted", id="83.55%-is-not-83"),
        pytest.param(329, 400, "83", "contradicted", id="82.25%-is-not-83"),
        pytest.param(10, 12, "83%", "supported", id="83.3%-as-83%"),
        pytest.param(10, 12, "83.3", "supported", id="83.33%-as-83.3"),
        pytest.param(10, 12, "83.4", "contradicted", id="83.33%-is-not-83.4"),
        pytest.param(33, 40, "82.5", "supported", id="one-decimal-exact"),
        pytest.param(33, 40, "82.6", "contradicted", id="one-decimal-off"),
        pytest.param(8, 8, "100", "supported", id="one-hundred-exactly"),
        pytest.param(199, 200, "100", "contradicted", id="99.5%-is-not-all"),
        pytest.param(0, 8, "0", "supported", id="none-exactly"),
        pytest.param(1, 200, "0", "contradicted", id="0.5%-is-not-none"),
    ],
)
def test_percent_matches_within_the_rounding_the_claim_uses(
    responders: int, n: int, asserted: str, verdict: str
) -> None:
    rows = f"    arm=drug; domain=mood; responders={responders}; n={n}"
    claim = _claim(f"cites=trial; percent={asserted}", _trial(rows))
    (check,) = claim.checks
    assert (check.attribute, check.verdict) == ("percent", verdict)
    assert check.asserted == asserted if asserted.endswith("%") else asserted + "%"
    assert check.found == f"drug, mood: {responders}/{n} = {100 * responders / n:.1f}%"


@pytest.mark.parametrize(
    ("asserted", "verdict"),
    [
        pytest.param("33", "supported", id="33"),
        pytest.param("33.3", "supported", id="33.3"),
        pytest.param("33.33", "supported", id="33.33"),
        pytest.param("33.4", "contradicted", id="33.4"),
    ],
)
def test_percent_against_a_printed_percentage(asserted: str, verdict: str) -> None:
    rows = "    arm=drug; domain=mood; percent=33.33; time=2 weeks"
    claim = _claim(f"cites=trial; percent={asserted}", _trial(rows))
    assert _checks(claim, "percent") == [("drug, mood, 2 weeks: 33.33%", verdict)]


def test_percent_is_checked_on_intervention_arms_in_the_claims_domain() -> None:
    rows = (
        "    arm=placebo; domain=mood; responders=10; n=12\n"
        "    arm=drug; domain=sleep; responders=10; n=12\n"
        "    arm=drug; domain=mood; responders=6; n=12"
    )
    claim = _claim("cites=trial; domain=mood; percent=83", _trial(rows))
    assert _checks(claim, "percent") == [("drug, mood: 6/12 = 50.0%", "contradicted")]
    claim = _claim("cites=trial; domain=sleep; percent=83", _trial(rows))
    assert _checks(claim, "percent") == [("drug, sleep: 10/12 = 83.3%", "supported")]


def test_percent_without_response_data_is_not_in_source() -> None:
    rows = "    arm=drug; domain=mood; mean=3; sd=1; n=10"
    claim = _claim("cites=trial; percent=83", _trial(rows))
    assert _checks(claim, "percent") == [("no response rate recorded", "not-in-source")]
    assert claim.verdict == "unverifiable"


# --------------------------------------------------------------------------- quantifier


@pytest.mark.parametrize(
    ("word", "responders", "n", "verdict"),
    [
        pytest.param("all", 8, 8, "supported", id="all-8/8"),
        pytest.param("all", 7, 8, "contradicted", id="all-7/8"),
        pytest.param("most", 5, 8, "supported", id="most-5/8"),
        pytest.param("most", 4, 8, "contradicted", id="most-is-not-half"),
        pytest.param("half", 9, 20, "supported", id="half-45%"),
        pytest.param("half", 11, 20, "supported", id="half-55%"),
        pytest.param("half", 8, 20, "contradicted", id="half-not-40%"),
        pytest.param("half", 12, 20, "contradicted", id="half-not-60%"),
    ],
)
def test_quantifier_ranges(word: str, responders: int, n: int, verdict: str) -> None:
    rows = f"    arm=drug; domain=mood; responders={responders}; n={n}"
    claim = _claim(f"cites=trial; quantifier={word}", _trial(rows))
    assert [c.verdict for c in claim.checks] == [verdict]
    # a quantifier's miss says more than the source: overstated, never contradicted
    assert claim.verdict == ("supported" if verdict == "supported" else "overstated")


def test_quantifier_ranges_are_declared_once() -> None:
    assert QUANTIFIERS == {
        "all": (100.0, 100.0, False),
        "most": (50.0, 100.0, True),
        "half": (45.0, 55.0, False),
    }


# ------------------------------------------------------------------ year, conditions, route


@pytest.mark.parametrize(
    ("asserted", "verdict"),
    [pytest.param("2019", "supported", id="same"), pytest.param("2018", "contradicted", id="off")],
)
def test_year_is_the_entrys_year_exactly(asserted: str, verdict: str) -> None:
    claim = _claim(f"cites=trial; year={asserted}")
    assert _checks(claim, "year") == [("2019", verdict)]


def test_year_of_an_entry_without_one_is_not_in_source() -> None:
    page = "@online{page,\n  title = {Undated},\n}\n"
    (claim,) = check_claims(_base("    text=x; cites=page; year=2019", page))
    assert _checks(claim, "year") == [("no year recorded", "not-in-source")]


@pytest.mark.parametrize(
    ("asserted", "verdict"),
    [
        pytest.param("C1", "supported", id="one-of-them"),
        pytest.param("{C1; C2}", "supported", id="both"),
        pytest.param("C2, C1", "supported", id="comma-list"),
        pytest.param("{C1; C3}", "contradicted", id="one-not-studied"),
        pytest.param("C3", "contradicted", id="not-studied"),
    ],
)
def test_conditions_named_must_all_be_the_entrys(asserted: str, verdict: str) -> None:
    claim = _claim(f"cites=trial; conditions={asserted}")
    assert _checks(claim, "conditions") == [("C1, C2", verdict)]


def test_route_supported_contradicted_or_not_recorded() -> None:
    assert _checks(_claim("cites=trial; route=IV"), "route") == [("IV", "supported")]
    assert _checks(_claim("cites=trial; route=oral"), "route") == [("IV", "contradicted")]
    no_route = _trial(DEFAULT_ROWS, route=None)
    assert _checks(_claim("cites=trial; route=IV", no_route), "route") == [
        ("no route recorded", "not-in-source")
    ]


# ----------------------------------------------------------------------- comparator, n


def test_comparator_among_the_comparator_arms() -> None:
    assert _checks(_claim("cites=trial; comparator=placebo"), "comparator") == [
        ("placebo", "supported")
    ]
    assert _checks(_claim("cites=trial; comparator=drug"), "comparator") == [
        ("placebo", "contradicted")
    ]
    single = _trial("    arm=drug; domain=mood; responders=5; n=8").replace(
        "arms = {drug; placebo}", "arms = {drug}"
    )
    assert _checks(_claim("cites=trial; comparator=placebo", single), "comparator") == [
        ("no comparator (arms: drug)", "contradicted")
    ]
    review = (
        "@article{review,\n  title = {R},\n  author = {B, C},\n  journal = {J},\n  year = 2020,\n"
        "  design = {meta-analysis},\n  effects = {\n"
        "    effect=OR; estimate=2; ci=1.2..3.3; intervention=drug; comparator=placebo\n  },\n}\n"
    )
    (claim,) = check_claims(_base("    text=x; cites=review; comparator=placebo", review))
    assert _checks(claim, "comparator") == [("placebo", "supported")]
    plain = "@online{page,\n  title = {No arms},\n}\n"
    (claim,) = check_claims(_base("    text=x; cites=page; comparator=placebo", plain))
    assert _checks(claim, "comparator") == [("no arms or comparisons recorded", "not-in-source")]


@pytest.mark.parametrize(
    ("asserted", "verdict"),
    [
        pytest.param("4000", "supported", id="enrolled"),
        pytest.param("3800", "supported", id="analysed"),
        pytest.param("40", "supported", id="an-arm"),
        pytest.param("15", "contradicted", id="none-equal"),
    ],
)
def test_participants_against_enrolled_analysed_and_arms(asserted: str, verdict: str) -> None:
    claim = _claim(f"cites=trial; n={asserted}")
    assert _checks(claim, "n") == [("n_enrolled 4000, n_analysed 3800, rows' n 40, 40", verdict)]


# ------------------------------------------------------------------------------ timing


@pytest.mark.parametrize(
    ("assertion", "time", "verdict"),
    [
        pytest.param("within=1 h", "30 min", "supported", id="within-earlier"),
        pytest.param("within=1 h", "1 h", "supported", id="within-at"),
        pytest.param("within=1 h", "24 h", "contradicted", id="within-an-hour-vs-24h"),
        pytest.param("time=1 week", "7 days", "supported", id="at-same-hours"),
        pytest.param("time=1 week", "2 weeks", "contradicted", id="at-other"),
        pytest.param("lasting=2 weeks", "day 14", "supported", id="lasting-at"),
        pytest.param("lasting=2 weeks", "4 weeks", "supported", id="lasting-beyond"),
        pytest.param("lasting=2 weeks", "1 week", "contradicted", id="lasting-shorter"),
    ],
)
def test_timing_against_the_rows_time(assertion: str, time: str, verdict: str) -> None:
    rows = f"    arm=drug; domain=mood; responders=10; n=12; time={time}"
    claim = _claim(f"cites=trial; percent=83; {assertion}", _trial(rows))
    name = assertion.partition("=")[0]
    assert _checks(claim, name) == [(time, verdict)]
    assert _checks(claim, "percent")[0][1] == "supported"
    assert claim.verdict == ("supported" if verdict == "supported" else "overstated")


def test_timing_without_a_time_is_not_in_source() -> None:
    claim = _claim(
        "cites=trial; percent=83; within=1 h", _trial("    arm=drug; responders=10; n=12")
    )
    assert _checks(claim, "within") == [("no time recorded", "not-in-source")]
    assert claim.verdict == "overstated"  # the source gives no time for its 83%


def test_a_finding_is_checked_at_the_claims_time_when_the_source_has_it() -> None:
    # 5/12 an hour after the dose, 10/12 a day after: "83% within an hour" is contradicted,
    # although the source has an 83% (at 24 h)
    rows = (
        "    arm=drug; domain=mood; responders=5; n=12; time=1 h\n"
        "    arm=drug; domain=mood; responders=10; n=12; time=24 h"
    )
    claim = _claim("cites=trial; percent=83; within=1 h", _trial(rows))
    assert _checks(claim, "percent") == [("drug, mood, 1 h: 5/12 = 41.7%", "contradicted")]
    assert _checks(claim, "within") == [("24 h", "contradicted")]  # where the 83% is
    assert claim.verdict == "contradicted"
    # without the timing, the 83% at 24 h supports it
    claim = _claim("cites=trial; percent=83", _trial(rows))
    assert claim.verdict == "supported"


def test_timing_of_a_failed_finding_looks_at_all_rows() -> None:
    # "most at 1 week" against 4/8 at 1 week: the time is right, the share is not
    rows = "    arm=drug; domain=mood; responders=4; n=8; time=1 week"
    claim = _claim("cites=trial; quantifier=most; time=1 week", _trial(rows))
    assert _checks(claim, "time") == [("1 week", "supported")]
    assert _checks(claim, "quantifier") == [("drug, mood, 1 week: 4/8 = 50.0%", "contradicted")]


# --------------------------------------------------------------------------- direction

EFFECTS = """@article{results,
  author = {Dahl, Eva},
  title = {Results},
  journal = {J},
  year = {2020},
  arms = {drug; placebo},
  effects = {
%s
  },
}
"""


def _direction(direction: str, effect: str) -> tuple[str, str]:
    (claim,) = check_claims(
        _base(f"    text=x; cites=results; direction={direction}", EFFECTS % f"    {effect}")
    )
    (check,) = claim.checks
    assert check.attribute == "direction" and check.asserted == direction
    return check.found, check.verdict


OR_SIGNIFICANT = "effect=OR; estimate=2.5; ci=1.2..5.1; intervention=drug; comparator=placebo"
OR_NOT = "effect=OR; estimate=2.0; ci=0.7..6.2; p=0.21; intervention=drug; comparator=placebo"
OR_BELOW = "effect=OR; estimate=0.5; ci=0.3..0.8; intervention=drug; comparator=placebo"
MD_DOWN = (
    "effect=MD; estimate=-11.9; se=3.96; intervention=drug; comparator=placebo; measure=WORSE-UP"
)
MD_UP = "effect=MD; estimate=-2; ci=-3.5..-0.5; intervention=drug; comparator=placebo; "
MD_SMALL = "effect=MD; estimate=-2; se=1.5; intervention=drug; comparator=placebo; measure=WORSE-UP"
MC_P = "effect=MC; estimate=-3.5; p=0.01; intervention=drug; measure=WORSE-UP"
MC_P_NOT = "effect=MC; estimate=-3.5; p=0.06; intervention=drug; measure=WORSE-UP"


@pytest.mark.parametrize(
    ("direction", "effect", "found", "verdict"),
    [
        pytest.param(
            "significant",
            OR_SIGNIFICANT,
            "drug vs placebo: OR 2.5 (1.2 to 5.1)",
            "supported",
            id="OR-CI-above-1",
        ),
        pytest.param(
            "significant",
            OR_NOT,
            "drug vs placebo: OR 2 (0.7 to 6.2), p = 0.21",
            "contradicted",
            id="OR-CI-includes-1",
        ),
        pytest.param("better", OR_NOT, None, "supported", id="better-needs-no-test"),
        pytest.param("no-difference", OR_NOT, None, "supported", id="no-difference"),
        pytest.param("no-difference", OR_SIGNIFICANT, None, "contradicted", id="a-difference"),
        pytest.param("significant", OR_BELOW, None, "contradicted", id="significantly-worse"),
        pytest.param("worse", OR_BELOW, None, "supported", id="worse"),
        pytest.param("better", OR_BELOW, None, "contradicted", id="not-better"),
        pytest.param(
            "significant",
            MD_DOWN,
            "drug vs placebo, WORSE-UP: MD -11.9 (SE 3.96)",
            "supported",
            id="MD-lower-on-a-higher-is-worse-scale-SE",
        ),
        pytest.param("significant", MD_SMALL, None, "contradicted", id="z-below-1.96"),
        pytest.param(
            "better", MD_UP + "measure=BETTER-UP", None, "contradicted", id="lower-is-worse-here"
        ),
        pytest.param(
            "better",
            MD_UP + "measure=PLAIN",
            "drug vs placebo, PLAIN: MD -2 (-3.5 to -0.5) (the scale's direction is not declared)",
            "not-in-source",
            id="scale-without-direction",
        ),
        pytest.param(
            "significant",
            MC_P,
            "drug, WORSE-UP: MC -3.5, p = 0.01",
            "supported",
            id="change-from-baseline-p",
        ),
        pytest.param("significant", MC_P_NOT, None, "contradicted", id="p-0.06"),
        pytest.param(
            "better",
            "effect=HR; estimate=0.6; ci=0.4..0.9; intervention=drug; comparator=placebo",
            "drug vs placebo: HR 0.6 (0.4 to 0.9) (which side of HR is favourable is not known)",
            "not-in-source",
            id="HR-side-unknown",
        ),
    ],
)
def test_direction_against_reported_results(
    direction: str, effect: str, found: str | None, verdict: str
) -> None:
    got = _direction(direction, effect)
    assert got[1] == verdict
    if found is not None:
        assert got[0] == found


@pytest.mark.parametrize(
    ("direction", "rows", "found", "verdict"),
    [
        pytest.param(
            "better",
            "responders=6; n=8|responders=1; n=8",
            "drug vs placebo: 6/8 vs 1/8",
            "supported",
            id="binary-better",
        ),
        pytest.param(
            "better",
            "percent=20|percent=20",
            "drug vs placebo: 20% vs 20%",
            "contradicted",
            id="binary-equal",
        ),
        pytest.param(
            "significant",
            "responders=6; n=8|responders=1; n=8",
            "drug vs placebo: 6/8 vs 1/8 (no interval, SE or p recorded)",
            "not-in-source",
            id="arm-pairs-carry-no-test",
        ),
        pytest.param(
            "better",
            "measure=WORSE-UP; mean=10; sd=2; n=8|measure=WORSE-UP; mean=14; sd=2; n=8",
            "drug vs placebo, WORSE-UP: mean 10 vs 14",
            "supported",
            id="continuous-lower-is-better",
        ),
        pytest.param(
            "worse",
            "measure=BETTER-UP; mean=10; sd=2; n=8|measure=BETTER-UP; mean=14; sd=2; n=8",
            "drug vs placebo, BETTER-UP: mean 10 vs 14",
            "supported",
            id="continuous-lower-is-worse",
        ),
    ],
)
def test_direction_against_arm_pairs(direction: str, rows: str, found: str, verdict: str) -> None:
    drug, placebo = rows.split("|")
    outcomes = f"    arm=drug; domain=mood; {drug}\n    arm=placebo; domain=mood; {placebo}"
    claim = _claim(f"cites=trial; direction={direction}", _trial(outcomes))
    assert _checks(claim, "direction") == [(found, verdict)]


def test_direction_one_check_per_comparison_filtered_by_condition_and_comparator() -> None:
    effects = (
        "    effect=OR; estimate=28.9; ci=3.45..242.6; intervention=drug; comparator=placebo; "
        "condition=C1\n"
        "    effect=OR; estimate=2.03; ci=0.67..6.15; intervention=drug; comparator=placebo; "
        "condition=C2"
    )
    base = _base(
        "    text=mixed; cites=results; direction=significant\n"
        "    text=only C1; cites=results; direction=significant; conditions=C1\n"
        "    text=against drug; cites=results; direction=significant; comparator=drug",
        EFFECTS % effects,
    )
    mixed, only, against = check_claims(base)
    assert [c.verdict for c in mixed.checks] == ["supported", "contradicted"]
    assert mixed.verdict == "partly-supported"
    assert _checks(only, "direction") == [
        ("drug vs placebo, C1: OR 28.9 (3.45 to 242.6)", "supported")
    ]
    assert only.verdict == "supported"
    assert _checks(against, "direction") == [("no comparison or change recorded", "not-in-source")]


# ------------------------------------------------------------------------ the verdicts


def _c(attribute: str, verdict: str) -> Check:
    return Check(attribute, "", "", verdict)


S, C, N = "supported", "contradicted", "not-in-source"


@pytest.mark.parametrize(
    ("checks", "cites", "verdict"),
    [
        pytest.param([], [], "unsupported", id="1-no-source"),
        pytest.param([("year", S)], [], "unsupported", id="1-no-source-whatever-else"),
        pytest.param([], ["k"], "unverifiable", id="2-no-assertion"),
        pytest.param([("percent", N), ("year", S)], ["k"], "unverifiable", id="2-finding-absent"),
        pytest.param([("year", N)], ["k"], "unverifiable", id="2-description-absent"),
        pytest.param([("percent", C), ("year", S)], ["k"], "contradicted", id="3-finding-wrong"),
        pytest.param([("direction", C), ("time", S)], ["k"], "contradicted", id="3-with-timing"),
        pytest.param([("year", C), ("n", N)], ["k"], "contradicted", id="3-description-only"),
        pytest.param([("direction", S), ("direction", C)], ["k"], "partly-supported", id="4-mixed"),
        pytest.param(
            [("direction", S), ("percent", N)], ["k"], "partly-supported", id="4-half-absent"
        ),
        pytest.param([("year", C), ("direction", S)], ["k"], "partly-supported", id="4-wrong-year"),
        pytest.param([("year", C), ("n", S)], ["k"], "partly-supported", id="4-description-mixed"),
        pytest.param([("percent", S), ("within", N)], ["k"], "overstated", id="5-no-time"),
        pytest.param([("quantifier", C), ("time", S)], ["k"], "overstated", id="5-most-for-half"),
        pytest.param([("quantifier", C)], ["k"], "overstated", id="5-qualifier-only"),
        pytest.param([("percent", S), ("route", N)], ["k"], "supported", id="6-detail-absent"),
        pytest.param([("year", S)], ["k"], "supported", id="6-description-only"),
    ],
)
def test_claim_verdict_rules(checks: list[tuple[str, str]], cites: list[str], verdict: str) -> None:
    assert claim_verdict([_c(a, v) for a, v in checks], cites) == verdict


def test_verdict_values_are_the_schemas() -> None:
    with pytest.raises(ValueError, match="unknown check verdict"):
        Check("year", "1", "2", "wrong")
    with pytest.raises(ValueError, match="unknown claim verdict"):
        Claim("doc", "1", "t", (), (), "maybe")
    claim = Claim("doc", "1", "t", (), (), "unsupported")
    with pytest.raises(dataclasses.FrozenInstanceError):
        claim.verdict = "supported"  # type: ignore[misc]
    assert set(CLAIM_VERDICTS) == {
        "supported",
        "partly-supported",
        "overstated",
        "contradicted",
        "unsupported",
        "unverifiable",
    }


# --------------------------------------------------------------- overrides, no source, two


def test_an_override_is_shown_beside_the_computed_verdict() -> None:
    claim = _claim(
        "cites=trial; percent=50; verdict=supported; reason={the paper's table 2 gives 50%}"
    )
    assert claim.verdict == "contradicted"  # computed from the rows, 33/40
    assert (claim.override, claim.reason) == ("supported", "the paper's table 2 gives 50%")
    assert claim.final_verdict == "supported"
    data = claim.to_dict()
    assert data["verdict"] == "contradicted"
    assert data["override"] == {"verdict": "supported", "reason": "the paper's table 2 gives 50%"}
    plain = _claim("cites=trial; percent=83")
    assert "override" not in plain.to_dict() and plain.final_verdict == plain.verdict


def test_a_claim_without_a_source_is_unsupported_and_has_no_checks() -> None:
    (claim,) = check_claims(_base("    id=X; text={Studies show it}; cites=none; percent=50"))
    assert (claim.id, claim.cites, claim.checks, claim.verdict) == ("X", (), (), "unsupported")
    assert claim.to_dict() == {
        "entry": "doc",
        "id": "X",
        "text": "Studies show it",
        "cites": [],
        "checks": [],
        "verdict": "unsupported",
    }


def test_a_claim_citing_two_studies_is_supported_by_either() -> None:
    other = (
        _trial("    arm=drug; domain=mood; responders=5; n=10; time=2 weeks")
        .replace("@article{trial,", "@article{other,")
        .replace("year = {2019}", "year = {2021}")
    )
    claim = _claim(
        "cites={trial; other}; year=2021; percent=50; lasting=2 weeks",
        TRIAL % DEFAULT_ROWS,
        other,
    )
    assert claim.cites == ("trial", "other")
    assert _checks(claim, "year") == [("trial: 2019; other: 2021", "supported")]
    assert _checks(claim, "percent") == [
        (
            "trial: drug, mood, 1 week: 33/40 = 82.5%; other: drug, mood, 2 weeks: 5/10 = 50.0%",
            "supported",
        )
    ]
    # the 50% is the other study's, at 2 weeks: lasting is checked where the finding is
    assert _checks(claim, "lasting") == [("other: 2 weeks", "supported")]
    assert claim.verdict == "supported"
    assert _claim("cites={trial; other}; year=2020", TRIAL % DEFAULT_ROWS, other).verdict == (
        "contradicted"
    )


def test_a_claim_citing_an_unknown_key_is_checked_on_no_data() -> None:
    base = evidence.loads(
        "@online{doc,\n  title = {P},\n  claims = {\n    text=x; cites=nosuch; year=2019\n  },\n}\n"
    )
    assert [p.code for p in base.errors] == ["claims.cite-unknown"]
    (claim,) = check_claims(base)
    assert _checks(claim, "year") == [("no year recorded", "not-in-source")]
    assert claim.verdict == "unverifiable"


def test_ids_default_to_the_row_number_and_text_is_decoded() -> None:
    base = _base(
        "    text={An 83\\% rate}; cites=trial\n    id=B; text=y; cites=trial", TRIAL % DEFAULT_ROWS
    )
    first, second = check_claims(base)
    assert (first.id, first.text, second.id) == ("1", "An 83% rate", "B")
    assert first.line == 4 and second.line == 5


# ------------------------------------------------------------------------------ table


def test_claims_table_one_row_per_check() -> None:
    base = _base(
        "    id=A; text=x; cites=trial; year=2019; percent=83\n    id=B; text=y; cites=none",
        TRIAL % DEFAULT_ROWS,
    )
    claims = check_claims(base)
    table = claims_table(claims)
    assert tuple(table.columns) == CLAIM_COLUMNS
    assert list(table["id"]) == ["A", "A", "B"]
    assert list(table["attribute"].astype(object).fillna("")) == ["year", "percent", ""]
    assert list(table["check"].astype(object).fillna("")) == ["supported", "supported", ""]
    assert list(table["verdict"]) == ["supported", "supported", "unsupported"]
    assert list(table["cites"]) == ["trial", "trial", "none"]
    assert str(table["line"].dtype) == "Int64"
    assert list(table["verdict"].cat.categories) == list(CLAIM_VERDICTS)
    assert claims_table([]).empty and tuple(claims_table([]).columns) == CLAIM_COLUMNS


# ---------------------------------------------------------------- the bundled article

EXPECTED = json.loads((DATA / "claim-checks.json").read_text(encoding="utf-8"))["claims"]


def test_the_article_is_a_document_not_a_study(base) -> None:
    assert [r.key for r in base.documents] == ["sourcearticle"]
    assert "sourcearticle" not in set(base.studies["key"])
    assert len(base.studies) == len(base.records) - 1
    assert not (base.outcomes["key"] == "sourcearticle").any()
    assert not (base.contrasts["key"] == "sourcearticle").any()


@pytest.mark.parametrize("expected", EXPECTED, ids=[e["id"] for e in EXPECTED])
def test_the_articles_claims_agree_with_the_fact_sheet(base, expected: dict) -> None:
    claims = {c.id: c for c in check_claims(base)}
    claim = claims[expected["id"]]
    assert claim.entry == "sourcearticle"
    assert list(claim.cites) == expected["cites"]
    assert claim.verdict == expected["verdict"], expected["fact_sheet"]
    assert claim.override == expected.get("override")
    got: dict[str, list[str]] = {}
    for check in claim.checks:
        got.setdefault(check.attribute, []).append(check.verdict)
    for attribute, verdicts in expected["checks"].items():
        assert got[attribute] == verdicts, (attribute, expected["fact_sheet"])


def test_the_articles_claims_in_detail(base) -> None:
    claims = {c.id: c for c in check_claims(base)}
    assert list(claims) == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    glue = {c.attribute: c for c in claims["C4"].checks}
    assert (glue["percent"].asserted, glue["percent"].found) == (
        "83%",
        "ketamine, anxiety: 10/12 = 83.3%",
    )
    assert glue["within"].found == "no time recorded"
    rodriguez = {c.attribute: c for c in claims["C7"].checks}
    assert rodriguez["quantifier"].found == "ketamine, Y-BOCS, 1 week: 4/8 = 50.0%"
    taylor = {c.attribute: c for c in claims["C6"].checks}
    assert (taylor["year"].asserted, taylor["year"].found) == ("2017", "2018")
    whittaker = [c.found for c in claims["C2"].checks if c.attribute == "direction"]
    assert whittaker == [
        "ketamine vs control, SAD: OR 28.94 (3.45 to 242.57), p = 0.002",
        "ketamine vs control, PTSD: OR 2.03 (0.67 to 6.15), p = 0.21",
    ]
    assert claims["C3"].reason.startswith("the fact sheet's best match, Tully 2022")


def test_the_article_disturbs_no_analysis_and_duplicates_nothing(base) -> None:
    from evidence.duplicates import find_duplicates, identity
    from evidence.pooling import analyses_in_force

    for analysis in analyses_in_force(base):
        report = analysis.run(base)
        assert "sourcearticle" not in set(report.selection.excluded["key"]), analysis.name
        assert "sourcearticle" not in set(report.decisions["key"]), analysis.name
    assert list(find_duplicates(identity(r.key, r.bib) for r in base.records)) == []
