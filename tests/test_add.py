"""`evidence add` (evidence.editing.add_entries): appending references from exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.cli import main
from evidence.comparison import compare
from evidence.editing import add_entries
from evidence.errors import ValidationError

from .conftest import CR_FILE, ROOT

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


def test_add_refuses_a_value_whose_braces_bibtex_would_not_pair(bib: Path, tmp_path: Path) -> None:
    # bibtexparser reads `\{` as text, BibTeX as an opening brace: appended as it is, the
    # entry would run on into whatever follows it for BibTeX and pybtex
    source = tmp_path / "new.bib"
    source.write_text(NEW_STUDY.replace("an open-label pilot", "a\\{b"), encoding="utf-8")
    before = bib.read_bytes()
    result = CliRunner().invoke(main, ["add", str(source), "--bib", str(bib)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{source}:1: newman2024: title: unbalanced braces: the last {{ of "
        "'...r panic disorder: a\\{' is never closed (BibTeX counts every brace, backslash or not) "
        "(allowed: braces in pairs, {...} or \\{...\\}, and a lone brace as {\\textbraceleft} "
        "or {\\textbraceright})\nError: 1 error(s); nothing was written\n"
    )
    assert bib.read_bytes() == before


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


def test_add_treats_keys_case_insensitively(bib: Path, tmp_path: Path) -> None:
    snippet = tmp_path / "snip.bib"
    snippet.write_text(
        "@article{GLUE2017,\n  author = {Glue, Paul},\n  title = {A different study},\n"
        "  journal = {J},\n  year = {2017},\n}\n",
        encoding="utf-8",
    )
    result = add_entries(bib, [snippet])
    assert [key for key, _ in result.added] == ["glue2017different"]
    assert not evidence.load(bib).errors


def test_add_to_cr_only_file_appends_with_cr(tmp_path: Path) -> None:
    path = tmp_path / "cr.bib"
    shutil.copy(CR_FILE, path)
    before = path.read_bytes()
    snippet = tmp_path / "new.bib"
    snippet.write_text(
        "@article{new2024,\n  author = {New, A.},\n  title = {T},\n  journal = {J},\n"
        "  year = {2024},\n}\n",
        encoding="utf-8",
    )
    add_entries(path, [snippet])
    after = path.read_bytes()
    assert after.startswith(before) and b"\n" not in after
    assert b"\r@article{new2024,\r  author = {New, A.},\r" in after


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_lone_surrogate_escape_in_json_is_refused(bib: Path, tmp_path: Path, dry_run) -> None:
    source = tmp_path / "lone.json"
    source.write_text(
        '[{"title": "Lone \\ud800 half", "type": "article-journal", "container-title": "J",'
        ' "author": [{"family": "Sato", "given": "A"}], "issued": {"date-parts": [[2020]]}}]',
        encoding="ascii",
    )
    before = bib.read_bytes()
    args = ["add", str(source), "--bib", str(bib), *(["--dry-run"] if dry_run else [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    problem, summary = result.stderr.splitlines()
    assert problem.endswith(
        ": sato2020lone: title: U+D800, a lone surrogate (no character: a byte that is not "
        "UTF-8 on the command line, or a lone \\u escape in JSON), in the field value; remove it"
    )
    assert summary == "Error: 1 error(s); nothing was written"
    assert bib.read_bytes() == before


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "one.json",
            '[{"id": "z1", "type": "article-journal", "title": "T", "container-title": "J",'
            ' "author": [{"family": "Aa", "given": "B"}], "issued": {"date-parts": [[2020]]},'
            ' "DOI": "10.1/x"}]\n',
            "one.json#1: z1",
        ),
        (
            "s.ris",
            "TY  - JOUR\nAU  - Roe, R\nTI  - A trial\nJO  - J\nPY  - 2020\nDO  - 10.1/x\nER  - \n",
            "s.ris:1: roe2020trial",
        ),
    ],
    ids=["csl-json", "ris"],
)
def test_a_new_entrys_problem_is_placed_in_its_source(tmp_path: Path, name, text, where) -> None:
    """Not at a line of the .bib that, nothing written, it does not have."""
    bib = tmp_path / "t.bib"
    bib.write_text("@article{k1,\n  author = {A, B},\n  title = {One},\n}\n", encoding="utf-8")
    source = tmp_path / name
    source.write_text(text, encoding="utf-8")
    before = bib.read_bytes()
    with pytest.raises(ValidationError) as raised:
        add_entries(bib, [source])
    assert [str(p) for p in raised.value.problems] == [
        f"{where}: doi: malformed DOI '10.1/x' (allowed: 10.NNNN/suffix)"
    ]
    assert bib.read_bytes() == before
