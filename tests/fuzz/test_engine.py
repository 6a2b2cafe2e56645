"""The fuzzing loop on the parser guest: its planted bugs are found within a bounded number of
runs with a fixed seed, each crash site is saved once, and every crash trace replays alone."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import wasm_rr
from wasm_rr.config import DirSpec
from wasm_rr.crashes import crash_site
from wasm_rr.errors import UsageError
from wasm_rr.fuzz import Session, Setup, load_corpus
from wasm_rr.fuzz.mutate import deterministic
from wasm_rr.fuzz.runner import bucket, input_args

from ..conftest import ROOT, guest

PARSER = guest("parser").read_bytes()
SEEDS = load_corpus(str(ROOT / "guests" / "corpus" / "parser"))
OVERFLOW = "memcpy_chk"
DIVIDE = "apply_divisor"


def rrec(*records: tuple[bytes, bytes]) -> bytes:
    body = b"RREC\x01" + b"".join(t + bytes((len(b),)) + b for t, b in records)
    return body + b"E\x01" + bytes((sum(body) & 0xFF,))


def crash_files(out: Path) -> list[Path]:
    return sorted(out.glob("crash-*.cbor"))


def top_frame(path: Path) -> str:
    trap = wasm_rr.replay(path).trap  # the guest comes from the trace itself
    assert trap is not None
    return str(trap.frames[0][1])


def test_finds_both_planted_bugs_and_the_traces_replay_alone(tmp_path: Path) -> None:
    stats = Session(Setup(PARSER, "parser"), SEEDS, str(tmp_path), seed=1, runs=700).run()
    assert stats.execs == 700
    assert stats.corpus > len(SEEDS)  # new paths were kept
    found = {c.site.describe().split(" at ")[1].split("@")[0]: c for c in stats.crashes.values()}
    assert set(found) == {OVERFLOW, DIVIDE}
    files = crash_files(tmp_path)
    assert len(files) == 2
    for crash in found.values():
        assert crash.path is not None
        replayed = wasm_rr.replay(crash.path)
        assert replayed.trap is not None
        assert crash_site(replayed.outcome) == crash.site
    assert {top_frame(f) for f in files} == {OVERFLOW, DIVIDE}


def test_same_seed_same_session(tmp_path: Path) -> None:
    def session(out: str) -> tuple[int, int, list[tuple[str, int, int]]]:
        s = Session(Setup(PARSER, "parser"), SEEDS, out, seed=5, runs=300)
        st = s.run()
        return st.corpus, st.paths, sorted((k, c.count, c.smallest) for k, c in st.crashes.items())

    assert session(str(tmp_path / "a")) == session(str(tmp_path / "b"))


def test_one_file_per_crash_site(tmp_path: Path) -> None:
    overflows = [rrec((b"X", bytes(n))) for n in range(9, 17)]  # 8 inputs, one site
    stats = Session(Setup(PARSER, "parser"), overflows, str(tmp_path), runs=len(overflows)).run()
    assert len(crash_files(tmp_path)) == 1
    (crash,) = stats.crashes.values()
    assert crash.count == len(overflows)
    assert crash.smallest == len(overflows[0])
    # A second site: a second file; the first site is known and not written again.
    zero = rrec((b"V", struct.pack("<I", 5)), (b"D", b"\x00"))
    first = crash_files(tmp_path)[0].stat().st_mtime_ns
    stats = Session(Setup(PARSER, "parser"), [*overflows, zero], str(tmp_path), runs=9).run()
    files = crash_files(tmp_path)
    assert len(files) == 2
    assert {top_frame(f) for f in files} == {OVERFLOW, DIVIDE}
    assert min(f.stat().st_mtime_ns for f in files) == first
    assert sorted(c.new for c in stats.crashes.values()) == [False, True]


def test_file_target_with_a_directory_copied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "input.bin").write_bytes(b"not this")
    setup = Setup(
        PARSER,
        "parser",
        "file",
        "/data/input.bin",
        ("/data/input.bin",),
        dirs=(DirSpec(str(data), "/data"),),
    )
    out = tmp_path / "out"
    stats = Session(setup, SEEDS, str(out), seed=1, runs=700).run()
    assert stats.crashes
    assert (data / "input.bin").read_bytes() == b"not this"  # the user's copy is untouched
    for f in crash_files(out):
        assert top_frame(f) in (OVERFLOW, DIVIDE)


def test_args_target_finds_the_timebomb_minute(tmp_path: Path) -> None:
    # The seeded wall clock reads 22:13 UTC; an offset of 24 minutes (mod 60) detonates.
    timebomb = guest("timebomb").read_bytes()
    stats = Session(Setup(timebomb, "timebomb", "args"), [b"0\n"], str(tmp_path), runs=600).run()
    (crash,) = stats.crashes.values()
    assert "detonate" in crash.site.describe()
    (path,) = crash_files(tmp_path)
    replayed = wasm_rr.replay(path)
    assert replayed.trap is not None
    assert int(wasm_rr.replay(path).events) >= 1


def test_until_predicate_is_the_crash(tmp_path: Path) -> None:
    seeds = [rrec((b"N", b"ok")), b"garbage"]
    setup = Setup(PARSER, "parser", until="exit == 1 and stderr~'bad magic'")
    stats = Session(setup, seeds, str(tmp_path), runs=2).run()
    (crash,) = stats.crashes.values()
    assert crash.site.describe() == "exit 1"
    assert wasm_rr.replay(crash_files(tmp_path)[0]).exit_code == 1


def test_jobs_2(tmp_path: Path) -> None:
    # The seeds' deterministic stage does not depend on which worker answers first.
    stats = Session(Setup(PARSER, "parser"), SEEDS, str(tmp_path), jobs=2, runs=700).run()
    assert stats.workers == 2
    assert stats.execs == 700
    assert {top_frame(f) for f in crash_files(tmp_path)} == {OVERFLOW, DIVIDE}


def test_on_a_dask_cluster(tmp_path: Path, cluster: str) -> None:
    # The client writes the crash traces the workers send back as bytes.
    stats = Session(Setup(PARSER, "parser"), SEEDS, str(tmp_path), cluster=cluster, runs=700).run()
    assert stats.workers == 2
    assert stats.execs == 700
    assert {top_frame(f) for f in crash_files(tmp_path)} == {OVERFLOW, DIVIDE}
    for path in crash_files(tmp_path):
        replayed = wasm_rr.replay(path)
        assert replayed.trap is not None


def test_needs_a_limit(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        Session(Setup(PARSER, "parser"), [], str(tmp_path))


def test_empty_corpus_starts_from_nothing(tmp_path: Path) -> None:
    assert load_corpus(str(tmp_path / "missing")) == []
    stats = Session(Setup(PARSER, "parser"), [], str(tmp_path), runs=50).run()
    assert stats.seeds == 1
    assert stats.execs == 50


def test_input_args_and_buckets() -> None:
    assert input_args(b"") == []
    assert input_args(b"a\nb c\n") == ["a", "b c"]
    assert input_args(b"x\0y\n\xff") == ["xy", "\ufffd"]
    assert [bucket(n) for n in range(64)] == list(range(64))
    assert bucket(2600) == bucket(2610) != bucket(2700)


# ---- --dict: a bug behind a keyword -------------------------------------------------------------

CALC = guest("calc").read_bytes()
CALC_SEED = (ROOT / "guests" / "corpus" / "calc" / "arith.calc").read_bytes()
CALC_DICT = ROOT / "guests" / "corpus" / "calc.dict"


def test_a_dictionary_finds_the_bug_behind_a_keyword(tmp_path: Path) -> None:
    # calc's planted bug needs the word `rollback` outside a transaction. Its seed has no such
    # word, the tokens harvested from the corpus never hold it, and no byte mutation spells
    # eight letters; calc.dict names it, and the dictionary mutators insert it.
    from wasm_rr.fuzz.dictionary import load

    tokens = load(str(CALC_DICT))
    found = Session(
        Setup(CALC, "calc"), [CALC_SEED], str(tmp_path / "dict"), seed=0, runs=1000,
        dictionary=tokens,
    ).run()  # fmt: skip
    (crash,) = found.crashes.values()
    assert "savepoint_pop" in crash.site.describe()
    # Found by a random mutation, after the seed and its deterministic stage.
    assert crash.first_run > 1 + len(list(deterministic(CALC_SEED)))
    (path,) = crash_files(tmp_path / "dict")
    assert top_frame(path) == "savepoint_pop"
    # The same seed and runs without the dictionary: the same deterministic stage, and random
    # mutation that never spells the word.
    blind = Session(
        Setup(CALC, "calc"), [CALC_SEED], str(tmp_path / "blind"), seed=0, runs=1000
    ).run()
    assert blind.execs == 1000
    assert not blind.crashes
    assert not crash_files(tmp_path / "blind")
