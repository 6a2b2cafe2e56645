"""minimize: ddmin on pure predicates, and the driver shrinking crashme's args, stdin and files
down to the planted patterns (guests/src/crashme.c)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import wasm_rr
from wasm_rr.crashes import crash_site
from wasm_rr.errors import UsageError
from wasm_rr.minimize import Exhausted, NotFailingError, ddmin, minimize, recorded_inputs
from wasm_rr.trace import reader

from .conftest import MINUTE_NS, NOON, cli, guest, sources

# ---- ddmin on pure predicates -----------------------------------------------------------------


def test_ddmin_finds_the_two_elements_that_matter() -> None:
    assert ddmin(list(range(100)), lambda c: 3 in c and 77 in c) == [3, 77]


def test_ddmin_shrinks_bytes_to_a_buried_pattern() -> None:
    data = bytes(random.Random(0).choice(b"acdefhij") for _ in range(4096))
    data = data[:3000] + b"BUG" + data[3003:]
    assert bytes(ddmin(list(data), lambda c: b"BUG" in bytes(c))) == b"BUG"


def test_ddmin_result_is_1_minimal() -> None:
    result = ddmin([1] * 37, lambda c: sum(c) >= 10)
    assert result == [1] * 10


def test_ddmin_tries_the_empty_input_first() -> None:
    asked: list[list[int]] = []

    def fails(c: list[int]) -> bool:
        asked.append(c)
        return True

    assert ddmin([1, 2, 3], fails) == []
    assert asked == [[]]


def test_ddmin_never_asks_twice_and_reports_each_smaller_input() -> None:
    asked: list[tuple[int, ...]] = []
    sizes: list[int] = []

    def fails(c: list[int]) -> bool:
        asked.append(tuple(c))
        return 5 in c

    assert ddmin(list(range(64)), fails, lambda c: sizes.append(len(c))) == [5]
    assert len(asked) == len(set(asked))
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] == 1


def test_ddmin_stops_when_the_predicate_is_exhausted() -> None:
    calls = 0

    def fails(c: list[int]) -> bool:
        nonlocal calls
        calls += 1
        if calls > 6:
            raise Exhausted
        return 40 in c

    result = ddmin(list(range(100)), fails)
    assert 40 in result and len(result) < 100


# ---- the driver: crashme ------------------------------------------------------------------------

CRASHME = guest("crashme")


def noise(n: int, seed: int = 0) -> bytes:
    """``n`` bytes without the letters of BUG or BOOM."""
    return bytes(random.Random(seed).choice(b"acdefhij \n") for _ in range(n))


def record_crash(
    path: Path, args: tuple[str, ...] = (), stdin: bytes = b"", dirs: tuple[str, ...] = ()
) -> wasm_rr.RecordResult:
    rec = wasm_rr.record(
        CRASHME, args, stdin=stdin, dirs=dirs, trace=path, sources=wasm_rr.seeded_sources(0)
    )
    assert rec.trap is not None
    return rec


def test_a_10kb_stdin_shrinks_to_the_pattern(tmp_path: Path) -> None:
    data = noise(10240)
    data = data[:6000] + b"BUG" + data[6003:]
    rec = record_crash(tmp_path / "t.cbor", stdin=data)
    lines: list[str] = []
    done = minimize(tmp_path / "t.cbor", tmp_path / "min.cbor", CRASHME, progress=lines.append)
    assert done.inputs.stdin == b"BUG"
    assert done.complete
    assert done.summary().startswith(f"minimized stdin 10240 -> 3 bytes in {done.runs} runs; ")
    assert done.summary().endswith(f"same crash site: {crash_site(rec.outcome).describe()}")
    assert "crash_stdin" in done.summary()
    assert lines and lines[-1].startswith("stdin: 3 bytes (run ")
    # The written trace carries its guest, replays alone and ends at the same crash site.
    replayed = wasm_rr.replay(tmp_path / "min.cbor")
    assert crash_site(replayed.outcome) == crash_site(rec.outcome)
    assert recorded_inputs(reader.load(tmp_path / "min.cbor")).stdin == b"BUG"


def test_a_component_shrinks_too(tmp_path: Path) -> None:
    component = CRASHME.with_name("crashme.component.wasm")
    data = noise(500)
    wasm_rr.record(
        component,
        stdin=data[:400] + b"BUG" + data[403:],
        trace=tmp_path / "t.cbor",
        embed_guest=True,
    )
    done = minimize(tmp_path / "t.cbor", tmp_path / "min.cbor")
    assert done.inputs.stdin == b"BUG"
    assert "crash_stdin" in crash_site(wasm_rr.replay(tmp_path / "min.cbor").outcome).describe()


def test_args_are_dropped_and_shortened(tmp_path: Path) -> None:
    record_crash(tmp_path / "t.cbor", args=("one", "xxBOOMyy", "three"), stdin=b"BUG")
    done = minimize(tmp_path / "t.cbor", tmp_path / "min.cbor", CRASHME)
    # The argument crash comes first, so stdin does not matter any more.
    assert done.inputs.args == ("BOOM",)
    assert done.inputs.stdin == b""
    assert "crash_arg" in done.site.describe()
    assert done.summary().startswith("minimized args 3 -> 1 (16 -> 4 chars), stdin 3 -> 0 bytes")
    assert wasm_rr.replay(tmp_path / "min.cbor").trap is not None


def test_files_read_from_a_preopen_shrink(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "sub").mkdir(parents=True)
    content = noise(2000, seed=1)
    (data_dir / "sub" / "in.txt").write_bytes(content[:1500] + b"BUG" + content[1503:])
    record_crash(tmp_path / "t.cbor", args=("@/data/sub/in.txt",), dirs=(f"{data_dir}::/data",))
    done = minimize(tmp_path / "t.cbor", tmp_path / "min.cbor", CRASHME)
    assert [(f.shown, f.data) for f in done.inputs.files] == [("/data/sub/in.txt", b"BUG")]
    assert done.inputs.args == ("@data/sub/in.txt",)  # relative to the preopen "/data"
    assert "file /data/sub/in.txt 2000 -> 3 bytes" in done.summary()
    replayed = wasm_rr.replay(tmp_path / "min.cbor")
    assert "crash_file" in crash_site(replayed.outcome).describe()


def test_recorded_clock_and_random_answers_are_given_again(tmp_path: Path) -> None:
    # timebomb traps when its wall clock reads minute 37; flaky fails on random byte 7.
    at_37 = sources(at_ns=NOON + 37 * MINUTE_NS, first_bytes=b"\x07")
    for name in ("timebomb", "flaky"):
        trace = tmp_path / f"{name}.cbor"
        rec = wasm_rr.record(guest(name), trace=trace, sources=at_37)
        assert rec.failed
        done = minimize(trace, tmp_path / f"{name}.min.cbor", guest(name))
        assert done.summary().startswith("minimized nothing")
        assert wasm_rr.replay(tmp_path / f"{name}.min.cbor").outcome == rec.outcome


def test_a_run_budget_keeps_the_smallest_so_far(tmp_path: Path) -> None:
    data = noise(10240)
    record_crash(tmp_path / "t.cbor", stdin=data[:9000] + b"BUG" + data[9003:])
    done = minimize(tmp_path / "t.cbor", tmp_path / "min.cbor", CRASHME, max_runs=6)
    assert not done.complete and done.runs == 6
    assert "run budget used up" in done.summary()
    assert done.inputs.stdin is not None and b"BUG" in done.inputs.stdin
    assert len(done.inputs.stdin) < 10240
    assert "crash_stdin" in crash_site(wasm_rr.replay(tmp_path / "min.cbor").outcome).describe()


def test_a_run_that_did_not_fail_is_refused(tmp_path: Path) -> None:
    wasm_rr.record(CRASHME, stdin=b"fine", trace=tmp_path / "ok.cbor", embed_guest=True)
    with pytest.raises(NotFailingError, match="did not fail"):
        minimize(tmp_path / "ok.cbor", tmp_path / "min.cbor")
    run = cli("minimize", tmp_path / "ok.cbor", "-o", tmp_path / "min.cbor")
    assert run.status == 125
    assert (
        run.stderr
        == f"wasm-rr: {tmp_path / 'ok.cbor'} did not fail (exit 0); nothing to minimize\n"
    )
    assert not (tmp_path / "min.cbor").exists()


def test_a_cut_off_recording_is_refused(tmp_path: Path) -> None:
    record_crash(tmp_path / "t.cbor", stdin=noise(3000) + b"BUG")
    data = (tmp_path / "t.cbor").read_bytes()
    (tmp_path / "cut.cbor").write_bytes(data[:-200])  # the footer and some events
    with pytest.raises(NotFailingError, match="was cut off"):
        minimize(tmp_path / "cut.cbor", tmp_path / "min.cbor", CRASHME)


def test_a_trace_without_its_guest_needs_one(tmp_path: Path) -> None:
    record_crash(tmp_path / "t.cbor", stdin=b"BUG")
    with pytest.raises(UsageError, match="give the guest too"):
        minimize(tmp_path / "t.cbor", tmp_path / "min.cbor")
    with pytest.raises(UsageError, match="not the one"):
        minimize(tmp_path / "t.cbor", tmp_path / "min.cbor", guest("flaky"))
    with pytest.raises(UsageError, match="the order is: TRACE"):
        minimize(CRASHME, tmp_path / "min.cbor", tmp_path / "t.cbor")
    with pytest.raises(UsageError, match="is the trace being minimized"):
        minimize(tmp_path / "t.cbor", tmp_path / "t.cbor", CRASHME)


def test_cli_minimizes_and_prints_one_summary_line(tmp_path: Path) -> None:
    data = noise(3000)
    wasm_rr.record(
        CRASHME,
        ("keep?",),
        stdin=data[:100] + b"BUG" + data[103:],
        trace=tmp_path / "t.cbor",
        embed_guest=True,
    )
    run = cli("minimize", tmp_path / "t.cbor")
    assert run.status == 0, run.stderr
    out = tmp_path / "t.min.cbor"
    assert run.stdout.startswith("minimized args 1 -> 0 (5 -> 0 chars), stdin 3000 -> 3 bytes in ")
    assert run.stdout.endswith(f"; wrote {out}\n") and run.stdout.count("\n") == 1
    assert all(line.startswith("minimize: ") for line in run.stderr.splitlines())
    assert wasm_rr.replay(out).trap is not None
    quiet = cli("minimize", "-q", tmp_path / "t.cbor", "-o", tmp_path / "q.cbor", "--runs", "3")
    assert quiet.status == 0 and quiet.stderr == ""
    assert "run budget used up" in quiet.stdout


# ---- candidates that run away ------------------------------------------------------------------

# Reads up to 16 bytes of stdin: traps when they hold a `!`, spins forever when there are none.
LOOPER = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $i i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 16))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (if (i32.eqz (i32.load (i32.const 8))) (then (loop $spin (br $spin))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.load (i32.const 8))))
        (if (i32.eq (i32.load8_u (i32.add (i32.const 64) (local.get $i))) (i32.const 33))
          (then unreachable))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
"""


