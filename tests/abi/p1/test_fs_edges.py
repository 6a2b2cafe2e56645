# ruff: noqa: E501 (the guests are tables of one-line WAT calls)
"""Preview1 file-system edge cases as tiny WAT guests, under our host and wasmtime's own WASI.

Each guest gets a writable preopen (fd 3, ``/rw``) and a read-only one (fd 4, ``/ro``) and ends
with ``proc_exit(errno)`` (or traps); the exit status or trap message, and what the preopened
directories hold afterwards, must be the same under both hosts. Covered: every mutating call
against the read-only preopen (directly, through a hard link, through symlinks), conformance
details, and hostile arguments (offsets past 2^63, NUL bytes, 2^29 iovecs, every rights bit).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.world import Streams

from ...conftest import run_config

IMPORTS = {
    "path_open": "i32 i32 i32 i32 i32 i64 i64 i32 i32",
    "path_link": "i32 i32 i32 i32 i32 i32 i32",
    "path_symlink": "i32 i32 i32 i32 i32",
    "path_filestat_get": "i32 i32 i32 i32 i32",
    "path_filestat_set_times": "i32 i32 i32 i32 i64 i64 i32",
    "path_create_directory": "i32 i32 i32",
    "path_remove_directory": "i32 i32 i32",
    "path_unlink_file": "i32 i32 i32",
    "path_rename": "i32 i32 i32 i32 i32 i32",
    "fd_filestat_set_times": "i32 i64 i64 i32",
    "fd_filestat_set_size": "i32 i64",
    "fd_fdstat_get": "i32 i32",
    "fd_fdstat_set_flags": "i32 i32",
    "fd_seek": "i32 i64 i32 i32",
    "fd_read": "i32 i32 i32 i32",
    "fd_write": "i32 i32 i32 i32",
    "fd_pread": "i32 i32 i32 i64 i32",
    "fd_pwrite": "i32 i32 i32 i64 i32",
    "fd_advise": "i32 i64 i64 i32",
    "fd_allocate": "i32 i64 i64",
}

# Names at fixed addresses.
DATA = {
    100: "f.txt",  # in /ro
    110: "l",
    120: "l/",
    130: "sub",  # in /ro
    140: "a\\00b",
    150: "w.txt",  # in /rw
    160: "../ro/f.txt",
    170: "into-ro",  # in /rw: a symlink to ../ro/f.txt
    180: "inner",  # in /ro: a symlink to f.txt
}
FD = "(i32.load (i32.const 200))"  # where path_open stores the new fd
IOV = "(i32.store (i32.const 400) (i32.const 500)) (i32.store (i32.const 404) (i32.const 3))"


def name(addr: int) -> str:
    return f"(i32.const {addr}) (i32.const {len(DATA[addr].replace(chr(92) + '00', '.'))})"


def open_(fd: int, path: int, oflags: int = 0, rights: int = 0x2, fdflags: int = 0) -> str:
    return (
        f"(call $path_open (i32.const {fd}) (i32.const 0) {name(path)} (i32.const {oflags})"
        f" (i64.const {rights}) (i64.const 0) (i32.const {fdflags}) (i32.const 200))"
    )


def then(*calls: str) -> str:
    """Run every call but the last for its effect; exit with the last one's errno."""
    return "".join(f"(drop {c})" for c in calls[:-1]) + f"(call $proc_exit {calls[-1]})"


def module(body: str) -> bytes:
    if "$proc_exit" not in body:  # a single call: exit with its errno
        body = f"(call $proc_exit {body})"
    imports = "\n".join(
        f'(import "wasi_snapshot_preview1" "{n}" (func ${n} (param {p}) (result i32)))'
        for n, p in IMPORTS.items()
    )
    data = " ".join(f'(data (i32.const {a}) "{s}")' for a, s in DATA.items())
    return bytes(
        wasmtime.wat2wasm(f"""(module {imports}
        (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
        (memory (export "memory") 1) {data}
        (func (export "_start") {IOV} {body}))""")
    )


