"""The first divergence between two traces, and what kind it is.

Two recordings of the same guest differ first either because the program took another path
(another kind of call, or the same call after a different number of instructions), asked
another question (same call, other arguments), or because the world answered differently (same
call, same question, other answer). That is the cheapest debugging a pair of traces allows.
Which fields are the question and which the answer comes from each kind's declaration; clock
reads are compared as the values the guest saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

from .reader import Event, Trace
from .view import event_json as _event_json
from .view import text

PATH = "the program took a different path"
ARGS = "the program asked a different question"
WORLD = "the world answered differently"
FUEL = "the program ran different instructions before this call"
LENGTH = "one run made more calls than the other"

CLASSES = {PATH: "path", ARGS: "question", WORLD: "answer", FUEL: "fuel", LENGTH: "length"}


@dataclass(frozen=True)
class Divergence:
    seq: int
    why: str
    a: Event | None
    b: Event | None


def same_path(ea: Event, eb: Event) -> bool:
    return ea.name == eb.name


def same_question(ea: Event, eb: Event) -> bool:
    return ea.question == eb.question


def same_answer(ea: Event, eb: Event) -> bool:
    return ea.answer == eb.answer


def same_fuel(ea: Event, eb: Event) -> bool:
    return ea.fuel == eb.fuel


MATCHERS = ((same_path, PATH), (same_question, ARGS), (same_answer, WORLD), (same_fuel, FUEL))
"""The matchers, in the order a divergence is classified by."""


def first_divergence(a: Trace, b: Trace) -> Divergence | None:
    """The first event where ``a`` and ``b`` differ, or None if their events are the same."""
    for ea, eb in zip_longest(a.events(absolute=True), b.events(absolute=True)):
        if ea is None or eb is None:
            extra = ea if ea is not None else eb
            assert extra is not None  # zip_longest pads one side only
            return Divergence(extra.seq, LENGTH, ea, eb)
        for matches, why in MATCHERS:
            if not matches(ea, eb):
                return Divergence(ea.seq, why, ea, eb)
    return None


def describe_event(event: Event | None) -> str:
    """``random.bytes() -> b'\\x07' (after 51 instructions)``."""
    if event is None:
        return "no event (the run ended)"
    from ..world.base import describe

    answer = ", ".join(text(x) for x in event.answer)
    return f"{describe(event.decl, event.question)} -> {answer} (after {event.fuel} instructions)"


def event_json(event: Event | None) -> dict[str, Any] | None:
    """The event as ``inspect --json`` shows it (:func:`.view.event_json`)."""
    return None if event is None else _event_json(event)


def divergence_json(found: Divergence | None, a: Trace, b: Trace) -> dict[str, Any]:
    if found is None:
        return {"diverged": False, "events": sum(1 for _ in a.events())}
    return {
        "diverged": True,
        "seq": found.seq,
        "class": CLASSES[found.why],
        "why": found.why,
        "a": {"path": a.path, "event": event_json(found.a)},
        "b": {"path": b.path, "event": event_json(found.b)},
    }


__all__ = [
    "ARGS",
    "CLASSES",
    "FUEL",
    "LENGTH",
    "MATCHERS",
    "PATH",
    "WORLD",
    "Divergence",
    "describe_event",
    "divergence_json",
    "event_json",
    "first_divergence",
    "same_answer",
    "same_fuel",
    "same_path",
    "same_question",
]
