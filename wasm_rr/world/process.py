"""Running programs: a guest asks the host to run a program and gets its status and output.

Deny by default: only programs the user named (``--allow-run NAME|PATH``, resolved on the
host's PATH when the run starts; the resolved path is recorded with each call) are run, and
``--run-wasm NAME=PATH.wasm`` makes NAME a *wasm child*, run in this process under the same
world. A child gets exactly the environment the guest passes, its standard input from the
guest's bytes, and a working directory that must lie inside a preopened directory (the guest
names it by its guest path; "" is the first preopen; with no preopen, an empty temporary
directory). Outputs are spooled to unlinked temporary files and streamed into the trace, so a
child's output never has to fit in wasm-rr's memory.

Recording stores the call (program, args, cwd, env, a digest of stdin, timeout) and its answer
(resolved path, status, signal, timed-out, stdout and stderr as payloads, duration). Replay
spawns nothing: it checks the call and answers from the trace. A wasm child is not answered
from the trace: its own clock reads, random bytes and file reads are events of the same trace,
so replay re-runs it; the trace holds a start event (the call) and an end event (its status and
the digests of its output, checked on replay).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal as signal_mod
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import blake3

from ..config import RunConfig
from ..errors import ArgsMismatchError, OutputMismatchError, UsageError
from .base import Recorder, Replayer, WorldError, describe, kept_bytes
from .family import Context, Family
from .journal import ASSUME_DONE, Journal, JournalReplay, completed, effected
from .process_events import DECLARATION, FAMILY_NAME, RUN, WASM_END, WASM_START

if TYPE_CHECKING:
    import tempfile

CHUNK = 1 << 20


stdin_digest = kept_bytes
"""What a trace keeps of a child's stdin."""

EFFECT = "process.run"
"""The journalled effect: a host program run (wasm children journal their own effects)."""


def intent_call(request: Request) -> list[Any]:
    """The key fields of a run, as its intent holds them."""
    return [request.program, list(request.args), request.cwd, stdin_digest(request.stdin)]


@dataclass(frozen=True)
class Request:
    program: str
    args: list[str]
    cwd: str
    env: list[str]
    stdin: bytes
    timeout_ms: int

    def question(self) -> tuple[Any, ...]:
        return (
            self.program,
            list(self.args),
            self.cwd,
            list(self.env),
            stdin_digest(self.stdin),
            self.timeout_ms,
        )


class Output(Protocol):
    """A child's stdout or stderr: its size, and its bytes read in pieces."""

    size: int

    def chunks(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


@dataclass
class BytesOutput:
    data: bytes
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.data)

    def chunks(self) -> Iterator[bytes]:
        for i in range(0, self.size, CHUNK):
            yield self.data[i : i + CHUNK]

    def close(self) -> None:
        pass


class FileOutput:
    """Output spooled to an unlinked temporary file."""

    def __init__(self, file: io.BufferedRandom) -> None:
        self._file = file
        self.size = os.fstat(file.fileno()).st_size

    def chunks(self) -> Iterator[bytes]:
        fd, pos = self._file.fileno(), 0
        while pos < self.size:
            chunk = os.pread(fd, min(CHUNK, self.size - pos), pos)
            if not chunk:
                break
            pos += len(chunk)
            yield chunk

    def close(self) -> None:
        self._file.close()


def read_all(out: Output) -> bytes:
    return b"".join(out.chunks())


@dataclass
class Completed:
    """A finished program. ``status`` is its exit status, or -1 when ``signal`` ended it."""

    path: str
    status: int
    signal: int
    timed_out: bool
    stdout: Output
    stderr: Output
    duration_ns: int

    def close(self) -> None:
        self.stdout.close()
        self.stderr.close()


class Process(Protocol):
    def run(self, request: Request) -> Completed:
        """Run a program to completion; raises WorldError (EACCES: not allowed, ENOENT: not
        found, ENOTDIR: bad cwd, EINVAL: bad request, EIO: could not start)."""
        ...

    def check(self, request: Request) -> None:
        """Raise the WorldError :meth:`run` would raise before running anything."""
        ...

    def close(self) -> None: ...


