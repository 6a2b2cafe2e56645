"""Components through the command line: exit statuses, trap reports, one-line drift errors, and
a recording killed with SIGKILL that replays up to the cut."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from wasm_rr.trace import load

from ...conftest import MINUTE_NS, NOON, ROOT, cli, record, sources
from ...tracetools import rewrite
from .test_components import POLLER, component, wat_component


def test_exit_status_and_replay(tmp_path: Path) -> None:
    poller = wat_component(tmp_path, "poller", POLLER)
    trace = tmp_path / "p.cbor"
    rec = cli("record", poller, "-t", trace)
    assert rec.status == 3, rec.stderr
    rep = cli("replay", poller, trace)
    assert (rep.status, rep.stdout, rep.stderr) == (3, "", "")


# A component whose run traps in a function named detonate, every run.
BOMB = """
(component
  (core module $main
    (func $detonate unreachable)
    (func (export "run") (result i32) (call $detonate) (i32.const 0)))
  (core instance $i (instantiate $main))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi)))
"""


def test_trap_exits_134_with_the_frames(tmp_path: Path) -> None:
    bomb = wat_component(tmp_path, "bomb", BOMB)
    trace = tmp_path / "t.cbor"
    rec = cli("record", bomb, "-t", trace)
    assert rec.status == 134, rec.stderr
    assert "unreachable" in rec.stderr and "detonate" in rec.stderr
    rep = cli("replay", bomb, trace)
    assert (rep.status, rep.stdout, rep.stderr) == (134, rec.stdout, rec.stderr)


def test_a_recorded_timebomb_trap_replays_with_its_frames(tmp_path: Path) -> None:
    # timebomb explodes at minute 37 of the hour: the recording's wall clock reads 12:37 UTC.
    trace = tmp_path / "t.cbor"
    rec = record(component("timebomb"), trace, sources=sources(at_ns=NOON + 37 * MINUTE_NS))
    assert rec.result.outcome.trap is not None
    rep = cli("replay", component("timebomb"), trace)
    assert rep.status == 134, rep.stderr
    assert "unreachable" in rep.stderr and "detonate" in rep.stderr and "main" in rep.stderr


def test_drift_is_125_with_one_line(tmp_path: Path) -> None:
    trace = tmp_path / "d.cbor"
    assert cli("record", component("dice"), "-t", trace).status == 0
    bad = tmp_path / "bad.cbor"
    rewrite(trace, bad, events=lambda evs: [evs[1], evs[0], *evs[2:]])
    rep = cli("replay", component("dice"), bad)
    assert rep.status == 125
    assert rep.stderr.startswith("wasm-rr: seq 1: kind mismatch: ")
    assert rep.stderr.count("\n") == 1


def test_greet_reads_its_environment_once(tmp_path: Path) -> None:
    trace = tmp_path / "g.cbor"
    rec = cli("record", component("greet"), "-t", trace, "--env", "NAME=ann")
    assert (rec.status, rec.stdout) == (0, "hello, ann\n")
    assert cli("replay", component("greet"), trace).stdout == "hello, ann\n"


def test_sigkill_mid_record_then_replay(tmp_path: Path) -> None:
    trace = tmp_path / "k.cbor"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wasm_rr",
            "record",
            str(component("bench_clock")),
            "-t",
            str(trace),
            "--",
            "1000000000",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        # The trace file is grown in 1 MiB steps; wait for a second step: many events.
        while time.monotonic() < deadline:
            if trace.exists() and trace.stat().st_size > (2 << 20):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the recording never grew past 2 MiB")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    t = load(trace)
    assert t.cut_off
    events = list(t.events())
    assert len(events) > 10_000
    assert sum(e.name == "clock.now" for e in events) > 10_000
    rep = cli("replay", component("bench_clock"), trace)
    assert rep.status == 125
    assert rep.stderr.startswith(f"wasm-rr: the recording was cut off after event {len(events)} ")
