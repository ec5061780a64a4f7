"""Lossless I/O: round trips, minimal diffs, atomic writes (evidence.bib)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evidence.bib import (
    brace_problem,
    parse_bib,
    read_bib,
    scan_fields,
    set_fields,
    unpaired_braces,
    write_bib,
)
from evidence.errors import BibFileError, EditError

from .conftest import ROOT, STYLES

ALL_FILES = [pytest.param(p, id=p.name) for p in [*STYLES, ROOT / "studies.bib"]]


def _changed_lines(old: str, new: str) -> list[int]:
    """1-based line numbers of ``old`` that differ in ``new`` (replaced or deleted)."""
    changed = []
    matcher = difflib.SequenceMatcher(
        a=old.splitlines(True), b=new.splitlines(True), autojunk=False
    )
    for tag, i1, i2, _, _ in matcher.get_opcodes():
        if tag != "equal":
            changed.extend(range(i1 + 1, max(i2, i1 + 1) + 1))
    return changed


def _blocks_outside(doc, key: str) -> list[str]:
    return [b.raw for b in doc.library.blocks if getattr(b, "key", None) != key]


@pytest.mark.parametrize("path", ALL_FILES)
def test_round_trip_is_byte_identical(path: Path, tmp_path: Path) -> None:
    doc = read_bib(path)
    out = tmp_path / path.name
    write_bib(out, doc.text, bom=doc.bom, cr=doc.cr)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("path", ALL_FILES)
def test_every_block_is_located(path: Path) -> None:
    doc = read_bib(path)
    for block in doc.library.blocks:
        start, end = doc.span(block)
        assert doc.text[start:end] == block.raw


@pytest.mark.parametrize("path", ALL_FILES)
def test_changing_one_field_changes_only_that_line(path: Path) -> None:
    doc = read_bib(path)
    entry = doc.library.entries[len(doc.library.entries) // 2]
    field = next(f for f in entry.fields if f.key.lower() == "title")
    new_text = set_fields(doc, entry.key, {field.key: "A New {Title}"})
    changed = _changed_lines(doc.text, new_text)
    assert changed == [field.start_line + 1]
    new_doc = parse_bib(new_text, "x")
    assert new_doc.library.entries_dict[entry.key]["title"] == "A New {Title}"
    assert _blocks_outside(new_doc, entry.key) == _blocks_outside(doc, entry.key)


@pytest.mark.parametrize("path", ALL_FILES)
def test_adding_and_removing_a_field_touches_only_that_entry(path: Path) -> None:
    doc = read_bib(path)
    entry = doc.library.entries[0]
    added = parse_bib(set_fields(doc, entry.key, {"x-added": "5"}), "x")
    new_entry = added.library.entries_dict[entry.key]
    assert new_entry["x-added"] == "5"
    assert [f.key for f in new_entry.fields][:-1] == [f.key for f in entry.fields]
    assert _blocks_outside(added, entry.key) == _blocks_outside(doc, entry.key)
    # removing it again restores the original bytes exactly
    assert set_fields(added, entry.key, {"x-added": None}) == doc.text


def test_crlf_file_keeps_crlf_on_edit(tmp_bib) -> None:
    text = "@article{a,\r\n  title = {T},\r\n  year = 2020,\r\n}\r\n"
    doc = read_bib(tmp_bib(text))
    new = set_fields(doc, "a", {"doi": "10.1000/x", "title": "U"})
    assert new == "@article{a,\r\n  title = {U},\r\n  year = 2020,\r\n  doi = {10.1000/x},\r\n}\r\n"


@pytest.mark.parametrize(
    ("raw", "values", "expected"),
    [
        pytest.param(
            '@article{a,\n  title = "Old",\n  year = 2020\n}\n',
            {"title": "New"},
            '@article{a,\n  title = "New",\n  year = 2020\n}\n',
            id="keeps-quotes",
        ),
        pytest.param(
            "@article{a,\n  title = {Old},\n  year = 2020\n}\n",
            {"year": "2021"},
            "@article{a,\n  title = {Old},\n  year = 2021\n}\n",
            id="keeps-bare-number",
        ),
        pytest.param(
            "@article{a,\n  title = {Old},\n  year = 2020\n}\n",
            {"note": "n"},
            "@article{a,\n  title = {Old},\n  year = 2020,\n  note = {n}\n}\n",
            id="adds-comma-when-last-field-has-none",
        ),
        pytest.param(
            "@Article{a,\n  author    = {X},\n  title     = {Old},\n}\n",
            {"doi": "10.1/x"},
            "@Article{a,\n  author    = {X},\n  title     = {Old},\n  doi       = {10.1/x},\n}\n",
            id="keeps-jabref-alignment",
        ),
        pytest.param(
            "@article{a,\n\ttitle = {Old},\n\tyear = {2020}\n}\n",
            {"title": None},
            "@article{a,\n\tyear = {2020}\n}\n",
            id="removes-whole-line",
        ),
        pytest.param(
            "@article{a, title={Old}, year=2020}\n",
            {"note": "n"},
            "@article{a, title={Old}, year=2020, note={n}}\n",
            id="one-line-entry",
        ),
        pytest.param(
            "@article(a,\n  title = {Old},\n)\n",
            {"title": "Neu"},
            "@article(a,\n  title = {Neu},\n)\n",
            id="parenthesised-entry",
        ),
        pytest.param(
            "@string{jp = {J P}}\n@article{a,\n  journal = jp # { Suppl},\n  year = 2020,\n}\n",
            {"year": "2021"},
            "@string{jp = {J P}}\n@article{a,\n  journal = jp # { Suppl},\n  year = 2021,\n}\n",
            id="concatenation-survives",
        ),
    ],
)
def test_set_fields_minimal_edits(raw: str, values: dict, expected: str) -> None:
    assert set_fields(parse_bib(raw), "a", values) == expected


def test_set_fields_rejects_unbalanced_braces_and_unknown_key() -> None:
    doc = parse_bib("@article{a,\n  title = {Old},\n}\n")
    with pytest.raises(EditError, match="unbalanced braces"):
        set_fields(doc, "a", {"title": "Bad {brace"})
    with pytest.raises(EditError, match="no entry with key 'zz'"):
        set_fields(doc, "zz", {"title": "x"})
    with pytest.raises(EditError, match="not a valid BibTeX field name"):
        set_fields(doc, "a", {"bad name": "x"})


@pytest.mark.parametrize(
    ("value", "unpaired"),
    [
        pytest.param("A {B} c", [], id="paired"),
        pytest.param("Sets \\{x, y\\} of {GAD}", [], id="escaped-pair"),
        pytest.param("Set a\\{b", [6], id="escaped-open"),
        pytest.param("a\\}b", [2], id="escaped-close"),
        pytest.param("}{", [0, 1], id="reversed"),
        pytest.param("{a}} {b", [3, 5], id="mixed"),
        pytest.param("{\\textbraceleft} x", [], id="lone-brace-written-right"),
    ],
)
def test_unpaired_braces_counts_every_brace_as_bibtex_does(value: str, unpaired: list) -> None:
    # BibTeX (and pybtex) count a brace after a backslash too: "Set a\{b" leaves a group open
    assert unpaired_braces(value) == unpaired
    assert bool(brace_problem(value)) == bool(unpaired)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="{}\\ab", max_size=30))
def test_unpaired_braces_agrees_with_a_plain_count(text: str) -> None:
    """Its shortcut for paired values gives what counting brace by brace gives."""
    stack: list[int] = []
    lone: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            stack.pop()
        elif ch == "}":
            lone.append(i)
    assert unpaired_braces(text) == sorted(lone + stack)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            "Set a\\{b",
            "test.bib:3: a: title: unbalanced braces: the last { of 'Set a\\{' is never closed "
            "(BibTeX counts every brace, backslash or not); write braces in pairs, {...} or "
            "\\{...\\}, and a lone brace as {\\textbraceleft} or {\\textbraceright}",
            id="escaped-open",
        ),
        pytest.param(
            "a\\}b",
            "test.bib:3: a: title: unbalanced braces: the last } of 'a\\}' closes no group "
            "(BibTeX counts every brace, backslash or not); write braces in pairs, {...} or "
            "\\{...\\}, and a lone brace as {\\textbraceleft} or {\\textbraceright}",
            id="escaped-close",
        ),
    ],
)
def test_set_fields_refuses_braces_bibtex_would_not_pair(value: str, message: str) -> None:
    doc = parse_bib("@article{a,\n  year = 2020,\n  title = {Old},\n}\n", "test.bib")
    with pytest.raises(EditError) as info:
        set_fields(doc, "a", {"title": value})
    assert str(info.value) == message
    paired = set_fields(doc, "a", {"title": "Sets \\{x\\} and {\\textbraceleft}"})
    assert "  title = {Sets \\{x\\} and {\\textbraceleft}},\n" in paired


def test_set_fields_refuses_braces_that_pair_only_for_bibtex() -> None:
    """`x\\{}` pairs for BibTeX, but LaTeX prints `\\{` and bibtexparser reads it as text: it
    would read `{x\\{}}` as `x\\{` and lose the fields after it."""
    text = "@article{a,\n  title = {x\\{}},\n  year = 2020,\n}\n"
    assert [(f.key, f.value) for f in parse_bib(text).entry("a").fields] == [("title", "x\\{")]
    doc = parse_bib("@article{a,\n  title = {Old},\n  year = 2020,\n}\n", "test.bib")
    with pytest.raises(EditError) as info:
        set_fields(doc, "a", {"title": "x\\{}"})
    assert str(info.value) == (
        "test.bib:2: a: title: unbalanced braces: the last } of 'x\\{}' closes no group once "
        "\\{ and \\} are text (as LaTeX prints them and bibtexparser reads them; pair \\{ with "
        "\\}, { with }); write braces in pairs, {...} or \\{...\\}, and a lone brace as "
        "{\\textbraceleft} or {\\textbraceright}"
    )


def test_scan_fields_handles_nesting_and_quotes() -> None:
    raw = '@article{k,\n  a = {x {y} z},\n  b = "q {\\"u} r",\n  c = m # {n},\n  d = 12\n}'
    spans = scan_fields(raw)
    assert [s.key for s in spans] == ["a", "b", "c", "d"]
    assert [raw[s.value_start : s.value_end] for s in spans] == [
        "{x {y} z}",
        '"q {\\"u} r"',
        "m # {n}",
        "12",
    ]
    assert [s.has_comma for s in spans] == [True, True, True, False]


# ------------------------------------------------------------------ reading errors


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "file is empty", id="empty"),
        pytest.param(b"  \n\n", "file is empty", id="blank"),
        pytest.param(b"@article{a,\n title = {Caf\xe9}}\n", ":2: not valid UTF-8", id="latin1"),
    ],
)
def test_unreadable_files_give_one_line_errors(tmp_bib, content: bytes, message: str) -> None:
    with pytest.raises(BibFileError, match=message) as info:
        read_bib(tmp_bib(content))
    assert "\n" not in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(BibFileError, match="no such file"):
        read_bib(tmp_path / "nope.bib")
    with pytest.raises(BibFileError, match="is a directory"):
        read_bib(tmp_path)


def test_bom_is_kept(tmp_bib, tmp_path: Path) -> None:
    path = tmp_bib("\ufeff@article{a,\n  title = {T},\n}\n".encode())
    doc = read_bib(path)
    assert doc.bom and doc.text.startswith("@article")
    write_bib(path, set_fields(doc, "a", {"title": "U"}), bom=doc.bom)
    assert path.read_bytes() == "\ufeff@article{a,\n  title = {U},\n}\n".encode()


# ------------------------------------------------------------------ atomic writes


def test_failed_write_leaves_the_old_file(tmp_bib, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_bib("@article{a, title={Old}}\n")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(EditError, match="cannot write: disk full; the file is unchanged"):
        write_bib(path, "@article{a, title={New}}\n")
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["test.bib"]


def test_write_refuses_when_file_changed_since_read(tmp_bib) -> None:
    path = tmp_bib("@article{a, title={Old}}\n")
    doc = read_bib(path)
    path.write_text("@article{a, title={Someone else}}\n", encoding="utf-8")
    with pytest.raises(EditError, match="changed on disk"):
        write_bib(path, set_fields(doc, "a", {"title": "Mine"}), expected_sha256=doc.sha256)
    assert "Someone else" in path.read_text(encoding="utf-8")


def test_write_keeps_permissions(tmp_bib) -> None:
    path = tmp_bib("@article{a, title={Old}}\n")
    path.chmod(0o640)
    write_bib(path, "@article{a, title={New}}\n")
    assert path.stat().st_mode & 0o777 == 0o640


def test_read_only_file_is_refused_not_replaced(bib: Path) -> None:
    """Renaming over a read-only file would succeed (the folder's permission is what counts),
    so the writer asks first, as an editor does; through the CLI, one line and exit 1."""
    from click.testing import CliRunner

    from evidence.cli import main

    before = bib.read_bytes()
    bib.chmod(0o444)
    result = CliRunner().invoke(main, ["set", "glue2017", "n_enrolled=13", "--bib", str(bib)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {bib}: cannot write: the file is read-only; the file is unchanged\n"
    )
    assert bib.read_bytes() == before and bib.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in bib.parent.iterdir() if p.name.endswith(".tmp")) == []
    bib.chmod(0o644)  # made writable again, the same edit goes through
    assert (
        CliRunner().invoke(main, ["set", "glue2017", "n_enrolled=13", "--bib", str(bib)]).exit_code
        == 0
    )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
def test_write_keeps_owner_and_group(tmp_bib) -> None:
    """Root editing another user's file leaves it theirs (the new file is root's otherwise)."""
    path = tmp_bib("@article{a, title={Old}}\n")
    os.chown(path, 65534, 65534)
    write_bib(path, "@article{a, title={New}}\n")
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)
    assert path.read_text(encoding="utf-8") == "@article{a, title={New}}\n"


# ------------------------------------------------------------------ property-based

_FIELD_NAMES = st.sampled_from(
    ["title", "note", "year", "doi", "rating", "x-reviewer", "n_enrolled", "abstract", "Title"]
)
_PLAIN = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters='{}\\"@%',
    ),
    max_size=40,
)
_VALUES = st.one_of(
    _PLAIN,
    st.builds(lambda a, b: f"{a}{{{b}}}", _PLAIN, _PLAIN),
    st.sampled_from([r"M{\"u}ller", r"\'{e}t{\'e}", "1302--1305", "{GAD} and {SAD}"]),
    st.none(),
)


@settings(max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from([*STYLES, ROOT / "studies.bib"]),
    data=st.data(),
)
def test_random_edits_never_touch_other_entries(path: Path, data) -> None:
    doc = read_bib(path)
    entries = doc.library.entries
    entry = entries[data.draw(st.integers(0, len(entries) - 1), label="entry")]
    edits = data.draw(st.dictionaries(_FIELD_NAMES, _VALUES, min_size=1, max_size=3), label="edits")
    lowered = {}
    for name, value in edits.items():  # BibTeX field names are case-insensitive
        lowered[name.lower()] = value
    edits = {k: v for k, v in lowered.items()}
    new_doc = parse_bib(set_fields(doc, entry.key, edits), "x")
    assert not new_doc.library.failed_blocks
    assert _blocks_outside(new_doc, entry.key) == _blocks_outside(doc, entry.key)
    got = {f.key.lower(): f.value for f in new_doc.library.entries_dict[entry.key].fields}
    for name, value in edits.items():
        if value is None:
            assert name not in got
        else:
            assert got[name] == value
    untouched = {f.key.lower(): f.value for f in entry.fields if f.key.lower() not in edits}
    assert {k: got[k] for k in untouched} == untouched


def test_studies_bib_copy_round_trips_through_edits(studies_bib: Path, bib: Path) -> None:
    path = bib
    doc = read_bib(path)
    write_bib(path, set_fields(doc, "glue2017", {"n_enrolled": "13"}), expected_sha256=doc.sha256)
    changed = _changed_lines(studies_bib.read_text(encoding="utf-8"), path.read_text("utf-8"))
    line = doc.library.entries_dict["glue2017"].fields_dict["n_enrolled"].start_line + 1
    assert changed == [line]


# --------------------------------------------------------------------------- the edit lock

_EDITORS = ("glue2017", "irwin2013", "taylor2018", "bloch2012")
_ROUNDS = 12


def _edit_rounds(path: str, key: str, start, results) -> None:
    """One concurrent editor: ``set`` a new field on its own entry, round after round."""
    from evidence.editing import set_entry

    start.wait()
    done = []
    for n in range(_ROUNDS):
        try:
            result = set_entry(path, key, {f"x{n}": f"{key}-{n}"})
        except EditError as exc:  # refused (not a success): allowed, not counted
            results.put((key, None, str(exc)))
            continue
        if result.written:
            done.append(n)
    results.put((key, done, ""))


@pytest.mark.slow
def test_concurrent_editors_lose_no_update(bib: Path) -> None:
    import multiprocessing

    from evidence.base import load

    path = bib
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Barrier(len(_EDITORS)), ctx.Queue()
    workers = [
        ctx.Process(target=_edit_rounds, args=(str(path), key, start, results)) for key in _EDITORS
    ]
    for worker in workers:
        worker.start()
    reports = []
    while len([r for r in reports if r[1] is not None]) < len(_EDITORS):
        reports.append(results.get(timeout=120))
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    succeeded = {key: done for key, done, _ in reports if done is not None}
    records = {r.key: r.bib for r in load(path).records}
    lost = [
        (key, n)
        for key, done in succeeded.items()
        for n in done
        if records[key].get(f"x{n}") != f"{key}-{n}"
    ]
    assert lost == []  # every change that reported success is in the file
    assert not load(path).errors
    # and with the lock nobody had to be refused: every edit waited its turn and succeeded
    assert [message for _, done, message in reports if done is None] == []
    assert sum(len(done) for done in succeeded.values()) == len(_EDITORS) * _ROUNDS


def test_held_lock_makes_an_edit_wait_then_refuse(
    bib: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys
    import time

    import evidence.bib
    from evidence.bib import lock_path
    from evidence.editing import set_entry

    path = bib
    before = path.read_bytes()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); "
            "time.sleep(30)",
            str(lock_path(path)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        monkeypatch.setattr(evidence.bib, "LOCK_TIMEOUT", 0.6)
        began = time.monotonic()
        with pytest.raises(EditError) as info:
            set_entry(path, "glue2017", {"n_enrolled": "13"})
        waited = time.monotonic() - began
        # add and fmt wait for the same lock (through the CLI: one line, exit 1)
        snippet = path.with_name("new.bib")
        snippet.write_text("@misc{new2024, title = {T}}\n", encoding="utf-8")
        from click.testing import CliRunner

        from evidence.cli import main

        for args in (["add", str(snippet), "--bib", str(path)], ["fmt", "--bib", str(path)]):
            result = CliRunner().invoke(main, args)
            assert result.exit_code == 1, args
            assert result.stderr == f"Error: {info.value}\n", args
    finally:
        holder.kill()
        holder.wait()
    assert waited >= 0.6
    assert str(info.value) == (
        f"{path}: another command is editing this file (its lock .studies.bib.lock is still "
        "held after 0.6 s); nothing was written, try again"
    )
    assert path.read_bytes() == before
    # once the other command is done, the edit goes through
    assert set_entry(path, "glue2017", {"n_enrolled": "13"}).written


def _edit_by(command: str, path: Path) -> None:
    """One edit of ``path`` by ``set``, ``add`` or ``fmt``."""
    from evidence.editing import add_entries, format_file, set_entry

    if command == "set":
        set_entry(path, "glue2017", {"n_enrolled": "13"})
    elif command == "add":
        snippet = path.with_name("new.bib")
        snippet.write_text("@misc{new2024, title = {A new entry}, year = {2024}}\n", "utf-8")
        add_entries(path, [snippet])
    else:
        path.write_text(path.read_text("utf-8").replace("\n}", "}", 1), encoding="utf-8")
        format_file(path)


@pytest.mark.parametrize("command", ["set", "add", "fmt"])
def test_each_edit_reads_the_file_while_holding_its_lock(
    bib: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """From reading the file to writing it, so that an edit another command makes meanwhile
    is neither lost nor a reason to refuse this one ("the file changed on disk")."""
    import contextlib

    import evidence.editing

    held = []  # the paths whose lock is held
    reads = []  # whether each read of the file was made under its lock
    real_locked, real_read = evidence.editing.locked, evidence.editing.read_bib

    @contextlib.contextmanager
    def locked(path):
        with real_locked(path):
            held.append(Path(path))
            try:
                yield
            finally:
                held.pop()

    def read_bib(path):
        reads.append(Path(path) in held)
        return real_read(path)

    monkeypatch.setattr(evidence.editing, "locked", locked)
    monkeypatch.setattr(evidence.editing, "read_bib", read_bib)
    before = bib.read_bytes()
    _edit_by(command, bib)
    assert bib.read_bytes() != before  # the edit was written
    assert reads == [True]


def test_lock_file_is_hidden_beside_the_real_file(tmp_path: Path) -> None:
    from evidence.bib import lock_path

    real = tmp_path / "data" / "studies.bib"
    real.parent.mkdir()
    real.write_text("@misc{a, title={x}}\n", encoding="utf-8")
    link = tmp_path / "link.bib"
    link.symlink_to(real)
    assert lock_path(link) == real.parent / ".studies.bib.lock"
    assert lock_path(real) == lock_path(link)


def test_atomic_writer_streams_pieces_all_or_nothing(tmp_path: Path) -> None:
    """Pieces are written in order; a source that fails midway leaves the old file whole
    and no temporary file behind."""
    from evidence.files import write_atomically

    target = tmp_path / "report.html"
    write_atomically(target, (piece.encode() for piece in ["<html>", "é", "</html>"]))
    assert target.read_text(encoding="utf-8") == "<html>é</html>"

    def failing():
        yield b"<html>half"
        raise RuntimeError("the template failed")

    with pytest.raises(RuntimeError, match="the template failed"):
        write_atomically(target, failing())
    assert target.read_text(encoding="utf-8") == "<html>é</html>"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_atomic_writer_creates_with_umask_and_writes_through_links(tmp_path: Path) -> None:
    from evidence.files import write_atomically

    old = os.umask(0o022)
    try:
        new = write_atomically(tmp_path / "new.bin", b"data")
    finally:
        os.umask(old)
    assert new.read_bytes() == b"data" and new.stat().st_mode & 0o777 == 0o644
    link = tmp_path / "link.bin"
    link.symlink_to(new)
    assert write_atomically(link, b"more") == new
    assert link.is_symlink() and new.read_bytes() == b"more"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.bin", "new.bin"]
