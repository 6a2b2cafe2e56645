"""`make bench`: fuzzing speed. Runs per second of `wasm-rr fuzz` on the parser guest (its seed
corpus, a fixed seed) with one worker (in process) and two (`--jobs 2`), and what one fuzzing
run costs next to a stock wasmtime-py WASI run of the same guest and input (WasiConfig and
define_wasi, the module compiled once, a new store per run).

Every figure is measured in this run; wall-clock time, best of a few repetitions.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import wasmtime

from wasm_rr.fuzz import Session, Setup, load_corpus

ROOT = Path(__file__).resolve().parent.parent
PARSER = ROOT / "guests" / "build" / "parser.wasm"
CORPUS = ROOT / "guests" / "corpus" / "parser"


def stock_runs_per_s(wasm: bytes, data: bytes, runs: int) -> float:
    """Stock wasmtime-py: compile once, then per run a new store, WASI config and instance."""
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, wasm)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    with tempfile.TemporaryDirectory() as tmp:
        stdin = Path(tmp) / "in"
        stdin.write_bytes(data)
        out = str(Path(tmp) / "out")
        t0 = time.perf_counter()
        for _ in range(runs):
            store = wasmtime.Store(engine)
            wasi = wasmtime.WasiConfig()
            wasi.argv = ["parser"]
            wasi.stdin_file = str(stdin)
            wasi.stdout_file = out
            wasi.stderr_file = out
            store.set_wasi(wasi)
            instance = linker.instantiate(store, module)
            start = instance.exports(store)["_start"]
            assert isinstance(start, wasmtime.Func)
            try:
                start(store)
            except wasmtime.ExitTrap as exc:
                assert exc.code in (0, 1)
        return runs / (time.perf_counter() - t0)


def fuzz_runs_per_s(wasm: bytes, jobs: int, runs: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as out:
        stats = Session(
            Setup(wasm, "parser"), load_corpus(str(CORPUS)), out, seed=1, runs=runs, jobs=jobs
        ).run()
    return stats.execs_per_s, len(stats.crashes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    wasm = PARSER.read_bytes()
    seed = (CORPUS / "extension.rrec").read_bytes()
    stock = max(stock_runs_per_s(wasm, seed, args.runs // 4) for _ in range(args.reps))
    one = max(fuzz_runs_per_s(wasm, 1, args.runs) for _ in range(args.reps))
    two = max(fuzz_runs_per_s(wasm, 2, args.runs) for _ in range(args.reps))
    print(f"fuzz: parser.wasm, seed corpus {CORPUS.relative_to(ROOT)}, {args.runs} runs, seed 1")
    print(f"  stock wasmtime-py WASI run      {stock:8.0f} runs/s  {1e3 / stock:6.2f} ms/run")
    for label, (rate, crashes) in (("1 worker (in process)", one), ("--jobs 2", two)):
        print(
            f"  fuzz, {label:24} {rate:8.0f} runs/s  {1e3 / rate:6.2f} ms/run  "
            f"x{stock / rate:.1f} a stock run  ({crashes} crash sites)"
        )
    print(f"  --jobs 2 / 1 worker: x{two[0] / one[0]:.2f}")


if __name__ == "__main__":
    main()
