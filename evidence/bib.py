"""Lossless reading, editing and atomic writing of ``.bib`` files.

bibtexparser (v2) splits and parses the file; this module keeps the original text beside the
parsed :class:`bibtexparser.Library` and records where every block sits in it. Writing is
splicing: an edit replaces only the characters of the field it changes, so every other byte
(comments, ``@string`` macros, field order, quoting, blank lines, CRLF endings, a BOM) is kept.
bibtexparser's own writer re-renders every block, which is why it is not used for saving.

This is the only module that writes ``.bib`` files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from bibtexparser.library import Library
from bibtexparser.model import Block, Entry
from filelock import FileLock, Timeout

from evidence.errors import BibFileError, EditError
from evidence.files import not_regular, write_atomically
from evidence.splitter import parse_string

__all__ = [
    "BRACES_ALLOWED",
    "FIELD_NAME_RE",
    "LOCK_TIMEOUT",
    "TRAILING_BACKSLASH",
    "BibDocument",
    "FieldSpan",
    "append_text",
    "brace_problem",
    "lock_path",
    "locked",
    "parse_bib",
    "read_bib",
    "read_text",
    "scan_fields",
    "set_fields",
    "sha256_text",
    "unpaired_braces",
    "write_bib",
]

_BOM = "\ufeff"

# bibtexparser logs every failed block as a warning; evidence reports them as problems instead.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class FieldSpan:
    """Where one ``key = value`` field sits inside an entry's raw text (character offsets)."""

    key: str
    key_start: int
    value_start: int
    value_end: int
    comma_end: int  # end of the trailing comma, or == value_end when there is none
    has_comma: bool


@dataclass
class BibDocument:
    """A parsed ``.bib`` file together with its exact original text.

    Attributes
    ----------
    path
        The path as given (used in messages).
    text
        The decoded text, without a leading BOM.
    library
        bibtexparser's parse of ``text`` (default parse stack: macros resolved, enclosing
        braces and quotes removed).
    bom
        Whether the file started with a UTF-8 byte-order mark (kept on writing).
    cr
        Whether the file's lines end in a lone CR (classic Mac OS). Such a file is read with
        every CR turned into LF -- a one-for-one substitution, so every offset and line number
        stays that of the file -- and :func:`write_bib` turns them back (``cr=True``).
    """

    path: str
    text: str
    library: Library
    bom: bool = False
    cr: bool = False
    _spans: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)

    @property
    def newline(self) -> str:
        """The dominant line ending of :attr:`text`, used for inserted lines (``\\n`` for a
        CR-only file, whose :attr:`text` holds LF until :func:`write_bib` writes CR)."""
        crlf = self.text.count("\r\n")
        return "\r\n" if crlf and crlf * 2 >= self.text.count("\n") else "\n"

    @property
    def sha256(self) -> str:
        """SHA-256 of the file's bytes as read (to detect concurrent changes)."""
        return sha256_text(self.text, self.bom, self.cr)

    def text_only(self) -> BibDocument:
        """This document with an empty :attr:`library`: the text and how it was read, for a
        reader done with bibtexparser's blocks (an evidence base's records hold every value;
        ``evidence build`` keeps no more, about 75 MiB less at 10,000 entries). No entry can
        be found or edited through it."""
        return replace(self, library=Library(), _spans={})

    def span(self, block: Block) -> tuple[int, int] | None:
        """Character span of ``block`` in :attr:`text`, or ``None`` if it could not be located."""
        return self._spans.get(id(block))

    def entry(self, key: str) -> Entry:
        """The entry with citation key ``key`` (raises :class:`EditError` if there is none)."""
        entry = self.library.entries_dict.get(key)
        if entry is None:
            from evidence.validation import failed_block_problem

            for block in self.library.failed_blocks:  # there, but bibtexparser could not read it
                problem = failed_block_problem(block, str(self.path))
                if problem.key == key and problem.code != "key.duplicate":
                    raise EditError(f"{problem}; fix it by hand first (the entry cannot be edited)")
            raise EditError(f"{self.path}: no entry with key {key!r}")
        return entry


