"""The outcome fields of ``studies.bib``, declared once as data.

:data:`STUDY_FIELDS` are BibTeX fields of an entry; :data:`OUTCOME_FIELDS` are the keys of the
rows of its multi-row ``outcomes`` field (:data:`EFFECT_FIELDS`, :data:`ROB_FIELDS` and
:data:`CLAIM_FIELDS` those of ``effects``, ``rob`` and ``claims``). Each :class:`FieldSpec`
says the field's type, allowed values or range, unit and meaning. This one declaration drives
validation (:func:`coerce`), the DataFrame dtypes (:func:`dtype`) and the data dictionary
(:func:`data_dictionary`, shown in the README and the workbook).

Vocabularies: the *generic* ones (designs, blinding, routes, analysis populations) are
declared here and a protocol may extend them; the *topic* ones (conditions, outcome domains,
rating scales, agents) belong to each evidence base and are declared in its protocol
(:mod:`evidence.protocol`). A field whose vocabulary no protocol declares accepts any label.
:func:`resolve` gives the field specs with a protocol's vocabularies filled in.

Syntax of ``outcomes``: one row per line, ``key=value`` pairs separated by ``;``; a value
containing ``;`` is wrapped in ``{...}``::

    outcomes = {
      arm=drug; measure=SCALE-1; response={>=35% reduction}; responders=4; n=8; time=1 week
      arm=placebo; measure=SCALE-1; response={>=35% reduction}; responders=0; n=7; time=1 week
    },
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from evidence.measures import EFFECT_MEASURES
from evidence.rob import LEVELS, TOOL_NAMES, TOOLS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from evidence.protocol import Protocol

__all__ = [
    "CHECK_VERDICTS",
    "CLAIM_DIRECTIONS",
    "CLAIM_FIELDS",
    "CLAIM_VERDICTS",
    "DOCUMENT_FIELDS",
    "EFFECT_FIELDS",
    "GENERIC_COMPARATORS",
    "OUTCOME_FIELDS",
    "QUANTIFIERS",
    "ROB_FIELDS",
    "ROWS_FIELDS",
    "STUDY_FIELDS",
    "VOCABULARIES",
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
    "parse_window",
    "resolve",
]


@dataclass(frozen=True)
class FieldSpec:
    """Declaration of one outcome-schema field.

    ``kind`` is one of ``text``, ``choice`` (one value of ``choices``), ``choices`` (a
    ``;``-separated list of them), ``int``, ``float``, ``bool`` (``yes``/``no``), ``timepoint``
    (normalised to hours), ``pattern`` (each ``;``-separated item matches ``pattern``),
    ``arms`` (labels ``AGENT`` or ``AGENT-QUALIFIER``), ``interval`` (``low..high``, two
    numbers) and ``rows`` (a multi-row field: ``outcomes``, ``effects``). ``above`` is a strict
    lower bound (``sd`` must be above 0).
    ``synonyms`` map common spellings to a canonical choice: they feed did-you-mean hints only,
    so the file stays in one vocabulary. ``vocabulary`` names the protocol vocabulary that
    supplies (topic) or extends (generic) the ``choices``; ``choices=None`` accepts any label.
    """

    name: str
    kind: str
    description: str
    choices: tuple[str, ...] | None = ()
    synonyms: dict[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    unit: str = ""
    pattern: str = ""
    required: bool = False
    example: str = ""
    vocabulary: str = ""

    @property
    def allowed(self) -> str:
        """Human-readable statement of the allowed values."""
        if self.kind in ("choice", "choices"):
            if self.choices is None:
                one = "any label"
                return one if self.kind == "choice" else f"';'-separated list of labels ({one})"
            values = ", ".join(self.choices)
            return values if self.kind == "choice" else f"';'-separated list of {values}"
        if self.kind == "arms":
            if self.choices is None:
                return "';'-separated labels AGENT or AGENT-QUALIFIER (any agent)"
            return "';'-separated labels AGENT or AGENT-QUALIFIER, AGENT one of " + ", ".join(
                self.choices
            )
        if self.kind in ("int", "float"):
            word = "integer" if self.kind == "int" else "number"
            if self.above is not None:
                return f"{word} > {self.above:g}"
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
        if self.kind == "interval":
            return "low..high, e.g. 0.36..1.91 or -1.89..-0.44"
        if self.kind == "pattern":
            return self.example
        if self.kind == "rows":
            return "one row per line of key=value pairs separated by ';'"
        return "free text"


#: Comparators recognised when no protocol declares agents (generic methodological terms).
GENERIC_COMPARATORS: tuple[str, ...] = (
    "placebo",
    "sham",
    "active-control",
    "control",
    "usual-care",
    "waitlist",
    "no-treatment",
)

#: Designs of reviews: their results are review-level (shown beside primary studies, never
#: pooled with them) and they are not assessed with a study's risk-of-bias tool.
REVIEW_DESIGNS: tuple[str, ...] = ("systematic-review", "meta-analysis", "narrative-review")

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
        vocabulary="designs",
    ),
    FieldSpec(
        "blinding",
        "choice",
        "Masking of participants and raters.",
        choices=("open-label", "single-blind", "double-blind"),
        synonyms={"open": "open-label", "blinded": "double-blind", "double blind": "double-blind"},
        vocabulary="blinding",
    ),
    FieldSpec(
        "conditions",
        "choices",
        "Conditions (diagnoses) of the population studied.",
        choices=None,
        example="COND-A; COND-B",
        vocabulary="conditions",
    ),
    FieldSpec(
        "population",
        "text",
        "Who was studied.",
        example="adults with the condition, by DSM-5 criteria",
    ),
    FieldSpec(
        "route",
        "choices",
        "Route(s) of administration of the intervention.",
        choices=("IV", "IM", "SC", "oral", "sublingual", "intranasal"),
        vocabulary="routes",
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
        "The study's arms, each AGENT or AGENT-QUALIFIER (a dose, a schedule); outcome rows "
        "refer to these labels.",
        choices=None,
        example="drug-0.5; placebo",
        vocabulary="agents",
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
    FieldSpec(
        "effects",
        "rows",
        "Reported results (an OR with its CI, a mean difference with its SE…), one per line "
        "(see the effect keys below).",
    ),
    FieldSpec(
        "rob_tool",
        "choice",
        "Risk-of-bias tool: RoB2 for randomised trials, ROBINS-I for non-randomised "
        "comparisons of interventions, none for reviews and uncontrolled studies.",
        choices=TOOL_NAMES,
        synonyms={
            "rob 2": "RoB2",
            "rob-2": "RoB2",
            "rob 2.0": "RoB2",
            "rob2.0": "RoB2",
            "robins": "ROBINS-I",
            "robins i": "ROBINS-I",
            "robinsi": "ROBINS-I",
            "n/a": "none",
            "na": "none",
            "not applicable": "none",
        },
    ),
    FieldSpec(
        "rob",
        "rows",
        "Risk-of-bias judgements, one row per domain and one for the overall judgement (see "
        "the rob keys below).",
    ),
    FieldSpec(
        "claims",
        "rows",
        "Claims the entry makes about other entries (an article, a press release, a "
        "guideline), one per line, each checked against the entries it cites (see the claim "
        "keys below).",
    ),
)

#: The analysis population of an outcome row or a reported result.
_POPULATION = FieldSpec(
    "analysis",
    "choice",
    "Analysis population.",
    choices=("itt", "completers", "first-phase", "per-protocol"),
    synonyms={"intention-to-treat": "itt", "completer": "completers", "pp": "per-protocol"},
    vocabulary="populations",
)

OUTCOME_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "arm",
        "text",
        "Arm this row reports; one of the entry's arms.",
        required=True,
        example="drug-0.5",
    ),
    FieldSpec(
        "domain",
        "choice",
        "What the response is a response of (an outcome domain).",
        choices=None,
        vocabulary="domains",
    ),
    FieldSpec(
        "measure",
        "choice",
        "Rating scale the outcome is measured on.",
        choices=None,
        vocabulary="scales",
    ),
    FieldSpec(
        "response",
        "text",
        "The paper's definition of response.",
        example=">=35% reduction on the scale",
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
        "score",
        "choice",
        "What a continuous row summarises: the score at the timepoint, or its change from "
        "baseline (default endpoint).",
        choices=("endpoint", "change"),
        synonyms={"final": "endpoint", "post": "endpoint", "change from baseline": "change"},
    ),
    FieldSpec("mean", "float", "Mean of the score (or of its change) in this arm.", unit="points"),
    FieldSpec(
        "sd", "float", "Standard deviation of the score in this arm.", above=0, unit="points"
    ),
    FieldSpec(
        "se",
        "float",
        "Standard error of the mean, where no SD is printed (SD = SE × √n).",
        above=0,
        unit="points",
    ),
    FieldSpec(
        "ci",
        "interval",
        "Confidence interval of the mean, where no SD is printed (SD from it, Cochrane "
        "Handbook 6.5.2.2).",
        unit="points",
    ),
    FieldSpec(
        "ci_level",
        "float",
        "Level of `ci`, in percent (default 95).",
        minimum=50,
        maximum=99.99,
        unit="%",
    ),
    FieldSpec(
        "median",
        "float",
        "Median, where no mean is printed (converted with Luo et al. 2018 and Wan et al. 2014, "
        "and marked converted).",
        unit="points",
    ),
    FieldSpec("q1", "float", "First quartile (with median).", unit="points"),
    FieldSpec("q3", "float", "Third quartile (with median).", unit="points"),
    FieldSpec("min", "float", "Minimum (with median).", unit="points"),
    FieldSpec("max", "float", "Maximum (with median).", unit="points"),
    FieldSpec(
        "time",
        "timepoint",
        "When response was assessed, after dosing; normalised to hours (a range to its end).",
        unit="hours",
        example="1 week",
    ),
    _POPULATION,
    FieldSpec(
        "derived",
        "bool",
        "yes when responders / n / percent were derived by arithmetic, not printed.",
    ),
    FieldSpec("note", "text", "Anything else about this row."),
)

EFFECT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "effect",
        "choice",
        "Effect measure of a reported result (OR, RR, HR and ROM are ratios; MD, SMD, RD, "
        "MC … differences; a Cohen's d is recorded as SMD).",
        choices=EFFECT_MEASURES,
        required=True,
    ),
    FieldSpec(
        "estimate",
        "float",
        "Reported estimate, on its natural scale (a ratio, not its log).",
        required=True,
    ),
    FieldSpec("ci", "interval", "Its confidence interval, low..high."),
    FieldSpec("se", "float", "Its standard error, where no CI is printed.", above=0),
    FieldSpec(
        "ci_level",
        "float",
        "Level of `ci`, in percent (default 95).",
        minimum=50,
        maximum=99.99,
        unit="%",
    ),
    FieldSpec("p", "float", "Reported p-value.", minimum=0, maximum=1),
    FieldSpec(
        "intervention",
        "text",
        "Arm (or agent) of the intervention side: one of the entry's arms, else an agent.",
        example="drug-0.5",
    ),
    FieldSpec(
        "comparator",
        "text",
        "Arm (or agent) of the comparator side (none for a single-group change).",
        example="placebo",
    ),
    FieldSpec(
        "domain",
        "choice",
        "Outcome domain of the result.",
        choices=None,
        vocabulary="domains",
    ),
    FieldSpec(
        "measure",
        "choice",
        "Rating scale of the result.",
        choices=None,
        vocabulary="scales",
    ),
    FieldSpec(
        "condition",
        "choice",
        "Condition the result is about, when the entry reports one per condition.",
        choices=None,
        vocabulary="conditions",
    ),
    FieldSpec(
        "time",
        "timepoint",
        "When the outcome was assessed; normalised to hours (a range to its end).",
        unit="hours",
    ),
    FieldSpec("k", "int", "Studies the result pools (reviews).", minimum=1, unit="studies"),
    FieldSpec("n", "int", "Participants in the result.", minimum=0, unit="participants"),
    _POPULATION,
    FieldSpec(
        "derived",
        "bool",
        "yes when the estimate or its interval was derived by arithmetic (e.g. a sign set).",
    ),
    FieldSpec("note", "text", "Anything else about this result."),
)

#: Keys of the rows of the ``rob`` field (risk of bias; see :mod:`evidence.rob`). Which
#: domains and judgements a row may have depends on the study's ``rob_tool``.
ROB_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "domain",
        "choice",
        "Domain of the study's tool (RoB2: D1-D5; ROBINS-I: D1-D7), or overall.",
        choices=(*dict.fromkeys(c for tool in TOOLS.values() for c in tool.codes), "overall"),
        synonyms={
            **{f"d{i}": f"D{i}" for i in range(1, 8)},
            **{f"domain {i}": f"D{i}" for i in range(1, 8)},
            "overall risk of bias": "overall",
            "total": "overall",
        },
        required=True,
    ),
    FieldSpec(
        "judgement",
        "choice",
        "RoB2: low, some concerns, high; ROBINS-I: low, moderate, serious, critical; both: no "
        "information (what the sources do not let you judge).",
        choices=LEVELS,
        synonyms={k: v for tool in TOOLS.values() for k, v in tool.synonyms.items()},
        required=True,
    ),
    FieldSpec(
        "support",
        "text",
        "The facts the judgement rests on, with their source.",
        example="randomised; allocation concealment not reported (PMC article)",
    ),
    FieldSpec(
        "outcome",
        "int",
        "Outcome row (1-based, the outcomes table's row) this judgement is for; without it, "
        "the whole study.",
        minimum=1,
    ),
    FieldSpec(
        "reason",
        "text",
        "On an overall row: why the overall judgement differs from the tool's algorithm.",
    ),
)

STUDY_SPECS = {s.name: s for s in STUDY_FIELDS}
OUTCOME_SPECS = {s.name: s for s in OUTCOME_FIELDS}

#: What a claim may say a comparison (or a change from baseline) showed (claim key
#: ``direction``): ``better`` (the intervention's result lies on the favourable side of no
#: effect), ``significant`` (better, and its confidence interval excludes no effect),
#: ``no-difference`` (the interval includes no effect), ``worse``.
CLAIM_DIRECTIONS: tuple[str, ...] = ("better", "significant", "no-difference", "worse")
#: Words a claim may use for a share of participants (claim key ``quantifier``) and the
#: response percentages of an intervention arm each allows: ``(lowest, highest, lowest
#: excluded)``. "half" is 50% rounded to the nearest ten.
QUANTIFIERS: dict[str, tuple[float, float, bool]] = {
    "all": (100.0, 100.0, False),
    "most": (50.0, 100.0, True),
    "half": (45.0, 55.0, False),
}
#: Overall verdicts of a claim (:mod:`evidence.claims`), also what an analyst's ``verdict``
#: may say.
CLAIM_VERDICTS: tuple[str, ...] = (
    "supported",
    "partly-supported",
    "overstated",
    "contradicted",
    "unsupported",
    "unverifiable",
)
#: Verdicts of one check of a claim against its sources.
CHECK_VERDICTS: tuple[str, ...] = ("supported", "contradicted", "not-in-source")
#: Fields an entry that only makes claims may have besides its bibliographic ones; an entry
#: with ``claims`` and none of the other study fields is a *document*, not a study.
DOCUMENT_FIELDS: tuple[str, ...] = ("claims", "verification", "unverified", "data_source")
#: What ``cites = none`` says: the claim gives no source.
NO_SOURCE = "none"


def _quantifier_text(name: str) -> str:
    low, high, open_low = QUANTIFIERS[name]
    if low == high:
        return f"{name} = {low:g}%"
    if open_low:
        return f"{name} > {low:g}%"
    return f"{name} {low:g}-{high:g}%"


#: Keys of the rows of the ``claims`` field: what a claim says, which entries it cites, and its
#: checkable assertions (each optional; :mod:`evidence.claims` checks each against the cited
#: entries' data).
CLAIM_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "id",
        "text",
        "Short label of the claim, unique in the entry (default: its row number).",
        example="C1",
    ),
    FieldSpec("text", "text", "The claim, quoted as the document words it.", required=True),
    FieldSpec(
        "cites",
        "pattern",
        "Citation keys of the entries the claim rests on (';'-separated), or none when the "
        "document gives no source.",
        pattern=r"[^\s,;{}()=\"#%'~\\]+",
        example="citation keys (key1; key2), or none",
        required=True,
    ),
    FieldSpec(
        "year",
        "int",
        "Year the claim gives for the cited work ('a 2017 study'); checked against its year.",
        minimum=1900,
    ),
    replace(
        STUDY_SPECS["conditions"],
        description="Conditions the claim names; checked against the cited entries' conditions.",
    ),
    replace(
        STUDY_SPECS["route"],
        description="Route(s) the claim names ('an infusion': IV); checked against the cited "
        "entries' route.",
    ),
    FieldSpec(
        "comparator",
        "choice",
        "Agent the claim compares with ('compared with placebo'); checked against the cited "
        "entries' comparator arms and reported comparisons.",
        choices=None,
        vocabulary="agents",
    ),
    FieldSpec(
        "n",
        "int",
        "Participants the claim gives ('15 participants'); checked against n_enrolled, "
        "n_analysed and the outcome rows' n.",
        minimum=0,
        unit="participants",
    ),
    replace(
        OUTCOME_SPECS["domain"],
        description="Outcome domain the claim is about; selects the outcome rows and "
        "comparisons its other assertions are checked against.",
    ),
    FieldSpec(
        "percent",
        "float",
        "Response percentage the claim gives ('83%'); checked against the intervention arms' "
        "responders/n or percent, within the rounding the claim uses (0 and 100 exactly).",
        minimum=0,
        maximum=100,
        unit="%",
    ),
    FieldSpec(
        "quantifier",
        "choice",
        "Share of participants the claim gives in words ('most patients'), checked against "
        "the intervention arms' response: " + ", ".join(map(_quantifier_text, QUANTIFIERS)) + ".",
        choices=tuple(QUANTIFIERS),
    ),
    FieldSpec(
        "time",
        "timepoint",
        "When the claim says its finding was seen ('one week after'): a row measured then.",
        unit="hours",
    ),
    FieldSpec(
        "within",
        "timepoint",
        "How soon the claim says ('within an hour'): a row measured at or before it.",
        unit="hours",
    ),
    FieldSpec(
        "lasting",
        "timepoint",
        "How long the claim says the finding lasted ('up to two weeks'): a row measured at or "
        "after it.",
        unit="hours",
    ),
    FieldSpec(
        "direction",
        "choice",
        "What the claim says a comparison (or a change from baseline) showed: better, "
        "significant (better, with a confidence interval excluding no effect), no-difference, "
        "worse.",
        choices=CLAIM_DIRECTIONS,
        synonyms={
            "improved": "better",
            "superior": "better",
            "greater": "better",
            "effective": "significant",
            "significantly better": "significant",
            "no effect": "no-difference",
            "similar": "no-difference",
            "inferior": "worse",
        },
    ),
    FieldSpec(
        "verdict",
        "choice",
        "The analyst's verdict where it differs from the computed one (needs reason); both are "
        "shown.",
        choices=CLAIM_VERDICTS,
    ),
    FieldSpec("reason", "text", "Why the analyst's verdict differs from the computed one."),
    FieldSpec("note", "text", "Anything else about this claim."),
)
#: The multi-row study fields (one row of ``key=value`` pairs per line).
ROWS_FIELDS: tuple[str, ...] = tuple(s.name for s in STUDY_FIELDS if s.kind == "rows")
EFFECT_SPECS = {s.name: s for s in EFFECT_FIELDS}
ROB_SPECS = {s.name: s for s in ROB_FIELDS}
CLAIM_SPECS = {s.name: s for s in CLAIM_FIELDS}

#: Every vocabulary a protocol may declare: name -> (field level, field, generic?). Generic
#: vocabularies have package values that a protocol extends; topic ones are the protocol's.
VOCABULARIES: dict[str, tuple[str, str, bool]] = {
    spec.vocabulary: (level, spec.name, spec.choices is not None)
    for level, specs in (("study", STUDY_FIELDS), ("outcome", OUTCOME_FIELDS))
    for spec in specs
    if spec.vocabulary
}


def resolve(
    specs: tuple[FieldSpec, ...],
    declared: Mapping[str, tuple[tuple[str, ...], Mapping[str, str]]],
) -> dict[str, FieldSpec]:
    """Field specs by name with declared vocabularies filled in.

    ``declared`` maps a vocabulary name to its values and synonyms (lower-case spelling ->
    value). A topic vocabulary's values replace ``choices=None`` (any label); a generic one's
    are appended to the package values; undeclared vocabularies stay as they are.
    """
    out = {}
    for spec in specs:
        if spec.vocabulary in declared:
            values, synonyms = declared[spec.vocabulary]
            base = spec.choices or ()
            choices = (*base, *(v for v in values if v not in base))
            spec = replace(spec, choices=choices, synonyms={**spec.synonyms, **synonyms})
        out[spec.name] = spec
    return out


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
    lowered = {c.lower(): c for c in spec.choices or ()}
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


def arm_agent(label: str, agents: tuple[str, ...] | None = None) -> str | None:
    """The agent of an arm label: the longest of ``agents`` that the label is, or starts with
    followed by ``-`` (``drug-0.5`` → ``drug``, ``active-control-low`` → ``active-control``);
    ``None`` if it starts with none of them.

    With ``agents=None`` (no vocabulary declared) any label has an agent: a generic comparator
    it starts with (:data:`GENERIC_COMPARATORS`), else the label up to its first ``-``.

    >>> arm_agent("drug-0.5", ("drug", "placebo")), arm_agent("other", ("drug",))
    ('drug', None)
    >>> arm_agent("active-control-low"), arm_agent("drug-0.5")
    ('active-control', 'drug')
    """
    if agents is None:
        found = arm_agent(label, GENERIC_COMPARATORS)
        return found or label.split("-", 1)[0]
    for agent in sorted(agents, key=len, reverse=True):
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
    if spec.choices is None or value in spec.choices:
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


def parse_window(text: str) -> tuple[float, float]:
    """Hours ``(low, high)`` of a timepoint window: ``1 week``, ``24 h..2 weeks``, ``..1 week``.

    A single timepoint is the window from it to itself.

    >>> parse_window("24 h..1 week"), parse_window("..1 day")
    ((24.0, 168.0), (0.0, 24.0))

    Raises
    ------
    ValueError
        If a bound is not a timepoint.
    """
    low_text, sep, high_text = text.partition("..")
    if not sep:
        high_text = low_text
    bounds = []
    for part, default in ((low_text, 0.0), (high_text, float("inf"))):
        if not part.strip():
            bounds.append(default)
            continue
        hours = parse_timepoint(part)
        if hours is None:
            raise ValueError(
                f"timepoint window {text!r}: cannot read {part.strip()!r} "
                "(allowed: a timepoint such as '1 week', or a range '24 h..2 weeks')"
            )
        bounds.append(hours)
    return bounds[0], bounds[1]


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
            agent = arm_agent(item, spec.choices)
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
    if kind == "interval":
        low, sep, high = v.partition("..")
        if not sep or not _FLOAT_RE.fullmatch(low.strip()) or not _FLOAT_RE.fullmatch(high.strip()):
            return None, f"cannot read interval {v!r}"
        bounds = (float(low), float(high))
        if not bounds[0] < bounds[1]:
            return None, f"interval {v!r}: the lower limit must be below the upper one"
        return bounds, None
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
        if spec.above is not None and number <= spec.above:
            return None, f"{v} must be above {spec.above:g}"
        if spec.minimum is not None and number < spec.minimum:
            return None, f"{v} is below the minimum {spec.minimum:g}"
        if spec.maximum is not None and number > spec.maximum:
            return None, f"{v} exceeds the maximum {spec.maximum:g}"
        return number, None
    raise AssertionError(f"unknown kind {kind!r}")  # pragma: no cover


def dtype(spec: FieldSpec) -> Any:
    """The pandas dtype of a field's column in the studies / outcomes table."""
    if spec.kind == "choice" and spec.choices is not None:
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
    problems: tuple[tuple[str, str], ...] = ()  # (problem code, message)


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
                problems.append(("outcomes.syntax", f"expected key=value, found {part!r}"))
                continue
            if text.startswith("{") and text.endswith("}"):
                text = text[1:-1].strip()
            if key in pairs:
                problems.append(("outcomes.key-repeated", f"key {key!r} given twice in one row"))
            pairs[key] = text
        rows.append(OutcomeRow(offset, pairs, tuple(problems)))
    return rows


