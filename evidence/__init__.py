"""evidence: a research-evidence tracker built on a lossless, validated ``studies.bib``."""

from __future__ import annotations

from evidence.base import EvidenceBase, load, loads, validate
from evidence.errors import BibFileError, EditError, EvidenceError, Problem, ValidationError
from evidence.schema import OUTCOME_FIELDS, STUDY_FIELDS, data_dictionary

__version__ = "0.1.0"

__all__ = [
    "OUTCOME_FIELDS",
    "STUDY_FIELDS",
    "BibFileError",
    "EditError",
    "EvidenceBase",
    "EvidenceError",
    "Problem",
    "ValidationError",
    "__version__",
    "data_dictionary",
    "load",
    "loads",
    "validate",
]
