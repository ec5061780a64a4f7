"""Contrasts pinned against R metafor 3.8-1 (tests/data/metafor-contrasts.json).

Covers :mod:`evidence.effects` (``escalc`` for RR/OR/RD/PETO, MD/SMD/SMDH/ROM, MC/SMCR/SMCC,
generic inverse variance from CIs), :func:`evidence.stats.pool_effects` (``rma`` for every
method x test) and :mod:`evidence.mantelhaenszel` (``rma.mh``, ``rma.peto``).

Tolerances, as the reference's README prescribes: closed forms (escalc, FE/DL/HE/SJ, MH, Peto,
generic IV) at relative 1e-9; REML and PM at relative 1e-6 against metafor's ``tight_control``
refit (and, separately, ``convergence="metafor"`` against metafor's default control). A
reference value that is exactly 0 (or below 1e-20) gets an absolute tolerance of 1e-12
instead. Where metafor's REML optimum is on the boundary (tight control stops at tau^2 ~ 1e-13
while ``evidence`` returns exactly 0), tau^2, tau and I^2 are compared absolutely (1e-12, 1e-6,
and the I^2 that tau^2 = 1e-12 implies, ``100e-12 / vt``).

``test_largest_relative_difference_vs_metafor`` prints the largest relative difference over all
pinned values (``pytest -s``).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from evidence.effects import (
    BINARY_MEASURES,
    CHANGE_MEASURES,
    CONTINUOUS_MEASURES,
    ESCALC_MEASURES,
    VTYPES,
    effect_from_ci,
    effect_sizes,
    hedges_correction,
    mean_sd_from_median,
    sd_from_ci,
    sd_from_se,
)
from evidence.mantelhaenszel import MantelHaenszelResult, pool_mantel_haenszel, pool_peto
from evidence.stats import (
    DIFFERENCE_MEASURES,
    EFFECT_MEASURES,
    METHODS,
    RATIO_MEASURES,
    TESTS,
    PooledResult,
    escalc,
    leave_one_out_effects,
    pool_effects,
    pool_proportions,
    subgroup_effects,
)

from .pins import num as _num

REFERENCE = Path(__file__).parent / "data" / "metafor-contrasts.json"
REF: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
CONTRASTS: dict[str, Any] = REF["contrasts"]
BINARY: dict[str, Any] = CONTRASTS["binary"]
CONTINUOUS: dict[str, Any] = CONTRASTS["continuous"]
PREPOST: dict[str, Any] = CONTRASTS["prepost"]
GENERIC: dict[str, Any] = CONTRASTS["generic_iv"]

REL_CLOSED = 1e-9  # closed forms: escalc, FE/DL/HE/SJ, MH, Peto, generic IV
REL_ITERATIVE = 1e-6  # REML and PM against metafor's tight_control refit
ABS_ZERO = 1e-12  # absolute tolerance where metafor's value is 0 (or below TINY)
TINY = 1e-20
BOUNDARY_TAU2 = 1e-12
ITERATIVE = ("REML", "PM")

# metafor warning -> a phrase our warning for the same situation contains
WARNING_PHRASES = {
    "Knapp & Hartung method is not meant to be used in the context of FE models.": (
        "Knapp-Hartung is not meant for a common-effect (FE) model"
    ),
    'Setting argument test="z" since k=1.': 'used test="z" instead',
    "Some yi/vi values are NA.": "left out of Q, I^2 and H^2",
}


# --------------------------------------------------------------------------------------------
# comparison machinery
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Pin:
    """One pinned value: ours vs metafor's.

    ``expected`` None is metafor's NA: ours must be None or NaN (``evidence`` uses NaN for an
    undefined float and None for an undefined optional statistic).
    """

    where: str
    actual: Any
    expected: float | None
    rel: float = REL_CLOSED
    abs_tol: float | None = None
    boundary: bool = False

    def ok(self) -> bool:
        e, a = self.expected, self.actual
        if e is None:
            return a is None or (isinstance(a, float) and math.isnan(a))
        if a is None:
            return False
        a = float(a)
        if math.isnan(e):
            return math.isnan(a)
        if math.isinf(e):
            return a == e
        abs_tol = self.abs_tol if self.abs_tol is not None else (ABS_ZERO if abs(e) < TINY else 0)
        return math.isclose(a, e, rel_tol=self.rel, abs_tol=abs_tol)

    def rel_diff(self) -> float | None:
        e = self.expected
        if e is None or self.boundary or not math.isfinite(e) or abs(e) < TINY:
            return None
        if self.actual is None or isinstance(self.actual, (bool, np.bool_)):
            return None
        return abs(float(self.actual) - e) / abs(e)


def _assert_pins(pins: list[Pin]) -> None:
    bad = [p for p in pins if not p.ok()]
    assert not bad, f"{len(bad)} mismatches vs metafor:\n" + "\n".join(
        f"  {p.where}: ours={p.actual!r} metafor={p.expected!r}" for p in bad[:40]
    )


def _vector_pins(
    where: str, actual: Any, expected: list[Any], rel: float = REL_CLOSED
) -> list[Pin]:
    actual = list(actual)
    assert len(actual) == len(expected), f"{where}: length {len(actual)} != {len(expected)}"
    return [
        Pin(f"{where}[{i}]", _plain(a), _num(e), rel)
        for i, (a, e) in enumerate(zip(actual, expected, strict=True))
    ]


def _plain(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return float(bool(x))
    return None if x is None else float(x)


def _assert_warnings(where: str, ours: tuple[str, ...], theirs: list[str]) -> None:
    for w in theirs:
        if w == "Some 'yi' and/or 'vi' values equal to +-Inf. Recoded to NAs.":
            continue  # escalc's warning: effect_sizes shows it as NaN values
        assert any(WARNING_PHRASES[w] in o for o in ours), f"{where}: no warning like {w!r}"


# --------------------------------------------------------------------------------------------
# escalc
# --------------------------------------------------------------------------------------------

ESCALC_COLUMNS = {"yi": "yi", "vi": "vi", "sei": "sei", "ci_lb": "ci_low_t", "ci_ub": "ci_high_t"}
EXP_COLUMNS = {"yi_exp": "estimate", "ci_lb_exp": "ci_low", "ci_ub_exp": "ci_high"}


def _binary_escalc(ds: str, measure: str, variant: str) -> pd.DataFrame:
    d = BINARY[ds]
    st = d["escalc"][measure][variant]["settings"]
    return effect_sizes(
        measure,
        ai=d["ai"],
        bi=d["bi"],
        ci=d["ci"],
        di=d["di"],
        add=st["add"],
        to=st["to"],
        drop00=st["drop00"],
        vtype=st["vtype"],
        labels=d["study"],
    )


def _continuous_escalc(ds: str, measure: str, vtype: str) -> pd.DataFrame:
    d = CONTINUOUS[ds]
    return effect_sizes(
        measure,
        m1i=d["m1i"],
        sd1i=d["sd1i"],
        n1i=d["n1i"],
        m2i=d["m2i"],
        sd2i=d["sd2i"],
        n2i=d["n2i"],
        vtype=vtype,
        labels=d["study"],
    )


def _prepost_escalc(ds: str, measure: str, vtype: str) -> pd.DataFrame:
    d = PREPOST[ds]
    return effect_sizes(
        measure,
        m1i=d["m_post"],
        m2i=d["m_pre"],
        sd1i=d["sd_pre"],
        sd2i=d["sd_post"],
        ni=d["ni"],
        ri=d["ri"],
        vtype=vtype,
        labels=d["study"],
    )


def _frame_pins(where: str, frame: pd.DataFrame, rec: dict[str, Any]) -> list[Pin]:
    pins: list[Pin] = []
    for key, col in {**ESCALC_COLUMNS, **EXP_COLUMNS}.items():
        if key in rec:
            pins += _vector_pins(f"{where}.{key}", frame[col], rec[key])
    for key in ("adjusted", "dropped"):
        if key in rec:
            pins += _vector_pins(f"{where}.{key}", frame[key], [float(v) for v in rec[key]])
    return pins


def _escalc_pins(kind: str, ds: str, measure: str, variant: str) -> list[Pin]:
    if kind == "binary":
        rec = BINARY[ds]["escalc"][measure][variant]
        frame = _binary_escalc(ds, measure, variant)
        d = BINARY[ds]
        n = [a + b + c + e for a, b, c, e in zip(d["ai"], d["bi"], d["ci"], d["di"], strict=True)]
    elif kind == "continuous":
        rec = CONTINUOUS[ds]["escalc"][measure][variant]
        frame = _continuous_escalc(ds, measure, variant)
        d = CONTINUOUS[ds]
        n = [a + b for a, b in zip(d["n1i"], d["n2i"], strict=True)]
    else:
        rec = PREPOST[ds]["escalc"][measure][variant]
        frame = _prepost_escalc(ds, measure, variant)
        n = PREPOST[ds]["ni"]
    where = f"escalc-{kind}-{ds}-{measure}-{variant}"
    assert list(frame.index) == (BINARY | CONTINUOUS | PREPOST)[ds]["study"]
    if measure in RATIO_MEASURES:
        assert "yi_exp" in rec or measure == "PETO"
    pins = _frame_pins(where, frame, rec)
    pins += _vector_pins(f"{where}.ni", frame["ni"], n)
    return pins


def _hedges_pins(ds: str) -> list[Pin]:
    d = CONTINUOUS[ds]
    h = d["hedges"]
    m1, m2 = np.array(d["m1i"], float), np.array(d["m2i"], float)
    sd1, sd2 = np.array(d["sd1i"], float), np.array(d["sd2i"], float)
    n1, n2 = np.array(d["n1i"], float), np.array(d["n2i"], float)
    mi = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / mi)
    dd = (m1 - m2) / sp
    smd = _continuous_escalc(ds, "SMD", "LS")
    where = f"hedges-{ds}"
    return (
        _vector_pins(f"{where}.mi", mi, h["mi"])
        + _vector_pins(f"{where}.sd_pooled", sp, h["sd_pooled"])
        + _vector_pins(f"{where}.d_uncorrected", dd, h["d_uncorrected"])
        + _vector_pins(f"{where}.cmi_exact", hedges_correction(mi), h["cmi_exact"])
        + _vector_pins(f"{where}.cmi_approx", hedges_correction(mi, exact=False), h["cmi_approx"])
        + _vector_pins(f"{where}.yi_exact", smd["yi"], h["yi_exact"])
        + _vector_pins(
            f"{where}.yi_approx", hedges_correction(mi, exact=False) * dd, h["yi_approx"]
        )
    )


GENERIC_COLUMNS = {
    "yi": "yi",
    "vi": "vi",
    "sei": "sei",
    "stat": "stat",
    "pval": "pvalue",
    "sei_from_lower": "sei_from_lower",
    "sei_from_upper": "sei_from_upper",
    "asymmetry": "asymmetry",
    "ci_midpoint": "ci_midpoint",
    "ci_lb_recomputed": "ci_low_t",
    "ci_ub_recomputed": "ci_high_t",
    "ci_lb_recomputed_exp": "ci_low",
    "ci_ub_recomputed_exp": "ci_high",
}


def _generic_frame(ds: str) -> pd.DataFrame:
    d = GENERIC[ds]
    assert d["ci_level"] == 95
    return effect_from_ci(
        d["estimate"], d["ci_lb"], d["ci_ub"], measure=d["measure"], labels=d["study"]
    )


def _generic_pins(ds: str) -> list[Pin]:
    d = GENERIC[ds]
    rec = d["derived"]
    frame = _generic_frame(ds)
    where = f"generic-{ds}"
    assert rec["log_scale"] == (d["measure"] in RATIO_MEASURES)
    pins = [Pin(f"{where}.z", 1.959963984540054, _num(rec["z"]))]
    for key, col in GENERIC_COLUMNS.items():
        if key in rec:
            pins += _vector_pins(f"{where}.{key}", frame[col], rec[key])
    return pins


# --------------------------------------------------------------------------------------------
# rma
# --------------------------------------------------------------------------------------------

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
    "estimate_exp": "estimate",
    "ci_lb_exp": "ci_low",
    "ci_ub_exp": "ci_high",
    "pi_lb_exp": "pi_low",
    "pi_ub_exp": "pi_high",
    "tau2": "tau2",
    "tau": "tau",
    "se_tau2": "se_tau2",
    "I2": "i2",
    "H2": "h2",
    "vt": "vt",
    "Q": "q",
    "Q_df": "q_df",
    "Q_pval": "q_pvalue",
    "k": "k",
}
# difference measures: the reporting scale is the analysis scale
RAW_KEYS = {
    "estimate": "estimate",
    "ci_lb": "ci_low",
    "ci_ub": "ci_high",
    "pi_lb": "pi_low",
    "pi_ub": "pi_high",
}


def _yi_vi(kind: str, ds: str, measure: str) -> tuple[pd.DataFrame, list[str]]:
    if kind == "binary":
        return _binary_escalc(ds, measure, "default"), BINARY[ds]["study"]
    if kind == "continuous":
        return _continuous_escalc(ds, measure, "LS"), CONTINUOUS[ds]["study"]
    if kind == "prepost":
        return _prepost_escalc(ds, measure, "LS"), PREPOST[ds]["study"]
    return _generic_frame(ds), GENERIC[ds]["study"]


def _rma_record(kind: str, ds: str, measure: str, method: str, test: str) -> dict[str, Any]:
    d = CONTRASTS[{"generic": "generic_iv"}.get(kind, kind)][ds]
    return d["rma"][method][test] if kind == "generic" else d["rma"][measure][method][test]


@functools.cache
def _pooled(kind: str, ds: str, measure: str, method: str, test: str, conv: str) -> PooledResult:
    frame, labels = _yi_vi(kind, ds, measure)
    return pool_effects(
        frame["yi"],
        frame["vi"],
        measure=measure,
        method=method,
        test=test,
        labels=labels,
        n_total=int(frame["ni"].sum()) if "ni" in frame else None,
        convergence=conv,
    )


def _rma_pins(kind: str, ds: str, measure: str, method: str, test: str, variant: str) -> list[Pin]:
    rec = _rma_record(kind, ds, measure, method, test)
    if variant == "tight" and "tight_control" in rec:
        rec = rec["tight_control"]
    res = _pooled(kind, ds, measure, method, test, "tight" if variant == "tight" else "metafor")
    where = f"rma-{kind}-{ds}-{measure}-{method}-{test}-{variant}"
    assert rec["error"] is None
    assert res.test == rec["test_used"] and res.method == rec["method_used"]
    assert res.measure == measure
    _assert_warnings(where, res.warnings, rec["warnings"])
    assert len(res.warnings) == len(rec["warnings"]), (res.warnings, rec["warnings"])
    rel = REL_ITERATIVE if method in ITERATIVE else REL_CLOSED
    boundary = method == "REML" and 0 < rec["tau2"] <= BOUNDARY_TAU2 and res.tau2 == 0
    keys = dict(POOLED_KEYS)
    if measure not in RATIO_MEASURES:
        keys.update(RAW_KEYS)
        assert "estimate_exp" not in rec
    pins = []
    for key, attr in keys.items():
        if key not in rec and key.endswith("_exp"):
            continue
        abs_tol = None
        if boundary and key in ("tau2", "tau", "I2"):
            # I^2 = 100 tau2 / (tau2 + vt): the I^2 a tau^2 of BOUNDARY_TAU2 implies
            i2_tol = 100.0 * BOUNDARY_TAU2 / rec["vt"]
            abs_tol = {"tau2": BOUNDARY_TAU2, "tau": math.sqrt(BOUNDARY_TAU2), "I2": i2_tol}[key]
        pins.append(
            Pin(
                f"{where}.{key}",
                getattr(res, attr),
                _num(rec[key]),
                rel,
                abs_tol,
                boundary and abs_tol is not None,
            )
        )
    pins += _vector_pins(f"{where}.weights_pct", res.weights, rec["weights_pct"], rel)
    return pins


# --------------------------------------------------------------------------------------------
# rma.mh and rma.peto
# --------------------------------------------------------------------------------------------

MH_KEYS = {
    "estimate": "estimate_t",
    "se": "se",
    "stat": "stat",
    "pval": "pvalue",
    "ci_lb": "ci_low_t",
    "ci_ub": "ci_high_t",
    "estimate_exp": "estimate",
    "ci_lb_exp": "ci_low",
    "ci_ub_exp": "ci_high",
    "k": "k",
    "k_yi": "k_yi",
    "k_pos": "k_pos",
    "tau2": "tau2",
    "Q": "q",
    "Q_df": "q_df",
    "Q_pval": "q_pvalue",
    "I2": "i2",
    "H2": "h2",
    "CMH": "cmh",
    "CMH_pval": "cmh_pvalue",
    "CMH_uncorrected": "cmh_uncorrected",
    "CMH_uncorrected_pval": "cmh_uncorrected_pvalue",
    "cochran": "cochran",
    "cochran_pval": "cochran_pvalue",
    "cochran_uncorrected": "cochran_uncorrected",
    "cochran_uncorrected_pval": "cochran_uncorrected_pvalue",
    "breslow_day": "breslow_day",
    "breslow_day_pval": "breslow_day_pvalue",
    "tarone": "tarone",
    "tarone_pval": "tarone_pvalue",
}
MH_VECTORS = {
    "weights_pct": "weights",
    "per_study_yi": "per_study_yi",
    "per_study_vi": "per_study_vi",
}


def _cells(ds: str) -> tuple[list[float], ...]:
    d = BINARY[ds]
    return d["ai"], d["bi"], d["ci"], d["di"]


@functools.cache
def _mh(ds: str, measure: str) -> MantelHaenszelResult:
    return pool_mantel_haenszel(*_cells(ds), measure=measure, labels=BINARY[ds]["study"])


@functools.cache
def _peto(ds: str) -> MantelHaenszelResult:
    return pool_peto(*_cells(ds), labels=BINARY[ds]["study"])


def _table_pins(where: str, res: MantelHaenszelResult, rec: dict[str, Any]) -> list[Pin]:
    assert rec["error"] is None
    assert res.test == "z" and res.pi_low is None and res.pi_high is None and res.se_tau2 is None
    _assert_warnings(where, res.warnings, rec["warnings"])
    unknown = set(rec) - set(MH_KEYS) - set(MH_VECTORS) - {"call", "error", "warnings"}
    assert not unknown, f"{where}: reference fields not pinned: {unknown}"
    pins = [
        Pin(f"{where}.{key}", getattr(res, attr), _num(rec[key]))
        for key, attr in MH_KEYS.items()
        if key in rec
    ]
    if "estimate_exp" not in rec:  # RD: the estimate is reported on its own scale
        for key, attr in RAW_KEYS.items():
            if key in rec:
                pins.append(Pin(f"{where}.{key}[reporting]", getattr(res, attr), _num(rec[key])))
    for key, attr in MH_VECTORS.items():
        pins += _vector_pins(f"{where}.{key}", getattr(res, attr), rec[key])
    return pins


def _mh_pins(ds: str, measure: str) -> list[Pin]:
    res = _mh(ds, measure)
    assert res.method == "MH" and res.measure == measure
    return _table_pins(f"rma.mh-{ds}-{measure}", res, BINARY[ds]["rma_mh"][measure])


def _peto_pins(ds: str) -> list[Pin]:
    rec = BINARY[ds]["rma_peto"]
    if rec["error"] is not None:
        with pytest.raises(ValueError, match=r"Peto's method cannot be used: one of the two "):
            pool_peto(*_cells(ds))
        return []
    res = _peto(ds)
    assert res.method == "PETO" and res.measure == "PETO"
    return _table_pins(f"rma.peto-{ds}", res, rec)


# --------------------------------------------------------------------------------------------
# parametrization over everything the reference holds
# --------------------------------------------------------------------------------------------


def _escalc_cases() -> list[tuple[str, str, str, str]]:
    cases = []
    for kind, block in (("binary", BINARY), ("continuous", CONTINUOUS), ("prepost", PREPOST)):
        for ds, d in block.items():
            for measure, variants in d["escalc"].items():
                cases += [(kind, ds, measure, v) for v in variants]
    return cases


def _rma_cases() -> list[tuple[str, str, str]]:
    cases = []
    for kind, block in (("binary", BINARY), ("continuous", CONTINUOUS), ("prepost", PREPOST)):
        for ds, d in block.items():
            cases += [(kind, ds, measure) for measure in d["rma"]]
    cases += [("generic", ds, d["measure"]) for ds, d in GENERIC.items()]
    return cases


ESCALC_CASES = _escalc_cases()
RMA_CASES = _rma_cases()
P_ESCALC = [pytest.param(*c, id="-".join(c)) for c in ESCALC_CASES]
P_RMA = [pytest.param(*c, id="-".join(c)) for c in RMA_CASES]
P_METHOD = [pytest.param(m, id=m) for m in METHODS]
P_ITERATIVE = [pytest.param(m, id=m) for m in ITERATIVE]
P_TEST = [pytest.param(t, id=t) for t in TESTS]
P_BINARY = [pytest.param(ds, id=ds) for ds in BINARY]
P_MH = [pytest.param(ds, m, id=f"{ds}-{m}") for ds in BINARY for m in BINARY[ds]["rma_mh"]]


def test_reference_file_is_the_metafor_3_8_1_export() -> None:
    meta = REF["meta"]
    assert meta["metafor_version"] == "3.8.1"
    assert meta["R_version"].startswith("R version 4.2.2")
    assert meta["generator"] == "make_reference2.R"
    assert meta["tight_control"] == {"maxiter": 10000, "threshold": 1e-12, "tol": 1e-12}
    assert set(meta["methods"]) == set(METHODS) and set(meta["tests"]) == set(TESTS)
    assert {"dat.bcg", "dat.nielweise2007", "rodriguez2013", "edge_all_double_zero"} <= set(BINARY)
    # every escalc measure and vtype of the reference is one evidence computes
    for kind, ds, measure, variant in ESCALC_CASES:
        assert measure in ESCALC_MEASURES, (kind, ds, measure)
        if kind != "binary":
            assert variant in VTYPES[measure]


@pytest.mark.parametrize(("kind", "dataset", "measure", "variant"), P_ESCALC)
def test_escalc_matches_metafor(kind: str, dataset: str, measure: str, variant: str) -> None:
    _assert_pins(_escalc_pins(kind, dataset, measure, variant))


@pytest.mark.parametrize("dataset", [pytest.param(ds, id=ds) for ds in CONTINUOUS])
def test_hedges_exact_correction_matches_metafor(dataset: str) -> None:
    _assert_pins(_hedges_pins(dataset))


@pytest.mark.parametrize("dataset", [pytest.param(ds, id=ds) for ds in GENERIC])
def test_effect_from_ci_matches_metafor(dataset: str) -> None:
    _assert_pins(_generic_pins(dataset))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_METHOD)
@pytest.mark.parametrize(("kind", "dataset", "measure"), P_RMA)
def test_pool_effects_matches_metafor(
    kind: str, dataset: str, measure: str, method: str, test: str
) -> None:
    """Default (tight) convergence; REML and PM against metafor's ``tight_control`` fit."""
    _assert_pins(_rma_pins(kind, dataset, measure, method, test, "tight"))


