"""``wasi:http/types`` and ``wasi:http/outgoing-handler`` (0.2.x) for components, answered
through the world's http family: one ``http.send`` per request.

The guest builds a request from host objects (fields, outgoing-request, request-options); its
body is collected from the outgoing-body's output stream. The request goes to
``world.get(http.FAMILY).send`` once it is complete: in ``handle`` when the guest never asked
for a body or finished it before, else in ``outgoing-body.finish``. The answer (a response, or
an :class:`~wasm_rr.world.http_protocol.HttpError` as an ``error-code``) waits in the
future-incoming-response, whose pollable is ready at once. The incoming-body's input stream
reads the family's ``Response.body`` piece by piece, so a large body is never held whole.

Fields behave as wasmtime's: names are kept in lower case, values grouped by name in the
order names first appeared, hop-by-hop names (``connection``, ``host``...) ``forbidden``, the
headers of a request or response ``immutable``. ``incoming-handler`` (serving) is not
provided: its imports trap when called, as does anything else the host lacks.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator

from ...world import World
from ...world.http import FAMILY
from ...world.http_protocol import Headers, Http, HttpError, Request, Response, Timeouts
from ...world.poll import Subscription
from ..outcome import GuestTrap
from . import canon
from .canon import (
    BOOL_T,
    BYTES_T,
    STRING_T,
    U16_T,
    U64_T,
    Case,
    List,
    Option,
    Result,
    Tuple,
    Value,
)
from .host import ComponentHost, Fail
from .http_types import (
    ERROR_CODE,
    FIELDS,
    FORBIDDEN_HEADERS,
    FUTURE_INCOMING_RESPONSE,
    FUTURE_TRAILERS,
    HEADER_ERROR,
    INCOMING_BODY,
    INCOMING_RESPONSE,
    METHOD,
    OUTGOING_BODY,
    OUTGOING_REQUEST,
    REQUEST_OPTIONS,
    SCHEME,
    HttpIoError,
    error_value,
    valid_name,
    valid_value,
)
from .io import READY, InputStream, OutputStream, Pollable
from .wit import CLOSED, ERROR, INPUT_STREAM, OUTPUT_STREAM, POLLABLE, iface

TYPES = iface("wasi:http/types")
HANDLER = iface("wasi:http/outgoing-handler")

INVALID = ("invalid-syntax", None)
FORBIDDEN = ("forbidden", None)
IMMUTABLE = ("immutable", None)

# ---- host objects ----------------------------------------------------------------------------


class Fields:
    """A header or trailer map: lower-case name -> values, in the order names first came."""

    def __init__(self, values: dict[str, list[bytes]] | None = None, mutable: bool = True) -> None:
        self.values: dict[str, list[bytes]] = values if values is not None else {}
        self.mutable = mutable

    @classmethod
    def of(cls, headers: Headers, mutable: bool = False) -> Fields:
        fields = cls(mutable=mutable)
        for name, value in headers:
            fields.values.setdefault(name.lower(), []).append(bytes(value))
        return fields

    def entries(self) -> list[tuple[str, bytes]]:
        return [(name, v) for name, values in self.values.items() for v in values]

    def check(self, name: str) -> str:
        """The name in lower case; fails as wasmtime does for a bad or forbidden name."""
        if not valid_name(name):
            raise Fail(INVALID)
        low = name.lower()
        if low in FORBIDDEN_HEADERS:
            raise Fail(FORBIDDEN)
        return low

    def check_mutable(self) -> None:
        if not self.mutable:
            raise Fail(IMMUTABLE)


class RequestOptions:
    def __init__(self) -> None:
        self.connect: int | None = None
        self.first_byte: int | None = None
        self.between_bytes: int | None = None


class Pending:
    """A sent request's answer, waiting for the guest's ``get``."""

    def __init__(self) -> None:
        self.answer: Case | None = None
        """("ok", response) or ("err", error-code), once the request was sent."""
        self.taken = False


class BodyWriter(OutputStream):
    """The outgoing-body's output stream: collects what the guest writes."""

    def __init__(self, body: OutgoingBody) -> None:
        self.body = body

    def write(self, data: bytes) -> None:
        if self.body.state != "open":
            raise Fail(CLOSED)
        self.body.data += data


