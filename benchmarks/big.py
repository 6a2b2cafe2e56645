"""`make bench`, big answers: peak memory of recording and replaying a guest whose answers are
large (1 GiB of ``random_get``, 1 GiB read from a file, in calls of 64 MiB, the most one call
may ask for), next to the same guest under wasmtime-py's built-in WASI.

Each run is a process of its own whose anonymous resident memory (the guest's memory and the
host's heap; not the page cache a trace file's mapping shows) is sampled from outside every
millisecond. The guest's own memory (1 GiB) counts in every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import wasmtime

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.bigguests import RANDOM_GUEST, READ_GUEST
from tests.rss import run_peak_anon_kib

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
CALL = 64 * MIB


def guest_wasm(kind: str, total: int, call: int = CALL) -> bytes:
    """A guest that grows its memory by ``total`` bytes and fills it with ``random_get`` (kind
    ``random``) or by reading the preopened ``big.bin`` (kind ``read``), ``call`` bytes a call."""
    wat = RANDOM_GUEST if kind == "random" else READ_GUEST
    text = wat.format(pages=total // 65536, end=65536 + total, call=call)
    return bytes(wasmtime.wat2wasm(text))


CHILD = """
import io, sys
mode, guest, trace, data = sys.argv[1:5]
if mode == "stock":
    import wasmtime
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    cfg = wasmtime.WasiConfig()
    cfg.preopen_dir(data, "/data")
    store.set_wasi(cfg)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, guest)
    linker.instantiate(store, module).exports(store)["_start"](store)
elif mode == "record":
    from wasm_rr import engine
    from wasm_rr.config import DirSpec, RunConfig
    from wasm_rr.world import Streams
    config = RunConfig(["g"], {}, [DirSpec(data, "/data")])
    engine.record(guest, trace, config, Streams(None, io.BytesIO(), io.BytesIO()))
else:
    from wasm_rr import engine
    from wasm_rr.world import Streams
    engine.replay(guest, trace, Streams(None, io.BytesIO(), io.BytesIO()))
"""


def peak_mib(mode: str, guest: Path, trace: Path, data: Path) -> float:
    """Peak anonymous RSS, MiB, of one ``stock``/``record``/``replay`` run in a new process,
    sampled from this one every millisecond (see ``tests/rss.py``)."""
    argv = [sys.executable, "-c", CHILD, mode, str(guest), str(trace), str(data)]
    peak, _ = run_peak_anon_kib(argv, str(ROOT))
    return peak / 1024


def measure(kind: str, total: int, tmp: Path) -> dict[str, float]:
    guest = tmp / f"{kind}.wasm"
    guest.write_bytes(guest_wasm(kind, total))
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    if kind == "read" and not (data / "big.bin").exists():
        with (data / "big.bin").open("wb") as f:
            for _ in range(total // (16 * MIB)):
                f.write(os.urandom(16 * MIB))
    trace = tmp / f"{kind}.cbor"
    figures = {mode: peak_mib(mode, guest, trace, data) for mode in ("stock", "record", "replay")}
    trace.unlink()
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=1024, help="the answers' total size (MiB)")
    ap.add_argument("--kinds", default="random,read")
    args = ap.parse_args()
    total = args.mib * MIB
    print(f"big answers: {args.mib} MiB into a guest of {args.mib} MiB, in 64 MiB calls; peak RSS")
    with tempfile.TemporaryDirectory() as d:
        for kind in args.kinds.split(","):
            f = measure(kind, total, Path(d))
            s = f["stock"]
            print(
                f"  {kind:<7} stock WASI {s:7.0f} MiB   record {f['record']:7.0f} MiB "
                f"({f['record'] / s:.2f}x)   replay {f['replay']:7.0f} MiB ({f['replay'] / s:.2f}x)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
