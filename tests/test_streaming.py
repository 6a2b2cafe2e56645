"""Large reads stream through the trace writer: recording a big file keeps memory flat."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wasm_rr.trace import load

from .conftest import ROOT
from .rss import SAMPLER

# Samples the process's anonymous resident memory (its heap, not the page cache that the
# trace file's mapping shows) every few milliseconds while it records, and prints the peak.
MEASURE = (
    SAMPLER
    + """
import io, sys
from wasm_rr import engine
from wasm_rr.world import Streams
from wasm_rr.config import DirSpec, RunConfig
config = RunConfig(["w", "/data/big.bin"], {}, [DirSpec(sys.argv[3], "/data")])
engine.record(sys.argv[1], sys.argv[2], config, Streams(None, io.BytesIO(), io.BytesIO()))
print(peak())
"""
)


def peak_anon_kib(trace: Path, data: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, "guests/build/wordcount.wasm", str(trace), str(data)],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    )
    return int(out.stdout.strip())


def test_a_large_file_is_streamed_not_held(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(b"x")
    small = peak_anon_kib(tmp_path / "small.cbor", data)
    size = 96 * 1024 * 1024
    with (data / "big.bin").open("wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    big = peak_anon_kib(tmp_path / "big.cbor", data)
    # The recorder holds at most a few 64 KiB reads at a time, never the 96 MiB file.
    assert big - small < 16 * 1024, (small, big)
    trace = load(tmp_path / "big.cbor")
    assert trace.footer is not None and trace.size < size * 1.01


REPLAY = (
    SAMPLER
    + """
import io, sys
from wasm_rr import engine
from wasm_rr.world import Streams
engine.replay(sys.argv[1], sys.argv[2], Streams(None, io.BytesIO(), io.BytesIO()))
print(peak())
"""
)


def replay_peak_anon_kib(trace: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", REPLAY, "guests/build/wordcount.wasm", str(trace)],
        cwd=ROOT,
        capture_output=True,
        check=True,
        text=True,
    )
    return int(out.stdout.strip())


def test_replaying_a_200_mb_trace_keeps_memory_bounded(tmp_path: Path) -> None:
    """The trace is mapped and decoded chunk by chunk; payloads go from the mapping into the
    guest: a replay's heap does not grow with the trace."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "big.bin").write_bytes(b"x")
    peak_anon_kib(tmp_path / "small.cbor", data)
    size = 200 * 1024 * 1024
    with (data / "big.bin").open("wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))  # no two reads alike: every read is its own payload
    peak_anon_kib(tmp_path / "big.cbor", data)
    (data / "big.bin").unlink()
    assert (tmp_path / "big.cbor").stat().st_size > size
    small = replay_peak_anon_kib(tmp_path / "small.cbor")
    big = replay_peak_anon_kib(tmp_path / "big.cbor")
    assert big - small < 64 * 1024, (small, big)
