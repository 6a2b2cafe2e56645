"""Running a guest: load it, build the world, link the ABI layer, run, report the outcome.

``record`` runs against the recording world and writes the trace; ``replay`` loads a trace and
runs against the replaying world, then checks that the run ended as the recording did;
``run_live`` runs with no trace at all. Guest exits and traps are outcomes, returned; anything
wrong with the inputs or a divergence is a :class:`~wasm_rr.errors.WasmRRError`, raised.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import platform
import re
import stat
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import blake3

from . import __version__
from .abi import interrupt
from .abi.engines import compile_module
from .abi.interrupt import GuestTimeout, Watchdog
from .abi.memory import GuestFault, GuestMemory
from .abi.outcome import HostErrorHook
from .abi.p1 import run_module
from .config import RunConfig, shown
from .errors import (
    CodeHashMismatchError,
    CorruptTraceError,
    DriftError,
    EmbeddedGuestError,
    GuestLoadError,
    GuestNotCarriedError,
    NotWasmError,
    OutcomeMismatchError,
    RecordingCutOffError,
    RecordingStoppedError,
    TapeCompileError,
    TraceWriteError,
    UnusedEventsError,
    UsageError,
)
from .lang import (
    CompileError,
    Site,
    SitesTable,
    compile_file,
    read_sites_section,
    strip_sites_section,
)
from .trace.events import assign_codes, codes_to_cbor
from .trace.schema import MAGIC_BYTES, Footer, Header, Outcome
from .trace.writer import TraceWriter
from .versions import installed
from .world import (
    HOST,
    Context,
    Sources,
    Streams,
    World,
    journal,
    live_world,
    recording_world,
    replaying_world,
    stops,
)
from .world import cli as cli_family
from .world import stdio as stdio_family
from .world.fs import FsConfigError
from .world.registry import EVENTS
from .world.stdio import STDERR, STDOUT

if TYPE_CHECKING:
    # Imported where used: a recording run never reads a trace.
    from .trace import reader
    from .world.base import Replayer
    from .world.process import Completed, Request

WASMTIME_VERSION = installed("wasmtime")

_KEPT = "; the trace keeps every event recorded so far (replaying it stops at the cut)"

_MODULE_VERSION = b"\x01\x00\x00\x00"
_COMPONENT_VERSION = b"\x0d\x00\x01\x00"


@dataclass(frozen=True)
class Guest:
    path: str
    name: str
    wasm: bytes
    kind: str  # "module" | "component"
    blake3: str
    """The guest's identity: blake3 of its bytes, less a ``wasm-rr.sites`` section (source
    positions only: a whitespace edit of a ``.tape`` script keeps the identity)."""
    sites: SitesTable | None = None
    cache: str = "rw"
    """What the on-disk compile cache may do: ``rw``, or ``r`` for a replay (reads only)."""


@dataclass(frozen=True)
class RunResult:
    outcome: Outcome
    events: int
    trace_path: str | None = None
    sites: SitesTable | None = None
    trace_bytes: bytes | None = None
    """The trace, when it was recorded to memory."""
    lost: dict[int, tuple[int, str]] = field(default_factory=dict)
    """A replay's output streams that could not be written: fd -> (from which byte, why)."""


def as_guest(guest: str | os.PathLike[str] | Guest) -> Guest:
    """A loaded guest as it is, else the guest at that path loaded."""
    return guest if isinstance(guest, Guest) else load_guest(guest)


def guest_from_bytes(wasm: bytes, name: str, path: str | None = None) -> Guest:
    """A guest from its bytes (not a ``.tape`` script: compile those first)."""
    shown = path or name
    if wasm.startswith(MAGIC_BYTES):
        raise NotWasmError(f"{shown} is a wasm-rr trace, not a WebAssembly file")
    if wasm[:4] != b"\0asm":
        raise NotWasmError(f"{shown} is not a WebAssembly file (no \\0asm header)")
    version = wasm[4:8]
    if version == _MODULE_VERSION:
        kind = "module"
    elif version == _COMPONENT_VERSION:
        kind = "component"
    else:
        raise NotWasmError(f"{shown} has an unknown WebAssembly version {version.hex()}")
    return _guest(shown, name, wasm, kind)