def sha256_text(text: str, bom: bool = False, cr: bool = False) -> str:
    """SHA-256 hex digest of ``text`` encoded as the file stores it."""
    return hashlib.sha256(_file_bytes(text, bom, cr)).hexdigest()


def _file_bytes(text: str, bom: bool, cr: bool) -> bytes:
    """The bytes of a file holding ``text`` (with a BOM; with CR line ends)."""
    return ((_BOM if bom else "") + (text.replace("\n", "\r") if cr else text)).encode("utf-8")


def read_text(
    path: str | os.PathLike[str], what: str = "a .bib file", expected: str = "BibTeX entries"
) -> str:
    """The UTF-8 text of a file, or :class:`BibFileError` with a one-line reason.

    Missing files, directories, unreadable, empty and non-UTF-8 files each get their own
    message (with the line of the first bad byte). Anything but a regular file (a named pipe,
    a device such as ``/dev/zero``, a socket) is refused before it is opened, so reading never
    hangs or runs forever; a file too large for memory is refused too. A leading BOM is kept.
    """
    shown = str(path)
    try:
        refused = not_regular(os.stat(path).st_mode, what)
        if refused:
            raise BibFileError(f"{shown}: {refused}")
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise BibFileError(f"{shown}: no such file") from None
    except PermissionError:
        raise BibFileError(f"{shown}: permission denied") from None
    except OSError as exc:
        raise BibFileError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    except MemoryError:
        raise BibFileError(f"{shown}: too large to read (out of memory)") from None
    if not data.strip():
        raise BibFileError(f"{shown}: file is empty (expected {expected})")
    try:
        return data.decode("utf-8")
    except MemoryError:
        raise BibFileError(f"{shown}: too large to read (out of memory)") from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BibFileError(
            f"{shown}:{line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); re-save the file as UTF-8"
        ) from None


def read_bib(path: str | os.PathLike[str]) -> BibDocument:
    """Read and parse a ``.bib`` file, keeping its exact text.

    Raises
    ------
    BibFileError
        If the file is missing, is a directory or another non-regular file, is empty, is not
        valid UTF-8, or is too large to read and parse in memory; the message is one line
        saying which.
    """
    text = read_text(path)
    try:
        return parse_bib(text, str(path))
    except MemoryError:
        del text
        raise BibFileError(f"{path}: too large to parse (out of memory)") from None


def parse_bib(text: str, path: str = "<string>") -> BibDocument:
    """Parse BibTeX ``text`` into a :class:`BibDocument` (locating every block in the text).

    A text whose lines end in a lone CR (no LF anywhere) is parsed with CR read as LF
    (:attr:`BibDocument.cr`), so its line numbers are right and edits keep its CR endings.
    """
    bom = text.startswith(_BOM)
    if bom:
        text = text[1:]
    cr = "\r" in text and "\n" not in text
    if cr:
        text = text.replace("\r", "\n")
    library = parse_string(text)  # bibtexparser's parse, faster over braced values
    doc = BibDocument(path=path, text=text, library=library, bom=bom, cr=cr)
    pos = 0
    find = text.find
    for block in library.blocks:
        raw = block.raw
        if not raw:
            continue
        start = find(raw, pos)
        if start < 0:
            continue
        end = start + len(raw)
        doc._spans[id(block)] = (start, end)
        pos = end
    return doc


# --------------------------------------------------------------------------- braces

_NOT_BRACES = re.compile(r"[^{}]++")
_ESCAPED_BRACE = re.compile(r"(?<=\\)[{}]")  # a brace LaTeX prints, bibtexparser reads as text

