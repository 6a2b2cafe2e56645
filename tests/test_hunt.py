"""hunt: finding flaky failures (seeded, so no test depends on chance), self-contained traces
that replay alone, --all keeping one trace per distinct failure, the budget, --until, local
workers and a Dask LocalCluster, and the command line end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import wasmtime

import wasm_rr
from wasm_rr.errors import RecordingStoppedError, UsageError
from wasm_rr.hunt import HuntReport, hunt

from .conftest import ROOT, guest
from .test_cli import CAT

FLAKY = guest("flaky")
FLAKY_FIRST = 20
"""With --seed 0, flaky's first failing run (seeded_sources(20) rolls 7 mod 32)."""

TWO_WAYS = """
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func $boom unreachable)
  (func (export "_start")
    (local $roll i32)
    (drop (call $random_get (i32.const 0) (i32.const 1)))
    (local.set $roll (i32.and (i32.load8_u (i32.const 0)) (i32.const 7)))
    (if (i32.eq (local.get $roll) (i32.const 1)) (then (call $proc_exit (i32.const 1))))
    (if (i32.eq (local.get $roll) (i32.const 2)) (then (call $boom)))))
"""
"""Fails two ways, by one random byte: exit 1 (1 in 8), an unreachable trap (1 in 8)."""


@pytest.fixture(scope="module")
def two_ways(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("guests") / "two_ways.wasm"
    path.write_bytes(wasmtime.wat2wasm(TWO_WAYS))
    return path


def sites(report: HuntReport) -> list[tuple[str, int, int]]:
    return [(f.site.describe(), f.run, f.count) for f in report.failures]


def test_finds_flakys_failure_and_the_trace_replays_alone(tmp_path: Path) -> None:
    report = hunt(FLAKY, seed=0, runs=500)
    assert report.found and report.stopped == "found"
    first = report.first
    assert first is not None
    assert (first.run, first.seed, report.runs) == (FLAKY_FIRST, FLAKY_FIRST, FLAKY_FIRST + 1)
    assert first.stdout == b"FAIL: expected the answer to be 42, got 7\n"
    assert (first.outcome.exit_code, first.status, first.site.describe()) == (1, 1, "exit 1")
    path = tmp_path / "fail.cbor"
    path.write_bytes(first.trace)
    replayed = wasm_rr.replay(path)  # no guest given: the trace carries it
    assert (replayed.stdout, replayed.exit_code) == (first.stdout, 1)


def test_the_same_seed_finds_the_same_run_and_another_seed_its_own() -> None:
    assert hunt(FLAKY, seed=0, runs=500).first.run == FLAKY_FIRST  # type: ignore[union-attr]
    later = hunt(FLAKY, seed=FLAKY_FIRST + 1, runs=500).first
    assert later is not None and later.run + FLAKY_FIRST + 1 == later.seed


def test_runs_run_out() -> None:
    report = hunt(FLAKY, seed=0, runs=FLAKY_FIRST)
    assert (report.found, report.runs, report.stopped) == (False, FLAKY_FIRST, "runs")


def test_time_runs_out() -> None:
    report = hunt(FLAKY, until="stdout~never", seconds=0.2)
    assert (report.found, report.stopped) == (False, "time")
    assert report.runs >= 1


def test_until_a_stdout_regex_and_progress() -> None:
    seen: list[tuple[int, int]] = []
    report = hunt(
        FLAKY,
        seed=0,
        runs=500,
        until="stdout~'roll was 1[0-9][0-9]$' and exit == 0",
        progress=lambda runs, failed, _s: seen.append((runs, failed)),
    )
    first = report.first
    assert first is not None and first.site.describe() == "exit 0"
    assert first.stdout.startswith(b"ok: roll was 1")
    assert seen[-1] == (report.runs, 1)


def test_all_keeps_one_trace_per_distinct_failure(two_ways: Path, tmp_path: Path) -> None:
    report = hunt(two_ways, seed=0, runs=200, keep_all=True)
    assert report.stopped == "runs" and report.runs == 200
    kinds = sorted(f.site.describe() for f in report.failures)
    assert kinds == ["exit 1", "trap UNREACHABLE at boom@0x86 <- <wasm function 3>@0xb0"]
    assert len({f.site.id for f in report.failures}) == 2
    assert report.failed_runs == sum(f.count for f in report.failures) > 2
    for f in report.failures:
        path = tmp_path / f"fail-{f.site.id}.cbor"
        path.write_bytes(f.trace)
        again = wasm_rr.replay(path)
        assert again.outcome.exit_code == f.outcome.exit_code
        assert (again.trap is None) == (f.outcome.trap is None)


def test_local_workers_find_what_one_process_finds(two_ways: Path) -> None:
    alone = hunt(two_ways, seed=0, runs=300, keep_all=True)
    two = hunt(two_ways, seed=0, runs=300, keep_all=True, jobs=2)
    assert two.workers == 2 and two.runs == 300
    assert sites(two) == sites(alone)


SPIN = '(module (func (export "_start") (loop $l (br $l))))'


def test_a_run_that_hangs_is_a_failure_with_its_trace(tmp_path: Path) -> None:
    spin = tmp_path / "spin.wasm"
    spin.write_bytes(wasmtime.wat2wasm(SPIN))
    report = hunt(spin, seed=7, timeout=0.1)
    assert report.found and report.stopped == "found" and report.runs == 1
    hang = report.first
    assert hang is not None and hang.outcome is None and hang.status == 124
    assert (hang.run, hang.seed, hang.site.kind) == (0, 7, "timeout")
    assert hang.site.describe() == "hang (ran longer than 0.1 s)"
    # The trace ends where the run was stopped, and replays (alone) up to there.
    with pytest.raises(
        RecordingStoppedError, match=r"\(timeout after 0.1 s\) at instruction "
    ) as e:
        wasm_rr.replay(hang.trace, timeout=60)
    assert e.value.exit_status == 124


def test_hangs_are_counted_as_one_failure(tmp_path: Path) -> None:
    spin = tmp_path / "spin.wasm"
    spin.write_bytes(wasmtime.wat2wasm(SPIN))
    report = hunt(spin, seed=0, timeout=0.05, runs=3, keep_all=True)
    assert report.stopped == "runs" and [
        (f.site.kind, f.run, f.count) for f in report.failures
    ] == [("timeout", 0, 3)]


def test_ctrl_c_ends_the_hunt_with_what_it_found(two_ways: Path) -> None:
    def progress(done: int, failed: int, elapsed: float) -> None:
        if failed:  # a Ctrl-C once the first batch found something
            os.kill(os.getpid(), signal.SIGINT)

    report = _ending(lambda: hunt(two_ways, seed=0, runs=100_000, keep_all=True, progress=progress))
    assert report.stopped == "interrupted" and report.found
    assert report.runs < 100_000
    whole = hunt(two_ways, seed=0, runs=report.runs, keep_all=True)
    assert sites(report) == sites(whole)  # every failure of the runs done is kept
    for f in report.failures:
        assert wasm_rr.replay(f.trace).trap is not None or f.status == 1


def test_ctrl_c_swallowed_between_runs_still_ends_the_hunt(two_ways: Path) -> None:
    class Bomb:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGINT)  # raised inside a __del__: Python drops it

    def progress(done: int, failed: int, elapsed: float) -> None:
        Bomb()

    report = _ending(lambda: hunt(two_ways, seed=0, runs=3000, keep_all=True, progress=progress))
    assert report.stopped == "interrupted" and report.runs < 3000


