"""`.tape` scripts under wasm-rr: run, replay, compile; sites in traces and drift messages."""

from __future__ import annotations

from pathlib import Path

import wasmtime

from wasm_rr.trace import load

from .conftest import cli

SCRIPT = """let r = random.bits(8)
let t = clock.now()
print(str(r % 6 + 1))
"""


def write(tmp_path: Path, text: str, name: str = "s.tape") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_run_replay_and_compile(tmp_path: Path) -> None:
    rec = cli("run", "examples/hello.tape", "-t", tmp_path / "h.cbor", "--env", "NAME=ann")
    assert (rec.status, rec.stdout) == (0, "hello, ann\n")
    rep = cli("replay", "examples/hello.tape", tmp_path / "h.cbor", env={"NAME": "bob"})
    assert (rep.status, rep.stdout) == (0, "hello, ann\n")
    out = tmp_path / "hello.wasm"
    assert cli("compile", "examples/hello.tape", "-o", out).status == 0
    again = tmp_path / "again.wasm"
    assert cli("compile", "examples/hello.tape", "-o", again).status == 0
    assert out.read_bytes() == again.read_bytes()  # deterministic: replay recompiles
    wasmtime.Module(wasmtime.Engine(), out.read_bytes())  # a standard module


def test_trace_records_the_site_of_every_call(tmp_path: Path) -> None:
    script = write(tmp_path, SCRIPT)
    assert cli("run", script, "-t", tmp_path / "s.cbor").status == 0
    trace = load(tmp_path / "s.cbor")
    sites = trace.header.extra["sites"]["sites"]
    shown = [(e.name, sites[e.site][0], sites[e.site][1:]) for e in trace.events()]
    assert shown == [
        ("random.bytes", "random.bits", [1, 9]),
        ("clock.now", "clock.now", [2, 9]),
        ("io.write", "print", [3, 1]),
    ]


def test_whitespace_edit_still_replays(tmp_path: Path) -> None:
    script = write(tmp_path, SCRIPT)
    rec = cli("run", script, "-t", tmp_path / "s.cbor")
    script.write_text(
        "// a comment\nlet   r = random.bits(8)\n\n\nlet t =   clock.now()\n"
        "print(str(r % 6 + 1))   // done\n"
    )
    rep = cli("replay", script, tmp_path / "s.cbor")
    assert (rep.status, rep.stdout) == (0, rec.stdout)


def test_real_edit_is_a_code_change(tmp_path: Path) -> None:
    script = write(tmp_path, SCRIPT)
    cli("run", script, "-t", tmp_path / "s.cbor")
    script.write_text(SCRIPT.replace("% 6 + 1", "% 6 + 2"))
    rep = cli("replay", script, tmp_path / "s.cbor")
    assert rep.status == 125
    assert "code hash mismatch" in rep.stderr and "--allow-code-change" in rep.stderr


def test_allow_code_change_reports_the_first_drift_with_both_sites(tmp_path: Path) -> None:
    script = write(tmp_path, SCRIPT)
    cli("run", script, "-t", tmp_path / "s.cbor")
    script.write_text("let t = clock.now()\nlet r = random.bits(8)\nprint(str(r % 6 + 1))\n")
    rep = cli("replay", "--allow-code-change", script, tmp_path / "s.cbor")
    assert rep.status == 125
    assert rep.stderr == (
        f"wasm-rr: seq 1: kind mismatch: the recording has random.bits at {script}:1:9, "
        f"this run called clock.now at {script}:1:9; the guest took a different path than "
        "when it was recorded; re-record it\n"
    )


def test_same_call_from_another_site(tmp_path: Path) -> None:
    text = 'let mode = env.get("MODE")\nif mode == "a" { print(random.bits(8)) } '
    text += "else { print(random.bits(8)) }\n"
    script = write(tmp_path, text)
    assert cli("run", script, "-t", tmp_path / "s.cbor", "--env", "MODE=a").status == 0
    script.write_text(text.replace('mode == "a"', 'mode != "a"'))
    rep = cli("replay", "--allow-code-change", script, tmp_path / "s.cbor")
    assert rep.status == 125
    assert rep.stderr.startswith(
        f"wasm-rr: seq 3: site mismatch: the recording has random.bits at {script}:2:24, "
        f"this run called random.bits at {script}:2:55;"
    )


def test_runtime_error_names_the_line_and_replays(tmp_path: Path) -> None:
    script = write(tmp_path, "let xs = [1, 2, 3]\nlet i = random.bits(2) + 3\nprint(xs[i])\n")
    rec = cli("run", script, "-t", tmp_path / "e.cbor")
    assert rec.status == 134
    assert rec.stderr.startswith(
        "tape: runtime error: index out of range\n"
        f"wasm-rr: guest trapped: {script}:3:9: index out of range\n"
    )
    rep = cli("replay", script, tmp_path / "e.cbor")
    assert (rep.status, rep.stdout, rep.stderr) == (rec.status, rec.stdout, rec.stderr)


def test_compile_error(tmp_path: Path) -> None:
    script = write(tmp_path, "let x = 1\nprint(y)\n")
    run = cli("run", script)
    assert run.status == 125
    assert run.stderr.startswith(f"wasm-rr: {script}:2:7: ")
    assert "print(y)" in run.stderr and "^" in run.stderr
    assert "Traceback" not in run.stderr
