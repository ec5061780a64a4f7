"""Exceptions and the :class:`Problem` record every check reports.

Library code raises or returns these; only :mod:`evidence.cli` prints them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in a ``.bib`` file.

    Rendered as ``FILE:LINE: KEY: FIELD: message (allowed: ...)``, the way compilers and
    JabRef report problems, so editors can jump to the line.
    """

    file: str
    line: int
    key: str
    field: str
    message: str
    allowed: str = ""
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}" if self.line > 0 else self.file]
        if self.key:
            parts.append(self.key)
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts) + ": "
        if self.severity == "warning":
            text += "warning: "
        text += self.message
        if self.allowed:
            text += f" (allowed: {self.allowed})"
        return text

    def to_dict(self) -> dict[str, object]:
        """Plain ``dict`` for JSON output."""
        return asdict(self)


class EvidenceError(Exception):
    """Base class of every error :mod:`evidence` raises on purpose."""


class BibFileError(EvidenceError):
    """The ``.bib`` file cannot be read at all (missing, a directory, empty, not UTF-8)."""


class ValidationError(EvidenceError):
    """The evidence base has errors; ``problems`` lists every one."""

    def __init__(self, problems: list[Problem], outcome: str = ""):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        text = f"{len(errors)} error(s)"
        super().__init__(f"{text}; {outcome}" if outcome else text)


class EditError(EvidenceError):
    """An edit of a ``.bib`` file cannot be carried out (unknown key, concurrent change...)."""
