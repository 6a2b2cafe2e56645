"""Shared fixtures: the built guests, in-process runs with captured streams, CLI runs, and
reproducible clocks and random sources (no test depends on chance or the time of day)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasm_rr import engine
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.engine import RunResult
from wasm_rr.world import HOST, Sources, Streams
from wasm_rr.world.clocks import stepping
from wasm_rr.world.random import scripted, seeded

ROOT = Path(__file__).resolve().parent.parent
GUESTS = ROOT / "guests" / "build"


def guest(name: str) -> Path:
    path = GUESTS / f"{name}.wasm"
    assert path.exists(), f"{path} missing: run `make guests`"
    return path


@dataclass
class Captured:
    result: RunResult
    stdout: bytes
    stderr: bytes


def _streams(stdin: bytes | None = None) -> tuple[Streams, io.BytesIO, io.BytesIO]:
    out, err = io.BytesIO(), io.BytesIO()
    return Streams(io.BytesIO(stdin) if stdin is not None else None, out, err), out, err


def run_config(
    path: str | Path,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    dirs: list[tuple[str, str, bool]] | None = None,
) -> RunConfig:
    """The configuration the CLI would build for these arguments."""
    return RunConfig(
        argv=[os.path.basename(path), *(args or [])],
        env=dict(env or {}),
        dirs=[DirSpec(h, g, ro) for h, g, ro in dirs or []],
    )


MINUTE_NS = 60 * 10**9
NOON = 1_699_963_200 * 10**9
"""2023-11-14 12:00:00 UTC: the wall clock of a reproducible recording."""


def sources(
    seed: int = 0, at_ns: int = NOON, first_bytes: bytes = b"", step_ns: int = 1_000
) -> Sources:
    """Reproducible clocks and random for a recording: the wall clock reads ``at_ns`` (then
    ``step_ns`` more each read), the random source answers ``first_bytes``, then bytes seeded
    by ``seed``."""
    return Sources(clocks=stepping(at_ns, step_ns), random=scripted(first_bytes, seeded(seed)))


def record(
    name: str | Path,
    trace: Path,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    sources: Sources = HOST,
) -> Captured:
    """Record ``name`` in-process; ``sources`` chooses what its clocks and random answer."""
    streams, out, err = _streams(stdin)
    path = name if isinstance(name, Path) else guest(name)
    result = engine.record(path, trace, run_config(path, args, env), streams, sources=sources)
    return Captured(result, out.getvalue(), err.getvalue())


def replay(name: str | Path, trace: Path, allow_code_change: bool = False) -> Captured:
    streams, out, err = _streams()
    path = name if isinstance(name, Path) else guest(name)
    result = engine.replay(path, trace, streams, allow_code_change)
    return Captured(result, out.getvalue(), err.getvalue())


@dataclass
class CliRun:
    status: int
    stdout: str
    stderr: str


def cli(
    *args: str | Path,
    env: dict[str, str] | None = None,
    stdin: bytes = b"",
    kill_at: str | None = None,
) -> CliRun:
    """Run ``python -m wasm_rr`` in a subprocess (exit statuses, one-line errors); with
    ``kill_at`` (``WINDOW:KIND:N``), one that SIGKILLs itself there (tests/crash_hook.py)."""
    full_env = {**os.environ, **(env or {})}
    entry = ["wasm_rr"] if kill_at is None else ["tests.crash_hook", kill_at]
    proc = subprocess.run(
        [sys.executable, "-m", *entry, *map(str, args)],
        input=stdin,
        capture_output=True,
        env=full_env,
        cwd=ROOT,
        timeout=120,
    )
    return CliRun(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.fixture
def tmp_trace(tmp_path: Path) -> Path:
    return tmp_path / "run.cbor"


@pytest.fixture
def cluster() -> Iterator[str]:
    """A Dask LocalCluster of two worker processes on 127.0.0.1, new for each test (hunt and
    fuzz --cluster; two tests), its scheduler's address. Not shared by the session: a client of
    the session's cluster once waited for good to connect after the tests between its two users
    had run (seen once in a full run, not alone), so each test starts from a fresh one."""
    distributed = pytest.importorskip("distributed")
    import dask

    # No sampling profiler in the workers (it walks their stacks every 10 ms).
    quiet = dask.config.set({"distributed.worker.profile.enabled": False})
    with (
        quiet,
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=40,
        ) as local,
    ):
        yield local.scheduler_address
