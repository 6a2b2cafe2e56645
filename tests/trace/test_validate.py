"""A trace is untrusted input: every event is checked against its declaration where it is
decoded, every blob against its blake3, and a damaged trace is told from a cut-off one."""

from __future__ import annotations

from pathlib import Path

import blake3
import pytest

from wasm_rr.errors import CorruptTraceError
from wasm_rr.trace import TraceWriter, load, reader
from wasm_rr.trace.schema import MAGIC_BYTES
from wasm_rr.world import cli as cli_family
from wasm_rr.world import clocks, poll, stdio
from wasm_rr.world import random as random_family

from .test_format import HEADER, footer, write_sample


def redigest(path: Path) -> None:
    """Recompute a complete trace's digest after its bytes were edited."""
    data = bytearray(path.read_bytes())
    data[-32:] = blake3.blake3(bytes(data[:-34])).digest()
    path.write_bytes(bytes(data))


def written(path: Path, *events: tuple[object, ...]) -> Path:
    """A complete, intact trace holding these events: (decl or raw code, fuel, fields...)."""
    w = TraceWriter(path, HEADER)
    for decl, fuel, *fields in events:
        code = decl if isinstance(decl, int) else w.code(decl)  # type: ignore[arg-type]
        w.event_with_fuel(code, fuel, *fields)  # type: ignore[arg-type]
    w.close(footer(w.events))
    return path


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ((clocks.NOW, 1, 1, "5"), "event 2 (clock.now) is damaged: its ns is the text '5'"),
        ((clocks.NOW, -1, 1, 5), "(clock.now) is damaged: its fuel delta is the integer -1"),
        ((clocks.NOW, 1, 1, 1 << 70), "its ns is an oversized integer"),
        ((cli_family.ARGS, 1, [b"a", 7]), "event 2 (cli.args) is damaged: its argv is a list of 2"),
        ((stdio.WRITE, 1, 1, 3, 5), "names payload 3, but only 0 payload(s) come before it"),
        ((stdio.WRITE, 1, 1, b"x" * 65, 65), "its data is 65 inline bytes"),
        ((poll.WAIT, 1, [[1, 0, 1, 5]], []), "event 2 (poll.wait) is damaged: its subscriptions"),
        ((stdio.ISATTY, 1, 1, None), "event 2 (io.isatty) is damaged: its tty is null"),
        ((99, 1, 1), "the item after event 1 is not an event: code the integer 99"),
    ],
)
def test_malformed_events_in_an_intact_trace_are_refused_by_name(
    tmp_path: Path, event: tuple[object, ...], why: str
) -> None:
    p = written(tmp_path / "t.cbor", (clocks.NOW, 3, 1, 10), event, (clocks.NOW, 3, 1, 10))
    with pytest.raises(CorruptTraceError, match="^" + str(p)) as info:
        load(p)
    assert why in str(info.value) and "\n" not in str(info.value)


def test_a_payload_changed_under_a_recomputed_digest_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = bytearray(p.read_bytes())
    at = data.index(bytes(range(256)))  # the 1 KiB blob's data
    data[at + 100] ^= 1
    p.write_bytes(bytes(data))
    redigest(p)
    with pytest.raises(CorruptTraceError, match=r"payload 0 .* does not match its blake3"):
        load(p)


def big_blob_trace(path: Path, before: int, data: bytes) -> Path:
    """``before`` clock reads, then a blob of ``data`` (left in the mapping when read: larger
    than 1 MiB) and a random read naming it, then another clock read."""
    w = TraceWriter(path, HEADER)
    for _ in range(before):
        w.event_with_fuel(w.code(clocks.NOW), 3, 1, 10)
    w.event_with_fuel(w.code(random_family.SECURE), 5, w.payload(data))
    w.event_with_fuel(w.code(clocks.NOW), 3, 1, 10)
    w.close(footer(w.events))
    return path


# Where the decoder meets the blob: first in the trace, or after many small events (a chunk
# then ends before the blob's code, or between its digest and its data).
_BEFORE = [0, 1, 5000, 70000]


@pytest.mark.parametrize("before", _BEFORE)
def test_a_large_blob_read_from_the_mapping_is_the_recorded_bytes(
    tmp_path: Path, before: int
) -> None:
    data = bytes(range(256)) * (36 << 10)  # 9 MiB: more than one chunk decodes
    trace = load(big_blob_trace(tmp_path / "t.cbor", before, data))
    events = list(trace.events())
    assert len(events) == before + 2
    assert events[before].fields == (data,) and events[-1].fields == (1, 10)


