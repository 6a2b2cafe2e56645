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

import blake3

from ...world import World, WorldError
from ...world import fs as wfs
from . import canon
from .canon import BOOL_T, BYTES_T, STRING_T, U64_T, Case
from .host import ComponentHost, Fail, HostFn
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


Datetime = tuple[int, int]
"""A WIT ``datetime``: (seconds, nanoseconds)."""
StatValue = tuple[str, int, int, Datetime | None, Datetime | None, Datetime | None]
"""A WIT ``descriptor-stat``: type, link count, size, access, modification, status change."""


def _datetime(ns: int) -> Datetime | None:
    return None if ns < 0 else divmod(ns, NS)


def _stat(st: wfs.Stat) -> StatValue:
    return (st.type, st.nlink, st.size, _datetime(st.atim), _datetime(st.mtim), _datetime(st.ctim))


def _timestamp(value: Case) -> int | None:
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


class Filesystem:
    """What each ``wasi:filesystem`` function does, over the world's file system (one per
    component instance; :func:`define` registers its methods)."""

    def __init__(self, fs: wfs.Fs) -> None:
        self.fs = fs

    # ---- streams, advice, sync, flags ------------------------------------------------------

    def read_via_stream(self, d: Descriptor, offset: int) -> InputStream:
        if not _file(d).read:
            raise Fail("bad-descriptor")
        return FileInput(d, offset)

    def writable(self, d: Descriptor) -> Descriptor:
        """No output stream for a file below a read-only preopen (not-permitted, as wasmtime),
        nor for one not opened for writing (bad-descriptor). wasmtime makes the latter and
        fails its first write with the OS's EBADF (the preview1 adapter then keeps the closed
        stream: a later write, appending, is EIO where ours is EBADF again); recorded traces
        hold the guest's path through the adapter, instruction counts included, so this
        stays as they were recorded."""
        if wfs.FilePerms.WRITE not in self.fs.perms(_file(d).handle).file:
            raise Fail("not-permitted")
        if not d.write:
            raise Fail("bad-descriptor")
        return d

    def write_via_stream(self, d: Descriptor, offset: int) -> OutputStream:
        return FileOutput(self.writable(d), offset, append=False)

    def append_via_stream(self, d: Descriptor) -> OutputStream:
        return FileOutput(self.writable(d), 0, append=True)

    def advise(self, d: Descriptor, offset: int, length: int, advice: str) -> None:
        self.fs.advise(_file(d).handle, offset, length, ADVICE.names.index(advice))

    def sync_data(self, d: Descriptor) -> None:
        self.fs.sync(d.handle, True)

    def sync(self, d: Descriptor) -> None:
        self.fs.sync(d.handle, False)

    # ---- a file's size, times and bytes ---------------------------------------------------

    def set_size(self, d: Descriptor, size: int) -> None:
        self.fs.set_size(_file(d).handle, size)  # the world: permissions, then the OS (EINVAL)

    def set_times(self, d: Descriptor, atim: Case, mtim: Case) -> None:
        self.fs.set_times(d.handle, _timestamp(atim), _timestamp(mtim))

    def read(self, d: Descriptor, length: int, offset: int) -> tuple[bytes, bool]:
        if not _file(d).read:
            raise Fail("bad-descriptor")
        data = self.fs.read(d.handle, length, offset) if length else b""
        return data, bool(length) and not data

    def write(self, d: Descriptor, data: bytes, offset: int) -> int:
        # The world: permissions (not-permitted), then the open mode (bad-descriptor).
        return self.fs.write(_file(d).handle, data, offset) if data else 0

    # ---- directories ----------------------------------------------------------------------

    def read_directory(self, d: Descriptor) -> DirEntries:
        return DirEntries(self.fs.readdir(_dir(d).handle))

    def create_directory_at(self, d: Descriptor, path: str) -> None:
        self.fs.mkdir_at(_dir(d).handle, path)

    def stat(self, d: Descriptor) -> StatValue:
        return _stat(self.fs.stat(d.handle))

    def stat_at(self, d: Descriptor, flags: frozenset[str], path: str) -> StatValue:
        return _stat(self.fs.stat_at(_dir(d).handle, path, "symlink-follow" in flags))

    def set_times_at(
        self, d: Descriptor, flags: frozenset[str], path: str, a: Case, m: Case
    ) -> None:
        self.fs.set_times_at(
            _dir(d).handle, path, "symlink-follow" in flags, _timestamp(a), _timestamp(m)
        )

    def link_at(
        self, d: Descriptor, flags: frozenset[str], old: str, new_d: Descriptor, new: str
    ) -> None:
        self.fs.link_at(_dir(d).handle, old, "symlink-follow" in flags, _dir(new_d).handle, new)

    def open_at(
        self,
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
        fs = self.fs
        opened = fs.open_at(d.handle, path, how)
        if opened.type == wfs.DIRECTORY:
            return Descriptor(fs, opened.handle, opened.type, read=True, write=False)
        return Descriptor(fs, opened.handle, opened.type, read=how.read, write=how.writes)

    def readlink_at(self, d: Descriptor, path: str) -> str:
        return _text(self.fs.readlink_at(_dir(d).handle, path))

    def remove_directory_at(self, d: Descriptor, path: str) -> None:
        self.fs.rmdir_at(_dir(d).handle, path)

    def rename_at(self, d: Descriptor, old: str, new_d: Descriptor, new: str) -> None:
        self.fs.rename_at(_dir(d).handle, old, _dir(new_d).handle, new)

    def symlink_at(self, d: Descriptor, old: str, new: str) -> None:
        self.fs.symlink_at(old, _dir(d).handle, new)

    def unlink_file_at(self, d: Descriptor, path: str) -> None:
        self.fs.unlink_at(_dir(d).handle, path)

    # ---- identity -------------------------------------------------------------------------

    def is_same_object(self, d: Descriptor, other: Descriptor) -> bool:
        if d.handle == other.handle:
            return True
        try:
            a, b = self.fs.stat(d.handle), self.fs.stat(other.handle)
        except WorldError:
            return False
        return (a.dev, a.ino) == (b.dev, b.ino)

    def metadata_hash(self, d: Descriptor) -> tuple[int, int]:
        return _hash(self.fs.stat(d.handle))

    def metadata_hash_at(self, d: Descriptor, flags: frozenset[str], path: str) -> tuple[int, int]:
        return _hash(self.fs.stat_at(_dir(d).handle, path, "symlink-follow" in flags))

    # ---- preopens -------------------------------------------------------------------------

    def get_directories(self) -> list[tuple[Descriptor, str]]:
        return [
            (
                Descriptor(self.fs, p.handle, wfs.DIRECTORY, read=True, write=False, preopen=True),
                p.guest_path,
            )
            for p in self.fs.preopens()
        ]


def filesystem_error_code(err: object) -> str | None:
    if isinstance(err, IoError):
        return ERRNO_TO_CODE.get(err.errno_name, "io")
    return None


def define(host: ComponentHost, world: World) -> None:
    impl = Filesystem(world.fs)
    types = iface("wasi:filesystem/types")
    borrow = canon.Borrow(DESCRIPTOR)
    own = canon.Own(DESCRIPTOR)

    def r(ok: canon.Ty | None) -> canon.Result:
        return canon.Result(ok, ERROR_CODE)

    host.resource(types, "descriptor", DESCRIPTOR, lambda d: d.drop())
    host.resource(types, "directory-entry-stream", DIRECTORY_ENTRY_STREAM)

    def method(name: str, params: list[canon.Ty], ok: canon.Ty | None, fn: HostFn) -> None:
        host.func(types, f"[method]descriptor.{name}", [borrow, *params], r(ok), fn)

    method("read-via-stream", [U64_T], canon.Own(INPUT_STREAM), impl.read_via_stream)
    method("write-via-stream", [U64_T], canon.Own(OUTPUT_STREAM), impl.write_via_stream)
    method("append-via-stream", [], canon.Own(OUTPUT_STREAM), impl.append_via_stream)
    method("advise", [U64_T, U64_T, ADVICE], None, impl.advise)
    method("sync-data", [], None, impl.sync_data)
    method("sync", [], None, impl.sync)
    method("get-flags", [], DESCRIPTOR_FLAGS, Descriptor.flags)
    method("get-type", [], DESCRIPTOR_TYPE, lambda d: d.kind)
    method("set-size", [U64_T], None, impl.set_size)
    method("set-times", [NEW_TIMESTAMP, NEW_TIMESTAMP], None, impl.set_times)
    method("read", [U64_T, U64_T], canon.Tuple(BYTES_T, BOOL_T), impl.read)
    method("write", [BYTES_T, U64_T], U64_T, impl.write)
    method("read-directory", [], canon.Own(DIRECTORY_ENTRY_STREAM), impl.read_directory)
    method("create-directory-at", [STRING_T], None, impl.create_directory_at)
    method("stat", [], DESCRIPTOR_STAT, impl.stat)
    method("stat-at", [PATH_FLAGS, STRING_T], DESCRIPTOR_STAT, impl.stat_at)
    method(
        "set-times-at",
        [PATH_FLAGS, STRING_T, NEW_TIMESTAMP, NEW_TIMESTAMP],
        None,
        impl.set_times_at,
    )
    method("link-at", [PATH_FLAGS, STRING_T, borrow, STRING_T], None, impl.link_at)
    method("open-at", [PATH_FLAGS, STRING_T, OPEN_FLAGS, DESCRIPTOR_FLAGS], own, impl.open_at)
    method("readlink-at", [STRING_T], STRING_T, impl.readlink_at)
    method("remove-directory-at", [STRING_T], None, impl.remove_directory_at)
    method("rename-at", [STRING_T, borrow, STRING_T], None, impl.rename_at)
    method("symlink-at", [STRING_T, STRING_T], None, impl.symlink_at)
    method("unlink-file-at", [STRING_T], None, impl.unlink_file_at)
    host.func(
        types, "[method]descriptor.is-same-object", [borrow, borrow], BOOL_T, impl.is_same_object
    )
    method("metadata-hash", [], METADATA_HASH_VALUE, impl.metadata_hash)
    method("metadata-hash-at", [PATH_FLAGS, STRING_T], METADATA_HASH_VALUE, impl.metadata_hash_at)

    host.func(
        types,
        "[method]directory-entry-stream.read-directory-entry",
        [canon.Borrow(DIRECTORY_ENTRY_STREAM)],
        r(canon.Option(DIRECTORY_ENTRY)),
        DirEntries.next,
    )
    host.func(
        types,
        "filesystem-error-code",
        [canon.Borrow(ERROR)],
        canon.Option(ERROR_CODE),
        filesystem_error_code,
    )
    host.func(
        iface("wasi:filesystem/preopens"),
        "get-directories",
        [],
        canon.List(canon.Tuple(own, STRING_T)),
        impl.get_directories,
    )


__all__ = [
    "NS",
    "Case",
    "Datetime",
    "Descriptor",
    "DirEntries",
    "FileInput",
    "FileOutput",
    "Filesystem",
    "StatValue",
    "define",
    "filesystem_error_code",
]
