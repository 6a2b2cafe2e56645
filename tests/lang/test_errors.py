"""Runtime errors: a message without a position on stderr, a trap inside
``tape_error_<kind>``, and the site register pointing at the error's site."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasm_rr.lang import compile_source, read_sites_section

from .helpers import run_wasi

CASES = [
    # (source, kind, message, line, col)
    ("let xs = [1, 2]\nprint(xs[2])", "index_out_of_range", "index out of range", 2, 9),
    ("let xs = [1]\nprint(xs[-1])", "index_out_of_range", "index out of range", 2, 9),
    ("let xs = []\nxs[0] = 1", "index_out_of_range", "index out of range", 2, 3),
    ('print(byte_at("ab", 2))', "index_out_of_range", "index out of range", 1, 7),
    ("let z = 0\nprint(1 / z)", "division_by_zero", "division by zero", 2, 9),
    ("let z = 0\nprint(1 % z)", "division_by_zero", "division by zero", 2, 9),
    ('print(int("x"))', "invalid_int", "int() of a string that is not an integer", 1, 7),
    ('print(int(""))', "invalid_int", "int() of a string that is not an integer", 1, 7),
    ('print(int("-"))', "invalid_int", "int() of a string that is not an integer", 1, 7),
    (
        'print(int("9223372036854775808"))',
        "invalid_int",
        "int() of a string that is not an integer",
        1,
        7,
    ),
    (
        "print(random.bits(0))",
        "random_bits_out_of_range",
        "random.bits(n) needs 1 <= n <= 62",
        1,
        7,
    ),
    (
        "print(random.bits(63))",
        "random_bits_out_of_range",
        "random.bits(n) needs 1 <= n <= 62",
        1,
        7,
    ),
    ('let x = "a" - 1', "type_error", "operands of - must be ints", 1, 13),
    (
        'let x = 1 + "a"',
        "type_error",
        "operands of + must be two ints, two strings or two bytes",
        1,
        11,
    ),
    ('let x = -"a"', "type_error", "operand of unary - must be an int", 1, 9),
    (
        'let x = 1 < "a"',
        "type_error",
        "operands of < must be two ints, two strings or two bytes",
        1,
        11,
    ),
    ("if 1 { }", "type_error", "a condition must be a bool", 1, 4),
    ("let n = 3\nwhile n { }", "type_error", "a condition must be a bool", 2, 7),
    ("let x = true and 1", "type_error", "operands of `and` must be bools", 1, 18),
    ("let x = 0 or true", "type_error", "operands of `or` must be bools", 1, 9),
    ('let x = not "s"', "type_error", "the operand of `not` must be a bool", 1, 13),
    ('for i in 0.."3" { }', "type_error", "range bounds must be ints", 1, 11),
    ('let s = "abc"\nprint(s[0])', "type_error", "only a list can be indexed, by an int", 2, 8),
    ('let xs = [1]\nprint(xs["0"])', "type_error", "only a list can be indexed, by an int", 2, 9),
    (
        'let s = "abc"\ns[0] = 1',
        "type_error",
        "only a list element can be assigned, by an int index",
        2,
        2,
    ),
    ("print(len(5))", "type_error", "len() needs a string, bytes or a list", 1, 7),
    ("push(5, 1)", "type_error", "push() needs a list", 1, 1),
    ("print(byte_at(5, 0))", "type_error", "byte_at() needs bytes or a string, and an int", 1, 7),
    ("print(int([1]))", "type_error", "int() needs a string, bytes, an int or a bool", 1, 7),
    ("print(env.get(1))", "type_error", "env.get() needs a string", 1, 7),
    ('print(args.get("1"))', "type_error", "args.get() needs an int", 1, 7),
    ('print(random.bits("8"))', "type_error", "random.bits() needs an int", 1, 7),
    ('time.sleep("1")', "type_error", "time.sleep() needs an int", 1, 1),
    ('exit("1")', "type_error", "exit() needs an int", 1, 1),
    ("exit(126)", "exit_status_out_of_range", "exit(n) needs 0 <= n <= 125", 1, 1),
    ("exit(-1)", "exit_status_out_of_range", "exit(n) needs 0 <= n <= 125", 1, 1),
    ("print(fs.read(1))", "type_error", "fs.read() needs a string path", 1, 7),
    (
        'fs.write("/x", [1])',
        "type_error",
        "fs.write() needs a string path, and a string or bytes",
        1,
        1,
    ),
    ('print(fs.read("/data/x"))', "file_error", "no preopened directory contains the path", 1, 7),
    ('fs.write("/data/x", "")', "file_error", "no preopened directory contains the path", 1, 1),
]


@pytest.mark.parametrize(
    ("source", "kind", "message", "line", "col"),
    CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_runtime_error(source: str, kind: str, message: str, line: int, col: int) -> None:
    compiled = compile_source(source, "err.tape")
    result = run_wasi(compiled.wasm)
    assert result.status is None and result.trap is not None
    assert result.stderr == f"tape: runtime error: {message}\n".encode()
    # The trap is raised inside the function named after the error, called from the runtime.
    frames = [ln.split("!", 1)[1] for ln in result.trap.splitlines() if "!" in ln]
    assert frames[0] == f"tape_error_{kind}"
    assert frames[-1] == "_start"
    assert "wasm `unreachable` instruction executed" in result.trap
    # The site register names the error's site; the section renders it.
    table = read_sites_section(compiled.wasm)
    assert table is not None
    site = table.sites[result.site]
    assert (site.name, site.line, site.col) == (f"error: {message}", line, col)
    assert table.describe(result.site) == f"err.tape:{line}:{col}: {message}"


def test_error_inside_a_function_shows_its_frame() -> None:
    source = "fn lookup(xs, i) {\n    return xs[i]\n}\nprint(lookup([1], 4))\n"
    compiled = compile_source(source, "hello.tape")
    result = run_wasi(compiled.wasm)
    assert result.trap is not None
    frames = [ln.split("!", 1)[1] for ln in result.trap.splitlines() if "!" in ln]
    assert frames == ["tape_error_index_out_of_range", "rt.index", "lookup", "_start"]
    table = read_sites_section(compiled.wasm)
    assert table is not None
    assert table.describe(result.site) == "hello.tape:2:14: index out of range"


def test_missing_file(tmp_path: Path) -> None:
    compiled = compile_source('let d = fs.read("/data/missing.txt")', "m.tape")
    result = run_wasi(compiled.wasm, preopens=[(tmp_path, "/data")])
    assert result.stderr == b"tape: runtime error: no such file or directory\n"
    assert result.trap is not None and "tape_error_no_such_file" in result.trap
    table = read_sites_section(compiled.wasm)
    assert table is not None
    assert table.describe(result.site) == "m.tape:1:9: no such file or directory"


def test_write_into_a_missing_directory(tmp_path: Path) -> None:
    compiled = compile_source('fs.write("/data/no/such/dir.txt", "x")', "m.tape")
    result = run_wasi(compiled.wasm, preopens=[(tmp_path, "/data")])
    assert result.stderr == b"tape: runtime error: no such file or directory\n"


def test_read_of_a_directory_is_a_file_error(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    compiled = compile_source('let d = fs.read("/data/sub")', "m.tape")
    result = run_wasi(compiled.wasm, preopens=[(tmp_path, "/data")])
    assert result.stderr == b"tape: runtime error: cannot read the file\n"
    assert result.trap is not None and "tape_error_file_error" in result.trap


def test_each_error_site_has_its_own_entry() -> None:
    compiled = compile_source("let a = 1 / 2\nlet b = 3 / 4", "t.tape")
    assert [(s.name, s.line, s.col) for s in compiled.sites] == [
        ("error: operands of / must be ints", 1, 11),
        ("error: division by zero", 1, 11),
        ("error: operands of / must be ints", 2, 11),
        ("error: division by zero", 2, 11),
    ]


def test_static_conditions_need_no_sites() -> None:
    # Comparisons and logic produce bools: no runtime check, no site.
    compiled = compile_source("let a = 1\nif a == 1 and not (a != 2) or true { }", "t.tape")
    assert compiled.sites == []