def embedded_guest(trace: reader.Trace) -> Guest:
    """The guest a trace carries (``record --embed-guest``), checked against the identity the
    trace was recorded with: altered bytes are refused before they run."""
    h = trace.header
    if h.guest_wasm is None:
        raise GuestNotCarriedError(trace.path)
    guest = guest_from_bytes(h.guest_wasm, h.guest_name, f"{trace.path} (embedded {h.guest_name})")
    if guest.blake3 != h.guest_blake3 or guest.kind != h.guest_kind:
        raise EmbeddedGuestError(
            f"{trace.path}: the embedded guest {h.guest_name} is not the guest the trace was "
            f"recorded against (blake3 {guest.blake3[:16]}..., the header says "
            f"{h.guest_blake3[:16]}...); the trace was altered, use an intact copy"
        )
    return guest


def compile_guest(guest: Guest) -> None:
    """Compile a core-module guest now (a component compiles when it first runs), so that
    every later run of it reuses the compiled code."""
    if guest.kind == "module":
        compile_module(guest)


def load_guest(path: str | os.PathLike[str]) -> Guest:
    """Read a guest file (compiling a ``.tape`` script) and tell a core module from a component
    by its header."""
    p = os.fspath(path)
    what = "script" if p.endswith(".tape") else "guest"
    try:
        data = _read_regular(p, what)
    except FileNotFoundError:
        raise UsageError(f"{what} {p} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read {what} {p}: {exc.strerror}") from None
    if p.endswith(".tape"):
        return _compile_tape(p)
    return guest_from_bytes(data, os.path.basename(p), p)


def _read_regular(path: str, what: str) -> bytes:
    """The bytes of a regular file; anything else (a FIFO that would block, a directory, a
    device) is a :class:`UsageError`. Opened without blocking, checked with fstat."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            from .trace.reader import file_kind

            raise UsageError(
                f"{what} {path} is {file_kind(mode)}, not a "
                f"{'.tape script' if what == 'script' else 'wasm file'}"
            )
        with open(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def _guest(path: str, name: str, wasm: bytes, kind: str) -> Guest:
    try:
        sites = read_sites_section(wasm) if kind == "module" else None
    except ValueError as exc:
        raise GuestLoadError(f"{path} is not a valid WebAssembly module ({exc})") from None
    code = strip_sites_section(wasm) if sites is not None else wasm
    return Guest(path, name, wasm, kind, blake3.blake3(code).hexdigest(), sites)


def _compile_tape(path: str) -> Guest:
    try:
        compiled = compile_file(path)
    except FileNotFoundError:
        raise UsageError(f"script {path} does not exist") from None
    except OSError as exc:
        raise UsageError(f"cannot read script {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"script {path} is not UTF-8 text") from None
    except CompileError as exc:
        raise TapeCompileError(str(exc), tuple(exc.render().split("\n")[1:])) from None
    return _guest(path, os.path.basename(path), compiled.wasm, "module")


class SiteRegister:
    """Reads the site register of a ``.tape`` program: the source site of the host call being
    made (an i32 the program stores in its memory before every call)."""

    def __init__(self, table: SitesTable) -> None:
        self.table = table
        self._mem: GuestMemory | None = None

    def bind(self, mem: GuestMemory) -> None:
        self._mem = mem

    def __call__(self) -> int:
        if self._mem is None:
            return -1
        try:
            return self._mem.u32(self.table.site_addr) - (
                1 << 32 if self._mem.u32(self.table.site_addr) >= 1 << 31 else 0
            )
        except GuestFault:
            return -1

    def describe(self, site: int | None) -> str | None:
        return site_text(self.table, site)


def site_text(table: SitesTable | None, site: int | None) -> str | None:
    """``random.bits at hello.tape:4:11``."""
    if table is None or site is None:
        return None
    s = table.site(site)
    return None if s is None else f"{s.name} at {table.file}:{s.line}:{s.col}"


def recorded_sites(header: Header) -> SitesTable | None:
    data = header.extra.get("sites")
    if not isinstance(data, dict):
        return None
    try:
        sites = [Site(*s) for s in data["sites"]]
        table = SitesTable(1, str(data["file"]), int(data["site_addr"]), sites)
    except (KeyError, TypeError, ValueError):
        return None
    well_formed = all(
        type(s.name) is str and type(s.line) is int and type(s.col) is int for s in sites
    )
    return table if well_formed else None


def _sited_drift(world: World, register: SiteRegister | None) -> HostErrorHook | None:
    """For a .tape program being replayed: a drift error names the source sites of both the
    recorded call and this run's call."""
    replayer = world.replayer
    if register is None or replayer is None:
        return None

    def at_sites(exc: BaseException, site: int | None) -> BaseException | None:
        if not isinstance(exc, DriftError):
            return None
        recorded = site_text(recorded_sites(replayer.trace.header), replayer.last_site())
        return exc.at_sites(recorded, register.describe(site))

    return at_sites


