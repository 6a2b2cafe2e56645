"""Every kind of drift aborts at the first differing call, with a typed error and pinned text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from wasm_rr import errors
from wasm_rr.trace import Event, Outcome, load
from wasm_rr.world.clocks import NOW

from .conftest import guest, record, replay
from .tracetools import rewrite, with_event


@pytest.fixture
def dice(tmp_path: Path) -> Path:
    trace = tmp_path / "dice.cbor"
    record("dice", trace)
    return trace


def _index(evs: list[Event], kind: str) -> int:
    return next(i for i, e in enumerate(evs) if e.name == kind)


def test_end_of_trace(dice: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.cbor"
    rewrite(dice, cut, events=lambda evs: evs[:2])
    with pytest.raises(errors.EndOfTraceError) as exc:
        replay("dice", cut)
    assert str(exc.value).startswith(
        "seq 3: end of trace: the recording has no more events, this run called io.isatty(1)"
    )
    assert exc.value.seq == 3


def test_kind_mismatch(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, events=lambda evs: [evs[1], evs[0], *evs[2:]])
    with pytest.raises(errors.KindMismatchError) as exc:
        replay("dice", bad)
    assert str(exc.value) == (
        "seq 1: kind mismatch: the recording has random.bytes(), this run called "
        "clock.now(0); the guest took a different path than when it was recorded; re-record it"
    )


def test_args_mismatch(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, events=lambda evs: with_event(evs, 0, fields=(1, *evs[0].fields[1:])))
    with pytest.raises(errors.ArgsMismatchError) as exc:
        replay("dice", bad)
    assert str(exc.value).startswith(
        "seq 1: args mismatch: the recording has clock.now(1), this run called clock.now(0)"
    )


def test_random_length_mismatch(tmp_path: Path) -> None:
    trace, bad = tmp_path / "e.cbor", tmp_path / "bad.cbor"
    record("entropy", trace)

    def shorten(evs: list[Event]) -> list[Event]:
        i = _index(evs, "random.bytes")
        return with_event(evs, i, fields=(evs[i].fields[0][:8],))

    rewrite(trace, bad, events=shorten)
    with pytest.raises(
        errors.ArgsMismatchError, match=r"random.bytes\(\) of 8 bytes, this run asked for 16 bytes"
    ):
        replay("entropy", bad)


def test_output_mismatch(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"

    def edit(evs: list[Event]) -> list[Event]:
        i = _index(evs, "io.write")
        fd, data, n = evs[i].fields
        return with_event(evs, i, fields=(fd, data.replace(b"time", b"TIME"), n))

    rewrite(dice, bad, events=edit)
    with pytest.raises(errors.OutputMismatchError) as exc:
        replay("dice", bad)
    assert "output mismatch: the recording has io.write(1, b'TIME: " in str(exc.value)
    assert "(first difference at byte 0); the guest's output changed; re-record it" in str(
        exc.value
    )


def test_fuel_mismatch(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, events=lambda evs: with_event(evs, 1, fuel=evs[1].fuel + 1))
    with pytest.raises(errors.FuelMismatchError) as exc:
        replay("dice", bad)
    fuel = list(load(dice).events())[1].fuel  # the second event's fuel delta
    assert str(exc.value) == (
        f"seq 2: fuel mismatch: the recording has random.bytes() after {fuel + 1} instructions, "
        f"this run made it after {fuel} instructions; the guest took a different path between "
        "two calls; re-record it"
    )


def test_unused_events(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, events=lambda evs: [*evs, Event(0, 0, 5, (0, 10), decl=NOW)])
    with pytest.raises(errors.UnusedEventsError) as exc:
        replay("dice", bad)
    assert (
        "unused events left at exit: the recording has 1 more event(s), next clock.now(0)"
        in str(exc.value)
    )


def test_outcome_mismatch(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, footer=lambda f: replace(f, outcome=Outcome(exit_code=4)))
    with pytest.raises(
        errors.OutcomeMismatchError, match="the recording has exit 4, this run ended with exit 0"
    ):
        replay("dice", bad)


def test_code_hash_mismatch(dice: Path) -> None:
    with pytest.raises(
        errors.CodeHashMismatchError,
        match="code hash mismatch: the trace was recorded against guest blake3",
    ):
        replay("counter", dice)


def test_allow_code_change_runs_until_first_drift(dice: Path) -> None:
    with pytest.raises(errors.KindMismatchError, match="seq 1: kind mismatch"):
        replay(guest("counter"), dice, allow_code_change=True)


def test_unsupported_version(dice: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.cbor"
    rewrite(dice, bad, version=9)
    with pytest.raises(
        errors.UnsupportedTraceVersionError, match="trace format 9, this wasm-rr reads up to 2"
    ):
        replay("dice", bad)


def test_corrupt_trace(dice: Path) -> None:
    data = bytearray(dice.read_bytes())
    data[-60] ^= 0x01
    dice.write_bytes(bytes(data))
    with pytest.raises(errors.CorruptTraceError, match="checksum mismatch"):
        replay("dice", dice)
