"""An effect family as a plug-in: its event declarations and its three implementations.

A family module (``clocks``, ``fs``, ``process``...) ends with one :class:`Family` value that
names the family, lists its :class:`~wasm_rr.trace.events.EventDecl` kinds, and says how to
build its live implementation (asks the OS), its recording one (wraps *any* implementation of
the family's protocol and appends events) and its replaying one (answers from the trace).
:mod:`wasm_rr.world.registry` lists the families; the world builders iterate it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO, Generic, Protocol, TypeVar

from ..config import RunConfig
from ..trace.events import EventDecl

if TYPE_CHECKING:
    from .base import Recorder, Replayer


class Closable(Protocol):
    def close(self) -> None:
        """Release what the implementation holds (open files, child processes)."""
        ...


@dataclass
class Streams:
    """The host streams a run is connected to."""

    stdin: BinaryIO | None
    stdout: BinaryIO
    stderr: BinaryIO


@dataclass
class Context:
    """What a family's builders may use: the run's configuration and streams, and a slot for
    services the engine provides once the world exists (running a wasm child)."""

    config: RunConfig
    streams: Streams
    services: dict[str, Any] = field(default_factory=dict)


T = TypeVar("T")


@dataclass(frozen=True)
class Family(Generic[T]):
    name: str
    events: tuple[EventDecl, ...]
    live: Callable[[Context], T]
    recording: Callable[[T, Recorder, Context], T]
    replaying: Callable[[Replayer, Context], T]
    doc: str = ""
