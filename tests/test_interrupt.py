"""Stopping a guest: Ctrl-C and --timeout, even while it spins in pure wasm; the trace is kept,
ends where the guest was stopped, and replays to that very point. A Ctrl-C that lands where it
cannot be raised (a ``__del__``) or inside a host call still stops the run. A trace cut by a
crash replays to its cut and no further than a bound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import pytest
import wasmtime

from wasm_rr import engine
from wasm_rr.abi import interrupt
from wasm_rr.abi.interrupt import GuestTimeout, Watchdog
from wasm_rr.errors import RecordingStoppedError
from wasm_rr.trace import reader
from wasm_rr.world import Sources, Streams
from wasm_rr.world.clocks import stepping
from wasm_rr.world.stops import MARGIN

from .conftest import ROOT, cli, guest, run_config

SPIN = r"""(module
 (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "clock_time_get" (func $t (param i32 i64 i32) (result i32)))
 (memory (export "memory") 1) (data (i32.const 16) "spinning\n")
 (func (export "_start")
   (drop (call $t (i32.const 1) (i64.const 0) (i32.const 32)))
   (i32.store (i32.const 0) (i32.const 16)) (i32.store (i32.const 4) (i32.const 9))
   (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
   (loop $l (br $l))))"""


def spin(tmp_path: Path) -> Path:
    path = tmp_path / "spin.wasm"
    path.write_bytes(wasmtime.wat2wasm(SPIN))
    return path


def stop_line(why: str, trace: Path) -> str:
    """The line replay ends with for a recording stopped by ``why``, ending ``trace``."""
    events = list(reader.load(trace).events())
    assert events[-1].name == "journal.stopped"
    instructions = sum(e.fuel for e in events)
    return (
        f"wasm-rr: the recording was interrupted here ({why}) at instruction {instructions}, "
        f"after event {len(events) - 1}; replay stopped at the same point\n"
    )


def test_timeout_stops_a_spinning_guest_and_keeps_the_trace(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    started = time.monotonic()
    r = cli("record", guest, "-t", trace, "--timeout", "1")
    assert time.monotonic() - started < 60
    assert r.status == 124
    assert r.stdout == "spinning\n"
    assert r.stderr.startswith("wasm-rr: the guest ran longer than 1 s; the trace keeps")
    assert len(r.stderr.splitlines()) == 1
    t = reader.load(trace)
    events = list(t.events())
    assert t.footer is None
    assert [e.name for e in events] == ["clock.now", "io.write", "journal.stopped"]
    stopped = events[-1]
    assert stopped.answer[0] == "timeout" and stopped.answer[2] == 10**9
    assert stopped.answer[1] >= 10**9  # the nanoseconds it ran
    # Replay runs the guest to the instruction where it was stopped, stops it there, and
    # exits as the recording did.
    r = cli("replay", guest, trace)
    assert (r.status, r.stdout) == (124, "spinning\n")
    assert r.stderr == stop_line("timeout after 1 s", trace)
    r = cli("run", guest, "--no-trace", "--timeout", "0.5")
    assert (r.status, r.stderr) == (124, "wasm-rr: the guest ran longer than 0.5 s\n")


SLEEP = r"""(module
 (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
 (import "wasi_snapshot_preview1" "poll_oneoff" (func $p (param i32 i32 i32 i32) (result i32)))
 (memory (export "memory") 1) (data (i32.const 300) "a\n") (data (i32.const 310) "b\n")
 (func $print (param $at i32)
   (i32.store (i32.const 200) (local.get $at)) (i32.store (i32.const 204) (i32.const 2))
   (drop (call $w (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208))))
 (func (export "_start")
   (call $print (i32.const 300))
   (i64.store (i32.const 24) (i64.load (i32.const 400)))
   (drop (call $p (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))
   (call $print (i32.const 310)))
 (data (i32.const 400) "\00\e1\f5\05\00\00\00\00"))"""
"""Prints a, sleeps 0.1 s (poll_oneoff of one relative clock), prints b."""


def test_timeout_stops_a_guest_sleeping_in_a_host_call(tmp_path: Path) -> None:
    # poll_oneoff of one clock, 2^64-1 ns away.
    wat = r"""(module
     (import "wasi_snapshot_preview1" "poll_oneoff" (func $p (param i32 i32 i32 i32) (result i32)))
     (memory (export "memory") 1)
     (func (export "_start")
       (i64.store (i32.const 24) (i64.const -1))
       (drop (call $p (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128)))))"""
    guest, trace = tmp_path / "sleep.wasm", tmp_path / "s.cbor"
    guest.write_bytes(wasmtime.wat2wasm(wat))
    r = cli("record", guest, "-t", trace, "--timeout", "1")
    assert r.status == 124 and "ran longer than 1 s" in r.stderr
    # Stopped inside the call: replay reaches that call with every instruction used, and
    # stops there.
    [stopped] = reader.load(trace).events()
    assert stopped.name == "journal.stopped" and stopped.fuel > 0  # the call's instruction
    r = cli("replay", guest, trace)
    assert (r.status, r.stderr) == (124, stop_line("timeout after 1 s", trace))


def test_a_recording_stopped_in_a_host_call_resumes_and_replays_whole(tmp_path: Path) -> None:
    guest, trace = tmp_path / "sleep.wasm", tmp_path / "s.cbor"
    guest.write_bytes(wasmtime.wat2wasm(SLEEP.replace("\\00\\e1\\f5\\05", "\\00\\00\\00\\10")))
    r = cli("record", guest, "-t", trace, "--timeout", "0.2")  # sleeps 2^28 ns: stopped in it
    assert (r.status, r.stdout) == (124, "a\n")
    assert [e.name for e in reader.load(trace).events()] == ["io.write", "journal.stopped"]
    r = cli("resume", guest, trace)  # replays a, sleeps (live), prints b
    assert (r.status, r.stdout, r.stderr) == (0, "a\nb\n", "")
    assert [e.name for e in reader.load(trace).events()] == ["io.write", "poll.wait", "io.write"]
    r = cli("replay", guest, trace)
    assert (r.status, r.stdout, r.stderr) == (0, "a\nb\n", "")


@pytest.mark.xfail(
    reason="known bug, filed in the closing note of issue 18: a resume stopped by --timeout "
    "0.001 sometimes rewrites the recording's stop event instead of leaving the trace as it "
    "was (seen in full runs, on a machine with or without load)",
    strict=False,
)
def test_a_resume_stopped_before_the_cut_leaves_the_trace_as_it_was(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    # Three seconds of the guest's spinning (most of it, even on a loaded machine) to replay
    # before the cut: a millisecond is far too short to reach it.
    r = cli("record", guest, "-t", trace, "--timeout", "3")
    assert r.status == 124
    before = trace.read_bytes()
    r = cli("resume", guest, trace, "--timeout", "0.001")
    assert r.status == 124
    assert trace.read_bytes() == before


def test_ctrl_c_stops_a_spinning_guest(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=dict(os.environ),
        preexec_fn=_sigint_default,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"spinning\n"
        recorded(trace, 2)  # the write is in the trace: the guest now spins
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.decode() == (
        "wasm-rr: interrupted; the trace keeps every event recorded so far "
        "(replaying it stops at the cut)\n"
    )
    t = reader.load(trace)
    assert t.footer is None
    [*_, stopped] = t.events()
    assert stopped.name == "journal.stopped" and stopped.answer[0] == "interrupt"
    r = cli("replay", guest, trace)
    assert (r.status, r.stdout) == (130, "spinning\n")
    why = f"Ctrl-C after {stopped.answer[1] / 1e9:.1f} s"
    assert r.stderr == stop_line(why, trace)


def recorded(trace: Path, events: int) -> None:
    """Wait until the trace being recorded holds ``events`` events (a Ctrl-C between a write
    and its event would lose the event: the write happened, its record did not)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if trace.exists() and len(list(reader.load(trace).events())) >= events:
            return
        time.sleep(0.02)
    raise AssertionError(f"{trace} never held {events} events")


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # as a terminal's program gets it


def test_replay_of_a_stopped_recording_stops_at_its_instruction(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    with pytest.raises(GuestTimeout):
        engine.record(guest, trace, run_config(guest), _streams(), timeout=0.3)
    events = list(reader.load(trace).events())
    instructions = sum(e.fuel for e in events)
    # Without the stop, this replay would spin until its own timeout (60 s).
    with pytest.raises(RecordingStoppedError) as e:
        engine.replay(guest, trace, _streams(), timeout=60)
    assert e.value.exit_status == 124 and e.value.seq == 2
    assert f"at instruction {instructions}, after event 2; replay stopped at the same" in str(
        e.value
    )
    # With another wasmtime or another guest, instruction counts are not compared: replay
    # still ends, where the events end.
    with pytest.raises(RecordingStoppedError, match="instruction counts are not compared"):
        engine.replay(guest, trace, _streams(), allow_code_change=True, timeout=60)


def _streams() -> Streams:
    import io

    return Streams(None, io.BytesIO(), io.BytesIO())


CLOCK_THEN_EXIT = r"""(module
 (import "wasi_snapshot_preview1" "clock_time_get" (func $t (param i32 i64 i32) (result i32)))
 (memory (export "memory") 1)
 (func (export "_start") (drop (call $t (i32.const 1) (i64.const 0) (i32.const 32)))))"""


def _clocks_calling(read: object) -> Sources:
    """Reproducible clocks whose monotonic clock runs ``read()`` first (inside the host call)."""
    readers = stepping(0)

    def monotonic() -> int:
        read()  # type: ignore[operator]
        return readers[1]()

    return Sources(clocks=(readers[0], monotonic, readers[2], readers[3]))


def test_sigint_inside_a_host_call_stops_the_run_and_replay_stops_there(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    ctrl_c = _clocks_calling(lambda: os.kill(os.getpid(), signal.SIGINT))
    with pytest.raises(KeyboardInterrupt):
        engine.record(guest, trace, run_config(guest), _streams(), sources=ctrl_c)
    # The clock read never answered: the trace is the stop alone, at the call.
    [stopped] = reader.load(trace).events()
    assert stopped.name == "journal.stopped" and stopped.answer[0] == "interrupt"
    with pytest.raises(RecordingStoppedError, match=r"\(Ctrl-C after .* after event 0;") as e:
        engine.replay(guest, trace, _streams(), timeout=60)
    assert e.value.exit_status == 130


def test_sigint_swallowed_inside_a_host_call_still_stops_the_run(tmp_path: Path) -> None:
    # The signal lands inside a __del__: an exception raised there would be dropped by Python
    # (as at the first instruction of a ctypes callback), and the guest ends normally right
    # after the call. The Ctrl-C is still the run's end.
    guest, trace = tmp_path / "clock.wasm", tmp_path / "c.cbor"
    guest.write_bytes(wasmtime.wat2wasm(CLOCK_THEN_EXIT))

    class Bomb:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(KeyboardInterrupt):
        engine.record(guest, trace, run_config(guest), _streams(), sources=_clocks_calling(Bomb))
    names = [e.name for e in reader.load(trace).events()]
    assert names == ["clock.now", "journal.stopped"]
    with pytest.raises(RecordingStoppedError) as e:
        engine.replay(guest, trace, _streams(), timeout=60)
    assert e.value.exit_status == 130


def test_a_component_stopped_in_a_read_replays_to_that_read(tmp_path: Path) -> None:
    import io

    trace = tmp_path / "c.cbor"
    read_end, write_end = os.pipe()  # stdin that never ends: the guest blocks reading it
    try:
        stdin = os.fdopen(read_end, "rb", buffering=0)
        streams = Streams(stdin, io.BytesIO(), io.BytesIO())
        crashme = guest("crashme.component")
        with pytest.raises(GuestTimeout):
            engine.record(crashme, trace, run_config(crashme), streams, timeout=0.3)
    finally:
        os.close(write_end)
        stdin.close()
    *_, stopped = reader.load(trace).events()
    assert stopped.name == "journal.stopped" and stopped.answer[0] == "timeout"
    with pytest.raises(RecordingStoppedError, match="replay stopped at the same point") as e:
        engine.replay(crashme, trace, _streams(), timeout=60)
    assert e.value.exit_status == 124


@pytest.mark.parametrize("name", ["spin", "crashme.component"])
def test_a_recording_stopped_before_its_guest_ran_replays_to_that_point(
    tmp_path: Path, name: str
) -> None:
    # A Ctrl-C while the trace was being opened: the run is stopped before the guest runs one
    # instruction, and so is its replay (a component is stopped while it is instantiated).
    path = spin(tmp_path) if name == "spin" else guest(name)
    trace = tmp_path / "t.cbor"
    with pytest.raises(KeyboardInterrupt), Watchdog():
        with interrupt.held():
            os.kill(os.getpid(), signal.SIGINT)
        engine.record(path, trace, run_config(path), _streams())
    [stopped] = reader.load(trace).events()
    assert (stopped.name, stopped.fuel) == ("journal.stopped", 0)
    with pytest.raises(RecordingStoppedError, match="at instruction 0, after event 0; replay"):
        engine.replay(path, trace, _streams(), timeout=60)


def test_a_wasm_child_stopped_spinning_is_stopped_in_replay_too(tmp_path: Path) -> None:
    child, trace = spin(tmp_path), tmp_path / "w.cbor"
    procdemo = guest("procdemo")
    r = cli(
        "record", procdemo, "-t", trace, "--run-wasm", f"child={child}", "--timeout", "0.5",
        "--", "wasm", "hi",
    )  # fmt: skip
    assert r.status == 124
    names = [e.name for e in reader.load(trace).events()]
    assert "process.wasm_start" in names and "process.wasm_end" not in names
    assert names[-1] == "journal.stopped"
    r = cli("replay", procdemo, trace)
    assert r.status == 124, r.stderr
    assert r.stderr.startswith("wasm-rr: the recording was interrupted here (timeout after 0.5 s)")
    assert r.stderr.endswith(
        f"replay stopped the wasm child it was running at most {MARGIN} instructions past the "
        "child's last event\n"
    )


def test_a_trace_cut_by_sigkill_replays_no_further_than_a_bound(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasm_rr", "record", str(guest), "-t", str(trace)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"spinning\n"
        recorded(trace, 2)  # the guest now spins
    finally:
        proc.kill()
        proc.wait()
    assert [e.name for e in reader.load(trace).events()] == ["clock.now", "io.write"]
    # The trace says nothing of how far the guest got: replay lets it run a fixed number of
    # instructions past the last event, and says so.
    r = cli("replay", guest, trace)
    assert (r.status, r.stdout) == (125, "spinning\n")
    assert r.stderr == (
        "wasm-rr: the recording was cut off after event 2 (it has no footer: the recorder was "
        "killed or the file truncated); replay reproduced the run up to that point, and "
        f"stopped the guest {MARGIN} instructions past it (the recording holds nothing after "
        "it)\n"
    )


def test_replay_writes_no_compile_cache(tmp_path: Path) -> None:
    guest, trace = spin(tmp_path), tmp_path / "s.cbor"
    record_cache, replay_cache = tmp_path / "rc", tmp_path / "pc"
    env = {"WASM_RR_CACHE": str(record_cache)}
    r = cli("record", guest, "-t", trace, "--timeout", "0.5", env=env)
    assert r.status == 124
    assert list(record_cache.rglob("*.bin")), "record writes its compile cache"
    replay_cache.mkdir()
    r = cli("replay", guest, trace, "--timeout", "0.5", env={"WASM_RR_CACHE": str(replay_cache)})
    assert r.status == 124
    assert list(replay_cache.iterdir()) == []


def test_ctrl_c_while_the_command_line_is_imported_is_one_line_and_130() -> None:
    # The import of wasm_rr.cli is interrupted (as a ^C a tenth of a second after start).
    probe = (
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'wasm_rr.cli':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "from wasm_rr.__main__ import main\n"
        "main()\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", probe, "record", "x.wasm"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert (r.returncode, r.stdout, r.stderr) == (130, "", "wasm-rr: interrupted\n")


def test_a_ctrl_c_held_while_a_trace_is_opened_stops_the_run_at_its_start() -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), Watchdog():  # the command's
        with interrupt.held():
            os.kill(os.getpid(), signal.SIGINT)  # noted, not raised: the trace is being opened
            reached.append("held")
        with Watchdog():  # the run's: it raises the Ctrl-C before anything runs
            reached.append("ran")
    assert reached == ["held"]


def test_where_a_signal_handler_may_raise() -> None:
    def here() -> FrameType:
        return sys._getframe(1)

    def callback() -> tuple[FrameType, bool]:  # named like the ctypes callbacks
        def under() -> bool:
            return interrupt._may_raise(here())

        return here(), under()

    first, under = callback()
    assert not interrupt._may_raise(first)  # not at the callback itself: it has no try yet
    assert under  # in what it calls: its try catches it

    class Finalized:
        raised: bool | None = None

        def __del__(self) -> None:
            Finalized.raised = interrupt._may_raise(here())

    Finalized()
    assert Finalized.raised is False  # anything raised in a __del__ is dropped

    # Python that wasmtime-py calls while wasm runs (here a Func made by wasmtime-py, not one
    # of our callbacks): what it raises would not reach the run.
    store = wasmtime.Store()
    seen: list[bool] = []
    func = wasmtime.Func(store, wasmtime.FuncType([], []), lambda: seen.append(_may_raise_now()))
    func(store)
    assert seen == [False]
    assert _may_raise_now()  # plain Python


def _may_raise_now() -> bool:
    return interrupt._may_raise(sys._getframe(1))
