"""``wasm-rr fuzz``: mutation fuzzing of a guest's input (stdin, a file, its arguments), or of
the world's own answers (``--chaos``), with every run recorded and each crash kept as a trace
that replays alone. See docs/fuzzing.md.

:mod:`~wasm_rr.fuzz.mutate` (pure mutators), :mod:`~wasm_rr.fuzz.runner` (the worker side: a
batch of runs, their path signatures and crash sites), :mod:`~wasm_rr.fuzz.engine` (the loop),
:mod:`~wasm_rr.fuzz.chaos` (the chaotic world).
"""

from .engine import Crash, Session, Stats, load_corpus
from .runner import Setup, Target

__all__ = ["Crash", "Session", "Setup", "Stats", "Target", "load_corpus"]
