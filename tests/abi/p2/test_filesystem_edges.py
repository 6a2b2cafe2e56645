"""``wasi:filesystem`` against a read-only preopen, file names that are not UTF-8, and
``open-at`` flags wasmtime does not support: the component host's functions called directly
(a stub host collects them), over a live world file system.

The expected answers are wasmtime's (``crates/wasi/src/p2/host/filesystem.rs``): every change
below a read-only preopen is ``not-permitted``, whichever descriptor it goes through.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from wasm_rr.abi.p2 import filesystem
from wasm_rr.abi.p2.host import Fail
from wasm_rr.abi.p2.wit import ERRNO_TO_CODE
from wasm_rr.world import WorldError
from wasm_rr.world.fs import LiveFs


class StubHost:
    def __init__(self) -> None:
        self.funcs: dict[str, Callable[..., Any]] = {}

    def resource(self, *args: Any) -> None:
        pass

    def func(self, iface: str, name: str, params: Any, result: Any, fn: Any) -> None:
        self.funcs[name.removeprefix("[method]descriptor.")] = fn


def code(call: Callable[[], object]) -> str:
    """The error code a call answers (as the host turns world errors into codes), or ok."""
    try:
        call()
    except Fail as fail:
        return str(fail.value)
    except WorldError as err:
        return ERRNO_TO_CODE.get(err.name, "io")
    return "ok"


NOW = ("now", None)
KEEP = ("no-change", None)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[tuple[dict[str, Callable[..., Any]], Any, Any, Path]]:
    rw, ro = tmp_path / "rw", tmp_path / "ro"
    rw.mkdir()
    ro.mkdir()
    (ro / "f.txt").write_text("ro\n")
    (ro / "sub").mkdir()
    (rw / "w.txt").write_text("rw\n")
    (rw / b"bad-\xff-name".decode("utf-8", "surrogateescape")).write_text("x")
    os.symlink(b"bad-\xfe", os.fsencode(rw / "badlink"))
    live = LiveFs([(str(rw), "/rw", False), (str(ro), "/ro", True)])
    stub = StubHost()
    filesystem.define(stub, SimpleNamespace(fs=live))  # type: ignore[arg-type]
    (rw_d, _), (ro_d, _) = stub.funcs["get-directories"]()
    yield stub.funcs, rw_d, ro_d, ro
    live.close()


def test_every_change_below_a_read_only_preopen_is_not_permitted(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    f, rw, ro, ro_path = host
    file = f["open-at"](ro, frozenset(), "f.txt", frozenset(), frozenset({"read"}))
    sub = f["open-at"](ro, frozenset(), "sub", frozenset({"directory"}), frozenset({"read"}))
    before = sorted(os.listdir(ro_path)), (ro_path / "f.txt").stat().st_mtime_ns
    calls = {
        "open-at write": lambda: f["open-at"](ro, frozenset(), "f.txt", frozenset(), {"write"}),
        "open-at create": lambda: f["open-at"](ro, frozenset(), "n", {"create"}, frozenset()),
        "open-at truncate": lambda: f["open-at"](ro, frozenset(), "f.txt", {"truncate"}, set()),
        "write": lambda: f["write"](file, b"x", 0),
        "set-size": lambda: f["set-size"](file, 0),
        "set-times file": lambda: f["set-times"](file, NOW, NOW),
        "set-times preopen": lambda: f["set-times"](ro, NOW, KEEP),
        "set-times subdir": lambda: f["set-times"](sub, NOW, KEEP),
        "set-times-at": lambda: f["set-times-at"](ro, frozenset(), "f.txt", NOW, NOW),
        "create-directory-at": lambda: f["create-directory-at"](ro, "d"),
        "create-directory-at subdir": lambda: f["create-directory-at"](sub, "d"),
        "remove-directory-at": lambda: f["remove-directory-at"](ro, "sub"),
        "unlink-file-at": lambda: f["unlink-file-at"](ro, "f.txt"),
        "rename-at within": lambda: f["rename-at"](ro, "f.txt", ro, "g"),
        "rename-at out": lambda: f["rename-at"](ro, "f.txt", rw, "g"),
        "rename-at in": lambda: f["rename-at"](rw, "w.txt", ro, "g"),
        "link-at within": lambda: f["link-at"](ro, frozenset(), "f.txt", ro, "l"),
        "link-at out": lambda: f["link-at"](ro, frozenset(), "f.txt", rw, "l"),
        "link-at in": lambda: f["link-at"](rw, frozenset(), "w.txt", ro, "l"),
        "symlink-at": lambda: f["symlink-at"](ro, "f.txt", "l"),
    }
    answers = {name: code(call) for name, call in calls.items()}
    assert answers == dict.fromkeys(answers, "not-permitted")
    assert (sorted(os.listdir(ro_path)), (ro_path / "f.txt").stat().st_mtime_ns) == before
    assert (ro_path / "f.txt").read_text() == "ro\n"
    assert not (ro_path.parent / "rw" / "l").exists()
    # Reading still works, and the flags say what the descriptors allow.
    assert f["read"](file, 10, 0) == (b"ro\n", False)
    assert f["get-flags"](ro) == frozenset({"read"})
    assert f["get-flags"](rw) == frozenset({"read", "mutate-directory"})


def test_a_writable_preopen_still_changes(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    f, rw, _, ro_path = host
    w = f["open-at"](rw, frozenset(), "w.txt", frozenset(), frozenset({"read"}))
    assert code(lambda: f["set-times"](w, NOW, NOW)) == "ok"  # open mode does not matter
    assert code(lambda: f["write"](w, b"x", 0)) == "bad-descriptor"  # it does for writing
    assert code(lambda: f["set-size"](w, 0)) == "invalid"  # ftruncate of an O_RDONLY fd
    assert code(lambda: f["link-at"](rw, frozenset(), "w.txt", rw, "l")) == "ok"
    assert (ro_path.parent / "rw" / "l").read_text() == "rw\n"


@pytest.mark.parametrize(
    "flag", ["file-integrity-sync", "data-integrity-sync", "requested-write-sync"]
)
def test_open_at_sync_flags_are_unsupported(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path], flag: str
) -> None:
    f, rw, _, _ = host
    assert code(lambda: f["open-at"](rw, frozenset(), "w.txt", frozenset(), {"read", flag})) == (
        "unsupported"
    )


def test_names_that_are_not_utf8(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    """wasmtime answers illegal-byte-sequence for the entry (and the link target) it cannot
    pass as a string, and lists the others."""
    f, rw, _, _ = host
    stream = f["read-directory"](rw)
    answers = []
    while True:
        try:
            entry = stream.next()
        except Fail as fail:
            answers.append(fail.value)
            continue
        if entry is None:
            break
        answers.append(entry[1])
    assert sorted(answers) == ["badlink", "illegal-byte-sequence", "w.txt"]
    assert code(lambda: f["readlink-at"](rw, "badlink")) == "illegal-byte-sequence"


@pytest.mark.parametrize(
    ("seconds", "nanos", "answer"),
    [
        ((1 << 63) - 1, 999_999_999, "ok"),  # the last time a 64-bit time_t holds
        ((1 << 63) - 1, 10**9, "overflow"),  # the nanoseconds carry past it
        (1 << 63, 0, "overflow"),
        ((1 << 64) - 1, 0, "overflow"),
        (0, (1 << 32) - 1, "ok"),  # 4.29 s: nanoseconds past a second carry into seconds
    ],
)
def test_set_times_past_what_the_host_holds_is_overflow(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
    seconds: int,
    nanos: int,
    answer: str,
) -> None:
    """As wasmtime: the epoch plus ``Duration::new(seconds, nanoseconds)`` must be a
    ``SystemTime``; past a 64-bit time_t the answer is ``overflow`` (not an internal error)."""
    f, rw, _, _ = host
    when = ("timestamp", (seconds, nanos))
    w = f["open-at"](rw, frozenset(), "w.txt", frozenset(), frozenset({"read"}))
    assert code(lambda: f["set-times"](w, when, KEEP)) == answer
    assert code(lambda: f["set-times-at"](rw, frozenset(), "w.txt", KEEP, when)) == answer


def test_output_streams_of_read_only_and_read_opened_files(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    """As wasmtime: no output stream for a file below a read-only preopen (not-permitted,
    whatever it was opened for: the adapter's EPERM, where it said EBADF), and none for a
    file of a writable one opened for reading only (bad-descriptor)."""
    f, rw, ro, ro_path = host
    ro_file = f["open-at"](ro, frozenset(), "f.txt", frozenset(), frozenset({"read"}))
    rw_file = f["open-at"](rw, frozenset(), "w.txt", frozenset(), frozenset({"read"}))
    assert code(lambda: f["write-via-stream"](ro_file, 0)) == "not-permitted"
    assert code(lambda: f["append-via-stream"](ro_file)) == "not-permitted"
    assert code(lambda: f["write-via-stream"](rw_file, 0)) == "bad-descriptor"
    assert code(lambda: f["append-via-stream"](rw_file)) == "bad-descriptor"
    assert (ro_path / "f.txt").read_text() == "ro\n"


def test_open_modes_as_wasmtime_reports_them(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    """Opened for reading when not asked to write, for writing when creating or truncating."""
    f, rw, ro, _ = host
    nothing = f["open-at"](ro, frozenset(), "f.txt", frozenset(), frozenset())
    assert f["get-flags"](nothing) == frozenset({"read"})
    assert f["read"](nothing, 10, 0) == (b"ro\n", False)
    created = f["open-at"](rw, frozenset(), "new", frozenset({"create"}), frozenset({"read"}))
    assert f["get-flags"](created) == frozenset({"read", "write"})
    assert f["write"](created, b"new", 0) == 3
    cut = f["open-at"](rw, frozenset(), "w.txt", frozenset({"truncate"}), frozenset())
    assert f["get-flags"](cut) == frozenset({"read", "write"})
    stream = f["write-via-stream"](cut, 0)
    stream.write(b"cut")
    assert f["read"](cut, 10, 0) == (b"cut", False)


def test_a_file_output_stream_closes_after_a_failed_write(
    host: tuple[dict[str, Callable[..., Any]], Any, Any, Path],
) -> None:
    """As wasmtime's: the write fails with the OS's error, every later one is closed."""
    f, rw, _, _ = host
    w = f["open-at"](rw, frozenset(), "w.txt", frozenset(), frozenset({"read", "write"}))
    stream = f["write-via-stream"](w, 1 << 63)  # past the largest offset: EINVAL
    with pytest.raises(WorldError):
        stream.write(b"x")
    with pytest.raises(Fail) as closed:
        stream.write(b"x")
    assert closed.value.value == ("closed", None)
    with pytest.raises(Fail):
        stream.check_write()
