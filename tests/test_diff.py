"""`evidence diff` (evidence.comparison): field-by-field changes and moved pooled rates."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.bib import read_bib
from evidence.cli import main
from evidence.comparison import compare
from evidence.editing import set_entry
from evidence.formatting import format_document

from .conftest import ROOT


def test_compare_field_by_field(bib: Path) -> None:
    old = evidence.load(bib)
    set_entry(
        bib,
        "rodriguez2013",
        {"outcomes.1.responders": "5", "percent": None} and {"outcomes.1.responders": "5"},
    )
    text = bib.read_text(encoding="utf-8").replace("@article{banov2020,", "@article{banov2020x,")
    bib.write_text(text, encoding="utf-8")
    result = compare(old, evidence.load(bib))
    assert result.added == ("banov2020x",)
    assert result.removed == ("banov2020",)
    assert [(c.key, c.field, c.old, c.new) for c in result.changes] == [
        ("rodriguez2013", "outcomes.1.responders", "4", "5")
    ]
    moved = {row["group"]: row for row in result.pooled}
    assert set(moved) == {
        "obsessive-compulsive",
        "obsessive-compulsive · OCD",
        "obsessive-compulsive-vs-control",
    }
    ocd = moved["obsessive-compulsive · OCD"]
    assert ocd["old_text"] == "50.0% [20.0% to 80.0%], k = 1"
    assert ocd["new"]["estimate"] == pytest.approx(5 / 8)
    contrast = moved["obsessive-compulsive-vs-control"]
    assert contrast["old_text"] == "OR 15.00 [0.64 to 348.9], k = 1"
    # 5/8 vs 0/7 with 1/2 added to every cell (a zero cell): OR = (5.5 * 7.5) / (3.5 * 0.5)
    assert contrast["new"]["estimate"] == pytest.approx(5.5 * 7.5 / (3.5 * 0.5))


def test_formatting_is_not_a_change(bib: Path) -> None:
    old = evidence.load(bib)
    formatted = format_document(read_bib(bib)).text
    assert compare(old, evidence.loads(formatted)).changes == ()


def test_cli_diff_files_and_json(bib: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.bib"
    shutil.copy(bib, new)
    set_entry(new, "glue2017", {"n_enrolled": "13"})
    runner = CliRunner()
    out = runner.invoke(main, ["diff", str(bib), str(new)])
    assert out.exit_code == 0
    assert out.stdout.splitlines()[2:] == ["~ glue2017", "    n_enrolled: 12 -> 13"]
    data = json.loads(runner.invoke(main, ["diff", str(bib), str(new), "--format", "json"]).stdout)
    assert data["changed"] == [{"key": "glue2017", "field": "n_enrolled", "old": "12", "new": "13"}]
    assert runner.invoke(main, ["diff", str(bib)]).exit_code == 2


def test_cli_diff_against_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    path = repo / "studies.bib"
    shutil.copy(ROOT / "studies.bib", path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "studies.bib"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=repo, check=True)
    set_entry(path, "bloch2012", {"n_enrolled": "11"})
    out = CliRunner().invoke(main, ["diff", "--rev", "HEAD", "--bib", str(path)])
    assert out.exit_code == 0
    assert "    n_enrolled: 10 -> 11" in out.stdout
    bad = CliRunner().invoke(main, ["diff", "--rev", "nope", "--bib", str(path)])
    assert bad.exit_code == 1 and "cannot read revision 'nope'" in bad.stderr


def test_compare_rob_rows_row_by_row(bib: Path) -> None:
    old = evidence.load(bib)
    text = bib.read_text(encoding="utf-8")
    before = "domain=D5; judgement=some concerns; support={only first-phase"
    assert text.count(before) == 1
    bib.write_text(text.replace(before, before.replace("some concerns", "high")), encoding="utf-8")
    result = compare(old, evidence.load(bib))
    assert [(c.key, c.field, c.old, c.new) for c in result.changes] == [
        ("rodriguez2013", "rob.5.judgement", "some concerns", "high")
    ]


def test_compare_claims_rows_row_by_row(bib: Path) -> None:
    old = evidence.load(bib)
    text = bib.read_text(encoding="utf-8")
    before = "cites=taylor2018; year=2017;"
    assert text.count(before) == 1
    text = text.replace(before, "cites=taylor2018; year=2018;")
    added = "    id=C8; text={Ketamine works.}; cites=none\n  },\n  verification = {unverified},"
    text = text.replace("  },\n  verification = {unverified},", added, 1)
    bib.write_text(text, encoding="utf-8")
    new = evidence.load(bib)
    assert new.errors == []
    result = compare(old, new, pooled=False)
    assert [(c.key, c.field, c.old, c.new) for c in result.changes] == [
        ("sourcearticle", "claims.6.year", "2017", "2018"),
        ("sourcearticle", "claims.8", None, "id=C8; text=Ketamine works.; cites=none"),
    ]
    out = CliRunner().invoke(main, ["diff", str(ROOT / "studies.bib"), str(bib)])
    assert "~ sourcearticle\n    claims.6.year: 2017 -> 2018\n" in out.stdout
