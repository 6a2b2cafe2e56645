"""The code generator: a checked program to WebAssembly text, then to a wasm binary.

Every expression leaves a value ``(tag i32, payload i64)`` on the stack (see ``runtime.wat``);
conditions are compiled to a plain i32 where the expression is a comparison or a logical
operator. Operations that can fail or call the host get *sites*: their runtime function receives
the index of its first site, and stores it at address 8 before each host call or trap.

Nothing position-dependent reaches the code: site indices are allocated as placeholders, then
numbered in source order, so that only the ``wasm-rr.sites`` section reflects line and column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import wasmtime

from . import ast
from .builtins import FUNCTIONS, MODULES, OPERATORS, Op
from .checker import Checked, FunctionInfo, Var
from .coord import Coord
from .parser import start_coord
from .runtime import (
    DATA_START,
    SITE_ADDR,
    TAG_BOOL,
    TAG_INT,
    TAG_LIST,
    TAG_NIL,
    TAG_STR,
    assemble,
)
from .sites import Site, encode

_ARITH = frozenset({"+", "-", "*", "/", "%"})
_ORDER = frozenset({"<", "<=", ">", ">="})
_PLACEHOLDER = re.compile(r"(?<=i32\.const )@(\d+)")


class DataSegment:
    """Static strings (``[len u32][bytes]``, 4-aligned), interned in order of first use."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.buf = bytearray()
        self.addrs: dict[bytes, int] = {}

    def intern(self, value: bytes) -> int:
        addr = self.addrs.get(value)
        if addr is None:
            self.buf += bytes(-len(self.buf) % 4)
            addr = self.start + len(self.buf)
            self.buf += len(value).to_bytes(4, "little") + value
            self.addrs[value] = addr
        return addr

    @property
    def end(self) -> int:
        return self.start + len(self.buf)

    def wat(self) -> str:
        text = "".join(
            chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C, 0x40) else f"\\{b:02x}"
            for b in self.buf
        )
        return f'(data (i32.const {self.start}) "{text}")'


@dataclass
class Sites:
    """Sites in allocation order: (line, col, seq, name). Each allocation is a contiguous block
    with one coordinate, so sorting by (line, col, seq) keeps blocks contiguous."""

    entries: list[tuple[int, int, int, str]] = field(default_factory=list)

    def alloc(self, op: Op, coord: Coord) -> list[str]:
        names = op.site_names()
        if not names:
            return []
        first = len(self.entries)
        for name in names:
            self.entries.append((coord.line, coord.col, len(self.entries), name))
        return [f"i32.const @{first}"]

    def finish(self) -> tuple[list[int], list[Site]]:
        """The final index of each allocated site, and the sites in final (source) order."""
        order = sorted(self.entries, key=lambda e: (e[0], e[1], e[2]))
        index = [0] * len(order)
        for i, (_line, _col, seq, _name) in enumerate(order):
            index[seq] = i
        return index, [Site(name, line, col) for line, col, _seq, name in order]


