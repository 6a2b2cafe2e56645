"""The live world's seam: injected clocks and random sources answer the guest, the recording
holds exactly what they answered, and replay reproduces it without them."""

from __future__ import annotations

import io
from pathlib import Path

from wasm_rr import engine
from wasm_rr.config import RunConfig
from wasm_rr.trace import load
from wasm_rr.world import HOST, Sources, Streams, live_world
from wasm_rr.world.clocks import MONOTONIC, REALTIME, LiveClocks, SteppingClock, stepping
from wasm_rr.world.random import LiveRandom, scripted, seeded

from ..conftest import NOON, guest, record, replay, sources


def test_stepping_clocks() -> None:
    clock = SteppingClock(100, 7)
    assert [clock(), clock(), clock()] == [100, 107, 114]
    stopped = SteppingClock(5)
    assert [stopped(), stopped()] == [5, 5]
    clocks = LiveClocks(stepping(NOON, 10))
    assert [clocks.now(REALTIME), clocks.now(REALTIME)] == [NOON, NOON + 10]
    assert [clocks.now(MONOTONIC), clocks.now(MONOTONIC)] == [0, 10]
    assert clocks.resolution(MONOTONIC) >= 1  # the host's


def test_seeded_and_scripted_sources() -> None:
    assert seeded(3)(32) == seeded(3)(32) != seeded(4)(32)
    source = scripted(b"abcde", then=lambda n: b"z" * n)
    assert [source(2), source(2), source(3), source(0), source(1)] == [
        b"ab",
        b"cd",
        b"ezz",
        b"",
        b"z",
    ]
    assert scripted(b"")(4) == seeded(0)(4)


def test_an_injected_source_answers_each_read_in_order() -> None:
    # The host's source is pooled; an injected one is asked for exactly what the guest asks.
    asked: list[int] = []

    def source(n: int) -> bytes:
        asked.append(n)
        return bytes(n)

    live = LiveRandom(source)
    assert (live.secure(3), live.secure(1)) == (b"\0\0\0", b"\0")
    assert live.insecure(2) == b"\0\0"  # a seeded world stays seeded: insecure asks it too
    assert asked == [3, 1, 2]
    assert LiveRandom(source, insecure=lambda n: b"i" * n).insecure(2) == b"ii"


def test_live_world_takes_sources() -> None:
    streams = Streams(None, io.BytesIO(), io.BytesIO())
    world = live_world(RunConfig(["g"]), streams, Sources(stepping(NOON), scripted(b"\x07")))
    try:
        assert world.clocks.now(REALTIME) == NOON
        assert world.random.secure(1) == b"\x07"
    finally:
        world.close()
    assert live_world(RunConfig(["g"]), streams).context.sources is HOST


def test_recording_holds_what_the_sources_answered(tmp_trace: Path) -> None:
    rec = record(
        "dice", tmp_trace, sources=sources(at_ns=NOON + 1_234_000_000, first_bytes=b"\x03")
    )
    assert rec.stdout == f"time: {NOON // 10**6 + 1234}\nroll: 4\n".encode()
    answers = [(e.name, e.fields) for e in load(tmp_trace).events() if e.name != "io.write"]
    assert answers[:2] == [
        ("clock.now", (REALTIME, NOON + 1_234_000_000)),
        ("random.bytes", (b"\x03",)),
    ]
    assert replay("dice", tmp_trace).stdout == rec.stdout


def test_the_same_sources_record_the_same_trace_events(tmp_path: Path) -> None:
    def answers(trace: Path) -> list[tuple[str, tuple[object, ...]]]:
        return [(e.name, e.fields) for e in load(trace).events()]

    record("entropy", tmp_path / "a.cbor", sources=sources(seed=5))
    record("entropy", tmp_path / "b.cbor", sources=sources(seed=5))
    record("entropy", tmp_path / "c.cbor", sources=sources(seed=6))
    assert answers(tmp_path / "a.cbor") == answers(tmp_path / "b.cbor")
    assert answers(tmp_path / "a.cbor") != answers(tmp_path / "c.cbor")


def test_run_live_takes_sources() -> None:
    out = io.BytesIO()
    config = RunConfig(["dice.wasm"])
    result = engine.run_live(
        guest("dice"),
        config,
        Streams(None, out, io.BytesIO()),
        sources=sources(first_bytes=b"\x00"),
    )
    assert result.outcome.exit_code == 0
    assert out.getvalue() == f"time: {NOON // 10**6}\nroll: 1\n".encode()
