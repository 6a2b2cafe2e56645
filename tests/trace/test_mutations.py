"""A corpus of damaged traces: never a traceback, never a hang.

Real traces of the example guests (stdio, random, file-system, process and component events,
and a .tape program's sites) are damaged in every way a bug report's attachment can be: bit
flips, zeroed bytes, truncations, and structural changes under a recomputed digest (a field of
another type, a list shortened, an unknown code, a blob ordinal out of range, a payload changed,
an item dropped or duplicated). Each case runs through ``replay``, ``inspect``,
``inspect --json`` and ``diff`` in process (``wasm_rr.cli.main``), each under an alarm; every
outcome must be the recorded run or one ``wasm-rr:`` line with status 125.
"""

from __future__ import annotations

import copy
import io
import random
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import blake3
import cbor2
import pytest

from wasm_rr import cli as cli_module
from wasm_rr.trace import load
from wasm_rr.trace.events import BLOB, END, SITE
from wasm_rr.trace.reader import _decode_prefix
from wasm_rr.trace.schema import MAGIC_BYTES

from ..conftest import ROOT

SEED = 20261130
CASES = 2100
ALARM_SECONDS = 10


@dataclass(frozen=True)
class Base:
    name: str
    guest: Path
    trace: Path
    stdout: bytes
    status: int


BASES = [
    ("greet", "guests/build/greet.wasm"),
    ("dice", "guests/build/dice.wasm"),
    ("fstour", "guests/build/fstour.wasm"),
    ("c-fstour", "guests/build/fstour.component.wasm"),
    ("c-procdemo", "guests/build/procdemo.wasm"),
    ("tape-procs", "examples/procs.tape"),
]


def bases() -> list[Base]:
    golden = ROOT / "golden" / "v2"
    return [
        Base(
            name,
            ROOT / guest,
            golden / f"{name}.cbor",
            (golden / f"{name}.stdout").read_bytes(),
            0,
        )
        for name, guest in BASES
    ]


# ---- building the corpus ------------------------------------------------------------------


@dataclass
class Parsed:
    """A complete trace split into its prefix bytes, its flat items (events, blobs, sites) and
    its footer, so that structural changes can be re-encoded with a valid digest."""

    prefix: bytes
    items: list[Any]
    footer: Any
    header: Any

    @classmethod
    def of(cls, data: bytes) -> Parsed:
        _, _, offset = _decode_prefix(data, "base")
        items = cbor2.loads(b"\x9f" + data[offset:] + b"\xff")
        assert items[-3] == END
        header = cbor2.loads(b"\x9f" + data[len(MAGIC_BYTES) : offset] + b"\xff")[1]
        return cls(data[:offset], items[:-3], items[-2], header)

    def encode(self, items: list[Any], header: Any = None, footer: Any = None) -> bytes:
        prefix = self.prefix
        if header is not None:
            prefix = self.prefix[: len(MAGIC_BYTES) + 1] + cbor2.dumps(header)
        body = prefix + b"".join(cbor2.dumps(x) for x in items)
        body += bytes([END]) + cbor2.dumps(self.footer if footer is None else footer)
        return body + b"\x58\x20" + blake3.blake3(body).digest()


def records(items: list[Any], arity: dict[int, int]) -> Iterator[tuple[int, int]]:
    """(index, arity) of each record in well-formed items."""
    i = 0
    while i < len(items):
        n = arity[items[i]]
        yield i, n
        i += 1 + n


ODD_VALUES: list[Any] = [
    "EIO",
    "x" * 40,
    -1,
    1 << 64,
    -(1 << 70),
    None,
    [],
    {},
    {"a": 1},
    b"",
    b"\x00" * 65,
    b"\xff" * 7,
    1.5,
    True,
    [1, "a"],
    [[1, 2, 3]],
    10**6,
    1 << 40,
    cbor2.CBORTag(99, 1),
]


def _odd(rng: random.Random) -> Any:
    """A fresh value, likely of the wrong type for wherever it goes."""
    value = rng.choice(ODD_VALUES)
    return cbor2.CBORTag(99, 1) if isinstance(value, cbor2.CBORTag) else copy.deepcopy(value)