class FunctionGen:
    """The body of one wasm function."""

    def __init__(self, gen: CodeGen, info: FunctionInfo) -> None:
        self.gen = gen
        self.info = info
        self.refs = gen.checked.refs
        self.out: list[str] = []
        self.hidden: dict[str, str] = {}
        self.loops: list[tuple[str, str]] = []
        self.list_depth = 0

    def emit(self, *instrs: str) -> None:
        self.out.extend(instrs)

    def _hidden(self, name: str, ty: str) -> str:
        self.hidden.setdefault(name, ty)
        return name

    def _call(self, func: str) -> None:
        self.gen.roots.add(func)
        self.emit(f"call {func}")

    def _op(self, op: Op, coord: Coord, args: list[ast.Expr]) -> None:
        site = self.gen.sites.alloc(op, coord)
        for a in args:
            self.expr(a)
        self.emit(*site)
        self._call(op.func)

    # ---- variables -----------------------------------------------------------------------------

    def _get(self, var: Var) -> None:
        kind = "global" if var.global_ else "local"
        self.emit(f"{kind}.get {var.wasm}.t", f"{kind}.get {var.wasm}.v")

    def _set(self, var: Var) -> None:
        kind = "global" if var.global_ else "local"
        self.emit(f"{kind}.set {var.wasm}.v", f"{kind}.set {var.wasm}.t")

    # ---- statements ----------------------------------------------------------------------------

    def stmts(self, stmts: list[ast.Stmt]) -> None:
        for s in stmts:
            self.stmt(s)

    def stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.Let | ast.Assign):
            self.expr(s.value)
            self._set(self.refs[s])
        elif isinstance(s, ast.IndexAssign):
            self._op(OPERATORS["index_set"], s.coord, [s.obj, s.index, s.value])
        elif isinstance(s, ast.ExprStmt):
            self.expr(s.expr)
            self.emit("drop", "drop")
        elif isinstance(s, ast.If):
            self.cond(s.cond, "cond")
            self.emit("if")
            self.stmts(s.then)
            if s.else_:
                self.emit("else")
                self.stmts(s.else_)
            self.emit("end")
        elif isinstance(s, ast.While):
            k = len(self.loops)
            brk, top = f"$break{k}", f"$loop{k}"
            self.emit(f"block {brk}", f"loop {top}")
            self.cond(s.cond, "cond")
            self.emit("i32.eqz", f"br_if {brk}")
            self.loops.append((brk, top))
            self.stmts(s.body)
            self.loops.pop()
            self.emit(f"br {top}", "end", "end")
        elif isinstance(s, ast.For):
            self._for(s)
        elif isinstance(s, ast.Return):
            if s.value is None:
                self.emit(f"i32.const {TAG_NIL}", "i64.const 0")
            else:
                self.expr(s.value)
            self.emit("return")
        elif isinstance(s, ast.Break):
            self.emit(f"br {self.loops[-1][0]}")
        elif isinstance(s, ast.Continue):
            self.emit(f"br {self.loops[-1][1]}")
        else:  # pragma: no cover
            raise AssertionError(s)

    def _for(self, s: ast.For) -> None:
        k = len(self.loops)
        i = self._hidden(f"$~i{k}", "i64")
        end = self._hidden(f"$~end{k}", "i64")
        t1 = self._hidden(f"$~t{k}", "i32")
        t2 = self._hidden(f"$~u{k}", "i32")
        site = self.gen.sites.alloc(OPERATORS["range"], s.range_coord)
        self.expr(s.start)
        self.emit(f"local.set {i}", f"local.set {t1}")
        self.expr(s.end)
        self.emit(f"local.set {end}", f"local.set {t2}", f"local.get {t1}", f"local.get {t2}")
        self.emit(*site)
        self._call(OPERATORS["range"].func)
        brk, top, cont = f"$break{k}", f"$loop{k}", f"$next{k}"
        var = self.refs[s]
        self.emit(f"block {brk}", f"loop {top}")
        self.emit(f"local.get {i}", f"local.get {end}", "i64.ge_s", f"br_if {brk}")
        self.emit(f"i32.const {TAG_INT}", f"local.get {i}")
        self._set(var)
        self.emit(f"block {cont}")
        self.loops.append((brk, cont))
        self.stmts(s.body)
        self.loops.pop()
        self.emit("end", f"local.get {i}", "i64.const 1", "i64.add", f"local.set {i}")
        self.emit(f"br {top}", "end", "end")

    # ---- expressions ---------------------------------------------------------------------------

    def expr(self, e: ast.Expr) -> None:
        if isinstance(e, ast.IntLit):
            self.emit(f"i32.const {TAG_INT}", f"i64.const {e.value}")
        elif isinstance(e, ast.StrLit):
            self.emit(f"i32.const {TAG_STR}", f"i64.const {self.gen.data.intern(e.value)}")
        elif isinstance(e, ast.BoolLit):
            self.emit(f"i32.const {TAG_BOOL}", f"i64.const {int(e.value)}")
        elif isinstance(e, ast.Name):
            self._get(self.refs[e])
        elif isinstance(e, ast.ListLit):
            tmp = self._hidden(f"$~list{self.list_depth}", "i32")
            self.list_depth += 1
            self.emit(f"i32.const {len(e.items)}")
            self._call("$rt.list_new")
            self.emit(f"local.set {tmp}")
            for item in e.items:
                self.emit(f"local.get {tmp}")
                self.expr(item)
                self._call("$rt.list_append")
            self.list_depth -= 1
            self.emit(f"i32.const {TAG_LIST}", f"local.get {tmp}", "i64.extend_i32_u")
        elif isinstance(e, ast.Index):
            self._op(OPERATORS["index"], e.coord, [e.obj, e.index])
        elif isinstance(e, ast.Unary) and e.op == "-":
            self._op(OPERATORS["neg"], e.coord, [e.operand])
        elif isinstance(e, ast.Binary) and e.op in _ARITH:
            self._op(OPERATORS[e.op], e.coord, [e.left, e.right])
        elif isinstance(e, ast.Unary | ast.Binary):  # not, comparisons, and, or: a bool
            self.emit(f"i32.const {TAG_BOOL}")
            self.cond(e, "cond")
            self.emit("i64.extend_i32_u")
        elif isinstance(e, ast.Call):
            if e.name in FUNCTIONS:
                self._op(FUNCTIONS[e.name], e.coord, e.args)
            else:
                for a in e.args:
                    self.expr(a)
                self.emit(f"call ${e.name}")
        elif isinstance(e, ast.ModuleCall):
            self._op(MODULES[e.module][e.name], e.coord, e.args)
        else:  # pragma: no cover
            raise AssertionError(e)

    def cond(self, e: ast.Expr, context: str) -> None:
        """Emit ``e`` as an i32 truth value; a non-bool is a runtime error of ``context``
        (``"cond"``, ``"and"``, ``"or"``, ``"not"``)."""
        if isinstance(e, ast.BoolLit):
            self.emit(f"i32.const {int(e.value)}")
        elif isinstance(e, ast.Binary) and e.op in ("==", "!="):
            self.expr(e.left)
            self.expr(e.right)
            self._call("$rt.eq")
            if e.op == "!=":
                self.emit("i32.eqz")
        elif isinstance(e, ast.Binary) and e.op in _ORDER:
            self._op(OPERATORS[e.op], e.coord, [e.left, e.right])
        elif isinstance(e, ast.Binary) and e.op == "and":
            self.cond(e.left, "and")
            self.emit("if (result i32)")
            self.cond(e.right, "and")
            self.emit("else", "i32.const 0", "end")
        elif isinstance(e, ast.Binary) and e.op == "or":
            self.cond(e.left, "or")
            self.emit("if (result i32)", "i32.const 1", "else")
            self.cond(e.right, "or")
            self.emit("end")
        elif isinstance(e, ast.Unary) and e.op == "not":
            self.cond(e.operand, "not")
            self.emit("i32.eqz")
        else:
            op = OPERATORS[context]
            site = self.gen.sites.alloc(op, start_coord(e))
            self.expr(e)
            self.emit(*site)
            self._call(op.func)

    # ---- the function --------------------------------------------------------------------------

    def function(self) -> str:
        info = self.info
        if info.decl is None:
            head = [f'(func {info.wasm} (export "_start")']
            self.stmts(self.gen.checked.program.body)
        else:
            params = " ".join(f"(param {v.wasm}.t i32) (param {v.wasm}.v i64)" for v in info.params)
            head = [f"(func {info.wasm} {params} (result i32 i64)"]
            self.stmts(info.decl.body)
            self.emit(f"i32.const {TAG_NIL}", "i64.const 0")  # no `return`: nil
        locals_ = [f"(local {v.wasm}.t i32) (local {v.wasm}.v i64)" for v in info.locals]
        locals_ += [f"(local {name} {ty})" for name, ty in self.hidden.items()]
        return "\n  ".join(head + locals_ + self.out) + ")"