class OutgoingBody:
    def __init__(self, request: OutgoingRequest) -> None:
        self.request = request
        self.data = bytearray()
        self.state = "open"
        """``open``, ``finished`` or ``dropped`` (dropped before it was finished)."""
        self.stream_taken = False
        self.trailers: Fields | None = None


class OutgoingRequest:
    def __init__(self, headers: Fields) -> None:
        self.headers = headers
        headers.mutable = False
        self.method: Case = ("get", None)
        self.path: str | None = None
        self.scheme: Case | None = None
        self.authority: str | None = None
        self.body: OutgoingBody | None = None
        self.options: RequestOptions | None = None
        self.pending: Pending | None = None
        """Set by ``handle``: the request is on its way once its body is complete."""


class ResponseBody(InputStream):
    """The incoming-body's input stream over the family's ``Response.body``."""

    def __init__(self, incoming: IncomingResponse) -> None:
        self.incoming = incoming
        self._chunks: Iterator[bytes] = incoming.response.body.chunks()
        self._buf = b""
        self._pos = 0

    def read(self, n: int) -> bytes:
        if self._pos >= len(self._buf):
            if self.incoming.closed:
                raise Fail(CLOSED)
            try:
                self._buf = next(self._chunks, b"")
            except HttpError as err:
                raise Fail(("last-operation-failed", HttpIoError(err))) from None
            self._pos = 0
            if not self._buf:
                raise Fail(CLOSED)
        if n == 0:
            return b""
        start = self._pos
        self._pos = min(len(self._buf), start + n)
        if start == 0 and self._pos == len(self._buf):
            return self._buf
        return self._buf[start : self._pos]


class IncomingResponse:
    def __init__(self, response: Response) -> None:
        self.response = response
        self.consumed = False
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.response.close()


class IncomingBody:
    def __init__(self, incoming: IncomingResponse) -> None:
        self.incoming = incoming
        self.stream_taken = False
        self.finished = False


class FutureTrailers:
    def __init__(self, trailers: Headers | None) -> None:
        self.trailers = trailers
        self.taken = False


class UnsentPollable(Pollable):
    """The pollable of a response whose request was never sent (its body is not finished):
    waiting on it would wait forever."""

    def subscription(self, userdata: int) -> Subscription | None:
        raise GuestTrap(
            "wasi:http: waiting for a response whose request body is not finished "
            "(wasm-rr sends a request once its outgoing-body is finished)"
        )


# ---- the request -----------------------------------------------------------------------------


def _method_name(method: Case) -> str:
    case, payload = method
    return str(payload) if case == "other" else case.upper()


def _request_of(req: OutgoingRequest, body: bytes) -> Request:
    scheme = req.scheme
    name = "https" if scheme is None else str(scheme[1] if scheme[0] == "other" else scheme[0])
    opts = req.options or RequestOptions()
    return Request(
        _method_name(req.method),
        f"{name.lower()}://{req.authority}{req.path if req.path is not None else '/'}",
        req.headers.entries(),
        body,
        Timeouts(opts.connect, opts.first_byte, opts.between_bytes),
    )


def _token(text: str) -> bool:
    return valid_name(text)


def _no_controls(text: str) -> bool:
    return all(33 <= ord(c) < 127 for c in text)


def _valid_scheme(scheme: Case | None) -> bool:
    if scheme is None or scheme[0] != "other":
        return True
    text = str(scheme[1])
    return (
        0 < len(text) <= 64 and text[0].isalpha() and all(c.isalnum() or c in "+-." for c in text)
    )


