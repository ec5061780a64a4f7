"""Claims a document makes, checked against the entries it cites.

A document that makes claims (an article, a press release, a grant, a guideline) is an entry
of the ``.bib`` holding them as rows of its ``claims`` field (keys:
:data:`~evidence.schema.CLAIM_FIELDS`): the quoted ``text``, the keys it ``cites`` (or
``none``) and its checkable assertions. :func:`check_claims` compares each assertion with the
data recorded for the cited entries and returns one frozen :class:`Claim` per row, holding one
:class:`Check` per assertion (``attribute``, ``asserted``, ``found``, ``verdict``) and the
claim's verdict, computed from its checks by :func:`claim_verdict`; an analyst's ``verdict``
(with its ``reason``) is kept beside the computed one, never instead of it.

How each assertion is checked (a check is ``supported``, ``contradicted``, or
``not-in-source`` when the cited entries do not record what it needs; with several cited
entries an assertion is supported when one of them supports it):

- ``year``: the entry's year, exactly.
- ``conditions``, ``route``: every condition (route) named is among the entries'.
- ``comparator``: the agent is one of the entries' comparator arms or reported comparators; an
  entry whose arms hold no comparator contradicts it.
- ``n``: equals ``n_enrolled``, ``n_analysed`` or an outcome row's or reported result's ``n``.
- ``percent``: the response of an intervention arm (``responders/n``, or the printed
  ``percent``) within the rounding the claim uses: ``83`` matches 82.5-83.5%, ``83.3`` matches
  83.25-83.35% (both ends included: the claim may have rounded either way); 0 and 100 only
  exactly (they say none and all).
- ``quantifier``: the response of an intervention arm lies in the word's range
  (:data:`~evidence.schema.QUANTIFIERS`: all = 100%, most > 50%, half 45-55%).
- ``direction``: one check per comparison of the entries (arm pairs and reported results, the
  contrasts table), or change from baseline: ``better`` when the result lies on the
  intervention's favourable side of no effect, ``significant`` when it does and its confidence
  interval excludes no effect (or, without an interval, its SE gives ``|z| > 1.96`` or its
  ``p < 0.05``), ``no-difference`` when the interval includes no effect, ``worse`` the
  opposite of better. More responders is favourable (RR, OR, RD, Peto's OR, as the forest
  plots label them); on a rating scale, the side its declared direction says is better. An arm
  pair has no test, so ``significant`` and ``no-difference`` are not in the source there; a
  scale without a declared direction, an HR or a GEN leaves the side not in the source.
- ``time``, ``within``, ``lasting``: a row measured at that time, at or before it, at or after
  it; among the rows that bear out the claim's findings (the percentage, quantifier or
  direction) when there are any, else among all its rows.

The outcome rows and comparisons looked at are the cited entries' in the claim's ``domain``
(rows that state none are kept), with its ``comparator`` and its ``conditions`` (a reported
result stating another condition is left out); the percentage, quantifier and direction are
checked on those measured at the claim's ``time`` and ``within`` when there are such rows, else
on all of them (so "83% within an hour" is checked against the one-hour rows when the source
has them).

>>> import evidence
>>> from evidence.claims import check_claims
>>> claims = check_claims(evidence.load("studies.bib"))  # doctest: +SKIP
>>> [(c.id, c.verdict) for c in claims]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

from evidence.latex import decode
from evidence.measures import RATIO_MEASURES
from evidence.schema import CHECK_VERDICTS, CLAIM_VERDICTS, NO_SOURCE, QUANTIFIERS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from evidence.base import EvidenceBase
    from evidence.protocol import Protocol
    from evidence.validation import ClaimRecord, StudyRecord

__all__ = [
    "CLAIM_COLUMNS",
    "DESCRIPTION",
    "FINDINGS",
    "QUALIFIERS",
    "Check",
    "Claim",
    "check_claims",
    "claim_verdict",
    "claims_table",
]

SUPPORTED, CONTRADICTED, NOT_IN_SOURCE = CHECK_VERDICTS

#: Assertions about which study the claim means (a miss misdescribes the source).
DESCRIPTION: tuple[str, ...] = ("year", "conditions", "route", "comparator", "n")
#: Assertions of what the study found.
FINDINGS: tuple[str, ...] = ("percent", "direction")
#: Assertions of how much, how soon and how long (a miss says more than the source).
QUALIFIERS: tuple[str, ...] = ("quantifier", "time", "within", "lasting")

#: Binary effect measures: more responders is the favourable side.
_RESPONSE_MEASURES = ("RR", "OR", "RD", "PETO")
#: Effect measures of a rating scale: the favourable side is the scale's declared direction.
_SCALE_MEASURES = ("MD", "SMD", "SMDH", "ROM", "MC", "SMCR", "SMCC")
_Z = NormalDist().inv_cdf(0.975)
_EPS = 1e-9


@dataclass(frozen=True)
class Check:
    """One assertion of a claim compared with the cited entries' data.

    ``verdict`` is ``supported``, ``contradicted`` or ``not-in-source``
    (:data:`~evidence.schema.CHECK_VERDICTS`); ``asserted`` is the claim's value as written,
    ``found`` what the entries record (``key: …`` for each when the claim cites several).
    """

    attribute: str
    asserted: str
    found: str
    verdict: str

    def __post_init__(self) -> None:
        if self.verdict not in CHECK_VERDICTS:
            raise ValueError(f"unknown check verdict {self.verdict!r}")

    def to_dict(self) -> dict[str, str]:
        """``attribute``, ``asserted``, ``found``, ``verdict``."""
        return {
            "attribute": self.attribute,
            "asserted": self.asserted,
            "found": self.found,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Claim:
    """A claim of a document, its checks and its verdict.

    ``entry`` is the claiming document's key; ``verdict`` is computed by
    :func:`claim_verdict`; ``override`` and ``reason`` are the analyst's verdict and why, or
    ``None``; ``line`` is the claim's line in the ``.bib``.
    """

    entry: str
    id: str
    text: str
    cites: tuple[str, ...]
    checks: tuple[Check, ...]
    verdict: str
    override: str | None = None
    reason: str | None = None
    line: int = 0

    def __post_init__(self) -> None:
        for value in (self.verdict, self.override):
            if value is not None and value not in CLAIM_VERDICTS:
                raise ValueError(f"unknown claim verdict {value!r}")

    @property
    def final_verdict(self) -> str:
        """The analyst's verdict where there is one, else the computed one."""
        return self.override or self.verdict

    def to_dict(self) -> dict[str, Any]:
        """``entry``, ``id``, ``text``, ``cites``, ``checks``, ``verdict``, and ``override``
        (``{"verdict": …, "reason": …}``) when the analyst gave one."""
        out: dict[str, Any] = {
            "entry": self.entry,
            "id": self.id,
            "text": self.text,
            "cites": list(self.cites),
            "checks": [c.to_dict() for c in self.checks],
            "verdict": self.verdict,
        }
        if self.override is not None:
            out["override"] = {"verdict": self.override, "reason": self.reason}
        return out


