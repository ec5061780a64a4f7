"""Check a parsed ``.bib`` file against BibTeX rules and the outcome schema.

One pass over the entries turns each into a typed :class:`StudyRecord` (what the tables are
built from) and collects every :class:`~evidence.errors.Problem` on the way, so all problems
are reported at once, each with file, line, key and field.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from typing import Any

from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from evidence.bib import (
    BRACES_ALLOWED,
    FIELD_NAME_RE,
    TRAILING_BACKSLASH,
    BibDocument,
    brace_problem,
    scan_fields,
    unpaired_braces,
)
from evidence.errors import EditError, Problem, Severity
from evidence.gcpause import no_collection
from evidence.measures import CHANGE_MEASURES, RATIO_MEASURES
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.rob import (
    NO_INFORMATION,
    OVERALL,
    ROB2,
    ROB2_SEVERAL,
    TOOLS,
    Assessment,
    assess,
    expected_tools,
    judgement_range,
)
from evidence.schema import (
    DOCUMENT_FIELDS,
    DOI_PATTERN,
    DOI_PREFIX,
    NO_SOURCE,
    REQUIRED_FIELDS,
    REVIEW_DESIGNS,
    ROB_SPECS,
    ROWS_FIELDS,
    STUDY_SPECS,
    FieldSpec,
    coerce,
    did_you_mean,
    parse_outcome_rows,
)

__all__ = [
    "ROWS_CHECKERS",
    "ClaimRecord",
    "OutcomeRecord",
    "RobRecord",
    "StudyRecord",
    "check",
    "evaluate_expression",
    "failed_block_problem",
    "read_records",
]

_MONTHS = {
    m: m.capitalize()
    for m in ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
}


@dataclass
class OutcomeRecord:
    """One typed outcome row."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class RobRecord:
    """One typed row of the ``rob`` field (a risk-of-bias judgement)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class ClaimRecord:
    """One typed row of the ``claims`` field: a claim, the keys it cites (``cites``, a tuple;
    empty for ``cites=none``) and its typed assertions; ``written`` holds each key's text as
    written (the rounding of a percentage is read from it)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyRecord:
    """One entry: its BibTeX values (text), typed outcome-schema values, and the typed rows of
    its multi-row fields (``outcomes``, ``effects``, ``rob``, ``claims``)."""

    key: str
    entry_type: str
    line: int
    bib: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)
    outcomes: list[OutcomeRecord] = field(default_factory=list)
    effects: list[OutcomeRecord] = field(default_factory=list)
    rob: list[RobRecord] = field(default_factory=list)
    claims: list[ClaimRecord] = field(default_factory=list)

    @property
    def is_study(self) -> bool:
        """Whether the entry is a study. ``False`` for a *document* that only makes claims (an
        article, a press release): it has ``claims`` and no study field beyond
        :data:`~evidence.schema.DOCUMENT_FIELDS`, so the studies table leaves it out."""
        if "claims" not in self.bib:
            return True
        return any(name in self.bib for name in STUDY_SPECS if name not in DOCUMENT_FIELDS)

    def assessments(self) -> list[Assessment]:
        """Risk-of-bias assessments of the study and of its outcome rows with their own
        judgements (:func:`evidence.rob.assess`); none without a tool (``rob_tool`` absent
        or ``none``)."""
        tool = self.values.get("rob_tool")
        if tool not in TOOLS:
            return []
        return assess(self.key, tool, [{**r.values, "line": r.line} for r in self.rob])


#: The problem code of a value that its field's type does not allow, by the type.
VALUE_CODES = {
    "choice": "value.choice",
    "choices": "value.choices",
    "arms": "value.arms",
    "pattern": "value.pattern",
    "int": "value.int",
    "float": "value.float",
    "bool": "value.bool",
    "timepoint": "value.timepoint",
    "interval": "value.interval",
}

_TOKEN_RE = re.compile(r"\d+|[A-Za-z_][\w:.+-]*")


def evaluate_expression(value: str, strings: dict[str, str]) -> tuple[str, str, str]:
    """Value of an unenclosed BibTeX expression (macros and ``#`` concatenation), and the
    code and description of its problem (``""``, ``""`` if none): an undefined macro
    (``macro.undefined``), or text that is no BibTeX expression at all (``value.malformed``,
    typically two fields run together by a missing comma)."""
    out = []
    code = problem = ""
    for token in _split_concat(value):
        token = token.strip()
        quoted = len(token) >= 2 and token[0] == '"' and token[-1] == '"'
        braced = len(token) >= 2 and token[0] == "{" and token[-1] == "}"
        if quoted or (braced and not unpaired_braces(token[1:-1])):
            out.append(token[1:-1])
        elif token.isdigit():
            out.append(token)
        elif _TOKEN_RE.fullmatch(token):
            low = token.lower()
            if low not in strings and low not in _MONTHS and not problem:
                code = "macro.undefined"
                problem = f"undefined macro {token!r} (no @string defines it)"
            out.append(strings.get(low, _MONTHS.get(low, token)))
        else:
            return value, "value.malformed", "malformed value (a missing comma between two fields?)"
    return "".join(out), code, problem


def _split_concat(value: str) -> list[str]:
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(value):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def _strip_enclosing(value: str) -> str:
    """Remove the outer braces or quotes of a raw field value (for blocks bibtexparser's
    middlewares skip, such as entries with a duplicate field)."""
    value = value.strip()
    if len(value) >= 2 and (value[0], value[-1]) in (("{", "}"), ('"', '"')):
        return value[1:-1]
    return value


class _Collector:
    """The problems found so far, and what they are checked against (the protocol)."""

    def __init__(self, path: str, protocol: Protocol = NO_PROTOCOL):
        self.path = path
        self.protocol = protocol
        self.study_specs = protocol.study_specs
        self.outcome_specs = protocol.outcome_specs
        self.effect_specs = protocol.effect_specs
        self.claim_specs = protocol.claim_specs
        self.problems: list[Problem] = []

    def add(
        self,
        line: int,
        key: str,
        field_name: str,
        message: str,
        allowed: str = "",
        severity: Severity = "error",
        *,
        code: str,
    ) -> None:
        self.problems.append(
            Problem(self.path, line, key, field_name, message, allowed, severity, code=code)
        )


