"""Small text rules shared by several modules, each written once.

- :func:`letters_suffix`: the ``a``, ``b``, … ``z``, ``aa``, ``ab``, … suffixes that tell apart
  citation keys (``glue2017a``) and study labels (``Glue 2017a``) that would otherwise clash.
"""

from __future__ import annotations

__all__ = ["letters_suffix"]


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
