"""Effect sizes of comparisons, exactly as R's metafor ``escalc()`` computes them.

Pure numerical functions (numpy, scipy, pandas): arrays in, a DataFrame or arrays out; no
printing and no file I/O. Pooling the results is :func:`evidence.stats.pool_effects`.

Public API
----------
- :func:`effect_sizes` -- per-study ``yi`` and ``vi`` of two-group binary data (``RR``,
  ``OR``, ``RD``, ``PETO``), two-group continuous data (``MD``, ``SMD``, ``SMDH``, ``ROM``)
  and single-group pre-post data (``MC``, ``SMCR``, ``SMCC``), with metafor's argument names,
  defaults (``add = 1/2, to = "only0", drop00 = FALSE, vtype = "LS"``) and variance
  estimators.
- :func:`effect_from_ci` -- ``yi`` and ``vi`` of a reported effect and its confidence interval
  (generic inverse-variance data).
- :func:`hedges_correction` -- Hedges' small-sample factor c(m), exact or approximate.
- :func:`sd_from_se`, :func:`sd_from_ci`, :func:`mean_sd_from_median` -- the conversions an
  analyst needs when a paper reports an SE, a CI of a mean, or a median with IQR and/or range.

Every formula follows the metafor 3.8-1 help page ``escalc`` (and its source, where the help
page is silent); ``tests/test_effects.py`` pins every value to metafor.

References
----------
Viechtbauer, W. (2010). Conducting meta-analyses in R with the metafor package. *Journal of
Statistical Software*, 36(3), 1-48. https://doi.org/10.18637/jss.v036.i03

metafor help page ``escalc`` (metafor 3.8-1, https://wviechtb.github.io/metafor/reference/escalc.html).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from evidence.measures import (
    BINARY_MEASURES,
    CHANGE_MEASURES,
    CONTINUOUS_MEASURES,
    ESCALC_MEASURES,
)
from evidence.stats import (
    DIFFERENCE_MEASURES,
    EFFECT_MEASURES,
    RATIO_MEASURES,
    _check_choice,
    _check_labels,
    _check_level,
    _study,
)

__all__ = [
    "BINARY_MEASURES",
    "CHANGE_MEASURES",
    "CONTINUOUS_MEASURES",
    "DIFFERENCE_MEASURES",
    "EFFECT_MEASURES",
    "ESCALC_MEASURES",
    "RATIO_MEASURES",
    "TO_OPTIONS",
    "VTYPES",
    "effect_from_ci",
    "effect_sizes",
    "hedges_correction",
    "mean_sd_from_median",
    "sd_from_ci",
    "sd_from_se",
]

VTYPES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "RR": ("LS",),
        "OR": ("LS",),
        "PETO": ("LS",),
        "RD": ("LS", "UB", "AV"),
        "MD": ("LS", "UB", "HO"),
        "SMD": ("LS", "UB", "LS2", "AV"),
        "SMDH": ("LS", "LS2"),
        "ROM": ("LS", "HO", "AV", "AVHO"),
        "MC": ("LS",),
        "SMCR": ("LS", "LS2"),
        "SMCC": ("LS", "LS2"),
    }
)
"""Sampling-variance estimators (metafor's ``vtype``) per measure; ``LS`` is the default."""

TO_OPTIONS: tuple[str, ...] = ("only0", "all", "if0all", "none")
"""Which studies get the continuity correction ``add`` (metafor's ``to``)."""

# arguments each kind of data takes: (required, optional)
_BINARY_ARGS = ("ai", "bi", "ci", "di", "n1i", "n2i")
_ARGS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        **{m: (("ai", "ci"), ("bi", "di", "n1i", "n2i")) for m in BINARY_MEASURES},
        **{m: (("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"), ()) for m in CONTINUOUS_MEASURES},
        "MC": (("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"), ()),
        "SMCC": (("m1i", "m2i", "sd1i", "sd2i", "ni", "ri"), ()),
        "SMCR": (("m1i", "m2i", "sd1i", "ni", "ri"), ("sd2i",)),
    }
)
_ARG_ORDER = ("ai", "bi", "ci", "di", "n1i", "n2i", "m1i", "sd1i", "m2i", "sd2i", "ni", "ri")


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """A number as the user typed it: ``4`` not ``4.0``; ``nan`` for a missing value."""
    if math.isfinite(x) and x == math.floor(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(float(x))


def _length(values: Any, name: str) -> int:
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a 1-D sequence with one value per study; got {values!r}")
    return len(values)


def _numbers(
    values: Any,
    name: str,
    names: tuple[str, ...],
    labelled: bool,
    *,
    missing_ok: bool = False,
) -> np.ndarray:
    """``values`` as a new float array; every element a finite number (or, if allowed, missing).

    A missing element (None or NaN) becomes NaN when ``missing_ok``, else an error naming the
    study. The caller's object is never modified.
    """
    out = np.empty(len(names), dtype=float)
    for i, x in enumerate(list(values)):
        if x is None:
            value = math.nan
        elif isinstance(x, (bool, np.bool_, str, bytes)):
            raise ValueError(
                f"{name} must contain numbers; got {name}={x!r} for {_study(names, i, labelled)}"
            )
        else:
            try:
                value = float(x)
            except (TypeError, ValueError):
                raise ValueError(
                    f"{name} must contain numbers; got {name}={x!r} for "
                    f"{_study(names, i, labelled)}"
                ) from None
        if math.isnan(value) and not missing_ok:
            raise ValueError(f"{name} is missing for {_study(names, i, labelled)}")
        if math.isinf(value):
            raise ValueError(
                f"{name} must be finite; got {name}={value!r} for {_study(names, i, labelled)}"
            )
        out[i] = value
    return out


def _require(
    ok: np.ndarray,
    rule: str,
    shown: str,
    arrays: Mapping[str, np.ndarray],
    names: tuple[str, ...],
    labelled: bool,
) -> None:
    """Raise for the first study where ``ok`` is False: ``"<rule>; got <shown> for <study>"``.

    ``shown`` is a format string over the argument names, e.g. ``"ai={ai} > n1i={n1i}"``.
    """
    bad = np.flatnonzero(~ok)
    if bad.size:
        i = int(bad[0])
        got = shown.format(**{key: _fmt(float(arr[i])) for key, arr in arrays.items()})
        raise ValueError(f"{rule}; got {got} for {_study(names, i, labelled)}")


def _check_add(add: Any) -> float:
    ok = isinstance(add, (int, float, np.integer, np.floating)) and not isinstance(add, bool)
    if not ok or not math.isfinite(float(add)) or float(add) < 0:
        raise ValueError(f"add must be a finite number >= 0 (e.g. 0.5); got {add!r}")
    return float(add)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def hedges_correction(mi: Any, *, exact: bool = True) -> np.ndarray:
    """Hedges' small-sample bias correction factor c(m) of a standardized mean difference.

    ``exact=True`` (metafor's ``.cmicalc``): ``c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2))``,
    computed as ``exp(lgamma(m/2) - log(sqrt(m/2)) - lgamma((m-1)/2))``, NaN for ``m <= 1``.
    ``exact=False``: the approximation ``1 - 3/(4m - 1)`` (Hedges, 1981), which metafor
    no longer uses (at m = 22 the two differ by 7e-5).

    Parameters
    ----------
    mi : array_like
        Degrees of freedom: ``n1 + n2 - 2`` for two groups, ``n - 1`` for one.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect size and related
    estimators. *Journal of Educational Statistics*, 6(2), 107-128.
    """
    m = np.atleast_1d(np.asarray(mi, dtype=float))
    if not exact:
        return 1.0 - 3.0 / (4.0 * m - 1.0)
    out = np.full(m.shape, np.nan)
    ok = m > 1.0
    mm = m[ok]
    out[ok] = np.exp(
        special.gammaln(mm / 2.0) - np.log(np.sqrt(mm / 2.0)) - special.gammaln((mm - 1.0) / 2.0)
    )
    return out


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted mean over the pairs where neither is NaN (metafor's ``.wmean(na.rm = TRUE)``)."""
    ok = ~(np.isnan(x) | np.isnan(w))
    return float(np.sum(x[ok] * w[ok]) / np.sum(w[ok]))


# --------------------------------------------------------------------------------------------
# effect sizes from arm data
# --------------------------------------------------------------------------------------------


def _binary(
    measure: str,
    cells: dict[str, np.ndarray],
    names: tuple[str, ...],
    labelled: bool,
    add: float,
    to: str,
    drop00: bool,
    vtype: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi, ni, adjusted, dropped of binary data (formulas at :func:`effect_sizes`)."""
    a, c = cells["ai"], cells["ci"]
    for key, arr in cells.items():
        _require(
            arr >= 0,
            f"{key} must be a non-negative count",
            f"{key}={{{key}}}",
            {key: arr},
            names,
            labelled,
        )
    sides = (("ai", "bi", "n1i"), ("ci", "di", "n2i"))
    resolved: dict[str, np.ndarray] = {}
    for ev, nonev, tot in sides:
        if nonev in cells and tot in cells:
            ok = np.isclose(cells[ev] + cells[nonev], cells[tot], rtol=1e-12, atol=1e-12)
            _require(
                ok,
                f"{tot} must equal {ev} + {nonev}",
                f"{tot}={{{tot}}} but {ev}={{{ev}}} and {nonev}={{{nonev}}}",
                {tot: cells[tot], ev: cells[ev], nonev: cells[nonev]},
                names,
                labelled,
            )
            resolved[nonev] = cells[nonev]
        elif nonev in cells:
            resolved[nonev] = cells[nonev]
        elif tot in cells:
            _require(
                cells[ev] <= cells[tot],
                f"{ev} must not exceed {tot}",
                f"{ev}={{{ev}}} > {tot}={{{tot}}}",
                {ev: cells[ev], tot: cells[tot]},
                names,
                labelled,
            )
            resolved[nonev] = cells[tot] - cells[ev]
        else:
            raise ValueError(f"measure {measure!r} needs {nonev} or {tot} (arm size)")
        size = cells[ev] + resolved[nonev]
        _require(
            size > 0,
            f"each arm needs at least one participant ({ev} + {nonev} = {tot} > 0)",
            f"{ev}={{{ev}}} and {nonev}={{{nonev}}}",
            {ev: cells[ev], nonev: resolved[nonev]},
            names,
            labelled,
        )
    b, d = resolved["bi"], resolved["di"]
    ni = a + b + c + d

    # escalc: drop00 first, then the continuity correction on the remaining studies
    dropped = np.zeros(a.size, dtype=bool)
    if drop00:
        dropped = ((a == 0) & (c == 0)) | ((b == 0) & (d == 0))
    id0 = ((a == 0) | (b == 0) | (c == 0) | (d == 0)) & ~dropped
    if to == "all":
        adj = ~dropped
    elif to == "only0":
        adj = id0
    elif to == "if0all":
        adj = ~dropped if id0.any() else np.zeros(a.size, dtype=bool)
    else:
        adj = np.zeros(a.size, dtype=bool)
    plus = np.where(adj, add, 0.0)
    a, b, c, d = a + plus, b + plus, c + plus, d + plus
    nan = np.where(dropped, np.nan, 0.0)  # dropped studies: NA cells, as metafor sets them
    a, b, c, d = a + nan, b + nan, c + nan, d + nan
    n1, n2 = a + b, c + d
    p1, p2 = a / n1, c / n2

    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log(p1) - np.log(p2)
            vi = 1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2
        elif measure == "OR":
            yi = np.log(p1 / (1.0 - p1)) - np.log(p2 / (1.0 - p2))
            vi = 1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d
        elif measure == "RD":
            yi = p1 - p2
            if vtype == "UB":
                vi = p1 * (1.0 - p1) / (n1 - 1.0) + p2 * (1.0 - p2) / (n2 - 1.0)
            elif vtype == "AV":
                mp1, mp2 = _wmean(p1, n1), _wmean(p2, n2)
                vi = mp1 * (1.0 - mp1) / n1 + mp2 * (1.0 - mp2) / n2
            else:
                vi = p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2
        else:  # PETO
            n = n1 + n2
            xt, yt = a + c, b + d
            ei = xt * n1 / n
            v = xt * yt * (n1 / n) * (n2 / n) / (n - 1.0)
            yi = (a - ei) / v
            vi = 1.0 / v
    return yi, vi, ni, adj & (add != 0.0) & ~dropped, dropped


def _continuous(
    measure: str, x: dict[str, np.ndarray], names: tuple[str, ...], labelled: bool, vtype: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi, ni of two-group continuous data (formulas at :func:`effect_sizes`)."""
    m1, sd1, n1, m2, sd2, n2 = (x[k] for k in ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"))
    for key in ("sd1i", "sd2i"):
        _require(
            x[key] > 0,
            f"{key} must be positive",
            f"{key}={{{key}}}",
            {key: x[key]},
            names,
            labelled,
        )
    for key in ("n1i", "n2i"):
        _require(
            x[key] >= 2,
            f"{key} must be at least 2 (a standard deviation needs 2 participants)",
            f"{key}={{{key}}}",
            {key: x[key]},
            names,
            labelled,
        )
    ni = n1 + n2
    mi = ni - 2.0
    sdp = np.sqrt(((n1 - 1.0) * sd1**2 + (n2 - 1.0) * sd2**2) / mi)
    di = (m1 - m2) / sdp
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MD":
            yi = m1 - m2
            vi = sdp**2 * (1.0 / n1 + 1.0 / n2) if vtype == "HO" else sd1**2 / n1 + sd2**2 / n2
        elif measure == "SMD":
            cmi = hedges_correction(mi)
            yi = cmi * di
            if vtype == "UB":
                vi = 1.0 / n1 + 1.0 / n2 + (1.0 - (mi - 2.0) / (mi * cmi**2)) * yi**2
            elif vtype == "AV":
                vi = 1.0 / n1 + 1.0 / n2 + _wmean(yi, ni) ** 2 / (2.0 * ni)
            elif vtype == "LS2":
                vi = cmi**2 * (1.0 / n1 + 1.0 / n2 + di**2 / (2.0 * ni))
            else:
                vi = 1.0 / n1 + 1.0 / n2 + yi**2 / (2.0 * ni)
        elif measure == "SMDH":
            cmi = hedges_correction(mi)
            si = np.sqrt((sd1**2 + sd2**2) / 2.0)
            yi = cmi * (m1 - m2) / si
            s2 = sd1**2 + sd2**2
            if vtype == "LS2":
                vi = (
                    yi**2 * sd1**2 / (2.0 * n1 * s2**2)
                    + yi**2 * sd2**2 / (2.0 * n2 * s2**2)
                    + 2.0 * sd1**2 / (n1 * s2)
                    + 2.0 * sd2**2 / (n2 * s2)
                )
            else:
                vi = yi**2 * (sd1**4 / (n1 - 1.0) + sd2**4 / (n2 - 1.0)) / (2.0 * s2**2) + (
                    sd1**2 / (n1 - 1.0) + sd2**2 / (n2 - 1.0)
                ) / (s2 / 2.0)
                vi = cmi**2 * vi
        else:  # ROM
            yi = np.log(m1 / m2)
            if vtype == "HO":
                vi = sdp**2 / (n1 * m1**2) + sdp**2 / (n2 * m2**2)
            elif vtype == "AV":
                cv1, cv2 = _wmean(sd1 / m1, n1), _wmean(sd2 / m2, n2)
                vi = cv1**2 / n1 + cv2**2 / n2
            elif vtype == "AVHO":
                cv = (np.sum(n1 * (sd1 / m1)) + np.sum(n2 * (sd2 / m2))) / np.sum(n1 + n2)
                vi = cv**2 * (1.0 / n1 + 1.0 / n2)
            else:
                vi = sd1**2 / (n1 * m1**2) + sd2**2 / (n2 * m2**2)
    return yi, vi, ni


def _change(
    measure: str, x: dict[str, np.ndarray], names: tuple[str, ...], labelled: bool, vtype: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """yi, vi, ni of single-group pre-post data (formulas at :func:`effect_sizes`)."""
    m1, m2, sd1, ni, ri = (x[k] for k in ("m1i", "m2i", "sd1i", "ni", "ri"))
    for key in ("sd1i", "sd2i"):
        if key in x:
            _require(
                x[key] > 0,
                f"{key} must be positive",
                f"{key}={{{key}}}",
                {key: x[key]},
                names,
                labelled,
            )
    _require(
        ni >= 2,
        "ni must be at least 2 (a standard deviation needs 2 participants)",
        "ni={ni}",
        {"ni": ni},
        names,
        labelled,
    )
    _require(
        (ri >= -1.0) & (ri <= 1.0),
        "ri must lie in [-1, 1] (a correlation)",
        "ri={ri}",
        {"ri": ri},
        names,
        labelled,
    )
    mi = ni - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "MC":
            sd2 = x["sd2i"]
            yi = m1 - m2
            vi = (sd1**2 + sd2**2 - 2.0 * ri * sd1 * sd2) / ni
        elif measure == "SMCC":
            sd2 = x["sd2i"]
            cmi = hedges_correction(mi)
            sddi = np.sqrt(sd1**2 + sd2**2 - 2.0 * ri * sd1 * sd2)
            di = (m1 - m2) / sddi
            yi = cmi * di
            if vtype == "LS2":
                vi = cmi**2 * (1.0 / ni + di**2 / (2.0 * ni))
            else:
                vi = 1.0 / ni + yi**2 / (2.0 * ni)
        else:  # SMCR
            cmi = hedges_correction(mi)
            di = (m1 - m2) / sd1
            yi = cmi * di
            if vtype == "LS2":
                vi = cmi**2 * (2.0 * (1.0 - ri) / ni + di**2 / (2.0 * ni))
            else:
                vi = 2.0 * (1.0 - ri) / ni + yi**2 / (2.0 * ni)
    return yi, vi, ni.copy()


def _intervals(
    yi: np.ndarray, sei: np.ndarray, measure: str, level: float
) -> dict[str, np.ndarray]:
    """Per-study Wald CI on the yi scale and on the reporting scale (exp for ratios)."""
    z = float(sps.norm.isf((1.0 - level) / 2.0))
    lo, hi = yi - z * sei, yi + z * sei
    if measure in RATIO_MEASURES:
        with np.errstate(over="ignore"):
            est, elo, ehi = np.exp(yi), np.exp(lo), np.exp(hi)
    else:
        est, elo, ehi = yi.copy(), lo.copy(), hi.copy()
    return {
        "ci_low_t": lo,
        "ci_high_t": hi,
        "estimate": est,
        "ci_low": elo,
        "ci_high": ehi,
    }


def effect_sizes(
    measure: str,
    *,
    ai: Any = None,
    bi: Any = None,
    ci: Any = None,
    di: Any = None,
    n1i: Any = None,
    n2i: Any = None,
    m1i: Any = None,
    sd1i: Any = None,
    m2i: Any = None,
    sd2i: Any = None,
    ni: Any = None,
    ri: Any = None,
    add: float = 0.5,
    to: str = "only0",
    drop00: bool = False,
    vtype: str = "LS",
    labels: Sequence[str] | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per-study effect sizes and sampling variances, as metafor's ``escalc()``.

    Arguments carry metafor's names and meaning; "arm 1" is the intervention, "arm 2" the
    comparator, so every effect is arm 1 versus arm 2.

    **Binary data** (``ai``/``ci`` events and ``bi``/``di`` non-events in arms 1/2; or ``ai``,
    ``ci`` with the arm sizes ``n1i``, ``n2i``; cells may be non-integer, e.g. a shared
    comparator split between two contrasts). ``drop00=True`` first sets studies with no events
    in either arm, or only events in both, to NA; then ``add`` (default 1/2) is added to all
    four cells of the studies chosen by ``to``: ``"only0"`` (default) those with any zero
    cell, ``"all"`` every study, ``"if0all"`` every study if any has a zero cell, ``"none"``
    none. The correction changes ``yi`` and ``vi``, and applies to ``RD`` too. With ``p1 = a /
    n1``, ``p2 = c / n2`` on the corrected cells:

    - ``RR``: ``yi = log(p1 / p2)``, ``vi = 1/a - 1/n1 + 1/c - 1/n2``;
    - ``OR``: ``yi = log(a d / (b c))``, ``vi = 1/a + 1/b + 1/c + 1/d``;
    - ``RD``: ``yi = p1 - p2``; ``vtype="LS"`` ``vi = p1 q1 / n1 + p2 q2 / n2``; ``"UB"`` with
      ``n - 1``; ``"AV"`` with the n-weighted mean ``p1`` and ``p2`` over the studies;
    - ``PETO`` (Yusuf et al., 1985): ``yi = (a - E) / V``, ``vi = 1 / V`` with
      ``E = n1 (a + c) / N``, ``V = (a + c)(b + d) n1 n2 / (N^2 (N - 1))``.

    **Two-group continuous data** (``m1i``, ``sd1i``, ``n1i``, ``m2i``, ``sd2i``, ``n2i``),
    ``m = n1 + n2 - 2``, ``sp^2 = ((n1 - 1) sd1^2 + (n2 - 1) sd2^2) / m``, ``N = n1 + n2``:

    - ``MD``: ``yi = m1 - m2``; ``LS``/``UB`` ``vi = sd1^2/n1 + sd2^2/n2``; ``HO``
      ``vi = sp^2 (1/n1 + 1/n2)``;
    - ``SMD`` (Hedges' g; Hedges, 1981): ``yi = c(m) (m1 - m2) / sp`` with the exact c(m) of
      :func:`hedges_correction`; ``LS`` ``vi = 1/n1 + 1/n2 + yi^2 / (2N)`` (the corrected
      ``yi``); ``UB`` ``1/n1 + 1/n2 + (1 - (m - 2) / (m c^2)) yi^2``; ``LS2``
      ``c^2 (1/n1 + 1/n2 + d^2 / (2N))`` with the uncorrected d; ``AV`` the N-weighted mean
      ``yi`` in place of ``yi``;
    - ``SMDH`` (Bonett, 2009): ``s = sqrt((sd1^2 + sd2^2) / 2)``, ``yi = c(m) (m1 - m2) / s``;
      ``LS`` ``vi = c^2 [yi^2 (sd1^4/(n1-1) + sd2^4/(n2-1)) / (2 (sd1^2 + sd2^2)^2) +
      (sd1^2/(n1-1) + sd2^2/(n2-1)) / s^2]``; ``LS2`` as in metafor;
    - ``ROM`` (Hedges et al., 1999): ``yi = log(m1 / m2)`` (NaN unless ``m1 / m2 > 0``);
      ``LS`` ``vi = sd1^2 / (n1 m1^2) + sd2^2 / (n2 m2^2)``; ``HO`` with ``sp``; ``AV`` /
      ``AVHO`` with n-weighted mean coefficients of variation (per arm / pooled).

    **Single-group pre-post data** (Morris, 2000; Becker, 1988), passed as metafor expects:
    ``m1i`` = post-test mean, ``m2i`` = pre-test mean, ``sd1i`` = pre-test SD, ``sd2i`` =
    post-test SD, ``ni``, and ``ri`` the pre-post correlation (a number for all studies, e.g.
    an assumed 0.5, or one per study); ``c = c(ni - 1)``:

    - ``MC``: ``yi = m1 - m2``, ``vi = (sd1^2 + sd2^2 - 2 r sd1 sd2) / n``;
    - ``SMCC``: ``yi = c (m1 - m2) / sd_d``, ``sd_d^2 = sd1^2 + sd2^2 - 2 r sd1 sd2``; ``LS``
      ``vi = 1/n + yi^2 / (2n)``; ``LS2`` ``c^2 (1/n + d^2 / (2n))``;
    - ``SMCR``: ``yi = c (m1 - m2) / sd1`` (standardized by the pre-test SD; ``sd2i`` is not
      needed); ``LS`` ``vi = 2 (1 - r)/n + yi^2 / (2n)``; ``LS2`` ``c^2 (2 (1 - r)/n +
      d^2 / (2n))``.

    Where metafor gives NA, ``yi`` and ``vi`` are NaN: a study left out by ``drop00``, a
    ``yi`` or ``vi`` that is infinite or undefined (a zero cell under ``to="none"``, a ratio
    of means that is not positive, c(m) with ``m <= 1``), and a negative ``vi`` (``vi`` only).

    Parameters
    ----------
    measure : str
        One of :data:`ESCALC_MEASURES` (case-insensitive).
    ai, bi, ci, di, n1i, n2i, m1i, sd1i, m2i, sd2i, ni, ri : sequence of float
        The data the measure needs (above), one value per study; ``ri`` may be a single number.
        An argument the measure does not use is an error.
    add : float
        Continuity correction (binary data).
    to : {"only0", "all", "if0all", "none"}
        Which studies get it (binary data).
    drop00 : bool
        Set double-zero (and double-all-event) studies to NaN (binary data).
    vtype : str
        Variance estimator, one of :data:`VTYPES` ``[measure]``.
    labels : sequence of str, optional
        Study labels, used as the index (named ``"study"``) and in error messages.
    level : float
        Confidence level of the per-study intervals.

    Returns
    -------
    pandas.DataFrame
        One row per study: ``yi``, ``vi``, ``sei`` (= sqrt(vi)); the Wald interval
        ``ci_low_t``, ``ci_high_t`` = ``yi -/+ z sei`` on the analysis scale; ``estimate``,
        ``ci_low``, ``ci_high`` on the reporting scale (exp of those for ``RR``, ``OR``,
        ``PETO``, ``ROM``; the same values otherwise); ``ni`` (participants, uncorrected);
        for binary data ``adjusted`` (``add`` was added to the cells) and ``dropped``
        (``drop00`` set the study to NaN).

    Raises
    ------
    ValueError
        Naming the study (label and position), the argument and the value: a negative count,
        an arm size that disagrees with its cells or is smaller than its events, an empty arm,
        an SD <= 0, n < 2 where an SD is used, a correlation outside [-1, 1], a missing or
        non-numeric value; also an unknown measure, option or ``vtype``, a missing or unused
        argument, arguments of different lengths.

    References
    ----------
    Yusuf, S., Peto, R., Lewis, J., Collins, R., & Sleight, P. (1985). Beta blockade during and
    after myocardial infarction. *Progress in Cardiovascular Diseases*, 27(5), 335-371.
    Hedges, L. V., Gurevitch, J., & Curtis, P. S. (1999). The meta-analysis of response ratios
    in experimental ecology. *Ecology*, 80(4), 1150-1156. Bonett, D. G. (2009). Meta-analytic
    interval estimation for standardized and unstandardized mean differences. *Psychological
    Methods*, 14(3), 225-238. Becker, B. J. (1988). Synthesizing standardized mean-change
    measures. *British Journal of Mathematical and Statistical Psychology*, 41(2), 257-278.
    Morris, S. B. (2000). Distribution of the standardized mean change effect size for
    meta-analysis on repeated measures. *British Journal of Mathematical and Statistical
    Psychology*, 53(1), 17-29.

    Examples
    --------
    A trial with 4/8 versus 0/7 responders (metafor: yi = 2.0794,
    vi = 1.9861; 1/2 added to every cell because of the zero):

    >>> out = effect_sizes("RR", ai=[4], n1i=[8], ci=[0], n2i=[7])
    >>> out[["yi", "vi", "estimate", "adjusted"]].round(4).to_dict("records")
    [{'yi': 2.0794, 'vi': 1.9861, 'estimate': 8.0, 'adjusted': True}]
    """
    if isinstance(measure, str) and measure.upper() in ("HR", "GEN"):
        raise ValueError(
            f"measure {measure!r} cannot be computed from arm data; use effect_from_ci for a "
            "reported effect and its confidence interval"
        )
    measure = _check_choice(measure, "measure", ESCALC_MEASURES, upper=True)
    vtype = _check_choice(vtype, "vtype", VTYPES[measure], upper=True)
    to = _check_choice(to, "to", TO_OPTIONS, upper=False)
    add = _check_add(add)
    drop00 = _check_bool(drop00, "drop00")
    level = _check_level(level)

    given = {
        "ai": ai, "bi": bi, "ci": ci, "di": di, "n1i": n1i, "n2i": n2i, "m1i": m1i,
        "sd1i": sd1i, "m2i": m2i, "sd2i": sd2i, "ni": ni, "ri": ri,
    }  # fmt: skip
    given = {key: value for key, value in given.items() if value is not None}
    required, optional = _ARGS[measure]
    for key in given:
        if key not in required and key not in optional:
            takes = ", ".join(required + optional)
            raise ValueError(f"{key} is not used by measure {measure!r} (it takes {takes})")
    for key in required:
        if key not in given:
            raise ValueError(f"measure {measure!r} needs {key}")
    if "ri" in given and np.ndim(given["ri"]) == 0 and not isinstance(given["ri"], (str, bytes)):
        given["ri"] = [given["ri"]] * _length(given["m1i"], "m1i")  # one r for every study
    lengths = {key: _length(value, key) for key, value in given.items()}
    k = next(iter(lengths.values()))
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
        raise ValueError(f"the data arguments must have the same length; got {shown}")
    if k == 0:
        raise ValueError("the data arguments must contain at least one study; got none")
    names = _check_labels(labels, k)
    labelled = labels is not None
    x = {key: _numbers(given[key], key, names, labelled) for key in _ARG_ORDER if key in given}

    adjusted = dropped = None
    if measure in BINARY_MEASURES:
        yi, vi, n_all, adjusted, dropped = _binary(
            measure, x, names, labelled, add, to, drop00, vtype
        )
    elif measure in CONTINUOUS_MEASURES:
        yi, vi, n_all = _continuous(measure, x, names, labelled, vtype)
    else:
        yi, vi, n_all = _change(measure, x, names, labelled, vtype)

    # metafor: infinite or NaN yi/vi -> NA (both); negative vi -> NA (vi only)
    bad = ~(np.isfinite(yi) & np.isfinite(vi))
    yi = np.where(bad, np.nan, yi)
    vi = np.where(bad | (vi < 0), np.nan, vi)
    sei = np.sqrt(vi)
    columns: dict[str, Any] = {"yi": yi, "vi": vi, "sei": sei}
    columns.update(_intervals(yi, sei, measure, level))
    columns["ni"] = n_all
    if adjusted is not None:
        columns["adjusted"] = adjusted
        columns["dropped"] = dropped
    frame = pd.DataFrame(columns)
    if labelled:
        frame.index = pd.Index(names, name="study")
    return frame


# --------------------------------------------------------------------------------------------
# generic inverse variance: a reported effect and its confidence interval
# --------------------------------------------------------------------------------------------


def effect_from_ci(
    estimate: Any,
    ci_low: Any,
    ci_high: Any,
    *,
    measure: str,
    level: float = 0.95,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``yi`` and ``vi`` of reported effects with their confidence intervals.

    For generic inverse-variance pooling (Cochrane Handbook, section 6.3.1, and Altman & Bland,
    2011): on the analysis scale (the log for the ratio measures ``OR``, ``RR``, ``HR``,
    ``ROM``, ``PETO``; the raw value for ``MD``, ``SMD``, ``RD`` and the other difference
    measures), ``yi`` is the estimate and ``sei = (upper - lower) / (2 z)``, ``z`` the
    standard normal quantile of the CI's level (1.959964 for 95%), ``vi = sei^2``. A CI printed
    with rounded limits is not exactly symmetric around the estimate on that scale; the
    half-widths are reported (``sei_from_lower``, ``sei_from_upper``, ``asymmetry``) so a
    typing or scale error shows.

    Parameters
    ----------
    estimate, ci_low, ci_high : sequence of float
        Reported point estimate and CI limits, one per study, on the natural scale (a ratio,
        not its log).
    measure : str
        One of :data:`evidence.stats.EFFECT_MEASURES`.
    level : float
        Confidence level of the reported intervals (0.95 for a 95% CI).
    labels : sequence of str, optional
        Study labels, used as the index (named ``"study"``) and in error messages.

    Returns
    -------
    pandas.DataFrame
        ``yi``, ``vi``, ``sei``; ``ci_low_t``, ``ci_high_t`` = ``yi -/+ z sei`` (the interval
        rebuilt from ``yi`` and ``sei``) and ``estimate``, ``ci_low``, ``ci_high`` on the natural
        scale (exp of those for ratios); ``stat`` = ``yi / sei`` and its two-sided normal
        ``pvalue``; ``sei_from_lower`` = ``(yi - lower) / z``, ``sei_from_upper`` =
        ``(upper - yi) / z``, ``asymmetry`` = upper minus lower half-width and ``ci_midpoint``,
        all on the analysis scale.

    Raises
    ------
    ValueError
        Naming the study, argument and value: a missing or non-finite number, a lower limit not
        below the upper one, an estimate outside its CI, or (ratio measures) a non-positive
        estimate or limit.

    References
    ----------
    Higgins, J. P. T., Li, T., & Deeks, J. J. (Eds.) (2023). Chapter 6: Choosing effect
    measures and computing estimates of effect, section 6.3.1 (obtaining standard errors from
    confidence intervals and P values). In *Cochrane Handbook for Systematic Reviews of
    Interventions*, version 6.4. Altman, D. G., & Bland, J. M. (2011). How to obtain the
    confidence interval from a P value. *BMJ*, 343, d2090; and Altman, D. G., & Bland, J. M.
    (2011). How to obtain the P value from a confidence interval. *BMJ*, 343, d2304.

    Examples
    --------
    A review's pooled OR 28.94 (95% CI 3.45 to 242.57):

    >>> out = effect_from_ci([28.94], [3.45], [242.57], measure="OR")
    >>> out[["yi", "sei", "pvalue"]].round(6).to_dict("records")
    [{'yi': 3.365225, 'sei': 1.084948, 'pvalue': 0.001924}]
    """
    if isinstance(measure, str) and measure.upper() in ("PLO", "PFT", "PR", "PAS"):
        raise ValueError(
            f"measure must be one of {', '.join(map(repr, EFFECT_MEASURES))}; got {measure!r}"
        )
    measure = _check_choice(measure, "measure", EFFECT_MEASURES, upper=True)
    level = _check_level(level)
    lengths = {
        "estimate": _length(estimate, "estimate"),
        "ci_low": _length(ci_low, "ci_low"),
        "ci_high": _length(ci_high, "ci_high"),
    }
    k = lengths["estimate"]
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
        raise ValueError(f"estimate, ci_low and ci_high must have the same length; got {shown}")
    if k == 0:
        raise ValueError("estimate must contain at least one study; got an empty sequence")
    names = _check_labels(labels, k)
    labelled = labels is not None
    est = _numbers(estimate, "estimate", names, labelled)
    lo = _numbers(ci_low, "ci_low", names, labelled)
    hi = _numbers(ci_high, "ci_high", names, labelled)
    arrays = {"estimate": est, "ci_low": lo, "ci_high": hi}
    ratio = measure in RATIO_MEASURES
    if ratio:
        for key, arr in arrays.items():
            _require(
                arr > 0,
                f"{key} must be positive for the ratio measure {measure}",
                f"{key}={{{key}}}",
                {key: arr},
                names,
                labelled,
            )
    _require(
        lo < hi,
        "ci_low must be below ci_high",
        "ci_low={ci_low}, ci_high={ci_high}",
        arrays,
        names,
        labelled,
    )
    _require(
        (lo <= est) & (est <= hi),
        "the confidence interval must contain its estimate",
        "estimate={estimate} outside [{ci_low}, {ci_high}]",
        arrays,
        names,
        labelled,
    )
    z = float(sps.norm.isf((1.0 - level) / 2.0))
    t_est, t_lo, t_hi = (np.log(a) for a in (est, lo, hi)) if ratio else (est, lo, hi)
    sei = (t_hi - t_lo) / (2.0 * z)
    stat = t_est / sei
    columns: dict[str, Any] = {"yi": t_est, "vi": sei**2, "sei": sei}
    columns.update(_intervals(t_est, sei, measure, level))
    columns.update(
        stat=stat,
        pvalue=2.0 * sps.norm.sf(np.abs(stat)),
        sei_from_lower=(t_est - t_lo) / z,
        sei_from_upper=(t_hi - t_est) / z,
        asymmetry=(t_hi - t_est) - (t_est - t_lo),
        ci_midpoint=(t_lo + t_hi) / 2.0,
    )
    frame = pd.DataFrame(columns)
    if labelled:
        frame.index = pd.Index(names, name="study")
    return frame


# --------------------------------------------------------------------------------------------
# conversions of reported summaries of a continuous outcome
# --------------------------------------------------------------------------------------------


def _broadcast(
    values: Mapping[str, Any], labels: Sequence[str] | None, *, optional: tuple[str, ...] = ()
) -> tuple[dict[str, np.ndarray], tuple[str, ...], bool]:
    """Scalars or 1-D sequences -> equal-length float arrays (optional ones may hold NaN)."""
    lengths = {key: _length(v, key) for key, v in values.items() if np.ndim(v) != 0}
    k = next(iter(lengths.values())) if lengths else 1
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{key}: {n}" for key, n in lengths.items())
        raise ValueError(f"the arguments must have the same length; got {shown}")
    if k == 0:
        raise ValueError("the arguments must contain at least one study; got none")
    names = _check_labels(labels, k)
    labelled = labels is not None
    out = {}
    for key, v in values.items():
        seq = [v] * k if np.ndim(v) == 0 else v
        out[key] = _numbers(seq, key, names, labelled, missing_ok=key in optional)
    return out, names, labelled


def sd_from_se(se: Any, n: Any, *, labels: Sequence[str] | None = None) -> np.ndarray:
    """Standard deviation of a mean from its standard error: ``sd = se sqrt(n)``.

    Cochrane Handbook, section 6.5.2.2 (obtaining standard deviations from standard errors).

    Parameters
    ----------
    se : float or sequence of float
        Standard error of the mean of one group (> 0).
    n : float or sequence of float
        Participants in that group (>= 2).
    labels : sequence of str, optional
        Study labels for error messages.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Higgins, J. P. T., Li, T., & Deeks, J. J. (Eds.) (2023). Chapter 6, section 6.5.2.2. In
    *Cochrane Handbook for Systematic Reviews of Interventions*, version 6.4.

    Examples
    --------
    >>> sd_from_se([1.5], [25])
    array([7.5])
    """
    x, names, labelled = _broadcast({"se": se, "n": n}, labels)
    _require(x["se"] > 0, "se must be positive", "se={se}", x, names, labelled)
    _require(x["n"] >= 2, "n must be at least 2", "n={n}", x, names, labelled)
    return x["se"] * np.sqrt(x["n"])


def sd_from_ci(
    ci_low: Any,
    ci_high: Any,
    n: Any,
    *,
    level: float = 0.95,
    distribution: str = "auto",
    labels: Sequence[str] | None = None,
) -> np.ndarray:
    """Standard deviation of one group from a confidence interval of its mean.

    Cochrane Handbook, section 6.5.2.2: ``sd = sqrt(n) (upper - lower) / (2 q)`` with ``q``
    the t quantile with ``n - 1`` degrees of freedom for small samples and the normal quantile
    (3.92 / 2 for 95%) for large ones; the Handbook suggests t below 60 participants per group.

    Parameters
    ----------
    ci_low, ci_high : float or sequence of float
        CI of the group mean.
    n : float or sequence of float
        Participants in the group (>= 2).
    level : float
        Confidence level of the interval (0.95).
    distribution : {"auto", "t", "z"}
        ``"auto"``: t(n - 1) when ``n < 60``, else the normal quantile.
    labels : sequence of str, optional
        Study labels for error messages.

    Returns
    -------
    numpy.ndarray

    References
    ----------
    Higgins, J. P. T., Li, T., & Deeks, J. J. (Eds.) (2023). Chapter 6, section 6.5.2.2. In
    *Cochrane Handbook for Systematic Reviews of Interventions*, version 6.4.

    Examples
    --------
    A mean with 95% CI 10.0 to 14.0 in 25 participants (t(24) quantile 2.0639; R:
    ``sqrt(25) * 4 / (2 * qt(0.975, 24))`` = 4.84519936489):

    >>> sd_from_ci([10.0], [14.0], [25]).round(4)
    array([4.8452])
    """
    level = _check_level(level)
    distribution = _check_choice(distribution, "distribution", ("auto", "t", "z"), upper=False)
    x, names, labelled = _broadcast({"ci_low": ci_low, "ci_high": ci_high, "n": n}, labels)
    _require(
        x["ci_low"] < x["ci_high"],
        "ci_low must be below ci_high",
        "ci_low={ci_low}, ci_high={ci_high}",
        x,
        names,
        labelled,
    )
    _require(x["n"] >= 2, "n must be at least 2", "n={n}", x, names, labelled)
    alpha2 = (1.0 - level) / 2.0
    q_t = sps.t.isf(alpha2, x["n"] - 1.0)
    q_z = np.full(x["n"].shape, sps.norm.isf(alpha2))
    if distribution == "t":
        q = q_t
    elif distribution == "z":
        q = q_z
    else:
        q = np.where(x["n"] < 60, q_t, q_z)
    return np.sqrt(x["n"]) * (x["ci_high"] - x["ci_low"]) / (2.0 * q)


def mean_sd_from_median(
    median: Any,
    n: Any,
    *,
    q1: Any = None,
    q3: Any = None,
    minimum: Any = None,
    maximum: Any = None,
    labels: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Estimated mean and SD from a median with its quartiles and/or range.

    The methods reviewed by Shi et al. (2020) for the three reporting scenarios: mean by Luo et
    al. (2018), SD by Wan et al. (2014), with ``a``/``b`` the minimum/maximum, ``q1``/``q3``
    the quartiles, ``m`` the median, ``n`` the sample size and ``Phi^-1`` the standard normal
    quantile:

    - S1 (median, minimum, maximum): mean ``= w (a + b)/2 + (1 - w) m``,
      ``w = 4 / (4 + n^0.75)``; SD ``= (b - a) / xi``, ``xi = 2 Phi^-1((n - 0.375)/(n + 0.25))``;
    - S2 (all five numbers): mean ``= w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m``,
      ``w1 = 2.2 / (2.2 + n^0.75)``, ``w2 = 0.7 - 0.72 / n^0.55``; SD
      ``= (b - a) / (2 xi) + (q3 - q1) / (2 eta)``;
    - S3 (median and quartiles): mean ``= w (q1 + q3)/2 + (1 - w) m``, ``w = 0.7 + 0.39/n``;
      SD ``= (q3 - q1) / eta``, ``eta = 2 Phi^-1((0.75 n - 0.125)/(n + 0.25))``.

    Each study uses the scenario its data allow (S2 when both quartiles and range are given);
    a missing value (None or NaN) in ``q1``, ``q3``, ``minimum`` or ``maximum`` means "not
    reported" for that study. The estimates assume a roughly normal distribution; the result
    should be marked as converted wherever it is used.

    Parameters
    ----------
    median, n : float or sequence of float
        Median and sample size (>= 2) per study.
    q1, q3, minimum, maximum : float or sequence of float, optional
        Quartiles and range.
    labels : sequence of str, optional
        Study labels, used as the index (named ``"study"``) and in error messages.

    Returns
    -------
    pandas.DataFrame
        ``mean``, ``sd`` and ``scenario`` (``"S1"``, ``"S2"`` or ``"S3"``) per study.

    Raises
    ------
    ValueError
        Naming the study: neither both quartiles nor both range limits, values out of order
        (``minimum <= q1 <= median <= q3 <= maximum``), a range or IQR of zero, n < 2.

    References
    ----------
    Wan, X., Wang, W., Liu, J., & Tong, T. (2014). Estimating the sample mean and standard
    deviation from the sample size, median, range and/or interquartile range. *BMC Medical
    Research Methodology*, 14, 135. Luo, D., Wan, X., Liu, J., & Tong, T. (2018). Optimally
    estimating the sample mean from the sample size, median, mid-range, and/or mid-quartile
    range. *Statistical Methods in Medical Research*, 27(6), 1785-1805. Shi, J., Luo, D.,
    Weng, H., Zeng, X.-T., Lin, L., Chu, H., & Tong, T. (2020). Optimally estimating the sample
    standard deviation from the five-number summary. *Research Synthesis Methods*, 11(5),
    641-654.

    Examples
    --------
    Median 20 with IQR 15 to 28 in 40 participants (scenario S3; by the formulas in R:
    21.064625 and 9.99608871923):

    >>> mean_sd_from_median([20.0], [40], q1=[15.0], q3=[28.0]).round(4).to_dict("records")
    [{'mean': 21.0646, 'sd': 9.9961, 'scenario': 'S3'}]
    """
    x, names, labelled = _broadcast(
        {
            "median": median,
            "n": n,
            "q1": np.nan if q1 is None else q1,
            "q3": np.nan if q3 is None else q3,
            "minimum": np.nan if minimum is None else minimum,
            "maximum": np.nan if maximum is None else maximum,
        },
        labels,
        optional=("q1", "q3", "minimum", "maximum"),
    )
    m, nn, a, b, lo, hi = x["median"], x["n"], x["minimum"], x["maximum"], x["q1"], x["q3"]
    _require(nn >= 2, "n must be at least 2", "n={n}", x, names, labelled)
    has_iqr = ~np.isnan(lo) & ~np.isnan(hi)
    has_range = ~np.isnan(a) & ~np.isnan(b)
    _require(
        np.isnan(lo) == np.isnan(hi),
        "q1 and q3 go together (give both quartiles or neither)",
        "q1={q1}, q3={q3}",
        x,
        names,
        labelled,
    )
    _require(
        np.isnan(a) == np.isnan(b),
        "minimum and maximum go together (give both or neither)",
        "minimum={minimum}, maximum={maximum}",
        x,
        names,
        labelled,
    )
    _require(
        has_iqr | has_range,
        "a median needs both quartiles (q1, q3) and/or both range limits (minimum, maximum)",
        "q1={q1}, q3={q3}, minimum={minimum}, maximum={maximum}",
        x,
        names,
        labelled,
    )
    order = np.ones(m.shape, dtype=bool)
    for low, high in ((lo, m), (m, hi), (a, m), (m, b), (a, lo), (hi, b)):
        order &= ~(low > high)  # comparisons with NaN (not reported) are False
    _require(
        order,
        "the summary must be ordered minimum <= q1 <= median <= q3 <= maximum",
        "minimum={minimum}, q1={q1}, median={median}, q3={q3}, maximum={maximum}",
        x,
        names,
        labelled,
    )
    _require(~has_iqr | (hi > lo), "q3 must exceed q1", "q1={q1}, q3={q3}", x, names, labelled)
    _require(
        ~has_range | (b > a),
        "maximum must exceed minimum",
        "minimum={minimum}, maximum={maximum}",
        x,
        names,
        labelled,
    )
    xi = 2.0 * sps.norm.ppf((nn - 0.375) / (nn + 0.25))
    eta = 2.0 * sps.norm.ppf((0.75 * nn - 0.125) / (nn + 0.25))
    with np.errstate(invalid="ignore"):
        # S1: range only
        w = 4.0 / (4.0 + nn**0.75)
        mean1 = w * (a + b) / 2.0 + (1.0 - w) * m
        sd1 = (b - a) / xi
        # S2: five numbers
        w1 = 2.2 / (2.2 + nn**0.75)
        w2 = 0.7 - 0.72 / nn**0.55
        mean2 = w1 * (a + b) / 2.0 + w2 * (lo + hi) / 2.0 + (1.0 - w1 - w2) * m
        sd2 = (b - a) / (2.0 * xi) + (hi - lo) / (2.0 * eta)
        # S3: quartiles only
        w3 = 0.7 + 0.39 / nn
        mean3 = w3 * (lo + hi) / 2.0 + (1.0 - w3) * m
        sd3 = (hi - lo) / eta
    s2 = has_iqr & has_range
    mean = np.where(s2, mean2, np.where(has_iqr, mean3, mean1))
    sd = np.where(s2, sd2, np.where(has_iqr, sd3, sd1))
    scenario = np.where(s2, "S2", np.where(has_iqr, "S3", "S1"))
    frame = pd.DataFrame({"mean": mean, "sd": sd, "scenario": scenario})
    if labelled:
        frame.index = pd.Index(names, name="study")
    return frame
