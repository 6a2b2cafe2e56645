"""Every effect family, in the order their kinds are numbered in a new trace.

Adding a family is one line here (see ``docs/architecture.md``, "Adding an effect family").
Never reorder or remove a line: a trace names its kinds, so old traces would still replay, but
new traces would number kinds differently for no reason.
"""

from __future__ import annotations

from typing import Any

from ..trace.events import EventDecl
from . import cli, clocks, fs, http, journal, poll, process, random, stdio
from .family import Family

FAMILIES: tuple[Family[Any], ...] = (
    clocks.FAMILY,
    random.FAMILY,
    cli.FAMILY,
    stdio.FAMILY,
    poll.FAMILY,
    fs.FAMILY,
    process.FAMILY,
    http.FAMILY,
    journal.FAMILY,
)

EVENTS: dict[str, EventDecl] = {e.name: e for fam in FAMILIES for e in fam.events}
"""Every event kind this wasm-rr knows, by ``family.op`` name."""
