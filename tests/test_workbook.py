"""Tests of evidence.workbook: the xlsx read back with openpyxl, its XML, and LibreOffice."""

from __future__ import annotations

import csv
import hashlib
import os
import re
import shutil
import subprocess
import time
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pandas as pd
import pytest
import xlsxwriter

import evidence
from evidence.analysis import Analysis
from evidence.pooling import analyses_in_force, pool_evidence
from evidence.protocol import parse_protocol
from evidence.schema import data_dictionary
from evidence.stats import proportion_ci
from evidence.summary import written
from evidence.tables import OUTCOME_COLUMNS, STUDY_COLUMNS
from evidence.workbook import SHEETS, write_workbook

ROOT = Path(__file__).parent.parent
STUDIES_BIB = ROOT / "studies.bib"


# ---------------------------------------------------------------------------- helpers


def _header(ws) -> list[Any]:
    return [c.value for c in ws[1]]


def _records(ws, top: int = 1) -> list[dict[str, Any]]:
    """Rows of the table whose header is on row ``top``, down to the first empty row."""
    header = [c.value for c in ws[top]]
    out = []
    for row in ws.iter_rows(min_row=top + 1, values_only=True):
        if all(v is None for v in row):
            break
        out.append(dict(zip(header, row, strict=False)))
    return out


def _find(ws, value: Any, column: int = 1) -> int:
    """Row number of the first cell in ``column`` equal to ``value``."""
    for (cell,) in ws.iter_rows(min_col=column, max_col=column):
        if cell.value == value:
            return cell.row
    raise AssertionError(f"{value!r} not in column {column} of {ws.title}")


def _column(ws, name: str, top: int = 1) -> int:
    return [c.value for c in ws[top]].index(name) + 1


def _sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: archive.read(name).decode("utf-8")
            for name in archive.namelist()
            if name.startswith("xl/worksheets/sheet")
        }


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _xml_cell(xml: str, ref: str) -> ElementTree.Element:
    """The ``<c>`` element of cell ``ref`` in a worksheet's XML."""
    found = ElementTree.fromstring(xml).find(f".//{_NS}c[@r='{ref}']")
    assert found is not None, ref
    return found


def _bib(title: str = "A trial", note: str = "fine", journal: str = "J Psych") -> str:
    return (
        "@article{alpha2020,\n"
        "  author = {Alpha, Ann and Beta, Bo},\n"
        f"  title = {{{title}}},\n"
        f"  journal = {{{journal}}},\n"
        "  year = {2020},\n"
        "  volume = {3},\n"
        "  doi = {10.1000/xyz.1},\n"
        "  design = {single-arm},\n"
        "  conditions = {GAD},\n"
        "  arms = {ketamine},\n"
        "  n_enrolled = {10},\n"
        "  outcomes = {\n"
        f"    arm=ketamine; responders=3; n=10; note={{{note}}}\n"
        "  },\n"
        "}\n"
    )


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def base() -> evidence.EvidenceBase:
    return evidence.load(STUDIES_BIB)


@pytest.fixture(scope="module")
def reports(base):
    return [analysis.run(base) for analysis in analyses_in_force(base)]


@pytest.fixture(scope="module")
def report(reports):
    """The first headline analysis (anxiety)."""
    return reports[0]


