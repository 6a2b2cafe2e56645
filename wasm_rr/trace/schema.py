"""The trace's vocabulary: format version, header and footer, and the non-event records.

A trace is one CBOR sequence (RFC 8742)::

    MAGIC  VERSION  header-map  (event | site | blob)*  END footer-map digest

Events are *flat*: an event is its code (a small unsigned integer that the header's ``kinds``
map names ``family.op``) followed by exactly ``decl.arity`` more items, the first of which is
the fuel delta (guest instructions executed since the previous event). No CBOR array wraps an
event, which keeps a clock read at 6-8 bytes and lets a whole trace decode in one call. The
kinds themselves are declared by the effect families (:mod:`wasm_rr.trace.events`).
``docs/trace-format.md`` is the specification.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..config import RunConfig, text_from_cbor, text_or_bytes
from .events import INLINE_MAX as INLINE_MAX  # re-exported

FORMAT_VERSION = 2
"""The format this wasm-rr writes. Every earlier version is still read (converted at load)."""
MAGIC = "wasm-rr trace"
MAGIC_BYTES = bytes.fromhex("d9d9f7") + bytes([0x60 + len(MAGIC)]) + MAGIC.encode()
"""Every trace starts with these bytes: tag 55799 (self-described CBOR) and the magic string."""


@dataclass(frozen=True)
class Header:
    """What was run, and how. Written first; never changes after."""

    tool_version: str
    wasmtime_version: str
    guest_blake3: str
    guest_kind: str  # "module" | "component"
    guest_name: str
    config: RunConfig
    kinds: dict[int, str] = field(default_factory=dict)
    """Event code -> ``family.op``: every kind this trace may hold."""
    start_time_ns: int = 0
    host: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    guest_wasm: bytes | None = field(default=None, repr=False)
    """The guest's own bytes, when the trace carries them (``record --embed-guest``): then the
    trace replays with nothing else. Their identity is still :attr:`guest_blake3`, checked
    before they run."""

    def to_cbor(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["guest_name"] = text_or_bytes(self.guest_name)  # a file name: bytes if not UTF-8
        d["config"] = self.config.to_cbor()
        d["kinds"] = dict(self.kinds)
        if self.guest_wasm is None:
            del d["guest_wasm"]  # absent, not null: traces without a guest stay as they were
        return d

    @classmethod
    def from_cbor(cls, data: Any) -> Header:
        if not isinstance(data, dict):
            raise ValueError("header is not a map")
        kinds = data.get("kinds", {})
        if not isinstance(kinds, dict) or not all(
            type(k) is int and isinstance(v, str) for k, v in kinds.items()
        ):
            raise ValueError("header kinds is not a map of codes to names")
        texts = ("tool_version", "wasmtime_version", "guest_blake3", "guest_kind", "guest_name")
        guest_name = text_from_cbor(data.get("guest_name"))
        if not all(isinstance(data.get(k), str) for k in texts[:-1]) or guest_name is None:
            raise ValueError("header misses a text field")
        extra = data.get("extra", {})
        start, host = data.get("start_time_ns", 0), data.get("host", "")
        if type(start) is not int or type(host) is not str or type(extra) is not dict:
            raise ValueError("header start_time_ns, host or extra has the wrong type")
        guest_wasm = data.get("guest_wasm")
        if guest_wasm is not None and type(guest_wasm) is not bytes:
            raise ValueError("header guest_wasm is not a byte string")
        tool_version, wasmtime_version, guest_blake3, guest_kind = (
            str(data[k]) for k in texts[:-1]
        )
        return cls(
            tool_version,
            wasmtime_version,
            guest_blake3,
            guest_kind,
            guest_name,
            config=RunConfig.from_cbor(data.get("config")),
            kinds=dict(kinds),
            start_time_ns=start,
            host=host,
            extra=extra,
            guest_wasm=guest_wasm,
        )


@dataclass(frozen=True)
class Trap:
    """A guest trap as reported by wasmtime: its code, message and wasm frames."""

    code: str | None
    message: str
    frames: list[list[Any]]  # [func_index, func_name | None, module_offset, func_offset]
    site: int | None = None  # the site register of a .tape program when it trapped

    def describe(self) -> str:
        return (
            f"trap {self.code or 'error'}: {self.message.splitlines()[0] if self.message else ''}"
        )


@dataclass(frozen=True)
class Outcome:
    """How a run ended: an exit status, or a trap."""

    exit_code: int | None = None
    trap: Trap | None = None

    def describe(self) -> str:
        if self.trap is not None:
            return self.trap.describe()
        return f"exit {self.exit_code}"

    def to_cbor(self) -> dict[str, Any]:
        if self.trap is not None:
            return {"trap": asdict(self.trap)}
        return {"exit": self.exit_code}

    @classmethod
    def from_cbor(cls, data: Any) -> Outcome:
        if isinstance(data, dict) and "trap" in data:
            t = data["trap"]
            if not isinstance(t, dict):
                raise ValueError("trap is not a map")
            code, message, frames, site = (
                t.get("code"),
                t.get("message"),
                t.get("frames"),
                t.get("site"),
            )
            if not (
                (code is None or type(code) is str)
                and type(message) is str
                and (site is None or type(site) is int)
                and type(frames) is list
                and all(_is_frame(f) for f in frames)
            ):
                raise ValueError("trap fields have the wrong types")
            return cls(trap=Trap(code=code, message=message, frames=frames, site=site))
        if isinstance(data, dict) and "exit" in data and type(data["exit"]) is int:
            return cls(exit_code=data["exit"])
        raise ValueError("outcome is neither an exit nor a trap")


def _is_frame(frame: Any) -> bool:
    """``[func_index, func_name or null, module_offset, func_offset]``."""
    return (
        type(frame) is list
        and len(frame) == 4
        and type(frame[0]) is int
        and (frame[1] is None or type(frame[1]) is str)
        and type(frame[2]) is int
        and type(frame[3]) is int
    )


@dataclass(frozen=True)
class Signature:
    """Who signed a trace, and the keyed blake3 that proves it (:mod:`.sign`)."""

    key_id: str
    """16 hex digits of the blake3 of the signer's key: a name for the key, not the key."""
    keyed_blake3: bytes
    """32 bytes: the blake3, keyed with the signer's key, of every byte of the trace before
    the footer, then of the footer without this signature (see docs/trace-format.md)."""

    def to_cbor(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "keyed_blake3": self.keyed_blake3}

    @classmethod
    def from_cbor(cls, data: Any) -> Signature:
        if not (
            type(data) is dict
            and type(data.get("key_id")) is str
            and 0 < len(data["key_id"]) <= 64
            and type(data.get("keyed_blake3")) is bytes
            and len(data["keyed_blake3"]) == 32
        ):
            raise ValueError("footer signature is not {key_id: text, keyed_blake3: 32 bytes}")
        return cls(data["key_id"], data["keyed_blake3"])


