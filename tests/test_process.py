"""The process family end to end: procdemo (module and component), wasm children, .tape
scripts, drift, a 50 MB output, SIGKILL mid-call, inspect. Real guests, real host programs,
the real CLI."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasm_rr.trace import Event, load

from .conftest import ROOT, CliRun, cli, guest
from .rss import run_peak_anon_kib
from .tracetools import rewrite, with_event

TOUR_ALLOW = ["echo", "date", "sh", "cat", "sleep"]
KINDS = ["procdemo", "procdemo.component"]
NO_PATH = {"PATH": ""}


def allow(*names: str | Path) -> list[str]:
    return [a for n in names for a in ("--allow-run", str(n))]


def record(trace: Path, wasm: str | Path, *args: str, opts: list[str] | None = None) -> CliRun:
    return cli("record", wasm, "-t", trace, *(opts or []), "--", *args)


def procdemo(kind: str = "procdemo") -> Path:
    return guest(kind)


def one_line_error(run: CliRun) -> str:
    """The stderr of a clean tool error: one `wasm-rr: ...` line, exit status 125."""
    assert run.status == 125, (run.status, run.stderr)
    assert run.stderr.startswith("wasm-rr: ") and run.stderr.count("\n") == 1, run.stderr
    assert "Traceback" not in run.stderr
    return run.stderr.rstrip("\n")


def events(trace: Path) -> list[Event]:
    return list(load(trace).events(absolute=True))


TOUR = """\
== echo hello world
status: 0 signal: 0 timed-out: no
stdout: 12 bytes "hello world\\n"
stderr: 0 bytes ""
== date +%Y
status: 0 signal: 0 timed-out: no
stdout: 5 bytes "YEAR\\n"
stderr: 0 bytes ""
== sh -c 'exit 3'
status: 3 signal: 0 timed-out: no
stdout: 0 bytes ""
stderr: 0 bytes ""
== cat < "fed through stdin\\n"
status: 0 signal: 0 timed-out: no
stdout: 18 bytes "fed through stdin\\n"
stderr: 0 bytes ""
== sh -c 'kill -9 $$'
status: -1 signal: 9 timed-out: no
stdout: 0 bytes ""
stderr: 0 bytes ""
== ls (not allowed)
error: access
== sh -c 'echo err >&2'
status: 0 signal: 0 timed-out: no
stdout: 0 bytes ""
stderr: 4 bytes "err\\n"
== sleep 5 (timeout 300 ms)
status: -1 signal: 9 timed-out: yes
stdout: 0 bytes ""
stderr: 0 bytes ""
"""


@dataclass
class Recorded:
    wasm: Path
    trace: Path
    run: CliRun


@pytest.fixture(scope="module", params=KINDS)
def tour(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The procdemo tour, recorded once per guest kind."""
    trace = tmp_path_factory.mktemp("tour") / "tour.cbor"
    wasm = procdemo(request.param)
    return Recorded(wasm, trace, record(trace, wasm, opts=allow(*TOUR_ALLOW)))


