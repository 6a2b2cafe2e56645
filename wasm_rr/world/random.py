"""Random bytes: the secure source (random_get, wasi:random/random) and the insecure one."""

from __future__ import annotations

import os
import random as _random
from typing import Protocol

from ..trace.schema import Kind
from .base import Recorder, Replayer

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

    def __init__(self) -> None:
        self._insecure = _random.Random(os.urandom(16))
        self._pool = b""
        self._at = 0

    def secure(self, n: int) -> bytes:
        at = self._at
        if at + n > len(self._pool):
            if n > _POOL // 4:
                return os.urandom(n)
            self._pool = os.urandom(_POOL)
            at = 0
        self._at = at + n
        return self._pool[at : at + n]

    def insecure(self, n: int) -> bytes:
        return self._insecure.randbytes(n)


class RecordingRandom:
    def __init__(self, live: Random, recorder: Recorder) -> None:
        self._live = live
        self._secure = live.secure
        self._rec = recorder
        self._put = recorder.put

    def secure(self, n: int) -> bytes:
        data = self._secure(n)
        if n < 24:  # the common case, encoded inline: a short CBOR byte string
            self._put(_RANDOM, _BSTR_HEAD[n] + data)
        else:
            self._rec.event(_RANDOM, self._rec.payload(data))
        return data

    def insecure(self, n: int) -> bytes:
        data = self._live.insecure(n)
        self._rec.event(Kind.RANDOM_INSECURE, self._rec.payload(data))
        return data


class ReplayingRandom:
    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer

    def _take(self, kind: int, n: int) -> bytes:
        r = self._r
        field = r.take0(kind)
        data = field if type(field) is bytes and len(field) == n else r.resolve(field)
        if len(data) != n:
            from ..errors import ArgsMismatchError
            from .base import describe

            raise ArgsMismatchError(
                r.seq, f"{describe(kind, ())} of {len(data)} bytes", f"asked for {n} bytes"
            )
        return data

    def secure(self, n: int) -> bytes:
        return self._take(Kind.RANDOM, n)

    def insecure(self, n: int) -> bytes:
        return self._take(Kind.RANDOM_INSECURE, n)
