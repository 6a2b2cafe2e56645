"""Run compiled tape programs: under wasmtime-py's built-in WASI, or under a scripted fake WASI
that logs each host call with the site register's value at the time of the call."""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from wasm_rr.lang import Compiled, compile_source
from wasm_rr.lang.builtins import PROC_ERROR_CODES
from wasm_rr.lang.runtime import PROCESS_MODULE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _engine() -> wasmtime.Engine:
    config = wasmtime.Config()
    config.cranelift_opt_level = "none"  # the tests compile many small modules
    return wasmtime.Engine(config)


ENGINE = _engine()


def compile_text(source: str, filename: str = "t.tape") -> Compiled:
    return compile_source(source, filename)


@dataclass
class Run:
    status: int | None  # the exit status, or None after a trap
    stdout: bytes
    stderr: bytes
    trap: str | None
    site: int  # the site register when the program ended
    pages: int = 0  # the memory's size when the program ended, in 64 KiB pages

    @property
    def out(self) -> str:
        return self.stdout.decode()

    @property
    def err(self) -> str:
        return self.stderr.decode()


def _site(store: wasmtime.Store, instance: wasmtime.Instance) -> int:
    mem = instance.exports(store)["memory"]
    assert isinstance(mem, wasmtime.Memory)
    return int.from_bytes(mem.read(store, 8, 12), "little", signed=True)


def run_wasi(
    wasm: bytes,
    args: Iterable[str] = (),
    env: dict[str, str] | None = None,
    preopens: Iterable[tuple[Path, str]] = (),
) -> Run:
    """Run under ``Linker.define_wasi()``; argv[0] is ``prog.wasm``."""
    store = wasmtime.Store(ENGINE)
    with tempfile.TemporaryDirectory() as tmp:
        config = wasmtime.WasiConfig()
        config.argv = ["prog.wasm", *args]
        config.env = sorted((env or {}).items())
        out, err = Path(tmp, "out"), Path(tmp, "err")
        config.stdout_file = str(out)
        config.stderr_file = str(err)
        for host, guest in preopens:
            config.preopen_dir(str(host), guest)
        store.set_wasi(config)
        linker = wasmtime.Linker(ENGINE)
        linker.define_wasi()
        instance = linker.instantiate(store, wasmtime.Module(ENGINE, wasm))
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        status: int | None = 0
        trap = None
        try:
            start(store)
        except wasmtime.ExitTrap as e:
            status = e.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
            status, trap = None, str(e)
        mem = instance.exports(store)["memory"]
        assert isinstance(mem, wasmtime.Memory)
        return Run(
            status,
            out.read_bytes(),
            err.read_bytes(),
            trap,
            _site(store, instance),
            mem.size(store),
        )


def run(source: str, **kwargs: Any) -> Run:
    """Compile ``source`` and run it under wasmtime's WASI."""
    return run_wasi(compile_text(source).wasm, **kwargs)


# ---- a fake WASI: scripted answers, and a log of (call, site register) ---------------------------


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


@dataclass
class FakeRun(Run):
    calls: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Finished:
    """A finished program, as wasm-rr:process's `output` record."""

    status: int = 0
    signal: int = 0
    timed_out: bool = False
    stdout: bytes = b""
    stderr: bytes = b""
    realloc_align: int = 1  # the `align` passed to cabi_realloc (canonical ABI: 1 for list<u8>)


ProcAnswer = Finished | str


@dataclass(frozen=True)
class ProcRequest:
    """What the guest asked wasm-rr:process's `run` for."""

    program: str
    args: list[str]
    cwd: str
    env: list[str]
    stdin: bytes
    timeout_ms: int


