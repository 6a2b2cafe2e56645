"""Our preview1 host against wasmtime's own (``define_wasi``): same errnos, same traps."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.world import Streams

from ...conftest import guest, record, replay, run_config


def stock_run(
    wasm: Path | bytes, tmp_path: Path, argv: list[str], dirs: dict[str, Path] | None = None
) -> tuple[bytes, object]:
    """Run under wasmtime-py's built-in WASI (``dirs``: guest path -> host directory);
    return stdout and the exit code or error."""
    eng = wasmtime.Engine()
    store = wasmtime.Store(eng)
    cfg = wasmtime.WasiConfig()
    cfg.argv = argv
    out = tmp_path / "stock.out"
    cfg.stdout_file = str(out)
    for guest_path, host in (dirs or {}).items():
        cfg.preopen_dir(str(host), guest_path)
    store.set_wasi(cfg)
    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    module = wasmtime.Module(eng, wasm if isinstance(wasm, bytes) else wasm.read_bytes())
    result: object = 0
    try:
        linker.instantiate(store, module).exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        result = exc.code
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        result = re.sub(r"^\d+: ", "", str(exc).strip().splitlines()[-1].strip())
    return out.read_bytes(), result


def test_p1probe_matches_wasmtime(tmp_path: Path) -> None:
    expected, status = stock_run(guest("p1probe"), tmp_path, ["p1probe.wasm"])
    assert status == 0 and expected.endswith(b"p1probe: done\n")
    rec = record("p1probe", tmp_path / "p.cbor")
    assert rec.stdout.decode().splitlines() == expected.decode().splitlines()
    assert replay("p1probe", tmp_path / "p.cbor").stdout == expected


# Calls wasmtime answers with a trap rather than an errno; ours must trap the same way.
TRAPS = {
    "bad_clock_id": "(call $clock_time_get (i32.const 99) (i64.const 0) (i32.const 16))",
    "out_of_bounds": "(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 65535))",
    "misaligned": "(call $clock_time_get (i32.const 0) (i64.const 0) (i32.const 3))",
    "bad_iovec": "(call $fd_write (i32.const 1) (i32.const 70000) (i32.const 1) (i32.const 0))",
    "cputime_clock": "(call $clock_time_get (i32.const 2) (i64.const 0) (i32.const 16))",
    "bad_fd": "(call $fd_write (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 16))",
}


def wat(body: str) -> bytes:
    return bytes(
        wasmtime.wat2wasm(f"""
    (module
      (import "wasi_snapshot_preview1" "clock_time_get"
        (func $clock_time_get (param i32 i64 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write"
        (func $fd_write (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
      (memory (export "memory") 1)
      (func (export "_start") (call $proc_exit {body})))
    """)
    )


@pytest.mark.parametrize("case", sorted(TRAPS))
def test_error_paths_match_wasmtime(case: str, tmp_path: Path) -> None:
    wasm = wat(TRAPS[case])
    path = tmp_path / f"{case}.wasm"
    path.write_bytes(wasm)
    _, stock = stock_run(wasm, tmp_path, ["x"])
    out = io.BytesIO()
    result = engine.run_live(path, run_config(path), Streams(None, out, io.BytesIO()))
    ours: object = (
        result.outcome.exit_code if result.outcome.trap is None else result.outcome.trap.message
    )
    assert ours == stock
