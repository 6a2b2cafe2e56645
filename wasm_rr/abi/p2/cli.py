"""``wasi:cli``: environment, exit, stdio streams and terminals, through ``world.cli`` and
``world.stdio``."""

from __future__ import annotations

from collections.abc import Callable

from ...world import World
from ..outcome import GuestExit
from . import canon
from .canon import STRING_T, U8_T
from .host import ComponentHost
from .io import StdinStream, StdioOutput
from .wit import INPUT_STREAM, OUTPUT_STREAM, TERMINAL_INPUT, TERMINAL_OUTPUT, iface


class Terminal:
    """A ``terminal-input`` or ``terminal-output``: no methods, its presence is the answer."""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def define(host: ComponentHost, world: World) -> None:
    cli = world.cli

    env = iface("wasi:cli/environment")

    def get_environment() -> list[tuple[str, str]]:
        pairs = []
        for entry in cli.environ():
            key, _, value = entry.partition(b"=")
            pairs.append((_text(key), _text(value)))
        return pairs

    host.func(
        env,
        "get-environment",
        [],
        canon.List(canon.Tuple(STRING_T, STRING_T)),
        get_environment,
    )
    host.func(
        env, "get-arguments", [], canon.List(STRING_T), lambda: [_text(a) for a in cli.args()]
    )
    # The world has no working directory: wasmtime's default (none) is what the guest sees.
    host.func(env, "initial-cwd", [], canon.Option(STRING_T), lambda: None)

    exit_i = iface("wasi:cli/exit")

    def exit_(status: canon.Case) -> None:
        code = 0 if status[0] == "ok" else 1
        cli.exit(code)
        raise GuestExit(code)

    def exit_with_code(code: int) -> None:
        cli.exit(code)
        raise GuestExit(code)

    host.func(exit_i, "exit", [canon.Result(None, None)], None, exit_)
    host.func(exit_i, "exit-with-code", [U8_T], None, exit_with_code)

    own_in = canon.Own(INPUT_STREAM)
    own_out = canon.Own(OUTPUT_STREAM)
    host.func(iface("wasi:cli/stdin"), "get-stdin", [], own_in, lambda: StdinStream(world))
    host.func(iface("wasi:cli/stdout"), "get-stdout", [], own_out, lambda: StdioOutput(world, 1))
    host.func(iface("wasi:cli/stderr"), "get-stderr", [], own_out, lambda: StdioOutput(world, 2))

    host.resource(iface("wasi:cli/terminal-input"), "terminal-input", TERMINAL_INPUT)
    host.resource(iface("wasi:cli/terminal-output"), "terminal-output", TERMINAL_OUTPUT)
    for fd, stream, type_id in (
        (0, "stdin", TERMINAL_INPUT),
        (1, "stdout", TERMINAL_OUTPUT),
        (2, "stderr", TERMINAL_OUTPUT),
    ):
        host.func(
            iface(f"wasi:cli/terminal-{stream}"),
            f"get-terminal-{stream}",
            [],
            canon.Option(canon.Own(type_id)),
            _terminal(world, fd),
        )


def _terminal(world: World, fd: int) -> Callable[[], Terminal | None]:
    def get() -> Terminal | None:
        return Terminal() if world.stdio.isatty(fd) else None

    return get


__all__ = [
    "Terminal",
    "define",
]
