"""The errors wasm-rr reports: one small typed hierarchy.

Every error carries a one-line message that says what happened and what to do. The CLI prints
``wasm-rr: <message>`` and exits with :attr:`WasmRRError.exit_status` (125 for every error
raised here: usage, trace and drift errors), never a traceback. Guest exits and traps are not
errors: they are outcomes, and wasm-rr exits with the guest's own status. Any other exception is
a bug in wasm-rr: the CLI prints ``wasm-rr: internal error: <type>: <message>; please report
it ...`` and exits with :data:`EXIT_INTERNAL` (70), after the trace being recorded was closed
(it keeps every event recorded so far).
"""

from __future__ import annotations

from typing import Any

EXIT_TOOL_ERROR = 125
"""Exit status for usage, trace and drift errors (like ``git bisect run``'s "cannot test")."""

EXIT_INTERNAL = 70
"""Exit status for a bug in wasm-rr itself (``EX_SOFTWARE`` of sysexits.h)."""

EXIT_TRAP = 134
"""Exit status when the guest trapped (128 + SIGABRT, as wasmtime's CLI)."""

EXIT_OUTPUT_LOST = 74
"""Exit status when a replay matched its recording but could not write the guest's output
(``EX_IOERR`` of sysexits.h)."""


class WasmRRError(Exception):
    """Base of every error wasm-rr reports to its user."""

    exit_status: int = EXIT_TOOL_ERROR

    context: tuple[str, ...] = ()
    """Lines the command line prints after the message's own line, as they are (a source line
    and a caret under the column); the message itself stays one line."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def for_command(self, command: str) -> str:
        """The message as ``wasm-rr COMMAND`` prints it. ``str(err)`` is the library's: where
        the remedy is an option, it names the keyword argument (``allow_code_change=True``);
        the command line names what that command takes (``--allow-code-change``)."""
        return self.message


# ---- usage -------------------------------------------------------------------------------------


class UsageError(WasmRRError):
    """The command line or its inputs are wrong (missing file, not wasm, bad option)."""


class NotWasmError(UsageError):
    """The guest file is not a WebAssembly module or component."""


class TapeCompileError(UsageError):
    """A ``.tape`` script does not compile; the message is one line, ``file:line:col:
    message``, and :attr:`context` holds the source line and a caret under the column."""

    def __init__(self, message: str, context: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.context = context


class GuestLoadError(UsageError):
    """The guest is wasm but cannot be compiled or linked by this host."""


class HostSetupError(WasmRRError):
    """The installed wasmtime-py lacks something wasm-rr's host relies on (a private attribute,
    a C function, or the version it was written for)."""


class Interrupted(WasmRRError):
    """The user interrupted wasm-rr (Ctrl-C)."""

    exit_status = 130


# ---- trace files ---------------------------------------------------------------------------------


class TraceError(WasmRRError):
    """A trace file cannot be used."""


class TraceNotFoundError(TraceError):
    """The trace path does not exist."""


class CorruptTraceError(TraceError):
    """The trace's bytes are damaged (bad CBOR, checksum mismatch, impossible structure)."""


class TraceWriteError(TraceError):
    """The trace cannot be written: its path is not a regular file, or the disk is full."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message
        """Why, in a few words (``No space left on device``)."""


class TraceBusyError(TraceWriteError):
    """Another recording is writing the same trace file."""


class UnsupportedTraceVersionError(TraceError):
    """The trace was written by a format version this wasm-rr cannot read."""


# ---- drift: the run being replayed is not the run that was recorded ---------------------------


class DriftError(WasmRRError):
    """Replay diverged from the recording at a given event.

    ``seq`` is the 1-based number of the event where the divergence was seen; ``expected``
    describes what the recording holds there and ``got`` what this run did.
    """

    hint = "re-record the run, or replay it with the same guest and wasm-rr version"

    def __init__(self, seq: int, expected: Any, got: Any, detail: str = "") -> None:
        self.seq = seq
        self.expected = expected
        self.got = got
        self.detail = detail
        super().__init__(self._format())

    def at_sites(self, recorded: str | None, current: str | None) -> DriftError:
        """The same error, saying where in the source each call was made (``.tape`` programs).

        ``recorded`` and ``current`` read like ``random.bits at hello.tape:4:11``.
        """
        if isinstance(self, KindMismatchError | SiteMismatchError):
            expected = recorded or self.expected
            got = f"called {current}" if current else self.got
        else:
            expected = f"{self.expected} (at {recorded})" if recorded else self.expected
            got = f"{self.got} (at {current})" if current else self.got
        return type(self)(self.seq, expected, got, self.detail)

    def _what(self) -> str:
        return "replay diverged"

    def _format(self) -> str:
        text = (
            f"seq {self.seq}: {self._what()}: the recording has {self.expected}, "
            f"this run {self.got}"
        )
        if self.detail:
            text += f" ({self.detail})"
        return f"{text}; {self.hint}"


class EndOfTraceError(DriftError):
    """The guest asked the world more questions than the recording holds."""

    hint = "the guest took a different path than when it was recorded; re-record it"

    def _what(self) -> str:
        return "end of trace"


class KindMismatchError(DriftError):
    """The guest made a different kind of call than the recording holds at this point."""

    hint = "the guest took a different path than when it was recorded; re-record it"

    def _what(self) -> str:
        return "kind mismatch"


class ArgsMismatchError(DriftError):
    """Same kind of call, different question (e.g. 100 random bytes where 8 were recorded)."""

    hint = "the guest asked a different question than when it was recorded; re-record it"

    def _what(self) -> str:
        return "args mismatch"


class SiteMismatchError(DriftError):
    """The same call, made from another place in the program's source."""

    hint = "the program took a different path than when it was recorded; re-record it"

    def _what(self) -> str:
        return "site mismatch"


