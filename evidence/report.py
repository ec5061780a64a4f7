"""The evidence report: one self-contained HTML page (Jinja2 templates, inline SVG figures).

:func:`render_report` lays out what the workbook holds for the people an analyst reports to:
the question and protocol, what the evidence base holds, each headline analysis (a methods
paragraph generated from its :class:`~evidence.analysis.Analysis` with the methods' citations,
the result in words and numbers, the forest plot, heterogeneity, subgroups, leave-one-out, what
was left out and why), risk of bias, the studies, and the references in the protocol's citation
style. Each section appears when its data exists.

The page works offline and by e-mail: the styles and the figures (SVG) are inline, nothing is
fetched, and no script runs. Every study mention links to its reference, and every reference
names its citation key and its line in the ``.bib`` file. Numbers come from the same objects as
the workbook's (:mod:`evidence.summary`, the pool reports); each headline number is also
marked up as ``<data class="stat" data-analysis=NAME data-stat=NAME value=VALUE>`` (to
:data:`~evidence.summary.DIGITS` significant digits) so that it can be checked by machine. The
same inputs give the same bytes.

The templates are ``evidence/templates/report.html.j2`` and ``report.css``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from evidence import summary
from evidence.files import write_atomically

if TYPE_CHECKING:  # pragma: no cover
    from evidence.base import EvidenceBase
    from evidence.pooling import PoolReport

__all__ = ["Figure", "inline_svg", "render_report", "write_report"]

TEMPLATES = Path(__file__).with_name("templates")

_LEVEL_WORDS = {"proportion": "response rate"}
#: Leave one out is refitted and tabulated for analyses of at most this many pooled units; a
#: larger one would cost a fit per unit and a table no reader goes through (it is a note then).
LEAVE_ONE_OUT_MAX = 80


@dataclass(frozen=True)
class Figure:
    """A figure of the page: its id, inline SVG markup, alternative text and caption."""

    id: str
    svg: str
    alt: str
    caption: str


# ------------------------------------------------------------------------------- figures

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|xlink:href="#|href="#)([^")]+)')
_SIZE = re.compile(r'<svg\b([^>]*?)\swidth="([\d.]+)pt"\s+height="([\d.]+)pt"')


def inline_svg(svg: str, prefix: str, title: str) -> str:
    """A matplotlib SVG document as markup to put inside HTML.

    The XML prolog, the DOCTYPE and the metadata go; every element id (and every reference to
    one) gets ``prefix`` so that several figures on one page never share an id (an id repeated
    within the figure is numbered: ``-2``, ``-3``…); the fixed size
    becomes a width of 100% capped at the drawn size (the height follows from the viewBox);
    the figure becomes ``role="img"`` labelled by a ``<title>`` holding ``title``.
    """
    from html import escape

    text = _METADATA.sub("", _PROLOG.sub("", svg, count=1), count=1)
    seen: dict[str, int] = {}

    def unique(match: re.Match[str]) -> str:
        # matplotlib repeats an artist's gid on each element it draws (several texts of one
        # label): number the repeats, so that the page's ids stay unique
        name = match.group(1)
        seen[name] = seen.get(name, 0) + 1
        suffix = f"-{seen[name]}" if seen[name] > 1 else ""
        return f'id="{prefix}-{name}{suffix}"'

    text = _ID.sub(unique, text)
    text = _REF.sub(lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    match = _SIZE.search(text)
    if match is not None:
        attrs, width = match.group(1), match.group(2)
        text = (
            text[: match.start()]
            + f'<svg{attrs} width="100%" style="max-width: {width}pt; height: auto"'
            + text[match.end() :]
        )
    head = text.index(">", text.index("<svg")) + 1
    label = f"{prefix}-title"
    text = (
        text[: head - 1]
        + f' role="img" aria-labelledby="{label}">'
        + f'<title id="{label}">{escape(title)}</title>'
        + text[head:]
    )
    return text.rstrip() + "\n"


def _draw_figures(base: EvidenceBase, reports: Sequence[PoolReport]) -> dict[str, str]:
    """Every figure of a build, as SVG text (what ``evidence build`` writes to figures/)."""
    from evidence import charts
    from evidence.export import figures

    return {name: charts.svg_text(draw()) for name, draw in figures(base, reports)}


# -------------------------------------------------------------------------------- numbers


def _pct(value: Any) -> str:
    value = summary._value(value)
    return "–" if value is None else f"{100 * value:.1f}%"


def _effect(value: Any) -> str:
    from evidence.render import format_effect

    return format_effect(summary._value(value))


def _shown(report: PoolReport) -> Any:
    return _effect if report.comparative else _pct


@dataclass(frozen=True)
class _Stat:
    """A number of a result as the page shows it, with its value for machines."""

    analysis: str
    name: str
    value: float | int | None
    text: str


def _stats(report: PoolReport) -> dict[str, _Stat]:
    res = report.overall
    if res is None:
        return {}
    show = _shown(report)
    name = report.analysis.name

    def stat(key: str, value: Any, text: str | None = None) -> _Stat:
        value = summary._value(value)
        shown = text if text is not None else show(value)
        if isinstance(value, float):
            value = summary.written(value)
        return _Stat(name, key, value, shown)

    stats = {
        "estimate": stat("estimate", res.estimate),
        "ci_low": stat("ci_low", res.ci_low),
        "ci_high": stat("ci_high", res.ci_high),
        "k": stat("k", res.k, str(res.k)),
        "n_total": stat("n_total", res.n_total, "not known" if res.n_total is None else None),
        "i2": stat("i2", res.i2, f"{res.i2:.1f}%"),
        "q": stat("q", res.q, f"{res.q:.3g}"),
        "q_pvalue": stat("q_pvalue", res.q_pvalue, f"{res.q_pvalue:.3g}"),
        "pvalue": stat("pvalue", res.pvalue, _p(res.pvalue)),
    }
    if stats["n_total"].value is not None:
        stats["n_total"] = stat("n_total", res.n_total, f"{res.n_total:,}")
    if res.pi_low is not None:
        stats["pi_low"] = stat("pi_low", res.pi_low)
        stats["pi_high"] = stat("pi_high", res.pi_high)
    tau2 = getattr(res, "tau2", None)
    if tau2 is not None:
        stats["tau2"] = stat("tau2", tau2, f"{tau2:.3g}")
    return stats


def _p(p: float | None) -> str:
    if p is None or p != p:
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


# ----------------------------------------------------------------------------- the context


def _label_of(studies: pd.DataFrame) -> dict[str, str]:
    from evidence.pooling import _study_labels

    return _study_labels(studies)


def _frame_rows(frame: pd.DataFrame) -> list[list[Any]]:
    return [[summary._value(v) for v in row] for row in frame.itertuples(index=False)]


def _table(frame: pd.DataFrame, formats: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Columns and rows of a table, each cell as shown (``""`` for missing)."""
    formats = formats or {}
    rows = []
    for values in _frame_rows(frame):
        cells = []
        for column, value in zip(frame.columns, values, strict=True):
            show = formats.get(column)
            if value is None:
                cells.append("")
            elif show is not None:
                cells.append(show(value))
            elif isinstance(value, float) and value.is_integer():
                cells.append(f"{int(value):,}")  # a count in a column with gaps
            elif isinstance(value, int) and not isinstance(value, bool):
                cells.append(f"{value:,}")
            else:
                cells.append(str(value))
        rows.append(cells)
    return {"columns": [str(c) for c in frame.columns], "rows": rows}


