"""Keep the README honest: its commands, its printed output and its data dictionary."""

from __future__ import annotations

import re

from click.testing import CliRunner

from evidence.cli import main
from evidence.render import markdown_table
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


def test_data_dictionary_matches_schema() -> None:
    block = README.split("<!-- data-dictionary:start -->\n", 1)[1].split(
        "\n<!-- data-dictionary:end -->", 1
    )[0]
    assert block == markdown_table(data_dictionary())


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


def test_problem_codes_table_matches_the_registry() -> None:
    from evidence.errors import PROBLEM_CODES

    block = README.split("<!-- problem-codes:start -->\n", 1)[1].split(
        "\n<!-- problem-codes:end -->", 1
    )[0]
    rows = ["| code | rule |", "| --- | --- |"]
    rows += [f"| `{code}` | {rule} |" for code, rule in PROBLEM_CODES.items()]
    assert block == "\n".join(rows)
