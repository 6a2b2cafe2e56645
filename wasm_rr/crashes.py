"""What makes two failing runs the same failure: their crash site.

A trap's site is its trap code and its top wasm frames (function index and name, and the
offset in the module): the same bug reached by different inputs traps at the same place. A
failure that is not a trap (a non-zero exit, or a ``--until`` predicate that held) is named by
its exit status. ``hunt --all``, ``fuzz`` and ``minimize`` use these, so a bug is kept once.
"""

from __future__ import annotations

from dataclasses import dataclass

import blake3

from .trace.schema import Outcome

TOP_FRAMES = 3
"""How many of a trap's innermost frames name its site."""


@dataclass(frozen=True)
class CrashSite:
    """Where a run failed: ``trap`` code and frames, or ``exit`` status."""

    kind: str  # "trap" | "exit" | "timeout" (a hang)
    code: str
    """The trap code (``unreachable``, ``memory out of bounds``...) or the exit status."""
    frames: tuple[tuple[int, str | None, int], ...] = ()
    """The innermost frames: function index, name, module offset."""

    @property
    def id(self) -> str:
        """A short stable name for the site (12 hex digits), used in file names."""
        text = f"{self.kind}:{self.code}:" + ";".join(
            f"{index}/{name or ''}/{offset:#x}" for index, name, offset in self.frames
        )
        return blake3.blake3(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        """``trap unreachable at parse_header+0x1f3 <- main``, or ``exit 1``."""
        if self.kind == "exit":
            return f"exit {self.code}"
        if self.kind == HANG:
            return f"hang (ran {self.code})"
        where = " <- ".join(
            f"{name or f'<wasm function {index}>'}@{offset:#x}"
            for index, name, offset in self.frames
        )
        return f"trap {self.code}" + (f" at {where}" if where else "")


def crash_site(outcome: Outcome) -> CrashSite:
    """The site a run ended at (a trap's code and top frames, else its exit status)."""
    trap = outcome.trap
    if trap is None:
        return CrashSite("exit", str(outcome.exit_code or 0))
    frames = tuple(
        (int(f[0]), None if f[1] is None else str(f[1]), int(f[2]))
        for f in trap.frames[:TOP_FRAMES]
    )
    return CrashSite("trap", trap.code or trap.message.splitlines()[0][:80], frames)


HANG = "timeout"
"""The kind of the site of a run stopped by its timeout (``fuzz``, ``hunt``)."""


def hang_site(timeout: float) -> CrashSite:
    """The site of every run that ran longer than ``timeout`` seconds."""
    return CrashSite(HANG, f"longer than {timeout:g} s")


__all__ = [
    "HANG",
    "TOP_FRAMES",
    "CrashSite",
    "crash_site",
    "hang_site",
]