def _headline(report: PoolReport) -> dict[str, Any]:
    frame = summary.headline_table(report)
    show = _shown(report)
    formats: dict[str, Any] = {c: show for c in frame.columns[3:8]}
    formats["I²"] = _pct
    formats["k"] = formats["N"] = lambda v: f"{int(v):,}"
    return _table(frame, formats)


def _per_study(report: PoolReport, labels: Mapping[str, str]) -> dict[str, Any]:
    ps = report.per_study
    show = _shown(report)
    rows = []
    for row in ps.to_dict("records"):
        low, high = row.get("ci_low"), row.get("ci_high")
        if report.comparative:
            data = summary._value(row.get("data")) or ""
            detail = summary._value(row.get("comparison")) or ""
            value = show(row.get("estimate"))
        else:
            r, n = summary._value(row.get("responders")), summary._value(row.get("n"))
            data = f"{r}/{n}" if r is not None and n is not None else ""
            detail = summary._value(row.get("arm")) or ""
            value = show(row.get("rate"))
        rows.append(
            {
                "key": row["key"],
                "study": labels.get(row["key"], row["key"]),
                "detail": detail,
                "measure": summary._value(row.get("measure")) or "",
                "time": summary._value(row.get("time")) or "",
                "data": data,
                "value": value,
                "ci": f"{show(low)} to {show(high)}",
                "weight": f"{row['weight']:.1f}%" if summary._value(row["weight"]) else "",
            }
        )
    return {
        "value": report.analysis.effect if report.comparative else "rate",
        "detail": "comparison" if report.comparative else "arm",
        "data": "data" if report.comparative else "responders/n",
        "rows": rows,
    }


