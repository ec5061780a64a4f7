"""Charts (evidence.charts): structure of each figure, layout, no mutation, reproducible files."""

from __future__ import annotations

import io
import itertools
import subprocess
import sys
from pathlib import Path

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Polygon
from matplotlib.text import Annotation, Text

import evidence
from evidence.analysis import Analysis
from evidence.charts import (
    _MARGIN,
    _OKABE_ITO,
    _ROB_STYLE,
    evidence_map,
    forest_plot,
    response_over_time,
    rob_summary,
    rob_traffic_light,
    save_figure,
    summary_of_findings,
)
from evidence.pooling import pool_evidence

#: Every ketamine row, as if independent: the eight-row figure these tests check.
ALL = Analysis(name="all", title="Response rate", dependence="none", by="conditions")

ROOT = Path(__file__).parent.parent
CHARTS = {
    "forest": lambda data, **kwargs: forest_plot(data, ALL, **kwargs),
    "over-time": response_over_time,
    "map": evidence_map,
    "rob-traffic-light": rob_traffic_light,
    "rob-summary": rob_summary,
    "summary-of-findings": summary_of_findings,
}

CONDITIONS = ("GAD", "SAD", "OCD", "PTSD", "GAD; SAD", "PD")
ROUTES = ("IV", "SC", "oral", "intranasal", "IV; IM", None)
TIMES = ("90 min", "24 h", "1 week", "2 weeks", "day 28")


def synthetic_bib(n: int) -> str:
    """``n`` valid studies: one to three outcome rows each, every third with a placebo arm."""
    entries = []
    for i in range(n):
        responders, total = (3 * i) % 11 + 1, 12 + i % 7
        rows = [
            f"arm=ketamine; domain=anxiety; measure=HAM-A; responders={responders}; n={total}; "
            f"time={TIMES[i % 5]}"
        ]
        if i % 3 == 0:
            rows += [
                f"arm=ketamine; domain=anxiety; measure=HAM-A; "
                f"responders={min(responders + 2, total)}; n={total}; time={TIMES[(i + 2) % 5]}",
                f"arm=placebo; domain=anxiety; measure=HAM-A; responders={responders // 3}; "
                f"n={total}; time={TIMES[i % 5]}",
            ]
        route = ROUTES[i % len(ROUTES)]
        entries.append(
            f"@article{{synth{i:02d},\n"
            f"  author = {{Author{chr(65 + i % 26)}, Ann and Other, B.}},\n"
            f"  title = {{Synthetic study {i}}},\n  journal = {{J Synth}},\n"
            f"  year = {{{2000 + i}}},\n"
            f"  design = {{rct-parallel}},\n  conditions = {{{CONDITIONS[i % len(CONDITIONS)]}}},\n"
            + (f"  route = {{{route}}},\n" if route else "")
            + f"  arms = {{{'ketamine; placebo' if i % 3 == 0 else 'ketamine'}}},\n"
            f"  n_enrolled = {{{2 * total}}},\n"
            "  outcomes = {\n    " + "\n    ".join(rows) + "\n  },\n}\n"
        )
    return "\n".join(entries)


@pytest.fixture(scope="module")
def base() -> evidence.EvidenceBase:
    return evidence.load(ROOT / "studies.bib")


@pytest.fixture(scope="module")
def big() -> evidence.EvidenceBase:
    loaded = evidence.loads(synthetic_bib(24))
    assert not loaded.errors, [str(p) for p in loaded.errors]
    return loaded


@pytest.fixture(scope="module")
def report(base):
    return pool_evidence(base, ALL)


@pytest.fixture(scope="module")
def forest(base, report) -> Figure:
    return forest_plot(base, report=report)


@pytest.fixture(scope="module")
def over_time(base) -> Figure:
    return response_over_time(base)


@pytest.fixture(scope="module")
def emap(base) -> Figure:
    return evidence_map(base)


@pytest.fixture(scope="module")
def drawn(base, big):
    """``drawn(chart, which)``: the chart of the bundled or synthetic base, drawn with Agg
    (built once per module)."""
    cache: dict = {}

    def get(chart: str, which: str):
        if (chart, which) not in cache:
            fig = CHARTS[chart](base if which == "bundled" else big)
            cache[chart, which] = fig, rendered(fig)
        return cache[chart, which]

    return get


def by_gid(ax, gid: str) -> list:
    return [a for a in ax.get_children() if a.get_gid() == gid]


def one(ax, gid: str):
    (artist,) = by_gid(ax, gid)
    return artist


def texts(ax) -> list[str]:
    return [a.get_text() for a in ax.get_children() if isinstance(a, Text)]


def note(ax) -> str:
    return one(ax, "note").get_text().replace("\n    ", " ").replace("\n", " ")


