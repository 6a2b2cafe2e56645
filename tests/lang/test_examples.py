"""Each example compiles and does what it says, under wasmtime-py's built-in WASI."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from wasm_rr.lang import compile_file

from .helpers import EXAMPLES, FakeWasi, Run, run_wasi


def run_example(name: str, **kwargs: object) -> Run:
    result = run_wasi(compile_file(EXAMPLES / f"{name}.tape").wasm, **kwargs)  # type: ignore[arg-type]
    assert result.trap is None, result.trap
    return result


@pytest.mark.parametrize("name", ["hello", "greet"])
def test_greetings(name: str) -> None:
    assert run_example(name, env={"NAME": "ann"}).out == "hello, ann\n"
    assert run_example(name).out == "hello, world\n"
    assert run_example(name, env={"NAME": ""}).out == "hello, world\n"


def test_dice() -> None:
    before = int(time.time() * 1000)
    result = run_example("dice")
    m = re.fullmatch(r"time: (\d+)\nroll: ([1-6])\n", result.out)
    assert m is not None, result.out
    assert before - 1000 <= int(m.group(1)) <= int(time.time() * 1000) + 1000


def test_dice_is_a_function_of_clock_and_random() -> None:
    fake = FakeWasi(random=bytes([10]), clock_ns=1_700_000_000_123_456_789)
    result = fake.run(compile_file(EXAMPLES / "dice.tape").wasm)
    assert result.out == "time: 1700000000123\nroll: 5\n"  # 10 % 6 + 1


def test_counter() -> None:
    result = run_example("counter")
    assert result.out == "".join(f"count: {i}\n" for i in range(1, 6))
    fake = FakeWasi()
    fake.run(compile_file(EXAMPLES / "counter.tape").wasm)
    assert [c for c, _s in fake.calls] == ["fd_write"] * 5


def test_entropy() -> None:
    assert re.fullmatch(r"entropy: [0-9a-f]{32}\n", run_example("entropy").out)
    fake = FakeWasi(random=b"".join(bytes([b]) + bytes(7) for b in range(0, 256, 17)))
    result = fake.run(compile_file(EXAMPLES / "entropy.tape").wasm)
    assert result.out == "entropy: " + bytes(range(0, 256, 17)).hex() + "\n"


def test_flaky() -> None:
    result = run_example("flaky")
    if result.status == 0:
        assert re.fullmatch(r"ok: roll was \d+\n", result.out)
    else:
        assert (result.status, result.out) == (1, "FAIL: expected the answer to be 42, got 7\n")
    wasm = compile_file(EXAMPLES / "flaky.tape").wasm
    for roll, status, out in [
        (7, 1, "FAIL: expected the answer to be 42, got 7\n"),
        (39, 1, "FAIL: expected the answer to be 42, got 7\n"),
        (8, 0, "ok: roll was 8\n"),
        (255, 0, "ok: roll was 255\n"),
    ]:
        fake = FakeWasi(random=bytes([roll, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]))
        got = fake.run(wasm)
        assert (got.status, got.out) == (status, out)


def test_wordcount(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("hello wörld\nthis is  a test\n\nend")
    expected = "lines: 3\nwords: 7\nchars: 32\n"
    preopens = [(tmp_path, "/data")]
    assert run_example("wordcount", args=["/data/in.txt"], preopens=preopens).out == expected
    by_env = run_example("wordcount", env={"FILE": "/data/in.txt"}, preopens=preopens)
    assert by_env.out == expected
    relative = run_example("wordcount", args=["in.txt"], preopens=[(tmp_path, ".")])
    assert relative.out == expected
    usage = run_example("wordcount")
    assert (usage.status, usage.out) == (2, "usage: wordcount.tape PATH (or set FILE)\n")


def _lcg_sample(seed: int, count: int) -> list[int]:
    """stats.tape's generator, in Python (wrapping 64-bit ints, truncating division)."""

    def wrap(x: int) -> int:
        x %= 1 << 64
        return x - (1 << 64) if x >= 1 << 63 else x

    def tdiv(a: int, b: int) -> int:
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q

    state, out = seed, []
    for _ in range(count):
        state = wrap(state * 6364136223846793005 + 1442695040888963407)
        high = tdiv(state, 4294967296)
        high = high - 2147483648 * tdiv(high, 2147483648)
        out.append(abs(high) % 100)
    return out


def test_stats() -> None:
    result = run_example("stats", args=["7", "25"])
    lines = result.out.splitlines()
    sample = _lcg_sample(7, 25)
    assert lines[0] == "sample (seed 7): " + " ".join(map(str, sample))
    assert lines[1] == "sorted: " + " ".join(map(str, sorted(sample)))
    assert lines[2] == "sorted correctly: true"
    assert lines[3:8] == [
        f"n:      {25:>8}",
        f"min:    {min(sample):>8}",
        f"max:    {max(sample):>8}",
        f"sum:    {sum(sample):>8}",
        f"mean:   {sum(sample) * 100 // 25 / 100:>8.2f}",
    ]
    histogram = lines[-10:]
    assert [h.count("#") for h in histogram] == [
        sum(1 for x in sample if x // 10 == b) for b in range(10)
    ]
    assert histogram[0] == " 0- 9 | " + "#" * sum(1 for x in sample if x < 10)


def test_long300() -> None:
    source = (EXAMPLES / "long300.tape").read_text()
    assert 280 <= source.count("\n") <= 320
    result = run_example("long300")
    assert result.status == 0
    assert "books balance:  true" in result.out
    verbose = run_example("long300", args=["5"], env={"VERBOSE": "1"})
    assert verbose.status == 0 and verbose.out.startswith("day   1  ")
