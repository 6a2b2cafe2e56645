"""The ``wasm-rr`` command (``python -m wasm_rr``).

It starts here rather than in :mod:`wasm_rr.cli` so that a Ctrl-C while the command line's
modules are still being imported (about a tenth of a second) ends the command as any other
Ctrl-C does: one line and exit status 130, not a traceback.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        from .cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("wasm-rr: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    run()


if __name__ == "__main__":
    main()
