"""The ``--until`` expression language of ``hunt`` and ``fuzz``: when a run counts as a failure.

::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | atom
    atom    := "(" expr ")"
             | "fail"                      # a trap or a non-zero exit (the default)
             | "trap"                      # any trap
             | "trap" "~" REGEX            # a trap whose code or message matches
             | "exit" OP INTEGER           # OP: == != < <= > >=
             | ("stdout" | "stderr") "~" REGEX
    REGEX   := 'quoted' | "quoted" | a word (up to the next space or parenthesis)

Examples: ``trap or stdout~FAIL``, ``exit == 3 and not stderr~'warning: '``. Regexes are
Python's, searched (not anchored) in the output decoded as UTF-8 (bad bytes replaced).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from .errors import UsageError
from .trace.schema import Outcome

DEFAULT = "fail"


@dataclass(frozen=True)
class RunView:
    """What a predicate looks at: the outcome and the outputs."""

    outcome: Outcome
    stdout: bytes
    stderr: bytes


Predicate = Callable[[RunView], bool]

_OPS: dict[str, Callable[[int, int], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_TOKEN = re.compile(
    r"""\s*(?:(?P<quoted>'[^']*'|"[^"]*")|(?P<op>==|!=|<=|>=|<|>|~|\(|\))|(?P<word>[^\s()~=!<>'"]+))"""
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UsageError(f"--until {text!r}: cannot read {text[pos:]!r}")
        out.append(m.group(m.lastgroup or "word"))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def error(self, what: str) -> UsageError:
        return UsageError(
            f"--until {self.text!r}: {what}; expected e.g. 'trap or stdout~FAIL' "
            "(see docs/hunting.md)"
        )

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise self.error("unexpected end")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_()
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return pred

    def or_(self) -> Predicate:
        parts = [self.and_()]
        while self.peek() == "or":
            self.take()
            parts.append(self.and_())
        if len(parts) == 1:
            return parts[0]
        return lambda run: any(p(run) for p in parts)

    def and_(self) -> Predicate:
        parts = [self.not_()]
        while self.peek() == "and":
            self.take()
            parts.append(self.not_())
        if len(parts) == 1:
            return parts[0]
        return lambda run: all(p(run) for p in parts)

    def not_(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.not_()
            return lambda run: not inner(run)
        return self.atom()

    def regex(self) -> re.Pattern[str]:
        tok = self.take()
        if tok[:1] in "'\"":
            tok = tok[1:-1]
        try:
            return re.compile(tok)
        except re.error as exc:
            raise self.error(f"bad regex {tok!r} ({exc})") from None

    def atom(self) -> Predicate:
        tok = self.take()
        if tok == "(":
            inner = self.or_()
            if self.peek() != ")":
                raise self.error("missing ')'")
            self.take()
            return inner
        if tok == "fail":
            return lambda run: run.outcome.trap is not None or bool(run.outcome.exit_code)
        if tok == "trap":
            if self.peek() != "~":
                return lambda run: run.outcome.trap is not None
            self.take()
            rx = self.regex()
            return lambda run: (
                run.outcome.trap is not None
                and bool(rx.search(f"{run.outcome.trap.code or ''}\n{run.outcome.trap.message}"))
            )
        if tok == "exit":
            op = self.take()
            if op not in _OPS:
                raise self.error(f"expected a comparison after 'exit', got {op!r}")
            value = self.take()
            try:
                n = int(value)
            except ValueError:
                raise self.error(f"expected an integer after 'exit {op}', got {value!r}") from None
            compare = _OPS[op]
            return lambda run: run.outcome.trap is None and compare(run.outcome.exit_code or 0, n)
        if tok in ("stdout", "stderr"):
            if self.take() != "~":
                raise self.error(f"expected '~' after {tok!r}")
            rx = self.regex()
            if tok == "stdout":
                return lambda run: bool(rx.search(run.stdout.decode("utf-8", "replace")))
            return lambda run: bool(rx.search(run.stderr.decode("utf-8", "replace")))
        raise self.error(f"unknown term {tok!r}")


def parse(text: str | None) -> Predicate:
    """The predicate an ``--until`` expression spells (``None``: :data:`DEFAULT`); a bad
    expression is a :class:`~wasm_rr.errors.UsageError` naming what is wrong."""
    return _Parser(text if text is not None else DEFAULT).parse()


__all__ = [
    "DEFAULT",
    "Predicate",
    "RunView",
    "parse",
]
