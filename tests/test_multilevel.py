"""evidence.multilevel pinned against R metafor 3.8-1 and clubSandwich 0.5.8.

References: ``tests/data/metafor-dependence.json`` (the shared reference: ``rma.mv`` REML/ML,
``robust()``, ``aggregate()``, profile CIs) and ``tests/data/metafor-extra.json`` (made by
``tests/data/make_metafor_extra.R``: ``test = "t"``, ``weights()``, ``predict()`` after
``robust()``, robust ML fits, a boundary fit, ``aggregate()`` at rho = 0 and 0.8).

Tolerances, and why (the reference README's "part 2" explains metafor's precision):

- ``SIGMA2 = 1e-5`` for the variance components and what is proportional to them (per-level
  I^2, weights): metafor maximises with ``nlminb`` (rel.tol 1e-10 on the log-likelihood) over
  log sigma^2 and the optimum is flat, so its sigma^2 are determined to ~1e-6 relative (there
  is no tighter copy: tighter settings fail to converge). Our Fisher scoring converges to
  ~1e-11; the largest difference seen is 2.2e-6 (``dat.crede2010`` ML). A component at the
  boundary (metafor ~1e-12, ours exactly 0) is compared with ``atol = 1e-5 x`` the total
  variance.
- ``REL = 1e-6`` for what depends on the variance components only through the GLS weights
  (estimate, SE, statistic, robust SE and df, I^2 total): first order in a sigma^2 error, but
  with small sensitivity (largest seen 1.4e-7). Interval bounds get ``atol = 1e-6 x`` their
  half-width (a bound near 0 is a difference of two larger numbers), p-values the tolerance
  implied by their statistic (:func:`tests.pins.pval_rtol`; e.g. p = 1e-56 at z = 15.9).
- ``CLOSED = 1e-9`` for closed forms and values at the optimum (Cochran's Q, fit statistics,
  ``aggregate``), which agree to ~1e-13: the log-likelihood is stationary there. The README
  states 3e-11 for closed forms.
- The ``rma`` grid on aggregated values goes through ``evidence.stats``' engine exactly as
  ``tests/test_stats.py`` pins it: ``REL`` against metafor's ``tight_control`` fits.

Besides agreeing value by value, our optimum must be at least as good as metafor's: our
(restricted) log-likelihood at our sigma^2 is >= ours at metafor's sigma^2.

``test_largest_relative_difference_vs_metafor`` prints the largest relative difference per
family (multilevel, robust, aggregate) with ``pytest -s``.
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

from evidence import multilevel, stats
from evidence.multilevel import MultilevelResult, aggregate_effects, pool_multilevel
from tests.pins import Pin, assert_pins, largest, num, pval_rtol, summary

DATA = Path(__file__).parent / "data"
REF: dict[str, Any] = json.loads((DATA / "metafor-dependence.json").read_text(encoding="utf-8"))
EXTRA: dict[str, Any] = json.loads((DATA / "metafor-extra.json").read_text(encoding="utf-8"))
DEP: dict[str, Any] = REF["dependence"]["multilevel"]
XML: dict[str, Any] = EXTRA["multilevel"]

SIGMA2 = 1e-5
REL = 1e-6
CLOSED = 1e-9

P_DATASET = [pytest.param(name, id=name.removeprefix("dat.")) for name in DEP]
P_METHOD = [pytest.param(m, id=m) for m in ("REML", "ML")]


def _data(name: str) -> dict[str, Any]:
    return DEP[name] if name in DEP else XML[name]


@functools.cache
def _fit(name: str, method: str = "REML", test: str = "z", robust: str | None = None) -> Any:
    d = _data(name)
    return pool_multilevel(
        d["yi"], d["vi"], d["study"], es_id=d["es_id"], method=method, test=test, robust=robust
    )


# --------------------------------------------------------------------------------------------
# pins
# --------------------------------------------------------------------------------------------


def _interval_pins(where: str, res: MultilevelResult, rec: dict[str, Any]) -> list[Pin]:
    pins = []
    for lo, hi, a_lo, a_hi in (
        ("ci_lb", "ci_ub", res.ci_low, res.ci_high),
        ("pi_lb", "pi_ub", res.pi_low, res.pi_high),
    ):
        if lo not in rec:
            continue
        half = (rec[hi] - rec[lo]) / 2.0
        pins.append(Pin(f"{where}.{lo}", a_lo, num(rec[lo]), REL, REL * half))
        pins.append(Pin(f"{where}.{hi}", a_hi, num(rec[hi]), REL, REL * half))
    return pins


def _inference_pins(where: str, res: MultilevelResult, rec: dict[str, Any]) -> list[Pin]:
    """estimate, SE, statistic, df, p-value and intervals of one fit (model-based or robust)."""
    pins = [
        Pin(f"{where}.estimate", res.estimate, num(rec["estimate"]), REL),
        Pin(f"{where}.se", res.se, num(rec["se"]), REL),
        Pin(f"{where}.stat", res.stat, num(rec["stat"]), REL),
        Pin(f"{where}.pval", res.pvalue, num(rec["pval"]), pval_rtol(REL, rec["stat"])),
    ]
    if "df" in rec:
        pins.append(Pin(f"{where}.df", res.df, num(rec["df"]), REL))
    return pins + _interval_pins(where, res, rec)


def _sigma2_pins(where: str, res: MultilevelResult, expected: list[float]) -> list[Pin]:
    total = sum(expected)
    return [
        Pin(f"{where}.sigma2[{j}]", ours, e, SIGMA2, SIGMA2 * total, e < SIGMA2 * total)
        for j, (ours, e) in enumerate(
            zip((res.sigma2_study, res.sigma2_row), expected, strict=True)
        )
    ]


def _weights_pins(where: str, res: MultilevelResult, expected: list[float]) -> list[Pin]:
    assert len(res.weights) == len(expected)
    return [
        Pin(f"{where}.weights_pct[{i}]", a, e, SIGMA2)
        for i, (a, e) in enumerate(zip(res.weights, expected, strict=True))
    ]


def _fit_pins(name: str, method: str) -> list[Pin]:
    """Every stored value of the shared ``fits.<method>`` record."""
    rec = DEP[name]["fits"][method]
    assert rec["error"] is None and rec["warnings"] == []
    res = _fit(name, method)
    where = f"{name.removeprefix('dat.')}.{method}"
    assert res.warnings == ()
    assert (res.k, res.n_studies, res.n_effects) == (rec["k"], *rec["s_nlevels"])
    assert res.n_studies == rec["n_clusters"] and res.method == method and res.test == "z"
    assert res.df is None and res.robust is None
    i2 = rec["I2_website"]
    pins = _inference_pins(where, res, rec) + _sigma2_pins(where, res, rec["sigma2"])
    pins += [
        Pin(f"{where}.Q", res.q, num(rec["Q"]), CLOSED),
        Pin(f"{where}.Q_df", res.q_df, num(rec["Q_df"]), 0.0),
        Pin(f"{where}.Q_pval", res.q_pvalue, num(rec["Q_pval"]), CLOSED),
        Pin(f"{where}.logLik", res.loglik, num(rec["logLik"]), CLOSED),
        Pin(f"{where}.deviance", res.deviance, num(rec["deviance"]), CLOSED),
        Pin(f"{where}.AIC", res.aic, num(rec["AIC"]), CLOSED),
        Pin(f"{where}.BIC", res.bic, num(rec["BIC"]), CLOSED),
        Pin(f"{where}.AICc", res.aicc, num(rec["AICc"]), CLOSED),
        Pin(f"{where}.I2", res.i2, num(i2["I2_total"]), REL),
        Pin(f"{where}.I2_levels[0]", res.i2_study, num(i2["I2_levels"][0]), SIGMA2),
        Pin(f"{where}.I2_levels[1]", res.i2_row, num(i2["I2_levels"][1]), SIGMA2),
    ]
    return pins


ROBUST_KEYS = {"CR1": "CR1_default", "CR0": "CR0_adjust_false", "CR2": "clubSandwich_CR2"}


def _robust_pins(name: str, kind: str) -> list[Pin]:
    rec = DEP[name]["fits"]["REML"]["robust"][ROBUST_KEYS[kind]]
    assert rec["warnings"] == []
    res = _fit(name, "REML", "z", kind)
    where = f"{name.removeprefix('dat.')}.REML.robust.{kind}"
    assert res.robust == kind and res.test == "t" and res.n_studies == rec["n_clusters"]
    pins = _inference_pins(where, res, rec)
    # intercept-only model: metafor's omnibus test is the squared t statistic, F(1, df)
    pins += [
        Pin(f"{where}.QM", res.stat**2, num(rec["QM"]), REL),
        Pin(f"{where}.QM_df[1]", res.df, num(rec["QM_df"][1]), REL),
        Pin(f"{where}.QM_pval", res.pvalue, num(rec["QM_pval"]), pval_rtol(REL, rec["stat"])),
    ]
    assert rec["QM_df"][0] == 1
    return pins


def _extra_pins(name: str, key: str) -> list[Pin]:
    """``metafor-extra.json``: test z/t, weights(), predict(), robust fits of REML and ML."""
    rec = XML[name]["fits"][key]
    method, _, test = key.partition("_")
    test = test or "z"
    res = _fit(name, method, test)
    where = f"{name.removeprefix('dat.')}.{key}"
    assert res.test == test
    assert res.df == (None if test == "z" else res.k - 1)
    pins = _inference_pins(where, res, rec) + _sigma2_pins(where, res, rec["sigma2"])
    pins += _weights_pins(where, res, rec["weights_pct"])
    if "logLik" in rec:
        pins.append(Pin(f"{where}.logLik", res.loglik, num(rec["logLik"]), CLOSED))
    for kind in ("CR0", "CR1", "CR2"):
        rrec = rec.get(f"robust_{kind}")
        if rrec is None:
            continue
        rres = _fit(name, method, test, kind)
        rwhere = f"{where}.robust.{kind}"
        assert rrec["sigma2"] == rec["sigma2"]  # robust() changes only the inference
        pins += _inference_pins(rwhere, rres, rrec)
    return pins


def _rma_pins(where: str, yi: np.ndarray, vi: np.ndarray, rec: dict[str, Any]) -> list[Pin]:
    """One ``rma(yi, vi, method, test)`` record, refitted with evidence.stats' engine."""
    if "tight_control" in rec:
        rec = rec["tight_control"]
    assert rec["error"] is None
    con = stats._CONTROLS["tight"]
    fit = stats._rma(yi, vi, np.ones((yi.size, 1)), rec["method_used"], rec["test_used"], 0.95, con)
    est, se = float(fit.beta[0]), float(fit.se[0])
    pi_lo = pi_hi = None
    if rec["method_used"] != "FE":
        half = fit.crit * math.sqrt(se**2 + fit.tau2)
        pi_lo, pi_hi = est - half, est + half
    values = {
        "estimate": est,
        "se": se,
        "stat": float(fit.stat[0]),
        "pval": float(fit.pval[0]),
        "ci_lb": float(fit.ci_lb[0]),
        "ci_ub": float(fit.ci_ub[0]),
        "pi_lb": pi_lo,
        "pi_ub": pi_hi,
        "tau2": fit.tau2,
        "I2": fit.i2,
        "H2": fit.h2,
        "Q": fit.qe,
        "Q_pval": fit.qe_pval,
        "vt": fit.vt,
        "s2w": fit.s2w,
    }
    pins = [Pin(f"{where}.{k}", v, num(rec[k]), REL, 1e-12) for k, v in values.items()]
    w = 100.0 * fit.weights / np.sum(fit.weights)
    pins += [
        Pin(f"{where}.weights_pct[{i}]", float(a), e, REL)
        for i, (a, e) in enumerate(zip(w, rec["weights_pct"], strict=True))
    ]
    return pins


