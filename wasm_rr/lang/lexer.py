"""The lexer: source text to tokens.

Token kinds are strings: ``"int"``, ``"str"``, ``"name"``, ``"eof"``, each keyword (``"let"``,
``"fn"``, ...) and each operator or punctuation mark (``"=="``, ``"("``, ``".."``, ...). Only
``\\n`` ends a line; columns count characters from 1.
"""

from __future__ import annotations

import re
from typing import NamedTuple, NoReturn

from .coord import Coord
from .errors import error

KEYWORDS = frozenset(
    {
        "and",
        "break",
        "continue",
        "else",
        "false",
        "fn",
        "for",
        "if",
        "in",
        "let",
        "not",
        "or",
        "return",
        "true",
        "while",
    }
)

_TOKEN = re.compile(
    r"""
     (?P<ws>[ \t\r]+)
    |(?P<nl>\n)
    |(?P<comment>//[^\n]*)
    |(?P<int>[0-9]+)(?P<badnum>[A-Za-z_][A-Za-z0-9_]*)?
    |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<str>")
    |(?P<op>\.\.|==|!=|<=|>=|[-+*/%<>=(){}\[\],;.])
    """,
    re.VERBOSE,
)
_STRING_BODY = re.compile(r'(?:[^"\\\n]|\\[^\n])*"')
_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", "0": b"\0", "\\": b"\\", '"': b'"'}
_HEX = frozenset("0123456789abcdefABCDEF")


class Token(NamedTuple):
    """One token; ``value`` is the int, or the string's bytes."""

    kind: str
    text: str
    coord: Coord
    value: int | bytes | None = None


class Lexer:
    """Splits a whole source text into tokens (the last one is ``eof``)."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename

    def _error(self, line: int, col: int, message: str) -> NoReturn:
        error(Coord(self.filename, line, col), message, self.source)

    def tokenize(self) -> list[Token]:
        src = self.source
        tokens: list[Token] = []
        pos = 0
        line = 1
        line_start = 0
        end = len(src)
        while pos < end:
            m = _TOKEN.match(src, pos)
            col = pos - line_start + 1
            if m is None:
                self._error(line, col, f"unexpected character {src[pos]!r}")
            group = m.lastgroup
            text = m.group()
            if group == "nl":
                line += 1
                line_start = m.end()
            elif group in ("ws", "comment"):
                pass
            elif group == "name":
                kind = text if text in KEYWORDS else "name"
                tokens.append(Token(kind, text, Coord(self.filename, line, col)))
            elif group in ("int", "badnum"):
                if m.group("badnum"):
                    self._error(line, col, f"invalid number {text!r}")
                tokens.append(Token("int", text, Coord(self.filename, line, col), int(text)))
            elif group == "op":
                tokens.append(Token(text, text, Coord(self.filename, line, col)))
            else:  # a string literal
                body = _STRING_BODY.match(src, pos + 1)
                if body is None:
                    self._error(line, col, "unterminated string")
                text = src[pos : body.end()]
                value = self._unescape(text, line, col)
                tokens.append(Token("str", text, Coord(self.filename, line, col), value))
                pos = body.end()
                continue
            pos = m.end()
        col = pos - line_start + 1
        tokens.append(Token("eof", "", Coord(self.filename, line, col)))
        return tokens

    def _unescape(self, text: str, line: int, col: int) -> bytes:
        """The bytes of a string literal (``text`` includes both quotes)."""
        if "\\" not in text:
            return text[1:-1].encode()
        out = bytearray()
        i = 1
        last = len(text) - 1
        while i < last:
            c = text[i]
            if c != "\\":
                out += c.encode()
                i += 1
                continue
            e = text[i + 1]
            if e in _ESCAPES:
                out += _ESCAPES[e]
                i += 2
            elif e == "x" and i + 3 < last and set(text[i + 2 : i + 4]) <= _HEX:
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
            else:
                bad = text[i : i + 4] if e == "x" else text[i : i + 2]
                self._error(line, col + i, f"invalid escape sequence {bad!r} in string")
        return bytes(out)


def tokenize(source: str, filename: str) -> list[Token]:
    """The tokens of ``source`` (``filename`` is used in coordinates and errors)."""
    return Lexer(source, filename).tokenize()


__all__ = [
    "KEYWORDS",
    "Lexer",
    "Token",
    "tokenize",
]