#: What a value's braces may be, said once for every message that refuses or reports one.
BRACES_ALLOWED = (
    r"braces in pairs, {...} or \{...\}, and a lone brace as {\textbraceleft} or "
    r"{\textbraceright}"
)


#: Why a value may not end in a backslash, and what to write instead (:func:`brace_problem`;
#: ``validate`` adds it to the syntax error of an entry that has one). bibtexparser takes any
#: brace after a backslash for text, even after an escaped one (``\\``: a line break), so the
#: brace that closes ``{Line\\}`` does not close it for bibtexparser, which reads on into the
#: next entry (python-bibtexparser pull request 598, open).
TRAILING_BACKSLASH = (
    "a value may not end in a backslash: bibtexparser, which reads the file, takes the brace "
    "that closes it for text and reads on into what follows (end it otherwise: "
    "\\newline for a line break, \\textbackslash{} for a backslash)"
)


def unpaired_braces(text: str) -> list[int]:
    r"""Offsets of the braces in ``text`` that have no partner, counted BibTeX's way.

    The one brace rule for values, used by editing (``set``), importing (``add``), validating
    and the name and expression readers. BibTeX counts every ``{`` and ``}``, whatever comes
    before it: a backslash does not escape a brace (LaTeX's ``\{`` is a literal brace in the
    output, but to BibTeX, and pybtex, it still opens a group). So ``Set a\{b`` leaves a
    group open and BibTeX reads the value on past its end, taking in what follows. A literal
    brace is written in pairs (``\{a\}``) or alone as ``{\textbraceleft}`` or
    ``{\textbraceright}``.

    bibtexparser, which reads ``.bib`` files for evidence, takes a brace after a backslash
    for text (as :mod:`evidence.splitter` and :func:`scan_fields`, which must find the
    values it found, do too), so a value it reads can still break this rule; ``validate``
    reports such values.

    >>> unpaired_braces(r"A {B} and \{C\}")
    []
    >>> unpaired_braces(r"Set a\{b")
    [6]
    >>> unpaired_braces("}{")
    [0, 1]
    """
    if "{" not in text and "}" not in text:
        return []
    braces = _NOT_BRACES.sub("", text)
    while "{}" in braces:  # quick answer for the usual case: every brace has a partner
        braces = braces.replace("{}", "")
    if not braces:
        return []
    unpaired: list[int] = []
    open_at: list[int] = []
    for i, ch in enumerate(text):
        if ch == "{":
            open_at.append(i)
        elif ch == "}":
            if open_at:
                open_at.pop()
            else:
                unpaired.append(i)
    return sorted(unpaired + open_at)


def brace_problem(text: str) -> str:
    r"""What is wrong with the braces of ``text`` as BibTeX counts them (:func:`unpaired_braces`),
    in one line for a message, or ``""`` when every brace has a partner.

    A value must also pair its braces with ``\{`` and ``\}`` read as text, as LaTeX prints
    them and as bibtexparser reads them: ``x\{}`` pairs for BibTeX, but LaTeX and
    bibtexparser end the group elsewhere (bibtexparser would read ``{x\{}}`` as the value
    ``x\{`` and take what follows for text between entries).

    >>> brace_problem(r"Set a\{b").split(" (")[0]
    "unbalanced braces: the last { of 'Set a\\{' is never closed"
    >>> brace_problem(r"x\{}").split(" (")[0]
    "unbalanced braces: the last } of 'x\\{}' closes no group once \\{ and \\} are text"
    >>> brace_problem("ok {x}")
    ''
    """
    unpaired = unpaired_braces(text)
    if unpaired:
        return _describe_brace(text, unpaired, "", "BibTeX counts every brace, backslash or not")
    if text.endswith("\\"):
        return TRAILING_BACKSLASH
    if "\\{" not in text and "\\}" not in text:
        return ""
    unpaired = unpaired_braces(_ESCAPED_BRACE.sub("_", text))  # same offsets, \{ \} as text
    if unpaired:
        rule = "as LaTeX prints them and bibtexparser reads them; pair \\{ with \\}, { with }"
        return _describe_brace(text, unpaired, " once \\{ and \\} are text", rule)
    return ""


