"""The runtime library linked into every compiled program: ``runtime.wat`` (WebAssembly text,
package data), split into pieces (imports and functions); :func:`assemble` links in the pieces a
program reaches. The value representation and the memory layout are described at the top of
``runtime.wat``.

Templates use four placeholders: ``{E:k}`` raise error *k* of the operation whose runtime
function this is (``{E:$fn:k}`` names the function), ``{M:k}`` the address of that error's
message, ``{S:NAME}`` a static string (all three expanded by :func:`assemble`), and ``{G:NAME}``
text generated from builtins.py's tables (expanded when the file is loaded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from importlib import resources

from .builtins import FUNCTIONS, HTTP_ERROR_CODES, MODULES, OPERATORS, Op

SITE_ADDR = 8
"""The site register: every effect stores the site of its call here before calling the host."""
DATA_START = 512
"""Static data (string literals and runtime strings) starts here, then the heap."""
_REPORT_MAX = 256
"""The runtime error message buffer's size (256..511)."""

TAG_NIL, TAG_BOOL, TAG_INT, TAG_STR, TAG_BYTES, TAG_LIST = range(6)

STATICS: dict[str, bytes] = {
    "EMPTY": b"",
    "NL": b"\n",
    "TRUE": b"true",
    "FALSE": b"false",
    "NIL": b"nil",
    "EMPTY_LIST": b"[]",
    "QUOTE": b'"',
    "BQUOTE": b'b"',
    "DOT": b".",
    "PREFIX": b"tape: runtime error: ",
    "OOM": b"out of memory",
    "GET": b"GET",
    "POST": b"POST",
    **{f"HTTP_{k}": code.encode() for k, code in enumerate(HTTP_ERROR_CODES)},
}

OPS_BY_FUNC: dict[str, Op] = {
    op.func: op
    for op in [*FUNCTIONS.values(), *OPERATORS.values()]
    + [op for m in MODULES.values() for op in m.values()]
}

# The fs functions share $rt.find_preopen, which raises fs.read's error 1 (the same error, at
# the same offset, as fs.write's).
assert MODULES["fs"]["read"].errors[1] is MODULES["fs"]["write"].errors[1]

PROCESS_MODULE = "wasm-rr:process/process@0.1.0"
"""wasm-rr's process family (wit/process.wit), imported by programs that use proc.run."""
HTTP_MODULE = "wasm-rr:http/client@0.1.0"
"""wasm-rr's http family (wit/http.wit), imported by programs that use http.get or http.post."""

KINDS: list[str] = sorted(
    {e.kind for op in OPS_BY_FUNC.values() for e in op.errors} - {"out_of_memory"}
)


def _generated() -> dict[str, str]:
    """The ``{G:NAME}`` texts: what follows builtins.py's tables."""
    n = len(HTTP_ERROR_CODES)
    tests = [
        f"(if (call $rt.bytes_are (local.get $cp) (local.get $cn) (i32.const {{S:HTTP_{k}}}))"
        f" (then {{E:{k + 1}}}))"
        for k in range(n)
    ]
    return {"HTTP_ERRORS": "\n      ".join([*tests, f"{{E:{n + 1}}}"])}


def _error_functions() -> list[str]:
    """One function per runtime error kind, named after it so that a trap shows the kind."""
    return [
        f"""(func $tape_error_{kind} (param $site i32) (param $msg i32)
  (call $rt.report (local.get $site) (local.get $msg))
  (unreachable))"""
        for kind in KINDS
    ]


_NAME = re.compile(r"\(func (\$[\w.]+)")
_REF = re.compile(r"\$(?:rt|wasi|process|http|tape_error)[\w.]*")

DEPS: dict[str, tuple[str, ...]] = {
    "$rt.proc_run": ("$rt.cabi_realloc",),
    "$rt.http_get": ("$rt.cabi_realloc",),
    "$rt.http_post": ("$rt.cabi_realloc",),
}
"""Pieces a piece needs without calling them: proc.run's and http's hosts call back
cabi_realloc."""
_PLACEHOLDER = re.compile(r"\{([EMS]):([^}]*)\}")


