"""Checking decoded events against their declarations, once, where a trace is loaded.

A trace is untrusted input. :func:`checker` compiles, from each kind's :class:`EventDecl`, a
function that checks one flat event in place (its fuel delta and every field's type, nullability,
errno alternative, integer range, inline payload size, the blob a payload names, and the elements
of declared lists); the reader calls it for every event in one pass over the decoded items, so
nothing after the reader (replay, ``inspect``, ``diff``) meets a value of the wrong shape.
The per-event check is generated Python (like :mod:`dataclasses` does) because it runs for every
event of every trace loaded; :func:`explain` says, slowly, what is wrong with a refused event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blake3 import blake3 as _hash

from .events import INLINE_MAX, Among, Elem, EventDecl, Field, Opt, Seq

U64 = (1 << 64) - 1
S64_MIN = -(1 << 63)
S64_MAX = (1 << 63) - 1
ERRNO_MAX = 32
"""The longest errno name accepted (POSIX names are short: ``ENOTRECOVERABLE`` is 15)."""

Step = Callable[[list[Any], int, list[Any]], int]
"""``step(items, i, state)``: check the record whose code is ``items[i]`` and return the index
after it. ``state[0]`` counts the payload blobs before it (a blob's step adds one),
``state[1]`` holds the running sums of summed answers (clock reads) by question. Raises
:class:`Bad` for a malformed record and IndexError when the items end inside it."""


class Bad(Exception):
    """A record does not match its declaration: item ``index`` after the code (0: the fuel
    delta, 1: the first field, ...; -1: a blob or site record)."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


_SCALAR = {
    "int": f"(type({{v}}) is int and {S64_MIN} <= {{v}} <= {S64_MAX})",
    "uint": f"(type({{v}}) is int and 0 <= {{v}} <= {U64})",
    "s32": "(type({v}) is int and -2147483648 <= {v} <= 2147483647)",
    "u32": "(type({v}) is int and 0 <= {v} <= 4294967295)",
    "bool": "(type({v}) is bool)",
    "str": "(type({v}) is str)",
    "bytes": "(type({v}) is bytes)",
    "name": "(type({v}) is bytes or type({v}) is str)",
    "payload": f"((type({{v}}) is bytes and len({{v}}) <= {INLINE_MAX}) or "
    "(type({v}) is int and 0 <= {v} < nb))",
    "list": "(type({v}) is list)",
    "map": "(type({v}) is dict)",
    "null": "({v} is None)",
    "any": "True",
}


def _elem_ok(elem: Elem) -> Callable[[Any], bool]:
    """A predicate for one list element (payload elements are bytes or an int)."""
    if isinstance(elem, Opt):
        inner = _elem_ok(elem.elem)
        return lambda v: v is None or inner(v)
    if isinstance(elem, Seq):
        return _seq_ok(elem)
    if isinstance(elem, Among):
        values = elem.values
        return lambda v: type(v) is str and v in values
    return _SCALAR_OK[elem]


_SCALAR_OK: dict[str, Callable[[Any], bool]] = {
    "int": lambda v: type(v) is int and S64_MIN <= v <= S64_MAX,
    "uint": lambda v: type(v) is int and 0 <= v <= U64,
    "s32": lambda v: type(v) is int and -(1 << 31) <= v < 1 << 31,
    "u32": lambda v: type(v) is int and 0 <= v < 1 << 32,
    "bool": lambda v: type(v) is bool,
    "str": lambda v: type(v) is str,
    "bytes": lambda v: type(v) is bytes,
    "name": lambda v: type(v) is bytes or type(v) is str,
    "payload": lambda v: type(v) is bytes or (type(v) is int and 0 <= v <= U64),
    "list": lambda v: type(v) is list,
    "map": lambda v: type(v) is dict,
    "null": lambda v: v is None,
    "any": lambda v: True,
}


def _seq_ok(seq: Seq) -> Callable[[Any], bool]:
    if seq.items is not None:
        preds = tuple(_elem_ok(e) for e in seq.items)
        n = len(preds)
        return lambda v: (
            type(v) is list and len(v) == n and all(p(x) for p, x in zip(preds, v, strict=True))
        )
    if seq.each is not None:
        pred = _elem_ok(seq.each)
        return lambda v: type(v) is list and all(pred(x) for x in v)
    return lambda v: type(v) is list


def _field_expr(fd: Field, v: str, helpers: dict[str, Any]) -> str:
    """A Python expression, true when ``v`` is a good value for ``fd``."""
    good = _SCALAR[fd.shape].format(v=v)
    if fd.shape == "list" and fd.of is not None:
        name = f"_seq{len(helpers)}"
        helpers[name] = _seq_ok(fd.of)
        good = f"{name}({v})"
    alternatives = [good]
    if fd.errno:
        alternatives.append(f"(type({v}) is str and 0 < len({v}) <= ERRNO_MAX)")
    if fd.nullable:
        alternatives.append(f"({v} is None)")
    return " or ".join(alternatives)


def checker(decl: EventDecl) -> Step:
    """The compiled step over one kind's events: every field's check inline, no loop."""
    helpers: dict[str, Any] = {}
    lines = [
        "def step(it, i, bl):",
        "    v = it[i + 1]",
        f"    if type(v) is not int or v < 0 or v > {U64}: raise Bad(0)",
    ]
    for j, fd in enumerate(decl.fields, start=1):
        expr = _field_expr(fd, "v", helpers).replace("nb)", "bl[0])")
        lines.append(f"    v = it[i + {j + 1}]")
        if expr != "True":
            lines.append(f"    if not ({expr}): raise Bad({j})")
    if decl.summed and len(decl.question) == 1 and len(decl.answer) == 1:
        # The guest sees the running sum of the answers to one question (clock reads): it must
        # stay an unsigned 64-bit value.
        lines += [
            "    sums = bl[1]",
            "    q = it[i + 2]",
            "    v += sums.get(q, 0)",
            f"    if v < 0 or v > {U64}: raise Bad(2)",
            "    sums[q] = v",
        ]
    lines.append(f"    return i + {decl.arity + 1}")
    namespace: dict[str, Any] = {
        "S64_MIN": S64_MIN,
        "S64_MAX": S64_MAX,
        "U64": U64,
        "INLINE_MAX": INLINE_MAX,
        "ERRNO_MAX": ERRNO_MAX,
        "Bad": Bad,
        **helpers,
    }
    exec(compile("\n".join(lines), f"<check {decl.name}>", "exec"), namespace)
    step: Step = namespace["step"]
    return step


def blob_step(items: list[Any], i: int, blobs: list[Any]) -> int:
    """The step over a blob record: its data must match its blake3."""
    digest, data = items[i + 1], items[i + 2]
    if type(data) is not bytes or type(digest) is not bytes or _hash(data).digest() != digest:
        raise Bad(-1)
    blobs[0] += 1
    return i + 3


def site_step(items: list[Any], i: int, blobs: list[Any]) -> int:
    """The step over a site record: a signed 32-bit site index."""
    site = items[i + 1]
    if type(site) is not int or not -(1 << 31) <= site < 1 << 31:
        raise Bad(-1)
    return i + 2


def explain(decl: EventDecl, items: list[Any], i: int, bad: int, blobs: int) -> str:
    """What is wrong with item ``bad`` of the event at ``items[i]`` (see :data:`Check`)."""
    value = items[i + 1 + bad]
    if bad == 0:
        return f"its fuel delta is {what(value)}, not an unsigned 64-bit integer"
    fd = decl.fields[bad - 1]
    if fd.shape == "payload" and type(value) is int and value >= 0:
        return f"its {fd.name} names payload {value}, but only {blobs} payload(s) come before it"
    if fd.shape == "payload" and type(value) is bytes:
        return f"its {fd.name} is {len(value)} inline bytes (at most {INLINE_MAX} are inline)"
    if decl.summed and fd in decl.answer and _SCALAR_OK[fd.shape](value):
        return f"its {fd.name} takes the sum the guest sees out of the unsigned 64-bit range"
    expected = _expected(fd)
    return f"its {fd.name} is {what(value)}, expected {expected}"


def _expected(fd: Field) -> str:
    text = {
        "int": "a signed 64-bit integer",
        "uint": "an unsigned 64-bit integer",
        "s32": "a signed 32-bit integer",
        "u32": "an unsigned 32-bit integer",
        "bool": "a boolean",
        "str": "text",
        "bytes": "a byte string",
        "name": "a file name (bytes or text)",
        "payload": "a payload (bytes or a blob ordinal)",
        "list": "a list",
        "map": "a map",
        "null": "null",
        "any": "anything",
    }[fd.shape]
    if fd.shape == "list" and fd.of is not None:
        text = f"a list of {_seq_text(fd.of)}"
    if fd.errno:
        text += " or an errno name"
    if fd.nullable:
        text += " or null"
    return text


def _seq_text(seq: Seq) -> str:
    if seq.items is not None:
        return "[" + ", ".join(_elem_text(e) for e in seq.items) + "]"
    if seq.each is not None:
        return _elem_text(seq.each) + " elements"
    return "anything"


def _elem_text(elem: Elem) -> str:
    if isinstance(elem, Opt):
        return _elem_text(elem.elem) + "?"
    if isinstance(elem, Seq):
        return _seq_text(elem)
    if isinstance(elem, Among):
        return "|".join(sorted(elem.values))
    return elem


def what(value: Any) -> str:
    """A short description of a decoded value, for messages."""
    if type(value) is int:
        return f"the integer {value}" if -(10**20) < value < 10**20 else "an oversized integer"
    if type(value) is bool:
        return f"the boolean {str(value).lower()}"
    if type(value) is bytes:
        return f"{len(value)} bytes"
    if type(value) is str:
        return f"the text {value[:24]!r}" if len(value) <= 24 else f"{len(value)} characters"
    if type(value) is list:
        return f"a list of {len(value)}"
    if type(value) is dict:
        return "a map"
    if value is None:
        return "null"
    return f"a CBOR {type(value).__name__}"
