"""Formatted references kept between builds (evidence.refcache): a rebuild formats only the
entries that changed, and what it gives is what formatting everything again gives."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence import citations, refcache
from evidence.citations import references
from evidence.cli import main
from evidence.export import build_reports

from .conftest import DATA, ROOT

STUDIES = DATA / "citations" / "ketamine.bib"  # a snapshot of the bundled studies.bib
ENTRIES = 16


def _worked_out(monkeypatch, step: str) -> list[int]:
    """The number (place + 1) of each entry citeproc-py works ``step`` out for in this process
    (``format`` or ``sort_keys`` of ``citations._Job``), as it does; none in a worker."""
    numbers: list[int] = []
    method = getattr(citations._Job, step)

    def counting(self, indices):
        numbers.extend(index + 1 for index in indices)
        return method(self, indices)

    monkeypatch.setattr(citations._Job, step, counting)
    monkeypatch.setattr(citations, "PARALLEL_MIN", 10**9)  # counted here, not in a worker
    return numbers


@pytest.fixture
def formatted(monkeypatch) -> list[int]:
    """The number of each reference citeproc-py formats, as it formats it (in a build, also
    those of the methods the report cites, formatted once in a process)."""

    @contextlib.contextmanager
    def here(base, *, cache=None):  # a build's, formatted here too
        yield lambda: citations.references(base, cache=cache)

    monkeypatch.setattr(citations, "formatting", here)
    return _worked_out(monkeypatch, "format")


@pytest.fixture
def bib(tmp_path: Path) -> Path:
    path = tmp_path / "studies.bib"
    shutil.copyfile(STUDIES, path)
    return path


def _fresh(path: Path, style: str = "vancouver", cache: Path | None = None) -> list:
    """The references of a newly loaded base (nothing kept in memory from another call)."""
    return references(evidence.load(path), style=style, cache=cache)


def _edit_title(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("style", ["vancouver", "apa"])
def test_a_second_call_formats_nothing_and_gives_the_same(bib, tmp_path, formatted, style):
    cache = tmp_path / "cache"
    uncached = _fresh(bib, style)
    assert len(formatted) == ENTRIES
    formatted.clear()
    assert _fresh(bib, style, cache) == uncached
    assert sorted(formatted) == list(range(1, ENTRIES + 1))
    formatted.clear()
    assert _fresh(bib, style, cache) == uncached
    assert formatted == []


@pytest.mark.parametrize("style", ["vancouver", "apa"])
def test_an_edited_entry_alone_is_formatted_again(bib, tmp_path, formatted, style):
    cache = tmp_path / "cache"
    _fresh(bib, style, cache)
    _edit_title(bib, "Ketamine treatment for refractory anxiety", "Ketamine against Chronic")
    formatted.clear()
    cached = _fresh(bib, style, cache)
    assert len(formatted) == 1
    assert cached == _fresh(bib, style)  # exactly what formatting everything gives
    assert any("Ketamine against Chronic" in ref.text for ref in cached)


def test_a_numbered_style_formats_again_the_entries_an_insertion_renumbers(
    bib, tmp_path, formatted
):
    cache = tmp_path / "cache"
    _fresh(bib, "vancouver", cache)
    _fresh(bib, "apa", cache)
    text = bib.read_text(encoding="utf-8")
    first = text.index("@")
    new = "@article{new2024,\n  author = {Zed, Ann},\n  title = {A trial},\n  year = {2024}\n}\n"
    bib.write_text(text[:first] + new + text[first:], encoding="utf-8")
    formatted.clear()
    vancouver = _fresh(bib, "vancouver", cache)
    assert len(formatted) == ENTRIES + 1  # every number moved: "1." is now the new entry
    assert vancouver[0].key == "new2024" and vancouver[1].label == "2."
    assert vancouver == _fresh(bib, "vancouver")
    formatted.clear()
    apa = _fresh(bib, "apa", cache)
    assert len(formatted) == 1  # APA prints no number: only the new entry is formatted
    assert apa == _fresh(bib, "apa")


def test_a_sorted_style_works_out_only_the_sort_keys_of_what_changed(bib, tmp_path, monkeypatch):
    sorted_ = _worked_out(monkeypatch, "sort_keys")
    cache = tmp_path / "cache"
    _fresh(bib, "apa", cache)
    assert len(sorted_) == ENTRIES
    sorted_.clear()
    _edit_title(bib, "Ketamine treatment for refractory anxiety", "Ketamine against Chronic")
    assert _fresh(bib, "apa", cache) == _fresh(bib, "apa")
    assert len(sorted_) == 1 + ENTRIES  # the edited entry, then all of them without the cache


def test_a_moved_entry_gets_its_key_and_line_of_now(bib, tmp_path, formatted):
    """A kept reference is the formatted text only: its key, line and number are the
    entry's now, not the ones it was kept with."""
    cache = tmp_path / "cache"
    before = {ref.key: ref for ref in _fresh(bib, "apa", cache)}
    text = bib.read_text(encoding="utf-8")
    bib.write_text("\n\n\n" + text, encoding="utf-8")  # every entry three lines lower
    formatted.clear()
    after = _fresh(bib, "apa", cache)
    assert formatted == []
    assert all(ref.line == before[ref.key].line + 3 for ref in after)


