"""evidence.glmm pinned against R metafor 3.8-1 ``rma.glmm(measure = "PLO")`` / lme4 1.1-31.

References: ``tests/data/metafor-glmm.json`` (the shared reference: ``dat.pritz1997``,
``dat.debruin2009``, ``edge_zero_event``, ``edge_all_events``; nAGQ = 7 and 1, each with
metafor's default ``glmerControl`` and a ``tight_control`` refit) and
``tests/data/metafor-extra.json`` (``tests/data/make_metafor_extra.R``: small trials with 0% and
100% responders, two studies, tau^2 on the boundary, ``test = "t"``), and for the two-group
``UM.FS`` odds-ratio model (:func:`evidence.glmm.pool_glmm_or`) ``dat.bcg``, ``dat.hine1989``
(tau^2 = 0), ``dat.nielweise2007`` (zero cells and a double-zero study) and a small ketamine-like
set of trials, all at the same tolerances.

Tolerances, and why (the reference README's "part 2"):

- lme4 stops its inner PIRLS iterations at a relative tolerance (``tolPwrss`` 1e-7; 1e-10 in
  ``tight_control``), so its deviance surface is slightly noisy: its ML estimates lie ~1e-5
  (nAGQ = 7) to ~1e-3 (Laplace) from the exact optimum of the quadrature likelihood, and its
  finite-difference Hessian (step 1e-4, so noise x 1e8) moves the SE by up to ~1%. We maximise
  the same likelihood to ~1e-12, so:
- nAGQ = 7 against ``tight_control``: ``TIGHT7 = 1e-4`` for every estimated value (largest seen
  2.4e-5, on the flat likelihood of ``ketamine_like``, tau^2 = 10);
- Laplace against ``tight_control``, and both against the default control: ``EST = 2e-3`` for
  the pooled logit and what is built from it, ``VAR = 2e-2`` for tau^2, tau, SE, I^2, H^2
  and the fit statistics (largest seen: ``edge_all_events`` Laplace, 1e-3 and 1.3e-2, where
  the likelihood is flat);
- interval bounds get the tolerance propagated from the estimate and the SE (``atol =
  EST max(|beta|, se) + crit VAR sqrt(se^2 [+ tau^2])``), proportions the same times
  ``p(1 - p)``, p-values the tolerance implied by their statistic;
- closed forms (``QE.Wld``, ``QE.LRT`` and their p-values, ``vt``; the glm fits are
  reproduced iteration by iteration) at ``CLOSED = 1e-9``.
- UM.FS adds 13-17 study intercepts to lme4's finite-difference Hessian, whose noise then
  moves lme4's SE by up to 4.4e-5 (``dat.bcg``; with step 1e-3 instead of 1e-4 lme4's own
  Hessian gives our SE to 4e-6): still inside ``TIGHT7``.
- Best of all, the optimum itself: our maximised log-likelihood is >= ours at lme4's
  ``tight_control`` estimates, and within 1e-6 of it (2.2e-7 on ``edge_all_events`` Laplace,
  1e-14 elsewhere).

One default-control fit is not pinned: lme4 warns that the Laplace fit of ``ketamine_like``
failed to converge, and its SE (0.0039) is an artefact of a bad Hessian; its ``tight_control``
refit (SE 1.44) is pinned, and ``test_failed_lme4_fit_is_not_a_reference`` shows ours matches it.

``test_largest_relative_difference_vs_metafor`` prints the largest relative difference with
``pytest -s``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import optimize
from scipy import special as spc

from evidence import glmm
from evidence.glmm import GLMMResult, pool_glmm, pool_glmm_or
from evidence.stats import PooledResult, escalc, pool_proportions
from tests.pins import Pin, assert_pins, largest, num, pval_rtol, summary

DATA = Path(__file__).parent / "data"
REF: dict[str, Any] = json.loads((DATA / "metafor-glmm.json").read_text(encoding="utf-8"))
EXTRA: dict[str, Any] = json.loads((DATA / "metafor-extra.json").read_text(encoding="utf-8"))
PLO: dict[str, Any] = REF["glmm"]["plo"]
XG: dict[str, Any] = EXTRA["glmm"]
ORS: dict[str, Any] = {**REF["glmm"]["or_um_fs"], **EXTRA["glmm_or"]}  # two-group UM.FS model

TIGHT7 = 1e-4
EST = 2e-3
VAR = 2e-2
CLOSED = 1e-9
ZERO = 1e-8  # a tau^2 on the boundary: lme4 ~4e-18, ours exactly 0


def _data(name: str) -> dict[str, Any]:
    return PLO[name] if name in PLO else XG[name] if name in XG else ORS[name]


def _key(fit: str) -> tuple[int, str]:
    """``ML_nAGQ7`` / ``ML_nAGQ1_t`` / ``UM.FS_ML_nAGQ7_z`` -> (nagq, test)."""
    parts = fit.split("_")
    nagq = next(int(p.removeprefix("nAGQ")) for p in parts if p.startswith("nAGQ"))
    return nagq, parts[-1] if parts[-1] in ("z", "t") else "z"


@cache
def _fit(name: str, nagq: int = 7, test: str = "z") -> GLMMResult:
    d = _data(name)
    if name in ORS:
        return pool_glmm_or(
            d["ai"], d["bi"], d["ci"], d["di"], nagq=nagq, test=test, labels=d.get("study")
        )
    return pool_glmm(d["xi"], d["ni"], nagq=nagq, test=test, labels=d.get("study"))


def _failed(rec: dict[str, Any]) -> bool:
    """lme4 says the fit did not converge: not a reference (its tight refit is)."""
    return any("failed to converge" in w for w in rec.get("warnings", []))


def _records() -> list[tuple[str, str, str]]:
    """(dataset, fit, variant) of every reference record with a fit to compare."""
    out = []
    for name in [*PLO, *XG, *ORS]:
        for fit, rec in _data(name)["fits"].items():
            if rec.get("error"):
                continue
            out.append((name, fit, "tight"))
            if not _failed(rec):
                out.append((name, fit, "default"))
    return out


def _pins(name: str, fit: str, variant: str) -> list[Pin]:
    rec = _data(name)["fits"][fit]
    nagq, test = _key(fit)
    if variant == "tight":
        rec = rec["tight_control"]
    est_tol, var_tol = (TIGHT7, TIGHT7) if variant == "tight" and nagq == 7 else (EST, VAR)
    assert not _failed(rec), rec["warnings"]
    res = _fit(name, nagq, test)
    where = f"{name.removeprefix('dat.')}.{fit}.{variant}"
    measure = "OR" if name in ORS else "PLO"
    assert (res.method, res.measure, res.test, res.nagq) == ("GLMM", measure, test, nagq)
    dropped = any("Studies with NAs omitted" in w for w in rec.get("warnings", []))
    if dropped:  # metafor left out double-zero studies (drop00): so do we, and say so
        assert len(res.warnings) == 1 and "left out, as metafor does" in res.warnings[0]
    else:
        assert res.warnings == ()
    beta, se, tau2 = num(rec["estimate"]), num(rec["se"]), num(rec["tau2"])
    assert beta is not None and se is not None and tau2 is not None
    crit = abs(rec["ci_ub"] - rec["estimate"]) / se
    a_beta = est_tol * max(abs(beta), se)
    a_ci = a_beta + crit * var_tol * se
    a_pi = a_beta + crit * var_tol * math.sqrt(se**2 + tau2)
    rtol_stat = est_tol + var_tol
    boundary = tau2 < ZERO
    pins = [
        Pin(f"{where}.estimate", res.estimate_t, beta, 0.0, a_beta),
        Pin(f"{where}.se", res.se, se, var_tol),
        Pin(f"{where}.stat", res.stat, num(rec["stat"]), rtol_stat, est_tol),
        Pin(f"{where}.pval", res.pvalue, num(rec["pval"]), pval_rtol(rtol_stat, rec["stat"])),
        Pin(f"{where}.ci_lb", res.ci_low_t, num(rec["ci_lb"]), 0.0, a_ci),
        Pin(f"{where}.ci_ub", res.ci_high_t, num(rec["ci_ub"]), 0.0, a_ci),
        Pin(f"{where}.pi_lb", res.pi_low_t, num(rec["pi_lb"]), 0.0, a_pi),
        Pin(f"{where}.pi_ub", res.pi_high_t, num(rec["pi_ub"]), 0.0, a_pi),
        Pin(f"{where}.tau2", res.tau2, tau2, var_tol, ZERO, boundary),
        Pin(f"{where}.I2", res.i2, num(rec["I2"]), var_tol, ZERO, boundary),
        Pin(f"{where}.H2", res.h2, num(rec["H2"]), var_tol),
        Pin(f"{where}.QE_Wld", res.q, num(rec["QE_Wld"]), CLOSED),
        Pin(f"{where}.QE_LRT", res.q_lrt, num(rec["QE_LRT"]), CLOSED),
        Pin(f"{where}.logLik", res.loglik, num(rec["logLik"]), var_tol),
        Pin(f"{where}.deviance", res.deviance, num(rec["deviance"]), var_tol),
    ]
    if "tau" in rec:
        pins.append(Pin(f"{where}.tau", res.tau, num(rec["tau"]), var_tol, ZERO, boundary))
    if "df" in rec:
        pins.append(Pin(f"{where}.df", res.df, num(rec["df"]), 0.0))
    if "vt" in rec and not boundary:  # escalc variances, closed form: I^2 = tau2/(vt + tau2)
        pins.append(Pin(f"{where}.vt", res.tau2 * (100.0 / res.i2 - 1.0), num(rec["vt"]), CLOSED))
    for key, attr in (("QEp_Wld", "q_pvalue"), ("QEp_LRT", "q_lrt_pvalue")):
        if key in rec:
            pins.append(Pin(f"{where}.{key}", getattr(res, attr), num(rec[key]), CLOSED))
    for key, attr in (("AIC", "aic"), ("BIC", "bic"), ("AICc", "aicc")):
        if key in rec:
            pins.append(Pin(f"{where}.{key}", getattr(res, attr), num(rec[key]), var_tol))
    # back-transformed: inverse logit (PLO) or exp (OR) of the above, tolerance times the
    # derivative of the back-transform
    suffix = "_exp" if measure == "OR" else "_prop"
    for key, attr, atol in (
        ("estimate", "estimate", a_beta),
        ("ci_lb", "ci_low", a_ci),
        ("ci_ub", "ci_high", a_ci),
        ("pi_lb", "pi_low", a_pi),
        ("pi_ub", "pi_high", a_pi),
    ):
        if key + suffix in rec:
            v = num(rec[key + suffix])
            assert v is not None
            slope = v if measure == "OR" else v * (1 - v)
            pins.append(
                Pin(f"{where}.{key}{suffix}", getattr(res, attr), v, 0.0, 1.1 * slope * atol)
            )
    if "k" in rec:
        assert res.k == rec["k"] and res.q_df == res.k - 1
    return pins


P_RECORDS = [pytest.param(*r, id=f"{r[0].removeprefix('dat.')}-{r[1]}-{r[2]}") for r in _records()]


# --------------------------------------------------------------------------------------------
# the reference tests
# --------------------------------------------------------------------------------------------


def test_reference_files_are_the_metafor_3_8_1_lme4_1_1_31_exports() -> None:
    assert REF["meta"]["metafor_version"] == "3.8.1" and REF["meta"]["lme4_version"] == "1.1.31"
    assert EXTRA["meta"]["lme4_version"] == "1.1.31"
    assert set(PLO) == {"dat.pritz1997", "dat.debruin2009", "edge_zero_event", "edge_all_events"}


@pytest.mark.parametrize(("name", "fit", "variant"), P_RECORDS)
def test_glmm_matches_metafor(name: str, fit: str, variant: str) -> None:
    assert_pins(_pins(name, fit, variant))


@pytest.mark.parametrize(
    ("name", "fit"),
    [
        pytest.param(r[0], r[1], id=f"{r[0].removeprefix('dat.')}-{r[1]}")
        for r in _records()
        if r[2] == "tight" and r[0] not in ORS
    ],
)
def test_our_optimum_is_at_least_as_good_as_lme4s(name: str, fit: str) -> None:
    """Our log-likelihood at our estimates vs at lme4's tight-control estimates."""
    d, rec = _data(name), _data(name)["fits"][fit]["tight_control"]
    nagq, test = _key(fit)
    res = _fit(name, nagq, test)
    q = glmm._data(np.array(d["xi"], float), np.array(d["ni"], float), nagq)
    ours = glmm._loglik(q, res.estimate_t, res.tau)
    theirs = glmm._loglik(q, rec["estimate"], math.sqrt(rec["tau2"]))
    assert ours >= theirs - 1e-12 * abs(theirs)
    assert ours - theirs < 1e-6


