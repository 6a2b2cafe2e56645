"""--chaos: bugs that only show when the world answers differently (a short read, a wall clock
that jumps back), found, saved and replayed exactly; the chaos itself stays within WASI."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import wasmtime

import wasm_rr
from wasm_rr.fuzz import Session, Setup
from wasm_rr.fuzz.chaos import WorldChaos
from wasm_rr.world.clocks import MONOTONIC, REALTIME
from wasm_rr.world.fs import ChaoticFs, LiveFs

# Reads stdin once into a 16-byte buffer and assumes the read filled it.
SHORT_READ = bytes(
    wasmtime.wat2wasm("""
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $assumes_full_read unreachable)
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))
    (if (i32.lt_u (i32.load (i32.const 16)) (i32.const 16)) (then (call $assumes_full_read)))))
""")
)

# Reads the wall clock twice and assumes time never goes back.
CLOCK_BACK = bytes(
    wasmtime.wat2wasm("""
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $now (param i32 i64 i32) (result i32)))
  (memory (export "memory") 1)
  (func $assumes_wall_clock_monotonic unreachable)
  (func (export "_start")
    (drop (call $now (i32.const 0) (i64.const 1) (i32.const 0)))
    (drop (call $now (i32.const 0) (i64.const 1) (i32.const 8)))
    (if (i64.lt_u (i64.load (i32.const 8)) (i64.load (i32.const 0)))
      (then (call $assumes_wall_clock_monotonic)))))
""")
)


def _chaos_finds(wasm: bytes, name: str, tmp_path: Path) -> None:
    seeds = [b"0123456789abcdef0123456789abcdef"]
    plain = Session(Setup(wasm, "g"), seeds, str(tmp_path / "plain"), runs=50).run()
    assert not plain.crashes  # no mutation of this input shows the bug... (the world is sane)
    stats = Session(Setup(wasm, "g", chaos=True), seeds, str(tmp_path / "c"), runs=50).run()
    (crash,) = stats.crashes.values()
    assert name in crash.site.describe()
    assert crash.path is not None
    for _ in range(2):  # the chaotic answers are in the trace: replay needs no chaos
        replayed = wasm_rr.replay(crash.path)
        assert replayed.trap is not None and replayed.trap.frames[0][1] == name


def test_chaos_finds_a_short_read_bug(tmp_path: Path) -> None:
    _chaos_finds(SHORT_READ, "assumes_full_read", tmp_path)


def test_chaos_finds_a_clock_going_back(tmp_path: Path) -> None:
    _chaos_finds(CLOCK_BACK, "assumes_wall_clock_monotonic", tmp_path)


def test_short_reads_are_at_least_one_byte() -> None:
    asked = [n for n in range(1, 200) for _ in range(5)]
    chaos, again = WorldChaos(3), WorldChaos(3)
    answers = [chaos.short_read(n) for n in asked]
    assert all(1 <= a <= n for a, n in zip(answers, asked, strict=True))
    assert any(a < n for a, n in zip(answers, asked, strict=True))
    assert [again.short_read(n) for n in asked] == answers  # seeded


def test_clocks_jump_but_monotonic_never_goes_back() -> None:
    chaos = WorldChaos(11)
    wall = [chaos.clock(REALTIME, 10**18 + i) for i in range(500)]
    mono = [chaos.clock(MONOTONIC, i * 1000) for i in range(500)]
    assert any(b < a for a, b in itertools.pairwise(wall))  # the wall clock went back
    assert any(b > a + 10**9 for a, b in itertools.pairwise(wall))  # and jumped forward
    assert all(b >= a for a, b in itertools.pairwise(mono))
    assert any(b > a + 10**9 for a, b in itertools.pairwise(mono))


def test_readdir_order_is_shuffled_stably_within_a_run(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i:02}").write_bytes(b"")
    live = LiveFs([(str(tmp_path), "/d", True)])
    names = sorted(e[0] for e in live.readdir(1))
    orders = []
    for seed in range(3):
        fs = ChaoticFs([(str(tmp_path), "/d", True)], WorldChaos(seed))
        first = [e[0] for e in fs.readdir(1)]
        assert [e[0] for e in fs.readdir(1)] == first  # the same listing twice in a run
        assert sorted(first) == names
        orders.append(first)
        fs.close()
    live.close()
    assert len({tuple(o) for o in orders}) == 3
    assert os.listdir(tmp_path)  # nothing was changed
