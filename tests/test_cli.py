"""The command line: exit statuses, and one clear line (never a traceback) for every bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasm_rr.trace import reader

from .conftest import MINUTE_NS, NOON, ROOT, cli, record, sources

GREET = "guests/build/greet.wasm"


def one_line_error(run_stderr: str) -> str:
    lines = run_stderr.strip().splitlines()
    assert len(lines) == 1, run_stderr
    assert "Traceback" not in run_stderr
    assert lines[0].startswith("wasm-rr: ")
    return lines[0]


def test_record_and_replay_exit_with_the_guests_status(tmp_path: Path) -> None:
    t = tmp_path / "g.cbor"
    rec = cli("record", GREET, "-t", t, "--env", "NAME=ann")
    assert (rec.status, rec.stdout, rec.stderr) == (0, "hello, ann\n", "")
    rep = cli("replay", GREET, t)
    assert (rep.status, rep.stdout, rep.stderr) == (0, "hello, ann\n", "")


@pytest.fixture
def greet_trace(tmp_path: Path) -> Path:
    t = tmp_path / "g.cbor"
    assert cli("record", GREET, "-t", t).status == 0
    return t


def test_not_wasm(tmp_path: Path, greet_trace: Path) -> None:
    bogus = tmp_path / "app.wasm"
    bogus.write_text("#!/bin/sh\necho hi\n")
    for args in (("record", bogus, "-t", tmp_path / "x.cbor"), ("replay", bogus, greet_trace)):
        run = cli(*args)
        assert run.status == 125
        assert "is not a WebAssembly file" in one_line_error(run.stderr)


def test_missing_guest_and_trace(tmp_path: Path) -> None:
    run = cli("replay", GREET, tmp_path / "nope.cbor")
    assert run.status == 125
    assert one_line_error(run.stderr) == (
        f"wasm-rr: trace {tmp_path / 'nope.cbor'} does not exist; record one with `wasm-rr record`"
    )
    run = cli("record", tmp_path / "nope.wasm")
    assert run.status == 125 and "does not exist" in one_line_error(run.stderr)


def test_truncated_trace_says_cut_off(greet_trace: Path) -> None:
    data = greet_trace.read_bytes()
    _, _, events_start = reader._decode_prefix(data, "g.cbor")
    greet_trace.write_bytes(data[: (events_start + len(data)) // 2])
    run = cli("replay", GREET, greet_trace)
    assert run.status == 125
    assert "the recording was cut off after event" in one_line_error(run.stderr)


def test_bit_flipped_trace(greet_trace: Path) -> None:
    data = bytearray(greet_trace.read_bytes())
    data[len(data) // 2] ^= 0x04
    greet_trace.write_bytes(bytes(data))
    run = cli("replay", GREET, greet_trace)
    assert run.status == 125
    assert "checksum mismatch" in one_line_error(run.stderr)


def test_newer_format(greet_trace: Path) -> None:
    from .tracetools import rewrite

    rewrite(greet_trace, greet_trace, version=3)
    run = cli("replay", GREET, greet_trace)
    assert run.status == 125
    assert "is trace format 3, this wasm-rr reads up to 2; upgrade wasm-rr" in one_line_error(
        run.stderr
    )


def test_arguments_swapped(greet_trace: Path) -> None:
    run = cli("replay", greet_trace, GREET)
    assert run.status == 125
    one_line_error(run.stderr)


def test_usage_errors_are_125() -> None:
    run = cli("replay")
    assert run.status == 125
    assert "Missing argument '[GUEST] TRACE'" in one_line_error(run.stderr)
    run = cli("replay", GREET)
    assert run.status == 125
    assert "is a wasm file, not a trace" in one_line_error(run.stderr)
    assert cli("frobnicate").status == 125


def test_drift_is_125_with_one_line(greet_trace: Path) -> None:
    run = cli("replay", "guests/build/counter.wasm", greet_trace)
    assert run.status == 125
    assert "code hash mismatch" in one_line_error(run.stderr)


# Traps in a function named detonate, every run.
BOMB = """
(module
  (memory (export "memory") 1)
  (func $detonate unreachable)
  (func (export "_start") (call $detonate)))
