"""What every effect family shares: the recorder, the replay cursor, the fuel meter, errors.

An effect family (clocks, random, cli, stdio, poll) has one protocol and three implementations:
live (asks the OS), recording (asks the live one, then appends an event through a
:class:`Recorder`) and replaying (answers from the trace through a :class:`Replayer`, after
checking the question). The ABI layers (preview1, components) only see the protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import blake3

from ..errors import (
    ArgsMismatchError,
    CorruptTraceError,
    EndOfTraceError,
    FuelMismatchError,
    KindMismatchError,
    RecordingCutOffError,
    RecordingStoppedError,
    SiteMismatchError,
)
from ..trace.events import BLOB, SITE, EventDecl
from ..trace.view import text
from ..trace.writer import TraceWriter

if TYPE_CHECKING:
    from ..trace.reader import Trace


class FuelCell(Protocol):
    """``cell[0]`` is the number of guest instructions executed so far (it only grows)."""

    def __getitem__(self, index: int) -> int: ...


class ZeroFuel:
    """A fuel cell for hosts without metering: every event reads 0 instructions."""

    def __getitem__(self, index: int) -> int:
        return 0


class FrozenFuel:
    """The count a store's fuel cell held when the store ended (the cell itself is memory the
    store owns: it must not be read after the store is gone)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __getitem__(self, index: int) -> int:
        return self.count


class WorldError(Exception):
    """The world answered a question with an error; ``name`` is the POSIX errno name.

    It is part of the answer (recorded, replayed) and each ABI layer maps the name to its own
    error code (a preview1 errno, a WASI 0.2 error-code).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def kept_bytes(data: bytes) -> bytes:
    """What a trace keeps of bytes the guest sent out (a file write, a child's stdin, a request
    body): the bytes themselves below 32, else their 32-byte blake3. Replay checks the guest's
    bytes against it."""
    return data if len(data) < 32 else blake3.blake3(data).digest()


def world_error_from_os(exc: OSError) -> WorldError:
    """The :class:`WorldError` for an OS error."""
    import errno

    return WorldError(errno.errorcode.get(exc.errno or 0, "EIO"))


class Recorder:
    """The recording side of every family: appends events to a :class:`TraceWriter`.

    Hot families encode their fields themselves and call :attr:`put` (the writer's, which
    stamps the fuel delta); the others call :meth:`event` with plain values.
    """

    def __init__(self, writer: TraceWriter) -> None:
        self.writer = writer
        self.code = writer.code
        self.put = writer.put
        self.put2 = writer.put2
        self.reads_summed = writer.reads_summed
        self.event = writer.event
        self.payload = writer.payload
        self.payload_stream = writer.payload_stream
        self.journal: Any = None
        """The family-independent side of journalling (``world.journal.Journal.of``)."""

    def attach(self, fuel: FuelCell) -> None:
        """Start counting on a store's fuel cell (the engine calls this before the guest runs)."""
        self.writer.attach_fuel(fuel)

    def swap(self, fuel: FuelCell) -> None:
        """Read the same count from ``fuel`` from now on (the store's count, frozen)."""
        self.writer.swap_fuel(fuel)

    @property
    def events(self) -> int:
        return self.writer.events


STOPPED_KIND = "journal.stopped"
"""The kind that ends a recording stopped by Ctrl-C or --timeout (``world.journal.STOPPED``)."""

PIECE = 16 << 20
"""How many bytes a large answer is produced, hashed and copied in at a time."""


class ViewSource:
    """A payload source (``size`` and ``chunks()``, for ``Recorder.payload_stream``) over bytes
    already in place, such as the guest memory an answer was just written into: recording it
    copies nothing into this process's heap."""

    def __init__(self, view: memoryview) -> None:
        self.view = view
        self.size = len(view)

    def chunks(self) -> Iterator[memoryview]:
        view = self.view
        for at in range(0, self.size, PIECE):
            yield view[at : at + PIECE]


