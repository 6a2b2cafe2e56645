"""Every declared field at its bounds, both ways: what the writer writes at each bound of each
field of each kind, the reader reads back unchanged; one step past a bound, the reader refuses
it. Everything comes from the declarations (nothing here lists kinds or fields), so a kind or a
field added later is covered as it is declared. What the ABIs can really pass is pinned by the
guests' own tests (tests/abi: file times at 2^64-1, stat times past it, ...); here, that the
trace keeps whatever the declarations allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wasm_rr.errors import CorruptTraceError
from wasm_rr.trace import TraceWriter, load
from wasm_rr.trace.check import ERRNO_MAX, S64_MAX, S64_MIN, U64
from wasm_rr.trace.events import (
    INLINE_MAX,
    TIME_MAX,
    TIME_MIN,
    Among,
    Elem,
    EventDecl,
    Field,
    Opt,
    Seq,
)
from wasm_rr.world.clocks import NOW
from wasm_rr.world.registry import EVENTS

from .test_format import HEADER, footer

BLOB_DATA = bytes(range(256)) * 3
"""The one blob of every trace here: a payload field's ordinal 0 names it."""

BOUNDS: dict[str, tuple[int, int]] = {
    "int": (S64_MIN, S64_MAX),
    "uint": (0, U64),
    "s32": (-(1 << 31), (1 << 31) - 1),
    "u32": (0, (1 << 32) - 1),
    "time": (TIME_MIN, TIME_MAX),
    "delta": (-U64, U64),
}
LARGE = 70_000
"""A large text or byte string (past every short CBOR length form)."""


def edges(elem: Elem) -> list[Any]:
    """Values of ``elem`` at each of its bounds; the first is the one other values sit beside."""
    if isinstance(elem, Opt):
        return [*edges(elem.elem), None]
    if isinstance(elem, Among):
        return sorted(elem.values)
    if isinstance(elem, Seq):
        if elem.items is not None:
            plain = [edges(e)[0] for e in elem.items]
            out = [plain]
            for j, e in enumerate(elem.items):
                out += [[*plain[:j], v, *plain[j + 1 :]] for v in edges(e)[1:]]
            return out
        if elem.each is not None:
            return [[], *([v] for v in edges(elem.each)), edges(elem.each)]
        return [[], [None, 1, "x", b"y", [2]]]
    if elem in BOUNDS:
        return list(BOUNDS[elem])
    return {
        "bool": [False, True],
        "str": ["", "é" * LARGE],
        "bytes": [b"", b"\xff" * LARGE],
        "name": [b"", b"\xff" * LARGE, "text"],
        "payload": [b"", bytes(INLINE_MAX), 0],
        "list": [[], [None, 1, "x", b"y", [2]]],
        "map": [{}, {"k": [1, b"v"]}],
        "null": [None],
        "any": [None, {"a": [1, b"x", -(1 << 64)]}],
    }[elem]


def field_edges(fd: Field) -> list[Any]:
    out = edges(fd.of if fd.shape == "list" and fd.of is not None else fd.shape)
    if fd.errno:
        out += ["E", "E" * ERRNO_MAX]
    if fd.nullable:
        out.append(None)
    return out


def past(elem: Elem) -> list[Any]:
    """Values one step outside ``elem``'s bounds (where it has bounds)."""
    if isinstance(elem, Opt):
        return past(elem.elem)
    if isinstance(elem, Among):
        return ["not-" + min(elem.values)]
    if isinstance(elem, Seq):
        if elem.items is not None:
            plain = [edges(e)[0] for e in elem.items]
            out: list[Any] = [plain[:-1], [*plain, plain[-1]]]  # one short, one long
            for j, e in enumerate(elem.items):
                out += [[*plain[:j], v, *plain[j + 1 :]] for v in past(e)]
            return out
        if elem.each is not None:
            return [[v] for v in past(elem.each)]
        return []
    if elem in BOUNDS:
        lo, hi = BOUNDS[elem]
        return [lo - 1, hi + 1, True]  # and a boolean is not an integer
    return {"payload": [bytes(INLINE_MAX + 1), 1, -1]}.get(elem, [])


