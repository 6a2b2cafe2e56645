"""Random bytes: the secure source (random_get, wasi:random/random) and the insecure one."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Protocol

from ..errors import ArgsMismatchError
from ..trace.events import EventDecl, f
from .base import PIECE, Recorder, Replayer, ViewSource, describe
from .family import ByteSource, Family, Sources

SECURE = EventDecl("random", "bytes", (), (f("bytes", "payload"),), doc="secure random bytes")
INSECURE = EventDecl("random", "insecure", (), (f("bytes", "payload"),))
_BSTR_HEAD = [bytes((0x40 + n,)) for n in range(24)]


class Random(Protocol):
    def secure(self, n: int) -> bytes:
        """``n`` cryptographically secure random bytes."""
        ...

    def insecure(self, n: int) -> bytes:
        """``n`` random bytes that need not be secure."""
        ...

    def fill(self, out: memoryview) -> None:
        """``secure(len(out))`` written into ``out`` (guest memory) in pieces: a large read
        never needs a bytes object of its size."""
        ...

    def close(self) -> None: ...


_POOL = 4096


def _host_prng() -> ByteSource:
    """The insecure source of a live world by default: a PRNG seeded from the OS, made on the
    first insecure read (most runs make none, and need not import :mod:`random`)."""
    prng: ByteSource | None = None

    def read(n: int) -> bytes:
        nonlocal prng
        if prng is None:
            import random

            prng = random.Random(os.urandom(16)).randbytes
        return prng(n)

    return read


class LiveRandom:
    """Random bytes from ``source`` and ``insecure`` (by default the OS's: secure reads from
    ``getrandom``, insecure ones from a PRNG it seeds). The OS's small secure reads are served
    from a pool refilled 4 KiB at a time (one ``getrandom`` call costs about 0.3 us, more than
    the rest of a recorded event); an injected source answers each read itself, in order."""

    secure: Callable[[int], bytes]

    def __init__(
        self, source: ByteSource | None = None, insecure: ByteSource | None = None
    ) -> None:
        self._insecure: ByteSource = insecure or source or _host_prng()
        if source is not None:
            self.secure = source
            return
        pool = b""
        at = 0
        urandom = os.urandom

        def secure(n: int) -> bytes:
            nonlocal pool, at
            start = at
            if start + n > len(pool):
                if n > _POOL // 4:
                    return urandom(n)
                pool = urandom(_POOL)
                start = 0
            at = start + n
            return pool[start : start + n]

        self.secure = secure
        self._whole = source is not None

    def insecure(self, n: int) -> bytes:
        return self._insecure(n)

    def fill(self, out: memoryview) -> None:
        n = len(out)
        if self._whole:  # an injected source answers each read in one call, as asked
            out[:] = self.secure(n)
            return
        for at in range(0, n, PIECE):
            out[at : at + PIECE] = os.urandom(min(PIECE, n - at))

    def close(self) -> None:
        pass


def seeded(seed: int) -> ByteSource:
    """A reproducible source: the same ``seed`` answers the same bytes, read after read (not
    secure; for tests and reproducible recordings)."""
    import random

    return random.Random(seed).randbytes


def scripted(first: bytes, then: ByteSource | None = None) -> ByteSource:
    """A source that answers ``first`` (across as many reads as it takes), then asks ``then``
    (by default ``seeded(0)``): a test chooses the bytes a guest's first reads get."""
    rest = then if then is not None else seeded(0)
    pending = first

    def read(n: int) -> bytes:
        nonlocal pending
        head, pending = pending[:n], pending[n:]
        return head + rest(n - len(head)) if len(head) < n else head

    return read


def _live(sources: Sources) -> LiveRandom:
    return LiveRandom(sources.random, sources.insecure_random)


class RecordingRandom:
    secure: Callable[[int], bytes]

    def __init__(self, live: Random, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        live_secure = live.secure
        put = recorder.put
        heads = _BSTR_HEAD
        code = recorder.code(SECURE)
        self._insecure_code = recorder.code(INSECURE)

        def secure(n: int) -> bytes:
            # A hot path (a closure, like the clocks'): short reads are encoded inline.
            data = live_secure(n)
            if n < 24:
                put(code, heads[n] + data)
            else:
                recorder.event(code, recorder.payload(data))
            return data

        self.secure = secure

    def insecure(self, n: int) -> bytes:
        data = self._live.insecure(n)
        self._rec.event(self._insecure_code, self._rec.payload(data))
        return data

    def fill(self, out: memoryview) -> None:
        # The event secure() records, its payload read back from guest memory in pieces.
        self._live.fill(out)
        rec = self._rec
        rec.event(rec.code(SECURE), rec.payload_stream(ViewSource(out)))

    def close(self) -> None:
        self._live.close()


class ReplayingRandom:
    secure: Callable[[int], bytes]

    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer
        take0 = replayer.take0
        slow = self._take
        code = replayer.code(SECURE)
        self._insecure_code = replayer.code(INSECURE)

        def secure(n: int) -> bytes:
            field = take0(code)
            if type(field) is bytes and len(field) == n:
                data: bytes = field
                return data
            return slow(field, SECURE, n)

        self.secure = secure

    def _take(self, field: object, decl: EventDecl, n: int) -> bytes:
        r = self._r
        data = r.resolve(field)
        if len(data) != n:
            raise ArgsMismatchError(
                r.seq, f"{describe(decl, ())} of {len(data)} bytes", f"asked for {n} bytes"
            )
        return data

    def insecure(self, n: int) -> bytes:
        return self._take(self._r.take0(self._insecure_code), INSECURE, n)

    def fill(self, out: memoryview) -> None:
        # From the mapped trace into guest memory, one copy.
        r = self._r
        data = r.resolve_view(r.take0(r.code(SECURE)))
        if len(data) != len(out):
            raise ArgsMismatchError(
                r.seq, f"{describe(SECURE, ())} of {len(data)} bytes", f"asked for {len(out)} bytes"
            )
        out[:] = data

    def close(self) -> None:
        pass


FAMILY: Family[Random] = Family(
    "random",
    (SECURE, INSECURE),
    live=lambda ctx: _live(ctx.sources),
    recording=lambda live, rec, ctx: RecordingRandom(live, rec),
    replaying=lambda rep, ctx: ReplayingRandom(rep),
    doc="secure and insecure random bytes",
)

__all__ = [
    "FAMILY",
    "INSECURE",
    "SECURE",
    "LiveRandom",
    "Random",
    "RecordingRandom",
    "ReplayingRandom",
    "scripted",
    "seeded",
]
