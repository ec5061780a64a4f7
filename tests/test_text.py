"""Shared text rules (evidence.text): suffixes for clashing keys and labels, ASCII folding,
control characters escaped."""

from __future__ import annotations

import pytest

from evidence.errors import Problem
from evidence.text import ascii_fold, escape_unprintable, letters_suffix


@pytest.mark.parametrize(
    ("n", "suffix"),
    [
        *[(1, "a"), (2, "b"), (26, "z"), (27, "aa"), (28, "ab")],
        *[(52, "az"), (53, "ba"), (702, "zz"), (703, "aaa")],
    ],
)
def test_letters_suffix(n: int, suffix: str) -> None:
    assert letters_suffix(n) == suffix


def test_letters_suffixes_are_distinct_and_start_at_one() -> None:
    assert len({letters_suffix(n) for n in range(1, 20_000)}) == 19_999
    with pytest.raises(ValueError, match="numbered from 1"):
        letters_suffix(0)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        pytest.param("Dahlén", "Dahlen", id="accent"),
        pytest.param("Strauß Æsir Œuvre", "Strauss AEsir OEuvre", id="spelled"),
        pytest.param("Łukasz Đorđe þorn ı", "Lukasz Dorde thorn i", id="spelled-2"),
        pytest.param("Nguyễn Thị", "Nguyen Thi", id="stacked-accents"),
        # a command eats the spaces after it, as in TeX; \" is no letter command
        pytest.param(r"Sch\"{o}n {\o}ye \ss \aa\l", r"Sch\"{o}n {o}ye ssal", id="latex-letters"),
        pytest.param(r"\textit{x} \emph y", "{x} y", id="latex-commands-dropped"),
        pytest.param("ﬁ ½", "fi 12", id="compatibility"),
    ],
)
def test_ascii_fold(text: str, folded: str) -> None:
    assert ascii_fold(text) == folded


@pytest.mark.parametrize(
    ("text", "dropped", "spaced"),
    [
        pytest.param(
            "Bjørnstad—β-blockers", "Bjornstad-blockers", "Bjornstad  -blockers", id="dash"
        ),
        pytest.param("Dahlén×Strauß", "DahlenStrauss", "Dahlen Strauss", id="accents-not-spaced"),
        pytest.param("plain ASCII, kept", "plain ASCII, kept", "plain ASCII, kept", id="ascii"),
        pytest.param(r"{\o}ye Ørsted", "{o}ye Orsted", "{o}ye Orsted", id="latex-and-spelled"),
    ],
)
def test_ascii_fold_drops_other_characters_or_puts_what_it_is_given(text, dropped, spaced):
    """Accents are dropped either way; only characters that are no letter's accent become
    ``other``, so words compared stay apart ("dose—response")."""
    assert ascii_fold(text) == dropped
    assert ascii_fold(text, other=" ") == spaced


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("vol\x00ume", "vol\\x00ume", id="nul"),
        pytest.param("a\tb\nc\rd", "a\\tb\\nc\\rd", id="tab-newline-cr"),
        pytest.param("\x1b[2Jred\x07", "\\x1b[2Jred\\x07", id="escape-bell"),
        pytest.param("del\x7f c1\x85 \x9f", "del\\x7f c1\\x85 \\x9f", id="del-c1"),
        pytest.param(r"Dahlén \x00 {\o}", r"Dahlén \x00 {\o}", id="printable-kept"),
        pytest.param("glue\u202e7102", "glue\\u202e7102", id="direction-override"),
        pytest.param("a\u200bb\u00a0c\ufeff", "a\\u200bb\\xa0c\\ufeff", id="invisible"),
        pytest.param("lone \udcff", "lone \\udcff", id="surrogate"),
        pytest.param("Ελλάδα 東京 \U0001d400", "Ελλάδα 東京 \U0001d400", id="scripts-kept"),
        pytest.param("", "", id="empty"),
    ],
)
def test_escape_unprintable(text: str, shown: str) -> None:
    assert escape_unprintable(text) == shown


def test_problems_are_rendered_with_control_characters_escaped() -> None:
    problem = Problem(
        "a\x01.bib", 3, "k\x1b[31m", "vol\x00ume", "bad\nname", "x\ty", code="field.name"
    )
    assert str(problem) == r"a\x01.bib:3: k\x1b[31m: vol\x00ume: bad\nname (allowed: x\ty)"
    assert problem.field == "vol\x00ume"  # the record keeps the text as it is
