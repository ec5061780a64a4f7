"""The review protocol (evidence.protocol): where it is found, what it declares, how it fails,
and that the package itself holds no topic vocabulary."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import evidence
from evidence.cli import main
from evidence.protocol import NO_PROTOCOL, find_protocol, load_protocol, vocabulary_table

from .conftest import DATA, ROOT

LIGHT = DATA / "example-light"

PLAIN_BIB = """@article{doe2020,
  author = {Doe, Jane},
  title = {A trial},
  journal = {J},
  year = {2020},
  conditions = {insomnia},
  arms = {melatonin-3mg; placebo},
  outcomes = {
    arm=melatonin-3mg; domain=sleep; measure=ISI; responders=6; n=10
    arm=placebo; domain=sleep; measure=ISI; responders=2; n=10
    arm=melatonin-3mg; domain=mood; responders=4; n=10
  },
}

@article{roe2021,
  author = {Roe, Rick},
  title = {Another trial},
  journal = {J},
  year = {2021},
  arms = {melatonin},
  outcomes = {
    arm=melatonin; domain=sleep; responders=5; n=12
  },
}
"""

PROTOCOL_TOML = """
[conditions]
insomnia = "Insomnia disorder"

[domains]
sleep = "Sleep"
mood = "Mood"

[scales]
ISI = { name = "Insomnia Severity Index", direction = "higher-is-worse", \
synonyms = ["insomnia severity index"] }

[agents]
melatonin = { role = "intervention" }
placebo = { role = "comparator" }

