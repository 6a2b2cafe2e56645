"""Waiting: sleeping on clocks and waiting for stdio to become ready.

The guest asks with a list of subscriptions and learns which fired. Recording really waits;
replay answers at once from the trace, so a guest that sleeps replays without sleeping.
"""

from __future__ import annotations

import select
import time
from dataclasses import astuple, dataclass
from typing import Any, BinaryIO, Protocol

from ..errors import CorruptTraceError
from ..trace.events import EventDecl, each, f, rec
from .base import Recorder, Replayer
from .clocks import MONOTONIC, REALTIME
from .family import Context, Family

CLOCK, FD_READ, FD_WRITE = 0, 1, 2

MAX_WAIT_NS = 3600 * 10**9
"""The longest single sleep or select; longer waits are made of several."""

WAIT = EventDecl(
    "poll",
    "wait",
    (f("subscriptions", "list", of=each(rec("uint", "uint", "uint", "uint", "uint"))),),
    (f("ready", "list", of=each(rec("uint", "uint", "str", "uint", "bool"))),),
)


@dataclass(frozen=True)
class Subscription:
    userdata: int
    type: int  # CLOCK, FD_READ or FD_WRITE
    target: int  # clock id for CLOCK, fd otherwise
    timeout: int = 0  # ns, CLOCK only
    absolute: bool = False  # CLOCK only


@dataclass(frozen=True)
class Ready:
    userdata: int
    type: int
    error: str = ""  # errno name, "" for none
    nbytes: int = 0
    hangup: bool = False


class Poll(Protocol):
    def wait(self, subscriptions: list[Subscription]) -> list[Ready]:
        """Block until at least one subscription fires; return the ones that did."""
        ...

    def close(self) -> None: ...


class LivePoll:
    def __init__(self, streams: dict[int, BinaryIO | None]) -> None:
        self._streams = streams

    def close(self) -> None:
        pass

    def _fileno(self, fd: int) -> int | None:
        stream = self._streams.get(fd)
        if stream is None:
            return None
        try:
            return stream.fileno()
        except (OSError, ValueError, AttributeError):
            return None

    def wait(self, subscriptions: list[Subscription]) -> list[Ready]:
        now = time.monotonic_ns()
        deadlines: list[tuple[int, Subscription]] = []
        readers: dict[int, Subscription] = {}
        writers: dict[int, Subscription] = {}
        ready: list[Ready] = []
        for sub in subscriptions:
            if sub.type == CLOCK:
                deadlines.append((self._deadline(sub, now), sub))
                continue
            fileno = self._fileno(sub.target)
            if fileno is None:
                # Not a selectable OS stream (a pipe in a test, closed stdin): always ready.
                ready.append(Ready(sub.userdata, sub.type, nbytes=1))
            elif sub.type == FD_READ:
                readers[fileno] = sub
            else:
                writers[fileno] = sub
        if ready:
            return ready
        first = min((d for d, _ in deadlines), default=None)
        while True:
            # Wait in slices no longer than MAX_WAIT_NS: a deadline centuries away (a timeout
            # of 2^64-1 ns) waits like wasmtime, forever, instead of overflowing select/sleep.
            left = None if first is None else max(0, first - time.monotonic_ns())
            wait = None if left is None else min(left, MAX_WAIT_NS) / 1e9
            if readers or writers:
                r, w, _ = select.select(list(readers), list(writers), [], wait)
                ready = [Ready(readers[f].userdata, FD_READ, nbytes=1) for f in r]
                ready += [Ready(writers[f].userdata, FD_WRITE, nbytes=1) for f in w]
                if ready:
                    return ready
            elif wait:
                time.sleep(wait)
            now = time.monotonic_ns()
            if first is not None and first <= now:
                return [Ready(sub.userdata, CLOCK) for d, sub in deadlines if d <= now]

    @staticmethod
    def _deadline(sub: Subscription, now: int) -> int:
        if not sub.absolute:
            return now + sub.timeout
        if sub.target == REALTIME:
            return now + (sub.timeout - time.time_ns())
        if sub.target == MONOTONIC:
            return sub.timeout
        return now  # CPU-time clocks: fire at once, as wasmtime does not wait on them


def _enc_subs(subs: list[Subscription]) -> list[list[Any]]:
    return [[s.userdata, s.type, s.target, s.timeout, int(s.absolute)] for s in subs]


class RecordingPoll:
    def __init__(self, live: Poll, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        self._code = recorder.code(WAIT)

    def wait(self, subscriptions: list[Subscription]) -> list[Ready]:
        ready = self._live.wait(subscriptions)
        self._rec.event(self._code, _enc_subs(subscriptions), [list(astuple(r)) for r in ready])
        return ready

    def close(self) -> None:
        self._live.close()


class ReplayingPoll:
    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer
        self._code = replayer.code(WAIT)

    def wait(self, subscriptions: list[Subscription]) -> list[Ready]:
        r = self._r
        (ready,) = r.take(self._code, _enc_subs(subscriptions))
        asked = {s.userdata for s in subscriptions}
        if not ready or any(u not in asked for u, *_ in ready):
            # A wait ends when a subscription fires, and only those are answered.
            raise CorruptTraceError(
                f"{r.trace.path}: event {r.seq} (poll.wait) answers with "
                f"{'no subscription' if not ready else 'a subscription the guest did not make'}; "
                "the trace is damaged, use an intact copy or re-record"
            )
        return [Ready(u, t, e, n, bool(h)) for u, t, e, n, h in ready]

    def close(self) -> None:
        pass


def _live(ctx: Context) -> LivePoll:
    s = ctx.streams
    return LivePoll({0: s.stdin, 1: s.stdout, 2: s.stderr})


FAMILY: Family[Poll] = Family(
    "poll",
    (WAIT,),
    live=_live,
    recording=lambda live, rec, ctx: RecordingPoll(live, rec),
    replaying=lambda rep, ctx: ReplayingPoll(rep),
    doc="waiting on clocks and on stdio readiness",
)

__all__ = [
    "CLOCK",
    "FAMILY",
    "FD_READ",
    "FD_WRITE",
    "MAX_WAIT_NS",
    "WAIT",
    "LivePoll",
    "Poll",
    "Ready",
    "RecordingPoll",
    "ReplayingPoll",
    "Subscription",
]