def _or_profile_loglik(name: str, nagq: int, beta: float, tau: float) -> float:
    """UM.FS log-likelihood at (beta, tau), maximised over the study intercepts alpha_i."""
    d = _data(name)
    a, b, c, dd = (np.array(d[key], float) for key in ("ai", "bi", "ci", "di"))
    keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (dd == 0)))
    a, b, c, dd = a[keep], b[keep], c[keep], dd[keep]
    arms = glmm._arms(np.column_stack([a, c]), np.column_stack([a + b, c + dd]), (0.5, -0.5), nagq)
    k = int(a.size)

    def obj(alpha: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = glmm._umfs_grad(arms, np.concatenate([alpha, [beta, tau]]))
        return -ll, -grad[:k]

    start = np.log((c + 0.5) / (dd + 0.5))
    res = optimize.minimize(obj, start, jac=True, method="BFGS", options={"gtol": 1e-11})
    return -float(res.fun)


@pytest.mark.parametrize(
    ("name", "fit"),
    [
        pytest.param(r[0], r[1], id=f"{r[0].removeprefix('dat.')}-{r[1]}")
        for r in _records()
        if r[2] == "tight" and r[0] in ORS and r[1].endswith(("nAGQ7", "_z"))
    ],
)
def test_our_odds_ratio_optimum_is_at_least_as_good_as_lme4s(name: str, fit: str) -> None:
    """As above for UM.FS, profiling out the study intercepts lme4 does not report."""
    rec = _data(name)["fits"][fit]["tight_control"]
    nagq, test = _key(fit)
    res = _fit(name, nagq, test)
    ours = _or_profile_loglik(name, nagq, res.estimate_t, res.tau)
    theirs = _or_profile_loglik(name, nagq, rec["estimate"], math.sqrt(rec["tau2"]))
    assert ours >= theirs - 1e-9 * abs(theirs)
    assert ours - theirs < 1e-6


def test_zero_and_all_event_studies_enter_with_raw_counts() -> None:
    """The saturated glm gives them no finite logit: QE.Wld is the Q of the other studies."""
    for name in ("edge_zero_event", "edge_all_events"):
        d = PLO[name]
        x, n = np.array(d["xi"], float), np.array(d["ni"], float)
        keep = (x > 0) & (x < n)
        y = np.log(x[keep] / (n[keep] - x[keep]))
        w = 1.0 / (1.0 / x[keep] + 1.0 / (n[keep] - x[keep]))
        q = float(np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2))
        assert _fit(name).q == pytest.approx(q, rel=1e-6)  # the limit of glm's iterations
        assert _fit(name).q == pytest.approx(d["fits"]["ML_nAGQ7"]["QE_Wld"], rel=1e-12)


