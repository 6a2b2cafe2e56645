"""The builtins and effects of the language, and the runtime errors each can raise.

This table is shared by the checker (names, arity), the code generator (which runtime function
to call, how many sites to reserve) and the runtime (the error messages, see ``runtime.wat``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RuntimeError_:
    """A runtime error an operation can raise: ``kind`` names the trapping function
    (``tape_error_<kind>``), ``message`` is printed and becomes the site name."""

    kind: str
    message: str

    @property
    def site_name(self) -> str:
        return f"error: {self.message}"


@dataclass(frozen=True, slots=True)
class Op:
    """An operation compiled to a call of runtime function ``func``.

    Its sites are consecutive: the effect site first (when ``effect`` is set: the operation
    calls the host), then one per entry of ``errors``. The runtime function receives the first
    site's index and raises error *k* at ``first + (1 if effect else 0) + k``.
    """

    func: str
    arity: int
    effect: str | None = None
    errors: tuple[RuntimeError_, ...] = ()

    def site_names(self) -> list[str]:
        names = [self.effect] if self.effect else []
        return names + [e.site_name for e in self.errors]


def _type(message: str) -> RuntimeError_:
    return RuntimeError_("type_error", message)


INDEX_OUT_OF_RANGE = RuntimeError_("index_out_of_range", "index out of range")
DIVISION_BY_ZERO = RuntimeError_("division_by_zero", "division by zero")
NO_PREOPEN = RuntimeError_("file_error", "no preopened directory contains the path")
NO_SUCH_FILE = RuntimeError_("no_such_file", "no such file or directory")

PROC_ERROR_CODES = ("access", "no-entry", "not-directory", "invalid", "io")
"""wasm-rr:process's error-code enum, in WIT order (the discriminant is the index)."""
_PROC_ERROR_TEXT = {
    "access": "the program is not allowed",
    "no-entry": "the program was not found",
    "not-directory": "the working directory is not a directory inside a preopen",
    "invalid": "a malformed request",
    "io": "the program could not be started",
}
PROC_ERRORS = tuple(
    RuntimeError_("proc_error", f"proc.run: {code}: {_PROC_ERROR_TEXT[code]}")
    for code in PROC_ERROR_CODES
)

HTTP_ERROR_CODES = (
    "HTTP-request-denied",
    "connection-refused",
    "DNS-error",
    "connection-timeout",
    "connection-read-timeout",
    "connection-terminated",
    "TLS-certificate-error",
    "TLS-protocol-error",
    "HTTP-request-URI-invalid",
)
"""The wasi:http error codes a .tape program names in its runtime error (others: the last)."""


def _http_errors(op: str) -> tuple[RuntimeError_, ...]:
    return (
        *(RuntimeError_("http_error", f"{op}: {code}") for code in HTTP_ERROR_CODES),
        RuntimeError_("http_error", f"{op}: the request failed (internal-error or another code)"),
    )


# Builtin functions, called as `name(args)`.
FUNCTIONS: dict[str, Op] = {
    "print": Op("$rt.print", 1, effect="print"),
    "exit": Op(
        "$rt.exit",
        1,
        effect="exit",
        errors=(
            _type("exit() needs an int"),
            RuntimeError_("exit_status_out_of_range", "exit(n) needs 0 <= n <= 125"),
        ),
    ),
    "str": Op("$rt.str", 1),
    "int": Op(
        "$rt.int",
        1,
        errors=(
            _type("int() needs a string, bytes, an int or a bool"),
            RuntimeError_("invalid_int", "int() of a string that is not an integer"),
        ),
    ),
    "len": Op("$rt.len", 1, errors=(_type("len() needs a string, bytes or a list"),)),
    "byte_at": Op(
        "$rt.byte_at",
        2,
        errors=(_type("byte_at() needs bytes or a string, and an int"), INDEX_OUT_OF_RANGE),
    ),
    "push": Op("$rt.push", 2, errors=(_type("push() needs a list"),)),
}

