"""`evidence build` (evidence.export): outputs, reproducibility, refusal, committed reports."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.cli import main
from evidence.errors import ValidationError
from evidence.export import FIGURES, REPORT, WORKBOOK, build_reports, tool_versions

from .conftest import ROOT

HEADLINES = [
    "anxiety",
    "obsessive-compulsive",
    "depression",
    "functioning",
    "mood",
    "obsessive-compulsive-vs-control",
    "ptsd-vs-control",
    "anxiety-vs-control",
]
#: The build's stages as it times them (BuildResult.timings): the figures' stage is the wait
#: for the figures after the references, the workbook's the wait for it after the report.
STAGES = ["load", "statistics", "references", "figures", "report", "workbook"]
EXPECTED = sorted(
    [
        "MANIFEST.json",
        "evidence-summary.html",
        "evidence-summary.xlsx",
        "figures/evidence-map.png",
        "figures/evidence-map.svg",
        "figures/response-over-time.png",
        "figures/response-over-time.svg",
        "figures/rob-summary.png",
        "figures/rob-summary.svg",
        "figures/rob-traffic-light.png",
        "figures/rob-traffic-light.svg",
        "figures/summary-of-findings.png",
        "figures/summary-of-findings.svg",
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_rebuild_is_byte_identical(built: Path, tmp_path: Path, monkeypatch) -> None:
    """The same bytes with the figures drawn in this process instead of in workers, and from
    a base given to the build (which keeps bibtexparser's blocks) instead of loaded by it
    (which lets them go)."""
    from evidence import parallel

    monkeypatch.setattr(parallel, "cores", lambda: 1)  # the figures drawn here, not in workers
    given = evidence.load(ROOT / "studies.bib")
    build_reports(ROOT / "studies.bib", tmp_path, base=given)
    assert _files(tmp_path) == _files(built)
    assert len(given.document.library.entries) == len(given.records)  # left whole


def _appears(out: Path, name: str) -> bool:
    """Whether the build staging its outputs in ``out`` writes ``name`` within a minute."""
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(out.glob(f".build-*/{name}")):
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def forking(monkeypatch) -> None:
    """The build forks its workers as on a machine of two cores (on Linux: elsewhere none)."""
    from evidence import parallel

    if not sys.platform.startswith("linux"):
        pytest.skip("builds fork on Linux only")
    monkeypatch.setattr(parallel, "cores", lambda: 2)


@pytest.mark.slow
def test_the_workbook_is_written_by_a_worker_while_the_report_is(
    tmp_path: Path, monkeypatch, forking
) -> None:
    import os

    from evidence import workbook

    seen = tmp_path / "writers.txt"
    real = workbook.write_workbook
    out = tmp_path / "out"

    def recording(*args, **kwargs):
        # a build that waited for the workbook before writing the report would wait here
        reported = _appears(out, REPORT)
        with seen.open("a", encoding="utf-8") as f:
            f.write(f"{os.getpid()} {reported}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(workbook, "write_workbook", recording)
    result = build_reports(ROOT / "studies.bib", out)
    (writer, reported) = seen.read_text(encoding="utf-8").split()
    assert int(writer) != os.getpid()  # a forked worker wrote it
    assert reported == "True"
    assert (out / WORKBOOK).read_bytes()[:2] == b"PK"
    assert list(result.timings) == STAGES


@pytest.mark.slow
def test_the_figures_of_the_base_are_drawn_while_the_analyses_run(
    tmp_path: Path, monkeypatch, forking
) -> None:
    import os

    from evidence import export, pooling

    out = tmp_path / "out"
    real = pooling.risk_of_bias_sensitivity
    seen: list[bool] = []
    drawers = tmp_path / "drawers.txt"
    save = export._save

    def waiting(base, reports):  # the last step of the analyses, in the build's own process
        seen.append(_appears(out, "figures/rob-summary.svg"))
        return real(base, reports)

    def recording(draw, path):
        with drawers.open("a", encoding="utf-8") as f:
            f.write(f"{path.name} {os.getpid()}\n")
        return save(draw, path)

    monkeypatch.setattr(pooling, "risk_of_bias_sensitivity", waiting)
    monkeypatch.setattr(export, "_save", recording)
    build_reports(ROOT / "studies.bib", out)
    assert seen[0] is True  # the build's own call (the outputs call it again, at no cost)
    drawn = dict(line.split() for line in drawers.read_text(encoding="utf-8").splitlines())
    assert int(drawn["rob-summary"]) != os.getpid()  # drawn by a worker, not before the analyses
    assert (out / "figures" / "rob-summary.svg").read_bytes() == (
        ROOT / "reports" / "figures" / "rob-summary.svg"
    ).read_bytes()


def test_a_build_keeps_the_text_of_the_base_it_loads_not_the_parse() -> None:
    from evidence import export

    base = export._load(ROOT / "studies.bib", None)
    assert base.document.library.entries == [] and base.document.library.blocks == []
    assert base.document.text == (ROOT / "studies.bib").read_text(encoding="utf-8")
    loaded = evidence.load(ROOT / "studies.bib")
    assert [(r.key, r.bib) for r in base.records] == [(r.key, r.bib) for r in loaded.records]
    assert base.errors == [] and len(loaded.document.library.entries) == len(base.records)


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_build_failing_while_references_are_formatted_leaves_no_worker(
    tmp_path: Path, monkeypatch
) -> None:
    import evidence.pooling as pooling

    entries = "".join(
        f"@article{{k{i},\n  author = {{Doe, Jane}},\n  title = {{On {i}}},\n"
        f"  journal = {{J}},\n  year = {{2020}},\n}}\n\n"
        for i in range(8000)  # formatted by workers for seconds
    )
    bib = tmp_path / "many.bib"
    bib.write_text(entries, encoding="utf-8")
    before = set(_group(os.getpgrp()))

    def broken(*args, **kwargs):
        assert len(set(_group(os.getpgrp())) - before) >= 2  # the references' workers at work
        raise RuntimeError("analysis failed")

    monkeypatch.setattr(pooling, "analyses_in_force", broken)
    with pytest.raises(RuntimeError, match="analysis failed"):
        build_reports(bib, tmp_path / "out", cache=False)
    for _ in range(10):  # they were stopped; gone within moments, long before they would end
        if not set(_group(os.getpgrp())) - before:
            break
        time.sleep(0.1)
    assert set(_group(os.getpgrp())) - before == set()
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_cli_build_is_quiet_off_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", str(ROOT / "studies.bib"), "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert result.stdout == "" and result.stderr == ""
    assert sorted(_files(tmp_path)) == EXPECTED


@pytest.mark.slow
def test_progress_messages_are_steps(tmp_path: Path) -> None:
    messages: list[str] = []
    result = build_reports(ROOT / "studies.bib", tmp_path, progress=messages.append)
    figures = tmp_path / "figures"
    assert messages == [
        f"reading {ROOT / 'studies.bib'}",
        # formatted by workers from the moment the entries are read
        "formatting references",
        # the figures of the base alone are drawn while the analyses run
        *(f"drawing {figures / name}.png/.svg" for name in list(FIGURES)[:4]),
        f"running {len(HEADLINES)} analyses",
        f"writing {tmp_path / WORKBOOK}",
        *(f"drawing {figures / 'forest-'}{name}.png/.svg" for name in HEADLINES),
        f"drawing {figures / 'summary-of-findings'}.png/.svg",
        f"writing {tmp_path / REPORT}",
        f"done: {len(EXPECTED)} files in {tmp_path}",
    ]
    assert list(result.timings) == STAGES


# ---------------------------------------------------------------- failed builds change nothing


#: An output the previous build made and the next does not (an analysis since dropped).
DROPPED = "figures/forest-dropped.png"


@pytest.fixture
def previous(tmp_path: Path) -> Path:
    """A copy of the committed reports, plus files of the user's that no build may touch, and
    one its manifest lists that the build no longer makes."""
    out = tmp_path / "reports"
    shutil.copytree(ROOT / "reports", out)
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    (out / "figures" / "extra.png").write_bytes(b"not the build's")
    (out / DROPPED).write_bytes(b"a forest plot")
    (tmp_path / "outside.txt").write_bytes(b"a forest plot")
    manifest = json.loads((out / "MANIFEST.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256(b"a forest plot").hexdigest()
    manifest["outputs"][DROPPED] = digest
    manifest["outputs"]["../outside.txt"] = digest  # not in the folder: never touched
    manifest["outputs"]["figures/extra.png"] = digest  # changed since: the user's now
    (out / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    return out


def _blocked_figures(out: Path) -> None:
    shutil.rmtree(out / "figures")
    (out / "figures").write_text("a file where the figures folder goes\n", encoding="utf-8")


def _blocked_workbook(out: Path) -> None:
    (out / "evidence-summary.xlsx").unlink()
    (out / "evidence-summary.xlsx").mkdir()
    (out / "evidence-summary.xlsx" / "keep.txt").write_text("x", encoding="utf-8")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("block", "message"),
    [
        pytest.param(
            _blocked_figures,
            "{out}/figures: is a file where the build writes a folder; nothing was replaced "
            "(move it away)",
            id="figures-is-a-file",
        ),
        pytest.param(
            _blocked_workbook,
            "{out}/evidence-summary.xlsx: is a folder where the build writes a file; nothing "
            "was replaced (move it away)",
            id="workbook-is-a-folder",
        ),
    ],
)
def test_blocked_output_leaves_every_previous_output(previous: Path, block, message) -> None:
    block(previous)
    before = _files(previous)
    result = CliRunner().invoke(main, ["build", str(ROOT / "studies.bib"), "--out", str(previous)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {message.format(out=previous)}\n"
    assert _files(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


#: The seventh rename of a build into ``previous``: mid-swap, three outputs already replaced
#: and the fourth's previous file moved aside.
_NO_SPACE = OSError(28, "No space left on device")


def _failing_replace(failures: dict[int, OSError]):
    """``os.replace`` that raises ``failures[n]`` at its n-th call (counted from 1)."""
    real_replace = os.replace
    calls = 0

    def replace(src, dst):
        nonlocal calls
        calls += 1
        if calls in failures:
            raise failures[calls]
        return real_replace(src, dst)

    return replace


@pytest.mark.slow
def test_failed_rename_rolls_back_every_replaced_output(previous: Path, monkeypatch) -> None:

    import evidence.export

    before = _files(previous)
    monkeypatch.setattr(evidence.export.os, "replace", _failing_replace({7: _NO_SPACE}))
    with pytest.raises(evidence.export.EvidenceError) as info:
        build_reports(ROOT / "studies.bib", previous)
    assert str(info.value) == (
        f"{previous}: cannot replace the reports: No space left on device; "
        "the previous reports are intact"
    )
    monkeypatch.undo()
    assert _files(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.slow
def test_a_previous_file_that_cannot_be_put_back_is_kept_and_the_error_says_where(
    previous: Path, monkeypatch
) -> None:
    """The undoing of a failed swap goes on past a file it cannot move back, and keeps that
    previous file in a folder of its own (no build removes it), named in the error, instead
    of leaving it in the staging folder removed on the way out and saying all is intact."""

    import evidence.export

    before = _files(previous)
    # the first move back (the fourth output's previous file) fails too
    failing = _failing_replace({7: _NO_SPACE, 8: OSError(5, "Input/output error")})
    monkeypatch.setattr(evidence.export.os, "replace", failing)
    with pytest.raises(evidence.export.EvidenceError) as info:
        build_reports(ROOT / "studies.bib", previous, cache=False)
    monkeypatch.undo()
    [kept] = [p for p in previous.iterdir() if p.name.startswith(".previous-reports-")]
    assert str(info.value) == (
        f"{previous}: cannot replace the reports: No space left on device; 1 previous file(s) "
        f"could not be put back: they are kept in {kept}"
    )
    moved = {p.relative_to(kept).as_posix(): p.read_bytes() for p in kept.rglob("*") if p.is_file()}
    name = next(iter(moved))
    assert moved == {name: before[name]}  # the previous file, whole
    assert _files(previous) == {
        **{k: v for k, v in before.items() if k != name},
        **{f"{kept.name}/{name}": before[name]},
    }
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.slow
def test_failed_rename_removes_new_outputs_and_folders(tmp_path: Path, monkeypatch) -> None:
    import os

    import evidence.export

    out = tmp_path / "fresh"
    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 5:
            raise OSError(5, "Input/output error")
        return real_replace(src, dst)

    monkeypatch.setattr(evidence.export.os, "replace", flaky)
    with pytest.raises(evidence.export.EvidenceError) as info:
        build_reports(ROOT / "studies.bib", out)
    # no reports were there before: none are said to be intact
    assert (
        str(info.value)
        == f"{out}: cannot replace the reports: Input/output error; nothing was written"
    )
    assert not out.exists()  # the folder the build made, left empty, is removed too


def test_a_failed_build_removes_the_folders_it_made(tmp_path: Path, monkeypatch) -> None:
    from evidence import pooling

    def fails(base):
        raise OSError(5, "Input/output error", "/tmp/somewhere")

    monkeypatch.setattr(pooling, "analyses_in_force", fails)
    with pytest.raises(OSError) as raised:  # not the output folder's error: it is not
        build_reports(ROOT / "studies.bib", tmp_path / "new" / "deeper" / "reports")
    assert raised.value.filename == "/tmp/somewhere"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_file_size_limit_is_a_one_line_error(previous: Path) -> None:
    """Under ``ulimit -f`` writes fail with EFBIG (CPython ignores SIGXFSZ)."""
    import subprocess
    import sys

    before = _files(previous)
    script = (
        "import resource, sys\n"
        "from evidence.cli import main\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))  # figures are larger\n"
        "main(['build', sys.argv[1], '--out', sys.argv[2]])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(ROOT / "studies.bib"), str(previous)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {previous}: cannot write the reports: File too large; "
        "the previous reports are intact\n"
    )
    assert _files(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


def _group(pgid: int) -> list[int]:
    """The processes in process group ``pgid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):  # ended meanwhile
            continue
        if int(group) == pgid and state != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_a_build_stopped_by_a_signal_leaves_the_previous_reports_and_no_worker(
    previous: Path, name: str
) -> None:
    """Stopped midway (a worker has drawn a figure into the staging folder), a build undoes
    what it did as after ^C: its workers stopped, its staging folders removed, the previous
    reports as they were; exit 128 + the signal's number, one line."""
    import signal
    import subprocess
    import time

    signum = getattr(signal, name)
    before = _files(previous)
    args = ["build", str(ROOT / "studies.bib"), "--out", str(previous), "--no-cache"]
    build = subprocess.Popen(
        [sys.executable, "-m", "evidence", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: its workers are found by it
    )
    try:
        deadline = time.monotonic() + 120
        while not any(previous.glob(".build-*/figures/*.png")):
            assert build.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        build.send_signal(signum)
        _, stderr = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
    assert (build.returncode, stderr) == (128 + signum, f"Error: stopped by {name}\n")
    assert _group(build.pid) == []  # no worker outlives it
    assert _files(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.slow
def test_a_signal_during_the_swap_takes_effect_after_it(previous: Path, monkeypatch) -> None:
    """The outputs are swapped in whole even when a stop signal comes midway; the build then
    stops (the reports it leaves are the new ones, all of them)."""
    import signal

    import evidence.export
    from evidence.cli import _stop_on_signals
    from evidence.errors import Stopped

    (previous / WORKBOOK).write_bytes(b"the previous workbook")
    into_place = []
    real_replace = os.replace

    def signalled(src, dst):
        if ".build-" in str(src) and ".build-" not in str(dst):  # a new output into place
            into_place.append(dst)
            if len(into_place) == 3:
                os.kill(os.getpid(), signal.SIGTERM)
        return real_replace(src, dst)

    monkeypatch.setattr(evidence.export.os, "replace", signalled)
    restore = _stop_on_signals()
    try:
        with pytest.raises(Stopped) as stopped:
            build_reports(ROOT / "studies.bib", previous, cache=False)
    finally:
        restore()
    monkeypatch.undo()
    assert (stopped.value.signum, stopped.value.after) == (
        signal.SIGTERM,
        "after the new reports were in place",
    )
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])  # not left held
    assert not (previous / DROPPED).exists()  # the build finished: the stale output went too
    assert len(into_place) == len(EXPECTED)  # every output, none moved back
    assert (previous / WORKBOOK).read_bytes() == (ROOT / "reports" / WORKBOOK).read_bytes()
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.slow
def test_a_build_removes_the_staging_folders_of_builds_killed_outright(previous: Path) -> None:
    """SIGKILL leaves a build no way to clean up: the next build on the same host removes
    staging folders whose process is gone, and no other host's or living process's."""
    import socket
    import subprocess

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    host = socket.gethostname()
    names = {
        "dead": f".build-{host}-{dead}-abc_1234",
        "dead-old": f".build-{host}-{dead}-old-xyz98765",
        "alive": f".build-{host}-{os.getppid()}-abc_1234",
        "elsewhere": f".build-another-host-{dead}-abc_1234",
        "not-ours": ".build-notes",
        "named-alike": f".build-{host}-{dead}-my-notes",  # not tempfile's eight letters
        # a build whose process number means another here (in a container or sandbox with
        # the same host name): alive, as the lock it holds on its folder says
        "locked": f".build-{host}-{dead}-loc_1234",
    }
    for name in names.values():
        (previous / name / "figures").mkdir(parents=True)
        (previous / name / "figures" / "x.png").write_bytes(b"half a build")
    held = os.open(previous / names["locked"], os.O_RDONLY)
    try:
        if os.name == "posix":
            import fcntl

            fcntl.flock(held, fcntl.LOCK_EX)
        build_reports(ROOT / "studies.bib", previous)
    finally:
        os.close(held)
    left = sorted(p.name for p in previous.iterdir() if p.name.startswith(".build"))
    kept = ("alive", "elsewhere", "not-ours", "named-alike", "locked")
    assert left == sorted(names[k] for k in kept)


