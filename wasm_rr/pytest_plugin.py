"""A pytest plugin: record a guest's run once, next to the test, and replay it afterwards.

Like vcrpy's cassettes, for WASI guests. The fixture :func:`wasm_rr_run` is a callable::

    def test_greets(wasm_rr_run):
        result = wasm_rr_run("guests/build/greet.wasm", env={"NAME": os.environ["USER"]})
        assert result.stdout.startswith(b"hello, ")

The first run records into ``<test dir>/wasm_rr_traces/<module>/<test>.cbor`` (a second call in
the same test: ``<test>-2.cbor``; ``name="x"``: ``<test>-x.cbor``), with the guest embedded.
Later runs replay that trace: the guest gets the recorded clocks, random bytes, environment,
files and stdin, and its output and outcome are checked against the recording. A replay that
diverges fails the test with a message that says ``drift`` and names the trace and the event.

Record modes (``--wasm-rr-mode``, the ``wasm_rr_mode`` ini option, or
``@pytest.mark.wasm_rr(mode=...)`` for one test), as vcrpy's:

* ``once`` (default): a test with no traces yet records them; a test with traces replays
  them, and a run that has no trace of its own fails (the test changed: re-record it).
* ``new_episodes`` (or ``new``): replay the traces that exist, record the missing ones.
* ``none``: replay only; a missing trace fails the test.
* ``all``: record every run again.

Before replaying, the run asked for is matched against the recording (``match_on``, by
default ``("args", "stdin")``; also ``"env"``): what the guest read of its arguments and of
stdin must be what this call gives it. A guest whose bytes changed replays until its first
divergence (fuel is then not compared): a cassette is a regression test for the guest.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

if TYPE_CHECKING:
    from .api import Program, Result
    from .config import DirSpec
    from .trace.reader import Trace

__all__ = ["MATCHERS", "RecordMode", "WasmRRRun", "wasm_rr_run"]

TRACE_DIR = "wasm_rr_traces"
"""The directory, next to a test module, that holds its traces."""


class RecordMode(StrEnum):
    """When the fixture records and when it replays."""

    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    NONE = "none"
    ALL = "all"

    @classmethod
    def parse(cls, value: object) -> RecordMode:
        """A mode from its name (``new`` for ``new_episodes``); a bad one is a usage error
        listing the valid names."""
        text = str(value.value if isinstance(value, RecordMode) else value).strip().lower()
        text = {"new": "new_episodes", "new-episodes": "new_episodes"}.get(text, text)
        try:
            return cls(text)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise pytest.UsageError(
                f"wasm-rr: record mode {value!r} is not one of: {valid} (or new)"
            ) from None


# ---- matchers: is the run asked for the run recorded? ------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a test asks a guest run to be given."""

    args: tuple[str, ...]
    stdin: bytes | None
    env: Mapping[str, str]


Mismatch = tuple[int, str]
"""The event (seq) where the recorded run saw something else, and what."""


def same_args(trace: Trace, req: Request) -> Mismatch | None:
    """The guest asked for its arguments (``cli.args``) and got other ones."""
    recorded = tuple(trace.header.config.argv[1:])
    if recorded == req.args:
        return None
    seq = _first(trace, "cli.args")
    if seq is None:
        return None  # the guest never looked at them
    return (
        seq,
        f"cli.args: the recording's args are {list(recorded)!r}, this run's {list(req.args)!r}",
    )


def same_env(trace: Trace, req: Request) -> Mismatch | None:
    """The guest asked for its environment (``cli.environ``) and got another one."""
    recorded = dict(trace.header.config.env)
    if recorded == dict(req.env):
        return None
    seq = _first(trace, "cli.environ")
    if seq is None:
        return None
    changed = sorted(
        k for k in recorded.keys() | req.env.keys() if recorded.get(k) != req.env.get(k)
    )
    return seq, f"cli.environ: the recording's environment differs in {', '.join(changed)}"