[analyses.sleep]
headline = true
domain = "sleep"
"""


def _no_protocol_above(folder: Path) -> None:
    """Skip when a pyproject.toml or evidence.toml above the temporary folder would be found."""
    for parent in folder.parents:
        for name in ("pyproject.toml", "evidence.toml"):
            if (parent / name).exists():
                pytest.skip(f"{parent / name} lies above the temporary folder")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- discovery


def test_no_protocol_anywhere(tmp_path: Path) -> None:
    _no_protocol_above(tmp_path)
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    assert find_protocol(bib) is NO_PROTOCOL
    assert evidence.load(bib).protocol is NO_PROTOCOL


def test_nearest_pyproject_with_the_table_upwards(tmp_path: Path) -> None:
    in_pyproject = "[project]\nname = 'x'\n" + PROTOCOL_TOML.replace("\n[", "\n[tool.evidence.")
    _write(tmp_path, "pyproject.toml", in_pyproject)
    _write(tmp_path / "sub", "pyproject.toml", "[project]\nname = 'x'\n")  # no table: skipped
    bib = _write(tmp_path / "sub" / "deeper", "studies.bib", PLAIN_BIB)
    protocol = find_protocol(bib)
    assert protocol.prefix == "tool.evidence"
    assert Path(protocol.source).resolve() == (tmp_path / "pyproject.toml").resolve()
    assert [a.name for a in protocol.analyses] == ["sleep"]
    assert protocol.source_for(bib) == "../../pyproject.toml [tool.evidence]"


def test_evidence_toml_beside_the_bib_wins(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", "[tool.evidence]\ntitle = 'from pyproject'\n")
    _write(tmp_path, "evidence.toml", "title = 'from evidence.toml'\n")
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    protocol = find_protocol(bib)
    assert protocol.title == "from evidence.toml" and protocol.prefix == ""


def test_config_overrides_both(tmp_path: Path) -> None:
    _write(tmp_path, "evidence.toml", "title = 'beside'\n")
    other = _write(tmp_path / "elsewhere", "proto.toml", "title = 'named'\n")
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    assert evidence.load(bib, config=other).protocol.title == "named"
    result = CliRunner().invoke(main, ["protocol", str(bib), "--config", str(other)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[:2] == [f"Protocol: {other}", "  title: named"]


def test_bundled_base_uses_the_repository_protocol() -> None:
    base = evidence.load(ROOT / "studies.bib")
    assert base.protocol.source_for(base.path) == "pyproject.toml [tool.evidence]"
    assert base.protocol.role("midazolam") == "comparator"
    assert base.protocol.direction("Y-BOCS") == "higher-is-worse"
    assert [a.name for a in base.protocol.analyses][:1] == ["anxiety"]


# -------------------------------------------------------------------------- vocabularies


def test_declared_vocabularies_are_enforced_with_did_you_mean(tmp_path: Path) -> None:
    _write(tmp_path, "evidence.toml", PROTOCOL_TOML)
    text = PLAIN_BIB.replace(
        "measure=ISI; responders=6", "measure=insomnia severity index; responders=6"
    )
    text = text.replace("domain=mood", "domain=moods").replace("{melatonin}", "{melatonin; sham}")
    bib = _write(tmp_path, "studies.bib", text)
    messages = [f"{p.field}: {p.message}" for p in evidence.load(bib).errors]
    assert messages == [
        "outcomes.measure: unknown value 'insomnia severity index'; did you mean 'ISI'?",
        "outcomes.domain: unknown value 'moods'; did you mean 'mood'?",
        "arms: arm 'sham' does not start with a known agent",
    ]


def test_a_plain_bib_without_protocol_validates_pools_and_builds(tmp_path: Path) -> None:
    _no_protocol_above(tmp_path)
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    runner = CliRunner()
    validate = runner.invoke(main, ["validate", str(bib)])
    assert validate.exit_code == 0, validate.output
    assert validate.stderr == f"{bib}: 2 entries, 0 error(s), 0 warning(s)\n"
    base = evidence.load(bib)
    assert base.outcomes["role"].tolist() == [
        "intervention",
        "comparator",
        "intervention",
        "intervention",
    ]
    pool = runner.invoke(main, ["pool", str(bib), "--format", "json"])
    data = json.loads(pool.stdout)
    assert data["analysis"]["name"] == "sleep" and data["analysis"]["domain"] == "sleep"
    assert [r["key"] for r in data["per_study"]] == ["doe2020", "roe2021"]  # no placebo, no mood
    protocol = runner.invoke(main, ["protocol", str(bib)])
    assert "Protocol: no protocol (no evidence.toml or [tool.evidence] found)" in protocol.stdout
    assert "  conditions (study field 'conditions'): not declared: any label is accepted" in (
        protocol.stdout
    )
    assert "Analyses (defaults: none declared)" in protocol.stdout
    assert "  sleep [headline]: Response rate, sleep outcomes" in protocol.stdout
    assert "  mood [headline]: Response rate, mood outcomes" in protocol.stdout
    out = tmp_path / "reports"
    build = runner.invoke(main, ["build", str(bib), "--out", str(out)])
    assert build.exit_code == 0, build.output
    assert sorted(p.name for p in (out / "figures").glob("forest-*.png")) == [
        "forest-mood.png",
        "forest-sleep.png",
    ]


def test_the_example_base_validates_pools_and_builds(tmp_path: Path) -> None:
    folder = tmp_path / "light"
    shutil.copytree(LIGHT, folder)
    bib = folder / "studies.bib"
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(bib)]).exit_code == 0
    pool = json.loads(runner.invoke(main, ["pool", str(bib), "--format", "json"]).stdout)
    assert pool["analysis"]["name"] == "depression"
    assert pool["pooled"]["k"] == 4
    sleep = json.loads(
        runner.invoke(main, ["pool", str(bib), "--analysis", "sleep", "--format", "json"]).stdout
    )
    assert sleep["analysis"]["method"] == "DL" and sleep["pooled"]["k"] == 2
    out = folder / "reports"
    assert runner.invoke(main, ["build", str(bib), "--out", str(out)]).exit_code == 0
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["protocol"] == "evidence.toml"
    assert [a["name"] for a in manifest["analyses"]] == ["depression", "sleep"]
    assert sorted(p.name for p in (out / "figures").glob("forest-*.svg")) == [
        "forest-depression.svg"
    ]
    # the same .bib under the bundled (other topic) protocol fails with named vocabulary
    other = runner.invoke(main, ["validate", str(bib), "--config", str(ROOT / "pyproject.toml")])
    assert other.exit_code == 1
    assert "route: unknown value 'ocular'" in other.stdout


def test_vocabulary_table_lists_declared_values() -> None:
    rows = vocabulary_table(load_protocol(LIGHT / "evidence.toml"))
    light = next(r for r in rows if r["value"] == "light")
    assert light == {
        "vocabulary": "agents",
        "value": "light",
        "name": "",
        "direction/role": "intervention",
        "description": "Bright white light, 10,000 lux",
    }
    ocular = next(r for r in rows if r["value"] == "ocular")
    assert ocular["vocabulary"] == "routes"
    dd = evidence.data_dictionary(load_protocol(LIGHT / "evidence.toml"))
    route = dd[dd["field"] == "route"].iloc[0]
    assert route["allowed"].endswith("intranasal, ocular")  # generic values, extended


# --------------------------------------------------------------------------- broken ones


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param("title = \n", r"proto\.toml:1: invalid TOML: ", id="bad-toml"),
        pytest.param(
            "vocab = 1\n",
            r"proto\.toml: vocab: unknown key \(allowed: title, question, designs",
            id="unknown-key",
        ),
        pytest.param(
            "title = 3\n", r"proto\.toml: title: expected text, got int 3", id="wrong-type"
        ),
        pytest.param(
            "[scales]\nX = { direction = 'up' }\n",
            r"proto\.toml: scales\.X\.direction: unknown value 'up' "
            r"\(allowed: higher-is-worse, higher-is-better\)",
            id="direction",
        ),
        pytest.param(
            "[scales]\nX = { colour = 'red' }\n",
            r"proto\.toml: scales\.X\.colour: unknown key "
            r"\(allowed: description, name, synonyms, direction\)",
            id="term-key",
        ),
        pytest.param(
            "[agents]\ndrug = 'a drug'\n",
            r"proto\.toml: agents\.drug\.role: every agent needs a role "
            r"\(allowed: intervention, comparator\)",
            id="no-role",
        ),
        pytest.param(
            "[agents]\nall = { role = 'comparator' }\n",
            r"agents\.all: 'all' is reserved",
            id="reserved",
        ),
        pytest.param(
            "[domains]\nA = 'x'\na = 'y'\n",
            r"domains\.a: declared twice \(as 'A'; values ignore case\)",
            id="twice",
        ),
        pytest.param(
            "[domains]\nsleep = 'x'\n[analyses.main]\ndomain = 'slep'\n",
            r"proto\.toml: analyses\.main\.domain: 'slep' is not a declared domain value; "
            r"did you mean 'sleep'\? \(allowed: sleep\)",
            id="undeclared-domain",
        ),
        pytest.param(
            "[analyses.main]\nmethod = 'ZZ'\n",
            r"proto\.toml: analyses\.main\.method: unknown value 'ZZ' \(allowed: FE, DL",
            id="method",
        ),
        pytest.param(
            "[analyses.main]\ncolour = 'red'\n",
            r"analyses\.main\.colour: unknown setting \(allowed: name, title",
            id="setting",
        ),
        pytest.param(
            "[analyses.main]\nname = 'x'\n",
            r"analyses\.main\.name: the name is the table's key",
            id="name",
        ),
        pytest.param(
            "[agents]\nd = { role = 'intervention' }\n[analyses.main]\narm = 'x'\n",
            r"analyses\.main\.arm: 'x' is neither a role nor an arm of a declared agent",
            id="arm",
        ),
        pytest.param(
            "[analyses.main]\ndependence = 'multilevel'\nmethod = 'DL'\n",
            r"analyses\.main\.method: 'DL' cannot fit a multilevel model \(allowed: REML, ML\)",
            id="combination",
        ),
        pytest.param(
            "[analyses.main]\nby = 'nonexistent'\n",
            r"proto\.toml: analyses\.main\.by: unknown column 'nonexistent' "
            r"\(allowed: key, arm, agent, role, domain, measure,",
            id="by",
        ),
        pytest.param(
            "[analyses.main]\nby = 'condition'\n",
            r"analyses\.main\.by: unknown column 'condition': a column of comparisons, but effect "
            r"= 'proportion' pools single arms; did you mean 'conditions'\? "
            r"\(allowed: key, arm",
            id="by-hint",
        ),
        pytest.param(
            "[analyses.main]\neffect = 'OR'\nby = 'agent'\n",
            r"analyses\.main\.by: unknown column 'agent': a column of single arms, but "
            r"effect = 'OR' pools comparisons \(allowed: key, contrast, source,",
            id="by-comparisons",
        ),
        pytest.param(
            "analyses = [1]\n",
            r"proto\.toml: analyses: expected a table, got a list",
            id="analyses-type",
        ),
    ],
)
def test_broken_protocols_are_one_line_errors(tmp_path: Path, toml: str, message: str) -> None:
    path = _write(tmp_path, "proto.toml", toml)
    with pytest.raises(evidence.ProtocolError, match=message) as caught:
        load_protocol(path)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "command", ["validate", "table", "pool", "build", "protocol", "duplicates"]
)
def test_no_command_runs_on_a_broken_protocol(tmp_path: Path, command: str) -> None:
    _write(tmp_path, "evidence.toml", "[domains]\nsleep = 1\n")
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    result = CliRunner().invoke(main, [command, str(bib)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: {tmp_path / 'evidence.toml'}: domains.sleep: expected a table, got int 1\n"
    )


BAD_BY = """
[tool.evidence.domains]
anxiety = "Anxiety"

