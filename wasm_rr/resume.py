"""Resuming a recording cut off by a crash: replay up to the cut, then run on live, appending.

A trace with no footer (the recorder was killed) is replayed up to its last complete event with
replay's guarantees (nothing written, spawned, sent or read from the world), then the same guest
instance goes on against the real world, recording into the same file after that event; the
footer is written at the end as usual, so the whole run, cut and resumed, replays as one.

The switch happens in a *resuming world*: each family's implementation is a :class:`_Switch`
that answers through the replaying implementation until every recorded event was taken, then
through the recording-over-live one (all families at once). The live side re-establishes what
the guest holds: files and directories open at the cut are opened again by the path they were
opened with (never created or truncated) under the same handle numbers, the clocks go on (the
monotonic and CPU-time clocks never go back for the guest), standard input continues from this
process's stdin. A trace whose last event is a journalled intent (the effect was in flight) is
resolved by the effect's family policy (see :mod:`wasm_rr.world.journal`, docs/resume.md).
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2

from . import __version__
from .abi.engines import compile_module
from .abi.interrupt import GuestTimeout
from .config import RunConfig
from .engine import (
    _KEPT,
    WASMTIME_VERSION,
    Guest,
    RunResult,
    SiteRegister,
    _note_stop,
    _provide,
    _run,
    as_guest,
    embedded_guest,
    footer,
)
from .errors import (
    CodeHashMismatchError,
    PendingIntentError,
    ResumeError,
    TraceWriteError,
    UnresolvedIntentError,
    UnusedEventsError,
)
from .trace import reader
from .trace.events import BLOB, SITE
from .trace.reader import _decode_prefix
from .trace.writer import TraceWriter
from .world import HOST, Context, Sources, Streams, World, live_world, stops
from .world import clocks as clocks_family
from .world import http as http_family
from .world import process as process_family
from .world import stdio as stdio_family
from .world.base import Recorder, Replayer, WorldError, ZeroFuel
from .world.fs import FsConfigError, LiveFs, OpenFlags
from .world.journal import ASSUME_DONE, ASSUME_NOT_DONE, STOPPED, Journal
from .world.registry import EVENTS, FAMILIES

ASSUME = (ASSUME_DONE, ASSUME_NOT_DONE)


@dataclass
class _Handle:
    root: int
    """The preopen it was reached from."""
    path: str
    """Its path below that preopen, as the guest named it (joined through the opens)."""
    flags: int
    type: str


@dataclass
class Cut:
    """What the trace says about the world at its cut."""

    offset: int
    """Bytes of the file kept: up to the end of the last complete event."""
    events: int
    blobs: list[bytes]
    """The digests of the blobs before that point, in order (their ordinals)."""
    clocks: list[int | None] = field(default_factory=lambda: [None] * 4)
    """The last value the guest read from each clock."""
    handles: dict[int, _Handle] = field(default_factory=dict)
    """The file-system handles open at the cut."""
    next_handle: int = 1
    in_child: str | None = None
    """The wasm child running at the cut, if any."""
    pending: tuple[int, str, list[Any]] | None = None
    """The intent the trace ends with (seq, effect, call): the effect in flight."""


def scan(trace: reader.Trace) -> Cut:
    """The state of the world a cut-off trace leaves: read from its events and its bytes."""
    items, end, kinds = trace.items, trace.end, trace.kinds
    names = {code: decl.name for code, decl in kinds.items()}
    arity = trace.arity
    preopens = len(trace.header.config.dirs)
    known: dict[int, _Handle] = {}
    open_now: dict[int, _Handle] = {}
    clocks: list[int | None] = [None] * 4
    blobs: list[bytes] = []
    kept_blobs = 0
    events = 0
    stop = 0
    highest = preopens
    children: list[str] = []
    pending: tuple[int, str, list[Any]] | None = None
    i = 0
    while i < end:
        k = items[i]
        n = arity[k]
        if k == BLOB:
            blobs.append(bytes(items[i + 1]))
        elif k != SITE:
            events += 1
            name = names[k]
            fields = items[i + 2 : i + 1 + n]
            if name == "clock.now":
                clock, delta = fields
                if 0 <= clock < 4:
                    clocks[clock] = (clocks[clock] or 0) + delta
            elif name == "fs.open" and isinstance(fields[1], list):
                (dir, path, flags), (h, kind) = fields
                root, base = (dir, "") if dir <= preopens else _origin(known, dir)
                handle = _Handle(root, f"{base}/{path}" if base else path, flags, kind)
                known[h] = open_now[h] = handle
                highest = max(highest, h)
            elif name == "fs.close" and fields[1] is None:
                open_now.pop(fields[0][0], None)
            elif name == "process.wasm_start" and fields[-2] is None:
                children.append(str(fields[0]))
            elif name == "process.wasm_end" and children:
                children.pop()
            if name == "journal.intent":
                pending = (events, str(fields[0]), list(fields[1]))
            elif name != "journal.resolved":
                pending = None
            stop = i + 1 + n
            kept_blobs = len(blobs)
        i += 1 + n
    return Cut(
        _offset_after(trace, stop),
        events,
        blobs[:kept_blobs],
        clocks,
        open_now,
        highest + 1,
        children[-1] if children else None,
        pending,
    )


def _origin(known: dict[int, _Handle], dir: int) -> tuple[int, str]:
    parent = known.get(dir)
    if parent is None:
        return dir, ""  # not opened in this trace: the guest's answer was an error anyway
    return parent.root, parent.path


def _offset_after(trace: reader.Trace, stop: int) -> int:
    """The byte offset in the trace file after its first ``stop`` items of events."""
    with open(trace.path, "rb") as fh:
        data = fh.read()
    _, _, offset = _decode_prefix(data, trace.path)
    stream = io.BytesIO(data)
    stream.seek(offset)
    dec = cbor2.CBORDecoder(stream)
    for _ in range(stop):
        dec.decode()
    return stream.tell()


class _Switch:
    """One family in a resuming world: its replaying implementation until the trace is used
    up, then its recording implementation over live. Methods are looked up on the current
    implementation at every call (the ABI layers keep bound methods)."""

    def __init__(self, first: Any, state: _Resuming) -> None:
        self.__dict__["_cur"] = first
        self.__dict__["_state"] = state

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._cur, name)
        if not callable(value):
            return value  # data (the output log): always the current implementation's
        state = self._state
        me = self

        def call(*args: Any, **kwargs: Any) -> Any:
            if not state.switched and state.used_up():
                state.switch(None)
            try:
                return getattr(me._cur, name)(*args, **kwargs)
            except PendingIntentError as pending:
                if state.switched:
                    raise
                state.switch(pending)  # the effect in flight: its family resolves it
                return getattr(me._cur, name)(*args, **kwargs)

        self.__dict__[name] = call
        return call

    def close(self) -> None:
        self._cur.close()


class _Resuming:
    """The switch: what the resuming world needs to go from replaying to recording."""

    def __init__(
        self,
        rep: Replayer,
        cut: Cut,
        live: World,
        recorder: Recorder,
        sources: Sources,
        assume: str | None,
    ) -> None:
        self.rep = rep
        self.cut = cut
        self.live = live
        self.recorder = recorder
        self.sources = sources
        self.assume = assume
        self.switched = False
        self.switches: dict[str, _Switch] = {}
        self.world: World | None = None
        self.replaying: dict[str, Any] = {}

    def used_up(self) -> bool:
        return self.rep.seq >= self.cut.events

    def switch(self, pending: PendingIntentError | None) -> None:
        assert self.world is not None and not self.switched
        self.switched = True
        rec, live, ctx = self.recorder, self.live, self.live.context
        if self.world.fuel is not None:
            rec.writer.attach_fuel(self.world.fuel, self.rep.fuel_mark())
        journal = Journal.of(rec)
        journal.pending = pending
        journal.assume = self.assume
        for declared in FAMILIES:
            family = declared.load()
            impl = live.get(family)
            if family.name == stdio_family.FAMILY.name:
                impl.log = self.replaying[family.name].log  # the footer covers the whole run
            if family.name == clocks_family.FAMILY.name:
                self.switches[family.name].__dict__["_cur"] = self._clocks(rec, ctx)
                continue
            self.switches[family.name].__dict__["_cur"] = family.recording(impl, rec, ctx)

    def _clocks(self, rec: Recorder, ctx: Context) -> Any:
        """Recording clocks that go on from the values the guest read: the recorded differences
        continue the replayed ones, and the monotonic and CPU-time clocks never go back (the
        live reading is moved forward when this process's clock is behind the recording's)."""
        readers = self.sources.clocks or clocks_family.HOST_CLOCKS
        last = self.cut.clocks
        base = [v or 0 for v in last]
        shift = [0, 0, 0, 0]
        for c in (clocks_family.MONOTONIC, clocks_family.PROCESS_CPUTIME, 3):
            value = last[c]
            if value is not None:
                shift[c] = max(0, value - readers[c]())

        def reader(c: int) -> Callable[[], int]:
            read, k = readers[c], shift[c] - base[c]
            return lambda: read() + k

        live = clocks_family.LiveClocks((reader(0), reader(1), reader(2), reader(3)))
        return _ContinuedClocks(clocks_family.RecordingClocks(live, rec), base)


class _ContinuedClocks:
    def __init__(self, rec: clocks_family.RecordingClocks, base: list[int]) -> None:
        self._rec = rec
        now = rec.now

        def go_on(clock_id: int) -> int:
            return now(clock_id) + base[clock_id]

        self.now = go_on

    def resolution(self, clock_id: int) -> int:
        return self._rec.resolution(clock_id)

    def close(self) -> None:
        self._rec.close()


def _unobservable(effect: str, call: list[Any], config: RunConfig) -> str | None:
    """How the effect in flight is named when its family's policy is to ask (a host program; a
    non-idempotent request sent without an idempotency key), else None. The families decide
    again when the guest reaches it (``RecordingProcess``, ``RecordingHttp``)."""
    if effect == process_family.EFFECT and call:
        return f"({' '.join([str(call[0]), *map(str, call[1])])})"
    if effect == http_family.EFFECT and len(call) >= 2:
        if str(call[0]).upper() in http_family.IDEMPOTENT:
            return None
        if http_family.Options.of(config).idempotency_key is not None:
            return None
        return f"{call[0]} {call[1]}"
    return None


def _journal_first(kind: str) -> tuple[bool, str]:
    return not kind.startswith("journal."), kind


def _check(trace: reader.Trace, guest: Guest) -> None:
    p = trace.path
    if not trace.cut_off:
        raise ResumeError(
            f"cannot resume {p}: the recording is complete (it ends with its footer); there is "
            "nothing to resume, replay it with `wasm-rr replay`"
        )
    optional = {STOPPED.name}  # only a stopped recording ends with one
    missing = sorted(set(EVENTS) - set(trace.header.kinds.values()) - optional, key=_journal_first)
    if trace.version < 2 or missing:
        raise ResumeError(
            f"cannot resume {p}: it was recorded before wasm-rr journalled effects (it lacks "
            f"the event kinds {', '.join(missing[:3])}); it replays, but only a trace recorded "
            f"by wasm-rr {__version__} with the journal can be resumed"
        )
    if guest.blake3 != trace.header.guest_blake3:
        raise CodeHashMismatchError(trace.header.guest_blake3, guest.blake3, resuming=True)
    if trace.header.wasmtime_version != WASMTIME_VERSION:
        raise ResumeError(
            f"cannot resume {p}: it was recorded with wasmtime {trace.header.wasmtime_version}, "
            f"this is {WASMTIME_VERSION}; the guest would not reach the cut at the same "
            "instruction (install the recording's wasmtime)"
        )


def _reopen(fs: Any, cut: Cut, config: RunConfig, p: str) -> None:
    """Open the handles the guest holds at the cut again, with the same numbers."""
    if not isinstance(fs, LiveFs):
        return
    for h in sorted(cut.handles):
        handle = cut.handles[h]
        flags = OpenFlags(*(bool(handle.flags >> i & 1) for i in range(8)))
        root = config.dirs[handle.root - 1] if 0 < handle.root <= len(config.dirs) else None
        shown = f"{root.guest.rstrip('/')}/{handle.path}" if root else handle.path
        try:
            opened = fs.reopen(h, handle.root, handle.path or ".", flags)
        except WorldError as err:
            raise ResumeError(
                f"cannot resume {p}: {shown} (open as handle {h} when the recording stopped) "
                f"cannot be opened again ({err.name}); put it back, or record again"
            ) from None
        if opened.handle != h or opened.type != handle.type:
            raise ResumeError(
                f"cannot resume {p}: {shown} (open as handle {h}, a {handle.type}) is now a "
                f"{opened.type}; put it back, or record again"
            )
    fs.count_from(cut.next_handle)


def resume(
    guest_path: str | os.PathLike[str] | Guest | None,
    trace_path: str | os.PathLike[str],
    streams: Streams,
    *,
    assume: str | None = None,
    timeout: float | None = None,
    sources: Sources = HOST,
) -> RunResult:
    """Resume the cut-off recording ``trace_path``: replay it to its last complete event, then
    run on live, appending to the same file, and end it with a footer. ``assume`` answers for
    an effect in flight that cannot be observed (``"assume-done"``, ``"assume-not-done"``;
    None: stop with :class:`~wasm_rr.errors.UnresolvedIntentError`). Output replayed before
    the cut is written to ``streams`` again, so they get the whole run's output."""
    if assume is not None and assume not in ASSUME:
        raise ValueError(f"assume must be one of {ASSUME}, not {assume!r}")
    loaded = reader.load(trace_path)
    trace = stops.without_stop(loaded)  # stopped there: it goes on from there
    guest = embedded_guest(trace) if guest_path is None else as_guest(guest_path)
    _check(trace, guest)
    cut = scan(trace)
    p = trace.path
    if cut.events == 0:
        raise ResumeError(
            f"cannot resume {p}: it holds no event (the recorder stopped before the guest asked "
            "anything); record it again"
        )
    if cut.in_child is not None:
        raise ResumeError(
            f"cannot resume {p}: the recording stopped inside the wasm child {cut.in_child}; "
            "resuming inside a wasm child is not supported, record again"
        )
    config = trace.header.config
    if cut.pending is not None and assume is None:
        seq, effect, call = cut.pending
        what = _unobservable(effect, call, config)
        if what is not None:  # stop now, before anything is replayed
            raise UnresolvedIntentError(seq, effect, what)
    if guest.kind == "module":
        compile_module(guest)
    try:
        live = live_world(config, streams, sources)
    except FsConfigError as exc:
        raise ResumeError(f"cannot resume {p}: {exc}; the recording's directory is gone") from None
    try:
        _reopen(live.fs, cut, config, p)
        writer = TraceWriter(p, trace.header, continue_at=(cut.offset, cut.events, cut.blobs))
    except BaseException:
        live.close()
        raise
    register = SiteRegister(guest.sites) if guest.sites is not None else None
    if register is not None:
        writer.enable_sites(register)
    rep = Replayer(trace, ZeroFuel(), check_fuel=True)
    if register is not None:
        rep.enable_sites(register)
    recorder = Recorder(writer)
    state = _Resuming(rep, cut, live, recorder, sources, assume)
    ctx = live.context
    replay_ctx = Context(config, Streams(None, streams.stdout, streams.stderr), ctx.services)
    for declared in FAMILIES:
        family = declared.load()
        state.replaying[family.name] = family.replaying(rep, replay_ctx)
        state.switches[family.name] = _Switch(state.replaying[family.name], state)
    world = _provide(World(dict(state.switches), ctx, "resume", recorder, rep))
    state.world = world
    started = time.monotonic_ns()
    try:
        outcome = _run(guest, world, register, timeout, _KEPT)
        if not state.switched and not state.used_up():
            raise UnusedEventsError(
                rep.seq + 1,
                f"{cut.events - rep.seq} more event(s), next {rep.next_description()}",
                f"ended ({outcome.describe()})",
            )
    except BaseException as exc:
        try:
            stopped = isinstance(exc, KeyboardInterrupt | GuestTimeout)
            if state.switched or (stopped and state.used_up() and world.fuel is not None):
                # Stopped while running on (past the cut, perhaps without a call since): how
                # far it got, as a recording says it.
                if not state.switched and world.fuel is not None:
                    writer.attach_fuel(world.fuel, rep.fuel_mark())
                _note_stop(writer, exc, time.monotonic_ns() - started, timeout)
            else:  # stopped before the cut: the trace stays as it was
                _restore_stop(writer, loaded)
        finally:
            writer.close(None)
            _close(world, live, state)
        raise
    _close(world, live, state)
    writer.close(footer(writer, world, outcome))
    return RunResult(outcome, writer.events, p, guest.sites)


def _restore_stop(writer: TraceWriter, trace: reader.Trace) -> None:
    """Write back the ``journal.stopped`` event ``trace`` ended with, if it did (resuming
    dropped it, then was stopped before it got there)."""
    plan = stops.plan(trace, True)
    stopped = plan.stopped if plan is not None else None
    if stopped is None:
        return
    with contextlib.suppress(TraceWriteError, OSError):  # a full disk: the cut stays a cut
        writer.event_with_fuel(
            writer.code(STOPPED),
            stopped.fuel,
            stopped.reason,
            stopped.after_ns,
            stopped.timeout_ns,
        )


def _close(world: World, live: World, state: _Resuming) -> None:
    world.close()
    if not state.switched:
        live.close()
        return
    for impl in state.replaying.values():
        impl.close()
