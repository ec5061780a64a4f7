"""The HTML report (evidence.report, evidence.pdf): self-contained, reproducible, traceable,
accessible; its numbers are the result objects'; and it works in a real browser."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import stat
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.analysis import Analysis
from evidence.cli import main
from evidence.errors import EvidenceError
from evidence.export import PDF, REPORT, build_reports
from evidence.pdf import _fixed_dates, print_pdf
from evidence.pooling import analyses_in_force
from evidence.report import inline_svg, render_report
from evidence.summary import written

from .conftest import ROOT

STUDIES = ROOT / "studies.bib"


class _Page(HTMLParser):
    """Everything the tests look at in a page: tags in order, ids, links, stats, tables."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: list[str] = []
        self.stats: list[dict[str, str]] = []
        self.headings: list[tuple[int, str]] = []
        self.text_of: dict[int, list[str]] = {}
        self._open: list[int] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "data" and "stat" in a.get("class", ""):
            self.stats.append(a)
            self._open.append(len(self.stats) - 1)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append((int(tag[1]), ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "data" and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.stats[self._open[-1]]["text"] = self.stats[self._open[-1]].get("text", "") + data


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    build_reports(STUDIES, out)
    return out


@pytest.fixture(scope="module")
def html(built: Path) -> str:
    return (built / REPORT).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> _Page:
    return _Page(html)


@pytest.fixture(scope="module")
def reports(base) -> list:
    return [analysis.run(base) for analysis in analyses_in_force(base)]


# -------------------------------------------------------------------------- the file


def test_build_writes_the_report_and_the_manifest_records_it(built: Path, html: str) -> None:
    manifest = json.loads((built / "MANIFEST.json").read_text(encoding="utf-8"))
    assert REPORT in manifest["outputs"]
    assert "jinja2" in manifest["versions"]
    assert html.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert html.endswith("</html>\n")


def test_committed_report_is_current(html: str) -> None:
    """reports/ holds the page this build makes (byte-identical rebuilds)."""
    assert (ROOT / "reports" / REPORT).read_text(encoding="utf-8") == html


def test_same_inputs_give_the_same_bytes(base, reports, html: str, built: Path) -> None:
    svgs = {p.stem: p.read_text(encoding="utf-8") for p in (built / "figures").glob("*.svg")}
    assert render_report(base, reports, svgs) == html
    assert render_report(base, reports, svgs) == html


def test_self_contained_nothing_fetched_no_script(page: _Page, html: str) -> None:
    tags = {tag for tag, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags
    assert "iframe" not in tags and "object" not in tags
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        href = attrs.get("href") or attrs.get("xlink:href")
        if tag == "a" and href and not href.startswith("#"):
            assert href.startswith(("https://doi.org/", "https://", "http://"))
    assert "@import" not in html and "url(http" not in html
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style  # no font or image fetched by the styles


def test_every_internal_link_resolves_and_ids_are_unique(page: _Page) -> None:
    assert len(page.ids) == len(set(page.ids))
    targets = set(page.ids)
    internal = []
    for _tag, attrs in page.tags:
        for name in ("href", "xlink:href"):
            if attrs.get(name, "").startswith("#"):
                internal.append(attrs[name][1:])
    assert internal and set(internal) <= targets
    for _tag, attrs in page.tags:  # SVG references (clip paths) point into the page
        for value in attrs.values():
            for ref in re.findall(r"url\(#([^)]+)\)", value):
                assert ref in targets


def test_study_mentions_link_to_references_naming_key_and_line(base, page: _Page, html: str):
    mentions = [a["href"][5:] for t, a in page.tags if t == "a" and a.get("class") == "study"]
    assert set(mentions) <= {rec.key for rec in base.records}
    assert "rodriguez2013" in mentions and "feder2021" in mentions
    lines = STUDIES.read_text(encoding="utf-8").splitlines()
    for rec in base.records:
        item = re.search(rf'<li id="ref-{rec.key}">(.*?)</li>', html, flags=re.S)
        assert item is not None, rec.key
        where = re.search(r"<code>studies\.bib:(\d+)</code>", item.group(1))
        assert where is not None and f"<code>{rec.key}</code>" in item.group(1)
        line = int(where.group(1))
        assert line == rec.line and re.match(rf"\s*@\w+\{{{rec.key},", lines[line - 1])


def test_headline_numbers_are_the_result_objects(page: _Page, reports) -> None:
    by = {(s["data-analysis"], s["data-stat"]): s for s in page.stats}
    headlines = [r for r in reports if r.analysis.headline and r.overall is not None]
    assert headlines
    for report in headlines:
        name, res = report.analysis.name, report.overall
        shown_stats = ("estimate", "ci_low", "ci_high", "k", *(("i2", "q") if res.k > 1 else ()))
        for stat_name in shown_stats:
            shown = by[(name, stat_name)]
            value = getattr(res, stat_name)  # a count as it is, a statistic to ten digits
            expected = written(value) if isinstance(value, float) else value
            assert float(shown["value"]) == expected, (name, stat_name)
        estimate = by[(name, "estimate")]["text"]
        if report.comparative:
            assert estimate == f"{res.estimate:.2f}"
        else:
            assert estimate == f"{100 * res.estimate:.1f}%"
        if res.pi_low is not None:
            assert float(by[(name, "pi_low")]["value"]) == written(res.pi_low)


def test_report_and_workbook_show_the_same_numbers(built: Path, html: str, reports) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(built / "evidence-summary.xlsx", read_only=True)
    cells = [row for row in wb["Summary"].iter_rows(values_only=True)]
    anxiety = next(r for r in reports if r.analysis.name == "anxiety")
    overall = next(
        row for row in cells if row[0] == "overall" and row[3] == written(anxiety.overall.estimate)
    )
    assert overall[1] == anxiety.overall.k and overall[4] == written(anxiety.overall.ci_low)
    section = html.split('id="analysis-anxiety"', 1)[1].split("</section>", 1)[0]
    shown = f"{100 * overall[3]:.1f}%"
    assert f">{shown}</data>" in section  # the sentence
    assert f"<td>{shown}</td>" in section  # the table


def test_methods_paragraph_and_method_references(html: str, page: _Page) -> None:
    section = html.split('id="analysis-anxiety"', 1)[1].split("</section>", 1)[0]
    methods = section.split('<p class="methods">', 1)[1].split("</p>", 1)[0]
    assert "restricted maximum likelihood" in methods and "logit scale" in methods
    assert 'href="#method-viechtbauer2005">Viechtbauer 2005</a>' in methods
    assert 'href="#method-wilson1927">Wilson 1927</a>' in methods
    assert 'id="method-viechtbauer2005"' in html and "Journal of Educational and Behavioral" in html


def test_accessible_structure(page: _Page, html: str) -> None:
    levels = [level for level, _ in page.headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels))
    assert html.count("<table") == html.count("<caption>")
    assert html.count("<table") == html.count("<thead>")
    svgs = [a for t, a in page.tags if t == "svg"]
    assert svgs and all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs)
    titles = re.findall(r'<title id="([^"]+)">([^<]+)</title>', html)
    assert {a["aria-labelledby"] for a in svgs} <= {i for i, _ in titles}
    forest = dict(titles)["svg-forest-anxiety-title"]
    assert "pooled, overall 86.8%" in forest  # the alternative text states the result


def test_claims_section_shows_each_claim_its_checks_and_verdicts(base, html: str) -> None:
    from evidence.claims import check_claims

    claims = check_claims(base)
    assert claims
    section = html.split('<section id="claims"', 1)[1].split("</section>", 1)[0]
    for claim in claims:
        block = re.search(
            rf'<div class="claim" id="claim-{claim.entry}-{claim.id}">(.*?)</div>\n', section, re.S
        )
        assert block is not None, claim.id
        body = block.group(1)
        verdicts = re.findall(r'class="verdict verdict-([a-z-]+)"', body)
        assert verdicts[0] == claim.verdict  # the checks' verdict first
        if claim.override:
            assert verdicts[1] == claim.override and (claim.reason or "") in unescape(body)
        assert [f'href="#ref-{key}"' in body for key in claim.cites] == [True] * len(claim.cites)
        assert len(re.findall(r"<tr><th scope=\"row\">", body)) == len(claim.checks)
        for check, shown in zip(
            claim.checks,
            re.findall(r'<td><span class="verdict verdict-([a-z-]+)">', body),
            strict=True,
        ):
            assert shown == check.verdict
    assert 'href="#claims"' in html  # listed in the contents


def test_leave_one_out_of_a_large_analysis_is_a_note(base, reports, monkeypatch) -> None:
    """Above LEAVE_ONE_OUT_MAX pooled rows the report says where to get the table instead of
    refitting once per row (10,000 entries: 85 s of a build)."""
    import evidence.report

    anxiety = next(r for r in reports if r.analysis.name == "anxiety")
    assert len(anxiety.pooled) == 2
    monkeypatch.setattr(evidence.report, "LEAVE_ONE_OUT_MAX", 1)
    page = render_report(base, [anxiety], {})
    section = page.split('id="analysis-anxiety"', 1)[1].split("</section>", 1)[0]
    assert "<caption>Leave one out" not in section
    assert (
        "<p>Leave one out is shown for analyses of at most 1 pooled rows and this one pools 2; "
        "evidence pool --analysis anxiety --leave-one-out prints it.</p>"
    ) in section
    monkeypatch.setattr(evidence.report, "LEAVE_ONE_OUT_MAX", 2)
    page = render_report(base, [anxiety], {})
    assert "<caption>Leave one out" in page.split('id="analysis-anxiety"', 1)[1]


def test_sections_follow_the_data(tmp_path: Path) -> None:
    text = (ROOT / "tests" / "data" / "example-light" / "studies.bib").read_text(encoding="utf-8")
    base = evidence.loads(text, "studies.bib")
    page = render_report(base, [], {})
    assert 'id="risk-of-bias"' not in page  # no study has a risk-of-bias tool
    assert "The protocol marks no analysis as a headline." in page
    assert 'id="references"' in page and 'id="method-' not in page
    assert 'id="claims"' not in page  # no document makes claims


def test_inline_svg_prefixes_ids_and_sizes() -> None:
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg>\n<svg xmlns:xlink="x" width="100pt" '
        'height="50pt" viewBox="0 0 100 50" xmlns="http://www.w3.org/2000/svg">\n'
        ' <metadata><x/></metadata>\n <defs><clipPath id="p1"><rect/></clipPath>'
        '<path id="g1"/></defs>\n <g id="a" clip-path="url(#p1)"><use xlink:href="#g1"/></g>\n'
        "</svg>\n"
    )
    out = inline_svg(svg, "fig", 'A & "B"')
    assert out.startswith('<svg xmlns:xlink="x" width="100%" style="max-width: 100pt; height')
    assert 'id="fig-p1"' in out and "url(#fig-p1)" in out and 'xlink:href="#fig-g1"' in out
    assert "<metadata>" not in out and "<?xml" not in out and 'height="50pt"' not in out
    assert '<title id="fig-title">A &amp; &quot;B&quot;</title>' in out
    assert 'role="img" aria-labelledby="fig-title"' in out


