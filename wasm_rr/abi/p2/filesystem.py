"""``wasi:filesystem``: types (every descriptor method, directory-entry-stream) and preopens,
through ``world.fs``.

A descriptor is a world handle plus what the host knows without asking: its type (from
``open_at``) and how it was opened (a descriptor opened without ``write`` cannot write). What a
descriptor may change is the world's to decide (``world.fs`` checks the permissions each handle
inherits from its preopen, for both ABIs, and answers ``not-permitted``); ``get-type`` and
``get-flags`` are answered without an event. Streams of a file keep its descriptor open: the world
handle is closed when the descriptor and all its streams have been dropped. Preopened
directories are never closed (each ``get-directories`` hands out another handle to them).
"""

from __future__ import annotations

import contextlib
from typing import Any

import blake3

from ...world import World, WorldError
from ...world import fs as wfs
from . import canon
from .canon import BOOL_T, BYTES_T, STRING_T, U64_T
from .host import ComponentHost, Fail
from .io import Child, InputStream, OutputStream
from .wit import (
    ADVICE,
    CLOSED,
    DESCRIPTOR,
    DESCRIPTOR_FLAGS,
    DESCRIPTOR_STAT,
    DESCRIPTOR_TYPE,
    DIRECTORY_ENTRY,
    DIRECTORY_ENTRY_STREAM,
    ERRNO_TO_CODE,
    ERROR,
    ERROR_CODE,
    INPUT_STREAM,
    METADATA_HASH_VALUE,
    NEW_TIMESTAMP,
    OPEN_FLAGS,
    OUTPUT_STREAM,
    PATH_FLAGS,
    IoError,
    iface,
)

NS = 1_000_000_000


class Descriptor:
    def __init__(
        self,
        fs: wfs.Fs,
        handle: int,
        kind: str,
        *,
        read: bool,
        write: bool,
        preopen: bool = False,
    ) -> None:
        self.fs = fs
        self.handle = handle
        self.kind = kind
        self.read = read
        self.write = write
        self.preopen = preopen
        self.children = 0
        self.dropped = False

    @property
    def is_dir(self) -> bool:
        return self.kind == wfs.DIRECTORY

    def drop(self) -> None:
        self.dropped = True
        self._maybe_close()

    def release_child(self) -> None:
        self.children -= 1
        self._maybe_close()

    def _maybe_close(self) -> None:
        if self.dropped and self.children == 0 and not self.preopen:
            # A drop has no result: a failed close is not the guest's to see (as in wasmtime).
            with contextlib.suppress(WorldError):
                self.fs.close_handle(self.handle)

    def flags(self) -> frozenset[str]:
        if self.is_dir:
            mutate = wfs.DirPerms.MUTATE in self.fs.perms(self.handle).dir
            return frozenset({"read", "mutate-directory"} if mutate else {"read"})
        return frozenset(n for n, on in (("read", self.read), ("write", self.write)) if on)


class FileInput(InputStream, Child):
    def __init__(self, desc: Descriptor, offset: int) -> None:
        self.desc = desc
        self.offset = offset
        desc.children += 1

    def read(self, n: int) -> bytes:
        if n == 0:
            return b""
        data = self.desc.fs.read(self.desc.handle, n, self.offset)
        if not data:
            raise Fail(CLOSED)
        self.offset += len(data)
        return data

    def release(self) -> None:
        self.desc.release_child()


class FileOutput(OutputStream, Child):
    """A file's output stream. As wasmtime's: a write that fails (the OS's error, as the
    stream's error) closes the stream; every later write or check-write answers closed."""

    def __init__(self, desc: Descriptor, offset: int, append: bool) -> None:
        self.desc = desc
        self.offset = offset
        self.append = append
        self.closed = False
        desc.children += 1

    def write(self, data: bytes) -> None:
        if self.closed:
            raise Fail(CLOSED)
        if not data:
            return
        fs, h = self.desc.fs, self.desc.handle
        try:
            if self.append:
                fs.append(h, data)
            else:
                self.offset += fs.write(h, data, self.offset)
        except WorldError:
            self.closed = True
            raise

    def check_write(self) -> int:
        if self.closed:
            raise Fail(CLOSED)
        return super().check_write()

    def release(self) -> None:
        self.desc.release_child()


