"""Compiling guests once: an in-process cache and an on-disk cache of compiled artifacts.

Compiling is the slowest part of starting a guest (11 ms for a 25 kB module, seconds for a
componentize-py component). A compiled module or component is kept for the life of the
process, and its serialized form under ``$WASM_RR_CACHE`` (default
``$XDG_CACHE_HOME/wasm-rr``, else ``~/.cache/wasm-rr``) in ``wasmtime-<version>/``, keyed by
the blake3 of the guest's bytes, the kind and the engine settings, so the next process loads
it in milliseconds. ``record`` and ``run`` write it; ``replay`` only reads it (a replay writes
nothing but what the user asked for). ``WASM_RR_NO_CACHE=1``, or ``--no-cache`` on every
command that compiles, turns the disk cache off. Only artifacts this cache wrote itself are
ever loaded from it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import blake3
import wasmtime

if TYPE_CHECKING:
    from wasmtime import component

from .versions import installed

T = TypeVar("T", wasmtime.Module, "component.Component")

_WASMTIME = installed("wasmtime")
_MEMORY: dict[tuple[str, str, int], object] = {}
_MEMORY_MAX = 32


_DIGESTS: list[tuple[bytes, str]] = []
"""The last few guests' bytes (the objects themselves) and their digests: a program run many
times in one process (hunt, fuzz) hashes its bytes once, not twice a run."""


def _digest(wasm: bytes) -> str:
    for known, digest in _DIGESTS:
        if known is wasm:
            return digest
    digest = blake3.blake3(wasm).hexdigest()
    _DIGESTS.insert(0, (wasm, digest))
    del _DIGESTS[4:]
    return digest


NO_CACHE_ENV = "WASM_RR_NO_CACHE"
"""Set (to anything but empty), the disk cache is neither read nor written (``--no-cache``)."""


def _cache_dir() -> Path | None:
    if os.environ.get(NO_CACHE_ENV):
        return None
    root = os.environ.get("WASM_RR_CACHE")
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "wasm-rr")
    return Path(root) / f"wasmtime-{_WASMTIME}"


def compiled(
    engine: wasmtime.Engine,
    wasm: bytes,
    kind: type[T],
    settings: str,
    compile: Callable[[], T],
    disk: str = "rw",
) -> T:
    """The compiled guest: from this process's cache, the disk cache, or ``compile()``.

    ``settings`` names the engine configuration (an artifact only loads into an engine
    configured the same way); ``engine`` must be the one object used for that configuration.
    ``disk`` is ``rw`` (load and store artifacts on disk) or ``r`` (only load: replay).
    """
    digest = _digest(wasm)
    key = (digest, settings, id(engine))
    found = _MEMORY.get(key)
    if isinstance(found, kind):
        return found
    artifact = _load(engine, digest, kind, settings, disk)
    if artifact is None:
        artifact = compile()
        if "w" in disk:
            _store(artifact, digest, kind, settings)
    if len(_MEMORY) >= _MEMORY_MAX:
        _MEMORY.clear()
    _MEMORY[key] = artifact
    return artifact


def _path(digest: str, kind: type[object], settings: str) -> Path | None:
    root = _cache_dir()
    if root is None:
        return None
    return root / f"{digest}.{kind.__name__.lower()}.{settings}.bin"


def _load(
    engine: wasmtime.Engine, digest: str, kind: type[T], settings: str, disk: str
) -> T | None:
    path = _path(digest, kind, settings)
    if path is None or not path.is_file():
        return None
    try:
        return kind.deserialize_file(engine, str(path))  # type: ignore[return-value]
    except (wasmtime.WasmtimeError, OSError):
        if "w" in disk:  # a replay leaves even a broken artifact alone
            with contextlib.suppress(OSError):
                path.unlink()
        return None


def _store(
    artifact: wasmtime.Module | component.Component, digest: str, kind: type[object], settings: str
) -> None:
    path = _path(digest, kind, settings)
    if path is None:
        return
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(artifact.serialize())
        os.replace(tmp, path)  # atomic: a reader never sees half an artifact
    except OSError:
        # The cache is an optimisation: a read-only home just means compiling each time.
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


__all__ = [
    "NO_CACHE_ENV",
    "compiled",
]
