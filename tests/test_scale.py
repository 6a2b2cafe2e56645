"""Workers for many runs: in process, local processes, the choice between them, the per-worker
compiled programs, and a bad cluster address (the Dask cluster itself: tests/test_hunt.py)."""

from __future__ import annotations

import itertools
import socket
from collections.abc import Iterator

import pytest

from wasm_rr import scale
from wasm_rr.api import Program
from wasm_rr.errors import UsageError

from .conftest import guest


def counted(n: int | None, pulled: list[int]) -> Iterator[int]:
    """0, 1, 2, ... (``n`` of them, or endless), noting each one taken."""
    for i in itertools.count() if n is None else range(n):
        pulled.append(i)
        yield i


def test_in_process_runs_tasks_in_order_and_lazily() -> None:
    pool = scale.workers()
    assert isinstance(pool, scale.InProcess) and pool.size == 1
    pulled: list[int] = []
    results = pool.map(abs, (-i for i in counted(None, pulled)))
    assert list(itertools.islice(results, 4)) == [0, 1, 2, 3]
    assert pulled == [0, 1, 2, 3]
    pool.close()


def test_local_processes_take_tasks_as_workers_free_up() -> None:
    pool = scale.workers(jobs=2)
    assert isinstance(pool, scale.LocalProcesses) and pool.size == 2
    try:
        assert sorted(pool.map(abs, [-3, -1, -2, 5])) == [1, 2, 3, 5]
        # An endless source: at most a window (2 per worker) beyond the results taken.
        pulled: list[int] = []
        results = pool.map(abs, counted(None, pulled))
        assert len(list(itertools.islice(results, 10))) == 10
        results.close()  # type: ignore[attr-defined]
        assert 10 <= len(pulled) <= 10 + 2 * pool.size
    finally:
        pool.close()


def test_an_error_in_a_task_reaches_the_caller() -> None:
    pool = scale.workers(jobs=2)
    try:
        with pytest.raises(TypeError):
            list(pool.map(abs, [1, "x", 3]))  # type: ignore[list-item]
    finally:
        pool.close()


def test_program_compiles_once_per_guest_bytes() -> None:
    wasm = guest("flaky").read_bytes()
    a = scale.program(wasm, "flaky.wasm")
    assert scale.program(wasm, "flaky.wasm") is a
    assert scale.program(guest("greet").read_bytes(), "greet.wasm") is not a
    mine = Program(guest("flaky"))
    scale.adopt(mine)
    assert scale.program(wasm, "flaky.wasm") is mine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("nonsense", "expected a scheduler address like tcp://HOST:8786"),
        ("", "expected a scheduler address"),
        ("foo://host", "expected a scheduler address"),
        ("tcp://127.0.0.1:{port}", "cannot reach the Dask scheduler at tcp://127.0.0.1:"),
        ("127.0.0.1:{port}", "Connection refused"),
    ],
)
def test_a_bad_cluster_address_is_a_usage_error(address: str, says: str) -> None:
    with pytest.raises(UsageError, match=says):
        scale.workers(cluster=address.format(port=free_port()))