# Effects, called as `module.name(args)`; each one is a site.
MODULES: dict[str, dict[str, Op]] = {
    "env": {
        "get": Op("$rt.env_get", 1, effect="env.get", errors=(_type("env.get() needs a string"),)),
    },
    "args": {
        "get": Op("$rt.args_get", 1, effect="args.get", errors=(_type("args.get() needs an int"),)),
        "count": Op("$rt.args_count", 0, effect="args.count"),
    },
    "io": {"write": Op("$rt.write", 1, effect="io.write")},
    "random": {
        "bits": Op(
            "$rt.random_bits",
            1,
            effect="random.bits",
            errors=(
                _type("random.bits() needs an int"),
                RuntimeError_("random_bits_out_of_range", "random.bits(n) needs 1 <= n <= 62"),
            ),
        ),
    },
    "clock": {"now": Op("$rt.clock_now", 0, effect="clock.now")},
    "time": {
        "sleep": Op(
            "$rt.sleep", 1, effect="time.sleep", errors=(_type("time.sleep() needs an int"),)
        )
    },
    "fs": {
        "read": Op(
            "$rt.fs_read",
            1,
            effect="fs.read",
            errors=(
                _type("fs.read() needs a string path"),
                NO_PREOPEN,
                NO_SUCH_FILE,
                RuntimeError_("file_error", "cannot read the file"),
            ),
        ),
        "write": Op(
            "$rt.fs_write",
            2,
            effect="fs.write",
            errors=(
                _type("fs.write() needs a string path, and a string or bytes"),
                NO_PREOPEN,
                NO_SUCH_FILE,
                RuntimeError_("file_error", "cannot write the file"),
            ),
        ),
    },
    "proc": {
        "run": Op(
            "$rt.proc_run",
            2,
            effect="proc.run",
            errors=(_type("proc.run() needs a string program and a list of strings"), *PROC_ERRORS),
        ),
    },
    "http": {
        "get": Op(
            "$rt.http_get",
            1,
            effect="http.get",
            errors=(_type("http.get() needs a string URL"), *_http_errors("http.get")),
        ),
        "post": Op(
            "$rt.http_post",
            2,
            effect="http.post",
            errors=(
                _type("http.post() needs a string URL, and a string or bytes body"),
                *_http_errors("http.post"),
            ),
        ),
    },
}


def _arith(op: str, *extra: RuntimeError_) -> Op:
    return Op(f"$rt.{_OPNAMES[op]}", 2, errors=(_type(f"operands of {op} must be ints"), *extra))


_OPNAMES = {
    "+": "add",
    "-": "sub",
    "*": "mul",
    "/": "div",
    "%": "mod",
    "<": "lt",
    "<=": "le",
    ">": "gt",
    ">=": "ge",
}

# Operators and implicit checks.
OPERATORS: dict[str, Op] = {
    "+": Op(
        "$rt.add", 2, errors=(_type("operands of + must be two ints, two strings or two bytes"),)
    ),
    "-": _arith("-"),
    "*": _arith("*"),
    "/": _arith("/", DIVISION_BY_ZERO),
    "%": _arith("%", DIVISION_BY_ZERO),
    **{
        op: Op(
            f"$rt.{_OPNAMES[op]}",
            2,
            errors=(_type(f"operands of {op} must be two ints, two strings or two bytes"),),
        )
        for op in ("<", "<=", ">", ">=")
    },
    "neg": Op("$rt.neg", 1, errors=(_type("operand of unary - must be an int"),)),
    "index": Op(
        "$rt.index", 2, errors=(_type("only a list can be indexed, by an int"), INDEX_OUT_OF_RANGE)
    ),
    "index_set": Op(
        "$rt.index_set",
        3,
        errors=(_type("only a list element can be assigned, by an int index"), INDEX_OUT_OF_RANGE),
    ),
    "range": Op("$rt.range_check", 2, errors=(_type("range bounds must be ints"),)),
    "cond": Op("$rt.cond", 1, errors=(_type("a condition must be a bool"),)),
    "and": Op("$rt.cond_and", 1, errors=(_type("operands of `and` must be bools"),)),
    "or": Op("$rt.cond_or", 1, errors=(_type("operands of `or` must be bools"),)),
    "not": Op("$rt.cond_not", 1, errors=(_type("the operand of `not` must be a bool"),)),
}

__all__ = [
    "DIVISION_BY_ZERO",
    "FUNCTIONS",
    "HTTP_ERROR_CODES",
    "INDEX_OUT_OF_RANGE",
    "MODULES",
    "NO_PREOPEN",
    "NO_SUCH_FILE",
    "OPERATORS",
    "PROC_ERRORS",
    "PROC_ERROR_CODES",
    "Op",
    "RuntimeError_",
]
