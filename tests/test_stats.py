"""evidence.stats pinned against R metafor 3.8-1 (tests/data/metafor-proportions.json).

Every number metafor stored for every dataset, measure, method and test is compared with a
relative tolerance of 1e-6 (``REL``); a reference value that is exactly 0 gets an absolute
tolerance of 1e-12 instead. REML and PM are compared with metafor's ``tight_control`` copy
(``convergence="tight"``, the default) and, separately, with metafor's default-control values
(``convergence="metafor"``). Leave-one-out and subgroup references exist only with metafor's
default control, so those are pinned with ``convergence="metafor"``.

The one documented exception: when the REML optimum is on the boundary (tau^2 = 0), metafor's
Fisher scoring only creeps towards 0 (tight_control stops at tau^2 ~ 1e-13) while
``convergence="tight"`` returns exactly 0; there tau^2, tau and I^2 are compared with absolute
tolerances 1e-12, 1e-6 (= sqrt(1e-12)) and 1e-9 (percent).

``test_largest_relative_difference_vs_metafor`` prints the largest relative difference over all
pinned values.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evidence import stats
from evidence.stats import (
    CI_METHODS,
    MEASURES,
    METHODS,
    TESTS,
    PooledResult,
    SubgroupResult,
    escalc,
    leave_one_out,
    pool_proportions,
    proportion_ci,
    subgroup_analysis,
)

from .pins import num as _num

REFERENCE = Path(__file__).parent / "data" / "metafor-proportions.json"
REF: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
DATASETS: dict[str, Any] = REF["datasets"]
LEAVE1OUT: dict[str, Any] = REF["leave1out"]
SUBGROUP: dict[str, Any] = REF["subgroup"]

REL = 1e-6  # relative tolerance for every pinned value
ABS_ZERO = 1e-12  # absolute tolerance when the reference value is exactly 0
BOUNDARY_TAU2 = 1e-12  # metafor tight-control tau^2 at or below this: REML optimum is 0
ITERATIVE = ("REML", "PM")

# metafor warning -> a phrase our warning for the same situation contains
WARNING_PHRASES = {
    "Knapp & Hartung method is not meant to be used in the context of FE models.": (
        "Knapp-Hartung is not meant for a common-effect (FE) model"
    ),
    'Setting argument test="z" since k=1.': 'used test="z" instead',
}


def _short(name: str) -> str:
    return name.removeprefix("dat.")


# --------------------------------------------------------------------------------------------
# comparison machinery
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pin:
    """One pinned value: ours vs metafor's."""

    where: str
    actual: Any
    expected: float | None
    abs_tol: float | None = None  # override (boundary cases); default: ABS_ZERO for 0 only
    boundary: bool = False

    def ok(self) -> bool:
        e, a = self.expected, self.actual
        if e is None:
            return a is None
        if a is None:
            return False
        a = float(a)
        if math.isnan(e):
            return math.isnan(a)
        if math.isinf(e):
            return a == e
        abs_tol = self.abs_tol if self.abs_tol is not None else (ABS_ZERO if e == 0 else 0.0)
        return math.isclose(a, e, rel_tol=REL, abs_tol=abs_tol)

    def rel_diff(self) -> float | None:
        """|ours - metafor| / |metafor| for finite non-zero references (None otherwise)."""
        e = self.expected
        if e is None or self.boundary or not math.isfinite(e) or e == 0 or self.actual is None:
            return None
        return abs(float(self.actual) - e) / abs(e)


def _assert_pins(pins: list[Pin]) -> None:
    bad = [p for p in pins if not p.ok()]
    assert not bad, "mismatches vs metafor:\n" + "\n".join(
        f"  {p.where}: ours={p.actual!r} metafor={p.expected!r}" for p in bad
    )


def _vector_pins(where: str, actual: Any, expected: list[Any]) -> list[Pin]:
    actual = list(actual)
    assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
    return [
        Pin(f"{where}[{i}]", None if _isnan(a) and expected[i] is None else a, _num(e))
        for i, (a, e) in enumerate(zip(actual, expected, strict=True))
    ]


def _isnan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x)