def _split(text: str) -> list[str]:
    """The pieces of ``runtime.wat`` in order: each starts with ``(`` in column 0 and ends at a
    blank line, a comment in column 0 or the next piece; comment lines are left out."""
    pieces: list[list[str]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("("):
            current = [line]
            pieces.append(current)
        elif not line.strip() or line.startswith(";;"):
            current = None
        elif line.lstrip().startswith(";;"):
            continue
        else:
            assert current is not None, f"runtime.wat: a line outside any piece: {line!r}"
            current.append(line)
    return ["\n".join(piece) for piece in pieces]


_GENERATED = re.compile(r"\{G:(\w+)\}")


def _pieces() -> dict[str, str]:
    source = (resources.files(__package__) / "runtime.wat").read_text(encoding="utf-8")
    generated = _generated()
    out: dict[str, str] = {}
    for piece in _split(source) + _error_functions():
        text = _GENERATED.sub(lambda m: generated[m.group(1)], piece)
        m = _NAME.search(text)
        assert m is not None, text
        out[m.group(1)] = text
    return out


PIECES = _pieces()


def _expand_errors(name: str, text: str, intern: Callable[[bytes], int]) -> str:
    def sub(m: re.Match[str]) -> str:
        what, arg = m.group(1), m.group(2)
        if what == "S":
            return str(intern(STATICS[arg]))
        func, _, k = arg.rpartition(":")
        op = OPS_BY_FUNC[func or name]
        index = int(k)
        err = op.errors[index]
        msg = intern(err.message.encode())
        if what == "M":
            return str(msg)
        offset = index + (1 if op.effect else 0)
        return (
            f"(call $tape_error_{err.kind} (i32.add (local.get $site) (i32.const {offset}))"
            f" (i32.const {msg}))"
        )

    return _PLACEHOLDER.sub(sub, text)


def assemble(roots: Iterable[str], intern: Callable[[bytes], int]) -> tuple[list[str], list[str]]:
    """The imports and functions reachable from ``roots`` (runtime names called by the program),
    in a fixed order, with placeholders expanded (static strings interned with ``intern``)."""
    wanted: set[str] = set()
    stack = [r for r in roots if r in PIECES]
    expanded: dict[str, str] = {}
    while stack:
        name = stack.pop()
        if name in wanted:
            continue
        wanted.add(name)
        text = PIECES[name]
        # Error calls name their kind function only once expanded: expand with a dry intern.
        refs = set(_REF.findall(_expand_errors(name, text, lambda _b: 0)))
        refs.update(DEPS.get(name, ()))
        stack.extend(r for r in refs if r in PIECES and r not in wanted)
    imports: list[str] = []
    funcs: list[str] = []
    for name, text in PIECES.items():  # definition order: deterministic
        if name in wanted:
            expanded[name] = _expand_errors(name, text, intern)
            is_import = name.startswith(("$wasi.", "$process.", "$http."))
            (imports if is_import else funcs).append(expanded[name])
    return imports, funcs


def check_messages() -> None:
    """Every runtime error message fits the report buffer (checked by the tests)."""
    for op in OPS_BY_FUNC.values():
        for e in op.errors:
            assert len(STATICS["PREFIX"]) + len(e.message.encode()) + 1 <= _REPORT_MAX, e


__all__ = [
    "DATA_START",
    "DEPS",
    "HTTP_MODULE",
    "KINDS",
    "OPS_BY_FUNC",
    "PIECES",
    "PROCESS_MODULE",
    "SITE_ADDR",
    "STATICS",
    "TAG_BOOL",
    "TAG_BYTES",
    "TAG_INT",
    "TAG_LIST",
    "TAG_NIL",
    "TAG_STR",
    "assemble",
    "check_messages",
]