@pytest.mark.parametrize("test", P_TEST)
@pytest.mark.parametrize("method", P_ITERATIVE)
@pytest.mark.parametrize(("kind", "dataset", "measure"), P_RMA)
def test_pool_effects_metafor_default_control(
    kind: str, dataset: str, measure: str, method: str, test: str
) -> None:
    """``convergence="metafor"`` reproduces what metafor prints with its default control."""
    _assert_pins(_rma_pins(kind, dataset, measure, method, test, "default"))


@pytest.mark.parametrize(("dataset", "measure"), P_MH)
def test_mantel_haenszel_matches_metafor(dataset: str, measure: str) -> None:
    _assert_pins(_mh_pins(dataset, measure))


@pytest.mark.parametrize("dataset", P_BINARY)
def test_peto_matches_metafor(dataset: str) -> None:
    _assert_pins(_peto_pins(dataset))


@functools.cache
def _all_pins() -> list[Pin]:
    pins: list[Pin] = []
    for case in ESCALC_CASES:
        pins += _escalc_pins(*case)
    for ds in CONTINUOUS:
        pins += _hedges_pins(ds)
    for ds in GENERIC:
        pins += _generic_pins(ds)
    for kind, ds, measure in RMA_CASES:
        for method in METHODS:
            for test in TESTS:
                pins += _rma_pins(kind, ds, measure, method, test, "tight")
                if method in ITERATIVE:
                    pins += _rma_pins(kind, ds, measure, method, test, "default")
    for ds in BINARY:
        for measure in BINARY[ds]["rma_mh"]:
            pins += _mh_pins(ds, measure)
        pins += _peto_pins(ds)
    return pins


