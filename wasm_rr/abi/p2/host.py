"""Registering host functions and host resources on a component linker, with raw callbacks.

:class:`ComponentHost` collects definitions per interface (``wasi:io/streams@0.2.12``), then
:meth:`ComponentHost.link` opens each interface once on the linker and registers:

* functions as ctypes callbacks given to ``wasmtime_component_linker_instance_add_func``. A
  generic function has its parameter and result :class:`~.canon.Ty` and a Python function
  taking and returning Python values; a *raw* function (the hot paths: reads, writes, clock
  reads, random bytes) is itself the ctypes callback, reading its arguments and writing its
  results in place, with no wrapper between wasmtime and it;
* resources as host resource types with a destructor callback that removes the object from
  the handle table (and lets it release what it holds: a world file handle, say).

Like the preview1 trampoline, a callback catches everything. An exception becomes a wasm
error returned to wasmtime (the guest traps), and the first one is kept in
:attr:`ComponentHost.pending` for the caller to re-raise or to turn into an outcome once the
call into wasm returns. A :class:`~wasm_rr.world.WorldError` raised by a function whose result
is a ``result<_, E>`` becomes its error value through ``E``'s translation (an error-code, a
stream-error), as wasmtime's own host would answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wasmtime import component

from ...world import WorldError
from .._wasmtime import (
    DTOR_CALLBACK,
    FUNC_CALLBACK,
    add_func,
    add_resource,
    check_error,
    error_new,
    instance_address,
    resource_type_delete,
    resource_type_new_host,
)
from . import canon
from .canon import Case, Resources, Result, Ty, Value


class Fail(Exception):
    """Raised by a host function to return the error case of its ``result``."""

    def __init__(self, value: Value) -> None:
        super().__init__(value)
        self.value = value


ErrorMapper = Callable[[WorldError], Value]


class ErrorEnum(canon.Enum):
    """An enum used as an error type, with the translation of world errors into it."""

    def __init__(self, names: tuple[str, ...], from_world: ErrorMapper) -> None:
        super().__init__(*names)
        self.from_world = from_world


class ErrorVariant(canon.Variant):
    def __init__(self, cases: tuple[tuple[str, Ty | None], ...], from_world: ErrorMapper) -> None:
        super().__init__(*cases)
        self.from_world = from_world


Body = Callable[[int, int], None]

HostFn = Callable[..., Value]
"""A host function: takes its parameters' values, returns its result's (see :mod:`.canon`)."""

RawCallback = Callable[[int, int, int, int, int, int, int], int]
"""A raw host function: ``(env, ctx, type, args, nargs, results, nresults) -> error``."""

Drop = Callable[..., None]
"""A resource's destructor: takes the host object the guest dropped."""


@dataclass
class _Interface:
    funcs: dict[str, Body] = field(default_factory=dict)
    resources: dict[str, int] = field(default_factory=dict)
    stock: dict[str, HostFn] = field(default_factory=dict)
    raw: dict[str, RawCallback] = field(default_factory=dict)