def test_a_large_blob_after_a_chunk_that_ends_at_its_digest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first chunk decodes 6 items: a clock read (4), the blob's code and digest; its data
    is then taken from the mapping after the carried code and digest."""
    monkeypatch.setattr(reader, "_FIRST_ESTIMATE", 6)
    data = bytes(range(256)) * (36 << 10)
    trace = load(big_blob_trace(tmp_path / "t.cbor", 1, data))
    assert [e.fields for e in trace.events()] == [(1, 10), (data,), (1, 10)]
    p = tmp_path / "t.cbor"
    raw = bytearray(p.read_bytes())
    raw[raw.index(data)] ^= 1
    p.write_bytes(bytes(raw))
    redigest(p)
    with pytest.raises(CorruptTraceError, match=r"payload 0 .* does not match its blake3"):
        list(load(p).events())


@pytest.mark.parametrize("before", _BEFORE)
def test_a_large_blob_changed_under_a_recomputed_digest_is_refused(
    tmp_path: Path, before: int
) -> None:
    data = bytes(range(256)) * (36 << 10)
    p = big_blob_trace(tmp_path / "t.cbor", before, data)
    raw = bytearray(p.read_bytes())
    raw[raw.index(data) + len(data) - 7] ^= 1
    p.write_bytes(bytes(raw))
    redigest(p)
    with pytest.raises(CorruptTraceError, match=r"payload 0 .* does not match its blake3"):
        list(load(p).events())


def medium_blob_trace(path: Path, sizes: list[int], lead: bytes = b"") -> tuple[Path, list[bytes]]:
    """Between clock reads, random reads of blobs of these sizes (those over 32 KiB are left in
    the mapping when read); first a write to stdout of ``lead`` (up to 64 inline bytes)."""
    w = TraceWriter(path, HEADER)
    w.event_with_fuel(w.code(stdio.WRITE), 1, 1, lead, len(lead))
    blobs = []
    for i, n in enumerate(sizes):
        data = bytes((i * 7 + j) & 0xFF for j in range(256)) * (n // 256) + b"t" * (n % 256)
        blobs.append(data)
        w.event_with_fuel(w.code(clocks.NOW), 3, 1, 10 + i)
        w.event_with_fuel(w.code(random_family.SECURE), 5, w.payload(data))
    w.event_with_fuel(w.code(clocks.NOW), 3, 1, 10)
    w.close(footer(w.events))
    return path, blobs


def test_medium_blobs_between_events_are_the_recorded_bytes(tmp_path: Path) -> None:
    """Blobs of 32 KiB and more between small events are taken from the mapping (the items
    before each are decoded up to its first byte); smaller ones are decoded; either way the
    events are the recorded ones. The first write's data looks like the start of a large blob
    record: a decoder that stopped there would end inside a string, and decoding goes on."""
    sizes = [40 << 10, 1000, 64 << 10, (32 << 10) + 1, 32 << 10, 3 << 20, 70000]
    lead = b"\x16\x58\x20" + b"d" * 32 + b"\x59\x90\x00" + b"zz"
    p, blobs = medium_blob_trace(tmp_path / "t.cbor", sizes, lead)
    events = list(load(p).events())
    assert events[0].fields == (1, lead, len(lead))
    assert [e.fields[0] for e in events[2:-1:2]] == blobs
    assert [e.fields for e in events[1:-1:2]] == [(1, 10 + i) for i in range(len(sizes))]


def test_medium_blobs_are_not_decoded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism: a blob over 32 KiB never goes through the decoder's copy (whose blake3
    step is ``check.blob_step``); its blake3 is computed over the mapping in place."""
    decoded: list[int] = []
    real = reader.blob_step

    def spy(items: list[object], i: int, state: list[object]) -> int:
        decoded.append(len(items[i + 2]))  # type: ignore[arg-type]
        return real(items, i, state)  # type: ignore[arg-type]

    monkeypatch.setattr(reader, "blob_step", spy)
    p, blobs = medium_blob_trace(tmp_path / "t.cbor", [40 << 10, 1000, 64 << 10, 50000, 100])
    assert [e.fields[0] for e in list(load(p).events())[2:-1:2]] == blobs
    assert decoded == [1000, 100]


