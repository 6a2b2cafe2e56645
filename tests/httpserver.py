"""A small HTTP/1.1 server on 127.0.0.1 for the http family's tests, golden cases and benchmarks.

Routes: ``/hello`` (a short body and an ``X-Test`` header), ``/chunked`` (a chunked body),
``/big?mb=N`` (N MiB, deterministic, streamed), ``/redirect`` (302 to /hello), ``/fail``
(500), ``/slow?ms=N`` (waits before answering), ``/echo`` (answers the request body, and the
method in ``X-Method``), ``/data`` (a small JSON document). Started and stopped by the caller:

    with serve() as server:
        url = server.url("/hello")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PATTERN = bytes(range(256)) * 4096  # 1 MiB


def big_body(mb: int) -> bytes:
    return PATTERN * mb


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no delayed-ACK wait

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = parts.path
        if path == "/hello":
            self._send(200, b"hello\n", {"X-Test": "1", "Content-Type": "text/plain"})
        elif path == "/data":
            self._send(200, b'{"temp": 21, "sky": "clear"}\n', {"Content-Type": "application/json"})
        elif path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(5):
                piece = f"chunk {i}\n".encode()
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/big":
            mb = int(query.get("mb", "1"))
            self.send_response(200)
            self.send_header("Content-Length", str(mb * len(PATTERN)))
            self.end_headers()
            for _ in range(mb):
                self.wfile.write(PATTERN)
        elif path == "/redirect":
            self._send(302, b"", {"Location": "/hello"})
        elif path == "/fail":
            self._send(500, b"boom\n")
        elif path == "/slow":
            time.sleep(int(query.get("ms", "2000")) / 1000)
            self._send(200, b"late\n")
        elif path == "/echo":
            self._send(200, body, {"X-Method": self.command})
        else:
            self._send(404, b"not found\n")

    do_GET = _route
    do_POST = _route
    do_PUT = _route
    do_DELETE = _route


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (a timeout test): nothing to report


@dataclass
class Server:
    host: str
    port: int
    httpd: ThreadingHTTPServer

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def allow(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start(port: int = 0) -> Server:
    httpd = _Quiet(("127.0.0.1", port), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return Server("127.0.0.1", httpd.server_address[1], httpd)


@contextmanager
def serve(port: int = 0) -> Iterator[Server]:
    server = start(port)
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
