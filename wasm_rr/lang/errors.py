"""Compile errors: every stage reports through :func:`error`."""

from __future__ import annotations

from typing import NoReturn

from .coord import Coord


class CompileError(Exception):
    """A tape program that cannot be compiled.

    ``str(err)`` is one line, ``file:line:col: message``. :meth:`render` adds the offending source
    line and a caret under the column, which is what the CLI prints.
    """

    def __init__(self, coord: Coord, message: str, source_line: str = "") -> None:
        super().__init__(f"{coord}: {message}")
        self.coord = coord
        self.message = message
        self.source_line = source_line

    def render(self) -> str:
        """``file:line:col: message``, the source line, and a caret line under the column."""
        head = str(self)
        if not self.source_line:
            return head
        line = self.source_line.rstrip("\r\n")
        # Keep tabs in the caret line so the caret lands under the right character.
        prefix = "".join(c if c == "\t" else " " for c in line[: self.coord.col - 1])
        return f"{head}\n{line}\n{prefix}^"


def error(coord: Coord, message: str, source: str | None = None) -> NoReturn:
    """Raise a :class:`CompileError` at ``coord`` (``source`` is the whole program text)."""
    line = ""
    if source is not None:
        lines = source.split("\n")
        if 1 <= coord.line <= len(lines):
            line = lines[coord.line - 1]
    raise CompileError(coord, message, line)


__all__ = [
    "CompileError",
    "error",
]
