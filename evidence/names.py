"""BibTeX name lists: splitting ``A and B and {C and D}``, family names, and the parts of one
name (first, von, last, jr) for citation styles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from evidence.bib import unpaired_braces

__all__ = ["NameParts", "family_name", "parse_name", "split_names"]

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


@dataclass(frozen=True)
class NameParts:
    """The parts of one BibTeX name (``von Last, Jr, First``), as written (not decoded).

    ``literal`` is set instead for a name wrapped whole in braces (``{World Health
    Organization}``), which BibTeX never splits.
    """

    first: str = ""
    von: str = ""
    last: str = ""
    jr: str = ""
    literal: str | None = None


def _words(text: str) -> list[str]:
    """Split on whitespace (and ``~``) outside braces."""
    words: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        if depth == 0 and (ch.isspace() or ch == "~"):
            if current:
                words.append("".join(current))
                current = []
            continue
        current.append(ch)
    if current:
        words.append("".join(current))
    return words


def _commas(text: str) -> list[str]:
    """Split on commas outside braces."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


_SPECIAL_RE = re.compile(r"\{\\(?:[^A-Za-z{}\s]|[A-Za-z]+)\s*\{?\s*([A-Za-z])")


def _is_lower(word: str) -> bool:
    """BibTeX's test for a von word: its first letter at brace depth 0 is lower case (a
    special character ``{\\"u}`` counts by its letter; other brace groups are not case)."""
    depth = 0
    i = 0
    while i < len(word):
        ch = word[i]
        if ch == "{":
            if depth == 0 and word[i + 1 : i + 2] == "\\":
                m = _SPECIAL_RE.match(word, i)
                return m is not None and m.group(1).islower()
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        elif depth == 0 and ch.isalpha():
            return ch.islower()
        i += 1
    return False


def _von_last(words: list[str]) -> tuple[str, str]:
    """``von Last`` words → (von, Last): von is up to the last lower-case word before the
    final word."""
    if not words:
        return "", ""
    cut = 0
    for i, word in enumerate(words[:-1]):
        if _is_lower(word):
            cut = i + 1
    return " ".join(words[:cut]), " ".join(words[cut:])


def parse_name(name: str) -> NameParts:
    """Split one BibTeX name into first, von, last and jr parts (the rules of BibTeX's
    ``format.name$``, as in Patashnik's *BibTeXing* and Markey's *Tame the BeaST*, §11).

    >>> parse_name("aan het Rot, Marije")
    NameParts(first='Marije', von='aan het', last='Rot', jr='', literal=None)
    >>> parse_name("Ludwig van Beethoven").last, parse_name("King, Jr, Martin Luther").jr
    ('Beethoven', 'Jr')
    >>> parse_name("{World Health Organization}").literal
    'World Health Organization'
    """
    name = " ".join(name.split())
    if name.startswith("{") and name.endswith("}") and _words(name) == [name]:
        inner = name[1:-1]
        if not unpaired_braces(inner) and not inner.startswith("\\"):
            return NameParts(literal=inner)
    parts = _commas(name)
    if len(parts) == 1:
        words = _words(parts[0])
        if len(words) <= 1:
            return NameParts(last=" ".join(words))
        first_von = next((i for i, w in enumerate(words[:-1]) if _is_lower(w)), None)
        if first_von is None:
            return NameParts(first=" ".join(words[:-1]), last=words[-1])
        von, last = _von_last(words[first_von:])
        return NameParts(first=" ".join(words[:first_von]), von=von, last=last)
    words = _words(parts[0])
    von, last = _von_last(words) if words and _is_lower(words[0]) else ("", " ".join(words))
    if len(parts) == 2:
        return NameParts(first=parts[1], von=von, last=last)
    return NameParts(first=", ".join(parts[2:]), von=von, last=last, jr=parts[1])
