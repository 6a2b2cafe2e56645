"""``wasm-rr:http/client@0.1.0`` for components (``wit/http.wit``): ``send`` decodes the call,
asks the world's http family, and lowers the response or the error. The body is read into
memory here (a component's ``list<u8>`` is lowered whole); the preview1 import copies it into
guest buffers in pieces instead. Components written for WASI 0.2 use ``wasi:http``
(:mod:`.http`); this interface is for guests built from the same C source as a core module.
"""

from __future__ import annotations

from ...world import World
from ...world.http import FAMILY
from ...world.http_protocol import HttpError, Request, Timeouts
from ...world.process import read_all
from .canon import BYTES_T, STRING_T, U16_T, U64_T, List, Option, Record, Result, Tuple
from .host import ComponentHost, Fail

IFACE = "wasm-rr:http/client@0.1.0"

FIELDS = List(Tuple(STRING_T, BYTES_T))
RESPONSE = Record(("status", U16_T), ("headers", FIELDS), ("body", BYTES_T))
ERROR = Record(("code", STRING_T), ("detail", Option(STRING_T)))


def define(host: ComponentHost, world: World) -> None:
    http = world.get(FAMILY)

    def send(
        method: str,
        url: str,
        headers: list[tuple[str, bytes]],
        body: bytes,
        timeout_ms: int,
    ) -> tuple[int, list[tuple[str, bytes]], bytes]:
        timeout_ns = timeout_ms * 1_000_000 or None
        request = Request(
            method,
            url,
            [(str(n), bytes(v)) for n, v in headers],
            bytes(body),
            Timeouts(timeout_ns, timeout_ns, timeout_ns),
        )
        try:
            resp = http.send(request)
        except HttpError as err:
            raise Fail((err.code, err.detail)) from None
        try:
            return (resp.status & 0xFFFF, list(resp.headers), read_all(resp.body))
        finally:
            resp.close()

    host.func(
        IFACE,
        "send",
        [STRING_T, STRING_T, FIELDS, BYTES_T, U64_T],
        Result(RESPONSE, ERROR),
        send,
    )


__all__ = [
    "ERROR",
    "FIELDS",
    "IFACE",
    "RESPONSE",
    "define",
]
