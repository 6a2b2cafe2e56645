"""``--chaos``: a world that answers differently within what WASI allows.

One :class:`WorldChaos` per run, seeded: the same seed gives the same short reads, the same
directory order and the same clock jumps. It plugs into the live world through
:attr:`wasm_rr.world.Sources.chaos` (the :class:`~wasm_rr.world.Chaos` protocol), so a
recording holds exactly what the chaotic world answered and replays like any other trace.

What it varies:

* **Short reads**: a read from stdin or a file asking for ``n >= 2`` bytes may answer any of
  ``1..n`` (a pipe or a slow disk does; WASI's ``fd_read`` and ``input-stream.read`` promise no
  more). End of file still answers 0.
* **Directory order**: listings come in an order keyed by the run's seed, the same for the
  same listing within a run (``.`` and ``..`` stay first, as the preview1 host lists them).
* **Clock jumps**: the wall clock jumps back or forward (seconds to a day, as NTP or a user
  does); the monotonic and CPU-time clocks only jump forward and never answer less than
  before.

What it never does: answer an error the OS would not give (no ``EINTR``: WASI has no signals
and wasmtime never answers it; no ``EAGAIN``: stdin and files are blocking descriptors), make
a read answer 0 bytes before the end, change any byte of data, or reorder writes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import blake3

from ..world.clocks import REALTIME
from ..world.family import DirEntry

_JUMPS_NS = (10**9, 60 * 10**9, 3600 * 10**9, 86400 * 10**9)
"""A wall-clock jump is about a second, a minute, an hour or a day."""


@dataclass(frozen=True)
class ChaosRates:
    """How often each kind of chaos happens (a probability per read)."""

    short_read: float = 0.5
    clock_jump: float = 0.25


class WorldChaos:
    """The chaos of one run, from ``seed`` (:class:`~wasm_rr.world.Chaos`)."""

    def __init__(self, seed: int, rates: ChaosRates = ChaosRates()) -> None:
        self._rng = random.Random(seed)
        self._key = seed.to_bytes(16, "little", signed=True)
        self._rates = rates
        self._offsets = [0, 0, 0, 0]
        self._last = [0, 0, 0, 0]

    def short_read(self, n: int) -> int:
        rng = self._rng
        if n <= 1 or rng.random() >= self._rates.short_read:
            return n
        # Small answers are the interesting ones (1 byte, a few bytes), so half of them are.
        if rng.random() < 0.5:
            return rng.randint(1, min(n - 1, 8))
        return rng.randint(1, n - 1)

    def shuffle(self, entries: list[DirEntry]) -> list[DirEntry]:
        key = self._key
        return sorted(entries, key=lambda e: blake3.blake3(key + e[0]).digest(8))

    def clock(self, clock_id: int, value: int) -> int:
        rng = self._rng
        if rng.random() < self._rates.clock_jump:
            jump = rng.choice(_JUMPS_NS) * rng.randint(1, 9)
            if clock_id == REALTIME and rng.random() < 0.5:
                jump = -jump
            self._offsets[clock_id] += jump
        answer = max(0, value + self._offsets[clock_id])
        if clock_id != REALTIME:
            answer = max(answer, self._last[clock_id])
            self._last[clock_id] = answer
        return answer


__all__ = [
    "ChaosRates",
    "WorldChaos",
]
