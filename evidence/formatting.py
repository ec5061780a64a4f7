"""An opt-in canonical layout of a ``.bib`` file, for teams that want one style (``evidence fmt``).

The canonical form: ``@type{key,`` with the type lower-cased; one field per line, indented two
spaces, ``name = value,`` with lower-case names and a comma after every field; fields in
:data:`FIELD_ORDER` (bibliographic fields, then the outcome schema's, then any others in
their original order, then note, abstract, keywords, file); ``"quoted"`` values re-enclosed
in braces (macros, ``#`` concatenations and bare numbers stay bare); outcome rows one per line
indented four spaces; exactly one blank line between blocks; the file's own line ending.
Comments, ``@string`` and ``@preamble`` blocks are kept verbatim. Formatting is idempotent:
formatting a formatted file changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bibtexparser.model import Entry

from evidence.bib import BibDocument, scan_fields
from evidence.errors import EditError
from evidence.schema import ROWS_FIELDS, STUDY_FIELDS

__all__ = ["FIELD_ORDER", "FormatResult", "format_document", "order_fields"]

_BIB_ORDER = (
    "author",
    "editor",
    "title",
    "shorttitle",
    "booktitle",
    "journal",
    "journaltitle",
    "year",
    "date",
    "month",
    "volume",
    "number",
    "issue",
    "pages",
    "eid",
    "edition",
    "series",
    "publisher",
    "school",
    "institution",
    "organization",
    "address",
    "location",
    "doi",
    "pmid",
    "pmcid",
    "isbn",
    "issn",
    "url",
    "urldate",
    "langid",
)
_TAIL = ("note", "abstract", "keywords", "file")

#: Canonical field order; fields not listed keep their relative order before the tail.
FIELD_ORDER: tuple[str, ...] = (*_BIB_ORDER, *(s.name for s in STUDY_FIELDS), *_TAIL)


@dataclass(frozen=True)
class FormatResult:
    """The formatted text and the keys of the entries whose text changed."""

    text: str
    changed_keys: tuple[str, ...]
    other_changes: bool  # blank lines or non-entry blocks changed

    def changed(self, original: str) -> bool:
        """Whether formatting changes ``original``."""
        return self.text != original


def _value(raw_value: str, name: str) -> str:
    v = raw_value.strip()
    if v.startswith('"') and v.endswith('"') and "#" not in v:
        v = "{" + v[1:-1] + "}"
    if name in ROWS_FIELDS and v.startswith("{") and v.endswith("}"):
        rows = [line.strip() for line in v[1:-1].splitlines() if line.strip()]
        v = "{\n" + "".join(f"    {row}\n" for row in rows) + "  }"
    return v


_RANK = {name: i for i, name in enumerate(FIELD_ORDER)}
_UNLISTED = len(_BIB_ORDER) + len(STUDY_FIELDS) - 0.5  # unlisted fields: just before the tail


def order_fields(names: Iterable[str]) -> list[str]:
    """``names`` in the canonical field order (:data:`FIELD_ORDER`, compared ignoring case):
    unlisted names keep their relative order, after the listed ones but before the tail
    (note, abstract, keywords, file).

    >>> order_fields(["note", "x-rating", "year", "title", "author"])
    ['author', 'title', 'year', 'x-rating', 'note']
    """
    indexed = list(enumerate(names))
    indexed.sort(key=lambda item: (_RANK.get(item[1].lower(), _UNLISTED), item[0]))
    return [name for _, name in indexed]


def _render_entry(entry: Entry, raw: str) -> str:
    spans = scan_fields(raw)
    names = [s.key.lower() for s in spans]
    lines = [f"@{entry.entry_type.lower()}{{{entry.key},"]
    for position in sorted(range(len(names)), key=lambda i: (_RANK.get(names[i], _UNLISTED), i)):
        name = names[position]
        span = spans[position]
        lines.append(f"  {name} = {_value(raw[span.value_start : span.value_end], name)},")
    lines.append("}")
    return "\n".join(lines)


def format_document(doc: BibDocument, sort: str = "none") -> FormatResult:
    """Canonical text of ``doc``; ``sort`` is ``none`` (keep order), ``key`` or ``year``.

    With sorting, non-entry blocks (comments, macros, preambles) come first in their original
    order, then the entries sorted (by key, case-insensitively; or by year then key).

    Raises
    ------
    EditError
        If the file has BibTeX syntax errors (it cannot be formatted safely).
    """
    if doc.library.failed_blocks:
        first = doc.library.failed_blocks[0]
        raise EditError(
            f"{doc.path}:{(first.start_line or 0) + 1}: cannot format a file with BibTeX "
            "syntax errors (run `evidence validate`)"
        )
    if sort not in ("none", "key", "year"):
        raise ValueError(f"sort must be one of none, key, year; got {sort!r}")
    pieces: list[tuple[str, str | None, str]] = []  # (original, key, formatted)
    for block in doc.library.blocks:
        span = doc.span(block)
        original = doc.text[span[0] : span[1]] if span else (block.raw or "")
        original = original.replace("\r\n", "\n")
        if isinstance(block, Entry):
            try:
                rendered = _render_entry(block, original)
            except EditError as exc:  # where, in the file: the entry's line and key
                line = (block.start_line or 0) + 1
                raise EditError(f"{doc.path}:{line}: {block.key}: {exc}") from None
            pieces.append((original, block.key, rendered))
        else:
            pieces.append((original, None, original.rstrip()))
    if sort != "none":
        others = [p for p in pieces if p[1] is None]
        entries = [p for p in pieces if p[1] is not None]
        years = {
            e.key: str(e.fields_dict["year"].value) if "year" in e else ""
            for e in doc.library.entries
        }
        if sort == "key":
            entries.sort(key=lambda p: (p[1] or "").lower())
        else:
            entries.sort(key=lambda p: (years.get(p[1] or "", ""), (p[1] or "").lower()))
        pieces = others + entries
    nl = doc.newline
    text = ("\n\n".join(p[2] for p in pieces) + "\n").replace("\n", nl)
    changed = tuple(p[1] for p in pieces if p[1] is not None and p[0] != p[2])
    return FormatResult(text, changed, text != doc.text and not changed)