def _describe_brace(text: str, unpaired: list[int], condition: str, rule: str) -> str:
    i = unpaired[0]
    shown = " ".join(text[max(0, i - 20) : i + 1].split())
    if i > 20:
        shown = "..." + shown
    what = "is never closed" if text[i] == "{" else "closes no group"
    more = f" ({len(unpaired) - 1} more brace(s) without a partner)" if len(unpaired) > 1 else ""
    return f"unbalanced braces: the last {text[i]} of '{shown}' {what}{condition}{more} ({rule})"


# --------------------------------------------------------------------------- field scanning

#: What a BibTeX field name may be, the one rule used by reading, validating, editing and
#: importing: a letter or ``_`` first (BibTeX and biber accept a leading underscore; neither
#: accepts a leading digit), then letters, digits, ``_`` and ``:.+-``.
FIELD_NAME_RE = re.compile(r"[A-Za-z_][\w:.+-]*")

_KEY_RE = re.compile(r"\s*([^\s=,{}()\"#]+)\s*=\s*", re.S)
#: An entry's head: ``@type{key,`` (the key ends at a comma, a space or the entry's end:
#: ``@misc{m1}`` has the key ``m1`` and no fields).
_HEAD_RE = re.compile(r"@\s*[A-Za-z][\w-]*\s*([{(])\s*[^,\s})]*\s*,?", re.S)


def _scan_value(raw: str, i: int, close: str) -> int:
    """Index just past the value (a ``#``-concatenation of tokens) starting at ``i``.

    This finds the value bibtexparser read, so it counts braces its way (a brace after a
    backslash is text), not BibTeX's (:func:`unpaired_braces`): an entry whose value breaks
    BibTeX's rule (reported by ``validate``) can still have its other fields edited.
    """
    n = len(raw)
    while True:
        while i < n and raw[i].isspace():
            i += 1
        if i >= n:
            raise EditError("unterminated field value")
        ch = raw[i]
        if ch == "{":
            depth = 0
            while i < n:
                if raw[i] == "{" and (i == 0 or raw[i - 1] != "\\"):
                    depth += 1
                elif raw[i] == "}" and raw[i - 1] != "\\":
                    depth -= 1
                    if depth == 0:
                        break
                i += 1
            if i >= n:
                raise EditError("unbalanced braces in field value")
            i += 1
        elif ch == '"':
            i += 1
            depth = 0
            while i < n and not (raw[i] == '"' and depth == 0 and raw[i - 1] != "\\"):
                if raw[i] == "{":
                    depth += 1
                elif raw[i] == "}":
                    depth -= 1
                i += 1
            if i >= n:
                raise EditError("unterminated quoted field value")
            i += 1
        else:
            start = i
            while i < n and not raw[i].isspace() and raw[i] not in ",#" + close:
                i += 1
            if i == start:
                raise EditError(f"expected a field value, found {raw[i]!r}")
        j = i
        while j < n and raw[j].isspace():
            j += 1
        if j < n and raw[j] == "#":
            i = j + 1
            continue
        return i


def scan_fields(raw: str) -> list[FieldSpan]:
    """Locate every field of an entry's raw text (``@type{key, a = {..}, b = 1}``).

    Used only for entries being edited, so loading stays as fast as bibtexparser alone.
    """
    head = _HEAD_RE.match(raw)
    if head is None:
        raise EditError("not an entry")
    close = "}" if head.group(1) == "{" else ")"
    i = head.end()
    spans: list[FieldSpan] = []
    n = len(raw)
    while True:
        m = _KEY_RE.match(raw, i)
        if m is None:
            rest = raw[i:].strip()
            if rest and rest != close:
                snippet = " ".join(rest.split())[:40]
                raise EditError(f"cannot read the fields of this entry near {snippet!r}")
            break
        key_start = m.start(1)
        value_start = m.end()
        value_end = _scan_value(raw, value_start, close)
        j = value_end
        while j < n and raw[j].isspace():
            j += 1
        has_comma = j < n and raw[j] == ","
        comma_end = j + 1 if has_comma else value_end
        spans.append(FieldSpan(m.group(1), key_start, value_start, value_end, comma_end, has_comma))
        i = comma_end
        if not has_comma:
            break
    return spans