_REQUIRED_GROUPS = {t: [g.split("|") for g in groups] for t, groups in REQUIRED_FIELDS.items()}


def _check_required(rec: StudyRecord, out: _Collector) -> None:
    bib = rec.bib
    for names in _REQUIRED_GROUPS.get(rec.entry_type, ()):
        for n in names:
            value = bib.get(n)
            if value and not value.isspace():
                break
        else:
            alternatives = " or ".join(names)
            out.add(
                rec.line,
                rec.key,
                names[0],
                f"missing required field for @{rec.entry_type}",
                alternatives if len(names) > 1 else "",
                code="field.required",
            )


def _check_year(rec: StudyRecord, out: _Collector) -> None:
    text = rec.bib.get("year") or rec.bib.get("date", "")[:4]
    name = "year" if "year" in rec.bib else "date"
    if not text:
        return
    last = _dt.date.today().year + 1
    line = rec.field_lines.get(name, rec.line)
    try:
        year = int(text.strip())
    except ValueError:
        out.add(
            line, rec.key, name, f"{text!r} is not a year", f"1900..{last}", code="year.invalid"
        )
        return
    if not 1900 <= year <= last:
        out.add(
            line, rec.key, name, f"year {year} out of range", f"1900..{last}", code="year.range"
        )
        return
    rec.values["year"] = year


def _check_doi(rec: StudyRecord, out: _Collector) -> None:
    doi = rec.bib.get("doi", "").strip()
    if not doi:
        return
    line = rec.field_lines.get("doi", rec.line)
    match = DOI_PREFIX.match(doi)
    prefix = match.group(0) if match else ""
    bare = doi[len(prefix) :].strip()
    if not DOI_PATTERN.fullmatch(bare):
        message = f"malformed DOI {doi!r}"
        out.add(line, rec.key, "doi", message, "10.NNNN/suffix", code="doi.malformed")
        return
    if prefix:
        message = f"write the bare DOI {bare!r}, without {prefix!r}"
        out.add(line, rec.key, "doi", message, severity="warning", code="doi.prefix")
    rec.values["doi"] = bare.lower()


def _check_outcomes(rec: StudyRecord, raw: str, out: _Collector) -> None:
    """Type the ``outcomes`` rows (:data:`~evidence.schema.OUTCOME_FIELDS`) and apply
    :data:`OUTCOME_RULES`."""
    _check_rows(rec, "outcomes", raw, out, out.outcome_specs, OUTCOME_RULES, rec.outcomes)


def _check_effects(rec: StudyRecord, raw: str, out: _Collector) -> None:
    """Type the ``effects`` rows (:data:`~evidence.schema.EFFECT_FIELDS`) and apply
    :data:`EFFECT_RULES`."""
    _check_rows(rec, "effects", raw, out, out.effect_specs, EFFECT_RULES, rec.effects)


def _check_claims(rec: StudyRecord, raw: str, out: _Collector) -> None:
    """Type the ``claims`` rows (:data:`~evidence.schema.CLAIM_FIELDS`), apply
    :data:`CLAIM_RULES` to each and :data:`CLAIM_ROW_RULES` to all of them. Whether the cited
    keys exist is checked once every entry is read (:func:`_check_claim_cites`)."""
    claims: list[OutcomeRecord] = []
    _check_rows(rec, "claims", raw, out, out.claim_specs, CLAIM_RULES, claims)
    rec.claims.extend(ClaimRecord(c.line, c.values) for c in claims)
    for rule in CLAIM_ROW_RULES:
        rule(rec, out)


def _check_rows(
    rec: StudyRecord,
    name: str,
    raw: str,
    out: _Collector,
    specs: dict[str, FieldSpec],
    rules: tuple[Callable[..., None], ...],
    target: list[OutcomeRecord],
) -> None:
    """Type every row of the multi-row field ``name`` against ``specs``, run its cross-field
    ``rules`` on each and append the typed rows to ``target``."""
    base_line = rec.field_lines[name]
    arms = rec.values.get("arms")
    what = name.removesuffix("s")
    for row in parse_outcome_rows(raw):
        line = base_line + row.line_offset
        for code, message in row.problems:
            out.add(line, rec.key, name, message, code=code.replace("outcomes.", f"{name}.", 1))
        values: dict[str, Any] = {}
        for key, text in row.pairs.items():
            spec = specs.get(key)
            label = f"{name}.{key}"
            if spec is None:
                hint = did_you_mean(key, tuple(specs))
                extra = f"; did you mean {hint!r}?" if hint else ""
                message = f"unknown {what} key{extra}"
                out.add(line, rec.key, label, message, ", ".join(specs), code=f"{name}.key-unknown")
                continue
            value, problem = coerce(spec, text)
            if problem:
                out.add(line, rec.key, label, problem, spec.allowed, code=VALUE_CODES[spec.kind])
            else:
                values[key] = value
                if key == "time":
                    values["time_text"] = " ".join(text.split())
        for spec in specs.values():
            if spec.required and spec.name not in row.pairs:
                out.add(
                    line,
                    rec.key,
                    f"{name}.{spec.name}",
                    f"{what} row has no {spec.name}",
                    code=f"{name}.key-missing",
                )
        record = OutcomeRecord(line, values)
        for rule in rules:
            rule(rec, record, row.pairs, arms, out)
        target.append(record)


