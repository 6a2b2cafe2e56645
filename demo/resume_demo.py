"""`make demo-resume`: a money transfer killed mid-effect, resumed, and done exactly once.

A local bank (demo/bank.py, on 127.0.0.1) counts transfers and honors Idempotency-Key. The job
(guests/build/transfer.wasm) POSTs a transfer, then writes a receipt. Its recording is killed
with SIGKILL right after the POST reached the bank and before its answer was recorded (by
tests/crash_hook.py, the crash-window tests' recorder); `wasm-rr resume` replays the recorded
part (sending nothing), resolves the POST in flight by sending it again with the same
Idempotency-Key, and finishes the job live; `wasm-rr replay` then replays the whole run as one.
The demo fails unless the bank made exactly one transfer.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bank import Bank

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out" / "demo-resume"
GUEST = ROOT / "guests" / "build" / "transfer.wasm"
RR = [sys.executable, "-m", "wasm_rr"]


def say(text: str) -> None:
    print(text, flush=True)


def run(args: list[str], kill_at: str | None = None) -> int:
    """``wasm-rr ARGS``; with ``kill_at`` (``WINDOW:KIND:N``), SIGKILLed there."""
    shown = " ".join(shlex.quote(str(a)) for a in args)
    prefix = "" if kill_at is None else f"(killed at {kill_at}) "
    say(f"   $ {prefix}wasm-rr {shown}")
    rr = RR if kill_at is None else [sys.executable, "-m", "tests.crash_hook", kill_at]
    proc = subprocess.run([*rr, *args], cwd=ROOT, capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).splitlines():
        say(f"     {line}")
    return proc.returncode


def main() -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    (OUT / "out").mkdir(parents=True)
    trace = OUT / "transfer.cbor"
    bank = Bank().start()
    try:
        url = f"http://127.0.0.1:{bank.port}/transfer"
        say(f"== a bank on {url} (counts transfers, honors Idempotency-Key)")
        say("== record the job; kill it (SIGKILL) after the POST reached the bank, before its")
        say("   answer was recorded")
        job = [
            "record",
            str(GUEST.relative_to(ROOT)),
            "-t",
            str(trace.relative_to(ROOT)),
            "--dir",
            f"{(OUT / 'out').relative_to(ROOT)}::/out",
            "--allow-http",
            f"127.0.0.1:{bank.port}",
            "--http-idempotency-key",
            "--",
            url,
            "alice",
            "bob",
            "100",
            "/out/receipt.txt",
        ]
        status = run(job, "after-effect:http.send:1")
        receipt_made = (OUT / "out" / "receipt.txt").exists()
        say(
            f"   (the recorder died: status {status}; the bank made {len(bank.transfers)} transfer,"
        )
        say(f"   {'a' if receipt_made else 'no'} receipt was written)")
        if status != -9:
            say("FAIL: the recorder was not killed")
            return 1
        say("== the trace is cut off, the POST's intent is its last event")
        run(["inspect", str(trace.relative_to(ROOT)), "--limit", "0"])
        say("== resume: replay to the cut (nothing sent), send the POST in flight again with the")
        say("   same Idempotency-Key, write the receipt, append to the same trace")
        if run(["resume", str(GUEST.relative_to(ROOT)), str(trace.relative_to(ROOT))]) != 0:
            say("FAIL: resume failed")
            return 1
        say("== replay the whole run, cut and resumed, as one (nothing sent)")
        if run(["replay", str(GUEST.relative_to(ROOT)), str(trace.relative_to(ROOT))]) != 0:
            say("FAIL: replay failed")
            return 1
        receipt = (OUT / "out" / "receipt.txt").read_bytes()
        say(f"== the bank: {bank.requests} request(s), {len(bank.transfers)} transfer(s)")
        say(f"   receipt: {receipt.decode()}")
        if len(bank.transfers) != 1:
            say(f"FAIL: upstream observed {len(bank.transfers)} transfers, expected exactly 1")
            return 1
        say("ASSERT: upstream observed exactly 1 transfer: ok")
        return _without_a_key(bank, url, trace.with_name("nokey.cbor"))
    finally:
        bank.stop()


def _without_a_key(bank: Bank, url: str, trace: Path) -> int:
    """The same crash without --http-idempotency-key: a POST in flight cannot be observed, so
    resume stops and asks; --assume-done says the bank has it (the guest sees the connection
    drop after sending), and no second transfer is made."""
    say("== the same crash, recorded without --http-idempotency-key")
    (OUT / "out" / "receipt.txt").unlink()
    rel = str(trace.relative_to(ROOT))
    job = ["record", str(GUEST.relative_to(ROOT)), "-t", rel]
    job += ["--dir", f"{(OUT / 'out').relative_to(ROOT)}::/out", "--allow-http"]
    job += [f"127.0.0.1:{bank.port}", "--", url, "carol", "dave", "5", "/out/receipt.txt"]
    run(job, "after-effect:http.send:1")
    made = len(bank.transfers)
    say("== resume stops and asks (the trace is left as it was)")
    if run(["resume", str(GUEST.relative_to(ROOT)), rel]) != 125:
        say("FAIL: resume did not stop")
        return 1
    say("== the bank's log says it has the transfer: --assume-done")
    run(["resume", "--assume-done", str(GUEST.relative_to(ROOT)), rel])
    say(f"== the bank: {len(bank.transfers) - made} more transfer(s) after the crash")
    if len(bank.transfers) != made:
        say("FAIL: the transfer in flight was made twice")
        return 1
    say("ASSERT: no transfer was made twice: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
