"""Small text rules shared by several modules, each written once.

- :func:`letters_suffix`: the ``a``, ``b``, … ``z``, ``aa``, ``ab``, … suffixes that tell apart
  citation keys (``glue2017a``) and study labels (``Glue 2017a``) that would otherwise clash.
- :func:`ascii_fold`: text reduced to ASCII the way people spell it (``Dahlén`` → ``Dahlen``,
  ``Strauß`` → ``Strauss``), for citation keys and comparisons.
- :func:`escape_unprintable`: characters that do not print shown as escapes (``vol\\x00ume``,
  ``glue\\u202e7102``), for messages that echo a file's text to a terminal.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ascii_fold", "escape_unprintable", "letters_suffix"]

#: LaTeX letter commands and the ASCII letters they spell (other commands are dropped).
_TEX_LETTERS = {
    "o": "o",
    "O": "O",
    "ss": "ss",
    "aa": "a",
    "AA": "A",
    "ae": "ae",
    "AE": "AE",
    "oe": "oe",
    "OE": "OE",
    "l": "l",
    "L": "L",
    "i": "i",
    "j": "j",
}
#: Letters that NFKD does not decompose, spelled out in ASCII.
_SPELLED = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "œ": "oe",
        "Œ": "OE",
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "đ": "d",
        "Đ": "D",
        "þ": "th",
        "Þ": "Th",
        "ı": "i",
    }
)


_TEX_COMMAND = re.compile(r"\\([A-Za-z]+)\s*")


def ascii_fold(text: str, other: str = "") -> str:
    r"""``text`` in ASCII: LaTeX letter commands give their letters (``\o``, ``\ss``, ``\aa``,
    ``\ae``, ``\oe``, ``\l``, ``\i``, ``\j``) and other commands are dropped; ß æ œ ø ł đ þ ı
    are spelled out (ss, ae, oe, o, l, d, th, i); then the text is NFKD-normalised, its
    combining accents dropped, and every other non-ASCII character (a dash, a Greek letter)
    replaced by ``other``: dropped by default, as for a citation key; a space where words
    are compared (:mod:`evidence.duplicates`), so "dose—response" keeps two words.

    Case, braces, spacing and punctuation are kept; callers lower-case or drop what they need.

    >>> ascii_fold("Dahlén"), ascii_fold("Strauß"), ascii_fold("Łukasz"), ascii_fold(r"{\O}ye")
    ('Dahlen', 'Strauss', 'Lukasz', '{O}ye')
    >>> ascii_fold("Bjørnstad—β", other=" ")
    'Bjornstad  '
    """
    if text.isascii() and "\\" not in text:  # nothing to fold
        return text
    text = _TEX_COMMAND.sub(lambda m: _TEX_LETTERS.get(m.group(1), ""), text)
    text = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    if text.isascii():
        return text
    return "".join(
        ch if ch.isascii() else "" if unicodedata.combining(ch) else other for ch in text
    )


def letters_suffix(n: int) -> str:
    """The ``n``-th suffix (from 1) in bijective base 26: ``a`` … ``z``, ``aa``, ``ab`` … ``zz``,
    ``aaa`` …, so every count gets distinct suffixes (as spreadsheet columns are named).

    >>> [letters_suffix(n) for n in (1, 2, 26, 27, 28, 52, 53, 702, 703)]
    ['a', 'b', 'z', 'aa', 'ab', 'az', 'ba', 'zz', 'aaa']
    """
    if n < 1:
        raise ValueError(f"suffixes are numbered from 1; got {n}")
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(ord("a") + rem) + out
    return out


_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def escape_unprintable(text: str) -> str:
    r"""``text`` with every character that does not print (:meth:`str.isprintable`: control
    characters, format characters such as a zero-width space or a text-direction override,
    separators other than the space, a lone surrogate) written as Python writes it in a string
    literal (``\t``, ``\n``, ``\r``, else ``\xNN``, ``\uNNNN``), so a message that echoes a
    file's text shows a NUL byte, an escape sequence or a right-to-left override instead of
    sending it to the terminal, and stays on one line. Other text, backslashes and letters in
    any script included, is left as it is.

    >>> print(escape_unprintable("vol\x00ume"), escape_unprintable("a\tb\x1b[2J\n"))
    vol\x00ume a\tb\x1b[2J\n
    >>> print(escape_unprintable("glue\u202e7102 Dahlén"))
    glue\u202e7102 Dahlén
    """
    if text.isprintable():  # the usual case, at C speed
        return text
    return "".join(c if c.isprintable() else _escaped(c) for c in text)


def _escaped(char: str) -> str:
    """One character as a Python string literal writes it (``\\t``, ``\\x00``, ``\\u202e``)."""
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
