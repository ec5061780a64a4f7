"""citeproc-py's style queries remembered while formatting: same references, fewer queries."""

from __future__ import annotations

import contextlib
import threading

import pytest
from citeproc.model import CitationStylesElement

import evidence
from evidence import citations, csllookup
from evidence.citations import find_style

from .conftest import DATA

EDGE = DATA / "citations" / "edge-cases.bib"
STUDIES = DATA / "citations" / "ketamine.bib"
ORIGINAL = CitationStylesElement.__dict__["xpath_search"]


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


def test_each_query_runs_once_per_element_within_the_block(monkeypatch, records):
    asked: list[tuple[object, str]] = []

    def counting(element, expression):
        asked.append((element, expression))
        return ORIGINAL(element, expression)

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


def test_the_block_leaves_citeproc_as_it_was_even_after_an_error():
    with pytest.raises(KeyError), csllookup.remembered():
        assert CitationStylesElement.xpath_search is csllookup._search
        raise KeyError("a style construct citeproc-py cannot render")
    assert CitationStylesElement.__dict__["xpath_search"] is ORIGINAL
    assert csllookup._answers == {} and csllookup._depth == 0


def test_blocks_nest_and_overlap_in_threads():
    with csllookup.remembered():
        with csllookup.remembered():
            pass
        assert CitationStylesElement.xpath_search is csllookup._search  # the outer one holds
    assert CitationStylesElement.__dict__["xpath_search"] is ORIGINAL

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
    assert CitationStylesElement.xpath_search is csllookup._search
    leave.set()
    thread.join()
    assert CitationStylesElement.__dict__["xpath_search"] is ORIGINAL


def test_a_citeproc_without_the_method_is_left_alone(monkeypatch):
    monkeypatch.delattr(CitationStylesElement, "xpath_search")
    with csllookup.remembered():
        assert "xpath_search" not in CitationStylesElement.__dict__
    assert "xpath_search" not in CitationStylesElement.__dict__
