"""The evidence base → an ``.xlsx`` workbook for people (openpyxl).

One call, :func:`write_workbook`, writes seven sheets: **Summary** (what the base holds, each
headline analysis with its subgroups, warnings and what it left out, provenance), **Studies**,
**Outcomes** (with per-row CIs), **Risk of bias** (per study: tool, domains, overall),
**Pooled** (every statistic of every analysis, the subgroup
tests, the rows pooled with their weights and what the dependence policy did), **References**
(formatted, sorted, DOIs as links) and **Data dictionary** (the schema and the protocol's
vocabularies).

The file is safe and reproducible:

- every text value is written as a string cell, never a formula (a title ``=HYPERLINK(...)``
  stays text), and characters XML forbids are removed;
- the same inputs give a byte-identical file: no clock time is written (document properties
  and zip member times are fixed) and the zip is rewritten in openpyxl's member order;
- the file appears atomically (written beside the target, then renamed).

>>> import evidence
>>> from evidence.workbook import write_workbook
>>> write_workbook(evidence.load("studies.bib"), "reports/evidence.xlsx")  # doctest: +SKIP
PosixPath('reports/evidence.xlsx')
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import secrets
import sys
import textwrap
import zipfile
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

import evidence
from evidence.base import EvidenceBase
from evidence.pooling import PoolReport, analyses_in_force
from evidence.protocol import vocabulary_table
from evidence.render import describe_selection
from evidence.schema import data_dictionary
from evidence.stats import PooledResult, proportion_ci

__all__ = ["SHEETS", "write_workbook"]

#: Sheet names, in order.
SHEETS: tuple[str, ...] = (
    "Summary",
    "Studies",
    "Outcomes",
    "Risk of bias",
    "Pooled",
    "References",
    "Data dictionary",
)

#: Fixed time stamp for document properties and zip members (no wall-clock time is written).
FIXED_TIME = datetime(2000, 1, 1)
_ZIP_TIME = (2000, 1, 1, 0, 0, 0)

_PCT = "0.0%"
_INT = "0"
_NUM = "0.000"
_P = "0.0000"
_LEVEL = "0%"
_MAX_WIDTH = 60
_MIN_WIDTH = 6
_DEFAULT_WIDTH = 8.43  # Excel's default column width, in characters
_LINE_HEIGHT = 15  # points per line of 11-point text
_MAX_CELL = 32767  # Excel's limit on characters in a cell
# XML 1.0 forbids these (openpyxl raises IllegalCharacterError on the C0 ones); \t \n \r stay.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@")
_REVIEW_DESIGNS = ("systematic-review", "meta-analysis", "narrative-review")
_LIBRARIES = ("bibtexparser", "pandas", "numpy", "scipy", "statsmodels", "openpyxl")

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_SECTION = Font(bold=True, size=12)
_HEADER_FILL = PatternFill("solid", fgColor="FFE7E6E6")
_TOP = Alignment(vertical="top")
_WRAP = Alignment(vertical="top", wrap_text=True)
# Sequential single-hue blues (ColorBrewer "Blues"): readable with every colour-vision type.
_RATE_SCALE = {
    "start_type": "num",
    "start_value": 0,
    "start_color": "FFF7FBFF",
    "end_type": "num",
    "end_value": 1,
    "end_color": "FF6BAED6",
}


# --------------------------------------------------------------------------------- values


def _clean_text(text: str) -> str:
    """``text`` without characters XLSX cannot hold, cut to Excel's cell limit."""
    text = _ILLEGAL.sub("", text)
    if len(text) > _MAX_CELL:
        text = text[: _MAX_CELL - 1] + "…"
    return text


