"""The journal's crash hook: the test seam the crash-window tests (tests/test_resume.py) kill the
recorder from, injected by the test, never read from the environment."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasm_rr import engine
from wasm_rr.trace import load
from wasm_rr.world import Streams, journal

from ..conftest import guest, run_config


@pytest.fixture
def calls() -> Iterator[list[tuple[str, str]]]:
    seen: list[tuple[str, str]] = []
    journal.set_crash_hook(lambda window, effect: seen.append((window, effect)))
    try:
        yield seen
    finally:
        journal.set_crash_hook(None)


def _fstour(tmp_path: Path, trace: Path, replay: bool = False) -> None:
    (tmp_path / "d").mkdir(exist_ok=True)
    config = run_config(
        guest("fstour"), ["/scratch"], dirs=[(str(tmp_path / "d"), "/scratch", False)]
    )
    streams = Streams(None, io.BytesIO(), io.BytesIO())
    if replay:
        result = engine.replay(guest("fstour"), trace, streams)
    else:
        result = engine.record(guest("fstour"), trace, config, streams)
    assert result.outcome.exit_code == 0


def test_the_hook_is_called_at_each_window_of_every_journalled_effect(
    tmp_path: Path, calls: list[tuple[str, str]]
) -> None:
    trace = tmp_path / "t.cbor"
    _fstour(tmp_path, trace)
    intents = [e.question[0] for e in load(trace).events() if e.name == "journal.intent"]
    assert {"fs.write", "fs.append", "fs.rename", "fs.mkdir"} <= set(intents)
    # Per effect, in order: the four windows naming it, or the first two for an effect that
    # failed (an errno: neither done nor completed as an effect).
    groups: list[list[tuple[str, str]]] = []
    for call in calls:
        if call[0] == "before-intent":
            groups.append([])
        groups[-1].append(call)
    assert [group[0][1] for group in groups] == intents
    for group, effect in zip(groups, intents, strict=True):
        assert group in ([(w, effect) for w in journal.WINDOWS[:n]] for n in (2, 4)), group
    done = {group[0][1] for group in groups if len(group) == 4}
    assert {"fs.write", "fs.append", "fs.rename", "fs.mkdir"} <= done


def test_no_hook_is_called_on_replay_or_once_removed(
    tmp_path: Path, calls: list[tuple[str, str]]
) -> None:
    trace = tmp_path / "t.cbor"
    _fstour(tmp_path, trace)
    calls.clear()
    _fstour(tmp_path, trace, replay=True)
    assert calls == []
    journal.set_crash_hook(None)
    _fstour(tmp_path, tmp_path / "again.cbor")
    assert calls == []


def test_wasm_rr_reads_no_test_setting_from_the_environment() -> None:
    package = Path(journal.__file__).resolve().parents[1]
    readers = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if "WASM_RR_TEST" in p.read_text(encoding="utf-8")
    ]
    assert readers == []
