"""citeproc-py's style lookups remembered while formatting: same references, less work."""

from __future__ import annotations

import contextlib
import importlib
import io
import threading

import pytest
from citeproc.model import CitationStylesElement, Parent, SomewhatObjectifiedElement

import evidence
from evidence import citations, csllookup
from evidence.citations import find_style

from .conftest import DATA

EDGE = DATA / "citations" / "edge-cases.bib"
STUDIES = DATA / "citations" / "ketamine.bib"


def _attributes() -> dict[tuple[object, str], object]:
    """What citeproc-py has now at each place :mod:`csllookup` names."""
    found = {}
    places = [
        *csllookup.METHODS,
        *csllookup.BY_TYPE,
        *(place[:3] for place in (*csllookup.SKIPPED, *csllookup.FASTER, *csllookup.SAFER)),
    ]
    for module, owner_name, name in places:
        owner = importlib.import_module(module)
        if owner_name is not None:
            owner = getattr(owner, owner_name)
        found[owner, name] = vars(owner)[name]
    return found


ORIGINAL = _attributes()


def _all_replaced() -> bool:
    return all(now is not ORIGINAL[place] for place, now in _attributes().items())


@pytest.fixture(scope="module")
def records() -> list:
    return [*evidence.load(STUDIES).records, *evidence.load(EDGE).records]


@pytest.mark.parametrize(
    "style", ["vancouver", "apa", "nature", "chicago-author-date", "harvard-cite-them-right"]
)
def test_references_are_the_same_with_and_without_the_memory(monkeypatch, records, style):
    found = find_style(style)
    remembered = citations._render(records, found, processes=1)
    monkeypatch.setattr(csllookup, "remembered", contextlib.nullcontext)
    assert citations._render(records, found, processes=1) == remembered


def test_every_lookup_named_is_one_this_citeproc_has_and_all_are_replaced_in_the_block():
    with csllookup.remembered():
        assert _all_replaced()
    assert _attributes() == ORIGINAL


def test_each_query_runs_once_per_element_within_the_block(monkeypatch, records):
    asked: list[tuple[object, str]] = []
    search = ORIGINAL[CitationStylesElement, "xpath_search"]

    def counting(element, expression):
        asked.append((element, expression))
        return search(element, expression)

    monkeypatch.setattr(CitationStylesElement, "xpath_search", counting)
    found = find_style("apa")
    citations._render(records[:3], found, processes=1)  # the style parsed, its dates fixed
    with monkeypatch.context() as without:
        without.setattr(csllookup, "remembered", contextlib.nullcontext)
        asked.clear()
        citations._render(records[:3], found, processes=1)
        unremembered = len(asked)
    with csllookup.remembered():
        asked.clear()
        citations._render(records[:3], found, processes=1)
        assert 0 < len(asked) == len(set(asked)) < unremembered / 3
        asked.clear()
        citations._render(records[3:6], found, processes=1)
        assert asked == []  # the same style: every answer is known already
    assert CitationStylesElement.xpath_search is counting  # what was there before the block


def _asked(monkeypatch, records, cls: type, name: str) -> tuple[int, list[tuple[object, ...]]]:
    """How often citeproc-py's ``cls.name`` runs while ``records`` are formatted in APA without
    the memory, and what it is asked (element and arguments, once a run) with it."""
    asked: list[tuple[object, ...]] = []
    original = ORIGINAL[cls, name]

    def counting(element, *args):
        asked.append((element, *args))
        return original(element, *args)

    monkeypatch.setattr(cls, name, counting)
    found = find_style("apa")
    with monkeypatch.context() as without:
        without.setattr(csllookup, "remembered", contextlib.nullcontext)
        citations._render(records, found, processes=1)
    unremembered = len(asked)
    asked.clear()
    with csllookup.remembered():
        citations._render(records, found, processes=1)
    return unremembered, asked


def test_a_groups_walk_through_its_children_runs_once_per_element(monkeypatch, records):
    unremembered, walked = _asked(monkeypatch, records[:6], Parent, "calls_variable")
    assert 0 < len(walked) == len(set(walked)) < unremembered / 6


