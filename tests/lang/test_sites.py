"""The site register: before every host call, the index of the site that caused it is at
address 8. Checked with a fake WASI that logs the register at each call."""

from __future__ import annotations

import struct

import wasmtime

from wasm_rr.lang import compile_source

from .helpers import FakeWasi

EFFECT_CALLS = {
    "env.get": ["environ_sizes_get", "environ_get"],
    "args.get": ["args_sizes_get", "args_get"],
    "args.count": ["args_sizes_get"],
    "print": ["fd_write"],
    "io.write": ["fd_write"],
    "clock.now": ["clock_time_get"],
    "random.bits": ["random_get"],
    "time.sleep": ["poll_oneoff"],
    "exit": ["proc_exit"],
}


def test_every_host_call_carries_its_site() -> None:
    source = """
    let name = env.get("NAME")
    let first = args.get(1)
    io.write(name + first + " ")
    print(args.count())
    fn roll() { return random.bits(6) }
    print(roll() + roll())
    time.sleep(1)
    print(clock.now())
    exit(4)
    """
    compiled = compile_source(source, "s.tape")
    fake = FakeWasi(args=["p", "x"], env={"NAME": "n"}, random=bytes([1] + [0] * 7 + [2] + [0] * 7))
    fake.clock_ns = 5_000_000
    result = fake.run(compiled.wasm)
    assert result.status == 4
    assert result.stdout == b"nx 2\n3\n5\n"
    names = [(call, compiled.sites[site].name) for call, site in result.calls]
    assert names == [
        ("environ_sizes_get", "env.get"),
        ("environ_get", "env.get"),
        ("args_sizes_get", "args.get"),
        ("args_get", "args.get"),
        ("fd_write", "io.write"),
        ("args_sizes_get", "args.count"),
        ("fd_write", "print"),
        ("random_get", "random.bits"),
        ("random_get", "random.bits"),
        ("fd_write", "print"),
        ("poll_oneoff", "time.sleep"),
        ("clock_time_get", "clock.now"),
        ("fd_write", "print"),
        ("proc_exit", "exit"),
    ]
    # Both random_get calls come from the one site inside `roll`.
    sites = [site for call, site in result.calls if call == "random_get"]
    assert sites[0] == sites[1]
    assert compiled.sites[sites[0]].line == 6
    for call, site in result.calls:
        assert call in EFFECT_CALLS[compiled.sites[site].name]


def test_distinct_sites_for_the_same_effect() -> None:
    compiled = compile_source('print("a")\nprint("b")\nfor i in 0..2 { print(i) }', "s.tape")
    result = FakeWasi().run(compiled.wasm)
    sites = [(compiled.sites[s].line, compiled.sites[s].col) for _c, s in result.calls]
    assert sites == [(1, 1), (2, 1), (3, 17), (3, 17)]


def test_fs_and_error_report_calls() -> None:
    compiled = compile_source('print("x")\nlet d = fs.read("/data/f")', "s.tape")
    result = FakeWasi().run(compiled.wasm)
    assert result.trap is not None
    calls = [(call, compiled.sites[site].name) for call, site in result.calls]
    assert calls == [
        ("fd_write", "print"),
        ("fd_prestat_get", "fs.read"),  # EBADF at fd 3: nothing preopened
        ("fd_write", "error: no preopened directory contains the path"),  # the report, fd 2
    ]
    assert result.stderr == b"tape: runtime error: no preopened directory contains the path\n"


def test_error_without_host_calls_sets_the_register() -> None:
    compiled = compile_source("let xs = []\nlet v = xs[0]", "s.tape")
    result = FakeWasi().run(compiled.wasm)
    assert [c for c, _s in result.calls] == ["fd_write"]
    assert compiled.sites[result.site].name == "error: index out of range"
    assert result.site == result.calls[0][1]


class _Trickle(FakeWasi):
    """A host that writes at most 3 bytes per fd_write (allowed by WASI)."""

    def fd_write(self, c: wasmtime.Caller, fd: int, iovs: int, n: int, out: int) -> int:
        ptr, size = struct.unpack("<II", self._read(c, iovs, 8))
        size = min(size, 3)
        self.streams.setdefault(fd, bytearray()).extend(self._read(c, ptr, size))
        self._write(c, out, struct.pack("<I", size))
        return 0


def test_partial_writes_are_completed_under_the_same_site() -> None:
    compiled = compile_source('print("hello, world")\nio.write("ab")', "s.tape")
    result = _Trickle().run(compiled.wasm)
    assert result.stdout == b"hello, world\nab"
    assert [compiled.sites[s].name for _c, s in result.calls] == ["print"] * 5 + ["io.write"]
