"""Editing traces for tests: re-write a trace with changed events, footer or version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wasm_rr.trace import Event, Footer, TraceWriter, load
from wasm_rr.trace import writer as writer_mod
from wasm_rr.trace.reader import _PAYLOAD_SLOTS

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
    if version is not None:
        # Re-write the prefix with another format version number.
        w._pos = 0
        w.write_raw(
            writer_mod.MAGIC_BYTES
            + writer_mod.enc_int(version)
            + bytes(writer_mod.cbor2.dumps(trace.header.to_cbor()))
        )
    for ev in evs:
        fields = [
            w.payload(f) if (ev.kind, j) in _PAYLOAD_SLOTS and isinstance(f, bytes) else f
            for j, f in enumerate(ev.fields)
        ]
        w.event_with_fuel(ev.kind, ev.fuel, *fields)
    w.close(foot)


def with_event(evs: list[Event], index: int, **changes: object) -> list[Event]:
    out = list(evs)
    out[index] = replace(out[index], **changes)  # type: ignore[arg-type]
    return out
