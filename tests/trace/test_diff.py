"""`wasm-rr diff`: the first divergence between two traces, and what kind it is."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from wasm_rr.trace import load
from wasm_rr.trace.diff import ARGS, FUEL, LENGTH, PATH, WORLD, first_divergence

from ..conftest import NOON, cli, record, sources
from ..tracetools import rewrite, with_event


def test_kinds_of_divergence(tmp_path: Path) -> None:
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    # The same guest, another wall-clock reading: the first event differs in its answer.
    record("dice", a, sources=sources(seed=1))
    record("dice", b, sources=sources(seed=1, at_ns=NOON + 5_000_000))
    assert first_divergence(load(a), load(a)) is None
    found = first_divergence(load(a), load(b))
    assert found is not None and (found.seq, found.why) == (1, WORLD)

    def edited(name: str, edit: object) -> Path:
        path = tmp_path / name
        rewrite(a, path, events=edit)  # type: ignore[arg-type]
        return path

    cases = {
        PATH: edited("p.cbor", lambda evs: [evs[1], evs[0], *evs[2:]]),
        ARGS: edited("q.cbor", lambda evs: with_event(evs, 0, fields=(1, evs[0].fields[1]))),
        FUEL: edited("f.cbor", lambda evs: with_event(evs, 2, fuel=evs[2].fuel + 1)),
        LENGTH: edited("l.cbor", lambda evs: evs[:-1]),
    }
    for why, path in cases.items():
        found = first_divergence(load(a), load(path))
        assert found is not None and found.why == why, (why, found)


def test_cli(tmp_path: Path) -> None:
    # The bytes are chosen, not drawn: one answer holds a quote, the other does not; both are
    # shown one way (b'...', the quote escaped); the lines are known in full.
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    record("entropy", a, sources=sources(first_bytes=b"it's 16 bytes ok"))
    record("entropy", b, sources=sources(first_bytes=b"0123456789abcdef"))
    same = cli("diff", a, a)
    assert (same.status, same.stdout) == (0, "no divergence: the same 4 events\n")
    run = cli("diff", a, b)
    assert run.status == 1
    first = next(load(a).events())
    assert first.name == "random.bytes"
    assert run.stdout.splitlines() == [
        "first divergence at seq 1: the world answered differently",
        f"  {a}: random.bytes() -> b'it\\'s 16 bytes ok' (after {first.fuel} instructions)",
        f"  {b}: random.bytes() -> b'0123456789abcdef' (after {first.fuel} instructions)",
    ]


def test_a_field_is_shown_one_way_in_every_output(tmp_path: Path) -> None:
    """Bytes that are text in one trace and not in the other: ``diff --json`` once wrote the
    same field as ``"}"`` for one and ``{"hex": "07"}`` for the other. One rendering now, in
    ``diff``, ``diff --json``, ``inspect`` and ``inspect --json``: ``{"bytes": ESCAPED}`` in
    JSON (text stays a JSON string), ``b'ESCAPED'`` in text."""
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    record("entropy", a, sources=sources(first_bytes=b"}" * 16))
    record("entropy", b, sources=sources(first_bytes=b"\x07" * 15 + b"'"))
    run = cli("diff", "--json", a, b)
    assert run.status == 1
    found = json.loads(run.stdout)
    escaped_a, escaped_b = "}" * 16, "\\x07" * 15 + "\\'"
    assert found["a"]["event"]["answer"] == {"bytes": {"bytes": escaped_a}}
    assert found["b"]["event"]["answer"] == {"bytes": {"bytes": escaped_b}}
    assert [codecs.escape_decode(e.encode())[0] for e in (escaped_a, escaped_b)] == [
        b"}" * 16,
        b"\x07" * 15 + b"'",
    ]
    text = cli("diff", a, b).stdout
    assert f"b'{escaped_a}'" in text and f"b'{escaped_b}'" in text
    for path, shown in ((a, escaped_a), (b, escaped_b)):
        lines = [json.loads(line) for line in cli("inspect", "--json", path).stdout.splitlines()]
        assert lines[1]["kind"] == "random.bytes"
        assert lines[1]["answer"] == {"bytes": {"bytes": shown}}
        assert f"random.bytes() -> b'{shown}'" in cli("inspect", path).stdout
