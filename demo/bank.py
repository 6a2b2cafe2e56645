"""A toy bank for the resume demo: counts transfers and honors Idempotency-Key.

``POST /transfer`` (a form body) makes a transfer and answers ``transfer #N: BODY``; a request
whose ``Idempotency-Key`` was seen before makes none and gets the first answer again. ``GET
/count`` answers the number of transfers made. Listens on 127.0.0.1 (port 0: any free port).

    python demo/bank.py [PORT]        # serve until killed; prints the port it listens on
"""

from __future__ import annotations

import contextlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Bank(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.lock = threading.Lock()
        self.transfers: list[bytes] = []
        self.requests = 0
        self.answers: dict[str, bytes] = {}

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> Bank:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Bank

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/count":
            self._answer(200, str(len(self.server.transfers)).encode())
        else:
            self._answer(404, b"not found")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path != "/transfer":
            self._answer(404, b"not found")
            return
        key = self.headers.get("idempotency-key")
        bank = self.server
        with bank.lock:
            bank.requests += 1
            if key is not None and key in bank.answers:
                answer = bank.answers[key]  # the same request again: no second transfer
            else:
                bank.transfers.append(body)
                answer = b"transfer #%d: %s" % (len(bank.transfers), body)
                if key is not None:
                    bank.answers[key] = answer
        self._answer(200, answer)


if __name__ == "__main__":
    bank = Bank(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(bank.port, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        bank.serve_forever()
