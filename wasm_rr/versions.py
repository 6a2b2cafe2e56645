"""Installed package versions, found without importing ``importlib.metadata`` (which costs about
20 ms of start-up): the version is read off the package's ``.dist-info`` directory name."""

from __future__ import annotations

import functools
import os
from importlib.util import find_spec


@functools.cache
def installed(package: str) -> str:
    """The installed version of ``package`` (a distribution whose import name is the same)."""
    spec = find_spec(package)
    if spec is not None and spec.origin:
        site = os.path.dirname(os.path.dirname(spec.origin))
        prefix = package.replace("-", "_") + "-"
        try:
            names = os.listdir(site)
        except OSError:
            names = []
        found = [n for n in names if n.startswith(prefix) and n.endswith(".dist-info")]
        if len(found) == 1:
            return found[0][len(prefix) : -len(".dist-info")]
    from importlib.metadata import version

    return version(package)


__all__ = [
    "installed",
]