@dataclass
class FakeWasi:
    args: list[str] = field(default_factory=lambda: ["prog.wasm"])
    env: dict[str, str] = field(default_factory=dict)
    random: bytes = b""
    clock_ns: int = 0
    calls: list[tuple[str, int]] = field(default_factory=list)
    procs: list[ProcAnswer] = field(default_factory=list)
    """Answers to proc.run, in order: an error-code name, or a finished program."""
    proc_requests: list[ProcRequest] = field(default_factory=list)
    streams: dict[int, bytearray] = field(default_factory=lambda: {1: bytearray(), 2: bytearray()})
    _mem: wasmtime.Memory | None = None

    def run(self, wasm: bytes) -> FakeRun:
        store = wasmtime.Store(ENGINE)
        module = wasmtime.Module(ENGINE, wasm)
        linker = wasmtime.Linker(ENGINE)
        for imp in module.imports:
            assert imp.module in ("wasi_snapshot_preview1", PROCESS_MODULE), imp.module
            assert imp.name is not None
            ty = imp.type
            assert isinstance(ty, wasmtime.FuncType)
            name = "process_run" if imp.module == PROCESS_MODULE else imp.name
            linker.define_func(imp.module, imp.name, ty, self._handler(name), True)
        instance = linker.instantiate(store, module)
        mem = instance.exports(store)["memory"]
        assert isinstance(mem, wasmtime.Memory)
        self._mem = mem
        start = instance.exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        status: int | None = 0
        trap = None
        try:
            start(store)
        except _Exit as e:
            status = e.status
        except wasmtime.Trap as e:
            if isinstance(e.__cause__, _Exit):
                status = e.__cause__.status
            else:
                status, trap = None, str(e)
        return FakeRun(
            status,
            bytes(self.streams[1]),
            bytes(self.streams[2]),
            trap,
            _site(store, instance),
            mem.size(store),
            self.calls,
        )

    def _handler(self, name: str) -> Callable[..., Any]:
        impl = getattr(self, name, None)

        def handler(caller: wasmtime.Caller, *params: Any) -> Any:
            assert self._mem is not None
            site = int.from_bytes(self._mem.read(caller, 8, 12), "little", signed=True)
            self.calls.append((name, site))
            if impl is None:
                return 52  # ENOSYS
            return impl(caller, *params)

        return handler

    # helpers
    def _read(self, c: wasmtime.Caller, addr: int, n: int) -> bytes:
        assert self._mem is not None
        return bytes(self._mem.read(c, addr, addr + n))

    def _write(self, c: wasmtime.Caller, addr: int, data: bytes) -> None:
        assert self._mem is not None
        self._mem.write(c, data, addr)

    def _strings(self, c: wasmtime.Caller, items: list[bytes], ptrs: int, buf: int) -> int:
        for i, item in enumerate(items):
            self._write(c, ptrs + 4 * i, struct.pack("<I", buf))
            self._write(c, buf, item + b"\0")
            buf += len(item) + 1
        return 0

    # preview1 functions
    def fd_write(self, c: wasmtime.Caller, fd: int, iovs: int, n: int, out: int) -> int:
        total = 0
        for i in range(n):
            ptr, size = struct.unpack("<II", self._read(c, iovs + 8 * i, 8))
            self.streams.setdefault(fd, bytearray()).extend(self._read(c, ptr, size))
            total += size
        self._write(c, out, struct.pack("<I", total))
        return 0

    def _env(self) -> list[bytes]:
        return [f"{k}={v}".encode() for k, v in self.env.items()]

    def environ_sizes_get(self, c: wasmtime.Caller, count: int, size: int) -> int:
        items = self._env()
        self._write(c, count, struct.pack("<I", len(items)))
        self._write(c, size, struct.pack("<I", sum(len(i) + 1 for i in items)))
        return 0

    def environ_get(self, c: wasmtime.Caller, ptrs: int, buf: int) -> int:
        return self._strings(c, self._env(), ptrs, buf)

    def args_sizes_get(self, c: wasmtime.Caller, count: int, size: int) -> int:
        self._write(c, count, struct.pack("<I", len(self.args)))
        self._write(c, size, struct.pack("<I", sum(len(a.encode()) + 1 for a in self.args)))
        return 0

    def args_get(self, c: wasmtime.Caller, ptrs: int, buf: int) -> int:
        return self._strings(c, [a.encode() for a in self.args], ptrs, buf)

    def clock_time_get(self, c: wasmtime.Caller, clock: int, _prec: int, out: int) -> int:
        self._write(c, out, struct.pack("<Q", self.clock_ns))
        return 0

    def random_get(self, c: wasmtime.Caller, buf: int, n: int) -> int:
        data, self.random = self.random[:n], self.random[n:]
        self._write(c, buf, data.ljust(n, b"\0"))
        return 0

    def poll_oneoff(self, c: wasmtime.Caller, subs: int, events: int, n: int, out: int) -> int:
        self._write(c, out, struct.pack("<I", n))
        return 0

    def fd_prestat_get(self, c: wasmtime.Caller, fd: int, out: int) -> int:
        return 8  # EBADF: nothing is preopened

    def proc_exit(self, c: wasmtime.Caller, status: int) -> None:
        raise _Exit(status)

    # wasm-rr:process/process@0.1.0 `run`, lowered by the canonical ABI
    def _pairs(self, c: wasmtime.Caller, ptr: int, n: int) -> list[str]:
        out = []
        for i in range(n):
            sp, sl = struct.unpack("<II", self._read(c, ptr + 8 * i, 8))
            out.append(self._read(c, sp, sl).decode())
        return out

    def process_run(
        self,
        c: wasmtime.Caller,
        prog: int,
        prog_len: int,
        args: int,
        nargs: int,
        cwd: int,
        cwd_len: int,
        env: int,
        nenv: int,
        stdin: int,
        stdin_len: int,
        timeout_ms: int,
        ret: int,
    ) -> None:
        self.proc_requests.append(
            ProcRequest(
                self._read(c, prog, prog_len).decode(),
                self._pairs(c, args, nargs),
                self._read(c, cwd, cwd_len).decode(),
                self._pairs(c, env, nenv),
                self._read(c, stdin, stdin_len),
                timeout_ms,
            )
        )
        answer = self.procs.pop(0)
        if isinstance(answer, str):
            code = PROC_ERROR_CODES.index(answer)
            self._write(c, ret, struct.pack("<BxxxB", 1, code) + bytes(27))
            return
        realloc = c["cabi_realloc"]
        assert isinstance(realloc, wasmtime.Func)

        def place(data: bytes) -> int:
            if not data:
                return 0  # the host may pass ptr 0 for an empty list
            ptr = realloc(c, 0, 0, answer.realloc_align, len(data))
            assert isinstance(ptr, int) and ptr % answer.realloc_align == 0
            self._write(c, ptr, data)
            return ptr

        out, err = place(answer.stdout), place(answer.stderr)
        record = struct.pack(
            "<BxxxiIBxxxIIII",
            0,
            answer.status,
            answer.signal,
            int(answer.timed_out),
            out,
            len(answer.stdout),
            err,
            len(answer.stderr),
        )
        assert len(record) == 32
        self._write(c, ret, record)
