"""fetcher: a WASI 0.2 command written in Python that makes HTTP requests with wasi:http.

Usage: fetcher URL                 GET URL
       fetcher URL --post TEXT     POST TEXT to URL
       fetcher URL --post-size N   POST N bytes (a repeating pattern) to URL
       fetcher URL --repeat N      GET URL N times (a benchmark), report the last
       fetcher --fields            exercise wasi:http fields (no request) and print each answer

Prints the status, a few headers (content-type, content-length, location and any x-*),
the body's length and sha256, and its first line; a request that fails prints the
wasi:http error-code and exits 1. A synchronous fetch: the request is handed to the
outgoing handler, its body written and finished, then the future response waited for
(pollable.block) and its body read until the stream closes.
"""

import hashlib
import sys
from urllib.parse import urlsplit

from componentize_py_types import Err, Ok
from wit_world import exports
from wit_world.imports import outgoing_handler, streams
from wit_world.imports import wasi_http_types as http

CHUNK = 4096
"""What a write may hand over at a time (wasi:io check-write grants 4096 bytes)."""

SHOWN = ("content-type", "content-length", "location")


def error_name(code: object) -> str:
    name = type(code).__name__.removeprefix("ErrorCode_")
    payload = getattr(code, "value", None)
    return f"{name}({payload!r})" if payload is not None else name


def build_request(url: str, method: http.Method, headers: list[tuple[str, bytes]]):
    parts = urlsplit(url)
    request = http.OutgoingRequest(http.Fields.from_list(headers))
    request.set_method(method)
    scheme = http.Scheme_Https() if parts.scheme == "https" else http.Scheme_Http()
    request.set_scheme(scheme)
    request.set_authority(parts.netloc)
    path = parts.path or "/"
    request.set_path_with_query(f"{path}?{parts.query}" if parts.query else path)
    return request


def send(url: str, body: bytes | None) -> http.IncomingResponse:
    headers = [("user-agent", b"wasm-rr-fetcher/1")]
    if body is not None:
        headers.append(("content-type", b"application/octet-stream"))
        headers.append(("content-length", str(len(body)).encode()))
    method = http.Method_Post() if body is not None else http.Method_Get()
    request = build_request(url, method, headers)
    outgoing = request.body()
    options = http.RequestOptions()
    options.set_connect_timeout(10_000_000_000)
    future = outgoing_handler.handle(request, options)
    with outgoing.write() as out:
        for i in range(0, len(body or b""), CHUNK):
            out.blocking_write_and_flush(body[i : i + CHUNK])  # type: ignore[index]
    http.OutgoingBody.finish(outgoing, None)
    with future:
        while True:
            answer = future.get()
            if answer is not None:
                break
            with future.subscribe() as ready:
                ready.block()
    if isinstance(answer, Err):
        raise RuntimeError("future-incoming-response.get called twice")
    inner = answer.value
    if isinstance(inner, Ok):
        return inner.value
    raise inner  # an Err(error-code)


def read_body(response: http.IncomingResponse) -> bytes:
    body = response.consume()
    data = bytearray()
    with body.stream() as stream:
        while True:
            try:
                data += stream.blocking_read(65536)
            except Err as err:
                if isinstance(err.value, streams.StreamError_Closed):
                    break
                raise
    with http.IncomingBody.finish(body):
        pass
    return bytes(data)


def outcome(f) -> str:
    try:
        value = f()
    except Err as err:
        return "err " + type(err.value).__name__.removeprefix("HeaderError_")
    return "ok" if value is None else f"ok {value!r}"