def test_failed_lme4_fit_is_not_a_reference() -> None:
    rec = XG["ketamine_like"]["fits"]["ML_nAGQ1_z"]
    assert rec["warnings"] and "failed to converge" in rec["warnings"][0]
    assert rec["se"] < 0.01 < 1.0 < rec["tight_control"]["se"]
    assert _fit("ketamine_like", 1).se == pytest.approx(rec["tight_control"]["se"], rel=1e-3)


def test_identical_proportions_give_the_common_effect_fit() -> None:
    """lme4 refuses these ("Response is constant"); the ML fit is tau^2 = 0 and the glm."""
    d = XG["identical"]
    assert all(r["error"] for r in d["fits"].values())
    for nagq in (7, 1):
        res = pool_glmm(d["xi"], d["ni"], nagq=nagq)
        p = sum(d["xi"]) / sum(d["ni"])
        assert res.tau2 == 0.0 and res.i2 == 0.0 and res.h2 == 1.0
        assert res.estimate_t == pytest.approx(math.log(p / (1 - p)), rel=1e-12)
        assert res.se == pytest.approx(1 / math.sqrt(sum(d["ni"]) * p * (1 - p)), rel=1e-6)
        assert res.q == pytest.approx(0.0, abs=1e-9) and res.q_lrt == pytest.approx(0, abs=1e-9)