def _leave_one_out(report: PoolReport) -> dict[str, Any] | None:
    from evidence.pooling import leave_one_out_table

    if report.overall is None or len(report.pooled) < 2:
        return None
    if len(report.pooled) > LEAVE_ONE_OUT_MAX:
        return {
            "note": (
                f"Leave one out is shown for analyses of at most {LEAVE_ONE_OUT_MAX} pooled "
                f"rows and this one pools {len(report.pooled)}; evidence pool --analysis "
                f"{report.analysis.name} --leave-one-out prints it."
            ),
            "rows": [],
        }
    try:
        table = leave_one_out_table(report)
    except ValueError as exc:  # a model that cannot be refitted on fewer units (GLMM, k = 2)
        return {"note": f"Leave one out is not available: {str(exc).split(' (')[0]}.", "rows": []}
    show = _shown(report)
    return {
        "note": "",
        "rows": [
            {
                "omitted": row["omitted"],
                "k": int(row["k"]),
                "estimate": show(row["estimate"]),
                "ci": f"{show(row['ci_low'])} to {show(row['ci_high'])}",
                "i2": _pct(row["i2"] / 100 if row["i2"] == row["i2"] else None),
            }
            for row in table.to_dict("records")
        ],
    }


def _subgroup_tests(report: PoolReport) -> list[str]:
    if report.subgroups is None:
        return []
    out = []
    for row in report.subgroups.tests_frame().itertuples(index=False):
        df = f"{row.df1:g}" + (f", {row.df2:g}" if row.df2 == row.df2 else "")
        out.append(
            f"Test for subgroup differences ({row.test}): {row.distribution} = "
            f"{row.statistic:.3g}, df = {df}, p = {_p(row.pvalue)}."
        )
    return out


def _where(key: Any, row: Any) -> str:
    row = summary._value(row)
    return f"row {int(row)}" if isinstance(row, (int, float)) else (str(row) if row else "")


def _left_out(report: PoolReport, labels: Mapping[str, str]) -> list[dict[str, str]]:
    out = []
    excluded = report.selection.excluded
    shown = [c for c in ("key", "row", "reason") if c in excluded.columns]
    for row in excluded[shown].to_dict("records"):
        out.append(
            {
                "key": row["key"],
                "study": labels.get(row["key"], row["key"]),
                "where": _where(row["key"], row.get("row")),
                "reason": str(row["reason"]),
            }
        )
    return out


def _decisions(report: PoolReport, labels: Mapping[str, str]) -> list[dict[str, str]]:
    moved = report.decisions[report.decisions["action"].ne("used")]
    return [
        {
            "key": row["key"],
            "study": labels.get(row["key"], row["key"]),
            "where": _where(row["key"], row.get("row")),
            "action": str(row["action"]),
            "reason": str(row["reason"]),
        }
        for row in moved.to_dict("records")
    ]


