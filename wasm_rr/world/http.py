"""Outgoing HTTP requests: the live client (urllib3), recording, replaying.

Deny by default: only hosts named with ``--allow-http HOST[:PORT]`` are reached (an entry
without a port allows the scheme's default port: 80 for http, 443 for https); any other
request answers :class:`HttpError` ``HTTP-request-denied``. One urllib3 ``PoolManager`` per
run (connections are reused), TLS verified against the system's trust store, no redirects
followed (the guest sees the 3xx, as with wasi:http), no retries, bodies passed through as
sent (no content decoding). The response body is spooled to an unlinked temporary file while
it arrives, so it never has to fit in memory, and streamed into the trace once (payloads are
deduplicated by blake3).

Secrets: the values of ``Authorization``, ``Cookie``, ``Proxy-Authorization`` and any header
named with ``--redact-header`` are never stored in a trace. A request header's value is
replaced by a digest keyed with the user's redaction key (:func:`redact_key`); replay with the
same key checks that the guest sent the same value, replay with another key (or none) says so
once on stderr and does not check those values. A response header named with
``--redact-header`` is stored as :data:`PLACEHOLDER` and replayed as such. See docs/http.md.

Replay opens no socket: it checks the request against the recorded one with small named
matchers (method, URL, each header, body, timeouts) and answers from the trace; a request
that differs is an :class:`~wasm_rr.errors.ArgsMismatchError` naming both requests and every
part that differs.
"""

from __future__ import annotations

import errno as errno_mod
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import blake3

from ..config import RunConfig
from ..errors import ArgsMismatchError, UsageError
from ..trace.events import BLOB, SITE
from ..trace.view import text
from .base import Recorder, Replayer, kept_bytes
from .family import Context, Family
from .http_events import DECLARATION, FAMILY_NAME, SEND
from .http_protocol import Headers, Http, HttpError, Request, Response, Timeouts
from .journal import ASSUME_DONE, REDISPATCH, Journal, JournalReplay, completed, effected
from .process import BytesOutput, FileOutput

__all__ = [
    "FAMILY",
    "SEND",
    "Http",
    "HttpError",
    "LiveHttp",
    "Options",
    "RecordingHttp",
    "ReplayingHttp",
    "Request",
    "Response",
    "Timeouts",
    "derive_key",
    "existing_redact_key",
    "options",
    "redact_key",
]

ALWAYS_REDACTED = ("authorization", "cookie", "proxy-authorization")
"""Request headers whose values never reach a trace (compared case-insensitively)."""
PLACEHOLDER = b"wasm-rr-redacted"
"""What a redacted response header's value is in a trace, and on replay."""
REDACTED_PREFIX = b"wasm-rr-redacted:"
DEFAULT_CONNECT_NS = 30 * 10**9
DEFAULT_READ_NS = 60 * 10**9
KEY_ENV = "WASM_RR_REDACT_KEY"
READ_CHUNK = 1 << 18
"""How much of a response body is read from the socket at a time (spooled to a file)."""

body_digest = kept_bytes
"""What a trace keeps of a request body."""


# ---- options ---------------------------------------------------------------------------------


