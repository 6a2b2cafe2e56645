"""Arguments, environment variables and directory paths that are not UTF-8.

On preview1 they are bytes: a guest sees exactly the bytes it was given, when recorded and when
replayed. The trace stores such a value as a CBOR byte string (and every UTF-8 value as text, as
before). A WASI 0.2 component receives strings: it is refused in one line, before anything is
written. wasmtime's own WASI refuses such bytes outright (see the first test), so the reference
is the bytes given."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import blake3
import cbor2
import pytest
import wasmtime

import wasm_rr
from wasm_rr.config import DirSpec, RunConfig, from_bytes
from wasm_rr.errors import CorruptTraceError, UsageError
from wasm_rr.trace import load
from wasm_rr.trace.schema import Header

from .conftest import ROOT, guest

# Prints its arguments (NUL-terminated, as args_get gives them), "|", its environment, then
# "|" and the name of each preopened directory.
SHOW = """
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name"
    (func $dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "|")
  (func $out (param $p i32) (param $n i32)
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "_start") (local $fd i32)
    (drop (call $args_sizes (i32.const 16) (i32.const 20)))
    (drop (call $args_get (i32.const 1024) (i32.const 4096)))
    (call $out (i32.const 4096) (i32.load (i32.const 20)))
    (call $out (i32.const 100) (i32.const 1))
    (drop (call $env_sizes (i32.const 16) (i32.const 20)))
    (drop (call $env_get (i32.const 1024) (i32.const 4096)))
    (call $out (i32.const 4096) (i32.load (i32.const 20)))
    (local.set $fd (i32.const 3))
    (block $done
      (loop $next
        (br_if $done (call $prestat (local.get $fd) (i32.const 24)))
        (call $out (i32.const 100) (i32.const 1))
        (drop (call $dir_name (local.get $fd) (i32.const 4096) (i32.load (i32.const 28))))
        (call $out (i32.const 4096) (i32.load (i32.const 28)))
        (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
        (br $next)))))