def _all_pins() -> dict[str, list[Pin]]:
    out: dict[str, list[Pin]] = {}
    for name, fit, variant in _records():
        model = "UM.FS odds ratio" if name in ORS else "proportion"
        control = "lme4 tight control" if variant == "tight" else "metafor default control"
        part = f"{model} vs {control}, nAGQ {_key(fit)[0]}"
        out.setdefault(part, []).extend(_pins(name, fit, variant))
    return dict(sorted(out.items()))


def test_largest_relative_difference_vs_metafor(record_property, capsys) -> None:
    parts = _all_pins()
    every = [p for pins in parts.values() for p in pins]
    assert_pins(every)
    worst, where = largest(every)
    record_property("glmm_pinned_values", len(every))
    record_property("glmm_largest_relative_difference", worst)
    record_property("glmm_largest_relative_difference_at", where.where)
    with capsys.disabled():
        print(
            "\n[evidence.glmm vs metafor 3.8-1 rma.glmm / lme4 1.1-31]\n"
            + "\n".join(summary(f"GLMM {part}", pins) for part, pins in parts.items())
        )


# --------------------------------------------------------------------------------------------
# the likelihood itself
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nagq", [1, 7])
def test_analytic_gradient_equals_finite_differences(nagq: int) -> None:
    d = PLO["dat.pritz1997"]
    q = glmm._data(np.array(d["xi"], float), np.array(d["ni"], float), nagq)
    for beta, tau in ((1.3, 0.7), (0.2, 2.0), (-1.0, 0.05)):
        h = 1e-6
        fd = [
            (glmm._loglik(q, beta + h, tau) - glmm._loglik(q, beta - h, tau)) / (2 * h),
            (glmm._loglik(q, beta, tau + h) - glmm._loglik(q, beta, tau - h)) / (2 * h),
        ]
        assert glmm._gradient(q, beta, tau) == pytest.approx(fd, rel=1e-6, abs=1e-7)


