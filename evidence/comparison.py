"""What changed between two versions of a ``.bib`` file (``evidence diff``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from evidence.analysis import Analysis
from evidence.base import EvidenceBase, loads
from evidence.errors import EvidenceError
from evidence.protocol import Protocol
from evidence.schema import ROWS_FIELDS, parse_outcome_rows

__all__ = ["Comparison", "FieldChange", "compare", "load_revision", "pooled_movement"]


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


def _pooled_rates(
    base: EvidenceBase, analyses: tuple[Analysis, ...]
) -> dict[str, tuple[float, float, float, int, str]]:
    """Each analysis's pooled result (overall and per subgroup): estimate, CI, k, and the
    effect it is on (``proportion`` or the effect measure)."""
    if base.errors:
        return {}
    rates = {}
    for analysis in analyses:
        report = analysis.run(base)
        effect = analysis.effect
        if report.overall is not None:
            fit = report.overall
            rates[analysis.name] = (fit.estimate, fit.ci_low, fit.ci_high, fit.k, effect)
        for group, fit in (report.group_fits or {}).items():
            rates[f"{analysis.name} · {group}"] = (
                fit.estimate,
                fit.ci_low,
                fit.ci_high,
                fit.k,
                effect,
            )
    return rates


def _rate_text(rate: tuple[float, float, float, int, str] | None) -> str:
    from evidence.render import format_effect

    if rate is None:
        return "(none)"
    est, low, high, k, effect = rate
    if effect == "proportion":
        return f"{100 * est:.1f}% [{100 * low:.1f}% to {100 * high:.1f}%], k = {k}"
    return f"{effect} {format_effect(est)} [{format_effect(low)} to {format_effect(high)}], k = {k}"


def pooled_movement(old: EvidenceBase, new: EvidenceBase) -> tuple[dict[str, object], ...]:
    """How each headline analysis (overall and per subgroup) moved, where it moved.

    Both versions run the headline analyses in force for ``new`` (its protocol's, or the
    defaults for its data), so the two sides are the same analyses.
    """
    from evidence.pooling import headline_analyses

    analyses = headline_analyses(new)
    before, after = _pooled_rates(old, analyses), _pooled_rates(new, analyses)
    rows: list[dict[str, object]] = []
    for group in dict.fromkeys([*before, *after]):
        a, b = before.get(group), after.get(group)
        if a == b:
            continue
        rows.append(
            {
                "group": group,
                "old": None
                if a is None
                else {"estimate": a[0], "ci_low": a[1], "ci_high": a[2], "k": a[3], "effect": a[4]},
                "new": None
                if b is None
                else {"estimate": b[0], "ci_low": b[1], "ci_high": b[2], "k": b[3], "effect": b[4]},
                "old_text": _rate_text(a),
                "new_text": _rate_text(b),
            }
        )
    return tuple(rows)


def compare(old: EvidenceBase, new: EvidenceBase, *, pooled: bool = True) -> Comparison:
    """Compare two loaded versions entry by entry (by citation key) and field by field.

    Field values are compared as BibTeX text after macro resolution, so reflowing a file
    (``evidence fmt``) shows no field changes, while a changed number does. With ``pooled``,
    the headline analyses of ``evidence build`` (overall and per subgroup) of both versions
    are compared too (versions with errors have none).
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
            if _normal(name, a) == _normal(name, b):
                continue
            if name in ROWS_FIELDS and a is not None and b is not None:
                changes.extend(_row_changes(key, a, b, name))
            else:
                changes.append(FieldChange(key, name, a, b))
    movement = pooled_movement(old, new) if pooled and (added or removed or changes) else ()
    return Comparison(added, removed, tuple(changes), movement)


def _row_changes(key: str, old: str, new: str, rows_field: str = "outcomes") -> list[FieldChange]:
    """Changes of a multi-row field (``outcomes``, ``rob``) row by row and key by key
    (``outcomes.2.responders``)."""
    a, b = parse_outcome_rows(old), parse_outcome_rows(new)
    changes = []
    for i in range(max(len(a), len(b))):
        name = f"{rows_field}.{i + 1}"
        if i >= len(a) or i >= len(b):
            old_row = _row_text(a[i].pairs) if i < len(a) else None
            new_row = _row_text(b[i].pairs) if i < len(b) else None
            changes.append(FieldChange(key, name, old_row, new_row))
            continue
        pa, pb = a[i].pairs, b[i].pairs
        for item in dict.fromkeys([*pa, *pb]):
            if pa.get(item) != pb.get(item):
                changes.append(FieldChange(key, f"{name}.{item}", pa.get(item), pb.get(item)))
    return changes


def _row_text(pairs: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in pairs.items())


def _normal(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    if name in ROWS_FIELDS:
        return "\n".join(line.strip() for line in value.splitlines() if line.strip())
    return " ".join(value.split())


def load_revision(path: str, rev: str, protocol: Protocol | None = None) -> EvidenceBase:
    """The version of ``path`` at git revision ``rev`` (``git show REV:PATH``), checked
    against ``protocol`` (default: none)."""
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
        stderr = exc.stderr or b""
        if isinstance(stderr, bytes):
            stderr = stderr.decode("utf-8", "replace")
        detail = stderr.strip().splitlines()
        raise EvidenceError(
            f"{path}: cannot read revision {rev!r}: {detail[-1] if detail else 'git failed'}"
        ) from None
    except ValueError:
        raise EvidenceError(f"{path} is not inside a git repository") from None
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError:
        raise EvidenceError(f"{path}@{rev}: not valid UTF-8") from None
    return loads(text, f"{path}@{rev}", protocol=protocol)
