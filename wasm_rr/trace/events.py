"""Event declarations: what an effect family writes into a trace, declared once.

An event kind is two-level: a family (``clocks``) and an operation (``now``). Each family module
declares its kinds as :class:`EventDecl` values, giving the names and shapes of the question
fields (what the guest asked: checked on replay) and the answer fields (what the world said:
handed back on replay), and which fields hold payloads (bytes stored inline, or the ordinal of a
blob record). The schema, the reader, ``inspect`` and ``diff`` derive everything they know about
an event from these declarations; nothing else lists kinds.

On disk an event starts with a small integer *code*; the trace header maps each code to its
``family.op`` name (:func:`assign_codes`), so the one-byte code space is per trace and never
runs out, and a reader knows every kind a trace uses before reading any event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Shape = Literal[
    "int",
    "uint",
    "s32",
    "u32",
    "time",
    "delta",
    "bool",
    "str",
    "bytes",
    "name",
    "payload",
    "list",
    "map",
    "null",
    "any",
]
"""What one field holds. ``int`` / ``uint``: a signed / unsigned 64-bit integer (``s32`` /
``u32``: 32-bit, for values an ABI hands the guest in 32 bits). ``time``: a file time in
nanoseconds since the epoch, as far as a 64-bit ``time_t`` of seconds reaches
(:data:`TIME_MIN`..:data:`TIME_MAX`, wider than 64 bits: a CBOR bignum past them).
``delta``: the difference of two unsigned 64-bit values, -(2^64-1)..2^64-1 (a clock read
stored as the change from the previous one). ``payload``:
bytes inline (at most :data:`INLINE_MAX`) or the ordinal of an earlier blob record. ``null``:
nothing (an answer that only says "done"). ``name``: a file name, bytes (text in traces written
before names were recorded as bytes). Any shape but ``any`` may also be a text string where
the declaration says so (an errno name), or null where ``nullable``."""

TIME_MIN = -(1 << 63) * 10**9
TIME_MAX = (1 << 63) * 10**9 - 1
"""The range of a ``time`` field: what ``st_mtime_ns`` can be, and what a file time may be set
to (a WASI 0.2 datetime of up to 2^63-1 seconds; preview1's u64 nanoseconds fit)."""

INLINE_MAX = 64
"""Payloads up to this many bytes are stored inside the event; larger ones become blobs."""


@dataclass(frozen=True)
class Opt:
    """An element that may also be null."""

    elem: Elem


@dataclass(frozen=True)
class Among:
    """An element that is one of a few text values (a file type name)."""

    values: frozenset[str]


@dataclass(frozen=True)
class Seq:
    """The elements of a list: ``each`` (every element has this shape) or ``items`` (a
    fixed-length record, one shape per position)."""

    each: Elem | None = None
    items: tuple[Elem, ...] | None = None


Elem = Shape | Opt | Among | Seq
"""The shape of a list element: a plain shape, an optional one, one of some texts, or a list
itself."""


def among(*values: str) -> Among:
    """An element that is one of these texts."""
    return Among(frozenset(values))


def each(elem: Elem) -> Seq:
    """A list whose every element is ``elem``."""
    return Seq(each=elem)


def opt(elem: Elem) -> Opt:
    """An element that may be null."""
    return Opt(elem)


def rec(*elems: Elem) -> Seq:
    """A fixed-length list (a record): one shape per position."""
    return Seq(items=elems)


@dataclass(frozen=True)
class Field:
    name: str
    shape: Shape
    nullable: bool = False
    errno: bool = False
    """The field may instead hold an errno name (a text string): the world answered an error."""
    of: Seq | None = None
    """A ``list`` field's elements (unchecked when None)."""


def f(
    name: str, shape: Shape, *, nullable: bool = False, errno: bool = False, of: Seq | None = None
) -> Field:
    """A field declaration (short form for family modules)."""
    return Field(name, shape, nullable, errno, of)


@dataclass(frozen=True)
class EventDecl:
    """One kind of event: ``family.op``, its question fields and its answer fields."""

    family: str
    op: str
    question: tuple[Field, ...]
    answer: tuple[Field, ...]
    summed: bool = False
    """The (single) answer is stored as the difference from the previous answer to the same
    question (clock reads): readers show the running sum."""
    doc: str = ""
    line: Callable[[tuple[Any, ...], tuple[Any, ...]], str] | None = field(
        default=None, compare=False
    )
    """A readable one-line description of an event from its question and answer (``inspect``);
    None: the generic ``family.op(question) -> answer``."""

    name: str = field(init=False, compare=False, repr=False)
    """``family.op``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.family}.{self.op}")
        for part in (self.question, self.answer):
            names = [fd.name for fd in part]
            if len(set(names)) != len(names):
                # A view keys each part's fields by name: two of one name would show as one.
                raise ValueError(f"{self.name}: two fields of one part share a name: {names}")

    @property
    def arity(self) -> int:
        """Items after the code: the fuel delta, then every field."""
        return 1 + len(self.question) + len(self.answer)

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.question + self.answer

    @property
    def payload_slots(self) -> frozenset[int]:
        """Indices (after the fuel delta) of the fields that hold payloads."""
        return frozenset(i for i, fd in enumerate(self.fields) if fd.shape == "payload")


# Codes that are not events (the same in every format version). 0 never starts an item: it is
# the zero padding after the last event of a trace that was cut off.
SITE = 21  # site id -- the source site of the event that follows (.tape programs)
BLOB = 22  # blake3 digest (32 bytes), data -- a payload stored once
END = 23  # footer map, then the digest item
RECORD_ARITY = {SITE: 1, BLOB: 2, END: 2}
RESERVED = frozenset({0, SITE, BLOB, END})


def assign_codes(decls: Iterable[EventDecl]) -> dict[int, EventDecl]:
    """Number the kinds in order: 1..20 (one byte each), then 24 and up (two bytes)."""
    table: dict[int, EventDecl] = {}
    code = 1
    for decl in decls:
        while code in RESERVED:
            code += 1
        table[code] = decl
        code += 1
    return table


def codes_to_cbor(table: Mapping[int, EventDecl]) -> dict[int, str]:
    return {code: decl.name for code, decl in table.items()}


__all__ = [
    "BLOB",
    "END",
    "INLINE_MAX",
    "RECORD_ARITY",
    "RESERVED",
    "SITE",
    "TIME_MAX",
    "TIME_MIN",
    "Among",
    "Elem",
    "EventDecl",
    "Field",
    "Opt",
    "Seq",
    "Shape",
    "among",
    "assign_codes",
    "codes_to_cbor",
    "each",
    "f",
    "opt",
    "rec",
]
