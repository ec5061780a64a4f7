"""Safe edits of a ``.bib`` file: compute the new text, validate it, then write atomically.

Every edit here follows one path (:func:`commit_text`): the new text is parsed and checked,
the edit is refused if it introduces an error in an entry it touches, and
:func:`evidence.bib.write_bib` replaces the file only if it is unchanged on disk since it was
read. Nothing is written on any error. Each editing function holds the file's lock
(:func:`evidence.bib.locked`) from reading to writing, so concurrent edits of one file are
serialised instead of losing one; the unchanged-on-disk check stays as a second guard against
editors that do not take the lock.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evidence.base import EvidenceBase, protocol_for
from evidence.bib import BibDocument, locked, parse_bib, read_bib, set_fields, write_bib
from evidence.errors import EditError, Problem, ValidationError
from evidence.protocol import NO_PROTOCOL, Protocol
from evidence.schema import ROWS_FIELDS, edit_row

if TYPE_CHECKING:
    from evidence.formatting import FormatResult
    from evidence.importers import ImportedRecord

__all__ = [
    "AddResult",
    "EditResult",
    "add_entries",
    "commit_text",
    "format_file",
    "parse_assignment",
    "set_entry",
]


@dataclass(frozen=True)
class EditResult:
    """What an edit did (or would do, with ``dry_run``)."""

    path: str
    old_text: str
    new_text: str
    written: bool
    problems: tuple[Problem, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the file's text changes."""
        return self.old_text != self.new_text

    def diff(self) -> str:
        """Unified diff of the change (empty when nothing changes)."""
        return "".join(
            difflib.unified_diff(
                self.old_text.splitlines(True),
                self.new_text.splitlines(True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


def _identity(problem: Problem) -> tuple[str, str, str]:
    """What a problem is about, to tell old errors from new ones after an edit: its entry,
    field and rule -- not its line (an edit moves lines) nor its message text."""
    return problem.key, problem.field.lower(), problem.code


def parse_assignment(text: str) -> tuple[str, str]:
    """Split ``FIELD=VALUE`` (``outcomes.N.KEY=VALUE`` for one key of outcome row N, likewise
    ``rob.N.KEY`` and ``claims.N.KEY``)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise EditError(f"expected FIELD=VALUE, got {text!r}")
    return name.strip(), value


def commit_text(
    doc: BibDocument,
    new_text: str,
    touched: Iterable[str],
    *,
    dry_run: bool = False,
    before: EvidenceBase | None = None,
    protocol: Protocol | None = None,
) -> EditResult:
    """Validate ``new_text`` (against ``protocol``) and write it over ``doc``'s file unless
    ``dry_run``.

    The edit is refused (:class:`~evidence.errors.ValidationError`, nothing written) when the
    new text has an error that the old text did not have, anywhere in the file. Warnings of
    the ``touched`` entries are returned in the result.
    """
    touched = set(touched)
    if protocol is None:
        protocol = before.protocol if before is not None else NO_PROTOCOL
    old_base = before if before is not None else EvidenceBase(doc, protocol)
    before_errors = Counter(_identity(p) for p in old_base.errors)
    new_base = EvidenceBase(parse_bib(new_text, doc.path), protocol)
    blocking = []
    for problem in new_base.errors:  # errors the edit introduces, in any entry
        ident = _identity(problem)
        if before_errors[ident] > 0:
            before_errors[ident] -= 1
        else:
            blocking.append(problem)
    if blocking:
        raise ValidationError(blocking, "nothing was written")
    relevant = tuple(p for p in new_base.problems if p.key in touched)
    if not dry_run and new_text != doc.text:
        with locked(doc.path):  # re-entrant: the editing functions already hold it
            write_bib(doc.path, new_text, bom=doc.bom, cr=doc.cr, expected_sha256=doc.sha256)
    return EditResult(doc.path, doc.text, new_text, not dry_run and new_text != doc.text, relevant)


def set_entry(
    path: str | os.PathLike[str],
    key: str,
    values: Mapping[str, str],
    unset: Iterable[str] = (),
    *,
    dry_run: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> EditResult:
    """Set (and ``unset``) fields of entry ``key`` in the file at ``path``.

    ``values`` maps field names to BibTeX values; a name ``outcomes.N.KEY`` sets one key of
    outcome row ``N`` (1-based), changing only that row's line, and likewise for every
    multi-row field (``rob.N.KEY``, ``claims.N.KEY``: :data:`~evidence.schema.ROWS_FIELDS`).
    ``unset`` names fields (or ``FIELD.N.KEY``) to remove. The result is validated (against
    the protocol in force, or the one in ``config``) before anything is written.

    Raises
    ------
    EditError
        Also when another command holds the file's lock for longer than
        :data:`evidence.bib.LOCK_TIMEOUT` seconds.
    """
    protocol = protocol_for(path, config)
    with _edit_lock(path, dry_run):
        return _set_entry(path, key, values, unset, dry_run=dry_run, protocol=protocol)


def _edit_lock(path: str | os.PathLike[str], dry_run: bool) -> AbstractContextManager[None]:
    """The file's lock for a real edit; nothing for a dry run (which writes nothing), nor for
    a path that is no regular file (reading it fails with the reason, and no lock file is
    left beside a missing file)."""
    return nullcontext() if dry_run or not os.path.isfile(path) else locked(path)


def _set_entry(
    path: str | os.PathLike[str],
    key: str,
    values: Mapping[str, str],
    unset: Iterable[str],
    *,
    dry_run: bool,
    protocol: Protocol,
) -> EditResult:
    doc = read_bib(path)
    entry = doc.entry(key)
    plain: dict[str, str | None] = {}
    row_edits: dict[str, list[tuple[int, str, str | None]]] = {}  # per multi-row field
    for name, value in [*values.items(), *((n, None) for n in unset)]:
        parts = name.split(".")
        rows_field = parts[0].lower()
        if rows_field in ROWS_FIELDS and len(parts) == 3:
            if not parts[1].isdigit():
                raise EditError(f"{name!r}: expected {rows_field}.N.KEY with N a row number")
            row_edits.setdefault(rows_field, []).append((int(parts[1]), parts[2], value))
        elif rows_field in ROWS_FIELDS and len(parts) > 1:
            raise EditError(f"{name!r} is not a field name (or {rows_field}.N.KEY)")
        else:  # a field; bib.set_fields checks its name (bib.FIELD_NAME_RE)
            plain[name] = value
    for rows_field, edits in row_edits.items():
        field = next((f for f in entry.fields if f.key.lower() == rows_field), None)
        if field is None:
            raise EditError(f"{doc.path}: entry {key!r} has no {rows_field} field")
        text = plain.get(field.key) or field.value
        for row, name, value in edits:
            try:
                text = edit_row(text, row, name, value, rows_field)
            except IndexError as exc:
                raise EditError(f"{key}: {exc}") from None
        plain[field.key] = text
    new_text = set_fields(doc, key, plain)
    return commit_text(doc, new_text, [key], dry_run=dry_run, protocol=protocol)


@dataclass(frozen=True)
class AddResult:
    """What ``evidence add`` did: new keys (with their source), merges, skipped problems."""

    edit: EditResult
    added: tuple[tuple[str, str], ...]  # (key, source)
    merged: tuple[tuple[str, str, tuple[str, ...]], ...]  # (existing key, source, fields added)
    skipped: tuple[Problem, ...]  # malformed records skipped with --skip-invalid
    notes: tuple[str, ...]  # importer reports (unknown tags…)


def _source_location(source: str) -> tuple[str, int]:
    """``("pubmed.nbib", 12)`` from an importer's ``"pubmed.nbib:12"`` (line 0 if none)."""
    name, sep, line = source.rpartition(":")
    return (name, int(line)) if sep and line.isdigit() else (source, 0)


def _in_sources(problems: list[Problem], added: list[tuple[str, str]]) -> list[Problem]:
    """``problems`` of the file as it would have been, each of an added entry placed in the
    source it came from (file and line of its record) instead of at a line the file, left as
    it was, does not have."""
    sources = dict(added)
    placed = []
    for problem in problems:
        source = sources.get(problem.key)
        if source is not None:
            file, line = _source_location(source)
            problem = dataclasses.replace(problem, file=file, line=line)
        placed.append(problem)
    return placed


def add_entries(
    path: str | os.PathLike[str],
    sources: Iterable[str | os.PathLike[str]],
    *,
    on_duplicate: str = "refuse",
    skip_invalid: bool = False,
    keep_unknown: bool = False,
    dry_run: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> AddResult:
    """Append the references in ``sources`` (.bib, .ris, CSL-JSON, MEDLINE) to the file.

    Keys come from the source when it has one that is free, else from
    :func:`evidence.importers.make_key`. A record that duplicates an existing entry or an
    earlier record (same DOI or PMID, or near-identical title with the same year and first
    author) is refused with the key it duplicates (``on_duplicate="refuse"``, nothing is
    written), merged into that entry (``"merge"``: only fields the entry lacks are added) or
    added anyway (``"add"``). Malformed records refuse the whole import unless
    ``skip_invalid``.
    """
    from evidence.importers import read_records

    if on_duplicate not in ("refuse", "merge", "add"):
        raise ValueError(f"on_duplicate must be refuse, merge or add; got {on_duplicate!r}")
    protocol = protocol_for(path, config)
    records: list[ImportedRecord] = []
    skipped: list[Problem] = []
    notes: list[str] = []
    for source in sources:
        found, problems = read_records(source, skip_invalid=skip_invalid, keep_unknown=keep_unknown)
        if problems and not skip_invalid:
            raise ValidationError(problems, "nothing was written")
        skipped.extend(problems)
        records.extend(found)
        notes.extend(f"{r.source}: {note}" for r in found for note in r.notes)
    with _edit_lock(path, dry_run):  # the sources are read; the file from here to its writing
        doc = read_bib(path)
        base = EvidenceBase(doc, protocol)
        new_text, added, merged = _appended(doc, base, records, on_duplicate)
        touched = [k for k, _ in added] + [k for k, _, _ in merged]
        try:
            edit = commit_text(doc, new_text, touched, dry_run=dry_run, before=base)
        except ValidationError as exc:  # a new entry's problem: where it is, in its source
            raise ValidationError(_in_sources(exc.problems, added), "nothing was written") from None
    return AddResult(edit, tuple(added), tuple(merged), tuple(skipped), tuple(notes))


def _appended(
    doc: BibDocument, base: EvidenceBase, records: list[ImportedRecord], on_duplicate: str
) -> tuple[str, list[tuple[str, str]], list[tuple[str, str, tuple[str, ...]]]]:
    """The file's text with ``records`` added (or merged), what was added and what merged."""
    from evidence.bib import append_text
    from evidence.duplicates import find_duplicates, identity
    from evidence.importers import KeySet, render_entry

    keys = KeySet(r.key for r in base.records)
    existing = [identity(r.key, r.bib) for r in base.records]
    new_keys: list[str] = []
    for record in records:
        if record.key and record.key not in keys:
            keys.add(record.key)
            new_keys.append(record.key)
        else:
            new_keys.append(keys.new_key(record.fields))
    candidates = [identity(k, r.fields) for k, r in zip(new_keys, records, strict=True)]
    duplicates = {d.key: d for d in find_duplicates(candidates, existing)}
    if duplicates and on_duplicate == "refuse":

        def refusal(key: str, rec: ImportedRecord) -> Problem:
            dup = duplicates[key]
            advice = (
                "use --merge or --force"
                if dup.reason == "title"
                else "use --merge (two entries with one DOI or PMID never validate)"
            )
            what = str(dup).split(": ", 1)[1]
            message = f"{what} as entry {dup.of!r}; {advice}"
            file, line = _source_location(rec.source)
            return Problem(file, line, key, "", message, code="import.duplicate")

        problems = [
            refusal(key, rec)
            for key, rec in zip(new_keys, records, strict=True)
            if key in duplicates
        ]
        raise ValidationError(problems, "nothing was written")
    added, merged, blocks = [], [], []
    merges: dict[str, dict[str, str]] = {}
    for key, record in zip(new_keys, records, strict=True):
        dup = duplicates.get(key)
        if dup is not None and on_duplicate == "merge" and dup.of not in new_keys:
            entry = doc.entry(dup.of)
            have = {f.key.lower() for f in entry.fields} | set(merges.get(dup.of, {}))
            extra = {k: v for k, v in record.fields.items() if k.lower() not in have}
            merges.setdefault(dup.of, {}).update(extra)
            merged.append((dup.of, record.source, tuple(extra)))
            continue
        blocks.append(render_entry(record, key))
        added.append((key, record.source))
    new_text = doc.text
    for target, values in merges.items():
        if values:
            new_text = set_fields(parse_bib(new_text, doc.path), target, values)
    if blocks:
        new_text = append_text(parse_bib(new_text, doc.path), "\n".join(blocks))
    return new_text, added, merged


def format_file(
    path: str | os.PathLike[str],
    *,
    sort: str = "none",
    dry_run: bool = False,
    config: str | os.PathLike[str] | None = None,
) -> tuple[EditResult, FormatResult]:
    """Rewrite the file at ``path`` in the canonical layout (:mod:`evidence.formatting`).

    Holds the file's lock from reading to writing (unless ``dry_run``, which writes nothing).
    Returns the edit and the :class:`~evidence.formatting.FormatResult` (which entries change).
    The result is validated against the protocol in force (or the one in ``config``).
    """
    from evidence.formatting import format_document

    protocol = protocol_for(path, config)
    with _edit_lock(path, dry_run):
        doc = read_bib(path)
        result = format_document(doc, sort=sort)
        edit = commit_text(
            doc, result.text, result.changed_keys, dry_run=dry_run, protocol=protocol
        )
    return edit, result
