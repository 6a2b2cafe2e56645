"""Large reads stream through the trace writer: recording a big file keeps memory flat."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.trace import load
from wasm_rr.world import Streams

from .bigguests import RANDOM_GUEST, READ_GUEST
from .conftest import ROOT
from .rss import run_peak_anon_kib

# Records a big file; its peak heap is sampled from outside (tests/rss.py).
MEASURE = """
import io, sys
from wasm_rr import engine
from wasm_rr.world import Streams
from wasm_rr.config import DirSpec, RunConfig
config = RunConfig(["w", "/data/big.bin"], {}, [DirSpec(sys.argv[3], "/data")])
engine.record(sys.argv[1], sys.argv[2], config, Streams(None, io.BytesIO(), io.BytesIO()))
"""


def peak_anon_kib(trace: Path, data: Path) -> int:
    argv = [sys.executable, "-c", MEASURE, "guests/build/wordcount.wasm", str(trace), str(data)]
    return run_peak_anon_kib(argv, str(ROOT))[0]


def test_a_large_file_is_streamed_not_held(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(b"x")
    small = peak_anon_kib(tmp_path / "small.cbor", data)
    size = 96 * 1024 * 1024
    with (data / "big.bin").open("wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    big = peak_anon_kib(tmp_path / "big.cbor", data)
    # The recorder holds at most a few 64 KiB reads at a time, never the 96 MiB file.
    assert big - small < 16 * 1024, (small, big)
    trace = load(tmp_path / "big.cbor")
    assert trace.footer is not None and trace.size < size * 1.01


REPLAY = """
import io, sys
from wasm_rr import engine
from wasm_rr.world import Streams
engine.replay(sys.argv[1], sys.argv[2], Streams(None, io.BytesIO(), io.BytesIO()))
"""


def replay_peak_anon_kib(trace: Path) -> int:
    argv = [sys.executable, "-c", REPLAY, "guests/build/wordcount.wasm", str(trace)]
    return run_peak_anon_kib(argv, str(ROOT))[0]


def test_replaying_a_200_mb_trace_keeps_memory_bounded(tmp_path: Path) -> None:
    """The trace is mapped and decoded chunk by chunk; payloads go from the mapping into the
    guest: a replay's heap does not grow with the trace."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(b"x")
    peak_anon_kib(tmp_path / "small.cbor", data)
    size = 200 * 1024 * 1024
    with (data / "big.bin").open("wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))  # no two reads alike: every read is its own payload
    peak_anon_kib(tmp_path / "big.cbor", data)
    (data / "big.bin").unlink()
    assert (tmp_path / "big.cbor").stat().st_size > size
    small = replay_peak_anon_kib(tmp_path / "small.cbor")
    big = replay_peak_anon_kib(tmp_path / "big.cbor")
    assert big - small < 64 * 1024, (small, big)


# ---- big answers: 512 MiB into the guest, recorded and replayed in bounded pieces -------------

MIB = 1 << 20
BIG = 512 * MIB
CALL = 64 * MIB  # the most one random_get (or one file read) may ask for

BIG_RUN = """
import io, sys
from wasm_rr import engine
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.world import Streams
mode, guest, trace, data = sys.argv[1:5]
streams = Streams(None, io.BytesIO(), io.BytesIO())
if mode == "record":
    config = RunConfig(["g"], {}, [DirSpec(data, "/data")])
    result = engine.record(guest, trace, config, streams)
else:
    result = engine.replay(guest, trace, streams)
print(result.outcome.exit_code, result.outcome.trap)
"""


def big_guest(tmp: Path, wat: str, total: int) -> Path:
    path = tmp / f"g{total}.wasm"
    text = wat.format(pages=total // 65536, end=65536 + total, call=min(CALL, total))
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


def big_run(mode: str, guest: Path, trace: Path, data: Path) -> int:
    """Peak anonymous RSS (KiB) of recording or replaying ``guest`` in a process of its own."""
    argv = [sys.executable, "-c", BIG_RUN, mode, str(guest), str(trace), str(data)]
    peak, out = run_peak_anon_kib(argv, str(ROOT))
    assert out.split() == ["0", "None"], out
    return peak


def check_bounded(tmp: Path, wat: str) -> None:
    """Recording and replaying 512 MiB of answers takes the guest's own 512 MiB and at most a
    few pieces more, not a copy of each answer (the bound is met by far less than one 64 MiB
    answer): measured against the same guest answered 2 MiB."""
    data = tmp / "data"
    small, big = big_guest(tmp, wat, 2 * MIB), big_guest(tmp, wat, BIG)
    bound = (BIG - 2 * MIB + 40 * MIB) // 1024
    base = {mode: big_run(mode, small, tmp / "small.cbor", data) for mode in ("record", "replay")}
    record = big_run("record", big, tmp / "big.cbor", data)
    assert record - base["record"] < bound, (base, record)
    replay = big_run("replay", big, tmp / "big.cbor", data)
    assert replay - base["replay"] < bound, (base, replay)


def test_a_big_random_get_is_recorded_and_replayed_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    check_bounded(tmp_path, RANDOM_GUEST)


def test_a_big_file_read_is_recorded_and_replayed_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    block = bytearray(os.urandom(16 * MIB))
    with (tmp_path / "data" / "big.bin").open("wb") as f:
        for i in range(BIG // len(block)):
            block[:8] = i.to_bytes(8, "little")  # every read its own payload
            f.write(block)
    check_bounded(tmp_path, READ_GUEST)


ECHO_GUEST = """
(module
  (import "wasi_snapshot_preview1" "random_get" (func $get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open
    (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread"
    (func $pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 128)
  (data (i32.const 64) "big.bin")
  (func (export "_start") (local $fd i32)
    (i32.store (i32.const 0) (i32.const 65536))
    (i32.store (i32.const 4) (i32.const {n}))
    (i32.store (i32.const 8) (i32.const {n}))
    ;; {how}: 0 random_get, 1 fd_read of stdin, 2 fd_read of a file, 3 fd_pread of a file
    (if (i32.eq (i32.const {how}) (i32.const 0)) (then
      (if (call $get (i32.const 65536) (i32.const {n})) (then unreachable))))
    (if (i32.eq (i32.const {how}) (i32.const 1)) (then
      (if (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then unreachable))))
    (if (i32.ge_u (i32.const {how}) (i32.const 2)) (then
      (if (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7) (i32.const 0)
            (i64.const 6) (i64.const 0) (i32.const 0) (i32.const 16)) (then unreachable))
      (local.set $fd (i32.load (i32.const 16)))
      (if (i32.eq (i32.const {how}) (i32.const 2))
        (then (if (call $read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))
          (then unreachable)))
        (else (if (call $pread (local.get $fd) (i32.const 0) (i32.const 1) (i64.const 5)
              (i32.const 8)) (then unreachable))))))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (if (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12))
      (then unreachable))))
"""


@pytest.mark.parametrize("how", ["random_get", "stdin", "fd_read", "fd_pread"])
def test_a_large_answer_goes_into_the_guest_and_back_unchanged(tmp_path: Path, how: str) -> None:
    """A 3 MiB answer written into guest memory in place (recorded from there, replayed from
    the mapped trace) is the bytes the guest then writes out, in both runs."""
    n = 3 * MIB
    code = ["random_get", "stdin", "fd_read", "fd_pread"].index(how)
    guest = tmp_path / "echo.wasm"
    guest.write_bytes(wasmtime.wat2wasm(ECHO_GUEST.format(n=n, how=code)))
    content = os.urandom(n + 5)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.bin").write_bytes(content)
    config = RunConfig(["echo"], {}, [DirSpec(str(tmp_path / "data"), "/data")])
    out = io.BytesIO()
    stdin = io.BufferedReader(io.BytesIO(content[:n]))  # type: ignore[arg-type]
    result = engine.record(guest, tmp_path / "t.cbor", config, Streams(stdin, out, io.BytesIO()))
    assert result.outcome.exit_code == 0 and result.outcome.trap is None
    want = {"stdin": content[:n], "fd_read": content[:n], "fd_pread": content[5:]}
    assert len(out.getvalue()) == n and out.getvalue() == want.get(how, out.getvalue())
    again = io.BytesIO()
    result = engine.replay(guest, tmp_path / "t.cbor", Streams(None, again, io.BytesIO()))
    assert result.outcome.exit_code == 0 and again.getvalue() == out.getvalue()