ChildRunner = Callable[[str, Request], Completed]
"""Runs a wasm child (the engine provides it: ``Context.services["run_wasm"]``)."""


@dataclass(frozen=True)
class Options:
    """The family's part of the run configuration."""

    allow_run: dict[str, str]
    """Allowed program -> its resolved host path ("" in traces recorded before a program not
    found on PATH was refused at start: the guest is answered ENOENT)."""
    run_wasm: dict[str, list[str]]
    """Wasm child name -> [path of its wasm as given (relative to the working directory), the
    blake3 of its bytes]."""

    @classmethod
    def of(cls, config: RunConfig) -> Options:
        opts = config.options(FAMILY_NAME)
        allow, wasm = opts.get("allow_run", {}), opts.get("run_wasm", {})
        # A damaged trace's header may hold anything here: entries of other shapes are
        # dropped (a guest that runs such a program then drifts, as with any unknown one).
        return cls(
            {str(k): str(v) for k, v in allow.items()} if isinstance(allow, dict) else {},
            {
                str(k): [str(x) for x in v]
                for k, v in wasm.items()
                if type(v) is list and len(v) == 2 and all(type(x) is str for x in v)
            }
            if isinstance(wasm, dict)
            else {},
        )


def options(allow_run: list[str], run_wasm: list[str]) -> dict[str, Any]:
    """The configuration entry for ``--allow-run`` and ``--run-wasm NAME=PATH`` (paths are
    resolved, wasm files hashed, now: the recorded configuration says what was allowed)."""
    allowed: dict[str, str] = {}
    for name in allow_run:
        if not name:
            raise UsageError("--allow-run needs a program name or path")
        import shutil

        found = shutil.which(name)
        if not found:
            # Allowing what cannot run is a mistake (a typo, a missing package): say so now
            # rather than let the guest find out. (Old traces may hold "": not found.)
            where = "is not an executable file" if os.sep in name else "is not found on PATH"
            raise UsageError(
                f"--allow-run {name}: {name} {where}; allow a program that exists here "
                "(name it as found on PATH, or by its path)"
            )
        allowed[name] = os.path.abspath(found)
    wasm: dict[str, list[str]] = {}
    for spec in run_wasm:
        name, sep, path = spec.partition("=")
        if not name or not sep or not path:
            raise UsageError(f"--run-wasm {spec!r}: expected NAME=PATH.wasm")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise UsageError(f"--run-wasm {name}: cannot read {path}: {exc.strerror}") from None
        if data[:4] != b"\0asm":
            raise UsageError(f"--run-wasm {name}: {path} is not a WebAssembly file")
        wasm[name] = [path, blake3.blake3(data).hexdigest()]
    if not allowed and not wasm:
        return {}
    return {"allow_run": allowed, "run_wasm": wasm}


