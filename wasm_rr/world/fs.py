"""The file system: preopened directories and everything reached through them.

The protocol is handle-based and positionless, like ``wasi:filesystem``: a descriptor is a
world-assigned integer handle, reads and writes name their offset, and the file position of
preview1 is kept by the ABI layer (it is the guest's own state, not the world's). Preview1 and
the component host both talk to this one protocol.

Live: every path the guest names is resolved, one component at a time, relative to a directory
handle, with ``O_NOFOLLOW`` and symlinks expanded by this module (never by the kernel), so the
guest cannot leave its preopened directories through ``..``, absolute paths, symlinks (relative,
absolute, chained, to directories), or a symlink swapped in between a check and a use. The only
place that opens an ambient host path is :meth:`LiveFs.__init__` (the preopens).

Recording stores every question and answer as an FS event (bytes read, stat results, directory
listings, link targets, every errno). Replaying answers from the trace and touches no file at
all: nothing is read, created, written, renamed or deleted. What the guest writes is checked
against the recording (the bytes if short, else their blake3).
"""

from __future__ import annotations

import contextlib
import enum
import errno
import os
import stat as stat_mod
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..errors import ArgsMismatchError, CorruptTraceError, PendingIntentError, ResumeError
from ..trace.events import Elem, EventDecl, Field, Seq, Shape, among, each, f, opt, rec
from .base import (
    Recorder,
    Replayer,
    ViewSource,
    WorldError,
    describe,
    kept_bytes,
    world_error_from_os,
)
from .family import Chaos, Context, Family
from .journal import OBSERVE, REDISPATCH, Journal, JournalReplay, completed, effected

# File types, as WASI 0.2 names them.
UNKNOWN = "unknown"
BLOCK_DEVICE = "block-device"
CHARACTER_DEVICE = "character-device"
DIRECTORY = "directory"
FIFO = "fifo"
SYMBOLIC_LINK = "symbolic-link"
REGULAR_FILE = "regular-file"
SOCKET = "socket"

NOW = -1
"""A timestamp argument meaning "the current time" (set_times); None means "leave unchanged"."""

MAX_SYMLINKS = 40

MAX_READ = 64 * 1024 * 1024
"""The most one read asks the OS for (a WASI 0.2 guest may ask for 2^64 - 1 bytes)."""

ESCAPE = "EPERM"
"""The error name for a path that would leave its preopened directory."""

DENIED = "EPERM"
"""The error name for a change a handle's permissions do not allow (wasmtime's
``not-permitted``, preview1's EPERM)."""


class DirPerms(enum.IntFlag):
    """What a directory handle allows, as wasmtime's ``DirPerms``."""

    READ = 1
    MUTATE = 2  # create, remove, rename, link below it; set its times


class FilePerms(enum.IntFlag):
    """What a file handle allows, as wasmtime's ``FilePerms``."""

    READ = 1
    WRITE = 2  # write, append, set its size or times


@dataclass(frozen=True)
class Perms:
    """A handle's permissions: those of its preopen, inherited by everything opened below it
    (the one read-only policy, for both ABIs)."""

    dir: DirPerms
    file: FilePerms


READ_ONLY = Perms(DirPerms.READ, FilePerms.READ)
READ_WRITE = Perms(DirPerms.READ | DirPerms.MUTATE, FilePerms.READ | FilePerms.WRITE)


def preopen_perms(readonly: bool) -> Perms:
    return READ_ONLY if readonly else READ_WRITE


def signed64(value: int) -> int:
    """A u64 offset or length as the OS's signed ``off_t`` (wasmtime passes them on the same
    way, so the OS answers EINVAL for those at or past 2^63)."""
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass(frozen=True)
class Stat:
    dev: int
    ino: int
    type: str
    nlink: int
    size: int
    atim: int  # ns since the Unix epoch
    mtim: int
    ctim: int

    def to_list(self) -> list[Any]:
        return [
            self.dev,
            self.ino,
            self.type,
            self.nlink,
            self.size,
            self.atim,
            self.mtim,
            self.ctim,
        ]

    @classmethod
    def from_list(cls, v: list[Any]) -> Stat:
        return cls(*v)


@dataclass(frozen=True)
class OpenFlags:
    follow: bool = True  # follow a symlink in the final component
    create: bool = False
    exclusive: bool = False
    truncate: bool = False
    directory: bool = False  # must be a directory
    read: bool = True
    write: bool = False
    append: bool = False  # recorded as asked; appending alone opens for reading only

    @property
    def writes(self) -> bool:
        """Whether the file is opened for writing: asked to, or created or truncated (as
        wasmtime opens it, and reports it writable)."""
        return self.write or self.create or self.truncate

    def to_int(self) -> int:
        bits = 0
        for i, name in enumerate(_FLAG_NAMES):
            if getattr(self, name):
                bits |= 1 << i
        return bits


_FLAG_NAMES = ("follow", "create", "exclusive", "truncate", "directory", "read", "write", "append")


def _again(flags: OpenFlags) -> OpenFlags:
    """``flags`` for opening a file once more: nothing created or truncated, but writable if
    the first open was."""
    return replace(flags, create=False, exclusive=False, truncate=False, write=flags.writes)


@dataclass(frozen=True)
class Opened:
    handle: int
    type: str


@dataclass(frozen=True)
class Preopen:
    handle: int
    guest_path: str
    host_path: str
    readonly: bool


