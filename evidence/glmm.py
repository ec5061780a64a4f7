"""Binomial-normal random-effects models (metafor ``rma.glmm``): no continuity correction.

Pure numerical functions (numpy, scipy): counts in, a frozen :class:`GLMMResult` out.

- :func:`pool_glmm` -- single proportions, metafor's ``rma.glmm(measure = "PLO", xi, ni)``,
  i.e. lme4's ``glmer(cbind(x, n - x) ~ 1 + (1 | study), family = binomial, nAGQ = 7)``:
  ``x_i ~ Binomial(n_i, expit(beta + u_i))``, ``u_i ~ N(0, tau^2)``;
- :func:`pool_glmm_or` -- two groups, ``rma.glmm(measure = "OR", model = "UM.FS")``.

Both are fitted by maximum likelihood with adaptive Gauss-Hermite quadrature. Unlike
``escalc`` + ``rma`` they need no continuity correction: studies with 0% or 100% events enter
with their raw counts.

Validated against metafor 3.8-1 / lme4 1.1-31 in ``tests/test_glmm.py``.

References
----------
Stijnen, T., Hamza, T. H., & Ozdemir, P. (2010). Random effects meta-analysis of event outcome
in the framework of the generalized linear mixed model with applications in sparse data.
*Statistics in Medicine*, 29(29), 3046-3067. https://doi.org/10.1002/sim.4040

Hamza, T. H., van Houwelingen, H. C., & Stijnen, T. (2008). The binomial distribution of
meta-analysis was preferred to model within-study variability. *Journal of Clinical
Epidemiology*, 61(1), 41-51. https://doi.org/10.1016/j.jclinepi.2007.03.016

Pinheiro, J. C., & Bates, D. M. (1995). Approximations to the log-likelihood function in the
nonlinear mixed-effects model. *Journal of Computational and Graphical Statistics*, 4(1),
12-35 (adaptive Gauss-Hermite quadrature). https://doi.org/10.1080/10618600.1995.10474663

Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects models
using lme4. *Journal of Statistical Software*, 67(1), 1-48. https://doi.org/10.18637/jss.v067.i01

metafor help page ``rma.glmm`` (metafor 3.8-1); lme4 help pages ``glmer``, ``GHrule``,
``vcov.merMod``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize
from scipy import special as spc
from scipy import stats as sps

from evidence.stats import (
    PooledResult,
    _as_counts,
    _check_choice,
    _check_counts,
    _check_labels,
    _check_level,
    _escalc,
    information_criteria,
)

__all__ = ["GLMM_TESTS", "GLMMResult", "pool_glmm", "pool_glmm_or"]

GLMM_TESTS: tuple[str, ...] = ("z", "t")
"""Inference of :func:`pool_glmm`: normal, or t with k - 1 df (metafor ``test = "t"``)."""

_EPS = float(np.finfo(float).eps)
_GLMM_EXTRA: tuple[str, ...] = (
    "q_lrt",
    "q_lrt_pvalue",
    "loglik",
    "deviance",
    "aic",
    "bic",
    "aicc",
    "nagq",
)


@dataclass(frozen=True, kw_only=True)
class GLMMResult(PooledResult):
    """A pooled proportion from the binomial-normal GLMM (metafor ``rma.glmm``, ``PLO``).

    Has every :class:`~evidence.stats.PooledResult` attribute, with these meanings:

    - ``estimate``, ``ci_low``, ``ci_high``, ``pi_low``, ``pi_high``: proportion scale
      (inverse logit); ``estimate_t``, ``se``, ``ci_low_t``, ... : logit scale;
    - ``tau2``, ``tau``: ML estimate of the between-study variance of the logits;
      ``se_tau2`` and ``s2w`` are None;
    - ``i2``, ``h2``: ``100 tau2/(tau2 + vt)`` and ``tau2/vt + 1`` with the "typical"
      within-study variance ``vt = (k - 1) sum(w)/((sum w)^2 - sum(w^2))``, ``w = 1/vi`` from
      ``escalc("PLO")`` (1/2 added to the cells of 0% and 100% studies), as metafor does;
    - ``q``, ``q_df``, ``q_pvalue``: metafor's Wald-type heterogeneity test ``QE.Wld``;
    - ``weights``: **display weights only**: a GLMM has no study weights; these are
      ``100 w_i / sum(w)`` with ``w_i = 1/(vi + tau2)`` (``vi`` as for ``vt``), the weights an
      inverse-variance random-effects model with this tau^2 would give (for forest plots);
    - ``measure = "PLO"``, ``method = "GLMM"``.

    From :func:`pool_glmm_or` (``measure = "OR"``) the back-transform is ``exp`` (odds
    ratios), ``*_t`` values are log odds ratios, and ``vi`` are ``escalc("OR")`` variances.

    Additional attributes
    ---------------------
    q_lrt, q_lrt_pvalue : float
        Likelihood-ratio heterogeneity test ``QE.LRT`` (saturated vs common-proportion
        binomial model), ``k - 1`` df.
    loglik, deviance, aic, bic, aicc : float
        metafor's fit statistics (2 parameters; ``k + 2`` and ``2k`` observations for the
        odds-ratio model). ``loglik`` is **not** the maximised
        marginal log-likelihood: metafor reports the binomial log-likelihood at the
        conditional modes, ``sum_i log Bin(x_i | n_i, expit(beta + u_i))``, and ``deviance =
        2 (ll_saturated - loglik)`` is lme4's ``deviance()`` of the fit.
    nagq : int
        Quadrature nodes (1 = Laplace approximation).
    """

    q_lrt: float
    q_lrt_pvalue: float
    loglik: float
    deviance: float
    aic: float
    bic: float
    aicc: float
    nagq: int

    def to_dict(self) -> dict[str, Any]:
        """As :meth:`PooledResult.to_dict`, plus the GLMM's extra scalar attributes."""
        out = super().to_dict()
        warnings = out.pop("warnings")
        out.update({name: getattr(self, name) for name in _GLMM_EXTRA})
        out["warnings"] = warnings
        return out


