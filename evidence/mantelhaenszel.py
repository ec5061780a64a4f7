"""Pooling 2x2 tables directly: Mantel-Haenszel and Peto, as metafor's ``rma.mh`` / ``rma.peto``.

Pure numerical functions: cell counts in, a frozen :class:`MantelHaenszelResult` out (a
:class:`evidence.stats.PooledResult` with the same field names plus the tests these methods
report). Both are common-effect (fixed-effect) methods: tau^2 = 0 and no prediction interval.

Semantics (metafor 3.8-1, help pages ``rma.mh`` and ``rma.peto`` and their source):

- The pooled estimate uses the **raw counts** (no continuity correction; tables with no events,
  or only events, in both arms stay in and add nothing to the OR and RR, but do enter the RD
  weights).
- The heterogeneity test uses per-study ``yi``/``vi`` from ``escalc`` with ``add = 1/2,
  to = "only0", drop00 = TRUE`` (so ``k_yi`` can be below ``k``).
- An estimate that does not exist (no events in one arm of every table, say) is NaN with a
  warning, as metafor's NA; Peto's method with no events (or no non-events) in any table is an
  error, as in metafor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats as sps

from evidence.effects import _length, _numbers, _require, effect_sizes
from evidence.measures import MH_MEASURES
from evidence.stats import PooledResult, _check_choice, _check_labels, _check_level

__all__ = ["MH_MEASURES", "MantelHaenszelResult", "pool_mantel_haenszel", "pool_peto"]

"""Measures of :func:`pool_mantel_haenszel`."""

_EXTRA_SCALARS: tuple[str, ...] = (
    "k_yi",
    "k_pos",
    "cmh",
    "cmh_pvalue",
    "cmh_uncorrected",
    "cmh_uncorrected_pvalue",
    "cochran",
    "cochran_pvalue",
    "cochran_uncorrected",
    "cochran_uncorrected_pvalue",
    "breslow_day",
    "breslow_day_pvalue",
    "tarone",
    "tarone_pvalue",
)


@dataclass(frozen=True, kw_only=True)
class MantelHaenszelResult(PooledResult):
    """A Mantel-Haenszel or Peto pooled effect: :class:`~evidence.stats.PooledResult` plus tests.

    The inherited fields mean what they mean for :func:`evidence.stats.pool_effects`, with
    ``method`` ``"MH"`` or ``"PETO"``, ``test`` ``"z"``, ``tau2 = tau = 0``, no prediction
    interval (``pi_*`` None), ``se_tau2``, ``df``, ``s2w`` and ``vt`` None. ``estimate``,
    ``ci_low``, ``ci_high`` are ratios for ``OR``, ``RR`` and ``PETO`` (``measure``) and the
    difference for ``RD``; ``estimate_t`` etc. are on the log scale for ratios. An estimate
    that does not exist is NaN (``estimate``, ``se``, the CI, ``stat``, ``pvalue``; and Q, I^2,
    H^2 when ``k_yi > 1``). ``weights`` are the method's own weights in percent (NaN when they
    sum to 0), one per table; ``k`` counts all tables.

    Attributes
    ----------
    q, q_df, q_pvalue, i2, h2 : float, int or None, float, float, float
        Cochran's Q of the per-study ``yi`` around the pooled estimate (``rma.mh``) or Peto's
        Q (``rma.peto``), df = ``k_yi - 1``; with ``k_yi <= 1`` (Peto: ``k_pos <= 1``) Q = 0,
        ``q_df`` None, p = 1, I^2 = 0, H^2 = 1. I^2 = ``100 max(0, (Q - df)/Q)``, H^2 = Q/df.
    k_yi : int
        Studies with a per-study ``yi``/``vi`` (not double-zero), the ones Q is computed over.
    k_pos : int or None
        OR: tables with a positive expected cell under the common OR and both outcomes present
        (the Breslow-Day tables; 0 when the OR does not exist); Peto: tables with ``V > 0``;
        None for RR and RD.
    per_study_yi, per_study_vi : tuple of float
        Those per-study values (NaN for a double-zero study).
    cmh, cmh_pvalue : float or None
        OR only: Mantel-Haenszel chi-square test of OR = 1 with continuity correction (1 df),
        ``(|sum(a - n1 m1 / N)| - 1/2)^2 / sum(n1 n2 m1 m0 / (N^2 (N - 1)))``, ``m1 = a + c``,
        ``m0 = b + d`` (Mantel & Haenszel, 1959); ``cmh_uncorrected`` without the 1/2.
    cochran, cochran_pvalue : float or None
        OR only: Cochran's (1954) version, ``N^3`` in place of ``N^2 (N - 1)``; and
        ``cochran_uncorrected``.
    breslow_day, breslow_day_pvalue, tarone, tarone_pvalue : float or None
        OR only: Breslow-Day test of homogeneity of the ORs and Tarone's (1985) corrected
        version, chi-square with ``k_pos - 1`` df (p None when ``k_pos <= 1``); None when the
        OR does not exist. None for RR, RD and Peto.
    """

    k_yi: int
    k_pos: int | None
    per_study_yi: tuple[float, ...] = field(repr=False)
    per_study_vi: tuple[float, ...] = field(repr=False)
    cmh: float | None = None
    cmh_pvalue: float | None = None
    cmh_uncorrected: float | None = None
    cmh_uncorrected_pvalue: float | None = None
    cochran: float | None = None
    cochran_pvalue: float | None = None
    cochran_uncorrected: float | None = None
    cochran_uncorrected_pvalue: float | None = None
    breslow_day: float | None = None
    breslow_day_pvalue: float | None = None
    tarone: float | None = None
    tarone_pvalue: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The :meth:`PooledResult.to_dict` scalars, then ``k_yi``, ``k_pos`` and the tests."""
        out = super().to_dict()
        warnings = out.pop("warnings")
        out.update({name: getattr(self, name) for name in _EXTRA_SCALARS})
        out["warnings"] = warnings
        return out


