"""Loading traces: verification, cut-off detection, and event iteration.

A complete trace ends with a blake3 digest of every byte before it, so one hash call proves it
intact and one ``cbor2.loads`` call decodes it. A trace without a valid tail is either *cut off*
(the recorder was killed: the file ends in zero padding, or mid-item at end of file) and loads up
to its last complete event, or *corrupt* (a digest that does not match, undecodable bytes before
the end, an unknown kind) and is refused with :class:`CorruptTraceError`.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import blake3
import cbor2

from ..errors import (
    CorruptTraceError,
    TraceError,
    TraceNotFoundError,
    UnsupportedTraceVersionError,
)
from . import format1
from .events import BLOB, END, RECORD_ARITY, SITE, EventDecl
from .schema import (
    FORMAT_VERSION,
    MAGIC,
    MAGIC_BYTES,
    Footer,
    Header,
)

_DIGEST_MARK = b"\x58\x20"
_HEADER_WINDOW = 1 << 20
_TAIL = len(_DIGEST_MARK) + 32


@dataclass(frozen=True)
class Event:
    """One decoded event, for inspection and tests (replay walks the flat items directly)."""

    seq: int
    kind: int
    fuel: int
    fields: tuple[Any, ...]
    site: int | None = None  # the source site (.tape programs)
    decl: EventDecl | None = None

    @property
    def name(self) -> str:
        return self.decl.name if self.decl is not None else f"<kind {self.kind}>"

    @property
    def question(self) -> tuple[Any, ...]:
        n = len(self.decl.question) if self.decl is not None else 0
        return self.fields[:n]

    @property
    def answer(self) -> tuple[Any, ...]:
        n = len(self.decl.question) if self.decl is not None else 0
        return self.fields[n:]


@dataclass
class Trace:
    """A loaded trace. ``items`` is the flat item list of the event region, ``items[:end]``."""

    path: str
    version: int
    header: Header
    items: list[Any]
    end: int
    footer: Footer | None
    size: int
    kinds: dict[int, EventDecl]
    """Event code -> its declaration (from the header's ``kinds`` map)."""
    verified: bool = False
    """The whole file matched its digest: its blobs need no check of their own."""
    blobs: list[bytes] = field(default_factory=list)

    @property
    def cut_off(self) -> bool:
        return self.footer is None

    @property
    def arity(self) -> dict[int, int]:
        table = {code: decl.arity for code, decl in self.kinds.items()}
        table.update(RECORD_ARITY)
        return table

    def code(self, decl: EventDecl) -> int:
        """The code of ``decl``'s kind in this trace, or -1 when the trace has none."""
        for code, d in self.kinds.items():
            if d.name == decl.name:
                return code
        return -1

    def events(self, absolute: bool = False) -> Iterator[Event]:
        """Every event in order, payload blobs resolved to their bytes. With ``absolute``,
        answers stored as differences (clock reads) are shown as the values the guest saw."""
        items, i, end, seq = self.items, 0, self.end, 0
        arity, kinds = self.arity, self.kinds
        blobs: list[bytes] = []
        sums: dict[tuple[int, Any], int] = {}
        site = None
        while i < end:
            k = items[i]
            n = arity[k]
            if k == BLOB:
                blobs.append(items[i + 2])
            elif k == SITE:
                site = items[i + 1]
            else:
                seq += 1
                decl = kinds[k]
                slots = decl.payload_slots
                raw = items[i + 2 : i + 1 + n]
                fields = tuple(
                    blobs[f] if type(f) is int and j in slots else f for j, f in enumerate(raw)
                )
                if absolute and decl.summed:
                    nq = len(decl.question)
                    key = (k, fields[:nq])
                    total = sums.get(key, 0) + int(fields[nq])
                    sums[key] = total
                    fields = (*fields[:nq], total)
                yield Event(seq, k, items[i + 1], fields, site, decl)
                site = None
            i += 1 + n


def _decode_prefix(data: bytes | memoryview, path: str) -> tuple[int, Header, int]:
    """Check the magic, read version and header; return them with the event region's offset."""
    if bytes(data[: len(MAGIC_BYTES)]) != MAGIC_BYTES:
        if bytes(data[:4]) == b"\0asm":
            raise CorruptTraceError(
                f"{path} is a wasm file, not a trace; the order is: GUEST.wasm TRACE.cbor"
            )
        raise CorruptTraceError(f"{path} is not a wasm-rr trace (bad magic bytes)")
    if len(data) > _HEADER_WINDOW:
        try:
            return _decode_prefix(bytes(data[:_HEADER_WINDOW]), path)
        except CorruptTraceError:
            pass  # a header larger than the window: decode from the whole file
    stream = io.BytesIO(data)
    dec = cbor2.CBORDecoder(stream)
    try:
        magic = dec.decode()
        version = dec.decode()
    except Exception:  # cbor2 raises several types
        raise CorruptTraceError(f"{path}: the trace prefix is damaged") from None
    if getattr(magic, "value", magic) != MAGIC or not isinstance(version, int):
        raise CorruptTraceError(f"{path} is not a wasm-rr trace (bad prefix)")
    if version > FORMAT_VERSION:
        raise UnsupportedTraceVersionError(
            f"{path} is trace format {version}, this wasm-rr reads up to {FORMAT_VERSION}; "
            "upgrade wasm-rr to replay it"
        )
    if version < 1:
        raise UnsupportedTraceVersionError(f"{path} has unknown trace format {version}")
    try:
        raw = dec.decode()
        header = format1.header(raw) if version == 1 else Header.from_cbor(raw)
    except Exception:
        raise CorruptTraceError(f"{path}: the trace header is damaged") from None
    return version, header, stream.tell()


def _decode_items_slowly(region: bytes) -> tuple[list[Any], bool]:
    """Decode items one by one; return them and whether decoding stopped at a clean end."""
    stream = io.BytesIO(region)
    dec = cbor2.CBORDecoder(stream)
    items: list[Any] = []
    n = len(region)
    while stream.tell() < n:
        try:
            items.append(dec.decode())
        except cbor2.CBORDecodeEOF:
            return items, True  # an item cut by the end of the file
        except Exception:
            return items, False  # undecodable bytes before the end: damage
    return items, True


def _digest(data: memoryview) -> bytes:
    threads = blake3.blake3.AUTO if len(data) > 1 << 22 else 1
    digest: bytes = blake3.blake3(data, max_threads=threads).digest()
    return digest


def _decode_region(buf: bytearray, size: int, offset: int) -> list[Any]:
    """Decode the items from ``offset`` on in one call, as one indefinite-length array, in
    place: the header's last byte (decoded already) becomes the array's head, and the spare byte
    after the file's ``size`` bytes its end. Nothing is copied but the decoded items."""
    buf[offset - 1] = 0x9F
    buf[size] = 0xFF
    with memoryview(buf) as view:
        items: list[Any] = cbor2.loads(view[offset - 1 : size + 1])
    return items


def load(path: str | os.PathLike[str]) -> Trace:
    """Load and verify a trace file. Raises a :class:`TraceError` subclass on any problem."""
    p = os.fspath(path)
    try:
        with open(p, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            buf = bytearray(size + 1)  # one spare byte: see _decode_region
            with memoryview(buf) as view:
                got = f.readinto(view[:size])
            if got != size:
                del buf[got:]
                size = got
                buf.append(0)
    except FileNotFoundError:
        raise TraceNotFoundError(
            f"trace {p} does not exist; record one with `wasm-rr record`"
        ) from None
    except IsADirectoryError:
        raise TraceError(f"trace {p} is a directory, not a trace file") from None
    except OSError as exc:
        raise TraceError(f"cannot read trace {p}: {exc.strerror}") from None
    with memoryview(buf) as view:
        data = view[:size]
        has_tail = size >= len(MAGIC_BYTES) + _TAIL and data[-_TAIL:-32] == _DIGEST_MARK
        intact = has_tail and _digest(data[:-_TAIL]) == data[-32:]
        try:
            version, header, offset = _decode_prefix(data, p)
        except CorruptTraceError:
            if has_tail and not intact:
                raise _checksum_mismatch(p) from None
            raise
        finally:
            data.release()
    try:
        kinds = _kinds(p, header)
    except TraceError:
        if has_tail and not intact:
            raise _checksum_mismatch(p) from None
        raise
    if intact:
        try:
            items = _decode_region(buf, size, offset)
        except Exception:
            raise CorruptTraceError(f"{p}: undecodable events; the trace is damaged") from None
        if len(items) < 3 or items[-3] != END:
            raise CorruptTraceError(f"{p}: the trace has no footer before its digest")
        try:
            footer = Footer.from_cbor(items[-2])
        except Exception:
            raise CorruptTraceError(f"{p}: the trace footer is damaged") from None
        end = len(items) - 3
        if version == 1:
            items, end = format1.convert_items(items, end)
        return Trace(p, version, header, items, end, footer, size, kinds, verified=True)
    try:
        trace, saw_end = _load_cut(p, version, header, kinds, bytes(buf[:size]), offset)
    except CorruptTraceError:
        if has_tail:
            raise _checksum_mismatch(p) from None
        raise
    if has_tail and saw_end:
        # A footer and a digest-shaped tail that does not match: the bytes were changed.
        raise _checksum_mismatch(p)
    return trace


def _checksum_mismatch(p: str) -> CorruptTraceError:
    return CorruptTraceError(
        f"{p}: checksum mismatch, the trace was modified or damaged after it was written; "
        "use an intact copy or re-record"
    )


def _kinds(p: str, header: Header) -> dict[int, EventDecl]:
    """The declarations of the kinds the header names (every one must be known here)."""
    from ..world.registry import EVENTS

    kinds: dict[int, EventDecl] = {}
    unknown = []
    for code, name in header.kinds.items():
        if code in RECORD_ARITY or code <= 0:
            raise CorruptTraceError(f"{p}: the header gives reserved code {code} to {name}")
        decl = EVENTS.get(name)
        if decl is None:
            unknown.append(name)
        else:
            kinds[code] = decl
    if unknown:
        raise UnsupportedTraceVersionError(
            f"{p} holds events of kinds this wasm-rr does not know ({', '.join(unknown)}); "
            "upgrade wasm-rr to replay it"
        )
    return kinds


def _load_cut(
    p: str, version: int, header: Header, kinds: dict[int, EventDecl], data: bytes, offset: int
) -> tuple[Trace, bool]:
    """Load a trace without a valid tail: keep every complete event, or call it corrupt.

    Also says whether the footer's END marker was reached."""
    region = data[offset:]
    try:
        items = cbor2.loads(b"\x9f" + region + b"\xff")
        clean = True
    except Exception:
        items, clean = _decode_items_slowly(region)
    if not clean:
        raise CorruptTraceError(f"{p}: undecodable bytes in the event stream; the trace is damaged")
    i, n = 0, len(items)
    saw_end = False
    if version == 1:
        arity = dict(format1.ARITY)
        arity.update(RECORD_ARITY)
    else:
        arity = {code: decl.arity for code, decl in kinds.items()}
        arity.update(RECORD_ARITY)
    while i < n:
        k = items[i]
        if k == 0 and type(k) is int:
            break  # zero padding after the last event written before the recorder died
        if type(k) is not int or k not in arity:
            raise CorruptTraceError(
                f"{p}: item {offset}+{i} is not an event kind ({k!r}); the trace is damaged"
            )
        if k == END:
            saw_end = True
            break  # the footer was being written, or its digest was cut off: events are whole
        if i + arity[k] >= n:
            break  # the last event was cut by end of file
        i += 1 + arity[k]
    if version == 1:
        items, i = format1.convert_items(items, i)
    return Trace(p, version, header, items, i, None, len(data), kinds), saw_end
