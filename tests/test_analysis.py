"""The Analysis value (evidence.analysis): validated once, frozen, recorded whole."""

from __future__ import annotations

import dataclasses

import pytest

import evidence
from evidence.analysis import CONSTRAINTS, Analysis, subgroup_columns
from evidence.errors import AnalysisError

from .conftest import ROOT


def test_defaults_live_in_one_place() -> None:
    a = Analysis()
    assert (a.arm, a.dependence, a.measure, a.method, a.test, a.level, a.ci_method) == (
        "intervention",
        "one-per-study",
        "PLO",
        "REML",
        "z",
        0.95,
        "wilson",
    )
    assert a.by is None and a.robust is None and a.rho == 0.5
    assert list(a.to_dict()) == list(CONSTRAINTS)


def test_values_are_normalised() -> None:
    a = Analysis(name=" main ", method="reml", measure="pft", test="KNHA", by="none", robust=None)
    assert (a.name, a.method, a.measure, a.test, a.by) == ("main", "REML", "PFT", "knha", None)
    assert Analysis(dependence="multilevel", robust=True).robust == "CR1"
    assert Analysis(prefer_scales=["A", " B "]).prefer_scales == ("A", "B")
    assert Analysis(arm="Intervention").arm == "intervention"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"method": "ZZ"},
            "analysis 'x': method: unknown value 'ZZ' (allowed: FE, DL, REML, PM, HE, SJ, ML, "
            "GLMM)",
            id="method",
        ),
        pytest.param(
            {"level": 1.5}, "level: 1.5 is not a number strictly between 0 and 1", id="lvl"
        ),
        pytest.param(
            {"level": True}, "level: True is not a number strictly between", id="lvl-bool"
        ),
        pytest.param({"rho": 1}, "rho: 1 is not a correlation strictly between -1 and 1", id="rho"),
        pytest.param({"headline": "yes"}, "headline: expected true or false, got 'yes'", id="bool"),
        pytest.param(
            {"timepoint": "soon"}, "timepoint: cannot read timepoint window 'soon'", id="tp"
        ),
        pytest.param(
            {"target_time": "later"}, "target_time: cannot read timepoint 'later'", id="tt"
        ),
        pytest.param({"prefer_scales": "A"}, "prefer_scales: expected a list of labels", id="list"),
        pytest.param(
            {"dependence": "some"},
            "dependence: unknown value 'some' (allowed: one-per-study",
            id="dep",
        ),
        pytest.param(
            {"robust": "CR9"},
            "robust: unknown value 'CR9' (allowed: false, true (= CR1), CR1, CR2)",
            id="robust",
        ),
        pytest.param(
            {"robust": True},
            "robust: cluster-robust inference needs dependence = 'multilevel'",
            id="robust-needs-ml",
        ),
        pytest.param({"method": "ML"}, "method: 'ML' is for multilevel models", id="ml"),
        pytest.param(
            {"dependence": "multilevel", "method": "DL"},
            "method: 'DL' cannot fit a multilevel model (allowed: REML, ML)",
            id="ml-dl",
        ),
        pytest.param(
            {"dependence": "multilevel", "test": "knha"},
            "test: 'knha' is for rma.uni models; use t (allowed: z, t)",
            id="ml-knha",
        ),
        pytest.param(
            {"test": "t"}, "test: 't' is for multilevel and GLMM models (allowed: z, knha)", id="t"
        ),
        pytest.param(
            {"method": "GLMM", "measure": "PFT"},
            "measure: 'PFT' cannot be used with method GLMM (allowed: PLO)",
            id="glmm-pft",
        ),
        pytest.param(
            {"method": "GLMM", "test": "knha"},
            "test: 'knha' is for rma.uni models (allowed: z, t)",
            id="glmm-knha",
        ),
        pytest.param(
            {"method": "GLMM", "dependence": "aggregate"},
            "dependence: 'aggregate' cannot be used with method GLMM",
            id="glmm-agg",
        ),
        pytest.param({"name": ""}, "name: an analysis needs a name", id="name"),
        pytest.param(
            {"ci_method": "exact"},
            "ci_method: unknown value 'exact' (allowed: wilson, clopper-pearson",
            id="ci",
        ),
        pytest.param(
            {"by": "nonexistent"},
            "by: unknown column 'nonexistent' (allowed: key, arm, agent, role, domain",
            id="by",
        ),
        pytest.param(
            {"by": "Conditon"},
            "by: unknown column 'Conditon'; did you mean 'conditions'? (allowed: key, arm",
            id="by-hint",
        ),
        pytest.param({"by": "line"}, "by: unknown column 'line' (allowed: key, arm", id="by-line"),
        pytest.param(
            {"by": "agent", "effect": "OR"},
            "by: unknown column 'agent': a column of single arms, but effect = 'OR' pools "
            "comparisons (allowed: key, contrast, source",
            id="by-arms-only",
        ),
        pytest.param(
            {"by": "intervention_agent"},
            "by: unknown column 'intervention_agent': a column of comparisons, but effect = "
            "'proportion' pools single arms (allowed: key, arm",
            id="by-comparisons-only",
        ),
    ],
)
def test_invalid_settings_name_setting_value_and_allowed(settings, message) -> None:
    with pytest.raises(AnalysisError) as caught:
        Analysis(**{"name": "x", **settings})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, evidence.EvidenceError) and isinstance(caught.value, ValueError)
    assert caught.value.setting in settings or caught.value.setting == "name"


def test_subgroup_columns_are_the_columns_of_the_rows_pooled() -> None:
    arms, comparisons = subgroup_columns("proportion"), subgroup_columns("SMD")
    assert {"conditions", "route", "design", "measure", "study"} <= set(arms)
    assert {"conditions", "route", "design", "intervention_agent"} <= set(comparisons)
    assert not {"row", "line"} & {*arms, *comparisons}
    assert all(Analysis(by=column).by == column for column in arms)
    assert all(Analysis(effect="OR", by=column).by == column for column in comparisons)


def test_frozen_and_replace_revalidates() -> None:
    a = Analysis(name="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.method = "DL"  # type: ignore[misc]
    b = a.replace(method="DL", by="route")
    assert (a.method, b.method, b.by) == ("REML", "DL", "route")
    with pytest.raises(AnalysisError, match="analysis 'x': method: unknown value"):
        a.replace(method="nope")
    with pytest.raises(AnalysisError, match="analysis 'x': colour: unknown setting"):
        a.replace(colour="red")
    with pytest.raises(AnalysisError, match="analysis 'x': by: unknown column 'rate'"):
        b.replace(effect="RR", by="rate")


def test_from_mapping_and_round_trip() -> None:
    a = Analysis.from_mapping({"name": "m", "prefer_scales": ["A"], "headline": True})
    assert Analysis.from_mapping(a.to_dict()) == a
    with pytest.raises(AnalysisError, match="analysis 'm': colour: unknown setting"):
        Analysis.from_mapping({"name": "m", "colour": "red"})


def test_run_equals_pool_evidence() -> None:
    base = evidence.load(ROOT / "studies.bib")
    analysis = base.protocol.analysis("depression")
    report = analysis.run(base)
    assert report.analysis is analysis
    assert report.overall.estimate == evidence.pool_evidence(base, "depression").overall.estimate
    with pytest.raises(AnalysisError, match="no such analysis in the protocol \\(allowed: anxiety"):
        base.protocol.analysis("nope")