def _run(
    guest: Guest,
    world: World,
    register: SiteRegister | None = None,
    timeout: float | None = None,
    note: str = "",
) -> Outcome:
    """Run the guest to its outcome; Ctrl-C raises KeyboardInterrupt and running longer than
    ``timeout`` seconds :class:`~wasm_rr.abi.interrupt.GuestTimeout` (whose message ends with
    ``note``), even while the guest spins in pure wasm."""
    with Watchdog(timeout, note):
        if guest.kind == "component":
            from .abi.p2 import run_component  # the component host, only for components

            return run_component(guest, world)
        return run_module(guest, world, register, _sited_drift(world, register))


def _run_child(parent: World, wasm_path: str, request: Request) -> Completed:
    """Run a wasm child (``--run-wasm``) to completion under ``parent``'s world: its clocks,
    random, files, processes and poll are the parent's (recorded, or replayed), its arguments,
    environment and stdio are the request's."""
    from .world.process import BytesOutput, Completed  # only a guest that runs programs

    guest = load_guest(wasm_path)
    if parent.mode == "replay":
        guest = replace(guest, cache="r")
    if guest.kind != "module":
        raise UsageError(
            f"--run-wasm {request.program}: {wasm_path} is a component; "
            "wasm children must be core modules"
        )
    out, err = io.BytesIO(), io.BytesIO()
    streams = Streams(io.BytesIO(request.stdin), out, err)
    config = replace(
        parent.config,
        argv=[request.program, *request.args],
        env=dict(e.split("=", 1) for e in request.env),
    )
    ctx = Context(config, streams, parent.context.services)
    impls = dict(parent.impls)
    impls["cli"] = cli_family.FAMILY.live(ctx)
    impls["io"] = stdio_family.FAMILY.live(ctx)
    child = World(impls, ctx, parent.mode, parent.recorder, parent.replayer, build=parent.get)
    if parent.stops is not None and parent.replayer is not None:
        # Replaying a child that was still running when the recording ended: bounded too.
        child.fuel_limit = parent.stops.children.get(parent.replayer.seq)
    start = time.monotonic_ns()
    try:
        outcome = run_module(guest, child)
    finally:
        if parent.fuel is not None:
            parent.attach_fuel(parent.fuel)  # the parent's instructions count again
    if outcome.trap is not None:
        err.write(f"wasm-rr: child {request.program} trapped: {outcome.trap.message}\n".encode())
        status = 134
    else:
        status = (outcome.exit_code or 0) & 0xFF
    return Completed(
        wasm_path,
        status,
        0,
        False,
        BytesOutput(out.getvalue()),
        BytesOutput(err.getvalue()),
        time.monotonic_ns() - start,
    )


def _provide(world: World) -> World:
    """Give the world's families the services only the engine has (running wasm children)."""
    world.context.services["run_wasm"] = functools.partial(_run_child, world)
    return world


@functools.cache
def _kinds() -> dict[int, str]:
    """The kinds a new trace declares (every family's events, numbered in registry order)."""
    return codes_to_cbor(assign_codes(EVENTS.values()))


