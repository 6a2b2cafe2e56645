"""The worker side of fuzzing: run a batch of inputs, recorded in memory, and answer each run's
path signature and crash site (with a self-contained trace for a site not seen before).

:func:`run_batch` is a top-level function of picklable values, so that it runs in this
process, in local worker processes or on a Dask cluster (:mod:`wasm_rr.scale`).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import blake3

from .. import predicate, scale
from ..abi.interrupt import GuestTimeout
from ..api import Program, seeded_sources
from ..config import DirSpec, RunConfig
from ..crashes import CrashSite, crash_site
from ..errors import UsageError
from ..trace import reader
from ..trace.events import BLOB, SITE
from ..trace.schema import Outcome
from ..world import Sources
from .chaos import WorldChaos

Target = Literal["stdin", "file", "args"]


@dataclass(frozen=True)
class Setup:
    """What every run of a session shares (sent along with each batch)."""

    wasm: bytes = field(repr=False)
    name: str
    target: Target = "stdin"
    file: str | None = None
    """``--file``: the guest path the input is written to."""
    args: tuple[str, ...] = ()
    """Arguments the guest always gets (``--args`` appends the input's lines)."""
    env: tuple[tuple[str, str], ...] = ()
    dirs: tuple[DirSpec, ...] = ()
    families: tuple[tuple[str, object], ...] = ()
    until: str | None = None
    """The ``--until`` expression (a crash is then a run it holds for), else a trap."""
    chaos: bool = False
    timeout: float | None = 10.0
    """Seconds a run may take; a longer run is a crash of its own (site ``timeout``)."""


@dataclass(frozen=True)
class Batch:
    setup: Setup
    number: int
    inputs: tuple[tuple[bytes, int], ...]
    """Each run's input and seed (the seed of its clocks, random bytes and chaos)."""
    known: frozenset[str] = frozenset()
    """Crash sites already saved: their traces are not recorded again."""
    traces: bool = True
    """Record a crash trace for a site not known yet (``fuzz --merge`` wants none)."""


@dataclass(frozen=True)
class Exec:
    """One run's result."""

    signature: bytes
    crash: CrashSite | None = None
    trace: bytes | None = field(default=None, repr=False)
    """A self-contained trace of the run, when it crashed at a site not known yet."""


@dataclass(frozen=True)
class BatchResult:
    number: int
    execs: tuple[Exec, ...]


TIMEOUT_SITE = "timeout"


def bucket(n: int) -> int:
    """Fuel (instructions) in buckets: exact below 64, then 32 per power of two (about 2 %
    wide), so that a few instructions more or less is the same path, but a parser's loop going
    one record further (or failing one check later) is not."""
    if n < 64:
        return n
    bits = n.bit_length()
    return (bits << 5) | ((n >> (bits - 6)) & 31)


def signature(trace: bytes, outcome: Outcome) -> bytes:
    """A run's path signature: its events' kinds and bucketed fuel deltas, its outcome (exit
    status, or trap site) and the bucketed total fuel, hashed (16 bytes)."""
    loaded = reader.load_bytes(trace)
    arity = loaded.arity
    names = {code: decl.name for code, decl in loaded.kinds.items()}
    total = 0
    parts: list[str] = []
    chunks = loaded.chunks()
    # The flat items, as Trace.events walks them, without resolving payloads.
    while (chunk := chunks.next()) is not None:
        items, end = chunk
        i = 0
        while i < end:
            k = items[i]
            if k != BLOB and k != SITE:
                fuel = items[i + 1]
                total += fuel
                parts.append(f"{names[k]}:{bucket(fuel)}")
            i += 1 + arity[k]
    parts.append(f"end:{crash_site(outcome).id}:{bucket(total)}")
    return blake3.blake3(";".join(parts).encode()).digest(16)


def sources(seed: int, chaos: bool) -> Sources:
    """The world of one run: seeded clocks and random bytes, and seeded chaos with ``chaos``."""
    base = seeded_sources(seed)
    if not chaos:
        return base
    return Sources(clocks=base.clocks, random=base.random, chaos=WorldChaos(seed))


def input_args(data: bytes) -> list[str]:
    """``--args``: one argument per line (a final newline ends the last one; NUL bytes, which
    no argument can hold, are dropped; bytes that are not UTF-8 become U+FFFD)."""
    if not data:
        return []
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return [line.replace(b"\0", b"").decode("utf-8", "replace") for line in lines]


def file_dir(path: str) -> tuple[str, str]:
    """``--file``'s guest directory (preopened by the fuzzer) and file name."""
    directory, name = posixpath.split(path)
    if not name or name in (".", ".."):
        raise UsageError(f"--file {path!r}: expected a file path inside the guest, e.g. /data/in")
    return directory or ".", name


@contextmanager
def _workspace(setup: Setup) -> Iterator[tuple[list[DirSpec], str | None]]:
    """The directories of this batch's runs, and the host path ``--file``'s input goes to: a
    fresh directory preopened at the file's guest directory (a copy of the ``--dir`` given
    there, if any), removed after the batch."""
    if setup.target != "file" or setup.file is None:
        yield list(setup.dirs), None
        return
    guest_dir, name = file_dir(setup.file)
    with tempfile.TemporaryDirectory(prefix="wasm-rr-fuzz-") as tmp:
        dirs: list[DirSpec] = []
        readonly = False
        for d in setup.dirs:
            if d.guest.rstrip("/") == guest_dir.rstrip("/") or d.guest == guest_dir:
                shutil.copytree(d.host, tmp, symlinks=True, dirs_exist_ok=True)
                readonly = d.readonly
            else:
                dirs.append(d)
        dirs.append(DirSpec(tmp, guest_dir, readonly))
        yield dirs, os.path.join(tmp, name)


class _Runner:
    def __init__(
        self, setup: Setup, dirs: list[DirSpec], file_path: str | None, traces: bool = True
    ) -> None:
        self.setup = setup
        self.traces = traces
        self.prog: Program = scale.program(setup.wasm, setup.name)
        self.until = predicate.parse(setup.until) if setup.until is not None else None
        self.dirs = dirs
        self.file_path = file_path

    def config(self, data: bytes) -> RunConfig:
        s = self.setup
        args = [*s.args, *input_args(data)] if s.target == "args" else list(s.args)
        return self.prog.config(args, dict(s.env), self.dirs, dict(s.families))

    def stdin(self, data: bytes) -> bytes:
        if self.file_path is not None:
            with open(self.file_path, "wb") as f:
                f.write(data)
        return data if self.setup.target == "stdin" else b""

    def one(self, data: bytes, seed: int, known: set[str]) -> Exec:
        s = self.setup
        try:
            r = self.prog.record(
                config=self.config(data),
                stdin=self.stdin(data),
                sources=sources(seed, s.chaos),
                timeout=s.timeout,
            )
        except GuestTimeout:
            return self.timed_out(data, seed, known)
        assert r.trace is not None
        sig = signature(r.trace, r.outcome)
        if self.until is not None:
            view = predicate.RunView(r.outcome, r.stdout or b"", r.stderr or b"")
            crashed = self.until(view)
        else:
            crashed = r.trap is not None
        if not crashed:
            return Exec(sig)
        site = crash_site(r.outcome)
        if site.id in known or not self.traces:
            return Exec(sig, site)
        known.add(site.id)
        # The first run at this site: again, with the guest in the trace (same input, same
        # seeded world: the same run).
        again = self.prog.record(
            config=self.config(data),
            stdin=self.stdin(data),
            sources=sources(seed, s.chaos),
            timeout=s.timeout,
            embed_guest=True,
        )
        return Exec(sig, site, again.trace)

    def timed_out(self, data: bytes, seed: int, known: set[str]) -> Exec:
        s = self.setup
        site = CrashSite(TIMEOUT_SITE, f"longer than {s.timeout:g} s")
        sig = blake3.blake3(site.id.encode()).digest(16)
        if site.id in known or not self.traces:
            return Exec(sig, site)
        known.add(site.id)
        with tempfile.TemporaryDirectory(prefix="wasm-rr-fuzz-") as tmp:
            path = os.path.join(tmp, "timeout.cbor")
            # It times out again, as expected: the trace keeps every event recorded so far.
            with contextlib.suppress(GuestTimeout):
                self.prog.record(
                    config=self.config(data),
                    stdin=self.stdin(data),
                    sources=sources(seed, s.chaos),
                    timeout=s.timeout,
                    embed_guest=True,
                    trace=path,
                )
            with open(path, "rb") as f:
                return Exec(sig, site, f.read())


def run_batch(batch: Batch) -> BatchResult:
    """Run every input of ``batch`` (the job :mod:`wasm_rr.scale` workers run)."""
    known = set(batch.known)
    with _workspace(batch.setup) as (dirs, file_path):
        runner = _Runner(batch.setup, dirs, file_path, batch.traces)
        execs = tuple(runner.one(data, seed, known) for data, seed in batch.inputs)
    return BatchResult(batch.number, execs)


__all__ = [
    "TIMEOUT_SITE",
    "Batch",
    "BatchResult",
    "Exec",
    "Setup",
    "Target",
    "bucket",
    "file_dir",
    "input_args",
    "run_batch",
    "signature",
    "sources",
]
