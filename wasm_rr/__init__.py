"""wasm-rr: record and replay WASI programs byte-identically.

The library API (:mod:`wasm_rr.api`) is exported here: :class:`Program`, :func:`record`,
:func:`replay`, :func:`run` and their frozen result dataclasses. It is imported on first use,
so ``import wasm_rr`` alone stays cheap.

The layers, outermost first: :mod:`wasm_rr.cli` (the command line), :mod:`wasm_rr.api` (the
library API), :mod:`wasm_rr.engine` (load, link, run, settle the outcome), :mod:`wasm_rr.abi`
(preview1 and component ABI layers: decode, ask the world, encode), :mod:`wasm_rr.world` (the
effect families, live, recording or replaying) and :mod:`wasm_rr.trace` (the CBOR trace
format).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .api import (
        LiveResult,
        Program,
        RecordResult,
        ReplayResult,
        Result,
        family_options,
        record,
        replay,
        run,
        seeded_sources,
        signature,
        signing_key,
    )

__all__ = [
    "LiveResult",
    "Program",
    "RecordResult",
    "ReplayResult",
    "Result",
    "__version__",
    "family_options",
    "record",
    "replay",
    "run",
    "seeded_sources",
    "signature",
    "signing_key",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'wasm_rr' has no attribute {name!r}")
