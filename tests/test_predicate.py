"""The --until language: each term, precedence, quoting, and one clear error per mistake."""

from __future__ import annotations

import pytest

from wasm_rr.errors import UsageError
from wasm_rr.predicate import DEFAULT, RunView, parse
from wasm_rr.trace.schema import Outcome, Trap


def exited(code: int, stdout: bytes = b"", stderr: bytes = b"") -> RunView:
    return RunView(Outcome(exit_code=code), stdout, stderr)


def trapped(code: str | None = "unreachable", message: str = "wasm trap: unreachable") -> RunView:
    return RunView(Outcome(trap=Trap(code, message, [[3, "main", 0x42, 2]])), b"", b"")


OK = exited(0, b"ok: roll was 3\n")
FAILED = exited(1, b"FAIL: expected the answer to be 42, got 7\n", b"warning: x\n")
TRAP = trapped()
OOB = trapped("memory out of bounds", "wasm trap: out of bounds memory access")


@pytest.mark.parametrize(
    ("text", "ok", "failed", "trap", "oob"),
    [
        (None, False, True, True, True),
        ("fail", False, True, True, True),
        ("trap", False, False, True, True),
        ("trap~unreachable", False, False, True, False),
        ("trap~'out of bounds'", False, False, False, True),
        ("exit == 1", False, True, False, False),
        ("exit != 0", False, True, False, False),
        ("exit < 1", True, False, False, False),
        ("exit<=0", True, False, False, False),
        ("exit > 0", False, True, False, False),
        ("exit >= 0", True, True, False, False),
        ("stdout~FAIL", False, True, False, False),
        ('stdout~"roll was [0-9]"', True, False, False, False),
        ("stderr~^warning", False, True, False, False),
        ("not fail", True, False, False, False),
        ("not not trap", False, False, True, True),
        ("trap or stdout~FAIL", False, True, True, True),
        ("fail and not trap", False, True, False, False),
        ("exit == 1 or trap and trap~unreachable", False, True, True, False),
        ("(exit == 1 or trap) and trap~unreachable", False, False, True, False),
        ("  fail  ", False, True, True, True),
    ],
)
def test_terms(text: str | None, ok: bool, failed: bool, trap: bool, oob: bool) -> None:
    pred = parse(text)
    assert [pred(OK), pred(FAILED), pred(TRAP), pred(OOB)] == [ok, failed, trap, oob]


def test_default_is_fail() -> None:
    assert DEFAULT == "fail"


def test_undecodable_output_is_replaced_not_an_error() -> None:
    assert parse("stdout~ab")(exited(0, b"\xffab\xfe"))


def test_a_trap_is_no_exit() -> None:
    assert not parse("exit == 0")(trapped())
    assert not parse("exit != 0")(trapped())


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "unexpected end"),
        ("bogus", "unknown term 'bogus'"),
        ("fail or", "unexpected end"),
        ("(fail", "missing ')'"),
        ("fail)", "unexpected ')'"),
        ("fail trap", "unexpected 'trap'"),
        ("exit 3", "expected a comparison after 'exit', got '3'"),
        ("exit == x", "expected an integer after 'exit ==', got 'x'"),
        ("stdout FAIL", "expected '~' after 'stdout'"),
        ("stdout~'(unclosed'", "bad regex '(unclosed'"),
        ("stdout~'open", "cannot read"),
    ],
)
def test_errors_are_one_line_usage_errors(text: str, says: str) -> None:
    with pytest.raises(UsageError) as err:
        parse(text)
    message = str(err.value)
    assert says in message
    assert message.startswith(f"--until {text!r}")
    assert "\n" not in message
