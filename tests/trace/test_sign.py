"""Signed traces: ``record --sign`` stores a keyed blake3 of every byte of the trace, ``inspect``
says who signed and whether it verifies, ``replay --require-signed`` refuses anything else.

The forgeries are the ones that pass the file digest: a trace re-written with a changed
environment value or a changed letter in a file read, every blob digest and the file digest
recomputed (``tests.tracetools.rewrite`` writes such a trace, keeping the old footer)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import replace
from pathlib import Path

import blake3
import cbor2
import pytest

import wasm_rr
from wasm_rr.errors import CorruptTraceError, UnsignedTraceError
from wasm_rr.trace import load
from wasm_rr.trace.events import END

from ..conftest import ROOT, cli, guest
from ..tracetools import rewrite

GREET = guest("greet")
WORDCOUNT = guest("wordcount")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A user of their own: a config directory with no key yet, no key in the environment."""
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "WASM_RR_REDACT_KEY": ""}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def signed_greet(tmp_path: Path, home: dict[str, str], name: str = "ann") -> Path:
    trace = tmp_path / "g.cbor"
    run = cli("record", GREET, "-t", trace, "--env", f"NAME={name}", "--sign", env=home)
    assert run.status == 0 and run.stdout == f"hello, {name}\n", run.stderr
    return trace


def one_line(run: object) -> str:
    status, stderr = run.status, run.stderr  # type: ignore[attr-defined]
    assert status == 125, (status, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("wasm-rr: "), stderr
    return str(lines[0])


def test_a_signed_trace_replays_and_inspect_says_who_signed(
    tmp_path: Path, home: dict[str, str]
) -> None:
    trace = signed_greet(tmp_path, home)
    key = wasm_rr.signing_key()  # the one record created: the redaction key
    assert (tmp_path / "config" / "wasm-rr" / "redact.key").exists()
    key_id = blake3.blake3(key).hexdigest()[:16]
    rep = cli("replay", GREET, trace, "--require-signed", env=home)
    assert (rep.status, rep.stdout, rep.stderr) == (0, "hello, ann\n", "")
    shown = cli("inspect", trace, env=home).stdout.splitlines()
    assert shown[-1] == f"signature  signed with key {key_id}: verified"
    footer = json.loads(cli("inspect", "--json", trace, env=home).stdout.splitlines()[-1])
    assert footer["signature"] == {
        "state": "verified",
        "key_id": key_id,
        "checked_with": key_id,
    }
    assert footer["footer"]["signature"]["key_id"] == key_id


def test_a_forged_environment_value_is_refused(tmp_path: Path, home: dict[str, str]) -> None:
    trace = signed_greet(tmp_path, home)
    forged = tmp_path / "eve.cbor"

    def eve(value: object) -> object:
        if isinstance(value, bytes):
            return value.replace(b"ann", b"eve")
        return [eve(v) for v in value] if isinstance(value, list) else value

    def events(evs: list[wasm_rr.trace.Event]) -> list[wasm_rr.trace.Event]:
        return [replace(e, fields=tuple(eve(f) for f in e.fields)) for e in evs]

    def footer(f: wasm_rr.trace.Footer) -> wasm_rr.trace.Footer:
        return replace(f, stdout_blake3=blake3.blake3(b"hello, eve\n").hexdigest())

    rewrite(trace, forged, events=events, footer=footer)
    data = forged.read_bytes()
    assert b"eve" in data and blake3.blake3(data[:-34]).digest() == data[-32:]  # re-sealed
    # Without the requirement the forgery replays: integrity alone cannot tell.
    assert cli("replay", GREET, forged, env=home).stdout == "hello, eve\n"
    line = one_line(cli("replay", GREET, forged, "--require-signed", env=home))
    assert "its signature (key " in line and "does not verify" in line
    assert "DOES NOT VERIFY" in cli("inspect", forged, env=home).stdout


def test_a_changed_letter_in_a_file_read_is_refused(tmp_path: Path, home: dict[str, str]) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "book.txt").write_text("a book of words " * 8)  # 128 bytes: a blob, not inline
    trace = tmp_path / "wc.cbor"
    rec = cli(
        "record", WORDCOUNT, "-t", trace, "--dir", f"{data}::/data", "--sign", "--",
        "/data/book.txt", env=home,
    )  # fmt: skip
    assert rec.status == 0, rec.stderr
    forged = tmp_path / "forged.cbor"

    def letter(events: list[wasm_rr.trace.Event]) -> list[wasm_rr.trace.Event]:
        out = []
        for e in events:
            answer = e.fields[-1]
            if e.name == "fs.read" and isinstance(answer, bytes) and b"book" in answer:
                e = replace(e, fields=(*e.fields[:-1], answer.replace(b"book", b"look", 1)))
            out.append(e)
        return out

    rewrite(trace, forged, events=letter)
    assert b"look" in forged.read_bytes()
    assert cli("replay", WORDCOUNT, forged, env=home).status == 0  # the blob digest re-sealed
    one_line(cli("replay", WORDCOUNT, forged, "--require-signed", env=home))
    assert cli("replay", WORDCOUNT, trace, "--require-signed", env=home).status == 0


