"""The trace's vocabulary: format version, event kinds and their fields, header and footer.

A trace is one CBOR sequence (RFC 8742)::

    MAGIC  VERSION  header-map  (event | blob)*  END footer-map digest

Events are *flat*: an event is its kind (a small unsigned integer) followed by exactly
``ARITY[kind]`` more items, the first of which is the fuel delta (guest instructions executed
since the previous event). No CBOR array wraps an event, which keeps a clock read at 6-8 bytes
and lets a whole trace decode in one call. ``docs/trace-format.md`` is the specification.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT_VERSION = 1
MAGIC = "wasm-rr trace"
SELF_DESCRIBE_TAG = 55799
MAGIC_BYTES = bytes.fromhex("d9d9f7") + bytes([0x60 + len(MAGIC)]) + MAGIC.encode()
"""Every trace starts with these bytes: tag 55799 (self-described CBOR) and the magic string."""

INLINE_MAX = 64
"""Payloads up to this many bytes are stored inside the event; larger ones become blobs."""


class Kind:
    """Event kinds. Numbers below 24 encode in one byte; 0 never starts an item (padding).

    Plain ints, not an enum: the hot paths read these constants on every event, and reading
    an enum member costs several hundred nanoseconds there.
    """

    CLOCK_NOW = 1  # fuel, clock_id, delta-from-previous-value-of-that-clock (ns)
    CLOCK_RES = 2  # fuel, clock_id, resolution (ns)
    RANDOM = 3  # fuel, payload (the bytes; their count is the question)
    ARGS = 4  # fuel, [bytes...]
    ENVIRON = 5  # fuel, [b"K=V"...]
    READ = 6  # fuel, fd, max_len, payload or errno name
    WRITE = 7  # fuel, fd, payload, written count or errno name
    ISATTY = 8  # fuel, fd, 0|1
    POLL = 9  # fuel, [subscription...], [event...]
    EXIT = 10  # fuel, status
    RANDOM_INSECURE = 11  # fuel, payload
    FS = 12  # fuel, op, [args...], answer (an errno name when it is a text string)
    SITE = 21  # site id -- not an event: the source site of the event that follows
    BLOB = 22  # blake3 digest (32 bytes), data  -- not an event: no fuel, no seq
    END = 23  # footer map, then the digest item -- not an event


ARITY: dict[int, int] = {
    Kind.CLOCK_NOW: 3,
    Kind.CLOCK_RES: 3,
    Kind.RANDOM: 2,
    Kind.ARGS: 2,
    Kind.ENVIRON: 2,
    Kind.READ: 4,
    Kind.WRITE: 4,
    Kind.ISATTY: 3,
    Kind.POLL: 3,
    Kind.EXIT: 2,
    Kind.RANDOM_INSECURE: 2,
    Kind.FS: 4,
    Kind.SITE: 1,
    Kind.BLOB: 2,
    Kind.END: 2,
}
"""How many items follow each kind (for END: the footer map and the digest)."""

QUESTION: dict[int, int] = {
    Kind.CLOCK_NOW: 1,
    Kind.CLOCK_RES: 1,
    Kind.RANDOM: 0,
    Kind.ARGS: 0,
    Kind.ENVIRON: 0,
    Kind.READ: 2,
    Kind.WRITE: 1,
    Kind.ISATTY: 1,
    Kind.POLL: 1,
    Kind.EXIT: 1,
    Kind.RANDOM_INSECURE: 0,
    Kind.FS: 2,
}
"""How many fields after the fuel delta are the guest's question (checked on replay)."""

KIND_NAMES: dict[int, str] = {
    Kind.CLOCK_NOW: "clock.now",
    Kind.CLOCK_RES: "clock.resolution",
    Kind.RANDOM: "random.bytes",
    Kind.ARGS: "cli.args",
    Kind.ENVIRON: "cli.environ",
    Kind.READ: "io.read",
    Kind.WRITE: "io.write",
    Kind.ISATTY: "io.isatty",
    Kind.POLL: "poll",
    Kind.EXIT: "cli.exit",
    Kind.RANDOM_INSECURE: "random.insecure",
    Kind.FS: "fs",
}