def _valid_authority(authority: str | None) -> bool:
    return authority is None or (_no_controls(authority) and not any(c in authority for c in "/?#"))


def _valid_path(path: str | None) -> bool:
    return path is None or (_no_controls(path) and "#" not in path)


# ---- registration ----------------------------------------------------------------------------


class _Take(canon.Own):
    """An owned handle the guest gives away: the host object leaves the handle table."""

    def __init__(self, type_id: int, host: ComponentHost) -> None:
        super().__init__(type_id)
        self.host = host

    def lift(self, rt: canon.Resources, addr: int) -> Value:
        cell = ctypes.c_uint64.from_address(addr + 8)
        any_ptr = cell.value
        cell.value = 0
        return self.host.table.pop(canon.rep_of(rt.ctx, any_ptr))


# ---- what each function does (module functions over the host objects, testable alone) --------


def fields_from_list(entries: list[tuple[str, bytes]]) -> Fields:
    fields = Fields()
    for name, value in entries:
        low = fields.check(name)
        if not valid_value(value):
            raise Fail(INVALID)
        fields.values.setdefault(low, []).append(bytes(value))
    return fields


def fields_get(f: Fields, name: str) -> list[bytes]:
    return list(f.values.get(name.lower(), [])) if valid_name(name) else []


def fields_has(f: Fields, name: str) -> bool:
    return valid_name(name) and name.lower() in f.values


def fields_set(f: Fields, name: str, values: list[bytes]) -> None:
    low = f.check(name)
    if not all(valid_value(v) for v in values):
        raise Fail(INVALID)
    f.check_mutable()
    if values:
        f.values[low] = [bytes(v) for v in values]  # in place when the name is there
    else:
        f.values.pop(low, None)


def fields_delete(f: Fields, name: str) -> None:
    low = f.check(name)
    f.check_mutable()
    f.values.pop(low, None)


def fields_append(f: Fields, name: str, value: bytes) -> None:
    low = f.check(name)
    if not valid_value(value):
        raise Fail(INVALID)
    f.check_mutable()
    f.values.setdefault(low, []).append(bytes(value))


def fields_clone(f: Fields) -> Fields:
    return Fields({k: list(v) for k, v in f.values.items()})


def request_body(req: OutgoingRequest) -> OutgoingBody:
    if req.body is not None:
        raise Fail(None)
    req.body = OutgoingBody(req)
    return req.body


def request_set_method(req: OutgoingRequest, method: Case) -> None:
    if method[0] == "other" and not _token(str(method[1])):
        raise Fail(None)
    req.method = method


def request_set_path(req: OutgoingRequest, path: str | None) -> None:
    if not _valid_path(path):
        raise Fail(None)
    req.path = path


def request_set_scheme(req: OutgoingRequest, scheme: Case | None) -> None:
    if not _valid_scheme(scheme):
        raise Fail(None)
    req.scheme = scheme


def request_set_authority(req: OutgoingRequest, authority: str | None) -> None:
    if not _valid_authority(authority):
        raise Fail(None)
    req.authority = authority


def _options_accessors(
    attr: str,
) -> tuple[Callable[[RequestOptions], int | None], Callable[[RequestOptions, int | None], None]]:
    """A request-options timeout's getter and setter."""

    def getter(o: RequestOptions) -> int | None:
        value: int | None = getattr(o, attr)
        return value

    def setter(o: RequestOptions, value: int | None) -> None:
        setattr(o, attr, value)

    return getter, setter


def body_drop(b: OutgoingBody) -> None:
    if b.state == "open":
        b.state = "dropped"
        pending = b.request.pending
        if pending is not None and pending.answer is None:
            pending.answer = ("err", ("internal-error", "outgoing-body dropped unfinished"))


def body_write(b: OutgoingBody) -> OutputStream:
    if b.stream_taken:
        raise Fail(None)
    b.stream_taken = True
    return BodyWriter(b)


