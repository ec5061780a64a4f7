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