def _aggregate_pins(name: str) -> list[Pin]:
    d, rec = DEP[name], DEP[name]["aggregate"]
    assert (rec["struct"], rec["rho"]) == ("CS", 0.5)
    out = aggregate_effects(d["yi"], d["vi"], d["study"], rho=0.5)
    assert list(out["study"]) == rec["cluster"]
    assert list(out["n_rows"]) == rec["n_per_cluster"]
    where = f"{name.removeprefix('dat.')}.aggregate"
    pins = []
    for col in ("yi", "vi"):
        pins += [
            Pin(f"{where}.{col}[{i}]", a, e, CLOSED)
            for i, (a, e) in enumerate(zip(out[col], rec[col], strict=True))
        ]
    yi, vi = out["yi"].to_numpy(), out["vi"].to_numpy()
    for method, tests in rec["rma"].items():
        for test, fit_rec in tests.items():
            pins += _rma_pins(f"{where}.rma.{method}.{test}", yi, vi, fit_rec)
    return pins


def _aggregate_rho_pins() -> list[Pin]:
    d = DEP["dat.konstantopoulos2011"]
    pins = []
    for key, rec in EXTRA["aggregate_konstantopoulos2011"].items():
        out = aggregate_effects(d["yi"], d["vi"], d["study"], rho=rec["rho"])
        for col in ("yi", "vi"):
            pins += [
                Pin(f"konstantopoulos2011.aggregate.{key}.{col}[{i}]", a, e, CLOSED)
                for i, (a, e) in enumerate(zip(out[col], rec[col], strict=True))
            ]
    return pins


