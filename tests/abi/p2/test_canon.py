"""Component values written and read through the C API: every WIT type round-trips."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from wasm_rr.abi import _wasmtime
from wasm_rr.abi.p2 import canon, wit
from wasm_rr.abi.p2.canon import BOOL_T, BYTES_T, STRING_T, U8_T, U32_T, U64_T, Ty

_delete = _wasmtime.val_delete


class NoResources:
    ctx = 0

    def lookup(self, type_id: int, rep: int) -> Any:
        raise AssertionError("no resources here")

    def insert(self, type_id: int, obj: Any) -> int:
        raise AssertionError("no resources here")


def roundtrip(ty: Ty, value: Any) -> Any:
    buf = ctypes.create_string_buffer(canon.VAL_SIZE)
    addr = ctypes.addressof(buf)
    ty.lower(NoResources(), addr, value)
    try:
        return ty.lift(NoResources(), addr)
    finally:
        _delete(addr)  # frees whatever the lowering allocated


DATETIME = wit.DATETIME

CASES: list[tuple[str, Ty, Any]] = [
    ("bool", BOOL_T, True),
    ("u8", U8_T, 255),
    ("u32", U32_T, 0xFFFF_FFFF),
    ("u64", U64_T, 0xFFFF_FFFF_FFFF_FFFF),
    ("s32", canon.S32_T, -5),
    ("string", STRING_T, "héllo"),
    ("empty string", STRING_T, ""),
    ("bytes", BYTES_T, bytes(range(256)) * 3),
    ("empty bytes", BYTES_T, b""),
    ("big bytes", BYTES_T, b"x" * 70_000),
    ("list", canon.List(U32_T), [1, 2, 3]),
    ("tuple", canon.Tuple(BYTES_T, BOOL_T), (b"ab", True)),
    ("record (template)", DATETIME, (1_700_000_000, 999_999_999)),
    ("record", wit.DIRECTORY_ENTRY, ("regular-file", "a.txt")),
    ("stat", wit.DESCRIPTOR_STAT, ("directory", 2, 4096, (1, 2), None, (3, 4))),
    ("enum", wit.ERROR_CODE, "no-entry"),
    ("flags", wit.DESCRIPTOR_FLAGS, frozenset({"read", "mutate-directory"})),
    ("no flags", wit.OPEN_FLAGS, frozenset()),
    ("option none", canon.Option(STRING_T), None),
    ("option some", canon.Option(DATETIME), (5, 6)),
    ("variant", wit.NEW_TIMESTAMP, ("timestamp", (7, 8))),
    ("variant no payload", wit.NEW_TIMESTAMP, ("now", None)),
    ("result ok", canon.Result(U64_T, wit.ERROR_CODE), ("ok", 42)),
    ("result err", canon.Result(U64_T, wit.ERROR_CODE), ("err", "access")),
    ("result empty", canon.Result(None, None), ("err", None)),
    ("nested", canon.List(canon.Tuple(STRING_T, STRING_T)), [("A", "1"), ("B", "")]),
]


@pytest.mark.parametrize(
    ("ty", "value"), [(t, v) for _, t, v in CASES], ids=[n for n, _, _ in CASES]
)
def test_roundtrip(ty: Ty, value: Any) -> None:
    assert roundtrip(ty, value) == value


def test_strings_are_always_valid_utf8() -> None:
    # wasmtime unwraps the UTF-8 decoding of a string result: a lone surrogate is replaced.
    assert roundtrip(STRING_T, "a\udcffb") == "a?b"


def test_template_record_is_reusable() -> None:
    for i in range(100):
        assert roundtrip(DATETIME, (i, i * 3)) == (i, i * 3)


def test_errno_mapping() -> None:
    from wasm_rr.world import WorldError

    assert wit.error_code_of(WorldError("ENOENT")) == "no-entry"
    assert wit.error_code_of(WorldError("ENOTCAPABLE")) == "not-permitted"
    assert wit.error_code_of(WorldError("EWHATEVER")) == "io"
    assert set(wit.ERRNO_TO_CODE.values()) <= set(wit.ERROR_CODES)


# ---- list<u8> and strings through a component: lowered and lifted in bulk ----------------------

IFACE = "test:canon/host@0.1.0"

BULK_WAT = r"""
(component
  (import "test:canon/host@0.1.0" (instance $host
    (export "get" (func (param "n" u32) (result (list u8))))
    (export "put" (func (param "l" (list u8))))
    (export "get-s" (func (param "n" u32) (result string)))
    (export "put-s" (func (param "s" string)))
  ))
  (core module $mem
    (memory (export "memory") 40)
    ;; every list or string the host returns lands at 64 KiB (each is consumed at once)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (i32.const 65536)))
  (core instance $m (instantiate $mem))
  (alias core export $m "memory" (core memory $memory))
  (alias core export $m "realloc" (core func $realloc))
  (alias export $host "get" (func $get))
  (alias export $host "put" (func $put))
  (alias export $host "get-s" (func $get_s))
  (alias export $host "put-s" (func $put_s))
  (core func $get_l (canon lower (func $get) (memory $memory) (realloc $realloc)))
  (core func $put_l (canon lower (func $put) (memory $memory)))
  (core func $get_s_l (canon lower (func $get_s) (memory $memory) (realloc $realloc)))
  (core func $put_s_l (canon lower (func $put_s) (memory $memory)))
  (core module $main
    (import "host" "get" (func $get (param i32 i32)))
    (import "host" "put" (func $put (param i32 i32)))
    (import "host" "get-s" (func $get_s (param i32 i32)))
    (import "host" "put-s" (func $put_s (param i32 i32)))
    (import "m" "memory" (memory 1))
    ;; get(n) and hand the list straight back to put; the same for strings
    (func (export "run") (param $n i32)
      (call $get (local.get $n) (i32.const 0))
      (call $put (i32.load (i32.const 0)) (i32.load (i32.const 4)))
      (call $get_s (local.get $n) (i32.const 0))
      (call $put_s (i32.load (i32.const 0)) (i32.load (i32.const 4)))))
  (core instance $i (instantiate $main
    (with "host" (instance
      (export "get" (func $get_l)) (export "put" (func $put_l))
      (export "get-s" (func $get_s_l)) (export "put-s" (func $put_s_l))))
    (with "m" (instance $m))))
  (func (export "run") (param "n" u32) (canon lift (core func $i "run")))
)
"""

SIZES = [0, 1, 31, 32, 33, 64 << 10, 1 << 20]


def payload(n: int) -> bytes:
    return bytes((i * 7 + 3) % 256 for i in range(n))


def text(n: int) -> str:
    """About ``n`` bytes of UTF-8 with 2-, 3- and 4-byte characters."""
    unit = "aé€😀"  # 1 + 2 + 3 + 4 bytes
    return (unit * (n // 10 + 1))[: max(n // 3, 1 if n else 0)]


class Echo:
    """A component calling get(n) -> put and get-s(n) -> put-s through a ComponentHost."""

    def __init__(self) -> None:
        import wasmtime
        from wasmtime import component

        from wasm_rr.abi import engines
        from wasm_rr.abi.p2.host import ComponentHost

        self.put: list[bytes] = []
        self.put_s: list[str] = []
        eng = engines.component_engine()
        comp = component.Component(eng, bytes(wasmtime.wat2wasm(BULK_WAT)))
        host = ComponentHost()
        host.func(IFACE, "get", [U32_T], BYTES_T, payload)
        host.func(IFACE, "put", [BYTES_T], None, self.put.append)
        host.func(IFACE, "get-s", [U32_T], STRING_T, text)
        host.func(IFACE, "put-s", [STRING_T], None, self.put_s.append)
        self.store = wasmtime.Store(eng)
        self.store.set_fuel(1 << 62)
        self.store.set_epoch_deadline(1 << 62)
        linker = component.Linker(eng)
        host.link(linker)
        inst = linker.instantiate(self.store, comp)
        index = comp.get_export_index("run")
        assert index is not None
        run = inst.get_func(self.store, index)
        assert run is not None
        self.run = run
        self.host = host

    def __call__(self, n: int) -> tuple[bytes, str]:
        self.run(self.store, n)
        return self.put[-1], self.put_s[-1]


@pytest.fixture(scope="module")
def echo() -> Echo:
    return Echo()


@pytest.mark.parametrize("n", SIZES)
def test_bytes_and_strings_roundtrip_through_a_component(echo: Echo, n: int) -> None:
    got, got_s = echo(n)
    assert got == payload(n)
    assert got_s == text(n)
    assert len(got_s.encode()) >= (n // 3 if n else 0)


def test_no_per_byte_work(echo: Echo, monkeypatch: pytest.MonkeyPatch) -> None:
    """A list<u8> goes through one lower_bytes / lift_bytes call whatever its length: no
    element is lowered or lifted as a u8 value of its own."""
    calls: dict[str, int] = {"lower_bytes": 0, "lift_bytes": 0, "u8": 0}

    def counting(name: str, fn: Any) -> Any:
        def wrapper(*args: Any) -> Any:
            calls[name] += 1
            return fn(*args)

        return wrapper

    monkeypatch.setattr(canon, "lower_bytes", counting("lower_bytes", canon.lower_bytes))
    monkeypatch.setattr(canon, "lift_bytes", counting("lift_bytes", canon.lift_bytes))
    monkeypatch.setattr(canon.Prim, "lift", counting("u8", canon.Prim.lift))
    monkeypatch.setattr(canon.Prim, "lower", counting("u8", canon.Prim.lower))
    got, _ = echo(1 << 20)
    assert got == payload(1 << 20)
    assert calls == {"lower_bytes": 1, "lift_bytes": 1, "u8": 0}


def test_template_buffers_are_reused() -> None:
    a = canon.u8_list(4096)
    assert canon.u8_list(4096) is a
    buf = ctypes.create_string_buffer(canon.VAL_SIZE)
    addr = ctypes.addressof(buf)
    for data in (b"\x01" * 4096, b"\x02" * 4096):
        canon.lower_bytes(addr, data)
        try:
            assert canon.lift_bytes(addr) == data
            assert a.buf[0 :: canon.VAL_SIZE] == bytes([canon.U8]) * 4096  # kinds kept
        finally:
            _delete(addr)