def same_stdin(trace: Trace, req: Request) -> Mismatch | None:
    """What the guest read from stdin (``io.read`` on fd 0) is not what this run gives it: a
    different byte, or the recording's end of input where this stdin goes on."""
    given = req.stdin
    pos = 0
    for e in trace.events():
        if e.name != "io.read" or e.question[0] != 0:
            continue
        data = e.answer[0]
        if not isinstance(data, bytes):
            if given is not None:
                return e.seq, f"io.read: the recording had no stdin ({data}), this run has one"
            continue
        if given is None:
            return e.seq, "io.read: the recording read stdin, this run has none"
        if given[pos : pos + len(data)] != data:
            at = pos + next(
                (i for i, b in enumerate(data) if pos + i >= len(given) or given[pos + i] != b),
                len(data),
            )
            return e.seq, f"io.read: stdin differs from the recording's at byte {at}"
        pos += len(data)
        if not data and e.question[1] > 0 and pos < len(given):
            return e.seq, (
                f"io.read: the recording's stdin ended after {pos} bytes, this run's has "
                f"{len(given)}"
            )
    return None


MATCHERS: dict[str, Callable[[Trace, Request], Mismatch | None]] = {
    "args": same_args,
    "stdin": same_stdin,
    "env": same_env,
}
"""The matchers ``match_on`` may name."""


def _first(trace: Trace, name: str) -> int | None:
    return next((e.seq for e in trace.events() if e.name == name), None)


# ---- the fixture ---------------------------------------------------------------------------


@dataclass
class _Session:
    """Per-session state: compiled guests, by path and change time."""

    programs: dict[tuple[str, int, int], Program] = field(default_factory=dict)

    def program(self, guest: str | os.PathLike[str] | bytes | Program) -> Program:
        from .api import Program

        if isinstance(guest, Program):
            return guest
        if isinstance(guest, bytes):
            return Program(guest)
        path = os.path.abspath(os.fspath(guest))
        try:
            st = os.stat(path)
            key = (path, st.st_mtime_ns, st.st_size)
        except OSError:
            return Program(path)  # says what is wrong
        if key not in self.programs:
            self.programs[key] = Program(path)
        return self.programs[key]


_SESSION = pytest.StashKey[_Session]()


