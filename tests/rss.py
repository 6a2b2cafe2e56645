"""Measuring a recording's heap: a prelude for a child Python process that samples its anonymous
resident memory (its heap, not the page cache a trace file's mapping shows) every few
milliseconds while the rest of the script runs; the script ends with ``print(peak())``."""

SAMPLER = """
import threading, time
_peak = [0]
_done = threading.Event()
def _anon():
    for line in open("/proc/self/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0
def _sample():
    while not _done.is_set():
        _peak[0] = max(_peak[0], _anon())
        time.sleep(0.002)
_thread = threading.Thread(target=_sample, daemon=True)
_thread.start()
def peak():
    _done.set()
    _thread.join()
    return max(_peak[0], _anon())
"""


def run_peak_anon_kib(argv: list[str], cwd: str | None = None) -> tuple[int, str]:
    """Run ``argv`` and return the peak of its anonymous resident memory (KiB), sampled from
    outside every millisecond (a child that holds the GIL through one large copy cannot hide
    it from its own sampler thread this way), and its stdout. Fails if it fails."""
    import subprocess
    import time

    proc = subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    status = f"/proc/{proc.pid}/status"
    peak = 0
    while proc.poll() is None:
        try:
            with open(status) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak = max(peak, int(line.split()[1]))
                        break
        except OSError:
            break
        time.sleep(0.001)
    out, err = proc.communicate()
    if proc.returncode:
        raise AssertionError(f"{argv[:3]} failed ({proc.returncode}): {err[-2000:]}")
    return peak, out
