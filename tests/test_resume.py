"""wasm-rr resume: a recording killed (SIGKILL) around each journalled effect resumes, and the
world outside sees each effect exactly once, or the resume stops and says why.

Each crash window is made for real: the recorder is a subprocess that tests/crash_hook.py
(``WINDOW:KIND:N``) kills at that point of the Nth effect of KIND; the resume and the replay of
the resumed trace run in this process. Upstream counts are read from the files the effects write
and from a local bank (demo/bank.py) on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from wasm_rr import engine
from wasm_rr.errors import (
    CodeHashMismatchError,
    RecordingCutOffError,
    ResumeError,
    UnresolvedIntentError,
)
from wasm_rr.trace import TraceWriter, load
from wasm_rr.world import Streams

from .conftest import ROOT, CliRun, cli, guest

WINDOWS = ["before-intent", "after-intent", "after-effect", "after-completion"]


def _bank_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bank", ROOT / "demo" / "bank.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BANK = _bank_module()


@pytest.fixture
def bank() -> Iterator[Any]:
    server = BANK.Bank().start()
    try:
        yield server
    finally:
        server.stop()


def killed(spec: str, *args: str | Path) -> CliRun:
    """``wasm-rr record ARGS`` SIGKILLed at ``spec`` (the hook must fire)."""
    run = cli("record", *args, kill_at=spec)
    assert run.status == -9, (spec, run)
    return run


def resume(
    wasm: Path | None, trace: Path, assume: str | None = None, stdin: bytes = b""
) -> tuple[engine.RunResult, bytes]:
    out = io.BytesIO()
    streams = Streams(io.BytesIO(stdin), out, io.BytesIO())
    result = engine.resume(wasm, trace, streams, assume=assume)
    return result, out.getvalue()


def replay(wasm: Path, trace: Path) -> tuple[engine.RunResult, bytes]:
    out = io.BytesIO()
    result = engine.replay(wasm, trace, Streams(None, out, io.BytesIO()))
    return result, out.getvalue()


def resolutions(trace: Path) -> list[tuple[Any, ...]]:
    return [tuple(e.answer) for e in load(trace).events() if e.name == "journal.resolved"]


def cut_after(src: Path, dst: Path, keep: int) -> None:
    """What a recorder killed after its ``keep``th event leaves: those events, no footer."""
    trace = load(src)
    w = TraceWriter(dst, trace.header)
    for ev in list(trace.events())[:keep]:
        assert ev.decl is not None
        fields = [
            w.payload(f) if j in ev.decl.payload_slots and isinstance(f, bytes) else f
            for j, f in enumerate(ev.fields)
        ]
        w.event_with_fuel(w.code(ev.decl), ev.fuel, *fields)
    w.close(None)


# ---- files: a positioned write, an append, a rename ------------------------------------------


@pytest.fixture(scope="module")
def fstour_full(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    work = tmp_path_factory.mktemp("full")
    (work / "d").mkdir()
    run = cli(
        "record",
        guest("fstour"),
        "-t",
        work / "t.cbor",
        "--dir",
        f"{work / 'd'}::/scratch",
        "--",
        "/scratch",
    )
    assert run.status == 0, run.stderr
    return run.stdout.encode()


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("effect", ["fs.write", "fs.append", "fs.rename", "fs.mkdir"])
def test_file_effects_happen_once(
    tmp_path: Path, fstour_full: bytes, effect: str, window: str
) -> None:
    (tmp_path / "d").mkdir()
    trace = tmp_path / "t.cbor"
    dir_opt = f"{tmp_path / 'd'}::/scratch"
    killed(f"{window}:{effect}:1", guest("fstour"), "-t", trace, "--dir", dir_opt, "--", "/scratch")
    assert load(trace).cut_off
    result, out = resume(guest("fstour"), trace)
    # fstour prints every file's content, size and name as it goes, and removes its directory
    # at the end: a write done twice, an append doubled or a rename lost would show.
    assert result.outcome.exit_code == 0 and out == fstour_full
    assert list((tmp_path / "d").iterdir()) == []
    replayed, replayed_out = replay(guest("fstour"), trace)
    assert replayed.outcome.exit_code == 0 and replayed_out == fstour_full
    policies = [r[1] for r in resolutions(trace)]
    if window in ("after-intent", "after-effect"):
        assert policies == ["observe" if window == "after-effect" else "re-dispatch"]
    else:
        assert policies == []


# ---- a host program ---------------------------------------------------------------------------


def _procdemo(tmp_path: Path, trace: Path) -> list[str | Path]:
    return [
        guest("procdemo"),
        "-t",
        trace,
        "--dir",
        tmp_path / "w",
        "--allow-run",
        "sh",
        "--",
        "run",
        "sh",
        "-c",
        "echo ran >> count.txt; echo done",
    ]


def _runs(tmp_path: Path) -> int:
    count = tmp_path / "w" / "count.txt"
    return count.read_text().count("ran") if count.exists() else 0


@pytest.mark.parametrize("window", WINDOWS)
def test_a_host_program_runs_once_or_resume_asks(tmp_path: Path, window: str) -> None:
    (tmp_path / "w").mkdir()
    trace = tmp_path / "t.cbor"
    killed(f"{window}:process.run:1", *_procdemo(tmp_path, trace))
    before = _runs(tmp_path)
    assert before == (1 if window in ("after-effect", "after-completion") else 0)
    if window in ("after-intent", "after-effect"):
        # In flight: whether it ran cannot be observed; resume stops, naming it, and the trace
        # is left as it was.
        size = trace.stat().st_size
        with pytest.raises(UnresolvedIntentError) as info:
            resume(guest("procdemo"), trace)
        assert "process.run (sh -c echo ran >> count.txt; echo done)" in str(info.value)
        assert "--assume-done or --assume-not-done" in str(info.value)
        assert trace.stat().st_size <= size and load(trace).cut_off
        assume = "assume-done" if before else "assume-not-done"
        intent = list(load(trace).events())[-1]  # the effect in flight
        assert intent.name == "journal.intent"
        result, out = resume(guest("procdemo"), trace, assume)
        assert resolutions(trace) == [(intent.seq, assume, None)]
        # Assumed done: the guest is told it exited 0 with no output.
        expect = b'stdout: 0 bytes ""' if before else b'stdout: 5 bytes "done\\n"'
    else:
        result, out = resume(guest("procdemo"), trace)
        expect = b'stdout: 5 bytes "done\\n"'
    assert result.outcome.exit_code == 0 and expect in out
    assert _runs(tmp_path) == 1
    assert replay(guest("procdemo"), trace)[1] == out


# ---- an HTTP POST, without and with an idempotency key ----------------------------------------


def _transfer(bank: Any, tmp_path: Path, trace: Path, *extra: str) -> list[str | Path]:
    return [
        guest("transfer"),
        "-t",
        trace,
        "--dir",
        f"{tmp_path / 'out'}::/out",
        "--allow-http",
        f"127.0.0.1:{bank.port}",
        *extra,
        "--",
        f"http://127.0.0.1:{bank.port}/transfer",
        "alice",
        "bob",
        "100",
        "/out/receipt.txt",
    ]


RECEIPT = b"transfer #1: from=alice&to=bob&amount=100"


@pytest.mark.parametrize("window", WINDOWS)
def test_a_post_with_an_idempotency_key_is_one_transfer(
    bank: Any, tmp_path: Path, window: str
) -> None:
    (tmp_path / "out").mkdir()
    trace = tmp_path / "t.cbor"
    killed(f"{window}:http.send:1", *_transfer(bank, tmp_path, trace, "--http-idempotency-key"))
    result, out = resume(guest("transfer"), trace)
    assert result.outcome.exit_code == 0, out
    assert len(bank.transfers) == 1
    assert (tmp_path / "out" / "receipt.txt").read_bytes() == RECEIPT
    assert b"status 200: " + RECEIPT in out
    assert replay(guest("transfer"), trace)[1] == out
    if window in ("after-intent", "after-effect"):
        assert resolutions(trace)[0][1:] == ("re-dispatch", {"idempotency_key": True})
        # The same key both times: the bank saw the request twice after a crash past sending,
        # and made one transfer.
        assert bank.requests == (2 if window == "after-effect" else 1)


@pytest.mark.parametrize("window", WINDOWS)
def test_a_post_without_a_key_runs_once_or_resume_asks(
    bank: Any, tmp_path: Path, window: str
) -> None:
    (tmp_path / "out").mkdir()
    trace = tmp_path / "t.cbor"
    killed(f"{window}:http.send:1", *_transfer(bank, tmp_path, trace))
    sent = len(bank.transfers)
    assert sent == (1 if window in ("after-effect", "after-completion") else 0)
    if window in ("after-intent", "after-effect"):
        with pytest.raises(UnresolvedIntentError) as info:
            resume(guest("transfer"), trace)
        assert f"http.send POST http://127.0.0.1:{bank.port}/transfer" in str(info.value)
        assume = "assume-done" if sent else "assume-not-done"
        result, out = resume(guest("transfer"), trace, assume)
        if sent:
            # Assumed done: the connection dropped after sending; the guest saw a failure.
            assert b"transfer: failed: connection-terminated" in out
            assert result.outcome.exit_code == 1
        else:
            assert result.outcome.exit_code == 0 and b"status 200" in out
    else:
        result, out = resume(guest("transfer"), trace)
        assert result.outcome.exit_code == 0
    assert len(bank.transfers) == 1
    assert replay(guest("transfer"), trace)[1] == out


def test_a_resume_killed_again_resumes_again(bank: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    trace = tmp_path / "t.cbor"
    args = _transfer(bank, tmp_path, trace, "--http-idempotency-key")
    killed("after-effect:http.send:1", *args)
    again = cli("resume", guest("transfer"), trace, kill_at="after-effect:fs.write:1")
    assert again.status == -9, again
    result, out = resume(guest("transfer"), trace)
    assert result.outcome.exit_code == 0
    assert [r[1] for r in resolutions(trace)] == ["re-dispatch", "observe"]
    assert len(bank.transfers) == 1 and replay(guest("transfer"), trace)[1] == out


def test_the_cli_resumes_and_the_trace_replays_as_one(bank: Any, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    trace = tmp_path / "t.cbor"
    args = _transfer(bank, tmp_path, trace, "--http-idempotency-key", "--embed-guest")
    killed("after-effect:http.send:1", *args)
    cut = cli("replay", trace)
    assert cut.status == 125 and "`wasm-rr resume` can finish the run" in cut.stderr
    done = cli("resume", trace)  # the guest the trace carries
    assert done.status == 0, done.stderr
    assert done.stdout.count("transfer: POST") == 1 and "receipt: /out/receipt.txt" in done.stdout
    again = cli("replay", guest("transfer"), trace)
    assert again.status == 0 and again.stdout == done.stdout
    assert len(bank.transfers) == 1


# ---- what resume refuses ----------------------------------------------------------------------


def test_refuses_a_complete_trace_another_guest_and_an_empty_one(tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    assert cli("record", guest("counter"), "-t", trace).status == 0
    with pytest.raises(ResumeError, match="the recording is complete"):
        resume(guest("counter"), trace)
    cut = tmp_path / "cut.cbor"
    cut_after(trace, cut, 3)
    with pytest.raises(CodeHashMismatchError):
        resume(guest("greet"), cut)
    empty = tmp_path / "empty.cbor"
    cut_after(trace, empty, 0)
    with pytest.raises(ResumeError, match="it holds no event"):
        resume(guest("counter"), empty)
    run = cli("resume", guest("counter"), trace)
    assert run.status == 125 and run.stderr.count("\n") == 1
    assert run.stderr.startswith("wasm-rr: cannot resume ")
    both = cli("resume", "--assume-done", "--assume-not-done", guest("counter"), cut)
    assert both.status == 125 and "exclude each other" in both.stderr


def test_resume_hints_name_what_resume_takes(tmp_path: Path) -> None:
    trace, cut = tmp_path / "t.cbor", tmp_path / "cut.cbor"
    assert cli("record", guest("counter"), "-t", trace).status == 0
    cut_after(trace, cut, 3)
    other = cli("resume", guest("greet"), cut)
    assert other.status == 125 and other.stderr.count("\n") == 1
    assert other.stderr.startswith("wasm-rr: code hash mismatch: ")
    assert other.stderr.endswith(
        "a run resumes only with the guest it was recorded with: give that guest file, or no "
        "guest if the trace carries it, or re-record\n"
    )
    assert "--allow-code-change" not in other.stderr
    alone = cli("resume", cut)
    assert alone.status == 125
    assert alone.stderr == (
        f"wasm-rr: {cut} does not carry its guest (it was recorded without --embed-guest); "
        "give the guest too: wasm-rr resume GUEST TRACE\n"
    )


def test_a_cut_counter_resumes_to_the_whole_output(tmp_path: Path) -> None:
    trace, cut = tmp_path / "t.cbor", tmp_path / "cut.cbor"
    full = cli("record", guest("counter"), "-t", trace)
    for keep in (1, 3, 6):
        cut_after(trace, cut, keep)
        result, out = resume(guest("counter"), cut)
        assert out.decode() == full.stdout and result.outcome.exit_code == 0
        assert replay(guest("counter"), cut)[1].decode() == full.stdout


def test_refuses_a_trace_recorded_before_the_journal(tmp_path: Path) -> None:
    old = ROOT / "golden" / "v2" / "c-counter.cbor"
    cut = tmp_path / "cut.cbor"
    cut_after(old, cut, 2)
    with pytest.raises(
        ResumeError, match=r"it lacks the event kinds journal\.intent, journal\.resolved"
    ):
        resume(guest("counter.component"), cut)
    # ...and it still replays to its cut.
    with pytest.raises(RecordingCutOffError):
        replay(guest("counter.component"), cut)


def test_refuses_a_world_that_is_gone(tmp_path: Path, bank: Any) -> None:
    (tmp_path / "out").mkdir()
    trace = tmp_path / "t.cbor"
    killed("after-intent:fs.write:1", *_transfer(bank, tmp_path, trace, "--http-idempotency-key"))
    kept = tmp_path / "kept.cbor"
    shutil.copy(trace, kept)
    # The receipt was open (handle 2) when the recorder died: gone, it cannot be reopened.
    (tmp_path / "out" / "receipt.txt").unlink()
    with pytest.raises(ResumeError, match=r"/out/receipt.txt \(open as handle 2 .*\) cannot be"):
        resume(guest("transfer"), trace)
    shutil.rmtree(tmp_path / "out")
    with pytest.raises(ResumeError, match="the recording's directory is gone"):
        resume(guest("transfer"), kept)
    assert len(bank.transfers) == 1


def test_the_clocks_go_on(tmp_path: Path) -> None:
    """A resumed guest's monotonic clock never goes back, and its readings continue the
    recorded ones (the trace replays them as one run)."""
    trace, cut = tmp_path / "t.cbor", tmp_path / "cut.cbor"
    full = cli("record", guest("bench_clock"), "-t", trace, "--", "200")
    assert full.status == 0 and "backwards=0" in full.stdout
    cut_after(trace, cut, 150)  # the clock reads of a later process may well be behind
    result, out = resume(guest("bench_clock"), cut)
    assert result.outcome.exit_code == 0 and b"backwards=0" in out
    assert replay(guest("bench_clock"), cut)[1] == out


def test_a_component_resumes_too(tmp_path: Path) -> None:
    wasm = guest("fstour.component")
    (tmp_path / "d").mkdir()
    dir_opt = f"{tmp_path / 'd'}::/scratch"
    full = cli("record", wasm, "-t", tmp_path / "full.cbor", "--dir", dir_opt, "--", "/scratch")
    trace = tmp_path / "t.cbor"
    killed("after-effect:fs.append:1", wasm, "-t", trace, "--dir", dir_opt, "--", "/scratch")
    result, out = resume(wasm, trace)
    assert result.outcome.exit_code == 0 and out.decode() == full.stdout
    assert [r[1] for r in resolutions(trace)] == ["observe"]
    assert replay(wasm, trace)[1] == out
