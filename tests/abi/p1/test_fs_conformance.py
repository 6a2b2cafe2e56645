"""Our preview1 file-system functions against wasmtime's own, through the fsprobe guest.

fsprobe calls every fd_*/path_* function on a fixture (symlinks leading out, loops, dangling
links, ...) and prints the errno, fd numbers, types and sizes it gets. The output under our host,
recording and replaying, must equal the output under wasmtime's built-in WASI line for line
(directory listings in the OS's order are compared between our runs only).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from wasm_rr import engine
from wasm_rr.world import Streams

from ...conftest import guest, replay, run_config
from ...fsfixture import build_fixture
from .test_conformance import stock_run


def stock(wasm: Path, sandbox: Path, tmp_path: Path, argv: list[str]) -> bytes:
    out, status = stock_run(wasm, tmp_path, argv, {"/sandbox": sandbox})
    assert status == 0, status
    return out


def portable(text: bytes) -> list[str]:
    return [line for line in text.decode().splitlines() if not line.endswith("(os order)")]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    root = tmp_path / "sandbox"
    root.mkdir()
    build_fixture(root)
    return root


def test_fsprobe_matches_wasmtime(sandbox: Path, tmp_path: Path) -> None:
    wasm = guest("fsprobe")
    expected = stock(wasm, sandbox, tmp_path, ["fsprobe.wasm"])
    assert expected.endswith(b"fsprobe: done\n")
    shutil.rmtree(sandbox)
    sandbox.mkdir()
    build_fixture(sandbox)
    out = io.BytesIO()
    trace = tmp_path / "p.cbor"
    engine.record(
        wasm,
        trace,
        run_config(wasm, [], {}, [(str(sandbox), "/sandbox", False)]),
        Streams(None, out, io.BytesIO()),
    )
    assert portable(out.getvalue()) == portable(expected)
    shutil.rmtree(sandbox)  # replay needs no files at all
    assert replay("fsprobe", trace).stdout == out.getvalue()


def test_fstour_matches_wasmtime(sandbox: Path, tmp_path: Path) -> None:
    wasm = guest("fstour")
    expected = stock(wasm, sandbox, tmp_path, ["fstour.wasm", "/sandbox"])
    assert expected.endswith(b"fstour: done\n")
    out = io.BytesIO()
    trace = tmp_path / "t.cbor"
    engine.record(
        wasm,
        trace,
        run_config(wasm, ["/sandbox"], {}, [(str(sandbox), "/sandbox", False)]),
        Streams(None, out, io.BytesIO()),
    )
    assert out.getvalue() == expected
    shutil.rmtree(sandbox)
    assert replay("fstour", trace).stdout == expected