def _beside(report: PoolReport, labels: Mapping[str, str]) -> list[dict[str, str]]:
    if report.beside is None or not len(report.beside):
        return []
    show = _shown(report)
    out = []
    for row in report.beside.to_dict("records"):
        what = ", ".join(
            str(summary._value(row.get(c)))
            for c in ("condition", "domain", "measure", "time")
            if summary._value(row.get(c)) is not None
        )
        out.append(
            {
                "key": row["key"],
                "study": labels.get(row["key"], row["key"]),
                "what": what,
                "effect": f"{row['effect']} {show(row['estimate'])} "
                f"({show(row['ci_low'])} to {show(row['ci_high'])})",
            }
        )
    return out


def _result_words(report: PoolReport, stats: Mapping[str, _Stat]) -> list[Any]:
    """The result as a sentence: pieces of text and :class:`_Stat` numbers."""
    if not stats:
        return ["No result: nothing could be pooled (see what was left out below)."]
    analysis = report.analysis
    res = report.overall
    assert res is not None
    unit = "comparisons" if report.comparative else "study arms"
    what = (
        f"The pooled {analysis.effect}"
        if report.comparative
        else f"The pooled {_LEVEL_WORDS['proportion']}"
    )
    parts: list[Any] = [
        f"{what} across ",
        stats["k"],
        f" {unit if res.k != 1 else unit[:-1]} (",
        stats["n_total"],
        " participants) was ",
        stats["estimate"],
        f" ({analysis.level:.0%} CI ",
        stats["ci_low"],
        " to ",
        stats["ci_high"],
        ")",
    ]
    if "pi_low" in stats:
        parts += [
            f"; the {analysis.level:.0%} prediction interval runs from ",
            stats["pi_low"],
            " to ",
            stats["pi_high"],
        ]
    parts.append(". ")
    if res.k > 1:
        parts += ["Heterogeneity: I² = ", stats["i2"]]
        if "tau2" in stats:
            parts += [", τ² = ", stats["tau2"]]
        parts += [", Q = ", stats["q"], " (p = ", stats["q_pvalue"], ")."]
    else:
        parts.append("With one unit there is no heterogeneity to estimate.")
    if report.comparative:
        parts += [" Test of no effect: p = ", stats["pvalue"], "."]
    return parts


def _forest_alt(report: PoolReport, stats: Mapping[str, _Stat]) -> str:
    title = report.analysis.label
    if not stats:
        return f"Forest plot of {title}: nothing could be pooled."
    return (
        f"Forest plot of {title}: {stats['k'].text} pooled, overall "
        f"{stats['estimate'].text} ({report.analysis.level:.0%} CI {stats['ci_low'].text} to "
        f"{stats['ci_high'].text}), I² {stats['i2'].text}."
    )


def _analysis_context(
    base: EvidenceBase,
    report: PoolReport,
    figures: Mapping[str, str],
    labels: Mapping[str, str],
    methods_cited: dict[str, int],
) -> dict[str, Any]:
    from evidence.methods import methods

    name = report.analysis.name
    stats = _stats(report)
    sentences = []
    for sentence in methods(report):
        for key in sentence.cites:
            methods_cited.setdefault(key, len(methods_cited) + 1)
        sentences.append({"text": sentence.text, "cites": list(sentence.cites)})
    svg = figures.get(f"forest-{name}")
    figure = None
    if svg is not None:
        alt = _forest_alt(report, stats)
        figure = Figure(
            f"figure-forest-{name}",
            inline_svg(svg, f"svg-forest-{name}", alt),
            alt,
            f"Forest plot: {report.analysis.label}. Squares: each "
            f"{'comparison' if report.comparative else 'study arm'} with its CI, sized by "
            "weight; diamonds: pooled results.",
        )
    return {
        "id": f"analysis-{name}",
        "name": name,
        "title": report.analysis.label,
        "comparative": report.comparative,
        "methods": sentences,
        "result": _result_words(report, stats),
        "figure": figure,
        "headline": _headline(report) if report.overall is not None else None,
        "by": report.by,
        "subgroup_tests": _subgroup_tests(report),
        "per_study": _per_study(report, labels),
        "leave_one_out": _leave_one_out(report),
        "warnings": summary.report_warnings(report),
        "low_risk": _low_risk(base, report),
        "decisions": _decisions(report, labels),
        "left_out": _left_out(report, labels),
        "beside": _beside(report, labels),
        "sensitivity": [
            f"ρ = {row.rho:g}: {_shown(report)(row.estimate)} ({_shown(report)(row.ci_low)} "
            f"to {_shown(report)(row.ci_high)})"
            for row in report.sensitivity.itertuples(index=False)
        ]
        if report.sensitivity is not None
        else [],
    }