def _plain(value: Any) -> Any:
    """A cell value: ``None`` for missing, Python ``bool``/``int``/``float``, else ``str``."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        return _clean_text(value)
    if hasattr(value, "item") and not isinstance(value, (bool, int, float)):
        value = value.item()  # numpy scalar
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return _clean_text(str(value))


def _set(cell: Cell, value: Any, number_format: str | None = None) -> Cell:
    """Write ``value`` into ``cell``; text always as a string cell, never a formula."""
    value = _plain(value)
    cell.value = value
    if isinstance(value, str):
        # openpyxl turns "=..." into a formula and "#N/A" into an error; force a string.
        cell.data_type = "s"
        if value.startswith(_FORMULA_START):
            cell.quotePrefix = True  # Excel keeps it text even when the cell is edited
    elif number_format is not None and value is not None and not isinstance(value, bool):
        cell.number_format = number_format
    return cell


def _fraction(value: Any) -> float | None:
    """A percentage (0..100) as a fraction, for the ``0.0%`` format."""
    value = _plain(value)
    return None if value is None else value / 100


def _doi_url(doi: Any) -> str | None:
    doi = _plain(doi)
    if not doi:
        return None
    return "https://doi.org/" + quote(doi.strip(), safe="/:;()[]._-~")


# ------------------------------------------------------------------------------- layout


class _Sheet:
    """A worksheet being filled top to bottom, remembering what sizes its columns."""

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.row = 1
        self.unsized: set[str] = set()  # titles and merged text: no influence on widths
        self.wrapped: list[tuple[Cell, int, int]] = []  # cell, first and last column

    def put(self, row: int, col: int, value: Any, number_format: str | None = None) -> Cell:
        return _set(self.ws.cell(row=row, column=col), value, number_format)

    def title(self, text: str, font: Font = _SECTION) -> None:
        cell = self.put(self.row, 1, text)
        cell.font = font
        self.unsized.add(cell.coordinate)
        self.row += 1

    def note(self, text: str, first: int = 1, last: int = 9) -> None:
        """Long text merged over columns ``first..last`` and wrapped."""
        cell = self.put(self.row, first, text)
        cell.alignment = _WRAP
        self.unsized.add(cell.coordinate)
        if last > first:
            self.ws.merge_cells(
                start_row=self.row, start_column=first, end_row=self.row, end_column=last
            )
        self.wrapped.append((cell, first, last))
        self.row += 1

    def table(
        self,
        frame: pd.DataFrame,
        formats: Mapping[str, str] | None = None,
        links: Mapping[str, Callable[[Any], str | None]] | None = None,
    ) -> tuple[int, int]:
        """Write ``frame`` (header row, then one row per record) at the current row.

        Returns the header row and the last row.
        """
        formats = formats or {}
        links = links or {}
        top = self.row
        for j, name in enumerate(frame.columns, start=1):
            cell = self.put(top, j, name)
            cell.font = _BOLD
            cell.fill = _HEADER_FILL
            cell.alignment = _TOP
        for i, record in enumerate(frame.itertuples(index=False, name=None), start=top + 1):
            for j, (name, value) in enumerate(zip(frame.columns, record, strict=True), start=1):
                if _plain(value) is None:
                    continue  # an empty cell needs no cell object (and no style)
                cell = self.put(i, j, value, formats.get(name))
                cell.alignment = _TOP
                url = links[name](value) if name in links else None
                if url:
                    cell.hyperlink = url
                    cell.style = "Hyperlink"
                    cell.alignment = _TOP
        self.row = top + len(frame) + 1
        return top, self.row - 1

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def finish(self, *, freeze: str | None, filter_ref: str | None) -> None:
        """Column widths from content (capped; longer text wraps), row heights, panes, filter."""
        ws = self.ws
        widths: dict[int, int] = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is None or cell.coordinate in self.unsized:
                    continue
                size = _shown_length(cell)
                if cell.font is not None and cell.font.b:
                    size += 2  # room for the autofilter button
                widths[cell.column] = max(widths.get(cell.column, 0), size)
                if size > _MAX_WIDTH and isinstance(cell.value, str):
                    cell.alignment = _WRAP
                    self.wrapped.append((cell, cell.column, cell.column))
        for col, size in widths.items():
            ws.column_dimensions[get_column_letter(col)].width = max(
                _MIN_WIDTH, min(size + 2, _MAX_WIDTH)
            )
        # Wrapped text does not grow its row in every program (LibreOffice keeps the default
        # height of a generated file): give such rows the height of their longest cell.
        lines: dict[int, int] = {}
        for cell, first, last in self.wrapped:
            chars = sum(
                ws.column_dimensions[get_column_letter(c)].width or _DEFAULT_WIDTH
                for c in range(first, last + 1)
            )
            count = _line_count(str(cell.value), int(chars) - 2)
            lines[cell.row] = max(lines.get(cell.row, 1), count)
        for row, count in sorted(lines.items()):
            if count > 1:
                ws.row_dimensions[row].height = _LINE_HEIGHT * count
        if freeze:
            ws.freeze_panes = freeze
            ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        if sum(min(size + 2, _MAX_WIDTH) for size in widths.values()) <= 200:
            ws.page_setup.fitToWidth = 1  # narrow enough to print one page wide
            ws.page_setup.fitToHeight = 0
            ws.sheet_properties.pageSetUpPr.fitToPage = True
        if filter_ref:
            ws.auto_filter.ref = filter_ref


def _line_count(text: str, width: int) -> int:
    """Lines ``text`` takes when wrapped at ``width`` characters."""
    width = max(width, 8)
    return sum(max(1, len(textwrap.wrap(part, width))) for part in text.splitlines() or [""])


def _shown_length(cell: Cell) -> int:
    """Characters the value takes on screen in its number format."""
    value = cell.value
    if isinstance(value, str):
        return max((len(line) for line in value.splitlines()), default=0)
    if isinstance(value, bool):
        return 5
    fmt = cell.number_format
    if isinstance(value, (int, float)):
        if fmt == _PCT:
            return len(f"{100 * value:.1f}%")
        if fmt == _LEVEL:
            return len(f"{100 * value:.0f}%")
        if fmt in (_NUM, _P):
            return len(f"{value:.{len(fmt) - 2}f}")
        if isinstance(value, int):
            return len(str(value))
        return min(len(repr(value)), 11)
    return len(str(value))


def _rate_colours(ws: Worksheet, column: int, first: int, last: int) -> None:
    """Colour a column of proportions (0..1) on a colour-blind-safe blue scale."""
    if last < first:
        return
    letter = get_column_letter(column)
    ws.conditional_formatting.add(f"{letter}{first}:{letter}{last}", ColorScaleRule(**_RATE_SCALE))


def _ref(frame: pd.DataFrame, top: int, last: int) -> str:
    return f"A{top}:{get_column_letter(max(1, frame.shape[1]))}{max(top, last)}"


# ------------------------------------------------------------------------------- content


def _source(base: EvidenceBase) -> tuple[str, str, str]:
    """File name, SHA-256 and what was hashed."""
    path = Path(base.path)
    try:
        data = path.read_bytes()
        what = "SHA-256 of the file's bytes"
    except OSError:  # parsed from a string (evidence.loads)
        data = base.document.text.encode("utf-8")
        what = "SHA-256 of the parsed text (UTF-8)"
    return path.name, hashlib.sha256(data).hexdigest(), what


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(name)
        return str(getattr(module, "__version__", "not installed"))


def _split(value: Any) -> list[str]:
    value = _plain(value)
    if value is None:
        return ["(not stated)"]
    items = [item.strip() for item in str(value).split(";") if item.strip()]
    return items or ["(not stated)"]


def _counts(
    studies: pd.DataFrame, column: str, label: str, order: tuple[str, ...] | None
) -> pd.DataFrame:
    """Entries and participants per category of ``column``; a list counts in each item."""
    entries: dict[str, int] = {}
    people: dict[str, int | None] = {}
    for value, n in zip(studies[column], studies["n_enrolled"], strict=True):
        n = _plain(n)
        for item in dict.fromkeys(_split(value)):
            entries[item] = entries.get(item, 0) + 1
            known = people.get(item)
            people[item] = known if n is None else (known or 0) + n  # None: none reported
    known = [c for c in order or () if c in entries]
    other = sorted((c for c in entries if c not in known and c != "(not stated)"), key=str.lower)
    rest = ["(not stated)"] if "(not stated)" in entries else []
    names = known + other + rest
    return pd.DataFrame(
        {
            label: names,
            "entries": [entries[c] for c in names],
            "participants": [people[c] for c in names],
        }
    )


def _headline(report: PoolReport) -> pd.DataFrame:
    rows = []
    fits: list[tuple[str, PooledResult]] = list((report.group_fits or {}).items())
    if report.overall is not None:
        fits.append(("overall", report.overall))
    for name, res in fits:
        rows.append(
            {
                "group": name,
                "k": res.k,
                "N": res.n_total,
                "rate": res.estimate,
                "CI low": res.ci_low,
                "CI high": res.ci_high,
                "PI low": res.pi_low,
                "PI high": res.pi_high,
                "I²": _fraction(res.i2),
            }
        )
    columns = ["group", "k", "N", "rate", "CI low", "CI high", "PI low", "PI high", "I²"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.rename(columns={"group": report.by}) if report.by else frame


_HEADLINE_FORMATS = {c: _PCT for c in ("rate", "CI low", "CI high", "PI low", "PI high", "I²")}


def _method_note(report: PoolReport) -> str:
    a = report.analysis
    return (
        f"{describe_selection(a)}. {a.measure} transform, {a.method} estimator, {a.test} "
        f"test; {a.level:.0%} confidence (CI) and prediction (PI) intervals. k = rows pooled, "
        "N = their participants. The rows are on the Pooled sheet."
    )


def _report_warnings(report: PoolReport) -> list[str]:
    warnings = list(report.warnings)
    if report.overall is not None:
        warnings += [f"overall fit: {w}" for w in report.overall.warnings]
    for group, fit in (report.group_fits or {}).items():
        warnings += [f"{group}: {w}" for w in fit.warnings]
    if report.subgroup_note:
        warnings.append(report.subgroup_note)
    return warnings


def _write_summary(sheet: _Sheet, base: EvidenceBase, reports: list[PoolReport]) -> None:
    studies = base.studies
    name, digest, hashed = _source(base)
    protocol = base.protocol
    sheet.title(f"Evidence summary: {protocol.title or name}", _TITLE)
    if protocol.question:
        sheet.note(protocol.question)
    sheet.skip()

    design = studies["design"].astype("string")
    n_enrolled = studies["n_enrolled"]
    overview = pd.DataFrame(
        [
            ("entries", len(studies)),
            ("primary studies", int((~design.isin(_REVIEW_DESIGNS).fillna(False)).sum())),
            ("reviews and meta-analyses", int(design.isin(_REVIEW_DESIGNS).fillna(False).sum())),
            ("entries with outcome rows", int(studies["n_outcomes"].gt(0).sum())),
            ("outcome rows", len(base.outcomes)),
            ("participants (sum of n_enrolled)", int(n_enrolled.sum(skipna=True))),
            ("entries without n_enrolled", int(n_enrolled.isna().sum())),
            ("validation errors", len(base.errors)),
            ("validation warnings", len(base.warnings)),
        ],
        columns=["evidence base", "value"],
    )
    sheet.table(overview)
    sheet.skip()

    specs = protocol.study_specs
    for column, label, title in (
        ("conditions", "condition", "By condition (an entry with several counts in each)"),
        ("route", "route", "By route (an entry with several counts in each)"),
        ("design", "design", "By design"),
        ("verification", "verification", "By verification"),
    ):
        sheet.title(title)
        sheet.table(_counts(studies, column, label, specs[column].choices))
        sheet.skip()

    headlines = [r for r in reports if r.analysis.headline]
    if not headlines:
        sheet.title("Headline analyses")
        sheet.note("The protocol marks no analysis as a headline; all are on the Pooled sheet.")
        sheet.skip()
    for report in headlines:
        sheet.title(f"{report.analysis.label} (analysis {report.analysis.name!r})")
        sheet.note(_method_note(report))
        if report.overall is not None:
            frame = _headline(report)
            top, last = sheet.table(frame, formats=_HEADLINE_FORMATS)
            _rate_colours(sheet.ws, 4, top + 1, last)
            sheet.skip()
        else:
            sheet.note("No outcome rows could be pooled (see the rows not pooled below).")
        for text in _report_warnings(report):
            sheet.note(f"Warning: {text}")
        moved = report.decisions[report.decisions["action"].ne("used")]
        for row in moved.itertuples(index=False):
            sheet.note(f"{row.key} row {row.row} ({row.arm}): {row.action}: {row.reason}")
        sheet.skip()

    sheet.title("Rows and studies not pooled by any headline analysis, with the reason")
    excluded = _not_pooled(headlines)
    top, last = sheet.table(excluded)
    reason = get_column_letter(excluded.columns.get_loc("reason") + 1)
    for r in range(top + 1, last + 1):  # the reason overflows into the empty cells beside it
        sheet.unsized.add(f"{reason}{r}")
    sheet.skip()

    sheet.title("Provenance")
    rows: list[tuple[str, Any]] = [
        ("source file", name),
        ("sha256", digest),
        ("sha256 of", hashed),
        ("protocol", protocol.source_for(base.path)),
        ("evidence", evidence.__version__),
    ]
    rows += [(lib, _version(lib)) for lib in _LIBRARIES]
    rows.append(("python", ".".join(str(p) for p in sys.version_info[:3])))
    top, last = sheet.table(pd.DataFrame(rows, columns=["provenance", "value"]))
    for r in range(top + 1, last + 1):  # long values (the hash) overflow to the right
        sheet.unsized.add(f"B{r}")
    sheet.skip()
    sheet.title("Analyses: every setting of every analysis, once")
    settings = pd.DataFrame(
        [{k: _setting(v) for k, v in report.analysis.to_dict().items()} for report in reports]
    )
    sheet.table(settings)
    sheet.finish(freeze=None, filter_ref=None)


def _setting(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


_NOT_POOLED = ["analysis", "key", "row", "arm", "measure", "reason"]


def _not_pooled(reports: list[PoolReport]) -> pd.DataFrame:
    """Rows the headline analyses left out, with the analysis and the reason; studies without
    outcome rows once, for every analysis."""
    frames = []
    studies = None
    for r in reports:
        excluded = r.selection.excluded
        no_rows = excluded["row"].isna()
        frames.append(excluded[~no_rows].assign(analysis=r.analysis.name)[_NOT_POOLED])
        if studies is None:
            studies = excluded[no_rows].assign(analysis="(every analysis)")[_NOT_POOLED]
    if studies is not None:
        frames.append(studies)
    if not frames:
        return pd.DataFrame(columns=_NOT_POOLED)
    return pd.concat(frames, ignore_index=True)


def _with_key_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["key", *[c for c in frame.columns if c != "key"]]]


def _write_studies(sheet: _Sheet, base: EvidenceBase) -> None:
    frame = _with_key_first(base.studies)
    formats = {c: _INT for c in ("year", "n_enrolled", "n_analysed", "k_studies", "n_outcomes")}
    top, last = sheet.table(frame, formats=formats, links={"doi": _doi_url})
    sheet.finish(freeze="B2", filter_ref=_ref(frame, top, last))


# Light tints of the charts' judgement colours (Okabe-Ito), so the words stay readable.
_ROB_FILLS = {
    "low": "FFB3E2D5",
    "some concerns": "FFFAF5C6",
    "moderate": "FFFAF5C6",
    "serious": "FFF5D899",
    "high": "FFF2BF99",
    "critical": "FFBFBFBF",
    "no information": "FFCCE8F8",
}


def _risk_of_bias_sheet(base: EvidenceBase) -> pd.DataFrame:
    """One row per study (and per outcome row judged separately): key, outcome_row, tool,
    D1..D7, overall, algorithm, reason, support (``D1: …`` per line)."""
    from evidence.rob import OVERALL, TOOLS

    codes = list(dict.fromkeys(c for tool in TOOLS.values() for c in tool.codes))
    rob = base.risk_of_bias
    rows: dict[tuple[str, Any], dict[str, Any]] = {}
    for rec in rob.itertuples(index=False):
        row = None if pd.isna(rec.outcome_row) else int(rec.outcome_row)
        out = rows.setdefault(
            (rec.key, row), {"key": rec.key, "outcome_row": row, "tool": rec.tool, "support": []}
        )
        name = "overall" if rec.domain == OVERALL else rec.domain
        out[name] = rec.judgement
        if rec.domain == OVERALL:
            out["algorithm"], out["reason"] = rec.algorithm, _plain(rec.reason)
        if _plain(rec.support) and rec.source != "study":
            label = "Overall" if rec.domain == OVERALL else rec.domain
            out["support"].append(f"{label}: {rec.support}")
    by_key: dict[str, list[dict[str, Any]]] = {}
    for (key, _), result in rows.items():
        by_key.setdefault(key, []).append(result)
    records = []
    for key, tool in zip(base.studies["key"], base.studies["rob_tool"], strict=True):
        records += by_key.get(key) or [{"key": key, "outcome_row": None, "tool": _plain(tool)}]
    columns = ["key", "outcome_row", "tool", *codes, "overall", "algorithm", "reason", "support"]
    frame = pd.DataFrame(records, columns=columns)
    frame["support"] = [
        "\n".join(s) if isinstance(s, list) and s else None for s in frame["support"]
    ]
    return frame


def _write_risk_of_bias(sheet: _Sheet, base: EvidenceBase) -> None:
    """The risk of bias of every study: its tool, each domain's judgement (shaded), the
    overall judgement beside the tool's algorithm's, and the support texts; then what the
    domains are."""
    from evidence.rob import ROB2_SEVERAL, TOOLS

    frame = _risk_of_bias_sheet(base)
    top, last = sheet.table(frame, formats={"outcome_row": _INT})
    judged = [j for j, c in enumerate(frame.columns, 1) if c.startswith("D") or c == "overall"]
    for r in range(top + 1, last + 1):
        for j in judged:
            cell = sheet.ws.cell(row=r, column=j)
            if cell.value in _ROB_FILLS:
                cell.fill = PatternFill("solid", fgColor=_ROB_FILLS[cell.value])
    filter_ref = _ref(frame, top, last)
    sheet.skip()
    sheet.note(
        "Each row is a study, or an outcome row (outcome_row) with judgements of its own; its "
        "other domains are the study's. overall is the analyst's judgement; algorithm is the "
        f"tool's (RoB 2: low if all domains are low, high if any is high or {ROB2_SEVERAL} or "
        "more have some concerns, no information if a domain cannot be judged and nothing makes "
        "it high, else some concerns; ROBINS-I: the most severe domain, no information before "
        "moderate). reason says why they differ. tool none: reviews and uncontrolled studies; "
        "empty: not assessed.",
        last=8,
    )
    sheet.skip()
    sheet.title("Domains")
    domains = pd.DataFrame(
        [
            {"tool": tool.title, "domain": d.code, "name": d.name, "reference": tool.reference}
            for tool in TOOLS.values()
            for d in tool.domains
        ]
    )
    sheet.table(domains)
    sheet.finish(freeze="B2", filter_ref=filter_ref)


def _outcomes_with_ci(base: EvidenceBase, method: str, level: float) -> pd.DataFrame:
    frame = _with_key_first(base.outcomes).copy()
    responders, n = frame["responders"], frame["n"]
    ok = (responders.notna() & n.notna() & n.gt(0) & responders.ge(0) & responders.le(n)).fillna(
        False
    )
    low = pd.Series(pd.NA, index=frame.index, dtype="Float64")
    high = pd.Series(pd.NA, index=frame.index, dtype="Float64")
    if ok.any():
        ci = proportion_ci(
            responders[ok].astype(int).to_numpy(),
            n[ok].astype(int).to_numpy(),
            method=method,
            level=level,
        )
        low[ok] = ci["ci_low"].to_numpy()
        high[ok] = ci["ci_high"].to_numpy()
    at = frame.columns.get_loc("rate") + 1
    frame.insert(at, "ci_low", low)
    frame.insert(at + 1, "ci_high", high)
    return frame


def _write_outcomes(sheet: _Sheet, base: EvidenceBase, reference: PoolReport | None) -> None:
    """The outcomes table with per-row CIs (method and level of the first headline analysis)."""
    from evidence.analysis import Analysis

    analysis = reference.analysis if reference is not None else Analysis()
    frame = _outcomes_with_ci(base, analysis.ci_method, analysis.level)
    formats = {"rate": _PCT, "ci_low": _PCT, "ci_high": _PCT, "responders": _INT, "n": _INT}
    top, last = sheet.table(frame, formats=formats)
    _rate_colours(sheet.ws, frame.columns.get_loc("rate") + 1, top + 1, last)
    sheet.finish(freeze="B2", filter_ref=_ref(frame, top, last))


_POOLED_COLUMNS = (
    "group",
    "k",
    "n_total",
    "estimate",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "tau",
    "i2",
    "h2",
    "q",
    "q_df",
    "q_pvalue",
    "stat",
    "df",
    "pvalue",
    "measure",
    "method",
    "test",
    "level",
    "warnings",
)
_POOLED_FORMATS = {
    **{c: _PCT for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "i2")},
    **{c: _PCT for c in ("rate", "weight")},  # the pooled rows below the fits
    **{c: _NUM for c in ("tau2", "tau", "h2", "q", "stat", "statistic")},
    **{c: _P for c in ("q_pvalue", "pvalue")},
    "level": _LEVEL,
}


def _pooled_row(group: str, res: PooledResult) -> dict[str, Any]:
    row = res.to_dict()
    row["group"] = group
    row["i2"] = _fraction(res.i2)
    return {c: row.get(c) for c in _POOLED_COLUMNS}


def _write_pooled(sheet: _Sheet, reports: list[PoolReport]) -> None:
    """Tidy tables over every analysis (an ``analysis`` column first, so each filters): every
    statistic of the overall and group fits, the subgroup tests, the rows pooled with their
    weights, and what the dependence policy did with each candidate row."""
    fits = [
        {"analysis": r.analysis.name, **_pooled_row(group, res)}
        for r in reports
        for group, res in ([("overall", r.overall)] if r.overall is not None else [])
        + list((r.group_fits or {}).items())
    ]
    frame = pd.DataFrame(fits, columns=["analysis", *_POOLED_COLUMNS])
    top, last = sheet.table(frame, formats=_POOLED_FORMATS)
    _rate_colours(sheet.ws, frame.columns.get_loc("estimate") + 1, top + 1, last)
    filter_ref = _ref(frame, top, last)
    sheet.skip()

    sheet.title("Tests for subgroup differences")
    tests = [
        r.subgroups.tests_frame().assign(analysis=r.analysis.name, by=r.by)
        for r in reports
        if r.subgroups is not None
    ]
    if tests:
        table = pd.concat(tests, ignore_index=True)
        table = table[
            ["analysis", "by", *[c for c in table.columns if c not in ("analysis", "by")]]
        ]
        sheet.table(table, formats=_POOLED_FORMATS)
    for r in reports:
        if r.subgroups is None and r.by is not None and r.overall is not None:
            sheet.note(f"{r.analysis.name}: by {r.by}: {r.subgroup_note}")
    sheet.skip()

    sheet.title("Rows pooled (per-row CI of each analysis; weight in its overall fit)")
    pooled = [
        r.per_study.assign(
            analysis=r.analysis.name, weight=[_fraction(w) for w in r.per_study["weight"]]
        )
        for r in reports
        if len(r.per_study)
    ]
    if pooled:
        table = pd.concat(pooled, ignore_index=True)
        table = table[["analysis", *[c for c in table.columns if c != "analysis"]]]
        top, last = sheet.table(table, formats=_POOLED_FORMATS)
        _rate_colours(sheet.ws, table.columns.get_loc("rate") + 1, top + 1, last)
    sheet.skip()

    sheet.title("Candidate rows and what the dependence policy did with each")
    decisions = [r.decisions.assign(analysis=r.analysis.name) for r in reports]
    table = pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame()
    if len(table):
        table = table[["analysis", *[c for c in table.columns if c != "analysis"]]]
        sheet.table(table)
    sheet.finish(freeze="C2", filter_ref=filter_ref)


def _sort_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    author = _plain(row.get("first_author"))
    year = _plain(row.get("year"))
    return (
        author is None,
        (author or "").casefold(),
        year is None,
        year or 0,
        str(row.get("key")),
    )


def _reference(row: Mapping[str, Any]) -> str:
    """``Authors (Year). Title. Journal, Volume(Issue), Pages. https://doi.org/DOI``."""

    def get(name: str) -> str:
        value = _plain(row.get(name))
        return "" if value is None else str(value).strip()

    def stop(text: str) -> str:
        return text if text.endswith((".", "?", "!")) else text + "."

    parts = []
    authors, year = get("authors"), get("year")
    when = f"({year})." if year else "(n.d.)."
    parts.append(f"{authors} {when}" if authors else when)
    if get("title"):
        parts.append(stop(get("title")))
    source = get("journal")
    if get("volume"):
        source += (", " if source else "") + get("volume")
        if get("number"):
            source += f"({get('number')})"
    if get("pages"):
        source += (", " if source else "") + get("pages")
    if source:
        parts.append(stop(source))
    url = _doi_url(get("doi"))
    if url:
        parts.append(url)
    return " ".join(parts)


