"""The golden traces in golden/ still replay to their pinned output (see golden/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from golden import run as golden

CASES = golden.load_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_golden(case: golden.Case) -> None:
    result = golden.check_case(case)
    assert result.ok, "\n".join(result.lines())


# gitlog.tape needs a git repository as its first preopen, which a golden fixture cannot hold
# (tests/test_process.py runs it against this checkout instead).
AWAITING_PROCESS_HOST = {"examples/gitlog.tape"}


def test_every_example_guest_is_pinned() -> None:
    root = golden.ROOT
    examples = {
        str(p.relative_to(root))
        for p in [*(root / "guests" / "build").glob("*.wasm"), *(root / "examples").glob("*.tape")]
        if not p.name.startswith("bench_")
    }
    pinned = {str(Path(c.guest)) for c in CASES if not c.stale}
    assert examples - pinned - AWAITING_PROCESS_HOST == set()
    assert examples >= AWAITING_PROCESS_HOST


def test_no_stray_golden_files() -> None:
    assert golden.stray_files(CASES) == []


def test_a_difference_fails_with_a_diff() -> None:
    case = next(c for c in CASES if c.name == "counter")
    expected = case.stdout_path.read_bytes()
    result = golden.compare(case, golden.Run(0, expected.replace(b"count: 3", b"count: 9"), b""))
    assert not result.ok
    assert result.lines()[0] == "FAIL counter: stdout differs from golden/counter.stdout"
    assert "     -count: 3" in result.lines() and "     +count: 9" in result.lines()
