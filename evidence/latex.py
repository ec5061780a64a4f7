"""LaTeX → Unicode for display, only where a value contains LaTeX.

Decoding every value with bibtexparser's LaTeX middleware makes a parse about 25× slower, so
:func:`decode` returns plain values unchanged, strips protective braces and TeX dashes itself,
and hands only values with a backslash to pylatexenc (a bibtexparser dependency), caching the
result since names and journals repeat.
"""

from __future__ import annotations

from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

__all__ = ["decode"]

_CONVERTER: LatexNodes2Text | None = None


def _plain(text: str) -> str:
    text = text.replace("---", "—").replace("--", "–").replace("~", "\u00a0")
    return " ".join(text.replace("{", "").replace("}", "").split())


@lru_cache(maxsize=65536)
def _decode_tex(text: str) -> str:
    global _CONVERTER
    if _CONVERTER is None:
        _CONVERTER = LatexNodes2Text(math_mode="verbatim", strict_latex_spaces=False)
    try:
        out = _CONVERTER.latex_to_text(text)
    except Exception:  # pragma: no cover - pylatexenc is forgiving; never fail on display
        out = text
    return " ".join(out.split())


def decode(text: str | None) -> str | None:
    """Unicode display form of a BibTeX value.

    >>> decode(r"M{\\"u}ller and Garc{\\'\\i}a"), decode("{GAD} in 1302--1305")
    ('Müller and García', 'GAD in 1302–1305')
    """
    if text is None:
        return None
    if "\\" in text:
        return _decode_tex(text)
    if "{" in text or "-" in text or "~" in text or "\n" in text or "  " in text:
        return _plain(text)
    return text