def claim_verdict(checks: Sequence[Check], cites: Sequence[str]) -> str:
    """The verdict of a claim from its checks: the first of these rules that applies.

    Checks are of three kinds: *findings* (``percent``, ``direction``: what the source
    found), *qualifiers* (``quantifier``, ``time``, ``within``, ``lasting``: how much, how
    soon, how long) and the *description* of the source (``year``, ``conditions``, ``route``,
    ``comparator``, ``n``). A check is *decided* when it is supported or contradicted.

    1. ``unsupported``: the claim cites nothing.
    2. ``unverifiable``: no finding or qualifier check is decided (the cited entries do not
       record what the claim says they found); for a claim that asserts no finding or
       qualifier, no description check is.
    3. ``contradicted``: a finding is contradicted and none is supported; for a claim that
       asserts only a description, every decided description check is contradicted.
    4. ``partly-supported``: some findings are supported and others are not (contradicted or
       not in the source), or the description is contradicted somewhere (the wrong year, say).
    5. ``overstated``: the findings hold, but a qualifier is contradicted or not in the source:
       the claim says more than its source ("most" for a half, "within an hour" for a result
       with no time, "two weeks" for one). Quantifiers and timings are how claims inflate
       findings, so their misses count here; ``found`` shows by how much.
    6. ``supported``: every finding and qualifier check is supported (a description the
       entries do not record does not count against it).

    >>> c = lambda attribute, verdict: Check(attribute, "", "", verdict)
    >>> claim_verdict([c("percent", "supported"), c("within", "not-in-source")], ["k"])
    'overstated'
    >>> claim_verdict([c("year", "contradicted"), c("direction", "supported")], ["k"])
    'partly-supported'
    """
    if not cites:
        return "unsupported"
    findings = [c.verdict for c in checks if c.attribute in FINDINGS]
    qualifiers = [c.verdict for c in checks if c.attribute in QUALIFIERS]
    description = [c.verdict for c in checks if c.attribute not in FINDINGS + QUALIFIERS]
    asserted = findings + qualifiers
    if all(v == NOT_IN_SOURCE for v in asserted or description):
        return "unverifiable"
    if CONTRADICTED in findings and SUPPORTED not in findings:
        return "contradicted"
    if not asserted and SUPPORTED not in description:
        return "contradicted"
    if any(v != SUPPORTED for v in findings) or CONTRADICTED in description:
        return "partly-supported"
    if any(v != SUPPORTED for v in qualifiers):
        return "overstated"
    return "supported"


