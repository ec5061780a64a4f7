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


def _top_level_comma(name: str) -> int:
    """Index of the first comma outside braces, or -1."""
    depth = 0
    for i, ch in enumerate(name):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "," and depth == 0:
            return i
    return -1


def _one_group(name: str) -> bool:
    """Whether ``name`` is a single braced group, ``{...}`` (an organisation)."""
    if not (name.startswith("{") and name.endswith("}")):
        return False
    depth = 0
    for i, ch in enumerate(name):
        depth += (ch == "{") - (ch == "}")
        if depth == 0 and i < len(name) - 1:
            return False
    return True


def family_name(name: str) -> str:
    """Family name of one BibTeX name, split the way BibTeX splits it.

    - ``{World Health Organization}``: a name that is one braced group is not split; it is
      returned whole, braces included.
    - ``von Last, First`` and ``von Last, Jr, First``: everything before the first comma
      outside braces (``aan het Rot, M.`` gives ``aan het Rot``).
    - ``First von Last``: the words from the first one, before the last word, that begins in
      lower case -- the "von" particles -- to the end; else the last word (``Marije aan het
      Rot`` gives ``aan het Rot``, ``Paul Glue`` gives ``Glue``).

    >>> family_name("Glue, Paul"), family_name("Jan van den Berg"), family_name("{WHO}")
    ('Glue', 'van den Berg', '{WHO}')
    """
    name = " ".join(name.split())
    if _one_group(name):
        return name
    comma = _top_level_comma(name)
    if comma >= 0:
        return name[:comma].strip()
    words = name.split()
    if not words:
        return name
    split = next((i for i in range(len(words) - 1) if words[i][:1].islower()), len(words) - 1)
    return " ".join(words[split:])
