"""DataFrames → text for terminals and pipes (text, CSV, JSON). Returns strings; never prints."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

__all__ = [
    "FORMULA_STARTS",
    "claims_summary",
    "csv_text",
    "markdown_table",
    "render_claims",
    "render_table",
]


def _jsonable(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()  # numpy scalar
    return value


#: First characters that make a spreadsheet read a text cell as a formula (OWASP, "CSV
#: Injection"); such cells get a leading ``'`` in CSV output unless ``raw``.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_CSV_SPECIAL = (",", '"', "\n", "\r")


def _csv_field(value: object, raw: bool) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        text = value
        if not raw and text.startswith(FORMULA_STARTS):
            text = "'" + text
    else:
        text = str(value.item() if hasattr(value, "item") else value)  # numbers stay numbers
    if any(ch in text for ch in _CSV_SPECIAL):
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_text(frame: pd.DataFrame, *, raw: bool = False) -> str:
    """``frame`` as CSV (RFC 4180 quoting, LF line ends, missing values empty).

    Safe to open in a spreadsheet: a text cell beginning with ``=``, ``+``, ``-``, ``@``, tab
    or CR gets a leading single quote, so it is shown as text instead of run as a formula (the
    OWASP recommendation for CSV injection); numbers are written as numbers. ``raw=True``
    writes text cells unchanged, for pipelines. Every field holding a comma, a quote, LF or CR
    (a bare CR too) is quoted, so strict readers (Python's :mod:`csv`, pandas) read back the
    same rows and columns.
    """
    lines = [",".join(_csv_field(str(c), True) for c in frame.columns)]
    for row in frame.astype(object).itertuples(index=False, name=None):
        lines.append(",".join(_csv_field(v, raw) for v in row))
    return "\n".join(lines) + "\n"


def render_table(
    frame: pd.DataFrame, fmt: str = "text", max_colwidth: int = 48, *, raw: bool = False
) -> str:
    """Render ``frame`` as ``text`` (aligned columns), ``csv`` or ``json`` (list of records).

    Missing values are empty in text and CSV and ``null`` in JSON; CSV and JSON keep full
    values, text truncates long cells to ``max_colwidth`` characters. CSV is made safe for
    spreadsheets unless ``raw`` (see :func:`csv_text`).
    """
    if fmt == "csv":
        return csv_text(frame, raw=raw)
    if fmt == "json":
        records = [
            {col: _jsonable(val) for col, val in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if frame.empty:
        return "(no rows)"
    shown = frame.astype(object).where(frame.notna(), "")
    for col in shown.columns:
        if pd.api.types.is_float_dtype(frame[col].dtype):
            shown[col] = [f"{v:.3g}" if v != "" else "" for v in shown[col]]
    return shown.to_string(index=False, max_colwidth=max_colwidth)


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub-flavoured Markdown table (``|`` in cells escaped)."""

    def cell(value: object) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return ""
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body])


