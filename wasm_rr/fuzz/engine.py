"""The fuzzing loop: pick a corpus entry, mutate it, run it (on the workers), keep it when its
path signature is new, save each new crash site once.

Every random choice comes from one ``random.Random(seed)``: with one worker, a session with a
given seed and ``runs`` tries the same inputs in the same order, and finds the same crashes.
With more workers, which results come back first decides what the corpus holds when the next
batch is made, so the inputs tried differ from session to session (the crash traces never
do: each replays exactly).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import blake3

from .. import scale
from ..crashes import CrashSite
from ..errors import UsageError
from .mutate import Pool, deterministic, harvest_tokens, mutate
from .runner import Batch, BatchResult, Exec, Setup, run_batch

CRASH_PREFIX = "crash-"
CRASH_SUFFIX = ".cbor"


@dataclass
class Crash:
    """One crash site found: how often, the smallest input that reached it, its trace."""

    site: CrashSite
    count: int = 0
    smallest: int = 0
    path: str | None = None
    """The saved trace (``crash-<site>.cbor`` in the output directory)."""
    new: bool = True
    """False when the output directory already held this site's trace."""
    first_run: int = 0
    """The run (counted from 1) that first reached this site in this session."""


@dataclass
class Stats:
    """A session so far (for the progress line and the report)."""

    execs: int = 0
    seconds: float = 0.0
    corpus: int = 0
    seeds: int = 0
    paths: int = 0
    workers: int = 1
    crashes: dict[str, Crash] = field(default_factory=dict)

    @property
    def execs_per_s(self) -> float:
        return self.execs / self.seconds if self.seconds > 0 else 0.0


def crash_path(out_dir: str, site_id: str) -> str:
    return os.path.join(out_dir, f"{CRASH_PREFIX}{site_id}{CRASH_SUFFIX}")


def corpus_files(directory: str | None) -> list[tuple[str, bytes]]:
    """Every regular file directly in ``directory``, by name: its name and contents; none when
    the directory is missing."""
    if directory is None or not os.path.exists(directory):
        return []
    if not os.path.isdir(directory):
        raise UsageError(f"--corpus {directory}: not a directory")
    files = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            try:
                with open(path, "rb") as f:
                    files.append((name, f.read()))
            except OSError as exc:
                raise UsageError(
                    f"--corpus {directory}: cannot read {name}: {exc.strerror}"
                ) from None
    return files


def load_corpus(directory: str | None) -> list[bytes]:
    """The seed inputs: every regular file directly in ``directory``, by name; none when it is
    missing or empty (the session then starts from the empty input)."""
    return [data for _, data in corpus_files(directory)]


def _known_sites(out_dir: str) -> set[str]:
    return {
        name[len(CRASH_PREFIX) : -len(CRASH_SUFFIX)]
        for name in os.listdir(out_dir)
        if name.startswith(CRASH_PREFIX) and name.endswith(CRASH_SUFFIX)
    }