class DirEntries:
    def __init__(self, entries: list[tuple[bytes, str, int]]) -> None:
        self.entries = [(kind, name) for name, kind, _ in entries if name not in (b".", b"..")]
        self.at = 0

    def next(self) -> tuple[str, str] | None:
        if self.at >= len(self.entries):
            return None
        self.at += 1
        kind, name = self.entries[self.at - 1]
        return kind, _text(name)


def _text(name: bytes) -> str:
    """A file name or link target as a WIT ``string``: one that is not UTF-8 is
    ``illegal-byte-sequence``, as wasmtime answers."""
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("illegal-byte-sequence") from None


def _datetime(ns: int) -> tuple[int, int] | None:
    return None if ns < 0 else divmod(ns, NS)


def _stat(st: wfs.Stat) -> tuple[Any, ...]:
    return (st.type, st.nlink, st.size, _datetime(st.atim), _datetime(st.mtim), _datetime(st.ctim))


def _timestamp(value: Any) -> int | None:
    case, payload = value
    if case == "no-change":
        return None
    if case == "now":
        return wfs.NOW
    seconds, nanos = payload
    # As wasmtime: the epoch plus Duration::new(seconds, nanoseconds) must be a time the host
    # holds (a 64-bit time_t); past it the answer is ``overflow``.
    total = int(seconds) + int(nanos) // NS
    if total > (1 << 63) - 1:
        raise Fail("overflow")
    return total * NS + int(nanos) % NS


def _hash(st: wfs.Stat) -> tuple[int, int]:
    digest = blake3.blake3(f"{st.dev}:{st.ino}".encode()).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:16], "little")


def _file(d: Descriptor) -> Descriptor:
    if d.is_dir:
        raise Fail("bad-descriptor")
    return d


def _dir(d: Descriptor) -> Descriptor:
    if not d.is_dir:
        raise Fail("not-directory")
    return d


_SYNC_FLAGS = ("file-integrity-sync", "data-integrity-sync", "requested-write-sync")


