"""The ``evidence`` command line. Each command parses options, calls the library, renders.

Conventions: the file is ``--bib PATH`` (default ``./studies.bib``); commands that only read
it also take it as their one optional positional argument. Exit status 0 = fine, 1 = errors in
the data (or the file cannot be read), 2 = usage error. Errors go to stderr as ``Error: ...``;
no command prints a traceback for bad input.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

from evidence import __version__
from evidence.analysis import CI_METHODS, DEPENDENCE, MEASURES, METHODS, TESTS
from evidence.errors import (
    STOP_SIGNALS,
    EvidenceError,
    Problem,
    Stopped,
    ValidationError,
    stops_held,
)
from evidence.gcpause import no_collection, no_collection_at_exit
from evidence.text import escape_unprintable

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
TERMINAL_CONTRAST_COLUMNS = (
    "key",
    "contrast",
    "source",
    "level",
    "type",
    "domain",
    "measure",
    "time",
    "events_i",
    "n_i",
    "events_c",
    "n_c",
    "effect",
    "estimate",
    "ci_low",
    "ci_high",
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


def _tell(message: str) -> None:
    """One line to the user on stderr, what it quotes from files shown with the characters
    that do not print escaped (as in problems): never a second line, a bell, a turned key."""
    with contextlib.suppress(OSError):  # no terminal left to tell (closed: EIO; EPIPE)
        click.echo(escape_unprintable(message), err=True)


def _fail(message: str, code: int = 1) -> None:
    """``Error: message`` on stderr (:func:`_tell`), and exit."""
    _tell(f"Error: {message}")
    sys.exit(code)


def _handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library exceptions into ``Error: ...`` and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        code = 1
        lines: list[str] = []
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            lines = [str(problem) for problem in exc.problems]
            message = str(exc)
        except EvidenceError as exc:
            message = str(exc)
        except MemoryError:
            message = "out of memory (is the input file that large?)"
        except KeyboardInterrupt:  # pragma: no cover
            message, code = "interrupted", 130
        except Stopped as exc:
            message, code = _stopped(exc)
        # out of the handler, the error and the frames it holds are let go before the exit:
        # after running out of memory, what they hold would leave the interpreter none to exit
        try:
            for line in lines:  # a long list of problems may be cut short by ^C or a signal
                _tell(line)
        except KeyboardInterrupt:
            message, code = "interrupted", 130
        except Stopped as exc:
            message, code = _stopped(exc)
        with stops_held():  # the last line is not cut short (the command ends now anyway)
            _tell(f"Error: {message}")
        sys.exit(code)

    return wrapper


def _stopped(exc: Stopped) -> tuple[str, int]:
    """The message and exit status of a command stopped by a signal (128 + its number)."""
    message = f"stopped by {signal.Signals(exc.signum).name}"
    return (f"{message} {exc.after}" if exc.after else message), 128 + exc.signum


def _raise_stopped(signum: int, frame: object) -> None:
    raise Stopped(signum)


def _stop_on_signals() -> Callable[[], None]:
    """Make :data:`STOP_SIGNALS` raise where the command is, so that it undoes what it was
    doing (a build removes its staging folders and stops its workers; an edit removes its
    temporary file) and exits 128 + the signal's number; killed outright, it would leave
    them. Returns what puts the previous handlers back."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # only the main thread may handle signals
    previous = {signum: signal.signal(signum, _raise_stopped) for signum in STOP_SIGNALS}

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

    return restore


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