def footer(writer: TraceWriter, world: World, outcome: Outcome) -> Footer:
    """What ends a recording: its event count, the outcome, and what the guest printed."""
    log = world.output
    return Footer(
        events=writer.events,
        outcome=outcome,
        stdout_blake3=log.digest(STDOUT),
        stderr_blake3=log.digest(STDERR),
        stdout_bytes=log.sizes[STDOUT],
        stderr_bytes=log.sizes[STDERR],
        end_time_ns=time.time_ns(),
    )


def _header(guest: Guest, config: RunConfig, embed: bool = False) -> Header:
    return Header(
        tool_version=__version__,
        wasmtime_version=WASMTIME_VERSION,
        guest_blake3=guest.blake3,
        guest_kind=guest.kind,
        guest_name=guest.name,
        config=config,
        kinds=_kinds(),
        start_time_ns=time.time_ns(),
        host=f"{platform.system()} {platform.machine()} python {platform.python_version()}",
        extra=_sites_extra(guest.sites),
        guest_wasm=guest.wasm if embed else None,
    )


def _sites_extra(table: SitesTable | None) -> dict[str, object]:
    """The source sites of a .tape program as recorded (drift messages show where the recorded
    call was made even after the script was edited)."""
    if table is None:
        return {}
    return {
        "sites": {
            "file": table.file,
            "site_addr": table.site_addr,
            "sites": [[s.name, s.line, s.col] for s in table.sites],
        }
    }


_CHAIN_PREFIX = re.compile(r"^\d+: ")


def same_outcome(recorded: Outcome, replayed: Outcome) -> bool:
    """Whether a replay ended as its recording did. Traps are compared without the ``N: `` of
    wasmtime's error chain, which releases before 0.2 kept in the message (their traces must
    keep replaying)."""
    if recorded.trap is None or replayed.trap is None:
        return recorded == replayed
    a, b = recorded.trap, replayed.trap
    return replace(a, message=_CHAIN_PREFIX.sub("", a.message)) == replace(
        b, message=_CHAIN_PREFIX.sub("", b.message)
    )


def check_config(guest: Guest, config: RunConfig) -> None:
    """Refuse, before anything runs or is written, a configuration this guest cannot be given:
    a value that stands for no bytes (only the library API can pass one), or, for a WASI 0.2
    component, an argument, environment variable or directory name that is not UTF-8 (the
    component model's strings are Unicode; a preview1 module receives them as bytes)."""
    bad = config.unrepresentable()
    if bad is not None:
        what, value = bad
        raise UsageError(
            f"{what} ({value!r}) holds a lone surrogate that stands for no byte; give bytes, "
            "or text as os.fsdecode makes it"
        )
    if guest.kind != "component":
        return
    found = config.not_utf8()
    if found is not None:
        what, value = found
        hint = (
            "give it a UTF-8 name with --dir HOST::NAME"
            if what.startswith("the guest name")
            else "use UTF-8"
        )
        raise UsageError(
            f"{what} ({shown(value)}) is not UTF-8, and {guest.path} is a WASI 0.2 component, "
            f"whose arguments, environment and directory names are strings; {hint}, or run a "
            "preview1 module, which receives them as bytes"
        )


def _live_world(config: RunConfig, streams: Streams, sources: Sources) -> World:
    try:
        return live_world(config, streams, sources)
    except FsConfigError as exc:
        raise UsageError(str(exc)) from None