def rendered(fig: Figure):
    """Draw with Agg (as saving does) and return the renderer."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def overlapping(boxes) -> list[tuple[int, int]]:
    return [
        (i, j)
        for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
        if a.x0 < b.x1 - 0.5 and b.x0 < a.x1 - 0.5 and a.y0 < b.y1 - 0.5 and b.y0 < a.y1 - 0.5
    ]


# --- forest plot ------------------------------------------------------------------------------


def test_forest_one_square_per_pooled_row_at_its_rate(forest, report) -> None:
    ax = forest.axes[0]
    squares = one(ax, "study-rates")
    assert isinstance(squares, PathCollection)
    per = report.per_study
    assert len(squares.get_offsets()) == len(per) == 8
    by_study = sorted(zip(squares.get_offsets()[:, 0], strict=True))
    assert by_study == sorted(zip(per["rate"].to_numpy(dtype=float) * 100, strict=True))
    cis = one(ax, "study-cis")
    assert isinstance(cis, LineCollection)
    assert len(cis.get_segments()) == len(per)


def plot_order(report) -> list[int]:
    """Rows of ``per_study`` top to bottom: grouped, groups in order of first appearance."""
    groups = report.pooled[report.by].astype("string").tolist()
    return [i for g in report.group_fits for i, h in enumerate(groups) if h == g]


def test_forest_square_area_is_proportional_to_weight(forest, report) -> None:
    squares = one(forest.axes[0], "study-rates")
    order = plot_order(report)
    per = report.per_study.iloc[order]
    np.testing.assert_allclose(squares.get_offsets()[:, 0], per["rate"].to_numpy(float) * 100)
    ratio = squares.get_sizes() / per["weight"].to_numpy(dtype=float)
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)
    labels = [t.get_text() for t in forest.axes[0].get_yticklabels()]
    assert labels == per["study"].tolist()


def test_forest_y_tick_labels_are_the_study_labels(forest, report) -> None:
    labels = [t.get_text() for t in forest.axes[0].get_yticklabels()]
    assert "Rodriguez 2013" in labels
    assert sorted(labels) == sorted(report.per_study["study"])


def test_forest_x_axis_is_percent(forest) -> None:
    ax = forest.axes[0]
    assert ax.get_xlim() == (0, 100)
    assert ax.get_xlabel() == "Response rate (%)"
    assert "Response rate, ketamine arms, by condition" in ax.get_title(loc="left")


def test_forest_one_diamond_per_group_and_overall(forest, report) -> None:
    ax = forest.axes[0]
    diamonds = {p.get_gid(): p for p in ax.patches if isinstance(p, Polygon)}
    assert set(diamonds) == {f"pooled:{g}" for g in report.group_fits} | {"pooled:overall"}
    xs = diamonds["pooled:overall"].get_xy()[:, 0]
    o = report.overall
    np.testing.assert_allclose(sorted(set(xs)), [100 * o.ci_low, 100 * o.estimate, 100 * o.ci_high])


def test_forest_prediction_interval_through_overall_diamond(forest, report) -> None:
    ax = forest.axes[0]
    line = one(ax, "prediction-interval")
    o = report.overall
    np.testing.assert_allclose(line.get_xdata(), [100 * o.pi_low, 100 * o.pi_high])
    diamond_y = one(ax, "pooled:overall").get_xy()[:, 1]
    assert set(line.get_ydata()) == {np.median(diamond_y)}
    assert "95% prediction interval" in texts(ax)
    assert f"[{100 * o.pi_low:.1f}, {100 * o.pi_high:.1f}]" in texts(ax)


def test_forest_right_column_rate_ci_and_weight(forest) -> None:
    shown = texts(forest.axes[0])
    assert {"Rate % [95% CI]", "Weight", "75.6 [49.1, 90.9]", "100%"} <= set(shown)
    assert "50.0 [21.5, 78.5]" in shown and "16.1%" in shown  # Rodriguez 2013, Wilson CI


def test_forest_note_lists_excluded_rows_and_method(forest) -> None:
    text = note(forest.axes[0])
    assert "Not pooled: taylor2018 row 1 (ketamine, LSAS): no responder counts" in text
    assert "(only 33.33% reported)" in text
    assert "No outcome rows: whittaker2021 (meta-analysis)" in text
    assert "Random effects (REML), logit; Wilson 95% CIs" in text
    assert "I² = 64.7%" in text


@pytest.mark.parametrize(
    ("kwargs", "diamonds", "has_pi", "method"),
    [
        pytest.param({"by": None}, 1, True, "Random effects (REML)", id="no-groups"),
        pytest.param({"by": "route"}, 4, True, "Random effects (REML)", id="by-route"),
        pytest.param({"method": "FE"}, 6, False, "Fixed effect", id="fixed-effect-no-pi"),
        pytest.param({"measure": "PFT"}, 6, True, "Freeman-Tukey", id="freeman-tukey"),
    ],
)
def test_forest_options(base, kwargs, diamonds, has_pi, method) -> None:
    ax = forest_plot(base, ALL, **kwargs).axes[0]
    assert sum(isinstance(p, Polygon) for p in ax.patches) == diamonds
    assert bool(by_gid(ax, "prediction-interval")) is has_pi
    assert method in note(ax)


# --- response over time ---------------------------------------------------------------------


def test_over_time_axes(over_time) -> None:
    ax = over_time.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 h", "1 d", "1 wk", "4 wk"]
    np.testing.assert_allclose(ax.get_xticks(), [1, 24, 168, 672])
    low, high = ax.get_xlim()
    assert low < 1 and high > 672
    assert ax.get_ylabel() == "Response rate (%)"
    assert "over time" in ax.get_title(loc="left")


def test_over_time_one_line_per_study_and_arm(over_time, base) -> None:
    rows = base.outcomes[base.outcomes["rate"].notna() & base.outcomes["time_hours"].notna()]
    expected = {f"series:{k}:{a}" for k, a in zip(rows["key"], rows["arm"], strict=True)}
    lines = {line.get_gid(): line for line in over_time.axes[0].get_lines()}
    assert set(lines) == expected
    assert len(lines) == 8
    points = sum(np.isfinite(line.get_ydata()).sum() for line in lines.values())
    assert points == len(rows)


@pytest.mark.parametrize(
    ("gid", "style", "hollow"),
    [
        pytest.param("series:taylor2018:placebo", "--", True, id="placebo"),
        pytest.param("series:feder2021:midazolam", "--", True, id="midazolam"),
        pytest.param("series:rodriguez2013:placebo", "--", True, id="placebo-2"),
        pytest.param("series:taylor2018:ketamine", "-", False, id="ketamine"),
        pytest.param("series:bloch2012:ketamine", "-", False, id="ketamine-2"),
    ],
)
def test_over_time_comparator_arms_dashed_and_hollow(over_time, gid, style, hollow) -> None:
    line = one(over_time.axes[0], gid)
    assert line.get_linestyle() == style
    assert (line.get_markerfacecolor() == "white") is hollow
    assert line.get_markeredgecolor() == line.get_color()


def test_over_time_colours_are_okabe_ito(over_time) -> None:
    palette = {mcolors.to_hex(c) for c in _OKABE_ITO.values()}
    used = {mcolors.to_hex(line.get_color()) for line in over_time.axes[0].get_lines()}
    assert used <= palette
    assert len(used) == 5  # one colour per study


def test_over_time_labels_outcomes_and_notes_rows_left_out(over_time) -> None:
    ax = over_time.axes[0]
    labels = [a.get_text() for a in by_gid(ax, "outcome-label")]
    assert sorted(labels) == [
        "LSAS",
        "LSAS",
        "VAS-A",
        "VAS-A",
        "depression",
        "obsessive-compulsive",
    ]
    text = note(ax)
    assert "Not shown, no timepoint: Glue 2017 · ketamine (anxiety)" in text
    assert "Irwin 2013 · ketamine (HADS-A, HADS-D)" in text


def test_over_time_legend_does_not_cover_data(over_time) -> None:
    ax = over_time.axes[0]
    renderer = rendered(over_time)
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 < ax.bbox.y0  # below the axes
    assert "Feder 2021" in [t.get_text() for t in ax.get_legend().get_texts()]


# --- evidence map -----------------------------------------------------------------------------


def expected_cells(studies: pd.DataFrame, rows: str, columns: str) -> dict:
    def split(value) -> list[str]:
        return [p.strip() for p in str(value).split(";")] if pd.notna(value) else ["(not stated)"]

    cells: dict = {}
    for r, c, n in zip(studies[rows], studies[columns], studies["n_enrolled"], strict=True):
        for a, b in itertools.product(split(r), split(c)):
            k, people = cells.get((a, b), (0, 0))
            cells[(a, b)] = (k + 1, people + (0 if pd.isna(n) else int(n)))
    return cells


@pytest.mark.parametrize("columns", ["route", "design"])
def test_map_one_bubble_per_cell_with_study_count(base, columns) -> None:
    ax = evidence_map(base, columns=columns).axes[0]
    cells = expected_cells(base.studies, "conditions", columns)
    bubbles = one(ax, "bubbles")
    assert len(bubbles.get_offsets()) == len(cells)
    counts = [int(a.get_text()) for a in by_gid(ax, "study-count")]
    assert sorted(counts) == sorted(k for k, _ in cells.values())
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text().replace("-\n", "-") for t in ax.get_xticklabels()]
    assert set(rows) == {r for r, _ in cells}
    assert set(cols) == {c for _, c in cells}
    assert ax.get_ylabel() == "Condition"


def test_map_route_columns_and_participants(emap, base) -> None:
    ax = emap.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IV", "SC", "oral", "(not stated)"]
    assert ax.get_xlabel() == "Route of administration"
    cells = expected_cells(base.studies, "conditions", "route")
    bubbles = one(ax, "bubbles")
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    people = np.array(
        [cells[(rows[int(y)], cols[int(x)])][1] for x, y in bubbles.get_offsets()], dtype=float
    )
    stated = people > 0
    ratio = bubbles.get_sizes()[stated] / people[stated]
    np.testing.assert_allclose(ratio, ratio[0])
    assert cells[("PTSD", "IV")] == (3, 229)
    assert [t.get_text() for t in ax.get_legend().get_texts()][-1] == "not stated"


LIST_CELLS = """
@article{a1, author = {A, A.}, title = {T}, journal = {J}, year = {2020},
  conditions = {GAD; SAD}, route = {IV}, n_enrolled = {10}}
