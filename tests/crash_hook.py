"""The crash-window tests' recorder: wasm-rr's CLI in a process that SIGKILLs itself at one point
around a journalled effect (through the journal's crash hook, a test seam; wasm-rr reads no
test setting from the environment).

    python -m tests.crash_hook WINDOW:N ARGS...        the Nth journalled effect
    python -m tests.crash_hook WINDOW:KIND:N ARGS...   the Nth effect of KIND (fs.write, ...)

WINDOW is one of ``before-intent``, ``after-intent``, ``after-effect``, ``after-completion``;
ARGS are wasm-rr's (``record ...``, ``resume ...``). Run from the repository root.
"""

from __future__ import annotations

import os
import signal
import sys

from wasm_rr.world import journal


class KillAt:
    """A crash hook killing this process (SIGKILL) at ``WINDOW`` of the chosen effect."""

    def __init__(self, spec: str) -> None:
        parts = spec.split(":")
        if parts[0] not in journal.WINDOWS or len(parts) not in (2, 3) or not parts[-1].isdigit():
            raise ValueError(f"{spec!r}: expected WINDOW:N or WINDOW:KIND:N")
        self.window, self.nth = parts[0], int(parts[-1])
        self.kind = parts[1] if len(parts) == 3 else None
        self.seen = 0  # effects of the chosen kind (or of any kind) so far
        self.current = 0  # which of them the effect in progress is (0: not of the kind)

    def __call__(self, window: str, effect: str) -> None:
        if window == "before-intent":
            if self.kind is None or effect == self.kind:
                self.seen += 1
                self.current = self.seen
            else:
                self.current = 0
        if window == self.window and self.current == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    spec, *args = argv
    journal.set_crash_hook(KillAt(spec))
    from wasm_rr.cli import main as cli_main

    cli_main(args)


if __name__ == "__main__":
    main(sys.argv[1:])