class OutputMismatchError(DriftError):
    """The guest wrote different bytes than it wrote during the recording."""

    hint = "the guest's output changed; re-record it"

    def _what(self) -> str:
        return "output mismatch"


class FuelMismatchError(DriftError):
    """The guest executed a different number of instructions before this call."""

    hint = "the guest took a different path between two calls; re-record it"

    def _what(self) -> str:
        return "fuel mismatch"


class OutcomeMismatchError(DriftError):
    """The guest ended differently (exit status or trap) than in the recording."""

    hint = "the guest ended differently; re-record it"

    def _what(self) -> str:
        return "outcome mismatch"


class UnusedEventsError(DriftError):
    """The guest ended while the recording still holds events."""

    hint = "the guest stopped earlier than when it was recorded; re-record it"

    def _what(self) -> str:
        return "unused events left at exit"


class CodeHashMismatchError(WasmRRError):
    """The guest's bytes changed since the recording. ``resuming``: raised by ``resume``, which
    has no way to run a changed guest (replay has ``allow_code_change``)."""

    def __init__(self, recorded: str, current: str, *, resuming: bool = False) -> None:
        self.recorded = recorded
        self.current = current
        self.resuming = resuming
        super().__init__(self._text("pass allow_code_change=True"))

    def for_command(self, command: str) -> str:
        return self._text("pass --allow-code-change" if command == "replay" else "")

    def _text(self, allow: str) -> str:
        head = (
            f"code hash mismatch: the trace was recorded against guest blake3 "
            f"{self.recorded[:16]}..., this guest is {self.current[:16]}...; "
        )
        if self.resuming:
            return head + (
                "a run resumes only with the guest it was recorded with: give that guest "
                "file, or no guest if the trace carries it, or re-record"
            )
        if not allow:
            return head + "give the guest the trace was recorded with, or re-record"
        return head + (
            f"replay the same guest file, re-record, or {allow} to run the changed guest "
            "until its first drift"
        )


class UnsignedTraceError(TraceError):
    """A trace required to be signed (``require_signed``) is not, or its signature does not
    verify with the key at hand. ``state`` is that of :class:`~wasm_rr.trace.sign.SignatureCheck`;
    ``given``: the key was named by the caller (else it is the user's own)."""

    def __init__(self, path: str, found: Any, *, given: bool) -> None:
        self.path = path
        self.state: str = found.state
        self.key_id: str | None = found.key_id
        self.checked_with: str | None = found.checked_with
        self.given = given
        super().__init__(self._text("record with sign_key=", "sign_key="))

    def for_command(self, command: str) -> str:
        return self._text("record with --sign", "--sign-key FILE")

    def _text(self, record: str, key: str) -> str:
        p, signer = self.path, self.key_id
        whose = "the key given" if self.given else "this user's key"
        return {
            "cut-off": f"{p} is not signed: the recording was cut off, and a signature is written "
            f"with the footer (a cut trace is never signed); {record} a run that ends",
            "unsigned": f"{p} is not signed; {record}, or replay it without requiring a signature",
            "no-key": f"{p} is signed with key {signer}, and there is no key at hand to check it "
            f"(this user has no redaction key); give the signer's key with {key}",
            "other-key": f"{p} is signed with key {signer}, {whose} is {self.checked_with}; give "
            f"the signer's key with {key}",
            "bad": f"{p}: its signature (key {signer}) does not verify: the trace was changed "
            "after it was signed; use the signed original, or re-record",
        }.get(self.state, f"{p}: its signature does not verify")


class EmbeddedGuestError(TraceError):
    """A trace's embedded guest is missing (and no guest was given) or is not the guest the
    trace was recorded against."""


