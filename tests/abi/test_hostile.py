"""Hostile guests: tiny modules passing bad arguments to preview1, each run under our host
(recorded, then replayed) and under wasmtime's own WASI (``define_wasi``), which must agree:
the same exit status or the same trap message, and the same errno values and memory written
(each case prints what it wants compared with ``$emit``/``$emit_mem``).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.abi.p1 import cli, clocks, fs, poll, random, sockets
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.trace.schema import Outcome
from wasm_rr.world import Streams

ARGS = ["a", "bb"]
ENV = {"K": "v", "LONGER": "value"}
U64_MAX = (1 << 64) - 1

_TYPES = {"i": "i32", "I": "i64"}


def _imports() -> str:
    lines = []
    for area in (cli, clocks, random, poll, sockets, fs):
        for name, (params, results) in area.SIGNATURES.items():
            p = " ".join(_TYPES[c] for c in params)
            r = " ".join(_TYPES[c] for c in results)
            lines.append(
                f'(import "wasi_snapshot_preview1" "{name}" (func ${name}'
                f"{f' (param {p})' if p else ''}{f' (result {r})' if r else ''}))"
            )
    return "\n".join(lines)


IMPORTS = _imports()

# Helpers every case can call. Scratch memory from 0xFF00 up is theirs.
HELPERS = """
(func $emit (param $v i32)
  (i32.store (i32.const 0xFF00) (local.get $v))
  (call $emit_mem (i32.const 0xFF00) (i32.const 4)))
(func $emit_mem (param $p i32) (param $n i32)
  (i32.store (i32.const 0xFF08) (local.get $p))
  (i32.store (i32.const 0xFF0C) (local.get $n))
  (drop (call $fd_write (i32.const 1) (i32.const 0xFF08) (i32.const 1) (i32.const 0xFF10))))
;; A clock subscription at $at: userdata, clock id, timeout, flags.
(func $sub_clock (param $at i32) (param $ud i64) (param $id i32) (param $t i64) (param $fl i32)
  (i64.store (local.get $at) (local.get $ud))
  (i32.store8 offset=8 (local.get $at) (i32.const 0))
  (i32.store offset=16 (local.get $at) (local.get $id))
  (i64.store offset=24 (local.get $at) (local.get $t))
  (i64.store offset=32 (local.get $at) (i64.const 0))
  (i32.store16 offset=40 (local.get $at) (local.get $fl)))
;; An fd subscription at $at: userdata, tag (1 read, 2 write), fd.
(func $sub_fd (param $at i32) (param $ud i64) (param $tag i32) (param $fd i32)
  (i64.store (local.get $at) (local.get $ud))
  (i32.store8 offset=8 (local.get $at) (local.get $tag))
  (i32.store offset=16 (local.get $at) (local.get $fd)))
;; Poll $n subscriptions at 0x1000 into events at 0x2000; emit errno, count and the events.
(func $poll (param $n i32)
  (memory.fill (i32.const 0x2000) (i32.const 0xAA) (i32.const 0x200))
  (call $emit (call $poll_oneoff (i32.const 0x1000) (i32.const 0x2000) (local.get $n)
                                 (i32.const 0x3000)))
  (call $emit (i32.load (i32.const 0x3000)))
  (call $emit_mem (i32.const 0x2000) (i32.mul (local.get $n) (i32.const 32))))
;; Create and open the file "f" in the preopened directory (fd 3) with all rights; its fd.
(func $open_file (result i32)
  (i32.store (i32.const 0x4000) (i32.const 0x66))
  (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 0x4000) (i32.const 1)
                         (i32.const 1) (i64.const 0x1FFFFFFF) (i64.const 0x1FFFFFFF)
                         (i32.const 0) (i32.const 0x4010)))
  (i32.load (i32.const 0x4010)))