@article{b2, author = {B, B.}, title = {T}, journal = {J}, year = {2021},
  conditions = {GAD}, n_enrolled = {40}}
"""


def test_map_list_valued_cells_count_in_each_category() -> None:
    small = evidence.loads(LIST_CELLS)
    ax = evidence_map(small).axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GAD", "SAD"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["IV", "(not stated)"]
    bubbles = one(ax, "bubbles")
    offsets = [tuple(o) for o in bubbles.get_offsets()]
    assert offsets == [(0, 0), (1, 0), (0, 1)]
    np.testing.assert_allclose(bubbles.get_sizes() / [10, 40, 10], bubbles.get_sizes()[1] / 40)


def test_charts_of_a_base_without_outcome_rows() -> None:
    small = evidence.loads(LIST_CELLS)
    forest = forest_plot(small).axes[0]
    assert "No rows to pool" in texts(forest)
    assert not any(isinstance(p, Polygon) for p in forest.patches)
    assert "No outcome rows: a1 (plain reference), b2 (plain reference)." in note(forest)
    over = response_over_time(small).axes[0]
    assert over.get_lines() == []
    assert [t.get_text() for t in over.get_xticklabels()] == ["1 h", "1 d", "1 wk", "4 wk"]


def test_map_rejects_unknown_column(base) -> None:
    with pytest.raises(ValueError, match="columns must be a column of the studies table"):
        evidence_map(base, columns="colour")


# --- all charts: layout, ax=, no mutation -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("which", ["bundled", "synthetic-24"])
def test_forest_tick_labels_do_not_overlap(base, big, drawn, which) -> None:
    data = base if which == "bundled" else big
    fig, renderer = drawn("forest", which)
    ax = fig.axes[0]
    labels = ax.get_yticklabels()
    assert len(labels) == len(pool_evidence(data, ALL).per_study)
    assert overlapping([t.get_window_extent(renderer) for t in labels]) == []
    # no text of the table overlaps another (note, title and tick labels included)
    shown = [t for t in [*ax.get_children(), *labels] if isinstance(t, Text) and t.get_text()]
    assert overlapping([t.get_window_extent(renderer) for t in shown]) == []


def test_forest_height_grows_with_rows(forest, drawn) -> None:
    taller, _ = drawn("forest", "synthetic-24")
    assert taller.get_figheight() > forest.get_figheight() + 3
    assert forest.get_figwidth() == taller.get_figwidth() == 8


@pytest.mark.parametrize("which", ["bundled", "synthetic-24"])
@pytest.mark.parametrize("chart", list(CHARTS), ids=list(CHARTS))
def test_nothing_is_clipped(drawn, chart, which) -> None:
    fig, renderer = drawn(chart, which)
    ax = fig.axes[0]
    frame = fig.bbox
    shown = [
        t
        for t in [*ax.get_children(), *ax.get_xticklabels(), *ax.get_yticklabels()]
        if isinstance(t, Text) and t.get_text() and t.get_visible()
    ]
    if ax.get_legend() is not None:
        shown.append(ax.get_legend())
    for artist in shown:
        box = artist.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 1, artist
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1 + 1, artist
    if chart != "map":
        labels = [a for a in shown if isinstance(a, Annotation) and a.get_gid() != "note"]
        assert overlapping([a.get_window_extent(renderer) for a in labels]) == []


@pytest.mark.parametrize("chart", list(CHARTS), ids=list(CHARTS))
def test_draws_into_given_axes(base, chart) -> None:
    fig = Figure(figsize=(16, 6), layout="constrained")
    left, right = fig.subplots(1, 2)
    assert CHARTS[chart](base, ax=right) is fig
    assert right.has_data()
    assert not left.has_data() and not left.texts
    assert len(fig.axes) == 2


@pytest.mark.parametrize("chart", list(CHARTS), ids=list(CHARTS))
def test_draws_into_hidden_axes(base, chart) -> None:
    # hidden axes have no tight bounding box (matplotlib returns None): the chart is drawn
    # all the same, and its note starts at the figure's left edge, just below the axes
    fig = Figure(figsize=(16, 6), layout="constrained")
    _, right = fig.subplots(1, 2)
    right.set_visible(False)
    assert CHARTS[chart](base, ax=right) is fig
    assert right.has_data() and not right.get_visible()
    notes = [a for a in right.texts if a.get_gid() == "note"]
    if chart == "summary-of-findings":  # a table: its footnotes are inside its own axes
        assert notes == []
    else:
        assert [(a.xy, a.xyann) for a in notes] == [((0.0, 0), (_MARGIN, -8))]


@pytest.mark.parametrize("chart", list(CHARTS), ids=list(CHARTS))
def test_inputs_not_mutated(chart) -> None:
    data = evidence.load(ROOT / "studies.bib")
    studies, outcomes = data.studies.copy(deep=True), data.outcomes.copy(deep=True)
    CHARTS[chart](data)
    pd.testing.assert_frame_equal(data.studies, studies)
    pd.testing.assert_frame_equal(data.outcomes, outcomes)


def test_forest_does_not_mutate_report(base) -> None:
    rep = pool_evidence(base, ALL)
    per, pooled = rep.per_study.copy(deep=True), rep.pooled.copy(deep=True)
    forest_plot(base, report=rep)
    pd.testing.assert_frame_equal(rep.per_study, per)
    pd.testing.assert_frame_equal(rep.pooled, pooled)


# --- saving -----------------------------------------------------------------------------------


SAVE_SCRIPT = """
import sys
import evidence
from evidence.charts import evidence_map, save_figure
save_figure(evidence_map(evidence.load("studies.bib")), sys.argv[1])
"""


@pytest.mark.slow
def test_save_figure_writes_png_and_svg(emap, tmp_path) -> None:
    paths = save_figure(emap, tmp_path / "figures" / "map")
    assert paths == [tmp_path / "figures" / "map.png", tmp_path / "figures" / "map.svg"]
    png, svg = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG") and b"matplotlib version" not in png
    width = int.from_bytes(png[16:20], "big")
    assert width == 8 * 200  # 8 in at 200 dpi
    assert b"<svg" in svg and b"<dc:date>" not in svg
    # the same bytes from a fresh interpreter
    other = tmp_path / "subprocess"
    subprocess.run([sys.executable, "-c", SAVE_SCRIPT, str(other)], cwd=ROOT, check=True)
    for path, suffix in zip(paths, (".png", ".svg"), strict=True):
        assert path.read_bytes() == other.with_suffix(suffix).read_bytes(), suffix


def test_charts_measure_by_laying_out_not_by_drawing(base, report, monkeypatch) -> None:
    """Placing notes and outcome labels lays the figure out (to measure it) but draws
    nothing: a draw, even unrendered, walks every artist for the same positions."""
    draws: list[object] = []
    layouts: list[object] = []
    draw, execute = Figure.draw, ConstrainedLayoutEngine.execute
    monkeypatch.setattr(Figure, "draw", lambda self, r: (draws.append(self), draw(self, r))[1])
    monkeypatch.setattr(
        ConstrainedLayoutEngine,
        "execute",
        lambda self, fig: (layouts.append(fig), execute(self, fig))[1],
    )
    for fig in (forest_plot(base, report=report), response_over_time(base)):
        assert draws == []
        assert fig in layouts  # it was measured as laid out
        fig.savefig(io.BytesIO(), format="png")
        assert draws and all(d is fig for d in draws)  # saving draws, as ever
        draws.clear()


@pytest.mark.slow
def test_saves_are_byte_identical(base, report, tmp_path) -> None:
    first = save_figure(forest_plot(base, report=report), tmp_path / "a")
    second = save_figure(forest_plot(base, report=report), tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.suffix


# --- many rows: summary modes -----------------------------------------------------------------


def test_forest_summary_mode_above_max_rows(base, report) -> None:
    fig = forest_plot(base, report=report, max_rows=5)
    ax = fig.axes[0]
    assert by_gid(ax, "study-rates") == [] or len(one(ax, "study-rates").get_offsets()) == 0
    assert list(ax.get_yticks()) == []
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == len(report.group_fits) + 1
    assert note(ax).startswith(
        "Summary plot: the 8 pooled rows (more than max_rows = 5) are not drawn one by one"
    )
    assert fig.get_figheight() < forest_plot(base, report=report).get_figheight()


def test_over_time_points_mode_above_max_series(base) -> None:
    fig = response_over_time(base, max_series=3)
    ax = fig.axes[0]
    ketamine, comparator = one(ax, "points:intervention"), one(ax, "points:comparator")
    assert len(ketamine.get_offsets()) == 7 and len(comparator.get_offsets()) == 4
    assert [line for line in ax.get_lines() if str(line.get_gid()).startswith("series:")] == []
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "intervention arm",
        "comparator arm",
    ]
    assert "from 8 study arms; with more than 3 arms" in note(ax)


def test_long_note_lists_are_capped() -> None:
    from evidence.charts import _capped

    items = [f"k{i}" for i in range(20)]
    assert _capped(items) == [*items[:12], "… and 8 more (all are listed in the workbook)"]
    assert _capped(items[:3]) == items[:3]


# --- risk of bias -----------------------------------------------------------------------------

ROB2_CYCLE = ("low", "some concerns", "high", "no information")
ROBINS_CYCLE = ("low", "moderate", "serious", "critical", "no information")


def synthetic_rob_bib(n: int) -> str:
    """``n`` valid studies with risk of bias: two in three randomised (RoB 2), one in three
    cohorts (ROBINS-I), judgements cycling through every level, every seventh study with an
    outcome row judged separately; the stated overall is always the algorithm's."""
    from evidence.rob import ROB2, ROBINS_I

    entries = []
    for i in range(n):
        tool = ROBINS_I if i % 3 == 2 else ROB2
        cycle = ROBINS_CYCLE if tool is ROBINS_I else ROB2_CYCLE
        levels = [
            cycle[(i + j) % len(cycle)] if (i + j) % 3 == 0 else "low"
            for j in range(len(tool.codes))
        ]
        rows = [
            f"domain={c}; judgement={lv}; support={{fact {j}}}"
            for j, (c, lv) in enumerate(zip(tool.codes, levels, strict=True))
        ]
        rows.append(f"domain=overall; judgement={tool.overall(levels)}")
        if i % 7 == 0:
            worse = "high" if tool is ROB2 else "serious"
            changed = [*levels[:3], worse, *levels[4:]]
            rows.append(f"outcome=2; domain=D4; judgement={worse}; support={{self-rated}}")
            rows.append(f"outcome=2; domain=overall; judgement={tool.overall(changed)}")
        design = "cohort" if tool is ROBINS_I else "rct-parallel"
        entries.append(
            f"@article{{rob{i:02d},\n  author = {{Writer{chr(65 + i % 26)}, Ann}},\n"
            f"  title = {{Synthetic trial {i}}},\n  journal = {{J Synth}},\n"
            f"  year = {{{1960 + i}}},\n  design = {{{design}}},\n  arms = {{drug; placebo}},\n"
            "  outcomes = {\n    arm=drug; measure=SCALE-A; responders=3; n=10\n"
            "    arm=drug; measure=SCALE-B; responders=4; n=10\n  },\n"
            f"  rob_tool = {{{tool.name}}},\n"
            "  rob = {\n    " + "\n    ".join(rows) + "\n  },\n}\n"
        )
    return "\n".join(entries)