def test_largest_relative_difference_vs_metafor(record_property, capsys) -> None:
    pins = _all_pins()
    _assert_pins(pins)
    diffs = [(d, p) for p in pins if (d := p.rel_diff()) is not None]
    worst, where = max(diffs, key=lambda t: t[0])
    closed = [(d, p) for d, p in diffs if p.rel == REL_CLOSED]
    worst_closed, where_closed = max(closed, key=lambda t: t[0])
    boundary = [p for p in pins if p.boundary]
    record_property("pinned_values", len(pins))
    record_property("largest_relative_difference", worst)
    record_property("largest_relative_difference_at", where.where)
    with capsys.disabled():
        print(
            f"\n[evidence contrasts vs metafor 3.8-1] {len(pins)} pinned values; largest "
            f"relative difference {worst:.3g} at {where.where} (ours {where.actual!r}, metafor "
            f"{where.expected!r}); closed forms {worst_closed:.3g} at {where_closed.where}; "
            f"{len(boundary)} REML boundary values compared absolutely"
        )
    assert worst <= REL_ITERATIVE and worst_closed <= REL_CLOSED


# --------------------------------------------------------------------------------------------
# escalc semantics, spelled out
# --------------------------------------------------------------------------------------------


def test_continuity_correction_applies_to_rd_too() -> None:
    # Rodriguez 2013, 4/8 vs 0/7: 4.5/9 - 0.5/8 = 0.4375, not 4/8 - 0/7 = 0.5
    default = effect_sizes("RD", ai=[4], n1i=[8], ci=[0], n2i=[7])
    none = effect_sizes("RD", ai=[4], n1i=[8], ci=[0], n2i=[7], to="none")
    assert default.loc[0, "yi"] == pytest.approx(0.4375, rel=1e-15)
    assert bool(default.loc[0, "adjusted"]) and not bool(none.loc[0, "adjusted"])
    assert none.loc[0, "yi"] == 0.5 and none.loc[0, "vi"] == pytest.approx(1 / 32, rel=1e-15)


