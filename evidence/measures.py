"""The names of the statistical measures, estimators and tests, declared once.

A light module (no numpy): the schema, the protocol and the analysis settings name these, and
``evidence validate`` must not load the statistics to check them. :mod:`evidence.stats`,
:mod:`evidence.effects` and :mod:`evidence.mantelhaenszel` import them from here.
"""

from __future__ import annotations

__all__ = [
    "BINARY_MEASURES",
    "CHANGE_MEASURES",
    "CI_METHODS",
    "CONTINUOUS_MEASURES",
    "DIFFERENCE_MEASURES",
    "EFFECT_MEASURES",
    "ESCALC_MEASURES",
    "MH_MEASURES",
    "PROPORTION_MEASURES",
    "RATIO_MEASURES",
    "RMA_METHODS",
    "RMA_TESTS",
]

PROPORTION_MEASURES: tuple[str, ...] = ("PLO", "PFT", "PR", "PAS")
"""Single proportions: logit, Freeman-Tukey double arcsine, raw proportion, arcsine."""

RATIO_MEASURES: tuple[str, ...] = ("RR", "OR", "PETO", "ROM", "HR")
"""Effect measures analysed on the log scale and reported on the natural (exp) scale: risk
ratio, odds ratio, Peto's odds ratio, ratio of means, hazard ratio."""

DIFFERENCE_MEASURES: tuple[str, ...] = ("RD", "MD", "SMD", "SMDH", "MC", "SMCR", "SMCC", "GEN")
"""Effect measures analysed and reported on their raw scale: risk difference, mean difference,
standardized mean differences (Hedges' g; heteroscedastic), mean change, standardized mean
changes (raw-score, change-score standardization) and ``GEN``, any generic effect on a raw
scale."""

EFFECT_MEASURES: tuple[str, ...] = (
    "RR",
    "OR",
    "RD",
    "PETO",
    "MD",
    "SMD",
    "SMDH",
    "ROM",
    "MC",
    "SMCR",
    "SMCC",
    "HR",
    "GEN",
)
"""Every effect measure of a comparison (ratio and difference measures)."""

BINARY_MEASURES: tuple[str, ...] = ("RR", "OR", "RD", "PETO")
"""Two-group binary data: log risk ratio, log odds ratio, risk difference, Peto's log OR."""

CONTINUOUS_MEASURES: tuple[str, ...] = ("MD", "SMD", "SMDH", "ROM")
"""Two-group continuous data: mean difference, Hedges' g, heteroscedastic standardized mean
difference, log ratio of means."""

CHANGE_MEASURES: tuple[str, ...] = ("MC", "SMCR", "SMCC")
"""Single-group pre-post data: mean change, standardized mean change with raw-score (pre-test
SD) and with change-score standardization."""

ESCALC_MEASURES: tuple[str, ...] = BINARY_MEASURES + CONTINUOUS_MEASURES + CHANGE_MEASURES
"""Every measure computed from arm data (metafor ``escalc``)."""

MH_MEASURES: tuple[str, ...] = ("OR", "RR", "RD")
"""Measures of the Mantel-Haenszel method (metafor ``rma.mh``)."""

RMA_METHODS: tuple[str, ...] = ("FE", "DL", "REML", "PM", "HE", "SJ")
"""Estimators of tau^2 of metafor's ``rma.uni`` (``FE`` = common-effect model, tau^2 = 0)."""

RMA_TESTS: tuple[str, ...] = ("z", "knha")
"""Inference of ``rma.uni``: normal (``z``) or Knapp-Hartung (``knha``)."""

CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson", "agresti-coull", "wald")
"""Per-row confidence intervals of a single proportion."""
