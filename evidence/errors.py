"""Exceptions and the :class:`Problem` record every check reports.

Library code raises or returns these; only :mod:`evidence.cli` prints them.
"""

from __future__ import annotations

import dataclasses
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Literal

from evidence.text import escape_unprintable

__all__ = [
    "PROBLEM_CODES",
    "STOP_SIGNALS",
    "BibFileError",
    "EditError",
    "EvidenceError",
    "GradeError",
    "Problem",
    "Severity",
    "Stopped",
    "ValidationError",
    "stops_held",
]

Severity = Literal["error", "warning"]

#: Every problem's stable ``code`` and the rule it stands for. Codes never change meaning;
#: scripts may filter on them (``evidence validate --format json``). The README's table is
#: generated from this.
PROBLEM_CODES: dict[str, str] = {
    # BibTeX structure
    "syntax": "BibTeX syntax error: the block could not be parsed (the rest still loads)",
    "key.duplicate": "a citation key used twice, also when the two differ only in case",
    "key.invisible": (
        "a citation key holding a character no one can see or type: a zero-width or no-break "
        "space, a text-direction override, a control character (warning)"
    ),
    "field.duplicate": (
        "a field given twice in one entry (names ignore case); the first value is the "
        "entry's, as BibTeX reads it"
    ),
    "field.name": "a malformed field name (e.g. a % comment inside an entry)",
    "field.required": "a field the entry type requires is missing",
    "value.malformed": "a value that is no BibTeX expression (a missing comma between fields?)",
    "value.braces": (
        "a value whose braces do not pair up as BibTeX counts them (every brace, a backslash "
        "before it or not); BibTeX would read on past its end"
    ),
    "macro.undefined": "an @string macro used but never defined (warning)",
    "text.nul": "a NUL byte in a value, a key or between entries",
    "text.surrogate": (
        "a lone surrogate (U+D800-U+DFFF) in a value: no character, so the file could not be "
        "written; it comes from a byte that is not UTF-8 on the command line or a JSON escape"
    ),
    # bibliographic fields
    "year.invalid": "year (or date) is not a year",
    "year.range": "year outside 1900..next year",
    "doi.malformed": "a DOI that is not 10.NNNN/suffix",
    "doi.prefix": "a DOI written as a URL or with doi: (warning: write the bare DOI)",
    "doi.duplicate": "the same DOI on two entries",
    # values of schema fields (study fields and outcome keys), by the field's type
    "value.choice": "not one of the field's allowed values",
    "value.choices": "a list item that is not one of the field's allowed values",
    "value.arms": "an arm label that does not start with a known agent, or a repeated arm",
    "value.pattern": "an id that does not match the field's pattern",
    "value.int": "not an integer, or outside the field's range",
    "value.float": "not a number, or outside the field's range",
    "value.bool": "not yes or no",
    "value.timepoint": "not a timepoint",
    # outcome rows and cross-field rules
    "outcomes.syntax": "an outcome row item that is not key=value",
    "outcomes.key-repeated": "a key given twice in one outcome row",
    "outcomes.key-unknown": "an outcome key the schema does not define",
    "outcomes.arm-missing": "an outcome row that names no arm",
    "outcomes.arms-missing": "outcome rows in an entry without an arms field",
    "outcomes.arm-unknown": "an outcome row's arm is not one of the entry's arms",
    "outcomes.responders-without-n": "responders given without n",
    "outcomes.responders>n": "responders exceed n",
    "outcomes.percent-disagrees": "percent disagrees with responders/n (warning)",
    "outcomes.n>n_enrolled": "an arm's n exceeds the study's n_enrolled",
    "outcomes.key-missing": "an outcome row without a key it needs (arm)",
    "outcomes.kind-mixed": "a row with both binary (responders) and continuous (mean) data",
    "outcomes.n-missing": "a continuous row without n",
    "outcomes.n-too-small": "a continuous row with n below 2 (no SD can exist)",
    "outcomes.spread-missing": "a mean without its sd, se or ci",
    "outcomes.ci-excludes-mean": "a confidence interval that does not contain its mean",
    "outcomes.median-spread-missing": "a median without quartiles or range to convert it",
    "outcomes.median-order": "min <= q1 <= median <= q3 <= max does not hold",
    "outcomes.centre-missing": "a continuous row with neither a mean nor a median",
    "value.interval": "not an interval low..high with low below high",
    # reported results (the effects field)
    "effects.syntax": "an effects row item that is not key=value",
    "effects.key-repeated": "a key given twice in one effects row",
    "effects.key-unknown": "an effect key the schema does not define",
    "effects.key-missing": "an effects row without a key it needs (effect, estimate)",
    "effects.precision-missing": "a reported effect without its ci, se or p",
    "effects.p-unusable": "a p-value of 0 or 1, which gives no standard error",
    "effects.ratio-not-positive": "a ratio (OR, RR, HR, ROM) or its interval not above 0",
    "effects.ci-excludes-estimate": "a confidence interval that does not contain its estimate",
    "effects.arm-unknown": "an intervention or comparator that is not one of the entry's arms",
    "effects.agent-unknown": "an intervention or comparator with no known agent",
    "effects.comparator-missing": "a comparison without its comparator",
    "n_analysed>n_enrolled": "n_analysed exceeds n_enrolled",
    # risk of bias (rob_tool and the rob field)
    "rob.syntax": "a rob row item that is not key=value",
    "rob.key-repeated": "a key given twice in one rob row",
    "rob.key-unknown": "a rob key the schema does not define",
    "rob.key-missing": "a rob row without its domain or judgement",
    "rob.tool-missing": "rob rows without a rob_tool (or with rob_tool none)",
    "rob.outcome-unknown": "a rob row for an outcome row the entry does not have",
    "rob.domain-repeated": "a domain judged twice for the same result",
    "rob.reason-misplaced": "a reason on a domain row (it explains an overall judgement)",
    "rob.support-missing": "a domain judged without the facts it rests on (warning)",
    "rob.tool-design": "a tool that does not fit the design (an error on reviews, else a warning)",
    "rob.domain-missing": "a domain of the study's tool not judged",
    "rob.overall-missing": "no overall judgement (warning: the algorithm's is used)",
    "rob.overall-differs": "an overall judgement unlike the tool's algorithm's without a reason "
    "(warning)",
    # claims (the claims field: what a document says, and the entries it cites)
    "claims.syntax": "a claims row item that is not key=value",
    "claims.key-repeated": "a key given twice in one claims row",
    "claims.key-unknown": "a claim key the schema does not define",
    "claims.key-missing": "a claims row without a key it needs (text, cites)",
    "claims.cite-unknown": "a claim citing a key no entry of the file has",
    "claims.cites-mixed": "cites=none together with citation keys",
    "claims.id-repeated": "two claims of one entry with the same id",
    "claims.reason-missing": "an analyst's verdict without its reason",
    "claims.reason-without-verdict": "a reason without an analyst's verdict (warning)",
    # importing (evidence add)
    "import.duplicate": "a record that duplicates an existing entry or an earlier record",
    "import.title-missing": "a record without a title",
    "import.json": "a CSL-JSON file that is not valid JSON",
    "import.json-depth": "a CSL-JSON file nested too deeply to read",
    "import.json-number": (
        "a CSL-JSON number no value can be: more digits than Python converts, too large for a "
        "float (`1e999`), `NaN` or `Infinity`"
    ),
    "import.json-shape": "a CSL-JSON file that is not a list of objects",
    "import.ris": "a RIS file or record with a malformed line or structure",
    "import.medline": "a MEDLINE file or record with a malformed line or structure",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong (or suspicious) in a ``.bib`` file.

    Rendered as ``FILE:LINE: KEY: FIELD: message (allowed: ...)``, the way compilers and
    JabRef report problems, so editors can jump to the line, with control characters escaped
    (a NUL byte in a field name shows as ``\\x00``: :func:`evidence.text.escape_unprintable`); the
    fields keep the text as it is. ``code`` names the rule (one of :data:`PROBLEM_CODES`); code
    compares problems by it, never by their message.
    """

    file: str
    line: int
    key: str
    field: str
    code: str = dataclasses.field(kw_only=True)
    message: str
    allowed: str = ""
    severity: Severity = "error"

    def __post_init__(self) -> None:
        if self.code not in PROBLEM_CODES:
            raise ValueError(f"unknown problem code {self.code!r} (add it to PROBLEM_CODES)")
        if self.severity not in ("error", "warning"):
            raise ValueError(f"severity must be 'error' or 'warning', not {self.severity!r}")

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
        return escape_unprintable(text)

    def to_dict(self) -> dict[str, object]:
        """Plain ``dict`` for JSON output."""
        return asdict(self)


class EvidenceError(Exception):
    """Base class of every error :mod:`evidence` raises on purpose."""


#: Signals that stop a command as ^C does, raised as :class:`Stopped` (by the command line).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)  # SIGHUP where the system has it


class Stopped(BaseException):
    """The process was asked to stop by signal ``signum`` (SIGTERM, SIGHUP).

    Raised where the command is, as ^C raises :class:`KeyboardInterrupt` (and, like it, not an
    :class:`Exception`, so that no ``except Exception`` swallows it): the command undoes what
    it was doing on the way out. The ``evidence`` command line turns these signals into it.
    """

    def __init__(self, signum: int, after: str = ""):
        super().__init__(signum)
        self.signum = signum
        self.after = after  # what was complete when it came ("the new reports were in place")


@contextmanager
def stops_held(stopped: list[int] | None = None) -> Iterator[None]:
    """^C and :data:`STOP_SIGNALS` held back in this thread until the block ends, so that it
    is not cut short; those that came meanwhile are taken away and added to ``stopped`` (for
    the caller to act on once it has finished what the block completed), or dropped. Where
    the system has no signal mask (not POSIX) nothing is held."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, *STOP_SIGNALS}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        waiting = sorted(signal.sigpending() & held)
        for signum in waiting:
            signal.sigwait({signum})  # pending: returns at once
        if stopped is not None:
            stopped.extend(int(signum) for signum in waiting)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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


class GradeError(EvidenceError, ValueError):
    """A GRADE judgement or assumption in the protocol is invalid (an unknown domain, a rating
    outside 0/-1/-2, a judgement without a reason...).

    ``keys`` is the key path below ``grade`` (``("main", "indirectness", "rating")``),
    ``detail`` and ``allowed`` the parts of the message, so the protocol reader can name the
    file and the full key path.
    """

    def __init__(self, keys: tuple[str, ...], detail: str, allowed: str = ""):
        self.keys, self.detail, self.allowed = keys, detail, allowed
        suffix = f" (allowed: {allowed})" if allowed else ""
        super().__init__(f"grade.{'.'.join(keys)}: {detail}{suffix}")


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