[tool.evidence.analyses.x]
title = "x"
domain = "anxiety"
by = "nonexistent"
headline = true
"""


@pytest.mark.parametrize(
    "command", ["validate", "table", "pool", "build", "grade", "protocol", "claims"]
)
def test_every_command_refuses_an_unknown_subgroup_column_alike(
    tmp_path: Path, command: str
) -> None:
    # The subgroup column is checked when the protocol is read, not when the analysis runs
    # (build and grade used to fail late, without the protocol's file and key path).
    pyproject = _write(tmp_path, "pyproject.toml", BAD_BY)
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB.replace("sleep", "anxiety"))
    args = [command, str(bib)] + (["--out", str(tmp_path / "out")] if command == "build" else [])
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(
        f"Error: {pyproject}: tool.evidence.analyses.x.by: unknown column 'nonexistent' "
        "(allowed: key, arm, agent, role, domain, measure, response, type, "
    )
    assert result.stderr.endswith(
        ", conditions, route, blinding, verification, rob_tool, rob_overall, study)\n"
    )
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_control_characters_in_a_protocol_error_are_shown_escaped(tmp_path: Path) -> None:
    _write(tmp_path, "evidence.toml", '[domains]\n"sleep\\u001b[2J\\u0000" = 1\n')
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    result = CliRunner().invoke(main, ["validate", str(bib)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {tmp_path / 'evidence.toml'}: domains.sleep\\x1b[2J\\x00: expected a table, "
        "got int 1\n"
    )


def test_editing_commands_refuse_a_broken_protocol_and_write_nothing(tmp_path: Path) -> None:
    _write(tmp_path, "evidence.toml", "[domains]\nsleep = 1\n")
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    result = CliRunner().invoke(main, ["set", "doe2020", "year=2019", "--bib", str(bib)])
    assert result.exit_code == 1 and "domains.sleep: expected a table" in result.stderr
    assert bib.read_text(encoding="utf-8") == PLAIN_BIB


def test_missing_config_file_is_a_one_line_error(tmp_path: Path) -> None:
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    result = CliRunner().invoke(main, ["validate", str(bib), "--config", str(tmp_path / "no.toml")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {tmp_path / 'no.toml'}: no such file\n"
    folder = CliRunner().invoke(main, ["validate", str(bib), "--config", str(tmp_path)])
    assert folder.stderr == f"Error: {tmp_path}: is a directory, not a TOML file\n"
    py = _write(tmp_path, "sub/pyproject.toml", "[project]\nname = 'x'\n")
    none = CliRunner().invoke(main, ["validate", str(bib), "--config", str(py)])
    assert none.stderr == f"Error: {py}: no [tool.evidence] table\n"


@pytest.mark.parametrize("name", ["evidence.toml", "pyproject.toml"])
def test_a_protocol_file_that_is_a_named_pipe_is_refused_not_skipped(
    tmp_path: Path, no_hang, name: str
) -> None:
    # It used to be skipped silently (validate passed with no protocol), where the .bib itself
    # is refused: the same rule (evidence.files.not_regular) now serves both.
    bib = _write(tmp_path, "studies.bib", PLAIN_BIB)
    fifo = tmp_path / name
    os.mkfifo(fifo)
    refused = f"{fifo}: is a named pipe, not a regular file (a TOML file expected)"
    with pytest.raises(evidence.ProtocolError) as caught:
        find_protocol(bib)
    assert str(caught.value) == refused
    for command in ("validate", "protocol"):
        result = CliRunner().invoke(main, [command, str(bib)])
        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr == f"Error: {refused}\n"
    config = CliRunner().invoke(main, ["validate", str(bib), "--config", str(fifo)])
    assert config.exit_code == 1 and config.stderr == f"Error: {refused}\n"


def test_protocol_json_lists_the_analyses_in_force() -> None:
    result = CliRunner().invoke(main, ["protocol", str(ROOT / "studies.bib"), "--format", "json"])
    data = json.loads(result.stdout)
    assert data["section"] == "tool.evidence"
    assert data["analyses"][0]["name"] == "anxiety"
    hama = next(t for t in data["vocabularies"]["scales"] if t["value"] == "HAM-A")
    assert hama == {
        "value": "HAM-A",
        "name": "Hamilton Anxiety Rating Scale",
        "direction": "higher-is-worse",
        "synonyms": ["hama", "ham a"],
    }


# ------------------------------------------------------------------------ no topic words

#: Words of the bundled topic (and of its neighbours) that must not appear in the package.
TOPIC_WORDS = (
    "ketamine",
    "esketamine",
    "arketamine",
    "midazolam",
    "anxiety",
    "anxious",
    "anxiolytic",
    "depression",
    "depressive",
    "obsessive",
    "compulsive",
    "posttraumatic",
    "post-traumatic",
    "hospice",
    "psilocybin",
)
TOPIC_ACRONYMS = (
    "GAD",
    "SAD",
    "OCD",
    "PTSD",
    "TRD",
    "MDD",
    "HAM-A",
    "LSAS",
    "Y-BOCS",
    "CAPS-5",
    "MADRS",
    "HADS",
)


def test_the_package_holds_no_topic_vocabulary() -> None:
    words = re.compile(r"\b(" + "|".join(map(re.escape, TOPIC_WORDS)) + r")\b", re.I)
    acronyms = re.compile(r"\b(" + "|".join(map(re.escape, TOPIC_ACRONYMS)) + r")\b")
    found = []
    for path in sorted((ROOT / "evidence").rglob("*")):
        if path.suffix not in (".py", ".toml", ".json", ".txt", ".html", ".css", ".csl", ".j2"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in (*words.finditer(line), *acronyms.finditer(line)):
                found.append(f"{path.relative_to(ROOT)}:{number}: {match.group(0)}")
    assert found == []


# ------------------------------------------------------------------------- citation style


def test_citation_style_is_a_style_name_or_a_csl_file_beside_the_protocol(tmp_path: Path) -> None:
    assert load_protocol(_write(tmp_path, "a.toml", 'citation_style = "apa"\n')).citation_style == (
        "apa"
    )
    assert NO_PROTOCOL.citation_style is None
    assert load_protocol(ROOT / "pyproject.toml").citation_style == "vancouver"
    style = DATA / "citations" / "minimal.csl"
    _write(tmp_path, "styles/mine.csl", style.read_text(encoding="utf-8"))
    protocol = load_protocol(
        _write(tmp_path, "sub/p.toml", 'citation_style = "../styles/mine.csl"\n')
    )
    assert Path(protocol.citation_style).resolve() == (tmp_path / "styles" / "mine.csl").resolve()
    assert protocol.to_dict()["citation_style"] == protocol.citation_style


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            'citation_style = "apa7"\n',
            r"^\S*proto\.toml: citation_style: unknown citation style 'apa7'; did you mean 'apa'\? "
            r"\(allowed: the name of an installed CSL style",
            id="unknown-name",
        ),
        pytest.param(
            'citation_style = "missing.csl"\n',
            r"^\S*proto\.toml: citation_style: no such CSL style file: \S*missing\.csl \(allowed: ",
            id="missing-file",
        ),
        pytest.param(
            "citation_style = 3\n",
            r"^\S*proto\.toml: citation_style: expected text, got int 3$",
            id="type",
        ),
    ],
)
def test_a_bad_citation_style_is_a_one_line_protocol_error(
    tmp_path: Path, toml: str, message: str
) -> None:
    with pytest.raises(evidence.ProtocolError, match=message) as caught:
        load_protocol(_write(tmp_path, "proto.toml", toml))
    assert "\n" not in str(caught.value)
