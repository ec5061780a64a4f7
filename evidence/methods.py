"""An analysis's methods in words, with the publications of the methods it uses.

:func:`methods` turns a :class:`~evidence.pooling.PoolReport` (its
:class:`~evidence.analysis.Analysis` and what the selection did) into the sentences of a
methods paragraph, each citing the methods it names. The cited publications are BibTeX entries
in the package (``evidence/data/methods.bib``, :func:`method_references`), formatted in the
protocol's citation style like the studies. Only what the analysis did is said: a setting at
its default is described like any other, and nothing is said about what it did not do.

>>> import evidence
>>> from evidence.pooling import headline_analyses
>>> base = evidence.load("studies.bib")
>>> report = headline_analyses(base)[0].run(base)
>>> print(methods(report)[2].text)  # doctest: +ELLIPSIS
Rates were pooled on the logit scale in a random-effects model, the between-study variance...
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from evidence.analysis import Analysis
    from evidence.base import EvidenceBase
    from evidence.pooling import PoolReport

__all__ = ["METHODS_BIB", "Sentence", "method_references", "methods"]

#: The publications of the methods (BibTeX), cited by key.
METHODS_BIB = Path(__file__).with_name("data") / "methods.bib"


@dataclass(frozen=True)
class Sentence:
    """One sentence of a methods paragraph and the keys (in :data:`METHODS_BIB`) it cites."""

    text: str
    cites: tuple[str, ...] = ()


_TRANSFORMS = {
    "PLO": ("the logit scale", ()),
    "PFT": (
        "the Freeman-Tukey double arcsine scale (back-transformed with Miller's inversion)",
        ("freeman1950", "miller1978"),
    ),
    "PR": ("the raw proportion scale", ()),
    "PAS": ("the arcsine square-root scale", ()),
}

_ESTIMATORS = {
    "REML": ("restricted maximum likelihood", ("viechtbauer2005",)),
    "ML": ("maximum likelihood", ("viechtbauer2005",)),
    "DL": ("the DerSimonian-Laird method", ("dersimonian1986",)),
    "PM": ("the Paule-Mandel method", ("paule1982",)),
    "HE": ("the Hedges method", ("hedges1985",)),
    "SJ": ("the Sidik-Jonkman method", ("sidik2005",)),
}

_TESTS = {
    "z": ("z-tests", ()),
    "t": ("t-tests (k - 1 degrees of freedom)", ()),
    "knha": ("the Knapp-Hartung adjustment (t-tests, k - 1 degrees of freedom)", ("knapp2003",)),
}

_ROW_CI = {
    "wilson": ("Wilson score", ("wilson1927",)),
    "clopper-pearson": ("Clopper-Pearson exact", ("clopper1934",)),
    "agresti-coull": ("Agresti-Coull", ("agresti1998",)),
    "wald": ("Wald", ()),
}

_EFFECTS = {
    "OR": ("odds ratios", ()),
    "RR": ("risk ratios", ()),
    "RD": ("risk differences", ()),
    "MD": ("mean differences", ()),
    "SMD": ("standardised mean differences (Hedges' g)", ("hedges1981",)),
    "SMDH": ("standardised mean differences with heteroscedastic variances", ("hedges1981",)),
    "ROM": ("ratios of means", ()),
    "MC": ("mean changes", ()),
    "SMCR": ("standardised mean changes (raw-score standardisation)", ()),
    "SMCC": ("standardised mean changes (change-score standardisation)", ()),
    "HR": ("hazard ratios", ()),
    "GEN": ("reported effects", ()),
}


def _level(analysis: Analysis) -> str:
    return f"{analysis.level:.0%}"


def _arms(side: str, role: str) -> str:
    if side == role:
        return f"{role} arms"
    return "all arms" if side == "all" else f"arm {side}"


def _what(analysis: Analysis) -> str:
    """What an analysis selects, as a clause: arms, then each filter that is set."""
    if analysis.effect == "proportion":
        text = f"pooled the response rates of the {_arms(analysis.arm, 'intervention')}"
    else:
        text = (
            f"compared the {_arms(analysis.arm, 'intervention')} with the "
            f"{_arms(analysis.comparator, 'comparator')} ({analysis.effect})"
        )
    filters = []
    if analysis.domain is not None:
        filters.append(f"in the {analysis.domain} domain")
    if analysis.scale is not None:
        filters.append(f"on {analysis.scale}")
    if analysis.response is not None:
        filters.append(f"with response defined as '{analysis.response}'")
    if analysis.timepoint is not None:
        filters.append(f"assessed at {analysis.timepoint}")
    return " ".join([text, *filters])


def _selection(report: PoolReport) -> Sentence:
    analysis = report.analysis
    used = int(report.decisions["action"].eq("used").sum()) if len(report.decisions) else 0
    unit = "study arm" if analysis.effect == "proportion" else "comparison"
    k = report.overall.k if report.overall is not None else 0
    if k:
        rows = "row was" if used == 1 else "rows were"
        text = f"The analysis {_what(analysis)}: {used} {rows} used, {k} {unit}"
        text += " pooled." if k == 1 else "s pooled."
    else:
        text = f"The analysis {_what(analysis)}: no {unit} could be pooled."
    excluded = report.selection.excluded
    rows_out = int(excluded["row"].notna().sum())
    entries_out = int(excluded["row"].isna().sum())
    left = []
    if rows_out:
        left.append(f"{rows_out} outcome {'row' if rows_out == 1 else 'rows'}")
    if entries_out:
        left.append(f"{entries_out} {'entry' if entries_out == 1 else 'entries'} without rows")
    if left:
        text += f" Left out, each with its reason below: {' and '.join(left)}."
    return Sentence(text)


def _row_intervals(analysis: Analysis) -> Sentence:
    name, cites = _ROW_CI[analysis.ci_method]
    return Sentence(
        f"Each study arm's response rate is shown with its {name} {_level(analysis)} "
        "confidence interval.",
        cites,
    )


def _model(report: PoolReport) -> Sentence:
    analysis = report.analysis
    cites: list[str] = ["viechtbauer2010"]
    if analysis.effect == "proportion" and analysis.method == "GLMM":
        return Sentence(
            "Rates were pooled in a random-effects logistic regression (a binomial generalised "
            "linear mixed model fitted by maximum likelihood, as metafor's rma.glmm), which "
            "uses each arm's responders and participants directly and needs no continuity "
            f"correction; {_level(analysis)} confidence intervals.",
            ("stijnen2010", "viechtbauer2010"),
        )
    if analysis.effect == "proportion":
        scale, scale_cites = _TRANSFORMS[analysis.measure]
        what = f"Rates were pooled on {scale}"
        cites += scale_cites
    else:
        name, effect_cites = _EFFECTS[analysis.effect]
        what = (
            f"Effects were {name}, computed from the arms' data as metafor's escalc does, or "
            "taken from a study's reported estimate with its CI, standard error or p-value "
            "(generic inverse variance); they were pooled"
        )
        cites += effect_cites
        if analysis.model == "mantel-haenszel":
            cites.append("mantel1959")
            return Sentence(
                f"{what} by the Mantel-Haenszel method (a common-effect model, as metafor's "
                f"rma.mh), with {_level(analysis)} confidence intervals.",
                tuple(cites),
            )
        if analysis.model == "peto":
            cites.append("yusuf1985")
            return Sentence(
                f"{what} by Peto's method (a common-effect model, as metafor's rma.peto), "
                f"with {_level(analysis)} confidence intervals.",
                tuple(cites),
            )
    test, test_cites = _TESTS[analysis.test]
    cites += test_cites
    if analysis.method == "FE":
        model = "a common-effect (inverse-variance) model"
    elif analysis.dependence == "multilevel":
        name, estimator_cites = _ESTIMATORS.get(analysis.method, (analysis.method, ()))
        model = (
            "a three-level random-effects model (rows within studies; both variance components "
            f"estimated by {name})"
        )
        cites += ["konstantopoulos2011", *estimator_cites]
    else:
        name, estimator_cites = _ESTIMATORS.get(analysis.method, (analysis.method, ()))
        model = f"a random-effects model, the between-study variance estimated by {name}"
        cites += estimator_cites
    return Sentence(
        f"{what} in {model}, with {test} and {_level(analysis)} confidence intervals, as in "
        "metafor.",
        tuple(dict.fromkeys(cites)),
    )


def _heterogeneity(report: PoolReport) -> Sentence | None:
    analysis = report.analysis
    if analysis.model in ("mantel-haenszel", "peto") and analysis.effect != "proportion":
        return Sentence("Heterogeneity is reported as Cochran's Q and I².", ("higgins2002",))
    if analysis.method == "FE":
        return Sentence(
            "Heterogeneity is reported as Cochran's Q and I² (a common-effect model gives no "
            "prediction interval).",
            ("higgins2002",),
        )
    return Sentence(
        "Heterogeneity is reported as the between-study variance τ², I² and Cochran's Q, and "
        f"the {_level(analysis)} prediction interval gives the range in which a new study's "
        "true value is expected.",
        ("higgins2002", "riley2011"),
    )


def _dependence(report: PoolReport) -> Sentence:
    analysis = report.analysis
    unit = "study arm" if analysis.effect == "proportion" else "comparison"
    if analysis.dependence == "one-per-study":
        order = []
        if analysis.prefer_scales:
            order.append(f"the scale first in {', '.join(analysis.prefer_scales)}")
        if analysis.target_time:
            order.append(f"the timepoint nearest {analysis.target_time}")
        if analysis.prefer_populations:
            order.append(f"the population first in {', '.join(analysis.prefer_populations)}")
        order.append("file order")
        return Sentence(
            f"When a {unit} had several rows, one was kept (by {', then '.join(order)}), so no "
            "participant counts twice."
        )
    if analysis.dependence == "aggregate":
        return Sentence(
            f"A {unit}'s several rows were combined into one, assuming they correlate with "
            f"ρ = {analysis.rho:g} (compound symmetry, as metafor's aggregate); the pooled "
            "result is also given for ρ = 0, 0.5 and 0.8.",
            ("borenstein2009",),
        )
    if analysis.dependence == "multilevel":
        if analysis.robust == "CR2":
            return Sentence(
                "Rows of one study were modelled as correlated through the study level, with "
                "cluster-robust (CR2, small-sample corrected) inference by study.",
                ("hedges2010", "pustejovsky2018"),
            )
        if analysis.robust:
            return Sentence(
                "Rows of one study were modelled as correlated through the study level, with "
                f"cluster-robust ({analysis.robust}) inference by study.",
                ("hedges2010",),
            )
        return Sentence("Rows of one study were modelled as correlated through the study level.")
    return Sentence(
        f"Every row was pooled as if independent, although a {unit} may contribute several "
        "(a warning says so): participants can count more than once."
    )


def _comparisons(report: PoolReport) -> Sentence | None:
    analysis = report.analysis
    if analysis.effect == "proportion":
        return None
    how = (
        "its comparator's participants were split between the intervention arms"
        if analysis.multi_arm == "split"
        else "the intervention arms were combined into one"
    )
    return Sentence(
        f"Where a study compared several intervention arms with one comparator, {how}, so "
        "that no comparator participant counts twice; results of reviews are shown beside the "
        "studies and never pooled with them (their trials would count twice).",
        ("higgins2023",),
    )


def _subgroups(report: PoolReport) -> Sentence | None:
    if not report.by:
        return None
    return Sentence(
        f"Subgroups by {report.by}: a separate fit per group and a test for subgroup "
        "differences (Cochran's Q between the groups' estimates).",
        ("borenstein2009",),
    )


def methods(report: PoolReport) -> tuple[Sentence, ...]:
    """The methods paragraph of one analysis, sentence by sentence, each with its citations.

    In order: what was selected and left out; for proportions, each row's interval; the model
    (transformation or effect measure, estimator, test, level); heterogeneity; the dependence
    policy; for comparisons, multi-arm trials and reviews; subgroups.
    """
    parts: list[Sentence | None] = [_selection(report)]
    if report.analysis.effect == "proportion":
        parts.append(_row_intervals(report.analysis))
    parts += [
        _model(report),
        _heterogeneity(report),
        _dependence(report),
        _comparisons(report),
        _subgroups(report),
    ]
    return tuple(p for p in parts if p is not None)


@cache
def method_references() -> EvidenceBase:
    """The publications of the methods (:data:`METHODS_BIB`) as an evidence base."""
    from evidence.base import loads

    return loads(METHODS_BIB.read_text(encoding="utf-8"), str(METHODS_BIB))
