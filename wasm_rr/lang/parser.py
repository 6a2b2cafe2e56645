"""The parser: tokens to a :class:`~wasm_rr.lang.ast.Program`, by recursive descent.

Grammar (EBNF; see docs/tape-language.md)::

    program   = { fndecl | stmt | ";" } EOF
    fndecl    = "fn" NAME "(" [ NAME { "," NAME } [ "," ] ] ")" block
    block     = "{" { stmt | ";" } "}"
    stmt      = "let" NAME "=" expr
              | "if" expr block [ "else" ( block | if ) ]
              | "while" expr block
              | "for" NAME "in" expr ".." expr block
              | "return" [ expr ]
              | "break" | "continue"
              | postfix "=" expr            (a NAME or an index)
              | call
    expr      = and { "or" and }
    and       = not { "and" not }
    not       = "not" not | compare
    compare   = sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum ]
    sum       = term { ( "+" | "-" ) term }
    term      = unary { ( "*" | "/" | "%" ) unary }
    unary     = "-" unary | postfix
    postfix   = primary { "[" expr "]" }
    primary   = INT | STRING | "true" | "false" | "(" expr ")"
              | "[" [ expr { "," expr } [ "," ] ] "]"
              | NAME | call
    call      = NAME args | NAME "." NAME args
    args      = "(" [ expr { "," expr } [ "," ] ] ")"
"""

from __future__ import annotations

from typing import NoReturn

from . import ast
from .coord import Coord
from .errors import error
from .lexer import Token, tokenize

INT_MAX = (1 << 63) - 1
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
# Tokens that can start an expression: `return` takes a value exactly when one follows.
_EXPR_START = frozenset({"int", "str", "name", "true", "false", "(", "[", "-", "not"})


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return "end of file"
    if tok.kind == "str":
        return "a string"
    return f"`{tok.text}`"


def start_coord(e: ast.Expr) -> Coord:
    """Where an expression starts in the source (its ``coord`` may be an operator)."""
    while isinstance(e, ast.Binary | ast.Index):
        e = e.left if isinstance(e, ast.Binary) else e.obj
    return e.coord