def test_a_child_named_as_an_attribute_is_found_once_per_element(monkeypatch, records):
    element = SomewhatObjectifiedElement
    unremembered, asked = _asked(monkeypatch, records[:6], element, "__getattr__")
    assert 0 < len(asked) == len(set(asked)) < unremembered / 6


def test_an_items_reference_is_the_sources_entry_and_is_looked_up_once(monkeypatch, records):
    from citeproc.source import CitationItem

    lookups: list[object] = []
    original = ORIGINAL[CitationItem, "reference"]

    def counting(item):
        lookups.append(item)
        return original.fget(item)

    monkeypatch.setattr(CitationItem, "reference", property(counting))
    found = find_style("vancouver")
    with csllookup.remembered():
        refs = citations._render(records[:4], found, processes=1)
    assert [r.key for r in refs] == [r.key for r in records[:4]]
    assert len(lookups) == len({id(item) for item in lookups}) == 4  # once per item


def test_a_type_test_runs_once_per_element_and_type(monkeypatch, records):
    from citeproc.model import If

    tested: list[tuple[object, str]] = []
    original = ORIGINAL[If, "_type"]

    def counting(element, item):
        tested.append((element, item.reference.type))
        return original(element, item)

    monkeypatch.setattr(If, "_type", counting)
    found = find_style("vancouver")
    with csllookup.remembered():
        citations._render(records, found, processes=1)
    assert 0 < len(tested) == len(set(tested))
    assert len({type_ for _, type_ in tested}) > 1  # several types, each tested once


def test_a_missing_variable_raises_variable_error_at_once():
    from citeproc.source import Name, VariableError

    name = Name(family="Doe")
    with csllookup.remembered():
        assert name["family"] == "Doe" and name.family == "Doe"
        with pytest.raises(VariableError) as raised:
            name["given"]
        assert raised.value.__context__ is None  # no KeyError raised first
    with pytest.raises(VariableError) as raised:
        name["given"]
    assert isinstance(raised.value.__context__, KeyError)  # citeproc-py's own, outside


SEAMS = ["", " ", ".", ",", "a", ". ", " .", "..", "a.", ".a", "(", "?"]


def _pieces():
    """Texts as citeproc-py holds them: strings, its String and NoCase, a number, and lists
    of them (MixedString), nested and with empty parts."""
    from citeproc.string import MixedString, NoCase, String

    for text in SEAMS:
        yield text
        yield String(text)
        yield NoCase(text)
        yield MixedString([String(""), text, NoCase("")])
        yield MixedString([MixedString([String(text)]), String("")])
    yield 7
    yield MixedString([])
    yield _Tagged("a.")  # a string that prints otherwise: "<a.>"
    yield MixedString([String("x"), _Tagged(" ")])


class _Tagged(str):
    def __str__(self) -> str:
        return f"<{super().__str__()}>"


def test_a_seam_is_normalized_as_citeproc_normalizes_it():
    import citeproc.string

    original = ORIGINAL[citeproc.string, "normalize_seam"]
    pieces = list(_pieces())
    with csllookup.remembered():
        faster = citeproc.string.normalize_seam
        assert faster is not original
        for left in pieces:
            for other in pieces:
                expected, got = original(left, other), faster(left, other)
                assert type(got) is type(expected) and str(got) == str(expected), (left, other)
                assert (got is other) == (expected is other)


def _rendering(*pieces):
    """Pieces as an element renders them, one by one: an exception (class) is raised when
    its turn comes."""
    for piece in pieces:
        if isinstance(piece, type):
            raise piece
        yield piece


@pytest.mark.parametrize("delimiter", ["", ", "])
@pytest.mark.parametrize(
    "pieces",
    [
        ("a", "b"),
        ("a", None, "b"),
        (),
        ("a", ValueError),
        ("a", RuntimeError, "b"),
    ],
)
def test_a_delimited_join_is_citeprocs_own_but_lets_an_interrupt_through(delimiter, pieces):
    from citeproc.model import Delimited

    element = _text_element(f'delimiter="{delimiter}"' if delimiter else "")
    original = ORIGINAL[Delimited, "join"]
    expected = original(element, _rendering(*pieces))
    with csllookup.remembered():
        assert Delimited.join is not original
        got = Delimited.join(element, _rendering(*pieces))
        assert type(got) is type(expected) and str(got) == str(expected)
        with pytest.raises(KeyboardInterrupt):  # citeproc-py's own printed "a" and went on
            Delimited.join(element, _rendering("a", KeyboardInterrupt, "b"))
        with pytest.raises(SystemExit):
            Delimited.join(element, _rendering(SystemExit))
    assert str(original(element, _rendering("a", KeyboardInterrupt, "b"))) == ""