"""


def test_trap_exits_134_and_replays_the_same(tmp_path: Path) -> None:
    import wasmtime

    bomb = tmp_path / "bomb.wasm"
    bomb.write_bytes(bytes(wasmtime.wat2wasm(BOMB)))
    t = tmp_path / "t.cbor"
    rec = cli("record", bomb, "-t", t)
    assert rec.status == 134
    assert "guest trapped: wasm trap: wasm `unreachable` instruction executed" in rec.stderr
    assert "detonate" in rec.stderr
    rep = cli("replay", bomb, t)
    assert (rep.status, rep.stdout, rep.stderr) == (134, rec.stdout, rec.stderr)


def test_a_recorded_trap_replays_with_134(tmp_path: Path) -> None:
    # timebomb explodes at minute 37 of the hour: the recording's wall clock reads 12:37 UTC.
    t = tmp_path / "t.cbor"
    rec = record("timebomb", t, sources=sources(at_ns=NOON + 37 * MINUTE_NS))
    assert rec.result.outcome.trap is not None
    rep = cli("replay", "guests/build/timebomb.wasm", t)
    assert rep.status == 134
    assert "guest trapped: wasm trap: wasm `unreachable` instruction executed" in rep.stderr
    assert "detonate" in rep.stderr and rep.stdout == ""


def test_stdin_is_recorded_and_not_read_on_replay(tmp_path: Path) -> None:
    import wasmtime

    cat = tmp_path / "cat.wasm"
    cat.write_bytes(bytes(wasmtime.wat2wasm(CAT)))
    t = tmp_path / "c.cbor"
    rec = cli("record", cat, "-t", t, stdin=b"some input\nmore\n")
    assert (rec.status, rec.stdout) == (0, "some input\nmore\n")
    rep = cli("replay", cat, t, stdin=b"different\n")
    assert (rep.status, rep.stdout) == (0, "some input\nmore\n")


# Copies stdin to stdout, 4 bytes per read, until end of input.
CAT = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\\10\\00\\00\\00\\04\\00\\00\\00")
  (func (export "_start")
    (loop $l
      (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (i32.eqz (i32.load (i32.const 8))) (then (return)))
      (i32.store (i32.const 4) (i32.load (i32.const 8)))
      (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 12)))
      (i32.store (i32.const 4) (i32.const 4))
      (br $l))))
"""


def test_truncated_wasm(tmp_path: Path) -> None:
    bad = tmp_path / "t.wasm"
    bad.write_bytes((Path("guests/build/dice.wasm").read_bytes())[:100])
    run = cli("record", bad, "-t", tmp_path / "t.cbor")
    assert run.status == 125
    assert "is not a valid WebAssembly module" in one_line_error(run.stderr)
    assert not (tmp_path / "t.cbor").exists()  # nothing recorded, no trace left behind


def test_damaged_traces_never_give_a_traceback(greet_trace: Path) -> None:
    """Flip, zero, cut and duplicate bytes all over a trace: every replay either succeeds with
    the recorded output or fails with one clear line and status 125."""
    import random

    from wasm_rr import engine
    from wasm_rr.errors import WasmRRError
    from wasm_rr.world import Streams

    original = greet_trace.read_bytes()
    rng = random.Random(7)
    for _ in range(200):
        data = bytearray(original)
        how = rng.randrange(4)
        at = rng.randrange(len(data))
        if how == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif how == 1:
            data[at] = 0
        elif how == 2:
            del data[at:]
        else:
            data[at:at] = data[at : at + rng.randrange(1, 9)]
        greet_trace.write_bytes(bytes(data))
        import io

        out = io.BytesIO()
        try:
            engine.replay(Path(GREET), greet_trace, Streams(None, out, io.BytesIO()))
        except WasmRRError as exc:
            assert "\n" not in str(exc) and exc.exit_status == 125
        else:
            assert out.getvalue() == b"hello, world\n"


# ---- the front door: what a new user meets first -------------------------------------------------


