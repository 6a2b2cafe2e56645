"""`make bench`: how fast ``wasm-rr hunt`` records runs of the flaky guest.

Figures, all measured in this run:

* in-process hunt runs/s (``hunt(..., keep_all=True)``: every run recorded in memory and
  checked; target >= 1000 runs/s per core), next to one run of the same guest under
  wasmtime-py's built-in WASI (``WasiConfig`` + ``define_wasi``, a new store per run, the
  module compiled once): the ratio is what recording and checking a run costs over just
  running it;
* a shell loop of ``wasm-rr record`` (a process per run: what hunting looked like before);
* scaling: 1 and 2 local worker processes (``--jobs``) and a Dask ``LocalCluster`` of 1 and 2
  worker processes (the hunt's time includes starting the local workers, not the cluster).

``--profile`` also prints where an in-process run's time goes (cProfile, top functions).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import wasmtime

from wasm_rr.hunt import hunt

ROOT = Path(__file__).resolve().parent.parent
FLAKY = ROOT / "guests" / "build" / "flaky.wasm"
TARGET = 1000.0
"""In-process runs per second on one core."""


def best_rate(fn: Callable[[], float], reps: int) -> float:
    return max(fn() for _ in range(reps))


def in_process(runs: int) -> float:
    return hunt(FLAKY, runs=runs, keep_all=True).rate


def stock_rate(runs: int) -> float:
    """Runs/s of flaky under wasmtime-py's own WASI: a new store and instance per run."""
    engine = wasmtime.Engine()
    module = wasmtime.Module(engine, FLAKY.read_bytes())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    t0 = time.perf_counter()
    for _ in range(runs):
        store = wasmtime.Store(engine)
        cfg = wasmtime.WasiConfig()
        cfg.argv = ["flaky.wasm"]
        store.set_wasi(cfg)
        try:  # noqa: SIM105 (the cheapest form, for the reference)
            linker.instantiate(store, module).exports(store)["_start"](store)  # type: ignore[operator]
        except wasmtime.ExitTrap:
            pass
    return runs / (time.perf_counter() - t0)


def shell_loop(runs: int, tmp: Path) -> float:
    """Runs/s of a loop starting ``wasm-rr record`` once per run."""
    script = Path(sys.executable).parent / "wasm-rr"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "wasm_rr"]
    t0 = time.perf_counter()
    for _ in range(runs):
        subprocess.run(
            [*command, "record", str(FLAKY), "-t", str(tmp / "loop.cbor")],
            stdout=subprocess.DEVNULL,
            check=False,
        )
    return runs / (time.perf_counter() - t0)


def workers(runs: int, jobs: int) -> float:
    return hunt(FLAKY, runs=runs, keep_all=True, jobs=jobs).rate


def cluster(runs: int, n_workers: int) -> tuple[float, float]:
    """Runs/s on a LocalCluster of ``n_workers`` processes: the first hunt (workers compile
    the guest) and a second one."""
    import distributed

    with distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=40,
    ) as local:
        first = hunt(FLAKY, runs=runs, keep_all=True, cluster=local.scheduler_address).rate
        again = hunt(FLAKY, runs=runs, keep_all=True, cluster=local.scheduler_address).rate
    return first, again


def profile(runs: int) -> None:
    prof = cProfile.Profile()
    prof.enable()
    hunt(FLAKY, runs=runs, keep_all=True)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
    print(f"\nwhere {runs} in-process runs' time goes (cProfile, by own time):")
    print("\n".join(out.getvalue().splitlines()[6:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000, help="runs per in-process figure")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask figures")
    parser.add_argument("--profile", action="store_true")
    opts = parser.parse_args()
    import tempfile

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"hunt benchmarks: flaky.wasm, {os.cpu_count()} cores (load average {load}), "
        f"best of {opts.reps}\n"
    )
    rate = best_rate(lambda: in_process(opts.runs), opts.reps)
    stock = best_rate(lambda: stock_rate(opts.runs), opts.reps)
    print(f"{'in-process hunt':<34}{rate:>9.0f} runs/s  ({1e6 / rate:.0f} us a run)")
    print(f"{'stock WASI run (define_wasi)':<34}{stock:>9.0f} runs/s  ({1e6 / stock:.0f} us a run)")
    print(f"{'  a hunt run / a stock run':<34}{stock / rate:>9.2f} x")
    with tempfile.TemporaryDirectory() as tmp:
        loop = shell_loop(20, Path(tmp))
    print(f"{'shell loop of wasm-rr record':<34}{loop:>9.1f} runs/s  (hunt: {rate / loop:.0f}x)")
    big = 4 * opts.runs
    one = workers(big, 1)
    two = workers(big, 2)
    print(f"{f'--jobs 1 ({big} runs)':<34}{one:>9.0f} runs/s")
    print(f"{f'--jobs 2 ({big} runs, with start-up)':<34}{two:>9.0f} runs/s  ({two / one:.2f}x)")
    if not opts.no_cluster:
        c1 = cluster(big, 1)
        c2 = cluster(big, 2)
        print(f"{'LocalCluster, 1 worker':<34}{c1[1]:>9.0f} runs/s  (first hunt {c1[0]:.0f})")
        print(
            f"{'LocalCluster, 2 workers':<34}{c2[1]:>9.0f} runs/s  (first hunt {c2[0]:.0f}; "
            f"{c2[1] / c1[1]:.2f}x)"
        )
    if opts.profile or rate < TARGET:
        profile(opts.runs)
    met = rate >= TARGET
    print(f"\n{'target met' if met else 'target missed'}: {rate:.0f} >= {TARGET:.0f} runs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
