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

import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from blake3 import blake3 as _hash

from .events import (
    BLOB,
    INLINE_MAX,
    SITE,
    TIME_MAX,
    TIME_MIN,
    Among,
    Elem,
    EventDecl,
    Field,
    Opt,
    Seq,
)

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
    "time": f"(type({{v}}) is int and {TIME_MIN} <= {{v}} <= {TIME_MAX})",
    "delta": f"(type({{v}}) is int and {-U64} <= {{v}} <= {U64})",
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
    "time": lambda v: type(v) is int and TIME_MIN <= v <= TIME_MAX,
    "delta": lambda v: type(v) is int and -U64 <= v <= U64,
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


def _body(decl: EventDecl, helpers: dict[str, Any], pad: str, done: str) -> list[str]:
    """The lines checking the record of ``decl``'s kind at ``it[i]`` (its code already read),
    each indented by ``pad``, ending with ``done`` (``{n}`` stands for the record's length)."""
    lines = [
        f"{pad}v = it[i + 1]",
        f"{pad}if type(v) is not int or v < 0 or v > {U64}: raise Bad(0)",
    ]
    for j, fd in enumerate(decl.fields, start=1):
        expr = _field_expr(fd, "v", helpers).replace("nb)", "bl[0])")
        lines.append(f"{pad}v = it[i + {j + 1}]")
        if expr != "True":
            lines.append(f"{pad}if not ({expr}): raise Bad({j})")
    if decl.summed and len(decl.question) == 1 and len(decl.answer) == 1:
        # The guest sees the running sum of the answers to one question (clock reads): it must
        # stay an unsigned 64-bit value.
        lines += [
            f"{pad}sums = bl[1]",
            f"{pad}q = it[i + 2]",
            f"{pad}v += sums.get(q, 0)",
            f"{pad}if v < 0 or v > {U64}: raise Bad(2)",
            f"{pad}sums[q] = v",
        ]
    lines.append(pad + done.format(n=decl.arity + 1))
    return lines