def _check_rob(rec: StudyRecord, raw: str, out: _Collector) -> None:
    """Type each ``rob`` row against the keys of :data:`~evidence.schema.ROB_FIELDS` and the
    domains and judgements of the study's tool, then apply :data:`ROB_RULES`."""
    base_line = rec.field_lines["rob"]
    tool = TOOLS.get(rec.values.get("rob_tool", ""))
    specs = ROB_SPECS
    if tool is not None:
        specs = {
            **ROB_SPECS,
            "domain": replace(
                ROB_SPECS["domain"],
                choices=(*tool.codes, OVERALL),
                synonyms={
                    k: v
                    for k, v in ROB_SPECS["domain"].synonyms.items()
                    if v in (*tool.codes, OVERALL)
                },
            ),
            "judgement": replace(
                ROB_SPECS["judgement"], choices=tool.levels, synonyms=tool.synonyms
            ),
        }
    for row in parse_outcome_rows(raw):
        line = base_line + row.line_offset
        for code, message in row.problems:
            out.add(line, rec.key, "rob", message, code=code.replace("outcomes.", "rob.", 1))
        values: dict[str, Any] = {}
        for name, text in row.pairs.items():
            spec = specs.get(name)
            label = f"rob.{name}"
            if spec is None:
                hint = did_you_mean(name, tuple(specs))
                extra = f"; did you mean {hint!r}?" if hint else ""
                message = f"unknown rob key{extra}"
                out.add(line, rec.key, label, message, ", ".join(specs), code="rob.key-unknown")
                continue
            value, problem = coerce(spec, text)
            if problem:
                if tool is not None and name in ("domain", "judgement"):
                    hint = problem.partition(";")[2]
                    problem = f"{text.strip()!r} is not a {tool.title} {name}" + (
                        f";{hint}" if hint else ""
                    )
                out.add(line, rec.key, label, problem, spec.allowed, code=VALUE_CODES[spec.kind])
            else:
                values[name] = value
        for name in ("domain", "judgement"):
            if name not in row.pairs:
                message = f"rob row has no {name}"
                out.add(line, rec.key, "rob", message, specs[name].allowed, code="rob.key-missing")
        if "outcome" in row.pairs and "outcome" not in values:
            values.pop("domain", None)  # for no result: not the study's either
        rec.rob.append(RobRecord(line, values))
    for rule in ROB_ROW_RULES:
        rule(rec, out)


# ----------------------------------------------------------------------- cross-field rules
# Each rule is one named function; the tuples below are the whole list, read in order.


def _rule_arm_declared(rec, row, pairs, arms, out) -> None:
    """Every row names an arm, and it is one of the entry's ``arms``."""
    arm = pairs.get("arm")
    if not arm:
        return  # reported as a missing required key (outcomes.key-missing)
    if arms is None:
        if "arms" not in rec.bib:
            message = "outcome rows need an `arms` field"
            out.add(row.line, rec.key, "outcomes.arm", message, code="outcomes.arms-missing")
        return
    if arm not in arms:
        out.add(
            row.line,
            rec.key,
            "outcomes.arm",
            f"unknown arm {arm!r}",
            ", ".join(arms),
            code="outcomes.arm-unknown",
        )
        return
    agent = out.protocol.agent_of(arm)
    row.values["agent"] = agent
    row.values["role"] = out.protocol.role(agent)


def _rule_responders_need_n(rec, row, pairs, arms, out) -> None:
    """``responders`` needs ``n`` and lies in 0..n."""
    r, n = row.values.get("responders"), row.values.get("n")
    if r is not None and n is None and "n" not in pairs:
        message = "responders given without n"
        code = "outcomes.responders-without-n"
        out.add(row.line, rec.key, "outcomes.responders", message, code=code)
    if r is not None and n is not None and r > n:
        del row.values["responders"]
        out.add(
            row.line,
            rec.key,
            "outcomes.responders",
            f"responders={r} exceeds n={n}",
            "0..n",
            code="outcomes.responders>n",
        )


def _rule_percent_agrees(rec, row, pairs, arms, out) -> None:
    """A reported percent agrees with responders/n (to rounding)."""
    r, n, p = row.values.get("responders"), row.values.get("n"), row.values.get("percent")
    if r is not None and n and p is not None and r <= n and abs(100 * r / n - p) > 0.51:
        out.add(
            row.line,
            rec.key,
            "outcomes.percent",
            f"percent={p:g} disagrees with responders/n = {r}/{n} = {100 * r / n:.1f}%",
            severity="warning",
            code="outcomes.percent-disagrees",
        )


def _rule_n_within_enrolled(rec, row, pairs, arms, out) -> None:
    """An arm's n is at most the study's n_enrolled."""
    n, enrolled = row.values.get("n"), rec.values.get("n_enrolled")
    if n is not None and enrolled is not None and n > enrolled:
        out.add(
            row.line,
            rec.key,
            "outcomes.n",
            f"n={n} exceeds n_enrolled={enrolled}",
            f"0..{enrolled}",
            code="outcomes.n>n_enrolled",
        )


_BINARY_KEYS = ("responders", "percent")
_CONTINUOUS_KEYS = ("mean", "sd", "se", "ci", "median", "q1", "q3", "min", "max", "score")


