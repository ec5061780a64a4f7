"""LaTeX → Unicode for display (evidence.latex): the accent table, and pylatexenc agreeing."""

from __future__ import annotations

import pytest

from evidence.latex import _fallback, decode

CASES = [
    (r"M{\"u}ller", "Müller"),
    (r"M\"{u}ller", "Müller"),
    (r"M\"uller", "Müller"),
    (r"Garc{\'\i}a", "García"),
    (r"{\O}stergaard", "Østergaard"),
    (r"H{\aa}kansson", "Håkansson"),
    (r"Fran\c{c}ois", "François"),
    (r"Stra{\ss}er", "Straßer"),
    (r"Rivi\`{e}re", "Rivière"),
    (r"Dvo\v{r}\'ak", "Dvořák"),
    (r"J\o rgen", "Jørgen"),
    (r"Erd\H{o}s", "Erdős"),
    (r"\'{E}cole", "École"),
    (r"{\"O}zt{\"u}rk", "Öztürk"),
    (r"Ma\~{n}ana", "Mañana"),
    (r"Neuropsychiatr Dis {\&} Treat", "Neuropsychiatr Dis & Treat"),
    (r"50\% of", "50% of"),
    (r"x \textit{Y}", "x Y"),
]


@pytest.mark.parametrize(("tex", "text"), [pytest.param(t, u, id=u) for t, u in CASES])
def test_decode_matches_pylatexenc(tex: str, text: str) -> None:
    assert decode(tex) == text
    assert _fallback(tex) == text  # the fast table agrees with the full decoder


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("{GAD} and {SAD}", "GAD and SAD", id="protective-braces"),
        pytest.param("1302--1305", "1302–1305", id="en-dash"),
        pytest.param("a---b", "a—b", id="em-dash"),
        pytest.param("plain text", "plain text", id="untouched"),
        pytest.param(r"{\noopsort{Vries}}{de Vries}", "de Vries", id="noopsort"),
        pytest.param(None, None, id="none"),
    ],
)
def test_decode_display_forms(value, shown) -> None:
    assert decode(value) == shown
