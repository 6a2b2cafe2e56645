"""The pytest plugin (wasm_rr.pytest_plugin), run on small test files with pytester: record on
first use, replay afterwards, the record modes, and drift reported as a failure."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wasm_rr.pytest_plugin import RecordMode

from .conftest import guest

pytest_plugins = ["pytester"]

GREET, ENTROPY, CRASHME = guest("greet"), guest("entropy"), guest("crashme")

CASSETTE = f"""
import os
from pathlib import Path

def test_greet(wasm_rr_run):
    result = wasm_rr_run({str(GREET)!r}, env={{"NAME": os.environ["WHO"]}})
    assert result.stdout == b"hello, ann\\n"

def test_entropy(wasm_rr_run):
    result = wasm_rr_run({str(ENTROPY)!r})
    with open("entropy.out", "ab") as out:
        out.write(result.stdout)
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """``run(pytester, *args)`` without the faulthandler plugin: the inner pytest runs in
    this process, and its faulthandler, disabled at its end, would put back the signal handlers
    of before wasmtime installed its own; the next wasm trap in this process (a SIGILL) would
    then kill it."""
    return pytester.runpytest("-p", "no:faulthandler", *args)


def traces(pytester: pytest.Pytester) -> dict[str, int]:
    folder = pytester.path / "wasm_rr_traces"
    return {
        str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*.cbor"))
    }


def test_first_run_records_then_replays(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_cassette=CASSETTE)
    monkeypatch.setenv("WHO", "ann")
    run(pytester).assert_outcomes(passed=2)
    recorded = traces(pytester)
    assert list(recorded) == ["test_cassette/test_entropy.cbor", "test_cassette/test_greet.cbor"]
    # The environment changed and the random source answers other bytes: replay gives the
    # guests what they got when recorded.
    monkeypatch.setenv("WHO", "bob")
    run(pytester).assert_outcomes(passed=2)
    assert traces(pytester) == recorded
    first, second = (pytester.path / "entropy.out").read_bytes().splitlines()
    assert first == second and first.startswith(b"entropy: ")
    # all records again: the live environment is seen, and the trace is rewritten.
    run(pytester, "--wasm-rr-mode=all", "-k", "entropy").assert_outcomes(passed=1)
    again = traces(pytester)
    assert again["test_cassette/test_entropy.cbor"] != recorded["test_cassette/test_entropy.cbor"]
    assert (pytester.path / "entropy.out").read_bytes().splitlines()[2] != first


def test_mode_none_fails_without_a_trace(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cassette=CASSETTE.replace('os.environ["WHO"]', '"ann"'))
    result = run(pytester, "--wasm-rr-mode=none")
    result.assert_outcomes(failed=2)
    path = pytester.path / "wasm_rr_traces" / "test_cassette" / "test_greet.cbor"
    result.stdout.fnmatch_lines([f"*wasm-rr: no trace {path} to replay (mode none)*"])
    assert not (pytester.path / "wasm_rr_traces").exists()


def test_ini_option_and_marker_choose_the_mode(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nwasm_rr_mode = none\n")
    pytester.makepyfile(
        test_marked=f"""
import pytest

@pytest.mark.wasm_rr(mode="once")
def test_marked(wasm_rr_run):
    assert wasm_rr_run({str(GREET)!r}).stdout == b"hello, world\\n"

def test_unmarked(wasm_rr_run):
    wasm_rr_run({str(GREET)!r})
"""
    )
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*no trace*test_unmarked.cbor to replay (mode none)*"])


def test_a_changed_stdin_drifts(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(
        test_stdin=f"""
import os

def test_count(wasm_rr_run):
    wasm_rr_run({str(CRASHME)!r}, stdin=os.environ["INPUT"].encode())
"""
    )
    monkeypatch.setenv("INPUT", "one two three\n")
    run(pytester).assert_outcomes(passed=1)
    monkeypatch.setenv("INPUT", "one two thr33\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    path = pytester.path / "wasm_rr_traces" / "test_stdin" / "test_count.cbor"
    result.stdout.fnmatch_lines(
        [
            f"*wasm-rr drift: replaying {path} (mode once): seq *: "
            "io.read: stdin differs *at byte 11;*"
        ]
    )


def test_a_changed_guest_drifts(pytester: pytest.Pytester) -> None:
    shutil.copy(GREET, pytester.path / "guest.wasm")
    pytester.makepyfile(
        test_guest="""
def test_guest(wasm_rr_run):
    wasm_rr_run("guest.wasm", env={"NAME": "ann"})
"""
    )
    run(pytester).assert_outcomes(passed=1)
    run(pytester).assert_outcomes(passed=1)
    shutil.copy(ENTROPY, pytester.path / "guest.wasm")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    path = pytester.path / "wasm_rr_traces" / "test_guest" / "test_guest.cbor"
    result.stdout.fnmatch_lines(
        [f"*wasm-rr drift: replaying {path} (mode once): seq *(the guest changed since*"]
    )


def test_once_refuses_new_runs_that_new_episodes_records(pytester: pytest.Pytester) -> None:
    one = f"""
def test_runs(wasm_rr_run):
    wasm_rr_run({str(GREET)!r}, env={{"NAME": "one"}})
"""
    two = (
        one
        + f"""    assert wasm_rr_run({str(GREET)!r}, name="two").stdout == b"hello, world\\n"
"""
    )
    pytester.makepyfile(test_runs=one)
    run(pytester).assert_outcomes(passed=1)
    pytester.makepyfile(test_runs=two)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*no trace *test_runs-two.cbor for this run*new_episodes*"])
    before = traces(pytester)
    run(pytester, "--wasm-rr-mode=new").assert_outcomes(passed=1)
    after = traces(pytester)
    assert list(after) == ["test_runs/test_runs-two.cbor", "test_runs/test_runs.cbor"]
    assert after["test_runs/test_runs.cbor"] == before["test_runs/test_runs.cbor"]
    run(pytester, "--wasm-rr-mode=none").assert_outcomes(passed=1)


def test_a_bad_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_nothing="def test_nothing(): pass\n")
    result = run(pytester, "--wasm-rr-mode=sometimes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'sometimes' is not one of: once, new_episodes, none, all*"])


def test_record_mode_names() -> None:
    assert RecordMode.parse("new") is RecordMode.NEW_EPISODES
    assert RecordMode.parse("ALL") is RecordMode.ALL
    with pytest.raises(pytest.UsageError, match="not one of"):
        RecordMode.parse("never")


def test_traces_are_self_contained(pytester: pytest.Pytester, tmp_path: Path) -> None:
    import wasm_rr

    pytester.makepyfile(
        test_alone=f"""
def test_alone(wasm_rr_run):
    wasm_rr_run({str(GREET)!r}, env={{"NAME": "ann"}})
"""
    )
    run(pytester).assert_outcomes(passed=1)
    trace = pytester.path / "wasm_rr_traces" / "test_alone" / "test_alone.cbor"
    assert wasm_rr.replay(trace).stdout == b"hello, ann\n"


def test_env_is_matched_when_asked(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_env=f"""
import os

def test_env(wasm_rr_run):
    wasm_rr_run({str(GREET)!r}, env={{"NAME": os.environ["WHO"]}}, match_on=["env"])
"""
    )
    monkeypatch.setenv("WHO", "ann")
    run(pytester).assert_outcomes(passed=1)
    monkeypatch.setenv("WHO", "bob")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*wasm-rr drift: *test_env.cbor (mode once): seq 1: cli.environ: *differs in NAME;*"]
    )
