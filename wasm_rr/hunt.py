"""Hunting a flaky failure: record run after run until one fails, and keep its trace.

::

    from wasm_rr.hunt import hunt

    report = hunt("guests/build/flaky.wasm", runs=2000, seed=0)
    if report.found:
        open("fail.cbor", "wb").write(report.first.trace)   # replays alone: the guest is in it

Every run is recorded in memory (nothing is written until a run fails) against fresh clocks and
random bytes: the host's, or with ``seed`` the reproducible :func:`~wasm_rr.api.seeded_sources`
of ``seed + i`` for run ``i``. A run *fails* when the ``until`` predicate holds
(:mod:`wasm_rr.predicate`; the default ``fail`` is a trap or a non-zero exit); a run that
exceeds ``timeout`` is a failure of its own, a *hang*, kept with its trace (which replays up to
where the run was stopped). Without ``keep_all`` the hunt stops at the first failure; with it,
it runs to the budget and keeps one trace per distinct failure
(:func:`~wasm_rr.crashes.crash_site`), with how often each happened. A Ctrl-C ends the hunt
with what it found so far (``stopped == "interrupted"``).

Runs are sent to the workers (:mod:`wasm_rr.scale`: this process, ``jobs`` local processes, or
a Dask cluster) in batches of up to :data:`MAX_BATCH` runs, sized to take about
:data:`BATCH_SECONDS` each; a batch carries the guest's bytes and the ``until`` text, and comes
back with its run count and the failing runs' traces as bytes.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import predicate, scale
from .abi.interrupt import EXIT_TIMEOUT, GuestTimeout, Watchdog
from .api import GuestSpec, Program, seeded_sources
from .config import DirSpec, RunConfig
from .crashes import CrashSite, crash_site, hang_site
from .errors import UsageError, WasmRRError
from .trace.schema import Outcome
from .world import HOST

__all__ = ["DEFAULT_RUNS", "Failure", "HuntReport", "Progress", "hunt"]

DEFAULT_RUNS = 10_000
"""The run budget when neither ``runs`` nor ``seconds`` is given."""

MAX_BATCH = 256
"""The most runs one task carries."""

FIRST_BATCH = 16
"""The size of the first batches, before a run's cost is known."""

BATCH_SECONDS = 0.25
"""What a batch should take: short enough for a live progress line and a prompt stop, long
enough that shipping the guest and the results costs little next to the runs."""

Progress = Callable[[int, int, float], None]
"""Called after every batch with the runs done, the failing runs so far and the seconds
elapsed."""


@dataclass(frozen=True)
class Failure:
    """One distinct failure: the first run (lowest run index) that failed this way."""

    site: CrashSite
    run: int
    """The run's index in the hunt (0 first)."""
    seed: int | None
    """The seed its sources came from (``seed + run``), or ``None`` for the host's."""
    count: int
    """How many runs of the hunt failed this way."""
    outcome: Outcome | None
    """How the run ended; None for a hang (it ran longer than the hunt's ``timeout``)."""
    stdout: bytes
    stderr: bytes
    trace: bytes = field(repr=False)
    """The run's trace (self-contained unless the hunt was told not to embed the guest)."""

    @property
    def status(self) -> int:
        """The exit status the command line gives this run (134 for a trap, 124 for a hang)."""
        if self.outcome is None:
            return EXIT_TIMEOUT
        if self.outcome.trap is not None:
            return 134
        return (self.outcome.exit_code or 0) & 0xFF