def _rule_one_kind(rec, row, pairs, arms, out) -> None:
    """A row is binary (responders, percent) or continuous (mean, median…), not both; a
    continuous row has n >= 2, a centre and a spread that fit together."""
    v = row.values
    binary = [k for k in _BINARY_KEYS if k in pairs]
    continuous = [k for k in _CONTINUOUS_KEYS if k in pairs]
    if binary and continuous:
        out.add(
            row.line,
            rec.key,
            f"outcomes.{continuous[0]}",
            f"a row is either binary ({', '.join(binary)}) or continuous "
            f"({', '.join(continuous)}); put them on two rows",
            code="outcomes.kind-mixed",
        )
        return
    if not continuous:
        row.values["type"] = "binary" if binary else None
        return
    row.values["type"] = "continuous"
    n = v.get("n")
    if "n" not in pairs:
        out.add(
            row.line, rec.key, "outcomes.n", "a continuous row needs n", code="outcomes.n-missing"
        )
    elif n is not None and n < 2:
        out.add(
            row.line,
            rec.key,
            "outcomes.n",
            f"n={n}: an SD needs n >= 2",
            "integer >= 2",
            code="outcomes.n-too-small",
        )
    if "mean" in pairs:
        if not any(k in pairs for k in ("sd", "se", "ci")):
            out.add(
                row.line,
                rec.key,
                "outcomes.mean",
                "a mean needs its sd, se or ci",
                "sd, se, ci",
                code="outcomes.spread-missing",
            )
        mean, ci = v.get("mean"), v.get("ci")
        if mean is not None and ci is not None and not ci[0] <= mean <= ci[1]:
            out.add(
                row.line,
                rec.key,
                "outcomes.ci",
                f"ci {ci[0]:g}..{ci[1]:g} does not contain the mean {mean:g}",
                code="outcomes.ci-excludes-mean",
            )
    elif "median" in pairs:
        quartiles = "q1" in pairs and "q3" in pairs
        extremes = "min" in pairs and "max" in pairs
        if not (quartiles or extremes):
            out.add(
                row.line,
                rec.key,
                "outcomes.median",
                "a median needs q1 and q3, or min and max (to convert it to a mean and SD)",
                "q1+q3, min+max, or all four",
                code="outcomes.median-spread-missing",
            )
        order = [v.get(k) for k in ("min", "q1", "median", "q3", "max") if v.get(k) is not None]
        if order != sorted(order):
            out.add(
                row.line,
                rec.key,
                "outcomes.median",
                "min <= q1 <= median <= q3 <= max does not hold",
                code="outcomes.median-order",
            )
    else:
        out.add(
            row.line,
            rec.key,
            f"outcomes.{continuous[0]}",
            "a continuous row needs a mean (with sd, se or ci) or a median",
            "mean, median",
            code="outcomes.centre-missing",
        )


OUTCOME_RULES: tuple[Callable[..., None], ...] = (
    _rule_arm_declared,
    _rule_one_kind,
    _rule_responders_need_n,
    _rule_percent_agrees,
    _rule_n_within_enrolled,
)


def _rule_effect_interval(rec, row, pairs, arms, out) -> None:
    """A reported effect has a CI or an SE; its CI contains it; ratios are positive."""
    v = row.values
    estimate, ci, effect = v.get("estimate"), v.get("ci"), v.get("effect")
    if "ci" not in pairs and "se" not in pairs and "p" not in pairs:
        out.add(
            row.line,
            rec.key,
            "effects.ci",
            "a reported effect needs its ci, se or p (to weigh it in a meta-analysis)",
            "ci, se, p",
            code="effects.precision-missing",
        )
    p = v.get("p")
    if "ci" not in pairs and "se" not in pairs and p is not None and not 0 < p < 1:
        out.add(
            row.line,
            rec.key,
            "effects.p",
            f"p={p:g} cannot give a standard error (only a p strictly between 0 and 1 can)",
            code="effects.p-unusable",
        )
    if effect in RATIO_MEASURES:
        for label, value in (("estimate", estimate), ("ci", ci[0] if ci else None)):
            if value is not None and value <= 0:
                out.add(
                    row.line,
                    rec.key,
                    f"effects.{label}",
                    f"{effect} is a ratio: {value:g} is not positive",
                    "a number > 0",
                    code="effects.ratio-not-positive",
                )
                return
    if estimate is not None and ci is not None and not ci[0] <= estimate <= ci[1]:
        out.add(
            row.line,
            rec.key,
            "effects.ci",
            f"ci {ci[0]:g}..{ci[1]:g} does not contain the estimate {estimate:g}",
            code="effects.ci-excludes-estimate",
        )


def _rule_effect_arms(rec, row, pairs, arms, out) -> None:
    """The sides of a reported effect are arms of the entry (or, without arms, agents)."""
    for side in ("intervention", "comparator"):
        label = row.values.get(side)
        if label is None:
            continue
        if arms is not None:
            agents = {out.protocol.agent_of(a) for a in arms}
            if label not in arms and label not in agents:
                out.add(
                    row.line,
                    rec.key,
                    f"effects.{side}",
                    f"unknown arm {label!r}",
                    ", ".join(arms),
                    code="effects.arm-unknown",
                )
                continue
        agent = out.protocol.agent_of(label)
        if agent is None:
            out.add(
                row.line,
                rec.key,
                f"effects.{side}",
                f"{label!r} does not start with a known agent",
                ", ".join(out.protocol.agents or ()),
                code="effects.agent-unknown",
            )
            continue
        row.values[f"{side}_agent"] = agent
    if "comparator" not in pairs and row.values.get("effect") not in CHANGE_MEASURES:
        out.add(
            row.line,
            rec.key,
            "effects.comparator",
            "a comparison needs its comparator (only single-group changes MC, SMCR, SMCC have "
            "none)",
            code="effects.comparator-missing",
        )


EFFECT_RULES: tuple[Callable[..., None], ...] = (_rule_effect_interval, _rule_effect_arms)


def _rule_analysed_within_enrolled(rec: StudyRecord, out: _Collector) -> None:
    """``n_analysed`` is at most ``n_enrolled``."""
    a, e = rec.values.get("n_analysed"), rec.values.get("n_enrolled")
    if a is not None and e is not None and a > e:
        line = rec.field_lines.get("n_analysed", rec.line)
        message = f"n_analysed={a} exceeds n_enrolled={e}"
        out.add(line, rec.key, "n_analysed", message, f"0..{e}", code="n_analysed>n_enrolled")


STUDY_RULES: tuple[Callable[[StudyRecord, _Collector], None], ...] = (
    _check_required,
    _check_year,
    _check_doi,
    _rule_analysed_within_enrolled,
)


# --------------------------------------------------------------------------- risk of bias
# Rules over a study's typed ``rob`` rows (ROB_ROW_RULES), then over its assessments
# (ROB_RULES): one per study, one per outcome row with judgements of its own.


