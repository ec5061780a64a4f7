"""Finding the same study entered twice: same DOI or PMID, or a near-identical title with the
same year and first author (an identical title where the year or first author is missing).

Titles and first authors are compared after LaTeX decoding, ASCII folding (the project's one
fold, :func:`evidence.text.ascii_fold`: ``Bjørnstad`` and ``Bjornstad`` are one name),
lower-casing and dropping punctuation; titles with rapidfuzz's ``ratio`` (normalised Indel
similarity, 0..100).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from evidence.latex import decode
from evidence.names import family_name, split_names
from evidence.schema import bare_doi
from evidence.text import ascii_fold

__all__ = [
    "IDENTITY_FIELDS",
    "TITLE_THRESHOLD",
    "Duplicate",
    "StudyIdentity",
    "find_duplicates",
    "identity",
]

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


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


def _fold(text: str) -> str:
    """LaTeX decoded, folded to ASCII (:func:`evidence.text.ascii_fold`: accents dropped,
    ``ø`` → ``o``, ``ß`` → ``ss``, any other non-ASCII character a space), lower case, runs of
    anything but ASCII letters and digits made one space."""
    folded = ascii_fold(decode(text) or "", other=" ")
    return " ".join(_NOT_ALPHANUMERIC.sub(" ", folded.lower()).split())


def _first_family(authors: str) -> str:
    names = split_names(authors)
    return _fold(family_name(names[0])) if names else ""


#: The BibTeX fields :func:`identity` reads.
IDENTITY_FIELDS = frozenset({"author", "date", "doi", "pmid", "title", "year"})


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
    """Whether ``a`` duplicates ``b`` (and why), or ``None``; :func:`find_duplicates` applies
    the same rule to many entries at once."""
    if a.doi and a.doi == b.doi:
        return Duplicate(a.key, b.key, "doi")
    if a.pmid and a.pmid == b.pmid:
        return Duplicate(a.key, b.key, "pmid")
    if a.title and b.title and a.year == b.year and a.first_author == b.first_author:
        if not (a.year and a.first_author):  # see find_duplicates
            return Duplicate(a.key, b.key, "title") if a.title == b.title else None
        score = fuzz.ratio(a.title, b.title)
        if score >= TITLE_THRESHOLD:
            return Duplicate(a.key, b.key, "title", score)
    return None


class _TitleBlock:
    """The titled entries of one (year, first author) block, in the order they were added.

    :meth:`first_similar` returns the earliest entry whose title has a rapidfuzz ratio of at
    least :data:`TITLE_THRESHOLD` with a given title -- what comparing it with every entry in
    order returns -- but compares only the first entry of each distinct title (a later one
    scores the same), inside rapidfuzz (``process.extract``). With ``exact=True`` (a block
    without year or first author) only an identical title matches, found in a dictionary.
    """

    __slots__ = ("exact", "first", "titles")

    def __init__(self, exact: bool):
        self.exact = exact
        self.first: dict[str, tuple[StudyIdentity, int]] = {}  # title -> first entry, position
        self.titles: list[str] = []  # distinct titles, in order of first appearance

    def first_similar(self, title: str) -> tuple[StudyIdentity, float] | None:
        """The earliest member whose title matches ``title``, with the score."""
        same = self.first.get(title)
        if not self.exact:
            end = same[1] if same is not None else len(self.titles)
            hits = process.extract(
                title,
                self.titles[:end],
                scorer=fuzz.ratio,
                score_cutoff=TITLE_THRESHOLD,
                limit=None,
            )
            if hits:
                _, score, at = min(hits, key=lambda hit: hit[2])
                return self.first[self.titles[at]][0], score
        return (same[0], 100.0) if same is not None else None

    def add(self, ident: StudyIdentity) -> None:
        if ident.title and ident.title not in self.first:
            self.first[ident.title] = (ident, len(self.titles))
            self.titles.append(ident.title)


def find_duplicates(
    candidates: Iterable[StudyIdentity], existing: Iterable[StudyIdentity] = ()
) -> list[Duplicate]:
    """Duplicates among ``candidates`` and of ``existing`` entries.

    Each candidate is compared with the existing entries and the candidates before it; the
    first match is reported (so a later copy names the earlier entry): the first entry with
    the same DOI, else the first with the same PMID, else the first with a near-identical
    title (ratio >= :data:`TITLE_THRESHOLD`) and the same year and first author.

    Entries that lack the year or the first author cannot show "the same year and first
    author", so for them a title matches only when it is identical after normalisation
    (LaTeX decoding, ASCII folding, case and punctuation ignored), and only with an entry
    lacking the same fields and agreeing on the others (a missing year is not any year).
    Without that corroboration a near-identical title is weak evidence ("Annual report
    2018" and "... 2019" are 94% alike), and it would mean comparing every such title with
    every other. DOIs, PMIDs and identical titles are dictionary look-ups and near-identical
    titles are compared only within one year and first author, so the time grows about
    linearly with the number of entries (24,000 in well under a second).
    """
    by_doi: dict[str, StudyIdentity] = {}
    by_pmid: dict[str, StudyIdentity] = {}
    blocks: dict[tuple[str, str], _TitleBlock] = {}

    def block_of(ident: StudyIdentity) -> _TitleBlock:
        key = (ident.year, ident.first_author)
        block = blocks.get(key)
        if block is None:
            block = blocks[key] = _TitleBlock(exact=not (ident.year and ident.first_author))
        return block

    def remember(ident: StudyIdentity) -> None:
        if ident.doi:
            by_doi.setdefault(ident.doi, ident)
        if ident.pmid:
            by_pmid.setdefault(ident.pmid, ident)
        block_of(ident).add(ident)

    for ident in existing:
        remember(ident)
    found = []
    for cand in candidates:
        dup = None
        if cand.doi and cand.doi in by_doi:
            dup = Duplicate(cand.key, by_doi[cand.doi].key, "doi")
        elif cand.pmid and cand.pmid in by_pmid:
            dup = Duplicate(cand.key, by_pmid[cand.pmid].key, "pmid")
        elif cand.title:
            hit = block_of(cand).first_similar(cand.title)
            if hit is not None:
                dup = Duplicate(cand.key, hit[0].key, "title", hit[1])
        if dup is not None:
            found.append(dup)
        remember(cand)
    return found