class CodeGen:
    def __init__(self, checked: Checked) -> None:
        self.checked = checked
        self.data = DataSegment(DATA_START)
        self.sites = Sites()
        self.roots: set[str] = set()

    def generate(self) -> tuple[str, list[Site]]:
        """The module's text and its sites."""
        funcs = [FunctionGen(self, self.checked.main).function()]
        funcs += [FunctionGen(self, info).function() for info in self.checked.functions]
        user = "\n".join(funcs)
        index, sites = self.sites.finish()
        user = _PLACEHOLDER.sub(lambda m: str(index[int(m.group(1))]), user)
        imports, runtime = assemble(self.roots, self.data.intern)
        heap = (self.data.end + 7) & ~7
        pages = max(1, (heap + 0xFFFF) >> 16)
        globals_ = [f"(global $rt.heap (mut i32) (i32.const {heap}))"]
        for var in self.checked.globals:
            globals_.append(
                f"(global {var.wasm}.t (mut i32) (i32.const 0))"
                f" (global {var.wasm}.v (mut i64) (i64.const 0))"
            )
        parts = [
            "(module $tape",
            *imports,
            f'(memory (export "memory") {pages})',
            *globals_,
            user,
            *runtime,
            self.data.wat(),
            ")",
        ]
        return "\n".join(parts), sites


def generate(checked: Checked, filename: str) -> tuple[bytes, str, list[Site]]:
    """The wasm binary (with the sites section last), its text, and its sites."""
    text, sites = CodeGen(checked).generate()
    wasm = bytes(wasmtime.wat2wasm(text))
    return wasm + encode(filename, SITE_ADDR, sites), text, sites


__all__ = [
    "CodeGen",
    "DataSegment",
    "FunctionGen",
    "Sites",
    "generate",
]