def _rob_line(rec: StudyRecord) -> int:
    return rec.field_lines.get("rob", rec.field_lines.get("rob_tool", rec.line))


def _rule_rob_needs_a_tool(rec: StudyRecord, out: _Collector) -> None:
    """``rob`` rows need a tool: ``rob_tool`` RoB2 or ROBINS-I (not ``none``)."""
    if not rec.rob:
        return
    tool = rec.values.get("rob_tool")
    if tool == "none":
        out.add(
            _rob_line(rec),
            rec.key,
            "rob",
            "rob_tool is none, so the study has no risk-of-bias judgements; remove the rob "
            "rows or name the tool",
            ", ".join(TOOLS),
            code="rob.tool-missing",
        )
    elif "rob_tool" not in rec.bib:
        message = "rob rows need a rob_tool"
        out.add(
            _rob_line(rec), rec.key, "rob_tool", message, ", ".join(TOOLS), code="rob.tool-missing"
        )


def _rule_rob_outcome_exists(rec: StudyRecord, out: _Collector) -> None:
    """An ``outcome=N`` row names one of the study's outcome rows."""
    for row in rec.rob:
        n = row.values.get("outcome")
        if n is not None and n > len(rec.outcomes):
            del row.values["outcome"]
            row.values.pop("domain", None)  # not counted for the study either
            out.add(
                row.line,
                rec.key,
                "rob.outcome",
                f"no outcome row {n} (the entry has {len(rec.outcomes)})",
                f"1..{len(rec.outcomes)}" if rec.outcomes else "",
                code="rob.outcome-unknown",
            )


def _rule_rob_domain_once(rec: StudyRecord, out: _Collector) -> None:
    """Each domain is judged once per result (the study, or one outcome row)."""
    seen: dict[tuple[Any, str], int] = {}
    for row in rec.rob:
        domain = row.values.get("domain")
        if domain is None:
            continue
        where = (row.values.get("outcome"), domain)
        if where in seen:
            scope = f" for outcome row {where[0]}" if where[0] is not None else ""
            out.add(
                row.line,
                rec.key,
                "rob.domain",
                f"{domain} judged twice{scope} (first on line {seen[where]})",
                code="rob.domain-repeated",
            )
        else:
            seen[where] = row.line


def _rule_rob_reason_on_overall(rec: StudyRecord, out: _Collector) -> None:
    """``reason`` explains an overall judgement, so it belongs on an overall row."""
    for row in rec.rob:
        domain = row.values.get("domain")
        if "reason" in row.values and domain is not None and domain != OVERALL:
            out.add(
                row.line,
                rec.key,
                "rob.reason",
                f"reason is for the overall row (it explains an overall judgement that differs "
                f"from the tool's algorithm); use support for {domain}",
                code="rob.reason-misplaced",
            )


def _rule_rob_support(rec: StudyRecord, out: _Collector) -> None:
    """A domain judgement other than no information says what it rests on (``support``)."""
    for row in rec.rob:
        level, domain = row.values.get("judgement"), row.values.get("domain")
        if domain in (None, OVERALL) or level in (None, NO_INFORMATION):
            continue
        if not row.values.get("support"):
            out.add(
                row.line,
                rec.key,
                "rob.support",
                f"{domain} is judged {level!r} without support (the facts it rests on)",
                severity="warning",
                code="rob.support-missing",
            )


ROB_ROW_RULES: tuple[Callable[[StudyRecord, _Collector], None], ...] = (
    _rule_rob_needs_a_tool,
    _rule_rob_outcome_exists,
    _rule_rob_domain_once,
    _rule_rob_reason_on_overall,
    _rule_rob_support,
)


def _rule_rob_tool_fits_design(rec: StudyRecord, out: _Collector) -> None:
    """The tool fits the design: reviews get none (an error otherwise), randomised trials
    RoB2, cohorts ROBINS-I (a warning otherwise)."""
    tool, design = rec.values.get("rob_tool"), rec.values.get("design")
    fits = expected_tools(design)
    if tool is None or fits is None or tool in fits:
        return
    line = rec.field_lines.get("rob_tool", rec.line)
    review = design in REVIEW_DESIGNS
    message = f"rob_tool {tool} does not fit design {design}"
    if review:
        message += " (a review is not assessed with a study tool)"
    severity: Severity = "error" if review else "warning"
    out.add(line, rec.key, "rob_tool", message, ", ".join(fits), severity, code="rob.tool-design")


def _rule_rob_complete(rec: StudyRecord, out: _Collector, result: Assessment) -> None:
    """The study judges every domain of its tool and states an overall judgement."""
    if result.outcome_row is not None:
        return
    tool = TOOLS[result.tool]
    named = {r.values.get("domain") for r in rec.rob if r.values.get("outcome") is None}
    missing = ", ".join(d for d in result.missing if d not in named)  # else reported already
    if missing:
        out.add(
            _rob_line(rec),
            rec.key,
            "rob",
            f"no judgement for {missing} of {tool.title} (write judgement=no information where "
            "the sources do not let you judge)",
            ", ".join(tool.codes),
            code="rob.domain-missing",
        )
    elif result.overall.source == "algorithm" and not result.missing:
        out.add(
            _rob_line(rec),
            rec.key,
            "rob",
            f"no overall judgement; the {tool.title} algorithm gives {result.algorithm!r} "
            f"(add domain=overall; judgement={result.algorithm})",
            severity="warning",
            code="rob.overall-missing",
        )