def test_a_changed_style_file_formats_everything_again(tmp_path, bib, formatted):
    style = tmp_path / "mine.csl"
    shutil.copyfile(DATA / "citations" / "minimal.csl", style)
    cache = tmp_path / "cache"
    _fresh(bib, str(style), cache)
    formatted.clear()
    _fresh(bib, str(style), cache)
    assert formatted == []
    style.write_text(style.read_text(encoding="utf-8") + "<!-- edited -->\n", encoding="utf-8")
    _fresh(bib, str(style), cache)
    assert len(formatted) == ENTRIES


def test_the_fingerprint_names_the_style_locale_base_and_code(monkeypatch) -> None:
    style = b"<style/>"
    print_ = refcache.fingerprint(style, None, "studies.bib")
    assert refcache.fingerprint(style, None, "studies.bib") == print_
    assert refcache.fingerprint(b"<style />", None, "studies.bib") != print_
    assert refcache.fingerprint(style, "de-DE", "studies.bib") != print_
    assert refcache.fingerprint(style, None, "other.bib") != print_
    monkeypatch.setattr(refcache, "_CODE", "another version of evidence or citeproc-py")
    assert refcache.fingerprint(style, None, "studies.bib") != print_


def test_the_code_digest_covers_the_files_of_both_packages(monkeypatch, tmp_path) -> None:
    from types import SimpleNamespace

    assert refcache._code_digest() == refcache._CODE  # worked out at import, from these files
    ours, theirs = tmp_path / "evidence", tmp_path / "citeproc"
    for path in (ours / "citations.py", theirs / "model.py", theirs / "source" / "json.py"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(refcache, "__file__", str(ours / "refcache.py"))
    spec = SimpleNamespace(submodule_search_locations=[str(theirs)])
    monkeypatch.setattr(refcache.importlib.util, "find_spec", lambda name: spec)
    digest = refcache._code_digest()
    assert refcache._code_digest() == digest
    (theirs / "source" / "json.py").write_text("x = 22\n", encoding="utf-8")  # an upgrade
    assert refcache._code_digest() != digest
    digest = refcache._code_digest()
    os.utime(ours / "citations.py", ns=(1, 1))  # an edit of the same size
    assert refcache._code_digest() != digest


def test_a_style_edited_while_the_process_lives_is_parsed_and_kept_afresh(tmp_path, bib):
    style = tmp_path / "mine.csl"
    shutil.copyfile(DATA / "citations" / "minimal.csl", style)
    cache = tmp_path / "cache"
    before = _fresh(bib, str(style), cache)
    text = style.read_text(encoding="utf-8")
    assert text.count('<layout suffix=".">') == 1  # the bibliography's
    style.write_text(text.replace('<layout suffix=".">', '<layout suffix=" [EDITED]">'), "utf-8")
    after = _fresh(bib, str(style), cache)
    assert after != before and all(ref.text.endswith("[EDITED]") for ref in after)
    assert after == _fresh(bib, str(style))  # and a fresh process reads the same back
    code = (
        "import sys, evidence\n"
        "from evidence.citations import references\n"
        "refs = references(evidence.load(sys.argv[1]), style=sys.argv[2], cache=sys.argv[3])\n"
        "print(all(r.text.endswith('[EDITED]') for r in refs))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(bib), str(style), str(cache)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "True"


def test_a_number_named_by_a_character_reference_counts(tmp_path, bib, formatted):
    """``citation&#45;number`` is ``citation-number`` once parsed: an insertion renumbers."""
    style = tmp_path / "numbered.csl"
    text = (DATA / "citations" / "minimal.csl").read_text(encoding="utf-8")
    layout = '<layout suffix=".">'
    number = '<text variable="citation&#45;number" prefix="[" suffix="] "/>'
    style.write_text(text.replace(layout, layout + number), encoding="utf-8")
    assert citations._prints_number(citations._parsed(citations.find_style(str(style)))[0])
    cache = tmp_path / "cache"
    _fresh(bib, str(style), cache)
    text = bib.read_text(encoding="utf-8")
    first = text.index("@article{")
    new = "@article{new2024,\n  author = {Zed, Ann},\n  title = {A trial},\n  year = {2024}\n}\n"
    bib.write_text(text[:first] + new + text[first:], encoding="utf-8")
    cached = _fresh(bib, str(style), cache)
    assert cached == _fresh(bib, str(style))
    assert [ref.text[:4] for ref in cached[:3]] == ["[1] ", "[2] ", "[3] "]


def test_an_entry_is_named_by_its_type_fields_and_number() -> None:
    name = refcache.entry_digest("article", {"title": "T", "year": "2020"}, 3)
    assert refcache.entry_digest("article", {"year": "2020", "title": "T"}, 3) == name
    assert refcache.entry_digest("book", {"title": "T", "year": "2020"}, 3) != name
    assert refcache.entry_digest("article", {"title": "T", "year": "2021"}, 3) != name
    assert refcache.entry_digest("article", {"title": "T", "year": "2020"}, 4) != name
    assert refcache.entry_digest("article", {"title": "T", "year": "2020"}, None) != name
    # no field's name or value can run into the next one's, whatever characters it holds
    assert refcache.entry_digest("a", {"x": "1y", "z": ""}, 1) != refcache.entry_digest(
        "a", {"x": "1", "yz": ""}, 1
    )
    assert refcache.entry_digest("a", {"title": "T\0year\x002020"}, None) != (
        refcache.entry_digest("a", {"title": "T", "year": "2020"}, None)
    )


@pytest.mark.parametrize(
    "damage",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'{"format": 999, "fingerprint": "x", "entries": {}}',
        b"[" * 100_000,  # nested too deep for the JSON reader
        "forms of the wrong kind",
        "a foreign fingerprint",
    ],
)
def test_a_damaged_cache_file_is_ignored_and_replaced(bib, tmp_path, formatted, damage):
    cache = tmp_path / "cache"
    expected = _fresh(bib, "vancouver", cache)
    (path,) = cache.glob("references-*.json")
    data = json.loads(path.read_bytes())
    if damage == "forms of the wrong kind":
        data["entries"] = {k: [1, 2] for k in data["entries"]}
        path.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "a foreign fingerprint":
        data["fingerprint"] = "0" * 64
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        path.write_bytes(damage)
    formatted.clear()
    assert _fresh(bib, "vancouver", cache) == expected
    assert len(formatted) == ENTRIES
    assert len(json.loads(path.read_bytes())["entries"]) == ENTRIES  # whole again
    formatted.clear()
    _fresh(bib, "vancouver", cache)
    assert formatted == []


@pytest.mark.parametrize("damage", [[], [None], "text", [["a", "1"]] * 10, [[1, None]] * 10])
def test_damaged_sort_keys_are_worked_out_again(bib, tmp_path, damage):
    cache = tmp_path / "cache"
    expected = _fresh(bib, "apa", cache)
    (path,) = cache.glob("references-*.json")
    data = json.loads(path.read_bytes())
    sort = sorted(name for name in data["entries"] if name.startswith("sort "))
    assert len(sort) == ENTRIES and all(len(data["entries"][n]) == 10 for n in sort)
    for name in sort[::3]:
        data["entries"][name] = damage
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _fresh(bib, "apa", cache) == expected


def test_a_folder_that_cannot_be_written_only_means_nothing_is_kept(bib, tmp_path, formatted):
    blocked = tmp_path / "a-file"
    blocked.write_text("in the way", encoding="utf-8")
    assert _fresh(bib, "vancouver", blocked / "cache") == _fresh(bib, "vancouver")
    assert refcache.write(blocked / "cache", "0" * 64, {}) is False
    assert blocked.read_text(encoding="utf-8") == "in the way"


def test_the_folder_keeps_the_newest_files_only(tmp_path) -> None:
    folder = tmp_path / "cache"
    prints = [f"{n:x}".ljust(64, "0") for n in range(refcache.KEEP + 3)]
    for n, print_ in enumerate(prints):
        assert refcache.write(folder, print_, {"e": ["", "t", "h", "m", None, None]})
        os.utime(next(folder.glob(f"references-{print_[:32]}*")), ns=(n * 10**9, n * 10**9))
    refcache.write(folder, prints[-1], {"e": ["", "t", "h", "m", None, None]})
    kept = sorted(p.name for p in folder.glob("references-*.json"))
    assert kept == sorted(f"references-{p[:32]}.json" for p in prints[-refcache.KEEP :])
    assert refcache.read(folder, prints[-1]) == {"e": ["", "t", "h", "m", None, None]}
    assert refcache.read(folder, prints[0]) == {}


def test_pruning_removes_only_the_files_it_wrote(tmp_path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    mine = [folder / "references-final.json", folder / f"references-{'0' * 32}.json.bak"]
    for path in mine:
        path.write_text("mine", encoding="utf-8")
        os.utime(path, ns=(0, 0))
    for n in range(refcache.KEEP + 2):
        refcache.write(folder, f"{n:x}".ljust(64, "0"), {})
    assert all(path.read_text(encoding="utf-8") == "mine" for path in mine)
    assert len(list(folder.glob("references-*.json"))) == refcache.KEEP + 1


def test_a_file_used_is_the_last_pruned(tmp_path) -> None:
    folder = tmp_path / "cache"
    refcache.write(folder, "a" * 64, {"e": 1})
    (path,) = folder.glob("references-*.json")
    os.utime(path, ns=(0, 0))
    kept = refcache.Kept(folder, "a" * 64)
    kept.put("e", 1)
    assert kept.save()  # unchanged: not written again, but marked as used
    assert path.stat().st_mtime_ns > 0 and refcache.read(folder, "a" * 64) == {"e": 1}


def test_a_file_holds_the_last_list_only(bib, tmp_path) -> None:
    """Entries removed from the base leave the file: it grows with the base, not its history."""
    cache = tmp_path / "cache"
    _fresh(bib, "apa", cache)
    text = bib.read_text(encoding="utf-8")
    first = text.index("@article{")
    second = text.index("@", first + 1)
    bib.write_text(text[:first] + text[second:], encoding="utf-8")
    _fresh(bib, "apa", cache)
    (path,) = cache.glob("references-*.json")
    names = json.loads(path.read_bytes())["entries"]
    assert len([n for n in names if not n.startswith("sort ")]) == ENTRIES - 1
    assert len([n for n in names if n.startswith("sort ")]) == ENTRIES - 1  # APA sorts


def test_a_subset_of_keys_neither_reads_nor_writes_the_cache(bib, tmp_path, formatted) -> None:
    cache = tmp_path / "cache"
    _fresh(bib, "vancouver", cache)
    (path,) = cache.glob("references-*.json")
    before = path.read_bytes()
    formatted.clear()
    references(evidence.load(bib), ["glue2017", "feder2021"], cache=cache)
    assert formatted == [1, 2] and path.read_bytes() == before


def test_the_default_folder_is_beside_the_bib_and_ignored_by_git(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(refcache.ENV)
    assert refcache.default_folder(tmp_path / "studies.bib") == tmp_path / ".evidence_cache"
    monkeypatch.setenv(refcache.ENV, str(tmp_path / "elsewhere"))
    assert refcache.default_folder(tmp_path / "studies.bib") == tmp_path / "elsewhere"
    refcache.write(tmp_path / "c", "0" * 64, {})
    assert (tmp_path / "c" / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    tag = (tmp_path / "c" / "CACHEDIR.TAG").read_text(encoding="utf-8")
    assert tag.startswith("Signature: 8a477f597d28d172789f06886806bc55")


@pytest.mark.slow
def test_a_rebuild_gives_the_same_files_and_formats_nothing(monkeypatch, tmp_path, formatted):
    monkeypatch.delenv(refcache.ENV)
    bib = tmp_path / "studies.bib"
    shutil.copyfile(ROOT / "studies.bib", bib)
    first = build_reports(bib, tmp_path / "first")
    count = len(evidence.load(bib).records)
    # and the methods the report cites, the first time in this process
    assert count <= len(formatted) < count + 10
    assert (tmp_path / ".evidence_cache" / ".gitignore").exists()
    formatted.clear()
    second = build_reports(bib, tmp_path / "second")
    assert formatted == []
    for a, b in zip(first.outputs, second.outputs, strict=True):
        assert a.name == b.name and a.read_bytes() == b.read_bytes()
    formatted.clear()
    third = build_reports(bib, tmp_path / "third", cache=False)
    assert len(formatted) == count
    assert [p.read_bytes() for p in third.outputs] == [p.read_bytes() for p in first.outputs]


def test_a_build_keeps_the_references_its_workers_formatted(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(refcache.ENV)
    bib = tmp_path / "studies.bib"
    shutil.copyfile(ROOT / "studies.bib", bib)
    first = build_reports(bib, tmp_path / "first")  # formatted by forked workers
    count = len(evidence.load(bib).records)
    numbers = _worked_out(monkeypatch, "format")
    assert len(references(evidence.load(bib), cache=refcache.default_folder(bib))) == count
    assert numbers == []  # every one was kept by the build's workers: none formatted here
    second = build_reports(bib, tmp_path / "second", cache=False)
    assert [p.read_bytes() for p in second.outputs] == [p.read_bytes() for p in first.outputs]


def test_build_no_cache_reads_and_writes_no_cache(monkeypatch, tmp_path, formatted) -> None:
    monkeypatch.delenv(refcache.ENV)
    bib = tmp_path / "studies.bib"
    shutil.copyfile(ROOT / "studies.bib", bib)
    args = ["build", str(bib), "--out", str(tmp_path / "out"), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / ".evidence_cache").exists()  # writes none
    count = len(evidence.load(bib).records)
    assert len(formatted) >= count
    references(evidence.load(bib), cache=tmp_path / ".evidence_cache")  # a cache of them all
    formatted.clear()
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(formatted) == count  # and reads none


def test_two_writers_at_once_each_leave_a_whole_file(tmp_path) -> None:
    """Two processes replace one cache file 200 times each while this one reads it: every
    read is one writer's whole file, never a mix or a part."""
    folder = tmp_path / "cache"
    print_ = "f" * 64
    entries = {
        name: {f"{name}{i}": ["label", "text " * 50, "html", "md", None, None] for i in range(300)}
        for name in ("a", "b")
    }
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from evidence import refcache\n"
        "entries = json.loads(sys.argv[2])\n"
        "for _ in range(200):\n"
        "    assert refcache.write(Path(sys.argv[1]), sys.argv[3], entries)\n"
    )
    runs = [
        subprocess.Popen([sys.executable, "-c", code, str(folder), json.dumps(e), print_])
        for e in entries.values()
    ]
    while any(run.poll() is None for run in runs):
        assert refcache.read(folder, print_) in ({}, entries["a"], entries["b"])
    assert [run.wait(timeout=300) for run in runs] == [0, 0]
    assert refcache.read(folder, print_) in (entries["a"], entries["b"])
    assert not list(folder.glob(".*.tmp"))
