"""Random bytes: the secure source (random_get, wasi:random/random) and the insecure one."""

from __future__ import annotations

import os
import random as _random
from typing import Protocol

from ..trace.schema import Kind
from .base import Recorder, Replayer


class Random(Protocol):
    def secure(self, n: int) -> bytes:
        """``n`` cryptographically secure random bytes."""
        ...

    def insecure(self, n: int) -> bytes:
        """``n`` random bytes that need not be secure."""
        ...


class LiveRandom:
    def __init__(self) -> None:
        self._insecure = _random.Random(os.urandom(16))

    def secure(self, n: int) -> bytes:
        return os.urandom(n)

    def insecure(self, n: int) -> bytes:
        return self._insecure.randbytes(n)


class RecordingRandom:
    def __init__(self, live: Random, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder

    def secure(self, n: int) -> bytes:
        data = self._live.secure(n)
        self._rec.event(Kind.RANDOM, self._rec.payload(data))
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