# ------------------------------------------------------------------------ the evidence


@dataclass(frozen=True)
class _Unit:
    """One piece of a cited entry's data a claim is checked on: an outcome row (``rates`` in
    percent) or a comparison (``side``: +1 favours the intervention, -1 the comparator, 0
    neither, ``None`` unknown; ``excludes_null``: its interval excludes no effect, ``None``
    when no test is recorded)."""

    key: str
    what: str
    hours: float | None
    when: str | None
    data: str
    rates: tuple[float, ...] = ()
    comparison: bool = False
    side: int | None = None
    excludes_null: bool | None = None
    why: str = ""

    def label(self, prefix: bool) -> str:
        where = f"{self.key}: " if prefix else ""
        when = f", {self.when}" if self.when else ""
        return f"{where}{self.what}{when}"


def _present(value: Any) -> bool:
    if value is None:
        return False
    try:
        return not bool(value != value)  # NaN
    except (TypeError, ValueError):  # pandas NA
        return False


def _get(row: Any, name: str) -> Any:
    value = row.get(name)
    return value if _present(value) else None


def _fmt(value: float) -> str:
    return f"{value:g}"


def _rate_text(r: int | None, n: int | None, percent: float | None) -> str:
    if r is not None and n:
        return f"{r}/{n} = {100 * r / n:.1f}%"
    return f"{_fmt(percent)}%" if percent is not None else "no response rate"


def _outcome_units(rec: StudyRecord, domain: str | None) -> list[_Unit]:
    """The intervention arms' outcome rows of ``rec`` in ``domain`` (rows stating none kept)."""
    units = []
    for row in rec.outcomes:
        v = row.values
        if v.get("role") == "comparator":
            continue
        if domain is not None and v.get("domain") not in (None, domain):
            continue
        r, n, p = v.get("responders"), v.get("n"), v.get("percent")
        rates = []
        if r is not None and n:
            rates.append(100 * r / n)
        if p is not None:
            rates.append(float(p))
        what = ", ".join(x for x in (v.get("arm"), v.get("measure") or v.get("domain")) if x)
        units.append(
            _Unit(
                rec.key,
                what or "outcome row",
                v.get("time"),
                v.get("time_text"),
                _rate_text(r, n, p),
                rates=tuple(rates),
            )
        )
    return units


def _side_of_scale(protocol: Protocol, measure: str | None) -> int | None:
    """+1 when higher is better on ``measure``, -1 when higher is worse, else ``None``."""
    direction = protocol.direction(measure)
    return {"higher-is-better": 1, "higher-is-worse": -1}.get(direction or "")


def _sign(x: float) -> int:
    return (x > _EPS) - (x < -_EPS)