# --------------------------------------------------------------------------- editing


def _render_value(value: str, old_raw: str | None) -> str:
    """Enclose ``value`` the way the field it replaces was enclosed (braces by default); its
    braces are paired (:func:`set_fields` checks)."""
    if old_raw is not None:
        if old_raw.startswith('"') and old_raw.endswith('"') and '"' not in value:
            return f'"{value}"'
        if old_raw.isdigit() and value.isdigit():
            return value
    return "{" + value + "}"


def _line_start(text: str, i: int) -> int:
    return text.rfind("\n", 0, i) + 1


def _apply(raw: str, edits: list[tuple[int, int, str]]) -> str:
    """Apply non-overlapping ``(start, end, replacement)`` edits to ``raw``."""
    for start, end, new in sorted(edits, reverse=True):
        raw = raw[:start] + new + raw[end:]
    return raw


def _remove_fields(raw: str, names: set[str]) -> str:
    """``raw`` without the fields in ``names`` (lower-case); each takes its line with it."""
    spans = scan_fields(raw)
    edits: list[tuple[int, int, str]] = []
    for index, span in enumerate(spans):
        if span.key.lower() not in names:
            continue
        prev = spans[index - 1] if index else None
        if not span.has_comma and prev is not None and prev.key.lower() not in names:
            # last field without a trailing comma: take the separating comma with it,
            # so the entry keeps its no-trailing-comma style
            edits.append((prev.value_end, span.value_end, ""))
            continue
        start, end = span.key_start, span.comma_end
        ls = _line_start(raw, start)
        rest = raw[end:]
        stripped = rest.lstrip(" \t")
        if not raw[ls:start].strip() and stripped.startswith(("\r\n", "\n")):
            # the field has its own line: remove the whole line, newline included
            end += len(rest) - len(stripped) + (2 if stripped.startswith("\r\n") else 1)
            start = ls
        elif stripped.startswith(("\r\n", "\n")):
            # the last field of a shared line (the entry's head's): the space before it too
            while start > ls and raw[start - 1] in " \t":
                start -= 1
            end += len(rest) - len(stripped)
        else:
            end += len(rest) - len(stripped)
        edits.append((start, end, ""))
    return _apply(raw, edits)


def _new_field_text(raw: str, anchor: FieldSpan, name: str, value: str) -> str:
    """``name = {value}`` laid out like the ``anchor`` field (spacing, alignment)."""
    eq = raw.index("=", anchor.key_start + len(anchor.key))
    key_width = eq - anchor.key_start  # key plus padding before "="
    aligned = key_width > len(anchor.key) + 1 and key_width > len(name)
    pad = " " * (key_width - len(name)) if aligned else raw[anchor.key_start + len(anchor.key) : eq]
    return f"{name}{pad}={raw[eq + 1 : anchor.value_start]}{_render_value(value, None)}"


