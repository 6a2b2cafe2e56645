"""Mutations of a byte string: pure functions of a ``random.Random``, the input and a
:class:`Pool` (the corpus and the dictionary they may borrow from).

The same generator state and input always give the same output, so a fuzzing session is
reproduced by its ``--seed``. Each mutator returns new bytes (possibly equal to its input) and
never grows an input past :attr:`Pool.max_len`.
"""

from __future__ import annotations

import collections
import re
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from random import Random

__all__ = [
    "DICT_MUTATORS",
    "INTERESTING",
    "MUTATORS",
    "Mutator",
    "Pool",
    "deterministic",
    "harvest_tokens",
    "mutate",
]


@dataclass(frozen=True)
class Pool:
    """What mutations may borrow from: other corpus entries (splices), tokens harvested from
    the corpus, and the user's dictionary (``--dict``)."""

    corpus: Sequence[bytes] = ()
    tokens: Sequence[bytes] = ()
    max_len: int = 4096
    dictionary: Sequence[bytes] = ()
    """The user's tokens (``--dict FILE``): with any, :func:`mutate` also picks among
    :data:`DICT_MUTATORS`."""


Mutator = Callable[[Random, bytes, Pool], bytes]

INTERESTING: dict[int, tuple[int, ...]] = {
    1: (-128, -1, 0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 100, 127),
    2: (-32768, -129, 128, 255, 256, 512, 1000, 1024, 4096, 32767),
    4: (-2147483648, -100663046, -32769, 32768, 65535, 65536, 100663045, 2147483647),
}
"""AFL's interesting integers (and the smaller widths' values) by width in bytes; the small
ones include the boundaries around powers of two that length checks get wrong."""

_FORMATS = {1: "b", 2: "h", 4: "i"}
_DIGITS = re.compile(rb"-?[0-9]+")
_TOKEN = re.compile(rb"[\x21-\x7e]{3,32}")
_WORD = re.compile(rb"[A-Za-z0-9_]{3,32}")


def _pos(rng: Random, data: bytes) -> int:
    return rng.randrange(len(data))


def _grow(data: bytes, at: int, piece: bytes, pool: Pool) -> bytes:
    room = pool.max_len - len(data)
    if room <= 0:
        return data
    return data[:at] + piece[:room] + data[at:]


def flip_bit(rng: Random, data: bytes, pool: Pool) -> bytes:
    """One bit inverted."""
    if not data:
        return insert_bytes(rng, data, pool)
    at = _pos(rng, data)
    return data[:at] + bytes((data[at] ^ (1 << rng.randrange(8)),)) + data[at + 1 :]


def flip_byte(rng: Random, data: bytes, pool: Pool) -> bytes:
    """One byte inverted (xor 0xff)."""
    if not data:
        return insert_bytes(rng, data, pool)
    at = _pos(rng, data)
    return data[:at] + bytes((data[at] ^ 0xFF,)) + data[at + 1 :]


def set_byte(rng: Random, data: bytes, pool: Pool) -> bytes:
    """One byte set to a random value."""
    if not data:
        return insert_bytes(rng, data, pool)
    at = _pos(rng, data)
    return data[:at] + bytes((rng.randrange(256),)) + data[at + 1 :]


def add_byte(rng: Random, data: bytes, pool: Pool) -> bytes:
    """One byte plus or minus 1..16 (lengths and counts off by a little)."""
    if not data:
        return insert_bytes(rng, data, pool)
    at = _pos(rng, data)
    delta = rng.randint(1, 16) * rng.choice((-1, 1))
    return data[:at] + bytes(((data[at] + delta) & 0xFF,)) + data[at + 1 :]


def interesting(rng: Random, data: bytes, pool: Pool) -> bytes:
    """An interesting integer (1, 2 or 4 bytes, either byte order) written over the input."""
    width = rng.choice([w for w in (1, 2, 4) if w <= max(1, len(data))])
    value = rng.choice(INTERESTING[width] + (INTERESTING[1] if width > 1 else ()))
    raw = struct.pack(rng.choice("<>") + _FORMATS[width], value)
    if len(data) < width:
        return _grow(data, len(data), raw, pool)
    at = rng.randrange(len(data) - width + 1)
    return data[:at] + raw + data[at + width :]


def insert_bytes(rng: Random, data: bytes, pool: Pool) -> bytes:
    """1..8 bytes inserted: random ones, or one byte repeated."""
    n = rng.randint(1, 8)
    piece = rng.randbytes(n) if rng.random() < 0.5 else bytes((rng.randrange(256),)) * n
    return _grow(data, rng.randint(0, len(data)), piece, pool)


