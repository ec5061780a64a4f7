"""Every kind of problem `evidence validate` catches, with the exact message (fixtures in
tests/data/invalid, described in its README)."""

from __future__ import annotations

import pytest

import evidence
from evidence.errors import BibFileError

from .conftest import INVALID

ROUTES = "';'-separated list of IV, IM, SC, oral, sublingual, intranasal"
CONDITIONS = "';'-separated list of GAD, SAD, OCD, PTSD, PD, TRD, MDD, anxiety, depression"
DESIGNS = (
    "rct-parallel, rct-crossover, single-arm, ascending-dose, maintenance, case-series, cohort, "
    "systematic-review, meta-analysis, narrative-review"
)
MEASURES = (
    "HAM-A, LSAS, VAS-A, OCD-VAS, Y-BOCS, CAPS-5, PCL-5, IES-R, FQ, "
    "HADS, HADS-A, HADS-D, MADRS, CGI"
)
TIMEPOINTS = "e.g. 90 min, 3 h, 24 h, 1 week, 2 weeks, day 28, week 2, 1-3 days"

EXPECTED = {
    "syntax-error.bib": [
        "16: Berg2019: BibTeX syntax error: Expected comma after entry key, but found =",
    ],
    "duplicate-key.bib": [
        "22: Dunn2018: duplicate citation key 'Dunn2018' (first defined on line 4)",
    ],
    "duplicate-field.bib": [
        "10: Fischer2020: title: field 'title' appears more than once in the entry "
        "(first on line 6)",
    ],
    "missing-required.bib": [
        "4: Gupta2021: title: missing required field for @article",
        "4: Gupta2021: year: missing required field for @article (allowed: year or date)",
    ],
    "wrong-type.bib": [
        "13: Hansen2017: n_enrolled: 'twelve' is not an integer (allowed: integer >= 0)",
    ],
    "out-of-range.bib": [
        "9: Ibsen1850: year: year 1850 out of range (allowed: 1900..{next_year})",
        "23: Jensen2019: outcomes.responders: responders=14 exceeds n=12 (allowed: 0..n)",
        "24: Jensen2019: outcomes.n: -3 is below the minimum 0 (allowed: integer >= 0)",
        "25: Jensen2019: outcomes.percent: 140 exceeds the maximum 100 (allowed: number 0..100)",
    ],
    "unknown-vocabulary.bib": [
        f"10: Karlsson2018: route: unknown value 'intravenous'; did you mean 'IV'? "
        f"(allowed: {ROUTES})",
        f"11: Karlsson2018: design: unknown value 'rct-paralel'; did you mean 'rct-parallel'? "
        f"(allowed: {DESIGNS})",
        f"12: Karlsson2018: conditions: unknown value 'socialanxiety'; did you mean 'SAD'? "
        f"(allowed: {CONDITIONS})",
    ],
    "bad-timepoint.bib": [
        f"14: Larsen2019: outcomes.time: cannot read timepoint 'soonish' (allowed: {TIMEPOINTS})",
    ],
    "bad-doi.bib": [
        "9: Madsen2020: doi: malformed DOI 'not-a-doi' (allowed: 10.NNNN/suffix)",
    ],
    "same-doi.bib": [
        "17: Nielsen2021b: doi: DOI 10.5555/jad.2021.0101 is also on entry 'Nielsen2021' "
        "(line 4); the same study is entered twice",
    ],
    "unknown-arm.bib": [
        "16: Olsen2016: outcomes.arm: unknown arm 'midazolam' (allowed: ketamine, placebo)",
    ],
    "many-problems.bib": [
        f"9: Pettersen2018: design: unknown value 'open-trial'; did you mean 'single-arm'? "
        f"(allowed: {DESIGNS})",
        "13: Pettersen2018: n_enrolled: 'ten' is not an integer (allowed: integer >= 0)",
        "15: Pettersen2018: outcomes.responders: responders=9 exceeds n=5 (allowed: 0..n)",
        "16: Pettersen2018: outcomes.arm: unknown arm 'midazolam' (allowed: ketamine, placebo)",
        f"17: Pettersen2018: outcomes.measure: unknown value 'GAD-7' (allowed: {MEASURES})",
        f"17: Pettersen2018: outcomes.time: cannot read timepoint 'later' (allowed: {TIMEPOINTS})",
        "21: Quist2019: title: missing required field for @article",
        "21: Quist2019: year: missing required field for @article (allowed: year or date)",
        "24: Quist2019: doi: malformed DOI 'doi:10.5555 jad.2019' (allowed: 10.NNNN/suffix)",
        f"25: Quist2019: conditions: unknown value 'bipolar' (allowed: {CONDITIONS})",
        "28: Pettersen2018: duplicate citation key 'Pettersen2018' (first defined on line 4)",
    ],
}


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in EXPECTED])
def test_fixture_reports_exactly_the_expected_problems(name: str) -> None:
    import datetime

    path = INVALID / name
    base = evidence.load(path)
    nxt = datetime.date.today().year + 1
    expected = [f"{path}:{line.format(next_year=nxt)}" for line in EXPECTED[name]]
    assert [str(p) for p in base.problems] == expected
    assert all(p.severity == "error" for p in base.problems)


