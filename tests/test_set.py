"""`evidence set` (evidence.editing.set_entry): minimal edits, refusals, concurrent changes,
random edit sequences."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evidence
from evidence.bib import read_bib
from evidence.cli import main
from evidence.editing import add_entries, set_entry
from evidence.errors import EditError, ValidationError

from .conftest import CR_FILE, CRLF_FILE, ROOT, after_first_line


def _lines_changed(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_set_changes_only_the_field_line(bib: Path, studies_text: str) -> None:
    before = studies_text
    result = set_entry(bib, "glue2017", {"n_enrolled": "13"})
    assert result.written
    assert _lines_changed(before, bib.read_text(encoding="utf-8")) == [
        ("  n_enrolled = {12},", "  n_enrolled = {13},")
    ]


def test_set_one_key_of_an_outcome_row(bib: Path, studies_text: str) -> None:
    before = studies_text
    set_entry(bib, "rodriguez2013", {"outcomes.2.responders": "1"})
    changed = _lines_changed(before, bib.read_text(encoding="utf-8"))
    assert len(changed) == 1
    old, new = changed[0]
    assert "arm=placebo" in old and old.replace("responders=0", "responders=1") == new
    rows = evidence.load(bib).outcomes.query("key == 'rodriguez2013'")
    assert rows["responders"].tolist() == [4, 1]


def test_set_one_key_of_a_claim_and_of_a_risk_of_bias_row(bib: Path, studies_text: str) -> None:
    reason = "the article's 83% is of all participants; the arm's own rate agrees"
    set_entry(bib, "sourcearticle", {"claims.4.verdict": "supported", "claims.4.reason": reason})
    after = bib.read_text(encoding="utf-8")
    changed = _lines_changed(studies_text, after)
    assert len(changed) == 1 and changed[0][0].lstrip().startswith("id=C4;")
    # a value with a semicolon is braced
    assert changed[0][1] == f"{changed[0][0]}; verdict=supported; reason={{{reason}}}"
    claim = next(c for c in evidence.check_claims(evidence.load(bib)) if c.id == "C4")
    assert (claim.override, claim.reason) == ("supported", reason)

    set_entry(bib, "taylor2018", {"rob.1.judgement": "low"})
    changed = _lines_changed(after, bib.read_text(encoding="utf-8"))
    assert len(changed) == 1 and "domain=D1" in changed[0][0]
    assert changed[0][1] == changed[0][0].replace("judgement=no information", "judgement=low")


def test_set_refuses_an_invalid_claim_verdict(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as info:
        set_entry(bib, "sourcearticle", {"claims.4.verdict": "maybe", "claims.4.reason": "x"})
    assert [p.field for p in info.value.problems] == ["claims.verdict"]
    assert bib.read_bytes() == before


def test_set_refuses_invalid_values_and_writes_nothing(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as info:
        set_entry(bib, "rodriguez2013", {"outcomes.1.responders": "9", "route": "intravenous"})
    messages = [p.message for p in info.value.problems]
    assert "responders=9 exceeds n=8" in messages
    assert "unknown value 'intravenous'; did you mean 'IV'?" in messages
    assert bib.read_bytes() == before


@pytest.mark.parametrize(
    ("key", "values", "message"),
    [
        pytest.param("nope", {"title": "x"}, "no entry with key 'nope'", id="unknown-key"),
        pytest.param("glue2017", {"outcomes.5.n": "3"}, "no outcomes row 5", id="no-row"),
        pytest.param("sourcearticle", {"claims.8.year": "3"}, "no claims row 8", id="no-claim"),
        pytest.param("glue2017", {"rob.1.judgement": "low"}, "has no rob field", id="no-rob"),
        pytest.param("taylor2018", {"rob.x.judgement": "low"}, "expected rob.N.KEY", id="bad-rob"),
        pytest.param("tully2022", {"outcomes.1.n": "3"}, "has no outcomes field", id="no-rows"),
        pytest.param("glue2017", {"outcomes.x.n": "3"}, "expected outcomes.N.KEY", id="bad-row"),
        pytest.param("glue2017", {"title": "Bad {"}, "unbalanced braces", id="braces"),
        pytest.param(
            "glue2017",
            {"title": "Set a\\{b"},
            "title: unbalanced braces: the last { of 'Set a\\\\{' is never closed",
            id="escaped-open-brace",
        ),
        pytest.param(
            "glue2017",
            {"title": "a\\}b"},
            "title: unbalanced braces: the last } of 'a\\\\}' closes no group",
            id="escaped-close-brace",
        ),
    ],
)
def test_set_errors(bib: Path, key: str, values: dict, message: str) -> None:
    before = bib.read_bytes()
    with pytest.raises(EditError, match=message):
        set_entry(bib, key, values)
    assert bib.read_bytes() == before


def test_set_escaped_brace_is_refused_as_the_readme_shows(bib: Path) -> None:
    """BibTeX counts a brace after a backslash too, so `a\\{b` would run on into the next
    entries (pybtex: "'}' expected"); the refusal is one line naming the field and what to
    write, exactly as the README shows it, and nothing is written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ evidence set glue2017 'title=Set a\\{b'\n", 1)[1].split("\n```", 1)[0]
    before = bib.read_bytes()
    result = CliRunner().invoke(main, ["set", "glue2017", "title=Set a\\{b", "--bib", str(bib)])
    assert result.exit_code == 1
    assert result.stderr == shown.replace("studies.bib:", f"{bib}:") + "\n"
    assert bib.read_bytes() == before
    set_entry(bib, "glue2017", {"title": "Sets \\{x, y\\} of {\\textbraceleft} scales"})
    assert evidence.load(bib).problems == []


def test_set_unset_and_dry_run(bib: Path) -> None:
    before = bib.read_bytes()
    result = set_entry(bib, "glue2017", {}, unset=["pmid"], dry_run=True)
    assert bib.read_bytes() == before and not result.written
    assert "-  pmid = {28441895},\n" in result.diff()
    set_entry(bib, "glue2017", {}, unset=["pmid"])
    assert "pmid = {28441895}" not in bib.read_text(encoding="utf-8")


def test_set_refuses_when_file_changed_meanwhile(bib: Path, monkeypatch) -> None:
    import evidence.editing as editing

    real = editing.parse_bib

    def sneaky(text, path):
        bib.write_text(bib.read_text(encoding="utf-8") + "\n% someone else\n", encoding="utf-8")
        return real(text, path)

    monkeypatch.setattr(editing, "parse_bib", sneaky)
    with pytest.raises(EditError, match="changed on disk since it was read"):
        set_entry(bib, "glue2017", {"n_enrolled": "13"})
    assert "% someone else" in bib.read_text(encoding="utf-8")


def test_cli_set(bib: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["set", "glue2017", "n_enrolled=13", "--bib", str(bib)])
    assert ok.exit_code == 0 and ok.stderr == f"{bib}: glue2017: updated n_enrolled\n"
    bad = runner.invoke(main, ["set", "glue2017", "n_enrolled=lots", "--bib", str(bib)])
    assert bad.exit_code == 1
    assert bad.stderr.splitlines()[-1] == "Error: 1 error(s); nothing was written"
    assert "n_enrolled: 'lots' is not an integer" in bad.stderr
    assert runner.invoke(main, ["set", "glue2017", "--bib", str(bib)]).exit_code == 2


_NAMES = st.sampled_from(["note", "rating", "n_enrolled", "x-flag", "population", "dose"])


_VALUES = st.one_of(
    st.from_regex(r"[A-Za-z0-9 .,()\-]{0,30}", fullmatch=True),
    st.integers(0, 500).map(str),
    st.none(),
)


_ADD = st.tuples(st.just("add"), st.integers(0, 10**6), st.sampled_from(["GAD", "PTSD", "OCD"]))


_SET = st.tuples(st.integers(0, 15), _NAMES, _VALUES)


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.one_of(_SET, _ADD), min_size=1, max_size=6))
def test_random_edit_sequences_keep_untouched_entries(tmp_path: Path, steps) -> None:
    """Random sequences of add / set / unset: every untouched entry keeps its exact bytes,
    every touched entry holds exactly the requested values, and nothing else is lost."""
    path = tmp_path / "seq.bib"
    shutil.copy(ROOT / "studies.bib", path)
    original = read_bib(path)
    raws = {e.key: e.raw for e in original.library.entries}
    keys = list(raws)
    expected: dict[str, dict[str, str | None]] = {}
    added: list[str] = []
    for step in steps:
        try:
            if step[0] == "add":
                _, number, condition = step
                snippet = tmp_path / "new.bib"
                snippet.write_text(
                    f"@article{{new{number},\n  author = {{Zed, Q.}},\n"
                    f"  title = {{Study number {number}}},\n  journal = {{J}},\n"
                    f"  year = {{2024}},\n  doi = {{10.5555/n.{number}}},\n"
                    f"  conditions = {{{condition}}},\n}}\n",
                    encoding="utf-8",
                )
                result = add_entries(path, [snippet])
                added.extend(k for k, _ in result.added)
                continue
            index, name, value = step
            key = keys[index]
            if value is None:
                set_entry(path, key, {}, unset=[name])
            else:
                set_entry(path, key, {name: value})
        except ValidationError:
            continue  # refused (e.g. a duplicate, or n_enrolled below an arm's n): no write
        expected.setdefault(key, {})[name] = value
    doc = read_bib(path)
    for entry in doc.library.entries:
        if entry.key in added:
            continue
        if entry.key not in expected:
            assert entry.raw == raws[entry.key]
        else:
            fields = {f.key.lower(): f.value for f in entry.fields}
            for name, value in expected[entry.key].items():
                assert fields.get(name) == value
    assert [e.key for e in doc.library.entries] == keys + added
    assert [b.raw for b in doc.library.strings] == [b.raw for b in original.library.strings]
    assert [b.raw for b in doc.library.comments] == [b.raw for b in original.library.comments]
    assert not doc.library.failed_blocks


def test_set_refuses_two_spellings_of_one_field(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(EditError, match="field 'pages' given twice"):
        set_entry(bib, "glue2017", {"pages": "1", "PAGES": "1--2"})
    assert bib.read_bytes() == before


def test_an_edit_that_breaks_another_entry_is_refused(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as info:
        set_entry(bib, "glue2017", {"doi": "10.1089/jpm.2012.0617"})  # irwin2013's DOI
    assert "also on entry" in str(info.value.problems[0])
    assert bib.read_bytes() == before


def test_existing_errors_do_not_block_unrelated_fixes(tmp_path: Path) -> None:
    path = tmp_path / "many.bib"
    shutil.copy(ROOT / "tests" / "data" / "invalid" / "many-problems.bib", path)
    result = set_entry(path, "Quist2019", {"doi": "10.5555/jad.2019"})
    assert result.written
    messages = [p.message for p in evidence.load(path).errors]
    assert not any("malformed DOI" in m for m in messages)


def test_outcome_row_edit_keeps_crlf(tmp_path: Path) -> None:
    path = tmp_path / "crlf.bib"
    shutil.copy(ROOT / "tests" / "data" / "styles" / "crlf.bib", path)
    lines = path.read_bytes().count(b"\n")
    set_entry(path, "Kowalski2018", {"outcomes.1.n": "5"})
    data = path.read_bytes()
    assert data.count(b"\r\n") == data.count(b"\n") == lines


def test_write_goes_through_a_symlink(bib: Path) -> None:
    real = bib.with_name("real.bib")
    bib.rename(real)
    bib.symlink_to(real)
    set_entry(bib, "glue2017", {"volume": "32"})
    assert bib.is_symlink()
    assert "volume = {32}" in real.read_text(encoding="utf-8")


def test_set_keeps_cr_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "cr.bib"
    shutil.copy(CR_FILE, path)
    before = path.read_bytes()
    key = evidence.load(path).records[0].key
    set_entry(path, key, {"note": "Checked", "outcomes.2.time": "2 weeks"}, ["month"])
    after = path.read_bytes()
    assert b"\n" not in after
    # the same edit of the CRLF twin, with CRLF turned into CR, gives the same bytes
    twin = tmp_path / "crlf.bib"
    shutil.copy(CRLF_FILE, twin)
    set_entry(twin, key, {"note": "Checked", "outcomes.2.time": "2 weeks"}, ["month"])
    assert after_first_line(after) == after_first_line(twin.read_bytes().replace(b"\r\n", b"\r"))
    assert after != before and b"note = {Checked}," in after
    assert evidence.load(path).problems == []


@pytest.mark.parametrize(
    ("name", "accepted"),
    [
        pytest.param("_x", True, id="leading-underscore"),
        pytest.param("x-reviewer", True, id="hyphen"),
        pytest.param("tex.design", True, id="dot"),
        pytest.param("1x", False, id="leading-digit"),
        pytest.param("a b", False, id="space"),
    ],
)
def test_one_field_name_rule_for_validate_set_and_add(
    bib: Path, tmp_path: Path, name: str, accepted: bool
) -> None:
    """What validate accepts, set writes and add imports, and the other way round."""
    from evidence.importers import ImportedRecord, render_entry

    record = ImportedRecord("misc", {"title": "T", name: "v"}, None, "x")
    if accepted:
        set_entry(bib, "glue2017", {name: "v"})
        assert not [p for p in evidence.load(bib).problems if p.key == "glue2017"]
        assert f"  {name} = {{v}}," in render_entry(record, "k")
    else:
        with pytest.raises(EditError, match="is not a valid BibTeX field name"):
            set_entry(bib, "glue2017", {name: "v"})
        with pytest.raises(evidence.EvidenceError, match="is not a valid BibTeX field name"):
            render_entry(record, "k")
    text = f"@misc{{k,\n  title = {{T}},\n  {name} = {{v}},\n}}\n"
    codes = [p.code for p in evidence.loads(text).problems]
    assert (codes == []) if accepted else ("field.name" in codes or "syntax" in codes)


def test_missing_file_is_refused_without_leaving_a_lock(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such.bib"
    result = CliRunner().invoke(main, ["set", "k", "note=x", "--bib", str(missing)])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing}: no such file\n"
    assert list(tmp_path.iterdir()) == []


def test_a_byte_that_is_not_utf8_on_the_command_line_is_refused(bib: Path) -> None:
    """Python reads such a byte of an argument as a lone surrogate (surrogateescape), which no
    file can hold: an error naming it, not a traceback from the writer."""
    before = bib.read_bytes()
    result = CliRunner().invoke(
        main, ["set", "glue2017", "title=bad \udcff byte", "--bib", str(bib)]
    )
    assert result.exit_code == 1
    line = read_bib(bib).library.entries_dict["glue2017"].fields_dict["title"].start_line + 1
    assert result.stderr.splitlines() == [
        f"{bib}:{line}: glue2017: title: U+DCFF, a lone surrogate (no character: a byte that is "
        "not UTF-8 on the command line, or a lone \\u escape in JSON), in the field value; "
        "remove it",
        "Error: 1 error(s); nothing was written",
    ]
    assert bib.read_bytes() == before


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("@misc{m1}", "@misc{m1,\n  note = {x},\n}"),
        ("@misc(m1)", "@misc(m1,\n  note = {x},\n)"),
        ("@misc{m1,}", "@misc{m1,\n  note = {x},\n}"),
        ("@misc{m1,\n}", "@misc{m1,\n  note = {x},\n}"),
        ("@misc{ m1 }", "@misc{ m1 ,\n  note = {x},\n}"),
    ],
    ids=["braces", "parentheses", "comma", "comma-newline", "spaces"],
)
def test_set_on_an_entry_without_fields_puts_the_field_inside_it(tmp_path, entry, expected):
    """Before, ``@misc{m1}`` took the closing brace for part of its key: the field was written
    after the entry, as loose text, and the command said it had set it."""
    path = tmp_path / "m.bib"
    path.write_text(f"% before\n{entry}\n\n@misc{{other, note = {{y}}}}\n", encoding="utf-8")
    result = set_entry(path, "m1", {"note": "x"})
    assert result.written
    text = path.read_text(encoding="utf-8")
    assert text == f"% before\n{expected}\n\n@misc{{other, note = {{y}}}}\n"
    entries = {e.key: dict(e.fields_dict) for e in read_bib(path).library.entries}
    assert entries["m1"]["note"].value == "x"


@pytest.mark.parametrize("value", ["ends with \\\\", "C:\\dir\\"], ids=["line-break", "path"])
def test_set_refuses_a_value_ending_in_a_backslash_and_says_what_to_write(bib: Path, value):
    """bibtexparser would take the closing brace for text and read the next entry into the
    value; said so, with what to write instead, and nothing written."""
    before = bib.read_bytes()
    with pytest.raises(EditError) as raised:
        set_entry(bib, "glue2017", {"note": value})
    message = str(raised.value)
    assert ": glue2017: note: a value may not end in a backslash" in message
    assert "\\newline for a line break, \\textbackslash{} for a backslash" in message
    assert bib.read_bytes() == before


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "@article{dup2021,\n  title = {First},\n  year = {2021},\n  title = {Second},\n}\n",
            "{path}:1: dup2021: field(s) title appear more than once in the entry",
        ),
        (
            "@article{dup2021,\n  title = {Line\\\\},\n  year = {2021},\n}\n\n@misc{b, note={x}}\n",
            "{path}:1: dup2021: BibTeX syntax error: ",
        ),
    ],
    ids=["field-twice", "syntax-error"],
)
def test_set_on_an_entry_bibtexparser_could_not_read_says_why(tmp_path, entry, message):
    """Not "no entry with key": the entry is there, and the error says what stops the edit."""
    path = tmp_path / "d.bib"
    path.write_text(entry, encoding="utf-8")
    with pytest.raises(EditError) as raised:
        set_entry(path, "dup2021", {"title": "New"})
    assert str(raised.value).startswith(message.format(path=path))
    assert str(raised.value).endswith("; fix it by hand first (the entry cannot be edited)")
    assert path.read_text(encoding="utf-8") == entry


@pytest.mark.parametrize(
    ("entry", "unset", "expected"),
    [
        ("@misc{m1, note = {a},\n  title = {T},\n}", "note", "@misc{m1,\n  title = {T},\n}"),
        (
            "@misc{m1, note = {a}, year = {2000},\n  title = {T},\n}",
            "year",
            "@misc{m1, note = {a},\n  title = {T},\n}",
        ),
        (
            "@misc{m1, note = {a}, year = {2000},\n  title = {T},\n}",
            "note",
            "@misc{m1, year = {2000},\n  title = {T},\n}",
        ),
    ],
    ids=["head-line-alone", "head-line-last", "head-line-first"],
)
def test_unset_of_a_field_sharing_a_line_leaves_no_trailing_space(tmp_path, entry, unset, expected):
    path = tmp_path / "u.bib"
    path.write_text(f"{entry}\n", encoding="utf-8")
    set_entry(path, "m1", {}, unset=[unset])
    assert path.read_text(encoding="utf-8") == f"{expected}\n"
