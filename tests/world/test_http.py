"""The http family on its own: LiveHttp, RecordingHttp and ReplayingHttp driven directly with
Requests (no guest), against a local server started by each test."""

from __future__ import annotations

import io
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from wasm_rr.config import RunConfig
from wasm_rr.errors import ArgsMismatchError, UsageError
from wasm_rr.trace import Footer, Header, Outcome, TraceWriter, load
from wasm_rr.trace.events import assign_codes, codes_to_cbor
from wasm_rr.world import Context, Streams
from wasm_rr.world import http as wh
from wasm_rr.world.base import Recorder, Replayer, ZeroFuel
from wasm_rr.world.http import (
    HttpError,
    LiveHttp,
    Options,
    RecordingHttp,
    ReplayingHttp,
    Request,
    Timeouts,
)
from wasm_rr.world.process import read_all
from wasm_rr.world.registry import EVENTS

from ..httpserver import Server, big_body, free_port, serve

SECRET = b"Bearer s3cret-token-never-in-traces"


@pytest.fixture(autouse=True)
def redact_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASM_RR_REDACT_KEY", "test key one")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def config(*allow: str, redact: list[str] | None = None) -> RunConfig:
    return RunConfig(argv=["g.wasm"], families={"http": wh.options(list(allow), redact or [])})


def context(cfg: RunConfig) -> Context:
    return Context(cfg, Streams(None, io.BytesIO(), io.BytesIO()))


def get(url: str, *headers: tuple[str, bytes], timeout_ms: int = 0) -> Request:
    ns = timeout_ms * 10**6 or None
    return Request("GET", url, list(headers), b"", Timeouts(ns, ns, ns))


def send(h: Any, request: Request) -> tuple[int, dict[str, bytes], bytes] | str:
    try:
        resp = h.send(request)
    except HttpError as err:
        return err.code
    try:
        return resp.status, {k.lower(): v for k, v in resp.headers}, read_all(resp.body)
    finally:
        resp.close()


HEADER_KINDS = codes_to_cbor(assign_codes(EVENTS.values()))


def record(path: Path, cfg: RunConfig, requests: list[Request]) -> list[Any]:
    ctx = context(cfg)
    writer = TraceWriter(
        path, Header("t", "w", "00" * 32, "module", "g.wasm", cfg, kinds=HEADER_KINDS)
    )
    rec = RecordingHttp(LiveHttp(ctx), Recorder(writer), ctx)
    try:
        return [send(rec, r) for r in requests]
    finally:
        rec.close()
        writer.close(Footer(writer.events, Outcome(exit_code=0), "", "", 0, 0))


def replayer(path: Path) -> ReplayingHttp:
    trace = load(path)
    return ReplayingHttp(Replayer(trace, ZeroFuel(), False), context(trace.header.config))


def replay(path: Path, requests: list[Request]) -> list[Any]:
    rep = replayer(path)
    return [send(rep, r) for r in requests]


# --- options ---------------------------------------------------------------------------


def test_options() -> None:
    opts = wh.options(["Example.com", "127.0.0.1:8080", "[::1]:9"], ["X-Api-Key"])
    assert opts == {
        "allow_http": [["example.com", None], ["127.0.0.1", 8080], ["::1", 9]],
        "redact_headers": ["x-api-key"],
    }
    assert wh.options([], []) == {}
    o = Options.of(RunConfig(argv=["g"], families={"http": opts}))
    assert o.allows("http", "EXAMPLE.com", None) and o.allows("https", "example.com", 443)
    assert not o.allows("http", "example.com", 8080)
    assert o.allows("http", "127.0.0.1", 8080) and not o.allows("http", "127.0.0.1", None)
    assert o.allows("http", "[::1]", 9)
    for bad in ["", ":80", "host:0", "host:x", "[::1"]:
        with pytest.raises(UsageError):
            wh.options([bad], [])


# --- LiveHttp --------------------------------------------------------------------------


def test_live_answers(server: Server) -> None:
    h = LiveHttp(context(config(server.allow)))
    try:
        status, headers, body = send(h, get(server.url("/hello")))  # type: ignore[misc]
        assert (status, headers["x-test"], body) == (200, b"1", b"hello\n")
        assert send(h, get(server.url("/chunked")))[2] == b"".join(  # type: ignore[index]
            f"chunk {i}\n".encode() for i in range(5)
        )
        status, headers, body = send(h, get(server.url("/redirect")))  # type: ignore[misc]
        assert (status, headers["location"], body) == (302, b"/hello", b"")
        assert send(h, get(server.url("/fail")))[:1] == (500,)  # type: ignore[index]
        post = Request("POST", server.url("/echo"), [], b"x" * 100)
        status, headers, body = send(h, post)  # type: ignore[misc]
        assert (status, headers["x-method"], body) == (200, b"POST", b"x" * 100)
    finally:
        h.close()


def test_live_errors(server: Server) -> None:
    port = free_port()
    h = LiveHttp(context(config(server.allow, f"127.0.0.1:{port}", "no-such-host.invalid")))
    try:
        assert send(h, get(server.url("/slow?ms=1500"), timeout_ms=200)) == (
            "connection-read-timeout"
        )
        assert send(h, get(f"http://127.0.0.1:{port}/")) == "connection-refused"
        assert send(h, get("http://no-such-host.invalid/")) == "DNS-error"
        assert send(h, get("http://example.com/")) == "HTTP-request-denied"
        assert send(h, get(f"http://127.0.0.1:{server.port + 1 or 1}/x")) in (
            "HTTP-request-denied",
        )
        assert send(h, get("ftp://127.0.0.1/")) == "HTTP-request-URI-invalid"
        with pytest.raises(HttpError, match=r"--allow-http example.com"):
            h.send(get("http://example.com/"))
    finally:
        h.close()


