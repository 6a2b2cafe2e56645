"""The library API: record, replay and run guests from Python, many runs in one process.

A :class:`Program` is a guest loaded and compiled once; each of its runs gets a fresh store
and a fresh world, and writes its trace to a file or to memory::

    import wasm_rr

    prog = wasm_rr.Program("guests/build/flaky.wasm")
    for seed in range(1000):
        rec = prog.record(sources=wasm_rr.seeded_sources(seed))   # trace kept in memory
        if rec.failed:
            open("fail.cbor", "wb").write(rec.trace)
            break
    wasm_rr.replay("fail.cbor", "guests/build/flaky.wasm").stdout

:func:`record`, :func:`replay` and :func:`run` are the one-shot forms. Every result is a frozen
dataclass; every problem with the inputs (a missing guest, a damaged trace, a replay that
drifts) is raised as a :class:`~wasm_rr.errors.WasmRRError` whose message is one line. The
command line (:mod:`wasm_rr.cli`) is built on this module.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO, Literal, overload

from . import engine
from .config import DirSpec, RunConfig, as_text, env_problem
from .errors import EXIT_TRAP, OutputLostError, UsageError
from .trace.schema import Outcome, Trap
from .world import HOST, Sources, Streams
from .world.clocks import stepping
from .world.random import seeded

if TYPE_CHECKING:
    # Imported where used: a recording run never reads a trace.
    from .trace import reader, sign

__all__ = [
    "LiveResult",
    "Program",
    "RecordResult",
    "ReplayResult",
    "Result",
    "family_options",
    "record",
    "replay",
    "run",
    "seeded_sources",
    "signature",
    "signing_key",
]

GuestSpec = str | os.PathLike[str] | bytes
"""A guest: the path of a wasm file (module or component) or ``.tape`` script, or wasm bytes."""

Input = bytes | BinaryIO | None
"""The guest's stdin: bytes, a binary stream read as the guest reads, or none (end of file)."""

Text = str | bytes
"""An argument, environment name or value, or path: text, or bytes (the exact bytes a preview1
guest sees, UTF-8 or not; text from ``sys.argv`` or ``os.environ`` carries its non-UTF-8 bytes
as ``os.fsdecode`` does, and they reach the guest as they were)."""

Env = Mapping[str, Text] | Mapping[bytes, Text] | Mapping[Text, Text]
"""An environment: names and values as text or bytes."""


@dataclass(frozen=True)
class Result:
    """How one run ended and what the guest printed."""

    outcome: Outcome
    stdout: bytes | None
    """What the guest wrote to stdout (``None`` when it went to a ``stdout=`` stream)."""
    stderr: bytes | None
    events: int
    """Events recorded, or replayed."""

    @property
    def exit_code(self) -> int | None:
        """The guest's exit code; ``None`` when it trapped."""
        return self.outcome.exit_code if self.outcome.trap is None else None

    @property
    def trap(self) -> Trap | None:
        return self.outcome.trap

    @property
    def status(self) -> int:
        """The exit status the command line gives this run: the exit code (modulo 256), or
        134 for a trap."""
        if self.outcome.trap is not None:
            return EXIT_TRAP
        return (self.outcome.exit_code or 0) & 0xFF

    @property
    def failed(self) -> bool:
        """A trap, or a non-zero exit."""
        return self.status != 0


@dataclass(frozen=True)
class RecordResult(Result):
    """A recorded run: the trace is at :attr:`trace_path`, or in :attr:`trace` when it was
    recorded to memory."""

    trace_path: str | None = None
    trace: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ReplayResult(Result):
    """A replayed run. Replay checks the outcome and both outputs against the trace, so a
    result means the run was reproduced exactly."""

    trace_path: str | None = None


@dataclass(frozen=True)
class LiveResult(Result):
    """A run against the real world with nothing recorded."""


def seeded_sources(seed: int, realtime_ns: int = 1_700_000_000_000_000_000) -> Sources:
    """Reproducible clocks and random bytes: runs with the same ``seed`` see the same answers
    (for tests and hunting: inject the seed instead of waiting for luck)."""
    return Sources(clocks=stepping(realtime_ns), random=seeded(seed))


