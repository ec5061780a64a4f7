"""bibtexparser's parse, with a faster way over braced field values.

bibtexparser (v2) splits a file by stepping from one "mark" (``{ } " , = @`` and newlines) to the
next in Python, so a long braced value (an abstract, an author list) costs one step per comma
and per line. :class:`Splitter` jumps over a ``{...}`` value in one go -- a regular-expression
scan for its braces -- and then hands back to bibtexparser's own code, which does everything
else (quoted values, macros, comments, recovery from syntax errors). A value containing ``@``
(which may start a new block and abort the entry) is left to bibtexparser entirely, and the
line count skips exactly the newlines bibtexparser counts, so the result is the same
:class:`~bibtexparser.Library`, block for block (``tests/test_splitter.py`` compares them).

bibtexparser's default parse stack (string references resolved, then enclosing braces and
quotes removed) follows with shortcuts that change nothing in the result: a file without
``@string`` has no reference to resolve, so that step is skipped and each entry's enclosing
goes as soon as the entry is read (``Splitter(remove_enclosing=True)``), not in a second pass
over the library; and a value that is one ``{...}`` group loses its braces with one
regular-expression match (:func:`_remove_enclosing`), any other through bibtexparser's own
code. The garbage collector is paused meanwhile (:func:`evidence.gcpause.no_collection`).

>>> parse_string("@article{k, title = {A, b}}").entries[0]["title"]
'A, b'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bibtexparser import splitter as _bibtexparser_splitter
from bibtexparser.library import Library
from bibtexparser.middlewares import RemoveEnclosingMiddleware, ResolveStringReferencesMiddleware
from bibtexparser.model import Entry, Field, ParsingFailedBlock

from evidence.gcpause import no_collection

__all__ = ["RemoveEnclosing", "Splitter", "parse_string"]


def _braced(depth: int) -> str:
    """A ``{...}`` value nested at most ``depth`` deep, holding no ``@``: a brace after a
    backslash is text, as bibtexparser counts them (BibTeX counts every brace: that rule is
    :func:`evidence.bib.unpaired_braces`, and ``validate`` checks each value against it).
    Possessive runs and atomic groups: fast, and no backtracking into another reading of the
    braces."""
    text = r"[^{}@\\]++|\\[{}]?+"
    pattern = r"\{(?>" + text + r")*+\}"
    for _ in range(depth - 1):
        pattern = r"\{(?>" + text + "|" + pattern + r")*+\}"
    return pattern


# A value that is one `{...}` group, its first brace closed by its last: what bibtexparser's
# enclosing removal strips (it counts braces not after a backslash, as this does).
_ENCLOSED = re.compile(_braced(6))
# Whitespace, then a braced value (up to 6 levels deep).
_VALUE = re.compile(r"\s*+(" + _braced(6) + ")")
# One whole field of a `{`-delimited entry as bibtexparser reads it when nothing unusual
# happens: key, `=`, a braced or bare value and what follows it up to `,` or the closing `}`,
# with no other mark (`{ } " , = @`, and no backslash) outside the braces. Groups: the key
# (with the whitespace before it), the value (with the whitespace around it), the end.
_FIELD = re.compile(
    r'([^=,{}"@\\]*+)=(\s*+(?:' + _braced(6) + r'|[^\s,{}"=@\\]++)[^,{}"=@\\]*+)([,}])'
)


class Splitter(_bibtexparser_splitter.Splitter):
    """bibtexparser's splitter, skipping braced field values in one scan; with
    ``remove_enclosing`` (for a file without ``@string``) it also removes each entry's
    enclosing braces and quotes as the entry is read."""

    # bibtexparser leaves these unannotated, so mypy takes their types from their first
    # assignments there (`None`, and `m.start()` of a match typed `None`); their real types:
    _markiter: Iterator[re.Match[str]] | None  # type: ignore[assignment]  # bibtexparser's is `None`
    _current_char_index: int

    def __init__(self, bibstr: str, remove_enclosing: bool = False):
        super().__init__(bibstr)
        self.remove_enclosing = remove_enclosing

    def _move_to_comma_or_closing_delimiter(
        self, currently_quote_escaped: bool = False, num_open_curls: int = 0
    ) -> int:
        if not currently_quote_escaped and not num_open_curls and self._unaccepted_mark is None:
            self._skip_braced_value()
        return super()._move_to_comma_or_closing_delimiter(currently_quote_escaped, num_open_curls)

    def _handle_entry(self, m: re.Match[str], m_val: str) -> Entry | ParsingFailedBlock:
        """bibtexparser's, then with ``remove_enclosing`` what :class:`RemoveEnclosing` does
        to an entry (not to one with a repeated field: that is a failed block, which the
        middleware leaves as it is)."""
        block = super()._handle_entry(m, m_val)
        if self.remove_enclosing and isinstance(block, Entry):
            _remove_enclosing(block)
        return block

    def _move_to_end_of_entry(self, first_key_start: int) -> tuple[list[Field], int, set[str]]:
        """Read the fields with :data:`_FIELD` while they match, then bibtexparser's way."""
        if self._closing_delimiter != "}" or self._unaccepted_mark is not None:
            return super()._move_to_end_of_entry(first_key_start)
        text = self.bibstr
        fields: list[Field] = []
        append = fields.append
        match = _FIELD.match
        pos, line = first_key_start, self._current_line
        while (m := match(text, pos)) is not None:
            key, value, end = m.groups()
            # bibtexparser's field line is the line of the `=`; it counts the newlines that
            # are marks (not after a backslash; only the value may hold one)
            start_line = line + key.count("\n")
            line = start_line + value.count("\n") - value.count("\\\n")
            append(Field(start_line=start_line, key=key.strip(), value=value.strip()))
            pos = m.end()
            if end == "}":  # the end of the entry
                self._current_line = line
                self._current_char_index = pos - 1
                self._markiter = _bibtexparser_splitter._MARK_PATTERN.finditer(text, pos)
                return fields, pos, _duplicates(fields)
        # something else: bibtexparser reads the rest, from just after the last comma
        self._current_line = line
        self._markiter = _bibtexparser_splitter._MARK_PATTERN.finditer(text, pos)
        rest, end, _ = super()._move_to_end_of_entry(pos)
        fields += rest
        return fields, end, _duplicates(fields)

    def _skip_braced_value(self) -> None:
        """If a ``{...}`` value starts after the ``=`` just read, move past its closing brace."""
        text = self.bibstr
        start = self._current_char_index + 1  # just after the `=`
        m = _VALUE.match(text, start)
        if m is None:
            return  # not braced, nested too deep, unbalanced or holding `@`: bibtexparser's way
        end = m.end() - 1  # the closing brace
        skipped = text[start : end + 1]
        # bibtexparser counts the newlines that are marks: those not after a backslash
        self._current_line += skipped.count("\n") - skipped.count("\\\n")
        pattern = (
            _bibtexparser_splitter._PAREN_BLOCK_MARK_PATTERN
            if self._closing_delimiter == ")"
            else _bibtexparser_splitter._MARK_PATTERN
        )
        self._markiter = pattern.finditer(text, end + 1)
        self._current_char_index = end


