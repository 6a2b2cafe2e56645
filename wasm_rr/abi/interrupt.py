"""Stopping a guest from outside: Ctrl-C and ``--timeout``, even in a guest spinning in pure wasm.

Engines run with epoch interruption. While a :class:`Watchdog` is active, every store gets an
epoch deadline one tick ahead and a deadline callback, and a native timer ticks the engine's
epoch every :data:`TICK` seconds (``_wasmtime.EpochTicker``: the guest holds the GIL, so no
Python thread could). At each tick the guest calls the deadline callback: Python runs on the
main thread there, so a pending SIGINT or SIGALRM handler runs, and the callback traps the guest
when the watchdog has a reason to stop it. A guest blocked in a host call (a sleep, a read) is
stopped by the signal handler raising in that call. Either way the run ends by raising the
reason (``KeyboardInterrupt``, or :class:`GuestTimeout`) once the call into wasm has returned.

Epoch checks are not instructions: they consume no fuel, so recorded instruction counts are the
same with or without them.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import wasmtime

from ..errors import WasmRRError
from ._wasmtime import DEADLINE_CALLBACK, EpochTicker, new_error, on_epoch_deadline

TICK = 0.05
"""Seconds between epoch ticks: how long a spinning guest may take to notice a stop."""

EXIT_TIMEOUT = 124
"""Exit status when the guest ran out of time (as timeout(1))."""

_NEVER = 1 << 62


class GuestTimeout(WasmRRError):
    """The guest ran longer than ``--timeout`` allowed."""

    exit_status = EXIT_TIMEOUT


# Python functions that ctypes calls straight from wasm: an exception raised at their first
# instruction (where a signal handler may run) would escape the callback and be lost, so the
# signal handler only records the reason there and the guest is stopped at the next tick.
_CALLBACKS = {"callback", "raw_callback", "dtor", "on_deadline"}


class Watchdog:
    """Stops the guest on SIGINT, or after ``timeout`` seconds (``note`` ends the timeout's
    message), while the ``with`` block lasts."""

    def __init__(self, timeout: float | None = None, note: str = "") -> None:
        self.timeout = timeout
        self.note = note
        self.reason: BaseException | None = None
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._tickers: dict[int, EpochTicker] = {}
        self._callbacks: list[Any] = []
        self._old: dict[int, Any] = {}

    def __enter__(self) -> Watchdog:
        global _ACTIVE
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
        _ACTIVE = None
        if signal.SIGALRM in self._old:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, old in self._old.items():
            signal.signal(signum, old)
        for ticker in self._tickers.values():
            ticker.pause()

    def _timed_out(self) -> GuestTimeout:
        return GuestTimeout(f"the guest ran longer than {self.timeout:g} s{self.note}")

    def _stop(self, reason: BaseException) -> BaseException:
        if self.reason is None:
            self.reason = reason
        return self.reason

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        reason = self._stop(KeyboardInterrupt() if signum == signal.SIGINT else self._timed_out())
        if frame is None or frame.f_code.co_name not in _CALLBACKS:
            raise reason

    def attach(self, store: wasmtime.Store, engine: wasmtime.Engine) -> None:
        """Watch a store about to run a guest."""

        def on_deadline(ctx: int, env: int, delta: Any, kind: Any) -> int | None:
            try:
                if self._deadline is not None and time.monotonic() >= self._deadline:
                    self._stop(self._timed_out())
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
_TICKERS: dict[int, EpochTicker] = {}
"""One ticker per engine (engines live as long as the process), armed while a run is watched:
creating a timer per run would cost a run of a tiny guest a third of its time."""


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


__all__ = [
    "EXIT_TIMEOUT",
    "TICK",
    "GuestTimeout",
    "Watchdog",
    "attach",
    "check",
]