def test_arm_sizes_or_non_events_give_the_same_cells() -> None:
    d = BINARY["edge_zero_cells"]
    n1 = [a + b for a, b in zip(d["ai"], d["bi"], strict=True)]
    n2 = [c + e for c, e in zip(d["ci"], d["di"], strict=True)]
    for measure in BINARY_MEASURES:
        by_cells = effect_sizes(measure, ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"])
        by_sizes = effect_sizes(measure, ai=d["ai"], n1i=n1, ci=d["ci"], n2i=n2)
        both = effect_sizes(measure, ai=d["ai"], bi=d["bi"], n1i=n1, ci=d["ci"], di=d["di"], n2i=n2)
        pd.testing.assert_frame_equal(by_cells, by_sizes)
        pd.testing.assert_frame_equal(by_cells, both)


def test_double_zero_study_is_kept_by_default_and_dropped_with_drop00() -> None:
    # edge_zero_cells: S3 has no events in either arm, S4 only events
    d = BINARY["edge_zero_cells"]
    cells = {"ai": d["ai"], "bi": d["bi"], "ci": d["ci"], "di": d["di"]}
    kept = effect_sizes("OR", **cells, labels=d["study"])
    dropped = effect_sizes("OR", **cells, drop00=True, labels=d["study"])
    assert kept["yi"].notna().all() and not kept["dropped"].any()
    assert list(dropped["dropped"]) == [False, False, True, True, False, False]
    assert dropped["yi"].isna().tolist() == [False, False, True, True, False, False]
    assert not dropped["adjusted"].iloc[2:4].any()  # a dropped study gets no correction
    assert kept.loc["S3", "yi"] == pytest.approx(
        math.log((0.5 / 15.5) / (15.5 / 15.5)) - math.log((0.5 / 16.5) / (16.5 / 16.5)), rel=1e-12
    )


def test_to_if0all_corrects_every_study_when_one_has_a_zero() -> None:
    d = BINARY["dat.damico2009"]  # one study with a zero cell
    cells = {"ai": d["ai"], "bi": d["bi"], "ci": d["ci"], "di": d["di"]}
    assert effect_sizes("OR", **cells, to="if0all")["adjusted"].all()
    assert effect_sizes("OR", **cells)["adjusted"].sum() == 1
    assert not effect_sizes("OR", **cells, add=0.0)["adjusted"].any()
    bcg = BINARY["dat.bcg"]  # no zero cells: nothing to correct
    bcg_cells = {"ai": bcg["ai"], "bi": bcg["bi"], "ci": bcg["ci"], "di": bcg["di"]}
    assert not effect_sizes("OR", **bcg_cells, to="if0all")["adjusted"].any()


def test_zero_cells_without_correction_are_nan_and_pooling_omits_them() -> None:
    d = BINARY["dat.nielweise2007"]
    frame = effect_sizes(
        "OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], to="none", labels=d["study"]
    )
    missing = frame.index[frame["yi"].isna()].tolist()
    assert len(missing) == 6 and frame.loc[missing, "vi"].isna().all()
    res = pool_effects(frame["yi"], frame["vi"], measure="OR", method="DL", labels=d["study"])
    rest = frame.drop(index=missing)
    alone = pool_effects(rest["yi"], rest["vi"], measure="OR", method="DL", labels=rest.index)
    assert res.k == 12 and res.labels == alone.labels
    assert res.estimate == alone.estimate and res.tau2 == alone.tau2 and res.q == alone.q
    assert len(res.warnings) == 1
    assert res.warnings[0].startswith("6 studies with a missing yi or vi omitted")
    assert all(name in res.warnings[0] for name in missing)


def test_ratio_of_means_follows_metafor_for_non_positive_means() -> None:
    # metafor: log(m1/m2) is NA unless m1/m2 > 0; two negative means give log of their ratio
    frame = effect_sizes(
        "ROM",
        m1i=[-5, -5, 0, 5],
        m2i=[-4, 4, 4, 0],
        sd1i=[1, 1, 1, 1],
        sd2i=[1, 1, 1, 1],
        n1i=[10, 10, 10, 10],
        n2i=[10, 10, 10, 10],
    )
    assert frame.loc[0, "yi"] == pytest.approx(math.log(1.25), rel=1e-15)
    assert frame.loc[0, "vi"] == pytest.approx(1 / 250 + 1 / 160, rel=1e-15)  # R: 0.0103
    assert frame.loc[1:, ["yi", "vi", "sei", "estimate"]].isna().all().all()


def test_standardized_change_needs_more_than_two_participants() -> None:
    # c(m) is undefined for m = n - 1 <= 1: metafor gives NA for ni = 2
    frame = effect_sizes(
        "SMCC", m1i=[5, 5], m2i=[4, 4], sd1i=[1, 1], sd2i=[1, 1], ni=[2, 3], ri=0.5
    )
    assert math.isnan(frame.loc[0, "yi"]) and math.isfinite(frame.loc[1, "yi"])


def test_one_assumed_correlation_serves_every_study() -> None:
    d = PREPOST["constructed_r05"]
    args = {"m1i": d["m_post"], "m2i": d["m_pre"], "sd1i": d["sd_pre"], "ni": d["ni"]}
    for measure in CHANGE_MEASURES:
        extra = {} if measure == "SMCR" else {"sd2i": d["sd_post"]}
        scalar = effect_sizes(measure, **args, **extra, ri=0.5)
        vector = effect_sizes(measure, **args, **extra, ri=d["ri"])
        pd.testing.assert_frame_equal(scalar, vector)
    # SMCR standardizes by the pre-test SD only: sd2i may be given and changes nothing
    with_sd2 = effect_sizes("SMCR", **args, sd2i=d["sd_post"], ri=0.5)
    pd.testing.assert_frame_equal(with_sd2, effect_sizes("SMCR", **args, ri=0.5))


def test_hedges_exact_and_approximate_factors_differ_slightly() -> None:
    exact, approx = hedges_correction([22])[0], hedges_correction([22], exact=False)[0]
    assert approx == pytest.approx(1 - 3 / 87, rel=1e-15)
    assert 5e-5 < abs(exact - approx) < 1e-4
    assert np.isnan(hedges_correction([1, 0.5])).all()


def test_effect_sizes_frame_layout() -> None:
    d = BINARY["ketamine_rct"]
    frame = effect_sizes("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], labels=d["study"])
    assert list(frame.columns) == [
        "yi",
        "vi",
        "sei",
        "ci_low_t",
        "ci_high_t",
        "estimate",
        "ci_low",
        "ci_high",
        "ni",
        "adjusted",
        "dropped",
    ]
    assert frame.index.name == "study" and list(frame.index) == d["study"]
    assert frame["estimate"].tolist() == pytest.approx(np.exp(frame["yi"]).tolist(), rel=1e-15)
    assert frame["ni"].tolist() == [15, 30]
    md = _continuous_escalc("edge_two_studies", "MD", "LS")
    assert "adjusted" not in md.columns and md["estimate"].equals(md["yi"])
    r90 = effect_sizes("OR", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], level=0.9)
    half = r90["ci_high_t"] - r90["yi"]
    assert half.tolist() == pytest.approx((1.6448536269514722 * r90["sei"]).tolist(), rel=1e-12)


def test_effect_sizes_accept_names_case_insensitively() -> None:
    d = BINARY["dat.hine1989"]
    a = effect_sizes("rd", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], vtype="ub", to="ALL")
    b = effect_sizes("RD", ai=d["ai"], bi=d["bi"], ci=d["ci"], di=d["di"], vtype="UB", to="all")
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------------------------
# pooled effects: reporting scale, subgroups, leave-one-out
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("measure", [pytest.param(m, id=m) for m in EFFECT_MEASURES])
def test_reporting_scale_follows_the_measure(measure: str) -> None:
    res = pool_effects([0.2, 0.5, -0.1], [0.04, 0.09, 0.05], measure=measure, method="DL")
    values = ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")
    for name in values:
        t = getattr(res, f"{name}_t" if name != "estimate" else "estimate_t")
        expected = math.exp(t) if measure in RATIO_MEASURES else t
        assert getattr(res, name) == pytest.approx(expected, rel=1e-15)
    assert (measure in RATIO_MEASURES) != (measure in DIFFERENCE_MEASURES)
    assert res.measure == measure and res.n_total is None


