"""Random bytes: the secure source (random_get, wasi:random/random) and the insecure one."""

from __future__ import annotations

import os
import random as _random
from collections.abc import Callable
from typing import Protocol

from ..errors import ArgsMismatchError
from ..trace.schema import Kind
from .base import Recorder, Replayer, describe

_RANDOM = Kind.RANDOM
_BSTR_HEAD = [bytes((0x40 + n,)) for n in range(24)]


class Random(Protocol):
    def secure(self, n: int) -> bytes:
        """``n`` cryptographically secure random bytes."""
        ...

    def insecure(self, n: int) -> bytes:
        """``n`` random bytes that need not be secure."""
        ...


_POOL = 4096


class LiveRandom:
    """The OS's random source. Small reads are served from a pool refilled 4 KiB at a time
    (one ``getrandom`` call costs about 0.3 us, more than the rest of a recorded event)."""

    secure: Callable[[int], bytes]

    def __init__(self) -> None:
        self._insecure = _random.Random(os.urandom(16))
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

    def insecure(self, n: int) -> bytes:
        return self._insecure.randbytes(n)


class RecordingRandom:
    secure: Callable[[int], bytes]

    def __init__(self, live: Random, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        live_secure = live.secure
        put = recorder.put
        heads = _BSTR_HEAD

        def secure(n: int) -> bytes:
            # A hot path (a closure, like the clocks'): short reads are encoded inline.
            data = live_secure(n)
            if n < 24:
                put(_RANDOM, heads[n] + data)
            else:
                recorder.event(_RANDOM, recorder.payload(data))
            return data

        self.secure = secure

    def insecure(self, n: int) -> bytes:
        data = self._live.insecure(n)
        self._rec.event(Kind.RANDOM_INSECURE, self._rec.payload(data))
        return data


class ReplayingRandom:
    secure: Callable[[int], bytes]

    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer
        take0 = replayer.take0
        slow = self._take

        def secure(n: int) -> bytes:
            field = take0(_RANDOM)
            if type(field) is bytes and len(field) == n:
                data: bytes = field
                return data
            return slow(field, _RANDOM, n)

        self.secure = secure

    def _take(self, field: object, kind: int, n: int) -> bytes:
        r = self._r
        data = r.resolve(field)
        if len(data) != n:
            raise ArgsMismatchError(
                r.seq, f"{describe(kind, ())} of {len(data)} bytes", f"asked for {n} bytes"
            )
        return data

    def insecure(self, n: int) -> bytes:
        return self._take(self._r.take0(Kind.RANDOM_INSECURE), Kind.RANDOM_INSECURE, n)
