"""The wasi:http 0.2 types the component host uses: resource ids, variants, records, and the
translation of the http family's errors into ``error-code`` values.

Every ``error-code`` case is declared with its payload as wasi:http 0.2 defines it; an
:class:`~wasm_rr.world.http_protocol.HttpError` names its case and may carry a text, which
becomes the payload where the case has a text field (``DNS-error``'s rcode,
``internal-error``, the transfer- and content-coding cases, ``TLS-alert-received``'s message,
a field-size payload's name) and is otherwise dropped (the trace keeps it).
"""

from __future__ import annotations

from ...world.http_protocol import HttpError
from . import canon
from .canon import STRING_T, U8_T, U16_T, U32_T, U64_T, Case
from .wit import IoError

# Host resource type ids (distinct from wit.py's).
FIELDS = 20
OUTGOING_REQUEST = 21
REQUEST_OPTIONS = 22
OUTGOING_BODY = 23
FUTURE_INCOMING_RESPONSE = 24
INCOMING_RESPONSE = 25
INCOMING_BODY = 26
FUTURE_TRAILERS = 27
INCOMING_REQUEST = 28
RESPONSE_OUTPARAM = 29
OUTGOING_RESPONSE = 30

METHOD = canon.Variant(
    ("get", None),
    ("head", None),
    ("post", None),
    ("put", None),
    ("delete", None),
    ("connect", None),
    ("options", None),
    ("trace", None),
    ("patch", None),
    ("other", STRING_T),
)
SCHEME = canon.Variant(("HTTP", None), ("HTTPS", None), ("other", STRING_T))

OPT_STRING = canon.Option(STRING_T)
OPT_U32 = canon.Option(U32_T)
OPT_U64 = canon.Option(U64_T)
DNS_ERROR_PAYLOAD = canon.Record(("rcode", OPT_STRING), ("info-code", canon.Option(U16_T)))
TLS_ALERT_RECEIVED_PAYLOAD = canon.Record(
    ("alert-id", canon.Option(U8_T)), ("alert-message", OPT_STRING)
)
FIELD_SIZE_PAYLOAD = canon.Record(("field-name", OPT_STRING), ("field-size", OPT_U32))

ERROR_CASES: tuple[tuple[str, canon.Ty | None], ...] = (
    ("DNS-timeout", None),
    ("DNS-error", DNS_ERROR_PAYLOAD),
    ("destination-not-found", None),
    ("destination-unavailable", None),
    ("destination-IP-prohibited", None),
    ("destination-IP-unroutable", None),
    ("connection-refused", None),
    ("connection-terminated", None),
    ("connection-timeout", None),
    ("connection-read-timeout", None),
    ("connection-write-timeout", None),
    ("connection-limit-reached", None),
    ("TLS-protocol-error", None),
    ("TLS-certificate-error", None),
    ("TLS-alert-received", TLS_ALERT_RECEIVED_PAYLOAD),
    ("HTTP-request-denied", None),
    ("HTTP-request-length-required", None),
    ("HTTP-request-body-size", OPT_U64),
    ("HTTP-request-method-invalid", None),
    ("HTTP-request-URI-invalid", None),
    ("HTTP-request-URI-too-long", None),
    ("HTTP-request-header-section-size", OPT_U32),
    ("HTTP-request-header-size", canon.Option(FIELD_SIZE_PAYLOAD)),
    ("HTTP-request-trailer-section-size", OPT_U32),
    ("HTTP-request-trailer-size", FIELD_SIZE_PAYLOAD),
    ("HTTP-response-incomplete", None),
    ("HTTP-response-header-section-size", OPT_U32),
    ("HTTP-response-header-size", FIELD_SIZE_PAYLOAD),
    ("HTTP-response-body-size", OPT_U64),
    ("HTTP-response-trailer-section-size", OPT_U32),
    ("HTTP-response-trailer-size", FIELD_SIZE_PAYLOAD),
    ("HTTP-response-transfer-coding", OPT_STRING),
    ("HTTP-response-content-coding", OPT_STRING),
    ("HTTP-response-timeout", None),
    ("HTTP-upgrade-failed", None),
    ("HTTP-protocol-error", None),
    ("loop-detected", None),
    ("configuration-error", None),
    ("internal-error", OPT_STRING),
)
ERROR_CODE = canon.Variant(*ERROR_CASES)
ERROR_CASE_NAMES = frozenset(name for name, _ in ERROR_CASES)