def _duplicates(fields: list[Field]) -> set[str]:
    """Keys given more than once."""
    seen: set[str] = set()
    twice: set[str] = set()
    for f in fields:
        (twice if f.key in seen else seen).add(f.key)
    return twice


def _remove_enclosing(entry: Entry) -> None:
    """What bibtexparser's enclosing removal does to an entry, taking a value that is one
    ``{...}`` group (:data:`_ENCLOSED`) with one regular-expression match instead of its scan
    in Python; any other value goes through bibtexparser's own code."""
    metadata: dict[str, str | None] = {}
    enclosed = _ENCLOSED.fullmatch
    general = RemoveEnclosingMiddleware._strip_enclosing
    for field in entry.fields:
        value = field.value
        if value[-1:] == "}" and enclosed(value) is not None:
            field.value = value[1:-1]
            metadata[field.key] = "{"
            continue
        stripped, enclosing = general(value)
        field.value = stripped
        if enclosing == "no-enclosing" and not stripped.isdigit():
            field.enclosing = "no-enclosing"  # as bibtexparser: string references stay bare
        metadata[field.key] = enclosing
    entry.parser_metadata[RemoveEnclosingMiddleware.metadata_key()] = metadata


class RemoveEnclosing(RemoveEnclosingMiddleware):
    """bibtexparser's :class:`~bibtexparser.middlewares.RemoveEnclosingMiddleware`, faster on
    entries (:func:`_remove_enclosing`)."""

    def transform_entry(self, entry: Entry, library: Library) -> Entry:
        _remove_enclosing(entry)
        return entry


#: A file without this (in any case) has no ``@string`` block: bibtexparser takes any block
#: whose type starts with "string" for one.
_STRING_BLOCK = re.compile("@string", re.IGNORECASE)


def parse_string(text: str) -> Library:
    """What ``bibtexparser.parse_string(text)`` returns (its default parse stack), faster."""
    with no_collection():
        if _STRING_BLOCK.search(text) is None:
            # no macro to resolve, so each entry's enclosing can go as soon as it is read
            return Splitter(bibstr=text, remove_enclosing=True).split()
        library = Splitter(bibstr=text).split()
        library = ResolveStringReferencesMiddleware(True).transform(library=library)
        return RemoveEnclosing(True).transform(library=library)