"""

HOST_DIR = b"d\xff"
"""A host directory whose name is not UTF-8."""


def wasm_rr_cli(*args: str | bytes | Path, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """``python -m wasm_rr`` with a command line of bytes (as a shell passes them)."""
    return subprocess.run(
        [sys.executable, "-m", "wasm_rr", *args],
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


@pytest.fixture
def show(tmp_path: Path) -> Path:
    path = tmp_path / "show.wasm"
    path.write_bytes(wasmtime.wat2wasm(SHOW))
    os.mkdir(os.path.join(os.fsencode(tmp_path), HOST_DIR))
    return path


def _lines(err: bytes) -> list[str]:
    return err.decode("utf-8", "backslashreplace").strip().splitlines()


def test_wasmtimes_own_wasi_refuses_arguments_and_values_that_are_not_utf8() -> None:
    """The reference cannot be wasmtime here: its C API refuses such bytes (wasm-rr gives
    them to the guest instead, as the OS gave them to wasm-rr)."""
    from wasmtime import _ffi as ffi

    def strings(*items: bytes) -> object:
        array = (ctypes.c_char_p * len(items))(*items)
        return ctypes.cast(array, ctypes.POINTER(ctypes.POINTER(ctypes.c_char)))

    config = wasmtime.WasiConfig()
    assert ffi.wasi_config_set_argv(config.ptr(), 2, strings(b"p", b"ok"))
    assert not ffi.wasi_config_set_argv(config.ptr(), 2, strings(b"p", b"\xff"))
    assert not ffi.wasi_config_set_env(config.ptr(), 1, strings(b"N"), strings(b"\xff"))


def test_a_module_sees_the_exact_bytes_recorded_and_replayed(tmp_path: Path, show: Path) -> None:
    trace = tmp_path / "t.cbor"
    rec = wasm_rr_cli(
        "record",
        show,
        "-t",
        trace,
        "--env",
        b"N=\xff\xfe ok",
        "--env",
        b"K\xff=v",
        "--dir",
        HOST_DIR + b"::/g\xfe",
        "--ro-dir",
        HOST_DIR,
        "--",
        b"\xff",
        "caf\u00e9".encode(),
        b"a\xc3(b",
        cwd=tmp_path,
    )
    assert rec.returncode == 0, rec.stderr
    assert rec.stderr == b""
    expected = b"show.wasm\0\xff\0caf\xc3\xa9\0a\xc3(b\0|N=\xff\xfe ok\0K\xff=v\0|/g\xfe|d\xff"
    assert rec.stdout == expected
    os.rmdir(os.path.join(os.fsencode(tmp_path), HOST_DIR))  # replay needs no directory
    rep = wasm_rr_cli("replay", show, trace, cwd=tmp_path)
    assert (rep.returncode, rep.stdout, rep.stderr) == (0, expected, b"")

    # In the trace: bytes where a value is not UTF-8, text everywhere else.
    with open(trace, "rb") as f:
        decoder = cbor2.CBORDecoder(f)
        decoder.decode(), decoder.decode()  # magic, version
        config = decoder.decode()["config"]
    assert config["argv"] == ["show.wasm", b"\xff", "caf\u00e9", b"a\xc3(b"]
    assert config["env"] == {"N": b"\xff\xfe ok", b"K\xff": "v"}
    assert config["dirs"] == [[b"d\xff", b"/g\xfe", "rw"], [b"d\xff", b"d\xff", "ro"]]

    # The views show such a value as its bytes.
    out = wasm_rr_cli("inspect", trace, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert "argv       ['show.wasm', b'\\xff', 'café', b'a\\xc3(b']" in text
    assert "env        {'N': b'\\xff\\xfe ok', b'K\\xff': 'v'}" in text
    assert "dir        b'd\\xff' as b'/g\\xfe'\n" in text
    assert "dir        b'd\\xff' as b'd\\xff' (read-only)" in text
    js = wasm_rr_cli("inspect", "--json", trace, cwd=tmp_path)
    assert js.returncode == 0, js.stderr
    # One rendering of bytes in every view (wasm_rr/trace/view.py): {"bytes": ESCAPED}.
    header = json.loads(js.stdout.splitlines()[0])
    assert header["config"]["argv"] == [
        "show.wasm",
        {"bytes": "\\xff"},
        "caf\u00e9",
        {"bytes": "a\\xc3(b"},
    ]


def test_a_file_below_a_directory_whose_paths_are_not_utf8(tmp_path: Path) -> None:
    """The host path is opened as the bytes it is; wasi-libc finds the file below the preopen
    by its exact name."""
    data = os.path.join(os.fsencode(tmp_path), HOST_DIR)
    os.mkdir(data)
    with open(os.path.join(data, b"book.txt"), "wb") as f:
        f.write(b"one two\nthree\n")
    trace = tmp_path / "w.cbor"
    args = ("--dir", HOST_DIR + b"::/g\xfe", "--", b"/g\xfe/book.txt")
    rec = wasm_rr_cli("record", guest("wordcount"), "-t", trace, *args, cwd=tmp_path)
    assert (rec.returncode, rec.stderr) == (0, b"")
    assert rec.stdout == b"lines: 2\nwords: 3\nchars: 14\n"
    rep = wasm_rr_cli("replay", guest("wordcount"), trace, cwd=tmp_path)
    assert (rep.returncode, rep.stdout, rep.stderr) == (0, rec.stdout, b"")


@pytest.mark.parametrize(
    ("args", "what"),
    [
        (("--", b"\xff"), "argument 1 (b'\\xff') is not UTF-8"),
        (("--env", b"N=\xff"), "the value of environment variable N (b'\\xff') is not UTF-8"),
        (("--env", b"N\xff=1"), "the name of an environment variable (b'N\\xff') is not UTF-8"),
        (("--dir", HOST_DIR), "the guest name of a --dir (b'd\\xff') is not UTF-8"),
        (("--ro-dir", b"d::/\xfe"), "the guest name of a --dir (b'/\\xfe') is not UTF-8"),
    ],
)
def test_a_component_is_refused_before_anything_is_written(
    tmp_path: Path, show: Path, args: tuple[bytes | str, ...], what: str
) -> None:
    (tmp_path / "d").mkdir()
    trace = tmp_path / "t.cbor"
    component = guest("greet.component")
    for command in ("record", "run"):
        run = wasm_rr_cli(command, component, "-t", trace, *args, cwd=tmp_path)
        assert run.returncode == 125, run.stderr
        lines = _lines(run.stderr)
        assert len(lines) == 1 and lines[0].startswith(f"wasm-rr: {what}, and "), lines
        assert "WASI 0.2 component" in lines[0] and "preview1 module" in lines[0]
        assert run.stdout == b""
        assert not trace.exists()
    live = wasm_rr_cli("run", component, "--no-trace", *args, cwd=tmp_path)
    assert live.returncode == 125 and live.stdout == b""
    # The same arguments for a module: recorded.
    ok = wasm_rr_cli("record", show, "-t", trace, *args, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr


def test_a_component_may_read_a_host_directory_whose_path_is_not_utf8(tmp_path: Path) -> None:
    data = os.path.join(os.fsencode(tmp_path), HOST_DIR)
    os.mkdir(data)
    with open(os.path.join(data, b"book.txt"), "wb") as f:
        f.write(b"a b c\n")
    trace = tmp_path / "w.cbor"
    wc = guest("wordcount.component")
    rec = wasm_rr_cli(
        "record",
        wc,
        "-t",
        trace,
        "--dir",
        HOST_DIR + b"::/data",
        "--",
        "/data/book.txt",
        cwd=tmp_path,
    )
    assert (rec.returncode, rec.stdout) == (0, b"lines: 1\nwords: 3\nchars: 6\n"), rec.stderr
    rep = wasm_rr_cli("replay", wc, trace, cwd=tmp_path)
    assert (rep.returncode, rep.stdout) == (0, rec.stdout), rep.stderr


def test_the_library_takes_bytes(tmp_path: Path, show: Path) -> None:
    host = os.path.join(os.fsencode(tmp_path), HOST_DIR)
    rec = wasm_rr.record(
        show,
        [b"\xff", "x"],
        env={b"N": b"\xfe", "M": "m"},
        dirs=[host + b"::/g\xfe", DirSpec(from_bytes(host), "/h")],
    )
    assert rec.stdout == b"show.wasm\0\xff\0x\0|N=\xfe\0M=m\0|/g\xfe|/h"
    assert rec.trace is not None
    assert wasm_rr.replay(rec.trace, show).stdout == rec.stdout
    # Text as os.fsdecode and sys.argv make it is the same bytes.
    again = wasm_rr.record(show, [os.fsdecode(b"\xff"), "x"], env={"N": os.fsdecode(b"\xfe")})
    assert again.stdout == b"show.wasm\0\xff\0x\0|N=\xfe\0"
    with pytest.raises(UsageError, match=r"argument 1 \('\\ud800'\) holds a lone surrogate"):
        wasm_rr.record(show, ["\ud800"])
    with pytest.raises(UsageError, match=r"is a WASI 0\.2 component"):
        wasm_rr.record(guest("greet.component"), [b"\xff"])


def test_a_component_trace_with_bytes_is_damaged(tmp_path: Path) -> None:
    """No recording of a component holds a value that is not UTF-8: replay says the trace is
    damaged rather than giving the guest a mangled string."""
    component = guest("greet.component")
    rec = wasm_rr.record(component, ["x"])
    assert rec.trace is not None
    forged = bytearray(rec.trace.replace(b"\x61x", b"\x41\xff"))  # the text "x": bytes ff
    assert forged != rec.trace
    forged[-32:] = blake3.blake3(bytes(forged[:-34])).digest()  # and the digest re-sealed
    with pytest.raises(CorruptTraceError, match=r"argument 1 .* is not UTF-8.*damaged"):
        wasm_rr.replay(bytes(forged), component)


def test_configurations_of_text_encode_as_before() -> None:
    """Traces of UTF-8 values are byte-identical to those written before bytes were stored:
    every golden trace's header encodes back to its own bytes."""
    headers = 0
    for path in sorted((ROOT / "golden").rglob("*.cbor")):
        with open(path, "rb") as f:
            decoder = cbor2.CBORDecoder(f)
            decoder.decode(), decoder.decode()
            raw = decoder.decode()
        if not isinstance(raw, dict) or "config" not in raw:
            continue  # format 1 keeps its own header
        header = Header.from_cbor(raw)
        assert cbor2.dumps(header.to_cbor()) == cbor2.dumps(raw), path
        headers += 1
    assert headers > 20
    config = RunConfig(["p", "café"], {"N": "v"}, [DirSpec("/a", "/b")])
    assert config.to_cbor()["argv"] == ["p", "café"]
    assert RunConfig.from_cbor(config.to_cbor()) == config
    odd = RunConfig(["p", from_bytes(b"\xff")], {from_bytes(b"\xfe"): "v"})
    assert odd.to_cbor()["argv"] == ["p", b"\xff"] and odd.to_cbor()["env"] == {b"\xfe": "v"}
    assert RunConfig.from_cbor(cbor2.loads(cbor2.dumps(odd.to_cbor()))) == odd


def test_a_guest_file_name_that_is_not_utf8(tmp_path: Path, show: Path) -> None:
    """The program name (argv[0]) is the file's name, bytes and all."""
    named = os.path.join(os.fsencode(tmp_path), b"sh\xffw.wasm")
    os.rename(show, named)
    trace = tmp_path / "t.cbor"
    rec = wasm_rr_cli("record", named, "-t", trace, cwd=tmp_path)
    assert (rec.returncode, rec.stdout) == (0, b"sh\xffw.wasm\0|"), rec.stderr
    assert load(trace).header.guest_name == from_bytes(b"sh\xffw.wasm")
    rep = wasm_rr_cli("replay", named, trace, cwd=tmp_path)
    assert (rep.returncode, rep.stdout) == (0, rec.stdout), rep.stderr
    shown = wasm_rr_cli("inspect", trace, cwd=tmp_path)
    assert shown.returncode == 0 and b"guest      b'sh\\xffw.wasm' (module" in shown.stdout
