"""Pinned values (ours vs R's) with a named tolerance each, for the metafor reference tests.

Used by ``test_multilevel.py`` and ``test_glmm.py``: every comparison is a :class:`Pin`, all of
a test's pins are checked at once (one failure message lists every mismatch), and the summary
tests report the largest relative difference per family.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any


def num(value: Any) -> float | None:
    """JSON reference value -> float (``null`` -> None; "NaN"/"Inf"/"-Inf" strings)."""
    if value is None:
        return None
    if isinstance(value, str):
        return {"NaN": math.nan, "Inf": math.inf, "-Inf": -math.inf}[value]
    return float(value)


@dataclasses.dataclass(frozen=True)
class Pin:
    """One pinned value: ``|ours - R| <= max(rtol |R|, atol)``."""

    where: str
    actual: Any
    expected: float | None
    rtol: float
    atol: float = 0.0
    absolute: bool = False  # a boundary value (0 vs ~1e-12): compared by atol, not reported

    def ok(self) -> bool:
        e, a = self.expected, self.actual
        if e is None or a is None:
            return e is None and a is None
        a = float(a)
        if math.isnan(e) or math.isinf(e):
            return (math.isnan(a) and math.isnan(e)) or a == e
        return abs(a - e) <= max(self.rtol * abs(e), self.atol)

    def rel_diff(self) -> float | None:
        """|ours - R| / |R| for finite non-zero references (None otherwise)."""
        e = self.expected
        if self.absolute or e is None or self.actual is None or not math.isfinite(e) or e == 0:
            return None
        return abs(float(self.actual) - e) / abs(e)


def pval_rtol(rtol_stat: float, stat: float) -> float:
    """Relative tolerance of a two-sided p-value whose test statistic is known to ``rtol_stat``.

    For the normal (and t) tail ``|d log p / d stat| <= |stat|`` (Mills ratio), so a relative
    error ``r`` in the statistic moves ``p`` by at most about ``stat^2 r`` relative (and by
    ``~r`` when the statistic is small).
    """
    return rtol_stat * max(1.0, stat * stat)


def assert_pins(pins: list[Pin]) -> None:
    bad = [p for p in pins if not p.ok()]
    assert not bad, "mismatches vs R:\n" + "\n".join(
        f"  {p.where}: ours={p.actual!r} R={p.expected!r} (rtol {p.rtol:g}, atol {p.atol:g})"
        for p in bad
    )


DERIVED = (".ci_lb", ".ci_ub", ".pi_lb", ".pi_ub", "pval", "_prop")


def largest(pins: list[Pin], *, core: bool = False) -> tuple[float, Pin]:
    """The largest relative difference among ``pins`` and where it is.

    ``core=True`` leaves out interval bounds, p-values and back-transformed values, whose
    relative differences are amplified (a bound near 0 is a difference of two larger numbers;
    a p-value of 1e-56 moves by z^2 times the relative change of z).
    """
    diffs = [
        (d, p)
        for p in pins
        if (d := p.rel_diff()) is not None and not (core and any(x in p.where for x in DERIVED))
    ]
    return max(diffs, key=lambda t: t[0])


def summary(family: str, pins: list[Pin]) -> str:
    """One line: number of values, largest relative difference overall and for core values."""
    worst, where = largest(pins)
    core, cwhere = largest(pins, core=True)
    return (
        f"  {family}: {len(pins)} values; largest relative difference {worst:.3g} at "
        f"{where.where} (ours {where.actual!r}, R {where.expected!r}); without interval "
        f"bounds and p-values {core:.3g} at {cwhere.where}"
    )