def test_a_candidate_that_loops_is_rejected_not_a_hang(tmp_path: Path) -> None:
    import wasmtime

    wasm = tmp_path / "looper.wasm"
    wasm.write_bytes(wasmtime.wat2wasm(LOOPER))
    trace = tmp_path / "loop.cbor"
    rec = wasm_rr.record(wasm, stdin=b"abc!def", trace=trace, embed_guest=True)
    assert rec.trap is not None
    # ddmin tries the empty stdin first: that run spins until its timeout, and is rejected
    # (every other candidate ends at once: the timeout only needs to be far above that).
    result = minimize(trace, tmp_path / "min.cbor", timeout=2.0)
    assert bytes(result.inputs.stdin) == b"!"


def test_the_default_timeout_follows_the_recorded_run(tmp_path: Path) -> None:
    from dataclasses import replace

    from wasm_rr.minimize import MIN_TIMEOUT, default_timeout

    from .tracetools import rewrite

    trace = tmp_path / "t.cbor"
    wasm_rr.record(guest("greet"), trace=trace)
    start = reader.load(trace).header.start_time_ns
    for took_ns, expected in ((10**8, MIN_TIMEOUT), (3 * 10**9, 60.0)):
        timed = tmp_path / f"took-{took_ns}.cbor"
        rewrite(trace, timed, footer=lambda f, t=took_ns: replace(f, end_time_ns=start + t))
        assert default_timeout(reader.load(timed)) == expected


