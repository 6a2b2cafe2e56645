"""Checking integer arguments of witx enum and flags types as wasmtime's preview1 does.

An i32 argument reaches a host function as an unsigned 32-bit value; wiggle first converts it
to the witx type's own width (a value of 2^31 or more is a negative i32: "too small"; one
wider than the type: "too large"), then checks it is one of the enum's cases or carries only
the flags' bits. Each failure is a trap with wiggle's message.
"""

from __future__ import annotations

from ..outcome import GuestTrap


def narrow(value: int, bits: int) -> int:
    """``value`` (an i32 argument, as unsigned) converted to an unsigned ``bits``-bit type."""
    if value >= 1 << 31:
        raise GuestTrap("number too small to fit in target type")
    if value >= 1 << bits:
        raise GuestTrap("number too large to fit in target type")
    return value


def enum_arg(value: int, bits: int, cases: int, name: str) -> int:
    """An enum argument of ``cases`` cases (0 to cases-1) in a ``bits``-bit type."""
    if narrow(value, bits) >= cases:
        raise GuestTrap(f"Invalid enum value {name}")
    return value


def flags_arg(value: int, bits: int, mask: int, name: str) -> int:
    """A flags argument whose defined bits are ``mask``, in a ``bits``-bit type."""
    if narrow(value, bits) & ~mask:
        raise GuestTrap(f"Invalid flag value {name}")
    return value


__all__ = [
    "enum_arg",
    "flags_arg",
    "narrow",
]