@pytest.fixture(scope="module")
def rob60() -> evidence.EvidenceBase:
    loaded = evidence.loads(synthetic_rob_bib(60))
    assert loaded.problems == [], [str(p) for p in loaded.problems[:5]]
    return loaded


@pytest.fixture(scope="module")
def rob_drawn(base, rob60):
    cache: dict = {}

    def get(chart: str, which: str):
        if (chart, which) not in cache:
            fig = CHARTS[chart](base if which == "bundled" else rob60)
            cache[chart, which] = fig, rendered(fig)
        return cache[chart, which]

    return get


def shown_texts(fig, renderer) -> list:
    """Every visible text of the figure's first axes (tick labels, title, note, legend)."""
    ax = fig.axes[0]
    texts = [*ax.get_children(), *ax.get_xticklabels(), *ax.get_yticklabels()]
    legend = ax.get_legend()
    if legend is not None:
        texts += [*legend.get_texts(), legend.get_title()]
    return [t for t in texts if isinstance(t, Text) and t.get_text() and t.get_visible()]


def cells(ax, prefix: str) -> dict[str, np.ndarray]:
    return {
        str(c.get_gid()).split(":", 1)[1]: c.get_offsets()
        for c in ax.collections
        if str(c.get_gid()).startswith(prefix)
    }


