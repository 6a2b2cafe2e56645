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
