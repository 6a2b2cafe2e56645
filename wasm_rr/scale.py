"""Many guest runs on several workers: in this process, in local worker processes, or on a
Dask distributed cluster (the ``cluster`` extra, imported only when asked for).

A job is a top-level function (so that it pickles) applied to tasks; results come back as they
complete. Jobs that run a guest get it with :func:`program`, which keeps one compiled
:class:`~wasm_rr.api.Program` per guest per worker process.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol, TypeVar

from .api import Program
from .errors import UsageError

T = TypeVar("T")
R = TypeVar("R")


class Workers(Protocol):
    size: int
    """How many tasks run at once."""

    def map(self, job: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        """``job(task)`` for every task, results in the order they complete. Tasks are taken
        from ``tasks`` only as workers free up, so it may be endless."""
        ...

    def close(self) -> None: ...


class InProcess:
    """Tasks run one after another in this process (no pool, no pickling)."""

    size = 1

    def map(self, job: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        return (job(task) for task in tasks)

    def close(self) -> None:
        pass


class LocalProcesses:
    """``jobs`` worker processes on this machine (started fresh: ``spawn``, so no wasmtime
    state is inherited).

    A Ctrl-C is this process's to handle. Workers are started with SIGINT held and then only
    stop their runs on it (:func:`~wasm_rr.abi.interrupt.in_worker`: the terminal's Ctrl-C
    reaches them too); closing the pool while a ``KeyboardInterrupt`` is being handled sets a
    flag they share and sends each a SIGINT, so that the runs they are in stop at once (a hang
    too, a worker still starting at its first run), and does not wait for them."""

    def __init__(self, jobs: int) -> None:
        self.size = jobs
        context = multiprocessing.get_context("spawn")
        self._pids = context.Array("q", jobs)
        self._stop = context.RawValue("b", 0)
        self._pool = concurrent.futures.ProcessPoolExecutor(
            jobs,
            mp_context=context,
            initializer=_worker_start,
            initargs=(self._pids, self._stop),
        )

    def map(self, job: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        return _windowed(self._submit(job), tasks, 2 * self.size)

    def _submit(self, job: Callable[[T], R]) -> Callable[[T], Any]:
        pool = self._pool

        def submit(task: T) -> Any:
            # Workers are spawned by a submit: with SIGINT held, which they inherit, so that a
            # Ctrl-C before their start-up is done waits for their own handler.
            held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                return pool.submit(job, task)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, held)

        return submit

    def close(self) -> None:
        """Wait for the tasks running; after a Ctrl-C (closing while a ``KeyboardInterrupt``
        is being handled), stop them and do not wait."""
        if isinstance(sys.exc_info()[1], KeyboardInterrupt):
            self._stop.value = 1  # seen at every tick of a run, and before every run
            with self._pids.get_lock():
                pids = [pid for pid in self._pids[:] if pid]
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGINT)
            self._pool.shutdown(wait=False, cancel_futures=True)
            return
        self._pool.shutdown(wait=True, cancel_futures=True)


def _worker_start(pids: Any, stop: Any) -> None:
    """The first thing a local worker process runs: say who it is, and stop its runs when told
    to (``stop``, a SIGINT)."""
    from .abi.interrupt import in_worker

    in_worker(stop)
    with pids.get_lock():
        for slot, pid in enumerate(pids):
            if not pid:
                pids[slot] = os.getpid()
                break


CONNECT_TIMEOUT = 5
"""Seconds to wait for a Dask scheduler to answer."""


def _probe(address: str) -> None:
    """Fail fast on a scheduler address that cannot work: not ``[tcp://]HOST:PORT`` (or
    another Dask scheme), or a TCP port nobody listens on (refused at once, where Dask would
    retry until its timeout)."""
    scheme, sep, rest = address.rpartition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rpartition(":")
    if not colon or not port.isdigit() or not host:
        raise UsageError(
            f"--cluster {address!r}: expected a scheduler address like tcp://HOST:8786"
        )
    if scheme != "tcp":
        return
    import socket

    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        reason = exc.strerror or str(exc) or type(exc).__name__
        raise UsageError(
            f"cannot reach the Dask scheduler at {address}: {reason}; start one with "
            "`dask scheduler` (see docs/hunting.md)"
        ) from None


class DaskCluster:
    """The workers of a Dask distributed cluster (``tcp://scheduler:8786``), or an existing
    ``distributed.Client``."""

    def __init__(self, address: Any) -> None:
        try:
            import distributed
        except ImportError:
            raise UsageError(
                "--cluster needs Dask distributed: pip install 'wasm-rr[cluster]'"
            ) from None
        if isinstance(address, distributed.Client):
            self._client, self._own = address, False
        else:
            _probe(str(address))
            try:
                client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
            self._client, self._own = client, True
        self.size = max(1, sum(self._client.nthreads().values()))

    def map(self, job: Callable[[T], R], tasks: Iterable[T]) -> Iterator[R]:
        client = self._client
        return _windowed(lambda task: client.submit(job, task, pure=False), tasks, 2 * self.size)

    def close(self) -> None:
        if self._own:
            self._client.close()


def workers(jobs: int = 1, cluster: Any = None) -> Workers:
    """The workers for ``--jobs N`` / ``--cluster ADDRESS``: a cluster when one is named, else
    ``jobs`` local processes, else this process alone."""
    if cluster is not None:
        return DaskCluster(cluster)
    if jobs > 1:
        return LocalProcesses(jobs)
    return InProcess()


def _windowed(submit: Callable[[T], Any], tasks: Iterable[T], window: int) -> Iterator[Any]:
    """Submit tasks keeping ``window`` in flight; yield each result as its future completes."""
    pending: collections.deque[Any] = collections.deque()
    source = iter(tasks)
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < window:
                try:
                    pending.append(submit(next(source)))
                except StopIteration:
                    exhausted = True
            if not pending:
                return
            done = next(_first_done(pending))
            pending.remove(done)
            yield done.result()
    finally:
        for future in pending:
            future.cancel()


def _first_done(futures: collections.deque[Any]) -> Iterator[Any]:
    """The first of ``futures`` to complete (concurrent.futures or Dask futures)."""
    first = futures[0]
    if isinstance(first, concurrent.futures.Future):
        done, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        yield next(iter(done))
        return
    import distributed

    yield next(iter(distributed.as_completed(list(futures))))


_PROGRAMS: dict[str, Program] = {}


def program(wasm: bytes, name: str) -> Program:
    """The compiled program for these guest bytes in this worker process (compiled on first
    use, then reused by every task)."""
    import blake3

    key = blake3.blake3(wasm).hexdigest()
    found = _PROGRAMS.get(key)
    if found is None:
        if len(_PROGRAMS) >= 8:
            _PROGRAMS.clear()
        found = _PROGRAMS[key] = Program(wasm, name)
    return found


def adopt(prog: Program) -> None:
    """Let :func:`program` answer ``prog`` for its bytes in this process (a program the caller
    compiled already is not compiled again for in-process runs)."""
    import blake3

    key = blake3.blake3(prog.guest.wasm).hexdigest()
    if key not in _PROGRAMS and len(_PROGRAMS) >= 8:
        _PROGRAMS.clear()
    _PROGRAMS[key] = prog


__all__ = [
    "CONNECT_TIMEOUT",
    "DaskCluster",
    "InProcess",
    "LocalProcesses",
    "Workers",
    "adopt",
    "program",
    "workers",
]
