"""Figures of the evidence base: forest plot, response over time, evidence map, risk of bias,
summary of findings.

Every chart function returns a :class:`matplotlib.figure.Figure` and accepts an optional
``ax`` to draw into; none of them saves, shows or touches :mod:`matplotlib.pyplot` (no global
state, no GUI backend). Saving happens in one place, :func:`save_figure`, which writes PNG and
SVG files that are byte-identical from run to run.

Colours are the Okabe & Ito (2008) colour-blind-safe palette; comparator arms are also told
apart by line style and hollow markers, so the charts survive greyscale printing.

>>> import evidence
>>> from evidence.charts import forest_plot, save_figure
>>> base = evidence.load("studies.bib")                    # doctest: +SKIP
>>> save_figure(forest_plot(base), "reports/figures/forest")  # doctest: +SKIP
[PosixPath('reports/figures/forest.png'), PosixPath('reports/figures/forest.svg')]
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle
from matplotlib.text import Text
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator, NullLocator
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from evidence.analysis import Analysis
from evidence.base import EvidenceBase
from evidence.measures import RATIO_MEASURES
from evidence.pooling import PoolReport, analysis_table, pool_evidence
from evidence.render import describe_dependence, format_effect

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = [
    "evidence_map",
    "forest_plot",
    "response_over_time",
    "rob_summary",
    "rob_traffic_light",
    "save_figure",
    "summary_of_findings",
]

#: Okabe & Ito (2008), "Color Universal Design": safe for the common colour-vision deficiencies.
_OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
_GREY = "#555555"
_LIGHT = "#DDDDDD"
_MARKERS = ("o", "s", "D", "^", "v", "P")

_WIDTH = 8.0  # inches: a report page minus margins
_FONT = 8.0  # points: table text, tick labels
_SMALL = 7.0  # points: notes under a chart
_TITLE = 10.0  # points
_GAP = 9.0  # points between table columns
_SQUARE = 13.0  # points: side of the largest square of a forest plot
_WRAP_SLACK = 0.94  # wrap notes short of the width: rendered text runs a few % wider
_MARGIN = 6.0  # points kept clear at the figure edges
_BELOW_AXIS = 36.0  # points below the axes taken by tick labels and the x label

_MEASURE_NAMES = {
    "PLO": "logit",
    "PAS": "arcsine",
    "PFT": "Freeman-Tukey double arcsine",
    "PR": "untransformed proportions",
}
_CI_NAMES = {
    "wilson": "Wilson",
    "clopper-pearson": "Clopper-Pearson",
    "agresti-coull": "Agresti-Coull",
    "wald": "Wald",
}
_NOT_STATED = "(not stated)"
_COLUMN_NAMES = {
    "conditions": "Condition",
    "route": "Route of administration",
    "design": "Study design",
    "blinding": "Blinding",
    "verification": "Verification",
}

# Time axis of response_over_time: tick positions in hours and their labels.
_TIME_TICKS = (
    (1 / 6, "10 min"),
    (1.0, "1 h"),
    (24.0, "1 d"),
    (168.0, "1 wk"),
    (672.0, "4 wk"),
    (2016.0, "12 wk"),
    (8766.0, "1 y"),
)


# --------------------------------------------------------------------------------------------
# Private helpers: palette, text measuring and labels
# --------------------------------------------------------------------------------------------


def _palette(n: int) -> list[str]:
    """``n`` Okabe-Ito colours for categories, cycling; yellow is left out (too light for
    lines and small markers on white)."""
    order = ("blue", "vermillion", "bluish green", "reddish purple", "orange", "sky blue", "black")
    return [_OKABE_ITO[order[i % len(order)]] for i in range(n)]


@functools.lru_cache(maxsize=8192)
def _text_width(text: str, size: float = _FONT, weight: str = "normal") -> float:
    """Width of one line of text in points, from the font's unhinted outlines.

    Rendered widths differ from this by a few percent with the output resolution (hinting),
    so callers leave a margin (column gaps, :data:`_WRAP_SLACK`).
    """
    prop = FontProperties(size=size, weight=weight)
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def _wrap(text: str, width: float, size: float = _SMALL, *, indent: str = "    ") -> list[str]:
    """Greedy word wrap of ``text`` to lines at most ``width`` points wide (continuation
    lines start with ``indent``)."""
    limit = width * _WRAP_SLACK
    space = _text_width("a b", size) - _text_width("ab", size)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current, used = "", 0.0
        for word in paragraph.split(" "):
            need = _text_width(word, size)
            if current and used + space + need > limit:
                lines.append(current)
                current, used = indent + word, _text_width(indent, size) + need
            else:
                current = f"{current} {word}" if current else word
                used += (space if used else 0.0) + need
        lines.append(current)
    return lines


def _plain(text: Any) -> str:
    """Display text for a value: ``NA`` becomes empty, ``$`` is escaped (no mathtext)."""
    if text is None or text is pd.NA or (isinstance(text, float) and np.isnan(text)):
        return ""
    return str(text).replace("$", r"\$")


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _is_comparator(role: Any) -> bool:
    """Whether an arm's role (outcomes column ``role``) is a comparator's."""
    return _plain(role) == "comparator"


def _outcome_label(domain: Any, measure: Any) -> str:
    """What a row measures, briefly: its rating scale (``SCALE-A``), else its domain."""
    return _plain(measure) or _plain(domain) or "–"


def _figure_for(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    """A new constrained-layout figure with one axes, or the figure ``ax`` belongs to."""
    if ax is not None:
        fig = ax.get_figure(root=True)
        assert fig is not None, "an Axes is made with its figure (matplotlib's Axes(fig, ...))"
        return fig, ax
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def _span(fig: Figure, ax: Axes) -> tuple[float, float]:
    """Left edge (figure fraction) and width (points) available to a note under ``ax``: the
    whole figure when ``ax`` is its only grid cell, else what is drawn for ``ax`` (axes,
    labels, legend) as last laid out."""
    spec = ax.get_subplotspec()
    if spec is not None and spec.get_gridspec().nrows == spec.get_gridspec().ncols == 1:
        return 0.0, fig.get_figwidth() * 72
    box = ax.get_tightbbox()
    if box is None:  # hidden axes: nothing is drawn for them, so the whole figure
        return 0.0, fig.get_figwidth() * 72
    return box.x0 / fig.bbox.width, box.width * 72 / fig.dpi


def _time_axes(ax: Axes, low: float, high: float, title: str) -> None:
    """Axes of the response-over-time chart: log hours with 1 h/1 d/1 wk/4 wk ticks, 0-100%."""
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    ticks = [(h, t) for h, t in _TIME_TICKS if low <= h <= high]
    ax.set_xticks([h for h, _ in ticks], [t for _, t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_ylim(-4, 104)
    ax.set_yticks(np.arange(0, 101, 20))
    ax.tick_params(labelsize=_FONT)
    ax.grid(True, color=_LIGHT, lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("Time since dosing (log scale)", fontsize=_FONT)
    ax.set_ylabel("Response rate (%)", fontsize=_FONT)
    ax.set_title(title, loc="left", fontsize=_TITLE, fontweight="bold")


def _over_time_points(shown: Any, ax: Axes | None, n_series: int, max_series: int) -> Figure:
    """The response-over-time chart for many study arms: points by arm type only."""
    note = (
        f"Points: {len(shown)} rows with a response rate and a timepoint, from {n_series} "
        f"study arms; with more than {max_series} arms the per-study lines, legend and labels "
        "are left out."
    )
    height = 4.4 + _note_height(len(_wrap(note, _WIDTH * 72 - 2 * _MARGIN - 12)))
    fig, ax = _figure_for(ax, _WIDTH, height)
    hours = shown["time_hours"].to_numpy(dtype=float)
    rate = shown["rate"].to_numpy(dtype=float) * 100
    comparator = np.array([_is_comparator(a) for a in shown["role"]], dtype=bool)
    blue, red = _OKABE_ITO["blue"], _OKABE_ITO["vermillion"]
    ax.scatter(
        hours[~comparator],
        rate[~comparator],
        s=16,
        color=blue,
        alpha=0.55,
        edgecolors="none",
        label="intervention arm",
        gid="points:intervention",
    )
    ax.scatter(
        hours[comparator],
        rate[comparator],
        s=16,
        facecolors="white",
        edgecolors=red,
        linewidths=0.9,
        alpha=0.8,
        label="comparator arm",
        gid="points:comparator",
    )
    low = min([0.7, *(hours / 1.6)])
    high = max([1000.0, *(hours * 1.6)])
    _time_axes(ax, low, high, "Response rate over time since dosing, all study arms")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=_FONT, frameon=False)
    _note(fig, ax, note)
    return fig


def _note(fig: Figure, ax: Axes, text: str) -> None:
    """Small print under the axes (below tick labels and x label), wrapped to the figure."""
    if not text:
        return
    below = _below(fig, ax)
    left, width = _span(fig, ax)
    ax.annotate(
        "\n".join(_wrap(text, width - 2 * _MARGIN - 12)),
        xy=(left, 0),
        xycoords=("figure fraction", "axes fraction"),
        xytext=(_MARGIN, -below - 8),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=_SMALL,
        color=_GREY,
        linespacing=1.35,
        annotation_clip=False,
        gid="note",
        parse_math=False,
    )


def _lay_out(fig: Figure) -> None:
    """Place the axes as the figure's layout engine will when it is saved, to measure them.

    Only the layout runs (its own measuring of every text): a full draw without rendering
    would also walk every artist for the same positions (0.5 s of the bundled base's 12 s of
    figures, ``benchmarks/bench_charts.py``).
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        with contextlib.suppress(ValueError):  # as matplotlib's own draw goes on without it
            engine.execute(fig)


def _below(fig: Figure, ax: Axes) -> float:
    """Points from the axes' bottom edge down to the lowest thing drawn for it so far (tick
    labels, x label, legend): lays the figure out once to measure."""
    _lay_out(fig)
    box = ax.get_tightbbox()
    if box is None:  # hidden axes: nothing is drawn below them
        return 0.0
    return float((ax.bbox.y0 - box.y0) * 72 / fig.dpi)


