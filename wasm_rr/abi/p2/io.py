"""``wasi:io``: error, poll and streams, answered through ``world.stdio``, ``world.fs`` and
``world.poll``.

Streams are host objects behind resource handles: stdin, stdout and stderr go to
``world.stdio``; streams of a file (``read-via-stream``, ``write-via-stream``,
``append-via-stream``) go to ``world.fs`` at their own offset. Pollables say what they wait
for as a world :class:`~wasm_rr.world.poll.Subscription` (a monotonic deadline, stdin
readable) or are ready at once (output streams, files); ``poll`` asks ``world.poll.wait``
only when none is ready at once, like the preview1 host.
"""

from __future__ import annotations

import ctypes

from ...world import World, WorldError
from ...world.clocks import MONOTONIC
from ...world.poll import CLOCK, FD_READ, Subscription
from .. import _wasmtime
from ..outcome import GuestTrap
from . import canon
from .canon import BOOL_T, BYTES_T, STRING_T, U32_T, U64_T, VAL_SIZE, Value
from .host import ComponentHost, Fail, RawCallback
from .wit import (
    CLOSED,
    ERROR,
    INPUT_STREAM,
    OUTPUT_STREAM,
    POLLABLE,
    STREAM_ERROR,
    IoError,
    iface,
)

# ---- pollables -----------------------------------------------------------------------------------


class Pollable:
    """Ready at once (the default) or when its world subscription fires."""

    def subscription(self, userdata: int) -> Subscription | None:
        return None


class ClockPollable(Pollable):
    """Ready when the monotonic clock reaches ``deadline`` (ns)."""

    def __init__(self, deadline: int) -> None:
        self.deadline = deadline

    def subscription(self, userdata: int) -> Subscription | None:
        return Subscription(userdata, CLOCK, MONOTONIC, self.deadline, True)


class StdinPollable(Pollable):
    def subscription(self, userdata: int) -> Subscription | None:
        return Subscription(userdata, FD_READ, 0)


READY = Pollable()


class Poller:
    def __init__(self, world: World) -> None:
        self.world = world

    def poll(self, pollables: list[Pollable]) -> list[int]:
        if not pollables:
            raise GuestTrap("poll: the list of pollables is empty")
        subs: list[Subscription] = []
        immediate: list[int] = []
        for i, p in enumerate(pollables):
            sub = p.subscription(i)
            if sub is None:
                immediate.append(i)
            else:
                subs.append(sub)
        if immediate:
            return immediate
        return sorted({r.userdata for r in self.world.poll.wait(subs)})

    def ready(self, p: Pollable) -> bool:
        sub = p.subscription(0)
        if sub is None:
            return True
        # A subscription that fires at once makes the question non-blocking.
        now = Subscription(1, CLOCK, MONOTONIC, 0, False)
        return any(r.userdata == 0 for r in self.world.poll.wait([sub, now]))

    def block(self, p: Pollable) -> None:
        self.poll([p])


# ---- streams -------------------------------------------------------------------------------------


class InputStream:
    def read(self, n: int) -> bytes:
        """Up to ``n`` bytes; raises Fail(closed) at the end, WorldError on failure."""
        raise Fail(CLOSED)

    def subscribe(self) -> Pollable:
        return READY


class StdinStream(InputStream):
    def __init__(self, world: World) -> None:
        self._read = world.stdio.read

    def read(self, n: int) -> bytes:
        if n == 0:
            return b""
        data = self._read(0, n)
        if not data:
            raise Fail(CLOSED)
        return data

    def subscribe(self) -> Pollable:
        return StdinPollable()


WRITE_BUDGET = 4096
"""What ``check-write`` allows at a time (the preview1 adapter writes 4096-byte chunks)."""


class OutputStream:
    def write(self, data: bytes) -> None:
        raise Fail(CLOSED)

    def check_write(self) -> int:
        return WRITE_BUDGET

    def subscribe(self) -> Pollable:
        return READY


class StdioOutput(OutputStream):
    def __init__(self, world: World, fd: int) -> None:
        self._write = world.stdio.write
        self.fd = fd

    def write(self, data: bytes) -> None:
        if data:
            self._write(self.fd, data)


class Child:
    """Something that keeps a parent resource (a descriptor) open until it is dropped."""

    def release(self) -> None:
        pass


# ---- registration --------------------------------------------------------------------------------


