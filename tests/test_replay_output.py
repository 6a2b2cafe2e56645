"""What replay writes: the guest's output and nothing else (no compile cache, no bytecode, no
file in the working directory); and an output that cannot be written (a full disk, a closed
pipe), which leaves the guest's answers as recorded and is reported in one line, status 74."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import wasmtime

import wasm_rr
from wasm_rr.errors import EXIT_OUTPUT_LOST, OutputLostError

from .conftest import ROOT, guest

# Writes "hello\n" to stdout, then "ok\n" to stderr if that write succeeded, else "err\n", and
# exits with the write's errno (0, or 51 for ENOSPC); with TRAP, it traps at the end.
WRITER = """
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\40\\00\\00\\00\\06\\00\\00\\00")
  (data (i32.const 8) "\\50\\00\\00\\00\\03\\00\\00\\00")
  (data (i32.const 16) "\\60\\00\\00\\00\\04\\00\\00\\00")
  (data (i32.const 64) "hello\\n")
  (data (i32.const 80) "ok\\n")
  (data (i32.const 96) "err\\n")
  (func (export "_start") (local $errno i32)
    (local.set $errno (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 32)))
    (drop (call $write (i32.const 2)
      (select (i32.const 8) (i32.const 16) (i32.eqz (local.get $errno)))
      (i32.const 1) (i32.const 32)))
    TRAP
    (call $exit (local.get $errno))))
"""


def _writer(tmp_path: Path, trap: bool = False) -> Path:
    path = tmp_path / ("trapper.wasm" if trap else "writer.wasm")
    wat = WRITER.replace("TRAP", "unreachable" if trap else "")
    path.write_bytes(wasmtime.wat2wasm(wat))
    return path


def _wasm_rr(
    *args: str | Path, stdout: object, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """``python -m wasm_rr`` with stdout going to ``stdout``: (status, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "wasm_rr", *map(str, args)],
        stdout=stdout,  # type: ignore[arg-type]
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    return proc.returncode, proc.stderr


def _full() -> io.BufferedWriter:
    return open("/dev/full", "wb")


def test_replay_to_a_full_disk_answers_the_guest_as_recorded(tmp_path: Path) -> None:
    guest_path, trace = _writer(tmp_path), tmp_path / "t.cbor"
    out = tmp_path / "out.txt"
    with open(out, "wb") as f:
        status, err = _wasm_rr("record", guest_path, "-t", trace, stdout=f)
    assert (status, err, out.read_bytes()) == (0, b"ok\n", b"hello\n")
    with _full() as full:
        status, err = _wasm_rr("replay", guest_path, trace, stdout=full)
    assert status == EXIT_OUTPUT_LOST == 74
    # The guest's write succeeded in the recording, so it succeeds now: "ok", exit 0.
    assert err.decode() == (
        "ok\nwasm-rr: the replay matched the recording (exit 0), but its stdout could not be "
        "written from byte 0 on (No space left on device): that output is lost; the guest was "
        "answered as in the recording\n"
    )


def test_record_to_a_full_disk_then_replay(tmp_path: Path) -> None:
    """Recording, the failed write is the world's answer: the guest gets ENOSPC and the trace
    keeps it. Replay gives it ENOSPC again, and writes nothing (there is nothing to lose)."""
    guest_path, trace = _writer(tmp_path), tmp_path / "t.cbor"
    with _full() as full:
        status, err = _wasm_rr("record", guest_path, "-t", trace, stdout=full)
    assert (status, err) == (51, b"err\n")
    with _full() as full:
        assert _wasm_rr("replay", guest_path, trace, stdout=full) == (51, b"err\n")
    rep = subprocess.run(
        [sys.executable, "-m", "wasm_rr", "replay", str(guest_path), str(trace)],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (rep.returncode, rep.stdout, rep.stderr) == (51, b"", b"err\n")


def test_a_trap_is_reported_then_the_lost_output(tmp_path: Path) -> None:
    guest_path, trace = _writer(tmp_path, trap=True), tmp_path / "t.cbor"
    with open(os.devnull, "wb") as null:
        status, _ = _wasm_rr("record", guest_path, "-t", trace, stdout=null)
    assert status == 134
    with _full() as full:
        status, err = _wasm_rr("replay", guest_path, trace, stdout=full)
    assert status == 74
    lines = err.decode().splitlines()
    assert lines[0] == "ok"
    assert lines[1].startswith("wasm-rr: guest trapped: ")
    assert lines[-1].startswith("wasm-rr: the replay matched the recording (trap ")
    assert "stdout could not be written from byte 0 on (No space left on device)" in lines[-1]


def test_replay_into_a_closed_pipe(tmp_path: Path) -> None:
    guest_path, trace = _writer(tmp_path), tmp_path / "t.cbor"
    with open(os.devnull, "wb") as null:
        assert _wasm_rr("record", guest_path, "-t", trace, stdout=null) == (0, b"ok\n")
    read, write = os.pipe()
    os.close(read)  # nobody reads: every write gets EPIPE
    try:
        status, err = _wasm_rr("replay", guest_path, trace, stdout=write)
    finally:
        os.close(write)
    assert status == 74
    assert (
        err.decode()
        .splitlines()[-1]
        .endswith(
            "its stdout could not be written from byte 0 on (Broken pipe): that output is lost; "
            "the guest was answered as in the recording"
        )
    )


@pytest.mark.parametrize("closed", [(1,), (1, 2)], ids=["stdout", "stdout-and-stderr"])
def test_a_closed_stdout(tmp_path: Path, closed: tuple[int, ...]) -> None:
    """``wasm-rr ... >&-``: Python has no sys.stdout at all. Recording, the guest's write fails
    with EBADF (errno 8); replaying, the output is lost (status 74); never a traceback."""
    guest_path, trace, ok = _writer(tmp_path), tmp_path / "t.cbor", tmp_path / "ok.cbor"

    def close_them() -> None:  # in the child, as a shell's >&- does
        for fd in closed:
            os.close(fd)

    def run(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "wasm_rr", *map(str, args)],
            capture_output=True,
            cwd=ROOT,
            preexec_fn=close_them,
            timeout=120,
        )

    rec = run("record", guest_path, "-t", trace)
    assert rec.returncode == 8
    assert rec.stderr == (b"" if 2 in closed else b"err\n")
    with open(os.devnull, "wb") as null:
        assert _wasm_rr("record", guest_path, "-t", ok, stdout=null) == (0, b"ok\n")
    rep = run("replay", guest_path, ok)
    assert rep.returncode == 74
    if 2 in closed:
        assert rep.stderr == b""
    else:
        assert rep.stderr.decode().splitlines() == [
            "ok",
            "wasm-rr: the replay matched the recording (exit 0), but its stdout could not be "
            "written from byte 0 on (Bad file descriptor): that output is lost; the guest was "
            "answered as in the recording",
        ]
    assert run("replay", guest_path, trace).returncode == 8  # as recorded: nothing to lose


