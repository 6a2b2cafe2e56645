"""wasi:http for components: the fetcher guest (componentize-py) records one ``http.send`` per
request against a local server, replays without a socket, drifts when its request differs,
and prints what it prints under wasmtime's own wasi:http host."""

from __future__ import annotations

import ctypes
import hashlib
import io
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime
from wasmtime import component as wcomponent

from wasm_rr import engine
from wasm_rr.abi import engines
from wasm_rr.abi.p2 import canon, http_types
from wasm_rr.config import RunConfig
from wasm_rr.errors import ArgsMismatchError
from wasm_rr.trace import load
from wasm_rr.world import Streams
from wasm_rr.world import http as http_family
from wasm_rr.world.http_protocol import HttpError

from ...conftest import GUESTS, Captured
from ...httpserver import Server, big_body, free_port, start
from ...tracetools import rewrite, with_event

FETCHER = GUESTS / "fetcher.component.wasm"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = start()
    try:
        yield srv
    finally:
        srv.stop()


def config(args: list[str], allow: list[str]) -> RunConfig:
    return RunConfig(
        argv=["fetcher", *args],
        env={},
        dirs=[],
        families={"http": http_family.options(allow, [])},
    )


def _streams() -> tuple[Streams, io.BytesIO, io.BytesIO]:
    out, err = io.BytesIO(), io.BytesIO()
    return Streams(None, out, err), out, err


def record(trace: Path, args: list[str], allow: list[str]) -> Captured:
    assert FETCHER.exists(), f"{FETCHER} missing: run `python guests/build.py fetcher`"
    s, out, err = _streams()
    result = engine.record(FETCHER, trace, config(args, allow), s)
    return Captured(result, out.getvalue(), err.getvalue())


def replay(trace: Path) -> Captured:
    s, out, err = _streams()
    result = engine.replay(FETCHER, trace, s)
    return Captured(result, out.getvalue(), err.getvalue())


def lines(c: Captured) -> list[str]:
    return c.stdout.decode().splitlines()


def sends(trace: Path) -> int:
    return sum(1 for e in load(trace).events() if e.name == "http.send")


def record_and_replay(trace: Path, args: list[str], allow: list[str]) -> list[str]:
    rec = record(trace, args, allow)
    rep = replay(trace)
    assert rep.stdout == rec.stdout and rep.result.outcome == rec.result.outcome
    assert sends(trace) == 1
    return lines(rec)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# ---- requests --------------------------------------------------------------------------------


