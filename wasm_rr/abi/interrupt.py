"""Stopping a guest from outside: Ctrl-C and ``--timeout``, even in a guest spinning in pure wasm.

Engines run with epoch interruption. While a :class:`Watchdog` is active, every store gets an
epoch deadline one tick ahead and a deadline callback, and a native timer ticks the engine's
epoch every :data:`TICK` seconds (``_wasmtime.EpochTicker``: the guest holds the GIL, so no
Python thread could). At each tick the guest calls the deadline callback: Python runs on the
main thread there, so a pending SIGINT or SIGALRM handler runs, and the callback traps the guest
when the watchdog has a reason to stop it. A guest blocked in a host call (a sleep, a read) is
stopped by the signal handler raising in that call. Either way the run ends by raising the
reason (``KeyboardInterrupt``, or :class:`GuestTimeout`) once the call into wasm has returned.

A signal is never lost. Where the handler must not raise (at the first instruction of a
function ctypes calls from wasm, inside a ``__del__``, while the watchdog is being closed), or
where what it raised was swallowed (by code that turned it into an answer), the reason stays
noted: the next tick stops the guest, and the watchdog raises it when its ``with`` block ends,
even after a run that ended normally. Watchdogs nest: a command, or a loop of runs (``hunt``),
keeps one open around its runs, each run opens its own, and a Ctrl-C noted by any of them is
noted by those around it too; a run does not start while one around it holds a Ctrl-C.

In a worker process of a pool (:func:`in_worker`), a SIGINT or the pool owner's shared flag
stops the run going on, or the next one, and is never raised between runs.

Epoch checks are not instructions: they consume no fuel, so recorded instruction counts are the
same with or without them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

import wasmtime

from ..errors import WasmRRError
from ._wasmtime import (
    DEADLINE_CALLBACK,
    EpochTicker,
    call_component,
    call_start,
    new_error,
    on_epoch_deadline,
)

TICK = 0.05
"""Seconds between epoch ticks: how long a spinning guest may take to notice a stop."""

EXIT_TIMEOUT = 124
"""Exit status when the guest ran out of time (as timeout(1))."""

_NEVER = 1 << 62


class GuestTimeout(WasmRRError):
    """The guest ran longer than ``--timeout`` allowed."""

    exit_status = EXIT_TIMEOUT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.trace: bytes | None = None
        """The run's trace so far (ending with where it stopped), when it was recorded to
        memory (``hunt`` keeps it as the trace of a hang)."""


# Python functions that ctypes calls straight from wasm: an exception raised at their first
# instruction (where a signal handler may run) would escape the callback and be lost, so the
# signal handler only records the reason there and the guest is stopped at the next tick.
_CALLBACKS = {"callback", "raw_callback", "dtor", "on_deadline"}
_INTO_WASM = {call_start.__code__, call_component.__code__}
"""Python that calls into wasm (besides wasmtime-py's own: instantiate, ``Func.__call__``)."""
_WASMTIME_PY = os.path.dirname(wasmtime.__file__) + os.sep


def _may_raise(frame: FrameType | None) -> bool:
    """Whether an exception raised in ``frame`` (where a signal handler runs) reaches the run.

    Not in a function ctypes calls from wasm (our callbacks, whose ``try`` catches what is
    raised in the functions they call, but not in themselves), nor in Python that C code
    runs while wasm calls out before our callback is entered (ctypes' argument checks: the
    frame under it is the one that called into wasm), nor anywhere inside a ``__del__``
    (Python prints "Exception ignored" and drops it)."""
    if frame is not None and frame.f_code.co_name in _CALLBACKS:
        return False
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__":
            return False
        if code.co_name in _CALLBACKS:
            return True  # under our callback's try
        if code in _INTO_WASM or code.co_filename.startswith(_WASMTIME_PY):
            return False  # called from C while wasm runs, outside our callbacks
        frame = frame.f_back
    return True


class Watchdog:
    """Stops the guest on SIGINT, or after ``timeout`` seconds (``note`` ends the timeout's
    message), while the ``with`` block lasts; a stop noted but not raised in the block is raised
    when it ends."""

    def __init__(self, timeout: float | None = None, note: str = "") -> None:
        self.timeout = timeout
        self.note = note
        self.reason: BaseException | None = None
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._tickers: dict[int, EpochTicker] = {}
        self._callbacks: list[Any] = []
        self._old: dict[int, Any] = {}
        self._outer: Watchdog | None = None
        self._closing = False
        self._holding = 0

    def __enter__(self) -> Watchdog:
        global _ACTIVE
        global _REQUESTED
        outer = _ACTIVE
        if outer is not None and outer.reason is not None:
            raise outer.reason  # a Ctrl-C came (and was swallowed) since the last run: stop
        if _stop_requested():
            _REQUESTED = False
            raise KeyboardInterrupt  # a worker told to stop between two runs
        self._outer = outer
        _ACTIVE = self
        if threading.current_thread() is threading.main_thread():
            self._old[signal.SIGINT] = signal.signal(signal.SIGINT, self._on_signal)
            if self.timeout is not None:
                self._old[signal.SIGALRM] = signal.signal(signal.SIGALRM, self._on_signal)
                signal.setitimer(signal.ITIMER_REAL, self.timeout)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _ACTIVE
        self._closing = True  # from here on a signal is only noted: raised below
        try:
            if signal.SIGALRM in self._old:
                signal.setitimer(signal.ITIMER_REAL, 0)
            # signal.signal() runs the handlers of signals already pending first: ours.
            for signum, old in self._old.items():
                signal.signal(signum, old)
            for ticker in self._tickers.values():
                ticker.pause()
        finally:
            _ACTIVE = self._outer
        if self.reason is not None and (kind is None or issubclass(kind, SystemExit)):
            raise self.reason  # noted where it could not be raised, or raised and swallowed

    def _timed_out(self) -> GuestTimeout:
        return GuestTimeout(f"the guest ran longer than {self.timeout:g} s{self.note}")

    def _stop(self, reason: BaseException) -> BaseException:
        if self.reason is None:
            self.reason = reason
        return self.reason

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            reason = self._stop(KeyboardInterrupt())
            outer = self._outer
            while outer is not None:  # the command, the hunt: they stop too
                outer._stop(reason)
                outer = outer._outer
        else:
            reason = self._stop(self._timed_out())
        if self._closing or self._holding or not _may_raise(frame):
            return
        raise reason

    def attach(self, store: wasmtime.Store, engine: wasmtime.Engine) -> None:
        """Watch a store about to run a guest."""

        def on_deadline(ctx: int, env: int, delta: Any, kind: Any) -> int | None:
            try:
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    self._stop(self._timed_out())
                if _STOP is not None and _STOP.value:
                    self._stop(KeyboardInterrupt())
                if self.reason is not None:
                    return new_error(b"wasm-rr: the guest was stopped")
                delta[0] = 1
                kind[0] = 0  # continue
                return None
            except BaseException as exc:  # a signal handler's reason: stop at once
                self._stop(exc)
                return new_error(b"wasm-rr: the guest was stopped")

        callback = DEADLINE_CALLBACK(on_deadline)
        self._callbacks.append(callback)
        store.set_epoch_deadline(1)
        on_epoch_deadline(store, callback)
        key = id(engine)
        if key not in self._tickers:
            ticker = _TICKERS.get(key)
            if ticker is None:
                ticker = EpochTicker(engine)
                if not ticker.start(TICK):
                    return
                _TICKERS[key] = ticker  # kept for the engine's life, paused between runs
            else:
                ticker.resume(TICK)
            self._tickers[key] = ticker

    def check(self) -> None:
        """Raise the reason the guest was stopped, if it was."""
        if self.reason is not None:
            raise self.reason


_ACTIVE: Watchdog | None = None
"""The innermost watchdog open (the run's, inside the command's)."""
_REQUESTED = False
"""In a worker process (:func:`in_worker`): a SIGINT came outside a run; the next run stops at
once."""
_STOP: Any = None
"""In a worker process: the flag its pool's owner sets to stop every run (shared memory)."""
_TICKERS: dict[int, EpochTicker] = {}
"""One ticker per engine (engines live as long as the process), armed while a run is watched:
creating a timer per run would cost a run of a tiny guest a third of its time."""


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Within the block, a Ctrl-C is noted, not raised: the next watchdog to open raises it
    (the run's, which a recording opens once its trace is safe to close), else the one around
    the block when it ends. A recording's trace is opened in such a block, so that a Ctrl-C
    never leaves a file without its header."""
    active = _ACTIVE
    if active is None:
        yield
        return
    active._holding += 1
    try:
        yield
    finally:
        active._holding -= 1


def attach(store: wasmtime.Store, engine: wasmtime.Engine) -> None:
    """Prepare a store to run a guest: watched when a watchdog is active, else never
    interrupted (epoch interruption is on in every engine; a store's deadline starts at 0)."""
    if _ACTIVE is not None:
        _ACTIVE.attach(store, engine)
    else:
        store.set_epoch_deadline(_NEVER)


def check() -> None:
    """After a call into wasm failed: raise the reason the active watchdog stopped it, if any."""
    if _ACTIVE is not None:
        _ACTIVE.check()


def in_worker(stop: Any) -> None:
    """In a worker process of a pool: stop the run going on, or else the next one, when the
    pool's owner sets the shared flag ``stop`` (``stop.value``; checked at every tick) or sends
    a SIGINT (which also ends a host call that blocks; the terminal's Ctrl-C reaches the whole
    process group). Never raise between runs, where it would end the worker with a traceback
    of its own."""
    global _REQUESTED, _STOP
    _REQUESTED = False
    _STOP = stop

    def note(signum: int, frame: FrameType | None) -> None:
        global _REQUESTED
        _REQUESTED = True

    signal.signal(signal.SIGINT, note)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # one held since the start: now


def _stop_requested() -> bool:
    """Whether this worker process was told to stop its runs (see :func:`in_worker`)."""
    return _REQUESTED or (_STOP is not None and bool(_STOP.value))


__all__ = [
    "EXIT_TIMEOUT",
    "TICK",
    "GuestTimeout",
    "Watchdog",
    "attach",
    "check",
    "held",
    "in_worker",
]
