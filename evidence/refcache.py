"""Formatted references (and sort keys) kept between builds, so that a rebuild formats only
what changed.

Formatting a reference with citeproc-py takes a few milliseconds, all of it in Python: at
10,000 entries it is most of a build. A living evidence base is rebuilt after each edit, and
an edit changes a few entries, so :func:`evidence.export.build_reports` keeps each entry's
formatted forms in a cache folder, ``.evidence_cache/`` beside the ``.bib`` (or
``$EVIDENCE_CACHE_DIR``; ``evidence build --no-cache`` neither reads nor writes it), as ruff
and mypy keep theirs: the folder holds a ``.gitignore`` of ``*`` (git ignores it) and a
``CACHEDIR.TAG`` (backup tools skip it).

What is kept can never be stale, because it is looked up by what it was made from:

- a file is named by a *fingerprint* of everything that formatting reads besides the entry:
  the bytes of the style file as parsed and its locale, the Python version (its Unicode
  tables), and the Python files (size and time of each) of :mod:`evidence` and citeproc-py,
  as they were when this module was imported (so that any change to how
  references are made, released or not, starts afresh, and a file edited while a process
  runs does not describe its code);
- in it, an entry is found by a digest of its type and every field, and of its number when
  the style can print the number (a numbered style, or one that prints a label in a margin):
  an entry added before others renumbers them, and they are formatted again. A style that
  sorts its list keeps each entry's sort keys too (under ``"sort "`` and the digest, numbered
  by the entry's place in the file), so that a rebuild sorts without working them out again.

citeproc-py 0.11 formats each entry on its own (it implements no disambiguation and no
``subsequent-author-substitute``, which depend on other entries), so an entry formatted alone
is the entry formatted in its list.

A file holds the entries of the last build that used it, nothing more, so it grows with the
base and not with its history; the folder keeps the :data:`KEEP` files used last (one per
style and base; a file read and found current is touched) and removes older ones. An
unreadable, foreign or damaged file is ignored and replaced; a folder that cannot be written
(a read-only checkout) only means nothing is kept. Files are replaced atomically, so two
builds at once each leave a whole file. Pruning removes only files named as this module names
them. What is kept is trusted as the ``.bib`` is (its HTML goes into the report as it is).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import sys
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidence.files import write_atomically

__all__ = [
    "ENV",
    "FOLDER",
    "KEEP",
    "Kept",
    "default_folder",
    "entry_digest",
    "fingerprint",
    "prepare",
    "read",
    "write",
]

#: The cache folder's name, beside the ``.bib``.
FOLDER = ".evidence_cache"
#: Environment variable naming another cache folder.
ENV = "EVIDENCE_CACHE_DIR"
#: How many reference files a cache folder keeps (the most recently used).
KEEP = 8
# Bumped when the file layout changes.
_FORMAT = 1
_PREFIX = "references-"
_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by evidence.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


def default_folder(bib: str | os.PathLike[str]) -> Path:
    """Where the cache of ``bib`` lives: ``$EVIDENCE_CACHE_DIR`` if set, else
    ``.evidence_cache`` in the ``.bib``'s folder."""
    named = os.environ.get(ENV)
    if named:
        return Path(named)
    return Path(os.path.abspath(bib)).parent / FOLDER


def _code_digest() -> str:
    """A digest of the code that formats: the path, size and modification time of each Python
    file of this package and of citeproc-py (found, not imported: it loads on first use). Any
    edit, upgrade, install or checkout of either changes it; a checkout of the same code does
    too, which only costs one build formatting everything. (Reading the files' contents, or
    asking for the packages' versions, would cost ``evidence validate`` milliseconds it does
    not need.)"""
    digest = hashlib.sha256()
    folders = [Path(__file__).parent]
    spec = importlib.util.find_spec("citeproc")
    if spec is not None:
        folders += [Path(p) for p in spec.submodule_search_locations or ()]
    for folder in folders:
        for path in sorted([*folder.glob("*.py"), *folder.glob("*/*.py")]):
            with contextlib.suppress(OSError):
                info = path.stat()
                digest.update(f"{path} {info.st_size} {info.st_mtime_ns}\0".encode())
    return digest.hexdigest()