# --------------------------------------------------------------------------------------------
# the reference tests
# --------------------------------------------------------------------------------------------


def test_reference_files_are_the_metafor_3_8_1_exports() -> None:
    assert REF["meta"]["metafor_version"] == "3.8.1"
    assert REF["meta"]["clubSandwich_version"] == "0.5.8"
    assert EXTRA["meta"]["metafor_version"] == "3.8.1"
    assert set(DEP) == {"dat.konstantopoulos2011", "dat.crede2010"}


@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("name", P_DATASET)
def test_multilevel_matches_metafor(name: str, method: str) -> None:
    assert_pins(_fit_pins(name, method))


@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("name", P_DATASET)
def test_our_optimum_is_at_least_as_good_as_metafors(name: str, method: str) -> None:
    d, rec = DEP[name], DEP[name]["fits"][method]
    res = _fit(name, method)
    s, _ = multilevel._check_groups(d["study"], "study", rec["k"])
    _, e = np.unique(np.column_stack([s, d["es_id"]]), axis=0, return_inverse=True)
    design = multilevel._design(
        np.array(d["yi"]), np.array(d["vi"]), np.ones((rec["k"], 1)), s, np.ravel(e)
    )
    theirs = multilevel._state(design, np.array(rec["sigma2"]))
    ll_theirs = theirs.ll_reml if method == "REML" else theirs.ll_ml
    assert res.loglik >= ll_theirs - 1e-12 * abs(ll_theirs)
    assert res.loglik - ll_theirs < 1e-9  # the same optimum, metafor's a little less converged
    assert ll_theirs == pytest.approx(rec["logLik"], rel=1e-12)  # the same likelihood function