def test_more_quadrature_nodes_converge() -> None:
    """20 and 30 nodes agree to ~1e-11 on dat.pritz1997; 7 nodes to ~1e-5; Laplace to ~1e-3."""
    d = PLO["dat.pritz1997"]
    fits = {q: pool_glmm(d["xi"], d["ni"], nagq=q) for q in (1, 7, 20, 30)}
    assert fits[20].estimate_t == pytest.approx(fits[30].estimate_t, rel=1e-9)
    assert fits[20].tau2 == pytest.approx(fits[30].tau2, rel=1e-9)
    assert fits[7].estimate_t == pytest.approx(fits[30].estimate_t, rel=1e-4)
    assert fits[1].tau2 != pytest.approx(fits[30].tau2, rel=1e-2)


@pytest.mark.parametrize(
    ("nagq", "points"),
    [
        pytest.param(1, (((0.7, 1.3), 65.404829748064), ((1.2, 0.2), 79.3285166704385)), id="1"),
        pytest.param(7, (((0.7, 1.3), 30.2155400771378), ((1.2, 0.2), 43.9299394296796)), id="7"),
    ],
)
def test_deviance_equals_lme4s_devfun(nagq: int, points: Any) -> None:
    """The likelihood we maximise is lme4's, up to a constant.

    Values printed by ``glmer(cbind(x, n - x) ~ 1 + (1 | study), binomial, nAGQ,
    devFunOnly = TRUE)`` at (theta, beta) for dat.pritz1997 (lme4 1.1-31; nAGQ = 1 with
    ``tolPwrss = 1e-10``: with the default 1e-7 lme4's PIRLS stops early, 79.32860 at
    (1.2, 0.2)). lme4's Laplace deviance is -2 log L including the binomial coefficients; its
    nAGQ > 1 deviance is relative to the saturated model.
    """
    d = PLO["dat.pritz1997"]
    x, n = np.array(d["xi"], float), np.array(d["ni"], float)
    q = glmm._data(x, n, nagq)
    offset = 0.0
    if nagq > 1:
        p = x / n
        offset = -2.0 * float(np.sum(q.lchoose + spc.xlogy(x, p) + spc.xlogy(n - x, 1 - p)))
    for (theta, beta), dev in points:
        assert glmm._deviance(q, theta, beta) - offset == pytest.approx(dev, rel=2e-9)


# --------------------------------------------------------------------------------------------
# the result object and pool_proportions(method="GLMM")
# --------------------------------------------------------------------------------------------