def fields_probe() -> int:
    """What each fields operation answers, including the errors (no request is sent)."""
    f = http.Fields()
    steps = [
        ("append a=1", lambda: f.append("A", b"1")),
        ("append b=2", lambda: f.append("b", b"2")),
        ("append a=3", lambda: f.append("a", b"3")),
        ("entries", lambda: f.entries()),
        ("get A", lambda: f.get("A")),
        ("has B", lambda: f.has("B")),
        ("has c", lambda: f.has("c")),
        ("get bad name", lambda: f.get("bad name")),
        ("set a=[x,y]", lambda: f.set("a", [b"x", b"y"])),
        ("entries", lambda: f.entries()),
        ("delete b", lambda: f.delete("b")),
        ("delete missing", lambda: f.delete("missing")),
        ("entries", lambda: f.entries()),
        ("append bad name", lambda: f.append("bad name", b"v")),
        ("append bad value", lambda: f.append("ok", b"bad\nvalue")),
        ("append connection", lambda: f.append("Connection", b"close")),
        ("append host", lambda: f.append("host", b"x")),
        ("set empty", lambda: f.set("a", [])),
        ("entries", lambda: f.entries()),
        ("from-list ok", lambda: http.Fields.from_list([("X-A", b"1"), ("x-a", b"2")]).entries()),
        ("from-list forbidden", lambda: http.Fields.from_list([("upgrade", b"h2")])),
        ("from-list bad", lambda: http.Fields.from_list([("a:b", b"1")])),
        ("clone entries", lambda: f.clone().entries()),
    ]
    clone = f.clone()
    steps.append(("append on clone", lambda: clone.append("c", b"4")))
    steps.append(("clone entries", lambda: clone.entries()))
    request = http.OutgoingRequest(http.Fields.from_list([("x-req", b"1")]))
    headers = request.headers()
    steps += [
        ("request headers", lambda: headers.entries()),
        ("append on request headers", lambda: headers.append("x-more", b"2")),
        ("set on request headers", lambda: headers.set("x-req", [b"2"])),
        ("delete on request headers", lambda: headers.delete("x-req")),
        ("method", lambda: type(request.method()).__name__),
        ("set-method other", lambda: request.set_method(http.Method_Other("PURGE"))),
        ("method", lambda: request.method()),
        ("set-method bad", lambda: request.set_method(http.Method_Other("a b"))),
        ("path", lambda: request.path_with_query()),
        ("set-path", lambda: request.set_path_with_query("/x?y=1")),
        ("path", lambda: request.path_with_query()),
        ("scheme", lambda: request.scheme()),
        ("set-scheme", lambda: request.set_scheme(http.Scheme_Https())),
        ("scheme", lambda: type(request.scheme()).__name__),
        ("authority", lambda: request.authority()),
        ("set-authority", lambda: request.set_authority("example.com:8080")),
        ("authority", lambda: request.authority()),
        ("body", lambda: type(request.body()).__name__),
        ("body again", lambda: request.body()),
    ]
    options = http.RequestOptions()
    steps += [
        ("connect-timeout", lambda: options.connect_timeout()),
        ("set-connect-timeout", lambda: options.set_connect_timeout(5_000_000_000)),
        ("connect-timeout", lambda: options.connect_timeout()),
        ("set-first-byte-timeout", lambda: options.set_first_byte_timeout(7)),
        ("first-byte-timeout", lambda: options.first_byte_timeout()),
        ("between-bytes-timeout", lambda: options.between_bytes_timeout()),
    ]
    for label, step in steps:
        print(f"fetcher: {label}: {outcome(step)}")
    return 0


def fetch(args: list[str]) -> int:
    if args == ["--fields"]:
        return fields_probe()
    modes = ("--post", "--post-size", "--repeat")
    if len(args) not in (1, 3) or (len(args) == 3 and args[1] not in modes):
        usage = "fetcher URL [--post TEXT | --post-size N | --repeat N]"
        print(f"fetcher: usage: {usage}", file=sys.stderr)
        return 2
    url = args[0]
    body: bytes | None = None
    times = 1
    if len(args) == 3:
        if args[1] == "--post":
            body = args[2].encode()
        elif args[1] == "--post-size":
            body = (b"0123456789abcdef" * (int(args[2]) // 16 + 1))[: int(args[2])]
        else:
            times = int(args[2])
    print(f"fetcher: {'POST' if body is not None else 'GET'} {url}")
    for _ in range(times - 1):
        try:
            with send(url, body) as earlier:
                read_body(earlier)
        except Err as err:
            print(f"fetcher: error {error_name(err.value)}")
            return 1
    try:
        response = send(url, body)
    except Err as err:
        print(f"fetcher: error {error_name(err.value)}")
        return 1
    with response:
        print(f"fetcher: status {response.status()}")
        with response.headers() as fields:
            for name, value in fields.entries():
                lower = name.lower()
                if lower in SHOWN or lower.startswith("x-"):
                    print(f"fetcher: {lower}: {value.decode('utf-8', 'replace')}")
        data = read_body(response)
    print(f"fetcher: body {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    first = data.split(b"\n", 1)[0][:60].decode("utf-8", "replace")
    print(f"fetcher: first line {first!r}")
    return 0


class Run(exports.Run):
    def run(self) -> None:
        code = fetch(sys.argv[1:])
        sys.stdout.flush()
        if code:
            raise Err(None)
