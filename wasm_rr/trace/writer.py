"""Streaming, crash-safe trace writer.

The file is memory-mapped and grown in steps; each event is copied into the mapping with its
first byte stored last. The first byte of an event is its kind (never 0) and the unwritten tail
of the file is zeros, so whatever instant the recorder is killed at (SIGKILL included), the file
holds only complete events followed by zero padding, which the reader recognises as a cut. No
system call is made per event, and nothing already recorded is lost when the process dies: the
pages belong to the kernel's page cache, not to the process.

Integers and short byte strings are encoded here by a few lines of hand-written CBOR (the hot
path of a clock read must stay well under a microsecond, and ``cbor2.dumps`` costs about 1.4 us
per call); everything else goes through cbor2.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import blake3
import cbor2

from .events import BLOB, END, SITE, EventDecl
from .schema import (
    FORMAT_VERSION,
    INLINE_MAX,
    MAGIC_BYTES,
    Footer,
    Header,
)

_GROW_MIN = 1 << 20
_PWRITE_MIN = 4096
_HASH_CHUNK = 1 << 22
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
INT = [enc_int(i) for i in range(INT_TABLE_SIZE)]
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

    write_raw: Callable[..., None]
    """Copy bytes into the file, their first byte last (see the module docstring)."""

    attach_fuel: Callable[[Any], None]
    """Stamp events with fuel read from ``cell[0]`` (instructions executed so far)."""

    def __init__(self, path: str | os.PathLike[str], header: Header) -> None:
        self.path = os.fspath(path)
        self._file: BinaryIO = open(self.path, "w+b")  # noqa: SIM115 - closed in close()
        self._blobs: dict[bytes, int] = {}
        self.codes = {name: code for code, name in header.kinds.items()}
        """``family.op`` -> the code its events get in this trace (from the header)."""
        self.closed = False
        self._build()
        self.write_raw(MAGIC_BYTES + enc_int(FORMAT_VERSION) + bytes(cbor2.dumps(header.to_cbor())))

    def _build(self) -> None:
        file = self._file
        cap = _GROW_MIN
        file.truncate(cap)
        mm = mmap.mmap(file.fileno(), cap)
        pos = 0
        events = 0
        fuel_cell: Any = _NoFuel()
        fuel_last = 0
        packers = _PACKERS
        npackers = len(packers)

        def grow(need: int) -> None:
            nonlocal cap
            cap = max(cap * 2, pos + need + _GROW_MIN)
            file.truncate(cap)
            mm.resize(cap)

        fileno = file.fileno()

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
                os.pwritev(fileno, [memoryview(data)[1:], tail], p + 1)
            elif n > 1:
                mm[p + 1 : p + n] = data[1:] + tail
            mm[p] = data[0]
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
            if n < npackers:
                packers[n](mm, p + 1, data)
            else:
                mm[p + 1 : p + 1 + n] = data
            mm[p] = kind  # last: until this byte lands, the event does not exist
            pos = p + n + 1
            events += 1

        def attach_fuel(cell: Any) -> None:
            nonlocal fuel_cell, fuel_last
            fuel_cell = cell
            fuel_last = cell[0]

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
        self.put = put
        self.write_raw = write_raw
        self.attach_fuel = attach_fuel
        self._count_event = count_event
        self._state = state
        self._mm = mm

    def code(self, decl: EventDecl) -> int:
        """The code events of ``decl``'s kind are written with."""
        return self.codes[decl.name]

    def enable_sites(self, site: Callable[[], int]) -> None:
        """Precede every event with a SITE record: the source site ``site()`` reports (the site
        register of a ``.tape`` program). Call it before anything captures :attr:`put`."""
        plain_put = self.put
        write_raw = self.write_raw
        head = _SMALL[SITE]

        def put(kind: int, body: bytes) -> None:
            write_raw(head + enc_int(site()))
            plain_put(kind, body)

        self.put = put

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
        self.write_raw(b"\0" + head[1:], b"")  # reserve the head, its first byte still zero
        fileno = self._file.fileno()
        pos = start + len(head)
        written = 0
        for chunk in chunks:
            self._reserve(len(chunk))
            os.pwrite(fileno, chunk, pos)
            pos += len(chunk)
            written += len(chunk)
        if written != size:
            raise OSError(f"payload changed size while it was copied ({written} != {size})")
        self._mm[start] = head[0]

    # -- end ---------------------------------------------------------------------------------

    def close(self, footer: Footer | None) -> None:
        """Write the footer and the digest over everything before it, and truncate the file.

        ``footer=None`` closes without a footer, leaving a trace that reads as cut off.
        """
        if self.closed:
            return
        self.closed = True
        if footer is not None:
            self.write_raw(_SMALL[END] + bytes(cbor2.dumps(footer.to_cbor())))
            end = self.size
            hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if self.size > 1 << 22 else 1)
            fileno = self._file.fileno()
            for start in range(0, end, _HASH_CHUNK):
                # Read through the file, not the mapping: payloads written with pwritev never
                # enter this process's memory, and hashing must not pull them in either.
                hasher.update(os.pread(fileno, min(_HASH_CHUNK, end - start), start))
            self.write_raw(enc_bytes(hasher.digest()))
        size = self.size
        self._mm.close()
        self._file.truncate(size)
        self._file.close()
