"""The directory tree that the ``fsprobe`` guest expects as its preopen.

``build_fixture(root)`` fills an existing, empty directory ``root`` with::

    a.txt           regular file, "hello\\n"
    d/              directory
    d/b.txt         regular file, "bee\\n"
    up     -> ..          symlink leaving the preopen
    abs    -> /etc        symlink with an absolute target
    loop1  -> loop2       symlink loop
    loop2  -> loop1
    ok     -> a.txt       symlink to a file
    dlink  -> d           symlink to a directory
    dangle -> nothere     dangling symlink

``fsprobe`` leaves the tree as it found it (names, types, contents, link
targets and the atime/mtime of ``.``, ``a.txt``, ``d`` and ``d/b.txt``).
"""

from __future__ import annotations

from pathlib import Path

FILES: dict[str, bytes] = {
    "a.txt": b"hello\n",
    "d/b.txt": b"bee\n",
}

# name -> target; created in this order.
SYMLINKS: dict[str, str] = {
    "up": "..",
    "abs": "/etc",
    "loop1": "loop2",
    "loop2": "loop1",
    "ok": "a.txt",
    "dlink": "d",
    "dangle": "nothere",
}


def build_fixture(root: Path) -> None:
    """Create the fsprobe fixture inside ``root``, which must exist and be empty."""
    if any(root.iterdir()):
        raise ValueError(f"fixture root {root} is not empty")
    (root / "d").mkdir()
    for name, data in FILES.items():
        (root / name).write_bytes(data)
    for name, target in SYMLINKS.items():
        (root / name).symlink_to(target)
