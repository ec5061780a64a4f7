"""The report as PDF, printed by a headless Chromium (``evidence build --pdf``).

The page's print styles (A4, figures and table rows kept whole, headers repeated) do the
layout; the browser prints it with its ``--print-to-pdf``. Chromium stamps the PDF with the
time it was made (``/CreationDate`` and ``/ModDate``, nothing else varies between runs), so
those two dates are set to a fixed one of the same length: the same page gives the same bytes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from evidence.errors import EvidenceError
from evidence.files import write_atomically

__all__ = ["BROWSERS", "find_browser", "print_pdf"]

#: Browsers tried, in order (the environment variable ``EVIDENCE_BROWSER`` comes first).
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}([+\-Z][^)]*)\)")
_FIXED = b"20000101000000"


def find_browser() -> str | None:
    """The Chromium-family browser to print with: ``$EVIDENCE_BROWSER``, else the first of
    :data:`BROWSERS` on the ``PATH``; ``None`` when there is none."""
    chosen = os.environ.get("EVIDENCE_BROWSER")
    if chosen:
        return shutil.which(chosen) or (chosen if Path(chosen).is_file() else None)
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _fixed_dates(data: bytes) -> bytes:
    """``data`` with its creation and modification dates set to 2000-01-01 (same length, so
    the cross-reference offsets stay right)."""
    return _DATE.sub(lambda m: b"/" + m.group(1) + b" (D:" + _FIXED + m.group(2) + b")", data)


def print_pdf(
    html: str | os.PathLike[str],
    pdf: str | os.PathLike[str],
    *,
    browser: str | None = None,
    timeout: float = 180,
) -> Path:
    """Print the page ``html`` to ``pdf`` with a headless Chromium (A4, no header or footer).

    Raises
    ------
    EvidenceError
        When no browser is found, or the browser fails or times out (one line, with what it
        said).
    """
    browser = browser or find_browser()
    if browser is None:
        raise EvidenceError(
            "--pdf needs Chromium or Google Chrome (none found; install chromium, or name one "
            "in EVIDENCE_BROWSER)"
        )
    html, pdf = Path(html).resolve(), Path(pdf)
    with tempfile.TemporaryDirectory(prefix="evidence-browser-") as profile:
        args = [
            browser,
            "--headless",
            "--disable-gpu",
            "--no-first-run",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf.resolve()}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            done = subprocess.run(
                [*args, html.as_uri()], capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise EvidenceError(f"{browser}: printing the report timed out") from None
        except OSError as exc:
            raise EvidenceError(f"{browser}: cannot run: {exc.strerror or exc}") from None
    if done.returncode != 0 or not pdf.is_file():
        said = " ".join((done.stderr or done.stdout or "").split())[:300]
        raise EvidenceError(f"{browser}: printing the report failed: {said or 'no output'}")
    write_atomically(pdf, _fixed_dates(pdf.read_bytes()))
    return pdf