# metafor record key -> PooledResult attribute
POOLED_KEYS = {
    "estimate": "estimate_t",
    "se": "se",
    "stat": "stat",
    "pval": "pvalue",
    "ddf": "df",
    "s2w": "s2w",
    "ci_lb": "ci_low_t",
    "ci_ub": "ci_high_t",
    "pi_lb": "pi_low_t",
    "pi_ub": "pi_high_t",
    "estimate_prop": "estimate",
    "ci_lb_prop": "ci_low",
    "ci_ub_prop": "ci_high",
    "pi_lb_prop": "pi_low",
    "pi_ub_prop": "pi_high",
    "tau2": "tau2",
    "tau": "tau",
    "se_tau2": "se_tau2",
    "I2": "i2",
    "H2": "h2",
    "Q": "q",
    "Q_df": "q_df",
    "Q_pval": "q_pvalue",
    "k": "k",
}


def _pooled_record_pins(where: str, res: PooledResult, rec: dict[str, Any]) -> list[Pin]:
    """Pins for one metafor ``rma`` record (all stored values, weights included)."""
    assert rec["error"] is None
    assert res.test == rec["test_used"], f"{where}: test {res.test} != {rec['test_used']}"
    assert res.method == rec["method_used"]
    _assert_warnings(where, res.warnings, rec["warnings"])
    boundary = rec["method_used"] == "REML" and 0 < rec["tau2"] <= BOUNDARY_TAU2 and res.tau2 == 0
    pins = []
    for key, attr in POOLED_KEYS.items():
        abs_tol = None
        if boundary and key in ("tau2", "tau", "I2"):
            abs_tol = {"tau2": BOUNDARY_TAU2, "tau": math.sqrt(BOUNDARY_TAU2), "I2": 1e-9}[key]
        pins.append(
            Pin(
                f"{where}.{key}",
                getattr(res, attr),
                _num(rec[key]),
                abs_tol,
                boundary and abs_tol is not None,
            )
        )
    pins += _vector_pins(f"{where}.weights_pct", res.weights, rec["weights_pct"])
    return pins


def _assert_warnings(where: str, ours: tuple[str, ...], theirs: list[str]) -> None:
    assert len(ours) == len(theirs), f"{where}: warnings {ours} vs metafor {theirs}"
    for w in theirs:
        assert any(WARNING_PHRASES[w] in o for o in ours), f"{where}: no warning like {w!r}"


# --------------------------------------------------------------------------------------------
# cached fits (shared by the parametrized tests and the summary test)
# --------------------------------------------------------------------------------------------


@functools.cache
def _pool(ds: str, measure: str, method: str, test: str, convergence: str) -> PooledResult:
    d = DATASETS[ds]
    return pool_proportions(
        d["xi"], d["ni"], measure, method, test, labels=d["study"], convergence=convergence
    )


@functools.cache
def _loo(ds: str, measure: str, method: str, test: str, pft_ni: str) -> pd.DataFrame:
    d = DATASETS[ds]
    return leave_one_out(
        d["xi"],
        d["ni"],
        measure,
        method,
        test,
        labels=d["study"],
        convergence="metafor",
        pft_ni=pft_ni,
    )


@functools.cache
def _subgroup(name: str, measure: str, method: str, test: str) -> SubgroupResult:
    d = DATASETS[SUBGROUP[name]["dataset"]]
    return subgroup_analysis(
        d["xi"],
        d["ni"],
        d["group"],
        measure,
        method,
        test,
        labels=d["study"],
        convergence="metafor",
    )


def _pooled_pins(ds: str, measure: str, method: str, test: str, variant: str) -> list[Pin]:
    rec = DATASETS[ds]["results"][measure][method][test]
    if variant == "tight" and "tight_control" in rec:
        rec = rec["tight_control"]
    convergence = "tight" if variant == "tight" else "metafor"
    res = _pool(ds, measure, method, test, convergence)
    where = f"{_short(ds)}-{measure}-{method}-{test}-{variant}"
    pins = _pooled_record_pins(where, res, rec)
    pins.append(Pin(f"{where}.n_total", res.n_total, float(sum(DATASETS[ds]["ni"]))))
    return pins


LOO_KEYS = {
    "estimate": "estimate_t",
    "se": "se",
    "stat": "stat",
    "pval": "pvalue",
    "ci_lb": "ci_low_t",
    "ci_ub": "ci_high_t",
    "Q": "q",
    "Q_pval": "q_pvalue",
    "tau2": "tau2",
    "I2": "i2",
    "H2": "h2",
}
LOO_PROP_KEYS = {"estimate_prop": "estimate", "ci_lb_prop": "ci_low", "ci_ub_prop": "ci_high"}