def test_valid_entries_around_a_syntax_error_still_load() -> None:
    base = evidence.load(INVALID / "syntax-error.bib")
    assert list(base.studies["key"]) == ["Aalto2019", "Costa2020"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("empty.bib", "empty.bib: file is empty (expected BibTeX entries)", id="empty"),
        pytest.param(
            "not-utf8.bib",
            "not-utf8.bib:5: not valid UTF-8 (byte 0xe9 at offset 171); re-save the file as UTF-8",
            id="latin1",
        ),
    ],
)
def test_unreadable_fixtures(name: str, message: str) -> None:
    with pytest.raises(BibFileError) as info:
        evidence.load(INVALID / name)
    assert str(info.value) == f"{INVALID}/{message}"


@pytest.mark.parametrize(
    ("fields", "rows", "expected"),
    [
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; responders=3",
            ["outcomes.responders: responders given without n"],
            id="responders-need-n",
        ),
        pytest.param(
            "",
            "arm=ketamine; n=3",
            ["outcomes.arm: outcome rows need an `arms` field"],
            id="rows-need-arms",
        ),
        pytest.param(
            "arms = {ketamine},",
            "n=3",
            ["outcomes.arm: outcome row has no arm"],
            id="row-without-arm",
        ),
        pytest.param(
            "arms = {ketamine}, n_enrolled = {5},",
            "arm=ketamine; n=8",
            ["outcomes.n: n=8 exceeds n_enrolled=5 (allowed: 0..5)"],
            id="n-over-enrolled",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; responders=4; n=8; percent=60",
            ["outcomes.percent: warning: percent=60 disagrees with responders/n = 4/8 = 50.0%"],
            id="percent-disagrees",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; dose=1",
            [
                "outcomes.dose: unknown outcome key (allowed: arm, domain, measure, response, "
                "responders, n, percent, time, analysis, derived, note)"
            ],
            id="unknown-key",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; responder=1; n=2",
            [
                "outcomes.responder: unknown outcome key; did you mean 'responders'? (allowed: "
                "arm, domain, measure, response, responders, n, percent, time, analysis, "
                "derived, note)"
            ],
            id="key-typo",
        ),
        pytest.param(
            "n_enrolled = {5}, n_analysed = {7},",
            "",
            ["n_analysed: n_analysed=7 exceeds n_enrolled=5 (allowed: 0..5)"],
            id="analysed",
        ),
    ],
)
def test_cross_field_rules(tmp_bib, fields: str, rows: str, expected: list[str]) -> None:
    outcomes = f"  outcomes = {{\n    {rows}\n  }},\n" if rows else ""
    text = (
        "@article{k,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2020,\n"
        f"  {fields}\n{outcomes}}}\n"
    )
    base = evidence.load(tmp_bib(text))
    got = [str(p).split(": ", 2)[-1] for p in base.problems]
    assert got == expected