@pytest.mark.slow
def test_build_touches_only_its_own_outputs(previous: Path) -> None:
    """Files of the user's stay, even one the previous manifest lists but that has changed
    since; an output of the previous build that this one does not make goes."""
    result = build_reports(ROOT / "studies.bib", previous)
    files = _files(previous)
    assert files["notes.txt"] == b"mine\n"
    assert files["figures/extra.png"] == b"not the build's"
    assert sorted(set(files) - {"notes.txt", "figures/extra.png"}) == EXPECTED
    assert result.removed == (previous / DROPPED,)
    assert (previous.parent / "outside.txt").read_bytes() == b"a forest plot"


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="the folder lock is POSIX's flock")
def test_a_build_waits_for_another_replacing_the_same_reports_then_refuses(
    previous: Path, monkeypatch
) -> None:
    """Two builds finishing at once replace the reports one after the other (a lock on the
    folder); one that cannot have it in time replaces nothing and says why."""
    import fcntl

    import evidence.export

    monkeypatch.setattr(evidence.export, "SWAP_TIMEOUT", 0.3)
    before = _files(previous)
    other = os.open(previous, os.O_RDONLY)  # another build, in the middle of its swap
    try:
        fcntl.flock(other, fcntl.LOCK_EX)
        args = ["build", str(ROOT / "studies.bib"), "--out", str(previous), "--no-cache"]
        result = CliRunner().invoke(main, args)
    finally:
        os.close(other)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: {previous}: another build is replacing these reports (still after 0.3 s); "
        "the previous reports are intact, try again\n"
    )
    assert _files(previous) == before
    assert [p.name for p in previous.iterdir() if p.name.startswith(".build")] == []


