"""The WASI 0.2 component host: every guest as a component records and replays through the same
world and the same trace format as the preview1 host, and behaves as wasmtime's own WASI."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import pytest
import wasmtime
from wasmtime import component as wcomponent

from wasm_rr import engine, errors
from wasm_rr.abi import engines, p2
from wasm_rr.trace import load
from wasm_rr.world import Streams, live_world

from ...conftest import GUESTS, MINUTE_NS, NOON, Captured, record, replay, run_config, sources
from ...tracetools import rewrite


def component(name: str) -> Path:
    path = GUESTS / f"{name}.component.wasm"
    assert path.exists(), f"{path} missing: run `make guests`"
    return path


def wat_component(tmp_path: Path, name: str, wat: str) -> Path:
    path = tmp_path / f"{name}.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm(wat)))
    return path


def streams(stdin: bytes | None = None) -> tuple[Streams, io.BytesIO, io.BytesIO]:
    out, err = io.BytesIO(), io.BytesIO()
    return Streams(io.BytesIO(stdin) if stdin is not None else None, out, err), out, err


def record_dirs(
    path: Path, trace: Path, args: list[str], dirs: list[tuple[str, str, bool]]
) -> Captured:
    s, out, err = streams()
    result = engine.record(path, trace, run_config(path, args, {}, dirs), s)
    return Captured(result, out.getvalue(), err.getvalue())


def kinds(trace: Path) -> list[str]:
    return [e.name for e in load(trace).events()]


# ---- every C guest, as a component ---------------------------------------------------------------

DEMOS = ["dice", "counter", "entropy", "flaky", "greet", "timebomb", "p1probe"]


@pytest.mark.parametrize("name", [*DEMOS, "bench_clock", "bench_random"])
def test_component_replays_byte_identically(name: str, tmp_trace: Path) -> None:
    args = ["2000"] if name.startswith("bench") else []
    rec = record(component(name), tmp_trace, args=args, env={"NAME": "ann"})
    assert rec.result.outcome.exit_code == 0 or name in ("flaky", "timebomb")
    assert load(tmp_trace).header.guest_kind == "component"
    rep = replay(component(name), tmp_trace)
    assert rep.stdout == rec.stdout and rep.stderr == rec.stderr
    assert rep.result.outcome == rec.result.outcome
    assert rep.result.events == rec.result.events == load(tmp_trace).footer.events  # type: ignore[union-attr]


@pytest.mark.parametrize("name", ["dice", "entropy", "greet", "counter", "timebomb"])
def test_module_and_component_record_the_same_events(name: str, tmp_path: Path) -> None:
    """One world, one trace: the same behaviour gives the same kinds of events, in the same
    order, whether the guest is a core module or a component."""
    module_trace, component_trace = tmp_path / "m.cbor", tmp_path / "c.cbor"
    # The same clocks and random for both: the same answers, so the same output.
    m = record(name, module_trace, env={"NAME": "ann"}, sources=sources(seed=9))
    c = record(component(name), component_trace, env={"NAME": "ann"}, sources=sources(seed=9))
    assert kinds(module_trace) == kinds(component_trace)
    assert m.stdout == c.stdout
    dice_kinds = {"clock.now", "random.bytes", "io.write"}
    if name == "dice":
        assert dice_kinds <= set(kinds(component_trace))


def test_wordcount_module_and_component_traces_hold_the_same_events(tmp_path: Path) -> None:
    """Reading a file: the component's reads (read-via-stream, blocking-read) reach the world
    as the module's fd_read do, question and answer alike."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "book.txt").write_bytes(b"one two three\nfour five\n")
    dirs = [(str(data), "/data", True)]
    m = record_dirs(GUESTS / "wordcount.wasm", tmp_path / "m.cbor", ["/data/book.txt"], dirs)
    c = record_dirs(component("wordcount"), tmp_path / "c.cbor", ["/data/book.txt"], dirs)
    assert m.stdout == c.stdout == b"lines: 2\nwords: 5\nchars: 24\n"

    def answers(trace: Path) -> list[tuple[int, tuple[object, ...]]]:
        # argv[0] is the file name, which differs; everything else is the same.
        return [
            (e.name, (e.fields[0][1:],) if e.name == "cli.args" else tuple(e.fields))
            for e in load(trace).events()
        ]

    assert answers(tmp_path / "m.cbor") == answers(tmp_path / "c.cbor")
    assert replay(component("wordcount"), tmp_path / "c.cbor").stdout == c.stdout