@pytest.mark.parametrize("kind", ["CR1", "CR0", "CR2"])
@pytest.mark.parametrize("name", P_DATASET)
def test_robust_matches_metafor_and_clubsandwich(name: str, kind: str) -> None:
    assert_pins(_robust_pins(name, kind))


P_EXTRA = [
    pytest.param(name, key, id=f"{name.removeprefix('dat.')}-{key}")
    for name in XML
    for key in XML[name]["fits"]
]


@pytest.mark.parametrize(("name", "key"), P_EXTRA)
def test_t_tests_weights_and_robust_predictions_match_metafor(name: str, key: str) -> None:
    assert_pins(_extra_pins(name, key))


def test_between_study_variance_on_the_boundary_is_exactly_zero() -> None:
    for method in ("REML", "ML"):
        rec = XML["boundary_study"]["fits"][method]
        assert 0 < rec["sigma2"][0] < 1e-11  # metafor creeps towards 0 on the log scale
        assert _fit("boundary_study", method).sigma2_study == 0.0
        assert _fit("boundary_study", method).sigma2_row > 0.0


@pytest.mark.parametrize("name", P_DATASET)
def test_aggregate_matches_metafor(name: str) -> None:
    assert_pins(_aggregate_pins(name))


def test_aggregate_at_other_correlations_matches_metafor() -> None:
    assert_pins(_aggregate_rho_pins())


@functools.cache
def _profiled(name: str, method: str) -> MultilevelResult:
    d = DEP[name]
    return pool_multilevel(
        d["yi"], d["vi"], d["study"], es_id=d["es_id"], method=method, profile_ci=True
    )