def test_result_is_a_frozen_pooled_result_with_the_glmm_extras() -> None:
    res = _fit("dat.pritz1997")
    assert isinstance(res, PooledResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.tau2 = 0.0  # type: ignore[misc]
    d = res.to_dict()
    for key in ("q_lrt", "q_lrt_pvalue", "loglik", "deviance", "aic", "bic", "aicc", "nagq"):
        assert d[key] == getattr(res, key)
    assert list(d)[-1] == "warnings" and d["s2w"] is None and d["se_tau2"] is None
    assert (
        d["method"] == "GLMM"
        and d["measure"] == "PLO"
        and d["n_total"] == sum(PLO["dat.pritz1997"]["ni"])
    )
    frame = res.to_frame()
    assert frame.shape == (1, len(d)) and math.isnan(frame.loc[0, "df"])
    assert res.labels == tuple(PLO["dat.pritz1997"]["study"])


def test_proportion_scale_is_the_inverse_logit() -> None:
    res = _fit("dat.debruin2009", 7, "t")
    for t, p in (
        (res.estimate_t, res.estimate),
        (res.ci_low_t, res.ci_low),
        (res.ci_high_t, res.ci_high),
        (res.pi_low_t, res.pi_low),
        (res.pi_high_t, res.pi_high),
    ):
        assert p == pytest.approx(float(spc.expit(t)), rel=1e-15)


def test_display_weights_are_inverse_variance_with_tau2() -> None:
    d = PLO["edge_zero_event"]
    res = _fit("edge_zero_event")
    _, vi = escalc(d["xi"], d["ni"], "PLO")
    w = 1.0 / (vi + res.tau2)
    assert res.weights == pytest.approx(tuple(100 * w / w.sum()), rel=1e-12)
    assert sum(res.weights) == pytest.approx(100.0)


def test_t_test_uses_k_minus_1_df() -> None:
    z, t = _fit("dat.pritz1997"), _fit("dat.pritz1997", 7, "t")
    assert t.df == 13 and z.df is None
    assert (t.estimate_t, t.se, t.tau2) == (z.estimate_t, z.se, z.tau2)
    assert t.ci_high_t - t.ci_low_t > z.ci_high_t - z.ci_low_t


def test_pool_proportions_dispatches_to_the_glmm() -> None:
    d = PLO["dat.pritz1997"]
    res = pool_proportions(d["xi"], d["ni"], "PLO", "glmm", "t", 0.9, labels=d["study"])
    assert isinstance(res, GLMMResult)
    assert res == pool_glmm(d["xi"], d["ni"], level=0.9, labels=d["study"], test="t")
    default = pool_proportions(d["xi"], d["ni"], method="GLMM", labels=d["study"])
    assert default == _fit("dat.pritz1997") and default.nagq == 7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"measure": "PFT"},
            r"method='GLMM' models the logit of the proportion, so measure must be 'PLO'; "
            r"got 'PFT'",
            id="measure",
        ),
        pytest.param(
            {"test": "knha"},
            r"method='GLMM' supports test 'z' or 't' \(t with k - 1 df\); got 'knha'",
            id="knha",
        ),
    ],
)
def test_pool_proportions_glmm_rejects_rma_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pool_proportions([3, 4, 5], [10, 10, 10], method="GLMM", **kwargs)


