"""The http family end to end: the fetch guest (core module), .tape's http.get / http.post,
replay with the server stopped, drift, inspect. Real guests, a local server, the real CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from wasm_rr.trace import load

from .conftest import ROOT, cli, guest
from .httpserver import Server, serve

KEY = {"WASM_RR_REDACT_KEY": "cli test key"}


@pytest.fixture
def server() -> Iterator[Server]:
    with serve() as s:
        yield s


def test_fetch_records_and_replays_without_server(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "f.cbor"
    args = [
        server.url("/hello"),
        server.url("/chunked"),
        server.url("/redirect"),
        server.url("/fail"),
        "http://example.com/",
    ]
    rec = cli(
        "record", guest("fetch"), "-t", trace, "--allow-http", server.allow, "--", *args, env=KEY
    )
    assert rec.status == 1, rec.stderr  # one request was denied
    out = rec.stdout
    assert "status: 200\nx-test: 1\ncontent-type: text/plain\nbody: 6 bytes" in out
    assert "status: 302\nlocation: /hello\nbody: 0 bytes" in out
    assert "status: 500" in out
    assert "error: HTTP-request-denied" in out
    assert "body: 40 bytes" in out  # 5 chunks of "chunk i\n"
    server.stop()
    rep = cli("replay", guest("fetch"), trace, env=KEY)
    assert (rep.status, rep.stdout) == (1, out), rep.stderr
    insp = cli("inspect", trace)
    assert f"http.send GET {server.url('/hello')} (0 B) -> 200, 6 B" in insp.stdout
    assert "-> HTTP-request-denied: example.com is not allowed" in insp.stdout
    assert "allow_http" in insp.stdout


def test_fetch_post_small_body_in_clear(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "p.cbor"
    url = server.url("/echo")
    rec = cli(
        "record",
        guest("fetch"),
        "-t",
        trace,
        "--allow-http",
        server.allow,
        "--",
        "--post",
        "a body",
        url,
        env=KEY,
    )
    assert rec.status == 0 and "x-method: POST\nbody: 6 bytes" in rec.stdout, rec.stderr
    data = trace.read_bytes()
    events = [e for e in load(trace).events() if e.name == "http.send"]
    assert events[0].question[3] == b"a body"
    assert b"a body" in data


def test_fetch_timeout_and_refused(server: Server, tmp_path: Path) -> None:
    from .httpserver import free_port

    port = free_port()
    trace = tmp_path / "t.cbor"
    rec = cli(
        "record",
        guest("fetch"),
        "-t",
        trace,
        "--allow-http",
        server.allow,
        "--allow-http",
        f"127.0.0.1:{port}",
        "--",
        "--timeout",
        "200",
        server.url("/slow?ms=1500"),
        f"http://127.0.0.1:{port}/",
        env=KEY,
    )
    assert "error: connection-read-timeout" in rec.stdout, rec.stdout + rec.stderr
    assert "error: connection-refused" in rec.stdout
    rep = cli("replay", guest("fetch"), trace, env=KEY)
    assert rep.stdout == rec.stdout


def test_tape_weather(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "w.cbor"
    tape = ROOT / "examples" / "weather.tape"
    rec = cli("record", tape, "-t", trace, "--allow-http", server.allow, "--", server.url("/data"))
    assert rec.status == 0, rec.stderr
    assert rec.stdout.startswith(f"GET {server.url('/data')}: status 200, 29 bytes\n")
    server.stop()
    rep = cli("replay", tape, trace)
    assert (rep.status, rep.stdout) == (0, rec.stdout), rep.stderr


def test_tape_post_and_error(server: Server, tmp_path: Path) -> None:
    tape = tmp_path / "p.tape"
    tape.write_text(
        'print(http.post(args.get(1), "raw"))\nprint(http.get("http://example.com/"))\n'
    )
    run = cli("run", tape, "--allow-http", server.allow, "--", server.url("/echo"))
    assert run.stdout == '[200, "raw"]\n', run.stderr
    assert "http.get: HTTP-request-denied" in run.stderr
    assert f"{tape}:2:7" in run.stderr


def test_replay_drift_on_other_url(server: Server, tmp_path: Path) -> None:
    trace = tmp_path / "d.cbor"
    tape = ROOT / "examples" / "weather.tape"
    cli("record", tape, "-t", trace, "--allow-http", server.allow, "--", server.url("/data"))
    # Replay feeds the recorded argv, so drift comes from a changed program instead.
    other = tmp_path / "w2.tape"
    other.write_text(tape.read_text().replace("http.get(url)", 'http.get(url + "?x")'))
    rep = cli("replay", other, trace, "--allow-code-change")
    assert rep.status != 0
    assert "url: recorded " + server.url("/data") + ", now " + server.url("/data?x") in rep.stderr