def record(
    guest_path: str | os.PathLike[str] | Guest,
    trace_path: str | os.PathLike[str] | None,
    config: RunConfig,
    streams: Streams,
    timeout: float | None = None,
    *,
    sources: Sources = HOST,
    embed_guest: bool = False,
    sign_key: bytes | None = None,
) -> RunResult:
    """Run the guest against the real world configured by ``config`` and record every answer
    into ``trace_path`` (``None``: into memory, returned as the result's ``trace_bytes``).
    ``config.argv[0]`` is the program name the guest sees; its clocks and random source are
    ``sources`` (the host's by default). With ``embed_guest`` the trace carries the guest's
    bytes; with ``sign_key`` its footer holds a signature (:mod:`.trace.sign`). Interrupted
    (Ctrl-C, or ``timeout`` seconds passed), the trace keeps every event recorded so far (and
    is unsigned: a signature is written with the footer)."""
    guest = as_guest(guest_path)
    # Fail on a guest that does not compile, a configuration it cannot be given or a directory
    # that cannot be opened before the trace file exists.
    check_config(guest, config)
    if guest.kind == "module":
        compile_module(guest)
    live = _live_world(config, streams, sources)
    with interrupt.held():  # a Ctrl-C from here stops the run at its start: the trace is closed
        try:
            writer = TraceWriter(trace_path, _header(guest, config, embed_guest))
        except BaseException:
            live.close()
            raise
        register = SiteRegister(guest.sites) if guest.sites is not None else None
        if register is not None:
            writer.enable_sites(register)
        # Recording starts after the site register is attached: the hot paths capture put.
        world = _provide(recording_world(live, writer))
    started = time.monotonic_ns()
    try:
        outcome = _run(guest, world, register, timeout, _KEPT)
    except BaseException as exc:
        # Keep every event recorded so far (the trace reads as cut off), and where a Ctrl-C
        # or the timeout stopped the guest: replay stops it there too.
        try:
            _note_stop(writer, exc, time.monotonic_ns() - started, timeout)
        finally:
            writer.close(None)
            world.close()
        if isinstance(exc, GuestTimeout) and writer.data is not None:
            exc.trace = writer.data
        raise
    world.close()
    writer.close(footer(writer, world, outcome), sign_key)
    return RunResult(
        outcome,
        writer.events,
        None if trace_path is None else os.fspath(trace_path),
        guest.sites,
        writer.data,
    )


def _note_stop(writer: TraceWriter, exc: BaseException, ran_ns: int, timeout: float | None) -> None:
    """End a recording stopped by Ctrl-C or its timeout with a ``journal.stopped`` event,
    stamped with the instructions the guest ran since the last event."""
    if isinstance(exc, KeyboardInterrupt):
        fields: tuple[object, ...] = (journal.INTERRUPT, ran_ns, None)
    elif isinstance(exc, GuestTimeout) and timeout is not None:
        fields = (journal.TIMEOUT, ran_ns, round(timeout * 1e9))
    else:
        return  # any other end is a cut: replay bounds it (see world.stops)
    with contextlib.suppress(TraceWriteError, OSError):  # a full disk: the cut stays a cut
        writer.last_event(writer.code(journal.STOPPED), *fields)


def replay(
    guest_path: str | os.PathLike[str] | Guest | None,
    trace_path: str | os.PathLike[str] | reader.Trace,
    streams: Streams,
    allow_code_change: bool = False,
    timeout: float | None = None,
) -> RunResult:
    """Re-run the guest against the recorded answers; raise at the first divergence. Nothing
    is written but the guest's output (the compile cache is only read). With no guest, the
    one the trace carries runs (see :func:`embedded_guest`). An output stream that could not
    be written does not stop the replay: the result's ``lost`` says which, from where."""
    from .trace import reader

    trace = trace_path if isinstance(trace_path, reader.Trace) else reader.load(trace_path)
    guest = embedded_guest(trace) if guest_path is None else as_guest(guest_path)
    guest = replace(guest, cache="r")
    if guest.blake3 != trace.header.guest_blake3 and not allow_code_change:
        raise CodeHashMismatchError(trace.header.guest_blake3, guest.blake3)
    bad = trace.header.config.not_utf8() if guest.kind == "component" else None
    if bad is not None:
        what, value = bad
        raise CorruptTraceError(
            f"{trace.path}: {what} ({shown(value)}) is not UTF-8, which no recording of a "
            "component holds; the trace is damaged, use an intact copy"
        )
    check_fuel = trace.header.wasmtime_version == WASMTIME_VERSION and not allow_code_change
    world = _provide(
        replaying_world(trace, Streams(None, streams.stdout, streams.stderr), check_fuel)
    )
    rep = world.replayer
    assert rep is not None
    plan = stops.plan(trace, check_fuel)
    if plan is not None:  # an unfinished recording: the guest stops where it ends
        world.stops = plan
        world.fuel_limit = plan.limit
    register = SiteRegister(guest.sites) if guest.sites is not None else None
    if register is not None:
        rep.enable_sites(register)
    try:
        outcome = _run(guest, world, register, timeout, "; replay stopped")
    finally:
        world.close()
    left = rep.remaining()
    if plan is not None:
        _unfinished(plan, rep, left, outcome)
    if left:
        raise UnusedEventsError(
            rep.seq + 1,
            f"{left} more event(s), next {rep.next_description()}",
            f"ended ({outcome.describe()})",
        )
    footer = trace.footer
    if footer is None:
        raise RecordingCutOffError(rep.seq)
    if not same_outcome(footer.outcome, outcome):
        raise OutcomeMismatchError(
            rep.seq, footer.outcome.describe(), f"ended with {outcome.describe()}"
        )
    log = world.output
    for fd, name, digest in (
        (STDOUT, "stdout", footer.stdout_blake3),
        (STDERR, "stderr", footer.stderr_blake3),
    ):
        if log.digest(fd) != digest:
            # Every write matched its event, so the events and the footer disagree: damage.
            raise CorruptTraceError(
                f"{trace.path}: the {name} its events replay ({log.sizes[fd]} bytes) is not the "
                f"{name} its footer records; the trace is damaged, use an intact copy or "
                "re-record"
            )
    return RunResult(outcome, rep.seq, trace.path, guest.sites, lost=dict(log.lost))