class Parser:
    def __init__(self, tokens: list[Token], source: str, filename: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source = source
        self.filename = filename

    # ---- helpers -------------------------------------------------------------------------------

    def _error(self, coord: Coord, message: str) -> NoReturn:
        error(coord, message, self.source)

    def _peek(self, offset: int = 0) -> Token:
        i = min(self.pos + offset, len(self.tokens) - 1)
        return self.tokens[i]

    def _next(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def _accept(self, kind: str) -> Token | None:
        if self._peek().kind == kind:
            return self._next()
        return None

    def _expect(self, kind: str, what: str | None = None) -> Token:
        tok = self._peek()
        if tok.kind != kind:
            self._error(tok.coord, f"expected {what or f'`{kind}`'}, found {_describe(tok)}")
        return self._next()

    # ---- program and statements ----------------------------------------------------------------

    def parse_program(self) -> ast.Program:
        functions: list[ast.FnDecl] = []
        body: list[ast.Stmt] = []
        while self._peek().kind != "eof":
            if self._accept(";"):
                continue
            if self._peek().kind == "fn":
                functions.append(self._fn_decl())
            else:
                body.append(self._statement())
        return ast.Program(self.filename, functions, body)

    def _fn_decl(self) -> ast.FnDecl:
        self._expect("fn")
        name = self._expect("name", "a function name")
        self._expect("(")
        params: list[ast.Name] = []
        while self._peek().kind != ")":
            p = self._expect("name", "a parameter name")
            params.append(ast.Name(p.coord, p.text))
            if not self._accept(","):
                break
        self._expect(")", "`,` or `)`")
        return ast.FnDecl(name.coord, name.text, params, self._block())

    def _block(self) -> list[ast.Stmt]:
        self._expect("{")
        stmts: list[ast.Stmt] = []
        while not self._accept("}"):
            if self._peek().kind == "eof":
                self._error(self._peek().coord, "expected `}`, found end of file")
            if self._accept(";"):
                continue
            stmts.append(self._statement())
        return stmts

    def _statement(self) -> ast.Stmt:
        tok = self._peek()
        kind = tok.kind
        if kind == "let":
            self._next()
            name = self._expect("name", "a variable name")
            self._expect("=")
            return ast.Let(name.coord, name.text, self._expr())
        if kind == "if":
            return self._if()
        if kind == "while":
            self._next()
            cond = self._expr()
            return ast.While(tok.coord, cond, self._block())
        if kind == "for":
            self._next()
            var = self._expect("name", "a loop variable")
            self._expect("in")
            start = self._expr()
            dots = self._expect("..", "`..`")
            end = self._expr()
            return ast.For(var.coord, var.text, start, end, dots.coord, self._block())
        if kind == "return":
            self._next()
            if self._peek().kind not in _EXPR_START:
                return ast.Return(tok.coord, None)
            return ast.Return(tok.coord, self._expr())
        if kind == "break":
            self._next()
            return ast.Break(tok.coord)
        if kind == "continue":
            self._next()
            return ast.Continue(tok.coord)
        if kind == "fn":
            self._error(tok.coord, "functions can only be defined at the top level")
        if kind == "else":
            self._error(tok.coord, "`else` without `if`")
        target = self._expr()
        eq = self._accept("=")
        if eq is not None:
            value = self._expr()
            if isinstance(target, ast.Name):
                return ast.Assign(target.coord, target.name, value)
            if isinstance(target, ast.Index):
                return ast.IndexAssign(target.coord, target.obj, target.index, value)
            self._error(start_coord(target), "can only assign to a variable or a list element")
        if isinstance(target, ast.Call | ast.ModuleCall):
            return ast.ExprStmt(target.coord, target)
        self._error(
            start_coord(target),
            "expected a statement; an expression on its own must be a call",
        )

    def _if(self) -> ast.If:
        tok = self._expect("if")
        cond = self._expr()
        then = self._block()
        else_: list[ast.Stmt] | None = None
        if self._accept("else"):
            else_ = [self._if()] if self._peek().kind == "if" else self._block()
        return ast.If(tok.coord, cond, then, else_)

    # ---- expressions ---------------------------------------------------------------------------

    def _expr(self) -> ast.Expr:
        left = self._and()
        while (tok := self._accept("or")) is not None:
            left = ast.Binary(tok.coord, "or", left, self._and())
        return left

    def _and(self) -> ast.Expr:
        left = self._not()
        while (tok := self._accept("and")) is not None:
            left = ast.Binary(tok.coord, "and", left, self._not())
        return left

    def _not(self) -> ast.Expr:
        tok = self._accept("not")
        if tok is not None:
            return ast.Unary(tok.coord, "not", self._not())
        return self._compare()

    def _compare(self) -> ast.Expr:
        left = self._sum()
        if self._peek().kind in _COMPARISONS:
            tok = self._next()
            left = ast.Binary(tok.coord, tok.kind, left, self._sum())
            if self._peek().kind in _COMPARISONS:
                self._error(
                    self._peek().coord, "comparisons cannot be chained; combine them with `and`"
                )
        return left

    def _sum(self) -> ast.Expr:
        left = self._term()
        while self._peek().kind in ("+", "-"):
            tok = self._next()
            left = ast.Binary(tok.coord, tok.kind, left, self._term())
        return left

    def _term(self) -> ast.Expr:
        left = self._unary()
        while self._peek().kind in ("*", "/", "%"):
            tok = self._next()
            left = ast.Binary(tok.coord, tok.kind, left, self._unary())
        return left

    def _unary(self) -> ast.Expr:
        tok = self._accept("-")
        if tok is None:
            return self._postfix()
        if self._peek().kind == "int" and self._peek(1).kind != "[":
            lit = self._next()
            assert isinstance(lit.value, int)
            if lit.value > INT_MAX + 1:
                self._error(lit.coord, "integer literal out of range")
            return ast.IntLit(tok.coord, -lit.value)
        return ast.Unary(tok.coord, "-", self._unary())

    def _postfix(self) -> ast.Expr:
        e = self._primary()
        while (tok := self._accept("[")) is not None:
            index = self._expr()
            self._expect("]", "`]`")
            e = ast.Index(tok.coord, e, index)
        return e

    def _primary(self) -> ast.Expr:
        tok = self._next()
        kind = tok.kind
        if kind == "int":
            assert isinstance(tok.value, int)
            if tok.value > INT_MAX:
                self._error(tok.coord, "integer literal out of range")
            return ast.IntLit(tok.coord, tok.value)
        if kind == "str":
            assert isinstance(tok.value, bytes)
            return ast.StrLit(tok.coord, tok.value)
        if kind in ("true", "false"):
            return ast.BoolLit(tok.coord, kind == "true")
        if kind == "(":
            e = self._expr()
            self._expect(")", "`)`")
            return e
        if kind == "[":
            return ast.ListLit(tok.coord, self._items("]"))
        if kind == "name":
            if self._accept("("):
                return ast.Call(tok.coord, tok.text, self._items(")"))
            if self._accept("."):
                member = self._expect("name", "a function name after `.`")
                self._expect("(", "`(`")
                return ast.ModuleCall(tok.coord, tok.text, member.text, self._items(")"))
            return ast.Name(tok.coord, tok.text)
        self._error(tok.coord, f"expected an expression, found {_describe(tok)}")

    def _items(self, close: str) -> list[ast.Expr]:
        """Comma-separated expressions up to ``close`` (a trailing comma is allowed)."""
        items: list[ast.Expr] = []
        while self._peek().kind != close:
            items.append(self._expr())
            if not self._accept(","):
                break
        self._expect(close, f"`,` or `{close}`")
        return items


def parse(source: str, filename: str) -> ast.Program:
    """Parse a whole program."""
    return Parser(tokenize(source, filename), source, filename).parse_program()


__all__ = [
    "INT_MAX",
    "Parser",
    "parse",
    "start_coord",
]