def _set_values(raw: str, values: Mapping[str, str], newline: str) -> str:
    """``raw`` with existing fields' values replaced and new fields appended."""
    spans = scan_fields(raw)
    by_key = {s.key.lower(): s for s in spans}
    edits: list[tuple[int, int, str]] = []
    additions: list[tuple[str, str]] = []
    for name, value in values.items():
        span = by_key.get(name.lower())
        if span is None:
            additions.append((name, value))
            continue
        old = raw[span.value_start : span.value_end]
        new = _render_value(value, old)
        if new != old:
            edits.append((span.value_start, span.value_end, new))
    if additions:
        if not spans:
            head = _HEAD_RE.match(raw)
            assert head is not None
            text = "".join(f"{newline}  {k} = {_render_value(v, None)}," for k, v in additions)
            if not head.group().endswith(","):  # @misc{m1}: the key's comma first
                text = "," + text
            rest = raw[head.end() :]
            if newline not in rest[: len(rest) - len(rest.lstrip())]:  # the end on its own line
                text += newline
            edits.append((head.end(), head.end(), text))
        else:
            anchor = spans[-1]
            ls = _line_start(raw, anchor.key_start)
            indent = raw[ls : anchor.key_start]
            pieces = [_new_field_text(raw, anchor, k, v) for k, v in additions]
            if indent.strip():  # fields share lines: continue inline
                if anchor.has_comma:
                    edits.append(
                        (anchor.comma_end, anchor.comma_end, "".join(f" {p}," for p in pieces))
                    )
                else:
                    edits.append(
                        (anchor.value_end, anchor.value_end, "".join(f", {p}" for p in pieces))
                    )
            elif anchor.has_comma:
                text = "".join(f"{newline}{indent}{p}," for p in pieces)
                edits.append((anchor.comma_end, anchor.comma_end, text))
            else:
                text = "," + ",".join(f"{newline}{indent}{p}" for p in pieces)
                edits.append((anchor.value_end, anchor.value_end, text))
    return _apply(raw, edits)


def _edit_entry_raw(raw: str, values: Mapping[str, str | None], newline: str) -> str:
    removed = {name.lower() for name, value in values.items() if value is None}
    if removed:
        raw = _remove_fields(raw, removed)
    updates = {name: value for name, value in values.items() if value is not None}
    return _set_values(raw, updates, newline) if updates else raw


def set_fields(doc: BibDocument, key: str, values: Mapping[str, str | None]) -> str:
    """Return the file text with fields of entry ``key`` set (``None`` removes a field).

    Only the characters of the changed fields change: an existing field keeps its position,
    key spelling, spacing and quoting style; a new field is appended after the last one with
    the indentation and alignment of its neighbours; a removed field takes its line with it.
    Values are BibTeX text (LaTeX allowed) whose braces pair up the way BibTeX counts them
    (:func:`unpaired_braces`: every brace counts, ``\\{`` too).

    Raises
    ------
    EditError
        If there is no such entry, or a value cannot be written as BibTeX (a bad field name,
        unbalanced braces: ``FILE:LINE: KEY: FIELD: what is wrong; what to write``).
    """
    entry = doc.entry(key)
    span = doc.span(entry)
    if span is None:  # pragma: no cover - every parsed entry is located
        raise EditError(f"{doc.path}: cannot locate entry {key!r} in the file")
    for name, value in values.items():
        if not FIELD_NAME_RE.fullmatch(name):
            raise EditError(f"{name!r} is not a valid BibTeX field name")
        problem = brace_problem(value) if value is not None else ""
        if problem:
            lines = [f.start_line for f in entry.fields if f.key.lower() == name.lower()]
            line = (lines[0] if lines else entry.start_line or 0) + 1
            raise EditError(f"{doc.path}:{line}: {key}: {name}: {problem}; write {BRACES_ALLOWED}")
    lowered = [name.lower() for name in values]
    twice = sorted({n for n in lowered if lowered.count(n) > 1})
    if twice:
        raise EditError(f"field {twice[0]!r} given twice (BibTeX field names ignore case)")
    start, end = span
    try:
        new_raw = _edit_entry_raw(doc.text[start:end], values, doc.newline)
    except EditError as exc:
        line = (entry.start_line or 0) + 1
        raise EditError(f"{doc.path}:{line}: {key}: {exc}") from None
    return doc.text[:start] + new_raw + doc.text[end:]