"""


@dataclass(frozen=True)
class Case:
    body: str
    extra: str = ""  # module fields besides _start (a start function, data)
    marks: list[pytest.MarkDecorator] = field(default_factory=list)


def c(body: str, extra: str = "") -> Case:
    return Case(body, extra)


def fs_case(body: str) -> Case:
    return Case(body, "", [])


def emit(call: str) -> str:
    return f"(call $emit {call})"


def poll_clock(*subs: tuple[int, int, int, int]) -> str:
    """Clock subscriptions (userdata, clock id, timeout, flags), polled."""
    body = "".join(
        f"(call $sub_clock (i32.const {0x1000 + 48 * i}) (i64.const {ud}) (i32.const {cid}) "
        f"(i64.const {t if t < 1 << 63 else t - (1 << 64)}) (i32.const {fl}))"
        for i, (ud, cid, t, fl) in enumerate(subs)
    )
    return body + f"(call $poll (i32.const {len(subs)}))"


STDOUT_WRITABLE = "(call $sub_fd (i32.const {at}) (i64.const 77) (i32.const 2) (i32.const 1))"


def poll_with_stdout(ud: int, cid: int, t: int, fl: int) -> str:
    """A clock subscription that does not fire soon, and stdout writable (fires at once)."""
    return (
        poll_clock((ud, cid, t, fl)).rsplit("(call $poll", 1)[0]
        + STDOUT_WRITABLE.format(at=0x1000 + 48)
        + "(call $poll (i32.const 2))"
    )


def raw_poll(subs: int, events: int, n: int, nevents: int) -> str:
    return emit(
        f"(call $poll_oneoff (i32.const {subs}) (i32.const {events}) (i32.const {n}) "
        f"(i32.const {nevents}))"
    )


def i64(v: int) -> str:
    return f"(i64.const {v - (1 << 64) if v >= 1 << 63 else v})"


def seek_file(offset: int, whence: int) -> str:
    return emit(
        f"(call $fd_seek (call $open_file) {i64(offset)} (i32.const {whence}) (i32.const 0x5000))"
    )


CASES: dict[str, Case] = {
    # ---- args and environ
    "args_sizes_get": c(
        emit("(call $args_sizes_get (i32.const 0) (i32.const 4))")
        + "(call $emit_mem (i32.const 0) (i32.const 8))"
    ),
    "args_get": c(
        emit("(call $args_get (i32.const 0) (i32.const 64))")
        + "(call $emit_mem (i32.const 64) (i32.const 16))"
    ),
    "args_get_argv_out_of_bounds": c(emit("(call $args_get (i32.const 65532) (i32.const 64))")),
    "args_get_argv_past_the_end": c(emit("(call $args_get (i32.const 65536) (i32.const 64))")),
    "args_get_buf_out_of_bounds": c(emit("(call $args_get (i32.const 0) (i32.const 65534))")),
    "args_get_buf_at_u32_max": c(emit("(call $args_get (i32.const 0) (i32.const -1))")),
    "args_get_argv_misaligned": c(emit("(call $args_get (i32.const 2) (i32.const 64))")),
    "args_sizes_get_out_of_bounds": c(
        emit("(call $args_sizes_get (i32.const 65534) (i32.const 0))")
    ),
    "args_sizes_get_size_out_of_bounds": c(
        emit("(call $args_sizes_get (i32.const 0) (i32.const 65534))")
    ),
    "args_sizes_get_misaligned": c(emit("(call $args_sizes_get (i32.const 1) (i32.const 8))")),
    "environ_sizes_get": c(
        emit("(call $environ_sizes_get (i32.const 0) (i32.const 4))")
        + "(call $emit_mem (i32.const 0) (i32.const 8))"
    ),
    "environ_get": c(
        emit("(call $environ_get (i32.const 0) (i32.const 64))")
        + "(call $emit_mem (i32.const 64) (i32.const 24))"
    ),
    "environ_get_environ_out_of_bounds": c(
        emit("(call $environ_get (i32.const 65532) (i32.const 64))")
    ),
    "environ_get_buf_out_of_bounds": c(emit("(call $environ_get (i32.const 0) (i32.const 65530))")),
    "environ_get_buf_at_u32_max": c(emit("(call $environ_get (i32.const 0) (i32.const -1))")),
    "environ_get_misaligned": c(emit("(call $environ_get (i32.const 3) (i32.const 64))")),
    "environ_sizes_get_out_of_bounds": c(
        emit("(call $environ_sizes_get (i32.const 0) (i32.const 65536))")
    ),
    # ---- proc_exit, proc_raise, sched_yield
    **{
        f"proc_exit_{n}": c(f"(call $proc_exit (i32.const {n}))")
        for n in (0, 1, 125, 126, 127, 255, 256, 1000, -1)
    },
    **{
        f"proc_raise_{n}": c(emit(f"(call $proc_raise (i32.const {n}))"))
        for n in (0, 2, 6, 9, 30, 31, 255, 256, -1)
    },
    "sched_yield": c(emit("(call $sched_yield)") + emit("(call $sched_yield)")),
    # ---- traps, in _start and in the start function
    "unreachable": c("unreachable"),
    "memory_out_of_bounds": c("(drop (i32.load (i32.const 65534)))"),
    "divide_by_zero": c("(drop (i32.div_u (i32.const 1) (i32.const 0)))"),
    "stack_overflow": c("(call $recurse)", "(func $recurse (call $recurse))"),
    "start_function_traps": c("(call $emit (i32.const 1))", "(start $s) (func $s unreachable)"),
    "start_function_divides_by_zero": c(
        "", "(start $s) (func $s (drop (i32.div_s (i32.const 1) (i32.const 0))))"
    ),
    "start_function_exits": c("", "(start $s) (func $s (call $proc_exit (i32.const 3)))"),
    "start_function_bad_clock": c(
        "",
        "(start $s) (func $s (drop (call $clock_time_get (i32.const 9) (i64.const 0) "
        "(i32.const 0))))",
    ),
    "start_function_prints": Case(
        "(call $emit (i32.const 2))",
        "(start $s) (func $s (call $emit (i32.const 1)))",
        [pytest.mark.xfail(strict=True, reason="memory is bound after instantiation")],
    ),
    # ---- clocks
    **{
        f"clock_res_get_{cid}": c(emit(f"(call $clock_res_get (i32.const {cid}) (i32.const 0))"))
        for cid in (0, 1, 2, 3, 4, 99, -1)
    },
    **{
        f"clock_time_get_{cid}": c(
            emit(f"(call $clock_time_get (i32.const {cid}) (i64.const 0) (i32.const 0))")
        )
        for cid in (0, 1, 2, 3, 4, -1)
    },
    "clock_res_get_out_of_bounds": c(emit("(call $clock_res_get (i32.const 1) (i32.const 65532))")),
    "clock_res_get_misaligned": c(emit("(call $clock_res_get (i32.const 0) (i32.const 4))")),
    "clock_res_get_cputime_out_of_bounds": c(
        emit("(call $clock_res_get (i32.const 2) (i32.const 65532))")
    ),
    "clock_time_get_out_of_bounds": c(
        emit("(call $clock_time_get (i32.const 1) (i64.const 0) (i32.const 65536))")
    ),
    "clock_time_get_at_u32_max": c(
        emit("(call $clock_time_get (i32.const 0) (i64.const -1) (i32.const -8))")
    ),
    "clock_time_get_misaligned": c(
        emit("(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 12))")
    ),
    "clock_time_get_cputime_out_of_bounds": c(
        emit("(call $clock_time_get (i32.const 3) (i64.const 0) (i32.const -1))")
    ),
    # ---- random
    "random_get_nothing_at_the_end": c(emit("(call $random_get (i32.const 65536) (i32.const 0))")),
    "random_get_nothing_past_the_end": c(
        emit("(call $random_get (i32.const 65537) (i32.const 0))")
    ),
    "random_get_16": c(emit("(call $random_get (i32.const 0) (i32.const 16))")),
    "random_get_past_the_end": c(emit("(call $random_get (i32.const 65535) (i32.const 2))")),
    "random_get_at_u32_max": c(emit("(call $random_get (i32.const -1) (i32.const 1))")),
    "random_get_1_mib": c(emit("(call $random_get (i32.const 0) (i32.const 0x100000))")),
    "random_get_64_mib": c(emit("(call $random_get (i32.const 0) (i32.const 0x4000000))")),
    "random_get_64_mib_and_1": c(emit("(call $random_get (i32.const 0) (i32.const 0x4000001))")),
    "random_get_2_gib": c(emit("(call $random_get (i32.const 0) (i32.const 0x7FFFFFFF))")),
    "random_get_4_gib": c(emit("(call $random_get (i32.const 16) (i32.const -1))")),
    # ---- poll_oneoff
    "poll_no_subscriptions": c(raw_poll(0x1000, 0x2000, 0, 0x3000)),
    "poll_no_subscriptions_bad_pointers": c(raw_poll(-1, -1, 0, -1)),
    "poll_relative_u64_max_and_stdout": c(poll_with_stdout(1, 1, U64_MAX, 0)),
    "poll_relative_realtime_u64_max_and_stdout": c(poll_with_stdout(1, 0, U64_MAX, 0)),
    "poll_absolute_monotonic_u64_max_and_stdout": c(poll_with_stdout(1, 1, U64_MAX, 1)),
    "poll_absolute_realtime_u64_max_and_stdout": c(poll_with_stdout(1, 0, U64_MAX, 1)),
    "poll_absolute_monotonic_past": c(poll_clock((5, 1, 0, 1))),
    "poll_absolute_realtime_past": c(poll_clock((5, 0, 1, 1))),
    "poll_relative_zero": c(poll_clock((5, 1, 0, 0))),
    "poll_relative_zero_realtime": c(poll_clock((5, 0, 0, 0))),
    "poll_two_clocks_one_never": c(poll_clock((5, 1, U64_MAX, 0), (6, 1, 0, 0))),
    "poll_cputime_clock": c(poll_clock((5, 2, 0, 0), (6, 1, 0, 0))),
    "poll_bad_clock_id": c(poll_clock((5, 9, 0, 0), (6, 1, 0, 0))),
    "poll_bad_clock_flags": c(poll_clock((5, 1, 0, 2), (6, 1, 0, 0))),
    "poll_bad_tag": c(
        poll_clock((5, 1, 0, 0)).replace("(call $poll (i32.const 1))", "")
        + "(i32.store8 (i32.const 0x1008) (i32.const 3))(call $poll (i32.const 1))"
    ),
    "poll_stdout_and_stderr": c(
        STDOUT_WRITABLE.format(at=0x1000)
        + "(call $sub_fd (i32.const 0x1030) (i64.const 78) (i32.const 2) (i32.const 2))"
        + "(call $poll (i32.const 2))"
    ),
    "poll_bad_fd": c(
        "(call $sub_fd (i32.const 0x1000) (i64.const 1) (i32.const 1) (i32.const 99))"
        + STDOUT_WRITABLE.format(at=0x1030)
        + "(call $poll (i32.const 2))"
    ),
    "poll_directory_fd": c(
        "(call $sub_fd (i32.const 0x1000) (i64.const 1) (i32.const 2) (i32.const 3))"
        + STDOUT_WRITABLE.format(at=0x1030)
        + "(call $poll (i32.const 2))"
    ),
    "poll_write_on_stdin": c(
        "(call $sub_fd (i32.const 0x1000) (i64.const 1) (i32.const 2) (i32.const 0))"
        + STDOUT_WRITABLE.format(at=0x1030)
        + "(call $poll (i32.const 2))"
    ),
    "poll_subscriptions_out_of_bounds": c(raw_poll(65500, 0x2000, 2, 0x3000)),
    "poll_subscriptions_misaligned": c(raw_poll(0x1004, 0x2000, 1, 0x3000)),
    "poll_events_out_of_bounds": c(
        STDOUT_WRITABLE.format(at=0x1000) + raw_poll(0x1000, 65530, 1, 0x3000)
    ),
    "poll_nevents_out_of_bounds": c(
        STDOUT_WRITABLE.format(at=0x1000) + raw_poll(0x1000, 0x2000, 1, 65534)
    ),
    "poll_huge_count": c(raw_poll(0x1000, 0x2000, 0x01000000, 0x3000)),
    "poll_u32_max_count": c(raw_poll(0x1000, 0x2000, -1, 0x3000)),
    # ---- sockets on stdio and on bad descriptors
    "sock_accept_stdin": c(emit("(call $sock_accept (i32.const 0) (i32.const 0) (i32.const 0))")),
    "sock_accept_bad_fd": c(emit("(call $sock_accept (i32.const 99) (i32.const 0) (i32.const 0))")),
    "sock_accept_bad_flags": c(
        emit("(call $sock_accept (i32.const 1) (i32.const 0xFFFF) (i32.const 0))")
    ),
    "sock_accept_out_of_bounds": c(
        emit("(call $sock_accept (i32.const 1) (i32.const 0) (i32.const -1))")
    ),
    "sock_recv_stdin": c(
        emit(
            "(call $sock_recv (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0) "
            "(i32.const 16) (i32.const 20))"
        )
    ),
    "sock_recv_bad_flags": c(
        emit(
            "(call $sock_recv (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0xFF) "
            "(i32.const 16) (i32.const 20))"
        )
    ),
    "sock_send_stdout": c(
        emit(
            "(call $sock_send (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0) "
            "(i32.const 16))"
        )
    ),
    "sock_send_bad_fd": c(
        emit(
            "(call $sock_send (i32.const 42) (i32.const -1) (i32.const -1) (i32.const 0) "
            "(i32.const -1))"
        )
    ),
    "sock_shutdown_stderr": c(emit("(call $sock_shutdown (i32.const 2) (i32.const 3))")),
    "sock_shutdown_bad_how": c(emit("(call $sock_shutdown (i32.const 2) (i32.const 0xFF))")),
    "sock_accept_flags_too_wide": c(
        emit("(call $sock_accept (i32.const 1) (i32.const 0x10000) (i32.const 0))")
    ),
    "sock_accept_negative_flags": c(
        emit("(call $sock_accept (i32.const 1) (i32.const -1) (i32.const 0))")
    ),
    "sock_send_any_u16_flags": c(
        emit(
            "(call $sock_send (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0xFFFF) "
            "(i32.const 0))"
        )
    ),
    "sock_send_flags_too_wide": c(
        emit(
            "(call $sock_send (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0x10000) "
            "(i32.const 0))"
        )
    ),
    "sock_shutdown_how_too_wide": c(emit("(call $sock_shutdown (i32.const 1) (i32.const 0x100))")),
    "sock_shutdown_preopen": c(emit("(call $sock_shutdown (i32.const 3) (i32.const 1))")),
    # ---- files
    "fs_seek_2_63": fs_case(seek_file(1 << 63, 0)),
    "fs_seek_2_64_minus_1": fs_case(seek_file(U64_MAX, 0)),
    "fs_seek_cur_2_63": fs_case(seek_file(1 << 63, 1)),
    "fs_pread_2_63": fs_case(
        "(i64.store (i32.const 0x5000) (i64.const 0x0000000400005100))"
        + emit(
            f"(call $fd_pread (call $open_file) (i32.const 0x5000) (i32.const 1) {i64(1 << 63)} "
            "(i32.const 0x5010))"
        )
    ),
    "fs_pread_2_64_minus_1": fs_case(
        "(i64.store (i32.const 0x5000) (i64.const 0x0000000400005100))"
        + emit(
            f"(call $fd_pread (call $open_file) (i32.const 0x5000) (i32.const 1) {i64(U64_MAX)} "
            "(i32.const 0x5010))"
        )
    ),
    "fs_pwrite_2_63": fs_case(
        "(i64.store (i32.const 0x5000) (i64.const 0x0000000400005100))"
        + emit(
            f"(call $fd_pwrite (call $open_file) (i32.const 0x5000) (i32.const 1) {i64(1 << 63)} "
            "(i32.const 0x5010))"
        )
    ),
    "fs_advise_2_63": fs_case(
        emit(f"(call $fd_advise (call $open_file) {i64(1 << 63)} {i64(1 << 63)} (i32.const 0))")
    ),
    "fs_advise_2_64_minus_1": fs_case(
        emit(f"(call $fd_advise (call $open_file) {i64(U64_MAX)} {i64(U64_MAX)} (i32.const 0))")
    ),
    "fs_allocate_2_63": fs_case(
        emit(f"(call $fd_allocate (call $open_file) {i64(1 << 63)} {i64(1 << 63)})")
    ),
    "fs_symlink_nul_target": fs_case(
        "(i32.store (i32.const 0x5000) (i32.const 0x00620061))"
        "(i32.store (i32.const 0x5010) (i32.const 0x6C))"
        + emit(
            "(call $path_symlink (i32.const 0x5000) (i32.const 3) (i32.const 3) "
            "(i32.const 0x5010) (i32.const 1))"
        )
    ),
    "fs_2_29_empty_iovecs": fs_case(
        emit(
            "(call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 0x5000))"
        )
    ),
    "fs_open_all_rights": fs_case(
        "(i32.store (i32.const 0x4000) (i32.const 0x66))"
        + emit(
            "(call $path_open (i32.const 3) (i32.const 0) (i32.const 0x4000) (i32.const 1) "
            "(i32.const 1) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 0x4010))"
        )
    ),
}


def module(case: Case) -> bytes:
    return bytes(
        wasmtime.wat2wasm(
            f"""(module {IMPORTS}
              (memory (export "memory") 1)
              {HELPERS}
              {case.extra}
              (func (export "_start") {case.body}))"""
        )
    )


Result = tuple[bytes, object]


def stock(wasm: Path, tmp: Path, shared: Path) -> Result:
    """The case under wasmtime's own WASI: stdout and the exit status or trap message."""
    eng = wasmtime.Engine()
    store = wasmtime.Store(eng)
    cfg = wasmtime.WasiConfig()
    cfg.argv = [wasm.name, *ARGS]
    cfg.env = list(ENV.items())
    out = tmp / "stock.out"
    cfg.stdout_file = str(out)
    cfg.preopen_dir(str(shared), "/d")
    store.set_wasi(cfg)
    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    result: object = 0
    try:
        linker.instantiate(store, wasmtime.Module(eng, wasm.read_bytes())).exports(store)["_start"](
            store
        )
    except wasmtime.ExitTrap as exc:
        result = exc.code
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        result = re.sub(r"^\d+: ", "", str(exc).strip().splitlines()[-1].strip())
    return out.read_bytes(), result


