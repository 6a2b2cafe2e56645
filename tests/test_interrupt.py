"""Stopping a guest: Ctrl-C and --timeout, even while it spins in pure wasm; the trace is kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import wasmtime

from wasm_rr.trace import reader

from .conftest import ROOT, cli

SPIN = r"""(module
 (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "clock_time_get" (func $t (param i32 i64 i32) (result i32)))
 (memory (export "memory") 1) (data (i32.const 16) "spinning\n")
 (func (export "_start")
   (drop (call $t (i32.const 1) (i64.const 0) (i32.const 32)))
   (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 9))
   (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
   (loop $l (br $l))))"""


def spin(tmp_path: Path) -> Path:
    path = tmp_path / "spin.wasm"
    path.write_bytes(wasmtime.wat2wasm(SPIN))
    return path


def test_timeout_stops_a_spinning_guest_and_keeps_the_trace(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    started = time.monotonic()
    r = cli("record", guest, "-t", trace, "--timeout", "1")
    assert time.monotonic() - started < 60
    assert r.status == 124
    assert r.stdout == "spinning\n"
    assert r.stderr.startswith("wasm-rr: the guest ran longer than 1 s; the trace keeps")
    assert len(r.stderr.splitlines()) == 1
    t = reader.load(trace)
    assert t.footer is None and [e.name for e in t.events()] == ["clock.now", "io.write"]
    r = cli("replay", guest, trace, "--timeout", "1")
    assert (r.status, r.stdout) == (124, "spinning\n")
    assert r.stderr == "wasm-rr: the guest ran longer than 1 s; replay stopped\n"
    r = cli("run", guest, "--no-trace", "--timeout", "0.5")
    assert (r.status, r.stderr) == (124, "wasm-rr: the guest ran longer than 0.5 s\n")


def test_timeout_stops_a_guest_sleeping_in_a_host_call(tmp_path: Path) -> None:
    # poll_oneoff of one clock, 2^64-1 ns away.
    wat = r"""(module
     (import "wasi_snapshot_preview1" "poll_oneoff" (func $p (param i32 i32 i32 i32) (result i32)))
     (memory (export "memory") 1)
     (func (export "_start")
       (i64.store (i32.const 24) (i64.const -1))
       (drop (call $p (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"""
    guest = tmp_path / "sleep.wasm"
    guest.write_bytes(wasmtime.wat2wasm(wat))
    r = cli("record", guest, "-t", tmp_path / "s.cbor", "--timeout", "1")
    assert r.status == 124 and "ran longer than 1 s" in r.stderr


def test_ctrl_c_stops_a_spinning_guest(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"spinning\n"  # the guest now spins
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.decode() == (
        "wasm-rr: interrupted; the trace keeps every event recorded so far "
        "(replaying it stops at the cut)\n"
    )
    assert reader.load(trace).footer is None


def test_replay_writes_no_compile_cache(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    record_cache, replay_cache = tmp_path / "rc", tmp_path / "pc"
    env = {"WASM_RR_CACHE": str(record_cache)}
    r = cli("record", guest, "-t", trace, "--timeout", "0.5", env=env)
    assert r.status == 124
    assert list(record_cache.rglob("*.bin")), "record writes its compile cache"
    replay_cache.mkdir()
    r = cli("replay", guest, trace, "--timeout", "0.5", env={"WASM_RR_CACHE": str(replay_cache)})
    assert r.status == 124
    assert list(replay_cache.iterdir()) == []