class WasmRRRun:
    """The ``wasm_rr_run`` fixture: call it to run a guest, recorded or replayed."""

    def __init__(self, session: _Session, folder: Path, test: str, mode: RecordMode) -> None:
        self.folder = folder
        """Where this test's traces are."""
        self.test = test
        self.mode = mode
        self.traces: list[Path] = []
        """The trace of each call so far."""
        self.recorded: list[Path] = []
        """The traces recorded (not replayed) by this test."""
        self._session = session
        self._calls = 0
        self._had_traces = any(self._existing())

    def _existing(self) -> Iterator[Path]:
        if not self.folder.is_dir():
            return iter(())
        return (
            p
            for p in self.folder.iterdir()
            if p.suffix == ".cbor" and (p.stem == self.test or p.stem.startswith(self.test + "-"))
        )

    def path(self, name: str | None = None) -> Path:
        """The trace of the next call (``name`` as that call's)."""
        if name is not None:
            return self.folder / f"{self.test}-{_safe(name)}.cbor"
        n = self._calls + 1
        return self.folder / (f"{self.test}.cbor" if n == 1 else f"{self.test}-{n}.cbor")

    def __call__(
        self,
        guest: str | os.PathLike[str] | bytes | Program,
        args: Sequence[str] = (),
        *,
        stdin: bytes | None = b"",
        env: Mapping[str, str] | None = None,
        dirs: Sequence[DirSpec | str] = (),
        name: str | None = None,
        match_on: Sequence[str] = ("args", "stdin"),
        **opts: Any,
    ) -> Result:
        """Record ``guest``'s run into this call's trace, or replay it (by the mode); returns
        the :class:`~wasm_rr.api.RecordResult` or :class:`~wasm_rr.api.ReplayResult`.
        ``opts`` go to :meth:`~wasm_rr.api.Program.record` (``sources``, ``families``,
        ``timeout``...)."""
        unknown = [m for m in match_on if m not in MATCHERS]
        if unknown:
            raise pytest.UsageError(
                f"wasm-rr: unknown matcher {unknown[0]!r}; valid: {', '.join(MATCHERS)}"
            )
        path = self.path(name)
        self._calls += 1
        self.traces.append(path)
        prog = self._session.program(guest)
        exists = path.exists()
        if (
            self.mode is RecordMode.ALL
            or (not exists and self.mode is RecordMode.NEW_EPISODES)
            or (not exists and self.mode is RecordMode.ONCE and not self._had_traces)
        ):
            return self._record(prog, path, args, stdin, env, dirs, opts)
        if not exists:
            if self.mode is RecordMode.NONE:
                pytest.fail(
                    f"wasm-rr: no trace {path} to replay (mode none); record it with "
                    "--wasm-rr-mode=once",
                    pytrace=False,
                )
            pytest.fail(
                f"wasm-rr: no trace {path} for this run, but the test was recorded before "
                "(mode once records a test's runs only when it has no traces); record the new "
                "run with --wasm-rr-mode=new_episodes, or all of them with --wasm-rr-mode=all",
                pytrace=False,
            )
        request = Request(tuple(args), stdin, dict(env or {}))
        return self._replay(prog, path, request, match_on)

    def _record(
        self,
        prog: Program,
        path: Path,
        args: Sequence[str],
        stdin: bytes | None,
        env: Mapping[str, str] | None,
        dirs: Sequence[DirSpec | str],
        opts: dict[str, Any],
    ) -> Result:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".recording")
        try:
            result = prog.record(
                args, env=env, dirs=dirs, stdin=stdin, trace=partial, embed_guest=True, **opts
            )
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, path)
        self.recorded.append(path)
        return result

    def _replay(
        self, prog: Program, path: Path, request: Request, match_on: Sequence[str]
    ) -> Result:
        from .api import replay
        from .errors import DriftError, WasmRRError
        from .trace import reader

        changed = False
        try:
            trace = reader.load(path)
            found = [m for m in (MATCHERS[k](trace, request) for k in match_on) if m is not None]
            if found:
                seq, what = min(found)
                self._drift(path, f"seq {seq}: {what}")
            changed = prog.blake3 != trace.header.guest_blake3
            return replay(trace, prog, allow_code_change=changed)
        except DriftError as exc:
            guest = " (the guest changed since the recording)" if changed else ""
            self._drift(path, f"{exc}{guest}")
        except WasmRRError as exc:
            pytest.fail(f"wasm-rr: {path}: {exc}", pytrace=False)

    def _drift(self, path: Path, what: str) -> NoReturn:
        pytest.fail(
            f"wasm-rr drift: replaying {path} (mode {self.mode.value}): {what}; if the change "
            "is meant, re-record with --wasm-rr-mode=all (or delete the trace)",
            pytrace=False,
        )


def _safe(text: str) -> str:
    """A file-name-safe form of a test or run name."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("._") or "_"


@pytest.fixture
def wasm_rr_run(request: pytest.FixtureRequest) -> WasmRRRun:
    """Run a guest, recorded into a trace next to the test on first use and replayed after
    (see :mod:`wasm_rr.pytest_plugin`)."""
    config = request.config
    mode = RecordMode.parse(config.getoption("wasm_rr_mode") or config.getini("wasm_rr_mode"))
    marker = request.node.get_closest_marker("wasm_rr")
    if marker is not None and "mode" in marker.kwargs:
        mode = RecordMode.parse(marker.kwargs["mode"])
    module = Path(str(request.node.path))
    folder = module.parent / TRACE_DIR / module.stem
    session = config.stash.setdefault(_SESSION, _Session())
    return WasmRRRun(session, folder, _safe(request.node.name), mode)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasm-rr", "wasm-rr record and replay")
    group.addoption(
        "--wasm-rr-mode",
        dest="wasm_rr_mode",
        default=None,
        metavar="MODE",
        help="When wasm_rr_run records: once (default), new_episodes, none, all.",
    )
    parser.addini(
        "wasm_rr_mode", "wasm_rr_run's record mode (once, new_episodes, none, all)", default="once"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "wasm_rr(mode): the wasm_rr_run record mode for this test (once, none, ...)"
    )
    RecordMode.parse(config.getoption("wasm_rr_mode") or config.getini("wasm_rr_mode"))
