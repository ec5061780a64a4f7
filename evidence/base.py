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
from evidence.protocol import NO_PROTOCOL, Protocol, find_protocol, load_protocol
from evidence.validation import StudyRecord, check

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EvidenceBase", "load", "loads", "protocol_for", "validate"]


class EvidenceBase:
    """A parsed ``studies.bib``: the lossless document, its problems and its two tables.

    Attributes
    ----------
    document
        The :class:`~evidence.bib.BibDocument` (original text + bibtexparser library).
    protocol
        The :class:`~evidence.protocol.Protocol` it was checked against (vocabularies,
        analyses).
    records
        Typed per-entry records, in file order.
    problems
        Every error and warning, in line order.
    """

    def __init__(self, document: BibDocument, protocol: Protocol = NO_PROTOCOL):
        self.document = document
        self.protocol = protocol
        records, problems = check(document, protocol)
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

    @property
    def documents(self) -> list[StudyRecord]:
        """Entries that only make claims (an article, a press release: ``claims`` and no study
        field; :attr:`~evidence.validation.StudyRecord.is_study`). They are not studies, so
        :attr:`studies` leaves them out; :func:`evidence.claims.check_claims` checks their
        claims."""
        return [r for r in self.records if not r.is_study]

    @cached_property
    def studies(self) -> pd.DataFrame:
        """One row per study: every entry but the :attr:`documents` (see
        :data:`evidence.tables.STUDY_COLUMNS`)."""
        from evidence.tables import studies_table  # pandas loads on first use

        return studies_table([r for r in self.records if r.is_study], self.protocol)

    @cached_property
    def outcomes(self) -> pd.DataFrame:
        """One row per outcome (see :data:`evidence.tables.OUTCOME_COLUMNS`)."""
        from evidence.tables import outcomes_table

        return outcomes_table(self.records, self.protocol)

    @cached_property
    def contrasts(self) -> pd.DataFrame:
        """One row per comparison: intervention arm versus comparator arm, and reported
        results (see :data:`evidence.contrasts.CONTRAST_COLUMNS`)."""
        from evidence.contrasts import contrasts_table

        return contrasts_table(self.records, self.protocol)

    @cached_property
    def risk_of_bias(self) -> pd.DataFrame:
        """One row per result × risk-of-bias domain, and its overall judgement (see
        :data:`evidence.tables.RISK_OF_BIAS_COLUMNS`)."""
        from evidence.tables import risk_of_bias_table

        return risk_of_bias_table(self.records)


def protocol_for(
    path: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
) -> Protocol:
    """The protocol in force for the ``.bib`` file at ``path``: the one in ``config`` if
    given, else the one found beside or above the file (:func:`evidence.protocol.find_protocol`).
    """
    return load_protocol(config) if config is not None else find_protocol(path)


def load(
    path: str | os.PathLike[str] = "studies.bib",
    *,
    protocol: Protocol | None = None,
    config: str | os.PathLike[str] | None = None,
) -> EvidenceBase:
    """Read, parse and check a ``.bib`` file against its protocol.

    The protocol is ``protocol`` if given, else read from ``config`` (a ``pyproject.toml`` or
    ``evidence.toml``), else found beside or above the file (:func:`protocol_for`).

    Loading never raises on content problems; they are in ``.problems``. It raises
    :class:`~evidence.errors.BibFileError` only when the file cannot be read at all, and
    :class:`~evidence.errors.ProtocolError` when the protocol cannot be used.
    """
    if protocol is None:
        protocol = protocol_for(path, config)
    return EvidenceBase(read_bib(path), protocol)


def loads(text: str, path: str = "<string>", *, protocol: Protocol | None = None) -> EvidenceBase:
    """Like :func:`load`, from BibTeX text (no protocol unless one is given)."""
    return EvidenceBase(parse_bib(text, path), protocol or NO_PROTOCOL)


def validate(
    path: str | os.PathLike[str] = "studies.bib",
    *,
    config: str | os.PathLike[str] | None = None,
) -> list[Problem]:
    """Every problem in a ``.bib`` file (errors and warnings), in line order."""
    return load(path, config=config).problems
