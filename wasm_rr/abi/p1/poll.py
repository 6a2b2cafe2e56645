"""Preview1 ``poll_oneoff``, through ``world.poll``."""

from __future__ import annotations

from ...world import World
from ...world.clocks import CLOCK_IDS
from ...world.poll import CLOCK, Subscription
from .state import Area, Preview1Host, StdioDescriptor
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


class PollFunctions(Area):
    def poll_oneoff(self, subs_ptr: int, events_ptr: int, nsubs: int, nevents: int) -> int:
        if nsubs == 0:
            return Errno.INVAL
        mem = self.mem
        mem.check(subs_ptr, SUBSCRIPTION.size * nsubs, 8)
        mem.check(events_ptr, EVENT.size * nsubs, 8)
        mem.check(nevents, 4, 4)
        asked: list[Subscription] = []
        immediate: list[tuple[int, int, int]] = []  # userdata, errno, type
        for i in range(nsubs):
            userdata, tag, target, timeout, _precision, flags = mem.unpack_from(
                SUBSCRIPTION, subs_ptr + i * SUBSCRIPTION.size, 8
            )
            if tag == Eventtype.CLOCK:
                clock_id = target & 0xFFFFFFFF
                if clock_id not in CLOCK_IDS:
                    immediate.append((userdata, Errno.INVAL, tag))
                    continue
                absolute = bool(flags & SUBCLOCKFLAGS_ABSTIME)
                asked.append(Subscription(userdata, CLOCK, clock_id, timeout, absolute))
            elif tag in (Eventtype.FD_READ, Eventtype.FD_WRITE):
                fd = target & 0xFFFFFFFF
                d = self.fds.get(fd)
                if d is None:
                    immediate.append((userdata, Errno.BADF, tag))
                elif isinstance(d, StdioDescriptor):
                    asked.append(Subscription(userdata, tag, d.stream))
                else:  # files and directories are always ready
                    immediate.append((userdata, 0, tag))
            else:
                return Errno.INVAL
        out = events_ptr
        count = 0
        if immediate:
            for userdata, err, tag in immediate:
                mem.pack_into(EVENT, out, 8, userdata, err, tag, 0, 0)
                out += EVENT.size
                count += 1
        else:
            for r in self.world.poll.wait(asked):
                err = errno_of(r.error) if r.error else 0
                flags = EVENTRWFLAGS_HANGUP if r.hangup else 0
                mem.pack_into(EVENT, out, 8, r.userdata, err, r.type, r.nbytes, flags)
                out += EVENT.size
                count += 1
        mem.set_u32(nevents, count)
        return 0


def define(host: Preview1Host, world: World) -> None:
    host.define(SIGNATURES, PollFunctions(host, world))
