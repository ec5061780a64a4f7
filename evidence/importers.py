"""Reading references exported by other tools: BibTeX, RIS, CSL-JSON and PubMed MEDLINE.

:func:`read_records` turns an export file into :class:`ImportedRecord` objects (a BibTeX entry
type plus normalised BibTeX fields), :func:`make_key` proposes a citation key for one, and
:func:`render_entry` writes one as BibTeX text that :func:`evidence.bib.append_text` can add to
``studies.bib``. Nothing here writes files or prints.

Parsing is forgiving and reporting strict, like the rest of :mod:`evidence`: every malformed
record becomes a :class:`~evidence.errors.Problem` with the file and the line where the record
starts, and by default a file with any problem yields no records at all, so an import is all or
nothing unless the caller asks to skip the bad records.

Normalisation applied to every format except BibTeX (whose fields are kept as written, apart
from ``doi`` and ``pages``):

- authors as ``Family, Given and Family, Given``; organisations in braces (``{WHO Group}``);
- pages with ``--``, abbreviated ends expanded (``958-65`` becomes ``958--965``);
- DOIs without ``https://doi.org/``, ``http://dx.doi.org/`` or ``doi:`` and without whitespace,
  case kept;
- months as the BibTeX macros ``jan`` ... ``dec`` (written bare by :func:`render_entry`);
- every value on one line, whitespace runs collapsed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rispy

from evidence.bib import BRACES_ALLOWED, FIELD_NAME_RE, brace_problem, parse_bib, read_text
from evidence.errors import EvidenceError, Problem
from evidence.formatting import order_fields
from evidence.names import family_name, split_names
from evidence.schema import bare_doi
from evidence.text import ascii_fold, letters_suffix
from evidence.validation import evaluate_expression, failed_block_problem

__all__ = ["ImportedRecord", "KeySet", "make_key", "read_records", "render_entry"]


@dataclass(frozen=True)
class ImportedRecord:
    """One reference read from an export file, ready to become a BibTeX entry.

    Attributes
    ----------
    entry_type
        BibTeX entry type, lower-case: ``article``, ``book``, ``incollection``,
        ``inproceedings``, ``phdthesis``, ``online``, ``misc`` ...
    fields
        BibTeX field name to value, in a conventional order (``author``, ``title``,
        ``journal``, ``year``, ``month``, ``volume``, ``number``, ``pages``, ``doi``, ``pmid``,
        ``pmcid``, ``issn``, ``url``, ``abstract``, ``keywords``, ``note``); BibTeX sources keep
        their own order.
    key
        The citation key the source gave (a BibTeX key, a CSL-JSON ``citation-key`` or
        key-like ``id``), else ``None``.
    source
        Where the record came from: ``file:line`` of the record's first line
        (``pubmed.nbib:12``), or ``file#n`` for the n-th item (from 1) of a CSL-JSON file.
    notes
        Human-readable reports about the conversion (unknown tags dropped or kept, values
        normalised, tags with no BibTeX field).
    """

    entry_type: str
    fields: dict[str, str]
    key: str | None
    source: str
    notes: tuple[str, ...] = ()


# --------------------------------------------------------------------------- constants

_FORMATS = {
    "bibtex": "BibTeX (.bib)",
    "ris": "RIS (.ris)",
    "csljson": "CSL-JSON (.json, .csljson)",
    "medline": "PubMed MEDLINE (.nbib, .medline, .txt)",
}
_EXTENSIONS = {
    ".bib": "bibtex",
    ".ris": "ris",
    ".json": "csljson",
    ".csljson": "csljson",
    ".nbib": "medline",
    ".medline": "medline",
}

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NAMES = {m: m for m in _MONTHS} | {
    "january": "jan",
    "february": "feb",
    "march": "mar",
    "april": "apr",
    "june": "jun",
    "july": "jul",
    "august": "aug",
    "sept": "sep",
    "september": "sep",
    "october": "oct",
    "november": "nov",
    "december": "dec",
}

_RIS_TYPES = {
    "JOUR": "article",
    "JFULL": "article",
    "EJOUR": "article",
    "MGZN": "article",
    "BOOK": "book",
    "EBOOK": "book",
    "EDBOOK": "book",
    "CHAP": "incollection",
    "ECHAP": "incollection",
    "CONF": "inproceedings",
    "CPAPER": "inproceedings",
    "THES": "phdthesis",
    "ELEC": "online",
    "WEB": "online",
    "BLOG": "online",
    "RPRT": "techreport",
}
_CSL_TYPES = {
    "article-journal": "article",
    "article-magazine": "article",
    "article-newspaper": "article",
    "book": "book",
    "chapter": "incollection",
    "paper-conference": "inproceedings",
    "thesis": "phdthesis",
    "webpage": "online",
    "post-weblog": "online",
    "report": "techreport",
}
_EDITED_TYPES = frozenset({"book", "incollection", "inproceedings"})

# rispy's standard RIS tags, plus three common non-standard ones given a name of their own.
_RIS_MAPPING = {**rispy.TAG_KEY_MAPPING, "BT": "book_title", "ED": "editors", "PM": "pubmed_id"}
_RIS_LIST_TAGS = [*rispy.LIST_TYPE_TAGS, "ED"]
_RIS_TAG_OF = {name: tag for tag, name in _RIS_MAPPING.items()}
_RIS_LINE = re.compile(r"([A-Z][A-Z0-9])  -(?: (.*))?")

_MEDLINE_LINE = re.compile(r"(?=[A-Z0-9 ]{4}-)([A-Z][A-Z0-9]{1,3}) *-(?: (.*))?")

_KEY_RE = re.compile(r"[\w:.+/-]+")
_ENTRY_TYPE_RE = re.compile(r"[A-Za-z]+")


# --------------------------------------------------------------------------- public API


def read_records(
    path: str | os.PathLike[str],
    *,
    skip_invalid: bool = False,
    keep_unknown: bool = False,
) -> tuple[list[ImportedRecord], list[Problem]]:
    """Read the references in an export file.

    The format comes from the extension (``.bib``, ``.ris``, ``.json``/``.csljson``,
    ``.nbib``/``.medline``) or, failing that (``.txt`` or anything else), from the content:
    ``TY  -`` starts RIS, ``PMID-`` MEDLINE, ``[`` or ``{`` CSL-JSON, ``@`` BibTeX.

    Parameters
    ----------
    path
        The export file (UTF-8, with or without a byte-order mark).
    skip_invalid
        Return the good records even when others are malformed. By default a file with any
        problem gives no records, so the caller can refuse the whole import.
    keep_unknown
        RIS only: keep the values of non-standard tags in the entry's ``note`` field
        (``Z9: 12``). Either way each one is reported in the record's ``notes``.

    Returns
    -------
    records, problems
        The records in file order, and one :class:`~evidence.errors.Problem` per malformed
        record (file, line where the record starts, what is wrong).

    Raises
    ------
    EvidenceError
        If the file cannot be read, is empty, is not UTF-8, or is in none of the accepted
        formats.

    Examples
    --------
    >>> records, problems = read_records("pubmed.nbib")  # doctest: +SKIP
    >>> records[0].fields["pages"]  # doctest: +SKIP
    '1302--1305'
    """
    shown = str(path)
    text = _read_text(Path(path), shown)
    fmt = _detect_format(Path(path), text)
    if fmt is None:
        accepted = ", ".join(_FORMATS.values())
        raise EvidenceError(f"{shown}: not a reference file this can import (accepted: {accepted})")
    name = Path(path).name
    if fmt == "bibtex":
        records, problems = _read_bibtex(text, shown, name)
    elif fmt == "ris":
        records, problems = _read_ris(text, shown, name, keep_unknown=keep_unknown)
    elif fmt == "csljson":
        records, problems = _read_csljson(text, shown, name)
    else:
        records, problems = _read_medline(text, shown, name)
    problems.sort(key=lambda p: p.line)
    if problems and not skip_invalid:
        return [], problems
    return records, problems


def make_key(fields: Mapping[str, str], existing: Collection[str]) -> str:
    """Propose a citation key: ``<family><year><word>``, made unique against ``existing``.

    The pattern, exactly:

    1. ``<family>``: the family name of the first author -- the first name of ``author``
       (split on `` and `` outside braces); of that, the part before the first comma, or
       for ``Given von Family`` the words from the first lower-case word before the last
       one on (else the last word), or for a braced organisation ``{...}`` its first word
       -- ASCII-folded, with everything but the letters a-z dropped after lower-casing.
       ``anon`` if there is no author.
    2. ``<year>``: the first four digits in a row in ``year``; left out if there are none.
    3. ``<word>``: the first word of ``title`` (split on whitespace, hyphens, dashes and
       slashes), ASCII-folded and lower-cased, with everything but a-z and 0-9 dropped,
       that is not empty and not one of these stop words: a, an, the, of, on, in, for, and,
       to, with, at, by, from, is, are, via, using, its, as, into, onto, than, that, this,
       these, those, be, was, were, or, not, nor, but, vs, versus, do, does, how, what,
       which, who, whom, why, when, where, can, after, before, during, between, among,
       under, over, about, against, through, within, without, de, la, le, les, der, die,
       das, und, et, el, los, del. Left out if there is none.

    ASCII-folding: LaTeX commands are dropped (``\\o``, ``\\ss``, ``\\aa``, ``\\ae``,
    ``\\oe``, ``\\l``, ``\\i``, ``\\j`` give their letters); ß, æ, œ, ø, ł, đ, þ and ı
    are spelled ss, ae, oe, o, l, d, th, i; then the text is NFKD-normalised and every
    non-ASCII character dropped. So ``Dahlén`` gives ``dahlen``, ``Anderson-Fahey`` gives
    ``andersonfahey`` and ``Drug's`` gives ``drugs``.

    If the key is taken (compared case-insensitively with ``existing``), a suffix is added:
    ``a``, ``b``, ... ``z``, then ``aa``, ``ab``, ... -- so the second study with the same
    base key gets ``...a``.

    Parameters
    ----------
    fields
        BibTeX fields (names compared case-insensitively); ``author``, ``year`` and
        ``title`` are used.
    existing
        Keys already in use.

    Returns
    -------
    str
        The key, e.g. ``smith2017effects`` or ``dahlen2022randomized``.

    Examples
    --------
    >>> make_key({"author": "Dahlén, Anna D", "year": "2022", "title": "The trial"}, [])
    'dahlen2022trial'
    >>> fields = {"author": "Smith, P", "year": "2017", "title": "Drug's effects"}
    >>> make_key(fields, ["smith2017drugs"])
    'smith2017drugsa'
    """
    return KeySet(existing).new_key(fields)


def _base_key(fields: Mapping[str, str]) -> str:
    """``<family><year><word>`` of :func:`make_key`, before any suffix."""
    family = _first_family(_get(fields, "author"))
    year_match = re.search(r"\d{4}", _get(fields, "year"))
    year = year_match.group(0) if year_match else ""
    return (family or "anon") + year + _first_title_word(_get(fields, "title"))


class KeySet:
    """Citation keys in use (compared ignoring case, as BibTeX does), handing out new ones.

    :meth:`new_key` gives the key :func:`make_key` would give against the keys in the set, and
    adds it. Many records with one base key cost linear time in all: the set remembers, per
    base, the suffix after the last one it handed out, and a suffix once taken stays taken, so
    the search never goes back over taken suffixes.

    >>> keys = KeySet(["smith2017drugs"])
    >>> fields = {"author": "Smith, P", "year": "2017", "title": "Drug's effects"}
    >>> [keys.new_key(fields) for _ in range(3)]
    ['smith2017drugsa', 'smith2017drugsb', 'smith2017drugsc']
    """

    def __init__(self, existing: Iterable[str] = ()):
        self._taken = {key.lower() for key in existing}
        self._next: dict[str, int] = {}  # lower-case base -> first suffix number not yet tried

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._taken

    def __len__(self) -> int:
        return len(self._taken)

    def add(self, key: str) -> None:
        """Mark ``key`` as taken."""
        self._taken.add(key.lower())

    def new_key(self, fields: Mapping[str, str]) -> str:
        """A free key for ``fields`` (see :func:`make_key`), now taken."""
        base = _base_key(fields)
        low = base.lower()
        if low not in self._taken:
            self._taken.add(low)
            return base
        n = self._next.get(low, 1)
        while (low + letters_suffix(n)) in self._taken:
            n += 1
        self._next[low] = n + 1
        key = base + letters_suffix(n)
        self._taken.add(key.lower())
        return key


def render_entry(record: ImportedRecord, key: str, indent: str = "  ") -> str:
    """BibTeX text of one entry: ``@type{key,``, one ``name = {value},`` per line, ``}``.

    Values are written in braces, except a month that is one of the macros ``jan`` ...
    ``dec``, which is written bare (``month = oct``). Each value is first put on one line:
    whitespace (newlines included) collapsed to single spaces and trailing backslashes
    removed. A value that is already so is written unchanged, so reading the text back with
    :func:`bibtexparser.parse_string` gives the same values. Empty values are left out. A
    value whose braces do not pair up as BibTeX counts them
    (:func:`evidence.bib.unpaired_braces`: every brace counts, ``\\{`` too) is refused, not
    repaired: :func:`read_records` reports such a record with its place in the source.

    Parameters
    ----------
    record
        The record to write.
    key
        Its citation key (letters, digits and ``_:.+/-``).
    indent
        Put before each field line.

    Returns
    -------
    str
        The entry with LF newlines, ending in a newline.

    Raises
    ------
    EvidenceError
        If the key, the entry type, a field name or a value's braces cannot be written as
        BibTeX.

    Examples
    --------
    >>> rec = ImportedRecord("article", {"title": "A {B} test", "month": "oct"}, None, "x")
    >>> print(render_entry(rec, "doe2020test"), end="")
    @article{doe2020test,
      title = {A {B} test},
      month = oct,
    }
    """
    if not _KEY_RE.fullmatch(key):
        raise EvidenceError(
            f"{key!r} is not a valid citation key (use letters, digits and _:.+/- only)"
        )
    if not _ENTRY_TYPE_RE.fullmatch(record.entry_type):
        raise EvidenceError(f"{record.entry_type!r} is not a valid BibTeX entry type")
    lines = [f"@{record.entry_type}{{{key},"]
    for name, raw in record.fields.items():
        if not FIELD_NAME_RE.fullmatch(name):
            raise EvidenceError(f"{name!r} is not a valid BibTeX field name")
        problem = brace_problem(_clean_value(raw))  # as written: a final \ is dropped
        if problem:
            raise EvidenceError(f"{key}: {name}: {problem}; write {BRACES_ALLOWED}")
        if name.lower() == "outcomes":  # one row per line: keep the rows, cleaned one by one
            rows = [_clean_value(row) for row in str(raw).splitlines() if row.strip()]
            if rows:
                body = "".join(f"\n{indent * 2}{row}" for row in rows)
                lines.append(f"{indent}{name} = {{{body}\n{indent}}},")
            continue
        value = _clean_value(raw)
        if not value:
            continue
        if name.lower() == "month" and value.lower() in _MONTHS:
            lines.append(f"{indent}{name} = {value},")
        else:
            lines.append(f"{indent}{name} = {{{value}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- reading files


def _read_text(path: Path, shown: str) -> str:
    text = read_text(path, "a reference file", "references")
    return text.removeprefix("\ufeff")


def _detect_format(path: Path, text: str) -> str | None:
    """Format by extension, else by the first non-blank line, else by a tell-tale line."""
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is not None:
        return fmt
    first = text.lstrip()
    if first.startswith("TY  -"):
        return "ris"
    if first.startswith("PMID-"):
        return "medline"
    if first.startswith(("[", "{")):
        return "csljson"
    if first.startswith("@"):
        return "bibtex"
    if re.search(r"^TY  - ", text, re.M):
        return "ris"
    if re.search(r"^PMID- ", text, re.M):
        return "medline"
    if re.search(r"^\s*@\s*[A-Za-z]+\s*[{(]", text, re.M):
        return "bibtex"
    return None


def _problem(
    file: str, line: int, code: str, message: str, key: str = "", field: str = "", allowed: str = ""
) -> Problem:
    return Problem(
        file=file, line=line, key=key, field=field, message=message, allowed=allowed, code=code
    )


def _keep(record: ImportedRecord, problems: list[Problem], file: str, line: int) -> bool:
    """Whether ``record`` can be written as BibTeX. If not, why is added to ``problems``: a
    ``value.braces`` problem for each value whose braces do not pair up as BibTeX counts them
    (:func:`evidence.bib.brace_problem`). Such a value is refused, not repaired: no repair is
    sure to say what the source meant (a ``\\{`` may want its ``\\}``, or stand alone)."""
    found = [
        _problem(file, line, "value.braces", problem, record.key or "", name, BRACES_ALLOWED)
        for name, value in record.fields.items()
        if (problem := brace_problem(_clean_value(value)))  # as written (a final \ dropped)
    ]
    problems.extend(found)
    return not found


# --------------------------------------------------------------------------- BibTeX


def _read_bibtex(text: str, shown: str, name: str) -> tuple[list[ImportedRecord], list[Problem]]:
    library = parse_bib(text, shown).library  # CR-only line ends read as the file's lines
    problems = [failed_block_problem(block, shown) for block in library.failed_blocks]
    records: list[ImportedRecord] = []
    strings = {b.key.lower(): str(b.value) for b in library.strings}
    for entry in library.entries:
        line = (entry.start_line or 0) + 1
        fields: dict[str, str] = {}
        notes: list[str] = []
        for f in entry.fields:
            value = f.value if isinstance(f.value, str) else str(f.value)
            if f.enclosing == "no-enclosing":
                evaluated, code, problem = evaluate_expression(value, strings)
                if code:  # an undefined macro (validate warns of it): kept as text, and said
                    notes.append(f"{f.key}: {problem}; imported as the text {value!r}")
                elif "#" in value or value.lower() in strings:
                    # the source's macros and # concatenations, resolved (month macros bare)
                    value = evaluated
            lower = f.key.lower()
            if lower == "doi":
                value = _note_change(notes, "doi", value, bare_doi(value))
            elif lower == "pages":
                value = _note_change(notes, "pages", value, _normalise_pages(value))
            fields[f.key] = value
        if not _get(fields, "title").strip():
            problems.append(
                _problem(
                    shown,
                    line,
                    "import.title-missing",
                    "entry has no title",
                    key=entry.key,
                    field="title",
                )
            )
            continue
        record = ImportedRecord(
            entry.entry_type.lower(), fields, entry.key, f"{name}:{line}", tuple(notes)
        )
        if _keep(record, problems, shown, line):
            records.append(record)
    return records, problems


def _note_change(notes: list[str], name: str, old: str, new: str) -> str:
    if new != old:
        notes.append(f"{name} normalised from {old!r} to {new!r}")
    return new


# --------------------------------------------------------------------------- RIS


@dataclass
class _RisChunk:
    start: int
    lines: list[str]
    has_type: bool
    errors: list[str]


def _split_ris(text: str, shown: str) -> tuple[list[_RisChunk], list[Problem]]:
    """Cut RIS text into records (``TY`` ... ``ER``), reporting structural damage."""
    chunks: list[_RisChunk] = []
    problems: list[Problem] = []
    current: _RisChunk | None = None

    def close(error: str | None = None) -> None:
        nonlocal current
        if current is not None:
            if error:
                current.errors.append(error)
            chunks.append(current)
        current = None

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _RIS_LINE.fullmatch(line)
        if m is None:
            if current is not None and raw[:1].isspace():
                current.lines.append(line)  # continuation of the previous tag's value
            elif current is not None:
                current.errors.append(
                    f"line {lineno} is not a RIS line (expected 'XX  - value'): {line[:60]!r}"
                )
            else:
                problems.append(
                    _problem(
                        shown,
                        lineno,
                        "import.ris",
                        f"not a RIS line (expected 'XX  - value'): {line[:60]!r}",
                    )
                )
            continue
        tag = m.group(1)
        if tag == "TY":
            if current is not None:
                close(f"no ER line before the next record starts on line {lineno}")
            current = _RisChunk(lineno, [line], True, [])
        elif tag == "ER":
            if current is None:
                message = "ER line with no record before it"
                problems.append(_problem(shown, lineno, "import.ris", message))
                continue
            current.lines.append(line)
            close()
        else:
            if current is None:
                current = _RisChunk(lineno, [], False, [])
            current.lines.append(line)
    close("no ER line before the end of the file")
    return chunks, problems


def _read_ris(
    text: str, shown: str, name: str, *, keep_unknown: bool
) -> tuple[list[ImportedRecord], list[Problem]]:
    chunks, problems = _split_ris(text, shown)
    records: list[ImportedRecord] = []
    for chunk in chunks:
        errors = list(chunk.errors)
        if not chunk.has_type:
            errors.insert(0, "record has no TY line (each RIS record starts with 'TY  - TYPE')")
        if errors:
            problems.extend(_problem(shown, chunk.start, "import.ris", e) for e in errors)
            continue
        body = chunk.lines if chunk.lines[-1].startswith("ER") else [*chunk.lines, "ER  - "]
        parsed = rispy.loads("\n".join(body), mapping=_RIS_MAPPING, list_tags=_RIS_LIST_TAGS)
        record = _ris_record(parsed[0], f"{name}:{chunk.start}", keep_unknown=keep_unknown)
        if not record.fields.get("title"):
            problems.append(
                _problem(
                    shown,
                    chunk.start,
                    "import.title-missing",
                    "record has no title (TI or T1)",
                    field="title",
                )
            )
            continue
        if _keep(record, problems, shown, chunk.start):
            records.append(record)
    return records, problems


def _ris_record(rec: dict[str, Any], source: str, *, keep_unknown: bool) -> ImportedRecord:
    used = {"type_of_reference", "end_of_reference", "unknown_tag"}

    def take(*names: str) -> str:
        for n in names:
            value = rec.get(n)
            if isinstance(value, list):
                value = value[0] if value else ""
            if value and str(value).strip():
                used.add(n)
                return _one_line(str(value))
        return ""

    def take_all(*names: str) -> list[str]:
        out: list[str] = []
        for n in names:
            value = rec.get(n)
            if value is None:
                continue
            used.add(n)
            items = value if isinstance(value, list) else [value]
            out.extend(_one_line(str(v)) for v in items if str(v).strip())
        return out

    ris_type = str(rec.get("type_of_reference", "")).strip().upper()
    entry_type = _RIS_TYPES.get(ris_type, "misc")
    fields: dict[str, str] = {}
    notes: list[str] = []
    fields["author"] = _join_names(
        _person(a, org_if_uninverted=True) for a in _unique(take_all("first_authors", "authors"))
    )
    if entry_type in _EDITED_TYPES:
        fields["editor"] = _join_names(
            _person(a, org_if_uninverted=True)
            for a in _unique(take_all("secondary_authors", "editors"))
        )
    fields["title"] = take("title", "primary_title")
    if entry_type == "article":
        fields["journal"] = take(
            "alternate_title3",
            "journal_name",
            "secondary_title",
            "alternate_title2",
            "alternate_title1",
        )
    elif entry_type in {"incollection", "inproceedings"}:
        fields["booktitle"] = take("book_title", "secondary_title")
    elif entry_type == "book":
        fields["series"] = take("secondary_title")
    publisher = take("publisher")
    fields["school" if entry_type == "phdthesis" else "publisher"] = publisher
    year = month = ""
    for n in ("year", "publication_year", "date"):
        value = take(n)
        y, m = _year_month(value)
        year = year or y
        month = month or m
    fields["year"], fields["month"] = year, month
    fields["volume"] = take("volume")
    fields["number"] = take("number")
    start, end = take("start_page"), take("end_page")
    if start and end and start != end:
        fields["pages"] = _normalise_pages(f"{start}-{end}")
    else:
        fields["pages"] = _normalise_pages(start or end)
    fields["doi"] = bare_doi(take("doi"))
    pmid, pmcid = _ris_ids(rec, used)
    fields["pmid"], fields["pmcid"] = pmid, pmcid
    isbn_or_issn = take("issn")
    fields["isbn" if entry_type == "book" else "issn"] = _strip_qualifier(isbn_or_issn)
    urls = take_all("urls")
    fields["url"] = urls[0] if urls else ""
    if len(urls) > 1:
        notes.append(f"{len(urls) - 1} more URL(s) not imported: {', '.join(urls[1:])}")
    fields["abstract"] = take("abstract", "notes_abstract")
    fields["keywords"] = "; ".join(_unique(take_all("keywords")))
    note_parts = take_all("notes")

    unknown: dict[str, list[str]] = rec.get("unknown_tag") or {}
    for tag in sorted(unknown):
        values = [_one_line(v) for v in unknown[tag] if v.strip()]
        shown_values = "; ".join(values)
        if keep_unknown:
            notes.append(f"unknown RIS tag {tag} ({shown_values!r}) kept in note")
            note_parts.append(f"{tag}: {shown_values}")
        else:
            notes.append(f"unknown RIS tag {tag} ({shown_values!r}) dropped")
    fields["note"] = "; ".join(note_parts)
    ignored = sorted(_RIS_TAG_OF.get(n, n) for n in rec if n not in used)
    if ignored:
        notes.append(f"RIS tags with no BibTeX field, not imported: {', '.join(ignored)}")
    return ImportedRecord(entry_type, _ordered(fields), None, source, tuple(notes))


def _ris_ids(rec: Mapping[str, Any], used: set[str]) -> tuple[str, str]:
    """PMID and PMCID from ``PM``, ``AN`` (``PMID:...``, or digits in PubMed/MEDLINE) and ``C2``."""
    pmid = pmcid = ""
    database = str(rec.get("name_of_database", "")).lower()
    from_pubmed = "pubmed" in database or "medline" in database
    for name in ("pubmed_id", "accession_number", "custom2"):
        raw = rec.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        value = raw.strip()
        if m := re.fullmatch(r"(?i)pmc\s*(\d+)", value):
            pmcid = pmcid or f"PMC{m.group(1)}"
            used.add(name)
        elif m := re.fullmatch(r"(?i)pmid\s*:?\s*(\d+)", value):
            pmid = pmid or m.group(1)
            used.add(name)
        elif value.isdigit() and (name != "accession_number" or from_pubmed):
            pmid = pmid or value
            used.add(name)
    return pmid, pmcid


# --------------------------------------------------------------------------- MEDLINE


def _read_medline(text: str, shown: str, name: str) -> tuple[list[ImportedRecord], list[Problem]]:
    blocks: list[tuple[int, list[list[str]], list[str]]] = []
    current: tuple[int, list[list[str]], list[str]] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not line.strip():
            current = None
            continue
        if current is None:
            current = (lineno, [], [])
            blocks.append(current)
        items, errors = current[1], current[2]
        m = _MEDLINE_LINE.fullmatch(line)
        if m is not None:
            items.append([m.group(1), _one_line(m.group(2) or "")])
        elif raw.startswith(" ") and items:
            items[-1][1] = _one_line(items[-1][1] + " " + line)
        else:
            errors.append(
                f"line {lineno} is not a MEDLINE line (expected 'TAG - value' or an indented "
                f"continuation): {line[:60]!r}"
            )
    records: list[ImportedRecord] = []
    problems: list[Problem] = []
    for start, items, errors in blocks:
        pmid = next((v for t, v in items if t == "PMID" and v), "")
        if not pmid:
            errors.append("record has no PMID line (each MEDLINE record starts with 'PMID- ')")
        if not any(t == "TI" and v for t, v in items):
            errors.append(f"record{f' PMID {pmid}' if pmid else ''} has no title (TI)")
        if errors:
            problems.extend(_problem(shown, start, "import.medline", e) for e in errors)
            continue
        record = _medline_record(items, f"{name}:{start}")
        if _keep(record, problems, shown, start):
            records.append(record)
    return records, problems


def _medline_record(items: list[list[str]], source: str) -> ImportedRecord:
    def first(tag: str) -> str:
        return next((v for t, v in items if t == tag and v), "")

    # Each author is FAU (full) then AU (initials); prefer FAU, fall back on a lone AU.
    names: list[str] = []
    after_full = False
    for tag, value in items:
        if tag == "FAU":
            names.append(_person(value, org_if_uninverted=False))
            after_full = True
        elif tag == "AU":
            if not after_full:
                names.append(_person(value, org_if_uninverted=False))
            after_full = False
        elif tag == "CN":
            names.append("{" + value + "}")
            after_full = False
    title = first("TI")
    if title.endswith(".") and not title.endswith(".."):
        title = title[:-1]
    year, month = _year_month(first("DP"))
    doi = ""
    for tag, value in items:
        if tag in ("LID", "AID") and value.endswith("[doi]"):
            doi = bare_doi(value[: -len("[doi]")])
            break
    keywords: list[str] = []
    for tag, value in items:
        if tag == "MH":
            keywords.append(value.split("/", 1)[0].replace("*", "").strip())
        elif tag == "OT":
            keywords.append(value.replace("*", "").strip())
    fields = {
        "author": _join_names(names),
        "title": title,
        "journal": first("JT") or first("TA"),
        "year": year,
        "month": month,
        "volume": first("VI"),
        "number": first("IP"),
        "pages": _normalise_pages(first("PG")),
        "doi": doi,
        "pmid": first("PMID"),
        "pmcid": first("PMC"),
        "issn": _strip_qualifier(first("IS")),
        "abstract": first("AB"),
        "keywords": "; ".join(_unique(keywords)),
    }
    return ImportedRecord("article", _ordered(fields), None, source)


# --------------------------------------------------------------------------- CSL-JSON


class _NoNumber(ValueError):
    """A JSON number no bibliographic value can be: ``args`` are its text and why."""


def _parse_json_int(digits: str) -> int:
    limit = sys.get_int_max_str_digits()
    if limit and len(digits.lstrip("-")) > limit:
        raise _NoNumber(digits, f"has {len(digits.lstrip('-'))} digits (more than {limit})")
    return int(digits)


def _parse_json_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999, or a few thousand digits with a point
        raise _NoNumber(text, "is too large for any floating-point number (it would read as inf)")
    return value


def _parse_json_constant(name: str) -> float:
    raise _NoNumber(name, "is no number in standard JSON")


#: The JSON reader of CSL-JSON sources: every number it reads is one a value can be.
_JSON = json.JSONDecoder(
    parse_int=_parse_json_int, parse_float=_parse_json_float, parse_constant=_parse_json_constant
)


#: Nesting depth reported as too deep when the JSON parser runs out of recursion.
_JSON_DEPTH_SHOWN = 1000


def _outside_strings(text: str) -> Iterator[tuple[int, str]]:
    """Each character of JSON ``text`` outside its strings, with its offset."""
    in_string, escaped = False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        else:
            yield i, ch


def _json_depth_line(text: str, depth: int) -> int:
    """1-based line where the nesting of ``[``/``{`` (outside strings) first exceeds ``depth``."""
    level = 0
    for i, ch in _outside_strings(text):
        if ch in "[{":
            level += 1
            if level > depth:
                return text.count("\n", 0, i) + 1
        elif ch in "]}":
            level -= 1
    return 1


def _json_value_line(text: str, literal: str) -> int:
    """1-based line of the first JSON value ``literal`` (a number, ``NaN``) outside strings."""
    previous = ""
    for i, ch in _outside_strings(text):
        if ch == literal[0] and previous not in _NUMBER_CHARS and text.startswith(literal, i):
            after = text[i + len(literal) : i + len(literal) + 1]
            if after not in _NUMBER_CHARS:
                return text.count("\n", 0, i) + 1
        previous = ch
    return 1


#: Characters a JSON number or constant is made of (a value ends at any other).
_NUMBER_CHARS = frozenset("0123456789+-.eEINaninfity")


def _read_csljson(text: str, shown: str, name: str) -> tuple[list[ImportedRecord], list[Problem]]:
    try:
        data = _JSON.decode(text)
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        return [], [_problem(shown, exc.lineno, "import.json", message)]
    except _NoNumber as exc:
        literal, why = exc.args
        line = _json_value_line(text, literal)
        shown_number = literal if len(literal) <= 24 else f"{literal[:12]}…{literal[-8:]}"
        message = f"the number {shown_number} {why}: no bibliographic value"
        return [], [_problem(shown, line, "import.json-number", message)]
    except RecursionError:
        line = _json_depth_line(text, _JSON_DEPTH_SHOWN)
        message = f"JSON nested too deeply to read (more than {_JSON_DEPTH_SHOWN} levels)"
        return [], [_problem(shown, line, "import.json-depth", message)]
    if isinstance(data, dict):
        items = data["items"] if isinstance(data.get("items"), list) else [data]
    elif isinstance(data, list):
        items = data
    else:
        message = "expected a JSON list of CSL items (objects)"
        return [], [_problem(shown, 1, "import.json-shape", message)]
    lines = _json_item_lines(text, len(items))
    records: list[ImportedRecord] = []
    problems: list[Problem] = []
    for index, item in enumerate(items, 1):
        line = lines[index - 1]
        if not isinstance(item, dict):
            message = f"item {index} is not a JSON object"
            problems.append(_problem(shown, line, "import.json-shape", message))
            continue
        record = _csl_record(item, f"{name}#{index}")
        if not record.fields.get("title"):
            problems.append(
                _problem(
                    shown,
                    line,
                    "import.title-missing",
                    f"item {index} has no title",
                    key=record.key or "",
                    field="title",
                )
            )
            continue
        if _keep(record, problems, shown, line):
            records.append(record)
    return records, problems


def _json_item_lines(text: str, n: int) -> list[int]:
    """1-based line on which each of the ``n`` items of a JSON list starts (best effort)."""
    decoder = _JSON
    lines: list[int] = []
    pos = text.find("[")
    if pos >= 0 and not text.lstrip().startswith("{"):
        pos += 1
        line, counted = 1, 0  # newlines are counted once, from where the last count stopped
        try:
            while len(lines) < n:
                while pos < len(text) and (text[pos].isspace() or text[pos] == ","):
                    pos += 1
                line += text.count("\n", counted, pos)
                counted = pos
                lines.append(line)
                _, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:  # pragma: no cover - the text was already parsed once
            pass
    first = text.count("\n", 0, len(text) - len(text.lstrip())) + 1
    return (lines + [first] * n)[:n]


_CSL_USED = frozenset(
    {
        "id",
        "type",
        "citation-key",
        "citationKey",
        "author",
        "editor",
        "title",
        "container-title",
        "container-title-short",
        "journalAbbreviation",
        "issued",
        "volume",
        "issue",
        "page",
        "DOI",
        "PMID",
        "PMCID",
        "ISSN",
        "ISBN",
        "URL",
        "abstract",
        "keyword",
        "publisher",
        "publisher-place",
        "edition",
        "collection-title",
        "note",
    }
)


def _csl_record(item: Mapping[str, Any], source: str) -> ImportedRecord:
    def get(name: str) -> str:
        value = item.get(name)
        if value is None or isinstance(value, dict | list):
            return ""
        return _one_line(str(value))

    entry_type = _CSL_TYPES.get(get("type"), "misc")
    notes: list[str] = []
    note_lines: list[str] = []
    extra: dict[str, str] = {}
    for line in str(item.get("note") or "").splitlines():
        m = re.fullmatch(r"\s*(PMID|PMCID|Citation Key)\s*:\s*(\S+)\s*", line, re.I)
        if m:
            extra[m.group(1).lower()] = m.group(2)
        elif line.strip():
            note_lines.append(_one_line(line))
    key = get("citation-key") or get("citationKey") or extra.get("citation key", "")
    if not key and re.fullmatch(r"[A-Za-z][\w:.+-]*", get("id")):
        key = get("id")
    fields: dict[str, str] = {
        "author": _join_names(_csl_names(item, "author", notes)),
        "title": get("title"),
    }
    if entry_type in _EDITED_TYPES:
        fields["editor"] = _join_names(_csl_names(item, "editor", notes))
    container = get("container-title") or get("container-title-short")
    container = container or get("journalAbbreviation")
    if entry_type == "article":
        fields["journal"] = container
    elif entry_type in {"incollection", "inproceedings"}:
        fields["booktitle"] = container
    elif entry_type == "book":
        fields["series"] = get("collection-title")
    fields["edition"] = get("edition")
    fields["school" if entry_type == "phdthesis" else "publisher"] = get("publisher")
    fields["address"] = get("publisher-place")
    fields["year"], fields["month"] = _csl_date(item.get("issued"), notes)
    fields["volume"] = get("volume")
    fields["number"] = get("issue")
    fields["pages"] = _normalise_pages(get("page"))
    fields["doi"] = bare_doi(get("DOI"))
    fields["pmid"] = get("PMID") or extra.get("pmid", "")
    pmcid = get("PMCID") or extra.get("pmcid", "")
    fields["pmcid"] = pmcid if not pmcid or pmcid.upper().startswith("PMC") else f"PMC{pmcid}"
    fields["issn"] = get("ISSN")
    fields["isbn"] = get("ISBN")
    fields["url"] = get("URL")
    fields["abstract"] = get("abstract")
    keyword = item.get("keyword")
    if isinstance(keyword, list):
        words = [str(k) for k in keyword]
    else:
        text = str(keyword or "")
        words = text.split(";") if ";" in text else text.split(",")
    fields["keywords"] = "; ".join(_unique(_one_line(w) for w in words if w.strip()))
    fields["note"] = "; ".join(note_lines)
    ignored = sorted(k for k in item if k not in _CSL_USED)
    if ignored:
        notes.append(f"CSL variables with no BibTeX field, not imported: {', '.join(ignored)}")
    return ImportedRecord(entry_type, _ordered(fields), key or None, source, tuple(notes))


def _csl_names(item: Mapping[str, Any], variable: str, notes: list[str]) -> list[str]:
    """The names of a CSL name variable (a list of name objects); what is malformed in it is
    left out with a note saying so, never silently."""
    value = item.get(variable)
    if value is None:
        return []
    if not isinstance(value, list):
        notes.append(f"{variable}: not a list of names ({_json_kind(value)}), not imported")
        return []
    names = [_csl_name(person) for person in value]
    skipped = [i for i, name in enumerate(names, 1) if not name]
    if skipped:
        which = ", ".join(map(str, skipped))
        notes.append(f"{variable}: name {which} of {len(names)} has no name in it, not imported")
    return [name for name in names if name]


def _json_kind(value: Any) -> str:
    """What a JSON value is, for a note: ``a string``, ``an object``…"""
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return (
        "an object"
        if isinstance(value, Mapping)
        else "a list"
        if isinstance(value, list)
        else "null"
    )


def _csl_name(person: Any) -> str:
    if not isinstance(person, Mapping):
        return ""
    if person.get("literal"):
        return "{" + _one_line(str(person["literal"])) + "}"
    family = _one_line(str(person.get("family") or ""))
    given = _one_line(str(person.get("given") or ""))
    particles = [
        _one_line(str(person.get(p) or "")) for p in ("dropping-particle", "non-dropping-particle")
    ]
    family = " ".join(p for p in [*particles, family] if p)
    suffix = _one_line(str(person.get("suffix") or ""))
    if not family:
        return "{" + given + "}" if given else ""
    if given and suffix:
        return f"{family}, {suffix}, {given}"
    return f"{family}, {given}" if given else family


def _csl_date(issued: Any, notes: list[str]) -> tuple[str, str]:
    """Year and month macro of a CSL date (``date-parts``, else ``raw`` or ``literal``); what
    cannot be read is left out with a note."""
    if issued is None:
        return "", ""
    if not isinstance(issued, Mapping):
        notes.append(f"issued: not a date object ({_json_kind(issued)}), not imported")
        return "", ""
    parts = issued.get("date-parts")
    if isinstance(parts, list) and parts and isinstance(parts[0], list) and parts[0]:
        first = parts[0]
        year = str(first[0]).strip()
        if not re.fullmatch(r"-?[0-9]{1,4}", year):  # ASCII digits, a year's length
            notes.append(f"issued: year {first[0]!r} is not a year, not imported")
            year = ""
        month = _month(first[1]) if len(first) > 1 else ""
        if len(first) > 1 and not month:
            notes.append(f"issued: month {first[1]!r} is not a month (1-12), not imported")
        return year, month
    for name in ("raw", "literal"):
        if isinstance(issued.get(name), str):
            return _year_month(issued[name])
    notes.append("issued: no date-parts, raw or literal date in it, not imported")
    return "", ""


# --------------------------------------------------------------------------- normalisation


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _get(fields: Mapping[str, str], name: str) -> str:
    for key, value in fields.items():
        if key.lower() == name:
            return str(value)
    return ""


def _ordered(fields: Mapping[str, str]) -> dict[str, str]:
    """Non-empty fields in the canonical order of :data:`evidence.formatting.FIELD_ORDER`
    (the one ``evidence fmt`` writes); fields it does not list keep their order, before the
    tail (note, abstract, keywords, file), as there."""
    return {n: fields[n] for n in order_fields(fields) if fields[n]}


def _strip_qualifier(value: str) -> str:
    """``1461-7285 (Electronic)`` -> ``1461-7285``."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", value).strip()


def _month(token: Any) -> str:
    text = str(token).strip().lower().rstrip(".")
    if re.fullmatch(r"[0-9]{1,2}", text):  # ASCII digits only ("²" is a digit to isdigit)
        n = int(text)
        return _MONTHS[n - 1] if 1 <= n <= 12 else ""
    return _MONTH_NAMES.get(text, "")


def _year_month(text: str) -> tuple[str, str]:
    """Year and month macro of ``2017 Oct``, ``2012 Dec 1``, ``2018/01/15/``, ``2018//``."""
    m = re.search(r"(\d{4})(?:[-/ ]+([A-Za-z]+|\d{1,2})\b)?", text)
    if m is None:
        return "", ""
    return m.group(1), _month(m.group(2)) if m.group(2) else ""


_RANGE = re.compile(r"([A-Za-z]*)(\d+)--([A-Za-z]*)(\d+)")


def _normalise_pages(value: str) -> str:
    """Page ranges with ``--``; an abbreviated end is expanded (``958-65`` -> ``958--965``).

    >>> _normalise_pages("964–70")
    '964--970'
    """
    pages = re.sub(r"\s*[-‐‑‒–—―]+\s*", "--", _one_line(value))
    m = _RANGE.fullmatch(pages)
    if m is None:
        return pages
    prefix, start, end_prefix, end = m.groups()
    if end_prefix not in ("", prefix) or len(end) >= len(start):
        return pages
    full = start[: len(start) - len(end)] + end
    if int(full) < int(start):
        return pages
    return f"{prefix}{start}--{prefix}{full}"


_INITIALS = re.compile(r"(?:[A-Z]\.?-?){1,4}")


def _person(name: str, *, org_if_uninverted: bool) -> str:
    """One name as BibTeX ``Family, Given``.

    ``Glue, Paul`` is kept; ``Glue P`` and ``Taylor J.H.`` (family then initials, as
    MEDLINE and Embase write them) become ``Glue, P`` and ``Taylor, J.H.``. Any other name
    without a comma is an organisation (``{...}``) when ``org_if_uninverted``, else it is read
    as ``Given [von] Family``.
    """
    text = _one_line(name).strip(" ,")
    if not text or (text.startswith("{") and text.endswith("}")):
        return text
    if "," in text:
        family, _, given = text.partition(",")
        family, given = family.strip(), given.strip(" ,")
        return f"{family}, {given}" if given else family
    words = text.split()
    if len(words) >= 2 and _INITIALS.fullmatch(words[-1]):
        return f"{' '.join(words[:-1])}, {words[-1]}"
    if org_if_uninverted:
        return "{" + text + "}"
    if len(words) == 1:
        return text
    split = next((i for i in range(1, len(words) - 1) if words[i][:1].islower()), len(words) - 1)
    return f"{' '.join(words[split:])}, {' '.join(words[:split])}"


def _join_names(names: Iterable[str]) -> str:
    return " and ".join(n for n in names if n)


def _clean_value(value: str) -> str:
    """``value`` on one line for ``{...}``: whitespace runs collapsed, no trailing ``\\``
    (which bibtexparser would read as escaping the closing brace). Its braces are left as
    they are (:func:`render_entry` refuses unpaired ones). A value that is already so is
    returned unchanged.
    """
    text = " ".join(str(value).split())
    while text.endswith("\\"):
        text = text[:-1].rstrip()
    return text


# --------------------------------------------------------------------------- keys

_STOPWORDS = frozenset(
    (
        *("a", "an", "the", "of", "on", "in", "for", "and", "to", "with", "at", "by", "from"),
        *("is", "are", "via", "using", "its", "as", "into", "onto", "than", "that", "this"),
        *("these", "those", "be", "was", "were", "or", "not", "nor", "but", "vs", "versus"),
        *("do", "does", "how", "what", "which", "who", "whom", "why", "when", "where", "can"),
        *("after", "before", "during", "between", "among", "under", "over", "about"),
        *("against", "through", "within", "without"),
        *("de", "la", "le", "les", "der", "die", "das", "und", "et", "el", "los", "del"),
    )
)


def _first_family(author: str) -> str:
    """The first author's family name for a key: a braced organisation gives its first word."""
    names = split_names(_one_line(author))
    if not names:
        return ""
    family = family_name(names[0])
    if family.startswith("{") and family.endswith("}"):
        words = family[1:-1].split()
        family = words[0] if words else ""
    return re.sub(r"[^a-z]", "", ascii_fold(family).lower())


def _first_title_word(title: str) -> str:
    for word in re.split(r"[\s\-‐‑‒–—―/]+", ascii_fold(title)):
        token = re.sub(r"[^a-z0-9]", "", word.lower())
        if token and token not in _STOPWORDS:
            return token
    return ""
