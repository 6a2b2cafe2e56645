"""The WASI 0.2 types the host uses: resource ids, records, enums, variants, error mappings.

Every interface is registered at :data:`VERSION`; wasmtime's semver matching links a component
importing any ``wasi:*@0.2.x`` against it (0.2.0 through 0.2.12).
"""

from __future__ import annotations

from ...world import WorldError
from . import canon
from .canon import BOOL_T, STRING_T, U32_T, U64_T
from .host import ErrorEnum, ErrorVariant

VERSION = "0.2.12"


def iface(name: str) -> str:
    """``wasi:io/streams`` -> ``wasi:io/streams@0.2.12``."""
    return f"{name}@{VERSION}"


# Host resource type ids (any distinct u32s).
ERROR = 1
POLLABLE = 2
INPUT_STREAM = 3
OUTPUT_STREAM = 4
TERMINAL_INPUT = 5
TERMINAL_OUTPUT = 6
DESCRIPTOR = 7
DIRECTORY_ENTRY_STREAM = 8

DATETIME = canon.Record(("seconds", U64_T), ("nanoseconds", U32_T))

ERROR_CODES = (
    "access",
    "would-block",
    "already",
    "bad-descriptor",
    "busy",
    "deadlock",
    "quota",
    "exist",
    "file-too-large",
    "illegal-byte-sequence",
    "in-progress",
    "interrupted",
    "invalid",
    "io",
    "is-directory",
    "loop",
    "too-many-links",
    "message-size",
    "name-too-long",
    "no-device",
    "no-entry",
    "no-lock",
    "insufficient-memory",
    "insufficient-space",
    "not-directory",
    "not-empty",
    "not-recoverable",
    "unsupported",
    "no-tty",
    "no-such-device",
    "overflow",
    "not-permitted",
    "pipe",
    "read-only",
    "invalid-seek",
    "text-file-busy",
    "cross-device",
)

ERRNO_TO_CODE: dict[str, str] = {
    "EACCES": "access",
    "EAGAIN": "would-block",
    "EWOULDBLOCK": "would-block",
    "EALREADY": "already",
    "EBADF": "bad-descriptor",
    "EBUSY": "busy",
    "EDEADLK": "deadlock",
    "EDQUOT": "quota",
    "EEXIST": "exist",
    "EFBIG": "file-too-large",
    "EILSEQ": "illegal-byte-sequence",
    "EINPROGRESS": "in-progress",
    "EINTR": "interrupted",
    "EINVAL": "invalid",
    "EIO": "io",
    "EISDIR": "is-directory",
    "ELOOP": "loop",
    "EMLINK": "too-many-links",
    "EMSGSIZE": "message-size",
    "ENAMETOOLONG": "name-too-long",
    "ENODEV": "no-device",
    "ENOENT": "no-entry",
    "ENOLCK": "no-lock",
    "ENOMEM": "insufficient-memory",
    "ENOSPC": "insufficient-space",
    "ENOTDIR": "not-directory",
    "ENOTEMPTY": "not-empty",
    "ENOTRECOVERABLE": "not-recoverable",
    "ENOTSUP": "unsupported",
    "EOPNOTSUPP": "unsupported",
    "ENOSYS": "unsupported",
    "ENOTTY": "no-tty",
    "ENXIO": "no-such-device",
    "EOVERFLOW": "overflow",
    "EPERM": "not-permitted",
    "ENOTCAPABLE": "not-permitted",  # a path leaving its preopen, as wasmtime (cap-std) says
    "EPIPE": "pipe",
    "EROFS": "read-only",
    "ESPIPE": "invalid-seek",
    "ETXTBSY": "text-file-busy",
    "EXDEV": "cross-device",
}
"""POSIX errno names (as the world reports them) to ``wasi:filesystem/types.error-code``, the
mapping of wasmtime's WASI 0.2 host; names without a counterpart become ``io``."""


def error_code_of(err: WorldError) -> str:
    return ERRNO_TO_CODE.get(err.name, "io")


ERROR_CODE = ErrorEnum(ERROR_CODES, error_code_of)


class IoError:
    """A ``wasi:io/error.error``: what went wrong in a stream operation (an errno name)."""

    def __init__(self, errno_name: str) -> None:
        self.errno_name = errno_name

    def debug_string(self) -> str:
        return f"{self.errno_name} ({ERRNO_TO_CODE.get(self.errno_name, 'io')})"


def stream_error_of(err: WorldError) -> canon.Case:
    return ("last-operation-failed", IoError(err.name))


STREAM_ERROR = ErrorVariant(
    (("last-operation-failed", canon.Own(ERROR)), ("closed", None)), stream_error_of
)
CLOSED = ("closed", None)

DESCRIPTOR_TYPE = canon.Enum(
    "unknown",
    "block-device",
    "character-device",
    "directory",
    "fifo",
    "symbolic-link",
    "regular-file",
    "socket",
)
DESCRIPTOR_FLAGS = canon.Flags(
    "read",
    "write",
    "file-integrity-sync",
    "data-integrity-sync",
    "requested-write-sync",
    "mutate-directory",
)
PATH_FLAGS = canon.Flags("symlink-follow")
OPEN_FLAGS = canon.Flags("create", "directory", "exclusive", "truncate")
DESCRIPTOR_STAT = canon.Record(
    ("type", DESCRIPTOR_TYPE),
    ("link-count", U64_T),
    ("size", U64_T),
    ("data-access-timestamp", canon.Option(DATETIME)),
    ("data-modification-timestamp", canon.Option(DATETIME)),
    ("status-change-timestamp", canon.Option(DATETIME)),
)
NEW_TIMESTAMP = canon.Variant(("no-change", None), ("now", None), ("timestamp", DATETIME))
DIRECTORY_ENTRY = canon.Record(("type", DESCRIPTOR_TYPE), ("name", STRING_T))
ADVICE = canon.Enum("normal", "sequential", "random", "will-need", "dont-need", "no-reuse")
METADATA_HASH_VALUE = canon.Record(("lower", U64_T), ("upper", U64_T))

__all__ = ["BOOL_T", "STRING_T", "U32_T", "U64_T"]