class FsOp:
    """The operation of an FS event (its first field after the fuel)."""

    OPEN = 1  # [dir, path, flags] -> [handle, type]
    CLOSE = 2  # [handle] -> null
    READ = 3  # [handle, max_len, offset] -> payload
    WRITE = 4  # [handle, data-or-blake3, len, offset] -> count
    APPEND = 5  # [handle, data-or-blake3, len] -> count
    STAT = 6  # [handle] -> stat
    STAT_AT = 7  # [dir, path, follow] -> stat
    SET_SIZE = 8  # [handle, size] -> null
    SET_TIMES = 9  # [handle, atim, mtim] -> null
    SET_TIMES_AT = 10  # [dir, path, follow, atim, mtim] -> null
    READDIR = 11  # [handle] -> [[name, type, ino]...]
    MKDIR = 12  # [dir, path] -> null
    RMDIR = 13  # [dir, path] -> null
    UNLINK = 14  # [dir, path] -> null
    RENAME = 15  # [dir, path, new_dir, new_path] -> null
    LINK = 16  # [dir, path, follow, new_dir, new_path] -> null
    SYMLINK = 17  # [target, dir, path] -> null
    READLINK = 18  # [dir, path] -> target (bytes)
    SYNC = 19  # [handle, data_only] -> null
    ADVISE = 20  # [handle, offset, len, advice] -> null
    ALLOCATE = 21  # [handle, offset, len] -> null


FS_OP_NAMES: dict[int, str] = {
    v: k.lower() for k, v in vars(FsOp).items() if k.isupper() and isinstance(v, int)
}


def describe_call(kind: int, question: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The name and arguments a call is shown with (FS events show their operation)."""
    if kind == Kind.FS and len(question) == 2 and question[0] in FS_OP_NAMES:
        return f"fs.{FS_OP_NAMES[question[0]]}", tuple(question[1])
    return kind_name(kind), question


def kind_name(kind: object) -> str:
    """The user-facing name of a kind, or a description of a non-kind item."""
    if isinstance(kind, int) and kind in KIND_NAMES:
        return KIND_NAMES[kind]
    return f"<item {kind!r}>"


@dataclass(frozen=True)
class Header:
    """What was run, and how. Written first; never changes after."""

    tool_version: str
    wasmtime_version: str
    guest_blake3: str
    guest_kind: str  # "module" | "component"
    guest_name: str
    argv: list[str]
    env: dict[str, str]
    preopens: list[list[str]] = field(default_factory=list)  # [host, guest, mode]
    start_time_ns: int = 0
    host: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_cbor(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_cbor(cls, data: Any) -> Header:
        if not isinstance(data, dict):
            raise ValueError("header is not a map")
        names = {f for f in cls.__dataclass_fields__}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**known)


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
            return cls(
                trap=Trap(
                    code=t.get("code"), message=t["message"], frames=t["frames"], site=t.get("site")
                )
            )
        if isinstance(data, dict) and "exit" in data:
            return cls(exit_code=int(data["exit"]))
        raise ValueError("outcome is neither an exit nor a trap")


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

    def to_cbor(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.to_cbor()
        return d

    @classmethod
    def from_cbor(cls, data: Any) -> Footer:
        if not isinstance(data, dict):
            raise ValueError("footer is not a map")
        return cls(
            events=int(data["events"]),
            outcome=Outcome.from_cbor(data["outcome"]),
            stdout_blake3=str(data["stdout_blake3"]),
            stderr_blake3=str(data["stderr_blake3"]),
            stdout_bytes=int(data["stdout_bytes"]),
            stderr_bytes=int(data["stderr_bytes"]),
            end_time_ns=int(data.get("end_time_ns", 0)),
        )
