"""What changed between two versions of a ``.bib`` file (``evidence diff``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from evidence.base import EvidenceBase, loads
from evidence.errors import EvidenceError

__all__ = ["Comparison", "FieldChange", "compare", "load_revision"]


@dataclass(frozen=True)
class FieldChange:
    """One field of one entry: its old and new value (``None`` = absent)."""

    key: str
    field: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class Comparison:
    """Entries added, removed and changed field by field, in file order."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changes: tuple[FieldChange, ...]
    pooled: tuple[dict[str, object], ...] = field(default=())

    @property
    def changed_keys(self) -> tuple[str, ...]:
        """Keys of entries present in both versions whose fields differ."""
        return tuple(dict.fromkeys(c.key for c in self.changes))

    def to_dict(self) -> dict[str, object]:
        """Plain structure for JSON output."""
        return {
            "added": list(self.added),
            "removed": list(self.removed),
            "changed": [
                {"key": c.key, "field": c.field, "old": c.old, "new": c.new} for c in self.changes
            ],
            "pooled": list(self.pooled),
        }


def compare(old: EvidenceBase, new: EvidenceBase) -> Comparison:
    """Compare two loaded versions entry by entry (by citation key) and field by field.

    Field values are compared as BibTeX text after macro resolution, so reflowing a file
    (``evidence fmt``) shows no field changes, while a changed number does.
    """
    old_fields = {r.key: r.bib for r in old.records}
    new_fields = {r.key: r.bib for r in new.records}
    added = tuple(k for k in new_fields if k not in old_fields)
    removed = tuple(k for k in old_fields if k not in new_fields)
    changes = []
    for key, after in new_fields.items():
        before = old_fields.get(key)
        if before is None:
            continue
        for name in dict.fromkeys([*before, *after]):
            a, b = before.get(name), after.get(name)
            if _normal(name, a) != _normal(name, b):
                changes.append(FieldChange(key, name, a, b))
    return Comparison(added, removed, tuple(changes))


def _normal(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if name == "outcomes":
        return "\n".join(line.strip() for line in value.splitlines() if line.strip())
    return " ".join(value.split())


def load_revision(path: str, rev: str) -> EvidenceBase:
    """The version of ``path`` at git revision ``rev`` (``git show REV:PATH``)."""
    p = Path(path).resolve()
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=p.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        rel = p.relative_to(Path(top).resolve()).as_posix()
        shown = subprocess.run(
            ["git", "show", f"{rev}:{rel}"],
            cwd=top,
            capture_output=True,
            check=True,
        ).stdout
    except FileNotFoundError:
        raise EvidenceError("git is not installed; use `evidence diff OLD NEW`") from None
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise EvidenceError(
            f"{path}: cannot read revision {rev!r}: {detail[-1] if detail else 'git failed'}"
        ) from None
    except ValueError:
        raise EvidenceError(f"{path} is not inside a git repository") from None
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceError(f"{path}@{rev}: not valid UTF-8") from None
    return loads(text, f"{path}@{rev}")