def config_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config PATH``: the protocol file, instead of the one found beside or above the .bib."""
    return click.option(
        "--config",
        metavar="PATH",
        help="Protocol file (pyproject.toml or evidence.toml); default: evidence.toml beside "
        "the .bib, else the nearest pyproject.toml with [tool.evidence].",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evidence")
def main() -> None:
    """Track research evidence in a BibTeX file: validate it, tabulate it, pool it."""
    no_collection_at_exit()  # a second saved at exit after reading a large file
    click.get_current_context().call_on_close(_stop_on_signals())


def format_option(*choices: str, help: str = "Output format.") -> Callable[..., Any]:
    """``--format`` with the given choices, the first being the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def _render_problems(problems: list[Problem], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([p.to_dict() for p in problems], indent=2, ensure_ascii=False)
    return "\n".join(str(p) for p in problems)


@main.command()
@bib_argument
@config_option
@format_option("text", "json")
@click.option("--strict", is_flag=True, help="Treat warnings as errors (exit 1).")
@_handle_errors
def validate(
    bib: str | None, bib_option: str | None, config: str | None, fmt: str, strict: bool
) -> None:
    """Check BIB against its protocol and report every problem, one per line as
    FILE:LINE: KEY: FIELD: message.

    Exit status 0 when there are no errors (warnings allowed), 1 when there are.
    """
    from evidence.base import load

    with no_collection():  # what is read survives to the end: collecting would free nothing
        base = load(_bib_path(bib, bib_option), config=config)
    if base.problems or fmt == "json":
        click.echo(_render_problems(base.problems, fmt))
    n_err, n_warn = len(base.errors), len(base.warnings)
    _tell(f"{base.path}: {len(base.records)} entries, {n_err} error(s), {n_warn} warning(s)")
    if n_err or (strict and n_warn):
        sys.exit(1)


@main.command()
@bib_argument
@config_option
@click.option("--outcomes", is_flag=True, help="Show the outcomes table instead of studies.")
@click.option(
    "--contrasts",
    is_flag=True,
    help="Show the contrasts table (intervention versus comparator, reported results).",
)
@format_option("text", "csv", "json", help="text for terminals, csv/json (all columns) for pipes.")
@click.option("--all", "all_columns", is_flag=True, help="Show every column in text format.")
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Comma-separated columns to show (any format).",
)
@click.option(
    "--raw",
    is_flag=True,
    help="CSV: write text cells as they are (no ' before =, +, -, @, tab, CR), for pipelines.",
)
@_handle_errors
def table(
    bib: str | None,
    bib_option: str | None,
    config: str | None,
    outcomes: bool,
    contrasts: bool,
    fmt: str,
    all_columns: bool,
    columns: str | None,
    raw: bool,
) -> None:
    """Print the studies table (or --outcomes, or --contrasts) of BIB.

    With errors in the file the table is still printed (invalid values empty), the errors are
    counted on stderr and the exit status is 1; `evidence validate` gives the details. CSV is
    safe to open in a spreadsheet: a text cell beginning with =, +, -, @, tab or CR gets a
    leading ' (unless --raw).
    """
    from evidence.base import load
    from evidence.render import render_table

    if outcomes and contrasts:
        raise click.UsageError("--outcomes and --contrasts exclude each other")
    base = load(_bib_path(bib, bib_option), config=config)
    frame = base.contrasts if contrasts else base.outcomes if outcomes else base.studies
    terminal = (
        TERMINAL_CONTRAST_COLUMNS
        if contrasts
        else TERMINAL_OUTCOME_COLUMNS
        if outcomes
        else TERMINAL_STUDY_COLUMNS
    )
    if columns:
        wanted = [c.strip() for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in frame.columns]
        if unknown:
            raise click.UsageError(
                f"unknown column(s) {', '.join(unknown)} (allowed: {', '.join(frame.columns)})"
            )
        frame = frame[wanted]
    elif fmt == "text" and not all_columns:
        frame = frame[list(terminal)]
    click.echo(render_table(frame, fmt, raw=raw), nl=fmt == "text")
    if base.errors:
        _tell(
            f"{base.path}: {len(base.errors)} error(s); invalid values are shown empty "
            "(run `evidence validate`)"
        )
        sys.exit(1)