def test_every_byte_is_covered(tmp_path: Path, home: dict[str, str]) -> None:
    """Any one byte changed before the digest (the file digest then re-sealed), the footer's
    own encoding included, and the signature no longer verifies (or the trace is refused as
    damaged)."""
    trace = signed_greet(tmp_path, home)
    key = wasm_rr.signing_key()
    data = trace.read_bytes()
    assert wasm_rr.signature(trace, key).verified
    changed = tmp_path / "x.cbor"
    for at in range(len(data) - 34):
        body = bytearray(data[:-34])
        body[at] ^= 0x01
        changed.write_bytes(bytes(body) + b"\x58\x20" + blake3.blake3(bytes(body)).digest())
        try:
            found = wasm_rr.signature(changed, key)
        except wasm_rr.errors.TraceError:
            continue  # refused as damaged: not a trace to replay at all
        assert not found.verified, at


def test_a_non_canonical_footer_does_not_verify(tmp_path: Path, home: dict[str, str]) -> None:
    """The same footer values, encoded otherwise (an integer in 9 bytes instead of 1): every
    byte is covered, so it is not the signed footer."""
    trace = signed_greet(tmp_path, home)
    data = trace.read_bytes()
    raw = load(trace).raw_footer
    encoded = cbor2.dumps(raw)
    at = len(data) - 34 - len(encoded)
    assert data[at - 1] == END and data[at:-34] == encoded
    assert encoded.count(b"\x66events\x05") == 1
    longer = encoded.replace(b"\x66events\x05", b"\x66events\x1b" + (5).to_bytes(8, "big"))
    body = data[:at] + longer
    odd = tmp_path / "odd.cbor"
    odd.write_bytes(body + b"\x58\x20" + blake3.blake3(body).digest())
    assert load(odd).footer == load(trace).footer  # the same values
    assert wasm_rr.signature(odd, wasm_rr.signing_key()).state == "bad"


def test_unsigned_cut_and_unchecked_traces_are_refused(
    tmp_path: Path, home: dict[str, str]
) -> None:
    trace = signed_greet(tmp_path, home)
    unsigned = tmp_path / "u.cbor"
    assert cli("record", GREET, "-t", unsigned, env=home).status == 0
    line = one_line(cli("replay", GREET, unsigned, "--require-signed", env=home))
    assert line == (
        f"wasm-rr: {unsigned} is not signed; record with --sign, or replay it without "
        "requiring a signature"
    )
    assert cli("inspect", unsigned, env=home).stdout.splitlines()[-1] == (
        "signature  none: the trace is not signed"
    )
    # A cut trace (the recorder killed: no footer) has no signature, whoever recorded it.
    cut = tmp_path / "cut.cbor"
    data = trace.read_bytes()
    cut.write_bytes(data[: data.rindex(bytes([END]))])
    assert load(cut).cut_off
    line = one_line(cli("replay", GREET, cut, "--require-signed", env=home))
    assert "is not signed: the recording was cut off" in line
    assert "a cut trace is never signed" in cli("inspect", cut, env=home).stdout
    # Another user (another key): the signature cannot be checked, so it is refused.
    other = {**home, "WASM_RR_REDACT_KEY": "someone else"}
    line = one_line(cli("replay", GREET, trace, "--require-signed", env=other))
    assert ", this user's key is " in line and "--sign-key FILE" in line
    # No key at all: nothing is created to check with.
    none = {**home, "XDG_CONFIG_HOME": str(tmp_path / "nobody")}
    line = one_line(cli("replay", GREET, trace, "--require-signed", env=none))
    assert "there is no key at hand" in line
    assert "not checked, there is no key at hand" in cli("inspect", trace, env=none).stdout
    assert not (tmp_path / "nobody").exists()
    # The signer's key given as a file verifies anywhere.
    keyfile = tmp_path / "config" / "wasm-rr" / "redact.key"
    rep = cli("replay", GREET, trace, "--require-signed", "--sign-key", keyfile, env=none)
    assert rep.status == 0, rep.stderr
    assert cli("inspect", trace, "--sign-key", keyfile, env=none).stdout.endswith(": verified\n")


