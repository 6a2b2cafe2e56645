"""Measuring a process's heap from outside: its anonymous resident memory (its heap, not the page
cache a trace file's mapping shows), sampled every millisecond while it runs. A child that holds
the GIL through one large copy cannot hide it from a sampler in another process, as it could from
a sampler thread of its own; and a machine too loaded to sample can only miss a peak, never make
one up."""

from __future__ import annotations

import subprocess
import tempfile
import time


def _anon_kib(status: str) -> int | None:
    try:
        with open(status) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return 0


def run_peak_anon_kib(argv: list[str], cwd: str | None = None) -> tuple[int, str]:
    """Run ``argv`` and return the peak of its anonymous resident memory (KiB) and its stdout.
    Fails if it fails. Its output goes to files (a pipe nobody reads while it runs could fill up
    and stop it)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err)
        status = f"/proc/{proc.pid}/status"
        peak = 0
        while proc.poll() is None:
            kib = _anon_kib(status)
            if kib is None:
                break
            peak = max(peak, kib)
            time.sleep(0.001)
        proc.wait()
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            why = err.read()[-2000:].decode(errors="replace")
            raise AssertionError(f"{argv[:3]} failed ({proc.returncode}): {why}")
        return peak, out.read().decode()
