"""Check a parsed ``.bib`` file against BibTeX rules and the outcome schema.

One pass over the entries turns each into a typed :class:`StudyRecord` (what the tables are
built from) and collects every :class:`~evidence.errors.Problem` on the way, so all problems
are reported at once, each with file, line, key and field.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from evidence.bib import BibDocument
from evidence.errors import Problem
from evidence.measures import CHANGE_MEASURES, RATIO_MEASURES
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.schema import (
    DOI_PATTERN,
    DOI_PREFIX,
    REQUIRED_FIELDS,
    coerce,
    did_you_mean,
    parse_outcome_rows,
)

__all__ = ["OutcomeRecord", "StudyRecord", "check", "evaluate_expression"]

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
class StudyRecord:
    """One entry: its BibTeX values (text), typed outcome-schema values, and the typed rows of
    its ``outcomes`` and ``effects`` fields."""

    key: str
    entry_type: str
    line: int
    bib: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)
    outcomes: list[OutcomeRecord] = field(default_factory=list)
    effects: list[OutcomeRecord] = field(default_factory=list)


_TOKEN_RE = re.compile(r"\d+|[A-Za-z_][\w:.+-]*")
_FIELD_NAME_RE = re.compile(r"[A-Za-z_][\w:.+-]*")


def evaluate_expression(value: str, strings: dict[str, str]) -> tuple[str, str]:
    """Value of an unenclosed BibTeX expression (macros and ``#`` concatenation), and a
    problem description (``""`` if none): an undefined macro, or text that is no BibTeX
    expression at all (typically two fields run together by a missing comma)."""
    out = []
    problem = ""
    for token in _split_concat(value):
        token = token.strip()
        quoted = len(token) >= 2 and token[0] == '"' and token[-1] == '"'
        braced = len(token) >= 2 and token[0] == "{" and token[-1] == "}"
        if quoted or (braced and _balanced(token[1:-1])):
            out.append(token[1:-1])
        elif token.isdigit():
            out.append(token)
        elif _TOKEN_RE.fullmatch(token):
            low = token.lower()
            if low not in strings and low not in _MONTHS:
                problem = problem or f"undefined macro {token!r} (no @string defines it)"
            out.append(strings.get(low, _MONTHS.get(low, token)))
        else:
            return value, "malformed value (a missing comma between two fields?)"
    return "".join(out), problem


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == "{") - (ch == "}")
        if depth < 0:
            return False
    return depth == 0


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
        self.problems: list[Problem] = []

    def add(
        self,
        line: int,
        key: str,
        field_name: str,
        message: str,
        allowed: str = "",
        severity: str = "error",
    ) -> None:
        self.problems.append(Problem(self.path, line, key, field_name, message, allowed, severity))


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
        out.add(line, rec.key, name, f"{text!r} is not a year", f"1900..{last}")
        return
    if not 1900 <= year <= last:
        out.add(line, rec.key, name, f"year {year} out of range", f"1900..{last}")
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
        out.add(line, rec.key, "doi", f"malformed DOI {doi!r}", "10.NNNN/suffix")
        return
    if prefix:
        message = f"write the bare DOI {bare!r}, without {prefix!r}"
        out.add(line, rec.key, "doi", message, severity="warning")
    rec.values["doi"] = bare.lower()


def _check_rows(rec: StudyRecord, name: str, raw: str, out: _Collector) -> None:
    """Type every row of the multi-row field ``name`` (``outcomes`` or ``effects``) and run
    its cross-field rules."""
    base_line = rec.field_lines[name]
    arms = rec.values.get("arms")
    specs, rules, target, what = (
        (out.outcome_specs, OUTCOME_RULES, rec.outcomes, "outcome")
        if name == "outcomes"
        else (out.effect_specs, EFFECT_RULES, rec.effects, "effect")
    )
    for row in parse_outcome_rows(raw):
        line = base_line + row.line_offset
        for message in row.problems:
            out.add(line, rec.key, name, message)
        values: dict[str, Any] = {}
        for key, text in row.pairs.items():
            spec = specs.get(key)
            label = f"{name}.{key}"
            if spec is None:
                hint = did_you_mean(key, tuple(specs))
                extra = f"; did you mean {hint!r}?" if hint else ""
                out.add(line, rec.key, label, f"unknown {what} key{extra}", ", ".join(specs))
                continue
            value, message = coerce(spec, text)
            if message:
                out.add(line, rec.key, label, message, spec.allowed)
            else:
                values[key] = value
                if key == "time":
                    values["time_text"] = " ".join(text.split())
        for spec in specs.values():
            if spec.required and spec.name not in row.pairs:
                out.add(line, rec.key, f"{name}.{spec.name}", f"{what} row has no {spec.name}")
        record = OutcomeRecord(line, values)
        for rule in rules:
            rule(rec, record, row.pairs, arms, out)
        target.append(record)


# ----------------------------------------------------------------------- cross-field rules
# Each rule is one named function; the tuples below are the whole list, read in order.


def _rule_arm_declared(rec, row, pairs, arms, out) -> None:
    """Every row names an arm, and it is one of the entry's ``arms``."""
    arm = pairs.get("arm")
    if not arm:
        return  # reported as a missing required key
    if arms is None:
        if "arms" not in rec.bib:
            out.add(row.line, rec.key, "outcomes.arm", "outcome rows need an `arms` field")
        return
    if arm not in arms:
        out.add(
            row.line,
            rec.key,
            "outcomes.arm",
            f"unknown arm {arm!r}",
            ", ".join(arms),
        )
        return
    agent = out.protocol.agent_of(arm)
    row.values["agent"] = agent
    row.values["role"] = out.protocol.role(agent)


def _rule_responders_need_n(rec, row, pairs, arms, out) -> None:
    """``responders`` needs ``n`` and lies in 0..n."""
    r, n = row.values.get("responders"), row.values.get("n")
    if r is not None and n is None and "n" not in pairs:
        out.add(row.line, rec.key, "outcomes.responders", "responders given without n")
    if r is not None and n is not None and r > n:
        del row.values["responders"]
        out.add(
            row.line,
            rec.key,
            "outcomes.responders",
            f"responders={r} exceeds n={n}",
            "0..n",
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
        )
        return
    if not continuous:
        row.values["type"] = "binary" if binary else None
        return
    row.values["type"] = "continuous"
    n = v.get("n")
    if "n" not in pairs:
        out.add(row.line, rec.key, "outcomes.n", "a continuous row needs n")
    elif n is not None and n < 2:
        out.add(row.line, rec.key, "outcomes.n", f"n={n}: an SD needs n >= 2", "integer >= 2")
    if "mean" in pairs:
        if not any(k in pairs for k in ("sd", "se", "ci")):
            out.add(
                row.line, rec.key, "outcomes.mean", "a mean needs its sd, se or ci", "sd, se, ci"
            )
        mean, ci = v.get("mean"), v.get("ci")
        if mean is not None and ci is not None and not ci[0] <= mean <= ci[1]:
            out.add(
                row.line,
                rec.key,
                "outcomes.ci",
                f"ci {ci[0]:g}..{ci[1]:g} does not contain the mean {mean:g}",
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
            )
        order = [v.get(k) for k in ("min", "q1", "median", "q3", "max") if v.get(k) is not None]
        if order != sorted(order):
            out.add(
                row.line,
                rec.key,
                "outcomes.median",
                "min <= q1 <= median <= q3 <= max does not hold",
            )
    else:
        out.add(
            row.line,
            rec.key,
            f"outcomes.{continuous[0]}",
            "a continuous row needs a mean (with sd, se or ci) or a median",
            "mean, median",
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
        )
    p = v.get("p")
    if "ci" not in pairs and "se" not in pairs and p is not None and not 0 < p < 1:
        out.add(
            row.line,
            rec.key,
            "effects.p",
            f"p={p:g} cannot give a standard error (only a p strictly between 0 and 1 can)",
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
                )
                return
    if estimate is not None and ci is not None and not ci[0] <= estimate <= ci[1]:
        out.add(
            row.line,
            rec.key,
            "effects.ci",
            f"ci {ci[0]:g}..{ci[1]:g} does not contain the estimate {estimate:g}",
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
                    row.line, rec.key, f"effects.{side}", f"unknown arm {label!r}", ", ".join(arms)
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
        )


EFFECT_RULES: tuple[Callable[..., None], ...] = (_rule_effect_interval, _rule_effect_arms)


def _rule_analysed_within_enrolled(rec: StudyRecord, out: _Collector) -> None:
    """``n_analysed`` is at most ``n_enrolled``."""
    a, e = rec.values.get("n_analysed"), rec.values.get("n_enrolled")
    if a is not None and e is not None and a > e:
        line = rec.field_lines.get("n_analysed", rec.line)
        out.add(line, rec.key, "n_analysed", f"n_analysed={a} exceeds n_enrolled={e}", f"0..{e}")


STUDY_RULES: tuple[Callable[[StudyRecord, _Collector], None], ...] = (
    _check_required,
    _check_year,
    _check_doi,
    _rule_analysed_within_enrolled,
)


# --------------------------------------------------------------------------- the pass


def _record(
    entry: Entry, strings: dict[str, str], out: _Collector, raw: bool = False
) -> StudyRecord:
    rec = StudyRecord(entry.key, entry.entry_type.lower(), (entry.start_line or 0) + 1)
    bib, lines = rec.bib, rec.field_lines
    typed_fields = []
    for f in entry.fields:
        name = f.key.lower()
        value = f.value
        line = f.start_line + 1
        if not _FIELD_NAME_RE.fullmatch(f.key):
            shown = " ".join(f.key.split())
            out.add(
                line,
                rec.key,
                shown,
                "malformed field name (a % comment or stray text inside an entry is not "
                "BibTeX; comments go between entries)",
            )
            continue
        if name in bib:
            first = lines[name]
            message = f"field {name!r} appears more than once in the entry (first on line {first})"
            out.add(line, rec.key, f.key, message)
        problem = ""
        if raw and value[:1] in ("{", '"'):
            value = _strip_enclosing(value)
        elif raw or f.enclosing == "no-enclosing":
            value, problem = evaluate_expression(value, strings)
        if problem:
            severity = "warning" if problem.startswith("undefined macro") else "error"
            out.add(line, rec.key, name, problem, severity=severity)
            if severity == "error":
                continue
        bib[name] = value
        lines[name] = line
        if name in out.study_specs:
            typed_fields.append(name)
    for name in typed_fields:
        spec = out.study_specs[name]
        if spec.kind == "rows":
            continue
        typed, message = coerce(spec, bib[name])
        if message:
            out.add(lines[name], rec.key, name, message, spec.allowed)
        else:
            rec.values[name] = typed
    for rule in STUDY_RULES:
        rule(rec, out)
    for name in ("outcomes", "effects"):
        if name in bib:
            # rows are counted from the line of the opening brace, which may follow the "="
            m = _ROWS_OPEN_RE[name].search(entry.raw or "")
            if m is not None:
                lines[name] += m.group(1).count("\n")
            _check_rows(rec, name, bib[name], out)
    return rec


_ROWS_OPEN_RE = {
    name: re.compile(rf"(?i)\b{name}\s*=(\s*)[{{\"]") for name in ("outcomes", "effects")
}


def check(
    doc: BibDocument, protocol: Protocol = NO_PROTOCOL
) -> tuple[list[StudyRecord], list[Problem]]:
    """Typed records of every entry and every problem in ``doc``, in file order, with the
    vocabularies of ``protocol`` (default: none declared, so any label is accepted)."""
    out = _Collector(doc.path, protocol)
    strings = {s.key.lower(): str(s.value) for s in doc.library.strings}
    records: list[StudyRecord] = []
    first_line: dict[str, int] = {}
    for block in doc.library.blocks:
        if isinstance(block, Entry):
            rec = _record(block, strings, out)
            first_line[block.key] = rec.line
            records.append(rec)
        elif isinstance(block, DuplicateBlockKeyBlock):
            line = (block.start_line or 0) + 1
            prev = first_line.get(block.key)
            where = f" (first defined on line {prev})" if prev else ""
            out.add(line, block.key, "", f"duplicate citation key {block.key!r}{where}")
        elif isinstance(block, DuplicateFieldKeyBlock):
            # _record reports each repeated field (case-insensitively, as BibTeX compares)
            entry = block.ignore_error_block
            if isinstance(entry, Entry):
                rec = _record(entry, strings, out, raw=True)
                first_line[entry.key] = rec.line
                records.append(rec)
        elif isinstance(block, ParsingFailedBlock):
            line = (block.start_line or 0) + 1
            reason = getattr(block.error, "abort_reason", None) or str(block.error)
            raw = (block.raw or "").lstrip()
            label = raw.split(",", 1)[0].split("{", 1)[-1].strip() if raw else ""
            label = label.split()[0] if label else ""
            key = label if label and "=" not in label and "@" not in label else ""
            out.add(line, key, "", f"BibTeX syntax error: {' '.join(reason.split())}")
    _check_duplicate_dois(records, out)
    out.problems.sort(key=lambda p: (p.line, p.severity != "error"))
    return records, out.problems


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
            )
        else:
            seen[doi] = rec