def _rule_rob_overall_agrees(rec: StudyRecord, out: _Collector, result: Assessment) -> None:
    """The overall judgement is the tool's algorithm's, or says why not (``reason``)."""
    judged = result.overall
    if judged.source == "algorithm" or not result.differs or judged.reason or result.missing:
        return
    tool = TOOLS[result.tool]
    levels = [j.level for j in result.domains]
    allowed = judgement_range(tool, levels)
    scope = f"outcome row {result.outcome_row}: " if result.outcome_row is not None else ""
    whose = " (the study's)" if judged.source == "study" else ""
    message = (
        f"{scope}overall {judged.level!r}{whose} differs from the {tool.title} algorithm's "
        f"{result.algorithm!r}"
    )
    if tool is ROB2 and judged.level in allowed:
        concerns = levels.count("some concerns")
        message += (
            f": RoB 2 leaves to judgement whether some concerns in {concerns} domains make the "
            f"result high (default: {ROB2_SEVERAL} or more)"
        )
    elif judged.level in allowed:
        message += ": ROBINS-I allows an overall more severe than the most severe domain"
    elif tool is not ROB2:
        message += " (the most severe domain judgement)"
    message += "; give reason={...} on the overall row"
    if judged.source == "study":
        message += f" (outcome={result.outcome_row}; domain=overall; ...)"
    line = judged.line if judged.source == "stated" and judged.line else _rob_line(rec)
    out.add(line, rec.key, "rob.judgement", message, severity="warning", code="rob.overall-differs")


ROB_RULES: tuple[Callable[[StudyRecord, _Collector, Assessment], None], ...] = (
    _rule_rob_complete,
    _rule_rob_overall_agrees,
)


def _check_rob_assessments(rec: StudyRecord, out: _Collector) -> None:
    _rule_rob_tool_fits_design(rec, out)
    if rec.values.get("design") in REVIEW_DESIGNS:
        return  # a review has no assessment to check (a tool on it is an error already)
    for result in rec.assessments():
        for rule in ROB_RULES:
            rule(rec, out, result)


# --------------------------------------------------------------------------------- claims
# Rules over each typed claims row (CLAIM_RULES), then over all of an entry's claims
# (CLAIM_ROW_RULES); the cited keys are checked once every entry is read.


def _rule_claim_written(rec, row, pairs, arms, out) -> None:
    """Keep each key's text as written (an assertion is shown as the analyst wrote it, and a
    percentage's rounding is read from its digits)."""
    row.values["written"] = {key: " ".join(text.split()) for key, text in pairs.items()}


def _rule_claim_cites(rec, row, pairs, arms, out) -> None:
    """``cites`` is citation keys or ``none``, not both; it is kept as a tuple (empty for
    none)."""
    keys = row.values.get("cites")
    if keys is None:
        return  # missing (claims.key-missing) or not a key list (value.pattern)
    sources = [k for k in keys if k.lower() != NO_SOURCE]
    if len(sources) < len(keys) and sources:
        out.add(
            row.line,
            rec.key,
            "claims.cites",
            f"cites both {NO_SOURCE} and citation keys ({', '.join(sources)})",
            f"citation keys, or {NO_SOURCE} alone",
            code="claims.cites-mixed",
        )
    row.values["cites"] = tuple(dict.fromkeys(sources))


def _rule_claim_override(rec, row, pairs, arms, out) -> None:
    """An analyst's ``verdict`` says why (``reason``); a ``reason`` belongs to a verdict."""
    if "verdict" in pairs and not pairs.get("reason", "").strip():
        out.add(
            row.line,
            rec.key,
            "claims.reason",
            "an analyst's verdict needs its reason (reason={...})",
            code="claims.reason-missing",
        )
    elif "reason" in pairs and "verdict" not in pairs:
        out.add(
            row.line,
            rec.key,
            "claims.reason",
            "reason explains an analyst's verdict, and this claim has none (add verdict=...)",
            severity="warning",
            code="claims.reason-without-verdict",
        )


CLAIM_RULES: tuple[Callable[..., None], ...] = (
    _rule_claim_written,
    _rule_claim_cites,
    _rule_claim_override,
)


def _rule_claim_ids(rec: StudyRecord, out: _Collector) -> None:
    """Each claim has an id (default: its row number), unique in the entry."""
    seen: dict[str, int] = {}
    for number, claim in enumerate(rec.claims, start=1):
        claim_id = claim.values.setdefault("id", str(number))
        if claim_id in seen:
            out.add(
                claim.line,
                rec.key,
                "claims.id",
                f"claim id {claim_id!r} used twice (first on line {seen[claim_id]})",
                code="claims.id-repeated",
            )
        else:
            seen[claim_id] = claim.line


CLAIM_ROW_RULES: tuple[Callable[[StudyRecord, _Collector], None], ...] = (_rule_claim_ids,)


def _check_claim_cites(records: list[StudyRecord], out: _Collector) -> None:
    """Every key a claim cites is an entry of the file (citation keys as written)."""
    keys = tuple(dict.fromkeys(r.key for r in records))
    known = set(keys)
    for rec in records:
        for claim in rec.claims:
            for key in claim.values.get("cites", ()):
                if key in known:
                    continue
                hint = did_you_mean(key, keys)
                extra = f"; did you mean {hint!r}?" if hint else ""
                out.add(
                    claim.line,
                    rec.key,
                    "claims.cites",
                    f"no entry with citation key {key!r}{extra}",
                    code="claims.cite-unknown",
                )


# --------------------------------------------------------------------------- the pass


