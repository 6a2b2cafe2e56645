"""The sandbox: no guest path reaches outside its preopened directory, whatever the trick."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from wasm_rr.world import WorldError
from wasm_rr.world import fs as wfs
from wasm_rr.world.fs import LiveFs, OpenFlags

from ..fsfixture import build_fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live(tmp_path: Path) -> LiveFs:
    (tmp_path / "outside.txt").write_text("secret\n")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    build_fixture(sandbox)
    (sandbox / "to-outside").symlink_to("../outside.txt")
    (sandbox / "d" / "deep").symlink_to("../../outside.txt")
    (sandbox / "chain1").symlink_to("chain2")
    (sandbox / "chain2").symlink_to("dlink/../up")
    fs = LiveFs([(str(sandbox), "/sandbox", False)])
    yield fs
    fs.close()


def errno_of(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except WorldError as err:
        return err.name
    return "ok"


ESCAPES = {
    "../outside.txt": "EPERM",  # dot-dot above the preopen
    "d/../../outside.txt": "EPERM",  # dot-dot through a subdirectory
    "/etc/passwd": "EPERM",  # absolute path
    "to-outside": "EPERM",  # relative symlink leading out
    "d/deep": "EPERM",  # a symlink two levels down leading out
    "abs/passwd": "EPERM",  # absolute symlink to a directory
    "up/outside.txt": "EPERM",  # symlink to .. then a name
    "chain1/outside.txt": "EPERM",  # chained symlinks: chain1 -> chain2 -> dlink/../up -> ..
    "loop1": "ELOOP",  # a symlink loop
}


@pytest.mark.parametrize("path", sorted(ESCAPES))
def test_escapes_are_denied(live: LiveFs, path: str) -> None:
    sandbox = live.preopens()[0].handle
    expected = ESCAPES[path]
    assert errno_of(lambda: live.open_at(sandbox, path, OpenFlags())) == expected
    assert errno_of(lambda: live.stat_at(sandbox, path, True)) == expected
    if path != "loop1":
        flags = OpenFlags(create=True, write=True, truncate=True)
        assert errno_of(lambda: live.open_at(sandbox, path, flags)) == expected
        outside = Path(live.preopens()[0].host_path).parent / "outside.txt"
        assert outside.read_text() == "secret\n"  # not truncated through the sandbox


def test_write_ops_cannot_leave(live: LiveFs, tmp_path: Path) -> None:
    sb = live.preopens()[0].handle
    assert errno_of(lambda: live.mkdir_at(sb, "../made")) == "EPERM"
    assert errno_of(lambda: live.unlink_at(sb, "../outside.txt")) == "EPERM"
    assert errno_of(lambda: live.rename_at(sb, "a.txt", sb, "../stolen")) == "EPERM"
    assert errno_of(lambda: live.link_at(sb, "to-outside", False, sb, "../l")) == "EPERM"
    assert errno_of(lambda: live.symlink_at("/etc/passwd", sb, "evil")) == "EPERM"
    assert errno_of(lambda: live.readlink_at(sb, "abs")) == "EPERM"
    assert (tmp_path / "outside.txt").read_text() == "secret\n"
    assert not (tmp_path / "made").exists() and not (tmp_path / "stolen").exists()


def test_symlink_swapped_in_after_the_check_is_not_followed(
    live: LiveFs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the resolver's look at ``a.txt`` and the open, ``a.txt`` becomes a symlink to a
    file outside: the open uses O_NOFOLLOW on the directory fd, so it fails instead."""
    sandbox = Path(live.preopens()[0].host_path)
    real_open = os.open
    swapped = []

    def racing_open(path: str, flags: int, *args: object, **kw: object) -> int:
        if path == "a.txt" and not flags & getattr(os, "O_PATH", 0) and not swapped:
            (sandbox / "a.txt").unlink()
            (sandbox / "a.txt").symlink_to(tmp_path / "outside.txt")
            swapped.append(True)
        return real_open(path, flags, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(wfs.os, "open", racing_open)
    assert errno_of(lambda: live.open_at(live.preopens()[0].handle, "a.txt", OpenFlags())) == (
        "ELOOP"
    )
    assert swapped


def test_read_only_preopen(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    fs = LiveFs([(str(tmp_path), "/ro", True)])
    try:
        ro = fs.preopens()[0].handle
        assert fs.read(fs.open_at(ro, "f.txt", OpenFlags()).handle, 10, 0) == b"x"
        assert errno_of(lambda: fs.open_at(ro, "f.txt", OpenFlags(write=True))) == "EPERM"
        assert errno_of(lambda: fs.open_at(ro, "n", OpenFlags(create=True))) == "EPERM"
        assert errno_of(lambda: fs.mkdir_at(ro, "d")) == "EPERM"
        assert errno_of(lambda: fs.unlink_at(ro, "f.txt")) == "EPERM"
        assert errno_of(lambda: fs.rename_at(ro, "f.txt", ro, "g")) == "EPERM"
        assert errno_of(lambda: fs.symlink_at("f.txt", ro, "l")) == "EPERM"
        assert sorted(os.listdir(tmp_path)) == ["f.txt"]
    finally:
        fs.close()


def test_exactly_one_place_opens_an_ambient_host_path() -> None:
    """Every path-taking OS call in the fs family is relative to a directory fd, but one."""
    source = (ROOT / "wasm_rr" / "world" / "fs.py").read_text()
    path_calls = {
        "open",
        "stat",
        "mkdir",
        "rmdir",
        "unlink",
        "rename",
        "link",
        "symlink",
        "readlink",
        "utime",
        "scandir",
        "listdir",
        "lstat",
        "chmod",
        "access",
    }
    ambient = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "os"
            and node.func.attr in path_calls
        ):
            keywords = {k.arg for k in node.keywords}
            first = node.args[0] if node.args else None
            on_fd = isinstance(first, ast.Attribute) and first.attr == "fd"
            on_fd = on_fd or (isinstance(first, ast.Name) and first.id in {"fd_or_path"})
            # LiveFs.read_back opens a descriptor it holds again, read-only: the same file.
            on_fd = on_fd or (
                isinstance(first, ast.JoinedStr)
                and isinstance(first.values[0], ast.Constant)
                and first.values[0].value == "/proc/self/fd/"
            )
            if not ({"dir_fd", "src_dir_fd"} & keywords) and not on_fd:
                ambient.append(f"line {node.lineno}: os.{node.func.attr}")
    assert len(ambient) == 1, ambient  # LiveFs.__init__: opening the preopened directories
    assert not any(isinstance(n, ast.Name) and n.id == "open" for n in ast.walk(ast.parse(source)))
