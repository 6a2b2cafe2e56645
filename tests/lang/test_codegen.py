"""The code generator: module shape, determinism, and that only the sites section depends on
where things are in the source."""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
import wasmtime

from wasm_rr.lang import (
    SECTION_NAME,
    Site,
    compile_file,
    compile_source,
    read_sites_section,
    runtime,
    strip_sites_section,
)
from wasm_rr.lang.lexer import tokenize
from wasm_rr.lang.runtime import HTTP_MODULE, PROCESS_MODULE, check_messages
from wasm_rr.lang.sites import _sections

from .helpers import ENGINE, EXAMPLES

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.tape"))
IDS = [p.stem for p in EXAMPLE_FILES]


def custom_sections(wasm: bytes) -> list[str]:
    return [name for sid, _s, _e, name, _p in _sections(wasm) if sid == 0 and name is not None]


def test_there_are_examples() -> None:
    assert {"hello", "greet", "dice", "counter", "entropy", "flaky", "wordcount"} <= set(IDS)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_examples_compile_deterministically(path: Path) -> None:
    a, b = compile_file(path), compile_file(path)
    assert a.wasm == b.wasm and a.sites == b.sites


def test_output_does_not_depend_on_the_hash_seed() -> None:
    code = (
        "import hashlib, sys\n"
        "from wasm_rr.lang import compile_file\n"
        "for p in sys.argv[1:]:\n"
        "    print(hashlib.sha256(compile_file(p).wasm).hexdigest())\n"
    )
    args = [sys.executable, "-c", code, *map(str, EXAMPLE_FILES)]
    outs = {
        subprocess.run(
            args,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": s},
        ).stdout
        for s in ("1", "2")
    }
    assert len(outs) == 1
    here = "".join(hashlib.sha256(compile_file(p).wasm).hexdigest() + "\n" for p in EXAMPLE_FILES)
    assert outs == {here}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_module_is_a_wasip1_command(path: Path) -> None:
    compiled = compile_file(path)
    module = wasmtime.Module(ENGINE, compiled.wasm)
    # A program that uses proc.run also imports wasm-rr's process family and exports the
    # cabi_realloc its host calls back; no other program does.
    text = path.read_text()
    procs = "proc.run(" in text or "http.get(" in text or "http.post(" in text
    process = {PROCESS_MODULE} if "proc.run(" in text else set()
    http = {HTTP_MODULE} if "http.get(" in text or "http.post(" in text else set()
    assert {imp.module for imp in module.imports} == {"wasi_snapshot_preview1", *process, *http}
    exports = {exp.name: type(exp.type).__name__ for exp in module.exports}
    realloc = {"cabi_realloc": "FuncType"} if procs else {}
    assert exports == {"memory": "MemoryType", "_start": "FuncType", **realloc}
    start = next(e for e in module.exports if e.name == "_start").type
    assert isinstance(start, wasmtime.FuncType)
    assert (start.params, start.results) == ([], [])
    # The sites section is the last section of the module; the name section is kept.
    assert custom_sections(compiled.wasm)[-1] == SECTION_NAME
    assert "name" in custom_sections(compiled.wasm)
    last = list(_sections(compiled.wasm))[-1]
    assert last[3] == SECTION_NAME and last[2] == len(compiled.wasm)


def test_sites_section_round_trips() -> None:
    compiled = compile_file(EXAMPLES / "hello.tape")
    table = read_sites_section(compiled.wasm)
    assert table is not None
    assert (table.version, table.file, table.site_addr) == (1, str(EXAMPLES / "hello.tape"), 8)
    assert table.sites == compiled.sites
    assert table.sites[:2] == [
        Site("env.get", 2, 12),
        Site("error: env.get() needs a string", 2, 12),
    ]
    # The payload is exactly the CBOR map of the contract.
    payload_start, end = next(
        (p, e) for _i, _s, e, n, p in _sections(compiled.wasm) if n == SECTION_NAME
    )
    assert cbor2.loads(compiled.wasm[payload_start:end]) == {
        "version": 1,
        "file": str(EXAMPLES / "hello.tape"),
        "site_addr": 8,
        "sites": [[s.name, s.line, s.col] for s in compiled.sites],
    }
    stripped = strip_sites_section(compiled.wasm)
    assert read_sites_section(stripped) is None
    assert SECTION_NAME not in custom_sections(stripped)
    assert strip_sites_section(stripped) == stripped
    wasmtime.Module(ENGINE, stripped)  # still a valid module


def test_filename_is_only_in_the_sites_section() -> None:
    src = (EXAMPLES / "dice.tape").read_text()
    a, b = compile_source(src, "a.tape"), compile_source(src, "elsewhere/b.tape")
    assert a.wasm != b.wasm
    assert strip_sites_section(a.wasm) == strip_sites_section(b.wasm)


