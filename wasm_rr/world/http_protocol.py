"""The http family's protocol (outgoing HTTP requests): the types every implementation and both
ABIs share. The implementations (live on urllib3, recording, replaying) and the ``FAMILY`` value
live in :mod:`wasm_rr.world.http`.

A request is sent whole (its body collected by the ABI layer); the response's body is read in
pieces (:class:`~wasm_rr.world.process.Output`), so a large body never has to fit in memory
when recording. An error is an :class:`HttpError` whose ``code`` is a case name of
``wasi:http/types.error-code`` (``connection-refused``, ``DNS-error``, ``connection-timeout``,
``HTTP-request-denied``...), recorded and replayed like every world answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from .process import Output

Headers = list[tuple[str, bytes]]
"""Header fields in order: the name as given (compared case-insensitively), the value bytes."""


@dataclass(frozen=True)
class Timeouts:
    """wasi:http request options, in nanoseconds (None: the implementation's default)."""

    connect_ns: int | None = None
    first_byte_ns: int | None = None
    between_bytes_ns: int | None = None


@dataclass(frozen=True)
class Request:
    method: str
    """``GET``, ``POST``... (upper case as the guest gave it)."""
    url: str
    """``scheme://authority/path-with-query``."""
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    timeouts: Timeouts = Timeouts()


@dataclass
class Response:
    status: int
    headers: Headers
    body: Output
    trailers: Headers | None = None

    def close(self) -> None:
        self.body.close()


class HttpError(Exception):
    """The request failed; ``code`` is a wasi:http ``error-code`` case name, ``detail`` an
    optional text (e.g. the DNS error's rcode, or why a request was denied)."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


class Http(Protocol):
    def send(self, request: Request) -> Response:
        """Send ``request`` and return the response once its head arrived (status and
        headers); raises :class:`HttpError`."""
        ...

    def close(self) -> None: ...


__all__ = [
    "Headers",
    "Http",
    "HttpError",
    "Request",
    "Response",
    "Timeouts",
]
