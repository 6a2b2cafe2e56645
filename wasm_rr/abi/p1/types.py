"""Preview1 types (from the witx): errno values, file types, rights, flags, and the layouts of
the structs the functions read and write in guest memory."""

from __future__ import annotations

import enum
import struct

from ..memory import Record


class Errno(enum.IntEnum):
    SUCCESS = 0
    TOOBIG = 1
    ACCES = 2
    ADDRINUSE = 3
    ADDRNOTAVAIL = 4
    AFNOSUPPORT = 5
    AGAIN = 6
    ALREADY = 7
    BADF = 8
    BADMSG = 9
    BUSY = 10
    CANCELED = 11
    CHILD = 12
    CONNABORTED = 13
    CONNREFUSED = 14
    CONNRESET = 15
    DEADLK = 16
    DESTADDRREQ = 17
    DOM = 18
    DQUOT = 19
    EXIST = 20
    FAULT = 21
    FBIG = 22
    HOSTUNREACH = 23
    IDRM = 24
    ILSEQ = 25
    INPROGRESS = 26
    INTR = 27
    INVAL = 28
    IO = 29
    ISCONN = 30
    ISDIR = 31
    LOOP = 32
    MFILE = 33
    MLINK = 34
    MSGSIZE = 35
    MULTIHOP = 36
    NAMETOOLONG = 37
    NETDOWN = 38
    NETRESET = 39
    NETUNREACH = 40
    NFILE = 41
    NOBUFS = 42
    NODEV = 43
    NOENT = 44
    NOEXEC = 45
    NOLCK = 46
    NOLINK = 47
    NOMEM = 48
    NOMSG = 49
    NOPROTOOPT = 50
    NOSPC = 51
    NOSYS = 52
    NOTCONN = 53
    NOTDIR = 54
    NOTEMPTY = 55
    NOTRECOVERABLE = 56
    NOTSOCK = 57
    NOTSUP = 58
    NOTTY = 59
    NXIO = 60
    OVERFLOW = 61
    OWNERDEAD = 62
    PERM = 63
    PIPE = 64
    PROTO = 65
    PROTONOSUPPORT = 66
    PROTOTYPE = 67
    RANGE = 68
    ROFS = 69
    SPIPE = 70
    SRCH = 71
    STAT = 72
    TIMEDOUT = 73
    TXTBSY = 74
    XDEV = 75
    NOTCAPABLE = 76


ERRNO_BY_NAME: dict[str, int] = {f"E{e.name}": int(e) for e in Errno if e is not Errno.SUCCESS}
ERRNO_BY_NAME["E2BIG"] = Errno.TOOBIG
ERRNO_BY_NAME["EWOULDBLOCK"] = Errno.AGAIN
ERRNO_BY_NAME["EOPNOTSUPP"] = Errno.NOTSUP
"""POSIX errno names (as the world reports them) to preview1 errno values."""


def errno_of(name: str) -> int:
    """The preview1 errno for a POSIX errno name (EIO for names preview1 lacks)."""
    return ERRNO_BY_NAME.get(name, Errno.IO)


class Filetype(enum.IntEnum):
    UNKNOWN = 0
    BLOCK_DEVICE = 1
    CHARACTER_DEVICE = 2
    DIRECTORY = 3
    REGULAR_FILE = 4
    SOCKET_DGRAM = 5
    SOCKET_STREAM = 6
    SYMBOLIC_LINK = 7


