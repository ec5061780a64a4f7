"""The review protocol: an evidence base's vocabulary and analyses, declared as data.

A systematic review states its question, outcomes and analysis plan before it looks at the
data. ``evidence`` reads the same from the ``[tool.evidence]`` table of the ``pyproject.toml``
nearest the ``.bib`` file (its folder, then upwards; files without the table are skipped, as
ruff does), or from an ``evidence.toml`` beside the ``.bib`` (its top level is the protocol;
it wins over ``pyproject.toml``); ``--config PATH`` names the file explicitly. Every command
obeys it:

- **vocabularies**: the topic ones (``conditions``, ``domains``, ``scales``, ``agents``)
  replace "any label" by the declared values; the generic ones (``designs``, ``blinding``,
  ``routes``, ``populations``) extend the package's values. Each value is a string (its
  description) or a table with ``description``, ``name`` (full name), ``synonyms`` (spellings
  that get a did-you-mean hint), ``direction`` (scales: ``higher-is-worse`` or
  ``higher-is-better``) and ``role`` (agents: ``intervention`` or ``comparator``);
- **analyses**: ``[analyses.NAME]`` tables, each an :class:`~evidence.analysis.Analysis`;
- ``citation_style``: the CSL style of reference lists (an installed style's name, or a
  ``.csl`` file relative to the protocol file; see :mod:`evidence.citations`);
- ``grade``: the analyst's GRADE judgements and assumptions, one ``[grade.NAME]`` table per
  analysis (see :mod:`evidence.grade`).

A protocol that cannot be used (bad TOML, an unknown key, a wrong type, an analysis naming an
undeclared domain or a subgroup column no table has) raises
:class:`~evidence.errors.ProtocolError` with one line naming the file and the key path; no
command runs on it.

Without a protocol, every vocabulary field accepts any label and the analyses are the
documented defaults of :meth:`Protocol.analyses_for` (one per outcome domain, never mixing
domains).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evidence.analysis import NOT_STATED, Analysis
from evidence.citations import find_style
from evidence.errors import AnalysisError, CitationError, GradeError, ProtocolError
from evidence.files import not_regular
from evidence.grade import GradeProtocol, read_grade
from evidence.schema import (
    CLAIM_FIELDS,
    EFFECT_FIELDS,
    GENERIC_COMPARATORS,
    OUTCOME_FIELDS,
    STUDY_FIELDS,
    VOCABULARIES,
    FieldSpec,
    arm_agent,
    did_you_mean,
    resolve,
)

__all__ = [
    "NO_PROTOCOL",
    "Protocol",
    "Term",
    "find_protocol",
    "load_protocol",
    "parse_protocol",
    "vocabulary_table",
]

#: Directions of a rating scale: which way is worse.
DIRECTIONS: tuple[str, ...] = ("higher-is-worse", "higher-is-better")
#: Roles of an agent.
ROLES: tuple[str, ...] = ("intervention", "comparator")
#: Keys of the protocol's top level other than the vocabularies.
_SCALARS = {"title": "text", "question": "text"}
_TERM_KEYS = {
    "description": "text",
    "name": "text",
    "synonyms": "list of text",
}
_TERM_EXTRA = {"scales": {"direction": "text"}, "agents": {"role": "text"}}
_FILE_NAME = "evidence.toml"


@dataclass(frozen=True)
class Term:
    """One declared vocabulary value, with what the protocol says about it."""

    value: str
    description: str = ""
    name: str = ""
    synonyms: tuple[str, ...] = ()
    direction: str | None = None
    role: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The declared attributes (empty ones left out)."""
        out: dict[str, Any] = {"value": self.value}
        for key in ("name", "description", "direction", "role"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.synonyms:
            out["synonyms"] = list(self.synonyms)
        return out


@dataclass(frozen=True)
class Protocol:
    """A parsed protocol: where it came from, its vocabularies and its analyses.

    Attributes
    ----------
    source : str or None
        The file it was read from (``None``: no protocol).
    prefix : str
        Key path of the protocol inside that file (``tool.evidence`` in a pyproject.toml).
    title, question : str
        What the evidence base is about (shown in reports).
    vocabularies : Mapping[str, tuple[Term, ...]]
        Declared vocabularies (topic ones, and extensions of generic ones).
    analyses : tuple[Analysis, ...]
        Declared analyses, in file order.
    citation_style : str or None
        The CSL style of reference lists: a style name, or the path of a ``.csl`` file
        (relative to the working folder, like ``source``); ``None``: not declared (the
        default of :mod:`evidence.citations` applies).
    grade : GradeProtocol
        The analyst's GRADE judgements and assumptions, per analysis (``[grade.NAME]``; see
        :mod:`evidence.grade`).
    """

    source: str | None = None
    prefix: str = ""
    title: str = ""
    question: str = ""
    vocabularies: Mapping[str, tuple[Term, ...]] = field(default_factory=dict)
    analyses: tuple[Analysis, ...] = ()
    citation_style: str | None = None
    grade: GradeProtocol = field(default_factory=GradeProtocol)

    # -------------------------------------------------------------- vocabularies

    def terms(self, vocabulary: str) -> tuple[Term, ...] | None:
        """Declared terms of ``vocabulary`` (``None`` when not declared)."""
        return self.vocabularies.get(vocabulary)

    def term(self, vocabulary: str, value: str) -> Term | None:
        """The declared term ``value`` of ``vocabulary``, or ``None``."""
        return next((t for t in self.terms(vocabulary) or () if t.value == value), None)

    @cached_property
    def _specs(self) -> tuple[dict[str, FieldSpec], ...]:
        declared = {
            name: (
                tuple(t.value for t in terms),
                {s.lower(): t.value for t in terms for s in t.synonyms},
            )
            for name, terms in self.vocabularies.items()
        }
        return (
            resolve(STUDY_FIELDS, declared),
            resolve(OUTCOME_FIELDS, declared),
            resolve(EFFECT_FIELDS, declared),
            resolve(CLAIM_FIELDS, declared),
        )

    @property
    def study_specs(self) -> dict[str, FieldSpec]:
        """Study-field specs with this protocol's vocabularies."""
        return self._specs[0]

    @property
    def outcome_specs(self) -> dict[str, FieldSpec]:
        """Outcome-key specs with this protocol's vocabularies."""
        return self._specs[1]

    @property
    def effect_specs(self) -> dict[str, FieldSpec]:
        """Reported-effect keys' specs with this protocol's vocabularies."""
        return self._specs[2]

    @property
    def claim_specs(self) -> dict[str, FieldSpec]:
        """Claim keys' specs with this protocol's vocabularies."""
        return self._specs[3]

    @property
    def agents(self) -> tuple[str, ...] | None:
        """Declared agents (``None``: any label is an agent)."""
        return self.study_specs["arms"].choices

    def agent_of(self, arm: str) -> str | None:
        """The agent of an arm label (see :func:`evidence.schema.arm_agent`)."""
        return arm_agent(arm, self.agents)

    def role(self, agent: str | None) -> str | None:
        """``intervention`` or ``comparator``: as declared, else by the generic comparators."""
        if agent is None:
            return None
        term = self.term("agents", agent)
        if term is not None:
            return term.role
        return "comparator" if agent in GENERIC_COMPARATORS else "intervention"

    def direction(self, scale: str | None) -> str | None:
        """The declared direction of a rating scale, or ``None``."""
        term = self.term("scales", scale) if scale else None
        return term.direction if term is not None else None

    # -------------------------------------------------------------- analyses

    def analysis(self, name: str) -> Analysis:
        """The declared analysis ``name``.

        Raises
        ------
        AnalysisError
            If there is none, listing the declared names.
        """
        for analysis in self.analyses:
            if analysis.name == name:
                return analysis
        names = ", ".join(a.name for a in self.analyses) or "none declared"
        raise AnalysisError(name, "name", "no such analysis in the protocol", names)

    def analyses_for(self, domains: Iterable[str | None]) -> tuple[Analysis, ...]:
        """The analyses to run: the declared ones, or the documented defaults.

        Without declared analyses: one per outcome domain among ``domains`` (the domains of
        the rows that can be pooled, in file order; declared vocabulary order first), each
        pooling the intervention arms of that domain only (rows stating no domain form their
        own analysis, ``(not stated)``), one row per study arm, all of them headlines. So no
        default ever pools two outcome domains together.
        """
        if self.analyses:
            return self.analyses
        present = list(dict.fromkeys(d if d else NOT_STATED for d in domains))
        order = [t.value for t in self.terms("domains") or ()]
        ordered = [d for d in order if d in present] + [d for d in present if d not in order]
        return tuple(
            Analysis(
                name=_slug(domain),
                title=f"Response rate, {domain} outcomes"
                if domain != NOT_STATED
                else "Response rate, outcome domain not stated",
                headline=True,
                domain=domain,
            )
            for domain in ordered
        )

    # -------------------------------------------------------------- display

    @property
    def where(self) -> str:
        """Where the protocol came from, in words."""
        if self.source is None:
            return "no protocol (no evidence.toml or [tool.evidence] found)"
        return f"{self.source}" + (f" [{self.prefix}]" if self.prefix else "")

    def source_for(self, bib: str | os.PathLike[str]) -> str:
        """Where the protocol came from, relative to the ``.bib`` file's folder (the same text
        whatever the working folder, for reproducible outputs)."""
        if self.source is None:
            return "none (no evidence.toml or [tool.evidence] found)"
        folder = os.path.dirname(os.path.abspath(bib))
        shown = os.path.relpath(os.path.abspath(self.source), folder)
        return shown + (f" [{self.prefix}]" if self.prefix else "")

    def to_dict(self) -> dict[str, Any]:
        """Plain structure (for ``evidence protocol --format json``)."""
        return {
            "source": self.source,
            "section": self.prefix or None,
            "title": self.title,
            "question": self.question,
            "vocabularies": {
                name: [t.to_dict() for t in terms] for name, terms in self.vocabularies.items()
            },
            "analyses": [a.to_dict() for a in self.analyses],
            "citation_style": self.citation_style,
            "grade": self.grade.to_dict(),
        }


#: The protocol in force when none is found: every label accepted, default analyses.
NO_PROTOCOL = Protocol()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unnamed"


# ------------------------------------------------------------------------- reading


def _display(path: Path) -> str:
    """``path`` relative to the working folder when it lies under it (shorter messages)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def find_protocol(bib: str | os.PathLike[str]) -> Protocol:
    """The protocol in force for the ``.bib`` file at ``bib``.

    ``evidence.toml`` beside the file wins; else the nearest ``pyproject.toml`` with a
    ``[tool.evidence]`` table, from the file's folder upwards; else :data:`NO_PROTOCOL`. A
    candidate that is there but is no regular file (a named pipe, a folder) is refused, not
    skipped: whether it holds the protocol cannot be known without reading it.

    Raises
    ------
    ProtocolError
        If a candidate cannot be read, is not TOML, or the protocol is invalid.
    """
    folder = Path(os.path.abspath(bib)).parent
    beside = folder / _FILE_NAME
    if beside.exists():
        return load_protocol(_display(beside))
    for directory in (folder, *folder.parents):
        candidate = directory / "pyproject.toml"
        if candidate.exists():
            shown = Path(_display(candidate))
            data = _read_toml(shown)
            if isinstance(data.get("tool"), dict) and "evidence" in data["tool"]:
                return parse_protocol(data["tool"]["evidence"], str(shown), "tool.evidence")
    return NO_PROTOCOL


def load_protocol(path: str | os.PathLike[str]) -> Protocol:
    """The protocol in the file at ``path``: its ``[tool.evidence]`` table if the file is a
    ``pyproject.toml``, else the whole file (an ``evidence.toml``).

    Raises
    ------
    ProtocolError
        If the file cannot be read, is not TOML, or the protocol is invalid.
    """
    path = Path(path)
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        if not isinstance(tool, dict) or "evidence" not in tool:
            raise ProtocolError(f"{path}: no [tool.evidence] table")
        return parse_protocol(tool["evidence"], str(path), "tool.evidence")
    return parse_protocol(data, str(path), "")


_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ProtocolError(f"{path}: no such file") from None
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read: {exc.strerror or exc}") from None
    refused = not_regular(info.st_mode, "a TOML file")
    if refused:
        raise ProtocolError(f"{path}: {refused}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(f"{path}: not valid UTF-8") from None
    except OSError as exc:
        raise ProtocolError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_AT.search(message)
        where = f"{path}:{m.group(1)}" if m else str(path)
        raise ProtocolError(f"{where}: invalid TOML: {_TOML_AT.sub('', message).strip()}") from None


class _Reader:
    """Walks the TOML data, naming the file and key path in every error."""

    def __init__(self, source: str, prefix: str):
        self.source, self.prefix = source, prefix

    def fail(self, path: Iterable[str], message: str, allowed: str = "") -> ProtocolError:
        keys = ".".join(p for p in (self.prefix, *path) if p)
        suffix = f" (allowed: {allowed})" if allowed else ""
        return ProtocolError(f"{self.source}: {keys or '(top level)'}: {message}{suffix}")

    def table(self, value: Any, path: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a table, got {_shown(value)}")
        return value

    def text(self, value: Any, path: tuple[str, ...]) -> str:
        if not isinstance(value, str):
            raise self.fail(path, f"expected text, got {_shown(value)}")
        return " ".join(value.split())

    def texts(self, value: Any, path: tuple[str, ...]) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(path, f"expected a list of text, got {_shown(value)}")
        return tuple(" ".join(v.split()) for v in value)


def _shown(value: Any) -> str:
    kind = {dict: "a table", list: "a list", bool: "a boolean", str: "text"}.get(type(value))
    return kind or f"{type(value).__name__} {value!r}"


def parse_protocol(data: Mapping[str, Any], source: str, prefix: str = "") -> Protocol:
    """A :class:`Protocol` from TOML data (the ``[tool.evidence]`` table or an evidence.toml).

    Raises
    ------
    ProtocolError
        One line naming ``source`` and the key path of the first problem.
    """
    r = _Reader(source, prefix)
    data = r.table(data, ())
    allowed_top = [*_SCALARS, *VOCABULARIES, "analyses", "citation_style", "grade"]
    scalars: dict[str, Any] = {}  # title, question, citation_style: text
    vocabularies: dict[str, tuple[Term, ...]] = {}
    raw_analyses: dict[str, Any] = {}
    raw_grade: dict[str, Any] | None = None
    for key, value in data.items():
        if key in _SCALARS:
            scalars[key] = r.text(value, (key,))
        elif key in VOCABULARIES:
            vocabularies[key] = _terms(r, key, value)
        elif key == "analyses":
            raw_analyses = r.table(value, (key,))
        elif key == "citation_style":
            scalars[key] = _citation_style(r, value)
        elif key == "grade":
            raw_grade = r.table(value, (key,))
        else:
            raise r.fail((key,), "unknown key", ", ".join(allowed_top))
    # the vocabularies, for checking each analysis against them (analyses: none yet)
    protocol = Protocol(source, prefix, vocabularies=vocabularies, analyses=(), **scalars)
    analyses = []
    for name, table in raw_analyses.items():
        path = ("analyses", name)
        settings = dict(r.table(table, path))
        if "name" in settings:
            raise r.fail((*path, "name"), "the name is the table's key; remove this key")
        try:
            analysis = Analysis.from_mapping({"name": name, **settings})
        except AnalysisError as exc:
            raise r.fail((*path, exc.setting), exc.detail, exc.allowed) from None
        _check_analysis(r, protocol, analysis, path)
        analyses.append(analysis)
    grade = GradeProtocol()
    if raw_grade is not None:
        try:
            grade = read_grade(raw_grade, analyses)
        except GradeError as exc:
            raise r.fail(("grade", *exc.keys), exc.detail, exc.allowed) from None
    return Protocol(
        source,
        prefix,
        vocabularies=vocabularies,
        analyses=tuple(analyses),
        grade=grade,
        **scalars,
    )


def _citation_style(r: _Reader, value: Any) -> str:
    """An installed style's name, or a ``.csl`` path made relative to the working folder."""
    text = r.text(value, ("citation_style",))
    try:
        return find_style(text, relative_to=os.path.dirname(r.source)).name
    except CitationError as exc:
        raise r.fail(("citation_style",), exc.detail, exc.allowed) from None


def _terms(r: _Reader, vocabulary: str, value: Any) -> tuple[Term, ...]:
    path = (vocabulary,)
    table = r.table(value, path)
    allowed = {**_TERM_KEYS, **_TERM_EXTRA.get(vocabulary, {})}
    terms = []
    seen: dict[str, str] = {}
    for label, spec in table.items():
        where = (*path, label)
        if not label.strip() or label != label.strip() or ";" in label:
            raise r.fail(where, "a value must be non-empty, without ';' or surrounding spaces")
        if vocabulary == "agents" and label in ("intervention", "comparator", "all"):
            raise r.fail(where, f"{label!r} is reserved for selecting arms by role")
        folded = label.lower()
        if folded in seen:
            raise r.fail(where, f"declared twice (as {seen[folded]!r}; values ignore case)")
        seen[folded] = label
        if isinstance(spec, str):
            spec = {"description": spec}
        spec = r.table(spec, where)
        for key in spec:
            if key not in allowed:
                raise r.fail((*where, key), "unknown key", ", ".join(allowed))
        attrs: dict[str, Any] = {}
        for key in ("description", "name"):
            if key in spec:
                attrs[key] = r.text(spec[key], (*where, key))
        if "synonyms" in spec:
            attrs["synonyms"] = r.texts(spec["synonyms"], (*where, "synonyms"))
        if vocabulary == "scales" and "direction" in spec:
            direction = r.text(spec["direction"], (*where, "direction"))
            if direction not in DIRECTIONS:
                raise r.fail(
                    (*where, "direction"), f"unknown value {direction!r}", ", ".join(DIRECTIONS)
                )
            attrs["direction"] = direction
        if vocabulary == "agents":
            if "role" not in spec:
                raise r.fail((*where, "role"), "every agent needs a role", ", ".join(ROLES))
            role = r.text(spec["role"], (*where, "role"))
            if role not in ROLES:
                raise r.fail((*where, "role"), f"unknown value {role!r}", ", ".join(ROLES))
            attrs["role"] = role
        terms.append(Term(label, **attrs))
    return tuple(terms)


def _check_analysis(r: _Reader, protocol: Protocol, analysis: Analysis, path: tuple[str, ...]):
    """Settings that must name declared vocabulary (when the vocabulary is declared)."""
    for setting, detail, allowed in undeclared_settings(protocol, analysis):
        raise r.fail((*path, setting), detail, allowed)


def undeclared_settings(protocol: Protocol, analysis: Analysis) -> list[tuple[str, str, str]]:
    """``(setting, what is wrong, allowed)`` for each setting of ``analysis`` that names a
    value ``protocol`` does not declare (only where it declares the vocabulary): a domain,
    scale, preferred scale or population, or an arm that is neither a role nor a declared
    agent's. The protocol's own analyses are read with it; ``evidence pool``'s options too."""
    outcome = protocol.outcome_specs
    found: list[tuple[str, str, str]] = []

    def check(setting: str, value: str | None, spec: FieldSpec) -> None:
        if value is None or value == NOT_STATED or spec.choices is None:
            return
        if value not in spec.choices:
            close = did_you_mean(value, spec.choices)
            hint = f"; did you mean {close!r}?" if close else ""
            what = f"{value!r} is not a declared {spec.vocabulary.rstrip('s')} value{hint}"
            found.append((setting, what, ", ".join(spec.choices)))

    check("domain", analysis.domain, outcome["domain"])
    check("scale", analysis.scale, outcome["measure"])
    for scale in analysis.prefer_scales:
        check("prefer_scales", scale, outcome["measure"])
    for population in analysis.prefer_populations:
        check("prefer_populations", population, outcome["analysis"])
    agents = protocol.agents
    for setting in ("arm", "comparator"):
        value = getattr(analysis, setting)
        by_role = value in ("intervention", "comparator", "all")
        if not by_role and agents is not None and arm_agent(value, agents) is None:
            found.append(
                (
                    setting,
                    f"{value!r} is neither a role nor an arm of a declared agent",
                    "intervention, comparator, all, " + ", ".join(agents),
                )
            )
    return found


# ------------------------------------------------------------------------- display


def vocabulary_table(protocol: Protocol) -> list[dict[str, str]]:
    """One row per declared value: vocabulary, value, name, direction or role, description.

    The values of each vocabulary are what the data dictionary's ``allowed`` column lists;
    this table says what each one means (README, workbook).
    """
    rows = []
    for vocabulary, terms in protocol.vocabularies.items():
        for t in terms:
            rows.append(
                {
                    "vocabulary": vocabulary,
                    "value": t.value,
                    "name": t.name,
                    "direction/role": t.direction or t.role or "",
                    "description": t.description,
                }
            )
    return rows