def describe(decl: EventDecl | None, question: tuple[Any, ...]) -> str:
    """``clock.now(1)``: a call, as drift messages show it. A question field named ``call``
    (the argument list of a file-system operation) is shown as the arguments themselves."""
    name = decl.name if decl is not None else "<unknown event>"
    shown: tuple[Any, ...] = question
    if (
        decl is not None
        and len(decl.question) == 1
        and decl.question[0].name == "call"
        and len(question) == 1
        and isinstance(question[0], list)
    ):
        shown = tuple(question[0])
    args = ", ".join(text(q) for q in shown)
    return f"{name}({args})"


class Replayer:
    """The replay cursor: hands out recorded answers after checking each question.

    ``take(kind, *question)`` checks that the next event has that kind, the same question fields
    and (when ``check_fuel``) the same fuel delta, then returns its answer fields, or raises the
    drift error that says how the run diverged. ``take0(kind)`` and ``take1(kind, q)`` do the
    same for the two commonest shapes (no question and one answer; one question and one answer)
    and return the answer itself. They are closures over the cursor state, like the writer's
    hot path, because they run for every event of a replay; anything unusual falls back to
    ``take``.
    """

    take: Callable[..., list[Any]]
    take0: Callable[[int], Any]
    take1: Callable[[int, Any], Any]
    code: Callable[[EventDecl], int]
    """The code of a kind in the trace being replayed (-1: the trace holds none)."""
    summing: Callable[[int], Callable[[int], int]]
    attach: Callable[[FuelCell], None]
    swap: Callable[[FuelCell], None]
    """Read the same count from another cell from now on (the store's count, frozen)."""
    enable_sites: Callable[[Callable[[], int]], None]
    """Check, before answering each event, that the guest's site register holds the site the
    recording holds for it (``.tape`` programs)."""
    last_site: Callable[[], int | None]
    """The recorded site of the event being taken (for error messages)."""
    peek: Callable[[], int | None]
    """The code of the next event (blobs and sites skipped), or None when none is left."""
    take_opt: Callable[[int], list[Any] | None]
    """``take(kind)`` (answers only, the question unchecked) when the next event is of
    ``kind``; None, moving nothing, when it is not (an optional event: a journal intent)."""
    fuel_mark: Callable[[], int]
    """The fuel count at the last event taken (a resumed recording counts on from it)."""
    _rest: Callable[[], None]

    def __init__(self, trace: Trace, fuel: FuelCell, check_fuel: bool) -> None:
        self.trace = trace
        self.kinds = trace.kinds
        self.chunks = trace.chunks()
        first = self.chunks.next()
        self.items, self.end = first if first is not None else ([], 0)
        self.check_fuel = check_fuel
        self._next: str | None = None
        self._build(fuel)

    def _build(self, fuel_cell: FuelCell) -> None:
        items = self.items
        end = self.end
        chunks = self.chunks
        check_fuel = self.check_fuel
        pos = 0
        seq = 0
        last_fuel = 0
        arity = self.trace.arity
        kinds = self.kinds
        blob = BLOB
        site_kind = SITE
        site_reader: Callable[[], int] | None = None
        recorded_site: int | None = None

        def advance() -> bool:
            """The next chunk, once the cursor is at the end of this one."""
            nonlocal items, end, pos
            chunk = chunks.next()
            if chunk is None:
                return False
            items, end = chunk
            self.items, self.end = chunk
            pos = 0
            return True

        def take(kind: int, *question: Any) -> list[Any]:
            nonlocal pos, seq, last_fuel, recorded_site
            i = pos
            recorded_site = None
            while True:
                while i < end and (items[i] == blob or items[i] == site_kind):
                    if items[i] == blob:
                        i += 3
                    else:
                        recorded_site = items[i + 1]
                        i += 2
                if i < end or not advance():
                    break
                i = 0
            pos = i
            if i >= end or items[i] != kind:
                self._mismatch(i, seq, kind, question, fuel_cell[0] - last_fuel)
            now = fuel_cell[0]
            delta = now - last_fuel
            n = arity[kind]
            nq = len(question)
            if nq and tuple(items[i + 2 : i + 2 + nq]) != question:
                raise ArgsMismatchError(
                    seq + 1,
                    describe(kinds[kind], tuple(items[i + 2 : i + 2 + nq])),
                    "called " + describe(kinds[kind], question),
                )
            if delta != items[i + 1] and check_fuel:
                raise FuelMismatchError(
                    seq + 1,
                    f"{describe(kinds[kind], question)} after {items[i + 1]} instructions",
                    f"made it after {delta} instructions",
                )
            if (
                site_reader is not None
                and recorded_site is not None
                and site_reader() != recorded_site
            ):
                raise SiteMismatchError(
                    seq + 1,
                    describe(kinds[kind], question),
                    "called " + describe(kinds[kind], question),
                )
            last_fuel = now
            pos = i + 1 + n
            seq += 1
            return items[i + 2 + nq : i + 1 + n]

        def take0(kind: int) -> Any:
            nonlocal pos, seq, last_fuel
            i = pos
            if i < end and items[i] == kind:
                now = fuel_cell[0]
                if now - last_fuel == items[i + 1] or not check_fuel:
                    last_fuel = now
                    pos = i + 3
                    seq += 1
                    return items[i + 2]
            return take(kind)[0]

        def take1(kind: int, question: Any) -> Any:
            nonlocal pos, seq, last_fuel
            i = pos
            if i < end and items[i] == kind and items[i + 2] == question:
                now = fuel_cell[0]
                if now - last_fuel == items[i + 1] or not check_fuel:
                    last_fuel = now
                    pos = i + 4
                    seq += 1
                    return items[i + 3]
            return take(kind, question)[0]

        def summing(kind: int) -> Callable[[int], int]:
            """A ``take1`` for answers stored as the difference from the previous answer to
            the same question (clock reads), returning the running sum. Questions are small
            ints (clock ids)."""
            sums = [0] * 16

            def read(question: int) -> int:
                nonlocal pos, seq, last_fuel
                i = pos
                if i < end and items[i] == kind and items[i + 2] == question:
                    now = fuel_cell[0]
                    if now - last_fuel == items[i + 1] or not check_fuel:
                        last_fuel = now
                        pos = i + 4
                        seq += 1
                        value: int = sums[question] + items[i + 3]
                        sums[question] = value
                        return value
                value = sums[question] + take(kind, question)[0]
                sums[question] = value
                return value

            return read

        def attach(cell: FuelCell) -> None:
            nonlocal fuel_cell, last_fuel
            fuel_cell = cell
            last_fuel = cell[0]

        def swap(cell: FuelCell) -> None:
            nonlocal fuel_cell
            fuel_cell = cell

        def state() -> tuple[int, int]:
            return pos, seq

        def rest() -> None:
            """Move to the first unread record, in the next chunk if this one is done."""
            nonlocal pos
            while pos >= end and advance():
                pass

        def enable_sites(reader: Callable[[], int]) -> None:
            nonlocal site_reader
            site_reader = reader

        def peek() -> int | None:
            """The code of the next event (blobs and sites skipped), None at the end."""
            i = pos
            while True:
                while i < end and (items[i] == blob or items[i] == site_kind):
                    i += 3 if items[i] == blob else 2
                if i < end:
                    return int(items[i])
                if not advance():  # as take does: only blobs and sites are passed over
                    return None
                i = 0

        def fuel_mark() -> int:
            return last_fuel

        def take_opt(kind: int) -> list[Any] | None:
            """``take(kind)`` when the next event is of ``kind``, else None, moving nothing."""
            nonlocal pos, seq, last_fuel
            i = pos
            if i < end:
                k = items[i]
                if k == kind:
                    now = fuel_cell[0]
                    if now - last_fuel == items[i + 1] or not check_fuel:
                        n = arity[kind]
                        last_fuel = now
                        pos = i + 1 + n
                        seq += 1
                        return items[i + 2 : i + 1 + n]
                    return take(kind)  # raises the fuel mismatch
                if k != blob and k != site_kind:
                    return None
            return take(kind) if peek() == kind else None

        def last_site() -> int | None:
            return recorded_site

        self.enable_sites = enable_sites
        self.peek = peek
        self.fuel_mark = fuel_mark
        self.take_opt = take_opt
        self.last_site = last_site
        self.take = take
        self.take0 = take0
        self.take1 = take1
        self.code = self.trace.code
        self.summing = summing
        self.attach = attach
        self.swap = swap
        self._state = state
        self._rest = rest

    @property
    def pos(self) -> int:
        """Index in ``items`` of the next unread item."""
        return self._state()[0]

    @property
    def seq(self) -> int:
        """Events answered so far."""
        return self._state()[1]

    def resolve(self, field: Any) -> bytes:
        """A payload field's bytes (inline, or the blob it names)."""
        view = self.resolve_view(field)
        return view if type(view) is bytes else bytes(view)

    def resolve_view(self, field: Any) -> bytes | memoryview:
        """A payload field's bytes, or a view of them in the mapped trace (which the ABI copies
        into guest memory once)."""
        if type(field) is bytes:
            inline: bytes = field
            return inline
        try:
            data: bytes | memoryview = self.chunks.blob(field)
            return data
        except (IndexError, TypeError):
            raise CorruptTraceError(
                f"{self.trace.path}: event {self.seq} names payload {field!r}, which the trace "
                "does not hold; the trace is damaged"
            ) from None

    def _mismatch(self, i: int, seq: int, kind: int, question: tuple[Any, ...], delta: int) -> None:
        got = "called " + describe(self.kinds.get(kind), question)
        if i >= self.end:
            if self.trace.cut_off:
                raise RecordingCutOffError(seq)
            raise EndOfTraceError(seq + 1, "no more events", got)
        k = self.items[i]
        if type(k) is not int or k not in self.kinds:
            raise CorruptTraceError(f"{self.trace.path}: event {seq + 1} has no valid kind")
        if self.kinds[k].name == STOPPED_KIND:
            self._stopped(seq, delta, got)
        recorded_q = tuple(self.items[i + 2 : i + 2 + len(self.kinds[k].question)])
        raise KindMismatchError(seq + 1, describe(self.kinds[k], recorded_q), got)

    def _stopped(self, seq: int, delta: int, got: str) -> None:
        """The guest called the host where the recording was stopped (it was stopped inside
        that call, or instruction counts are not compared): replay stops here too. A stop
        that is not the trace's last event is damage (a kind mismatch, raised by the caller);
        a call made before the instruction the recording was stopped at is a divergence."""
        from .stops import plan

        stops = plan(self.trace, self.check_fuel)
        stopped = stops.stopped if stops is not None else None
        if stops is None or stopped is None or stopped.seq != seq + 1:
            return
        if self.check_fuel and 0 <= delta < stopped.fuel:
            raise FuelMismatchError(
                seq + 1,
                f"no call: the guest was stopped ({stopped.why}) {stopped.fuel} instructions "
                "after the event before",
                f"{got} after {delta} instructions",
            )
        raise RecordingStoppedError(
            seq, stopped.why, stops.instructions, stopped.exit_status, stops.how
        )

    def remaining(self) -> int:
        """How many events are left after the cursor (reads the rest of the trace)."""
        self._next = self.next_description()
        i, n = self.pos, 0
        arity = self.trace.arity
        while True:
            items, end = self.items, self.end
            while i < end:
                k = items[i]
                if k != BLOB and k != SITE:
                    n += 1
                i += 1 + arity[k]
            chunk = self.chunks.next()
            if chunk is None:
                return n
            self.items, self.end = chunk
            i = 0

    def next_description(self) -> str:
        """The next unread event, described (for 'unused events' errors)."""
        if self._next is not None:
            return self._next
        self._rest()
        i = self.pos
        arity = self.trace.arity
        while i < self.end and self.items[i] in (BLOB, SITE):
            i += 1 + arity[self.items[i]]
        if i >= self.end:
            return "no more events"
        decl = self.kinds[self.items[i]]
        return describe(decl, tuple(self.items[i + 2 : i + 2 + len(decl.question)]))


__all__ = [
    "PIECE",
    "STOPPED_KIND",
    "FrozenFuel",
    "FuelCell",
    "Recorder",
    "Replayer",
    "ViewSource",
    "WorldError",
    "ZeroFuel",
    "describe",
    "kept_bytes",
    "world_error_from_os",
]