def _split_host_port(spec: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]``, ``[v6]:port`` -> (lower-case host, port or None)."""
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"--allow-http {spec!r}: expected HOST[:PORT] ([v6]:PORT for IPv6)")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if not host:
        raise UsageError(f"--allow-http {spec!r}: expected HOST[:PORT]")
    if port_text == "":
        return host.lower(), None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UsageError(f"--allow-http {spec!r}: the port must be a number from 1 to 65535")
    return host.lower(), int(port_text)


@dataclass(frozen=True)
class Options:
    """The family's part of the run configuration."""

    allow: tuple[tuple[str, int | None], ...]
    """Allowed (host, port); port None: the scheme's default port."""
    redact: frozenset[str]
    """Lower-case header names redacted besides :data:`ALWAYS_REDACTED` (request headers by
    keyed digest, response headers by :data:`PLACEHOLDER`)."""
    idempotency_key: str | None = None
    """``--http-idempotency-key``: this trace's token; every non-idempotent request is sent
    with ``Idempotency-Key: TOKEN-SEQ`` (SEQ its intent's), the same again on resume."""

    @classmethod
    def of(cls, config: RunConfig) -> Options:
        opts = config.options(FAMILY_NAME)
        allow = opts.get("allow_http", [])
        redact = opts.get("redact_headers", [])
        pairs: list[tuple[str, int | None]] = []
        for entry in allow if isinstance(allow, list) else []:
            if isinstance(entry, list) and len(entry) == 2:
                port = entry[1] if isinstance(entry[1], int) else None
                pairs.append((str(entry[0]).lower(), port))
        names = frozenset(str(n).lower() for n in redact) if isinstance(redact, list) else []
        key = opts.get("idempotency_key")
        return cls(tuple(pairs), frozenset(names), key if isinstance(key, str) else None)

    def allows(self, scheme: str, host: str, port: int | None) -> bool:
        default = 443 if scheme == "https" else 80
        actual = port if port is not None else default
        host = host.lower().strip("[]")
        return any(h == host and (p if p is not None else default) == actual for h, p in self.allow)

    def redacted_request(self, name: str) -> bool:
        low = name.lower()
        return low in ALWAYS_REDACTED or low in self.redact


def options(allow_http: Iterable[str], redact_headers: Iterable[str]) -> dict[str, Any]:
    """The configuration entry for ``--allow-http HOST[:PORT]`` and ``--redact-header NAME``."""
    allow = [list(_split_host_port(spec.strip())) for spec in allow_http]
    redact = sorted({name.strip().lower() for name in redact_headers})
    if any(not name or ":" in name for name in redact):
        raise UsageError("--redact-header needs a header name (without ':')")
    if not allow and not redact:
        return {}
    return {"allow_http": allow, "redact_headers": redact}


# ---- the redaction key -----------------------------------------------------------------------


def _key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "wasm-rr" / "redact.key"


def derive_key(secret: bytes) -> bytes:
    """The 32-byte key made from a key's text (``$WASM_RR_REDACT_KEY``, a key file's bytes)."""
    return bytes(blake3.blake3(secret, derive_key_context="wasm-rr redact key").digest())


def existing_redact_key() -> bytes | None:
    """The user's redaction key when there is one (``$WASM_RR_REDACT_KEY``, else the key
    file), without creating it: what checking a trace's signature uses."""
    text = os.environ.get(KEY_ENV)
    if text:
        return derive_key(text.encode())
    data = _read_key_file(_key_file())
    return derive_key(data) if data else None


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise UsageError(
            f"cannot read the redaction key {path}: {exc.strerror}; fix its permissions or set "
            f"{KEY_ENV}"
        ) from None


def redact_key() -> bytes:
    """The user's redaction key (32 bytes): from ``$WASM_RR_REDACT_KEY`` (any text, hashed),
    else ``~/.config/wasm-rr/redact.key`` (created with a random key, mode 0600, on first
    use)."""
    text = os.environ.get(KEY_ENV)
    if text:
        return derive_key(text.encode())
    path = _key_file()
    data = _read_key_file(path)
    if not data:
        import secrets

        data = secrets.token_hex(32).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data + b"\n")
        except FileExistsError:
            data = path.read_bytes().strip()
        except OSError as exc:
            raise UsageError(
                f"cannot create the redaction key {path}: {exc.strerror}; set {KEY_ENV} instead"
            ) from None
    return derive_key(data)


def key_id(key: bytes) -> bytes:
    """A key's public name in traces: 16 hex digits of its blake3."""
    return blake3.blake3(key).hexdigest()[:16].encode()