def _note_height(n_lines: int) -> float:
    """Inches taken by a note of ``n_lines`` lines, and the space above it."""
    return (8 + n_lines * _SMALL * 1.35 + 6) / 72


def _column_name(column: str) -> str:
    """Axis and title name of a table column: ``conditions`` → ``Condition``."""
    return _COLUMN_NAMES.get(column, column.replace("_", " ").capitalize())


def _fit_label(text: str, width: float) -> str:
    """``text``, broken after its first hyphen if wider than ``width`` points."""
    if _text_width(text) <= width or "-" not in text:
        return text
    head, tail = text.split("-", 1)
    return f"{head}-\n{tail}"


def _categories(value: Any) -> list[str]:
    """Categories of a possibly ``;``-separated cell; missing → ``(not stated)``."""
    parts = [p.strip() for p in _plain(value).split(";")]
    parts = [p for p in parts if p]
    return list(dict.fromkeys(parts)) or [_NOT_STATED]


def _ordered(values: Iterable[str], vocabulary: tuple[str, ...]) -> list[str]:
    """Values in vocabulary order, then unknown ones sorted, then ``(not stated)``."""
    present = set(values)
    known = [v for v in vocabulary if v in present]
    other = sorted(present - set(vocabulary) - {_NOT_STATED})
    return known + other + ([_NOT_STATED] if _NOT_STATED in present else [])


def _nice(value: float) -> int:
    """The largest of 1, 2, 5, 10, 20, 50, … not above ``value`` (at least 1)."""
    if value < 1:
        return 1
    exponent = 10 ** int(np.floor(np.log10(value)))
    return int(max(m * exponent for m in (1, 2, 5) if m * exponent <= value))


# --------------------------------------------------------------------------------------------
# Forest plot
# --------------------------------------------------------------------------------------------


def _heterogeneity(fit: Any) -> str:
    """I² and τ², or both variance components of a multilevel model."""
    if hasattr(fit, "sigma2_study"):
        return (
            f"I² = {fit.i2:.1f}%, σ² between studies = {fit.sigma2_study:.2f}, "
            f"within studies = {fit.sigma2_row:.2f}"
        )
    return f"I² = {fit.i2:.1f}%, τ² = {fit.tau2:.2f}"


def _method_text(report: PoolReport) -> str:
    overall = report.overall
    if overall is None:
        return ""
    analysis = report.analysis
    level = f"{100 * overall.level:g}%"
    if report.comparative:
        if analysis.model != "inverse-variance":
            model = {"mantel-haenszel": "Mantel-Haenszel", "peto": "Peto"}[analysis.model]
            model += " (common effect)"
        elif overall.method == "FE":
            model = "Common effect (inverse variance)"
        else:
            model = f"Random effects ({overall.method}, inverse variance)"
        name = _EFFECT_NAMES.get(analysis.effect, analysis.effect).lower()
        parts = [
            f"{model}, {name} ({analysis.effect})",
            f"{level} CIs for single comparisons (metafor escalc)",
            _heterogeneity(overall),
            "square area ∝ weight",
        ]
        if _favours(report) is None and report.analysis.effect not in ("RR", "OR", "RD"):
            parts.append("the direction of the scale is not declared, so no side is labelled")
    else:
        model = (
            "Fixed effect (inverse variance)"
            if overall.method == "FE"
            else f"Random effects ({overall.method})"
        )
        ci = _CI_NAMES.get(report.ci_method, report.ci_method)
        single = (
            f"{level} CIs of the combined rows on the {overall.measure} scale"
            if analysis.dependence == "aggregate"
            else f"{ci} {level} CIs for single rows"
        )
        parts = [
            f"{model}, {_MEASURE_NAMES.get(overall.measure, overall.measure)}",
            single,
            _heterogeneity(overall),
            "square area ∝ weight",
        ]
    text = "; ".join(parts) + "."
    sub = report.subgroups
    if sub is not None:
        text += (
            f" Test for subgroup differences: Q = {sub.q_between:.2f}, "
            f"df = {sub.q_between_df}, p = {sub.q_between_pvalue:.3f}."
        )
    elif report.subgroup_note:
        text += f" {report.subgroup_note[0].upper()}{report.subgroup_note[1:]}."
    rows = report.pooled
    differ = [
        label
        for column, label in (
            ("response", "response definitions"),
            ("measure", "rating scales"),
            ("domain", "outcome domains"),
        )
        if rows[column].astype("string").fillna(_NOT_STATED).nunique() > 1
    ]
    if differ:
        text += f" Caution: the pooled rows differ in {', '.join(differ)}."
    moved = report.decisions[report.decisions["action"].ne("used")]
    if len(moved):
        listed = ", ".join(
            _capped([f"{k} row {r} {a}" for k, r, a in moved[["key", "row", "action"]].values])
        )
        policy = describe_dependence(report.analysis)
        text += f" {policy[0].upper()}{policy[1:]}: {listed}."
    return text


def row_label(key: Any, row: Any) -> str:
    """``key row 3`` for an outcome row, ``key outcomes 1+2`` / ``key effects 1`` for a
    comparison's rows."""
    if isinstance(row, str) and row[:1].isalpha():
        return f"{key} {row}"
    return f"{key} row {row}"


def _excluded_text(report: PoolReport) -> str:
    excluded = report.selection.excluded
    if excluded.empty:
        return ""
    no_rows = excluded["row"].isna()
    shown = excluded["reason"].astype("string").str.startswith("a review's pooled result")
    items = [
        f"{row_label(key, row)} ({_plain(arm)}, {_plain(measure) or 'no scale'}): {reason}"
        for key, row, arm, measure, reason in excluded.loc[
            ~no_rows & ~shown.fillna(False), ["key", "row", "arm", "measure", "reason"]
        ].itertuples(index=False)
    ]
    studies = [
        f"{key} ({str(reason).partition('(')[2].rstrip(')')})"
        for key, reason in excluded.loc[no_rows, ["key", "reason"]].itertuples(index=False)
    ]
    text = ""
    if items:
        text += "Not pooled: " + "; ".join(_capped(items)) + "."
    if studies:
        heading = "No comparison recorded" if report.comparative else "No outcome rows"
        text += (" " if text else "") + f"{heading}: " + ", ".join(_capped(studies)) + "."
    return text


_NOTE_ITEMS = 12  # items listed in a chart note before "… and N more"


def _capped(items: list[str]) -> list[str]:
    if len(items) <= _NOTE_ITEMS:
        return items
    rest = len(items) - _NOTE_ITEMS
    return [*items[:_NOTE_ITEMS], f"… and {rest} more (all are listed in the workbook)"]


_EFFECT_NAMES = {
    "RR": "Risk ratio",
    "OR": "Odds ratio",
    "RD": "Risk difference",
    "HR": "Hazard ratio",
    "ROM": "Ratio of means",
    "MD": "Mean difference",
    "SMD": "Standardised mean difference",
    "SMDH": "Standardised mean difference (heteroscedastic)",
    "MC": "Mean change",
    "SMCR": "Standardised mean change",
    "SMCC": "Standardised mean change",
    "GEN": "Effect",
}
_NICE_RATIOS = (0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 1000, 10000)


