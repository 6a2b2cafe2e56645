"""Shrink a failing run's inputs to the smallest that still fail the same way.

:func:`ddmin` is Zeller's delta debugging over a sequence and a predicate, nothing else (the
unit tests give it pure predicates). :func:`minimize` is the driver behind ``wasm-rr minimize``:
it reads what a failing trace's guest was given (its arguments, its environment, what it read
from stdin, the files it read from its preopened directories), re-runs the guest on smaller
and smaller versions of them, keeps a candidate when the run still ends at the same crash site
(:func:`wasm_rr.crashes.crash_site`), and records the smallest as a self-contained trace.

Every candidate is a new in-process run (:meth:`Program.record` into memory), with the
recorded configuration (the environment as the candidate has it). Its clocks and random bytes
answer what the recorded run got, in order, then continue from
:func:`wasm_rr.seeded_sources`-like seeded values once those are used up (a smaller input may
ask for more, or fewer, than the recording holds).
Files are materialized in a fresh temporary directory per run, one per recorded preopen, seen
by the guest at the same path; they hold what the guest read of them.
"""

from __future__ import annotations

import os
import posixpath
import tempfile
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from . import engine
from .abi.interrupt import GuestTimeout
from .api import Program, RecordResult
from .config import DirSpec, RunConfig
from .crashes import CrashSite, crash_site
from .errors import UsageError
from .trace import reader
from .trace.schema import Outcome
from .world import Sources
from .world.clocks import CLOCK_IDS, stepping
from .world.family import ClockReader
from .world.fs import DIRECTORY
from .world.random import scripted, seeded

__all__ = [
    "DEFAULT_RUNS",
    "Exhausted",
    "FileInput",
    "Inputs",
    "Minimized",
    "NotFailingError",
    "NotReproducedError",
    "ddmin",
    "minimize",
    "recorded_inputs",
    "recorded_sources",
]

DEFAULT_RUNS = 5000
"""How many runs ``minimize`` may make by default."""

T = TypeVar("T", bound=Hashable)

Progress = Callable[[str], None]
"""Told one line per improvement (``stdin 5120 bytes (run 7)``)."""


class NotFailingError(UsageError):
    """The trace's run did not fail: there is no failure to keep while shrinking."""


class NotReproducedError(UsageError):
    """Re-running the trace's inputs does not end at the trace's crash site."""


class Exhausted(Exception):
    """Raised by a :func:`ddmin` predicate to stop early: :func:`ddmin` then returns the
    smallest failing input found so far."""


# ---- ddmin ---------------------------------------------------------------------------------


def ddmin(
    items: Sequence[T],
    fails: Callable[[list[T]], bool],
    on_smaller: Callable[[list[T]], None] | None = None,
) -> list[T]:
    """A 1-minimal subsequence of ``items`` for which ``fails`` holds: removing any single
    element of the result makes it pass (Zeller and Hildebrandt, "Simplifying and Isolating
    Failure-Inducing Input", 2002).

    ``items`` itself is taken to fail. The empty sequence is tried first. ``fails`` is never
    asked twice about the same candidate; it may raise :class:`Exhausted` to stop, and
    ``on_smaller`` is told every smaller failing input as it is found.
    """
    seen: dict[tuple[T, ...], bool] = {}

    def test(candidate: list[T]) -> bool:
        key = tuple(candidate)
        if key not in seen:
            seen[key] = fails(candidate)
        return seen[key]

    current = list(items)

    def take(candidate: list[T]) -> None:
        nonlocal current
        current = candidate
        if on_smaller is not None:
            on_smaller(candidate)

    try:
        if current and test([]):
            take([])
            return current
        n = 2
        while len(current) >= 2:
            chunks = _split(current, n)
            found = next((c for c in chunks if test(c)), None)
            if found is not None:
                take(found)
                n = 2
                continue
            if n > 2:  # with two chunks, each complement is the other chunk: tried already
                complements = (
                    [x for j, c in enumerate(chunks) if j != i for x in c] for i in range(n)
                )
                found = next((c for c in complements if test(c)), None)
                if found is not None:
                    take(found)
                    n = max(n - 1, 2)
                    continue
            if n >= len(current):
                break
            n = min(2 * n, len(current))
    except Exhausted:
        pass
    return current


