"""Independent pieces of work shared out among forked processes, one per core.

What a build spends most of its time on is pure Python or single-threaded C: citeproc-py
formatting references (a few milliseconds an entry), XlsxWriter writing the workbook, and
matplotlib rendering text (most of a chart's second). :func:`run` gives such pieces to worker
processes *forked* from this one, so a worker starts with everything the parent has loaded (the
evidence base, the parsed style, the analyses' results) and nothing is pickled on the way in;
only each piece's result comes back. Where the platform cannot fork (Windows; macOS, where
forking a process that has loaded system frameworks is unsafe), where there is one core, or
where this process runs other threads (a Jupyter kernel: a forked child could wait forever on a
lock one of them held), the pieces run here, one after another. Either way the results are the
same, in the order of the pieces.

:func:`start` hands pieces to workers and returns at once, so that this process goes on with
other work (a build draws the figures of the base alone while its analyses run) and waits for
them when it needs them. The workers are plain forked processes that take the pieces in turn (a
counter in shared memory) and each send their results back through a pipe of their own: no
thread runs in this process, so a batch started here may itself start another (the references'
workers are forked while the figures' worker draws). Each worker closes the pipe ends it
inherits but does not use, and this process watches each worker's end (a pidfd) apart from its
pipe: a worker that dies, even killed outright, is noticed at once, not waited for forever. A
worker that is stopped stops the workers it started, and the kernel stops them too if it is
killed outright.

>>> run([lambda: 1 + 1, lambda: 2 + 2], processes=1)
[2, 4]
>>> with start([lambda: 1 + 1, lambda: 2 + 2], processes=1) as batch:
...     batch.wait([1])
[4]
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Generic, TypeVar

__all__ = ["Batch", "cores", "processes_for", "run", "start"]

T = TypeVar("T")


def cores() -> int:
    """Cores this process may run on; ``1`` where the platform cannot fork."""
    if not sys.platform.startswith("linux"):
        return 1
    return len(os.sched_getaffinity(0))


def processes_for(pieces: int, per_process: int = 1) -> int:
    """How many processes to share ``pieces`` among: one per core, each given at least
    ``per_process`` pieces (forking costs tens of milliseconds)."""
    return max(1, min(cores(), pieces // max(per_process, 1)))


def run(tasks: Sequence[Callable[[], T]], processes: int) -> list[T]:
    """The result of each of ``tasks`` (functions of no argument), in order.

    With ``processes`` > 1 (and no other thread running) they run in that many forked workers;
    an exception raised by a task is raised here, as it was raised there (it must pickle: the
    project's errors do). If no worker can be forked (``EAGAIN``, out of memory) or one dies,
    every task not yet done runs here instead.
    """
    with start(tasks, processes if processes > 1 and len(tasks) > 1 else 0) as batch:
        return batch.wait()


def start(tasks: Sequence[Callable[[], T]], processes: int) -> Batch[T]:
    """``tasks`` handed to ``processes`` forked workers, in the order given, while this process
    goes on; :meth:`Batch.wait` gives their results. Where no worker is forked (``processes``
    < 1, a platform that cannot fork or one core, other threads running, or forking fails)
    they run here, each when it is first waited for. Use it in a ``with`` block: leaving it
    stops the workers still running (the tasks not waited for may not be done)."""
    return Batch(tasks, processes)


class Batch(Generic[T]):
    """Tasks being run by forked workers (see :func:`start`)."""

    def __init__(self, tasks: Sequence[Callable[[], T]], processes: int):
        self._tasks = tasks
        self._outcomes: dict[int, object] = {}
        self._workers: list[Any] = []  # multiprocessing.Process, each forked worker
        self._live: dict[int, Any] = {}  # the workers not seen to end, by what tells it
        self._pidfds: list[int] = []  # of those, the descriptors this batch opened
        self._pipes: dict[int, Any] = {}  # the read end of each worker's pipe, by its fileno
        self._taken: Any = None  # the workers' shared counter of tasks taken
        processes = min(processes, len(tasks))
        if processes >= 1 and cores() > 1 and threading.active_count() == 1:
            try:
                self._fork(processes)
            except OSError:  # no worker could be forked (EAGAIN, out of memory)
                self.close()
            except BaseException:  # interrupted: the workers already forked are stopped
                self.close()
                raise

    def _fork(self, processes: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        # the index of the next task to take: a counter in shared memory (a queue of indices
        # would fill its pipe, and wait, before the first result was read), kept here until
        # the workers have ended (freed, its memory would be the next batch's counter)
        self._taken = taken = context.Value("q", 0)
        for _ in range(processes):
            # each worker alone holds the write end of its pipe: closed when it ends, so that
            # this process reads the end of the pipe (not a hang) if the worker dies; and it
            # closes the read ends it inherits (its own, its elder siblings'), so that if this
            # process dies, its sending fails at once instead of waiting for ever for a reader
            reader, writer = context.Pipe(duplex=False)
            readers = (reader, *self._pipes.values())
            worker = context.Process(
                target=_work,
                args=(self._tasks, taken, writer, os.getpid(), readers),
                daemon=False,
            )
            try:
                worker.start()
            finally:
                writer.close()
            self._workers.append(worker)
            self._live[self._ending(worker)] = worker
            self._pipes[reader.fileno()] = reader

    def _ending(self, worker: Any) -> int:
        """What becomes readable when ``worker`` ends: a descriptor of the process itself
        (Linux 5.3) where the system gives one, else its sentinel, which is a pipe that the
        workers it forks inherit (if it were killed outright, they would keep it open)."""
        try:
            pidfd = os.pidfd_open(worker.pid)
        except (AttributeError, OSError):
            return int(worker.sentinel)
        self._pidfds.append(pidfd)
        return pidfd

    def wait(self, indices: Sequence[int] | None = None) -> list[T]:
        """The results of the tasks at ``indices`` (default: all), in that order, once they
        are done. The first of them that raised raises here. If a worker dies, the others are
        stopped and every task not yet done runs here."""
        from multiprocessing.connection import wait

        wanted = range(len(self._tasks)) if indices is None else indices
        while self._pipes and any(i not in self._outcomes for i in wanted):
            readies: list[Any] = wait([*self._pipes.values(), *self._live])
            for ready in readies:
                if isinstance(ready, int):  # a worker has ended
                    worker = self._live.pop(ready)
                    worker.join()
                    if worker.exitcode != 0:  # it died (out of memory, killed)
                        self.close()
                        break
                    continue
                try:
                    index, payload = ready.recv()
                except (EOFError, OSError):  # the worker has ended: all it did has been read
                    del self._pipes[ready.fileno()]
                    ready.close()
                    continue
                with contextlib.suppress(Exception):  # if it cannot be read, it is made here
                    self._outcomes[index] = pickle.loads(payload)
        for index in wanted:
            if index not in self._outcomes:
                try:
                    self._outcomes[index] = self._tasks[index]()
                except Exception as exc:
                    self._outcomes[index] = _Raised(exc)
        results = [self._outcomes[index] for index in wanted]
        for outcome in results:
            if isinstance(outcome, _Raised):
                raise outcome.error
        return results  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the workers still running (what they were doing is lost) and wait for them to
        end."""
        for worker in self._workers:
            if worker.is_alive():
                worker.terminate()
        for worker in self._workers:
            worker.join()
        for reader in self._pipes.values():
            reader.close()
        for pidfd in self._pidfds:
            os.close(pidfd)
        self._workers, self._live, self._pipes, self._taken = [], {}, {}, None
        self._pidfds = []

    def __enter__(self) -> Batch[T]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Raised:
    """What a task raised in a worker, sent back to be raised in the parent."""

    def __init__(self, error: Exception):
        self.error = error


def _work(
    tasks: Sequence[Callable[[], object]],
    taken: Any,
    pipe: Any,
    parent: int,
    readers: Sequence[Any],
) -> None:
    """In a worker: take the next task until none is left, sending back each outcome through
    ``pipe``, having closed the pipe ends it inherited but does not use (``readers``, and the
    pipe to its own parent's parent if its parent is a worker too)."""
    global _PIPE, _STOPPING
    _STOPPING = False  # (its parent may be stopping)
    signal.signal(signal.SIGTERM, _stop)  # stopped: batches it started stop their workers too
    _stop_with(parent)
    for end in (*readers, _PIPE):
        if end is not None:
            end.close()
    _PIPE = pipe
    try:
        while not _STOPPING:
            with taken.get_lock():
                index = taken.value
                taken.value += 1
            if index >= len(tasks):
                break
            try:
                outcome: object = tasks[index]()
            except Exception as exc:  # raised again in the parent (see Batch.wait)
                outcome = _Raised(exc)
            if _STOPPING:  # what stopped it was caught on the way (see _stop)
                break
            try:
                payload = pickle.dumps(outcome)
            except Exception:  # an outcome that cannot be sent: the parent runs the task
                payload = b""
            pipe.send((index, payload))
    except BaseException:  # stopped, interrupted (^C reaches the parent too), or orphaned
        os._exit(1)
    if _STOPPING:
        os._exit(1)


#: In a worker, the write end of the pipe to its parent (inherited by the workers it forks,
#: which close it: if it died, its parent must read the end of the pipe).
_PIPE: Any = None

#: Whether this worker has been told to stop.
_STOPPING = False


def _stop(signum: int, frame: object) -> None:
    """A worker's SIGTERM handler: unwind (a batch it started stops its workers on the way),
    and, should the exit be caught on the way (a bare ``except:``, as citeproc-py's
    ``Delimited.join`` has; :data:`evidence.csllookup.SAFER`), end after the task under way."""
    global _STOPPING
    _STOPPING = True
    raise SystemExit(1)


#: prctl(2)'s option to be sent a signal when the parent ends (linux/prctl.h).
_PR_SET_PDEATHSIG = 1


def _stop_with(parent: int) -> None:
    """Have this worker stopped (SIGTERM) when ``parent``, the process that forked it, ends.

    A worker that starts a batch of its own (the build's references) and is killed outright
    (SIGKILL, the out-of-memory killer) runs no handler to stop its workers: they would go on
    with work nobody will read (their sending fails, since none holds their pipe's read end
    but the dead worker). Linux only (elsewhere nothing forks)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)  # if refused, the pipes still tell
    except (OSError, AttributeError):  # no prctl here
        pass
    if os.getppid() != parent:  # it ended before the request was made
        os._exit(1)