@pytest.mark.parametrize("which", ["bundled", "synthetic-60"])
@pytest.mark.parametrize("chart", ["rob-traffic-light", "rob-summary"])
def test_rob_charts_text_never_overlaps_or_leaves_the_figure(rob_drawn, chart, which) -> None:
    fig, renderer = rob_drawn(chart, which)
    shown = shown_texts(fig, renderer)
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert overlapping(boxes) == [], [
        (shown[i].get_text(), shown[j].get_text()) for i, j in overlapping(boxes)
    ]
    frame = fig.bbox
    for text, box in zip(shown, boxes, strict=True):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 + 1, text
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1 + 1, text
    assert fig.axes[0].get_legend() is not None


def test_rob_traffic_light_has_every_study_row_at_60(rob_drawn, rob60) -> None:
    fig, renderer = rob_drawn("rob-traffic-light", "synthetic-60")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels.count("RoB 2") == 1 and labels.count("ROBINS-I") == 1
    studies = [lab for lab in labels if lab not in ("RoB 2", "ROBINS-I")]
    expected = [f"Writer{chr(65 + i % 26)} {1960 + i}" for i in range(60)]
    plain = [lab for lab in studies if " · row " not in lab]
    assert sorted(plain) == sorted(expected)
    assert sum(" · row 2 (drug, SCALE-B)" in lab for lab in studies) == len(range(0, 60, 7))
    # rows are at least a line of text apart
    ys = sorted(t.get_window_extent(renderer).y0 for t in ax.get_yticklabels())
    assert min(np.diff(ys)) >= 8 * fig.dpi / 72
    # one circle per result and domain + overall, as the table says
    rob = rob60.risk_of_bias
    drawn = cells(ax, "rob-cells:")
    assert sum(len(v) for v in drawn.values()) == len(rob)
    counts = rob["judgement"].astype(str).value_counts().to_dict()
    assert {k: len(v) for k, v in drawn.items()} == counts
    symbols = cells(ax, "rob-symbols:")
    for level, xy in drawn.items():
        np.testing.assert_array_equal(symbols[level], xy)  # a symbol in every circle