def bib_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--bib PATH`` (commands that write the file)."""
    return click.option(
        "--bib",
        "bib",
        metavar="PATH",
        default=DEFAULT_BIB,
        show_default=True,
        help="The .bib file to edit.",
    )(func)


@main.command(name="set")
@click.argument("key")
@click.argument("assignments", nargs=-1, metavar="FIELD=VALUE...")
@click.option(
    "--unset",
    "unset",
    multiple=True,
    metavar="FIELD",
    help="Remove FIELD (repeatable). outcomes.N.KEY addresses one key of outcome row N "
    "(likewise rob.N.KEY, claims.N.KEY).",
)
@bib_option
@config_option
@click.option("--dry-run", is_flag=True, help="Show the change as a diff; write nothing.")
@_handle_errors
def set_command(
    key: str,
    assignments: tuple[str, ...],
    unset: tuple[str, ...],
    bib: str,
    config: str | None,
    dry_run: bool,
) -> None:
    """Set or remove fields of entry KEY; only those fields' text changes.

    FIELD=VALUE sets a BibTeX field (outcome fields included); outcomes.N.KEY=VALUE sets one
    key of outcome row N (1-based), changing only that row's line (likewise rob.N.KEY and
    claims.N.KEY). The result is validated before anything is written.
    """
    from evidence.editing import parse_assignment, set_entry

    if not assignments and not unset:
        raise click.UsageError("nothing to do: give FIELD=VALUE and/or --unset FIELD")
    try:
        values = dict(parse_assignment(a) for a in assignments)
    except EvidenceError as exc:
        raise click.UsageError(str(exc)) from None
    result = set_entry(bib, key, values, unset, dry_run=dry_run, config=config)
    for problem in result.problems:
        _tell(str(problem))
    if dry_run:
        click.echo(result.diff(), nl=False)
    elif not result.changed:
        _tell(f"{bib}: {key}: nothing changed")
    else:
        changed = [*values, *unset]
        _tell(f"{bib}: {key}: updated {', '.join(changed)}")


@main.command()
@bib_argument
@config_option
@format_option("text", "json")
@_handle_errors
def duplicates(bib: str | None, bib_option: str | None, config: str | None, fmt: str) -> None:
    """List entries of BIB that duplicate an earlier one (same DOI or PMID, or a
    near-identical title with the same year and first author). Exit 1 if there are any."""
    from evidence.base import protocol_for
    from evidence.bib import read_bib
    from evidence.duplicates import IDENTITY_FIELDS, find_duplicates, identity
    from evidence.validation import read_records

    path = _bib_path(bib, bib_option)
    protocol_for(path, config)  # a protocol that cannot be used is an error here as anywhere
    # everything read survives to the end: a collection would walk it all and free nothing
    with no_collection():
        doc = read_bib(path)
        # the BibTeX values suffice: nothing typed or checked (`evidence validate` does that)
        records = read_records(doc, IDENTITY_FIELDS)
        found = find_duplicates(identity(r.key, r.bib) for r in records)
    if fmt == "json":
        rows = [
            {"key": d.key, "duplicates": d.of, "reason": d.reason, "score": d.score} for d in found
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        for dup in found:
            click.echo(str(dup))
    _tell(f"{doc.path}: {len(found)} duplicate(s)")
    if found:
        sys.exit(1)


@main.command()
@bib_option
@config_option
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is not formatted.")
@click.option(
    "--sort",
    type=click.Choice(["none", "key", "year"]),
    default="none",
    show_default=True,
    help="Entry order.",
)
@click.option("--diff", "show_diff", is_flag=True, help="Show the change as a diff; write nothing.")
@_handle_errors
def fmt(bib: str, config: str | None, check: bool, sort: str, show_diff: bool) -> None:
    """Rewrite BIB in the canonical layout (opt-in; idempotent).

    One field per line, two-space indent, lower-case names, braces for text, a comma after
    every field, a fixed field order, one blank line between blocks. Comments, @string and
    @preamble blocks are kept verbatim. --check lists the entries that would change and exits
    1, for CI and pre-commit hooks.
    """
    from evidence.editing import format_file

    edit, result = format_file(bib, sort=sort, dry_run=check or show_diff, config=config)
    if check or show_diff:
        if show_diff:
            click.echo(edit.diff(), nl=False)
        for key in result.changed_keys:
            click.echo(f"{bib}: {key}: would be reformatted")
        if result.other_changes:
            click.echo(f"{bib}: blank lines or block order would change")
        if edit.changed:
            sys.exit(1)
        _tell(f"{bib}: already formatted")
        return
    if not edit.changed:
        _tell(f"{bib}: already formatted")
    else:
        also = "; blank lines or block order changed" if result.other_changes else ""
        _tell(f"{bib}: reformatted {len(result.changed_keys)} entries{also}")


@main.command(name="diff")
@click.argument("files", nargs=-1, metavar="[OLD NEW]")
@click.option("--rev", metavar="REV", help="Compare the file at git revision REV with now.")
@click.option(
    "--bib",
    "bib",
    metavar="PATH",
    default=DEFAULT_BIB,
    show_default=True,
    help="The .bib file (with --rev).",
)
@config_option
@format_option("text", "json")
@_handle_errors
def diff_command(
    files: tuple[str, ...], rev: str | None, bib: str, config: str | None, fmt: str
) -> None:
    """Entries added, removed and changed field by field between OLD and NEW (or --rev REV
    and the current file), and how each headline analysis moved. Both versions are read with
    the protocol of the new one."""
    from evidence.base import load, protocol_for
    from evidence.comparison import compare, load_revision
    from evidence.render import render_comparison

    if rev and files:
        raise click.UsageError("give either OLD NEW or --rev REV, not both")
    if rev:
        protocol = protocol_for(bib, config)
        old, new = load_revision(bib, rev, protocol), load(bib, protocol=protocol)
    elif len(files) == 2:
        protocol = protocol_for(files[1], config)
        old, new = load(files[0], protocol=protocol), load(files[1], protocol=protocol)
    else:
        raise click.UsageError("give two files OLD NEW, or --rev REV")
    result = compare(old, new)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(render_comparison(result, old.path, new.path))


def _choice(*values: str) -> click.Choice:
    return click.Choice(list(values), case_sensitive=False)


@main.command()
@bib_argument
@config_option
@click.option(
    "--analysis",
    "analysis_name",
    metavar="NAME",
    help="A protocol analysis (default: the first headline analysis).",
)
@click.option("--measure", type=_choice(*MEASURES), help="Transformation: PLO, PFT, PR, PAS.")
@click.option("--method", type=_choice(*METHODS), help="Estimator (FE = common effect).")
@click.option("--test", type=_choice(*TESTS), help="z, knha (Knapp-Hartung) or t.")
@click.option("--level", type=float, help="Confidence level, e.g. 0.95.")
@click.option("--ci", "ci_method", type=_choice(*CI_METHODS), help="Per-row interval.")
@click.option("--by", metavar="COLUMN", help="Subgroup column ('none' for no subgroups).")
@click.option("--arm", help="intervention, comparator, all, or an arm label or agent.")
@click.option("--domain", help="Only this outcome domain.")
@click.option("--scale", help="Only this rating scale (the outcome key `measure`).")
@click.option("--response", help="Only this response definition (exact text).")
@click.option("--timepoint", metavar="WINDOW", help="e.g. '1 week' or '24 h..2 weeks'.")
@click.option(
    "--dependence", type=_choice(*DEPENDENCE), help="What to do with a study's several rows."
)
@click.option("--rho", type=float, help="Assumed correlation for --dependence aggregate.")
@click.option(
    "--robust",
    type=_choice("CR1", "CR2"),
    help="Cluster-robust inference (--dependence multilevel).",
)
@click.option(
    "--low-risk-only",
    "low_risk",
    is_flag=True,
    help="Only results at low overall risk of bias (sensitivity analysis; the others are "
    "listed as not pooled, with the reason).",
)
@click.option(
    "--leave-one-out",
    "loo",
    is_flag=True,
    help="Also pool with each row left out in turn (sensitivity analysis).",
)
@format_option("table", "json")
@_handle_errors
def pool(
    bib: str | None,
    bib_option: str | None,
    config: str | None,
    analysis_name: str | None,
    low_risk: bool,
    loo: bool,
    fmt: str,
    **overrides: Any,
) -> None:
    """Run one analysis of BIB: per-row rates with intervals and the pooled result (metafor's
    semantics). The analysis comes from the protocol (--analysis NAME, default the first
    headline analysis); the options below override its settings. Rows that cannot be pooled,
    and rows the dependence policy drops or combines, are listed with the reason."""
    from evidence.base import load
    from evidence.pooling import leave_one_out_table, pool_evidence
    from evidence.render import pool_to_dict, render_leave_one_out, render_pool, render_table

    base = load(_bib_path(bib, bib_option), config=config)
    if base.errors:
        raise ValidationError(base.errors)
    changes = {k: v for k, v in overrides.items() if v is not None}
    if low_risk:
        changes["risk_of_bias"] = "low"
    try:
        report = pool_evidence(base, analysis_name, **changes)
        loo_table = leave_one_out_table(report) if loo else None
    except ValueError as exc:  # invalid settings (AnalysisError) or refused by the statistics
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        data = pool_to_dict(report)
        if loo_table is not None:
            data["leave_one_out"] = json.loads(render_table(loo_table, "json"))
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_pool(report))
        if loo_table is not None:
            click.echo("\nLeave one out\n" + render_leave_one_out(loo_table))
    for warning in report.warnings:
        _tell(f"warning: {warning}")


@main.command(name="grade")
@bib_argument
@config_option
@format_option("text", "json")
@_handle_errors
def grade_command(bib: str | None, bib_option: str | None, config: str | None, fmt: str) -> None:
    """Rate the certainty of each headline analysis of BIB (GRADE): a draft per domain from
    the numbers (risk of bias, inconsistency, imprecision, publication bias; indirectness as
    declared), the protocol's judgements beside it, and the summary of findings."""
    from evidence.base import load
    from evidence.grade import grade, summary_of_findings
    from evidence.pooling import headline_analyses
    from evidence.render import render_grade, render_table

    base = load(_bib_path(bib, bib_option), config=config)
    if base.errors:
        raise ValidationError(base.errors)
    reports = [analysis.run(base) for analysis in headline_analyses(base)]
    certainties = [grade(report, base) for report in reports]
    summary = summary_of_findings(base, reports)
    where = base.protocol.source_for(base.path)
    if fmt == "json":
        rows = json.loads(render_table(summary, "json"))
        data = {
            "protocol": where,
            "analyses": [
                {"analysis": r.analysis.to_dict(), "certainty": c.to_dict(), "summary": row}
                for r, c, row in zip(reports, certainties, rows, strict=True)
            ],
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_grade(certainties, summary, where))


