"""Source positions."""

from __future__ import annotations

from typing import NamedTuple


class Coord(NamedTuple):
    """A position in a source file: 1-based line and column (columns count characters)."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


__all__ = [
    "Coord",
]
