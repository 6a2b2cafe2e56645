#!/usr/bin/env python3
"""Golden traces: replay every example guest's pinned trace and compare with pinned output.

Usage:
  python golden/run.py [NAME ...]            replay the cases and compare (`make golden`)
  python golden/run.py --update [NAME ...]   re-record the non-stale cases, then re-pin their
                                             stdout/stderr from a replay (`make golden-update`)

The cases are described in golden/cases.toml. Every run goes through the real CLI,
``python -m wasm_rr``, with stdin from /dev/null and stdout/stderr captured.
Exit status: 0 when every selected case passed, 1 otherwise, 2 for a bad command line or
a broken cases.toml.
"""

from __future__ import annotations

import argparse
import difflib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "golden"
CASES_FILE = GOLDEN / "cases.toml"
FIXTURES = GOLDEN / "fixtures"
FORMAT_DIRS = {1: GOLDEN, 2: GOLDEN / "v2"}
"""Where the golden files of each trace format version live. Every version but the newest is
frozen: its traces were written by an earlier wasm-rr and must replay forever, unchanged;
``--update`` only (re-)records the newest."""
CURRENT = max(FORMAT_DIRS)

MAX_ATTEMPTS = 500
"""How many times ``--update`` records a case with ``until`` or ``args_from`` before giving up."""

TIMEOUT_S = 120
DIFF_LINES = 12


class CaseFileError(Exception):
    """golden/cases.toml is malformed."""


@dataclass(frozen=True)
class Case:
    name: str
    guest: str
    expect_status: int
    args: tuple[str, ...] = ()
    args_from: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    stdin: str | None = None
    dirs: tuple[str, ...] = ()
    ro_dirs: tuple[str, ...] = ()
    until: str | None = None
    stale: bool = False
    trace_file: str | None = None
    expect_error: str | None = None
    allow_code_change: bool = False
    allow_run: tuple[str, ...] = ()
    run_wasm: tuple[str, ...] = ()
    allow_http: tuple[str, ...] = ()
    server: bool = False
    """Recording needs the local HTTP server of tests/httpserver.py; ``{server}`` in ``args``
    and ``allow_http`` stands for its ``127.0.0.1:PORT`` (replay needs no server)."""
    format: int = CURRENT
    """The trace format version of this case's golden files (see FORMAT_DIRS)."""

    @property
    def id(self) -> str:
        """The case's name, prefixed with its format directory when it is not golden/."""
        return self.name if self.format == 1 else f"v{self.format}/{self.name}"

    @property
    def dir(self) -> Path:
        return FORMAT_DIRS[self.format]

    @property
    def frozen(self) -> bool:
        return self.format != CURRENT

    @property
    def guest_path(self) -> Path:
        return ROOT / self.guest

    @property
    def trace_path(self) -> Path:
        return ROOT / self.trace_file if self.trace_file else self.dir / f"{self.name}.cbor"

    @property
    def stdout_path(self) -> Path:
        return self.dir / f"{self.name}.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.dir / f"{self.name}.stderr"

    def files(self) -> list[Path]:
        """The golden files this case owns."""
        if self.stale:
            return [self.trace_path]
        return [self.trace_path, self.stdout_path, self.stderr_path]


@dataclass
class Result:
    name: str
    ok: bool
    why: str = ""
    detail: list[str] = field(default_factory=list)
    note: str = ""

    def lines(self) -> list[str]:
        if self.ok:
            return [f"ok   {self.name}" + (f" ({self.note})" if self.note else "")]
        return [f"FAIL {self.name}: {self.why}", *(f"     {line}" for line in self.detail)]


@dataclass(frozen=True)
class Run:
    status: int
    stdout: bytes
    stderr: bytes


# ---- cases.toml -----------------------------------------------------------------------------

_ARGS_FROM = ("minutes_to_37",)
_KEYS = {
    "name",
    "guest",
    "expect_status",
    "args",
    "args_from",
    "env",
    "stdin",
    "dirs",
    "ro_dirs",
    "until",
    "stale",
    "trace",
    "expect_error",
    "allow_code_change",
    "allow_run",
    "run_wasm",
    "allow_http",
    "server",
}