def test_whittaker_2021_subgroups_pooled_arithmetic() -> None:
    # The reference's sample: DL pool of the two reported ORs (not independent studies; the
    # arithmetic only): OR 6.523 [0.492, 86.49], tau2 = 2.782, I2 = 78.80
    frame = effect_from_ci([28.94, 2.03], [3.45, 0.67], [242.57, 6.15], measure="OR")
    assert frame["yi"].round(6).tolist() == [3.365225, 0.708036]
    assert frame["sei"].round(6).tolist() == [1.084948, 0.565554]
    res = pool_effects(frame["yi"], frame["vi"], measure="OR", method="DL")
    assert (round(res.estimate, 3), round(res.ci_low, 3), round(res.ci_high, 2)) == (
        6.523,
        0.492,
        86.49,
    )
    assert (round(res.tau2, 3), round(res.i2, 2)) == (2.782, 78.80)


# dat.bcg log risk ratios by allocation; values from R 4.2.2 / metafor 3.8-1:
#   dat <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
#   rma(yi, vi, mods=~factor(alloc), data=dat, method=..., test=..., control=<tight>)
#   leave1out(rma(yi, vi, data=dat, method="DL"), transf=exp)
BCG_ALLOC = [
    "random", "random", "random", "random", "alternate", "alternate", "random", "random",
    "random", "systematic", "systematic", "systematic", "systematic",
]  # fmt: skip
BCG_REML_KNHA = {
    "qm": 0.9662208448133025,
    "qm_pvalue": 0.41338374572166542,
    "tau2_resid": 0.36150366432389963,
    "coef": [-0.517955777155299946, -0.447818401390524534, 0.089038216231707976],
    "coef_se": [0.42194705859413956, 0.49331857173707505, 0.53560366185488928],
}
BCG_DL = {
    "qm": 1.4349124519223539,
    "qm_pvalue": 0.48799201988314167,
    "tau2_resid": 0.5595687501277028,
    "qe": 132.36763826270754,
    "group_estimate": [0.59897815206450911, 0.37138148059962744, 0.66477985219957081],
    "group_ci_low": [0.20699303107082512, 0.19909114560801944, 0.29521298502443710],
    "separate_estimate": [0.58228633840636523, 0.36635174543401228, 0.64445738488079796],
    "separate_tau2": [0.13257703987809291, 0.76306275437095272, 0.28497068180746316],
}
BCG_LOO_DL = {
    "estimate": [
        0.49404671651692211, 0.51969359831234463, 0.50417000881907492, 0.53864590569740622,
        0.46578286809342212, 0.49030514509729212, 0.51908172114640461, 0.45380549409124471,
        0.47746550785153286, 0.52069792461408781, 0.46734189771317963, 0.46766043235991772,
        0.45889964092203106,
    ],
    "ci_low": [
        0.34429766354195335, 0.36338789634525115, 0.35237742369276631, 0.39052074648750540,
        0.32007593499804937, 0.32783136570647420, 0.36309215559122893, 0.32964906902776936,
        0.32812477123062350, 0.36357802147646462, 0.31192700105310328, 0.32710202487786416,
        0.31689094190267131,
    ],
    "tau2": [
        0.31217149904067859, 0.29997459082210959, 0.30852706980140088, 0.21673355794581378,
        0.32620888271247461, 0.38291902183230342, 0.30057127632259167, 0.21088523257486974,
        0.32660926031825072, 0.29464487852775811, 0.38780919896360988, 0.30938044631726364,
        0.31770327992381425,
    ],
}  # fmt: skip


def _bcg_rr() -> pd.DataFrame:
    return _binary_escalc("dat.bcg", "RR", "default")


def test_subgroup_effects_match_metafor_moderator_model() -> None:
    frame = _bcg_rr()
    res = subgroup_effects(
        frame["yi"], frame["vi"], BCG_ALLOC, measure="RR", method="REML", test="knha"
    )
    assert res.groups == ("alternate", "random", "systematic") and res.qm_df2 == 10
    pins = [
        Pin(f"bcg-REML-knha.{k}", getattr(res, k), v, REL_ITERATIVE)
        for k, v in BCG_REML_KNHA.items()
        if not isinstance(v, list)
    ]
    for key in ("coef", "coef_se"):
        pins += _vector_pins(
            f"bcg-REML-knha.{key}", getattr(res, key), BCG_REML_KNHA[key], REL_ITERATIVE
        )
    dl = subgroup_effects(frame["yi"], frame["vi"], BCG_ALLOC, measure="RR", method="DL")
    for key in ("qm", "qm_pvalue", "tau2_resid", "qe"):
        pins.append(Pin(f"bcg-DL.{key}", getattr(dl, key), BCG_DL[key]))
    pins += _vector_pins("bcg-DL.group_estimate", dl.group_estimate, BCG_DL["group_estimate"])
    pins += _vector_pins("bcg-DL.group_ci_low", dl.group_ci_low, BCG_DL["group_ci_low"])
    separate = [dl.fits[g] for g in dl.groups]
    pins += _vector_pins(
        "bcg-DL.separate", [f.estimate for f in separate], BCG_DL["separate_estimate"]
    )
    pins += _vector_pins(
        "bcg-DL.separate_tau2", [f.tau2 for f in separate], BCG_DL["separate_tau2"]
    )
    _assert_pins(pins)


def test_subgroup_effects_separate_fits_equal_pooling_each_group() -> None:
    frame = _bcg_rr()
    labels = BINARY["dat.bcg"]["study"]
    res = subgroup_effects(
        frame["yi"], frame["vi"], BCG_ALLOC, measure="RR", labels=labels, ni=frame["ni"]
    )
    for group in res.groups:
        idx = [i for i, g in enumerate(BCG_ALLOC) if g == group]
        alone = pool_effects(
            frame["yi"].iloc[idx],
            frame["vi"].iloc[idx],
            measure="RR",
            labels=[labels[i] for i in idx],
            n_total=int(frame["ni"].iloc[idx].sum()),
        )
        assert alone == res.fits[group]
    # numpy's vectorised exp may differ from math.exp in the last place (AVX-512)
    back = tuple(math.exp(v) for v in res.group_estimate_t)
    assert res.group_estimate == pytest.approx(back, rel=1e-15)


def test_subgroup_effects_omit_missing_effects_first() -> None:
    yi = [0.1, None, 0.3, 0.5, math.nan, 0.2]
    vi = [0.04, 0.05, 0.06, 0.05, 0.04, 0.03]
    groups = ["a", "b", "a", "b", "b", "a"]
    res = subgroup_effects(yi, vi, groups, measure="MD", method="DL", labels=list("uvwxyz"))
    assert res.k == 4 and res.fits["b"].labels == ("x",) and res.fits["a"].k == 3
    assert res.warnings[0].startswith("2 studies with a missing yi or vi omitted")
    assert "v, y" in res.warnings[0]
    with pytest.raises(ValueError, match=r"at least 2 distinct groups; got 1"):
        subgroup_effects(yi, vi, ["a", "b", "a", "a", "b", "a"], measure="MD", labels=None)


def test_leave_one_out_effects_match_metafor() -> None:
    frame = _bcg_rr()
    loo = leave_one_out_effects(
        frame["yi"], frame["vi"], measure="RR", method="DL", labels=BINARY["dat.bcg"]["study"]
    )
    assert list(loo["omitted"]) == BINARY["dat.bcg"]["study"]
    pins = []
    for key, values in BCG_LOO_DL.items():
        pins += _vector_pins(f"leave1out-bcg-RR-DL.{key}", loo[key], values)
    _assert_pins(pins)


@pytest.mark.parametrize("method", P_METHOD)
def test_leave_one_out_effects_rows_equal_pooling_the_rest(method: str) -> None:
    frame = _continuous_escalc("dat.normand1999", "SMD", "LS")
    loo = leave_one_out_effects(frame["yi"], frame["vi"], measure="SMD", method=method, test="knha")
    for i in (0, 5):
        rest = frame.drop(index=frame.index[i])
        res = pool_effects(rest["yi"], rest["vi"], measure="SMD", method=method, test="knha")
        row = loo.iloc[i]
        for col in ("estimate", "ci_low", "estimate_t", "se", "tau2", "i2", "q"):
            assert row[col] == pytest.approx(getattr(res, col), rel=1e-12, abs=1e-15), col


def test_leave_one_out_effects_name_omitted_studies_in_every_row() -> None:
    loo = leave_one_out_effects(
        [0.1, None, 0.3, 0.5], [0.04, 0.05, 0.06, 0.05], measure="GEN", labels=["a", "b", "c", "d"]
    )
    assert list(loo["omitted"]) == ["a", "c", "d"]
    assert loo["warnings"].str.contains("omitted from model fitting, as metafor does: b").all()
    with pytest.raises(ValueError, match=r"needs at least 2 studies with yi and vi; got 1"):
        leave_one_out_effects([0.1, None], [0.04, 0.05], measure="MD")