@pytest.fixture(scope="module")
def xlsx(base, reports, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("workbook") / "evidence.xlsx"
    assert write_workbook(base, path, reports=reports) == path
    return path


@pytest.fixture(scope="module")
def wb(xlsx):
    return openpyxl.load_workbook(xlsx)


# ------------------------------------------------------------------------- structure


def test_sheets_in_order(wb) -> None:
    assert wb.sheetnames == list(SHEETS)
    assert SHEETS == (
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


def test_headers(wb, base) -> None:
    assert _header(wb["Studies"]) == list(STUDY_COLUMNS)
    outcome_columns = list(OUTCOME_COLUMNS)
    at = outcome_columns.index("rate") + 1
    assert _header(wb["Outcomes"]) == [
        *outcome_columns[:at],
        "ci_low",
        "ci_high",
        *OUTCOME_COLUMNS[at:],
    ]
    assert _header(wb["Pooled"])[:9] == [
        "analysis",
        "group",
        "k",
        "n_total",
        "estimate",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
    ]
    for name in ("tau2", "tau", "i2", "h2", "q", "q_df", "q_pvalue", "measure", "method", "test"):
        assert name in _header(wb["Pooled"])
    assert _header(wb["References"]) == ["key", "reference", "doi"]
    assert _header(wb["Data dictionary"]) == list(data_dictionary(base.protocol).columns)


@pytest.mark.parametrize(
    ("sheet", "freeze", "ref"),
    [
        pytest.param("Studies", "B2", "A1:AG17", id="studies"),
        pytest.param("Outcomes", "B2", "A1:AG16", id="outcomes"),
        pytest.param("Contrasts", "B2", "A1:BF16", id="contrasts"),
        pytest.param("Risk of bias", "B2", "A1:N19", id="risk-of-bias"),
        pytest.param("Pooled", "C2", "A1:Z14", id="pooled"),
        pytest.param("Claims", "B2", "A1:H8", id="claims"),
        pytest.param("References", "B2", "A1:C18", id="references"),
        pytest.param("Data dictionary", "C2", "A1:F83", id="dictionary"),
    ],
)
def test_frozen_header_and_autofilter(wb, sheet: str, freeze: str, ref: str) -> None:
    ws = wb[sheet]
    assert ws.freeze_panes == freeze
    assert ws.auto_filter.ref == ref
    assert all(cell.font.b for cell in ws[1])
    assert ws.cell(row=2, column=1).font.b is not True


def test_column_widths_follow_content_and_long_text_wraps(wb) -> None:
    ws = wb["Studies"]
    widths = {c: ws.column_dimensions[c].width for c in ("A", "E", "F")}  # key, year, title
    assert widths["E"] < widths["A"] < widths["F"] == 60
    title = ws.cell(row=2, column=_column(ws, "title"))
    assert title.alignment.wrap_text
    assert not ws.cell(row=2, column=1).alignment.wrap_text
    assert all(d.width <= 60 for d in ws.column_dimensions.values())


# ----------------------------------------------------------------------------- values


def test_every_table_row_starts_with_its_key(wb, base) -> None:
    assert [r["key"] for r in _records(wb["Studies"])] == list(base.studies["key"])
    assert [r["key"] for r in _records(wb["Outcomes"])] == list(base.outcomes["key"])
    # References: every entry of the file, the source article (a document, not a study) too
    assert [r["key"] for r in _records(wb["References"])] == [r.key for r in base.records]


def test_outcome_row_values_and_wilson_ci(wb) -> None:
    rows = [r for r in _records(wb["Outcomes"]) if r["key"] == "rodriguez2013"]
    ketamine = next(r for r in rows if r["arm"] == "ketamine")
    assert (ketamine["responders"], ketamine["n"], ketamine["rate"]) == (4, 8, 0.5)
    ci = proportion_ci([4], [8], method="wilson")
    assert ketamine["ci_low"] == written(ci["ci_low"][0])
    assert ketamine["ci_high"] == written(ci["ci_high"][0])
    assert ketamine["derived"] is True
    # only a percentage printed: rate from it, no CI (no counts)
    taylor = next(r for r in _records(wb["Outcomes"]) if r["key"] == "taylor2018")
    assert taylor["responders"] is None and taylor["ci_low"] is None
    assert taylor["rate"] == pytest.approx(0.3333)


def test_missing_values_are_empty_cells(wb) -> None:
    ws = wb["Studies"]
    row = _find(ws, "whittaker2021")
    assert ws.cell(row=row, column=_column(ws, "number")).value is None
    assert ws.cell(row=row, column=_column(ws, "n_enrolled")).value is None
    assert ws.cell(row=row, column=_column(ws, "k_studies")).value == 6


def test_pooled_sheet_holds_every_fit_of_every_analysis(wb, reports) -> None:
    records = _records(wb["Pooled"])
    assert [(r["analysis"], r["group"]) for r in records] == [
        (rep.analysis.name, group)
        for rep in reports
        if not rep.comparative
        for group in ["overall", *(rep.group_fits or {})]
    ]
    rows = {(r["analysis"], r["group"]): r for r in records}
    report = reports[0]
    overall = rows["anxiety", "overall"]
    res = report.overall
    # every computed number to ten significant digits (evidence.summary.written)
    for name in ("estimate", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "q", "q_pvalue"):
        assert overall[name] == written(getattr(res, name)), name
    assert overall["estimate"] != res.estimate  # rounded: not all 17 digits
    assert overall["i2"] == written(res.i2 / 100)  # a fraction, shown as a percentage
    assert (overall["k"], overall["n_total"]) == (2, 20)
    assert (overall["measure"], overall["method"], overall["test"]) == ("PLO", "REML", "z")
    ocd = rows["obsessive-compulsive", "OCD"]
    ocd_report = reports[1]
    assert ocd["estimate"] == written(ocd_report.group_fits["OCD"].estimate)


def test_pooled_sheet_shows_subgroup_tests_pooled_rows_and_decisions(base, tmp_path) -> None:
    report = pool_evidence(base, Analysis(name="all", dependence="none", by="conditions"))
    ws = openpyxl.load_workbook(write_workbook(base, tmp_path / "p.xlsx", reports=[report]))[
        "Pooled"
    ]
    top = _find(ws, "test", 3)
    tests = {r["test"]: r for r in _records(ws, top)}
    between, moderator = tests["between (separate fits)"], tests["moderator (QM)"]
    assert between["statistic"] == written(report.subgroups.q_between)
    assert moderator["pvalue"] == written(report.subgroups.qm_pvalue)
    assert between["analysis"] == "all" and between["by"] == "conditions"
    pooled_rows = _records(ws, _find(ws, "key", 2))
    assert [r["key"] for r in pooled_rows] == list(report.per_study["key"])
    weights = [r["weight"] for r in pooled_rows]
    assert sum(weights) == pytest.approx(1.0)
    decisions = _records(
        ws, _find(ws, "Candidate rows and what the dependence policy did with each") + 1
    )
    assert len(decisions) == 8
    irwin = [r for r in decisions if r["key"] == "irwin2013"]
    assert [r["reason"] for r in irwin] == ["pooled as independent (dependence = 'none')"] * 2


def test_summary_counts_and_headline(wb, base, report) -> None:
    ws = wb["Summary"]
    overview = {r["evidence base"]: r["value"] for r in _records(ws, _find(ws, "evidence base"))}
    # every entry in the file: 16 studies and the source article, a document making claims
    assert overview["entries"] == 17
    assert overview["primary studies"] + overview["reviews and meta-analyses"] == 16
    assert overview["documents making claims"] == 1
    assert overview["claims"] == len(base.documents[0].claims)
    assert overview["participants (sum of n_enrolled)"] == int(base.studies["n_enrolled"].sum())
    conditions = {r["condition"]: r["entries"] for r in _records(ws, _find(ws, "condition"))}
    # "GAD; SAD" counts once in GAD and once in SAD
    assert conditions["GAD"] == 4 and conditions["SAD"] == 6 and conditions["PTSD"] == 4
    routes = {r["route"]: r["entries"] for r in _records(ws, _find(ws, "route"))}
    assert routes == {"IV": 6, "SC": 2, "oral": 2, "(not stated)": 6}
    designs = {r["design"]: r["entries"] for r in _records(ws, _find(ws, "design"))}
    assert designs["rct-crossover"] == 3 and sum(designs.values()) == 16

    top = _find(ws, "conditions")
    assert ws.cell(row=top - 2, column=1).value == (
        "Response rate, anxiety outcomes (analysis 'anxiety')"
    )
    assert [c.value for c in ws[top]][:9] == [
        "conditions",
        "k",
        "N",
        "rate",
        "CI low",
        "CI high",
        "PI low",
        "PI high",
        "I²",
    ]
    headline = {r["conditions"]: r for r in _records(ws, top)}
    assert list(headline) == [*report.group_fits, "overall"]
    assert headline["overall"]["rate"] == written(report.overall.estimate)
    assert headline["overall"]["PI high"] == written(report.overall.pi_high)
    assert headline["GAD; SAD"]["N"] == report.group_fits["GAD; SAD"].n_total


def test_summary_lists_warnings_and_excluded_rows(wb, reports) -> None:
    ws = wb["Summary"]
    texts = [c.value for (c,) in ws.iter_rows(min_col=1, max_col=1) if isinstance(c.value, str)]
    for report in reports:
        for warning in report.warnings:
            assert f"Warning: {warning}" in texts
    title = "Rows and studies not pooled by any headline analysis, with the reason"
    excluded = _records(ws, _find(ws, title) + 1)
    taylor = next(r for r in excluded if r["key"] == "taylor2018")
    assert taylor["analysis"] == "anxiety"
    assert taylor["reason"] == "no responder counts (only 33.33% reported)"
    banov = [r for r in excluded if r["key"] == "banov2020"]
    assert len(banov) == 1  # listed once, not once per analysis
    assert banov[0]["analysis"] == "(every analysis)"
    assert banov[0]["reason"] == "no outcome rows (narrative-review)"


def test_provenance_block(wb) -> None:
    ws = wb["Summary"]
    prov = {r["provenance"]: r["value"] for r in _records(ws, _find(ws, "provenance"))}
    assert prov["source file"] == "studies.bib"
    assert prov["sha256"] == hashlib.sha256(STUDIES_BIB.read_bytes()).hexdigest()
    assert prov["evidence"] == evidence.__version__
    assert prov["xlsxwriter"] == xlsxwriter.__version__  # the writer that made the bytes
    assert prov["pandas"] == pd.__version__
    assert prov["bibtexparser"]
    assert prov["protocol"] == "pyproject.toml [tool.evidence]"
    stamp = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
    assert not any(isinstance(v, str) and stamp.search(v) for v in prov.values())


def test_each_analysis_settings_are_listed_once(wb, reports) -> None:
    ws = wb["Summary"]
    rows = _records(ws, _find(ws, "Analyses: every setting of every analysis, once") + 1)
    assert [r["name"] for r in rows] == [r.analysis.name for r in reports]
    for row, report in zip(rows, reports, strict=True):
        settings = report.analysis.to_dict()
        assert set(row) == set(settings)
        assert row["method"] == settings["method"] and row["by"] == settings["by"]
        assert row["prefer_scales"] == (", ".join(settings["prefer_scales"]) or None)
    prov = _records(ws, _find(ws, "provenance"))
    assert not any(str(r["provenance"]).startswith("setting") for r in prov)  # only here


def test_settings_reach_the_provenance_block(base, tmp_path) -> None:
    analysis = Analysis(name="early", arm="ketamine", timepoint="..2 weeks", method="DL")
    path = write_workbook(base, tmp_path / "s.xlsx", reports=[analysis.run(base)])
    ws = openpyxl.load_workbook(path)["Summary"]
    (row,) = _records(ws, _find(ws, "Analyses: every setting of every analysis, once") + 1)
    assert (row["arm"], row["timepoint"], row["method"]) == ("ketamine", "..2 weeks", "DL")


def test_references_in_the_protocol_style_and_order(wb, base) -> None:
    # The bundled protocol's citation_style is vancouver: numbered in file order (NLM).
    rows = _records(wb["References"])
    assert [r["key"] for r in rows] == [*base.studies["key"], "sourcearticle"]
    # the source article comes last, so no study's number changed
    assert rows[-1]["reference"] == "17. [Ketamine for anxiety]." and rows[-1]["doi"] is None
    glue = next(r for r in rows if r["key"] == "glue2017")
    assert glue["reference"] == (
        "3. Glue P, Medlicott NJ, Harland S, Neehoff S, Anderson-Fahey B, Le Nedelec M, et al. "
        "Ketamine's dose-related effects on anxiety symptoms in patients with treatment "
        "refractory anxiety disorders. Journal of Psychopharmacology. 2017 Oct;31(10):1302–5. "
        "doi:10.1177/0269881117705089 PubMed PMID: 28441895."
    )
    ws = wb["Summary"]
    prov = {r["provenance"]: r["value"] for r in _records(ws, _find(ws, "provenance"))}
    assert prov["citation style"] == "vancouver (Vancouver - NLM (citation-sequence))"
    assert prov["citeproc-py"] == metadata.version("citeproc-py")


def test_references_sheet_follows_the_protocol_style(tmp_path: Path) -> None:
    text = (
        "@article{zeta2020, author = {Zeta, A.}, title = {T}, journal = {J}, year = {2020}}\n"
        "@article{alpha2021, author = {Alpha, B.}, title = {U}, journal = {J}, year = {2021},"
        " doi = {10.1000/X1}}\n"
    )
    base = evidence.loads(text, protocol=parse_protocol({"citation_style": "apa"}, "p.toml"))
    wb = openpyxl.load_workbook(write_workbook(base, tmp_path / "apa.xlsx"))
    rows = _records(wb["References"])
    assert [r["key"] for r in rows] == ["alpha2021", "zeta2020"]  # APA: by author
    assert rows[0]["reference"] == "Alpha, B. (2021). U. J. https://doi.org/10.1000/X1"
    assert rows[0]["doi"] == "10.1000/X1"
    assert wb["References"].cell(row=2, column=3).hyperlink.target == ("https://doi.org/10.1000/X1")


def test_data_dictionary_sheet(wb, base) -> None:
    expected = data_dictionary(base.protocol)
    ws = wb["Data dictionary"]
    rows = _records(ws)
    assert len(rows) == len(expected)
    assert [r["field"] for r in rows] == list(expected["field"])
    assert rows[0]["description"] == expected["description"][0]
    conditions = next(r for r in rows if r["field"] == "conditions")
    assert conditions["allowed"].startswith("';'-separated list of GAD, SAD, OCD")
    terms = _records(ws, _find(ws, "vocabulary"))
    hama = next(t for t in terms if t["value"] == "HAM-A")
    assert hama["vocabulary"] == "scales" and hama["direction/role"] == "higher-is-worse"
    assert hama["name"] == "Hamilton Anxiety Rating Scale"


def _conditional_fill(ws, cell) -> str | None:
    """The fill a conditional format gives ``cell`` (rules ``cell == "text"``), if any."""
    for rng in ws.conditional_formatting:
        if cell.coordinate not in rng.sqref:
            continue
        for rule in rng.rules:
            if rule.type == "cellIs" and rule.formula == [f'"{cell.value}"']:
                return rule.dxf.fill.bgColor.rgb
    return None


def test_risk_of_bias_sheet(wb, base) -> None:
    ws = wb["Risk of bias"]
    assert _header(ws) == [
        "key",
        "outcome_row",
        "tool",
        *[f"D{i}" for i in range(1, 8)],
        "overall",
        "algorithm",
        "reason",
        "support",
    ]
    rows = _records(ws)
    assert [(r["key"], r["outcome_row"]) for r in rows if r["key"] == "taylor2018"] == [
        ("taylor2018", None),
        ("taylor2018", 3),
        ("taylor2018", 4),
    ]
    assert len(rows) == len(base.studies) + 2  # every study once, and Taylor's two VAS-A rows
    by_key = {r["key"]: r for r in rows if r["outcome_row"] is None}
    rodriguez = by_key["rodriguez2013"]
    assert rodriguez["tool"] == "RoB2"
    assert [rodriguez[f"D{i}"] for i in range(1, 6)] == [
        "no information",
        "no information",
        "low",
        "no information",
        "some concerns",
    ]
    assert rodriguez["D6"] is None and rodriguez["D7"] is None
    assert rodriguez["overall"] == rodriguez["algorithm"] == "no information"
    assert rodriguez["support"].splitlines()[2].startswith("D3: first-phase outcome at 1 week")
    assert rodriguez["support"].splitlines()[-1].startswith("Overall: D1, D2 and D4 cannot")
    assert by_key["shadli2018"]["tool"] == "ROBINS-I" and by_key["shadli2018"]["D7"]
    assert by_key["hartland2023"]["tool"] == "none" and by_key["hartland2023"]["D1"] is None
    vas = next(r for r in rows if r["key"] == "taylor2018" and r["outcome_row"] == 3)
    assert vas["D4"] == "no information" and vas["support"].startswith("D4: VAS-Anxiety")
    assert by_key["taylor2018"]["D4"] == "low"
    # judgement cells are shaded by conditional formats (the shade follows an edited word),
    # the word stays readable; the algorithm column is not shaded
    cell = ws.cell(row=1 + 1 + [r["key"] for r in rows].index("rodriguez2013"), column=6)
    assert cell.value == "low" and _conditional_fill(ws, cell) == "FFB3E2D5"
    assert _conditional_fill(ws, ws.cell(row=cell.row, column=8)) == "FFFAF5C6"  # some concerns
    algorithm = ws.cell(row=cell.row, column=[c.value for c in ws[1]].index("algorithm") + 1)
    assert algorithm.value == "no information" and _conditional_fill(ws, algorithm) is None
    domains = _records(ws, _find(ws, "tool"))
    assert [d["domain"] for d in domains] == [
        *[f"D{i}" for i in range(1, 6)],
        *[f"D{i}" for i in range(1, 8)],
    ]
    assert domains[0]["name"] == "Bias arising from the randomisation process"


def test_summary_of_findings_sheet(wb, base, reports) -> None:
    from evidence.grade import summary_of_findings

    ws = wb["Summary of findings"]
    assert ws["A1"].value == "Summary of findings: Ketamine for anxiety disorders"
    top = _find(ws, "outcome")
    rows = _records(ws, top)
    expected = summary_of_findings(base, reports)
    assert [r["analysis"] for r in rows] == list(expected["analysis"])
    assert _header_at(ws, top) == [
        "outcome",
        "analysis",
        "k",
        "participants",
        "effect (95% CI)",
        "absolute effect",
        "comparator per 1,000",
        "intervention per 1,000",
        "GRADE",
        "certainty",
        "draft GRADE",
        "draft certainty",
        "footnotes",
    ]
    by_name = {r["analysis"]: r for r in rows}
    anxiety = by_name["anxiety"]
    assert (anxiety["k"], anxiety["participants"]) == (2, 20)
    assert anxiety["effect (95% CI)"] == "rate 86.8% (95% CI 63.2% to 96.2%)"
    assert anxiety["absolute effect"] == "868 per 1,000 (632 to 962)"
    assert anxiety["intervention per 1,000"] == 868
    assert (anxiety["GRADE"], anxiety["certainty"]) == ("⊕◯◯◯", "very low")
    ocd = by_name["obsessive-compulsive-vs-control"]
    assert (ocd["GRADE"], ocd["certainty"]) == ("⊕◯◯◯", "very low")
    assert (ocd["draft GRADE"], ocd["draft certainty"]) == ("⊕⊕◯◯", "low")  # draft beside
    assert ocd["comparator per 1,000"] == 0
    assert by_name["anxiety-vs-control"]["effect (95% CI)"] == "no pooled result"
    # certainty words shaded by conditional formats (darker for more certainty)
    column = _header_at(ws, top).index("certainty") + 1
    cell = ws.cell(row=top + 1 + [r["analysis"] for r in rows].index("ptsd-vs-control"),
                   column=column)  # fmt: skip
    assert cell.value == "low" and _conditional_fill(ws, cell) == "FFDEEBF7"
    draft = ws.cell(row=cell.row, column=_header_at(ws, top).index("draft certainty") + 1)
    assert draft.value == "low" and _conditional_fill(ws, draft) == "FFDEEBF7"
    # the footnotes, lettered, under the table
    notes = _find(ws, "Footnotes")
    assert ws.cell(row=notes + 1, column=1).value.startswith("a. Starts low: single-arm")
    marks = ocd["footnotes"].split(",")
    texts = [ws.cell(row=r, column=1).value or "" for r in range(notes + 1, ws.max_row + 1)]
    imprecision = next(t for t in texts if t.startswith(f"{marks[-1]}. "))
    assert imprecision.startswith(
        f"{marks[-1]}. Imprecision, rated down two levels by the analyst (draft: rated down one "
        "level): One crossover trial"
    )
    # each domain's draft and the rating that counts
    domains = _records(ws, _find(ws, "analysis", column=1))
    row = next(
        d for d in domains
        if d["analysis"] == "obsessive-compulsive-vs-control" and d["domain"] == "imprecision"
    )  # fmt: skip
    assert (row["draft"], row["judged"], row["by"]) == (-1, -2, "analyst")
    assert row["trigger"].startswith("95% CI 0.64 to 348.9 contains the threshold 1.00")
    judged = ws.cell(row=_find(ws, "analysis") + 1 + domains.index(row), column=4)
    assert judged.value == -2 and _conditional_fill_number(ws, judged) == "FFF2BF99"
    rules = _find(ws, "How the drafts are made (evidence.grade)")
    assert ws.cell(row=rules + 2, column=1).value.startswith("Risk of bias (GRADE 4): -2 when")


def _header_at(ws, top: int) -> list[Any]:
    return [c.value for c in ws[top] if c.value is not None]


def _conditional_fill_number(ws, cell) -> str | None:
    """The fill a conditional format gives a number ``cell`` (rules ``cell == N``)."""
    for rng in ws.conditional_formatting:
        if cell.coordinate not in rng.sqref:
            continue
        for rule in rng.rules:
            if rule.type == "cellIs" and rule.formula == [str(cell.value)]:
                return rule.dxf.fill.bgColor.rgb
    return None


def test_pooled_sheet_has_a_low_risk_of_bias_row_per_analysis(wb, reports) -> None:
    ws = wb["Pooled"]
    title = _find(ws, "Sensitivity: low risk of bias only (each analysis re-run on the results "
                      "whose overall risk of bias is low; Cochrane Handbook 10.14)")  # fmt: skip
    proportions = _records(ws, title + 1)
    comparisons = _records(ws, title + 3 + len(proportions))
    rows = {r["analysis"]: r for r in (*proportions, *comparisons)}
    assert list(rows) == [r.analysis.name for r in reports]
    anxiety = rows["anxiety"]
    assert anxiety["sensitivity"] == "low risk of bias only"
    assert anxiety["k"] == 0 and anxiety["estimate"] is None
    assert anxiety["note"].startswith(
        "no estimate: none of the 2 studies pooled by the analysis is at low risk of bias "
        "(glue2017: no risk-of-bias tool applies (rob_tool none);"
    )
    assert rows["anxiety-vs-control"]["note"] == "no estimate: the analysis itself pools nothing"


def test_claims_sheet(wb, base) -> None:
    ws = wb["Claims"]
    header = ["key", "id", "text", "cites", "verdict", "override", "reason", "line"]
    assert _header(ws) == header
    claims = _records(ws)
    assert [(r["key"], r["id"], r["cites"], r["verdict"], r["override"]) for r in claims] == [
        ("sourcearticle", "C1", "none", "unsupported", None),
        ("sourcearticle", "C2", "whittaker2021", "partly-supported", None),
        ("sourcearticle", "C3", "tully2022", "unverifiable", "overstated"),
        ("sourcearticle", "C4", "glue2017", "overstated", None),
        ("sourcearticle", "C5", "irwin2013", "supported", None),
        ("sourcearticle", "C6", "taylor2018", "partly-supported", None),
        ("sourcearticle", "C7", "rodriguez2013", "overstated", None),
    ]
    assert claims[3]["text"].startswith("According to a 2017 study, 83% of people")
    assert claims[2]["reason"].startswith("the fact sheet's best match, Tully 2022")
    (doc,) = base.documents
    assert [r["line"] for r in claims] == [c.line for c in doc.claims]
    top = _find(ws, "Checks: each assertion against the cited entries' data") + 1
    assert [c.value for c in ws[top]][:6] == [
        "key",
        "id",
        "attribute",
        "asserted",
        "found",
        "check",
    ]
    checks = _records(ws, top)
    glue = [
        (r["attribute"], r["asserted"], r["found"], r["check"]) for r in checks if r["id"] == "C4"
    ]
    assert glue == [
        ("year", "2017", "2017", "supported"),
        ("conditions", "GAD; SAD", "GAD, SAD", "supported"),
        ("percent", "83%", "ketamine, anxiety: 10/12 = 83.3%", "supported"),
        ("within", "1 h", "no time recorded", "not-in-source"),
    ]
    assert len(checks) == 27 and {r["id"] for r in checks} == {f"C{i}" for i in range(2, 8)}
    # verdicts shaded by their word (conditional formats, the risk-of-bias tints): the claim's
    # verdict and override, and each check's verdict; other columns are not shaded
    verdict = ws.cell(row=2 + 4, column=5)  # C5
    assert verdict.value == "supported" and _conditional_fill(ws, verdict) == "FFB3E2D5"
    override = ws.cell(row=2 + 2, column=6)  # C3's override
    assert override.value == "overstated" and _conditional_fill(ws, override) == "FFF5D899"
    assert _conditional_fill(ws, ws.cell(row=2 + 2, column=5)) == "FFCCE8F8"  # unverifiable
    assert _conditional_fill(ws, ws.cell(row=2, column=5)) == "FFBFBFBF"  # unsupported
    assert _conditional_fill(ws, ws.cell(row=3, column=5)) == "FFFAF5C6"  # partly-supported
    contradicted = next(
        ws.cell(row=top + 1 + i, column=6)
        for i, r in enumerate(checks)
        if r["check"] == "contradicted"
    )
    assert _conditional_fill(ws, contradicted) == "FFF2BF99"
    assert _conditional_fill(ws, ws.cell(row=2, column=3)) is None  # the text


def test_claims_sheet_of_a_base_without_claims(tmp_path) -> None:
    base = evidence.loads(_bib())
    ws = openpyxl.load_workbook(write_workbook(base, tmp_path / "none.xlsx"))["Claims"]
    assert _header(ws) == ["key", "id", "text", "cites", "verdict", "override", "reason", "line"]
    assert ws.cell(row=3, column=1).value.startswith("No entry holds claims")


# ------------------------------------------------------------------------ presentation


@pytest.mark.parametrize("sheet", ["Studies", "References"])
def test_doi_cells_are_hyperlinks(wb, base, sheet: str) -> None:
    ws = wb[sheet]
    col = _column(ws, "doi")
    dois = dict(zip(base.studies["key"], base.studies["doi"], strict=True))
    dois.update({r.key: pd.NA for r in base.documents})  # the source article has no DOI
    linked = 0
    for row in range(2, ws.max_row + 1):
        key = ws.cell(row=row, column=1).value
        cell = ws.cell(row=row, column=col)
        if dois[key] is pd.NA:
            assert cell.value is None and cell.hyperlink is None
            continue
        # the studies table holds DOIs in lower case (they compare so); references keep the
        # case as written
        assert cell.value.lower() == dois[key]
        assert cell.hyperlink.target.lower() == "https://doi.org/" + dois[key]
        assert cell.style == "Hyperlink"
        linked += 1
    assert linked == base.studies["doi"].notna().sum() > 10


def _cell_of(ws, header: str, top: int = 1, row_offset: int = 1):
    return ws.cell(row=top + row_offset, column=_column(ws, header, top))


def test_rates_are_percentages(wb) -> None:
    for header in ("rate", "ci_low", "ci_high"):
        assert _cell_of(wb["Outcomes"], header).number_format == "0.0%"
    for header in ("estimate", "ci_low", "pi_high", "i2"):
        assert _cell_of(wb["Pooled"], header).number_format == "0.0%"
    ws = wb["Summary"]
    top = _find(ws, "conditions")
    for header in ("rate", "CI low", "CI high", "PI low", "PI high", "I²"):
        assert _cell_of(ws, header, top).number_format == "0.0%"
    assert _cell_of(ws, "N", top).number_format != "0.0%"


def _colour_scaled(ws) -> set[str]:
    return {
        str(rng.sqref)
        for rng in ws.conditional_formatting
        for rule in rng.rules
        if rule.type == "colorScale"
    }


def test_rate_columns_are_colour_scaled(wb) -> None:
    assert _colour_scaled(wb["Outcomes"]) == {"M2:M16"}
    assert _header(wb["Outcomes"])[12] == "rate"
    assert "E2:E14" in _colour_scaled(wb["Pooled"])  # estimate
    ws = wb["Summary"]
    top = _find(ws, "conditions")
    assert f"D{top + 1}:D{top + 3}" in _colour_scaled(ws)
    rule = next(iter(wb["Outcomes"].conditional_formatting)).rules[0]
    cfvo = rule.colorScale.cfvo
    assert [(v.type, float(v.val)) for v in cfvo] == [("num", 0.0), ("num", 1.0)]


# ----------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "title",
    [
        pytest.param('=HYPERLINK("http://x","y")', id="equals"),
        pytest.param("+1", id="plus"),
        pytest.param("-2", id="minus"),
        pytest.param("@SUM(A1)", id="at"),
        pytest.param("#N/A", id="error-literal"),
    ],
)
def test_text_never_becomes_a_formula(title: str, tmp_path: Path) -> None:
    base = evidence.loads(_bib(title=title, note=title, journal=title))
    assert base.studies["title"][0] == title
    path = write_workbook(base, tmp_path / "inj.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Studies"]
    cell = ws.cell(row=2, column=_column(ws, "title"))
    assert (cell.value, cell.data_type) == (title, "s")
    note = wb["Outcomes"].cell(row=2, column=_column(wb["Outcomes"], "note"))
    assert (note.value, note.data_type) == (title, "s")
    for name, xml in _sheet_xml(path).items():
        assert not re.search(r"<f[ >]", xml), name
    element = _xml_cell(
        _sheet_xml(path)[f"xl/worksheets/sheet{SHEETS.index('Studies') + 1}.xml"], cell.coordinate
    )
    assert element.get("t") == "inlineStr"
    assert element.findtext(f"{_NS}is/{_NS}t") == title
    if title[0] in "=+-@":
        assert cell.quotePrefix  # Excel keeps it text when the cell is edited


def test_control_characters_are_removed(tmp_path: Path) -> None:
    base = evidence.loads(_bib(title="Ti\x01tle\x0b ok\x1f", note="a\x01b\x08c"))
    assert "\x01" in base.studies["title"][0] and "\x0b" in base.studies["title"][0]
    assert base.outcomes["note"][0] == "a\x01b\x08c"
    path = write_workbook(base, tmp_path / "ctl.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb["Studies"].cell(row=2, column=_column(wb["Studies"], "title")).value == "Title ok"
    assert wb["Outcomes"].cell(row=2, column=_column(wb["Outcomes"], "note")).value == "abc"
    refs = _records(wb["References"])
    assert "Title ok." in refs[0]["reference"]


def test_nothing_to_pool_still_writes(tmp_path: Path) -> None:
    base = evidence.loads("@article{ref2020, author={Doe, J}, title={T}, journal={J}, year={2020}}")
    path = write_workbook(base, tmp_path / "refs.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Summary"]
    _find(ws, "No outcome rows could be pooled (see the rows not pooled below).")
    prov = {r["provenance"]: r["value"] for r in _records(ws, _find(ws, "provenance"))}
    assert prov["source file"] == "<string>"
    assert prov["sha256"] == hashlib.sha256(base.document.text.encode()).hexdigest()
    assert _records(wb["Pooled"]) == []


def test_single_group_shows_the_subgroup_note(tmp_path: Path) -> None:
    base = evidence.loads(_bib())
    report = pool_evidence(base, by="conditions")
    assert report.subgroups is None and report.subgroup_note
    ws = openpyxl.load_workbook(write_workbook(base, tmp_path / "one.xlsx", reports=[report]))[
        "Pooled"
    ]
    _find(ws, f"{report.analysis.name}: by conditions: {report.subgroup_note}")


# --------------------------------------------------------------------- reproducibility


def test_byte_identical_rebuild(base, reports, xlsx, tmp_path: Path) -> None:
    time.sleep(2.1)  # zip times have a 2-second resolution
    again = write_workbook(base, tmp_path / "again.xlsx", reports=reports)
    assert again.read_bytes() == xlsx.read_bytes()
    with zipfile.ZipFile(again) as archive:
        # XlsxWriter stamps every member with one fixed time (31 Jan 1980), never the clock
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert not re.search(r"20[1-9]\d-\d\d-\d\dT", core)
    props = openpyxl.load_workbook(again).properties
    assert props.creator == "evidence"


def test_default_report_and_rewrite_in_place(base, xlsx, tmp_path: Path) -> None:
    target = tmp_path / "reports" / "nested" / "evidence.xlsx"
    write_workbook(base, target)  # report computed, parents created
    assert target.read_bytes() == xlsx.read_bytes()
    target.write_bytes(b"old")
    write_workbook(base, target)  # replaced
    assert target.read_bytes() == xlsx.read_bytes()
    assert sorted(p.name for p in target.parent.iterdir()) == ["evidence.xlsx"]  # no temp left


def test_inputs_are_not_mutated(base, tmp_path: Path) -> None:
    report = pool_evidence(base, by="conditions")
    studies, outcomes = base.studies.copy(deep=True), base.outcomes.copy(deep=True)
    per_study = report.per_study.copy(deep=True)
    excluded = report.selection.excluded.copy(deep=True)
    decisions = report.decisions.copy(deep=True)
    reports = [report]
    write_workbook(base, tmp_path / "m.xlsx", reports=reports)
    pd.testing.assert_frame_equal(base.studies, studies)
    pd.testing.assert_frame_equal(base.outcomes, outcomes)
    pd.testing.assert_frame_equal(report.per_study, per_study)
    pd.testing.assert_frame_equal(report.selection.excluded, excluded)
    pd.testing.assert_frame_equal(report.decisions, decisions)
    assert reports == [report]


# -------------------------------------------------------------------------- LibreOffice

SOFFICE = shutil.which("soffice")
# Locally the round trip skips without LibreOffice; under CI (which installs it in .ci/run)
# a missing soffice is a failure, so the check can never be skipped silently there.
needs_soffice = pytest.mark.skipif(
    SOFFICE is None and not os.environ.get("CI"),
    reason="LibreOffice (soffice) not on PATH; install with "
    "`apt-get install -y --no-install-recommends libreoffice-calc`",
)
# Text CSV, UTF-8, values as shown (formats applied), every sheet to its own file (LO >= 7.2).
_CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def _libreoffice_csv(xlsx: Path, tmp_path: Path) -> dict[str, list[list[str]]]:
    """Every sheet of ``xlsx`` as LibreOffice reads it: sheet name → CSV rows."""
    out = tmp_path / "csv"
    profile = (tmp_path / "lo-profile").as_uri()
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            _CSV_FILTER,
            "--outdir",
            str(out),
            str(xlsx),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    files = sorted(out.glob(f"{xlsx.stem}-*.csv"))
    assert files, f"LibreOffice wrote no CSV: {result.stdout}{result.stderr}"
    sheets = {}
    for file in files:
        with file.open(encoding="utf-8", newline="") as handle:
            sheets[file.stem.removeprefix(xlsx.stem + "-")] = list(csv.reader(handle))
    return sheets


@pytest.mark.libreoffice
@pytest.mark.slow
@needs_soffice
def test_libreoffice_reads_the_workbook(xlsx, report, tmp_path: Path) -> None:
    sheets = _libreoffice_csv(xlsx, tmp_path)
    assert set(sheets) == set(SHEETS)
    studies = sheets["Studies"]
    assert studies[0] == list(STUDY_COLUMNS)
    assert len(studies) == 1 + 16
    assert "glue2017" in [row[0] for row in studies]
    summary = sheets["Summary"]
    overall = next(row for row in summary if row[:1] == ["overall"])
    assert overall[3] == f"{100 * report.overall.estimate:.1f}%" == "86.8%"
    outcomes = {(r[0], r[2]): r for r in sheets["Outcomes"]}
    header = sheets["Outcomes"][0]
    rodriguez = outcomes[("rodriguez2013", "ketamine")]
    assert rodriguez[header.index("responders")] == "4"
    assert rodriguez[header.index("n")] == "8"
    assert rodriguez[header.index("rate")] == "50.0%"
    assert sheets["References"][1][0] == "whittaker2021"
    assert sheets["References"][1][1].startswith("1. Whittaker E, Dadabayev AR, Joshi SA,")
    rob = {(r[0], r[1]): r for r in sheets["Risk of bias"]}
    header = sheets["Risk of bias"][0]
    assert rob[("rodriguez2013", "")][header.index("D5")] == "some concerns"
    assert rob[("taylor2018", "3")][header.index("D4")] == "no information"
    claims = sheets["Claims"]
    assert claims[0][:5] == ["key", "id", "text", "cites", "verdict"]
    assert [row[4] for row in claims[1:8]] == [
        "unsupported",
        "partly-supported",
        "unverifiable",
        "overstated",
        "supported",
        "partly-supported",
        "overstated",
    ]


@pytest.mark.libreoffice
@needs_soffice
def test_libreoffice_keeps_formula_like_text_as_text(tmp_path: Path) -> None:
    title = '=HYPERLINK("http://x","y")'
    base = evidence.loads(_bib(title=title, note="=1+1", journal="@SUM(A1)"))
    path = write_workbook(base, tmp_path / "inj.xlsx")
    sheets = _libreoffice_csv(path, tmp_path)
    header, row = sheets["Studies"][0], sheets["Studies"][1]
    assert row[header.index("title")] == title  # not "y": never evaluated
    assert row[header.index("journal")] == "@SUM(A1)"
    header, row = sheets["Outcomes"][0], sheets["Outcomes"][1]
    assert row[header.index("note")] == "=1+1"  # not 2


def test_numbers_are_written_to_ten_digits_so_that_processors_agree() -> None:
    # one heterogeneity estimate as two processors computed it (numpy's exp and log run
    # AVX2 code on one and AVX-512 code on the other, which differ in the last place)
    assert written(3.33693938928164) == written(3.3369393892816395) == 3.336939389
    assert written(0.0) == 0.0 and written(-1.5e-300) == -1.5e-300
    assert written(0.058776137911182885) == 0.05877613791
    assert written(12345678901.0) == 12345678900.0
    assert written(float("inf")) == float("inf") and written(float("nan")) != 0.0
