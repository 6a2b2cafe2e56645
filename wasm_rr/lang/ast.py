"""The syntax tree.

Nodes compare by identity (``eq=False``) so that later stages can key tables by node. Every node
has a ``coord``: for operators it is the operator token, for calls the callee's name, for an index
the ``[``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .coord import Coord

# ---- expressions ------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class IntLit:
    coord: Coord
    value: int


@dataclass(eq=False, slots=True)
class StrLit:
    coord: Coord
    value: bytes


@dataclass(eq=False, slots=True)
class BoolLit:
    coord: Coord
    value: bool


@dataclass(eq=False, slots=True)
class ListLit:
    coord: Coord
    items: list[Expr]


@dataclass(eq=False, slots=True)
class Name:
    coord: Coord
    name: str


@dataclass(eq=False, slots=True)
class Index:
    coord: Coord  # the `[`
    obj: Expr
    index: Expr


@dataclass(eq=False, slots=True)
class Unary:
    coord: Coord
    op: str  # "-" or "not"
    operand: Expr


@dataclass(eq=False, slots=True)
class Binary:
    coord: Coord
    op: str  # + - * / % == != < <= > >= and or
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class Call:
    """``name(args)``: a builtin function or a function of the program."""

    coord: Coord
    name: str
    args: list[Expr]


@dataclass(eq=False, slots=True)
class ModuleCall:
    """``module.name(args)``: an effect such as ``env.get("NAME")``."""

    coord: Coord  # the module name
    module: str
    name: str
    args: list[Expr]

    @property
    def qualname(self) -> str:
        return f"{self.module}.{self.name}"


Expr = IntLit | StrLit | BoolLit | ListLit | Name | Index | Unary | Binary | Call | ModuleCall

# ---- statements -------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Let:
    coord: Coord  # the variable name
    name: str
    value: Expr


@dataclass(eq=False, slots=True)
class Assign:
    coord: Coord  # the variable name
    name: str
    value: Expr


@dataclass(eq=False, slots=True)
class IndexAssign:
    coord: Coord  # the `[`
    obj: Expr
    index: Expr
    value: Expr


@dataclass(eq=False, slots=True)
class ExprStmt:
    coord: Coord
    expr: Call | ModuleCall


@dataclass(eq=False, slots=True)
class If:
    coord: Coord
    cond: Expr
    then: list[Stmt]
    else_: list[Stmt] | None


@dataclass(eq=False, slots=True)
class While:
    coord: Coord
    cond: Expr
    body: list[Stmt]


@dataclass(eq=False, slots=True)
class For:
    coord: Coord  # the loop variable
    var: str
    start: Expr
    end: Expr
    range_coord: Coord  # the `..`
    body: list[Stmt]


@dataclass(eq=False, slots=True)
class Return:
    coord: Coord
    value: Expr | None


@dataclass(eq=False, slots=True)
class Break:
    coord: Coord


@dataclass(eq=False, slots=True)
class Continue:
    coord: Coord


Stmt = Let | Assign | IndexAssign | ExprStmt | If | While | For | Return | Break | Continue


@dataclass(eq=False, slots=True)
class FnDecl:
    coord: Coord  # the function name
    name: str
    params: list[Name]
    body: list[Stmt]


@dataclass(eq=False, slots=True)
class Program:
    """Function declarations, and the top-level statements in source order."""

    filename: str
    functions: list[FnDecl]
    body: list[Stmt]


__all__ = [
    "Assign",
    "Binary",
    "BoolLit",
    "Break",
    "Call",
    "Continue",
    "Expr",
    "ExprStmt",
    "FnDecl",
    "For",
    "If",
    "Index",
    "IndexAssign",
    "IntLit",
    "Let",
    "ListLit",
    "ModuleCall",
    "Name",
    "Program",
    "Return",
    "Stmt",
    "StrLit",
    "Unary",
    "While",
]
