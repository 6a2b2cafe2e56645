"""The parser: precedence, statements, optional semicolons, and pinned error messages."""

from __future__ import annotations

import pytest

from wasm_rr.lang import CompileError, ast
from wasm_rr.lang.parser import parse


def sx(e: ast.Expr) -> str:
    """An expression as an s-expression."""
    if isinstance(e, ast.IntLit):
        return str(e.value)
    if isinstance(e, ast.StrLit):
        return repr(e.value.decode())
    if isinstance(e, ast.BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, ast.Name):
        return e.name
    if isinstance(e, ast.ListLit):
        return "[" + " ".join(sx(i) for i in e.items) + "]"
    if isinstance(e, ast.Index):
        return f"(index {sx(e.obj)} {sx(e.index)})"
    if isinstance(e, ast.Unary):
        return f"({e.op} {sx(e.operand)})"
    if isinstance(e, ast.Binary):
        return f"({e.op} {sx(e.left)} {sx(e.right)})"
    if isinstance(e, ast.Call):
        return f"(call {e.name}" + "".join(" " + sx(a) for a in e.args) + ")"
    return f"(call {e.qualname}" + "".join(" " + sx(a) for a in e.args) + ")"


def stmt_sx(s: ast.Stmt) -> str:
    if isinstance(s, ast.Let):
        return f"(let {s.name} {sx(s.value)})"
    if isinstance(s, ast.Assign):
        return f"(= {s.name} {sx(s.value)})"
    if isinstance(s, ast.IndexAssign):
        return f"(= (index {sx(s.obj)} {sx(s.index)}) {sx(s.value)})"
    if isinstance(s, ast.ExprStmt):
        return sx(s.expr)
    if isinstance(s, ast.If):
        out = f"(if {sx(s.cond)} {block(s.then)}"
        return out + (f" {block(s.else_)})" if s.else_ is not None else ")")
    if isinstance(s, ast.While):
        return f"(while {sx(s.cond)} {block(s.body)})"
    if isinstance(s, ast.For):
        return f"(for {s.var} {sx(s.start)} {sx(s.end)} {block(s.body)})"
    if isinstance(s, ast.Return):
        return "(return)" if s.value is None else f"(return {sx(s.value)})"
    return "(break)" if isinstance(s, ast.Break) else "(continue)"


def block(stmts: list[ast.Stmt]) -> str:
    return "{" + " ".join(stmt_sx(s) for s in stmts) + "}"


def expr(source: str) -> str:
    prog = parse(f"let x = {source}", "t.tape")
    s = prog.body[0]
    assert isinstance(s, ast.Let)
    return sx(s.value)


def stmts(source: str) -> str:
    return block(parse(source, "t.tape").body)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b % c * d", "(* (% (/ a b) c) d)"),
        ("-2 * 3", "(* -2 3)"),
        ("-a * 3", "(* (- a) 3)"),
        ("- -a", "(- (- a))"),
        ("-9223372036854775808", "-9223372036854775808"),
        ("a + 1 < b * 2", "(< (+ a 1) (* b 2))"),
        ("not a == b", "(not (== a b))"),
        ("not not a", "(not (not a))"),
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c and d", "(or (and a b) (and c d))"),
        ("a == 1 and b != 2", "(and (== a 1) (!= b 2))"),
        ("xs[1][i + 1]", "(index (index xs 1) (+ i 1))"),
        ("-xs[0]", "(- (index xs 0))"),
        ('[1, [2, 3], "s",]', "[1 [2 3] 's']"),
        ("[]", "[]"),
        ("f(1, g(2),)", "(call f 1 (call g 2))"),
        ('env.get("A") + args.get(1)', "(+ (call env.get 'A') (call args.get 1))"),
        ("clock.now() - t", "(- (call clock.now) t)"),
        ("true != false", "(!= true false)"),
    ],
)
def test_precedence(source: str, tree: str) -> None:
    assert expr(source) == tree


def test_statements() -> None:
    src = """
    let a = 1
    a = a + 1
    xs[0] = 2
    if a < 2 { print(a) } else if a < 3 { print(2) } else { print(3) }
    while a > 0 { a = a - 1; if a == 5 { break } continue }
    for i in 0..n + 1 { io.write(i) }
    """
    assert stmts(src) == (
        "{(let a 1) (= a (+ a 1)) (= (index xs 0) 2) "
        "(if (< a 2) {(call print a)} {(if (< a 3) {(call print 2)} {(call print 3)})}) "
        "(while (> a 0) {(= a (- a 1)) (if (== a 5) {(break)}) (continue)}) "
        "(for i 0 (+ n 1) {(call io.write i)})}"
    )


def test_semicolons_are_optional_separators() -> None:
    with_semis = stmts("let a = 1; let b = 2;; print(a); ;")
    assert with_semis == stmts("let a = 1 let b = 2 print(a)")
    assert with_semis == stmts("let a = 1\nlet b = 2\nprint(a)\n")


