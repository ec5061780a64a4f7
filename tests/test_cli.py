"""The command line (evidence.cli), through click's CliRunner and a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence.cli import main

from .conftest import ROOT

BAD = (
    "@article{k,\n"
    "  author = {A, B},\n"
    "  title = {T},\n"
    "  journal = {J},\n"
    "  year = 2020,\n"
    "  route = {intravenous},\n"
    "  n_enrolled = {twelve},\n"
    "}\n"
)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_validate_clean_file_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(main, ["validate", str(ROOT / "studies.bib")])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.endswith("17 entries, 0 error(s), 0 warning(s)\n")


def test_validate_reports_every_problem_and_exits_1(runner: CliRunner, tmp_bib) -> None:
    path = tmp_bib(BAD)
    result = runner.invoke(main, ["validate", "--bib", str(path)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:6: k: route: unknown value 'intravenous'; did you mean 'IV'? "
        "(allowed: ';'-separated list of IV, IM, SC, oral, sublingual, intranasal)",
        f"{path}:7: k: n_enrolled: 'twelve' is not an integer (allowed: integer >= 0)",
    ]


def test_validate_json(runner: CliRunner, tmp_bib) -> None:
    path = tmp_bib(BAD)
    result = runner.invoke(main, ["validate", str(path), "--format", "json"])
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert [(p["line"], p["key"], p["field"], p["severity"]) for p in problems] == [
        (6, "k", "route", "error"),
        (7, "k", "n_enrolled", "error"),
    ]
    assert problems[0]["allowed"].startswith("';'-separated list of IV")


def test_validate_strict_fails_on_warnings(runner: CliRunner, tmp_bib) -> None:
    path = tmp_bib(
        "@article{k,\n  author = {A, B},\n  title = {T},\n  journal = {J},\n  year = 2020,\n"
        "  doi = {https://doi.org/10.1000/xyz},\n}\n"
    )
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 0
    strict = runner.invoke(main, ["validate", str(path), "--strict"])
    assert strict.exit_code == 1
    assert "warning: write the bare DOI '10.1000/xyz'" in strict.stdout


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        pytest.param(lambda d: d / "missing.bib", "no such file", id="missing"),
        pytest.param(lambda d: d, "is a directory", id="directory"),
        pytest.param(lambda d: _write(d / "e.bib", b""), "file is empty", id="empty"),
        pytest.param(lambda d: _write(d / "l.bib", b"\xe9"), "not valid UTF-8", id="latin1"),
    ],
)
def test_unreadable_file_is_one_line_error(runner: CliRunner, tmp_path: Path, setup, message):
    path = setup(tmp_path)
    for command in ("validate", "table"):
        result = runner.invoke(main, [command, str(path)])
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1
        assert result.stderr.startswith("Error: ") and message in result.stderr
        assert "Traceback" not in result.output


def test_usage_errors_exit_2(runner: CliRunner) -> None:
    assert runner.invoke(main, ["validate", "--format", "xml"]).exit_code == 2
    assert runner.invoke(main, ["validate", "a.bib", "--bib", "b.bib"]).exit_code == 2
    assert runner.invoke(main, ["frobnicate"]).exit_code == 2
    bad_col = runner.invoke(main, ["table", str(ROOT / "studies.bib"), "--columns", "nope"])
    assert bad_col.exit_code == 2 and "unknown column(s) nope" in bad_col.stderr


@pytest.mark.parametrize(
    ("option", "detail"),
    [
        (
            ["--domain", "anxeity"],
            "domain: 'anxeity' is not a declared domain value; did you mean 'anxiety'?",
        ),
        (["--scale", "HAMA"], "scale: 'HAMA' is not a declared scale value; did you mean 'HAM-A'?"),
        (["--arm", "ketamin"], "arm: 'ketamin' is neither a role nor an arm of a declared agent"),
    ],
)
def test_pool_options_are_checked_against_the_protocol_as_its_analyses_are(
    runner: CliRunner, option: list[str], detail: str
) -> None:
    """A typo in an option used to pool nothing and exit 0 ("no rows to pool")."""
    result = runner.invoke(main, ["pool", str(ROOT / "studies.bib"), *option])
    assert result.exit_code == 2
    error = result.stderr.splitlines()[-1]
    assert error.startswith(f"Error: analysis 'anxiety': {detail} (allowed: ")
    assert result.stdout == ""


def test_table_text_shows_the_terminal_columns(runner: CliRunner) -> None:
    result = runner.invoke(main, ["table", str(ROOT / "studies.bib")])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == [
        "key",
        "year",
        "first_author",
        "design",
        "conditions",
        "route",
        "n_enrolled",
        "n_outcomes",
        "verification",
    ]
    assert len(lines) == 17
    assert lines[3].split()[:3] == ["glue2017", "2017", "Glue"]


def test_table_csv_and_json_have_all_columns(runner: CliRunner) -> None:
    from evidence.tables import OUTCOME_COLUMNS, STUDY_COLUMNS

    csv = runner.invoke(main, ["table", "--bib", str(ROOT / "studies.bib"), "--format", "csv"])
    assert csv.stdout.splitlines()[0] == ",".join(STUDY_COLUMNS)
    out = runner.invoke(
        main, ["table", str(ROOT / "studies.bib"), "--outcomes", "--format", "json"]
    )
    rows = json.loads(out.stdout)
    assert list(rows[0]) == list(OUTCOME_COLUMNS)
    rod = [r for r in rows if r["key"] == "rodriguez2013"]
    assert [(r["arm"], r["responders"], r["n"], r["derived"]) for r in rod] == [
        ("ketamine", 4, 8, True),
        ("placebo", 0, 7, True),
    ]


def test_table_columns_option(runner: CliRunner) -> None:
    result = runner.invoke(
        main, ["table", str(ROOT / "studies.bib"), "--columns", "key,doi", "--format", "csv"]
    )
    assert result.stdout.splitlines()[:2] == [
        "key,doi",
        "whittaker2021,10.1177/20451253211056743",
    ]


def test_default_bib_is_studies_bib_in_cwd(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "studies.bib").write_text(BAD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 1
    assert result.stdout.startswith("studies.bib:6: k: route:")


def test_validate_does_not_import_plotting_or_excel() -> None:
    code = (
        "import sys; from evidence.cli import main\n"
        "try:\n    main(['validate', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "bad = [m for m in ('matplotlib', 'openpyxl') if m in sys.modules]\n"
        "print('heavy:', bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "studies.bib")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "heavy: []"


def test_python_dash_m_works() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "evidence", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "evidence, version 0.1.0"


# --------------------------------------------------------------- one-line errors, no hangs


@pytest.mark.parametrize(
    ("device", "kind"),
    [
        pytest.param("/dev/zero", "character device", id="zero"),
        pytest.param("/dev/urandom", "character device", id="urandom"),
    ],
)
def test_validate_refuses_endless_devices(runner: CliRunner, no_hang, device: str, kind) -> None:
    result = runner.invoke(main, ["validate", device])
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: {device}: is a {kind}, not a regular file (a .bib file expected)\n"
    )


def test_named_pipe_is_refused_by_every_command(
    runner: CliRunner, no_hang, tmp_path: Path, bib: Path
) -> None:
    import os

    fifo = tmp_path / "pipe.bib"
    os.mkfifo(fifo)
    refused = f"Error: {fifo}: is a named pipe, not a regular file"
    commands = [
        ["validate", str(fifo)],
        ["table", str(fifo)],
        ["set", "glue2017", "n_enrolled=13", "--bib", str(fifo)],
        ["add", str(bib), "--bib", str(fifo)],
        ["fmt", "--bib", str(fifo)],
        ["claims", str(fifo)],
    ]
    for args in commands:
        result = runner.invoke(main, args)
        assert result.exit_code == 1, args
        assert result.stderr.startswith(refused) and result.stderr.count("\n") == 1, args
    before = bib.read_bytes()
    source = runner.invoke(main, ["add", str(fifo), "--bib", str(bib)])
    assert source.exit_code == 1
    assert source.stderr == f"{refused} (a reference file expected)\n"
    assert bib.read_bytes() == before


def test_validate_out_of_memory_is_one_line(tmp_path: Path) -> None:
    """A sparse 16 GiB file read under an address-space limit raises MemoryError inside."""
    big = tmp_path / "huge.bib"
    with open(big, "wb") as handle:
        handle.truncate(16 * 2**30)
    script = (
        "import resource, sys\n"
        "from evidence.cli import main\n"
        "size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 2**30, size + 2**30))\n"
        "main(['validate', sys.argv[1]])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(big)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr == f"Error: {big}: too large to read (out of memory)\n"


@pytest.mark.slow
def test_running_out_of_memory_while_parsing_is_one_line_and_a_clean_exit(tmp_path: Path) -> None:
    """A file that fits in memory but whose parse does not: the one line, and then nothing
    (the interpreter needs memory to exit, which the failed parse's objects, kept alive by
    the error's frames, used to hold: 'Exception ignored in sys.unraisablehook', MemoryError
    lines)."""
    entry = (ROOT / "studies.bib").read_text(encoding="utf-8").split("@article{glue2017,")[1]
    entry = entry.split("\n}\n")[0].replace("10.1177/0269881117705089", "10.1/{n}")
    many = tmp_path / "many.bib"
    with open(many, "w", encoding="utf-8") as handle:
        for n in range(30_000):  # 50 MB
            handle.write(f"@article{{k{n},{entry.replace('{n}', str(n))}\n}}\n\n")
    script = (
        "import resource, sys\n"
        "from evidence.cli import main\n"
        "size = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (size + 2**28, size + 2**28))\n"
        "main(['validate', sys.argv[1]])\n"
    )
    one_line = {  # where the memory runs out varies: in the parse, or just after it
        f"Error: {many}: too large to parse (out of memory)\n",
        "Error: out of memory (is the input file that large?)\n",
    }
    for _ in range(3):  # it did not always show
        result = subprocess.run(
            [sys.executable, "-c", script, str(many)], capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 1
        assert result.stderr in one_line


def test_parse_out_of_memory_is_one_line(runner: CliRunner, monkeypatch, tmp_path: Path) -> None:
    import evidence.bib

    def exhausted(text: str):
        raise MemoryError

    monkeypatch.setattr(evidence.bib, "parse_string", exhausted)
    result = runner.invoke(main, ["validate", str(ROOT / "studies.bib")])
    assert result.exit_code == 1
    assert result.stderr == f"Error: {ROOT / 'studies.bib'}: too large to parse (out of memory)\n"


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        pytest.param(
            '[\n  {"title": "Deep",\n   "note": ' + "[" * 100_000 + "]" * 100_000 + "}\n]\n",
            3,
            "JSON nested too deeply to read (more than 1000 levels)",
            id="nested-100k",
        ),
        pytest.param(
            '[\n  {"title": "Big",\n   "volume": ' + "9" * 5000 + "}\n]\n",
            3,
            "the number 999999999999…99999999 has 5000 digits (more than 4300): no "
            "bibliographic value",
            id="5000-digits",
        ),
        pytest.param(  # read as a float, it was inf, and the entry said volume = {inf}
            '[\n  {"title": "Big",\n   "volume": 1e999}\n]\n',
            3,
            "the number 1e999 is too large for any floating-point number (it would read as "
            "inf): no bibliographic value",
            id="1e999",
        ),
        pytest.param(
            '[\n  {"title": "Big",\n   "volume": ' + "1" * 5000 + ".5}\n]\n",
            3,
            "the number 111111111111…111111.5 is too large for any floating-point number (it "
            "would read as inf): no bibliographic value",
            id="5000-digits-and-a-point",
        ),
        pytest.param(
            '[\n  {"title": "Odd",\n   "volume": NaN}\n]\n',
            3,
            "the number NaN is no number in standard JSON: no bibliographic value",
            id="nan",
        ),
        pytest.param(  # the same text in a string before it is not the number
            '[\n  {"title": "About 1e999 and NaN",\n   "note": "x 1e999",\n'
            '   "volume": 1e999}\n]\n',
            4,
            "the number 1e999 is too large for any floating-point number (it would read as "
            "inf): no bibliographic value",
            id="1e999-after-a-string-holding-it",
        ),
        pytest.param(
            '[\n  {"title": "NaN",\n   "volume": 12,\n   "issue": -1e999}\n]\n',
            4,
            "the number -1e999 is too large for any floating-point number (it would read as "
            "inf): no bibliographic value",
            id="negative-after-strings",
        ),
    ],
)
def test_add_hostile_csl_json_is_one_line_error(
    runner: CliRunner, tmp_path: Path, bib: Path, content: str, line: int, message: str
) -> None:

    before = bib.read_bytes()
    source = tmp_path / "export.json"
    source.write_text(content, encoding="utf-8")
    result = runner.invoke(main, ["add", str(source), "--bib", str(bib)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{source}:{line}: {message}\nError: 1 error(s); nothing was written\n"
    )
    assert bib.read_bytes() == before


def test_cli_one_line_errors_instead_of_tracebacks(bib: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    out = runner.invoke(main, ["build", str(bib), "--out", str(afile)])
    assert out.exit_code == 1 and "exists and is not a folder" in out.stderr
    outside = runner.invoke(main, ["diff", "--rev", "HEAD", "--bib", str(bib)])
    assert outside.exit_code == 1 and outside.stderr.startswith("Error: ")
    usage = runner.invoke(main, ["set", "glue2017", "title", "--bib", str(bib)])
    assert usage.exit_code == 2 and "expected FIELD=VALUE" in usage.stderr
    for result in (out, outside, usage):
        assert "Traceback" not in result.output


# The light commands must not pay for the analysis stack: pandas alone takes longer to import
# than the whole of `evidence validate` may (issue 13; benchmarks/bench_validate.py).
HEAVY = ("pandas", "numpy", "scipy", "matplotlib", "openpyxl", "statsmodels", "xlsxwriter")

_RUN_AND_LIST_MODULES = """
import json, sys
from evidence.cli import main
sys.argv = ["evidence", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})
print(json.dumps({{"code": code, "heavy": heavy}}))
"""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["validate", "{bib}"], 0, id="validate"),
        pytest.param(["validate", "--format", "json", "--strict", "{bib}"], 0, id="validate-json"),
        pytest.param(["set", "glue2017", "note=checked", "--bib", "{bib}"], 0, id="set"),
        pytest.param(["set", "glue2017", "n_enrolled=x", "--bib", "{bib}"], 1, id="set-refused"),
        pytest.param(["add", "{ris}", "--merge", "--bib", "{bib}"], 0, id="add-ris"),
        pytest.param(["add", "{nbib}", "--merge", "--dry-run", "--bib", "{bib}"], 0, id="add-nbib"),
        pytest.param(["add", "{json}", "--bib", "{bib}"], 1, id="add-refused"),
        pytest.param(["fmt", "--bib", "{bib}"], 0, id="fmt"),
        pytest.param(["fmt", "--check", "--sort", "key", "--bib", "{bib}"], 1, id="fmt-check"),
    ],
)
def test_light_commands_import_no_heavy_packages(args: list[str], code: int, tmp_path) -> None:
    bib = tmp_path / "studies.bib"
    bib.write_bytes((ROOT / "studies.bib").read_bytes())
    imports = ROOT / "tests" / "data" / "imports"
    paths = {
        "bib": str(bib),
        "ris": str(imports / "embase.ris"),
        "nbib": str(imports / "pubmed.nbib"),
        "json": str(imports / "zotero.json"),
    }
    argv = [a.format(**paths) for a in args]
    before = bib.read_bytes()
    script = _RUN_AND_LIST_MODULES.format(heavy=set(HEAVY))
    out = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"code": code, "heavy": []}, out.stderr
    changed = bib.read_bytes() != before
    assert changed is (code == 0 and args[0] != "validate" and "--dry-run" not in args)


def test_import_evidence_is_light() -> None:
    script = (
        "import sys, evidence; evidence.load; evidence.validate; evidence.data_dictionary; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)!r}))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # ... and the heavy parts still load on first use
    script = "import evidence; print(type(evidence.load('studies.bib').studies).__module__)"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip().startswith("pandas")


# ------------------------------------------------------------------------------ claims


def test_claims_table_shows_each_claim_its_checks_and_verdict(runner: CliRunner) -> None:
    result = runner.invoke(main, ["claims", str(ROOT / "studies.bib")])
    assert result.exit_code == 0  # unsupported and overstated claims are findings, not errors
    lines = result.stdout.splitlines()
    heads = [line for line in lines if line.startswith("sourcearticle ")]
    assert heads == [
        "sourcearticle C1: unsupported",
        "sourcearticle C2: partly-supported",
        "sourcearticle C3: unverifiable (analyst: overstated)",
        "sourcearticle C4: overstated",
        "sourcearticle C5: supported",
        "sourcearticle C6: partly-supported",
        "sourcearticle C7: overstated",
    ]
    at = lines.index("sourcearticle C4: overstated")
    assert lines[at + 2 : at + 8] == [
        "  cites: glue2017",
        "  attribute   asserted  found                             check",
        "  year        2017      2017                              supported",
        "  conditions  GAD; SAD  GAD, SAD                          supported",
        "  percent     83%       ketamine, anxiety: 10/12 = 83.3%  supported",
        "  within      1 h       no time recorded                  not-in-source",
    ]
    assert result.stderr.endswith(
        "studies.bib: 7 claims: 1 supported, 2 partly-supported, 2 overstated, 1 unsupported, "
        "1 unverifiable; 1 with an analyst's verdict\n"
    )


def test_claims_json_is_a_list_of_claims(runner: CliRunner) -> None:
    result = runner.invoke(main, ["claims", "--format", "json", "--bib", str(ROOT / "studies.bib")])
    assert result.exit_code == 0
    claims = json.loads(result.stdout)
    assert [c["id"] for c in claims] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    for claim in claims:
        keys = ["entry", "id", "text", "cites", "checks", "verdict"]
        assert list(claim) == keys + (["override"] if claim["id"] == "C3" else [])
        assert claim["entry"] == "sourcearticle"
        for check in claim["checks"]:
            assert list(check) == ["attribute", "asserted", "found", "verdict"]
    c1, c7 = claims[0], claims[6]
    assert (c1["cites"], c1["checks"], c1["verdict"]) == ([], [], "unsupported")
    assert claims[2]["override"]["verdict"] == "overstated"
    assert claims[2]["override"]["reason"].startswith("the fact sheet's best match")
    assert c7["cites"] == ["rodriguez2013"]
    assert {
        "attribute": "quantifier",
        "asserted": "most",
        "found": "ketamine, Y-BOCS, 1 week: 4/8 = 50.0%",
        "verdict": "contradicted",
    } in c7["checks"]


def test_claims_exit_1_only_for_errors_in_the_file(runner: CliRunner, tmp_bib) -> None:
    broken = runner.invoke(main, ["claims", str(ROOT / "tests/data/invalid/claims.bib")])
    assert broken.exit_code == 1
    assert broken.stdout.startswith("clinicpage A: unverifiable\n")  # printed all the same
    assert broken.stderr.endswith("claims.bib: 10 error(s) (run `evidence validate`)\n")
    plain = tmp_bib("@online{page,\n  title = {No claims},\n}\n")
    empty = runner.invoke(main, ["claims", str(plain)])
    assert empty.exit_code == 0
    assert empty.stdout == "(no claims)\n"
    assert empty.stderr == f"{plain}: 0 claims\n"
    unsupported = tmp_bib(
        "@online{page,\n  title = {P},\n  claims = {\n    text=Studies show it; cites=none\n"
        "  },\n}\n"
    )
    result = runner.invoke(main, ["claims", str(unsupported), "--format", "json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["verdict"] == "unsupported"


def test_every_line_to_stderr_shows_what_does_not_print_escaped(tmp_path: Path) -> None:
    """Not only problems and errors: the lines that report what a command did quote keys and
    sources from files too (here a key holding a right-to-left override)."""
    bib = tmp_path / "refs.bib"
    bib.write_text("@misc{ab\u202ecd,\n  title = {T},\n}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["set", "ab\u202ecd", "title=New", "--bib", str(bib)])
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == f"{bib}: ab\\u202ecd: updated title"


@pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals")
def test_a_stop_signal_while_the_problems_are_printed_stops_it_cleanly(
    runner: CliRunner, tmp_bib, tmp_path: Path, monkeypatch
) -> None:
    """SIGTERM while a failed command prints its problems cuts the list short and exits 143
    with one line, no traceback; the signal mask is left as it was."""
    import evidence.cli

    told: list[str] = []
    real_tell = evidence.cli._tell

    def tell(message: str) -> None:
        told.append(message)
        if len(told) == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # handled before this returns
        real_tell(message)

    monkeypatch.setattr(evidence.cli, "_tell", tell)
    args = ["build", str(tmp_bib(BAD)), "--out", str(tmp_path / "out")]
    result = runner.invoke(main, args)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 128 + signal.SIGTERM
    assert told[-1] == "Error: stopped by SIGTERM"
    assert len(told) == 2  # the first problem, then the stop: the rest cut short
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert not (tmp_path / "out").exists()


def test_a_terminal_gone_while_the_error_is_told_leaves_the_exit_status(
    runner: CliRunner, tmp_bib, monkeypatch
) -> None:
    """Closing the terminal (EIO) or a closed pipe (EPIPE) on stderr: nobody is left to read
    the error, and the exit status is still the command's."""
    import errno

    import click

    def gone(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(click, "echo", gone)
    result = runner.invoke(main, ["build", str(tmp_bib(BAD)), "--out", "unused"])
    assert isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
