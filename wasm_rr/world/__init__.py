"""The world the guest sees: one implementation per effect family, live, recording or replaying.

The ABI layers (``wasm_rr.abi``) decode a guest's call, ask ``world.get(FAMILY)`` (or one of
the shorthand properties below), and encode the answer. Which implementations they talk to is
chosen here, by the builder functions iterating :data:`~wasm_rr.world.registry.FAMILIES`, and
nowhere else. A family the registry lists by its declaration (``process``, ``http``) is built,
and its module imported, when the run first asks for it (:meth:`World.get`): a guest that
imports none of its functions never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..config import RunConfig
from ..trace.writer import TraceWriter
from . import cli as _cli
from . import clocks as _clocks
from . import fs as _fs
from . import poll as _poll
from . import random as _random
from . import stdio as _stdio
from .base import FrozenFuel, FuelCell, Recorder, Replayer, WorldError, ZeroFuel
from .family import (
    HOST,
    ByteSource,
    Chaos,
    ClockReader,
    ClockReaders,
    Context,
    Family,
    Sources,
    Streams,
)
from .registry import FAMILIES

if TYPE_CHECKING:
    from ..trace.reader import Trace
    from .stops import StopPlan

__all__ = [
    "HOST",
    "ByteSource",
    "Chaos",
    "ClockReader",
    "ClockReaders",
    "Context",
    "Sources",
    "Streams",
    "World",
    "WorldError",
    "live_world",
    "recording_world",
    "replaying_world",
]

T = TypeVar("T")


Build = Callable[[Family[Any]], Any]
"""How a world builds the implementation of a family on its first use."""


class World:
    """One implementation per registered family, all live, all recording or all replaying.
    ``impls`` holds those built so far; ``build`` makes the others when first asked for."""

    def __init__(
        self,
        impls: dict[str, Any],
        context: Context,
        mode: str,
        recorder: Recorder | None = None,
        replayer: Replayer | None = None,
        build: Build | None = None,
    ) -> None:
        self.impls = impls
        self.build = build
        self.context = context
        self.mode = mode
        self.recorder = recorder
        self.replayer = replayer
        self.fuel: FuelCell | None = None
        self.fuel_limit: int | None = None
        """The fuel the guest's store gets (None: more than any run uses). A replay of a
        stopped or cut-off recording sets it: the guest is stopped where the recording ends."""
        self.stops: StopPlan | None = None
        """Where a replay of a stopped or cut-off recording stops its guest (and wasm children
        running at the cut)."""
        self.clocks: _clocks.Clocks = impls["clock"]
        self.random: _random.Random = impls["random"]
        self.cli: _cli.Cli = impls["cli"]
        self.stdio: _stdio.Stdio = impls["io"]
        self.poll: _poll.Poll = impls["poll"]
        self.fs: _fs.Fs = impls["fs"]

    def get(self, family: Family[T]) -> T:
        """This world's implementation of ``family`` (built now if this is its first use)."""
        impl = self.impls.get(family.name)
        if impl is None:
            if self.build is None:
                raise KeyError(family.name)
            impl = self.impls[family.name] = self.build(family)
        return cast(T, impl)

    @property
    def config(self) -> RunConfig:
        return self.context.config

    @property
    def output(self) -> _stdio.OutputLog:
        return self.stdio.log

    def attach_fuel(self, cell: FuelCell) -> None:
        """Count instructions on ``cell`` from now on (called once the store exists)."""
        self.fuel = cell
        if self.recorder is not None:
            self.recorder.attach(cell)
        if self.replayer is not None:
            self.replayer.attach(cell)

    def keep_fuel(self) -> None:
        """The guest's store is ending: keep its count (a stopped recording's last event is
        stamped with it after the store is gone), read from a copy from now on."""
        if self.fuel is None:
            return
        frozen = FrozenFuel(self.fuel[0])
        self.fuel = frozen
        if self.recorder is not None:
            self.recorder.swap(frozen)
        if self.replayer is not None:
            self.replayer.swap(frozen)

    def close(self) -> None:
        """Close every family built (files, child processes), last registered first."""
        for family in reversed(FAMILIES):
            impl = self.impls.get(family.name)
            if impl is not None:
                impl.close()


def live_world(config: RunConfig, streams: Streams, sources: Sources = HOST) -> World:
    """The real OS, nothing recorded; clocks and random from ``sources`` (the host's by
    default: a test hands in reproducible ones, see :class:`Sources`)."""
    ctx = Context(config, streams, sources=sources)
    impls: dict[str, Any] = {}
    try:
        for family in FAMILIES:
            if isinstance(family, Family):
                impls[family.name] = family.live(ctx)
    except BaseException:
        for impl in reversed(impls.values()):
            impl.close()
        raise
    return World(impls, ctx, "live", build=lambda family: family.live(ctx))


def recording_world(live: World, writer: TraceWriter) -> World:
    """The ``live`` world (from :func:`live_world`, or any world), every answer appended to
    ``writer``. The recording implementations wrap whatever ``live`` holds."""
    rec = Recorder(writer)
    ctx = live.context

    def build(family: Family[Any]) -> Any:
        return family.recording(live.get(family), rec, ctx)

    impls = {f.name: build(f.load()) for f in FAMILIES if f.name in live.impls}
    return World(impls, ctx, "record", recorder=rec, build=build)


def replaying_world(trace: Trace, streams: Streams, check_fuel: bool) -> World:
    """Answers from ``trace``; output checked and re-emitted to ``streams``. Reads nothing else:
    not the clock, the random source, the environment, stdin, nor any file."""
    rep = Replayer(trace, ZeroFuel(), check_fuel)
    ctx = Context(trace.header.config, Streams(None, streams.stdout, streams.stderr))
    impls = {f.name: f.replaying(rep, ctx) for f in FAMILIES if isinstance(f, Family)}
    return World(impls, ctx, "replay", replayer=rep, build=lambda f: f.replaying(rep, ctx))
