"""wasmtime-py's private API is used in one module only: ``wasm_rr/abi/_wasmtime.py``.

The scan reads every other module of the package with ``ast`` and fails on: an import of a
private wasmtime module or name (``wasmtime._ffi``, ``from wasmtime import _trap``), an
attribute access of a private member of wasmtime-py's classes (``store._context()``,
``func._func``, ``WasmtimeError._from_ptr``) or of ``.ptr()``, and a C library opened or a C
function looked up by name (``ctypes.CDLL``, ``ctypes.PyDLL``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from wasmtime import component

import wasm_rr
from wasm_rr.errors import HostSetupError, WasmRRError

PACKAGE = Path(wasm_rr.__file__).resolve().parent
ALLOWED = PACKAGE / "abi" / "_wasmtime.py"

_DLL_NAMES = {"CDLL", "PyDLL", "cdll", "pydll", "LoadLibrary", "dll"}


def _private_members() -> set[str]:
    """Single-underscore members of wasmtime-py's classes (methods and annotated fields)."""
    names = {"ptr", "_ptr"}
    for mod in (wasmtime, component):
        for obj in vars(mod).values():
            if not inspect.isclass(obj) or not obj.__module__.startswith("wasmtime"):
                continue
            for name in [*dir(obj), *getattr(obj, "__annotations__", {})]:
                if name.startswith("_") and not name.startswith("__"):
                    names.add(name)
    return names


PRIVATE = _private_members()


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    wasmtime_names = {"wasmtime", "component"}
    found: list[str] = []

    def where(node: ast.AST) -> str:
        return f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', 0)}"

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("wasmtime") and any(
                    part.startswith("_") for part in alias.name.split(".")
                ):
                    found.append(f"{where(node)}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if mod.startswith("wasmtime"):
                if any(part.startswith("_") for part in mod.split(".")):
                    found.append(f"{where(node)}: from {mod} import ...")
                for alias in node.names:
                    if alias.name.startswith("_"):
                        found.append(f"{where(node)}: from {mod} import {alias.name}")
        elif isinstance(node, ast.Attribute):
            owner = node.value
            private = node.attr.startswith("_") and not node.attr.startswith("__")
            if isinstance(owner, ast.Name) and owner.id in wasmtime_names and private:
                found.append(f"{where(node)}: {owner.id}.{node.attr}")
                continue
            if isinstance(owner, ast.Name) and owner.id == "ctypes" and node.attr in _DLL_NAMES:
                found.append(f"{where(node)}: ctypes.{node.attr}")
                continue
            is_self = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            if node.attr in PRIVATE and not is_self:
                found.append(f"{where(node)}: .{node.attr}")
    return found


def test_only_the_private_api_module_uses_wasmtime_internals() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert ALLOWED in sources
    found = [v for path in sources if path != ALLOWED for v in _violations(path)]
    # The process family asks libc (not wasmtime) for prctl(PR_SET_PDEATHSIG) in a child.
    found = [v for v in found if not (v.startswith("wasm_rr/world/process.py:") and "CDLL" in v)]
    assert found == []


def test_the_scan_finds_what_it_looks_for() -> None:
    """The private API module itself is full of what the scan forbids elsewhere."""
    found = "\n".join(_violations(ALLOWED))
    for needle in ("import _ffi", "._context", "._func", "._from_ptr", ".ptr", "PyDLL"):
        assert needle in found


def _load_fresh() -> Any:
    """Execute ``_wasmtime.py`` again as a new module (the checks run at import)."""
    spec = importlib.util.spec_from_file_location("wasm_rr.abi._wasmtime_probe", ALLOWED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fresh_import_passes() -> None:
    _load_fresh().check_component_api()


def test_wrong_wasmtime_version_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from wasm_rr import versions

    monkeypatch.setattr(versions, "installed", lambda name: "51.0.0")
    with pytest.raises(HostSetupError) as info:
        _load_fresh()
    assert isinstance(info.value, WasmRRError)
    assert "51.0.0" in str(info.value)
    assert "50.x" in str(info.value)


def test_missing_private_members_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(wasmtime.Store, "_context")
    monkeypatch.delattr(wasmtime.WasmtimeError, "_from_ptr")
    with pytest.raises(HostSetupError) as info:
        _load_fresh()
    message = str(info.value)
    assert "wasmtime.Store._context" in message
    assert "wasmtime.WasmtimeError._from_ptr" in message
    assert "\n" not in message


def test_missing_component_members_are_named_before_the_first_component(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``wasmtime.component`` is checked when a component engine is first made, not at import
    (a core module's run does not import it)."""
    fresh = _load_fresh()
    monkeypatch.setattr(component.Func, "__annotations__", {})
    with pytest.raises(HostSetupError) as info:
        fresh.disable_concurrency_support(wasmtime.Config())
    assert "Func._func" in str(info.value)