# --------------------------------------------------------------------------------------------
# the marginal likelihood by adaptive Gauss-Hermite quadrature
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """Counts of k studies with J arms each, and the quadrature rule.

    Arm ``j`` of study ``i`` has ``x[i, j]`` events of ``n[i, j]`` and the linear predictor
    ``eta_ij = c_ij + d_j tau z_i``, ``z_i ~ N(0, 1)``: J = 1, ``d = (1,)`` for single
    proportions (``c_i1 = beta``); J = 2, ``d = (1/2, -1/2)`` for metafor's ``UM.FS`` odds-ratio
    model (``c_i1 = alpha_i + beta``, ``c_i2 = alpha_i``).
    """

    x: np.ndarray  # (k, J)
    n: np.ndarray  # (k, J)
    d: np.ndarray  # (J,) coding of the random effect in each arm
    lchoose: np.ndarray  # (k,) log binomial coefficients, summed over arms
    nodes: np.ndarray  # Gauss-Hermite nodes (weight exp(-t^2))
    logw: np.ndarray  # log of the Gauss-Hermite weights


def _arms(x: np.ndarray, n: np.ndarray, d: Sequence[float], nagq: int) -> _Data:
    t, w = np.polynomial.hermite.hermgauss(nagq)
    lchoose = spc.gammaln(n + 1.0) - spc.gammaln(x + 1.0) - spc.gammaln(n - x + 1.0)
    return _Data(x, n, np.asarray(d, dtype=float), lchoose.sum(axis=1), t, np.log(w))


def _data(x: np.ndarray, n: np.ndarray, nagq: int) -> _Data:
    """Single proportions: one arm per study."""
    return _arms(x[:, None], n[:, None], (1.0,), nagq)