@main.command()
@click.argument("keys", nargs=-1, metavar="KEY...")
@click.option(
    "--style",
    metavar="STYLE",
    help="A CSL style: an installed style's name (vancouver, apa, nature...) or a .csl file; "
    "default: the protocol's citation_style, else vancouver.",
)
@format_option("text", "html", "markdown")
@click.option(
    "--bib",
    "bib",
    metavar="PATH",
    default=DEFAULT_BIB,
    show_default=True,
    help="The .bib file.",
)
@config_option
@click.option("--list-styles", is_flag=True, help="List the installed styles' names and exit.")
@_handle_errors
def cite(
    keys: tuple[str, ...],
    style: str | None,
    fmt: str,
    bib: str,
    config: str | None,
    list_styles: bool,
) -> None:
    """Print the references of the entries KEY... in a citation style (CSL, citeproc-py), in
    the style's order: numbered styles (Vancouver) in the order given, author-date styles (APA)
    sorted. --format html links DOIs; markdown escapes the text.

    With errors in the file the references are still printed, the errors are counted on
    stderr and the exit status is 1.
    """
    from evidence import citations

    if list_styles:
        click.echo("\n".join(citations.installed_styles()))
        return
    if not keys:
        raise click.UsageError("give one or more citation keys (or --list-styles)")
    found = None
    if style is not None:
        try:
            found = citations.find_style(style)
        except EvidenceError as exc:
            _fail(f"--style: {exc}", 2)
    from evidence.base import load

    base = load(bib, config=config)
    refs = citations.references(base, keys, style=found)
    click.echo(citations.bibliography(refs, fmt))
    if base.errors:
        _tell(f"{base.path}: {len(base.errors)} error(s) (run `evidence validate`)")
        sys.exit(1)


