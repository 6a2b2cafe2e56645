"""Loading traces: verification, cut-off detection, and event iteration.

A complete trace ends with a blake3 digest of every byte before it, so one hash call proves it
intact and one ``cbor2.loads`` call decodes it. A trace without a valid tail is either *cut off*
(the recorder was killed: the file ends in zero padding, or mid-item at end of file) and loads up
to its last complete event, or *corrupt* (a digest that does not match, undecodable bytes before
the end, an unknown kind) and is refused with :class:`CorruptTraceError`.
"""

from __future__ import annotations

import array
import io
import mmap
import os
import re
import stat
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
from .check import Bad, Scan, Step, blob_step, checker, explain, scanner, site_step, what
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
    blobs: list[bytes] = field(default_factory=list)
    mapped: Any = None
    """The file's read-only mapping when the trace is decoded lazily (an intact trace): then
    ``items`` is empty and :meth:`chunks` decodes the event region from ``offset``."""
    offset: int = 0
    raw_footer: Any = None
    primed: Any = None
    """A :class:`MappedChunks` whose first chunk :func:`load` decoded (and so checked)."""

    def chunks(self) -> Chunks:
        """A fresh pass over the event region, chunk by chunk (see :class:`Chunks`)."""
        if self.primed is not None:
            primed, self.primed = self.primed, None
            return primed  # type: ignore[no-any-return]
        if self.mapped is not None:
            return MappedChunks(self, self.mapped, self.offset)
        return Chunks(self)

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
        seq = 0
        arity, kinds = self.arity, self.kinds
        sums: dict[tuple[int, Any], int] = {}
        site = None
        chunks = self.chunks()
        while (chunk := chunks.next()) is not None:
            items, end = chunk
            i = 0
            while i < end:
                k = items[i]
                n = arity[k]
                if k == SITE:
                    site = items[i + 1]
                elif k != BLOB:
                    seq += 1
                    decl = kinds[k]
                    slots = decl.payload_slots
                    raw = items[i + 2 : i + 1 + n]
                    fields = tuple(
                        bytes(chunks.blob(f)) if type(f) is int and j in slots else f
                        for j, f in enumerate(raw)
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
                f"{path} is a wasm file, not a trace; the order is: [GUEST.wasm] TRACE.cbor"
            )
        raise CorruptTraceError(f"{path} is not a wasm-rr trace (bad magic bytes)")
    if len(data) > _HEADER_WINDOW:
        try:
            return _decode_prefix(bytes(data[:_HEADER_WINDOW]), path)
        except CorruptTraceError:
            pass  # a header larger than the window: decode from the whole file
    # A large header (an embedded guest) is read through a view: no copy of the whole file.
    stream = io.BufferedReader(_ViewStream(memoryview(data)), 1 << 16)
    dec = cbor2.CBORDecoder(stream)
    try:
        magic = dec.decode()
        version = dec.decode()
    except Exception:  # cbor2 raises several types
        raise CorruptTraceError(f"{path}: the trace prefix is damaged") from None
    if getattr(magic, "value", magic) != MAGIC:
        raise CorruptTraceError(f"{path} is not a wasm-rr trace (bad prefix)")
    if type(version) is not int:  # a boolean is not a version (True == 1 in Python)
        raise CorruptTraceError(
            f"{path}: the trace's format version is {what(version)}, not an integer; the trace "
            "is damaged, use an intact copy or re-record"
        )
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


class _ViewStream(io.RawIOBase):
    """A readable stream over a buffer, without copying it."""

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, b: Any) -> int:
        n = max(0, min(len(b), len(self._view) - self._pos))
        b[:n] = self._view[self._pos : self._pos + n]
        self._pos += n
        return n


def _decode_items_slowly(region: bytes) -> tuple[list[Any], str, list[int]]:
    """Decode items one by one; return them, how decoding stopped: ``"end"`` (at the end of
    the region), ``"eof"`` (an item cut by the end of the file) or ``"bad"`` (undecodable bytes
    before the end), and the offset in ``region`` where each item ends."""
    stream = io.BytesIO(region)
    dec = cbor2.CBORDecoder(stream)
    items: list[Any] = []
    ends: list[int] = []
    n = len(region)
    while stream.tell() < n:
        try:
            items.append(dec.decode())
        except cbor2.CBORDecodeEOF:
            return items, "eof", ends
        except Exception:  # cbor2 raises several types
            return items, "bad", ends
        ends.append(stream.tell())
    return items, "end", ends


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


