"""The configuration of one run: built once from the command line (or the library API), stored
in the trace header, and read back from it on replay.

The core fields are the guest's command line, its environment and its directories; each effect
family that needs options of its own (an allow-list, say) keeps them under its name in
:attr:`RunConfig.families`, in the JSON-like shape it parses itself.

Arguments, environment variables and paths are bytes to the OS and to a preview1 guest, and may
not be UTF-8. They are held here as Python does for ``sys.argv`` and ``os.environ``: text, with
each byte that is not part of UTF-8 carried as a lone surrogate (U+DC80..U+DCFF, the
``surrogateescape`` error handler); :func:`to_bytes` gives the exact bytes back (as
``os.fsencode``). The trace stores such a value as a CBOR byte string, and every other one as a
text string, so that a configuration of UTF-8 values is encoded as it always was.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


def to_bytes(text: str) -> bytes:
    """The bytes ``text`` stands for: UTF-8, with escaped bytes (lone surrogates U+DC80..U+DCFF)
    restored. Raises UnicodeEncodeError for any other lone surrogate (see
    :meth:`RunConfig.unrepresentable`)."""
    return text.encode("utf-8", "surrogateescape")


def from_bytes(raw: bytes) -> str:
    """``raw`` as text, its bytes that are not UTF-8 escaped (``to_bytes`` undoes it)."""
    return raw.decode("utf-8", "surrogateescape")


def as_text(value: str | bytes) -> str:
    """A value given as text or as bytes, as text (bytes through :func:`from_bytes`)."""
    return from_bytes(value) if isinstance(value, bytes) else value


def is_utf8(text: str) -> bool:
    """Whether ``text`` is valid Unicode text (no escaped bytes, no lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def readable(text: str) -> str | bytes:
    """``text`` to show to a user: itself when it is UTF-8, else its bytes (shown as ``b'...'``
    by ``repr``, never as surrogates)."""
    if is_utf8(text):
        return text
    try:
        return to_bytes(text)
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")


def shown(text: str) -> str:
    """``text`` as one line for a user: itself when it is UTF-8, else ``b'...'``."""
    value = readable(text)
    return value if isinstance(value, str) else repr(value)


def text_or_bytes(text: str) -> str | bytes:
    """How a value is written to the trace: text when it is UTF-8, else its bytes."""
    return text if is_utf8(text) else to_bytes(text)


def text_from_cbor(value: Any) -> str | None:
    """A value read from the trace (text, or bytes that are not UTF-8), as text; None when it
    is neither."""
    if type(value) is str:
        return value
    if type(value) is bytes:
        return from_bytes(value)
    return None


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

    def to_cbor(self) -> list[str | bytes]:
        return [
            text_or_bytes(self.host),
            text_or_bytes(self.guest),
            "ro" if self.readonly else "rw",
        ]

    @classmethod
    def from_cbor(cls, data: Any) -> DirSpec:
        host, guest, mode = data
        return cls(as_text(host), as_text(guest), mode == "ro")


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

    def names(self) -> Iterator[tuple[str, str, bool]]:
        """Every argument, environment name and value and directory path the configuration
        gives: what it is (``argument 1``...), the value, and whether the guest sees it (the
        host path of a directory it does not)."""
        for i, arg in enumerate(self.argv):
            yield ("the program name (argv[0])" if i == 0 else f"argument {i}"), arg, True
        for name, value in self.env.items():
            yield "the name of an environment variable", name, True
            yield f"the value of environment variable {shown(name)}", value, True
        for d in self.dirs:
            yield "the host path of a --dir", d.host, False
            yield "the guest name of a --dir", d.guest, True

    def unrepresentable(self) -> tuple[str, str] | None:
        """The first value that stands for no bytes at all (a lone surrogate that is not an
        escaped byte: only the library API can be given one), and what it is."""
        for what, value, _seen in self.names():
            try:
                to_bytes(value)
            except UnicodeEncodeError:
                return what, value
        return None

    def not_utf8(self) -> tuple[str, str] | None:
        """The first value the guest sees that is not UTF-8, and what it is."""
        for what, value, seen in self.names():
            if seen and not is_utf8(value):
                return what, value
        return None

    def to_cbor(self) -> dict[str, Any]:
        return {
            "argv": [text_or_bytes(a) for a in self.argv],
            "env": {text_or_bytes(k): text_or_bytes(v) for k, v in self.env.items()},
            "dirs": [d.to_cbor() for d in self.dirs],
            "families": dict(self.families),
        }

    @classmethod
    def from_cbor(cls, data: Any) -> RunConfig:
        if not isinstance(data, dict):
            raise ValueError("config is not a map")
        argv, env = data.get("argv", []), data.get("env", {})
        dirs, families = data.get("dirs", []), data.get("families", {})
        # Text, or bytes where the value is not UTF-8 (traces before that have text only).
        if not isinstance(argv, list) or not all(text_from_cbor(a) is not None for a in argv):
            raise ValueError("config argv is not a list of strings")
        if not isinstance(env, dict) or not all(
            text_from_cbor(k) is not None and text_from_cbor(v) is not None for k, v in env.items()
        ):
            raise ValueError("config env is not a map of strings")
        if not isinstance(dirs, list) or not all(
            isinstance(d, list)
            and len(d) == 3
            and all(text_from_cbor(x) is not None for x in d[:2])
            and isinstance(d[2], str)
            for d in dirs
        ):
            raise ValueError("config dirs are not [host, guest, mode] triples")
        if not isinstance(families, dict):
            raise ValueError("config families is not a map")
        return cls(
            [as_text(a) for a in argv],
            {as_text(k): as_text(v) for k, v in env.items()},
            [DirSpec.from_cbor(d) for d in dirs],
            dict(families),
        )


__all__ = [
    "DirSpec",
    "RunConfig",
    "as_text",
    "env_problem",
    "from_bytes",
    "is_utf8",
    "readable",
    "shown",
    "text_from_cbor",
    "text_or_bytes",
    "to_bytes",
]