def _record(
    entry: Entry,
    strings: dict[str, str],
    out: _Collector,
    raw: bool = False,
    typed: bool = True,
    only: Collection[str] | None = None,
) -> StudyRecord:
    rec = StudyRecord(entry.key, entry.entry_type.lower(), (entry.start_line or 0) + 1)
    bib, lines = rec.bib, rec.field_lines
    typed_fields = []
    for f in entry.fields:
        name = f.key.lower()
        if only is not None and name not in only:
            continue
        value = f.value
        line = f.start_line + 1
        if not FIELD_NAME_RE.fullmatch(f.key):
            shown = " ".join(f.key.split())
            out.add(
                line,
                rec.key,
                shown,
                "malformed field name (a % comment or stray text inside an entry is not "
                "BibTeX; comments go between entries)",
                code="field.name",
            )
            continue
        if name in bib:  # an error; the first value is the entry's, as BibTeX reads it
            first = lines[name]
            message = f"field {name!r} appears more than once in the entry (first on line {first})"
            out.add(line, rec.key, f.key, message, code="field.duplicate")
            continue
        code = problem = ""
        if raw and value[:1] in ("{", '"'):
            value = _strip_enclosing(value)
        elif raw or f.enclosing == "no-enclosing":
            value, code, problem = evaluate_expression(value, strings)
        if code:
            severity: Severity = "warning" if code == "macro.undefined" else "error"
            out.add(line, rec.key, name, problem, severity=severity, code=code)
            if severity == "error":
                continue
        if typed and (problem := brace_problem(value)):
            # bibtexparser took a brace after a backslash for text, or read a quoted value
            # whose braces do not pair: BibTeX would not read this value as it did
            out.add(line, rec.key, name, problem, BRACES_ALLOWED, code="value.braces")
        bib[name] = value
        lines[name] = line
        if name in out.study_specs:
            typed_fields.append(name)
    if not typed:
        return rec
    for name in typed_fields:
        spec = out.study_specs[name]
        if spec.kind == "rows":
            continue
        typed, value_problem = coerce(spec, bib[name])
        if value_problem:
            code = VALUE_CODES[spec.kind]
            out.add(lines[name], rec.key, name, value_problem, spec.allowed, code=code)
        else:
            rec.values[name] = typed
    for rule in STUDY_RULES:
        rule(rec, out)
    for name in ROWS_FIELDS:
        if name in bib:
            # rows are counted from the line of the opening brace, which may follow "="
            m = _ROWS_OPEN_RE[name].search(entry.raw or "")
            if m is not None:
                lines[name] += m.group(1).count("\n")
            ROWS_CHECKERS[name](rec, bib[name], out)
    _check_rob_assessments(rec, out)
    return rec


#: The one checker of each multi-row field (:data:`~evidence.schema.ROWS_FIELDS`): it types
#: the field's rows against their keys and applies the field's rules.
ROWS_CHECKERS: dict[str, Callable[[StudyRecord, str, _Collector], None]] = {
    "outcomes": _check_outcomes,
    "effects": _check_effects,
    "rob": _check_rob,
    "claims": _check_claims,
}


_ROWS_OPEN_RE = {
    name: re.compile(rf"(?i)(?<![\w:.+-]){name}\s*=(\s*)[{{\"]") for name in ROWS_FIELDS
}


def check(
    doc: BibDocument, protocol: Protocol = NO_PROTOCOL
) -> tuple[list[StudyRecord], list[Problem]]:
    """Typed records of every entry and every problem in ``doc``, in file order, with the
    vocabularies of ``protocol`` (default: none declared, so any label is accepted)."""
    with no_collection():  # records and problems all survive: collecting would be wasted
        records, out = _read(doc, protocol, typed=True)
        _check_duplicate_dois(records, out)
        _check_claim_cites(records, out)
        text = doc.text
        if "\x00" in text or (not text.isascii() and _UNWRITABLE.search(text)):
            _check_unwritable(doc, out)
    out.problems.sort(key=lambda p: (p.line, p.severity != "error"))
    return records, out.problems


def read_records(doc: BibDocument, fields: Collection[str] | None = None) -> list[StudyRecord]:
    """The records of :func:`check` with their BibTeX values only (``bib`` and
    ``field_lines``, macros expanded, malformed fields left out as there), and of those only
    ``fields`` (lower-case names) if given: nothing typed, nothing checked, for what needs
    only some of the text (finding duplicates)."""
    with no_collection():
        return _read(doc, NO_PROTOCOL, typed=False, only=fields)[0]


def _read(
    doc: BibDocument, protocol: Protocol, typed: bool, only: Collection[str] | None = None
) -> tuple[list[StudyRecord], _Collector]:
    """The one pass over ``doc``'s blocks: a record per entry (typed and checked if
    ``typed``), and the problems of the entries and of the blocks that are none."""
    out = _Collector(doc.path, protocol)
    strings = {s.key.lower(): str(s.value) for s in doc.library.strings}
    records: list[StudyRecord] = []
    first: dict[str, tuple[str, int]] = {}  # lower-case key -> (key as written, line)

    def add_record(entry: Entry, raw: bool = False) -> None:
        rec = _record(entry, strings, out, raw=raw, typed=typed, only=only)
        seen = first.setdefault(entry.key.lower(), (entry.key, rec.line))
        if seen[0] != entry.key:  # BibTeX compares citation keys ignoring case
            out.add(
                rec.line,
                entry.key,
                "",
                f"duplicate citation key {entry.key!r} (first defined on line {seen[1]} as "
                f"{seen[0]!r}; BibTeX ignores case in keys)",
                code="key.duplicate",
            )
        if typed and not entry.key.replace("\x00", "").isprintable():  # NUL: text.nul
            _check_key_characters(entry.key, rec.line, out)
        records.append(rec)

    for block in doc.library.blocks:
        if isinstance(block, Entry):
            add_record(block)
        elif isinstance(block, DuplicateFieldKeyBlock):
            # _record reports each repeated field with its line (case-insensitively, as
            # BibTeX compares), so the entry is checked like any other
            entry = block.ignore_error_block
            if isinstance(entry, Entry):
                add_record(entry, raw=True)
        elif isinstance(block, ParsingFailedBlock):  # duplicate keys and syntax errors
            key = getattr(block, "key", "")
            prev = first.get(key.lower()) if isinstance(key, str) else None
            out.problems.append(failed_block_problem(block, doc.path, prev[1] if prev else None))
    return records, out


_LABEL_RE = re.compile(r"\s*@\s*\w+\s*[{(]\s*([^\s,{}()=\"]++)(?!\s*=)")