def _result(outcome: Outcome) -> object:
    return outcome.exit_code if outcome.trap is None else outcome.trap.message


def ours(wasm: Path, tmp: Path, shared: Path) -> tuple[Result, Result]:
    """The case recorded and replayed under our host."""
    config = RunConfig(
        argv=[wasm.name, *ARGS], env=dict(ENV), dirs=[DirSpec(str(shared), "/d", False)]
    )
    trace = tmp / "run.cbor"
    out = io.BytesIO()
    rec = engine.record(wasm, trace, config, Streams(None, out, io.BytesIO()))
    replayed = io.BytesIO()
    rep = engine.replay(wasm, trace, Streams(None, replayed, io.BytesIO()))
    return (out.getvalue(), _result(rec.outcome)), (replayed.getvalue(), _result(rep.outcome))


def run_case(name: str, tmp: Path) -> tuple[Result, Result, Result]:
    wasm = tmp / "g.wasm"
    wasm.write_bytes(module(CASES[name]))
    (tmp / "stock").mkdir()
    (tmp / "ours").mkdir()
    expected = stock(wasm, tmp, tmp / "stock")
    recorded, replayed = ours(wasm, tmp, tmp / "ours")
    return expected, recorded, replayed


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=CASES[n].marks, id=n) for n in sorted(CASES)]
)
def test_hostile_guest_matches_wasmtime(name: str, tmp_path: Path) -> None:
    expected, recorded, replayed = run_case(name, tmp_path)
    assert recorded == expected
    assert replayed == expected
