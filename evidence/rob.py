"""Risk of bias: the tools (RoB 2, ROBINS-I) as data, and their overall-judgement algorithms.

Pure logic, no pandas: :mod:`evidence.validation` checks a study's ``rob`` rows with it, and
:mod:`evidence.tables` turns them into the risk-of-bias table. A study declares its tool in
``rob_tool`` and its judgements in the multi-row field ``rob``, one row per domain::

    rob_tool = {RoB2},
    rob = {
      domain=D1; judgement=no information; support={randomised; allocation concealment not reported}
      domain=D2; judgement=low; support={double-blind; all randomised participants analysed}
      domain=D3; judgement=low; support={outcome data for 15 of 15 randomised}
      domain=D4; judgement=low; support={blinded rater}
      domain=D5; judgement=some concerns; support={analysis chosen after seeing the data}
      domain=overall; judgement=no information
      outcome=3; domain=D4; judgement=high; support={self-rated by unblinded participants}
    },

A row with ``outcome=N`` is a judgement for outcome row ``N`` only (1-based, the ``row`` of the
outcomes table): that result takes the study's rows with its own replacing them domain by
domain, the ``overall`` row included.

Overall judgements (:func:`overall`):

- **RoB 2** (Sterne et al. 2019, BMJ 366:l4898, Table 2): *low* if every domain is low;
  *high* if any domain is high, or if the trial "is judged to have some concerns for multiple
  domains in a way that substantially lowers confidence in the result"; otherwise *some
  concerns*. The tool leaves "multiple ... substantially" to judgement: the default here is
  :data:`ROB2_SEVERAL` = 3 domains with some concerns (of 5), and a judgement that differs only
  because of it is a warning, never an error. RoB 2 itself has no "no information"
  judgement; `evidence` allows it for a domain the sources do not let you judge, and then
  treats the overall as ROBINS-I does: *no information* when nothing makes it high.
- **ROBINS-I** (Sterne et al. 2016, BMJ 355:i4919, Table 3): *low* if every domain is low;
  *moderate* if every domain is low or moderate; *serious* if any domain is serious and none
  critical; *critical* if any domain is critical; *no information* when there is "no clear
  indication that the study is at serious or critical risk of bias and there is a lack of
  information in one or more key domains" (here: any domain). In short, the most severe
  domain judgement; ROBINS-I allows an overall *more* severe than that ("at least this
  severe"), which, like any overall that differs from the algorithm, needs a ``reason``.

>>> rob2_overall(["low", "low", "some concerns", "low", "low"])
'some concerns'
>>> rob2_overall(["low", "some concerns", "some concerns", "some concerns", "low"])
'high'
>>> robins_i_overall(["low", "moderate", "no information", "low", "low", "low", "low"])
'no information'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LEVELS",
    "NO_INFORMATION",
    "ROB2",
    "ROB2_SEVERAL",
    "ROBINS_I",
    "TOOLS",
    "TOOL_NAMES",
    "Assessment",
    "Domain",
    "Judgement",
    "Tool",
    "assess",
    "domain_table",
    "expected_tools",
    "judgement_range",
    "overall",
    "rob2_overall",
    "robins_i_overall",
]

NO_INFORMATION = "no information"
OVERALL = "overall"

#: Default number of RoB 2 domains with "some concerns" (and none high) that make the overall
#: judgement high: Sterne et al. (2019) say "some concerns for multiple domains in a way that
#: substantially lowers confidence in the result" and leave the number to judgement.
ROB2_SEVERAL = 3


@dataclass(frozen=True)
class Domain:
    """One domain of a tool: its code (``D1``), full name and a short label for charts."""

    code: str
    name: str
    short: str


@dataclass(frozen=True)
class Tool:
    """A risk-of-bias tool: its domains and judgement levels, best to worst.

    ``levels`` are the tool's judgements from least to most severe, ``no information`` last
    (it is not on the severity scale). ``synonyms`` map other spellings (and the other tool's
    levels) to this tool's, for did-you-mean hints only.
    """

    name: str
    title: str
    citation: str
    reference: str
    domains: tuple[Domain, ...]
    levels: tuple[str, ...]
    synonyms: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        """Domain codes in order (``D1``, ``D2``, …)."""
        return tuple(d.code for d in self.domains)

    def domain(self, code: str) -> Domain | None:
        """The domain with this code, or ``None``."""
        return next((d for d in self.domains if d.code == code), None)

    def severity(self, level: str) -> int:
        """Rank of ``level`` from 0 (low) upwards; ``no information`` ranks last."""
        return self.levels.index(level)

    def overall(self, judgements: Iterable[str], *, several: int | None = None) -> str:
        """The overall judgement by this tool's published algorithm (:func:`overall`)."""
        if self.name == "RoB2":
            return rob2_overall(judgements, several=ROB2_SEVERAL if several is None else several)
        return robins_i_overall(judgements)


