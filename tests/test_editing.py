"""The editing workflow: set, fmt, diff, duplicates (evidence.editing, .formatting,
.comparison, .duplicates) and their commands."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evidence
from evidence.bib import parse_bib, read_bib
from evidence.cli import main
from evidence.comparison import compare
from evidence.duplicates import find_duplicates, identity
from evidence.editing import add_entries, set_entry
from evidence.errors import EditError, ValidationError
from evidence.formatting import format_document

from .conftest import ROOT, STYLES


@pytest.fixture
def bib(tmp_path: Path) -> Path:
    """A copy of the bundled base with its protocol (the pyproject.toml beside it)."""
    path = tmp_path / "studies.bib"
    shutil.copy(ROOT / "studies.bib", path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return path


def _lines_changed(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


# --------------------------------------------------------------------------- set


def test_set_changes_only_the_field_line(bib: Path) -> None:
    before = bib.read_text(encoding="utf-8")
    result = set_entry(bib, "glue2017", {"n_enrolled": "13"})
    assert result.written
    assert _lines_changed(before, bib.read_text(encoding="utf-8")) == [
        ("  n_enrolled = {12},", "  n_enrolled = {13},")
    ]


def test_set_one_key_of_an_outcome_row(bib: Path) -> None:
    before = bib.read_text(encoding="utf-8")
    set_entry(bib, "rodriguez2013", {"outcomes.2.responders": "1"})
    changed = _lines_changed(before, bib.read_text(encoding="utf-8"))
    assert len(changed) == 1
    old, new = changed[0]
    assert "arm=placebo" in old and old.replace("responders=0", "responders=1") == new
    rows = evidence.load(bib).outcomes.query("key == 'rodriguez2013'")
    assert rows["responders"].tolist() == [4, 1]


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
        pytest.param("glue2017", {"outcomes.5.n": "3"}, "no outcome row 5", id="no-row"),
        pytest.param("tully2022", {"outcomes.1.n": "3"}, "has no outcomes field", id="no-rows"),
        pytest.param("glue2017", {"outcomes.x.n": "3"}, "expected outcomes.N.KEY", id="bad-row"),
        pytest.param("glue2017", {"title": "Bad {"}, "unbalanced braces", id="braces"),
    ],
)
def test_set_errors(bib: Path, key: str, values: dict, message: str) -> None:
    before = bib.read_bytes()
    with pytest.raises(EditError, match=message):
        set_entry(bib, key, values)
    assert bib.read_bytes() == before


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


# ----------------------------------------------- property: random add/set/unset sequences

_NAMES = st.sampled_from(["note", "rating", "n_enrolled", "x-flag", "population", "dose"])
_VALUES = st.one_of(
    st.from_regex(r"[A-Za-z0-9 .,()\-]{0,30}", fullmatch=True),
    st.integers(0, 500).map(str),
    st.none(),
)


_ADD = st.tuples(st.just("add"), st.integers(0, 10**6), st.sampled_from(["GAD", "PTSD", "OCD"]))
_SET = st.tuples(st.integers(0, 15), _NAMES, _VALUES)


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


# --------------------------------------------------------------------------- fmt


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


# --------------------------------------------------------------------------- diff


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
    assert set(moved) == {"obsessive-compulsive", "obsessive-compulsive · OCD"}
    ocd = moved["obsessive-compulsive · OCD"]
    assert ocd["old_text"] == "50.0% [20.0% to 80.0%], k = 1"
    assert ocd["new"]["estimate"] == pytest.approx(5 / 8)


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


# --------------------------------------------------------------------------- duplicates


def test_duplicates_by_doi_pmid_and_title() -> None:
    fields = {
        "a": {
            "doi": "10.1/X",
            "title": "Ketamine for OCD",
            "year": "2013",
            "author": "Rodriguez, C",
        },
        "b": {"doi": "https://doi.org/10.1/x", "title": "Other", "year": "2013", "author": "Z, Z"},
        "c": {"pmid": "123", "title": "One", "year": "2012", "author": "Bloch, M"},
        "d": {"pmid": "123", "title": "Two", "year": "2019", "author": "Q, Q"},
        "e": {
            "title": "Ketamine for {OCD}: a trial",
            "year": "2013",
            "author": "Rodr{\\'i}guez, C.",
        },
        "f": {
            "title": "Ketamine for OCD, a trial.",
            "year": "2013",
            "author": "Rodriguez, Carolyn",
        },
        "g": {"title": "Ketamine for OCD, a trial.", "year": "2014", "author": "Rodriguez, C"},
    }
    found = find_duplicates(identity(k, v) for k, v in fields.items())
    assert [(d.key, d.of, d.reason) for d in found] == [
        ("b", "a", "doi"),
        ("d", "c", "pmid"),
        ("f", "e", "title"),
    ]


def test_cli_duplicates() -> None:
    runner = CliRunner()
    clean = runner.invoke(main, ["duplicates", str(ROOT / "studies.bib")])
    assert clean.exit_code == 0 and clean.stdout == ""
    dup = runner.invoke(main, ["duplicates", str(ROOT / "tests/data/invalid/same-doi.bib")])
    assert dup.exit_code == 1
    assert dup.stdout == "Nielsen2021b duplicates Nielsen2021: same DOI\n"


# --------------------------------------------------------------------------- add

IMPORTS = ROOT / "tests" / "data" / "imports"
NEW_STUDY = """@article{newman2024,
  author = {Newman, Ada and Ortiz, Bo},
  title = {Ketamine for panic disorder: an open-label pilot},
  journal = {Journal of Psychopharmacology},
  year = {2024},
  doi = {10.5555/jp.2024.0001},
}
"""


def test_add_bib_snippet_appends_only(bib: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "new.bib"
    snippet.write_text(NEW_STUDY, encoding="utf-8")
    before = bib.read_text(encoding="utf-8")
    result = add_entries(bib, [snippet])
    after = bib.read_text(encoding="utf-8")
    assert after.startswith(before)
    assert after[len(before) :] == "\n" + NEW_STUDY
    assert result.added == (("newman2024", "new.bib:1"),)


def test_add_refuses_duplicates_with_the_key(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as info:
        add_entries(bib, [IMPORTS / "pubmed.nbib"])
    assert str(info.value.problems[0]) == (
        "pubmed.nbib:2: glue2017ketamines: same DOI as entry 'glue2017'; "
        "use --merge (two entries with one DOI or PMID never validate)"
    )
    assert len(info.value.problems) == 4
    assert bib.read_bytes() == before


def test_add_merge_adds_only_missing_fields(bib: Path) -> None:
    before = evidence.load(bib)
    result = add_entries(bib, [IMPORTS / "pubmed.nbib"], on_duplicate="merge")
    assert ("irwin2013", "pubmed.nbib:25", ("abstract",)) in result.merged
    after = evidence.load(bib)
    assert compare(before, after).changed_keys == ("irwin2013",)
    assert [r.key for r in after.records] == [r.key for r in before.records]


def test_add_title_duplicate_can_be_forced(bib: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin.bib"
    twin.write_text(
        "@article{x,\n  author = {Rodriguez, Carolyn I.},\n  title = {Randomized controlled "
        "crossover trial of ketamine in obsessive compulsive disorder: proof of concept},\n"
        "  journal = {Neuropsychopharmacology},\n  year = {2013},\n}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="1 error"):
        add_entries(bib, [twin])
    result = add_entries(bib, [twin], on_duplicate="add")
    assert result.added == (("x", "twin.bib:1"),)


@pytest.mark.parametrize(
    ("source", "keys"),
    [
        pytest.param("embase.ris", ["example2024fictional"], id="ris-new-study-only"),
        pytest.param("zotero.json", [], id="csl-all-known"),
    ],
)
def test_add_new_records_from_exports(bib: Path, source: str, keys: list[str]) -> None:
    result = add_entries(bib, [IMPORTS / source], on_duplicate="merge")
    assert [k for k, _ in result.added] == keys
    assert not evidence.load(bib).errors


def test_add_malformed_refused_unless_skip_invalid(bib: Path) -> None:
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as info:
        add_entries(bib, [IMPORTS / "malformed.ris"])
    assert all(p.file.endswith("malformed.ris") for p in info.value.problems)
    assert bib.read_bytes() == before
    # with --skip-invalid the malformed records are skipped and the remaining one is
    # validated like any edit: it has no journal, so the import is still refused
    with pytest.raises(ValidationError) as info:
        add_entries(bib, [IMPORTS / "malformed.ris"], skip_invalid=True)
    assert [p.message for p in info.value.problems] == ["missing required field for @article"]
    assert bib.read_bytes() == before


def test_cli_add_dry_run_and_unknown_format(bib: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "new.bib"
    snippet.write_text(NEW_STUDY, encoding="utf-8")
    runner = CliRunner()
    dry = runner.invoke(main, ["add", str(snippet), "--bib", str(bib), "--dry-run"])
    assert dry.exit_code == 0
    assert "+@article{newman2024," in dry.stdout
    assert "would add newman2024 (from new.bib:1)" in dry.stderr
    bad = runner.invoke(main, ["add", str(IMPORTS / "unknown.txt"), "--bib", str(bib)])
    assert bad.exit_code == 1
    assert "not a reference file this can import" in bad.stderr
    both = runner.invoke(main, ["add", str(snippet), "--merge", "--force", "--bib", str(bib)])
    assert both.exit_code == 2


# ------------------------------------------------------- regressions found in review


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


def test_comment_inside_an_entry_is_reported_not_dropped(tmp_bib) -> None:
    text = (
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020}, % online 2019\n  volume = {3},\n  design = {rct-parallel},\n}\n"
    )
    path = tmp_bib(text)
    problems = [str(p) for p in evidence.load(path).errors]
    assert problems == [
        f"{path}:6: k1: % online 2019 volume: malformed field name (a % comment or stray "
        "text inside an entry is not BibTeX; comments go between entries)"
    ]
    with pytest.raises(EditError, match=r":1: k1: cannot read the fields of this entry near"):
        set_entry(path, "k1", {"volume": "4"})
    with pytest.raises(EditError):
        format_document(read_bib(path))
    assert path.read_text(encoding="utf-8") == text


def test_missing_comma_between_fields_is_an_error(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020},\n  volume = {3}\n  pages = {1--2},\n}\n"
    )
    problems = [str(p).split(": ", 1)[1] for p in evidence.load(path).errors]
    assert problems == ["k1: volume: malformed value (a missing comma between two fields?)"]


def test_field_names_differing_in_case_are_duplicates(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n"
        "  year = {2020},\n  design = {single-arm},\n  Design = {bogus},\n}\n"
    )
    problems = [str(p).split(": ", 1)[1] for p in evidence.load(path).errors]
    assert problems[0] == (
        "k1: Design: field 'design' appears more than once in the entry (first on line 6)"
    )


def test_undefined_macro_is_a_warning(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = jpx,\n  year = 2020,\n}\n"
    )
    base = evidence.load(path)
    assert not base.errors
    assert [p.message for p in base.warnings] == ["undefined macro 'jpx' (no @string defines it)"]


def test_outcome_rows_counted_from_the_opening_brace(tmp_bib) -> None:
    path = tmp_bib(
        "@article{k1,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2020,\n"
        "  arms = {ketamine},\n  outcomes =\n  {arm=ketamine; n=3\n   arm=ketamine; n=x\n  },\n}\n"
    )
    assert [p.line for p in evidence.load(path).errors] == [9]


def test_cli_one_line_errors_instead_of_tracebacks(bib: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    out = runner.invoke(main, ["build", str(bib), "--out", str(afile)])
    assert out.exit_code == 1 and "exists and is not a folder" in out.stderr
    outside = runner.invoke(main, ["diff", "--rev", "HEAD", "--bib", str(bib)])
    assert outside.exit_code == 1 and outside.stderr.startswith("Error: ")
    usage = runner.invoke(main, ["set", "glue2017", "title", "--bib", str(bib)])
    assert usage.exit_code == 2 and "expected FIELD=VALUE" in usage.stderr
    for result in (out, outside, usage):
        assert "Traceback" not in result.output


def test_add_bib_snippet_keeps_concatenations_and_outcome_rows(bib: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "snip.bib"
    snippet.write_text(
        '@string{pt = "Part one"}\n'
        "@article{concat2024,\n  author = {Zed, Q.},\n  title = pt # { and two},\n"
        "  journal = {J},\n  year = {2024},\n  arms = {ketamine},\n  outcomes = {\n"
        "    arm=ketamine; responders=2; n=4\n    arm=ketamine; responders=3; n=4\n  },\n}\n",
        encoding="utf-8",
    )
    add_entries(bib, [snippet])
    base = evidence.load(bib)
    row = base.studies.set_index("key").loc["concat2024"]
    assert row["title"] == "Part one and two"
    assert base.outcomes.query("key == 'concat2024'")["responders"].tolist() == [2, 3]


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


def test_fmt_lays_out_rob_rows_like_outcomes() -> None:
    doc = parse_bib(
        "@article{k, rob_tool = {RoB2}, rob = {domain=D1; judgement=low\n"
        "        domain=overall; judgement=low}, year = 2020}\n"
    )
    assert format_document(doc).text == (
        "@article{k,\n  year = 2020,\n  rob_tool = {RoB2},\n  rob = {\n"
        "    domain=D1; judgement=low\n    domain=overall; judgement=low\n  },\n}\n"
    )