def test_get(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/hello?x=1")], [server.allow])
    assert out == [
        f"fetcher: GET {server.url('/hello?x=1')}",
        "fetcher: status 200",
        "fetcher: x-test: 1",
        "fetcher: content-type: text/plain",
        "fetcher: content-length: 6",
        f"fetcher: body 6 bytes, sha256 {digest(b'hello' + bytes([10]))}",
        "fetcher: first line 'hello'",
    ]


def test_chunked_response(server: Server, tmp_trace: Path) -> None:
    body = b"".join(f"chunk {i}\n".encode() for i in range(5))
    out = record_and_replay(tmp_trace, [server.url("/chunked")], [server.allow])
    assert f"fetcher: body {len(body)} bytes, sha256 {digest(body)}" in out


def test_post_with_body(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/echo"), "--post", "hi there"], [server.allow])
    assert out[0] == f"fetcher: POST {server.url('/echo')}"
    assert "fetcher: x-method: POST" in out
    assert "fetcher: first line 'hi there'" in out
    assert load(tmp_trace).events()  # the body is part of the recorded question
    (send,) = [e for e in load(tmp_trace).events() if e.name == "http.send"]
    assert send.fields[0] == "POST" and send.fields[4] == len("hi there")


def test_five_megabyte_bodies(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/big?mb=5")], [server.allow])
    data = big_body(5)
    assert f"fetcher: body {len(data)} bytes, sha256 {digest(data)}" in out
    size = 5 << 20
    up = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    out = record_and_replay(
        tmp_trace, [server.url("/echo"), "--post-size", str(size)], [server.allow]
    )
    assert f"fetcher: body {size} bytes, sha256 {digest(up)}" in out


def test_redirect_is_seen_not_followed(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/redirect")], [server.allow])
    assert out[1:3] == ["fetcher: status 302", "fetcher: location: /hello"]


def test_server_error(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/fail")], [server.allow])
    assert "fetcher: status 500" in out and "fetcher: first line 'boom'" in out


def test_refused_connection_is_an_error_code(tmp_trace: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    rec = record(tmp_trace, [url], [f"127.0.0.1:{port}"])
    assert lines(rec) == [f"fetcher: GET {url}", "fetcher: error ConnectionRefused"]
    assert rec.result.outcome.exit_code == 1
    rep = replay(tmp_trace)
    assert rep.stdout == rec.stdout and rep.result.outcome == rec.result.outcome


def test_host_not_allowed_is_denied(server: Server, tmp_trace: Path) -> None:
    out = record_and_replay(tmp_trace, [server.url("/hello")], [])
    assert out[1] == "fetcher: error HttpRequestDenied"


# ---- replay ----------------------------------------------------------------------------------


def test_replay_opens_no_socket(
    server: Server, tmp_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = record(tmp_trace, [server.url("/hello")], [server.allow])
    server.stop()

    def no_socket(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("replay opened a socket")

    monkeypatch.setattr(socket, "socket", no_socket)
    rep = replay(tmp_trace)
    assert rep.stdout == rec.stdout and rep.result.outcome == rec.result.outcome


def test_drift_when_the_request_differs(server: Server, tmp_path: Path) -> None:
    trace, edited = tmp_path / "t.cbor", tmp_path / "edited.cbor"
    record(trace, [server.url("/hello")], [server.allow])
    evs = list(load(trace).events())
    i = next(i for i, e in enumerate(evs) if e.name == "http.send")
    fields = list(evs[i].fields)
    fields[1] = server.url("/elsewhere")
    rewrite(trace, edited, events=lambda evs: with_event(evs, i, fields=fields))
    with pytest.raises(ArgsMismatchError) as info:
        replay(edited)
    assert "/elsewhere" in str(info.value) and "/hello" in str(info.value)


# ---- the same as wasmtime's own wasi:http ------------------------------------------------------


@dataclass(frozen=True)
class _Code:
    path: str
    wasm: bytes
    cache: str = "rw"


def stock(args: list[str]) -> tuple[bytes, bool]:
    """Run the fetcher under wasmtime-py's add_wasip2 + add_wasi_http: (stdout, ok). The
    component is compiled as our runs compile it (the engine's settings, the on-disk cache:
    a fresh compile of the 19 MB component takes seconds); fuel and the epoch deadline are
    set out of reach."""
    eng = engines.component_engine()
    comp = engines.compile_component(_Code(str(FETCHER), FETCHER.read_bytes()))
    linker = wcomponent.Linker(eng)
    linker.add_wasip2()
    linker.add_wasi_http()
    store = wasmtime.Store(eng)
    store.set_fuel(2**62)
    store.set_epoch_deadline(2**62)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "stdout"
        cfg = wasmtime.WasiConfig()
        cfg.argv = ["fetcher", *args]
        cfg.stdout_file = str(out)
        store.set_wasi(cfg)
        store.set_wasi_http()
        inst = linker.instantiate(store, comp)
        run = comp.get_export_index("wasi:cli/run@0.2.12")
        assert run is not None
        index = comp.get_export_index("run", run)
        assert index is not None
        func = inst.get_func(store, index)
        assert func is not None
        result = func(store)
        return out.read_bytes(), getattr(result, "tag", "ok") == "ok"


STOCK_CASES = [
    ["/hello"],
    ["/chunked"],
    ["/echo", "--post", "some text"],
    ["/big?mb=2"],
    ["/redirect"],
    ["/fail"],
    ["--fields"],
]


@pytest.mark.parametrize("case", STOCK_CASES, ids=lambda c: " ".join(c))
def test_same_output_as_wasmtime_wasi_http(
    case: list[str], server: Server, tmp_trace: Path
) -> None:
    args = [server.url(case[0]), *case[1:]] if case[0].startswith("/") else case
    expected, ok = stock(args)
    rec = record(tmp_trace, args, [server.allow])
    rep = replay(tmp_trace)
    assert rec.stdout == expected
    assert rep.stdout == expected
    assert (rec.result.outcome.exit_code == 0) == ok


def test_refused_connection_as_wasmtime(tmp_trace: Path) -> None:
    port = free_port()
    args = [f"http://127.0.0.1:{port}/"]
    expected, ok = stock(args)
    rec = record(tmp_trace, args, [f"127.0.0.1:{port}"])
    assert rec.stdout == expected and not ok and rec.result.outcome.exit_code == 1


# ---- wasm-rr:http/client for components -----------------------------------------------------


def test_module_import_works_in_a_component(server: Server, tmp_path: Path) -> None:
    """The fetch C guest, built as a module and as a component (wasm-rr:http/client@0.1.0),
    prints the same thing and records the same requests."""
    args = [server.url("/hello"), server.url("/chunked"), server.url("/fail")]
    runs = {}
    for name in ("fetch.wasm", "fetch.component.wasm"):
        path, trace = GUESTS / name, tmp_path / f"{name}.cbor"
        s, out, _ = _streams()
        result = engine.record(path, trace, config(args, [server.allow]), s)
        s2, out2, _ = _streams()
        again = engine.replay(path, trace, s2)
        assert out2.getvalue() == out.getvalue() and again.outcome == result.outcome
        assert sends(trace) == len(args)
        runs[name] = out.getvalue()
    assert runs["fetch.wasm"] == runs["fetch.component.wasm"]
    assert b"body: 40 bytes" in runs["fetch.wasm"]


# ---- error codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", [name for name, _ in http_types.ERROR_CASES])
def test_every_error_code_lowers_with_its_payload(case: str) -> None:
    """Each family error becomes its wasi:http case, lowered and lifted back unchanged."""
    detail = "5" if "size" in case else "why"
    value = http_types.error_value(HttpError(case, detail))
    assert value[0] == case
    buf = ctypes.create_string_buffer(canon.VAL_SIZE)
    http_types.ERROR_CODE.lower(None, ctypes.addressof(buf), value)  # type: ignore[arg-type]
    assert http_types.ERROR_CODE.lift(None, ctypes.addressof(buf)) == value  # type: ignore[arg-type]


def test_error_payloads() -> None:
    ev = http_types.error_value
    assert ev(HttpError("DNS-error", "NXDOMAIN")) == ("DNS-error", ("NXDOMAIN", None))
    assert ev(HttpError("internal-error", "boom")) == ("internal-error", "boom")
    assert ev(HttpError("HTTP-response-body-size", "12")) == ("HTTP-response-body-size", 12)
    assert ev(HttpError("HTTP-response-body-size", "big")) == ("HTTP-response-body-size", None)
    assert ev(HttpError("connection-refused", "[Errno 111]")) == ("connection-refused", None)
    assert ev(HttpError("no-such-case", "x")) == ("internal-error", "no-such-case: x")


def test_another_wasi_version(server: Server, tmp_path: Path) -> None:
    """wasi:http is registered at the exact 0.2.x version a component imports: the fetcher
    with every ``@0.2.12`` name rewritten to ``@0.2.10`` (same length, nothing else moves)."""
    older = tmp_path / "fetcher-0.2.10.component.wasm"
    older.write_bytes(FETCHER.read_bytes().replace(b"@0.2.12", b"@0.2.10"))
    comp = engines.compile_component(_Code(str(older), older.read_bytes()))
    imports = set(comp.type.imports(engines.component_engine()))
    assert {"wasi:http/types@0.2.10", "wasi:http/outgoing-handler@0.2.10"} <= imports
    trace = tmp_path / "t.cbor"
    s, out, _ = _streams()
    rec = engine.record(older, trace, config([server.url("/hello")], [server.allow]), s)
    assert rec.outcome.exit_code == 0 and b"fetcher: status 200" in out.getvalue()
    s2, out2, _ = _streams()
    engine.replay(older, trace, s2)
    assert out2.getvalue() == out.getvalue()