@dataclass(frozen=True)
class Footer:
    """Written last, when the run ended: what the run produced."""

    events: int
    outcome: Outcome
    stdout_blake3: str
    stderr_blake3: str
    stdout_bytes: int
    stderr_bytes: int
    end_time_ns: int = 0
    signature: Signature | None = None
    """``record --sign``: the signer's key id and keyed blake3 (absent from unsigned traces,
    and from every trace written before signatures existed)."""

    def to_cbor(self) -> dict[str, Any]:
        d = {
            "events": self.events,
            "outcome": self.outcome.to_cbor(),
            "stdout_blake3": self.stdout_blake3,
            "stderr_blake3": self.stderr_blake3,
            "stdout_bytes": self.stdout_bytes,
            "stderr_bytes": self.stderr_bytes,
            "end_time_ns": self.end_time_ns,
        }
        if self.signature is not None:
            d["signature"] = self.signature.to_cbor()  # last: see sign.py
        return d

    @classmethod
    def from_cbor(cls, data: Any) -> Footer:
        if not isinstance(data, dict):
            raise ValueError("footer is not a map")
        counts = ("events", "stdout_bytes", "stderr_bytes")
        if not all(type(data.get(k)) is int and data[k] >= 0 for k in counts):
            raise ValueError("footer counts are not unsigned integers")
        if not all(type(data.get(k)) is str for k in ("stdout_blake3", "stderr_blake3")):
            raise ValueError("footer digests are not text")
        if type(data.get("end_time_ns", 0)) is not int:
            raise ValueError("footer end_time_ns is not an integer")
        return cls(
            events=int(data["events"]),
            outcome=Outcome.from_cbor(data["outcome"]),
            stdout_blake3=str(data["stdout_blake3"]),
            stderr_blake3=str(data["stderr_blake3"]),
            stdout_bytes=int(data["stdout_bytes"]),
            stderr_bytes=int(data["stderr_bytes"]),
            end_time_ns=data.get("end_time_ns", 0),
            signature=None if "signature" not in data else Signature.from_cbor(data["signature"]),
        )


__all__ = [
    "FORMAT_VERSION",
    "INLINE_MAX",
    "MAGIC",
    "MAGIC_BYTES",
    "Footer",
    "Header",
    "Outcome",
    "Signature",
    "Trap",
]