def field_past(fd: Field) -> list[Any]:
    out = past(fd.of if fd.shape == "list" and fd.of is not None else fd.shape)
    if fd.errno:
        out.append("E" * (ERRNO_MAX + 1))
    return out


def events_at_bounds(decl: EventDecl) -> Iterator[tuple[int, list[Any]]]:
    """(fuel, fields) of events of ``decl``'s kind: every field at each of its bounds, the
    others at their first; the fuel delta at its two bounds."""
    plain = [field_edges(fd)[0] for fd in decl.fields]
    if decl.summed:
        plain[-1] = 0
    yield 0, plain
    yield U64, plain
    for j, fd in enumerate(decl.fields):
        values = field_edges(fd)
        if decl.summed and fd is decl.fields[-1]:
            # The running sum the guest sees stays an unsigned 64-bit value: up, then down.
            values = [U64, -U64]
        for v in values:
            yield 0, [*plain[:j], v, *plain[j + 1 :]]


def resolved(decl: EventDecl, fields: list[Any]) -> tuple[Any, ...]:
    """The fields as :meth:`Trace.events` gives them (a payload's ordinal: its bytes)."""
    slots = decl.payload_slots
    return tuple(BLOB_DATA if j in slots and type(v) is int else v for j, v in enumerate(fields))


@pytest.mark.parametrize("decl", list(EVENTS.values()), ids=list(EVENTS))
def test_every_field_at_its_bounds_reads_back_as_written(decl: EventDecl, tmp_path: Path) -> None:
    path = tmp_path / "t.cbor"
    w = TraceWriter(path, HEADER)
    assert w.payload(BLOB_DATA) == 0
    code = w.code(decl)
    written = list(events_at_bounds(decl))
    for fuel, fields in written:
        if fuel:
            w.event_with_fuel(code, fuel, *fields)
        else:
            w.event(code, *fields)  # the recorder's own path
    w.close(footer(w.events))
    read = [(e.fuel, e.name, e.fields) for e in load(path).events()]
    assert read == [(fuel, decl.name, resolved(decl, fields)) for fuel, fields in written]


@pytest.mark.parametrize("decl", list(EVENTS.values()), ids=list(EVENTS))
def test_one_step_past_a_bound_is_refused(decl: EventDecl, tmp_path: Path) -> None:
    plain = [field_edges(fd)[0] for fd in decl.fields]
    if decl.summed:
        plain[-1] = 0
    cases: list[tuple[int, list[Any]]] = [(U64 + 1, plain)]
    for j, fd in enumerate(decl.fields):
        cases += [(0, [*plain[:j], v, *plain[j + 1 :]]) for v in field_past(fd)]
    if decl.summed:
        cases.append((0, [*plain[:-1], -1]))  # the guest would see a negative time
    for k, (fuel, fields) in enumerate(cases):
        path = tmp_path / f"t{k}.cbor"
        w = TraceWriter(path, HEADER)
        w.payload(BLOB_DATA)
        w.event_with_fuel(w.code(decl), fuel, *fields)
        w.close(footer(w.events))
        with pytest.raises(CorruptTraceError, match=rf"event 1 \({decl.name}\) is damaged"):
            load(path)


def test_clock_reads_at_the_ends_of_the_range_replay_as_read(tmp_path: Path) -> None:
    """The recorder's clock path stores each read as the difference from the previous one:
    from 2^64-1 down to 0 and back is -(2^64-1) and 2^64-1, and reads back as the values."""
    values = [U64, 0, U64, 1, U64 - 1, 0]
    readers = [iter(values).__next__]
    path = tmp_path / "t.cbor"
    w = TraceWriter(path, HEADER)
    read = w.reads_summed(w.code(NOW), readers)
    assert [read(0) for _ in values] == values
    w.close(footer(w.events))
    assert [e.answer[0] for e in load(path).events(absolute=True)] == values
