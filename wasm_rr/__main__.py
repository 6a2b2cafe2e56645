"""``python -m wasm_rr`` and the ``wasm-rr`` command: :func:`main`."""

import sys

READ_ONLY_COMMANDS = ("replay", "inspect", "diff")
"""Commands that write nothing but their output: not the compile cache, and not Python's
bytecode cache either."""


def main() -> None:
    """Run the command line. For a read-only command, before wasm-rr's modules are imported:
    Python would otherwise write the bytecode (``__pycache__/*.pyc``) of every module whose
    cached bytecode is missing or older than its source (after an upgrade, say)."""
    if sys.argv[1:2] and sys.argv[1] in READ_ONLY_COMMANDS:
        sys.dont_write_bytecode = True
    from .cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