def test_a_bare_wasm_rr_prints_the_help_and_exits_0() -> None:
    run = cli()
    assert (run.status, run.stderr) == (0, "")
    assert run.stdout.startswith("Usage: wasm-rr [OPTIONS] COMMAND [ARGS]...")
    assert "  replay " in run.stdout and "  record " in run.stdout


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``wasm-rr ARGS`` run by ``main`` in this process (no run of a guest): status, out, err."""
    from wasm_rr.cli import main

    try:
        main(list(args))
        status = 0
    except SystemExit as exc:
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_every_usage_error_names_the_command_that_has_the_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from wasm_rr.cli import cli as group

    run = cli("bogus")
    assert run.status == 125
    assert one_line_error(run.stderr) == (
        "wasm-rr: No such command 'bogus'. (see `wasm-rr --help`)"
    )
    status, _, err = in_process(capsys, "--bogus")
    assert (status, one_line_error(err)) == (
        125,
        "wasm-rr: No such option '--bogus'. (see `wasm-rr --help`)",
    )
    assert len(group.commands) >= 10
    for name in group.commands:
        status, _, err = in_process(capsys, name, "--no-such-option")
        assert (status, one_line_error(err)) == (
            125,
            f"wasm-rr: No such option '--no-such-option'. (see `wasm-rr {name} --help`)",
        )
        status, out, _ = in_process(capsys, name, "--help")
        assert status == 0 and out.startswith(f"Usage: wasm-rr {name} ")


def test_a_tape_syntax_error_is_one_line_then_the_source_and_a_caret(tmp_path: Path) -> None:
    script = tmp_path / "bad.tape"
    script.write_text("let a = 1\n\tlet b = a +* 2\n")
    for args in (("run", script, "--no-trace"), ("compile", script, "-o", tmp_path / "b.wasm")):
        run = cli(*args)
        assert run.status == 125 and "Traceback" not in run.stderr
        assert run.stderr.splitlines() == [
            f"wasm-rr: {script}:2:13: expected an expression, found `*`",
            "\tlet b = a +* 2",
            "\t           ^",
        ]


def test_swapped_replay_arguments_are_named(greet_trace: Path) -> None:
    for command in ("replay", "resume"):
        run = cli(command, greet_trace, GREET)
        assert run.status == 125
        assert one_line_error(run.stderr) == (
            f"wasm-rr: {greet_trace} is a trace and {GREET} a guest: arguments swapped? "
            f"usage: wasm-rr {command} [GUEST] TRACE (see `wasm-rr {command} --help`)"
        )
    # A trace given where only a guest goes says what it is.
    run = cli("record", greet_trace, "-t", greet_trace.with_suffix(".2.cbor"))
    assert one_line_error(run.stderr) == (
        f"wasm-rr: {greet_trace} is a wasm-rr trace, not a WebAssembly file"
    )


def test_the_hints_name_what_replay_takes(greet_trace: Path) -> None:
    run = cli("replay", "guests/build/counter.wasm", greet_trace)
    line = one_line_error(run.stderr)
    assert line.endswith(
        "replay the same guest file, re-record, or pass --allow-code-change to run the changed "
        "guest until its first drift"
    )
    run = cli("replay", greet_trace)
    assert one_line_error(run.stderr) == (
        f"wasm-rr: {greet_trace} does not carry its guest (it was recorded without "
        "--embed-guest); give the guest too: wasm-rr replay GUEST TRACE"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("A B=1", "the name holds ' ' (whitespace or a control character)"),
        ("A\tB", "the name holds '\\t' (whitespace or a control character)"),
        (" NAME=ann", "the name holds ' ' (whitespace or a control character)"),
        ("A\x01=1", "the name holds '\\x01' (whitespace or a control character)"),
        ("=ann", None),
    ],
)
def test_env_names_no_guest_could_read_are_refused(
    tmp_path: Path, spec: str, problem: str | None
) -> None:
    t = tmp_path / "g.cbor"
    for args in (("record", GREET, "-t", t), ("hunt", GREET, "-o", t, "--runs", "1")):
        run = cli(*args, "--env", spec)
        assert run.status == 125 and run.stdout == ""
        reason = "" if problem is None else f" {problem};"
        assert one_line_error(run.stderr) == (
            f"wasm-rr: --env {spec!r}:{reason} expected NAME or NAME=VALUE "
            f"(see `wasm-rr {args[0]} --help`)"
        )
        assert not t.exists()
    # A value may hold anything but NUL.
    run = cli("record", GREET, "-t", t, "--env", "NAME=ann = eve\tand bob")
    assert (run.status, run.stdout) == (0, "hello, ann = eve\tand bob\n")


def test_options_hunt_and_fuzz_share_take_the_same_values() -> None:
    import click

    from wasm_rr.cli import cli as group

    def option(command: str, name: str) -> click.Parameter:
        (found,) = [p for p in group.commands[command].params if name in p.opts]
        return found

    ctx = click.Context(group)
    shared = ["--runs", "--time", "--seed", "--jobs", "--cluster", "--until", "--env", "--dir"]
    for name in [*shared, "--ro-dir", "--timeout", "--output"]:
        hunt, fuzz = option("hunt", name), option("fuzz", name)
        assert hunt.make_metavar(ctx) == fuzz.make_metavar(ctx) or name == "--output", name
        if name != "--output":  # a file for hunt, a directory for fuzz
            assert hunt.name == fuzz.name, name
            assert hunt.type.to_info_dict() == fuzz.type.to_info_dict(), name
    for name in ["--runs", "--time", "--jobs", "--cluster", "--env", "--dir"]:
        help_ = [option(c, name).help for c in ("hunt", "fuzz")]
        assert help_[0] is not None and help_[1] is not None
        assert help_[0].split(" (without")[0] == help_[1].split(" (without")[0], name
    for command in ("hunt", "fuzz"):
        seed = option(command, "--seed")
        assert seed.make_metavar(ctx) == "SEED"
        with pytest.raises(click.BadParameter):
            seed.type.convert("-1", seed, ctx)


def test_each_timeout_says_what_it_stops() -> None:
    from wasm_rr.cli import cli as group

    helps = {
        name: " ".join(p.help.split())
        for name, command in group.commands.items()
        for p in command.params
        if "--timeout" in p.opts and p.help is not None
    }
    assert sorted(helps) == ["fuzz", "hunt", "minimize", "record", "replay", "resume", "run"]
    assert helps["record"] == helps["run"]
    assert len({helps[c] for c in ("record", "replay", "resume", "hunt", "minimize", "fuzz")}) == 6
    assert helps["hunt"].startswith("Stop any one run that takes longer than this: a failure")
    assert helps["minimize"].startswith("Stop any one candidate run")
    assert helps["fuzz"].startswith("Stop any one run that takes longer than this: a crash")
    assert "trace" not in helps["replay"]


def test_shell_completion_as_the_readme_says(tmp_path: Path) -> None:
    """`eval "$(_WASM_RR_COMPLETE=bash_source wasm-rr)"` in bash, then a completion of
    `wasm-rr re` and of `wasm-rr replay --a`, as bash asks for them."""
    import shutil
    import subprocess
    import sys

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash")
    # A `wasm-rr` on PATH that runs this checkout (what `make` installs into .venv/bin).
    (tmp_path / "wasm-rr").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wasm_rr "$@"\n')
    (tmp_path / "wasm-rr").chmod(0o755)
    script = """
        eval "$(_WASM_RR_COMPLETE=bash_source wasm-rr)"
        complete -p wasm-rr
        COMP_WORDS=(wasm-rr re); COMP_CWORD=1; _wasm_rr_completion wasm-rr
        echo "${COMPREPLY[*]}"
        COMPREPLY=(); COMP_WORDS=(wasm-rr replay --a); COMP_CWORD=2; _wasm_rr_completion wasm-rr
        echo "${COMPREPLY[*]}"
    """
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [bash, "--norc", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "complete -o nosort -F _wasm_rr_completion wasm-rr",
        "record replay resume",
        "--allow-code-change",
    ]
    readme = (ROOT / "README.md").read_text()
    assert 'eval "$(_WASM_RR_COMPLETE=bash_source wasm-rr)"' in readme
