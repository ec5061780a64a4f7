"""Importing references from other tools (evidence.importers)."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import bibtexparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.bib import brace_problem
from evidence.errors import EvidenceError
from evidence.importers import (
    _STOPWORDS,
    ImportedRecord,
    _clean_value,
    make_key,
    read_records,
    render_entry,
)

from .conftest import DATA

IMPORTS = DATA / "imports"
GOOD_FILES = ["pubmed.nbib", "embase.ris", "zotero.json", "snippet.bib"]

GLUE2017 = "10.1177/0269881117705089"
IRWIN2013 = "10.1089/jpm.2012.0617"
BLOCH2012 = "10.1016/j.biopsych.2012.05.028"
GLUE2018 = "10.1177/0269881118762073"
TAYLOR2018 = "10.1038/npp.2017.194"
RODRIGUEZ2013 = "10.1038/npp.2013.150"
FEDER2014 = "10.1001/jamapsychiatry.2014.62"
FICTIONAL = "10.5555/fictional.2024.001"
HARTLAND2023 = "10.1177/02698811231161627"
BANOV2020 = "10.1017/S1092852919001238"
TULLY2022 = "10.1111/bcp.15374"
SHADLI2018 = "10.1093/ijnp/pyy032"
GLUE2020 = "10.1177/2045125320922474"


@functools.cache
def _read(name: str, keep_unknown: bool = False) -> tuple[ImportedRecord, ...]:
    records, problems = read_records(IMPORTS / name, keep_unknown=keep_unknown)
    assert problems == []
    return tuple(records)


def _by_doi(name: str, doi: str, keep_unknown: bool = False) -> ImportedRecord:
    matches = [r for r in _read(name, keep_unknown) if r.fields.get("doi") == doi]
    assert len(matches) == 1, f"{doi} in {name}"
    return matches[0]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _parse_one(text: str):
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    assert len(library.entries) == 1
    return library.entries[0]


# --------------------------------------------------------------------------- whole records


def test_medline_record_has_exactly_the_expected_fields_in_order() -> None:
    record = _by_doi("pubmed.nbib", GLUE2017)
    assert record == ImportedRecord(
        entry_type="article",
        fields={
            "author": "Glue, P and Medlicott, NJ and Harland, S and Neehoff, S and "
            "Anderson-Fahey, B and Le Nedelec, M and Gray, A and McNaughton, N",
            "title": "Ketamine's dose-related effects on anxiety symptoms in patients with "
            "treatment refractory anxiety disorders",
            "journal": "J Psychopharmacol",
            "year": "2017",
            "month": "oct",
            "volume": "31",
            "number": "10",
            "pages": "1302--1305",
            "doi": "10.1177/0269881117705089",
            "pmid": "28441895",
        },
        key=None,
        source="pubmed.nbib:2",
    )
    assert list(record.fields) == [
        *("author", "title", "journal", "year", "month", "volume", "number", "pages"),
        *("doi", "pmid"),
    ]


def test_ris_record_has_exactly_the_expected_fields_in_order() -> None:
    record = _by_doi("embase.ris", RODRIGUEZ2013)
    assert record.entry_type == "article"
    assert record.key is None
    assert record.source == "embase.ris:31"
    assert record.fields == {
        "author": "Rodriguez, C.I. and Kegeles, L.S. and Levinson, A. and Feng, T. and "
        "Marcus, S.M. and Vermes, D. and Flood, P. and Simpson, H.B.",
        "title": "Randomized controlled crossover trial of ketamine in obsessive-compulsive "
        "disorder: proof-of-concept",
        "journal": "Neuropsychopharmacology",
        "year": "2013",
        "month": "nov",
        "volume": "38",
        "number": "12",
        "pages": "2475--2483",
        "doi": "10.1038/npp.2013.150",
        "pmcid": "PMC3799067",
        "keywords": "ketamine; obsessive compulsive disorder",
    }
    assert list(record.fields) == [
        *("author", "title", "journal", "year", "month", "volume", "number", "pages"),
        *("doi", "pmcid", "keywords"),
    ]


def test_csl_record_has_exactly_the_expected_fields_in_order() -> None:
    record = _by_doi("zotero.json", TULLY2022)
    assert (record.entry_type, record.key, record.source) == (
        "article",
        "tully2022ketamine",
        "zotero.json#3",
    )
    assert list(record.fields.items()) == [
        (
            "author",
            "Tully, J. L. and Dahlén, A. D. and Haggarty, C. J. and Schiöth, H. B. and Brooks, S.",
        ),
        ("title", "Ketamine treatment for refractory anxiety: A systematic review"),
        ("journal", "Br J Clin Pharmacol"),
        ("year", "2022"),
        ("month", "oct"),
        ("volume", "88"),
        ("number", "10"),
        ("pages", "4412--4426"),
        ("doi", "10.1111/bcp.15374"),
        ("pmid", "35510346"),
        ("pmcid", "PMC9540337"),
        # the tail in the canonical order `evidence fmt` writes (formatting.FIELD_ORDER)
        ("note", 'identity of the article\'s "2022 study" unconfirmed'),
        ("keywords", "ketamine; refractory anxiety; systematic review"),
    ]
    assert record.notes == ("CSL variables with no BibTeX field, not imported: language",)


def test_bibtex_record_keeps_fields_as_written_except_doi_and_pages() -> None:
    record = _by_doi("snippet.bib", SHADLI2018)
    assert (record.entry_type, record.key, record.source) == (
        "article",
        "Shadli2018",
        "snippet.bib:3",
    )
    assert record.fields == {
        "author": "Shadli, Shabah Mohammad and Kawe, Tame and Martin, Daniel and "
        "McNaughton, Neil and Neehoff, Shona and Glue, Paul",
        "title": "Ketamine Effects on {EEG} during Therapy of Treatment-Resistant Generalized "
        "Anxiety and Social Anxiety",
        "journal": "International Journal of Neuropsychopharmacology",
        "year": "2018",
        "volume": "21",
        "number": "8",
        "pages": "717--724",
        "doi": "10.1093/ijnp/pyy032",
    }
    assert record.notes == (
        "pages normalised from '717-724' to '717--724'",
        "doi normalised from 'https://doi.org/10.1093/ijnp/pyy032' to '10.1093/ijnp/pyy032'",
    )


# --------------------------------------------------------------------------- single fields


@pytest.mark.parametrize(
    ("name", "doi", "field", "expected"),
    [
        pytest.param("pubmed.nbib", IRWIN2013, "pages", "958--965", id="medline-pages-958-65"),
        pytest.param("pubmed.nbib", BLOCH2012, "pages", "964--970", id="medline-pages-964-70"),
        pytest.param("pubmed.nbib", BLOCH2012, "month", "dec", id="medline-month-dec-1"),
        pytest.param("pubmed.nbib", IRWIN2013, "pmcid", "PMC3717203", id="medline-pmcid"),
        pytest.param("pubmed.nbib", BLOCH2012, "pmid", "22784486", id="medline-pmid"),
        pytest.param(
            "pubmed.nbib",
            IRWIN2013,
            "author",
            "Irwin, Scott A and Iglewicz, A and Nelesen, RA and Lo, JY and Carr, CH and "
            "Romero, SD and Lloyd, LS",
            id="medline-fau-preferred-au-fallback",
        ),
        pytest.param(
            "pubmed.nbib",
            GLUE2018,
            "author",
            "Glue, Paul and Neehoff, Shona M and Medlicott, Natalie J and Gray, Andrew and "
            "Kibby, Guy and McNaughton, Neil",
            id="medline-fau-full-names",
        ),
        pytest.param(
            "pubmed.nbib",
            IRWIN2013,
            "title",
            "Daily oral ketamine for the treatment of depression and anxiety in patients "
            "receiving hospice care: a 28-day open-label proof-of-concept trial",
            id="medline-title-continuation",
        ),
        pytest.param(
            "pubmed.nbib",
            IRWIN2013,
            "abstract",
            "One hundred percent of subjects completing the trial responded to ketamine for "
            "both anxiety and depression.",
            id="medline-abstract-continuation",
        ),
        pytest.param("pubmed.nbib", GLUE2018, "journal", "J Psychopharmacol", id="medline-ta"),
        pytest.param(
            "embase.ris",
            TAYLOR2018,
            "author",
            "Taylor, J.H. and Landeros-Weisenberger, A. and Coughlin, C. and Mulqueen, J. and "
            "Johnson, J.A. and Gabriel, D. and Reed, M.O. and Jakubovski, E. and Bloch, M.H.",
            id="ris-embase-initials-authors",
        ),
        pytest.param("embase.ris", TAYLOR2018, "month", "jan", id="ris-month-from-da"),
        pytest.param("embase.ris", TAYLOR2018, "pages", "325--333", id="ris-sp-ep"),
        pytest.param("embase.ris", TAYLOR2018, "pmcid", "PMC5729569", id="ris-c2-pmcid"),
        pytest.param(
            "embase.ris",
            TAYLOR2018,
            "keywords",
            "ketamine; social phobia; crossover procedure",
            id="ris-keywords",
        ),
        pytest.param("embase.ris", FEDER2014, "pmid", "24740528", id="ris-an-pmid"),
        pytest.param("embase.ris", FEDER2014, "journal", "JAMA Psychiatry", id="ris-jf"),
        pytest.param(
            "embase.ris",
            FEDER2014,
            "author",
            "Feder, A. and Parides, M.K. and Murrough, J.W. and Perez, A.M. and Morgan, J.E. "
            "and Saxena, S. and Kirkwood, K. and aan het Rot, M. and Lapidus, K.A.B. and "
            "Wan, L.-B. and Iosifescu, D. and Charney, D.S.",
            id="ris-particles-and-hyphenated-initials",
        ),
        pytest.param(
            "embase.ris",
            FICTIONAL,
            "note",
            "FICTIONAL record written for the tests; not a real study",
            id="ris-n1-note",
        ),
        pytest.param("zotero.json", BANOV2020, "pages", "331--342", id="csl-en-dash-pages"),
        pytest.param("zotero.json", BANOV2020, "pmid", "31339086", id="csl-pmid-from-note"),
        pytest.param("zotero.json", BANOV2020, "note", "Epub 2019 Jul 24", id="csl-note-rest"),
        pytest.param("zotero.json", BANOV2020, "month", "jun", id="csl-string-date-parts"),
        pytest.param("zotero.json", BANOV2020, "volume", "25", id="csl-number-volume"),
        pytest.param("zotero.json", HARTLAND2023, "month", "aug", id="csl-month"),
        pytest.param("zotero.json", HARTLAND2023, "journal", "J Psychopharmacol", id="csl-journal"),
        pytest.param("snippet.bib", GLUE2020, "month", "may", id="bibtex-month-macro"),
        pytest.param("snippet.bib", GLUE2020, "pmcid", "PMC7235665", id="bibtex-pmcid"),
        pytest.param(
            "snippet.bib",
            GLUE2020,
            "author",
            "Glue, Paul and Medlicott, Natalie J. and Neehoff, Shona and Surman, Peter and "
            "Lam, Fred and Hung, Noelyn and Hung, Cheung-tak",
            id="bibtex-quoted-value",
        ),
    ],
)
def test_field_value(name: str, doi: str, field: str, expected: str) -> None:
    assert _by_doi(name, doi).fields[field] == expected


@pytest.mark.parametrize(
    ("name", "doi"),
    [
        pytest.param("embase.ris", TAYLOR2018, id="ris-dx-doi-org"),
        pytest.param("embase.ris", FICTIONAL, id="ris-doi-colon"),
        pytest.param("zotero.json", BANOV2020, id="csl-https-doi-org"),
        pytest.param("snippet.bib", SHADLI2018, id="bibtex-https-doi-org"),
    ],
)
def test_doi_prefixes_are_stripped_and_case_kept(name: str, doi: str) -> None:
    # _by_doi finds the record only if its doi equals the bare DOI exactly
    assert _by_doi(name, doi).fields["doi"] == doi


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("pubmed.nbib", [None, None, None, None], id="medline"),
        pytest.param("embase.ris", [None, None, None, None], id="ris"),
        pytest.param(
            "zotero.json",
            ["hartland2023transdiagnostic", "banov2020efficacy", "tully2022ketamine"],
            id="csl-citation-key",
        ),
        pytest.param("snippet.bib", ["Shadli2018", "glue2020ertablets"], id="bibtex-key"),
    ],
)
def test_source_keys_are_kept(name: str, expected: list[str | None]) -> None:
    assert [r.key for r in _read(name)] == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "pubmed.nbib",
            ["pubmed.nbib:2", "pubmed.nbib:25", "pubmed.nbib:49", "pubmed.nbib:74"],
            id="medline",
        ),
        pytest.param(
            "embase.ris",
            ["embase.ris:1", "embase.ris:31", "embase.ris:59", "embase.ris:90"],
            id="ris",
        ),
        pytest.param("zotero.json", ["zotero.json#1", "zotero.json#2", "zotero.json#3"], id="csl"),
        pytest.param("snippet.bib", ["snippet.bib:3", "snippet.bib:14"], id="bibtex"),
    ],
)
def test_sources_point_at_the_record_start(name: str, expected: list[str]) -> None:
    records = _read(name)
    assert [r.source for r in records] == expected
    assert all(r.entry_type == "article" for r in records)


# --------------------------------------------------------------------------- RIS specifics


def test_unknown_ris_tag_is_reported_and_dropped_by_default() -> None:
    record = _by_doi("embase.ris", FICTIONAL)
    assert "unknown RIS tag Z9 ('12') dropped" in record.notes
    assert "Z9" not in record.fields["note"]
    assert "RIS tags with no BibTeX field, not imported: DB, ID, LA, M3" in record.notes


def test_unknown_ris_tag_is_kept_in_note_when_asked() -> None:
    record = _by_doi("embase.ris", FICTIONAL, keep_unknown=True)
    assert "unknown RIS tag Z9 ('12') kept in note" in record.notes
    assert record.fields["note"] == (
        "FICTIONAL record written for the tests; not a real study; Z9: 12"
    )


def test_records_without_unknown_tags_report_none() -> None:
    notes = _by_doi("embase.ris", TAYLOR2018).notes
    assert not any(n.startswith("unknown RIS tag") for n in notes)


@pytest.mark.parametrize(
    ("ris_type", "entry_type"),
    [
        pytest.param("JOUR", "article", id="JOUR"),
        pytest.param("JFULL", "article", id="JFULL"),
        pytest.param("BOOK", "book", id="BOOK"),
        pytest.param("CHAP", "incollection", id="CHAP"),
        pytest.param("CONF", "inproceedings", id="CONF"),
        pytest.param("CPAPER", "inproceedings", id="CPAPER"),
        pytest.param("THES", "phdthesis", id="THES"),
        pytest.param("ELEC", "online", id="ELEC"),
        pytest.param("WEB", "online", id="WEB"),
        pytest.param("GEN", "misc", id="GEN-else-misc"),
        pytest.param("PCOMM", "misc", id="PCOMM-else-misc"),
    ],
)
def test_ris_types_map_to_bibtex_types(tmp_path: Path, ris_type: str, entry_type: str) -> None:
    path = _write(tmp_path, "one.ris", f"TY  - {ris_type}\nTI  - A title\nER  - \n")
    [record], problems = read_records(path)
    assert problems == []
    assert record.entry_type == entry_type


def test_ris_au_ti_py_ur_sn_tags(tmp_path: Path) -> None:
    text = (
        "TY  - JOUR\n"
        "AU  - Sample, Bea\n"
        "AU  - {Fictional Trials Group}\n"
        "AU  - Fictional Trials Consortium\n"
        "TI  - A fictional title\n"
        "T2  - Journal of Examples\n"
        "PY  - 2021/03/15/\n"
        "SP  - 1302-5\n"
        "SN  - 1234-5678 (Electronic)\n"
        "UR  - https://example.org/a\n"
        "UR  - https://example.org/b\n"
        "AB  - First part of the abstract\n"
        "  continued on the next line.\n"
        "PM  - 12345\n"
        "ER  - \n"
    )
    [record], _ = read_records(_write(tmp_path, "zotero.ris", text))
    assert record.fields == {
        "author": "Sample, Bea and {Fictional Trials Group} and {Fictional Trials Consortium}",
        "title": "A fictional title",
        "journal": "Journal of Examples",
        "year": "2021",
        "month": "mar",
        "pages": "1302--1305",
        "pmid": "12345",
        "issn": "1234-5678",
        "url": "https://example.org/a",
        "abstract": "First part of the abstract continued on the next line.",
    }
    assert "1 more URL(s) not imported: https://example.org/b" in record.notes


# --------------------------------------------------------------------------- MEDLINE specifics


def test_medline_prefers_jt_and_reads_cn_and_keywords(tmp_path: Path) -> None:
    text = (
        "PMID- 99000010\n"
        "TI  - A fictional record.\n"
        "FAU - Sample, Bea\n"
        "AU  - Sample B\n"
        "CN  - Fictional Trials Group\n"
        "DP  - 2020 Spring\n"
        "IS  - 1234-5678 (Linking)\n"
        "TA  - Fict J\n"
        "JT  - Fictional journal of examples\n"
        "MH  - Anxiety Disorders/*drug therapy\n"
        "MH  - *Ketamine/administration & dosage\n"
        "OT  - ketamine\n"
        "OT  - anxiety\n"
        "AID - S0000-0000(20)00000-0 [pii]\n"
        "AID - 10.5555/Fict.2020.1 [doi]\n"
    )
    [record], problems = read_records(_write(tmp_path, "one.nbib", text))
    assert problems == []
    assert record.fields == {
        "author": "Sample, Bea and {Fictional Trials Group}",
        "title": "A fictional record",
        "journal": "Fictional journal of examples",
        "year": "2020",
        "doi": "10.5555/Fict.2020.1",
        "pmid": "99000010",
        "issn": "1234-5678",
        "keywords": "Anxiety Disorders; Ketamine; ketamine; anxiety",
    }


# --------------------------------------------------------------------------- CSL-JSON specifics


def test_csl_ids_literal_names_and_raw_dates(tmp_path: Path) -> None:
    text = """[
  {"id": "sample2019", "type": "chapter", "title": "A fictional chapter",
   "container-title": "A fictional book", "author": [{"literal": "Fictional Trials Group"}],
   "editor": [{"family": "Rot", "non-dropping-particle": "aan het", "given": "Mia"}],
   "issued": {"raw": "2019-11-02"}, "publisher": "Example Press"},
  {"id": "http://zotero.org/users/1/items/ABCD", "type": "thesis", "title": "A thesis",
   "author": [{"family": "Sample", "given": "Bea", "suffix": "Jr"}],
   "publisher": "Example University", "issued": {"date-parts": [[2001]]}},
  {"id": 7, "type": "dataset", "title": "Data"}
]"""
    records, problems = read_records(_write(tmp_path, "items.json", text))
    assert problems == []
    chapter, thesis, data = records
    assert (chapter.entry_type, chapter.key) == ("incollection", "sample2019")
    assert chapter.fields == {
        "author": "{Fictional Trials Group}",
        "editor": "aan het Rot, Mia",
        "title": "A fictional chapter",
        "booktitle": "A fictional book",
        "publisher": "Example Press",
        "year": "2019",
        "month": "nov",
    }
    assert (thesis.entry_type, thesis.key) == ("phdthesis", None)
    assert thesis.fields == {
        "author": "Sample, Jr, Bea",
        "title": "A thesis",
        "school": "Example University",
        "year": "2001",
    }
    assert (data.entry_type, data.key, data.source) == ("misc", None, "items.json#3")


def test_csl_item_without_title_is_a_problem_on_its_line(tmp_path: Path) -> None:
    text = '[\n  {"id": "a", "title": "Fine"},\n\n  {"id": "b",\n   "type": "book"}\n]\n'
    records, problems = read_records(_write(tmp_path, "items.json", text), skip_invalid=True)
    assert [r.key for r in records] == ["a"]
    assert [(p.line, p.key, p.field, p.message) for p in problems] == [
        (4, "b", "title", "item 2 has no title")
    ]


# --------------------------------------------------------------------------- malformed input

MALFORMED = [
    pytest.param(
        "malformed.ris",
        [
            (1, "no ER line before the next record starts on line 6"),
            (13, "record has no TY line (each RIS record starts with 'TY  - TYPE')"),
            (
                17,
                "line 19 is not a RIS line (expected 'XX  - value'): "
                "'this line is not a RIS tag line'",
            ),
            (22, "record has no title (TI or T1)"),
        ],
        ["Fictional record two: the one good record"],
        id="ris",
    ),
    pytest.param(
        "malformed.nbib",
        [
            (8, "record has no PMID line (each MEDLINE record starts with 'PMID- ')"),
            (12, "record PMID 99000003 has no title (TI)"),
            (
                16,
                "line 18 is not a MEDLINE line (expected 'TAG - value' or an indented "
                "continuation): 'this line has no tag'",
            ),
        ],
        ["Fictional MEDLINE record one, the only good one"],
        id="medline",
    ),
    pytest.param(
        "broken.json",
        [(6, "invalid JSON: Expecting ',' delimiter (line 6, column 5)")],
        [],
        id="json",
    ),
]


@pytest.mark.parametrize(
    "skip_invalid", [pytest.param(False, id="refuse"), pytest.param(True, id="skip")]
)
@pytest.mark.parametrize(("name", "expected", "good_titles"), MALFORMED)
def test_malformed_records_are_problems_with_file_and_line(
    name: str,
    expected: list[tuple[int, str]],
    good_titles: list[str],
    skip_invalid: bool,
) -> None:
    path = IMPORTS / name
    records, problems = read_records(path, skip_invalid=skip_invalid)
    assert [(p.line, p.message) for p in problems] == expected
    assert all(p.file == str(path) and p.severity == "error" for p in problems)
    assert str(problems[0]).startswith(f"{path}:{expected[0][0]}: ")
    if skip_invalid:
        assert [r.fields["title"] for r in records] == good_titles
    else:
        assert records == []


def test_bibtex_syntax_errors_and_duplicates_are_problems(tmp_path: Path) -> None:
    text = (
        "@article{good, title = {Fine}}\n"
        "@article{good, title = {Again}}\n"
        "@article{twice, title = {A}, title = {B}}\n"
        "@article{notitle, year = {2020}}\n"
        "@article{broken\n  title = {No comma after the key}}\n"
        "@article{title = {No key at all}}\n"
    )
    path = _write(tmp_path, "paste.bib", text)
    assert read_records(path)[0] == []
    records, problems = read_records(path, skip_invalid=True)
    assert [r.key for r in records] == ["good"]
    assert [(p.line, p.key) for p in problems] == [
        (2, "good"),
        (3, "twice"),
        (4, "notitle"),
        (5, "broken"),
        (7, ""),
    ]
    assert problems[0].message == "duplicate citation key 'good'"
    assert problems[1].message == "field(s) title appear more than once in the entry"
    assert problems[2].message == "entry has no title"
    assert problems[3].message.startswith("BibTeX syntax error: ")


def test_unknown_format_is_an_error_naming_file_and_formats() -> None:
    path = IMPORTS / "unknown.txt"
    with pytest.raises(EvidenceError) as info:
        read_records(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: not a reference file this can import (accepted: ")
    for fmt in ("BibTeX", "RIS", "CSL-JSON", "MEDLINE", ".nbib", ".json", ".ris", ".bib"):
        assert fmt in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"", "refs.dat: file is empty (expected references)", id="empty"),
        pytest.param(b"\n  \n", "refs.dat: file is empty (expected references)", id="blank"),
        pytest.param(
            b"TY  - JOUR\nTI  - Caf\xe9\nER  - \n",
            "refs.dat:2: not valid UTF-8 (byte 0xe9 at offset 20)",
            id="latin1",
        ),
    ],
)
def test_unreadable_files_raise(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "refs.dat"
    path.write_bytes(content)
    with pytest.raises(EvidenceError) as info:
        read_records(path)
    assert str(info.value).startswith(str(tmp_path / message))


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no such file"):
        read_records(tmp_path / "nope.ris")


# --------------------------------------------------------------------------- format sniffing


@pytest.mark.parametrize(
    "suffix",
    [pytest.param(".txt", id="txt"), pytest.param(".dat", id="dat"), pytest.param("", id="none")],
)
@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in GOOD_FILES])
def test_format_is_sniffed_from_content(tmp_path: Path, name: str, suffix: str) -> None:
    copy = tmp_path / f"export{suffix}"
    shutil.copyfile(IMPORTS / name, copy)
    records, problems = read_records(copy)
    assert problems == []
    expected = _read(name)
    assert [(r.entry_type, r.fields, r.key) for r in records] == [
        (r.entry_type, r.fields, r.key) for r in expected
    ]
    assert records[0].source.startswith(copy.name)


@pytest.mark.parametrize("newline", [pytest.param("\r\n", id="crlf"), pytest.param("\r", id="cr")])
@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in GOOD_FILES])
def test_crlf_line_endings_give_the_same_records(tmp_path: Path, name: str, newline) -> None:
    text = (IMPORTS / name).read_text(encoding="utf-8")
    copy = _write(tmp_path, name, text.replace("\n", newline))
    records, problems = read_records(copy)
    assert problems == []
    assert records == list(_read(name))


@pytest.mark.parametrize(
    ("text", "title"),
    [
        pytest.param("\ufeff\n\nTY  - JOUR\nTI  - Bom\nER  - \n", "Bom", id="ris-bom"),
        pytest.param("PMID- 1\nTI  - Medline.\n", "Medline", id="medline"),
        pytest.param('{"title": "One item"}', "One item", id="csl-object"),
        pytest.param("% a comment\n@misc{k, title = {Bib}}\n", "Bib", id="bibtex-comment"),
    ],
)
def test_sniffing_edge_cases(tmp_path: Path, text: str, title: str) -> None:
    [record], problems = read_records(_write(tmp_path, "paste", text))
    assert problems == []
    assert record.fields["title"] == title


# --------------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param(
            {"author": "Rodriguez, C.I. and Kegeles, L.S.", "year": "2013", "title": "Randomized"},
            "rodriguez2013randomized",
            id="pattern",
        ),
        pytest.param(
            {"author": "Glue, P", "year": "2017", "title": "Ketamine's dose-related effects"},
            "glue2017ketamines",
            id="apostrophe-dropped",
        ),
        pytest.param(
            {"author": "Dahlén, A. D.", "year": "2022", "title": "Ketamine"},
            "dahlen2022ketamine",
            id="ascii-fold-dahlen",
        ),
        pytest.param(
            {"author": "Schiöth, H. B.", "year": "2022", "title": "Über die Angst"},
            "schioth2022uber",
            id="ascii-fold-schioth",
        ),
        pytest.param(
            {"author": 'Schi{\\"o}th, H. B.', "year": "2022", "title": "X"},
            "schioth2022x",
            id="latex-accent",
        ),
        pytest.param(
            {"author": "Gro\u00df, Jan", "year": "2020", "title": "\\textit{In} vivo"},
            "gross2020vivo",
            id="eszett-and-latex-command",
        ),
        pytest.param(
            {"author": "Whittaker, E", "year": "2021", "title": "A review of the evidence"},
            "whittaker2021review",
            id="stopword-a",
        ),
        pytest.param(
            {"author": "Tully, J", "year": "2022", "title": "The use of ketamine"},
            "tully2022use",
            id="stopwords-the",
        ),
        pytest.param(
            {"author": "Sample, B", "year": "2020", "title": "On the of and in: effects"},
            "sample2020effects",
            id="stopwords-many",
        ),
        pytest.param(
            {"author": "Sample, B", "year": "2020", "title": "Treatment-resistant anxiety"},
            "sample2020treatment",
            id="hyphen-splits-words",
        ),
        pytest.param(
            {"author": "{World Health Organization}", "year": "2019", "title": "Guidelines"},
            "world2019guidelines",
            id="organisation-first-word",
        ),
        pytest.param(
            {"author": "aan het Rot, M.", "year": "2014", "title": "Efficacy"},
            "aanhetrot2014efficacy",
            id="particle-inverted",
        ),
        pytest.param(
            {"author": "Marije aan het Rot and Adriana Feder", "year": "2014", "title": "E"},
            "aanhetrot2014e",
            id="particle-given-first",
        ),
        pytest.param(
            {"author": "Anderson-Fahey, B", "year": "2017", "title": "Ketamine"},
            "andersonfahey2017ketamine",
            id="hyphenated-family",
        ),
        pytest.param({"year": "2020", "title": "Ketamine"}, "anon2020ketamine", id="no-author"),
        pytest.param({"author": "Glue, P", "title": "Ketamine"}, "glueketamine", id="no-year"),
        pytest.param({"author": "Glue, P", "year": "2017"}, "glue2017", id="no-title"),
        pytest.param({"Author": "Glue, P", "YEAR": "2017 Oct"}, "glue2017", id="field-case"),
        pytest.param({}, "anon", id="nothing"),
    ],
)
def test_make_key_pattern(fields: dict[str, str], expected: str) -> None:
    assert make_key(fields, []) == expected


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param([], "glue2017ketamines", id="free"),
        pytest.param(["glue2017ketamines"], "glue2017ketaminesa", id="second-gets-a"),
        pytest.param(["Glue2017Ketamines"], "glue2017ketaminesa", id="case-insensitive"),
        pytest.param(
            ["glue2017ketamines", "glue2017ketaminesa"], "glue2017ketaminesb", id="third-gets-b"
        ),
        pytest.param(
            ["glue2017ketamines", "glue2017ketaminesa", "glue2017ketaminesb"],
            "glue2017ketaminesc",
            id="fourth-gets-c",
        ),
        pytest.param(
            ["glue2017ketamines"] + [f"glue2017ketamines{chr(c)}" for c in range(97, 123)],
            "glue2017ketaminesaa",
            id="after-z-comes-aa",
        ),
        pytest.param(
            ["glue2017ketamines", "glue2017ketaminesb"], "glue2017ketaminesa", id="first-gap"
        ),
    ],
)
def test_make_key_suffixes_on_clash(existing: list[str], expected: str) -> None:
    fields = {"author": "Glue, P", "year": "2017", "title": "Ketamine's dose-related effects"}
    assert make_key(fields, existing) == expected


def test_make_key_is_deterministic_for_the_fixtures() -> None:
    keys: list[str] = []
    for name in GOOD_FILES:
        for record in _read(name):
            keys.append(make_key(record.fields, keys))
    assert keys == [
        "glue2017ketamines",
        "irwin2013daily",
        "bloch2012effects",
        "glue2018safety",
        "taylor2018ketamine",
        "rodriguez2013randomized",
        "feder2014efficacy",
        "example2024fictional",
        "hartland2023transdiagnostic",
        "banov2020efficacy",
        "tully2022ketamine",
        "shadli2018ketamine",
        "glue2020safety",
    ]


def test_make_key_docstring_lists_every_stopword() -> None:
    doc = " ".join((make_key.__doc__ or "").split())
    listed = doc.split("not one of these stop words: ", 1)[1].split(". Left out", 1)[0]
    assert set(listed.split(", ")) == set(_STOPWORDS)


# --------------------------------------------------------------------------- rendering

ALL_RECORDS = [
    pytest.param(name, index, id=f"{name}#{index + 1}")
    for name, count in [
        ("pubmed.nbib", 4),
        ("embase.ris", 4),
        ("zotero.json", 3),
        ("snippet.bib", 2),
    ]
    for index in range(count)
]


@pytest.mark.parametrize(
    "indent",
    [pytest.param("  ", id="two"), pytest.param("\t", id="tab"), pytest.param("", id="none")],
)
@pytest.mark.parametrize(("name", "index"), ALL_RECORDS)
def test_render_entry_round_trips(name: str, index: int, indent: str) -> None:
    record = _read(name)[index]
    before = dict(record.fields)
    text = render_entry(record, "k2024x", indent=indent)
    assert record.fields == before
    assert text.endswith("}\n") and "\r" not in text
    entry = _parse_one(text)
    assert (entry.entry_type, entry.key) == (record.entry_type, "k2024x")
    assert {f.key: f.value for f in entry.fields} == record.fields
    assert [f.key for f in entry.fields] == list(record.fields)


def test_render_entry_layout() -> None:
    record = ImportedRecord(
        "article",
        {"author": "Sample, Bea", "title": "A {B} title", "month": "oct", "year": "2017", "x": ""},
        None,
        "x.ris:1",
    )
    assert render_entry(record, "sample2017title") == (
        "@article{sample2017title,\n"
        "  author = {Sample, Bea},\n"
        "  title = {A {B} title},\n"
        "  month = oct,\n"
        "  year = {2017},\n"
        "}\n"
    )


@pytest.mark.parametrize(
    ("month", "line"),
    [
        pytest.param("oct", "month = oct,", id="macro"),
        pytest.param("Oct", "month = Oct,", id="macro-capitalised"),
        pytest.param("10", "month = {10},", id="number-braced"),
        pytest.param("October", "month = {October},", id="full-name-braced"),
        pytest.param("oct/nov", "month = {oct/nov},", id="range-braced"),
    ],
)
def test_render_entry_writes_only_month_macros_bare(month: str, line: str) -> None:
    text = render_entry(ImportedRecord("misc", {"month": month}, None, "x"), "k")
    assert f"  {line}\n" in text
    assert _parse_one(text).fields_dict["month"].value == month


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param("50% of {HAM-A}", "50% of {HAM-A}", id="percent-and-balanced"),
        pytest.param("Sets \\{x\\} of {GAD}", "Sets \\{x\\} of {GAD}", id="escaped-pair"),
        pytest.param("ends in a backslash\\", "ends in a backslash", id="trailing-backslash"),
        pytest.param("two\nlines\r\n  here", "two lines here", id="newlines"),
        pytest.param("@article{x}, oops", "@article{x}, oops", id="at-sign"),
        pytest.param('quote " and comma, = equals', 'quote " and comma, = equals', id="quote"),
    ],
)
def test_render_entry_makes_values_safe(value: str, written: str) -> None:
    record = ImportedRecord("misc", {"title": value, "note": "after"}, None, "x")
    text = render_entry(record, "k")
    assert f"  title = {{{written}}},\n" in text
    entry = _parse_one(text)
    assert entry.fields_dict["title"].value == written
    assert entry.fields_dict["note"].value == "after"


@pytest.mark.parametrize(
    ("value", "brace"),
    [
        pytest.param("Stray { brace", "the last { of 'Stray {' is never closed", id="open"),
        pytest.param("Stray } brace", "the last } of 'Stray }' closes no group", id="close"),
        pytest.param("}{", "the last } of '}' closes no group (1 more", id="reversed-pair"),
        pytest.param("Set a\\{b", "the last { of 'Set a\\{' is never closed", id="escaped-open"),
        pytest.param("a\\}b", "the last } of 'a\\}' closes no group", id="escaped-close"),
        pytest.param("@article{x, oops", "the last { of '@article{' is never", id="at-sign"),
    ],
)
def test_render_entry_refuses_braces_bibtex_would_not_pair(value: str, brace: str) -> None:
    # BibTeX counts every brace, a backslash before it or not: no escape makes a lone one safe
    record = ImportedRecord("misc", {"title": value}, None, "x")
    with pytest.raises(EvidenceError) as info:
        render_entry(record, "k")
    assert str(info.value).startswith(f"k: title: unbalanced braces: {brace}")


@pytest.mark.parametrize(
    ("name", "text", "line", "key", "field", "brace"),
    [
        pytest.param(
            "items.json",
            '[\n  {"id": "a", "title": "Fine"},\n  {"id": "b",\n   "title": "Stray { brace"}\n]\n',
            3,
            "b",
            "title",
            "the last { of 'Stray {' is never closed",
            id="csl-json",
        ),
        pytest.param(
            "refs.ris",
            "TY  - JOUR\nTI  - Fine\nER  - \n\nTY  - JOUR\nTI  - Fine too\nN1  - a } b\nER  - \n",
            5,
            "",
            "note",
            "the last } of 'a }' closes no group",
            id="ris",
        ),
        pytest.param(
            "refs.bib",
            "@article{a, title = {Fine}}\n\n@article{b,\n  title = {Set a\\{b},\n}\n",
            3,
            "b",
            "title",
            "the last { of 'Set a\\{' is never closed",
            id="bibtex-escaped-brace",
        ),
    ],
)
def test_values_with_unpaired_braces_are_problems_with_their_place(
    tmp_path: Path, name: str, text: str, line: int, key: str, field: str, brace: str
) -> None:
    path = _write(tmp_path, name, text)
    records, problems = read_records(path)
    assert records == []
    assert [(p.line, p.key, p.field, p.code) for p in problems] == [
        (line, key, field, "value.braces")
    ]
    assert problems[0].message.startswith(f"unbalanced braces: {brace}")
    assert problems[0].allowed.startswith("braces in pairs")
    records, _ = read_records(path, skip_invalid=True)
    assert len(records) == 1


@pytest.mark.parametrize(
    ("key", "entry_type", "field"),
    [
        pytest.param("has space", "article", "title", id="key-space"),
        pytest.param("a,b", "article", "title", id="key-comma"),
        pytest.param("", "article", "title", id="key-empty"),
        pytest.param("ok", "art icle", "title", id="type"),
        pytest.param("ok", "article", "ti tle", id="field"),
    ],
)
def test_render_entry_rejects_unwritable_names(key: str, entry_type: str, field: str) -> None:
    with pytest.raises(EvidenceError):
        render_entry(ImportedRecord(entry_type, {field: "x"}, None, "x"), key)


@settings(max_examples=150, deadline=None)
@given(title=st.text(max_size=80), author=st.text(max_size=40), month=st.text(max_size=5))
def test_render_entry_always_parses_to_the_safe_values(title: str, author: str, month: str) -> None:
    record = ImportedRecord(
        "article", {"author": author, "title": title, "month": month}, None, "x"
    )
    if any(brace_problem(_clean_value(v)) for v in record.fields.values()):  # as written
        with pytest.raises(EvidenceError, match="unbalanced braces"):
            render_entry(record, "prop2024")
        return
    entry = _parse_one(render_entry(record, "prop2024"))
    expected = {k: _clean_value(v) for k, v in record.fields.items() if _clean_value(v)}
    assert {f.key: f.value for f in entry.fields} == expected


_SAFE_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters="{}\\"
)


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(st.text(_SAFE_CHARS, min_size=1, max_size=12), min_size=1, max_size=8),
    names=st.lists(
        st.tuples(st.text(_SAFE_CHARS, min_size=1, max_size=10), st.text(_SAFE_CHARS, max_size=10)),
        min_size=1,
        max_size=4,
    ),
    braced=st.booleans(),
)
def test_render_entry_keeps_safe_values_identical(
    words: list[str], names: list[tuple[str, str]], braced: bool
) -> None:
    title = " ".join(words)
    if braced:
        title = "{" + title + "} {x}"
    author = " and ".join(f"{family}, {given}" if given else family for family, given in names)
    record = ImportedRecord("article", {"author": author, "title": title}, None, "x")
    assert _clean_value(title) == title
    entry = _parse_one(render_entry(record, "prop2024"))
    assert entry.fields_dict["title"].value == title
    assert entry.fields_dict["author"].value == author


def test_many_clashing_keys_are_unique_deterministic_and_linear(monkeypatch) -> None:
    import evidence.importers
    from evidence.importers import KeySet
    from evidence.text import letters_suffix

    calls = []

    def counted(n: int) -> str:
        calls.append(n)
        return letters_suffix(n)

    monkeypatch.setattr(evidence.importers, "letters_suffix", counted)
    fields = {"author": "Clash, Carla", "year": "2020", "title": "Ketamine for anxiety"}
    # a key the suffix search must step over, taken before the import
    keys = KeySet(["clash2020ketamine", "CLASH2020KETAMINEC"])
    got = [keys.new_key(fields) for _ in range(2000)]
    base = "clash2020ketamine"
    expected = [base + letters_suffix(n) for n in range(1, 2002) if n != 3]
    assert got == expected
    assert got[:4] == [base + "a", base + "b", base + "d", base + "e"]
    assert got[25:27] == [base + "aa", base + "ab"]
    assert len(set(got)) == 2000
    # linear work: each new key tries one suffix, plus one retry per key already taken
    # (the old search tried every suffix from "a" each time: about 2,000,000 calls)
    assert len(calls) <= 2 * 2000 + 2
    # the same answers as make_key, one record at a time
    assert make_key(fields, ["clash2020ketamine", *got[:5]]) == base + "c"


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in GOOD_FILES if n != "snippet.bib"])
def test_imported_entries_are_already_in_fmt_field_order(name: str) -> None:
    """One field order (formatting.FIELD_ORDER) for `add` and `fmt`: fmt moves no field."""
    from evidence.bib import parse_bib, scan_fields
    from evidence.formatting import format_document

    records, _ = read_records(IMPORTS / name)
    text = "\n".join(render_entry(r, f"k{i}") for i, r in enumerate(records))
    doc = parse_bib(text)
    formatted = parse_bib(format_document(doc).text)
    for before, after in zip(doc.library.entries, formatted.library.entries, strict=True):
        assert [s.key for s in scan_fields(before.raw)] == [s.key for s in scan_fields(after.raw)]


def test_malformed_csl_variables_are_left_out_with_a_note(tmp_path: Path) -> None:
    """Not silently: a note names the item, the variable and what is wrong with it."""
    source = tmp_path / "export.json"
    source.write_text(
        '[{"title": "One", "author": "Roe, R.", "issued": {"date-parts": [[2020, 13]]}},'
        ' {"title": "Two", "author": [{"family": "Roe"}, 5], "issued": "2020"},'
        ' {"title": "Three", "issued": {"date-parts": [["soon"]]}},'
        ' {"title": "Four", "issued": {"season": 1}}]',
        encoding="utf-8",
    )
    records, problems = read_records(source)
    assert problems == []
    assert [(r.fields.get("author", ""), r.fields.get("year", "")) for r in records] == [
        ("", "2020"),
        ("Roe", ""),
        ("", ""),
        ("", ""),
    ]
    assert [list(r.notes) for r in records] == [
        [
            "author: not a list of names (a string), not imported",
            "issued: month 13 is not a month (1-12), not imported",
        ],
        [
            "author: name 2 of 2 has no name in it, not imported",
            "issued: not a date object (a string), not imported",
        ],
        ["issued: year 'soon' is not a year, not imported"],
        ["issued: no date-parts, raw or literal date in it, not imported"],
    ]


_NINES = "9" * 5000


@pytest.mark.parametrize(
    ("parts", "note"),
    [
        ([2020, "\u00b2"], "month '\u00b2' is not a month (1-12)"),
        ([2020, "0"], "month '0' is not a month (1-12)"),
        ([2020, _NINES], f"month '{_NINES}' is not a month (1-12)"),
        (["\u0662\u0660\u0662\u0660"], "year '\u0662\u0660\u0662\u0660' is not a year"),
        ([_NINES], f"year '{_NINES}' is not a year"),
    ],
    ids=["superscript-two", "zero", "5000-digits", "arabic-indic-year", "5000-digit-year"],
)
def test_a_csl_date_part_of_other_digits_is_left_out_with_a_note(tmp_path, parts, note) -> None:
    """Digits that are not ASCII ones, or far too many of them, make a note, not a traceback."""
    source = tmp_path / "export.json"
    item = {"title": "One", "issued": {"date-parts": [parts]}}
    source.write_text(json.dumps([item]), encoding="utf-8")
    records, problems = read_records(source)
    assert problems == []
    assert [list(r.notes) for r in records] == [[f"issued: {note}, not imported"]]


def test_an_undefined_macro_in_a_bibtex_source_is_imported_as_text_with_a_note(tmp_path):
    """As ``validate`` warns of it: never silently. Defined macros, months and numbers are
    read as before, without a note."""
    source = tmp_path / "um.bib"
    source.write_text(
        '@string{jn = "Journal of Things"}\n'
        "@article{u1,\n  author = {A, B},\n  title = {T},\n  journal = undefinedmacro,\n"
        "  year = 2000,\n  month = oct,\n}\n\n"
        "@article{u2,\n  author = {C, D},\n  title = {U},\n  journal = jn,\n  year = 2001,\n}\n",
        encoding="utf-8",
    )
    records, problems = read_records(source)
    assert problems == []
    assert [(r.fields["journal"], list(r.notes)) for r in records] == [
        (
            "undefinedmacro",
            [
                "journal: undefined macro 'undefinedmacro' (no @string defines it); "
                "imported as the text 'undefinedmacro'"
            ],
        ),
        ("Journal of Things", []),
    ]
    assert records[0].fields["month"] == "oct"