# Worked out when the package is imported: what describes the code running, even if its
# files are edited or upgraded while the process lives.
_CODE = _code_digest()


def fingerprint(style: bytes, locale: str | None, extra: str = "") -> str:
    """The name of what a style's references depend on besides each entry (see the module's
    text): ``style`` is the bytes of the style file as parsed, ``extra`` anything else its
    caller keeps apart (the base's file name)."""
    digest = hashlib.sha256()
    for part in (
        str(_FORMAT),
        _CODE,
        f"{sys.version_info[0]}.{sys.version_info[1]}",
        unicodedata.unidata_version,
        locale or "",
        extra,
    ):
        digest.update(part.encode() + b"\0")
    digest.update(style)
    return digest.hexdigest()


def entry_digest(entry_type: str, fields: Mapping[str, str], number: int | None) -> str:
    """The name of one entry in a cache file: its type, every field (name and value, in
    order of name) and, where the style can print it, its number (hashed as JSON, so no
    value can run into the next, whatever characters it holds)."""
    text = json.dumps([entry_type, number, sorted(fields.items())], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _file(folder: Path, print_: str) -> Path:
    return folder / f"{_PREFIX}{print_[:32]}.json"


def read(folder: Path, print_: str) -> dict[str, Any]:
    """The entries kept under fingerprint ``print_`` in ``folder`` (``{}`` if none, or if the
    file is unreadable or not one this version wrote)."""
    try:
        data = json.loads(_file(folder, print_).read_bytes())
    except (OSError, ValueError, RecursionError):  # RecursionError: nested too deep
        return {}
    if (
        not isinstance(data, dict)
        or data.get("format") != _FORMAT
        or data.get("fingerprint") != print_
        or not isinstance(data.get("entries"), dict)
    ):
        return {}
    return dict(data["entries"])


def write(folder: Path, print_: str, entries: Mapping[str, Any]) -> bool:
    """Keep ``entries`` under fingerprint ``print_`` in ``folder`` (replacing what was kept
    there), then remove all but the :data:`KEEP` newest files. Whether they were kept: a
    folder that cannot be made or written is not an error."""
    payload = {
        "format": _FORMAT,
        "fingerprint": print_,
        "entries": dict(sorted(entries.items())),
    }
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        prepare(folder)
        write_atomically(_file(folder, print_), data)
    except OSError:
        return False
    _prune(folder)
    return True


class Kept:
    """What one list takes from a cache file, and gives back: :meth:`get` what was kept,
    :meth:`put` what the list has now, then :meth:`save` (which writes only if that differs)."""

    def __init__(self, folder: Path, print_: str):
        self.folder = folder
        self.print_ = print_
        self._stored = read(folder, print_)
        self._now: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        """What was kept under ``name`` (``None`` if nothing)."""
        return self._stored.get(name)

    def put(self, name: str, value: Any) -> None:
        """Keep ``value`` (JSON: lists, text, numbers, ``None``) under ``name``."""
        self._now[name] = value

    def save(self) -> bool:
        """Replace the file by what was put, unless that is what it holds; whether the file
        now holds it."""
        if self._now != self._stored:
            return write(self.folder, self.print_, self._now)
        try:  # used now: the last to be pruned
            os.utime(_file(self.folder, self.print_))
        except OSError:
            return False
        return True


def prepare(folder: Path) -> None:
    """Make ``folder`` a cache folder: git and backup tools leave it alone."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", "# made by evidence\n*\n"), ("CACHEDIR.TAG", _TAG)):
        path = folder / name
        if not path.exists():
            path.write_text(text, encoding="utf-8")


# The names of the files this module writes (and so may remove).
_NAME = re.compile(rf"{_PREFIX}[0-9a-f]{{32}}\.json")


def _prune(folder: Path) -> None:
    files = []
    for path in folder.glob(f"{_PREFIX}*.json"):
        if not _NAME.fullmatch(path.name):
            continue
        with contextlib.suppress(OSError):
            files.append((path.stat().st_mtime_ns, path.name, path))
    for *_, path in sorted(files, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            path.unlink()