_COMMON_SYNONYMS = {
    "low risk": "low",
    "low risk of bias": "low",
    "unclear": NO_INFORMATION,
    "unclear risk": NO_INFORMATION,
    "ni": NO_INFORMATION,
    "no info": NO_INFORMATION,
    "not reported": NO_INFORMATION,
    "no-information": NO_INFORMATION,
    "no_information": NO_INFORMATION,
}

ROB2 = Tool(
    name="RoB2",
    title="RoB 2",
    citation="Sterne et al. 2019",
    reference="Sterne JAC et al. RoB 2: a revised tool for assessing risk of bias in "
    "randomised trials. BMJ 2019;366:l4898",
    domains=(
        Domain("D1", "Bias arising from the randomisation process", "Randomisation process"),
        Domain(
            "D2",
            "Bias due to deviations from intended interventions",
            "Deviations from intended interventions",
        ),
        Domain("D3", "Bias due to missing outcome data", "Missing outcome data"),
        Domain("D4", "Bias in measurement of the outcome", "Measurement of the outcome"),
        Domain(
            "D5", "Bias in selection of the reported result", "Selection of the reported result"
        ),
    ),
    levels=("low", "some concerns", "high", NO_INFORMATION),
    synonyms={
        **_COMMON_SYNONYMS,
        "some": "some concerns",
        "some-concerns": "some concerns",
        "some_concerns": "some concerns",
        "concerns": "some concerns",
        "moderate": "some concerns",
        "high risk": "high",
        "high risk of bias": "high",
        "serious": "high",
        "critical": "high",
    },
)

ROBINS_I = Tool(
    name="ROBINS-I",
    title="ROBINS-I",
    citation="Sterne et al. 2016",
    reference="Sterne JAC et al. ROBINS-I: a tool for assessing risk of bias in non-randomised "
    "studies of interventions. BMJ 2016;355:i4919",
    domains=(
        Domain("D1", "Bias due to confounding", "Confounding"),
        Domain(
            "D2", "Bias in selection of participants into the study", "Selection of participants"
        ),
        Domain("D3", "Bias in classification of interventions", "Classification of interventions"),
        Domain(
            "D4",
            "Bias due to deviations from intended interventions",
            "Deviations from intended interventions",
        ),
        Domain("D5", "Bias due to missing data", "Missing data"),
        Domain("D6", "Bias in measurement of outcomes", "Measurement of outcomes"),
        Domain(
            "D7", "Bias in selection of the reported result", "Selection of the reported result"
        ),
    ),
    levels=("low", "moderate", "serious", "critical", NO_INFORMATION),
    synonyms={
        **_COMMON_SYNONYMS,
        "some concerns": "moderate",
        "some": "moderate",
        "high": "serious",
        "high risk": "serious",
        "serious risk": "serious",
        "critical risk": "critical",
    },
)

#: The tools a study may declare in ``rob_tool`` (``none``: not assessed with a tool).
TOOLS: dict[str, Tool] = {ROB2.name: ROB2, ROBINS_I.name: ROBINS_I}
TOOL_NAMES: tuple[str, ...] = (*TOOLS, "none")

#: Every judgement of every tool, least to most severe, ``no information`` last.
LEVELS: tuple[str, ...] = (
    "low",
    "some concerns",
    "moderate",
    "serious",
    "high",
    "critical",
    NO_INFORMATION,
)

#: The tools that fit each package study design (the first is the usual one). RoB 2 assesses
#: randomised trials; ROBINS-I non-randomised comparisons of interventions (an uncontrolled
#: study has no comparison to assess, so ``none`` is usual for it); reviews are not assessed
#: with either (their own bias is ROBIS's or AMSTAR 2's business).
_DESIGN_TOOLS: dict[str, tuple[str, ...]] = {
    "rct-parallel": ("RoB2",),
    "rct-crossover": ("RoB2",),
    "cohort": ("ROBINS-I",),
    "case-series": ("none",),
    "single-arm": ("none", "ROBINS-I"),
    "maintenance": ("none", "ROBINS-I"),
    "ascending-dose": ("none", "RoB2", "ROBINS-I"),
    "systematic-review": ("none",),
    "meta-analysis": ("none",),
    "narrative-review": ("none",),
}