def _slots(value: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value inside a header or footer map."""
    pairs = value.items() if isinstance(value, dict) else enumerate(value)
    for key, v in list(pairs):
        yield value, key
        if isinstance(v, dict | list):
            yield from _slots(v)


def _lists(value: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    if isinstance(value, list):
        yield path
        for j, v in enumerate(value):
            yield from _lists(v, (*path, j))


def _at(value: Any, path: tuple[int, ...]) -> Any:
    for j in path:
        value = value[j]
    return value


STRUCTURAL = [
    *("type", "type", "shorten", "code", "ordinal", "payload"),
    *("drop", "dup", "swap", "site", "header", "footer"),
]


def structural(rng: random.Random, parsed: Parsed, arity: dict[int, int]) -> tuple[str, bytes]:
    items = copy.deepcopy(parsed.items)
    recs = list(records(items, arity))
    events = [(i, n) for i, n in recs if items[i] not in (BLOB, SITE)]
    blobs = [i for i, _ in recs if items[i] == BLOB]
    how = rng.choice(STRUCTURAL)
    i, n = rng.choice(events)
    if how in ("header", "footer"):
        doc = copy.deepcopy(parsed.header if how == "header" else parsed.footer)
        where = list(_slots(doc))
        holder, key = rng.choice(where)
        if rng.random() < 0.2 and isinstance(holder, dict):
            del holder[key]
        else:
            holder[key] = _odd(rng)
        if how == "header":
            return f"structural header {key!r}", parsed.encode(items, header=doc)
        return f"structural footer {key!r}", parsed.encode(items, footer=doc)
    if how == "type":
        j = rng.randrange(1, n + 1)
        items[i + j] = _odd(rng)
    elif how == "shorten":
        found = [
            (i, j, p) for i, n in events for j in range(1, n + 1) for p in _lists(items[i + j])
        ]
        if found:
            i, j, p = rng.choice(found)
            target = _at(items[i + j], p)
            if target:
                target.pop(rng.randrange(len(target)))
            else:
                target.append(_odd(rng))
    elif how == "code":
        items[i] = rng.choice([0, 99, 200, 1000, 21, 22, 23, -1, "io.write"])
    elif how == "ordinal":
        items[i + rng.randrange(1, n + 1)] = len(blobs) + rng.randrange(0, 3)
    elif how == "payload" and blobs:
        b = rng.choice(blobs)
        data = bytearray(items[b + 2])
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        items[b + 2] = bytes(data)
    elif how == "drop":
        del items[i + rng.randrange(0, n + 1)]
    elif how == "dup":
        k = i + rng.randrange(0, n + 1)
        items.insert(k, copy.deepcopy(items[k]))
    elif how == "swap" and len(events) > 1:
        (a, na), (b, nb) = sorted(rng.sample(events, 2))
        items[a : a + 1 + na], items[b : b + 1 + nb] = items[b : b + 1 + nb], items[a : a + 1 + na]
    elif how == "site":
        items.insert(i, SITE)
        items.insert(i + 1, rng.choice([10**6, -5, "here", None]))
    return f"structural {how} at item {i}", parsed.encode(items)


def raw(rng: random.Random, data: bytes, start: int) -> tuple[str, bytes]:
    out = bytearray(data)
    at = rng.randrange(start, len(out))
    how = rng.choice(["flip", "flip", "zero", "zeros", "cut", "cut-zeros"])
    if how == "flip":
        out[at] ^= 1 << rng.randrange(8)
    elif how == "zero":
        out[at] = 0
    elif how == "zeros":
        out[at : at + rng.randrange(1, 40)] = bytes(min(len(out) - at, 39))
    elif how == "cut":
        del out[at:]
    else:  # a killed recording: a prefix, then the zero padding of the mapped file
        out[at:] = bytes(rng.randrange(0, 5000))
    return f"{how} at byte {at}", bytes(out)


def corpus() -> Iterator[tuple[Base, str, bytes]]:
    rng = random.Random(SEED)
    prepared = []
    for base in bases():
        data = base.trace.read_bytes()
        prepared.append((base, data, Parsed.of(data), load(base.trace).arity))
    for k in range(CASES):
        base, data, parsed, arity = prepared[k % len(prepared)]
        start = len(parsed.prefix) - 1 if rng.random() < 0.9 else 0
        if rng.random() < 0.5:
            what, mutated = structural(rng, parsed, arity)
        else:
            what, mutated = raw(rng, data, max(start, 0))
        yield base, f"case {k} ({base.name}): {what}", mutated


# ---- running a case -------------------------------------------------------------------------


class Hang(BaseException):
    """The alarm went off: a command took longer than ALARM_SECONDS."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang


def run_main(args: list[str]) -> tuple[int, bytes, bytes]:
    out, err = io.BytesIO(), io.BytesIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    wrappers = [io.TextIOWrapper(b, write_through=True) for b in (out, err, io.BytesIO())]
    sys.stdout, sys.stderr, sys.stdin = wrappers
    signal.alarm(ALARM_SECONDS)
    try:
        cli_module.main(args)
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else -1
    finally:
        signal.alarm(0)
        sys.stdout, sys.stderr, sys.stdin = saved
    for w in wrappers[:2]:
        w.flush()
    result = status, out.getvalue(), err.getvalue()
    for w in wrappers:
        w.detach()
    return result


Check = Callable[[int, bytes, bytes], str | None]


def _clean_error(status: int, err: bytes) -> str | None:
    lines = err.decode(errors="replace").splitlines()
    wasm_rr = [line for line in lines if line.startswith("wasm-rr: ")]
    if status != 125:
        return f"status {status}: {err[-300:]!r}"
    if len(wasm_rr) != 1 or not lines[-1].startswith("wasm-rr: "):
        return f"not one wasm-rr: line: {err[-300:]!r}"
    if "internal error" in wasm_rr[0] or "Traceback" in err.decode(errors="replace"):
        return f"internal error: {wasm_rr[0]}"
    return None


def test_no_damaged_trace_gives_a_traceback_or_hangs(tmp_path: Path) -> None:
    old = signal.signal(signal.SIGALRM, _alarm)
    failures: list[str] = []
    trace = tmp_path / "m.cbor"
    outcomes: dict[str, int] = {}
    try:
        for base, what, data in corpus():
            trace.write_bytes(data)
            commands: list[tuple[str, list[str], Check]] = [
                ("replay", ["replay", str(base.guest), str(trace)], _replayed(base)),
                ("inspect", ["inspect", "--limit", "0", str(trace)], _listed),
                ("inspect --json", ["inspect", "--json", "--limit", "0", str(trace)], _listed),
                ("diff", ["diff", str(base.trace), str(trace)], _diffed),
            ]
            for label, args, check in commands:
                try:
                    status, out, err = run_main(args)
                except Hang:
                    failures.append(f"{what}: {label} hung")
                    continue
                problem = check(status, out, err)
                key = f"{label}: {'ok' if status in (0, 1) else status}"
                outcomes[key] = outcomes.get(key, 0) + 1
                if problem is not None:
                    failures.append(f"{what}: {label}: {problem}")
    finally:
        signal.signal(signal.SIGALRM, old)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert outcomes["replay: 125"] > CASES // 2  # the corpus really damages traces


def _replayed(base: Base) -> Check:
    def check(status: int, out: bytes, err: bytes) -> str | None:
        if status == base.status and status != 125:
            return None if out == base.stdout else f"replayed other output: {out[-200:]!r}"
        return _clean_error(status, err)

    return check


def _listed(status: int, out: bytes, err: bytes) -> str | None:
    return None if status == 0 and not err else _clean_error(status, err)


def _diffed(status: int, out: bytes, err: bytes) -> str | None:
    return None if status in (0, 1) and not err else _clean_error(status, err)


@pytest.mark.parametrize("base", bases(), ids=lambda b: b.name)
def test_the_bases_replay(base: Base) -> None:
    status, out, err = run_main(["replay", str(base.guest), str(base.trace)])
    assert (status, out) == (base.status, base.stdout), err
