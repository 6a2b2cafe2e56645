"""The wasi:http host's parts, without a component: the host objects and what each function
does with them (wasm_rr/abi/p2/http.py), over a fake http family."""

from __future__ import annotations

import pytest

from wasm_rr.abi.p2 import http as host_http
from wasm_rr.abi.p2.host import Fail
from wasm_rr.abi.p2.http import Client, Fields, OutgoingRequest
from wasm_rr.world.http_protocol import HttpError, Request, Response
from wasm_rr.world.process import BytesOutput


class FakeHttp:
    def __init__(self, fail: HttpError | None = None) -> None:
        self.sent: list[Request] = []
        self.fail = fail

    def send(self, request: Request) -> Response:
        self.sent.append(request)
        if self.fail is not None:
            raise self.fail
        return Response(201, [("Content-Type", b"text/plain")], BytesOutput(b"made"))

    def close(self) -> None:
        pass


def _request(headers: tuple[tuple[str, bytes], ...] = ()) -> OutgoingRequest:
    req = OutgoingRequest(host_http.fields_from_list(list(headers)))
    host_http.request_set_method(req, ("post", None))
    host_http.request_set_scheme(req, ("HTTP", None))
    host_http.request_set_authority(req, "example.test:8080")
    host_http.request_set_path(req, "/items?x=1")
    return req


def test_a_request_whose_body_is_open_is_sent_when_the_body_is_finished() -> None:
    http = FakeHttp()
    client = Client(http)
    req = _request((("X-Id", b"7"),))
    body = host_http.request_body(req)
    host_http.body_write(body).write(b"hello ")
    pending = client.handle(req, None)
    assert http.sent == [] and host_http.future_get(pending) is None
    body.data += b"world"
    client.finish(body, None)
    (sent,) = http.sent
    assert (sent.method, sent.url, sent.body) == (
        "POST",
        "http://example.test:8080/items?x=1",
        b"hello world",
    )
    assert sent.headers == [("x-id", b"7")]
    got = host_http.future_get(pending)
    assert got is not None and got[0] == "ok" and got[1][0] == "ok"
    response = got[1][1]
    assert response.response.status == 201
    assert host_http.future_get(pending) == ("err", None)  # taken once


def test_a_body_shorter_than_its_content_length_is_an_error_and_nothing_is_sent() -> None:
    http = FakeHttp()
    client = Client(http)
    req = _request((("Content-Length", b"10"),))
    body = host_http.request_body(req)
    body.data += b"short"
    pending = client.handle(req, None)
    with pytest.raises(Fail) as info:
        client.finish(body, None)
    assert info.value.value == ("HTTP-request-body-size", 5)
    assert http.sent == [] and pending.answer == ("err", ("HTTP-request-body-size", 5))


def test_a_body_dropped_unfinished_answers_an_internal_error_unsent() -> None:
    http = FakeHttp()
    client = Client(http)
    req = _request()
    body = host_http.request_body(req)
    pending = client.handle(req, None)
    host_http.body_drop(body)
    assert http.sent == []
    assert pending.answer == ("err", ("internal-error", "outgoing-body dropped unfinished"))


def test_a_family_error_is_the_answer_as_an_error_code() -> None:
    client = Client(FakeHttp(fail=HttpError("connection-refused")))
    pending = client.handle(_request(), None)
    assert pending.answer == ("err", ("connection-refused", None))


def test_fields_of_a_request_are_immutable_and_names_are_checked() -> None:
    req = _request((("Accept", b"*/*"),))
    with pytest.raises(Fail) as info:
        host_http.fields_append(req.headers, "x-more", b"1")
    assert info.value.value == host_http.IMMUTABLE
    fields = host_http.fields_clone(req.headers)
    host_http.fields_append(fields, "X-More", b"1")
    assert fields.entries() == [("accept", b"*/*"), ("x-more", b"1")]
    for bad, why in (("bad name", host_http.INVALID), ("Connection", host_http.FORBIDDEN)):
        with pytest.raises(Fail) as info:
            host_http.fields_set(Fields(), bad, [b"v"])
        assert info.value.value == why
