"""``wasm-rr:process/process@0.1.0`` for components (``wit/process.wit``): ``run`` decodes the
call, asks the world's process family, and lowers the result. Outputs are read into memory
here (a component's ``list<u8>`` is lowered whole); core modules stream them instead.
"""

from __future__ import annotations

from ...world import World, WorldError
from ...world.process import FAMILY, Request, read_all
from .canon import BOOL_T, BYTES_T, S32_T, STRING_T, U32_T, U64_T, List, Record, Result
from .host import ComponentHost, ErrorEnum

IFACE = "wasm-rr:process/process@0.1.0"

_CODES = {"EACCES": "access", "ENOENT": "no-entry", "ENOTDIR": "not-directory", "EINVAL": "invalid"}


def _error_code(err: WorldError) -> str:
    return _CODES.get(err.name, "io")


ERROR_CODE = ErrorEnum(("access", "no-entry", "not-directory", "invalid", "io"), _error_code)
OUTPUT = Record(
    ("status", S32_T),
    ("signal", U32_T),
    ("timed-out", BOOL_T),
    ("stdout", BYTES_T),
    ("stderr", BYTES_T),
)
STRINGS = List(STRING_T)


def define(host: ComponentHost, world: World) -> None:
    process = world.get(FAMILY)

    def run(
        program: str,
        args: list[str],
        cwd: str,
        env: list[str],
        stdin: bytes,
        timeout_ms: int,
    ) -> tuple[int, int, bool, bytes, bytes]:
        done = process.run(Request(program, list(args), cwd, list(env), bytes(stdin), timeout_ms))
        try:
            return (
                done.status,
                done.signal,
                done.timed_out,
                read_all(done.stdout),
                read_all(done.stderr),
            )
        finally:
            done.close()

    host.func(
        IFACE,
        "run",
        [STRING_T, STRINGS, STRING_T, STRINGS, BYTES_T, U64_T],
        Result(OUTPUT, ERROR_CODE),
        run,
    )


__all__ = [
    "ERROR_CODE",
    "IFACE",
    "OUTPUT",
    "STRINGS",
    "define",
]
