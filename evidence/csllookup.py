"""citeproc-py's lookups in a parsed CSL style, remembered while references are formatted.

citeproc-py finds what a style element refers to (a macro by name, a locale term, the enclosing
``cs:layout``, the parent ``cs:names``) by running an XPath query on the style's lxml tree,
every time: for each entry, each macro call and each term. About a quarter to a half of its
time per entry goes there (``benchmarks/bench_cite.py`` prints the gain). A style's tree does
not change while it renders, so within :func:`remembered` each query, asked of one element, is
run once and its answer given again after.

The answer is the same list of the same elements, so the references are the same, byte for
byte (a test compares both ways on every edge case and in several styles). Outside the block
citeproc-py is as it was: the memory is dropped, and a style edited afterwards is queried
afresh. Blocks may nest and may run in several threads at once: the memory is installed by the
first to enter and removed by the last to leave. A citeproc-py without the method
(``CitationStylesElement.xpath_search``, which 0.11 has) is left alone.

>>> with remembered():
...     pass  # format references here
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["remembered"]

_LOCK = threading.Lock()
_depth = 0
_original: Callable[[Any, str], Any] | None = None
_answers: dict[tuple[Any, str], Any] = {}


def _search(element: Any, expression: str) -> Any:
    # keyed by the element itself: the key keeps lxml's proxy alive, so the same node gives
    # the same proxy (lxml elements hash by identity) for as long as the answer is kept
    key = (element, expression)
    try:
        return _answers[key]
    except KeyError:
        assert _original is not None
        answer = _answers[key] = _original(element, expression)
        return answer


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, each citeproc-py style query is run once per element (see above)."""
    global _depth, _original
    from citeproc.model import CitationStylesElement

    with _LOCK:
        if _depth == 0:
            _original = CitationStylesElement.__dict__.get("xpath_search")
            if _original is not None:
                CitationStylesElement.xpath_search = _search
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                if _original is not None:
                    CitationStylesElement.xpath_search = _original
                _original = None
                _answers.clear()
