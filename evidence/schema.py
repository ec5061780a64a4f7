"""The outcome fields of ``studies.bib``, declared once as data.

:data:`STUDY_FIELDS` are BibTeX fields of an entry; :data:`OUTCOME_FIELDS` are the keys of the
rows of its multi-row ``outcomes`` field. Each :class:`FieldSpec` says the field's type, allowed
values or range, unit and meaning. This one declaration drives validation
(:func:`coerce`), the DataFrame dtypes (:func:`dtype`) and the data dictionary
(:func:`data_dictionary`, shown in the README and the workbook).

Syntax of ``outcomes``: one row per line, ``key=value`` pairs separated by ``;``; a value
containing ``;`` is wrapped in ``{...}``::

    outcomes = {
      arm=ketamine; measure=Y-BOCS; response={>=35% reduction}; responders=4; n=8; time=1 week
      arm=placebo; measure=Y-BOCS; response={>=35% reduction}; responders=0; n=7; time=1 week
    },
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "OUTCOME_FIELDS",
    "STUDY_FIELDS",
    "FieldSpec",
    "OutcomeRow",
    "arm_agent",
    "bare_doi",
    "coerce",
    "data_dictionary",
    "did_you_mean",
    "dtype",
    "parse_outcome_rows",
    "parse_timepoint",
]


@dataclass(frozen=True)
class FieldSpec:
    """Declaration of one outcome-schema field.

    ``kind`` is one of ``text``, ``choice`` (one value of ``choices``), ``choices`` (a
    ``;``-separated list of them), ``int``, ``float``, ``bool`` (``yes``/``no``), ``timepoint``
    (normalised to hours), ``pattern`` (each ``;``-separated item matches ``pattern``),
    ``arms`` (labels ``AGENT`` or ``AGENT-QUALIFIER``) and ``rows`` (the ``outcomes`` field).
    ``synonyms`` map common spellings to a canonical choice: they feed did-you-mean hints only,
    so the file stays in one vocabulary.
    """

    name: str
    kind: str
    description: str
    choices: tuple[str, ...] = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    pattern: str = ""
    required: bool = False
    example: str = ""

    @property
    def allowed(self) -> str:
        """Human-readable statement of the allowed values."""
        if self.kind in ("choice", "choices"):
            values = ", ".join(self.choices)
            return values if self.kind == "choice" else f"';'-separated list of {values}"
        if self.kind == "arms":
            return "';'-separated labels AGENT or AGENT-QUALIFIER, AGENT one of " + ", ".join(
                self.choices
            )
        if self.kind in ("int", "float"):
            word = "integer" if self.kind == "int" else "number"
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            if lo and hi:
                return f"{word} {lo}..{hi}"
            if lo:
                return f"{word} >= {lo}"
            return word
        if self.kind == "bool":
            return "yes, no"
        if self.kind == "timepoint":
            return "e.g. 90 min, 3 h, 24 h, 1 week, 2 weeks, day 28, week 2, 1-3 days"
        if self.kind == "pattern":
            return self.example
        if self.kind == "rows":
            return "one row per line of key=value pairs separated by ';'"
        return "free text"


AGENTS = ("ketamine", "esketamine", "arketamine", "placebo", "midazolam", "active-control")
CONTROL_AGENTS = ("placebo", "midazolam", "active-control")

STUDY_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "design",
        "choice",
        "Study design.",
        choices=(
            "rct-parallel",
            "rct-crossover",
            "single-arm",
            "ascending-dose",
            "maintenance",
            "case-series",
            "cohort",
            "systematic-review",
            "meta-analysis",
            "narrative-review",
        ),
        synonyms={
            "rct": "rct-parallel",
            "parallel": "rct-parallel",
            "randomised": "rct-parallel",
            "randomized": "rct-parallel",
            "crossover": "rct-crossover",
            "cross-over": "rct-crossover",
            "open-label": "single-arm",
            "open-label-single-arm": "single-arm",
            "uncontrolled": "single-arm",
            "dose-escalation": "ascending-dose",
            "review": "systematic-review",
            "meta analysis": "meta-analysis",
            "metaanalysis": "meta-analysis",
        },
    ),
    FieldSpec(
        "blinding",
        "choice",
        "Masking of participants and raters.",
        choices=("open-label", "single-blind", "double-blind"),
        synonyms={"open": "open-label", "blinded": "double-blind", "double blind": "double-blind"},
    ),
    FieldSpec(
        "conditions",
        "choices",
        "Diagnoses of the population (GAD generalised anxiety, SAD social anxiety, OCD, PTSD, "
        "PD panic disorder, TRD treatment-resistant depression, MDD; anxiety / depression "
        "when unspecified or mixed).",
        choices=("GAD", "SAD", "OCD", "PTSD", "PD", "TRD", "MDD", "anxiety", "depression"),
        synonyms={
            "generalized anxiety disorder": "GAD",
            "generalised anxiety disorder": "GAD",
            "social anxiety disorder": "SAD",
            "socialanxiety": "SAD",
            "social anxiety": "SAD",
            "panic": "PD",
            "panic disorder": "PD",
            "obsessive-compulsive disorder": "OCD",
            "posttraumatic stress disorder": "PTSD",
            "post-traumatic stress disorder": "PTSD",
            "major depression": "MDD",
            "treatment-resistant depression": "TRD",
            "mixed": "anxiety",
        },
        example="GAD; SAD",
    ),
    FieldSpec("population", "text", "Who was studied.", example="adults with DSM-5 SAD"),
    FieldSpec(
        "route",
        "choices",
        "Route(s) of ketamine administration.",
        choices=("IV", "IM", "SC", "oral", "sublingual", "intranasal"),
        synonyms={
            "intravenous": "IV",
            "iv infusion": "IV",
            "infusion": "IV",
            "intramuscular": "IM",
            "subcutaneous": "SC",
            "sc injection": "SC",
            "po": "oral",
            "by mouth": "oral",
            "tablet": "oral",
            "sl": "sublingual",
            "nasal": "intranasal",
            "in": "intranasal",
        },
    ),
    FieldSpec("dose", "text", "Dose and schedule as reported.", example="0.5 mg/kg over 40 min"),
    FieldSpec("comparator", "text", "Control condition as reported.", example="saline placebo"),
    FieldSpec(
        "arms",
        "arms",
        "The study's arms; outcome rows refer to these labels.",
        choices=AGENTS,
        example="ketamine; placebo",
    ),
    FieldSpec("n_enrolled", "int", "Participants enrolled.", minimum=0, unit="participants"),
    FieldSpec(
        "n_analysed",
        "int",
        "Participants analysed (at most n_enrolled).",
        minimum=0,
        unit="participants",
    ),
    FieldSpec(
        "k_studies", "int", "Studies included (reviews, meta-analyses).", minimum=1, unit="studies"
    ),
    FieldSpec(
        "registry",
        "pattern",
        "Trial registration id(s), ';'-separated.",
        pattern=r"NCT\d{8}|ACTRN\d{14}|ISRCTN\d{8}|EUCTR\d{4}-\d{6}-\d{2}|\d{4}-\d{6}-\d{2}"
        r"|DRKS\d{8}|ChiCTR[\w-]+|IRCT\w+|CTRI/[\d/]+",
        example="NCT01349231, ACTRN12615000617561, ISRCTN12345678, EudraCT 2015-001234-56",
    ),
    FieldSpec(
        "verification",
        "choice",
        "How far the citation and outcome numbers were checked against primary sources.",
        choices=("verified", "partly", "unverified"),
    ),
    FieldSpec(
        "unverified",
        "text",
        "Facts that could not be verified and were therefore left out (';'-separated).",
        example="pmid; response definition",
    ),
    FieldSpec(
        "data_source",
        "text",
        "Where the outcome data came from.",
        example="PubMed abstract (PMID 28441895)",
    ),
    FieldSpec(
        "outcomes",
        "rows",
        "Outcome rows, one per line (see the outcome keys below).",
    ),
)

OUTCOME_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "arm",
        "text",
        "Arm this row reports; one of the entry's arms.",
        required=True,
        example="ketamine",
    ),
    FieldSpec(
        "domain",
        "choice",
        "What the response is a response of.",
        choices=("anxiety", "obsessive-compulsive", "ptsd", "depression", "mood", "functioning"),
        synonyms={"ocd": "obsessive-compulsive", "obsessions": "obsessive-compulsive"},
    ),
    FieldSpec(
        "measure",
        "choice",
        "Rating scale the response is defined on.",
        choices=(
            "HAM-A",
            "LSAS",
            "VAS-A",
            "OCD-VAS",
            "Y-BOCS",
            "CAPS-5",
            "PCL-5",
            "IES-R",
            "FQ",
            "HADS",
            "HADS-A",
            "HADS-D",
            "MADRS",
            "CGI",
        ),
        synonyms={
            "hama": "HAM-A",
            "ham a": "HAM-A",
            "vas": "VAS-A",
            "vas-anxiety": "VAS-A",
            "ybocs": "Y-BOCS",
            "caps": "CAPS-5",
            "caps5": "CAPS-5",
            "pcl": "PCL-5",
            "iesr": "IES-R",
            "fear questionnaire": "FQ",
        },
    ),
    FieldSpec(
        "response",
        "text",
        "The paper's definition of response.",
        example=">=35% Y-BOCS reduction",
    ),
    FieldSpec(
        "responders",
        "int",
        "Responders in this arm (needs n; at most n).",
        minimum=0,
        unit="participants",
    ),
    FieldSpec(
        "n", "int", "Participants in this arm for this outcome.", minimum=0, unit="participants"
    ),
    FieldSpec(
        "percent",
        "float",
        "Reported response percentage (alone where counts are not printed).",
        minimum=0,
        maximum=100,
        unit="%",
    ),
    FieldSpec(
        "time",
        "timepoint",
        "When response was assessed, after dosing; normalised to hours (a range to its end).",
        unit="hours",
        example="1 week",
    ),
    FieldSpec(
        "analysis",
        "choice",
        "Analysis population.",
        choices=("itt", "completers", "first-phase", "per-protocol"),
        synonyms={"intention-to-treat": "itt", "completer": "completers", "pp": "per-protocol"},
    ),
    FieldSpec(
        "derived",
        "bool",
        "yes when responders / n / percent were derived by arithmetic, not printed.",
    ),
    FieldSpec("note", "text", "Anything else about this row."),
)

STUDY_SPECS = {s.name: s for s in STUDY_FIELDS}
OUTCOME_SPECS = {s.name: s for s in OUTCOME_FIELDS}

#: Fields BibTeX styles require per entry type (any one of a ``|`` group suffices).
#: From the BibTeX documentation (Patashnik, *BibTeXing*, 1988), with biblatex's
#: ``date``/``journaltitle`` accepted as alternatives.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "article": ("author", "title", "journal|journaltitle", "year|date"),
    "book": ("author|editor", "title", "publisher", "year|date"),
    "inbook": ("author|editor", "title", "publisher", "year|date"),
    "incollection": ("author", "title", "booktitle", "year|date"),
    "inproceedings": ("author", "title", "booktitle", "year|date"),
    "conference": ("author", "title", "booktitle", "year|date"),
    "phdthesis": ("author", "title", "school|institution", "year|date"),
    "mastersthesis": ("author", "title", "school|institution", "year|date"),
    "techreport": ("author", "title", "institution", "year|date"),
    "manual": ("title",),
    "unpublished": ("author", "title", "note"),
    "online": ("title",),
}

DOI_PATTERN = re.compile(r"10\.\d{4,9}/\S+")
#: Resolver and scheme prefixes people paste before a DOI.
DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.|www\.)?doi\.org/|doi:)", re.I)


def bare_doi(value: str) -> str:
    """A DOI without whitespace and resolver prefixes (``https://doi.org/``, ``doi:``…); case
    is kept.

    >>> bare_doi(" https://doi.org/10.1177/0269881117705089 ")
    '10.1177/0269881117705089'
    """
    doi = "".join(value.split())
    while True:
        stripped = DOI_PREFIX.sub("", doi)
        if stripped == doi:
            return doi
        doi = stripped


# --------------------------------------------------------------------------- coercion


def _suggest(value: str, spec: FieldSpec) -> str:
    """A did-you-mean hint for an unknown vocabulary value, or ``""``."""
    low = value.lower().strip()
    if low in spec.synonyms:
        return spec.synonyms[low]
    lowered = {c.lower(): c for c in spec.choices}
    if low in lowered:
        return lowered[low]
    options = list(lowered) + list(spec.synonyms)
    close = difflib.get_close_matches(low, options, n=1, cutoff=0.6)
    if not close:
        return ""
    hit = close[0]
    return lowered.get(hit) or spec.synonyms[hit]


_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)")


def arm_agent(label: str) -> str | None:
    """The agent of an arm label (``ketamine-0.5`` → ``ketamine``, ``active-control-low`` →
    ``active-control``), or ``None`` if it does not start with a known agent."""
    for agent in sorted(AGENTS, key=len, reverse=True):
        if label == agent or label.startswith(agent + "-"):
            return agent
    return None


def did_you_mean(value: str, options: tuple[str, ...]) -> str:
    """The option closest to ``value`` (difflib ratio >= 0.6), or ``""``."""
    close = difflib.get_close_matches(value.lower(), [o.lower() for o in options], n=1)
    return next((o for o in options if close and o.lower() == close[0]), "")


def split_list(value: str) -> list[str]:
    """Split a ``;``-separated list (``,`` accepted when there is no ``;``)."""
    sep = ";" if ";" in value else ","
    return [item.strip() for item in value.split(sep) if item.strip()]


def _choice(value: str, spec: FieldSpec) -> tuple[Any, str | None]:
    if value in spec.choices:
        return value, None
    hint = _suggest(value, spec)
    message = f"unknown value {value!r}"
    if hint:
        message += f"; did you mean {hint!r}?"
    return None, message


_UNITS_H = {
    "min": 1 / 60,
    "mins": 1 / 60,
    "minute": 1 / 60,
    "minutes": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
    "wk": 168.0,
    "wks": 168.0,
    "week": 168.0,
    "weeks": 168.0,
    "mo": 720.0,
    "month": 720.0,
    "months": 720.0,
}
_NUM = r"\d+(?:\.\d+)?"
_TIME_AMOUNT = re.compile(rf"(?:{_NUM}\s*[-–]\s*)?({_NUM})\s*([a-z]+)")
_TIME_ORDINAL = re.compile(rf"(day|week|month)\s+(?:{_NUM}\s*[-–]\s*)?({_NUM})")


def parse_timepoint(text: str) -> float | None:
    """Hours after dosing for a timepoint such as ``1 week``, ``day 28`` or ``1-3 days``.

    Units: min, h, day, week, month (30 days). A range normalises to its upper end.
    Returns ``None`` when the text is not a timepoint.

    >>> parse_timepoint("day 28"), parse_timepoint("90 min"), parse_timepoint("1-3 days")
    (672.0, 1.5, 72.0)
    """
    t = text.strip().lower()
    m = _TIME_AMOUNT.fullmatch(t)
    if m and m.group(2) in _UNITS_H:
        return float(m.group(1)) * _UNITS_H[m.group(2)]
    m = _TIME_ORDINAL.fullmatch(t)
    if m:
        return float(m.group(2)) * _UNITS_H[m.group(1)]
    return None


def coerce(spec: FieldSpec, value: str) -> tuple[Any, str | None]:
    """Convert the text of a field to its typed value.

    Returns ``(value, None)`` on success and ``(None, message)`` when the text is not allowed;
    the caller adds file, line, key and field (and ``spec.allowed``) to the message.
    """
    v = " ".join(value.split())
    kind = spec.kind
    if kind in ("text", "rows"):
        return v, None
    if kind == "choice":
        return _choice(v, spec)
    if kind == "choices":
        items, bad = [], []
        for item in split_list(v):
            got, msg = _choice(item, spec)
            (bad.append(msg) if msg else items.append(got))
        if bad:
            return None, "; ".join(bad)
        return items, None
    if kind == "arms":
        items = split_list(v)
        for item in items:
            agent = arm_agent(item)
            if agent is None:
                hint = _suggest(item.split("-", 1)[0], spec)
                extra = f"; did you mean {hint!r}?" if hint else ""
                return None, f"arm {item!r} does not start with a known agent{extra}"
        if len(set(items)) != len(items):
            return None, "an arm is listed twice"
        return items, None
    if kind == "pattern":
        items = split_list(v)
        for item in items:
            if not re.fullmatch(spec.pattern, item):
                return None, f"{item!r} is not a recognised id"
        return items, None
    if kind == "bool":
        low = v.lower()
        if low in ("yes", "true", "1"):
            return True, None
        if low in ("no", "false", "0"):
            return False, None
        return None, f"{v!r} is not yes or no"
    if kind == "timepoint":
        hours = parse_timepoint(v)
        if hours is None:
            return None, f"cannot read timepoint {v!r}"
        return hours, None
    if kind in ("int", "float"):
        text = v if kind == "int" else v.removesuffix("%").rstrip()
        if not (_INT_RE if kind == "int" else _FLOAT_RE).fullmatch(text):
            word = "an integer" if kind == "int" else "a number"
            return None, f"{v!r} is not {word}"
        number: float = int(text) if kind == "int" else float(text)
        if spec.minimum is not None and number < spec.minimum:
            return None, f"{v} is below the minimum {spec.minimum:g}"
        if spec.maximum is not None and number > spec.maximum:
            return None, f"{v} exceeds the maximum {spec.maximum:g}"
        return number, None
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover


def dtype(spec: FieldSpec) -> Any:
    """The pandas dtype of a field's column in the studies / outcomes table."""
    if spec.kind == "choice":
        import pandas as pd  # here, not at module level: validation never loads pandas

        return pd.CategoricalDtype(list(spec.choices))
    return {
        "int": "Int64",
        "float": "Float64",
        "bool": "boolean",
        "timepoint": "Float64",
    }.get(spec.kind, "string")


# --------------------------------------------------------------------------- outcome rows


@dataclass(frozen=True)
class OutcomeRow:
    """One parsed line of an ``outcomes`` field: its raw ``key -> text`` pairs."""

    line_offset: int  # lines after the ``outcomes =`` line
    pairs: dict[str, str]
    problems: tuple[str, ...] = ()


_PAIR_RE = re.compile(r"(?:[^;{}]+|\{[^{}]*\})+")
_NESTED_RE = re.compile(r"\{[^{}]*\{")


def _split_pairs(line: str) -> list[str]:
    if "{" not in line:
        return [p.strip() for p in line.split(";") if p.strip()]
    if not _NESTED_RE.search(line) and line.count("{") == line.count("}"):
        return [p.strip() for p in _PAIR_RE.findall(line) if p.strip()]
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(line):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            parts.append(line[start:i])
            start = i + 1
    parts.append(line[start:])
    return [p.strip() for p in parts if p.strip()]


def parse_outcome_rows(value: str) -> list[OutcomeRow]:
    """Split the text of an ``outcomes`` field into rows of ``key -> text`` pairs."""
    rows = []
    for offset, line in enumerate(value.split("\n")):
        if not line.strip():
            continue
        pairs: dict[str, str] = {}
        problems = []
        for part in _split_pairs(line.strip()):
            key, sep, text = part.partition("=")
            key = key.strip().lower()
            text = text.strip()
            if not sep or not key:
                problems.append(f"expected key=value, found {part!r}")
                continue
            if text.startswith("{") and text.endswith("}"):
                text = text[1:-1].strip()
            if key in pairs:
                problems.append(f"key {key!r} given twice in one row")
            pairs[key] = text
        rows.append(OutcomeRow(offset, pairs, tuple(problems)))
    return rows


def _format_pair_value(value: str) -> str:
    return "{" + value + "}" if ";" in value or value != value.strip() else value


def edit_outcome_row(text: str, row: int, key: str, value: str | None) -> str:
    """The ``outcomes`` field text with one key of one row set (``None`` removes it).

    ``row`` is 1-based, counting non-blank lines. Only that row's line changes: an existing
    ``key=value`` pair is replaced in place, a new one is appended to the line.

    Raises
    ------
    IndexError
        If there is no such row.
    """
    lines = text.split("\n")
    rows = [i for i, line in enumerate(lines) if line.strip()]
    if not 1 <= row <= len(rows):
        raise IndexError(f"no outcome row {row} (the entry has {len(rows)})")
    i = rows[row - 1]
    line = lines[i]
    cr = "\r" if line.endswith("\r") else ""
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    trailing = body.endswith(";")
    parts = _split_pairs(body)
    key = key.lower()
    found = False
    new_parts = []
    for part in parts:
        name = part.partition("=")[0].strip().lower()
        if name == key:
            found = True
            if value is not None:
                new_parts.append(f"{part.partition('=')[0]}={_format_pair_value(value)}")
            continue
        new_parts.append(part)
    if not found and value is not None:
        new_parts.append(f"{key}={_format_pair_value(value)}")
    lines[i] = indent + "; ".join(new_parts) + (";" if trailing else "") + cr
    if found or value is not None:
        # keep the original spelling of untouched pairs: rebuild only if something changed
        return "\n".join(lines)
    return text


# --------------------------------------------------------------------------- dictionary


def data_dictionary() -> pd.DataFrame:
    """The schema as a table: level, field, type, allowed, unit, description."""
    import pandas as pd  # here, not at module level: validation never loads pandas

    rows = []
    for level, specs in (("study", STUDY_FIELDS), ("outcome", OUTCOME_FIELDS)):
        for spec in specs:
            rows.append(
                {
                    "level": level,
                    "field": spec.name,
                    "type": spec.kind,
                    "allowed": spec.allowed,
                    "unit": spec.unit,
                    "description": spec.description,
                }
            )
    return pd.DataFrame(rows).astype("string")