def _loo_pins(ds: str, measure: str, method: str, test: str) -> list[Pin]:
    rec = LEAVE1OUT[ds]["results"][measure][method][test]
    assert rec["error"] is None
    where = f"leave1out-{_short(ds)}-{measure}-{method}-{test}"
    pins: list[Pin] = []
    for pft_ni in ("remaining", "all") if measure == "PFT" else ("remaining",):
        frame = _loo(ds, measure, method, test, pft_ni)
        assert list(frame["omitted"]) == rec["omitted"]
        for w in frame["warnings"]:
            _assert_warnings(where, tuple(filter(None, w.split("; "))), rec["warnings"])
        for key, col in LOO_KEYS.items() if pft_ni == "remaining" else ():
            if key == "tau2" and rec[key] is None:  # metafor: NA for FE; ours: 0
                assert method == "FE" and (frame[col] == 0).all()
                continue
            pins += _vector_pins(f"{where}.{key}", frame[col], rec[key])
        for key, col in LOO_PROP_KEYS.items():
            # metafor's leave1out(transf=transf.ipft.hm, targs=list(ni=ni)) uses all k ni;
            # the reference also stores the back-transform with the k-1 remaining ni.
            ref_key = f"{key}_hm_remaining" if measure == "PFT" and pft_ni == "remaining" else key
            pins += _vector_pins(f"{where}.{key}[{pft_ni}]", frame[col], rec[ref_key])
    return pins


MODERATOR_KEYS = {
    "coef": "coef",
    "coef_se": "coef_se",
    "QM": "qm",
    "QM_pval": "qm_pvalue",
    "tau2_resid": "tau2_resid",
    "I2_resid": "i2_resid",
    "H2_resid": "h2_resid",
    "R2": "r2",
    "QE": "qe",
    "QE_df": "qe_df",
    "QE_pval": "qe_pvalue",
    "k": "k",
    "group_pred": "group_estimate_t",
    "group_pred_se": "group_se",
    "group_pred_ci_lb": "group_ci_low_t",
    "group_pred_ci_ub": "group_ci_high_t",
}


def _subgroup_pins(name: str, measure: str, method: str, test: str) -> list[Pin]:
    info = SUBGROUP[name]
    rec = info["results"][measure][method][test]
    res = _subgroup(name, measure, method, test)
    where = f"subgroup-{name}-{measure}-{method}-{test}"
    assert res.groups == tuple(info["levels"])
    mod = rec["meta_regression_common_tau2"]
    assert mod["error"] is None
    _assert_warnings(f"{where}.moderator", res.warnings, mod["warnings"])
    assert [res.qm_df, res.qm_df2] == mod["QM_df"]
    pins: list[Pin] = []
    for key, attr in MODERATOR_KEYS.items():
        value = getattr(res, attr)
        if isinstance(mod[key], list):
            pins += _vector_pins(f"{where}.moderator.{key}", value, mod[key])
        else:
            pins.append(Pin(f"{where}.moderator.{key}", value, _num(mod[key])))
    between = rec["test_between_separate_fits"]
    assert between["warnings"] == []
    pins += [
        Pin(f"{where}.between.Q", res.q_between, _num(between["Q_between"])),
        Pin(f"{where}.between.df", res.q_between_df, _num(between["df"])),
        Pin(f"{where}.between.pval", res.q_between_pvalue, _num(between["pval"])),
    ]
    for group, fit_rec in rec["separate_fits"].items():
        fit = res.fits[group]
        assert fit.labels == tuple(info["counts_by_level"][group]["study"])
        pins += _pooled_record_pins(f"{where}.separate[{group}]", fit, fit_rec)
    return pins


def _ci_pins(ds: str, method: str) -> list[Pin]:
    d = DATASETS[ds]
    ref = d["per_study_ci"]
    assert ref["level"] == 95
    key = method.replace("-", "_")
    frame = proportion_ci(d["xi"], d["ni"], method)
    where = f"ci-{_short(ds)}-{method}"
    pins = _vector_pins(f"{where}.proportion", frame["proportion"], ref["proportion"])
    pins += _vector_pins(f"{where}.lb", frame["ci_low"], ref[key]["lb"])
    pins += _vector_pins(f"{where}.ub", frame["ci_high"], ref[key]["ub"])
    if method == "agresti-coull":
        clipped = proportion_ci(d["xi"], d["ni"], method, clip=True)
        pins += _vector_pins(f"{where}.lb_clamped", clipped["ci_low"], ref[key]["lb_clamped"])
        pins += _vector_pins(f"{where}.ub_clamped", clipped["ci_high"], ref[key]["ub_clamped"])
    return pins


