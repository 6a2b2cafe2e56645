"""Signed traces: who recorded a trace, and proof that not one byte of it changed since.

A trace's file digest (the blake3 of every byte before it) proves it undamaged, but anyone can
recompute it after changing the trace: a changed letter in a file read, an environment value
changed from ``ann`` to ``eve``, and the blob digests and the file digest re-sealed, pass. A
signature is a blake3 *keyed* with a secret: ``record --sign`` stores in the footer the key's
id and the keyed blake3 of every byte of the trace before the footer's record (magic, version,
header, events, payloads) followed by the footer's CBOR without its signature, which the footer
then holds last. Only a holder of the key can make one that verifies. ``inspect`` says who
signed and whether the signature verifies with the key at hand; ``replay --require-signed``
refuses anything else.

The key is the user's redaction key, the one the HTTP family keys secret header digests with
(``$WASM_RR_REDACT_KEY``, else ``~/.config/wasm-rr/redact.key``), or one read from a file
(``--sign-key FILE``: any bytes, hashed as the redaction key file is, so that file itself can
be given). Signatures are keyed with a key derived from it for this purpose alone; its id, 16
hex digits of the blake3 of the key, is the same as in redacted headers.

A trace cut off by a crash has no footer, so it has no signature: it is unsigned, whoever
recorded it. A footer that is not exactly as wasm-rr encodes it (every byte of the trace is
covered: the footer's bytes must be the canonical encoding of what it holds) does not verify.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import blake3
import cbor2

from ..errors import UnsignedTraceError, UsageError
from .events import END
from .schema import Footer, Signature

if TYPE_CHECKING:
    from .reader import Trace

CONTEXT = "wasm-rr 2026-12 trace signature"
"""blake3's key-derivation context of the signature key (never the redaction key itself)."""

_PIECE = 16 << 20
_TAIL = 34  # the digest item: 58 20 + 32 bytes

State = Literal["verified", "bad", "other-key", "no-key", "unsigned", "cut-off"]


def key_id(key: bytes) -> str:
    """A key's public name: 16 hex digits of its blake3 (as redacted headers name it)."""
    return blake3.blake3(key).hexdigest()[:16]


def user_key(create: bool) -> bytes | None:
    """The user's redaction key; created on first use when ``create`` (as a recording that
    redacts a header creates it), else None when there is none."""
    from ..world import http

    return http.redact_key() if create else http.existing_redact_key()


def key_for(trace: Trace) -> bytes | None:
    """The user's key to check ``trace``'s signature with: looked up (never created) only
    when the trace has a signature."""
    footer = trace.footer
    return None if footer is None or footer.signature is None else user_key(create=False)


def key_from_file(path: str | os.PathLike[str]) -> bytes:
    """The key in a key file (``--sign-key FILE``): any bytes, hashed as the redaction key's
    file is."""
    from ..world import http

    try:
        with open(path, "rb") as fh:
            secret = fh.read().strip()
    except OSError as exc:
        raise UsageError(
            f"cannot read the signing key {os.fspath(path)}: {exc.strerror}; give a file "
            "holding the key (any bytes: ~/.config/wasm-rr/redact.key is one)"
        ) from None
    if not secret:
        raise UsageError(f"the signing key file {os.fspath(path)} is empty")
    return http.derive_key(secret)


def _hasher(key: bytes, size: int) -> blake3.blake3:
    mac_key = blake3.blake3(key, derive_key_context=CONTEXT).digest()
    threads = blake3.blake3.AUTO if size > 1 << 22 else 1
    return blake3.blake3(key=mac_key, max_threads=threads)


def sign(footer: Footer, key: bytes, body: Iterable[bytes | memoryview], size: int) -> Footer:
    """``footer`` with the signature of ``key`` over ``body`` (``size`` bytes: everything
    before the footer's record) and the footer itself."""
    hasher = _hasher(key, size)
    for piece in body:
        hasher.update(piece)
    hasher.update(cbor2.dumps(replace(footer, signature=None).to_cbor()))
    return replace(footer, signature=Signature(key_id(key), hasher.digest()))


@dataclass(frozen=True)
class SignatureCheck:
    """Whether a trace is signed, by whom, and whether the signature verifies."""

    state: State
    key_id: str | None = None
    """The signer's key id (None: unsigned)."""
    checked_with: str | None = None
    """The id of the key the signature was checked with (None: no key at hand)."""

    @property
    def verified(self) -> bool:
        return self.state == "verified"

    def describe(self) -> str:
        """One line for ``inspect``."""
        who = f"signed with key {self.key_id}"
        return {
            "verified": f"{who}: verified",
            "bad": f"{who}: DOES NOT VERIFY: the trace was changed after it was signed",
            "other-key": f"{who}: not checked, the key at hand is {self.checked_with}",
            "no-key": f"{who}: not checked, there is no key at hand",
            "unsigned": "none: the trace is not signed",
            "cut-off": "none: the recording was cut off, and a signature is written with the "
            "footer (a cut trace is never signed)",
        }[self.state]


def check(trace: Trace, key: bytes | None) -> SignatureCheck:
    """The signature of ``trace`` checked with ``key`` (None: no key at hand)."""
    footer = trace.footer
    if footer is None:
        return SignatureCheck("cut-off")
    sig = footer.signature
    if sig is None:
        return SignatureCheck("unsigned")
    if key is None:
        return SignatureCheck("no-key", sig.key_id)
    mine = key_id(key)
    if mine != sig.key_id:
        return SignatureCheck("other-key", sig.key_id, mine)
    good = _verifies(trace, key, sig)
    return SignatureCheck("verified" if good else "bad", sig.key_id, mine)


def _verifies(trace: Trace, key: bytes, sig: Signature) -> bool:
    mm, raw = trace.mapped, trace.raw_footer
    if mm is None or type(raw) is not dict:
        return False  # only an intact trace of the current format is signed
    encoded = cbor2.dumps(raw)
    limit = len(mm) - _TAIL
    start = limit - len(encoded)  # where the footer's bytes begin, after its END code
    if start < 1 or mm[start - 1] != END or mm[start:limit] != encoded:
        return False  # not the footer as wasm-rr writes it
    body = start - 1
    hasher = _hasher(key, body)
    with memoryview(mm) as view:
        for at in range(0, body, _PIECE):
            with view[at : min(body, at + _PIECE)] as piece:
                hasher.update(piece)
    hasher.update(cbor2.dumps({k: v for k, v in raw.items() if k != "signature"}))
    return hmac.compare_digest(hasher.digest(), sig.keyed_blake3)


def require(trace: Trace, key: bytes | None, *, given: bool) -> SignatureCheck:
    """Raise :class:`UnsignedTraceError` unless ``trace`` is signed and its signature verifies
    with ``key`` (``given``: the caller named the key; else it is the user's own)."""
    found = check(trace, key)
    if not found.verified:
        raise UnsignedTraceError(trace.path, found, given=given)
    return found


__all__ = [
    "CONTEXT",
    "SignatureCheck",
    "State",
    "check",
    "key_for",
    "key_from_file",
    "key_id",
    "require",
    "sign",
    "user_key",
]