def test_rob_traffic_light_height_grows_with_rows(rob_drawn) -> None:
    small, _ = rob_drawn("rob-traffic-light", "bundled")
    large, _ = rob_drawn("rob-traffic-light", "synthetic-60")
    assert large.get_figheight() > small.get_figheight() + 10
    assert small.get_figwidth() == large.get_figwidth() == 8


def test_rob_levels_differ_by_symbol_and_read_in_greyscale() -> None:
    from evidence.rob import ROB2, ROBINS_I

    def grey(colour: str) -> float:
        r, g, b = mcolors.to_rgb(colour)
        return 0.299 * r + 0.587 * g + 0.114 * b

    for tool in (ROB2, ROBINS_I):
        styles = [_ROB_STYLE[level] for level in tool.levels]
        assert len({symbol for _, symbol, _, _ in styles}) == len(tool.levels), tool.name
        assert len({fill for fill, *_ in styles}) == len(tool.levels), tool.name
        assert len({hatch for *_, hatch in styles}) == len(tool.levels), tool.name
        for fill, _, ink, _ in styles:  # the symbol stands out from its circle in grey
            assert abs(grey(fill) - grey(ink)) > 0.35, (tool.name, fill, ink)
    assert set(_ROB_STYLE) == set(ROB2.levels) | set(ROBINS_I.levels)
    palette = set(_OKABE_ITO.values())
    assert {fill for fill, *_ in _ROB_STYLE.values()} <= palette


