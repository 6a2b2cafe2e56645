"""Faults around the trace file: bugs, a full disk, FIFOs and other non-files, two recordings
of one path, and wasm-rr's error line after a guest's unfinished stderr line."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

from wasm_rr import cli as cli_module
from wasm_rr.errors import TraceBusyError, TraceWriteError
from wasm_rr.trace import TraceWriter, load

from .conftest import ROOT, cli
from .test_sigkill import TICKER
from .trace.test_format import HEADER

GREET = "guests/build/greet.wasm"

# Writes "partial" to stderr (no newline), reads the monotonic clock, writes "done\n" to stdout.
PARTIAL = """
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $now (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\07\\00\\00\\00")
  (data (i32.const 8) "\\18\\00\\00\\00\\05\\00\\00\\00")
  (data (i32.const 16) "partial")
  (data (i32.const 24) "done\\n")
  (func (export "_start")
    (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 40)))
    (drop (call $now (i32.const 1) (i64.const 0) (i32.const 48)))
    (drop (call $write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 40)))))
"""


def run_main(*args: str | Path) -> tuple[int, bytes, bytes]:
    """``wasm_rr.cli.main`` in this process, with captured streams."""
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    wrappers = [io.TextIOWrapper(b, write_through=True) for b in (out, err, io.BytesIO())]
    sys.stdout, sys.stderr, sys.stdin = wrappers
    try:
        cli_module.main([str(a) for a in args])
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    wrappers[0].flush()
    wrappers[1].flush()
    result = status, out.getvalue(), err.getvalue()
    for w in wrappers:
        w.detach()
    return result


def test_an_unexpected_exception_is_one_line_status_70_after_the_trace_is_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasm_rr.world import stdio

    real = stdio.LiveStdio.write
    calls = []

    def write(self: stdio.LiveStdio, fd: int, data: bytes) -> int:
        calls.append(fd)
        if len(calls) == 2:
            raise RuntimeError("boom\nsecond line")
        return real(self, fd, data)

    monkeypatch.setattr(stdio.LiveStdio, "write", write)
    guest = tmp_path / "p.wasm"
    guest.write_bytes(bytes(wasmtime.wat2wasm(PARTIAL)))
    t = tmp_path / "t.cbor"
    status, _out, err = run_main("record", guest, "-t", t)
    assert status == 70
    assert err == (
        b"partial\nwasm-rr: internal error: RuntimeError: boom second line; please report it "
        b"to the wasm-rr maintainers with the command line and, if there is one, the trace\n"
    )
    trace = load(t)  # closed: it reads as cut off, keeping what was recorded
    assert trace.cut_off and [e.name for e in trace.events()] == ["io.write", "clock.now"]


def test_the_error_line_starts_a_line_of_its_own(tmp_path: Path) -> None:
    guest = tmp_path / "p.wasm"
    guest.write_bytes(bytes(wasmtime.wat2wasm(PARTIAL)))
    t = tmp_path / "t.cbor"
    status, out, err = run_main("record", guest, "-t", t)
    assert (status, out, err) == (0, b"done\n", b"partial")
    data = t.read_bytes()
    t.write_bytes(data[: data.rindex(b"done\n") - 6])  # cut before the stdout write
    status, out, err = run_main("replay", guest, t)
    assert status == 125
    assert err.startswith(b"partial\nwasm-rr: the recording was cut off after event ")
    assert err.count(b"\n") == 2


@pytest.mark.parametrize("command", ["replay", "inspect", "record-trace", "record-guest"])
def test_fifos_are_refused_not_waited_on(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    trace = tmp_path / "g.cbor"
    assert cli("record", GREET, "-t", trace).status == 0
    args: tuple[str | Path, ...] = {
        "replay": ("replay", GREET, fifo),
        "inspect": ("inspect", fifo),
        "record-trace": ("record", GREET, "-t", fifo),
        "record-guest": ("record", fifo, "-t", tmp_path / "x.cbor"),
    }[command]
    run = cli(*args)  # conftest's timeout turns a hang into a failure
    assert run.status == 125
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a FIFO" in lines[0], run.stderr
    also = cli("replay", fifo, trace)
    assert also.status == 125 and "guest" in also.stderr and "is a FIFO" in also.stderr


def test_a_trace_path_that_is_not_a_regular_writable_file(tmp_path: Path) -> None:
    for path in ("/proc/version", "/dev/null", str(tmp_path)):
        run = cli("record", GREET, "-t", path)
        assert run.status == 125, (path, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("wasm-rr: cannot write trace "), run.stderr


def test_a_second_writer_of_the_same_trace_is_refused(tmp_path: Path) -> None:
    t = tmp_path / "t.cbor"
    first = TraceWriter(t, HEADER)
    first.event_with_fuel(1, 5, 1, 10)
    with pytest.raises(TraceBusyError, match="being written by another wasm-rr recording"):
        TraceWriter(t, HEADER)
    run = cli("record", GREET, "-t", t)
    assert run.status == 125 and "being written by another" in run.stderr
    first.close(None)
    assert [e.fuel for e in load(t).events()] == [5]  # the first recording's events survive
    TraceWriter(t, HEADER).close(None)  # free again once the first one closed


def test_disk_full_ends_the_recording_in_one_line_keeping_every_event(tmp_path: Path) -> None:
    """RLIMIT_FSIZE stands in for a full disk (EFBIG instead of ENOSPC; Python ignores
    SIGXFSZ): the recording stops with one line and status 125, and the trace replays to the
    cut."""
    guest = tmp_path / "ticker.wasm"
    guest.write_bytes(bytes(wasmtime.wat2wasm(TICKER)))
    trace = tmp_path / "t.cbor"
    limit = 3 << 20

    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "WASM_RR_NO_CACHE": "1"},
        preexec_fn=limited,
        timeout=120,
    )
    assert proc.returncode == 125, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"wasm-rr: cannot grow trace {trace}"), lines
    assert "File too large" in lines[0] and "keeps the" in lines[0]
    t = load(trace)
    assert t.cut_off
    n = sum(1 for _ in t.events())
    assert n > 100_000
    rep = cli("replay", guest, trace)
    assert rep.status == 125 and f"cut off after event {n} " in rep.stderr
    assert proc.stdout.startswith(rep.stdout.encode())


def test_disk_full_reserving_space_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from wasm_rr.trace import writer

    t = tmp_path / "t.cbor"
    w = TraceWriter(t, HEADER)
    for _ in range(100):
        w.event_with_fuel(1, 5, 1, 10)

    def full(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(writer.os, "posix_fallocate", full)
    with pytest.raises(TraceWriteError, match=r"No space left on device.*keeps the 100 events"):
        w.write_raw(b"\x16" + bytes(2 << 20))
    w.close(None)
    assert sum(1 for _ in load(t).events()) == 100


def test_short_pwritev_is_continued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from wasm_rr.trace import writer

    real = os.pwritev

    def short(fd: int, buffers: list[memoryview], offset: int) -> int:
        first = bytes(buffers[0])[:1000]
        return real(fd, [first], offset)

    monkeypatch.setattr(writer.os, "pwritev", short)
    t = tmp_path / "t.cbor"
    w = TraceWriter(t, HEADER)
    data = os.urandom(100_000)
    w.event_with_fuel(w.code(_random()), 1, w.payload(data))
    w.close(None)
    assert next(iter(load(t).events())).fields == (data,)


def _random() -> object:
    from wasm_rr.world import random

    return random.SECURE


def _big_module(size: int) -> bytes:
    """A core module that does nothing, made ``size`` bytes larger by a custom section."""
    payload = b"\x01x" + bytes(size)  # the section's name ("x", length 1) and its bytes
    n, leb = len(payload), bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        leb.append(byte | (0x80 if n else 0))
        if not n:
            break
    return b"\0asm\x01\0\0\0" + b"\x00" + bytes(leb) + payload


@pytest.mark.parametrize(
    ("limit", "embedded"),
    [(64 << 10, 0), (2 << 20, 3 << 20)],
    ids=["no-room-for-the-first-MiB", "no-room-for-an-embedded-guest"],
)
def test_disk_full_before_the_header_leaves_no_file(
    tmp_path: Path, limit: int, embedded: int
) -> None:
    """For real (RLIMIT_FSIZE stands in for a full disk): the file cannot get its first
    megabyte, or cannot grow to hold a header carrying a 3 MiB guest. One line, status 125,
    and no file (before, a file of zeros that replay calls "not a wasm-rr trace")."""
    if embedded:
        guest = tmp_path / "big.wasm"
        guest.write_bytes(_big_module(embedded))
        extra = ["--embed-guest"]
    else:
        guest, extra = ROOT / GREET, []
    trace = tmp_path / "out" / "t.cbor"
    trace.parent.mkdir()

    def limited() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.run(
        [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace), *extra],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "WASM_RR_NO_CACHE": "1"},
        preexec_fn=limited,
        timeout=120,
    )
    assert proc.returncode == 125, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert lines == [
        f"wasm-rr: cannot write trace {trace}: File too large; nothing was recorded and no file "
        "is left; free some space, or record to a file on a writable disk"
    ]
    assert list(trace.parent.iterdir()) == []


def test_a_bad_argument_leaves_no_file(tmp_path: Path) -> None:
    """Refused before the trace file exists (before, an internal error left a MiB of zeros)."""
    trace = tmp_path / "t.cbor"
    odd = tmp_path / "d\udcff"  # a directory named with the byte ff
    odd.mkdir()
    for option in (["--env", "N=\udcff"], ["--dir", str(odd)]):
        run = cli("record", "guests/build/greet.component.wasm", "-t", trace, *option)
        assert run.status == 125 and "is not UTF-8" in run.stderr, run.stderr
        assert list(tmp_path.iterdir()) == [odd]
