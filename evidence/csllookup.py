"""citeproc-py's lookups in a parsed CSL style, remembered while references are formatted.

citeproc-py works out afresh, for each entry and at each step, things that depend only on the
style: what an element refers to (a macro by name, a locale term, the enclosing ``cs:layout``:
an XPath query on the style's lxml tree), a child element named as an attribute
(``element.layout``: a ``find`` in its children), the root of its tree, an option's value (an
attribute, else its default; the locale's style options), whether a group calls a variable
(a walk through its children and macros); and, for each entry, which of the source's
references a bibliography item is (three attribute look-ups through the citation and the
bibliography). Together that was most of its time per entry (``benchmarks/bench_cite.py``
prints the gain). Neither the style's tree nor a bibliography's source changes while it
renders, so within :func:`remembered` each of these (:data:`METHODS`), asked of one element or
item with the same arguments, is worked out once and its answer given again after.

Three of its steps, run for every element an entry passes through, are skipped where the
element asks for nothing (:data:`SKIPPED`): formatting (font style, variant, weight, decoration
and vertical alignment: five attribute reads and five look-ups of the formatter, each to leave
the text as it is) when the element sets none of them, affixes when it has no prefix and no
suffix, and quotes when it asks for none. Whether an element asks for any is remembered like
the lookups; when it does, citeproc-py does the step as before.

Two more are cheaper ways to the same answer: whether a ``cs:if`` (or ``cs:else-if``) tests
true for an item's type depends only on the element and the type (:data:`BY_TYPE`), so it is
remembered for each pair; and an entry's missing variable, asked for at every element that may
print it, raises citeproc-py's ``VariableError`` at once (:data:`FASTER`) instead of first
raising and catching a ``KeyError``. And where two pieces of an entry's text are joined (a
prefix, a suffix, a delimiter), citeproc-py compares the last character of the first with the
first of the second (so as not to print ". ." or two spaces): it made each piece one whole
string to find them, the text so far again at every piece joined, which was a tenth of its
time in Vancouver; each is now found in the piece's parts.

One is made safer (:data:`SAFER`): where an element joins its pieces with a delimiter, citeproc-py
catches *everything* raised while they are rendered (a bare ``except:``) and prints nothing for
them, a ^C too, so that a user's interrupt was swallowed one time in ten and the run went on
with an entry printed short; only errors are caught now.

The answers are the same objects, so the references are the same, byte for byte (a test
compares both ways on every edge case and in several styles). Outside the block citeproc-py is
as it was: the memory is dropped, and a style edited afterwards is read afresh. Blocks may nest
and may run in several threads at once: the memory is installed by the first to enter and
removed by the last to leave. A method that this citeproc-py does not have (or has moved) is
left alone.

>>> with remembered():
...     pass  # format references here
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["BY_TYPE", "FASTER", "METHODS", "SAFER", "SKIPPED", "remembered"]

#: What is remembered: (module, class, attribute), each defined on that class in citeproc-py
#: 0.11. Every answer but the last depends only on the element (lxml elements hash by
#: identity) and the arguments; the last is a property of a bibliography item.
METHODS = (
    ("citeproc.model", "CitationStylesElement", "xpath_search"),  # macros, terms, layout
    ("citeproc.model", "SomewhatObjectifiedElement", "__getattr__"),  # a child by its name
    ("citeproc.model", "CitationStylesElement", "get_root"),
    ("citeproc.model", "CitationStylesElement", "get_option"),  # the attribute or its default
    ("citeproc.model", "Locale", "get_option"),  # the locale's cs:style-options
    ("citeproc.model", "Parent", "calls_variable"),  # does a group's content call a variable
    ("citeproc.model", "Text", "calls_variable"),
    ("citeproc.source", "CitationItem", "reference"),  # the item's entry in the source
)

#: What CSL asks of an element with these attributes, and the value that asks for nothing:
#: ``citeproc.model.Formatted.format`` applies each in turn (the CSL 1.0 specification,
#: "Formatting").
_FORMATTING = (
    ("font-style", "normal"),
    ("font-variant", "normal"),
    ("font-weight", "normal"),
    ("text-decoration", "none"),
    ("vertical-align", "baseline"),
)


def _formats_nothing(element: Any) -> bool:
    """Whether ``element`` sets no formatting, or sets each to the value that changes nothing."""
    return all(element.get(name, plain) == plain for name, plain in _FORMATTING)


def _formatted_as_is(element: Any, string: Any) -> tuple[bool, Any]:
    """``citeproc.model.Formatted.format`` of an element that formats nothing: a number as its
    text, anything else unchanged."""
    if not _asks(_formats_nothing, element):
        return False, None
    return True, str(string) if isinstance(string, (int, float)) else string


def _affixes_nothing(element: Any) -> bool:
    """Whether ``element`` has neither a prefix nor a suffix."""
    return not element.get("prefix", "") and not element.get("suffix", "")


def _wrapped_as_is(element: Any, string: Any) -> tuple[bool, Any]:
    """``citeproc.model.Affixed.wrap`` of text by an element without affixes: the text itself
    (empty affixes add nothing; ``None`` stays ``None``)."""
    if (string is None or isinstance(string, str)) and _asks(_affixes_nothing, element):
        return True, string
    return False, None


def _quotes_nothing(element: Any) -> bool:
    """Whether ``element`` does not ask for quotes (``quotes`` is not true)."""
    return str(element.get("quotes", "false")).lower() != "true"


def _quoted_as_is(element: Any, string: Any) -> tuple[bool, Any]:
    """``citeproc.model.Quoted.quote`` of text by an element that asks for no quotes: the text
    itself (citeproc-py reads the locale's punctuation-in-quote option first, and uses it not)."""
    if _asks(_quotes_nothing, element):
        return True, string
    return False, None


#: Steps skipped where an element asks for nothing: (module, class, attribute, shortcut), each
#: method defined on that class in citeproc-py 0.11. A shortcut answers ``(True, result)`` for
#: an element that asks for nothing, else ``(False, None)`` and the method runs as before.
SKIPPED = (
    ("citeproc.model", "Formatted", "format", _formatted_as_is),
    ("citeproc.model", "Affixed", "wrap", _wrapped_as_is),
    ("citeproc.model", "Quoted", "quote", _quoted_as_is),
)

#: What is remembered for an element and an item's type (``item.reference.type``): (module,
#: class, attribute), a method of the element and the item defined on that class in
#: citeproc-py 0.11 (``If._type``: a ``type`` test, inherited by ``cs:else-if``).
BY_TYPE = (("citeproc.model", "If", "_type"),)

_MISSING = object()


def _raising_at_once(original: Callable[..., Any]) -> Callable[..., Any]:
    """``citeproc.source.CustomDict.__getitem__`` (``original``): the value, else
    ``VariableError``, raised without a ``KeyError`` raised and caught first."""
    from citeproc.source import VariableError

    def item_or_variable_error(mapping: Any, key: str) -> Any:
        value = dict.get(mapping, key, _MISSING)
        if value is _MISSING:
            raise VariableError
        return value

    return item_or_variable_error


def _seam_by_its_ends(original: Callable[..., Any]) -> Callable[..., Any]:
    """``citeproc.string.normalize_seam`` (``original``): ``other``, without its first
    character where that is a space or a punctuation mark (``SEAM_PUNCTUATION``) and the
    last character of ``left`` is the same; the two characters are found in the parts of a
    ``MixedString`` (a list of strings and of other such lists, printed one after the
    other), each part as it prints (``str``)."""
    from citeproc import string

    mixed = string.MixedString
    marks = string.SEAM_PUNCTUATION
    strip_first = string._strip_first_char

    def printed(piece: Any) -> Any:
        """``piece`` itself where it prints as it is (a ``str`` that does not print otherwise),
        else what it prints."""
        if isinstance(piece, str) and type(piece).__str__ is str.__str__:
            return piece
        return str(piece)

    def last(piece: Any) -> str:
        if isinstance(piece, mixed):
            for part in reversed(piece):
                found = last(part)
                if found:
                    return found
            return ""
        return printed(piece)[-1:]

    def first(piece: Any) -> str:
        if isinstance(piece, mixed):
            for part in piece:
                found = first(part)
                if found:
                    return found
            return ""
        return printed(piece)[:1]

    def normalize_seam(left: Any, other: Any) -> Any:
        start = first(other)  # the short piece: most begin with neither, and end the search
        if not (start == " " or start in marks) or last(left) != start:
            return other
        return strip_first(other)

    return normalize_seam


#: Functions replaced by a cheaper one with the same results: (module, class or ``None`` for
#: a function of the module, attribute, the function making the replacement from the
#: original), each defined there in citeproc-py 0.11. ``normalize_seam`` is replaced in both
#: modules that call it.
FASTER: tuple[tuple[str, str | None, str, Callable[[Any], Any]], ...] = (
    ("citeproc.source", "CustomDict", "__getitem__", _raising_at_once),
    ("citeproc.string", None, "normalize_seam", _seam_by_its_ends),
    ("citeproc.model", None, "normalize_seam", _seam_by_its_ends),
)


def _letting_interrupts_through(original: Callable[..., Any]) -> Callable[..., Any]:
    """``citeproc.model.Delimited.join`` (``original``): the delimited text of the pieces
    rendered, or an empty text if rendering them raises an error, as there; but its bare
    ``except:`` also caught an interrupt (``KeyboardInterrupt``: ^C) or an exit raised while
    the pieces were rendered (most of an entry's time is spent inside it), so that the entry
    was printed without them and the run went on; these are raised again."""
    from citeproc.model import String, join

    def delimited(element: Any, strings: Any, default_delimiter: str = "") -> Any:
        delimiter = element.get("delimiter", default_delimiter)
        try:
            return join((s for s in strings if s is not None), delimiter)
        except Exception:
            return String("")

    return delimited


#: Functions replaced by one that lets what stops a program through (as :data:`FASTER`).
SAFER: tuple[tuple[str, str | None, str, Callable[[Any], Any]], ...] = (
    ("citeproc.model", "Delimited", "join", _letting_interrupts_through),
)

_LOCK = threading.Lock()
_depth = 0
_replaced: list[tuple[Any, str, Any]] = []  # (class or module, attribute, what was there)
_answers: dict[tuple[Any, ...], Any] = {}


def _remembering(method: Callable[..., Any]) -> Callable[..., Any]:
    def remembered_method(self: Any, *args: Any) -> Any:
        # the key holds the element itself: that keeps lxml's proxy alive, so the same node
        # gives the same proxy for as long as the answer is kept
        key = (method, self, *args)
        try:
            return _answers[key]
        except KeyError:
            answer = _answers[key] = method(self, *args)
            return answer

    return remembered_method


def _asks(question: Callable[[Any], bool], element: Any) -> bool:
    """``question(element)``, remembered for the element (kept alive by the key, as above)."""
    key = (question, element)
    try:
        return bool(_answers[key])
    except KeyError:
        answer = _answers[key] = question(element)
        return answer


def _skipping(method: Callable[..., Any], shortcut: Callable[..., tuple[bool, Any]]) -> Any:
    def skipping_method(self: Any, string: Any) -> Any:
        done, result = shortcut(self, string)
        return result if done else method(self, string)

    return skipping_method


def _remembering_by_type(method: Callable[..., Any]) -> Callable[..., Any]:
    def remembered_for_type(self: Any, item: Any) -> Any:
        key = (method, self, item.reference.type)
        try:
            answer = _answers[key]
        except KeyError:
            answer = _answers[key] = method(self, item)
        return list(answer)  # a list of its own, as each call gave

    return remembered_for_type


def _remembering_property(prop: property) -> property:
    getter = prop.fget
    assert getter is not None

    def remembered_get(self: Any) -> Any:
        # an item is a dict (unhashable): keyed by its id, with the item kept beside the answer
        # so that the id cannot be reused while the answer is kept
        key = (getter, id(self))
        kept = _answers.get(key)
        if kept is not None and kept[0] is self:
            return kept[1]
        answer = getter(self)
        _answers[key] = (self, answer)
        return answer

    return property(remembered_get)


def _install() -> None:
    for module_name, class_name, name in METHODS:
        owner = _owner(module_name, class_name)
        original = vars(owner).get(name) if owner is not None else None
        if isinstance(original, property) and original.fget is not None:
            replacement: Any = _remembering_property(original)
        elif callable(original):
            replacement = _remembering(original)
        else:
            continue
        _replace(module_name, class_name, name, replacement)
    for module_name, class_name, name, shortcut in SKIPPED:
        original = _defined(module_name, class_name, name)
        if original is not None:
            _replace(module_name, class_name, name, _skipping(original, shortcut))
    for module_name, class_name, name in BY_TYPE:
        original = _defined(module_name, class_name, name)
        if original is not None:
            _replace(module_name, class_name, name, _remembering_by_type(original))
    for module_name, owner_name, name, faster in (*FASTER, *SAFER):
        original = _defined(module_name, owner_name, name)
        try:
            replacement = faster(original) if original is not None else None
        except (ImportError, AttributeError):  # what it builds on has moved
            continue
        if replacement is not None:
            _replace(module_name, owner_name, name, replacement)


def _owner(module_name: str, class_name: str | None) -> Any:
    """That class of that module (the module itself for ``None``), else ``None``."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    if class_name is None:
        return module
    cls = getattr(module, class_name, None)
    return cls if isinstance(cls, type) else None


def _defined(module_name: str, class_name: str | None, name: str) -> Any:
    """The function ``name`` defined on that class of that module (or in the module), else
    ``None``."""
    owner = _owner(module_name, class_name)
    original = vars(owner).get(name) if owner is not None else None
    return original if callable(original) else None


def _replace(module_name: str, class_name: str | None, name: str, replacement: Any) -> None:
    owner = _owner(module_name, class_name)
    _replaced.append((owner, name, vars(owner)[name]))
    setattr(owner, name, replacement)


def _restore() -> None:
    while _replaced:
        cls, name, original = _replaced.pop()
        setattr(cls, name, original)
    _answers.clear()


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, citeproc-py's lookups in a style (:data:`METHODS`) are worked out
    once per element and arguments (see above)."""
    global _depth
    with _LOCK:
        if _depth == 0:
            try:
                _install()
            except BaseException:
                _restore()
                raise
        _depth += 1
    try:
        yield
    finally:
        with _LOCK:
            _depth -= 1
            if _depth == 0:
                _restore()
