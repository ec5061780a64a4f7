"""GRADE certainty of evidence: a draft rating of each headline analysis from its numbers, the
analyst's judgements from the protocol, and the summary of findings.

GRADE (Grading of Recommendations Assessment, Development and Evaluation) rates how much to
trust a pooled result: **high** (⊕⊕⊕⊕), **moderate** (⊕⊕⊕◯), **low** (⊕⊕◯◯) or **very low**
(⊕◯◯◯). A body of randomised comparisons starts high, observational or single-arm evidence
starts low; each of five domains may then rate it down one or two levels (Schünemann et al.,
*GRADE Handbook*, 2013, section 5; Guyatt et al. 2011, J Clin Epidemiol 64: the GRADE series,
4 risk of bias, 5 publication bias, 6 imprecision, 7 inconsistency, 8 indirectness).

`evidence` drafts each domain's rating from the numbers (:func:`grade`), one small documented
rule per domain, each naming the number that triggered it:

- **start** (:func:`start_level`): high when every pooled comparison is randomised, low
  otherwise; a pooled response rate of intervention arms is single-arm evidence and starts low
  even when the arms come from randomised trials;
- **risk of bias** (:func:`rate_risk_of_bias`): the share of the analysis's weight from
  results at high risk (RoB 2 high; ROBINS-I serious or critical) and from results whose risk
  cannot be judged (no information, or not assessed with a tool);
- **inconsistency** (:func:`rate_inconsistency`): I² and the prediction interval;
- **imprecision** (:func:`rate_imprecision`): the CI against the decision threshold, and the
  participants against the optimal information size (:func:`ois_binary`,
  :func:`ois_continuous`, :func:`ois_proportion`);
- **publication bias** (:func:`rate_publication_bias`): not assessable with fewer than 10
  studies; otherwise as the analyst declares;
- **indirectness** (:func:`rate_indirectness`): as the analyst declares only.

The analyst's judgements live in the protocol (``[tool.evidence.grade.NAME]``, one table per
analysis; :func:`read_grade` checks them), each with its reason; a judgement replaces the
draft's rating, and every output shows both. Upgrading (large effect, dose-response, plausible
confounding) is not drafted.

The summary of findings (:func:`summary_of_findings`; Cochrane Handbook chapter 14) gives one
row per headline analysis: k, participants, the relative effect, for binary comparisons the
absolute effect per 1,000 at the comparator's risk (:func:`absolute_risk`), the certainty in
symbols and words, the draft, and footnotes giving each downgrade's reason.

This module is light (no pandas at import): the protocol reads its judgements with it.

>>> ois_proportion(0.5, precision=0.1)
97
>>> absolute_risk("OR", 2.0, 0.2)
0.3333333333333333
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from evidence.errors import GradeError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from evidence.analysis import Analysis
    from evidence.base import EvidenceBase
    from evidence.pooling import PoolReport

__all__ = [
    "DOMAINS",
    "LEVELS",
    "SYMBOLS",
    "Certainty",
    "DomainRating",
    "GradePlan",
    "GradeProtocol",
    "Judgement",
    "absolute_effect_text",
    "absolute_risk",
    "comparator_risk",
    "footnote_list",
    "footnotes",
    "grade",
    "level_after",
    "ois_binary",
    "ois_continuous",
    "ois_proportion",
    "participants",
    "rate_imprecision",
    "rate_inconsistency",
    "rate_indirectness",
    "rate_publication_bias",
    "rate_risk_of_bias",
    "read_grade",
    "rules_text",
    "settings_table",
    "start_level",
    "summary_of_findings",
]

#: The five domains that can rate a body of evidence down, in GRADE's order.
DOMAINS: tuple[str, ...] = (
    "risk_of_bias",
    "inconsistency",
    "indirectness",
    "imprecision",
    "publication_bias",
)
DOMAIN_NAMES: Mapping[str, str] = {
    "risk_of_bias": "risk of bias",
    "inconsistency": "inconsistency",
    "indirectness": "indirectness",
    "imprecision": "imprecision",
    "publication_bias": "publication bias",
}
#: Certainty levels, lowest first (very low = 1 … high = 4).
LEVELS: tuple[str, ...] = ("very low", "low", "moderate", "high")
#: GRADE's symbols for each level.
SYMBOLS: Mapping[str, str] = {
    "high": "⊕⊕⊕⊕",
    "moderate": "⊕⊕⊕◯",
    "low": "⊕⊕◯◯",
    "very low": "⊕◯◯◯",
}
#: Ratings a domain can take: not rated down, down one level, down two.
RATINGS: tuple[int, ...] = (0, -1, -2)
RATING_WORDS: Mapping[int, str] = {
    0: "not rated down",
    -1: "rated down one level",
    -2: "rated down two levels",
}

# ------------------------------------------------------------------ thresholds of the drafts

#: Overall risk-of-bias judgements that count as high risk (RoB 2 high; ROBINS-I serious or
#: critical), and the ones that count as very high (ROBINS-I critical).
HIGH_RISK: tuple[str, ...] = ("high", "serious", "critical")
CRITICAL_RISK: tuple[str, ...] = ("critical",)
#: Percent of the weight at high risk (or unjudgeable) from which risk of bias rates down.
RISK_OF_BIAS_SHARE = 50.0
#: How many results a risk-of-bias trigger names at each level before "and N more": a
#: footnote is read by a panel, and an analysis may pool hundreds of studies.
NAMED_MAX = 6
#: I² (percent) from which inconsistency rates down one level, and from which it rates down
#: two when the prediction interval also contains the decision threshold (Higgins et al. 2003
#: call 50% and 75% moderate and high heterogeneity; GRADE 7).
I2_SERIOUS = 50.0
I2_VERY_SERIOUS = 75.0
#: Fewer studies than this: publication bias cannot be assessed (tests for funnel-plot
#: asymmetry need at least 10: Sterne et al. 2011, BMJ 343:d4002; GRADE 5).
PUBLICATION_BIAS_MIN_K = 10
#: Designs whose comparisons are randomised (studies assessed with RoB 2 are randomised too).
RANDOMISED_DESIGNS: tuple[str, ...] = ("rct-parallel", "rct-crossover")
#: Binary and continuous effect measures (absolute effects per 1,000 are for binary ones).
BINARY_EFFECTS: tuple[str, ...] = ("RR", "OR", "RD")
CONTINUOUS_EFFECTS: tuple[str, ...] = ("MD", "SMD", "SMDH")


# ------------------------------------------------------------------ the protocol's judgements


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _fraction(value: Any) -> float:
    number = _number(value)
    if not 0.0 < number < 1.0:
        raise ValueError(f"{value!r} is not strictly between 0 and 1")
    return number


def _positive(value: Any) -> float:
    number = _number(value)
    if number <= 0:
        raise ValueError(f"{value!r} is not above 0")
    return number


#: The assumptions an analysis's GRADE table may declare: key -> (check, allowed, default,
#: meaning). One table drives the protocol's validation and the README's table.
SETTINGS: Mapping[str, tuple[Callable[[Any], float], str, str, str]] = {
    "threshold": (
        _number,
        "a number on the effect's scale (a proportion: 0..1; a ratio: above 0)",
        "the null (1 for ratios, 0 for differences); none for proportions",
        "Decision threshold: imprecision when the CI contains it, inconsistency when the "
        "prediction interval does.",
    ),
    "comparator_risk": (
        _fraction,
        "a number strictly between 0 and 1",
        "the pooled comparator arms' risk (events / participants)",
        "Binary comparisons: the assumed comparator risk, for absolute effects per 1,000 and "
        "the optimal information size.",
    ),
    "relative_risk_reduction": (
        _fraction,
        "a number strictly between 0 and 1",
        "0.25",
        "Binary comparisons: the relative risk reduction the optimal information size detects "
        "(GRADE 6: 25%).",
    ),
    "sd": (
        _positive,
        "a number above 0",
        "(none: no OIS for MD)",
        "MD: the outcome's standard deviation (optimal information size).",
    ),
    "difference": (
        _positive,
        "a number above 0",
        "(none: no OIS for MD)",
        "MD: the mean difference worth detecting (optimal information size).",
    ),
    "smd": (
        _positive,
        "a number above 0",
        "0.2",
        "SMD: the standardised difference worth detecting (optimal information size).",
    ),
    "expected_rate": (
        _fraction,
        "a number strictly between 0 and 1",
        "the pooled rate",
        "Proportions: the expected rate (optimal information size).",
    ),
    "precision": (
        _fraction,
        "a number strictly between 0 and 1",
        "0.1",
        "Proportions: the half-width of the CI wanted (optimal information size).",
    ),
    "alpha": (
        _fraction,
        "a number strictly between 0 and 1",
        "0.05",
        "Two-sided type I error of the optimal information size (also `[grade] alpha`).",
    ),
    "power": (
        _fraction,
        "a number strictly between 0 and 1",
        "0.8",
        "Power of the optimal information size (also `[grade] power`).",
    ),
}
#: Defaults of :data:`SETTINGS` (those that have a number).
DEFAULTS: Mapping[str, float] = {
    "relative_risk_reduction": 0.25,
    "smd": 0.2,
    "precision": 0.1,
    "alpha": 0.05,
    "power": 0.8,
}
#: Keys of the top-level ``[grade]`` table besides the analyses' tables.
TOP_SETTINGS: tuple[str, ...] = ("alpha", "power")


def settings_table() -> list[dict[str, str]]:
    """Every key of ``[tool.evidence.grade.NAME]`` with its default, what is allowed and what
    it means (the README's table is made from it)."""
    rows = [
        {"key": key, "default": default, "allowed": allowed, "meaning": meaning}
        for key, (_, allowed, default, meaning) in SETTINGS.items()
    ]
    rows += [
        {
            "key": domain,
            "default": "(the draft)",
            "allowed": '{ rating = 0, -1 or -2, reason = "..." }',
            "meaning": f"The analyst's judgement of {DOMAIN_NAMES[domain]}, with its reason; "
            "replaces the draft's rating (both are shown).",
        }
        for domain in DOMAINS
    ]
    return rows


@dataclass(frozen=True)
class Judgement:
    """The analyst's rating of one domain (0, -1 or -2) and the reason for it."""

    rating: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict``."""
        return {"rating": self.rating, "reason": self.reason}


@dataclass(frozen=True)
class GradePlan:
    """What the protocol declares for one analysis: assumptions (:data:`SETTINGS`) and
    judgements by domain."""

    analysis: str
    settings: Mapping[str, float] = field(default_factory=dict)
    judgements: Mapping[str, Judgement] = field(default_factory=dict)

    def value(self, key: str) -> float | None:
        """A declared assumption, else its default (``None`` without one)."""
        return self.settings.get(key, DEFAULTS.get(key))

    def declared(self, key: str) -> bool:
        """Whether ``key`` is declared (rather than a default)."""
        return key in self.settings

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict``: the declared assumptions and judgements."""
        out: dict[str, Any] = dict(self.settings)
        out.update({d: j.to_dict() for d, j in self.judgements.items()})
        return out


@dataclass(frozen=True)
class GradeProtocol:
    """The protocol's ``[grade]`` table: α and power for every analysis, and one
    :class:`GradePlan` per analysis that declares something."""

    alpha: float = DEFAULTS["alpha"]
    power: float = DEFAULTS["power"]
    plans: Mapping[str, GradePlan] = field(default_factory=dict)

    def plan(self, analysis: str) -> GradePlan:
        """The plan of ``analysis`` with the top-level α and power filled in."""
        own = self.plans.get(analysis, GradePlan(analysis))
        settings = {"alpha": self.alpha, "power": self.power}
        if self.alpha == DEFAULTS["alpha"]:
            settings.pop("alpha")
        if self.power == DEFAULTS["power"]:
            settings.pop("power")
        return GradePlan(analysis, {**settings, **own.settings}, own.judgements)

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (``evidence protocol --format json``)."""
        return {
            "alpha": self.alpha,
            "power": self.power,
            "analyses": {name: plan.to_dict() for name, plan in self.plans.items()},
        }


def _judgement(keys: tuple[str, ...], value: Any) -> Judgement:
    if not isinstance(value, Mapping):
        raise GradeError(keys, 'expected a table { rating = ..., reason = "..." }')
    for key in value:
        if key not in ("rating", "reason"):
            raise GradeError((*keys, str(key)), "unknown key", "rating, reason")
    rating = value.get("rating")
    if isinstance(rating, bool) or rating not in RATINGS:
        if "rating" not in value:
            raise GradeError((*keys, "rating"), "a judgement needs a rating", "0, -1, -2")
        raise GradeError((*keys, "rating"), f"{rating!r} is not a rating", "0, -1, -2")
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise GradeError(
            (*keys, "reason"), "a judgement needs its reason (the facts it rests on)", "text"
        )
    return Judgement(int(rating), " ".join(reason.split()))


def _plan(name: str, table: Mapping[str, Any], analysis: Analysis | None) -> GradePlan:
    settings: dict[str, float] = {}
    judgements: dict[str, Judgement] = {}
    allowed = ", ".join([*SETTINGS, *DOMAINS])
    for key, value in table.items():
        keys = (name, str(key))
        if key in DOMAINS:
            judgements[key] = _judgement(keys, value)
        elif key in SETTINGS:
            check, what, _, _ = SETTINGS[key]
            try:
                settings[key] = check(value)
            except ValueError as exc:
                raise GradeError(keys, str(exc), what) from None
        else:
            raise GradeError(keys, "unknown key", allowed)
    threshold = settings.get("threshold")
    if analysis is not None and threshold is not None:
        from evidence.measures import RATIO_MEASURES

        if analysis.effect == "proportion" and not 0.0 < threshold < 1.0:
            raise GradeError(
                (name, "threshold"),
                f"{threshold:g} is not a proportion (the analysis pools proportions)",
                "a number strictly between 0 and 1",
            )
        if analysis.effect in RATIO_MEASURES and threshold <= 0:
            raise GradeError(
                (name, "threshold"),
                f"{threshold:g} is not a ratio (the analysis pools {analysis.effect})",
                "a number above 0",
            )
    if ("sd" in settings) != ("difference" in settings):
        missing = "difference" if "sd" in settings else "sd"
        raise GradeError((name, missing), "sd and difference go together (MD's OIS needs both)")
    return GradePlan(name, settings, judgements)


def read_grade(data: Any, analyses: Sequence[Analysis] = ()) -> GradeProtocol:
    """The ``[grade]`` table of a protocol: ``alpha`` and ``power`` for every analysis, and one
    table per analysis (named as in ``[analyses.NAME]``) with assumptions (:data:`SETTINGS`)
    and judgements (``DOMAIN = { rating = 0 | -1 | -2, reason = "..." }``, :data:`DOMAINS`).

    ``analyses`` are the protocol's declared analyses: when there are some, a table must name
    one of them (the assumptions are checked against its effect); without declared analyses
    the names are not checked (the defaults are named by outcome domain).

    Raises
    ------
    GradeError
        With the key path below ``grade`` of the first problem: an unknown key or domain, a
        rating outside 0/-1/-2, a judgement without a reason, a value out of range.
    """
    if not isinstance(data, Mapping):
        raise GradeError((), "expected a table")
    by_name = {a.name: a for a in analyses}
    top: dict[str, float] = {}
    plans: dict[str, GradePlan] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            if by_name and key not in by_name:
                raise GradeError(
                    (str(key),), "no such analysis in the protocol", ", ".join(by_name)
                )
            plans[key] = _plan(str(key), value, by_name.get(key))
        elif key in TOP_SETTINGS:
            check, what, _, _ = SETTINGS[key]
            try:
                top[key] = check(value)
            except ValueError as exc:
                raise GradeError((str(key),), str(exc), what) from None
        else:
            raise GradeError(
                (str(key),),
                "unknown key",
                ", ".join(TOP_SETTINGS) + ", or a table named after an analysis",
            )
    return GradeProtocol(
        top.get("alpha", DEFAULTS["alpha"]), top.get("power", DEFAULTS["power"]), plans
    )


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class DomainRating:
    """One domain of a certainty rating: the draft, what triggered it, and the judgement.

    Attributes
    ----------
    domain : str
        One of :data:`DOMAINS`.
    draft : int
        The draft rule's rating: 0, -1 or -2.
    trigger : str
        The numbers the draft rests on, in words ("62% of the weight from studies at high
        risk of bias").
    rule : str
        The draft rule's conclusion ("at least 50% of the weight at high risk: rate down one
        level").
    judged : int
        The rating that counts: the analyst's (``declared``) or else the draft.
    reason : str
        The analyst's reason, or else the draft rule's conclusion.
    declared : bool
        Whether the protocol declares a judgement for this domain.
    """

    domain: str
    draft: int
    trigger: str
    rule: str
    judged: int
    reason: str
    declared: bool = False

    @property
    def name(self) -> str:
        """The domain in words (``risk of bias``)."""
        return DOMAIN_NAMES[self.domain]

    @property
    def overridden(self) -> bool:
        """Whether the analyst's rating differs from the draft."""
        return self.declared and self.judged != self.draft

    def judge(self, judgement: Judgement | None) -> DomainRating:
        """This rating with the analyst's ``judgement`` applied (unchanged for ``None``)."""
        if judgement is None:
            return self
        return DomainRating(
            self.domain,
            self.draft,
            self.trigger,
            self.rule,
            judgement.rating,
            judgement.reason,
            True,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict``."""
        return {
            "domain": self.domain,
            "draft": self.draft,
            "trigger": self.trigger,
            "rule": self.rule,
            "judged": self.judged,
            "reason": self.reason,
            "declared": self.declared,
        }


def _drafted(domain: str, rating: int, trigger: str, rule: str) -> DomainRating:
    return DomainRating(domain, rating, trigger, rule, rating, rule)


@dataclass(frozen=True)
class Certainty:
    """The GRADE certainty of one analysis.

    Attributes
    ----------
    analysis, title : str
        The analysis's name and title.
    start : str or None
        ``high`` (randomised comparisons) or ``low`` (observational or single-arm); ``None``
        when nothing was pooled (no certainty to rate).
    start_reason : str
        Why it starts there.
    domains : tuple of DomainRating
        The five domains, in :data:`DOMAINS` order.
    draft_level, level : str or None
        The certainty by the drafts alone, and by the judgements that count (the analyst's
        where declared), one of :data:`LEVELS`.
    """

    analysis: str
    title: str
    start: str | None
    start_reason: str
    domains: tuple[DomainRating, ...]
    draft_level: str | None
    level: str | None

    @property
    def symbols(self) -> str:
        """GRADE's symbols for :attr:`level` (empty when not rated)."""
        return SYMBOLS.get(self.level or "", "")

    @property
    def draft_symbols(self) -> str:
        """GRADE's symbols for :attr:`draft_level`."""
        return SYMBOLS.get(self.draft_level or "", "")

    def domain(self, name: str) -> DomainRating:
        """The rating of domain ``name``."""
        return next(d for d in self.domains if d.domain == name)

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` (``evidence grade --format json``)."""
        return {
            "analysis": self.analysis,
            "title": self.title,
            "start": self.start,
            "start_reason": self.start_reason,
            "domains": [d.to_dict() for d in self.domains],
            "draft_level": self.draft_level,
            "draft_symbols": self.draft_symbols,
            "level": self.level,
            "symbols": self.symbols,
        }


def level_after(start: str, ratings: Iterable[int]) -> str:
    """The level reached from ``start`` after the ``ratings`` (never below very low).

    >>> level_after("high", [-1, 0, -2])
    'very low'
    """
    points = LEVELS.index(start) + sum(ratings)
    return LEVELS[max(points, 0)]


# ------------------------------------------------------------------ the draft rules


def start_level(
    effect: str, designs: Sequence[str | None], tools: Sequence[str | None]
) -> tuple[str, str]:
    """Where the certainty starts, and why (GRADE Handbook 5.1; GRADE 1, Guyatt et al. 2011).

    High when the analysis pools comparisons (``effect`` is not ``proportion``) and every
    pooled unit comes from a randomised study (design in :data:`RANDOMISED_DESIGNS`, or
    assessed with RoB 2, the tool for randomised trials); low otherwise. A pooled proportion
    is single-arm evidence: the rate of intervention arms compared with nothing, even when the
    arms come from randomised trials.

    Parameters
    ----------
    effect : str
        The analysis's ``effect``.
    designs, tools : sequences
        The design and ``rob_tool`` of the study of each pooled unit.

    >>> start_level("OR", ["rct-parallel"], ["RoB2"])[0]
    'high'
    >>> start_level("proportion", ["rct-parallel"], ["RoB2"])[0]
    'low'
    """
    if effect == "proportion":
        return "low", (
            "single-arm evidence: a pooled response rate of intervention arms has no "
            "comparison with a control, even where the arms come from randomised trials"
        )
    randomised = [
        d in RANDOMISED_DESIGNS or t == "RoB2" for d, t in zip(designs, tools, strict=True)
    ]
    if randomised and all(randomised):
        return "high", f"randomised comparisons: {len(randomised)} of {len(randomised)}"
    others = len(randomised) - sum(randomised)
    return "low", (
        f"observational evidence: {others} of {len(randomised)} comparisons not randomised"
    )


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def rate_risk_of_bias(
    results: Sequence[tuple[str, str | None, str | None, float]],
) -> DomainRating:
    """Draft rating of risk of bias from the analysis's weight (GRADE 4, Guyatt et al. 2011,
    J Clin Epidemiol 64:407-415: rate down when most of the information comes from studies
    at high risk; very serious limitations rate down two levels).

    Shares of the weight: at **high** risk (overall RoB 2 *high*; ROBINS-I *serious* or
    *critical*), at **critical** risk (ROBINS-I *critical*), and **cannot be judged** (*no
    information*, or no assessment: ``rob_tool`` none or absent). Rule, first match:

    - critical share ≥ :data:`RISK_OF_BIAS_SHARE` (50%): -2;
    - high share ≥ 50%: -1;
    - high + cannot-be-judged share ≥ 50%: -1 (risk of bias cannot be ruled out for most of
      the weight);
    - otherwise 0.

    Parameters
    ----------
    results : sequence of (label, overall judgement or None, rob_tool or None, weight)
        One per pooled unit; weights in any unit (shares are of their sum; equal weights if
        none is a positive number).
    """
    weights = [
        w if isinstance(w, (int, float)) and math.isfinite(w) and w > 0 else 0.0
        for *_, w in results
    ]
    total = sum(weights)
    equal = total <= 0
    if equal:
        weights = [1.0] * len(results)
        total = float(len(results)) or 1.0
    high = critical = unclear = 0.0
    named: dict[str, list[str]] = {"high": [], "unclear": []}
    for (label, level, tool, _), w in zip(results, weights, strict=True):
        if level in HIGH_RISK:
            high += w
            if level in CRITICAL_RISK:
                critical += w
            named["high"].append(f"{label}: {level}")
        elif level is None or level == "no information":
            unclear += w
            what = level or ("no tool applies" if tool == "none" else "not assessed")
            named["unclear"].append(f"{label}: {what}")
    share = lambda x: 100.0 * x / total  # noqa: E731
    unit = "the studies (equal weights: no weights known)" if equal else "the weight"
    trigger = (
        f"{_pct(share(high))} of {unit} at high risk of bias"
        + _naming(named["high"])
        + f", {_pct(share(unclear))} at a risk that cannot be judged"
        + _naming(named["unclear"])
    )
    limit = _pct(RISK_OF_BIAS_SHARE)
    if share(critical) >= RISK_OF_BIAS_SHARE:
        return _drafted(
            "risk_of_bias",
            -2,
            trigger,
            f"at least {limit} of the weight at critical risk (ROBINS-I): very serious limitations",
        )
    if share(high) >= RISK_OF_BIAS_SHARE:
        return _drafted(
            "risk_of_bias",
            -1,
            trigger,
            f"at least {limit} of the weight at high risk: serious limitations",
        )
    if share(high + unclear) >= RISK_OF_BIAS_SHARE:
        return _drafted(
            "risk_of_bias",
            -1,
            trigger,
            f"at least {limit} of the weight at high or unknown risk: risk of bias cannot be "
            "ruled out for most of it",
        )
    return _drafted(
        "risk_of_bias",
        0,
        trigger,
        f"less than {limit} of the weight at high or unknown risk",
    )


def _naming(labels: Sequence[str]) -> str:
    """`` (a; b; c)``, the first :data:`NAMED_MAX` and how many more; empty for none."""
    if not labels:
        return ""
    shown = "; ".join(labels[:NAMED_MAX])
    more = len(labels) - NAMED_MAX
    return f" ({shown}; and {more} more)" if more > 0 else f" ({shown})"


def _crosses(low: float | None, high: float | None, threshold: float | None) -> bool | None:
    """Whether ``threshold`` lies strictly inside ``low..high`` (``None``: cannot tell)."""
    if threshold is None or low is None or high is None:
        return None
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low < threshold < high


def rate_inconsistency(
    k: int,
    i2: float | None,
    pi: tuple[float | None, float | None] = (None, None),
    threshold: float | None = None,
    *,
    show: Callable[[float], str] = lambda x: f"{x:g}",
) -> DomainRating:
    """Draft rating of inconsistency (GRADE 7, Guyatt et al. 2011, J Clin Epidemiol
    64:1294-1302; I² bands of Higgins et al. 2003, BMJ 327:557).

    - one study (``k`` < 2): not assessable, 0;
    - I² < :data:`I2_SERIOUS` (50%): 0;
    - 50% ≤ I² < :data:`I2_VERY_SERIOUS` (75%): -1;
    - I² ≥ 75%: -2 when the prediction interval contains the decision threshold (the null
      for comparisons, or the declared ``threshold``), else -1 (also when there is no
      prediction interval or no threshold to judge it against).

    Parameters
    ----------
    k : int
        Studies (units) pooled.
    i2 : float
        I² in percent.
    pi : (low, high)
        The prediction interval on the effect's scale (``None`` when the model gives none).
    threshold : float or None
        The decision threshold (``None``: none declared, proportions).
    show : callable
        Formats a value of the effect's scale for the trigger text.
    """
    if k < 2 or i2 is None or not math.isfinite(i2):
        return _drafted(
            "inconsistency",
            0,
            f"k = {k}",
            "not assessable with one study",
        )
    trigger = f"I² = {i2:.0f}%"
    crosses = _crosses(pi[0], pi[1], threshold)
    if pi[0] is not None and pi[1] is not None:
        trigger += f"; prediction interval {show(pi[0])} to {show(pi[1])}"
        if threshold is not None:
            trigger += (
                f" {'contains' if crosses else 'does not contain'} the threshold {show(threshold)}"
            )
    if i2 < I2_SERIOUS:
        return _drafted("inconsistency", 0, trigger, f"I² below {I2_SERIOUS:.0f}%")
    if i2 < I2_VERY_SERIOUS:
        return _drafted(
            "inconsistency",
            -1,
            trigger,
            f"I² at least {I2_SERIOUS:.0f}%: serious inconsistency",
        )
    if crosses:
        return _drafted(
            "inconsistency",
            -2,
            trigger,
            f"I² at least {I2_VERY_SERIOUS:.0f}% and the prediction interval contains the "
            "threshold: very serious inconsistency",
        )
    why = (
        "no threshold declared to judge the prediction interval against"
        if threshold is None
        else "no prediction interval"
        if crosses is None
        else "the prediction interval does not contain the threshold"
    )
    return _drafted(
        "inconsistency",
        -1,
        trigger,
        f"I² at least {I2_VERY_SERIOUS:.0f}% but {why}: serious inconsistency",
    )


def ois_binary(
    comparator_risk: float,
    relative_risk_reduction: float = 0.25,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Optimal information size of a binary comparison: the total participants (two equal
    groups) of one trial powered to detect ``relative_risk_reduction`` at
    ``comparator_risk`` (GRADE 6, Guyatt et al. 2011, J Clin Epidemiol 64:1283-1293).

    Per group ``n = (z[1-α/2] + z[1-β])² [p_c(1-p_c) + p_i(1-p_i)] / (p_c - p_i)²`` with
    ``p_i = p_c (1 - RRR)`` (Chow, Shao & Wang, *Sample Size Calculations in Clinical
    Research*, 2nd ed. 2008, two-sample test of proportions), rounded up; the total is twice
    that.

    >>> ois_binary(0.2, 0.25)
    1806
    """
    p_c = _fraction(comparator_risk)
    p_i = p_c * (1.0 - _fraction(relative_risk_reduction))
    z = NormalDist().inv_cdf(1 - _fraction(alpha) / 2) + NormalDist().inv_cdf(_fraction(power))
    n = z**2 * (p_c * (1 - p_c) + p_i * (1 - p_i)) / (p_c - p_i) ** 2
    return 2 * math.ceil(n - 1e-9)


def ois_continuous(sd: float, difference: float, *, alpha: float = 0.05, power: float = 0.8) -> int:
    """Optimal information size of a continuous comparison: the total participants (two equal
    groups) of one trial powered to detect ``difference`` with standard deviation ``sd``
    (``sd`` = 1 and ``difference`` = the SMD for standardised differences; GRADE 6).

    Per group ``n = 2 (z[1-α/2] + z[1-β])² sd² / difference²`` (Chow, Shao & Wang 2008,
    two-sample test of means), rounded up; the total is twice that.

    >>> ois_continuous(1.0, 0.2)
    786
    """
    z = NormalDist().inv_cdf(1 - _fraction(alpha) / 2) + NormalDist().inv_cdf(_fraction(power))
    n = 2 * z**2 * _positive(sd) ** 2 / _positive(difference) ** 2
    return 2 * math.ceil(n - 1e-9)


def ois_proportion(rate: float, precision: float = 0.1, *, alpha: float = 0.05) -> int:
    """Optimal information size of a single proportion: the participants needed to estimate
    ``rate`` with a ``1 - alpha`` CI of half-width ``precision``.

    ``n = z[1-α/2]² p(1-p) / d²`` (Lwanga & Lemeshow, *Sample size determination in health
    studies*, WHO 1991), rounded up.

    >>> ois_proportion(0.5, 0.1)
    97
    """
    p = _number(rate)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"rate {rate!r} is not a proportion")
    z = NormalDist().inv_cdf(1 - _fraction(alpha) / 2)
    return math.ceil(z**2 * p * (1 - p) / _fraction(precision) ** 2 - 1e-9)


def rate_imprecision(
    ci: tuple[float, float],
    threshold: float | None,
    n: int | None,
    ois: int | None,
    *,
    ois_note: str = "",
    n_note: str = "",
    show: Callable[[float], str] = lambda x: f"{x:g}",
    level: float = 0.95,
) -> DomainRating:
    """Draft rating of imprecision (GRADE 6, Guyatt et al. 2011, J Clin Epidemiol
    64:1283-1293): two criteria, one level each.

    - the CI contains the decision threshold (strictly inside; the null for comparisons by
      default, a declared ``threshold`` for proportions): -1;
    - the participants ``n`` are fewer than the optimal information size ``ois``: -1.

    Both: -2. A criterion that cannot be applied (no threshold, N or OIS not known) is named
    in the trigger and does not rate down.

    Parameters
    ----------
    ci : (low, high)
        The pooled CI on the effect's scale.
    threshold : float or None
        The decision threshold.
    n, ois : int or None
        Participants pooled and the optimal information size.
    ois_note : str
        How the OIS was computed (assumptions), or why it was not.
    n_note : str
        Where ``n`` comes from, when not from the pooled results themselves.
    """
    crosses = _crosses(ci[0], ci[1], threshold)
    interval = f"{level:.0%} CI {show(ci[0])} to {show(ci[1])}"
    if threshold is None:
        parts = [f"{interval} (no decision threshold declared)"]
    else:
        word = "contains" if crosses else "does not contain"
        parts = [f"{interval} {word} the threshold {show(threshold)}"]
    small = n is not None and ois is not None and n < ois
    shown_n = f"N = {n}" + (f" ({n_note})" if n_note else "")
    if n is None:
        parts.append("participants not known" + (f" (OIS {ois}: {ois_note})" if ois else ""))
    elif ois is None:
        parts.append(f"{shown_n}; OIS not computed ({ois_note})" if ois_note else shown_n)
    else:
        sign = "<" if small else "≥"
        parts.append(f"{shown_n} {sign} OIS {ois} ({ois_note})")
    rating = -(int(bool(crosses)) + int(small))
    reasons = [
        text
        for text, hit in (
            ("the CI contains the threshold", bool(crosses)),
            ("fewer participants than the optimal information size", small),
        )
        if hit
    ]
    rule = " and ".join(reasons) if reasons else "neither criterion met"
    return _drafted("imprecision", rating, "; ".join(parts), rule)


def rate_publication_bias(k: int) -> DomainRating:
    """Draft rating of publication bias (GRADE 5, Guyatt et al. 2011, J Clin Epidemiol
    64:1277-1282): with fewer than :data:`PUBLICATION_BIAS_MIN_K` (10) studies it cannot be
    assessed (funnel-plot tests need 10; Sterne et al. 2011, BMJ 343:d4002), 0; otherwise it
    is not drafted from the numbers, 0, and the analyst declares a judgement after looking at
    the funnel plot."""
    if k < PUBLICATION_BIAS_MIN_K:
        return _drafted(
            "publication_bias",
            0,
            f"k = {k}",
            f"cannot be assessed (k < {PUBLICATION_BIAS_MIN_K})",
        )
    return _drafted(
        "publication_bias",
        0,
        f"k = {k}",
        "not drafted from the numbers: judge the funnel plot, then declare publication_bias",
    )


def rate_indirectness() -> DomainRating:
    """Draft rating of indirectness (GRADE 8, Guyatt et al. 2011, J Clin Epidemiol
    64:1303-1310): population, intervention, comparator and outcome against the question
    are the analyst's judgement; the draft is 0, "not assessed", until one is declared."""
    return _drafted(
        "indirectness",
        0,
        "no judgement declared: whether the populations, interventions, comparators or "
        "outcomes differ from the question is the analyst's to judge",
        "declared only",
    )


def rules_text() -> list[str]:
    """The draft rules in words, one line each, with their thresholds (the workbook's Summary
    of findings sheet lists them)."""
    share = _pct(RISK_OF_BIAS_SHARE)
    return [
        "Start: high when every pooled comparison is randomised (an RCT design, or assessed "
        "with RoB 2); low for observational comparisons and for pooled response rates, which "
        "are single-arm evidence even when the arms come from randomised trials.",
        f"Risk of bias (GRADE 4): -2 when at least {share} of the weight is at critical risk "
        f"(ROBINS-I); -1 when at least {share} is at high risk (RoB 2 high, ROBINS-I serious or "
        f"critical), or at least {share} at high risk or at a risk that cannot be judged (no "
        "information, no tool, not assessed); else 0.",
        f"Inconsistency (GRADE 7): not assessable with one study; I² below {I2_SERIOUS:.0f}%: "
        f"0; {I2_SERIOUS:.0f}% to {I2_VERY_SERIOUS:.0f}%: -1; {I2_VERY_SERIOUS:.0f}% or more: "
        "-2 when the prediction interval contains the decision threshold, else -1.",
        "Imprecision (GRADE 6): -1 when the CI contains the decision threshold (the null for "
        "comparisons unless one is declared; proportions: a declared threshold only), -1 when "
        "the participants are fewer than the optimal information size (binary: comparator risk "
        "and relative risk reduction, default 25%; SMD: default 0.2; MD: declared SD and "
        "difference; proportions: the CI half-width wanted, default 10%; α 0.05 and power 80% "
        "unless declared); both: -2.",
        f"Publication bias (GRADE 5): cannot be assessed with fewer than "
        f"{PUBLICATION_BIAS_MIN_K} studies (0); otherwise as the analyst declares.",
        "Indirectness (GRADE 8): as the analyst declares only (0 until declared).",
        "Certainty: the start minus the ratings that count, never below very low. A judgement "
        "in the protocol replaces the draft's rating of its domain; both are shown.",
    ]


# ------------------------------------------------------------------ one analysis


def _null(effect: str) -> float | None:
    from evidence.measures import RATIO_MEASURES

    if effect == "proportion":
        return None
    return 1.0 if effect in RATIO_MEASURES else 0.0


def _shower(report: PoolReport) -> Callable[[float], str]:
    from evidence.render import formatter

    return formatter(report.analysis)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    """The values of a column (``None`` where missing; all ``None`` without the column)."""
    import pandas as pd

    if name not in frame.columns:
        return [None] * len(frame)
    return [None if pd.isna(v) else v for v in frame[name].astype(object)]


def comparator_risk(report: PoolReport) -> float | None:
    """The pooled comparator arms' risk of a binary comparison: their events over their
    participants (GRADEpro's "study population" risk); ``None`` without arm data."""
    rows = report.pooled
    if not report.comparative or "events_c" not in rows.columns:
        return None
    arms = rows[rows["source"].eq("arms")] if "source" in rows.columns else rows
    events = arms["events_c"].astype("Float64").sum(skipna=True)
    total = arms["n_c"].astype("Float64").sum(skipna=True)
    return float(events) / float(total) if total and total > 0 else None


def _ois(report: PoolReport, plan: GradePlan) -> tuple[int | None, str]:
    """The optimal information size of ``report``'s analysis and how it was computed (or why
    not)."""
    res = report.overall
    assert res is not None
    effect = report.analysis.effect
    alpha, power = plan.value("alpha") or 0.05, plan.value("power") or 0.8
    tail = f"α {alpha:g}, power {power:.0%}"
    if effect == "proportion":
        rate = plan.value("expected_rate")
        source = "declared" if rate is not None else "the pooled rate"
        rate = res.estimate if rate is None else rate
        precision = plan.value("precision") or 0.1
        n = ois_proportion(rate, precision, alpha=alpha)
        return n, f"rate {rate:.0%} ({source}) ± {precision:.0%}, α {alpha:g}"
    if effect in BINARY_EFFECTS:
        risk = plan.value("comparator_risk")
        source = "declared"
        if risk is None:
            risk, source = comparator_risk(report), "observed"
        rrr = plan.value("relative_risk_reduction") or 0.25
        if risk is None:
            return None, "no comparator risk: declare comparator_risk"
        if not 0.0 < risk < 1.0:
            return None, f"comparator risk {risk:.0%} ({source}): declare comparator_risk"
        n = ois_binary(risk, rrr, alpha=alpha, power=power)
        return n, f"comparator risk {risk:.0%} ({source}), RRR {rrr:.0%}, {tail}"
    if effect == "MD":
        sd, difference = plan.value("sd"), plan.value("difference")
        if sd is None or difference is None:
            return None, "declare sd and difference"
        return ois_continuous(sd, difference, alpha=alpha, power=power), (
            f"SD {sd:g}, difference {difference:g}, {tail}"
        )
    if effect in ("SMD", "SMDH"):
        smd = plan.value("smd") or 0.2
        source = "declared" if plan.declared("smd") else "default"
        return ois_continuous(1.0, smd, alpha=alpha, power=power), (
            f"SMD {smd:g} ({source}), {tail}"
        )
    return None, f"no OIS formula for {effect}"


def participants(report: PoolReport, base: EvidenceBase) -> tuple[int | None, str]:
    """The participants of an analysis and where the number comes from: the pooled fit's
    ``n_total``, or, when its results carry no n (reported effects), the ``n_enrolled`` of
    its studies (each once) when every one states it; ``(None, "")`` otherwise."""
    res = report.overall
    if res is not None and res.n_total is not None:
        return res.n_total, ""
    import pandas as pd

    keys = list(dict.fromkeys(report.pooled["key"])) if len(report.pooled) else []
    enrolled = base.studies.set_index("key")["n_enrolled"]
    values = [enrolled.get(k) for k in keys]
    if not keys or any(pd.isna(v) for v in values):
        return None, ""
    return int(sum(int(v) for v in values)), "enrolled in the studies"


def _threshold(report: PoolReport, plan: GradePlan) -> float | None:
    declared = plan.value("threshold")
    return declared if declared is not None else _null(report.analysis.effect)


def grade(report: PoolReport, base: EvidenceBase) -> Certainty:
    """The GRADE certainty of one analysis: the drafts of :func:`start_level` and the five
    rules, with the protocol's judgements applied (``base.protocol.grade``).

    Parameters
    ----------
    report : PoolReport
        The analysis's result (:meth:`evidence.Analysis.run`).
    base : EvidenceBase
        The evidence base it ran on (its protocol holds the judgements).

    Returns
    -------
    Certainty
        With ``start``, ``draft_level`` and ``level`` ``None`` when nothing was pooled.
    """
    analysis = report.analysis
    plan = base.protocol.grade.plan(analysis.name)
    res = report.overall
    if res is None:
        return Certainty(
            analysis.name,
            analysis.label,
            None,
            "nothing was pooled: no certainty to rate",
            (),
            None,
            None,
        )
    pooled = report.pooled
    start, start_reason = start_level(
        analysis.effect, _column(pooled, "design"), _column(pooled, "rob_tool")
    )
    show = _shower(report)
    weights = [float(w) if w is not None else math.nan for w in _column(report.per_study, "weight")]
    labels = [str(k) for k in pooled["key"]]
    rob = rate_risk_of_bias(
        list(
            zip(
                labels,
                _column(pooled, "rob_overall"),
                _column(pooled, "rob_tool"),
                weights,
                strict=True,
            )
        )
    )
    threshold = _threshold(report, plan)
    inconsistency = rate_inconsistency(
        res.k, res.i2, (res.pi_low, res.pi_high), threshold, show=show
    )
    ois, note = _ois(report, plan)
    n, source = participants(report, base)
    imprecision = rate_imprecision(
        (res.ci_low, res.ci_high),
        threshold,
        n,
        ois,
        n_note=source,
        ois_note=note,
        show=show,
        level=analysis.level,
    )
    drafts = {
        "risk_of_bias": rob,
        "inconsistency": inconsistency,
        "indirectness": rate_indirectness(),
        "imprecision": imprecision,
        "publication_bias": rate_publication_bias(res.k),
    }
    domains = tuple(drafts[d].judge(plan.judgements.get(d)) for d in DOMAINS)
    return Certainty(
        analysis.name,
        analysis.label,
        start,
        start_reason,
        domains,
        level_after(start, (d.draft for d in domains)),
        level_after(start, (d.judged for d in domains)),
    )


# ------------------------------------------------------------------ summary of findings


def absolute_risk(effect: str, value: float, comparator: float) -> float:
    """The intervention group's risk implied by a relative effect at the comparator's risk
    (Cochrane Handbook 14.1.5.1, dichotomous outcomes), clipped to 0..1.

    - RR: ``p_i = RR · p_c``;
    - OR: ``p_i = OR · p_c / (1 - p_c + OR · p_c)``;
    - RD: ``p_i = p_c + RD``.

    >>> absolute_risk("RR", 0.5, 0.2)
    0.1
    >>> round(absolute_risk("OR", 15.0, 0.1), 4)
    0.625
    """
    p = _number(comparator)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"comparator risk {comparator!r} is not a proportion")
    if effect == "RR":
        risk = value * p
    elif effect == "OR":
        risk = value * p / (1 - p + value * p)
    elif effect == "RD":
        risk = p + value
    else:
        raise ValueError(f"no absolute risk for {effect!r} (allowed: RR, OR, RD)")
    return min(max(risk, 0.0), 1.0)


def absolute_effect_text(
    effect: str, values: tuple[float, float, float], comparator: float, source: str = "declared"
) -> str:
    """The absolute effect of a binary comparison in words, per 1,000 at the comparator's risk
    (:func:`absolute_risk` of the estimate and both CI limits, rounded to whole people).

    >>> absolute_effect_text("OR", (1.5, 0.9, 2.5), 0.2)[:46]
    '73 more per 1,000 (from 16 fewer to 185 more),'
    """
    base_risk = _per_1000(comparator)
    diff = [_per_1000(absolute_risk(effect, x, comparator)) - base_risk for x in values]
    return (
        f"{_more_fewer(diff[0])} per 1,000 (from {_more_fewer(diff[1])} to "
        f"{_more_fewer(diff[2])}), at a comparator risk of {base_risk} per 1,000 ({source})"
    )


def _per_1000(value: float) -> int:
    return round(1000 * value)


def _more_fewer(count: int) -> str:
    if count > 0:
        return f"{count} more"
    if count < 0:
        return f"{-count} fewer"
    return "0 more"


#: Columns of :func:`summary_of_findings`.
SOF_COLUMNS: tuple[str, ...] = (
    "analysis",
    "outcome",
    "effect_measure",
    "k",
    "participants",
    "estimate",
    "ci_low",
    "ci_high",
    "relative_effect",
    "comparator_risk",
    "comparator_per_1000",
    "intervention_per_1000",
    "intervention_low_per_1000",
    "intervention_high_per_1000",
    "absolute_effect",
    "start",
    "certainty",
    "symbols",
    "draft_certainty",
    "draft_symbols",
    "footnote_marks",
    "footnotes",
)


def _absolute(report: PoolReport, plan: GradePlan) -> dict[str, Any]:
    """The absolute-effect columns of one report's row."""
    res = report.overall
    assert res is not None
    effect = report.analysis.effect
    out: dict[str, Any] = {}
    if effect == "proportion":
        per = [_per_1000(x) for x in (res.estimate, res.ci_low, res.ci_high)]
        out.update(
            intervention_per_1000=per[0],
            intervention_low_per_1000=per[1],
            intervention_high_per_1000=per[2],
            absolute_effect=f"{per[0]} per 1,000 ({per[1]} to {per[2]})",
        )
        return out
    if effect not in BINARY_EFFECTS:
        if effect in CONTINUOUS_EFFECTS:
            unit = " SD" if effect != "MD" else ""

            def word(x: float) -> str:
                return f"{abs(x):.2f}{unit} {'lower' if x < 0 else 'higher'}"

            out["absolute_effect"] = (
                f"{word(res.estimate)} ({word(res.ci_low)} to {word(res.ci_high)})"
            )
        else:
            out["absolute_effect"] = "–"
        return out
    risk = plan.value("comparator_risk")
    source = "declared"
    if risk is None:
        risk, source = comparator_risk(report), "observed"
    if risk is None:
        out["absolute_effect"] = "– (no comparator risk: declare comparator_risk)"
        return out
    if risk == 0 and effect != "RD":
        out.update(
            comparator_risk=risk,
            comparator_per_1000=0,
            absolute_effect=f"not estimable: the comparator risk is 0 per 1,000 ({source}), and "
            "a ratio of a zero risk is zero; declare comparator_risk",
        )
        return out
    values = [absolute_risk(effect, x, risk) for x in (res.estimate, res.ci_low, res.ci_high)]
    per = [_per_1000(x) for x in values]
    base_risk = _per_1000(risk)
    text = absolute_effect_text(effect, (res.estimate, res.ci_low, res.ci_high), risk, source)
    out.update(
        comparator_risk=risk,
        comparator_per_1000=base_risk,
        intervention_per_1000=per[0],
        intervention_low_per_1000=per[1],
        intervention_high_per_1000=per[2],
        absolute_effect=text,
    )
    return out


def _relative(report: PoolReport) -> str:
    res = report.overall
    assert res is not None
    show = _shower(report)
    effect = report.analysis.effect
    name = "rate" if effect == "proportion" else effect
    level = f"{report.analysis.level:.0%} CI"
    return f"{name} {show(res.estimate)} ({level} {show(res.ci_low)} to {show(res.ci_high)})"


def footnotes(certainty: Certainty) -> list[str]:
    """The footnotes of one certainty rating, unlettered: where it starts (when low), each
    domain rated down (its trigger and reason), and each judgement that differs from its
    draft."""
    out = []
    if certainty.start == "low":
        out.append(f"Starts low: {certainty.start_reason}.")
    for d in certainty.domains:
        if d.judged == 0 and not d.overridden:
            continue
        name = d.name[0].upper() + d.name[1:]
        if d.declared:
            draft = RATING_WORDS[d.draft]
            reason = d.reason.rstrip(".")
            text = f"{name}, {RATING_WORDS[d.judged]} by the analyst (draft: {draft}): {reason}"
            if d.draft:
                text += f". Draft ({d.rule}): {d.trigger}"
        else:
            text = f"{name}, {RATING_WORDS[d.judged]} ({d.rule}): {d.trigger}"
        out.append(text.rstrip(".") + ".")
    return out


def footnote_list(summary: pd.DataFrame) -> list[str]:
    """Every footnote of a summary of findings once, in the order of their letters."""
    lines = [line for text in summary["footnotes"].dropna() for line in str(text).splitlines()]
    return list(dict.fromkeys(lines))


def summary_of_findings(base: EvidenceBase, reports: Sequence[PoolReport]) -> pd.DataFrame:
    """The summary of findings: one row per headline analysis among ``reports`` (every report
    when none is a headline), columns :data:`SOF_COLUMNS` (Cochrane Handbook 14.1).

    ``relative_effect`` is the pooled effect with its CI in words; ``absolute_effect`` and the
    ``*_per_1000`` columns give, for binary comparisons (RR, OR, RD), the intervention risk per
    1,000 at the comparator's risk (declared ``comparator_risk``, else the pooled comparator
    arms'; :func:`absolute_risk`), for proportions the rate per 1,000, for MD and SMD the
    difference in words. ``certainty``/``symbols`` are the level that counts, and
    ``draft_certainty``/``draft_symbols`` the draft's, always shown. ``footnotes`` holds the
    reasons, lettered across the table (``a``, ``b``…; a footnote shared by several rows keeps
    its letter) with the letters in ``footnote_marks``; :func:`footnote_list` lists each once.
    """
    import pandas as pd

    from evidence.text import letters_suffix

    chosen = [r for r in reports if r.analysis.headline] or list(reports)
    rows = []
    count = 0
    seen: dict[str, str] = {}  # footnote text -> its letter: the same footnote once
    for report in chosen:
        certainty = grade(report, base)
        res = report.overall
        row: dict[str, Any] = {
            "analysis": report.analysis.name,
            "outcome": report.analysis.label,
            "effect_measure": report.analysis.effect,
            "k": res.k if res is not None else 0,
            "participants": participants(report, base)[0],
            "start": certainty.start,
            "certainty": certainty.level,
            "symbols": certainty.symbols,
            "draft_certainty": certainty.draft_level,
            "draft_symbols": certainty.draft_symbols,
        }
        if res is None:
            row["relative_effect"] = "no pooled result"
            notes = ["Nothing was pooled: no certainty to rate (see the rows not pooled)."]
        else:
            row.update(estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high)
            row["relative_effect"] = _relative(report)
            row.update(_absolute(report, base.protocol.grade.plan(report.analysis.name)))
            notes = footnotes(certainty)
        marks = []
        lettered = []
        for note in notes:
            mark = seen.get(note)
            if mark is None:
                count += 1
                mark = seen[note] = letters_suffix(count)
            marks.append(mark)
            lettered.append(f"{mark}. {note}")
        row["footnote_marks"] = ",".join(marks)
        row["footnotes"] = "\n".join(lettered)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=list(SOF_COLUMNS))
    numbers = ("estimate", "ci_low", "ci_high", "comparator_risk")
    counts = (
        "k",
        "participants",
        "comparator_per_1000",
        "intervention_per_1000",
        "intervention_low_per_1000",
        "intervention_high_per_1000",
    )
    types: dict[str, Any] = {c: "string" for c in SOF_COLUMNS}
    types.update({c: "Float64" for c in numbers})
    types.update({c: "Int64" for c in counts})
    return frame.astype(types)