def append_text(doc: BibDocument, bibtex: str) -> str:
    """Return the file text with ``bibtex`` (one or more blocks) appended after a blank line."""
    nl = doc.newline
    body = bibtex.strip("\r\n").replace("\r\n", "\n").replace("\n", nl)
    text = doc.text
    if text and not text.endswith("\n"):
        text += nl
    if text.strip():
        text += nl
    return text + body + nl


def iter_entry_lines(doc: BibDocument) -> Iterator[tuple[Entry, int]]:
    """Each entry with its 1-based first line."""
    for entry in doc.library.entries:
        yield entry, (entry.start_line or 0) + 1


#: Seconds an editing command waits for another one to finish with the same file.
LOCK_TIMEOUT = 10.0

_held = threading.local()  # lock files this thread holds, with their nesting depth


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file of a ``.bib`` file: hidden, beside it (``.studies.bib.lock``).

    Symbolic links are resolved first, so every path to one file shares one lock.
    """
    target = Path(os.path.realpath(path))
    return target.with_name(f".{target.name}.lock")


@contextmanager
def locked(path: str | os.PathLike[str], timeout: float | None = None) -> Iterator[None]:
    """Hold the exclusive edit lock of ``path`` (an OS lock on :func:`lock_path`).

    Every editing command holds it from reading the file to writing it, so two edits of one
    file run one after the other instead of one overwriting the other. Re-entrant within a
    thread. The lock file is left in place (removing it would race with the next editor).

    Parameters
    ----------
    path
        The ``.bib`` file.
    timeout
        Seconds to wait for another holder; :data:`LOCK_TIMEOUT` if ``None``.

    Raises
    ------
    EditError
        If the lock is still held by another command after ``timeout`` seconds, or the lock
        file cannot be created.
    """
    lock_file = lock_path(path)
    depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
    name = str(lock_file)
    if depth.get(name):
        depth[name] += 1
        try:
            yield
        finally:
            depth[name] -= 1
        return
    wait = LOCK_TIMEOUT if timeout is None else timeout
    lock = FileLock(lock_file, timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise EditError(
            f"{path}: another command is editing this file (its lock {lock_file.name} is "
            f"still held after {wait:g} s); nothing was written, try again"
        ) from None
    except OSError as exc:
        raise EditError(
            f"{path}: cannot create the lock file {lock_file}: {exc.strerror or exc}; "
            "nothing was written"
        ) from None
    depth[name] = 1
    try:
        yield
    finally:
        del depth[name]
        lock.release()


def write_bib(
    path: str | os.PathLike[str],
    text: str,
    *,
    bom: bool = False,
    cr: bool = False,
    expected_sha256: str | None = None,
) -> None:
    """Atomically replace ``path`` with ``text`` (:func:`evidence.files.write_atomically`:
    a temporary file in the same folder, renamed over it; through a symbolic link).

    ``bom`` and ``cr`` say how the file stores the text (:attr:`BibDocument.bom`,
    :attr:`BibDocument.cr`: a byte-order mark first; every LF written as a lone CR).

    If ``expected_sha256`` is given, the file is re-read just before the rename and the write
    is refused (:class:`EditError`) when its content changed since it was read. On any failure
    the original file is left untouched.
    """
    data = _file_bytes(text, bom, cr)

    def unchanged_on_disk() -> None:
        if expected_sha256 is None:
            return
        target = Path(os.path.realpath(path))
        current = hashlib.sha256(target.read_bytes()).hexdigest() if target.exists() else ""
        if current != expected_sha256:
            raise EditError(
                f"{path}: the file changed on disk since it was read; "
                "nothing was written (re-run the command)"
            )

    try:
        write_atomically(path, data, before_replace=unchanged_on_disk)
    except OSError as exc:
        raise EditError(
            f"{path}: cannot write: {exc.strerror or exc}; the file is unchanged"
        ) from None
