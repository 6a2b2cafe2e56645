"""The Python guest (componentize-py): a preopened file, the environment, arguments, clocks and
random, recorded and replayed byte-identically through the component host."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from wasm_rr import engine
from wasm_rr.trace import load
from wasm_rr.world import Streams

from ...conftest import run_config
from .test_components import component

HELLO = b"hello world\nsecond line\n"


def run(
    mode: str, guest: Path, trace: Path, args: list[str], dirs: list[tuple[str, str, bool]]
) -> tuple[engine.RunResult, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    streams = Streams(None, out, err)
    if mode == "record":
        result = engine.record(
            guest, trace, run_config(guest, args, {"GREETING": "hi"}, dirs), streams
        )
    else:
        result = engine.replay(guest, trace, streams)
    return result, out.getvalue(), err.getvalue()


def test_pyhello_records_and_replays(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_bytes(HELLO)
    guest = component("pyhello")
    trace = tmp_path / "py.cbor"
    dirs = [(str(data), "/data", True)]
    rec, out, err = run("record", guest, trace, ["/data/hello.txt", "x"], dirs)
    assert rec.outcome.exit_code == 0, err
    text = out.decode()
    assert "pyhello: args ['/data/hello.txt', 'x']" in text
    assert "pyhello: GREETING=hi" in text
    assert "pyhello: /data/hello.txt: 24 bytes, 2 lines, first line 'hello world'" in text
    assert "pyhello: /data holds ['hello.txt']" in text
    assert "pyhello: random " in text and "pyhello: UTC " in text
    kinds = {e.name for e in load(trace).events()}
    assert {"cli.args", "cli.environ", "clock.now", "random.bytes", "fs.open", "io.write"} <= kinds

    # Replay reads nothing: the file and its directory are gone.
    shutil.rmtree(data)
    rep, out2, err2 = run("replay", guest, trace, [], [])
    assert (out2, err2) == (out, err)
    assert rep.outcome == rec.outcome and rep.events == rec.events


@pytest.mark.parametrize("path", ["/data/nothere.txt"])
def test_pyhello_missing_file_exits_1(tmp_path: Path, path: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    trace = tmp_path / "py.cbor"
    rec, out, err = run("record", component("pyhello"), trace, [path], [(str(data), "/data", True)])
    assert rec.outcome.exit_code == 1
    assert err == b"pyhello: cannot read /data/nothere.txt: No such file or directory\n"
    rep, out2, err2 = run("replay", component("pyhello"), trace, [], [])
    assert (out2, err2, rep.outcome) == (out, err, rec.outcome)
