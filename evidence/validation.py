"""Check a parsed ``.bib`` file against BibTeX rules and the outcome schema.

One pass over the entries turns each into a typed :class:`StudyRecord` (what the tables are
built from) and collects every :class:`~evidence.errors.Problem` on the way, so all problems
are reported at once, each with file, line, key and field.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bibtexparser.model import (
    DuplicateBlockKeyBlock,
    DuplicateFieldKeyBlock,
    Entry,
    ParsingFailedBlock,
)

from evidence.bib import BibDocument
from evidence.errors import Problem
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.rob import (
    NO_INFORMATION,
    OVERALL,
    REVIEW_DESIGNS,
    ROB2,
    ROB2_SEVERAL,
    TOOLS,
    Assessment,
    assess,
    expected_tools,
    judgement_range,
)
from evidence.schema import (
    DOI_PATTERN,
    DOI_PREFIX,
    REQUIRED_FIELDS,
    ROB_SPECS,
    coerce,
    did_you_mean,
    parse_outcome_rows,
)

__all__ = ["OutcomeRecord", "RobRecord", "StudyRecord", "check", "evaluate_expression"]

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
class StudyRecord:
    """One entry: its BibTeX values (text) and typed outcome-schema values."""

    key: str
    entry_type: str
    line: int
    bib: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    field_lines: dict[str, int] = field(default_factory=dict)
    outcomes: list[OutcomeRecord] = field(default_factory=list)
    rob: list[RobRecord] = field(default_factory=list)

    def assessments(self) -> list[Assessment]:
        """Risk-of-bias assessments of the study and of its outcome rows with their own
        judgements (:func:`evidence.rob.assess`); none without a tool (``rob_tool`` absent
        or ``none``)."""
        tool = self.values.get("rob_tool")
        if tool not in TOOLS:
            return []
        return assess(self.key, tool, [{**r.values, "line": r.line} for r in self.rob])


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


def _check_outcomes(rec: StudyRecord, raw: str, out: _Collector) -> None:
    base_line = rec.field_lines["outcomes"]
    arms = rec.values.get("arms")
    for row in parse_outcome_rows(raw):
        line = base_line + row.line_offset
        for message in row.problems:
            out.add(line, rec.key, "outcomes", message)
        values: dict[str, Any] = {}
        specs = out.outcome_specs
        for name, text in row.pairs.items():
            spec = specs.get(name)
            label = f"outcomes.{name}"
            if spec is None:
                hint = did_you_mean(name, tuple(specs))
                extra = f"; did you mean {hint!r}?" if hint else ""
                out.add(line, rec.key, label, f"unknown outcome key{extra}", ", ".join(specs))
                continue
            value, message = coerce(spec, text)
            if message:
                out.add(line, rec.key, label, message, spec.allowed)
            else:
                values[name] = value
                if name == "time":
                    values["time_text"] = " ".join(text.split())
        record = OutcomeRecord(line, values)
        for rule in OUTCOME_RULES:
            rule(rec, record, row.pairs, arms, out)
        rec.outcomes.append(record)


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
        for message in row.problems:
            out.add(line, rec.key, "rob", message)
        values: dict[str, Any] = {}
        for name, text in row.pairs.items():
            spec = specs.get(name)
            label = f"rob.{name}"
            if spec is None:
                hint = did_you_mean(name, tuple(specs))
                extra = f"; did you mean {hint!r}?" if hint else ""
                out.add(line, rec.key, label, f"unknown rob key{extra}", ", ".join(specs))
                continue
            value, message = coerce(spec, text)
            if message:
                if tool is not None and name in ("domain", "judgement"):
                    hint = message.partition(";")[2]
                    message = f"{text.strip()!r} is not a {tool.title} {name}" + (
                        f";{hint}" if hint else ""
                    )
                out.add(line, rec.key, label, message, spec.allowed)
            else:
                values[name] = value
        for name in ("domain", "judgement"):
            if name not in row.pairs:
                out.add(line, rec.key, "rob", f"rob row has no {name}", specs[name].allowed)
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
        out.add(row.line, rec.key, "outcomes.arm", "outcome row has no arm")
        return
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


OUTCOME_RULES: tuple[Callable[..., None], ...] = (
    _rule_arm_declared,
    _rule_responders_need_n,
    _rule_percent_agrees,
    _rule_n_within_enrolled,
)


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
        )
    elif "rob_tool" not in rec.bib:
        out.add(_rob_line(rec), rec.key, "rob_tool", "rob rows need a rob_tool", ", ".join(TOOLS))


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
    out.add(line, rec.key, "rob_tool", message, ", ".join(fits), "error" if review else "warning")


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
        )
    elif result.overall.source == "algorithm" and not result.missing:
        out.add(
            _rob_line(rec),
            rec.key,
            "rob",
            f"no overall judgement; the {tool.title} algorithm gives {result.algorithm!r} "
            f"(add domain=overall; judgement={result.algorithm})",
            severity="warning",
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
    out.add(line, rec.key, "rob.judgement", message, severity="warning")


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
    for name, check_rows in (("outcomes", _check_outcomes), ("rob", _check_rob)):
        if name in bib:
            # rows are counted from the line of the opening brace, which may follow "="
            m = _ROWS_OPEN_RE[name].search(entry.raw or "")
            if m is not None:
                lines[name] += m.group(1).count("\n")
            check_rows(rec, bib[name], out)
    _check_rob_assessments(rec, out)
    return rec


_ROWS_OPEN_RE = {
    name: re.compile(rf"(?i)(?<![\w:.+-]){name}\s*=(\s*)[{{\"]") for name in ("outcomes", "rob")
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