def _tables(
    ai: Any, bi: Any, ci: Any, di: Any, labels: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]:
    """Validated 2x2 tables: non-negative finite counts, both arms non-empty."""
    given = {"ai": ai, "bi": bi, "ci": ci, "di": di}
    lengths = {key: _length(value, key) for key, value in given.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
        raise ValueError(f"ai, bi, ci and di must have the same length; got {shown}")
    k = lengths["ai"]
    if k == 0:
        raise ValueError("ai must contain at least one study; got an empty sequence")
    names = _check_labels(labels, k)
    labelled = labels is not None
    x = {key: _numbers(value, key, names, labelled) for key, value in given.items()}
    for key, arr in x.items():
        _require(
            arr >= 0, f"{key} must be a non-negative count", f"{key}={{{key}}}", x, names, labelled
        )
    for ev, nonev in (("ai", "bi"), ("ci", "di")):
        _require(
            x[ev] + x[nonev] > 0,
            f"each arm needs at least one participant ({ev} + {nonev} > 0)",
            f"{ev}={{{ev}}} and {nonev}={{{nonev}}}",
            x,
            names,
            labelled,
        )
    return x["ai"], x["bi"], x["ci"], x["di"], names


def _rmax0(value: float) -> float:
    """R's ``max(0, x)``: NaN stays NaN (Python's ``max(0, nan)`` would give 0)."""
    return value if math.isnan(value) else max(0.0, value)


def _heterogeneity(q: float, df: int) -> tuple[float, float, float]:
    """p-value, I^2 and H^2 of a Q with ``df`` > 0 degrees of freedom, as metafor computes them.

    ``I2 = max(0, 100 (Q - df) / Q)`` (so 0 when Q = 0), ``H2 = Q / df``; NaN in, NaN out.
    """
    qq = np.float64(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        i2 = _rmax0(float(100.0 * (qq - df) / qq))
    return float(sps.chi2.sf(q, df)), i2, q / df


def _chi2_p(stat: float | None, df: int) -> float | None:
    return None if stat is None else float(sps.chi2.sf(stat, df))


def _percent(w: np.ndarray) -> tuple[float, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        return tuple(float(v) for v in w / np.sum(w) * 100.0)


def _wald(beta: float, se: float, level: float) -> dict[str, float]:
    """z statistic, p-value and CI of a log-scale or raw estimate (NaN stays NaN)."""
    crit = float(sps.norm.isf((1.0 - level) / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = float(np.float64(beta) / np.float64(se))
    pval = float(2.0 * sps.norm.sf(abs(stat))) if not math.isnan(stat) else math.nan
    return {"stat": stat, "pvalue": pval, "lo": beta - crit * se, "hi": beta + crit * se}


def _reporting(value: float, measure: str) -> float:
    if measure == "RD" or math.isnan(value):
        return value
    return math.exp(value) if value < 700 else math.inf


def pool_mantel_haenszel(
    ai: Sequence[float] | np.ndarray,
    bi: Sequence[float] | np.ndarray,
    ci: Sequence[float] | np.ndarray,
    di: Sequence[float] | np.ndarray,
    *,
    measure: str = "OR",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> MantelHaenszelResult:
    """Mantel-Haenszel pooled OR, RR or RD of 2x2 tables, as metafor's ``rma.mh()``.

    With ``a``/``b`` events/non-events in arm 1, ``c``/``d`` in arm 2, ``n1 = a + b``,
    ``n2 = c + d``, ``N = n1 + n2``, all sums over tables and **raw counts**:

    - ``OR`` (Mantel & Haenszel, 1959): ``sum(a d / N) / sum(b c / N)``; variance of the log
      OR by Robins, Breslow & Greenland (1986), ``(sum(P R)/R^2 + sum(P S + Q R)/(R S) +
      sum(Q S)/S^2) / 2`` with ``P = (a + d)/N``, ``Q = (b + c)/N``, ``R = a d / N``,
      ``S = b c / N``; weights ``b c / N``. Not estimable (NaN) when ``sum R`` or ``sum S`` is 0.
    - ``RR``: ``sum(a n2 / N) / sum(c n1 / N)``; variance of the log RR by Greenland & Robins
      (1985), ``sum(n1 n2 (a + c) / N^2 - a c / N) / (R S)``; weights ``c n1 / N``. Not
      estimable when there are no events in arm 1, or none in arm 2, of any table.
    - ``RD``: ``sum(a n2 / N - c n1 / N) / sum(n1 n2 / N)``; variance by Sato (1989) as
      metafor computes it; weights ``n1 n2 / N``.

    Heterogeneity: Q = ``sum((yi - theta_MH)^2 / vi)`` over the studies with a per-study
    ``yi``/``vi`` from :func:`evidence.effects.effect_sizes` with ``add = 1/2``,
    ``to = "only0"``, ``drop00 = True`` (``k_yi`` studies), df = ``k_yi - 1``. For ``OR`` also
    the Cochran-Mantel-Haenszel and Cochran tests of OR = 1 and the Breslow-Day and Tarone tests
    of homogeneity (see :class:`MantelHaenszelResult`).

    Parameters
    ----------
    ai, bi, ci, di : sequence of float
        Events and non-events in arm 1 (intervention) and arm 2 (comparator), per study.
    measure : {"OR", "RR", "RD"}
        Effect measure.
    level : float
        Confidence level of the CI.
    labels : sequence of str, optional
        Study labels.

    Returns
    -------
    MantelHaenszelResult

    Raises
    ------
    ValueError
        For a negative or missing count, an empty arm, unequal lengths or an unknown option,
        naming the study, argument and value.

    References
    ----------
    Mantel, N., & Haenszel, W. (1959). Statistical aspects of the analysis of data from
    retrospective studies of disease. *JNCI*, 22(4), 719-748. Robins, J., Breslow, N., &
    Greenland, S. (1986). Estimators of the Mantel-Haenszel variance consistent in both sparse
    data and large-strata limiting models. *Biometrics*, 42(2), 311-323. Greenland, S., &
    Robins, J. M. (1985). Estimation of a common effect parameter from sparse follow-up data.
    *Biometrics*, 41(1), 55-68. Sato, T. (1989). On the variance estimator for the
    Mantel-Haenszel risk difference. *Biometrics*, 45(4), 1323-1324. Cochran, W. G. (1954).
    Some methods for strengthening the common chi-square tests. *Biometrics*, 10(4), 417-451.
    Breslow, N. E., & Day, N. E. (1980). *Statistical Methods in Cancer Research, Vol. 1*.
    IARC. Tarone, R. E. (1985). On heterogeneity tests based on efficient scores.
    *Biometrika*, 72(1), 91-95. metafor help page ``rma.mh``.

    Examples
    --------
    Rodriguez 2013 (4/8 vs 0/7) and Feder 2021 (10/15 vs 3/15), risk difference (metafor:
    0.47774 [0.23904, 0.71644]):

    >>> res = pool_mantel_haenszel([4, 10], [4, 5], [0, 3], [7, 12], measure="RD")
    >>> round(res.estimate, 4), round(res.ci_low, 4), round(res.ci_high, 4)
    (0.4777, 0.239, 0.7164)
    """
    measure = _check_choice(measure, "measure", MH_MEASURES, upper=True)
    level = _check_level(level)
    a, b, c, d, names = _tables(ai, bi, ci, di, labels)
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    warn: list[str] = []
    extra: dict[str, Any] = {}
    k_pos: int | None = None

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "OR":
            p_i, q_i = a / n + d / n, b / n + c / n
            r_i, s_i = (a / n) * d, (b / n) * c
            r, s = float(np.sum(r_i)), float(np.sum(s_i))
            if r == 0.0 or s == 0.0:
                ratio = beta = se = math.nan
                why = (
                    "sum(a d / N) = 0: each table lacks events in arm 1 or non-events in arm 2"
                    if r == 0.0
                    else "sum(b c / N) = 0: each table lacks non-events in arm 1 or events in arm 2"
                )
                warn.append(
                    f"Mantel-Haenszel OR not estimable ({why}): estimate is NaN, as metafor's NA"
                )
            else:
                ratio = r / s
                beta = math.log(ratio)
                se = math.sqrt(
                    0.5
                    * (
                        float(np.sum(p_i * r_i)) / r**2
                        + float(np.sum(p_i * s_i + q_i * r_i)) / (r * s)
                        + float(np.sum(q_i * s_i)) / s**2
                    )
                )
            weights = _percent((b / n) * c)
            extra.update(_cmh_tests(a, n1, n2, n, xt, yt))
            k_pos = 0
            if not math.isnan(beta):
                k_pos, bd_tests = _breslow_day(a, n1, n2, n, xt, yt, ratio)
                extra.update(bd_tests)
        elif measure == "RR":
            r, s = float(np.sum(a * (n2 / n))), float(np.sum(c * (n1 / n)))
            if float(np.sum(a)) == 0.0 or float(np.sum(c)) == 0.0:
                beta = se = math.nan
                arm = "1" if float(np.sum(a)) == 0.0 else "2"
                warn.append(
                    f"Mantel-Haenszel RR not estimable (no events in arm {arm} of any table): "
                    "estimate is NaN, as metafor's NA"
                )
            else:
                beta = math.log(r / s)
                se = math.sqrt(float(np.sum((n1 / n) * (n2 / n) * (a + c) - (a / n) * c)) / (r * s))
            weights = _percent((c / n) * (a + b))
        else:  # RD
            wsum = float(np.sum(n1 * (n2 / n)))
            beta = float(np.sum(a * (n2 / n) - c * (n1 / n))) / wsum
            var = (
                beta
                * float(
                    np.sum(
                        c * (n1 / n) ** 2
                        - a * (n2 / n) ** 2
                        + (n1 / n) * (n2 / n) * (n2 - n1) / 2.0
                    )
                )
                + float(np.sum(a * (n2 - c) / n + c * (n1 - a) / n)) / 2.0
            ) / wsum**2
            se = float(np.sqrt(np.float64(var)))
            weights = _percent(((a + b) / n) * (c + d))

    # heterogeneity around the MH estimate, with the escalc values (1/2 to only0, drop00)
    per = effect_sizes(measure, ai=a, bi=b, ci=c, di=d, drop00=True)
    yi, vi = per["yi"].to_numpy(), per["vi"].to_numpy()
    ok = ~np.isnan(yi) & ~np.isnan(vi)
    k_yi = int(ok.sum())
    if k_yi < yi.size:
        omitted = [names[i] for i in np.flatnonzero(~ok)]
        warn.append(
            f"{len(omitted)} {'table' if len(omitted) == 1 else 'tables'} without events (or "
            f"without non-events) in both arms left out of Q, I^2 and H^2 (drop00, as "
            f"metafor): {', '.join(omitted)}"
        )
    q_df: int | None = None
    if k_yi > 1:
        with np.errstate(invalid="ignore"):
            q = _rmax0(float(np.sum((yi[ok] - beta) ** 2 / vi[ok])))
        q_df = k_yi - 1
        q_p, i2, h2 = _heterogeneity(q, q_df)
    else:
        q, q_p, i2, h2 = 0.0, 1.0, 0.0, 1.0
    wald = _wald(beta, se, level)
    return MantelHaenszelResult(
        measure=measure,
        method="MH",
        test="z",
        level=level,
        k=int(a.size),
        n_total=round(float(np.sum(n))),
        estimate=_reporting(beta, measure),
        ci_low=_reporting(wald["lo"], measure),
        ci_high=_reporting(wald["hi"], measure),
        pi_low=None,
        pi_high=None,
        estimate_t=beta,
        se=se,
        ci_low_t=wald["lo"],
        ci_high_t=wald["hi"],
        pi_low_t=None,
        pi_high_t=None,
        stat=wald["stat"],
        df=None,
        pvalue=wald["pvalue"],
        s2w=None,
        tau2=0.0,
        tau=0.0,
        se_tau2=None,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        weights=weights,
        labels=names,
        warnings=tuple(warn),
        k_yi=k_yi,
        k_pos=k_pos,
        per_study_yi=tuple(float(v) for v in yi),
        per_study_vi=tuple(float(v) for v in vi),
        **extra,
    )


def _cmh_tests(
    a: np.ndarray, n1: np.ndarray, n2: np.ndarray, n: np.ndarray, xt: np.ndarray, yt: np.ndarray
) -> dict[str, float | None]:
    """Cochran-Mantel-Haenszel and Cochran tests of OR = 1 (metafor ``rma.mh``: MH, CO).

    None (metafor's NA) when no table has an event, or none has a non-event.
    """
    names = ("cmh", "cochran", "cmh_uncorrected", "cochran_uncorrected")
    if float(np.sum(xt)) == 0.0 or float(np.sum(yt)) == 0.0:
        out: dict[str, float | None] = {}
        for name in names:
            out[name] = out[f"{name}_pvalue"] = None
        return out
    dev = abs(float(np.sum(a - (n1 / n) * xt)))
    v_cochran = float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / n))))
    v_mh = float(np.sum((n1 / n) * (n2 / n) * (xt * (yt / (n - 1.0)))))
    values = {
        "cmh": (dev - 0.5) ** 2 / v_mh,
        "cochran": (dev - 0.5) ** 2 / v_cochran,
        "cmh_uncorrected": dev**2 / v_mh,
        "cochran_uncorrected": dev**2 / v_cochran,
    }
    out = {}
    for name, value in values.items():
        out[name] = value
        out[f"{name}_pvalue"] = _chi2_p(value, 1)
    return out


def _breslow_day(
    a: np.ndarray,
    n1: np.ndarray,
    n2: np.ndarray,
    n: np.ndarray,
    xt: np.ndarray,
    yt: np.ndarray,
    ratio: float,
) -> tuple[int, dict[str, float | None]]:
    """Breslow-Day test of a common OR and Tarone's correction, as metafor computes them.

    The expected cell ``N11`` of each table under the common OR ``psi`` solves
    ``N11 (N22) = psi N12 N21`` with the margins fixed: ``N11 = (A - sqrt(A^2 - 4 n1 m1 psi
    (psi - 1))) / (2 (psi - 1))``, ``A = psi (n1 + m1) + (n2 - m1)`` (``n1 m1 / N`` when
    ``psi = 1``). Only tables with ``N11 > 0`` and both outcomes present count (``k_pos``).
    ``BD = sum((a - N11)^2 / Var)``, ``Var = 1 / (1/N11 + 1/N12 + 1/N21 + 1/N22)``;
    Tarone: ``BD - (sum(a - N11))^2 / sum(Var)``; chi-square with ``k_pos - 1`` df.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if ratio == 1.0:
            n11 = (n1 / n) * xt
        else:
            big_a = ratio * (n1 + xt) + (n2 - xt)
            big_b = np.sqrt(big_a**2 - 4.0 * n1 * xt * ratio * (ratio - 1.0))
            n11 = (big_a - big_b) / (2.0 * (ratio - 1.0))
        pos = (n11 > 0) & (xt > 0) & (yt > 0)
        k_pos = int(pos.sum())
        e11 = n11[pos]
        e12 = n1[pos] - e11
        e21 = xt[pos] - e11
        e22 = e11 - n1[pos] - xt[pos] + n[pos]
        var = (1.0 / e11 + 1.0 / e12 + 1.0 / e21 + 1.0 / e22) ** -1.0
        dev = a[pos] - e11
        bd = _rmax0(float(np.sum(dev**2 / var)))
        tarone = _rmax0(float(np.float64(bd) - np.sum(dev) ** 2 / np.sum(var)))
    df = k_pos - 1
    return k_pos, {
        "breslow_day": bd,
        "breslow_day_pvalue": _chi2_p(bd, df) if k_pos > 1 else None,
        "tarone": tarone,
        "tarone_pvalue": _chi2_p(tarone, df) if k_pos > 1 else None,
    }


def pool_peto(
    ai: Sequence[float] | np.ndarray,
    bi: Sequence[float] | np.ndarray,
    ci: Sequence[float] | np.ndarray,
    di: Sequence[float] | np.ndarray,
    *,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> MantelHaenszelResult:
    """Peto's one-step pooled odds ratio of 2x2 tables, as metafor's ``rma.peto()``.

    With raw counts, ``E = n1 (a + c) / N`` and ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``
    per table: log OR ``= sum(a - E) / sum(V)``, SE ``= 1 / sqrt(sum V)``, weights ``V`` (Yusuf
    et al., 1985). Heterogeneity: ``Q = sum((a - E)^2 / V) - (sum(a - E))^2 / sum(V)`` over the
    ``k_pos`` tables with ``V > 0``, df ``k_yi - 1`` (``k_yi`` = studies with a per-study Peto
    log OR under ``add = 1/2``, ``to = "only0"``, ``drop00 = True``; reported in
    ``per_study_yi``/``per_study_vi``). ``measure`` is ``"PETO"``, ``method`` ``"PETO"``;
    ``estimate``, ``ci_low``, ``ci_high`` are odds ratios.

    Parameters
    ----------
    ai, bi, ci, di : sequence of float
        Events and non-events in arm 1 and arm 2, per study.
    level : float
        Confidence level of the CI.
    labels : sequence of str, optional
        Study labels.

    Returns
    -------
    MantelHaenszelResult
        With ``k_pos`` (tables with ``V > 0``); the CMH, Cochran, Breslow-Day and Tarone fields
        are None.

    Raises
    ------
    ValueError
        When one of the two outcomes occurs in no table (``sum V = 0``), which metafor refuses
        too ("Peto's method cannot be used"); and for invalid counts, as
        :func:`pool_mantel_haenszel`.

    References
    ----------
    Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during and
    after myocardial infarction: an overview of the randomized trials. *Progress in
    Cardiovascular Diseases*, 27(5), 335-371. metafor help page ``rma.peto``.

    Examples
    --------
    A trial with 4/8 vs 0/7 responders (metafor: OR 10.874, 95% CI 1.186 to 99.73):

    >>> res = pool_peto([4], [4], [0], [7])
    >>> round(res.estimate, 3), round(res.ci_low, 3), round(res.ci_high, 2)
    (10.874, 1.186, 99.73)
    """
    level = _check_level(level)
    a, b, c, d, names = _tables(ai, bi, ci, di, labels)
    n1, n2 = a + b, c + d
    n = n1 + n2
    xt, yt = a + c, b + d
    e = xt * n1 / n
    v = xt * yt * (n1 / n) * (n2 / n) / (n - 1.0)
    sum_v = float(np.sum(v))
    if sum_v == 0.0:
        raise ValueError(
            "Peto's method cannot be used: one of the two outcomes never occurred in any of the "
            f"{a.size} tables (no events, or no non-events, in every arm), as metafor reports"
        )
    beta = float(np.sum(a - e)) / sum_v
    se = math.sqrt(1.0 / sum_v)
    pos = v > 0
    k_pos = int(pos.sum())
    q = _rmax0(float(np.sum((a[pos] - e[pos]) ** 2 / v[pos]) - np.sum(a - e) ** 2 / np.sum(v[pos])))

    per = effect_sizes("PETO", ai=a, bi=b, ci=c, di=d, drop00=True)
    yi, vi = per["yi"].to_numpy(), per["vi"].to_numpy()
    ok = ~np.isnan(yi) & ~np.isnan(vi)
    k_yi = int(ok.sum())
    warn: list[str] = []
    if k_yi < yi.size:
        omitted = [names[i] for i in np.flatnonzero(~ok)]
        warn.append(
            f"{len(omitted)} {'table' if len(omitted) == 1 else 'tables'} without events (or "
            f"without non-events) in both arms left out of Q, I^2 and H^2 (drop00, as "
            f"metafor): {', '.join(omitted)}"
        )
    q_df: int | None = None
    if k_pos > 1:
        q_df = k_yi - 1
        q_p, i2, h2 = _heterogeneity(q, q_df)
    else:
        q_p, i2, h2 = 1.0, 0.0, 1.0
    wald = _wald(beta, se, level)
    return MantelHaenszelResult(
        measure="PETO",
        method="PETO",
        test="z",
        level=level,
        k=int(a.size),
        n_total=round(float(np.sum(n))),
        estimate=_reporting(beta, "PETO"),
        ci_low=_reporting(wald["lo"], "PETO"),
        ci_high=_reporting(wald["hi"], "PETO"),
        pi_low=None,
        pi_high=None,
        estimate_t=beta,
        se=se,
        ci_low_t=wald["lo"],
        ci_high_t=wald["hi"],
        pi_low_t=None,
        pi_high_t=None,
        stat=wald["stat"],
        df=None,
        pvalue=wald["pvalue"],
        s2w=None,
        tau2=0.0,
        tau=0.0,
        se_tau2=None,
        i2=i2,
        h2=h2,
        q=q,
        q_df=q_df,
        q_pvalue=q_p,
        weights=_percent(v),
        labels=names,
        warnings=tuple(warn),
        k_yi=k_yi,
        k_pos=k_pos,
        per_study_yi=tuple(float(x) for x in yi),
        per_study_vi=tuple(float(x) for x in vi),
    )
