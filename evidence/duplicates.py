"""Finding the same study entered twice: same DOI or PMID, or a near-identical title with the
same year and first author.

Titles are compared after LaTeX decoding, ASCII folding, lower-casing and dropping punctuation,
with rapidfuzz's ``ratio`` (normalised Indel similarity, 0..100).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz

from evidence.latex import decode
from evidence.names import family_name, split_names
from evidence.schema import bare_doi

__all__ = ["TITLE_THRESHOLD", "Duplicate", "StudyIdentity", "find_duplicates", "identity"]

#: Minimum rapidfuzz ratio of normalised titles for a title match.
TITLE_THRESHOLD = 93.0


@dataclass(frozen=True)
class StudyIdentity:
    """The fields that identify a study, normalised for comparison."""

    key: str
    doi: str
    pmid: str
    title: str
    year: str
    first_author: str


@dataclass(frozen=True)
class Duplicate:
    """``key`` duplicates ``of`` (the earlier entry), for ``reason``."""

    key: str
    of: str
    reason: str  # "doi", "pmid" or "title"
    score: float = 100.0

    def __str__(self) -> str:
        detail = {"doi": "same DOI", "pmid": "same PMID"}.get(
            self.reason, f"near-identical title ({self.score:.0f}%), same year and first author"
        )
        return f"{self.key} duplicates {self.of}: {detail}"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", decode(text) or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _first_family(authors: str) -> str:
    names = split_names(authors)
    return _fold(family_name(names[0])) if names else ""


def identity(key: str, fields: Mapping[str, str]) -> StudyIdentity:
    """Normalised identity of one entry given its BibTeX fields (lower-case names)."""
    year = (fields.get("year") or fields.get("date") or "")[:4]
    return StudyIdentity(
        key=key,
        doi=bare_doi(fields.get("doi", "")).lower(),
        pmid=fields.get("pmid", "").strip(),
        title=_fold(fields.get("title", "")),
        year=year.strip(),
        first_author=_first_family(fields.get("author", "")),
    )


def match(a: StudyIdentity, b: StudyIdentity) -> Duplicate | None:
    """Whether ``a`` duplicates ``b`` (and why), or ``None``."""
    if a.doi and a.doi == b.doi:
        return Duplicate(a.key, b.key, "doi")
    if a.pmid and a.pmid == b.pmid:
        return Duplicate(a.key, b.key, "pmid")
    if a.title and b.title and a.year == b.year and a.first_author == b.first_author:
        score = fuzz.ratio(a.title, b.title)
        if score >= TITLE_THRESHOLD:
            return Duplicate(a.key, b.key, "title", score)
    return None


def find_duplicates(
    candidates: Iterable[StudyIdentity], existing: Iterable[StudyIdentity] = ()
) -> list[Duplicate]:
    """Duplicates among ``candidates`` and of ``existing`` entries.

    Each candidate is compared with the existing entries and the candidates before it; the
    first match is reported (so a later copy names the earlier entry). DOIs and PMIDs are
    looked up in dictionaries and titles compared only within the same year and first author,
    so a 10,000-entry file is checked in well under a second.
    """
    by_doi: dict[str, StudyIdentity] = {}
    by_pmid: dict[str, StudyIdentity] = {}
    by_block: dict[tuple[str, str], list[StudyIdentity]] = {}

    def remember(ident: StudyIdentity) -> None:
        if ident.doi:
            by_doi.setdefault(ident.doi, ident)
        if ident.pmid:
            by_pmid.setdefault(ident.pmid, ident)
        by_block.setdefault((ident.year, ident.first_author), []).append(ident)

    for ident in existing:
        remember(ident)
    found = []
    for cand in candidates:
        pool = [by_doi.get(cand.doi), by_pmid.get(cand.pmid)]
        pool += by_block.get((cand.year, cand.first_author), [])
        for other in pool:
            dup = match(cand, other) if other is not None else None
            if dup is not None:
                found.append(dup)
                break
        remember(cand)
    return found