def _compile(lines: list[str], name: str, helpers: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = {
        "ERRNO_MAX": ERRNO_MAX,
        "Bad": Bad,
        "blob_step": blob_step,
        "site_step": site_step,
        **helpers,
    }
    exec(compile("\n".join(lines), name, "exec"), namespace)
    return namespace


def checker(decl: EventDecl) -> Step:
    """The compiled step over one kind's events: every field's check inline, no loop."""
    helpers: dict[str, Any] = {}
    lines = ["def step(it, i, bl):", *_body(decl, helpers, "    ", "return i + {n}")]
    step: Step = _compile(lines, f"<check {decl.name}>", helpers)["step"]
    return step


_ARRAY_CODES = {"int": "q", "uint": "Q", "s32": "i", "u32": "I", "delta": "q"}
"""A column of each integer shape that fits this array type passes at C speed; a ``delta``
past 64 signed bits (rare: a clock jump of centuries) sends its run record by record."""
_TYPES = {"bool": bool, "str": str, "bytes": bytes, "payload": bytes, "list": list, "map": dict}
_RUN_MIN = 16
"""Runs of fewer records of one kind are checked record by record."""


def _column_ok(fd: Field | None) -> Callable[[list[Any]], bool] | None:
    """A predicate over every value of one field (``None``: the fuel delta) across a run of
    records, true only when each value passes the field's check (values of a field's other
    alternatives, errno names or nulls, make it false: the run is then checked record by
    record, which accepts them). None when the shape has no such predicate."""
    shape = "uint" if fd is None else fd.shape
    if fd is not None and fd.shape == "list" and fd.of is not None:
        return None
    code = _ARRAY_CODES.get(shape)
    if code is not None:
        ints = {int}

        def ints_ok(col: list[Any]) -> bool:
            if not set(map(type, col)) <= ints:
                return False
            try:
                array.array(code, col)  # raises OverflowError out of the range
            except OverflowError:
                return False
            return True

        return ints_ok
    t = _TYPES.get(shape)
    if t is None:
        return (lambda col: True) if shape == "any" else None
    types = {t}
    if shape == "payload":
        return lambda col: set(map(type, col)) <= types and max(map(len, col)) <= INLINE_MAX
    return lambda col: set(map(type, col)) <= types


Run = Callable[[list[Any], int, int, list[Any]], int]


def runner(code: int, decl: EventDecl) -> Run | None:
    """``run(items, i, n, state)`` checks the run of consecutive records of ``decl``'s kind
    (code ``code``) starting at ``items[i]`` (whose code is ``code``), field by field across
    the run (C loops: no Python code per record). Returns the index after the run when every
    record passes (as its step would, running sums included); when the run is short or some
    value would need a closer look, returns minus the index after the run (or after the part
    looked at), leaving ``state`` untouched: those records are then checked one by one, and
    the one that is bad raises there. None when the kind's fields do not allow it."""
    checks = [_column_ok(None), *(_column_ok(fd) for fd in decl.fields)]
    if any(c is None for c in checks):
        return None
    cols: list[tuple[int, Callable[[list[Any]], bool]]] = [
        (j, c) for j, c in enumerate(checks, start=1) if c is not None
    ]
    stride = decl.arity + 1
    ints = {int}
    summed = decl.summed and len(decl.question) == 1 and len(decl.answer) == 1

    def run(it: list[Any], i: int, n: int, bl: list[Any]) -> int:
        room = (n - i) // stride  # complete records left
        w = min(room, _RUN_MIN)
        if w < _RUN_MIN or it[i : i + stride * w : stride].count(code) < w:
            return -(i + stride * w) if w else -(i + stride)
        while w < room:  # grow the run 4 times at a time
            w2 = min(room, w * 4)
            codes = it[i + stride * w : i + stride * w2 : stride]
            if codes.count(code) == len(codes):
                w = w2
                continue
            lo, hi = 0, len(codes)  # codes[:lo] all match, codes[:hi] do not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if codes[:mid].count(code) == mid:
                    lo = mid
                else:
                    hi = mid
            w += lo
            break
        end = i + stride * w
        if not set(map(type, it[i:end:stride])) <= ints:  # True == 1: a code is an int
            return -end
        for j, ok in cols:
            if not ok(it[i + j : end : stride]):
                return -end
        if summed:
            qs = set(it[i + 2 : end : stride])
            if len(qs) != 1:
                return -end
            (q,) = qs
            sums = bl[1]
            try:
                acc = array.array("Q", accumulate(it[i + 3 : end : stride], initial=sums.get(q, 0)))
            except OverflowError:
                return -end
            sums[q] = acc[-1]
        return end

    return run


Scan = Callable[[list[Any], int, list[Any], list[Any], Callable[[list[Any], int], None], Any], None]
"""``scan(items, n, state, out, place, table)``: check every record of ``items[:n]`` in order,
as the steps do (the commonest kinds inline, the others through ``table``, code -> step),
calling ``place(items, i)`` after each blob record's step. Whether it returns or raises (as a
step does: :class:`Bad`, IndexError, KeyError or TypeError for a code ``table`` lacks),
``out[0]`` is then the index of the first record not checked and ``out[1]`` has grown by the
number of events (not blobs, not sites) checked."""

_SCANS: dict[tuple[tuple[int, str], ...], Scan] = {}


def scanner(hot: list[tuple[int, EventDecl]]) -> Scan:
    """The compiled scan whose loop tests the codes of ``hot`` first, in that order (put the
    commonest first), with their steps inline: no Python call per record of these kinds."""
    key = tuple((code, decl.name) for code, decl in hot)
    scan = _SCANS.get(key)
    if scan is not None:
        return scan
    helpers: dict[str, Any] = {}
    lines = [
        "def scan(it, n, bl, out, place, table):",
        "    i = out[0]",
        "    ev = 0",
        "    skip = 0",
        "    try:",
        "        while i < n:",
        "            k = it[i]",
        "            if type(k) is not int: raise KeyError(k)  # not True or 1.0 for code 1",
    ]
    for code, decl in hot:
        lines.append(f"            if k == {code}:")
        run = runner(code, decl)
        if run is not None:
            helpers[f"_run{code}"] = run
            lines += [
                " " * 16 + "if i >= skip:",
                " " * 20 + f"j = _run{code}(it, i, n, bl)",
                " " * 20 + "if j > 0:",
                " " * 24 + f"ev += (j - i) // {decl.arity + 1}",
                " " * 24 + "i = j",
                " " * 24 + "continue",
                " " * 20 + "skip = -j",
            ]
        lines += _body(decl, helpers, " " * 16, "i += {n}")
        lines += [" " * 16 + "ev += 1", " " * 16 + "continue"]
    lines += [
        f"            if k == {BLOB}:",
        "                j = table[k](it, i, bl)  # the reader's: data may stay in the mapping",
        "                place(it, i)",
        "                i = j",
        f"            elif k == {SITE}:",
        "                i = site_step(it, i, bl)",
        "            else:",
        "                i = table[k](it, i, bl)",
        "                ev += 1",
        "    finally:",
        "        out[0] = i",
        "        out[1] += ev",
    ]
    compiled: Scan = _compile(lines, "<scan>", helpers)["scan"]
    _SCANS[key] = compiled
    return compiled


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
        "time": "a file time (nanoseconds, as far as a 64-bit time_t reaches)",
        "delta": "the difference of two unsigned 64-bit integers",
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


__all__ = [
    "ERRNO_MAX",
    "S64_MAX",
    "S64_MIN",
    "U64",
    "Bad",
    "Run",
    "Scan",
    "Step",
    "blob_step",
    "checker",
    "explain",
    "runner",
    "scanner",
    "site_step",
    "what",
]