def _references(studies: pd.DataFrame) -> pd.DataFrame:
    records = studies.to_dict("records")
    records.sort(key=_sort_key)
    return pd.DataFrame(
        {
            "key": [r["key"] for r in records],
            "reference": [_reference(r) for r in records],
            "doi": [r["doi"] for r in records],
        },
        columns=["key", "reference", "doi"],
    )


def _write_references(sheet: _Sheet, base: EvidenceBase) -> None:
    frame = _references(base.studies)
    top, last = sheet.table(frame, links={"doi": _doi_url})
    sheet.finish(freeze="B2", filter_ref=_ref(frame, top, last))


def _write_dictionary(sheet: _Sheet, base: EvidenceBase) -> None:
    frame = data_dictionary(base.protocol)
    top, last = sheet.table(frame)
    filter_ref = _ref(frame, top, last)
    terms = vocabulary_table(base.protocol)
    if terms:
        sheet.skip()
        sheet.title(
            f"Vocabularies declared by the protocol ({base.protocol.source_for(base.path)})"
        )
        sheet.table(pd.DataFrame(terms))
    sheet.finish(freeze="C2", filter_ref=filter_ref)


# ---------------------------------------------------------------------------- the file


def _reproducible_zip(data: bytes) -> bytes:
    """``data`` (an xlsx) rewritten with fixed member times, in the same member order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=_ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.create_system = 3
            member.external_attr = 0o600 << 16
            dst.writestr(member, src.read(info))
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file beside ``path``, then rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # umask applies
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _build(base: EvidenceBase, reports: list[PoolReport]) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for title in SHEETS:
        wb.create_sheet(title)
    headlines = [r for r in reports if r.analysis.headline] or reports
    _write_summary(_Sheet(wb["Summary"]), base, reports)
    _write_studies(_Sheet(wb["Studies"]), base)
    _write_outcomes(_Sheet(wb["Outcomes"]), base, headlines[0] if headlines else None)
    _write_risk_of_bias(_Sheet(wb["Risk of bias"]), base)
    _write_pooled(_Sheet(wb["Pooled"]), reports)
    _write_references(_Sheet(wb["References"]), base)
    _write_dictionary(_Sheet(wb["Data dictionary"]), base)
    wb.active = 0
    props = wb.properties
    props.creator = "evidence"
    props.lastModifiedBy = None
    props.title = f"Evidence summary: {Path(base.path).name}"
    props.created = props.modified = FIXED_TIME
    return wb


def _workbook_bytes(wb: Workbook) -> bytes:
    """The xlsx bytes without any clock time.

    ``Workbook.save`` stamps ``modified`` with the current time, so the package is written with
    openpyxl's :class:`~openpyxl.writer.excel.ExcelWriter` directly (what ``save`` does, minus
    the stamp), then re-zipped with fixed member times.
    """
    from openpyxl.writer.excel import ExcelWriter

    buffer = io.BytesIO()
    archive = zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    ExcelWriter(wb, archive).save()  # closes the archive
    return _reproducible_zip(buffer.getvalue())


def write_workbook(
    base: EvidenceBase,
    path: str | os.PathLike[str],
    *,
    reports: list[PoolReport] | None = None,
) -> Path:
    """Write the evidence-summary workbook of ``base`` to ``path`` (``.xlsx``).

    Parameters
    ----------
    base
        The evidence base (:func:`evidence.load`).
    path
        Where to write; missing parent folders are created, an existing file is replaced
        atomically.
    reports
        The analyses to show (:meth:`evidence.Analysis.run` results); default: every analysis
        in force for ``base`` (its protocol's, or the defaults). Headline analyses go on the
        Summary; all go on the Pooled sheet; each analysis's settings are listed once in the
        provenance block.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Sheets: Summary, Studies, Outcomes, Risk of bias, Pooled, References, Data dictionary
    (:data:`SHEETS`).
    Text is never written as a formula; the same inputs give byte-identical files. Neither
    ``base`` nor ``reports`` is modified.
    """
    if reports is None:
        reports = [a.run(base) for a in analyses_in_force(base)]
    data = _workbook_bytes(_build(base, list(reports)))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(target, data)
    return target
