"""The world the guest sees: one object per effect family, built live, recording or replaying.

The ABI layers (``wasm_rr.abi``) decode a guest's call, ask ``world.<family>.<method>``, and
encode the answer. Which world they talk to is chosen here, by the builder functions, and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from ..trace.reader import Trace
from ..trace.writer import TraceWriter
from .base import FuelCell, Recorder, Replayer, WorldError, ZeroFuel
from .cli import Cli, LiveCli, RecordingCli, ReplayingCli
from .clocks import Clocks, LiveClocks, RecordingClocks, ReplayingClocks
from .fs import Fs, LiveFs, Preopen, RecordingFs, ReplayingFs
from .poll import LivePoll, Poll, RecordingPoll, ReplayingPoll
from .random import LiveRandom, Random, RecordingRandom, ReplayingRandom
from .stdio import LiveStdio, OutputLog, RecordingStdio, ReplayingStdio, Stdio

__all__ = [
    "PreopenSpec",
    "Streams",
    "World",
    "WorldError",
    "live_world",
    "recording_world",
    "replaying_world",
]


@dataclass
class Streams:
    """The host streams a run is connected to."""

    stdin: BinaryIO | None
    stdout: BinaryIO
    stderr: BinaryIO


@dataclass
class World:
    clocks: Clocks
    random: Random
    cli: Cli
    stdio: Stdio
    poll: Poll
    fs: Fs
    recorder: Recorder | None = None
    replayer: Replayer | None = None
    mode: str = "live"
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def output(self) -> OutputLog:
        return self.stdio.log

    def attach_fuel(self, cell: FuelCell) -> None:
        """Count instructions on ``cell`` from now on (called once the store exists)."""
        if self.recorder is not None:
            self.recorder.attach(cell)
        if self.replayer is not None:
            self.replayer.attach(cell)


PreopenSpec = tuple[str, str, bool]
"""A directory to give the guest: (host path, guest path, read-only)."""


def live_world(
    argv: list[str], env: dict[str, str], streams: Streams, preopens: list[PreopenSpec]
) -> World:
    """The real OS, nothing recorded."""
    return World(
        clocks=LiveClocks(),
        random=LiveRandom(),
        cli=LiveCli(argv, env),
        stdio=LiveStdio(streams.stdin, streams.stdout, streams.stderr),
        poll=LivePoll({0: streams.stdin, 1: streams.stdout, 2: streams.stderr}),
        fs=LiveFs(preopens),
    )


def recording_world(live: World, writer: TraceWriter) -> World:
    """The ``live`` world (from :func:`live_world`), every answer appended to ``writer``."""
    rec = Recorder(writer)
    assert isinstance(live.clocks, LiveClocks) and isinstance(live.fs, LiveFs)
    return World(
        clocks=RecordingClocks(live.clocks, rec),
        random=RecordingRandom(live.random, rec),
        cli=RecordingCli(live.cli, rec),
        stdio=RecordingStdio(live.stdio, rec),
        poll=RecordingPoll(live.poll, rec),
        fs=RecordingFs(live.fs, rec),
        recorder=rec,
        mode="record",
    )


def replaying_world(trace: Trace, streams: Streams, check_fuel: bool) -> World:
    """Answers from ``trace``; output checked and re-emitted to ``streams``. Reads nothing else:
    not the clock, the random source, the environment, stdin, nor any file."""
    rep = Replayer(trace, ZeroFuel(), check_fuel)
    preopens = [
        Preopen(i + 1, guest, host, mode == "ro")
        for i, (host, guest, mode) in enumerate(trace.header.preopens)
    ]
    return World(
        clocks=ReplayingClocks(rep),
        random=ReplayingRandom(rep),
        cli=ReplayingCli(rep),
        stdio=ReplayingStdio(rep, {1: streams.stdout, 2: streams.stderr}),
        poll=ReplayingPoll(rep),
        fs=ReplayingFs(rep, preopens),
        replayer=rep,
        mode="replay",
    )