def _rob_context(
    base: EvidenceBase, figures: Mapping[str, str], labels: Mapping[str, str]
) -> dict[str, Any] | None:
    from evidence.rob import TOOLS

    assessed = base.studies["rob_tool"].astype("string").isin(list(TOOLS)).fillna(False)
    if not assessed.any():
        return None
    frame = summary.risk_of_bias_by_study(base)
    frame = frame[frame["tool"].astype("string").isin(list(TOOLS)).fillna(False)]
    domains = [c for c in frame.columns if c.startswith("D") and frame[c].notna().any()]
    overall = frame[frame["outcome_row"].isna()]["overall"].value_counts()
    counts = ", ".join(f"{n} {level}" for level, n in overall.items())
    figs = []
    for name, caption in (
        ("rob-traffic-light", "Risk of bias: each study's judgement per domain"),
        ("rob-summary", "Risk of bias: share of studies at each judgement, by domain"),
    ):
        if name in figures:
            alt = f"{caption}. {int(assessed.sum())} studies assessed; overall: {counts}."
            svg = inline_svg(figures[name], f"svg-{name}", alt)
            figs.append(Figure(f"figure-{name}", svg, alt, caption))
    rows = []
    for row in frame.to_dict("records"):
        value = {k: summary._value(v) for k, v in row.items()}
        outcome = value["outcome_row"]
        rows.append(
            {
                "key": value["key"],
                "study": labels.get(value["key"], value["key"]),
                "scope": "" if outcome is None else f"outcome row {int(outcome)}",
                "tool": value["tool"],
                "domains": [value.get(d) or "" for d in domains],
                "overall": value.get("overall") or "",
                "algorithm": value.get("algorithm") or "",
                "reason": value.get("reason") or "",
            }
        )
    table = {"domains": domains, "rows": rows}
    return {"table": table, "figures": figs, "n": int(assessed.sum()), "overall": counts}


def _summary_of_findings(
    base: EvidenceBase, reports: Sequence[PoolReport], figures: Mapping[str, str]
) -> dict[str, Any] | None:
    """The GRADE summary of findings (:func:`evidence.grade.summary_of_findings`): a row per
    headline analysis, the certainty beside the draft where the analyst's judgement differs,
    the footnotes once."""
    from evidence.grade import footnote_list, summary_of_findings

    table = summary_of_findings(base, reports)
    if not len(table):
        return None
    rows = []
    for row in table.to_dict("records"):
        value = {k: summary._value(v) for k, v in row.items()}
        draft = value.get("draft_certainty")
        rows.append(
            {
                "id": f"analysis-{value['analysis']}",
                "outcome": value["outcome"],
                "k": "" if value.get("k") is None else str(value["k"]),
                "participants": ""
                if value.get("participants") is None
                else f"{value['participants']:,}",
                "relative": value.get("relative_effect") or "",
                "absolute": value.get("absolute_effect") or "",
                "symbols": value.get("symbols") or "",
                "certainty": value.get("certainty") or "not rated",
                "draft": f"{value.get('draft_symbols')} {draft}"
                if draft and draft != value.get("certainty")
                else "",
                "marks": value.get("footnote_marks") or "",
            }
        )
    figure = None
    if "summary-of-findings" in figures:
        words = "; ".join(f"{r['outcome']}: {r['certainty']}" for r in rows)
        alt = f"Summary of findings with GRADE certainty. {words}."
        figure = Figure(
            "figure-summary-of-findings",
            inline_svg(figures["summary-of-findings"], "svg-summary-of-findings", alt),
            alt,
            "Summary of findings: each headline analysis with its certainty (GRADE).",
        )
    return {"rows": rows, "footnotes": footnote_list(table), "figure": figure}