def test_pool_effects_single_study_falls_back_to_z() -> None:
    frame = _binary_escalc("rodriguez2013", "OR", "default")
    res = pool_effects(frame["yi"], frame["vi"], measure="OR", method="REML", test="knha")
    assert res.test == "z" and res.k == 1 and res.q_df == 0 and res.vt == 0.0
    assert res.estimate == pytest.approx(15.0, rel=1e-12)
    assert any('used test="z"' in w for w in res.warnings)


# --------------------------------------------------------------------------------------------
# Mantel-Haenszel and Peto: behaviour
# --------------------------------------------------------------------------------------------


def test_mantel_haenszel_not_estimable_is_nan_with_a_warning() -> None:
    res = pool_mantel_haenszel([4], [4], [0], [7], measure="OR", labels=["Rodriguez 2013"])
    assert math.isnan(res.estimate) and math.isnan(res.se) and math.isnan(res.pvalue)
    assert res.k_pos == 0 and res.breslow_day is None and res.tarone is None
    assert res.cmh == pytest.approx(2.3877840909090913, rel=1e-12)  # defined without the OR
    assert len(res.warnings) == 1 and "not estimable" in res.warnings[0]
    rr = pool_mantel_haenszel([4], [4], [0], [7], measure="RR")
    assert math.isnan(rr.estimate) and "no events in arm 2" in rr.warnings[0]
    rd = pool_mantel_haenszel([4], [4], [0], [7], measure="RD")
    assert rd.estimate == 0.5 and rd.warnings == () and rd.cmh is None and rd.k_pos is None
    frame = rd.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "k_yi"] == 1


def test_mantel_haenszel_with_every_study_double_zero() -> None:
    cells = _cells("edge_all_double_zero")
    rd = pool_mantel_haenszel(*cells, measure="RD")
    assert rd.estimate == 0.0 and rd.se == 0.0 and math.isnan(rd.stat)
    assert rd.k_yi == 0 and rd.q == 0.0 and rd.q_df is None
    assert "3 tables without events" in rd.warnings[0]
    for measure in ("OR", "RR"):
        assert math.isnan(pool_mantel_haenszel(*cells, measure=measure).estimate)


def test_table_results_are_frozen_pooled_results() -> None:
    res = _mh("dat.bcg", "OR")
    assert isinstance(res, PooledResult) and isinstance(res, MantelHaenszelResult)
    assert (res.tau2, res.tau, res.method, res.n_total) == (0.0, 0.0, "MH", 357347)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.cmh = 0.0  # type: ignore[misc]
    out = res.to_dict()
    assert list(out)[-1] == "warnings"
    assert {"cmh", "cmh_pvalue", "tarone", "tarone_pvalue", "k_yi", "k_pos"} <= set(out)
    assert res.weights_frame()["weight"].sum() == pytest.approx(100.0, rel=1e-12)
    peto = _peto("dat.bcg")
    assert (
        peto.cmh is None and peto.k_pos == 13 and peto.estimate == pytest.approx(0.62223, abs=5e-6)
    )


def test_peto_without_any_event_is_an_error_like_metafor() -> None:
    with pytest.raises(ValueError, match=r"Peto's method cannot be used: one of the two outcomes"):
        pool_peto([0, 0], [10, 12], [0, 0], [11, 9])
    with pytest.raises(ValueError, match=r"Peto's method cannot be used"):
        pool_peto([5, 6], [0, 0], [4, 7], [0, 0])  # only events


# --------------------------------------------------------------------------------------------
# conversions of reported summaries (values computed in R 4.2.2 from the published formulas)
# --------------------------------------------------------------------------------------------


def test_sd_from_se() -> None:
    assert sd_from_se([1.5, 0.8], [25, 64]).tolist() == [7.5, 6.4]
    assert sd_from_se(2.0, [4, 9]).tolist() == [4.0, 6.0]  # a scalar serves every study


def test_sd_from_ci_uses_t_for_small_samples() -> None:
    # R: sqrt(30) * (3.1 - 1.2) / (2 * qt(0.975, 29)); sqrt(80) * 1.9 / (2 * qnorm(0.975));
    #    sqrt(30) * 1.9 / (2 * qt(0.95, 29))
    assert sd_from_ci(1.2, 3.1, 30)[0] == pytest.approx(2.5441467251927601, rel=1e-12)
    assert sd_from_ci(1.2, 3.1, 80)[0] == pytest.approx(4.3353134963310129, rel=1e-12)
    assert sd_from_ci(1.2, 3.1, 30, level=0.9)[0] == pytest.approx(3.0623750991206404, rel=1e-12)
    # distribution= overrides the n < 60 rule of the Cochrane Handbook
    z30 = math.sqrt(30) * 1.9 / (2 * 1.959963984540054)
    assert sd_from_ci(1.2, 3.1, 30, distribution="z")[0] == pytest.approx(z30, rel=1e-12)
    t80 = math.sqrt(80) * 1.9 / (2 * 1.9904502102301198)  # R: qt(0.975, 79)
    assert sd_from_ci(1.2, 3.1, 80, distribution="t")[0] == pytest.approx(t80, rel=1e-12)


def test_mean_sd_from_median_in_each_scenario() -> None:
    # n = 50, median 18, range 2 to 41, quartiles 12 and 25; Luo et al. (2018) means and
    # Wan et al. (2014) SDs evaluated in R:
    #   xi <- 2*qnorm((n-0.375)/(n+0.25)); eta <- 2*qnorm((0.75*n-0.125)/(n+0.25))
    #   S1: w <- 4/(4+n^0.75); w*(a+b)/2+(1-w)*m; (b-a)/xi
    #   S2: w1 <- 2.2/(2.2+n^0.75); w2 <- 0.7-0.72/n^0.55; ...; (b-a)/(2*xi)+(q3-q1)/(2*eta)
    #   S3: w <- 0.7+0.39/n; w*(q1+q3)/2+(1-w)*m; (q3-q1)/eta
    out = mean_sd_from_median(
        [18, 18, 18],
        50,
        q1=[None, 12, 12],
        q3=[None, 25, 25],
        minimum=[2, 2, None],
        maximum=[41, 41, math.nan],
        labels=["range", "five", "iqr"],
    )
    assert out["scenario"].tolist() == ["S1", "S2", "S3"]
    expected_mean = [18.613953887862909, 18.674747297413752, 18.353900000000003]
    expected_sd = [8.6924396999753135, 9.3076996253382269, 9.9229595507011386]
    assert out["mean"].tolist() == pytest.approx(expected_mean, rel=1e-12)
    assert out["sd"].tolist() == pytest.approx(expected_sd, rel=1e-12)
    assert list(out.index) == ["range", "five", "iqr"]


# --------------------------------------------------------------------------------------------
# invalid input: a clear ValueError naming the study, the argument and the value
# --------------------------------------------------------------------------------------------

CELLS = {"ai": [4, 10], "bi": [4, 5], "ci": [0, 3], "di": [7, 12]}
MEANS = {
    "m1i": [10.2, 8.9],
    "sd1i": [3.1, 2.7],
    "n1i": [15, 40],
    "m2i": [12.6, 9.4],
    "sd2i": [3.4, 2.9],
    "n2i": [14, 38],
}
CHANGE = {
    "m1i": [17.6, 21.9],
    "m2i": [24.1, 30.5],
    "sd1i": [5.2, 6.8],
    "sd2i": [6, 7.1],
    "ni": [18, 42],
    "ri": 0.5,
}
LABELS = ["Rodriguez 2013", "Feder 2021"]


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


