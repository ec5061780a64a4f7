"""Meta-analysis reproducing R's metafor (``escalc`` + ``rma.uni``): single proportions and
effect sizes of comparisons (contrasts).

Pure numerical functions (numpy, scipy, statsmodels; pandas only for ``to_frame``): no
printing and no file I/O.

Public API
----------
- :func:`proportion_ci` -- per-study confidence intervals (Wilson, Clopper-Pearson,
  Agresti-Coull, Wald).
- :func:`escalc` -- per-study transformed proportions ``yi`` and sampling variances ``vi``
  exactly as metafor's ``escalc()`` computes them with its defaults.
- :func:`pool_proportions` -- common-effect or random-effects pooling
  (``rma(yi, vi, method=..., test=...)``), returning a :class:`PooledResult`.
- :func:`subgroup_analysis` -- separate per-group fits, the between-group Q of those fits and the
  mixed-effects moderator test ``rma(yi, vi, mods = ~ factor(group))``, as a
  :class:`SubgroupResult`.
- :func:`leave_one_out` -- metafor's ``leave1out()``.
- :func:`pool_effects`, :func:`subgroup_effects`, :func:`leave_one_out_effects` -- the same
  for effect sizes ``yi``/``vi`` already computed (by :func:`evidence.effects.effect_sizes` or
  from reported CIs), ratio measures reported on the natural (exp) scale.

Every value is validated against metafor 3.8-1 (R 4.2.2) in ``tests/test_stats.py`` and
``tests/test_effects.py``.

statsmodels' ``combine_effects`` agrees with metafor for DL and PM (and its "wls" rows with
Knapp-Hartung), but it has no REML, HE or SJ estimator, reports I^2 as ``(Q - df)/Q`` whatever
the estimator (metafor: ``tau2 / (tau2 + vt)``) and does no meta-regression; so one hand-written
``rma.uni`` engine (:func:`_rma`, formulas cited there) serves every method.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software*, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

Viechtbauer, W. (2005). Bias and efficiency of meta-analytic variance estimators in the
random-effects model. *Journal of Educational and Behavioral Statistics*, 30(3), 261-293.

metafor help pages ``escalc``, ``rma.uni``, ``predict.rma``, ``transf``, ``leave1out`` (metafor
3.8-1, https://wviechtb.github.io/metafor/reference/).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, overload

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from evidence.measures import (
    CI_METHODS,
    DIFFERENCE_MEASURES,
    EFFECT_MEASURES,
    PROPORTION_MEASURES,
    RATIO_MEASURES,
    RMA_METHODS,
    RMA_TESTS,
)

__all__ = [
    "CI_METHODS",
    "CONVERGENCE",
    "DIFFERENCE_MEASURES",
    "EFFECT_MEASURES",
    "MEASURES",
    "METHODS",
    "RATIO_MEASURES",
    "TESTS",
    "PooledResult",
    "SubgroupResult",
    "escalc",
    "leave_one_out",
    "leave_one_out_effects",
    "pool_effects",
    "pool_proportions",
    "proportion_ci",
    "subgroup_analysis",
    "subgroup_effects",
]

MEASURES = PROPORTION_MEASURES
"""Outcome measures: logit, Freeman-Tukey double arcsine, raw proportion, arcsine."""

METHODS = RMA_METHODS
TESTS = RMA_TESTS

CONVERGENCE: tuple[str, ...] = ("tight", "metafor")
"""Convergence of the iterative tau^2 estimators (REML, PM); see :func:`pool_proportions`."""

_EPS = float(np.finfo(float).eps)


@dataclass(frozen=True)
class _Control:
    """Convergence settings of the iterative estimators (metafor's ``control`` list)."""

    threshold: float  # Fisher scoring (REML): stop when |change in tau2| <= threshold
    tol: float  # PM root tolerance; also the tolerance of the REML ll(0) check
    maxiter: int
    pm_solver: str  # "brentq" (scipy) or "zeroin" (R's uniroot, reproduced)
    snap_boundary: bool  # REML: put tau2 = 0 when the optimum is on the boundary


_CONTROLS = {
    # metafor's control=list(threshold=1e-12, tol=1e-12, maxiter=1e4); PM to machine precision.
    "tight": _Control(1e-12, 1e-12, 10000, "brentq", True),
    # metafor's defaults (rma.uni help, 'control'): threshold 1e-5, tol eps^0.25, maxiter 100.
    "metafor": _Control(1e-5, _EPS**0.25, 100, "zeroin", False),
}


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _as_counts(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a new 1-D float array of non-negative whole numbers, or raise."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(
            f"{name} must be a 1-D sequence of non-negative integer counts; got {values!r}"
        )
    try:
        arr = np.array(values, dtype=float)  # always a copy: the caller's object is never touched
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must contain only non-negative integer counts; got {list(values)!r}"
        ) from None
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one study; got an empty sequence")
    original = list(values)
    for i, x in enumerate(arr):
        if not math.isfinite(x) or x < 0 or x != math.floor(x):
            raise ValueError(
                f"{name} must contain only non-negative integer counts; got {original[i]!r} at "
                f"position {i}"
            )
    return arr


def _check_counts(events: Any, totals: Any) -> tuple[np.ndarray, np.ndarray]:
    xi = _as_counts(events, "events")
    ni = _as_counts(totals, "totals")
    if xi.size != ni.size:
        raise ValueError(
            f"events and totals must have the same length; got {xi.size} events and "
            f"{ni.size} totals"
        )
    for i in range(ni.size):
        if ni[i] == 0:
            raise ValueError(f"totals must be positive (at least 1); got 0 at position {i}")
        if xi[i] > ni[i]:
            raise ValueError(
                f"events must not exceed totals; got events={xi[i]:g} > totals={ni[i]:g} at "
                f"position {i}"
            )
    return xi, ni


def _check_choice(value: Any, name: str, allowed: Sequence[str], *, upper: bool) -> str:
    if isinstance(value, str):
        key = value.upper() if upper else value.lower()
        if key in allowed:
            return key
    raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")


def _check_level(level: Any) -> float:
    ok = isinstance(level, (int, float, np.floating, np.integer)) and not isinstance(level, bool)
    if not ok or not (0.0 < float(level) < 1.0):
        raise ValueError(
            f"level must be a number strictly between 0 and 1 (e.g. 0.95); got {level!r}"
        )
    return float(level)


