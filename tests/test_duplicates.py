"""`evidence duplicates` (evidence.duplicates): same DOI, PMID or near-identical title."""

from __future__ import annotations

from click.testing import CliRunner

from evidence.cli import main
from evidence.duplicates import find_duplicates, identity

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