class _ForestScale:
    """The x axis of a forest plot: response rates in percent (0-100), ratios on a log axis
    with a line of no effect at 1, or differences with that line at 0. ``x`` maps values on
    the reporting scale to the axis, clipped to its limits; ``text`` formats them."""

    def __init__(self, report: PoolReport):
        self.effect = report.analysis.effect
        self.kind = (
            "proportion"
            if self.effect == "proportion"
            else "ratio"
            if self.effect in RATIO_MEASURES
            else "difference"
        )
        if self.kind == "proportion":
            self.limits = (0.0, 100.0)
            return
        values = [v for v in _forest_values(report) if np.isfinite(v)]
        if self.kind == "ratio":
            values = [v for v in values if v > 0] + [1.0]
            low, high = np.log10(min(values)), np.log10(max(values))
            pad = max(0.08 * (high - low), 0.1)
            self.limits = (10 ** (low - pad), 10 ** (high + pad))
        else:
            values = [*values, 0.0]
            low, high = min(values), max(values)
            pad = max(0.08 * (high - low), 0.05 * max(abs(low), abs(high), 1e-9))
            self.limits = (low - pad, high + pad)

    def x(self, values: Any) -> np.ndarray:
        v = np.asarray(values, dtype=float)
        if self.kind == "proportion":
            return np.clip(v * 100, 0, 100)
        return np.clip(v, *self.limits)

    def text(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            return "–"
        if self.kind == "proportion":
            return _pct(value)
        return format_effect(value)

    @property
    def null(self) -> float | None:
        return {"ratio": 1.0, "difference": 0.0}.get(self.kind)

    def label(self) -> str:
        if self.kind == "proportion":
            return "Response rate (%)"
        name = _EFFECT_NAMES.get(self.effect, self.effect)
        return f"{name} ({self.effect}" + (", log scale)" if self.kind == "ratio" else ")")

    def heading(self, level: str) -> str:
        if self.kind == "proportion":
            return f"Rate % [{level} CI]"
        return f"{self.effect} [{level} CI]"

    def axis(self, ax: Axes) -> None:
        ax.set_xlim(*self.limits)
        if self.kind == "proportion":
            ax.set_xticks(np.arange(0, 101, 20))
        elif self.kind == "ratio":
            ax.set_xscale("log")
            ticks = [t for t in _NICE_RATIOS if self.limits[0] <= t <= self.limits[1]]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
        else:
            ax.xaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        ax.set_xlabel(self.label(), fontsize=_FONT)
        ax.tick_params(axis="x", labelsize=_FONT)


def _counts_text(row: pd.Series) -> str:
    """``responders/n`` of a row, or how many rows were combined into it (aggregate)."""
    if pd.isna(row["responders"]):
        combined = row.get("combined")
        return f"{int(combined)} rows combined" if not pd.isna(combined) else "–"
    return f"{int(row['responders'])}/{int(row['n'])}"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def _forest_values(report: PoolReport) -> list[float]:
    """Every value a comparison forest plot draws (to fit its axis)."""
    per = report.per_study
    values = [*per["ci_low"].dropna(), *per["ci_high"].dropna(), *per["estimate"].dropna()]
    fits = [*(report.group_fits or {}).values()]
    if report.overall is not None:
        fits.append(report.overall)
    for fit in fits:
        values += [fit.ci_low, fit.ci_high, fit.estimate]
        if fit.pi_low is not None:
            values += [fit.pi_low, fit.pi_high]
    if report.beside is not None:
        values += [*report.beside["ci_low"].dropna(), *report.beside["ci_high"].dropna()]
        values += [*report.beside["estimate"].dropna()]
    return [float(v) for v in values]


def _favours(report: PoolReport) -> tuple[str, str] | None:
    """Labels of the sides of the line of no effect: (left, right), or None when the
    direction is not known (a continuous outcome on a scale without a declared direction)."""
    rows = report.pooled
    if not len(rows):
        return None

    def name(column: str, default: str) -> str:
        values = rows[column].astype("string").dropna().unique()
        return str(values[0]) if len(values) == 1 else default

    treat, control = (
        name("intervention_agent", "intervention"),
        name("comparator_agent", "comparator"),
    )
    effect = report.analysis.effect
    if effect in ("RR", "OR", "RD"):  # responders: more is better
        return f"Favours {control}", f"Favours {treat}"
    directions = set(rows["direction"].astype("string").dropna())
    if directions == {"higher-is-worse"} or report.flipped:
        return f"Favours {treat}", f"Favours {control}"
    if directions == {"higher-is-better"}:
        return f"Favours {control}", f"Favours {treat}"
    return None


def _forest_layout(
    report: PoolReport, summary: bool = False
) -> tuple[list[tuple[str, float, Any]], float]:
    """Rows of the forest plot as ``(kind, y, payload)`` top to bottom, and the last y.

    Kinds: ``header`` (column headings), ``group``, ``study`` (payload: row index in
    ``per_study``), ``subtotal`` (payload: group), ``overall`` and ``pi``. With ``summary``,
    study rows are left out (only group subtotals and the overall result).
    """
    items: list[tuple[str, float, Any]] = [("header", 0.0, None)]
    y = 1.2
    fits = report.group_fits if report.by is not None else None
    n = 0 if summary else len(report.per_study)
    if fits:
        groups = report.pooled[report.by].astype("string").fillna("(missing)")
        for group in dict.fromkeys(groups):  # a group whose model failed has no subtotal
            items.append(("group", y, group))
            y += 1
            for row in [] if summary else np.flatnonzero(groups.eq(group).to_numpy()):
                items.append(("study", y, int(row)))
                y += 1
            if group in fits:
                items.append(("subtotal", y, group))
            y += 1.5
    else:
        for i in range(n):
            items.append(("study", y, i))
            y += 1
        y += 0.5
    if report.overall is not None:
        items.append(("overall", y, None))
        if report.overall.pi_low is not None:
            y += 1
            items.append(("pi", y, None))
    if report.beside is not None and len(report.beside):
        y += 1.5
        items.append(("beside-header", y, None))
        for i in range(len(report.beside)):
            y += 1
            items.append(("beside", y, i))
    return items, y


def _diamond(
    ax: Axes, scale: _ForestScale, y: float, low: float, mid: float, high: float, **style: Any
) -> Polygon:
    clip = scale.x([low, mid, high])
    half = 0.38
    patch = Polygon(
        [(clip[0], y), (clip[1], y - half), (clip[2], y), (clip[1], y + half)],
        closed=True,
        zorder=4,
        clip_on=False,
        **style,
    )
    ax.add_patch(patch)
    return patch


def _forest_table(
    report: PoolReport, items: list[tuple[str, float, Any]], level: str, scale: _ForestScale
) -> tuple[
    tuple[str, ...],
    list[list[str]],
    list[tuple[float, str, str, str]],
    list[tuple[float, str, str, str]],
]:
    """The text of the forest plot's table: left column headings, left columns (one entry per
    study row), texts spanning the left columns (``y, text, weight, style``) and the right
    columns (``y, rate [CI], weight %, font weight``)."""
    per = report.per_study
    overall = report.overall
    study_rows = [(y, i) for kind, y, i in items if kind == "study"]
    comparative = report.comparative
    fmt = scale.text
    second, data = ("Comparison", "Data") if comparative else ("Arm", "Resp./N")
    left_head: tuple[str, ...] = ("Study", second, "Outcome", "Time", data)
    left_cols: list[list[str]] = [[] for _ in left_head]
    right_rows: list[tuple[float, str, str, str]] = []  # y, rate [CI], weight, weight style
    centre = "estimate" if comparative else "rate"
    for y, i in study_rows:
        row = per.iloc[i]
        values = (
            _plain(row["study"]),
            _plain(row["comparison"] if comparative else row["arm"]),
            _outcome_label(row["domain"], row["measure"]),
            _plain(row["time"]) or "–",
            _plain(row["data"]) if comparative else _counts_text(row),
        )
        for column, value in zip(left_cols, values, strict=True):
            column.append(value)
        weight = "" if pd.isna(row["weight"]) else f"{row['weight']:.1f}%"
        ci = f"{fmt(row[centre])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
        right_rows.append((y, ci, weight, "normal"))
    if len(set(left_cols[1])) <= 1:  # one arm throughout: named in the title instead
        left_head = (left_head[0], *left_head[2:])
        del left_cols[1]
    spans: list[tuple[float, str, str, str]] = []  # y, text, weight, style
    fits = report.group_fits or {}
    group_index = report.pooled[report.by].astype("string").fillna("(missing)") if fits else None
    for kind, y, payload in items:
        if kind == "group":
            spans.append((y, str(payload), "bold", "normal"))
        elif kind == "subtotal":
            fit = fits[payload]
            label = f"Subtotal (k = {fit.k}"
            label += f"; I² = {fit.i2:.0f}%)" if fit.k > 1 else ")"
            spans.append((y, label, "normal", "italic"))
            assert group_index is not None, "subtotal rows come with group fits (_forest_layout)"
            share = per["weight"][group_index.eq(payload).to_numpy()].sum()
            ci = f"{fmt(fit.estimate)} [{fmt(fit.ci_low)}, {fmt(fit.ci_high)}]"
            right_rows.append((y, ci, f"{share:.1f}%", "normal"))
        elif kind == "overall":
            assert overall is not None, "an overall row comes with an overall fit (_forest_layout)"
            studies = per["key"].nunique()
            unit = "comparison" if comparative else "row"
            people = f", {overall.n_total} participants" if overall.n_total else ""
            label = (
                f"Overall ({_count(overall.k, unit)}, {_count(studies, 'study', 'studies')}"
                f"{people})"
            )
            spans.append((y, label, "bold", "normal"))
            ci = f"{fmt(overall.estimate)} [{fmt(overall.ci_low)}, {fmt(overall.ci_high)}]"
            right_rows.append((y, ci, "100%", "bold"))
        elif kind == "pi":
            assert overall is not None, "a pi row comes with an overall fit (_forest_layout)"
            spans.append((y, f"{level} prediction interval", "normal", "italic"))
            pi = f"[{fmt(overall.pi_low)}, {fmt(overall.pi_high)}]"
            right_rows.append((y, pi, "", "normal"))
        elif kind == "beside-header":
            spans.append((y, "Reviews' pooled results (shown, not pooled)", "bold", "normal"))
        elif kind == "beside":
            assert report.beside is not None, "beside rows come with reviews (_forest_layout)"
            row = report.beside.iloc[payload]
            what = ", ".join(
                x
                for x in (
                    _plain(row["condition"]),
                    _outcome_label(row["domain"], row["measure"]),
                    _plain(row["time"]),
                )
                if x and x != "–"
            )
            spans.append((y, f"{_plain(row['study'])}: {what}", "normal", "italic"))
            ci = f"{fmt(row['estimate'])} [{fmt(row['ci_low'])}, {fmt(row['ci_high'])}]"
            right_rows.append((y, ci, "", "normal"))

    return left_head, left_cols, spans, right_rows


def _forest_pooled(
    ax: Axes,
    report: PoolReport,
    items: list[tuple[str, float, Any]],
    level: str,
    scale: _ForestScale,
) -> None:
    """Diamonds of the subgroups and the overall estimate, the prediction interval through
    the overall diamond, and a dotted reference line at the overall estimate."""
    fits = report.group_fits or {}
    overall = report.overall
    for kind, y, payload in items:
        if kind == "subtotal":
            fit = fits[payload]
            _diamond(
                ax,
                scale,
                y,
                fit.ci_low,
                fit.estimate,
                fit.ci_high,
                facecolor=_OKABE_ITO["sky blue"],
                edgecolor=_OKABE_ITO["blue"],
                lw=0.8,
                gid=f"pooled:{payload}",
            )
        elif kind == "overall":
            assert overall is not None, "an overall row comes with an overall fit (_forest_layout)"
            _diamond(
                ax,
                scale,
                y,
                overall.ci_low,
                overall.estimate,
                overall.ci_high,
                facecolor=_OKABE_ITO["vermillion"],
                edgecolor=_OKABE_ITO["black"],
                lw=0.8,
                gid="pooled:overall",
            )
            ax.vlines(
                scale.x(overall.estimate),
                0.6,
                y,
                colors=_GREY,
                linestyles=":",
                lw=0.8,
                zorder=1,
                gid="overall-reference",
            )
            if overall.pi_low is not None:
                ax.plot(
                    scale.x([overall.pi_low, overall.pi_high]),
                    [y, y],
                    color=_OKABE_ITO["vermillion"],
                    lw=1.0,
                    marker="|",
                    markersize=9,
                    markeredgewidth=1.0,
                    zorder=3,
                    clip_on=False,
                    label=f"{level} prediction interval",
                    gid="prediction-interval",
                )
        elif kind == "beside":
            assert report.beside is not None, "beside rows come with reviews (_forest_layout)"
            row = report.beside.iloc[payload]
            low, mid, high = scale.x([row["ci_low"], row["estimate"], row["ci_high"]])
            ax.hlines(y, low, high, color=_GREY, lw=1.0, zorder=2, gid=f"beside:{payload}")
            ax.scatter(
                [mid],
                [y],
                s=36,
                marker="D",
                facecolors="white",
                edgecolors=_GREY,
                linewidths=1.0,
                zorder=3,
                clip_on=False,
            )


def forest_plot(
    base: EvidenceBase,
    analysis: Analysis | str | None = None,
    *,
    report: PoolReport | None = None,
    ax: Axes | None = None,
    max_rows: int | None = 80,
    **changes: Any,
) -> Figure:
    """Forest plot of response rates: one row per pooled outcome row, grouped, with diamonds.

    Left of the axes: study, arm, outcome (domain and scale), timepoint and responders/N.
    Each row's rate is a square whose area is proportional to its weight in the overall
    model, with its confidence interval (the analysis's per-row method) as a line. Rows are
    grouped by the analysis's ``by`` with a header and a pooled diamond per group; the overall
    diamond carries the prediction interval as a thin line with end caps. Right of the axes:
    rate [CI] in percent and the weight. Under the axes: the rows and studies not pooled, with
    their reasons, and the method.

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified).
    analysis : Analysis, str or None
        The analysis to draw, or the name of one in the protocol; default: the first headline
        analysis in force. Ignored when ``report`` is given.
    report : PoolReport, optional
        An analysis's result (:meth:`evidence.Analysis.run`) to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (its figure is returned, not resized). By default a new figure 8 in
        wide whose height grows with the number of rows.
    max_rows : int or None
        With more pooled rows than this, only the group subtotals and the overall result are
        drawn (a summary forest plot; the note says so); ``None`` draws every row.
    **changes
        Settings changed for this plot (:meth:`evidence.Analysis.replace`: ``by="route"``,
        ``method="DL"``, …).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = forest_plot(evidence.load("studies.bib"), "main", by="route")  # doctest: +SKIP
    """
    if report is None:
        report = pool_evidence(base, analysis, **changes)
    per = report.per_study
    overall = report.overall
    summary = max_rows is not None and len(per) > max_rows
    items, last_y = _forest_layout(report, summary)
    level = f"{100 * report.analysis.level:g}%"
    scale = _ForestScale(report)

    study_rows = [(y, i) for kind, y, i in items if kind == "study"]
    fits = report.group_fits or {}
    left_head, left_cols, spans, right_rows = _forest_table(report, items, level, scale)
    widths = [
        max([_text_width(h, weight="bold")] + [_text_width(v) for v in column])
        for h, column in zip(left_head, left_cols, strict=True)
    ]
    span_width = max(
        [_text_width(t, weight=w) + 4 for _, t, w, _ in spans] + [0.0]
    )  # +4: italic overhang
    left_width = sum(widths) + _GAP * (len(widths) - 1)
    if span_width > left_width:
        widths[0] += span_width - left_width
        left_width = span_width
    rate_head, weight_head = scale.heading(level), "Weight"
    rate_width = max(
        [_text_width(rate_head, weight="bold")] + [_text_width(r[1]) for r in right_rows]
    )
    weight_width = max(
        [_text_width(weight_head, weight="bold")] + [_text_width(r[2]) for r in right_rows]
    )
    edge = _GAP + _SQUARE / 2  # table to axes: a square at 0 or 100% overhangs the axes
    pad = left_width + edge

    omitted = (
        f"Summary plot: the {len(per)} pooled rows (more than max_rows = {max_rows}) are not "
        "drawn one by one; they are in the workbook's Outcomes and Pooled sheets."
        if summary
        else ""
    )
    note_text = " ".join(t for t in (omitted, _excluded_text(report), _method_text(report)) if t)
    row_in = 0.21
    n_rows = last_y + 1.2
    note_lines = len(_wrap(note_text, _WIDTH * 72 - 2 * _MARGIN - 12))
    height = n_rows * row_in + 0.55 + _BELOW_AXIS / 72 + _note_height(note_lines)
    fig, ax = _figure_for(ax, _WIDTH, height)

    # Geometry of the data area.
    scale.axis(ax)
    ax.set_ylim(last_y + 0.7, -0.7)
    if scale.null is not None:
        ax.axvline(scale.null, color=_OKABE_ITO["black"], lw=0.8, zorder=1, gid="no-effect")
        favours = _favours(report)
        if favours is not None:
            for text, side, ha in ((favours[0], -1, "right"), (favours[1], 1, "left")):
                ax.annotate(
                    ("← " + text) if side < 0 else (text + " →"),
                    xy=(scale.null, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(6 * side, -_FONT * 4.4),
                    textcoords="offset points",
                    ha=ha,
                    va="top",
                    fontsize=_SMALL,
                    color=_GREY,
                    annotation_clip=False,
                    gid="favours",
                )
    for spine in ("left", "right", "top"):
        ax.spines[spine].set_visible(False)
    ys = np.array([y for y, _ in study_rows], dtype=float)
    ax.set_yticks(ys, [_plain(v) for v in left_cols[0]], ha="left", fontsize=_FONT)
    ax.tick_params(axis="y", length=0, pad=pad)
    row_pts = fig.get_figheight() * 72 * ax.get_position().height / (last_y + 1.4)

    # Study rows: CI lines, weight-proportional squares.
    if len(study_rows):
        idx = [i for _, i in study_rows]
        centre = "estimate" if report.comparative else "rate"
        rate = scale.x(per[centre].to_numpy(dtype=float)[idx])
        low = scale.x(per["ci_low"].to_numpy(dtype=float)[idx])
        high = scale.x(per["ci_high"].to_numpy(dtype=float)[idx])
        weight = per["weight"].to_numpy(dtype=float, na_value=np.nan)[idx]
        if np.all(np.isnan(weight)):
            weight = np.ones_like(rate)
        largest = min(0.8 * row_pts, _SQUARE)  # largest square's side: 80% of a row at most
        sizes = largest**2 * weight / np.nanmax(weight)
        ax.hlines(ys, low, high, color=_OKABE_ITO["black"], lw=1.0, zorder=2, gid="study-cis")
        ax.scatter(
            rate,
            ys,
            s=sizes,
            marker="s",
            color=_OKABE_ITO["blue"],
            edgecolors="none",
            zorder=3,
            clip_on=False,
            gid="study-rates",
        )

    _forest_pooled(ax, report, items, level, scale)

    # Table text outside the axes, at fixed offsets in points from its edges.
    left_at = blended_transform_factory(ax.transAxes, ax.transData)

    def put(text: str, y: float, dx: float, *, side: float = 0, ha: str = "left", **kw: Any):
        ax.annotate(
            text,
            xy=(side, y),
            xycoords=left_at,
            xytext=(dx, 0),
            textcoords="offset points",
            ha=ha,
            va="center_baseline",
            fontsize=_FONT,
            annotation_clip=False,
            parse_math=False,
            **kw,
        )

    x = -pad
    for j, (head, column) in enumerate(zip(left_head, left_cols, strict=True)):
        put(head, 0.0, x, fontweight="bold")
        if j > 0:
            for (y, _), value in zip(study_rows, column, strict=True):
                put(value, y, x)
        x += widths[j] + _GAP
    for y, text, weight, style in spans:
        put(text, y, -pad, fontweight=weight, fontstyle=style)
    rate_x, weight_x = edge + rate_width, edge + _GAP + rate_width + weight_width
    put(rate_head, 0.0, rate_x, side=1, ha="right", fontweight="bold")
    put(weight_head, 0.0, weight_x, side=1, ha="right", fontweight="bold")
    for y, ci, weight, style in right_rows:
        put(ci, y, rate_x, side=1, ha="right", fontweight=style, gid="rate-text")
        if weight:
            put(weight, y, weight_x, side=1, ha="right", fontweight=style)

    agent_column = "intervention_agent" if report.comparative else "agent"
    agents = (
        report.pooled[agent_column].astype("string").dropna().unique() if len(report.pooled) else []
    )
    who = f", {agents[0]} arms" if len(agents) == 1 and not report.comparative else ""
    grouping = ""
    if fits:
        assert report.by is not None, "group fits come only with a grouping column (pooling)"
        grouping = f", by {_column_name(report.by).lower()}"
    heading = f"{report.analysis.label}{who}{grouping}"
    ax.set_title(heading, loc="left", fontsize=_TITLE, fontweight="bold")
    # Align the (left) title with the table's left edge rather than the axes'.
    title = next(
        t
        for t in ax.get_children()
        if type(t) is Text and t.get_text() == heading and t.get_horizontalalignment() == "left"
    )
    title.set_transform(
        title.get_transform() + ScaledTranslation(-pad / 72, 0, fig.dpi_scale_trans)
    )
    if overall is None:
        ax.annotate(
            "No rows to pool",
            xy=(0.5, 1.2),
            xycoords=("axes fraction", "data"),
            ha="center",
            va="center",
            fontsize=_FONT,
        )
    _note(fig, ax, note_text)
    return fig


# --------------------------------------------------------------------------------------------
# Response over time
# --------------------------------------------------------------------------------------------


def response_over_time(
    base: EvidenceBase, *, ax: Axes | None = None, max_series: int | None = 24
) -> Figure:
    """Response rate (%) against time since dosing, one line per study and arm.

    Uses every outcome row with a rate (responders/n, or a reported percentage) and a
    timepoint, in every arm. Intervention arms are solid lines with filled markers, comparator
    arms (by the protocol's agent roles) dashed lines with hollow markers, in the study's
    colour. Points of different outcomes (domain or scale) of one arm are not joined, and
    are labelled. Time is on a log scale in hours (ranges such as ``1-3 days`` at their end).
    Rows left out (no timepoint, or no rate) are listed under the chart.

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (the legend goes to its right).
    max_series : int or None
        With more study arms than this, the per-study lines, legend and labels are left out
        and every point is drawn in its arm's style only (intervention or comparator); ``None``
        always draws one line per study and arm.

    Returns
    -------
    matplotlib.figure.Figure
    """
    frame = analysis_table(base)
    has_rate = frame["rate"].notna()
    has_time = frame["time_hours"].notna()
    shown = frame[has_rate & has_time]
    series = list(dict.fromkeys(zip(shown["key"], shown["arm"], strict=True)))
    study_keys = list(dict.fromkeys(shown["key"]))
    colours = dict(zip(study_keys, _palette(len(study_keys)), strict=True))
    markers = {k: _MARKERS[i % len(_MARKERS)] for i, k in enumerate(study_keys)}
    labels = dict(zip(frame["key"], frame["study"], strict=False))

    left_out = []
    for (study, arm), rows in frame[has_rate & ~has_time].groupby(["study", "arm"], sort=False):
        outcomes = ", ".join(
            _outcome_label(d, m) for d, m in zip(rows["domain"], rows["measure"], strict=True)
        )
        left_out.append(f"{study} · {arm} ({outcomes})")
    no_rate = [
        f"{study} · {arm}"
        for study, arm in zip(frame["study"][~has_rate], frame["arm"][~has_rate], strict=True)
    ]
    note = f"Points: {len(shown)} rows with a response rate and a timepoint."
    if left_out:
        note += " Not shown, no timepoint: " + "; ".join(left_out) + "."
    if no_rate:
        note += " Not shown, no response rate: " + "; ".join(no_rate) + "."
    note += " Several outcomes of one arm are labelled and not joined."
    if max_series is not None and len(series) > max_series:
        return _over_time_points(shown, ax, len(series), max_series)

    comparators = sorted(
        {_plain(a) for a, r in zip(shown["agent"], shown["role"], strict=True) if _is_comparator(r)}
    )
    legend_names = [labels[k] for k in study_keys] + ["intervention arm"]
    if comparators:
        legend_names.append(f"comparator arm ({', '.join(comparators)})")
    entry = max(_text_width(t) for t in legend_names) + 5.8 * _FONT  # handle, pad, spacing
    ncol = max(1, int((_WIDTH * 72 - 60 + 2 * _FONT) // entry))
    legend_rows = -(-len(legend_names) // ncol)
    height = 3.6 + legend_rows * _FONT * 1.75 / 72 + 0.3
    height += _note_height(len(_wrap(note, _WIDTH * 72 - 2 * _MARGIN - 12)))
    fig, ax = _figure_for(ax, _WIDTH, height)

    hours = shown["time_hours"].to_numpy(dtype=float)
    low = min([0.7, *(hours / 1.6)])
    high = max([1000.0, *(hours * 1.6)])
    labels_to_place: list[tuple[float, float, str, str]] = []
    for key, arm in series:
        rows = shown[(shown["key"] == key) & (shown["arm"] == arm)].copy()
        rows["outcome"] = [
            _outcome_label(d, m) for d, m in zip(rows["domain"], rows["measure"], strict=True)
        ]
        rows = rows.sort_values(["outcome", "time_hours"], kind="stable")
        xs: list[float] = []
        ys: list[float] = []
        for _, part in rows.groupby("outcome", sort=False):
            if xs:
                xs.append(np.nan)
                ys.append(np.nan)
            xs.extend(part["time_hours"].to_numpy(dtype=float))
            ys.extend(part["rate"].to_numpy(dtype=float) * 100)
        comparator = _is_comparator(rows["role"].iloc[0])
        colour = colours[key]
        ax.plot(
            xs,
            ys,
            color=colour,
            linestyle="--" if comparator else "-",
            lw=1.4,
            marker=markers[key],
            markersize=6,
            markerfacecolor="white" if comparator else colour,
            markeredgecolor=colour,
            markeredgewidth=1.3,
            clip_on=False,
            zorder=3,
            label=f"{labels[key]} · {arm}",
            gid=f"series:{key}:{arm}",
        )
        if rows["outcome"].nunique() > 1:
            labels_to_place += [
                (float(x), float(y), text, colour)
                for x, y, text in zip(
                    rows["time_hours"], rows["rate"] * 100, rows["outcome"], strict=True
                )
            ]

    _time_axes(ax, low, high, "Response rate over time since dosing, by study and arm")

    handles = [
        Line2D([], [], color=colours[k], marker=markers[k], lw=1.4, markersize=6)
        for k in study_keys
    ]
    handles.append(Line2D([], [], color=_GREY, marker="o", lw=1.4, markersize=6))
    if comparators:
        handles.append(
            Line2D([], [], color=_GREY, marker="o", ls="--", lw=1.4, markersize=6, mfc="white")
        )
    # Legend under the x label, as many columns as the axes' width holds.
    below = _below(fig, ax)
    ncol = max(1, int((ax.bbox.width * 72 / fig.dpi + 2 * _FONT) // entry))
    ax.legend(
        handles,
        legend_names,
        loc="upper left",
        bbox_to_anchor=(0, 0),
        bbox_transform=ax.transAxes + ScaledTranslation(0, -(below + 4) / 72, fig.dpi_scale_trans),
        ncol=ncol,
        fontsize=_FONT,
        title="Study (colour) · arm (style: solid filled = intervention, dashed hollow = "
        "comparator)",
        title_fontsize=_FONT,
        alignment="left",
        handlelength=3.0,
        frameon=False,
        borderaxespad=0,
    )
    _place_labels(fig, ax, labels_to_place)
    _note(fig, ax, note)
    return fig


def _place_labels(fig: Figure, ax: Axes, labels: list[tuple[float, float, str, str]]) -> None:
    """Annotate data points with small labels, each on the first side of its point (right,
    left, above, below) where it overlaps no marker, no label placed before and stays inside
    the axes; on the right if no side is free."""
    if not labels:
        return
    _lay_out(fig)
    scale = 72 / fig.dpi
    points = [
        ax.transData.transform((x, y)) * scale
        for line in ax.get_lines()
        for x, y in zip(np.asarray(line.get_xdata()), np.asarray(line.get_ydata()), strict=True)
        if np.isfinite(x) and np.isfinite(y)
    ]
    r = 4.5  # marker half-size in points
    taken = [(px - r, py - r, px + r, py + r) for px, py in points]
    frame = np.asarray(ax.bbox.extents) * scale
    height = _SMALL * 1.2
    for x, y, text, colour in labels:
        px, py = ax.transData.transform((x, y)) * scale
        width = _text_width(text, _SMALL)
        half = height / 2
        sides = (  # offset, ha, va, box (x0, y0, x1, y1)
            ((7, 0), "left", "center", (px + 7, py - half, px + 7 + width, py + half)),
            ((-7, 0), "right", "center", (px - 7 - width, py - half, px - 7, py + half)),
            ((0, 7), "center", "bottom", (px - width / 2, py + 7, px + width / 2, py + 7 + height)),
            ((0, -7), "center", "top", (px - width / 2, py - 7 - height, px + width / 2, py - 7)),
        )

        def free(box: tuple[float, float, float, float]) -> bool:
            inside = box[0] >= frame[0] and box[2] <= frame[2] + 20 and box[1] >= frame[1] - 6
            return inside and not any(
                box[0] < t[2] and t[0] < box[2] and box[1] < t[3] and t[1] < box[3] for t in taken
            )

        offset, ha, va, box = next((side for side in sides if free(side[3])), sides[0])
        taken.append(box)
        ax.annotate(
            text,
            xy=(x, y),
            xytext=offset,
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=_SMALL,
            color=colour,
            parse_math=False,
            gid="outcome-label",
        )


# --------------------------------------------------------------------------------------------
# Evidence map
# --------------------------------------------------------------------------------------------


def evidence_map(
    base: EvidenceBase,
    *,
    rows: str = "conditions",
    columns: str = "route",
    ax: Axes | None = None,
) -> Figure:
    """Bubble grid of the evidence: ``rows`` × ``columns`` of the studies table.

    Bubble area is proportional to the participants enrolled (sum of ``n_enrolled``) and the
    number of studies is written in or beside each bubble. A study listing several values
    (``A; B``) counts in each; a study without a value goes to ``(not stated)``; an open
    circle marks studies with no enrolment stated (reviews).

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified).
    rows, columns : str
        Columns of the studies table (``conditions``, ``route``, ``design``, ``blinding``, …).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (the size legend goes to its right).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If ``rows`` or ``columns`` is not a column of the studies table.
    """
    studies = base.studies
    for name, value in (("rows", rows), ("columns", columns)):
        if value not in studies.columns:
            raise ValueError(
                f"{name} must be a column of the studies table; got {value!r} "
                f"(allowed: {', '.join(studies.columns)})"
            )
    cells: dict[tuple[str, str], list[float]] = {}  # (row, column) -> [studies, participants]
    for row_value, col_value, n in zip(
        studies[rows], studies[columns], studies["n_enrolled"], strict=True
    ):
        for r in _categories(row_value):
            for c in _categories(col_value):
                cell = cells.setdefault((r, c), [0, 0])
                cell[0] += 1
                cell[1] += 0 if pd.isna(n) else int(n)
    specs = base.protocol.study_specs
    vocab = {name: (specs[name].choices or ()) if name in specs else () for name in (rows, columns)}
    row_order = _ordered((r for r, _ in cells), vocab[rows])
    col_order = _ordered((c for _, c in cells), vocab[columns])

    unstated = any(cell[1] == 0 for cell in cells.values())
    note = (
        "Number: studies in the cell. Bubble area ∝ participants enrolled (sum of n_enrolled)"
        + ("; open circle: enrolment not stated (e.g. reviews)" if unstated else "")
        + ". A study listed in several rows or columns (e.g. A; B) counts in each. "
        f"{len(studies)} entries."
    )
    col_pts = (_WIDTH * 72 - 160) / max(len(col_order), 1)  # estimated width of a grid column
    col_labels = [_fit_label(_plain(c), col_pts) for c in col_order]
    two_lines = any("\n" in c for c in col_labels)
    height = 1.2 + 0.42 * len(row_order) + (0.15 if two_lines else 0.0)
    height += _BELOW_AXIS / 72 + _note_height(len(_wrap(note, _WIDTH * 72 - 2 * _MARGIN - 12)))
    fig, ax = _figure_for(ax, _WIDTH, height)

    cell_pts = min(
        fig.get_figwidth() * 72 * ax.get_position().width / max(len(col_order), 1),
        fig.get_figheight() * 72 * ax.get_position().height / max(len(row_order), 1),
        0.42 * 72,
    )
    biggest = max((cell[1] for cell in cells.values()), default=0) or 1
    s_max = (0.92 * cell_pts) ** 2
    keys = sorted(cells, key=lambda rc: (row_order.index(rc[0]), col_order.index(rc[1])))
    xs = np.array([col_order.index(c) for _, c in keys], dtype=float)
    ys = np.array([row_order.index(r) for r, _ in keys], dtype=float)
    people = np.array([cells[k][1] for k in keys], dtype=float)
    counts = [int(cells[k][0]) for k in keys]
    stated = people > 0
    sizes = np.where(stated, s_max * people / biggest, 40.0)
    blue = to_rgba(_OKABE_ITO["blue"], 0.85)
    ax.scatter(
        xs,
        ys,
        s=sizes,
        facecolors=[blue if ok else (1, 1, 1, 0) for ok in stated],
        edgecolors=[_OKABE_ITO["blue"]] * len(keys),
        linewidths=1.0,
        zorder=3,
        gid="bubbles",
    )
    for x, y, s, k in zip(xs, ys, sizes, counts, strict=True):
        diameter = float(np.sqrt(s))
        inside = diameter >= 15
        ax.annotate(
            str(k),
            xy=(x, y),
            xytext=(0 if inside else diameter / 2 + 2.5, 0),
            textcoords="offset points",
            ha="center" if inside else "left",
            va="center",
            fontsize=_FONT,
            fontweight="bold",
            color="white" if inside else _OKABE_ITO["black"],
            gid="study-count",
        )

    ax.set_xlim(-0.5, len(col_order) - 0.5)
    ax.set_ylim(len(row_order) - 0.5, -0.5)
    ax.set_xticks(range(len(col_order)), col_labels, fontsize=_FONT)
    ax.set_yticks(range(len(row_order)), [_plain(r) for r in row_order], fontsize=_FONT)
    ax.set_xticks(np.arange(len(col_order) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(row_order) + 1) - 0.5, minor=True)
    ax.grid(True, which="minor", color=_LIGHT, lw=0.6)
    ax.tick_params(which="both", length=0)
    ax.set_axisbelow(True)
    for spine in ax.spines.values():
        spine.set_color(_LIGHT)
    row_name, col_name = _column_name(rows), _column_name(columns)
    ax.set_ylabel(row_name, fontsize=_FONT)
    ax.set_xlabel(col_name, fontsize=_FONT)
    ax.set_title(
        f"Evidence map: studies by {row_name.lower()} and {col_name.lower()}",
        loc="left",
        fontsize=_TITLE,
        fontweight="bold",
    )

    references = sorted({_nice(biggest), _nice(biggest / 5), _nice(biggest / 25)})
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            markersize=float(np.sqrt(s_max * v / biggest)),
            mfc=blue,
            mec=_OKABE_ITO["blue"],
        )
        for v in references
    ]
    labels = [str(v) for v in references]
    if not stated.all():
        handles.append(Line2D([], [], ls="", marker="o", markersize=np.sqrt(40), mfc="white"))
        handles[-1].set_markeredgecolor(_OKABE_ITO["blue"])
        labels.append("not stated")
    ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        title="Participants",
        title_fontsize=_FONT,
        fontsize=_FONT,
        frameon=False,
        labelspacing=1.3,
        borderaxespad=0,
        handletextpad=1.2,
    )
    _note(fig, ax, note)
    return fig


# --------------------------------------------------------------------------------------------
# Risk of bias
# --------------------------------------------------------------------------------------------

#: Each judgement's look: fill (Okabe-Ito), symbol (a mathtext marker), symbol colour, hatch.
#: Colour and symbol both encode the level, so the charts read in greyscale and without colour
#: vision; the symbols follow robvis (+ low, − some concerns, × high, ! critical, ? no info).
_ROB_STYLE: dict[str, tuple[str, str, str, str]] = {
    "low": (_OKABE_ITO["bluish green"], "$+$", "white", ""),
    "some concerns": (_OKABE_ITO["yellow"], "$-$", "black", "//"),
    "moderate": (_OKABE_ITO["yellow"], "$-$", "black", "//"),
    "serious": (_OKABE_ITO["orange"], r"$\times$", "black", "xx"),
    "high": (_OKABE_ITO["vermillion"], r"$\times$", "white", "xx"),
    "critical": (_OKABE_ITO["black"], "$!$", "white", "++"),
    "no information": (_OKABE_ITO["sky blue"], "$?$", "black", ".."),
}
_ROB_ROW_IN = 0.24  # inches per row of the traffic-light plot
_ROB_GAP = 0.7  # rows between two tools' sections


def _rob_results(base: EvidenceBase) -> list[tuple[str, str, int | None, dict[str, str]]]:
    """``(tool, key, outcome_row, {domain: judgement})`` per result, by tool (RoB 2 first)
    then file order, each outcome row's result after its study's."""
    from evidence.rob import TOOLS

    rob = base.risk_of_bias
    results: dict[tuple[str, str, int | None], dict[str, str]] = {}
    for tool, key, row, domain, level in zip(
        rob["tool"].astype(str),
        rob["key"],
        rob["outcome_row"],
        rob["domain"],
        rob["judgement"].astype(str),
        strict=True,
    ):
        outcome_row = None if pd.isna(row) else int(row)
        results.setdefault((tool, key, outcome_row), {})[domain] = level
    order = {t: i for i, t in enumerate(TOOLS)}
    keys = sorted(results, key=lambda r: order[r[0]])  # stable: file order within a tool
    return [(tool, key, row, results[tool, key, row]) for tool, key, row in keys]


def _rob_labels(base: EvidenceBase) -> tuple[dict[str, str], dict[tuple[str, int], str]]:
    """Study labels (``Author Year``) and outcome-row descriptions (``arm, scale``)."""
    from evidence.pooling import _study_labels

    out = base.outcomes
    rows = {
        (key, int(row)): ", ".join(t for t in (_plain(arm), _outcome_label(d, m)) if t)
        for key, row, arm, d, m in zip(
            out["key"], out["row"], out["arm"], out["domain"], out["measure"], strict=True
        )
    }
    return _study_labels(base.studies), rows


def _rob_unassessed(base: EvidenceBase) -> str:
    """Note text naming the studies without a tool (``none``) or without a record."""
    studies = base.studies
    tool = studies["rob_tool"].astype("string")
    none = list(studies.loc[tool.eq("none").fillna(False), "key"])
    absent = list(studies.loc[tool.isna(), "key"])
    parts = []
    if none:
        parts.append(
            f"No tool applies (rob_tool none: reviews, uncontrolled studies): "
            f"{', '.join(_capped(none))}."
        )
    if absent:
        parts.append(f"Not assessed: {', '.join(_capped(absent))}.")
    return " ".join(parts)


def _rob_domain_note(tools: Iterable[str]) -> str:
    from evidence.rob import TOOLS

    parts = []
    for name in tools:
        tool = TOOLS[name]
        domains = "; ".join(f"{d.code} {d.short.lower()}" for d in tool.domains)
        parts.append(f"{tool.title} ({tool.citation}): {domains}.")
    return " ".join(parts)


def _rob_legend(ax: Axes, levels: list[str], title: str, *, hatch: bool = False) -> None:
    """A legend of judgement levels (colour with symbol, or with hatch) right of ``ax``."""
    from matplotlib.legend_handler import HandlerTuple
    from matplotlib.patches import Patch

    handles: list[Any] = []
    for level in levels:
        fill, symbol, ink, pattern = _ROB_STYLE[level]
        if hatch:
            handles.append(Patch(facecolor=fill, edgecolor=_GREY, hatch=pattern, lw=0.4))
        else:
            circle = Line2D([], [], ls="", marker="o", ms=11, mfc=fill, mec=_GREY, mew=0.5)
            mark = Line2D([], [], ls="", marker=symbol, ms=6, color=ink)
            handles.append((circle, mark))
    ax.legend(
        handles,
        [level[0].upper() + level[1:] for level in levels],
        handler_map={tuple: HandlerTuple(ndivide=1)},
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        title=title,
        title_fontsize=_FONT,
        fontsize=_FONT,
        frameon=False,
        borderaxespad=0,
        labelspacing=0.9,
        alignment="left",
    )


def _rob_levels_present(levels: Iterable[str]) -> list[str]:
    from evidence.rob import LEVELS

    present = set(levels)
    return [level for level in LEVELS if level in present]


def rob_traffic_light(base: EvidenceBase, *, ax: Axes | None = None) -> Figure:
    """Traffic-light plot of risk of bias: one row per study (and per outcome row judged
    separately), one column per domain of its tool plus the overall judgement.

    Each judgement is a circle in its colour with its symbol (``+`` low, ``−`` some concerns or
    moderate, ``×`` high or serious, ``!`` critical, ``?`` no information), so the plot reads
    in greyscale. Studies assessed with RoB 2 and with ROBINS-I are drawn as two sections,
    each with its own column headings. The domains' names, and the studies without an
    assessment, are listed under the chart.

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified); its ``risk_of_bias`` table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (its figure is returned, not resized). By default a new figure 8 in
        wide whose height grows with the number of rows.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evidence.rob import OVERALL, TOOLS

    results = _rob_results(base)
    labels, row_names = _rob_labels(base)
    tools = list(dict.fromkeys(tool for tool, *_ in results))
    items: list[tuple[str, float, Any]] = []  # (kind, y, payload) top to bottom
    y = 0.0
    for i, tool_name in enumerate(tools):
        if i:
            y += _ROB_GAP
        items.append(("header", y, tool_name))
        y += 1
        for result in (r for r in results if r[0] == tool_name):
            items.append(("result", y, result))
            y += 1
    n_rows = max(y, 1.0)
    note = " ".join(
        t
        for t in (
            _rob_domain_note(tools),
            "Rows 'study · row N' are outcome rows judged separately (their own judgements "
            "over the study's)."
            if any(r[2] is not None for r in results)
            else "",
            _rob_unassessed(base),
        )
        if t
    )
    height = 0.9 + n_rows * _ROB_ROW_IN + _note_height(len(_wrap(note, _WIDTH * 72 - 24)))
    fig, ax = _figure_for(ax, _WIDTH, height)
    width = max((len(TOOLS[t].codes) + 1.4 for t in tools), default=6.4)
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ax.set_xticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)

    ticks: list[float] = []
    tick_labels: list[str] = []
    bold: list[bool] = []
    cells: dict[str, list[tuple[float, float]]] = {}
    for kind, y, payload in items:
        if kind == "header":
            tool = TOOLS[payload]
            ticks.append(y)
            tick_labels.append(tool.title)
            bold.append(True)
            columns = [*tool.codes, "Overall"]
            for x, text in zip(_rob_columns(tool), columns, strict=True):
                ax.text(
                    x,
                    y,
                    text,
                    ha="center",
                    va="center",
                    fontsize=_FONT,
                    fontweight="bold",
                    gid="rob-column",
                )
            continue
        tool_name, key, outcome_row, judged = payload
        tool = TOOLS[tool_name]
        label = labels.get(key, key)
        if outcome_row is not None:
            what = row_names.get((key, outcome_row), "")
            label = f"{label} · row {outcome_row}" + (f" ({what})" if what else "")
        ticks.append(y)
        tick_labels.append(_plain(label))
        bold.append(False)
        for x, domain in zip(_rob_columns(tool), [*tool.codes, OVERALL], strict=True):
            if domain in judged:
                cells.setdefault(judged[domain], []).append((x, y))
    ax.set_yticks(ticks, tick_labels, fontsize=_FONT)
    for tick, is_bold in zip(ax.get_yticklabels(), bold, strict=True):
        if is_bold:
            tick.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)

    row_pts = fig.get_figheight() * 72 * ax.get_position().height / (n_rows + 0.2)
    size = min(0.78 * row_pts, 14.0)
    for level, points in cells.items():
        fill, symbol, ink, _ = _ROB_STYLE[level]
        xy = np.array(points, dtype=float)
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=size**2,
            color=fill,
            edgecolors=_GREY,
            linewidths=0.5,
            zorder=3,
            gid=f"rob-cells:{level}",
        )
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=(0.5 * size) ** 2,
            marker=symbol,
            color=ink,
            linewidths=0,
            zorder=4,
            gid=f"rob-symbols:{level}",
        )
    for kind, y, payload in items:  # a thin line sets the overall column apart
        if kind == "header":
            section = [yy for k, yy, p in items if k == "result" and p[0] == payload]
            x = _rob_columns(TOOLS[payload])[-1] - 0.7
            if section:
                ax.vlines(x, y + 0.5, section[-1] + 0.5, color=_LIGHT, lw=0.8, zorder=1)
    if not results:
        ax.text(
            (width - 1) / 2,
            0.2,
            "No risk-of-bias assessments",
            ha="center",
            va="center",
            fontsize=_FONT,
        )
    ax.set_title(
        "Risk of bias: judgement per domain", loc="left", fontsize=_TITLE, fontweight="bold"
    )
    _rob_legend(ax, _rob_levels_present(cells), "Judgement")
    _note(fig, ax, note)
    return fig


def _rob_columns(tool: Any) -> list[float]:
    """x of each domain column of ``tool`` and (last, set apart) of the overall column."""
    n = len(tool.codes)
    return [float(i) for i in range(n)] + [n + 0.4]


def rob_summary(
    base: EvidenceBase,
    *,
    weights: Mapping[Any, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Summary plot of risk of bias: per domain (and overall), the share of studies at each
    judgement, as horizontal stacked bars (colour and hatch per judgement).

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified); its ``risk_of_bias`` table.
    weights : mapping, optional
        Weight of each result, e.g. the weights of an analysis's pooled rows: keys are study
        keys (the study's judgements) or ``(key, row)`` pairs (that outcome row's judgements,
        its own where it has them); several entries of one study add up. Shares are then of
        the weight assessed with each tool; weight on studies without an assessment is named
        under the chart. By default every assessed study counts once (its own judgements).
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (its figure is returned, not resized).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a weight is negative or not a number, or a key is not a study of ``base``.

    Examples
    --------
    >>> report = evidence.pool_evidence(base, "main")  # doctest: +SKIP
    >>> rows = zip(report.pooled["key"], report.pooled["row"], strict=True)  # doctest: +SKIP
    >>> w = dict(zip(rows, report.per_study["weight"], strict=True))  # doctest: +SKIP
    >>> rob_summary(base, weights=w)  # doctest: +SKIP
    """
    from evidence.rob import OVERALL, TOOLS

    results = _rob_results(base)
    keys = set(base.studies["key"])
    share: dict[tuple[str, str], dict[str, float]] = {}  # (tool, domain) -> level -> amount
    totals: dict[str, float] = {}
    counted: dict[str, set[str]] = {}
    unassessed: dict[str, float] = {}
    if weights is None:
        chosen = [(r, 1.0) for r in results if r[2] is None]
    else:
        by_result = {(r[1], r[2]): r for r in results}
        chosen = []
        for item, value in weights.items():
            key, row = item if isinstance(item, tuple) else (item, None)
            row = None if row is None or pd.isna(row) else int(row)
            try:
                amount = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"weight of {item!r} is not a number: {value!r}") from None
            if not np.isfinite(amount) or amount < 0:
                raise ValueError(f"weight of {item!r} must be a number >= 0; got {value!r}")
            if key not in keys:
                raise ValueError(f"weights: {key!r} is not a study of {base.path}")
            result = by_result.get((key, row)) or by_result.get((key, None))
            if result is None:
                unassessed[key] = unassessed.get(key, 0.0) + amount
            else:
                chosen.append((result, amount))
    for (tool, key, _, judged), amount in chosen:
        totals[tool] = totals.get(tool, 0.0) + amount
        counted.setdefault(tool, set()).add(key)
        for domain in [*TOOLS[tool].codes, OVERALL]:
            level = judged.get(domain)
            if level is not None:
                cell = share.setdefault((tool, domain), {})
                cell[level] = cell.get(level, 0.0) + amount
    tools = [t for t in TOOLS if t in totals]
    grand = sum(totals.values()) + sum(unassessed.values())

    bars: list[tuple[float, str, str, str]] = []  # y, tool, domain, label
    headers: list[tuple[float, str]] = []
    y = 0.0
    for i, tool in enumerate(tools):
        if i:
            y += _ROB_GAP
        spec = TOOLS[tool]
        n = len(counted[tool])
        what = f"{n} {'study' if n == 1 else 'studies'}"
        if weights is not None and grand > 0:
            what += f", {100 * totals[tool] / grand:.0f}% of the weight"
        headers.append((y, f"{spec.title} ({what})"))
        y += 1
        for domain_spec in spec.domains:
            code, short = domain_spec.code, domain_spec.short
            bars.append((y, tool, code, f"{code} {short}"))
            y += 1
        bars.append((y, tool, OVERALL, "Overall risk of bias"))
        y += 1
    n_rows = max(y, 1.0)

    unit = "weight" if weights is not None else "studies"
    note = (
        f"Bars: share of the {'weight' if weights is not None else 'studies'} assessed with "
        f"each tool at each judgement"
        + (
            " (each study's own judgements; outcome rows judged separately are in the "
            "traffic-light plot)"
            if weights is None
            else " (weights as given)"
        )
        + "."
    )
    if unassessed and grand > 0:
        names = ", ".join(_capped(sorted(unassessed)))
        note += (
            f" Weight on studies without a risk-of-bias assessment: "
            f"{100 * sum(unassessed.values()) / grand:.0f}% ({names})."
        )
    if weights is None:
        note += " " + _rob_unassessed(base)
    height = 0.95 + n_rows * 0.26 + _BELOW_AXIS / 72
    height += _note_height(len(_wrap(note, _WIDTH * 72 - 24)))
    fig, ax = _figure_for(ax, _WIDTH, height)
    levels_drawn: list[str] = []
    for y, tool, domain, _ in bars:
        cell = share.get((tool, domain), {})
        total = totals[tool]
        left = 0.0
        for level in TOOLS[tool].levels:
            amount = cell.get(level, 0.0)
            if amount <= 0 or total <= 0:
                continue
            width = 100 * amount / total
            fill, _, _, pattern = _ROB_STYLE[level]
            ax.barh(
                y,
                width,
                left=left,
                height=0.72,
                color=fill,
                edgecolor=_GREY,
                hatch=pattern,
                linewidth=0.4,
                zorder=2,
                gid=f"rob-bar:{tool}:{domain}:{level}",
            )
            left += width
            levels_drawn.append(level)
    ax.set_xlim(0, 100)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ticks = [y for y, _ in headers] + [y for y, *_ in bars]
    tick_names = [t for _, t in headers] + [label for *_, label in bars]
    ax.set_yticks(ticks, [_plain(n) for n in tick_names], fontsize=_FONT)
    head_rows = {y for y, _ in headers} | {y for y, _, d, _ in bars if d == OVERALL}
    for y, text in zip(ticks, ax.get_yticklabels(), strict=True):
        if y in head_rows:
            text.set_fontweight("bold")
    ax.tick_params(axis="y", length=0)
    ax.set_xticks(np.arange(0, 101, 20))
    ax.tick_params(axis="x", labelsize=_FONT)
    ax.set_xlabel(f"Share of {unit} (%)", fontsize=_FONT)
    for side in ("right", "top", "left"):
        ax.spines[side].set_visible(False)
    if not bars:
        ax.text(50, 0.2, "No risk-of-bias assessments", ha="center", va="center", fontsize=_FONT)
    title = "Risk of bias: share of " + ("weight" if weights is not None else "studies")
    ax.set_title(
        f"{title} at each judgement, by domain", loc="left", fontsize=_TITLE, fontweight="bold"
    )
    _rob_legend(ax, _rob_levels_present(levels_drawn), "Judgement", hatch=True)
    _note(fig, ax, note)
    return fig


# --------------------------------------------------------------------------------------------
# Summary of findings
# --------------------------------------------------------------------------------------------

# Certainty levels on a single-hue scale (ColorBrewer "Blues": safe for every kind of colour
# vision), darker for more certainty; the symbols carry the level in greyscale too.
_CERTAINTY_FILLS = {
    "high": "#9ECAE1",
    "moderate": "#C6DBEF",
    "low": "#DEEBF7",
    "very low": "#F7FBFF",
}
# (heading, width in points) of the summary-of-findings table's columns.
_SOF_COLUMNS = (
    ("Outcome", 178.0),
    ("Studies (participants)", 62.0),
    ("Effect (95% CI)", 104.0),
    ("Absolute effect", 118.0),
    ("Certainty (GRADE)", 102.0),
)
_SOF_LINE = _FONT * 1.3  # points per line of table text
_SOF_PAD = 5.0  # points above and below a row's text


def _sof_cells(row: Mapping[str, Any]) -> list[str]:
    """The texts of one summary-of-findings row, column by column (before wrapping)."""
    k = row["k"]
    n = row["participants"]
    studies = f"{k} {'study' if k == 1 else 'studies'}"
    shown_n = "N not known" if n is None or n is pd.NA else f"N = {n}"
    absolute = _plain(row["absolute_effect"]) or "–"
    return [
        f"{_plain(row['outcome'])} ({row['analysis']})",
        f"{studies}\n{shown_n}",
        _plain(row["relative_effect"]),
        absolute,
        "",
    ]


def summary_of_findings(
    base: EvidenceBase,
    reports: list[PoolReport] | None = None,
    *,
    ax: Axes | None = None,
) -> Figure:
    """The summary of findings as a table: one row per headline analysis with its studies and
    participants, the effect (relative, and absolute per 1,000), and the GRADE certainty in
    symbols (⊕⊕⊕⊕ … ⊕◯◯◯) and words beside the draft's, with footnote letters; the footnotes
    (each downgrade's reason) under the table (:func:`evidence.grade.summary_of_findings`).

    The certainty cell is tinted on a single-hue blue scale, darker for more certainty; the
    symbols say the same in greyscale. Rows grow with their wrapped text, the figure with its
    rows and footnotes, so nothing overlaps.

    Parameters
    ----------
    base : EvidenceBase
        The evidence base (not modified); its protocol holds the GRADE judgements.
    reports : list of PoolReport, optional
        The analyses (their headline ones are shown); default: the headline analyses in force.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (its figure is returned, not resized; the table is laid out in its
        data coordinates, in points).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evidence.grade import footnote_list
    from evidence.grade import summary_of_findings as sof_table
    from evidence.pooling import headline_analyses

    if reports is None:
        reports = [a.run(base) for a in headline_analyses(base)]
    frame = sof_table(base, reports)
    records = frame.to_dict("records")
    width = _WIDTH * 72
    widths = [w for _, w in _SOF_COLUMNS]
    lefts = [_MARGIN + sum(widths[:i]) for i in range(len(widths))]
    title = f"Summary of findings: {base.protocol.title or Path(base.path).name}"
    legend = (
        "Certainty of the evidence (GRADE): ⊕⊕⊕⊕ high, ⊕⊕⊕◯ moderate, ⊕⊕◯◯ low, ⊕◯◯◯ very "
        "low. The draft from the numbers is shown under the certainty that counts (the "
        "analyst's judgements, from the protocol, where declared). Letters: footnotes."
    )
    legend_lines = _wrap(legend, width - 2 * _MARGIN, _SMALL)
    header = [_wrap(name, w - _GAP, _FONT, indent="") for name, w in _SOF_COLUMNS]
    body: list[list[list[str]]] = []
    for row in records:
        texts = _sof_cells(row)
        body.append(
            [_wrap(text, w - _GAP, _FONT, indent="") for text, w in zip(texts, widths, strict=True)]
        )
    certainty_lines = 3  # symbols, words with letters, draft
    heights = [
        max(max(len(c) for c in wrapped), certainty_lines) * _SOF_LINE + 2 * _SOF_PAD
        for wrapped in body
    ]
    head_height = max(len(c) for c in header) * _SOF_LINE + 2 * _SOF_PAD
    notes = footnote_list(frame)
    note_lines = [w for note in notes for w in _wrap(note, width - 2 * _MARGIN, _SMALL)]
    top = _MARGIN + _TITLE * 1.6 + len(legend_lines) * _SMALL * 1.35 + 6
    table_bottom = top + head_height + sum(heights)
    total = table_bottom + 8 + len(note_lines) * _SMALL * 1.35 + _MARGIN
    if ax is None:
        fig = Figure(figsize=(_WIDTH, total / 72))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    else:
        found = ax.get_figure(root=True)
        assert found is not None, "an Axes is made with its figure (matplotlib's Axes(fig, ...))"
        fig = found
    ax.set_xlim(0, width)
    ax.set_ylim(total, 0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_axis_off()
    ax.text(_MARGIN, _MARGIN, title, fontsize=_TITLE, fontweight="bold", va="top", gid="sof-title")
    ax.text(
        _MARGIN,
        _MARGIN + _TITLE * 1.6,
        "\n".join(legend_lines),
        fontsize=_SMALL,
        color=_GREY,
        va="top",
        linespacing=1.35,
        parse_math=False,
    )
    ax.add_patch(
        Rectangle((_MARGIN, top), width - 2 * _MARGIN, head_height, color=_LIGHT, lw=0, zorder=0)
    )
    for x, lines in zip(lefts, header, strict=True):
        ax.text(
            x + 3,
            top + _SOF_PAD,
            "\n".join(lines),
            fontsize=_FONT,
            fontweight="bold",
            va="top",
            linespacing=1.3,
            gid="sof-heading",
        )
    y = top + head_height

    def cell(x: float, lines: Sequence[str], gid: str) -> None:
        ax.text(
            x + 3,
            y + _SOF_PAD,
            "\n".join(lines),
            fontsize=_FONT,
            va="top",
            linespacing=1.3,
            parse_math=False,
            gid=gid,
        )

    for row, cells, height in zip(records, body, heights, strict=True):
        for x, lines in zip(lefts[:-1], cells[:-1], strict=True):
            cell(x, lines, f"sof-cell:{row['analysis']}")
        x = lefts[-1]
        level = _plain(row["certainty"])
        marks = _plain(row["footnote_marks"])
        if level:
            ax.add_patch(
                Rectangle(
                    (x, y + 1),
                    widths[-1] - 2,
                    height - 2,
                    facecolor=_CERTAINTY_FILLS[level],
                    edgecolor="none",
                    zorder=0,
                    gid=f"sof-certainty:{row['analysis']}:{level}",
                )
            )
            draft = f"draft: {row['draft_symbols']} {row['draft_certainty']}"
            lines = [str(row["symbols"]), f"{level} ({marks})" if marks else level, draft]
        else:
            lines = ["not rated", f"({marks})" if marks else ""]
        cell(x, lines, f"sof-level:{row['analysis']}")
        y += height
        ax.plot([_MARGIN, width - _MARGIN], [y, y], color=_LIGHT, lw=0.6, zorder=1)
    ax.text(
        _MARGIN,
        table_bottom + 8,
        "\n".join(note_lines),
        fontsize=_SMALL,
        color=_GREY,
        va="top",
        linespacing=1.35,
        parse_math=False,
        gid="sof-footnotes",
    )
    return fig


# --------------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------------


def save_figure(fig: Figure, path_without_suffix: str | os.PathLike[str]) -> list[Path]:
    """Write ``fig`` as PNG (200 dpi) and SVG, byte-identical from run to run.

    The SVG carries no date and uses a fixed hash salt for its element ids; the PNG carries
    no software stamp. Parent folders are created.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write.
    path_without_suffix : str or os.PathLike
        Target path without suffix: ``reports/figures/forest`` writes ``forest.png`` and
        ``forest.svg``.

    Returns
    -------
    list of pathlib.Path
        The files written, PNG first.
    """
    stem = Path(path_without_suffix)
    stem.parent.mkdir(parents=True, exist_ok=True)
    png = stem.with_name(stem.name + ".png")
    svg = stem.with_name(stem.name + ".svg")
    # Each file is laid out for its own renderer: text measured for the PNG (hinted, at 200
    # dpi) differs from the SVG's outlines by up to 14 pt on a long line, so a layout kept
    # from one for the other would move margins by points and could cut text off.
    with matplotlib.rc_context(_SVG_SETTINGS):
        fig.savefig(png, format="png", dpi=200, metadata={"Software": None})
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


#: What makes the SVG output reproducible: fixed element ids (no random salt).
_SVG_SETTINGS: dict[RcKeyType, Any] = {"svg.hashsalt": "evidence"}


def svg_text(fig: Figure) -> str:
    """``fig`` as SVG text, exactly as :func:`save_figure` writes it."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_SETTINGS):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
