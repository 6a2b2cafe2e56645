"""The command line the guest sees: its arguments, its environment, and its exit."""

from __future__ import annotations

from typing import Protocol

from ..trace.schema import Kind
from .base import Recorder, Replayer


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


class LiveCli:
    """The arguments and environment the user chose to give the guest."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self._argv = [a.encode() for a in argv]
        self._env = [f"{k}={v}".encode() for k, v in env.items()]

    def args(self) -> list[bytes]:
        return list(self._argv)

    def environ(self) -> list[bytes]:
        return list(self._env)

    def exit(self, status: int) -> None:
        pass


class RecordingCli:
    def __init__(self, live: Cli, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder

    def args(self) -> list[bytes]:
        value = self._live.args()
        self._rec.event(Kind.ARGS, value)
        return value

    def environ(self) -> list[bytes]:
        value = self._live.environ()
        self._rec.event(Kind.ENVIRON, value)
        return value

    def exit(self, status: int) -> None:
        self._live.exit(status)
        self._rec.event(Kind.EXIT, status)


class ReplayingCli:
    def __init__(self, replayer: Replayer) -> None:
        self._r = replayer

    def args(self) -> list[bytes]:
        (value,) = self._r.take(Kind.ARGS)
        return list(value)

    def environ(self) -> list[bytes]:
        (value,) = self._r.take(Kind.ENVIRON)
        return list(value)

    def exit(self, status: int) -> None:
        self._r.take(Kind.EXIT, status)
