"""Methods paragraphs (evidence.methods): each setting in words, with its publications."""

from __future__ import annotations

import itertools

import pytest

from evidence.analysis import Analysis
from evidence.errors import AnalysisError
from evidence.methods import METHODS_BIB, method_references, methods


def _text(report) -> str:
    return " ".join(s.text for s in methods(report))


def _cites(report) -> set[str]:
    return {key for s in methods(report) for key in s.cites}


def test_method_references_load_cleanly_and_format() -> None:
    refs = method_references()
    assert refs.problems == []
    assert len(refs.records) == METHODS_BIB.read_text(encoding="utf-8").count("\n@")
    assert all(
        rec.values.get("doi") or rec.bib.get("url") or rec.entry_type == "book"
        for rec in refs.records
    )


@pytest.mark.parametrize(
    ("settings", "words", "cites"),
    [
        pytest.param(
            {},
            [
                "logit scale",
                "restricted maximum likelihood",
                "z-tests",
                "Wilson score 95%",
                "prediction interval",
            ],
            {"viechtbauer2010", "viechtbauer2005", "wilson1927", "higgins2002", "riley2011"},
            id="defaults",
        ),
        pytest.param(
            {"measure": "PFT", "method": "DL", "test": "knha", "level": 0.9},
            ["Freeman-Tukey", "DerSimonian-Laird", "Knapp-Hartung", "90% confidence"],
            {"freeman1950", "miller1978", "dersimonian1986", "knapp2003"},
            id="pft-dl",
        ),
        pytest.param(
            {"method": "FE", "ci_method": "clopper-pearson"},
            [
                "common-effect (inverse-variance) model",
                "no prediction interval",
                "Clopper-Pearson exact",
            ],
            {"clopper1934"},
            id="fe",
        ),
        pytest.param({"method": "PM"}, ["Paule-Mandel"], {"paule1982"}, id="pm"),
        pytest.param(
            {"method": "SJ", "ci_method": "agresti-coull"},
            ["Sidik-Jonkman", "Agresti-Coull"],
            {"sidik2005", "agresti1998"},
            id="sj",
        ),
        pytest.param(
            {"method": "GLMM"},
            ["binomial generalised linear mixed model"],
            {"stijnen2010"},
            id="glmm",
        ),
        pytest.param(
            {"dependence": "aggregate", "rho": 0.6},
            ["ρ = 0.6", "0, 0.5 and 0.8"],
            {"borenstein2009"},
            id="aggregate",
        ),
        pytest.param(
            {"dependence": "multilevel", "method": "ML", "robust": "CR2"},
            ["three-level", "maximum likelihood", "CR2"],
            {"konstantopoulos2011", "hedges2010", "pustejovsky2018"},
            id="multilevel",
        ),
        pytest.param({"dependence": "none"}, ["as if independent"], set(), id="none"),
        pytest.param(
            {"by": "conditions"}, ["Subgroups by conditions"], {"borenstein2009"}, id="subgroups"
        ),
    ],
)
def test_each_setting_is_said_and_cited(base, settings, words, cites) -> None:
    report = Analysis(name="x", domain="anxiety", **settings).run(base)
    text = _text(report)
    for word in words:
        assert word in text, word
    assert cites <= _cites(report)


@pytest.mark.parametrize(
    ("model", "words", "cite"),
    [
        ("inverse-variance", "pooled in a random-effects model", "viechtbauer2005"),
        ("mantel-haenszel", "Mantel-Haenszel method", "mantel1959"),
        ("peto", "Peto's method", "yusuf1985"),
    ],
)
def test_comparisons(base, model: str, words: str, cite: str) -> None:
    method = "FE" if model != "inverse-variance" else "REML"
    report = Analysis(
        name="x", effect="OR", domain="obsessive-compulsive", model=model, method=method
    ).run(base)
    text = _text(report)
    assert text.startswith(
        "The analysis compared the intervention arms with the comparator arms (OR) in the "
        "obsessive-compulsive domain: 1 row was used, 1 comparison pooled."
    )
    assert "odds ratios" in text and words in text and "never pooled" in text
    assert {cite, "higgins2023"} <= _cites(report)


def test_selection_counts_follow_the_report(base) -> None:
    report = Analysis(name="x", domain="anxiety").run(base)
    first = methods(report)[0].text
    used = int(report.decisions["action"].eq("used").sum())
    assert f": {used} rows were used, {report.overall.k} study arms pooled." in first
    rows_out = int(report.selection.excluded["row"].notna().sum())
    assert f"{rows_out} outcome rows" in first
    nothing = Analysis(name="y", domain="no-such-domain").run(base)
    assert methods(nothing)[0].text.startswith(
        "The analysis pooled the response rates of the intervention arms in the no-such-domain "
        "domain: no study arm could be pooled."
    )


def test_every_cited_key_is_in_the_methods_bibliography(base) -> None:
    keys = {rec.key for rec in method_references().records}
    grid = itertools.product(
        ("PLO", "PFT"),
        ("REML", "DL", "FE", "GLMM", "HE"),
        ("z", "knha", "t"),
        ("one-per-study", "aggregate", "multilevel", "none"),
    )
    tried = 0
    for measure, method, test, dependence in grid:
        try:
            analysis = Analysis(
                name="x",
                domain="anxiety",
                measure=measure,
                method=method,
                test=test,
                dependence=dependence,
            )
        except AnalysisError:
            continue  # a combination the analysis refuses
        assert _cites(analysis.run(base)) <= keys
        tried += 1
    assert tried >= 30