def future_subscribe(p: Pending) -> Pollable:
    return READY if p.answer is not None else UnsentPollable()


def future_get(p: Pending) -> Case | None:
    if p.answer is None:
        return None
    if p.taken:
        return ("err", None)
    p.taken = True
    return ("ok", p.answer)


def future_drop(p: Pending) -> None:
    if not p.taken and p.answer is not None and p.answer[0] == "ok":
        p.answer[1].close()


def response_consume(resp: IncomingResponse) -> IncomingBody:
    if resp.consumed:
        raise Fail(None)
    resp.consumed = True
    return IncomingBody(resp)


def response_drop(resp: IncomingResponse) -> None:
    if not resp.consumed:
        resp.close()


def incoming_stream(b: IncomingBody) -> InputStream:
    if b.stream_taken:
        raise Fail(None)
    b.stream_taken = True
    return ResponseBody(b.incoming)


def incoming_finish(b: IncomingBody) -> FutureTrailers:
    b.finished = True
    b.incoming.close()
    return FutureTrailers(b.incoming.response.trailers)


def incoming_drop(b: IncomingBody) -> None:
    if not b.finished:
        b.incoming.close()


def trailers_get(t: FutureTrailers) -> Case:
    """The body's trailers, known once the body was read."""
    if t.taken:
        return ("err", None)
    t.taken = True
    return ("ok", ("ok", None if t.trailers is None else Fields.of(t.trailers)))


def http_error_code(err: object) -> Case | None:
    return error_value(err.error) if isinstance(err, HttpIoError) else None


