"""Work shared among forked processes (evidence.parallel): same results, same errors."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from functools import partial

import pytest

from evidence import parallel
from evidence.errors import CitationError

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux")


@pytest.fixture(autouse=True)
def _two_cores(monkeypatch, request) -> None:
    """Workers are forked as on a machine of two cores (none are, on one)."""
    if request.node.name != "test_processes_by_cores_and_platform":
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})


def _square(n: int) -> tuple[int, int]:
    return n * n, os.getpid()


def test_results_in_order_from_forked_workers() -> None:
    tasks = [partial(_square, n) for n in range(12)]
    results = parallel.run(tasks, processes=2)
    assert [value for value, _ in results] == [n * n for n in range(12)]
    assert os.getpid() not in {pid for _, pid in results}  # each ran in a worker
    here = parallel.run(tasks, processes=1)
    assert {pid for _, pid in here} == {os.getpid()}
    assert [value for value, _ in here] == [value for value, _ in results]


def test_workers_see_what_the_parent_holds() -> None:
    big = {"rows": list(range(100_000))}  # inherited by the fork, never pickled
    tasks = [lambda i=i: sum(big["rows"][i::4]) for i in range(4)]
    assert parallel.run(tasks, processes=2) == [sum(range(100_000)[i::4]) for i in range(4)]


def _fails(kind: str) -> None:
    if kind == "citation":
        raise CitationError("k1: cannot format in citation style 'apa': boom")
    raise OSError(errno.EFBIG, "File too large", "/tmp/out.png")


@pytest.mark.parametrize("kind", ["citation", "os"])
def test_a_task_error_is_raised_in_the_parent(kind: str) -> None:
    tasks = [partial(_square, 1), partial(_fails, kind), partial(_square, 2)]
    with pytest.raises((CitationError, OSError)) as raised:
        parallel.run(tasks, processes=2)
    with pytest.raises((CitationError, OSError)) as here:
        parallel.run(tasks, processes=1)
    assert type(raised.value) is type(here.value)
    assert str(raised.value) == str(here.value)
    if kind == "os":
        assert (raised.value.errno, raised.value.filename) == (errno.EFBIG, "/tmp/out.png")


def test_runs_here_when_no_worker_can_be_forked(monkeypatch) -> None:
    def cannot_fork() -> int:
        raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", cannot_fork)
    results = parallel.run([partial(_square, n) for n in range(4)], processes=2)
    assert results == [(n * n, os.getpid()) for n in range(4)]


def _dies_in_a_worker(parent: int) -> int:
    if os.getpid() != parent:
        os._exit(1)  # killed (out of memory, say)
    return 7


def test_runs_here_when_a_worker_dies() -> None:
    tasks = [partial(_dies_in_a_worker, os.getpid()) for _ in range(3)]
    assert parallel.run(tasks, processes=2) == [7, 7, 7]


def test_processes_by_cores_and_platform(monkeypatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})
    assert parallel.cores() == 4
    assert parallel.processes_for(13) == 4
    assert parallel.processes_for(3) == 3
    assert parallel.processes_for(200, per_process=100) == 2  # at least 100 pieces each
    assert parallel.processes_for(50, per_process=100) == 1
    monkeypatch.setattr(sys, "platform", "darwin")  # no fork: everything runs here
    assert parallel.cores() == 1 and parallel.processes_for(13) == 1


def test_runs_here_while_other_threads_run() -> None:
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)  # as in a Jupyter kernel
    thread.start()
    try:
        results = parallel.run([partial(_square, n) for n in range(4)], processes=2)
    finally:
        stop.set()
        thread.join()
    assert {pid for _, pid in results} == {os.getpid()}


def _wait_for(path: str) -> bool:
    """Whether ``path`` appears within 30 s (made by the parent after start returned)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        time.sleep(0.01)
    return False


def test_start_returns_while_the_workers_run(tmp_path) -> None:
    signal = tmp_path / "go"
    tasks = [partial(_wait_for, str(signal)), partial(_square, 3)]
    with parallel.start(tasks, processes=2) as batch:
        signal.touch()  # reached only if start did not wait for the first task
        ((value, pid),) = batch.wait([1])
        assert value == 9 and pid != os.getpid()
        assert batch.wait() == [True, (9, pid)]
    assert batch.wait([0]) == [True]  # kept after the block


def test_a_batch_waits_for_some_tasks_then_the_rest() -> None:
    tasks = [partial(_square, n) for n in range(6)]
    with parallel.start(tasks, processes=2) as batch:
        assert [value for value, _ in batch.wait([4, 1])] == [16, 1]
        assert [value for value, _ in batch.wait()] == [n * n for n in range(6)]