def _profile_pins(name: str, method: str) -> list[Pin]:
    """``confint(res)`` with ``uniroot`` tol 1e-10 (``profile_ci_tight``): rtol 1e-7.

    metafor's default ``confint`` (uniroot tol eps^0.25 ~ 1.2e-4 absolute on sigma^2) is off
    by up to 0.7% from its own tight copy, so only the tight copy is pinned.
    """
    res = _profiled(name, method)
    comps = DEP[name]["fits"][method]["profile_ci_tight"]["components"]
    where = f"{name.removeprefix('dat.')}.{method}.confint"
    pins = []
    for j, (ci, comp) in enumerate(
        zip((res.sigma2_study_ci, res.sigma2_row_ci), comps, strict=True)
    ):
        assert ci is not None
        assert ci[0] < (res.sigma2_study, res.sigma2_row)[j] < ci[1]
        pins.append(Pin(f"{where}[{j}].sigma2_ci_lb", ci[0], comp["sigma2_ci_lb"], 1e-7))
        pins.append(Pin(f"{where}[{j}].sigma2_ci_ub", ci[1], comp["sigma2_ci_ub"], 1e-7))
    return pins


@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize("name", P_DATASET)
def test_profile_likelihood_cis_match_metafor_confint(name: str, method: str) -> None:
    assert_pins(_profile_pins(name, method))
    res = _profiled(name, method)
    assert res.to_frame().loc[0, "sigma2_study_ci_low"] == res.sigma2_study_ci[0]  # type: ignore[index]


def _all_pins() -> dict[str, list[Pin]]:
    fams: dict[str, list[Pin]] = {"multilevel": [], "robust": [], "aggregate": []}
    for name in DEP:
        for method in ("REML", "ML"):
            fams["multilevel"] += _fit_pins(name, method) + _profile_pins(name, method)
        for kind in ROBUST_KEYS:
            fams["robust"] += _robust_pins(name, kind)
        fams["aggregate"] += _aggregate_pins(name)
    for name in XML:
        for key in XML[name]["fits"]:
            for pin in _extra_pins(name, key):
                fams["robust" if ".robust." in pin.where else "multilevel"].append(pin)
    fams["aggregate"] += _aggregate_rho_pins()
    return fams


def test_largest_relative_difference_vs_metafor(record_property, capsys) -> None:
    fams = _all_pins()
    lines = []
    n_abs = sum(p.absolute for pins in fams.values() for p in pins)
    for fam, pins in fams.items():
        assert_pins(pins)
        record_property(f"{fam}_pinned_values", len(pins))
        record_property(f"{fam}_largest_relative_difference", largest(pins)[0])
        lines.append(summary(fam, pins))
    with capsys.disabled():
        print(
            "\n[evidence.multilevel vs metafor 3.8-1 / clubSandwich 0.5.8]\n"
            + "\n".join(lines)
            + f"\n  ({n_abs} variance components on the boundary compared absolutely)"
        )


# --------------------------------------------------------------------------------------------
# behaviour
# --------------------------------------------------------------------------------------------

KONST = DEP["dat.konstantopoulos2011"]
CREDE = DEP["dat.crede2010"]


def test_es_id_defaults_to_one_effect_per_row() -> None:
    """konstantopoulos2011 has a distinct es_id per row, so es_id changes nothing."""
    a = pool_multilevel(KONST["yi"], KONST["vi"], KONST["study"])
    b = pool_multilevel(KONST["yi"], KONST["vi"], KONST["study"], es_id=KONST["es_id"])
    assert a == b
    assert a.n_effects == a.k == 56


def test_rows_sharing_an_es_id_share_the_inner_random_effect() -> None:
    """crede2010 has 97 rows but 88 samples: ignoring es_id is a different model."""
    with_id = _fit("dat.crede2010")
    without = pool_multilevel(CREDE["yi"], CREDE["vi"], CREDE["study"])
    assert (with_id.n_effects, without.n_effects) == (88, 97)
    assert without.sigma2_row != pytest.approx(with_id.sigma2_row, rel=1e-3)


def test_row_order_does_not_matter() -> None:
    rng = np.random.default_rng(7)
    order = rng.permutation(len(CREDE["yi"]))
    pick = [np.array(CREDE[key], dtype=object)[order] for key in ("yi", "vi", "study", "es_id")]
    res = pool_multilevel(
        pick[0].astype(float), pick[1].astype(float), pick[2], es_id=pick[3], robust="CR2"
    )
    ref = _fit("dat.crede2010", "REML", "z", "CR2")
    for attr in ("estimate", "se", "df", "sigma2_study", "sigma2_row", "loglik", "q"):
        assert getattr(res, attr) == pytest.approx(getattr(ref, attr), rel=1e-9), attr
    assert np.allclose(np.array(res.weights), np.array(ref.weights)[order], rtol=1e-9)


