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
from wasm_rr.trace import format1, load
from wasm_rr.trace.check import what
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


# ---- every field of every kind, replaced by a value of each CBOR type -----------------------
#
# The corpus above damages traces at random; this part is exhaustive where it matters most:
# every item of the first event of every kind (the fuel delta, each field, and each element of a
# field's lists, at any depth: every position of a record, the first element of a list of
# like elements), in module and component traces of both formats, replaced by a value of every
# other CBOR type (booleans are not integers, floats neither) and by integers just outside each
# range. Each trace is re-sealed (blob and file digests recomputed), so only the check of each
# value against its declaration stands in the way. A value the declaration allows goes on to
# every consumer: replay, inspect, inspect --json and diff.

TYPED_VALUES: list[Any] = [
    True,
    False,
    None,
    -1,
    1 << 31,
    1 << 32,
    1 << 63,
    1 << 64,
    -(1 << 63) - 1,
    1.0,
    b"\x07",
    "EIO",
    "regular-file",
    [],
    [None],
    {"a": 1},
    cbor2.CBORTag(99, 1),
    cbor2.undefined,
]
"""A value of each CBOR type, and integers at the edges of each integer range."""

SYSTEMATIC_BASES = [
    # (trace under golden/, guest ABI): together they hold every kind a recording writes
    ("v2/fstour", "module"),
    ("v2/c-fstour", "component"),
    ("v2/p1probe", "module"),
    ("v2/c-p1probe", "component"),
    ("v2/c-procdemo", "module"),
    ("v2/c-procdemo-component", "component"),
    ("v2/c-procdemo-wasm-child", "module"),
    ("v2/c-transfer", "module"),
    ("v2/c-transfer-component", "component"),
    ("v2/tape-dice", "module"),
    ("fstour", "module, format 1"),
    ("c-p1probe", "component, format 1"),
]


def _guests() -> dict[str, Path]:
    import tomllib

    cases = tomllib.loads((ROOT / "golden" / "cases.toml").read_text())["case"]
    return {c["name"]: ROOT / c["guest"] for c in cases}


def _positions(value: Any, path: tuple[Any, ...] = (), keys: int = 2) -> Iterator[tuple[Any, ...]]:
    """``path`` of the value itself, then of the values inside its lists and maps: every
    position of a short list (a record), the first element of a longer one (like elements),
    the first ``keys`` entries of a map."""
    yield path
    if isinstance(value, list):
        for j, v in enumerate(value[:8] if len(value) <= 8 else value[:1]):
            yield from _positions(v, (*path, j), keys)
    elif isinstance(value, dict):
        for k, v in list(value.items())[:keys]:
            yield from _positions(v, (*path, k), keys)


def _fresh(value: Any) -> Any:
    """A copy of ``value``'s lists and maps (the rest is immutable)."""
    if isinstance(value, list):
        return [_fresh(v) for v in value]
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    return value


def _replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = _fresh(value)
    holder = out
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = new
    return out


def _kinds_of(name: str) -> list[str]:
    trace = load(ROOT / "golden" / f"{name}.cbor")
    return sorted({event.name for event in trace.events()})


SYSTEMATIC = [(name, abi, kind) for name, abi in SYSTEMATIC_BASES for kind in _kinds_of(name)]


def typed_cases(name: str, kind: str) -> Iterator[tuple[str, bytes]]:
    """Every (description, re-sealed trace) of the systematic mutation of the first event of
    ``kind`` in base ``name``."""
    data = (ROOT / "golden" / f"{name}.cbor").read_bytes()
    parsed = Parsed.of(data)
    trace = load(ROOT / "golden" / f"{name}.cbor")
    encoded = [cbor2.dumps(x) for x in parsed.items]
    tail = bytes([END]) + cbor2.dumps(parsed.footer)
    arity, names = trace.arity, {code: decl.name for code, decl in trace.kinds.items()}
    if trace.version == 1:  # the file's own codes: one for every file-system operation
        arity = {**format1.ARITY, BLOB: 2, SITE: 1}
        names = dict(format1.KINDS)
    for i, n in records(parsed.items, arity):
        code = parsed.items[i]
        if code == format1.FS and trace.version == 1:
            name_here = f"fs.{format1.FS_OPS[parsed.items[i + 2] - 1]}"
        else:
            name_here = names.get(code, "")
        if code in (BLOB, SITE) or name_here != kind:
            continue
        before, after = b"".join(encoded[:i]), b"".join(encoded[i + n + 1 :])
        for j in range(1, n + 1):
            original = parsed.items[i + j]
            for path in _positions(original):
                at = original
                for key in path:
                    at = at[key]
                for value in TYPED_VALUES:
                    if type(at) is type(value) and at == value:
                        continue
                    event = [*parsed.items[i : i + n + 1]]
                    event[j] = _replaced(original, path, _fresh(value))
                    body = parsed.prefix + before + b"".join(map(cbor2.dumps, event)) + after
                    body += tail
                    where = "".join(f"[{k!r}]" for k in path)
                    yield (
                        f"{name}: {kind} item {j}{where} ({what(at)}) -> {value!r}",
                        body + b"\x58\x20" + blake3.blake3(body).digest(),
                    )
        return


