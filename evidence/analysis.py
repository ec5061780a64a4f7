"""What an analysis pools and how: one frozen, validated value, :class:`Analysis`.

An analysis says *what* is pooled (which arms, outcome domain, rating scale, response
definition, timepoint window, and which of a study's rows count: the dependence policy) and
*how* (transformation, estimator, test, level, per-row CI method, subgroup column). It is
checked once, when it is made, against one table of constraints (:data:`CONSTRAINTS`), and
passed whole to everything that uses it: :meth:`Analysis.run` pools it, and the manifest, the
workbook's provenance block and ``evidence pool --format json`` all record its
:meth:`~Analysis.to_dict`, so two outputs can never disagree about how a number was made.

Analyses are declared by name in the protocol (``[tool.evidence.analyses.NAME]``, see
:mod:`evidence.protocol`); every default lives here, in the field defaults of :class:`Analysis`.

This module is light (no pandas, numpy or scipy): the protocol, and so ``evidence validate``,
reads analyses without loading the statistics.

>>> a = Analysis(name="main", domain="symptoms", by="conditions")
>>> a.method, a.dependence
('REML', 'one-per-study')
>>> a.replace(method="DL").method
'DL'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evidence.columns import ANALYSIS_COLUMNS, COMPARISON_COLUMNS
from evidence.errors import AnalysisError
from evidence.measures import (
    CI_METHODS,
    EFFECT_MEASURES,
    MH_MEASURES,
    PROPORTION_MEASURES,
    RMA_METHODS,
    RMA_TESTS,
)
from evidence.schema import did_you_mean, parse_timepoint, parse_window

if TYPE_CHECKING:  # pragma: no cover
    from evidence.base import EvidenceBase
    from evidence.pooling import PoolReport

__all__ = [
    "ARM_ROLES",
    "CI_METHODS",
    "CONSTRAINTS",
    "DEPENDENCE",
    "MEASURES",
    "METHODS",
    "NOT_STATED",
    "RISK_OF_BIAS",
    "TESTS",
    "Analysis",
    "settings_table",
    "subgroup_columns",
]

#: Transformations of single proportions (metafor ``escalc`` measures).
MEASURES: tuple[str, ...] = PROPORTION_MEASURES
#: Estimators: ``FE`` common effect; ``DL REML PM HE SJ`` random effects (metafor ``rma.uni``);
#: ``ML`` for multilevel models; ``GLMM`` the binomial-normal model (metafor ``rma.glmm``).
METHODS: tuple[str, ...] = (*RMA_METHODS, "ML", "GLMM")
#: Inference: ``z``; ``knha`` Knapp-Hartung (rma.uni); ``t`` (multilevel models, GLMM).
TESTS: tuple[str, ...] = (*RMA_TESTS, "t")
#: What happens when a study contributes several rows to one analysis.
DEPENDENCE: tuple[str, ...] = ("one-per-study", "aggregate", "multilevel", "none")
#: Arm selections by role (any other value names an arm label or an agent).
ARM_ROLES: tuple[str, ...] = ("intervention", "comparator", "all")
#: Cluster-robust inference for multilevel models: metafor ``robust()`` (CR1) or CR2.
ROBUST: tuple[str, ...] = ("CR1", "CR2")
#: What is pooled: single-arm proportions, or a comparison's effect measure.
EFFECTS: tuple[str, ...] = ("proportion", *(m for m in EFFECT_MEASURES if m != "PETO"))
#: How comparisons are pooled: inverse variance (metafor rma.uni), Mantel-Haenszel (rma.mh),
#: Peto's one-step odds ratio (rma.peto).
MODELS: tuple[str, ...] = ("inverse-variance", "mantel-haenszel", "peto")
#: A comparator shared by several intervention arms of one study: split its participants
#: between the comparisons, or combine the intervention arms (Cochrane Handbook 23.3.4).
MULTI_ARM: tuple[str, ...] = ("split", "combine")
#: The domain (or scale) of rows that state none: an analysis can select them explicitly.
NOT_STATED = "(not stated)"
#: Which results by their overall risk of bias: ``any``, or ``low`` only (the sensitivity analysis
#: of Cochrane Handbook 10.14; reviews and studies without a tool are left out too).
RISK_OF_BIAS: tuple[str, ...] = ("any", "low")
#: Analysis populations, most preferred first, when one row per study must be chosen.
DEFAULT_POPULATIONS: tuple[str, ...] = ("itt", "first-phase", "per-protocol", "completers")


def _choice(allowed: tuple[str, ...], *, upper: bool = False) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, str):
            key = value.upper() if upper else value.lower()
            for option in allowed:
                if option.lower() == key.lower():
                    return option
        raise ValueError(f"unknown value {value!r}")

    return check


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r}")
    text = " ".join(value.split())
    return text or None


def _name(value: Any) -> str:
    text = _text(value)
    if not text:
        raise ValueError("an analysis needs a name")
    return text


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _level(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{value!r} is not a number strictly between 0 and 1")
    return float(value)


def _rho(value: Any) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not -1.0 < float(value) < 1.0:
        raise ValueError(f"{value!r} is not a correlation strictly between -1 and 1")
    return float(value)


def _window(value: Any) -> str | None:
    text = _text(value)
    if text is not None:
        try:
            parse_window(text)
        except ValueError:
            raise ValueError(f"cannot read timepoint window {text!r}") from None
    return text


def _timepoint(value: Any) -> str | None:
    text = _text(value)
    if text is not None and parse_timepoint(text) is None:
        raise ValueError(f"cannot read timepoint {text!r}")
    return text


def _labels(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(f"expected a list of labels, got {value!r}")
    out = []
    for item in value:
        text = _text(item)
        if text is None:
            raise ValueError(f"expected a list of labels, got {value!r}")
        out.append(text)
    return tuple(out)


def _robust(value: Any) -> str | None:
    if value is None or value is False:
        return None
    if value is True:
        return "CR1"
    return _choice(ROBUST, upper=True)(value)


def _arm(value: Any) -> str:
    text = _text(value)
    if text is None:
        raise ValueError("an arm selection is needed")
    low = text.lower()
    return low if low in ARM_ROLES else text


#: The one table of constraints: setting -> (normaliser/validator, what is allowed, meaning).
CONSTRAINTS: Mapping[str, tuple[Callable[[Any], Any], str, str]] = {
    "name": (_name, "a non-empty name", "Identifier (the key of `[analyses.NAME]`)."),
    "title": (lambda v: _text(v) or "", "text", "Title shown in outputs."),
    "headline": (_bool, "true, false", "Shown on the workbook's Summary and as a forest plot."),
    "arm": (
        _arm,
        "intervention, comparator, all, or an arm label or agent",
        "Which arms: by the role of their agent, or one agent or arm label.",
    ),
    "domain": (
        _text,
        "an outcome domain, or (not stated)",
        "Only rows of this outcome domain (rows stating none: `(not stated)`).",
    ),
    "scale": (_text, "a rating scale", "Only rows on this rating scale (outcome key `measure`)."),
    "response": (_text, "a response definition (exact text)", "Only this response definition."),
    "risk_of_bias": (
        _choice(RISK_OF_BIAS),
        ", ".join(RISK_OF_BIAS),
        "Only results at low overall risk of bias (`low`; `evidence pool --low-risk-only`); "
        "rows of other studies, reviews and studies without a tool are left out with the reason.",
    ),
    "timepoint": (
        _window,
        "a timepoint ('1 week') or a window ('24 h..2 weeks', '..1 week')",
        "Only rows assessed in this window (rows without a timepoint are left out).",
    ),
    "dependence": (
        _choice(DEPENDENCE),
        ", ".join(DEPENDENCE),
        "What to do when a study arm has several rows (see Dependent rows).",
    ),
    "prefer_scales": (
        _labels,
        "a list of rating scales, most preferred first",
        "one-per-study: the scale to keep first.",
    ),
    "target_time": (
        _timepoint,
        "a timepoint such as '1 week'",
        "one-per-study: then the timepoint nearest this (on a log scale).",
    ),
    "prefer_populations": (
        _labels,
        "a list of analysis populations, most preferred first",
        "one-per-study: then the analysis population, in this order.",
    ),
    "rho": (
        _rho,
        "a correlation strictly between -1 and 1",
        "aggregate: the assumed correlation of a study arm's rows.",
    ),
    "robust": (
        _robust,
        "false, true (= CR1), CR1, CR2",
        "multilevel: cluster-robust inference by study (metafor robust(); CR2 = clubSandwich).",
    ),
    "measure": (
        _choice(MEASURES, upper=True),
        ", ".join(MEASURES),
        "Transformation of the proportions (logit, Freeman-Tukey, raw, arcsine).",
    ),
    "method": (
        _choice(METHODS, upper=True),
        ", ".join(METHODS),
        "Estimator: FE common effect, DL/REML/PM/HE/SJ random effects, ML (multilevel), GLMM.",
    ),
    "test": (_choice(TESTS), ", ".join(TESTS), "z, Knapp-Hartung (knha) or t."),
    "level": (
        _level,
        "a number strictly between 0 and 1 (e.g. 0.95)",
        "Level of confidence and prediction intervals.",
    ),
    "ci_method": (_choice(CI_METHODS), ", ".join(CI_METHODS), "Interval of each row's rate."),
    "by": (
        _text,
        "a column of the rows pooled (outcome rows or comparisons, with their study's "
        "conditions, route, design…), or none",
        "Subgroups: a separate fit per value and the test for subgroup differences.",
    ),
    "effect": (
        _choice(EFFECTS, upper=True),
        ", ".join(EFFECTS),
        "What is pooled: single-arm proportions, or intervention-versus-comparator effects "
        "(RR, OR, RD from responders; MD, SMD, SMDH, ROM from means; reported results).",
    ),
    "comparator": (
        _arm,
        "comparator, or an agent or arm label",
        "Comparisons: the comparator side (by role, or one agent).",
    ),
    "model": (
        _choice(MODELS),
        ", ".join(MODELS),
        "Comparisons: inverse variance (rma.uni), Mantel-Haenszel (rma.mh) or Peto (rma.peto).",
    ),
    "multi_arm": (
        _choice(MULTI_ARM),
        ", ".join(MULTI_ARM),
        "Comparisons: a comparator shared by several intervention arms is split between them, "
        "or the intervention arms are combined (Cochrane Handbook 23.3.4).",
    ),
}


#: What an analysis pools -> the columns it may subgroup by: those of the rows it selects from
#: (:data:`evidence.columns.ANALYSIS_COLUMNS`, :data:`evidence.columns.COMPARISON_COLUMNS`),
#: but ``row`` and ``line``.
_SUBGROUP_COLUMNS: Mapping[str, tuple[str, ...]] = {
    kind: tuple(c for c in columns if c not in ("row", "line"))
    for kind, columns in (("single arms", ANALYSIS_COLUMNS), ("comparisons", COMPARISON_COLUMNS))
}


def _pools(effect: str) -> str:
    return "single arms" if effect == "proportion" else "comparisons"


def subgroup_columns(effect: str) -> tuple[str, ...]:
    """The columns an analysis pooling ``effect`` may name as its subgroup column ``by``: those
    of the rows it selects from (:data:`evidence.columns.ANALYSIS_COLUMNS` for proportions,
    :data:`evidence.columns.COMPARISON_COLUMNS` for comparisons), but ``row`` and ``line``.

    >>> "conditions" in subgroup_columns("proportion"), "line" in subgroup_columns("OR")
    (True, False)
    """
    return _SUBGROUP_COLUMNS[_pools(effect)]


def settings_table() -> list[dict[str, str]]:
    """Every analysis setting with its default, what is allowed and what it means (README)."""
    defaults = Analysis().to_dict()
    rows = []
    for name, (_, allowed, meaning) in CONSTRAINTS.items():
        default = defaults[name]
        if isinstance(default, list):
            shown = ", ".join(default) if default else "(none)"
        elif default is None:
            shown = "(none)"
        elif isinstance(default, bool):
            shown = str(default).lower()
        else:
            shown = str(default)
        rows.append({"setting": name, "default": shown, "allowed": allowed, "meaning": meaning})
    return rows


@dataclass(frozen=True)
class Analysis:
    """One analysis: what is pooled and how. Frozen, validated when made.

    Attributes
    ----------
    name, title : str
        Identifier (as declared in ``[tool.evidence.analyses.NAME]``) and display title.
    headline : bool
        Shown on the workbook's Summary and as a forest plot.
    arm : str
        ``"intervention"`` (every arm whose agent has the intervention role; the default),
        ``"comparator"``, ``"all"``, or an arm label or agent (``drug-0.5``, ``placebo``).
    domain, scale, response : str or None
        Outcome domain, rating scale (the outcome key ``measure``) and response definition
        to select (exact, case-insensitive); ``None`` selects any. ``"(not stated)"`` selects
        rows that state none.
    risk_of_bias : str
        ``"any"`` (the default), or ``"low"``: only results whose overall risk-of-bias
        judgement is low (an outcome row's own judgement where it has one, else its study's);
        the others are left out with the reason.
    timepoint : str or None
        A timepoint or window (``1 week``, ``24 h..2 weeks``); rows outside it, or without a
        timepoint, are left out with the reason.
    dependence : str
        When a study arm contributes several rows: ``one-per-study`` (keep one by
        ``prefer_scales``, then the timepoint nearest ``target_time``, then
        ``prefer_populations``, then file order), ``aggregate`` (combine them, compound
        symmetry with correlation ``rho``), ``multilevel`` (three-level model, rows within
        studies; ``robust`` adds cluster-robust inference), ``none`` (every row as if
        independent; warned).
    measure, method, test, level, ci_method : str, str, str, float, str
        Transformation, estimator, test, confidence level, per-row CI method.
    by : str or None
        Subgroup column (``conditions``, ``route``, ``design``…): one of
        :func:`subgroup_columns` for the analysis's ``effect``.
    """

    name: str = "default"
    title: str = ""
    headline: bool = False
    arm: str = "intervention"
    domain: str | None = None
    scale: str | None = None
    response: str | None = None
    risk_of_bias: str = "any"
    timepoint: str | None = None
    dependence: str = "one-per-study"
    prefer_scales: tuple[str, ...] = ()
    target_time: str | None = None
    prefer_populations: tuple[str, ...] = DEFAULT_POPULATIONS
    rho: float = 0.5
    robust: str | None = None
    measure: str = "PLO"
    method: str = "REML"
    test: str = "z"
    level: float = 0.95
    ci_method: str = "wilson"
    by: str | None = None
    effect: str = "proportion"
    comparator: str = "comparator"
    model: str = "inverse-variance"
    multi_arm: str = "split"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            check, allowed, _ = CONSTRAINTS[f.name]
            value = getattr(self, f.name)
            try:
                normal = check(value)
            except ValueError as exc:
                raise self._error(f.name, str(exc), allowed) from None
            object.__setattr__(self, f.name, normal)
        if self.by is not None and self.by.lower() == "none":
            object.__setattr__(self, "by", None)
        self._check_combinations()

    def _error(self, setting: str, detail: str, allowed: str = "") -> AnalysisError:
        return AnalysisError(str(self.name), setting, detail, allowed)

    def _check_combinations(self) -> None:
        """Rules between settings (each says which setting is wrong and what is allowed)."""
        multilevel = self.dependence == "multilevel"
        if self.method == "GLMM":
            if self.measure != "PLO":
                raise self._error(
                    "measure", f"{self.measure!r} cannot be used with method GLMM", "PLO"
                )
            if self.dependence in ("aggregate", "multilevel"):
                raise self._error(
                    "dependence",
                    f"{self.dependence!r} cannot be used with method GLMM",
                    "one-per-study, none",
                )
        if multilevel:
            if self.method not in ("REML", "ML"):
                raise self._error(
                    "method", f"{self.method!r} cannot fit a multilevel model", "REML, ML"
                )
            if self.test == "knha":
                raise self._error("test", "'knha' is for rma.uni models; use t", "z, t")
        else:
            if self.method == "ML":
                raise self._error(
                    "method", "'ML' is for multilevel models", ", ".join((*RMA_METHODS, "GLMM"))
                )
            if self.test == "t" and self.method != "GLMM":
                raise self._error("test", "'t' is for multilevel and GLMM models", "z, knha")
            if self.test == "knha" and self.method == "GLMM":
                raise self._error("test", "'knha' is for rma.uni models", "z, t")
        if self.effect == "proportion":
            if self.model != "inverse-variance":
                raise self._error(
                    "model",
                    f"{self.model!r} pools comparisons, not proportions",
                    "inverse-variance",
                )
        else:
            if self.method == "GLMM":
                raise self._error(
                    "method", "'GLMM' is for single proportions", ", ".join((*RMA_METHODS, "ML"))
                )
            if self.comparator in ("all", "intervention"):
                raise self._error(
                    "comparator", f"{self.comparator!r} is not a comparator", "comparator, an agent"
                )
        if self.model != "inverse-variance":
            allowed = MH_MEASURES if self.model == "mantel-haenszel" else ("OR",)
            if self.effect not in allowed:
                raise self._error(
                    "effect",
                    f"{self.effect!r} cannot be pooled by {self.model}",
                    ", ".join(allowed),
                )
            if self.method != "FE":
                raise self._error(
                    "method",
                    f"{self.method!r}: {self.model} is a common-effect (fixed-effect) method",
                    "FE",
                )
            if self.test != "z":
                raise self._error("test", f"{self.model} uses z tests", "z")
            if self.dependence in ("aggregate", "multilevel"):
                raise self._error(
                    "dependence",
                    f"{self.dependence!r} needs inverse-variance weights",
                    "one-per-study, none",
                )
        if self.robust is not None and not multilevel:
            raise self._error(
                "robust", "cluster-robust inference needs dependence = 'multilevel'", "false"
            )
        if self.by is not None:
            self._check_by()

    def _check_by(self) -> None:
        """The subgroup column must be a column of the rows this analysis pools."""
        mine = _pools(self.effect)
        columns = _SUBGROUP_COLUMNS[mine]
        if self.by is None or self.by in columns:
            return
        detail = f"unknown column {self.by!r}"
        theirs = next(kind for kind in _SUBGROUP_COLUMNS if kind != mine)
        if self.by in _SUBGROUP_COLUMNS[theirs]:
            detail += f": a column of {theirs}, but effect = {self.effect!r} pools {mine}"
        hint = did_you_mean(self.by, columns)
        if hint:
            detail += f"; did you mean {hint!r}?"
        raise self._error("by", detail, ", ".join(columns))

    # ------------------------------------------------------------------ use

    def replace(self, **changes: Any) -> Analysis:
        """A copy with ``changes`` applied (validated again)."""
        unknown = sorted(set(changes) - set(CONSTRAINTS))
        if unknown:
            raise self._error(unknown[0], "unknown setting", ", ".join(CONSTRAINTS))
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting, in declaration order (lists for tuples): what outputs record."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Analysis:
        """An analysis from a mapping of settings (e.g. a protocol table).

        Raises
        ------
        AnalysisError
            For an unknown setting or an invalid value.
        """
        unknown = [k for k in values if k not in CONSTRAINTS]
        if unknown:
            name = str(values.get("name", "default"))
            raise AnalysisError(name, unknown[0], "unknown setting", ", ".join(CONSTRAINTS))
        return cls(**dict(values))

    @property
    def label(self) -> str:
        """The title, or the name when there is none."""
        return self.title or self.name

    def run(self, base: EvidenceBase) -> PoolReport:
        """Pool ``base`` as this analysis says (:func:`evidence.pooling.run_analysis`)."""
        from evidence.pooling import run_analysis

        return run_analysis(base, self)
