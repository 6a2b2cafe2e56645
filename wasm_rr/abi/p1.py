"""The ``wasi_snapshot_preview1`` ABI layer: decode guest memory, ask the world, encode answers.

Every preview1 function is defined. Nothing here reads the outside world: each answer comes from
``world.<family>``, which is live, recording or replaying. Error values and descriptor numbers
follow wasmtime's own preview1 implementation (checked by ``tests/abi/test_p1_conformance.py``).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, Protocol

import wasmtime

from ..errors import GuestLoadError
from ..trace.schema import Outcome
from ..world import World, WorldError
from ..world.clocks import CLOCK_IDS
from ..world.poll import CLOCK, Subscription
from ._wasmtime import call_start, fuel_cell
from .engines import GuestCode, compile_module, module_engine
from .memory import GuestFault, GuestMemory
from .outcome import GuestExit, GuestTrap, HostErrorHook, WasmFailure, settle
from .p1_fs import FsFunctions, StdioDescriptor
from .p1_types import (
    EVENTRWFLAGS_HANGUP,
    SUBCLOCKFLAGS_ABSTIME,
    Errno,
    Eventtype,
    errno_of,
)
from .trampoline import AbiError, HostFunctions, slot_unpacker

MODULE = "wasi_snapshot_preview1"

_FDSTAT = struct.Struct("<BxHxxxxQQ")
_SUBSCRIPTION = struct.Struct(
    "<QB7xQQQH6x"
)  # userdata, tag, (clock id | fd), timeout, precision, flags
_EVENT = struct.Struct("<QHB5xQH6x")  # userdata, error, type, nbytes, flags
_IOVEC = struct.Struct("<II")
_U64 = struct.Struct("<Q")


# Clocks preview1 names but wasmtime does not provide (it answers EBADF): the CPU-time clocks.
_WASMTIME_CLOCKS = (0, 1)


def error_result(exc: BaseException) -> int | None:
    """How an exception raised by a preview1 function reaches the guest: an errno, or a trap."""
    if type(exc) is AbiError:
        return exc.code
    if type(exc) is WorldError:
        return errno_of(exc.name)
    return None


class _NoMemory:
    def __getattr__(self, name: str) -> Any:
        raise GuestFault("the guest exports no memory named `memory`")


class Preview1(FsFunctions):
    """The preview1 functions, bound to one world and one guest memory."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.mem: GuestMemory = _NoMemory()  # type: ignore[assignment]
        self._init_fds()

        self._now = world.clocks.now
        self._secure = world.random.secure

    def bind_memory(self, memory: GuestMemory) -> None:
        self.mem = memory

    def define(self, host: HostFunctions) -> None:
        """Define every preview1 function on ``host``'s linker."""
        hot = self._hot_paths()
        for name, (params, results) in SIGNATURES.items():
            if name in hot:
                host.define(MODULE, name, params, results, hot[name], raw_body=True)
            else:
                host.define(MODULE, name, params, results, getattr(self, name))

    def _hot_paths(self) -> dict[str, Callable[[memoryview, memoryview], None]]:
        """Raw bodies (see ``HostFunctions.define``) standing in for the methods a guest calls
        in tight loops, with the same behaviour: ``clock_time_get`` and ``random_get``. They
        are closures (cell reads are cheaper than a method's attribute reads) that take the
        argument slots directly: these run once per event."""
        this = self
        now = self.world.clocks.now
        secure = self.world.random.secure
        pack_u64 = _U64.pack_into
        clock_args = slot_unpacker(SIGNATURES["clock_time_get"][0])
        random_args = slot_unpacker(SIGNATURES["random_get"][0])

        def clock_time_get(raw: memoryview, ints: memoryview) -> None:
            clock_id, _precision, out = clock_args(raw)
            if clock_id > 1:
                this._clock(clock_id)
            mem = this.mem
            if out & 7 or out + 8 > mem.size:
                mem.check(out, 8, 8)
            pack_u64(mem.view, out, now(clock_id))
            ints[0] = 0

        def random_get(raw: memoryview, ints: memoryview) -> None:
            buf, n = random_args(raw)
            mem = this.mem
            if buf + n > mem.size:
                mem.check(buf, n)
            mem.view[buf : buf + n] = secure(n)
            ints[0] = 0

        return {"clock_time_get": clock_time_get, "random_get": random_get}

    # ---- helpers -------------------------------------------------------------------------------

    def _write_strings(self, strings: list[bytes], ptrs: int, buf: int) -> int:
        mem = self.mem
        total = sum(len(s) + 1 for s in strings)
        mem.check(ptrs, 4 * len(strings), 4)
        mem.check(buf, total)
        for s in strings:
            mem.set_u32(ptrs, buf)
            mem.write(buf, s + b"\0")
            ptrs += 4
            buf += len(s) + 1
        return 0

    def _sizes(self, strings: list[bytes], count_ptr: int, size_ptr: int) -> int:
        self.mem.set_u32(count_ptr, len(strings))
        self.mem.set_u32(size_ptr, sum(len(s) + 1 for s in strings))
        return 0

    # ---- args and environment ------------------------------------------------------------------

    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._write_strings(self.world.cli.args(), argv, argv_buf)

    def args_sizes_get(self, argc: int, argv_buf_size: int) -> int:
        return self._sizes(self.world.cli.args(), argc, argv_buf_size)

    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._write_strings(self.world.cli.environ(), environ, environ_buf)

    def environ_sizes_get(self, count: int, size: int) -> int:
        return self._sizes(self.world.cli.environ(), count, size)

    # ---- clocks and random ---------------------------------------------------------------------

    def _clock(self, clock_id: int) -> None:
        if clock_id not in CLOCK_IDS:
            raise GuestTrap("Invalid enum value Clockid")
        raise AbiError(Errno.BADF)

    def clock_res_get(self, clock_id: int, out: int) -> int:
        if clock_id not in _WASMTIME_CLOCKS:
            self._clock(clock_id)
        self.mem.check(out, 8, 8)
        self.mem.set_u64(out, self.world.clocks.resolution(clock_id))
        return 0

    def clock_time_get(self, clock_id: int, precision: int, out: int) -> int:
        if clock_id > 1:
            self._clock(clock_id)
        mem = self.mem
        if out & 7 or out + 8 > mem.size:
            mem.check(out, 8, 8)
        _U64.pack_into(mem.view, out, self._now(clock_id))
        return 0

    def random_get(self, buf: int, n: int) -> int:
        mem = self.mem
        if buf + n > mem.size:
            mem.check(buf, n)
        mem.view[buf : buf + n] = self._secure(n)
        return 0

    # ---- waiting, scheduling, process -----------------------------------------------------------

    def poll_oneoff(self, subs_ptr: int, events_ptr: int, nsubs: int, nevents: int) -> int:
        if nsubs == 0:
            return Errno.INVAL
        mem = self.mem
        mem.check(subs_ptr, _SUBSCRIPTION.size * nsubs, 8)
        mem.check(events_ptr, _EVENT.size * nsubs, 8)
        mem.check(nevents, 4, 4)
        asked: list[Subscription] = []
        immediate: list[tuple[int, int, int]] = []  # userdata, errno, type
        for i in range(nsubs):
            userdata, tag, target, timeout, _precision, flags = mem.unpack_from(
                _SUBSCRIPTION, subs_ptr + i * _SUBSCRIPTION.size, 8
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
                mem.pack_into(_EVENT, out, 8, userdata, err, tag, 0, 0)
                out += _EVENT.size
                count += 1
        else:
            for r in self.world.poll.wait(asked):
                err = errno_of(r.error) if r.error else 0
                flags = EVENTRWFLAGS_HANGUP if r.hangup else 0
                mem.pack_into(_EVENT, out, 8, r.userdata, err, r.type, r.nbytes, flags)
                out += _EVENT.size
                count += 1
        mem.set_u32(nevents, count)
        return 0

    def sched_yield(self) -> int:
        return 0

    def proc_exit(self, status: int) -> None:
        self.world.cli.exit(status)
        raise GuestExit(status)

    def proc_raise(self, signal: int) -> int:
        raise GuestTrap("proc_raise unsupported")

    # ---- sockets: no socket descriptors exist -------------------------------------------------

    def sock_accept(self, fd: int, flags: int, out: int) -> int:
        self._fd(fd)
        return Errno.NOTSOCK

    def sock_recv(
        self, fd: int, ri_data: int, ri_len: int, ri_flags: int, ro_len: int, ro_flags: int
    ) -> int:
        self._fd(fd)
        return Errno.NOTSOCK

    def sock_send(self, fd: int, si_data: int, si_len: int, si_flags: int, so_len: int) -> int:
        self._fd(fd)
        return Errno.NOTSOCK

    def sock_shutdown(self, fd: int, how: int) -> int:
        self._fd(fd)
        return Errno.NOTSOCK


SIGNATURES: dict[str, tuple[str, str]] = {
    "args_get": ("ii", "i"),
    "args_sizes_get": ("ii", "i"),
    "environ_get": ("ii", "i"),
    "environ_sizes_get": ("ii", "i"),
    "clock_res_get": ("ii", "i"),
    "clock_time_get": ("iIi", "i"),
    "fd_advise": ("iIIi", "i"),
    "fd_allocate": ("iII", "i"),
    "fd_close": ("i", "i"),
    "fd_datasync": ("i", "i"),
    "fd_fdstat_get": ("ii", "i"),
    "fd_fdstat_set_flags": ("ii", "i"),
    "fd_fdstat_set_rights": ("iII", "i"),
    "fd_filestat_get": ("ii", "i"),
    "fd_filestat_set_size": ("iI", "i"),
    "fd_filestat_set_times": ("iIIi", "i"),
    "fd_pread": ("iiiIi", "i"),
    "fd_prestat_get": ("ii", "i"),
    "fd_prestat_dir_name": ("iii", "i"),
    "fd_pwrite": ("iiiIi", "i"),
    "fd_read": ("iiii", "i"),
    "fd_readdir": ("iiiIi", "i"),
    "fd_renumber": ("ii", "i"),
    "fd_seek": ("iIii", "i"),
    "fd_sync": ("i", "i"),
    "fd_tell": ("ii", "i"),
    "fd_write": ("iiii", "i"),
    "path_create_directory": ("iii", "i"),
    "path_filestat_get": ("iiiii", "i"),
    "path_filestat_set_times": ("iiiiIIi", "i"),
    "path_link": ("iiiiiii", "i"),
    "path_open": ("iiiiiIIii", "i"),
    "path_readlink": ("iiiiii", "i"),
    "path_remove_directory": ("iii", "i"),
    "path_rename": ("iiiiii", "i"),
    "path_symlink": ("iiiii", "i"),
    "path_unlink_file": ("iii", "i"),
    "poll_oneoff": ("iiii", "i"),
    "proc_exit": ("i", ""),
    "proc_raise": ("i", "i"),
    "sched_yield": ("", "i"),
    "random_get": ("ii", "i"),
    "sock_accept": ("iii", "i"),
    "sock_recv": ("iiiiii", "i"),
    "sock_send": ("iiiii", "i"),
    "sock_shutdown": ("ii", "i"),
}
"""Every preview1 function: parameter and result types (``i`` i32, ``I`` i64)."""


class SiteRegister(Protocol):
    """A .tape program's site register (``wasm_rr.engine.SiteRegister``): bound to the guest's
    memory once it exists, read when the run ends."""

    def bind(self, mem: GuestMemory) -> None: ...

    def __call__(self) -> int: ...


def run_module(
    guest: GuestCode,
    world: World,
    register: SiteRegister | None = None,
    host_error: HostErrorHook | None = None,
) -> Outcome:
    """Run a preview1 command module against ``world``: its ``_start``, to an outcome (an exit
    or a trap); a host error (a drift, an interrupt) is re-raised, through ``host_error``."""
    engine = module_engine()
    module = compile_module(guest)
    store = wasmtime.Store(engine)
    world.attach_fuel(fuel_cell(store))
    linker = wasmtime.Linker(engine)
    host = HostFunctions(linker, error_result)
    abi = Preview1(world)
    abi.define(host)
    linker.define_unknown_imports_as_traps(module)

    def end(exc: wasmtime.WasmtimeError | wasmtime.Trap) -> Outcome:
        # While the store is alive: the site register and the frames are read from it.
        site = register() if register is not None else None
        return settle(host.pending, exc, site=site, host_error=host_error)

    try:
        instance = linker.instantiate(store, module)
    except WasmFailure as exc:
        if host.pending is not None:
            return end(exc)
        raise GuestLoadError(
            f"{guest.path} cannot be instantiated: {str(exc).splitlines()[0]}"
        ) from None
    exports = instance.exports(store)
    memory = exports.get("memory")
    if isinstance(memory, wasmtime.Memory):
        abi.bind_memory(GuestMemory(store, memory))
        if register is not None:
            register.bind(abi.mem)
    start = exports.get("_start")
    if not isinstance(start, wasmtime.Func):
        raise GuestLoadError(f"{guest.path} is not a command: it exports no `_start` function")
    if start.type(store).params or start.type(store).results:
        raise GuestLoadError(f"{guest.path}: `_start` must take and return nothing")
    try:
        call_start(store, start)
    except WasmFailure as exc:
        return end(exc)
    return Outcome(exit_code=0)
