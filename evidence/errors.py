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


class ProtocolError(EvidenceError):
    """The review protocol (``[tool.evidence]`` or ``evidence.toml``) cannot be used.

    The message is one line naming the file and the key path, e.g.
    ``pyproject.toml: tool.evidence.scales.SCALE-1.direction: unknown value 'up' (allowed: ...)``.
    """


class AnalysisError(EvidenceError, ValueError):
    """An analysis setting is invalid; the message names the setting, the value and what is
    allowed (``analysis 'main': method: unknown value 'ZZ' (allowed: FE, DL, ...)``).

    ``setting``, ``detail`` and ``allowed`` hold the parts, so the protocol reader can name
    the file and key path instead.
    """

    def __init__(self, analysis: str, setting: str, detail: str, allowed: str = ""):
        self.analysis, self.setting, self.detail, self.allowed = analysis, setting, detail, allowed
        suffix = f" (allowed: {allowed})" if allowed else ""
        super().__init__(f"analysis {analysis!r}: {setting}: {detail}{suffix}")


class CitationError(EvidenceError):
    """A reference cannot be formatted: an unknown citation style or key, or a style file
    that cannot be used.

    ``detail`` and ``allowed`` hold the parts, so the protocol reader can name the file and
    key path (``pyproject.toml: tool.evidence.citation_style: unknown citation style ...``).
    """

    def __init__(self, detail: str, allowed: str = ""):
        self.detail, self.allowed = detail, allowed
        suffix = f" (allowed: {allowed})" if allowed else ""
        super().__init__(f"{detail}{suffix}")
