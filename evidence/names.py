"""BibTeX name lists: splitting ``A and B and {C and D}`` and finding family names."""

from __future__ import annotations

import re

__all__ = ["family_name", "split_names"]

_AND_RE = re.compile(r"\s+and\s+", re.IGNORECASE)


def split_names(authors: str) -> list[str]:
    """Split a BibTeX ``author`` value on `` and `` outside braces."""
    parts = _AND_RE.split(authors)
    if "{" in authors:  # re-join pieces split inside braces, e.g. {Barnes and Noble}
        merged: list[str] = []
        depth = 0
        for part in parts:
            if depth > 0:
                merged[-1] += " and " + part
            else:
                merged.append(part)
            depth += part.count("{") - part.count("}")
        parts = merged
    return [name for name in (p.strip() for p in parts) if name]


def family_name(name: str) -> str:
    """Family name of one BibTeX name (``Last, First`` or ``First Last``)."""
    if "," in name:
        return name.split(",", 1)[0].strip()
    if name.startswith("{") and name.endswith("}"):
        return name
    parts = name.split()
    return parts[-1] if parts else name
