"""The ``wasm-rr`` command line.

Exit status: the guest's own (its exit code; 134 when it trapped), or 125 with one line
``wasm-rr: ...`` on stderr for every usage, trace and drift error, or 74 when a replay matched
but its output could not be written, or 70 with one line ``wasm-rr: internal error: ...`` for a
bug in wasm-rr. wasm-rr's lines always start a line of
their own, even after a guest's unfinished stderr line.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO, TypeVar, cast

import click

from . import __version__, api, engine
from .abi.interrupt import Watchdog
from .compiled import NO_CACHE_ENV
from .config import DirSpec, env_problem, readable
from .config import shown as shown_text
from .errors import (
    EXIT_INTERNAL,
    EXIT_TOOL_ERROR,
    EXIT_TRAP,
    Interrupted,
    OutputLostError,
    WasmRRError,
)
from .lang import SitesTable
from .trace.schema import MAGIC_BYTES, Outcome
from .world import Streams
from .world.base import describe

DEFAULT_TRACE = "wasm-rr-trace.cbor"


class _LineTracker:
    """The guest's stderr, remembering whether the last byte written to it ended a line (so
    that wasm-rr's own messages start on a new line)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self.mid_line = False

    def write(self, data: bytes) -> int:
        n = self._stream.write(data)
        if data:
            self.mid_line = data[-1:] != b"\n"
        return n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


_guest_stderr: list[_LineTracker] = []
"""The guest's stderr stream of the command being run (at most one)."""


class _ClosedBuffer:
    def write(self, data: bytes) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))

    def flush(self) -> None:
        pass

    def fileno(self) -> int:
        raise OSError(errno.EBADF, os.strerror(errno.EBADF))


class _ClosedStream:
    """A standard stream that was closed when wasm-rr started (``>&-``), where Python has
    None: wasm-rr's own text goes nowhere, and the guest's bytes (``.buffer``) fail with
    EBADF, as a write to a closed descriptor does (recording, the guest gets that errno;
    replaying, the output is reported lost)."""

    def __init__(self) -> None:
        self.buffer = _ClosedBuffer()

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _streams(with_stdin: bool) -> Streams:
    stdin: BinaryIO | None = None
    if with_stdin and sys.stdin is not None:
        stdin = sys.stdin.buffer
    stderr = _LineTracker(sys.stderr.buffer)
    _guest_stderr[:] = [stderr]
    return Streams(stdin=stdin, stdout=sys.stdout.buffer, stderr=cast(BinaryIO, stderr))


def _own_line() -> None:
    """Flush stdout, and end the guest's unfinished stderr line before a line of wasm-rr's."""
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
    if _guest_stderr and _guest_stderr[0].mid_line:
        _guest_stderr[0].mid_line = False
        sys.stderr.write("\n")


def _env(specs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not name:
            raise click.UsageError(f"--env {spec!r}: expected NAME or NAME=VALUE")
        problem = env_problem(name, value)
        if problem is not None:
            raise click.UsageError(f"--env {spec!r}: {problem}; expected NAME or NAME=VALUE")
        if sep:
            env[name] = value
        elif name in os.environ:
            env[name] = os.environ[name]
    return env


def _dirs(rw: tuple[str, ...], ro: tuple[str, ...]) -> list[DirSpec]:
    """``--dir HOST[::GUEST]`` (as wasmtime's CLI) and ``--ro-dir`` (the same, read-only)."""
    dirs = []
    for spec, readonly in [(s, False) for s in rw] + [(s, True) for s in ro]:
        host, sep, guest = spec.partition("::")
        if not host:
            raise click.UsageError(f"--dir {spec!r}: expected HOST or HOST::GUEST")
        dirs.append(DirSpec(host, guest if sep else host, readonly))
    return dirs


_FC = TypeVar("_FC", bound=Callable[..., Any])


def _timeout_option(help: str, default: float | None = None) -> Callable[[_FC], _FC]:
    """``--timeout SECONDS``, the same type everywhere; the help says what it stops where."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0, min_open=True),
        default=default,
        show_default=default is not None,
        metavar="SECONDS",
        help=help,
    )


_TIMEOUT_OPTION = _timeout_option(
    "Stop the guest when it runs longer than this (exit status 124; the trace keeps what was "
    "recorded)."
)
"""``record`` and ``run``'s: the one run, recorded."""

# The options `hunt` and `fuzz` share: the same names, types, ranges and metavars.


def _runs_option(default: str) -> Callable[[_FC], _FC]:
    """``--runs N``; ``default`` is the budget when neither --runs nor --time is given."""
    return click.option(
        "--runs",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Stop after N runs (without --runs or --time: {default}).",
    )


def _time_option(default: str) -> Callable[[_FC], _FC]:
    """``--time SECONDS``; ``default`` as for :func:`_runs_option`."""
    return click.option(
        "--time",
        "seconds",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="SECONDS",
        help=f"Stop after SECONDS (without --runs or --time: {default}).",
    )


def _seed_option(help: str, default: int | None) -> Callable[[_FC], _FC]:
    """``--seed SEED``: 0 or more (Python's random.Random(-n) is random.Random(n))."""
    return click.option(
        "--seed",
        type=click.IntRange(min=0),
        default=default,
        show_default=default is not None,
        metavar="SEED",
        help=help,
    )


_JOBS_OPTION = click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Local worker processes.",
)
_CLUSTER_OPTION = click.option(
    "--cluster",
    default=None,
    metavar="ADDRESS",
    help="Run on a Dask cluster (tcp://scheduler:8786; needs wasm-rr[cluster]).",
)
_ENV_OPTION = click.option(
    "--env",
    "env_specs",
    multiple=True,
    metavar="NAME[=VALUE]",
    help="Give the guest an environment variable (NAME alone: the host's value).",
)

