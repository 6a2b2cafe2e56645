"""The mutators: pure, seeded, bounded."""

from __future__ import annotations

import random

import pytest

from wasm_rr.fuzz.mutate import (
    DETERMINISTIC_MAX,
    MUTATORS,
    Pool,
    deterministic,
    harvest_tokens,
    mutate,
)

SEEDS = (b"RREC\x01N\x05alphaV\x04\x0a\x00\x00\x00E\x01\x2a", b"timeout=30\nname=bob\n", b"")


@pytest.mark.parametrize(("name", "mutator"), MUTATORS)
def test_each_mutator_is_deterministic_and_bounded(name: str, mutator: object) -> None:
    pool = Pool(SEEDS, harvest_tokens(SEEDS), max_len=64)
    for data in SEEDS:
        first = [mutator(random.Random(7), data, pool) for _ in range(3)]  # type: ignore[operator]
        assert len(set(first)) == 1, name
        rng = random.Random(1)
        for _ in range(200):
            out = mutator(rng, data, pool)  # type: ignore[operator]
            assert isinstance(out, bytes)
            assert len(out) <= max(64, len(data))


def test_mutate_is_reproducible_from_the_seed() -> None:
    pool = Pool(SEEDS, harvest_tokens(SEEDS))

    def run(seed: int) -> list[bytes]:
        rng = random.Random(seed)
        return [mutate(rng, SEEDS[i % 3], pool) for i in range(100)]

    assert run(3) == run(3)
    assert run(3) != run(4)
    assert len(set(run(3))) > 50


def test_flips_and_sets_change_one_byte() -> None:
    data = bytes(range(32))
    for name, mutator in MUTATORS:
        if name not in ("flip_bit", "flip_byte", "set_byte", "add_byte"):
            continue
        rng = random.Random(0)
        for _ in range(50):
            out = mutator(rng, data, Pool())
            assert len(out) == len(data)
            assert sum(a != b for a, b in zip(out, data, strict=True)) <= 1


def test_splice_joins_two_corpus_entries() -> None:
    a, b = b"A" * 20, b"B" * 20
    rng = random.Random(0)
    outs = {dict(MUTATORS)["splice"](rng, a, Pool((a, b))) for _ in range(50)}
    assert any(o.startswith(b"A") and o.endswith(b"B") for o in outs)


def test_tokens_are_printable_runs_and_words_most_frequent_first() -> None:
    tokens = harvest_tokens([b"\x00RREC\x01name\x02", b"RREC\xffvalue", b"ab"])
    assert tokens[0] == b"RREC"
    assert b"name" in tokens and b"value" in tokens
    assert b"ab" not in tokens  # shorter than 3
    rng = random.Random(0)
    outs = [dict(MUTATORS)["insert_token"](rng, b"xyz", Pool((), tokens)) for _ in range(30)]
    assert any(b"RREC" in o for o in outs)


def test_ascii_number_rewrites_numbers_in_text() -> None:
    rng = random.Random(0)
    outs = {dict(MUTATORS)["ascii_number"](rng, b"--retries=5\n", Pool()) for _ in range(100)}
    assert all(o.startswith(b"--retries=") and o.endswith(b"\n") for o in outs)
    assert len(outs) > 20


def test_deterministic_stage_walks_every_bit() -> None:
    data = b"\x08\x03"
    out = list(deterministic(data))
    assert out[:8] == [bytes((0x08 ^ (1 << b),)) + b"\x03" for b in range(8)]
    assert b"\x09\x03" in out and b"\x08\x00" in out  # off by one, a zero
    assert len(set(out)) == len(out)
    assert list(deterministic(bytes(DETERMINISTIC_MAX + 1))) == []
