"""Clocks: wall-clock time, monotonic time, CPU-time clocks, and their resolutions.

Clock ids are preview1's (0 realtime, 1 monotonic, 2 process CPU time, 3 thread CPU time);
WASI 0.2's wall-clock and monotonic-clock map to 0 and 1. Values are nanoseconds. A recorded
clock read stores the difference from the previous read of the same clock, so a tight loop of
monotonic reads costs a few bytes per event.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Protocol

from ..trace.events import EventDecl, f
from .base import Recorder, Replayer
from .family import Chaos, ClockReader, ClockReaders, Family, Sources

REALTIME = 0
MONOTONIC = 1
PROCESS_CPUTIME = 2
THREAD_CPUTIME = 3
CLOCK_IDS = (REALTIME, MONOTONIC, PROCESS_CPUTIME, THREAD_CPUTIME)

NOW = EventDecl(
    "clock",
    "now",
    (f("clock", "uint"),),
    (f("ns", "delta"),),
    summed=True,
    doc="a clock read; the answer is stored as the difference from the previous read of that clock",
)
RESOLUTION = EventDecl("clock", "resolution", (f("clock", "uint"),), (f("ns", "uint"),))


class Clocks(Protocol):
    def now(self, clock_id: int) -> int:
        """The clock's current value in nanoseconds (``clock_id`` is one of CLOCK_IDS)."""
        ...

    def resolution(self, clock_id: int) -> int:
        """The clock's resolution in nanoseconds."""
        ...

    def close(self) -> None: ...


_POSIX = {
    REALTIME: time.CLOCK_REALTIME,
    MONOTONIC: time.CLOCK_MONOTONIC,
    PROCESS_CPUTIME: time.CLOCK_PROCESS_CPUTIME_ID,
    THREAD_CPUTIME: time.CLOCK_THREAD_CPUTIME_ID,
}


HOST_CLOCKS: ClockReaders = (
    time.time_ns,
    time.monotonic_ns,
    time.process_time_ns,
    time.thread_time_ns,
)
"""The host's clocks, by clock id."""


class LiveClocks:
    """Clocks read from ``readers`` (the host's by default). Resolutions are the host's."""

    def __init__(self, readers: ClockReaders = HOST_CLOCKS) -> None:
        self.readers: ClockReaders = readers
        """One function per clock id, returning nanoseconds (recording reads these directly)."""

    def now(self, clock_id: int) -> int:
        return self.readers[clock_id]()

    def resolution(self, clock_id: int) -> int:
        return max(1, round(time.clock_getres(_POSIX[clock_id]) * 1e9))

    def close(self) -> None:
        pass


class SteppingClock:
    """A reproducible clock: answers ``start``, then ``start + step``, ``start + 2 * step``...
    (``step`` 0: a stopped clock)."""

    def __init__(self, start: int, step: int = 0) -> None:
        self.next = start
        """The value the next read answers."""
        self.step = step

    def __call__(self) -> int:
        value = self.next
        self.next = value + self.step
        return value


def stepping(realtime_ns: int, step_ns: int = 1_000) -> ClockReaders:
    """Four reproducible clocks (for :class:`~wasm_rr.world.family.Sources`): the wall clock
    starts at ``realtime_ns``, the monotonic and CPU-time clocks at 0, and each advances
    ``step_ns`` per read, so successive reads still differ."""
    clocks: list[ClockReader] = [SteppingClock(realtime_ns, step_ns)]
    clocks += [SteppingClock(0, step_ns) for _ in CLOCK_IDS[1:]]
    return (clocks[0], clocks[1], clocks[2], clocks[3])


def _readers(sources: Sources) -> ClockReaders:
    """The live clocks' readers: the sources' (else the host's), each passed through the chaos
    when there is one (built here, once: a world without chaos reads its clocks directly)."""
    readers = sources.clocks or HOST_CLOCKS
    chaos = sources.chaos
    if chaos is None:
        return readers

    def chaotic(clock_id: int, read: ClockReader, chaos: Chaos = chaos) -> ClockReader:
        return lambda: chaos.clock(clock_id, read())

    return (
        chaotic(REALTIME, readers[0]),
        chaotic(MONOTONIC, readers[1]),
        chaotic(PROCESS_CPUTIME, readers[2]),
        chaotic(THREAD_CPUTIME, readers[3]),
    )


class RecordingClocks:
    now: Callable[[int], int]

    def __init__(self, live: Clocks, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        live_now = live.now
        readers: list[Callable[[], int]] = list(getattr(live, "readers", ())) or [
            functools.partial(live_now, c) for c in CLOCK_IDS
        ]
        self._res_code = recorder.code(RESOLUTION)
        # The hottest path of a recording: the writer reads the clock and records the
        # difference from the previous read of that clock, in one call.
        self.now = recorder.reads_summed(recorder.code(NOW), readers)

    def resolution(self, clock_id: int) -> int:
        value = self._live.resolution(clock_id)
        self._rec.event(self._res_code, clock_id, value)
        return value

    def close(self) -> None:
        self._live.close()


class ReplayingClocks:
    now: Callable[[int], int]

    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer
        # A clock read is recorded as the difference from the previous read of that clock.
        self.now = replayer.summing(replayer.code(NOW))
        self._res_code = replayer.code(RESOLUTION)

    def resolution(self, clock_id: int) -> int:
        return int(self._r.take1(self._res_code, clock_id))

    def close(self) -> None:
        pass


FAMILY: Family[Clocks] = Family(
    "clock",
    (NOW, RESOLUTION),
    live=lambda ctx: LiveClocks(_readers(ctx.sources)),
    recording=lambda live, rec, ctx: RecordingClocks(live, rec),
    replaying=lambda rep, ctx: ReplayingClocks(rep),
    doc="wall-clock, monotonic and CPU-time clocks, and their resolutions",
)

__all__ = [
    "CLOCK_IDS",
    "FAMILY",
    "HOST_CLOCKS",
    "MONOTONIC",
    "NOW",
    "PROCESS_CPUTIME",
    "REALTIME",
    "RESOLUTION",
    "THREAD_CPUTIME",
    "Clocks",
    "LiveClocks",
    "RecordingClocks",
    "ReplayingClocks",
    "SteppingClock",
    "stepping",
]