def test_a_batch_started_while_another_runs_forks_its_own_workers(tmp_path) -> None:
    signal = tmp_path / "go"
    with parallel.start([partial(_wait_for, str(signal)), partial(_square, 1)], 2) as outer:
        inner = parallel.run([partial(_square, n) for n in range(4)], processes=2)
        signal.touch()
        assert outer.wait()[0] is True
    assert [value for value, _ in inner] == [0, 1, 4, 9]
    assert os.getpid() not in {pid for _, pid in inner}  # no thread kept it from forking


def _unsendable() -> tuple[int, object]:
    import threading

    return os.getpid(), threading.Lock()  # a lock cannot be pickled


class _TwoArgumentError(Exception):
    def __init__(self, key: str, detail: str):
        super().__init__(f"{key}: {detail}")  # pickles, but cannot be unpickled


def _raises_unreadable() -> None:
    raise _TwoArgumentError("k1", "boom")


def test_what_cannot_be_sent_back_is_done_here() -> None:
    (pid, lock), (value, worker) = parallel.run([_unsendable, partial(_square, 2)], 2)
    assert pid == os.getpid() and hasattr(lock, "acquire")  # run again here
    assert value == 4 and worker != os.getpid()
    with pytest.raises(_TwoArgumentError, match="k1: boom"):
        parallel.run([_raises_unreadable, partial(_square, 2)], 2)


def _sleeps() -> None:
    import time

    time.sleep(60)


def test_leaving_a_batch_stops_its_workers() -> None:
    import multiprocessing
    import time

    started = time.monotonic()
    with parallel.start([_sleeps, _sleeps], processes=2):
        assert len(multiprocessing.active_children()) == 2
    assert multiprocessing.active_children() == []
    assert time.monotonic() - started < 30  # stopped, not waited for (each sleeps a minute)


def _nested(pids: str, deaf: bool = False) -> None:
    """In a worker: a batch of its own, whose workers write their pids, then sleep."""
    with parallel.start([partial(_note_and_sleep, pids, deaf)] * 2, processes=2) as batch:
        batch.wait()


def _note_and_sleep(pids: str, deaf: bool = False) -> str:
    """Write this process's pid, then sleep; ``deaf``: catch whatever ends the sleep, as
    citeproc-py's ``Delimited.join`` does (``except:``), then send back more than a pipe holds
    (256 KiB), so that the sending waits until the parent reads, or fails."""
    import time

    with open(pids, "a", encoding="utf-8") as f:
        f.write(f"{os.getpid()}\n")
    if deaf:
        with contextlib.suppress(BaseException):
            time.sleep(60)
    else:
        time.sleep(60)
    return "x" * 2**18


def _lines(path) -> list[str]:
    return path.read_text(encoding="utf-8").split() if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().split()[2] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("deaf", [False, True], ids=["unwinding", "catching-the-exit"])
def test_a_stopped_worker_stops_the_workers_it_started(tmp_path, deaf) -> None:
    import time

    pids = tmp_path / "pids.txt"
    with parallel.start([partial(_nested, str(pids), deaf), partial(_square, 1)], processes=2):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_lines(pids)) < 2:
            time.sleep(0.02)
        inner = [int(pid) for pid in _lines(pids)]
        assert len(inner) == 2 and all(_alive(pid) for pid in inner)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in inner):
        time.sleep(0.02)
    assert not any(_alive(pid) for pid in inner)  # none left running, orphaned


def _nested_unless_here(pids: str, here: int, deaf: bool = False) -> str:
    """:func:`_nested` in a worker; done at once where the parent runs it itself."""
    if os.getpid() == here:
        return "done here"
    _nested(pids, deaf)
    return "done in a worker"


@pytest.mark.parametrize("deaf", [False, True], ids=["unwinding", "catching-the-exit"])
def test_a_worker_killed_outright_takes_its_workers_with_it(tmp_path, deaf) -> None:
    import multiprocessing
    import signal
    import time

    pids = tmp_path / "pids.txt"
    task = partial(_nested_unless_here, str(pids), os.getpid(), deaf)
    with parallel.start([task], processes=1) as batch:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_lines(pids)) < 2:
            time.sleep(0.02)
        inner = [int(pid) for pid in _lines(pids)]
        assert len(inner) == 2 and all(_alive(pid) for pid in inner)
        [worker] = multiprocessing.active_children()
        os.kill(worker.pid, signal.SIGKILL)  # no handler runs: out of memory, say
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in inner):
            time.sleep(0.02)
        # its workers end with it: they held its pipe open, and this wait never returned
        assert not any(_alive(pid) for pid in inner)
        assert batch.wait() == ["done here"]


def _echo(n: int) -> str:
    return f"{n:0200d}"  # 200 bytes back per task


def test_many_tasks_with_results_are_all_collected() -> None:
    # more tasks and results than fit a pipe's buffer (64 KiB) before any result is read
    tasks = [partial(_echo, n) for n in range(8000)]
    results = parallel.run(tasks, processes=2)
    assert results == [f"{n:0200d}" for n in range(8000)]
