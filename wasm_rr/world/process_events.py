"""The process family's kinds (:mod:`wasm_rr.world.process` implements it): what the
registry, a trace's header and its readers need, without importing the implementation."""

from __future__ import annotations

from ..trace.events import EventDecl, each, f
from .family import Declaration

FAMILY_NAME = "process"

_QUESTION = (
    f("program", "str"),
    f("args", "list", of=each("str")),
    f("cwd", "str"),
    f("env", "list", of=each("str")),
    f("stdin", "bytes"),
    f("timeout_ms", "uint"),
)
RUN = EventDecl(
    FAMILY_NAME,
    "run",
    _QUESTION,
    (
        f("error", "str", nullable=True),
        f("path", "str", nullable=True),
        f("status", "s32"),
        f("signal", "u32"),
        f("timed_out", "bool"),
        f("stdout", "payload"),
        f("stderr", "payload"),
        f("duration_ns", "uint"),
    ),
    doc="a host program run to completion (or refused: error is an errno name)",
)
WASM_START = EventDecl(
    FAMILY_NAME,
    "wasm_start",
    _QUESTION,
    (f("error", "str", nullable=True), f("guest_blake3", "str", nullable=True)),
    doc="a wasm child starts; its own events follow",
)
WASM_END = EventDecl(
    FAMILY_NAME,
    "wasm_end",
    (),
    (
        f("status", "s32"),
        f("stdout_blake3", "bytes"),
        f("stderr_blake3", "bytes"),
        f("stdout_bytes", "uint"),
        f("stderr_bytes", "uint"),
    ),
    doc="a wasm child ended (its output is re-made on replay and checked against these)",
)


DECLARATION = Declaration(
    FAMILY_NAME,
    (RUN, WASM_START, WASM_END),
    "wasm_rr.world.process",
    doc="host programs run by the guest (allow-listed), and wasm children run in process",
)

__all__ = [
    "DECLARATION",
    "FAMILY_NAME",
    "RUN",
    "WASM_END",
    "WASM_START",
]