def test_rob_traffic_light_bundled(rob_drawn) -> None:
    fig, _ = rob_drawn("rob-traffic-light", "bundled")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "RoB 2",
        "Taylor 2018",
        "Taylor 2018 · row 3 (ketamine, VAS-A)",
        "Taylor 2018 · row 4 (placebo, VAS-A)",
        "Rodriguez 2013",
        "Glue 2020a",
        "Feder 2014",
        "Feder 2021",
        "Abdallah 2022",
        "ROBINS-I",
        "Shadli 2018",
    ]
    drawn = cells(ax, "rob-cells:")
    assert {k: len(v) for k, v in drawn.items()} == {
        "no information": 8 * 6 + 8 - 4,
        "low": 3,
        "some concerns": 1,
    }
    headers = [t.get_text() for t in by_gid(ax, "rob-column")]
    assert headers == [
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "Overall",
        *[f"D{i}" for i in range(1, 8)],
        "Overall",
    ]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Low", "Some concerns", "No information"]
    text = note(ax)
    assert text.startswith("RoB 2 (Sterne et al. 2019): D1 randomisation process;")
    assert "ROBINS-I (Sterne et al. 2016): D1 confounding;" in text
    assert "No tool applies (rob_tool none: reviews, uncontrolled studies): whittaker2021," in text


def bar_widths(ax) -> dict[str, float]:
    return {
        str(p.get_gid()).removeprefix("rob-bar:"): round(p.get_width(), 6)
        for p in ax.patches
        if str(p.get_gid()).startswith("rob-bar:")
    }


def test_rob_summary_share_of_studies(base) -> None:
    ax = rob_summary(base).axes[0]
    widths = bar_widths(ax)
    assert widths["RoB2:D3:low"] == round(100 / 6, 6)
    assert widths["RoB2:D3:no information"] == round(500 / 6, 6)
    assert widths["RoB2:D5:some concerns"] == round(100 / 6, 6)
    assert widths["RoB2:overall:no information"] == 100
    assert widths["ROBINS-I:D3:low"] == 100
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "RoB 2 (6 studies)" and "ROBINS-I (1 study)" in labels
    assert labels.count("Overall risk of bias") == 2
    assert ax.get_xlabel() == "Share of studies (%)"
    # each tool's bars add up to 100%
    for tool, domain in {tuple(k.split(":")[:2]) for k in widths}:
        total = sum(w for k, w in widths.items() if k.startswith(f"{tool}:{domain}:"))
        assert total == pytest.approx(100)


def test_rob_summary_weights_by_study_and_outcome_row(base) -> None:
    weights = {("taylor2018", 1): 3, ("taylor2018", 3): 1, "rodriguez2013": 2, "glue2017": 4}
    ax = rob_summary(base, weights=weights).axes[0]
    widths = bar_widths(ax)
    assert widths["RoB2:D4:low"] == 50  # taylor row 1 (3 of 6); row 3's own D4: no information
    assert widths["RoB2:D3:low"] == round(200 / 6, 6)  # rodriguez2013 (2 of 6)
    assert not any(k.startswith("ROBINS-I") for k in widths)
    assert ax.get_yticklabels()[0].get_text() == "RoB 2 (2 studies, 60% of the weight)"
    assert "without a risk-of-bias assessment: 40% (glue2017)" in note(ax)
    assert ax.get_xlabel() == "Share of weight (%)"
    # a pooled unit without a row (combined rows) counts with its study's judgements
    ax = rob_summary(base, weights={("rodriguez2013", pd.NA): 1.0}).axes[0]
    assert bar_widths(ax)["RoB2:D5:some concerns"] == 100


