"""Preview1 ``poll_oneoff``, through ``world.poll``.

It follows wasmtime's preview1 ``poll_oneoff`` step by step, since a guest sees every detail:
no subscriptions is EINVAL; more than wasmtime's per-call budget (128 MiB of subscriptions or
events) is ENOMEM; each subscription is read field by field (a bad pointer traps naming the
field's region), and a bad tag, clock id or flag, a CPU-time clock, or a descriptor that cannot
be polled that way fails the whole call (EINVAL, EBADF) before anything is waited for. Then one
event per ready subscription, in subscription order, written field by field (padding is left
alone): clocks with ``nbytes`` 0, descriptors with ``nbytes`` 1. The count is written last.
"""

from __future__ import annotations

import struct

from ...world import World
from ...world.clocks import MONOTONIC, REALTIME
from ...world.poll import CLOCK, Ready, Subscription
from ..memory import GuestMemory
from ..trampoline import AbiError
from .state import Area, FileDescriptor, Preview1Host, StdioDescriptor
from .types import (
    EVENT,
    EVENTRWFLAGS_HANGUP,
    SUBCLOCKFLAGS_ABSTIME,
    SUBSCRIPTION,
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

_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in ("<B", "<H", "<I", "<Q"))


def _load(mem: GuestMemory, fmt: struct.Struct, ptr: int) -> int:
    mem.check(ptr, fmt.size, fmt.size)
    value: int = fmt.unpack_from(mem.view, ptr)[0]
    return value


class PollFunctions(Area):
    def _read(self, at: int) -> tuple[Subscription | None, int]:
        """The subscription at ``at`` (None for a file descriptor: always ready) and its
        event type; AbiError for one wasmtime refuses."""
        mem = self.mem
        userdata = _load(mem, _U64, at)
        tag = _load(mem, _U8, at + 8)
        if tag == Eventtype.CLOCK:
            clock_id = _load(mem, _U32, at + 16)
            if clock_id > 3:
                raise AbiError(Errno.INVAL)
            timeout = _load(mem, _U64, at + 24)
            _load(mem, _U64, at + 32)  # precision
            flags = _load(mem, _U16, at + 40)
            if flags & ~SUBCLOCKFLAGS_ABSTIME or clock_id not in (REALTIME, MONOTONIC):
                raise AbiError(Errno.INVAL)
            absolute = bool(flags & SUBCLOCKFLAGS_ABSTIME)
            return Subscription(userdata, CLOCK, clock_id, timeout, absolute), tag
        if tag not in (Eventtype.FD_READ, Eventtype.FD_WRITE):
            raise AbiError(Errno.INVAL)
        d = self.fds.lookup(_load(mem, _U32, at + 16))
        if isinstance(d, StdioDescriptor) and (d.stream == 0) == (tag == Eventtype.FD_READ):
            return Subscription(userdata, tag, d.stream), tag
        if isinstance(d, FileDescriptor):
            return None, tag
        raise AbiError(Errno.BADF)

    def poll_oneoff(self, subs_ptr: int, events_ptr: int, nsubs: int, nevents: int) -> int:
        if nsubs == 0:
            return Errno.INVAL
        if nsubs > 1 and nsubs * SUBSCRIPTION.size > HOSTCALL_BUDGET:
            return Errno.NOMEM
        if nsubs > 1 and nsubs * EVENT.size > HOSTCALL_BUDGET:
            return Errno.NOMEM
        read = [self._read(subs_ptr + i * SUBSCRIPTION.size) for i in range(nsubs)]
        asked = [sub for sub, _ in read if sub is not None]
        files = len(asked) < len(read)
        # Files are always ready: with one among them nothing is waited for.
        answers = [] if files or not asked else self.world.poll.wait(asked)
        mem = self.mem
        out = events_ptr
        count = 0
        for i, (sub, tag) in enumerate(read):
            found = self._ready(sub, answers) if sub is not None else Ready(0, tag, nbytes=1)
            if found is None:
                continue
            userdata = _load(mem, _U64, subs_ptr + i * SUBSCRIPTION.size)
            mem.set_u64(out, userdata)
            mem.set_u16(out + 8, errno_of(found.error) if found.error else 0)
            mem.set_u8(out + 10, tag)
            # nbytes: as the world answered (recorded), 0 for clocks
            mem.set_u64(out + 16, 0 if tag == Eventtype.CLOCK else found.nbytes)
            mem.set_u16(out + 24, EVENTRWFLAGS_HANGUP if found.hangup else 0)
            out += EVENT.size
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