class Rights(enum.IntFlag):
    FD_DATASYNC = 1 << 0
    FD_READ = 1 << 1
    FD_SEEK = 1 << 2
    FD_FDSTAT_SET_FLAGS = 1 << 3
    FD_SYNC = 1 << 4
    FD_TELL = 1 << 5
    FD_WRITE = 1 << 6
    FD_ADVISE = 1 << 7
    FD_ALLOCATE = 1 << 8
    PATH_CREATE_DIRECTORY = 1 << 9
    PATH_CREATE_FILE = 1 << 10
    PATH_LINK_SOURCE = 1 << 11
    PATH_LINK_TARGET = 1 << 12
    PATH_OPEN = 1 << 13
    FD_READDIR = 1 << 14
    PATH_READLINK = 1 << 15
    PATH_RENAME_SOURCE = 1 << 16
    PATH_RENAME_TARGET = 1 << 17
    PATH_FILESTAT_GET = 1 << 18
    PATH_FILESTAT_SET_SIZE = 1 << 19
    PATH_FILESTAT_SET_TIMES = 1 << 20
    FD_FILESTAT_GET = 1 << 21
    FD_FILESTAT_SET_SIZE = 1 << 22
    FD_FILESTAT_SET_TIMES = 1 << 23
    PATH_SYMLINK = 1 << 24
    PATH_REMOVE_DIRECTORY = 1 << 25
    PATH_UNLINK_FILE = 1 << 26
    POLL_FD_READWRITE = 1 << 27
    SOCK_SHUTDOWN = 1 << 28
    SOCK_ACCEPT = 1 << 29


class Fdflags(enum.IntFlag):
    APPEND = 1 << 0
    DSYNC = 1 << 1
    NONBLOCK = 1 << 2
    RSYNC = 1 << 3
    SYNC = 1 << 4


class Oflags(enum.IntFlag):
    CREAT = 1 << 0
    DIRECTORY = 1 << 1
    EXCL = 1 << 2
    TRUNC = 1 << 3


class Lookupflags(enum.IntFlag):
    SYMLINK_FOLLOW = 1 << 0


class Fstflags(enum.IntFlag):
    ATIM = 1 << 0
    ATIM_NOW = 1 << 1
    MTIM = 1 << 2
    MTIM_NOW = 1 << 3


class Whence(enum.IntEnum):
    SET = 0
    CUR = 1
    END = 2


class Eventtype(enum.IntEnum):
    CLOCK = 0
    FD_READ = 1
    FD_WRITE = 2


SUBCLOCKFLAGS_ABSTIME = 1
EVENTRWFLAGS_HANGUP = 1


# ---- record layouts ------------------------------------------------------------------------------
# Records the host writes or reads are :class:`Record`s: wasmtime handles them field by field.

FDSTAT = Record((0, "B"), (2, "H"), (8, "Q"), (16, "Q"))  # filetype, flags, rights, inheriting
FILESTAT = Record(  # dev, ino, filetype, nlink, size, atim, mtim, ctim
    (0, "Q"), (8, "Q"), (16, "B"), (24, "Q"), (32, "Q"), (40, "Q"), (48, "Q"), (56, "Q")
)
PRESTAT = Record((0, "B"), (4, "I"))  # tag (0: dir), name length
IOVEC = Record((0, "I"), (4, "I"))  # buf, buf_len
SUBSCRIPTION = Record((0, "Q"), (8, "B"))  # userdata, tag; then the tag's fields
SUBSCRIPTION_CLOCK_ID = Record((16, "I"))  # a clock's id
SUBSCRIPTION_CLOCK = Record((24, "Q"), (32, "Q"), (40, "H"))  # its timeout, precision, flags
SUBSCRIPTION_FD = Record((16, "I"))  # an fd_read or fd_write's file descriptor
SUBSCRIPTION_SIZE = 48
EVENT = Record((0, "Q"), (8, "H"), (10, "B"), (16, "Q"), (24, "H"))  # userdata .. flags
EVENT_SIZE = 32
DIRENT = struct.Struct("<QQIB3x")  # d_next, d_ino, d_namlen, d_type (written as bytes)
U64 = struct.Struct("<Q")

__all__ = [
    "DIRENT",
    "ERRNO_BY_NAME",
    "EVENT",
    "EVENTRWFLAGS_HANGUP",
    "EVENT_SIZE",
    "FDSTAT",
    "FILESTAT",
    "IOVEC",
    "PRESTAT",
    "SUBCLOCKFLAGS_ABSTIME",
    "SUBSCRIPTION",
    "SUBSCRIPTION_CLOCK",
    "SUBSCRIPTION_CLOCK_ID",
    "SUBSCRIPTION_FD",
    "SUBSCRIPTION_SIZE",
    "U64",
    "Errno",
    "Eventtype",
    "Fdflags",
    "Filetype",
    "Fstflags",
    "Lookupflags",
    "Oflags",
    "Rights",
    "Whence",
    "errno_of",
]
