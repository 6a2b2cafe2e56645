"""File names are bytes: a directory holding a name that is not UTF-8 (and a symlink whose target
is not) records and replays, and the guest gets wasmtime's answers: EILSEQ from fd_readdir and
path_readlink (wasmtime passes names through WASI 0.2 strings), while the trace keeps the names
byte for byte."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import wasmtime

from wasm_rr import engine
from wasm_rr.trace import load
from wasm_rr.world import Streams

from ..abi.p1.test_conformance import stock_run
from ..conftest import replay, run_config

BAD = b"caf\xe9.txt"  # Latin-1, not UTF-8

# fd_readdir(3) and path_readlink("link"): their errnos, as two bytes on stdout.
LISTER = bytes(
    wasmtime.wat2wasm("""
(module
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_readlink"
    (func $path_readlink (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "link")
  (func (export "_start")
    (i32.store8 (i32.const 600) (call $fd_readdir (i32.const 3) (i32.const 1024) (i32.const 4096)
                                                  (i64.const 0) (i32.const 200)))
    (i32.store8 (i32.const 601)
      (call $path_readlink (i32.const 3) (i32.const 100) (i32.const 4)
                           (i32.const 512) (i32.const 64) (i32.const 200)))
    (i32.store (i32.const 300) (i32.const 600))
    (i32.store (i32.const 304) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 208)))
    (call $proc_exit (i32.const 0))))
""")
)


def fill(root: Path) -> None:
    root.mkdir()
    with open(os.path.join(os.fsencode(root), BAD), "wb") as f:
        f.write(b"x")
    os.symlink(BAD, os.path.join(os.fsencode(root), b"link"))


def test_a_name_that_is_not_utf8_records_replays_and_matches_wasmtime(tmp_path: Path) -> None:
    wasm = tmp_path / "lister.wasm"
    wasm.write_bytes(LISTER)
    theirs, mine = tmp_path / "theirs", tmp_path / "mine"
    fill(theirs)
    fill(mine)
    expected, status = stock_run(LISTER, tmp_path, ["lister"], {"/d": theirs})
    assert status == 0
    out = io.BytesIO()
    trace = tmp_path / "t.cbor"
    result = engine.record(
        wasm,
        trace,
        run_config(wasm, [], {}, [(str(mine), "/d", False)]),
        Streams(None, out, io.BytesIO()),
    )
    assert result.outcome.exit_code == 0
    assert out.getvalue() == expected == bytes([25, 25])  # EILSEQ, EILSEQ
    events = [e for e in load(trace).events() if e.name in ("fs.readdir", "fs.readlink")]
    listing = events[0].answer[0]  # the trace keeps the names as the OS spells them
    assert sorted(name for name, _, _ in listing) == [b"..", BAD, b"link"]
    assert events[1].answer == (BAD,)
    shutil.rmtree(mine)  # replay reads no file
    assert replay(wasm, trace).stdout == out.getvalue()