def _escalc_pins(ds: str, measure: str) -> list[Pin]:
    d = DATASETS[ds]
    yi, vi = escalc(d["xi"], d["ni"], measure)
    where = f"escalc-{_short(ds)}-{measure}"
    ref = d["escalc"][measure]
    return _vector_pins(f"{where}.yi", yi, ref["yi"]) + _vector_pins(f"{where}.vi", vi, ref["vi"])


# --------------------------------------------------------------------------------------------
# parametrization (stacked; ids like "pritz1997-PLO-REML-knha")
# --------------------------------------------------------------------------------------------

P_DATASET = [pytest.param(name, id=_short(name)) for name in DATASETS]
P_MEASURE = [pytest.param(m, id=m) for m in MEASURES]
P_METHOD = [pytest.param(m, id=m) for m in METHODS]
P_ITERATIVE = [pytest.param(m, id=m) for m in ITERATIVE]
P_TEST = [pytest.param(t, id=t) for t in TESTS]
P_CI = [pytest.param(m, id=m) for m in CI_METHODS]
P_LOO = [pytest.param(name, id=_short(name)) for name in LEAVE1OUT]
P_SUBGROUP = [pytest.param(name, id=_short(name)) for name in SUBGROUP]


def test_reference_file_is_the_metafor_3_8_1_export() -> None:
    meta = REF["meta"]
    assert meta["metafor_version"] == "3.8.1"
    assert meta["R_version"].startswith("R version 4.2.2")
    assert meta["generator"] == "make_reference.R"
    assert meta["n_fit_errors"] == 0
    assert set(meta["measures"]) == set(MEASURES)
    assert set(meta["methods"]) == set(METHODS)
    assert set(meta["tests"]) == set(TESTS)
    assert {
        "dat.pritz1997",
        "dat.debruin2009",
        "edge_zero_event",
        "edge_all_events",
        "edge_all_zero",
        "edge_identical_proportions",
        "edge_single_study",
        "edge_two_studies",
    } <= set(DATASETS)


@pytest.mark.parametrize("method", P_CI)
@pytest.mark.parametrize("dataset", P_DATASET)
def test_per_study_ci_matches_r(dataset: str, method: str) -> None:
    _assert_pins(_ci_pins(dataset, method))


@pytest.mark.parametrize("measure", P_MEASURE)
@pytest.mark.parametrize("dataset", P_DATASET)
def test_escalc_matches_metafor(dataset: str, measure: str) -> None:
    _assert_pins(_escalc_pins(dataset, measure))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("measure", P_MEASURE)
@pytest.mark.parametrize("dataset", P_DATASET)
def test_pool_matches_metafor(dataset: str, measure: str, method: str, test: str) -> None:
    """Default (tight) convergence; REML and PM against metafor's ``tight_control`` fit."""
    _assert_pins(_pooled_pins(dataset, measure, method, test, "tight"))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_ITERATIVE)
@pytest.mark.parametrize("measure", P_MEASURE)
@pytest.mark.parametrize("dataset", P_DATASET)
def test_pool_metafor_default_control(dataset: str, measure: str, method: str, test: str) -> None:
    """``convergence="metafor"`` reproduces what metafor prints with its default control."""
    _assert_pins(_pooled_pins(dataset, measure, method, test, "default"))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("measure", P_MEASURE)
@pytest.mark.parametrize("dataset", P_LOO)
def test_leave_one_out_matches_metafor(dataset: str, measure: str, method: str, test: str) -> None:
    _assert_pins(_loo_pins(dataset, measure, method, test))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("measure", P_MEASURE)
@pytest.mark.parametrize("name", P_SUBGROUP)
def test_subgroup_matches_metafor(name: str, measure: str, method: str, test: str) -> None:
    _assert_pins(_subgroup_pins(name, measure, method, test))


def _all_pins() -> list[Pin]:
    pins: list[Pin] = []
    for ds in DATASETS:
        for method in CI_METHODS:
            pins += _ci_pins(ds, method)
        for measure in MEASURES:
            pins += _escalc_pins(ds, measure)
            for method in METHODS:
                for test in TESTS:
                    pins += _pooled_pins(ds, measure, method, test, "tight")
                    if method in ITERATIVE:
                        pins += _pooled_pins(ds, measure, method, test, "default")
    for measure in MEASURES:
        for method in METHODS:
            for test in TESTS:
                for ds in LEAVE1OUT:
                    pins += _loo_pins(ds, measure, method, test)
                for name in SUBGROUP:
                    pins += _subgroup_pins(name, measure, method, test)
    return pins