def test_the_library_raises_output_lost_with_the_result(tmp_path: Path) -> None:
    class Failing(io.BytesIO):
        def write(self, data: object) -> int:
            if self.tell() >= 3:
                raise OSError(28, "No space left on device")
            return super().write(data[:3])  # type: ignore[index]

    prog = wasm_rr.Program(_writer(tmp_path))
    rec = prog.record()
    assert rec.trace is not None and rec.stdout == b"hello\n"
    sink = Failing()
    with pytest.raises(OutputLostError, match="from byte 0 on") as caught:
        prog.replay(rec.trace, stdout=sink)
    assert caught.value.exit_status == 74
    assert caught.value.result.exit_code == 0 and caught.value.result.stderr == b"ok\n"
    assert sink.getvalue() == b"hel"  # what got through before the failure


# ---- replay writes nothing -----------------------------------------------------------------------


def _files(*roots: Path) -> set[Path]:
    return {p for root in roots for p in root.rglob("*") if p.is_file()}


def test_replay_with_cold_caches_writes_no_file_anywhere(tmp_path: Path) -> None:
    """A copy of wasm-rr's sources with no bytecode at all (as after an upgrade, when every
    .pyc is out of date), an empty compile cache, an empty working directory: replay creates
    nothing in any of them. (Before, replay imported its modules and Python wrote their
    bytecode.)"""
    code = tmp_path / "code"
    shutil.copytree(ROOT / "wasm_rr", code / "wasm_rr", ignore=shutil.ignore_patterns("*.pyc"))
    cache, cwd = tmp_path / "cache", tmp_path / "cwd"  # cwd: also keeps ROOT off sys.path
    cache.mkdir()
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {"PYTHONPATH": str(code), "WASM_RR_CACHE": str(cache)}
    trace = tmp_path / "g.cbor"

    def wasm_rr_cmd(*args: str | Path) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "wasm_rr", *map(str, args)],
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=120,
        )

    # The package itself and the `-m` entry (imported before any command is read) have bytecode.
    subprocess.run([sys.executable, "-c", "import wasm_rr.__main__"], env=env, cwd=cwd, check=True)
    before = _files(code)
    assert {p.name.split(".")[0] for p in before if p.suffix == ".pyc"} == {"__init__", "__main__"}
    rec = wasm_rr_cmd("record", guest("greet"), "-t", trace, "--no-cache")
    assert rec.returncode == 0, rec.stderr
    assert _files(cache) == set(), "record --no-cache writes no compile cache"
    shutil.rmtree(code / "wasm_rr")  # the recording's bytecode goes too: every module cold
    shutil.copytree(ROOT / "wasm_rr", code / "wasm_rr", ignore=shutil.ignore_patterns("*.pyc"))
    subprocess.run([sys.executable, "-c", "import wasm_rr.__main__"], env=env, cwd=cwd, check=True)
    before = _files(code, cache, cwd)

    for command in (("replay", guest("greet"), trace), ("inspect", trace), ("diff", trace, trace)):
        run = wasm_rr_cmd(*command)
        assert run.returncode == 0, (command, run.stderr)
        assert _files(code, cache, cwd) == before, command
    assert rec.stdout == b"hello, world\n"
    where = subprocess.run(
        [sys.executable, "-c", "import wasm_rr; print(wasm_rr.__file__)"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=True,
    )
    assert where.stdout.strip() == str(code / "wasm_rr" / "__init__.py")


def test_replay_leaves_a_broken_cache_entry_alone(tmp_path: Path) -> None:
    """record writes the compile cache; replay only reads it: even an artifact it cannot load
    stays (a recording replaces it)."""
    cache, trace = tmp_path / "cache", tmp_path / "g.cbor"
    env = {"WASM_RR_CACHE": str(cache)}
    with open(os.devnull, "wb") as null:
        assert _wasm_rr("record", guest("greet"), "-t", trace, stdout=null, env=env)[0] == 0
    (artifact,) = cache.rglob("*.bin")
    artifact.write_bytes(b"not an artifact")
    with open(os.devnull, "wb") as null:
        assert _wasm_rr("replay", guest("greet"), trace, stdout=null, env=env) == (0, b"")
        assert _wasm_rr("replay", "--no-cache", guest("greet"), trace, stdout=null, env=env) == (
            0,
            b"",
        )
    assert artifact.read_bytes() == b"not an artifact"
    assert list(cache.rglob("*")) == [artifact.parent, artifact]