def domain_table() -> list[dict[str, str]]:
    """The tools as rows for documentation: ``tool`` (its name in ``rob_tool``), ``D1`` …
    ``D7`` (each domain's short name; empty where the tool has fewer), ``levels`` and
    ``reference`` (the README's table is made from it)."""
    codes = list(dict.fromkeys(c for tool in TOOLS.values() for c in tool.codes))
    rows = []
    for tool in TOOLS.values():
        row = {"tool": tool.name}
        row.update({c: (d.short if (d := tool.domain(c)) else "") for c in codes})
        row["levels"] = ", ".join(tool.levels)
        row["reference"] = f"{tool.citation}, {tool.reference.split('. ')[-1]}"
        rows.append(row)
    return rows


def expected_tools(design: str | None) -> tuple[str, ...] | None:
    """The tools that fit a study design, usual one first; ``None`` for a design the package
    does not know (a protocol's own design: anything goes).

    >>> expected_tools("rct-crossover"), expected_tools("meta-analysis")
    (('RoB2',), ('none',))
    """
    return _DESIGN_TOOLS.get(design) if design else None


# --------------------------------------------------------------------------- algorithms


def _levels(judgements: Iterable[str] | Mapping[str, str], allowed: tuple[str, ...]) -> list[str]:
    values = list(judgements.values() if isinstance(judgements, Mapping) else judgements)
    if not values:
        raise ValueError("no domain judgements given")
    for value in values:
        if value not in allowed:
            raise ValueError(f"unknown judgement {value!r} (allowed: {', '.join(allowed)})")
    return values


def rob2_overall(
    judgements: Iterable[str] | Mapping[str, str], *, several: int | None = ROB2_SEVERAL
) -> str:
    """The overall RoB 2 judgement of a result from its domain judgements.

    Sterne et al. (2019), BMJ 366:l4898, Table 2: low if all domains are low; high if any
    domain is high, or if some concerns in multiple domains substantially lower confidence in
    the result (here: at least ``several`` domains with some concerns; ``None`` never
    escalates); otherwise some concerns. Extension for results the sources do not let you
    judge: with a domain at ``no information`` and nothing that makes the result high, the
    overall is ``no information`` (the ROBINS-I rule).

    Parameters
    ----------
    judgements
        Domain judgements (a sequence, or a mapping domain → judgement): ``low``, ``some
        concerns``, ``high`` or ``no information``.
    several
        Number of domains with some concerns that make the result high (default
        :data:`ROB2_SEVERAL`); at least 2 ("multiple").

    Raises
    ------
    ValueError
        If there are no judgements, one is not a RoB 2 level, or ``several`` < 2.

    Examples
    --------
    >>> rob2_overall({"D1": "low", "D2": "high", "D3": "no information"})
    'high'
    >>> rob2_overall(["some concerns", "some concerns", "low"], several=2)
    'high'
    """
    values = _levels(judgements, ROB2.levels)
    if several is not None and several < 2:
        raise ValueError(f"several must be at least 2 (multiple domains); got {several}")
    if "high" in values:
        return "high"
    concerns = values.count("some concerns")
    if several is not None and concerns >= several:
        return "high"
    if NO_INFORMATION in values:
        return NO_INFORMATION
    return "some concerns" if concerns else "low"


def robins_i_overall(judgements: Iterable[str] | Mapping[str, str]) -> str:
    """The overall ROBINS-I judgement of a result from its domain judgements.

    Sterne et al. (2016), BMJ 355:i4919, Table 3: critical if any domain is critical;
    serious if any is serious (none critical); no information if there is no clear
    indication of serious or critical risk and information is lacking in one or more
    domains; moderate if all are low or moderate; low if all are low.

    Raises
    ------
    ValueError
        If there are no judgements or one is not a ROBINS-I level.

    Examples
    --------
    >>> robins_i_overall(["low", "serious", "no information"])
    'serious'
    """
    values = _levels(judgements, ROBINS_I.levels)
    for level in ("critical", "serious", NO_INFORMATION, "moderate"):
        if level in values:
            return level
    return "low"


def overall(
    tool: str, judgements: Iterable[str] | Mapping[str, str], *, several: int | None = None
) -> str:
    """The overall judgement of ``tool`` (``RoB2`` or ``ROBINS-I``) from domain judgements;
    ``several`` applies to RoB 2 only (default :data:`ROB2_SEVERAL`).

    Raises
    ------
    ValueError
        If ``tool`` is not a tool (``none`` has no algorithm) or a judgement is not one of its
        levels.
    """
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r} (allowed: {', '.join(TOOLS)})")
    return TOOLS[tool].overall(judgements, several=several)


