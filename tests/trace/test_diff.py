"""`wasm-rr diff`: the first divergence between two traces, and what kind it is."""

from __future__ import annotations

from pathlib import Path

from wasm_rr.trace import load
from wasm_rr.trace.diff import ARGS, FUEL, LENGTH, PATH, WORLD, first_divergence

from ..conftest import cli, record
from ..tracetools import rewrite, with_event


def test_kinds_of_divergence(tmp_path: Path) -> None:
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    record("dice", a)
    record("dice", b)
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
    a, b = tmp_path / "a.cbor", tmp_path / "b.cbor"
    record("entropy", a)
    record("entropy", b)
    same = cli("diff", a, a)
    assert (same.status, same.stdout) == (0, "no divergence: the same 4 events\n")
    run = cli("diff", a, b)
    assert run.status == 1
    lines = run.stdout.splitlines()
    assert lines[0] == "first divergence at seq 1: the world answered differently"
    assert lines[1].startswith(f"  {a}: random.bytes() -> b'")
    assert next(e.name for e in load(a).events()) == "random.bytes"
