"""``wasm-rr:http/client@0.1.0`` for core modules: the canonical-ABI lowering of
``wit/http.wit``'s ``send``, so the same C source builds as a module and as a component.

Core signature: ``send(method_ptr, method_len, url_ptr, url_len, headers_ptr, headers_len,
body_ptr, body_len, timeout_ms: i64, retptr)``. ``headers`` is an array of 16-byte
``tuple<string, list<u8>>`` elements (name ptr, name len, value ptr, value len). At ``retptr``
(24 bytes, align 4) goes ``result<response, error>``: a discriminant byte, then at +4 either
the response (status u16 @4, headers (ptr, len) @8, body (ptr, len) @16) or the error (code
(ptr, len) @4, detail: option byte @12 and (ptr, len) @16). Every list and string of the
answer is placed in buffers the guest's ``cabi_realloc`` allocates; the body is copied there in
pieces. This module only decodes guest memory, asks the http family, and encodes the answer.
"""

from __future__ import annotations

import struct

from ...world import World
from ...world.http import FAMILY
from ...world.http_protocol import Headers, HttpError, Request, Response, Timeouts
from ..memory import GuestMemory
from .canonical import Lowering
from .state import Preview1Host

MODULE = "wasm-rr:http/client@0.1.0"
RESULT_SIZE = 24
_HEADER = struct.Struct("<IIII")
_OK = struct.Struct("<BxxxHxxIIII")
_ERR = struct.Struct("<BxxxIIBxxxII")


class HttpAbi(Lowering):
    """The import, bound to one instance: the world's http family and the guest's memory."""

    def __init__(self, world: World, host: Preview1Host) -> None:
        super().__init__(host, MODULE)
        self.http = world.get(FAMILY)

    def _headers(self, mem: GuestMemory, ptr: int, n: int) -> Headers:
        mem.check(ptr, 16 * n, 4)
        out: Headers = []
        for i in range(n):
            name_ptr, name_len, value_ptr, value_len = _HEADER.unpack_from(mem.view, ptr + 16 * i)
            name = self.string(mem, name_ptr, name_len, "header name")
            out.append((name, mem.read(value_ptr, value_len)))
        return out

    def _lower_headers(self, headers: Headers) -> tuple[int, int]:
        if not headers:
            return 0, 0
        pairs = [(*self.bytes(name.encode()), *self.bytes(value)) for name, value in headers]
        ptr = self.alloc(16 * len(pairs), 4)
        mem = self.memory()
        for i, pair in enumerate(pairs):
            _HEADER.pack_into(mem.view, ptr + 16 * i, *pair)
        return ptr, len(pairs)

    def _error(self, retptr: int, err: HttpError) -> None:
        code = self.bytes(err.code.encode())
        detail = self.bytes(err.detail.encode()) if err.detail is not None else (0, 0)
        mem = self.memory()
        _ERR.pack_into(mem.view, retptr, 1, *code, int(err.detail is not None), *detail)

    def send(
        self,
        method_ptr: int,
        method_len: int,
        url_ptr: int,
        url_len: int,
        headers_ptr: int,
        headers_len: int,
        body_ptr: int,
        body_len: int,
        timeout_ms: int,
        retptr: int,
    ) -> None:
        mem = self.memory()
        mem.check(retptr, RESULT_SIZE, 4)
        timeout_ns = (timeout_ms & 0xFFFFFFFFFFFFFFFF) * 1_000_000 or None
        request = Request(
            self.string(mem, method_ptr, method_len, "method"),
            self.string(mem, url_ptr, url_len, "url"),
            self._headers(mem, headers_ptr, headers_len),
            mem.read(body_ptr, body_len),
            Timeouts(timeout_ns, timeout_ns, timeout_ns),
        )
        try:
            resp: Response = self.http.send(request)
        except HttpError as err:
            self._error(retptr, err)
            return
        try:
            headers = self._lower_headers(resp.headers)
            body = self.output(resp.body)
        finally:
            resp.close()
        _OK.pack_into(self.memory().view, retptr, 0, resp.status & 0xFFFF, *headers, *body)


SIGNATURES = {"send": ("i" * 8 + "Ii", "")}


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, HttpAbi(world, host), module=MODULE)


__all__ = [
    "MODULE",
    "RESULT_SIZE",
    "SIGNATURES",
    "HttpAbi",
    "define",
]
