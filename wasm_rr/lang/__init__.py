"""The ``.tape`` language: a small scripting language compiled to wasip1 command modules.

Pipeline: :mod:`.lexer` → :mod:`.parser` (recursive descent) → :mod:`.ast` → :mod:`.checker` →
:mod:`.codegen` (WebAssembly text with the runtime of :mod:`.runtime`, then ``wat2wasm``).
The module records, for every host call, which source site made it (:mod:`.sites`).
See docs/tape-language.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .coord import Coord
from .errors import CompileError
from .sites import SECTION_NAME, Site, SitesTable, read_sites_section, strip_sites_section

__all__ = [
    "SECTION_NAME",
    "CompileError",
    "Compiled",
    "Coord",
    "Site",
    "SitesTable",
    "compile_file",
    "compile_source",
    "read_sites_section",
    "strip_sites_section",
]


@dataclass(frozen=True)
class Compiled:
    """A compiled program: the module (sites section included) and its sites, by index."""

    wasm: bytes = field(repr=False)
    sites: list[Site]
    wat: str = field(repr=False, default="")


def compile_source(source: str, filename: str) -> Compiled:
    """Compile tape source text. ``filename`` appears in errors and in the sites section.

    Raises :class:`CompileError`. The result depends only on ``source`` and ``filename``.
    """
    # The compiler is imported when a script is compiled, not by every run of a module.
    from .checker import check
    from .codegen import generate
    from .parser import parse

    program = parse(source, filename)
    checked = check(program, source)
    wasm, wat, sites = generate(checked, filename)
    return Compiled(wasm, sites, wat)


def compile_file(path: str | Path) -> Compiled:
    """Compile a ``.tape`` file (UTF-8); the sites section names it as ``str(path)``."""
    source = Path(path).read_text(encoding="utf-8-sig")
    return compile_source(source, str(path))
