"""Streaming, crash-safe trace writer.

The file is memory-mapped and grown in steps; each event is copied into the mapping with its
first byte stored last. The first byte of an event is its kind (never 0) and the unwritten tail
of the file is zeros, so whatever instant the recorder is killed at (SIGKILL included), the file
holds only complete events followed by zero padding, which the reader recognises as a cut. No
system call is made per event, and nothing already recorded is lost when the process dies: the
pages belong to the kernel's page cache, not to the process. Payloads over 4 KiB are written
with ``pwritev`` instead (into the same page cache, without faulting their pages into the
mapping), and the records in the page where one ends with ``pwrite``, first byte still last.

Integers and short byte strings are encoded here by a few lines of hand-written CBOR (the hot
path of a clock read must stay well under a microsecond, and ``cbor2.dumps`` costs about 1.4 us
per call); everything else goes through cbor2.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
import os
import stat
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import blake3
import cbor2

from ..errors import TraceBusyError, TraceWriteError, UsageError
from .events import BLOB, END, SITE, EventDecl
from .schema import (
    FORMAT_VERSION,
    INLINE_MAX,
    MAGIC_BYTES,
    Footer,
    Header,
)

_GROW_MIN = 1 << 20
_MEMORY_START = 1 << 16
_PWRITE_MIN = 4096
_HASH_CHUNK = 1 << 22
_HASH_AHEAD = 8 << 20
"""A trace that grows past this is hashed while it is recorded (see :class:`_Hasher`)."""
_HASH_AHEAD_PIECE = 1 << 20
"""What the digest thread reads and hashes at a time, into one buffer it keeps."""
_SMALL = [bytes((i,)) for i in range(24)]
_NEG_SMALL = [bytes((0x20 + i,)) for i in range(24)]
_B8 = struct.Struct(">B").pack
_B16 = struct.Struct(">H").pack
_B32 = struct.Struct(">I").pack
_B64 = struct.Struct(">Q").pack


def enc_int(n: int) -> bytes:
    """CBOR-encode an integer (major type 0 or 1); bignums fall back to cbor2."""
    if n >= 0:
        if n < 24:
            return _SMALL[n]
        major = 0x00
    else:
        if n >= -24:
            return _NEG_SMALL[-1 - n]
        major = 0x20
        n = -1 - n
    if n < 0x100:
        return bytes((major | 24, n))
    if n < 0x10000:
        return bytes((major | 25,)) + _B16(n)
    if n < 0x100000000:
        return bytes((major | 26,)) + _B32(n)
    if n < 0x10000000000000000:
        return bytes((major | 27,)) + _B64(n)
    return bytes(cbor2.dumps(n if major == 0 else -1 - n))


def _bytes_head(n: int) -> bytes:
    """The CBOR head of a byte string of length ``n`` (the bytes follow it)."""
    if n < 24:
        return bytes((0x40 + n,))
    if n < 0x100:
        return bytes((0x58, n))
    if n < 0x10000:
        return b"\x59" + _B16(n)
    if n < 0x100000000:
        return b"\x5a" + _B32(n)
    return b"\x5b" + _B64(n)


def enc_bytes(b: bytes) -> bytes:
    """CBOR-encode a byte string (major type 2)."""
    n = len(b)
    if n < 24:
        return _SMALL_BSTR[n] + b
    if n < 0x100:
        return bytes((0x58, n)) + b
    if n < 0x10000:
        return b"\x59" + _B16(n) + b
    if n < 0x100000000:
        return b"\x5a" + _B32(n) + b
    return b"\x5b" + _B64(n) + b


_SMALL_BSTR = [bytes((0x40 + i,)) for i in range(24)]
_PACKERS = [struct.Struct(f"{n}s").pack_into for n in range(64)]

INT_TABLE_SIZE = 1 << 13
INT = [
    *_SMALL,
    *(bytes((0x18, i)) for i in range(24, 0x100)),
    *(b"\x19" + _B16(i) for i in range(0x100, INT_TABLE_SIZE)),
]
"""Encodings of 0..8191, for the hot path: ``INT[n] if 0 <= n < INT_TABLE_SIZE else enc_int(n)``."""


def enc_item(value: Any) -> bytes:
    """CBOR-encode one field value."""
    t = type(value)
    if t is int:
        return enc_int(value)
    if t is bytes:
        return enc_bytes(value)
    return bytes(cbor2.dumps(value))


class _NoFuel:
    def __getitem__(self, index: int) -> int:
        return 0


class _Hasher:
    """The file digest of a trace, computed while it is recorded, on a thread of its own: the
    guest runs without the GIL and blake3 releases it, so on a second core the digest is
    nearly done when the recording ends (5 ms for a 20 MB trace otherwise added to its close).

    The thread hashes, through the file (``preadv`` into a 1 MiB buffer it keeps, so that it
    adds no allocations to a recording's), whole pieces of the region whose bytes are
    final: everything before the writer's position (every record's first byte is stored
    before the position moves over it), but a streamed payload's head, whose first byte is
    stored last (:attr:`hold`). It looks every few milliseconds; :meth:`finish` hashes the rest
    on the calling thread."""

    def __init__(self, fd: int, final: Callable[[], int]) -> None:
        import threading
        import weakref

        # Weakly: a writer dropped without being closed (an error path) ends the thread.
        self.fd, self.final = fd, weakref.WeakMethod(final)  # type: ignore[arg-type]
        self.hasher = blake3.blake3()
        self.buffer = bytearray(_HASH_AHEAD_PIECE)  # reused: the thread allocates nothing more
        self.done = 0
        self.failed = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="wasm-rr-trace-digest", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.wait(0.004):
                end = self._end()
                if end is None:
                    return
                while end - self.done >= _HASH_AHEAD_PIECE and not self.stop.is_set():
                    self._hash(self.done + _HASH_AHEAD_PIECE)
        except OSError:
            self.failed = True

    def _end(self) -> int | None:
        """Where the final region ends, or None once the writer is gone. The writer is held
        only for this call: a reference kept in :meth:`_run` while it waits would keep a
        dropped writer (and so this thread) alive for good."""
        final = self.final()
        return None if final is None else final()

    def _hash(self, end: int) -> None:
        with memoryview(self.buffer) as view:
            while self.done < end:
                n = os.preadv(self.fd, [view[: min(len(view), end - self.done)]], self.done)
                if n <= 0:
                    raise OSError("the trace file is shorter than written")
                self.hasher.update(view[:n])
                self.done += n

    def finish(self, end: int) -> bytes | None:
        """The digest of the first ``end`` bytes, or None if the thread failed."""
        self.stop.set()
        self.thread.join()
        if self.failed or self.done > end:
            return None
        self._hash(end)
        digest: bytes = self.hasher.digest()
        return digest

    def cancel(self) -> None:
        self.stop.set()
        self.thread.join()


class TraceWriter:
    """Appends a header, events, blobs and a footer to a trace file.

    Payloads longer than :data:`INLINE_MAX` are stored once per distinct content (keyed by
    blake3) as a BLOB record; events refer to them by the blob's ordinal.

    The per-event path (:meth:`put`, :meth:`write_raw`) is made of closures over the writer's
    state rather than methods over attributes: a cell read is much cheaper than an attribute
    read, and this path runs for every event of a recording.
    """

    put: Callable[[int, bytes], None]
    """Append one event of ``kind`` whose fields are already encoded; the fuel delta since the
    previous event goes in front of them. The hot path of every recording."""

    put2: Callable[[int, int, int], None]
    """``put(kind, enc_int(a) + enc_int(b))``, faster (a clock read)."""

    reads_summed: Callable[[int, Sequence[Callable[[], int]]], Callable[[int], int]]
    """``reads_summed(kind, readers)``: a function ``read(q)`` that returns ``readers[q]()``
    (q a small int) and records it as an event of ``kind`` with the fields q and the difference
    from the previous read of q (a clock read, in one call)."""

    write_raw: Callable[..., None]
    """Copy bytes into the file, their first byte last (see the module docstring)."""

    attach_fuel: Callable[..., None]
    """Stamp events with fuel read from ``cell[0]`` (instructions executed so far)."""

    swap_fuel: Callable[[Any], None]
    """Read the same count from another cell from now on (the count since the last event
    goes on)."""

    fuel_since: Callable[[], int]
    """Instructions executed since the last event."""

    data: bytes | None = None
    """An in-memory trace's bytes, once closed."""

    _hasher: _Hasher | None = None
    """The digest thread, once the trace is large (see :class:`_Hasher`)."""
    _hold: int | None = None
    """Where a streamed payload's record starts while its first byte is still zero."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        header: Header,
        *,
        continue_at: tuple[int, int, Sequence[bytes]] | None = None,
        reserve: Callable[[int, int, int], None] | None = None,
    ) -> None:
        """Write to the file ``path``, or with ``path=None`` to memory (an anonymous file:
        :attr:`data` holds the trace once closed).

        ``continue_at=(offset, events, blob_digests)`` appends to the existing trace at
        ``path`` (``wasm-rr resume``): its first ``offset`` bytes (the header ``header`` and
        ``events`` complete events, with these blobs in order) are kept, the rest is dropped,
        and new events follow them.

        A new trace that cannot get its header (a full disk, a header that cannot be encoded)
        leaves no file behind: the header is encoded before the file is created, and the file
        is removed if the header cannot be written. ``reserve(fd, offset, length)`` allocates
        the file's disk space (default :func:`reserve_space`; a test hands in a full disk)."""
        self._reserve_space = reserve or reserve_space
        if continue_at is not None:
            if path is None:
                raise ValueError("continue_at needs a trace file")
            offset, events, digests = continue_at
            self.path = os.fspath(path)
            self._fd = _open_exclusive(self.path, keep=offset)
            self._in_memory = False
            self._blobs: dict[bytes, int] = {d: i for i, d in enumerate(digests)}
            self.codes = {name: code for code, name in header.kinds.items()}
            self.closed = False
            try:
                self._build(offset, events)
            except BaseException:
                os.close(self._fd)
                raise
            return
        self._blobs = {}
        shown_path = "<memory>" if path is None else os.fspath(path)
        head = MAGIC_BYTES + enc_int(FORMAT_VERSION) + _encode_header(header, shown_path)
        if path is None:
            self.path = "<memory>"
            self._fd = os.memfd_create("wasm-rr-trace", os.MFD_CLOEXEC)
            self._in_memory = True
        else:
            self.path = os.fspath(path)
            self._fd = _open_exclusive(self.path)
            self._in_memory = False
        self.codes = {name: code for code, name in header.kinds.items()}
        """``family.op`` -> the code its events get in this trace (from the header)."""
        self.closed = False
        try:
            self._build()
            self.write_raw(head)
        except BaseException as exc:
            self._abandon()
            if isinstance(exc, TraceWriteError):
                raise TraceWriteError(
                    f"cannot write trace {self.path}: {exc.reason}; nothing was recorded and no "
                    "file is left; free some space, or record to a file on a writable disk"
                ) from None
            raise

    def _abandon(self) -> None:
        """Close and remove a new trace file whose header could not be written (it would read
        as nothing at all)."""
        self.closed = True
        if self._hasher is not None:
            self._hasher.cancel()
            self._hasher = None
        mm = getattr(self, "_mm", None)  # absent when no space could be reserved
        if mm is not None:
            mm.close()
        try:
            if not self._in_memory:
                _unlink_if_same(self.path, self._fd)
        finally:
            os.close(self._fd)

    def _build(self, start: int = 0, start_events: int = 0) -> None:
        fileno = self._fd
        path = self.path
        cap = _MEMORY_START if self._in_memory else _GROW_MIN
        cap = max(cap, start + _GROW_MIN) if start else cap
        reserve_disk = self._reserve_space
        try:
            reserve_disk(fileno, 0, cap)
            mm = mmap.mmap(fileno, cap)
        except (OSError, ValueError) as exc:
            raise TraceWriteError(
                f"cannot write trace {path}: {_why(exc)}; record to a file on a writable disk",
                _why(exc),
            ) from None
        pos = start
        events = start_events
        fuel_cell: Any = _NoFuel()
        fuel_last = 0
        unmapped = -1  # the end of the last pwritev'd page: below, the mapping never touched
        pwrite = os.pwrite
        packers = _PACKERS
        npackers = len(packers)

        def grow(need: int) -> None:
            # Reserve the disk blocks first: a store into a mapped page the file system cannot
            # back kills the process with SIGBUS, a failed reservation is an error here.
            nonlocal cap
            new = max(cap * 2, pos + need + _GROW_MIN)
            try:
                reserve_disk(fileno, cap, new - cap)
            except OSError as exc:
                raise TraceWriteError(
                    f"cannot grow trace {path} to {new} bytes: {_why(exc)}; the recording stops "
                    f"here and the trace keeps the {events} events recorded so far (replaying it "
                    "stops at the cut); free some space and re-record",
                    _why(exc),
                ) from None
            mm.resize(new)
            cap = new
            if new >= _HASH_AHEAD and self._hasher is None:
                self._hasher = _Hasher(fileno, self._final)

        def write_at(p: int, buffers: Sequence[memoryview]) -> None:
            # pwritev at ``p``, inside the written region (see reserve); the page it ends in is
            # then finished with pwrite (see write_raw).
            nonlocal unmapped
            _pwrite_all(fileno, buffers, p, path)
            end = p + sum(map(len, buffers))
            if end > unmapped:
                unmapped = end | 4095

        def store_first(p: int, byte: int) -> None:
            # The first byte of a record whose rest is written: its last store.
            if p < unmapped:
                pwrite(fileno, bytes((byte,)), p)
            else:
                mm[p] = byte

        def write_raw(data: bytes, tail: bytes = b"") -> None:
            # ``tail`` (a large payload) follows ``data`` without being joined to it. Large
            # writes go through pwritev (into the same page cache the mapping shows) rather than
            # page faults on the mapping; either way the first byte is stored last.
            nonlocal pos
            n = len(data) + len(tail)
            p = pos
            if p + n > cap:
                grow(n)
            if n > _PWRITE_MIN:
                write_at(p + 1, [memoryview(data)[1:], memoryview(tail)])
            elif p < unmapped:  # the page a pwritev ended in: not faulted into the mapping
                if n > 1:
                    pwrite(fileno, data[1:] + tail, p + 1)
            elif n > 1:
                mm[p + 1 : p + n] = data[1:] + tail
            store_first(p, data[0])
            pos = p + n

        def put(kind: int, body: bytes) -> None:
            nonlocal pos, events, fuel_last
            now = fuel_cell[0]
            fuel = now - fuel_last
            fuel_last = now
            data = (INT[fuel] if fuel < INT_TABLE_SIZE else enc_int(fuel)) + body
            if kind > 23:  # a two-byte code: 0x18 (stored last) and the code
                data = bytes((kind,)) + data
                kind = 0x18
            p = pos
            n = len(data)
            if p + n >= cap:
                grow(n + 1)
            if p < unmapped:
                pwrite(fileno, data, p + 1)
                pwrite(fileno, bytes((kind,)), p)
            else:
                if n < npackers:
                    packers[n](mm, p + 1, data)
                else:
                    mm[p + 1 : p + 1 + n] = data
                mm[p] = kind  # last: until this byte lands, the event does not exist
            pos = p + n + 1
            events += 1

        def put2(kind: int, a: int, b: int) -> None:
            # ``put(kind, enc_int(a) + enc_int(b))`` in one call and one join (clock reads).
            # Always through the mapping, unlike put: a clock read right after a payload faults
            # one page in at most, and the hottest path pays no check for it.
            nonlocal pos, events, fuel_last
            now = fuel_cell[0]
            fuel = now - fuel_last
            fuel_last = now
            data = (
                (INT[fuel] if fuel < INT_TABLE_SIZE else enc_int(fuel))
                + (INT[a] if 0 <= a < INT_TABLE_SIZE else enc_int(a))
                + (INT[b] if 0 <= b < INT_TABLE_SIZE else enc_int(b))
            )
            if kind > 23:
                data = bytes((kind,)) + data
                kind = 0x18
            p = pos
            n = len(data)
            if p + n >= cap:
                grow(n + 1)
            packers[n](mm, p + 1, data)  # at most 1 + 3 * 9 bytes
            mm[p] = kind
            pos = p + n + 1
            events += 1

        def reads_summed(kind: int, readers: Sequence[Callable[[], int]]) -> Callable[[int], int]:
            # ``read(q)``: ``readers[q]()``, recorded as an event of ``kind`` (q, the difference
            # from the previous read of q), put2's body inline: one call less per clock read.
            prev = [0] * len(readers)

            def read(q: int) -> int:
                nonlocal pos, events, fuel_last
                if q < 0:
                    raise IndexError(q)
                value = readers[q]()
                delta = value - prev[q]
                prev[q] = value
                now = fuel_cell[0]
                fuel = now - fuel_last
                fuel_last = now
                data = (
                    (INT[fuel] if fuel < INT_TABLE_SIZE else enc_int(fuel))
                    + INT[q]
                    + (INT[delta] if 0 <= delta < INT_TABLE_SIZE else enc_int(delta))
                )
                k = kind
                if k > 23:
                    data = bytes((k,)) + data
                    k = 0x18
                p = pos
                n = len(data)
                if p + n >= cap:
                    grow(n + 1)
                packers[n](mm, p + 1, data)
                mm[p] = k
                pos = p + n + 1
                events += 1
                return value

            return read

        def attach_fuel(cell: Any, mark: int | None = None) -> None:
            # ``mark``: the count at the previous event, when it was not now (a resumed trace).
            nonlocal fuel_cell, fuel_last
            fuel_cell = cell
            fuel_last = cell[0] if mark is None else mark

        def swap_fuel(cell: Any) -> None:
            # The same count, read from another cell (the store's, frozen as the store ends).
            nonlocal fuel_cell
            fuel_cell = cell

        def fuel_since() -> int:
            return int(fuel_cell[0] - fuel_last)

        def count_event() -> None:
            nonlocal events
            events += 1

        def state() -> tuple[int, int]:
            return pos, events

        def reserve(n: int) -> None:
            # Move the end of the written region over ``n`` bytes the caller writes itself.
            nonlocal pos
            if pos + n > cap:
                grow(n)
            pos += n

        self._reserve = reserve
        self._store_first = store_first
        self._write_at = write_at
        self.put = put
        self.put2 = put2
        self.reads_summed = reads_summed
        self.write_raw = write_raw
        self.attach_fuel = attach_fuel
        self.swap_fuel = swap_fuel
        self.fuel_since = fuel_since
        self._count_event = count_event
        self._state = state
        self._mm = mm

    def _final(self) -> int:
        """Where the bytes that may still change begin (for :class:`_Hasher`)."""
        pos = self._state()[0]
        hold = self._hold  # read after the position: see _write_stream
        return pos if hold is None else min(pos, hold)

    def code(self, decl: EventDecl) -> int:
        """The code events of ``decl``'s kind are written with."""
        return self.codes[decl.name]

    def enable_sites(self, site: Callable[[], int]) -> None:
        """Precede every event with a SITE record: the source site ``site()`` reports (the site
        register of a ``.tape`` program). Call it before anything captures :attr:`put`.

        The event paths stay the ones :meth:`_build` made, each preceded by the SITE record
        (for a clock read: once the clock is read, right before its event is written)."""
        plain_put, plain_put2, plain_reads_summed = self.put, self.put2, self.reads_summed
        write_raw = self.write_raw
        head = _SMALL[SITE]

        def mark() -> None:
            write_raw(head + enc_int(site()))

        def put(kind: int, body: bytes) -> None:
            mark()
            plain_put(kind, body)

        def put2(kind: int, a: int, b: int) -> None:
            mark()
            plain_put2(kind, a, b)

        def marked(reader: Callable[[], int]) -> Callable[[], int]:
            def read() -> int:
                value = reader()  # a clock that fails leaves no SITE record behind
                mark()
                return value

            return read

        def reads_summed(kind: int, readers: Sequence[Callable[[], int]]) -> Callable[[int], int]:
            return plain_reads_summed(kind, [marked(reader) for reader in readers])

        self.put = put
        self.put2 = put2
        self.reads_summed = reads_summed

    @property
    def events(self) -> int:
        """Events written so far."""
        return self._state()[1]

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._state()[0]

    def event(self, kind: int, *fields: Any) -> None:
        """Append one event of code ``kind`` (see :meth:`code`) with these field values."""
        self.put(kind, b"".join(map(enc_item, fields)))

    def last_event(self, kind: int, *fields: Any) -> None:
        """Append an event stamped with the instructions executed since the previous one, and
        with no site record: what ends a recording that was stopped (``journal.stopped``)."""
        self.event_with_fuel(kind, self.fuel_since(), *fields)

    def event_with_fuel(self, kind: int, fuel: int, *fields: Any) -> None:
        """Append an event with a given fuel delta (for tools that re-write traces)."""
        self.write_raw(enc_int(kind) + enc_int(fuel) + b"".join(map(enc_item, fields)))
        self._count_event()

    def payload(self, data: bytes) -> bytes | int:
        """The field value that stands for ``data``: the bytes, or the ordinal of a blob."""
        if len(data) <= INLINE_MAX:
            return data
        digest = blake3.blake3(data).digest()
        ordinal = self._blobs.get(digest)
        if ordinal is None:
            ordinal = len(self._blobs)
            self._blobs[digest] = ordinal
            self.write_raw(_SMALL[BLOB] + enc_bytes(digest) + _bytes_head(len(data)), data)
        return ordinal

    def payload_stream(self, source: Any) -> bytes | int:
        """:meth:`payload` for bytes read in pieces (``source.size``, ``source.chunks()``):
        hashed in one pass and copied in a second, so they never need to fit in memory."""
        size: int = source.size
        if size <= INLINE_MAX:
            return b"".join(source.chunks())
        hasher = blake3.blake3()
        for chunk in source.chunks():
            hasher.update(chunk)
        digest = hasher.digest()
        ordinal = self._blobs.get(digest)
        if ordinal is not None:
            return ordinal
        ordinal = len(self._blobs)
        self._blobs[digest] = ordinal
        head = _SMALL[BLOB] + enc_bytes(digest) + _bytes_head(size)
        self._write_stream(head, source.chunks(), size)
        return ordinal

    def _write_stream(self, head: bytes, chunks: Any, size: int) -> None:
        """Write ``head`` then ``size`` bytes from ``chunks``, the first byte of ``head``
        last (so a cut leaves no partial record)."""
        start = self.size
        self._hold = start  # before the position moves: see _final
        self._reserve(len(head))  # the head's bytes but the first go with the first piece
        rest = memoryview(head)[1:]
        pos = start + 1
        written = 0
        for chunk in chunks:
            self._reserve(len(chunk))
            buffers = [rest, memoryview(chunk)] if rest else [memoryview(chunk)]
            self._write_at(pos, buffers)
            pos += len(rest) + len(chunk)
            rest = rest[:0]
            written += len(chunk)
        if rest:
            self._write_at(pos, [rest])
        if written != size:
            raise OSError(f"payload changed size while it was copied ({written} != {size})")
        self._store_first(start, head[0])
        self._hold = None

    # -- end ---------------------------------------------------------------------------------

    def _digest(self, end: int) -> bytes:
        """The blake3 of the file's first ``end`` bytes."""
        ahead, self._hasher = self._hasher, None
        if ahead is not None:
            done = ahead.finish(end)
            if done is not None:
                return done
        threads = blake3.blake3.AUTO if end > 1 << 22 else 1
        hasher = blake3.blake3(max_threads=threads)
        for start in range(0, end, _HASH_CHUNK):
            # Read through the file, not the mapping: payloads written with pwritev never
            # enter this process's memory, and hashing must not pull them in. (Measured on
            # 20 MB: 4 MiB preads are faster than hashing through the mapping, with or
            # without MADV_POPULATE_READ, or preadv into one reused buffer.)
            hasher.update(os.pread(self._fd, min(_HASH_CHUNK, end - start), start))
        digest: bytes = hasher.digest()
        return digest

    def _pieces(self, end: int) -> Iterator[bytes]:
        """The file's first ``end`` bytes, a piece at a time, read through the file (see
        :meth:`_digest`)."""
        for start in range(0, end, _HASH_CHUNK):
            yield os.pread(self._fd, min(_HASH_CHUNK, end - start), start)

    def close(self, footer: Footer | None, sign_key: bytes | None = None) -> None:
        """Write the footer and the digest over everything before it, and truncate the file.

        ``footer=None`` closes without a footer, leaving a trace that reads as cut off. With
        ``sign_key`` the footer holds a signature over every byte of the trace (:mod:`.sign`).
        """
        if self.closed:
            return
        self.closed = True
        try:
            if footer is not None:
                if sign_key is not None:
                    from .sign import sign

                    end = self.size
                    footer = sign(footer, sign_key, self._pieces(end), end)
                self.write_raw(_SMALL[END] + bytes(cbor2.dumps(footer.to_cbor())))
                self.write_raw(enc_bytes(self._digest(self.size)))
        finally:
            if self._hasher is not None:
                self._hasher.cancel()
                self._hasher = None
            # Whatever happened above, the file ends after the last complete record (shrinking
            # a file needs no space), and the lock goes with the descriptor.
            size = self.size
            self._mm.close()
            try:
                os.ftruncate(self._fd, size)
                if self._in_memory:
                    self.data = os.pread(self._fd, size, 0) if size else b""
            finally:
                os.close(self._fd)


