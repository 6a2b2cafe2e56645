"""Every effect family, in the order their kinds are numbered in a new trace.

Adding a family is one line here (see ``docs/architecture.md``, "Adding an effect family").
A family most guests never use is listed by its :class:`~wasm_rr.world.family.Declaration`
(its kinds only): its implementation is imported when a run first asks for it.
Never reorder or remove a line: a trace names its kinds, so old traces would still replay, but
new traces would number kinds differently for no reason.
"""

from __future__ import annotations

from ..trace.events import EventDecl
from . import cli, clocks, fs, http_events, journal, poll, process_events, random, stdio
from .family import Declared

FAMILIES: tuple[Declared, ...] = (
    clocks.FAMILY,
    random.FAMILY,
    cli.FAMILY,
    stdio.FAMILY,
    poll.FAMILY,
    fs.FAMILY,
    process_events.DECLARATION,
    http_events.DECLARATION,
    journal.FAMILY,
)

EVENTS: dict[str, EventDecl] = {e.name: e for fam in FAMILIES for e in fam.events}
"""Every event kind this wasm-rr knows, by ``family.op`` name."""

__all__ = [
    "EVENTS",
    "FAMILIES",
]
