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
