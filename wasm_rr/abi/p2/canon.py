"""Component values through the C API, without wasmtime-py's per-call type reflection.

A host function registered with ``wasmtime_component_linker_instance_add_func`` receives its
arguments as an array of ``wasmtime_component_val_t`` (32 bytes each: a kind byte, then a
24-byte union at offset 8) and fills a zeroed array of results. wasmtime-py's ``add_func``
reads the function type through the C API and boxes every value on every call (3-13 us); here
each function's types are known when it is defined, so values are read and written directly:

* a :class:`Ty` per WIT type lifts a C value at an address into Python and lowers a Python
  value into a C value, allocating nested lists, strings and boxes with the C API (whatever is
  written into the results array is owned, and later freed, by wasmtime);
* Python shapes: integers and bools as such, ``string`` as ``str``, ``list<u8>`` as ``bytes``,
  other lists as ``list``, tuples and records as ``tuple`` (fields in WIT order), enums as
  ``str``, flags as ``frozenset[str]``, options as ``None`` or the value, variants and results
  as ``(case, payload)`` pairs, resources as the host object (see :class:`Resources`).

Every C function used here is bound through ``PyDLL`` (in :mod:`wasm_rr.abi._wasmtime`): calls
keep the GIL, which the callback already holds, so none of them pays for releasing and
re-acquiring it.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .._wasmtime import (
    any_delete,
    any_to_host,
    byte_vec_new,
    check_error,
    host_delete,
    host_new,
    host_rep,
    host_to_any,
    val_new,
    valflags_new_uninit,
    vallist_new,
    vallist_new_uninit,
    valrecord_copy,
    valrecord_new_uninit,
    valtuple_new_uninit,
)

VAL_SIZE = 32
"""sizeof(wasmtime_component_val_t): a kind byte, padding, a 24-byte union at offset 8."""
ENTRY_SIZE = 48
"""sizeof(wasmtime_component_valrecord_entry_t): a wasm_name_t, then the value."""
NAME_SIZE = 16
"""sizeof(wasm_name_t): size_t size, uint8_t *data."""

# wasmtime_component_valkind_t
BOOL, S8, U8, S16, U16, S32, U32, S64, U64, F32, F64, CHAR = range(12)
STRING, LIST, RECORD, TUPLE, VARIANT, ENUM, OPTION, RESULT, FLAGS, RESOURCE = range(12, 22)

_memmove = ctypes.memmove
_memset = ctypes.memset
_string_at = ctypes.string_at
_Q = struct.Struct("<Q")
_QQ = struct.Struct("<QQ")
_KIND = [bytes((k,)) for k in range(22)]
_NULL8 = bytes(8)


_U8C = ctypes.c_uint8
_U64C = ctypes.c_uint64


def u64_at(addr: int) -> int:
    value: int = _U64C.from_address(addr).value
    return value


def put(addr: int, data: bytes) -> None:
    _memmove(addr, data, len(data))


def put_kind(addr: int, kind: int) -> None:
    _U8C.from_address(addr).value = kind


def put_name(addr: int, name: bytes) -> None:
    """Allocate a wasm_name_t holding ``name`` at ``addr``."""
    byte_vec_new(addr, len(name), name)


def read_name(addr: int) -> bytes:
    size, data = _QQ.unpack(_string_at(addr, 16))
    return _string_at(data, size) if size else b""


Value = Any
"""A component-model value in its Python form, whose shape the :class:`Ty` that lifts or
lowers it decides: an int for ``u32``, a str for ``string``, bytes for ``list<u8>``, a tuple for
a tuple or record, ``(case, payload)`` for a variant or result, a frozenset of names for flags,
a host object for a resource handle. Checked by that type at run time, not by mypy."""

Case = tuple[str, Value]
"""A value of a variant or a ``result``: its case name and its payload."""


class Resources(Protocol):
    """What lifting and lowering resources needs from the host: the store context of the
    current call and the table of host objects."""

    ctx: int

    def lookup(self, type_id: int, rep: int) -> object: ...

    def insert(self, type_id: int, obj: object) -> int: ...


# ---- types -----------------------------------------------------------------------------------


class Ty:
    """A WIT type: lifts a C value into Python, lowers a Python value into a C value."""

    primitive = False
    """True when a value of this type owns no allocation (an integer, a bool)."""

    def lift(self, rt: Resources, addr: int) -> Value:
        raise NotImplementedError

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        raise NotImplementedError

    def boxed(self, rt: Resources, value: Value) -> int:
        """A new heap ``wasmtime_component_val_t`` holding ``value`` (for options and
        variants, whose payloads are boxed)."""
        tmp = ctypes.create_string_buffer(VAL_SIZE)
        self.lower(rt, ctypes.addressof(tmp), value)
        ptr: int = val_new(ctypes.addressof(tmp))
        return ptr


class Prim(Ty):
    primitive = True

    def __init__(self, kind: int, fmt: str) -> None:
        self.kind = kind
        self.fmt = struct.Struct("<" + fmt)
        self.head = struct.Struct("<B7x" + fmt)

    def lift(self, rt: Resources, addr: int) -> Value:
        return self.fmt.unpack(_string_at(addr + 8, self.fmt.size))[0]

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        put(addr, self.head.pack(self.kind, value))


class Bool(Prim):
    def __init__(self) -> None:
        super().__init__(BOOL, "?")

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        put(addr, self.head.pack(BOOL, bool(value)))


class String(Ty):
    def lift(self, rt: Resources, addr: int) -> Value:
        return read_name(addr + 8).decode("utf-8")

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        # wasmtime unwraps the UTF-8 decoding of a string: never hand it invalid bytes.
        put_name(addr + 8, str(value).encode("utf-8", "replace"))
        put_kind(addr, STRING)


class Bytes(Ty):
    """``list<u8>``: ``bytes``. Each element is a whole 32-byte value; the byte sits at
    offset 8 of each, so a strided slice reads or writes them all at once (see
    :func:`lift_bytes`, :func:`lower_bytes`)."""

    def lift(self, rt: Resources, addr: int) -> Value:
        return lift_bytes(addr)

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        lower_bytes(addr, value)


def lift_bytes(addr: int) -> bytes:
    """The ``list<u8>`` at ``addr`` as ``bytes``: one copy of the element array, then one
    strided slice (the bytes at offset 8 of each 32-byte value)."""
    size = _U64C.from_address(addr + 8).value
    if not size:
        return b""
    return _string_at(_U64C.from_address(addr + 16).value, size * VAL_SIZE)[8::VAL_SIZE]


class _U8List:
    """``n`` C values of kind u8 in a buffer of ours (a ``bytearray``: its strided slice
    assignment is a plain C loop, 5-10x faster than a memoryview's on large lists): the
    bytes are written into it with one strided copy, then ``wasmtime_component_vallist_new``
    copies the values into a new list (u8 values own nothing, so the buffer stays valid, kind
    bytes and all, for the next call)."""

    __slots__ = ("_export", "addr", "buf", "c_addr", "c_n", "view")

    def __init__(self, n: int) -> None:
        size = max(n, 1)  # a buffer of one value for the empty list: a valid address
        self.buf = bytearray(size * VAL_SIZE)
        self.buf[0::VAL_SIZE] = _KIND[U8] * size
        # The ctypes array keeps the bytearray exported, so it can never be resized (moved).
        self._export = (ctypes.c_char * len(self.buf)).from_buffer(self.buf)
        self.addr = ctypes.addressof(self._export)
        self.view = memoryview(self.buf)
        """For short lists: a memoryview's strided assignment costs less to set up."""
        self.c_n = ctypes.c_size_t(n)
        self.c_addr = ctypes.c_void_p(self.addr)
        """The arguments of ``vallist_new_raw``, made once."""


SHORT = 64
"""Lists up to this long are written through the memoryview, longer ones through the
bytearray (see :class:`_U8List`)."""


def view_at(addr: int, n: int) -> memoryview:
    """A byte view over ``n`` C values at ``addr`` (for raw callbacks, which rebuild it only
    when wasmtime hands them a new array: its allocator gives back the same block call after
    call)."""
    if not addr:
        return memoryview(b"")
    return memoryview((ctypes.c_char * (n * VAL_SIZE)).from_address(addr)).cast("B")


_U8_LISTS: dict[int, _U8List] = {}
_U8_LISTS_MAX_BYTES = 16 << 20
"""The buffers are kept per length (a guest reads and draws the same sizes again and again);
the least recently made go once they hold more than this."""


def u8_list(n: int) -> _U8List:
    lst = _U8_LISTS.get(n)
    if lst is None:
        lst = _U8List(n)
        size = n * VAL_SIZE
        if size <= _U8_LISTS_MAX_BYTES:
            held = sum(k * VAL_SIZE for k in _U8_LISTS)
            while _U8_LISTS and held + size > _U8_LISTS_MAX_BYTES:
                held -= next(iter(_U8_LISTS)) * VAL_SIZE
                del _U8_LISTS[next(iter(_U8_LISTS))]
            _U8_LISTS[n] = lst
    return lst


def lower_bytes(addr: int, data: bytes) -> None:
    """Write a ``list<u8>`` holding ``data`` at ``addr``: one strided copy into a cached
    template of u8 values, one ``wasmtime_component_vallist_new``."""
    n = len(data)
    lst = _U8_LISTS.get(n) or u8_list(n)
    if n:
        lst.buf[8::VAL_SIZE] = data
    vallist_new(addr + 8, n, lst.addr)
    _U8C.from_address(addr).value = LIST


class _Seq(Ty):
    kind = LIST
    new = staticmethod(vallist_new_uninit)

    def _alloc(self, addr: int, n: int) -> int:
        self.new(addr + 8, n)
        data = u64_at(addr + 16)
        if n:
            _memset(data, 0, n * VAL_SIZE)  # every element a valid bool until written
        return data


class List(_Seq):
    def __init__(self, elem: Ty) -> None:
        self.elem = elem

    def lift(self, rt: Resources, addr: int) -> Value:
        size, data = _QQ.unpack(_string_at(addr + 8, 16))
        lift = self.elem.lift
        return [lift(rt, data + i * VAL_SIZE) for i in range(size)]

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        items = list(value)
        data = self._alloc(addr, len(items))
        lower = self.elem.lower
        for i, item in enumerate(items):
            lower(rt, data + i * VAL_SIZE, item)
        put_kind(addr, LIST)


class Tuple(_Seq):
    kind = TUPLE
    new = staticmethod(valtuple_new_uninit)

    def __init__(self, *elems: Ty) -> None:
        self.elems = elems

    def lift(self, rt: Resources, addr: int) -> Value:
        _, data = _QQ.unpack(_string_at(addr + 8, 16))
        return tuple(t.lift(rt, data + i * VAL_SIZE) for i, t in enumerate(self.elems))

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        data = self._alloc(addr, len(self.elems))
        for i, (t, item) in enumerate(zip(self.elems, value, strict=True)):
            t.lower(rt, data + i * VAL_SIZE, item)
        put_kind(addr, TUPLE)


class Record(Ty):
    """A record; records whose fields are all primitive are lowered by one deep copy of a
    template that holds the field names (no name is allocated per value)."""

    def __init__(self, *fields: tuple[str, Ty]) -> None:
        self.names = [n.encode() for n, _ in fields]
        self.types = [t for _, t in fields]
        self._template: ctypes.Array[ctypes.c_char] | None = None
        if all(t.primitive for t in self.types):
            self._template = ctypes.create_string_buffer(16)
            addr = ctypes.addressof(self._template)
            valrecord_new_uninit(addr, len(fields))
            data = u64_at(addr + 8)
            _memset(data, 0, len(fields) * ENTRY_SIZE)
            for i, name in enumerate(self.names):
                put_name(data + i * ENTRY_SIZE, name)
            self._entries = data
            # (kept for the life of the process: one template per record type)

    def template_address(self) -> int:
        """The template ``wasmtime_component_valrecord_t`` (all-primitive records only)."""
        assert self._template is not None
        return ctypes.addressof(self._template)

    def entries_address(self) -> int:
        """The template's entries: the field values sit at ``i * ENTRY_SIZE + NAME_SIZE``."""
        assert self._template is not None
        entries: int = self._entries
        return entries

    def lift(self, rt: Resources, addr: int) -> Value:
        _, data = _QQ.unpack(_string_at(addr + 8, 16))
        return tuple(
            t.lift(rt, data + i * ENTRY_SIZE + NAME_SIZE) for i, t in enumerate(self.types)
        )

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        if self._template is not None:
            entries = self._entries
            for i, (t, item) in enumerate(zip(self.types, value, strict=True)):
                t.lower(rt, entries + i * ENTRY_SIZE + NAME_SIZE, item)
            valrecord_copy(addr + 8, ctypes.addressof(self._template))
        else:
            n = len(self.types)
            valrecord_new_uninit(addr + 8, n)
            data = u64_at(addr + 16)
            _memset(data, 0, n * ENTRY_SIZE)
            for i, (name, t, item) in enumerate(zip(self.names, self.types, value, strict=True)):
                entry = data + i * ENTRY_SIZE
                put_name(entry, name)
                t.lower(rt, entry + NAME_SIZE, item)
        put_kind(addr, RECORD)


class Enum(Ty):
    def __init__(self, *names: str) -> None:
        self.names = names
        self._encoded = {n: n.encode() for n in names}

    def lift(self, rt: Resources, addr: int) -> Value:
        return read_name(addr + 8).decode()

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        put_name(addr + 8, self._encoded[value])
        put_kind(addr, ENUM)


class Flags(Ty):
    def __init__(self, *names: str) -> None:
        self.names = names

    def lift(self, rt: Resources, addr: int) -> Value:
        size, data = _QQ.unpack(_string_at(addr + 8, 16))
        return frozenset(read_name(data + i * NAME_SIZE).decode() for i in range(size))

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        names = [n.encode() for n in self.names if n in value]
        valflags_new_uninit(addr + 8, len(names))
        data = u64_at(addr + 16)
        for i, name in enumerate(names):
            put_name(data + i * NAME_SIZE, name)
        put_kind(addr, FLAGS)


class Option(Ty):
    def __init__(self, elem: Ty) -> None:
        self.elem = elem

    def lift(self, rt: Resources, addr: int) -> Value:
        ptr = u64_at(addr + 8)
        return None if not ptr else self.elem.lift(rt, ptr)

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        ptr = 0 if value is None else self.elem.boxed(rt, value)
        put(addr, _KIND[OPTION] + bytes(7) + _Q.pack(ptr))


class Variant(Ty):
    """A variant: ``(case, payload)`` (payload None for cases without one)."""

    def __init__(self, *cases: tuple[str, Ty | None]) -> None:
        self.cases = dict(cases)

    def lift(self, rt: Resources, addr: int) -> Value:
        case = read_name(addr + 8).decode()
        ptr = u64_at(addr + 24)
        payload_ty = self.cases[case]
        return case, (payload_ty.lift(rt, ptr) if ptr and payload_ty is not None else None)

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        case, payload = value
        payload_ty = self.cases[case]
        ptr = 0 if payload_ty is None else payload_ty.boxed(rt, payload)
        put_name(addr + 8, case.encode())
        put(addr + 24, _Q.pack(ptr))
        put_kind(addr, VARIANT)


class Result(Ty):
    """``result<ok, err>``: ``("ok", value)`` or ``("err", value)``.

    A host function whose result is a Result returns the ok value and raises for the error:
    :attr:`err` may translate a :class:`~wasm_rr.world.WorldError` (see :class:`ErrorType`).
    """

    def __init__(self, ok: Ty | None, err: Ty | None) -> None:
        self.ok = ok
        self.err = err

    def lift(self, rt: Resources, addr: int) -> Value:
        is_ok = _string_at(addr + 8, 1) != b"\0"
        ptr = u64_at(addr + 16)
        ty = self.ok if is_ok else self.err
        payload = ty.lift(rt, ptr) if ty is not None and ptr else None
        return ("ok" if is_ok else "err"), payload

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        case, payload = value
        is_ok = case == "ok"
        ty = self.ok if is_ok else self.err
        ptr = 0 if ty is None else ty.boxed(rt, payload)
        put(addr, _KIND[RESULT] + bytes(7) + (b"\1" if is_ok else b"\0") + bytes(7) + _Q.pack(ptr))


_OK_EMPTY = _KIND[RESULT] + bytes(7) + b"\1" + bytes(7) + _NULL8
"""The C value of ``result<_, E>::ok``: written as is by the hot paths."""


class Own(Ty):
    """An owned handle to a host resource: the host object is kept in the resource table."""

    def __init__(self, type_id: int) -> None:
        self.type_id = type_id

    def lift(self, rt: Resources, addr: int) -> Value:
        return lift_resource(rt, addr, self.type_id)

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        rep = rt.insert(self.type_id, value)
        host = host_new(True, rep, self.type_id)
        out = ctypes.c_void_p()
        try:
            check_error(host_to_any(rt.ctx, host, ctypes.addressof(out)))
        finally:
            host_delete(host)
        put(addr, _KIND[RESOURCE] + bytes(7) + _Q.pack(out.value or 0))


class Borrow(Own):
    """A borrowed handle: lifting it ends the borrow (as wasmtime requires) and yields the
    host object."""

    def lower(self, rt: Resources, addr: int, value: Value) -> None:
        raise TypeError("a host function never returns a borrow")


_host_out = ctypes.c_void_p()
_host_out_addr = ctypes.addressof(_host_out)


def rep_of(ctx: int, any_ptr: int) -> int:
    """The rep of a host resource handed in as ``any_ptr``; ends a borrow, frees the handle."""
    err = any_to_host(ctx, any_ptr, _host_out_addr)
    if err:
        any_delete(any_ptr)
        check_error(err)
    host = _host_out.value
    rep: int = host_rep(host)
    host_delete(host)
    any_delete(any_ptr)
    return rep


def lift_resource(rt: Resources, addr: int, type_id: int) -> Value:
    """Take the resource handle at ``addr`` (the slot is cleared, so it is freed once)."""
    cell = _U64C.from_address(addr + 8)
    any_ptr = cell.value
    cell.value = 0
    return rt.lookup(type_id, rep_of(rt.ctx, any_ptr))


# ---- shorthands used by the interface definitions -----------------------------------------------

BOOL_T = Bool()
U8_T = Prim(U8, "B")
U16_T = Prim(U16, "H")
U32_T = Prim(U32, "I")
U64_T = Prim(U64, "Q")
S32_T = Prim(S32, "i")
S64_T = Prim(S64, "q")
STRING_T = String()
BYTES_T = Bytes()

Lift = Callable[[Resources, int], Value]


def lifters(params: Sequence[Ty]) -> list[tuple[Lift, int]]:
    """(lift, offset) per parameter."""
    return [(p.lift, i * VAL_SIZE) for i, p in enumerate(params)]


__all__ = [
    "BOOL",
    "BOOL_T",
    "BYTES_T",
    "CHAR",
    "ENTRY_SIZE",
    "ENUM",
    "F32",
    "F64",
    "FLAGS",
    "LIST",
    "NAME_SIZE",
    "OPTION",
    "RECORD",
    "RESOURCE",
    "RESULT",
    "S8",
    "S16",
    "S32",
    "S32_T",
    "S64",
    "S64_T",
    "SHORT",
    "STRING",
    "STRING_T",
    "TUPLE",
    "U8",
    "U8_T",
    "U16",
    "U16_T",
    "U32",
    "U32_T",
    "U64",
    "U64_T",
    "VAL_SIZE",
    "VARIANT",
    "Bool",
    "Borrow",
    "Bytes",
    "Enum",
    "Flags",
    "Lift",
    "List",
    "Option",
    "Own",
    "Prim",
    "Record",
    "Resources",
    "Result",
    "String",
    "Tuple",
    "Ty",
    "Variant",
    "lift_bytes",
    "lift_resource",
    "lifters",
    "lower_bytes",
    "put",
    "put_kind",
    "put_name",
    "read_name",
    "rep_of",
    "u8_list",
    "u64_at",
    "view_at",
]