RO_MUTATIONS = {
    "open_write": open_(4, 100, rights=0x42),
    "open_create": open_(4, 110, oflags=1),
    "open_truncate": open_(4, 100, oflags=8),
    "open_write_in_subdir": then(open_(4, 130, oflags=2), open_(0, 100, rights=0x40)),
    "open_write_through_symlink": open_(4, 180, rights=0x40),
    "fd_write": then(
        open_(4, 100), f"(call $fd_write {FD} (i32.const 400) (i32.const 1) (i32.const 208))"
    ),
    "fd_pwrite": then(
        open_(4, 100),
        f"(call $fd_pwrite {FD} (i32.const 400) (i32.const 1) (i64.const 0) (i32.const 208))",
    ),
    "fd_write_append": then(
        open_(4, 100, fdflags=1),
        f"(call $fd_write {FD} (i32.const 400) (i32.const 1) (i32.const 208))",
    ),
    "fd_filestat_set_size": then(open_(4, 100), f"(call $fd_filestat_set_size {FD} (i64.const 0))"),
    "fd_filestat_set_times_file": then(
        open_(4, 100),
        f"(call $fd_filestat_set_times {FD} (i64.const 0) (i64.const 0) (i32.const 5))",
    ),
    "fd_filestat_set_times_preopen": "(call $proc_exit (call $fd_filestat_set_times (i32.const 4) (i64.const 0) (i64.const 0) (i32.const 10)))",
    "fd_filestat_set_times_subdir": then(
        open_(4, 130, oflags=2, rights=0x4000),
        f"(call $fd_filestat_set_times {FD} (i64.const 0) (i64.const 0) (i32.const 10))",
    ),
    "fd_allocate": then(open_(4, 100), f"(call $fd_allocate {FD} (i64.const 0) (i64.const 1))"),
    "path_filestat_set_times": f"(call $proc_exit (call $path_filestat_set_times (i32.const 4) (i32.const 1) {name(100)} (i64.const 0) (i64.const 0) (i32.const 5)))",
    "path_create_directory": f"(call $proc_exit (call $path_create_directory (i32.const 4) {name(110)}))",
    "path_remove_directory": f"(call $proc_exit (call $path_remove_directory (i32.const 4) {name(130)}))",
    "path_unlink_file": f"(call $proc_exit (call $path_unlink_file (i32.const 4) {name(100)}))",
    "path_rename_out": f"(call $proc_exit (call $path_rename (i32.const 4) {name(100)} (i32.const 3) {name(110)}))",
    "path_rename_in": f"(call $proc_exit (call $path_rename (i32.const 3) {name(150)} (i32.const 4) {name(110)}))",
    "path_symlink": f"(call $proc_exit (call $path_symlink {name(100)} (i32.const 4) {name(110)}))",
    "path_link_within": f"(call $proc_exit (call $path_link (i32.const 4) (i32.const 0) {name(100)} (i32.const 4) {name(110)}))",
    "path_link_in": f"(call $proc_exit (call $path_link (i32.const 3) (i32.const 0) {name(150)} (i32.const 4) {name(110)}))",
    # The bug: a hard link out of the read-only preopen, then a write through it.
    "path_link_out_then_write": then(
        f"(call $path_link (i32.const 4) (i32.const 0) {name(100)} (i32.const 3) {name(110)})",
        open_(3, 110, rights=0x42),
        f"(call $fd_write {FD} (i32.const 400) (i32.const 1) (i32.const 208))",
    ),
    "path_link_out": f"(call $proc_exit (call $path_link (i32.const 4) (i32.const 0) {name(100)} (i32.const 3) {name(110)}))",
    "symlink_into_ro_write": then(
        f"(call $path_symlink {name(160)} (i32.const 3) {name(110)})",
        open_(3, 110, rights=0x42),
    ),
    "existing_symlink_into_ro_truncate": open_(3, 170, oflags=8),
    "hard_link_of_symlink_into_ro_write": then(
        f"(call $path_link (i32.const 3) (i32.const 0) {name(170)} (i32.const 3) {name(110)})",
        open_(3, 110, rights=0x42, oflags=8),
    ),
}

