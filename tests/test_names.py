"""BibTeX name lists (evidence.names): splitting on `and`, family names."""

from __future__ import annotations

import pytest

from evidence.names import family_name, split_names


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