def test_largest_relative_difference_vs_metafor(record_property, capsys) -> None:
    pins = _all_pins()
    _assert_pins(pins)
    diffs = [(d, p) for p in pins if (d := p.rel_diff()) is not None]
    worst, where = max(diffs, key=lambda t: t[0])
    boundary = [p for p in pins if p.boundary]
    record_property("pinned_values", len(pins))
    record_property("largest_relative_difference", worst)
    record_property("largest_relative_difference_at", where.where)
    with capsys.disabled():
        print(
            f"\n[evidence.stats vs metafor 3.8-1] {len(pins)} pinned values; largest relative "
            f"difference {worst:.3g} at {where.where} (ours {where.actual!r}, metafor "
            f"{where.expected!r}); {len(boundary)} REML boundary values compared absolutely"
        )
    assert worst <= REL


# --------------------------------------------------------------------------------------------
# metafor's edge-case behaviour, spelled out
# --------------------------------------------------------------------------------------------


def _edge(name: str) -> tuple[list[int], list[int]]:
    d = DATASETS[name]
    return d["xi"], d["ni"]


@pytest.mark.parametrize("method", P_METHOD)
def test_single_study_knha_falls_back_to_z(method: str) -> None:
    res = pool_proportions(*_edge("edge_single_study"), "PLO", method, "knha")
    assert res.test == "z" and res.df is None and res.s2w is None
    assert any('used test="z"' in w for w in res.warnings)
    assert (res.tau2, res.q, res.q_pvalue, res.i2, res.h2) == (0.0, 0.0, 1.0, 0.0, 1.0)
    assert res.weights == (100.0,)
    if method == "FE":
        assert res.pi_low is None and res.se_tau2 is None
    else:  # tau2 = 0: the prediction interval is the confidence interval
        assert res.pi_low_t == res.ci_low_t and res.pi_high_t == res.ci_high_t


def test_common_effect_with_knha_warns_but_computes() -> None:
    res = pool_proportions(*_edge("edge_two_studies"), "PLO", "FE", "knha")
    assert res.test == "knha" and res.df == 1
    assert res.s2w == pytest.approx(res.h2, rel=1e-12)  # s2w = Q/(k-1) when tau2 = 0
    assert any("not meant for a common-effect" in w for w in res.warnings)


@pytest.mark.parametrize("measure", P_MEASURE)
def test_identical_proportions_knha_collapses_like_metafor(measure: str) -> None:
    res = pool_proportions(*_edge("edge_identical_proportions"), measure, "DL", "knha")
    assert res.s2w == 0.0 and res.se == 0.0
    assert math.isinf(res.stat) and res.pvalue == 0.0
    assert res.ci_low_t == res.ci_high_t == res.estimate_t
    assert res.q == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
    assert res.estimate == pytest.approx(0.2, rel=1e-12)


def test_all_zero_arcsine_knha_gives_nan_statistic_like_metafor() -> None:
    res = pool_proportions(*_edge("edge_all_zero"), "PAS", "REML", "knha")
    assert res.estimate_t == 0.0 and res.se == 0.0
    assert math.isnan(res.stat) and math.isnan(res.pvalue)
    assert res.estimate == 0.0 and res.ci_low == 0.0 and res.ci_high == 0.0


def test_raw_proportion_intervals_are_not_clamped() -> None:
    res = pool_proportions(*_edge("edge_zero_event"), "PR", "DL")
    assert res.pi_low is not None and res.pi_low < 0.0
    assert res.pi_low == res.pi_low_t


def test_freeman_tukey_back_transform_clamps_to_0() -> None:
    # Below transf.pft(0, n_hm) = asin(sqrt(1/(n_hm + 1)))/2 Miller's inverse is clamped to 0:
    # with all-zero studies even the pooled estimate (0.108 > 0) back-transforms to 0.
    res = pool_proportions(*_edge("edge_all_zero"), "PFT", "DL")
    assert res.ci_low_t < 0.0 < res.estimate_t
    assert res.ci_low == 0.0 and res.estimate == 0.0 and res.ci_high > 0.0


def test_reml_boundary_is_exactly_zero_with_tight_convergence() -> None:
    xi, ni = _edge("edge_zero_event")
    rec = DATASETS["edge_zero_event"]["results"]["PLO"]["REML"]["z"]
    tight = pool_proportions(xi, ni, "PLO", "REML")
    default = pool_proportions(xi, ni, "PLO", "REML", convergence="metafor")
    assert tight.tau2 == 0.0 and tight.i2 == 0.0
    assert 0 < rec["tight_control"]["tau2"] < BOUNDARY_TAU2
    assert default.tau2 == pytest.approx(rec["tau2"], rel=REL)  # 4.5e-6: stopped early


