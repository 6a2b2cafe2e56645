"""Files and stdin: recorded reads, dry replay that touches no file, stdin of every kind."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wasm_rr import engine
from wasm_rr.trace import load

from .conftest import ROOT, cli, guest, record, replay, run_config
from .test_cli import CAT

BOOK = b"It was the best of times,\nit was the worst of times;\n" * 2000


@pytest.fixture
def data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    (d / "book.txt").write_bytes(BOOK)
    return d


def wordcount(trace: Path, data: Path) -> bytes:
    rec = cli(
        "record",
        "guests/build/wordcount.wasm",
        "-t",
        trace,
        "--dir",
        f"{data}::/data",
        "--",
        "/data/book.txt",
    )
    assert rec.status == 0, rec.stderr
    assert rec.stdout == "lines: 4000\nwords: 24000\nchars: 106000\n"
    return rec.stdout.encode()


def test_replay_after_the_files_are_deleted(data: Path, tmp_path: Path) -> None:
    out = wordcount(tmp_path / "wc.cbor", data)
    shutil.rmtree(data)
    rep = cli("replay", "guests/build/wordcount.wasm", tmp_path / "wc.cbor")
    assert (rep.status, rep.stdout.encode()) == (0, out)


def test_replay_after_the_files_changed(data: Path, tmp_path: Path) -> None:
    out = wordcount(tmp_path / "wc.cbor", data)
    (data / "book.txt").write_bytes(b"short\n")
    rep = cli("replay", "guests/build/wordcount.wasm", tmp_path / "wc.cbor")
    assert (rep.status, rep.stdout.encode()) == (0, out)


def test_replay_touches_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fstour creates, writes, renames, links and deletes; replaying it performs none of it,
    reads nothing, and the host directory is byte-for-byte and time-for-time unchanged."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "keep.txt").write_text("unchanged\n")
    trace = tmp_path / "t.cbor"
    path = guest("fstour")
    rec = engine.record(
        path, trace, run_config(path, ["/s"], {}, [(str(scratch), "/s", False)]), _streams()
    )
    assert rec.outcome.exit_code == 0
    before = _snapshot(scratch)

    real_run = engine._run

    def guarded_run(*args: object, **kw: object) -> object:
        forbidden = [
            "open",
            "stat",
            "lstat",
            "mkdir",
            "rmdir",
            "unlink",
            "rename",
            "link",
            "symlink",
            "readlink",
            "utime",
            "scandir",
            "listdir",
            "pread",
            "pwrite",
            "read",
            "write",
            "ftruncate",
            "fsync",
            "fdatasync",
            "posix_fadvise",
        ]
        with pytest.MonkeyPatch.context() as mp:
            for name in forbidden:
                mp.setattr(os, name, _forbid(name))
            return real_run(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_run", guarded_run)
    rep = replay("fstour", trace)
    assert rep.result.outcome.exit_code == 0
    assert b"fstour: done" in rep.stdout
    assert _snapshot(scratch) == before


def _forbid(name: str) -> object:
    def forbidden(*_: object, **__: object) -> None:
        raise AssertionError(f"replay called os.{name}")

    return forbidden


def _snapshot(root: Path) -> list[tuple[str, bytes, int, int]]:
    out = []
    for p in sorted(root.rglob("*")):
        content = p.read_bytes() if p.is_file() else b""  # read first: reading may set atime
        st = p.lstat()
        out.append((str(p), content, st.st_mtime_ns, st.st_atime_ns))
    return out


def _streams() -> engine.Streams:
    import io

    return engine.Streams(None, io.BytesIO(), io.BytesIO())


def test_same_bytes_read_twice_are_stored_once(data: Path, tmp_path: Path) -> None:
    script = tmp_path / "twice.tape"
    script.write_text(
        'let a = fs.read("/data/book.txt")\nlet b = fs.read("/data/book.txt")\n'
        "print(len(a) + len(b))\n"
    )
    trace = tmp_path / "t.cbor"
    rec = cli("run", script, "-t", trace, "--dir", f"{data}::/data")
    assert (rec.status, rec.stdout) == (0, f"{2 * len(BOOK)}\n")
    reads = [e for e in load(trace).events() if e.name == "fs.read"]
    assert b"".join(r.fields[1] for r in reads) == BOOK * 2  # both reads, in full
    assert trace.stat().st_size < len(BOOK) * 1.01 + 4096  # but the bytes are stored once
    assert cli("replay", script, trace).stdout == rec.stdout


def _write_cat(tmp_path: Path) -> Path:
    import wasmtime

    cat = tmp_path / "cat.wasm"
    cat.write_bytes(bytes(wasmtime.wat2wasm(CAT)))
    return cat


def test_stdin_from_a_file(tmp_path: Path) -> None:
    cat = _write_cat(tmp_path)
    src = tmp_path / "in.txt"
    src.write_bytes(b"from a file\n")
    with src.open("rb") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "wasm_rr", "record", str(cat), "-t", str(tmp_path / "c.cbor")],
            stdin=f,
            capture_output=True,
            cwd=ROOT,
            check=False,
        )
    assert proc.stdout == b"from a file\n"
    src.unlink()
    rep = cli("replay", cat, tmp_path / "c.cbor", stdin=b"something else\n")
    assert rep.stdout == "from a file\n"


def test_stdin_from_a_terminal(tmp_path: Path) -> None:
    cat = _write_cat(tmp_path)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasm_rr", "record", str(cat), "-t", str(tmp_path / "c.cbor")],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    os.close(slave)
    os.write(master, b"typed line\n\x04")
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert out == b"typed line\n"
    events = list(load(tmp_path / "c.cbor").events())
    assert [e.fields for e in events if e.name == "io.read"][-1] == (0, 4, b"")
    rep = cli("replay", cat, tmp_path / "c.cbor")
    assert rep.stdout == "typed line\n"


def test_no_stdin_at_all(tmp_path: Path) -> None:
    cat = _write_cat(tmp_path)
    rec = record(cat, tmp_path / "c.cbor", stdin=None)
    assert rec.result.outcome.exit_code == 0 and rec.stdout == b""
    assert replay(cat, tmp_path / "c.cbor").stdout == b""