def _arm_unit(row: Any, protocol: Protocol) -> tuple[str, int | None, str]:
    """Data text, favourable side and why it is unknown, of an arm-pair comparison."""
    if row["type"] == "binary":
        rates = []
        texts = []
        for side in ("i", "c"):
            events, n, percent = (_get(row, f"{x}_{side}") for x in ("events", "n", "percent"))
            if events is not None and n:
                rates.append(events / n)
                texts.append(f"{events}/{n}")
            elif percent is not None:
                rates.append(percent / 100)
                texts.append(f"{_fmt(percent)}%")
            else:
                return "response not recorded", None, "no response rate in an arm"
        return " vs ".join(texts), _sign(rates[0] - rates[1]), ""
    mean_i, mean_c = _get(row, "mean_i"), _get(row, "mean_c")
    if mean_i is None or mean_c is None:
        return "means not recorded", None, "no mean in an arm"
    data = f"mean {_fmt(mean_i)} vs {_fmt(mean_c)}"
    scale = _side_of_scale(protocol, _get(row, "measure"))
    if scale is None:
        return data, None, "the scale's direction is not declared"
    return data, scale * _sign(mean_i - mean_c), ""


def _reported_unit(row: Any, protocol: Protocol) -> tuple[str, int | None, bool | None, str]:
    """Data text, favourable side, whether the interval excludes no effect, and why the side
    is unknown, of a reported result."""
    effect, estimate = row["effect"], float(row["estimate"])
    ratio = effect in RATIO_MEASURES
    null = 1.0 if ratio else 0.0
    low, high, se, p = (_get(row, c) for c in ("ci_low", "ci_high", "se", "p"))
    data = f"{effect} {_fmt(estimate)}"
    excludes: bool | None = None
    if low is not None and high is not None:
        data += f" ({_fmt(low)} to {_fmt(high)})"
        excludes = low > null or high < null
    elif se is not None:
        data += f" (SE {_fmt(se)})"
        centre = math.log(estimate) if ratio and estimate > 0 else estimate  # SE of log(ratio)
        excludes = abs(centre) / se > _Z
    if p is not None:
        data += f", p = {_fmt(p)}"
        if excludes is None:
            excludes = p < 0.05
    if effect in _RESPONSE_MEASURES:
        scale: int | None = 1
    elif effect in _SCALE_MEASURES:
        scale = _side_of_scale(protocol, _get(row, "measure"))
    else:
        scale = None
    if scale is None:
        why = (
            "the scale's direction is not declared"
            if effect in _SCALE_MEASURES
            else f"which side of {effect} is favourable is not known"
        )
        return data, None, excludes, why
    return data, scale * _sign(estimate - null), excludes, ""


def _comparison_units(
    key: str,
    contrasts: pd.DataFrame,
    protocol: Protocol,
    domain: str | None,
    comparator: str | None,
    conditions: Sequence[str] | None,
) -> list[_Unit]:
    """The comparisons of entry ``key`` in ``domain``, against ``comparator``, about one of
    ``conditions`` (a result stating no domain or condition is kept)."""
    units = []
    for row in contrasts[contrasts["key"] == key].to_dict("records"):
        if domain is not None and _get(row, "domain") not in (None, domain):
            continue
        if comparator is not None and _get(row, "comparator_agent") != comparator:
            continue
        condition = _get(row, "condition")
        if conditions and condition is not None and condition not in conditions:
            continue
        what = ", ".join(
            str(x)
            for x in (row["contrast"], _get(row, "measure"), condition)
            if x is not None and x != "(not stated)"
        )
        if row["source"] == "reported":
            data, side, excludes, why = _reported_unit(row, protocol)
        else:
            data, side, why = _arm_unit(row, protocol)
            excludes = None
        units.append(
            _Unit(
                key,
                what,
                _get(row, "time_hours"),
                _get(row, "time"),
                data,
                comparison=True,
                side=side,
                excludes_null=excludes,
                why=why,
            )
        )
    return units


# ---------------------------------------------------------------------------- the checks


def _joined(parts: Iterable[tuple[str, str]], prefix: bool, empty: str) -> str:
    shown = [f"{key}: {text}" if prefix else text for key, text in parts]
    return "; ".join(shown) if shown else empty