def test_review_without_counts_validates(tmp_bib) -> None:
    base = evidence.load(
        tmp_bib(
            "@article{r,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2021,\n"
            "  design = {meta-analysis},\n  k_studies = {6},\n}\n"
        )
    )
    assert base.problems == []
    assert base.studies.loc[0, "k_studies"] == 6


# --- risk of bias ---------------------------------------------------------------------------

ROB2_LEVELS = "low, some concerns, high, no information"
RISK_OF_BIAS_EXPECTED = [
    f"18: Rask2019: rob.judgement: 'moderate' is not a RoB 2 judgement; did you mean 'some "
    f"concerns'? (allowed: {ROB2_LEVELS})",
    "19: Rask2019: rob.support: warning: D3 is judged 'low' without support (the facts it rests "
    "on)",
    "22: Rask2019: rob.domain: 'D6' is not a RoB 2 domain (allowed: D1, D2, D3, D4, D5, overall)",
    "23: Rask2019: rob.judgment: unknown rob key; did you mean 'judgement'? (allowed: domain, "
    "judgement, support, outcome, reason)",
    f"23: Rask2019: rob: rob row has no judgement (allowed: {ROB2_LEVELS})",
    "24: Rask2019: rob.outcome: no outcome row 3 (the entry has 1) (allowed: 1..1)",
    "46: Sund2020: rob.judgement: warning: overall 'high' differs from the RoB 2 algorithm's "
    "'some concerns': RoB 2 leaves to judgement whether some concerns in 2 domains make the "
    "result high (default: 3 or more); give reason={...} on the overall row",
    "48: Sund2020: rob.judgement: warning: outcome row 1: overall 'some concerns' differs from "
    "the RoB 2 algorithm's 'high'; give reason={...} on the overall row",
    "61: Tveit2018: rob.reason: reason is for the overall row (it explains an overall judgement "
    "that differs from the tool's algorithm); use support for D2",
    "67: Tveit2018: rob.domain: D1 judged twice (first on line 60)",
    "68: Tveit2018: rob.judgement: warning: overall 'moderate' differs from the ROBINS-I "
    "algorithm's 'serious' (the most severe domain judgement); give reason={...} on the overall "
    "row",
    "79: Ulla2021: rob_tool: rob_tool RoB2 does not fit design meta-analysis (a review is not "
    "assessed with a study tool) (allowed: none)",
    "89: Vik2017: rob: rob_tool is none, so the study has no risk-of-bias judgements; remove the "
    "rob rows or name the tool (allowed: RoB2, ROBINS-I)",
    "100: Wold2016: rob_tool: rob rows need a rob_tool (allowed: RoB2, ROBINS-I)",
    "111: Xu2019: rob_tool: warning: rob_tool ROBINS-I does not fit design rct-parallel "
    "(allowed: RoB2)",
    "112: Xu2019: rob: warning: no overall judgement; the ROBINS-I algorithm gives 'no "
    "information' (add domain=overall; judgement=no information)",
]


def test_risk_of_bias_fixture_reports_exactly_the_expected_problems() -> None:
    path = INVALID / "risk-of-bias.bib"
    base = evidence.load(path)
    assert [str(p) for p in base.problems] == [f"{path}:{e}" for e in RISK_OF_BIAS_EXPECTED]
    assert (len(base.errors), len(base.warnings)) == (10, 6)


