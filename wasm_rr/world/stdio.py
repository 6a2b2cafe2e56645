"""Standard input, output and error.

Reads from stdin are answers from the outside world (recorded, replayed from the trace).
Writes to stdout and stderr are the guest's output: recording writes them and stores them;
replay checks them byte for byte against the recording and re-emits them. Every implementation
keeps an :class:`OutputLog` (blake3 and size per stream) for the trace footer.

A write that fails (a full disk, a closed pipe) is an answer of the world while recording: the
guest gets the errno, and the trace keeps it. While replaying, the guest gets the recorded answer
whatever happens to the re-emitted bytes; a stream that cannot be written is noted in the log
(:attr:`OutputLog.lost`), no more is written to it, and the replay goes on to its end, where
the caller reports the loss.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Protocol

import blake3

from ..errors import CorruptTraceError, OutputMismatchError
from ..trace.events import EventDecl, f
from .base import Recorder, Replayer, ViewSource, WorldError, describe, world_error_from_os
from .family import Chaos, Context, Family

READ = EventDecl(
    "io", "read", (f("fd", "uint"), f("max", "uint")), (f("data", "payload", errno=True),)
)
WRITE = EventDecl(
    "io", "write", (f("fd", "uint"),), (f("data", "payload"), f("written", "u32", errno=True))
)
ISATTY = EventDecl("io", "isatty", (f("fd", "uint"),), (f("tty", "uint"),))

STDIN, STDOUT, STDERR = 0, 1, 2


class OutputLog:
    """Hashes and counts what the guest wrote to stdout and stderr."""

    def __init__(self) -> None:
        self.hashers = {STDOUT: blake3.blake3(), STDERR: blake3.blake3()}
        self.sizes = {STDOUT: 0, STDERR: 0}
        self.lost: dict[int, tuple[int, str]] = {}
        """Streams a replay could not re-emit to: fd -> (the byte offset of the first write
        that failed, why)."""

    def add(self, fd: int, data: bytes) -> None:
        self.hashers[fd].update(data)
        self.sizes[fd] += len(data)

    def digest(self, fd: int) -> str:
        return str(self.hashers[fd].hexdigest())


class Stdio(Protocol):
    log: OutputLog

    def read(self, fd: int, n: int) -> bytes:
        """Up to ``n`` bytes from stdin (``b""`` at end of input); raises WorldError."""
        ...

    def read_into(self, fd: int, out: memoryview) -> int:
        """``read(fd, len(out))`` written into ``out`` (guest memory); returns the count. A large
        read never needs a bytes object of its size (recorded as ``read`` is)."""
        ...

    def write(self, fd: int, data: bytes) -> int:
        """Write to stdout or stderr; returns how many bytes were written."""
        ...

    def isatty(self, fd: int) -> bool:
        """Whether the stream is a terminal (libc picks line or full buffering by it)."""
        ...

    def close(self) -> None: ...


class LiveStdio:
    """The host's streams (or the ones a caller hands in)."""

    def __init__(self, stdin: BinaryIO | None, stdout: BinaryIO, stderr: BinaryIO) -> None:
        self._streams: dict[int, BinaryIO | None] = {STDIN: stdin, STDOUT: stdout, STDERR: stderr}
        self.log = OutputLog()

    def read(self, fd: int, n: int) -> bytes:
        stream = self._streams[STDIN]
        if stream is None:
            raise WorldError("EBADF")
        try:
            read1 = getattr(stream, "read1", None)
            data = read1(n) if read1 is not None else stream.read(n)
        except OSError as exc:
            raise world_error_from_os(exc) from None
        return bytes(data or b"")

    def read_into(self, fd: int, out: memoryview) -> int:
        stream = self._streams[STDIN]
        readinto1 = getattr(stream, "readinto1", None)
        if readinto1 is None:
            data = self.read(fd, len(out))
            out[: len(data)] = data
            return len(data)
        try:
            count: int | None = readinto1(out)
        except OSError as exc:
            raise world_error_from_os(exc) from None
        return count or 0

    def write(self, fd: int, data: bytes) -> int:
        stream = self._streams[fd]
        assert stream is not None
        try:
            stream.write(data)
            stream.flush()
        except OSError as exc:
            raise world_error_from_os(exc) from None
        self.log.add(fd, data)
        return len(data)

    def isatty(self, fd: int) -> bool:
        stream = self._streams[fd]
        if stream is None:
            return False
        try:
            return os.isatty(stream.fileno())
        except (OSError, ValueError, AttributeError):
            return False

    def close(self) -> None:
        pass


class ChaoticStdio(LiveStdio):
    """The live streams, with reads from stdin that may answer fewer bytes than asked (at
    least one), as a pipe does (``--chaos``)."""

    def __init__(
        self, stdin: BinaryIO | None, stdout: BinaryIO, stderr: BinaryIO, chaos: Chaos
    ) -> None:
        super().__init__(stdin, stdout, stderr)
        self._chaos = chaos

    def read(self, fd: int, n: int) -> bytes:
        return super().read(fd, self._chaos.short_read(n) if n > 1 else n)

    def read_into(self, fd: int, out: memoryview) -> int:
        n = len(out)
        return super().read_into(fd, out[: self._chaos.short_read(n) if n > 1 else n])