def _verdict(recorded: bool, supported: bool) -> str:
    return SUPPORTED if supported else CONTRADICTED if recorded else NOT_IN_SOURCE


def _check_year(year: int, recs: list[StudyRecord], prefix: bool) -> tuple[str, str]:
    found = [(r.key, str(r.values["year"])) for r in recs if r.values.get("year") is not None]
    ok = any(r.values.get("year") == year for r in recs)
    return _joined(found, prefix, "no year recorded"), _verdict(bool(found), ok)


def _check_list(
    name: str, wanted: list[str], recs: list[StudyRecord], prefix: bool
) -> tuple[str, str]:
    found = [(r.key, ", ".join(r.values[name])) for r in recs if r.values.get(name)]
    have = {item for r in recs for item in r.values.get(name) or ()}
    ok = bool(have) and set(wanted) <= have
    return _joined(found, prefix, f"no {name} recorded"), _verdict(bool(found), ok)


def _comparators(rec: StudyRecord, protocol: Protocol) -> tuple[list[str], bool]:
    """The comparator agents of an entry (arms and reported results), and whether its arms or
    results are recorded at all."""
    agents: list[str] = []
    arms = rec.values.get("arms") or []
    for arm in arms:
        agent = protocol.agent_of(arm)
        if agent is not None and protocol.role(agent) == "comparator":
            agents.append(agent)
    for row in rec.effects:
        agent = row.values.get("comparator_agent")
        if agent is not None:
            agents.append(agent)
    return list(dict.fromkeys(agents)), bool(arms) or bool(rec.effects)


def _check_comparator(
    agent: str, recs: list[StudyRecord], protocol: Protocol, prefix: bool
) -> tuple[str, str]:
    found, recorded, ok = [], False, False
    for rec in recs:
        agents, known = _comparators(rec, protocol)
        recorded = recorded or known
        ok = ok or agent in agents
        if agents:
            found.append((rec.key, ", ".join(agents)))
        elif known:
            arms = "; ".join(rec.values.get("arms") or [])
            found.append((rec.key, f"no comparator (arms: {arms})" if arms else "no comparator"))
    return _joined(found, prefix, "no arms or comparisons recorded"), _verdict(recorded, ok)


def _check_n(n: int, recs: list[StudyRecord], prefix: bool) -> tuple[str, str]:
    found, values = [], []
    for rec in recs:
        parts = []
        for name in ("n_enrolled", "n_analysed"):
            if rec.values.get(name) is not None:
                parts.append(f"{name} {rec.values[name]}")
                values.append(rec.values[name])
        rows = [r.values["n"] for r in (*rec.outcomes, *rec.effects) if r.values.get("n")]
        if rows:
            parts.append("rows' n " + ", ".join(map(str, rows)))
            values.extend(rows)
        if parts:
            found.append((rec.key, ", ".join(parts)))
    return _joined(found, prefix, "no participants recorded"), _verdict(bool(values), n in values)


def _percent_matches(asserted: float, written: str, rate: float) -> bool:
    """Whether ``rate`` (percent) rounds to ``asserted`` as the claim wrote it."""
    if asserted in (0.0, 100.0):
        return abs(rate - asserted) <= _EPS
    digits = written.removesuffix("%").strip()
    decimals = len(digits.partition(".")[2])
    return abs(rate - asserted) <= 0.5 * 10.0**-decimals + _EPS


def _in_quantifier(word: str, rate: float) -> bool:
    low, high, open_low = QUANTIFIERS[word]
    above = rate > low + _EPS if open_low else rate >= low - _EPS
    return above and rate <= high + _EPS


def _timed(units: list[_Unit], claim: dict[str, Any]) -> list[_Unit]:
    """The units measured at the claim's ``time`` and ``within`` when there are any, else
    all of them."""
    at = [u for u in units if _time_ok(u, claim, ("time", "within"))]
    return at or units


def _time_ok(unit: _Unit, claim: dict[str, Any], names: Iterable[str]) -> bool:
    for name in names:
        hours = claim.get(name)
        if hours is None:
            continue
        if unit.hours is None:
            return False
        if name == "time" and not math.isclose(unit.hours, hours, rel_tol=1e-9):
            return False
        if name == "within" and unit.hours > hours + _EPS:
            return False
        if name == "lasting" and unit.hours < hours - _EPS:
            return False
    return True