def _get(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    value = table.get(key)
    if value is None:
        return None
    # bool is a subclass of int: `expect_status = true` is as wrong as `stale = 1`.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        what = {
            str: "a string",
            int: "an integer",
            bool: "true or false",
            list: "a list",
            dict: "a table",
        }[kind]
        raise CaseFileError(f"{where}: `{key}` must be {what}, not {value!r}")
    return value


def _str_list(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = _get(table, key, list, where) or []
    if not all(isinstance(item, str) for item in value):
        raise CaseFileError(f"{where}: `{key}` must be a list of strings")
    return tuple(value)


def _parse_case(table: dict[str, Any], index: int, path: Path) -> Case:
    where = f"{_rel(path)}: case {index + 1}"
    name = _get(table, "name", str, where)
    if not name:
        raise CaseFileError(f"{where}: `name` is required")
    where = f"{_rel(path)}: case {name!r}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise CaseFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    guest = _get(table, "guest", str, where)
    if not guest:
        raise CaseFileError(f"{where}: `guest` is required")
    status = _get(table, "expect_status", int, where)
    if status is None:
        raise CaseFileError(f"{where}: `expect_status` is required")
    env_table = _get(table, "env", dict, where) or {}
    if not all(isinstance(v, str) for v in env_table.values()):
        raise CaseFileError(f"{where}: `env` values must be strings")
    dirs = _str_list(table, "dirs", where)
    ro_dirs = _str_list(table, "ro_dirs", where)
    for key, specs in (("dirs", dirs), ("ro_dirs", ro_dirs)):
        for spec in specs:
            fixture, sep, guest_dir = spec.partition("::")
            if not sep or not guest_dir or not (FIXTURES / fixture).is_dir():
                raise CaseFileError(
                    f"{where}: `{key}` entry {spec!r} must be FIXTURE::/guest/path with FIXTURE "
                    f"a directory under {_rel(FIXTURES)}"
                )
    args = _str_list(table, "args", where)
    args_from = _get(table, "args_from", str, where)
    if args_from is not None and args_from not in _ARGS_FROM:
        raise CaseFileError(f"{where}: unknown `args_from` {args_from!r} (known: {_ARGS_FROM})")
    if args_from is not None and args:
        raise CaseFileError(f"{where}: `args` and `args_from` are exclusive")
    case = Case(
        name=name,
        guest=guest,
        expect_status=status,
        args=args,
        args_from=args_from,
        env=tuple(sorted(env_table.items())),
        stdin=_get(table, "stdin", str, where),
        dirs=dirs,
        ro_dirs=ro_dirs,
        until=_get(table, "until", str, where),
        stale=bool(_get(table, "stale", bool, where)),
        trace_file=_get(table, "trace", str, where),
        expect_error=_get(table, "expect_error", str, where),
        allow_code_change=bool(_get(table, "allow_code_change", bool, where)),
        allow_run=_str_list(table, "allow_run", where),
        run_wasm=_str_list(table, "run_wasm", where),
        allow_http=_str_list(table, "allow_http", where),
        server=bool(_get(table, "server", bool, where)),
    )
    if case.stale and not case.expect_error:
        raise CaseFileError(f"{where}: a stale case needs `expect_error`")
    if not case.stale and (case.expect_error or case.trace_file):
        raise CaseFileError(f"{where}: `expect_error` and `trace` are for stale cases only")
    return case


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    """Read and check cases.toml."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CaseFileError(f"cannot read {_rel(path)}: {exc}") from None
    tables = data.get("case")
    if not isinstance(tables, list) or not tables:
        raise CaseFileError(f"{_rel(path)}: no [[case]] tables")
    cases = [_parse_case(t, i, path) for i, t in enumerate(tables)]
    seen: set[str] = set()
    for case in cases:
        if case.name in seen:
            raise CaseFileError(f"{_rel(path)}: case {case.name!r} appears twice")
        seen.add(case.name)
    # One case per format directory that pins it: the frozen versions where their files exist
    # (stale cases are hand-made traces of the first version), the newest always.
    versions = []
    for case in cases:
        for fmt in sorted(FORMAT_DIRS):
            if fmt == CURRENT and not case.stale:
                versions.append(replace(case, format=fmt))
            elif fmt != CURRENT:
                older = replace(case, format=fmt)
                if case.stale or older.trace_path.exists():
                    versions.append(older)
    return versions


def select(cases: list[Case], names: Sequence[str]) -> list[Case]:
    if not names:
        return cases
    known = {c.name for c in cases} | {c.id for c in cases}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CaseFileError(
            f"unknown case(s): {', '.join(unknown)}; known: {', '.join(c.id for c in cases)}"
        )
    wanted = set(names)
    return [c for c in cases if c.name in wanted or c.id in wanted]


# ---- running the CLI --------------------------------------------------------------------------


def _wasm_rr(args: Sequence[str], stdin: bytes | None = None) -> Run:
    proc = subprocess.run(
        [sys.executable, "-m", "wasm_rr", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        cwd=ROOT,
        timeout=TIMEOUT_S,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def replay(case: Case, trace: Path | None = None) -> Run:
    """``wasm-rr replay GUEST TRACE [--allow-code-change]`` with stdin from /dev/null."""
    cmd = ["replay", case.guest, _rel(trace or case.trace_path)]
    if case.allow_code_change:
        cmd.append("--allow-code-change")
    return _wasm_rr(cmd)


def record_args(case: Case, now: float | None = None) -> list[str]:
    """The guest's arguments for one recording (``args_from`` is computed now)."""
    if case.args_from == "minutes_to_37":
        # timebomb adds OFFSET_MIN to the UTC clock and traps when the minute is 37. If the
        # minute turns between now and the guest's clock read, the run is safe: retried.
        minute = int((time.time() if now is None else now) // 60) % 60
        return [str((37 - minute) % 60)]
    return list(case.args)


def record(case: Case, trace: Path, args: Sequence[str]) -> Run:
    """:func:`record_with`, with the local HTTP server running when the case needs one."""
    if not case.server:
        return record_with(case, trace, args, "")
    sys.path.insert(0, str(ROOT))
    from tests.httpserver import serve

    with serve() as server:
        return record_with(case, trace, args, server.allow)


def record_with(case: Case, trace: Path, args: Sequence[str], server: str) -> Run:
    """``wasm-rr record GUEST -t TRACE [--env NAME=VALUE ...] [--dir ...] -- ARGS``.

    Each ``dirs`` fixture is given to the guest as a scratch copy, so the fixture in the
    repository never changes, whatever the guest writes; each ``ro_dirs`` one read-only
    (``--ro-dir``).
    """
    cmd = ["record", case.guest, "-t", _rel(trace)]
    for name, value in case.env:
        cmd += ["--env", f"{name}={value}"]
    for program in case.allow_run:
        cmd += ["--allow-run", program]
    for spec in case.run_wasm:
        cmd += ["--run-wasm", spec]
    for host in case.allow_http:
        cmd += ["--allow-http", host.replace("{server}", server)]
    args = [a.replace("{server}", server) for a in args]
    with tempfile.TemporaryDirectory(prefix="wasm-rr-golden-") as scratch:
        specs = [("--dir", s) for s in case.dirs] + [("--ro-dir", s) for s in case.ro_dirs]
        for i, (option, spec) in enumerate(specs):
            fixture, _, guest_dir = spec.partition("::")
            copy = Path(scratch) / f"{i}-{fixture}"
            shutil.copytree(FIXTURES / fixture, copy, symlinks=True)
            cmd += [option, f"{copy}::{guest_dir}"]
        cmd += ["--", *args]
        return _wasm_rr(cmd, None if case.stdin is None else case.stdin.encode())


# ---- comparing --------------------------------------------------------------------------------


def _diff(label: str, expected: bytes, got: bytes) -> list[str]:
    """A short unified diff of the first difference between two outputs."""
    exp = expected.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    act = got.decode("utf-8", "backslashreplace").splitlines(keepends=True)
    lines = [
        line.rstrip("\n")
        for line in difflib.unified_diff(exp, act, f"expected {label}", f"replayed {label}", n=1)
    ]
    if not lines:  # same lines, different bytes: e.g. a missing final newline
        return [f"--- expected {label}: {expected[-40:]!r}", f"+++ replayed {label}: {got[-40:]!r}"]
    # Keep the header and the first hunk only, cut to DIFF_LINES lines.
    hunk_ends = [i for i, line in enumerate(lines) if line.startswith("@@")][1:2]
    first = lines[: hunk_ends[0]] if hunk_ends else lines
    if len(first) > DIFF_LINES:
        first = [*first[:DIFF_LINES], "..."]
    return first


def _missing(case: Case) -> str | None:
    if not case.guest_path.is_file():
        return f"guest {case.guest} is missing: run `make guests`"
    for path in case.files():
        if not path.is_file():
            how = "see golden/README.md" if case.stale else "run `make golden-update`"
            return f"{_rel(path)} is missing: {how}"
    return None


def _error_line(stderr: bytes) -> str | None:
    """wasm-rr's own one-line error (``wasm-rr: ...``), if the run ended with one."""
    lines = stderr.decode("utf-8", "backslashreplace").splitlines()
    if (
        lines
        and lines[-1].startswith("wasm-rr: ")
        and not lines[-1].startswith("wasm-rr: guest trapped")
    ):
        return lines[-1]
    return None


def compare(case: Case, run: Run) -> Result:
    """Check one replay against the case's expectations."""
    if case.stale:
        return _compare_stale(case, run)
    problems: list[str] = []
    detail: list[str] = []
    if run.status != case.expect_status:
        problem = f"exit status {run.status}, expected {case.expect_status}"
        error = _error_line(run.stderr)
        problems.append(f"{problem} ({error})" if error else problem)
    for label, path, got in (
        ("stdout", case.stdout_path, run.stdout),
        ("stderr", case.stderr_path, run.stderr),
    ):
        expected = path.read_bytes()
        if got != expected:
            problems.append(f"{label} differs from {_rel(path)}")
            if not detail:
                detail = _diff(label, expected, got)
    if not problems:
        return Result(case.id, True)
    return Result(case.id, False, "; ".join(problems), detail)


def _compare_stale(case: Case, run: Run) -> Result:
    assert case.expect_error is not None
    err = run.stderr.decode("utf-8", "backslashreplace")
    err_lines = err.splitlines()
    problems: list[str] = []
    if run.status != case.expect_status:
        problems.append(f"exit status {run.status}, expected {case.expect_status}")
    if len(err_lines) != 1 or not err_lines[0].startswith("wasm-rr: "):
        problems.append(f"stderr is not one `wasm-rr: ...` line ({len(err_lines)} lines)")
    if case.expect_error not in err:
        problems.append(f"stderr lacks {case.expect_error!r}")
    if not problems:
        return Result(case.id, True)
    shown = err_lines[:DIFF_LINES] or ["(stderr is empty)"]
    return Result(case.id, False, "; ".join(problems), [f"stderr: {line}" for line in shown])


def check_case(case: Case) -> Result:
    """Replay one case through the CLI and compare it with its golden files."""
    missing = _missing(case)
    if missing:
        return Result(case.id, False, missing)
    try:
        run = replay(case)
    except subprocess.TimeoutExpired:
        return Result(case.id, False, f"replay took more than {TIMEOUT_S}s")
    return compare(case, run)


# ---- updating ---------------------------------------------------------------------------------


def _record_until_wanted(case: Case, trace: Path) -> tuple[Run, list[str], int] | Result:
    """Record into ``trace``; retry a case with ``until``/``args_from`` until the run is right.

    Returns the accepted recording, its arguments and the attempt number, or a failed Result.
    """
    attempts = MAX_ATTEMPTS if case.until is not None or case.args_from is not None else 1
    rec = Run(0, b"", b"")
    for attempt in range(1, attempts + 1):
        args = record_args(case)
        rec = record(case, trace, args)
        wanted = case.until is None or case.until.encode() in rec.stdout
        if wanted and rec.status == case.expect_status:
            return rec, args, attempt
    if attempts == 1:
        why = f"recording exited {rec.status}, expected {case.expect_status}"
        return Result(case.id, False, why, _tail(rec))
    goal = f"stdout containing {case.until!r} and " if case.until else ""
    goal += f"exit status {case.expect_status}"
    return Result(case.id, False, f"no recording with {goal} in {attempts} attempts", _tail(rec))


def update_case(case: Case) -> Result:
    """Re-record a non-stale case into golden/, then pin stdout/stderr from a replay of it."""
    if case.stale or case.frozen:  # never re-recorded, only checked
        result = check_case(case)
        if result.ok:
            result.note = "stale: checked, not re-recorded" if case.stale else "frozen format"
        return result
    if not case.guest_path.is_file():
        return Result(case.id, False, f"guest {case.guest} is missing: run `make guests`")
    case.dir.mkdir(exist_ok=True)
    tmp = case.dir / f".{case.name}.cbor.tmp"
    try:
        got = _record_until_wanted(case, tmp)
        if isinstance(got, Result):
            return got
        rec, args, attempt = got
        rep = replay(case, tmp)
        if (rep.status, rep.stdout, rep.stderr) != (rec.status, rec.stdout, rec.stderr):
            why = "replaying the new recording does not reproduce the recorded run"
            detail = [f"recorded exit {rec.status}, replayed exit {rep.status}"]
            if rep.stdout != rec.stdout:
                detail += _diff("stdout", rec.stdout, rep.stdout)
            else:
                detail += _diff("stderr", rec.stderr, rep.stderr)
            return Result(case.id, False, why, detail)
        os.replace(tmp, case.trace_path)
        case.stdout_path.write_bytes(rep.stdout)
        case.stderr_path.write_bytes(rep.stderr)
    finally:
        tmp.unlink(missing_ok=True)
    note = f"recorded with args {args}" if args else "recorded"
    if attempt > 1:
        note += f" on attempt {attempt}"
    return Result(case.id, True, note=note)


def _tail(run: Run) -> list[str]:
    text = (run.stderr or run.stdout).decode("utf-8", "backslashreplace")
    return text.splitlines()[-DIFF_LINES:]


# ---- main ---------------------------------------------------------------------------------------


def stray_files(cases: list[Case]) -> list[str]:
    owned = {p for c in cases for p in c.files()}
    return sorted(
        _rel(p)
        for pattern in ("*.cbor", "*.stdout", "*.stderr")
        for d in FORMAT_DIRS.values()
        for p in d.glob(pattern)
        if p not in owned
    )


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout) -> int:
    parser = argparse.ArgumentParser(
        prog="golden/run.py", description="Replay (or with --update, re-record) golden traces."
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="re-record every selected non-stale case and re-pin its output",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="cases to run (default: all)")
    opts = parser.parse_args(argv)
    try:
        every = load_cases()
        cases = select(every, opts.names)
    except CaseFileError as exc:
        print(f"golden/run.py: {exc}", file=sys.stderr)
        return 2

    def show(result: Result) -> None:
        for line in result.lines():
            print(line, file=out, flush=True)

    results: list[Result] = []
    if opts.update:
        for case in cases:  # one at a time: `until` and `args_from` depend on the clock
            results.append(update_case(case))
            show(results[-1])
    else:
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            for result in pool.map(check_case, cases):
                results.append(result)
                show(result)
    if not opts.names:
        for stray in stray_files(every):
            print(f"warning: {stray} belongs to no case in cases.toml", file=out)
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed", file=out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
