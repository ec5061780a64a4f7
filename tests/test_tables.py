"""Studies and outcomes tables (evidence.tables via evidence.load)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import evidence
from evidence.tables import OUTCOME_COLUMNS, STUDY_COLUMNS


def test_bundled_studies_bib_is_valid(base) -> None:
    assert base.errors == []
    assert base.warnings == []
    assert len(base.studies) == 16


def test_column_order_and_dtypes(base) -> None:
    assert tuple(base.studies.columns) == STUDY_COLUMNS
    assert tuple(base.outcomes.columns) == OUTCOME_COLUMNS
    s, o = base.studies, base.outcomes
    assert s["year"].dtype == "Int64"
    assert isinstance(s["design"].dtype, pd.CategoricalDtype)
    assert s["n_enrolled"].dtype == "Int64"
    assert s["title"].dtype == "string"
    assert o["responders"].dtype == "Int64"
    assert o["percent"].dtype == "Float64"
    assert o["derived"].dtype == "boolean"
    assert isinstance(o["measure"].dtype, pd.CategoricalDtype)


def _rows(base, key: str) -> pd.DataFrame:
    return base.outcomes[base.outcomes["key"] == key].reset_index(drop=True)


def test_taylor_2018_keeps_percentages_for_both_scales(base) -> None:
    rows = _rows(base, "taylor2018")
    got = list(zip(rows["arm"], rows["measure"], rows["percent"], strict=True))
    assert got == [
        ("ketamine", "LSAS", 33.33),
        ("placebo", "LSAS", 0.0),
        ("ketamine", "VAS-A", 88.89),
        ("placebo", "VAS-A", 52.94),
    ]
    assert rows["responders"].isna().all()
    assert rows["time_hours"].tolist() == [336.0] * 4


def test_rodriguez_2013_first_phase_counts_are_derived(base) -> None:
    rows = _rows(base, "rodriguez2013")
    assert rows[["arm", "responders", "n"]].values.tolist() == [
        ["ketamine", 4, 8],
        ["placebo", 0, 7],
    ]
    assert rows["derived"].tolist() == [True, True]
    assert rows["analysis"].tolist() == ["first-phase", "first-phase"]
    assert rows["time_hours"].tolist() == [168.0, 168.0]
    assert rows["rate"].tolist() == [0.5, 0.0]


def test_irwin_2013_completers_of_enrolled(base) -> None:
    study = base.studies.set_index("key").loc["irwin2013"]
    assert (study["n_enrolled"], study["n_analysed"]) == (14, 8)
    rows = _rows(base, "irwin2013")
    assert set(rows["analysis"]) == {"completers"}
    assert rows[["responders", "n"]].values.tolist() == [[8, 8], [8, 8]]


def test_reviews_tabulate_without_outcomes(base) -> None:
    s = base.studies.set_index("key")
    for key in ("whittaker2021", "tully2022", "hartland2023", "banov2020"):
        assert s.loc[key, "n_outcomes"] == 0
        assert s.loc[key, "design"] in ("meta-analysis", "systematic-review", "narrative-review")
    assert s.loc["whittaker2021", "k_studies"] == 6


def test_latex_and_macros_decoded_for_display(tmp_bib) -> None:
    path = tmp_bib(
        "@string{jp = {J Psychopharmacol}}\n"
        '@article{k,\n  author = {M{\\"u}ller, J{\\"o}rg and Garc{\\\'\\i}a, A. and others},\n'
        "  title = {{GAD} and {SAD} in 1302--1305},\n  journal = jp # { Suppl},\n"
        "  year = 2020,\n}\n"
    )
    row = evidence.load(path).studies.iloc[0]
    assert row["authors"] == "Müller, Jörg; García, A.; et al."
    assert row["first_author"] == "Müller"
    assert row["title"] == "GAD and SAD in 1302–1305"
    assert row["journal"] == "J Psychopharmacol Suppl"


def test_plain_reference_without_outcome_fields_is_valid(tmp_bib) -> None:
    base = evidence.load(
        tmp_bib(
            "@book{b,\n  author = {A, B},\n  title = {T},\n  publisher = {P},\n  year = 1999\n}\n"
        )
    )
    assert base.problems == []
    row = base.studies.iloc[0]
    assert row["entry_type"] == "book" and row["n_outcomes"] == 0
    assert pd.isna(row["design"])
    assert base.outcomes.empty and tuple(base.outcomes.columns) == OUTCOME_COLUMNS


def test_loading_does_not_mutate_between_calls() -> None:
    base = evidence.load(Path(__file__).parent.parent / "studies.bib")
    first = base.studies.copy()
    base.studies["title"] = "x"  # a user's mutation of the returned frame
    again = evidence.load(Path(__file__).parent.parent / "studies.bib").studies
    pd.testing.assert_frame_equal(again, first)


@pytest.mark.parametrize("path", sorted((Path(__file__).parent / "data" / "styles").glob("*.bib")))
def test_style_fixtures_load(path: Path) -> None:
    base = evidence.load(path)
    assert len(base.studies) == len(base.document.library.entries)
    assert not base.errors, [str(p) for p in base.errors]


# --- risk of bias -----------------------------------------------------------------------------

ROB_TEXT = """@article{a,
  author = {A, B}, title = {T}, journal = {J}, year = 2020,
  design = {rct-parallel}, arms = {drug; placebo},
  outcomes = {
    arm=drug; responders=2; n=5
    arm=placebo; responders=1; n=5
    arm=drug; responders=3; n=5
  },
  rob_tool = {RoB2},
  rob = {
    domain=D1; judgement=low; support={central randomisation}
    domain=D2; judgement=low; support={double-blind}
    domain=D3; judgement=low; support={complete}
    domain=D4; judgement=some concerns; support={M\\"uller scale}
    domain=D5; judgement=low; support={registered}
    domain=overall; judgement=some concerns
    outcome=3; domain=D4; judgement=high; support={self-rated}
    outcome=3; domain=overall; judgement=high; support={D4 high}
  },
}
@article{b,
  author = {A, B}, title = {T}, journal = {J}, year = 2020,
  design = {cohort}, rob_tool = {ROBINS-I},
  rob = {
    domain=D1; judgement=serious; support={unadjusted}
    domain=D2; judgement=low; support=s
    domain=D3; judgement=low; support=s
    domain=D4; judgement=low; support=s
    domain=D5; judgement=low; support=s
    domain=D6; judgement=low; support=s
    domain=D7; judgement=low; support=s
    domain=overall; judgement=critical; reason={several problems together}
  },
}
@article{c,
  author = {A, B}, title = {T}, journal = {J}, year = 2020,
  design = {meta-analysis}, rob_tool = {none},
}
@article{d,
  author = {A, B}, title = {T}, journal = {J}, year = 2020,
}
"""


@pytest.fixture(scope="module")
def rob_base():
    loaded = evidence.loads(ROB_TEXT)
    assert loaded.problems == [], [str(p) for p in loaded.problems]
    return loaded


def test_risk_of_bias_table_one_row_per_result_and_domain(rob_base) -> None:
    from evidence.tables import RISK_OF_BIAS_COLUMNS

    rob = rob_base.risk_of_bias
    assert tuple(rob.columns) == RISK_OF_BIAS_COLUMNS
    results = list(dict.fromkeys(zip(rob["key"], rob["outcome_row"].fillna(0), strict=True)))
    assert results == [("a", 0), ("a", 3), ("b", 0)]  # c (tool none), d (no tool): no rows
    assert len(rob) == 6 + 6 + 8
    a = rob[(rob["key"] == "a") & rob["outcome_row"].isna()]
    assert list(a["domain"]) == ["D1", "D2", "D3", "D4", "D5", "overall"]
    assert list(a["judgement"].astype(str)) == [
        *["low"] * 3,
        "some concerns",
        "low",
        "some concerns",
    ]
    assert a["domain_name"].iloc[0] == "Bias arising from the randomisation process"
    assert a["domain_name"].iloc[-1] == "Overall risk of bias"
    assert a["support"].iloc[3] == "Müller scale"  # LaTeX decoded for display
    assert set(a["source"]) == {"stated"}
    assert a["algorithm"].iloc[-1] == "some concerns" and a["algorithm"].iloc[:-1].isna().all()
    assert list(a["line"]) == list(range(11, 17))


def test_risk_of_bias_table_outcome_result_lists_every_domain(rob_base) -> None:
    rob = rob_base.risk_of_bias
    row3 = rob[(rob["key"] == "a") & rob["outcome_row"].eq(3).fillna(False)]
    got = list(zip(row3["domain"], row3["judgement"].astype(str), row3["source"], strict=True))
    assert got == [
        ("D1", "low", "study"),
        ("D2", "low", "study"),
        ("D3", "low", "study"),
        ("D4", "high", "stated"),
        ("D5", "low", "study"),
        ("overall", "high", "stated"),
    ]
    assert set(row3["overall"].astype(str)) == {"high"}


def test_risk_of_bias_table_keeps_a_stated_overall_and_its_reason(rob_base) -> None:
    rob = rob_base.risk_of_bias
    b = rob[rob["key"] == "b"].set_index("domain")
    assert b.loc["overall", "judgement"] == "critical"
    assert b.loc["overall", "algorithm"] == "serious"
    assert b.loc["overall", "reason"] == "several problems together"
    assert b["tool"].iloc[0] == "ROBINS-I"
    assert isinstance(rob["judgement"].dtype, pd.CategoricalDtype)
    assert rob["outcome_row"].dtype == "Int64"


def test_studies_table_has_the_tool_and_the_overall_judgement(rob_base) -> None:
    s = rob_base.studies.set_index("key")
    assert s["rob_tool"].tolist()[:3] == ["RoB2", "ROBINS-I", "none"]
    assert pd.isna(s.loc["d", "rob_tool"])
    assert s.loc["a", "rob_overall"] == "some concerns"
    assert s.loc["b", "rob_overall"] == "critical"
    assert s[["rob_overall"]].loc[["c", "d"]].isna().all().all()


def test_outcome_risk_of_bias_prefers_the_rows_own_result(rob_base) -> None:
    from evidence.tables import outcome_risk_of_bias

    outcomes = rob_base.outcomes
    before = outcomes.copy(deep=True)
    got = outcome_risk_of_bias(rob_base.risk_of_bias, outcomes)
    assert got[["key", "row"]].values.tolist() == [["a", 1], ["a", 2], ["a", 3]]
    assert list(got["overall"].astype(str)) == ["some concerns", "some concerns", "high"]
    assert list(got["tool"].astype(str)) == ["RoB2"] * 3
    pd.testing.assert_frame_equal(outcomes, before)


def test_bundled_risk_of_bias(base) -> None:
    rob = base.risk_of_bias
    study = rob[rob["outcome_row"].isna()]
    tools = study.drop_duplicates("key").set_index("key")["tool"].astype(str).to_dict()
    assert tools == {
        "taylor2018": "RoB2",
        "rodriguez2013": "RoB2",
        "glue2020replication": "RoB2",
        "shadli2018": "ROBINS-I",
        "feder2014": "RoB2",
        "feder2021": "RoB2",
        "abdallah2022": "RoB2",
    }
    judged = study[~study["judgement"].isin(["no information"]) & study["domain"].ne("overall")]
    got = list(zip(judged["key"], judged["domain"], judged["judgement"].astype(str), strict=True))
    assert got == [
        ("taylor2018", "D4", "low"),
        ("rodriguez2013", "D3", "low"),
        ("rodriguez2013", "D5", "some concerns"),
        ("shadli2018", "D3", "low"),
    ]
    assert set(study.loc[study["domain"] == "overall", "judgement"].astype(str)) == {
        "no information"
    }
    overrides = rob[rob["outcome_row"].notna() & rob["source"].eq("stated")]
    assert overrides[["key", "outcome_row", "domain"]].values.tolist() == [
        ["taylor2018", 3, "D4"],
        ["taylor2018", 4, "D4"],
    ]
