"""Record then replay: byte-identical output, same outcome, nothing read from the world."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from wasm_rr.trace import load

from .conftest import MINUTE_NS, NOON, record, replay, sources

DEMOS = ["dice", "counter", "entropy", "flaky", "greet", "timebomb"]


@pytest.mark.parametrize("name", DEMOS)
def test_replay_is_byte_identical(name: str, tmp_trace: Path) -> None:
    rec = record(name, tmp_trace, env={"NAME": "ann"})
    rep = replay(name, tmp_trace)
    assert rep.stdout == rec.stdout and rep.stderr == rec.stderr
    assert rep.result.outcome == rec.result.outcome
    assert rep.result.events == rec.result.events == load(tmp_trace).footer.events  # type: ignore[union-attr]


def test_replay_reads_nothing_from_the_world(
    tmp_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = record("dice", tmp_trace)
    rec2 = record("entropy", tmp_trace.with_name("e.cbor"))

    def forbidden(*_: object) -> int:
        raise AssertionError("replay touched the outside world")

    for name in ("time_ns", "monotonic_ns", "process_time_ns", "thread_time_ns", "sleep"):
        monkeypatch.setattr(time, name, forbidden)
    monkeypatch.setattr(os, "urandom", forbidden)
    monkeypatch.setattr(os, "environ", {})
    assert replay("dice", tmp_trace).stdout == rec.stdout
    assert replay("entropy", tmp_trace.with_name("e.cbor")).stdout == rec2.stdout


def test_changed_env_is_not_seen(tmp_trace: Path) -> None:
    from .conftest import cli

    rec = cli(
        "record", "guests/build/greet.wasm", "-t", tmp_trace, "--env", "NAME", env={"NAME": "ann"}
    )
    assert rec.stdout == "hello, ann\n"
    rep = cli("replay", "guests/build/greet.wasm", tmp_trace, env={"NAME": "bob"})
    assert (rep.status, rep.stdout) == (0, "hello, ann\n")


def test_other_clock_and_random_replay_identically(tmp_trace: Path) -> None:
    rec = record("dice", tmp_trace, sources=sources(first_bytes=b"\x00"))
    assert rec.stdout == f"time: {NOON // 10**6}\nroll: 1\n".encode()
    other = sources(at_ns=NOON + 2_000_000, first_bytes=b"\x05")
    fresh = record("dice", tmp_trace.with_name("other.cbor"), sources=other)
    assert fresh.stdout == f"time: {NOON // 10**6 + 2}\nroll: 6\n".encode()
    for _ in range(3):
        assert replay("dice", tmp_trace).stdout == rec.stdout


def test_args_after_double_dash(tmp_trace: Path) -> None:
    rec = record("timebomb", tmp_trace, args=["5"], sources=sources())
    assert rec.stdout == b"tick: 12:05 (safe)\n"  # 12:00 UTC and 5 minutes
    trace = load(tmp_trace)
    assert trace.header.config.argv == ["timebomb.wasm", "5"]
    args = [e.fields[0] for e in trace.events() if e.name == "cli.args"]
    assert args and args[0] == [b"timebomb.wasm", b"5"]
    assert replay("timebomb", tmp_trace).stdout == rec.stdout


@pytest.mark.parametrize("roll", [7, 39, 231])  # roll % 32 == 7: the one run in 32 that fails
def test_flaky_failure_replays_with_its_exit_status(roll: int, tmp_trace: Path) -> None:
    rec = record("flaky", tmp_trace, sources=sources(first_bytes=bytes([roll])))
    assert rec.result.outcome.exit_code == 1
    assert rec.stdout == b"FAIL: expected the answer to be 42, got 7\n"
    assert [e.fields for e in load(tmp_trace).events() if e.name == "random.bytes"] == [
        (bytes([roll]),)
    ]
    for _ in range(3):
        rep = replay("flaky", tmp_trace)
        assert rep.stdout == rec.stdout and rep.result.outcome.exit_code == 1


@pytest.mark.parametrize("roll", [0, 8, 255])
def test_flaky_success_replays(roll: int, tmp_trace: Path) -> None:
    rec = record("flaky", tmp_trace, sources=sources(first_bytes=bytes([roll])))
    assert (rec.result.outcome.exit_code, rec.stdout) == (0, f"ok: roll was {roll}\n".encode())
    assert replay("flaky", tmp_trace).stdout == rec.stdout


AT_37 = NOON + 37 * MINUTE_NS + 59 * 10**9  # 12:37:59 UTC
"""A wall clock at minute 37, one second before it ends: timebomb explodes."""


@pytest.mark.parametrize(("at_ns", "args", "tick"), [(NOON, [], "12:00"), (AT_37, ["1"], "12:38")])
def test_timebomb_is_safe_at_other_minutes(
    at_ns: int, args: list[str], tick: str, tmp_trace: Path
) -> None:
    rec = record("timebomb", tmp_trace, args=args, sources=sources(at_ns=at_ns))
    assert (rec.result.outcome.exit_code, rec.stdout) == (0, f"tick: {tick} (safe)\n".encode())
    assert replay("timebomb", tmp_trace).stdout == rec.stdout


def test_trap_is_recorded_and_reproduced(tmp_trace: Path) -> None:
    # The wall clock the recording reads is minute 37; with an offset of -1, minute 38 is too.
    rec = record("timebomb", tmp_trace, sources=sources(at_ns=AT_37))
    assert (
        record(
            "timebomb",
            tmp_trace.with_name("b.cbor"),
            args=["-1"],
            sources=sources(at_ns=AT_37 + MINUTE_NS),
        ).result.outcome
        == rec.result.outcome
    )
    assert [e.fields for e in load(tmp_trace).events() if e.name == "clock.now"] == [(0, AT_37)]
    trap = rec.result.outcome.trap
    assert trap is not None and trap.code == "UNREACHABLE"
    assert "unreachable" in trap.message
    assert any(f[1] == "detonate" for f in trap.frames)
    footer = load(tmp_trace).footer
    assert footer is not None and footer.outcome == rec.result.outcome
    rep = replay("timebomb", tmp_trace)
    assert rep.result.outcome == rec.result.outcome


# Sleeps 200 ms in poll_oneoff (one relative monotonic clock subscription), then exits 0.
SLEEPER = """
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (i64.store (i32.const 0) (i64.const 42))            ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))            ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))            ;; clock id: monotonic
    (i64.store (i32.const 24) (i64.const 200000000))    ;; timeout: 200 ms, relative
    (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))
"""


def test_sleeping_guest_replays_without_sleeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import select

    import wasmtime

    sleeper = tmp_path / "sleeper.wasm"
    sleeper.write_bytes(bytes(wasmtime.wat2wasm(SLEEPER)))
    t0 = time.monotonic()
    record(sleeper, tmp_path / "s.cbor")
    assert time.monotonic() - t0 >= 0.2  # it really slept while recording
    polls = [e for e in load(tmp_path / "s.cbor").events() if e.name == "poll.wait"]
    assert len(polls) == 1 and polls[0].fields[1] == [[42, 0, "", 0, 0]]

    def no_waiting(*_: object) -> None:
        raise AssertionError("replay waited")

    monkeypatch.setattr(time, "sleep", no_waiting)
    monkeypatch.setattr(select, "select", no_waiting)
    assert replay(sleeper, tmp_path / "s.cbor").result.outcome.exit_code == 0