def _low_risk(base: EvidenceBase, report: PoolReport) -> str:
    """The analysis re-run on results at low risk of bias only, in words."""
    from evidence.pooling import risk_of_bias_sensitivity

    row = risk_of_bias_sensitivity(base, [report]).iloc[0]
    if summary._value(row["estimate"]) is None:
        return f"Low risk of bias only: {row['note']}."
    show = _shown(report)
    return (
        f"Low risk of bias only: {show(row['estimate'])} ({show(row['ci_low'])} to "
        f"{show(row['ci_high'])}), k = {int(row['k'])}; {row['note']}."
    )


def _claims_context(base: EvidenceBase, labels: Mapping[str, str]) -> dict[str, Any] | None:
    """The claims ledger (:func:`evidence.claims.check_claims`): per document, each claim with
    what it cites, its checks and its verdict (and the analyst's, with the reason)."""
    from evidence.claims import check_claims
    from evidence.render import claims_summary

    claims = check_claims(base)
    if not claims:
        return None
    from evidence.latex import decode

    titles = {rec.key: decode(rec.bib.get("title")) or rec.key for rec in base.documents}
    documents: dict[str, dict[str, Any]] = {}
    for claim in claims:
        doc = documents.setdefault(
            claim.entry,
            {"key": claim.entry, "title": str(titles.get(claim.entry, claim.entry)), "claims": []},
        )
        doc["claims"].append(
            {
                "id": f"claim-{claim.entry}-{claim.id}",
                "label": claim.id,
                "text": claim.text,
                "cites": [(key, labels.get(key, key)) for key in claim.cites],
                "verdict": claim.verdict,
                "override": claim.override,
                "reason": claim.reason,
                "checks": [
                    {
                        "attribute": c.attribute,
                        "asserted": c.asserted,
                        "found": c.found,
                        "verdict": c.verdict,
                    }
                    for c in claim.checks
                ],
            }
        )
    return {"summary": claims_summary(claims), "documents": list(documents.values())}


_STUDY_COLUMNS = (
    "key",
    "design",
    "conditions",
    "route",
    "n_enrolled",
    "verification",
    "rob_overall",
)


def _studies(base: EvidenceBase, labels: Mapping[str, str]) -> list[dict[str, str]]:
    rows = []
    studies = base.studies
    shown = [c for c in _STUDY_COLUMNS if c in studies.columns]  # not every column: 10k rows
    for row in studies[shown].to_dict("records"):
        value = {k: summary._value(v) for k, v in row.items()}
        rows.append(
            {
                "key": value["key"],
                "study": labels.get(value["key"], value["key"]),
                "design": value.get("design") or "",
                "conditions": value.get("conditions") or "",
                "route": value.get("route") or "",
                "n": "" if value.get("n_enrolled") is None else f"{value['n_enrolled']:,}",
                "verification": value.get("verification") or "",
                "rob": value.get("rob_overall") or "",
            }
        )
    return rows


def _references(base: EvidenceBase) -> list[dict[str, Any]]:
    from evidence.citations import references

    name = Path(base.path).name
    return [
        {
            "id": f"ref-{ref.key}",
            "key": ref.key,
            "where": f"{name}:{ref.line}",
            "label": ref.label,
            "html": ref.html,
        }
        for ref in references(base)
    ]


def _method_references(base: EvidenceBase, cited: Mapping[str, int]) -> list[dict[str, Any]]:
    from evidence.citations import references, style_of
    from evidence.methods import method_references

    if not cited:
        return []
    refs = references(method_references(), list(cited), style=style_of(base.protocol))
    return [
        {"id": f"method-{ref.key}", "key": ref.key, "label": ref.label, "html": ref.html}
        for ref in refs
    ]


def _method_labels(cited: Mapping[str, int]) -> dict[str, str]:
    """``Author Year`` for each cited method publication (the link text)."""
    from evidence.methods import method_references

    studies = method_references().studies
    found = _label_of(studies)
    return {key: found.get(key, key) for key in cited}