def _unfinished(plan: stops.StopPlan, rep: Replayer, left: int, outcome: Outcome) -> None:
    """A replay of an unfinished recording ended (the guest was stopped where the recording
    ends, or it ended there itself): say where, as the recording's end does."""
    stopped = plan.stopped
    out_of_fuel = outcome.trap is not None and outcome.trap.code == "OUT_OF_FUEL"
    if stopped is not None and rep.seq == plan.events:
        # Every event replayed: the guest ran to where the recording was stopped (a Ctrl-C
        # that came as it ended, too).
        raise RecordingStoppedError(
            rep.seq, stopped.why, plan.instructions, stopped.exit_status, plan.how
        )
    if not out_of_fuel:
        return
    if stopped is None and left == 0:
        raise RecordingCutOffError(rep.seq, stops.MARGIN)
    raise UnusedEventsError(
        rep.seq + 1,
        f"{left} more event(s), next {rep.next_description()}",
        f"was stopped at instruction {plan.limit}, where the recording ends",
    )


def run_live(
    guest_path: str | os.PathLike[str] | Guest,
    config: RunConfig,
    streams: Streams,
    timeout: float | None = None,
    *,
    sources: Sources = HOST,
) -> RunResult:
    """Run the guest against the real world (clocks and random from ``sources``), recording
    nothing."""
    guest = as_guest(guest_path)
    check_config(guest, config)
    world = _provide(_live_world(config, streams, sources))
    register = SiteRegister(guest.sites) if guest.sites is not None else None
    try:
        return RunResult(_run(guest, world, register, timeout), 0, None, guest.sites)
    finally:
        world.close()


def resume(
    guest_path: str | os.PathLike[str] | Guest | None,
    trace_path: str | os.PathLike[str],
    streams: Streams,
    *,
    assume: str | None = None,
    timeout: float | None = None,
    sources: Sources = HOST,
) -> RunResult:
    """Resume a recording cut off by a crash (see :func:`wasm_rr.resume.resume`): replay it to
    its cut, then run on live, appending to the same trace."""
    from .resume import resume as resume_trace

    return resume_trace(
        guest_path, trace_path, streams, assume=assume, timeout=timeout, sources=sources
    )


__all__ = [
    "WASMTIME_VERSION",
    "Guest",
    "RunResult",
    "SiteRegister",
    "as_guest",
    "check_config",
    "compile_guest",
    "embedded_guest",
    "footer",
    "guest_from_bytes",
    "load_guest",
    "record",
    "recorded_sites",
    "replay",
    "resume",
    "run_live",
    "same_outcome",
    "site_text",
]