class Redactor:
    """Turns secret header values into ``wasm-rr-redacted:<key id>:<keyed digest>``; the key
    is read on first need (a run without secrets never creates a key file)."""

    def __init__(self, opts: Options) -> None:
        self._opts = opts
        self._key: bytes | None = None

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = redact_key()
        return self._key

    def value(self, value: bytes) -> bytes:
        digest = blake3.blake3(value, key=self.key).hexdigest()[:32].encode()
        return REDACTED_PREFIX + key_id(self.key) + b":" + digest

    def request_headers(self, headers: Headers) -> list[list[Any]]:
        return [
            [name, self.value(value) if self._opts.redacted_request(name) else value]
            for name, value in headers
        ]

    def response_headers(self, headers: Headers) -> list[list[Any]]:
        return [
            [name, PLACEHOLDER if name.lower() in self._opts.redact else value]
            for name, value in headers
        ]


def _timeouts(t: Timeouts) -> list[int | None]:
    return [t.connect_ns, t.first_byte_ns, t.between_bytes_ns]


def question(request: Request, redactor: Redactor) -> tuple[Any, ...]:
    """The request as the trace keeps it."""
    return (
        request.method,
        request.url,
        redactor.request_headers(request.headers),
        body_digest(request.body),
        len(request.body),
        _timeouts(request.timeouts),
    )


# ---- live ------------------------------------------------------------------------------------


def _root_cause(exc: BaseException) -> BaseException:
    seen: set[int] = set()
    cur: BaseException = exc
    while id(cur) not in seen:
        seen.add(id(cur))
        nxt = getattr(cur, "reason", None) or cur.__cause__ or cur.__context__
        if not isinstance(nxt, BaseException):
            break
        cur = nxt
    return cur


def error_of(exc: BaseException) -> HttpError:
    """The wasi:http ``error-code`` for a urllib3 / socket / ssl failure."""
    import socket
    import ssl

    import urllib3.exceptions as u3

    root = _root_cause(exc)
    text = str(root) or type(root).__name__
    if isinstance(exc, u3.NameResolutionError) or isinstance(root, socket.gaierror):
        return HttpError("DNS-error", text)
    if isinstance(exc, u3.SSLError) or isinstance(root, ssl.SSLError):
        if isinstance(root, ssl.SSLCertVerificationError):
            return HttpError("TLS-certificate-error", text)
        return HttpError("TLS-protocol-error", text)
    if isinstance(root, ConnectionRefusedError):
        return HttpError("connection-refused", text)
    if isinstance(exc, u3.ReadTimeoutError):
        return HttpError("connection-read-timeout", text)
    if isinstance(exc, u3.ConnectTimeoutError) and not isinstance(exc, u3.NewConnectionError):
        return HttpError("connection-timeout", text)
    if isinstance(root, TimeoutError | socket.timeout):
        return HttpError("connection-read-timeout", text)
    if isinstance(root, OSError) and root.errno in (
        errno_mod.ENETUNREACH,
        errno_mod.EHOSTUNREACH,
    ):
        return HttpError("destination-IP-unroutable", text)
    if isinstance(exc, u3.NewConnectionError):
        return HttpError("destination-unavailable", text)
    if isinstance(exc, u3.LocationParseError | u3.LocationValueError):
        return HttpError("HTTP-request-URI-invalid", text)
    if isinstance(exc, u3.ProtocolError):
        if "IncompleteRead" in type(root).__name__ or isinstance(root, u3.IncompleteRead):
            return HttpError("HTTP-response-incomplete", text)
        return HttpError("connection-terminated", text)
    if isinstance(root, ConnectionError):
        return HttpError("connection-terminated", text)
    return HttpError("internal-error", f"{type(root).__name__}: {text}")


def _seconds(ns: int | None, default_ns: int) -> float:
    return (ns if ns is not None else default_ns) / 1e9


