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
from .check import Bad, Step, blob_step, checker, explain, site_step, what
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


def load(path: str | os.PathLike[str]) -> Trace:
    """Load and verify a trace file. Raises a :class:`TraceError` subclass on any problem."""
    p = os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer.
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
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
        with open(fd, "rb", closefd=False) as f:
            size = os.fstat(fd).st_size
            buf = bytearray(size + 1)  # one spare byte: see _decode_region
            with memoryview(buf) as view:
                got = f.readinto(view[:size])
            if got != size:
                del buf[got:]
                size = got
                buf.append(0)
    except OSError as exc:
        raise TraceError(f"cannot read trace {p}: {exc.strerror}") from None
    finally:
        os.close(fd)
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
        return Trace(p, version, header, items, stop, footer, size, kinds, verified=True)
    trace, how, decoded = _load_cut(p, version, header, kinds, bytes(buf[:size]), offset, has_tail)
    if has_tail and not (decoded == "end" and how == _CUT):
        # A digest-shaped tail that does not match is a complete trace whose bytes were changed,
        # unless the file was cut right after a 32-byte item that is part of an unfinished
        # record (a blob's digest, say): then every item decodes and the last record is short.
        raise _checksum_mismatch(p)
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


def _steps(kinds: dict[int, EventDecl]) -> dict[int, Step]:
    """Each code's step (see :mod:`.check`; compiled once per declaration), blobs and sites."""
    table: dict[int, Step] = {BLOB: blob_step, SITE: site_step}
    for code, decl in kinds.items():
        step = _STEPS.get(decl.name)
        if step is None:
            step = _STEPS[decl.name] = checker(decl)
        table[code] = step
    return table


def _scan(
    p: str, items: list[Any], n: int, kinds: dict[int, EventDecl], cut_ok: bool
) -> tuple[int, str]:
    """Walk the records in ``items[:n]`` once, checking every event against its declaration and
    every blob against its blake3. Returns where the well-formed records end and how the walk
    stopped (see ``_END``...). Anything else is a :class:`CorruptTraceError` naming the event.
    With ``cut_ok`` the walk may stop at zero padding, a footer, or a record cut by the end of
    the items; without it, ``items[n]`` is the footer and every record must end before it."""
    table = _steps(kinds)
    blobs: list[Any] = [0, {}]
    i = 0
    try:
        while i < n:
            i = table[items[i]](items, i, blobs)
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
