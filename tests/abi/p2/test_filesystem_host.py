"""The wasi:filesystem host's parts, without a component: what each descriptor method asks the
world's file system (wasm_rr/abi/p2/filesystem.py), over a fake one."""

from __future__ import annotations

from typing import Any

import pytest

from wasm_rr.abi.p2.filesystem import Descriptor, Filesystem
from wasm_rr.abi.p2.host import Fail
from wasm_rr.world import WorldError
from wasm_rr.world import fs as wfs


class FakeFs:
    """Answers open_at with a file (or a directory for a path ending in /) and records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def open_at(self, dir: int, path: str, flags: wfs.OpenFlags) -> wfs.Opened:
        self.calls.append(("open_at", dir, path, flags))
        return wfs.Opened(
            10 + len(self.calls), wfs.DIRECTORY if path.endswith("/") else "regular-file"
        )

    def stat(self, h: int) -> wfs.Stat:
        if h == 99:
            raise WorldError("EBADF")
        return wfs.Stat(
            dev=1, ino=h % 2, type="regular-file", nlink=1, size=0, atim=0, mtim=0, ctim=0
        )

    def write(self, h: int, data: bytes, offset: int) -> int:
        self.calls.append(("write", h, data, offset))
        return len(data)


def _setup() -> tuple[FakeFs, Filesystem, Descriptor]:
    fake = FakeFs()
    impl = Filesystem(fake)
    root = Descriptor(fake, 3, wfs.DIRECTORY, read=True, write=False, preopen=True)
    return fake, impl, root


def test_open_at_turns_wit_flags_into_the_worlds_and_keeps_the_open_mode() -> None:
    fake, impl, root = _setup()
    d = impl.open_at(
        root, frozenset(), "a.txt", frozenset({"create", "truncate"}), frozenset({"write"})
    )
    (_, dir_handle, path, flags) = fake.calls[0]
    assert (dir_handle, path) == (3, "a.txt")
    assert flags == wfs.OpenFlags(follow=False, create=True, truncate=True, read=False, write=True)
    assert (d.read, d.write, d.flags()) == (False, True, frozenset({"write"}))
    # Opened for writing only: no read stream; a write goes to the world at the offset given.
    with pytest.raises(Fail) as info:
        impl.read_via_stream(d, 0)
    assert info.value.value == "bad-descriptor"
    assert impl.write(d, b"hey", 5) == 3 and fake.calls[-1] == ("write", d.handle, b"hey", 5)
    # Neither read nor write asked: opened to read, and the descriptor reads (as wasmtime's);
    # a directory is always read-only.
    plain = impl.open_at(root, frozenset({"symlink-follow"}), "b", frozenset(), frozenset())
    assert fake.calls[-1][3] == wfs.OpenFlags(follow=True, read=True, write=False)
    assert (plain.read, plain.write, plain.flags()) == (True, False, frozenset({"read"}))
    sub = impl.open_at(root, frozenset(), "sub/", frozenset({"directory"}), frozenset({"write"}))
    assert (sub.is_dir, sub.read, sub.write) == (True, True, False)


def test_open_at_refuses_sync_flags_and_a_file_as_the_directory() -> None:
    fake, impl, root = _setup()
    with pytest.raises(Fail) as info:
        impl.open_at(
            root, frozenset(), "a", frozenset(), frozenset({"read", "data-integrity-sync"})
        )
    assert info.value.value == "unsupported" and fake.calls == []
    file = impl.open_at(root, frozenset(), "a", frozenset(), frozenset({"read"}))
    with pytest.raises(Fail) as info:
        impl.open_at(file, frozenset(), "b", frozenset(), frozenset())
    assert info.value.value == "not-directory"


def test_is_same_object_compares_device_and_inode_and_a_stat_error_is_no() -> None:
    fake, impl, _ = _setup()
    a, b, c, gone = (
        Descriptor(fake, h, "regular-file", read=True, write=False) for h in (2, 4, 5, 99)
    )
    assert impl.is_same_object(a, a) and impl.is_same_object(a, b)
    assert not impl.is_same_object(a, c) and not impl.is_same_object(a, gone)
