"""proc.run: the checker, the import and export it adds, and what it does against a scripted
wasm-rr:process host (FakeWasi.procs), so no real process host is needed."""

from __future__ import annotations

import re

import pytest
import wasmtime

from wasm_rr.lang import CompileError, compile_file, compile_source
from wasm_rr.lang.builtins import MODULES, PROC_ERROR_CODES
from wasm_rr.lang.runtime import PROCESS_MODULE

from .helpers import ENGINE, EXAMPLES, FakeWasi, Finished, ProcRequest

PROGRAM = 'let r = proc.run("echo", ["a", "b c"])\nprint(r)\n'


def run_with(source: str, *answers: Finished | str) -> tuple[FakeWasi, str, int | None]:
    fake = FakeWasi(procs=list(answers))
    result = fake.run(compile_source(source, "p.tape").wasm)
    assert fake.procs == [], "every scripted answer is used"
    return fake, result.out, result.status


# ---- checker -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('proc.run("echo")', "p.tape:1:1: `proc.run` takes 2 arguments, but 1 was given"),
        ("proc.spawn()", "p.tape:1:1: module `proc` has no function `spawn` (it has proc.run)"),
        ("let proc = 1",
         "p.tape:1:5: `proc` is a builtin module and cannot be used as a variable name"),
        ("print(proc)",
         "p.tape:1:7: `proc` is a module, not a value; call its functions, e.g. `proc.run`"),
    ],
)  # fmt: skip
def test_checker(source: str, message: str) -> None:
    with pytest.raises(CompileError) as info:
        compile_source(source, "p.tape")
    assert str(info.value) == message


# ---- the module ----------------------------------------------------------------------------


def test_import_and_export_signatures() -> None:
    module = wasmtime.Module(ENGINE, compile_source(PROGRAM, "p.tape").wasm)
    imports = {(i.module, i.name): i.type for i in module.imports}
    run = imports[(PROCESS_MODULE, "run")]
    assert isinstance(run, wasmtime.FuncType)
    assert [str(t) for t in run.params] == ["i32"] * 10 + ["i64", "i32"]
    assert run.results == []
    exports = {e.name: e.type for e in module.exports}
    realloc = exports["cabi_realloc"]
    assert isinstance(realloc, wasmtime.FuncType)
    assert [str(t) for t in realloc.params] == ["i32"] * 4
    assert [str(t) for t in realloc.results] == ["i32"]


def test_only_programs_using_proc_run_get_the_process_pieces() -> None:
    text = compile_source('print("no processes here")', "p.tape").wat
    assert PROCESS_MODULE not in text and "cabi_realloc" not in text
    text = compile_source(PROGRAM, "p.tape").wat
    assert text.count(PROCESS_MODULE) == 1 and text.count('(export "cabi_realloc")') == 1


def test_wat_is_deterministic() -> None:
    a, b = compile_source(PROGRAM, "p.tape"), compile_source(PROGRAM, "p.tape")
    assert a.wat == b.wat and a.wasm == b.wasm
    assert compile_file(EXAMPLES / "procs.tape").wasm == compile_file(EXAMPLES / "procs.tape").wasm


def test_sites() -> None:
    compiled = compile_source('\n  proc.run("x", [])', "p.tape")
    names = [s.name for s in compiled.sites if s.line == 2]
    op = MODULES["proc"]["run"]
    assert names == op.site_names()
    assert names[0] == "proc.run"
    assert names[2:] == [
        "error: proc.run: access: the program is not allowed",
        "error: proc.run: no-entry: the program was not found",
        "error: proc.run: not-directory: the working directory is not a directory inside a preopen",
        "error: proc.run: invalid: a malformed request",
        "error: proc.run: io: the program could not be started",
    ]
    assert {s.col for s in compiled.sites if s.line == 2} == {3}


# ---- running it against a scripted host ----------------------------------------------------


def test_result_is_status_stdout_stderr() -> None:
    fake, out, status = run_with(PROGRAM, Finished(0, stdout=b"a b c\n", stderr=b"warn\n"))
    assert status == 0
    assert out == '[0, "a b c\n", "warn\n"]\n'
    assert fake.proc_requests == [ProcRequest("echo", ["a", "b c"], "", [], b"", 0)]
    assert [name for name, _site in fake.calls] == ["process_run", "fd_write"]


def test_outputs_are_strings() -> None:
    source = """
    let r = proc.run("sh", ["-c", "exit 3"])
    print(r[0] == 3)
    print(r[1] == "out" and r[2] == "")
    print("joined: " + r[1] + str(len(r[1])))
    """
    _fake, out, _status = run_with(source, Finished(3, stdout=b"out"))
    assert out == "true\ntrue\njoined: out3\n"


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        (Finished(-1, signal=9), "-9"),
        (Finished(-1, signal=9, timed_out=True), "-9"),
        (Finished(-1, signal=15), "-15"),
        (Finished(255), "255"),
    ],
)
def test_a_signal_is_a_negative_status(answer: Finished, shown: str) -> None:
    _fake, out, _status = run_with('print(proc.run("x", [])[0])', answer)
    assert out == shown + "\n"


