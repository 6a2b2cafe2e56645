"""Ctrl-C at a terminal ends every command within seconds: exit status 130, one ``wasm-rr:``
line, no traceback, and the trace closed (it replays to where the run was stopped).

Each command runs under a pseudo-terminal (stdout and stderr are a terminal: the progress bars
of ``hunt`` and ``fuzz`` are on) and gets the terminal's interrupt character, ^C, which sends
SIGINT to its whole process group (worker processes too), at moments spread over its runs:
from the moment its first run starts (its first thread appears: the watchdog's timer, or the
pool's manager) to well into them. Only the outcome is checked, with a generous bound on how
long the command takes to end. (A ^C while Python itself starts is Python's; one while
wasm-rr's modules are imported is checked in ``test_interrupt.py``.)
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

import wasm_rr

from .conftest import ROOT, cli, guest
from .test_interrupt import SPIN
from .test_minimize import LOOPER

DELAYS = (0.0, 0.2, 0.6, 1.2)
"""Seconds from the start of the command's first run to ^C."""

STARTS_WITHIN = 60.0
"""Seconds a command may take to start its first run."""

ENDS_WITHIN = 10.0
"""Seconds a command may take to end after ^C (it should take well under one)."""

COUNT = r"""(module
 (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
 (memory (export "memory") 1) (data (i32.const 16) "counting\n")
 (func (export "_start") (local $i i64)
   (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 9))
   (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
   (loop $l
     (local.set $i (i64.add (local.get $i) (i64.const 1)))
     (br_if $l (i64.lt_u (local.get $i) (i64.const 2000000000))))))"""
"""Counts to 2e9 (seconds of pure wasm, whatever the machine's load): a long replay."""

SPIN_TAPE = 'print("spinning")\nlet i = 0\nwhile true {\n    i = i + 1\n}\n'


@dataclass
class Ended:
    status: int | None
    """The exit status; None when it had not ended :data:`ENDS_WITHIN` seconds after ^C."""
    output: str
    """Everything it wrote to the terminal (stdout and stderr), line ends as ``\\n``."""


def at_terminal(args: list[str | Path], delay: float) -> Ended:
    """Run ``wasm-rr ARGS`` under a pseudo-terminal and type ^C ``delay`` seconds after its
    first run started."""
    pid, fd = pty.fork()
    if pid == 0:  # the command, in a session of its own whose terminal is the pty
        try:
            os.chdir(ROOT)
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a shell starts a command
            argv = [sys.executable, "-m", "wasm_rr", *map(str, args)]
            os.execv(sys.executable, argv)
        finally:
            os._exit(127)
    output = bytearray()
    started: float | None = None
    typed: float | None = None
    spawned = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if started is None and (_threads(pid) > 1 or now - spawned > STARTS_WITHIN):
                started = now
            if typed is None and started is not None and now - started >= delay:
                os.write(fd, b"\x03")  # ^C: the terminal sends SIGINT to the command's group
                typed = now
            if typed is not None and now - typed > ENDS_WITHIN:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return Ended(None, output.decode(errors="replace"))
            ready, _, _ = select.select([fd], [], [], 0.02)
            if ready:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the command ended, the terminal closed
                    data = b""
                if not data:
                    break
                output += data
    finally:
        os.close(fd)
    _, wait_status = os.waitpid(pid, 0)
    text = output.decode(errors="replace").replace("\r\n", "\n")
    return Ended(os.waitstatus_to_exitcode(wait_status), text)


def _threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


def interrupted(ended: Ended) -> None:
    """It ended at once, with 130, one line of wasm-rr's, and nothing else of Python's."""
    assert ended.status is not None, f"still running {ENDS_WITHIN} s after ^C:\n{ended.output}"
    assert ended.status == 130, ended.output
    assert ended.output.count("wasm-rr: ") == 1, ended.output
    assert "wasm-rr: interrupted" in ended.output, ended.output
    assert "Traceback" not in ended.output, ended.output
    assert "Exception ignored" not in ended.output, ended.output