BAD_EFFECT_SIZES = [
    pytest.param(
        "OR",
        _with(CELLS, ai=[4, -1]),
        r"ai must be a non-negative count; got ai=-1 for study 'Feder 2021' \(position 1\)",
        id="negative-cell",
    ),
    pytest.param(
        "RR",
        _with(CELLS, bi=None, n1i=[3, 15]),
        r"ai must not exceed n1i; got ai=4 > n1i=3 for study 'Rodriguez 2013' \(position 0\)",
        id="events-exceed-n",
    ),
    pytest.param(
        "RR",
        _with(CELLS, n2i=[7, 16]),
        r"n2i must equal ci \+ di; got n2i=16 but ci=3 and di=12 for study 'Feder 2021'",
        id="cells-inconsistent-with-n",
    ),
    pytest.param(
        "RD",
        _with(CELLS, ai=[0, 10], bi=[0, 5]),
        r"each arm needs at least one participant .*; got ai=0 and bi=0 for study 'Rodriguez",
        id="empty-arm",
    ),
    pytest.param("OR", _with(CELLS, di=None), r"measure 'OR' needs di or n2i", id="no-n2"),
    pytest.param("OR", _with(CELLS, ci=None), r"measure 'OR' needs ci", id="missing-arg"),
    pytest.param(
        "OR",
        _with(CELLS, ai=[4, None]),
        r"ai is missing for study 'Feder 2021' \(position 1\)",
        id="missing-value",
    ),
    pytest.param(
        "OR", _with(CELLS, ai=[4, "x"]), r"ai must contain numbers; got ai='x'", id="string"
    ),
    pytest.param(
        "OR", _with(CELLS, ai=[4, math.inf]), r"ai must be finite; got ai=inf", id="infinite"
    ),
    pytest.param(
        "OR",
        _with(CELLS, m1i=[1, 2]),
        r"m1i is not used by measure 'OR' \(it takes ai, ci, bi, di, n1i, n2i\)",
        id="unused-arg",
    ),
    pytest.param(
        "OR",
        _with(CELLS, di=[7]),
        r"the data arguments must have the same length; got ai: 2, bi: 2, ci: 2, di: 1",
        id="lengths",
    ),
    pytest.param("OR", _with(CELLS, ai=4), r"ai must be a 1-D sequence", id="scalar-cell"),
    pytest.param(
        "SMD",
        _with(MEANS, sd2i=[3.4, 0]),
        r"sd2i must be positive; got sd2i=0 for study 'Feder 2021' \(position 1\)",
        id="sd-zero",
    ),
    pytest.param(
        "MD", _with(MEANS, sd1i=[-3.1, 2.7]), r"sd1i must be positive; got sd1i=-3.1", id="sd-neg"
    ),
    pytest.param(
        "SMDH",
        _with(MEANS, n1i=[1, 40]),
        r"n1i must be at least 2 \(a standard deviation needs 2 participants\); got n1i=1 for "
        r"study 'Rodriguez 2013' \(position 0\)",
        id="n-below-2",
    ),
    pytest.param(
        "MC",
        _with(CHANGE, ri=[0.5, 1.2]),
        r"ri must lie in \[-1, 1\] \(a correlation\); got ri=1.2 for study 'Feder 2021'",
        id="ri-out-of-range",
    ),
    pytest.param(
        "SMCC", _with(CHANGE, ni=[1, 42]), r"ni must be at least 2 .*; got ni=1", id="ni-below-2"
    ),
    pytest.param("SMCR", _with(CHANGE, ri=None), r"measure 'SMCR' needs ri", id="no-ri"),
    pytest.param(
        "HR", CELLS, r"measure 'HR' cannot be computed from arm data; use effect_from_ci", id="hr"
    ),
    pytest.param(
        "PLO",
        CELLS,
        r"measure must be one of 'RR', 'OR', 'RD', 'PETO', 'MD', .*; got 'PLO'",
        id="measure",
    ),
    pytest.param(
        "MD",
        _with(MEANS, vtype="UB2"),
        r"vtype must be one of 'LS', 'UB', 'HO'; got 'UB2'",
        id="vtype",
    ),
    pytest.param("OR", _with(CELLS, vtype="AV"), r"vtype must be one of 'LS'; got 'AV'", id="vt"),
    pytest.param(
        "OR",
        _with(CELLS, to="some"),
        r"to must be one of 'only0', 'all', 'if0all', 'none'",
        id="to",
    ),
    pytest.param("OR", _with(CELLS, add=-0.5), r"add must be a finite number >= 0", id="add"),
    pytest.param("OR", _with(CELLS, drop00="yes"), r"drop00 must be True or False", id="drop00"),
    pytest.param("OR", _with(CELLS, level=95), r"level must be a number strictly", id="level"),
    pytest.param(
        "OR",
        _with(CELLS, labels=["only one"]),
        r"labels must have one entry per study \(2\); got 1 labels",
        id="labels",
    ),
]


@pytest.mark.parametrize(("measure", "kwargs", "message"), BAD_EFFECT_SIZES)
def test_effect_sizes_reject_invalid_input(measure: str, kwargs: dict, message: str) -> None:
    kwargs = dict(kwargs)
    kwargs.setdefault("labels", LABELS)
    if kwargs["labels"] is None:
        del kwargs["labels"]
    with pytest.raises(ValueError, match=message):
        effect_sizes(measure, **kwargs)


def test_error_without_labels_names_the_position() -> None:
    with pytest.raises(ValueError, match=r"got sd1i=0 for study at position 1$"):
        effect_sizes("MD", **_with(MEANS, sd1i=[3.1, 0]))


BAD_EFFECT_FROM_CI = [
    pytest.param(
        ([2.0, 1.5], [1.2, 1.6], [3.3, 2.9], "OR"),
        r"the confidence interval must contain its estimate; got estimate=1.5 outside "
        r"\[1.6, 2.9\] for study 'Feder 2021' \(position 1\)",
        id="estimate-outside-ci",
    ),
    pytest.param(
        ([2.0, 1.5], [1.2, 0], [3.3, 2.9], "RR"),
        r"ci_low must be positive for the ratio measure RR; got ci_low=0 for study 'Feder 2021'",
        id="ratio-ci-zero",
    ),
    pytest.param(
        ([-2.0, 1.5], [-3.2, 1.1], [-1.3, 2.9], "HR"),
        r"estimate must be positive for the ratio measure HR; got estimate=-2 for study "
        r"'Rodriguez 2013'",
        id="ratio-negative",
    ),
    pytest.param(
        ([2.0, 1.5], [3.3, 1.1], [1.2, 2.9], "MD"),
        r"ci_low must be below ci_high; got ci_low=3.3, ci_high=1.2 for study 'Rodriguez 2013'",
        id="reversed-ci",
    ),
    pytest.param(
        ([2.0, None], [1.2, 1.1], [3.3, 2.9], "SMD"),
        r"estimate is missing for study 'Feder 2021'",
        id="missing",
    ),
    pytest.param(
        ([2.0], [1.2, 1.1], [3.3, 2.9], "MD"),
        r"estimate, ci_low and ci_high must have the same length; got estimate: 1, ci_low: 2",
        id="lengths",
    ),
    pytest.param(
        ([0.2, 0.3], [0.1, 0.2], [0.3, 0.4], "PLO"),
        r"measure must be one of 'RR', .*'GEN'; got 'PLO'",
        id="measure",
    ),
]


@pytest.mark.parametrize(("args", "message"), BAD_EFFECT_FROM_CI)
def test_effect_from_ci_rejects_invalid_input(args: tuple, message: str) -> None:
    est, lo, hi, measure = args
    labels = LABELS[: len(est)] if len(est) == len(lo) else None
    with pytest.raises(ValueError, match=message):
        effect_from_ci(est, lo, hi, measure=measure, labels=labels)


BAD_POOL_EFFECTS = [
    pytest.param(
        {"vi": [0.1, 0.0]},
        r"vi must be positive \(a sampling variance\); got vi=0.0 for study 'Feder 2021'",
        id="vi-zero",
    ),
    pytest.param({"vi": [0.1, -0.2]}, r"vi must be positive .*; got vi=-0.2", id="vi-negative"),
    pytest.param(
        {"yi": [None, math.nan]},
        r"no study has both yi and vi, nothing to pool; got 2 studies",
        id="all-missing",
    ),
    pytest.param(
        {"yi": [0.1, 0.2, 0.3]},
        r"yi and vi must have the same length; got 3 yi and 2 vi values",
        id="lengths",
    ),
    pytest.param({"yi": [0.1, "a"]}, r"yi must contain numbers; got 'a' at position 1", id="str"),
    pytest.param(
        {"measure": "PFT"},
        r"measure 'PFT' needs ni \(the studies' sample sizes\) for its back-transform",
        id="pft-without-ni",
    ),
    pytest.param({"measure": "SMD2"}, r"measure must be one of .*; got 'SMD2'", id="measure"),
    pytest.param({"method": "ML"}, r"method must be one of .*; got 'ML'", id="method"),
    pytest.param({"n_total": -3}, r"n_total must be a non-negative whole number", id="n_total"),
    pytest.param({"n_total": 10.5}, r"n_total must be a non-negative whole number", id="n-float"),
]


def test_pool_effects_of_transformed_proportions_equals_pool_proportions() -> None:
    events, totals = [10, 4, 18, 7], [12, 8, 20, 15]
    for measure in ("PLO", "PFT", "PAS", "PR"):
        direct = pool_proportions(events, totals, measure=measure, method="DL")
        yi, vi = escalc(events, totals, measure=measure)
        via = pool_effects(yi, vi, measure=measure, method="DL", ni=totals, n_total=sum(totals))
        for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2"):
            assert getattr(via, name) == pytest.approx(getattr(direct, name), rel=1e-12), name


@pytest.mark.parametrize(("changes", "message"), BAD_POOL_EFFECTS)
def test_pool_effects_rejects_invalid_input(changes: dict, message: str) -> None:
    kwargs: dict[str, Any] = {"yi": [0.1, 0.4], "vi": [0.1, 0.2], "measure": "OR"}
    kwargs.update(changes)
    with pytest.raises(ValueError, match=message):
        pool_effects(kwargs.pop("yi"), kwargs.pop("vi"), labels=LABELS, **kwargs)