def test_fixed_effect_has_no_prediction_interval() -> None:
    res = pool_proportions(*_edge("edge_two_studies"), "PLO", "FE")
    assert (res.pi_low, res.pi_high, res.pi_low_t, res.pi_high_t, res.se_tau2) == (None,) * 5
    frame = res.to_frame()
    assert frame.shape[0] == 1 and math.isnan(frame.loc[0, "pi_low"])


# --------------------------------------------------------------------------------------------
# consistency of the parts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", P_METHOD)
def test_leave_one_out_rows_equal_pooling_the_rest(method: str) -> None:
    d = DATASETS["dat.pritz1997"]
    frame = leave_one_out(d["xi"], d["ni"], "PFT", method, "knha")
    for i in (0, 7):
        xi = [x for j, x in enumerate(d["xi"]) if j != i]
        ni = [n for j, n in enumerate(d["ni"]) if j != i]
        res = pool_proportions(xi, ni, "PFT", method, "knha")
        row = frame.iloc[i]
        assert row["omitted"] == str(i + 1)
        for col in ("estimate", "ci_low", "ci_high", "estimate_t", "se", "tau2", "i2", "q"):
            assert row[col] == pytest.approx(getattr(res, col), rel=1e-12, abs=1e-15), col


@pytest.mark.parametrize("method", P_METHOD)
def test_subgroup_separate_fits_equal_pooling_each_group(method: str) -> None:
    d = DATASETS["dat.debruin2009"]
    res = subgroup_analysis(d["xi"], d["ni"], d["group"], "PFT", method)
    for group in res.groups:
        idx = [i for i, g in enumerate(d["group"]) if g == group]
        alone = pool_proportions(
            [d["xi"][i] for i in idx], [d["ni"][i] for i in idx], "PFT", method
        )
        assert dataclasses.replace(alone, labels=res.fits[group].labels) == res.fits[group]
    frame = res.to_frame()
    assert list(frame["group"]) == list(res.groups)
    assert {"estimate", "ci_low", "tau2", "model_estimate", "model_se"} <= set(frame.columns)
    tests = res.tests_frame()
    assert list(tests["statistic"]) == pytest.approx([res.q_between, res.qm], nan_ok=True)


def test_convergence_setting_matters_only_for_reml_and_pm() -> None:
    d = DATASETS["dat.debruin2009"]
    for method in ("FE", "DL", "HE", "SJ"):
        a = pool_proportions(d["xi"], d["ni"], "PLO", method)
        b = pool_proportions(d["xi"], d["ni"], "PLO", method, convergence="metafor")
        assert a == b