def family_options(
    allow_run: Sequence[str] = (),
    run_wasm: Sequence[str] = (),
    allow_http: Sequence[str] = (),
    redact_headers: Sequence[str] = (),
) -> dict[str, object]:
    """The per-family part of a :class:`~wasm_rr.config.RunConfig` (``--allow-run``,
    ``--run-wasm``, ``--allow-http``, ``--redact-header``); families with no options are left
    out."""
    families: dict[str, object] = {}
    # Each family's module is imported only when it has options to check.
    if allow_run or run_wasm:
        from .world import process

        families["process"] = process.options(list(allow_run), list(run_wasm))
    if allow_http or redact_headers:
        from .world import http

        families["http"] = http.options(list(allow_http), list(redact_headers))
    return {name: opts for name, opts in families.items() if opts}


class Program:
    """A guest loaded and compiled once, run as many times as wanted.

    ``guest`` is a path (a wasm module or component, or a ``.tape`` script, compiled here) or
    wasm bytes (``name`` is then the program name the guest sees as ``argv[0]``). ``cache``
    says what the on-disk compile cache may do: ``rw``, or ``r`` (read only, as replay does).
    """

    def __init__(
        self,
        guest: GuestSpec | engine.Guest,
        name: str | None = None,
        *,
        cache: Literal["rw", "r"] = "rw",
    ) -> None:
        if isinstance(guest, engine.Guest):
            loaded = guest
        elif isinstance(guest, bytes):
            loaded = engine.guest_from_bytes(guest, name or "guest.wasm")
        else:
            loaded = engine.load_guest(guest)
        loaded = replace(loaded, cache=cache)
        self.guest = loaded
        self.name = name or loaded.name
        """The program name the guest sees (``argv[0]``)."""
        engine.compile_guest(loaded)  # now, once: every run reuses it

    @classmethod
    def from_trace(cls, trace: str | os.PathLike[str] | bytes) -> Program:
        """The guest a self-contained trace carries (checked against its recorded identity)."""
        return cls(engine.embedded_guest(_load(trace)), cache="r")

    @property
    def blake3(self) -> str:
        """The guest's identity, as traces record it."""
        return self.guest.blake3

    @property
    def kind(self) -> str:
        """``module`` or ``component``."""
        return self.guest.kind

    def config(
        self,
        args: Sequence[Text] = (),
        env: Env | None = None,
        dirs: Sequence[DirSpec | Text] = (),
        families: Mapping[str, object] | None = None,
    ) -> RunConfig:
        """The run configuration for these arguments (program name first), environment,
        directories (a ``DirSpec``, or ``HOST[::GUEST]``) and family options. Arguments,
        environment and directories may be given as text or as bytes (see :data:`Text`). An
        environment entry no guest can be given (an empty name, a name with ``=``, whitespace
        or a control character, a NUL anywhere) raises a :class:`~wasm_rr.errors.UsageError`."""
        for name, value in (env or {}).items():
            problem = env_problem(as_text(name), as_text(value))
            if problem is not None:
                raise UsageError(f"environment variable {name!r}: {problem}")
        return RunConfig(
            argv=[self.name, *map(as_text, args)],
            env={as_text(k): as_text(v) for k, v in (env or {}).items()},
            dirs=[_dir(d) for d in dirs],
            families=dict(families or {}),
        )

    def record(
        self,
        args: Sequence[Text] = (),
        *,
        env: Env | None = None,
        dirs: Sequence[DirSpec | Text] = (),
        families: Mapping[str, object] | None = None,
        config: RunConfig | None = None,
        stdin: Input = None,
        trace: str | os.PathLike[str] | None = None,
        embed_guest: bool = False,
        sign_key: bytes | None = None,
        sources: Sources = HOST,
        timeout: float | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> RecordResult:
        """Run the guest against the real world and record it: into the file ``trace``, or
        with ``trace=None`` into memory (:attr:`RecordResult.trace`). ``config`` replaces
        ``args``/``env``/``dirs``/``families``. Clocks and random bytes come from ``sources``
        (:func:`seeded_sources` for reproducible ones). ``embed_guest`` stores the guest's
        bytes in the trace, which then replays alone. ``sign_key`` (:func:`signing_key`)
        signs the trace: its footer then proves who recorded it and that no byte changed."""
        cfg = config or self.config(args, env, dirs, families)
        streams, out, err = _streams(stdin, stdout, stderr)
        r = engine.record(
            self.guest,
            trace,
            cfg,
            streams,
            timeout,
            sources=sources,
            embed_guest=embed_guest,
            sign_key=sign_key,
        )
        return RecordResult(
            r.outcome, _value(out), _value(err), r.events, r.trace_path, r.trace_bytes
        )

    def replay(
        self,
        trace: str | os.PathLike[str] | bytes,
        *,
        allow_code_change: bool = False,
        require_signed: bool = False,
        sign_key: bytes | None = None,
        timeout: float | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> ReplayResult:
        """Re-run the guest against a trace (a path, or the bytes of one), reading nothing
        from the world; raises at the first divergence (a
        :class:`~wasm_rr.errors.DriftError`). A ``stdout``/``stderr`` stream that fails to
        take the output does not change what the guest sees; once the replay matched, an
        :class:`~wasm_rr.errors.OutputLostError` says so (its ``result`` is the replay's).
        With ``require_signed``, a trace that is not signed, or whose signature does not
        verify with ``sign_key`` (default: the user's own key), is refused before the guest
        runs (:class:`~wasm_rr.errors.UnsignedTraceError`)."""
        return _replay(
            self.guest,
            trace,
            allow_code_change,
            timeout,
            stdout,
            stderr,
            _signed(require_signed, sign_key),
        )

    @overload
    def run(
        self,
        args: Sequence[Text] = (),
        *,
        env: Env | None = None,
        dirs: Sequence[DirSpec | Text] = (),
        families: Mapping[str, object] | None = None,
        config: RunConfig | None = None,
        stdin: Input = None,
        trace: None = None,
        sources: Sources = HOST,
        timeout: float | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> LiveResult: ...

    @overload
    def run(
        self,
        args: Sequence[Text] = (),
        *,
        env: Env | None = None,
        dirs: Sequence[DirSpec | Text] = (),
        families: Mapping[str, object] | None = None,
        config: RunConfig | None = None,
        stdin: Input = None,
        trace: str | os.PathLike[str],
        sources: Sources = HOST,
        timeout: float | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> RecordResult: ...

    def run(
        self,
        args: Sequence[Text] = (),
        *,
        env: Env | None = None,
        dirs: Sequence[DirSpec | Text] = (),
        families: Mapping[str, object] | None = None,
        config: RunConfig | None = None,
        stdin: Input = None,
        trace: str | os.PathLike[str] | None = None,
        sources: Sources = HOST,
        timeout: float | None = None,
        stdout: BinaryIO | None = None,
        stderr: BinaryIO | None = None,
    ) -> LiveResult | RecordResult:
        """Run the guest against the real world. With ``trace=None`` (the default) nothing is
        recorded (``wasm-rr run --no-trace``); with a ``trace`` path the run is recorded into
        it and a :class:`RecordResult` returned, as :meth:`record` does (``wasm-rr run -t
        PATH``). The command ``wasm-rr run`` records by default, into
        ``wasm-rr-trace.cbor``."""
        if trace is not None:
            return self.record(
                args,
                env=env,
                dirs=dirs,
                families=families,
                config=config,
                stdin=stdin,
                trace=trace,
                sources=sources,
                timeout=timeout,
                stdout=stdout,
                stderr=stderr,
            )
        cfg = config or self.config(args, env, dirs, families)
        streams, out, err = _streams(stdin, stdout, stderr)
        r = engine.run_live(self.guest, cfg, streams, timeout, sources=sources)
        return LiveResult(r.outcome, _value(out), _value(err), r.events)


def record(
    guest: GuestSpec | Program, args: Sequence[Text] = (), **options: object
) -> RecordResult:
    """Record one run of ``guest``: :meth:`Program.record`'s options."""
    prog = guest if isinstance(guest, Program) else Program(guest)
    return prog.record(args, **options)  # type: ignore[arg-type]


def replay(
    trace: str | os.PathLike[str] | bytes | reader.Trace,
    guest: GuestSpec | Program | None = None,
    *,
    allow_code_change: bool = False,
    require_signed: bool = False,
    sign_key: bytes | None = None,
    timeout: float | None = None,
    stdout: BinaryIO | None = None,
    stderr: BinaryIO | None = None,
) -> ReplayResult:
    """Replay a trace (a path, its bytes, or a loaded one) with ``guest``, or with the guest
    the trace carries when ``guest`` is ``None``; a guest given is checked against the
    trace's. ``require_signed``, ``sign_key``: as :meth:`Program.replay`."""
    if guest is None:
        code: engine.Guest | None = None
    elif isinstance(guest, Program):
        code = guest.guest
    else:
        code = Program(guest, cache="r").guest
    return _replay(
        code,
        trace,
        allow_code_change,
        timeout,
        stdout,
        stderr,
        _signed(require_signed, sign_key),
    )


def signing_key(path: str | os.PathLike[str] | None = None) -> bytes:
    """A key to sign traces with (``Program.record(sign_key=...)``): the one in the file
    ``path`` (any bytes), else the user's redaction key, created on first use as ``record
    --sign`` does (``$WASM_RR_REDACT_KEY``, else ``~/.config/wasm-rr/redact.key``)."""
    from .trace import sign

    if path is not None:
        return sign.key_from_file(path)
    key = sign.user_key(create=True)
    assert key is not None
    return key


def signature(
    trace: str | os.PathLike[str] | bytes | reader.Trace, sign_key: bytes | None = None
) -> sign.SignatureCheck:
    """Whether ``trace`` is signed, with which key (its id), and whether the signature
    verifies with ``sign_key`` (default: the user's key, when there is one; none is
    created)."""
    from .trace import sign

    loaded = _load(trace)
    return sign.check(loaded, sign_key if sign_key is not None else sign.key_for(loaded))


def _signed(required: bool, key: bytes | None) -> tuple[bytes | None, bool] | None:
    """What ``_replay`` checks the signature with: None (nothing), or the key (None: the
    user's) and whether it was given."""
    return (key, key is not None) if required else None


@overload
def run(
    guest: GuestSpec | Program, args: Sequence[Text] = (), *, trace: None = None, **options: object
) -> LiveResult: ...


@overload
def run(
    guest: GuestSpec | Program,
    args: Sequence[Text] = (),
    *,
    trace: str | os.PathLike[str],
    **options: object,
) -> RecordResult: ...


def run(
    guest: GuestSpec | Program,
    args: Sequence[Text] = (),
    *,
    trace: str | os.PathLike[str] | None = None,
    **options: object,
) -> LiveResult | RecordResult:
    """Run ``guest`` once against the real world: :meth:`Program.run`'s options. Nothing is
    recorded unless ``trace`` names a file to record into (then it is :func:`record`, and the
    result a :class:`RecordResult`), as ``wasm-rr run -t PATH``."""
    prog = guest if isinstance(guest, Program) else Program(guest)
    if trace is not None:
        return prog.record(args, trace=trace, **options)  # type: ignore[arg-type]
    return prog.run(args, **options)  # type: ignore[call-overload,no-any-return]


def _replay(
    guest: engine.Guest | None,
    trace: str | os.PathLike[str] | bytes | reader.Trace,
    allow_code_change: bool,
    timeout: float | None,
    stdout: BinaryIO | None,
    stderr: BinaryIO | None,
    signed: tuple[bytes | None, bool] | None = None,
) -> ReplayResult:
    loaded = _load(trace)
    if signed is not None:
        from .trace import sign

        key, given = signed
        sign.require(loaded, key if given else sign.key_for(loaded), given=given)
    streams, out, err = _streams(None, stdout, stderr)
    r = engine.replay(guest, loaded, streams, allow_code_change, timeout)
    result = ReplayResult(r.outcome, _value(out), _value(err), r.events, r.trace_path)
    if r.lost:
        raise OutputLostError(r.lost, r.outcome.describe(), result)
    return result


def _load(trace: str | os.PathLike[str] | bytes | reader.Trace) -> reader.Trace:
    from .trace import reader

    if isinstance(trace, reader.Trace):
        return trace
    if isinstance(trace, bytes):
        return reader.load_bytes(trace)
    return reader.load(trace)


def _dir(spec: DirSpec | Text) -> DirSpec:
    if isinstance(spec, DirSpec):
        return spec
    host, sep, guest = as_text(spec).partition("::")
    return DirSpec(host, guest if sep else host)


def _streams(
    stdin: Input, stdout: BinaryIO | None, stderr: BinaryIO | None
) -> tuple[Streams, io.BytesIO | None, io.BytesIO | None]:
    out = io.BytesIO() if stdout is None else None
    err = io.BytesIO() if stderr is None else None
    source = io.BytesIO(stdin) if isinstance(stdin, bytes) else stdin
    streams = Streams(source, stdout or out or io.BytesIO(), stderr or err or io.BytesIO())
    return streams, out, err


def _value(buf: io.BytesIO | None) -> bytes | None:
    return None if buf is None else buf.getvalue()