def test_rob_summary_weights_from_an_analysis(base) -> None:
    report = pool_evidence(base, "obsessive-compulsive")
    rows = zip(report.pooled["key"], report.pooled["row"], strict=True)
    weights = dict(zip(rows, report.per_study["weight"], strict=True))
    ax = rob_summary(base, weights=weights).axes[0]
    share = report.per_study["weight"][report.pooled["key"].eq("rodriguez2013").to_numpy()].sum()
    label = f"RoB 2 (1 study, {share / report.per_study['weight'].sum() * 100:.0f}% of the weight)"
    assert ax.get_yticklabels()[0].get_text() == label
    assert "(bloch2012)" in note(ax)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        pytest.param(
            {"taylor2018": -1},
            "weight of 'taylor2018' must be a number >= 0; got -1",
            id="negative",
        ),
        pytest.param({"taylor2018": "x"}, "weight of 'taylor2018' is not a number: 'x'", id="text"),
        pytest.param({"nobody": 1}, "weights: 'nobody' is not a study of", id="unknown-key"),
    ],
)
def test_rob_summary_refuses_bad_weights(base, weights, message) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        rob_summary(base, weights=weights)


def test_rob_charts_without_assessments() -> None:
    empty = evidence.loads("@article{a, author={A, B}, title={T}, journal={J}, year=2020}\n")
    for chart in (rob_traffic_light, rob_summary):
        ax = chart(empty).axes[0]
        assert "No risk-of-bias assessments" in texts(ax)
        assert "Not assessed: a." in note(ax)


def test_rob_charts_save_byte_identical(base, tmp_path) -> None:
    for chart in (rob_traffic_light, rob_summary):
        first = save_figure(chart(base), tmp_path / "a")
        second = save_figure(chart(base), tmp_path / "b")
        for a, b in zip(first, second, strict=True):
            assert a.read_bytes() == b.read_bytes(), (chart.__name__, a.suffix)


# --- summary of findings ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sof_reports(base):
    from evidence.pooling import headline_analyses

    return [a.run(base) for a in headline_analyses(base)]


def test_summary_of_findings_one_row_per_headline_analysis(base, sof_reports) -> None:
    from evidence.grade import summary_of_findings as sof_table

    fig = summary_of_findings(base, sof_reports)
    ax = fig.axes[0]
    table = sof_table(base, sof_reports)
    for row in table.itertuples(index=False):
        (level,) = by_gid(ax, f"sof-level:{row.analysis}")
        lines = level.get_text().splitlines()
        if row.certainty is pd.NA:
            assert lines[0] == "not rated"
            continue
        assert lines[0] == row.symbols
        assert lines[1] == f"{row.certainty} ({row.footnote_marks})"
        assert lines[2] == f"draft: {row.draft_symbols} {row.draft_certainty}"
        (patch,) = by_gid(ax, f"sof-certainty:{row.analysis}:{row.certainty}")
        fill = {"high": "#9ECAE1", "moderate": "#C6DBEF", "low": "#DEEBF7", "very low": "#F7FBFF"}
        assert mcolors.to_hex(patch.get_facecolor()).upper() == fill[row.certainty]
        cell = " ".join(t.get_text() for t in by_gid(ax, f"sof-cell:{row.analysis}"))
        assert row.analysis in cell.replace("\n", "")
    assert [t.get_text() for t in by_gid(ax, "sof-heading")] == [
        "Outcome",
        "Studies\n(participants)",
        "Effect (95% CI)",
        "Absolute effect",
        "Certainty (GRADE)",
    ]
    (notes,) = by_gid(ax, "sof-footnotes")
    assert notes.get_text().startswith("a. Starts low: single-arm evidence")
    ocd = one(ax, "sof-level:obsessive-compulsive-vs-control").get_text().splitlines()
    assert ocd[0] == "⊕◯◯◯" and ocd[2] == "draft: ⊕⊕◯◯ low"  # the judgement, and the draft


def test_summary_of_findings_text_never_overlaps_and_grows_with_rows(base, sof_reports) -> None:
    fig = summary_of_findings(base, sof_reports)
    renderer = rendered(fig)
    shown = shown_texts(fig, renderer)
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert overlapping(boxes) == [], [
        (shown[i].get_text()[:30], shown[j].get_text()[:30]) for i, j in overlapping(boxes)
    ]
    for text, box in zip(shown, boxes, strict=True):
        assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 + 1, text.get_text()[:40]
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1 + 1, text.get_text()[:40]
    small = summary_of_findings(base, sof_reports[:1])
    assert fig.get_figwidth() == small.get_figwidth() == 8
    assert fig.get_figheight() > small.get_figheight() + 4


def test_summary_of_findings_figure_saves_byte_identical(base, sof_reports, tmp_path) -> None:
    first = save_figure(summary_of_findings(base, sof_reports), tmp_path / "a")
    second = save_figure(summary_of_findings(base, sof_reports), tmp_path / "b")
    assert [p.name for p in first] == ["a.png", "a.svg"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
    assert first[0].read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in first[1].read_bytes()[:600]
