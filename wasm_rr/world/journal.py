"""The journal of effects: an intent before every effect that changes the world outside the
guest, so that a recording cut off by a crash can be resumed without doing an effect twice.

A family whose call changes something outside (a file written, renamed or removed, a host
program run, an HTTP request sent) records a ``journal.intent`` event (the effect's kind, the
key fields of its call, and what it needs later to observe the effect: a file's size before an
append, whether a name existed) *before* the effect, and its own event, the *completion*, after
it. A trace whose last event is an intent was cut off while that effect was in flight:
``wasm-rr resume`` resolves it by the family's policy (observe the world, re-dispatch the
effect, or ask the user) and records which in a ``journal.resolved`` event before the
completion. Replay consumes both when they are there (older traces have neither).

The journal family has no protocol of its own: the families that journal use :class:`Journal`
(recording) and :class:`JournalReplay` (replaying). A crash hook (:func:`set_crash_hook`, a
test seam) is called at each point around a journalled effect; the crash-window tests install
one that kills the recorder there (tests/crash_hook.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cbor2

from ..errors import ArgsMismatchError, PendingIntentError, UnresolvedIntentError
from ..trace.events import EventDecl, f
from ..trace.writer import enc_item
from .base import Recorder, Replayer, describe
from .family import Family

FAMILY_NAME = "journal"

INTENT = EventDecl(
    FAMILY_NAME,
    "intent",
    (f("effect", "str"), f("call", "list")),
    (f("context", "any"),),
    doc="an effect about to happen (its kind and the key fields of its call); its completion "
    "is the effect's own event, next",
)
RESOLVED = EventDecl(
    FAMILY_NAME,
    "resolved",
    (f("effect", "str"),),
    (f("intent", "uint"), f("policy", "str"), f("observed", "any")),
    doc="on resume: how an intent left without completion was resolved (observe, re-dispatch, "
    "assume-done, assume-not-done) and what was observed",
)

INTERRUPT = "interrupt"
TIMEOUT = "timeout"


def stop_text(reason: Any, after_ns: Any, timeout_ns: Any) -> str:
    """``Ctrl-C after 2.3 s``, ``timeout after 1 s``: why and when a recording was stopped."""
    if reason == TIMEOUT and isinstance(timeout_ns, int):
        return f"timeout after {timeout_ns / 1e9:g} s"
    what = "Ctrl-C" if reason == INTERRUPT else str(reason)
    return f"{what} after {after_ns / 1e9:.1f} s" if isinstance(after_ns, int) else what


STOPPED = EventDecl(
    FAMILY_NAME,
    "stopped",
    (),
    (f("reason", "str"), f("after_ns", "uint"), f("timeout_ns", "uint", nullable=True)),
    doc="the recording was stopped here (reason interrupt: Ctrl-C; timeout: --timeout) after "
    "after_ns of running; its fuel is how far the guest got since the event before. Only "
    "ever the last event of a trace without footer: replay stops the guest at the same point",
    line=lambda q, a: f"journal.stopped: {stop_text(*a)}",
)

OBSERVE = "observe"
REDISPATCH = "re-dispatch"
ASSUME_DONE = "assume-done"
ASSUME_NOT_DONE = "assume-not-done"

WINDOWS = ("before-intent", "after-intent", "after-effect", "after-completion")
"""The points around a journalled effect, in order, where the crash hook is called."""

CrashHook = Callable[[str, str], None]
"""``hook(window, effect)``: called at each of :data:`WINDOWS` of every journalled effect this
process records (``effect`` is its kind, ``fs.write`` say)."""

_crash_hook: CrashHook | None = None


def set_crash_hook(hook: CrashHook | None) -> None:
    """Call ``hook`` around every journalled effect recorded from now on in this process (None:
    no more). A test seam: the crash-window tests kill the recorder from it; wasm-rr itself
    never installs one."""
    global _crash_hook
    _crash_hook = hook


_NULL = b"\xf6"


def _enc(value: Any) -> bytes:
    """CBOR for an intent's fields (ints, bytes, text, lists of them) without cbor2's per-call
    cost; anything else through cbor2."""
    t = type(value)
    if t is int or t is bytes:
        return enc_item(value)
    if t is str:
        data = value.encode()
        return bytes((0x60 + len(data),)) + data if len(data) < 24 else bytes(cbor2.dumps(value))
    if t is list and len(value) < 24:
        return bytes((0x80 + len(value),)) + b"".join(map(_enc, value))
    if value is None:
        return _NULL
    return bytes(cbor2.dumps(value))


class Journal:
    """The recording side: writes intents and resolutions, and on resume hands the effect in
    flight (:attr:`pending`) to the family that made it. One per recorder (:meth:`of`)."""

    def __init__(self, recorder: Recorder) -> None:
        self._rec = recorder
        self._intent = recorder.code(INTENT)
        self._resolved = recorder.code(RESOLVED)
        self.pending: PendingIntentError | None = None
        """On resume: the intent the trace ends with, until the call that made it comes."""
        self.assume: str | None = None
        """``--assume-done`` / ``--assume-not-done``: the answer for effects that cannot be
        observed (:data:`ASSUME_DONE`, :data:`ASSUME_NOT_DONE`, or None: stop and ask)."""
        self.seq = 0
        """The seq of the last intent (recorded, or the pending one being resolved)."""
        self.effect = ""
        """The kind of the last intent recorded while a crash hook is installed."""

    @classmethod
    def of(cls, recorder: Recorder) -> Journal:
        journal = recorder.journal
        if journal is None:
            journal = recorder.journal = cls(recorder)
        assert isinstance(journal, Journal)
        return journal

    def intent(
        self, effect: str, call: list[Any], context: Callable[[], object] | None = None
    ) -> PendingIntentError | None:
        """Record the intent of ``effect`` before it happens; on resume, when it is the effect
        that was in flight, record nothing and return it (the caller resolves it).
        ``context`` is a function computing what observing the effect needs later."""
        pending = self.pending
        if pending is not None:
            self.pending = None
            self.seq = pending.seq
            return pending  # replay checked that this call is the recorded one
        hook = _crash_hook
        if hook is not None:
            self.effect = effect
            hook("before-intent", effect)
        self.seq = self._rec.events + 1
        body = _enc(effect) + _enc(call) + (_NULL if context is None else _enc(context()))
        self._rec.put(self._intent, body)
        if hook is not None:
            hook("after-intent", effect)
        return None

    def resolved(self, pending: PendingIntentError, policy: str, observed: Any = None) -> None:
        self._rec.event(self._resolved, pending.effect, pending.seq, policy, observed)

    def ask(self, pending: PendingIntentError, what: str) -> str:
        """An effect that cannot be observed: the user's ``--assume-*`` answer (recorded), or
        :class:`UnresolvedIntentError`."""
        if self.assume is None:
            raise UnresolvedIntentError(pending.seq, pending.effect, what)
        self.resolved(pending, self.assume)
        return self.assume


def effected(journal: Journal) -> None:
    """The effect happened (its completion is not recorded yet)."""
    hook = _crash_hook
    if hook is not None:
        hook("after-effect", journal.effect)


def completed(journal: Journal) -> None:
    """The effect's completion is recorded."""
    hook = _crash_hook
    if hook is not None:
        hook("after-completion", journal.effect)