def load_bytes(data: bytes, name: str = "<memory>") -> Trace:
    """Load and verify a trace held in memory (as :func:`load` does a file); messages call it
    ``name``."""
    fd = os.memfd_create("wasm-rr-trace", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return load(f"/proc/self/fd/{fd}", name=name)
    finally:
        os.close(fd)


def load(path: str | os.PathLike[str], *, name: str | None = None) -> Trace:
    """Load and verify a trace file. Raises a :class:`TraceError` subclass on any problem;
    messages call the trace ``name`` (default: its path)."""
    p = name if name is not None else os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer.
        fd = os.open(os.fspath(path), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise TraceNotFoundError(
            f"trace {p} does not exist; record one with `wasm-rr record`"
        ) from None
    except OSError as exc:
        raise TraceError(f"cannot read trace {p}: {exc.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise TraceError(f"trace {p} is a directory, not a trace file")
        if not stat.S_ISREG(mode):
            raise TraceError(
                f"trace {p} is not a regular file (it is {file_kind(mode)}); "
                "give the path of a trace file"
            )
        size = os.fstat(fd).st_size
        mm = mmap.mmap(fd, size, access=mmap.ACCESS_READ) if size else None
    except OSError as exc:
        raise TraceError(f"cannot read trace {p}: {exc.strerror}") from None
    finally:
        os.close(fd)
    if mm is not None:
        mapped = _load_mapped(p, mm)
        if mapped is not None:
            return mapped
    buf = bytearray(size + 1)  # one spare byte: see _decode_region
    if mm is not None:
        buf[:size] = mm
        mm.close()
    with memoryview(buf) as view:
        data = view[:size]
        has_tail = size >= len(MAGIC_BYTES) + _TAIL and data[-_TAIL:-32] == _DIGEST_MARK
        intact = has_tail and _digest(data[:-_TAIL]) == data[-32:]
        try:
            version, header, offset = _decode_prefix(data, p)
        except TraceError:
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
        stop, _ = _scan(p, items, end, kinds, cut_ok=False)
        return Trace(p, version, header, items, stop, footer, size, kinds)
    trace, how, decoded = _load_cut(p, version, header, kinds, bytes(buf[:size]), offset, has_tail)
    if has_tail and not (decoded == "end" and how == _CUT):
        # A digest-shaped tail that does not match is a complete trace whose bytes were changed,
        # unless the file was cut right after a 32-byte item that is part of an unfinished
        # record (a blob's digest, say): then every item decodes and the last record is short.
        raise _checksum_mismatch(p)
    return trace


def _load_mapped(p: str, mm: Any) -> Trace | None:
    """A trace of the current format whose file digest matches (streamed over the mapping, in
    constant memory), to be decoded lazily; None for any other file (loaded whole)."""
    size = len(mm)
    with memoryview(mm) as data:
        if not (size >= len(MAGIC_BYTES) + _TAIL and data[-_TAIL:-32] == _DIGEST_MARK):
            return None
        with data[:-_TAIL] as body:
            if _digest(body) != data[-32:]:
                return None
        try:
            version, header, offset = _decode_prefix(data, p)
        except TraceError:
            return None
    if version != FORMAT_VERSION:
        return None
    kinds = _kinds(p, header)
    raw, footer = _find_footer(p, mm, offset)
    trace = Trace(
        p,
        version,
        header,
        [],
        0,
        footer,
        size,
        kinds,
        mapped=mm,
        offset=offset,
        raw_footer=raw,
    )
    # The first chunk (all of a trace of up to about a MiB) is decoded and checked now.
    trace.primed = _Primed(trace, mm, offset)
    return trace


def file_kind(mode: int) -> str:
    """``a FIFO``, ``a directory``, ...: what a non-regular file is, for messages."""
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


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


_END, _CUT, _ZEROS, _FOOTER = "end", "cut", "zeros", "footer"
"""How a scan stopped: at the end of the items, at a record cut by the end of the file, at the
zero padding of a killed recording, at the footer of a trace whose digest was cut off."""


_STEPS: dict[str, Step] = {}


class _Steps(dict[int, Step]):
    """Each code's step (see :mod:`.check`), blobs' and sites' included: a kind's step is
    compiled when a trace first holds one of its events (once per declaration and process), not
    for every kind a header names (39 compiles were 3 ms of a short replay's start-up). A code
    the header names no kind for is a KeyError, as in a plain dict."""

    def __init__(self, kinds: dict[int, EventDecl]) -> None:
        super().__init__({BLOB: blob_step, SITE: site_step})
        self.kinds = kinds

    def __missing__(self, code: int) -> Step:
        decl = self.kinds[code]  # KeyError for a code no kind has
        step = _STEPS.get(decl.name)
        if step is None:
            step = _STEPS[decl.name] = checker(decl)
        self[code] = step
        return step


_HOT = 4
"""How many kinds a scan checks inline (the others through the table of steps)."""


def _hot(items: list[Any], n: int, kinds: dict[int, EventDecl]) -> list[tuple[int, EventDecl]]:
    """The kinds of ``kinds`` commonest among the first records of ``items[:n]``, commonest
    first (at most ``_HOT``). The records are not checked here: a walk that meets anything
    unexpected stops."""
    counts: dict[Any, int] = {}
    arity = {code: decl.arity for code, decl in kinds.items()}
    arity.update(RECORD_ARITY)
    i = walked = 0
    try:
        while i < n and walked < 4096:
            k = items[i]
            i += 1 + arity[k]
            counts[k] = counts.get(k, 0) + 1
            walked += 1
    except (KeyError, TypeError):
        pass
    ranked = sorted((c for c in counts if type(c) is int and c in kinds), key=lambda c: -counts[c])
    return [(code, kinds[code]) for code in ranked[:_HOT]]


def _scan(
    p: str, items: list[Any], n: int, kinds: dict[int, EventDecl], cut_ok: bool
) -> tuple[int, str]:
    """Walk the records in ``items[:n]`` once, checking every event against its declaration and
    every blob against its blake3. Returns where the well-formed records end and how the walk
    stopped (see ``_END``...). Anything else is a :class:`CorruptTraceError` naming the event.
    With ``cut_ok`` the walk may stop at zero padding, a footer, or a record cut by the end of
    the items; without it, ``items[n]`` is the footer and every record must end before it."""
    table = _Steps(kinds)
    blobs: list[Any] = [0, {}]
    i = 0
    try:
        while i < n:
            k = items[i]
            if type(k) is not int:  # True or 1.0 would find code 1's step
                raise KeyError(k)
            i = table[k](items, i, blobs)
    except IndexError:
        if cut_ok:
            return i, _CUT
        raise _overlap(p, items, i, kinds) from None
    except (KeyError, TypeError):
        k = items[i]
        if cut_ok and k == END and type(k) is int:
            return i, _FOOTER
        if cut_ok and k == 0 and type(k) is int:
            return i, _ZEROS
        seq = _count(items, i, kinds)
        after = f"after event {seq}" if seq else "before the first event"
        raise CorruptTraceError(
            f"{p}: the item {after} is not an event: code {what(k)}, which the header "
            "names no kind for; the trace is damaged, use an intact copy or re-record"
        ) from None
    except Bad as bad:
        seq = _count(items, i, kinds)
        k = items[i]
        if k == BLOB:
            raise CorruptTraceError(
                f"{p}: payload {blobs[0]} (before event {seq + 1}) does not match its blake3; "
                "the trace is damaged, use an intact copy or re-record"
            ) from None
        if k == SITE:
            why = f"its source site is {what(items[i + 1])}"
            raise _damaged(p, seq + 1, "site", why) from None
        decl = kinds[k]
        why = explain(decl, items, i, bad.index, blobs[0])
        raise _damaged(p, seq + 1, decl.name, why) from None
    if i != n:
        raise _overlap(p, items, i, kinds)
    return i, _END


def _overlap(p: str, items: list[Any], i: int, kinds: dict[int, EventDecl]) -> CorruptTraceError:
    """The last record before the footer claims more items than there are."""
    last = _start_of_last(items, i, kinds)
    name = kinds[items[last]].name if last < i and items[last] in kinds else "record"
    return _damaged(p, _count(items, i, kinds), name, "its fields run into the footer")


def _damaged(p: str, seq: int, name: str, why: str) -> CorruptTraceError:
    return CorruptTraceError(
        f"{p}: event {seq} ({name}) is damaged: {why}; use an intact copy of the trace or re-record"
    )


def _load_cut(
    p: str,
    version: int,
    header: Header,
    kinds: dict[int, EventDecl],
    data: bytes,
    offset: int,
    has_tail: bool,
) -> tuple[Trace, str, str]:
    """Load a trace without a valid tail: keep every complete event, or call it corrupt.

    A recording that was cut off is a clean prefix of records followed by nothing, by an item
    cut by the end of the file, or by zero padding (which may hold, after a zero byte, the body
    of the one record being written when the recorder died). Anything else is damage. Returns
    the trace, how the scan stopped, and how decoding stopped (``"end"``, ``"eof"``)."""
    region = data[offset:]
    ends: list[int] | None = None
    try:
        items = cbor2.loads(b"\x9f" + region + b"\xff")
        decoded = "end"
    except Exception:
        items, decoded, ends = _decode_items_slowly(region)
    damaged = _checksum_mismatch(p) if has_tail else None
    if version == 1:
        items, _ = format1.convert_items(items, len(items))
    try:
        i, how = _scan(p, items, len(items), kinds, cut_ok=True)
    except CorruptTraceError:
        if damaged is not None:
            raise damaged from None
        raise
    undecodable = CorruptTraceError(
        f"{p}: undecodable bytes after event {_count(items, i, kinds)}; the trace is damaged, "
        "use an intact copy or re-record"
    )
    if how == _FOOTER and version > 1:
        if ends is None:
            _, _, ends = _decode_items_slowly(region)
        # After the footer: nothing, part of the digest item, or (killed between writing the
        # digest's body and its first byte) a zero byte, the rest of the digest, zeros.
        rest = region[ends[i + 1] :] if i + 1 < len(ends) else b""
        if not (
            not rest.strip(b"\0")
            or (len(rest) < _TAIL and _DIGEST_MARK.startswith(rest[:2]))
            or (rest[:2] == b"\0" + _DIGEST_MARK[1:] and not rest[_TAIL:].strip(b"\0"))
        ):
            raise damaged or undecodable
    elif decoded == "bad":
        raise damaged or undecodable
    if how == _ZEROS:
        rest_end = len(items)
        while rest_end > i and items[rest_end - 1] == 0 and type(items[rest_end - 1]) is int:
            rest_end -= 1
        # At most one record's items after its first byte: a two-byte code, fuel, fields.
        most = 2 + max((decl.arity for decl in kinds.values()), default=0)
        if rest_end - (i + 1) > most:
            raise damaged or CorruptTraceError(
                f"{p}: a zero byte stands where event {_count(items, i, kinds) + 1}'s kind must "
                "be, and data follows it; the trace is damaged, use an intact copy or re-record"
            )
    return Trace(p, version, header, items, i, None, len(data), kinds), how, decoded


def _count(items: list[Any], end: int, kinds: dict[int, EventDecl]) -> int:
    """The number of events in the well-formed records ``items[:end]``."""
    return sum(1 for _ in _records(items, end, kinds))


def _records(items: list[Any], end: int, kinds: dict[int, EventDecl]) -> Iterator[int]:
    """The index of each event in the well-formed records ``items[:end]``."""
    i = 0
    while i < end:
        k = items[i]
        if k == BLOB:
            i += 3
        elif k == SITE:
            i += 2
        else:
            yield i
            i += 1 + kinds[k].arity


def _start_of_last(items: list[Any], end: int, kinds: dict[int, EventDecl]) -> int:
    starts = list(_records(items, end, kinds))
    return starts[-1] if starts else 0


# ---- streaming: an intact trace decoded lazily, in chunks, from the mapped file --------------

_CHUNK_BYTES = 1 << 20
"""About how many bytes of the event region one decoded chunk covers."""
_CHUNK_CAP = 8 << 20
"""The most bytes one chunk decodes (unless a single record is larger): what bounds a replay's
memory whatever the trace holds."""
_READ_SIZE = 1 << 16
_FIRST_ESTIMATE = 1 << 14
"""How many items the first chunk tries to decode."""
_LAZY_BYTES = 32 << 10
"""A blob whose data is longer than this is not decoded: its chunk holds a :class:`_Span` of the
mapping in the data's place (see :meth:`MappedChunks._lazy_blob`), so its bytes are never copied
before they reach the guest (one copy, from the mapping into guest memory)."""
_BLOB_MARK = b"\x16\x58\x20"
"""How a blob record starts: its code (22), then the head of its 32-byte blake3."""
_LARGE_BLOB = re.compile(rb"\x16\x58\x20.{32}(?:\x59[\x80-\xff]|\x5a|\x5b)", re.DOTALL)
"""The start of a blob record whose data is 32 KiB or more (found in C, whatever the number of
smaller blobs before it)."""
_HASH_PIECE = 16 << 20
_TAIL_LOADS = 4 << 20
"""When a chunk's estimated item count runs past the end of the file, the rest is decoded in one
call if it is at most this long (else the estimate shrinks)."""


class _Span:
    """A large blob's data, left in the mapping: its offset and length in the file."""

    __slots__ = ("n", "start")

    def __init__(self, start: int, n: int) -> None:
        self.start, self.n = start, n


def _span_at(mm: Any, at: int, limit: int) -> _Span | None:
    """The byte string at file offset ``at`` when it is longer than ``_LAZY_BYTES`` (its head
    read by hand: ``59`` + 2, ``5a`` + 4 or ``5b`` + 8 bytes of length) and ends by ``limit``."""
    mark = mm[at] if at < limit else 0
    if mark == 0x59:
        size = 2
    elif mark == 0x5A:
        size = 4
    elif mark == 0x5B:
        size = 8
    else:
        return None
    start = at + 1 + size
    n = int.from_bytes(mm[at + 1 : start], "big")
    if n <= _LAZY_BYTES or start + n > limit:
        return None
    return _Span(start, n)


class _MapStream(io.RawIOBase):
    """A seekable reader over ``head`` followed by ``mm[base:limit]`` and ``tail``: what a
    chunk decodes from (an array header, then the file, then perhaps the array's end), without
    copying the mapping (cbor2 reads blocks)."""

    def __init__(self, mm: Any, head: bytes, base: int, limit: int, tail: bytes = b"") -> None:
        self.mm, self.head, self.base, self.limit, self.at = mm, head, base, limit, 0
        self.tail = tail

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.at

    def seek(self, offset: int, whence: int = 0) -> int:
        self.at = offset if whence == 0 else self.at + offset
        return self.at

    def readinto(self, b: Any) -> int:
        at, head, n, done = self.at, self.head, len(b), 0
        if at < len(head):
            done = min(n, len(head) - at)
            b[:done] = head[at : at + done]
        q = self.base + at + done - len(head)
        m = min(n - done, self.limit - q)
        if m > 0:
            with memoryview(self.mm) as view:  # one copy, from the mapping into cbor2's buffer
                b[done : done + m] = view[q : q + m]
            done += m
            q += m
        if done < n and self.tail:
            t = q - self.limit
            m = min(n - done, len(self.tail) - t)
            if m > 0:
                b[done : done + m] = self.tail[t : t + m]
                done += m
        self.at = at + done
        return done


class Chunks:
    """The event region of a trace, chunk by chunk: :meth:`next` returns a list of complete,
    checked records and the index where they end in it (``None`` after the last chunk);
    :meth:`blob` returns payload ``n``'s bytes. This one serves a trace held in memory (one
    chunk); :class:`MappedChunks` decodes a mapped trace lazily."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.done = False
        self._blobs: list[Any] | None = None

    def next(self) -> tuple[list[Any], int] | None:
        if self.done:
            return None
        self.done = True
        return self.trace.items, self.trace.end

    def blob(self, n: int) -> Any:
        if self._blobs is None:
            t = self.trace
            items, end, arity = t.items, t.end, t.arity
            blobs, i = [], 0
            while i < end:
                k = items[i]
                if k == BLOB:
                    blobs.append(items[i + 2])
                i += 1 + arity[k]
            self._blobs = blobs
        return self._blobs[n]


def _bytes_head(n: int) -> bytes:
    """The CBOR head of a byte string of ``n`` bytes (shortest form, as the writer writes)."""
    if n < 24:
        return bytes((0x40 + n,))
    for mark, size in ((0x58, 1), (0x59, 2), (0x5A, 4), (0x5B, 8)):
        if n < 1 << (8 * size):
            return bytes((mark,)) + n.to_bytes(size, "big")
    raise ValueError(n)


class MappedChunks(Chunks):
    """:class:`Chunks` of an intact, mapped trace (its file digest matched before the first
    chunk is decoded). A chunk is about ``_CHUNK_BYTES`` of the file decoded with one cbor2 call,
    as a definite-length array of an estimated number of items (the decoder then says exactly
    where they end); a record cut by the chunk's end is carried to the next chunk. Each record is
    checked (:mod:`.check`) when its chunk is decoded. A blob's data stays in the mapping: its
    place is found and compared with the decoded bytes (which were checked against the blob's
    blake3), then the decoded copy is dropped; :meth:`blob` returns a view of the mapping."""

    def __init__(self, trace: Trace, mm: Any, offset: int) -> None:
        super().__init__(trace)
        self.mm = mm
        self.at = offset  # the file offset of the next undecoded item
        self.limit = len(mm) - _TAIL  # the digest item is not decoded
        self.carry: list[Any] = []
        self.estimate = _FIRST_ESTIMATE
        self.state: list[Any] = [0, {}]
        self.table = _Steps(trace.kinds)
        self.table[BLOB] = self._blob_step
        self.scan: Scan | None = None
        """The scan over every chunk, compiled for the kinds commonest in the first."""
        self.starts = array.array("q")
        self.lengths = array.array("q")
        self.events = 0
        self.no_blob_until = 0
        """No large blob record starts before this file offset (see :meth:`_before_blob`)."""

    def blob(self, n: int) -> Any:
        start = self.starts[n]
        return memoryview(self.mm)[start : start + self.lengths[n]]

    def _decode(self) -> list[Any]:
        """The next items of the file (the footer is the last). At most ``_CHUNK_CAP`` bytes
        are decoded at once, whatever the estimate says (a run of small events estimates many
        items per chunk; if large payloads follow, that many would be far more bytes), unless
        one item alone is larger."""
        lazy = self._lazy_blob()
        if lazy is not None:
            return lazy
        before = self._before_blob()
        if before is not None:
            return before
        k = self.estimate
        cap = _CHUNK_CAP
        while True:
            limit = min(self.limit, self.at + cap)
            stream = _MapStream(self.mm, b"\x9b" + k.to_bytes(8, "big"), self.at, limit)
            try:
                items: list[Any] = cbor2.CBORDecoder(stream, read_size=_READ_SIZE).decode()  # type: ignore[arg-type]
            except Exception:
                if limit < self.limit:  # k items are more than the cap: fewer, or one larger
                    if k > 1:
                        k = max(1, k // 4)
                    else:
                        cap *= 2
                    continue
                if k > 1 and self.limit - self.at > _TAIL_LOADS:
                    k //= 4
                    continue
                try:
                    with memoryview(self.mm) as view:
                        items = cbor2.loads(b"\x9f" + view[self.at : self.limit] + b"\xff")
                except Exception:
                    raise CorruptTraceError(
                        f"{self.trace.path}: undecodable bytes after event {self.events}; "
                        "the trace is damaged, use an intact copy or re-record"
                    ) from None
                self.at = self.limit
                return items
            used = stream.tell() - 9
            self.estimate = max(64, min(1 << 20, k * _CHUNK_BYTES // max(used, 1)))
            self.at += used
            return items

    def _before_blob(self) -> list[Any] | None:
        """The items up to the next blob record whose data is large enough to leave in the
        mapping, decoded in one call, when one starts within ``_CHUNK_BYTES``: the next call
        then takes that blob by hand (:meth:`_lazy_blob`). Its place is found by its first
        bytes; when those bytes are not where an item starts (inside a string, say), the
        decoder, which must end exactly there, fails, and None sends the caller to the usual
        decoding. Ending at an item that is not a record's first is harmless: the records
        after it are carried to the next chunk as usual."""
        mm, at = self.mm, self.at
        end = min(self.limit, at + _CHUNK_BYTES)
        search = max(at + 1, self.no_blob_until)
        while True:
            found = _LARGE_BLOB.search(mm, search, end)  # type: ignore[call-overload]
            if found is None:
                # None up to here (a record cut by ``end`` is looked for again next time).
                self.no_blob_until = max(search, end - 40)
                return None
            c: int = found.start()
            if _span_at(mm, c + 35, self.limit) is not None:
                break
            search = c + 1
        self.no_blob_until = c + 1  # whatever happens next, this one has been tried
        stream = _MapStream(mm, b"\x9f", at, c, b"\xff")
        try:
            items: list[Any] = cbor2.CBORDecoder(stream, read_size=_READ_SIZE).decode()  # type: ignore[arg-type]
        except Exception:
            return None
        if stream.tell() != c - at + 2:
            return None
        self.at = c
        return items

    def _lazy_blob(self) -> list[Any] | None:
        """The items of a blob record whose data is large, its data left in the mapping (a
        :class:`_Span`), when the next record is one: at a record's start (nothing carried)
        ``16`` (BLOB) ``58 20`` + digest + the data's head, or after a carried BLOB code and
        digest the data's head. None otherwise (cbor2 decodes what comes next)."""
        mm, at, carry = self.mm, self.at, self.carry
        if not carry:
            if mm[at : at + 3] != b"\x16\x58\x20":
                return None
            span = _span_at(mm, at + 35, self.limit)
            if span is None:
                return None
            self.at = span.start + span.n
            return [BLOB, mm[at + 3 : at + 35], span]
        if len(carry) != 2 or carry[0] != BLOB or type(carry[0]) is not int:
            return None
        span = _span_at(mm, at, self.limit)
        if span is None:
            return None
        self.at = span.start + span.n
        return [span]

    def next(self) -> tuple[list[Any], int] | None:
        if self.done:
            return None
        table, state, place = self.table, self.state, self._place
        out = [0, 0]
        while True:
            fresh = self._decode()
            items = self.carry + fresh if self.carry else fresh
            n = len(items)
            scan = self.scan
            if scan is None:
                scan = self.scan = scanner(_hot(items, n, self.trace.kinds))
            out[0] = 0
            try:
                scan(items, n, state, out, place, table)
            except IndexError:
                pass  # a record cut by the chunk's end: carried to the next chunk
            except (KeyError, TypeError):
                i = out[0]
                self.events += out[1]
                out[1] = 0
                if items[i] == END and type(items[i]) is int:
                    if i + 1 >= n and self.at < self.limit:
                        self.carry = items[i:]  # the footer is in the next chunk
                        if i:
                            return items, i
                        continue
                    self._end(items, i)
                    return items, i
                raise CorruptTraceError(
                    f"{self.trace.path}: the item after event {self.events} is not an event: "
                    f"code {what(items[i])}, which the header names no kind for; the trace is "
                    "damaged, use an intact copy or re-record"
                ) from None
            except Bad as bad:
                self.events += out[1]
                raise self._bad(items, out[0], bad) from None
            i = out[0]
            self.events += out[1]
            out[1] = 0
            if self.at >= self.limit:
                raise CorruptTraceError(
                    f"{self.trace.path}: the trace has no footer before its digest"
                )
            self.carry = items[i:]
            if i:
                return items, i

    def _blob_step(self, items: list[Any], i: int, state: list[Any]) -> int:
        """:func:`.check.blob_step`, and for data left in the mapping (a :class:`_Span`), its
        blake3 computed from the mapping (in place: nothing is copied)."""
        span = items[i + 2]
        if type(span) is not _Span:
            return blob_step(items, i, state)
        digest = items[i + 1]
        with memoryview(self.mm) as view, view[span.start : span.start + span.n] as data:
            threads = blake3.blake3.AUTO if span.n > 1 << 22 else 1
            hasher = blake3.blake3(max_threads=threads)
            for at in range(0, span.n, _HASH_PIECE):
                hasher.update(data[at : at + _HASH_PIECE])
            if type(digest) is not bytes or hasher.digest() != digest:
                raise Bad(-1)
        state[0] += 1
        return i + 3

    def _place(self, items: list[Any], i: int) -> None:
        """Record where blob ``items[i]``'s data lies in the mapping; drop the decoded copy."""
        digest, data = items[i + 1], items[i + 2]
        if type(data) is _Span:
            self.starts.append(data.start)
            self.lengths.append(data.n)
            items[i + 2] = None
            return
        mm, n = self.mm, len(data)
        mark = b"\x58\x20" + digest + _bytes_head(n)
        at = self.starts[-1] + self.lengths[-1] if self.starts else 0
        while True:
            at = mm.find(mark, at, self.at)
            if at < 0:
                raise Bad(-1)
            start = at + len(mark)
            if mm[start : start + n] == data:
                break
            at += 1
        self.starts.append(start)
        self.lengths.append(n)
        items[i + 2] = None

    def _bad(self, items: list[Any], i: int, bad: Bad) -> CorruptTraceError:
        p, seq = self.trace.path, self.events
        k = items[i]
        if k == BLOB:
            return CorruptTraceError(
                f"{p}: payload {self.state[0]} (before event {seq + 1}) does not match its "
                "blake3; the trace is damaged, use an intact copy or re-record"
            )
        if k == SITE:
            return _damaged(p, seq + 1, "site", f"its source site is {what(items[i + 1])}")
        decl = self.trace.kinds[k]
        return _damaged(p, seq + 1, decl.name, explain(decl, items, i, bad.index, self.state[0]))

    def _end(self, items: list[Any], i: int) -> None:
        """The footer record must be the last item, and the one :func:`load` found."""
        self.done = True
        self.carry = []
        if len(items) != i + 2 or self.at != self.limit or items[i + 1] != self.trace.raw_footer:
            raise CorruptTraceError(f"{self.trace.path}: the trace footer is damaged")


class _Primed(MappedChunks):
    """:class:`MappedChunks` that decodes its first chunk when made."""

    def __init__(self, trace: Trace, mm: Any, offset: int) -> None:
        super().__init__(trace, mm, offset)
        self.first: tuple[list[Any], int] | None = super().next()

    def next(self) -> tuple[list[Any], int] | None:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        return super().next()


def _find_footer(p: str, mm: Any, offset: int) -> tuple[Any, Footer]:
    """The footer of an intact mapped trace: the one map between an END byte and the digest
    item that decodes to exactly the bytes up to it (the chunks check it is the last record)."""
    limit = len(mm) - _TAIL
    lo = max(offset, limit - _HEADER_WINDOW)
    tail = bytes(mm[lo:limit])
    at = len(tail)
    while True:
        at = tail.rfind(bytes((END,)), 0, at)
        if at < 0:
            raise CorruptTraceError(f"{p}: the trace has no footer before its digest")
        stream = io.BytesIO(tail)
        stream.seek(at + 1)
        try:
            raw = cbor2.CBORDecoder(stream).decode()
            if stream.tell() == len(tail) and isinstance(raw, dict):
                return raw, Footer.from_cbor(raw)
        except Exception:
            pass


__all__ = [
    "Chunks",
    "Event",
    "MappedChunks",
    "Trace",
    "file_kind",
    "load",
    "load_bytes",
]