def _direction_verdict(direction: str, unit: _Unit) -> str:
    if direction == "no-difference":
        if unit.excludes_null is None:
            return NOT_IN_SOURCE
        return CONTRADICTED if unit.excludes_null else SUPPORTED
    if unit.side is None:
        return NOT_IN_SOURCE
    if direction == "worse":
        return SUPPORTED if unit.side < 0 else CONTRADICTED
    if unit.side <= 0:
        return CONTRADICTED
    if direction == "better":
        return SUPPORTED
    if unit.excludes_null is None:
        return NOT_IN_SOURCE
    return SUPPORTED if unit.excludes_null else CONTRADICTED


@dataclass
class _Checker:
    """The checks of one claim: its assertions (typed values and their text) and the cited
    entries' data."""

    claim: dict[str, Any]
    written: dict[str, str]
    recs: list[StudyRecord]
    contrasts: pd.DataFrame
    protocol: Protocol
    checks: list[Check] = field(default_factory=list)

    @property
    def prefix(self) -> bool:
        """Whether ``found`` names each entry (the claim cites several)."""
        return len(self.claim.get("cites", ())) > 1

    def add(self, attribute: str, found: str, verdict: str) -> None:
        asserted = self.written.get(attribute, "")
        if attribute == "percent" and not asserted.endswith("%"):
            asserted += "%"
        self.checks.append(Check(attribute, asserted, found, verdict))

    def run(self) -> tuple[Check, ...]:
        c, recs, prefix = self.claim, self.recs, self.prefix
        domain, conditions = c.get("domain"), c.get("conditions")
        rows = [u for rec in recs for u in _outcome_units(rec, domain)]
        comparisons = [
            u
            for key in c.get("cites", ())
            for u in _comparison_units(
                key, self.contrasts, self.protocol, domain, c.get("comparator"), conditions
            )
        ]
        if c.get("year") is not None:
            self.add("year", *_check_year(c["year"], recs, prefix))
        for name in ("conditions", "route"):
            if c.get(name):
                self.add(name, *_check_list(name, c[name], recs, prefix))
        if c.get("comparator") is not None:
            self.add("comparator", *_check_comparator(c["comparator"], recs, self.protocol, prefix))
        if c.get("n") is not None:
            self.add("n", *_check_n(c["n"], recs, prefix))
        # The units that bear out the claim's findings, at any time: its timing is checked
        # on them (the claim's 83% is at 24 h, not within an hour).
        bearing: list[_Unit] = []
        all_rated = [u for u in rows if u.rates]
        rated = [u for u in _timed(rows, c) if u.rates]
        if c.get("percent") is not None:
            percent, written = c["percent"], self.written["percent"]
            hits = [u for u in rated if any(_percent_matches(percent, written, r) for r in u.rates)]
            bearing += [
                u for u in all_rated if any(_percent_matches(percent, written, r) for r in u.rates)
            ]
            found = self._listed(rated, "no response rate recorded")
            self.add("percent", found, _verdict(bool(rated), bool(hits)))
        if c.get("quantifier") is not None:
            word = c["quantifier"]
            hits = [u for u in rated if _in_quantifier(word, u.rates[0])]
            bearing += [u for u in all_rated if _in_quantifier(word, u.rates[0])]
            found = self._listed(rated, "no response rate recorded")
            self.add("quantifier", found, _verdict(bool(rated), bool(hits)))
        direction_checks = []
        if c.get("direction") is not None:
            direction = c["direction"]
            bearing += [u for u in comparisons if _direction_verdict(direction, u) == SUPPORTED]
            timed = _timed(comparisons, c)
            for unit in timed:
                verdict = _direction_verdict(direction, unit)
                why = f" ({unit.why})" if verdict == NOT_IN_SOURCE and unit.why else ""
                if verdict == NOT_IN_SOURCE and not why and unit.excludes_null is None:
                    why = " (no interval, SE or p recorded)"
                found = f"{unit.label(prefix)}: {unit.data}{why}"
                direction_checks.append(("direction", found, verdict))
            if not timed:
                direction_checks.append(
                    ("direction", "no comparison or change recorded", NOT_IN_SOURCE)
                )
        for name in ("time", "within", "lasting"):
            if c.get(name) is None:
                continue
            pool = bearing or rows + comparisons
            with_time = [u for u in pool if u.hours is not None]
            ok = any(_time_ok(u, c, (name,)) for u in with_time)
            found = "; ".join(
                dict.fromkeys(f"{u.key + ': ' if prefix else ''}{u.when}" for u in with_time)
            )
            self.add(name, found or "no time recorded", _verdict(bool(with_time), ok))
        for attribute, found, verdict in direction_checks:
            self.add(attribute, found, verdict)
        return tuple(self.checks)

    def _listed(self, units: list[_Unit], empty: str) -> str:
        return "; ".join(f"{u.label(self.prefix)}: {u.data}" for u in units) or empty


