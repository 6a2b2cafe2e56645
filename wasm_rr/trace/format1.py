"""Format 1 traces (wasm-rr 0.1), converted at load time into the current shape.

Format 1 numbered its kinds globally (1..12) instead of naming them in the header, and stored
every file-system call as one kind (12) whose first field was the operation. The table below is
that format's frozen vocabulary; it never changes, so a format-1 trace replays forever.
"""

from __future__ import annotations

from typing import Any

from ..config import RunConfig
from .events import RECORD_ARITY
from .schema import Header

KINDS: dict[int, str] = {
    1: "clock.now",
    2: "clock.resolution",
    3: "random.bytes",
    4: "cli.args",
    5: "cli.environ",
    6: "io.read",
    7: "io.write",
    8: "io.isatty",
    9: "poll.wait",
    10: "cli.exit",
    11: "random.insecure",
}
ARITY = {1: 3, 2: 3, 3: 2, 4: 2, 5: 2, 6: 4, 7: 4, 8: 3, 9: 3, 10: 2, 11: 2, 12: 4}
FS = 12
FS_OPS = [
    "open",
    "close",
    "read",
    "write",
    "append",
    "stat",
    "stat_at",
    "set_size",
    "set_times",
    "set_times_at",
    "readdir",
    "mkdir",
    "rmdir",
    "unlink",
    "rename",
    "link",
    "symlink",
    "readlink",
    "sync",
    "advise",
    "allocate",
]
"""Format 1's file-system operations, numbered from 1; they become kinds ``fs.<op>``."""
FS_BASE = 24
"""Converted ``fs.<op>`` events get code FS_BASE + op."""


def kinds() -> dict[int, str]:
    """The kinds table of a converted format-1 trace."""
    table = dict(KINDS)
    for i, op in enumerate(FS_OPS, start=1):
        table[FS_BASE + i] = f"fs.{op}"
    return table


def header(data: Any) -> Header:
    """A format-1 header map as a current :class:`Header`."""
    if not isinstance(data, dict):
        raise ValueError("header is not a map")
    config = RunConfig.from_cbor(
        {"argv": data.get("argv", []), "env": data.get("env", {}), "dirs": data.get("preopens", [])}
    )
    current = {k: v for k, v in data.items() if k not in ("argv", "env", "preopens")}
    current["config"] = config.to_cbor()
    current["kinds"] = kinds()
    return Header.from_cbor(current)


def convert_items(items: list[Any], end: int) -> tuple[list[Any], int]:
    """The event region of a format-1 trace in the current shape: every FS event loses its
    operation field and gets the code of ``fs.<op>``. Returns the items and the new ``end``.

    Items that are not well-formed are copied as they are; the reader's checks refuse them.
    """
    out: list[Any] = []
    i = 0
    while i < end:
        k = items[i]
        n = None if type(k) is not int else RECORD_ARITY.get(k, ARITY.get(k))
        if n is None or i + n >= len(items):
            out.extend(items[i:end])
            i = end
            break
        if k == FS:
            op = items[i + 2]
            code = FS_BASE + op if type(op) is int and 1 <= op <= len(FS_OPS) else -1
            out.append(code)
            out.append(items[i + 1])
            out.extend(items[i + 3 : i + 5])
        else:
            out.extend(items[i : i + 1 + n])
        i += 1 + n
    new_end = len(out)
    out.extend(items[end:])
    return out, new_end


__all__ = [
    "ARITY",
    "FS",
    "FS_BASE",
    "FS_OPS",
    "KINDS",
    "convert_items",
    "header",
    "kinds",
]
