"""``python -m wasm_rr`` and the ``wasm-rr`` command: :func:`main`.

It starts here rather than in :mod:`wasm_rr.cli` so that a Ctrl-C while the command line's
modules are still being imported (about a tenth of a second) ends the command as any other
Ctrl-C does: one line and exit status 130, not a traceback; and so that a read-only command
writes no Python bytecode.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130

READ_ONLY_COMMANDS = ("replay", "inspect", "diff")
"""Commands that write nothing but their output: not the compile cache, and not Python's
bytecode cache either."""


def main() -> None:
    """Run the command line. For a read-only command, before wasm-rr's modules are imported:
    Python would otherwise write the bytecode (``__pycache__/*.pyc``) of every module whose
    cached bytecode is missing or older than its source (after an upgrade, say)."""
    if sys.argv[1:2] and sys.argv[1] in READ_ONLY_COMMANDS:
        sys.dont_write_bytecode = True
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("wasm-rr: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()


if __name__ == "__main__":
    main()
