"""The http family's kinds (:mod:`wasm_rr.world.http` implements it): what the registry, a
trace's header and its readers need, without importing the implementation."""

from __future__ import annotations

from typing import Any

from ..trace.events import EventDecl, each, f, opt, rec
from .family import Declaration

FAMILY_NAME = "http"

_HEADERS = each(rec("str", "bytes"))


def _line(question: tuple[Any, ...], answer: tuple[Any, ...]) -> str:
    method, url, _headers, _body, body_size = question[:5]
    error, detail, status, _rh, _b, resp_size = answer[:6]
    if error is not None:
        return f"http.send {method} {url} ({body_size} B) -> {error}" + (
            f": {detail}" if detail else ""
        )
    return f"http.send {method} {url} ({body_size} B) -> {status}, {resp_size} B"


SEND = EventDecl(
    FAMILY_NAME,
    "send",
    (
        f("method", "str"),
        f("url", "str"),
        f("headers", "list", of=_HEADERS),
        f("body", "bytes"),
        f("body_size", "uint"),
        f("timeouts", "list", of=rec(opt("uint"), opt("uint"), opt("uint"))),
    ),
    (
        f("error", "str", nullable=True),
        f("detail", "str", nullable=True),
        f("status", "u32"),
        f("headers", "list", of=_HEADERS),
        f("body", "payload"),
        f("body_size", "uint"),
        f("trailers", "list", nullable=True, of=_HEADERS),
        f("duration_ns", "uint"),
    ),
    doc="an HTTP request sent and its response (or a wasi:http error-code); secret header "
    "values are keyed digests",
    line=_line,
)


DECLARATION = Declaration(
    FAMILY_NAME,
    (SEND,),
    "wasm_rr.world.http",
    doc="outgoing HTTP requests (allow-listed hosts), answered from the trace on replay",
)

__all__ = [
    "DECLARATION",
    "FAMILY_NAME",
    "SEND",
]