_DIR_OPTIONS = [
    click.option(
        "--dir",
        "dirs",
        multiple=True,
        metavar="HOST[::GUEST]",
        help="Give the guest a host directory, seen at GUEST (default: the same path).",
    ),
    click.option(
        "--ro-dir",
        "ro_dirs",
        multiple=True,
        metavar="HOST[::GUEST]",
        help="Like --dir, read-only: the guest cannot create, change or delete anything in it.",
    ),
]


def _report(outcome: Outcome, sites: SitesTable | None = None) -> int:
    """Print a trap like wasmtime does and return the exit status for an outcome.

    A ``.tape`` program's runtime error is shown as ``file:line:col: message``, from the site
    the program was at when it trapped."""
    if outcome.trap is None:
        return (outcome.exit_code or 0) & 0xFF if outcome.exit_code is not None else 0
    trap = outcome.trap
    message = trap.message
    if sites is not None and trap.site is not None:
        where = sites.describe(trap.site)
        if where is not None and any(str(f[1]).startswith("tape_error") for f in trap.frames):
            message = where
        elif where is not None:
            message = f"{trap.message} (at {where.rsplit(': ', 1)[0]})"
    _own_line()
    lines = [f"wasm-rr: guest trapped: {message}"]
    if trap.frames:
        lines.append("wasm backtrace:")
        for i, (index, name, module_offset, _func_offset) in enumerate(trap.frames):
            shown = name if name else f"<wasm function {index}>"
            lines.append(f"    {i}: {module_offset:#8x} - {shown}")
    sys.stdout.flush()
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()
    return EXIT_TRAP


_command: list[str] = []
"""The command being run (``replay``...): its errors name what it takes (see ``main``)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="wasm-rr")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Record a WASI program's run once, replay it byte-identically forever."""
    _command[:] = [ctx.invoked_subcommand or ""]


