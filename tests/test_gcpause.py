"""evidence.gcpause: the collector is paused in the block and left as it was found."""

from __future__ import annotations

import gc

import pytest

from evidence.gcpause import no_collection
from evidence.splitter import parse_string
from evidence.validation import check


@pytest.fixture
def collector_state():
    enabled = gc.isenabled()
    yield
    gc.enable() if enabled else gc.disable()


@pytest.mark.usefixtures("collector_state")
def test_paused_inside_and_restored_after_even_on_error() -> None:
    gc.enable()
    with no_collection():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), no_collection():
        raise ValueError
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_a_paused_collector_stays_paused() -> None:
    gc.disable()
    with no_collection():
        pass
    assert not gc.isenabled()
    parse_string("@article{k, title = {T}}\n")  # parsing leaves it as found, too
    assert not gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_parsing_and_checking_leave_the_collector_on() -> None:
    from evidence.bib import parse_bib

    gc.enable()
    check(parse_bib("@article{k, title = {T}, year = {x}}\n"))
    assert gc.isenabled()


def test_objects_alive_at_exit_are_frozen_once_registered(monkeypatch) -> None:
    import subprocess
    import sys

    from evidence import gcpause

    # handlers run last-registered first: this one runs after the freeze
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "from evidence.gcpause import no_collection_at_exit\n"
        "kept = [[] for _ in range(1000)]\n"
        "no_collection_at_exit()\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "frozen True\n"
    registered = []
    monkeypatch.setattr(gcpause, "_at_exit", [])
    monkeypatch.setattr(gcpause.atexit, "register", registered.append)
    gcpause.no_collection_at_exit()
    gcpause.no_collection_at_exit()
    assert registered == [gc.freeze]


@pytest.mark.usefixtures("collector_state")
@pytest.mark.parametrize("command", ["validate", "duplicates"])
def test_reading_commands_read_with_the_collector_paused(monkeypatch, command) -> None:
    """`validate` and `duplicates` keep all they read to the end: the whole read (parse,
    locating the blocks, the check) runs paused, and the collector is on again after."""
    from click.testing import CliRunner

    from evidence import bib, cli

    from .conftest import ROOT

    seen = []
    parse = bib.parse_bib

    def spy(*args, **kwargs):
        document = parse(*args, **kwargs)
        seen.append(gc.isenabled())  # after the parse itself, while the blocks are located
        return document

    monkeypatch.setattr(bib, "parse_bib", spy)
    gc.enable()
    result = CliRunner().invoke(cli.main, [command, str(ROOT / "studies.bib")])
    assert result.exit_code == 0, result.output
    assert seen == [False] and gc.isenabled()


@pytest.mark.usefixtures("collector_state")
def test_the_workbook_is_written_with_the_collector_paused(monkeypatch, tmp_path) -> None:
    """Every cell is kept until its sheet is written: the sheets are filled and the file is
    written paused, and the collector is on again after (also after a failure)."""
    import evidence
    from evidence import workbook

    from .conftest import ROOT

    base = evidence.load(ROOT / "studies.bib")
    seen = []
    finish = workbook._Sheet.finish

    def spy(self, **kwargs):
        seen.append(gc.isenabled())
        return finish(self, **kwargs)

    monkeypatch.setattr(workbook._Sheet, "finish", spy)
    gc.enable()
    workbook.write_workbook(base, tmp_path / "evidence.xlsx")
    assert seen == [False] * len(workbook.SHEETS) and gc.isenabled()

    def failing(self, **kwargs):
        raise OSError(27, "File too large")

    monkeypatch.setattr(workbook._Sheet, "finish", failing)
    with pytest.raises(OSError):
        workbook.write_workbook(base, tmp_path / "again.xlsx")
    assert gc.isenabled()
