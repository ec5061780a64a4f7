"""evidence: a research-evidence tracker built on a lossless, validated ``studies.bib``."""

from __future__ import annotations

from importlib import metadata as _metadata

from evidence.base import EvidenceBase, load, loads, validate
from evidence.errors import BibFileError, EditError, EvidenceError, Problem, ValidationError
from evidence.schema import OUTCOME_FIELDS, STUDY_FIELDS, data_dictionary

try:  # the version is declared once, in pyproject.toml
    __version__ = _metadata.version("evidence")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

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
    "PoolReport",
    "PooledResult",
    "Problem",
    "Selection",
    "SubgroupResult",
    "ValidationError",
    "__version__",
    "data_dictionary",
    "escalc",
    "leave_one_out",
    "load",
    "loads",
    "pool_evidence",
    "pool_proportions",
    "proportion_ci",
    "select_outcomes",
    "subgroup_analysis",
    "validate",
]