def test_the_block_leaves_citeproc_as_it_was_even_after_an_error():
    with pytest.raises(KeyError), csllookup.remembered():
        assert _all_replaced()
        raise KeyError("a style construct citeproc-py cannot render")
    assert _attributes() == ORIGINAL
    assert csllookup._answers == {} and csllookup._depth == 0


def test_blocks_nest_and_overlap_in_threads():
    with csllookup.remembered():
        with csllookup.remembered():
            pass
        assert _all_replaced()  # the outer one holds
    assert _attributes() == ORIGINAL

    inside, leave = threading.Barrier(2), threading.Event()

    def first() -> None:
        with csllookup.remembered():
            inside.wait()
            leave.wait()

    thread = threading.Thread(target=first)
    thread.start()
    with csllookup.remembered():
        inside.wait()
    # this block ended first: the memory stays in place until the other one ends
    assert _all_replaced()
    leave.set()
    thread.join()
    assert _attributes() == ORIGINAL


def test_a_citeproc_without_a_method_or_module_is_left_alone(monkeypatch):
    monkeypatch.delattr(CitationStylesElement, "xpath_search")
    monkeypatch.setattr(
        csllookup, "METHODS", (*csllookup.METHODS, ("citeproc.gone", "Element", "lookup"))
    )
    with csllookup.remembered():
        assert "xpath_search" not in CitationStylesElement.__dict__
        assert Parent.__dict__["calls_variable"] is not ORIGINAL[Parent, "calls_variable"]
    assert "xpath_search" not in CitationStylesElement.__dict__
    assert Parent.__dict__["calls_variable"] is ORIGINAL[Parent, "calls_variable"]


def _text_element(attributes: str):
    """A ``cs:text`` of a parsed style, with ``attributes``."""
    from citeproc import CitationStylesStyle
    from citeproc.formatter import html

    style = f"""<?xml version="1.0" encoding="utf-8"?>
<style xmlns="http://purl.org/net/xbiblio/csl" class="in-text" version="1.0">
  <info><title>t</title><id>t</id><updated>2020-01-01T00:00:00+00:00</updated></info>
  <citation><layout><text variable="title" {attributes}/></layout></citation>
</style>"""
    parsed = CitationStylesStyle(io.BytesIO(style.encode()), validate=False)
    parsed.root.formatter = html  # as a bibliography sets it
    return parsed.root.citation.layout[0]


@pytest.mark.parametrize(
    ("attributes", "formats", "affixes", "quotes"),
    [
        ("", False, False, False),
        (
            'font-style="normal" text-decoration="none" vertical-align="baseline"',
            False,
            False,
            False,
        ),
        ('font-weight="bold"', True, False, False),
        ('font-variant="small-caps"', True, False, False),
        ('vertical-align="sup"', True, False, False),
        ('prefix="("', False, True, False),
        ('suffix="."', False, True, False),
        ('quotes="true"', False, False, True),
        ('quotes="false"', False, False, False),
    ],
)
def test_a_step_is_skipped_only_where_the_element_asks_for_nothing(
    attributes, formats, affixes, quotes
):
    from citeproc.string import String

    element = _text_element(attributes)
    text = String("Title")
    with csllookup.remembered():
        assert (element.format(text) is text) is not formats
        assert (element.wrap(text) is text) is not affixes
        assert element.wrap(None) is None
        assert (element.quote(text) is text) is not quotes
        if affixes:
            assert str(element.wrap(text)) != "Title"
        if formats:
            assert str(element.format(text)) != "Title"  # marked up by the formatter
        else:
            assert element.format(7) == "7"  # a number as its text, as citeproc-py gives it