def replays_to_its_cut(trace: Path, *guest_path: Path) -> None:
    """A trace the interrupted command left replays up to where it was stopped and says so."""
    if not trace.exists():
        return  # stopped before the trace was opened
    r = cli("replay", *guest_path, trace)
    assert r.status in (124, 130, 125), r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.startswith("wasm-rr: the recording was")
    if r.status == 125:  # stopped as the trace was opened: no event, and nothing to say
        assert "cut off after event 0 " in r.stderr
    else:
        assert "was interrupted here (" in r.stderr


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Guests and traces the commands are given."""
    d = tmp_path_factory.mktemp("ctrl-c")
    (d / "spin.wasm").write_bytes(wasmtime.wat2wasm(SPIN))
    (d / "spin.tape").write_text(SPIN_TAPE)
    (d / "count.wasm").write_bytes(wasmtime.wat2wasm(COUNT))
    (d / "looper.wasm").write_bytes(wasmtime.wat2wasm(LOOPER))
    # A long replay: seconds of counting, recorded whole.
    assert cli("record", d / "count.wasm", "-t", d / "count.cbor").status == 0
    # A recording stopped in a spin, to resume: it spins on, live, for ever.
    assert cli("record", d / "spin.wasm", "-t", d / "stopped.cbor", "--timeout", "0.3").status
    # A crash whose first candidate spins (minimize tries the empty stdin first).
    rec = wasm_rr.record(d / "looper.wasm", stdin=b"abc!def", trace=d / "loop.cbor")
    assert rec.trap is not None
    return d


@pytest.mark.parametrize("delay", DELAYS)
def test_record(work: Path, tmp_path: Path, delay: float) -> None:
    trace = tmp_path / "t.cbor"
    interrupted(at_terminal(["record", work / "spin.wasm", "-t", trace], delay))
    replays_to_its_cut(trace, work / "spin.wasm")


@pytest.mark.parametrize("delay", DELAYS)
def test_run_a_script(work: Path, tmp_path: Path, delay: float) -> None:
    trace = tmp_path / "t.cbor"
    interrupted(at_terminal(["run", work / "spin.tape", "-t", trace], delay))
    replays_to_its_cut(trace, work / "spin.tape")


@pytest.mark.parametrize("delay", DELAYS[:3])
def test_replay(work: Path, delay: float) -> None:
    ended = at_terminal(["replay", work / "count.wasm", work / "count.cbor"], delay)
    interrupted(ended)


@pytest.mark.parametrize("delay", DELAYS)
def test_resume(work: Path, tmp_path: Path, delay: float) -> None:
    trace = tmp_path / "t.cbor"
    trace.write_bytes((work / "stopped.cbor").read_bytes())
    interrupted(at_terminal(["resume", work / "spin.wasm", trace], delay))
    replays_to_its_cut(trace, work / "spin.wasm")


@pytest.mark.parametrize(("delay", "jobs"), [(d, 1) for d in DELAYS] + [(0.4, 2), (1.8, 2)])
def test_hunt_keeps_what_it_found(tmp_path: Path, delay: float, jobs: int) -> None:
    out = tmp_path / "fails"
    args = ["hunt", guest("flaky"), "-o", out, "--all", "--runs", "1000000", "--jobs", str(jobs)]
    ended = at_terminal(args, delay)
    interrupted(ended)
    # What it found before ^C is written and listed, and replays.
    traces = sorted(out.glob("fail-*.cbor"))
    if "distinct failure" in ended.output:
        assert traces and (out / "report.txt").exists(), ended.output
    else:
        assert "wasm-rr: interrupted after " in ended.output, ended.output
        assert "no failure found" in ended.output, ended.output
    for trace in traces:
        assert trace.name in ended.output, ended.output
        r = cli("replay", trace)
        assert r.status == 1 and r.stdout.startswith("FAIL: "), r.stderr


@pytest.mark.parametrize("delay", DELAYS[:3])
def test_fuzz(tmp_path: Path, delay: float) -> None:
    args = ["fuzz", guest("parser"), "-o", tmp_path / "out", "--time", "60"]
    interrupted(at_terminal(args, delay))


@pytest.mark.parametrize("delay", DELAYS[:3])
def test_minimize(work: Path, tmp_path: Path, delay: float) -> None:
    args = ["minimize", work / "loop.cbor", work / "looper.wasm", "-o", tmp_path / "min.cbor"]
    interrupted(at_terminal([*args, "--timeout", "60"], delay))
