"""Every kind of problem `evidence validate` catches, with the exact message (fixtures in
tests/data/invalid, described in its README)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.bib import read_bib
from evidence.cli import main
from evidence.editing import set_entry
from evidence.errors import BibFileError, EditError
from evidence.formatting import format_document
from evidence.schema import EFFECT_FIELDS, OUTCOME_FIELDS

from .conftest import CR_FILE, CRLF_FILE, INVALID, ROOT

OUTCOME_KEYS = ", ".join(s.name for s in OUTCOME_FIELDS)
EFFECT_KEYS = ", ".join(s.name for s in EFFECT_FIELDS)

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
BRACES = (
    "(BibTeX counts every brace, backslash or not) (allowed: braces in pairs, {...} or "
    "\\{...\\}, and a lone brace as {\\textbraceleft} or {\\textbraceright})"
)

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
    "nul-bytes.bib": [
        "1: NUL byte (\\x00) at the start of the file; remove it",
        "6: Tan2019: title: NUL byte (\\x00) in the field value; remove it",
        "11: Ulf\\x002020: NUL byte (\\x00) in the citation key; remove it",
    ],
    "case-duplicate-key.bib": [
        "11: Glue2017: duplicate citation key 'Glue2017' (first defined on line 4 as "
        "'glue2017'; BibTeX ignores case in keys)",
    ],
    "unbalanced-braces.bib": [
        "8: Tveit2018: title: unbalanced braces: the last { of 'Set a\\{' is never closed "
        f"{BRACES}",
        "18: Ulvik2019: note: unbalanced braces: the last } of '...s fell from 10 to a\\}' "
        f"closes no group {BRACES}",
        f"26: Vik2019: note: unbalanced braces: the last }} of 'one }}' closes no group {BRACES}",
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
    expected = [f"{path}:{line.replace('{next_year}', str(nxt))}" for line in EXPECTED[name]]
    assert [str(p) for p in base.problems] == expected
    assert all(p.severity == "error" for p in base.problems)


def test_unbalanced_braces_are_value_braces_and_the_entries_still_load(
    tmp_path: Path,
) -> None:
    path = tmp_path / "unbalanced-braces.bib"
    path.write_bytes((INVALID / "unbalanced-braces.bib").read_bytes())
    base = evidence.load(path)
    assert [(p.key, p.field, p.code) for p in base.problems] == [
        ("Tveit2018", "title", "value.braces"),
        ("Ulvik2019", "note", "value.braces"),
        ("Vik2019", "note", "value.braces"),
    ]
    assert list(base.studies["key"]) == ["Tveit2018", "Ulvik2019", "Vik2019"]
    # the error already there does not block editing the entry's other fields
    set_entry(path, "Tveit2018", {"year": "2019"})
    assert "  year = {2019},\n" in path.read_text(encoding="utf-8")
    assert [p.code for p in evidence.load(path).problems] == ["value.braces"] * 3


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
            "arm=ketamine; colour=1",
            [f"outcomes.colour: unknown outcome key (allowed: {OUTCOME_KEYS})"],
            id="unknown-key",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; responder=1; n=2",
            [
                "outcomes.responder: unknown outcome key; did you mean 'responders'? "
                f"(allowed: {OUTCOME_KEYS})"
            ],
            id="key-typo",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; mean=10; sd=2; n=8; responders=3",
            [
                "outcomes.mean: a row is either binary (responders) or continuous (mean, sd); "
                "put them on two rows"
            ],
            id="binary-and-continuous",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; mean=10; n=8",
            ["outcomes.mean: a mean needs its sd, se or ci (allowed: sd, se, ci)"],
            id="mean-without-spread",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; mean=10; sd=0; n=1",
            [
                "outcomes.sd: 0 must be above 0 (allowed: number > 0)",
                "outcomes.n: n=1: an SD needs n >= 2 (allowed: integer >= 2)",
            ],
            id="sd-zero-n-one",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; mean=10; ci=11..14; n=8",
            ["outcomes.ci: ci 11..14 does not contain the mean 10"],
            id="ci-misses-mean",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; median=10; q1=12; q3=14; n=8",
            ["outcomes.median: min <= q1 <= median <= q3 <= max does not hold"],
            id="quartiles-order",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; median=10; n=8",
            [
                "outcomes.median: a median needs q1 and q3, or min and max (to convert it to a "
                "mean and SD) (allowed: q1+q3, min+max, or all four)"
            ],
            id="median-alone",
        ),
        pytest.param(
            "arms = {ketamine},",
            "arm=ketamine; mean=10; ci=14..11; n=8",
            [
                "outcomes.ci: interval '14..11': the lower limit must be below the upper one "
                "(allowed: low..high, e.g. 0.36..1.91 or -1.89..-0.44)",
            ],
            id="interval-order",
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


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            "effect=OR; estimate=2.0; ci=1.2..3.4; intervention=ketamine; comparator=placebo",
            [],
            id="fine",
        ),
        pytest.param(
            "effect=OR; estimate=2.0; intervention=ketamine; comparator=placebo",
            [
                "effects.ci: a reported effect needs its ci, se or p (to weigh it in a "
                "meta-analysis) (allowed: ci, se, p)"
            ],
            id="no-ci",
        ),
        pytest.param(
            "effect=OR; estimate=4.0; ci=1.2..3.4; intervention=ketamine; comparator=placebo",
            ["effects.ci: ci 1.2..3.4 does not contain the estimate 4"],
            id="ci-misses",
        ),
        pytest.param(
            "effect=RR; estimate=-1; se=0.2; intervention=ketamine; comparator=placebo",
            ["effects.estimate: RR is a ratio: -1 is not positive (allowed: a number > 0)"],
            id="ratio-negative",
        ),
        pytest.param(
            "effect=MD; estimate=-3; se=1; intervention=ketamine; comparator=sham",
            ["effects.comparator: unknown arm 'sham' (allowed: ketamine, placebo)"],
            id="unknown-arm",
        ),
        pytest.param(
            "effect=MD; estimate=-3; se=1; intervention=ketamine",
            [
                "effects.comparator: a comparison needs its comparator (only single-group "
                "changes MC, SMCR, SMCC have none)"
            ],
            id="no-comparator",
        ),
        pytest.param(
            "estimate=2; se=1",
            [
                "effects.effect: effect row has no effect",
                "effects.comparator: a comparison needs its comparator (only single-group "
                "changes MC, SMCR, SMCC have none)",
            ],
            id="no-effect",
        ),
        pytest.param(
            "effect=MC; estimate=-2.4; ci=-3.7..-1.0; intervention=ketamine; colour=red",
            [f"effects.colour: unknown effect key (allowed: {EFFECT_KEYS})"],
            id="unknown-key",
        ),
    ],
)
def test_reported_effects(tmp_bib, rows: str, expected: list[str]) -> None:
    text = (
        "@article{k,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2020,\n"
        f"  arms = {{ketamine; placebo}},\n  effects = {{\n    {rows}\n  }},\n}}\n"
    )
    base = evidence.load(tmp_bib(text))
    assert [str(p).split(": ", 2)[-1] for p in base.problems] == expected
    if not expected:
        assert base.records[0].effects[0].values["estimate"] == 2.0
        assert base.records[0].effects[0].values["ci"] == (1.2, 3.4)


def test_review_without_counts_validates(tmp_bib) -> None:
    base = evidence.load(
        tmp_bib(
            "@article{r,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2021,\n"
            "  design = {meta-analysis},\n  k_studies = {6},\n}\n"
        )
    )
    assert base.problems == []
    assert base.studies.loc[0, "k_studies"] == 6


def test_every_registered_code_is_used_and_every_used_code_registered() -> None:
    """A Problem with an unregistered code cannot be made; no registered code is dead."""
    import re

    from evidence.errors import PROBLEM_CODES, Problem

    from .conftest import ROOT

    with pytest.raises(ValueError, match=r"unknown problem code 'made\.up'"):
        Problem("f", 1, "k", "", "m", code="made.up")
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "evidence").glob("*.py"))
    literals = set(re.findall(r'"([a-z_]+(?:[.>][a-z_>-]+)?)"', source))
    unused = [code for code in PROBLEM_CODES if code not in literals - {""}]
    assert unused == []


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        pytest.param(
            "many-problems.bib",
            [
                "value.choice",
                "value.int",
                "outcomes.responders>n",
                "outcomes.arm-unknown",
                "value.choice",
                "value.timepoint",
                "field.required",
                "field.required",
                "doi.malformed",
                "value.choices",
                "key.duplicate",
            ],
            id="many",
        ),
        pytest.param("syntax-error.bib", ["syntax"], id="syntax"),
        pytest.param("duplicate-field.bib", ["field.duplicate"], id="field"),
        pytest.param("same-doi.bib", ["doi.duplicate"], id="doi"),
        pytest.param("case-duplicate-key.bib", ["key.duplicate"], id="case-key"),
        pytest.param("nul-bytes.bib", ["text.nul"] * 3, id="nul"),
        pytest.param(
            "out-of-range.bib",
            ["year.range", "outcomes.responders>n", "value.int", "value.float"],
            id="range",
        ),
        pytest.param(
            "claims.bib",
            [
                "claims.cite-unknown",
                "value.float",
                "claims.cites-mixed",
                "claims.id-repeated",
                "claims.key-missing",
                "claims.reason-missing",
                "claims.key-unknown",
                "claims.reason-without-verdict",
                "claims.key-repeated",
                "value.choice",
                "claims.syntax",
            ],
            id="claims",
        ),
    ],
)
def test_problems_carry_their_rule_code(name: str, codes: list[str]) -> None:
    assert [p.code for p in evidence.load(INVALID / name).problems] == codes


def test_validate_json_includes_the_code() -> None:
    import json

    from click.testing import CliRunner

    from evidence.cli import main

    args = ["validate", str(INVALID / "unknown-arm.bib"), "--format", "json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    [problem] = json.loads(result.stdout)
    assert problem["code"] == "outcomes.arm-unknown"
    assert list(problem) == [
        "file",
        "line",
        "key",
        "field",
        "code",
        "message",
        "allowed",
        "severity",
    ]


# ------------------------------------------------- entry structure (found in review)


def test_comment_inside_an_entry_is_reported_not_dropped(tmp_bib) -> None:
    text = (
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020}, % online 2019\n  volume = {3},\n  design = {rct-parallel},\n}\n"
    )
    path = tmp_bib(text)
    problems = [str(p) for p in evidence.load(path).errors]
    assert problems == [
        f"{path}:6: k1: % online 2019 volume: malformed field name (a % comment or stray "
        "text inside an entry is not BibTeX; comments go between entries)"
    ]
    with pytest.raises(EditError, match=r":1: k1: cannot read the fields of this entry near"):
        set_entry(path, "k1", {"volume": "4"})
    with pytest.raises(EditError):
        format_document(read_bib(path))
    assert path.read_text(encoding="utf-8") == text


def test_a_nul_byte_in_a_field_name_is_shown_escaped_in_every_message(tmp_bib) -> None:
    # The malformed-field-name message used to echo the NUL byte raw, unlike text.nul's.
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020},\n  vol\x00ume = {3},\n}\n"
    )
    problems = evidence.load(path).errors
    assert [str(p) for p in problems] == [
        f"{path}:6: k1: vol\\x00ume: malformed field name (a % comment or stray text inside an "
        "entry is not BibTeX; comments go between entries)",
        f"{path}:6: k1: vol\\x00ume: NUL byte (\\x00) in the field name; remove it",
    ]
    assert [p.field for p in problems] == ["vol\x00ume", "vol\x00ume"]  # the text as it is
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1
    assert "\x00" not in result.output and result.stdout.count("vol\\x00ume: ") == 2


def test_missing_comma_between_fields_is_an_error(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020},\n  volume = {3}\n  pages = {1--2},\n}\n"
    )
    problems = [str(p).split(": ", 1)[1] for p in evidence.load(path).errors]
    assert problems == ["k1: volume: malformed value (a missing comma between two fields?)"]


def test_field_names_differing_in_case_are_duplicates(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020},\n  design = {single-arm},\n  Design = {bogus},\n}\n"
    )
    problems = [str(p).split(": ", 1)[1] for p in evidence.load(path).errors]
    assert problems[0] == (
        "k1: Design: field 'design' appears more than once in the entry (first on line 6)"
    )


def test_undefined_macro_is_a_warning(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = jpx,\n  year = 2020,\n}\n"
    )
    base = evidence.load(path)
    assert not base.errors
    assert [p.message for p in base.warnings] == ["undefined macro 'jpx' (no @string defines it)"]


def test_outcome_rows_counted_from_the_opening_brace(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2020,\n"
        "  arms = {ketamine},\n  outcomes =\n  {arm=ketamine; n=3\n   arm=ketamine; n=x\n  },\n}\n"
    )
    assert [p.line for p in evidence.load(path).errors] == [9]


def test_cr_only_file_reads_like_its_crlf_twin(tmp_path: Path) -> None:
    cr, crlf = evidence.load(CR_FILE), evidence.load(CRLF_FILE)
    assert cr.document.cr and not crlf.document.cr
    assert cr.problems == crlf.problems == []
    assert [(r.key, r.line, r.field_lines) for r in cr.records] == [
        (r.key, r.line, r.field_lines) for r in crlf.records
    ]
    assert [(o.line, o.values) for r in cr.records for o in r.outcomes] == [
        (o.line, o.values) for r in crlf.records for o in r.outcomes
    ]
    # problems point at the right line: break one outcome row and compare
    bad = tmp_path / "bad.bib"
    bad.write_bytes(CR_FILE.read_bytes().replace(b"responders=", b"responders=x", 1))
    [problem] = evidence.load(bad).problems
    line = (
        CR_FILE.read_bytes()
        .split(b"\r")
        .index(next(row for row in CR_FILE.read_bytes().split(b"\r") if b"responders=" in row))
    )
    assert (problem.line, problem.field) == (line + 1, "outcomes.responders")


def test_cli_validate_cr_only_file() -> None:
    result = CliRunner().invoke(main, ["validate", str(CR_FILE)])
    assert result.exit_code == 0
    assert result.stderr == f"{CR_FILE}: 3 entries, 0 error(s), 0 warning(s)\n"


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


# ------------------------------------------------------------------------------ claims

CLAIMS_FILE = [
    "16: clinicpage: claims.cites: no entry with citation key 'Berg2018'; did you mean 'Berg2019'?",
    "17: clinicpage: claims.percent: 'fifty' is not a number (allowed: number 0..100)",
    "17: clinicpage: claims.cites: cites both none and citation keys (Berg2019) (allowed: "
    "citation keys, or none alone)",
    "17: clinicpage: claims.id: claim id 'A' used twice (first on line 16)",
    "18: clinicpage: claims.text: claim row has no text",
    "18: clinicpage: claims.reason: an analyst's verdict needs its reason (reason={...})",
    "19: clinicpage: claims.quantifer: unknown claim key; did you mean 'quantifier'? (allowed: "
    "id, text, cites, year, conditions, route, comparator, n, domain, percent, quantifier, "
    "time, within, lasting, direction, verdict, reason, note)",
    "19: clinicpage: claims.reason: warning: reason explains an analyst's verdict, and this "
    "claim has none (add verdict=...)",
    "20: clinicpage: claims: key 'year' given twice in one row",
    "20: clinicpage: claims.direction: unknown value 'superior'; did you mean 'better'? "
    "(allowed: better, significant, no-difference, worse)",
    "21: clinicpage: claims: expected key=value, found 'safe'",
]


def test_claims_problems_line_by_line() -> None:
    path = INVALID / "claims.bib"
    problems = evidence.load(path).problems
    assert [str(p).removeprefix(f"{path}:") for p in problems] == CLAIMS_FILE
    assert [p.severity for p in problems].count("warning") == 1


def test_claims_rows_are_typed_like_the_outcome_fields(tmp_bib) -> None:
    path = tmp_bib(
        "@article{t,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2019,\n}\n"
        "@online{doc,\n  title = {D},\n  claims = {\n"
        "    id=1; text=x; cites={t}; year=1850; conditions={GAD; bipolar}; route=intravenous\n"
        "    id=2; text=y; cites=t, t; within=soonish; n=-2; comparator=waitlist; verdict=maybe\n"
        "  },\n}\n"
    )
    base = evidence.load(path, config=ROOT / "pyproject.toml")  # its vocabularies
    problems = [(p.line, p.field, p.code, p.message) for p in base.errors]
    assert problems == [
        (10, "claims.year", "value.int", "1850 is below the minimum 1900"),
        (10, "claims.conditions", "value.choices", "unknown value 'bipolar'"),
        (10, "claims.route", "value.choices", "unknown value 'intravenous'; did you mean 'IV'?"),
        (11, "claims.within", "value.timepoint", "cannot read timepoint 'soonish'"),
        (11, "claims.n", "value.int", "-2 is below the minimum 0"),
        (11, "claims.comparator", "value.choice", "unknown value 'waitlist'"),
        (11, "claims.verdict", "value.choice", "unknown value 'maybe'"),
        (
            11,
            "claims.reason",
            "claims.reason-missing",
            "an analyst's verdict needs its reason (reason={...})",
        ),
    ]
    (doc,) = [r for r in base.records if r.key == "doc"]
    assert doc.claims[1].values["cites"] == ("t",)  # a key cited twice counts once
    assert doc.claims[0].values["written"]["route"] == "intravenous"


def test_every_rows_field_has_its_own_checker() -> None:
    from evidence.schema import ROWS_FIELDS
    from evidence.validation import ROWS_CHECKERS

    assert set(ROWS_CHECKERS) == set(ROWS_FIELDS) == {"outcomes", "effects", "rob", "claims"}
    assert len(set(ROWS_CHECKERS.values())) == len(ROWS_CHECKERS)


def test_an_entry_with_claims_and_no_study_field_is_a_document(tmp_bib) -> None:
    text = (
        "@online{doc,\n  title = {D},\n  verification = {unverified},\n"
        "  claims = {\n    text=x; cites=none\n  },\n}\n"
        "@article{review,\n  author = {A, B},\n  title = {R},\n  journal = {J},\n  year = 2020,\n"
        "  design = {meta-analysis},\n  claims = {\n    text=y; cites=none\n  },\n}\n"
        "@article{plain,\n  author = {A, B},\n  title = {P},\n  journal = {J},\n  year = 2020,\n}\n"
    )
    base = evidence.load(tmp_bib(text))
    assert base.problems == []
    assert [r.is_study for r in base.records] == [False, True, True]
    assert [r.key for r in base.documents] == ["doc"]
    assert list(base.studies["key"]) == ["review", "plain"]  # a review making claims is a study
    assert [len(r.claims) for r in base.records] == [1, 1, 0]


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "studies.bib",
        *sorted(p for p in INVALID.glob("*.bib") if p.name not in ("empty.bib", "not-utf8.bib")),
    ],
    ids=lambda p: p.name,
)
def test_read_records_holds_the_values_check_reads(path: Path) -> None:
    """`read_records` (what `duplicates` reads) is `check`'s pass without the typing: the
    same entries, in order, with the same BibTeX values and lines."""
    from evidence.validation import check, read_records

    doc = read_bib(path)
    checked, _ = check(doc)
    light = read_records(doc)
    assert [(r.key, r.entry_type, r.line, r.bib, r.field_lines) for r in light] == [
        (r.key, r.entry_type, r.line, r.bib, r.field_lines) for r in checked
    ]
    assert all(not r.values and not r.outcomes and not r.rob for r in light)
    if path.name == "studies.bib":
        assert any(r.values for r in checked)  # so the comparison above means something


def test_a_repeated_field_is_an_error_and_its_first_value_is_the_entrys(tmp_bib) -> None:
    """As BibTeX reads it ("Repeated entry": the later value is ignored), so `duplicates`,
    which reads files with errors, compares what BibTeX would print."""
    from evidence.bib import read_bib
    from evidence.validation import read_records

    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {First},\n  journal = {J},\n"
        "  year = {2020},\n  n_enrolled = {12},\n  Title = {Second},\n  n_enrolled = {many},\n}\n"
    )
    base = evidence.load(path)
    assert [(p.line, p.field, p.code) for p in base.errors] == [
        (7, "Title", "field.duplicate"),
        (8, "n_enrolled", "field.duplicate"),
    ]
    (record,) = read_records(read_bib(path))
    assert record.bib["title"] == "First" and record.bib["n_enrolled"] == "12"
    assert record.field_lines["title"] == 3


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("glue2017\u200b", "U+200B ZERO WIDTH SPACE"),
        ("glue\u202e7102", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("glue\u00a02017", "U+00A0 NO-BREAK SPACE"),
        ("glue\x072017", "U+0007 CONTROL"),
    ],
)
def test_a_key_no_one_can_see_or_type_is_a_warning(key: str, named: str) -> None:
    from evidence.bib import parse_bib
    from evidence.validation import check

    doc = parse_bib(f"@misc{{{key},\n  title = {{T}},\n}}\n@misc{{müller2019, title={{T}}}}\n")
    problems = check(doc)[1]
    assert [(p.key, p.code, p.severity, p.message) for p in problems] == [
        (
            key,
            "key.invisible",
            "warning",
            f"the citation key holds {named}, which no one can see or type",
        )
    ]
    shown = repr(key)[1:-1]  # as a string literal writes it: glue2017\u200b
    assert str(problems[0]).startswith(f"<string>:1: {shown}: warning: the citation key holds")


def test_a_syntax_error_from_a_value_ending_in_a_backslash_says_so(tmp_path) -> None:
    """bibtexparser misreads ``{Line\\\\}`` (its closing brace taken for text): the syntax
    error it gives says what the likely cause is and what to write instead."""
    path = tmp_path / "bs.bib"
    path.write_text(
        "@article{k1,\n  title = {Line\\\\},\n  year = {2020},\n}\n\n"
        "@article{k2,\n  title = {Two},\n  year = {2021},\n}\n",
        encoding="utf-8",
    )
    problems = [p for p in evidence.load(path).errors if p.code == "syntax"]
    assert [(p.line, p.key) for p in problems] == [(1, "k1")]
    assert problems[0].message.endswith(
        "; perhaps a value may not end in a backslash: bibtexparser, which reads the file, "
        "takes the brace that closes it for text and reads on into what follows (end it "
        "otherwise: \\newline for a line break, \\textbackslash{} for a backslash)"
    )
