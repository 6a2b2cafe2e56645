"""The trace file: schema, streaming writer, verifying reader.

The reader and the writer are imported when first named here (a recording run never loads
the reader: start-up, issue 12)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .schema import FORMAT_VERSION, Footer, Header, Outcome, Trap

if TYPE_CHECKING:
    from .reader import Event, Trace, load
    from .writer import TraceWriter

_LAZY = {"Event": "reader", "Trace": "reader", "load": "reader", "TraceWriter": "writer"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{module}"), name)


__all__ = [
    "FORMAT_VERSION",
    "Event",
    "Footer",
    "Header",
    "Outcome",
    "Trace",
    "TraceWriter",
    "Trap",
    "load",
]