@pytest.mark.parametrize(
    ("events", "totals", "kwargs", "message"),
    [
        pytest.param([3], [10], {}, r"the GLMM needs at least 2 studies .*; got 1", id="k1"),
        pytest.param(
            [0, 0, 0],
            [5, 8, 10],
            {},
            r"no finite estimate: no study has any events, so the pooled logit is infinite",
            id="no-events",
        ),
        pytest.param([5, 8], [5, 8], {}, r"every participant had an event", id="all-events"),
        pytest.param(
            [0, 5, 0, 7],
            [5, 5, 6, 7],
            {},
            r"every study has 0% or 100% events, so tau\^2 grows without bound",
            id="all-extreme",
        ),
        pytest.param([3, 4], [10, 10], {"nagq": 0}, r"nagq must be an integer from 1", id="nagq0"),
        pytest.param([3, 4], [10, 10], {"nagq": 7.0}, r"got 7.0", id="nagq-float"),
        pytest.param([3, 4], [10, 10], {"nagq": True}, r"got True", id="nagq-bool"),
        pytest.param([3, 4], [10, 10], {"nagq": 101}, r"to 100", id="nagq-large"),
        pytest.param([3, 4], [10, 10], {"test": "knha"}, r"test must be one of 'z', 't'", id="t"),
        pytest.param([3, 4], [10, 10], {"level": 95}, r"level must be a number", id="level"),
        pytest.param([3, 4], [10, 10], {"labels": ["a"]}, r"labels must have one", id="labels"),
        pytest.param([3, 12], [10, 10], {}, r"events must not exceed totals", id="x>n"),
        pytest.param([3, -1], [10, 10], {}, r"non-negative integer counts", id="negative"),
        pytest.param([3, 1.5], [10, 10], {}, r"non-negative integer counts", id="fraction"),
    ],
)
def test_invalid_input_raises_value_error(
    events: Any, totals: Any, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pool_glmm(events, totals, **kwargs)


INPUT_KINDS = [
    pytest.param(lambda v: list(v), id="list"),
    pytest.param(lambda v: tuple(v), id="tuple"),
    pytest.param(lambda v: np.array(v, dtype=np.int64), id="int-array"),
    pytest.param(lambda v: pd.Series(v, index=range(100, 100 + len(v))), id="series"),
]


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_inputs_are_not_mutated_and_the_container_does_not_matter(
    kind: Callable[..., Any],
) -> None:
    d = PLO["edge_zero_event"]
    events, totals = kind(d["xi"]), kind(d["ni"])
    before = copy.deepcopy((events, totals))
    res = pool_glmm(events, totals)
    for a, b in zip(before, (events, totals), strict=True):
        if isinstance(a, pd.Series):
            assert a.equals(b) and a.index.equals(b.index)
        elif isinstance(a, np.ndarray):
            assert np.array_equal(a, b) and a.dtype == b.dtype
        else:
            assert a == b
    assert res == dataclasses.replace(_fit("edge_zero_event"), labels=res.labels)


# --------------------------------------------------------------------------------------------
# the two-group odds-ratio model (UM.FS)
# --------------------------------------------------------------------------------------------


def test_odds_ratio_model_reports_odds_ratios() -> None:
    res = _fit("dat.bcg")
    assert res.measure == "OR" and res.k == 13
    assert res.n_total == sum(ORS["dat.bcg"]["n1i"]) + sum(ORS["dat.bcg"]["n2i"])
    for t, v in (
        (res.estimate_t, res.estimate),
        (res.ci_low_t, res.ci_low),
        (res.ci_high_t, res.ci_high),
        (res.pi_low_t, res.pi_low),
        (res.pi_high_t, res.pi_high),
    ):
        assert v == pytest.approx(math.exp(t), rel=1e-15)
    assert res.labels == tuple(ORS["dat.bcg"]["study"])
    assert res.to_dict()["measure"] == "OR"


def test_double_zero_studies_are_left_out_with_their_labels() -> None:
    d = ORS["ketamine_rct_like"]
    labels = [f"trial{i}" for i in range(len(d["ai"]))]
    res = pool_glmm_or(d["ai"], d["bi"], d["ci"], d["di"], labels=labels)
    assert res.k == 5 and "trial2" not in res.labels and len(res.weights) == 5
    assert res.warnings == (
        "1 studies with no events (or only events) in both groups were left out, as metafor "
        "does (drop00 = TRUE)",
    )


@pytest.mark.parametrize(
    ("cells", "kwargs", "message"),
    [
        pytest.param(
            ([1, 2], [5, 5], [2, 3], [5]),
            {},
            r"ai, bi, ci and di must have the same length; got 2 ai and 1 di",
            id="lengths",
        ),
        pytest.param(
            ([0, 2], [0, 5], [2, 3], [5, 5]),
            {},
            r"each group needs at least one participant; got an empty group at position 0",
            id="empty-group",
        ),
        pytest.param(
            ([0, 2, 0], [5, 5, 4], [0, 3, 0], [5, 5, 6]),
            {},
            r"needs at least 2 informative studies to estimate tau\^2; got 1",
            id="one-informative",
        ),
        pytest.param(
            ([0, 0, 0], [5, 5, 4], [1, 3, 2], [5, 5, 6]),
            {},
            r"no finite estimate: no events in group 1 in every study",
            id="no-events-in-group-1",
        ),
        pytest.param(
            ([2, 3, 1], [5, 5, 4], [1, 3, 2], [0, 0, 0]),
            {},
            r"only events in group 2 in every study",
            id="only-events-in-group-2",
        ),
        pytest.param(([1, 2], [5, 5], [2, 3], [5, 5]), {"nagq": 0}, r"nagq", id="nagq"),
        pytest.param(([1, 2], [5, 5], [2, 3], [5, 5]), {"test": "knha"}, r"test", id="test"),
        pytest.param(([1, -2], [5, 5], [2, 3], [5, 5]), {}, r"ai must contain only", id="neg"),
    ],
)
def test_odds_ratio_model_rejects_bad_input(
    cells: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        pool_glmm_or(*cells, **kwargs)
