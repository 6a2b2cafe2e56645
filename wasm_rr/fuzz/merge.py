"""``wasm-rr fuzz --merge``: corpus minimisation (libFuzzer's ``-merge=1``, afl-cmin).

Every input of the corpus directories runs once, in the same seeded world (``--seed``), and
gives its path signature (:func:`wasm_rr.fuzz.runner.signature`, the novelty signal of a
fuzzing session). The merged corpus keeps, for each signature, the smallest input that has it
(ties: the bytewise smaller), so it reaches every path the inputs reached, with as few and as
small inputs as that signal allows. Inputs that crash (or time out, or meet ``--until``) are
left out, as afl-cmin does: a session that starts from the merged corpus does not spend its
first runs on known crashes; ``fuzz`` on the original corpus keeps them as traces.

The choice depends only on the inputs and the seed, never on which worker answers first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import blake3

from .. import scale
from ..errors import UsageError
from .runner import Batch, Setup, run_batch

__all__ = ["Merged", "merge"]


@dataclass(frozen=True)
class Merged:
    """What :func:`merge` did."""

    inputs: int
    """Input files read (duplicates included)."""
    kept: tuple[str, ...]
    """The names of the files written to the output directory, smallest input first."""
    paths: int
    """Distinct path signatures among the inputs that did not crash (one kept input each)."""
    duplicates: int
    """Input files whose bytes another input file already had."""
    crashed: int
    """Distinct inputs left out because their run crashed (or timed out)."""
    seconds: float
    workers: int

    def summary(self, out_dir: str) -> str:
        """``merge: kept 3 of 10 inputs (3 paths; 2 duplicates, 1 crashing input left out)
        in OUT``."""
        notes = []
        if self.duplicates:
            notes.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}")
        if self.crashed:
            notes.append(
                f"{self.crashed} crashing input{'s' if self.crashed != 1 else ''} left out"
            )
        extra = f"; {', '.join(notes)}" if notes else ""
        return (
            f"merge: kept {len(self.kept)} of {self.inputs} inputs "
            f"({self.paths} path{'s' if self.paths != 1 else ''}{extra}) in {out_dir}"
        )


def _check_out(out_dir: str) -> None:
    if os.path.exists(out_dir):
        if not os.path.isdir(out_dir):
            raise UsageError(f"--merge: the output {out_dir} is not a directory")
        if os.listdir(out_dir):
            raise UsageError(
                f"--merge: the output directory {out_dir} is not empty; give a new or empty "
                "one (the merged corpus is written there, and only there)"
            )


def _write(path: str, data: bytes) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def merge(
    setup: Setup,
    inputs: Sequence[tuple[str, bytes]],
    out_dir: str,
    *,
    seed: int = 0,
    jobs: int = 1,
    cluster: object = None,
    batch_size: int | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> Merged:
    """Run every input (``(file name, bytes)``, in the order given) once with the world
    seeded by ``seed``, and write to ``out_dir`` (missing or empty) the smallest input of
    each path signature among the runs that did not crash. ``progress(done, total,
    seconds)`` is told as results come in."""
    _check_out(out_dir)
    names: dict[bytes, str] = {}
    for name, data in inputs:
        names.setdefault(data, name)
    # Smallest first, then bytewise: the first input met with a signature is the one kept.
    distinct = sorted(names, key=lambda d: (len(d), d))
    signatures: list[bytes | None] = [None] * len(distinct)
    started = time.monotonic()
    workers = scale.workers(jobs, cluster)
    size = batch_size or (8 if workers.size == 1 else 32)

    def batches() -> Iterator[Batch]:
        for number, start in enumerate(range(0, len(distinct), size)):
            chunk = tuple((d, seed) for d in distinct[start : start + size])
            yield Batch(setup, number, chunk, traces=False)

    done = 0
    try:
        for result in workers.map(run_batch, batches()):
            for i, ex in enumerate(result.execs):
                if ex.crash is None:
                    signatures[result.number * size + i] = ex.signature
            done += len(result.execs)
            if progress is not None:
                progress(done, len(distinct), time.monotonic() - started)
    finally:
        workers.close()
    seen: set[bytes] = set()
    kept: list[bytes] = []
    for data, sig in zip(distinct, signatures, strict=True):
        if sig is not None and sig not in seen:
            seen.add(sig)
            kept.append(data)
    os.makedirs(out_dir, exist_ok=True)
    written: list[str] = []
    used: set[str] = set()
    for data in kept:
        name = names[data]
        if name in used:  # two input directories with a file of this name
            name = blake3.blake3(data).hexdigest()[:16]
        used.add(name)
        _write(os.path.join(out_dir, name), data)
        written.append(name)
    return Merged(
        inputs=len(inputs),
        kept=tuple(written),
        paths=len(seen),
        duplicates=len(inputs) - len(distinct),
        crashed=signatures.count(None),
        seconds=time.monotonic() - started,
        workers=workers.size,
    )
