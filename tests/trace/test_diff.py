"""`wasm-rr diff`: the first divergence between two traces, and what kind it is."""

from __future__ import annotations

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
    # The bytes are chosen, not drawn: one answer holds a quote (Python shows it as b"..."),
    # the other does not (b'...'); the lines are known in full.
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
        f'  {a}: random.bytes() -> b"it\'s 16 bytes ok" (after {first.fuel} instructions)',
        f"  {b}: random.bytes() -> b'0123456789abcdef' (after {first.fuel} instructions)",
    ]
