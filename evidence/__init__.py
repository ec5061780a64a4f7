"""evidence: a research-evidence tracker built on a lossless, validated ``studies.bib``."""

from __future__ import annotations

from evidence.base import EvidenceBase, load, loads, validate
from evidence.errors import BibFileError, EditError, EvidenceError, Problem, ValidationError
from evidence.schema import OUTCOME_FIELDS, STUDY_FIELDS, data_dictionary

__version__ = "0.1.0"

# The statistics (scipy, statsmodels) load on first use, so `evidence validate` stays light.
_LAZY = {
    "PoolReport": "evidence.pooling",
    "Selection": "evidence.pooling",
    "pool_evidence": "evidence.pooling",
    "select_outcomes": "evidence.pooling",
    "PooledResult": "evidence.stats",
    "SubgroupResult": "evidence.stats",
    "escalc": "evidence.stats",
    "leave_one_out": "evidence.stats",
    "pool_proportions": "evidence.stats",
    "proportion_ci": "evidence.stats",
    "subgroup_analysis": "evidence.stats",
    "MultilevelResult": "evidence.multilevel",
    "aggregate_effects": "evidence.multilevel",
    "pool_multilevel": "evidence.multilevel",
    "GLMMResult": "evidence.glmm",
    "pool_glmm": "evidence.glmm",
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
    "OUTCOME_FIELDS",
    "STUDY_FIELDS",
    "BibFileError",
    "EditError",
    "EvidenceBase",
    "EvidenceError",
    "GLMMResult",
    "MultilevelResult",
    "PoolReport",
    "PooledResult",
    "Problem",
    "Selection",
    "SubgroupResult",
    "ValidationError",
    "__version__",
    "aggregate_effects",
    "data_dictionary",
    "escalc",
    "leave_one_out",
    "load",
    "loads",
    "pool_evidence",
    "pool_glmm",
    "pool_multilevel",
    "pool_proportions",
    "proportion_ci",
    "select_outcomes",
    "subgroup_analysis",
    "validate",
]
