"""How a call into wasm ended, for both runners (core modules and components).

A host function that ends the run raises :class:`GuestExit` (``proc_exit``, ``wasi:cli/exit``)
or :class:`GuestTrap` (something wasmtime answers with a trap: an exit status of 126 or more,
a bad enum or flags value, a pointer out of bounds, ``poll`` of no pollables); the host keeps
the exception as its *pending* reason and makes the call trap. When the call into wasm returns
with wasmtime's error, :func:`settle` turns the pair into an
:class:`~wasm_rr.trace.schema.Outcome` (an exit status, or a trap with its code, message and
wasm frames), or re-raises any other pending exception (a drift error, an interrupt)
unchanged. A guest stopped by Ctrl-C or ``--timeout`` is raised by the runners before they
settle (:mod:`wasm_rr.abi.interrupt`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import wasmtime

from ..trace.schema import Outcome, Trap
from ._wasmtime import error_frames


class GuestExit(Exception):
    """The guest asked to exit: the run ends with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(f"guest exited with status {status}")
        self.status = status


class GuestTrap(Exception):
    """The guest did something wasmtime answers with a trap; the message is the trap's."""


WasmFailure = (wasmtime.WasmtimeError, wasmtime.Trap)
"""What a call into wasm (or instantiation) raises when it does not return normally."""

Failure = wasmtime.WasmtimeError | wasmtime.Trap

HostErrorHook = Callable[[BaseException, int | None], BaseException | None]
"""Given a host error and the guest's site register, an error to raise in its place (or None)."""

# wasmtime's messages for its trap codes (the last line of a component trap's error).
_TRAP_MESSAGES = {
    "call stack exhausted": "STACK_OVERFLOW",
    "out of bounds memory access": "MEMORY_OUT_OF_BOUNDS",
    "unaligned atomic": "HEAP_MISALIGNED",
    "undefined element: out of bounds table access": "TABLE_OUT_OF_BOUNDS",
    "uninitialized element": "INDIRECT_CALL_TO_NULL",
    "indirect call type mismatch": "BAD_SIGNATURE",
    "integer overflow": "INTEGER_OVERFLOW",
    "integer divide by zero": "INTEGER_DIVISION_BY_ZERO",
    "invalid conversion to integer": "BAD_CONVERSION_TO_INTEGER",
    "wasm `unreachable` instruction executed": "UNREACHABLE",
    "interrupt": "INTERRUPT",
    "all fuel consumed by WebAssembly": "OUT_OF_FUEL",
}
OUT_OF_FUEL_MESSAGE = "all fuel consumed by WebAssembly"
"""wasmtime's message for a store that ran out of fuel (a replay stopping its guest where
the recording was stopped: see ``wasm_rr.world.stops``)."""


def frames_of(err: Failure) -> list[list[object]]:
    """The wasm frames of a trap or error: ``[func_index, func_name, module_offset,
    func_offset]`` each (a component's trap arrives as an error; its frames are recovered)."""
    frames = err.frames if isinstance(err, wasmtime.Trap) else error_frames(err)
    return [[f.func_index, f.func_name, f.module_offset, f.func_offset] for f in frames]


def last_line(text: str) -> str:
    """The last line of wasmtime's error: its root cause, without the ``N: `` of a chain."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return re.sub(r"^\d+: ", "", lines[-1]) if lines else ""


def trap_of(
    err: Failure,
    host_reason: BaseException | None,
    *,
    site: int | None = None,
    codes_from_message: bool = False,
) -> Trap:
    """The trap ``err`` reports (code ``HOST`` and the host's message when a host function
    asked for it). A core module's trap carries its code; a component's arrives as an error
    whose last line is wasmtime's message for the code (``codes_from_message``)."""
    code = None
    if isinstance(err, wasmtime.Trap):
        tc = err.trap_code
        code = tc.name if tc is not None else None
        message = last_line(err.message)
    else:
        message = last_line(str(err))
        if codes_from_message:
            code = _TRAP_MESSAGES.get(message.removeprefix("wasm trap: "))
    if host_reason is not None:
        message = str(host_reason)
        code = "HOST"
    return Trap(code=code, message=message, frames=frames_of(err), site=site)


def settle(
    reason: BaseException | None,
    err: Failure,
    *,
    site: int | None = None,
    codes_from_message: bool = False,
    host_error: HostErrorHook | None = None,
) -> Outcome:
    """Turn what ended the call into wasm (``err``, and the host's pending ``reason``) into an
    outcome, or re-raise a host error (through ``host_error``, which may name it better).

    Call it while the store is still alive: ``site`` (a .tape program's site register) and
    the frames are read from it."""
    if reason is None:
        return Outcome(trap=trap_of(err, None, site=site, codes_from_message=codes_from_message))
    if isinstance(reason, GuestExit):
        return Outcome(exit_code=reason.status)
    if isinstance(reason, GuestTrap):
        return Outcome(trap=trap_of(err, reason, site=site, codes_from_message=codes_from_message))
    if host_error is not None:
        replacement = host_error(reason, site)
        if replacement is not None:
            raise replacement from None
    raise reason


__all__ = [
    "OUT_OF_FUEL_MESSAGE",
    "Failure",
    "GuestExit",
    "GuestTrap",
    "HostErrorHook",
    "WasmFailure",
    "frames_of",
    "last_line",
    "settle",
    "trap_of",
]
