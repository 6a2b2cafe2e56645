"""An effect family as a plug-in: its event declarations and its three implementations.

A family module (``clocks``, ``fs``, ``process``...) ends with one :class:`Family` value that
names the family, lists its :class:`~wasm_rr.trace.events.EventDecl` kinds, and says how to
build its live implementation (asks the OS), its recording one (wraps *any* implementation of
the family's protocol and appends events) and its replaying one (answers from the trace).
:mod:`wasm_rr.world.registry` lists the families; the world builders iterate it.

A family most guests never use (``process``, ``http``) is registered by its
:class:`Declaration` instead: its name and kinds, from a small ``<family>_events`` module, and
the module whose ``FAMILY`` implements it, imported the first time a run asks for the family
(``world.get(FAMILY)``). A trace's header, the reader, ``inspect`` and ``diff`` need only the
kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Protocol, TypeVar

from ..config import RunConfig
from ..trace.events import EventDecl

if TYPE_CHECKING:
    from .base import Recorder, Replayer


@dataclass
class Streams:
    """The host streams a run is connected to."""

    stdin: BinaryIO | None
    stdout: BinaryIO
    stderr: BinaryIO


ClockReader = Callable[[], int]
"""One clock: its current value in nanoseconds."""

ClockReaders = tuple[ClockReader, ClockReader, ClockReader, ClockReader]
"""The four clocks, by preview1 clock id: realtime, monotonic, process CPU time, thread CPU
time."""

ByteSource = Callable[[int], bytes]
"""A random source: ``n`` bytes."""

DirEntry = tuple[bytes, str, int]
"""One directory entry as the fs family lists it: name, file type, inode."""


class Chaos(Protocol):
    """Answers a live world varies within what WASI allows (``wasm-rr fuzz --chaos``): the live
    clocks, stdio and fs consult it when :attr:`Sources.chaos` is set; with ``None`` they are
    built without it (no cost). A recording records whatever the chaotic world answered."""

    def short_read(self, n: int) -> int:
        """How many of the ``n`` bytes a read asks for (``n >= 1``) it may answer: ``1..n``."""
        ...

    def shuffle(self, entries: list[DirEntry]) -> list[DirEntry]:
        """A directory listing in another order (the same order for the same listing within a
        run, as a real directory that does not change lists the same way twice)."""
        ...

    def clock(self, clock_id: int, value: int) -> int:
        """What clock ``clock_id`` answers when it read ``value``: the wall clock may jump back
        or forward; the others only forward, and never below an earlier answer."""
        ...


@dataclass(frozen=True)
class Sources:
    """Where a live world's non-determinism comes from: the seam through which a test (or a
    reproducible recording) chooses what the clocks and the random source answer.

    ``None`` is the host's: its clocks, its ``getrandom``. A recording world records whatever
    these answer, so its trace replays exactly as any other. Replay reads none of them.
    """

    clocks: ClockReaders | None = None
    """The four clocks (:func:`wasm_rr.world.clocks.stepping` builds reproducible ones)."""
    random: ByteSource | None = None
    """The secure random source (:func:`wasm_rr.world.random.seeded`,
    :func:`wasm_rr.world.random.scripted`)."""
    insecure_random: ByteSource | None = None
    """The insecure one; when ``None`` and :attr:`random` is set, :attr:`random` answers it too
    (a seeded world stays seeded)."""
    chaos: Chaos | None = None
    """Short reads, shuffled directory listings and clock jumps (:class:`Chaos`); ``None``: the
    world answers as the OS does."""


HOST = Sources()
"""The host's clocks and random source."""


@dataclass
class Context:
    """What a family's builders may use: the run's configuration and streams, where its
    non-determinism comes from (live builders only), and a slot for services the engine
    provides once the world exists (running a wasm child)."""

    config: RunConfig
    streams: Streams
    services: dict[str, Any] = field(default_factory=dict)
    sources: Sources = HOST


T = TypeVar("T")


@dataclass(frozen=True)
class Family(Generic[T]):
    name: str
    events: tuple[EventDecl, ...]
    live: Callable[[Context], T]
    recording: Callable[[T, Recorder, Context], T]
    replaying: Callable[[Replayer, Context], T]
    doc: str = ""

    def load(self) -> Family[T]:
        """The family itself (see :meth:`Declaration.load`)."""
        return self


@dataclass(frozen=True)
class Declaration:
    """A family registered without its implementation: its name and kinds, and the module
    whose ``FAMILY`` implements it (imported by :meth:`load`, on the family's first use)."""

    name: str
    events: tuple[EventDecl, ...]
    module: str
    """The implementing module, e.g. ``wasm_rr.world.process``."""
    doc: str = ""

    def load(self) -> Family[Any]:
        """The :class:`Family` this declares (importing its module the first time)."""
        family: Family[Any] = importlib.import_module(self.module).FAMILY
        assert family.name == self.name and family.events == self.events, self.module
        return family


Declared = Family[Any] | Declaration
"""What the registry lists: a family, or the declaration of one loaded on first use."""

__all__ = [
    "HOST",
    "ByteSource",
    "Chaos",
    "ClockReader",
    "ClockReaders",
    "Context",
    "Declaration",
    "Declared",
    "DirEntry",
    "Family",
    "Sources",
    "Streams",
]
