"""The ``wasm-rr.sites`` custom section: which source site made each host call.

The compiled module stores the index of the site on whose behalf it calls the host in the i32 at
``site_addr`` (8) just before each call, and before trapping on a runtime error. The section,
placed last in the module, maps indices to sites; its payload is CBOR::

    {"version": 1, "file": "hello.tape", "site_addr": 8, "sites": [[name, line, col], ...]}

Effect sites are named after the effect (``"random.bits"``), runtime-error sites
``"error: <message>"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cbor2

SECTION_NAME = "wasm-rr.sites"
VERSION = 1
ERROR_PREFIX = "error: "
_MAGIC = b"\0asm\x01\0\0\0"


@dataclass(frozen=True, slots=True)
class Site:
    """A source site: ``name`` is the effect (``"env.get"``) or ``"error: <message>"``."""

    name: str
    line: int
    col: int

    @property
    def is_error(self) -> bool:
        return self.name.startswith(ERROR_PREFIX)


@dataclass(frozen=True)
class SitesTable:
    """The decoded section."""

    version: int
    file: str
    site_addr: int
    sites: list[Site]

    def site(self, index: int) -> Site | None:
        """Site ``index``, or None (the register holds -1 for "no site", e.g. out of memory)."""
        return self.sites[index] if 0 <= index < len(self.sites) else None

    def describe(self, index: int) -> str | None:
        """``file:line:col: message`` for an error site, ``file:line:col: name`` otherwise."""
        site = self.site(index)
        if site is None:
            return None
        text = site.name[len(ERROR_PREFIX) :] if site.is_error else site.name
        return f"{self.file}:{site.line}:{site.col}: {text}"


def encode(file: str, site_addr: int, sites: list[Site]) -> bytes:
    """The whole custom section (id, size, name, CBOR payload)."""
    payload = cbor2.dumps(
        {
            "version": VERSION,
            "file": file,
            "site_addr": site_addr,
            "sites": [[s.name, s.line, s.col] for s in sites],
        }
    )
    name = SECTION_NAME.encode()
    body = _uleb(len(name)) + name + payload
    return b"\0" + _uleb(len(body)) + body


def _uleb(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_uleb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128 in the wasm module")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _sections(wasm: bytes) -> Iterator[tuple[int, int, int, str | None, int]]:
    """(id, start, end, custom name or None, payload start) for each section."""
    if wasm[:8] != _MAGIC:
        raise ValueError("not a core wasm module")
    pos = 8
    while pos < len(wasm):
        start = pos
        sid = wasm[pos]
        size, pos = _read_uleb(wasm, pos + 1)
        end = pos + size
        if end > len(wasm):
            raise ValueError("truncated section in the wasm module")
        name = None
        payload = pos
        if sid == 0:
            n, p = _read_uleb(wasm, pos)
            name = wasm[p : p + n].decode("utf-8", "replace")
            payload = p + n
        yield sid, start, end, name, payload
        pos = end


def read_sites_section(wasm: bytes) -> SitesTable | None:
    """The sites table of a compiled tape program, or None if the module has none."""
    for _sid, _start, end, name, payload in _sections(wasm):
        if name == SECTION_NAME:
            try:
                data = cbor2.loads(wasm[payload:end])
                return SitesTable(
                    version=int(data["version"]),
                    file=str(data["file"]),
                    site_addr=int(data["site_addr"]),
                    sites=[Site(str(n), int(line), int(col)) for n, line, col in data["sites"]],
                )
            except Exception as exc:  # cbor2 raises several types; any shape may be wrong
                raise ValueError(f"its {SECTION_NAME} section is damaged ({exc})") from None
    return None


def strip_sites_section(wasm: bytes) -> bytes:
    """The module without its ``wasm-rr.sites`` section (unchanged if it has none)."""
    out = bytearray(wasm[:8])
    for _sid, start, end, name, _payload in _sections(wasm):
        if name != SECTION_NAME:
            out += wasm[start:end]
    return bytes(out)


__all__ = [
    "ERROR_PREFIX",
    "SECTION_NAME",
    "VERSION",
    "Site",
    "SitesTable",
    "encode",
    "read_sites_section",
    "strip_sites_section",
]