class LiveHttp:
    """Sends allowed requests with urllib3: one pool manager per run, no redirects, no
    retries, verified TLS; response bodies spooled to unlinked temporary files."""

    def __init__(self, ctx: Context) -> None:
        self._opts = Options.of(ctx.config)
        self._pool: Any = None

    def _manager(self) -> Any:
        if self._pool is None:
            import urllib3

            self._pool = urllib3.PoolManager(retries=False, cert_reqs="CERT_REQUIRED")
        return self._pool

    def check(self, request: Request) -> None:
        """Raise the :class:`HttpError` :meth:`send` would raise before connecting (a bad URL,
        a host not allowed)."""
        import urllib3.util

        try:
            url = urllib3.util.parse_url(request.url)
        except Exception as exc:
            raise HttpError("HTTP-request-URI-invalid", str(exc)) from None
        if url.scheme not in ("http", "https") or not url.host:
            raise HttpError(
                "HTTP-request-URI-invalid", f"{request.url!r}: expected http:// or https:// URL"
            )
        if not request.method or any(c in request.method for c in " \r\n\t:"):
            raise HttpError("HTTP-request-method-invalid", repr(request.method))
        if not self._opts.allows(url.scheme, url.host, url.port):
            where = url.host + (f":{url.port}" if url.port else "")
            raise HttpError(
                "HTTP-request-denied", f"{where} is not allowed (wasm-rr --allow-http {where})"
            )

    def send(self, request: Request) -> Response:
        import urllib3

        self.check(request)
        t = request.timeouts
        read_ns = min(
            (n for n in (t.first_byte_ns, t.between_bytes_ns) if n is not None),
            default=DEFAULT_READ_NS,
        )
        timeout = urllib3.Timeout(
            connect=_seconds(t.connect_ns, DEFAULT_CONNECT_NS), read=read_ns / 1e9
        )
        headers = urllib3.HTTPHeaderDict()
        for name, value in request.headers:
            headers.add(name, value.decode("latin-1"))
        # Closed below, or handed to the Response (whose close() closes it).
        import tempfile

        spool = tempfile.TemporaryFile()  # noqa: SIM115
        try:
            try:
                resp = self._manager().request(
                    request.method,
                    request.url,
                    body=request.body or None,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    preload_content=False,
                    decode_content=False,
                    timeout=timeout,
                )
                try:
                    for chunk in resp.stream(READ_CHUNK, decode_content=False):
                        spool.write(chunk)
                finally:
                    resp.release_conn()
            except HttpError:
                raise
            except Exception as exc:
                raise error_of(exc) from None
            spool.flush()
            got: Headers = [(k, v.encode("latin-1")) for k, v in resp.headers.iteritems()]
            return Response(int(resp.status), got, FileOutput(spool))
        except BaseException:
            spool.close()
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
            self._pool = None


# ---- the journal -----------------------------------------------------------------------------

EFFECT = "http.send"
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
"""Methods that may be sent again when a resume finds one in flight (RFC 9110, 9.2.2)."""
IDEMPOTENCY_HEADER = "Idempotency-Key"


def intent_call(request: Request) -> list[Any]:
    """The key fields of a request, as its intent holds them (no headers: secrets stay out)."""
    return [request.method, request.url, body_digest(request.body), len(request.body)]


def idempotency_token() -> str:
    """A new trace's ``--http-idempotency-key`` token."""
    import secrets

    return secrets.token_hex(12)


def assumed_done() -> HttpError:
    """What the guest gets for a request in flight that the user says was done: the
    connection dropped after the request was sent."""
    return HttpError(
        "connection-terminated",
        "wasm-rr resume --assume-done: the request was sent before the recorder stopped; its "
        "response was lost",
    )


# ---- recording -------------------------------------------------------------------------------


