"""`evidence build` (evidence.export): outputs, reproducibility, refusal, committed reports."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence.cli import main
from evidence.errors import ValidationError
from evidence.export import build_reports, tool_versions

from .conftest import ROOT

HEADLINES = ["anxiety", "obsessive-compulsive", "depression", "functioning", "mood"]
EXPECTED = sorted(
    [
        "MANIFEST.json",
        "evidence-summary.xlsx",
        "figures/evidence-map.png",
        "figures/evidence-map.svg",
        "figures/response-over-time.png",
        "figures/response-over-time.svg",
        "figures/rob-summary.png",
        "figures/rob-summary.svg",
        "figures/rob-traffic-light.png",
        "figures/rob-traffic-light.svg",
        *(f"figures/forest-{name}.{ext}" for name in HEADLINES for ext in ("png", "svg")),
    ]
)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    build_reports(ROOT / "studies.bib", out)
    return out


def test_build_writes_workbook_figures_and_manifest(built: Path) -> None:
    files = _files(built)
    assert sorted(files) == EXPECTED
    manifest = json.loads(files["MANIFEST.json"])
    source = (ROOT / "studies.bib").read_bytes()
    assert manifest["source"] == {
        "path": "studies.bib",
        "sha256": hashlib.sha256(source).hexdigest(),
    }
    for name, digest in manifest["outputs"].items():
        assert hashlib.sha256(files[name]).hexdigest() == digest
    assert files["figures/forest-anxiety.png"].startswith(b"\x89PNG")
    assert b"<svg" in files["figures/forest-anxiety.svg"][:500]
    assert manifest["protocol"] == "pyproject.toml [tool.evidence]"
    assert [a["name"] for a in manifest["analyses"]] == HEADLINES
    assert manifest["analyses"][0]["by"] == "conditions"
    assert manifest["analyses"][0]["dependence"] == "one-per-study"
    assert "settings" not in manifest  # each analysis's settings are recorded once, above


def test_rebuild_is_byte_identical(built: Path, tmp_path: Path) -> None:
    build_reports(ROOT / "studies.bib", tmp_path)
    assert _files(tmp_path) == _files(built)


def test_committed_reports_are_current(built: Path) -> None:
    committed = ROOT / "reports"
    manifest = json.loads((committed / "MANIFEST.json").read_text(encoding="utf-8"))
    source = hashlib.sha256((ROOT / "studies.bib").read_bytes()).hexdigest()
    assert manifest["source"]["sha256"] == source, "run `evidence build` and commit reports/"
    assert sorted(_files(committed)) == EXPECTED
    if manifest["versions"] != tool_versions():
        pytest.skip(f"reports were built with {manifest['versions']}; bytes depend on versions")
    assert _files(committed) == _files(built)


def test_errors_stop_the_build_and_write_nothing(tmp_bib, tmp_path: Path) -> None:
    bad = tmp_bib("@article{k,\n  title = {T},\n  year = 1850,\n}\n")
    out = tmp_path / "out"
    with pytest.raises(ValidationError):
        build_reports(bad, out)
    assert not out.exists() or not any(out.iterdir())
    result = CliRunner().invoke(main, ["build", str(bad), "--out", str(out)])
    assert result.exit_code == 1
    assert "year: year 1850 out of range" in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_build_keeps_old_reports_when_it_fails(tmp_bib, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "reports"
    shutil.copytree(ROOT / "reports", out)
    before = _files(out)
    import evidence.charts as charts

    def broken(*args, **kwargs):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(charts, "evidence_map", broken)
    with pytest.raises(RuntimeError):
        build_reports(ROOT / "studies.bib", out)
    assert _files(out) == before


def test_cli_build_is_quiet_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(ROOT / "studies.bib"), "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert sorted(_files(tmp_path)) == EXPECTED


def test_progress_messages_are_steps(tmp_path: Path) -> None:
    messages: list[str] = []
    result = build_reports(ROOT / "studies.bib", tmp_path, progress=messages.append)
    assert messages[0] == f"reading {ROOT / 'studies.bib'}"
    assert messages[1] == "running 5 analyses"
    assert messages[-1] == f"done: {len(EXPECTED)} files in {tmp_path}"
    assert len(messages) == 13  # read, run, workbook, 5 forest plots, 4 figures, done
    assert set(result.timings) == {"load", "statistics", "workbook", "charts"}
