"""`make bench`: how fast ``wasm-rr hunt`` records runs of the flaky guest.

Figures, all measured in this run:

* in-process hunt runs/s (``hunt(..., keep_all=True)``: every run recorded in memory and
  checked), and runs per CPU second (target >= 1000 runs/s per core; CPU time, because the
  machine may be busy with other work), next to one run of the same guest under
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
import resource
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


def in_process_cpu(runs: int) -> float:
    """Runs per CPU second of this process (one core's rate, even on a busy machine)."""
    before = _cpu(resource.RUSAGE_SELF)
    report = hunt(FLAKY, runs=runs, keep_all=True)
    return report.runs / (_cpu(resource.RUSAGE_SELF) - before)


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


def _cpu(who: int) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def workers(runs: int, jobs: int) -> tuple[float, float]:
    """Runs/s with ``jobs`` local workers (1: in this process), and runs per CPU second the
    workers spent (steady when the machine is busy with other work: wall figures are not)."""
    who = resource.RUSAGE_SELF if jobs == 1 else resource.RUSAGE_CHILDREN
    before = _cpu(who)
    report = hunt(FLAKY, runs=runs, keep_all=True, jobs=jobs)
    return report.rate, report.runs / (_cpu(who) - before)


def _worker_cpu() -> float:
    return time.process_time()


def cluster(runs: int, n_workers: int) -> tuple[float, float, float]:
    """On a LocalCluster of ``n_workers`` processes: runs/s of the first hunt (workers compile
    the guest) and of a second one, and the second's runs per worker CPU second."""
    import dask
    import distributed

    # Dask's sampling profiler walks the workers' stacks every 10 ms: not what is measured.
    with (
        dask.config.set({"distributed.worker.profile.enabled": False}),
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=40,
        ) as local,
        distributed.Client(local) as client,
    ):
        first = hunt(FLAKY, runs=runs, keep_all=True, cluster=client).rate
        before = sum(client.run(_worker_cpu).values())
        again = hunt(FLAKY, runs=runs, keep_all=True, cluster=client)
        cpu = sum(client.run(_worker_cpu).values()) - before
    return first, again.rate, again.runs / cpu


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
    per_cpu = best_rate(lambda: in_process_cpu(opts.runs), opts.reps)
    stock = best_rate(lambda: stock_rate(opts.runs), opts.reps)
    print(f"{'in-process hunt':<34}{rate:>9.0f} runs/s  ({1e6 / rate:.0f} us a run)")
    print(f"{'  per CPU second (one core)':<34}{per_cpu:>9.0f} runs/s")
    print(f"{'stock WASI run (define_wasi)':<34}{stock:>9.0f} runs/s  ({1e6 / stock:.0f} us a run)")
    print(f"{'  a hunt run / a stock run':<34}{stock / rate:>9.2f} x")
    with tempfile.TemporaryDirectory() as tmp:
        loop = shell_loop(20, Path(tmp))
    print(f"{'shell loop of wasm-rr record':<34}{loop:>9.1f} runs/s  (hunt: {rate / loop:.0f}x)")
    big = 4 * opts.runs
    print(f"\nscaling ({big} runs each; per CPU s: runs per second of the workers' CPU time)")
    one, one_cpu = workers(big, 1)
    two, two_cpu = workers(big, 2)
    print(f"{'--jobs 1 (in process)':<34}{one:>9.0f} runs/s  {one_cpu:>6.0f} per CPU s")
    print(
        f"{'--jobs 2 (with start-up)':<34}{two:>9.0f} runs/s  {two_cpu:>6.0f} per CPU s"
        f"  ({two / one:.2f}x wall)"
    )
    if not opts.no_cluster:
        c1 = cluster(big, 1)
        c2 = cluster(big, 2)
        print(
            f"{'LocalCluster, 1 worker':<34}{c1[1]:>9.0f} runs/s  {c1[2]:>6.0f} per CPU s"
            f"  (first hunt {c1[0]:.0f}/s)"
        )
        print(
            f"{'LocalCluster, 2 workers':<34}{c2[1]:>9.0f} runs/s  {c2[2]:>6.0f} per CPU s"
            f"  (first hunt {c2[0]:.0f}/s; {c2[1] / c1[1]:.2f}x wall)"
        )
    if opts.profile or per_cpu < TARGET:
        profile(opts.runs)
    met = per_cpu >= TARGET
    print(
        f"\n{'target met' if met else 'target missed'}: {per_cpu:.0f} runs per CPU second "
        f">= {TARGET:.0f} (wall: {rate:.0f} runs/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