class JournalReplay:
    """The replaying side: consumes an effect's intent (checked like any question) and any
    resolutions before its completion; at the cut of a trace that ends with the intent, raises
    :class:`~wasm_rr.errors.PendingIntentError` (a cut-off error, which resume catches)."""

    def __init__(self, replayer: Replayer, intent: int) -> None:
        self._r = replayer
        self._intent = intent
        self._resolved = replayer.code(RESOLVED)
        self._take = replayer.take_opt
        self._cut_off = replayer.trace.cut_off

    @classmethod
    def of(cls, replayer: Replayer) -> JournalReplay | None:
        """None for a trace without intents (recorded before the journal): nothing to take."""
        code = replayer.code(INTENT)
        return None if code < 0 else cls(replayer, code)

    def consume(self, effect: str, call: list[Any]) -> None:
        """Take the intent before an effect's completion (and any resolutions). Its question is
        checked by the completion's own check, whose drift message says more; only an intent
        the trace ends with (the effect in flight) is checked here."""
        take = self._take
        got = take(self._intent)
        if got is None:
            return
        resolutions = 0
        while self._resolved >= 0 and take(self._resolved) is not None:
            resolutions += 1
        if self._cut_off and self._r.peek() is None:
            seq = self._r.seq - resolutions  # the intent's
            if [got[0], got[1]] != [effect, call]:
                raise ArgsMismatchError(
                    seq,
                    describe(INTENT, (got[0], got[1])),
                    "called " + describe(INTENT, (effect, call)),
                )
            raise PendingIntentError(seq, effect, call, got[2])


class _Nothing:
    """The journal family's implementation: the families that journal do the work."""

    def close(self) -> None:
        pass


FAMILY: Family[_Nothing] = Family(
    FAMILY_NAME,
    (INTENT, RESOLVED, STOPPED),
    live=lambda ctx: _Nothing(),
    recording=lambda live, rec, ctx: _Nothing(),
    replaying=lambda rep, ctx: _Nothing(),
    doc="intents before effects that change the world outside the guest, how resume "
    "resolved one left in flight, and where a stopped recording stopped",
)

__all__ = [
    "ASSUME_DONE",
    "ASSUME_NOT_DONE",
    "FAMILY",
    "INTENT",
    "INTERRUPT",
    "OBSERVE",
    "REDISPATCH",
    "RESOLVED",
    "STOPPED",
    "TIMEOUT",
    "WINDOWS",
    "CrashHook",
    "Journal",
    "JournalReplay",
    "completed",
    "effected",
    "set_crash_hook",
    "stop_text",
]
