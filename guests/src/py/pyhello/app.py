"""pyhello: a WASI 0.2 command written in Python, built with componentize-py.

Usage: pyhello FILE [ARGS...]

Reads FILE (a path inside a preopened directory), the environment variable GREETING, its
arguments, the wall clock, the monotonic clock and the secure random source, and prints a
report of what it saw. Exits 0, or 1 (with a message on stderr) when FILE cannot be read.
"""

import hashlib
import os
import random
import sys
import time

from componentize_py_types import Err
from wit_world import exports


def report() -> int:
    args = sys.argv[1:]
    print(f"pyhello: args {args}")
    print(f"pyhello: GREETING={os.environ.get('GREETING', '(unset)')}")
    if not args:
        print("pyhello: usage: pyhello FILE [ARGS...]", file=sys.stderr)
        return 1
    path = args[0]
    try:
        data = open(path, "rb").read()
    except OSError as exc:
        print(f"pyhello: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 1
    lines = data.splitlines()
    first = lines[0].decode("utf-8", "replace") if lines else ""
    print(f"pyhello: {path}: {len(data)} bytes, {len(lines)} lines, first line {first!r}")
    print(f"pyhello: sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    folder = os.path.dirname(path) or "."
    print(f"pyhello: {folder} holds {sorted(os.listdir(folder))}")
    start = time.monotonic_ns()
    wall = time.time()
    print(f"pyhello: UTC {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(wall))}")
    seed = os.urandom(8)
    rng = random.Random(seed)
    print(f"pyhello: random {seed.hex()}, dice {[rng.randint(1, 6) for _ in range(5)]}")
    print(f"pyhello: took {max(0, time.monotonic_ns() - start)} ns")
    return 0


class Run(exports.Run):
    def run(self) -> None:
        status = report()
        sys.stdout.flush()
        sys.stderr.flush()
        if status:
            raise Err(None)
