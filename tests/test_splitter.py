"""evidence.splitter gives exactly bibtexparser's parse, block for block."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import bibtexparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidence.splitter import parse_string

from .conftest import DATA, ROOT


def _describe(library: bibtexparser.Library) -> list[tuple[Any, ...]]:
    """Everything a block holds that evidence reads (and more)."""
    out = []
    for block in library.blocks:
        row: tuple[Any, ...] = (type(block).__name__, block.start_line, block.raw)
        if hasattr(block, "key"):
            row += (block.key,)
        if hasattr(block, "entry_type"):
            row += (block.entry_type,)
        if hasattr(block, "fields"):
            row += (tuple((f.key, f.value, f.start_line, f.enclosing) for f in block.fields),)
        if hasattr(block, "parser_metadata"):
            row += (block.parser_metadata,)
        for name in ("value", "comment", "duplicate_keys"):
            if hasattr(block, name):
                value = getattr(block, name)
                row += (sorted(value) if isinstance(value, set) else value,)
        if hasattr(block, "error"):
            error = block.error
            row += (type(error).__name__, str(error), getattr(error, "end_index", None))
        if hasattr(block, "ignore_error_block"):
            row += (_describe_one(block.ignore_error_block),)
        if hasattr(block, "previous_block"):
            row += (_describe_one(block.previous_block),)
        out.append(row)
    return out


def _describe_one(block: Any) -> Any:
    if block is None:
        return None
    return (type(block).__name__, getattr(block, "start_line", None), getattr(block, "raw", None))


def _same(text: str) -> None:
    assert _describe(parse_string(text)) == _describe(bibtexparser.parse_string(text))


FILES = [*sorted(DATA.rglob("*.bib")), ROOT / "studies.bib"]


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(ROOT).as_posix() for p in FILES])
def test_every_test_file_parses_the_same(path: Path) -> None:
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    _same(text)


TRICKY = {
    "nested-braces": "@article{k,\n  title = {A {B {C}} d},\n  year = 2020\n}\n",
    "escaped-braces": "@article{k,\n  title = {A \\{ b \\} {c}},\n  note = {x}\n}\n",
    "backslash-newline": "@article{k,\n  title = {line \\\\\n  two \\\n three},\n  year = {1}\n}\n",
    "at-sign-inside": "@article{k,\n  note = {mail a@b.c},\n  title = {T}\n}\n",
    "block-start-inside": "@article{k,\n  note = {open\n@article{j, title={T}}\n",
    "unbalanced": "@article{k,\n  title = {open {brace},\n  year = 2020\n}\n@misc{j, title={x}}\n",
    "concatenation": "@string{jan = {January}}\n@article{k, month = {1 } # jan # { 2}, t={x}}\n",
    "quotes": '@article{k, title = "A {"} b", note = {q " q}, x = "y, z"}\n',
    "paren-block": "@article(k, title = {a ) b}, note = {c})\n@misc{j, title={x}}\n",
    "no-fields": "@article{k}\n@article{j,}\n",
    "comment-and-preamble": "@comment{x {y} z}\n@preamble{{\\newcommand{\\x}{y}}}\nfree text\n",
    "crlf": "@article{k,\r\n  title = {A,\r\n b},\r\n  year = {2020},\r\n}\r\n",
    "duplicate-field": "@article{k, title = {a}, title = {b}}\n",
    "duplicate-key": "@article{k, title = {a}}\n@article{k, title = {b}}\n",
    "missing-comma": "@article{k, title = {a} year = {b}}\n",
    "eof-in-value": "@article{k, title = {never closed",
    "space-before-brace": "@article{k, title =\n\n   {spaced\n out},\n}\n",
    "bare-values": "@article{k,\n  year = 2020,\n  month = jan # {x},\n  v = 3}\n",
    "trailing-text": "@article{k,\n  title = {a} junk,\n  note = {b} \n  }\n",
    "empty-key": "@article{k, = {x}, t = {y}}\n",
    "backslash-key": "@article{k, \\t = {x}, y = {z}}\n",
    "dangling-key": "@article{k, title = {a}, dangling}\n@misc{j, t={x}}\n",
    "equals-in-tail": "@article{k, title = {a} = b, t = {y}}\n",
    "deep-braces": "@article{k, t = {1{2{3{4{5{6{7{8}}}}}}}}, u = {v}}\n",
    "paren-entry": "@article(k,\n  title = {a},\n  year = 2020\n)\n",
    "enclosing-edges": '@article{k, a = {}, d = { s }, e = {a} # {b}, f = "q", g = {x {y} z}}\n',
    "string-references": (
        '@string{J = {Journal}}\n@STRING{m = "May"}\n@article{k, j = j, m = M, y = 1}\n'
    ),
}


@pytest.mark.parametrize("text", list(TRICKY.values()), ids=list(TRICKY))
def test_tricky_inputs_parse_the_same(text: str) -> None:
    _same(text)


def test_generated_file_parses_the_same(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_load import generate
    finally:
        sys.path.pop(0)
    path = tmp_path / "gen.bib"
    generate(path, 300, 11)
    _same(path.read_text(encoding="utf-8"))


_ALPHABET = '@{}()",=#\\\n a1%'


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=80))
def test_random_fragments_parse_the_same(fragment: str) -> None:
    _same("@article{k,\n  title = {" + fragment + "},\n  year = 2020\n}\n" + fragment)


def test_random_mutations_of_a_real_file_parse_the_same() -> None:
    text = (ROOT / "studies.bib").read_text(encoding="utf-8")
    rng = random.Random(3)
    for _ in range(60):
        chars = list(text)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(chars))
            chars[at] = rng.choice('@{}(),="\\\n')
        _same("".join(chars))