def _die_with_parent() -> None:
    """In the child, before exec: be killed when wasm-rr dies (a SIGKILLed recorder leaves no
    program running; Linux only, elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal_mod.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _check_request(req: Request) -> None:
    strings = [req.program, req.cwd, *req.args, *req.env]
    if not req.program or any("\0" in s for s in strings):
        raise WorldError("EINVAL")
    if any("=" not in e or e.startswith("=") for e in req.env):
        raise WorldError("EINVAL")


class LiveProcess:
    """Runs allowed host programs; wasm children through the engine's runner."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._opts = Options.of(ctx.config)
        self._dirs = ctx.config.dirs
        self._scratch: tempfile.TemporaryDirectory[str] | None = None

    def _cwd(self, guest: str) -> str:
        """The host directory for guest directory ``guest`` (inside a preopen), or ENOTDIR."""
        if not self._dirs:
            if guest not in ("", ".", "/"):
                raise WorldError("ENOTDIR")
            if self._scratch is None:
                import tempfile

                self._scratch = tempfile.TemporaryDirectory(prefix="wasm-rr-cwd-")
            return self._scratch.name
        if guest in ("", "."):
            return self._dirs[0].host
        parts = [p for p in guest.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise WorldError("ENOTDIR")
        # The longest preopen that holds the path, as wasi-libc picks it.
        by_length = sorted(self._dirs, key=lambda d: -len(d.guest.rstrip("/")))
        for d in by_length:
            prefix = [p for p in d.guest.split("/") if p not in ("", ".")]
            absolute = guest.startswith("/") == d.guest.startswith("/")
            if absolute and parts[: len(prefix)] == prefix:
                host = os.path.join(d.host, *parts[len(prefix) :])
                real, root = os.path.realpath(host), os.path.realpath(d.host)
                if (real == root or real.startswith(root + os.sep)) and os.path.isdir(real):
                    return real
                raise WorldError("ENOTDIR")
        raise WorldError("ENOTDIR")

    def check(self, request: Request) -> None:
        """Refuse a request before anything runs (a bad request, or a cwd outside the
        preopens), as :meth:`run` would."""
        _check_request(request)
        self._cwd(request.cwd)

    def run(self, request: Request) -> Completed:
        _check_request(request)
        if request.program in self._opts.run_wasm:
            runner: ChildRunner = self._ctx.services["run_wasm"]
            self._cwd(request.cwd)
            return runner(self._opts.run_wasm[request.program][0], request)
        path = self._opts.allow_run.get(request.program)
        if path is None:
            raise WorldError("EACCES")
        if not path:
            raise WorldError("ENOENT")
        cwd = self._cwd(request.cwd)
        env = dict(e.split("=", 1) for e in request.env)
        timeout = request.timeout_ms / 1000 if request.timeout_ms else None
        # Closed below, or handed to the Completed (whose close() closes them).
        import tempfile

        spool = [tempfile.TemporaryFile() for _ in range(3)]  # noqa: SIM115
        try:
            spool[0].write(request.stdin)
            spool[0].seek(0)
            start = time.monotonic_ns()
            try:
                import subprocess

                child = subprocess.Popen(
                    [path, *request.args],
                    executable=path,
                    cwd=cwd,
                    env=env,
                    stdin=spool[0],
                    stdout=spool[1],
                    stderr=spool[2],
                    start_new_session=True,
                    close_fds=True,
                    preexec_fn=_die_with_parent,
                )
            except FileNotFoundError:
                raise WorldError("ENOENT") from None
            except PermissionError:
                raise WorldError("ENOENT") from None
            except OSError:
                raise WorldError("EIO") from None
            timed_out = False
            try:
                code = child.wait(timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal_mod.SIGKILL)
                code = child.wait()
            except BaseException:  # interrupted: leave no child behind
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, signal_mod.SIGKILL)
                child.wait()
                raise
            duration = time.monotonic_ns() - start
        except BaseException:
            for s in spool:
                s.close()
            raise
        spool[0].close()
        return Completed(
            path,
            code if code >= 0 else -1,
            -code if code < 0 else 0,
            timed_out,
            FileOutput(spool[1]),
            FileOutput(spool[2]),
            duration,
        )

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None


def _digest(out: Output) -> bytes:
    h = blake3.blake3()
    for chunk in out.chunks():
        h.update(chunk)
    return bytes(h.digest())


class RecordingProcess:
    def __init__(self, live: Process, recorder: Recorder, ctx: Context) -> None:
        self._live = live
        self._rec = recorder
        self._wasm = Options.of(ctx.config).run_wasm
        self._run, self._start, self._end = (recorder.code(d) for d in (RUN, WASM_START, WASM_END))
        self._journal = Journal.of(recorder)

    def run(self, request: Request) -> Completed:
        rec = self._rec
        q = request.question()
        if request.program in self._wasm:
            try:
                self._live.check(request)
            except WorldError as err:
                rec.event(self._start, *q, err.name, None)
                raise
            rec.event(self._start, *q, None, self._wasm[request.program][1])
            done = self._live.run(request)
            rec.event(
                self._end,
                done.status,
                _digest(done.stdout),
                _digest(done.stderr),
                done.stdout.size,
                done.stderr.size,
            )
            return done
        journal = self._journal
        pending = journal.intent(EFFECT, intent_call(request))
        try:
            if pending is not None and (
                journal.ask(pending, f"({' '.join([request.program, *request.args])})")
                == ASSUME_DONE
            ):
                # Assumed done: the guest is told the program ran and exited 0, printing nothing
                # (what it printed was lost with the recorder).
                done = Completed(
                    request.program, 0, 0, False, BytesOutput(b""), BytesOutput(b""), 0
                )
            else:
                done = self._live.run(request)
                effected(journal)
        except WorldError as err:
            rec.event(self._run, *q, err.name, None, 0, 0, False, b"", b"", 0)
            raise
        out, err_out = rec.payload_stream(done.stdout), rec.payload_stream(done.stderr)
        rec.event(
            self._run,
            *q,
            None,
            done.path,
            done.status,
            done.signal,
            done.timed_out,
            out,
            err_out,
            done.duration_ns,
        )
        completed(journal)
        return done

    def check(self, request: Request) -> None:
        self._live.check(request)

    def close(self) -> None:
        self._live.close()