def define(host: ComponentHost, world: World) -> Poller:
    poller = Poller(world)
    own_pollable = canon.Own(POLLABLE)
    borrow_pollable = canon.Borrow(POLLABLE)
    borrow_in = canon.Borrow(INPUT_STREAM)
    borrow_out = canon.Borrow(OUTPUT_STREAM)
    borrow_err = canon.Borrow(ERROR)
    bytes_or_error = canon.Result(BYTES_T, STREAM_ERROR)
    u64_or_error = canon.Result(U64_T, STREAM_ERROR)
    done_or_error = canon.Result(None, STREAM_ERROR)

    error_i = iface("wasi:io/error")
    host.resource(error_i, "error", ERROR)
    host.func(
        error_i,
        "[method]error.to-debug-string",
        [borrow_err],
        STRING_T,
        lambda e: e.debug_string(),
    )

    poll_i = iface("wasi:io/poll")
    host.resource(poll_i, "pollable", POLLABLE)
    host.func(poll_i, "[method]pollable.ready", [borrow_pollable], BOOL_T, poller.ready)
    host.func(poll_i, "[method]pollable.block", [borrow_pollable], None, poller.block)
    host.func(poll_i, "poll", [canon.List(borrow_pollable)], canon.List(U32_T), poller.poll)

    streams = iface("wasi:io/streams")
    host.resource(streams, "input-stream", INPUT_STREAM, _release)
    host.resource(streams, "output-stream", OUTPUT_STREAM, _release)

    def skip(s: InputStream, n: int) -> int:
        return len(s.read(n))

    def write(s: OutputStream, data: bytes) -> None:
        s.write(data)

    def flush(s: OutputStream) -> None:
        return None

    def write_zeroes(s: OutputStream, n: int) -> None:
        s.write(bytes(n))

    def splice(dst: OutputStream, src: InputStream, n: int) -> int:
        try:
            data = src.read(min(n, WRITE_BUDGET))
        except WorldError as err:
            raise Fail(("last-operation-failed", IoError(err.name))) from None
        dst.write(data)
        return len(data)

    for name in ("read", "blocking-read"):
        host.raw(streams, f"[method]input-stream.{name}", _read_body(host, bytes_or_error))
    for name in ("skip", "blocking-skip"):
        host.func(streams, f"[method]input-stream.{name}", [borrow_in, U64_T], u64_or_error, skip)
    host.func(
        streams,
        "[method]input-stream.subscribe",
        [borrow_in],
        own_pollable,
        lambda s: s.subscribe(),
    )
    host.func(
        streams,
        "[method]output-stream.check-write",
        [borrow_out],
        u64_or_error,
        lambda s: s.check_write(),
    )
    for name in ("write", "blocking-write-and-flush"):
        host.raw(streams, f"[method]output-stream.{name}", _write_body(host, done_or_error))
    for name in ("flush", "blocking-flush"):
        host.func(streams, f"[method]output-stream.{name}", [borrow_out], done_or_error, flush)
    for name in ("write-zeroes", "blocking-write-zeroes-and-flush"):
        host.func(
            streams,
            f"[method]output-stream.{name}",
            [borrow_out, U64_T],
            done_or_error,
            write_zeroes,
        )
    for name in ("splice", "blocking-splice"):
        host.func(
            streams,
            f"[method]output-stream.{name}",
            [borrow_out, borrow_in, U64_T],
            u64_or_error,
            splice,
        )
    host.func(
        streams,
        "[method]output-stream.subscribe",
        [borrow_out],
        own_pollable,
        lambda s: s.subscribe(),
    )
    return poller


def _release(obj: object) -> None:
    if isinstance(obj, Child):
        obj.release()


def _error_value(exc: BaseException) -> Value:
    if isinstance(exc, Fail):
        return exc.value
    assert isinstance(exc, WorldError)
    return ("last-operation-failed", IoError(exc.name))


def _read_body(host: ComponentHost, result: canon.Result) -> RawCallback:
    """``input-stream.read``/``blocking-read`` (self, len) -> result<list<u8>, stream-error>,
    as a raw callback (see :meth:`ComponentHost.raw`): the arguments are read in place, the
    bytes lowered into a boxed list."""
    table = host.table
    fail = host.fail
    rep_of = canon.rep_of
    lower_bytes = canon.lower_bytes
    u64 = ctypes.c_uint64.from_address
    u8 = ctypes.c_uint8.from_address
    box = ctypes.create_string_buffer(VAL_SIZE)  # the closure keeps it alive (see below)
    box_addr = ctypes.addressof(box)
    val_new = _wasmtime.val_new

    def callback(
        env: int,
        ctx: int,
        ty: int,
        args: int,
        nargs: int,
        results: int,
        nresults: int,
        box: ctypes.Array[ctypes.c_char] = box,
    ) -> int:
        try:
            host.ctx = ctx
            cell = u64(args + 8)
            any_ptr = cell.value
            cell.value = 0
            stream = table[rep_of(ctx, any_ptr)]
            n = u64(args + VAL_SIZE + 8).value
            try:
                data = stream.read(n)
            except (Fail, WorldError) as exc:
                result.lower(host, results, ("err", _error_value(exc)))
                return 0
            lower_bytes(box_addr, data)
            u64(results + 16).value = val_new(box_addr)
            u64(results + 8).value = 1
            u8(results).value = canon.RESULT
        except BaseException as exc:  # every exception: see ComponentHost.raw
            return fail(exc)
        return 0

    return callback


def _write_body(host: ComponentHost, result: canon.Result) -> RawCallback:
    """``output-stream.write``/``blocking-write-and-flush`` (self, list<u8>) ->
    result<_, stream-error>, as a raw callback."""
    table = host.table
    fail = host.fail
    rep_of = canon.rep_of
    lift_bytes = canon.lift_bytes
    u64 = ctypes.c_uint64.from_address
    u8 = ctypes.c_uint8.from_address

    def callback(
        env: int, ctx: int, ty: int, args: int, nargs: int, results: int, nresults: int
    ) -> int:
        try:
            host.ctx = ctx
            cell = u64(args + 8)
            any_ptr = cell.value
            cell.value = 0
            stream = table[rep_of(ctx, any_ptr)]
            try:
                stream.write(lift_bytes(args + VAL_SIZE))
            except (Fail, WorldError) as exc:
                result.lower(host, results, ("err", _error_value(exc)))
                return 0
            u64(results + 8).value = 1  # is_ok, and its padding
            u64(results + 16).value = 0  # no payload
            u8(results).value = canon.RESULT
        except BaseException as exc:  # every exception: see ComponentHost.raw
            return fail(exc)
        return 0

    return callback


__all__ = [
    "READY",
    "WRITE_BUDGET",
    "Child",
    "ClockPollable",
    "InputStream",
    "OutputStream",
    "Pollable",
    "Poller",
    "StdinPollable",
    "StdinStream",
    "StdioOutput",
    "define",
]