def _check_labels(labels: Any, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(str(i + 1) for i in range(k))
    if isinstance(labels, (str, bytes)):
        raise ValueError(f"labels must be a sequence of {k} study labels; got {labels!r}")
    out = tuple(str(x) for x in labels)
    if len(out) != k:
        raise ValueError(f"labels must have one entry per study ({k}); got {len(out)} labels")
    return out


def information_criteria(loglik: float, parms: int, n: int) -> tuple[float, float, float]:
    """AIC, BIC and AICc of a fit with log-likelihood ``loglik``, ``parms`` parameters and
    ``n`` observations, as metafor's ``fitstats`` computes them (AICc with ``n`` at least
    ``parms + 2``, so it stays finite)."""
    kk = max(n, parms + 2)
    return (
        -2.0 * loglik + 2.0 * parms,
        -2.0 * loglik + parms * math.log(n),
        -2.0 * loglik + 2.0 * parms * kk / (kk - parms - 1),
    )


# --------------------------------------------------------------------------------------------
# per-study confidence intervals
# --------------------------------------------------------------------------------------------


def proportion_ci(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    method: str = "wilson",
    level: float = 0.95,
    *,
    clip: bool = False,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Confidence interval of each study's proportion ``events / total``.

    Parameters
    ----------
    events, totals : sequence of int
        Number of events and number of participants per study (``0 <= events <= totals``).
    method : {"wilson", "clopper-pearson", "agresti-coull", "wald"}
        ``"wilson"``: Wilson (1927) score interval, as R's ``prop.test(x, n, correct=FALSE)``;
        ``"clopper-pearson"``: exact interval of Clopper & Pearson (1934), as R's
        ``binom.test``; both via :func:`statsmodels.stats.proportion.proportion_confint`
        (methods ``"wilson"`` and ``"beta"``), whose bounds always lie in [0, 1].
        ``"agresti-coull"``: Agresti & Coull (1998), ``n~ = n + z^2``,
        ``p~ = (x + z^2/2) / n~``, ``p~ -/+ z sqrt(p~(1 - p~)/n~)``;
        ``"wald"``: ``p -/+ z sqrt(p(1 - p)/n)`` without continuity correction.
    level : float
        Confidence level in (0, 1).
    clip : bool
        Agresti-Coull and Wald bounds are returned unclipped by default (they can leave
        [0, 1]), matching the reference values (and metafor's own unclamped ``PR`` intervals);
        ``clip=True`` truncates them to [0, 1] as statsmodels does.
    labels : sequence of str, optional
        Study labels, used as the index (named ``"study"``).

    Returns
    -------
    pandas.DataFrame
        Columns ``events``, ``total``, ``proportion``, ``ci_low``, ``ci_high``.

    Notes
    -----
    Agresti-Coull and Wald are computed here (same formulas as statsmodels' ``agresti_coull``
    and ``normal``) because statsmodels always clips them.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
    *JASA*, 22(158), 209-212. Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or
    fiducial limits illustrated in the case of the binomial. *Biometrika*, 26(4), 404-413.
    Agresti, A., & Coull, B. A. (1998). Approximate is better than "exact" for interval
    estimation of binomial proportions. *The American Statistician*, 52(2), 119-126.
    """
    xi, ni = _check_counts(events, totals)
    method = _check_choice(method, "method", CI_METHODS, upper=False)
    level = _check_level(level)
    names = _check_labels(labels, xi.size) if labels is not None else None
    alpha = 1.0 - level
    z = float(sps.norm.isf(alpha / 2.0))
    p = xi / ni
    # statsmodels is imported here, not at module level: it costs ~1 s to import
    from statsmodels.stats.proportion import proportion_confint

    if method == "wilson":
        lo, hi = proportion_confint(xi, ni, alpha=alpha, method="wilson")
    elif method == "clopper-pearson":
        lo, hi = proportion_confint(xi, ni, alpha=alpha, method="beta")
    elif method == "agresti-coull":
        n_t = ni + z**2
        p_t = (xi + z**2 / 2.0) / n_t
        half = z * np.sqrt(p_t * (1.0 - p_t) / n_t)
        lo, hi = p_t - half, p_t + half
    else:  # wald
        half = z * np.sqrt(p * (1.0 - p) / ni)
        lo, hi = p - half, p + half
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if clip:
        lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
    frame = pd.DataFrame(
        {
            "events": xi.astype(np.int64),
            "total": ni.astype(np.int64),
            "proportion": p,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    if names is not None:
        frame.index = pd.Index(names, name="study")
    return frame


# --------------------------------------------------------------------------------------------
# effect sizes and transformations
# --------------------------------------------------------------------------------------------


def _escalc(xi: np.ndarray, ni: np.ndarray, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """Validated-input core of :func:`escalc` (formulas and source there)."""
    if measure in ("PR", "PLO"):
        # escalc defaults add=1/2, to="only0": correct studies with xi == 0 or xi == ni.
        adj = (xi == 0) | (xi == ni)
        x = np.where(adj, xi + 0.5, xi)
        n = np.where(adj, ni + 1.0, ni)
        p = x / n
        if measure == "PR":
            return p, p * (1.0 - p) / n
        return np.log(p / (1.0 - p)), 1.0 / x + 1.0 / (n - x)
    if measure == "PAS":
        return np.arcsin(np.sqrt(xi / ni)), 1.0 / (4.0 * ni)
    # PFT
    yi = 0.5 * (np.arcsin(np.sqrt(xi / (ni + 1.0))) + np.arcsin(np.sqrt((xi + 1.0) / (ni + 1.0))))
    return yi, 1.0 / (4.0 * ni + 2.0)


def escalc(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    measure: str = "PLO",
) -> tuple[np.ndarray, np.ndarray]:
    """Per-study transformed proportions and sampling variances, as metafor's ``escalc()``.

    Uses metafor's defaults (``add = 1/2, to = "only0"``, ``vtype = "LS"``), documented on the
    metafor ``escalc`` help page:

    - ``PR``: ``yi = x/n``, ``vi = yi (1 - yi) / n``;
    - ``PLO``: ``yi = log(x / (n - x))``, ``vi = 1/x + 1/(n - x)``;
    - ``PFT`` (Freeman & Tukey, 1950): ``yi = [asin sqrt(x/(n+1)) + asin sqrt((x+1)/(n+1))] / 2``,
      ``vi = 1 / (4n + 2)``;
    - ``PAS``: ``yi = asin sqrt(x/n)``, ``vi = 1 / (4n)``.

    For ``PR`` and ``PLO`` a study with ``x = 0`` or ``x = n`` first gets 1/2 added to ``x``
    and to ``n - x`` (so ``n + 1``). ``PFT`` and ``PAS`` get no correction (metafor sets
    ``add = 0`` for them unless ``add`` is passed explicitly).

    Parameters
    ----------
    events, totals : sequence of int
        Events and participants per study.
    measure : {"PLO", "PFT", "PR", "PAS"}
        Outcome measure.

    Returns
    -------
    yi, vi : numpy.ndarray
        Transformed proportions and their sampling variances (new arrays).

    References
    ----------
    Freeman, M. F., & Tukey, J. W. (1950). Transformations related to the angular and the
    square root. *The Annals of Mathematical Statistics*, 21(4), 607-611.
    """
    xi, ni = _check_counts(events, totals)
    measure = _check_choice(measure, "measure", MEASURES, upper=True)
    return _escalc(xi, ni, measure)


def _pft(p: float, n: float) -> float:
    """Freeman-Tukey transform of a proportion ``p`` with sample size ``n`` (metafor transf.pft)."""
    x = p * n
    return 0.5 * (math.asin(math.sqrt(x / (n + 1.0))) + math.asin(math.sqrt((x + 1.0) / (n + 1.0))))


def _ipft_hm(values: np.ndarray, ni: np.ndarray) -> np.ndarray:
    """Inverse Freeman-Tukey transform with the harmonic mean of ``ni`` (Miller, 1978).

    ``p = [1 - sgn(cos 2t) sqrt(1 - (sin 2t + (sin 2t - 1/sin 2t)/n)^2)] / 2`` with ``n`` the
    harmonic mean of the sample sizes; values of ``t`` beyond the transforms of 0 and 1 map to
    0 and 1. This is metafor's ``transf.ipft.hm`` (help page ``transf``).

    Miller, J. J. (1978). The inverse of the Freeman-Tukey double arcsine transformation.
    *The American Statistician*, 32(4), 138.
    """
    t = np.asarray(values, dtype=float)
    nhm = 1.0 / float(np.mean(1.0 / ni))
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sin(2.0 * t)
        z = 0.5 * (1.0 - np.sign(np.cos(2.0 * t)) * np.sqrt(1.0 - (s + (s - 1.0 / s) / nhm) ** 2))
    z = np.where(t > _pft(1.0, nhm), 1.0, z)
    z = np.where(t < _pft(0.0, nhm), 0.0, z)
    return z


def _back_transform(values: np.ndarray, measure: str, ni: np.ndarray | None) -> np.ndarray:
    """Analysis scale -> reporting scale, as metafor's ``transf`` functions (help ``transf``).

    Proportions: ``PR`` identity, not clamped; ``PLO`` inverse logit (``transf.ilogit``);
    ``PAS`` ``sin(t)^2`` with ``t < 0 -> 0`` and ``t > pi/2 -> 1`` (``transf.iarcsin``);
    ``PFT`` :func:`_ipft_hm` (needs ``ni``). Effects: ``exp`` for the ratio measures
    (:data:`RATIO_MEASURES`, analysed as log ratios), identity for the difference measures.
    NaN stays NaN.
    """
    t = np.asarray(values, dtype=float)
    if measure in RATIO_MEASURES:
        with np.errstate(over="ignore"):
            return np.exp(t)
    if measure == "PR" or measure in DIFFERENCE_MEASURES:
        return t.copy()
    if measure == "PLO":
        return sps.logistic.cdf(t)
    if measure == "PAS":
        out = np.sin(t) ** 2
        out = np.where(t < 0.0, 0.0, out)
        return np.where(t > math.pi / 2.0, 1.0, out)
    assert ni is not None, "PFT needs the sample sizes for its back-transform"
    return _ipft_hm(t, ni)


@overload
def _bt(value: float, measure: str, ni: np.ndarray | None) -> float: ...
@overload
def _bt(value: None, measure: str, ni: np.ndarray | None) -> None: ...
def _bt(value: float | None, measure: str, ni: np.ndarray | None) -> float | None:
    if value is None:
        return None
    return float(_back_transform(np.array([value]), measure, ni)[0])


# --------------------------------------------------------------------------------------------
# the rma.uni engine
# --------------------------------------------------------------------------------------------


def _center(y: np.ndarray) -> np.ndarray:
    """``y - mean(y)``, exactly 0 when all ``y`` are equal (metafor centres for stability)."""
    if np.all(y == y[0]):
        return np.zeros_like(y)
    m = math.fsum(y) / y.size
    m += math.fsum(y - m) / y.size
    return y - m


def _pmat(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'WX)^{-1} X'W`` (Viechtbauer, 2005, eq. 6; metafor ``rma.uni``)."""
    WX = X * w[:, None]
    return np.diag(w) - WX @ np.linalg.solve(X.T @ WX, WX.T)


@dataclass(frozen=True)
class _PStats:
    """What the estimators need of ``P = W - W X (X'WX)^{-1} X'W``, without forming ``P``.

    ``Py``, ``y'Py``, ``tr P`` and ``tr PP`` follow from ``P``'s definition (Viechtbauer,
    2005, eq. 6) with ``A = X'WX``: ``Py = Wy - WX A^{-1} X'Wy``;
    ``tr P = sum(w) - tr(A^{-1} X'W^2 X)``; ``tr PP = sum(w^2) - 2 tr(A^{-1} X'W^3 X)
    + tr((A^{-1} X'W^2 X)^2)``. That is O(k p^2) instead of O(k^2 p) time and O(k p) memory,
    which matters for large subgroup models (k in the thousands).
    """

    py: np.ndarray
    ypy: float
    tr_p: float
    tr_pp: float


def _pstats(X: np.ndarray, w: np.ndarray, y: np.ndarray) -> _PStats:
    WX = X * w[:, None]
    A = X.T @ WX
    b = np.linalg.solve(A, WX.T @ y)
    py = w * y - WX @ b
    B = np.linalg.solve(A, WX.T @ WX)  # A^{-1} X'W^2 X
    C = np.linalg.solve(A, (WX * w[:, None]).T @ WX)  # A^{-1} X'W^3 X
    tr_p = float(np.sum(w)) - float(np.trace(B))
    tr_pp = float(np.sum(w * w)) - 2.0 * float(np.trace(C)) + float(np.sum(B * B.T))
    return _PStats(py, float(y @ py), tr_p, tr_pp)


def _qform(P: np.ndarray, y: np.ndarray) -> float:
    return float(y @ P @ y)


def _zeroin(
    f: Callable[[float], float], a: float, b: float, fa: float, fb: float, tol: float, maxit: int
) -> float:
    """Brent's root finder as in R's ``uniroot`` (``R_zeroin2``), to reproduce metafor's PM.

    Bisection combined with linear / inverse quadratic interpolation, accepting the
    interpolated point only when it falls well inside the bracket; returns when the bracket
    half-width is at most ``2 eps |b| + tol/2``.

    Brent, R. P. (1973). *Algorithms for Minimization without Derivatives*, ch. 4.
    Forsythe, G. E., Malcolm, M. A., & Moler, C. B. (1977). *Computer Methods for Mathematical
    Computations*, procedure ZEROIN.
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    c, fc = a, fa
    for _ in range(maxit + 1):
        prev_step = b - a
        if abs(fc) < abs(fb):
            a, b, c = b, c, b
            fa, fb, fc = fb, fc, fb
        tol_act = 2.0 * _EPS * abs(b) + tol / 2.0
        new_step = (c - b) / 2.0
        if abs(new_step) <= tol_act or fb == 0.0:
            return b
        if abs(prev_step) >= tol_act and abs(fa) > abs(fb):
            cb = c - b
            if a == c:  # secant
                t1 = fb / fa
                p = cb * t1
                q = 1.0 - t1
            else:  # inverse quadratic interpolation
                q = fa / fc
                t1 = fb / fc
                t2 = fb / fa
                p = t2 * (cb * q * (q - t1) - (b - a) * (t1 - 1.0))
                q = (q - 1.0) * (t1 - 1.0) * (t2 - 1.0)
            if p > 0.0:
                q = -q
            else:
                p = -p
            if p < (0.75 * cb * q - abs(tol_act * q) / 2.0) and p < abs(prev_step * q / 2.0):
                new_step = p / q
        if abs(new_step) < tol_act:
            new_step = tol_act if new_step > 0.0 else -tol_act
        a, fa = b, fb
        b += new_step
        fb = f(b)
        if (fb > 0.0 and fc > 0.0) or (fb < 0.0 and fc < 0.0):
            c, fc = a, fa
    raise RuntimeError("PM estimator: root search for tau2 did not converge")


@dataclass(frozen=True)
class _Fit:
    """Everything ``rma.uni`` computes that the public results expose."""

    k: int
    p: int
    beta: np.ndarray
    vb: np.ndarray
    se: np.ndarray
    stat: np.ndarray
    pval: np.ndarray
    ci_lb: np.ndarray
    ci_ub: np.ndarray
    crit: float
    test: str
    ddf: int | None
    s2w: float | None
    tau2: float
    se_tau2: float | None
    qe: float
    qe_df: int
    qe_pval: float
    i2: float
    h2: float
    vt: float
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_pval: float
    weights: np.ndarray
    warnings: tuple[str, ...]


def _reml_ll(y: np.ndarray, vi: np.ndarray, X: np.ndarray, tau2: float) -> float:
    """Restricted log-likelihood up to a constant (Viechtbauer, 2005, eq. 9)."""
    w = 1.0 / (vi + tau2)
    WX = X * w[:, None]
    XtWX = X.T @ WX
    beta = np.linalg.solve(XtWX, WX.T @ y)
    rss = float(np.sum(w * (y - X @ beta) ** 2))
    return -0.5 * float(np.sum(np.log(vi + tau2))) - 0.5 * np.linalg.slogdet(XtWX)[1] - 0.5 * rss


def _tau2_reml(
    ymc: np.ndarray, vi: np.ndarray, X: np.ndarray, start: float, con: _Control, warn: list[str]
) -> float:
    """REML estimate of tau^2 by Fisher scoring (Viechtbauer, 2005, eq. 10; metafor rma.uni).

    Starts at ``max(0, HE)``; each step is ``(y'PPy - tr P) / tr(PP)``, halved while it would
    make tau^2 negative; stops when the change is at most ``con.threshold`` (or at most 16 ulps
    of tau^2, below which a change is rounding: for tau^2 > ~3e3 a threshold of 1e-12 is finer
    than the spacing of doubles). As metafor does,
    tau^2 is then set to 0 (with a warning) if the restricted log-likelihood at 0 is larger by
    more than ``con.tol``. With ``con.snap_boundary`` an estimate that only creeps towards the
    boundary (score at 0 not positive) is set to exactly 0.
    """
    tau2 = max(0.0, start)
    change = con.threshold + 1.0
    it = 0
    # A change below a few ulps of tau2 is rounding, not progress: with a large tau2 (raw-scale
    # mean differences) an absolute threshold of 1e-12 could never be met.
    while change > max(con.threshold, 16.0 * _EPS * tau2):
        it += 1
        if it > con.maxiter:
            raise RuntimeError(f"REML: Fisher scoring did not converge in {con.maxiter} iterations")
        ps = _pstats(X, 1.0 / (vi + tau2), ymc)
        adj = (float(ps.py @ ps.py) - ps.tr_p) / ps.tr_pp
        while tau2 + adj < 0.0:
            adj /= 2.0
        old = tau2
        tau2 = tau2 + adj
        change = abs(old - tau2)
    ll0 = _reml_ll(ymc, vi, X, 0.0)
    ll = _reml_ll(ymc, vi, X, tau2)
    if ll0 - ll > con.tol and tau2 > con.threshold:
        warn.append(
            "REML: the log-likelihood is larger at tau2 = 0 (Fisher scoring may have stopped at "
            "a local maximum), so tau2 was set to 0, as metafor does"
        )
        tau2 = 0.0
    if con.snap_boundary and 0.0 < tau2 <= 1e3 * con.threshold:
        ps0 = _pstats(X, 1.0 / vi, ymc)
        if float(ps0.py @ ps0.py) - ps0.tr_p <= 0.0:  # REML score at 0 is not positive
            tau2 = 0.0
    return tau2


def _tau2_pm(
    ymc: np.ndarray, vi: np.ndarray, X: np.ndarray, y_all: np.ndarray, con: _Control
) -> float:
    """Paule-Mandel estimate: root of ``Q(tau2) = k - p`` (generalized Q; Paule & Mandel, 1982).

    ``Q(tau2) = y'P(tau2)y`` with weights ``1/(vi + tau2)`` is decreasing in tau^2; searched on
    ``[0, max(100, 10 mad(y)^2)]`` as metafor does (rma.uni help, ``control``: ``tau2.max``).
    tau^2 = 0 when ``Q(0) < k - p``. ``con.pm_solver`` picks :func:`scipy.optimize.brentq`
    (tight) or :func:`_zeroin` with metafor's default tolerance.

    Paule, R. C., & Mandel, J. (1982). Consensus values and weighting factors. *Journal of
    Research of the National Bureau of Standards*, 87(5), 377-385.
    """
    k, p = X.shape
    target = float(k - p)

    def f(t: float) -> float:
        return _pstats(X, 1.0 / (vi + t), ymc).ypy - target

    mad = 1.4826 * float(np.median(np.abs(y_all - np.median(y_all))))
    upper = max(100.0, 10.0 * mad**2)
    f0 = f(0.0)
    if f0 < 0.0:
        return 0.0
    fu = f(upper)
    if fu > 0.0:
        # metafor stops here too: "Value of 'tau2.max' too low. ... switch to another 'method'."
        raise ValueError(
            f"PM estimator: tau2 exceeds the search bound tau2.max = {upper:g} "
            "(max(100, 10 mad(yi)^2), as metafor), so metafor refuses the fit too; use another "
            "method"
        )
    if con.pm_solver == "zeroin":
        return _zeroin(f, 0.0, upper, f0, fu, con.tol, con.maxiter)
    return float(optimize.brentq(f, 0.0, upper, xtol=1e-15, rtol=4 * _EPS, maxiter=1000))


def _rma(
    yi: np.ndarray,
    vi: np.ndarray,
    X: np.ndarray,
    method: str,
    test: str,
    level: float,
    con: _Control,
) -> _Fit:
    """Fit ``rma.uni(yi, vi, mods = X, method, test)`` (intercept in the first column of X).

    Formulas follow the metafor ``rma.uni`` help page and Viechtbauer (2005):

    - DL (DerSimonian & Laird, 1986): ``(Q - (k - p)) / tr P`` with ``P`` from weights
      ``1/vi``;
    - HE (Hedges, 1983; Hedges & Olkin, 1985): ``(y'(I - H)y - tr((I - H)V)) / (k - p)``
      with the unweighted hat matrix ``H``;
    - SJ (Sidik & Jonkman, 2005): ``tau0^2 y'P(tau0^2)y / (k - p)``,
      ``tau0^2 = sum((y - mean y)^2) / k``;
    - PM: :func:`_tau2_pm`; REML: :func:`_tau2_reml` (started at ``max(0, HE)``);
    - tau^2 truncated at 0; standard errors of tau^2 as metafor computes them.

    Then ``beta = (X'WX)^{-1} X'Wy`` with ``W = diag(1/(vi + tau2))``. With ``test="knha"``
    (Knapp & Hartung, 2003) the covariance is multiplied by ``s2w = y'P y / (k - p)``, *not*
    truncated at 1 (metafor's default), or by 0 when ``y'Py <= eps`` (all estimates equal);
    Wald tests use ``t(k - p)`` and the omnibus test ``F(m, k - p)`` with ``QM / m``. With
    k = 1 metafor fits tau^2 = 0 and uses ``z``.

    Heterogeneity: ``QE = y'P y`` with weights ``1/vi`` (Cochran's Q), ``vt = (k - p) / tr P``
    ("typical" within-study variance); random effects ``I2 = 100 tau2/(tau2 + vt)``,
    ``H2 = (tau2 + vt)/vt``; common effect ``I2 = 100 max(0, (QE - (k-p))/QE)``,
    ``H2 = QE/(k - p)`` (Higgins & Thompson, 2002). With k = p: ``QE = 0``, ``I2 = 0``,
    ``H2 = 1``.

    References: DerSimonian, R., & Laird, N. (1986). Meta-analysis in clinical trials.
    *Controlled Clinical Trials*, 7, 177-188. Hedges, L. V. (1983). A random effects model for
    effect sizes. *Psychological Bulletin*, 93(2), 388-395. Hedges, L. V., & Olkin, I. (1985).
    *Statistical Methods for Meta-Analysis*. Sidik, K., & Jonkman, J. N. (2005). Simple
    heterogeneity variance estimation for meta-analysis. *JRSS C*, 54(2), 367-384. Knapp, G.,
    & Hartung, J. (2003). Improved tests for a random effects meta-regression with a single
    covariate. *Statistics in Medicine*, 22, 2693-2710. Higgins, J. P. T., & Thompson, S. G. (2002).
    Quantifying heterogeneity in a meta-analysis. *Statistics in Medicine*, 21, 1539-1558.
    """
    k, p = X.shape
    warn: list[str] = []
    if test == "knha" and k == 1:
        warn.append('k = 1: Knapp-Hartung needs k >= 2, used test="z" instead as metafor does')
        test = "z"
    if test == "knha" and method == "FE":
        warn.append(
            "Knapp-Hartung is not meant for a common-effect (FE) model, computed anyway as "
            "metafor does"
        )
    if not (p == 1 and k == 1):
        needed = p if method == "FE" else p + 1
        if k < needed:
            raise ValueError(
                f"too few studies: method={method!r} with {p} coefficient(s) needs at least "
                f"{needed} studies; got {k}"
            )

    ymc = _center(yi)
    tau2 = 0.0
    se_tau2: float | None = None
    if k > 1 and method != "FE":
        dfr = k - p
        if method in ("HE", "REML"):
            # H0 = I - X (X'X)^{-1} X' (unweighted residual maker), used without forming it:
            # y'H0y = y'y - (X'y)'(X'X)^{-1}(X'y), tr(H0 V) = sum(vi) - sum(vi * h_ii)
            xtx_inv_xt = np.linalg.solve(X.T @ X, X.T)
            hat_diag = np.einsum("ij,ji->i", X, xtx_inv_xt)
            xty = X.T @ ymc
            tr_pv = float(np.sum(vi) - np.sum(vi * hat_diag))
            he = (float(ymc @ ymc) - float(xty @ (xtx_inv_xt @ ymc)) - tr_pv) / dfr
            if method == "HE":
                H0 = np.eye(k) - X @ xtx_inv_xt
                PV = H0 * vi[None, :]
                tau2 = max(0.0, he)
                se_tau2 = math.sqrt(
                    (2 * float(np.sum(PV * PV.T)) + 4 * tau2 * tr_pv + 2 * tau2**2 * dfr) / dfr**2
                )
            else:
                tau2 = max(0.0, _tau2_reml(ymc, vi, X, he, con, warn))
                se_tau2 = math.sqrt(2.0 / _pstats(X, 1.0 / (vi + tau2), ymc).tr_pp)
        elif method == "DL":
            ps = _pstats(X, 1.0 / vi, ymc)
            tr_p = ps.tr_p
            tau2 = max(0.0, (ps.ypy - dfr) / tr_p)
            se_tau2 = math.sqrt((2 * dfr + 4 * tau2 * tr_p + 2 * tau2**2 * ps.tr_pp) / tr_p**2)
        elif method == "SJ":
            tau2_0 = float(np.mean((ymc - np.mean(ymc)) ** 2))
            P = _pmat(X, 1.0 / (vi + tau2_0))
            PV = P * vi[None, :]
            tau2 = max(0.0, tau2_0 * _qform(P, ymc) / dfr)
            se_tau2 = math.sqrt(
                tau2_0**2
                / dfr**2
                * (
                    2 * float(np.sum(PV * PV.T))
                    + 4 * tau2 * float(np.sum(PV * P))
                    + 2 * tau2**2 * float(np.sum(P * P))
                )
            )
        else:  # PM
            tau2 = max(0.0, _tau2_pm(ymc, vi, X, yi, con))
            w = 1.0 / (vi + tau2)
            se_tau2 = math.sqrt(2.0 * k**2 / dfr / float(np.sum(w)) ** 2)

    # fixed effects
    w = 1.0 / (vi + tau2)
    WX = X * w[:, None]
    vb = np.linalg.inv(X.T @ WX)
    beta = vb @ (WX.T @ yi)
    s2w: float | None = None
    ddf: int | None = None
    if test == "knha":
        rss = float(np.sum(w * (yi - X @ beta) ** 2))
        s2w = 0.0 if rss <= _EPS else rss / (k - p)
        vb = s2w * vb
        ddf = k - p
    se = np.sqrt(np.diag(vb))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = beta / se
    alpha = 1.0 - level
    if ddf is not None:
        pval = 2.0 * sps.t.sf(np.abs(stat), ddf)
        crit = float(sps.t.isf(alpha / 2.0, ddf))
    else:
        pval = 2.0 * sps.norm.sf(np.abs(stat))
        crit = float(sps.norm.isf(alpha / 2.0))
    ci_lb = beta - crit * se
    ci_ub = beta + crit * se

    # omnibus test of the moderators (all coefficients but the intercept; the intercept alone
    # for an intercept-only model)
    btt = np.arange(1, p) if p > 1 else np.array([0])
    m = int(btt.size)
    b = beta[btt]
    try:
        chol = np.linalg.cholesky(vb[np.ix_(btt, btt)])
        u = np.linalg.solve(chol, b)
        qm = float(u @ u)
    except np.linalg.LinAlgError:
        qm = math.nan
    if ddf is not None:
        qm = qm / m
        qm_pval = float(sps.f.sf(qm, m, ddf))
    else:
        qm_pval = float(sps.chi2.sf(qm, m))

    # heterogeneity
    if k > p:
        ps = _pstats(X, 1.0 / vi, ymc)
        qe = max(0.0, ps.ypy)
        qe_pval = float(sps.chi2.sf(qe, k - p))
        vt = (k - p) / ps.tr_p
        if method == "FE":
            i2 = 0.0 if qe <= 0.0 else max(0.0, 100.0 * (qe - (k - p)) / qe)
            h2 = qe / (k - p)
        else:
            i2 = 100.0 * tau2 / (vt + tau2)
            h2 = tau2 / vt + 1.0
    else:
        qe, qe_pval, i2, h2, vt = 0.0, 1.0, 0.0, 1.0, 0.0

    return _Fit(
        k=k,
        p=p,
        beta=beta,
        vb=vb,
        se=se,
        stat=stat,
        pval=pval,
        ci_lb=ci_lb,
        ci_ub=ci_ub,
        crit=crit,
        test=test,
        ddf=ddf,
        s2w=s2w,
        tau2=float(tau2),
        se_tau2=se_tau2,
        qe=float(qe),
        qe_df=k - p,
        qe_pval=qe_pval,
        i2=float(i2),
        h2=float(h2),
        vt=float(vt),
        qm=qm,
        qm_df=m,
        qm_df2=ddf,
        qm_pval=qm_pval,
        weights=w,
        warnings=tuple(warn),
    )


# --------------------------------------------------------------------------------------------
# pooling
# --------------------------------------------------------------------------------------------


_POOLED_SCALARS: tuple[str, ...] = (
    "measure",
    "method",
    "test",
    "level",
    "k",
    "n_total",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "estimate_t",
    "se",
    "ci_low_t",
    "ci_high_t",
    "pi_low_t",
    "pi_high_t",
    "stat",
    "df",
    "pvalue",
    "s2w",
    "tau2",
    "tau",
    "se_tau2",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_pvalue",
    "vt",
)


@dataclass(frozen=True)
class PooledResult:
    """A pooled proportion or effect (``rma.uni`` intercept-only model), back-transformed.

    Reporting scale: ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high`` (the
    proportion for ``PLO``/``PFT``/``PR``/``PAS``; the ratio for :data:`RATIO_MEASURES`; the
    difference itself for :data:`DIFFERENCE_MEASURES`). Analysis (transformed, ``yi``) scale:
    ``estimate_t``, ``se``, ``ci_low_t``, ``ci_high_t``, ``pi_low_t``, ``pi_high_t`` (log ratios
    for ratio measures). Prediction intervals are ``None`` for ``method="FE"`` (metafor gives
    none there).

    Attributes
    ----------
    measure, method : str
        Outcome measure and tau^2 estimator.
    test : str
        Test actually used (``"knha"`` falls back to ``"z"`` when k = 1, with a warning).
    level : float
        Confidence level of the CI and PI.
    k : int
        Number of studies in the fit.
    n_total : int or None
        Participants in those studies (sum of the totals); None when not known (effects
        pooled from ``yi``/``vi`` without sample sizes).
    labels : tuple of str
        Study labels.
    weights : tuple of float
        Weight of each study in percent, ``100 w_i / sum(w)``, ``w_i = 1/(v_i + tau^2)``.
    stat, pvalue : float
        Wald statistic (z or t) of the transformed estimate against 0, and its two-sided p.
    df : float or None
        Degrees of freedom of the t distribution (``k - 1``) with Knapp-Hartung, else None
        (fractional in a multilevel fit with cluster-robust inference: Satterthwaite's).
    s2w : float or None
        Knapp-Hartung scale factor (None with ``test="z"``).
    tau2, tau, se_tau2 : float
        Between-study variance, its square root, and its standard error (None for FE, k = 1).
    i2, h2 : float
        I^2 (percent) and H^2 as metafor defines them (see :func:`_rma`).
    q, q_df, q_pvalue : float, int or None, float
        Cochran's Q test of heterogeneity (``q_df`` is None only where metafor reports no df:
        Mantel-Haenszel and Peto results with at most one informative study).
    vt : float or None
        metafor's "typical" within-study variance ``(k - 1) sum(w) / ((sum w)^2 - sum(w^2))``,
        ``w = 1/vi``, on which I^2 and H^2 of random-effects fits rest (0 when k = 1).
    warnings : tuple of str
        What metafor would warn about (and any fallback taken).
    """

    measure: str
    method: str
    test: str
    level: float
    k: int
    n_total: int | None
    estimate: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    estimate_t: float
    se: float
    ci_low_t: float
    ci_high_t: float
    pi_low_t: float | None
    pi_high_t: float | None
    stat: float
    df: float | None
    pvalue: float
    s2w: float | None
    tau2: float
    tau: float
    se_tau2: float | None
    i2: float
    h2: float
    q: float
    q_df: int | None
    q_pvalue: float
    weights: tuple[float, ...] = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    warnings: tuple[str, ...] = ()
    vt: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Scalar attributes as a ``dict`` (``None`` for undefined values), plus ``warnings``."""
        out: dict[str, Any] = {name: getattr(self, name) for name in _POOLED_SCALARS}
        out["warnings"] = "; ".join(self.warnings)  # the messages contain no "; "
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the scalar attributes (undefined values as NaN)."""
        row = {k: (math.nan if v is None else v) for k, v in self.to_dict().items()}
        return pd.DataFrame([row])

    def weights_frame(self) -> pd.DataFrame:
        """Per-study weights: columns ``study`` and ``weight`` (percent)."""
        return pd.DataFrame({"study": list(self.labels), "weight": list(self.weights)})


def _pooled_from_fit(
    fit: _Fit,
    measure: str,
    method: str,
    level: float,
    n_total: int | None,
    bt_ni: np.ndarray | None,
    labels: tuple[str, ...],
) -> PooledResult:
    est = float(fit.beta[0])
    se = float(fit.se[0])
    pi_lo: float | None = None
    pi_hi: float | None = None
    if method != "FE":
        # predict.rma: pred -/+ crit sqrt(se^2 + tau2), crit from z or t(k - p).
        half = fit.crit * math.sqrt(se**2 + fit.tau2)
        pi_lo, pi_hi = est - half, est + half
    w = fit.weights
    ci_lo, ci_hi = float(fit.ci_lb[0]), float(fit.ci_ub[0])
    return PooledResult(
        measure=measure,
        method=method,
        test=fit.test,
        level=level,
        k=fit.k,
        n_total=n_total,
        estimate=_bt(est, measure, bt_ni),
        ci_low=_bt(ci_lo, measure, bt_ni),
        ci_high=_bt(ci_hi, measure, bt_ni),
        pi_low=_bt(pi_lo, measure, bt_ni),
        pi_high=_bt(pi_hi, measure, bt_ni),
        estimate_t=est,
        se=se,
        ci_low_t=ci_lo,
        ci_high_t=ci_hi,
        pi_low_t=pi_lo,
        pi_high_t=pi_hi,
        stat=float(fit.stat[0]),
        df=fit.ddf,
        pvalue=float(fit.pval[0]),
        s2w=fit.s2w,
        tau2=fit.tau2,
        tau=math.sqrt(fit.tau2),
        se_tau2=fit.se_tau2,
        i2=fit.i2,
        h2=fit.h2,
        q=fit.qe,
        q_df=fit.qe_df,
        q_pvalue=fit.qe_pval,
        weights=tuple(float(x) for x in 100.0 * w / np.sum(w)),
        labels=labels,
        warnings=fit.warnings,
        vt=fit.vt,
    )


def _check_common(
    events: Any, totals: Any, measure: Any, method: Any, test: Any, level: Any, convergence: Any
) -> tuple[np.ndarray, np.ndarray, str, str, str, float, _Control]:
    xi, ni = _check_counts(events, totals)
    measure = _check_choice(measure, "measure", MEASURES, upper=True)
    method = _check_choice(method, "method", METHODS, upper=True)
    test = _check_choice(test, "test", TESTS, upper=False)
    level = _check_level(level)
    convergence = _check_choice(convergence, "convergence", CONVERGENCE, upper=False)
    return xi, ni, measure, method, test, level, _CONTROLS[convergence]


def pool_proportions(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    measure: str = "PLO",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    *,
    convergence: str = "tight",
) -> PooledResult:
    """Pool single proportions: metafor's ``rma(yi, vi, method=..., test=...)`` after ``escalc``.

    Parameters
    ----------
    events, totals : sequence of int
        Events and participants per study.
    measure : {"PLO", "PFT", "PR", "PAS"}
        Scale of the analysis (see :func:`escalc`). Results are back-transformed to
        proportions: ``PLO`` inverse logit; ``PAS`` ``sin^2`` clamped to [0, 1]; ``PFT`` Miller's
        (1978) inverse with the harmonic mean of the totals, clamped to [0, 1]; ``PR``
        identity, *not* clamped (CI and PI may leave [0, 1]).
    method : {"REML", "FE", "DL", "PM", "HE", "SJ", "GLMM"}
        ``FE`` is the common-effect model; the others estimate tau^2 (see :func:`_rma`).
        ``GLMM`` fits the binomial-normal model instead (metafor ``rma.glmm``; needs
        ``measure="PLO"`` and ``test`` ``"z"`` or ``"t"``; ``convergence`` does not apply) and
        returns a :class:`evidence.glmm.GLMMResult` (see :func:`evidence.glmm.pool_glmm`).
    test : {"z", "knha"}
        Normal-theory inference or Knapp & Hartung (2003): t with k - 1 df and the SE scaled by
        ``s2w`` (not truncated at 1). With k = 1 metafor falls back to ``z``; so does this.
    level : float
        Confidence level in (0, 1) of the confidence and prediction intervals.
    labels : sequence of str, optional
        Study labels (default ``"1"``, ``"2"``, ...).
    convergence : {"tight", "metafor"}
        ``"tight"`` (default) converges REML and PM to about 1e-12 (REML: Fisher scoring with
        threshold 1e-12; an estimate on the boundary is exactly 0; PM:
        :func:`scipy.optimize.brentq` to machine precision). ``"metafor"`` reproduces metafor's
        *default* control (Fisher scoring threshold 1e-5; ``uniroot`` tolerance
        ``eps^0.25``) and so the values metafor prints, which can differ from the converged
        ones in the 4th significant digit.

    Returns
    -------
    PooledResult

    Notes
    -----
    The prediction interval is ``pred -/+ crit sqrt(se^2 + tau^2)`` with ``crit`` the z or
    t(k - 1) quantile, as metafor's ``predict.rma`` (not the t(k - 2) of Higgins et al., 2009).

    Raises
    ------
    ValueError
        For invalid counts, an unknown ``measure``/``method``/``test``/``convergence``, or a
        ``level`` outside (0, 1).
    """
    if isinstance(method, str) and method.upper() == "GLMM":
        from evidence.glmm import _pool_proportions_glmm  # binomial-normal model, own module

        return _pool_proportions_glmm(events, totals, measure, test, level, labels)
    xi, ni, measure, method, test, level, con = _check_common(
        events, totals, measure, method, test, level, convergence
    )
    names = _check_labels(labels, xi.size)
    yi, vi = _escalc(xi, ni, measure)
    fit = _rma(yi, vi, np.ones((xi.size, 1)), method, test, level, con)
    return _pooled_from_fit(fit, measure, method, level, int(np.sum(ni)), ni, names)


# --------------------------------------------------------------------------------------------
# leave-one-out
# --------------------------------------------------------------------------------------------


_LEAVE1OUT_COLUMNS: tuple[str, ...] = (
    "omitted",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "estimate_t",
    "se",
    "ci_low_t",
    "ci_high_t",
    "pi_low_t",
    "pi_high_t",
    "stat",
    "df",
    "pvalue",
    "q",
    "q_df",
    "q_pvalue",
    "tau2",
    "i2",
    "h2",
    "warnings",
)


def leave_one_out(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    measure: str = "PLO",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    *,
    convergence: str = "tight",
    pft_ni: str = "remaining",
) -> pd.DataFrame:
    """Refit the model leaving out each study in turn, as metafor's ``leave1out()``.

    Parameters
    ----------
    events, totals, measure, method, test, level, labels, convergence
        As for :func:`pool_proportions`; at least 2 studies.
    pft_ni : {"remaining", "all"}
        Harmonic mean used to back-transform ``PFT`` results: of the k - 1 remaining studies
        (default; each row then equals :func:`pool_proportions` on those studies), or of all k
        studies, which is what ``leave1out(res, transf=transf.ipft.hm, targs=list(ni=ni))``
        does in metafor.

    Returns
    -------
    pandas.DataFrame
        One row per omitted study: ``omitted`` (label), ``k``, the proportion-scale
        ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``, the transformed-scale
        ``estimate_t``, ``se``, ``ci_low_t``, ``ci_high_t``, ``pi_low_t``, ``pi_high_t``,
        ``stat``, ``df``, ``pvalue``, ``q``, ``q_df``, ``q_pvalue``, ``tau2``, ``i2``, ``h2``
        (metafor's ``estimate, se, zval, pval, ci.lb, ci.ub, Q, Qp, tau2, I2, H2``; tau2 is 0
        for FE where metafor shows NA).
    """
    xi, ni, measure, method, test, level, con = _check_common(
        events, totals, measure, method, test, level, convergence
    )
    if xi.size < 2:
        raise ValueError(f"leave_one_out needs at least 2 studies; got {xi.size}")
    pft_ni = _check_choice(pft_ni, "pft_ni", ("remaining", "all"), upper=False)
    names = _check_labels(labels, xi.size)
    yi, vi = _escalc(xi, ni, measure)
    return _leave_one_out(yi, vi, names, measure, method, test, level, con, ni, pft_ni == "all")


def _total(ni: np.ndarray | None, sel: np.ndarray | slice = slice(None)) -> int | None:
    """Participants in the selected studies (None when the sizes are unknown)."""
    if ni is None:
        return None
    return round(float(np.sum(ni[sel])))


def _leave_one_out(
    yi: np.ndarray,
    vi: np.ndarray,
    names: tuple[str, ...],
    measure: str,
    method: str,
    test: str,
    level: float,
    con: _Control,
    ni: np.ndarray | None,
    bt_all: bool,
    warn: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Core of :func:`leave_one_out` and :func:`leave_one_out_effects` (validated input)."""
    k = yi.size
    rows = []
    for i in range(k):
        keep = np.arange(k) != i
        fit = _rma(yi[keep], vi[keep], np.ones((k - 1, 1)), method, test, level, con)
        bt_ni = None if ni is None else (ni if bt_all else ni[keep])
        kept = tuple(name for j, name in enumerate(names) if j != i)
        res = _pooled_from_fit(fit, measure, method, level, _total(ni, keep), bt_ni, kept)
        if warn:
            res = dataclasses.replace(res, warnings=(*warn, *res.warnings))
        row: dict[str, Any] = {"omitted": names[i]}
        row.update({key: (math.nan if v is None else v) for key, v in res.to_dict().items()})
        rows.append(row)
    return pd.DataFrame(rows)[list(_LEAVE1OUT_COLUMNS)]


# --------------------------------------------------------------------------------------------
# subgroups
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubgroupResult:
    """Subgroup analysis: separate per-group fits and the mixed-effects moderator model.

    Attributes
    ----------
    measure, method, test, level : str, str, str, float
        As requested (``test`` is the one the moderator model used).
    groups : tuple of str
        Group levels in sorted order (R's ``factor()`` order); the first is the reference
        level of the moderator model.
    fits : Mapping[str, PooledResult]
        Separate fit per group (its own tau^2; ``PFT`` back-transformed with that group's
        harmonic mean).
    q_between, q_between_df, q_between_pvalue : float, int, float
        Test of subgroup differences from the separate fits: Cochran's Q of the group
        estimates with weights ``1/se_g^2`` (``rma(est, sei = se, method = "FE")$QE``, the
        RevMan / ``meta::metaprop`` test), chi-square with (groups - 1) df. Under ``knha`` the
        groups' Knapp-Hartung SEs are used.
    qm, qm_df, qm_df2, qm_pvalue : float, int, int or None, float
        Omnibus moderator test of ``rma(yi, vi, mods = ~ factor(group))`` with a common
        (residual) tau^2: chi-square with ``qm_df`` df, or with ``knha`` an F statistic
        (``QM / m``) with (``qm_df``, ``qm_df2`` = k - p) df.
    coef_names, coef, coef_se : tuple
        Coefficients of the moderator model (intercept = reference group, then differences).
    tau2_resid, i2_resid, h2_resid, r2 : float
        Residual heterogeneity and the pseudo R^2 (percent; metafor ``rma.uni`` help): for
        random effects ``max(0, 100 (tau2_RE - tau2_resid) / tau2_RE)`` with ``tau2_RE`` from the
        intercept-only model; for FE the adjusted R^2 of the weighted regression.
    qe, qe_df, qe_pvalue : float, int, float
        Test for residual heterogeneity.
    group_estimate_t, group_se, group_ci_low_t, group_ci_high_t : tuple of float
        Model-based predicted value of each group (transformed scale), with SE and CI.
    group_estimate, group_ci_low, group_ci_high : tuple of float
        The same back-transformed (``PFT`` with the group's harmonic mean).
    k : int
        Number of studies.
    warnings : tuple of str
        Warnings of the moderator model and of the between-group test.
    """

    measure: str
    method: str
    test: str
    level: float
    k: int
    groups: tuple[str, ...]
    fits: Mapping[str, PooledResult] = field(repr=False)
    q_between: float
    q_between_df: int
    q_between_pvalue: float
    qm: float
    qm_df: int
    qm_df2: int | None
    qm_pvalue: float
    coef_names: tuple[str, ...]
    coef: tuple[float, ...]
    coef_se: tuple[float, ...]
    tau2_resid: float
    i2_resid: float
    h2_resid: float
    r2: float
    qe: float
    qe_df: int
    qe_pvalue: float
    group_estimate_t: tuple[float, ...]
    group_se: tuple[float, ...]
    group_ci_low_t: tuple[float, ...]
    group_ci_high_t: tuple[float, ...]
    group_estimate: tuple[float, ...]
    group_ci_low: tuple[float, ...]
    group_ci_high: tuple[float, ...]
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per group: the separate fit's columns, then the moderator model's ``model_*``.

        The columns of :meth:`PooledResult.to_frame` prefixed by nothing, plus
        ``model_estimate``, ``model_ci_low``, ``model_ci_high``, ``model_estimate_t``,
        ``model_se``, ``model_ci_low_t``, ``model_ci_high_t``.
        """
        rows = []
        for j, g in enumerate(self.groups):
            row: dict[str, Any] = {"group": g}
            row.update(self.fits[g].to_frame().iloc[0].to_dict())
            row.update(
                model_estimate=self.group_estimate[j],
                model_ci_low=self.group_ci_low[j],
                model_ci_high=self.group_ci_high[j],
                model_estimate_t=self.group_estimate_t[j],
                model_se=self.group_se[j],
                model_ci_low_t=self.group_ci_low_t[j],
                model_ci_high_t=self.group_ci_high_t[j],
            )
            rows.append(row)
        return pd.DataFrame(rows)

    def tests_frame(self) -> pd.DataFrame:
        """The two tests of subgroup differences, one row each.

        Columns ``test`` (``"between (separate fits)"`` / ``"moderator (QM)"``),
        ``distribution`` (``"chi2"`` or ``"F"``), ``statistic``, ``df1``, ``df2``, ``pvalue``.
        """
        return pd.DataFrame(
            [
                {
                    "test": "between (separate fits)",
                    "distribution": "chi2",
                    "statistic": self.q_between,
                    "df1": self.q_between_df,
                    "df2": math.nan,
                    "pvalue": self.q_between_pvalue,
                },
                {
                    "test": "moderator (QM)",
                    "distribution": "chi2" if self.qm_df2 is None else "F",
                    "statistic": self.qm,
                    "df1": self.qm_df,
                    "df2": math.nan if self.qm_df2 is None else self.qm_df2,
                    "pvalue": self.qm_pvalue,
                },
            ]
        )


def _sorted_levels(values: Sequence[Any]) -> list[Any]:
    uniq = list(dict.fromkeys(values))
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def subgroup_analysis(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    groups: Sequence[Any],
    measure: str = "PLO",
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    *,
    convergence: str = "tight",
) -> SubgroupResult:
    """Subgroup analysis by a categorical study characteristic.

    Computes (1) a separate :func:`pool_proportions` fit per group and the between-group Q
    of those fits, and (2) the mixed-effects meta-regression
    ``rma(yi, vi, mods = ~ factor(group), method=..., test=...)`` with a common residual
    tau^2 (estimated with the same ``method``; see :func:`_rma`), its omnibus moderator test
    QM and the model-based group estimates.

    Parameters
    ----------
    events, totals, measure, method, test, level, labels, convergence
        As for :func:`pool_proportions`.
    groups : sequence
        Group of each study (at least two distinct values; no missing values).

    Returns
    -------
    SubgroupResult

    Notes
    -----
    Between-group Q of the separate fits: ``Q = sum_g w_g (est_g - est_w)^2``, ``w_g = 1/se_g^2``,
    chi-square with G - 1 df (Borenstein et al., 2009, ch. 19; the RevMan test for subgroup
    differences). The moderator model uses dummy coding with the first (sorted) group as
    reference; QM tests all non-intercept coefficients (metafor ``rma.uni`` help, ``btt``).
    Pseudo R^2 follows metafor (help ``rma.uni``, after Raudenbush, 2009): the proportional
    reduction of tau^2 relative to the intercept-only model with the same estimator, truncated
    at 0 (0 when that tau^2 is 0); for FE, the adjusted R^2 of the weighted least-squares
    regression with weights ``1/vi``.

    References: Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009).
    *Introduction to Meta-Analysis*. Wiley. Raudenbush, S. W. (2009). Analyzing effect sizes:
    random-effects models. In H. Cooper, L. V. Hedges, & J. C. Valentine (Eds.), *The Handbook
    of Research Synthesis and Meta-Analysis* (2nd ed., pp. 295-315).
    """
    xi, ni, measure, method, test, level, con = _check_common(
        events, totals, measure, method, test, level, convergence
    )
    names = _check_labels(labels, xi.size)
    gvals = _check_groups(groups, xi.size)
    yi, vi = _escalc(xi, ni, measure)
    return _subgroups(yi, vi, gvals, names, measure, method, test, level, con, ni)


def _check_groups(groups: Any, k: int) -> list[Any]:
    if isinstance(groups, (str, bytes)) or np.ndim(groups) != 1:
        raise ValueError(f"groups must be a 1-D sequence with one group per study; got {groups!r}")
    gvals = list(groups)
    if len(gvals) != k:
        raise ValueError(f"groups must have one entry per study ({k}); got {len(gvals)} entries")
    for i, g in enumerate(gvals):
        if g is None or (isinstance(g, float) and math.isnan(g)):
            raise ValueError(f"groups must not contain missing values; got {g!r} at position {i}")
    return gvals


def _subgroups(
    yi: np.ndarray,
    vi: np.ndarray,
    gvals: list[Any],
    names: tuple[str, ...],
    measure: str,
    method: str,
    test: str,
    level: float,
    con: _Control,
    ni: np.ndarray | None,
    warn_first: tuple[str, ...] = (),
) -> SubgroupResult:
    """Core of :func:`subgroup_analysis` and :func:`subgroup_effects` (validated input)."""
    levels = _sorted_levels(gvals)
    if len(levels) < 2:
        raise ValueError(f"groups must contain at least 2 distinct groups; got {len(levels)}")
    gstr = [str(g) for g in levels]
    garr = np.array([levels.index(g) for g in gvals])

    # (1) separate fits
    fits: dict[str, PooledResult] = {}
    for j, g in enumerate(gstr):
        sel = garr == j
        fit = _rma(yi[sel], vi[sel], np.ones((int(sel.sum()), 1)), method, test, level, con)
        kept = tuple(name for name, s in zip(names, sel, strict=True) if s)
        bt_ni = None if ni is None else ni[sel]
        fits[g] = _pooled_from_fit(fit, measure, method, level, _total(ni, sel), bt_ni, kept)
    warn: list[str] = []
    est = np.array([fits[g].estimate_t for g in gstr])
    sei = np.array([fits[g].se for g in gstr])
    if np.any(sei <= 0) or not np.all(np.isfinite(sei)):
        warn.append("between-group Q not computed: a group estimate has a zero or undefined SE")
        q_between, q_between_p = math.nan, math.nan
    else:
        wg = 1.0 / sei**2
        dev = _center(est) - np.sum(wg * _center(est)) / np.sum(wg)
        q_between = float(np.sum(wg * dev**2))
        q_between_p = float(sps.chi2.sf(q_between, len(gstr) - 1))

    # (2) moderator model with a common tau^2
    X = np.column_stack(
        [np.ones(yi.size)] + [(garr == j).astype(float) for j in range(1, len(gstr))]
    )
    fit = _rma(yi, vi, X, method, test, level, con)
    warn = list(warn_first) + list(fit.warnings) + warn
    if method == "FE":
        if np.all(yi == yi[0]):
            r2 = 0.0
        else:
            w0 = 1.0 / vi
            fitted = X @ (fit.beta)
            rss = float(np.sum(w0 * (yi - fitted) ** 2))
            mss = float(np.sum(w0 * (fitted - np.sum(w0 * fitted) / np.sum(w0)) ** 2))
            kk, pp = X.shape
            if kk <= pp:  # as many groups as studies: no residual degrees of freedom
                r2 = math.nan
            else:
                adj = 1.0 - (1.0 - mss / (mss + rss)) * (kk - 1) / (kk - pp)
                r2 = max(0.0, 100.0 * adj)
    else:
        tau2_re = _rma(yi, vi, np.ones((yi.size, 1)), method, test, level, con).tau2
        r2 = 0.0 if tau2_re == 0.0 else max(0.0, 100.0 * (tau2_re - fit.tau2) / tau2_re)
    pred_t, pred_se = [], []
    for j in range(len(gstr)):
        x = np.zeros(X.shape[1])
        x[0] = 1.0
        if j > 0:
            x[j] = 1.0
        pred_t.append(float(x @ fit.beta))
        pred_se.append(float(math.sqrt(x @ fit.vb @ x)))
    pred = np.array(pred_t)
    pse = np.array(pred_se)
    lo_t, hi_t = pred - fit.crit * pse, pred + fit.crit * pse
    bt = [
        tuple(
            float(_bt(float(v[j]), measure, None if ni is None else ni[garr == j]))
            for j in range(len(gstr))
        )
        for v in (pred, lo_t, hi_t)
    ]
    return SubgroupResult(
        measure=measure,
        method=method,
        test=fit.test,
        level=level,
        k=int(yi.size),
        groups=tuple(gstr),
        fits=MappingProxyType(fits),
        q_between=q_between,
        q_between_df=len(gstr) - 1,
        q_between_pvalue=q_between_p,
        qm=fit.qm,
        qm_df=fit.qm_df,
        qm_df2=fit.qm_df2,
        qm_pvalue=fit.qm_pval,
        coef_names=("intercept", *(f"group[{g}]" for g in gstr[1:])),
        coef=tuple(float(b) for b in fit.beta),
        coef_se=tuple(float(s) for s in fit.se),
        tau2_resid=fit.tau2,
        i2_resid=fit.i2,
        h2_resid=fit.h2,
        r2=r2,
        qe=fit.qe,
        qe_df=fit.qe_df,
        qe_pvalue=fit.qe_pval,
        group_estimate_t=tuple(pred_t),
        group_se=tuple(pred_se),
        group_ci_low_t=tuple(float(v) for v in lo_t),
        group_ci_high_t=tuple(float(v) for v in hi_t),
        group_estimate=bt[0],
        group_ci_low=bt[1],
        group_ci_high=bt[2],
        warnings=tuple(warn),
    )


# --------------------------------------------------------------------------------------------
# effect sizes (contrasts): yi / vi in, the same results out
# --------------------------------------------------------------------------------------------


def _as_effect_values(values: Any, name: str) -> np.ndarray:
    """``values`` as a new 1-D float array; None and NaN stay missing (NaN)."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence with one value per study; got {values!r}")
    original = list(values)
    out = np.empty(len(original), dtype=float)
    for i, x in enumerate(original):
        if x is None:
            out[i] = math.nan
            continue
        if isinstance(x, (bool, np.bool_, str, bytes)):
            raise ValueError(f"{name} must contain numbers; got {x!r} at position {i}")
        try:
            out[i] = float(x)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must contain numbers; got {x!r} at position {i}") from None
    if out.size == 0:
        raise ValueError(f"{name} must contain at least one study; got an empty sequence")
    return out


def _study(names: tuple[str, ...], i: int, labelled: bool) -> str:
    """How an error message names study ``i``: its label and position, or its position."""
    return f"study {names[i]!r} (position {i})" if labelled else f"study at position {i}"


def _check_effects(
    yi: Any, vi: Any, labels: Any, ni: Any = None
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], np.ndarray | None, np.ndarray, tuple[str, ...]]:
    """Validate ``yi``/``vi`` (and per-study sizes ``ni``); find the studies that can be fitted.

    Returns the arrays, the labels, the mask of studies with finite ``yi`` and ``vi`` and the
    warning naming the others (metafor omits them: "Studies with NAs omitted from model
    fitting."). A finite ``vi`` must be positive. metafor refuses ``vi <= 0`` for FE and DL
    ("Division by zero when computing the inverse variance weights") and fits REML, PM, HE and
    SJ without Q, I^2 and H^2; ``evidence`` refuses it for every method (such a study, e.g. 0/n
    vs 0/m as an uncorrected RD, carries no information about the effect's variance).
    """
    y = _as_effect_values(yi, "yi")
    v = _as_effect_values(vi, "vi")
    if y.size != v.size:
        raise ValueError(
            f"yi and vi must have the same length; got {y.size} yi and {v.size} vi values"
        )
    names = _check_labels(labels, y.size)
    labelled = labels is not None
    for i, x in enumerate(v):
        if math.isfinite(x) and x <= 0.0:
            raise ValueError(
                f"vi must be positive (a sampling variance); got vi={float(x)!r} for "
                f"{_study(names, i, labelled)} (metafor's FE and DL refuse it too; leave the study "
                "out or use a continuity correction)"
            )
    sizes: np.ndarray | None = None
    if ni is not None:
        sizes = _as_effect_values(ni, "ni")
        if sizes.size != y.size:
            raise ValueError(
                f"ni must have one entry per study ({y.size}); got {sizes.size} entries"
            )
        for i, x in enumerate(sizes):
            if not (math.isfinite(x) and x > 0.0):
                raise ValueError(
                    f"ni must contain positive sample sizes; got ni={float(x)!r} for "
                    f"{_study(names, i, labelled)}"
                )
    keep = np.isfinite(y) & np.isfinite(v)
    warn: tuple[str, ...] = ()
    if not keep.all():
        omitted = [names[i] for i in np.flatnonzero(~keep)]
        noun = "study" if len(omitted) == 1 else "studies"
        warn = (
            f"{len(omitted)} {noun} with a missing yi or vi omitted from model fitting, as "
            f"metafor does: {', '.join(omitted)}",
        )
    if not keep.any():
        raise ValueError(
            f"no study has both yi and vi, nothing to pool; got {y.size} studies with a "
            "missing yi or vi"
        )
    return y, v, names, sizes, keep, warn


def _check_effect_options(
    measure: Any, method: Any, test: Any, level: Any, convergence: Any, ni: Any = None
) -> tuple[str, str, str, float, _Control]:
    measure = _check_choice(measure, "measure", (*EFFECT_MEASURES, *MEASURES), upper=True)
    if measure == "PFT" and ni is None:
        raise ValueError(
            "measure 'PFT' needs ni (the studies' sample sizes) for its back-transform; got ni=None"
        )
    method = _check_choice(method, "method", METHODS, upper=True)
    test = _check_choice(test, "test", TESTS, upper=False)
    level = _check_level(level)
    convergence = _check_choice(convergence, "convergence", CONVERGENCE, upper=False)
    return measure, method, test, level, _CONTROLS[convergence]


def pool_effects(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    n_total: int | None = None,
    ni: Sequence[float] | np.ndarray | None = None,
    convergence: str = "tight",
) -> PooledResult:
    """Pool effect sizes: metafor's ``rma(yi, vi, method=..., test=...)``.

    The same engine and result as :func:`pool_proportions` (see :func:`_rma` for every
    formula), for effects computed by :func:`evidence.effects.effect_sizes`, derived from
    reported CIs (:func:`evidence.effects.effect_from_ci`) or given directly.

    Parameters
    ----------
    yi, vi : sequence of float
        Effect sizes on the analysis scale (log ratios for :data:`RATIO_MEASURES`) and their
        sampling variances. Studies whose ``yi`` or ``vi`` is missing (None, NaN or infinite,
        as ``effect_sizes`` returns where metafor gives NA) are omitted before fitting, with a
        warning naming them, as metafor does. A finite ``vi`` must be positive.
    measure : str
        One of :data:`EFFECT_MEASURES`. Decides the reporting scale: ratio measures (``RR``,
        ``OR``, ``PETO``, ``ROM``, ``HR``) report ``estimate``, ``ci_low``, ``ci_high``,
        ``pi_low``, ``pi_high`` as ``exp`` of the log-scale values (metafor's
        ``predict(res, transf = exp)``); difference measures (``RD``, ``MD``, ``SMD``,
        ``SMDH``, ``MC``, ``SMCR``, ``SMCC``, ``GEN``) report the raw values.
    method, test, level, convergence
        As for :func:`pool_proportions`.
    labels : sequence of str, optional
        Study labels (default ``"1"``, ``"2"``, ...).
    n_total : int, optional
        Participants in the pooled studies, stored as ``n_total`` (None when unknown).
    ni : sequence of float, optional
        Per-study sample sizes, needed only to back-transform ``PFT`` (harmonic mean, as
        :func:`pool_proportions`). A proportion measure (``PLO``, ``PFT``, ``PR``, ``PAS``) is
        accepted too, for transformed proportions already combined (e.g. by
        :func:`evidence.multilevel.aggregate_effects`): its results are proportions.

    Returns
    -------
    PooledResult
        ``k`` counts the fitted studies; ``weights`` and ``labels`` are theirs.

    Raises
    ------
    ValueError
        For a malformed ``yi``/``vi``, a non-positive ``vi``, no study with both values, an
        unknown option, or too few studies for the method.

    Examples
    --------
    >>> res = pool_effects([-0.9, -1.6, -0.2], [0.33, 0.20, 0.05], measure="RR", method="DL")
    >>> round(res.estimate, 4), round(res.tau2, 4)  # metafor: 0.4320894249 0.5037068966
    (0.4321, 0.5037)
    """
    measure, method, test, level, con = _check_effect_options(
        measure, method, test, level, convergence, ni
    )
    y, v, names, sizes, keep, warn = _check_effects(yi, vi, labels, ni)
    if n_total is not None and (
        isinstance(n_total, bool) or not isinstance(n_total, (int, np.integer)) or int(n_total) < 0
    ):
        raise ValueError(f"n_total must be a non-negative whole number or None; got {n_total!r}")
    kept = tuple(name for name, ok in zip(names, keep, strict=True) if ok)
    fit = _rma(y[keep], v[keep], np.ones((int(keep.sum()), 1)), method, test, level, con)
    res = _pooled_from_fit(
        fit,
        measure,
        method,
        level,
        None if n_total is None else int(n_total),
        None if sizes is None else sizes[keep],
        kept,
    )
    if warn:
        res = dataclasses.replace(res, warnings=(*warn, *res.warnings))
    return res


def subgroup_effects(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    groups: Sequence[Any],
    *,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    ni: Sequence[float] | np.ndarray | None = None,
    convergence: str = "tight",
) -> SubgroupResult:
    """Subgroup analysis of effect sizes: :func:`subgroup_analysis` for ``yi``/``vi``.

    Separate :func:`pool_effects` fits per group with the between-group Q of those fits, and
    the mixed-effects moderator model ``rma(yi, vi, mods = ~ factor(group))`` (formulas and
    references at :func:`subgroup_analysis`). Ratio measures are reported on the natural
    scale (``group_estimate``, ``group_ci_low``, ``group_ci_high``; each fit's ``estimate``).

    Parameters
    ----------
    yi, vi, measure, method, test, level, labels, convergence
        As for :func:`pool_effects`; studies with a missing ``yi`` or ``vi`` are omitted first
        (with a warning), then grouped.
    groups : sequence
        Group of each study (at least two distinct values among the fitted studies).
    ni : sequence of float, optional
        Participants per study; each fit's ``n_total`` is their sum (None without ``ni``).

    Returns
    -------
    SubgroupResult
    """
    measure, method, test, level, con = _check_effect_options(
        measure, method, test, level, convergence, ni
    )
    y, v, names, sizes, keep, warn = _check_effects(yi, vi, labels, ni)
    gvals = _check_groups(groups, y.size)
    idx = np.flatnonzero(keep)
    return _subgroups(
        y[keep],
        v[keep],
        [gvals[i] for i in idx],
        tuple(names[i] for i in idx),
        measure,
        method,
        test,
        level,
        con,
        None if sizes is None else sizes[keep],
        warn,
    )


def leave_one_out_effects(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    *,
    measure: str,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    ni: Sequence[float] | np.ndarray | None = None,
    convergence: str = "tight",
) -> pd.DataFrame:
    """metafor's ``leave1out()`` for effect sizes: :func:`leave_one_out` for ``yi``/``vi``.

    Parameters
    ----------
    yi, vi, measure, method, test, level, labels, convergence
        As for :func:`pool_effects`; studies with a missing ``yi`` or ``vi`` are omitted first
        (named in every row's ``warnings``); at least 2 studies must remain.
    ni : sequence of float, optional
        Participants per study, for each row's ``n_total``.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`leave_one_out`, one row per omitted study; ``estimate``,
        ``ci_low``, ... on the reporting scale (ratios for ratio measures).
    """
    measure, method, test, level, con = _check_effect_options(
        measure, method, test, level, convergence, ni
    )
    y, v, names, sizes, keep, warn = _check_effects(yi, vi, labels, ni)
    if int(keep.sum()) < 2:
        raise ValueError(
            f"leave_one_out_effects needs at least 2 studies with yi and vi; got {int(keep.sum())}"
        )
    idx = np.flatnonzero(keep)
    return _leave_one_out(
        y[keep],
        v[keep],
        tuple(names[i] for i in idx),
        measure,
        method,
        test,
        level,
        con,
        None if sizes is None else sizes[keep],
        False,
        warn,
    )
