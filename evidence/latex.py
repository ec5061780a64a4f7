"""LaTeX → Unicode for display, only where a value contains LaTeX.

Decoding every value with bibtexparser's LaTeX middleware makes a parse about 25× slower, so
:func:`decode` returns plain values unchanged, handles the accents and symbols found in
bibliographies with a table (TeX's accent commands map onto Unicode combining marks; the
result is NFC-normalised), and hands only what remains — math, unknown macros — to pylatexenc
(a bibtexparser dependency). Results are cached, since names and journals repeat.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import overload

__all__ = ["decode"]

# TeX accent command -> Unicode combining character (The TeXbook, ch. 9; Unicode 15, U+03xx).
_ACCENTS = {
    '"': "\u0308",
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
    "k": "\u0328",
    "r": "\u030a",
    "d": "\u0323",
    "b": "\u0331",
}
# TeX letter commands (The TeXbook, ch. 9) and escaped specials.
_LETTERS = {
    "o": "ø",
    "O": "Ø",
    "aa": "å",
    "AA": "Å",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "ss": "ß",
    "l": "ł",
    "L": "Ł",
    "i": "ı",
    "j": "ȷ",
    "&": "&",
    "%": "%",
    "$": "$",
    "_": "_",
    "#": "#",
    "{": "{",
    "}": "}",
    " ": " ",
}
_ACCENT_RE = re.compile(
    r"""\\([`'^"~=.])\s*(?:\{\s*(\\[ij]|[A-Za-z])\s*\}|(\\[ij]|[A-Za-z]))"""
    r"""|\\([uvHckrdb])(?:\s*\{\s*(\\[ij]|[A-Za-z])\s*\}|\s+([A-Za-z]))"""
)
_LETTER_RE = re.compile(r"\\(aa|AA|ae|AE|oe|OE|ss|[oOlLij])(?![A-Za-z])\s*|\\([&%$_#{} ])")

# \noopsort{x} is the classic BibTeX sort-key trick: it prints nothing.
_NOOPSORT_RE = re.compile(r"\\noopsort\s*\{[^{}]*\}")

_converter = None


def _accent(m: re.Match[str]) -> str:
    command = m.group(1) or m.group(4)
    base = m.group(2) or m.group(3) or m.group(5) or m.group(6)
    if base in ("\\i", "\\j"):
        base = base[1]  # dotless i/j under an accent: the accent replaces the dot
    return base + _ACCENTS[command]


def _letter(m: re.Match[str]) -> str:
    return _LETTERS[m.group(1) or m.group(2)]


def _tidy(text: str) -> str:
    text = text.replace("---", "—").replace("--", "–").replace("~", "\u00a0")
    return " ".join(text.replace("{", "").replace("}", "").split())


@lru_cache(maxsize=65536)
def _decode_tex(text: str) -> str:
    out = _NOOPSORT_RE.sub("", text.replace("\\\\", "\n"))
    out = _LETTER_RE.sub(_letter, _ACCENT_RE.sub(_accent, out))
    if "\\" not in out:
        escaped = {"{": "\x00", "}": "\x01"}
        for ch, mark in escaped.items():
            out = out.replace("\\" + ch, mark)
        out = _tidy(out).replace("\x00", "{").replace("\x01", "}")
        return unicodedata.normalize("NFC", out)
    return _fallback(text)


def _fallback(text: str) -> str:
    """pylatexenc for what the table does not cover (math, other macros)."""
    global _converter
    if _converter is None:
        from pylatexenc.latex2text import LatexNodes2Text

        _converter = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)
    try:
        out = _converter.latex_to_text(text)
    except Exception:  # pragma: no cover - pylatexenc is forgiving; never fail on display
        out = text
    return " ".join(out.split())


@overload
def decode(text: str) -> str: ...
@overload
def decode(text: None) -> None: ...
def decode(text: str | None) -> str | None:
    """Unicode display form of a BibTeX value.

    >>> decode(r"M{\\"u}ller and Garc{\\'\\i}a"), decode("{DNA} in 1302--1305")
    ('Müller and García', 'DNA in 1302–1305')
    """
    if text is None:
        return None
    if "\\" in text:
        return _decode_tex(text)
    if "{" in text or "-" in text or "~" in text or "\n" in text or "  " in text:
        return _tidy(text)
    return text