def test_live_reuses_connections(server: Server) -> None:
    h = LiveHttp(context(config(server.allow)))
    try:
        for _ in range(3):
            send(h, get(server.url("/hello")))
        pool = h._manager().connection_from_url(server.url("/"))
        assert pool.num_connections == 1
    finally:
        h.close()


# --- record / replay -------------------------------------------------------------------


def test_record_replay_round_trip(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    requests = [
        get(server.url("/hello")),
        get(server.url("/chunked")),
        get(server.url("/redirect")),
        get(server.url("/fail")),
        Request("POST", server.url("/echo"), [("Content-Type", b"text/plain")], b"y" * 50),
        get(server.url("/slow?ms=1500"), timeout_ms=200),
        get("http://example.com/"),
    ]
    got = record(trace, config(server.allow), requests)
    assert got[-2:] == ["connection-read-timeout", "HTTP-request-denied"]
    server.stop()
    assert replay(trace, requests) == got
    events = [e for e in load(trace).events() if e.name != "journal.intent"]
    assert [e.name for e in events] == ["http.send"] * len(requests)
    assert events[4].question[3] != b"y" * 50 and len(events[4].question[3]) == 32  # a digest
    assert events[4].question[4] == 50


def test_big_body_once_and_streamed(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    url = server.url("/big?mb=10")
    tracemalloc.start()
    try:
        ctx = context(config(server.allow))
        writer = TraceWriter(
            trace, Header("t", "w", "00" * 32, "module", "g.wasm", ctx.config, kinds=HEADER_KINDS)
        )
        rec = RecordingHttp(LiveHttp(ctx), Recorder(writer), ctx)
        for _ in range(2):
            resp = rec.send(get(url))
            assert resp.body.size == 10 << 20
            resp.close()
        rec.close()
        writer.close(Footer(writer.events, Outcome(exit_code=0), "", "", 0, 0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 6 << 20, f"recording a 10 MiB body peaked at {peak} B of Python memory"
    size = trace.stat().st_size
    assert 10 << 20 < size < (10 << 20) + 100_000, "the body is stored once"
    for got in replay(trace, [get(url), get(url)]):
        assert got[2] == big_body(10)


def test_replay_opens_no_socket(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trace = tmp_path / "t.cbor"
    requests = [get(server.url("/hello")), get(server.url("/chunked"))]
    got = record(trace, config(server.allow), requests)

    def no_socket(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    assert replay(trace, requests) == got


def test_drift_names_each_part(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    base = Request("POST", server.url("/echo"), [("X-A", b"1")], b"z" * 40)
    record(trace, config(server.allow), [base])
    cases = {
        "method: recorded POST, now PUT": Request("PUT", base.url, base.headers, base.body),
        "url: recorded": Request("POST", server.url("/echo?x"), base.headers, base.body),
        "header x-a: recorded b'1', now b'2'": Request(
            "POST", base.url, [("X-A", b"2")], base.body
        ),
        "header x-b: not recorded, now sent": Request(
            "POST", base.url, [*base.headers, ("X-B", b"")], base.body
        ),
        "body: recorded 40 B blake3": Request("POST", base.url, base.headers, b"z" * 41),
    }
    for part, request in cases.items():
        with pytest.raises(ArgsMismatchError) as exc:
            replayer(trace).send(request)
        text = str(exc.value)
        assert part in text, text
        assert "http.send POST " + base.url in text
        assert exc.value.detail.count("; ") == 0  # only the part that differs
    ok = replayer(trace).send(base)
    assert read_all(ok.body) == b"z" * 40


def test_redaction(
    server: Server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trace = tmp_path / "t.cbor"
    cfg = config(server.allow, redact=["X-Api-Key", "X-Method"])
    request = get(
        server.url("/echo"),
        ("Authorization", SECRET),
        ("cookie", b"session=abcdefgh12345"),
        ("X-Api-Key", b"key-9876543210"),
    )
    got = record(trace, cfg, [request])
    assert got[0][1]["x-method"] == b"GET"  # type: ignore[index]
    data = trace.read_bytes()
    for secret in (SECRET, b"abcdefgh12345", b"key-9876543210", b"GET\r"):
        assert secret not in data
    assert b"wasm-rr-redacted:" in data
    # The same key: the values are checked.
    assert replay(trace, [request])[0][1]["x-method"] == wh.PLACEHOLDER  # type: ignore[index]
    wrong = get(server.url("/echo"), ("Authorization", b"Bearer other"), *request.headers[1:])
    with pytest.raises(ArgsMismatchError, match="header authorization: a different value"):
        replayer(trace).send(wrong)
    # Another key: not checked, said once on stderr.
    monkeypatch.setenv("WASM_RR_REDACT_KEY", "test key two")
    assert replay(trace, [wrong])[0][0] == 200  # type: ignore[index]
    assert "redacted with key" in capsys.readouterr().err


def test_key_file_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WASM_RR_REDACT_KEY")
    key = wh.redact_key()
    path = tmp_path / "config" / "wasm-rr" / "redact.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert wh.redact_key() == key and len(key) == 32


def test_inspect_line(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    record(trace, config(server.allow), [get(server.url("/hello")), get("http://example.com/")])
    events = [e for e in load(trace).events() if e.name == "http.send"]
    lines = [wh.SEND.line(e.question, e.answer) for e in events]  # type: ignore[misc]
    assert lines[0] == f"http.send GET {server.url('/hello')} (0 B) -> 200, 6 B"
    assert lines[1].startswith("http.send GET http://example.com/ (0 B) -> HTTP-request-denied")