class RecordingHttp:
    def __init__(self, live: Http, recorder: Recorder, ctx: Context) -> None:
        self._live = live
        self._rec = recorder
        self._opts = Options.of(ctx.config)
        self._redactor = Redactor(self._opts)
        self._send = recorder.code(SEND)
        self._journal = Journal.of(recorder)

    def _dispatch(self, request: Request) -> Response:
        """The intent, then the request (with its idempotency key when configured); on resume,
        the policy for a request in flight: idempotent methods and keyed requests are sent
        again, others need the user's word (``--assume-done`` answers :func:`assumed_done`)."""
        journal = self._journal
        pending = journal.intent(EFFECT, intent_call(request))
        key = self._opts.idempotency_key
        idempotent = request.method.upper() in IDEMPOTENT
        if pending is not None:
            if idempotent or key is not None:
                journal.resolved(pending, REDISPATCH, {"idempotency_key": key is not None})
            elif journal.ask(pending, f"{request.method} {request.url}") == ASSUME_DONE:
                raise assumed_done()
        if key is not None and not idempotent:
            extra = (IDEMPOTENCY_HEADER, f"{key}-{journal.seq}".encode())
            request = replace(request, headers=[*request.headers, extra])
        resp = self._live.send(request)
        effected(journal)
        return resp

    def send(self, request: Request) -> Response:
        rec = self._rec
        q = question(request, self._redactor)
        start = time.monotonic_ns()
        try:
            resp = self._dispatch(request)
        except HttpError as err:
            duration = time.monotonic_ns() - start
            rec.event(self._send, *q, err.code, err.detail, 0, [], b"", 0, None, duration)
            completed(self._journal)
            raise
        duration = time.monotonic_ns() - start
        body = rec.payload_stream(resp.body)
        trailers = None if resp.trailers is None else self._redactor.response_headers(resp.trailers)
        rec.event(
            self._send,
            *q,
            None,
            None,
            resp.status,
            self._redactor.response_headers(resp.headers),
            body,
            resp.body.size,
            trailers,
            duration,
        )
        completed(self._journal)
        return resp

    def close(self) -> None:
        self._live.close()


# ---- replaying -------------------------------------------------------------------------------

Difference = str
"""One part of a request that differs from the recording, said for a drift message."""
Matcher = Callable[[tuple[Any, ...], tuple[Any, ...]], list[Difference]]


def _short(value: bytes) -> str:
    return text(value)  # as every view shows bytes


def same_method(recorded: tuple[Any, ...], got: tuple[Any, ...]) -> list[Difference]:
    return [] if recorded[0] == got[0] else [f"method: recorded {recorded[0]}, now {got[0]}"]


def same_url(recorded: tuple[Any, ...], got: tuple[Any, ...]) -> list[Difference]:
    return [] if recorded[1] == got[1] else [f"url: recorded {recorded[1]}, now {got[1]}"]


def _by_name(headers: list[Any]) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for name, value in headers:
        out.setdefault(str(name).lower(), []).append(bytes(value))
    return out


def same_headers(recorded: tuple[Any, ...], got: tuple[Any, ...]) -> list[Difference]:
    """Each header by name (case-insensitive; repeated fields compared in order)."""
    rec_h, got_h = _by_name(recorded[2]), _by_name(got[2])
    out: list[Difference] = []
    for name in sorted(set(rec_h) | set(got_h)):
        a, b = rec_h.get(name), got_h.get(name)
        if a == b:
            continue
        if a is None:
            out.append(f"header {name}: not recorded, now sent")
        elif b is None:
            out.append(f"header {name}: recorded, now not sent")
        elif all(v.startswith(REDACTED_PREFIX) for v in a):
            out.append(f"header {name}: a different value (redacted: only digests compared)")
        else:
            shown_a = ", ".join(_short(v) for v in a)
            shown_b = ", ".join(_short(v) for v in b)
            out.append(f"header {name}: recorded {shown_a}, now {shown_b}")
    return out


def same_body(recorded: tuple[Any, ...], got: tuple[Any, ...]) -> list[Difference]:
    if recorded[3] == got[3] and recorded[4] == got[4]:
        return []

    def said(digest: bytes, size: int) -> str:
        if size < 32:
            return f"{size} B {_short(digest)}"
        return f"{size} B blake3 {digest.hex()[:16]}..."

    return [f"body: recorded {said(recorded[3], recorded[4])}, now {said(got[3], got[4])}"]