@main.command()
@bib_argument
@config_option
@format_option("table", "json")
@_handle_errors
def claims(bib: str | None, bib_option: str | None, config: str | None, fmt: str) -> None:
    """Check the claims recorded in BIB (the claims field of a document's entry) against the
    entries they cite: each assertion's check (supported, contradicted, not-in-source) and
    each claim's verdict, beside the analyst's where one is given.

    The exit status is 1 only for errors in the file (the claims are still printed); an
    unsupported or contradicted claim is a finding about the document, not an error.
    """
    from evidence.base import load
    from evidence.claims import check_claims
    from evidence.render import claims_summary, render_claims

    base = load(_bib_path(bib, bib_option), config=config)
    found = check_claims(base)
    if fmt == "json":
        data = [c.to_dict() for c in found]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_claims(found))
    _tell(f"{base.path}: {claims_summary(found)}")
    if base.errors:
        _tell(f"{base.path}: {len(base.errors)} error(s) (run `evidence validate`)")
        sys.exit(1)


@main.command()
@bib_argument
@config_option
@format_option("text", "json")
@_handle_errors
def protocol(bib: str | None, bib_option: str | None, config: str | None, fmt: str) -> None:
    """Print the protocol in force for BIB (vocabularies and analyses) and where it came from.

    Without a protocol, the default analyses that would run on BIB are shown."""
    from evidence.base import load
    from evidence.pooling import analyses_in_force
    from evidence.render import render_protocol

    base = load(_bib_path(bib, bib_option), config=config)
    analyses = analyses_in_force(base)
    if fmt == "json":
        data = base.protocol.to_dict()
        data["analyses"] = [a.to_dict() for a in analyses]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        click.echo(render_protocol(base.protocol, analyses))