def _live(ctx: Context) -> LiveStdio:
    s = ctx.streams
    if ctx.sources.chaos is not None:
        return ChaoticStdio(s.stdin, s.stdout, s.stderr, ctx.sources.chaos)
    return LiveStdio(s.stdin, s.stdout, s.stderr)


class RecordingStdio:
    def __init__(self, live: Stdio, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        self.log = live.log
        self._read, self._write, self._isatty = (recorder.code(d) for d in (READ, WRITE, ISATTY))

    def read(self, fd: int, n: int) -> bytes:
        try:
            data = self._live.read(fd, n)
        except WorldError as err:
            self._rec.event(self._read, fd, n, err.name)
            raise
        self._rec.event(self._read, fd, n, self._rec.payload(data))
        return data

    def read_into(self, fd: int, out: memoryview) -> int:
        # The event read() records; the payload read back from ``out`` in pieces.
        try:
            count = self._live.read_into(fd, out)
        except WorldError as err:
            self._rec.event(self._read, fd, len(out), err.name)
            raise
        self._rec.event(self._read, fd, len(out), self._rec.payload_stream(ViewSource(out[:count])))
        return count

    def write(self, fd: int, data: bytes) -> int:
        try:
            written = self._live.write(fd, data)
        except WorldError as err:
            self._rec.event(self._write, fd, self._rec.payload(data), err.name)
            raise
        self._rec.event(self._write, fd, self._rec.payload(data), written)
        return written

    def isatty(self, fd: int) -> bool:
        value = self._live.isatty(fd)
        self._rec.event(self._isatty, fd, int(value))
        return value

    def close(self) -> None:
        self._live.close()


class ReplayingStdio:
    """Answers reads from the trace; checks writes and re-emits them to ``sinks``."""

    def __init__(self, replayer: Replayer, sinks: dict[int, BinaryIO]) -> None:
        self._r = replayer
        self._sinks = sinks
        self.log = OutputLog()
        self._read, self._write, self._isatty = (replayer.code(d) for d in (READ, WRITE, ISATTY))

    def read(self, fd: int, n: int) -> bytes:
        (answer,) = self._r.take(self._read, fd, n)
        if type(answer) is str:
            raise WorldError(answer)
        data: bytes = self._r.resolve_view(answer)  # type: ignore[assignment]
        return data

    def read_into(self, fd: int, out: memoryview) -> int:
        # From the mapped trace into guest memory, one copy.
        r = self._r
        (answer,) = r.take(self._read, fd, len(out))
        if type(answer) is str:
            raise WorldError(answer)
        data = r.resolve_view(answer)
        n = len(data)
        if n > len(out):
            raise CorruptTraceError(
                f"{r.trace.path}: event {r.seq} answers a read of {len(out)} bytes with {n}; "
                "the trace is damaged"
            )
        out[:n] = data
        return n

    def write(self, fd: int, data: bytes) -> int:
        r = self._r
        field, written = r.take(self._write, fd)
        recorded = r.resolve(field)
        if recorded != data:
            raise OutputMismatchError(
                r.seq,
                describe(WRITE, (fd, recorded)),
                "wrote " + describe(WRITE, (fd, data)),
                _first_difference(recorded, data),
            )
        if type(written) is str:
            raise WorldError(written)
        chunk = data[:written]
        sink = self._sinks.get(fd)
        log = self.log
        if sink is not None and fd not in log.lost:
            try:
                _write_all(sink, chunk)
            except OSError as exc:
                # The guest still gets what the recording got; the loss is reported at the end.
                log.lost[fd] = (log.sizes[fd], exc.strerror or str(exc) or type(exc).__name__)
        log.add(fd, chunk)
        return int(written)

    def isatty(self, fd: int) -> bool:
        (value,) = self._r.take(self._isatty, fd)
        return bool(value)

    def close(self) -> None:
        pass


FAMILY: Family[Stdio] = Family(
    "io",
    (READ, WRITE, ISATTY),
    live=_live,
    recording=lambda live, rec, ctx: RecordingStdio(live, rec),
    replaying=lambda rep, ctx: ReplayingStdio(
        rep, {STDOUT: ctx.streams.stdout, STDERR: ctx.streams.stderr}
    ),
    doc="standard input (recorded), output and error (recorded, checked on replay)",
)


def _write_all(sink: BinaryIO, data: bytes) -> None:
    """Write all of ``data`` and flush, continuing after short writes (a raw stream's)."""
    view = memoryview(data)
    while view:
        n = sink.write(view)
        if not n:
            raise OSError("the stream takes no more bytes")
        view = view[n:]
    sink.flush()


def _first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return f"first difference at byte {i}"
    return f"lengths {len(a)} and {len(b)}"


__all__ = [
    "FAMILY",
    "ISATTY",
    "READ",
    "STDERR",
    "STDIN",
    "STDOUT",
    "WRITE",
    "ChaoticStdio",
    "LiveStdio",
    "OutputLog",
    "RecordingStdio",
    "ReplayingStdio",
    "Stdio",
]
