"""The trace format: round trip, compactness, cut-off and corruption detection."""

from __future__ import annotations

from pathlib import Path

import cbor2
import pytest

from wasm_rr.config import RunConfig
from wasm_rr.errors import CorruptTraceError, TraceNotFoundError, UnsupportedTraceVersionError
from wasm_rr.trace import FORMAT_VERSION, Footer, Header, Outcome, TraceWriter, load
from wasm_rr.trace.events import assign_codes, codes_to_cbor
from wasm_rr.trace.reader import _decode_prefix
from wasm_rr.trace.schema import MAGIC_BYTES, Trap
from wasm_rr.world import cli as cli_family
from wasm_rr.world import clocks, stdio
from wasm_rr.world import random as random_family
from wasm_rr.world.registry import EVENTS

CLOCK_NOW, RANDOM = clocks.NOW, random_family.SECURE
WRITE, EXIT = stdio.WRITE, cli_family.EXIT

HEADER = Header(
    tool_version="t",
    wasmtime_version="w",
    guest_blake3="00" * 32,
    guest_kind="module",
    guest_name="g.wasm",
    config=RunConfig(argv=["g.wasm", "x"], env={"A": "1"}),
    kinds=codes_to_cbor(assign_codes(EVENTS.values())),
)


def footer(events: int) -> Footer:
    return Footer(events, Outcome(exit_code=3), "a", "b", 1, 2)


def write_sample(path: Path, close: bool = True) -> TraceWriter:
    w = TraceWriter(path, HEADER)
    w.event_with_fuel(w.code(CLOCK_NOW), 12, 1, 1_700_000_000_000_000_000)
    w.event_with_fuel(w.code(CLOCK_NOW), 30, 1, 850)
    w.event_with_fuel(w.code(RANDOM), 5, w.payload(b"\x01" * 8))
    big = bytes(range(256)) * 4
    w.event_with_fuel(w.code(WRITE), 7, 1, w.payload(big), len(big))
    w.event_with_fuel(w.code(WRITE), 7, 1, w.payload(big), len(big))  # same bytes: stored once
    w.event_with_fuel(w.code(EXIT), 2, 3)
    if close:
        w.close(footer(w.events))
    return w


def test_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    t = load(p)
    assert t.version == FORMAT_VERSION
    assert t.header == HEADER
    assert t.footer == footer(6)
    evs = list(t.events())
    assert [e.name for e in evs] == [
        "clock.now",
        "clock.now",
        "random.bytes",
        "io.write",
        "io.write",
        "cli.exit",
    ]
    assert [e.fuel for e in evs] == [12, 30, 5, 7, 7, 2]
    assert evs[1].fields == (1, 850)
    assert evs[2].fields == (b"\x01" * 8,)
    assert evs[3].fields == evs[4].fields == (1, bytes(range(256)) * 4, 1024)


def test_is_a_plain_cbor_sequence(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = p.read_bytes()
    assert data.startswith(MAGIC_BYTES)
    items = cbor2.loads(b"\x9f" + data + b"\xff")  # any CBOR decoder reads it
    assert items[1] == FORMAT_VERSION and items[2]["config"]["argv"] == ["g.wasm", "x"]


def test_payloads_are_stored_once(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    assert p.read_bytes().count(bytes(range(256)) * 4) == 1


def test_events_are_compact(tmp_path: Path) -> None:
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    wa = TraceWriter(a, HEADER)
    wa.close(None)
    wb = TraceWriter(b, HEADER)
    wb.event_with_fuel(wb.code(CLOCK_NOW), 20, 1, 900)  # a clock read 900 ns after the previous one
    wb.event_with_fuel(wb.code(RANDOM), 20, wb.payload(b"12345678"))
    wb.close(None)
    assert b.stat().st_size - a.stat().st_size == 6 + 11


def test_cut_off_trace_keeps_complete_events(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    w = write_sample(p, close=False)
    # The writer's file is mapped and padded with zeros, as after a SIGKILL: read it as is.
    t = load(p)
    assert t.cut_off and t.footer is None
    assert len(list(t.events())) == 6
    w.close(None)


@pytest.mark.parametrize("keep", [0.3, 0.5, 0.7, 0.9, 0.99])
def test_truncated_trace_loads_as_cut_off(tmp_path: Path, keep: float) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = p.read_bytes()
    _, _, start = _decode_prefix(data, "t.cbor")
    p.write_bytes(data[: start + int((len(data) - start) * keep)])
    t = load(p)
    assert t.cut_off
    assert 0 < len(list(t.events())) <= 6


def test_bit_flip_is_corrupt(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x10
    p.write_bytes(bytes(data))
    with pytest.raises(CorruptTraceError, match="checksum mismatch"):
        load(p)


def test_newer_version_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    p.write_bytes(MAGIC_BYTES + bytes([FORMAT_VERSION + 1]) + cbor2.dumps({}))
    with pytest.raises(UnsupportedTraceVersionError, match="upgrade wasm-rr"):
        load(p)


def test_not_a_trace(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    p.write_bytes(b"\0asm\x01\0\0\0")
    with pytest.raises(CorruptTraceError, match="is a wasm file, not a trace"):
        load(p)
    p.write_text("hello")
    with pytest.raises(CorruptTraceError, match="not a wasm-rr trace"):
        load(p)
    with pytest.raises(TraceNotFoundError):
        load(tmp_path / "missing.cbor")


def test_trap_outcome_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    w = TraceWriter(p, HEADER)
    trap = Trap("UNREACHABLE", "wasm `unreachable` instruction executed", [[3, "f", 10, 2]])
    w.close(Footer(0, Outcome(trap=trap), "a", "b", 0, 0))
    assert load(p).footer == Footer(0, Outcome(trap=trap), "a", "b", 0, 0)


@pytest.mark.parametrize("where", [20, 40, -1, -20, -40])
def test_any_changed_byte_of_a_complete_trace_is_corrupt(tmp_path: Path, where: int) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = bytearray(p.read_bytes())
    for value in (0, data[where] ^ 0x01):  # also a zero, which looks like padding
        if value == data[where]:
            continue
        changed = bytearray(data)
        changed[where] = value
        p.write_bytes(bytes(changed))
        with pytest.raises(CorruptTraceError, match="checksum mismatch"):
            load(p)