@pytest.fixture(scope="module")
def module_tour(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    trace = tmp_path_factory.mktemp("tour") / "tour.cbor"
    wasm = procdemo()
    return Recorded(wasm, trace, record(trace, wasm, opts=allow(*TOUR_ALLOW)))


# --- 1. replay runs no program ----------------------------------------------------------


def test_tour_records_every_kind_of_answer(tour: Recorded) -> None:
    assert tour.run.status == 0, tour.run.stderr
    year = re.search(r'stdout: 5 bytes "(\d{4})\\n"', tour.run.stdout)
    assert year is not None
    assert tour.run.stdout == TOUR.replace("YEAR", year.group(1))
    runs = [e for e in events(tour.trace) if e.name.startswith("process.")]
    assert [e.question[0] for e in runs] == ["echo", "date", "sh", "cat", "sh", "ls", "sh", "sleep"]
    assert all(e.name == "process.run" for e in runs)


def test_tour_replays_with_an_empty_path(tour: Recorded) -> None:
    rep = cli("replay", tour.wasm, tour.trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (tour.run.status, tour.run.stdout, "")


@pytest.mark.parametrize("kind", KINDS)
def test_replay_does_not_need_the_program(tmp_path: Path, kind: str) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    mine = bindir / "myecho"
    shutil.copy(shutil.which("echo") or "/bin/echo", mine)
    trace = tmp_path / "t.cbor"
    rec = record(trace, procdemo(kind), "run", str(mine), "hi", "there", opts=allow(mine))
    assert rec.status == 0, rec.stderr
    assert rec.stdout == (
        f"== run {mine} (2 args)\nstatus: 0 signal: 0 timed-out: no\n"
        'stdout: 9 bytes "hi there\\n"\nstderr: 0 bytes ""\n'
    )
    (run_event,) = [e for e in events(trace) if e.name == "process.run"]
    assert run_event.answer[1] == str(mine)  # the resolved path is recorded
    shutil.rmtree(bindir)
    rep = cli("replay", procdemo(kind), trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (0, rec.stdout, "")


# --- 2. denied, missing, bad cwd --------------------------------------------------------


def record_and_replay(tmp_path: Path, wasm: Path, *args: str, opts: list[str]) -> CliRun:
    trace = tmp_path / "t.cbor"
    rec = record(trace, wasm, *args, opts=opts)
    rep = cli("replay", wasm, trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (rec.status, rec.stdout, rec.stderr)
    return rec


REFUSALS = {
    "not-allowed": (["run", "ls"], [], "access"),
    "other-allowed": (["run", "ls"], allow("echo"), "access"),
    # Allowed by name is not allowed by path.
    "by-path": (["run", shutil.which("echo") or "/bin/echo", "x"], allow("echo"), "access"),
    "allowed": (["run", "echo", "a\tb"], allow("echo"), None),
}


@pytest.mark.parametrize(
    ("kind", "case"),
    [("procdemo", case) for case in REFUSALS]
    + [("procdemo.component", case) for case in ["not-allowed"]],
)
def test_refusals_are_recorded_and_replayed(tmp_path: Path, kind: str, case: str) -> None:
    args, opts, code = REFUSALS[case]
    rec = record_and_replay(tmp_path, procdemo(kind), *args, opts=opts)
    if code is None:
        assert rec.status == 0 and 'stdout: 4 bytes "a\\tb\\n"' in rec.stdout
    else:
        assert rec.status == 1
        assert rec.stdout == f"== run {args[1]} ({len(args) - 2} args)\nerror: {code}\n"


@pytest.mark.parametrize("name", ["no-such-program-wasm-rr", "/no/such/dir/prog"])
def test_allowing_a_program_that_is_not_there_is_refused_at_start(
    tmp_path: Path, name: str
) -> None:
    trace = tmp_path / "t.cbor"
    rec = record(trace, procdemo(), "run", name, opts=allow("echo", name))
    assert rec.status == 125 and rec.stdout == ""
    where = "is not an executable file" if "/" in name else "is not found on PATH"
    assert rec.stderr == (
        f"wasm-rr: --allow-run {name}: {name} {where}; allow a program that exists here "
        "(name it as found on PATH, or by its path)\n"
    )
    assert not trace.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_a_program_gone_when_the_guest_runs_it_answers_no_entry(tmp_path: Path, kind: str) -> None:
    import wasm_rr

    exe = tmp_path / "vanishing"
    exe.write_text("#!/bin/sh\necho here\n")
    exe.chmod(0o755)
    families = wasm_rr.family_options(allow_run=[str(exe)])  # resolved now, while it exists
    exe.unlink()
    trace = tmp_path / "t.cbor"
    rec = wasm_rr.record(procdemo(kind), ["run", str(exe)], families=families, trace=trace)
    assert rec.status == 1
    assert rec.stdout == f"== run {exe} (0 args)\nerror: no-entry\n".encode()
    rep = cli("replay", procdemo(kind), trace, env=NO_PATH)
    assert (rep.status, rep.stdout.encode(), rep.stderr) == (1, rec.stdout, "")


@pytest.fixture
def box(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret").write_text("s")
    box = tmp_path / "box"
    (box / "sub").mkdir(parents=True)
    (box / "sub" / "b file").write_text("x")
    (box / "sub" / "a").write_text("x")
    (box / "top").write_text("x")
    (box / "escape").symlink_to("../outside")
    return box


@pytest.mark.parametrize("kind", KINDS)
def test_cwd_inside_a_preopen(tmp_path: Path, box: Path, kind: str) -> None:
    opts = ["--dir", f"{box}::/box", *allow("pwd", "sh")]
    rec = record_and_replay(tmp_path, procdemo(kind), "cwd", "/box/sub", opts=opts)
    assert rec.status == 0, rec.stderr
    assert rec.stdout == (
        "== pwd in /box/sub\nstatus: 0 printed an absolute path: yes\n"
        "== sh -c ls in /box/sub\nstatus: 0 signal: 0 timed-out: no\n"
        'stdout: 9 bytes "a\\nb file\\n"\nstderr: 0 bytes ""\n'
        "same as the guest's listing of /box/sub: yes\n"
    )


@pytest.mark.parametrize("where", ["/box/sub/../..", "/etc", "/box/escape", "/box/top"])
def test_cwd_outside_the_preopens_is_not_directory(tmp_path: Path, box: Path, where: str) -> None:
    opts = ["--dir", f"{box}::/box", *allow("pwd", "sh")]
    rec = record_and_replay(tmp_path, procdemo(), "cwd", where, opts=opts)
    assert (rec.status, rec.stdout) == (1, f"== pwd in {where}\nerror: not-directory\n")


def test_cwd_in_nested_preopens_is_the_guests_directory(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    (a / "sub" / "from_A").write_text("")
    (b / "from_B").write_text("")
    opts = ["--dir", f"{a}::/d", "--dir", f"{b}::/d/sub", *allow("pwd", "sh")]
    rec = record(tmp_path / "t.cbor", procdemo(), "cwd", "/d/sub", opts=opts)
    assert "same as the guest's listing of /d/sub: yes" in rec.stdout


# --- 3. drift: every field of the call is checked ---------------------------------------


def index_of(evs: list[Event], program: str) -> int:
    return next(
        i for i, e in enumerate(evs) if e.name == "process.run" and e.question[0] == program
    )


@pytest.mark.parametrize(
    ("program", "field", "value"),
    [
        ("echo", 0, "printf"),
        ("echo", 1, ["hello", "there"]),
        ("echo", 2, "/elsewhere"),
        ("echo", 3, ["A=1"]),
        ("cat", 4, b"fed through stdout\n"),
        ("sleep", 5, 301),
    ],
    ids=["program", "args", "cwd", "env", "stdin", "timeout"],
)
def test_a_different_call_is_drift(
    tmp_path: Path, module_tour: Recorded, program: str, field: int, value: object
) -> None:
    evs = events(module_tour.trace)
    i = index_of(evs, program)
    original = evs[i].question

    def edit(evs: list[Event]) -> list[Event]:
        fields = list(evs[i].fields)
        fields[field] = value
        return with_event(evs, i, fields=tuple(fields))

    changed = tmp_path / "changed.cbor"
    rewrite(module_tour.trace, changed, events=edit)
    rep = cli("replay", module_tour.wasm, changed, env=NO_PATH)
    line = one_line_error(rep)
    assert line.startswith(f"wasm-rr: seq {evs[i].seq}: args mismatch: ")
    recorded_part, _, this_run = line.partition(", this run called ")
    assert recorded_part.count("process.run(") == 1 and this_run.startswith("process.run(")
    shown = repr(value)[:20]
    assert shown in recorded_part and shown not in this_run
    was = repr(original[field])[:20]
    assert was in this_run
    # Everything up to the drift was replayed.
    assert module_tour.run.stdout.startswith(rep.stdout)


# --- 4. a 50 MB output is streamed, not held ------------------------------------------

MEASURE = """
import io, json, sys
from wasm_rr import engine
from wasm_rr.world import Streams, process
from wasm_rr.config import RunConfig
config = RunConfig(["procdemo.wasm", "big", sys.argv[3]], {}, [],
                   {"process": process.options(["head"], [])})
out = io.BytesIO()
result = engine.record(sys.argv[1], sys.argv[2], config, Streams(None, out, io.BytesIO()))
print(json.dumps({"stdout": out.getvalue().decode(), "exit": result.outcome.exit_code}))
"""


def measured_record(trace: Path, n: int) -> dict[str, object]:
    """Record ``procdemo big N`` in a process of its own; its peak heap is sampled from outside
    (tests/rss.py)."""
    argv = [sys.executable, "-c", MEASURE, str(guest("procdemo")), str(trace), str(n)]
    peak, out = run_peak_anon_kib(argv, str(ROOT))
    result: dict[str, object] = json.loads(out)
    result["peak_kib"] = peak
    return result


BIG = 50_000_000


def test_a_50mb_output_is_streamed_into_the_trace(tmp_path: Path) -> None:
    small = measured_record(tmp_path / "small.cbor", 1000)
    big = measured_record(tmp_path / "big.cbor", BIG)
    expected = (
        f"== head -c {BIG} /dev/zero\nstatus: 0 signal: 0 timed-out: no\n"
        f"stdout: {BIG} bytes fnv1a64 f70851756bffad25\nstderr: 0 bytes\n"
    )
    assert (big["stdout"], big["exit"]) == (expected, 0)
    # The guest itself holds the 50 MB in its linear memory (anonymous memory of this process
    # too); on top of that the recorder may hold a few 1 MiB chunks, never a copy of it.
    growth = int(big["peak_kib"]) - int(small["peak_kib"])  # type: ignore[call-overload]
    guest_copy = BIG // 1024
    assert growth - guest_copy < 16 * 1024, (small, big)
    # The trace holds the output once.
    trace = load(tmp_path / "big.cbor")
    assert trace.footer is not None and BIG < trace.size < BIG + 64 * 1024
    rep = cli("replay", guest("procdemo"), tmp_path / "big.cbor", env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (0, expected, "")


# --- 5. timeout and signals -------------------------------------------------------------


def test_timeout_and_signal_are_recorded(module_tour: Recorded) -> None:
    evs = [e for e in events(module_tour.trace) if e.name != "journal.intent"]
    fields = ["error", "path", "status", "signal", "timed_out"]
    killed = evs[index_of(evs, "sh") + 2]  # sh -c 'exit 3', cat, then sh -c 'kill -9 $$'
    assert killed.question[:2] == ("sh", ["-c", "kill -9 $$"])
    assert dict(zip(fields, killed.answer[:5], strict=True)) == {
        "error": None,
        "path": shutil.which("sh"),
        "status": -1,
        "signal": 9,
        "timed_out": False,
    }
    slept = evs[index_of(evs, "sleep")]
    assert slept.question == ("sleep", ["5"], "", [], b"", 300)
    assert dict(zip(fields, slept.answer[:5], strict=True)) == {
        "error": None,
        "path": shutil.which("sleep"),
        "status": -1,
        "signal": 9,
        "timed_out": True,
    }
    # The 5 s sleep was cut short (duration is recorded; only a loose upper bound here).
    assert slept.answer[-1] < 5_000_000_000
    rep = cli("replay", module_tour.wasm, module_tour.trace, env=NO_PATH)
    assert "== sleep 5 (timeout 300 ms)\nstatus: -1 signal: 9 timed-out: yes\n" in rep.stdout
    assert "== sh -c 'kill -9 $$'\nstatus: -1 signal: 9 timed-out: no\n" in rep.stdout


# --- 6. SIGKILL of wasm-rr while a child runs ------------------------------------------


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1]


def _alive(pid: int) -> bool:
    """Running (a zombie, dead but not reaped by an init that does not reap, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _find(argv: list[str]) -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _cmdline(int(entry)) == argv and _alive(int(entry)):
            return int(entry)
    return None


@dataclass
class Killed:
    trace: Path
    record_stdout: bytes
    child_survived: bool


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Killed]:
    """`procdemo run sleep N` recorded, wasm-rr killed with SIGKILL once the sleep runs."""
    tmp = tmp_path_factory.mktemp("killed")
    trace = tmp / "t.cbor"
    # An argv no other process has, and a sleep that outlasts the wait below by far: an orphan
    # must not pass for a child taken down by ending on its own.
    seconds = f"{600 + os.getpid() % 1000 / 1000:.3f}"
    sleep_argv = [shutil.which("sleep") or "/bin/sleep", seconds]
    out = tmp / "record.out"
    child: int | None = None
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wasm_rr",
                "record",
                str(guest("procdemo")),
                "-t",
                str(trace),
                "--allow-run",
                "sleep",
                "--",
                "run",
                "sleep",
                seconds,
            ],
            stdout=sink,
            stderr=subprocess.DEVNULL,
            cwd=ROOT,
        )
        try:
            deadline = time.monotonic() + 30
            while child is None and time.monotonic() < deadline and proc.poll() is None:
                child = _find(sleep_argv)
                time.sleep(0.02)
            assert child is not None, "the sleep never started"
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
    try:
        # A correct implementation takes its child down with it at once (the kernel kills it
        # when its parent dies): the loop ends as soon as it is gone. The bound is generous,
        # for a loaded machine; only a child that survived waits it out.
        deadline = time.monotonic() + 30
        while _alive(child) and _cmdline(child) == sleep_argv and time.monotonic() < deadline:
            time.sleep(0.05)
        survived = _alive(child) and _cmdline(child) == sleep_argv
        yield Killed(trace, out.read_bytes(), survived)
    finally:
        if _alive(child) and _cmdline(child) == sleep_argv:
            os.kill(child, signal.SIGKILL)  # the orphan this test made


def test_sigkill_mid_call_keeps_the_events_before_it(killed: Killed) -> None:
    trace = load(killed.trace)
    assert trace.cut_off and trace.footer is None
    names = [e.name for e in trace.events()]
    # The run's intent is there (it was in flight: `resume` would ask), its completion is not.
    assert names == ["cli.args", "cli.args", "io.isatty", "io.write", "io.write", "journal.intent"]
    shown = cli("inspect", killed.trace)
    assert shown.status == 0, shown.stderr
    assert "footer     none: the recording was cut off" in shown.stdout
    assert " process.run(" not in shown.stdout and "journal.intent('process.run'" in shown.stdout
    as_json = [
        json.loads(line) for line in cli("inspect", killed.trace, "--json").stdout.splitlines()
    ]
    assert as_json[-1]["type"] == "footer" and as_json[-1]["cut_off"] is True
    assert len([j for j in as_json if j["type"] == "event"]) == 6


def test_sigkill_mid_call_replays_to_the_cut(killed: Killed) -> None:
    rep = cli("replay", guest("procdemo"), killed.trace, env=NO_PATH)
    line = one_line_error(rep)
    assert line.startswith("wasm-rr: the recording was cut off after event 6 ")
    assert "event 6 is the intent of process.run with no completion" in line
    assert rep.stdout == "== run sleep (1 args)\n"


def test_sigkill_leaves_no_orphan(killed: Killed) -> None:
    assert not killed.child_survived


# --- 7. wasm children ------------------------------------------------------------------


@pytest.fixture
def child_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "kid" / "child.wasm"
    copy.parent.mkdir()
    shutil.copy(guest("child"), copy)
    return copy


@pytest.mark.parametrize("kind", KINDS)
def test_wasm_child_replays_its_random_and_clock(
    tmp_path: Path, child_copy: Path, kind: str
) -> None:
    trace = tmp_path / "t.cbor"
    wasm = procdemo(kind)
    rec = record(trace, wasm, "wasm", "hello", opts=["--run-wasm", f"child={child_copy}"])
    assert rec.status == 0, rec.stderr
    evs = events(trace)
    names = [e.name for e in evs]
    start = names.index("process.wasm_start")
    assert names[start : start + 4] == [
        "process.wasm_start",
        "random.bytes",
        "clock.now",
        "process.wasm_end",
    ]
    assert evs[start].question == ("child", ["hello"], "", ["GREETING=hi"], b"to the child\n", 0)
    rand, now = evs[start + 1].answer[0], evs[start + 2].answer[0]
    child_out = (
        'child: args [\\"child\\", \\"hello\\"]\\nchild: GREETING=hi\\nchild: stdin 13 bytes\\n'
        f"child: random {rand.hex()}\\nchild: time {now // 1_000_000}\\nchild: exit 0\\n"
    )
    assert rec.stdout == (
        "== child (1 args)\nstatus: 0 signal: 0 timed-out: no\n"
        f'stdout: {len(child_out.encode().decode("unicode_escape"))} bytes "{child_out}"\n'
        'stderr: 11 bytes "child: bye\\n"\n'
    )
    assert evs[start + 3].answer[0] == 0 and evs[start + 3].answer[3:] == (
        len(child_out.encode().decode("unicode_escape")),
        11,
    )
    rep = cli("replay", wasm, trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (0, rec.stdout, "")

    # The child's answers come from the trace: with other random bytes it takes another path
    # (the fuel check at its next call sees it) or prints other output (the end event's check).
    def other_random(evs: list[Event]) -> list[Event]:
        fields = list(evs[start + 1].fields)
        fields[-1] = bytes(8)
        return with_event(evs, start + 1, fields=tuple(fields))

    rewrite(trace, tmp_path / "other.cbor", events=other_random)
    line = one_line_error(cli("replay", wasm, tmp_path / "other.cbor"))
    seq = int(line.split(":")[1].split()[1])
    assert evs[start + 2].seq <= seq <= evs[start + 3].seq, line
    assert "fuel mismatch" in line or "child child ending with status 0" in line


def test_wasm_child_exit_status(tmp_path: Path, child_copy: Path) -> None:
    rec = record_and_replay(
        tmp_path, procdemo(), "wasm", "exit", "5", opts=["--run-wasm", f"child={child_copy}"]
    )
    assert rec.status == 0 and "status: 5 signal: 0 timed-out: no\n" in rec.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("replace", "is not the module the recording ran"),
        ("delete", "cannot read"),
    ],
)
def test_wasm_child_changed_after_recording(
    tmp_path: Path, child_copy: Path, change: str, message: str
) -> None:
    trace = tmp_path / "t.cbor"
    rec = record(trace, procdemo(), "wasm", opts=["--run-wasm", f"child={child_copy}"])
    assert rec.status == 0, rec.stderr
    if change == "replace":
        shutil.copy(guest("counter"), child_copy)
    else:
        child_copy.unlink()
    line = one_line_error(cli("replay", procdemo(), trace))
    assert str(child_copy) in line and message in line


def test_a_component_child_is_refused(tmp_path: Path) -> None:
    child = guest("child").with_name("child.component.wasm")
    rec = record(tmp_path / "t.cbor", procdemo(), "wasm", opts=["--run-wasm", f"child={child}"])
    line = one_line_error(rec)
    assert "component" in line and "core module" in line


# --- 8. .tape scripts -------------------------------------------------------------------


def test_procs_tape_records_and_replays(tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    rec = cli("run", "examples/procs.tape", "-t", trace, *allow("echo", "sh"))
    assert rec.status == 0, rec.stderr
    assert rec.stdout == (
        "echo: status 0, stdout 16 bytes, stderr 0 bytes\n  stdout: hello from echo\n"
        "exit 3: status 3, stdout 0 bytes, stderr 0 bytes\n"
        "stderr: status 1, stdout 0 bytes, stderr 5 bytes\n  stderr: oops\n"
        "signal: status -9, stdout 0 bytes, stderr 0 bytes\n"
        '[0, "as a list", ""]\n'
    )
    rep = cli("replay", "examples/procs.tape", trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (0, rec.stdout, rec.stderr)


def test_a_denied_program_in_a_tape_traps_at_its_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    rec = cli("run", "examples/procs.tape", "-t", trace, *allow("echo"))
    assert rec.status == 134
    assert (
        rec.stdout == "echo: status 0, stdout 16 bytes, stderr 0 bytes\n  stdout: hello from echo\n"
    )
    trapped = re.search(r"^wasm-rr: guest trapped: (.*)$", rec.stderr, re.M)
    assert trapped is not None, rec.stderr
    assert re.fullmatch(r"examples/procs\.tape:19:\d+: proc\.run: access\b.*", trapped.group(1))
    rep = cli("replay", "examples/procs.tape", trace, env=NO_PATH)
    assert (rep.status, rep.stdout, rep.stderr) == (134, rec.stdout, rec.stderr)


# --- 9. inspect -------------------------------------------------------------------------


def test_inspect_shows_process_runs(module_tour: Recorded) -> None:
    shown = cli("inspect", module_tour.trace)
    assert shown.status == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if "process.run(" in line]
    assert len(lines) == 8
    echo = shutil.which("echo")
    assert re.search(
        rf"process\.run\('echo', \['hello', 'world'\], '', \[\], b'', 0\) -> None, "
        rf"'{re.escape(str(echo))}', 0, 0, False, b'hello world\\n', b'', \d+$",
        lines[0],
    ), lines[0]
    assert ", 3, 0, False," in lines[2]  # sh -c 'exit 3'
    assert "process.run('ls', [], '', [], b'', 0) -> 'EACCES', None," in lines[5]
    assert "-1, 9, True," in lines[7]


def test_inspect_json_has_one_object_per_line(module_tour: Recorded) -> None:
    shown = cli("inspect", module_tour.trace, "--json")
    assert shown.status == 0, shown.stderr
    objects = [json.loads(line) for line in shown.stdout.splitlines()]
    assert all(isinstance(o, dict) for o in objects)
    assert objects[0]["type"] == "header" and objects[-1]["type"] == "footer"
    runs = [o for o in objects if o.get("kind") == "process.run"]
    assert len(runs) == 8
    for o in runs:
        assert {"program", "args"} <= o["question"].keys()
        assert {"status", "stdout", "signal", "timed_out"} <= o["answer"].keys()
    q, a = runs[0]["question"], runs[0]["answer"]
    assert (q["program"], q["args"], a["status"], a["stdout"]) == (
        "echo",
        ["hello", "world"],
        0,
        {"bytes": "hello world\\n"},
    )
    assert (
        runs[2]["answer"]["status"],
        runs[4]["answer"]["signal"],
        runs[7]["answer"]["timed_out"],
    ) == (3, 9, True)
    assert runs[5]["answer"]["error"] == "EACCES"
