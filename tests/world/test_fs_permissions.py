"""Read-only preopens: every change is refused by the world, for every handle below them.

The permissions live on the world's handles (wasmtime's DirPerms/FilePerms): a preopen's, and
everything opened below it inherits them. Each mutating operation is tried against a read-only
preopen directly, through hard links and through symlinks into and out of it; the host files
must not change.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from wasm_rr.world import WorldError
from wasm_rr.world import fs as wfs
from wasm_rr.world.fs import LiveFs, OpenFlags


def errno_of(call: Callable[[], object]) -> str:
    try:
        call()
    except WorldError as err:
        return err.name
    return "ok"


def snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        key = str(p.relative_to(root))
        if p.is_symlink():
            out[key] = ("link", os.readlink(p), st.st_mtime_ns)
        elif p.is_dir():
            out[key] = ("dir", st.st_mtime_ns)
        else:  # (atimes move when the snapshot reads)
            out[key] = ("file", p.read_bytes(), st.st_mtime_ns, st.st_nlink)
    return out


@pytest.fixture
def two(tmp_path: Path) -> Iterator[tuple[LiveFs, int, int, Path]]:
    """A writable preopen (handle rw) and a read-only one (handle ro)."""
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f.txt").write_text("ro\n")
    (ro / "sub").mkdir()
    (ro / "sub" / "g.txt").write_text("g\n")
    (ro / "inner").symlink_to("f.txt")
    (rw / "w.txt").write_text("rw\n")
    (rw / "into-ro").symlink_to("../ro/f.txt")  # leaves its preopen: never followed
    os.utime(ro / "f.txt", ns=(10**18, 10**18))
    fs = LiveFs([(str(rw), "/rw", False), (str(ro), "/ro", True)])
    handles = [p.handle for p in fs.preopens()]
    yield fs, handles[0], handles[1], ro
    fs.close()


def mutations(fs: LiveFs, rw: int, ro: int) -> dict[str, Callable[[], object]]:
    """Every changing operation of the protocol, aimed at the read-only preopen."""
    f = fs.open_at(ro, "f.txt", OpenFlags()).handle
    sub = fs.open_at(ro, "sub", OpenFlags(directory=True)).handle
    return {
        "open write": lambda: fs.open_at(ro, "f.txt", OpenFlags(write=True)),
        "open create": lambda: fs.open_at(ro, "new", OpenFlags(create=True)),
        "open truncate": lambda: fs.open_at(ro, "f.txt", OpenFlags(truncate=True)),
        "open write in subdir": lambda: fs.open_at(sub, "g.txt", OpenFlags(write=True)),
        "open write through inner symlink": lambda: fs.open_at(ro, "inner", OpenFlags(write=True)),
        "write": lambda: fs.write(f, b"x", 0),
        "append": lambda: fs.append(f, b"x"),
        "set_size": lambda: fs.set_size(f, 0),
        "set_times file": lambda: fs.set_times(f, 0, 0),
        "set_times preopen": lambda: fs.set_times(ro, 0, 0),
        "set_times subdir": lambda: fs.set_times(sub, wfs.NOW, wfs.NOW),
        "set_times_at": lambda: fs.set_times_at(ro, "f.txt", True, 0, 0),
        "mkdir": lambda: fs.mkdir_at(ro, "d"),
        "mkdir in subdir": lambda: fs.mkdir_at(sub, "d"),
        "rmdir": lambda: fs.rmdir_at(ro, "sub"),
        "unlink": lambda: fs.unlink_at(ro, "f.txt"),
        "unlink in subdir": lambda: fs.unlink_at(sub, "g.txt"),
        "rename within": lambda: fs.rename_at(ro, "f.txt", ro, "g"),
        "rename out": lambda: fs.rename_at(ro, "f.txt", rw, "stolen"),
        "rename in": lambda: fs.rename_at(rw, "w.txt", ro, "planted"),
        "link within": lambda: fs.link_at(ro, "f.txt", False, ro, "l"),
        "link out": lambda: fs.link_at(ro, "f.txt", False, rw, "l"),
        "link out of subdir": lambda: fs.link_at(sub, "g.txt", False, rw, "l"),
        "link in": lambda: fs.link_at(rw, "w.txt", False, ro, "l"),
        "symlink": lambda: fs.symlink_at("f.txt", ro, "l"),
    }


def test_every_mutation_of_a_read_only_preopen_is_refused(
    two: tuple[LiveFs, int, int, Path],
) -> None:
    fs, rw, ro, ro_path = two
    before = snapshot(ro_path)
    rw_before = snapshot(ro_path.parent / "rw")
    answers = {name: errno_of(call) for name, call in mutations(fs, rw, ro).items()}
    assert answers == dict.fromkeys(answers, "EPERM")
    assert snapshot(ro_path) == before
    assert snapshot(ro_path.parent / "rw") == rw_before


def test_a_hard_link_out_of_a_read_only_preopen_cannot_be_written(
    two: tuple[LiveFs, int, int, Path],
) -> None:
    """The bug: link ro/f.txt to rw/l, then write through rw/l."""
    fs, rw, ro, ro_path = two
    assert errno_of(lambda: fs.link_at(ro, "f.txt", False, rw, "l")) == "EPERM"
    assert errno_of(lambda: fs.open_at(rw, "l", OpenFlags(write=True))) == "ENOENT"
    assert (ro_path / "f.txt").read_text() == "ro\n"
    assert not (ro_path.parent / "rw" / "l").exists()


def test_symlinks_between_the_preopens_lead_nowhere_writable(
    two: tuple[LiveFs, int, int, Path],
) -> None:
    fs, rw, ro, ro_path = two
    before = snapshot(ro_path)
    # A symlink in the writable preopen pointing into the read-only one is never followed.
    for flags in (OpenFlags(write=True), OpenFlags(truncate=True), OpenFlags()):
        assert errno_of(lambda f=flags: fs.open_at(rw, "into-ro", f)) == "EPERM"  # type: ignore[misc]
    assert errno_of(lambda: fs.set_times_at(rw, "into-ro", True, 0, 0)) == "EPERM"
    # One may be made (as wasmtime allows), but it leads nowhere either.
    fs.symlink_at("../ro/f.txt", rw, "made")
    assert errno_of(lambda: fs.open_at(rw, "made", OpenFlags(write=True))) == "EPERM"
    assert errno_of(lambda: fs.link_at(rw, "made", False, rw, "hard")) == "ok"  # the link itself
    assert errno_of(lambda: fs.open_at(rw, "hard", OpenFlags(write=True))) == "EPERM"
    # A symlink inside the read-only preopen opens its target read-only, never for writing.
    h = fs.open_at(ro, "inner", OpenFlags()).handle
    assert errno_of(lambda: fs.write(h, b"x", 0)) == "EPERM"
    assert snapshot(ro_path) == before


def test_reading_a_read_only_preopen_still_works(two: tuple[LiveFs, int, int, Path]) -> None:
    fs, _, ro, _ = two
    h = fs.open_at(ro, "f.txt", OpenFlags(append=True)).handle  # append alone opens read-only
    assert fs.read(h, 10, 0) == b"ro\n"
    assert fs.stat_at(ro, "sub/g.txt", True).size == 2
    assert sorted(n for n, _, _ in fs.readdir(ro)) == [b"..", b"f.txt", b"inner", b"sub"]
    assert fs.readlink_at(ro, "inner") == b"f.txt"


def test_handles_inherit_the_permissions_of_their_preopen(
    two: tuple[LiveFs, int, int, Path],
) -> None:
    fs, rw, ro, _ = two
    assert fs.perms(ro) == wfs.READ_ONLY and fs.perms(rw) == wfs.READ_WRITE
    sub = fs.open_at(ro, "sub", OpenFlags(directory=True)).handle
    f = fs.open_at(sub, "g.txt", OpenFlags()).handle
    w = fs.open_at(rw, "w.txt", OpenFlags()).handle
    assert fs.perms(sub) == fs.perms(f) == wfs.READ_ONLY
    assert fs.perms(w) == wfs.READ_WRITE
    # A read-only opened file of a writable preopen may still have its times set (wasmtime).
    assert errno_of(lambda: fs.set_times(w, 0, 0)) == "ok"


def test_appending_alone_opens_for_reading_only(two: tuple[LiveFs, int, int, Path]) -> None:
    """As wasmtime: O_APPEND is no write access. The OS descriptor is read-only (the bug: it
    was opened read-write, so a guest could truncate a file it opened only to append to)."""
    fs, rw, ro, ro_path = two
    h = fs.open_at(rw, "w.txt", OpenFlags(append=True)).handle
    assert errno_of(lambda: fs.set_size(h, 0)) == "EINVAL"  # ftruncate of an O_RDONLY fd
    assert errno_of(lambda: fs.write(h, b"x", 0)) == "EBADF"
    assert errno_of(lambda: fs.append(h, b"x")) == "EBADF"
    assert (ro_path.parent / "rw" / "w.txt").read_text() == "rw\n"
    # A directory opens with it too (read-write, it would be EISDIR).
    for dir in (rw, ro):
        assert fs.open_at(dir, ".", OpenFlags(append=True)).type == wfs.DIRECTORY


def test_creating_or_truncating_opens_for_writing(two: tuple[LiveFs, int, int, Path]) -> None:
    """As wasmtime: O_CREAT and O_TRUNC open for writing even without write access asked."""
    fs, rw, _, ro_path = two
    created = fs.open_at(rw, "new", OpenFlags(create=True)).handle
    assert fs.write(created, b"made", 0) == 4
    truncated = fs.open_at(rw, "w.txt", OpenFlags(truncate=True)).handle
    assert fs.write(truncated, b"cut", 0) == 3
    assert fs.read(truncated, 10, 0) == b"cut"
    rw_path = ro_path.parent / "rw"
    assert (rw_path / "new").read_bytes() == b"made"
    assert (rw_path / "w.txt").read_bytes() == b"cut"
    assert OpenFlags(create=True).writes and OpenFlags(truncate=True).writes
    assert not OpenFlags(append=True).writes