def _kernel(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """``x log(mu) + (n - x) log(1 - mu)``, ``mu = expit(eta)``, without cancellation.

    Written as ``-x softplus(-eta) - (n - x) softplus(eta)``: the naive ``x eta - n log(1 +
    e^eta)`` loses ~1e-13 to cancellation for 0% and 100% studies (large ``|eta|``), which the
    finite-difference Hessian (step 1e-4) would amplify 1e8-fold.
    """
    return -x * np.logaddexp(0.0, -eta) - (n - x) * np.logaddexp(0.0, eta)


def _score(x: np.ndarray, n: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x - n mu`` and ``mu (1 - mu)``, computed from ``expit(eta)`` and ``expit(-eta)``."""
    mu, nu = spc.expit(eta), spc.expit(-eta)
    return x * nu - (n - x) * mu, mu * nu


def _modes(d: _Data, c: np.ndarray, tau: float) -> np.ndarray:
    """Conditional modes ``z_i`` (lme4's PIRLS, here to machine precision).

    Maximises ``g(z) = sum_j [x_j log mu_j + (n_j - x_j) log(1 - mu_j)] - z^2/2``, which is
    strictly concave; ``g'(z) = tau sum_j d_j (x_j - n_j mu_j) - z`` has its root in the
    bracket given by the extreme values of ``x_j - n_j mu_j`` (``x_j - n_j`` and ``x_j``).
    Newton steps, replaced by bisection whenever they leave the current bracket.
    """
    x, n, dj = d.x, d.n, d.d
    lo = tau * np.sum(np.minimum(dj * (x - n), dj * x), axis=1)
    hi = tau * np.sum(np.maximum(dj * (x - n), dj * x), axis=1)
    z = np.zeros(x.shape[0])
    for _ in range(200):
        r, v = _score(x, n, c + dj * tau * z[:, None])
        g = tau * np.sum(dj * r, axis=1) - z
        h = 1.0 + tau * tau * np.sum(dj * dj * n * v, axis=1)
        lo = np.where(g > 0.0, z, lo)
        hi = np.where(g < 0.0, z, hi)
        new = z + g / h
        # a Newton step that leaves the bracket is replaced by bisection (a zero step at the
        # root, new == z == one end of the bracket, is not "outside")
        outside = (new < lo) | (new > hi)
        new = np.where(outside, (lo + hi) / 2.0, new)
        # Newton converges quadratically: a step below 1e-10 leaves an error below ~1e-20
        done = np.all(np.abs(new - z) <= 1e-10 * (1.0 + np.abs(z)))
        z = new
        if done:
            break
    return z


def _agq(d: _Data, c: np.ndarray, tau: float) -> dict[str, np.ndarray]:
    """The pieces of the adaptive Gauss-Hermite rule at ``(c, tau)``, ``tau >= 0``.

    With ``zhat`` the mode of ``g`` and ``s = h^(-1/2)``, ``h = 1 + tau^2 sum_j d_j^2 n_j
    mu_j (1 - mu_j)`` the curvature there, ``L_i = C_i s/sqrt(pi) sum_q w_q exp(g(zhat +
    sqrt(2) s t_q) + t_q^2)`` (Gauss-Hermite nodes ``t_q``, weights ``w_q``; ``C_i`` the
    binomial coefficients): the adaptive rule of Pinheiro & Bates (1995) that lme4 uses for
    ``nAGQ > 1``; with one node it is the Laplace approximation.
    """
    dj, t = d.d, d.nodes
    zhat = _modes(d, c, tau)
    eta0 = c + dj * tau * zhat[:, None]
    r0, v0 = _score(d.x, d.n, eta0)
    h = 1.0 + tau * tau * np.sum(dj * dj * d.n * v0, axis=1)
    s = 1.0 / np.sqrt(h)
    zz = zhat[:, None] + math.sqrt(2.0) * s[:, None] * t[None, :]  # (k, Q)
    eta = c[:, :, None] + dj[None, :, None] * tau * zz[:, None, :]  # (k, J, Q)
    g = np.sum(_kernel(d.x[:, :, None], d.n[:, :, None], eta), axis=1) - zz * zz / 2.0
    G = g + t[None, :] ** 2 + d.logw[None, :]
    lse = spc.logsumexp(G, axis=1)
    ll = d.lchoose + np.log(s) - 0.5 * math.log(math.pi) + lse
    return {
        "ll": ll, "zhat": zhat, "eta0": eta0, "r0": r0, "v0": v0, "h": h, "s": s, "zz": zz,
        "eta": eta, "G": G, "lse": lse,
    }  # fmt: skip


def _loglik_parts_c(d: _Data, c: np.ndarray, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-study log-likelihoods and conditional modes; ``tau`` enters only as ``|tau|``."""
    tau = abs(tau)
    if tau == 0.0:
        return d.lchoose + np.sum(_kernel(d.x, d.n, c), axis=1), np.zeros(d.x.shape[0])
    a = _agq(d, c, tau)
    return a["ll"], a["zhat"]


def _loglik_grad_c(d: _Data, c: np.ndarray, tau: float) -> tuple[float, np.ndarray, float]:
    """The log-likelihood and its analytic gradient in ``c`` (k x J) and ``tau`` (``tau > 0``).

    Differentiates ``log L_i = log s - log(pi)/2 + log sum_q w_q exp(G_q)``,
    ``G_q = g(z_q) + t_q^2``, ``z_q = zhat + sqrt(2) s t_q``, through the mode
    (``dzhat/dphi = g_zphi / h``, implicit function theorem) and the scale
    (``ds/dphi = -h^(-3/2) (dh/dphi) / 2``).
    """
    dj, t, n = d.d, d.nodes, d.n
    a = _agq(d, c, tau)
    zhat, r0, v0, h, s, zz = a["zhat"], a["r0"], a["v0"], a["h"], a["s"], a["zz"]
    mu0 = spc.expit(a["eta0"])
    pi_ = np.exp(a["G"] - a["lse"][:, None])  # (k, Q)
    resid, _ = _score(d.x[:, :, None], n[:, :, None], a["eta"])  # (k, J, Q)
    gprime = tau * np.sum(dj[None, :, None] * resid, axis=1) - zz  # (k, Q)
    sqrt2t = math.sqrt(2.0) * t[None, :]
    dv0 = v0 * (1.0 - 2.0 * mu0)  # d v / d eta at the mode

    def total(g_zphi, dg_dphi, deta0_direct, dh_direct):
        dz = g_zphi / h
        deta0 = deta0_direct + dj * tau * dz[:, None]
        dh = tau * tau * np.sum(dj * dj * n * dv0 * deta0, axis=1) + dh_direct
        ds = -0.5 * h**-1.5 * dh
        dzq = dz[:, None] + sqrt2t * ds[:, None]
        return ds / s + np.sum(pi_ * (dg_dphi + gprime * dzq), axis=1)

    k, J = d.x.shape
    dc = np.empty((k, J))
    for j in range(J):
        e = np.zeros(J)
        e[j] = 1.0
        dc[:, j] = total(
            -tau * dj[j] * n[:, j] * v0[:, j],  # d g'(z) / d c_j
            resid[:, j, :],  # d g / d c_j at the nodes
            e[None, :],
            0.0,
        )
    dtau = total(
        np.sum(dj * r0, axis=1) - tau * zhat * np.sum(dj * dj * n * v0, axis=1),
        np.sum(dj[None, :, None] * resid, axis=1) * zz,
        dj[None, :] * zhat[:, None],
        2.0 * tau * np.sum(dj * dj * n * v0, axis=1),
    )
    return float(math.fsum(a["ll"])), dc, float(np.sum(dtau))


# single proportions: c = beta in every study ----------------------------------------------


def _loglik_parts(d: _Data, beta: float, tau: float) -> tuple[np.ndarray, np.ndarray]:
    return _loglik_parts_c(d, np.full(d.x.shape, beta), tau)


def _loglik(d: _Data, beta: float, tau: float) -> float:
    return float(math.fsum(_loglik_parts(d, beta, tau)[0]))


def _loglik_grad(d: _Data, beta: float, tau: float) -> tuple[float, np.ndarray]:
    """Log-likelihood and its gradient in ``(beta, tau)`` (``tau > 0``)."""
    ll, dc, dtau = _loglik_grad_c(d, np.full(d.x.shape, beta), tau)
    return ll, np.array([float(np.sum(dc)), dtau])


def _gradient(d: _Data, beta: float, tau: float) -> np.ndarray:
    return _loglik_grad(d, beta, tau)[1]


def _deviance(d: _Data, theta: float, beta: float) -> float:
    """``-2 log L(beta, theta)``: lme4's GLMM deviance in (theta, beta), up to a constant."""
    return -2.0 * _loglik(d, beta, theta)


def _deriv12(d: _Data, theta: float, beta: float, delta: float = 1e-4) -> np.ndarray:
    """Central finite-difference Hessian of the deviance in ``(theta, beta)``, as lme4.

    lme4's ``deriv12`` (called by ``glmer`` with its default ``delta = 1e-4`` and no
    bounds): diagonal ``(f(x + d) - 2 f(x) + f(x - d)) / d^2``, off-diagonal
    ``(f(++) - f(+-) - f(-+) + f(--)) / (4 d^2)``. vcov of the fixed effects is then
    ``2 (H^{-1})_{beta beta}`` (lme4 ``vcov.merMod``, ``use.hessian = TRUE``).
    """
    x0 = np.array([theta, beta])

    def f(v: np.ndarray) -> float:
        return _deviance(d, float(v[0]), float(v[1]))

    fx = f(x0)
    H = np.empty((2, 2))
    e = np.eye(2) * delta
    for j in range(2):
        H[j, j] = (f(x0 + e[j]) - 2.0 * fx + f(x0 - e[j])) / delta**2
        for i in range(j):
            H[i, j] = H[j, i] = (
                f(x0 + e[i] + e[j])
                - f(x0 + e[i] - e[j])
                - f(x0 - e[i] + e[j])
                + f(x0 - e[i] - e[j])
            ) / (4.0 * delta**2)
    return H


def _hessian(d: _Data, theta: float, beta: float, delta: float = 1e-4) -> np.ndarray:
    """Hessian of the deviance in ``(theta, beta)`` for the standard error.

    Central differences (step ``delta`` = lme4's 1e-4) of the analytic gradient: the same
    quantity as lme4's :func:`_deriv12` of the deviance, but without its ~1e-7 rounding noise
    (second differences of a deviance of size ~50 divided by 1e-8). Near the boundary
    (``theta < 2 delta``, where the gradient formula needs ``theta > 0``) :func:`_deriv12`
    itself is used, relying on the deviance's symmetry in theta.
    """
    if theta < 2.0 * delta:
        return _deriv12(d, theta, beta, delta)
    H = np.empty((2, 2))
    for j in range(2):
        e = np.zeros(2)
        e[j] = delta
        gp = _gradient(d, beta + e[1], theta + e[0])
        gm = _gradient(d, beta - e[1], theta - e[0])
        # _gradient is d loglik / d(beta, tau); the deviance is -2 loglik in (theta, beta)
        H[:, j] = -2.0 * (gp[::-1] - gm[::-1]) / (2.0 * delta)
    return (H + H.T) / 2.0


def _fit(d: _Data, beta0: float, tau0: float) -> tuple[float, float]:
    """Maximum-likelihood ``(beta, tau)``: L-BFGS-B from a few starts, then Newton polishing.

    ``tau >= 0``. An estimate below 1e-4 is compared with the boundary fit ``tau = 0`` (whose
    ``beta`` is the logit of the pooled proportion) and replaced by it when that is at least as
    likely (lme4's ``check.boundary`` does the same with its ``boundary.tol``).
    """

    def obj(p: np.ndarray) -> tuple[float, np.ndarray]:
        b, t = float(p[0]), float(p[1])
        if t <= 0.0:
            return -_loglik(d, b, 0.0), np.array([-_gradient(d, b, 1e-12)[0], 0.0])
        ll, grad = _loglik_grad(d, b, t)
        return -ll, -grad

    best: tuple[float, float, float] | None = None
    for t0 in (tau0, 0.5 * tau0 + 0.25, 2.0 * tau0 + 0.5):
        res = optimize.minimize(
            obj,
            np.array([beta0, t0]),
            jac=True,
            method="L-BFGS-B",
            bounds=[(None, None), (0.0, None)],
            options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000, "maxcor": 20},
        )
        b, t = float(res.x[0]), float(res.x[1])
        ll = _loglik(d, b, t)
        if best is None or ll > best[0]:
            best = (ll, b, t)
    assert best is not None
    ll, b, t = best
    # Newton polishing on the analytic gradient (Hessian by central differences of it)
    for _ in range(8):
        if t <= 1e-4:
            break
        grad = _gradient(d, b, t)
        H = np.empty((2, 2))
        for j, step in enumerate((1e-6 * max(1.0, abs(b)), 1e-6 * max(1.0, t))):
            e = np.zeros(2)
            e[j] = step
            H[:, j] = (_gradient(d, b + e[0], t + e[1]) - _gradient(d, b - e[0], t - e[1])) / (
                2.0 * step
            )
        H = (H + H.T) / 2.0
        try:
            delta = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        nb, nt = b - float(delta[0]), t - float(delta[1])
        if nt <= 0.0:
            break
        nll = _loglik(d, nb, nt)
        if nll < ll - 1e-12 * abs(ll):
            break
        b, t, ll = nb, nt, nll
        if abs(delta[0]) <= 1e-13 * max(1.0, abs(b)) and abs(delta[1]) <= 1e-13 * max(1.0, t):
            break
    if t <= 1e-4:
        b0 = float(spc.logit(np.sum(d.x) / np.sum(d.n)))
        if _loglik(d, b0, 0.0) >= ll - 1e-12 * abs(ll):
            return b0, 0.0
    return b, t


# --------------------------------------------------------------------------------------------
# heterogeneity tests from the binomial GLMs (as R's glm.fit computes them)
# --------------------------------------------------------------------------------------------


def _logit_linkinv(eta: np.ndarray) -> np.ndarray:
    """R's ``binomial()$linkinv``: ``expit`` with ``eta`` outside [-30, 30] clamped."""
    ex = np.where(
        eta < -30.0, _EPS, np.where(eta > 30.0, 1.0 / _EPS, np.exp(np.clip(eta, -30, 30)))
    )
    return ex / (1.0 + ex)


def _logit_mu_eta(eta: np.ndarray) -> np.ndarray:
    """R's ``binomial()$mu.eta``: ``e^eta / (1 + e^eta)^2``, eps outside [-30, 30]."""
    e = np.exp(np.clip(eta, -30.0, 30.0))
    return np.where((eta > 30.0) | (eta < -30.0), _EPS, e / (1.0 + e) ** 2)


def _binom_dev(x: np.ndarray, n: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Binomial deviance residuals squared, ``2 [x log(x/(n mu)) + (n-x) log((n-x)/(n(1-mu)))]``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(x > 0, x * np.log(x / (n * mu)), 0.0)
        b = np.where(n - x > 0, (n - x) * np.log((n - x) / (n * (1.0 - mu))), 0.0)
    return 2.0 * (a + b)


def _saturated_glm(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R's ``glm.fit`` IRLS for the saturated model ``cbind(x, n - x) ~ study``.

    With one parameter per study the weighted least-squares step reproduces the working
    response, so each iteration is ``eta <- eta + (y - mu)/mu.eta(eta)`` per study, from
    ``mustart = (x + 1/2)/(n + 1)``, stopped when ``|dev - dev_old|/(|dev| + 0.1) < 1e-8``
    (``glm.control()``, at most 25 iterations). Returns the final linear predictors, the
    IRLS weights ``n mu.eta^2 / (mu (1 - mu))`` of the last iteration (those R's ``vcov``
    uses) and the fitted proportions. A study with 0 or n events has no finite estimate; glm
    stops with a large ``|eta|`` and a tiny weight.
    """
    y = x / n
    mustart = (n * y + 0.5) / (n + 1.0)
    eta = np.log(mustart / (1.0 - mustart))
    mu = _logit_linkinv(eta)
    devold = float(np.sum(_binom_dev(x, n, mu)))
    w = n * _logit_mu_eta(eta) ** 2 / (mu * (1.0 - mu))
    for _ in range(25):
        me = _logit_mu_eta(eta)
        w = n * me**2 / (mu * (1.0 - mu))
        eta = eta + (y - mu) / me
        mu = _logit_linkinv(eta)
        dev = float(np.sum(_binom_dev(x, n, mu)))
        if abs(dev - devold) / (abs(dev) + 0.1) < 1e-8:
            break
        devold = dev
    return eta, w, mu


def _log_dbinom(x: np.ndarray, n: np.ndarray, mu: np.ndarray, lchoose: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(x > 0, x * np.log(mu), 0.0)
        b = np.where(n - x > 0, (n - x) * np.log1p(-mu), 0.0)
    return float(math.fsum(lchoose + a + b))


# --------------------------------------------------------------------------------------------
# public function
# --------------------------------------------------------------------------------------------


def pool_glmm(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    *,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    nagq: int = 7,
    test: str = "z",
) -> GLMMResult:
    """Pool single proportions with the binomial-normal GLMM (metafor ``rma.glmm``, ``PLO``).

    ``x_i ~ Bin(n_i, expit(beta + u_i))``, ``u_i ~ N(0, tau^2)`` (Hamza et al., 2008; Stijnen
    et al., 2010), maximum likelihood with adaptive Gauss-Hermite quadrature over each
    ``u_i`` (Pinheiro & Bates, 1995), exactly the model of ``rma.glmm(measure = "PLO", xi, ni)``
    = ``lme4::glmer(cbind(x, n - x) ~ 1 + (1 | study), binomial, nAGQ = nagq)``. No continuity
    correction is applied.

    Parameters
    ----------
    events, totals : sequence of int
        Events and participants per study (``0 <= events <= totals``, ``totals >= 1``); at
        least 2 studies.
    level : float
        Confidence level in (0, 1).
    labels : sequence of str, optional
        Study labels (default ``"1"``, ``"2"``, ...).
    nagq : int
        Quadrature nodes per study: 7 (metafor's default) or more for adaptive Gauss-Hermite,
        1 for the Laplace approximation.
    test : {"z", "t"}
        Normal inference, or t with ``k - 1`` df for the CI, PI and p-value.

    Returns
    -------
    GLMMResult

    Raises
    ------
    ValueError
        For invalid counts, fewer than 2 studies, an invalid ``nagq``/``level``/``test``, or
        data with no finite maximum-likelihood estimate: no events at all or all events
        (the pooled logit is -/+ infinity), or every study at 0% or 100% (tau^2 is infinite).

    Notes
    -----
    - The likelihood is maximised to about 1e-12 relative in ``(beta, tau)``; lme4's default
      PIRLS tolerance leaves its estimates ~1e-5 (nAGQ = 7) to ~1e-3 (Laplace) away from the
      optimum, so compare with metafor at that precision.
    - The standard error follows lme4 (``vcov.merMod`` with ``use.hessian = TRUE``):
      ``se^2 = 2 (H^{-1})_{beta beta}``, ``H`` the central finite-difference Hessian (step
      1e-4) of the deviance in ``(tau, beta)`` (here differences of the analytic gradient,
      which avoids the rounding noise of second differences). If ``H`` is not positive
      definite the SE given ``tau`` (the beta-beta curvature alone) is used, with a warning,
      as lme4 falls back.
    - Heterogeneity tests as metafor computes them from binomial GLMs (``glm``): ``q``
      (``QE.Wld``) is the Wald test that all study logits of the saturated model are equal,
      ``sum w_i (eta_i - eta_w)^2``, which is Cochran's Q of the raw logits when no study has
      0% or 100% events (those have no finite logit: glm stops with a tiny weight and they
      effectively drop out); ``q_lrt`` (``QE.LRT``) is ``2 (ll_saturated - ll_common)``;
      both with ``k - 1`` df.
    - Prediction interval ``beta -/+ crit sqrt(se^2 + tau^2)`` (metafor ``predict.rma``).
    - Fit statistics: ``loglik = ll_QE - deviance/2`` with ``ll_QE`` the saturated glm's
      log-likelihood and ``deviance`` the sum of squared deviance residuals at the
      conditional modes (lme4 ``deviance()``); ``AIC = -2 loglik + 4``, ``BIC = -2 loglik +
      2 log k``, ``AICc = -2 loglik + 4 max(k, 4)/(max(k, 4) - 3)``.

    Examples
    --------
    >>> res = pool_glmm([4, 0, 9, 6], [10, 12, 20, 15])
    >>> round(res.estimate, 3), res.method, res.measure
    (0.296, 'GLMM', 'PLO')
    """
    xi, ni = _check_counts(events, totals)
    level = _check_level(level)
    test = _check_choice(test, "test", GLMM_TESTS, upper=False)
    ok = isinstance(nagq, (int, np.integer)) and not isinstance(nagq, bool)
    if not ok or not (1 <= int(nagq) <= 100):
        raise ValueError(
            f"nagq must be an integer from 1 (Laplace) to 100 (metafor's default is 7); "
            f"got {nagq!r}"
        )
    nagq = int(nagq)
    names = _check_labels(labels, xi.size)
    k = int(xi.size)
    if k < 2:
        raise ValueError(
            f"the GLMM needs at least 2 studies to estimate tau^2; got {k} (use "
            "pool_proportions with a fixed-effect method for a single study)"
        )
    if np.sum(xi) == 0 or np.sum(xi) == np.sum(ni):
        which = "no study has any events" if np.sum(xi) == 0 else "every participant had an event"
        raise ValueError(
            f"the GLMM has no finite estimate: {which}, so the pooled logit is infinite; "
            "use an escalc measure with a continuity correction (e.g. method='REML')"
        )
    if np.all((xi == 0) | (xi == ni)):
        raise ValueError(
            "the GLMM has no finite estimate: every study has 0% or 100% events, so tau^2 "
            "grows without bound; use an escalc measure with a continuity correction"
        )
    d = _data(xi, ni, nagq)
    warn: list[str] = []

    # starting values from the escalc logits (continuity-corrected only here)
    yi, vi = _escalc(xi, ni, "PLO")
    w0 = 1.0 / vi
    ybar = float(np.sum(w0 * yi) / np.sum(w0))
    c = float(np.sum(w0) - np.sum(w0**2) / np.sum(w0))
    tau2_dl = max(0.0, (float(np.sum(w0 * (yi - ybar) ** 2)) - (k - 1)) / c)
    beta, tau = _fit(d, float(spc.logit(np.sum(xi) / np.sum(ni))), math.sqrt(tau2_dl) + 0.1)
    tau2 = tau * tau

    # standard error from the finite-difference Hessian of the deviance (lme4)
    H = _hessian(d, tau, beta)
    se = math.nan
    try:
        Hinv = np.linalg.inv(H)
        V = Hinv + Hinv.T  # lme4: forceSymmetric(h + t(h)) of solve(h)
        if np.all(np.linalg.eigvalsh(V) > 0):
            se = math.sqrt(float(V[1, 1]))
    except np.linalg.LinAlgError:
        pass
    if not math.isfinite(se):
        se = math.sqrt(2.0 / H[1, 1])
        warn.append(
            "the finite-difference Hessian is not positive definite: the SE is computed with "
            "tau^2 held fixed (as lme4 falls back to its RX-based variance)"
        )

    alpha = 1.0 - level
    df: int | None = k - 1 if test == "t" else None
    crit = float(sps.norm.isf(alpha / 2.0)) if df is None else float(sps.t.isf(alpha / 2.0, df))
    stat = beta / se
    pval = float(2.0 * (sps.norm.sf(abs(stat)) if df is None else sps.t.sf(abs(stat), df)))
    ci_lo, ci_hi = beta - crit * se, beta + crit * se
    half = crit * math.sqrt(se**2 + tau2)
    pi_lo, pi_hi = beta - half, beta + half

    # heterogeneity (binomial GLMs) and I^2 / H^2 from the escalc variances
    eta_sat, w_sat, mu_sat = _saturated_glm(xi, ni)
    wsum = float(np.sum(w_sat))
    q_wld = float(np.sum(w_sat * (eta_sat - float(np.sum(w_sat * eta_sat)) / wsum) ** 2))
    q_wld = max(q_wld, 0.0)
    ll_qe = _log_dbinom(xi, ni, mu_sat, d.lchoose)
    p_fe = float(np.sum(xi) / np.sum(ni))
    ll_fe = _log_dbinom(xi, ni, np.full(k, p_fe), d.lchoose)
    q_lrt = max(-2.0 * (ll_fe - ll_qe), 0.0)
    vt = (k - 1) * float(np.sum(w0)) / (float(np.sum(w0)) ** 2 - float(np.sum(w0**2)))
    i2 = 100.0 * tau2 / (vt + tau2)
    h2 = tau2 / vt + 1.0

    # metafor's fit statistics: binomial log-likelihood at the conditional modes
    _, z = _loglik_parts(d, beta, tau)
    mu_hat = spc.expit(beta + tau * z)
    dev = float(math.fsum(_binom_dev(xi, ni, mu_hat)))
    loglik = ll_qe - dev / 2.0
    parms = 2
    aic, bic, aicc = information_criteria(loglik, parms, k)
    weights = 1.0 / (vi + tau2)

    def ilogit(v: float) -> float:
        return float(spc.expit(v))

    return GLMMResult(
        measure="PLO",
        method="GLMM",
        test=test,
        level=level,
        k=k,
        n_total=int(np.sum(ni)),
        estimate=ilogit(beta),
        ci_low=ilogit(ci_lo),
        ci_high=ilogit(ci_hi),
        pi_low=ilogit(pi_lo),
        pi_high=ilogit(pi_hi),
        estimate_t=beta,
        se=se,
        ci_low_t=ci_lo,
        ci_high_t=ci_hi,
        pi_low_t=pi_lo,
        pi_high_t=pi_hi,
        stat=stat,
        df=df,
        pvalue=pval,
        s2w=None,
        tau2=tau2,
        tau=tau,
        se_tau2=None,
        i2=i2,
        h2=h2,
        q=q_wld,
        q_df=k - 1,
        q_pvalue=float(sps.chi2.sf(q_wld, k - 1)),
        weights=tuple(float(x) for x in 100.0 * weights / np.sum(weights)),
        labels=names,
        warnings=tuple(warn),
        q_lrt=q_lrt,
        q_lrt_pvalue=float(sps.chi2.sf(q_lrt, k - 1)),
        loglik=loglik,
        deviance=dev,
        aic=aic,
        bic=bic,
        aicc=aicc,
        nagq=nagq,
    )


# --------------------------------------------------------------------------------------------
# two groups: metafor's UM.FS odds-ratio model
# --------------------------------------------------------------------------------------------


def _umfs_c(params: np.ndarray, k: int) -> np.ndarray:
    """``c`` (k x 2) of the UM.FS model from ``params = (alpha_1..alpha_k, beta, tau)``."""
    alpha, beta = params[:k], params[k]
    return np.column_stack([alpha + beta, alpha])


def _umfs_loglik(d: _Data, params: np.ndarray) -> float:
    k = d.x.shape[0]
    return float(math.fsum(_loglik_parts_c(d, _umfs_c(params, k), float(params[k + 1]))[0]))


def _umfs_grad(d: _Data, params: np.ndarray) -> tuple[float, np.ndarray]:
    """Log-likelihood and gradient in ``(alpha_1..alpha_k, beta, tau)``."""
    k = d.x.shape[0]
    ll, dc, dtau = _loglik_grad_c(d, _umfs_c(params, k), float(params[k + 1]))
    return ll, np.concatenate([dc[:, 0] + dc[:, 1], [float(np.sum(dc[:, 0])), dtau]])


def _umfs_hessian(d: _Data, params: np.ndarray, free: int, delta: float = 1e-4) -> np.ndarray:
    """Hessian of the log-likelihood in the first ``free`` parameters, by central differences
    of the analytic gradient (step ``delta``, lme4's)."""
    H = np.empty((free, free))
    for j in range(free):
        e = np.zeros(params.size)
        e[j] = delta
        H[:, j] = (_umfs_grad(d, params + e)[1][:free] - _umfs_grad(d, params - e)[1][:free]) / (
            2.0 * delta
        )
    return (H + H.T) / 2.0


def _umfs_fit(d: _Data, start: np.ndarray) -> np.ndarray:
    """Maximum likelihood over ``(alpha, beta, tau >= 0)``.

    L-BFGS-B from two values of tau (to ~1e-6 in the gradient), Newton polishing on the
    analytic gradient to ~1e-12, then the boundary: the common-OR fit ``tau = 0``
    (:func:`_umfs_fit_fixed`) replaces the estimate when it is at least as likely (lme4's
    ``check.boundary`` does the same).
    """
    k = d.x.shape[0]

    def obj(p: np.ndarray) -> tuple[float, np.ndarray]:
        q = p.copy()
        q[k + 1] = max(q[k + 1], 0.0)
        ll, grad = _umfs_grad(d, q)
        if q[k + 1] == 0.0:
            grad[k + 1] = 0.0  # the likelihood is symmetric in tau
        return -ll, -grad

    bounds = [(None, None)] * (k + 1) + [(0.0, None)]
    tau0 = float(start[k + 1])
    best: tuple[float, np.ndarray] | None = None
    for t0 in (tau0, 2.0 * tau0 + 0.5):
        x0 = start.copy()
        x0[k + 1] = t0
        res = optimize.minimize(
            obj,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-7, "maxiter": 5000, "maxcor": 20},
        )
        ll = _umfs_loglik(d, res.x)
        if best is None or ll > best[0]:
            best = (ll, res.x.copy())
    assert best is not None
    ll, p = best
    for _ in range(8):
        if p[k + 1] <= 1e-4:
            break
        _, grad = _umfs_grad(d, p)
        H = _umfs_hessian(d, p, k + 2, 1e-6)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            break
        q = p - step
        if q[k + 1] <= 0.0:
            break
        qll = _umfs_loglik(d, q)
        if qll < ll - 1e-12 * abs(ll):
            break
        p, ll = q, qll
        if np.all(np.abs(step) <= 1e-12 * np.maximum(1.0, np.abs(p))):
            break
    fe = _umfs_fit_fixed(d, p)
    if _umfs_loglik(d, fe) >= ll - 1e-12 * abs(ll):
        return fe
    return p


def pool_glmm_or(
    ai: Sequence[int] | np.ndarray,
    bi: Sequence[int] | np.ndarray,
    ci: Sequence[int] | np.ndarray,
    di: Sequence[int] | np.ndarray,
    *,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
    nagq: int = 7,
    test: str = "z",
) -> GLMMResult:
    """Pool odds ratios with metafor's unconditional GLMM with fixed study effects (UM.FS).

    ``rma.glmm(measure = "OR", ai, bi, ci, di, model = "UM.FS")``, i.e. lme4's
    ``glmer(cbind(x, n - x) ~ -1 + group1 + study + (group12 - 1 | study), binomial, nAGQ)``:
    ``logit p_i1 = alpha_i + beta + u_i/2``, ``logit p_i2 = alpha_i - u_i/2``,
    ``u_i ~ N(0, tau^2)``, with a fixed intercept ``alpha_i`` per study (Model 4 of Jackson et
    al., 2018; Turner et al., 2000), maximum likelihood with adaptive Gauss-Hermite quadrature
    over each ``u_i``. No continuity correction.

    Parameters
    ----------
    ai, bi, ci, di : sequence of int
        Events and non-events in group 1 (``ai``, ``bi``) and group 2 (``ci``, ``di``); each
        group needs at least one participant. Studies with no events in both groups, or only
        events in both, carry no information on the odds ratio and are left out with a
        warning, as metafor does (``drop00 = TRUE``); at least 2 studies must remain.
    level, labels, nagq, test
        As for :func:`pool_glmm` (``labels`` of all studies, before any are left out).

    Returns
    -------
    GLMMResult
        ``measure = "OR"``: ``estimate``, ``ci_*``, ``pi_*`` are odds ratios (``exp``), the
        ``*_t`` values log odds ratios; ``n_total`` counts both groups; ``vt``, I^2, H^2 and the
        display weights use ``escalc("OR")`` variances (1/2 added to the cells of studies with a
        zero cell). ``q`` is the Wald test that the study log odds ratios of the saturated glm
        are equal (``QE.Wld``), ``q_lrt`` the likelihood-ratio test of the common-OR glm with
        study effects (``QE.LRT``); fit statistics count ``k + 2`` parameters and ``2k``
        observations, as metafor does.

    Raises
    ------
    ValueError
        For invalid counts, fewer than 2 informative studies, or data without a finite
        estimate (no events, or only events, in one group across all studies).

    References
    ----------
    Jackson, D., Law, M., Stijnen, T., Viechtbauer, W., & White, I. R. (2018). A comparison of
    seven random-effects models for meta-analyses that estimate the summary odds ratio.
    *Statistics in Medicine*, 37(7), 1059-1085. https://doi.org/10.1002/sim.7588

    Turner, R. M., Omar, R. Z., Yang, M., Goldstein, H., & Thompson, S. G. (2000). A multilevel
    model framework for meta-analysis of clinical trials with binary outcomes. *Statistics in
    Medicine*, 19(24), 3417-3432.
    """
    cells = [_as_counts(v, name) for v, name in ((ai, "ai"), (bi, "bi"), (ci, "ci"), (di, "di"))]
    k_all = cells[0].size
    for arr, name in zip(cells, ("ai", "bi", "ci", "di"), strict=True):
        if arr.size != k_all:
            raise ValueError(
                f"ai, bi, ci and di must have the same length; got {k_all} ai and {arr.size} {name}"
            )
    a, b, c, dd = cells
    for i in range(k_all):
        if a[i] + b[i] == 0 or c[i] + dd[i] == 0:
            raise ValueError(
                f"each group needs at least one participant; got an empty group at position {i}"
            )
    level = _check_level(level)
    test = _check_choice(test, "test", GLMM_TESTS, upper=False)
    ok = isinstance(nagq, (int, np.integer)) and not isinstance(nagq, bool)
    if not ok or not (1 <= int(nagq) <= 100):
        raise ValueError(
            f"nagq must be an integer from 1 (Laplace) to 100 (metafor's default is 7); "
            f"got {nagq!r}"
        )
    nagq = int(nagq)
    names_all = _check_labels(labels, k_all)
    warn: list[str] = []
    keep = ~(((a == 0) & (c == 0)) | ((b == 0) & (dd == 0)))
    if not np.all(keep):
        warn.append(
            f"{int(np.sum(~keep))} studies with no events (or only events) in both groups "
            "were left out, as metafor does (drop00 = TRUE)"
        )
    a, b, c, dd = a[keep], b[keep], c[keep], dd[keep]
    names = tuple(n for n, kp in zip(names_all, keep, strict=True) if kp)
    k = int(a.size)
    if k < 2:
        raise ValueError(
            f"the GLMM needs at least 2 informative studies to estimate tau^2; got {k}"
        )
    for tot, what in ((a, "no events in group 1"), (b, "only events in group 1"),
                      (c, "no events in group 2"), (dd, "only events in group 2")):  # fmt: skip
        if np.sum(tot) == 0:
            raise ValueError(
                f"the GLMM has no finite estimate: {what} in every study, so the odds ratio is "
                "0 or infinite"
            )
    x = np.column_stack([a, c])
    n = np.column_stack([a + b, c + dd])
    d = _arms(x, n, (0.5, -0.5), nagq)

    # escalc("OR"), add 1/2 to every cell of a study with a zero cell: starts, vt, weights
    adj = (a == 0) | (b == 0) | (c == 0) | (dd == 0)
    ca, cb, cc, cd = (np.where(adj, v + 0.5, v) for v in (a, b, c, dd))
    yi = np.log(ca * cd / (cb * cc))
    vi = 1.0 / ca + 1.0 / cb + 1.0 / cc + 1.0 / cd
    w0 = 1.0 / vi
    ybar = float(np.sum(w0 * yi) / np.sum(w0))
    cw = float(np.sum(w0) - np.sum(w0**2) / np.sum(w0))
    tau2_dl = max(0.0, (float(np.sum(w0 * (yi - ybar) ** 2)) - (k - 1)) / cw)
    start = np.concatenate([np.log(cc / cd), [ybar, math.sqrt(tau2_dl) + 0.1]])
    p = _umfs_fit(d, start)
    beta, tau = float(p[k]), float(p[k + 1])
    if abs(beta) > 50.0 or tau > 50.0:
        raise ValueError(
            "the GLMM has no finite estimate for these data (the likelihood keeps increasing "
            f"towards log OR = {beta:.3g}, tau = {tau:.3g}); use escalc odds ratios with a "
            "continuity correction"
        )
    tau2 = tau * tau

    # SE: inverse of the observed information in (alpha, beta[, tau]) (lme4: 2 (H^-1) of the
    # deviance); on the boundary tau = 0 the cross terms with tau vanish by symmetry
    free = k + 2 if tau > 0.0 else k + 1
    info = -_umfs_hessian(d, p, free)
    se = math.nan
    try:
        V = np.linalg.inv(info)
        if np.all(np.linalg.eigvalsh((V + V.T) / 2.0) > 0):
            se = math.sqrt(float(V[k, k]))
    except np.linalg.LinAlgError:
        pass
    if not math.isfinite(se):
        raise ValueError("the GLMM's information matrix is singular: no standard error")

    alpha_ = 1.0 - level
    df: int | None = k - 1 if test == "t" else None
    crit = float(sps.norm.isf(alpha_ / 2.0)) if df is None else float(sps.t.isf(alpha_ / 2.0, df))
    stat = beta / se
    pval = float(2.0 * (sps.norm.sf(abs(stat)) if df is None else sps.t.sf(abs(stat), df)))
    ci_lo, ci_hi = beta - crit * se, beta + crit * se
    half = crit * math.sqrt(se**2 + tau2)
    pi_lo, pi_hi = beta - half, beta + half

    # heterogeneity tests from the glms, as R's glm.fit computes them
    xs, ns = x.reshape(-1), n.reshape(-1)  # cells in study order: group 1, group 2, ...
    eta_sat, w_sat, mu_sat = _saturated_glm(xs, ns)
    theta = eta_sat[0::2] - eta_sat[1::2]
    wt = 1.0 / (1.0 / w_sat[0::2] + 1.0 / w_sat[1::2])
    q_wld = max(0.0, float(np.sum(wt * (theta - np.sum(wt * theta) / np.sum(wt)) ** 2)))
    lch = spc.gammaln(ns + 1.0) - spc.gammaln(xs + 1.0) - spc.gammaln(ns - xs + 1.0)
    ll_qe = _log_dbinom(xs, ns, mu_sat, lch)
    ll_fe = _umfs_loglik(d, _umfs_fit_fixed(d, p))
    q_lrt = max(-2.0 * (ll_fe - ll_qe), 0.0)
    vt = (k - 1) * float(np.sum(w0)) / (float(np.sum(w0)) ** 2 - float(np.sum(w0**2)))

    # metafor's fit statistics: binomial log-likelihood at the conditional modes
    _, z = _loglik_parts_c(d, _umfs_c(p, k), tau)
    mu_hat = spc.expit(_umfs_c(p, k) + d.d * tau * z[:, None]).reshape(-1)
    dev = float(math.fsum(_binom_dev(xs, ns, mu_hat)))
    loglik = ll_qe - dev / 2.0
    parms, k_eff = k + 2, 2 * k
    aic, bic, aicc = information_criteria(loglik, parms, k_eff)
    weights = 1.0 / (vi + tau2)
    return GLMMResult(
        measure="OR",
        method="GLMM",
        test=test,
        level=level,
        k=k,
        n_total=int(np.sum(n)),
        estimate=math.exp(beta),
        ci_low=math.exp(ci_lo),
        ci_high=math.exp(ci_hi),
        pi_low=math.exp(pi_lo),
        pi_high=math.exp(pi_hi),
        estimate_t=beta,
        se=se,
        ci_low_t=ci_lo,
        ci_high_t=ci_hi,
        pi_low_t=pi_lo,
        pi_high_t=pi_hi,
        stat=stat,
        df=df,
        pvalue=pval,
        s2w=None,
        tau2=tau2,
        tau=tau,
        se_tau2=None,
        i2=100.0 * tau2 / (vt + tau2),
        h2=tau2 / vt + 1.0,
        q=q_wld,
        q_df=k - 1,
        q_pvalue=float(sps.chi2.sf(q_wld, k - 1)),
        weights=tuple(float(v) for v in 100.0 * weights / np.sum(weights)),
        labels=names,
        warnings=tuple(warn),
        q_lrt=q_lrt,
        q_lrt_pvalue=float(sps.chi2.sf(q_lrt, k - 1)),
        loglik=loglik,
        deviance=dev,
        aic=aic,
        bic=bic,
        aicc=aicc,
        nagq=nagq,
    )


def _umfs_fit_fixed(d: _Data, start: np.ndarray) -> np.ndarray:
    """The common-OR logistic model with study effects (tau = 0), by Newton's method: the
    ``FE`` glm of metafor's ``QE.LRT`` (converged, where R's IRLS stops at a tolerance)."""
    k = d.x.shape[0]
    p = start.copy()
    p[k + 1] = 0.0
    ll = _umfs_loglik(d, p)
    for _ in range(100):
        _, grad = _umfs_grad(d, p)
        c = _umfs_c(p, k)
        _, v = _score(d.x, d.n, c)
        nv = d.n * v
        # information of (alpha_1..alpha_k, beta): alpha_i touches both arms, beta arm 1
        H = np.zeros((k + 1, k + 1))
        H[np.arange(k), np.arange(k)] = nv[:, 0] + nv[:, 1]
        H[np.arange(k), k] = H[k, np.arange(k)] = nv[:, 0]
        H[k, k] = float(np.sum(nv[:, 0]))
        step = np.linalg.solve(H, grad[: k + 1])
        frac = 1.0
        for _ in range(50):
            q = p.copy()
            q[: k + 1] += frac * step
            qll = _umfs_loglik(d, q)
            if qll >= ll - 1e-13 * abs(ll):
                break
            frac /= 2.0
        p, ll = q, qll
        if np.all(np.abs(frac * step) <= 1e-13 * np.maximum(1.0, np.abs(p[: k + 1]))):
            break
    return p


def _pool_proportions_glmm(
    events: Any, totals: Any, measure: Any, test: Any, level: Any, labels: Any
) -> GLMMResult:
    """``stats.pool_proportions(..., method="GLMM")``: check the rma-style options, then fit."""
    if not (isinstance(measure, str) and measure.upper() == "PLO"):
        raise ValueError(
            "method='GLMM' models the logit of the proportion, so measure must be 'PLO'; "
            f"got {measure!r}"
        )
    if not (isinstance(test, str) and test.lower() in GLMM_TESTS):
        raise ValueError(f"method='GLMM' supports test 'z' or 't' (t with k - 1 df); got {test!r}")
    return pool_glmm(events, totals, level=level, labels=labels, test=test)
