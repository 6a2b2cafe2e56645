"""How a trace's values are shown: one rendering for every output (``inspect``, ``inspect
--json``, ``diff``, ``diff --json``, drift messages), so that a field reads the same wherever
it appears, whatever bytes it holds.

Bytes are shown escaped (:func:`escaped`): printable ASCII as itself, but a backslash and a
single quote escaped (``\\\\``, ``\\'``), tab, newline and return as ``\\t``, ``\\n``,
``\\r``, any other byte as ``\\xNN`` (Python's ``codecs.escape_decode`` turns it back into the
bytes). In JSON a byte string is the object ``{"bytes": ESCAPED}`` and a text string a JSON
string, so the two never look alike; in text views a byte string is ``b'ESCAPED'`` (a Python
bytes literal) and text is quoted as Python quotes it.

An event in JSON keeps its question and its answer apart (``{"question": {...}, "answer":
{...}}``, each field under its declared name): a request and its response may have fields of
the same names (``http.send``'s ``headers``, ``body``, ``body_size``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .reader import Event

_ESCAPES = {0x5C: "\\\\", 0x27: "\\'", 0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TABLE = [_ESCAPES.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in range(256)]

TEXT_BYTES = 24
"""How many bytes of a byte string a text view shows before ``...`` and the length."""
TEXT_WIDTH = 70
"""How long a value's text rendering may grow before it is cut with ``...``."""


def escaped(data: bytes | bytearray | memoryview) -> str:
    """The bytes as text, one way (see the module docstring)."""
    table = _TABLE
    return "".join([table[b] for b in bytes(data)])


def shown(value: Any) -> Any:
    """A value as JSON holds it: bytes as ``{"bytes": escaped}``, lists and maps element by
    element, map keys as text; a CBOR tag or simple value (a damaged header may hold one) as
    ``{"cbor": repr}``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": escaped(value)}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {str(k): shown(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    return {"cbor": repr(value)}


def text(value: Any, width: int = TEXT_WIDTH) -> str:
    """A value as a text view shows it: like Python's ``repr``, but a byte string is
    ``b'ESCAPED'`` (its first :data:`TEXT_BYTES` bytes, then ``... [N bytes]``), at any depth;
    anything else cut with ``...`` past ``width`` characters (0: never)."""
    out = _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return out  # already short, and its length must stay readable
    return out if not width or len(out) <= width else out[: width - 3] + "..."


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if len(data) <= TEXT_BYTES:
            return f"b'{escaped(data)}'"
        return f"b'{escaped(data[:TEXT_BYTES])}'... [{len(data)} bytes]"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(_text(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) + "}"
    return repr(value)


def event_json(event: Event) -> dict[str, Any]:
    """An event as one JSON object: ``seq``, ``kind``, ``fuel``, then ``question`` and
    ``answer``, each a map of the declared field names to their values (a kind with no
    declaration: its fields as a list under ``fields``)."""
    obj: dict[str, Any] = {"seq": event.seq, "kind": event.name, "fuel": event.fuel}
    decl = event.decl
    if decl is None:
        obj["fields"] = shown(list(event.fields))
        return obj
    obj["question"] = {
        fd.name: shown(v) for fd, v in zip(decl.question, event.question, strict=False)
    }
    obj["answer"] = {fd.name: shown(v) for fd, v in zip(decl.answer, event.answer, strict=False)}
    return obj


__all__ = [
    "TEXT_BYTES",
    "TEXT_WIDTH",
    "escaped",
    "event_json",
    "shown",
    "text",
]
