"""The lexer: token kinds, values, positions and errors."""

from __future__ import annotations

import pytest

from wasm_rr.lang import CompileError
from wasm_rr.lang.lexer import tokenize


def kinds(source: str) -> list[str]:
    return [t.kind for t in tokenize(source, "t.tape")]


def test_kinds_keywords_and_operators() -> None:
    src = 'let x = a.b(1) // comment\nfn f() { return x <= -2 and not y or z != "s" }'
    assert kinds(src) == [
        "let", "name", "=", "name", ".", "name", "(", "int", ")",
        "fn", "name", "(", ")", "{", "return", "name", "<=", "-", "int", "and", "not", "name",
        "or", "name", "!=", "str", "}", "eof",
    ]  # fmt: skip


def test_two_char_operators_and_ranges() -> None:
    assert kinds("0..n a==b c>=d e<f g>h i=j k%l") == [
        "int", "..", "name", "name", "==", "name", "name", ">=", "name", "name", "<", "name",
        "name", ">", "name", "name", "=", "name", "name", "%", "name", "eof",
    ]  # fmt: skip


def test_positions_are_one_based_and_count_characters() -> None:
    toks = tokenize('let s = "é"\n  print(s)\n', "f.tape")
    assert [(t.text, str(t.coord)) for t in toks] == [
        ("let", "f.tape:1:1"),
        ("s", "f.tape:1:5"),
        ("=", "f.tape:1:7"),
        ('"é"', "f.tape:1:9"),
        ("print", "f.tape:2:3"),
        ("(", "f.tape:2:8"),
        ("s", "f.tape:2:9"),
        (")", "f.tape:2:10"),
        ("", "f.tape:3:1"),
    ]


def test_tabs_and_crlf() -> None:
    toks = tokenize("\tx\r\n\ty", "f.tape")
    assert [(t.text, t.coord.line, t.coord.col) for t in toks[:2]] == [("x", 1, 2), ("y", 2, 2)]


def test_values() -> None:
    toks = tokenize(r'42 "a\n\t\\\"\x41\0" "é"', "t")
    assert [t.value for t in toks[:3]] == [42, b'a\n\t\\"A\0', "é".encode()]


def test_comment_to_end_of_line() -> None:
    assert kinds("a // b c d\n// only a comment\ne") == ["name", "name", "eof"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("let x = $", "t.tape:1:9: unexpected character '$'"),
        ('print("abc)', "t.tape:1:7: unterminated string"),
        ('let s = "a\nb"', "t.tape:1:9: unterminated string"),
        ('x = "ab\\q"', "t.tape:1:8: invalid escape sequence '\\\\q' in string"),
        ('x = "\\x4g"', "t.tape:1:6: invalid escape sequence '\\\\x4g' in string"),
        ("let n = 12ab", "t.tape:1:9: invalid number '12ab'"),
    ],
)
def test_errors(source: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        tokenize(source, "t.tape")
    assert str(info.value) == message