def rob_entry(design: str, tool: str | None, rows: list[str], outcomes: int = 2) -> str:
    """One trial with ``outcomes`` outcome rows, ``rob_tool`` (unless None) and ``rob`` rows."""
    lines = [
        "@article{k,",
        "  author = {A, B},",
        "  title = {T},",
        "  journal = {J},",
        "  year = 2020,",
        f"  design = {{{design}}},",
        "  arms = {drug; placebo},",
        "  outcomes = {",
        *(f"    arm=drug; responders=1; n={5 + i}" for i in range(outcomes)),
        "  },",
    ]
    if tool is not None:
        lines.append(f"  rob_tool = {{{tool}}},")
    if rows:
        lines += ["  rob = {", *(f"    {row}" for row in rows), "  },"]
    return "\n".join([*lines, "}", ""])


def rob2_rows(*levels: str, overall: str | None = None, **extra: str) -> list[str]:
    rows = [f"domain=D{i}; judgement={level}; support=s" for i, level in enumerate(levels, 1)]
    if overall is not None:
        tail = "".join(f"; {k}={{{v}}}" for k, v in extra.items())
        rows.append(f"domain=overall; judgement={overall}{tail}")
    return rows


LOW5 = ("low",) * 5


@pytest.mark.parametrize(
    ("design", "tool", "rows", "expected"),
    [
        pytest.param(
            "rct-parallel", "RoB2", rob2_rows(*LOW5, overall="low"), [], id="consistent-low"
        ),
        pytest.param("rct-parallel", None, [], [], id="not-assessed"),
        pytest.param("single-arm", "none", [], [], id="tool-none-without-rows"),
        pytest.param(
            "single-arm",
            "ROBINS-I",
            [],
            [
                "rob: no judgement for D1, D2, D3, D4, D5, D6, D7 of ROBINS-I (write "
                "judgement=no information where the sources do not let you judge) (allowed: D1, "
                "D2, D3, D4, D5, D6, D7)"
            ],
            id="tool-without-rows",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            rob2_rows(
                "low", "low", "some concerns", "some concerns", "low", overall="some concerns"
            ),
            [],
            id="two-concerns-kept-some-concerns",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            rob2_rows(
                "some concerns",
                "low",
                "some concerns",
                "some concerns",
                "low",
                overall="some concerns",
            ),
            [
                "rob.judgement: warning: overall 'some concerns' differs from the RoB 2 "
                "algorithm's 'high': RoB 2 leaves to judgement whether some concerns in 3 "
                "domains make the result high (default: 3 or more); give reason={...} on the "
                "overall row"
            ],
            id="three-concerns-kept-some-concerns",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            rob2_rows(
                "some concerns",
                "low",
                "some concerns",
                "some concerns",
                "low",
                overall="some concerns",
                reason="the concerns are minor and unrelated",
            ),
            [],
            id="reason-silences-the-warning",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            rob2_rows("high", "low", "low", "low", "low", overall="low"),
            [
                "rob.judgement: warning: overall 'low' differs from the RoB 2 algorithm's "
                "'high'; give reason={...} on the overall row"
            ],
            id="low-despite-a-high-domain",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            rob2_rows(*LOW5),
            [
                "rob: warning: no overall judgement; the RoB 2 algorithm gives 'low' (add "
                "domain=overall; judgement=low)"
            ],
            id="no-overall-row",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            [*rob2_rows(*LOW5, overall="low"), "outcome=2; domain=D4; judgement=high; support=s"],
            [
                "rob.judgement: warning: outcome row 2: overall 'low' (the study's) differs "
                "from the RoB 2 algorithm's 'high'; give reason={...} on the overall row "
                "(outcome=2; domain=overall; ...)"
            ],
            id="override-inherits-an-overall-that-no-longer-fits",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            [
                *rob2_rows(*LOW5, overall="low"),
                "outcome=2; domain=D4; judgement=high; support=s",
                "outcome=2; domain=overall; judgement=high",
            ],
            [],
            id="override-with-its-own-overall",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            [*rob2_rows(*LOW5, overall="low"), "outcome=0; domain=D4; judgement=low; support=s"],
            ["rob.outcome: 0 is below the minimum 1 (allowed: integer >= 1)"],
            id="outcome-zero",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            [*rob2_rows(*LOW5, overall="low"), "domain=d5; judgement=low risk; support=s"],
            [
                "rob.domain: 'd5' is not a RoB 2 domain; did you mean 'D5'? (allowed: D1, D2, "
                "D3, D4, D5, overall)",
                "rob.judgement: 'low risk' is not a RoB 2 judgement; did you mean 'low'? "
                f"(allowed: {ROB2_LEVELS})",
            ],
            id="spellings",
        ),
        pytest.param(
            "cohort",
            "ROBINS-I",
            [
                *(f"domain=D{i}; judgement=low; support=s" for i in range(1, 7)),
                "domain=D7; judgement=high; support=s",
                "domain=overall; judgement=serious",
            ],
            [
                "rob.judgement: 'high' is not a ROBINS-I judgement; did you mean 'serious'? "
                "(allowed: low, moderate, serious, critical, no information)"
            ],
            id="rob2-level-in-robins-i",
        ),
        pytest.param(
            "cohort",
            "ROBINS-I",
            [
                *(f"domain=D{i}; judgement=low; support=s" for i in range(1, 7)),
                "domain=D7; judgement=serious; support=s",
                "domain=overall; judgement=critical",
            ],
            [
                "rob.judgement: warning: overall 'critical' differs from the ROBINS-I "
                "algorithm's 'serious': ROBINS-I allows an overall more severe than the most "
                "severe domain; give reason={...} on the overall row"
            ],
            id="robins-i-more-severe-than-any-domain",
        ),
        pytest.param(
            "case-series",
            "RoB2",
            rob2_rows(*LOW5, overall="low"),
            ["rob_tool: warning: rob_tool RoB2 does not fit design case-series (allowed: none)"],
            id="tool-does-not-fit-design",
        ),
        pytest.param(
            "rct-parallel",
            "RoB2",
            ["domain=D1; support=s", "judgement=low"],
            [
                "rob: no judgement for D2, D3, D4, D5 of RoB 2 (write judgement=no information "
                "where the sources do not let you judge) (allowed: D1, D2, D3, D4, D5)",
                f"rob: rob row has no judgement (allowed: {ROB2_LEVELS})",
                "rob: rob row has no domain (allowed: D1, D2, D3, D4, D5, overall)",
            ],
            id="rows-without-domain-or-judgement",
        ),
    ],
)
def test_risk_of_bias_rules(tmp_bib, design, tool, rows, expected) -> None:
    base = evidence.load(tmp_bib(rob_entry(design, tool, rows)))
    got = [str(p).split(": ", 2)[-1] for p in base.problems]
    assert got == expected


def test_risk_of_bias_problems_carry_the_row_line(tmp_bib) -> None:
    rows = [*rob2_rows(*LOW5), "domain=D6; judgement=low; support=s"]
    path = tmp_bib(rob_entry("rct-parallel", "RoB2", rows))
    (problem,) = evidence.load(path).errors
    assert (problem.line, problem.key, problem.field) == (19, "k", "rob.domain")
    assert path.read_text().splitlines()[18].strip().startswith("domain=D6")


def test_rob_field_opening_brace_on_a_later_line(tmp_bib) -> None:
    text = rob_entry("rct-parallel", "RoB2", [*rob2_rows(*LOW5), "domain=D9; judgement=low"])
    text = text.replace("rob = {", "rob =\n  {")
    (problem,) = evidence.load(tmp_bib(text)).errors
    assert problem.line == 20
    assert tmp_bib(text).read_text().splitlines()[19].strip().startswith("domain=D9")


def test_bundled_base_risk_of_bias_validates() -> None:
    from .conftest import ROOT

    base = evidence.load(ROOT / "studies.bib")
    assert base.problems == []
    assert set(base.studies["rob_tool"].astype(str)) == {"RoB2", "ROBINS-I", "none"}
