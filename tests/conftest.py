"""Shared fixtures: paths to the bundled data, a copy of studies.bib, and small helpers."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

import evidence

TESTS = Path(__file__).parent
DATA = TESTS / "data"
ROOT = TESTS.parent
STYLES = sorted((DATA / "styles").glob("*.bib"))
INVALID = DATA / "invalid"
#: Twins: one hand-written file with CR LF line ends, and the same with lone CR (classic Mac).
CR_FILE = DATA / "styles" / "cr.bib"
CRLF_FILE = DATA / "styles" / "crlf.bib"


@pytest.fixture(scope="session", autouse=True)
def _session_reference_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A cache of formatted references for the module and session fixtures that build, set
    before any of them (``$EVIDENCE_CACHE_DIR``): none is written in the repository."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path_factory.mktemp("session-cache")))
        yield


@pytest.fixture(autouse=True)
def reference_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Each test's own cache of formatted references (``$EVIDENCE_CACHE_DIR``, inherited by
    the commands a test runs): no test sees what another formatted."""
    folder = tmp_path_factory.mktemp("reference-cache")
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(folder))
    return folder


def after_first_line(data: bytes) -> bytes:
    """The bytes after the first CR-ended line (the CR twins differ only in their first line)."""
    return data.split(b"\r", 1)[1]


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail (instead of hanging the suite) if the test body blocks for 30 s (a named pipe read
    by mistake blocks until someone writes to it)."""

    def timeout(signum, frame):
        raise TimeoutError("the command hung")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def studies_bib() -> Path:
    """The bundled evidence base at the top of the repository."""
    return ROOT / "studies.bib"


@pytest.fixture(scope="session")
def studies_text() -> str:
    """The text of the bundled ``studies.bib`` (read once per session)."""
    return (ROOT / "studies.bib").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def base() -> evidence.EvidenceBase:
    """The bundled evidence base, loaded once per session (tests must not change it)."""
    return evidence.load(ROOT / "studies.bib")


@pytest.fixture
def bib(tmp_path: Path) -> Path:
    """A copy of the bundled ``studies.bib`` that a test may edit, with its protocol (the
    repository's pyproject.toml beside it)."""
    path = tmp_path / "studies.bib"
    shutil.copy(ROOT / "studies.bib", path)
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return path


@pytest.fixture
def tmp_bib(tmp_path: Path):
    """Write BibTeX text (str, or bytes for exact control) to a temporary .bib file."""

    def write(content: str | bytes, name: str = "test.bib") -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    return write
