"""The command line the guest sees: its arguments, its environment, and its exit."""

from __future__ import annotations

from typing import Protocol

from ..config import to_bytes
from ..trace.events import EventDecl, each, f
from .base import Recorder, Replayer
from .family import Family

ARGS = EventDecl("cli", "args", (), (f("argv", "list", of=each("bytes")),))
ENVIRON = EventDecl("cli", "environ", (), (f("env", "list", of=each("bytes")),))
EXIT = EventDecl("cli", "exit", (f("status", "uint"),), ())


class Cli(Protocol):
    def args(self) -> list[bytes]:
        """argv, program name first."""
        ...

    def environ(self) -> list[bytes]:
        """The environment as ``KEY=VALUE`` byte strings."""
        ...

    def exit(self, status: int) -> None:
        """The guest is exiting with ``status`` (the caller then ends the run)."""
        ...

    def close(self) -> None: ...


class LiveCli:
    """The arguments and environment the user chose to give the guest: the exact bytes they
    stand for (see :func:`wasm_rr.config.to_bytes`), UTF-8 or not."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self._argv = [to_bytes(a) for a in argv]
        self._env = [to_bytes(k) + b"=" + to_bytes(v) for k, v in env.items()]

    def args(self) -> list[bytes]:
        return list(self._argv)

    def environ(self) -> list[bytes]:
        return list(self._env)

    def exit(self, status: int) -> None:
        pass

    def close(self) -> None:
        pass


class RecordingCli:
    def __init__(self, live: Cli, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        self._codes = [recorder.code(d) for d in (ARGS, ENVIRON, EXIT)]

    def args(self) -> list[bytes]:
        value = self._live.args()
        self._rec.event(self._codes[0], value)
        return value

    def environ(self) -> list[bytes]:
        value = self._live.environ()
        self._rec.event(self._codes[1], value)
        return value

    def exit(self, status: int) -> None:
        self._live.exit(status)
        self._rec.event(self._codes[2], status)

    def close(self) -> None:
        self._live.close()


class ReplayingCli:
    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer
        self._codes = [replayer.code(d) for d in (ARGS, ENVIRON, EXIT)]

    def args(self) -> list[bytes]:
        (value,) = self._r.take(self._codes[0])
        return list(value)

    def environ(self) -> list[bytes]:
        (value,) = self._r.take(self._codes[1])
        return list(value)

    def exit(self, status: int) -> None:
        self._r.take(self._codes[2], status)

    def close(self) -> None:
        pass


FAMILY: Family[Cli] = Family(
    "cli",
    (ARGS, ENVIRON, EXIT),
    live=lambda ctx: LiveCli(ctx.config.argv, ctx.config.env),
    recording=lambda live, rec, ctx: RecordingCli(live, rec),
    replaying=lambda rep, ctx: ReplayingCli(rep),
    doc="the guest's arguments, environment and exit status",
)

__all__ = [
    "ARGS",
    "ENVIRON",
    "EXIT",
    "FAMILY",
    "Cli",
    "LiveCli",
    "RecordingCli",
    "ReplayingCli",
]