def _open_exclusive(path: str, keep: int = 0) -> int:
    """Open (create) the trace file for writing, refusing anything but a regular file and a file
    another recording is writing; only then empty it (but its first ``keep`` bytes: a resumed
    trace). Returns the descriptor, which holds an exclusive ``flock`` until it is closed."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a reader. No O_TRUNC: another
        # recording's trace is emptied only once the lock says there is none.
        create = os.O_CREAT if not keep else 0
        fd = os.open(path, os.O_RDWR | create | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise TraceWriteError(f"cannot write trace {path}: {_why(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            from .reader import file_kind

            raise TraceWriteError(
                f"cannot write trace {path}: it is {file_kind(mode)}, not a regular file; "
                "give -t the path of a file"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise TraceBusyError(
                f"trace {path} is being written by another wasm-rr recording; wait for it to "
                "end or record to another path with -t"
            ) from None
        if keep and os.fstat(fd).st_size < keep:
            raise TraceWriteError(f"cannot continue trace {path}: it is shorter than it was")
        # Drops whatever followed the kept bytes (zero padding, a cut record); the space after
        # them is zeros again, as the crash-safe writer needs.
        os.ftruncate(fd, keep)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except OSError as exc:
        os.close(fd)
        raise TraceWriteError(f"cannot write trace {path}: {_why(exc)}") from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _unlink_if_same(path: str, fd: int) -> None:
    """Remove ``path`` if it is still the file open as ``fd``: not a file put there since, nor
    the target of a symbolic link (the link stays, to an empty file)."""
    with contextlib.suppress(OSError):
        mine, there = os.fstat(fd), os.lstat(path)
        if (there.st_dev, there.st_ino) == (mine.st_dev, mine.st_ino):
            os.unlink(path)


def _encode_header(header: Header, path: str) -> bytes:
    """The header's CBOR, made before the trace file exists (text that cannot be encoded is a
    one-line error, and leaves no file)."""
    try:
        return bytes(cbor2.dumps(header.to_cbor()))
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
        raise UsageError(
            f"cannot write trace {path}: the run's options hold {bad!r}, which is not text "
            "(a byte that is not UTF-8), where the trace stores text; nothing was recorded"
        ) from None


def reserve_space(fd: int, offset: int, length: int) -> None:
    """Allocate disk blocks for ``length`` bytes at ``offset`` (growing the file), so that
    stores through the mapping never meet a full disk: ENOSPC (or EFBIG past RLIMIT_FSIZE)
    is raised here as an OSError instead."""
    os.posix_fallocate(fd, offset, length)
    if os.fstat(fd).st_size < offset + length:  # a file system that ignores the size
        raise OSError(0, "the file does not grow (not a regular file on a disk?)")


def _pwrite_all(fd: int, buffers: Sequence[memoryview], offset: int, path: str) -> None:
    """``pwritev`` every byte of ``buffers`` at ``offset``, continuing after short writes."""
    bufs = [b for b in buffers if len(b)]
    while bufs:
        try:
            n = os.pwritev(fd, bufs, offset)
        except OSError as exc:
            raise TraceWriteError(f"cannot write trace {path}: {_why(exc)}", _why(exc)) from None
        if n <= 0:
            why = "the disk accepts no more bytes"
            raise TraceWriteError(f"cannot write trace {path}: {why}", why)
        offset += n
        while bufs and n >= len(bufs[0]):
            n -= len(bufs[0])
            bufs.pop(0)
        if n:
            bufs[0] = bufs[0][n:]


def _why(exc: BaseException) -> str:
    """An OS error's reason, for a one-line message."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


__all__ = [
    "INT",
    "INT_TABLE_SIZE",
    "TraceWriter",
    "enc_bytes",
    "enc_int",
    "enc_item",
    "reserve_space",
]
