"""bibtexparser's parse, with a faster way over braced field values.

bibtexparser (v2) splits a file by stepping from one "mark" (``{ } " , = @`` and newlines) to the
next in Python, so a long braced value (an abstract, an author list) costs one step per comma
and per line. :class:`Splitter` jumps over a ``{...}`` value in one go -- a regular-expression
scan for its braces -- and then hands back to bibtexparser's own code, which does everything
else (quoted values, macros, comments, recovery from syntax errors). A value containing ``@``
(which may start a new block and abort the entry) is left to bibtexparser entirely, and the
line count skips exactly the newlines bibtexparser counts, so the result is the same
:class:`~bibtexparser.Library`, block for block (``tests/test_splitter.py`` compares them).

>>> parse_string("@article{k, title = {A, b}}").entries[0]["title"]
'A, b'
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bibtexparser import splitter as _bibtexparser_splitter
from bibtexparser.entrypoint import default_parse_stack
from bibtexparser.library import Library
from bibtexparser.model import Field

__all__ = ["Splitter", "parse_string"]


def _braced(depth: int) -> str:
    """A ``{...}`` value nested at most ``depth`` deep, holding no ``@``: a brace after a
    backslash is text, as bibtexparser counts them. Possessive runs and atomic groups: fast,
    and no backtracking into another reading of the braces."""
    text = r"[^{}@\\]++|\\[{}]?+"
    pattern = r"\{(?>" + text + r")*+\}"
    for _ in range(depth - 1):
        pattern = r"\{(?>" + text + "|" + pattern + r")*+\}"
    return pattern


# Whitespace, then a braced value (up to 6 levels deep).
_VALUE = re.compile(r"\s*+(" + _braced(6) + ")")
# One whole field of a `{`-delimited entry as bibtexparser reads it when nothing unusual
# happens: key, `=`, a braced or bare value, then `,` or the closing `}` -- with no other mark
# (`{ } " , = @`, and no backslash) outside the braces.
_FIELD = re.compile(
    r'(?P<key>[^=,{}"@\\]*+)=(?P<value>\s*+(?:'
    + _braced(6)
    + r'|[^\s,{}"=@\\]++))(?P<tail>[^,{}"=@\\]*+)(?P<end>[,}])'
)


class Splitter(_bibtexparser_splitter.Splitter):
    """bibtexparser's splitter, skipping braced field values in one scan."""

    # bibtexparser leaves these unannotated, so mypy takes their types from their first
    # assignments there (`None`, and `m.start()` of a match typed `None`); their real types:
    _markiter: Iterator[re.Match[str]] | None  # type: ignore[assignment]  # bibtexparser's is `None`
    _current_char_index: int

    def _move_to_comma_or_closing_delimiter(
        self, currently_quote_escaped: bool = False, num_open_curls: int = 0
    ) -> int:
        if not currently_quote_escaped and not num_open_curls and self._unaccepted_mark is None:
            self._skip_braced_value()
        return super()._move_to_comma_or_closing_delimiter(currently_quote_escaped, num_open_curls)

    def _move_to_end_of_entry(self, first_key_start: int) -> tuple[list[Field], int, set[str]]:
        """Read the fields with :data:`_FIELD` while they match, then bibtexparser's way."""
        if self._closing_delimiter != "}" or self._unaccepted_mark is not None:
            return super()._move_to_end_of_entry(first_key_start)
        text = self.bibstr
        fields: list[Field] = []
        pos, line = first_key_start, self._current_line
        while (m := _FIELD.match(text, pos)) is not None:
            key = m.group("key")
            # bibtexparser's field line is the line of the `=`; it counts the newlines that
            # are marks (not after a backslash; only the braced value may hold one)
            start_line = line + key.count("\n")
            seen = text[pos : m.end()]
            line += seen.count("\n") - seen.count("\\\n")
            value = text[m.start("value") : m.start("end")].strip()
            fields.append(Field(start_line=start_line, key=key.strip(), value=value))
            pos = m.end()
            if m.group("end") == "}":  # the end of the entry
                self._current_line = line
                self._current_char_index = m.start("end")
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


def parse_string(text: str) -> Library:
    """What ``bibtexparser.parse_string(text)`` returns (its default parse stack), faster."""
    library = Splitter(bibstr=text).split()
    for middleware in default_parse_stack(allow_inplace_modification=True):
        library = middleware.transform(library=library)
    return library
