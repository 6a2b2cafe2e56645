"""``fuzz --merge``: corpus minimisation by path signature, smallest input first, crashes left
out, the same answer whatever the order of the inputs or the number of workers."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from wasm_rr.errors import UsageError
from wasm_rr.fuzz import Setup
from wasm_rr.fuzz.merge import merge

from ..conftest import ROOT, cli, guest
from .test_engine import PARSER, rrec

SEEDS = ROOT / "guests" / "corpus" / "parser"


def _nv(name: bytes) -> bytes:
    return rrec((b"N", name), (b"V", struct.pack("<I", 10)), (b"V", struct.pack("<I", 32)))


MORE = {
    # The same bytes as a seed, under another name: a duplicate.
    "copy-of-names-values": (SEEDS / "names-values.rrec").read_bytes(),
    # The same path as names-values.rrec (another name of the same length), same size: the
    # bytewise smaller one ("alpha" < "omega") is kept.
    "omega": _nv(b"omega"),
    # A longer name is another path (its check loop runs longer).
    "long-name": rrec(
        (b"N", b"abcdefghijklmnopqrstuvwxyz"),
    ),
    # One path, two inputs of one size: "a" is kept.
    "name-b": rrec(
        (b"N", b"b"),
    ),
    "name-a": rrec(
        (b"N", b"a"),
    ),
    # Four inputs failing the magic at byte 0: one path, the 2-byte one is kept.
    "junk-long": b"x" * 40,
    "junk-text": b"hello, not an rrec file",
    "junk-near": b"RREX\x01",
    "junk-short": b"xx",
    # The empty input is a path of its own (its read loop ends at once).
    "empty": b"",
    # A crash (the planted overflow): left out.
    "overflow": rrec(
        (b"X", bytes(12)),
    ),
}
EXPECTED = [
    "empty",
    "junk-short",
    "name-a",
    "average.rrec",
    "extension.rrec",
    "names-values.rrec",
    "long-name",
]


def inputs() -> list[tuple[str, bytes]]:
    seeds = [(p.name, p.read_bytes()) for p in sorted(SEEDS.iterdir())]
    return seeds + list(MORE.items())


def test_merge_keeps_the_smallest_input_of_each_path(tmp_path: Path) -> None:
    out = tmp_path / "merged"
    done = merge(Setup(PARSER, "parser"), inputs(), str(out))
    assert list(done.kept) == EXPECTED
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    given = dict(inputs())
    for name in EXPECTED:
        assert (out / name).read_bytes() == given[name]
    assert (done.inputs, done.paths, done.duplicates, done.crashed) == (14, 7, 1, 1)
    assert done.summary(str(out)) == (
        f"merge: kept 7 of 14 inputs (7 paths; 1 duplicate, 1 crashing input left out) in {out}"
    )


def test_merge_is_deterministic_whatever_the_order_and_the_workers(tmp_path: Path) -> None:
    reordered = list(reversed(inputs()))
    done = merge(Setup(PARSER, "parser"), reordered, str(tmp_path / "a"), jobs=2, batch_size=3)
    assert done.workers == 2
    # Reversed, the duplicate's first name is the copy's.
    assert sorted(done.kept) == sorted(
        ["copy-of-names-values" if n == "names-values.rrec" else n for n in EXPECTED]
    )
    first = {p.name: p.read_bytes() for p in (tmp_path / "a").iterdir()}
    assert sorted(first.values()) == sorted(dict(inputs())[n] for n in EXPECTED)


def test_merging_the_merged_corpus_keeps_it_whole(tmp_path: Path) -> None:
    merge(Setup(PARSER, "parser"), inputs(), str(tmp_path / "once"))
    again = [(p.name, p.read_bytes()) for p in sorted((tmp_path / "once").iterdir())]
    done = merge(Setup(PARSER, "parser"), again, str(tmp_path / "twice"))
    assert sorted(done.kept) == sorted(EXPECTED)
    assert done.duplicates == 0 and done.crashed == 0


def test_merge_needs_a_new_or_empty_output(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_bytes(b"x")
    with pytest.raises(UsageError, match="is not empty"):
        merge(Setup(PARSER, "parser"), inputs(), str(tmp_path / "full"))
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(UsageError, match="is not a directory"):
        merge(Setup(PARSER, "parser"), inputs(), str(tmp_path / "file"))
    (tmp_path / "empty").mkdir()
    assert merge(Setup(PARSER, "parser"), [("a", b"xx")], str(tmp_path / "empty")).kept == ("a",)


def test_cli_merge_from_two_directories(tmp_path: Path) -> None:
    more = tmp_path / "more"
    more.mkdir()
    for name, data in MORE.items():
        (more / name).write_bytes(data)
    out = tmp_path / "merged"
    r = cli("fuzz", guest("parser"), "--merge", "--corpus", SEEDS, "--corpus", more, "-o", out)
    assert r.status == 0, r.stderr
    assert r.stdout == (
        f"merge: kept 7 of 14 inputs (7 paths; 1 duplicate, 1 crashing input left out) in {out}\n"
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPECTED)
    # Usage errors: one line, status 125, nothing written.
    for args in (
        ("--runs", "5"),
        ("--time", "1"),
        ("--save-corpus",),
        ("--dict", str(ROOT / "guests" / "corpus" / "calc.dict")),
    ):
        r = cli("fuzz", guest("parser"), "--merge", "--corpus", SEEDS, "-o", tmp_path / "o", *args)
        assert r.status == 125, (args, r.stderr)
        assert (
            r.stderr.startswith("wasm-rr: --merge runs each input once")
            and r.stderr.count("\n") == 1
        )
    r = cli("fuzz", guest("parser"), "--merge", "-o", tmp_path / "o")
    assert (r.status, r.stderr) == (
        125,
        "wasm-rr: --merge needs the inputs: --corpus DIR (repeatable) "
        "(see `wasm-rr fuzz --help`)\n",
    )
    r = cli("fuzz", guest("parser"), "--merge", "--corpus", SEEDS, "-o", out)
    assert r.status == 125 and "is not empty" in r.stderr and r.stderr.count("\n") == 1
    assert not (tmp_path / "o").exists()