class ReplayingProcess:
    """Spawns nothing: answers host programs from the trace, re-runs wasm children."""

    def __init__(self, replayer: Replayer, ctx: Context) -> None:
        self._r = replayer
        self._ctx = ctx
        self._wasm = Options.of(ctx.config).run_wasm
        self._run, self._start, self._end = (replayer.code(d) for d in (RUN, WASM_START, WASM_END))
        self._journal = JournalReplay.of(replayer)

    def run(self, request: Request) -> Completed:
        r = self._r
        q = request.question()
        if request.program in self._wasm:
            error, guest_blake3 = r.take(self._start, *q)
            if error is not None:
                raise WorldError(str(error))
            path = self._wasm[request.program][0]
            try:
                with open(path, "rb") as fh:
                    actual = blake3.blake3(fh.read()).hexdigest()
            except OSError as exc:
                raise UsageError(
                    f"wasm child {request.program}: cannot read {path} ({exc.strerror}); replay "
                    "needs the child the recording ran"
                ) from None
            if actual != guest_blake3:
                raise UsageError(
                    f"wasm child {request.program}: {path} is not the module the recording ran "
                    f"(blake3 {str(guest_blake3)[:16]}..., this file {actual[:16]}...)"
                )
            runner: ChildRunner = self._ctx.services["run_wasm"]
            done = runner(path, request)
            seq = r.seq + 1
            status, out_digest, err_digest, out_size, err_size = r.take(self._end)
            got = (done.status, _digest(done.stdout), _digest(done.stderr))
            if got != (status, out_digest, err_digest):
                raise OutputMismatchError(
                    seq,
                    f"child {request.program} ending with status {status}, "
                    f"{out_size} B of stdout and {err_size} B of stderr",
                    f"it ended with status {done.status}, {done.stdout.size} B of stdout and "
                    f"{done.stderr.size} B of stderr",
                )
            return done
        try:
            if self._journal is not None:
                self._journal.consume(EFFECT, intent_call(request))
            answer = r.take(self._run, *q)
        except ArgsMismatchError as exc:
            raise ArgsMismatchError(
                exc.seq, exc.expected, f"called {describe(RUN, q)}", exc.detail
            ) from None
        error, path, status, sig, timed_out, out, err_out, duration = answer
        if error is not None:
            raise WorldError(str(error))
        return Completed(
            str(path),
            int(status),
            int(sig),
            bool(timed_out),
            BytesOutput(r.resolve(out)),
            BytesOutput(r.resolve(err_out)),
            int(duration),
        )

    def check(self, request: Request) -> None:
        _check_request(request)

    def close(self) -> None:
        pass


FAMILY: Family[Process] = Family(
    FAMILY_NAME,
    DECLARATION.events,
    live=LiveProcess,
    recording=RecordingProcess,
    replaying=ReplayingProcess,
    doc=DECLARATION.doc,
)

__all__ = [
    "CHUNK",
    "EFFECT",
    "FAMILY",
    "BytesOutput",
    "ChildRunner",
    "Completed",
    "FileOutput",
    "LiveProcess",
    "Options",
    "Output",
    "Process",
    "RecordingProcess",
    "ReplayingProcess",
    "Request",
    "intent_call",
    "options",
    "read_all",
    "stdin_digest",
]
