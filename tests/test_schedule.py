"""A build's pieces handed out longest first, by the times its last build recorded."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from evidence import parallel, refcache, schedule
from evidence.errors import EvidenceError
from evidence.export import WORKBOOK, build_reports

ROOT = Path(__file__).resolve().parents[1]


def test_longest_first_puts_untimed_pieces_first_then_the_longest() -> None:
    names = ["a", "b", "c", "d", "e", "f"]
    last = {"a": 1.0, "b": 3.0, "d": 2.0, "f": 3.0}
    # c and e were never timed: first, as given; then 3 s (b, f as given), 2 s, 1 s
    assert schedule.longest_first(names, last) == [2, 4, 1, 5, 3, 0]
    assert schedule.longest_first(names, {}) == [0, 1, 2, 3, 4, 5]
    assert schedule.longest_first([], last) == []


def test_timed_gives_the_seconds_a_task_took() -> None:
    ran: list[int] = []
    seconds = schedule.timed(lambda: (ran.append(1), time.sleep(0.05)))
    assert ran == [1]
    assert 0.05 <= seconds < 5


def test_times_are_kept_per_bib_in_a_cache_folder(tmp_path) -> None:
    folder = tmp_path / "cache"
    assert schedule.read(folder, "studies.bib") == {}
    assert schedule.write(folder, "studies.bib", {"b": 2.00049, "a": 1.5})
    assert schedule.write(folder, "other.bib", {"a": 9.0})
    assert schedule.read(folder, "studies.bib") == {"a": 1.5, "b": 2.0}
    assert schedule.read(folder, "other.bib") == {"a": 9.0}
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"  # git ignores it
    assert schedule.write(folder, "studies.bib", {"c": 0.25})  # replaced, not merged
    assert schedule.read(folder, "studies.bib") == {"c": 0.25}


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'{"format": 99, "bib": "studies.bib", "seconds": {"a": 1}}',
        b'{"format": 1, "bib": "elsewhere.bib", "seconds": {"a": 1}}',
        b'{"format": 1, "bib": "studies.bib", "seconds": [1]}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_a_damaged_file_is_ignored(tmp_path, content) -> None:
    folder = tmp_path / "cache"
    schedule.write(folder, "studies.bib", {"a": 1.0})
    (path,) = folder.glob("durations-*.json")
    path.write_bytes(content)
    assert schedule.read(folder, "studies.bib") == {}


def test_damaged_times_are_left_out(tmp_path) -> None:
    folder = tmp_path / "cache"
    schedule.write(folder, "studies.bib", {"a": 1.0})
    (path,) = folder.glob("durations-*.json")
    seconds = {"ok": 2, "neg": -1, "text": "3", "none": None, "list": [1], "bool": True}
    data = {"format": 1, "bib": "studies.bib", "seconds": seconds}
    text = json.dumps(data).replace(
        '"bool": true', '"bool": true, "inf": 1e400, "huge": 1' + "0" * 400
    )
    path.write_text(text)
    assert json.loads(text)["seconds"]["huge"] == 10**400  # an integer no float can hold
    assert schedule.read(folder, "studies.bib") == {"ok": 2.0}


def test_a_folder_that_cannot_be_written_keeps_nothing(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert schedule.write(blocker / "cache", "studies.bib", {"a": 1.0}) is False
    assert schedule.read(blocker / "cache", "studies.bib") == {}


def _piece(task) -> str:
    """The output a build's piece writes (its task: ``timed`` of ``partial(f, ..., path)``)."""
    (inner,) = task.args
    path = next(a for a in inner.args if isinstance(a, Path))
    return WORKBOOK if path.name == WORKBOOK else f"figures/{path.name}"


def test_a_build_hands_out_its_pieces_by_the_last_build_times(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(refcache.ENV)
    bib = tmp_path / "studies.bib"
    shutil.copyfile(ROOT / "studies.bib", bib)
    folder = tmp_path / refcache.FOLDER
    last = {
        "figures/rob-summary": 9.0,
        "figures/evidence-map": 5.0,
        "figures/rob-traffic-light": 6.0,
        WORKBOOK: 1.0,
        "figures/summary-of-findings": 3.0,
    }
    schedule.write(folder, bib.name, last)
    handed: list[list[str]] = []
    start = parallel.start

    def spy(tasks, processes):
        if all(getattr(task, "func", None) is schedule.timed for task in tasks):
            handed.append([_piece(task) for task in tasks])  # not the references' workers
        return start(tasks, processes)

    monkeypatch.setattr(parallel, "start", spy)
    result = build_reports(bib, tmp_path / "out")
    early, late = handed  # the figures of the base alone, then the rest with the workbook
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix().removesuffix(".png")
        for p in result.outputs
        if p.suffix == ".png" or p.name == WORKBOOK
    )
    assert sorted(early + late) == written  # every piece, once
    # the untimed first, in the build's order, then the timed ones, longest first
    assert early == [
        "figures/response-over-time",
        "figures/rob-summary",
        "figures/rob-traffic-light",
        "figures/evidence-map",
    ]
    untimed = [name for name in late if name not in last]
    assert untimed and all(name.startswith("figures/forest-") for name in untimed)
    assert late == [*untimed, "figures/summary-of-findings", WORKBOOK]
    # and this build's own times replace them, one per piece
    now = schedule.read(folder, bib.name)
    assert sorted(now) == written
    assert all(0 < seconds < 120 for seconds in now.values())
    assert now != last


def test_a_failed_build_keeps_no_times(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(refcache.ENV)
    bib = tmp_path / "studies.bib"
    shutil.copyfile(ROOT / "studies.bib", bib)
    out = tmp_path / "out"
    out.mkdir()
    (out / "figures").write_text("a file where the figures' folder goes\n")
    with pytest.raises(EvidenceError, match="figures"):  # found once every piece is written
        build_reports(bib, out)
    assert (tmp_path / refcache.FOLDER).is_dir()  # the references were kept
    assert schedule.read(tmp_path / refcache.FOLDER, bib.name) == {}
