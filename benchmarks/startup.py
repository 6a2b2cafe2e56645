"""`make bench`: start-up, the whole process of ``wasm-rr record`` and ``wasm-rr replay``.

Both commands run the greet guest from a shell, as a user runs them (the ``wasm-rr`` console
script next to this Python), against the same guest run under wasmtime-py's built-in WASI by a
plain Python script (``Linker.define_wasi``, a ``WasiConfig`` with argv and inherited stdout).
Every process is timed whole (interpreter start, imports, compile or cache load, run, exit).
The three are interleaved in one loop so that load from other work on the machine falls on
all of them alike, and each figure is the best of ``--reps``. wasm-rr's compile cache is warmed
first: after the first run of a guest, wasm-rr loads it compiled. Target: <= 1.2x the stock
process. A missed target is printed, never failed on.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GREET = ROOT / "guests" / "build" / "greet.wasm"
TARGET = 1.2

STOCK = """\
import sys
import wasmtime
engine = wasmtime.Engine()
module = wasmtime.Module.from_file(engine, sys.argv[1])
linker = wasmtime.Linker(engine)
linker.define_wasi()
store = wasmtime.Store(engine)
config = wasmtime.WasiConfig()
config.argv = [sys.argv[1]]
config.inherit_stdout()
store.set_wasi(config)
instance = linker.instantiate(store, module)
instance.exports(store)["_start"](store)
"""


def wasm_rr_script() -> str:
    """The ``wasm-rr`` console script of this Python's environment (what a user runs)."""
    found = Path(sys.executable).parent / "wasm-rr"
    if found.exists():
        return str(found)
    which = shutil.which("wasm-rr")
    if which is None:
        sys.exit("startup.py: no wasm-rr console script (pip install -e . first)")
    return which


def elapsed(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=15, help="best of this many (default 15)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        stock = Path(tmp) / "stock.py"
        stock.write_text(STOCK)
        trace = str(Path(tmp) / "g.cbor")
        rr = wasm_rr_script()
        commands = {
            "stock": [sys.executable, str(stock), str(GREET)],
            "record": [rr, "record", str(GREET), "-t", trace],
            "replay": [rr, "replay", str(GREET), trace],
        }
        # Warm the compile cache (and the OS's file cache) before timing anything.
        for argv in commands.values():
            elapsed(argv)
        best = dict.fromkeys(commands, float("inf"))
        for _ in range(args.reps):
            for name, argv in commands.items():
                best[name] = min(best[name], elapsed(argv))

    base = best["stock"]
    print(f"start-up, greet.wasm, whole process, best of {args.reps}:")
    print(f"  stock wasmtime-py WASI script   {base * 1e3:7.1f} ms")
    for name in ("record", "replay"):
        ratio = best[name] / base
        verdict = "met" if ratio <= TARGET else "MISSED"
        print(
            f"  wasm-rr {name:<6}                  {best[name] * 1e3:7.1f} ms  {ratio:5.2f}x"
            f"  target <= {TARGET}x {verdict}"
        )


if __name__ == "__main__":
    main()