CONFORMANCE = {
    "link_trailing_slash": f"(call $proc_exit (call $path_link (i32.const 3) (i32.const 0) {name(150)} (i32.const 3) {name(120)}))",
    "symlink_trailing_slash": f"(call $proc_exit (call $path_symlink {name(150)} (i32.const 3) {name(120)}))",
    # exit status: 1 if FD_READ is reported, 2 if FD_WRITE, 4 if FD_READDIR
    "fdstat_rights_write_only": then(
        open_(3, 150, rights=0x40),
        f"(call $fd_fdstat_get {FD} (i32.const 208))",
        "(i32.or (i32.or (i32.shr_u (i32.and (i32.load (i32.const 216)) (i32.const 2)) (i32.const 1))"
        " (i32.shr_u (i32.and (i32.load (i32.const 216)) (i32.const 0x40)) (i32.const 5)))"
        " (i32.shr_u (i32.and (i32.load (i32.const 216)) (i32.const 0x4000)) (i32.const 12)))",
    ),
    "fdstat_rights_read_only": then(
        open_(3, 150, rights=0x2),
        f"(call $fd_fdstat_get {FD} (i32.const 208))",
        "(i32.or (i32.shr_u (i32.and (i32.load (i32.const 216)) (i32.const 2)) (i32.const 1))"
        " (i32.shr_u (i32.and (i32.load (i32.const 216)) (i32.const 0x40)) (i32.const 5)))",
    ),
    # Append on, then off: the second write lands at the position (0), not at the end.
    "set_flags_zero_stops_appending": then(
        open_(3, 150, rights=0x42, fdflags=1),
        f"(call $fd_fdstat_set_flags {FD} (i32.const 0))",
        f"(call $fd_write {FD} (i32.const 400) (i32.const 1) (i32.const 208))",
        "(i32.const 0)",
    ),
    "append_stays_on": then(
        open_(3, 150, rights=0x42, fdflags=1),
        f"(call $fd_write {FD} (i32.const 400) (i32.const 1) (i32.const 208))",
        "(i32.const 0)",
    ),
    "open_ro_with_append_flag": open_(4, 100, fdflags=1),
    "open_directory_truncate": open_(3, 130, oflags=10),
    "open_directory_exclusive": open_(4, 130, oflags=6),
    "open_directory_create_ro": open_(4, 130, oflags=3),
    "filestat_misaligned_failing": f"(call $proc_exit (call $path_filestat_get (i32.const 3) (i32.const 0) {name(100)} (i32.const 201)))",
    "filestat_misaligned": f"(call $proc_exit (call $path_filestat_get (i32.const 4) (i32.const 0) {name(100)} (i32.const 201)))",
    "filestat_out_of_bounds": f"(call $proc_exit (call $path_filestat_get (i32.const 4) (i32.const 0) {name(100)} (i32.const 65500)))",
    "bad_lookupflags": f"(call $proc_exit (call $path_filestat_get (i32.const 4) (i32.const 2) {name(100)} (i32.const 200)))",
}

G = then(open_(3, 150, rights=0x42), "(i32.const 0)").replace("(call $proc_exit (i32.const 0))", "")


def on_g(call: str) -> str:
    return G + f"(call $proc_exit {call})"


HOSTILE = {
    "seek_set_2^63": on_g(
        f"(call $fd_seek {FD} (i64.const 0x8000000000000000) (i32.const 0) (i32.const 208))"
    ),
    "seek_past_2^64_then_read": G
    + f"(drop (call $fd_seek {FD} (i64.const 0x7fffffffffffffff) (i32.const 0) (i32.const 208)))"
    + f"(drop (call $fd_seek {FD} (i64.const 0x7fffffffffffffff) (i32.const 1) (i32.const 208)))"
    + f"(drop (call $fd_seek {FD} (i64.const 2) (i32.const 1) (i32.const 208)))"
    + f"(call $proc_exit (call $fd_read {FD} (i32.const 400) (i32.const 1) (i32.const 208)))",
    "seek_to_2^64-2_then_read": G
    + f"(drop (call $fd_seek {FD} (i64.const 0x7fffffffffffffff) (i32.const 0) (i32.const 208)))"
    + f"(drop (call $fd_seek {FD} (i64.const 0x7fffffffffffffff) (i32.const 1) (i32.const 208)))"
    + f"(call $proc_exit (call $fd_read {FD} (i32.const 400) (i32.const 1) (i32.const 208)))",
    "pread_2^63": on_g(
        f"(call $fd_pread {FD} (i32.const 400) (i32.const 1) (i64.const 0x8000000000000000) (i32.const 208))"
    ),
    "pread_2^64-1": on_g(
        f"(call $fd_pread {FD} (i32.const 400) (i32.const 1) (i64.const -1) (i32.const 208))"
    ),
    "pwrite_2^63": on_g(
        f"(call $fd_pwrite {FD} (i32.const 400) (i32.const 1) (i64.const 0x8000000000000000) (i32.const 208))"
    ),
    "pwrite_2^63-1": on_g(
        f"(call $fd_pwrite {FD} (i32.const 400) (i32.const 1) (i64.const 0x7fffffffffffffff) (i32.const 208))"
    ),
    "advise_offset_2^63": on_g(
        f"(call $fd_advise {FD} (i64.const 0x8000000000000000) (i64.const 1) (i32.const 0))"
    ),
    "advise_len_2^64-1": on_g(f"(call $fd_advise {FD} (i64.const 0) (i64.const -1) (i32.const 0))"),
    "allocate_2^64-1": on_g(f"(call $fd_allocate {FD} (i64.const -1) (i64.const -1))"),
    "set_size_2^63": on_g(f"(call $fd_filestat_set_size {FD} (i64.const 0x8000000000000000))"),
    "nul_in_symlink_target": f"(call $proc_exit (call $path_symlink {name(140)} (i32.const 3) {name(110)}))",
    "nul_in_path": open_(3, 140),
    "nul_in_mkdir": f"(call $proc_exit (call $path_create_directory (i32.const 3) {name(140)}))",
    "fd_read_2^29_empty_iovecs": on_g(
        f"(call $fd_read {FD} (i32.const 0) (i32.const 0x20000000) (i32.const 208))"
    ),
    "fd_write_2^29_empty_iovecs": on_g(
        f"(call $fd_write {FD} (i32.const 0) (i32.const 0x20000000) (i32.const 208))"
    ),
    "fd_pread_2^29_empty_iovecs": on_g(
        f"(call $fd_pread {FD} (i32.const 0) (i32.const 0x20000000) (i64.const 0) (i32.const 208))"
    ),
    "fd_pwrite_2^29_empty_iovecs": on_g(
        f"(call $fd_pwrite {FD} (i32.const 0) (i32.const 0x20000000) (i64.const 0) (i32.const 208))"
    ),
    "stdout_2^29_empty_iovecs": "(call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 208)))",
    "iovecs_past_memory": "(call $proc_exit (call $fd_write (i32.const 1) (i32.const 0) (i32.const 8193) (i32.const 208)))",
    "iovec_buffer_over_fuel": "(i32.store (i32.const 404) (i32.const 0x7fffff9))(call $proc_exit (call $fd_write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 208)))",
    "path_open_all_rights": open_(3, 150, rights=-1),
    "path_open_rights_past_the_last": open_(3, 150, rights=0x40000000),
    "path_open_all_inheriting": open_(3, 150).replace(
        "(i64.const 0) (i32.const 0) (i32.const 200)",
        "(i64.const -1) (i32.const 0) (i32.const 200)",
    ),
    "path_open_bad_oflags_before_rights": open_(3, 150, oflags=0x10, rights=-1),
}


