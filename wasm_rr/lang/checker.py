"""The checker: name resolution and the static rules of the language.

It rejects undefined names, assignments to undeclared variables, redeclarations in one scope,
wrong numbers of arguments (builtins and functions of the program), duplicate functions and
parameters, ``break``/``continue`` outside a loop and ``return`` outside a function. Its result,
:class:`Checked`, maps every variable use and declaration to a :class:`Var`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NoReturn

from . import ast
from .builtins import FUNCTIONS, MODULES
from .coord import Coord
from .errors import error

RESERVED_PREFIX = "tape_error_"
RESERVED = frozenset({"_start"})


@dataclass(eq=False)
class Var:
    """A variable: a pair of wasm globals (``global_``) or locals named ``<wasm>.t``/``<wasm>.v``
    (the value's tag and payload)."""

    name: str
    wasm: str
    global_: bool


@dataclass(eq=False)
class FunctionInfo:
    """One wasm function: a function of the program, or the top-level code (``decl`` is None)."""

    wasm: str
    decl: ast.FnDecl | None
    params: list[Var] = field(default_factory=list)
    locals: list[Var] = field(default_factory=list)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    def new_local(self, name: str) -> Var:
        n = self._counts.get(name, 0) + 1
        self._counts[name] = n
        var = Var(name, f"${name}" if n == 1 else f"${name}.{n}", False)
        self.locals.append(var)
        return var


@dataclass
class Checked:
    program: ast.Program
    globals: list[Var]
    main: FunctionInfo
    functions: list[FunctionInfo]
    refs: dict[object, Var]  # Name, Let, Assign, For -> the variable


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Checker:
    def __init__(self, program: ast.Program, source: str) -> None:
        self.program = program
        self.source = source
        self.fns: dict[str, ast.FnDecl] = {}
        self.refs: dict[object, Var] = {}
        self.globals: list[Var] = []
        self.global_scope: dict[str, Var] = {}
        self.scopes: list[dict[str, Var]] = []
        self.fn: FunctionInfo = FunctionInfo("$_start", None)
        self.loops = 0

    def _error(self, coord: Coord, message: str) -> NoReturn:
        error(coord, message, self.source)

    # ---- names ---------------------------------------------------------------------------------

    def _check_new_name(self, coord: Coord, name: str, what: str) -> None:
        if name in FUNCTIONS:
            self._error(coord, f"`{name}` is a builtin function and cannot be used as {what}")
        if name in MODULES:
            self._error(coord, f"`{name}` is a builtin module and cannot be used as {what}")
        if name in RESERVED or name.startswith(RESERVED_PREFIX):
            self._error(coord, f"`{name}` is a reserved name and cannot be used as {what}")

    def _lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def _declare(self, coord: Coord, name: str, node: object) -> Var:
        self._check_new_name(coord, name, "a variable name")
        if name in self.fns:
            self._error(coord, f"`{name}` is a function and cannot be used as a variable name")
        scope = self.scopes[-1]
        if name in scope:
            self._error(coord, f"`{name}` is already declared in this scope")
        if scope is self.global_scope:
            var = Var(name, f"$g.{name}", True)
            self.globals.append(var)
        else:
            var = self.fn.new_local(name)
        scope[name] = var
        self.refs[node] = var
        return var

    def _not_a_variable(self, coord: Coord, name: str) -> NoReturn:
        if name in self.fns:
            self._error(coord, f"`{name}` is a function; call it with `{name}(...)`")
        if name in FUNCTIONS:
            self._error(coord, f"`{name}` is a builtin function; call it with `{name}(...)`")
        if name in MODULES:
            first = next(iter(MODULES[name]))
            self._error(
                coord,
                f"`{name}` is a module, not a value; call its functions, e.g. `{name}.{first}`",
            )
        self._error(coord, f"`{name}` is not defined")

    # ---- program -------------------------------------------------------------------------------

    def check(self) -> Checked:
        prog = self.program
        for fn in prog.functions:
            self._check_new_name(fn.coord, fn.name, "a function name")
            if fn.name in self.fns:
                first = self.fns[fn.name].coord
                self._error(fn.coord, f"function `{fn.name}` is already defined at {first}")
            self.fns[fn.name] = fn
        # Top-level code: its own top-level `let`s are the program's globals.
        main = self.fn
        self.scopes = [self.global_scope]
        self._stmts(prog.body)
        # Functions see every global (a global read before its `let` has run is nil).
        functions = []
        for fn in prog.functions:
            info = FunctionInfo(f"${fn.name}", fn)
            self.fn = info
            self.scopes = [dict(self.global_scope), {}]
            for p in fn.params:
                self._check_new_name(p.coord, p.name, "a parameter name")
                if p.name in self.scopes[-1]:
                    self._error(p.coord, f"duplicate parameter `{p.name}`")
                var = info.new_local(p.name)
                self.scopes[-1][p.name] = var
                self.refs[p] = var
            info.params = info.locals
            info.locals = []
            self._stmts(fn.body)  # parameters and the body's `let`s share a scope
            functions.append(info)
        return Checked(prog, self.globals, main, functions, self.refs)

    # ---- statements ----------------------------------------------------------------------------

    def _block(self, stmts: list[ast.Stmt]) -> None:
        self.scopes.append({})
        self._stmts(stmts)
        self.scopes.pop()

    def _stmts(self, stmts: list[ast.Stmt]) -> None:
        for s in stmts:
            self._stmt(s)

    def _stmt(self, s: ast.Stmt) -> None:
        if isinstance(s, ast.Let):
            self._expr(s.value)
            self._declare(s.coord, s.name, s)
        elif isinstance(s, ast.Assign):
            var = self._lookup(s.name)
            if var is None:
                if s.name in self.fns or s.name in FUNCTIONS or s.name in MODULES:
                    self._error(s.coord, f"cannot assign to `{s.name}`: it is not a variable")
                self._error(
                    s.coord,
                    f"cannot assign to `{s.name}`: it is not declared "
                    f"(declare it with `let {s.name} = ...`)",
                )
            self.refs[s] = var
            self._expr(s.value)
        elif isinstance(s, ast.IndexAssign):
            self._expr(s.obj)
            self._expr(s.index)
            self._expr(s.value)
        elif isinstance(s, ast.ExprStmt):
            self._expr(s.expr)
        elif isinstance(s, ast.If):
            self._expr(s.cond)
            self._block(s.then)
            if s.else_ is not None:
                self._block(s.else_)
        elif isinstance(s, ast.While):
            self._expr(s.cond)
            self._loop_body(s.body)
        elif isinstance(s, ast.For):
            self._expr(s.start)
            self._expr(s.end)
            self.scopes.append({})
            self._declare(s.coord, s.var, s)
            self._loop_body(s.body)
            self.scopes.pop()
        elif isinstance(s, ast.Return):
            if self.fn.decl is None:
                self._error(s.coord, "`return` outside a function")
            if s.value is not None:
                self._expr(s.value)
        elif isinstance(s, ast.Break | ast.Continue):
            if self.loops == 0:
                word = "break" if isinstance(s, ast.Break) else "continue"
                self._error(s.coord, f"`{word}` outside a loop")
        else:  # pragma: no cover - the parser makes no other statements
            raise AssertionError(s)

    def _loop_body(self, body: list[ast.Stmt]) -> None:
        self.loops += 1
        self._block(body)
        self.loops -= 1

    # ---- expressions ---------------------------------------------------------------------------

    def _expr(self, e: ast.Expr) -> None:
        if isinstance(e, ast.IntLit | ast.StrLit | ast.BoolLit):
            return
        if isinstance(e, ast.Name):
            var = self._lookup(e.name)
            if var is None:
                self._not_a_variable(e.coord, e.name)
            self.refs[e] = var
        elif isinstance(e, ast.ListLit):
            for item in e.items:
                self._expr(item)
        elif isinstance(e, ast.Index):
            self._expr(e.obj)
            self._expr(e.index)
        elif isinstance(e, ast.Unary):
            self._expr(e.operand)
        elif isinstance(e, ast.Binary):
            self._expr(e.left)
            self._expr(e.right)
        elif isinstance(e, ast.Call):
            self._call(e)
        elif isinstance(e, ast.ModuleCall):
            self._module_call(e)
        else:  # pragma: no cover
            raise AssertionError(e)

    def _arity(self, coord: Coord, what: str, want: int, got: int) -> None:
        if want != got:
            given = "was" if got == 1 else "were"
            self._error(coord, f"{what} takes {_plural(want, 'argument')}, but {got} {given} given")

    def _call(self, e: ast.Call) -> None:
        fn = self.fns.get(e.name)
        if fn is not None:
            self._arity(e.coord, f"`{e.name}`", len(fn.params), len(e.args))
        elif e.name in FUNCTIONS:
            self._arity(e.coord, f"`{e.name}`", FUNCTIONS[e.name].arity, len(e.args))
        elif self._lookup(e.name) is not None:
            self._error(e.coord, f"`{e.name}` is a variable, not a function")
        elif e.name in MODULES:
            self._error(e.coord, f"`{e.name}` is a module; call one of its functions")
        else:
            self._error(e.coord, f"no function named `{e.name}`")
        for a in e.args:
            self._expr(a)

    def _module_call(self, e: ast.ModuleCall) -> None:
        module = MODULES.get(e.module)
        if module is None:
            names = ", ".join(sorted(MODULES))
            self._error(e.coord, f"no module named `{e.module}` (the modules are {names})")
        op = module.get(e.name)
        if op is None:
            names = ", ".join(f"{e.module}.{n}" for n in module)
            self._error(e.coord, f"module `{e.module}` has no function `{e.name}` (it has {names})")
        self._arity(e.coord, f"`{e.qualname}`", op.arity, len(e.args))
        for a in e.args:
            self._expr(a)


def check(program: ast.Program, source: str) -> Checked:
    """Check ``program`` (parsed from ``source``, used for error lines)."""
    return Checker(program, source).check()


__all__ = [
    "RESERVED",
    "RESERVED_PREFIX",
    "Checked",
    "Checker",
    "FunctionInfo",
    "Var",
    "check",
]