def _context(
    base: EvidenceBase, reports: Sequence[PoolReport], figures: Mapping[str, str]
) -> dict[str, Any]:
    import evidence
    from evidence.citations import style_of

    labels = _label_of(base.studies)
    protocol = base.protocol
    name, digest, hashed = summary.source(base)
    headlines = [r for r in reports if r.analysis.headline]
    cited: dict[str, int] = {}
    analyses = [_analysis_context(base, r, figures, labels, cited) for r in headlines]
    specs = protocol.study_specs
    counts = []
    for column, label, title in (
        ("conditions", "condition", "Entries by condition (an entry with several counts in each)"),
        ("design", "design", "Entries by design"),
        ("route", "route", "Entries by route"),
    ):
        frame = summary.counts(base.studies, column, label, specs[column].choices)
        counts.append({"title": title, **_table(frame)})
    figs = {}
    for fig_name, alt in (
        (
            "evidence-map",
            "Evidence map: studies by condition and route of administration; the number in "
            "each cell counts studies, the bubble's area participants enrolled.",
        ),
        (
            "response-over-time",
            "Response rates over time since dosing, by study and arm, on each outcome.",
        ),
    ):
        if fig_name in figures:
            figs[fig_name] = Figure(
                f"figure-{fig_name}",
                inline_svg(figures[fig_name], f"svg-{fig_name}", alt),
                alt,
                alt,
            )
    style = style_of(protocol)
    return {
        "title": protocol.title or f"Evidence summary: {name}",
        "question": protocol.question,
        "source": {"name": name, "sha256": digest, "hashed": hashed},
        "protocol": protocol.source_for(base.path),
        "version": evidence.__version__,
        "style": f"{Path(style.name).name} ({style.title})",
        "overview": _table(summary.overview(base)),
        "counts": counts,
        "figures": figs,
        "analyses": analyses,
        "not_headline": [r.analysis.label for r in reports if not r.analysis.headline],
        "sof": _summary_of_findings(base, reports, figures),
        "rob": _rob_context(base, figures, labels),
        "claims": _claims_context(base, labels),
        "studies": _studies(base, labels),
        "references": _references(base),
        "method_references": _method_references(base, cited),
        "method_labels": _method_labels(cited),
        "labels": labels,
    }


# ------------------------------------------------------------------------------- the page


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["Stat"] = _Stat
    env.tests["stat"] = lambda value: isinstance(value, _Stat)
    return env


def render_report(
    base: EvidenceBase,
    reports: Sequence[PoolReport] | None = None,
    figures: Mapping[str, str] | None = None,
) -> str:
    """The report of ``base`` as one HTML document.

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (without errors).
    reports : sequence of PoolReport, optional
        The analyses' results (default: every analysis in force, run now).
    figures : mapping of str to str, optional
        SVG text of each figure by its name in ``reports/figures/`` (``forest-NAME``,
        ``evidence-map``…); default: drawn now. A figure not given is left out.
    """
    return "".join(_pieces(base, reports, figures))


def _pieces(
    base: EvidenceBase,
    reports: Sequence[PoolReport] | None = None,
    figures: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """:func:`render_report`'s document, piece by piece as the template renders it."""
    from evidence.pooling import analyses_in_force

    if reports is None:
        reports = [analysis.run(base) for analysis in analyses_in_force(base)]
    if figures is None:
        figures = _draw_figures(base, reports)
    context = _context(base, reports, figures)
    template = _environment().get_template("report.html.j2")
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return template.generate(**context, css=css)


def write_report(
    base: EvidenceBase,
    path: str | os.PathLike[str],
    reports: Sequence[PoolReport] | None = None,
    figures: Mapping[str, str] | None = None,
) -> Path:
    """Write :func:`render_report` to ``path`` atomically (UTF-8, ``\\n`` line ends),
    streamed as it renders: a report of 10,000 entries is never held whole in memory."""
    path = Path(path)
    write_atomically(path, _encoded(_pieces(base, reports, figures)))
    return path


def _encoded(pieces: Iterable[str], size: int = 4096) -> Iterator[bytes]:
    """``pieces`` in UTF-8, ``size`` at a time: jinja2 yields one per tag and value (half a
    million at 10,000 entries), each encoded and written on its own before."""
    pieces = iter(pieces)
    while batch := list(islice(pieces, size)):
        yield "".join(batch).encode("utf-8")