def judgement_range(tool: Tool, judgements: Iterable[str]) -> tuple[str, ...]:
    """Overall judgements the tool's published rules allow for these domain judgements: the
    algorithm's, plus (RoB 2) ``high`` where several domains have some concerns, or (ROBINS-I)
    anything more severe than the most severe domain ("at least this severe")."""
    values = list(judgements)
    base = tool.overall(values)
    if tool is ROB2:
        options = {base, rob2_overall(values, several=2), rob2_overall(values, several=None)}
        return tuple(level for level in tool.levels if level in options)
    if base == NO_INFORMATION:
        return (base,)
    return tuple(level for level in tool.levels[:-1] if tool.severity(level) >= tool.severity(base))


# --------------------------------------------------------------------------- assessments


@dataclass(frozen=True)
class Judgement:
    """One domain's judgement in an assessment.

    ``source`` is ``stated`` (a row of this result), ``study`` (an outcome row's result
    taking the study's row) or ``algorithm`` (an overall nobody stated: the tool's).
    """

    domain: str
    level: str
    support: str = ""
    line: int | None = None
    source: str = "stated"
    reason: str = ""


@dataclass(frozen=True)
class Assessment:
    """The risk-of-bias assessment of one result: a study's (``outcome_row`` ``None``) or one
    outcome row's (its own rows over the study's).

    ``domains`` follow the tool's order (domains without a row are missing); ``overall`` is
    the stated overall judgement or, if none is stated, the algorithm's; ``algorithm`` is what
    the tool's algorithm gives for the domains (missing domains count as no information).
    """

    key: str
    tool: str
    outcome_row: int | None
    domains: tuple[Judgement, ...]
    overall: Judgement
    algorithm: str

    @property
    def missing(self) -> tuple[str, ...]:
        """Domain codes of the tool without a judgement."""
        given = {j.domain for j in self.domains}
        return tuple(code for code in TOOLS[self.tool].codes if code not in given)

    @property
    def differs(self) -> bool:
        """Whether the overall judgement is not the algorithm's."""
        return self.overall.level != self.algorithm

    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict``: key, tool, outcome_row, each domain's judgement, overall."""
        out: dict[str, Any] = {"key": self.key, "tool": self.tool, "outcome_row": self.outcome_row}
        out.update({j.domain: j.level for j in self.domains})
        out.update(overall=self.overall.level, algorithm=self.algorithm)
        return out


def assess(
    key: str,
    tool: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    several: int | None = None,
) -> list[Assessment]:
    """The assessments of one study: its own, then one per outcome row that has rows.

    ``rows`` are the typed ``rob`` rows (``domain``, ``judgement``, optional ``support``,
    ``outcome``, ``reason`` and ``line``), already checked: rows with an unknown domain or
    level are skipped, and the first row of a domain counts. An outcome row's result takes the
    study's rows and replaces them domain by domain with its own (the ``overall`` row
    included: a ``reason`` travels with its overall row).

    Raises
    ------
    ValueError
        If ``tool`` is not ``RoB2`` or ``ROBINS-I``.
    """
    if tool not in TOOLS:
        raise ValueError(f"unknown tool {tool!r} (allowed: {', '.join(TOOLS)})")
    spec = TOOLS[tool]
    by_result: dict[int | None, dict[str, Judgement]] = {None: {}}
    for row in rows:
        domain, level = row.get("domain"), row.get("judgement")
        if not isinstance(domain, str) or not isinstance(level, str):
            continue  # a row without a domain or a judgement judges nothing
        valid = domain == OVERALL or spec.domain(domain) is not None
        if not valid or level not in spec.levels:
            continue
        judged = by_result.setdefault(row.get("outcome"), {})
        if domain not in judged:
            judged[domain] = Judgement(
                domain,
                level,
                row.get("support") or "",
                row.get("line"),
                "stated",
                row.get("reason") or "",
            )
    study = by_result[None]
    out = []
    for outcome_row in [None, *sorted(r for r in by_result if r is not None)]:
        own = by_result[outcome_row]
        merged = dict(own)
        if outcome_row is not None:
            for domain, judgement in study.items():
                if domain not in merged:
                    merged[domain] = Judgement(
                        domain,
                        judgement.level,
                        judgement.support,
                        judgement.line,
                        "study",
                        judgement.reason,
                    )
        domains = tuple(merged[c] for c in spec.codes if c in merged)
        levels = [merged[c].level if c in merged else NO_INFORMATION for c in spec.codes]
        algorithm = spec.overall(levels, several=several)
        stated = merged.get(OVERALL) or Judgement(OVERALL, algorithm, source="algorithm")
        out.append(Assessment(key, tool, outcome_row, domains, stated, algorithm))
    return out
