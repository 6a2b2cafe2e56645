"""Editing traces for tests: re-write a trace with changed events, footer or version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wasm_rr.trace import Event, Footer, TraceWriter, load
from wasm_rr.trace import writer as writer_mod

EventsEdit = Callable[[list[Event]], list[Event]]
FooterEdit = Callable[[Footer], Footer]


def rewrite(
    src: Path,
    dst: Path,
    events: EventsEdit | None = None,
    footer: FooterEdit | None = None,
    version: int | None = None,
) -> None:
    trace = load(src)
    evs = list(trace.events())
    if events is not None:
        evs = events(evs)
    assert trace.footer is not None
    foot = replace(trace.footer, events=len(evs))
    if footer is not None:
        foot = footer(foot)
    w = TraceWriter(dst, trace.header)
    for ev in evs:
        fields = [
            w.payload(f)
            if ev.decl is not None and j in ev.decl.payload_slots and isinstance(f, bytes)
            else f
            for j, f in enumerate(ev.fields)
        ]
        code = w.code(ev.decl) if ev.decl is not None else ev.kind
        w.event_with_fuel(code, ev.fuel, *fields)
    w.close(foot)
    if version is not None:
        set_version(dst, version)


def set_version(path: Path, version: int) -> None:
    """Change a complete trace's format version number, keeping its digest valid."""
    assert 0 <= version < 24
    data = bytearray(path.read_bytes())
    assert data[len(writer_mod.MAGIC_BYTES)] < 24
    data[len(writer_mod.MAGIC_BYTES)] = version
    data[-32:] = writer_mod.blake3.blake3(bytes(data[:-34])).digest()
    path.write_bytes(bytes(data))


def with_event(evs: list[Event], index: int, **changes: object) -> list[Event]:
    out = list(evs)
    out[index] = replace(out[index], **changes)  # type: ignore[arg-type]
    return out
