"""The evidence base: one ``.bib`` file, parsed, checked and tabulated.

>>> import evidence
>>> base = evidence.load("studies.bib")            # doctest: +SKIP
>>> base.studies[["key", "design", "n_enrolled"]]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING

from evidence.bib import BibDocument, parse_bib, read_bib
from evidence.errors import Problem
from evidence.validation import StudyRecord, check

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EvidenceBase", "load", "loads", "validate"]


class EvidenceBase:
    """A parsed ``studies.bib``: the lossless document, its problems and its two tables.

    Attributes
    ----------
    document
        The :class:`~evidence.bib.BibDocument` (original text + bibtexparser library).
    records
        Typed per-entry records, in file order.
    problems
        Every error and warning, in line order.
    """

    def __init__(self, document: BibDocument):
        self.document = document
        records, problems = check(document)
        self.records: list[StudyRecord] = records
        self.problems: list[Problem] = problems

    def __repr__(self) -> str:
        return (
            f"EvidenceBase({self.path!r}: {len(self.records)} entries, "
            f"{len(self.errors)} errors, {len(self.warnings)} warnings)"
        )

    @property
    def path(self) -> str:
        """The path the file was read from."""
        return self.document.path

    @property
    def errors(self) -> list[Problem]:
        """Problems of severity ``error``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Problems of severity ``warning``."""
        return [p for p in self.problems if p.severity == "warning"]

    @cached_property
    def studies(self) -> pd.DataFrame:
        """One row per entry (see :data:`evidence.tables.STUDY_COLUMNS`)."""
        from evidence.tables import studies_table  # pandas loads on first use

        return studies_table(self.records)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per outcome (see :data:`evidence.tables.OUTCOME_COLUMNS`)."""
        from evidence.tables import outcomes_table

        return outcomes_table(self.records)


def load(path: str | os.PathLike[str] = "studies.bib") -> EvidenceBase:
    """Read, parse and check a ``.bib`` file.

    Loading never raises on content problems; they are in ``.problems``. It raises
    :class:`~evidence.errors.BibFileError` only when the file cannot be read at all.
    """
    return EvidenceBase(read_bib(path))


def loads(text: str, path: str = "<string>") -> EvidenceBase:
    """Like :func:`load`, from BibTeX text."""
    return EvidenceBase(parse_bib(text, path))


def validate(path: str | os.PathLike[str] = "studies.bib") -> list[Problem]:
    """Every problem in a ``.bib`` file (errors and warnings), in line order."""
    return load(path).problems