def _recording_options(f: Any) -> Any:
    """What `record` and `run` share: the guest, the trace, its environment, directories, a
    timeout and arguments."""
    decorators = [
        click.argument("guest", type=click.Path(dir_okay=False)),
        click.option(
            "-t",
            "--trace",
            "trace_path",
            default=DEFAULT_TRACE,
            show_default=True,
            help="Where to write the trace.",
        ),
        _ENV_OPTION,
        *_DIR_OPTIONS,
        *_FAMILY_OPTIONS,
        _TIMEOUT_OPTION,
        click.argument("args", nargs=-1, type=click.UNPROCESSED),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


_FAMILY_OPTIONS = [
    click.option(
        "--allow-run",
        "allow_run",
        multiple=True,
        metavar="NAME|PATH",
        help="Let the guest run this host program (found on PATH now; denied by default).",
    ),
    click.option(
        "--run-wasm",
        "run_wasm",
        multiple=True,
        metavar="NAME=PATH.wasm",
        help="A guest's call to run NAME runs this wasm module in process, under the same "
        "recording.",
    ),
    click.option(
        "--allow-http",
        "allow_http",
        multiple=True,
        metavar="HOST[:PORT]",
        help="Let the guest send HTTP requests to this host (without a port: 80 for http, 443 "
        "for https; denied by default).",
    ),
    click.option(
        "--redact-header",
        "redact_headers",
        multiple=True,
        metavar="NAME",
        help="Never store this header's value (besides Authorization, Cookie, "
        "Proxy-Authorization): a keyed digest for requests, a placeholder for responses.",
    ),
    click.option(
        "--http-idempotency-key",
        "http_idempotency_key",
        is_flag=True,
        help="Send every non-idempotent HTTP request (POST, PATCH...) with an Idempotency-Key "
        "header unique to this trace and request, so that `resume` may send one in flight again.",
    ),
]
"""Options of the effect families, each turned into its family's configuration below."""


@contextlib.contextmanager
def _progress_bar(
    label: str, runs: int | None, seconds: float | None
) -> Iterator[Callable[[int, float, str], None]]:
    """click's progress bar on stderr, over the run budget (or the time budget), showing a
    status line: ``bar(runs_done, seconds_elapsed, status)``. Nothing when stderr is not a
    terminal."""
    if not sys.stderr.isatty():
        yield lambda done, elapsed, status: None
        return
    by_runs = runs is not None
    length = runs if runs is not None else max(1, int((seconds or 1.0) * 10))
    with click.progressbar(
        length=length,
        label=label,
        file=sys.stderr,
        show_eta=by_runs,
        show_pos=False,
        item_show_func=lambda status: status,
    ) as bar:

        def update(done: int, elapsed: float, status: str) -> None:
            step = min(length, done if by_runs else int(elapsed * 10)) - bar.pos
            bar.update(max(0, step), status)

        yield update


def _family_config(o: dict[str, Any]) -> dict[str, object]:
    families = api.family_options(
        o["allow_run"], o["run_wasm"], o["allow_http"], o["redact_headers"]
    )
    if o.get("http_idempotency_key"):
        from .world import http

        http_opts = dict(families.get("http") or {})  # type: ignore[call-overload]
        http_opts["idempotency_key"] = http.idempotency_token()
        families["http"] = http_opts
    return families


def _record(
    guest: str,
    trace_path: str | None,
    env_specs: tuple[str, ...],
    dirs: tuple[str, ...],
    ro_dirs: tuple[str, ...],
    args: tuple[str, ...],
    timeout: float | None = None,
    embed_guest: bool = False,
    sign_key: bytes | None = None,
    **family_options: Any,
) -> None:
    prog = api.Program(guest)
    config = prog.config(
        args, _env(env_specs), _dirs(dirs, ro_dirs), _family_config(family_options)
    )
    streams = _streams(True)
    stdin, stdout, stderr = streams.stdin, streams.stdout, streams.stderr
    result: api.Result
    try:
        if trace_path is None:
            result = prog.run(
                config=config, timeout=timeout, stdin=stdin, stdout=stdout, stderr=stderr
            )
        else:
            result = prog.record(
                config=config,
                trace=trace_path,
                embed_guest=embed_guest,
                sign_key=sign_key,
                timeout=timeout,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the trace keeps every event recorded so far (replaying it stops at "
            "the cut)"
            if trace_path is not None
            else "interrupted"
        ) from None
    raise SystemExit(_report(result.outcome, prog.guest.sites))


_SIGN_KEY_OPTION = click.option(
    "--sign-key",
    "sign_key",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="The signing key: this file's bytes (~/.config/wasm-rr/redact.key is one) instead "
    "of your redaction key.",
)


@cli.command()
@_recording_options
@click.option(
    "--embed-guest",
    is_flag=True,
    help="Store the guest's bytes in the trace, so that `wasm-rr replay TRACE` needs nothing else.",
)
@click.option(
    "--sign",
    is_flag=True,
    help="Sign the trace with your key (the redaction key: $WASM_RR_REDACT_KEY or "
    "~/.config/wasm-rr/redact.key, created on first use), so that `replay --require-signed` "
    "can prove no byte of it changed.",
)
@_SIGN_KEY_OPTION
def record(
    guest: str,
    trace_path: str,
    env_specs: tuple[str, ...],
    dirs: tuple[str, ...],
    ro_dirs: tuple[str, ...],
    args: tuple[str, ...],
    embed_guest: bool,
    sign: bool,
    sign_key: str | None,
    **family_options: Any,
) -> None:
    """Run GUEST and record every answer the outside world gives it.

    GUEST is a wasm module or a .tape script; arguments after `--` are passed to it.
    """
    key = api.signing_key(sign_key) if sign or sign_key is not None else None
    _record(
        guest,
        trace_path,
        env_specs,
        dirs,
        ro_dirs,
        args,
        embed_guest=embed_guest,
        sign_key=key,
        **family_options,
    )


@cli.command()
@click.argument("paths", metavar="[GUEST] TRACE", nargs=-1, required=True)
@click.option(
    "--allow-code-change",
    is_flag=True,
    help="Replay even though the guest's bytes changed since the recording.",
)
@_timeout_option(
    "Stop the replay when the guest runs longer than this (exit status 124): a replay does not "
    "wait for the recorded sleeps and reads, so this bounds the guest's own computing."
)
@click.option(
    "--require-signed",
    is_flag=True,
    help="Refuse a trace that is not signed (`record --sign`), or whose signature does not "
    "verify with your key (or --sign-key's).",
)
@_SIGN_KEY_OPTION
def replay(
    paths: tuple[str, ...],
    allow_code_change: bool,
    timeout: float | None,
    require_signed: bool = False,
    sign_key: str | None = None,
) -> None:
    """Re-run GUEST against the answers recorded in TRACE, reading nothing from the world.

    With TRACE alone, the guest is the one the trace carries (`record --embed-guest`); a GUEST
    given is checked against the trace's.
    """
    if len(paths) > 2:
        raise click.UsageError(f"expected [GUEST] TRACE, got {len(paths)} paths")
    _check_order("replay", paths)
    from .trace import reader

    guest = api.Program(paths[0], cache="r") if len(paths) == 2 else None
    trace = reader.load(paths[-1])
    streams = _streams(False)
    try:
        result = api.replay(
            trace,
            guest,
            allow_code_change=allow_code_change,
            require_signed=require_signed,
            sign_key=None if sign_key is None else api.signing_key(sign_key),
            timeout=timeout,
            stdout=streams.stdout,
            stderr=streams.stderr,
        )
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    except OutputLostError as lost:
        # The run matched; its trap (if it trapped) is reported, then the lost output, whose
        # exit status (74) wins. What is left in the lost stream's buffer goes nowhere.
        _drop_unwritable_output()
        code = guest.guest if guest is not None else engine.embedded_guest(trace)
        _report(lost.result.outcome, code.sites)
        raise
    code = guest.guest if guest is not None else engine.embedded_guest(trace)
    raise SystemExit(_report(result.outcome, code.sites))


def _check_order(command: str, paths: tuple[str, ...]) -> None:
    """``wasm-rr replay TRACE GUEST``: say that the arguments are swapped (rather than that the
    trace is not wasm). Only one order is accepted, the one every command documents."""
    if len(paths) != 2:
        return
    trace, guest = paths
    if _starts_with(trace, MAGIC_BYTES) and (
        guest.endswith(".tape") or _starts_with(guest, b"\0asm")
    ):
        raise click.UsageError(
            f"{trace} is a trace and {guest} a guest: arguments swapped? "
            f"usage: wasm-rr {command} [GUEST] TRACE"
        )


def _starts_with(path: str, prefix: bytes) -> bool:
    """Whether ``path`` is a regular file starting with ``prefix`` (never blocks on a FIFO)."""
    try:
        if not os.path.isfile(path):
            return False
        with open(path, "rb") as f:
            return f.read(len(prefix)) == prefix
    except OSError:
        return False


# ---- hunt: record until a run fails ----------------------------------------------------------


@cli.command()
@click.argument("guest", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(),
    help="Where to write the failing run's trace (with --all: a directory for one trace per "
    "distinct failure).",
)
@click.option(
    "--until",
    "until",
    default=None,
    metavar="EXPR",
    help="When a run counts as a failure (default: fail, a trap or a non-zero exit); e.g. "
    "'trap or stdout~FAIL' (see docs/hunting.md).",
)
@_runs_option("10000 runs")
@_time_option("10000 runs")
@_JOBS_OPTION
@_CLUSTER_OPTION
@click.option(
    "--all",
    "keep_all",
    is_flag=True,
    help="Run the whole budget and keep one trace per distinct failure (OUTPUT is a directory).",
)
@_seed_option(
    "Run i sees clocks and random bytes seeded by SEED+i: a reproducible hunt (default: the "
    "host's clocks and random source).",
    None,
)
@click.option(
    "--no-embed-guest",
    is_flag=True,
    help="Do not store the guest in the traces (replay then needs GUEST too).",
)
@click.option(
    "--stdin",
    "stdin_path",
    default=None,
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Give every run these bytes on stdin (- : read wasm-rr's stdin once).",
)
@_ENV_OPTION
@_DIR_OPTIONS[0]
@_DIR_OPTIONS[1]
@_FAMILY_OPTIONS[0]
@_FAMILY_OPTIONS[1]
@_FAMILY_OPTIONS[2]
@_FAMILY_OPTIONS[3]
@_timeout_option(
    "Stop any one run that takes longer than this: a failure of its own (a hang, site "
    "`timeout`), kept with its trace, which replays to where it was stopped (default: no limit)."
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def hunt(
    guest: str,
    output: str,
    until: str | None,
    runs: int | None,
    seconds: float | None,
    jobs: int,
    cluster: str | None,
    keep_all: bool,
    seed: int | None,
    no_embed_guest: bool,
    stdin_path: str | None,
    env_specs: tuple[str, ...],
    dirs: tuple[str, ...],
    ro_dirs: tuple[str, ...],
    timeout: float | None,
    args: tuple[str, ...],
    **family_options: Any,
) -> None:
    """Record runs of GUEST until one fails, and write that run's trace to OUTPUT.

    Exits 0 when a run failed (its trace replays with `wasm-rr replay OUTPUT`), 1 when the
    budget ran out first. Arguments after `--` are passed to the guest.
    """
    from . import hunt as hunting

    if cluster is not None and jobs > 1:
        raise click.UsageError("--jobs and --cluster: give one (a cluster has its own workers)")
    _hunt_output(output, keep_all)
    stdin = _hunt_stdin(stdin_path)
    prog = api.Program(guest)
    config = prog.config(
        args, _env(env_specs), _dirs(dirs, ro_dirs), _family_config(family_options)
    )
    with _progress_bar("hunt", runs, seconds) as bar:

        def progress(done: int, failed: int, elapsed: float) -> None:
            rate = done / elapsed if elapsed > 0 else 0.0
            bar(done, elapsed, f"{done} runs, {rate:.0f} runs/s, {failed} failed")

        report = hunting.hunt(
            prog,
            config=config,
            until=until,
            runs=runs,
            seconds=seconds,
            jobs=jobs,
            cluster=cluster,
            keep_all=keep_all,
            seed=seed,
            stdin=stdin,
            timeout=timeout,
            embed_guest=not no_embed_guest,
            progress=progress,
        )
    rate = f"{report.rate:.0f} runs/s"
    replay = "wasm-rr replay " + ("" if not no_embed_guest else f"{guest} ")
    interrupted = report.stopped == "interrupted"
    if interrupted and not report.found:
        raise Interrupted(f"interrupted after {_hunt_runs(report.runs)}, no failure found")
    if not report.found:
        budget = "time ran out" if report.stopped == "time" else "the runs ran out"
        click.echo(f"no failure in {_hunt_runs(report.runs)} ({rate}): {budget}")
        raise SystemExit(1)
    if not keep_all:
        first = report.failures[0]
        _hunt_write(output, first.trace)
        click.echo(
            f"found a failure after {_hunt_runs(report.runs)} ({rate}): {first.site.describe()}"
            f"{_hunt_which(first)}; replay: {replay}{output}"
        )
        for name, data in (("stdout", first.stdout), ("stderr", first.stderr)):
            for line in data.decode("utf-8", "replace").splitlines()[-3:]:
                click.echo(f"  {name}| {line}")
        _hunt_end(interrupted, report.runs)
    lines = [
        f"{len(report.failures)} distinct failure{'s' if len(report.failures) > 1 else ''} "
        f"in {_hunt_runs(report.runs)} ({rate}); {_hunt_runs(report.failed_runs)} failed:"
    ]
    last = ""
    for f in report.failures:
        path = os.path.join(output, f"fail-{f.site.id}.cbor")
        _hunt_write(path, f.trace)
        lines.append(f"  {path}  {_hunt_runs(f.count)}  {f.site.describe()}{_hunt_which(f)}")
        last = path
    if len(report.failures) > 1:
        last = os.path.join(output, "fail-<id>.cbor")
    lines.append(f"replay: {replay}{last}")
    _hunt_write(os.path.join(output, "report.txt"), ("\n".join(lines) + "\n").encode())
    click.echo("\n".join(lines))
    _hunt_end(interrupted, report.runs)


def _hunt_end(interrupted: bool, runs: int) -> None:
    """Exit 0 (a failure was found), or after a Ctrl-C 130, what was found being written."""
    if interrupted:
        raise Interrupted(
            f"interrupted after {_hunt_runs(runs)}; the failures found before it are written "
            "(above)"
        )
    raise SystemExit(0)


def _hunt_runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


def _hunt_which(f: Any) -> str:
    return f" (run {f.run}, seed {f.seed})" if f.seed is not None else f" (run {f.run})"


def _hunt_output(output: str, keep_all: bool) -> None:
    """Check (and for --all create) where the traces go, before hunting."""
    target = output if keep_all else os.path.dirname(output) or "."
    if not keep_all and os.path.isdir(output):
        raise click.UsageError(f"-o {output} is a directory (a directory is for --all)")
    try:
        os.makedirs(target, exist_ok=True)
    except OSError as exc:
        raise click.UsageError(f"cannot create {target}: {exc.strerror}") from None
    if not os.access(target, os.W_OK):
        raise click.UsageError(f"cannot write in {target}")


def _hunt_stdin(path: str | None) -> bytes | None:
    if path is None:
        return None
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise click.UsageError(f"--stdin {path}: {exc.strerror}") from None


def _hunt_write(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        raise click.UsageError(f"cannot write {path}: {exc.strerror}") from None


@cli.command()
@_recording_options
@click.option("--no-trace", is_flag=True, help="Run against the real world, recording nothing.")
def run(
    guest: str,
    trace_path: str,
    no_trace: bool,
    env_specs: tuple[str, ...],
    dirs: tuple[str, ...],
    ro_dirs: tuple[str, ...],
    args: tuple[str, ...],
    **family_options: Any,
) -> None:
    """Compile GUEST if it is a .tape script, run it and record it (`record`, for scripts).

    Records into TRACE (wasm-rr-trace.cbor by default) unless --no-trace is given. Arguments
    after `--` are passed to it.
    """
    _record(
        guest, None if no_trace else trace_path, env_specs, dirs, ro_dirs, args, **family_options
    )


# ---- resume ----------------------------------------------------------------------------------


@cli.command()
@click.argument("paths", metavar="[GUEST] TRACE", nargs=-1, required=True)
@click.option(
    "--assume-done",
    is_flag=True,
    help="An effect in flight that cannot be observed (a host program, a POST) happened: the "
    "guest gets a program that exited 0 with no output, or an HTTP connection dropped after "
    "sending.",
)
@click.option(
    "--assume-not-done",
    is_flag=True,
    help="An effect in flight that cannot be observed did not happen: do it now.",
)
@_timeout_option(
    "Stop the guest when it runs longer than this, replayed part and live part together (exit "
    "status 124; the trace keeps what was recorded, and can be resumed again)."
)
def resume(
    paths: tuple[str, ...], assume_done: bool, assume_not_done: bool, timeout: float | None
) -> None:
    """Finish a recording cut off by a crash: replay TRACE up to its cut (doing nothing
    again), then run GUEST on live from there, appending to TRACE.

    Output recorded before the cut is printed again, so the whole run's output appears. An
    effect left in flight is observed, done again when that is safe, or needs --assume-done
    or --assume-not-done (docs/resume.md). With TRACE alone, the guest is the one it carries.
    """
    if len(paths) > 2:
        raise click.UsageError(f"expected [GUEST] TRACE, got {len(paths)} paths")
    if assume_done and assume_not_done:
        raise click.UsageError("--assume-done and --assume-not-done exclude each other")
    _check_order("resume", paths)
    assume = "assume-done" if assume_done else "assume-not-done" if assume_not_done else None
    prog = engine.load_guest(paths[0]) if len(paths) == 2 else None
    streams = _streams(True)
    try:
        result = engine.resume(prog, paths[-1], streams, assume=assume, timeout=timeout)
    except KeyboardInterrupt:
        raise Interrupted(
            "interrupted; the trace keeps every event recorded so far (resume it again)"
        ) from None
    raise SystemExit(_report(result.outcome, result.sites))


@cli.command()
@click.argument("script", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the module.",
)
def compile(script: str, output: str) -> None:
    """Compile a .tape SCRIPT to a wasip1 module that any WASI runtime can run."""
    guest = engine.load_guest(script)
    if not script.endswith(".tape"):
        raise click.UsageError(f"{script} is not a .tape script")
    try:
        with open(output, "wb") as f:
            f.write(guest.wasm)
    except OSError as exc:
        raise click.UsageError(f"cannot write {output}: {exc.strerror}") from None


@cli.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    help="Events to show (0: all).  [default: 50; all with --json]",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: the header, then each event, then the footer.",
)
@click.option(
    "--sign-key",
    "sign_key",
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="Check the signature with the key in this file (default: your redaction key).",
)
def inspect(trace_path: str, limit: int | None, as_json: bool, sign_key: str | None = None) -> None:
    """Show a trace's header, events and footer (clock reads as the values the guest saw), and
    who signed it."""
    import json

    from .trace import reader
    from .trace.view import event_json, shown, text

    trace = reader.load(trace_path)
    signed = api.signature(trace, None if sign_key is None else api.signing_key(sign_key))
    h = trace.header
    sites = engine.recorded_sites(h)
    out = click.echo
    if limit is None:
        limit = 0 if as_json else 50
    if as_json:
        fields = h.to_cbor()
        if h.guest_wasm is not None:
            fields["guest_wasm"] = {"embedded_bytes": len(h.guest_wasm)}
        out(
            json.dumps(
                {
                    "type": "header",
                    "path": trace.path,
                    "format": trace.version,
                    "size": trace.size,
                    **shown(fields),
                }
            )
        )
        for count, ev in enumerate(trace.events(absolute=True)):
            if limit and count >= limit:
                break
            obj: dict[str, Any] = {"type": "event", **event_json(ev)}
            where = engine.site_text(sites, ev.site)
            if where:
                obj["site"] = where.split(" at ", 1)[1]
            out(json.dumps(obj))
        footer = None if trace.footer is None else shown(trace.footer.to_cbor())
        sig = {"state": signed.state, "key_id": signed.key_id, "checked_with": signed.checked_with}
        out(
            json.dumps(
                {
                    "type": "footer",
                    "cut_off": trace.footer is None,
                    "footer": footer,
                    "signature": sig,
                }
            )
        )
        return
    config = h.config
    out(f"trace      {trace.path} (format {trace.version}, {trace.size} bytes)")
    carried = "" if h.guest_wasm is None else f", embedded: {len(h.guest_wasm)} bytes"
    out(
        f"guest      {shown_text(h.guest_name)} ({h.guest_kind}, blake3 {h.guest_blake3[:16]}..."
        f"{carried})"
    )
    out(f"recorded   by wasm-rr {h.tool_version}, wasmtime {h.wasmtime_version}, on {h.host}")
    # A value that is not UTF-8 is shown as its bytes, b'...'.
    out(f"argv       {_readable(config.argv)}")
    out(f"env        {_readable(config.env)}")
    for d in config.dirs:
        where = f"{shown_text(d.host)} as {shown_text(d.guest)}"
        out(f"dir        {where}{' (read-only)' if d.readonly else ''}")
    for name, opts in sorted(config.families.items()):
        out(f"{name:<10} {opts}")
    events = trace.events(absolute=True)
    for count, ev in enumerate(events):
        if limit and count >= limit:
            more = 1 + sum(1 for _ in events)
            out(f"  ... {more} more event{'s' if more > 1 else ''} (--limit 0 shows all)")
            break
        where = engine.site_text(sites, ev.site)
        at = f"  @ {where.split(' at ', 1)[1]}" if where else ""
        if ev.decl is not None and ev.decl.line is not None:
            out(f"  {ev.seq:>6}  +{ev.fuel:<8} {ev.decl.line(ev.question, ev.answer)}{at}")
            continue
        call = describe(ev.decl, ev.question)
        answer = ", ".join(text(a) for a in ev.answer)
        out(f"  {ev.seq:>6}  +{ev.fuel:<8} {call} -> {answer}{at}")
    if trace.footer is None:
        out("footer     none: the recording was cut off")
    else:
        f = trace.footer
        out(
            f"footer     {f.events} events, {f.outcome.describe()}, "
            f"stdout {f.stdout_bytes} B, stderr {f.stderr_bytes} B"
        )
    out(f"signature  {signed.describe()}")


@cli.command()
@click.argument("trace_a", metavar="A", type=click.Path(dir_okay=False))
@click.argument("trace_b", metavar="B", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def diff(trace_a: str, trace_b: str, as_json: bool) -> None:
    """Show the first divergence between two traces, and whether the program took another
    path, asked another question, or the world answered differently.

    Exits 0 when the traces hold the same events, 1 when they differ.
    """
    import json

    from .trace import reader
    from .trace.diff import describe_event, divergence_json, first_divergence

    a, b = reader.load(trace_a), reader.load(trace_b)
    notes = []
    if a.header.guest_blake3 != b.header.guest_blake3:
        notes.append(
            f"different guests ({a.header.guest_blake3[:16]}... and "
            f"{b.header.guest_blake3[:16]}...)"
        )
    ca, cb = a.header.config, b.header.config
    for label, x, y in (("argv", ca.argv, cb.argv), ("env", ca.env, cb.env)):
        if x != y:
            notes.append(f"different {label}: {_readable(x)!r} and {_readable(y)!r}")
    found = first_divergence(a, b)
    if as_json:
        click.echo(json.dumps({"notes": notes, **divergence_json(found, a, b)}))
        raise SystemExit(0 if found is None else 1)
    for note in notes:
        click.echo(f"note: {note}")
    if found is None:
        click.echo(f"no divergence: the same {sum(1 for _ in a.events())} events")
        raise SystemExit(0)
    click.echo(f"first divergence at seq {found.seq}: {found.why}")
    click.echo(f"  {trace_a}: {describe_event(found.a)}")
    click.echo(f"  {trace_b}: {describe_event(found.b)}")
    raise SystemExit(1)


# ---- fuzz ----------------------------------------------------------------------------------------


@cli.command()
@click.argument("guest", type=click.Path(dir_okay=False))
@click.option("--stdin", "to_stdin", is_flag=True, help="Mutate the guest's stdin (the default).")
@click.option(
    "--file",
    "guest_file",
    metavar="GUESTPATH",
    help="Mutate a file the guest reads, written at GUESTPATH (its directory is preopened; a "
    "--dir given there is copied).",
)
@click.option(
    "--args",
    "to_args",
    is_flag=True,
    help="Mutate the guest's arguments (one per line of an input; after the ones given after --).",
)
@click.option("--chaos", is_flag=True, help="Vary the world's answers instead of the input.")
@click.option(
    "--corpus",
    "corpus_dirs",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Seed inputs, one per file (repeatable; none: start from the empty input).",
)
@click.option(
    "-o",
    "--output",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Where crash-<site>.cbor traces are written (created if missing); with --merge, the "
    "merged corpus (a new or empty directory).",
)
@click.option(
    "--dict",
    "dict_path",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help='Tokens to insert and write over (libFuzzer/AFL format: name="value" lines).',
)
@click.option(
    "--merge",
    is_flag=True,
    help="Minimise the --corpus directories instead of fuzzing: run each input once and write "
    "to OUT the smallest input of each path (as libFuzzer's -merge=1, afl-cmin).",
)
@_time_option("60 seconds")
@_runs_option("60 seconds")
@_seed_option(
    "Seed of every random choice: with one worker, the same seed tries the same inputs in the "
    "same order.",
    0,
)
@_JOBS_OPTION
@_CLUSTER_OPTION
@click.option(
    "--until",
    "until",
    metavar="EXPR",
    help="What counts as a crash (default: a trap); see docs/hunting.md.",
)
@click.option(
    "--max-len",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Largest input tried.",
)
@click.option(
    "--save-corpus", is_flag=True, help="Also write inputs that found new paths to OUT/corpus/."
)
@_timeout_option(
    "Stop any one run that takes longer than this: a crash of its own (site `timeout`).", 10.0
)
@_ENV_OPTION
@_DIR_OPTIONS[0]
@_DIR_OPTIONS[1]
@_FAMILY_OPTIONS[0]
@_FAMILY_OPTIONS[1]
@_FAMILY_OPTIONS[2]
@_FAMILY_OPTIONS[3]
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def fuzz(
    guest: str,
    to_stdin: bool,
    guest_file: str | None,
    to_args: bool,
    chaos: bool,
    corpus_dirs: tuple[str, ...],
    out_dir: str,
    dict_path: str | None,
    merge: bool,
    seconds: float | None,
    runs: int | None,
    seed: int,
    jobs: int,
    cluster: str | None,
    until: str | None,
    max_len: int,
    save_corpus: bool,
    timeout: float,
    env_specs: tuple[str, ...],
    dirs: tuple[str, ...],
    ro_dirs: tuple[str, ...],
    args: tuple[str, ...],
    **family_options: Any,
) -> None:
    """Fuzz GUEST: mutate its input (stdin, a file, or its arguments) from a seed corpus, or
    vary the world's answers (--chaos), recording every run; each distinct crash is saved once
    as OUT/crash-<site>.cbor, a trace that `wasm-rr replay` reproduces alone.

    Exit status 0 when no run crashed, 1 when some did (the report lists them), 125 for a
    usage error. With --merge: 0 once the merged corpus is written.
    """
    from . import predicate
    from .fuzz import Session, Setup
    from .fuzz.engine import corpus_files
    from .fuzz.runner import file_dir

    if to_stdin + to_args + (guest_file is not None) > 1:
        raise click.UsageError("choose one of --stdin, --file and --args")
    target: Any = "args" if to_args else "file" if guest_file is not None else "stdin"
    if guest_file is not None:
        file_dir(guest_file)
    if merge:
        options = {
            "--runs": runs,
            "--time": seconds,
            "--dict": dict_path,
            "--save-corpus": save_corpus,
        }
        given = [name for name, value in options.items() if value]
        if given:
            raise click.UsageError(
                f"--merge runs each input once and mutates nothing: {', '.join(given)} "
                "does not apply"
            )
        if not corpus_dirs:
            raise click.UsageError("--merge needs the inputs: --corpus DIR (repeatable)")
        for d in corpus_dirs:
            if not os.path.isdir(d):
                raise click.UsageError(f"--corpus {d}: no such directory (the inputs to merge)")
    predicate.parse(until)  # a bad expression is a usage error before anything runs
    tokens: tuple[bytes, ...] = ()
    if dict_path is not None:
        from .fuzz import dictionary

        tokens = dictionary.load(dict_path)
    inputs = [f for d in corpus_dirs for f in corpus_files(d)]
    prog = api.Program(guest)
    setup = Setup(
        prog.guest.wasm,
        prog.name,
        target,
        guest_file,
        tuple(args),
        tuple(_env(env_specs).items()),
        tuple(_dirs(dirs, ro_dirs)),
        tuple(_family_config(family_options).items()),
        until,
        chaos,
        timeout,
    )
    if merge:
        _fuzz_merge(setup, inputs, out_dir, seed, jobs, cluster)
        return
    bar_runs, bar_seconds = runs, seconds if seconds is not None or runs is not None else 60.0
    with _progress_bar("fuzz", bar_runs, bar_seconds) as bar:

        def status(stats: Any) -> None:
            bar(
                stats.execs,
                stats.seconds,
                f"{stats.execs} runs ({stats.execs_per_s:.0f}/s), corpus {stats.corpus}, "
                f"{stats.paths} paths, {len(stats.crashes)} crashes",
            )

        session = Session(
            setup,
            [data for _, data in inputs],
            out_dir,
            seed=seed,
            runs=runs,
            seconds=bar_seconds,
            jobs=jobs,
            cluster=cluster,
            max_len=max_len,
            save_corpus=save_corpus,
            progress=status,
            dictionary=tokens,
        )
        stats = session.run()
    words = f", dictionary {len(tokens)} tokens" if dict_path is not None else ""
    click.echo(
        f"fuzz: {stats.execs} runs in {stats.seconds:.1f} s ({stats.execs_per_s:.0f}/s, "
        f"{stats.workers} worker{'s' if stats.workers != 1 else ''}), corpus {stats.corpus} "
        f"inputs from {stats.seeds} seed{'s' if stats.seeds != 1 else ''}, {stats.paths} paths"
        f"{words}"
    )
    crashes = sorted(stats.crashes.values(), key=lambda c: -c.count)
    if not crashes:
        click.echo("no crashes")
        raise SystemExit(0)
    click.echo(f"{len(crashes)} distinct crash{'es' if len(crashes) != 1 else ''}:")
    for c in crashes:
        where = c.path or "(no trace)"
        seen = "" if c.new else " (saved before)"
        click.echo(f"  {where}{seen}")
        click.echo(
            f"    {c.site.describe()}: {c.count} run{'s' if c.count != 1 else ''}, "
            f"smallest input {c.smallest} bytes"
        )
    click.echo(f"replay one with: wasm-rr replay {crashes[0].path}")
    raise SystemExit(1)


def _fuzz_merge(
    setup: Any,
    inputs: list[tuple[str, bytes]],
    out_dir: str,
    seed: int,
    jobs: int,
    cluster: str | None,
) -> None:
    """``fuzz --merge``: the corpus minimised into OUT, one summary line."""
    from .fuzz.merge import merge

    with _progress_bar("merge", len({data for _, data in inputs}), None) as bar:

        def status(done: int, total: int, elapsed: float) -> None:
            bar(done, elapsed, f"{done} of {total} inputs run")

        merged = merge(
            setup, inputs, out_dir, seed=seed, jobs=jobs, cluster=cluster, progress=status
        )
    click.echo(merged.summary(out_dir))


# ---- minimize ----------------------------------------------------------------------------------


@cli.command()
@click.argument("trace_path", metavar="TRACE", type=click.Path(dir_okay=False))
@click.argument("guest", required=False, type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "output",
    metavar="MIN.cbor",
    help="Where the minimized run's trace goes (default: TRACE's name with .min.cbor).",
)
@click.option(
    "--runs",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    metavar="N",
    help="At most this many guest runs; then the smallest failing input found so far is kept.",
)
@_timeout_option(
    "Stop any one candidate run that takes longer than this; it does not count as the same "
    "failure (default: 20 times the recorded run, at least 10 s)."
)
@click.option("-q", "--quiet", is_flag=True, help="No line per improvement, only the summary.")
def minimize(
    trace_path: str,
    guest: str | None,
    output: str | None,
    runs: int,
    timeout: float | None,
    quiet: bool,
) -> None:
    """Shrink the inputs of TRACE's failing run (args, environment, stdin, files read from its
    directories) to the smallest that still fail at the same crash site, and record that run
    to MIN.cbor with its guest embedded.

    GUEST defaults to the guest TRACE carries. Each candidate is a new run of the guest;
    clocks and random bytes answer what the recording got, then seeded values.
    """
    from . import minimize as mini

    if output is None:
        stem = trace_path[: -len(".cbor")] if trace_path.endswith(".cbor") else trace_path
        output = f"{stem}.min.cbor"

    def say(line: str) -> None:
        click.echo(f"minimize: {line}", err=True)

    try:
        done = mini.minimize(
            trace_path,
            output,
            guest,
            max_runs=runs,
            timeout=timeout,
            progress=None if quiet else say,
        )
    except KeyboardInterrupt:
        raise Interrupted("interrupted") from None
    click.echo(f"{done.summary()}; wrote {output}")


def _readable(value: list[str] | dict[str, str]) -> object:
    """argv or env with the values that are not UTF-8 as bytes (``b'...'`` when printed)."""
    if isinstance(value, dict):
        return {readable(k): readable(v) for k, v in value.items()}
    return [readable(v) for v in value]


def _no_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        os.environ[NO_CACHE_ENV] = "1"  # also for worker processes; main() restores it


for _name in ("record", "run", "replay", "resume", "hunt", "fuzz", "minimize"):
    cli.commands[_name].params.append(
        click.Option(
            ["--no-cache"],
            is_flag=True,
            expose_value=False,
            callback=_no_cache,
            help="Compile the guest in memory only: read and write no compile cache on disk "
            f"(as {NO_CACHE_ENV}=1).",
        )
    )


@contextlib.contextmanager
def _environ_kept(name: str) -> Iterator[None]:
    """Restore the environment variable ``name`` on the way out (an option may set it)."""
    saved = os.environ.get(name)
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = saved


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into one line and status 125, and any
    other exception (a bug) into one line and status 70."""
    try:
        _main(argv)
    finally:
        _drop_unwritable_output()


def _drop_unwritable_output() -> None:
    """A standard stream that could not take its output (a full disk, a closed pipe) was
    already answered and reported; what is left in its buffer is lost. Point its descriptor
    at /dev/null so that Python's own flush at exit does not fail again and turn the exit
    status into 120 (seen with buffered streams, i.e. without PYTHONUNBUFFERED)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            with contextlib.suppress(OSError, ValueError):
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, stream.fileno())
                os.close(null)
                stream.flush()


def _main(argv: list[str] | None) -> None:
    _guest_stderr.clear()
    _command.clear()
    if sys.stdout is None:
        sys.stdout = cast(Any, _ClosedStream())
    if sys.stderr is None:
        sys.stderr = cast(Any, _ClosedStream())
    try:
        # One watchdog for the whole command: a Ctrl-C that lands where it cannot be raised,
        # or is swallowed there (between two runs of a hunt), still ends the command.
        with Watchdog(), _environ_kept(NO_CACHE_ENV):
            cli.main(args=argv, prog_name="wasm-rr", standalone_mode=False)
    except WasmRRError as exc:
        _say(exc.for_command(_command[0]) if _command else str(exc))
        if exc.context:  # e.g. a .tape error's source line and caret, below the message
            sys.stderr.write("".join(f"{line}\n" for line in exc.context))
            sys.stderr.flush()
        raise SystemExit(exc.exit_status) from None
    except click.exceptions.NoArgsIsHelpError as exc:
        # A bare `wasm-rr` asks what the tool does, as `wasm-rr --help`: the help on stdout,
        # status 0 (as pip, cargo and docker; no input was wrong).
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        raise SystemExit(0) from None
    except click.UsageError as exc:
        # command_path: `wasm-rr` for the group itself, `wasm-rr replay` for a command.
        hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        _say(f"{exc.format_message()}{hint}")
        raise SystemExit(EXIT_TOOL_ERROR) from None
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except (click.Abort, KeyboardInterrupt):
        _say("interrupted")
        raise SystemExit(130) from None
    except BrokenPipeError:
        raise SystemExit(EXIT_TOOL_ERROR) from None
    except SystemExit:
        raise
    except Exception as exc:
        # A bug in wasm-rr. The engine closed the trace on the way out (a recording keeps
        # every event it had); say so in one line, with a status of its own.
        text = " ".join(str(exc).split()) or "(no message)"
        _say(
            f"internal error: {type(exc).__name__}: {text[:500]}; please report it to the "
            "wasm-rr maintainers with the command line and, if there is one, the trace"
        )
        raise SystemExit(EXIT_INTERNAL) from None


def _say(message: str) -> None:
    """Print ``wasm-rr: <message>`` as one line of its own on stderr."""
    _own_line()
    sys.stderr.write(f"wasm-rr: {' '.join(message.splitlines())}\n")
    sys.stderr.flush()


__all__ = [
    "DEFAULT_TRACE",
    "cli",
    "compile",
    "diff",
    "fuzz",
    "hunt",
    "inspect",
    "main",
    "minimize",
    "record",
    "replay",
    "resume",
    "run",
]