class ComponentHost(Resources):
    """Host functions and resources for one store."""

    def __init__(self) -> None:
        self.ctx = 0
        self.pending: BaseException | None = None
        self.table: dict[int, Any] = {}
        """rep -> host object (a stream, a descriptor...): the raw callbacks use them as is."""
        self._next_rep = 1
        self._interfaces: dict[str, _Interface] = {}
        self._dtors: dict[int, Drop] = {}
        self._keep: list[object] = []

    # ---- the handle table ------------------------------------------------------------------

    def insert(self, type_id: int, obj: object) -> int:
        rep = self._next_rep
        self._next_rep = rep + 1
        self.table[rep] = obj
        return rep

    def lookup(self, type_id: int, rep: int) -> object:
        return self.table[rep]

    # ---- definitions -----------------------------------------------------------------------

    def _iface(self, name: str) -> _Interface:
        return self._interfaces.setdefault(name, _Interface())

    def resource(self, iface: str, name: str, type_id: int, drop: Drop | None = None) -> None:
        """Define resource ``name`` of ``iface``; ``drop(obj)`` runs when the guest drops it."""
        self._iface(iface).resources[name] = type_id
        if drop is not None:
            self._dtors[type_id] = drop

    def raw(self, iface: str, name: str, callback: RawCallback) -> None:
        """Define a function as a Python function with the C callback's own signature
        ``(env, ctx, type, args, nargs, results, nresults) -> error``, wrapped in nothing
        (one Python frame less per call than a :meth:`func`). It must catch every exception
        itself and return ``host.fail(exc)`` for it, 0 on success; ``ctx`` is the store
        context of the call (what :func:`~.canon.rep_of` needs)."""
        self._iface(iface).raw[name] = callback

    def stock(self, iface: str, name: str, fn: HostFn) -> None:
        """Define a function through wasmtime-py's own ``LinkerInstance.add_func`` (values boxed
        and types read on every call), in place of any raw definition: the reference that the
        benchmark compares the raw callbacks with. ``fn`` takes and returns wasmtime-py's
        value shapes."""
        host = self

        def wrapper(store: object, *args: Value) -> Value:
            try:
                return fn(*args)
            except BaseException as exc:
                if host.pending is None:
                    host.pending = exc
                raise

        self._iface(iface).stock[name] = wrapper

    def func(
        self,
        iface: str,
        name: str,
        params: list[Ty],
        result: Ty | None,
        fn: HostFn,
    ) -> None:
        """Define a function from its types and a Python implementation."""
        self._iface(iface).funcs[name] = self._generic(params, result, fn)

    def _generic(self, params: list[Ty], result: Ty | None, fn: HostFn) -> Body:
        lifts = canon.lifters(params)
        rt = self
        if isinstance(result, Result):
            res = result
            err = result.err
            from_world = getattr(err, "from_world", None)

            def fallible(args: int, results: int) -> None:
                values = [lift(rt, args + off) for lift, off in lifts]
                try:
                    out: Case = ("ok", fn(*values))
                except Fail as exc:
                    out = ("err", exc.value)
                except WorldError as exc:
                    if from_world is None:
                        raise
                    out = ("err", from_world(exc))
                res.lower(rt, results, out)

            return fallible
        if result is None:

            def void(args: int, results: int) -> None:
                fn(*[lift(rt, args + off) for lift, off in lifts])

            return void
        lower = result.lower

        def plain(args: int, results: int) -> None:
            lower(rt, results, fn(*[lift(rt, args + off) for lift, off in lifts]))

        return plain

    # ---- failures ----------------------------------------------------------------------------

    def fail(self, exc: BaseException) -> int:
        """Keep ``exc`` (the first one) and return a new wasmtime error for the callback."""
        if self.pending is None:
            self.pending = exc
        msg = str(exc) or type(exc).__name__
        err: int = error_new(msg.encode("utf-8", "replace"))
        return err

    # ---- linking -----------------------------------------------------------------------------

    def _callback(self, body: Body) -> object:
        host = self

        def callback(
            env: int, ctx: int, ty: int, args: int, nargs: int, results: int, nresults: int
        ) -> int:
            host.ctx = ctx
            try:
                body(args or 0, results or 0)
            except BaseException as exc:  # every exception: see the module docstring
                return host.fail(exc)
            return 0

        return FUNC_CALLBACK(callback)

    def _dtor(self, type_id: int) -> object:
        host = self
        drop = self._dtors.get(type_id)

        def dtor(env: int, ctx: int, rep: int) -> int:
            host.ctx = ctx
            try:
                obj = host.table.pop(rep, None)
                if drop is not None and obj is not None:
                    drop(obj)
            except BaseException as exc:
                return host.fail(exc)
            return 0

        return DTOR_CALLBACK(dtor)

    def link(self, linker: component.Linker, versions: dict[str, list[str]] | None = None) -> None:
        """Register every definition on ``linker``.

        An interface is defined as ``name@version``; ``versions`` maps an interface name
        without its version (``wasi:io/streams``) to the versions to register it under
        instead (the exact ones a component imports: ``define_unknown_imports_as_traps``
        only knows exact names, so an import matched by semver alone would become a trap).
        """
        versions = versions or {}
        with linker.root() as root:
            for iface_name, iface in self._interfaces.items():
                base, _, version = iface_name.partition("@")
                for v in versions.get(base) or [version]:
                    with root.add_instance(f"{base}@{v}") as inst:
                        self._define(inst, iface)

    def _define(self, inst: component.LinkerInstance, iface: _Interface) -> None:
        inst_ptr = instance_address(inst)
        for name, type_id in iface.resources.items():
            rtype = resource_type_new_host(type_id)
            cb = self._dtor(type_id)
            self._keep.append(cb)
            n = name.encode()
            try:
                check_error(add_resource(inst_ptr, n, len(n), rtype, cb, None, None))
            finally:
                resource_type_delete(rtype)
        for name, fn in iface.stock.items():
            inst.add_func(name, fn)
        callbacks = {name: self._callback(body) for name, body in iface.funcs.items()}
        callbacks.update({name: FUNC_CALLBACK(fn) for name, fn in iface.raw.items()})
        for name, cb in callbacks.items():
            if name in iface.stock:
                continue
            self._keep.append(cb)
            n = name.encode()
            check_error(add_func(inst_ptr, n, len(n), cb, None, None))


__all__ = [
    "Body",
    "ComponentHost",
    "ErrorEnum",
    "ErrorMapper",
    "ErrorVariant",
    "Fail",
]
