"""The process family on its own: LiveProcess, RecordingProcess and ReplayingProcess driven
directly with Requests (no guest), against real host programs."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest

from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.errors import ArgsMismatchError, OutputMismatchError
from wasm_rr.trace import Footer, Header, Outcome, TraceWriter, load
from wasm_rr.trace.events import assign_codes, codes_to_cbor
from wasm_rr.world import Context, Streams, WorldError
from wasm_rr.world import process as wp
from wasm_rr.world.base import Recorder, Replayer, ZeroFuel
from wasm_rr.world.process import (
    BytesOutput,
    Completed,
    LiveProcess,
    Options,
    RecordingProcess,
    ReplayingProcess,
    Request,
    read_all,
    stdin_digest,
)
from wasm_rr.world.registry import EVENTS

PROGRAMS = ["env", "echo", "cat", "sh", "pwd", "sleep", "true"]


def with_missing(cfg: RunConfig, name: str = "no-such-program-wasm-rr") -> RunConfig:
    """``cfg`` allowing ``name``, not found: "" (options() now refuses such a name; a trace
    recorded before holds "", and resuming it runs with that configuration)."""
    cfg.families["process"]["allow_run"][name] = ""
    return cfg


def config(
    allow: list[str] | None = None,
    run_wasm: dict[str, list[str]] | None = None,
    dirs: list[DirSpec] | None = None,
) -> RunConfig:
    opts = wp.options(PROGRAMS if allow is None else allow, [])
    if run_wasm:
        opts = {"allow_run": opts.get("allow_run", {}), "run_wasm": run_wasm}
    return RunConfig(argv=["g.wasm"], dirs=list(dirs or []), families={"process": opts})


def context(cfg: RunConfig) -> Context:
    return Context(cfg, Streams(None, io.BytesIO(), io.BytesIO()))


def req(
    program: str,
    *args: str,
    cwd: str = "",
    env: list[str] | None = None,
    stdin: bytes = b"",
    timeout_ms: int = 0,
) -> Request:
    return Request(program, list(args), cwd, list(env or []), stdin, timeout_ms)


@pytest.fixture
def live() -> Iterator[LiveProcess]:
    p = LiveProcess(context(config()))
    yield p
    p.close()


def run(p: Any, request: Request) -> tuple[int, int, bool, bytes, bytes]:
    done: Completed = p.run(request)
    try:
        return (
            done.status,
            done.signal,
            done.timed_out,
            read_all(done.stdout),
            read_all(done.stderr),
        )
    finally:
        done.close()


def errno_of(p: Any, request: Request) -> str:
    try:
        p.run(request).close()
    except WorldError as err:
        return err.name
    return "ok"


# --- options ---------------------------------------------------------------------------


def test_options_resolve_names_now() -> None:
    from wasm_rr.errors import UsageError

    opts = wp.options(["echo"], [])
    assert opts["allow_run"] == {"echo": shutil.which("echo")}
    assert opts["run_wasm"] == {}
    assert wp.options([], []) == {}
    parsed = Options.of(RunConfig(argv=["g"], families={"process": opts}))
    assert parsed.allow_run["echo"] == shutil.which("echo")
    assert Options.of(RunConfig(argv=["g"])) == Options({}, {})
    # A program not found now is refused now (an old trace's "" still reads).
    with pytest.raises(UsageError, match="no-such-program-wasm-rr is not found on PATH"):
        wp.options(["echo", "no-such-program-wasm-rr"], [])
    old = {"process": {"allow_run": {"gone": ""}, "run_wasm": {}}}
    assert Options.of(RunConfig(argv=["g"], families=old)).allow_run == {"gone": ""}


def test_options_hash_wasm_children(tmp_path: Path) -> None:
    from wasm_rr.errors import UsageError

    from ..conftest import guest

    opts = wp.options([], [f"child={guest('child')}"])
    path, digest = opts["run_wasm"]["child"]
    assert path == str(guest("child")) and len(digest) == 64
    (tmp_path / "x.wasm").write_bytes(b"not wasm")
    for bad in ["child", "=x.wasm", "child=", f"child={tmp_path / 'x.wasm'}", "c=/nonexistent"]:
        with pytest.raises(UsageError):
            wp.options([], [bad])
    with pytest.raises(UsageError):
        wp.options([""], [])


def test_allow_run_relative_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "tool"
    tool.write_text("#!/bin/sh\necho tool ran\n")
    tool.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    cfg = RunConfig(argv=["g"], families={"process": wp.options(["./tool"], [])})
    p = LiveProcess(context(cfg))
    try:
        assert run(p, req("./tool")) == (0, 0, False, b"tool ran\n", b"")
    finally:
        p.close()


# --- LiveProcess -----------------------------------------------------------------------


def test_env_is_passed_exactly(live: LiveProcess) -> None:
    assert run(live, req("env", env=["A=1"])) == (0, 0, False, b"A=1\n", b"")
    assert run(live, req("env")) == (0, 0, False, b"", b"")
    assert run(live, req("env", env=["A=x=y", "B="])) == (0, 0, False, b"A=x=y\nB=\n", b"")


@pytest.mark.parametrize(
    "request_",
    [
        req("env", env=["NOEQUALS"]),
        req("env", env=["=1"]),
        req("echo", "a\0b"),
        req("echo", cwd="a\0b"),
        req("env", env=["A=\0"]),
        req(""),
    ],
    ids=["env-no-eq", "env-empty-name", "nul-arg", "nul-cwd", "nul-env", "empty-program"],
)
def test_malformed_requests_are_einval(live: LiveProcess, request_: Request) -> None:
    assert errno_of(live, request_) == "EINVAL"


def test_args_stdin_status_and_stderr(live: LiveProcess) -> None:
    assert run(live, req("echo", "a b", "", "c")) == (0, 0, False, b"a b  c\n", b"")
    assert run(live, req("cat", stdin=b"x" * 100_000))[3] == b"x" * 100_000
    assert run(live, req("sh", "-c", "echo out; echo err >&2; exit 7")) == (
        7,
        0,
        False,
        b"out\n",
        b"err\n",
    )


def test_signal_and_timeout(
    live: LiveProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(live, req("sh", "-c", "kill -TERM $$")) == (-1, 15, False, b"", b"")
    # What a program wrote before its timeout is kept. Its timeout runs only once it has
    # written its line (an event, not a race with a loaded machine): the wait for the child
    # starts when the line is out.
    ready = tmp_path / "ready"
    real_wait = subprocess.Popen.wait

    def wait_until_ready(self: subprocess.Popen[bytes], timeout: float | None = None) -> int:
        if timeout is not None:
            deadline = time.monotonic() + 60
            while not ready.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return real_wait(self, timeout)

    monkeypatch.setattr(subprocess.Popen, "wait", wait_until_ready)
    script = f"echo before; : > {ready}; sleep 30"
    status, sig, timed_out, out, _ = run(live, req("sh", "-c", script, timeout_ms=200))
    assert (status, sig, timed_out, out) == (-1, 9, True, b"before\n")
    monkeypatch.undo()
    # A program that ends before its timeout did not time out.
    assert run(live, req("true", timeout_ms=60_000)) == (0, 0, False, b"", b"")


def test_denied_and_missing_programs() -> None:
    # A name not found is refused by options(); a configuration that holds "" for it (a trace
    # recorded before that, resumed) still answers ENOENT.
    p = LiveProcess(context(with_missing(config(["echo"]))))
    try:
        assert errno_of(p, req("ls")) == "EACCES"
        # Allowed by name is not allowed by path, nor the other way round.
        assert errno_of(p, req(shutil.which("echo") or "/bin/echo", "x")) == "EACCES"
        assert errno_of(p, req("no-such-program-wasm-rr")) == "ENOENT"
    finally:
        p.close()


def test_program_deleted_after_allowing_is_enoent(tmp_path: Path) -> None:
    copy = tmp_path / "myecho"
    shutil.copy(shutil.which("echo") or "/bin/echo", copy)
    p = LiveProcess(context(config([str(copy)])))
    try:
        assert run(p, req(str(copy), "hi"))[3] == b"hi\n"
        copy.unlink()
        assert errno_of(p, req(str(copy), "hi")) == "ENOENT"
    finally:
        p.close()


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    box = tmp_path / "box"
    (box / "sub" / "deeper").mkdir(parents=True)
    (box / "file.txt").write_text("x")
    (box / "escape").symlink_to("../outside")
    (box / "inner").symlink_to("sub")
    return box


def pwd(p: LiveProcess, cwd: str) -> str:
    status, _, _, out, _ = run(p, req("pwd", cwd=cwd))
    assert status == 0
    return out.decode().rstrip("\n")


def test_cwd_maps_into_the_preopen(sandbox: Path) -> None:
    p = LiveProcess(context(config(dirs=[DirSpec(str(sandbox), "/box")])))
    try:
        root = os.path.realpath(sandbox)
        assert pwd(p, "") == str(sandbox)
        assert pwd(p, ".") == str(sandbox)
        assert pwd(p, "/box") == root
        assert pwd(p, "/box/") == root
        assert pwd(p, "/box/sub") == os.path.join(root, "sub")
        assert pwd(p, "/box/./sub//deeper") == os.path.join(root, "sub", "deeper")
        assert pwd(p, "/box/inner") == os.path.join(root, "sub")  # a symlink inside: fine
        for bad in [
            "/box/..",
            "/box/sub/../..",
            "/box/sub/../sub",  # `..` is refused outright, even when it stays inside
            "/box/escape",  # a symlink leading out
            "/box/file.txt",  # not a directory
            "/box/missing",
            "/etc",
            "/",
            "box",  # relative, the preopen is absolute
            "/boxes",
        ]:
            assert errno_of(p, req("pwd", cwd=bad)) == "ENOTDIR", bad
    finally:
        p.close()


def test_cwd_relative_preopen(sandbox: Path) -> None:
    p = LiveProcess(context(config(dirs=[DirSpec(str(sandbox), ".")])))
    try:
        root = os.path.realpath(sandbox)
        assert pwd(p, "sub") == os.path.join(root, "sub")
        assert errno_of(p, req("pwd", cwd="/sub")) == "ENOTDIR"
    finally:
        p.close()


def test_cwd_nested_preopens_use_the_longest_prefix(tmp_path: Path) -> None:
    a, b = tmp_path / "A", tmp_path / "B"
    (a / "sub").mkdir(parents=True)
    b.mkdir()
    cfg = config(dirs=[DirSpec(str(a), "/d"), DirSpec(str(b), "/d/sub")])
    p = LiveProcess(context(cfg))
    try:
        assert pwd(p, "/d/sub") == os.path.realpath(b)
    finally:
        p.close()


def test_no_preopen_gives_an_empty_scratch_dir() -> None:
    p = LiveProcess(context(config()))
    where = pwd(p, "")
    assert os.path.isdir(where) and os.listdir(where) == []
    assert pwd(p, "/") == where
    assert errno_of(p, req("pwd", cwd="/tmp")) == "ENOTDIR"
    p.close()
    assert not os.path.exists(where)


# --- RecordingProcess / ReplayingProcess ----------------------------------------------

HEADER_KINDS = codes_to_cbor(assign_codes(EVENTS.values()))


def header(cfg: RunConfig) -> Header:
    return Header("t", "w", "00" * 32, "module", "g.wasm", cfg, kinds=HEADER_KINDS)


def record_requests(
    path: Path, cfg: RunConfig, requests: list[Request], runner: Any = None
) -> list[Any]:
    """Record each request through RecordingProcess(LiveProcess); return what the guest got
    (a tuple, or the errno name)."""
    ctx = context(cfg)
    if runner is not None:
        ctx.services["run_wasm"] = runner
    writer = TraceWriter(path, header(cfg))
    rec = RecordingProcess(LiveProcess(ctx), Recorder(writer), ctx)
    got: list[Any] = []
    try:
        for r in requests:
            try:
                got.append(run(rec, r))
            except WorldError as err:
                got.append(err.name)
    finally:
        rec.close()
        writer.close(Footer(writer.events, Outcome(exit_code=0), "", "", 0, 0))
    return got


def replayer(path: Path, runner: Any = None) -> ReplayingProcess:
    trace = load(path)
    ctx = context(trace.header.config)
    if runner is not None:
        ctx.services["run_wasm"] = runner
    return ReplayingProcess(Replayer(trace, ZeroFuel(), False), ctx)


def replay_requests(path: Path, requests: list[Request], runner: Any = None) -> list[Any]:
    rep = replayer(path, runner)
    got: list[Any] = []
    for r in requests:
        try:
            got.append(run(rep, r))
        except WorldError as err:
            got.append(err.name)
    return got


REQUESTS = [
    req("echo", "hello"),
    req("env", env=["A=1", "B=2"]),
    req("cat", stdin=b"short\n"),
    req("cat", stdin=bytes(range(256)) * 400),  # 100 KiB: a blob, and a digest of stdin
    req("sh", "-c", "echo e >&2; exit 4"),
    req("sh", "-c", "kill -9 $$"),
    req("sleep", "5", timeout_ms=150),
    req("ls"),
    req("env", env=["bad"]),
    req("no-such-program-wasm-rr"),
    req("pwd", cwd="/nowhere"),
]


def test_record_then_replay_spawns_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "t.cbor"
    cfg = with_missing(config(PROGRAMS))
    recorded = record_requests(trace, cfg, REQUESTS)
    assert recorded[0] == (0, 0, False, b"hello\n", b"")
    assert recorded[1][3] == b"A=1\nB=2\n"
    assert recorded[3][3] == bytes(range(256)) * 400
    assert recorded[4] == (4, 0, False, b"", b"e\n")
    assert recorded[5] == (-1, 9, False, b"", b"")
    assert recorded[6] == (-1, 9, True, b"", b"")
    assert recorded[7:] == ["EACCES", "EINVAL", "ENOENT", "ENOTDIR"]

    events = [e for e in load(trace).events() if e.name != "journal.intent"]
    assert [e.name for e in events] == ["process.run"] * len(REQUESTS)
    # The stdin is kept under 32 bytes, its blake3 from 32 on.
    assert events[2].question[4] == b"short\n"
    assert events[3].question[4] == stdin_digest(bytes(range(256)) * 400)
    assert len(events[3].question[4]) == 32
    assert events[7].answer[0] == "EACCES" and events[7].answer[1] is None

    def no_spawn(*a: object, **k: object) -> None:
        raise AssertionError("replay spawned a process")

    monkeypatch.setattr("subprocess.Popen", no_spawn)
    monkeypatch.setenv("PATH", "")
    assert replay_requests(trace, REQUESTS) == recorded


@pytest.mark.parametrize(
    "changed",
    [
        req("echo", "hullo"),
        req("printf", "hello"),
        req("echo", "hello", cwd="/x"),
        req("echo", "hello", env=["A=1"]),
        req("echo", "hello", stdin=b"in"),
        req("echo", "hello", timeout_ms=5),
    ],
    ids=["args", "program", "cwd", "env", "stdin", "timeout"],
)
def test_replay_checks_every_field_of_the_call(tmp_path: Path, changed: Request) -> None:
    trace = tmp_path / "t.cbor"
    record_requests(trace, config(), [req("echo", "hello")])
    with pytest.raises(ArgsMismatchError) as info:
        replay_requests(trace, [changed])
    msg = str(info.value)
    # seq 2: the run's intent is event 1.
    assert msg.startswith("seq 2: args mismatch: the recording has process.run('echo', ['hello'],")
    assert f"called process.run({changed.program!r}, {changed.args!r}, {changed.cwd!r}" in msg


def test_replay_checks_a_large_stdin_by_its_digest(tmp_path: Path) -> None:
    trace = tmp_path / "t.cbor"
    data = b"y" * 1000
    record_requests(trace, config(), [req("cat", stdin=data)])
    assert replay_requests(trace, [req("cat", stdin=data)])[0][3] == data
    with pytest.raises(ArgsMismatchError, match=r"\[32 bytes\].*\[32 bytes\]"):
        replay_requests(trace, [req("cat", stdin=data[:-1] + b"z")])


def test_replay_past_the_end_is_an_error(tmp_path: Path) -> None:
    from wasm_rr.errors import DriftError, WasmRRError

    trace = tmp_path / "t.cbor"
    record_requests(trace, config(), [req("echo", "a")])
    rep = replayer(trace)
    run(rep, req("echo", "a"))
    with pytest.raises((DriftError, WasmRRError)):
        rep.run(req("echo", "a"))


# --- wasm children (a fake runner stands for the engine's) ------------------------------


class FakeChild:
    """A runner that answers with fixed output, counting its calls."""

    def __init__(self, out: bytes = b"child out\n", status: int = 0) -> None:
        self.calls: list[tuple[str, Request]] = []
        self.out, self.status = out, status

    def __call__(self, path: str, request: Request) -> Completed:
        self.calls.append((path, request))
        return Completed(path, self.status, 0, False, BytesOutput(self.out), BytesOutput(b""), 1)


@pytest.fixture
def wasm(tmp_path: Path) -> dict[str, list[str]]:
    """A run_wasm option naming a (fake) child file, with its real blake3."""
    kid = tmp_path / "kid.wasm"
    kid.write_bytes(b"\0asm fake child")
    return {"kid": [str(kid), blake3.blake3(kid.read_bytes()).hexdigest()]}


def test_wasm_child_start_and_end_events(tmp_path: Path, wasm: dict[str, list[str]]) -> None:
    trace = tmp_path / "t.cbor"
    child = FakeChild()
    cfg = config([], wasm)
    r = req("kid", "x", env=["G=1"], stdin=b"in")
    assert record_requests(trace, cfg, [r], child) == [(0, 0, False, b"child out\n", b"")]
    assert [(p, q.args, q.env, q.stdin) for p, q in child.calls] == [
        (wasm["kid"][0], ["x"], ["G=1"], b"in")
    ]
    events = list(load(trace).events())
    assert [e.name for e in events] == ["process.wasm_start", "process.wasm_end"]
    assert events[0].answer == (None, wasm["kid"][1])
    assert events[1].answer[0] == 0 and events[1].answer[3:] == (10, 0)

    again = FakeChild()
    assert replay_requests(trace, [r], again) == [(0, 0, False, b"child out\n", b"")]
    assert len(again.calls) == 1  # replay re-runs the child
    with pytest.raises(OutputMismatchError, match="child kid ending with status 0, 10 B"):
        replay_requests(trace, [r], FakeChild(b"other\n"))


def test_wasm_child_bad_request_is_recorded(tmp_path: Path, wasm: dict[str, list[str]]) -> None:
    trace = tmp_path / "t.cbor"
    child = FakeChild()
    r = req("kid", env=["bad"])
    assert record_requests(trace, config([], wasm), [r], child) == ["EINVAL"]
    assert child.calls == []
    assert replay_requests(trace, [r], child) == ["EINVAL"]
    assert child.calls == []


def test_wasm_child_bad_cwd_replays(tmp_path: Path, wasm: dict[str, list[str]]) -> None:
    trace = tmp_path / "t.cbor"
    r = req("kid", cwd="/nowhere")
    recorded = record_requests(trace, config([], wasm), [r], FakeChild())
    assert recorded == ["ENOTDIR"]
    assert replay_requests(trace, [r], FakeChild()) == recorded