def test_replay_reads_nothing_from_the_world(
    tmp_trace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = record(component("dice"), tmp_trace)
    rec2 = record(component("entropy"), tmp_trace.with_name("e.cbor"))

    def forbidden(*_: object) -> int:
        raise AssertionError("replay touched the outside world")

    for name in ("time_ns", "monotonic_ns", "process_time_ns", "thread_time_ns", "sleep"):
        monkeypatch.setattr(time, name, forbidden)
    monkeypatch.setattr(os, "urandom", forbidden)
    monkeypatch.setattr(os, "environ", {})
    assert replay(component("dice"), tmp_trace).stdout == rec.stdout
    assert replay(component("entropy"), tmp_trace.with_name("e.cbor")).stdout == rec2.stdout


def test_exit_status_of_a_failing_component(tmp_trace: Path) -> None:
    """``proc_exit(1)`` goes through the adapter's ``wasi:cli/exit.exit(err)``: status 1."""
    rec = record(component("flaky"), tmp_trace, sources=sources(first_bytes=b"\x07"))
    assert rec.result.outcome.exit_code == 1
    assert rec.stdout == b"FAIL: expected the answer to be 42, got 7\n"
    assert [e.fields for e in load(tmp_trace).events() if e.name == "cli.exit"] == [(1,)]
    rep = replay(component("flaky"), tmp_trace)
    assert rep.stdout == rec.stdout and rep.result.outcome.exit_code == 1


def test_trap_names_detonate_and_matches_the_module(tmp_path: Path) -> None:
    at_37 = NOON + 37 * MINUTE_NS  # 12:37 UTC: timebomb explodes
    m = record("timebomb", tmp_path / "m.cbor", sources=sources(at_ns=at_37))
    c = record(component("timebomb"), tmp_path / "c.cbor", sources=sources(at_ns=at_37))
    trap = c.result.outcome.trap
    module_trap = m.result.outcome.trap
    assert trap is not None and module_trap is not None
    assert (trap.code, trap.message) == (module_trap.code, module_trap.message)
    assert trap.code == "UNREACHABLE"
    names = [f[1] for f in trap.frames]
    assert names[:3] == ["detonate", "main", "__main_void"]
    assert load(tmp_path / "c.cbor").footer.outcome == c.result.outcome  # type: ignore[union-attr]
    assert replay(component("timebomb"), tmp_path / "c.cbor").result.outcome == c.result.outcome


# ---- drift: errors raised by the world leave run_component unchanged -----------------------------


def test_drift_errors_propagate(tmp_path: Path) -> None:
    trace = tmp_path / "dice.cbor"
    record(component("dice"), trace)
    swapped = tmp_path / "swapped.cbor"
    rewrite(trace, swapped, events=lambda evs: [evs[1], evs[0], *evs[2:]])
    with pytest.raises(errors.KindMismatchError) as exc:
        replay(component("dice"), swapped)
    assert str(exc.value).startswith(
        "seq 1: kind mismatch: the recording has random.bytes(), this run called clock.now(0)"
    )
    cut = tmp_path / "cut.cbor"
    rewrite(trace, cut, events=lambda evs: evs[:2])
    with pytest.raises(errors.EndOfTraceError) as end:
        replay(component("dice"), cut)
    assert end.value.seq == 3


def test_output_mismatch_on_replay(tmp_path: Path) -> None:
    trace = tmp_path / "greet.cbor"
    record(component("greet"), trace, env={"NAME": "ann"})
    bad = tmp_path / "bad.cbor"

    def edit(evs: list[object]) -> list[object]:
        from dataclasses import replace

        out = []
        for e in evs:
            if e.name == "io.write":  # type: ignore[attr-defined]
                e = replace(e, fields=(1, b"hello, bob\n", 11))  # type: ignore[type-var]
            out.append(e)
        return out

    rewrite(trace, bad, events=edit)  # type: ignore[arg-type]
    with pytest.raises(errors.OutputMismatchError):
        replay(component("greet"), bad)


def test_interrupt_from_the_world_is_reraised(tmp_path: Path) -> None:
    from wasm_rr.engine import load_guest

    s, _, _ = streams()
    world = live_world(run_config("dice"), s)

    def interrupted(clock_id: int) -> int:
        raise KeyboardInterrupt

    world.clocks.now = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        p2.run_component(load_guest(component("dice")), world)


def test_a_trap_raised_in_a_raw_callback_is_the_outcome(tmp_path: Path) -> None:
    """get-random-bytes is a raw callback (no wrapper catches for it): a GuestTrap raised
    under it ends the run as a trap, and the guest runs no further."""
    from wasm_rr.abi.outcome import GuestTrap
    from wasm_rr.engine import load_guest

    s, out, _ = streams()
    world = live_world(run_config("entropy"), s)

    def refused(n: int) -> bytes:
        raise GuestTrap(f"no {n} bytes today")

    world.random.secure = refused  # type: ignore[method-assign]
    outcome = p2.run_component(load_guest(component("entropy")), world)
    assert outcome.trap is not None and "no 16 bytes today" in outcome.trap.message
    assert out.getvalue() == b""


# ---- behaviour matches wasmtime's own WASI 0.2 (add_wasip2) -------------------------------------


def stock_wasip2(
    path: Path,
    args: list[str],
    out: Path,
    dirs: list[tuple[str, str]] = (),  # type: ignore[assignment]
) -> object:
    eng = wasmtime.Engine()
    comp = wcomponent.Component(eng, path.read_bytes())
    linker = wcomponent.Linker(eng)
    linker.add_wasip2()
    store = wasmtime.Store(eng)
    cfg = wasmtime.WasiConfig()
    cfg.argv = [path.name, *args]
    cfg.stdout_file = str(out)
    for host, guest in dirs:
        cfg.preopen_dir(host, guest)
    store.set_wasi(cfg)
    inst = linker.instantiate(store, comp)
    run = comp.get_export_index("wasi:cli/run@0.2.12")
    func = inst.get_func(store, comp.get_export_index("run", run))  # type: ignore[arg-type]
    assert func is not None
    try:
        return func(store)
    except wasmtime.WasmtimeError as exc:
        return exc


def test_p1probe_component_matches_wasmtime(tmp_path: Path) -> None:
    ours = record(component("p1probe"), tmp_path / "p.cbor")
    stock_wasip2(component("p1probe"), [], tmp_path / "stock.out")
    assert ours.stdout == (tmp_path / "stock.out").read_bytes()
    assert b"p1probe: done" in ours.stdout


def test_fstour_component_matches_wasmtime(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    rec = record_dirs(
        component("fstour"), tmp_path / "t.cbor", ["/scratch"], [(str(mine), "/scratch", False)]
    )
    stock_wasip2(
        component("fstour"), ["/scratch"], tmp_path / "stock.out", [(str(theirs), "/scratch")]
    )
    assert rec.result.outcome.exit_code == 0
    assert rec.stdout == (tmp_path / "stock.out").read_bytes()
    assert rec.stdout.endswith(b"fstour: done\n")
    trace_kinds = set(kinds(tmp_path / "t.cbor"))
    assert any(k.startswith("fs.") for k in trace_kinds)
    # Replay touches no file: it runs with the scratch directory gone.
    shutil.rmtree(mine)
    rep = replay(component("fstour"), tmp_path / "t.cbor")
    assert rep.stdout == rec.stdout and rep.result.outcome == rec.result.outcome


def test_fsprobe_component_matches_wasmtime(tmp_path: Path) -> None:
    """fsprobe hands path_open a path that is not UTF-8: the adapter passes it on as a
    ``string`` and the canonical ABI traps, under wasmtime's WASI as under ours."""
    from tests.fsfixture import build_fixture

    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    build_fixture(mine)
    build_fixture(theirs)
    rec = record_dirs(
        component("fsprobe"), tmp_path / "t.cbor", [], [(str(mine), "/sandbox", False)]
    )
    stock = stock_wasip2(
        component("fsprobe"), [], tmp_path / "stock.out", [(str(theirs), "/sandbox")]
    )
    assert rec.stdout == (tmp_path / "stock.out").read_bytes()
    trap = rec.result.outcome.trap
    assert trap is not None and isinstance(stock, wasmtime.WasmtimeError)
    assert trap.message in str(stock)
    rep = replay(component("fsprobe"), tmp_path / "t.cbor")
    assert rep.stdout == rec.stdout and rep.result.outcome == rec.result.outcome


# ---- versions, unknown imports, stdin, polling, exits: small components written in WAT ----------

# Imports wasi:sockets (which the host does not provide) and wasi:clocks, both @0.2.0. "run"
# reads the clock twice and never calls the socket function; "run-calls" calls it.
UNKNOWN = """
(component
  (import "wasi:sockets/network@0.2.0" (instance $net (export "network" (type (sub resource)))))
  (alias export $net "network" (type $network))
  (import "wasi:sockets/instance-network@0.2.0" (instance $inet
    (alias outer 1 $network (type $t))
    (export "network" (type $n (eq $t)))
    (export "instance-network" (func (result (own $n))))))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $mono
    (export "now" (func (result u64)))))
  (core func $inet (canon lower (func $inet "instance-network")))
  (core func $now (canon lower (func $mono "now")))
  (core module $m
    (import "" "inet" (func $inet (result i32)))
    (import "" "now" (func $now (result i64)))
    (func (export "run") (result i32)
      (drop (call $now))
      (drop (call $now))
      i32.const 0)
    (func (export "run-calls") (result i32)
      (drop (call $now))
      (drop (call $inet))
      i32.const 0))
  (core instance $i (instantiate $m (with "" (instance
    (export "inet" (func $inet)) (export "now" (func $now))))))
  (func $run (result (result)) (canon lift (core func $i "RUN")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi))
)
"""


def test_unknown_import_traps_only_when_called(tmp_path: Path) -> None:
    idle = wat_component(tmp_path, "idle", UNKNOWN.replace('"RUN"', '"run"'))
    calls = wat_component(tmp_path, "calls", UNKNOWN.replace('"RUN"', '"run-calls"'))
    ok = record(idle, tmp_path / "idle.cbor")
    assert ok.result.outcome.exit_code == 0
    assert kinds(tmp_path / "idle.cbor") == ["clock.now", "clock.now"]
    bad = record(calls, tmp_path / "calls.cbor")
    trap = bad.result.outcome.trap
    assert trap is not None
    assert trap.message == (
        "unknown import: `wasi:sockets/instance-network@0.2.0#instance-network` "
        "has not been defined"
    )
    assert kinds(tmp_path / "calls.cbor") == ["clock.now"]
    assert replay(calls, tmp_path / "calls.cbor").result.outcome == bad.result.outcome


def test_wasi_0_2_0_component_links(tmp_path: Path) -> None:
    """dice, its imports rewritten from @0.2.12 to @0.2.0 (see guests/build.py), runs as the
    original does: the host registers each interface under the version the guest imports."""
    old = component("dice-wasi0.2.0")
    eng = engines.component_engine()
    names = wcomponent.Component(eng, old.read_bytes()).type.imports(eng)
    assert names and all("@0.2.0" in n for n in names)
    rec = record(old, tmp_path / "old.cbor")
    new = record(component("dice"), tmp_path / "new.cbor")
    assert rec.result.outcome.exit_code == 0
    assert kinds(tmp_path / "old.cbor") == kinds(tmp_path / "new.cbor")
    assert rec.stdout.startswith(b"time: ") and new.stdout.startswith(b"time: ")
    assert replay(old, tmp_path / "old.cbor").stdout == rec.stdout


# cat: stdin to stdout in 7-byte reads (wasi:cli/stdin, stdout; io/streams blocking-read and
# blocking-write-and-flush, with a bump allocator as realloc).
CAT = """
(component
  (import "wasi:io/error@0.2.0" (instance $error (export "error" (type (sub resource)))))
  (alias export $error "error" (type $err))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer 1 $err (type $e))
    (export "error" (type $error (eq $e)))
    (export "input-stream" (type $in (sub resource)))
    (export "output-stream" (type $out (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $error)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $in)) (param "len" u64)
            (result (result (list u8) (error $stream-error)))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $out)) (param "contents" (list u8))
            (result (result (error $stream-error)))))))
  (alias export $streams "input-stream" (type $in))
  (alias export $streams "output-stream" (type $out))
  (import "wasi:cli/stdin@0.2.0" (instance $stdin
    (alias outer 1 $in (type $i))
    (export "input-stream" (type $i2 (eq $i)))
    (export "get-stdin" (func (result (own $i2))))))
  (import "wasi:cli/stdout@0.2.0" (instance $stdout
    (alias outer 1 $out (type $o))
    (export "output-stream" (type $o2 (eq $o)))
    (export "get-stdout" (func (result (own $o2))))))
  (core module $mem
    (memory (export "memory") 2)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next)
                                 (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
      (local.get $p)))
  (core instance $m (instantiate $mem))
  (alias core export $m "memory" (core memory $memory))
  (alias core export $m "realloc" (core func $realloc))
  (core func $get-stdin (canon lower (func $stdin "get-stdin")))
  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $read (canon lower (func $streams "[method]input-stream.blocking-read")
                              (memory $memory) (realloc $realloc)))
  (core func $write (canon lower (func $streams "[method]output-stream.blocking-write-and-flush")
                               (memory $memory)))
  (core module $main
    (import "" "memory" (memory 1))
    (import "" "get-stdin" (func $get-stdin (result i32)))
    (import "" "get-stdout" (func $get-stdout (result i32)))
    (import "" "read" (func $read (param i32 i64 i32)))
    (import "" "write" (func $write (param i32 i32 i32 i32)))
    (func (export "run") (result i32)
      (local $in i32) (local $out i32)
      (local.set $in (call $get-stdin))
      (local.set $out (call $get-stdout))
      (block $done
        (loop $again
          (call $read (local.get $in) (i64.const 7) (i32.const 0))
          (br_if $done (i32.load8_u (i32.const 0)))
          (call $write (local.get $out) (i32.load (i32.const 4)) (i32.load (i32.const 8))
                       (i32.const 16))
          (br $again)))
      (i32.const 0)))
  (core instance $i (instantiate $main (with "" (instance
    (export "memory" (memory $memory))
    (export "get-stdin" (func $get-stdin))
    (export "get-stdout" (func $get-stdout))
    (export "read" (func $read))
    (export "write" (func $write))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi))
)
"""


def test_stdin_is_recorded_and_not_read_on_replay(tmp_path: Path) -> None:
    cat = wat_component(tmp_path, "cat", CAT)
    text = b"the quick brown fox\njumps\n"
    rec = record(cat, tmp_path / "cat.cbor", stdin=text)
    assert rec.stdout == text
    reads = [e.fields for e in load(tmp_path / "cat.cbor").events() if e.name == "io.read"]
    assert reads[0] == (0, 7, b"the qui") and reads[-1] == (0, 7, b"")
    rep = replay(cat, tmp_path / "cat.cbor")  # no stdin at all
    assert rep.stdout == text


# poller: two monotonic pollables (10 s and 200 ms) polled together, then
# exit-with-code(3) when only the second is ready.
POLLER = """
(component
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "poll" (func (param "in" (list (borrow $p))) (result (list u32))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:clocks/monotonic-clock@0.2.0" (instance $mono
    (alias outer 1 $pollable (type $p))
    (export "pollable" (type $p2 (eq $p)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $p2))))))
  (import "wasi:cli/exit@0.2.0" (instance $exit
    (export "exit-with-code" (func (param "status-code" u8)))))
  (core module $mem
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (local.set $p (global.get $next))
      (global.set $next (i32.add (global.get $next)
                                 (i32.and (i32.add (local.get 3) (i32.const 7)) (i32.const -8))))
      (local.get $p)))
  (core instance $m (instantiate $mem))
  (alias core export $m "memory" (core memory $memory))
  (alias core export $m "realloc" (core func $realloc))
  (core func $subscribe (canon lower (func $mono "subscribe-duration")))
  (core func $poll (canon lower (func $poll "poll") (memory $memory) (realloc $realloc)))
  (core func $exit (canon lower (func $exit "exit-with-code")))
  (core module $main
    (import "" "memory" (memory 1))
    (import "" "subscribe" (func $subscribe (param i64) (result i32)))
    (import "" "poll" (func $poll (param i32 i32 i32)))
    (import "" "exit" (func $exit (param i32)))
    (func (export "run") (result i32)
      (i32.store (i32.const 16) (call $subscribe (i64.const 10000000000)))
      (i32.store (i32.const 20) (call $subscribe (i64.const 200000000)))
      (call $poll (i32.const 16) (i32.const 2) (i32.const 32))
      (if (i32.and (i32.eq (i32.load (i32.const 36)) (i32.const 1))
                   (i32.eq (i32.load (i32.load (i32.const 32))) (i32.const 1)))
        (then (call $exit (i32.const 3))))
      (i32.const 1)))
  (core instance $i (instantiate $main (with "" (instance
    (export "memory" (memory $memory))
    (export "subscribe" (func $subscribe))
    (export "poll" (func $poll))
    (export "exit" (func $exit))))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $runi (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $runi))
)
"""


def test_polling_two_pollables_sleeps_once_and_replays_without_sleeping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import select
    import threading

    poller = wat_component(tmp_path, "poller", POLLER)
    sleeps: list[float] = []
    real_sleep = time.sleep

    def spy(seconds: float) -> None:
        if threading.current_thread() is threading.main_thread():
            sleeps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", spy)
    t0 = time.monotonic()
    rec = record(poller, tmp_path / "p.cbor")
    assert time.monotonic() - t0 >= 0.2  # it waited for the 200 ms pollable...
    assert sleeps and sum(sleeps) <= 0.2  # ...and for no more (not the 10 s one)
    monkeypatch.undo()
    assert rec.result.outcome.exit_code == 3
    assert kinds(tmp_path / "p.cbor") == ["clock.now", "clock.now", "poll.wait", "cli.exit"]

    def no_waiting(*_: object) -> None:
        raise AssertionError("replay waited")

    monkeypatch.setattr(time, "sleep", no_waiting)
    monkeypatch.setattr(select, "select", no_waiting)
    assert replay(poller, tmp_path / "p.cbor").result.outcome.exit_code == 3


def test_run_component_contract(tmp_path: Path) -> None:
    """Compile errors are one-line GuestLoadErrors; a component without wasi:cli/run too."""
    from wasm_rr.engine import Guest

    s, _, _ = streams()
    world = live_world(run_config("x"), s)
    broken = Guest("broken.wasm", "broken.wasm", b"\0asm\x0d\0\x01\0garbage", "component", "")
    with pytest.raises(errors.GuestLoadError) as exc:
        p2.run_component(broken, world)
    assert str(exc.value).startswith("broken.wasm does not compile: ")
    assert "\n" not in str(exc.value)
    empty = bytes(wasmtime.wat2wasm("(component)"))
    with pytest.raises(errors.GuestLoadError, match=r"exports no `wasi:cli/run@0\.2\.x`"):
        p2.run_component(Guest("e.wasm", "e.wasm", empty, "component", ""), world)
