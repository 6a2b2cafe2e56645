"""``fuzz --dict``: the dictionary format (libFuzzer's ``-dict``, AFL's ``-x`` files), and the
dictionary mutators."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from wasm_rr.fuzz.dictionary import DictionaryError, load, parse
from wasm_rr.fuzz.mutate import (
    DICT_MUTATORS,
    MUTATORS,
    Pool,
    insert_dict,
    mutate,
    overwrite_dict,
)

from ..conftest import ROOT


def test_entries_comments_blanks_and_escapes() -> None:
    text = (
        b"# a comment\n"
        b"\n"
        b'kw1="select"\n'
        b'  "from"  \r\n'  # white space around an entry, a CRLF line
        b'tag@2 = "<a href=\\"x\\">"\n'  # AFL's @level, spaces around '=', escaped quotes
        b'magic="\\x89PNG\\x0d\\x0a"\n'
        b'slash="a\\\\b"\n'
        b'name-with.dots-1="dot"\n'  # libFuzzer takes any label
        b'tab="\tx"\n'
        b'dup="select"\n'  # a token given twice is kept once
        b"   # an indented comment"
    )
    assert parse(text) == (
        b"select",
        b"from",
        b'<a href="x">',
        b"\x89PNG\r\n",
        b"a\\b",
        b"dot",
        b"\tx",
    )


def test_the_calc_dictionary() -> None:
    tokens = load(str(ROOT / "guests" / "corpus" / "calc.dict"))
    assert b"rollback" in tokens and b"\n" in tokens
    assert len(tokens) == 12


@pytest.mark.parametrize(
    ("line", "why"),
    [
        (b"select", "no quoted value"),
        (b'kw1="select', "does not end with a quote"),
        (b'"select" # trailing', "does not end with a quote"),
        (b'bad name="x"', "is not a name followed by '='"),
        (b'kw1"x"', "is not a name followed by '='"),
        (b'""', "an empty value"),
        (b'"\\n"', "bad escape at column 2"),
        (b'"\\x4"', "bad escape at column 2"),
        (b'  "a"b"', 'a quote inside the value at column 5 (write \\")'),
        (b'"caf\xc3\xa9"', "byte 0xc3 at column 5 is not printable ASCII (write it as \\xc3)"),
        (b'"a\x00"', "byte 0x00 at column 3"),
    ],
)
def test_errors_name_the_file_and_line(line: bytes, why: str) -> None:
    with pytest.raises(DictionaryError) as info:
        parse(b'# fine\n"ok"\n' + line + b"\n", "words.dict")
    message = str(info.value)
    assert message.startswith("words.dict:3: "), message
    assert why in message
    assert message.endswith('; expected name="value" or "value" (escapes: \\xNN, \\\\, \\")')
    assert "\n" not in message


def test_a_file_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(DictionaryError, match="cannot read it"):
        load(str(tmp_path / "missing.dict"))
    with pytest.raises(DictionaryError, match="is a directory"):
        load(str(tmp_path))
    (tmp_path / "empty.dict").write_bytes(b"# nothing yet\n")
    assert load(str(tmp_path / "empty.dict")) == ()


def test_dictionary_mutators_place_a_whole_token_anywhere() -> None:
    pool = Pool(tokens=(b"harvested",), max_len=64, dictionary=(b"rollback", b"begin"))
    data = b"1 2 add print\n"
    rng = random.Random(3)
    inserted = [insert_dict(rng, data, pool) for _ in range(300)]
    for out in inserted:
        assert any(out[:i] + out[i + len(t) :] == data for t in pool.dictionary for i in range(15))
    # Every position is reached, the end included.
    assert {out.find(b"rollback") for out in inserted if b"rollback" in out} == set(range(15))
    written = [overwrite_dict(rng, data, pool) for _ in range(300)]
    assert all(len(out) == len(data) for out in written)
    assert any(b"rollback" in out for out in written) and any(b"begin" in out for out in written)
    # Seeded: the same generator state, the same output.
    assert insert_dict(random.Random(9), data, pool) == insert_dict(random.Random(9), data, pool)
    # Never past max_len.
    small = Pool(max_len=10, dictionary=(b"rollback",))
    assert all(len(insert_dict(rng, b"12345678", small)) <= 10 for _ in range(50))


def test_the_dictionary_mutators_join_only_with_a_dictionary() -> None:
    # Without a dictionary the choice is among MUTATORS alone, so a session without --dict
    # tries the same inputs, for the same seed, as before --dict existed.
    names = [name for name, _ in MUTATORS]
    assert not {name for name, _ in DICT_MUTATORS} & set(names)
    plain = Pool((b"abc",), (b"abc",))
    with_dict = Pool((b"abc",), (b"abc",), dictionary=(b"rollback",))
    a = [mutate(random.Random(s), b"1 2 add", plain) for s in range(200)]
    b = [mutate(random.Random(s), b"1 2 add", with_dict) for s in range(200)]
    assert a != b
    assert not any(b"rollback" in x for x in a)
    assert sum(b"rollback" in x for x in b) > 20