def _format_pair_value(value: str) -> str:
    return "{" + value + "}" if ";" in value or value != value.strip() else value


def edit_row(text: str, row: int, key: str, value: str | None, field: str = "outcomes") -> str:
    """The text of a multi-row field (:data:`ROWS_FIELDS`: ``outcomes``, ``rob``, ``claims``)
    with one key of one row set (``None`` removes it).

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
        raise IndexError(f"no {field} row {row} (the entry has {len(rows)})")
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


def data_dictionary(protocol: Protocol | None = None) -> pd.DataFrame:
    """The schema as a table: level (``study``, ``outcome``, ``effect``, ``rob`` or
    ``claim``), field, type, allowed, unit, description.

    ``allowed`` shows the vocabularies of ``protocol`` (default: none declared, so the topic
    fields accept any label); the values' own descriptions are in
    :func:`evidence.protocol.vocabulary_table`.
    """
    import pandas as pd

    from evidence.protocol import NO_PROTOCOL

    protocol = protocol or NO_PROTOCOL
    rows = []
    for level, specs in (
        ("study", protocol.study_specs.values()),
        ("outcome", protocol.outcome_specs.values()),
        ("effect", protocol.effect_specs.values()),
        ("rob", ROB_FIELDS),
        ("claim", protocol.claim_specs.values()),
    ):
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
