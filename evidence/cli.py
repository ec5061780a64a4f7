"""The ``evidence`` command line. Each command parses options, calls the library, renders.

Conventions: the file is ``--bib PATH`` (default ``./studies.bib``); commands that only read
it also take it as their one optional positional argument. Exit status 0 = fine, 1 = errors in
the data (or the file cannot be read), 2 = usage error. Errors go to stderr as ``Error: ...``;
no command prints a traceback for bad input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from evidence import __version__
from evidence.errors import EvidenceError, Problem

DEFAULT_BIB = "studies.bib"

#: Columns `evidence table` shows on a terminal unless --all or --columns is given.
TERMINAL_STUDY_COLUMNS = (
    "key",
    "year",
    "first_author",
    "design",
    "conditions",
    "route",
    "n_enrolled",
    "n_outcomes",
    "verification",
)
TERMINAL_OUTCOME_COLUMNS = (
    "key",
    "arm",
    "domain",
    "measure",
    "responders",
    "n",
    "percent",
    "rate",
    "time",
    "derived",
)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library exceptions into ``Error: ...`` and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except EvidenceError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:  # pragma: no cover
            _fail("interrupted", 130)

    return wrapper


def _bib_path(positional: str | None, option: str | None) -> str:
    if positional and option and positional != option:
        raise click.UsageError("give the .bib file either as an argument or with --bib, not both")
    return positional or option or DEFAULT_BIB


def bib_argument(func: Callable[..., Any]) -> Callable[..., Any]:
    """The optional positional BIB plus ``--bib`` (read-only commands)."""
    func = click.option(
        "--bib",
        "bib_option",
        metavar="PATH",
        help=f"The .bib file (default: ./{DEFAULT_BIB}).",
    )(func)
    return click.argument("bib", required=False, metavar="[BIB]")(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence")
def main() -> None:
    """Track research evidence in a BibTeX file: validate it, tabulate it, pool it."""


def _render_problems(problems: list[Problem], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False)
    return "\n".join(str(p) for p in problems)


@main.command()
@bib_argument
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@_handle_errors
def validate(bib: str | None, bib_option: str | None, fmt: str, strict: bool) -> None:
    """Check BIB and report every problem, one per line as FILE:LINE: KEY: FIELD: message.

    Exit status 0 when there are no errors (warnings allowed), 1 when there are.
    """
    from evidence.base import load

    base = load(_bib_path(bib, bib_option))
    if base.problems or fmt == "json":
        click.echo(_render_problems(base.problems, fmt))
    n_err, n_warn = len(base.errors), len(base.warnings)
    click.echo(
        f"{base.path}: {len(base.records)} entries, {n_err} error(s), {n_warn} warning(s)",
        err=True,
    )
    if n_err or (strict and n_warn):
        sys.exit(1)


@main.command()
@bib_argument
@click.option("--outcomes", is_flag=True, help="Show the outcomes table instead of studies.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "csv", "json"]),
    default="text",
    show_default=True,
    help="text for terminals, csv/json (all columns) for pipes.",
)
@click.option("--all", "all_columns", is_flag=True, help="Show every column in text format.")
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Comma-separated columns to show (any format).",
)
@_handle_errors
def table(
    bib: str | None,
    bib_option: str | None,
    outcomes: bool,
    fmt: str,
    all_columns: bool,
    columns: str | None,
) -> None:
    """Print the studies table (or --outcomes) of BIB.

    Problems in the file are summarised on stderr; run `evidence validate` for the details.
    """
    from evidence.base import load
    from evidence.render import render_table

    base = load(_bib_path(bib, bib_option))
    frame = base.outcomes if outcomes else base.studies
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in frame.columns]
        if unknown:
            raise click.UsageError(
                f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(frame.columns)})"
            )
        frame = frame[wanted]
    elif fmt == "text" and not all_columns:
        frame = frame[list(TERMINAL_OUTCOME_COLUMNS if outcomes else TERMINAL_STUDY_COLUMNS)]
    click.echo(render_table(frame, fmt), nl=fmt == "text")
    if base.errors:
        click.echo(
            f"{base.path}: {len(base.errors)} error(s); invalid values are shown empty "
            "(run `evidence validate`)",
            err=True,
        )