class Fs(Protocol):
    def preopens(self) -> list[Preopen]: ...
    def perms(self, h: int) -> Perms:
        """What handle ``h`` allows (no event: it follows from the preopens and the opens)."""
        ...

    def open_at(self, dir: int, path: str, flags: OpenFlags) -> Opened: ...
    def close_handle(self, h: int) -> None: ...
    def read(self, h: int, n: int, offset: int) -> bytes: ...
    def read_into(self, h: int, out: memoryview, offset: int) -> int:
        """``read(h, len(out), offset)`` written into ``out`` (guest memory); returns the count.
        A large read never needs a bytes object of its size (recorded as ``read`` is)."""
        ...

    def write(self, h: int, data: bytes, offset: int) -> int: ...
    def append(self, h: int, data: bytes) -> tuple[int, int]:
        """Write at the end of the file; returns the count written and the new end offset."""
        ...

    def stat(self, h: int) -> Stat: ...
    def stat_at(self, dir: int, path: str, follow: bool) -> Stat: ...
    def set_size(self, h: int, size: int) -> None: ...
    def set_times(self, h: int, atim: int | None, mtim: int | None) -> None: ...
    def set_times_at(
        self, dir: int, path: str, follow: bool, atim: int | None, mtim: int | None
    ) -> None: ...
    def readdir(self, h: int) -> list[tuple[bytes, str, int]]:
        """The entries (name as the OS spells it, type, inode) but ``.``, and ``..`` with the
        inode of the directory itself, as wasmtime answers (its parent may be outside the
        sandbox). Traces recorded before ``..`` was listed have none."""
        ...

    def mkdir_at(self, dir: int, path: str) -> None: ...
    def rmdir_at(self, dir: int, path: str) -> None: ...
    def unlink_at(self, dir: int, path: str) -> None: ...
    def rename_at(self, dir: int, path: str, new_dir: int, new_path: str) -> None: ...
    def link_at(self, dir: int, path: str, follow: bool, new_dir: int, new_path: str) -> None: ...
    def symlink_at(self, target: str, dir: int, path: str) -> None: ...
    def readlink_at(self, dir: int, path: str) -> bytes: ...
    def sync(self, h: int, data_only: bool) -> None: ...
    def advise(self, h: int, offset: int, length: int, advice: int) -> None:
        """``advice``: 0 normal, 1 sequential, 2 random, 3 will-need, 4 dont-need, 5 no-reuse
        (WASI's numbering)."""
        ...

    def close(self) -> None:
        """Release every host resource (the run is over): the family's close."""
        ...


# WASI's advice numbers (normal, sequential, random, will-need, dont-need, no-reuse) to the OS's.
_FADVISE = (
    os.POSIX_FADV_NORMAL,
    os.POSIX_FADV_SEQUENTIAL,
    os.POSIX_FADV_RANDOM,
    os.POSIX_FADV_WILLNEED,
    os.POSIX_FADV_DONTNEED,
    os.POSIX_FADV_NOREUSE,
)


def _type_of(mode: int) -> str:
    if stat_mod.S_ISREG(mode):
        return REGULAR_FILE
    if stat_mod.S_ISDIR(mode):
        return DIRECTORY
    if stat_mod.S_ISLNK(mode):
        return SYMBOLIC_LINK
    if stat_mod.S_ISCHR(mode):
        return CHARACTER_DEVICE
    if stat_mod.S_ISBLK(mode):
        return BLOCK_DEVICE
    if stat_mod.S_ISFIFO(mode):
        return FIFO
    if stat_mod.S_ISSOCK(mode):
        return SOCKET
    return UNKNOWN


def _stat_of(st: os.stat_result) -> Stat:
    return Stat(
        st.st_dev,
        st.st_ino,
        _type_of(st.st_mode),
        st.st_nlink,
        st.st_size,
        st.st_atime_ns,
        st.st_mtime_ns,
        st.st_ctime_ns,
    )


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_PATH_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass
class _Handle:
    fd: int
    is_dir: bool
    perms: Perms  # its preopen's


