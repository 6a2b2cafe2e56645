"""Where a replay of an unfinished recording stops its guest.

A recording stopped by Ctrl-C or ``--timeout`` ends with a ``journal.stopped`` event: its fuel
is how many instructions the guest ran after the event before it. Replay gives the guest's
store exactly as much fuel as the recording's guest used in all (the sum of its events' fuel),
so the guest stops where it was stopped, even in a loop that never calls the host; a guest
stopped inside a host call reaches that call with no fuel left, and meets the stop there.

A recording cut off by a crash (SIGKILL: no footer, no stop) says nothing about how far the
guest got after its last event: replay lets it run :data:`MARGIN` instructions past it, then
stops it (a guest that calls the host before that meets the cut there, as it always did).

Instructions are counted per store: a wasm child's events count its own instructions, so the
guest's count leaves out the events between a ``process.wasm_start`` and its
``process.wasm_end``; a child still running at the end of the trace gets its own count plus
:data:`MARGIN`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..trace.events import BLOB, SITE
from .journal import INTERRUPT, STOPPED, stop_text

if TYPE_CHECKING:
    from ..trace.reader import Trace

MARGIN = 1 << 28
"""Instructions a replay of a cut-off recording lets a guest run past its last event (a
fraction of a second) before stopping it."""

EXIT_INTERRUPTED = 130
EXIT_TIMEOUT = 124

_WASM_START = "process.wasm_start"
_WASM_END = "process.wasm_end"


@dataclass(frozen=True)
class Stopped:
    """What the ``journal.stopped`` event a trace ends with says."""

    seq: int
    reason: str
    after_ns: int
    timeout_ns: int | None
    fuel: int
    """Instructions the guest ran after the event before it."""

    @property
    def why(self) -> str:
        """``Ctrl-C after 2.3 s``, ``timeout after 1 s``."""
        return stop_text(self.reason, self.after_ns, self.timeout_ns)

    @property
    def exit_status(self) -> int:
        """The recording's own exit status: 130 (Ctrl-C) or 124 (timeout)."""
        return EXIT_INTERRUPTED if self.reason == INTERRUPT else EXIT_TIMEOUT


@dataclass(frozen=True)
class StopPlan:
    """Where to stop a replay of a trace without footer."""

    events: int
    """Events before the stop (the ``journal.stopped`` event left out)."""
    instructions: int
    """The guest's instructions when the recording ends (its own store's: not its children's)."""
    limit: int
    """The fuel the guest's store gets."""
    exact: bool
    """The guest is stopped exactly where the recording was (a stop, replayed with the
    recording's wasmtime and guest), not :data:`MARGIN` further."""
    stopped: Stopped | None
    children: dict[int, int] = field(default_factory=dict)
    """For each wasm child still running at the end: the seq of its ``process.wasm_start``
    -> the fuel its store gets."""

    @property
    def how(self) -> str:
        """How replay stopped the guest, for the message that says so."""
        if self.exact:
            return "replay stopped at the same point"
        if self.children:
            return (
                "replay stopped the wasm child it was running at most "
                f"{MARGIN} instructions past the child's last event"
            )
        return (
            "replay stopped there (instruction counts are not compared: another wasmtime or "
            "--allow-code-change)"
        )


def plan(trace: Trace, exact_fuel: bool) -> StopPlan | None:
    """Where a replay of ``trace`` stops its guest; None for a complete trace (it ends when
    the guest does). ``exact_fuel``: instruction counts are compared (same wasmtime, same
    guest), so a stopped recording is stopped at its very instruction."""
    if not trace.cut_off or trace.mapped is not None:
        return None  # a mapped trace is intact: it has a footer
    items, end, kinds, arity = trace.items, trace.end, trace.kinds, trace.arity
    names = {code: decl.name for code, decl in kinds.items()}
    seq = 0
    top = 0
    running: list[list[int]] = []  # [seq of wasm_start, its instructions so far]
    last: tuple[int, int, list[object]] | None = None
    i = 0
    while i < end:
        k = items[i]
        n = arity[k]
        if k != BLOB and k != SITE:
            seq += 1
            name = names.get(k)
            fuel = items[i + 1]
            fields = items[i + 2 : i + 1 + n]
            if name == _WASM_END and running:
                running.pop()
            if running and name != STOPPED.name:
                running[-1][1] += fuel
            else:
                top += fuel  # a stop's fuel is the guest's: a child's store is gone by then
            if name == _WASM_START and fields and fields[-2] is None:
                running.append([seq, 0])
            last = (seq, fuel, fields) if name == STOPPED.name else None
        i += 1 + n
    stopped = None
    if last is not None:
        at, fuel, (reason, after_ns, timeout_ns) = last
        stopped = Stopped(
            at,
            str(reason),
            int(after_ns),  # type: ignore[call-overload]
            int(timeout_ns) if timeout_ns is not None else None,  # type: ignore[call-overload]
            fuel,
        )
    exact = stopped is not None and exact_fuel and not running
    return StopPlan(
        seq - (stopped is not None),
        top,
        top if exact else top + MARGIN,
        exact,
        stopped,
        {start: used + MARGIN for start, used in running},
    )


def without_stop(trace: Trace) -> Trace:
    """``trace`` without the ``journal.stopped`` event it ends with, if it ends with one (what
    ``resume`` continues from: the run goes on where it was stopped)."""
    if not trace.cut_off or trace.mapped is not None:
        return trace
    items, end, kinds, arity = trace.items, trace.end, trace.kinds, trace.arity
    i = 0
    last = -1
    while i < end:
        k = items[i]
        if k != BLOB and k != SITE:
            last = i
        i += 1 + arity[k]
    if last < 0 or kinds[items[last]].name != STOPPED.name:
        return trace
    return replace(trace, end=last)


__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_TIMEOUT",
    "MARGIN",
    "StopPlan",
    "Stopped",
    "plan",
    "without_stop",
]