# ---- the environment ---------------------------------------------------------------------------

# Traps (a division by zero) when MODE contains "BUG" and LEVEL is set; prints otherwise.
ENV_SCRIPT = """
fn contains(s, pat) {
  let m = len(pat)
  for i in 0..len(s) - m + 1 {
    let j = 0
    while j < m and byte_at(s, i + j) == byte_at(pat, j) { j = j + 1 }
    if j == m { return true }
  }
  return false
}
let mode = env.get("MODE")
if contains(mode, "BUG") and env.get("LEVEL") != "" {
  let zero = 0
  print(100 / zero)
}
print("ok: " + mode)
"""


def test_env_values_shrink_and_unneeded_variables_are_dropped(tmp_path: Path) -> None:
    script = tmp_path / "envbug.tape"
    script.write_text(ENV_SCRIPT)
    env = {"HOME": "/home/ann", "MODE": "fast,BUG,quiet", "LEVEL": "verbose", "LANG": "C.UTF-8"}
    trace = tmp_path / "t.cbor"
    rec = wasm_rr.record(script, env=env, trace=trace, embed_guest=True)
    assert rec.trap is not None
    assert recorded_inputs(reader.load(trace)).env == tuple(env.items())
    lines: list[str] = []
    done = minimize(trace, tmp_path / "min.cbor", progress=lines.append)
    (mode, level) = done.inputs.env
    assert mode == ("MODE", "BUG")
    assert level[0] == "LEVEL" and len(level[1]) == 1 and level[1] in "verbose"
    assert done.summary().startswith("minimized env 4 -> 2 (37 -> 4 chars) in ")
    assert "env: 2 (run " in "\n".join(lines) and "env MODE: 3 chars (run " in "\n".join(lines)
    # The written trace holds the smaller environment and fails at the same site on replay.
    small = reader.load(tmp_path / "min.cbor")
    assert small.header.config.env == dict(done.inputs.env)
    assert crash_site(wasm_rr.replay(tmp_path / "min.cbor").outcome) == crash_site(rec.outcome)


def test_cli_minimizes_the_environment(tmp_path: Path) -> None:
    script = tmp_path / "envbug.tape"
    script.write_text(ENV_SCRIPT)
    trace = tmp_path / "t.cbor"
    wasm_rr.record(
        script, env={"MODE": "xxBUGxx", "LEVEL": "1", "X": "y"}, trace=trace, embed_guest=True
    )
    run = cli("minimize", "-q", trace)
    assert run.status == 0, run.stderr
    assert run.stdout.startswith("minimized env 3 -> 2 (9 -> 4 chars) in ")
    assert reader.load(tmp_path / "t.min.cbor").header.config.env == {"MODE": "BUG", "LEVEL": "1"}
