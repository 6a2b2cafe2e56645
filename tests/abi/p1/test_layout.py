"""The preview1 host's layout: every function defined once, with its witx signature, by the
areas of ``wasm_rr.abi.p1.AREAS``; the module name written in one place; no ABI module
reaching back into the engine."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import wasm_rr
from wasm_rr.abi import p1
from wasm_rr.abi.p1.state import MODULE
from wasm_rr.config import RunConfig
from wasm_rr.world import Streams, live_world

ABI = Path(wasm_rr.__file__).resolve().parent / "abi"

WITX: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}
"""Every preview1 function: parameter and result types (``i`` i32, ``I`` i64)."""


class Recorder:
    """Stands in for HostFunctions: keeps what would be defined."""

    imported = None  # define everything, as for a guest that imports every function

    def __init__(self) -> None:
        self.defined: list[tuple[str, str, str, str, bool]] = []

    def define(
        self,
        module: str,
        name: str,
        params: str,
        results: str,
        fn: Callable[..., Any],
        raw_body: bool = False,
    ) -> None:
        assert callable(fn)
        self.defined.append((module, name, params, results, raw_body))


def test_every_function_is_defined_once_with_its_signature() -> None:
    rec = Recorder()
    world = live_world(RunConfig(["g"]), Streams(None, None, None))  # type: ignore[arg-type]
    p1.build_host(rec, world)  # type: ignore[arg-type]
    preview1 = [d for d in rec.defined if d[0] == MODULE]
    names = [name for _, name, _, _, _ in preview1]
    assert sorted(names) == sorted(WITX)
    assert len(names) == len(set(names))
    others = {(module, name) for module, name, _, _, _ in rec.defined if module != MODULE}
    assert others == {
        ("wasm-rr:process/process@0.1.0", "run"),
        ("wasm-rr:http/client@0.1.0", "send"),
    }
    for module, name, params, results, raw in preview1:
        assert module == MODULE == "wasi_snapshot_preview1"
        assert (params, results) == WITX[name]
        assert raw == (name in ("clock_time_get", "random_get"))


def test_each_area_module_has_signatures_and_define() -> None:
    assert len(p1.AREAS) == 8
    for define in p1.AREAS:
        area = __import__(define.__module__, fromlist=["SIGNATURES"])
        assert area.SIGNATURES
        if not define.__module__.endswith((".process", ".http")):
            assert set(area.SIGNATURES) <= set(WITX)


def test_the_module_name_is_written_once() -> None:
    hits = [p for p in sorted(ABI.rglob("*.py")) if '"wasi_snapshot_preview1"' in p.read_text()]
    assert hits == [ABI / "p1" / "state.py"]


def test_no_abi_module_imports_the_engine() -> None:
    for path in sorted(ABI.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        package = "wasm_rr." + ".".join(path.relative_to(ABI.parent).with_suffix("").parts)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = package.rsplit(".", node.level)[0] if node.level else ""
                mod = f"{base}.{node.module}" if base and node.module else node.module or base
                names = [mod, *(f"{mod}.{a.name}" for a in node.names)]
            else:
                continue
            for name in names:
                assert not name.startswith("wasm_rr.engine"), f"{path}: imports {name}"


def test_only_the_functions_a_module_imports_are_defined() -> None:
    import wasmtime

    from wasm_rr.abi.p1 import error_result, module_imports
    from wasm_rr.abi.trampoline import HostFunctions

    wat = """(module
      (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func (param i32))))"""
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wat)
    imported = module_imports(module)
    assert imported == {(MODULE, "fd_write"), (MODULE, "proc_exit")}
    assert module_imports(module) is imported  # read once per module
    linker = wasmtime.Linker(engine)
    functions = HostFunctions(linker, error_result, imported)
    world = live_world(RunConfig(["g"]), Streams(None, None, None))  # type: ignore[arg-type]
    p1.build_host(functions, world)
    assert len(functions._keep) == 2