def _ending(run: Callable[[], HuntReport]) -> HuntReport:
    """``run()``, failing the test (not ending the session) if the Ctrl-C escapes it."""
    try:
        return run()
    except KeyboardInterrupt:
        pytest.fail("the Ctrl-C escaped the hunt: what it found is lost")


def test_bad_usage_is_a_usage_error() -> None:
    for kwargs in ({"until": "exit 3"}, {"runs": 0}, {"seconds": 0.0}, {"jobs": 0}):
        with pytest.raises(UsageError):
            hunt(FLAKY, **kwargs)  # type: ignore[arg-type]


def test_a_dask_cluster_finds_what_one_process_finds(cluster: str, two_ways: Path) -> None:
    alone = hunt(two_ways, seed=0, runs=300, keep_all=True)
    on_cluster = hunt(two_ways, seed=0, runs=300, keep_all=True, cluster=cluster)
    assert on_cluster.workers == 2 and on_cluster.runs == 300
    assert sites(on_cluster) == sites(alone)


# ---- the command line ------------------------------------------------------------------------


def wasm_rr_cli(*args: str | Path, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    """The installed ``wasm-rr`` command (next to this Python), in a subprocess."""
    script = Path(sys.executable).parent / "wasm-rr"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "wasm_rr"]
    return subprocess.run(
        [*command, *map(str, args)],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_cli_hunt_then_replay(tmp_path: Path) -> None:
    out = tmp_path / "flaky.cbor"
    run = wasm_rr_cli("hunt", FLAKY, "-o", out, "--seed", "0")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"found a failure after {FLAKY_FIRST + 1} runs (")
    assert lines[0].endswith(f"exit 1 (run 20, seed 20); replay: wasm-rr replay {out}")
    assert lines[1] == "  stdout| FAIL: expected the answer to be 42, got 7"
    assert run.stderr == ""
    replayed = wasm_rr_cli("replay", out)
    assert (replayed.returncode, replayed.stdout) == (
        1,
        "FAIL: expected the answer to be 42, got 7\n",
    )


