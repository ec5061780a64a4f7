"""BibTeX names (evidence.names): splitting lists, family names, the parts of one name."""

from __future__ import annotations

import pytest

from evidence.names import NameParts, family_name, parse_name, split_names


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        pytest.param("Glue, Paul", NameParts(first="Paul", last="Glue"), id="last-first"),
        pytest.param("Paul Glue", NameParts(first="Paul", last="Glue"), id="first-last"),
        pytest.param("Glue", NameParts(last="Glue"), id="one-word"),
        pytest.param(
            "Glue, P. J.", NameParts(first="P. J.", last="Glue"), id="initials-with-spaces"
        ),
        pytest.param(
            "aan het Rot, Marije",
            NameParts(first="Marije", von="aan het", last="Rot"),
            id="von-comma",
        ),
        pytest.param(
            "Ludwig van Beethoven",
            NameParts(first="Ludwig", von="van", last="Beethoven"),
            id="von-first-last",
        ),
        pytest.param(
            "Jean de La Fontaine",
            NameParts(first="Jean", von="de", last="La Fontaine"),
            id="von-then-two-word-last",
        ),
        pytest.param(
            "Van der Berg, Jan",
            NameParts(first="Jan", last="Van der Berg"),
            id="capitalised-particle-stays-in-last",
        ),
        pytest.param(
            "King, Jr, Martin Luther",
            NameParts(first="Martin Luther", last="King", jr="Jr"),
            id="jr",
        ),
        pytest.param(
            "Le Nedelec, M.", NameParts(first="M.", last="Le Nedelec"), id="two-word-last"
        ),
        pytest.param(
            "{World Health Organization}",
            NameParts(literal="World Health Organization"),
            id="braced-literal",
        ),
        pytest.param(
            "{Barnes and Noble}, Inc",
            NameParts(first="Inc", last="{Barnes and Noble}"),
            id="braced-last",
        ),
        pytest.param(
            'M{\\"u}ller, J{\\"o}rg',
            NameParts(first='J{\\"o}rg', last='M{\\"u}ller'),
            id="accents",
        ),
        pytest.param(
            "{\\'E}mile Zola", NameParts(first="{\\'E}mile", last="Zola"), id="special-upper"
        ),
        pytest.param(
            "{\\'e}tienne de Zola",
            NameParts(first="", von="{\\'e}tienne de", last="Zola"),
            id="special-lower-is-von",
        ),
        pytest.param(
            "Shadli, Shabah Mohammad",
            NameParts("Shabah Mohammad", "", "Shadli"),
            id="multi-word-given",
        ),
    ],
)
def test_parse_name(name: str, parts: NameParts) -> None:
    assert parse_name(name) == parts


def test_parse_name_collapses_whitespace_and_keeps_family_name_rule() -> None:
    assert parse_name("  Glue ,\n  Paul ") == NameParts(first="Paul", last="Glue")
    # family_name (used by the tables) is unchanged by parse_name
    assert family_name("aan het Rot, Marije") == "aan het Rot"
    assert split_names("Feder, Adriana and others") == ["Feder, Adriana", "others"]


@pytest.mark.parametrize(
    ("name", "family"),
    [
        pytest.param("Glue, Paul", "Glue", id="inverted"),
        pytest.param("Paul Glue", "Glue", id="given-first"),
        pytest.param("Glue", "Glue", id="one-word"),
        pytest.param("aan het Rot, M.", "aan het Rot", id="particle-inverted"),
        pytest.param("Marije aan het Rot", "aan het Rot", id="particle-given-first"),
        pytest.param("Jan van den Berg", "van den Berg", id="von"),
        pytest.param("King, Jr, Martin Luther", "King", id="jr"),
        pytest.param("{World Health Organization}", "{World Health Organization}", id="org"),
        pytest.param("{Barnes, Noble and Co}", "{Barnes, Noble and Co}", id="org-with-comma"),
        pytest.param('{M{\\"u}ller}, Hans', '{M{\\"u}ller}', id="braced-family"),
        pytest.param("Anderson-Fahey,  B", "Anderson-Fahey", id="hyphenated"),
    ],
)
def test_family_name(name: str, family: str) -> None:
    assert family_name(name) == family


def test_split_names_keeps_braced_and() -> None:
    assert split_names("A, B and {Barnes and Noble} AND C D") == [
        "A, B",
        "{Barnes and Noble}",
        "C D",
    ]