def _split(items: list[T], n: int) -> list[list[T]]:
    """``items`` in ``n`` contiguous chunks of nearly equal length."""
    size = len(items)
    return [items[i * size // n : (i + 1) * size // n] for i in range(n)]


# ---- what a trace's guest was given ----------------------------------------------------------


@dataclass(frozen=True)
class FileInput:
    """A file the guest read: below the recorded preopen ``dir`` (an index into the run's
    ``dirs``), at ``path`` (relative, ``/``-separated), holding what the guest read of it."""

    dir: int
    path: str
    data: bytes
    shown: str = ""
    """The path as the guest sees it (``/data/input.txt``)."""


@dataclass(frozen=True)
class Inputs:
    """What a run is given, as far as minimize changes it."""

    args: tuple[str, ...]
    """argv without the program name."""
    stdin: bytes | None
    """What the guest read from stdin; ``None`` when it had none (reads failed)."""
    files: tuple[FileInput, ...] = ()
    subdirs: tuple[tuple[int, str], ...] = ()
    """Directories the guest opened below a preopen (created, empty, for every run)."""
    env: tuple[tuple[str, str], ...] = ()
    """The environment variables (name, value), in the recorded order."""


def recorded_inputs(trace: reader.Trace) -> Inputs:
    """The arguments, environment, stdin and file contents of a recorded run, read from its
    header and its events."""
    stdin = bytearray()
    stdin_failed = False
    npreopens = len(trace.header.config.dirs)
    handles: dict[int, tuple[int, str]] = {i + 1: (i, "") for i in range(npreopens)}
    files: dict[tuple[int, str], bytearray] = {}
    written: set[tuple[int, str]] = set()
    subdirs: set[tuple[int, str]] = set()
    for e in trace.events():
        name = e.name
        if name == "io.read" and e.question[0] == 0:
            data = e.answer[0]
            if isinstance(data, bytes):
                stdin += data
            else:
                stdin_failed = True
        elif name == "fs.open":
            dir_h, path = e.question[0][0], e.question[0][1]
            answer = e.answer[0]
            parent = handles.get(dir_h)
            if parent is None or not isinstance(answer, list) or not isinstance(path, str):
                continue
            rel = _inside(parent[1], path)
            if rel is None:
                continue
            key = (parent[0], rel)
            handles[int(answer[0])] = key
            if answer[1] == DIRECTORY and rel:
                subdirs.add(key)
        elif name == "fs.read":
            h, offset = e.question[0][0], e.question[0][2]
            data = e.answer[0]
            key_or_none = handles.get(h)
            if key_or_none is None or key_or_none in written or not isinstance(data, bytes):
                continue
            content = files.setdefault(key_or_none, bytearray())
            if offset > len(content):
                content += bytes(offset - len(content))
            content[offset : offset + len(data)] = data
        elif name in ("fs.write", "fs.append"):
            key_or_none = handles.get(e.question[0][0])
            if key_or_none is not None and key_or_none not in files:
                written.add(key_or_none)
    argv, dirs = trace.header.config.argv, trace.header.config.dirs
    return Inputs(
        args=tuple(argv[1:]),
        stdin=None if stdin_failed and not stdin else bytes(stdin),
        files=tuple(
            FileInput(d, p, bytes(data), posixpath.join(dirs[d].guest, p))
            for (d, p), data in sorted(files.items())
        ),
        subdirs=tuple(sorted(subdirs - set(files))),
        env=tuple(trace.header.config.env.items()),
    )


def _inside(parent: str, path: str) -> str | None:
    """``path`` opened below ``parent`` (relative to its preopen), or ``None`` when it is
    absolute or climbs out."""
    if path.startswith("/"):
        return None
    rel = posixpath.normpath(posixpath.join(parent, path))
    if rel == ".":
        return ""
    if rel == ".." or rel.startswith("../"):
        return None
    return rel


class _ScriptedClock:
    """Answers the recorded readings of one clock in order, then steps on from the last."""

    def __init__(self, values: list[int], then: ClockReader, step: int = 1_000) -> None:
        self._values = values
        self._i = 0
        self._then = then
        self._step = step
        self._last: int | None = None

    def __call__(self) -> int:
        if self._i < len(self._values):
            value = self._values[self._i]
            self._i += 1
        elif self._last is None:
            value = self._then()
        else:
            value = self._last + self._step
        self._last = value
        return value


def recorded_sources(trace: reader.Trace) -> Callable[[], Sources]:
    """A maker of fresh :class:`Sources` that answer what the recorded run's clocks and random
    source answered, in order, and seeded values (``seeded_sources(0)``'s) after that."""
    secure, insecure = bytearray(), bytearray()
    readings: dict[int, list[int]] = {c: [] for c in CLOCK_IDS}
    for e in trace.events(absolute=True):
        if e.name == "random.bytes":
            secure += e.answer[0]
        elif e.name == "random.insecure":
            insecure += e.answer[0]
        elif e.name == "clock.now" and e.question[0] in readings:
            readings[e.question[0]].append(int(e.answer[0]))
    secure_bytes, insecure_bytes = bytes(secure), bytes(insecure)

    def make() -> Sources:
        base = stepping(1_700_000_000_000_000_000)
        c = [_ScriptedClock(readings[i], base[i]) for i in CLOCK_IDS]
        return Sources(
            clocks=(c[0], c[1], c[2], c[3]),
            random=scripted(secure_bytes, seeded(0)),
            insecure_random=scripted(insecure_bytes, seeded(1)) if insecure_bytes else None,
        )

    return make


# ---- the driver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Minimized:
    """What :func:`minimize` did."""

    original: Inputs
    inputs: Inputs
    """The smallest inputs found that still fail at :attr:`site`."""
    runs: int
    """Guest runs made while minimizing (the check of the recorded inputs included)."""
    site: CrashSite
    result: RecordResult
    """The minimized run, as written to the output trace."""
    complete: bool
    """``False`` when the run budget ran out first (the result is smaller, not minimal)."""

    def summary(self) -> str:
        """``minimized stdin 10240 -> 3 bytes in 87 runs; same crash site: trap ...``."""
        parts: list[str] = []
        a, b = self.original, self.inputs
        if a.args:
            chars = (sum(len(x) for x in a.args), sum(len(x) for x in b.args))
            parts.append(f"args {len(a.args)} -> {len(b.args)} ({chars[0]} -> {chars[1]} chars)")
        if a.env:
            chars = (sum(len(v) for _, v in a.env), sum(len(v) for _, v in b.env))
            parts.append(f"env {len(a.env)} -> {len(b.env)} ({chars[0]} -> {chars[1]} chars)")
        if a.stdin:
            parts.append(f"stdin {len(a.stdin)} -> {len(b.stdin or b'')} bytes")
        for before, after in zip(a.files, b.files, strict=True):
            parts.append(f"file {before.shown} {len(before.data)} -> {len(after.data)} bytes")
        what = ", ".join(parts) or "nothing (the run had no args, env, stdin or files)"
        budget = "" if self.complete else " (run budget used up: smaller, maybe not minimal)"
        return (
            f"minimized {what} in {self.runs} runs{budget}; same crash site: {self.site.describe()}"
        )


class _Runner:
    """Runs the guest on candidate inputs and tells whether they fail at the target site."""

    def __init__(
        self,
        prog: Program,
        config: RunConfig,
        sources: Callable[[], Sources],
        target: CrashSite,
        max_runs: int,
        timeout: float | None,
    ) -> None:
        self.prog = prog
        self.config = config
        self.sources = sources
        self.target = target
        self.max_runs = max_runs
        self.timeout = timeout
        self.runs = 0
        self.exhausted = False

    def run(self, inputs: Inputs, trace: str | None = None) -> RecordResult:
        with tempfile.TemporaryDirectory(prefix="wasm-rr-minimize-") as tmp:
            config = replace(
                self.config,
                argv=[self.config.argv[0], *inputs.args],
                env=dict(inputs.env),
                dirs=_materialize(tmp, self.config.dirs, inputs),
            )
            return self.prog.record(
                config=config,
                stdin=inputs.stdin,
                trace=trace,
                embed_guest=trace is not None,
                sources=self.sources(),
                timeout=self.timeout,
            )

    def fails(self, inputs: Inputs) -> bool:
        if self.runs >= self.max_runs:
            self.exhausted = True
            raise Exhausted
        self.runs += 1
        try:
            return _same(self.run(inputs).outcome, self.target)
        except GuestTimeout:
            return False  # a candidate that runs away is not the failure being minimized


MIN_TIMEOUT = 10.0
"""Seconds a candidate run may take at least, whatever the recorded run took."""


def default_timeout(trace: reader.Trace) -> float:
    """How long a candidate run may take when no ``--timeout`` is given: twenty times the
    recorded run, and at least :data:`MIN_TIMEOUT` (a shrunk input may make a guest loop
    forever; minimize must not hang on it)."""
    footer = trace.footer
    took = 0.0
    if footer is not None and footer.end_time_ns > trace.header.start_time_ns > 0:
        took = (footer.end_time_ns - trace.header.start_time_ns) / 1e9
    return max(MIN_TIMEOUT, 20 * took)


def _same(outcome: Outcome, target: CrashSite) -> bool:
    return crash_site(outcome).id == target.id and _failed(outcome)


def _failed(outcome: Outcome) -> bool:
    return outcome.trap is not None or (outcome.exit_code or 0) & 0xFF != 0


def _is_wasm(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\0asm"
    except OSError:
        return False  # the reader says what is wrong


def _materialize(tmp: str, dirs: Sequence[DirSpec], inputs: Inputs) -> list[DirSpec]:
    """One fresh host directory per recorded preopen, holding the inputs' files."""
    out: list[DirSpec] = []
    for i, spec in enumerate(dirs):
        host = os.path.join(tmp, f"d{i}")
        os.mkdir(host)
        out.append(DirSpec(host, spec.guest, spec.readonly))
    for d, rel in inputs.subdirs:
        os.makedirs(os.path.join(out[d].host, rel), exist_ok=True)
    for file in inputs.files:
        path = os.path.join(out[file.dir].host, file.path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(file.data)
    return out


def minimize(
    trace_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    guest: str | os.PathLike[str] | Program | None = None,
    *,
    max_runs: int = DEFAULT_RUNS,
    timeout: float | None = None,
    progress: Progress | None = None,
) -> Minimized:
    """Shrink the inputs of the failing run recorded in ``trace_path`` (args and environment
    variables dropped, stdin, the files it read, then each argument and environment value)
    while the run still ends at the same crash site, and record the smallest
    run to ``output`` with its guest embedded. ``guest`` defaults to the trace's own.

    Raises :class:`NotFailingError` when the recorded run did not fail, and
    :class:`NotReproducedError` when re-running the recorded inputs does not fail the same
    way (a failure that depends on something minimize does not re-create)."""
    path = os.fspath(trace_path)
    out = os.fspath(output)
    if os.path.exists(out) and os.path.samefile(path, out):
        raise UsageError(f"the output {out} is the trace being minimized; write elsewhere (-o)")
    if _is_wasm(path):
        raise UsageError(f"{path} is a wasm file, not a trace; the order is: TRACE [GUEST]")
    trace = reader.load(path)
    if trace.footer is None:
        raise NotFailingError(
            f"{path} was cut off (it has no footer, so no outcome); nothing to minimize"
        )
    outcome = trace.footer.outcome
    if not _failed(outcome):
        raise NotFailingError(f"{path} did not fail (exit 0); nothing to minimize")
    if guest is None:
        if trace.header.guest_wasm is None:
            raise UsageError(
                f"{path} does not carry its guest (it was recorded without --embed-guest); "
                "give the guest too: wasm-rr minimize TRACE GUEST"
            )
        prog = Program(engine.embedded_guest(trace), cache="r")
    else:
        prog = guest if isinstance(guest, Program) else Program(guest, cache="r")
        if prog.blake3 != trace.header.guest_blake3:
            raise UsageError(
                f"the guest is not the one {path} was recorded against (blake3 "
                f"{prog.blake3[:16]}..., the trace says {trace.header.guest_blake3[:16]}...); "
                "give the same guest, or none if the trace carries it"
            )
    if timeout is None:
        timeout = default_timeout(trace)
    target = crash_site(outcome)
    original = recorded_inputs(trace)
    runner = _Runner(prog, trace.header.config, recorded_sources(trace), target, max_runs, timeout)
    del trace  # its mapping is no longer needed
    first = runner.run(original)
    runner.runs += 1
    if not _same(first.outcome, target):
        got = crash_site(first.outcome).describe()
        raise NotReproducedError(
            f"re-running {path} with its recorded inputs ends at {got}, "
            f"not at {target.describe()}; minimize re-creates the args, environment, stdin, "
            "files read from preopens, clocks and random bytes, so this failure depends on "
            "something else"
        )
    current = original
    say = progress or (lambda _line: None)

    def shrink(
        label: str, unit: str, items: Sequence[T], build: Callable[[list[T]], Inputs]
    ) -> None:
        def smaller(candidate: list[T]) -> None:
            nonlocal current
            current = build(candidate)
            say(f"{label}: {len(candidate)}{unit} (run {runner.runs})")

        ddmin(items, lambda c: runner.fails(build(c)), smaller)

    if current.args:
        shrink("args", "", list(current.args), lambda c: replace(current, args=tuple(c)))
    if current.env:
        shrink("env", "", list(current.env), lambda c: replace(current, env=tuple(c)))
    if current.stdin:
        shrink("stdin", " bytes", list(current.stdin), lambda c: replace(current, stdin=bytes(c)))
    for i, file in enumerate(original.files):

        def with_file(c: list[int], i: int = i, file: FileInput = file) -> Inputs:
            files = list(current.files)
            files[i] = replace(file, data=bytes(c))
            return replace(current, files=tuple(files))

        shrink(f"file {file.shown}", " bytes", list(file.data), with_file)
    for i, arg in enumerate(current.args):

        def with_arg(c: list[str], i: int = i) -> Inputs:
            args = list(current.args)
            args[i] = "".join(c)
            return replace(current, args=tuple(args))

        shrink(f"arg {i + 1}", " chars", list(arg), with_arg)
    for i, (name, value) in enumerate(current.env):

        def with_value(c: list[str], i: int = i, name: str = name) -> Inputs:
            env = list(current.env)
            env[i] = (name, "".join(c))
            return replace(current, env=tuple(env))

        shrink(f"env {name}", " chars", list(value), with_value)

    result = runner.run(current, out)
    if not _same(result.outcome, target):
        raise NotReproducedError(
            f"the minimized run ended at {crash_site(result.outcome).describe()} when it was "
            f"recorded to {out}, not at {target.describe()} as before; the guest depends on "
            "something minimize does not control"
        )
    return Minimized(original, current, runner.runs, target, result, not runner.exhausted)
