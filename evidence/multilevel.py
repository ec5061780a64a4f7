"""Dependent effect sizes: the three-level model, cluster-robust inference and aggregation.

Pure numerical functions (numpy, scipy; pandas only for tables): arrays in, frozen results
out, reproducing R's metafor 3.8-1 and clubSandwich 0.5.8.

Public API
----------
- :func:`pool_multilevel` -- the three-level random-effects model
  ``rma.mv(yi, vi, random = ~ 1 | study/es_id, method)`` (rows within studies), with optional
  cluster-robust inference by study (``robust(res, cluster = study)``, CR0/CR1, or
  clubSandwich's CR2 with Satterthwaite degrees of freedom), as a :class:`MultilevelResult`.
- :func:`aggregate_effects` -- one combined effect per study under compound symmetry
  (``aggregate(escalc, cluster = study, struct = "CS", rho)``).

Every value is validated against metafor in ``tests/test_multilevel.py``.

References
----------
Konstantopoulos, S. (2011). Fixed effects and variance components estimation in three-level
meta-analysis. *Research Synthesis Methods*, 2(1), 61-76. https://doi.org/10.1002/jrsm.35

Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software*, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

Hedges, L. V., Tipton, E., & Johnson, M. C. (2010). Robust variance estimation in
meta-regression with dependent effect size estimates. *Research Synthesis Methods*, 1(1),
39-65. https://doi.org/10.1002/jrsm.5

Pustejovsky, J. E., & Tipton, E. (2018). Small-sample methods for cluster-robust variance
estimation and hypothesis testing in fixed effects models. *Journal of Business & Economic
Statistics*, 36(4), 672-683. https://doi.org/10.1080/07350015.2016.1247004

metafor help pages ``rma.mv``, ``robust``, ``aggregate.escalc``, ``weights.rma``,
``profile.rma``/``confint.rma`` and the metafor website's note "I^2 for multilevel and
multivariate models" (https://www.metafor-project.org/doku.php/tips:i2_multilevel_multivariate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, optimize
from scipy import stats as sps

from evidence.stats import (
    PooledResult,
    _check_choice,
    _check_labels,
    _check_level,
    information_criteria,
)

__all__ = [
    "ML_METHODS",
    "ML_TESTS",
    "ROBUST_TYPES",
    "MultilevelPooledResult",
    "MultilevelResult",
    "aggregate_effects",
    "as_pooled",
    "pool_multilevel",
]

ML_METHODS: tuple[str, ...] = ("REML", "ML")
"""Estimators of the variance components of :func:`pool_multilevel`."""

ML_TESTS: tuple[str, ...] = ("z", "t")
"""Model-based inference of :func:`pool_multilevel`: normal, or t with k - p df."""

ROBUST_TYPES: tuple[str, ...] = ("CR0", "CR1", "CR2")
"""Cluster-robust variance estimators (``robust=True`` means ``"CR1"``, metafor's default)."""


# --------------------------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------------------------


def _as_numbers(values: Any, name: str) -> np.ndarray:
    """``values`` as a new 1-D float array of finite numbers, or a ValueError naming ``name``."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence of numbers; got {values!r}")
    original = list(values)
    try:
        arr = np.array(original, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must contain only numbers; got {original!r}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one effect; got an empty sequence")
    for i, x in enumerate(arr):
        if not math.isfinite(x):
            raise ValueError(
                f"{name} must contain only finite numbers; got {original[i]!r} at position {i}"
            )
    return arr


def _check_effects(yi: Any, vi: Any) -> tuple[np.ndarray, np.ndarray]:
    y = _as_numbers(yi, "yi")
    v = _as_numbers(vi, "vi")
    if y.size != v.size:
        raise ValueError(f"yi and vi must have the same length; got {y.size} yi and {v.size} vi")
    for i, x in enumerate(v):
        if x <= 0.0:
            raise ValueError(
                "vi must contain only positive sampling variances; "
                f"got {float(x)!r} at position {i}"
            )
    return y, v


def _check_groups(values: Any, name: str, k: int) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (order of first appearance) and the distinct values of a grouping."""
    if values is None or isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence with one entry per effect; got {values!r}")
    vals = list(values)
    if len(vals) != k:
        raise ValueError(f"{name} must have one entry per effect ({k}); got {len(vals)} entries")
    for i, g in enumerate(vals):
        if g is None or (isinstance(g, float) and math.isnan(g)) or g is pd.NA:
            raise ValueError(f"{name} must not contain missing values; got {g!r} at position {i}")
    codes: dict[Any, int] = {}
    out = np.empty(k, dtype=np.int64)
    for i, g in enumerate(vals):
        try:
            out[i] = codes.setdefault(g, len(codes))
        except TypeError:
            raise ValueError(
                f"{name} must contain hashable labels (str or int); got {g!r} at position {i}"
            ) from None
    return out, list(codes)


# --------------------------------------------------------------------------------------------
# the rma.mv engine (intercept-only by default, X general)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Group:
    """All studies with the same number of rows ``n``, stacked for batched linear algebra."""

    rows: np.ndarray  # (nb, n) row indices, one study per line
    comps: np.ndarray  # (m, nb, n, n) 0/1 matrices: same study (all ones), same inner effect
    y: np.ndarray  # (nb, n)
    v: np.ndarray  # (nb, n)
    X: np.ndarray  # (nb, n, p)


@dataclass(frozen=True)
class _Design:
    y: np.ndarray
    v: np.ndarray
    X: np.ndarray
    groups: tuple[_Group, ...]
    n_clusters: int

    @property
    def k(self) -> int:
        return int(self.y.size)

    @property
    def p(self) -> int:
        return int(self.X.shape[1])


def _design(y: np.ndarray, v: np.ndarray, X: np.ndarray, s: np.ndarray, e: np.ndarray) -> _Design:
    by_size: dict[int, list[np.ndarray]] = {}
    for j in range(int(s.max()) + 1):
        rows = np.flatnonzero(s == j)
        by_size.setdefault(int(rows.size), []).append(rows)
    groups = []
    for _, blocks in sorted(by_size.items()):
        rows = np.stack(blocks)
        ee = e[rows]
        same_effect = (ee[:, :, None] == ee[:, None, :]).astype(float)
        comps = np.stack([np.ones_like(same_effect), same_effect])
        groups.append(_Group(rows, comps, y[rows], v[rows], X[rows]))
    return _Design(y, v, X, tuple(groups), int(s.max()) + 1)


@dataclass(frozen=True)
class _GState:
    """Per-group pieces of a fit: inverse and Cholesky factor of V, residuals."""

    W: np.ndarray  # (nb, n, n)
    L: np.ndarray  # (nb, n, n) lower Cholesky factor of V
    r: np.ndarray  # (nb, n) residuals y - X beta


@dataclass(frozen=True)
class _State:
    """Everything derived from V(sigma2) = diag(v) + sum_j sigma2_j A_j for one sigma2."""

    sigma2: np.ndarray
    g: tuple[_GState, ...]
    xwx: np.ndarray
    beta: np.ndarray
    vb: np.ndarray
    resid: np.ndarray
    rss: float
    ll_ml: float
    ll_reml: float


def _state(d: _Design, sigma2: np.ndarray) -> _State:
    """GLS fit for given variance components (metafor ``.ll.rma.mv``; Konstantopoulos, 2011).

    Raises ``numpy.linalg.LinAlgError`` if V is not positive definite.
    """
    p = d.p
    xwx = np.zeros((p, p))
    xwy = np.zeros(p)
    logdet = 0.0
    parts = []
    for g in d.groups:
        n = g.rows.shape[1]
        V = g.v[:, :, None] * np.eye(n) + np.einsum("j,jbrc->brc", sigma2, g.comps)
        L = np.linalg.cholesky(V)
        W = np.linalg.inv(V)
        W = (W + np.swapaxes(W, 1, 2)) / 2.0
        WX = W @ g.X
        xwx += np.einsum("brp,brq->pq", g.X, WX)
        xwy += np.einsum("brp,br->p", WX, g.y)
        logdet += 2.0 * float(np.sum(np.log(np.diagonal(L, axis1=1, axis2=2))))
        parts.append((W, L))
    vb = np.linalg.inv(xwx)
    vb = (vb + vb.T) / 2.0
    beta = vb @ xwy
    resid = d.y - d.X @ beta
    gs = []
    rss = 0.0
    for g, (W, L) in zip(d.groups, parts, strict=True):
        r = resid[g.rows]
        rss += float(np.einsum("br,brc,bc->", r, W, r))
        gs.append(_GState(W, L, r))
    k = d.k
    ll_ml = -0.5 * k * math.log(2.0 * math.pi) - 0.5 * logdet - 0.5 * rss
    # metafor's REML log-likelihood keeps + 1/2 log|X'X| (its REMLf = TRUE default)
    ll_reml = (
        -0.5 * (k - p) * math.log(2.0 * math.pi)
        + 0.5 * np.linalg.slogdet(d.X.T @ d.X)[1]
        - 0.5 * logdet
        - 0.5 * np.linalg.slogdet(xwx)[1]
        - 0.5 * rss
    )
    return _State(
        sigma2=sigma2.copy(),
        g=tuple(gs),
        xwx=xwx,
        beta=beta,
        vb=vb,
        resid=resid,
        rss=rss,
        ll_ml=float(ll_ml),
        ll_reml=float(ll_reml),
    )


def _score_info(d: _Design, st: _State, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and expected information of the (restricted) log-likelihood in sigma2.

    ``dl/dsigma2_j = (r'W A_j W r - tr(P A_j)) / 2`` and
    ``I_jl = tr(P A_j P A_l) / 2`` with ``P = W - W X (X'WX)^{-1} X'W`` for REML, and ``W`` in
    place of ``P`` in both traces for ML (Harville, 1977). ``W = V^{-1}`` is block diagonal,
    so every product is formed study by study (batched over studies of equal size).

    Harville, D. A. (1977). Maximum likelihood approaches to variance component estimation
    and to related problems. *JASA*, 72(358), 320-338.
    """
    m = d.groups[0].comps.shape[0]
    p = d.p
    q = np.zeros(m)
    t = np.zeros(m)
    C = np.zeros((m, p, p))
    I1 = np.zeros((m, m))
    D = np.zeros((m, m, p, p))
    for g, gs in zip(d.groups, st.g, strict=True):
        W = gs.W
        wr = np.einsum("brc,bc->br", W, gs.r)
        WX = W @ g.X
        WA = W[None] @ g.comps  # (m, nb, n, n)
        q += np.einsum("br,jbrc,bc->j", wr, g.comps, wr)
        t += np.einsum("brc,jbrc->j", W, g.comps)
        C += np.einsum("brp,jbrc,bcq->jpq", WX, g.comps, WX)
        I1 += np.einsum("jbrc,lbcr->jl", WA, WA)
        if reml:
            D += np.einsum("brp,jbrc,lbcs,bsq->jlpq", WX, g.comps, WA, WX)
    vb = st.vb
    if reml:
        trp = t - np.einsum("pq,jqp->j", vb, C)
        VC = np.einsum("pq,jqr->jpr", vb, C)
        info = 0.5 * (I1 - 2.0 * np.einsum("pq,jlqp->jl", vb, D) + np.einsum("jpq,lqp->jl", VC, VC))
        grad = 0.5 * (q - trp)
    else:
        info = 0.5 * I1
        grad = 0.5 * (q - t)
    return grad, (info + info.T) / 2.0


def _loglik(st: _State, reml: bool) -> float:
    return st.ll_reml if reml else st.ll_ml


def _fisher_scoring(
    d: _Design, start: np.ndarray, reml: bool, fixed: np.ndarray | None = None
) -> tuple[_State, int, bool]:
    """Maximise the (restricted) likelihood over sigma2 >= 0 by Fisher scoring.

    Each step solves ``I delta = grad`` on the free components (those above 0, or at 0 with a
    positive score), is shortened so no component becomes negative (that component is then
    put on the boundary 0) and halved until the log-likelihood does not decrease. Stops when
    every change is below ``1e-11 (sigma2_j + 1e-6 median(v))``. ``fixed`` marks components
    held at their start value (profile likelihood).
    """
    fixed = np.zeros(start.size, dtype=bool) if fixed is None else fixed
    sig = np.maximum(start.astype(float), 0.0)
    st = _state(d, sig)
    ll = _loglik(st, reml)
    scale = 1e-6 * float(np.median(d.v))
    for it in range(1, 2001):
        grad, info = _score_info(d, st, reml)
        free = ~fixed & ((sig > 0.0) | (grad > 0.0))
        if not np.any(free):
            return st, it, True
        step = np.zeros_like(sig)
        sub = info[np.ix_(free, free)]
        try:
            step[free] = np.linalg.solve(sub, grad[free])
        except np.linalg.LinAlgError:
            step[free] = np.linalg.lstsq(sub, grad[free], rcond=None)[0]
        # keep sigma2 >= 0: shorten the step to the boundary
        frac = 1.0
        neg = free & (sig + step < 0.0)
        if np.any(neg):
            frac = float(np.min(sig[neg] / -step[neg]))
        accepted = False
        for _ in range(60):
            new = sig + frac * step
            new[neg & (np.abs(sig + frac * step) <= 1e-15 * (1 + np.abs(sig)))] = 0.0
            new = np.maximum(new, 0.0)
            try:
                cand = _state(d, new)
            except np.linalg.LinAlgError:
                frac /= 2.0
                continue
            cll = _loglik(cand, reml)
            if cll >= ll - 1e-12 * max(1.0, abs(ll)):
                accepted = True
                break
            frac /= 2.0
        if not accepted:
            return st, it, True  # no ascent possible: at the optimum up to rounding
        change = np.abs(new - sig)
        sig, st, ll = new, cand, cll
        if np.all(change <= 1e-11 * (sig + scale)):
            return st, it, True
    return st, 2000, False


def _fit_components(d: _Design, reml: bool, warn: list[str]) -> _State:
    """Maximise over sigma2 from several starting points and keep the best fit."""
    w = 1.0 / d.v
    ybar = float(np.sum(w * d.y) / np.sum(w))
    qe = float(np.sum(w * (d.y - ybar) ** 2))
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max((qe - (d.k - 1)) / c, 0.0) if c > 0 else 0.0
    total = max(tau2, float(np.var(d.y)), 1e-4 * float(np.median(d.v)))
    starts = [
        np.array([total / 2.0, total / 2.0]),
        np.array([0.9 * total, 0.1 * total]),
        np.array([0.1 * total, 0.9 * total]),
    ]
    best: _State | None = None
    converged = False
    for s0 in starts:
        st, _, ok = _fisher_scoring(d, s0, reml)
        if best is None or _loglik(st, reml) > _loglik(best, reml) + 1e-10:
            best, converged = st, ok
    assert best is not None
    if not converged:
        warn.append("variance components: Fisher scoring stopped after 2000 iterations")
    return best


# --------------------------------------------------------------------------------------------
# cluster-robust inference
# --------------------------------------------------------------------------------------------


def _sym_power(A: np.ndarray, power: float) -> np.ndarray:
    """Symmetric matrix power by eigen-decomposition, eigenvalues <= 1e-12 set to 0.

    As clubSandwich's ``matrix_power`` (used for the CR2 adjustment ``G^{-1/2}``).
    """
    vals, vecs = np.linalg.eigh((A + A.T) / 2.0)
    pw = np.where(vals > 1e-12, np.abs(vals) ** power, 0.0)
    return (vecs * pw) @ vecs.T


@dataclass(frozen=True)
class _Robust:
    vb: np.ndarray
    df: float


def _robust(d: _Design, st: _State, kind: str) -> _Robust:
    """Cluster-robust covariance of beta, clusters = studies (the model's blocks).

    CR0/CR1 (metafor ``robust(res, cluster)``; Hedges, Tipton & Johnson, 2010):
    ``B (sum_j e_j e_j') B'`` with ``B = (X'WX)^{-1} X'W`` and ``e = y - X beta``, multiplied by
    ``n/(n - p)`` for CR1 (``adjust = TRUE``); t with ``n - p`` df (n clusters).

    CR2 (clubSandwich ``vcovCR(type = "CR2")`` with the fitted marginal V as working model,
    inverse-variance weights; Pustejovsky & Tipton, 2018, eq. 5-6; Bell & McCaffrey, 2002):
    ``A_j = R_j' [R_j (V_j - X_j M X_j') R_j']^{-1/2} R_j`` with ``V_j = R_j'R_j`` and
    ``M = (X'WX)^{-1}``; ``V_CR2 = M (sum_j X_j'W_j A_j e_j e_j' A_j W_j X_j) M``. Degrees of
    freedom of coefficient ``i`` by Satterthwaite under the working model (clubSandwich
    ``coef_test(test = "Satterthwaite")``, Pustejovsky & Tipton, 2018, sec. 3):
    ``df = (tr P)^2 / sum(P^2)`` with ``P = diag_j(|g_j|^2) - H'H``, ``g_j`` row ``i`` of
    ``M E_j L_j`` and column ``j`` of ``H`` row ``i`` of ``M E_j X_j L_M`` (``L`` lower
    Cholesky factors of ``V_j`` and ``M``, ``E_j = X_j'W_j A_j``).
    """
    n = d.n_clusters
    p = d.p
    M = st.vb
    meat = np.zeros((p, p))
    if kind in ("CR0", "CR1"):
        for g, gs in zip(d.groups, st.g, strict=True):
            u = np.einsum("brp,brc,bc->bp", g.X, gs.W, gs.r)  # X_j'W_j e_j per study
            meat += u.T @ u
        vb = M @ meat @ M
        if kind == "CR1":
            vb = vb * n / (n - p)
        return _Robust((vb + vb.T) / 2.0, float(n - p))
    # CR2
    Lm = np.linalg.cholesky(M)
    i = 0  # Satterthwaite df for the first coefficient (the pooled effect)
    g2_parts, h_parts = [], []
    for g, gs in zip(d.groups, st.g, strict=True):
        R = np.swapaxes(gs.L, 1, 2)  # V_j = R'R
        V = gs.L @ R
        XMX = np.einsum("brp,pq,bcq->brc", g.X, M, g.X)
        G = R @ (V - XMX) @ gs.L
        vals, vecs = np.linalg.eigh((G + np.swapaxes(G, 1, 2)) / 2.0)
        pw = np.where(vals > 1e-12, np.abs(vals) ** -0.5, 0.0)  # clubSandwich matrix_power
        G_half_inv = (vecs * pw[:, None, :]) @ np.swapaxes(vecs, 1, 2)
        A = gs.L @ G_half_inv @ R
        E = np.swapaxes(g.X, 1, 2) @ gs.W @ A  # (nb, p, n)
        u = np.einsum("bpr,br->bp", E, gs.r)
        meat += u.T @ u
        ME = np.einsum("pq,bqr->bpr", M, E)
        g2_parts.append(np.sum((ME @ gs.L)[:, i, :] ** 2, axis=1))
        h_parts.append((ME @ g.X @ Lm)[:, i, :])  # (nb, p)
    vb = M @ meat @ M
    vb = (vb + vb.T) / 2.0
    g2 = np.concatenate(g2_parts)
    H = np.concatenate(h_parts).T  # (p, n)
    P = np.diag(g2) - H.T @ H
    df = float(np.trace(P) ** 2 / np.sum(P * P))
    return _Robust(vb, df)


# --------------------------------------------------------------------------------------------
# profile-likelihood confidence intervals of the variance components
# --------------------------------------------------------------------------------------------


def _profile_ci(d: _Design, st: _State, reml: bool, j: int, level: float) -> tuple[float, float]:
    """Profile-likelihood CI of sigma2_j (metafor ``confint.rma.mv``).

    The bounds are where ``2 (ll_max - ll_profile(sigma2_j)) = chi2_1(level)``, the other
    component re-maximised at each value; a bound that cannot be reached (the profile stays
    above the cut-off down to sigma2_j = 0) is 0, as metafor reports it.
    """
    ll_max = _loglik(st, reml)
    crit = float(sps.chi2.ppf(level, 1))
    fixed = np.arange(st.sigma2.size) == j
    warm: dict[float, np.ndarray] = {}

    def profile(s: float) -> float:
        # re-maximise the other component, warm-started from the nearest value seen
        starts = [warm[min(warm, key=lambda t: abs(t - s))].copy()] if warm else [st.sigma2.copy()]
        best: _State | None = None
        for s0 in starts:
            s0[j] = s
            pst, _, _ = _fisher_scoring(d, s0, reml, fixed=fixed)
            if best is None or _loglik(pst, reml) > _loglik(best, reml):
                best = pst
        assert best is not None
        warm[s] = best.sigma2.copy()
        return 2.0 * (ll_max - _loglik(best, reml)) - crit

    est = float(st.sigma2[j])
    # lower bound
    if est <= 0.0 or profile(0.0) <= 0.0:
        lower = 0.0
    else:
        lower = float(optimize.brentq(profile, 0.0, est, xtol=1e-11 * est, rtol=1e-12))
    # upper bound: expand until the profile crosses the cut-off
    hi = max(est, 1e-4 * float(np.median(d.v))) * 2.0
    lo = est
    for _ in range(200):
        if profile(hi) > 0.0:
            break
        lo, hi = hi, hi * 2.0
    else:  # pragma: no cover - the likelihood always falls eventually
        return lower, math.inf
    upper = float(optimize.brentq(profile, lo, hi, xtol=1e-11 * hi, rtol=1e-12))
    return lower, upper


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


_ML_SCALARS: tuple[str, ...] = (
    "method",
    "test",
    "level",
    "robust",
    "k",
    "n_studies",
    "n_effects",
    "estimate",
    "se",
    "stat",
    "df",
    "pvalue",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "sigma2_study",
    "sigma2_row",
    "q",
    "q_df",
    "q_pvalue",
    "i2",
    "i2_study",
    "i2_row",
    "loglik",
    "deviance",
    "aic",
    "bic",
    "aicc",
)


@dataclass(frozen=True)
class MultilevelResult:
    """A three-level random-effects pooled estimate (metafor ``rma.mv``), on the yi scale.

    Attributes
    ----------
    method : {"REML", "ML"}
        Estimator of the variance components.
    test : {"z", "t"}
        Inference used: normal, or t. With ``robust`` set it is always ``"t"`` (robust df).
    level : float
        Confidence level of the CI and PI.
    robust : {None, "CR0", "CR1", "CR2"}
        Cluster-robust variance estimator (clusters = studies), or None for model-based
        inference.
    k, n_studies, n_effects : int
        Number of rows (effect sizes), of studies (clusters) and of distinct effects (the
        levels of the inner random effect: ``k`` unless ``es_id`` groups rows).
    estimate, se, stat, pvalue : float
        Pooled effect, its standard error, the Wald statistic against 0 and its two-sided p.
    df : float or None
        Degrees of freedom of the t distribution: ``k - 1`` (``test="t"``), ``n_studies - 1``
        (CR0/CR1), Satterthwaite (CR2, not an integer); None for ``z``.
    ci_low, ci_high, pi_low, pi_high : float
        Confidence and prediction intervals: ``estimate -/+ crit sqrt(se^2 + sigma2_study +
        sigma2_row)`` for the PI (metafor ``predict.rma``), ``crit`` from z or the t above.
    sigma2_study, sigma2_row : float
        Between-study variance and the variance of effects within studies.
    q, q_df, q_pvalue : float, int, float
        Cochran's Q of the common-effect model (weights ``1/vi``), ``k - 1`` df.
    i2, i2_study, i2_row : float
        I^2 in percent from the metafor website's formula:
        ``100 sigma2 / (sigma2_study + sigma2_row + (k - 1)/tr(P))``, ``P`` with ``W = diag(1/vi)``;
        ``i2`` uses the sum of both components.
    loglik, deviance, aic, bic, aicc : float
        metafor's fit statistics for ``method`` (REML: restricted log-likelihood with
        ``+ log|X'X|/2``, deviance ``-2 ll``; ML: deviance against the saturated model),
        3 parameters.
    weights : tuple of float
        Weight of each row in percent: ``100 diag(W) / tr(W)`` with ``W`` the inverse of the
        marginal covariance (metafor ``weights(res)``, ``type = "diagonal"``).
    labels : tuple of str
        Row labels.
    sigma2_study_ci, sigma2_row_ci : tuple of float or None
        Profile-likelihood CIs of the variance components (``profile_ci=True``), else None.
    warnings : tuple of str
        Anything worth knowing about the fit.
    """

    method: str
    test: str
    level: float
    robust: str | None
    k: int
    n_studies: int
    n_effects: int
    estimate: float
    se: float
    stat: float
    df: float | None
    pvalue: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    sigma2_study: float
    sigma2_row: float
    q: float
    q_df: int
    q_pvalue: float
    i2: float
    i2_study: float
    i2_row: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    weights: tuple[float, ...] = field(repr=False)
    labels: tuple[str, ...] = field(repr=False)
    sigma2_study_ci: tuple[float, float] | None = None
    sigma2_row_ci: tuple[float, float] | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Scalar attributes as a ``dict`` (``None`` for undefined values), plus ``warnings``.

        Profile CIs, when computed, appear as ``sigma2_study_ci_low`` / ``_high`` and
        ``sigma2_row_ci_low`` / ``_high``.
        """
        out: dict[str, Any] = {name: getattr(self, name) for name in _ML_SCALARS}
        for name in ("sigma2_study_ci", "sigma2_row_ci"):
            ci = getattr(self, name)
            out[f"{name}_low"] = None if ci is None else ci[0]
            out[f"{name}_high"] = None if ci is None else ci[1]
        out["warnings"] = "; ".join(self.warnings)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame of the scalar attributes (undefined values as NaN)."""
        row = {k: (math.nan if v is None else v) for k, v in self.to_dict().items()}
        return pd.DataFrame([row])

    def weights_frame(self) -> pd.DataFrame:
        """Per-row weights: columns ``label`` and ``weight`` (percent)."""
        return pd.DataFrame({"label": list(self.labels), "weight": list(self.weights)})


def _check_robust(robust: Any) -> str | None:
    if robust is None or robust is False:
        return None
    if robust is True:
        return "CR1"
    if isinstance(robust, str) and robust.upper() in ROBUST_TYPES:
        return robust.upper()
    raise ValueError(f"robust must be False, True (= 'CR1'), 'CR0', 'CR1' or 'CR2'; got {robust!r}")


def pool_multilevel(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    study: Sequence[Any] | np.ndarray,
    *,
    method: str = "REML",
    test: str = "z",
    level: float = 0.95,
    robust: bool | str | None = False,
    labels: Sequence[str] | None = None,
    es_id: Sequence[Any] | np.ndarray | None = None,
    profile_ci: bool = False,
) -> MultilevelResult:
    """Three-level random-effects model: effects within studies (metafor ``rma.mv``).

    Fits ``rma.mv(yi, vi, random = ~ 1 | study/es_id, method = method, test = test)``: the
    marginal covariance of the effects is ``V = diag(vi) + sigma2_study [same study] +
    sigma2_row [same study and es_id]`` (Konstantopoulos, 2011), the pooled effect is the GLS
    estimate ``(1'V^{-1}1)^{-1} 1'V^{-1}y`` and the variance components maximise the
    restricted (REML) or full (ML) likelihood, found by Fisher scoring with ``sigma2 >= 0``
    (metafor uses ``nlminb`` on ``log sigma2``; both reach the same optimum, metafor's to
    about 1e-6 relative).

    Parameters
    ----------
    yi, vi : sequence of float
        Effect sizes and their sampling variances (``vi > 0``), one per row.
    study : sequence
        Study (cluster) of each row; at least 2 studies and at least one study with two or
        more distinct effects, or the two components are not separately identifiable.
    method : {"REML", "ML"}
        Restricted or full maximum likelihood.
    test : {"z", "t"}
        Normal inference, or t with ``k - 1`` df (metafor ``test = "t"``) for the CI, PI and
        p-value. Ignored when ``robust`` is set (cluster-robust tests always use t).
    level : float
        Confidence level in (0, 1).
    robust : bool or {"CR0", "CR1", "CR2"}
        Cluster-robust inference by study after the fit. ``True``/``"CR1"``: metafor
        ``robust(res, cluster = study)`` (sandwich scaled by ``n/(n - 1)``, t with ``n - 1``
        df, n = number of studies); ``"CR0"``: the same without the scaling
        (``adjust = FALSE``); ``"CR2"``: ``robust(res, cluster = study, clubSandwich = TRUE)``,
        the bias-reduced CR2 sandwich with Satterthwaite df (Pustejovsky & Tipton, 2018).
        The estimate and the variance components are unchanged.
    labels : sequence of str, optional
        Row labels (default ``"1"``, ``"2"``, ...), used by :meth:`MultilevelResult.weights_frame`.
    es_id : sequence, optional
        Effect identifier within its study (the inner level of ``~ 1 | study/es_id``). By
        default every row is its own effect; rows of one study with the same ``es_id`` share
        the inner random effect (e.g. several outcomes measured on one sample).
    profile_ci : bool
        Also compute profile-likelihood CIs of both components (metafor ``confint(res)``).

    Returns
    -------
    MultilevelResult

    Raises
    ------
    ValueError
        For inputs of different lengths, non-finite ``yi``/``vi``, ``vi <= 0``, missing study
        labels, fewer than 2 studies, no study with two distinct effects, or an unknown
        ``method``/``test``/``robust``/``level``.

    Notes
    -----
    Fit statistics as metafor's ``fitstats``: REML ``ll = -(k-1)/2 log 2pi + log|X'X|/2 -
    log|V|/2 - log|X'V^{-1}X|/2 - r'V^{-1}r/2``, ``deviance = -2 ll``; ML ``ll = -k/2 log 2pi -
    log|V|/2 - r'V^{-1}r/2``, ``deviance = -2 (ll - ll_saturated)``; ``AIC = -2 ll + 6``,
    ``BIC = -2 ll + 3 log(k_eff)``, ``AICc = -2 ll + 6 k_eff/(k_eff - 4)`` with ``k_eff = k``
    (ML) or ``k - 1`` (REML).

    Examples
    --------
    >>> res = pool_multilevel([0.1, 0.3, 0.2, 0.5, 0.4], [0.01, 0.02, 0.015, 0.01, 0.02],
    ...                       ["a", "a", "b", "c", "c"])
    >>> round(res.estimate, 4), res.n_studies
    (0.2846, 3)
    """
    y, v = _check_effects(yi, vi)
    k = y.size
    method = _check_choice(method, "method", ML_METHODS, upper=True)
    test = _check_choice(test, "test", ML_TESTS, upper=False)
    level = _check_level(level)
    kind = _check_robust(robust)
    names = _check_labels(labels, k)
    s, _ = _check_groups(study, "study", k)
    n_studies = int(s.max()) + 1
    if n_studies < 2:
        raise ValueError(
            f"a multilevel model needs at least 2 studies; got {n_studies} (all {k} rows are "
            "from one study)"
        )
    if es_id is None:
        e = np.arange(k)
    else:
        inner, _ = _check_groups(es_id, "es_id", k)
        _, e = np.unique(np.column_stack([s, inner]), axis=0, return_inverse=True)
        e = np.asarray(e).reshape(-1)
    n_effects = int(np.unique(e).size)
    if n_effects == n_studies:
        raise ValueError(
            "a multilevel model needs at least one study with two or more distinct effects; "
            f"every one of the {n_studies} studies has a single effect, so the between-study "
            "and within-study variances cannot be told apart (pool the rows with a two-level "
            "model instead)"
        )
    reml = method == "REML"
    X = np.ones((k, 1))
    d = _design(y, v, X, s, e)
    warn: list[str] = []
    st = _fit_components(d, reml, warn)
    sig = st.sigma2
    p = d.p

    beta = float(st.beta[0])
    if kind is None:
        se = math.sqrt(float(st.vb[0, 0]))
        df: float | None = float(k - p) if test == "t" else None
        out_test = test
    else:
        rob = _robust(d, st, kind)
        se = math.sqrt(float(rob.vb[0, 0]))
        df = rob.df
        out_test = "t"
    alpha = 1.0 - level
    crit = float(sps.norm.isf(alpha / 2.0)) if df is None else float(sps.t.isf(alpha / 2.0, df))
    stat = beta / se if se > 0 else math.copysign(math.inf, beta) if beta != 0 else math.nan
    if df is None:
        pval = float(2.0 * sps.norm.sf(abs(stat)))
    else:
        pval = float(2.0 * sps.t.sf(abs(stat), df))
    half_pi = crit * math.sqrt(se**2 + float(np.sum(sig)))

    # heterogeneity: Cochran's Q of the common-effect model and the website I^2
    w = 1.0 / v
    ybar = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - ybar) ** 2))
    tr_p = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    vt = (k - p) / tr_p
    total = float(np.sum(sig))
    i2 = 100.0 * total / (total + vt)
    i2_parts = [100.0 * float(x) / (total + vt) for x in sig]

    # fit statistics (metafor rma.mv)
    parms = p + 2
    if reml:
        ll = st.ll_reml
        dev = -2.0 * ll
        k_eff = k - p
    else:
        ll = st.ll_ml
        ll_sat = -0.5 * k * math.log(2.0 * math.pi) - 0.5 * float(np.sum(np.log(v)))
        dev = -2.0 * (ll - ll_sat)
        k_eff = k
    aic, bic, aicc = information_criteria(ll, parms, k_eff)

    wdiag = np.empty(k)
    for g, gs in zip(d.groups, st.g, strict=True):
        wdiag[g.rows] = np.diagonal(gs.W, axis1=1, axis2=2)

    ci_study = ci_row = None
    if profile_ci:
        ci_study = _profile_ci(d, st, reml, 0, level)
        ci_row = _profile_ci(d, st, reml, 1, level)

    return MultilevelResult(
        method=method,
        test=out_test,
        level=level,
        robust=kind,
        k=k,
        n_studies=n_studies,
        n_effects=n_effects,
        estimate=beta,
        se=se,
        stat=float(stat),
        df=df,
        pvalue=pval,
        ci_low=beta - crit * se,
        ci_high=beta + crit * se,
        pi_low=beta - half_pi,
        pi_high=beta + half_pi,
        sigma2_study=float(sig[0]),
        sigma2_row=float(sig[1]),
        q=q,
        q_df=k - p,
        q_pvalue=float(sps.chi2.sf(q, k - p)),
        i2=i2,
        i2_study=i2_parts[0],
        i2_row=i2_parts[1],
        loglik=float(ll),
        deviance=float(dev),
        aic=float(aic),
        bic=float(bic),
        aicc=float(aicc),
        weights=tuple(float(x) for x in 100.0 * wdiag / np.sum(wdiag)),
        labels=names,
        sigma2_study_ci=ci_study,
        sigma2_row_ci=ci_row,
        warnings=tuple(warn),
    )


# --------------------------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------------------------


def aggregate_effects(
    yi: Sequence[float] | np.ndarray,
    vi: Sequence[float] | np.ndarray,
    study: Sequence[Any] | np.ndarray,
    *,
    rho: float = 0.5,
) -> pd.DataFrame:
    """Combine each study's rows into one effect (metafor ``aggregate.escalc``, ``struct="CS"``).

    Within a study the rows' covariance is assumed compound-symmetric: ``V_ij = vi`` on the
    diagonal and ``rho sqrt(vi vj)`` off it. The combined effect is the GLS (inverse-variance)
    mean ``yi = 1'V^{-1}y / 1'V^{-1}1`` with variance ``vi = 1 / 1'V^{-1}1`` (Borenstein et al.,
    2009, ch. 24; metafor ``aggregate`` with ``weighted = TRUE``). A study with one row is
    unchanged.

    Parameters
    ----------
    yi, vi : sequence of float
        Effect sizes and sampling variances (``vi > 0``).
    study : sequence
        Study of each row.
    rho : float
        Assumed correlation of a study's rows, in (-1, 1); with a negative ``rho`` a study
        with ``n`` rows needs ``rho > -1/(n - 1)`` for ``V`` to be positive definite.

    Returns
    -------
    pandas.DataFrame
        One row per study in order of first appearance: ``study`` (the label as given),
        ``yi``, ``vi``, ``n_rows``.

    Raises
    ------
    ValueError
        For inputs of different lengths, non-finite values, ``vi <= 0``, missing study labels,
        or ``rho`` outside (-1, 1) or making a study's ``V`` not positive definite.

    References
    ----------
    Borenstein, M., Hedges, L. V., Higgins, J. P. T., & Rothstein, H. R. (2009). *Introduction
    to Meta-Analysis*, ch. 24 (multiple outcomes or time-points within a study). Wiley.

    Examples
    --------
    >>> aggregate_effects([0.2, 0.4, 0.1], [0.04, 0.04, 0.02], ["a", "a", "b"], rho=0.5)
      study   yi    vi  n_rows
    0     a  0.3  0.03       2
    1     b  0.1  0.02       1
    """
    y, v = _check_effects(yi, vi)
    ok = isinstance(rho, (int, float, np.integer, np.floating)) and not isinstance(rho, bool)
    if not ok or not math.isfinite(float(rho)) or not (-1.0 < float(rho) < 1.0):
        raise ValueError(f"rho must be a number strictly between -1 and 1; got {rho!r}")
    r = float(rho)
    s, uniq = _check_groups(study, "study", y.size)
    out_y, out_v, out_n = [], [], []
    for j, label in enumerate(uniq):
        rows = np.flatnonzero(s == j)
        if rows.size == 1:
            out_y.append(float(y[rows[0]]))
            out_v.append(float(v[rows[0]]))
            out_n.append(1)
            continue
        sd = np.sqrt(v[rows])
        V = r * np.outer(sd, sd)
        np.fill_diagonal(V, v[rows])
        try:
            L = np.linalg.cholesky(V)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"rho = {r:g} makes the covariance of study {label!r} ({rows.size} rows) not "
                f"positive definite (with {rows.size} rows rho must exceed "
                f"{-1.0 / (rows.size - 1):.4g})"
            ) from None
        one = np.ones(rows.size)
        winv1 = linalg.cho_solve((L, True), one)
        s1 = float(one @ winv1)
        out_y.append(float(winv1 @ y[rows]) / s1)
        out_v.append(1.0 / s1)
        out_n.append(int(rows.size))
    return pd.DataFrame({"study": uniq, "yi": out_y, "vi": out_v, "n_rows": out_n})


@dataclass(frozen=True, kw_only=True)
class MultilevelPooledResult(PooledResult):
    """A multilevel fit on the reporting scale, with :class:`~evidence.stats.PooledResult`'s
    field names (so reports, charts and the workbook show it like any pooled result) plus
    both variance components. ``tau2`` is their sum (the total heterogeneity), ``i2`` the
    website formula's total, ``h2 = 100 / (100 - i2)``."""

    sigma2_study: float
    sigma2_row: float
    n_studies: int
    i2_study: float
    i2_row: float
    robust: str | None = None


def as_pooled(
    res: MultilevelResult,
    measure: str,
    *,
    n_total: int | None = None,
    ni: Sequence[float] | np.ndarray | None = None,
) -> MultilevelPooledResult:
    """``res`` on the reporting scale of ``measure`` (proportions back-transformed as
    :func:`evidence.stats.pool_proportions` does, ratios exponentiated), as a
    :class:`MultilevelPooledResult`."""
    from evidence.stats import _bt

    sizes = None if ni is None else np.asarray(ni, dtype=float)
    total = res.sigma2_study + res.sigma2_row
    h2 = math.inf if res.i2 >= 100 else 100.0 / (100.0 - res.i2)
    return MultilevelPooledResult(
        measure=measure,
        method=res.method,
        test=res.test,
        level=res.level,
        k=res.k,
        n_total=n_total,
        estimate=_bt(res.estimate, measure, sizes),
        ci_low=_bt(res.ci_low, measure, sizes),
        ci_high=_bt(res.ci_high, measure, sizes),
        pi_low=_bt(res.pi_low, measure, sizes),
        pi_high=_bt(res.pi_high, measure, sizes),
        estimate_t=res.estimate,
        se=res.se,
        ci_low_t=res.ci_low,
        ci_high_t=res.ci_high,
        pi_low_t=res.pi_low,
        pi_high_t=res.pi_high,
        stat=res.stat,
        df=res.df,
        pvalue=res.pvalue,
        s2w=None,
        tau2=total,
        tau=math.sqrt(total),
        se_tau2=None,
        i2=res.i2,
        h2=h2,
        q=res.q,
        q_df=res.q_df,
        q_pvalue=res.q_pvalue,
        weights=res.weights,
        labels=res.labels,
        warnings=res.warnings,
        sigma2_study=res.sigma2_study,
        sigma2_row=res.sigma2_row,
        n_studies=res.n_studies,
        i2_study=res.i2_study,
        i2_row=res.i2_row,
        robust=res.robust,
    )