def test_every_argument_reaches_the_host() -> None:
    args = ["", "é", "with space", "x" * 1000] + [str(i) for i in range(20)]
    source = "let xs = [" + ", ".join(f'"{a}"' for a in args) + ']\nproc.run("prog", xs)'
    fake, _out, status = run_with(source, Finished())
    assert status == 0
    assert fake.proc_requests[0].args == args


def test_large_and_binary_outputs() -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    source = """
    let r = proc.run("cat", [])
    print(len(r[1]))
    print(byte_at(r[1], 0) + byte_at(r[1], 255) + byte_at(r[1], 1048575))
    print(len(r[2]))
    """
    _fake, out, _status = run_with(source, Finished(stdout=big, stderr=b"\0\xff"))
    assert out == "1048576\n510\n2\n"


def test_output_not_allocated_as_a_string_is_copied() -> None:
    # A host that asks cabi_realloc for 8-aligned memory gets plain heap memory, no string
    # header: the runtime copies the bytes into a string.
    source = 'let r = proc.run("x", [])\nprint(r[1] + "|" + r[2])'
    answer = Finished(stdout=b"12345678", stderr=b"abc", realloc_align=8)
    _fake, out, _status = run_with(source, answer)
    assert out == "12345678|abc\n"


def test_many_runs_in_a_loop() -> None:
    source = """
    let total = 0
    for i in 0..50 {
        let r = proc.run("echo", [str(i)])
        total = total + int(r[1])
    }
    print(total)
    """
    answers = [Finished(stdout=f"{i}\n".encode()) for i in range(50)]
    fake, out, _status = run_with(source, *answers)
    assert out == f"{sum(range(50))}\n"
    assert [r.args for r in fake.proc_requests] == [[str(i)] for i in range(50)]


@pytest.mark.parametrize("code", PROC_ERROR_CODES)
def test_an_error_code_is_a_runtime_error(code: str) -> None:
    source = 'print("before")\nlet r = proc.run("ls", ["-l"])\nprint("after")\n'
    compiled = compile_source(source, "p.tape")
    fake = FakeWasi(procs=[code])
    result = fake.run(compiled.wasm)
    assert result.status is None and result.trap is not None
    assert result.out == "before\n"
    message = f"proc.run: {code}: "
    assert result.err.startswith(f"tape: runtime error: {message}")
    site = compiled.sites[result.site]
    assert (site.name, site.line, site.col) == (f"error: {result.err[21:-1]}", 2, 9)
    assert re.search(r"tape_error_proc_error", result.trap)


@pytest.mark.parametrize(
    "source",
    ["proc.run(1, [])", 'proc.run("x", "y")', 'proc.run("x", ["a", 1])', 'proc.run("x", [["a"]])'],
)
def test_type_errors(source: str) -> None:
    compiled = compile_source(source, "p.tape")
    fake = FakeWasi()
    result = fake.run(compiled.wasm)
    assert result.status is None
    assert result.err == (
        "tape: runtime error: proc.run() needs a string program and a list of strings\n"
    )
    assert fake.proc_requests == []


def test_procs_example() -> None:
    answers = [
        Finished(stdout=b"hello from echo\n"),
        Finished(3),
        Finished(1, stderr=b"oops\n"),
        Finished(-1, signal=9),
        Finished(stdout=b"as a list"),
    ]
    fake = FakeWasi(procs=answers)
    result = fake.run(compile_file(EXAMPLES / "procs.tape").wasm)
    assert result.status == 0
    assert result.out == (
        "echo: status 0, stdout 16 bytes, stderr 0 bytes\n"
        "  stdout: hello from echo\n"
        "exit 3: status 3, stdout 0 bytes, stderr 0 bytes\n"
        "stderr: status 1, stdout 0 bytes, stderr 5 bytes\n"
        "  stderr: oops\n"
        "signal: status -9, stdout 0 bytes, stderr 0 bytes\n"
        '[0, "as a list", ""]\n'
    )
    assert [(r.program, r.args) for r in fake.proc_requests] == [
        ("echo", ["hello", "from", "echo"]),
        ("sh", ["-c", "exit 3"]),
        ("sh", ["-c", "echo oops >&2; exit 1"]),
        ("sh", ["-c", "kill -9 $$"]),
        ("echo", ["-n", "as a list"]),
    ]


def test_gitlog_example() -> None:
    log = b"c1de6d2 one\n453221a two\n"
    fake = FakeWasi(args=["gitlog.tape", "2"], procs=[Finished(stdout=log)])
    result = fake.run(compile_file(EXAMPLES / "gitlog.tape").wasm)
    assert (result.status, result.stdout) == (0, log)
    assert fake.proc_requests == [
        ProcRequest("git", ["log", "--oneline", "--no-decorate", "-n", "2"], "", [], b"", 0)
    ]
    fake = FakeWasi(procs=[Finished(128, stderr=b"fatal: not a git repository\n")])
    result = fake.run(compile_file(EXAMPLES / "gitlog.tape").wasm)
    assert result.status == 1
    assert result.out == "gitlog: git exited with status 128\nfatal: not a git repository\n"
