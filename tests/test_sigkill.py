"""A recording killed with SIGKILL keeps every complete event; replay reproduces it to the cut."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import wasmtime

from wasm_rr.trace import load

from .conftest import ROOT, cli

# Forever: read the monotonic clock, then write "tick\n".
TICKER = """
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\05\\00\\00\\00")
  (data (i32.const 16) "tick\\n")
  (func (export "_start")
    (loop $l
      (drop (call $now (i32.const 1) (i64.const 0) (i32.const 32)))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 40)))
      (br $l))))
"""


def test_sigkill_mid_record_then_replay(tmp_path: Path) -> None:
    guest = tmp_path / "ticker.wasm"
    guest.write_bytes(bytes(wasmtime.wat2wasm(TICKER)))
    trace = tmp_path / "t.cbor"
    out = tmp_path / "record.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
            stdout=sink,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and out.stat().st_size < 50_000:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert out.stat().st_size >= 50_000, "the recording never got going"
    recorded = out.read_bytes()
    t = load(trace)
    assert t.cut_off
    events = list(t.events())
    writes = sum(1 for e in events if e.name == "io.write")
    assert writes > 5_000
    assert [e.name for e in events[:2]] == ["clock.now", "io.write"]

    rep = cli("replay", guest, trace)
    assert rep.status == 125
    assert rep.stderr.startswith(f"wasm-rr: the recording was cut off after event {len(events)} ")
    replayed = rep.stdout.encode()
    assert replayed == b"tick\n" * writes
    # The recorder may have died between writing a tick and recording it: one tick at most.
    assert recorded.startswith(replayed) and len(recorded) - len(replayed) <= 5


def test_ctrl_c_mid_record_keeps_the_trace(tmp_path: Path) -> None:
    guest = tmp_path / "ticker.wasm"
    guest.write_bytes(bytes(wasmtime.wat2wasm(TICKER)))
    trace = tmp_path / "t.cbor"
    out = tmp_path / "record.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
            stdout=sink,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        # The trace file is 1 MiB from its first event on; count ticks instead: 2000 of them
        # (each a clock read and a write) before the interrupt, however slow the machine.
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and out.stat().st_size < 10_000:
                time.sleep(0.05)
            assert out.stat().st_size >= 10_000, "the recording never got going"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 130
    assert err.decode() == (
        "wasm-rr: interrupted; the trace keeps every event recorded so far (replaying it stops "
        "at the cut)\n"
    )
    assert "Traceback" not in err.decode()
    t = load(trace)
    assert t.cut_off and len(list(t.events())) > 1000
