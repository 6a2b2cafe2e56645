"""File times at the ends of their ranges, under our host and wasmtime's own WASI: a guest sets
them (``fd_filestat_set_times``, ``path_filestat_set_times``) to anything a u64 holds, and
stats files whose times are before the epoch or past 2^64-1 ns (a tmpfs holds those). What
wasmtime answers, we answer; and whatever the recording wrote, replay reads and reproduces."""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.world import Streams

from ...conftest import run_config
from .test_conformance import stock_run

U64 = (1 << 64) - 1


def guest(atim: int, mtim: int, fst_flags: int) -> bytes:
    """Set the times of ``f`` (in the preopen ``/d``) through a descriptor and by path, stat
    it, and print the three errnos and the 64-byte filestat."""
    return bytes(
        wasmtime.wat2wasm(f"""(module
        (import "wasi_snapshot_preview1" "path_open"
          (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_filestat_set_times"
          (func $fset (param i32 i64 i64 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_filestat_set_times"
          (func $pset (param i32 i32 i32 i32 i64 i64 i32) (result i32)))
        (import "wasi_snapshot_preview1" "path_filestat_get"
          (func $stat (param i32 i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write"
          (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "f")
        (func (export "_start")
          (drop (call $open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 1)
            (i32.const 0) (i64.const 0x1000000) (i64.const 0) (i32.const 0) (i32.const 96)))
          (i32.store (i32.const 180) (call $fset (i32.load (i32.const 96))
            (i64.const {atim}) (i64.const {mtim}) (i32.const {fst_flags})))
          (i32.store (i32.const 184) (call $pset (i32.const 3) (i32.const 1) (i32.const 100)
            (i32.const 1) (i64.const {atim}) (i64.const {mtim}) (i32.const {fst_flags})))
          (i32.store (i32.const 188) (call $stat (i32.const 3) (i32.const 1) (i32.const 100)
            (i32.const 1) (i32.const 192)))
          (i32.store (i32.const 300) (i32.const 180))
          (i32.store (i32.const 304) (i32.const 76))
          (drop (call $write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 308)))))""")
    )


def shown(out: bytes) -> tuple[int, ...]:
    """The errnos, and the stat's atim and mtim (ctim is the time of the run)."""
    errnos = struct.unpack_from("<III", out)
    stat = struct.unpack_from("<QQB7xQQQQQ", out, 12)
    return (*errnos, *stat[5:7]) if errnos[2] == 0 else errnos


def stock(wasm: bytes, root: Path, times: tuple[int, int] | None) -> tuple[int, ...]:
    d = _fresh(root / "stock", times)
    out, status = stock_run(wasm, root, ["t"], {"/d": d})
    assert status == 0, status
    return shown(out)


def ours(wasm: bytes, root: Path, times: tuple[int, int] | None) -> tuple[int, ...]:
    """Recorded, then replayed from the trace: the replay must print what the run printed."""
    d = _fresh(root / "ours", times)
    path = root / "t.wasm"
    path.write_bytes(wasm)
    config = run_config(path, [], {}, [(str(d), "/d", False)])
    out = io.BytesIO()
    rec = engine.record(path, root / "t.cbor", config, Streams(None, out, io.BytesIO()))
    assert rec.outcome.exit_code == 0, rec.outcome
    again = io.BytesIO()
    engine.replay(path, root / "t.cbor", Streams(None, again, io.BytesIO()))
    assert again.getvalue() == out.getvalue()
    return shown(out.getvalue())


def _fresh(d: Path, times: tuple[int, int] | None) -> Path:
    d.mkdir()
    (d / "f").write_text("x")
    if times is not None:
        os.utime(d / "f", ns=times)
    return d


SET = {
    # fst_flags 5: set both to the values given; 10: both to now; 0: leave them
    "u64_max": (U64, U64, 5),
    "2^63": (1 << 63, (1 << 63) - 1, 5),
    "zero": (0, 1, 5),
    "now": (U64, U64, 10),
}


@pytest.mark.parametrize("case", list(SET))
def test_setting_file_times_to_any_u64_records_and_replays(case: str, tmp_path: Path) -> None:
    atim, mtim, flags = SET[case]
    wasm = guest(atim, mtim, flags)
    expected, got = stock(wasm, tmp_path, None), ours(wasm, tmp_path, None)
    if flags == 10:  # the time of each run: compare the errnos only
        expected, got = expected[:3], got[:3]
    assert got == expected


def _tmpfs() -> Path:
    """A directory on a tmpfs (which keeps file times past 2^64 ns), or skip."""
    shm = Path("/dev/shm")
    with open("/proc/mounts") as mounts:
        if not any(line.split()[1:3] == [str(shm), "tmpfs"] for line in mounts):
            pytest.skip("no tmpfs at /dev/shm to hold file times past 2^64 ns")
    return shm


STAT = {
    "before_the_epoch": (10**9, -5 * 10**9),  # mtim reads as 0
    "past_2^64_ns": ((1 << 64) * 10, 10**9),  # EOVERFLOW
    "2^64-1_ns": (U64, 10**9),
    "time_t_max": ((1 << 63) * 10**9 - 1, -(1 << 63) * 10**9),  # EOVERFLOW
}


@pytest.mark.parametrize("case", list(STAT))
def test_stat_of_times_out_of_the_u64_range_matches_wasmtime(case: str, tmp_path: Path) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(dir=_tmpfs()) as scratch:
        root = Path(scratch)
        wasm = guest(0, 0, 0)  # stat only
        assert ours(wasm, root, STAT[case]) == stock(wasm, root, STAT[case])
