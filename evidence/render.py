"""DataFrames → text for terminals and pipes (text, CSV, JSON). Returns strings; never prints."""

from __future__ import annotations

import json

import pandas as pd

__all__ = ["markdown_table", "render_table"]


def _jsonable(value: object) -> object:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    if hasattr(value, "item"):
        return value.item()  # numpy scalar
    return value


def render_table(frame: pd.DataFrame, fmt: str = "text", max_colwidth: int = 48) -> str:
    """Render ``frame`` as ``text`` (aligned columns), ``csv`` or ``json`` (list of records).

    Missing values are empty in text and CSV and ``null`` in JSON; CSV and JSON keep full
    values, text truncates long cells to ``max_colwidth`` characters.
    """
    if fmt == "csv":
        return frame.to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        records = [
            {col: _jsonable(val) for col, val in zip(frame.columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)
        ]
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    if frame.empty:
        return "(no rows)"
    shown = frame.astype(object).where(frame.notna(), "")
    for col in shown.columns:
        if pd.api.types.is_float_dtype(frame[col].dtype):
            shown[col] = [f"{v:.3g}" if v != "" else "" for v in shown[col]]
    return shown.to_string(index=False, max_colwidth=max_colwidth)


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a GitHub-flavoured Markdown table (``|`` in cells escaped)."""

    def cell(value: object) -> str:
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            return ""
        return str(value).replace("|", "\\|").replace("\n", " ")

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join([header, rule, *body])


def _short(value: str | None, width: int = 70) -> str:
    if value is None:
        return "(absent)"
    text = " ".join(value.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_comparison(result, old_name: str, new_name: str) -> str:
    """Human-readable text of an :class:`evidence.comparison.Comparison`."""
    lines = [f"--- {old_name}", f"+++ {new_name}"]
    if not (result.added or result.removed or result.changes):
        lines.append("no entry changed")
    for key in result.added:
        lines.append(f"+ {key} (added)")
    for key in result.removed:
        lines.append(f"- {key} (removed)")
    current = None
    for change in result.changes:
        if change.key != current:
            lines.append(f"~ {change.key}")
            current = change.key
        lines.append(f"    {change.field}: {_short(change.old)} -> {_short(change.new)}")
    for row in result.pooled:
        lines.append(
            "pooled {group}: {old} -> {new}".format(
                group=row["group"], old=row["old_text"], new=row["new_text"]
            )
        )
    return "\n".join(lines)