@pytest.mark.parametrize(
    ("name", "abi", "kind"), SYSTEMATIC, ids=[f"{n}-{k}" for n, _, k in SYSTEMATIC]
)
def test_every_field_of_every_kind_is_checked_by_type(
    name: str, abi: str, kind: str, tmp_path: Path
) -> None:
    from wasm_rr.errors import TraceError

    guest_path = _guests()[name.rsplit("/", 1)[-1]]
    base = ROOT / "golden" / f"{name}.cbor"
    base_out = (ROOT / "golden" / f"{name}.stdout").read_bytes()
    old = signal.signal(signal.SIGALRM, _alarm)
    failures: list[str] = []
    cases = refused = 0
    try:
        for what_, data in typed_cases(name, kind):
            cases += 1
            trace = tmp_path / f"m{cases}.cbor"  # a new file: the last one may still be mapped
            trace.write_bytes(data)
            try:
                load(trace)
            except TraceError:
                refused += 1
                if cases % 8:
                    continue  # every command says the reader's line: one case in 8 checks so
            commands: list[tuple[str, list[str], Check]] = [
                ("replay", ["replay", str(guest_path), str(trace)], _replayed_as(base_out)),
                ("inspect", ["inspect", "--limit", "0", str(trace)], _listed),
                ("inspect --json", ["inspect", "--json", "--limit", "0", str(trace)], _listed),
                ("diff", ["diff", str(base), str(trace)], _diffed),
            ]
            for label, args, check in commands:
                try:
                    status, out, err = run_main(args)
                except Hang:
                    failures.append(f"{what_}: {label} hung")
                    continue
                problem = check(status, out, err)
                if problem is not None:
                    failures.append(f"{what_}: {label}: {problem}")
            trace.unlink()
    finally:
        signal.signal(signal.SIGALRM, old)
    assert not failures, f"{len(failures)} of {cases} failed:\n" + "\n".join(failures[:40])
    assert cases and refused, (refused, cases)


def _replayed_as(stdout: bytes) -> Check:
    def check(status: int, out: bytes, err: bytes) -> str | None:
        if status == 0:
            return None if out == stdout else f"replayed other output: {out[-200:]!r}"
        return _clean_error(status, err)

    return check


HEADER_BASES = ["v2/greet", "v2/c-greet", "v2/c-transfer-component", "v2/tape-procs", "greet"]
"""Module and component traces (a .tape one with sites, format 1), with every header part."""


def _parts(name: str) -> list[str]:
    parsed = Parsed.of((ROOT / "golden" / f"{name}.cbor").read_bytes())
    return ["version", *(f"header.{k}" for k in parsed.header), "footer"]


HEADER_PARTS = [(name, part) for name in HEADER_BASES for part in _parts(name)]


def prefix_cases(name: str, only: str) -> Iterator[tuple[str, bytes]]:
    """The trace ``name`` with its version, or a value anywhere in its header or footer,
    replaced by a value of each CBOR type (re-sealed); ``only``: the version, one header
    entry (``header.config``) or the footer."""
    data = (ROOT / "golden" / f"{name}.cbor").read_bytes()
    parsed = Parsed.of(data)
    version = load(ROOT / "golden" / f"{name}.cbor").version
    events = b"".join(map(cbor2.dumps, parsed.items))

    def sealed(v: Any, header: Any, footer: Any) -> bytes:
        body = MAGIC_BYTES + cbor2.dumps(v) + cbor2.dumps(header) + events
        body += bytes([END]) + cbor2.dumps(footer)
        return body + b"\x58\x20" + blake3.blake3(body).digest()

    if only == "version":
        for value in TYPED_VALUES:
            if not (type(value) is int and value == version):
                yield f"{name}: version -> {value!r}", sealed(value, parsed.header, parsed.footer)
        return
    for part in ("header", "footer"):
        if (part == "footer") != (only == "footer"):
            continue
        doc = parsed.header if part == "header" else parsed.footer
        keys = 4 if only == "header.kinds" else 100  # code -> name: a few are enough
        for path in _positions(doc, keys=keys):
            if not path or (part == "header" and only != f"header.{path[0]}"):
                continue
            at = doc
            for key in path:
                at = at[key]
            for value in TYPED_VALUES:
                if type(at) is type(value) and at == value:
                    continue
                changed = _replaced(doc, path, _fresh(value))
                header, footer = (
                    (changed, parsed.footer) if part == "header" else (parsed.header, changed)
                )
                where = "".join(f"[{k!r}]" for k in path)
                yield (
                    f"{name}: {part}{where} ({what(at)}) -> {value!r}",
                    sealed(version, header, footer),
                )


@pytest.mark.parametrize(("name", "part"), HEADER_PARTS, ids=[f"{n}-{p}" for n, p in HEADER_PARTS])
def test_every_header_and_footer_field_is_checked_by_type(
    name: str, part: str, tmp_path: Path
) -> None:
    guest_path = _guests()[name.rsplit("/", 1)[-1]]
    base = ROOT / "golden" / f"{name}.cbor"
    base_out = (ROOT / "golden" / f"{name}.stdout").read_bytes()
    old = signal.signal(signal.SIGALRM, _alarm)
    failures: list[str] = []
    cases = 0
    try:
        for what_, data in prefix_cases(name, part):
            cases += 1
            trace = tmp_path / f"m{cases}.cbor"
            trace.write_bytes(data)
            commands: list[tuple[str, list[str], Check]] = [
                ("inspect", ["inspect", "--limit", "0", str(trace)], _listed),
                ("inspect --json", ["inspect", "--json", "--limit", "0", str(trace)], _listed),
                ("diff", ["diff", str(base), str(trace)], _diffed),
                ("replay", ["replay", str(guest_path), str(trace)], _replayed_as(base_out)),
            ]
            for label, args, check in commands:
                try:
                    status, out, err = run_main(args)
                except Hang:
                    failures.append(f"{what_}: {label} hung")
                    continue
                problem = check(status, out, err)
                if problem is not None:
                    failures.append(f"{what_}: {label}: {problem}")
            trace.unlink()
    finally:
        signal.signal(signal.SIGALRM, old)
    assert not failures, f"{len(failures)} of {cases} failed:\n" + "\n".join(failures[:40])