class LiveFs:
    """The host file system, confined to the preopened directories."""

    def __init__(self, preopens: list[tuple[str, str, bool]]) -> None:
        self._handles: dict[int, _Handle] = {}
        self._next = 1
        self._preopens: list[Preopen] = []
        for host, guest, readonly in preopens:
            # The one place an ambient host path is opened.
            try:
                fd = os.open(host, _DIR_FLAGS)
            except OSError as exc:
                raise FsConfigError(f"cannot preopen {host}: {exc.strerror}") from None
            h = self._add(_Handle(fd, True, preopen_perms(readonly)))
            self._preopens.append(Preopen(h, guest, host, readonly))

    def _add(self, handle: _Handle) -> int:
        h = self._next
        self._next += 1
        self._handles[h] = handle
        return h

    def _get(self, h: int) -> _Handle:
        try:
            return self._handles[h]
        except KeyError:
            raise WorldError("EBADF") from None

    def close(self) -> None:
        for handle in self._handles.values():
            with contextlib.suppress(OSError):
                os.close(handle.fd)
        self._handles.clear()

    # ---- path resolution: the sandbox ----------------------------------------------------------

    def _resolve(self, dir: int, path: str, follow: bool) -> tuple[int, str, bool]:
        """Walk ``path`` below directory handle ``dir``: the sandbox.

        Returns ``(parent_fd, name, must_be_dir)``: an fd (the caller closes it) of the
        directory holding the final component, and that component (``"."`` when the path names
        the directory itself). Every component is opened relative to its parent's fd with
        ``O_NOFOLLOW``; symlinks in intermediate components, and in the final one when
        ``follow``, are expanded here, never by the kernel, and their targets walked the same
        way. The caller then acts on ``name`` with ``O_NOFOLLOW`` or an ``*at`` call that does
        not follow, so a symlink swapped in after the check is not followed either. Any way out
        of the preopened directory (``..`` above it, an absolute path or symlink target) is
        refused with EPERM (:data:`ESCAPE`, wasmtime's answer); a NUL byte with EINVAL.
        """
        base = self._get(dir)
        if not base.is_dir:
            raise WorldError("ENOTDIR")
        if path == "":
            raise WorldError("ENOENT")
        if path.startswith("/"):
            raise WorldError(ESCAPE)
        if "\0" in path:
            raise WorldError("EINVAL")
        must_be_dir = path.endswith(("/", "/.")) or path == "."
        follow = follow or must_be_dir
        todo = deque(c for c in path.split("/") if c not in ("", "."))
        stack = [os.dup(base.fd)]
        links = 0
        try:
            while todo:
                comp = todo.popleft()
                if comp == "..":
                    if len(stack) == 1:
                        raise WorldError(ESCAPE)
                    os.close(stack.pop())
                    continue
                final = not todo
                if final and not follow:
                    return self._finish(stack, comp, must_be_dir)
                try:
                    fd = os.open(comp, _PATH_FLAGS, dir_fd=stack[-1])
                except FileNotFoundError:
                    if final:  # may be about to be created
                        return self._finish(stack, comp, must_be_dir)
                    raise WorldError("ENOENT") from None
                except OSError as exc:
                    raise world_error_from_os(exc) from None
                try:
                    mode = os.fstat(fd).st_mode
                finally:
                    os.close(fd)
                if stat_mod.S_ISLNK(mode):
                    links += 1
                    if links > MAX_SYMLINKS:
                        raise WorldError("ELOOP")
                    try:
                        target = os.readlink(comp, dir_fd=stack[-1])
                    except OSError as exc:
                        raise world_error_from_os(exc) from None
                    if target.startswith("/"):
                        raise WorldError(ESCAPE)
                    if final and target.endswith("/"):
                        must_be_dir = True
                    todo.extendleft(reversed([c for c in target.split("/") if c not in ("", ".")]))
                    continue
                if final:
                    return self._finish(stack, comp, must_be_dir)
                if not stat_mod.S_ISDIR(mode):
                    raise WorldError("ENOTDIR")
                try:
                    stack.append(os.open(comp, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=stack[-1]))
                except OSError as exc:
                    raise world_error_from_os(exc) from None
            return self._finish(stack, ".", must_be_dir)
        except BaseException:
            for fd in stack:
                os.close(fd)
            raise

    @staticmethod
    def _finish(stack: list[int], name: str, must_be_dir: bool) -> tuple[int, str, bool]:
        parent = stack.pop()
        for fd in stack:
            os.close(fd)
        return parent, name, must_be_dir

    # ---- permissions: the one place the read-only policy is checked --------------------------

    def _mutable(self, dir: int) -> _Handle:
        """A directory handle that may be changed below (its preopen is not read-only)."""
        handle = self._get(dir)
        if DirPerms.MUTATE not in handle.perms.dir:
            raise WorldError(DENIED)
        return handle

    def _two_mutable(self, dir: int, new_dir: int) -> None:
        """rename and link: both directories mutable, and with the same permissions (as
        wasmtime: nothing moves or gets a second name across a permission boundary)."""
        a, b = self._mutable(dir), self._mutable(new_dir)
        if a.perms != b.perms:
            raise WorldError(DENIED)

    def _file_writable(self, h: int) -> _Handle:
        handle = self._get(h)
        if FilePerms.WRITE not in handle.perms.file:
            raise WorldError(DENIED)
        return handle

    def _at(self, dir: int, path: str, follow: bool, op: Callable[[int, str], Any]) -> Any:
        parent, name, must_be_dir = self._resolve(dir, path, follow)
        try:
            if must_be_dir:
                _require_dir(parent, name)
            return op(parent, name)
        except OSError as exc:
            raise world_error_from_os(exc) from None
        finally:
            os.close(parent)

    # ---- the protocol --------------------------------------------------------------------------

    def preopens(self) -> list[Preopen]:
        return list(self._preopens)

    def perms(self, h: int) -> Perms:
        return self._get(h).perms

    def open_at(self, dir: int, path: str, flags: OpenFlags) -> Opened:
        base = self._get(dir)
        if flags.directory and (flags.create or flags.exclusive or flags.truncate):
            raise WorldError("EINVAL")
        if flags.writes and (
            DirPerms.MUTATE not in base.perms.dir or FilePerms.WRITE not in base.perms.file
        ):
            raise WorldError(DENIED)  # append alone is no write: wasmtime opens it read-only
        parent, name, must_be_dir = self._resolve(dir, path, flags.follow)
        try:
            directory = flags.directory or must_be_dir
            # Appending alone opens for reading only, as wasmtime: preview1 appends at the ABI
            # (fd_fdstat_set_flags turns it on and off), a write through such a descriptor is
            # EBADF, and the OS is never given a writable descriptor for it.
            writing = os.O_RDWR if flags.read else os.O_WRONLY
            access = writing if flags.writes else os.O_RDONLY
            oflags = access | os.O_NOFOLLOW | os.O_CLOEXEC
            if flags.create:
                oflags |= os.O_CREAT
            if flags.exclusive:
                oflags |= os.O_EXCL
            if flags.truncate:
                oflags |= os.O_TRUNC
            # Never O_APPEND: preview1 turns appending on and off after the open
            # (fd_fdstat_set_flags), so :meth:`append` writes at the end explicitly and
            # :meth:`write` at the offset it is given.
            if directory:
                oflags |= os.O_DIRECTORY
            try:
                fd = os.open(name, oflags, 0o666, dir_fd=parent)
            except OSError as exc:
                if exc.errno == errno.ENOTDIR and _is_symlink(parent, name):
                    raise WorldError("ELOOP") from None  # O_NOFOLLOW on a symlink, as wasmtime
                raise world_error_from_os(exc) from None
        finally:
            os.close(parent)
        try:
            st = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise world_error_from_os(exc) from None
        kind = _type_of(st.st_mode)
        return Opened(self._add(_Handle(fd, kind == DIRECTORY, base.perms)), kind)

    def reopen(self, h: int, dir: int, path: str, flags: OpenFlags) -> Opened:
        """Open ``path`` again as handle ``h`` (resume: a handle the guest holds), without
        creating or truncating anything (but writable if it was); later opens count on from
        ``h + 1``."""
        self._next = h
        return self.open_at(dir, path, _again(flags))

    def read_back(self, h: int, n: int, offset: int) -> bytes:
        """What file handle ``h`` holds at ``offset``, even when it was opened write-only (resume
        observes a write through it): read through a second, read-only open of the same file."""
        handle = self._get(h)
        try:
            fd = os.open(f"/proc/self/fd/{handle.fd}", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise world_error_from_os(exc) from None
        try:
            return os.pread(fd, min(n, MAX_READ), signed64(offset))
        except OSError as exc:
            raise world_error_from_os(exc) from None
        finally:
            os.close(fd)

    def count_from(self, h: int) -> None:
        """The next open answers handle ``h`` (resume: as the recording would have)."""
        self._next = max(self._next, h)

    def close_handle(self, h: int) -> None:
        handle = self._get(h)
        del self._handles[h]
        try:
            os.close(handle.fd)
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def read(self, h: int, n: int, offset: int) -> bytes:
        handle = self._get(h)
        if handle.is_dir:
            raise WorldError("EISDIR")
        try:
            return os.pread(handle.fd, min(n, MAX_READ), signed64(offset))
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def read_into(self, h: int, out: memoryview, offset: int) -> int:
        handle = self._get(h)
        if handle.is_dir:
            raise WorldError("EISDIR")
        try:
            return os.preadv(handle.fd, [out[:MAX_READ]], signed64(offset))
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def write(self, h: int, data: bytes, offset: int) -> int:
        handle = self._file_writable(h)
        try:
            return os.pwrite(handle.fd, data, signed64(offset))
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def append(self, h: int, data: bytes) -> tuple[int, int]:
        handle = self._file_writable(h)
        try:
            # Descriptors are opened without O_APPEND (see open_at): write at the end.
            end = os.fstat(handle.fd).st_size
            n = os.pwrite(handle.fd, data, end)
            return n, end + n
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def stat(self, h: int) -> Stat:
        try:
            return _stat_of(os.fstat(self._get(h).fd))
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def stat_at(self, dir: int, path: str, follow: bool) -> Stat:
        st = self._at(dir, path, follow, lambda d, n: os.stat(n, dir_fd=d, follow_symlinks=False))
        return _stat_of(st)

    def set_size(self, h: int, size: int) -> None:
        fd = self._file_writable(h).fd
        if size >= 1 << 63:
            raise WorldError("EINVAL")
        try:
            os.ftruncate(fd, size)
        except OSError as exc:
            raise world_error_from_os(exc) from None

    @staticmethod
    def _times(fd_or_path: Any, atim: int | None, mtim: int | None, **kw: Any) -> None:
        if atim == NOW and mtim == NOW:
            os.utime(fd_or_path, **kw)
            return
        st = os.stat(fd_or_path, **kw)
        now = time.time_ns()
        a = st.st_atime_ns if atim is None else (now if atim == NOW else atim)
        m = st.st_mtime_ns if mtim is None else (now if mtim == NOW else mtim)
        os.utime(fd_or_path, ns=(a, m), **kw)

    def set_times(self, h: int, atim: int | None, mtim: int | None) -> None:
        handle = self._get(h)
        if handle.is_dir:
            self._mutable(h)
        else:
            self._file_writable(h)
        try:
            self._times(handle.fd, atim, mtim)
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def set_times_at(
        self, dir: int, path: str, follow: bool, atim: int | None, mtim: int | None
    ) -> None:
        self._mutable(dir)
        self._at(
            dir,
            path,
            follow,
            lambda d, n: self._times(n, atim, mtim, dir_fd=d, follow_symlinks=False),
        )

    def readdir(self, h: int) -> list[tuple[bytes, str, int]]:
        handle = self._get(h)
        if not handle.is_dir:
            raise WorldError("ENOTDIR")
        try:
            entries = [(b"..", DIRECTORY, os.fstat(handle.fd).st_ino)]
            with os.scandir(handle.fd) as it:
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                        kind, ino = _type_of(st.st_mode), st.st_ino
                    except OSError:
                        kind, ino = UNKNOWN, e.inode()
                    entries.append((os.fsencode(e.name), kind, ino))
        except OSError as exc:
            raise world_error_from_os(exc) from None
        return entries

    def mkdir_at(self, dir: int, path: str) -> None:
        self._mutable(dir)
        self._at(dir, path, False, lambda d, n: os.mkdir(n, 0o777, dir_fd=d))

    def rmdir_at(self, dir: int, path: str) -> None:
        self._mutable(dir)
        self._at(dir, path, False, lambda d, n: os.rmdir(n, dir_fd=d))

    def unlink_at(self, dir: int, path: str) -> None:
        self._mutable(dir)

        def unlink(d: int, n: str) -> None:
            try:
                os.unlink(n, dir_fd=d)
            except IsADirectoryError:
                raise WorldError("EISDIR") from None
            except PermissionError:
                # Linux says EISDIR/EPERM for directories depending on the file system.
                if stat_mod.S_ISDIR(os.stat(n, dir_fd=d, follow_symlinks=False).st_mode):
                    raise WorldError("EISDIR") from None
                raise

        self._at(dir, path, False, unlink)

    def rename_at(self, dir: int, path: str, new_dir: int, new_path: str) -> None:
        self._two_mutable(dir, new_dir)
        src_parent, src, _ = self._resolve(dir, path, False)
        try:
            dst_parent, dst, _ = self._resolve(new_dir, new_path, False)
            try:
                os.rename(src, dst, src_dir_fd=src_parent, dst_dir_fd=dst_parent)
            except OSError as exc:
                raise world_error_from_os(exc) from None
            finally:
                os.close(dst_parent)
        finally:
            os.close(src_parent)

    def link_at(self, dir: int, path: str, follow: bool, new_dir: int, new_path: str) -> None:
        # The source directory must be mutable too: a hard link out of a read-only preopen
        # would make its file writable through the link.
        self._mutable(dir)
        self._mutable(new_dir)
        if follow:
            raise WorldError("EINVAL")  # as wasmtime: hard links never follow symlinks
        self._two_mutable(dir, new_dir)
        src_parent, src, _ = self._resolve(dir, path, follow)
        try:
            dst_parent, dst, must_be_dir = self._resolve(new_dir, new_path, False)
            if must_be_dir:
                dst += "/"  # the kernel's answer for a trailing slash (ENOENT, EEXIST, ...)
            try:
                os.link(
                    src, dst, src_dir_fd=src_parent, dst_dir_fd=dst_parent, follow_symlinks=False
                )
            except OSError as exc:
                raise world_error_from_os(exc) from None
            finally:
                os.close(dst_parent)
        finally:
            os.close(src_parent)

    def symlink_at(self, target: str, dir: int, path: str) -> None:
        self._mutable(dir)
        if target.startswith("/"):
            raise WorldError(ESCAPE)  # as wasmtime: an absolute target leads outside
        if "\0" in target:
            raise WorldError("EINVAL")
        parent, name, must_be_dir = self._resolve(dir, path, False)
        try:
            # A trailing slash goes to the kernel, which refuses it (ENOENT) as Linux does.
            os.symlink(target, name + "/" if must_be_dir else name, dir_fd=parent)
        except OSError as exc:
            raise world_error_from_os(exc) from None
        finally:
            os.close(parent)

    def readlink_at(self, dir: int, path: str) -> bytes:
        result: str = self._at(dir, path, False, lambda d, n: os.readlink(n, dir_fd=d))
        if result.startswith("/"):
            raise WorldError(ESCAPE)  # as wasmtime: an absolute target leads outside
        return os.fsencode(result)

    def sync(self, h: int, data_only: bool) -> None:
        fd = self._get(h).fd
        try:
            (os.fdatasync if data_only else os.fsync)(fd)
        except OSError as exc:
            raise world_error_from_os(exc) from None

    def advise(self, h: int, offset: int, length: int, advice: int) -> None:
        fd = self._get(h).fd
        try:
            os.posix_fadvise(fd, signed64(offset), signed64(length), _FADVISE[advice])
        except OSError as exc:
            raise world_error_from_os(exc) from None


def _is_symlink(parent: int, name: str) -> bool:
    try:
        return stat_mod.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _require_dir(parent: int, name: str) -> None:
    """A path written with a trailing slash must name a directory (when it exists)."""
    try:
        mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return
    if not stat_mod.S_ISDIR(mode):
        raise WorldError("ENOTDIR")


class FsConfigError(Exception):
    """A preopened directory cannot be opened."""


# ---- recording and replaying ----------------------------------------------------------------


class Op:
    """The file-system operations; each is an event kind ``fs.<name>`` whose question is the
    call's argument list and whose answer is the result (or an errno name)."""

    OPEN = 1  # [dir, path, flags] -> [handle, type]
    CLOSE = 2  # [handle] -> null
    READ = 3  # [handle, max_len, offset] -> payload
    WRITE = 4  # [handle, data-or-blake3, len, offset] -> count
    APPEND = 5  # [handle, data-or-blake3, len] -> [count, end]
    STAT = 6  # [handle] -> stat
    STAT_AT = 7  # [dir, path, follow] -> stat
    SET_SIZE = 8  # [handle, size] -> null
    SET_TIMES = 9  # [handle, atim, mtim] -> null
    SET_TIMES_AT = 10  # [dir, path, follow, atim, mtim] -> null
    READDIR = 11  # [handle] -> [[name (bytes; text in older traces), type, ino]...]
    MKDIR = 12  # [dir, path] -> null
    RMDIR = 13  # [dir, path] -> null
    UNLINK = 14  # [dir, path] -> null
    RENAME = 15  # [dir, path, new_dir, new_path] -> null
    LINK = 16  # [dir, path, follow, new_dir, new_path] -> null
    SYMLINK = 17  # [target, dir, path] -> null
    READLINK = 18  # [dir, path] -> target (bytes; text in older traces)
    SYNC = 19  # [handle, data_only] -> null
    ADVISE = 20  # [handle, offset, len, advice] -> null
    ALLOCATE = 21  # [handle, offset, len] -> null (no longer asked: fd_allocate is NOTSUP)


OP_NAMES: dict[int, str] = {
    v: k.lower() for k, v in vars(Op).items() if k.isupper() and isinstance(v, int)
}
_H: Shape = "uint"  # a handle (or a directory handle)
_P: Shape = "str"  # a path
_T: Elem = opt("time")  # a timestamp in ns (-1: now), or null (unchanged)
_TYPE = among(
    UNKNOWN, BLOCK_DEVICE, CHARACTER_DEVICE, DIRECTORY, FIFO, SYMBOLIC_LINK, REGULAR_FILE, SOCKET
)
_STAT = rec("uint", "uint", _TYPE, "uint", "uint", "time", "time", "time")
_CALLS: dict[int, tuple[Seq, Field]] = {
    Op.OPEN: (rec(_H, _P, "uint"), f("answer", "list", of=rec(_H, _TYPE), errno=True)),
    Op.CLOSE: (rec(_H), f("answer", "null", errno=True)),
    Op.READ: (rec(_H, "uint", "uint"), f("answer", "payload", errno=True)),
    Op.WRITE: (rec(_H, "bytes", "uint", "uint"), f("answer", "u32", errno=True)),
    Op.APPEND: (rec(_H, "bytes", "uint"), f("answer", "list", of=rec("u32", "uint"), errno=True)),
    Op.STAT: (rec(_H), f("answer", "list", of=_STAT, errno=True)),
    Op.STAT_AT: (rec(_H, _P, "uint"), f("answer", "list", of=_STAT, errno=True)),
    Op.SET_SIZE: (rec(_H, "uint"), f("answer", "null", errno=True)),
    Op.SET_TIMES: (rec(_H, _T, _T), f("answer", "null", errno=True)),
    Op.SET_TIMES_AT: (rec(_H, _P, "uint", _T, _T), f("answer", "null", errno=True)),
    Op.READDIR: (rec(_H), f("answer", "list", of=each(rec("name", _TYPE, "uint")), errno=True)),
    Op.MKDIR: (rec(_H, _P), f("answer", "null", errno=True)),
    Op.RMDIR: (rec(_H, _P), f("answer", "null", errno=True)),
    Op.UNLINK: (rec(_H, _P), f("answer", "null", errno=True)),
    Op.RENAME: (rec(_H, _P, _H, _P), f("answer", "null", errno=True)),
    Op.LINK: (rec(_H, _P, "uint", _H, _P), f("answer", "null", errno=True)),
    Op.SYMLINK: (rec(_P, _H, _P), f("answer", "null", errno=True)),
    Op.READLINK: (rec(_H, _P), f("answer", "bytes", errno=True)),
    Op.SYNC: (rec(_H, "uint"), f("answer", "null", errno=True)),
    Op.ADVISE: (rec(_H, "uint", "uint", "uint"), f("answer", "null", errno=True)),
    Op.ALLOCATE: (rec(_H, "uint", "uint"), f("answer", "null", errno=True)),
}
"""Each operation's argument list and answer, as the trace holds them (checked at load)."""
EVENTS: dict[int, EventDecl] = {
    op: EventDecl("fs", name, (f("call", "list", of=_CALLS[op][0]),), (_CALLS[op][1],))
    for op, name in OP_NAMES.items()
}
"""The event kind of each operation."""


written_digest = kept_bytes
"""What a trace keeps of bytes the guest wrote to a file (replay checks writes through it)."""

JOURNALLED = frozenset(
    {
        Op.WRITE,
        Op.APPEND,
        Op.SET_SIZE,
        Op.SET_TIMES,
        Op.SET_TIMES_AT,
        Op.MKDIR,
        Op.RMDIR,
        Op.UNLINK,
        Op.RENAME,
        Op.LINK,
        Op.SYMLINK,
    }
)
"""The operations that change the world outside the guest: each has an intent before it (an
open does when it creates, truncates or is exclusive: :data:`CHANGING_OPEN`)."""
CHANGING_OPEN = (1 << 1) | (1 << 2) | (1 << 3)  # create, exclusive, truncate (OpenFlags bits)


_EFFECT = {op: decl.name for op, decl in EVENTS.items()}
"""Each operation's effect name in its intents (its event kind)."""


def _journalled(op: int, args: list[Any]) -> bool:
    return op in JOURNALLED or (op == Op.OPEN and bool(args[2] & CHANGING_OPEN))


_REDO = object()
"""A policy's verdict: the effect did not happen (or is safe to do again): do it."""


class _Resolver:
    """The file-system policies for an effect left in flight (``wasm-rr resume``): each
    operation is *observed* (the bytes at a write's offset against its digest, an append
    against the size before it, which names exist) and, when it did not happen, re-dispatched;
    setting a size or times is re-dispatched. What an intent records to observe later
    (:meth:`context`) is computed before the effect, through the unrecorded live fs."""

    def __init__(self, live: Fs) -> None:
        self._live = live

    def _exists(self, dir: int, path: str) -> bool:
        try:
            self._live.stat_at(dir, path, False)
        except WorldError:
            return False
        return True

    def context(self, op: int, args: list[Any]) -> Any:
        if op == Op.APPEND:
            try:
                return self._live.stat(args[0]).size
            except WorldError:
                return None
        if op in (Op.MKDIR, Op.RMDIR, Op.UNLINK, Op.OPEN):
            return [self._exists(args[0], args[1])]
        if op == Op.RENAME:
            return [self._exists(args[0], args[1]), self._exists(args[2], args[3])]
        if op == Op.LINK:
            return [self._exists(args[3], args[4])]
        if op == Op.SYMLINK:
            return [self._exists(args[1], args[2])]
        return None

    def _bytes_match(self, h: int, digest: bytes, n: int, offset: int) -> bool:
        live = self._live
        try:
            seen = (
                live.read_back(h, n, offset)
                if isinstance(live, LiveFs)
                else live.read(h, n, offset)
            )
        except WorldError:
            return False
        return len(seen) == n and written_digest(seen) == digest

    def observe(self, op: int, args: list[Any], before: Any) -> tuple[Any, Any]:
        """``(answer, observed)``: the answer the effect gave if it happened, else
        :data:`_REDO`; and what was seen, for the trace."""
        if op == Op.WRITE:
            h, digest, n, offset = args
            match = self._bytes_match(h, digest, n, offset)
            return (n if match else _REDO), {"bytes_match": match}
        if op == Op.APPEND:
            h, digest, n = args
            size = self._live.stat(h).size
            seen = {"size_before": before, "size": size}
            if before is None or size == before:
                return _REDO, seen
            if size >= before + n and self._bytes_match(h, digest, n, before):
                return [n, before + n], seen
            raise ResumeError(
                f"cannot resume: the file appended to by event {args!r} changed after the "
                f"crash (it was {before} bytes before the append, it is {size} bytes and does "
                "not end with the appended bytes); restore it and resume again"
            )
        if op in (Op.MKDIR, Op.RMDIR, Op.UNLINK, Op.LINK, Op.SYMLINK):
            d, p = {Op.LINK: (3, 4), Op.SYMLINK: (1, 2)}.get(op, (0, 1))
            now = self._exists(args[d], args[p])
            appears = op in (Op.MKDIR, Op.LINK, Op.SYMLINK)
            happened = (not before[0] and now) if appears else (before[0] and not now)
            return (None if happened else _REDO), {"existed": before[0], "exists": now}
        if op == Op.RENAME:
            src, dst = self._exists(args[0], args[1]), self._exists(args[2], args[3])
            happened = before[0] and not src and dst
            return (None if happened else _REDO), {"existed": before, "exists": [src, dst]}
        if op == Op.OPEN:
            dir, path, bits = args
            now = self._exists(dir, path)
            if bits & (1 << 2) and not before[0] and now:  # exclusive: it created the file
                return OPEN_AGAIN, {"existed": False, "exists": True}
            return _REDO, {"existed": before[0], "exists": now}
        return _REDO, None  # set_size, set_times: the same again is the same


OPEN_AGAIN = object()
"""An exclusive create that happened: open the file it made (without creating it again)."""


class RecordingFs:
    """Asks the live file system; records each question with its answer or errno name."""

    def __init__(self, live: Fs, recorder: Recorder) -> None:
        self._live = live
        self._rec = recorder
        self._codes = {op: recorder.code(decl) for op, decl in EVENTS.items()}
        self._journal = Journal.of(recorder)
        self._resolver = _Resolver(live)

    def _call(
        self, op: int, args: list[Any], fn: Callable[[], Any], enc: Callable[[Any], Any]
    ) -> Any:
        journal = self._journal if _journalled(op, args) else None
        if journal is not None:
            fn = self._effect(journal, op, args, fn)
        try:
            result = fn()
        except WorldError as err:
            self._rec.event(self._codes[op], args, err.name)
            raise
        self._rec.event(self._codes[op], args, enc(result))
        if journal is not None:
            completed(journal)
        return result

    def _effect(
        self, journal: Journal, op: int, args: list[Any], fn: Callable[[], Any]
    ) -> Callable[[], Any]:
        """``fn`` with its intent recorded first; on resume, the policy for the effect that
        was in flight."""
        resolver = self._resolver
        pending = journal.intent(_EFFECT[op], args, lambda: resolver.context(op, args))
        if pending is None:

            def effect() -> Any:
                result = fn()
                effected(journal)
                return result

            return effect
        return lambda: self._resolve(journal, pending, op, args, fn)

    def _resolve(
        self,
        journal: Journal,
        pending: PendingIntentError,
        op: int,
        args: list[Any],
        fn: Callable[[], Any],
    ) -> Any:
        answer, observed = self._resolver.observe(op, args, pending.context)
        if answer is _REDO:
            journal.resolved(pending, REDISPATCH, observed)
            return fn()
        journal.resolved(pending, OBSERVE, observed)
        if answer is OPEN_AGAIN:
            dir, path, bits = args
            flags = OpenFlags(*(bool(bits >> i & 1) for i in range(len(_FLAG_NAMES))))
            return self._live.open_at(dir, path, _again(flags))
        if op == Op.APPEND:
            return tuple(answer)
        return answer

    def preopens(self) -> list[Preopen]:
        return self._live.preopens()

    def perms(self, h: int) -> Perms:
        return self._live.perms(h)

    def close(self) -> None:
        self._live.close()

    def open_at(self, dir: int, path: str, flags: OpenFlags) -> Opened:
        opened: Opened = self._call(
            Op.OPEN,
            [dir, path, flags.to_int()],
            lambda: self._live.open_at(dir, path, flags),
            lambda o: [o.handle, o.type],
        )
        return opened

    def close_handle(self, h: int) -> None:
        self._call(Op.CLOSE, [h], lambda: self._live.close_handle(h), _none)

    def read(self, h: int, n: int, offset: int) -> bytes:
        data: bytes = self._call(
            Op.READ, [h, n, offset], lambda: self._live.read(h, n, offset), self._rec.payload
        )
        return data

    def read_into(self, h: int, out: memoryview, offset: int) -> int:
        # The event read() records; the payload read back from ``out`` in pieces.
        count: int = self._call(
            Op.READ,
            [h, len(out), offset],
            lambda: self._live.read_into(h, out, offset),
            lambda k: self._rec.payload_stream(ViewSource(out[:k])),
        )
        return count

    def write(self, h: int, data: bytes, offset: int) -> int:
        n: int = self._call(
            Op.WRITE,
            [h, written_digest(data), len(data), offset],
            lambda: self._live.write(h, data, offset),
            _same,
        )
        return n

    def append(self, h: int, data: bytes) -> tuple[int, int]:
        n, end = self._call(
            Op.APPEND,
            [h, written_digest(data), len(data)],
            lambda: self._live.append(h, data),
            list,
        )
        return n, end

    def stat(self, h: int) -> Stat:
        st: Stat = self._call(Op.STAT, [h], lambda: self._live.stat(h), Stat.to_list)
        return st

    def stat_at(self, dir: int, path: str, follow: bool) -> Stat:
        st: Stat = self._call(
            Op.STAT_AT,
            [dir, path, int(follow)],
            lambda: self._live.stat_at(dir, path, follow),
            Stat.to_list,
        )
        return st

    def set_size(self, h: int, size: int) -> None:
        self._call(Op.SET_SIZE, [h, size], lambda: self._live.set_size(h, size), _none)

    def set_times(self, h: int, atim: int | None, mtim: int | None) -> None:
        self._call(
            Op.SET_TIMES, [h, atim, mtim], lambda: self._live.set_times(h, atim, mtim), _none
        )

    def set_times_at(
        self, dir: int, path: str, follow: bool, atim: int | None, mtim: int | None
    ) -> None:
        self._call(
            Op.SET_TIMES_AT,
            [dir, path, int(follow), atim, mtim],
            lambda: self._live.set_times_at(dir, path, follow, atim, mtim),
            _none,
        )

    def readdir(self, h: int) -> list[tuple[bytes, str, int]]:
        entries: list[tuple[bytes, str, int]] = self._call(
            Op.READDIR, [h], lambda: self._live.readdir(h), lambda es: [list(e) for e in es]
        )
        return entries

    def mkdir_at(self, dir: int, path: str) -> None:
        self._call(Op.MKDIR, [dir, path], lambda: self._live.mkdir_at(dir, path), _none)

    def rmdir_at(self, dir: int, path: str) -> None:
        self._call(Op.RMDIR, [dir, path], lambda: self._live.rmdir_at(dir, path), _none)

    def unlink_at(self, dir: int, path: str) -> None:
        self._call(Op.UNLINK, [dir, path], lambda: self._live.unlink_at(dir, path), _none)

    def rename_at(self, dir: int, path: str, new_dir: int, new_path: str) -> None:
        self._call(
            Op.RENAME,
            [dir, path, new_dir, new_path],
            lambda: self._live.rename_at(dir, path, new_dir, new_path),
            _none,
        )

    def link_at(self, dir: int, path: str, follow: bool, new_dir: int, new_path: str) -> None:
        self._call(
            Op.LINK,
            [dir, path, int(follow), new_dir, new_path],
            lambda: self._live.link_at(dir, path, follow, new_dir, new_path),
            _none,
        )

    def symlink_at(self, target: str, dir: int, path: str) -> None:
        self._call(
            Op.SYMLINK,
            [target, dir, path],
            lambda: self._live.symlink_at(target, dir, path),
            _none,
        )

    def readlink_at(self, dir: int, path: str) -> bytes:
        target: bytes = self._call(
            Op.READLINK, [dir, path], lambda: self._live.readlink_at(dir, path), _same
        )
        return target

    def sync(self, h: int, data_only: bool) -> None:
        self._call(Op.SYNC, [h, int(data_only)], lambda: self._live.sync(h, data_only), _none)

    def advise(self, h: int, offset: int, length: int, advice: int) -> None:
        self._call(
            Op.ADVISE,
            [h, offset, length, advice],
            lambda: self._live.advise(h, offset, length, advice),
            _none,
        )


def _none(_: Any) -> None:
    return None


def _same(value: Any) -> Any:
    return value


class ReplayingFs:
    """Answers every file-system question from the trace. Touches no file."""

    def __init__(self, replayer: Replayer, preopens: list[Preopen]) -> None:
        self._r = replayer
        self._preopens = preopens
        self._codes = {op: replayer.code(decl) for op, decl in EVENTS.items()}
        # The handles' permissions follow from the preopens and the recorded opens.
        self._perms = {p.handle: preopen_perms(p.readonly) for p in preopens}
        self._journal = JournalReplay.of(replayer)

    def _answer(self, op: int, args: list[Any]) -> Any:
        if self._journal is not None and _journalled(op, args):
            self._journal.consume(_EFFECT[op], args)
        (result,) = self._r.take(self._codes[op], args)
        if type(result) is str:  # an FS answer that is a text string is always an errno name
            raise WorldError(result)
        return result

    def preopens(self) -> list[Preopen]:
        return list(self._preopens)

    def perms(self, h: int) -> Perms:
        try:
            return self._perms[h]
        except KeyError:
            raise WorldError("EBADF") from None

    def close(self) -> None:
        pass  # nothing was opened

    def open_at(self, dir: int, path: str, flags: OpenFlags) -> Opened:
        h, kind = self._answer(Op.OPEN, [dir, path, flags.to_int()])
        self._perms[h] = self._perms.get(dir, READ_WRITE)
        return Opened(h, kind)

    def close_handle(self, h: int) -> None:
        self._answer(Op.CLOSE, [h])
        self._perms.pop(h, None)

    def read(self, h: int, n: int, offset: int) -> bytes:
        # A view of the mapped trace: the ABI copies it into guest memory once.
        data: bytes = self._r.resolve_view(self._answer(Op.READ, [h, n, offset]))  # type: ignore[assignment]
        return data

    def read_into(self, h: int, out: memoryview, offset: int) -> int:
        # From the mapped trace into guest memory, one copy.
        data = self._r.resolve_view(self._answer(Op.READ, [h, len(out), offset]))
        n = len(data)
        if n > len(out):
            raise CorruptTraceError(
                f"{self._r.trace.path}: event {self._r.seq} answers a read of {len(out)} bytes "
                f"with {n}; the trace is damaged"
            )
        out[:n] = data
        return n

    def _check_write(self, op: int, args: list[Any], data: bytes) -> Any:
        r = self._r
        seq = r.seq + 1
        try:
            n = self._answer(op, args)
        except ArgsMismatchError as exc:
            raise ArgsMismatchError(
                seq,
                exc.expected,
                f"wrote different bytes: {describe(EVENTS[op], (args,))}",
                "the file content the guest wrote changed",
            ) from None
        return n

    def write(self, h: int, data: bytes, offset: int) -> int:
        return int(self._check_write(Op.WRITE, [h, written_digest(data), len(data), offset], data))

    def append(self, h: int, data: bytes) -> tuple[int, int]:
        n, end = self._check_write(Op.APPEND, [h, written_digest(data), len(data)], data)
        return int(n), int(end)

    def stat(self, h: int) -> Stat:
        return Stat.from_list(self._answer(Op.STAT, [h]))

    def stat_at(self, dir: int, path: str, follow: bool) -> Stat:
        return Stat.from_list(self._answer(Op.STAT_AT, [dir, path, int(follow)]))

    def set_size(self, h: int, size: int) -> None:
        self._answer(Op.SET_SIZE, [h, size])

    def set_times(self, h: int, atim: int | None, mtim: int | None) -> None:
        self._answer(Op.SET_TIMES, [h, atim, mtim])

    def set_times_at(
        self, dir: int, path: str, follow: bool, atim: int | None, mtim: int | None
    ) -> None:
        self._answer(Op.SET_TIMES_AT, [dir, path, int(follow), atim, mtim])

    def readdir(self, h: int) -> list[tuple[bytes, str, int]]:
        return [(_name(n), k, i) for n, k, i in self._answer(Op.READDIR, [h])]

    def mkdir_at(self, dir: int, path: str) -> None:
        self._answer(Op.MKDIR, [dir, path])

    def rmdir_at(self, dir: int, path: str) -> None:
        self._answer(Op.RMDIR, [dir, path])

    def unlink_at(self, dir: int, path: str) -> None:
        self._answer(Op.UNLINK, [dir, path])

    def rename_at(self, dir: int, path: str, new_dir: int, new_path: str) -> None:
        self._answer(Op.RENAME, [dir, path, new_dir, new_path])

    def link_at(self, dir: int, path: str, follow: bool, new_dir: int, new_path: str) -> None:
        self._answer(Op.LINK, [dir, path, int(follow), new_dir, new_path])

    def symlink_at(self, target: str, dir: int, path: str) -> None:
        self._answer(Op.SYMLINK, [target, dir, path])

    def readlink_at(self, dir: int, path: str) -> bytes:
        return _name(self._answer(Op.READLINK, [dir, path]))

    def sync(self, h: int, data_only: bool) -> None:
        self._answer(Op.SYNC, [h, int(data_only)])

    def advise(self, h: int, offset: int, length: int, advice: int) -> None:
        self._answer(Op.ADVISE, [h, offset, length, advice])


def _name(value: bytes | str) -> bytes:
    """A recorded file name or link target: bytes, or text in traces written before names were
    recorded as bytes (format 1 among them)."""
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


class ChaoticFs(LiveFs):
    """The live file system, with reads that may answer fewer bytes than asked (at least one)
    and directory listings in another order (``--chaos``)."""

    def __init__(self, preopens: list[tuple[str, str, bool]], chaos: Chaos) -> None:
        super().__init__(preopens)
        self._chaos = chaos

    def read(self, h: int, n: int, offset: int) -> bytes:
        return super().read(h, self._chaos.short_read(n) if n > 1 else n, offset)

    def read_into(self, h: int, out: memoryview, offset: int) -> int:
        n = len(out)
        return super().read_into(h, out[: self._chaos.short_read(n) if n > 1 else n], offset)

    def readdir(self, h: int) -> list[tuple[bytes, str, int]]:
        return self._chaos.shuffle(super().readdir(h))


def _live(ctx: Context) -> LiveFs:
    preopens = [(d.host, d.guest, d.readonly) for d in ctx.config.dirs]
    if ctx.sources.chaos is not None:
        return ChaoticFs(preopens, ctx.sources.chaos)
    return LiveFs(preopens)


def _replaying(rep: Replayer, ctx: Context) -> ReplayingFs:
    preopens = [Preopen(i + 1, d.guest, d.host, d.readonly) for i, d in enumerate(ctx.config.dirs)]
    return ReplayingFs(rep, preopens)


FAMILY: Family[Fs] = Family(
    "fs",
    tuple(EVENTS.values()),
    live=_live,
    recording=lambda live, rec, ctx: RecordingFs(live, rec),
    replaying=_replaying,
    doc="files and directories below the preopened directories",
)