def setup(root: Path) -> tuple[Path, Path]:
    rw, ro = root / "rw", root / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f.txt").write_text("ro\n")
    (ro / "sub").mkdir()
    (ro / "inner").symlink_to("f.txt")
    (rw / "w.txt").write_text("rw\n")
    (rw / "into-ro").symlink_to("../ro/f.txt")
    return rw, ro


def snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        key = str(p.relative_to(root))
        if p.is_symlink():
            out[key] = ("link", str(p.readlink()))
        elif p.is_dir():
            out[key] = "dir"
        else:
            out[key] = (p.read_bytes(), p.lstat().st_mtime_ns, p.lstat().st_nlink)
    return out


def stock(wasm: bytes, root: Path) -> object:
    rw, ro = setup(root)
    eng = wasmtime.Engine()
    store = wasmtime.Store(eng)
    cfg = wasmtime.WasiConfig()
    cfg.argv = ["edge"]
    cfg.preopen_dir(str(rw), "/rw")
    cfg.preopen_dir(str(ro), "/ro", False)
    store.set_wasi(cfg)
    linker = wasmtime.Linker(eng)
    linker.define_wasi()
    try:
        linker.instantiate(store, wasmtime.Module(eng, wasm)).exports(store)["_start"](store)
    except wasmtime.ExitTrap as exc:
        return exc.code
    except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
        return re.sub(r"^\d+: ", "", str(exc).strip().splitlines()[-1].strip())
    return 0


def ours(wasm: bytes, root: Path) -> object:
    rw, ro = setup(root)
    path = root / "edge.wasm"
    path.write_bytes(wasm)
    config = run_config(path, [], {}, [(str(rw), "/rw", False), (str(ro), "/ro", True)])
    outcome = engine.run_live(path, config, Streams(None, io.BytesIO(), io.BytesIO())).outcome
    path.unlink()
    return outcome.exit_code if outcome.trap is None else outcome.trap.message


CASES = {**RO_MUTATIONS, **CONFORMANCE, **HOSTILE}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_wasmtime(case: str, tmp_path: Path) -> None:
    wasm = module(CASES[case])
    (tmp_path / "stock").mkdir()
    (tmp_path / "ours").mkdir()
    expected = stock(wasm, tmp_path / "stock")
    got = ours(wasm, tmp_path / "ours")
    assert got == expected
    assert snapshot(tmp_path / "ours") == snapshot(tmp_path / "stock") or _only_mtimes(tmp_path)
    if case in RO_MUTATIONS:
        assert expected != 0, "wasmtime let this through: not a mutation test"
        assert (tmp_path / "ours" / "ro" / "f.txt").read_text() == "ro\n"
        assert sorted(p.name for p in (tmp_path / "ours" / "ro").iterdir()) == [
            "f.txt",
            "inner",
            "sub",
        ]


def _only_mtimes(tmp_path: Path) -> bool:
    """Files created or written during the run have run-dependent mtimes: compare without."""

    def strip(snap: dict[str, object]) -> dict[str, object]:
        return {
            k: v[:1] + v[2:] if isinstance(v, tuple) and len(v) == 3 else v for k, v in snap.items()
        }

    return strip(snapshot(tmp_path / "ours")) == strip(snapshot(tmp_path / "stock"))