def define(host: ComponentHost, world: World) -> None:
    fs = world.fs
    types = iface("wasi:filesystem/types")
    borrow = canon.Borrow(DESCRIPTOR)
    own = canon.Own(DESCRIPTOR)

    def r(ok: canon.Ty | None) -> canon.Result:
        return canon.Result(ok, ERROR_CODE)

    host.resource(types, "descriptor", DESCRIPTOR, lambda d: d.drop())
    host.resource(types, "directory-entry-stream", DIRECTORY_ENTRY_STREAM)

    def method(name: str, params: list[canon.Ty], ok: canon.Ty | None, fn: Any) -> None:
        host.func(types, f"[method]descriptor.{name}", [borrow, *params], r(ok), fn)

    def read_via_stream(d: Descriptor, offset: int) -> InputStream:
        if not _file(d).read:
            raise Fail("bad-descriptor")
        return FileInput(d, offset)

    def writable(d: Descriptor) -> Descriptor:
        """No output stream for a file below a read-only preopen (not-permitted, as wasmtime),
        nor for one not opened for writing (bad-descriptor). wasmtime makes the latter and
        fails its first write with the OS's EBADF (the preview1 adapter then keeps the closed
        stream: a later write, appending, is EIO where ours is EBADF again); recorded traces
        hold the guest's path through the adapter, instruction counts included, so this
        stays as they were recorded."""
        if wfs.FilePerms.WRITE not in fs.perms(_file(d).handle).file:
            raise Fail("not-permitted")
        if not d.write:
            raise Fail("bad-descriptor")
        return d

    def write_via_stream(d: Descriptor, offset: int) -> OutputStream:
        return FileOutput(writable(d), offset, append=False)

    def append_via_stream(d: Descriptor) -> OutputStream:
        return FileOutput(writable(d), 0, append=True)

    method("read-via-stream", [U64_T], canon.Own(INPUT_STREAM), read_via_stream)
    method("write-via-stream", [U64_T], canon.Own(OUTPUT_STREAM), write_via_stream)
    method("append-via-stream", [], canon.Own(OUTPUT_STREAM), append_via_stream)

    def advise(d: Descriptor, offset: int, length: int, advice: str) -> None:
        fs.advise(_file(d).handle, offset, length, ADVICE.names.index(advice))

    method("advise", [U64_T, U64_T, ADVICE], None, advise)
    method("sync-data", [], None, lambda d: fs.sync(d.handle, True))
    method("sync", [], None, lambda d: fs.sync(d.handle, False))
    method("get-flags", [], DESCRIPTOR_FLAGS, lambda d: d.flags())
    method("get-type", [], DESCRIPTOR_TYPE, lambda d: d.kind)

    def set_size(d: Descriptor, size: int) -> None:
        fs.set_size(_file(d).handle, size)  # the world: permissions, then the OS (EINVAL)

    method("set-size", [U64_T], None, set_size)

    def set_times(d: Descriptor, atim: Any, mtim: Any) -> None:
        fs.set_times(d.handle, _timestamp(atim), _timestamp(mtim))

    method("set-times", [NEW_TIMESTAMP, NEW_TIMESTAMP], None, set_times)

    def read(d: Descriptor, length: int, offset: int) -> tuple[bytes, bool]:
        if not _file(d).read:
            raise Fail("bad-descriptor")
        data = fs.read(d.handle, length, offset) if length else b""
        return data, bool(length) and not data

    method("read", [U64_T, U64_T], canon.Tuple(BYTES_T, BOOL_T), read)

    def write(d: Descriptor, data: bytes, offset: int) -> int:
        # The world: permissions (not-permitted), then the open mode (bad-descriptor).
        return fs.write(_file(d).handle, data, offset) if data else 0

    method("write", [BYTES_T, U64_T], U64_T, write)

    def read_directory(d: Descriptor) -> DirEntries:
        return DirEntries(fs.readdir(_dir(d).handle))

    method("read-directory", [], canon.Own(DIRECTORY_ENTRY_STREAM), read_directory)
    method("create-directory-at", [STRING_T], None, lambda d, p: fs.mkdir_at(_dir(d).handle, p))
    method("stat", [], DESCRIPTOR_STAT, lambda d: _stat(fs.stat(d.handle)))

    def stat_at(d: Descriptor, flags: frozenset[str], path: str) -> tuple[Any, ...]:
        return _stat(fs.stat_at(_dir(d).handle, path, "symlink-follow" in flags))

    method("stat-at", [PATH_FLAGS, STRING_T], DESCRIPTOR_STAT, stat_at)

    def set_times_at(d: Descriptor, flags: frozenset[str], path: str, a: Any, m: Any) -> None:
        fs.set_times_at(
            _dir(d).handle, path, "symlink-follow" in flags, _timestamp(a), _timestamp(m)
        )

    method("set-times-at", [PATH_FLAGS, STRING_T, NEW_TIMESTAMP, NEW_TIMESTAMP], None, set_times_at)

    def link_at(
        d: Descriptor, flags: frozenset[str], old: str, new_d: Descriptor, new: str
    ) -> None:
        fs.link_at(_dir(d).handle, old, "symlink-follow" in flags, _dir(new_d).handle, new)

    method("link-at", [PATH_FLAGS, STRING_T, borrow, STRING_T], None, link_at)

    def open_at(
        d: Descriptor,
        path_flags: frozenset[str],
        path: str,
        open_flags: frozenset[str],
        flags: frozenset[str],
    ) -> Descriptor:
        _dir(d)
        if any(f in flags for f in _SYNC_FLAGS):
            raise Fail("unsupported")  # as wasmtime
        want_write = "write" in flags
        # As wasmtime: opened for reading when asked to or not asked to write, for writing when
        # asked to or creating or truncating (and get-flags says so).
        how = wfs.OpenFlags(
            follow="symlink-follow" in path_flags,
            create="create" in open_flags,
            exclusive="exclusive" in open_flags,
            truncate="truncate" in open_flags,
            directory="directory" in open_flags,
            read="read" in flags or not want_write,
            write=want_write,
        )
        opened = fs.open_at(d.handle, path, how)
        if opened.type == wfs.DIRECTORY:
            return Descriptor(fs, opened.handle, opened.type, read=True, write=False)
        return Descriptor(fs, opened.handle, opened.type, read=how.read, write=how.writes)

    method("open-at", [PATH_FLAGS, STRING_T, OPEN_FLAGS, DESCRIPTOR_FLAGS], own, open_at)
    method(
        "readlink-at",
        [STRING_T],
        STRING_T,
        lambda d, p: _text(fs.readlink_at(_dir(d).handle, p)),
    )
    method("remove-directory-at", [STRING_T], None, lambda d, p: fs.rmdir_at(_dir(d).handle, p))

    def rename_at(d: Descriptor, old: str, new_d: Descriptor, new: str) -> None:
        fs.rename_at(_dir(d).handle, old, _dir(new_d).handle, new)

    method("rename-at", [STRING_T, borrow, STRING_T], None, rename_at)
    method(
        "symlink-at",
        [STRING_T, STRING_T],
        None,
        lambda d, old, new: fs.symlink_at(old, _dir(d).handle, new),
    )
    method("unlink-file-at", [STRING_T], None, lambda d, p: fs.unlink_at(_dir(d).handle, p))

    def is_same_object(d: Descriptor, other: Descriptor) -> bool:
        if d.handle == other.handle:
            return True
        try:
            a, b = fs.stat(d.handle), fs.stat(other.handle)
        except WorldError:
            return False
        return (a.dev, a.ino) == (b.dev, b.ino)

    host.func(types, "[method]descriptor.is-same-object", [borrow, borrow], BOOL_T, is_same_object)
    method("metadata-hash", [], METADATA_HASH_VALUE, lambda d: _hash(fs.stat(d.handle)))

    def metadata_hash_at(d: Descriptor, flags: frozenset[str], path: str) -> tuple[int, int]:
        return _hash(fs.stat_at(_dir(d).handle, path, "symlink-follow" in flags))

    method("metadata-hash-at", [PATH_FLAGS, STRING_T], METADATA_HASH_VALUE, metadata_hash_at)

    host.func(
        types,
        "[method]directory-entry-stream.read-directory-entry",
        [canon.Borrow(DIRECTORY_ENTRY_STREAM)],
        r(canon.Option(DIRECTORY_ENTRY)),
        lambda s: s.next(),
    )

    def filesystem_error_code(err: Any) -> str | None:
        if isinstance(err, IoError):
            return ERRNO_TO_CODE.get(err.errno_name, "io")
        return None

    host.func(
        types,
        "filesystem-error-code",
        [canon.Borrow(ERROR)],
        canon.Option(ERROR_CODE),
        filesystem_error_code,
    )

    def get_directories() -> list[tuple[Descriptor, str]]:
        return [
            (
                Descriptor(fs, p.handle, wfs.DIRECTORY, read=True, write=False, preopen=True),
                p.guest_path,
            )
            for p in fs.preopens()
        ]

    host.func(
        iface("wasi:filesystem/preopens"),
        "get-directories",
        [],
        canon.List(canon.Tuple(own, STRING_T)),
        get_directories,
    )