# ------------------------------------------------------------------------------- PDF


def _fake_browser(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fake-chromium"
    script.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_print_pdf_calls_the_browser_and_fixes_its_dates(tmp_path: Path) -> None:
    # a stand-in that writes a PDF with a time stamp where --print-to-pdf= says
    browser = _fake_browser(
        tmp_path,
        'for a in "$@"; do case "$a" in --print-to-pdf=*) out="${a#--print-to-pdf=}";; esac;'
        " done\n"
        "printf '%%PDF-1.4\\n/CreationDate (D:20261201221500+00'\"'\"'00'\"'\"')\\n' > \"$out\"\n"
        'echo "$@" > "$out.args"\n',
    )
    html = tmp_path / "page.html"
    html.write_text("<!DOCTYPE html><title>x</title>", encoding="utf-8")
    pdf = print_pdf(html, tmp_path / "page.pdf", browser=browser)
    assert pdf.read_bytes() == b"%PDF-1.4\n/CreationDate (D:20000101000000+00'00')\n"
    args = (tmp_path / "page.pdf.args").read_text(encoding="utf-8")
    assert "--headless" in args and "--no-pdf-header-footer" in args and html.as_uri() in args


def test_fixed_dates_keep_the_length() -> None:
    data = b"<< /CreationDate (D:20261201222619+00'00') /ModDate (D:20261201222619Z) >>"
    fixed = _fixed_dates(data)
    assert len(fixed) == len(data)
    assert fixed == b"<< /CreationDate (D:20000101000000+00'00') /ModDate (D:20000101000000Z) >>"


def test_print_pdf_failure_is_one_line(tmp_path: Path) -> None:
    browser = _fake_browser(tmp_path, "echo 'cannot open display' >&2\nexit 3\n")
    html = tmp_path / "page.html"
    html.write_text("<!DOCTYPE html>", encoding="utf-8")
    with pytest.raises(EvidenceError) as err:
        print_pdf(html, tmp_path / "page.pdf", browser=browser)
    assert str(err.value) == f"{browser}: printing the report failed: cannot open display"


def test_build_pdf_without_a_browser_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EVIDENCE_BROWSER", str(tmp_path / "no-such-browser"))
    out = tmp_path / "reports"
    result = CliRunner().invoke(main, ["build", str(STUDIES), "--out", str(out), "--pdf"])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: --pdf needs Chromium or Google Chrome (none found; install chromium, or name "
        "one in EVIDENCE_BROWSER); nothing was written\n"
    )
    assert not out.exists()


# --------------------------------------------------------------------- a real browser

_REQUIRED = os.environ.get("EVIDENCE_REQUIRE_BROWSER") == "1"  # set by .ci/run


def _driver_paths() -> tuple[str, str] | None:
    from evidence.pdf import find_browser

    browser, driver = find_browser(), shutil.which("chromedriver")
    if browser is None or driver is None:
        if _REQUIRED:
            pytest.fail("the browser test must run here: Chromium and chromedriver are needed")
        pytest.skip("needs Chromium and chromedriver (.ci/run installs them)")
    return browser, driver


@pytest.fixture(scope="module")
def driver():
    paths = _driver_paths()
    assert paths is not None
    browser, chromedriver = paths
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield drv
    drv.quit()


@pytest.mark.browser
@pytest.mark.slow
def test_report_in_a_real_browser(driver, built: Path, reports, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    url = (built / REPORT).resolve().as_uri()
    driver.get(url)
    assert driver.title == "Ketamine for anxiety disorders"
    # no console errors, and nothing requested but the page itself
    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    requested = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requested.append(message["params"]["request"]["url"])
    assert requested and set(requested) == {url}
    # every figure is drawn with a size
    figures = driver.find_elements(By.CSS_SELECTOR, "figure svg")
    assert len(figures) == len(list((built / "figures").glob("*.svg")))
    for svg in figures:
        size = svg.size
        assert size["width"] > 100 and size["height"] > 50, svg.get_attribute("aria-labelledby")
    # the headline numbers shown are the result objects'
    for report in reports:
        if not report.analysis.headline or report.overall is None:
            continue
        shown = driver.find_element(
            By.CSS_SELECTOR,
            f'data.stat[data-analysis="{report.analysis.name}"][data-stat="estimate"]',
        )
        assert float(shown.get_attribute("value")) == written(report.overall.estimate)
        expected = (
            f"{report.overall.estimate:.2f}"
            if report.comparative
            else f"{100 * report.overall.estimate:.1f}%"
        )
        assert shown.text == expected
    # every link to a reference lands on it
    missing = driver.execute_script(
        "return [...document.querySelectorAll('a[href^=\"#\"]')]"
        ".map(a => a.getAttribute('href').slice(1))"
        ".filter(id => !document.getElementById(id));"
    )
    assert missing == []
    link = driver.find_element(By.CSS_SELECTOR, 'a.study[href="#ref-rodriguez2013"]')
    driver.execute_script("arguments[0].click();", link)
    assert driver.current_url.endswith("#ref-rodriguez2013")
    target = driver.find_element(By.ID, "ref-rodriguez2013")
    assert "rodriguez2013" in target.text and "studies.bib:" in target.text
    shot = tmp_path / "report.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


@pytest.mark.browser
@pytest.mark.slow
def test_build_pdf_with_the_real_browser(tmp_path: Path) -> None:
    _driver_paths()
    out = tmp_path / "reports"
    first = build_reports(STUDIES, out, pdf=True)
    data = (out / PDF).read_bytes()
    assert out / PDF in first.outputs and data.startswith(b"%PDF-")
    assert b"/CreationDate (D:20000101000000" in data
    build_reports(STUDIES, out, pdf=True)
    assert (out / PDF).read_bytes() == data  # reproducible


def test_methods_of_an_analysis_not_in_force(base) -> None:
    """Any analysis can be reported, not only the protocol's (e.g. a GLMM)."""
    report = Analysis(name="glmm", domain="anxiety", method="GLMM", headline=True).run(base)
    page = render_report(base, [report], {})
    assert "binomial generalised linear mixed model" in page
    assert 'href="#method-stijnen2010"' in page and 'id="method-stijnen2010"' in page
    # a GLMM of two studies cannot be refitted on one: said, not raised
    assert "Leave one out is not available: the GLMM needs at least 2 studies" in page


def test_the_report_is_encoded_a_batch_at_a_time_with_nothing_lost() -> None:
    from evidence.report import _encoded

    pieces = ["<p>", "", "", "", "", "Ödön – 1 ≤ 2", "", "</p>", *[""] * 7, "\n"]
    batches = list(_encoded(pieces, size=3))
    assert b"".join(batches) == "".join(pieces).encode("utf-8")
    assert len(batches) == -(-len(pieces) // 3)  # empty batches too: a run of "" ends nothing
