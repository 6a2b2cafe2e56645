"""Start-up: a plain module run imports only what it needs (issue 12): neither the .tape
compiler nor the component host, which a .tape script or a component pulls in when used;
nor ``wasmtime.component``; and a recording run does not import the trace reader, nor the
families (and ABI areas) of interfaces the guest does not import: ``process``, ``http``."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT

PROBE = """
import sys
from wasm_rr import cli
try:
    cli.main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.startswith(("wasm_rr.", "wasmtime.")))))
"""

COMPILER = {"wasm_rr.lang.parser", "wasm_rr.lang.checker", "wasm_rr.lang.codegen"}
COMPONENT_HOST = {"wasm_rr.abi.p2", "wasm_rr.abi.p2.canon", "wasm_rr.abi.p2.host"}
READER = "wasm_rr.trace.reader"
UNUSED_FAMILIES = {
    "wasm_rr.world.process",
    "wasm_rr.world.http",
    "wasm_rr.world.http_protocol",
    "wasm_rr.abi.p1.process",
    "wasm_rr.abi.p1.http",
}


def _modules(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(proc.stdout.splitlines()[-1].split())


def test_a_module_run_imports_neither_the_compiler_nor_the_component_host(tmp_path: object) -> None:
    loaded = _modules("record", "guests/build/greet.wasm", "-t", f"{tmp_path}/g.cbor")
    assert "wasm_rr.engine" in loaded
    assert not loaded & COMPILER
    assert not loaded & COMPONENT_HOST
    assert "wasmtime.component" not in loaded
    assert READER not in loaded


def test_a_replay_imports_the_reader_but_not_wasmtime_component(tmp_path: object) -> None:
    _modules("record", "guests/build/greet.wasm", "-t", f"{tmp_path}/g.cbor")
    loaded = _modules("replay", "guests/build/greet.wasm", f"{tmp_path}/g.cbor")
    assert READER in loaded
    assert "wasmtime.component" not in loaded


def test_a_script_and_a_component_import_what_they_use(tmp_path: object) -> None:
    script = _modules("run", "examples/hello.tape", "-t", f"{tmp_path}/h.cbor")
    assert script >= COMPILER and not script & COMPONENT_HOST
    component = _modules("record", "guests/build/greet.component.wasm", "-t", f"{tmp_path}/c.cbor")
    assert component >= COMPONENT_HOST and not component & COMPILER
    assert "wasmtime.component" in component


def test_a_module_run_loads_only_the_families_its_imports_use(tmp_path: object) -> None:
    recorded = _modules("record", "guests/build/greet.wasm", "-t", f"{tmp_path}/g.cbor")
    assert {"wasm_rr.world.process_events", "wasm_rr.world.http_events"} <= recorded
    assert not recorded & UNUSED_FAMILIES
    replayed = _modules("replay", "guests/build/greet.wasm", f"{tmp_path}/g.cbor")
    assert not replayed & UNUSED_FAMILIES


def test_a_guest_that_runs_programs_loads_the_process_family(tmp_path: object) -> None:
    loaded = _modules(
        "record",
        "guests/build/procdemo.wasm",
        "--allow-run",
        "echo",
        "-t",
        f"{tmp_path}/p.cbor",
        "--",
        "run",
        "echo",
        "hi",
    )
    assert {"wasm_rr.world.process", "wasm_rr.abi.p1.process"} <= loaded
    replayed = _modules("replay", "guests/build/procdemo.wasm", f"{tmp_path}/p.cbor")
    assert {"wasm_rr.world.process", "wasm_rr.abi.p1.process"} <= replayed