def _write(path: str, data: bytes) -> None:
    """Write a whole file, or nothing (a temporary name, then renamed)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Session:
    """One fuzzing session (``wasm-rr fuzz``)."""

    def __init__(
        self,
        setup: Setup,
        seeds: Sequence[bytes],
        out_dir: str,
        *,
        seed: int = 0,
        runs: int | None = None,
        seconds: float | None = None,
        jobs: int = 1,
        cluster: object = None,
        max_len: int = 4096,
        save_corpus: bool = False,
        batch_size: int | None = None,
        progress: Callable[[Stats], None] | None = None,
        dictionary: Sequence[bytes] = (),
    ) -> None:
        if runs is None and seconds is None:
            raise UsageError("fuzz needs a limit: --runs N or --time SECONDS")
        self.setup = setup
        self.out_dir = out_dir
        self.rng = random.Random(seed)
        self.runs = runs
        self.seconds = seconds
        self.jobs = jobs
        self.cluster = cluster
        self.save_corpus = save_corpus
        self.batch_size = batch_size
        self.progress = progress
        # The seeds run first, as they are; with --chaos they are all there is to run.
        unique = list(dict.fromkeys(seeds)) or [b""]
        self.pending: Iterator[bytes] = iter(unique)
        if not setup.chaos:
            # Then each seed's deterministic stage, then random mutations.
            self.pending = itertools.chain(
                self.pending, itertools.chain.from_iterable(map(deterministic, unique))
            )
        self.corpus: list[bytes] = []
        self.pool = Pool(self.corpus, harvest_tokens(unique), max_len, tuple(dictionary))
        self.seen: set[bytes] = set()
        self.stats = Stats(seeds=len(unique))
        self.inputs: dict[int, tuple[bytes, ...]] = {}
        self.started = 0.0
        self.submitted = 0

    # ---- making batches -------------------------------------------------------------------

    def _next_input(self) -> bytes:
        data = next(self.pending, None)
        if data is not None:
            return data
        rng = self.rng
        entries = self.corpus or [b""]
        if self.setup.chaos:
            return entries[rng.randrange(len(entries))]
        return mutate(rng, entries[rng.randrange(len(entries))], self.pool)

    def _done_submitting(self) -> bool:
        if self.runs is not None and self.submitted >= self.runs:
            return True
        return self.seconds is not None and time.monotonic() - self.started >= self.seconds

    def _batches(self, size: int) -> Iterator[Batch]:
        number = 0
        while not self._done_submitting():
            n = size if self.runs is None else min(size, self.runs - self.submitted)
            inputs = tuple((self._next_input(), self.rng.getrandbits(62)) for _ in range(n))
            self.inputs[number] = tuple(data for data, _ in inputs)
            self.submitted += n
            yield Batch(self.setup, number, inputs, frozenset(self.stats.crashes))
            number += 1

    # ---- taking results -------------------------------------------------------------------

    def _take(self, result: BatchResult) -> None:
        inputs = self.inputs.pop(result.number)
        for data, ex in zip(inputs, result.execs, strict=True):
            self.stats.execs += 1
            if ex.crash is not None:
                self._crash(data, ex)
            elif ex.signature not in self.seen:
                self._add(data)
            self.seen.add(ex.signature)
        self.stats.paths = len(self.seen)
        self.stats.corpus = len(self.corpus)

    def _add(self, data: bytes) -> None:
        self.corpus.append(data)
        if len(self.corpus) % 16 == 0:
            self.pool = replace(self.pool, tokens=harvest_tokens(self.corpus))
        if self.save_corpus:
            directory = os.path.join(self.out_dir, "corpus")
            os.makedirs(directory, exist_ok=True)
            _write(os.path.join(directory, blake3.blake3(data).hexdigest()[:16]), data)

    def _crash(self, data: bytes, ex: Exec) -> None:
        site = ex.crash
        assert site is not None
        crash = self.stats.crashes.get(site.id)
        if crash is None:
            crash = self.stats.crashes[site.id] = Crash(site, smallest=len(data))
        if crash.count == 0:
            crash.site, crash.first_run = site, self.stats.execs
        crash.count += 1
        crash.smallest = min(crash.smallest, len(data))
        if crash.path is None and ex.trace is not None:
            crash.path = crash_path(self.out_dir, site.id)
            _write(crash.path, ex.trace)

    # ---- the loop -------------------------------------------------------------------------

    def run(self) -> Stats:
        """Fuzz until ``runs`` inputs were tried or ``seconds`` passed; the crashes are in
        the output directory, the counts in the returned :class:`Stats`."""
        os.makedirs(self.out_dir, exist_ok=True)
        for site_id in _known_sites(self.out_dir):
            path = crash_path(self.out_dir, site_id)
            self.stats.crashes[site_id] = Crash(CrashSite("saved", site_id), path=path, new=False)
        workers = scale.workers(self.jobs, self.cluster)
        self.stats.workers = workers.size
        size = self.batch_size or (8 if workers.size == 1 else 32)
        self.started = time.monotonic()
        shown = 0.0
        try:
            for result in workers.map(run_batch, self._batches(size)):
                self._take(result)
                now = time.monotonic()
                self.stats.seconds = now - self.started
                if self.progress is not None and now - shown >= 0.25:
                    shown = now
                    self.progress(self.stats)
        finally:
            workers.close()
        self.stats.seconds = time.monotonic() - self.started
        # Sites that were only known from an earlier session and not met again are not news.
        for site_id in [k for k, c in self.stats.crashes.items() if c.count == 0]:
            del self.stats.crashes[site_id]
        return self.stats


__all__ = [
    "CRASH_PREFIX",
    "CRASH_SUFFIX",
    "Crash",
    "Session",
    "Stats",
    "corpus_files",
    "crash_path",
    "load_corpus",
]
