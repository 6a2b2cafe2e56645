"""Guests that fill a large memory with big answers (``random_get`` or one file's reads), in
calls of ``{call}`` bytes up to ``{end}``, after growing the memory by ``{pages}`` pages: for the
bounded-memory tests (tests/test_streaming.py) and benchmarks/big.py."""

RANDOM_GUEST = """
(module
  (import "wasi_snapshot_preview1" "random_get" (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $p i32)
    (if (i32.lt_s (memory.grow (i32.const {pages})) (i32.const 0)) (then unreachable))
    (local.set $p (i32.const 65536))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (i32.const {end})))
      (if (call $get (local.get $p) (i32.const {call})) (then unreachable))
      (local.set $p (i32.add (local.get $p) (i32.const {call})))
      (br $next)))))
"""

READ_GUEST = """
(module
  (import "wasi_snapshot_preview1" "path_open" (func $open
    (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "big.bin")
  (func (export "_start") (local $p i32)
    (if (i32.lt_s (memory.grow (i32.const {pages})) (i32.const 0)) (then unreachable))
    (if (call $open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 7) (i32.const 0)
          (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)) (then unreachable))
    (local.set $p (i32.const 65536))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $p) (i32.const {end})))
      (i32.store (i32.const 0) (local.get $p))
      (i32.store (i32.const 4) (i32.const {call}))
      (if (call $read (i32.load (i32.const 16)) (i32.const 0) (i32.const 1) (i32.const 8))
        (then unreachable))
      (br_if $done (i32.eqz (i32.load (i32.const 8))))
      (local.set $p (i32.add (local.get $p) (i32.load (i32.const 8))))
      (br $next)))))
"""
