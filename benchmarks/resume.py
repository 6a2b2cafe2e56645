"""`make bench`, the journal and resume: what intents cost when recording, and that replaying a
trace with intents, and a resumed trace, is as fast as before.

* journalling, per effect: one intent event (a file write), and an intent with the stat of the
  name a creating open observes later; next to recording a whole write (open, write, close);
* replay of a write-heavy job (benchmarks/fs_write.tape: 300 x open+write+close) from its trace
  with intents, against the same trace with the intents (and their kinds) taken out, which is
  what a trace recorded before the journal holds;
* replay of that job's trace cut in the middle and resumed, against the trace recorded in one go.

Every figure is measured in this run, best of several repetitions (thread CPU time).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from wasm_rr import engine
from wasm_rr.config import DirSpec, RunConfig
from wasm_rr.trace import TraceWriter, load
from wasm_rr.world import Streams, live_world
from wasm_rr.world.base import Recorder
from wasm_rr.world.fs import Op, _Resolver
from wasm_rr.world.journal import Journal

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).parent / "fs_write.tape"
N = 300


def best(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.thread_time()
        fn()
        times.append(time.thread_time() - t0)
    return min(times)


def streams() -> Streams:
    return Streams(None, io.BytesIO(), io.BytesIO())


def copy_events(
    src: Path, dst: Path, keep: Callable[[str], bool], kinds: bool, cut: int | None
) -> None:
    """``src`` re-written with only the events ``keep`` accepts (without the journal's kinds in
    the header when ``kinds`` is False), complete, or cut off after ``cut`` events."""
    trace = load(src)
    header = trace.header
    if not kinds:
        header = replace(header, kinds={c: k for c, k in header.kinds.items() if keep(k)})
    w = TraceWriter(dst, header)
    evs, fuel = [], 0
    for ev in trace.events():
        fuel += ev.fuel  # a dropped event's instructions count for the next one kept
        if keep(ev.name):
            evs.append(replace(ev, fuel=fuel))
            fuel = 0
    for ev in evs[:cut] if cut is not None else evs:
        assert ev.decl is not None
        fields = [
            w.payload(f) if j in ev.decl.payload_slots and isinstance(f, bytes) else f
            for j, f in enumerate(ev.fields)
        ]
        w.event_with_fuel(w.code(ev.decl), ev.fuel, *fields)
    assert trace.footer is not None
    w.close(replace(trace.footer, events=len(evs)) if cut is None else None)


def journal_costs(tmp: Path, reps: int) -> tuple[float, float]:
    """Per intent: a write's (an event), a creating open's (an event and a stat)."""
    cfg = RunConfig(["x"], {}, [DirSpec(str(tmp), "/w", False)])
    live = live_world(cfg, streams())
    header = engine._header(engine.load_guest(SCRIPT), cfg)
    n = 2000

    def intents(open_: bool) -> None:
        writer = TraceWriter(None, header)
        journal = Journal(Recorder(writer))
        resolver = _Resolver(live.fs)
        for i in range(n):
            if open_:
                args = [1, "out.txt", 0b1111]
                journal.intent("fs.open", args, lambda a=args: resolver.context(Op.OPEN, a))
            else:
                journal.intent("fs.write", [2, b"line %d of a write-heavy job\n" % i, 29, 0])
        writer.close(None)

    try:
        return best(lambda: intents(False), reps) / n * 1e6, best(
            lambda: intents(True), reps
        ) / n * 1e6
    finally:
        live.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "w").mkdir()
        guest = engine.load_guest(SCRIPT)
        empty_path = tmp / "none.tape"
        empty_path.write_text(SCRIPT.read_text().replace("0..300", "0..0"))
        empty = engine.load_guest(empty_path)
        cfg = RunConfig([SCRIPT.name], {}, [DirSpec(str(tmp / "w"), "/w", False)])
        full, none = tmp / "full.cbor", tmp / "none.cbor"
        rec_n = best(lambda: engine.record(guest, full, cfg, streams()), opts.reps)
        rec_0 = best(lambda: engine.record(empty, none, cfg, streams()), opts.reps)
        per_write = (rec_n - rec_0) / N * 1e6

        def replay(g: engine.Guest, t: Path) -> Callable[[], object]:
            return lambda: engine.replay(g, t, streams())

        # Both re-written the same way (without the .tape program's site records).
        plain, intents = tmp / "plain.cbor", tmp / "intents.cbor"
        copy_events(full, plain, lambda k: not k.startswith("journal."), kinds=False, cut=None)
        copy_events(full, intents, lambda k: True, kinds=True, cut=None)
        rep_intents = best(replay(guest, intents), opts.reps)
        rep_plain = best(replay(guest, plain), opts.reps)
        rep_0 = best(replay(empty, none), opts.reps)
        resumed = tmp / "resumed.cbor"
        events = len(list(load(full).events()))
        copy_events(full, resumed, lambda k: True, kinds=True, cut=events // 2)
        assert not load(resumed).footer
        engine.resume(guest, resumed, streams())
        rep_resumed = best(replay(guest, resumed), opts.reps)
        rep_full = best(replay(guest, full), opts.reps)  # as recorded: with its site records
        intent_write, intent_open = journal_costs(tmp / "w", opts.reps)
        sizes = (intents.stat().st_size - plain.stat().st_size) / N

    print(
        f"journal and resume ({N} file writes: open+create+truncate, write, close; "
        f"best of {opts.reps}):"
    )
    print(
        f"  record, per file write (3 events, 2 intents): {per_write:.1f} us; of which "
        f"journalling: the write's intent {intent_write:.2f} us, the creating open's (with a stat) "
        f"{intent_open:.2f} us; {sizes:.0f} trace bytes"
    )
    per = (rep_intents - rep_0) / N * 1e6
    per_plain = (rep_plain - rep_0) / N * 1e6
    print(
        f"  replay, per file write: with intents {per:.1f} us, without (as before the journal) "
        f"{per_plain:.1f} us: {per / per_plain:.2f}x"
    )
    print(
        f"  replay of the whole job: recorded in one go {rep_full * 1e3:.1f} ms, cut in the "
        f"middle and resumed {rep_resumed * 1e3:.1f} ms: {rep_resumed / rep_full:.2f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
