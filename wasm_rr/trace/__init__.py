"""The trace file: schema, streaming writer, verifying reader."""

from .reader import Event, Trace, load
from .schema import FORMAT_VERSION, Footer, Header, Outcome, Trap
from .writer import TraceWriter

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