HEADER_ERROR = canon.Variant(("invalid-syntax", None), ("forbidden", None), ("immutable", None))

_TEXT_PAYLOAD = {
    "internal-error",
    "HTTP-response-transfer-coding",
    "HTTP-response-content-coding",
}
_NUMBER_PAYLOAD = {
    "HTTP-request-body-size",
    "HTTP-request-header-section-size",
    "HTTP-request-trailer-section-size",
    "HTTP-response-header-section-size",
    "HTTP-response-body-size",
    "HTTP-response-trailer-section-size",
}
_FIELD_SIZE = {
    "HTTP-request-trailer-size",
    "HTTP-response-header-size",
    "HTTP-response-trailer-size",
}


def error_value(err: HttpError) -> Case:
    """The ``error-code`` value (case, payload) of a family error; a case name wasi:http does
    not know becomes ``internal-error`` naming it."""
    code, detail = err.code, err.detail
    if code not in ERROR_CASE_NAMES:
        return "internal-error", f"{code}: {detail}" if detail else code
    if code in _TEXT_PAYLOAD:
        return code, detail
    if code in _NUMBER_PAYLOAD:
        return code, int(detail) if detail is not None and detail.isdigit() else None
    if code in _FIELD_SIZE:
        return code, (detail, None)
    if code == "HTTP-request-header-size":
        return code, None if detail is None else (detail, None)
    if code == "DNS-error":
        return code, (detail, None)
    if code == "TLS-alert-received":
        return code, (None, detail)
    return code, None


class HttpIoError(IoError):
    """A ``wasi:io/error.error`` raised by an http body stream: ``http-error-code`` gives
    its error-code back."""

    def __init__(self, err: HttpError) -> None:
        super().__init__("EIO")
        self.error = err

    def debug_string(self) -> str:
        return str(self.error)


FORBIDDEN_HEADERS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "host",
        "http2-settings",
    }
)
"""What wasmtime's wasi:http refuses in guest fields by default (``forbidden``)."""

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def valid_name(name: str) -> bool:
    """A header field name (an RFC 9110 token), as the ``http`` crate accepts it."""
    raw = name.encode("utf-8", "replace")
    return 0 < len(raw) < 65536 and all(b in _TOKEN for b in raw)


def valid_value(value: bytes) -> bool:
    """A header field value: visible bytes, spaces and tabs (no CR, LF, NUL, DEL)."""
    return all((b >= 32 and b != 127) or b == 9 for b in value)


__all__ = [
    "DNS_ERROR_PAYLOAD",
    "ERROR_CASES",
    "ERROR_CASE_NAMES",
    "ERROR_CODE",
    "FIELDS",
    "FIELD_SIZE_PAYLOAD",
    "FORBIDDEN_HEADERS",
    "FUTURE_INCOMING_RESPONSE",
    "FUTURE_TRAILERS",
    "HEADER_ERROR",
    "INCOMING_BODY",
    "INCOMING_REQUEST",
    "INCOMING_RESPONSE",
    "METHOD",
    "OPT_STRING",
    "OPT_U32",
    "OPT_U64",
    "OUTGOING_BODY",
    "OUTGOING_REQUEST",
    "OUTGOING_RESPONSE",
    "REQUEST_OPTIONS",
    "RESPONSE_OUTPARAM",
    "SCHEME",
    "TLS_ALERT_RECEIVED_PAYLOAD",
    "HttpIoError",
    "error_value",
    "valid_name",
    "valid_value",
]
