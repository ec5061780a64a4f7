"""Shared fixtures: paths to the bundled data and small helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
DATA = TESTS / "data"
ROOT = TESTS.parent
STYLES = sorted((DATA / "styles").glob("*.bib"))
INVALID = DATA / "invalid"


@pytest.fixture
def studies_bib() -> Path:
    """The bundled evidence base at the top of the repository."""
    return ROOT / "studies.bib"


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