class Client:
    """The outgoing side: a request goes to the http family once it is handled and its body is
    complete (:meth:`handle`, :meth:`finish`), its answer into its :class:`Pending`."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def send(self, req: OutgoingRequest, body: bytes) -> None:
        assert req.pending is not None
        try:
            response = self.http.send(_request_of(req, body))
        except HttpError as err:
            req.pending.answer = ("err", error_value(err))
            return
        req.pending.answer = ("ok", IncomingResponse(response))

    def finish(self, b: OutgoingBody, trailers: Fields | None) -> None:
        """``outgoing-body.finish``: sends the request when it was handled already."""
        b.state = "finished"
        b.trailers = trailers
        req = b.request
        declared = req.headers.values.get("content-length")
        if declared and declared[0].strip().isdigit() and int(declared[0]) != len(b.data):
            code = ("HTTP-request-body-size", len(b.data))
            if req.pending is not None:
                req.pending.answer = ("err", code)
            raise Fail(code)
        if req.pending is not None:
            self.send(req, bytes(b.data))

    def handle(self, req: OutgoingRequest, options: RequestOptions | None) -> Pending:
        """``outgoing-handler.handle``: sends the request unless its body is still open."""
        if req.authority is None:
            raise Fail(("HTTP-request-URI-invalid", None))
        if req.scheme is not None and req.scheme[0] == "other":
            raise Fail(("HTTP-protocol-error", None))
        req.options = options
        req.pending = Pending()
        b = req.body
        if b is None:
            self.send(req, b"")
        elif b.state == "finished":
            self.send(req, bytes(b.data))
        elif b.state == "dropped":
            req.pending.answer = ("err", ("internal-error", "outgoing-body dropped unfinished"))
        return req.pending


# ---- registration ----------------------------------------------------------------------------


def define(host: ComponentHost, world: World) -> None:
    client = Client(world.get(FAMILY))
    own_fields = canon.Own(FIELDS)
    borrow_fields = canon.Borrow(FIELDS)
    take_fields = _Take(FIELDS, host)
    entries_t = List(Tuple(STRING_T, BYTES_T))
    header_result = Result(None, HEADER_ERROR)
    unit_result = Result(None, None)

    # fields
    host.resource(TYPES, "fields", FIELDS)
    host.func(TYPES, "[constructor]fields", [], own_fields, Fields)
    host.func(
        TYPES,
        "[static]fields.from-list",
        [entries_t],
        Result(own_fields, HEADER_ERROR),
        fields_from_list,
    )
    f = "[method]fields."
    host.func(TYPES, f + "get", [borrow_fields, STRING_T], List(BYTES_T), fields_get)
    host.func(TYPES, f + "has", [borrow_fields, STRING_T], BOOL_T, fields_has)
    host.func(TYPES, f + "set", [borrow_fields, STRING_T, List(BYTES_T)], header_result, fields_set)
    host.func(TYPES, f + "delete", [borrow_fields, STRING_T], header_result, fields_delete)
    host.func(TYPES, f + "append", [borrow_fields, STRING_T, BYTES_T], header_result, fields_append)
    host.func(TYPES, f + "entries", [borrow_fields], entries_t, Fields.entries)
    host.func(TYPES, f + "clone", [borrow_fields], own_fields, fields_clone)

    # outgoing-request
    borrow_req = canon.Borrow(OUTGOING_REQUEST)
    own_body = canon.Own(OUTGOING_BODY)
    host.resource(TYPES, "outgoing-request", OUTGOING_REQUEST)
    host.func(
        TYPES,
        "[constructor]outgoing-request",
        [take_fields],
        canon.Own(OUTGOING_REQUEST),
        OutgoingRequest,
    )
    r = "[method]outgoing-request."
    opt_string = Option(STRING_T)
    opt_scheme = Option(SCHEME)
    host.func(TYPES, r + "body", [borrow_req], Result(own_body, None), request_body)
    host.func(TYPES, r + "method", [borrow_req], METHOD, lambda q: q.method)
    host.func(TYPES, r + "set-method", [borrow_req, METHOD], unit_result, request_set_method)
    host.func(TYPES, r + "path-with-query", [borrow_req], opt_string, lambda q: q.path)
    host.func(
        TYPES, r + "set-path-with-query", [borrow_req, opt_string], unit_result, request_set_path
    )
    host.func(TYPES, r + "scheme", [borrow_req], opt_scheme, lambda q: q.scheme)
    host.func(TYPES, r + "set-scheme", [borrow_req, opt_scheme], unit_result, request_set_scheme)
    host.func(TYPES, r + "authority", [borrow_req], opt_string, lambda q: q.authority)
    host.func(
        TYPES, r + "set-authority", [borrow_req, opt_string], unit_result, request_set_authority
    )
    host.func(
        TYPES, r + "headers", [borrow_req], own_fields, lambda q: Fields(q.headers.values, False)
    )

    # request-options
    borrow_opts = canon.Borrow(REQUEST_OPTIONS)
    opt_duration = Option(U64_T)
    host.resource(TYPES, "request-options", REQUEST_OPTIONS)
    host.func(TYPES, "[constructor]request-options", [], canon.Own(REQUEST_OPTIONS), RequestOptions)
    m = "[method]request-options."
    for field, attr in (
        ("connect-timeout", "connect"),
        ("first-byte-timeout", "first_byte"),
        ("between-bytes-timeout", "between_bytes"),
    ):
        getter, setter = _options_accessors(attr)
        host.func(TYPES, m + field, [borrow_opts], opt_duration, getter)
        host.func(TYPES, f"{m}set-{field}", [borrow_opts, opt_duration], unit_result, setter)

    # outgoing-body
    host.resource(TYPES, "outgoing-body", OUTGOING_BODY, body_drop)
    host.func(
        TYPES,
        "[method]outgoing-body.write",
        [canon.Borrow(OUTGOING_BODY)],
        Result(canon.Own(OUTPUT_STREAM), None),
        body_write,
    )
    host.func(
        TYPES,
        "[static]outgoing-body.finish",
        [_Take(OUTGOING_BODY, host), Option(take_fields)],
        Result(None, ERROR_CODE),
        client.finish,
    )

    # outgoing-handler
    host.func(
        HANDLER,
        "handle",
        [_Take(OUTGOING_REQUEST, host), Option(_Take(REQUEST_OPTIONS, host))],
        Result(canon.Own(FUTURE_INCOMING_RESPONSE), ERROR_CODE),
        client.handle,
    )

    # future-incoming-response
    borrow_future = canon.Borrow(FUTURE_INCOMING_RESPONSE)
    own_pollable = canon.Own(POLLABLE)
    host.resource(TYPES, "future-incoming-response", FUTURE_INCOMING_RESPONSE, future_drop)
    host.func(
        TYPES,
        "[method]future-incoming-response.subscribe",
        [borrow_future],
        own_pollable,
        future_subscribe,
    )
    host.func(
        TYPES,
        "[method]future-incoming-response.get",
        [borrow_future],
        Option(Result(Result(canon.Own(INCOMING_RESPONSE), ERROR_CODE), None)),
        future_get,
    )

    # incoming-response
    borrow_resp = canon.Borrow(INCOMING_RESPONSE)
    host.resource(TYPES, "incoming-response", INCOMING_RESPONSE, response_drop)
    host.func(
        TYPES,
        "[method]incoming-response.status",
        [borrow_resp],
        U16_T,
        lambda resp: resp.response.status,
    )
    host.func(
        TYPES,
        "[method]incoming-response.headers",
        [borrow_resp],
        own_fields,
        lambda resp: Fields.of(resp.response.headers),
    )
    host.func(
        TYPES,
        "[method]incoming-response.consume",
        [borrow_resp],
        Result(canon.Own(INCOMING_BODY), None),
        response_consume,
    )

    # incoming-body
    host.resource(TYPES, "incoming-body", INCOMING_BODY, incoming_drop)
    host.func(
        TYPES,
        "[method]incoming-body.stream",
        [canon.Borrow(INCOMING_BODY)],
        Result(canon.Own(INPUT_STREAM), None),
        incoming_stream,
    )
    host.func(
        TYPES,
        "[static]incoming-body.finish",
        [_Take(INCOMING_BODY, host)],
        canon.Own(FUTURE_TRAILERS),
        incoming_finish,
    )

    # future-trailers
    borrow_trailers = canon.Borrow(FUTURE_TRAILERS)
    host.resource(TYPES, "future-trailers", FUTURE_TRAILERS)
    host.func(
        TYPES,
        "[method]future-trailers.subscribe",
        [borrow_trailers],
        own_pollable,
        lambda t: READY,
    )
    host.func(
        TYPES,
        "[method]future-trailers.get",
        [borrow_trailers],
        Option(Result(Result(Option(own_fields), ERROR_CODE), None)),
        trailers_get,
    )

    # http-error-code(io-error)
    host.func(TYPES, "http-error-code", [canon.Borrow(ERROR)], Option(ERROR_CODE), http_error_code)


__all__ = [
    "FORBIDDEN",
    "HANDLER",
    "IMMUTABLE",
    "INVALID",
    "TYPES",
    "BodyWriter",
    "Case",
    "Client",
    "Fields",
    "FutureTrailers",
    "IncomingBody",
    "IncomingResponse",
    "OutgoingBody",
    "OutgoingRequest",
    "Pending",
    "RequestOptions",
    "ResponseBody",
    "UnsentPollable",
    "body_drop",
    "body_write",
    "define",
    "fields_append",
    "fields_clone",
    "fields_delete",
    "fields_from_list",
    "fields_get",
    "fields_has",
    "fields_set",
    "future_drop",
    "future_get",
    "future_subscribe",
    "http_error_code",
    "incoming_drop",
    "incoming_finish",
    "incoming_stream",
    "request_body",
    "request_set_authority",
    "request_set_method",
    "request_set_path",
    "request_set_scheme",
    "response_consume",
    "response_drop",
    "trailers_get",
]