BAD_TABLES = [
    pytest.param(
        {"ai": [4, -10]},
        r"ai must be a non-negative count; got ai=-10 for study 'Feder 2021' \(position 1\)",
        id="negative",
    ),
    pytest.param(
        {"ci": [0, 0], "di": [0, 12]},
        r"each arm needs at least one participant \(ci \+ di > 0\); got ci=0 and di=0 for "
        r"study 'Rodriguez 2013'",
        id="empty-arm",
    ),
    pytest.param({"di": [7]}, r"ai, bi, ci and di must have the same length", id="lengths"),
    pytest.param({"measure": "SMD"}, r"measure must be one of 'OR', 'RR', 'RD'", id="measure"),
    pytest.param({"level": 0}, r"level must be a number strictly between 0 and 1", id="level"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_TABLES)
def test_table_pooling_rejects_invalid_input(changes: dict, message: str) -> None:
    kwargs: dict[str, Any] = {**CELLS, "labels": LABELS}
    kwargs.update(changes)
    cells = [kwargs.pop(k) for k in ("ai", "bi", "ci", "di")]
    with pytest.raises(ValueError, match=message):
        pool_mantel_haenszel(*cells, **kwargs)
    if "measure" not in kwargs:
        with pytest.raises(ValueError, match=message):
            pool_peto(*cells, **kwargs)


BAD_CONVERSIONS = [
    pytest.param(
        lambda: sd_from_se([1.0, 0.0], [10, 10]),
        r"se must be positive; got se=0 for study at position 1",
        id="se",
    ),
    pytest.param(lambda: sd_from_se([1.0], [1]), r"n must be at least 2; got n=1", id="se-n"),
    pytest.param(lambda: sd_from_ci([3.0], [1.0], [10]), r"ci_low must be below ci_high", id="ci"),
    pytest.param(
        lambda: sd_from_ci([1.0], [3.0], [10], distribution="normal"),
        r"distribution must be one of 'auto', 't', 'z'; got 'normal'",
        id="distribution",
    ),
    pytest.param(
        lambda: mean_sd_from_median([18], [50], labels=["X"]),
        r"a median needs both quartiles \(q1, q3\) and/or both range limits .* for study 'X'",
        id="nothing-but-median",
    ),
    pytest.param(
        lambda: mean_sd_from_median([18], [50], q1=[12]),
        r"q1 and q3 go together",
        id="half-iqr",
    ),
    pytest.param(
        lambda: mean_sd_from_median([18], [50], q1=[20], q3=[25]),
        r"ordered minimum <= q1 <= median <= q3 <= maximum; got minimum=nan, q1=20, median=18",
        id="order",
    ),
    pytest.param(
        lambda: mean_sd_from_median([18], [50], minimum=[18], maximum=[18]),
        r"maximum must exceed minimum",
        id="zero-range",
    ),
    pytest.param(
        lambda: mean_sd_from_median([18, 20], [50, 1], q1=12, q3=25),
        r"n must be at least 2; got n=1 for study at position 1",
        id="median-n",
    ),
]


@pytest.mark.parametrize(("call", "message"), BAD_CONVERSIONS)
def test_conversions_reject_invalid_input(call: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------------------------
# inputs are never mutated; containers do not matter
# --------------------------------------------------------------------------------------------

INPUT_KINDS = [
    pytest.param(lambda v: list(v), id="list"),
    pytest.param(lambda v: tuple(v), id="tuple"),
    pytest.param(lambda v: np.array(v, dtype=float), id="float-array"),
    pytest.param(lambda v: pd.Series(v, index=range(100, 100 + len(v))), id="series"),
]


@pytest.mark.parametrize("kind", INPUT_KINDS)
def test_inputs_are_not_mutated_and_container_does_not_matter(kind: Any) -> None:
    d = BINARY["edge_zero_cells"]
    cells = {key: kind(d[key]) for key in ("ai", "bi", "ci", "di")}
    before = copy.deepcopy(cells)
    frame = effect_sizes("OR", **cells, to="all")
    reference = effect_sizes("OR", **{key: d[key] for key in cells}, to="all")
    pd.testing.assert_frame_equal(frame, reference)
    res = pool_effects(kind(frame["yi"].tolist()), kind(frame["vi"].tolist()), measure="OR")
    mh = pool_mantel_haenszel(*cells.values())
    mh_ref = pool_mantel_haenszel(*(d[k] for k in ("ai", "bi", "ci", "di")))
    assert mh.to_dict() == mh_ref.to_dict() and mh.weights == mh_ref.weights
    np.testing.assert_array_equal(mh.per_study_yi, mh_ref.per_study_yi)  # NaN == NaN here
    for key, value in cells.items():
        if isinstance(value, (pd.Series, np.ndarray)):
            assert np.array_equal(np.asarray(value), np.asarray(before[key]))
        else:
            assert value == before[key]
    assert res.k == 6
    frame.loc[:, "yi"] = 0.0  # the output is a new object
    assert effect_sizes("OR", **cells, to="all")["yi"].ne(0.0).any()


def test_continuous_measure_sets_are_consistent() -> None:
    assert set(BINARY_MEASURES + CONTINUOUS_MEASURES + CHANGE_MEASURES) == set(ESCALC_MEASURES)
    assert set(ESCALC_MEASURES) | {"HR", "GEN"} == set(EFFECT_MEASURES)
    assert set(VTYPES) == set(ESCALC_MEASURES) and all(v[0] == "LS" for v in VTYPES.values())


def test_contrast_functions_are_exported_lazily() -> None:
    import evidence
    import evidence.effects
    import evidence.mantelhaenszel
    import evidence.stats

    for name, module in (
        ("effect_sizes", evidence.effects),
        ("effect_from_ci", evidence.effects),
        ("mean_sd_from_median", evidence.effects),
        ("pool_effects", evidence.stats),
        ("subgroup_effects", evidence.stats),
        ("leave_one_out_effects", evidence.stats),
        ("RATIO_MEASURES", evidence.stats),
        ("pool_mantel_haenszel", evidence.mantelhaenszel),
        ("pool_peto", evidence.mantelhaenszel),
        ("MantelHaenszelResult", evidence.mantelhaenszel),
    ):
        assert name in evidence.__all__ and name in evidence._LAZY
        assert getattr(evidence, name) is getattr(module, name)
    for module in (evidence.effects, evidence.mantelhaenszel, evidence.stats):
        assert all(hasattr(module, name) for name in module.__all__)


def test_readme_contrast_example_prints_what_the_readme_shows(monkeypatch, capsys) -> None:
    import re

    root = Path(__file__).parent.parent
    section = (root / "README.md").read_text(encoding="utf-8")
    section = section.split("### Contrasts: intervention versus comparator", 1)[1]
    section = section.split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)\n```", section, flags=re.S)[0]
    shown = re.findall(r"```text\n(.*?)\n```", section, flags=re.S)
    monkeypatch.chdir(root)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.rstrip("\n") == shown[0]
    # the dat.bcg lines
    bcg = BINARY["dat.bcg"]
    tpos, tneg, cpos, cneg = bcg["ai"], bcg["bi"], bcg["ci"], bcg["di"]
    es = effect_sizes("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg)
    res = pool_effects(es["yi"], es["vi"], measure="RR", method="DL")
    mh = pool_mantel_haenszel(tpos, tneg, cpos, cneg, measure="OR")
    printed = (
        f"RR {res.estimate:.5f} [{res.ci_low:.5f}, {res.ci_high:.5f}], tau2 = {res.tau2:.5f}, "
        f"I2 = {res.i2:.3f}%\n"
        f"MH OR {mh.estimate:.5f} [{mh.ci_low:.5f}, {mh.ci_high:.5f}], CMH = {mh.cmh:.3f}, "
        f"Tarone = {mh.tarone:.3f}"
    )
    assert printed == shown[1]
    figures = re.search(r"compares \*\*([\d,]+) values\*\*", section)
    assert figures is not None and int(figures.group(1).replace(",", "")) == len(_all_pins())


def test_paule_mandel_beyond_its_search_bound_is_refused_like_metafor() -> None:
    # R: rma(c(0, 1, 2, 3, 1000), rep(1, 5), method = "PM") -> "Value of 'tau2.max' too low."
    with pytest.raises(ValueError, match=r"PM estimator: tau2 exceeds the search bound tau2.max"):
        pool_effects([0, 1, 2, 3, 1000], [1, 1, 1, 1, 1], measure="MD", method="PM")
    # REML converges there, also with the tight default (a change below a few ulps of a large
    # tau2 counts as converged); R: rma(..., method = "REML")$tau2 = 199400.69999999995
    for convergence in ("tight", "metafor"):
        res = pool_effects(
            [0, 1, 2, 3, 1000], [1] * 5, measure="MD", method="REML", convergence=convergence
        )
        assert res.tau2 == pytest.approx(199400.69999999995, rel=1e-9)
