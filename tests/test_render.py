"""Rendering tables for terminals and pipes (evidence.render): CSV safety and round trips."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from click.testing import CliRunner

from evidence.cli import main
from evidence.render import csv_text

TEXTS = [
    '=HYPERLINK("http://x","y")',
    "+1+2",
    "-cmd",
    "@SUM(A1)",
    "\tindented",
    "\rstarts with CR",
    "bare\rCR inside",
    "two\nlines",
    "CRLF\r\ninside",
    'a "quoted", comma',
    "plain",
    "",
]


@pytest.fixture
def frame() -> pd.DataFrame:
    n = len(TEXTS)
    return pd.DataFrame(
        {
            "text": pd.array(TEXTS, dtype="string"),
            "count": pd.array([-3, *range(n - 2), None], dtype="Int64"),
            "rate": pd.array([-0.5, *[0.25] * (n - 2), None], dtype="Float64"),
        }
    )


def _neutralised(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def test_csv_round_trips_through_the_csv_module(frame: pd.DataFrame) -> None:
    rows = list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    assert rows[0] == ["text", "count", "rate"]
    assert len(rows) == len(TEXTS) + 1
    assert [r[0] for r in rows[1:]] == [_neutralised(t) for t in TEXTS]
    assert [r[1] for r in rows[1:]] == ["-3", *map(str, range(len(TEXTS) - 2)), ""]
    assert rows[1][2] == "-0.5" and rows[-1][2] == ""  # numbers stay numbers, even negative


def test_csv_round_trips_through_pandas(frame: pd.DataFrame) -> None:
    back = pd.read_csv(io.StringIO(csv_text(frame), newline=""), keep_default_na=False)
    assert back.shape == frame.shape
    assert back["text"].tolist() == [_neutralised(t) for t in TEXTS]
    raw = pd.read_csv(io.StringIO(csv_text(frame, raw=True), newline=""), keep_default_na=False)
    assert raw["text"].tolist() == TEXTS
    numbers = pd.read_csv(io.StringIO(csv_text(frame), newline=""))
    assert numbers["count"].tolist()[:2] == [-3, 0] and numbers["rate"].tolist()[0] == -0.5


def test_bare_cr_inside_a_field_is_quoted() -> None:
    text = csv_text(pd.DataFrame({"a": ["x\ry"], "b": ["z"]}))
    assert text == 'a,b\n"x\ry",z\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["a", "b"], ["x\ry", "z"]]


def test_cli_table_csv_neutralises_unless_raw(tmp_path) -> None:
    bib = tmp_path / "f.bib"
    bib.write_text(
        "@article{k,\n  author = {A, B},\n  title = {=1+2},\n  journal = {@J},\n"
        "  year = 2020,\n}\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["table", str(bib), "--format", "csv", "--columns", "key,title,journal,year"]
    safe = runner.invoke(main, args)
    assert safe.exit_code == 0
    assert safe.stdout == "key,title,journal,year\nk,'=1+2,'@J,2020\n"
    raw = runner.invoke(main, [*args, "--raw"])
    assert raw.stdout == "key,title,journal,year\nk,=1+2,@J,2020\n"