class GuestNotCarriedError(EmbeddedGuestError):
    """A trace recorded without its guest, replayed with no guest given."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(
            f"{path} does not carry its guest (it was recorded without embed_guest=True); "
            "give the guest too: wasm_rr.replay(trace, guest)"
        )

    def for_command(self, command: str) -> str:
        command = command if command in ("resume", "minimize") else "replay"
        usage = "TRACE GUEST" if command == "minimize" else "GUEST TRACE"
        return (
            f"{self.path} does not carry its guest (it was recorded without --embed-guest); "
            f"give the guest too: wasm-rr {command} {usage}"
        )


class RecordingCutOffError(WasmRRError):
    """Replay reached the point where an interrupted recording stops. ``past``: the guest ran
    on after the last event without calling the host, and replay stopped it after this many
    instructions (the trace holds nothing about what came later)."""

    def __init__(self, seq: int, past: int | None = None) -> None:
        self.seq = seq
        stopped = (
            ""
            if past is None
            else f", and stopped the guest {past} instructions past it (the recording holds "
            "nothing after it)"
        )
        super().__init__(
            f"the recording was cut off after event {seq} (it has no footer: the recorder was "
            f"killed or the file truncated); replay reproduced the run up to that point{stopped}"
        )


class RecordingStoppedError(WasmRRError):
    """Replay reached the point where the recording was stopped (Ctrl-C, ``--timeout``): the
    guest is stopped there too, and the exit status is the recording's (130, 124)."""

    def __init__(self, seq: int, why: str, instruction: int, status: int, how: str) -> None:
        self.seq = seq
        self.exit_status = status
        super().__init__(
            f"the recording was interrupted here ({why}) at instruction {instruction}, after "
            f"event {seq}; {how}"
        )


class PendingIntentError(RecordingCutOffError):
    """Replay reached a journalled effect whose intent was recorded but not its completion:
    the recorder stopped while the effect was in flight. ``wasm-rr resume`` resolves it."""

    def __init__(self, seq: int, effect: str, call: list[Any], context: Any) -> None:
        super().__init__(seq)
        self.effect = effect
        self.call = call
        self.context = context
        self.message += (
            f"; event {seq} is the intent of {effect} with no completion (it was in flight); "
            "`wasm-rr resume` can finish the run"
        )


class ResumeError(TraceError):
    """A trace that cannot be resumed: complete, empty, of another guest, or a world that
    cannot be re-established (a preopen or an open file that is gone)."""


class UnresolvedIntentError(WasmRRError):
    """Resuming met an effect in flight that cannot be observed (a host program, a
    non-idempotent HTTP request) and the user did not say whether it happened."""

    def __init__(self, seq: int, effect: str, what: str) -> None:
        self.seq = seq
        self.effect = effect
        super().__init__(
            f"cannot resume: event {seq} is {effect} {what}, which was in flight when the "
            "recording stopped and cannot be observed; say whether it happened: "
            "--assume-done or --assume-not-done (the trace is left as it was)"
        )


class OutputLostError(WasmRRError):
    """A replay reproduced its recording, but the guest's output could not be written where it
    was going (a full disk, a closed pipe). The guest was answered as in the recording (its
    writes succeeded then), so the run is the recorded one; only the copy of its output is
    incomplete. ``result`` is the replay's result."""

    exit_status = EXIT_OUTPUT_LOST

    def __init__(self, lost: dict[int, tuple[int, str]], outcome: str, result: Any) -> None:
        self.lost = lost
        self.result = result
        streams = "; ".join(
            f"its {'stdout' if fd == 1 else 'stderr'} could not be written from byte {at} on "
            f"({why})"
            for fd, (at, why) in sorted(lost.items())
        )
        super().__init__(
            f"the replay matched the recording ({outcome}), but {streams}: that output is "
            "lost; the guest was answered as in the recording"
        )


__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OUTPUT_LOST",
    "EXIT_TOOL_ERROR",
    "EXIT_TRAP",
    "ArgsMismatchError",
    "CodeHashMismatchError",
    "CorruptTraceError",
    "DriftError",
    "EmbeddedGuestError",
    "EndOfTraceError",
    "FuelMismatchError",
    "GuestLoadError",
    "GuestNotCarriedError",
    "HostSetupError",
    "Interrupted",
    "KindMismatchError",
    "NotWasmError",
    "OutcomeMismatchError",
    "OutputLostError",
    "OutputMismatchError",
    "PendingIntentError",
    "RecordingCutOffError",
    "RecordingStoppedError",
    "ResumeError",
    "SiteMismatchError",
    "TapeCompileError",
    "TraceBusyError",
    "TraceError",
    "TraceNotFoundError",
    "TraceWriteError",
    "UnresolvedIntentError",
    "UnsignedTraceError",
    "UnsupportedTraceVersionError",
    "UnusedEventsError",
    "UsageError",
    "WasmRRError",
]