def test_cli_all_writes_a_directory(two_ways: Path, tmp_path: Path) -> None:
    out = tmp_path / "fails"
    run = wasm_rr_cli("hunt", two_ways, "-o", out, "--all", "--runs", "100", "--seed", "0")
    assert run.returncode == 0, run.stderr
    traces = sorted(p.name for p in out.glob("fail-*.cbor"))
    assert len(traces) == 2
    assert run.stdout.splitlines()[0].startswith("2 distinct failures in 100 runs (")
    assert (out / "report.txt").read_text() == run.stdout
    for name in traces:
        assert name[len("fail-") : -len(".cbor")] in run.stdout
        assert wasm_rr_cli("replay", out / name).returncode in (1, 134)


def test_cli_stdin_goes_to_every_run(tmp_path: Path) -> None:
    cat = tmp_path / "cat.wasm"
    cat.write_bytes(wasmtime.wat2wasm(CAT))
    (tmp_path / "in.txt").write_bytes(b"some input\n")
    out = tmp_path / "c.cbor"
    for stdin_args, stdin in (
        (["--stdin", tmp_path / "in.txt"], b""),
        (["--stdin", "-"], b"some input\n"),
    ):
        run = wasm_rr_cli(
            "hunt", cat, "-o", out, "--until", "stdout~input", *stdin_args, stdin=stdin
        )
        assert run.returncode == 0, run.stderr
        assert "found a failure after 1 run (" in run.stdout
        assert wasm_rr.replay(out).stdout == b"some input\n"
    run = wasm_rr_cli("hunt", cat, "-o", out, "--stdin", tmp_path / "missing")
    assert run.returncode == 125 and "--stdin" in run.stderr


def test_cli_keeps_a_hang_and_its_trace_replays_to_where_it_stopped(tmp_path: Path) -> None:
    spin = tmp_path / "spin.wasm"
    spin.write_bytes(wasmtime.wat2wasm(SPIN))
    out = tmp_path / "hang.cbor"
    run = wasm_rr_cli("hunt", spin, "-o", out, "--timeout", "0.2", "--seed", "3")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("found a failure after 1 run (")
    assert run.stdout.rstrip().endswith(
        f"hang (ran longer than 0.2 s) (run 0, seed 3); replay: wasm-rr replay {out}"
    )
    replayed = wasm_rr_cli("replay", out)
    assert replayed.returncode == 124
    assert replayed.stderr.startswith(
        "wasm-rr: the recording was interrupted here (timeout after 0.2 s) at instruction "
    )
    assert replayed.stderr.endswith(", after event 0; replay stopped at the same point\n")


def test_cli_budget_runs_out(tmp_path: Path) -> None:
    run = wasm_rr_cli(
        "hunt", FLAKY, "-o", tmp_path / "x.cbor", "--runs", "5", "--until", "stdout~never"
    )
    assert run.returncode == 1 and run.stdout.startswith("no failure in 5 runs (")
    assert run.stdout.rstrip().endswith("the runs ran out")
    assert not (tmp_path / "x.cbor").exists()


def test_cli_bad_usage_is_one_line_and_125(tmp_path: Path) -> None:
    for args in (
        ["--until", "exit 3"],
        ["--cluster", "nonsense"],
        ["--jobs", "2", "--cluster", "tcp://127.0.0.1:8786"],
        ["--runs", "0"],
    ):
        run = wasm_rr_cli("hunt", FLAKY, "-o", tmp_path / "x.cbor", *args)
        lines = run.stderr.splitlines()
        assert run.returncode == 125 and len(lines) == 1, run.stderr
        assert lines[0].startswith("wasm-rr: ")
    run = wasm_rr_cli("hunt", FLAKY, "-o", tmp_path, "--runs", "1")
    assert run.returncode == 125 and "is a directory" in run.stderr


def test_cli_on_a_cluster_and_nothing_imports_dask_without_one(
    cluster: str, tmp_path: Path
) -> None:
    out = tmp_path / "c.cbor"
    run = wasm_rr_cli("hunt", FLAKY, "-o", out, "--seed", "0", "--cluster", cluster)
    assert run.returncode == 0, run.stderr
    assert wasm_rr.replay(out).stdout == b"FAIL: expected the answer to be 42, got 7\n"
    probe = (
        "import sys\n"
        "from wasm_rr import cli\n"
        "try:\n"
        f"    cli.main(['hunt', {str(FLAKY)!r}, '-o', {str(tmp_path / 'p.cbor')!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env={**os.environ},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]"