@main.command()
@bib_argument
@config_option
@click.option(
    "--out",
    default="reports",
    show_default=True,
    metavar="DIR",
    help="Where to write the workbook, figures, report and manifest.",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also print the report to evidence-summary.pdf (needs Chromium or Google Chrome).",
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Format every reference again: neither read nor write the cache (.evidence_cache "
    "beside BIB, or $EVIDENCE_CACHE_DIR: the references and the last build's times).",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress messages (the default off a terminal)."
)
@_handle_errors
def build(
    bib: str | None,
    bib_option: str | None,
    config: str | None,
    out: str,
    pdf: bool,
    no_cache: bool,
    quiet: bool,
) -> None:
    """Validate BIB and regenerate, in DIR, the evidence-summary workbook, the charts of its
    protocol's analyses and the HTML report (byte-identical for the same BIB). With errors,
    nothing is written."""
    import os

    from evidence.export import build_reports, removed_message

    interactive = sys.stderr.isatty() and not os.environ.get("CI") and not quiet
    progress = (lambda message: _tell(f"· {message}")) if interactive else None
    path = _bib_path(bib, bib_option)
    result = build_reports(path, out, progress=progress, config=config, pdf=pdf, cache=not no_cache)
    if progress is None and not quiet:  # a file removed is said even without progress lines
        for removed in result.removed:
            _tell(removed_message(removed))


@main.command()
@click.argument("sources", nargs=-1, required=True, metavar="SOURCE...")
@bib_option
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would be added; write nothing.")
@click.option("--merge", is_flag=True, help="Merge a duplicate's missing fields into the entry.")
@click.option("--force", is_flag=True, help="Add duplicates anyway.")
@click.option("--skip-invalid", is_flag=True, help="Skip malformed records (reported).")
@click.option("--keep-unknown", is_flag=True, help="Keep unknown RIS tags in the note field.")
@_handle_errors
def add(
    sources: tuple[str, ...],
    bib: str,
    config: str | None,
    dry_run: bool,
    merge: bool,
    force: bool,
    skip_invalid: bool,
    keep_unknown: bool,
) -> None:
    """Append references from .bib, .ris, CSL-JSON (.json) or PubMed MEDLINE (.nbib) files.

    Keys: the source's own if free, else first author + year + first significant title word
    (e.g. rodriguez2013randomized), with a/b/c suffixes on clashes. Duplicates of existing
    entries (same DOI or PMID, or near-identical title, same year and first author) are refused
    unless --merge or --force.
    """
    from evidence.editing import add_entries

    if merge and force:
        raise click.UsageError("--merge and --force exclude each other")
    result = add_entries(
        bib,
        sources,
        on_duplicate="merge" if merge else "add" if force else "refuse",
        skip_invalid=skip_invalid,
        keep_unknown=keep_unknown,
        dry_run=dry_run,
        config=config,
    )
    for problem in result.skipped:
        _tell(f"skipped: {problem}")
    for note in result.notes:
        _tell(f"note: {note}")
    if dry_run:
        click.echo(result.edit.diff(), nl=False)
    verb = "would add" if dry_run else "added"
    for key, source in result.added:
        _tell(f"{verb} {key} (from {source})")
    for key, source, fields in result.merged:
        what = ", ".join(fields) or "nothing new"
        _tell(f"{'would merge' if dry_run else 'merged'} {source} into {key}: {what}")
