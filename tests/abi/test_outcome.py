"""``wasm_rr.abi.outcome``: what ended a call into wasm becomes an outcome, or is re-raised."""

from __future__ import annotations

import pytest
import wasmtime

from wasm_rr.abi.memory import GuestFault
from wasm_rr.abi.outcome import GuestExit, GuestTrap, settle
from wasm_rr.errors import DriftError


def _trap() -> wasmtime.Trap:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    module = wasmtime.Module(engine, '(module (func (export "f") unreachable))')
    f = wasmtime.Instance(store, module, []).exports(store)["f"]
    assert isinstance(f, wasmtime.Func)
    with pytest.raises(wasmtime.Trap) as info:
        f(store)
    return info.value


def test_a_plain_trap_keeps_its_code_and_frames() -> None:
    out = settle(None, _trap(), site=7)
    assert out.exit_code is None and out.trap is not None
    assert out.trap.code == "UNREACHABLE"
    assert out.trap.site == 7
    assert out.trap.frames and out.trap.frames[0][0] == 0


def test_an_exit_is_an_exit_status() -> None:
    assert settle(GuestExit(3), _trap()).exit_code == 3


def test_a_requested_trap_is_a_host_trap() -> None:
    for reason in (GuestTrap("proc_raise unsupported"), GuestFault("Pointer out of bounds")):
        out = settle(reason, _trap())
        assert out.trap is not None
        assert (out.trap.code, out.trap.message) == ("HOST", str(reason))


def test_a_host_error_is_re_raised_or_replaced() -> None:
    err = ValueError("boom")
    with pytest.raises(ValueError) as info:
        settle(err, _trap())
    assert info.value is err
    drift = DriftError(1, "a", "b")
    renamed = DriftError(1, "a at x", "b at y")
    with pytest.raises(DriftError) as caught:
        settle(drift, _trap(), site=2, host_error=lambda exc, site: renamed if site == 2 else None)
    assert caught.value is renamed
    with pytest.raises(ValueError):
        settle(err, _trap(), host_error=lambda exc, site: None)
