"""`evidence fmt` (evidence.formatting, evidence.editing.format_file): the canonical layout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.bib import parse_bib, read_bib
from evidence.cli import main
from evidence.errors import EditError
from evidence.formatting import format_document

from .conftest import CR_FILE, CRLF_FILE, ROOT, STYLES, after_first_line


@pytest.mark.parametrize(
    "path", [pytest.param(p, id=p.name) for p in [*STYLES, ROOT / "studies.bib"]]
)
def test_fmt_is_idempotent_and_keeps_every_value(path: Path) -> None:
    doc = read_bib(path)
    once = format_document(doc)
    twice = format_document(parse_bib(once.text))
    assert twice.text == once.text and twice.changed_keys == ()
    after = parse_bib(once.text)
    assert not after.library.failed_blocks
    for entry in doc.library.entries:
        new = after.library.entries_dict[entry.key]
        old_fields = {f.key.lower(): f.value for f in entry.fields if f.key.lower() != "outcomes"}
        new_fields = {f.key: f.value for f in new.fields if f.key != "outcomes"}
        assert new_fields == old_fields
    assert (
        evidence.loads(once.text)
        .outcomes.drop(columns="line")
        .equals(evidence.loads(doc.text).outcomes.drop(columns="line"))
    )
    if "\r\n" in doc.text:
        assert once.text.count("\r\n") == once.text.count("\n")


def test_fmt_canonical_layout() -> None:
    doc = parse_bib(
        '@Article{k, Title = "T", author={A, B},year=2020, note = {n}, route={IV}}\n\n\n% c\n'
    )
    assert format_document(doc).text == (
        "@article{k,\n  author = {A, B},\n  title = {T},\n  year = 2020,\n  route = {IV},\n"
        "  note = {n},\n}\n\n% c\n"
    )


def test_fmt_sort_by_year() -> None:
    doc = parse_bib("@misc{b, year = 2020}\n@misc{a, year = 2021}\n@misc{c, year = 2019}\n")
    keys = [e.key for e in parse_bib(format_document(doc, sort="year").text).library.entries]
    assert keys == ["c", "b", "a"]


def test_fmt_refuses_syntax_errors() -> None:
    with pytest.raises(EditError, match="cannot format a file with BibTeX syntax errors"):
        format_document(read_bib(ROOT / "tests" / "data" / "invalid" / "syntax-error.bib"))


def test_cli_fmt_check_then_write(tmp_path: Path) -> None:
    path = tmp_path / "x.bib"
    shutil.copy(ROOT / "tests" / "data" / "styles" / "crlf.bib", path)
    runner = CliRunner()
    check = runner.invoke(main, ["fmt", "--check", "--bib", str(path)])
    assert check.exit_code == 1
    assert check.stdout.splitlines() == [
        f"{path}: Kowalski2018: would be reformatted",
        f"{path}: Osei2020: would be reformatted",
        f"{path}: Whitaker2011: would be reformatted",
    ]
    assert runner.invoke(main, ["fmt", "--bib", str(path)]).exit_code == 0
    again = runner.invoke(main, ["fmt", "--check", "--bib", str(path)])
    assert again.exit_code == 0 and again.stderr == f"{path}: already formatted\n"


def test_fmt_keeps_cr_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "cr.bib"
    shutil.copy(CR_FILE, path)
    result = CliRunner().invoke(main, ["fmt", "--bib", str(path)])
    assert result.exit_code == 0, result.output
    formatted = path.read_bytes()
    assert b"\n" not in formatted and formatted.count(b"\r") > 10
    twin = tmp_path / "crlf.bib"
    shutil.copy(CRLF_FILE, twin)
    CliRunner().invoke(main, ["fmt", "--bib", str(twin)])
    assert after_first_line(formatted) == after_first_line(
        twin.read_bytes().replace(b"\r\n", b"\r")
    )
    check = CliRunner().invoke(main, ["fmt", "--check", "--bib", str(path)])
    assert check.exit_code == 0


def test_fmt_lays_out_rob_rows_like_outcomes() -> None:
    doc = parse_bib(
        "@article{k, rob_tool = {RoB2}, rob = {domain=D1; judgement=low\n"
        "        domain=overall; judgement=low}, year = 2020}\n"
    )
    assert format_document(doc).text == (
        "@article{k,\n  year = 2020,\n  rob_tool = {RoB2},\n  rob = {\n"
        "    domain=D1; judgement=low\n    domain=overall; judgement=low\n  },\n}\n"
    )


def test_fmt_lays_out_claims_rows_like_outcomes() -> None:
    doc = parse_bib(
        "@online{doc, claims = {id=C1; text={83% of people; within an hour}; cites=none\n"
        "        id=C2; text=y; cites={a; b}}, title = {P}}\n"
    )
    formatted = format_document(doc).text
    assert formatted == (
        "@online{doc,\n  title = {P},\n  claims = {\n"
        "    id=C1; text={83% of people; within an hour}; cites=none\n"
        "    id=C2; text=y; cites={a; b}\n  },\n}\n"
    )
    assert format_document(parse_bib(formatted)).text == formatted  # idempotent


def test_an_entry_fmt_cannot_read_is_named_by_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "r.bib"
    path.write_text(
        "@article{ok,\n  title = {Fine},\n}\n\n"
        "@article{a3,\n  title = {One},\n  volume = {1}, % a comment\n  year = {2020},\n}\n",
        encoding="utf-8",
    )
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["fmt", "--bib", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {path}:5: a3: cannot read the fields of this entry near "
        "'% a comment year = {2020}, }'\n"
    )
    assert path.read_bytes() == before


def test_fmt_says_when_it_changed_only_the_space_between_blocks(tmp_path: Path) -> None:
    path = tmp_path / "b.bib"
    path.write_text(
        "@article{a,\n  title = {One},\n}\n\n\n\n@article{b,\n  title = {Two},\n}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["fmt", "--bib", str(path)])
    assert result.exit_code == 0
    assert result.stderr == f"{path}: reformatted 0 entries; blank lines or block order changed\n"
    assert path.read_text(encoding="utf-8") == (
        "@article{a,\n  title = {One},\n}\n\n@article{b,\n  title = {Two},\n}\n"
    )
