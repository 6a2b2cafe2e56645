"""Compiled tape programs under wasm-rr's own host: record, then replay identically."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_rr.lang import compile_file

from ..conftest import record, replay
from .helpers import EXAMPLES


@pytest.mark.parametrize("name", ["hello", "counter", "dice", "entropy", "flaky", "stats"])
def test_record_then_replay(name: str, tmp_path: Path) -> None:
    wasm = tmp_path / f"{name}.wasm"
    wasm.write_bytes(compile_file(EXAMPLES / f"{name}.tape").wasm)
    trace = tmp_path / "run.cbor"
    rec = record(wasm, trace, env={"NAME": "ann"})
    assert rec.stderr == b""
    rep = replay(wasm, trace)
    assert rep.stdout == rec.stdout and rep.stderr == rec.stderr
    assert rep.result.outcome == rec.result.outcome
    if name == "hello":
        assert rec.stdout == b"hello, ann\n"
    if name == "counter":
        assert rec.stdout == b"".join(b"count: %d\n" % i for i in range(1, 6))


def test_runtime_error_under_the_host(tmp_path: Path) -> None:
    src = tmp_path / "oops.tape"
    src.write_text("let xs = [1]\nprint(xs[3])\n")
    wasm = tmp_path / "oops.wasm"
    wasm.write_bytes(compile_file(src).wasm)
    rec = record(wasm, tmp_path / "run.cbor")
    assert rec.stderr == b"tape: runtime error: index out of range\n"
    rep = replay(wasm, tmp_path / "run.cbor")
    assert rep.result.outcome == rec.result.outcome