def test_sign_key_file(tmp_path: Path, home: dict[str, str]) -> None:
    keyfile = tmp_path / "team.key"
    keyfile.write_bytes(b"a team's secret\n")
    trace = tmp_path / "t.cbor"
    rec = cli("record", GREET, "-t", trace, "--sign-key", keyfile, env=home)
    assert rec.status == 0, rec.stderr
    assert not (tmp_path / "config").exists()  # the redaction key was neither needed nor made
    assert cli("replay", GREET, trace, "--require-signed", "--sign-key", keyfile).status == 0
    line = one_line(cli("replay", GREET, trace, "--require-signed", env=home))
    assert "this user has no redaction key" in line
    missing = cli("record", GREET, "-t", tmp_path / "m.cbor", "--sign-key", tmp_path / "nope")
    assert "cannot read the signing key" in one_line(missing)
    assert not (tmp_path / "m.cbor").exists()


def test_the_library(tmp_path: Path, home: dict[str, str]) -> None:
    key = wasm_rr.signing_key()
    trace = tmp_path / "lib.cbor"
    rec = wasm_rr.record(GREET, env={"NAME": "bo"}, trace=trace, sign_key=key)
    assert wasm_rr.replay(trace, GREET, require_signed=True).stdout == rec.stdout
    found = wasm_rr.signature(trace)
    assert (found.state, found.key_id) == ("verified", blake3.blake3(key).hexdigest()[:16])
    in_memory = wasm_rr.Program(GREET).record(env={"NAME": "bo"}, sign_key=key).trace
    assert in_memory is not None and wasm_rr.signature(in_memory).verified
    unsigned = tmp_path / "u.cbor"
    wasm_rr.record(GREET, trace=unsigned)
    with pytest.raises(UnsignedTraceError, match="record with sign_key="):
        wasm_rr.replay(unsigned, GREET, require_signed=True)
    other = wasm_rr.signing_key(_write(tmp_path / "k", b"other"))
    with pytest.raises(UnsignedTraceError, match=r"the key given is [0-9a-f]{16}; .*sign_key="):
        wasm_rr.replay(trace, GREET, require_signed=True, sign_key=other)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_golden_traces_read_as_unsigned(home: dict[str, str]) -> None:
    for path in sorted((ROOT / "golden" / "v2").glob("*.cbor"))[:8]:
        assert wasm_rr.signature(path).state == "unsigned", path
    assert wasm_rr.signature(ROOT / "golden" / "greet.cbor").state == "unsigned"


def test_a_damaged_signature_is_one_line_or_does_not_verify(
    tmp_path: Path, home: dict[str, str]
) -> None:
    """Each value of the footer's signature replaced by a value of each CBOR type (re-sealed):
    the footer is refused as damaged, or the signature does not verify; never a traceback."""
    from .test_mutations import TYPED_VALUES, run_main

    trace = signed_greet(tmp_path, home)
    key = wasm_rr.signing_key()
    data = trace.read_bytes()
    raw = load(trace).raw_footer
    at = len(data) - 34 - len(cbor2.dumps(raw))
    odd = tmp_path / "odd.cbor"
    for where in ("signature", "key_id", "keyed_blake3"):
        for value in TYPED_VALUES:
            footer = {**raw, "signature": dict(raw["signature"])}
            if where == "signature":
                footer["signature"] = value
            else:
                footer["signature"][where] = value
            body = data[:at] + cbor2.dumps(footer)
            odd.write_bytes(body + b"\x58\x20" + blake3.blake3(body).digest())
            with contextlib.suppress(CorruptTraceError):  # or the footer is not a footer
                assert not wasm_rr.signature(odd, key).verified, (where, value)
            status, _, err = run_main(["inspect", str(odd)])
            assert status in (0, 125) and b"Traceback" not in err, (where, value, err)
            status, _, err = run_main(["replay", str(GREET), str(odd), "--require-signed"])
            assert status == 125 and err.count(b"\n") == 1, (where, value, err)
