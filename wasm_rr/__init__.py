"""wasm-rr: record and replay WASI programs byte-identically.

The layers, outermost first: :mod:`wasm_rr.cli` (the command line), :mod:`wasm_rr.engine`
(load, link, run, settle the outcome), :mod:`wasm_rr.abi` (preview1 and component ABI layers:
decode, ask the world, encode), :mod:`wasm_rr.world` (the effect families, live, recording or
replaying) and :mod:`wasm_rr.trace` (the CBOR trace format).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