@dataclass(frozen=True)
class HuntReport:
    """What a hunt did: its runs, how long they took and the distinct failures found (in the
    order of their first runs)."""

    runs: int
    seconds: float
    failures: tuple[Failure, ...]
    workers: int
    stopped: str
    """Why the hunt stopped: ``found`` (the first failure), ``runs`` or ``time`` (the
    budget ran out), or ``interrupted`` (Ctrl-C: the failures are those found before it)."""

    @property
    def found(self) -> bool:
        return bool(self.failures)

    @property
    def first(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    @property
    def failed_runs(self) -> int:
        return sum(f.count for f in self.failures)

    @property
    def rate(self) -> float:
        """Runs per second, over the whole hunt."""
        return self.runs / self.seconds if self.seconds > 0 else 0.0


# ---- what travels to the workers -------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """``count`` runs from run index ``start``: everything a worker needs, picklable."""

    wasm: bytes = field(repr=False)
    name: str
    config: RunConfig
    until: str | None
    start: int
    count: int
    seed: int | None
    keep_all: bool
    embed_guest: bool
    stdin: bytes | None
    timeout: float | None
    seconds: float | None
    """Stop early after this long (what is left of the hunt's time budget)."""


@dataclass(frozen=True)
class _Found:
    run: int
    site: CrashSite
    count: int
    outcome: Outcome | None
    stdout: bytes
    stderr: bytes
    trace: bytes = field(repr=False)


@dataclass(frozen=True)
class _Done:
    start: int
    runs: int
    found: tuple[_Found, ...]
    seconds: float
    error: str | None = None
    """A run's error (a :class:`~wasm_rr.errors.WasmRRError`'s message)."""
    interrupted: bool = False
    """A Ctrl-C stopped the batch (in this process) after ``runs`` runs."""


@functools.lru_cache(maxsize=16)
def _predicate(text: str | None) -> predicate.Predicate:
    return predicate.parse(text)


def _run_batch(batch: _Batch) -> _Done:
    """Run one batch (in a worker): record each run in memory and keep the failing ones (the
    first of each site with ``keep_all``, else the first and stop). A hang is a failure whose
    trace ends where the run was stopped."""
    prog = scale.program(batch.wasm, batch.name)
    until = _predicate(batch.until)
    view = predicate.RunView
    found: dict[str, _Found] = {}
    t0 = time.monotonic()
    runs = 0

    def keep(
        i: int, site: CrashSite, outcome: Outcome | None, trace: bytes, out: bytes, err: bytes
    ) -> None:
        seen = found.get(site.id)
        if seen is not None:
            found[site.id] = replace(seen, count=seen.count + 1)
        else:
            found[site.id] = _Found(i, site, 1, outcome, out, err, trace)

    for i in range(batch.start, batch.start + batch.count):
        if batch.seconds is not None and runs and time.monotonic() - t0 >= batch.seconds:
            break
        sources = HOST if batch.seed is None else seeded_sources(batch.seed + i)
        out, err = io.BytesIO(), io.BytesIO()
        try:
            r = prog.record(
                config=batch.config,
                stdin=batch.stdin,
                sources=sources,
                timeout=batch.timeout,
                embed_guest=batch.embed_guest,
                stdout=out,
                stderr=err,
            )
        except GuestTimeout as hang:
            runs += 1
            assert batch.timeout is not None and hang.trace is not None
            keep(i, hang_site(batch.timeout), None, hang.trace, out.getvalue(), err.getvalue())
            if not batch.keep_all:
                break
            continue
        except KeyboardInterrupt:  # in this process (workers ignore SIGINT): keep what it found
            return _Done(batch.start, runs, tuple(found.values()), 0.0, interrupted=True)
        except WasmRRError as exc:  # sent back as text: a worker's traceback may not pickle
            return _Done(batch.start, runs, tuple(found.values()), 0.0, str(exc))
        runs += 1
        if not until(view(r.outcome, out.getvalue(), err.getvalue())):
            continue
        assert r.trace is not None
        keep(i, crash_site(r.outcome), r.outcome, r.trace, out.getvalue(), err.getvalue())
        if not batch.keep_all:
            break
    return _Done(batch.start, runs, tuple(found.values()), time.monotonic() - t0)


# ---- the hunt --------------------------------------------------------------------------------


def hunt(
    guest: GuestSpec | Program,
    args: Sequence[str] = (),
    *,
    until: str | None = None,
    runs: int | None = None,
    seconds: float | None = None,
    jobs: int = 1,
    cluster: Any = None,
    keep_all: bool = False,
    seed: int | None = None,
    env: Mapping[str, str] | None = None,
    dirs: Sequence[DirSpec | str] = (),
    families: Mapping[str, object] | None = None,
    config: RunConfig | None = None,
    stdin: bytes | None = None,
    timeout: float | None = None,
    embed_guest: bool = True,
    progress: Progress | None = None,
) -> HuntReport:
    """Record runs of ``guest`` until one fails (``until``, default ``fail``), or with
    ``keep_all`` until the budget runs out, keeping one trace per distinct failure.

    The budget is ``runs`` runs and/or ``seconds`` seconds (neither: :data:`DEFAULT_RUNS`
    runs). ``jobs`` local worker processes, or the Dask cluster ``cluster`` (an address or a
    ``distributed.Client``), share the runs. ``seed`` makes the hunt reproducible (run ``i``
    sees :func:`~wasm_rr.api.seeded_sources` of ``seed + i``). ``config`` replaces ``args``,
    ``env``, ``dirs`` and ``families``; ``stdin`` is given to every run; ``timeout`` limits
    each run (a run that exceeds it is a failure of its own, a hang: site ``timeout``, outcome
    None). A Ctrl-C (``KeyboardInterrupt``) ends the hunt at once: the report holds what was
    found before it, ``stopped == "interrupted"`` (runs still going in worker processes are
    abandoned)."""
    _predicate(until)  # a bad expression fails here, before any worker starts
    if runs is not None and runs < 1:
        raise UsageError(f"--runs {runs}: expected at least 1 run")
    if seconds is not None and seconds <= 0:
        raise UsageError(f"--time {seconds}: expected a positive number of seconds")
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: expected at least 1")
    if runs is None and seconds is None:
        runs = DEFAULT_RUNS
    prog = guest if isinstance(guest, Program) else Program(guest)
    cfg = config or prog.config(args, env, dirs, families)
    scale.adopt(prog)  # in this process, runs reuse the compiled program
    state = _State(time.monotonic())
    try:
        with Watchdog():  # a Ctrl-C swallowed between two runs still ends the hunt
            pool = scale.workers(jobs, cluster)
            state.workers = pool.size
            try:
                _hunt(
                    state, pool, prog, cfg, until, runs, seconds, keep_all, seed, stdin,
                    timeout, embed_guest, progress,
                )  # fmt: skip
            finally:
                pool.close()  # after a Ctrl-C: without waiting for the runs going on
    except KeyboardInterrupt:
        state.stopped = "interrupted"
    ordered = tuple(sorted(state.failures.values(), key=lambda f: f.run))
    return HuntReport(
        state.runs, time.monotonic() - state.t0, ordered, state.workers, state.stopped
    )


@dataclass
class _State:
    """What the hunt found so far (kept when a Ctrl-C ends it)."""

    t0: float
    runs: int = 0
    failures: dict[str, Failure] = field(default_factory=dict)
    workers: int = 1
    stopped: str = "runs"


def _hunt(
    state: _State,
    pool: scale.Workers,
    prog: Program,
    cfg: RunConfig,
    until: str | None,
    runs: int | None,
    seconds: float | None,
    keep_all: bool,
    seed: int | None,
    stdin: bytes | None,
    timeout: float | None,
    embed_guest: bool,
    progress: Progress | None,
) -> None:
    t0 = state.t0
    deadline = None if seconds is None else t0 + seconds
    failures = state.failures

    def batches() -> Iterator[_Batch]:
        for start, count in _sizes(runs, lambda: _batch_size(state.runs, t0, pool.size)):
            left = None
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
            yield _Batch(
                prog.guest.wasm, prog.guest.name, cfg, until, start, count, seed, keep_all,
                embed_guest, stdin, timeout, left,
            )  # fmt: skip

    for result in pool.map(_run_batch, batches()):
        if result.error is not None:
            raise UsageError(result.error)
        state.runs += result.runs
        for f in result.found:
            _merge(failures, f, seed)
        if result.interrupted:
            raise KeyboardInterrupt
        if progress is not None:
            progress(state.runs, sum(f.count for f in failures.values()), time.monotonic() - t0)
        if failures and not keep_all:
            break
    if failures and not keep_all:
        state.stopped = "found"
    elif runs is not None and state.runs >= runs:
        state.stopped = "runs"
    else:
        state.stopped = "time"


def _sizes(runs: int | None, size: Callable[[], int]) -> Iterator[tuple[int, int]]:
    """``(start, count)`` of each batch, asking ``size()`` for each (endless without
    ``runs``)."""
    start = 0
    while runs is None or start < runs:
        count = size() if runs is None else min(size(), runs - start)
        yield start, count
        start += count


def _batch_size(done: int, t0: float, workers: int) -> int:
    """Runs per batch: :data:`FIRST_BATCH` until some runs came back, then what one worker
    runs in about :data:`BATCH_SECONDS`."""
    elapsed = time.monotonic() - t0
    if done == 0 or elapsed <= 0:
        return FIRST_BATCH
    per_worker = done / elapsed / max(1, workers)
    return max(1, min(MAX_BATCH, int(per_worker * BATCH_SECONDS)))


def _merge(failures: dict[str, Failure], f: _Found, seed: int | None) -> None:
    """Count ``f`` in, keeping the trace of the lowest run index for each site."""
    seen = failures.get(f.site.id)
    if seen is not None and seen.run < f.run:
        failures[f.site.id] = replace(seen, count=seen.count + f.count)
        return
    count = f.count + (seen.count if seen is not None else 0)
    run_seed = None if seed is None else seed + f.run
    failures[f.site.id] = Failure(
        f.site, f.run, run_seed, count, f.outcome, f.stdout, f.stderr, f.trace
    )
