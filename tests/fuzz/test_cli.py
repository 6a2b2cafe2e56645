"""`wasm-rr fuzz` end to end, in a subprocess."""

from __future__ import annotations

from pathlib import Path

from ..conftest import ROOT, cli, guest

CORPUS = ROOT / "guests" / "corpus" / "parser"


def test_fuzz_finds_the_bugs_reports_and_exits_1(tmp_path: Path) -> None:
    out = tmp_path / "crashes"
    r = cli("fuzz", guest("parser"), "--stdin", "--corpus", CORPUS, "-o", out, "--runs", "700")
    assert r.status == 1, r.stderr
    assert "700 runs" in r.stdout
    assert "2 distinct crashes" in r.stdout
    assert "memcpy_chk" in r.stdout and "apply_divisor" in r.stdout
    files = sorted(out.glob("crash-*.cbor"))
    assert len(files) == 2
    for f in files:
        assert f.name in r.stdout
        replayed = cli("replay", f)  # self-contained: no guest named
        assert replayed.status == 134
        assert "wasm-rr: guest trapped" in replayed.stderr


def test_fuzz_without_crashes_exits_0(tmp_path: Path) -> None:
    r = cli("fuzz", guest("counter"), "-o", tmp_path, "--runs", "5", "--seed", "3")
    assert r.status == 0, r.stderr
    assert "no crashes" in r.stdout
    assert not list(tmp_path.glob("crash-*"))


def test_fuzz_usage_errors_are_one_line(tmp_path: Path) -> None:
    for args in (
        ("--args", "--stdin"),
        ("--until", "bogus("),
        ("--file", "/"),
        ("--corpus", str(guest("parser"))),
        ("--runs", "0"),
    ):
        r = cli("fuzz", guest("parser"), "-o", tmp_path / "o", "--runs", "3", *args)
        assert r.status == 125, (args, r.stderr)
        assert r.stderr.startswith("wasm-rr: ") and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr
    r = cli("fuzz", tmp_path / "missing.wasm", "-o", tmp_path / "o", "--runs", "3")
    assert r.status == 125 and r.stderr.startswith("wasm-rr: ")


def test_fuzz_file_target_and_args(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = cli(
        "fuzz", guest("parser"), "--file", "/in/x.rrec", "--corpus", CORPUS, "-o", out,
        "--runs", "700", "--", "/in/x.rrec",
    )  # fmt: skip
    assert r.status == 1, r.stderr
    assert len(list(out.glob("crash-*.cbor"))) == 2


CALC_DICT = ROOT / "guests" / "corpus" / "calc.dict"


def test_fuzz_dict_finds_the_keyword_bug(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "arith.calc").write_bytes((ROOT / "guests/corpus/calc/arith.calc").read_bytes())
    out = tmp_path / "out"
    r = cli(
        "fuzz", guest("calc"), "--corpus", seeds, "--dict", CALC_DICT, "-o", out,
        "--runs", "1000", "--seed", "0",
    )  # fmt: skip
    assert r.status == 1, r.stderr
    assert ", dictionary 12 tokens" in r.stdout.splitlines()[0]
    assert "1 distinct crash:" in r.stdout and "savepoint_pop" in r.stdout
    (trace,) = out.glob("crash-*.cbor")
    replayed = cli("replay", trace)
    assert replayed.status == 134 and "savepoint_pop" in replayed.stderr


def test_fuzz_dict_errors_are_one_line_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dict"
    bad.write_bytes(b'# words\nkw="add"\nkw2="unterminated\n')
    r = cli("fuzz", guest("calc"), "--dict", bad, "-o", tmp_path / "o", "--runs", "3")
    assert r.status == 125
    assert r.stderr.startswith(f"wasm-rr: {bad}:3: the value does not end with a quote")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()
    r = cli("fuzz", guest("calc"), "--dict", tmp_path / "none.dict", "-o", tmp_path / "o")
    assert r.status == 125 and r.stderr.count("\n") == 1
    assert "none.dict" in r.stderr


def test_fuzz_passes_the_family_options_to_every_run(tmp_path: Path) -> None:
    # procdemo runs the host program its arguments name (`run echo` + the input's lines).
    until = "stdout~'status: 0 signal: 0'"
    base = ("fuzz", guest("procdemo"), "--args", "--runs", "3", "--until", until)
    r = cli(*base, "--allow-run", "echo", "-o", tmp_path / "allowed", "--", "run", "echo")
    assert r.status == 1, r.stderr
    (trace,) = (tmp_path / "allowed").glob("crash-*.cbor")
    replayed = cli("replay", trace, env={"PATH": ""})  # nothing is spawned on replay
    assert replayed.status == 0 and "status: 0 signal: 0" in replayed.stdout
    # Without --allow-run the program is denied in every run: nothing meets --until.
    r = cli(*base, "-o", tmp_path / "denied", "--", "run", "echo")
    assert r.status == 0 and "no crashes" in r.stdout, r.stderr


def test_fuzz_sends_http_requests_when_allowed(tmp_path: Path) -> None:
    from ..httpserver import serve

    with serve() as server:
        url = server.url("/hello")
        host = url.split("/")[2]
        base = ("fuzz", guest("fetch"), "--args", "--runs", "1", "--until", "stdout~'status: 200'")
        r = cli(*base, "--allow-http", host, "-o", tmp_path / "allowed", "--", url)
        assert r.status == 1, r.stderr
        denied = cli(*base, "-o", tmp_path / "denied", "--", url)
        assert denied.status == 0 and "no crashes" in denied.stdout, denied.stderr
    (trace,) = (tmp_path / "allowed").glob("crash-*.cbor")
    replayed = cli("replay", trace)  # the server is gone: the answer comes from the trace
    assert replayed.status == 0 and "status: 200" in replayed.stdout