def test_to_frame_is_one_tidy_row() -> None:
    d = DATASETS["dat.pritz1997"]
    res = pool_proportions(d["xi"], d["ni"], labels=d["study"])
    frame = res.to_frame()
    assert frame.shape[0] == 1
    for col in ("measure", "method", "test", "estimate", "ci_low", "pi_high", "estimate_t", "se"):
        assert col in frame.columns
    assert frame.loc[0, "estimate"] == res.estimate
    weights = res.weights_frame()
    assert list(weights["study"]) == d["study"]
    assert weights["weight"].sum() == pytest.approx(100.0, rel=1e-12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.5  # type: ignore[misc]


def test_names_are_case_insensitive_and_defaults_are_plo_reml_z() -> None:
    d = DATASETS["dat.pritz1997"]
    res = pool_proportions(d["xi"], d["ni"], "plo", "reml", "KNHA")
    assert (res.measure, res.method, res.test) == ("PLO", "REML", "knha")
    default = pool_proportions(d["xi"], d["ni"])
    assert (default.measure, default.method, default.test, default.level) == (
        "PLO",
        "REML",
        "z",
        0.95,
    )


def test_level_changes_the_intervals() -> None:
    d = DATASETS["dat.pritz1997"]
    r90 = pool_proportions(d["xi"], d["ni"], level=0.90)
    r95 = pool_proportions(d["xi"], d["ni"])
    assert r90.estimate == r95.estimate
    assert r95.ci_low_t < r90.ci_low_t < r90.estimate_t < r90.ci_high_t < r95.ci_high_t
    half = r90.ci_high_t - r90.estimate_t
    assert half == pytest.approx(1.6448536269514722 * r90.se, rel=1e-12)


# --------------------------------------------------------------------------------------------
# invalid input
# --------------------------------------------------------------------------------------------


def _call(fn: str, events: Any, totals: Any, **kwargs: Any) -> Any:
    if fn == "subgroup_analysis":
        n = len(events) if np.ndim(events) == 1 else 0
        groups = ["a", "b"] * (n // 2) + ["a"] * (n % 2)
        return subgroup_analysis(events, totals, groups, **kwargs)
    return getattr(stats, fn)(events, totals, **kwargs)


COUNT_FUNCTIONS = [
    pytest.param(f, id=f)
    for f in ("proportion_ci", "escalc", "pool_proportions", "leave_one_out", "subgroup_analysis")
]
BAD_COUNTS = [
    pytest.param(
        [5, 3],
        [4, 10],
        r"events must not exceed totals; got events=5 > totals=4 at position 0",
        id="events-exceed-totals",
    ),
    pytest.param(
        [2, -1],
        [4, 10],
        r"events must contain only non-negative integer counts; got -1 at "
        r"position 1",
        id="negative-events",
    ),
    pytest.param(
        [2, 3],
        [4, -10],
        r"totals must contain only non-negative integer counts; got -10",
        id="negative-totals",
    ),
    pytest.param(
        [1.5, 3],
        [4, 10],
        r"events must contain only non-negative integer counts; got 1.5",
        id="non-integer-events",
    ),
    pytest.param(
        [1, 3],
        [4, 10.25],
        r"totals must contain only non-negative integer counts; got 10.25",
        id="non-integer-totals",
    ),
    pytest.param(
        [1, math.nan],
        [4, 10],
        r"events must contain only non-negative integer counts; got nan",
        id="nan-events",
    ),
    pytest.param(
        [0, 3],
        [0, 10],
        r"totals must be positive \(at least 1\); got 0 at position 0",
        id="zero-totals",
    ),
    pytest.param(
        [1, 2],
        [4, 5, 6],
        r"events and totals must have the same length; got 2 events and 3 "
        r"totals",
        id="mismatched-lengths",
    ),
    pytest.param(
        [], [], r"events must contain at least one study; got an empty sequence", id="empty"
    ),
    pytest.param(
        ["a", "b"], [4, 5], r"events must contain only non-negative integer counts", id="strings"
    ),
    pytest.param("12", [4, 5], r"events must be a 1-D sequence", id="string-not-sequence"),
    pytest.param([[1, 2]], [[3, 4]], r"events must be a 1-D sequence", id="two-dimensional"),
]


@pytest.mark.parametrize(("events", "totals", "message"), BAD_COUNTS)
@pytest.mark.parametrize("fn", COUNT_FUNCTIONS)
def test_invalid_counts_raise_value_error(fn: str, events: Any, totals: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _call(fn, events, totals)


BAD_OPTIONS = [
    pytest.param(
        "pool_proportions",
        {"measure": "LOGIT"},
        r"measure must be one of 'PLO', 'PFT', 'PR', 'PAS'; got 'LOGIT'",
        id="measure",
    ),
    pytest.param(
        "escalc", {"measure": "PLN"}, r"measure must be one of .*; got 'PLN'", id="escalc-measure"
    ),
    pytest.param(
        "pool_proportions",
        {"method": "ML"},
        r"method must be one of 'FE', 'DL', 'REML', 'PM', 'HE', 'SJ'; got 'ML'",
        id="method",
    ),
    pytest.param(
        "pool_proportions", {"test": "t"}, r"test must be one of 'z', 'knha'; got 't'", id="test"
    ),
    pytest.param(
        "pool_proportions",
        {"method": None},
        r"method must be one of .*; got None",
        id="method-none",
    ),
    pytest.param(
        "pool_proportions",
        {"level": 95},
        r"level must be a number strictly between 0 and 1 \(e.g. 0.95\); got 95",
        id="level-95",
    ),
    pytest.param("pool_proportions", {"level": 0}, r"level .*; got 0", id="level-0"),
    pytest.param("pool_proportions", {"level": 1.0}, r"level .*; got 1.0", id="level-1"),
    pytest.param("pool_proportions", {"level": -0.5}, r"level .*; got -0.5", id="level-negative"),
    pytest.param("pool_proportions", {"level": "0.95"}, r"level .*; got '0.95'", id="level-str"),
    pytest.param("pool_proportions", {"level": True}, r"level .*; got True", id="level-bool"),
    pytest.param("pool_proportions", {"level": math.nan}, r"level .*; got nan", id="level-nan"),
    pytest.param(
        "pool_proportions",
        {"convergence": "loose"},
        r"convergence must be one of 'tight', 'metafor'; got 'loose'",
        id="convergence",
    ),
    pytest.param(
        "pool_proportions",
        {"labels": ["a"]},
        r"labels must have one entry per study \(3\); got 1 labels",
        id="labels-length",
    ),
    pytest.param(
        "proportion_ci",
        {"method": "jeffreys"},
        r"method must be one of 'wilson', 'clopper-pearson', 'agresti-coull', 'wald'; got "
        r"'jeffreys'",
        id="ci-method",
    ),
    pytest.param("proportion_ci", {"level": 1.5}, r"level .*; got 1.5", id="ci-level"),
    pytest.param(
        "leave_one_out",
        {"pft_ni": "mean"},
        r"pft_ni must be one of 'remaining', 'all'; got 'mean'",
        id="pft-ni",
    ),
    pytest.param(
        "subgroup_analysis",
        {"test": "F"},
        r"test must be one of 'z', 'knha'; got 'F'",
        id="subgroup-test",
    ),
]


@pytest.mark.parametrize(("fn", "kwargs", "message"), BAD_OPTIONS)
def test_invalid_options_raise_value_error(fn: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _call(fn, [1, 2, 3], [10, 10, 10], **kwargs)


def test_leave_one_out_needs_two_studies() -> None:
    with pytest.raises(ValueError, match=r"leave_one_out needs at least 2 studies; got 1"):
        leave_one_out([1], [10])


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        pytest.param(["a", "b"], r"groups must have one entry per study \(3\); got 2", id="length"),
        pytest.param(["a", "a", "a"], r"at least 2 distinct groups; got 1", id="one-group"),
        pytest.param(["a", None, "b"], r"must not contain missing values; got None", id="none"),
        pytest.param(["a", math.nan, "b"], r"missing values; got nan at position 1", id="nan"),
        pytest.param("abc", r"groups must be a 1-D sequence", id="string"),
    ],
)
def test_invalid_groups_raise_value_error(groups: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        subgroup_analysis([1, 2, 3], [10, 10, 10], groups)


def test_too_few_studies_for_the_moderator_model() -> None:
    with pytest.raises(ValueError, match=r"too few studies: method='REML' with 2 coefficient"):
        subgroup_analysis([1, 2], [10, 10], ["a", "b"])


# --------------------------------------------------------------------------------------------
# inputs are never mutated
# --------------------------------------------------------------------------------------------

INPUT_KINDS = [
    pytest.param(lambda v: list(v), id="list"),
    pytest.param(lambda v: tuple(v), id="tuple"),
    pytest.param(lambda v: np.array(v, dtype=np.int64), id="int-array"),
    pytest.param(lambda v: np.array(v, dtype=float), id="float-array"),
    pytest.param(lambda v: pd.Series(v, index=range(100, 100 + len(v))), id="series"),
]
CALLS: list[Any] = [
    pytest.param(lambda e, t, g: proportion_ci(e, t, "wald"), id="proportion_ci"),
    pytest.param(lambda e, t, g: escalc(e, t, "PLO"), id="escalc"),
    pytest.param(lambda e, t, g: pool_proportions(e, t, "PFT", "PM", "knha"), id="pool"),
    pytest.param(lambda e, t, g: leave_one_out(e, t, "PR", "SJ"), id="leave_one_out"),
    pytest.param(lambda e, t, g: subgroup_analysis(e, t, g, "PAS", "DL"), id="subgroup"),
]


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, pd.Series):
        return a.equals(b) and a.dtype == b.dtype and a.index.equals(b.index)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("call", CALLS)
def test_inputs_are_not_mutated(call: Callable[..., Any], kind: Callable[..., Any]) -> None:
    d = DATASETS["dat.debruin2009"]
    events, totals = kind(d["xi"]), kind(d["ni"])
    groups = np.array(d["group"]) if isinstance(events, np.ndarray) else kind(d["group"])
    before = copy.deepcopy((events, totals, groups))
    out = call(events, totals, groups)
    for original, now in zip(before, (events, totals, groups), strict=True):
        assert _equal(original, now)
    if isinstance(out, tuple):  # escalc: writing to the outputs must not touch the inputs
        out[0][:] = -1.0
        assert _equal(before[0], events)


def test_results_do_not_depend_on_input_container() -> None:
    d = DATASETS["dat.debruin2009"]
    a = pool_proportions(d["xi"], d["ni"], "PLO", "REML", "knha")
    b = pool_proportions(
        pd.Series(d["xi"], index=range(50, 63)),
        np.array(d["ni"], dtype=float),
        "PLO",
        "REML",
        "knha",
    )
    assert a == b
