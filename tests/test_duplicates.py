"""evidence.duplicates and `evidence duplicates`: same DOI, PMID or near-identical title; the
indexed title search finds exactly what comparing every pair finds."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner
from rapidfuzz import fuzz

from evidence.base import validate
from evidence.cli import main
from evidence.duplicates import (
    IDENTITY_FIELDS,
    TITLE_THRESHOLD,
    Duplicate,
    StudyIdentity,
    find_duplicates,
    identity,
    match,
)

from .conftest import ROOT


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


def _pairwise(
    candidates: list[StudyIdentity], existing: list[StudyIdentity] = ()
) -> list[Duplicate]:
    """The rule written as plainly as possible: compare each candidate with everything before
    it, DOI first, then PMID, then title (near-identical with the same year and first author;
    identical where either is missing)."""
    seen = list(existing)
    found = []
    for cand in candidates:
        dup = None
        for reason in ("doi", "pmid"):
            value = getattr(cand, reason)
            other = next((o for o in seen if value and getattr(o, reason) == value), None)
            if other is not None:
                dup = Duplicate(cand.key, other.key, reason)
                break
        if dup is None and cand.title:
            for other in seen:
                if (other.year, other.first_author) != (cand.year, cand.first_author):
                    continue
                if not (cand.year and cand.first_author):
                    score = 100.0 if other.title == cand.title else 0.0
                else:
                    score = fuzz.ratio(cand.title, other.title) if other.title else 0.0
                if score >= TITLE_THRESHOLD:
                    dup = Duplicate(cand.key, other.key, "title", score)
                    break
        if dup is not None:
            found.append(dup)
        seen.append(cand)
    return found


def test_match_applies_the_same_rule_to_one_pair() -> None:
    idents = _identities(7, 300, 4)
    for i, a in enumerate(idents[1:], start=1):
        for b in idents[:i]:
            expected = _pairwise([a], [b])
            assert ([m] if (m := match(a, b)) else []) == expected


_WORDS = [
    "ketamine", "esketamine", "anxiety", "depression", "randomised", "trial", "of", "for",
    "in", "the", "a", "and", "with", "response", "rapid", "effects", "pilot", "study",
    "placebo", "controlled", "dose", "treatment", "resistant",
]  # fmt: skip


def _mutate(rng: random.Random, title: str, edits: int) -> str:
    chars = list(title)
    for _ in range(edits):
        op = rng.random()
        at = rng.randrange(len(chars) + 1)
        if op < 0.4 and chars:
            del chars[min(at, len(chars) - 1)]
        elif op < 0.8:
            chars.insert(at, rng.choice("abcdefghijklmnopqrstuvwxyz0123456789 "))
        elif chars:
            chars[min(at, len(chars) - 1)] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars).strip()


def _identities(seed: int, n: int, blocks: int) -> list[StudyIdentity]:
    """Titles from few words, many near-copies (0-9 edits: on both sides of the threshold),
    a few very short titles, and few (year, author) blocks so that most are indexed."""
    rng = random.Random(seed)
    originals: list[tuple[str, int]] = []
    out = []
    for i in range(n):
        block = rng.randrange(blocks)
        if originals and rng.random() < 0.5:  # a near copy, mostly in its original's block
            title, at = rng.choice(originals)
            title = _mutate(rng, title, rng.randrange(10))
            block = at if rng.random() < 0.8 else block
        elif rng.random() < 0.05:
            title = rng.choice(["", "a", "ab", "abc", "ket", "x y"])
        else:
            title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(2, 12)))
            originals.append((title, block))
        year = "" if block == 0 else str(2000 + block % 5)
        author = "" if block in (0, 1) else f"author{block % 3}"
        doi = f"10.1/{rng.randrange(n * 4)}" if rng.random() < 0.3 else ""
        pmid = str(rng.randrange(n * 4)) if rng.random() < 0.3 else ""
        out.append(StudyIdentity(f"k{i}", doi, pmid, title, year, author))
    return out


@pytest.mark.parametrize(
    ("seed", "n", "blocks"),
    [
        pytest.param(1, 600, 1, id="one-block-no-year-no-author"),
        pytest.param(2, 900, 3, id="three-blocks"),
        pytest.param(3, 400, 12, id="small-blocks-brute-force"),
        pytest.param(4, 1500, 2, id="large"),
    ],
)
def test_same_result_as_comparing_every_pair(seed: int, n: int, blocks: int) -> None:
    idents = _identities(seed, n, blocks)
    expected = _pairwise(idents)
    titles = [d for d in expected if d.reason == "title"]  # the test has teeth:
    assert len(titles) > n // 25
    assert blocks < 3 or sum(d.score < 100 for d in titles) > n // 50
    assert find_duplicates(idents) == expected
    # existing entries first, then candidates: the same answers for the candidates
    cut = n // 3
    assert find_duplicates(idents[cut:], idents[:cut]) == _pairwise(idents[cut:], idents[:cut])


def test_near_threshold_pairs_are_decided_by_the_ratio() -> None:
    base = "ketamine for treatment resistant depression a randomised placebo controlled trial"
    rng = random.Random(5)
    idents = [StudyIdentity("k0", "", "", base, "2020", "smith")]
    idents += [
        StudyIdentity(f"k{i}", "", "", _mutate(rng, base, i % 14), "2020", "smith")
        for i in range(1, 200)
    ]
    found = {d.key: d for d in find_duplicates(idents)}
    for ident in idents[1:]:
        best = max(fuzz.ratio(ident.title, o.title) for o in idents[: int(ident.key[1:])])
        assert (ident.key in found) is (best >= TITLE_THRESHOLD)
    assert 20 < len(found) < 199


def test_without_year_or_author_only_an_identical_title_matches() -> None:
    title = "Ketamine for social anxiety disorder"
    fields = {
        "a": {"title": title},
        "b": {"title": title + "."},  # identical once normalised; no year, no author
        "c": {"title": title, "year": "2020"},  # a year: not compared with a or b
        "d": {"title": "Annual report 2018", "author": "Smith, J"},
        "e": {"title": "Annual report 2019", "author": "Smith, John"},  # 94%: not enough
        "f": {"title": "Annual {Report} 2018", "author": "Smith, J."},
        "g": {"title": "Annual report 2018", "author": "Smith, J", "year": "2018"},
        "h": {"title": "Annual report 2019", "author": "Smith, J", "year": "2018"},
    }
    found = find_duplicates(identity(k, v) for k, v in fields.items())
    assert [(d.key, d.of, d.reason, d.score) for d in found] == [
        ("b", "a", "title", 100.0),
        ("f", "d", "title", 100.0),
        ("h", "g", "title", pytest.approx(94.4, abs=0.1)),
    ]


def test_cli_duplicates_reads_a_file_with_other_problems(tmp_path) -> None:
    """Duplicates are found in a file `validate` rejects (values of the wrong type), with
    @string macros expanded."""
    bib = tmp_path / "x.bib"
    bib.write_text(
        "@string{t = {Ketamine for social anxiety}}\n"
        "@article{a, title = t, author = {Glue, P}, year = {2017}, n_enrolled = {many}}\n"
        "@article{b, title = {Ketamine for Social Anxiety.}, author = {Glue, Paul},\n"
        "  year = {2017}, design = {nonsense}}\n"
        "@article{c, title = {Ketamine for social anxiety}, author = {Glue, P}, year = {2018}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["duplicates", str(bib), "--format", "json"])
    assert result.exit_code == 1, result.output
    assert [(d["key"], d["duplicates"]) for d in json.loads(result.stdout)] == [("b", "a")]
    assert validate(bib)  # the file does have other problems


def test_cli_duplicates_reports_an_unusable_protocol(tmp_path) -> None:
    bib = tmp_path / "x.bib"
    bib.write_text("@article{a, title = {T}, year = {2017}}\n", encoding="utf-8")
    config = tmp_path / "evidence.toml"
    config.write_text("[tool.evidence\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["duplicates", str(bib), "--config", str(config)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "evidence.toml" in result.output


def test_identity_reads_only_the_identity_fields() -> None:
    """`duplicates` reads only IDENTITY_FIELDS: the identities are the same as from every
    field."""
    from evidence.bib import read_bib
    from evidence.validation import read_records

    doc = read_bib(ROOT / "studies.bib")
    some = read_records(doc, IDENTITY_FIELDS)
    assert all(set(r.bib) <= IDENTITY_FIELDS for r in some)
    assert sum(len(r.bib) for r in some) > 3 * len(some)  # most entries have most of them
    assert [identity(r.key, r.bib) for r in some] == [
        identity(r.key, r.bib) for r in read_records(doc)
    ]


def test_names_and_titles_spelled_with_or_without_non_ascii_letters_are_one() -> None:
    """The one ASCII fold (evidence.text.ascii_fold): ø is o and ß is ss, as a database that
    drops them spells them; a dash between words still separates them."""
    fields = {
        "a": {"title": "Ketamine—a trial in anxiety", "author": "Bjørnstad, K", "year": "2020"},
        "b": {"title": "Ketamine - a trial in anxiety", "author": "Bjornstad, K", "year": "2020"},
        "c": {"title": "Straße study", "author": "Strauß, A", "year": "2021"},
        "d": {"title": "Strasse study", "author": "Strauss, A", "year": "2021"},
        "e": {"title": "Ketamine—a trial in anxiety", "author": "Bjørnsen, K", "year": "2020"},
    }
    ids = {k: identity(k, v) for k, v in fields.items()}
    assert ids["a"].first_author == ids["b"].first_author == "bjornstad"
    assert ids["a"].title == ids["b"].title == "ketamine a trial in anxiety"
    found = find_duplicates(ids.values())
    assert [(d.key, d.of, d.reason) for d in found] == [("b", "a", "title"), ("d", "c", "title")]
