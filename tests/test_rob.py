"""Risk of bias (evidence.rob): the tools as data and the overall-judgement algorithms of RoB 2
(Sterne et al. 2019, BMJ 366:l4898, Table 2) and ROBINS-I (Sterne et al. 2016, BMJ 355:i4919,
Table 3), at every boundary."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

import evidence.rob
from evidence.rob import (
    LEVELS,
    NO_INFORMATION,
    ROB2,
    ROB2_SEVERAL,
    ROBINS_I,
    TOOLS,
    assess,
    domain_table,
    expected_tools,
    judgement_range,
    overall,
    rob2_overall,
    robins_i_overall,
)

ROB_PY = evidence.rob.__file__
L, S, H, NI = "low", "some concerns", "high", NO_INFORMATION
M, SE, C = "moderate", "serious", "critical"


def test_tools_as_data() -> None:
    assert ROB2.codes == ("D1", "D2", "D3", "D4", "D5")
    assert ROBINS_I.codes == tuple(f"D{i}" for i in range(1, 8))
    assert ROB2.domain("D1").name == "Bias arising from the randomisation process"
    assert ROBINS_I.domain("D1").name == "Bias due to confounding"
    assert ROB2.domain("D6") is None
    assert ROB2.levels == (L, S, H, NI)
    assert ROBINS_I.levels == (L, M, SE, C, NI)
    assert set(LEVELS) == set(ROB2.levels) | set(ROBINS_I.levels)
    assert list(TOOLS) == ["RoB2", "ROBINS-I"]
    assert ROB2_SEVERAL == 3


@pytest.mark.parametrize(
    ("domains", "several", "expected"),
    [
        pytest.param([L] * 5, ROB2_SEVERAL, L, id="all-low"),
        pytest.param([L, L, L, L, S], ROB2_SEVERAL, S, id="one-concern"),
        pytest.param([S, L, L, L, S], ROB2_SEVERAL, S, id="two-concerns-below-default"),
        pytest.param([S, S, L, L, S], ROB2_SEVERAL, H, id="three-concerns-at-default"),
        pytest.param([S] * 5, ROB2_SEVERAL, H, id="all-concerns"),
        pytest.param([S, L, L, L, S], 2, H, id="two-concerns-several-2"),
        pytest.param([S, S, L, L, S], 4, S, id="three-concerns-several-4"),
        pytest.param([S] * 5, None, S, id="never-escalate"),
        pytest.param([L, L, H, L, L], ROB2_SEVERAL, H, id="one-high"),
        pytest.param([L, L, H, L, L], None, H, id="one-high-never-escalate"),
        pytest.param([H, NI, NI, NI, NI], ROB2_SEVERAL, H, id="high-beats-no-information"),
        pytest.param([L, L, NI, L, L], ROB2_SEVERAL, NI, id="one-no-information"),
        pytest.param([NI] * 5, ROB2_SEVERAL, NI, id="all-no-information"),
        pytest.param([S, S, NI, L, L], ROB2_SEVERAL, NI, id="two-concerns-and-no-information"),
        pytest.param([S, S, S, NI, L], ROB2_SEVERAL, H, id="three-concerns-and-no-information"),
        pytest.param([L], ROB2_SEVERAL, L, id="one-domain"),
    ],
)
def test_rob2_overall(domains: list[str], several: int | None, expected: str) -> None:
    assert rob2_overall(domains, several=several) == expected
    mapping = {f"D{i}": level for i, level in enumerate(domains, 1)}
    assert rob2_overall(mapping, several=several) == expected


def test_rob2_overall_obeys_table_2_for_every_combination() -> None:
    """Each of the 4^5 combinations against the wording of Sterne et al. (2019), Table 2."""
    for domains in itertools.product(ROB2.levels, repeat=5):
        got = rob2_overall(domains)
        concerns = domains.count(S)
        if all(d == L for d in domains):
            assert got == L, domains
        elif H in domains or concerns >= ROB2_SEVERAL:
            assert got == H, domains  # high in one domain, or concerns in several
        elif NI in domains:
            assert got == NI, domains  # nothing makes it high, a domain cannot be judged
        else:
            assert got == S, domains  # concerns in at least one domain, high in none


@pytest.mark.parametrize(
    ("domains", "expected"),
    [
        pytest.param([L] * 7, L, id="all-low"),
        pytest.param([L] * 6 + [M], M, id="one-moderate"),
        pytest.param([M] * 7, M, id="all-moderate"),
        pytest.param([L, M, SE, L, L, L, L], SE, id="one-serious"),
        pytest.param([SE] * 7, SE, id="all-serious"),
        pytest.param([L, SE, C, L, L, L, L], C, id="critical-beats-serious"),
        pytest.param([C, NI, NI, NI, NI, NI, NI], C, id="critical-beats-no-information"),
        pytest.param([NI, SE, L, L, L, L, L], SE, id="serious-beats-no-information"),
        pytest.param([NI, M, L, L, L, L, L], NI, id="no-information-beats-moderate"),
        pytest.param([NI] + [L] * 6, NI, id="one-no-information"),
        pytest.param([NI] * 7, NI, id="all-no-information"),
    ],
)
def test_robins_i_overall(domains: list[str], expected: str) -> None:
    assert robins_i_overall(domains) == expected
    assert overall("ROBINS-I", domains) == expected


def test_robins_i_overall_is_the_most_severe_domain_without_no_information() -> None:
    for domains in itertools.product(ROBINS_I.levels[:-1], repeat=3):
        assert robins_i_overall(domains) == max(domains, key=ROBINS_I.severity)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda: rob2_overall([]), "no domain judgements given", id="empty"),
        pytest.param(
            lambda: rob2_overall([L, M]),
            "unknown judgement 'moderate' (allowed: low, some concerns, high, no information)",
            id="robins-level-in-rob2",
        ),
        pytest.param(
            lambda: robins_i_overall([L, S]),
            "unknown judgement 'some concerns' (allowed: low, moderate, serious, critical, "
            "no information)",
            id="rob2-level-in-robins",
        ),
        pytest.param(
            lambda: rob2_overall([S, S], several=1),
            "several must be at least 2 (multiple domains); got 1",
            id="several-1",
        ),
        pytest.param(
            lambda: overall("none", [L]), "unknown tool 'none' (allowed: RoB2, ROBINS-I)", id="none"
        ),
    ],
)
def test_algorithms_refuse_bad_input(call, message: str) -> None:
    with pytest.raises(ValueError) as info:
        call()
    assert str(info.value) == message


def test_overall_dispatches_by_tool_and_several() -> None:
    assert overall("RoB2", [S, S, L]) == S
    assert overall("RoB2", [S, S, L], several=2) == H
    assert overall("ROBINS-I", [L, M]) == M


@pytest.mark.parametrize(
    ("tool", "domains", "allowed"),
    [
        pytest.param(ROB2, [L] * 5, (L,), id="rob2-all-low"),
        pytest.param(ROB2, [S, L, L, L, L], (S,), id="rob2-one-concern"),
        pytest.param(ROB2, [S, S, L, L, L], (S, H), id="rob2-two-concerns-judgement"),
        pytest.param(ROB2, [S, S, S, L, L], (S, H), id="rob2-three-concerns-judgement"),
        pytest.param(ROB2, [H, L, L, L, L], (H,), id="rob2-high"),
        pytest.param(ROBINS_I, [L, M], (M, SE, C), id="robins-at-least-as-severe"),
        pytest.param(ROBINS_I, [NI, L], (NI,), id="robins-no-information"),
    ],
)
def test_judgement_range(tool, domains, allowed) -> None:
    assert judgement_range(tool, domains) == allowed


def test_domain_table_documents_both_tools() -> None:
    rob2, robins = domain_table()
    assert rob2["tool"] == "RoB2" and robins["tool"] == "ROBINS-I"
    assert rob2["D1"] == "Randomisation process" and rob2["D6"] == rob2["D7"] == ""
    assert robins["D7"] == "Selection of the reported result"
    assert rob2["levels"] == "low, some concerns, high, no information"
    assert robins["reference"] == "Sterne et al. 2016, BMJ 2016;355:i4919"


def test_expected_tools_by_design() -> None:
    assert expected_tools("rct-parallel") == ("RoB2",)
    assert expected_tools("cohort") == ("ROBINS-I",)
    assert expected_tools("narrative-review") == ("none",)
    assert expected_tools("single-arm") == ("none", "ROBINS-I")
    assert expected_tools("a-design-of-the-protocol") is None
    assert expected_tools(None) is None


def _row(domain, judgement, outcome=None, line=1, **extra):
    return {"domain": domain, "judgement": judgement, "outcome": outcome, "line": line, **extra}


def test_assess_outcome_rows_take_the_study_rows_domain_by_domain() -> None:
    rows = [
        _row("D1", L, line=10, support="randomised"),
        _row("D2", L, line=11),
        _row("D3", L, line=12),
        _row("D4", L, line=13),
        _row("D5", S, line=14),
        _row("overall", S, line=15),
        _row("D4", H, outcome=3, line=16, support="self-rated"),
    ]
    study, row3 = assess("k", "RoB2", rows)
    assert (study.outcome_row, row3.outcome_row) == (None, 3)
    assert [j.level for j in study.domains] == [L, L, L, L, S]
    assert study.overall.level == S and study.algorithm == S and not study.differs
    assert [(j.domain, j.level, j.source) for j in row3.domains] == [
        ("D1", L, "study"),
        ("D2", L, "study"),
        ("D3", L, "study"),
        ("D4", H, "stated"),
        ("D5", S, "study"),
    ]
    assert row3.domains[0].support == "randomised" and row3.domains[0].line == 10
    # the overall row is inherited too: the study's "some concerns" against a high D4
    assert row3.overall.level == S and row3.overall.source == "study"
    assert row3.algorithm == H and row3.differs
    assert row3.to_dict() == {
        "key": "k",
        "tool": "RoB2",
        "outcome_row": 3,
        "D1": L,
        "D2": L,
        "D3": L,
        "D4": H,
        "D5": S,
        "overall": S,
        "algorithm": H,
    }


def test_assess_own_overall_row_and_reason() -> None:
    rows = [
        *(_row(f"D{i}", S) for i in range(1, 4)),
        _row("D4", L),
        _row("D5", L),
        _row("overall", S, reason="the concerns are minor"),
        _row("overall", H, outcome=1),
    ]
    study, row1 = assess("k", "RoB2", rows)
    assert study.algorithm == H and study.overall.level == S
    assert study.overall.reason == "the concerns are minor"
    assert row1.overall.level == H and row1.overall.source == "stated"
    assert row1.overall.reason == ""


def test_assess_without_overall_uses_the_algorithm_and_missing_domains_count_as_no_information():
    (study,) = assess("k", "ROBINS-I", [_row("D1", L), _row("D2", M)])
    assert study.missing == ("D3", "D4", "D5", "D6", "D7")
    assert study.algorithm == NI
    assert study.overall.level == NI and study.overall.source == "algorithm"


def test_assess_skips_rows_the_checks_refused_and_keeps_the_first_of_a_domain() -> None:
    rows = [
        _row("D1", L),
        _row("D1", H),  # a repeat (an error): the first counts
        _row("D6", L),  # not a RoB 2 domain
        _row("D2", M),  # not a RoB 2 level
        _row(None, L),
    ]
    (study,) = assess("k", "RoB2", rows)
    assert [(j.domain, j.level) for j in study.domains] == [("D1", L)]
    with pytest.raises(ValueError, match="unknown tool 'none'"):
        assess("k", "none", rows)


def test_rob_is_pure_python() -> None:
    """The module loads on its own (no package, no pandas, numpy or matplotlib)."""
    code = (
        "import importlib.util, sys; "
        f"spec = importlib.util.spec_from_file_location('rob', {str(ROB_PY)!r}); "
        "module = sys.modules['rob'] = importlib.util.module_from_spec(spec); "
        "spec.loader.exec_module(module); "
        "print([m for m in ('pandas', 'numpy', 'matplotlib', 'evidence') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
