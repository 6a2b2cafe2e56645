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