def check_claims(base: EvidenceBase) -> list[Claim]:
    """Every claim of every entry of ``base``, in file order, checked against the entries it
    cites (see the module docstring for each check, and :func:`claim_verdict`).

    Claims whose rows have errors are checked on what could be read; a cited key that no
    entry has (an error, ``claims.cite-unknown``) contributes no data.
    """
    by_key: dict[str, StudyRecord] = {}
    for rec in base.records:
        by_key.setdefault(rec.key, rec)
    with_claims = [rec for rec in base.records if rec.claims]
    contrasts = base.contrasts if with_claims else None
    out = []
    for rec in with_claims:
        for row in rec.claims:
            out.append(_claim(rec, row, by_key, contrasts, base.protocol))
    return out


def _claim(
    rec: StudyRecord,
    row: ClaimRecord,
    by_key: dict[str, StudyRecord],
    contrasts: Any,
    protocol: Protocol,
) -> Claim:
    v = row.values
    cites = tuple(v.get("cites", ()))
    recs = [by_key[k] for k in cites if k in by_key]
    checks: tuple[Check, ...] = ()
    if cites:
        checks = _Checker(v, v.get("written", {}), recs, contrasts, protocol).run()
    return Claim(
        entry=rec.key,
        id=str(v.get("id", "")),
        text=decode(v.get("text")) or "",
        cites=cites,
        checks=checks,
        verdict=claim_verdict(checks, cites),
        override=v.get("verdict"),
        reason=decode(v.get("reason")) if v.get("verdict") else None,
        line=row.line,
    )


#: Columns of :func:`claims_table`, in order.
CLAIM_COLUMNS: tuple[str, ...] = (
    "entry",
    "id",
    "text",
    "cites",
    "attribute",
    "asserted",
    "found",
    "check",
    "verdict",
    "override",
    "reason",
    "line",
)


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """One row per check of each claim (a claim without checks: one row, its check columns
    empty); columns :data:`CLAIM_COLUMNS`. ``cites`` is the cited keys joined by ``; `` (or
    ``none``),
    ``check`` the check's verdict, ``verdict`` the claim's computed verdict and ``override``
    the analyst's."""
    import pandas as pd

    rows = []
    for claim in claims:
        head = {
            "entry": claim.entry,
            "id": claim.id,
            "text": claim.text,
            "cites": "; ".join(claim.cites) or NO_SOURCE,
            "verdict": claim.verdict,
            "override": claim.override,
            "reason": claim.reason,
            "line": claim.line,
        }
        checks = claim.checks or (None,)
        for check in checks:
            row = dict(head)
            if check is not None:
                row.update(
                    attribute=check.attribute,
                    asserted=check.asserted,
                    found=check.found,
                    check=check.verdict,
                )
            rows.append(row)
    frame = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))
    types: dict[str, Any] = {c: "string" for c in CLAIM_COLUMNS}
    types.update(
        line="Int64",
        check=pd.CategoricalDtype(list(CHECK_VERDICTS)),
        verdict=pd.CategoricalDtype(list(CLAIM_VERDICTS)),
        override=pd.CategoricalDtype(list(CLAIM_VERDICTS)),
    )
    return frame.astype(types)