def delete_bytes(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A run of 1..16 bytes deleted."""
    if not data:
        return data
    n = rng.randint(1, min(16, len(data)))
    at = rng.randint(0, len(data) - n)
    return data[:at] + data[at + n :]


def duplicate_chunk(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A chunk of the input copied to another place in it (a record repeated)."""
    if not data:
        return insert_bytes(rng, data, pool)
    n = rng.randint(1, min(32, len(data)))
    start = rng.randint(0, len(data) - n)
    return _grow(data, rng.randint(0, len(data)), data[start : start + n], pool)


def splice(rng: Random, data: bytes, pool: Pool) -> bytes:
    """The input's head joined to another corpus entry's tail."""
    others = [c for c in pool.corpus if c != data and c]
    if not others:
        return duplicate_chunk(rng, data, pool)
    other = rng.choice(others)
    head = data[: rng.randint(0, len(data))]
    tail = other[rng.randint(0, len(other) - 1) :]
    return (head + tail)[: pool.max_len]


def _insert(rng: Random, data: bytes, tokens: Sequence[bytes], pool: Pool) -> bytes:
    return _grow(data, rng.randint(0, len(data)), rng.choice(tokens), pool)


def _overwrite(rng: Random, data: bytes, tokens: Sequence[bytes], pool: Pool) -> bytes:
    token = rng.choice(tokens)
    if len(data) <= len(token):
        return token[: pool.max_len]
    at = rng.randint(0, len(data) - len(token))
    return data[:at] + token + data[at + len(token) :]


def insert_token(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A token harvested from the corpus inserted."""
    if not pool.tokens:
        return insert_bytes(rng, data, pool)
    return _insert(rng, data, pool.tokens, pool)


def overwrite_token(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A token harvested from the corpus written over the input."""
    if not pool.tokens:
        return set_byte(rng, data, pool)
    return _overwrite(rng, data, pool.tokens, pool)


def insert_dict(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A token of the user's dictionary inserted at a random place (libFuzzer's manual
    dictionary, AFL's user extras)."""
    if not pool.dictionary:
        return insert_token(rng, data, pool)
    return _insert(rng, data, pool.dictionary, pool)


def overwrite_dict(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A token of the user's dictionary written over the input at a random place."""
    if not pool.dictionary:
        return overwrite_token(rng, data, pool)
    return _overwrite(rng, data, pool.dictionary, pool)


def ascii_number(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A decimal number in the input replaced by a nearby, interesting or random one (for
    text inputs and arguments)."""
    found = list(_DIGITS.finditer(data))
    if not found:
        text = str(rng.choice(INTERESTING[1])).encode()
        return _grow(data, rng.randint(0, len(data)), text, pool)
    m = rng.choice(found)
    old = int(m.group())
    choice = rng.randrange(3)
    if choice == 0:
        new = old + rng.randint(-16, 16)
    elif choice == 1:
        new = rng.choice(INTERESTING[rng.choice((1, 2, 4))])
    else:
        new = rng.randint(-(10 ** rng.randint(1, 9)), 10 ** rng.randint(1, 9))
    return (data[: m.start()] + str(new).encode() + data[m.end() :])[: pool.max_len]


MUTATORS: tuple[tuple[str, Mutator], ...] = (
    ("flip_bit", flip_bit),
    ("flip_byte", flip_byte),
    ("set_byte", set_byte),
    ("add_byte", add_byte),
    ("interesting", interesting),
    ("insert_bytes", insert_bytes),
    ("delete_bytes", delete_bytes),
    ("duplicate_chunk", duplicate_chunk),
    ("splice", splice),
    ("insert_token", insert_token),
    ("overwrite_token", overwrite_token),
    ("ascii_number", ascii_number),
)
"""Every mutator, by name; :func:`mutate` picks among them uniformly."""

DICT_MUTATORS: tuple[tuple[str, Mutator], ...] = (
    ("insert_dict", insert_dict),
    ("overwrite_dict", overwrite_dict),
)
"""The mutators of the user's dictionary, picked as often as each other mutator when the pool
has one (so a session without ``--dict`` makes exactly the choices it always made)."""


def mutate(rng: Random, data: bytes, pool: Pool) -> bytes:
    """A stack of 1, 2, 4 or 8 random mutations of ``data`` (AFL's havoc stage)."""
    mutators = MUTATORS + DICT_MUTATORS if pool.dictionary else MUTATORS
    for _ in range(1 << rng.randrange(4)):
        data = mutators[rng.randrange(len(mutators))][1](rng, data, pool)
    return data


DETERMINISTIC_MAX = 512
"""Inputs up to this size get the deterministic stage (longer ones only random mutations)."""


def deterministic(data: bytes) -> Iterator[bytes]:
    """AFL's deterministic stage, for a seed: every single bit flipped in turn, then every
    byte set to each one-byte interesting value (nothing for inputs longer than
    :data:`DETERMINISTIC_MAX`). Off-by-one lengths and zero divisors are one step away."""
    if len(data) > DETERMINISTIC_MAX:
        return
    for at in range(len(data)):
        for bit in range(8):
            yield data[:at] + bytes((data[at] ^ (1 << bit),)) + data[at + 1 :]
    for at in range(len(data)):
        for value in INTERESTING[1]:
            byte = value & 0xFF
            if byte != data[at] and bin(byte ^ data[at]).count("1") > 1:
                yield data[:at] + bytes((byte,)) + data[at + 1 :]


def harvest_tokens(corpus: Iterable[bytes], limit: int = 64) -> tuple[bytes, ...]:
    """The dictionary: printable runs and words (3..32 bytes) found in the corpus, the most
    frequent first, at most ``limit``."""
    counts: collections.Counter[bytes] = collections.Counter()
    for entry in corpus:
        counts.update(set(_TOKEN.findall(entry)))
        counts.update(set(_WORD.findall(entry)))
    return tuple(t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
