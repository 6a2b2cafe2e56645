"""Read-only and writable preopens under both ABIs, against wasmtime's own WASI.

The ``roprobe`` guest opens a file with every access mode and O_APPEND, O_CREAT, O_TRUNC (and
through fopen's modes), then tries every operation that reads or changes it, printing each
answer; it also opens a directory for appending and writing. It runs as a core module (under
``define_wasi``) and as a component (under ``add_wasip2``), each with its directory read-only
and writable, recorded and replayed under our host: the same output, the same files left
behind, and a replay that touches none.

The permissions live on the world's handles, checked once for both ABIs; what a descriptor may
do also follows from how it was opened: O_APPEND alone does not open for writing (a write is
EBADF, or EPERM below a read-only preopen), O_CREAT and O_TRUNC do.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import wasmtime
from wasmtime import component as wcomponent

from wasm_rr import engine
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.world import Streams

BUILD = Path(__file__).resolve().parents[2] / "guests" / "build"


KNOWN_DIFFERENCE = (
    "  write after F_SETFL -> I/O error",
    "  write after F_SETFL -> Bad file descriptor",
)
"""The one known difference: a component writing to a file it opened read-only (in a writable
directory), then again after turning O_APPEND on. wasmtime's WASI 0.2 hands the preview1 adapter
an output stream for it whose first write fails (EBADF) and closes it; the adapter keeps that
stream and its next write answers EIO. Ours refuses the stream (EBADF each time): the traces
recorded so far hold the adapter's path, instruction counts included (see
``wasm_rr.abi.p2.filesystem``)."""


def fixture(root: Path) -> Path:
    root.mkdir()
    (root / "f").write_bytes(b"hello\n")
    (root / "d").mkdir()
    (root / "d" / "g").write_bytes(b"g\n")
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


def stock(wasm: Path, root: Path, readonly: bool, out: Path) -> object:
    """The guest under wasmtime's own WASI: how it ended (its stdout goes to ``out``)."""
    eng = wasmtime.Engine()
    store = wasmtime.Store(eng)
    cfg = wasmtime.WasiConfig()
    cfg.argv = ["roprobe", "/p"]
    cfg.stdout_file = str(out)
    cfg.preopen_dir(str(root), "/p", not readonly)
    store.set_wasi(cfg)
    if wasm.name.endswith(".component.wasm"):
        comp = wcomponent.Component(eng, wasm.read_bytes())
        linker = wcomponent.Linker(eng)
        linker.add_wasip2()
        inst = linker.instantiate(store, comp)
        run = comp.get_export_index("wasi:cli/run@0.2.12")
        func = inst.get_func(store, comp.get_export_index("run", run))  # type: ignore[arg-type]
        assert func is not None
        return func(store)
    core = wasmtime.Linker(eng)
    core.define_wasi()
    try:
        core.instantiate(store, wasmtime.Module(eng, wasm.read_bytes())).exports(store)["_start"](
            store
        )
    except wasmtime.ExitTrap as exc:
        return exc.code
    return 0


@pytest.mark.parametrize("readonly", [True, False], ids=["read-only", "writable"])
@pytest.mark.parametrize("name", ["roprobe.wasm", "roprobe.component.wasm"])
def test_roprobe_matches_wasmtime(name: str, readonly: bool, tmp_path: Path) -> None:
    wasm = BUILD / name
    theirs = fixture(tmp_path / "theirs")
    mine = fixture(tmp_path / "mine")
    stock(wasm, theirs, readonly, tmp_path / "stock.out")
    expected = (tmp_path / "stock.out").read_bytes()
    assert expected.endswith(b"roprobe: done\n")

    config = RunConfig(argv=["roprobe", "/p"], env={}, dirs=[DirSpec(str(mine), "/p", readonly)])
    out = io.BytesIO()
    rec = engine.record(wasm, tmp_path / "t.cbor", config, Streams(None, out, io.BytesIO()))
    theirs_lines, mine_lines = expected.decode().splitlines(), out.getvalue().decode().splitlines()
    assert len(mine_lines) == len(theirs_lines)
    differ = {(a, b) for a, b in zip(theirs_lines, mine_lines, strict=True) if a != b}
    if name.endswith(".component.wasm") and not readonly:
        assert differ == {KNOWN_DIFFERENCE}
    else:
        assert differ == set()
    assert rec.outcome.exit_code == 0
    assert snapshot(mine) == snapshot(theirs)
    if readonly:
        assert snapshot(mine) == snapshot(fixture(tmp_path / "fresh"))

    # Replay needs none of it, and changes nothing.
    left = snapshot(mine)
    shutil.move(mine, tmp_path / "moved")
    replayed = io.BytesIO()
    rep = engine.replay(wasm, tmp_path / "t.cbor", Streams(None, replayed, io.BytesIO()))
    assert replayed.getvalue() == out.getvalue()
    assert rep.outcome == rec.outcome
    assert not mine.exists()
    assert snapshot(tmp_path / "moved") == left


def test_appending_alone_is_no_write_in_the_probe(tmp_path: Path) -> None:
    """The case of the hold-out: O_RDONLY|O_APPEND below a read-only preopen opens (as under
    wasmtime), and a write through it is refused; O_WRONLY|O_APPEND is refused at the open."""
    theirs = fixture(tmp_path / "theirs")
    stock(BUILD / "roprobe.wasm", theirs, True, tmp_path / "stock.out")
    lines = (tmp_path / "stock.out").read_text().splitlines()
    at = lines.index("open f O_RDONLY|O_APPEND -> ok")
    assert lines[at + 1] == "  write -> Bad file descriptor"
    assert "open f O_WRONLY|O_APPEND -> Operation not permitted" in lines
