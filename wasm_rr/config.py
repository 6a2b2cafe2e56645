"""The configuration of one run: built once from the command line (or the library API), stored
in the trace header, and read back from it on replay.

The core fields are the guest's command line, its environment and its directories; each effect
family that needs options of its own (an allow-list, say) keeps them under its name in
:attr:`RunConfig.families`, in the JSON-like shape it parses itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def env_problem(name: str, value: str = "") -> str | None:
    """Why ``NAME=VALUE`` cannot be given to a guest, or ``None`` when it can.

    WASI hands the environment over as NUL-terminated ``NAME=VALUE`` strings, so a name must be
    non-empty and hold no ``=`` and no NUL, and a value no NUL. wasm-rr also refuses whitespace
    and control characters in a name: no shell can set or read such a variable, and it is
    nearly always a quoting mistake (``--env 'A B=1'``). Other characters (``.``, ``-``,
    letters of any script) are allowed, as POSIX allows them."""
    if not name:
        return "the name is empty"
    if "=" in name:
        return "the name holds '='"
    if "\0" in name or "\0" in value:
        return "it holds a NUL byte"
    # Only ASCII controls: a name's bytes that are not UTF-8 (surrogate escapes) are allowed.
    bad = next((c for c in name if c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        return f"the name holds {bad!r} (whitespace or a control character)"
    return None


@dataclass(frozen=True)
class DirSpec:
    """A host directory given to the guest at ``guest``, read-only or not."""

    host: str
    guest: str
    readonly: bool = False

    def to_cbor(self) -> list[str]:
        return [self.host, self.guest, "ro" if self.readonly else "rw"]

    @classmethod
    def from_cbor(cls, data: Any) -> DirSpec:
        host, guest, mode = data
        return cls(str(host), str(guest), mode == "ro")


@dataclass(frozen=True)
class RunConfig:
    argv: list[str]
    """The guest's argv, program name first."""
    env: dict[str, str] = field(default_factory=dict)
    dirs: list[DirSpec] = field(default_factory=list)
    families: dict[str, Any] = field(default_factory=dict)
    """Per-family options, by family name (e.g. ``process``: its allow-lists)."""

    def options(self, family: str) -> dict[str, Any]:
        opts = self.families.get(family)
        return opts if isinstance(opts, dict) else {}

    def to_cbor(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "env": dict(self.env),
            "dirs": [d.to_cbor() for d in self.dirs],
            "families": dict(self.families),
        }

    @classmethod
    def from_cbor(cls, data: Any) -> RunConfig:
        if not isinstance(data, dict):
            raise ValueError("config is not a map")
        argv, env = data.get("argv", []), data.get("env", {})
        dirs, families = data.get("dirs", []), data.get("families", {})
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError("config argv is not a list of strings")
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise ValueError("config env is not a map of strings")
        if not isinstance(dirs, list) or not all(
            isinstance(d, list) and len(d) == 3 and all(isinstance(x, str) for x in d) for d in dirs
        ):
            raise ValueError("config dirs are not [host, guest, mode] triples")
        if not isinstance(families, dict):
            raise ValueError("config families is not a map")
        return cls(list(argv), dict(env), [DirSpec.from_cbor(d) for d in dirs], dict(families))


__all__ = [
    "DirSpec",
    "RunConfig",
    "env_problem",
]
