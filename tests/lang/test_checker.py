"""The checker: each static error, pinned as the CLI prints it (message, line, caret)."""

from __future__ import annotations

import pytest

from wasm_rr.lang import CompileError, compile_source
from wasm_rr.lang.checker import check
from wasm_rr.lang.parser import parse


def render(source: str) -> str:
    with pytest.raises(CompileError) as info:
        check(parse(source, "s.tape"), source)
    return info.value.render()


CASES = [
    (
        "print(nme)",
        "s.tape:1:7: `nme` is not defined\nprint(nme)\n      ^",
    ),
    (
        "print(x)\nlet x = 1",
        "s.tape:1:7: `x` is not defined\nprint(x)\n      ^",
    ),
    (
        "if true { let y = 1 }\nprint(y)",
        "s.tape:2:7: `y` is not defined\nprint(y)\n      ^",
    ),
    (
        "let x = x + 1",
        "s.tape:1:9: `x` is not defined\nlet x = x + 1\n        ^",
    ),
    (
        "count = 1",
        "s.tape:1:1: cannot assign to `count`: it is not declared"
        " (declare it with `let count = ...`)\ncount = 1\n^",
    ),
    (
        "fn f() { }\nf = 2",
        "s.tape:2:1: cannot assign to `f`: it is not a variable\nf = 2\n^",
    ),
    (
        "let a = 1\nlet a = 2",
        "s.tape:2:5: `a` is already declared in this scope\nlet a = 2\n    ^",
    ),
    (
        "fn f(a) {\n    let a = 2\n}",
        "s.tape:2:9: `a` is already declared in this scope\n    let a = 2\n        ^",
    ),
    (
        "fn f(a, b, a) { }",
        "s.tape:1:12: duplicate parameter `a`\nfn f(a, b, a) { }\n           ^",
    ),
    (
        "fn f() { }\nfn g() { }\nfn f() { }",
        "s.tape:3:4: function `f` is already defined at s.tape:1:4\nfn f() { }\n   ^",
    ),
    (
        "fn fib(k) { return k }\nprint(fib(1, 2))",
        "s.tape:2:7: `fib` takes 1 argument, but 2 were given\nprint(fib(1, 2))\n      ^",
    ),
    (
        "fn two(a, b) { return a }\nprint(two(1))",
        "s.tape:2:7: `two` takes 2 arguments, but 1 was given\nprint(two(1))\n      ^",
    ),
    (
        "print()",
        "s.tape:1:1: `print` takes 1 argument, but 0 were given\nprint()\n^",
    ),
    (
        "let n = len(1, 2)",
        "s.tape:1:9: `len` takes 1 argument, but 2 were given\nlet n = len(1, 2)\n        ^",
    ),
    (
        "let t = clock.now(1)",
        "s.tape:1:9: `clock.now` takes 0 arguments, but 1 was given\n"
        "let t = clock.now(1)\n        ^",
    ),
    (
        'fs.write("/a")',
        's.tape:1:1: `fs.write` takes 2 arguments, but 1 was given\nfs.write("/a")\n^',
    ),
    (
        "let r = rand.bits(8)",
        "s.tape:1:9: no module named `rand`"
        " (the modules are args, clock, env, fs, http, io, proc, random, time)"
        "\nlet r = rand.bits(8)\n        ^",
    ),
    (
        'env.put("A", "1")',
        's.tape:1:1: module `env` has no function `put` (it has env.get)\nenv.put("A", "1")\n^',
    ),
    (
        "frob(1)",
        "s.tape:1:1: no function named `frob`\nfrob(1)\n^",
    ),
    (
        "let f = 1\nf(2)",
        "s.tape:2:1: `f` is a variable, not a function\nf(2)\n^",
    ),
    (
        "fn f() { }\nlet g = f",
        "s.tape:2:9: `f` is a function; call it with `f(...)`\nlet g = f\n        ^",
    ),
    (
        "let p = print",
        "s.tape:1:9: `print` is a builtin function; call it with `print(...)`\n"
        "let p = print\n        ^",
    ),
    (
        "let e = env",
        "s.tape:1:9: `env` is a module, not a value; call its functions, e.g. `env.get`\n"
        "let e = env\n        ^",
    ),
    (
        "env(1)",
        "s.tape:1:1: `env` is a module; call one of its functions\nenv(1)\n^",
    ),
    (
        "let len = 3",
        "s.tape:1:5: `len` is a builtin function and cannot be used as a variable name\n"
        "let len = 3\n    ^",
    ),
    (
        "fn f(args) { }",
        "s.tape:1:6: `args` is a builtin module and cannot be used as a parameter name\n"
        "fn f(args) { }\n     ^",
    ),
    (
        "fn print(x) { }",
        "s.tape:1:4: `print` is a builtin function and cannot be used as a function name\n"
        "fn print(x) { }\n   ^",
    ),
    (
        "fn _start() { }",
        "s.tape:1:4: `_start` is a reserved name and cannot be used as a function name\n"
        "fn _start() { }\n   ^",
    ),
    (
        "fn tape_error_x() { }",
        "s.tape:1:4: `tape_error_x` is a reserved name and cannot be used as a function name\n"
        "fn tape_error_x() { }\n   ^",
    ),
    (
        "fn f() { }\nlet f = 1",
        "s.tape:2:5: `f` is a function and cannot be used as a variable name\nlet f = 1\n    ^",
    ),
    (
        "break",
        "s.tape:1:1: `break` outside a loop\nbreak\n^",
    ),
    (
        "fn f() {\n\tcontinue\n}",
        "s.tape:2:2: `continue` outside a loop\n\tcontinue\n\t^",
    ),
    (
        "while true { }\nif true { break }",
        "s.tape:2:11: `break` outside a loop\nif true { break }\n          ^",
    ),
    (
        "return 1",
        "s.tape:1:1: `return` outside a function\nreturn 1\n^",
    ),
    (
        "fn f() { }\nif true { return }",
        "s.tape:2:11: `return` outside a function\nif true { return }\n          ^",
    ),
]


@pytest.mark.parametrize(("source", "rendered"), CASES, ids=[c[1].split(": ")[1] for c in CASES])
def test_static_errors(source: str, rendered: str) -> None:
    assert render(source) == rendered


def test_str_of_a_compile_error_is_one_line() -> None:
    with pytest.raises(CompileError) as info:
        compile_source("let a = 1\nprint(b)", "dir/prog.tape")
    err = info.value
    assert str(err) == "dir/prog.tape:2:7: `b` is not defined"
    assert (err.coord.file, err.coord.line, err.coord.col) == ("dir/prog.tape", 2, 7)
    assert err.message == "`b` is not defined"
    assert err.source_line == "print(b)"


def test_accepted_programs() -> None:
    source = """
    // Functions may be called before they are defined, and see every global.
    print(twice(3))
    fn twice(n) { return helper(n) * factor }
    fn helper(n) { return n + 0 }
    let factor = 2
    // Shadowing in an inner block, loop variables, and break/continue in nested loops.
    let i = 10
    for i in 0..3 { let i = "inner"; print(i) }
    while i > 0 { for j in 0..2 { if j == 1 { break } continue } i = i - 1 }
    fn early(x) { if x { return } while true { return 1 } }
    """
    checked = check(parse(source, "s.tape"), source)
    assert [v.name for v in checked.globals] == ["factor", "i"]
    assert [f.wasm for f in checked.functions] == ["$twice", "$helper", "$early"]
    assert [v.wasm for v in checked.main.locals] == ["$i", "$i.2", "$j"]
