"""The first divergence between two traces, and what kind it is.

Two recordings of the same guest differ first either because the program took another path
(another kind of call, or the same call after a different number of instructions), asked
another question (same call, other arguments), or because the world answered differently (same
call, same question, other answer). That is the cheapest debugging a pair of traces allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import zip_longest

from .reader import Event, Trace
from .schema import QUESTION, describe_call

PATH = "the program took a different path"
ARGS = "the program asked a different question"
WORLD = "the world answered differently"
FUEL = "the program ran different instructions before this call"
LENGTH = "one run made more calls than the other"


@dataclass(frozen=True)
class Divergence:
    seq: int
    why: str
    a: Event | None
    b: Event | None


def first_divergence(a: Trace, b: Trace) -> Divergence | None:
    """The first event where ``a`` and ``b`` differ, or None if their events are the same."""
    for ea, eb in zip_longest(a.events(), b.events()):
        if ea is None or eb is None:
            seq = (ea or eb).seq  # type: ignore[union-attr]
            return Divergence(seq, LENGTH, ea, eb)
        if ea.kind != eb.kind:
            return Divergence(ea.seq, PATH, ea, eb)
        nq = QUESTION.get(ea.kind, 0)
        if ea.fields[:nq] != eb.fields[:nq]:
            return Divergence(ea.seq, ARGS, ea, eb)
        if ea.fields[nq:] != eb.fields[nq:]:
            return Divergence(ea.seq, WORLD, ea, eb)
        if ea.fuel != eb.fuel:
            return Divergence(ea.seq, FUEL, ea, eb)
    return None


def describe_event(event: Event | None) -> str:
    """``random.bytes() -> b'\\x07' (after 51 instructions)``."""
    if event is None:
        return "no event (the run ended)"
    nq = QUESTION.get(event.kind, 0)
    name, question = describe_call(event.kind, event.fields[:nq])
    answer = event.fields[nq:]
    shown_q = ", ".join(_short(q) for q in question)
    shown_a = ", ".join(_short(x) for x in answer)
    return f"{name}({shown_q}) -> {shown_a} (after {event.fuel} instructions)"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