def test_robust_changes_only_the_inference() -> None:
    model = _fit("dat.konstantopoulos2011")
    n = model.n_studies
    cr0 = _fit("dat.konstantopoulos2011", "REML", "z", "CR0")
    cr1 = _fit("dat.konstantopoulos2011", "REML", "z", "CR1")
    for res in (cr0, cr1):
        assert (res.estimate, res.sigma2_study, res.sigma2_row, res.q, res.loglik) == (
            model.estimate,
            model.sigma2_study,
            model.sigma2_row,
            model.q,
            model.loglik,
        )
        assert res.test == "t" and res.df == n - 1
    assert cr1.se**2 == pytest.approx(cr0.se**2 * n / (n - 1), rel=1e-12)
    as_true = pool_multilevel(KONST["yi"], KONST["vi"], KONST["study"], robust=True)
    assert as_true == dataclasses.replace(cr1, labels=as_true.labels)
    assert as_true.robust == "CR1"


def test_t_test_uses_k_minus_1_df_and_widens_the_intervals() -> None:
    z, t = _fit("dat.konstantopoulos2011"), _fit("dat.konstantopoulos2011", "REML", "t")
    assert t.df == z.k - 1 and z.df is None
    assert t.ci_high - t.ci_low > z.ci_high - z.ci_low
    assert t.pi_high - t.pi_low > z.pi_high - z.pi_low
    assert (t.estimate, t.se, t.sigma2_study) == (z.estimate, z.se, z.sigma2_study)


def test_level_changes_the_intervals() -> None:
    a = pool_multilevel(KONST["yi"], KONST["vi"], KONST["study"], level=0.9)
    b = _fit("dat.konstantopoulos2011")
    assert a.level == 0.9
    assert b.ci_low < a.ci_low < a.estimate < a.ci_high < b.ci_high
    assert b.pi_low < a.pi_low and a.pi_high < b.pi_high


def test_prediction_interval_adds_both_variance_components() -> None:
    res = _fit("dat.crede2010")
    half = (res.pi_high - res.pi_low) / 2.0
    assert half == pytest.approx(
        1.959963984540054 * math.sqrt(res.se**2 + res.sigma2_study + res.sigma2_row), rel=1e-12
    )
    assert res.i2 == pytest.approx(res.i2_study + res.i2_row, rel=1e-12)


def test_weights_are_the_diagonal_of_the_inverse_marginal_covariance() -> None:
    res = _fit("dat.konstantopoulos2011")
    assert sum(res.weights) == pytest.approx(100.0, rel=1e-12)
    frame = res.weights_frame()
    assert list(frame.columns) == ["label", "weight"] and len(frame) == 56
    assert frame["label"].tolist() == [str(i) for i in range(1, 57)]