def _short(value: str | None, width: int = 70) -> str:
    if value is None:
        return "(absent)"
    text = " ".join(value.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_comparison(result, old_name: str, new_name: str) -> str:
    """Human-readable text of an :class:`evidence.comparison.Comparison`."""
    lines = [f"--- {old_name}", f"+++ {new_name}"]
    if not (result.added or result.removed or result.changes):
        lines.append("no entry changed")
    for key in result.added:
        lines.append(f"+ {key} (added)")
    for key in result.removed:
        lines.append(f"- {key} (removed)")
    current = None
    for change in result.changes:
        if change.key != current:
            lines.append(f"~ {change.key}")
            current = change.key
        lines.append(f"    {change.field}: {_short(change.old)} -> {_short(change.new)}")
    for row in result.pooled:
        lines.append(
            "pooled {group}: {old} -> {new}".format(
                group=row["group"], old=row["old_text"], new=row["new_text"]
            )
        )
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    if value is None or value != value:
        return "–"
    return f"{100 * value:.1f}%"


def describe_dependence(analysis) -> str:
    """The dependence policy of an analysis, in words."""
    unit = "study arm" if analysis.effect == "proportion" else "comparison"
    policy = {
        "one-per-study": f"one row per {unit}",
        "aggregate": f"a study arm's rows combined (rho = {analysis.rho:g})",
        "multilevel": "rows within studies (multilevel model"
        + (f", {analysis.robust} robust inference)" if analysis.robust else ")"),
        "none": "every row as if independent",
    }[analysis.dependence]
    if analysis.dependence == "one-per-study":
        prefer = []
        if analysis.prefer_scales:
            prefer.append(f"preferring {', '.join(analysis.prefer_scales)}")
        if analysis.target_time:
            prefer.append(f"timepoint nearest {analysis.target_time}")
        if prefer:
            policy += f" ({'; '.join(prefer)})"
    return policy


def describe_selection(analysis) -> str:
    """One line saying what an :class:`~evidence.analysis.Analysis` selects and how it handles
    a study's several rows."""
    arm = analysis.arm
    parts = [f"{arm} arms" if arm in ("intervention", "comparator") else f"arm {arm}"]
    if arm == "all":
        parts = ["all arms"]
    if analysis.effect != "proportion":
        side = analysis.comparator
        versus = f"{side} arms" if side == "comparator" else f"arm {side}"
        parts = [f"{parts[0]} versus {versus} ({analysis.effect}, {analysis.model})"]
        if analysis.multi_arm == "combine":
            parts.append("intervention arms sharing a comparator combined")
    for label, value in (
        ("domain", analysis.domain),
        ("scale", analysis.scale),
        ("response", analysis.response),
        ("timepoint", analysis.timepoint),
    ):
        if value is not None:
            parts.append(f"{label} {value}")
    if analysis.risk_of_bias == "low":
        parts.append("results at low risk of bias only")
    parts.append(describe_dependence(analysis))
    if analysis.by:
        parts.append(f"subgroups by {analysis.by}")
    return "; ".join(parts)


def format_effect(value: float | None) -> str:
    """An effect (a ratio or a difference) as shown: two decimals, one above 100."""
    if value is None or value != value:
        return "–"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.1f}"


def formatter(analysis):
    """How an analysis's estimates are shown: percentages for proportions, else effects."""
    return _pct if analysis.effect == "proportion" else format_effect


def _where(key: object, row: object) -> str:
    if row is pd.NA or row is None or (isinstance(row, float) and row != row):
        return str(key)
    if isinstance(row, str) and row[:1].isalpha():
        return f"{key} {row}"
    return f"{key} row {row}"


def _per_study_text(report) -> list[str]:
    ps = report.per_study
    analysis = report.analysis
    fmt = formatter(analysis)
    level = analysis.level
    if report.comparative:
        out = [f"Per-study effects ({analysis.effect}, {level:.0%} CI)"]
        columns = {
            "study": ps["study"],
            "comparison": ps["comparison"],
            "measure": ps["measure"].astype("string").fillna(""),
            "time": ps["time"].fillna(""),
            "data": ps["data"],
            analysis.effect: [fmt(v) for v in ps["estimate"]],
        }
    else:
        ci_name = report.ci_method.replace("-", " ").title()
        if "combined" in ps.columns:
            out = [f"Per-study response rates ({level:.0%} CI of the combined rows)"]
        else:
            out = [f"Per-study response rates ({ci_name} {level:.0%} CI)"]
        columns = {
            "study": ps["study"],
            "arm": ps["arm"],
            "domain": ps["domain"].astype("string").fillna(""),
            "measure": ps["measure"].astype("string").fillna(""),
            "time": ps["time"].fillna(""),
            "responders/n": [
                f"{r}/{n}" if r is not pd.NA else f"{c} rows combined"
                for r, n, c in zip(
                    ps["responders"],
                    ps["n"],
                    ps["combined"] if "combined" in ps.columns else [None] * len(ps),
                    strict=True,
                )
            ],
            "rate": [fmt(v) for v in ps["rate"]],
        }
    if not len(ps):
        return [*out, "(no rows to pool)"]
    columns["CI"] = [
        f"{fmt(a)} to {fmt(b)}" for a, b in zip(ps["ci_low"], ps["ci_high"], strict=True)
    ]
    columns["weight"] = [f"{w:.1f}%" for w in ps["weight"]]
    return [*out, pd.DataFrame(columns).to_string(index=False)]