def failed_block_problem(
    block: ParsingFailedBlock, path: str, first_line: int | None = None
) -> Problem:
    """The problem a block bibtexparser could not take as an entry stands for.

    The one translation of bibtexparser's failed blocks, for ``validate`` and for ``add``'s
    BibTeX sources: a duplicate citation key (``key.duplicate``; ``first_line`` is where the
    key was first defined, if known), a field given twice (``field.duplicate``; ``validate``
    instead checks such an entry and reports each repeated field on its line), or a syntax
    error (``syntax``, with bibtexparser's reason on one line and the entry's key when its
    head can be read).
    """
    line = (block.start_line or 0) + 1
    if isinstance(block, DuplicateBlockKeyBlock):
        where = f" (first defined on line {first_line})" if first_line else ""
        message = f"duplicate citation key {block.key!r}{where}"
        return Problem(path, line, block.key, "", message, code="key.duplicate")
    if isinstance(block, DuplicateFieldKeyBlock):
        entry = block.ignore_error_block
        key = entry.key if isinstance(entry, Entry) else ""
        names = ", ".join(sorted(block.duplicate_keys))
        message = f"field(s) {names} appear more than once in the entry"
        return Problem(path, line, key, "", message, code="field.duplicate")
    error = getattr(block, "error", None)
    reason = getattr(error, "abort_reason", None) or str(error or "entry could not be read")
    label = _LABEL_RE.match(block.raw or "")
    key = label.group(1) if label else ""
    message = f"BibTeX syntax error: {' '.join(reason.split())}"
    if _BACKSLASH_BEFORE_END.search(block.raw or ""):
        message += f"; perhaps {TRAILING_BACKSLASH}"
    return Problem(path, line, key, "", message, code="syntax")


#: A value ending in an escaped backslash (``{Line\\}``), which bibtexparser misreads.
_BACKSLASH_BEFORE_END = re.compile(r"(?<!\\)(?:\\\\)+\}")


def _check_duplicate_dois(records: list[StudyRecord], out: _Collector) -> None:
    seen: dict[str, StudyRecord] = {}
    for rec in records:
        doi = rec.values.get("doi")
        if not doi:
            continue
        if doi in seen:
            first = seen[doi]
            out.add(
                rec.field_lines.get("doi", rec.line),
                rec.key,
                "doi",
                f"DOI {doi} is also on entry {first.key!r} (line {first.line}); "
                "the same study is entered twice",
                code="doi.duplicate",
            )
        else:
            seen[doi] = rec


#: What no ``.bib`` may hold: a NUL byte, and a lone surrogate (U+D800-U+DFFF), which is no
#: character and cannot be written as UTF-8. A file read from disk never holds one (it is
#: decoded strictly); an edit can bring one in: a byte that is not UTF-8 in a command-line
#: argument (Python decodes those with ``surrogateescape``), a ``\ud800`` escape in JSON.
_UNWRITABLE = re.compile("[\x00\ud800-\udfff]")


def _check_key_characters(key: str, line: int, out: _Collector) -> None:
    """Warn of a citation key holding characters that show as nothing or as something else:
    a zero-width or no-break space, a direction override (U+202E turns what follows around on
    screen), a control character. A key typed by hand in a ``\\cite`` will not match it.
    (NUL bytes are ``text.nul`` errors.)"""
    hidden = sorted({c for c in key if not c.isprintable() and c != "\x00"})
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'CONTROL')}" for c in hidden)
    message = f"the citation key holds {names}, which no one can see or type"
    allowed = "letters, digits and visible punctuation"
    out.add(line, key, "", message, allowed, "warning", code="key.invisible")


def _check_unwritable(doc: BibDocument, out: _Collector) -> None:
    """Report every line holding a NUL byte or a lone surrogate, with the entry and field.

    bibtexparser keeps NUL bytes as ordinary characters, but no TeX tool accepts them, and a
    NUL at the start makes many tools take the file for binary. A lone surrogate cannot be
    written at all: an edit bringing one in is refused with this error, not a traceback.
    """
    spans = sorted(
        (span, block) for block in doc.library.blocks if (span := doc.span(block)) is not None
    )
    starts = [span[0] for span, _ in spans]
    text = doc.text
    reported: set[tuple[int, str]] = set()  # (line, code): each once per line
    for found in _UNWRITABLE.finditer(text):
        pos = found.start()
        line = text.count("\n", 0, pos) + 1
        code = "text.nul" if found.group() == "\x00" else "text.surrogate"
        if (line, code) in reported:
            continue
        reported.add((line, code))
        key, field_name = "", ""
        where = "at the start of the file" if not text[:pos].strip() else "outside any entry"
        index = bisect.bisect_right(starts, pos) - 1
        if index >= 0 and spans[index][0][0] <= pos < spans[index][0][1]:
            (start, _), block = spans[index]
            entry = getattr(block, "ignore_error_block", block)
            if isinstance(entry, Entry):
                key, field_name, where = _place(text[start : spans[index][0][1]], pos - start)
                key = key or entry.key
            elif not text[:pos].strip():
                where = "at the start of the file"
        what = (
            "NUL byte (\\x00)"
            if code == "text.nul"
            else f"U+{ord(found.group()):04X}, a lone surrogate (no character: a byte that is "
            "not UTF-8 on the command line, or a lone \\u escape in JSON),"
        )
        out.add(line, key, field_name, f"{what} {where}; remove it", code=code)


def _place(raw: str, offset: int) -> tuple[str, str, str]:
    """``(key, field, where)`` of the character at ``offset`` in an entry's raw text."""
    try:
        spans = scan_fields(raw)
    except EditError:
        spans = []
    for span in spans:
        if span.key_start <= offset < span.comma_end:
            inside = "name" if offset < span.value_start else "value"
            return "", span.key.lower(), f"in the field {inside}"
    head_end = spans[0].key_start if spans else raw.find(",")
    if 0 <= offset < head_end or head_end < 0:
        key_text = raw.split("{", 1)[-1].split(",", 1)[0].strip()
        return key_text, "", "in the citation key"
    return "", "", "in the entry"
