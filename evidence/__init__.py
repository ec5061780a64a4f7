"""evidence: a research-evidence tracker built on a lossless, validated ``studies.bib``."""

from __future__ import annotations

from importlib import metadata as _metadata

from evidence.analysis import Analysis
from evidence.base import EvidenceBase, load, loads, validate
from evidence.errors import (
    AnalysisError,
    BibFileError,
    CitationError,
    EditError,
    EvidenceError,
    GradeError,
    Problem,
    ProtocolError,
    ValidationError,
)
from evidence.protocol import Protocol, find_protocol, load_protocol
from evidence.schema import CLAIM_FIELDS, OUTCOME_FIELDS, STUDY_FIELDS, data_dictionary

try:  # the version is declared once, in pyproject.toml
    __version__ = _metadata.version("evidence")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

# The statistics (scipy, statsmodels) load on first use, so `evidence validate` stays light.
_LAZY = {
    "PoolReport": "evidence.pooling",
    "Selection": "evidence.pooling",
    "pool_evidence": "evidence.pooling",
    "select_rows": "evidence.pooling",
    "PooledResult": "evidence.stats",
    "SubgroupResult": "evidence.stats",
    "escalc": "evidence.stats",
    "leave_one_out": "evidence.stats",
    "pool_proportions": "evidence.stats",
    "proportion_ci": "evidence.stats",
    "subgroup_analysis": "evidence.stats",
    "pool_effects": "evidence.stats",
    "subgroup_effects": "evidence.stats",
    "leave_one_out_effects": "evidence.stats",
    "EFFECT_MEASURES": "evidence.stats",
    "RATIO_MEASURES": "evidence.stats",
    "DIFFERENCE_MEASURES": "evidence.stats",
    "effect_sizes": "evidence.effects",
    "effect_from_ci": "evidence.effects",
    "hedges_correction": "evidence.effects",
    "sd_from_se": "evidence.effects",
    "sd_from_ci": "evidence.effects",
    "mean_sd_from_median": "evidence.effects",
    "ESCALC_MEASURES": "evidence.effects",
    "MantelHaenszelResult": "evidence.mantelhaenszel",
    "pool_mantel_haenszel": "evidence.mantelhaenszel",
    "pool_peto": "evidence.mantelhaenszel",
    "MultilevelResult": "evidence.multilevel",
    "aggregate_effects": "evidence.multilevel",
    "pool_multilevel": "evidence.multilevel",
    "GLMMResult": "evidence.glmm",
    "pool_glmm": "evidence.glmm",
    "Certainty": "evidence.grade",
    "DomainRating": "evidence.grade",
    "summary_of_findings": "evidence.grade",
    "Check": "evidence.claims",
    "Claim": "evidence.claims",
    "check_claims": "evidence.claims",
    "claims_table": "evidence.claims",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'evidence' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "CLAIM_FIELDS",
    "DIFFERENCE_MEASURES",
    "EFFECT_MEASURES",
    "ESCALC_MEASURES",
    "OUTCOME_FIELDS",
    "RATIO_MEASURES",
    "STUDY_FIELDS",
    "Analysis",
    "AnalysisError",
    "BibFileError",
    "Certainty",
    "Check",
    "CitationError",
    "Claim",
    "DomainRating",
    "EditError",
    "EvidenceBase",
    "EvidenceError",
    "GLMMResult",
    "GradeError",
    "MantelHaenszelResult",
    "MultilevelResult",
    "PoolReport",
    "PooledResult",
    "Problem",
    "Protocol",
    "ProtocolError",
    "Selection",
    "SubgroupResult",
    "ValidationError",
    "__version__",
    "aggregate_effects",
    "check_claims",
    "claims_table",
    "data_dictionary",
    "effect_from_ci",
    "effect_sizes",
    "escalc",
    "find_protocol",
    "hedges_correction",
    "leave_one_out",
    "leave_one_out_effects",
    "load",
    "load_protocol",
    "loads",
    "mean_sd_from_median",
    "pool_effects",
    "pool_evidence",
    "pool_glmm",
    "pool_mantel_haenszel",
    "pool_multilevel",
    "pool_peto",
    "pool_proportions",
    "proportion_ci",
    "sd_from_ci",
    "sd_from_se",
    "select_rows",
    "subgroup_analysis",
    "subgroup_effects",
    "summary_of_findings",
    "validate",
]