def test_newlines_are_just_whitespace() -> None:
    assert stmts("let a =\n  1 +\n  2\nprint(\n a,\n)") == stmts("let a = 1 + 2 print(a)")


def test_functions_and_return() -> None:
    prog = parse(
        "fn f(a, b,) { if a { return } return a + b }\nfn g() { return\n}\nprint(f(1, 2))",
        "t.tape",
    )
    assert [(f.name, [p.name for p in f.params]) for f in prog.functions] == [
        ("f", ["a", "b"]),
        ("g", []),
    ]
    assert block(prog.functions[0].body) == "{(if a {(return)}) (return (+ a b))}"
    assert block(prog.functions[1].body) == "{(return)}"
    assert block(prog.body) == "{(call print (call f 1 2))}"


def test_return_takes_a_value_when_one_can_start() -> None:
    prog = parse("fn f() { return\n  1 + 2 }\nfn g() { return; print(1) }", "t.tape")
    assert block(prog.functions[0].body) == "{(return (+ 1 2))}"
    assert block(prog.functions[1].body) == "{(return) (call print 1)}"
    prog = parse("fn h() { while true { return\nlet x = 1 } }", "t.tape")
    assert block(prog.functions[0].body) == "{(while true {(return) (let x 1)})}"


def test_coords_point_at_operators_and_names() -> None:
    prog = parse("let v = xs[i] + f(1)\nprint(v)", "t.tape")
    let = prog.body[0]
    assert isinstance(let, ast.Let) and isinstance(let.value, ast.Binary)
    assert str(let.coord) == "t.tape:1:5"
    assert str(let.value.coord) == "t.tape:1:15"
    assert isinstance(let.value.left, ast.Index) and str(let.value.left.coord) == "t.tape:1:11"
    assert isinstance(let.value.right, ast.Call) and str(let.value.right.coord) == "t.tape:1:17"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("let = 1", "t.tape:1:5: expected a variable name, found `=`"),
        ("let x 1", "t.tape:1:7: expected `=`, found `1`"),
        ("let x = ", "t.tape:1:9: expected an expression, found end of file"),
        ("print(1", "t.tape:1:8: expected `,` or `)`, found end of file"),
        ("x = [1, 2", "t.tape:1:10: expected `,` or `]`, found end of file"),
        ("if a { print(1)", "t.tape:1:16: expected `}`, found end of file"),
        ("if a print(1)", "t.tape:1:6: expected `{`, found `print`"),
        ("x + 1", "t.tape:1:1: expected a statement; an expression on its own must be a call"),
        ("xs[0]", "t.tape:1:1: expected a statement; an expression on its own must be a call"),
        ("1 = 2", "t.tape:1:1: can only assign to a variable or a list element"),
        ("f() = 2", "t.tape:1:1: can only assign to a variable or a list element"),
        (
            "let b = 1 < 2 < 3",
            "t.tape:1:15: comparisons cannot be chained; combine them with `and`",
        ),
        ("fn f() { fn g() {} }", "t.tape:1:10: functions can only be defined at the top level"),
        ("if a { } else print(1)", "t.tape:1:15: expected `{`, found `print`"),
        ("else { }", "t.tape:1:1: `else` without `if`"),
        ("for i 0..3 { }", "t.tape:1:7: expected `in`, found `0`"),
        ("for i in 0, 3 { }", "t.tape:1:11: expected `..`, found `,`"),
        ("let n = 9223372036854775808", "t.tape:1:9: integer literal out of range"),
        ("let n = -9223372036854775809", "t.tape:1:10: integer literal out of range"),
        ("print(env.)", "t.tape:1:11: expected a function name after `.`, found `)`"),
        ("print(env.get)", "t.tape:1:14: expected `(`, found `)`"),
        ("fn (a) { }", "t.tape:1:4: expected a function name, found `(`"),
        ("fn f(1) { }", "t.tape:1:6: expected a parameter name, found `1`"),
        ("let x = not", "t.tape:1:12: expected an expression, found end of file"),
        ("let x = a + not b", "t.tape:1:13: expected an expression, found `not`"),
        ("}", "t.tape:1:1: expected an expression, found `}`"),
    ],
)
def test_errors(source: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        parse(source, "t.tape")
    assert str(info.value) == message


def test_error_render_has_source_line_and_caret() -> None:
    with pytest.raises(CompileError) as info:
        parse("let a = 1\n\tlet b = (a + 2\nprint(b)\n", "t.tape")
    assert info.value.render() == ("t.tape:3:1: expected `)`, found `print`\nprint(b)\n^")
    with pytest.raises(CompileError) as info:
        parse("let a = 1\n\tlet b = a +* 2\n", "t.tape")
    assert info.value.render() == (
        "t.tape:2:13: expected an expression, found `*`\n\tlet b = a +* 2\n\t           ^"
    )