@pytest.mark.slow
@pytest.mark.skipif(os.name != "posix", reason="the folder lock is POSIX's flock")
def test_the_reports_folder_is_locked_while_a_build_replaces_its_outputs(
    tmp_path: Path, monkeypatch
) -> None:
    import fcntl

    import evidence.export

    out = tmp_path / "reports"
    held = []
    real_swap = evidence.export._swap_into

    def swap(stage, *args, **kwargs):
        for folder in (out, stage):  # the reports, and the build's own staging folder
            probe = os.open(folder, os.O_RDONLY)
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                held.append(folder.name)
            finally:
                os.close(probe)
        return real_swap(stage, *args, **kwargs)

    monkeypatch.setattr(evidence.export, "_swap_into", swap)
    build_reports(ROOT / "studies.bib", out, cache=False)
    assert len(held) == 2 and held[0] == "reports" and held[1].startswith(".build-")
    probe = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released once the build is done
    finally:
        os.close(probe)
    assert sorted(p.name for p in out.iterdir()) == sorted({rel.split("/")[0] for rel in EXPECTED})


@pytest.mark.slow
def test_an_output_the_manifest_spells_otherwise_is_not_removed_as_stale(previous: Path) -> None:
    """The previous manifest naming an output this build makes in another spelling
    (``figures//x.png``), or a file that is one of its outputs under another name (as on a
    file system that ignores case; here a hard link), is not taken for a stale output."""
    figure = next(rel for rel in EXPECTED if rel.startswith("figures/") and rel.endswith(".png"))
    alias = previous / "figures" / "ALIAS.png"
    os.link(previous / figure, alias)
    manifest = json.loads((previous / "MANIFEST.json").read_text(encoding="utf-8"))
    digest = manifest["outputs"][figure]
    manifest["outputs"][figure.replace("/", "//")] = digest
    manifest["outputs"]["./" + figure] = digest
    manifest["outputs"]["figures/ALIAS.png"] = digest
    (previous / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    result = build_reports(ROOT / "studies.bib", previous, cache=False)
    assert result.removed == (previous / DROPPED,)
    assert (previous / figure).read_bytes() == (ROOT / "reports" / figure).read_bytes()
    assert alias.exists()


@pytest.mark.slow
def test_the_manifest_is_the_last_output_put_in_place(tmp_path: Path, monkeypatch) -> None:
    """A build killed midway through the swap leaves the previous manifest: a manifest in
    place means every output it lists is this build's."""
    import evidence.export

    placed = []
    real_replace = os.replace

    def recording(src, dst):
        if ".build-" in str(src) and ".build-" not in str(dst):
            placed.append(Path(dst).relative_to(tmp_path / "out").as_posix())
        return real_replace(src, dst)

    monkeypatch.setattr(evidence.export.os, "replace", recording)
    build_reports(ROOT / "studies.bib", tmp_path / "out", cache=False)
    assert sorted(placed) == EXPECTED
    assert placed[-1] == "MANIFEST.json"


@pytest.mark.slow
def test_the_command_says_which_outputs_it_removed_even_without_progress(previous: Path) -> None:
    """Progress lines are for a terminal; a file removed is a result, said on stderr anyway
    (not with --quiet)."""
    args = ["build", str(ROOT / "studies.bib"), "--out", str(previous), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0
    assert result.stderr == (
        f"removed {previous / DROPPED}: the previous build's, and this one does not make it\n"
    )
    assert CliRunner().invoke(main, [*args, "--quiet"]).stderr == ""
