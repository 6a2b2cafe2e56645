"""``fuzz --dict FILE``: a dictionary of tokens in the format of libFuzzer's ``-dict`` and
AFL's ``-x`` files.

One entry per line, ``name="value"`` or ``"value"`` (the name, any run of characters but
blanks, ``=`` and ``"``, AFL's ``kw@level`` included, is only a label); blank lines and lines
starting with ``#`` are skipped; white space around an entry is ignored. Inside the quotes,
printable ASCII and tab stand for themselves, and ``\\xNN`` (two hex digits), ``\\\\`` and
``\\"`` for a byte, a backslash and a quote. Anything else is an error naming the file and line
(:class:`DictionaryError`).
"""

from __future__ import annotations

import os
import re

from ..errors import UsageError

__all__ = ["DictionaryError", "load", "parse"]

FORMAT = 'expected name="value" or "value" (escapes: \\xNN, \\\\, \\")'

_NAME = re.compile(rb'[^\s="]+\s*=\s*')
_HEX = re.compile(rb"[0-9A-Fa-f]{2}")


class DictionaryError(UsageError):
    """A dictionary file that cannot be read or parsed (``FILE:LINE: why; expected ...``)."""


def parse(data: bytes, path: str = "<dict>") -> tuple[bytes, ...]:
    """The tokens of a dictionary file's contents, in file order, each once."""
    tokens: dict[bytes, None] = {}
    for number, raw in enumerate(data.split(b"\n"), start=1):
        line = raw.strip(b" \t\r\f\v")
        if not line or line.startswith(b"#"):
            continue
        try:
            token = _entry(line, len(raw) - len(raw.lstrip(b" \t\r\f\v")))
        except ValueError as exc:
            raise DictionaryError(f"{path}:{number}: {exc}; {FORMAT}") from None
        tokens.setdefault(token)
    return tuple(tokens)


def load(path: str) -> tuple[bytes, ...]:
    """The tokens of the dictionary file at ``path``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise DictionaryError(
            f"--dict {path}: is a directory; give one dictionary file ({FORMAT})"
        ) from None
    except OSError as exc:
        raise DictionaryError(f"--dict {path}: cannot read it: {exc.strerror or exc}") from None
    return parse(data, os.fspath(path))


def _entry(line: bytes, lead: int) -> bytes:
    """One entry's value (the line stripped of ``lead`` leading blanks and its trailing ones;
    neither blank nor a comment)."""
    quote = line.find(b'"')
    if quote < 0:
        raise ValueError("no quoted value")
    if quote > 0 and _NAME.fullmatch(line[:quote]) is None:
        shown = line[:quote].decode("ascii", "backslashreplace")
        raise ValueError(f"{shown!r} before the value is not a name followed by '='")
    if len(line) < quote + 2 or not line.endswith(b'"'):
        raise ValueError("the value does not end with a quote at the end of the line")
    body = line[quote + 1 : -1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i]
        if c == 0x5C:  # backslash
            nxt = body[i + 1 : i + 2]
            if nxt in (b"\\", b'"'):
                out += nxt
                i += 2
                continue
            if nxt == b"x" and _HEX.fullmatch(body[i + 2 : i + 4]):
                out.append(int(body[i + 2 : i + 4], 16))
                i += 4
                continue
            raise ValueError(f"bad escape at column {lead + quote + 2 + i}")
        if c == 0x22:
            raise ValueError(
                f'a quote inside the value at column {lead + quote + 2 + i} (write \\")'
            )
        if not (0x20 <= c <= 0x7E or c == 0x09):
            raise ValueError(
                f"byte 0x{c:02x} at column {lead + quote + 2 + i} is not printable ASCII "
                f"(write it as \\x{c:02x})"
            )
        out.append(c)
        i += 1
    if not out:
        raise ValueError("an empty value")
    return bytes(out)
