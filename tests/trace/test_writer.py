"""The writer's mechanisms for large recordings: payloads streamed with pwritev (the records
after them finished with pwrite), and the file digest computed on a thread while recording."""

from __future__ import annotations

import os
import time
from pathlib import Path

import blake3
import pytest

from wasm_rr.trace import TraceWriter, load, writer
from wasm_rr.world import clocks
from wasm_rr.world import random as random_family
from wasm_rr.world.base import ViewSource

from .test_format import HEADER, footer


def _blob(i: int, n: int) -> bytes:
    return bytes((i * 13 + j) & 0xFF for j in range(256)) * (n // 256)


def _record(path: Path, sizes: list[int]) -> list[bytes]:
    """Clock reads between payloads of these sizes, half of them streamed from a view (as a
    read straight into guest memory is recorded), half given whole."""
    w = TraceWriter(path, HEADER)
    blobs = []
    for i, n in enumerate(sizes):
        data = _blob(i, n)
        blobs.append(data)
        w.event_with_fuel(w.code(clocks.NOW), 3, 1, i)
        ref = w.payload_stream(ViewSource(memoryview(data))) if i % 2 else w.payload(data)
        w.event_with_fuel(w.code(random_family.SECURE), 5, ref)
    w.event_with_fuel(w.code(clocks.NOW), 3, 1, 99)
    w.close(footer(w.events))
    return blobs


def test_a_large_recording_is_digested_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The digest thread starts once the file grows past ``_HASH_AHEAD`` and hashes pieces of
    the finished region; whatever it has done when the trace closes, the digest is the file's
    (the reader verifies it), and it did some of the work."""
    monkeypatch.setattr(writer, "_HASH_AHEAD", 1 << 20)
    monkeypatch.setattr(writer, "_HASH_AHEAD_PIECE", 64 << 10)
    started: list[writer._Hasher] = []
    real = writer._Hasher

    class Spy(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object) -> None:
            super().__init__(*args)
            started.append(self)

        def finish(self, end: int) -> bytes | None:
            # Wait until it has hashed something (it looks every few ms), so that the digest
            # below is the thread's work and the main thread's together, not the main's alone.
            deadline = time.monotonic() + 60
            while self.done == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            return super().finish(end)

    monkeypatch.setattr(writer, "_Hasher", Spy)
    p = tmp_path / "t.cbor"
    blobs = _record(p, [(64 << 10) + 256 * i for i in range(64)])
    assert len(started) == 1 and started[0].done > 0
    raw = p.read_bytes()
    assert raw[-32:] == blake3.blake3(raw[:-34]).digest()
    events = list(load(p).events())
    assert [e.fields[0] for e in events[1:-1:2]] == blobs


def test_the_digest_thread_stops_before_a_streamed_payload_is_finished(tmp_path: Path) -> None:
    """While a payload is streamed, its record's first byte is still zero: the region the
    thread may hash ends before it (``_final``)."""
    w = TraceWriter(tmp_path / "t.cbor", HEADER)
    start = w.size
    seen: list[tuple[int, int]] = []

    class Source:
        size = 100_000

        def chunks(self) -> object:
            for _ in range(2):
                seen.append((w._final(), w.size))
                yield b"x" * 50_000

    w.payload_stream(Source())
    # The first pass hashes the payload; in the second, the head is written and held.
    assert all(final == start for final, _ in seen) and seen[-1][1] > start
    assert w._final() == w.size
    w.close(footer(0))


def test_a_record_after_a_streamed_payload_is_written_without_the_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page a pwritev ended in is finished with pwrite (a store through the mapping would
    fault the page in, which costs more than the call); the first byte still goes last."""
    writes: list[tuple[int, int]] = []
    real = os.pwrite

    def spy(fd: int, data: bytes, offset: int) -> int:
        writes.append((offset, len(data)))
        return real(fd, data, offset)

    monkeypatch.setattr(writer.os, "pwrite", spy)
    p = tmp_path / "t.cbor"
    w = TraceWriter(p, HEADER)
    ref = w.payload(_blob(1, 40_000))
    at = w.size
    w.event_with_fuel(w.code(random_family.SECURE), 5, ref)
    w.put(w.code(clocks.NOW), b"\x01\x02")
    w.close(footer(w.events))
    mine = [(o, n) for o, n in writes if o >= at]
    assert mine[:2] == [(at + 1, mine[0][1]), (at, 1)]  # the body, then the first byte
    assert len(list(load(p).events())) == 2


def test_a_writer_dropped_without_closing_ends_its_digest_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An error path that never closes the writer must not leave the thread polling forever."""
    import gc

    monkeypatch.setattr(writer, "_HASH_AHEAD", 1 << 20)
    w = TraceWriter(tmp_path / "t.cbor", HEADER)
    w.payload(_blob(1, 3 << 20))
    hasher = w._hasher
    assert hasher is not None and hasher.thread.is_alive()
    time.sleep(0.05)  # the thread has looked a few times (and let go of the writer each time)
    del w
    # The writer is collected (a collection may meet the thread in the middle of a look: the
    # next one frees it), and the thread ends once it sees it gone.
    deadline = time.monotonic() + 30
    while hasher.thread.is_alive() and time.monotonic() < deadline:
        gc.collect()
        hasher.thread.join(0.05)
    assert not hasher.thread.is_alive()


# ---- a trace that cannot get its header leaves no file ------------------------------------------


class FullDisk:
    """A ``reserve`` for the writer: the disk takes ``room`` more bytes, then answers ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.calls: list[tuple[int, int]] = []

    def __call__(self, fd: int, offset: int, length: int) -> None:
        import errno

        self.calls.append((offset, length))
        if length > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= length
        writer.reserve_space(fd, offset, length)


def test_a_full_disk_before_the_header_leaves_no_file(tmp_path: Path) -> None:
    from wasm_rr.errors import TraceWriteError

    t = tmp_path / "t.cbor"
    disk = FullDisk(0)
    with pytest.raises(TraceWriteError) as caught:
        TraceWriter(t, HEADER, reserve=disk)
    assert disk.calls == [(0, 1 << 20)]
    assert str(caught.value) == (
        f"cannot write trace {t}: No space left on device; nothing was recorded and no file is "
        "left; free some space, or record to a file on a writable disk"
    )
    assert list(tmp_path.iterdir()) == []
    # An older trace at that path is gone too (its recording was asked to replace it).
    t.write_bytes(b"an older trace")
    with pytest.raises(TraceWriteError, match="no file is left"):
        TraceWriter(t, HEADER, reserve=FullDisk(0))
    assert list(tmp_path.iterdir()) == []
    TraceWriter(t, HEADER, reserve=FullDisk(1 << 20)).close(None)  # room for the first MiB
    assert load(t).cut_off


def test_a_header_larger_than_the_room_left_leaves_no_file(tmp_path: Path) -> None:
    """A guest embedded in the header (3 MiB) needs the file to grow before the header is
    complete: the disk has 1 MiB, so nothing is written, rather than a file of zeros."""
    from dataclasses import replace

    from wasm_rr.errors import TraceWriteError

    t = tmp_path / "t.cbor"
    big = replace(HEADER, guest_wasm=bytes(3 << 20))
    with pytest.raises(TraceWriteError, match="No space left on device; nothing was recorded"):
        TraceWriter(t, big, reserve=FullDisk(1 << 20))
    assert list(tmp_path.iterdir()) == []
    w = TraceWriter(t, big, reserve=FullDisk(64 << 20))
    w.close(footer(0))
    assert load(t).header.guest_wasm == bytes(3 << 20)


def test_a_header_that_cannot_be_encoded_leaves_no_file(tmp_path: Path) -> None:
    from dataclasses import replace

    from wasm_rr.errors import UsageError

    t = tmp_path / "t.cbor"
    config = replace(HEADER.config, families={"process": {"allow_run": {"\udcff": "/x"}}})
    with pytest.raises(UsageError, match=r"hold '\\udcff', which is not text.*nothing was"):
        TraceWriter(t, replace(HEADER, config=config))
    assert list(tmp_path.iterdir()) == []


def test_a_symbolic_link_is_not_removed_with_a_failed_header(tmp_path: Path) -> None:
    from wasm_rr.errors import TraceWriteError

    target, link = tmp_path / "target.cbor", tmp_path / "link.cbor"
    link.symlink_to(target)
    with pytest.raises(TraceWriteError):
        TraceWriter(link, HEADER, reserve=FullDisk(0))
    assert link.is_symlink() and target.read_bytes() == b""


# ---- sites: the same event paths, each preceded by a SITE record ------------------------------


def _events_through_every_path(path: Path, sites: bool) -> TraceWriter:
    w = TraceWriter(path, HEADER)
    site = [0]
    if sites:

        def register() -> int:
            site[0] += 1
            return site[0]

        w.enable_sites(register)
    fuel = [0]
    w.attach_fuel(fuel)
    clock = [100, 5_000]
    read = w.reads_summed(w.code(clocks.NOW), [lambda: clock[0], lambda: clock[1]])
    code = w.code(random_family.SECURE)
    for i in range(3):
        fuel[0] += 7
        w.put(code, writer.enc_item(bytes([i])))
        fuel[0] += 1000
        w.put2(w.code(clocks.NOW), 1, i)
        clock[0] += 30
        assert read(0) == clock[0] and read(1) == clock[1]
    return w


def test_with_sites_every_event_path_writes_the_same_events_each_after_its_site(
    tmp_path: Path,
) -> None:
    plain = _events_through_every_path(tmp_path / "plain.cbor", sites=False)
    plain.close(footer(plain.events))
    sited = _events_through_every_path(tmp_path / "sites.cbor", sites=True)
    sited.close(footer(sited.events))
    a, b = (
        list(load(tmp_path / "plain.cbor").events()),
        list(load(tmp_path / "sites.cbor").events()),
    )
    assert [(e.name, e.fuel, e.fields) for e in a] == [(e.name, e.fuel, e.fields) for e in b]
    assert [e.site for e in a] == [None] * 12 and [e.site for e in b] == list(range(1, 13))


@pytest.mark.parametrize("sites", [False, True], ids=["plain", "sites"])
def test_a_read_of_a_clock_that_is_not_there_raises_and_writes_nothing(
    tmp_path: Path, sites: bool
) -> None:
    # A negative index must not read another clock from the end of the list (readers[-1]).
    w = _events_through_every_path(tmp_path / "t.cbor", sites)
    read = w.reads_summed(w.code(clocks.NOW), [lambda: 1, lambda: 2])
    before = (w.size, w.events)
    for q in (-1, 2):
        with pytest.raises(IndexError):
            read(q)
    assert (w.size, w.events) == before
    w.close(footer(w.events))
    assert len(list(load(tmp_path / "t.cbor").events())) == 12