def same_timeouts(recorded: tuple[Any, ...], got: tuple[Any, ...]) -> list[Difference]:
    if list(recorded[5]) == list(got[5]):
        return []
    return [
        f"timeouts (connect, first byte, between bytes, ns): recorded {recorded[5]}, now {got[5]}"
    ]


MATCHERS: tuple[Matcher, ...] = (same_method, same_url, same_headers, same_body, same_timeouts)


def _peek(r: Replayer, kind: int) -> tuple[Any, ...] | None:
    """The question of the next event, when it is of ``kind`` (blobs and sites skipped)."""
    items, arity, i = r.items, r.trace.arity, r.pos
    while i < r.end and (items[i] == BLOB or items[i] == SITE):
        i += 1 + arity[items[i]]
    if i >= r.end or items[i] != kind:
        return None
    return tuple(items[i + 2 : i + 2 + len(SEND.question)])


def _said(q: tuple[Any, ...]) -> str:
    return f"{q[0]} {q[1]} ({len(q[2])} headers, {q[4]} B body)"


class ReplayingHttp:
    """Opens no socket: checks each request against the recording and answers from it."""

    def __init__(self, replayer: Replayer, ctx: Context) -> None:
        self._r = replayer
        self._opts = Options.of(ctx.config)
        self._redactor = Redactor(self._opts)
        self._send = replayer.code(SEND)
        self._warned = False
        self._journal = JournalReplay.of(replayer)

    def _unchecked_secrets(
        self, recorded: tuple[Any, ...], got: tuple[Any, ...]
    ) -> tuple[Any, ...]:
        """``got`` with the recorded values of secret headers redacted under another key (so
        they are not compared), after one warning."""
        mine = key_id(self._redactor.key)
        rec_h = _by_name(recorded[2])
        other: set[str] = set()
        for name, values in rec_h.items():
            for v in values:
                if v.startswith(REDACTED_PREFIX) and not v.startswith(REDACTED_PREFIX + mine):
                    other.add(name)
        if not other:
            return got
        if not self._warned:
            self._warned = True
            theirs = next(v for n in other for v in rec_h[n]).split(b":")[1].decode()
            print(
                f"wasm-rr: warning: the trace's secret headers were redacted with key "
                f"{theirs}, this user's key is {mine.decode()}: their values are not checked "
                f"(set {KEY_ENV} to the recording's key to check them)",
                file=sys.stderr,
            )
        recorded_of = {n: iter(rec_h[n]) for n in other}
        headers = [
            [name, next(recorded_of[name.lower()], value) if name.lower() in other else value]
            for name, value in got[2]
        ]
        return (got[0], got[1], headers, *got[3:])

    def send(self, request: Request) -> Response:
        r = self._r
        if self._journal is not None:
            self._journal.consume(EFFECT, intent_call(request))
        has_secret = any(self._opts.redacted_request(n) for n, _ in request.headers)
        q = question(request, self._redactor)
        recorded = _peek(r, self._send)
        if recorded is not None:
            if has_secret:
                q = self._unchecked_secrets(recorded, q)
            differences = [d for m in MATCHERS for d in m(recorded, q)]
            if differences:
                raise ArgsMismatchError(
                    r.seq + 1,
                    f"http.send {_said(recorded)}",
                    f"sent {_said(q)}",
                    "; ".join(differences),
                )
        answer = r.take(self._send, *(recorded if recorded is not None else q))
        error, detail, status, headers, body, _size, trailers, _duration = answer
        if error is not None:
            raise HttpError(str(error), None if detail is None else str(detail))
        return Response(
            int(status),
            [(str(n), bytes(v)) for n, v in headers],
            BytesOutput(r.resolve(body)),
            None if trailers is None else [(str(n), bytes(v)) for n, v in trailers],
        )

    def close(self) -> None:
        pass


FAMILY: Family[Http] = Family(
    FAMILY_NAME,
    DECLARATION.events,
    live=LiveHttp,
    recording=RecordingHttp,
    replaying=ReplayingHttp,
    doc=DECLARATION.doc,
)
