"""Keep the README honest: its commands, its printed output and its data dictionary."""

from __future__ import annotations

import re

import pandas as pd
from click.testing import CliRunner

from evidence.analysis import settings_table
from evidence.cli import main
from evidence.protocol import load_protocol, vocabulary_table
from evidence.render import markdown_table
from evidence.rob import domain_table
from evidence.schema import data_dictionary

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quickstart_commands() -> list[str]:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)


def test_quickstart_has_exactly_two_commands() -> None:
    commands = _quickstart_commands()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    run, test = commands
    assert "pip install" in run and "evidence" in run and "studies.bib" in run
    assert "pip install" in test and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _quickstart_commands()[1] in ci.splitlines()
    assert "ruff check" in ci
    assert "mypy" in ci.splitlines()  # the README says so; plain `mypy` reads [tool.mypy]


def _block(name: str) -> str:
    return README.split(f"<!-- {name}:start -->\n", 1)[1].split(f"\n<!-- {name}:end -->", 1)[0]


def test_data_dictionary_matches_schema() -> None:
    protocol = load_protocol(ROOT / "pyproject.toml")
    assert _block("data-dictionary") == markdown_table(data_dictionary(protocol))
    vocabulary = pd.DataFrame(vocabulary_table(protocol)).fillna("")
    assert _block("vocabulary") == markdown_table(vocabulary)


def test_risk_of_bias_domains_table_matches_the_tools() -> None:
    assert _block("rob-domains") == markdown_table(pd.DataFrame(domain_table()))


def test_analysis_settings_table_matches_the_constraints() -> None:
    assert _block("analysis-settings") == markdown_table(pd.DataFrame(settings_table()))


def test_grade_settings_table_matches_the_grade_module() -> None:
    from evidence.grade import settings_table as grade_settings

    assert _block("grade-settings") == markdown_table(pd.DataFrame(grade_settings()))


def _console_blocks() -> list[tuple[str, str]]:
    """(command, output) pairs from ```console blocks (commands start with '$ ')."""
    pairs = []
    for block in re.findall(r"```console\n(.*?)\n```", README, flags=re.S):
        command, output = None, []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    pairs.append((command, "\n".join(output)))
                command, output = line[2:], []
            else:
                output.append(line)
        pairs.append((command, "\n".join(output)))
    return pairs


def test_readme_console_output_is_real(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    pairs = [(c, o) for c, o in _console_blocks() if c.startswith("evidence ")]
    assert len(pairs) >= 3
    for command, shown in pairs:
        args = command.split()[1:]
        result = runner.invoke(main, args)
        printed = (result.stdout + result.stderr).rstrip("\n")
        assert printed == shown, command


def test_readme_dependence_example_output_is_real(capsys) -> None:
    """The multilevel / aggregate / GLMM example prints exactly the output shown under it."""
    section = README.split("### Dependent effects and small studies", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)\n```", section, flags=re.S)
    shown = re.search(r"```text\n(.*?)\n```", section, flags=re.S)
    assert code is not None and shown is not None
    exec(compile(code.group(1), "README.md", "exec"), {})
    assert capsys.readouterr().out.rstrip("\n") == shown.group(1)


def test_problem_codes_table_matches_the_registry() -> None:
    from evidence.errors import PROBLEM_CODES

    block = README.split("<!-- problem-codes:start -->\n", 1)[1].split(
        "\n<!-- problem-codes:end -->", 1
    )[0]
    rows = ["| code | rule |", "| --- | --- |"]
    rows += [f"| `{code}` | {rule} |" for code, rule in PROBLEM_CODES.items()]
    assert block == "\n".join(rows)