def render_pool(report) -> str:
    """Human-readable text of an :class:`evidence.pooling.PoolReport`."""
    analysis = report.analysis
    fmt = formatter(analysis)
    level = analysis.level
    out = [f"Analysis {analysis.name!r}: {analysis.label}", f"  {describe_selection(analysis)}"]
    out += ["", *_per_study_text(report)]
    res = report.overall
    if res is not None:
        how = (
            f"{analysis.effect}, {analysis.model}, {res.method}, {res.test}"
            if report.comparative
            else f"{res.measure}, {res.method}, {res.test}"
        )
        out.append("")
        out.append(f"Pooled ({how}): {fmt(res.estimate)} [{fmt(res.ci_low)} to {fmt(res.ci_high)}]")
        if res.pi_low is not None:
            out.append(
                f"  {level:.0%} prediction interval: {fmt(res.pi_low)} to {fmt(res.pi_high)}"
            )
        out.append(f"  k = {res.k}, N = {res.n_total if res.n_total is not None else 'not known'}")
        if hasattr(res, "sigma2_study"):
            robust = (
                f"; {res.robust} cluster-robust inference, df = {res.df:.4g}" if res.robust else ""
            )
            out.append(
                f"  sigma² between studies = {res.sigma2_study:.4g}, rows within studies = "
                f"{res.sigma2_row:.4g} ({res.n_studies} studies){robust}"
            )
            out.append(
                f"  I² = {res.i2:.1f}% (between studies {res.i2_study:.1f}%, within "
                f"{res.i2_row:.1f}%)"
            )
        else:
            out.append(
                f"  tau² = {res.tau2:.4g}, tau = {res.tau:.4g}, I² = {res.i2:.1f}%, "
                f"H² = {res.h2:.3g}"
            )
        df = "–" if res.q_df is None else res.q_df
        out.append(f"  Q = {res.q:.4g} (df = {df}, p = {res.q_pvalue:.3g})")
    if report.group_fits:
        out.append("")
        out.append(f"Subgroups by {report.by}")
        fits = report.group_fits.values()
        table = pd.DataFrame(
            {
                report.by: list(report.group_fits),
                "k": [f.k for f in fits],
                "N": [f.n_total for f in fits],
                "estimate" if report.comparative else "rate": [fmt(f.estimate) for f in fits],
                "CI": [f"{fmt(f.ci_low)} to {fmt(f.ci_high)}" for f in fits],
                "I²": [f"{f.i2:.1f}%" for f in fits],
            }
        )
        out.append(table.to_string(index=False))
        if report.subgroups is not None:
            for row in report.subgroups.tests_frame().itertuples(index=False):
                df = f"{row.df1:g}" + (f", {row.df2:g}" if row.df2 == row.df2 else "")
                out.append(
                    f"  test for subgroup differences, {row.test}: {row.distribution} = "
                    f"{row.statistic:.4g} (df = {df}, p = {row.pvalue:.3g})"
                )
        if report.subgroup_note:
            out.append(f"  {report.subgroup_note}")
    moved = report.decisions[report.decisions["action"].ne("used")]
    if len(moved):
        out.append("")
        out.append("Rows dropped or combined (dependence policy)")
        for row in moved.itertuples(index=False):
            out.append(f"  {_where(row.key, row.row)} ({row.arm}): {row.action}: {row.reason}")
    if report.sensitivity is not None:
        out.append("")
        out.append("Sensitivity to the assumed correlation (aggregate)")
        for row in report.sensitivity.itertuples(index=False):
            out.append(
                f"  rho = {row.rho:g}: {fmt(row.estimate)} "
                f"[{fmt(row.ci_low)} to {fmt(row.ci_high)}]"
            )
    if report.beside is not None and len(report.beside):
        out.append("")
        out.append("Reviews' pooled results (shown beside, never pooled with the studies)")
        for row in report.beside.itertuples(index=False):
            what = ", ".join(
                str(x)
                for x in (row.condition, row.domain, row.measure, row.time)
                if x is not None and x is not pd.NA
            )
            out.append(
                f"  {row.key} ({what}): {row.effect} {fmt(row.estimate)} "
                f"[{fmt(row.ci_low)} to {fmt(row.ci_high)}]"
            )
    if len(report.selection.excluded):
        out.append("")
        out.append("Not pooled")
        for row in report.selection.excluded.itertuples(index=False):
            out.append(f"  {_where(row.key, row.row)}: {row.reason}")
    return "\n".join(out)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return [
        {col: _jsonable(val) for col, val in zip(frame.columns, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


def pool_to_dict(report) -> dict[str, object]:
    """JSON-ready structure of an :class:`evidence.pooling.PoolReport`."""
    overall = None
    if report.overall is not None:
        overall = {k: _jsonable(v) for k, v in report.overall.to_dict().items()}
    subgroups = tests = None
    if report.group_fits:
        subgroups = [
            {"group": group, **{k: _jsonable(v) for k, v in fit.to_dict().items()}}
            for group, fit in report.group_fits.items()
        ]
    if report.subgroups is not None:
        tests = _records(report.subgroups.tests_frame())
    return {
        "analysis": report.analysis.to_dict(),
        "per_study": _records(report.per_study),
        "pooled": overall,
        "subgroups": subgroups,
        "subgroup_tests": tests,
        "subgroup_note": report.subgroup_note or None,
        "rows": _records(report.decisions),
        "excluded": _records(report.selection.excluded),
        "sensitivity": None if report.sensitivity is None else _records(report.sensitivity),
        "beside": None if report.beside is None else _records(report.beside),
        "warnings": list(report.warnings),
    }


def render_protocol(protocol, analyses) -> str:
    """Text of a :class:`evidence.protocol.Protocol` and the analyses in force."""
    out = [f"Protocol: {protocol.where}"]
    if protocol.title:
        out.append(f"  title: {protocol.title}")
    if protocol.question:
        out.append(f"  question: {protocol.question}")
    if protocol.citation_style:
        out.append(f"  citation style: {protocol.citation_style}")
    out.append("")
    out.append("Vocabularies")
    from evidence.schema import VOCABULARIES

    for name, (level, field_name, generic) in VOCABULARIES.items():
        terms = protocol.terms(name)
        where = (
            f"{level} field {field_name!r}" if level == "study" else f"outcome key {field_name!r}"
        )
        specs = protocol.study_specs if level == "study" else protocol.outcome_specs
        package = [v for v in specs[field_name].choices or () if protocol.term(name, v) is None]
        if terms is None:
            state = (
                "package values: " + ", ".join(package)
                if generic
                else "not declared: any label is accepted"
            )
            out.append(f"  {name} ({where}): {state}")
            continue
        if generic:
            out.append(f"  {name} ({where}): package values {', '.join(package)}, and")
        else:
            out.append(f"  {name} ({where}): declared")
        for t in terms:
            extra = ", ".join(x for x in (t.name, t.direction or t.role or "", t.description) if x)
            out.append(f"    {t.value}" + (f": {extra}" if extra else ""))
    out.append("")
    declared = "declared" if protocol.analyses else "defaults: none declared"
    out.append(f"Analyses ({declared})")
    for a in analyses:
        mark = " [headline]" if a.headline else ""
        out.append(f"  {a.name}{mark}: {a.label}")
        out.append(f"    {describe_selection(a)}")
        out.append(
            f"    {a.measure}, {a.method}, {a.test}, level {a.level:g}, per-row CI {a.ci_method}"
        )
    grade = protocol.grade
    if grade.plans:
        out.append("")
        out.append(
            f"GRADE (judgements and assumptions; OIS α {grade.alpha:g}, power {grade.power:g})"
        )
        for name, plan in grade.plans.items():
            for key, value in plan.settings.items():
                out.append(f"  {name}: {key} = {value:g}")
            for domain, judgement in plan.judgements.items():
                out.append(f"  {name}: {domain} {judgement.rating}: {judgement.reason}")
    return "\n".join(out)


def render_leave_one_out(frame: pd.DataFrame) -> str:
    """Text of a leave-one-out table (:func:`evidence.stats.leave_one_out`)."""
    shown = pd.DataFrame(
        {
            "omitted": frame["omitted"],
            "k": frame["k"],
            "rate": [_pct(v) for v in frame["estimate"]],
            "CI": [
                f"{_pct(a)} to {_pct(b)}"
                for a, b in zip(frame["ci_low"], frame["ci_high"], strict=True)
            ],
            "I²": [f"{v:.1f}%" for v in frame["i2"]],
            "tau²": [f"{v:.3g}" for v in frame["tau2"]],
        }
    )
    return shown.to_string(index=False)


def _rating(value: int) -> str:
    return "0" if value == 0 else f"{value:d}"


def render_grade(certainties, summary: pd.DataFrame, where: str) -> str:
    """Text of the GRADE certainty of each analysis (:func:`evidence.grade.grade`) with its
    row of the summary of findings (:func:`evidence.grade.summary_of_findings`): the start,
    each domain's rating beside its draft, the trigger and the reason, and the certainty
    beside the draft's."""
    out = [
        "Certainty of the evidence (GRADE): ratings drafted from the numbers; the analyst's "
        f"judgements from {where}",
    ]
    rows = {row["analysis"]: row for row in summary.to_dict("records")}
    for c in certainties:
        row = rows.get(c.analysis, {})
        out += ["", f"{c.analysis}: {c.title}"]
        if c.level is None:
            out.append(f"  {c.start_reason}")
            continue
        n = row.get("participants")
        shown_n = "not known" if n is None or n is pd.NA else n
        out.append(f"  k = {row.get('k')}, N = {shown_n}; {row.get('relative_effect')}")
        absolute = row.get("absolute_effect")
        if isinstance(absolute, str) and absolute != "–":
            out.append(f"  absolute: {absolute}")
        out.append(f"  start: {c.start} ({c.start_reason})")
        for d in c.domains:
            if d.declared:
                out.append(
                    f"  {d.name}: {_rating(d.judged)}, judged by the analyst "
                    f"(draft {_rating(d.draft)}): {d.reason}"
                )
                out.append(f"    draft: {d.trigger} ({d.rule})")
            else:
                out.append(f"  {d.name}: {_rating(d.judged)} (draft; {d.rule}): {d.trigger}")
        out.append(f"  certainty: {c.symbols} {c.level} (draft: {c.draft_symbols} {c.draft_level})")
    return "\n".join(out)


def _aligned(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    """Rows of text cells in left-aligned columns (two spaces apart; the last not padded)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        indent
        + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        + ("  " if widths else "")
        + row[-1]
        for row in rows
    ]


def render_claims(claims) -> str:
    """Text of :func:`evidence.claims.check_claims`: each claim with its verdict (and the
    analyst's, with the reason), its text, what it cites and a table of its checks."""
    if not claims:
        return "(no claims)"
    out = []
    for claim in claims:
        head = f"{claim.entry} {claim.id}: {claim.verdict}"
        if claim.override is not None:
            head += f" (analyst: {claim.override})"
        out += [head, f'  "{claim.text}"', f"  cites: {', '.join(claim.cites) or 'none'}"]
        if claim.override is not None:
            out.append(f"  analyst's reason: {claim.reason or '(none given)'}")
        if claim.checks:
            rows = [("attribute", "asserted", "found", "check")]
            rows += [(c.attribute, c.asserted, c.found, c.verdict) for c in claim.checks]
            out += _aligned(rows)
    return "\n".join(out)


def claims_summary(claims) -> str:
    """``N claims: n verdict, …`` in the order of the verdicts, and the analyst's verdicts."""
    from evidence.schema import CLAIM_VERDICTS

    counts = {v: sum(c.verdict == v for c in claims) for v in CLAIM_VERDICTS}
    parts = [f"{n} {v}" for v, n in counts.items() if n]
    text = f"{len(claims)} claim{'' if len(claims) == 1 else 's'}"
    text += ": " + ", ".join(parts) if parts else ""
    overridden = sum(c.override is not None for c in claims)
    if overridden:
        text += f"; {overridden} with an analyst's verdict"
    return text
