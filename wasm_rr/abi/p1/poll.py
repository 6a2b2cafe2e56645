"""Preview1 ``poll_oneoff``, through ``world.poll``.

It follows wasmtime's preview1 ``poll_oneoff`` step by step, since a guest sees every detail:
no subscriptions is EINVAL; more than wasmtime's per-call budget (128 MiB of subscriptions or
events) is ENOMEM; each subscription is read field by field (a bad pointer traps naming the
field's region; an address past ``u32::MAX`` traps as an overflow), and a bad tag, clock id or
flag, a CPU-time clock, or a descriptor that cannot be polled that way fails the whole call
(EINVAL, EBADF) before anything is waited for. Then one event per ready subscription, in
subscription order, written field by field (padding is left alone): clocks with ``nbytes`` 0,
descriptors with ``nbytes`` 1. The count is written last.
"""

from __future__ import annotations

from ...world import World
from ...world.clocks import MONOTONIC, REALTIME
from ...world.poll import CLOCK, Ready, Subscription
from ..trampoline import AbiError
from .state import Area, FileDescriptor, Preview1Host, StdioDescriptor
from .types import (
    EVENT,
    EVENT_SIZE,
    EVENTRWFLAGS_HANGUP,
    SUBCLOCKFLAGS_ABSTIME,
    SUBSCRIPTION,
    SUBSCRIPTION_CLOCK,
    SUBSCRIPTION_CLOCK_ID,
    SUBSCRIPTION_FD,
    SUBSCRIPTION_SIZE,
    Errno,
    Eventtype,
    errno_of,
)

SIGNATURES = {
    "poll_oneoff": ("iiii", "i"),
}

HOSTCALL_BUDGET = 128 << 20
"""wasmtime's default host-call fuel: the most bytes of subscriptions (or of events) one call
may name before it answers ENOMEM."""


class PollFunctions(Area):
    def _read(self, at: int) -> tuple[Subscription | None, int]:
        """The subscription at ``at`` (None for a file descriptor: always ready) and its
        event type; AbiError for one wasmtime refuses."""
        mem = self.mem
        userdata, tag = SUBSCRIPTION.load(mem, at)
        if tag == Eventtype.CLOCK:
            (clock_id,) = SUBSCRIPTION_CLOCK_ID.load(mem, at)
            if clock_id > 3:  # not a clock id: refused as it is read
                raise AbiError(Errno.INVAL)
            timeout, _precision, flags = SUBSCRIPTION_CLOCK.load(mem, at)
            if flags & ~SUBCLOCKFLAGS_ABSTIME or clock_id not in (REALTIME, MONOTONIC):
                raise AbiError(Errno.INVAL)
            absolute = bool(flags & SUBCLOCKFLAGS_ABSTIME)
            return Subscription(userdata, CLOCK, clock_id, timeout, absolute), tag
        if tag not in (Eventtype.FD_READ, Eventtype.FD_WRITE):
            raise AbiError(Errno.INVAL)
        (fd,) = SUBSCRIPTION_FD.load(mem, at)
        d = self.fds.lookup(fd)
        if isinstance(d, StdioDescriptor) and (d.stream == 0) == (tag == Eventtype.FD_READ):
            return Subscription(userdata, tag, d.stream), tag
        if isinstance(d, FileDescriptor):
            return None, tag
        raise AbiError(Errno.BADF)

    def poll_oneoff(self, subs_ptr: int, events_ptr: int, nsubs: int, nevents: int) -> int:
        if nsubs == 0:
            return Errno.INVAL
        if nsubs > 1 and nsubs * SUBSCRIPTION_SIZE > HOSTCALL_BUDGET:
            return Errno.NOMEM
        if nsubs > 1 and nsubs * EVENT_SIZE > HOSTCALL_BUDGET:
            return Errno.NOMEM
        mem = self.mem
        at: list[int] = []
        read = []
        for i in range(nsubs):  # each address computed as it is read: the next may overflow
            at.append(mem.add(subs_ptr, i * SUBSCRIPTION_SIZE))
            read.append(self._read(at[-1]))
        asked = [sub for sub, _ in read if sub is not None]
        files = len(asked) < len(read)
        # Files are always ready: with one among them nothing is waited for.
        answers = [] if files or not asked else self.world.poll.wait(asked)
        count = 0
        for i, (sub, tag) in enumerate(read):
            found = self._ready(sub, answers) if sub is not None else Ready(0, tag, nbytes=1)
            if found is None:
                continue
            userdata, _ = SUBSCRIPTION.load(mem, at[i])
            EVENT.store(
                mem,
                mem.add(events_ptr, count * EVENT_SIZE),
                userdata,
                errno_of(found.error) if found.error else 0,
                tag,
                0 if tag == Eventtype.CLOCK else found.nbytes,  # as the world answered (recorded)
                EVENTRWFLAGS_HANGUP if found.hangup else 0,
            )
            count += 1
        mem.set_u32(nevents, count)
        return 0

    @staticmethod
    def _ready(sub: Subscription, answers: list[Ready]) -> Ready | None:
        """The world's answer for ``sub`` (taken out of ``answers``), or None."""
        for i, r in enumerate(answers):
            if r.userdata == sub.userdata and r.type == sub.type:
                return answers.pop(i)
        return None


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, PollFunctions(host, world))


__all__ = [
    "HOSTCALL_BUDGET",
    "SIGNATURES",
    "PollFunctions",
    "define",
]