def test_to_dict_and_to_frame() -> None:
    res = _fit("dat.konstantopoulos2011", "ML", "z", "CR2")
    d = res.to_dict()
    assert d["method"] == "ML" and d["robust"] == "CR2" and d["test"] == "t"
    assert d["sigma2_study_ci_low"] is None and d["warnings"] == ""
    for key in ("estimate", "se", "df", "pi_low", "sigma2_study", "sigma2_row", "i2", "aicc"):
        assert d[key] == getattr(res, key)
    frame = res.to_frame()
    assert frame.shape == (1, len(d)) and math.isnan(frame.loc[0, "sigma2_row_ci_high"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.estimate = 0.0  # type: ignore[misc]


def test_labels_are_kept() -> None:
    labels = [f"row{i}" for i in range(56)]
    res = pool_multilevel(KONST["yi"], KONST["vi"], KONST["study"], labels=labels)
    assert res.labels == tuple(labels)


# aggregate -------------------------------------------------------------------------------


def test_aggregate_with_rho_0_is_the_inverse_variance_mean() -> None:
    out = aggregate_effects([0.2, 0.5, 0.9, 0.1], [0.04, 0.01, 0.02, 0.05], [3, 3, 3, 1], rho=0)
    w = 1.0 / np.array([0.04, 0.01, 0.02])
    assert out["yi"][0] == pytest.approx(float(np.sum(w * [0.2, 0.5, 0.9]) / np.sum(w)), rel=1e-14)
    assert out["vi"][0] == pytest.approx(1.0 / float(np.sum(w)), rel=1e-14)


def test_aggregate_keeps_single_rows_and_first_appearance_order() -> None:
    out = aggregate_effects([0.3, 0.1, 0.5, 0.2], [0.02, 0.03, 0.04, 0.05], ["b", "a", "b", "c"])
    assert out["study"].tolist() == ["b", "a", "c"]
    assert out["n_rows"].tolist() == [2, 1, 1]
    assert (out["yi"][1], out["vi"][1], out["yi"][2], out["vi"][2]) == (0.1, 0.03, 0.2, 0.05)
    ints = aggregate_effects([0.3, 0.1], [0.02, 0.03], [12, 7])
    assert ints["study"].tolist() == [12, 7]


def test_aggregate_equal_effects_stay_put_and_correlation_raises_the_variance() -> None:
    a = aggregate_effects([0.4, 0.4], [0.02, 0.02], ["s", "s"], rho=0.0)
    b = aggregate_effects([0.4, 0.4], [0.02, 0.02], ["s", "s"], rho=0.8)
    assert a["yi"][0] == pytest.approx(0.4) and b["yi"][0] == pytest.approx(0.4)
    assert a["vi"][0] == pytest.approx(0.01) and b["vi"][0] == pytest.approx(0.018)


@pytest.mark.parametrize(
    ("rho", "message"),
    [
        pytest.param(1.0, r"rho must be a number strictly between -1 and 1; got 1.0", id="one"),
        pytest.param(-1, r"strictly between -1 and 1; got -1", id="minus-one"),
        pytest.param(math.nan, r"got nan", id="nan"),
        pytest.param("0.5", r"got '0.5'", id="string"),
        pytest.param(True, r"got True", id="bool"),
        pytest.param(
            -0.6,
            r"rho = -0.6 makes the covariance of study 's' \(3 rows\) not positive definite "
            r"\(with 3 rows rho must exceed -0.5\)",
            id="not-positive-definite",
        ),
    ],
)
def test_aggregate_rejects_bad_rho(rho: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aggregate_effects([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], ["s", "s", "s"], rho=rho)


def test_aggregate_negative_rho_is_fine_for_pairs() -> None:
    out = aggregate_effects([0.1, 0.3], [0.01, 0.01], ["s", "s"], rho=-0.6)
    assert out["yi"][0] == pytest.approx(0.2) and out["vi"][0] == pytest.approx(0.002)


# invalid input -------------------------------------------------------------------------------

Y3, V3, S3 = [0.1, 0.4, 0.2, 0.6], [0.01, 0.02, 0.01, 0.03], ["a", "a", "b", "b"]

BAD_INPUTS = [
    pytest.param(
        {"yi": [0.1, 0.2, 0.3]},
        r"yi and vi must have the same length; got 3 yi and 4 vi",
        id="lengths",
    ),
    pytest.param(
        {"vi": [0.01, 0.0, 0.01, 0.02]},
        r"vi must contain only positive sampling variances; got 0.0 at position 1",
        id="zero-variance",
    ),
    pytest.param({"vi": [0.01, -0.2, 0.01, 0.02]}, r"got -0.2 at position 1", id="negative-vi"),
    pytest.param(
        {"yi": [0.1, math.nan, 0.2, 0.3]},
        r"yi must contain only finite numbers; got nan at position 1",
        id="nan-yi",
    ),
    pytest.param({"vi": [0.01, math.inf, 0.1, 0.1]}, r"vi must contain only finite", id="inf-vi"),
    pytest.param({"yi": ["a", "b", "c", "d"]}, r"yi must contain only numbers", id="strings"),
    pytest.param({"yi": "0.1"}, r"yi must be a 1-D sequence of numbers", id="string"),
    pytest.param({"yi": [], "vi": [], "study": []}, r"yi must contain at least one", id="empty"),
    pytest.param(
        {"study": ["a", "b"]},
        r"study must have one entry per effect \(4\); got 2 entries",
        id="study-length",
    ),
    pytest.param(
        {"study": ["a", None, "b", "b"]},
        r"study must not contain missing values; got None at position 1",
        id="study-none",
    ),
    pytest.param({"study": ["a", math.nan, "b", "b"]}, r"missing values; got nan", id="study-nan"),
    pytest.param(
        {"study": ["a", "a", "a", "a"]},
        r"a multilevel model needs at least 2 studies; got 1 \(all 4 rows are from one study\)",
        id="one-study",
    ),
    pytest.param(
        {"study": ["a", "b", "c", "d"]},
        r"needs at least one study with two or more distinct effects; every one of the 4 "
        r"studies has a single effect",
        id="no-within-study-replication",
    ),
    pytest.param(
        {"es_id": [1, 1, 2, 2]},
        r"every one of the 2 studies has a single effect",
        id="es-id-equals-study",
    ),
    pytest.param(
        {"es_id": [1, 2]}, r"es_id must have one entry per effect \(4\); got 2", id="es-id-length"
    ),
    pytest.param({"method": "PM"}, r"method must be one of 'REML', 'ML'; got 'PM'", id="method"),
    pytest.param({"test": "knha"}, r"test must be one of 'z', 't'; got 'knha'", id="test"),
    pytest.param(
        {"robust": "HC3"},
        r"robust must be False, True \(= 'CR1'\), 'CR0', 'CR1' or 'CR2'; got 'HC3'",
        id="robust",
    ),
    pytest.param({"level": 95}, r"level must be a number strictly between 0 and 1", id="level"),
    pytest.param({"labels": ["x"]}, r"labels must have one entry per study \(4\)", id="labels"),
]


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS)
def test_invalid_input_raises_value_error(change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"yi": Y3, "vi": V3, "study": S3}
    args.update(change)
    yi, vi, study = args.pop("yi"), args.pop("vi"), args.pop("study")
    with pytest.raises(ValueError, match=message):
        pool_multilevel(yi, vi, study, **args)


@pytest.mark.parametrize(("change", "message"), BAD_INPUTS[:11])
def test_aggregate_rejects_the_same_bad_input(change: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"yi": Y3, "vi": V3, "study": S3}
    args.update(change)
    with pytest.raises(ValueError, match=message):
        aggregate_effects(args["yi"], args["vi"], args["study"])


def test_method_and_test_names_are_case_insensitive() -> None:
    res = pool_multilevel(Y3, V3, S3, method="reml", test="T", robust="cr2")
    assert (res.method, res.test, res.robust) == ("REML", "t", "CR2")


INPUT_KINDS = [
    pytest.param(lambda v: list(v), id="list"),
    pytest.param(lambda v: tuple(v), id="tuple"),
    pytest.param(lambda v: np.array(v), id="array"),
    pytest.param(lambda v: pd.Series(v, index=range(100, 100 + len(v))), id="series"),
]
CALLS: list[Any] = [
    pytest.param(lambda y, v, s: pool_multilevel(y, v, s, robust="CR2"), id="pool_multilevel"),
    pytest.param(lambda y, v, s: aggregate_effects(y, v, s), id="aggregate_effects"),
]


@pytest.mark.parametrize("kind", INPUT_KINDS)
@pytest.mark.parametrize("call", CALLS)
def test_inputs_are_not_mutated(call: Callable[..., Any], kind: Callable[..., Any]) -> None:
    args = tuple(kind(KONST[key]) for key in ("yi", "vi", "study"))
    before = copy.deepcopy(args)
    out = call(*args)
    for a, b in zip(before, args, strict=True):
        if isinstance(a, pd.Series):
            assert a.equals(b) and a.index.equals(b.index)
        elif isinstance(a, np.ndarray):
            assert np.array_equal(a, b)
        else:
            assert a == b
    if isinstance(out, MultilevelResult):
        assert out.estimate == pytest.approx(_fit("dat.konstantopoulos2011").estimate, rel=1e-12)


def test_public_api_is_exported_lazily() -> None:
    import evidence
    from evidence import glmm

    for name, module in (
        ("pool_multilevel", multilevel),
        ("aggregate_effects", multilevel),
        ("MultilevelResult", multilevel),
        ("pool_glmm", glmm),
        ("GLMMResult", glmm),
    ):
        assert name in evidence.__all__ and name in dir(evidence)
        assert getattr(evidence, name) is getattr(module, name)