def test_sites_are_numbered_in_source_order() -> None:
    compiled = compile_source(
        "let a = random.bits(8) + clock.now()\nprint(a)\nfn f() { return args.count() }\n",
        "t.tape",
    )
    positions = [(s.line, s.col) for s in compiled.sites]
    assert positions == sorted(positions)
    assert [s.name for s in compiled.sites if not s.is_error] == [
        "random.bits",
        "clock.now",
        "print",
        "args.count",
    ]


def respace(source: str, seed: int) -> str:
    """The same tokens, with different white space and comments between them."""
    rng = random.Random(seed)
    gaps = [" ", "  ", "\n", "\t", " \n\n    ", " // a comment { } print(x)\n", "\r\n  "]
    return "// rewritten\n" + "".join(t.text + rng.choice(gaps) for t in tokenize(source, "x")[:-1])


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_whitespace_and_comment_edits_change_only_the_sites_section(path: Path) -> None:
    source = path.read_text()
    original = compile_source(source, path.name)
    for seed in (1, 2):
        edited_source = respace(source, seed)
        assert edited_source != source
        edited = compile_source(edited_source, path.name)
        assert edited.wasm != original.wasm  # the positions moved
        assert strip_sites_section(edited.wasm) == strip_sites_section(original.wasm)
        assert [s.name for s in edited.sites] == [s.name for s in original.sites]


def test_a_real_edit_changes_the_code() -> None:
    source = (EXAMPLES / "flaky.tape").read_text()
    edited = source.replace("roll % 32 == 7", "roll % 32 == 8")
    assert edited != source
    a, b = compile_source(source, "f.tape"), compile_source(edited, "f.tape")
    assert strip_sites_section(a.wasm) != strip_sites_section(b.wasm)
    # ...while the sites themselves did not move.
    assert a.sites == b.sites


def test_small_whitespace_edit_by_hand() -> None:
    a = compile_source("let x = random.bits(4)\nprint(x * 2)\n", "t.tape")
    b = compile_source("\n\n  let x   =  random.bits( 4 ) // four bits\n\tprint( x*2 )", "t.tape")
    assert strip_sites_section(a.wasm) == strip_sites_section(b.wasm)
    assert a.sites[0] == Site("random.bits", 1, 9) and b.sites[0] == Site("random.bits", 3, 14)


def test_function_names_are_kept() -> None:
    compiled = compile_file(EXAMPLES / "stats.tape")
    names = compiled.wasm.split(b"\x04name", 1)[1]
    for fn in (b"quicksort", b"isqrt", b"_start", b"tape_error_index_out_of_range"):
        assert fn in names


def test_unused_runtime_is_left_out() -> None:
    counter = compile_file(EXAMPLES / "counter.tape")
    imports = {imp.name for imp in wasmtime.Module(ENGINE, counter.wasm).imports}
    assert imports == {"fd_write"}
    assert b"fs_read" not in counter.wasm


def test_runtime_messages_fit_the_report_buffer() -> None:
    check_messages()


# ---- the runtime library: runtime.wat -----------------------------------------------------------


def test_the_runtime_is_a_wat_file_shipped_with_the_package() -> None:
    from importlib import resources

    source = (resources.files("wasm_rr.lang") / "runtime.wat").read_text(encoding="utf-8")
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert '"lang/runtime.wat"' in pyproject  # package data: in the wheel, not only the tree
    # Every import and function of the file is a piece, in the file's order.
    names = re.findall(r"^\((?:import [^(]*\(func|func) (\$[\w.]+)", source, re.MULTILINE)
    assert len(names) > 70
    assert list(runtime.PIECES)[: len(names)] == names
    # The rest are the error functions, one per kind, generated.
    assert list(runtime.PIECES)[len(names) :] == [f"$tape_error_{k}" for k in runtime.KINDS]
    # Comments are not part of a piece (they could name a function the piece does not call).
    assert not any(";;" in text for text in runtime.PIECES.values())


def test_every_runtime_error_is_raised_by_its_function() -> None:
    # A table in builtins.py (an error added, an http error code added) and the runtime agree.
    every = "\n".join(runtime.PIECES.values())
    for func, op in runtime.OPS_BY_FUNC.items():
        text = runtime.PIECES.get(func, "")
        for k, err in enumerate(op.errors):
            if func == "$rt.fs_write" and k == 1:  # raised as fs.read's by $rt.find_preopen
                assert err is runtime.OPS_BY_FUNC["$rt.fs_read"].errors[1]
                continue
            raised = f"{{E:{k}}}" in text or f"{{M:{k}}}" in text or f"{{E:{func}:{k}}}" in every
            assert raised, (func, k, err)


def test_effects_store_their_site_in_the_site_register() -> None:
    stores = re.findall(r"\(i32\.store \(i32\.const (\d+)\) \(local\.get \$site\)\)", "\n".join(
        runtime.PIECES.values()))  # fmt: skip
    assert len(stores) > 15 and set(stores) == {str(runtime.SITE_ADDR)}