def test_small_blobs_are_not_looked_at_one_by_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding the next large blob passes over smaller ones without a Python step each (a
    regular expression matches only heads of 32 KiB and more)."""
    calls: list[int] = []
    real = reader._span_at

    def spy(mm: object, at: int, limit: int) -> object:
        calls.append(at)
        return real(mm, at, limit)

    monkeypatch.setattr(reader, "_span_at", spy)
    p, blobs = medium_blob_trace(tmp_path / "t.cbor", [1000 + i for i in range(2000)])
    assert [e.fields[0] for e in list(load(p).events())[2:-1:2]] == blobs
    assert calls == []


@pytest.mark.parametrize("which", [0, 2, 3])
def test_a_medium_blob_changed_under_a_recomputed_digest_is_refused(
    tmp_path: Path, which: int
) -> None:
    p, blobs = medium_blob_trace(tmp_path / "t.cbor", [40 << 10, 1000, 64 << 10, 33000])
    raw = bytearray(p.read_bytes())
    raw[raw.index(blobs[which]) + 5000] ^= 1
    p.write_bytes(bytes(raw))
    redigest(p)
    with pytest.raises(CorruptTraceError, match=rf"payload {which} .* does not match its blake3"):
        list(load(p).events())


def test_a_bit_flip_that_stops_decoding_early_is_damage_not_a_cut(tmp_path: Path) -> None:
    """Every single-bit flip in a complete trace is refused as damaged; none reads as cut off."""
    p = tmp_path / "t.cbor"
    write_sample(p)
    original = p.read_bytes()
    q = tmp_path / "q.cbor"
    for at in range(len(MAGIC_BYTES), len(original)):
        for bit in range(8):
            data = bytearray(original)
            data[at] ^= 1 << bit
            q.write_bytes(bytes(data))
            try:
                t = load(q)
            except CorruptTraceError:
                continue
            except Exception as exc:  # pragma: no cover - the assertion says which
                raise AssertionError(f"byte {at} bit {bit}: {exc!r}") from exc
            raise AssertionError(f"byte {at} bit {bit}: loaded, cut off: {t.cut_off}")


def test_zero_in_place_of_a_kind_then_data_is_damage(tmp_path: Path) -> None:
    p = tmp_path / "t.cbor"
    w = write_sample(p, close=False)
    w.close(None)  # cut off, no tail
    data = bytearray(p.read_bytes())
    start = len(data) - (len(data) - data.index(bytes(range(256)))) - 40
    # zero the kind of the first clock read: everything after it is data, not padding
    first = data.index(bytes([1, 12, 1]), len(MAGIC_BYTES) + 10)
    assert first < start
    data[first] = 0
    p.write_bytes(bytes(data))
    with pytest.raises(CorruptTraceError, match="a zero byte stands where event 1's kind must be"):
        load(p)


def test_killed_mid_event_is_a_cut(tmp_path: Path) -> None:
    """A recorder killed after copying an event's body but before its kind byte leaves a zero,
    that body, then zeros: a cut, with every earlier event kept."""
    p = tmp_path / "t.cbor"
    w = write_sample(p, close=False)
    size = w.size
    w.event_with_fuel(w.code(clocks.NOW), 9, 1, 77)
    w.close(None)
    data = bytearray(p.read_bytes())
    data[size] = 0  # the kind byte never landed
    p.write_bytes(bytes(data) + bytes(4096))
    t = load(p)
    assert t.cut_off and len(list(t.events())) == 6


@pytest.mark.parametrize("cut", [1, 10, 33])
def test_a_digest_cut_by_end_of_file_is_a_cut_but_a_damaged_one_is_not(
    tmp_path: Path, cut: int
) -> None:
    p = tmp_path / "t.cbor"
    write_sample(p)
    data = p.read_bytes()
    p.write_bytes(data[:-cut])
    assert load(p).cut_off
    mark = data[:-34] + b"\x59" + data[-33:]  # the digest's head damaged
    p.write_bytes(mark)
    with pytest.raises(CorruptTraceError):
        load(p)


def test_a_clock_whose_running_sum_leaves_the_u64_range_is_refused(tmp_path: Path) -> None:
    p = written(tmp_path / "t.cbor", (clocks.NOW, 3, 1, 10), (clocks.NOW, 3, 1, -11))
    with pytest.raises(CorruptTraceError, match=r"event 2 \(clock.now\) is damaged: its ns takes"):
        load(p)


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ((clocks.NOW, 1, 1, "5"), "its ns is the text '5'"),
        ((clocks.NOW, -1, 1, 5), "its fuel delta is the integer -1"),
        ((clocks.NOW, 1 << 64, 1, 5), "its fuel delta is the integer 18446744073709551616"),
        ((clocks.NOW, 1, 1, 1 << 70), "its ns is an oversized integer"),
        ((clocks.NOW, 1, True, 5), "its clock is the boolean true"),
        ((clocks.NOW, 1, 1, -(1 << 40)), "its ns takes the sum the guest sees out of the unsigned"),
        ((clocks.NOW, 1, 1, None), "its ns is null"),
    ],
)
def test_a_malformed_event_inside_a_long_run_of_its_kind_is_refused_by_number(
    tmp_path: Path, event: tuple[object, ...], why: str
) -> None:
    # Long runs of one kind are checked a field at a time across the run: the bad event is
    # still found, and named, as when each event is checked alone.
    run = [(clocks.NOW, 3, 1, 10), (clocks.NOW, 3, 0, 7)] * 150
    p = written(tmp_path / "t.cbor", *run, event, *run)
    with pytest.raises(CorruptTraceError) as info:
        load(p)
    assert f"event 301 (clock.now) is damaged: {why}" in str(info.value)


def test_long_runs_keep_the_running_sums_of_each_clock(tmp_path: Path) -> None:
    run = [(clocks.NOW, 3, 1, 10)] * 100 + [(clocks.NOW, 3, 0, 7), (clocks.NOW, 3, 1, 1)] * 50
    p = written(tmp_path / "t.cbor", *run, (clocks.NOW, 3, 1, -1160))
    with pytest.raises(CorruptTraceError, match=r"event 201 \(clock.now\) is damaged: its ns"):
        load(p)
    p = written(tmp_path / "u.cbor", *run, (clocks.NOW, 3, 1, -1050))
    seen = [e.fields for e in load(p).events(absolute=True)]
    assert seen[99] == (1, 1000) and seen[-3] == (0, 350) and seen[-2] == (1, 1050)
    assert seen[-1] == (1, 0)
